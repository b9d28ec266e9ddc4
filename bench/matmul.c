/*
 * bench/matmul.c - achieved GFLOPS of wd_op_matmul_fwd (out = x W^T + b, the
 * nn.Linear layout) next to a direct cblas_sgemm call of the same shape in
 * the same run, and the ratio. Also the naive _ref twin on a small shape.
 *
 * Each measurement warms up twice, then repeats (at least 5 times, until
 * ~0.5 s or 50 repetitions) alternating warden and direct sgemm so that
 * both see the same machine load; medians are printed. FLOPs = 2 N C OC.
 *
 * Usage: bench_matmul [--threads N] [--quick]
 *   --threads N  OpenBLAS threads (default: OpenBLAS's own choice)
 *   --quick      smaller shapes, fewer repetitions (a smoke test)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "warden/ops.h"

typedef struct shape {
    size_t N, C, OC;
    const char *what;
} shape;

static float *rand_buf(size_t n, unsigned *seed) {
    float *x = malloc(n * sizeof *x);
    if (!x) {
        fprintf(stderr, "bench_matmul: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) x[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
    return x;
}

static void run_direct(float *out, const float *x, const float *w, size_t N, size_t C, size_t OC) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC, (int)C, 1.0f, x,
                (int)C, w, (int)C, 0.0f, out, (int)OC);
}

int main(int argc, char **argv) {
    int quick = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_matmul [--threads N] [--quick]\n");
            return 2;
        }
    }
    if (threads > 0) wd_blas_set_threads(threads);

    shape full[] = {
        {1, 4096, 4096, "decode, 7B q_proj"},
        {128, 2048, 2048, "prefill, 1B attn"},
        {512, 768, 3072, "BERT-base FFN up"},
        {32, 4096, 11008, "batch 32, 7B gate"},
    };
    shape small[] = {
        {1, 512, 512, "decode"},
        {64, 256, 256, "small batch"},
        {128, 384, 1536, "MiniLM FFN up"},
    };
    shape *shapes = quick ? small : full;
    size_t n_shapes = quick ? 3 : 4;
    double budget = quick ? 0.1 : 0.5;

    printf("bench_matmul: out (N,OC) = x (N,C) @ W^T, OpenBLAS threads %d\n", wd_blas_threads());
    printf("%-20s %6s %6s %6s %10s %10s %10s %7s\n", "shape", "N", "C", "OC", "warden", "sgemm",
           "+bias", "ratio");
    printf("%-20s %6s %6s %6s %10s %10s %10s %7s\n", "", "", "", "", "GFLOPS", "GFLOPS", "GFLOPS",
           "w/s");
    unsigned seed = 1;
    for (size_t s = 0; s < n_shapes; s++) {
        size_t N = shapes[s].N, C = shapes[s].C, OC = shapes[s].OC;
        float *x = rand_buf(N * C, &seed), *w = rand_buf(OC * C, &seed);
        float *b = rand_buf(OC, &seed), *out = rand_buf(N * OC, &seed);
        double flops = 2.0 * (double)N * (double)C * (double)OC;
        double tw[50], td[50], tb[50];
        for (int r = 0; r < 2; r++) { /* warm up: pages, OpenBLAS threads */
            wd_op_matmul_fwd(out, x, w, NULL, N, C, OC);
            run_direct(out, x, w, N, C, OC);
        }
        int reps = 0;
        double start = wdb_now();
        while (reps < 50 && (reps < 5 || wdb_now() - start < budget)) {
            /* alternate the order so neither side always runs first */
            double t0, t1, t2, t3;
            if (reps % 2) {
                t0 = wdb_now();
                wd_op_matmul_fwd(out, x, w, NULL, N, C, OC);
                t1 = wdb_now();
                run_direct(out, x, w, N, C, OC);
                t2 = wdb_now();
                tw[reps] = t1 - t0, td[reps] = t2 - t1;
            } else {
                t0 = wdb_now();
                run_direct(out, x, w, N, C, OC);
                t1 = wdb_now();
                wd_op_matmul_fwd(out, x, w, NULL, N, C, OC);
                t2 = wdb_now();
                td[reps] = t1 - t0, tw[reps] = t2 - t1;
            }
            wd_op_matmul_fwd(out, x, w, b, N, C, OC);
            t3 = wdb_now();
            tb[reps] = t3 - t2;
            reps++;
        }
        double mw = wdb_median(tw, reps), md = wdb_median(td, reps), mb = wdb_median(tb, reps);
        printf("%-20s %6zu %6zu %6zu %10.1f %10.1f %10.1f %7.2f\n", shapes[s].what, N, C, OC,
               flops / mw * 1e-9, flops / md * 1e-9, flops / mb * 1e-9, md / mw);
        free(x), free(w), free(b), free(out);
    }

    /* the naive twin, for scale */
    {
        size_t N = 32, C = 256, OC = 256;
        float *x = rand_buf(N * C, &seed), *w = rand_buf(OC * C, &seed), *out = rand_buf(N * OC, &seed);
        double flops = 2.0 * N * C * OC, tr[5], tf[5];
        wd_op_matmul_fwd_ref(out, x, w, NULL, N, C, OC);
        for (int r = 0; r < 5; r++) wd_op_matmul_fwd(out, x, w, NULL, N, C, OC);
        for (int r = 0; r < 5; r++) {
            double t0 = wdb_now();
            wd_op_matmul_fwd_ref(out, x, w, NULL, N, C, OC);
            double t1 = wdb_now();
            for (int k = 0; k < 10; k++) wd_op_matmul_fwd(out, x, w, NULL, N, C, OC);
            double t2 = wdb_now();
            tr[r] = t1 - t0, tf[r] = (t2 - t1) / 10;
        }
        double mr = wdb_median(tr, 5), mf = wdb_median(tf, 5);
        printf("%-20s %6zu %6zu %6zu %10.1f %10s %10s %7s  (naive _ref: %.2f GFLOPS, %.0fx slower)\n",
               "naive ref vs fast", N, C, OC, flops / mf * 1e-9, "-", "-", "-", flops / mr * 1e-9,
               mr / mf);
        free(x), free(w), free(out);
    }
    printf("ratio = sgemm time / warden time (1.00 = no overhead; > 1 where warden picks sgemv)\n");
    return 0;
}
