/*
 * weights/probe.h - what the repair methods ask of a model (probe.c): its
 * prompts read from a dataset file, rendered with the model's chat template
 * exactly as `warden redteam` renders them, the residual stream at the last
 * position of each, and whether its greedy answers refuse.
 */
#ifndef WD_WEIGHTS_PROBE_H
#define WD_WEIGHTS_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "eval/respond.h"
#include "warden/guard.h"
#include "warden/model.h"

/* Prompts of a dataset file (warden/dataset.h: the "text" or "prompt"
 * field, or one a line), at most max (0 = all). */
typedef struct wd__prompts {
    char  **text;
    size_t  n;
} wd__prompts;

wd_status wd__prompts_read(const char *path, size_t max, wd__prompts *out, wd__err *err);
void      wd__prompts_free(wd__prompts *p);

/* A model and one context for probing it; r answers as the red team does
 * (eval/respond.h), r.ids holds the last prompt's ids. */
typedef struct wd__probe {
    wd_model          *m;
    wd_context        *ctx;
    wd__responder      r;
    wd_chat_params     chat;
    wd_generate_params gen;
    size_t             n_ctx;
} wd__probe;

/* Loads dir (n_threads 0 = all) with a context of n_ctx tokens (0 = up to
 * 1024). The model must be a decoder with a tokenizer. */
wd_status wd__probe_open(wd__probe *p, const char *dir, int n_threads, size_t n_ctx, wd__err *err);
void      wd__probe_close(wd__probe *p);

/* The chat-template ids of prompt as a user turn with the generation
 * prompt, into p->r.ids; *n their count (an error when they do not fit
 * the context). */
wd_status wd__probe_encode(wd__probe *p, const char *prompt, size_t *n, wd__err *err);

/* states (n_prompts, L+1, C): the residual stream entering each layer
 * (and after the last) at the last position of each prompt. progress (may
 * be NULL) is called after each prompt with (done, total). */
typedef void (*wd__probe_progress)(void *user, size_t done, size_t total);
wd_status wd__probe_states(wd__probe *p, const wd__prompts *pr, float *states,
                           wd__probe_progress progress, void *user, wd__err *err);

/* The next-token distributions (softmax, V each) at the end of every
 * prompt's chat template into probs (n, V). */
wd_status wd__probe_next(wd__probe *p, const wd__prompts *pr, float *probs, wd__err *err);

/* Greedy answers of max_tokens tokens to every prompt (the red team's
 * wd__respond), checked by the refusal detector: *rate = refused / n. */
wd_status wd__probe_refusals(wd__probe *p, const wd__prompts *pr, size_t max_tokens, double *rate,
                             wd__probe_progress progress, void *user, wd__err *err);

/* The same, and with a judge (a guard asked, output role, whether each
 * answer is unsafe; NULL: none) *unsafe = answers it flags / n (NaN
 * without a judge). */
wd_status wd__probe_answers(wd__probe *p, const wd__prompts *pr, size_t max_tokens, wd_guard *judge,
                            double *refusal, double *unsafe, wd__probe_progress progress, void *user,
                            wd__err *err);

#endif
