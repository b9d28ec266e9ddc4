/*
 * guard/format_judge.h - a decoder guard asked in its own format
 * (warden/guard_format.h): Llama Guard 4, ShieldGemma, Granite Guardian,
 * Qwen3Guard, WildGuard. The llm_judge scanner (scanners/llm_judge.c)
 * holds one when its format is not Llama Guard 3 (which guard/judge.h
 * serves, shared with erase-and-check). format_judge.c says how the
 * answer is read, the categories scored and the rationale written; the
 * helpers below are shared with the Llama Guard 3 path.
 */
#ifndef WD_GUARD_FORMAT_JUDGE_H
#define WD_GUARD_FORMAT_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "guard/scanner.h"
#include "warden/guard_format.h"
#include "warden/model.h"

typedef struct wd__fjudge wd__fjudge;

typedef struct wd__fjudge_params {
    wd_guard_format format;          /* generative, not AUTO                         */
    const char     *policies[8];     /* policy names; none: the format's default set */
    size_t          n_policies;
    long            max_tokens;      /* answer tokens generated after the verdict    */
    double          generate_above;  /* generate the categories when p >= this       */
    long            n_ctx;
    bool            explain;         /* write a rationale after the verdict          */
    long            explain_max_tokens;
} wd__fjudge_params;

/* A judge over the decoder m (with its tokenizer). On success it owns m;
 * on failure the caller keeps it and err says why (where names the model):
 * WD_ERR_UNSUPPORTED (no tokenizer, or it cannot write a verdict word),
 * WD_ERR_INVALID_ARG (an unknown policy), WD_ERR_NOMEM. */
wd_status wd__fjudge_new(const wd__fjudge_params *p, wd_model *m, const char *where, wd__fjudge **out,
                         wd__err *err);
void wd__fjudge_free(wd__fjudge *j);
/* The model (for scratch contexts). */
wd_model *wd__fjudge_model(const wd__fjudge *j);

/* Per-thread work space; NULL when out of memory. */
void *wd__fjudge_scratch_new(const wd__fjudge *j);
void wd__fjudge_scratch_free(void *scratch);

/* Scans one text (with its conversation context) into res, the rationale
 * (when asked) in res->rationale (owned by scratch until its next scan). */
wd_status wd__fjudge_scan(const wd__fjudge *j, void *scratch, const wd__scan_input *in, wd__scan_result *res,
                          wd__err *err);

/* ==== shared with the Llama Guard 3 path (scanners/llm_judge.c) ==== */

/* Greedy generation from ctx, whose last logits are there already: up to
 * max tokens into gen (their probabilities under the softmax into p, may
 * be NULL), stopping after an end-of-sequence token (kept) or at n_ctx.
 * The first token is first when first >= 0 (its probability p0). Returns
 * the count. */
size_t wd__fjudge_generate(wd_context *ctx, const wd_model *m, int32_t first, float p0, int32_t *gen, float *p,
                           size_t max);

/* Per-category scores of an answer: gen[0..n) decoded (special tokens
 * dropped) is parsed in format f for role; each category it names scores
 * base times the probability of the tokens that wrote its name (the
 * product of p over the tokens overlapping its bytes), the highest of its
 * mentions. Writes score[c] for the categories named and returns their
 * union (0: none named, or the text could not be decoded). */
wd_catmask wd__fjudge_cat_scores(const wd_tokenizer *tok, wd_guard_format f, wd_role role, const int32_t *gen,
                                 const float *p, size_t n, float base, float score[WD_CATEGORY_COUNT]);

/* The rationale: text (the follow-up turn, may be "") fed to ctx, then up
 * to max tokens generated and decoded with special tokens dropped,
 * stripped. *out is malloc'd (NULL on failure, when nothing came, or when
 * the context has no room left for the turn: WD_OK then). */
wd_status wd__fjudge_explain(wd_context *ctx, const wd_model *m, const char *turn, size_t max, char **out);

#endif
