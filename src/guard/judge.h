/*
 * guard/judge.h - the LLM judge's prompt and score, shared by the
 * llm_judge scanner (scanners/llm_judge.c) and erase-and-check's token-level judge
 * (erase_check.c), so that both ask the model the same question and read
 * the same answer.
 */
#ifndef WD_GUARD_JUDGE_H
#define WD_GUARD_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "warden/guard.h"
#include "warden/taxonomy.h"

typedef struct wd_tokenizer wd_tokenizer;

/* Renders the judge's prompt for text[0..len) in role: with tmpl == NULL
 * the Llama Guard 3 prompt listing cats (0 = all 14), else tmpl with {text}
 * and {role} (User / Agent) replaced. *out is malloc'd (caller frees). */
wd_status wd__judge_render(const char *tmpl, wd_catmask cats, const char *text, size_t len,
                           wd_role role, char **out);

/* The prompt around the text as token ids: the head before the text and
 * the tail after it, each tokenized on its own with no special tokens
 * added (the prompt writes its own). *head and *tail are malloc'd (caller
 * frees); on failure both are NULL. */
wd_status wd__judge_parts(const wd_tokenizer *tok, const char *tmpl, wd_catmask cats, wd_role role,
                          int32_t **head, size_t *n_head, int32_t **tail, size_t *n_tail);

/* The ids (< V) whose text, leading spaces dropped, starts with "unsafe",
 * plus the first token of "unsafe" when the tokenizer splits the word.
 * *out is malloc'd (caller frees); *n may be 0. */
wd_status wd__judge_unsafe_ids(const wd_tokenizer *tok, size_t V, int32_t **out, size_t *n);

/* p(unsafe): the softmax mass of ids[0..n) in logits (V), clamped to 1;
 * *best (may be NULL) gets the most likely of them. */
double wd__judge_p_unsafe(const float *logits, size_t V, const int32_t *ids, size_t n,
                          int32_t *best);

#endif
