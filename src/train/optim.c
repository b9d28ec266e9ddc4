/*
 * train/optim.c - AdamW, the learning-rate schedules and gradient clipping
 * (train/optim.h).
 *
 * AdamW follows Loshchilov and Hutter (2019) as torch.optim.AdamW computes
 * it (the single-tensor path): the weight decay multiplies the parameter
 * before, and apart from, the Adam update, so it is not scaled by the
 * adaptive denominator. The float rounding follows torch 1.13's CPU
 * kernels operation for operation, so a committed torch trajectory
 * (tests/tools/adamw_reference.py) is matched bit for bit on this machine
 * (the test allows a few ulps for other builds of torch).
 */
#include "train/optim.h"

#include <math.h>

wd__adamw_params wd__adamw_params_default(void) {
    wd__adamw_params a = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0};
    return a;
}

void wd__adamw_step(float *p, float *m, float *v, const float *g, size_t n, const wd__adamw_params *a, double lr,
                    uint64_t t, bool decay) {
    // p, m, v, g (n)
    const double bc1 = 1.0 - pow(a->beta1, (double)t);
    const double bc2 = 1.0 - pow(a->beta2, (double)t);
    const float keep = (float)(1.0 - lr * a->weight_decay);
    const float b1 = (float)a->beta1, c1 = (float)(1.0 - a->beta1);
    const float b2 = (float)a->beta2, c2 = (float)(1.0 - a->beta2);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float eps = (float)a->eps;
    const float step_size = (float)(-(lr / bc1));
    const bool do_decay = decay && a->weight_decay != 0.0;
    for (size_t i = 0; i < n; i++) {
        float pi = p[i];
        if (do_decay) pi *= keep;
        float gi = g[i];
        /* torch's vectorised CPU kernels: add_(alpha) and addcmul_ are one
         * fused multiply-add, addcdiv_ multiplies before it divides */
        float mi = fmaf(gi, c1, m[i] * b1);
        float vi = fmaf(c2 * gi, gi, v[i] * b2);
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = pi + (step_size * mi) / denom;
        m[i] = mi;
        v[i] = vi;
    }
}

double wd__lr_at(const wd__lr_schedule *s, uint64_t step) {
    const uint64_t w = s->warmup_steps;
    if (step < w) return s->lr * (double)(step + 1) / (double)w;
    if (s->kind == WD__LR_KIND_CONSTANT) return s->lr;
    const uint64_t span = s->total_steps > w ? s->total_steps - w : 1;
    double p = (double)(step - w) / (double)span;
    if (p > 1.0) p = 1.0;
    const double f = s->min_lr_ratio;
    const double shape = s->kind == WD__LR_KIND_LINEAR ? 1.0 - p : 0.5 * (1.0 + cos(M_PI * p));
    return s->lr * (f + (1.0 - f) * shape);
}

double wd__grad_sumsq(const float *g, size_t n) {
    // g (n); four double lanes so the loop vectorises without reassociation
    double acc[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) acc[k] += (double)g[i + k] * (double)g[i + k];
    for (; i < n; i++) acc[0] += (double)g[i] * (double)g[i];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

void wd__grad_scale(float *g, size_t n, float s) {
    for (size_t i = 0; i < n; i++) g[i] *= s;
}

float wd__clip_coef(double norm, double max_norm) {
    if (!isfinite(norm)) return 1.0f;
    const double c = max_norm / (norm + 1e-6);
    return c < 1.0 ? (float)c : 1.0f;
}

double wd__clip_grad_norm(float *g, size_t n, double max_norm) {
    const double norm = sqrt(wd__grad_sumsq(g, n));
    const float c = wd__clip_coef(norm, max_norm);
    if (c < 1.0f) wd__grad_scale(g, n, c);
    return norm;
}
