/*
 * bench/matmul.c - the linear layer's kernels against a direct sgemm call.
 *
 *   bench_matmul [--threads N]
 *
 * For each shape out (N,OC) = x (N,C) . w (OC,C)^T, in the same run, after a
 * warm-up, the median of repeated calls of:
 *   sgemm   cblas_sgemm(NoTrans, Trans) called directly (the reference),
 *   fwd     wd_op_matmul_fwd (sgemm, or sgemv when N = 1),
 *   small   wd_op_matmul_fwd_small (streams each row of w once; N <= 16),
 * printed as GFLOPS (2*N*C*OC / time), GB/s of weights read (4*C*OC / time)
 * and each kernel's ratio to the direct sgemm. The shapes are a 1.1 B
 * Llama's (hidden 2048, intermediate 5632) at prefill and small batches.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "warden/ops.h"

typedef struct mm {
    float *x, *w, *out;
    size_t N, C, OC;
    wd_threadpool *tp;
    int kind; /* 0 sgemm, 1 fwd, 2 small */
} mm;

static void call(mm *m) {
    if (m->kind == 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m->N, (int)m->OC, (int)m->C, 1.0f,
                    m->x, (int)m->C, m->w, (int)m->C, 0.0f, m->out, (int)m->OC);
    else if (m->kind == 1)
        wd_op_matmul_fwd(m->out, m->x, m->w, NULL, m->N, m->C, m->OC);
    else
        wd_op_matmul_fwd_small(m->out, m->x, m->w, NULL, m->N, m->C, m->OC, m->tp);
}

static double median_time(mm *m) {
    double t[25];
    int n = 0;
    call(m);
    double start = wdb_now();
    while (n < 25 && (n < 5 || wdb_now() - start < 0.5)) {
        double t0 = wdb_now();
        call(m);
        t[n++] = wdb_now() - t0;
    }
    return wdb_median(t, (size_t)n);
}

int main(int argc, char **argv) {
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_matmul [--threads N]\n");
            return 2;
        }
    }
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    wd_blas_set_threads((int)threads);
    wd_threadpool *tp = NULL;
    if (wd_threadpool_new((int)threads, &tp)) return 3;
    const size_t shapes[][3] = {
        {256, 2048, 2048}, {256, 2048, 5632}, {256, 5632, 2048}, {64, 2048, 2048},
        {16, 2048, 5632},  {12, 2048, 5632},  {8, 2048, 5632},   {6, 2048, 5632},
        {4, 2048, 5632},   {2, 2048, 5632},   {1, 2048, 5632},
    };
    size_t maxx = 0, maxw = 0, maxo = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        if (N * C > maxx) maxx = N * C;
        if (C * OC > maxw) maxw = C * OC;
        if (N * OC > maxo) maxo = N * OC;
    }
    float *x = malloc(maxx * sizeof *x), *w = malloc(maxw * sizeof *w), *out = malloc(maxo * sizeof *out);
    if (!x || !w || !out) return 3;
    uint64_t seed = 5;
    wdb_fill(x, maxx, 1.0f, &seed);
    wdb_fill(w, maxw, 0.02f, &seed);
    printf("bench_matmul: %ld threads (OpenBLAS and warden's pool)\n", threads);
    printf("%5s %5s %5s | %9s %8s | %9s %7s | %9s %7s %8s\n", "N", "C", "OC", "sgemm GF", "GB/s", "fwd GF",
           "x sgemm", "small GF", "x sgemm", "GB/s");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        mm m = {x, w, out, shapes[s][0], shapes[s][1], shapes[s][2], tp, 0};
        double flop = 2.0 * (double)(m.N * m.C * m.OC), wbytes = 4.0 * (double)(m.C * m.OC);
        double t_ref = median_time(&m);
        m.kind = 1;
        double t_fwd = median_time(&m);
        printf("%5zu %5zu %5zu | %9.1f %8.1f | %9.1f %6.2fx |", m.N, m.C, m.OC, flop / t_ref / 1e9,
               wbytes / t_ref / 1e9, flop / t_fwd / 1e9, t_ref / t_fwd);
        if (m.N <= WD_MATMUL_SMALL_N) {
            m.kind = 2;
            double t_small = median_time(&m);
            printf(" %9.1f %6.2fx %8.1f\n", flop / t_small / 1e9, t_ref / t_small, wbytes / t_small / 1e9);
        } else {
            printf(" %9s %7s %8s\n", "-", "-", "-");
        }
        fflush(stdout);
    }
    free(x);
    free(w);
    free(out);
    wd_threadpool_free(tp);
    return 0;
}
