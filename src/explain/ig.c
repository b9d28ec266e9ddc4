/*
 * explain/ig.c - integrated gradients for a decoder judge (see ig.h): the
 * quadrature nodes, the target and its gradient at the answer position,
 * the path through train/'s decoder, and the explainer object.
 *
 * One pass over the path, B rows at a time (one row per node), all rows the
 * same prompt ids:
 *
 *     ids  (B,T)      head | text tokens t0..t1 | tail
 *     delta (B,T,C)   0    | (a_r - 1)(x - x')  | 0       (+ extra)
 *     tdec forward (embeddings + delta)  ->  xnf (B,T,C)
 *     z (B,V) = xnf[:, T-1] lm_head^T ;  f_r, dz_r = df/dz  (double)
 *     dxnf[:, T-1] = dz lm_head, 0 elsewhere
 *     tdec backward (input_grad_only)  ->  df/d(input embeddings) (B,T,C)
 *
 * since embedding + (a - 1)(x - x') = x' + a (x - x') on the text. The
 * explainer sums w_k df/dx over the nodes in double, then dots each text
 * token's row with x - x'.
 *
 * Invariants: every decoder tensor is frozen and input_grad_only is set,
 * so the backward writes no parameter gradient; the decoder is planned for
 * (B, Tmax) and re-planned only when a prompt is longer than Tmax.
 */
#include "explain/ig.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guard/judge.h"
#include "train/tdec.h"
#include "warden/config.h"
#include "warden/tokenizer.h"

struct wd__ig {
    wd__ig_params p;
    wd__judge    *judge;   /* owned (with its model); NULL: wd__ig_new_model */
    const wd_model *m;
    wd__tdec      d;
    bool          d_init;
    int32_t      *unsafe;  /* (n_unsafe) */
    size_t        n_unsafe;
    uint8_t      *is_unsafe; /* (V) */
    float        *x0;      /* (C) the baseline embedding */
    /* work for B rows of up to Tmax tokens (d planned alike) */
    size_t   B, Tmax;
    int32_t *ids;          /* (B*Tmax)   */
    float   *delta, *gin, *dxnf; /* (B*Tmax, C) */
    float   *h, *dh;       /* (B, C)    answer rows, their gradient */
    float   *z;            /* (B, V)    logits, then df/dz          */
};

wd__ig_params wd__ig_params_default(void) {
    return (wd__ig_params){.template_text = NULL, .categories = 0, .role = WD_ROLE_INPUT, .steps = 32,
                           .rule = WD__IG_RULE_GAUSS_LEGENDRE, .target = WD__IG_TARGET_LOGODDS,
                           .baseline = WD__IG_BASELINE_ZERO, .baseline_id = -1, .batch = 0,
                           .max_bytes = (size_t)1 << 30, .n_threads = 0};
}

const char *wd__ig_target_str(wd__ig_target t) {
    switch (t) {
    case WD__IG_TARGET_LOGODDS: return "logodds";
    case WD__IG_TARGET_LOGP: return "logp";
    case WD__IG_TARGET_PROB: return "prob";
    }
    return "?";
}

const char *wd__ig_rule_str(wd__ig_rule r) {
    switch (r) {
    case WD__IG_RULE_GAUSS_LEGENDRE: return "gauss-legendre";
    case WD__IG_RULE_MIDPOINT: return "midpoint";
    case WD__IG_RULE_TRAPEZOID: return "trapezoid";
    }
    return "?";
}

const char *wd__ig_baseline_str(wd__ig_baseline b) {
    switch (b) {
    case WD__IG_BASELINE_ZERO: return "zero";
    case WD__IG_BASELINE_PAD: return "pad";
    case WD__IG_BASELINE_TOKEN: return "token";
    case WD__IG_BASELINE_AUTO: return "auto";
    }
    return "?";
}

void wd__ig_result_free(wd__ig_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_tokens; i++) free(r->tokens[i].piece);
    free(r->tokens);
    memset(r, 0, sizeof *r);
}

size_t wd__ig_width(const wd__ig *ig) { return ig->d.C; }

size_t wd__ig_batch(const wd__ig *ig) { return ig->B; }

/* ==== quadrature ========================================================== */

/* Legendre P_m(x) and its derivative by the three-term recurrence. */
static void legendre(int m, double x, double *p, double *dp) {
    double p0 = 1.0, p1 = x;
    for (int k = 2; k <= m; k++) {
        double pk = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1, p1 = pk;
    }
    if (m == 0) p1 = 1.0, p0 = 0.0;
    *p = p1;
    *dp = m * (x * p1 - p0) / (x * x - 1.0);
}

wd_status wd__ig_nodes(wd__ig_rule rule, int m, double *alpha, double *w) {
    if (m < 1 || (rule == WD__IG_RULE_TRAPEZOID && m < 2))
        return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: steps %d is too few for the %s rule", m,
                        wd__ig_rule_str(rule));
    switch (rule) {
    case WD__IG_RULE_GAUSS_LEGENDRE:
        /* roots of P_m by Newton from Tricomi's estimate; node i (descending
         * in x) maps to alpha = (1 - x)/2, ascending */
        for (int i = 0; i < (m + 1) / 2; i++) {
            double x = cos(M_PI * (i + 0.75) / (m + 0.5)), p = 0, dp = 1;
            for (int it = 0; it < 100; it++) {
                legendre(m, x, &p, &dp);
                double dx = p / dp;
                x -= dx;
                if (fabs(dx) < 1e-16) break;
            }
            legendre(m, x, &p, &dp);
            double wi = 1.0 / ((1.0 - x * x) * dp * dp); /* 2/(...) halved for [0,1] */
            alpha[i] = (1.0 - x) / 2.0, w[i] = wi;
            alpha[m - 1 - i] = (1.0 + x) / 2.0, w[m - 1 - i] = wi;
        }
        if (m % 2) alpha[m / 2] = 0.5; /* the middle root is x = 0 exactly */
        break;
    case WD__IG_RULE_MIDPOINT:
        for (int k = 0; k < m; k++) alpha[k] = (k + 0.5) / m, w[k] = 1.0 / m;
        break;
    case WD__IG_RULE_TRAPEZOID:
        for (int k = 0; k < m; k++) alpha[k] = (double)k / (m - 1), w[k] = 1.0 / (m - 1);
        w[0] = w[m - 1] = 0.5 / (m - 1);
        break;
    default:
        return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: unknown rule %d", (int)rule);
    }
    return WD_OK;
}

/* ==== the target ========================================================== */

/* f for the logits z (V) and, when dz != NULL, df/dz into dz (V); *pu
 * gets p(unsafe). Log-sum-exps over U and N each from their own maximum,
 * so neither side underflows to log 0. */
static double target(wd__ig_target t, const float *z, size_t V, const uint8_t *is_u, float *dz,
                     double *pu) {
    double mu = -INFINITY, mn = -INFINITY;
    for (size_t v = 0; v < V; v++) {
        if (is_u[v]) mu = z[v] > mu ? z[v] : mu;
        else mn = z[v] > mn ? z[v] : mn;
    }
    double su = 0.0, sn = 0.0;
    for (size_t v = 0; v < V; v++) {
        if (is_u[v]) su += exp(z[v] - mu);
        else sn += exp(z[v] - mn);
    }
    double lu = mu + log(su), ln = mn + log(sn); /* LSE(z_U), LSE(z_N) */
    double lz = lu > ln ? lu + log1p(exp(ln - lu)) : ln + log1p(exp(lu - ln));
    double p = exp(lu - lz), f;
    *pu = p;
    switch (t) {
    case WD__IG_TARGET_LOGP: f = lu - lz; break;
    case WD__IG_TARGET_PROB: f = p; break;
    default: f = lu - ln; break;
    }
    if (!dz) return f;
    for (size_t v = 0; v < V; v++) {
        double q = exp(z[v] - (is_u[v] ? lu : ln)); /* softmax within v's side */
        double pv = exp(z[v] - lz);                 /* softmax over all */
        double g;
        switch (t) {
        case WD__IG_TARGET_LOGP: g = (is_u[v] ? q : 0.0) - pv; break;
        case WD__IG_TARGET_PROB: g = pv * ((is_u[v] ? 1.0 : 0.0) - p); break;
        default: g = is_u[v] ? q : -q; break;
        }
        dz[v] = (float)g;
    }
    return f;
}

/* ==== the explainer ======================================================= */

static void work_free(wd__ig *ig) {
    free(ig->ids), free(ig->delta), free(ig->gin), free(ig->dxnf), free(ig->h), free(ig->dh), free(ig->z);
    ig->ids = NULL, ig->delta = ig->gin = ig->dxnf = ig->h = ig->dh = ig->z = NULL;
    ig->B = ig->Tmax = 0;
}

void wd__ig_free(wd__ig *ig) {
    if (!ig) return;
    work_free(ig);
    if (ig->d_init) wd__tdec_free(&ig->d);
    wd__judge_free(ig->judge);
    free(ig->unsafe);
    free(ig->is_unsafe);
    free(ig->x0);
    free(ig);
}

/* Bytes of activations and work one row of T tokens takes (tdec's plan
 * without checkpointing, its logits left out: they are never touched). */
static size_t row_bytes(const wd__tdec *d, size_t T) {
    size_t C = d->C, HD = d->H * d->D, KD = d->KV * d->D, F = d->F;
    size_t per_layer = T * (5 * C + 2 * HD + 2 * KD + 3 * F + 2) + d->H * T * T;
    size_t floats = d->L * per_layer + T * (5 * C + 1) + T * (3 * C + 3 * HD + 3 * KD + 3 * F) +
                    3 * T * C + 2 * C + d->V;
    return floats * sizeof(float) + T * sizeof(int32_t);
}

/* Plans the decoder and the work for prompts of T tokens. */
static wd_status ensure(wd__ig *ig, size_t T) {
    if (T <= ig->Tmax) return WD_OK;
    size_t Tmax = (T + 31) / 32 * 32, steps = (size_t)ig->p.steps;
    size_t B = ig->p.batch;
    if (B == 0) {
        size_t per = row_bytes(&ig->d, Tmax);
        B = ig->p.max_bytes / (per ? per : 1);
    }
    if (B > steps) B = steps;
    if (B < 2) B = 2; /* the two end points go in one pass */
    work_free(ig);
    size_t C = ig->d.C, V = ig->d.V, N = B * Tmax;
    wd_status st = wd__tdec_plan(&ig->d, B, Tmax, false);
    if (st) return wd__fail(st, "integrated gradients: %s", wd__err_msg(&ig->d.err));
    ig->ids = malloc(N * sizeof *ig->ids);
    ig->delta = malloc(N * C * sizeof(float));
    ig->gin = malloc(N * C * sizeof(float));
    ig->dxnf = calloc(N * C, sizeof(float));
    ig->h = malloc(B * C * sizeof(float));
    ig->dh = malloc(B * C * sizeof(float));
    ig->z = malloc(B * V * sizeof(float));
    if (!ig->ids || !ig->delta || !ig->gin || !ig->dxnf || !ig->h || !ig->dh || !ig->z) {
        work_free(ig);
        return wd__fail(WD_ERR_NOMEM, "integrated gradients: out of memory for %zu rows of %zu tokens", B,
                        Tmax);
    }
    ig->B = B, ig->Tmax = Tmax;
    return WD_OK;
}

/* The decoder over m, frozen, gradients to the inputs only; the "unsafe"
 * set; the baseline row. */
static wd_status setup(wd__ig *ig, const wd_model *m, const int32_t *unsafe, size_t n_unsafe) {
    const wd__ig_params *p = &ig->p;
    if (p->steps < 1 || (p->rule == WD__IG_RULE_TRAPEZOID && p->steps < 2) || p->steps > 1 << 16)
        return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: steps %d: expected 1..65536 (2.. for the "
                        "trapezoid rule)", p->steps);
    if ((unsigned)p->target > WD__IG_TARGET_PROB || (unsigned)p->rule > WD__IG_RULE_TRAPEZOID ||
        (unsigned)p->baseline > WD__IG_BASELINE_AUTO)
        return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: unknown target, rule or baseline");
    ig->m = m;
    wd_status st = wd__tdec_init(&ig->d, m);
    ig->d_init = true;
    if (st) return wd__fail(st, "integrated gradients: %s", wd__err_msg(&ig->d.err));
    for (size_t i = 0; i < ig->d.P.n; i++) ig->d.P.t[i]->trainable = false;
    ig->d.input_grad_only = true;
    size_t V = ig->d.V, C = ig->d.C;
    ig->unsafe = malloc((n_unsafe ? n_unsafe : 1) * sizeof *ig->unsafe);
    ig->is_unsafe = calloc(V, 1);
    ig->x0 = calloc(C, sizeof *ig->x0);
    if (!ig->unsafe || !ig->is_unsafe || !ig->x0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t nu = 0;
    for (size_t i = 0; i < n_unsafe; i++) {
        if (unsafe[i] < 0 || (size_t)unsafe[i] >= V)
            return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: unsafe token %d is outside [0, %zu)",
                            unsafe[i], V);
        if (!ig->is_unsafe[unsafe[i]]) ig->unsafe[nu++] = unsafe[i];
        ig->is_unsafe[unsafe[i]] = 1;
    }
    ig->n_unsafe = nu;
    if (nu == 0 || nu == V)
        return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: the unsafe tokens must be some but not all "
                        "of the vocabulary (%zu of %zu)", nu, V);
    int64_t b = -1;
    if (p->baseline == WD__IG_BASELINE_TOKEN) {
        b = p->baseline_id;
        if (b < 0 || (size_t)b >= V)
            return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: baseline_id %d is outside [0, %zu)",
                            p->baseline_id, V);
    } else if (p->baseline == WD__IG_BASELINE_PAD || p->baseline == WD__IG_BASELINE_AUTO) {
        const wd_tokenizer *tok = wd_model_tokenizer(m);
        if (tok) b = wd_tokenizer_special_id(tok, WD_SPECIAL_TOKEN_PAD);
        if (b < 0) b = wd_model_config_pad_token_id(wd_model_get_config(m));
        if (b < 0 && tok) b = wd_tokenizer_special_id(tok, WD_SPECIAL_TOKEN_UNK);
        if ((b < 0 || (size_t)b >= V) && p->baseline == WD__IG_BASELINE_AUTO) b = -1; /* zeros */
        else if (b < 0 || (size_t)b >= V)
            return wd__fail(WD_ERR_UNSUPPORTED, "integrated gradients: the model names no pad or unknown "
                            "token for the pad baseline (use the zero baseline or a token id)");
    }
    if (b >= 0) memcpy(ig->x0, ig->d.embd->w + (size_t)b * C, C * sizeof(float));
    return WD_OK;
}

wd_status wd__ig_new_model(const wd_model *m, const int32_t *unsafe, size_t n_unsafe, const wd__ig_params *p,
                           wd__ig **out) {
    *out = NULL;
    wd__ig *ig = calloc(1, sizeof *ig);
    if (!ig) return wd__fail(WD_ERR_NOMEM, "out of memory");
    ig->p = p ? *p : wd__ig_params_default();
    wd_status st = setup(ig, m, unsafe, n_unsafe);
    if (st) {
        wd__ig_free(ig);
        return st;
    }
    *out = ig;
    return WD_OK;
}

wd_status wd__ig_new(const char *model_dir, const wd__ig_params *p, wd__ig **out) {
    *out = NULL;
    if (!model_dir) return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: no model folder");
    wd__ig *ig = calloc(1, sizeof *ig);
    if (!ig) return wd__fail(WD_ERR_NOMEM, "out of memory");
    ig->p = p ? *p : wd__ig_params_default();
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = ig->p.n_threads;
    wd_model *m = NULL;
    wd_status st = wd_model_load(model_dir, &mp, &m);
    if (!st && (wd_model_config_family(wd_model_get_config(m)) != WD_MODEL_FAMILY_DECODER ||
                !wd_model_tokenizer(m)))
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s: integrated gradients need a decoder judge with tokenizer.json",
                      model_dir);
    if (!st && (st = wd__judge_new(m, ig->p.template_text, ig->p.categories, &ig->judge)))
        wd__err_prefix(st, "%s", model_dir);
    if (st) {
        if (!ig->judge) wd_model_free(m);
        wd__ig_free(ig);
        return st;
    }
    if ((st = setup(ig, ig->judge->m, ig->judge->unsafe, ig->judge->n_unsafe))) {
        wd__err_prefix(st, "%s", model_dir);
        wd__ig_free(ig);
        return st;
    }
    *out = ig;
    return WD_OK;
}

/* ==== the path ============================================================ */

wd_status wd__ig_path(wd__ig *ig, const int32_t *ids, size_t T, size_t t0, size_t t1, const double *alpha,
                      size_t n, const float *extra, double *f, double *p, float *grad) {
    if (T == 0 || t0 > t1 || t1 > T)
        return wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: tokens [%zu, %zu) outside a prompt of %zu",
                        t0, t1, T);
    size_t n_pos = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(ig->m));
    if (T > n_pos)
        return wd__fail(WD_ERR_RANGE, "integrated gradients: the prompt has %zu tokens, more than the judge's "
                        "%zu positions", T, n_pos);
    for (size_t t = 0; t < T; t++)
        if (ids[t] < 0 || (size_t)ids[t] >= ig->d.V)
            return wd__fail(WD_ERR_RANGE, "integrated gradients: token id %d is outside [0, %zu)", ids[t],
                            ig->d.V);
    wd_status st = ensure(ig, T);
    if (st) return st;
    wd__tdec *d = &ig->d;
    size_t C = d->C, V = d->V, nt = t1 - t0;
    for (size_t r0 = 0; r0 < n; r0 += ig->B) {
        size_t B = n - r0 < ig->B ? n - r0 : ig->B;
        memset(ig->delta, 0, B * T * C * sizeof(float));
        for (size_t b = 0; b < B; b++) {
            memcpy(ig->ids + b * T, ids, T * sizeof *ids);
            float s = (float)(alpha[r0 + b] - 1.0);
            for (size_t i = 0; i < nt; i++) {
                const float *x = d->embd->w + (size_t)ids[t0 + i] * C;
                const float *e = extra ? extra + ((r0 + b) * nt + i) * C : NULL;
                float *o = ig->delta + (b * T + t0 + i) * C;
                for (size_t c = 0; c < C; c++) o[c] = s * (x[c] - ig->x0[c]) + (e ? e[c] : 0.0f);
            }
        }
        if ((st = wd__tdec_forward(d, ig->ids, B, T, ig->delta)))
            return wd__fail(st, "integrated gradients: %s", wd__err_msg(&d->err));
        for (size_t b = 0; b < B; b++) memcpy(ig->h + b * C, d->xnf + (b * T + T - 1) * C, C * sizeof(float));
        wd_op_matmul_fwd(ig->z, ig->h, d->lm_head->w, NULL, B, C, V);
        for (size_t b = 0; b < B; b++) {
            double pu;
            f[r0 + b] = target(ig->p.target, ig->z + b * V, V, ig->is_unsafe, grad ? ig->z + b * V : NULL, &pu);
            if (p) p[r0 + b] = pu;
        }
        if (!grad) continue;
        /* dxnf: the answer rows' gradient, zero elsewhere (kept zero between passes) */
        memset(ig->dh, 0, B * C * sizeof(float));
        wd_op_matmul_bwd(ig->dh, NULL, NULL, ig->z, ig->h, d->lm_head->w, B, C, V);
        for (size_t b = 0; b < B; b++) memcpy(ig->dxnf + (b * T + T - 1) * C, ig->dh + b * C, C * sizeof(float));
        st = wd__tdec_backward_hidden(d, ig->dxnf, ig->gin);
        for (size_t b = 0; b < B; b++) memset(ig->dxnf + (b * T + T - 1) * C, 0, C * sizeof(float));
        if (st) return wd__fail(st, "integrated gradients: %s", wd__err_msg(&d->err));
        for (size_t b = 0; b < B; b++)
            memcpy(grad + (r0 + b) * nt * C, ig->gin + (b * T + t0) * C, nt * C * sizeof(float));
    }
    return WD_OK;
}

/* ==== explaining ========================================================== */

wd_status wd__ig_explain_ids(wd__ig *ig, const int32_t *ids, size_t T, size_t t0, size_t t1, double *attr,
                             wd__ig_result *res) {
    size_t C = ig->d.C, nt = t1 > t0 ? t1 - t0 : 0, m = (size_t)ig->p.steps;
    double ends[2] = {1.0, 0.0}, fe[2], pe[2];
    wd_status st = wd__ig_path(ig, ids, T, t0, t1, ends, 2, NULL, fe, pe, NULL);
    if (st) return st;
    res->value = fe[0], res->base_value = fe[1];
    res->p_unsafe = pe[0], res->p_unsafe_base = pe[1];
    res->n_rows = 2;
    res->delta = 0.0;
    if (nt == 0) return WD_OK;
    double *alpha = malloc(m * sizeof *alpha), *w = malloc(m * sizeof *w), *fk = malloc(ig->B * sizeof *fk);
    double *gbar = calloc(nt * C, sizeof *gbar);
    float *g = malloc(ig->B * nt * C * sizeof *g);
    if (!alpha || !w || !fk || !gbar || !g) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!st) st = wd__ig_nodes(ig->p.rule, (int)m, alpha, w);
    /* B nodes per pass; the mean gradient sum_k w_k g_k in double */
    for (size_t k0 = 0; !st && k0 < m; k0 += ig->B) {
        size_t B = m - k0 < ig->B ? m - k0 : ig->B;
        if ((st = wd__ig_path(ig, ids, T, t0, t1, alpha + k0, B, NULL, fk, NULL, g))) break;
        for (size_t b = 0; b < B; b++)
            for (size_t j = 0; j < nt * C; j++) gbar[j] += w[k0 + b] * g[b * nt * C + j];
        res->n_rows += B;
    }
    if (!st) {
        double sum = 0.0;
        for (size_t i = 0; i < nt; i++) {
            const float *x = ig->d.embd->w + (size_t)ids[t0 + i] * C;
            double a = 0.0;
            for (size_t c = 0; c < C; c++) a += ((double)x[c] - ig->x0[c]) * gbar[i * C + c];
            attr[i] = a;
            sum += a;
        }
        res->delta = sum - (res->value - res->base_value);
    }
    free(alpha), free(w), free(fk), free(gbar), free(g);
    return st;
}

/* The text's tokens (no special tokens added) into *enc and the prompt
 * head + tokens + tail into *ids (malloc'd, T ids, the text at [t0, t1)). */
static wd_status prompt(wd__ig *ig, const char *text, size_t len, wd_encoding **enc, int32_t **ids, size_t *T,
                        size_t *t0, size_t *t1) {
    *enc = NULL, *ids = NULL;
    if (!ig->judge)
        return wd__fail(WD_ERR_UNSUPPORTED, "integrated gradients: this explainer has no judge (built over "
                        "token ids)");
    const wd__judge *j = ig->judge;
    int r = ig->p.role == WD_ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_status st = wd_tokenizer_encode(j->tok, text, len, &ep, enc);
    if (st) return wd__err_prefix(st, "integrated gradients: the text");
    size_t nt = wd_encoding_len(*enc), nh = j->n_head[r];
    *T = nh + nt + j->n_tail[r], *t0 = nh, *t1 = nh + nt;
    if (*T == 0) st = wd__fail(WD_ERR_INVALID_ARG, "integrated gradients: an empty prompt");
    else if (!(*ids = malloc(*T * sizeof **ids))) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (st) {
        wd_encoding_free(*enc);
        *enc = NULL;
        return st;
    }
    memcpy(*ids, j->head[r], nh * sizeof **ids);
    if (nt) memcpy(*ids + nh, wd_encoding_ids(*enc), nt * sizeof **ids);
    memcpy(*ids + nh + nt, j->tail[r], j->n_tail[r] * sizeof **ids);
    return WD_OK;
}

wd_status wd__ig_prompt(wd__ig *ig, const char *text, size_t len, int32_t **ids, size_t *T, size_t *t0,
                        size_t *t1) {
    wd_encoding *enc = NULL;
    wd_status st = prompt(ig, text, len, &enc, ids, T, t0, t1);
    wd_encoding_free(enc);
    return st;
}

wd_status wd__ig_explain(wd__ig *ig, const char *text, size_t len, wd__ig_result *out) {
    memset(out, 0, sizeof *out);
    wd_encoding *enc = NULL;
    int32_t *ids = NULL;
    size_t T = 0, t0 = 0, t1 = 0;
    wd_status st = prompt(ig, text, len, &enc, &ids, &T, &t0, &t1);
    if (st) return st;
    size_t nt = t1 - t0;
    double *attr = malloc((nt ? nt : 1) * sizeof *attr);
    out->tokens = calloc(nt ? nt : 1, sizeof *out->tokens);
    if (!attr || !out->tokens) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!st) st = wd__ig_explain_ids(ig, ids, T, t0, t1, attr, out);
    const wd_offset *off = wd_encoding_offsets(enc);
    wd_decode_params dp = wd_decode_params_default();
    for (size_t i = 0; !st && i < nt; i++) {
        wd__ig_token *tk = &out->tokens[i];
        tk->start = off[i].start, tk->end = off[i].end;
        tk->id = ids[t0 + i];
        tk->attribution = attr[i];
        out->n_tokens = i + 1;
        const char *v = wd_tokenizer_id_to_token(ig->judge->tok, tk->id);
        if (v ? !(tk->piece = strdup(v)) : wd_tokenizer_decode(ig->judge->tok, &tk->id, 1, &dp, &tk->piece, NULL) != WD_OK)
            st = wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    free(ids);
    free(attr);
    wd_encoding_free(enc);
    if (st) wd__ig_result_free(out);
    return st;
}

void wd__ig_group(const wd__ig_result *r, const size_t *start, const size_t *end, size_t n_units, double *out) {
    if (n_units == 0) return;
    memset(out, 0, n_units * sizeof *out);
    for (size_t i = 0; i < r->n_tokens; i++) {
        size_t s = r->tokens[i].start, e = r->tokens[i].end > s ? r->tokens[i].end : s + 1;
        size_t best = 0, best_ov = 0, near = 0, near_d = SIZE_MAX;
        for (size_t u = 0; u < n_units; u++) {
            size_t lo = s > start[u] ? s : start[u], hi = e < end[u] ? e : end[u];
            if (hi > lo) {
                if (hi - lo > best_ov) best = u, best_ov = hi - lo;
                continue;
            }
            size_t dist = e <= start[u] ? start[u] - e : s - end[u];
            if (dist <= near_d) near = u, near_d = dist; /* a tie: the later unit */
        }
        out[best_ov ? best : near] += r->tokens[i].attribution;
    }
}

wd_status wd__ig_judge(const char *model_dir, const char *text, size_t len, const wd__ig_params *p,
                       wd__ig_result *out) {
    memset(out, 0, sizeof *out);
    wd__ig *ig = NULL;
    wd_status st = wd__ig_new(model_dir, p, &ig);
    if (!st) st = wd__ig_explain(ig, text, len, out);
    wd__ig_free(ig);
    return st;
}
