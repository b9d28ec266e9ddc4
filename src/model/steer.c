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

/* x (T,C) <- x - (x.r)r for a unit r. */
static void ablate_rows(float *x, const float *r, size_t T, size_t C) {
    for (size_t t = 0; t < T; t++) {
        float *row = x + t * C;
        double dot = 0.0;
        for (size_t c = 0; c < C; c++) dot += (double)row[c] * r[c];
        float d = (float)dot;
        for (size_t c = 0; c < C; c++) row[c] -= d * r[c];
    }
}

void wd__steer_layer_entry(wd_context *ctx, size_t l, float *x, size_t T) {
    const wd_model *m = ctx->m;
    size_t C = m->C;
    if (l == 0 && m->steer_ablate) ablate_rows(x, m->steer_ablate, T, C);
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
    if (m->steer_ablate) ablate_rows(x, m->steer_ablate, T, m->C);
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
    if (s && s->ablate) {
        double nn = 0.0;
        for (size_t c = 0; c < C; c++) nn += (double)s->ablate[c] * s->ablate[c];
        if (!(nn > 0.0) || !isfinite(nn))
            return wd__err_set(&m->err, WD_ERR_INVALID_ARG,
                               "steering: the ablation direction is zero or not finite");
        if (!(abl = malloc(C * sizeof *abl))) return WD_ERR_NOMEM;
        float inv = (float)(1.0 / sqrt(nn));
        for (size_t c = 0; c < C; c++) abl[c] = s->ablate[c] * inv;
    }
    if (s && s->add) {
        if (!(add = malloc(C * sizeof *add))) {
            free(abl);
            return WD_ERR_NOMEM;
        }
        memcpy(add, s->add, C * sizeof *add);
    }
    free(m->steer_add);
    free(m->steer_ablate);
    m->steer_add = add;
    m->steer_ablate = abl;
    m->steer_scale = s ? s->add_scale : 0.0f;
    m->steer_layer = s ? s->add_layer : 0;
    return WD_OK;
}
