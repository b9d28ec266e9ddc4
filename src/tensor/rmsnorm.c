/*
 * tensor/rmsnorm.c - RMSNorm (Zhang & Sennrich 2019), as Llama, Mistral and
 * Qwen2 use it:
 *
 *     rstd = 1 / sqrt(mean_c(x^2) + eps)         (one per row, cached)
 *     out  = (x * rstd) * w                      (HF LlamaRMSNorm's order)
 *
 * Backward, with g = dout * w and r = rstd:
 *
 *     dx_c += r * g_c - x_c * r^3 / C * sum_i(g_i * x_i)
 *     dw_c += sum_n dout_nc * x_nc * r_n
 *
 * The mean of squares and the row dot product accumulate in double. Rows
 * are split over threads; dw is split over columns (each thread owns a
 * column slice and walks every row, in order), so there are no races and
 * the result does not depend on the number of threads.
 */
#include <math.h>

#include "tensor/threads.h"

/* Column block for column-split reductions: double accumulators on the stack. */
#define COL_BLOCK 64

typedef struct rms_args {
    float *out, *rstd, *dx, *dw;
    const float *x, *w, *dout, *rstd_in;
    size_t N, C;
    float eps;
} rms_args;

static void fwd_task(void *p, int ith, int nth) {
    const rms_args *a = p;
    size_t C = a->C, n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        const float *x = a->x + n * C;
        float *out = a->out + n * C;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* independent chains vectorize */
        size_t c = 0;
        for (; c + 4 <= C; c += 4) {
            s0 += (double)x[c] * x[c];
            s1 += (double)x[c + 1] * x[c + 1];
            s2 += (double)x[c + 2] * x[c + 2];
            s3 += (double)x[c + 3] * x[c + 3];
        }
        for (; c < C; c++) s0 += (double)x[c] * x[c];
        float r = (float)(1.0 / sqrt((s0 + s1 + s2 + s3) / (double)C + (double)a->eps));
        a->rstd[n] = r;
        for (c = 0; c < C; c++) out[c] = (x[c] * r) * a->w[c];
    }
}

void wd_op_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, size_t N,
                       size_t C, float eps, wd_threadpool *tp) {
    // out (N,C), rstd (N), x (N,C), w (C)
    rms_args a = {.out = out, .rstd = rstd, .x = x, .w = w, .N = N, .C = C, .eps = eps};
    wd__parallel_for(tp, fwd_task, &a, N * C);
}

void wd_op_rmsnorm_fwd_ref(float *out, float *rstd, const float *x, const float *w, size_t N,
                           size_t C, float eps) {
    // out (N,C), rstd (N), x (N,C), w (C)
    for (size_t n = 0; n < N; n++) {
        double ss = 0.0;
        for (size_t c = 0; c < C; c++) ss += (double)x[n * C + c] * x[n * C + c];
        float r = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
        rstd[n] = r;
        for (size_t c = 0; c < C; c++) out[n * C + c] = (x[n * C + c] * r) * w[c];
    }
}

static void bwd_dx_task(void *p, int ith, int nth) {
    const rms_args *a = p;
    size_t C = a->C, n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        const float *x = a->x + n * C, *dout = a->dout + n * C;
        float *dx = a->dx + n * C;
        double d0 = 0, d1 = 0;
        size_t c = 0;
        for (; c + 2 <= C; c += 2) {
            d0 += (double)dout[c] * a->w[c] * x[c];
            d1 += (double)dout[c + 1] * a->w[c + 1] * x[c + 1];
        }
        for (; c < C; c++) d0 += (double)dout[c] * a->w[c] * x[c];
        double r = a->rstd_in[n];
        float k = (float)((d0 + d1) * r * r * r / (double)C);
        float rf = (float)r;
        for (c = 0; c < C; c++) dx[c] += rf * a->w[c] * dout[c] - k * x[c];
    }
}

static void bwd_dw_task(void *p, int ith, int nth) {
    const rms_args *a = p;
    size_t C = a->C, c0, c1;
    wd__split(C, ith, nth, &c0, &c1);
    for (size_t cb = c0; cb < c1; cb += COL_BLOCK) {
        size_t ce = cb + COL_BLOCK < c1 ? cb + COL_BLOCK : c1;
        double acc[COL_BLOCK] = {0};
        for (size_t n = 0; n < a->N; n++) {
            const float *x = a->x + n * C, *dout = a->dout + n * C;
            double r = a->rstd_in[n];
            for (size_t c = cb; c < ce; c++) acc[c - cb] += (double)dout[c] * x[c] * r;
        }
        for (size_t c = cb; c < ce; c++) a->dw[c] += (float)acc[c - cb];
    }
}

void wd_op_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w,
                       const float *rstd, size_t N, size_t C, wd_threadpool *tp) {
    // dx (N,C) +=, dw (C) += or NULL, dout (N,C), x (N,C), w (C), rstd (N)
    rms_args a = {.dx = dx, .dw = dw, .dout = dout, .x = x, .w = w, .rstd_in = rstd,
                  .N = N, .C = C};
    if (dx) wd__parallel_for(tp, bwd_dx_task, &a, N * C);
    if (dw) wd__parallel_for(tp, bwd_dw_task, &a, N * C);
}

void wd_op_rmsnorm_bwd_ref(float *dx, float *dw, const float *dout, const float *x,
                           const float *w, const float *rstd, size_t N, size_t C) {
    // dx (N,C) +=, dw (C) += or NULL, dout (N,C), x (N,C), w (C), rstd (N)
    for (size_t n = 0; n < N; n++) {
        const float *xr = x + n * C, *dr = dout + n * C;
        double r = rstd[n], dot = 0.0;
        for (size_t c = 0; c < C; c++) dot += (double)dr[c] * w[c] * xr[c];
        for (size_t c = 0; c < C; c++) {
            if (dx) dx[n * C + c] += (float)(r * w[c] * dr[c] - xr[c] * r * r * r / (double)C * dot);
            if (dw) dw[c] += (float)((double)dr[c] * xr[c] * r);
        }
    }
}
