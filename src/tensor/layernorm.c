/*
 * tensor/layernorm.c - LayerNorm (Ba et al. 2016) as torch.nn.LayerNorm
 * computes it (biased variance), for BERT, RoBERTa and DistilBERT:
 *
 *     mean = mean_c(x),  rstd = 1 / sqrt(mean_c((x - mean)^2) + eps)
 *     out  = ((x - mean) * rstd) * w + b
 *
 * Backward, with xhat = (x - mean) * rstd and g = dout * w:
 *
 *     dx += rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
 *     dw += sum_n dout * xhat,   db += sum_n dout
 *
 * Statistics accumulate in double (two passes: mean, then the squared
 * deviations, which does not cancel like E[x^2] - E[x]^2 does). Rows are
 * split over threads for the forward and dx; dw and db over columns.
 */
#include <math.h>

#include "tensor/threads.h"

#define COL_BLOCK 64

typedef struct ln_args {
    float *out, *mean, *rstd, *dx, *dw, *db;
    const float *x, *w, *b, *dout, *mean_in, *rstd_in;
    size_t N, C;
    float eps;
} ln_args;

static void fwd_row(const ln_args *a, size_t n) {
    size_t C = a->C;
    const float *x = a->x + n * C;
    float *out = a->out + n * C;
    double s = 0.0;
    for (size_t c = 0; c < C; c++) s += x[c];
    double m = s / (double)C, v = 0.0;
    for (size_t c = 0; c < C; c++) v += ((double)x[c] - m) * ((double)x[c] - m);
    float mf = (float)m, r = (float)(1.0 / sqrt(v / (double)C + (double)a->eps));
    a->mean[n] = mf;
    a->rstd[n] = r;
    for (size_t c = 0; c < C; c++) {
        float y = ((x[c] - mf) * r) * a->w[c];
        out[c] = a->b ? y + a->b[c] : y;
    }
}

static void fwd_task(void *p, int ith, int nth) {
    const ln_args *a = p;
    size_t n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) fwd_row(a, n);
}

void wd_op_layernorm_fwd(float *out, float *mean, float *rstd, const float *x, const float *w,
                         const float *b, size_t N, size_t C, float eps, wd_threadpool *tp) {
    // out (N,C), mean (N), rstd (N), x (N,C), w (C), b (C) or NULL
    ln_args a = {.out = out, .mean = mean, .rstd = rstd, .x = x, .w = w, .b = b,
                 .N = N, .C = C, .eps = eps};
    wd__parallel_for(tp, fwd_task, &a, N * C);
}

void wd_op_layernorm_fwd_ref(float *out, float *mean, float *rstd, const float *x,
                             const float *w, const float *b, size_t N, size_t C, float eps) {
    // out (N,C), mean (N), rstd (N), x (N,C), w (C), b (C) or NULL
    for (size_t n = 0; n < N; n++) {
        double s = 0.0, v = 0.0;
        for (size_t c = 0; c < C; c++) s += x[n * C + c];
        double m = s / (double)C;
        for (size_t c = 0; c < C; c++) v += ((double)x[n * C + c] - m) * ((double)x[n * C + c] - m);
        double r = 1.0 / sqrt(v / (double)C + (double)eps);
        mean[n] = (float)m;
        rstd[n] = (float)r;
        for (size_t c = 0; c < C; c++)
            out[n * C + c] = (float)(((double)x[n * C + c] - m) * r * w[c] + (b ? b[c] : 0.0));
    }
}

static void bwd_dx_task(void *p, int ith, int nth) {
    const ln_args *a = p;
    size_t C = a->C, n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        const float *x = a->x + n * C, *dout = a->dout + n * C;
        float *dx = a->dx + n * C;
        float m = a->mean_in[n], r = a->rstd_in[n];
        double sg = 0.0, sgx = 0.0;
        for (size_t c = 0; c < C; c++) {
            float g = dout[c] * a->w[c];
            sg += g;
            sgx += (double)g * ((x[c] - m) * r);
        }
        float mg = (float)(sg / (double)C), mgx = (float)(sgx / (double)C);
        for (size_t c = 0; c < C; c++) {
            float xhat = (x[c] - m) * r;
            dx[c] += r * (dout[c] * a->w[c] - mg - xhat * mgx);
        }
    }
}

static void bwd_dwb_task(void *p, int ith, int nth) {
    const ln_args *a = p;
    size_t C = a->C, c0, c1;
    wd__split(C, ith, nth, &c0, &c1);
    for (size_t cb = c0; cb < c1; cb += COL_BLOCK) {
        size_t ce = cb + COL_BLOCK < c1 ? cb + COL_BLOCK : c1;
        double aw[COL_BLOCK] = {0}, ab[COL_BLOCK] = {0};
        for (size_t n = 0; n < a->N; n++) {
            const float *x = a->x + n * C, *dout = a->dout + n * C;
            float m = a->mean_in[n], r = a->rstd_in[n];
            for (size_t c = cb; c < ce; c++) {
                aw[c - cb] += (double)dout[c] * ((x[c] - m) * r);
                ab[c - cb] += dout[c];
            }
        }
        for (size_t c = cb; c < ce; c++) {
            if (a->dw) a->dw[c] += (float)aw[c - cb];
            if (a->db) a->db[c] += (float)ab[c - cb];
        }
    }
}

void wd_op_layernorm_bwd(float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, const float *mean, const float *rstd, size_t N,
                         size_t C, wd_threadpool *tp) {
    // dx (N,C) +=, dw (C) +=, db (C) +=, dout (N,C), x (N,C), w (C), mean (N), rstd (N)
    ln_args a = {.dx = dx, .dw = dw, .db = db, .dout = dout, .x = x, .w = w,
                 .mean_in = mean, .rstd_in = rstd, .N = N, .C = C};
    if (dx) wd__parallel_for(tp, bwd_dx_task, &a, N * C);
    if (dw || db) wd__parallel_for(tp, bwd_dwb_task, &a, N * C);
}

void wd_op_layernorm_bwd_ref(float *dx, float *dw, float *db, const float *dout,
                             const float *x, const float *w, const float *mean,
                             const float *rstd, size_t N, size_t C) {
    // dx (N,C) +=, dw (C) +=, db (C) +=, dout (N,C), x (N,C), w (C), mean (N), rstd (N)
    for (size_t n = 0; n < N; n++) {
        double m = mean[n], r = rstd[n], sg = 0.0, sgx = 0.0;
        for (size_t c = 0; c < C; c++) {
            double g = (double)dout[n * C + c] * w[c];
            double xhat = ((double)x[n * C + c] - m) * r;
            sg += g;
            sgx += g * xhat;
        }
        for (size_t c = 0; c < C; c++) {
            double g = (double)dout[n * C + c] * w[c];
            double xhat = ((double)x[n * C + c] - m) * r;
            if (dx) dx[n * C + c] += (float)(r * (g - sg / (double)C - xhat * sgx / (double)C));
            if (dw) dw[c] += (float)(dout[n * C + c] * xhat);
            if (db) db[c] += dout[n * C + c];
        }
    }
}
