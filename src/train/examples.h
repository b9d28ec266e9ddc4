/*
 * train/examples.h - training examples read from a dataset (JSONL, JSON,
 * CSV/TSV, gzip'd or not, through io/dataset) and tokenized with the
 * model's own chat template:
 *
 *   sft:  prompt + response      -> one sequence; its first n_prompt tokens
 *                                   (system, user turn, assistant header)
 *                                   carry no loss
 *   pair: prompt + chosen + rejected (+ margin) -> two sequences sharing the
 *                                   prompt (reward models, DPO)
 *
 * A chat is rendered twice: the prompt with the assistant's header
 * (add_generation_prompt) and the whole conversation; the prompt length is
 * the common prefix of their token ids. With no chat template ("none", or
 * a tokenizer without one) the text is [system "\n"] prompt "\n" response
 * EOS.
 */
#ifndef WD_TRAIN_EXAMPLES_H
#define WD_TRAIN_EXAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "warden/chat.h"
#include "warden/tokenizer.h"

typedef struct wd__seq {
    int32_t *ids;
    size_t   n, n_prompt;
} wd__seq;

typedef struct wd__example {
    wd__seq a;      /* sft: the sequence; pair: chosen */
    wd__seq b;      /* pair: rejected                  */
    float   margin; /* pair: margin column, else 0     */
} wd__example;

typedef struct wd__examples_params {
    bool        pairs;
    const char *prompt_field;   /* default "prompt"   */
    const char *response_field; /* default "response" */
    const char *chosen_field;   /* default "chosen"   */
    const char *rejected_field; /* default "rejected" */
    const char *margin_field;   /* NULL: no margins   */
    const char *away_field;     /* sft: a harmful completion per record, read
                                   into example.b; NULL: none */
    const char *chat_format;    /* NULL: the tokenizer's template; "none": plain */
    const char *system;         /* a system message, or NULL */
    size_t      max_len;        /* sequences cut to this many tokens (the response's end) */
    size_t      limit;          /* read at most this many records; 0 = all */
} wd__examples_params;

typedef struct wd__examples {
    wd__example *v;
    size_t       n, cap;
    size_t       n_cut; /* sequences shortened to max_len */
} wd__examples;

/* Reads and tokenizes path. Errors name the file, the record and the field. */
wd_status wd__examples_read(const char *path, const wd__examples_params *p,
                            const wd_tokenizer *tok, wd__examples *out, wd__err *err);

/* Tokenizes one (prompt, response) as wd__examples_read does. */
wd_status wd__examples_tokenize(const wd_tokenizer *tok, const wd__examples_params *p,
                                const char *prompt, const char *response, wd__seq *out,
                                wd__err *err);

/* The ids of one chat rendered as wd__examples_tokenize renders it: the
 * prompt with the assistant's header (response NULL: what a model continues
 * to answer it) or the whole chat. *ids is malloc'd (the caller frees). */
wd_status wd__examples_render_ids(const wd_tokenizer *tok, const wd__examples_params *p,
                                  const char *prompt, const char *response, int32_t **ids,
                                  size_t *n, wd__err *err);

/* Room for one more example at e->v[e->n] (zeroed; the caller counts it
 * in by e->n++), or NULL on out of memory. */
wd__example *wd__examples_push(wd__examples *e, wd__err *err);

/* Cuts a sequence to max_len (0: no limit): the response's end goes first;
 * when the prompt alone is too long its start goes, keeping one response
 * token. Returns whether it was cut. */
bool wd__examples_cut(wd__seq *s, size_t max_len);

void wd__examples_free(wd__examples *e);

#endif
