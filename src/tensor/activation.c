/*
 * tensor/activation.c - elementwise activations and their derivatives.
 *
 *     silu(x)      = x * sigmoid(x)                      (Elfwing et al. 2017)
 *     silu'(x)     = s * (1 + x * (1 - s)),  s = sigmoid(x)
 *     gelu(x)      = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))  (Hendrycks &
 *     gelu'(x)     = Phi(x) + x * phi(x)                        Gimpel 2016)
 *     gelu_tanh(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
 *     gelu_tanh'   = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
 *     swiglu(g, u) = silu(g) * u                             (Shazeer 2020)
 *
 * The fast kernels evaluate in float with the expressions torch uses (so the
 * outputs match torch to an ulp or two); the _ref twins evaluate in double.
 * Work is split over threads in contiguous chunks.
 */
#include <math.h>

#include "tensor/threads.h"

#define SQRT_2_OVER_PI 0.7978845608028654  /* sqrt(2/pi)   */
#define INV_SQRT_2PI   0.3989422804014327  /* 1/sqrt(2 pi) */
#define GELU_KAPPA     0.044715

typedef enum act_kind { ACT_SILU, ACT_GELU, ACT_GELU_TANH } act_kind;

typedef struct act_args {
    float *out, *dgate, *dup;
    const float *x, *dout, *up;
    size_t n;
    act_kind kind;
} act_args;

static inline float silu_f(float x) { return x / (1.0f + expf(-x)); }

static inline float dsilu_f(float x) {
    float s = 1.0f / (1.0f + expf(-x));
    return s * (1.0f + x * (1.0f - s));
}

static inline float gelu_f(float x) {
    return x * 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
}

static inline float dgelu_f(float x) {
    float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
    float pdf = (float)INV_SQRT_2PI * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

static inline float gelu_tanh_f(float x) {
    float u = (float)SQRT_2_OVER_PI * (x + (float)GELU_KAPPA * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
}

static inline float dgelu_tanh_f(float x) {
    float u = (float)SQRT_2_OVER_PI * (x + (float)GELU_KAPPA * x * x * x);
    float t = tanhf(u);
    float du = (float)SQRT_2_OVER_PI * (1.0f + 3.0f * (float)GELU_KAPPA * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

static void fwd_task(void *p, int ith, int nth) {
    const act_args *a = p;
    size_t i0, i1;
    wd__split(a->n, ith, nth, &i0, &i1);
    switch (a->kind) {
    case ACT_SILU:
        for (size_t i = i0; i < i1; i++) a->out[i] = silu_f(a->x[i]);
        break;
    case ACT_GELU:
        for (size_t i = i0; i < i1; i++) a->out[i] = gelu_f(a->x[i]);
        break;
    case ACT_GELU_TANH:
        for (size_t i = i0; i < i1; i++) a->out[i] = gelu_tanh_f(a->x[i]);
        break;
    }
}

static void bwd_task(void *p, int ith, int nth) {
    const act_args *a = p;
    size_t i0, i1;
    wd__split(a->n, ith, nth, &i0, &i1);
    switch (a->kind) {
    case ACT_SILU:
        for (size_t i = i0; i < i1; i++) a->out[i] += a->dout[i] * dsilu_f(a->x[i]);
        break;
    case ACT_GELU:
        for (size_t i = i0; i < i1; i++) a->out[i] += a->dout[i] * dgelu_f(a->x[i]);
        break;
    case ACT_GELU_TANH:
        for (size_t i = i0; i < i1; i++) a->out[i] += a->dout[i] * dgelu_tanh_f(a->x[i]);
        break;
    }
}

static void run_fwd(float *out, const float *x, size_t n, act_kind kind, wd_threadpool *tp) {
    act_args a = {.out = out, .x = x, .n = n, .kind = kind};
    wd__parallel_for(tp, fwd_task, &a, n * 8);
}

static void run_bwd(float *dx, const float *dout, const float *x, size_t n, act_kind kind,
                    wd_threadpool *tp) {
    act_args a = {.out = dx, .dout = dout, .x = x, .n = n, .kind = kind};
    wd__parallel_for(tp, bwd_task, &a, n * 8);
}

void wd_op_silu_fwd(float *out, const float *x, size_t n, wd_threadpool *tp) {
    // out (n), x (n)
    run_fwd(out, x, n, ACT_SILU, tp);
}
void wd_op_silu_bwd(float *dx, const float *dout, const float *x, size_t n, wd_threadpool *tp) {
    // dx (n) +=, dout (n), x (n)
    run_bwd(dx, dout, x, n, ACT_SILU, tp);
}
void wd_op_gelu_fwd(float *out, const float *x, size_t n, wd_threadpool *tp) {
    // out (n), x (n)
    run_fwd(out, x, n, ACT_GELU, tp);
}
void wd_op_gelu_bwd(float *dx, const float *dout, const float *x, size_t n, wd_threadpool *tp) {
    // dx (n) +=, dout (n), x (n)
    run_bwd(dx, dout, x, n, ACT_GELU, tp);
}
void wd_op_gelu_tanh_fwd(float *out, const float *x, size_t n, wd_threadpool *tp) {
    // out (n), x (n)
    run_fwd(out, x, n, ACT_GELU_TANH, tp);
}
void wd_op_gelu_tanh_bwd(float *dx, const float *dout, const float *x, size_t n,
                         wd_threadpool *tp) {
    // dx (n) +=, dout (n), x (n)
    run_bwd(dx, dout, x, n, ACT_GELU_TANH, tp);
}

/* ==== SwiGLU ============================================================= */

static void swiglu_fwd_task(void *p, int ith, int nth) {
    const act_args *a = p;
    size_t i0, i1;
    wd__split(a->n, ith, nth, &i0, &i1);
    for (size_t i = i0; i < i1; i++) a->out[i] = silu_f(a->x[i]) * a->up[i];
}

static void swiglu_bwd_task(void *p, int ith, int nth) {
    const act_args *a = p;
    size_t i0, i1;
    wd__split(a->n, ith, nth, &i0, &i1);
    for (size_t i = i0; i < i1; i++) {
        float g = a->x[i];
        if (a->dgate) a->dgate[i] += a->dout[i] * a->up[i] * dsilu_f(g);
        if (a->dup) a->dup[i] += a->dout[i] * silu_f(g);
    }
}

void wd_op_swiglu_fwd(float *out, const float *gate, const float *up, size_t n,
                      wd_threadpool *tp) {
    // out (n), gate (n), up (n)
    act_args a = {.out = out, .x = gate, .up = up, .n = n};
    wd__parallel_for(tp, swiglu_fwd_task, &a, n * 8);
}

void wd_op_swiglu_bwd(float *dgate, float *dup, const float *dout, const float *gate,
                      const float *up, size_t n, wd_threadpool *tp) {
    // dgate (n) +=, dup (n) +=, dout (n), gate (n), up (n)
    act_args a = {.dgate = dgate, .dup = dup, .dout = dout, .x = gate, .up = up, .n = n};
    wd__parallel_for(tp, swiglu_bwd_task, &a, n * 8);
}

/* ==== Naive twins, in double ============================================= */

static double silu_d(double x) { return x / (1.0 + exp(-x)); }
static double dsilu_d(double x) {
    double s = 1.0 / (1.0 + exp(-x));
    return s * (1.0 + x * (1.0 - s));
}

void wd_op_silu_fwd_ref(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)silu_d(x[i]);
}
void wd_op_silu_bwd_ref(float *dx, const float *dout, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] += (float)(dout[i] * dsilu_d(x[i]));
}
void wd_op_gelu_fwd_ref(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] * M_SQRT1_2)));
}
void wd_op_gelu_bwd_ref(float *dx, const float *dout, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double d = 0.5 * (1.0 + erf(v * M_SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
        dx[i] += (float)(dout[i] * d);
    }
}
void wd_op_gelu_tanh_fwd_ref(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        out[i] = (float)(0.5 * v * (1.0 + tanh(SQRT_2_OVER_PI * (v + GELU_KAPPA * v * v * v))));
    }
}
void wd_op_gelu_tanh_bwd_ref(float *dx, const float *dout, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double t = tanh(SQRT_2_OVER_PI * (v + GELU_KAPPA * v * v * v));
        double d = 0.5 * (1.0 + t) +
                   0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_KAPPA * v * v);
        dx[i] += (float)(dout[i] * d);
    }
}
void wd_op_swiglu_fwd_ref(float *out, const float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)(silu_d(gate[i]) * up[i]);
}
void wd_op_swiglu_bwd_ref(float *dgate, float *dup, const float *dout, const float *gate,
                          const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (dgate) dgate[i] += (float)((double)dout[i] * up[i] * dsilu_d(gate[i]));
        if (dup) dup[i] += (float)(dout[i] * silu_d(gate[i]));
    }
}
