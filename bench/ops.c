/*
 * bench/ops.c - the row-parallel kernels and the conversions: median time
 * of each fast kernel on the calling thread and on a wd_threadpool, next to
 * its naive _ref twin measured in the same run, with the ratios.
 *
 * Each measurement warms up once, then repeats (at least 5 times, until
 * ~0.3 s or 30 repetitions); medians are printed.
 *
 * Usage: bench_ops [--threads N]   (pool size; default: online CPUs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "warden/ops.h"

typedef struct bctx {
    size_t N, C, H, D;
    float *x, *y, *w, *b, *out, *aux, *aux2, *cs, *sn;
    int32_t *ids;
    uint16_t *h;
    wd_threadpool *tp;
} bctx;

typedef void (*bench_fn)(bctx *c);

static double median_time(bench_fn fn, bctx *c) {
    double t[30];
    int n = 0;
    fn(c);
    double start = wdb_now();
    while (n < 30 && (n < 5 || wdb_now() - start < 0.3)) {
        double t0 = wdb_now();
        fn(c);
        t[n++] = wdb_now() - t0;
    }
    return wdb_median(t, n);
}

static void rms_fast(bctx *c) { wd_op_rmsnorm_fwd(c->out, c->aux, c->x, c->w, c->N, c->C, 1e-5f, c->tp); }
static void rms_ref(bctx *c) { wd_op_rmsnorm_fwd_ref(c->out, c->aux, c->x, c->w, c->N, c->C, 1e-5f); }
static void rmsb_fast(bctx *c) { wd_op_rmsnorm_bwd(c->y, c->b, c->out, c->x, c->w, c->aux, c->N, c->C, c->tp); }
static void rmsb_ref(bctx *c) { wd_op_rmsnorm_bwd_ref(c->y, c->b, c->out, c->x, c->w, c->aux, c->N, c->C); }
static void ln_fast(bctx *c) { wd_op_layernorm_fwd(c->out, c->aux, c->aux2, c->x, c->w, c->b, c->N, c->C, 1e-5f, c->tp); }
static void ln_ref(bctx *c) { wd_op_layernorm_fwd_ref(c->out, c->aux, c->aux2, c->x, c->w, c->b, c->N, c->C, 1e-5f); }
static void sm_fast(bctx *c) { wd_op_softmax_fwd(c->out, c->x, c->N, c->C, c->tp); }
static void sm_ref(bctx *c) { wd_op_softmax_fwd_ref(c->out, c->x, c->N, c->C); }
static void silu_fast(bctx *c) { wd_op_silu_fwd(c->out, c->x, c->N * c->C, c->tp); }
static void silu_ref(bctx *c) { wd_op_silu_fwd_ref(c->out, c->x, c->N * c->C); }
static void gelu_fast(bctx *c) { wd_op_gelu_fwd(c->out, c->x, c->N * c->C, c->tp); }
static void gelu_ref(bctx *c) { wd_op_gelu_fwd_ref(c->out, c->x, c->N * c->C); }
static void swiglu_fast(bctx *c) { wd_op_swiglu_fwd(c->out, c->x, c->y, c->N * c->C, c->tp); }
static void swiglu_ref(bctx *c) { wd_op_swiglu_fwd_ref(c->out, c->x, c->y, c->N * c->C); }
static void rope_fast(bctx *c) { wd_op_rope_fwd(c->out, c->x, c->cs, c->sn, c->N, c->H, c->D, WD_ROPE_LAYOUT_HALF, c->tp); }
static void rope_ref(bctx *c) { wd_op_rope_fwd_ref(c->out, c->x, c->cs, c->sn, c->N, c->H, c->D, WD_ROPE_LAYOUT_HALF); }
static void emb_fast(bctx *c) { wd_op_embedding_fwd(c->out, c->ids, c->w, c->N, c->C, 32000, c->tp); }
static void emb_ref(bctx *c) { wd_op_embedding_fwd_ref(c->out, c->ids, c->w, c->N, c->C, 32000); }
static void ce_fast(bctx *c) { wd_op_crossentropy_fwd(c->aux, c->out, c->x, c->ids, c->N, c->C, c->tp); }
static void ce_ref(bctx *c) { wd_op_crossentropy_fwd_ref(c->aux, c->out, c->x, c->ids, c->N, c->C); }
static void f16_fast(bctx *c) { wd_f16_to_f32(c->out, c->h, c->N * c->C); }
static void f16_ref(bctx *c) { wd_f16_to_f32_ref(c->out, c->h, c->N * c->C); }
static void tof16_fast(bctx *c) { wd_f32_to_f16(c->h, c->x, c->N * c->C); }
static void tof16_ref(bctx *c) { wd_f32_to_f16_ref(c->h, c->x, c->N * c->C); }
static void bf16_fast(bctx *c) { wd_bf16_to_f32(c->out, c->h, c->N * c->C); }
static void bf16_ref(bctx *c) { wd_bf16_to_f32_ref(c->out, c->h, c->N * c->C); }

typedef struct row {
    const char *name;
    size_t N, C;
    bench_fn fast, ref;
    int threaded;
} row;

int main(int argc, char **argv) {
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_ops [--threads N]\n");
            return 2;
        }
    }
    wd_threadpool *pool = NULL;
    if (wd_threadpool_new(threads, &pool)) {
        fprintf(stderr, "bench_ops: %s\n", wd_last_error());
        return 3;
    }
    int nt = wd_threadpool_n_threads(pool);

    const size_t MAXN = 1u << 23; /* floats per buffer */
    bctx c = {0};
    c.x = malloc(MAXN * 4), c.y = malloc(MAXN * 4), c.out = malloc(MAXN * 4);
    c.w = malloc((size_t)32000 * 256 * 4), c.b = malloc(16384 * 4), c.aux = malloc(16384 * 4);
    c.aux2 = malloc(16384 * 4), c.cs = malloc(MAXN / 2 * 4), c.sn = malloc(MAXN / 2 * 4);
    c.ids = malloc(16384 * 4), c.h = malloc(MAXN * 2);
    unsigned seed = 3;
    for (size_t i = 0; i < MAXN; i++) {
        c.x[i] = (float)rand_r(&seed) / RAND_MAX * 8 - 4;
        c.y[i] = (float)rand_r(&seed) / RAND_MAX - 0.5f;
        c.cs[i / 2] = 0.6f, c.sn[i / 2] = 0.8f;
    }
    for (size_t i = 0; i < (size_t)32000 * 256; i++) c.w[i] = (float)rand_r(&seed) / RAND_MAX;
    for (size_t i = 0; i < 16384; i++) {
        c.b[i] = 0, c.ids[i] = rand_r(&seed) % 32000;
    }
    wd_f32_to_f16(c.h, c.x, MAXN);

    row rows[] = {
        {"rmsnorm fwd", 512, 4096, rms_fast, rms_ref, 1},
        {"rmsnorm bwd", 512, 4096, rmsb_fast, rmsb_ref, 1},
        {"layernorm fwd", 512, 768, ln_fast, ln_ref, 1},
        {"softmax fwd", 2048, 1024, sm_fast, sm_ref, 1},
        {"silu fwd", 512, 11008, silu_fast, silu_ref, 1},
        {"gelu fwd", 512, 3072, gelu_fast, gelu_ref, 1},
        {"swiglu fwd", 512, 11008, swiglu_fast, swiglu_ref, 1},
        {"rope fwd (H=32,D=128)", 512, 4096, rope_fast, rope_ref, 1},
        {"embedding fwd", 2048, 256, emb_fast, emb_ref, 1},
        {"crossentropy fwd", 64, 32000, ce_fast, ce_ref, 1},
        {"f16 -> f32", 2048, 4096, f16_fast, f16_ref, 0},
        {"f32 -> f16", 2048, 4096, tof16_fast, tof16_ref, 0},
        {"bf16 -> f32", 2048, 4096, bf16_fast, bf16_ref, 0},
    };
    printf("bench_ops: medians in ms; pool of %d threads\n", nt);
    printf("%-24s %6s %6s %9s %9s %9s %8s %8s\n", "kernel", "N", "C", "ref", "fast/1", "fast/pool",
           "ref/1", "1/pool");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        c.N = rows[r].N, c.C = rows[r].C, c.H = 32, c.D = 128;
        c.tp = NULL;
        memset(c.y, 0, (size_t)c.N * c.C * 4 < MAXN * 4 ? (size_t)c.N * c.C * 4 : MAXN * 4);
        double tr = median_time(rows[r].ref, &c);
        double t1 = median_time(rows[r].fast, &c);
        double tp = t1;
        if (rows[r].threaded) {
            c.tp = pool;
            tp = median_time(rows[r].fast, &c);
        }
        if (rows[r].threaded)
            printf("%-24s %6zu %6zu %9.3f %9.3f %9.3f %8.2f %8.2f\n", rows[r].name, c.N, c.C,
                   tr * 1e3, t1 * 1e3, tp * 1e3, tr / t1, t1 / tp);
        else
            printf("%-24s %6zu %6zu %9.3f %9.3f %9s %8.2f %8s\n", rows[r].name, c.N, c.C,
                   tr * 1e3, t1 * 1e3, "-", tr / t1, "-");
    }
    printf("ref/1 = naive twin time / fast on one thread; 1/pool = one thread / pool\n");
    wd_threadpool_free(pool);
    free(c.x), free(c.y), free(c.out), free(c.w), free(c.b), free(c.aux), free(c.aux2);
    free(c.cs), free(c.sn), free(c.ids), free(c.h);
    return 0;
}
