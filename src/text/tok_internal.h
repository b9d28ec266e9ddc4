/*
 * text/tok_internal.h - what the files of the tokenizer share.
 *
 * The encode pipeline moves text between "aligned strings" (wd__tstr): byte
 * buffers in which every byte remembers the byte range [a0, a1) of the
 * original input it came from. A normalizer or pre-tokenizer reads pieces of
 * one wd__tstr and appends its output to another, so offsets survive every
 * step (inserted characters take the range of their neighbour, as in the
 * tokenizers library's NormalizedString). A piece (wd__piece) is a span of a
 * wd__tstr that is either still text (id < 0) or already a token (an added
 * token matched in the text, id >= 0).
 *
 * Every component is a small tagged struct built from its JSON by
 * wd__X_parse and run by wd__X_run; Sequence nodes hold children.
 */
#ifndef WD_TEXT_TOK_INTERNAL_H
#define WD_TEXT_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/hashmap.h"
#include "base/utf8.h"
#include "warden/tokenizer.h"

/* ==== unicode.c: character classes (UTF-8 itself: base/utf8.h) =========== */

bool wd__uc_is_whitespace(uint32_t cp); /* Unicode White_Space (Rust char::is_whitespace) */
/* chat_template.c: Python's str.strip() of the string p (Unicode White_Space
 * at both ends; stops at invalid UTF-8), appended to s. */
struct wd__strbuf;
void wd__chat_put_stripped(struct wd__strbuf *s, const char *p);
bool wd__uc_is_alnum(uint32_t cp);      /* Rust char::is_alphanumeric */
bool wd__uc_is_word(uint32_t cp);       /* regex \w: alphanumeric, marks, connector punct. */
bool wd__uc_is_punct(uint32_t cp);      /* general category P* */
bool wd__uc_is_bert_punct(uint32_t cp); /* ASCII punctuation or P* */
bool wd__uc_is_other(uint32_t cp);      /* general category C* */
bool wd__uc_is_mark_nonspacing(uint32_t cp); /* Mn */
bool wd__uc_is_chinese(uint32_t cp);    /* BERT's CJK ideograph blocks */
bool wd__uc_is_digit(uint32_t cp);      /* Rust char::is_numeric (N*) */

/* ==== aligned strings and pieces ========================================= */

typedef struct wd__tstr {
    char     *b;
    uint32_t *a0, *a1; /* original byte range of each byte */
    size_t    len, cap;
} wd__tstr;

typedef struct wd__piece {
    uint32_t start, len; /* span of a wd__tstr */
    int32_t  id;         /* < 0: text; >= 0: an added token already */
} wd__piece;

typedef struct wd__pieces {
    wd__piece *v;
    size_t    n, cap;
} wd__pieces;

wd_status wd__tstr_reserve(wd__tstr *t, size_t extra);
void      wd__tstr_free(wd__tstr *t);
/* Appends n bytes all aligned to [a0, a1). */
wd_status wd__tstr_push(wd__tstr *t, const char *s, size_t n, uint32_t a0, uint32_t a1);
/* Appends src[i, i+n) with its alignments. */
wd_status wd__tstr_copy(wd__tstr *t, const wd__tstr *src, size_t i, size_t n);
wd_status wd__pieces_push(wd__pieces *p, uint32_t start, uint32_t len, int32_t id);
void      wd__pieces_free(wd__pieces *p);

/* Scratch memory of one encode call (never shared between threads). */
typedef struct wd__scratch {
    wd__tstr    t[4];
    wd__pieces  p[4];
    pcre2_match_data *md;
    pcre2_jit_stack  *jit;
    pcre2_match_context *mctx;
    /* model work space */
    void  *sym;  size_t sym_cap;
    void  *heap; size_t heap_cap;
    char  *buf;  size_t buf_cap;
    void  *segs; size_t segs_cap;  /* pre-tokenizer split segments */
    void  *lat;  size_t lat_cap;   /* unigram lattice */
    /* BPE word cache: word -> slice of cache_tok */
    wd__strmap cache;
    struct wd__ctok *cache_tok; size_t cache_n, cache_cap;
    struct wd__cent *cache_ent; size_t cache_ent_n, cache_ent_cap;
} wd__scratch;

void wd__scratch_free(wd__scratch *sc);
/* Returns match data for re (grown as needed) in sc. */
pcre2_match_data *wd__scratch_md(wd__scratch *sc);

/* ==== regex helper (pretokenizer.c) ====================================== */

/* Compiles a pattern (UTF, UCP) and JIT-compiles it when possible. On
 * failure returns NULL with the thread error naming where and the offset. */
pcre2_code *wd__regex_compile(const char *pat, size_t len, const char *where);
/* Finds the next match of re in s[0, len) at or after `from`; returns
 * true with [*ms, *me). Empty matches are reported; the caller advances. */
int  wd__regex_find(const pcre2_code *re, const char *s, size_t len, size_t from, wd__scratch *sc,
                    size_t *ms, size_t *me);
/* (returns 1 on a match, 0 on none, a negative wd_status on a matcher
 * failure such as an exhausted JIT stack, with the thread error set) */

/* Split behaviours shared by Split, Punctuation, Metaspace... */
typedef enum wd__split_behavior {
    WD_SPLIT_REMOVED,
    WD_SPLIT_ISOLATED,
    WD_SPLIT_MERGED_PREV,
    WD_SPLIT_MERGED_NEXT,
    WD_SPLIT_CONTIGUOUS,
} wd__split_behavior;

/* ==== component trees (component.c) ====================================== */

/* The "type" string of the component object j (WD_ERR_FORMAT naming
 * "where: field" when j is not an object or has no string type). */
wd_status wd__component_type(const cJSON *j, const char *where, const char *field,
                             const char **type);

/* Parses one child (item j, named "where: field") into *out. */
typedef wd_status (*wd__kid_parse_fn)(const cJSON *j, const char *where, const char *field,
                                      void *ctx, void **out);

/* A Sequence's children: j[key] must be an array (WD_ERR_FORMAT naming
 * "where: field.key" otherwise); each item i is parsed by parse as
 * "field.key[i]" into the new array *kids (free with free()), stopping at
 * the first failure. *n_kids counts the children parsed, also on failure,
 * so that the caller's free function releases them. */
wd_status wd__component_kids(const cJSON *j, const char *where, const char *field, const char *key,
                             wd__kid_parse_fn parse, void *ctx, void ***kids, size_t *n_kids);

/* ==== normalizers (normalizer.c) ========================================= */

typedef enum wd__tnorm_type {
    WD_TNORM_NFC, WD_TNORM_NFD, WD_TNORM_NFKC, WD_TNORM_NFKD, WD_TNORM_LOWERCASE,
    WD_TNORM_STRIP_ACCENTS, WD_TNORM_STRIP, WD_TNORM_REPLACE, WD_TNORM_PREPEND, WD_TNORM_BERT,
    WD_TNORM_SEQUENCE,
    WD_TNORM_PRECOMPILED,
} wd__tnorm_type;

typedef struct wd__normalizer {
    wd__tnorm_type type;
    bool  left, right;                   /* Strip */
    bool  clean_text, handle_chinese, strip_accents, lowercase; /* Bert */
    char *pattern; size_t pattern_len;   /* Replace: literal pattern, or */
    pcre2_code *re;                      /* Replace: regex pattern */
    char *content; size_t content_len;   /* Replace, Prepend */
    void **kids; size_t n_kids;          /* Sequence: wd__normalizer * each */
    struct wd__charsmap *charsmap;       /* Precompiled (owned)   */
} wd__normalizer;

/* precompiled.c: SentencePiece's precompiled_charsmap (base64) and the
 * Precompiled normalizer over in[start, start+len), appended to out. */
typedef struct wd__charsmap wd__charsmap;
wd_status wd__charsmap_parse(const char *b64, const char *where, const char *field,
                             wd__charsmap **out);
void      wd__charsmap_free(wd__charsmap *cm);
wd_status wd__charsmap_run(const wd__charsmap *cm, const wd__tstr *in, size_t start, size_t len,
                           wd__tstr *out);

wd_status wd__normalizer_parse(const cJSON *j, const char *where, const char *field,
                               wd__arena *a, wd__normalizer **out);
void      wd__normalizer_free(wd__normalizer *n);
/* Appends the normalization of in[start, start+len) to out. */
wd_status wd__normalizer_run(const wd__normalizer *n, const wd__tstr *in, size_t start, size_t len,
                             wd__tstr *out, wd__scratch *sc);

/* ==== pre-tokenizers (pretokenizer.c) ==================================== */

typedef enum wd__pretok_type {
    WD_PRE_BYTELEVEL, WD_PRE_METASPACE, WD_PRE_WHITESPACE, WD_PRE_WHITESPACE_SPLIT,
    WD_PRE_BERT, WD_PRE_PUNCTUATION, WD_PRE_SPLIT, WD_PRE_DIGITS, WD_PRE_SEQUENCE,
} wd__pretok_type;

typedef enum wd__prepend_scheme { WD_PREPEND_ALWAYS, WD_PREPEND_FIRST, WD_PREPEND_NEVER } wd__prepend_scheme;

typedef struct wd__pretok {
    wd__pretok_type type;
    bool add_prefix_space, use_regex;     /* ByteLevel */
    wd__prepend_scheme prepend;            /* Metaspace */
    bool split;                           /* Metaspace */
    char replacement[8]; size_t replacement_len;
    wd__split_behavior behavior;           /* Split, Punctuation */
    bool invert;                          /* Split */
    char *pattern; size_t pattern_len;    /* Split with a literal pattern */
    pcre2_code *re;                       /* Split with a regex; ByteLevel's */
    bool individual_digits;               /* Digits */
    void **kids; size_t n_kids;           /* Sequence: wd__pretok * each */
} wd__pretok;

wd_status wd__pretok_parse(const cJSON *j, const char *where, const char *field, wd__arena *a,
                           wd__pretok **out);
void      wd__pretok_free(wd__pretok *p);
/* Splits the text pieces of (in, pin) into (out, pout); token pieces are
 * copied through. */
wd_status wd__pretok_run(const wd__pretok *p, const wd__tstr *in, const wd__pieces *pin,
                         wd__tstr *out, wd__pieces *pout, wd__scratch *sc);
/* The GPT-2 byte -> printable character map (and back; -1 = not mapped). */
uint32_t wd__bytelevel_char(unsigned char b);
int      wd__bytelevel_byte(uint32_t cp);

/* ==== the vocabulary (vocab.c) =========================================== */

typedef struct wd__tokstr {
    const char *s;   /* NUL-terminated, in the tokenizer's arena */
    uint32_t    len;
} wd__tokstr;

typedef struct wd__vocab {
    wd__strmap  map; /* token -> id */
    wd__tokstr *tok; /* id -> token, n entries (s NULL = an id no token has) */
    size_t      n;
} wd__vocab;

/* Room for ids [0, n_ids) and n_tokens strings. WD_ERR_NOMEM on failure
 * (wd__vocab_free cleans up either way). */
wd_status wd__vocab_init(wd__vocab *v, size_t n_ids, size_t n_tokens);
/* Stores token s (len bytes, copied into a) as id; WD_ERR_FORMAT naming
 * where when id is outside the table. */
wd_status wd__vocab_add(wd__vocab *v, wd__arena *a, const char *s, size_t len, int64_t id,
                        const char *where);
void      wd__vocab_free(wd__vocab *v);
/* Parses tokenizer.json's "vocab": {token: id} (BPE, WordPiece) into v. */
wd_status wd__vocab_parse_object(const cJSON *j, const char *where, wd__arena *a, wd__vocab *v);

/* The id of token s[0, len): true with *id, false when absent. */
static inline bool wd__vocab_id(const wd__vocab *v, const char *s, size_t len, int32_t *id) {
    return wd__strmap_get(&v->map, s, len, id);
}

/* The string of id (len bytes in *len), or NULL when no token has it. */
static inline const char *wd__vocab_token(const wd__vocab *v, int32_t id, size_t *len) {
    if (id < 0 || (size_t)id >= v->n || !v->tok[id].s) return NULL;
    *len = v->tok[id].len;
    return v->tok[id].s;
}

/* ==== models (bpe.c, wordpiece.c, unigram.c) ============================= */

typedef enum wd__tmodel_type { WD_TMODEL_BPE, WD_TMODEL_WORDPIECE, WD_TMODEL_UNIGRAM } wd__tmodel_type;

typedef struct wd__tmodel {
    wd__tmodel_type type;
    wd__vocab  vocab;
    int32_t    unk_id;      /* -1: none */
    const char *unk;
    /* BPE */
    wd__u64map  merges;      /* (left << 32 | right) -> (rank << 32 | merged id) */
    const char *cont_prefix; size_t cont_prefix_len; /* also WordPiece's "##" */
    const char *eow_suffix;  size_t eow_suffix_len;
    bool       fuse_unk, byte_fallback, ignore_merges;
    bool       meta_split;   /* no token has a non-▁ character before ▁: words
                                can be cut before each such ▁ (see bpe.c) */
    int32_t    byte_id[256]; /* <0xNN> tokens, -1 when absent */
    /* WordPiece */
    size_t     max_chars;
    /* Unigram */
    double    *score;       /* per id */
    double     min_score;
    size_t     max_piece_len; /* bytes */
} wd__tmodel;

struct wd__ctok { int32_t id; uint32_t start, end; };
struct wd__cent { uint32_t off, n; };

/* Token produced by a model: id and byte range within the word. */
typedef struct wd__mtok { int32_t id; uint32_t start, end; } wd__mtok;

typedef struct wd__mtoks { wd__mtok *v; size_t n, cap; } wd__mtoks;

wd_status wd__mtoks_push(wd__mtoks *t, int32_t id, uint32_t start, uint32_t end);

wd_status wd__bpe_parse(const cJSON *j, const char *where, wd__arena *a, wd__tmodel *m);
wd_status wd__bpe_tokenize(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out,
                           wd__scratch *sc);
/* The textbook O(n^2) merge loop (scan every pair, merge the best, repeat):
 * the oracle for tests and the reference for the benchmark. */
wd_status wd__bpe_tokenize_naive(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out);

wd_status wd__wordpiece_parse(const cJSON *j, const char *where, wd__arena *a, wd__tmodel *m);
wd_status wd__wordpiece_tokenize(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out,
                                 wd__scratch *sc);
wd_status wd__unigram_parse(const cJSON *j, const char *where, wd__arena *a, wd__tmodel *m);
wd_status wd__unigram_tokenize(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out,
                               wd__scratch *sc);

/* ==== added tokens (added_tokens.c) ====================================== */

typedef struct wd__added_token {
    const char *content; size_t len;       /* as written */
    const char *norm; size_t norm_len;     /* normalized form, when normalized */
    int32_t id;
    bool special, lstrip, rstrip, single_word, normalized;
} wd__added_token;

typedef struct wd__added_vocab {
    wd__added_token *tok;
    size_t n;
    /* two matchers: raw (normalized == false) and normalized */
    struct wd__trie *raw, *norm;
} wd__added_vocab;

/* Builds the matchers once normalized forms are set. */
wd_status wd__added_build(wd__added_vocab *av);
void      wd__added_free(wd__added_vocab *av);
/* True when some added token is matched in raw (or normalized) text. */
bool      wd__added_has(const wd__added_vocab *av, bool normalized);
/* Splits the text pieces of (in, pin) on the added tokens of one matcher
 * (normalized or not), appending pieces of the same string `in` to pout.
 * With skip_special the special tokens are not matched. */
wd_status wd__added_split(const wd__added_vocab *av, bool normalized, bool skip_special,
                          const wd__tstr *in, const wd__pieces *pin, wd__pieces *pout);

/* ==== post-processors (postprocessor.c) ================================== */

typedef enum wd__post_type {
    WD_POST_TEMPLATE, WD_POST_BERT, WD_POST_ROBERTA, WD_POST_BYTELEVEL, WD_POST_SEQUENCE,
} wd__post_type;

typedef struct wd__post_item {
    bool     is_seq;   /* $A (the text) or a special token */
    int32_t *ids;      /* the special token's ids */
    size_t   n_ids;
} wd__post_item;

typedef struct wd__postproc {
    wd__post_type type;
    wd__post_item *items; size_t n_items;  /* Template: the single template */
    int32_t cls_id, sep_id;               /* Bert, Roberta */
    bool trim_offsets, add_prefix_space;
    void **kids; size_t n_kids;            /* Sequence: wd__postproc * each */
} wd__postproc;

/* The encoding being built. */
struct wd_encoding {
    int32_t   *ids;
    wd_offset *offsets;
    uint8_t   *special;
    size_t     n, cap;
};

wd_status wd__encoding_push(wd_encoding *e, int32_t id, size_t start, size_t end, bool special);

wd_status wd__postproc_parse(const cJSON *j, const char *where, const char *field,
                             const wd__tmodel *m, const wd__added_vocab *av, wd__postproc **out);
void      wd__postproc_free(wd__postproc *p);
/* Rewrites enc in place (adds special tokens when add_special, adjusts
 * offsets). text is the original input, for offset trimming. */
wd_status wd__postproc_run(const wd__postproc *p, wd_encoding *enc, bool add_special,
                           const char *text, size_t text_len, const struct wd_tokenizer *tok);

/* ==== decoders (decoder.c) =============================================== */

typedef enum wd__dec_type {
    WD_DEC_BYTELEVEL, WD_DEC_METASPACE, WD_DEC_BYTE_FALLBACK, WD_DEC_WORDPIECE, WD_DEC_FUSE,
    WD_DEC_STRIP, WD_DEC_REPLACE, WD_DEC_BPE, WD_DEC_CTC, WD_DEC_SEQUENCE,
} wd__dec_type;

typedef struct wd__decoder {
    wd__dec_type type;
    char replacement[8]; size_t replacement_len; /* Metaspace */
    wd__prepend_scheme prepend;
    char *prefix; size_t prefix_len;             /* WordPiece; BPE suffix */
    bool cleanup;
    uint32_t strip_char; size_t strip_start, strip_stop; /* Strip */
    char *pattern; size_t pattern_len; pcre2_code *re;  /* Replace */
    char *content; size_t content_len;
    void **kids; size_t n_kids;                  /* Sequence: wd__decoder * each */
} wd__decoder;

/* A list of strings in one buffer. */
typedef struct wd__strlist {
    char   *b; size_t len, cap;
    size_t *off, *n; size_t count, count_cap;
} wd__strlist;

wd_status wd__strlist_push(wd__strlist *l, const char *s, size_t n);
void      wd__strlist_clear(wd__strlist *l);
void      wd__strlist_free(wd__strlist *l);

wd_status wd__decoder_parse(const cJSON *j, const char *where, const char *field,
                            wd__decoder **out);
void      wd__decoder_free(wd__decoder *d);
/* Runs the decoder over the token strings of in; the result strings are in
 * out (joined by the caller). With raw, byte-producing decoders emit raw
 * bytes instead of replacing invalid UTF-8 (for the stream). */
wd_status wd__decoder_run(const wd__decoder *d, const wd__strlist *in, wd__strlist *out, bool raw);

/* ==== the tokenizer (tokenizer.c) ======================================== */

struct wd_tokenizer {
    wd__arena      *arena;
    wd__tmodel       model;
    wd__added_vocab added;
    wd__normalizer *normalizer;
    wd__pretok     *pretok;
    wd__postproc   *post;
    wd__decoder    *decoder;
    size_t         vocab_size;
    int32_t        special_id[4];
    const char    *special_str[4];
    const char    *chat_template;
    char          *where;
};

/* wd_tokenizer_encode; with naive, BPE words go through the O(n^2)
 * reference merge loop (for tests and the benchmark). */
wd_status wd__tokenizer_encode_impl(const wd_tokenizer *tok, const char *text, size_t len,
                                    const wd_encode_params *params, bool naive, wd_encoding **out);

/* Token string of id (added token or vocabulary), or NULL. */
const char *wd__tok_str(const struct wd_tokenizer *t, int32_t id, size_t *len);

#endif
