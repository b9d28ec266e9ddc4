/*
 * tensor/softmax.c - softmax over the last axis, plain and causal.
 *
 *     p_c = exp(x_c - max) / sum_j exp(x_j - max)
 *
 * Subtracting the row max keeps exp() from overflowing; the sum is kept in
 * double. The causal variant is for attention scores whose queries are the
 * last T of C key positions (with a KV cache holding C - T earlier tokens):
 *
 *          keys 0 . . . . . C-1
 *     t=0  x x x x x . . .         row t sees keys 0 .. C-T+t
 *     t=1  x x x x x x . .         the rest get probability 0
 *     ...
 *
 * Backward (the Jacobian of softmax times dprobs):
 *
 *     dx_c += p_c * (dp_c - sum_j p_j dp_j)
 *
 * Masked entries have p = 0, so the same backward serves both.
 */
#include <math.h>

#include "tensor/threads.h"

typedef struct sm_args {
    float *probs, *dx;
    const float *x, *dprobs, *probs_in;
    size_t N, T, C; /* causal rows are N = B*T, row n is query t = n % T */
    int causal;
} sm_args;

/* Softmax of x[0..len) into p[0..len), zeros in p[len..C). */
static void softmax_row(float *p, const float *x, size_t len, size_t C) {
    float mx = -INFINITY;
    for (size_t c = 0; c < len; c++) mx = x[c] > mx ? x[c] : mx;
    if (mx == -INFINITY) { /* nothing to attend to (or an all -inf row) */
        for (size_t c = 0; c < C; c++) p[c] = 0.0f;
        return;
    }
    double s = 0.0;
    for (size_t c = 0; c < len; c++) {
        float e = expf(x[c] - mx);
        p[c] = e;
        s += e;
    }
    float inv = (float)(1.0 / s);
    for (size_t c = 0; c < len; c++) p[c] *= inv;
    for (size_t c = len; c < C; c++) p[c] = 0.0f;
}

static void fwd_task(void *p, int ith, int nth) {
    const sm_args *a = p;
    size_t n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        size_t len = a->causal ? a->C - a->T + n % a->T + 1 : a->C;
        softmax_row(a->probs + n * a->C, a->x + n * a->C, len, a->C);
    }
}

void wd_op_softmax_fwd(float *probs, const float *x, size_t N, size_t C, wd_threadpool *tp) {
    // probs (N,C), x (N,C)
    sm_args a = {.probs = probs, .x = x, .N = N, .C = C};
    wd__parallel_for(tp, fwd_task, &a, N * C * 4);
}

void wd_op_softmax_causal_fwd(float *probs, const float *x, size_t B, size_t T, size_t C,
                              wd_threadpool *tp) {
    // probs (B,T,C), x (B,T,C), T <= C
    if (T == 0) return;
    sm_args a = {.probs = probs, .x = x, .N = B * T, .T = T, .C = C, .causal = 1};
    wd__parallel_for(tp, fwd_task, &a, B * T * C * 4);
}

static void ref_row(float *p, const float *x, size_t len, size_t C) {
    double mx = -INFINITY;
    for (size_t c = 0; c < len; c++) mx = fmax(mx, x[c]);
    double s = 0.0;
    if (mx != -INFINITY)
        for (size_t c = 0; c < len; c++) s += exp(x[c] - mx);
    for (size_t c = 0; c < C; c++) p[c] = c < len && s > 0 ? (float)(exp(x[c] - mx) / s) : 0.0f;
}

void wd_op_softmax_fwd_ref(float *probs, const float *x, size_t N, size_t C) {
    // probs (N,C), x (N,C)
    for (size_t n = 0; n < N; n++) ref_row(probs + n * C, x + n * C, C, C);
}

void wd_op_softmax_causal_fwd_ref(float *probs, const float *x, size_t B, size_t T, size_t C) {
    // probs (B,T,C), x (B,T,C), T <= C
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++) {
            size_t n = b * T + t;
            ref_row(probs + n * C, x + n * C, C - T + t + 1, C);
        }
}

static void bwd_task(void *p, int ith, int nth) {
    const sm_args *a = p;
    size_t C = a->C, n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        const float *pr = a->probs_in + n * C, *dp = a->dprobs + n * C;
        float *dx = a->dx + n * C;
        double dot = 0.0;
        for (size_t c = 0; c < C; c++) dot += (double)pr[c] * dp[c];
        float d = (float)dot;
        for (size_t c = 0; c < C; c++) dx[c] += pr[c] * (dp[c] - d);
    }
}

void wd_op_softmax_bwd(float *dx, const float *dprobs, const float *probs, size_t N, size_t C,
                       wd_threadpool *tp) {
    // dx (N,C) +=, dprobs (N,C), probs (N,C)
    sm_args a = {.dx = dx, .dprobs = dprobs, .probs_in = probs, .N = N, .C = C};
    wd__parallel_for(tp, bwd_task, &a, N * C);
}

void wd_op_softmax_bwd_ref(float *dx, const float *dprobs, const float *probs, size_t N,
                           size_t C) {
    // dx (N,C) +=, dprobs (N,C), probs (N,C)
    for (size_t n = 0; n < N; n++) {
        double dot = 0.0;
        for (size_t c = 0; c < C; c++) dot += (double)probs[n * C + c] * dprobs[n * C + c];
        for (size_t c = 0; c < C; c++)
            dx[n * C + c] += (float)(probs[n * C + c] * ((double)dprobs[n * C + c] - dot));
    }
}
