/*
 * guard/judge.h - the LLM judge: a decoder checkpoint asked whether a text
 * is safe, with the Llama Guard 3 prompt (Inan et al. 2023) or a template
 * holding {text}. One object, shared by the llm_judge scanner
 * (guard/scanners/llm_judge.c) and erase-and-check's judge filter
 * (certify/judge_filter.c), so that both ask the model the same question
 * and read the same answer.
 *
 * The question for text T in role R is the prompt rendered around T; as
 * token ids it is  head(R) + tokens(T) + tail(R), where head and tail are
 * the prompt before and after the text, each tokenized on its own with no
 * special tokens added (the prompt writes its own). The answer is
 *
 *   p(unsafe) = the softmax mass, at the position after the prompt, of every
 *               token whose text (leading spaces dropped) starts with
 *               "unsafe", plus the first token of "unsafe" when the
 *               tokenizer splits the word.
 *
 * A wd__judge is immutable once built: threads may share it, each with its
 * own wd_context of the model.
 */
#ifndef WD_GUARD_JUDGE_H
#define WD_GUARD_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "warden/chat.h"
#include "warden/guard.h"
#include "warden/model.h"
#include "warden/taxonomy.h"

typedef struct wd_tokenizer wd_tokenizer;

/* A text no caller's text contains: rendered in place of the text, it marks
 * where the prompt is cut into head and tail. */
#define WD__JUDGE_MARK "\x01wd-judge-text\x01"

typedef struct wd__judge {
    wd_model           *m;        /* owned                                          */
    const wd_tokenizer *tok;      /* m's tokenizer                                  */
    size_t              n_vocab;  /* rows of the logits                             */
    char               *tmpl;     /* the template (owned), NULL: Llama Guard 3      */
    wd_catmask          cats;     /* hazards the Llama Guard 3 prompt lists; 0 = all */
    int32_t            *unsafe;   /* the "unsafe" token ids (n_unsafe >= 1)         */
    size_t              n_unsafe;
    /* the prompt around the text as token ids, per role (WD_ROLE_INPUT,
     * WD_ROLE_OUTPUT) */
    int32_t            *head[2], *tail[2];
    size_t              n_head[2], n_tail[2];
} wd__judge;

/* A judge over the decoder m (it must have a tokenizer). tmpl (copied) is
 * a template with {text} (and optionally {role}: User / Agent), or NULL for
 * the Llama Guard 3 prompt listing cats (0 = all 14 hazards). On success
 * the judge owns m; on failure the caller keeps it. Returns WD_OK and *out,
 * or with *out = NULL: WD_ERR_UNSUPPORTED (no tokenizer, or the tokenizer
 * cannot write "unsafe"), WD_ERR_FORMAT (the template does not place the
 * text), WD_ERR_NOMEM, or the tokenizer's error. */
wd_status wd__judge_new(wd_model *m, const char *tmpl, wd_catmask cats, wd__judge **out);

/* Frees the judge and its model; NULL is a no-op. */
void wd__judge_free(wd__judge *j);

/* The judge's prompt for text[0..len) in role. *out is malloc'd (caller
 * frees). */
wd_status wd__judge_render(const wd__judge *j, const char *text, size_t len, wd_role role, char **out);

/* The judge's prompt for text[0..len) in role as the last turn of a
 * conversation: the Llama Guard 3 prompt over the turns of
 * context[from..n_context) and the text (guard/conversation.h says how
 * roles become User / Agent turns); a custom template reads the text
 * only. With no context, the same prompt as wd__judge_render. *out is
 * malloc'd (caller frees). */
wd_status wd__judge_render_conv(const wd__judge *j, const wd_chat_message *context, size_t from,
                                size_t n_context, const char *text, size_t len, wd_role role, char **out);

/* Tokenizes s[0..len) with the judge's tokenizer, no special tokens added,
 * into the growable *ids (*cap entries, realloc'd as needed; caller frees);
 * *n = the count. */
/* text (len bytes) as token ids without special tokens into *ids, grown
 * (realloc) when *cap is too small; *n the count. */
wd_status wd__judge_encode_tok(const wd_tokenizer *tok, const char *s, size_t len, int32_t **ids,
                               size_t *cap, size_t *n);
wd_status wd__judge_encode(const wd__judge *j, const char *s, size_t len, int32_t **ids, size_t *cap,
                           size_t *n);

/* p(unsafe) read from logits (n_vocab), clamped to 1; *best (may be NULL)
 * gets the most likely "unsafe" token. */
double wd__judge_p_unsafe(const wd__judge *j, const float *logits, int32_t *best);

#endif
