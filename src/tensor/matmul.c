/*
 * tensor/matmul.c - the linear layer y = x W^T + b and its gradients, and
 * the plain product C = A B, on OpenBLAS.
 *
 * Weights are in nn.Linear's layout, W (OC, C), which is how Hugging Face
 * checkpoints store them, so the forward is sgemm(x, W^T) with no copy:
 *
 *     out (N,OC) = x (N,C) . W^T (C,OC) + bias          sgemm NoTrans/Trans
 *     dx  (N,C)  += dout (N,OC) . W (OC,C)              sgemm NoTrans/NoTrans
 *     dW  (OC,C) += dout^T (OC,N) . x (N,C)             sgemm Trans/NoTrans
 *     db  (OC)   += sum over n of dout (N,OC)
 *
 * A single row (decoding one token) goes through sgemv, which avoids
 * sgemm's packing. OpenBLAS threads these calls itself (see ops.h). The
 * _ref twins are the triple loops with double accumulators.
 */
#include <cblas.h>
#include <string.h>

#include "tensor/threads.h"
#include "warden/ops.h"

void wd_op_matmul_fwd(float *out, const float *x, const float *w, const float *bias,
                      size_t N, size_t C, size_t OC) {
    // out (N,OC), x (N,C), w (OC,C), bias (OC) or NULL
    if (N == 0 || OC == 0) return;
    float beta = 0.0f;
    if (bias) {
        for (size_t n = 0; n < N; n++)
            for (size_t oc = 0; oc < OC; oc++) out[n * OC + oc] = bias[oc];
        beta = 1.0f;
    }
    if (C == 0) {
        if (!bias)
            for (size_t i = 0; i < N * OC; i++) out[i] = 0.0f;
        return;
    }
    if (N == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)OC, (int)C, 1.0f, w, (int)C, x, 1, beta,
                    out, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC, (int)C, 1.0f, x,
                (int)C, w, (int)C, beta, out, (int)OC);
}

/* ==== few rows: stream w once ============================================ */

typedef float wd__v8 __attribute__((vector_size(32)));
/* The helpers below are file-local and inlined, so passing wd__v8 by value
 * has no ABI to keep; without -march (sanitizer builds) GCC warns anyway. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef struct small_task {
    float       *out;
    const float *x, *w, *bias;
    size_t       N, C, OC;
} small_task;

static inline float hsum8(wd__v8 a) {
    float acc = 0.0f;
    for (int k = 0; k < 8; k++) acc += a[k];
    return acc;
}

static inline wd__v8 load8(const float *p) {
    wd__v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* One row of w against 4 rows of x: each 8 floats of w are loaded once for
 * 4 multiply-adds. */
static void dot_w_x4(float *o0, float *o1, float *o2, float *o3, const float *wr,
                     const float *x0, const float *x1, const float *x2, const float *x3,
                     size_t C) {
    wd__v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    size_t c = 0;
    for (; c + 8 <= C; c += 8) {
        wd__v8 w0 = load8(wr + c);
        a0 += w0 * load8(x0 + c);
        a1 += w0 * load8(x1 + c);
        a2 += w0 * load8(x2 + c);
        a3 += w0 * load8(x3 + c);
    }
    float s0 = hsum8(a0), s1 = hsum8(a1), s2 = hsum8(a2), s3 = hsum8(a3);
    for (; c < C; c++) {
        s0 += wr[c] * x0[c];
        s1 += wr[c] * x1[c];
        s2 += wr[c] * x2[c];
        s3 += wr[c] * x3[c];
    }
    *o0 = s0, *o1 = s1, *o2 = s2, *o3 = s3;
}

static void small_rows(void *ctx, int ith, int nth) {
    const small_task *t = ctx;
    size_t lo, hi, C = t->C, N = t->N, OC = t->OC;
    wd__split(OC, ith, nth, &lo, &hi);
    float *out = t->out;
    for (size_t oc = lo; oc < hi; oc++) {
        const float *wr = t->w + oc * C;
        float b = t->bias ? t->bias[oc] : 0.0f;
        for (size_t n = 0; n < N; n += 4) {
            /* a last group of 1-3 rows repeats its first row in the unused slots */
            const float *xs[4];
            for (size_t k = 0; k < 4; k++) xs[k] = t->x + (n + k < N ? n + k : n) * C;
            float r[4];
            dot_w_x4(&r[0], &r[1], &r[2], &r[3], wr, xs[0], xs[1], xs[2], xs[3], C);
            for (size_t k = 0; k < 4 && n + k < N; k++) out[(n + k) * OC + oc] = r[k] + b;
        }
    }
}

void wd_op_matmul_fwd_small(float *out, const float *x, const float *w, const float *bias,
                            size_t N, size_t C, size_t OC, wd_threadpool *tp) {
    // out (N,OC), x (N,C), w (OC,C), bias (OC) or NULL
    if (N == 0 || OC == 0) return;
    small_task t = {out, x, w, bias, N, C, OC};
    wd__parallel_for(tp, small_rows, &t, N * C * OC);
}

void wd_op_matmul_fwd_ref(float *out, const float *x, const float *w, const float *bias,
                          size_t N, size_t C, size_t OC) {
    // out (N,OC), x (N,C), w (OC,C), bias (OC) or NULL
    for (size_t n = 0; n < N; n++) {
        for (size_t oc = 0; oc < OC; oc++) {
            double acc = bias ? bias[oc] : 0.0;
            for (size_t c = 0; c < C; c++) acc += (double)x[n * C + c] * w[oc * C + c];
            out[n * OC + oc] = (float)acc;
        }
    }
}

void wd_op_matmul_bwd(float *dx, float *dw, float *dbias, const float *dout, const float *x,
                      const float *w, size_t N, size_t C, size_t OC) {
    // dx (N,C) +=, dw (OC,C) +=, dbias (OC) +=, dout (N,OC), x (N,C), w (OC,C)
    if (N == 0 || OC == 0) return;
    if (dx && C > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)C, (int)OC, 1.0f,
                    dout, (int)OC, w, (int)C, 1.0f, dx, (int)C);
    if (dw && C > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)OC, (int)C, (int)N, 1.0f, dout,
                    (int)OC, x, (int)C, 1.0f, dw, (int)C);
    if (dbias)
        for (size_t n = 0; n < N; n++)
            for (size_t oc = 0; oc < OC; oc++) dbias[oc] += dout[n * OC + oc];
}

void wd_op_matmul_bwd_ref(float *dx, float *dw, float *dbias, const float *dout,
                          const float *x, const float *w, size_t N, size_t C, size_t OC) {
    // dx (N,C) +=, dw (OC,C) +=, dbias (OC) +=, dout (N,OC), x (N,C), w (OC,C)
    if (dx)
        for (size_t n = 0; n < N; n++)
            for (size_t c = 0; c < C; c++) {
                double acc = 0.0;
                for (size_t oc = 0; oc < OC; oc++) acc += (double)dout[n * OC + oc] * w[oc * C + c];
                dx[n * C + c] += (float)acc;
            }
    if (dw)
        for (size_t oc = 0; oc < OC; oc++)
            for (size_t c = 0; c < C; c++) {
                double acc = 0.0;
                for (size_t n = 0; n < N; n++) acc += (double)dout[n * OC + oc] * x[n * C + c];
                dw[oc * C + c] += (float)acc;
            }
    if (dbias)
        for (size_t oc = 0; oc < OC; oc++) {
            double acc = 0.0;
            for (size_t n = 0; n < N; n++) acc += dout[n * OC + oc];
            dbias[oc] += (float)acc;
        }
}

void wd_op_matmul_nn(float *c, const float *a, const float *b, size_t M, size_t K, size_t N) {
    // c (M,N), a (M,K), b (K,N)
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (size_t i = 0; i < M * N; i++) c[i] = 0.0f;
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, a,
                (int)K, b, (int)N, 0.0f, c, (int)N);
}

void wd_op_matmul_nn_ref(float *c, const float *a, const float *b, size_t M, size_t K,
                         size_t N) {
    // c (M,N), a (M,K), b (K,N)
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double acc = 0.0;
            for (size_t k = 0; k < K; k++) acc += (double)a[m * K + k] * b[k * N + n];
            c[m * N + n] = (float)acc;
        }
}
