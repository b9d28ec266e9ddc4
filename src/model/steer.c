/*
 * model/steer.c - what the decoder's forward pass lets a caller read and
 * change in the residual stream (warden/model.h "Taps, steering"):
 *
 *   taps      per context: the last row's residual stream at every layer
 *             entry (resid) and the column sums of squares of every linear
 *             layer's input (act_sq, Wanda's activation norms);
 *   steering  per model: activation addition at one layer's entry, and
 *             directional ablation x <- x - (x.r)r after the embedding and
 *             after every block.
 *
 * decoder.c calls the three wd__ functions below at fixed points of
 * layers(); each is a no-op when nothing is set, so the ordinary forward
 * pass pays one branch per call.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

void wd_context_set_taps(wd_context *ctx, wd_taps *taps) {
    if (ctx) ctx->taps = taps;
}

size_t wd_model_act_width(const wd_model *m) {
    if (!m || !wd__model_is_decoder(m)) return 0;
    return 2 * m->C + m->H * m->D + m->F;
}

size_t wd_model_n_layer(const wd_model *m) { return m ? m->L : 0; }

/* x (T,C) <- x - sum_k (x.r_k - to_k)r_k for orthonormal r_0..r_{k-1}
 * (K, C) and targets to (K; NULL: zeros). */
static void ablate_rows(float *x, const float *r, const float *to, size_t K, size_t T, size_t C) {
    for (size_t t = 0; t < T; t++) {
        float *row = x + t * C;
        for (size_t k = 0; k < K; k++) {
            const float *rk = r + k * C;
            double dot = 0.0;
            for (size_t c = 0; c < C; c++) dot += (double)row[c] * rk[c];
            float d = (float)dot - (to ? to[k] : 0.0f);
            for (size_t c = 0; c < C; c++) row[c] -= d * rk[c];
        }
    }
}

void wd__steer_layer_entry(wd_context *ctx, size_t l, float *x, size_t T) {
    const wd_model *m = ctx->m;
    size_t C = m->C;
    if (l == 0 && m->steer_ablate) ablate_rows(x, m->steer_ablate, m->steer_ablate_to, m->steer_n_ablate, T, C);
    if (m->steer_add && l == m->steer_layer) {
        float s = m->steer_scale;
        for (size_t t = 0; t < T; t++)
            for (size_t c = 0; c < C; c++) x[t * C + c] += s * m->steer_add[c];
    }
    if (ctx->taps && ctx->taps->resid)
        memcpy(ctx->taps->resid + l * C, x + (T - 1) * C, C * sizeof(float));
    if (ctx->taps && l == m->L) ctx->taps->n_rows += T;
}

void wd__steer_after_block(const wd_model *m, float *x, size_t T) {
    if (m->steer_ablate) ablate_rows(x, m->steer_ablate, m->steer_ablate_to, m->steer_n_ablate, T, m->C);
}

void wd__tap_act(wd_context *ctx, size_t l, size_t off, const float *in, size_t T, size_t n) {
    if (!ctx->taps || !ctx->taps->act_sq) return;
    double *acc = ctx->taps->act_sq + l * wd_model_act_width(ctx->m) + off;
    for (size_t t = 0; t < T; t++) {
        const float *row = in + t * n;
        for (size_t j = 0; j < n; j++) acc[j] += (double)row[j] * row[j];
    }
}

wd_status wd_model_set_steering(wd_model *m, const wd_steering *s) {
    if (!m) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_set_steering: NULL model");
    if (!wd__model_is_decoder(m))
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG, "steering: %s is an encoder",
                           m->cfg->model_type);
    size_t C = m->C;
    if (s && s->add && s->add_layer >= m->L)
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG,
                           "steering: layer %zu is outside the model's %zu layers", s->add_layer,
                           m->L);
    float *add = NULL, *abl = NULL;
    size_t K = s && s->ablate ? (s->n_ablate ? s->n_ablate : 1) : 0;
    if (K > C)
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG, "steering: %zu ablation directions in %zu dimensions", K, C);
    if (K) {
        /* Gram-Schmidt, in double: the rows span the ablated subspace */
        double *q = malloc(K * C * sizeof *q);
        if (!q || !(abl = malloc(K * C * sizeof *abl))) {
            free(q);
            return wd__err_set(&m->err, WD_ERR_NOMEM, "steering: out of memory");
        }
        for (size_t k = 0; k < K; k++) {
            double *qk = q + k * C;
            for (size_t c = 0; c < C; c++) qk[c] = s->ablate[k * C + c];
            for (int pass = 0; pass < 2; pass++)
                for (size_t j = 0; j < k; j++) {
                    double d = 0;
                    for (size_t c = 0; c < C; c++) d += qk[c] * q[j * C + c];
                    for (size_t c = 0; c < C; c++) qk[c] -= d * q[j * C + c];
                }
            double nn = 0;
            for (size_t c = 0; c < C; c++) nn += qk[c] * qk[c];
            if (!(nn > 1e-20) || !isfinite(nn)) {
                free(q), free(abl);
                return wd__err_set(&m->err, WD_ERR_INVALID_ARG,
                                   "steering: ablation direction %zu is zero, not finite or in the span of "
                                   "the ones before it", k);
            }
            for (size_t c = 0; c < C; c++) abl[k * C + c] = (float)(qk[c] / sqrt(nn)), qk[c] /= sqrt(nn);
        }
        free(q);
    }
    float *to = NULL;
    if (K && s->ablate_to) {
        if (!(to = malloc(K * sizeof *to))) {
            free(abl);
            return wd__err_set(&m->err, WD_ERR_NOMEM, "steering: out of memory");
        }
        memcpy(to, s->ablate_to, K * sizeof *to);
    }
    if (s && s->add) {
        if (!(add = malloc(C * sizeof *add))) {
            free(abl), free(to);
            return wd__err_set(&m->err, WD_ERR_NOMEM, "steering: out of memory");
        }
        memcpy(add, s->add, C * sizeof *add);
    }
    free(m->steer_add);
    free(m->steer_ablate);
    free(m->steer_ablate_to);
    m->steer_ablate_to = to;
    m->steer_add = add;
    m->steer_ablate = abl;
    m->steer_n_ablate = K;
    m->steer_scale = s ? s->add_scale : 0.0f;
    m->steer_layer = s ? s->add_layer : 0;
    return WD_OK;
}
