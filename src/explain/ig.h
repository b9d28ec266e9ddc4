/*
 * explain/ig.h - integrated gradients (Sundararajan, Taly & Yan 2017,
 * "Axiomatic Attribution for Deep Networks") for a decoder judge: how much
 * each token of the user's text moved the judge's answer.
 *
 * The judge is guard/judge.h's: the prompt head(R) + tokens(text) + tail(R)
 * and p(unsafe) = the softmax mass of the "unsafe" tokens at the position
 * after the prompt. Let x (n, C) be the input embeddings of the n text
 * tokens and x' the baseline (zeros, or one token's embedding repeated);
 * the head and tail keep their own embeddings throughout. With f the target
 * read from the answer position's logits z,
 *
 *     attribution_i = sum_c (x_ic - x'_ic) * integral_0^1 df/dx_ic (x' + a (x - x')) da
 *
 * and completeness (the theorem's axiom) says sum_i attribution_i =
 * f(x) - f(x'). The integral is a quadrature over `steps` nodes a_k with
 * weights w_k (sum 1); `delta` = sum_i attribution_i - (f(x) - f(x')) is
 * the quadrature error (Captum's "convergence delta") and shrinks as steps
 * grows.
 *
 * Targets (U = the "unsafe" token ids, N = every other token, LSE = log
 * sum exp over a set of logits):
 *     LOGODDS  f = LSE(z_U) - LSE(z_N) = log(p / (1 - p)), p = p(unsafe):
 *              the logit difference unsafe - safe with "safe" = every other
 *              answer; p = sigmoid(f), so f(x') + sum attributions is
 *              exactly the logit of the judge's score (the default);
 *     LOGP     f = LSE(z_U) - LSE(z) = log p;
 *     PROB     f = p, in the score's own units (saturates near 0 and 1).
 *
 * Quadrature rules over [0,1] with m = steps nodes:
 *     GAUSS_LEGENDRE  the m Legendre roots mapped to [0,1] (exact for
 *                     polynomials of degree 2m-1; Captum's default);
 *     MIDPOINT        a_k = (k + 1/2)/m, w_k = 1/m (Riemann midpoint);
 *     TRAPEZOID       a_k = k/(m-1), ends weighted half (m >= 2).
 *
 * An explainer keeps its decoder's activations: one thread at a time.
 *
 * Cost: `steps` forward+backward passes of the decoder over the whole
 * prompt (in batches of rows, one row per node) plus one forward over the
 * two end points; no parameter gradient is formed (train/tdec.h's
 * input_grad_only, every tensor frozen). The passes run on train/'s
 * float32 decoder, read from the model's safetensors folder (GGUF models
 * are refused).
 */
#ifndef WD_EXPLAIN_IG_H
#define WD_EXPLAIN_IG_H

#include <stddef.h>
#include <stdint.h>

#include "warden/guard.h"
#include "warden/model.h"
#include "warden/taxonomy.h"

typedef enum wd__ig_target {
    WD__IG_TARGET_LOGODDS = 0,
    WD__IG_TARGET_LOGP    = 1,
    WD__IG_TARGET_PROB    = 2,
} wd__ig_target;

typedef enum wd__ig_rule {
    WD__IG_RULE_GAUSS_LEGENDRE = 0,
    WD__IG_RULE_MIDPOINT       = 1,
    WD__IG_RULE_TRAPEZOID      = 2,
} wd__ig_rule;

typedef enum wd__ig_baseline {
    WD__IG_BASELINE_ZERO  = 0, /* zero embeddings                                   */
    WD__IG_BASELINE_PAD   = 1, /* the pad token's embedding (tokenizer, then config,
                                  then the unknown token; an error when none)       */
    WD__IG_BASELINE_TOKEN = 2, /* the embedding of baseline_id                      */
    WD__IG_BASELINE_AUTO  = 3, /* PAD when the model names such a token, else ZERO  */
} wd__ig_baseline;

typedef struct wd__ig_params {
    /* the judge's question (guard/judge.h): NULL = the Llama Guard 3 prompt
     * listing `categories` (0 = all 14), else a template with {text} */
    const char     *template_text;
    wd_catmask      categories;
    wd_role         role;        /* the text as the User message or the Agent reply */
    int             steps;       /* m >= 1 (>= 2 for TRAPEZOID); default 32 */
    wd__ig_rule     rule;        /* default GAUSS_LEGENDRE */
    wd__ig_target   target;      /* default LOGODDS */
    wd__ig_baseline baseline;    /* default ZERO */
    int32_t         baseline_id; /* BASELINE_TOKEN's token */
    /* rows per pass: 0 = as many (up to steps) as fit in max_bytes of
     * activations; the passes' sum does not depend on it */
    size_t          batch;
    size_t          max_bytes;   /* default 1 GiB */
    int             n_threads;   /* wd__ig_new's model: 0 = every CPU */
} wd__ig_params;

/* steps 32, Gauss-Legendre, log-odds, zero baseline, Llama Guard 3 prompt
 * over all hazards, WD_ROLE_INPUT, batch auto within 1 GiB. */
wd__ig_params wd__ig_params_default(void);

/* One token of the text. Offsets are the tokenizer's: spans may be empty
 * or overlap (a SentencePiece "\u2581" before a word shares its first
 * byte), so a unit of several tokens should take those whose start lies
 * inside it. */
typedef struct wd__ig_token {
    size_t  start, end;  /* byte offsets [start, end) into the text   */
    int32_t id;
    char   *piece;       /* the vocabulary's spelling ("\u2581How", "\u0120the"; owned) */
    double  attribution;
} wd__ig_token;

typedef struct wd__ig_result {
    wd__ig_token *tokens;   /* (n_tokens), in text order (owned) */
    size_t        n_tokens;
    double        value;       /* f(x)                                      */
    double        base_value;  /* f(x')                                     */
    double        delta;       /* sum attributions - (value - base_value)   */
    double        p_unsafe;    /* the judge's score at x and at x'          */
    double        p_unsafe_base;
    size_t        n_rows;      /* decoder rows run (forward+backward ones + 2) */
} wd__ig_result;

/* Frees what r owns and zeroes it; NULL is a no-op. */
void wd__ig_result_free(wd__ig_result *r);

typedef struct wd__ig wd__ig;

/* An explainer over the decoder judge in model_dir (config.json,
 * safetensors weights, tokenizer.json) asking p's question. Loads the model
 * and widens its weights to float32 (a second copy). Returns WD_OK and
 * *out (free with wd__ig_free), or with *out = NULL: the model loader's
 * error, WD_ERR_UNSUPPORTED (not a decoder, no tokenizer, a GGUF file, no
 * pad token for BASELINE_PAD), WD_ERR_INVALID_ARG (a bad parameter, named),
 * WD_ERR_FORMAT (a template without {text}), WD_ERR_NOMEM. */
wd_status wd__ig_new(const char *model_dir, const wd__ig_params *p, wd__ig **out);

/* The same over a loaded decoder m (borrowed: it must outlive the
 * explainer) without a judge: the target's "unsafe" set is unsafe[0..n)
 * (copied). Only wd__ig_explain_ids and wd__ig_path work on it (tests, and
 * callers that build their own prompts). */
wd_status wd__ig_new_model(const wd_model *m, const int32_t *unsafe, size_t n_unsafe,
                           const wd__ig_params *p, wd__ig **out);

/* Frees the explainer (and the model wd__ig_new loaded); NULL is a no-op. */
void wd__ig_free(wd__ig *ig);

/* Explains text[0..len) (UTF-8): its tokens (no special tokens added) are
 * placed between the prompt's head and tail, and each gets its attribution.
 * *out is overwritten (free with wd__ig_result_free; zeroed on failure).
 * Returns WD_OK, WD_ERR_ENCODING (not UTF-8), WD_ERR_RANGE (the prompt is
 * longer than the model's positions), WD_ERR_UNSUPPORTED (built by
 * wd__ig_new_model), WD_ERR_NOMEM. */
wd_status wd__ig_explain(wd__ig *ig, const char *text, size_t len, wd__ig_result *out);

/* Sums the token attributions of r into n_units units (words) given by
 * their byte spans [start[u], end[u]) in the same text: out (n_units) gets,
 * for each unit, the attributions of the tokens assigned to it. A token
 * goes to the unit its span overlaps most (the first on a tie; an empty
 * span counts as its first byte); one that overlaps none (a space, or
 * punctuation outside every unit) to the nearest unit in bytes, the later
 * one on a tie (a space joins the word after it, a comma the word before
 * it). Every token lands in one unit, so the units keep the tokens' sum
 * (and completeness). Nothing is written when n_units is 0. */
void wd__ig_group(const wd__ig_result *r, const size_t *start, const size_t *end, size_t n_units, double *out);

/* The prompt wd__ig_explain builds for text[0..len): *ids (malloc'd,
 * caller frees) holds head + the text's tokens + tail, T of them, the
 * text's at [*t0, *t1). Errors as wd__ig_explain's. */
wd_status wd__ig_prompt(wd__ig *ig, const char *text, size_t len, int32_t **ids, size_t *T, size_t *t0,
                        size_t *t1);

/* One explanation from scratch: wd__ig_new + wd__ig_explain + wd__ig_free
 * (loads the model each time; keep an explainer for more than one text). */
wd_status wd__ig_judge(const char *model_dir, const char *text, size_t len, const wd__ig_params *p,
                       wd__ig_result *out);

/* The core over token ids: ids (T) with the explained tokens at
 * [t0, t1), the answer read after ids[T-1]. attr (t1 - t0) gets the
 * attributions; value, base_value, delta, p_unsafe, p_unsafe_base and
 * n_rows of *res are set (its tokens are left alone). */
wd_status wd__ig_explain_ids(wd__ig *ig, const int32_t *ids, size_t T, size_t t0, size_t t1,
                             double *attr, wd__ig_result *res);

/* The target and its gradient along the path, n points at once: point r
 * has the explained tokens' input embeddings x' + alpha[r] (x - x') +
 * extra[r] (extra (n, t1-t0, C) or NULL), the rest of ids their own. f
 * (n) gets the target, p (n, may be NULL) p(unsafe), and grad (n, t1-t0,
 * C, may be NULL: forward only) df/d(those input embeddings). */
wd_status wd__ig_path(wd__ig *ig, const int32_t *ids, size_t T, size_t t0, size_t t1,
                      const double *alpha, size_t n, const float *extra, double *f, double *p,
                      float *grad);

/* The quadrature of rule with m nodes on [0,1]: alpha (m) ascending and
 * weights w (m) summing to 1. WD_ERR_INVALID_ARG when m < 1 (< 2 for the
 * trapezoid). */
wd_status wd__ig_nodes(wd__ig_rule rule, int m, double *alpha, double *w);

/* The embedding width C of the explainer's decoder (extra's and grad's last
 * dimension). */
size_t wd__ig_width(const wd__ig *ig);

/* Rows per pass as planned by the last call (0 before any). */
size_t wd__ig_batch(const wd__ig *ig);

/* Static names: "logodds", "logp", "prob"; "gauss-legendre", "midpoint",
 * "trapezoid"; "zero", "pad", "token". */
const char *wd__ig_target_str(wd__ig_target t);
const char *wd__ig_rule_str(wd__ig_rule r);
const char *wd__ig_baseline_str(wd__ig_baseline b);

#endif
