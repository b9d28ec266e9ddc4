/*
 * bench/qmatmul.c - the linear layer on weights kept in F16, BF16 and the
 * block types (tensor/qmatmul.c), against F32 on OpenBLAS in the same run.
 *
 *   bench_qmatmul [--threads N] [--shape N,C,OC]
 *
 * For each weight type and each row count N (1 = decoding a token, 4, 64
 * and 256 = prefill), the median of repeated calls of wd__qmatmul on a
 * 1.1 B Llama's largest matrix (C 2048, OC 5632, or --shape), printed as
 * GFLOPS (2*N*C*OC / time), GB/s of weights read (the type's bytes / time),
 * and the ratio of its time to the F32 reference: sgemv for N = 1, sgemm
 * otherwise (cblas, the same threads). "x f32" > 1 means faster than F32.
 * Rows marked "gemm" (N >= 64, F32 / F16 / BF16) call the tiled kernel
 * for prefill (tensor/gemm.c) directly on the same weights, against the
 * same sgemm (wd__qmatmul hands F16/BF16 to it from WD_GEMM_MIN_N rows on,
 * so at those N both rows run the same kernel).
 * The decode row is memory-bound: its GB/s against `stream` (a plain
 * streaming read of a 256 MiB buffer, same run) says how close to the
 * bound the kernel is.
 */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "tensor/gemm.h"
#include "tensor/qmatmul.h"
#include "tensor/quant.h"
#include "warden/ops.h"

typedef struct job {
    const float   *x, *w32;
    const void    *wq;
    float         *out;
    wd_ggml_type   type;  /* WD_GGML_TYPE_F32: the cblas reference */
    bool           gemm;  /* through wd__gemm (tensor/gemm.c) */
    size_t         N, C, OC;
    wd_threadpool *tp;
} job;

static void call(const job *j) {
    if (j->gemm) {
        if (wd__gemm(j->out, j->x, j->type == WD_GGML_TYPE_F32 ? (const void *)j->w32 : j->wq, j->type, NULL,
                     j->N, j->C, j->OC, j->tp)) {
            fprintf(stderr, "bench_qmatmul: %s\n", wd_last_error());
            exit(3);
        }
    } else if (j->type == WD_GGML_TYPE_F32) {
        if (j->N == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)j->OC, (int)j->C, 1.0f, j->w32, (int)j->C,
                        j->x, 1, 0.0f, j->out, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->N, (int)j->OC, (int)j->C,
                        1.0f, j->x, (int)j->C, j->w32, (int)j->C, 0.0f, j->out, (int)j->OC);
    } else if (wd__qmatmul(j->out, j->x, j->wq, j->type, NULL, j->N, j->C, j->OC, j->tp)) {
        fprintf(stderr, "bench_qmatmul: %s\n", wd_last_error());
        exit(3);
    }
}

static double median_time(const job *j) {
    double t[25];
    int n = 0;
    call(j);
    double start = wdb_now();
    while (n < 25 && (n < 5 || wdb_now() - start < 0.4)) {
        double t0 = wdb_now();
        call(j);
        t[n++] = wdb_now() - t0;
    }
    return wdb_median(t, (size_t)n);
}

/* Streaming-read bandwidth: sum of a 256 MiB buffer, threads slices. */
static double stream_gbs(long threads) {
    size_t n = (size_t)64 << 20;  // floats
    float *b = malloc(n * sizeof *b);
    if (!b) return 0.0;
    for (size_t i = 0; i < n; i++) b[i] = (float)(i & 7);
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = wdb_now();
        float s = 0.0f;
        /* cblas_sasum reads the buffer once, threaded like the kernels. */
        s = cblas_sasum((int)n, b, 1);
        double dt = wdb_now() - t0;
        if (s < 0) puts("");
        if (n * sizeof *b / dt / 1e9 > best) best = n * sizeof *b / dt / 1e9;
    }
    (void)threads;
    free(b);
    return best;
}

int main(int argc, char **argv) {
    long threads = 0;
    size_t C = 2048, OC = 5632, Nmax = 256;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atol(argv[++i]);
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc &&
                 sscanf(argv[++i], "%zu,%zu,%zu", &Nmax, &C, &OC) == 3 && C % 256 == 0)
            ;
        else {
            fprintf(stderr, "usage: bench_qmatmul [--threads N] [--shape N,C,OC]  (C a multiple of 256)\n");
            return 2;
        }
    }
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    wd_blas_set_threads((int)threads);
    wd_threadpool *tp = NULL;
    if (wd_threadpool_new((int)threads, &tp)) return 3;
    float *x = malloc(Nmax * C * sizeof *x), *w = malloc(C * OC * sizeof *w), *out = malloc(Nmax * OC * sizeof *out);
    void *wq = malloc(C * OC * 2 + 64);
    if (!x || !w || !out || !wq) return 3;
    uint64_t seed = 5;
    wdb_fill(x, Nmax * C, 1.0f, &seed);
    wdb_fill(w, C * OC, 0.02f, &seed);
    const wd_ggml_type types[] = {WD_GGML_TYPE_F32,  WD_GGML_TYPE_F16,  WD_GGML_TYPE_BF16, WD_GGML_TYPE_Q8_0,
                                  WD_GGML_TYPE_Q4_0, WD_GGML_TYPE_Q4_K, WD_GGML_TYPE_Q5_K, WD_GGML_TYPE_Q6_K};
    const size_t Ns[] = {1, 4, 64, 256};
    double bw = stream_gbs(threads);
    printf("bench_qmatmul: C %zu, OC %zu, %ld threads; streaming read %.1f GB/s\n", C, OC, threads, bw);
    printf("%-5s %4s | %8s %8s %7s\n", "type", "N", "GFLOPS", "GB/s", "x f32");
    for (size_t k = 0; k < sizeof Ns / sizeof *Ns; k++) {
        size_t N = Ns[k];
        if (N > Nmax) continue;
        job ref = {x, w, NULL, out, WD_GGML_TYPE_F32, false, N, C, OC, tp};
        double t_ref = median_time(&ref);
        for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
            wd_ggml_type ty = types[t];
            size_t rs = ty == WD_GGML_TYPE_F32 ? 4 * C : wd__qmatmul_row_size(ty, C);
            if (ty != WD_GGML_TYPE_F32)
                for (size_t r = 0; r < OC; r++) {
                    unsigned char *dst = (unsigned char *)wq + r * rs;
                    if (ty == WD_GGML_TYPE_F16) wd_f32_to_f16((uint16_t *)dst, w + r * C, C);
                    else if (ty == WD_GGML_TYPE_BF16) wd_f32_to_bf16((uint16_t *)dst, w + r * C, C);
                    else wd__quantize_ref(ty, dst, w + r * C, C);
                }
            job j = {x, w, wq, out, ty, false, N, C, OC, tp};
            double tm = ty == WD_GGML_TYPE_F32 ? t_ref : median_time(&j);
            printf("%-5s %4zu | %8.1f %8.1f %6.2fx\n", ty == WD_GGML_TYPE_F32 ? "f32" : wd_ggml_type_name(ty), N,
                   2.0 * (double)(N * C * OC) / tm / 1e9, (double)(rs * OC) / tm / 1e9, t_ref / tm);
            fflush(stdout);
            if (!wd__gemm_supported(ty) || N < 64) continue;
            j.gemm = true; /* the tiled kernel for prefill, same weights */
            tm = median_time(&j);
            printf("%-5s %4zu | %8.1f %8.1f %6.2fx  gemm\n", ty == WD_GGML_TYPE_F32 ? "f32" : wd_ggml_type_name(ty),
                   N, 2.0 * (double)(N * C * OC) / tm / 1e9, (double)(rs * OC) / tm / 1e9, t_ref / tm);
            fflush(stdout);
        }
    }
    free(x), free(w), free(out), free(wq);
    wd_threadpool_free(tp);
    return 0;
}
