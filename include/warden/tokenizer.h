/*
 * warden/tokenizer.h - Hugging Face tokenizers from tokenizer.json.
 *
 * A wd_tokenizer reproduces the `tokenizers` library's pipeline:
 *
 *   text -> added tokens split off -> normalizer -> pre-tokenizer -> model
 *        -> post-processor -> ids + byte offsets into the text
 *   ids  -> tokens -> decoder -> text
 *
 * Models: BPE (byte-level as in GPT-2/Llama 3/Qwen2, and SentencePiece-style
 * with byte_fallback as in Llama 2), WordPiece (BERT), Unigram. The parts
 * supported are listed in docs/tokenizers.md; an unsupported component
 * makes the load fail with WD_ERR_UNSUPPORTED naming it.
 *
 * Threads: a loaded tokenizer is immutable. encode/decode may be called on
 * one tokenizer from several threads at once; their failures leave the
 * message in the calling thread's wd_last_error() (not in the tokenizer).
 * A wd_tokenizer_stream belongs to one thread at a time.
 *
 * Offsets are byte offsets [start, end) into the text given to encode.
 * Special tokens inserted by the post-processor get offsets (0, 0).
 */
#ifndef WARDEN_TOKENIZER_H
#define WARDEN_TOKENIZER_H

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_tokenizer wd_tokenizer;
typedef struct wd_encoding wd_encoding;
typedef struct wd_tokenizer_stream wd_tokenizer_stream;

/* Loads a tokenizer. path is either a folder holding tokenizer.json (and
 * optionally tokenizer_config.json) or the path of a tokenizer.json file
 * (a tokenizer_config.json beside it is read too), or a .gguf file (the
 * tokenizer rebuilt from its tokenizer.ggml.* keys and chat template, see
 * docs/runtime.md). On success *out owns the
 * tokenizer (free with wd_tokenizer_free). On failure *out = NULL and
 * wd_last_error() names the file, the field and the reason. */
wd_status wd_tokenizer_load(const char *path, wd_tokenizer **out);

/* Loads from the text of a tokenizer.json held in memory (len bytes, need
 * not be NUL-terminated); config_json (may be NULL) is the text of a
 * tokenizer_config.json. `where` names the source in messages (may be
 * NULL). Ownership as wd_tokenizer_load; nothing of the buffers is kept. */
wd_status wd_tokenizer_load_json(const char *json, size_t len, const char *config_json,
                                 size_t config_len, const char *where, wd_tokenizer **out);

void wd_tokenizer_free(wd_tokenizer *tok);

typedef struct wd_encode_params {
    bool add_special_tokens;   /* run the post-processor's template (BOS, [CLS]...); default true */
    bool split_special_tokens; /* treat special added tokens in the text as plain text; default false */
} wd_encode_params;

wd_encode_params wd_encode_params_default(void);

/* Encodes len bytes of UTF-8 text (need not be NUL-terminated). params may
 * be NULL (defaults). On success *out is a new encoding owned by the caller
 * (free with wd_encoding_free). Fails with WD_ERR_ENCODING when the text is
 * not valid UTF-8 (the message gives the byte offset), WD_ERR_NOMEM, or
 * WD_ERR_RANGE for text over 2 GiB. */
wd_status wd_tokenizer_encode(const wd_tokenizer *tok, const char *text, size_t len,
                              const wd_encode_params *params, wd_encoding **out);

/* Buffer-filling variant: writes at most cap ids to ids (may be NULL when
 * cap is 0) and sets *n_needed to the number of ids of the encoding. When
 * *n_needed > cap the call returns WD_ERR_RANGE and the caller retries with
 * a bigger buffer. Same failures as wd_tokenizer_encode otherwise. */
wd_status wd_tokenizer_encode_ids(const wd_tokenizer *tok, const char *text, size_t len,
                                  const wd_encode_params *params, int32_t *ids, size_t cap,
                                  size_t *n_needed);

typedef struct wd_offset {
    size_t start, end; /* byte range [start, end) of the text */
} wd_offset;

/* Number of tokens in the encoding (0 for NULL). */
size_t wd_encoding_len(const wd_encoding *enc);
/* The token ids, wd_encoding_len() of them; owned by the encoding. */
const int32_t *wd_encoding_ids(const wd_encoding *enc);
/* The byte offsets of each token; owned by the encoding. */
const wd_offset *wd_encoding_offsets(const wd_encoding *enc);
/* 1 for tokens added by the post-processor or matched as special added
 * tokens, 0 otherwise; owned by the encoding. */
const uint8_t *wd_encoding_special_mask(const wd_encoding *enc);
void wd_encoding_free(wd_encoding *enc);

typedef struct wd_decode_params {
    bool skip_special_tokens; /* leave out special added tokens; default false */
} wd_decode_params;

wd_decode_params wd_decode_params_default(void);

/* Decodes n ids to text. On success *out is a malloc'd NUL-terminated UTF-8
 * string owned by the caller (free with free()); *out_len (may be NULL) gets
 * its length. Byte sequences that do not form valid UTF-8 come out as
 * U+FFFD, as in the tokenizers library. Fails with WD_ERR_RANGE naming an
 * id outside [0, vocab size). */
wd_status wd_tokenizer_decode(const wd_tokenizer *tok, const int32_t *ids, size_t n,
                              const wd_decode_params *params, char **out, size_t *out_len);

/* Incremental decoding for generation: push ids one at a time and get the
 * text they add. Text is only released once it forms complete UTF-8
 * characters, so a character spread over several byte tokens comes out
 * whole, never in halves. The concatenation of every piece plus the final
 * flush equals wd_tokenizer_decode of all the ids (up to decoders that
 * clean up spaces across tokens). */
wd_status wd_tokenizer_stream_new(const wd_tokenizer *tok, const wd_decode_params *params,
                                  wd_tokenizer_stream **out);
/* Adds one id. *piece points to the new text (possibly "", *piece_len 0),
 * owned by the stream and valid until the next call on it. */
wd_status wd_tokenizer_stream_push(wd_tokenizer_stream *s, int32_t id, const char **piece,
                                   size_t *piece_len);
/* Releases what is held back (an incomplete character becomes U+FFFD).
 * Same ownership as push. The stream may be reused afterwards. */
wd_status wd_tokenizer_stream_flush(wd_tokenizer_stream *s, const char **piece,
                                    size_t *piece_len);
void wd_tokenizer_stream_free(wd_tokenizer_stream *s);

/* Returns the id of a token (vocabulary or added token), or -1 when absent. */
int32_t wd_tokenizer_token_to_id(const wd_tokenizer *tok, const char *token);
/* Returns the token string of an id (owned by the tokenizer, valid as long
 * as it), or NULL when the id is out of range or unused. */
const char *wd_tokenizer_id_to_token(const wd_tokenizer *tok, int32_t id);
/* Number of ids, added tokens included (largest id + 1). */
size_t wd_tokenizer_vocab_size(const wd_tokenizer *tok);
/* True when id is a special added token. */
bool wd_tokenizer_is_special(const wd_tokenizer *tok, int32_t id);

typedef enum wd_special_token {
    WD_SPECIAL_TOKEN_BOS = 0,
    WD_SPECIAL_TOKEN_EOS = 1,
    WD_SPECIAL_TOKEN_PAD = 2,
    WD_SPECIAL_TOKEN_UNK = 3,
} wd_special_token;

/* Returns the id of a special token named by tokenizer_config.json (or, for
 * UNK, the model's unknown token), or -1 when there is none. */
int32_t wd_tokenizer_special_id(const wd_tokenizer *tok, wd_special_token which);
/* The same token as text, owned by the tokenizer, or NULL. */
const char *wd_tokenizer_special_str(const wd_tokenizer *tok, wd_special_token which);

/* The `chat_template` string of tokenizer_config.json (the default one when
 * it holds a list), owned by the tokenizer, or NULL when absent. */
const char *wd_tokenizer_chat_template(const wd_tokenizer *tok);

/* A short name of the model kind: "BPE", "WordPiece" or "Unigram". */
const char *wd_tokenizer_model_type(const wd_tokenizer *tok);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_TOKENIZER_H */
