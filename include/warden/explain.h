/*
 * warden/explain.h - why a guard scored a text as it did: Shapley
 * attributions of the score to the text's words or tokens.
 *
 * Two levels.
 *
 * Games. A game is a value function v over coalitions of m units (a
 * coalition is a row of m bytes, 1 = the unit is present). The three
 * explainers take any game, so they are tested on synthetic ones:
 *
 *   wd_shap_exact      Shapley values by full enumeration (2^m evaluations,
 *                      m <= WD_SHAP_EXACT_MAX)
 *   wd_shap_kernel     KernelSHAP (Lundberg & Lee 2017, as shap's
 *                      KernelExplainer; docs/explain.md): coalitions
 *                      enumerated by size from both ends, the rest sampled
 *                      by the kernel weight, a weighted least squares
 *                      constrained to sum to v(all) - v(none)
 *   wd_shap_partition  Owen-style values over a binary hierarchy of
 *                      contiguous spans: about 4m evaluations, for long texts
 *
 * Every method gives attributions phi[0..m) with
 *     sum phi = v(all) - v(none)                        (efficiency)
 * and, for an additive game v(S) = b + sum_{i in S} w_i, phi = w exactly.
 *
 * Texts. wd_explain_text splits a text into units (words, or tokens of a
 * tokenizer), defines v(S) = the score of the text with the units outside S
 * masked (deleted, or replaced by a mask string), evaluates coalitions in
 * batches through a wd_eval_scorer (warden/eval.h: any guard kind) and runs
 * one of the explainers. wd_explain_guard_scorer scores the guard's overall
 * score or one category's.
 *
 * Errors follow warden/base.h: a wd_status, out-parameters NULL on failure,
 * the message in wd_last_error().
 */
#ifndef WARDEN_EXPLAIN_H
#define WARDEN_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/eval.h"
#include "warden/guard.h"
#include "warden/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== games and explainers =============================================== */

/* Fills out[k] = v(coalition k) for k < n. coalitions holds n rows of m
 * bytes (1 = present, 0 = masked). Returns WD_OK, or an error that stops
 * the explainer (its message in wd_last_error()). */
typedef wd_status (*wd_shap_game)(void *user, const uint8_t *coalitions, size_t n, size_t m,
                                  double *out);

/* What an explainer did. */
typedef struct wd_shap_info {
    double value;      /* v(all units)                                   */
    double base_value; /* v(no unit)                                     */
    size_t n_evals;    /* coalitions evaluated, the two endpoints included */
    size_t n_samples;  /* KernelSHAP: rows of the regression; else n_evals */
} wd_shap_info;

/* Largest m wd_shap_exact accepts (2^20 evaluations). */
#define WD_SHAP_EXACT_MAX 20

/* Exact Shapley values: phi[i] = sum over S not holding i of
 * |S|! (m-|S|-1)! / m! (v(S + i) - v(S)), from all 2^m coalitions
 * (evaluated in chunks of 4096). phi has room for m values; info may be
 * NULL. WD_ERR_RANGE when m > WD_SHAP_EXACT_MAX. */
wd_status wd_shap_exact(wd_shap_game game, void *user, size_t m, double *phi, wd_shap_info *info);

typedef struct wd_kernel_shap_params {
    size_t   nsamples; /* coalitions besides the endpoints; 0 = 2m + 2048, or all
                          2^m - 2 when m <= 12. Capped at
                          2^m - 2, where every coalition is enumerated and the result
                          is exact */
    uint64_t seed;     /* of the sampled part (base/rng.h splitmix64); default 0 */
} wd_kernel_shap_params;

wd_kernel_shap_params wd_kernel_shap_params_default(void);

/* Largest m wd_shap_kernel accepts. */
#define WD_SHAP_KERNEL_MAX 2048

/* KernelSHAP (docs/explain.md has the algorithm step by step). No feature
 * selection (shap's l1_reg=False): every unit gets an attribution. The
 * same seed gives the same result. phi has room for m values; params and
 * info may be NULL. WD_ERR_RANGE when m > WD_SHAP_KERNEL_MAX. */
wd_status wd_shap_kernel(wd_shap_game game, void *user, size_t m, const wd_kernel_shap_params *params,
                         double *phi, wd_shap_info *info);

/* Owen-style values over a balanced binary tree of contiguous spans:
 * a node's attribution is shared by its two halves by their two-player
 * Shapley values averaged over two contexts (every unit outside the node
 * absent; every one present), plus half the remainder each, so that the
 * halves sum to the node's share. Additive games are exact, efficiency
 * holds, and the cost is 4(m - 1) + 2 evaluations at most. */
wd_status wd_shap_partition(wd_shap_game game, void *user, size_t m, double *phi, wd_shap_info *info);

/* ==== units of a text ==================================================== */

typedef enum wd_explain_units {
    WD_EXPLAIN_UNITS_WORDS = 0,  /* maximal runs of non-blank bytes              */
    WD_EXPLAIN_UNITS_TOKENS = 1, /* the tokens of a tokenizer (special ones out) */
} wd_explain_units;

/* A unit: bytes [start, end) of the text. */
typedef struct wd_explain_span {
    size_t start, end;
} wd_explain_span;

/* Splits len bytes of text into units: words (tok unused, may be NULL) or
 * the tokens of tok (without special tokens; empty spans dropped; a span
 * overlapping the previous one is merged into it). *out is a malloc'd array
 * of *n spans in text order (NULL when *n is 0), freed with free(). */
wd_status wd_explain_split(const char *text, size_t len, wd_explain_units units,
                           const wd_tokenizer *tok, wd_explain_span **out, size_t *n);

/* ==== explaining a text ================================================== */

/* Most units wd_explain_text explains (every evaluation scores the whole
 * text, so the cost grows as units x length). */
#define WD_EXPLAIN_MAX_UNITS 8192

typedef enum wd_explain_method {
    WD_EXPLAIN_METHOD_AUTO = 0,      /* exact up to 10 units, kernel up to 64, partition beyond */
    WD_EXPLAIN_METHOD_EXACT = 1,
    WD_EXPLAIN_METHOD_KERNEL = 2,
    WD_EXPLAIN_METHOD_PARTITION = 3,
    WD_EXPLAIN_METHOD_IG = 4,        /* integrated gradients: needs the model, not a scorer
                                        (wd_explain_ig); wd_explain_text answers
                                        WD_ERR_UNSUPPORTED */
} wd_explain_method;

/* "auto", "exact", "kernel", "partition", "ig"; NULL out of range. */
const char *wd_explain_method_str(wd_explain_method m);

typedef struct wd_explain_params {
    wd_explain_method   method;     /* default AUTO                                      */
    wd_explain_units    units;      /* default WORDS                                     */
    const wd_tokenizer *tokenizer;  /* for TOKENS (borrowed)                             */
    /* A masked unit's bytes are replaced by this string; NULL (the default)
     * deletes them. Deletion suits the rule and linear scanners (a deleted
     * word matches nothing); a model guard reads a mask token better. */
    const char         *mask;
    size_t              nsamples;   /* KernelSHAP; 0 = 2m + 2048 (all when m <= 12)       */
    uint64_t            seed;       /* KernelSHAP                                        */
    size_t              batch_size; /* texts per scorer call; default 64                 */
} wd_explain_params;

wd_explain_params wd_explain_params_default(void);

/* An explanation: read its fields, free it with wd_explanation_free. Every
 * pointer is malloc'd and owned by it (an explainer other than
 * wd_explain_text may fill one the same way, e.g. integrated gradients). */
typedef struct wd_explanation {
    char              *text;      /* the explained text (a NUL-terminated copy)  */
    size_t             len;
    size_t             n_units;
    wd_explain_span   *units;     /* n_units spans into text                     */
    double            *attr;      /* n_units attributions                        */
    double             value;     /* f(text)                                     */
    double             base_value;/* f(every unit masked)                        */
    wd_explain_method  method;    /* the one used (never AUTO)                   */
    wd_explain_units   unit_kind;
    size_t             n_samples; /* coalitions in the fit (kernel) / evaluated    */
    size_t             n_evals;   /* texts scored                                */
    char              *label;     /* what was explained ("score", "S9"); may be NULL */
} wd_explanation;

/* Explains the score that scorer (user: its data) gives text (len bytes of
 * UTF-8): units from params->units, v(S) = scorer's score of the text with
 * the units outside S masked. params may be NULL (defaults). A text without
 * units gives an explanation with n_units 0. A scorer that returns NaN for
 * a text is an error (WD_ERR_FORMAT naming the masked text's index). On
 * success *out is the caller's (wd_explanation_free). */
wd_status wd_explain_text(const char *text, size_t len, wd_eval_scorer scorer, void *user,
                          const wd_explain_params *params, wd_explanation **out);

/* NULL is a no-op. */
void wd_explanation_free(wd_explanation *ex);

/* The JSON of docs/explain.md:
 *   {"value":F,"base_value":F,"method":"kernel","units_kind":"words",
 *    "nsamples":N,"evaluations":N,"label":"score",
 *    "units":[{"text":"...","start":0,"end":5,"attribution":F},...]}
 * *out is malloc'd (caller frees); NULL on failure. */
wd_status wd_explanation_to_json(const wd_explanation *ex, char **out);

/* A self-contained HTML page (no scripts, inline CSS and SVG) for n
 * explanations: each text with its units highlighted (red: towards
 * unsafe, blue: away; the strength is |attribution| over the largest) and
 * a bar chart of its top units. title may be NULL. *out is malloc'd. */
wd_status wd_explanation_html(const wd_explanation *const *ex, size_t n, const char *title, char **out);
/* The same page written to path atomically. */
wd_status wd_explanation_write_html(const wd_explanation *const *ex, size_t n, const char *title,
                                    const char *path);
/* Only the <section> of n explanations (for another page); *out malloc'd. */
wd_status wd_explanation_html_section(const wd_explanation *const *ex, size_t n, const char *heading,
                                      char **out);

/* ==== integrated gradients of a decoder judge ============================ */

/* What integrated gradients attributes (docs/explain.md): with p =
 * p(unsafe) of the judge, LOGODDS log(p / (1 - p)) (the default; value and
 * base_value are then logits, and p = sigmoid(base_value + sum attr)),
 * LOGP log p, PROB p itself. */
typedef enum wd_explain_ig_target {
    WD_EXPLAIN_IG_TARGET_LOGODDS = 0,
    WD_EXPLAIN_IG_TARGET_LOGP    = 1,
    WD_EXPLAIN_IG_TARGET_PROB    = 2,
} wd_explain_ig_target;

/* The baseline the path starts from: AUTO (the default) = the pad token's
 * embedding when the model names a pad or unknown token, else zeros; PAD
 * (an error when there is none); ZERO. */
typedef enum wd_explain_ig_baseline {
    WD_EXPLAIN_IG_BASELINE_AUTO = 0,
    WD_EXPLAIN_IG_BASELINE_PAD  = 1,
    WD_EXPLAIN_IG_BASELINE_ZERO = 2,
} wd_explain_ig_baseline;

typedef struct wd_explain_ig_params {
    int                    steps;     /* Gauss-Legendre nodes; default 32     */
    wd_explain_ig_target   target;    /* default LOGODDS                      */
    wd_explain_ig_baseline baseline;  /* default AUTO                         */
    bool                   output;    /* the text is the Agent's reply, not the
                                         User's message (Llama Guard's roles) */
    int                    n_threads; /* 0 = every CPU                        */
} wd_explain_ig_params;

wd_explain_ig_params wd_explain_ig_params_default(void);

/* Integrated gradients of the decoder judge in model_dir (a Llama, Mistral
 * or Qwen2 safetensors folder with tokenizer.json, asked the Llama Guard 3
 * question as `warden check --model` asks it) over text[0..len): each
 * token's attribution, summed into params->units (words, or the tokens of
 * params->tokenizer). value = f(text), base_value = f(baseline);
 * sum attr - (value - base_value) is the quadrature's error (the JSON's
 * "delta"; raise steps when it is large). n_samples = steps, n_evals =
 * decoder rows run. params and ig may be NULL (defaults). Errors: the model
 * loader's, WD_ERR_UNSUPPORTED (not a decoder, no tokenizer, a GGUF file),
 * WD_ERR_RANGE (the prompt does not fit the model), WD_ERR_ENCODING. */
wd_status wd_explain_ig(const char *model_dir, const char *text, size_t len, const wd_explain_params *params,
                        const wd_explain_ig_params *ig, wd_explanation **out);

/* ==== scoring a guard for explanations =================================== */

/* The user data of wd_explain_guard_scorer. */
typedef struct wd_explain_guard {
    wd_guard       *guard;    /* borrowed                                         */
    wd_check_params check;
    int             category; /* < 0: the verdict's overall score (wd_verdict_max_score);
                                 else that category's score (wd_verdict_score)     */
} wd_explain_guard;

/* A wd_eval_scorer over a guard (user: a wd_explain_guard *): one
 * wd_guard_check_batch per batch; score as the category field says,
 * flagged = wd_verdict_unsafe. No detail JSON. */
wd_status wd_explain_guard_scorer(void *user, const char *const *texts, const size_t *lens, size_t n,
                                  wd_eval_score *out);

/* ==== explanations in an evaluation ====================================== */

/* After wd_eval_run wrote out_dir: reads out_dir/results.jsonl, picks the
 * n_worst false negatives (harmful, not flagged; lowest score first) and the
 * n_worst false positives (benign, flagged; highest score first) of the
 * clean (untransformed) run, explains each with scorer, writes
 * out_dir/explanations.json ({"explanations":[{"key","label","kind":"fn"|"fp",
 * "explanation":{...}}]}) atomically and inserts an "Explanations" section
 * into out_dir/report.html (before its </main>; rewritten atomically).
 * *n_done (may be NULL) gets the number explained. */
wd_status wd_explain_eval_errors(const char *out_dir, size_t n_worst, wd_eval_scorer scorer, void *user,
                                 const wd_explain_params *params, size_t *n_done);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_EXPLAIN_H */
