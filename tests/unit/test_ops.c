/*
 * tests/unit/test_ops.c - every tensor/ kernel against three independent
 * expectations:
 *
 * 1. Its _ref twin, on random shapes including odd sizes and N = 1, run on
 *    no pool and on pools of 2 and 3 threads with the serial cut-off set to
 *    0 (so even 1x1 inputs are split). The fast kernel must give bitwise
 *    the same result on every pool (work is split, never reordered), and
 *    agree with the twin to float rounding.
 *
 * 2. A double-precision model of the forward written in this file straight
 *    from the formula. The float kernels must match it to ~1e-5.
 *
 * 3. Central finite differences of that double model, for every backward.
 *    Why this is rigorous: each check sets L = sum(out * R) for a random R,
 *    calls the backward with dout = R, and compares each gradient element
 *    with (L(p + h) - L(p - h)) / 2h where L is evaluated entirely in double
 *    on the very same (float-representable) inputs. With h = 1e-6 (scaled
 *    by |p|) the truncation error is O(h^2) ~ 1e-12 and the rounding error
 *    ~ 1e-16 |L| / h ~ 1e-9, so the finite difference is the true derivative
 *    to about 1e-8; all of the tolerance (atol 2e-4 + rtol 1e-3 of the
 *    value) is left for the float backward. A wrong term in a backward
 *    shows up as an O(1) error. Perturbing float inputs and running the
 *    float forward instead would need h ~ 1e-2 and a 1e-2 tolerance, which
 *    hides small mistakes. Gradients are pre-filled with random values and
 *    the check is on the increment, which also tests that backwards ADD.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tensor/threads.h"

/* ==== Harness ============================================================ */

static wd_threadpool *pools[3]; /* NULL (calling thread), 2 threads, 3 threads */
#define N_POOLS 3

static int setup(void **state) {
    wd__threads_set_min_work(0);
    if (wd_threadpool_new(2, &pools[1]) || wd_threadpool_new(3, &pools[2])) return -1;
    return 0;
}

static int teardown(void **state) {
    wd_threadpool_free(pools[1]);
    wd_threadpool_free(pools[2]);
    wd__threads_set_min_work(16384);
    return 0;
}

static uint64_t seed = 12345;

static float *randf(size_t n, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    wdt_fill_uniform(x, n, lo, hi, &seed);
    return x;
}

static float *copyf(const float *x, size_t n) {
    float *y = malloc((n ? n : 1) * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static double *tod(const float *x, size_t n) {
    double *y = malloc((n ? n : 1) * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

/* |got - want| <= atol + rtol |want| elementwise; reports the worst. */
static void close_d(const char *what, const float *got, const double *want, size_t n,
                    double atol, double rtol) {
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= atol + rtol * fabs(want[i])))
            fail_msg("%s[%zu]: got %.9g, want %.9g (err %.3g)", what, i, got[i], want[i], err);
    }
}

static void close_f(const char *what, const float *got, const float *want, size_t n,
                    double atol, double rtol) {
    double *w = tod(want, n);
    close_d(what, got, w, n, atol, rtol);
    free(w);
}

/* A double model of a forward: fills out (n_out) from the p[] arrays. */
typedef struct model model;
struct model {
    void (*fwd)(const model *m, double *out);
    size_t n_out;
    double *R, *out;
    double *p[4];
    size_t N, C, OC, B, T, H, D;
    const int32_t *ids;
    int flag;
    double eps;
};

static double model_loss(const model *m) {
    m->fwd(m, m->out);
    double L = 0.0;
    for (size_t i = 0; i < m->n_out; i++) L += m->R[i] * m->out[i];
    return L;
}

/* Checks grad_after - grad_before against central differences of the model
 * loss with respect to param (n values; at most ~150 of them, strided). */
static void fd_check(const char *what, model *m, double *param, size_t n, const float *after,
                     const float *before) {
    size_t step = n > 150 ? n / 150 + 1 : 1;
    for (size_t i = 0; i < n; i += step) {
        double save = param[i], h = 1e-6 * fmax(1.0, fabs(save));
        param[i] = save + h;
        double lp = model_loss(m);
        param[i] = save - h;
        double lm = model_loss(m);
        param[i] = save;
        double fd = (lp - lm) / (2 * h);
        double got = (double)after[i] - (double)(before ? before[i] : 0.0f);
        if (!(fabs(got - fd) <= 2e-4 + 1e-3 * fabs(fd)))
            fail_msg("%s[%zu]: backward %.9g, finite difference %.9g", what, i, got, fd);
    }
}

/* Results of the fast kernel on two pools must be bitwise equal. */
static void same_bits(const char *what, const float *a, const float *b, size_t n) {
    if (memcmp(a, b, n * sizeof(float)))
        for (size_t i = 0; i < n; i++)
            if (memcmp(a + i, b + i, sizeof(float)))
                fail_msg("%s[%zu]: %.9g on one pool, %.9g on another", what, i, a[i], b[i]);
}

/* ==== Threads ============================================================ */

typedef struct cover_ctx {
    int *hits;
    size_t n;
    int nested_nth;
} cover_ctx;

static void cover_task(void *p, int ith, int nth) {
    cover_ctx *c = p;
    size_t lo, hi;
    wd__split(c->n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
}

static void inner_task(void *p, int ith, int nth) { *(int *)p = nth; }

static void nested_task(void *p, int ith, int nth) {
    cover_ctx *c = p;
    int inner = -1;
    wd__parallel_for(pools[2], inner_task, &inner, 1 << 20);
    if (ith == 0) c->nested_nth = inner;
}

static void test_threadpool(void **state) {
    wd_threadpool *tp = (wd_threadpool *)1;
    assert_int_equal(wd_threadpool_new(-1, &tp), WD_ERR_INVALID_ARG);
    assert_null(tp);
    assert_int_equal(wd_threadpool_new(5000, &tp), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_threadpool_new(1, &tp), WD_OK);
    assert_int_equal(wd_threadpool_n_threads(tp), 1);
    wd_threadpool_free(tp);
    wd_threadpool_free(NULL);
    assert_int_equal(wd_threadpool_n_threads(NULL), 1);
    assert_int_equal(wd_threadpool_new(0, &tp), WD_OK);
    assert_true(wd_threadpool_n_threads(tp) >= 1);
    wd_threadpool_free(tp);

    /* every index covered exactly once, for sizes below and above nth */
    for (int pi = 0; pi < N_POOLS; pi++)
        for (size_t n = 0; n < 40; n++) {
            int hits[40] = {0};
            cover_ctx c = {.hits = hits, .n = n};
            wd__parallel_for(pools[pi], cover_task, &c, n);
            for (size_t i = 0; i < n; i++) assert_int_equal(hits[i], 1);
        }
    /* split: contiguous, ordered, sizes differ by at most one */
    for (int nth = 1; nth < 9; nth++)
        for (size_t n = 0; n < 30; n++) {
            size_t prev = 0;
            for (int ith = 0; ith < nth; ith++) {
                size_t lo, hi;
                wd__split(n, ith, nth, &lo, &hi);
                assert_int_equal(lo, prev);
                assert_true(hi - lo == n / nth || hi - lo == n / nth + 1);
                prev = hi;
            }
            assert_int_equal(prev, n);
        }
    /* many quick calls in a row (wake-up / completion races) */
    int hits[64] = {0};
    cover_ctx c = {.hits = hits, .n = 64};
    for (int r = 0; r < 2000; r++) wd__parallel_for(pools[2], cover_task, &c, 64);
    for (int i = 0; i < 64; i++) assert_int_equal(hits[i], 2000);
    /* a kernel inside a kernel runs serially instead of deadlocking */
    cover_ctx nc = {.nested_nth = -1};
    wd__parallel_for(pools[1], nested_task, &nc, 1 << 20);
    assert_int_equal(nc.nested_nth, 1);
    /* BLAS thread count can be set and read back */
    int old = wd_blas_threads();
    wd_blas_set_threads(1);
    assert_int_equal(wd_blas_threads(), 1);
    wd_blas_set_threads(old);
}

/* ==== Matmul ============================================================= */

static void matmul_model(const model *m, double *out) {
    const double *x = m->p[0], *w = m->p[1], *b = m->p[2];
    for (size_t n = 0; n < m->N; n++)
        for (size_t oc = 0; oc < m->OC; oc++) {
            double acc = m->flag ? b[oc] : 0.0;
            for (size_t c = 0; c < m->C; c++) acc += x[n * m->C + c] * w[oc * m->C + c];
            out[n * m->OC + oc] = acc;
        }
}

static void test_matmul(void **state) {
    size_t shapes[][3] = {{1, 1, 1}, {1, 7, 5}, {3, 5, 4}, {8, 16, 12}, {5, 33, 17}, {2, 64, 3}, {64, 100, 70}, {16, 47, 9}, {3, 250, 31}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int bias = 0; bias < 2; bias++) {
            size_t N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
            float *x = randf(N * C, -1, 1), *w = randf(OC * C, -1, 1), *b = randf(OC, -1, 1);
            float *out = randf(N * OC, -9, 9), *ref = randf(N * OC, -9, 9);
            wd_op_matmul_fwd(out, x, w, bias ? b : NULL, N, C, OC);
            wd_op_matmul_fwd_ref(ref, x, w, bias ? b : NULL, N, C, OC);
            close_f("matmul fwd vs ref", out, ref, N * OC, 1e-5 * sqrt((double)C), 1e-5);
            for (int pi = 0; pi < 3; pi++) {
                wd_op_matmul_fwd_small(out, x, w, bias ? b : NULL, N, C, OC, pools[pi]);
                close_f("matmul fwd small vs ref", out, ref, N * OC, 1e-5 * sqrt((double)C), 1e-5);
            }

            model m = {.fwd = matmul_model, .n_out = N * OC, .N = N, .C = C, .OC = OC, .flag = bias};
            m.p[0] = tod(x, N * C), m.p[1] = tod(w, OC * C), m.p[2] = tod(b, OC);
            float *R = randf(N * OC, -1, 1);
            m.R = tod(R, N * OC), m.out = malloc(N * OC * sizeof(double));
            m.fwd(&m, m.out);
            close_d("matmul fwd vs model", out, m.out, N * OC, 1e-5 * sqrt((double)C), 1e-5);

            float *dx0 = randf(N * C, -1, 1), *dw0 = randf(OC * C, -1, 1), *db0 = randf(OC, -1, 1);
            float *dx = copyf(dx0, N * C), *dw = copyf(dw0, OC * C), *db = copyf(db0, OC);
            float *rdx = copyf(dx0, N * C), *rdw = copyf(dw0, OC * C), *rdb = copyf(db0, OC);
            wd_op_matmul_bwd(dx, dw, db, R, x, w, N, C, OC);
            wd_op_matmul_bwd_ref(rdx, rdw, rdb, R, x, w, N, C, OC);
            close_f("matmul dx vs ref", dx, rdx, N * C, 1e-5 * sqrt((double)OC), 1e-5);
            close_f("matmul dw vs ref", dw, rdw, OC * C, 1e-5 * sqrt((double)N), 1e-5);
            close_f("matmul db vs ref", db, rdb, OC, 1e-5 * sqrt((double)N), 1e-5);
            if (N * C * OC < 20000) {
                fd_check("matmul dx", &m, m.p[0], N * C, dx, dx0);
                fd_check("matmul dw", &m, m.p[1], OC * C, dw, dw0);
                if (bias) fd_check("matmul db", &m, m.p[2], OC, db, db0);
            }
            /* NULL gradients are skipped */
            float *dx2 = copyf(dx0, N * C);
            wd_op_matmul_bwd(dx2, NULL, NULL, R, x, w, N, C, OC);
            close_f("matmul dx only", dx2, dx, N * C, 1e-6, 1e-6);

            free(x), free(w), free(b), free(out), free(ref), free(R), free(dx0), free(dw0);
            free(db0), free(dx), free(dw), free(db), free(rdx), free(rdw), free(rdb), free(dx2);
            free(m.p[0]), free(m.p[1]), free(m.p[2]), free(m.R), free(m.out);
        }
    /* the plain product */
    size_t nn[][3] = {{1, 1, 1}, {1, 9, 4}, {5, 3, 7}, {33, 17, 65}};
    for (size_t s = 0; s < 4; s++) {
        size_t M = nn[s][0], K = nn[s][1], N = nn[s][2];
        float *a = randf(M * K, -1, 1), *b = randf(K * N, -1, 1);
        float *c = randf(M * N, -9, 9), *cr = randf(M * N, -9, 9);
        wd_op_matmul_nn(c, a, b, M, K, N);
        wd_op_matmul_nn_ref(cr, a, b, M, K, N);
        double *want = malloc(M * N * sizeof *want);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                double acc = 0;
                for (size_t k = 0; k < K; k++) acc += (double)a[i * K + k] * b[k * N + j];
                want[i * N + j] = acc;
            }
        close_d("matmul_nn vs model", c, want, M * N, 1e-5 * sqrt((double)K), 1e-5);
        close_d("matmul_nn_ref vs model", cr, want, M * N, 1e-6, 1e-6);
        free(a), free(b), free(c), free(cr), free(want);
    }
}

/* ==== Embedding ========================================================== */

static void embedding_model(const model *m, double *out) {
    for (size_t n = 0; n < m->N; n++)
        for (size_t c = 0; c < m->C; c++) out[n * m->C + c] = m->p[0][(size_t)m->ids[n] * m->C + c];
}

static void test_embedding(void **state) {
    size_t V = 11, C = 6, N = 9;
    int32_t ids[9] = {3, 0, 10, 3, 3, 7, 0, 1, 10};
    float *w = randf(V * C, -1, 1), *R = randf(N * C, -1, 1);
    float *out[N_POOLS], *ref = randf(N * C, -1, 1);
    assert_int_equal(wd_op_embedding_fwd_ref(ref, ids, w, N, C, V), WD_OK);
    for (int pi = 0; pi < N_POOLS; pi++) {
        out[pi] = randf(N * C, -1, 1);
        assert_int_equal(wd_op_embedding_fwd(out[pi], ids, w, N, C, V, pools[pi]), WD_OK);
        for (size_t n = 0; n < N; n++) assert_memory_equal(out[pi] + n * C, w + ids[n] * C, C * 4);
    }
    same_bits("embedding fwd", out[0], ref, N * C);

    float *dw0 = randf(V * C, -1, 1), *rdw = copyf(dw0, V * C);
    assert_int_equal(wd_op_embedding_bwd_ref(rdw, R, ids, N, C, V), WD_OK);
    model m = {.fwd = embedding_model, .n_out = N * C, .N = N, .C = C, .ids = ids};
    m.p[0] = tod(w, V * C), m.R = tod(R, N * C), m.out = malloc(N * C * sizeof(double));
    for (int pi = 0; pi < N_POOLS; pi++) {
        float *dw = copyf(dw0, V * C);
        assert_int_equal(wd_op_embedding_bwd(dw, R, ids, N, C, V, pools[pi]), WD_OK);
        same_bits("embedding bwd vs ref", dw, rdw, V * C); /* same order of additions */
        fd_check("embedding dw", &m, m.p[0], V * C, dw, dw0);
        free(dw);
    }
    /* ids out of range: an error naming the id, nothing written */
    int32_t bad[3] = {1, 11, 2}, neg[2] = {0, -1};
    float *keep = copyf(out[0], N * C);
    assert_int_equal(wd_op_embedding_fwd(out[0], bad, w, 3, C, V, pools[1]), WD_ERR_RANGE);
    assert_non_null(strstr(wd_last_error(), "id 11"));
    assert_int_equal(wd_op_embedding_fwd(out[0], neg, w, 2, C, V, NULL), WD_ERR_RANGE);
    assert_int_equal(wd_op_embedding_fwd_ref(out[0], neg, w, 2, C, V), WD_ERR_RANGE);
    assert_memory_equal(out[0], keep, N * C * 4);
    float *dw = copyf(dw0, V * C);
    assert_int_equal(wd_op_embedding_bwd(dw, R, bad, 3, C, V, NULL), WD_ERR_RANGE);
    assert_int_equal(wd_op_embedding_bwd_ref(dw, R, neg, 2, C, V), WD_ERR_RANGE);
    assert_memory_equal(dw, dw0, V * C * 4);
    free(dw), free(keep);
    for (int pi = 0; pi < N_POOLS; pi++) free(out[pi]);
    free(w), free(R), free(ref), free(dw0), free(rdw), free(m.p[0]), free(m.R), free(m.out);
}

/* ==== RMSNorm and LayerNorm ============================================== */

static const size_t norm_shapes[][2] = {{1, 1}, {1, 7}, {3, 5}, {4, 64}, {17, 33}, {2, 300}};
#define N_NORM_SHAPES (sizeof norm_shapes / sizeof norm_shapes[0])

static void rmsnorm_model(const model *m, double *out) {
    const double *x = m->p[0], *w = m->p[1];
    for (size_t n = 0; n < m->N; n++) {
        double ss = 0;
        for (size_t c = 0; c < m->C; c++) ss += x[n * m->C + c] * x[n * m->C + c];
        double r = 1.0 / sqrt(ss / (double)m->C + m->eps);
        for (size_t c = 0; c < m->C; c++) out[n * m->C + c] = x[n * m->C + c] * r * w[c];
    }
}

static void test_rmsnorm(void **state) {
    float eps = 1e-5f;
    for (size_t s = 0; s < N_NORM_SHAPES; s++) {
        size_t N = norm_shapes[s][0], C = norm_shapes[s][1];
        float *x = randf(N * C, -2, 2), *w = randf(C, 0.5f, 1.5f), *R = randf(N * C, -1, 1);
        float *ref = randf(N * C, -1, 1), *rrstd = randf(N, -1, 1);
        wd_op_rmsnorm_fwd_ref(ref, rrstd, x, w, N, C, eps);
        model m = {.fwd = rmsnorm_model, .n_out = N * C, .N = N, .C = C, .eps = eps};
        m.p[0] = tod(x, N * C), m.p[1] = tod(w, C), m.R = tod(R, N * C);
        m.out = malloc(N * C * sizeof(double));
        m.fwd(&m, m.out);
        close_d("rmsnorm ref vs model", ref, m.out, N * C, 1e-6, 1e-5);

        float *dx0 = randf(N * C, -1, 1), *dw0 = randf(C, -1, 1);
        float *rdx = copyf(dx0, N * C), *rdw = copyf(dw0, C);
        wd_op_rmsnorm_bwd_ref(rdx, rdw, R, x, w, rrstd, N, C);
        fd_check("rmsnorm_ref dx", &m, m.p[0], N * C, rdx, dx0);
        fd_check("rmsnorm_ref dw", &m, m.p[1], C, rdw, dw0);

        float *out0 = NULL, *dx0p = NULL, *dw0p = NULL;
        for (int pi = 0; pi < N_POOLS; pi++) {
            float *out = randf(N * C, -1, 1), *rstd = randf(N, -1, 1);
            wd_op_rmsnorm_fwd(out, rstd, x, w, N, C, eps, pools[pi]);
            close_f("rmsnorm fwd vs ref", out, ref, N * C, 1e-6, 1e-5);
            close_f("rmsnorm rstd vs ref", rstd, rrstd, N, 0, 1e-6);
            float *dx = copyf(dx0, N * C), *dw = copyf(dw0, C);
            wd_op_rmsnorm_bwd(dx, dw, R, x, w, rstd, N, C, pools[pi]);
            close_f("rmsnorm dx vs ref", dx, rdx, N * C, 1e-5, 1e-4);
            close_f("rmsnorm dw vs ref", dw, rdw, C, 1e-5, 1e-4);
            fd_check("rmsnorm dx", &m, m.p[0], N * C, dx, dx0);
            fd_check("rmsnorm dw", &m, m.p[1], C, dw, dw0);
            if (pi == 0) {
                out0 = out, dx0p = dx, dw0p = dw;
            } else {
                same_bits("rmsnorm fwd", out, out0, N * C);
                same_bits("rmsnorm dx", dx, dx0p, N * C);
                same_bits("rmsnorm dw", dw, dw0p, C);
                free(out), free(dx), free(dw);
            }
            free(rstd);
        }
        float *dx = copyf(dx0, N * C);
        wd_op_rmsnorm_bwd(dx, NULL, R, x, w, rrstd, N, C, pools[2]); /* dw NULL */
        same_bits("rmsnorm dx without dw", dx, dx0p, N * C);
        free(dx), free(out0), free(dx0p), free(dw0p);
        free(x), free(w), free(R), free(ref), free(rrstd), free(dx0), free(dw0), free(rdx);
        free(rdw), free(m.p[0]), free(m.p[1]), free(m.R), free(m.out);
    }
}

static void layernorm_model(const model *m, double *out) {
    const double *x = m->p[0], *w = m->p[1], *b = m->p[2];
    size_t C = m->C;
    for (size_t n = 0; n < m->N; n++) {
        double mean = 0, var = 0;
        for (size_t c = 0; c < C; c++) mean += x[n * C + c];
        mean /= (double)C;
        for (size_t c = 0; c < C; c++) var += (x[n * C + c] - mean) * (x[n * C + c] - mean);
        var /= (double)C;
        for (size_t c = 0; c < C; c++)
            out[n * C + c] = (x[n * C + c] - mean) / sqrt(var + m->eps) * w[c] + (m->flag ? b[c] : 0);
    }
}

static void test_layernorm(void **state) {
    float eps = 1e-5f;
    for (size_t s = 0; s < N_NORM_SHAPES; s++)
        for (int bias = 0; bias < 2; bias++) {
            size_t N = norm_shapes[s][0], C = norm_shapes[s][1];
            if (C == 1) continue; /* variance 0: output is just b; skip the FD */
            float *x = randf(N * C, -2, 3), *w = randf(C, 0.5f, 1.5f), *b = randf(C, -1, 1);
            float *R = randf(N * C, -1, 1), *ref = randf(N * C, -1, 1);
            float *rmean = randf(N, -1, 1), *rrstd = randf(N, -1, 1);
            const float *bp = bias ? b : NULL;
            wd_op_layernorm_fwd_ref(ref, rmean, rrstd, x, w, bp, N, C, eps);
            model m = {.fwd = layernorm_model, .n_out = N * C, .N = N, .C = C, .eps = eps, .flag = bias};
            m.p[0] = tod(x, N * C), m.p[1] = tod(w, C), m.p[2] = tod(b, C), m.R = tod(R, N * C);
            m.out = malloc(N * C * sizeof(double));
            m.fwd(&m, m.out);
            close_d("layernorm ref vs model", ref, m.out, N * C, 1e-6, 1e-5);

            float *dx0 = randf(N * C, -1, 1), *dw0 = randf(C, -1, 1), *db0 = randf(C, -1, 1);
            float *rdx = copyf(dx0, N * C), *rdw = copyf(dw0, C), *rdb = copyf(db0, C);
            wd_op_layernorm_bwd_ref(rdx, rdw, bias ? rdb : NULL, R, x, w, rmean, rrstd, N, C);
            fd_check("layernorm_ref dx", &m, m.p[0], N * C, rdx, dx0);
            fd_check("layernorm_ref dw", &m, m.p[1], C, rdw, dw0);
            if (bias) fd_check("layernorm_ref db", &m, m.p[2], C, rdb, db0);

            float *keep[3] = {0};
            for (int pi = 0; pi < N_POOLS; pi++) {
                float *out = randf(N * C, -1, 1), *mean = randf(N, -1, 1), *rstd = randf(N, -1, 1);
                wd_op_layernorm_fwd(out, mean, rstd, x, w, bp, N, C, eps, pools[pi]);
                close_f("layernorm fwd vs ref", out, ref, N * C, 1e-5, 1e-5);
                float *dx = copyf(dx0, N * C), *dw = copyf(dw0, C), *db = copyf(db0, C);
                wd_op_layernorm_bwd(dx, dw, bias ? db : NULL, R, x, w, mean, rstd, N, C, pools[pi]);
                close_f("layernorm dx vs ref", dx, rdx, N * C, 1e-5, 1e-4);
                close_f("layernorm dw vs ref", dw, rdw, C, 1e-5, 1e-4);
                close_f("layernorm db vs ref", db, rdb, C, 1e-5, 1e-4);
                fd_check("layernorm dx", &m, m.p[0], N * C, dx, dx0);
                fd_check("layernorm dw", &m, m.p[1], C, dw, dw0);
                if (bias) fd_check("layernorm db", &m, m.p[2], C, db, db0);
                if (pi == 0) {
                    keep[0] = out, keep[1] = dx, keep[2] = dw;
                } else {
                    same_bits("layernorm fwd", out, keep[0], N * C);
                    same_bits("layernorm dx", dx, keep[1], N * C);
                    same_bits("layernorm dw", dw, keep[2], C);
                    free(out), free(dx), free(dw);
                }
                free(mean), free(rstd), free(db);
            }
            free(keep[0]), free(keep[1]), free(keep[2]);
            free(x), free(w), free(b), free(R), free(ref), free(rmean), free(rrstd), free(dx0);
            free(dw0), free(db0), free(rdx), free(rdw), free(rdb);
            free(m.p[0]), free(m.p[1]), free(m.p[2]), free(m.R), free(m.out);
        }
}

/* ==== Softmax ============================================================ */

static void softmax_model(const model *m, double *out) {
    const double *x = m->p[0];
    size_t C = m->C, rows = m->flag ? m->B * m->T : m->N;
    for (size_t r = 0; r < rows; r++) {
        size_t len = m->flag ? C - m->T + r % m->T + 1 : C;
        double mx = -INFINITY, s = 0;
        for (size_t c = 0; c < len; c++) mx = fmax(mx, x[r * C + c]);
        for (size_t c = 0; c < len; c++) s += exp(x[r * C + c] - mx);
        for (size_t c = 0; c < C; c++) out[r * C + c] = c < len ? exp(x[r * C + c] - mx) / s : 0.0;
    }
}

static void check_softmax(size_t B, size_t T, size_t C, int causal) {
    size_t N = B * T, n = N * C;
    float *x = randf(n, -4, 4), *R = randf(n, -1, 1), *ref = randf(n, -1, 1);
    if (causal) wd_op_softmax_causal_fwd_ref(ref, x, B, T, C);
    else wd_op_softmax_fwd_ref(ref, x, N, C);
    model m = {.fwd = softmax_model, .n_out = n, .N = N, .B = B, .T = T, .C = C, .flag = causal};
    m.p[0] = tod(x, n), m.R = tod(R, n), m.out = malloc(n * sizeof(double));
    m.fwd(&m, m.out);
    close_d("softmax ref vs model", ref, m.out, n, 1e-7, 1e-6);
    float *dx0 = randf(n, -1, 1), *rdx = copyf(dx0, n), *keep[2] = {0};
    wd_op_softmax_bwd_ref(rdx, R, ref, N, C);
    fd_check("softmax_ref dx", &m, m.p[0], n, rdx, dx0);
    for (int pi = 0; pi < N_POOLS; pi++) {
        float *p = randf(n, -1, 1), *dx = copyf(dx0, n);
        if (causal) wd_op_softmax_causal_fwd(p, x, B, T, C, pools[pi]);
        else wd_op_softmax_fwd(p, x, N, C, pools[pi]);
        close_f("softmax fwd vs ref", p, ref, n, 1e-7, 1e-5);
        wd_op_softmax_bwd(dx, R, p, N, C, pools[pi]);
        close_f("softmax dx vs ref", dx, rdx, n, 1e-6, 1e-5);
        fd_check("softmax dx", &m, m.p[0], n, dx, dx0);
        if (pi == 0) {
            keep[0] = p, keep[1] = dx;
        } else {
            same_bits("softmax fwd", p, keep[0], n);
            same_bits("softmax dx", dx, keep[1], n);
            free(p), free(dx);
        }
    }
    free(keep[0]), free(keep[1]), free(x), free(R), free(ref), free(dx0), free(rdx);
    free(m.p[0]), free(m.R), free(m.out);
}

static void test_softmax(void **state) {
    size_t shapes[][2] = {{1, 1}, {1, 7}, {3, 5}, {16, 33}, {2, 1000}};
    for (size_t s = 0; s < 5; s++) check_softmax(1, shapes[s][0], shapes[s][1], 0);
    size_t cs[][3] = {{1, 1, 1}, {2, 3, 5}, {1, 4, 4}, {3, 1, 6}, {2, 7, 9}};
    for (size_t s = 0; s < 5; s++) check_softmax(cs[s][0], cs[s][1], cs[s][2], 1);

    /* large logits stay finite (max-subtracted); an all -inf row is zeros */
    float x[8] = {1000, 999, -1000, 0, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    float p[8], pr[8];
    wd_op_softmax_fwd(p, x, 2, 4, NULL);
    wd_op_softmax_fwd_ref(pr, x, 2, 4);
    double e1 = exp(-1.0);
    assert_float_equal(p[0], 1.0 / (1.0 + e1), 1e-6);
    assert_float_equal(p[1], e1 / (1.0 + e1), 1e-6);
    assert_float_equal(p[2], 0.0, 0);
    for (int i = 4; i < 8; i++) assert_true(p[i] == 0.0f && pr[i] == 0.0f);
    /* causal: row t of the last T queries sees keys 0 .. C-T+t */
    float xs[6] = {0, 0, 0, 0, 0, 0}, ps[6];
    wd_op_softmax_causal_fwd(ps, xs, 1, 2, 3, NULL);
    assert_float_equal(ps[0], 0.5, 1e-7);
    assert_float_equal(ps[1], 0.5, 1e-7);
    assert_true(ps[2] == 0.0f);
    for (int i = 3; i < 6; i++) assert_float_equal(ps[i], 1.0 / 3, 1e-7);
}

/* ==== RoPE (gradients; values and layouts are in test_rope.c) ============ */

static void rope_model(const model *m, double *out) {
    const double *x = m->p[0], *cs = m->p[1], *sn = m->p[2];
    size_t half = m->D / 2;
    for (size_t n = 0; n < m->N; n++)
        for (size_t h = 0; h < m->H; h++)
            for (size_t i = 0; i < half; i++) {
                size_t base = (n * m->H + h) * m->D;
                size_t ja = base + (m->flag == WD_ROPE_LAYOUT_HALF ? i : 2 * i);
                size_t jb = base + (m->flag == WD_ROPE_LAYOUT_HALF ? i + half : 2 * i + 1);
                double c = cs[n * half + i], s = sn[n * half + i];
                out[ja] = x[ja] * c - x[jb] * s;
                out[jb] = x[jb] * c + x[ja] * s;
            }
}

static void test_rope_grad(void **state) {
    size_t shapes[][3] = {{1, 1, 2}, {3, 2, 8}, {5, 3, 6}, {2, 4, 64}};
    for (size_t s = 0; s < 4; s++)
        for (int layout = 0; layout < 2; layout++) {
            size_t N = shapes[s][0], H = shapes[s][1], D = shapes[s][2], n = N * H * D;
            wd_rope_params rp = wd_rope_params_default();
            rp.head_dim = (int)D;
            float inv[64], *cs = malloc(N * D / 2 * 4), *sn = malloc(N * D / 2 * 4);
            int32_t pos[5] = {0, 7, 3, 1000, 42};
            assert_int_equal(wd_rope_inv_freq(inv, &rp), WD_OK);
            wd_rope_table(cs, sn, inv, pos, N, D);
            float *x = randf(n, -1, 1), *R = randf(n, -1, 1), *ref = randf(n, -1, 1);
            wd_op_rope_fwd_ref(ref, x, cs, sn, N, H, D, (wd_rope_layout)layout);
            model m = {.fwd = rope_model, .n_out = n, .N = N, .H = H, .D = D, .flag = layout};
            m.p[0] = tod(x, n), m.p[1] = tod(cs, N * D / 2), m.p[2] = tod(sn, N * D / 2);
            m.R = tod(R, n), m.out = malloc(n * sizeof(double));
            m.fwd(&m, m.out);
            close_d("rope ref vs model", ref, m.out, n, 1e-7, 1e-6);
            float *dx0 = randf(n, -1, 1), *rdx = copyf(dx0, n);
            wd_op_rope_bwd_ref(rdx, R, cs, sn, N, H, D, (wd_rope_layout)layout);
            fd_check("rope_ref dx", &m, m.p[0], n, rdx, dx0);
            for (int pi = 0; pi < N_POOLS; pi++) {
                float *out = randf(n, -1, 1), *dx = copyf(dx0, n), *inplace = copyf(x, n);
                wd_op_rope_fwd(out, x, cs, sn, N, H, D, (wd_rope_layout)layout, pools[pi]);
                close_f("rope fwd vs ref", out, ref, n, 1e-7, 1e-6);
                wd_op_rope_fwd(inplace, inplace, cs, sn, N, H, D, (wd_rope_layout)layout, pools[pi]);
                same_bits("rope in place", inplace, out, n);
                wd_op_rope_bwd(dx, R, cs, sn, N, H, D, (wd_rope_layout)layout, pools[pi]);
                close_f("rope dx vs ref", dx, rdx, n, 1e-6, 1e-6);
                fd_check("rope dx", &m, m.p[0], n, dx, dx0);
                free(out), free(dx), free(inplace);
            }
            free(cs), free(sn), free(x), free(R), free(ref), free(dx0), free(rdx);
            free(m.p[0]), free(m.p[1]), free(m.p[2]), free(m.R), free(m.out);
        }
}

/* ==== Activations and residual =========================================== */

enum { K_SILU, K_GELU, K_GELU_TANH, K_SWIGLU, K_RESIDUAL };

static void act_model(const model *m, double *out) {
    const double *x = m->p[0], *y = m->p[1];
    for (size_t i = 0; i < m->N; i++) {
        double v = x[i];
        switch (m->flag) {
        case K_SILU: out[i] = v / (1 + exp(-v)); break;
        case K_GELU: out[i] = 0.5 * v * (1 + erf(v / sqrt(2.0))); break;
        case K_GELU_TANH:
            out[i] = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
            break;
        case K_SWIGLU: out[i] = v / (1 + exp(-v)) * y[i]; break;
        case K_RESIDUAL: out[i] = v + y[i]; break;
        }
    }
}

static void run_act_fwd(int kind, float *out, const float *x, const float *y, size_t n,
                        wd_threadpool *tp, int ref) {
    switch (kind) {
    case K_SILU: ref ? wd_op_silu_fwd_ref(out, x, n) : wd_op_silu_fwd(out, x, n, tp); break;
    case K_GELU: ref ? wd_op_gelu_fwd_ref(out, x, n) : wd_op_gelu_fwd(out, x, n, tp); break;
    case K_GELU_TANH:
        ref ? wd_op_gelu_tanh_fwd_ref(out, x, n) : wd_op_gelu_tanh_fwd(out, x, n, tp);
        break;
    case K_SWIGLU:
        ref ? wd_op_swiglu_fwd_ref(out, x, y, n) : wd_op_swiglu_fwd(out, x, y, n, tp);
        break;
    case K_RESIDUAL:
        ref ? wd_op_residual_fwd_ref(out, x, y, n) : wd_op_residual_fwd(out, x, y, n, tp);
        break;
    }
}

static void run_act_bwd(int kind, float *dx, float *dy, const float *dout, const float *x,
                        const float *y, size_t n, wd_threadpool *tp, int ref) {
    switch (kind) {
    case K_SILU:
        ref ? wd_op_silu_bwd_ref(dx, dout, x, n) : wd_op_silu_bwd(dx, dout, x, n, tp);
        break;
    case K_GELU:
        ref ? wd_op_gelu_bwd_ref(dx, dout, x, n) : wd_op_gelu_bwd(dx, dout, x, n, tp);
        break;
    case K_GELU_TANH:
        ref ? wd_op_gelu_tanh_bwd_ref(dx, dout, x, n) : wd_op_gelu_tanh_bwd(dx, dout, x, n, tp);
        break;
    case K_SWIGLU:
        ref ? wd_op_swiglu_bwd_ref(dx, dy, dout, x, y, n)
            : wd_op_swiglu_bwd(dx, dy, dout, x, y, n, tp);
        break;
    case K_RESIDUAL:
        ref ? wd_op_residual_bwd_ref(dx, dy, dout, n) : wd_op_residual_bwd(dx, dy, dout, n, tp);
        break;
    }
}

static void test_activations(void **state) {
    const char *names[] = {"silu", "gelu", "gelu_tanh", "swiglu", "residual"};
    size_t sizes[] = {1, 7, 100, 1001};
    for (int kind = 0; kind < 5; kind++)
        for (size_t s = 0; s < 4; s++) {
            size_t n = sizes[s];
            int two = kind >= K_SWIGLU;
            float *x = randf(n, -6, 6), *y = randf(n, -2, 2), *R = randf(n, -1, 1);
            float *ref = randf(n, -1, 1), *dx0 = randf(n, -1, 1), *dy0 = randf(n, -1, 1);
            run_act_fwd(kind, ref, x, y, n, NULL, 1);
            model m = {.fwd = act_model, .n_out = n, .N = n, .flag = kind};
            m.p[0] = tod(x, n), m.p[1] = tod(y, n), m.R = tod(R, n), m.out = malloc(n * sizeof(double));
            m.fwd(&m, m.out);
            close_d(names[kind], ref, m.out, n, 1e-7, 1e-6);
            float *rdx = copyf(dx0, n), *rdy = copyf(dy0, n), *keep[3] = {0};
            run_act_bwd(kind, rdx, two ? rdy : NULL, R, x, y, n, NULL, 1);
            fd_check(names[kind], &m, m.p[0], n, rdx, dx0);
            if (two) fd_check(names[kind], &m, m.p[1], n, rdy, dy0);
            for (int pi = 0; pi < N_POOLS; pi++) {
                float *out = randf(n, -1, 1), *dx = copyf(dx0, n), *dy = copyf(dy0, n);
                run_act_fwd(kind, out, x, y, n, pools[pi], 0);
                close_f(names[kind], out, ref, n, 1e-6, 1e-5);
                run_act_bwd(kind, dx, two ? dy : NULL, R, x, y, n, pools[pi], 0);
                close_f(names[kind], dx, rdx, n, 1e-6, 1e-5);
                fd_check(names[kind], &m, m.p[0], n, dx, dx0);
                if (two) fd_check(names[kind], &m, m.p[1], n, dy, dy0);
                if (pi == 0) {
                    keep[0] = out, keep[1] = dx, keep[2] = dy;
                } else {
                    same_bits(names[kind], out, keep[0], n);
                    same_bits(names[kind], dx, keep[1], n);
                    same_bits(names[kind], dy, keep[2], n);
                    free(out), free(dx), free(dy);
                }
            }
            free(keep[0]), free(keep[1]), free(keep[2]);
            free(x), free(y), free(R), free(ref), free(dx0), free(dy0), free(rdx), free(rdy);
            free(m.p[0]), free(m.p[1]), free(m.R), free(m.out);
        }
    /* far tails: finite, and the right limits */
    float big[6] = {-100, -30, 30, 100, -1e30f, 1e30f}, o[6];
    for (int kind = 0; kind < 3; kind++) {
        run_act_fwd(kind, o, big, NULL, 6, NULL, 0);
        for (int i = 0; i < 6; i++) assert_false(isnan(o[i]));
        assert_float_equal(o[3], 100.0, 1e-4);
        assert_float_equal(o[0], 0.0, 1e-4);
    }
    /* in place is allowed for the forwards */
    float a[5] = {1, -2, 3, 0.5f, -0.25f}, b[5] = {2, 2, 2, 2, 2}, want[5];
    wd_op_swiglu_fwd_ref(want, a, b, 5);
    wd_op_swiglu_fwd(a, a, b, 5, pools[1]);
    close_f("swiglu in place", a, want, 5, 1e-7, 1e-6);
}

/* ==== Cross-entropy ====================================================== */

static void ce_model(const model *m, double *out) {
    const double *x = m->p[0];
    size_t V = m->C;
    for (size_t n = 0; n < m->N; n++) {
        if (m->ids[n] == WD_IGNORE_INDEX) {
            out[n] = 0;
            continue;
        }
        double mx = -INFINITY, s = 0;
        for (size_t v = 0; v < V; v++) mx = fmax(mx, x[n * V + v]);
        for (size_t v = 0; v < V; v++) s += exp(x[n * V + v] - mx);
        out[n] = mx + log(s) - x[n * V + m->ids[n]];
    }
}

static void test_crossentropy(void **state) {
    size_t shapes[][2] = {{1, 1}, {1, 5}, {6, 7}, {9, 130}};
    for (size_t s = 0; s < 4; s++) {
        size_t N = shapes[s][0], V = shapes[s][1];
        int32_t *t = malloc(N * sizeof *t);
        for (size_t n = 0; n < N; n++) t[n] = (int32_t)(wdt_rand(&seed) % V);
        if (N > 2) t[2] = WD_IGNORE_INDEX;
        float *x = randf(N * V, -5, 5), *dl = randf(N, -1, 1);
        float *rl = randf(N, -1, 1), *rp = randf(N * V, -1, 1);
        assert_int_equal(wd_op_crossentropy_fwd_ref(rl, rp, x, t, N, V), WD_OK);
        model m = {.fwd = ce_model, .n_out = N, .N = N, .C = V, .ids = t};
        m.p[0] = tod(x, N * V), m.R = tod(dl, N), m.out = malloc(N * sizeof(double));
        m.fwd(&m, m.out);
        close_d("crossentropy ref vs model", rl, m.out, N, 1e-6, 1e-6);
        float *d0 = randf(N * V, -1, 1), *rd = copyf(d0, N * V);
        assert_int_equal(wd_op_crossentropy_bwd_ref(rd, dl, rp, t, N, V), WD_OK);
        fd_check("crossentropy_ref dlogits", &m, m.p[0], N * V, rd, d0);
        for (int pi = 0; pi < N_POOLS; pi++) {
            float *l = randf(N, -1, 1), *p = randf(N * V, -1, 1), *d = copyf(d0, N * V);
            float *l2 = randf(N, -1, 1);
            assert_int_equal(wd_op_crossentropy_fwd(l, p, x, t, N, V, pools[pi]), WD_OK);
            close_f("crossentropy loss vs ref", l, rl, N, 1e-6, 1e-6);
            close_f("crossentropy probs vs ref", p, rp, N * V, 1e-7, 1e-5);
            assert_int_equal(wd_op_crossentropy_fwd(l2, NULL, x, t, N, V, pools[pi]), WD_OK);
            same_bits("crossentropy without probs", l2, l, N);
            assert_int_equal(wd_op_crossentropy_bwd(d, dl, p, t, N, V, pools[pi]), WD_OK);
            close_f("crossentropy dlogits vs ref", d, rd, N * V, 1e-6, 1e-5);
            fd_check("crossentropy dlogits", &m, m.p[0], N * V, d, d0);
            if (N > 2) assert_memory_equal(d + 2 * V, d0 + 2 * V, V * 4); /* ignored row */
            free(l), free(p), free(d), free(l2);
        }
        free(t), free(x), free(dl), free(rl), free(rp), free(d0), free(rd);
        free(m.p[0]), free(m.R), free(m.out);
    }
    /* extreme logits: the target's probability underflows but the loss is
     * exact from the log-sum-exp */
    float x[3] = {0, 200, -200}, l, p[3];
    int32_t t = 2;
    assert_int_equal(wd_op_crossentropy_fwd(&l, p, x, &t, 1, 3, NULL), WD_OK);
    assert_float_equal(l, 400.0, 1e-3);
    /* bad targets */
    int32_t bad[2] = {1, 3}, neg[1] = {-1};
    float ls[2] = {7, 7}, d[6] = {0};
    float x2[6] = {0};
    assert_int_equal(wd_op_crossentropy_fwd(ls, NULL, x2, bad, 2, 3, NULL), WD_ERR_RANGE);
    assert_non_null(strstr(wd_last_error(), "target 3"));
    assert_true(ls[0] == 7 && ls[1] == 7);
    assert_int_equal(wd_op_crossentropy_fwd_ref(ls, NULL, x2, neg, 1, 3), WD_ERR_RANGE);
    assert_int_equal(wd_op_crossentropy_bwd(d, ls, x2, bad, 2, 3, NULL), WD_ERR_RANGE);
    assert_int_equal(wd_op_crossentropy_bwd_ref(d, ls, x2, neg, 1, 3), WD_ERR_RANGE);
    for (int i = 0; i < 6; i++) assert_true(d[i] == 0);
}

/* ==== Random shapes: fast against _ref ================================== */

static size_t rnd(size_t lo, size_t hi) { return lo + (size_t)(wdt_rand(&seed) % (hi - lo + 1)); }

/* gradients start equal before each backward pair (they accumulate) */
#define SYNC()                                                    \
    (memcpy(d2, d1, big * 4), memcpy(e2, e1, (OC * C + V * C + C) * 4), \
     memcpy(f2, f1, (OC + C) * 4))

/* 40 random shapes (N, C, OC, H, D drawn independently, small and odd sizes
 * included), every fast kernel against its twin on a random pool. */
static void test_random_shapes(void **state) {
    for (int it = 0; it < 40; it++) {
        size_t N = it < 4 ? 1 : rnd(1, 37), C = rnd(1, 150), OC = rnd(1, 90);
        size_t H = rnd(1, 4), D = 2 * rnd(1, 20), V = rnd(1, 300);
        wd_threadpool *tp = pools[it % N_POOLS];
        size_t wide = V > H * D ? V : H * D, big = N * (C > OC ? C : OC) * (wide > C ? wide : C) + 1;
        float *x = randf(big, -2, 2), *w = randf(OC * C + V * C + C, 0.5f, 1.5f), *b = randf(OC + C, -1, 1);
        float *g = randf(big, -1, 1), *o1 = randf(big, 0, 1), *o2 = randf(big, 0, 1);
        float *s1 = randf(N + 1, 0, 1), *s2 = randf(N + 1, 0, 1), *m1 = randf(N + 1, 0, 1), *m2 = randf(N + 1, 0, 1);
        float *d1 = randf(big, -1, 1), *d2 = copyf(d1, big), *e1 = randf(OC * C + V * C + C, -1, 1);
        float *e2 = copyf(e1, OC * C + V * C + C), *f1 = randf(OC + C, -1, 1), *f2 = copyf(f1, OC + C);

        wd_op_matmul_fwd(o1, x, w, it % 2 ? b : NULL, N, C, OC);
        wd_op_matmul_fwd_ref(o2, x, w, it % 2 ? b : NULL, N, C, OC);
        close_f("matmul fwd", o1, o2, N * OC, 1e-5 * sqrt((double)C), 1e-5);
        wd_op_matmul_bwd(d1, e1, f1, g, x, w, N, C, OC);
        wd_op_matmul_bwd_ref(d2, e2, f2, g, x, w, N, C, OC);
        close_f("matmul dx", d1, d2, N * C, 1e-5 * sqrt((double)OC), 1e-5);
        close_f("matmul dw", e1, e2, OC * C, 1e-5 * sqrt((double)N), 1e-5);
        close_f("matmul db", f1, f2, OC, 1e-5 * sqrt((double)N), 1e-5);

        wd_op_rmsnorm_fwd(o1, s1, x, w, N, C, 1e-6f, tp);
        wd_op_rmsnorm_fwd_ref(o2, s2, x, w, N, C, 1e-6f);
        close_f("rmsnorm fwd", o1, o2, N * C, 1e-6, 1e-5);
        SYNC();
        wd_op_rmsnorm_bwd(d1, e1, g, x, w, s1, N, C, tp);
        wd_op_rmsnorm_bwd_ref(d2, e2, g, x, w, s1, N, C);
        close_f("rmsnorm dx", d1, d2, N * C, 1e-5, 1e-4);
        close_f("rmsnorm dw", e1, e2, C, 1e-5, 1e-4);

        wd_op_layernorm_fwd(o1, m1, s1, x, w, b, N, C, 1e-5f, tp);
        wd_op_layernorm_fwd_ref(o2, m2, s2, x, w, b, N, C, 1e-5f);
        close_f("layernorm fwd", o1, o2, N * C, 1e-5, 1e-5);
        SYNC();
        wd_op_layernorm_bwd(d1, e1, f1, g, x, w, m1, s1, N, C, tp);
        wd_op_layernorm_bwd_ref(d2, e2, f2, g, x, w, m1, s1, N, C);
        close_f("layernorm dx", d1, d2, N * C, 1e-4, 1e-4);
        close_f("layernorm dw", e1, e2, C, 1e-4, 1e-4);
        close_f("layernorm db", f1, f2, C, 1e-4, 1e-4);

        wd_op_softmax_fwd(o1, x, N, C, tp);
        wd_op_softmax_fwd_ref(o2, x, N, C);
        close_f("softmax fwd", o1, o2, N * C, 1e-7, 1e-5);
        SYNC();
        wd_op_softmax_bwd(d1, g, o1, N, C, tp);
        wd_op_softmax_bwd_ref(d2, g, o1, N, C);
        close_f("softmax dx", d1, d2, N * C, 1e-6, 1e-5);
        size_t T = rnd(1, C);
        wd_op_softmax_causal_fwd(o1, x, N, T, C, tp);
        wd_op_softmax_causal_fwd_ref(o2, x, N, T, C);
        close_f("softmax causal fwd", o1, o2, N * T * C, 1e-7, 1e-5);

        float *cs = randf(N * D / 2, -1, 1), *sn = randf(N * D / 2, -1, 1);
        for (int layout = 0; layout < 2; layout++) {
            wd_op_rope_fwd(o1, x, cs, sn, N, H, D, (wd_rope_layout)layout, tp);
            wd_op_rope_fwd_ref(o2, x, cs, sn, N, H, D, (wd_rope_layout)layout);
            close_f("rope fwd", o1, o2, N * H * D, 1e-6, 1e-6);
            SYNC();
            wd_op_rope_bwd(d1, g, cs, sn, N, H, D, (wd_rope_layout)layout, tp);
            wd_op_rope_bwd_ref(d2, g, cs, sn, N, H, D, (wd_rope_layout)layout);
            close_f("rope dx", d1, d2, N * H * D, 1e-6, 1e-6);
        }
        free(cs), free(sn);

        int32_t *t = malloc(N * sizeof *t);
        for (size_t n = 0; n < N; n++) t[n] = n % 5 == 4 ? WD_IGNORE_INDEX : (int32_t)rnd(0, V - 1);
        assert_int_equal(wd_op_crossentropy_fwd(s1, o1, x, t, N, V, tp), WD_OK);
        assert_int_equal(wd_op_crossentropy_fwd_ref(s2, o2, x, t, N, V), WD_OK);
        close_f("crossentropy loss", s1, s2, N, 1e-5, 1e-5);
        close_f("crossentropy probs", o1, o2, N * V, 1e-7, 1e-5);
        SYNC();
        assert_int_equal(wd_op_crossentropy_bwd(d1, g, o1, t, N, V, tp), WD_OK);
        assert_int_equal(wd_op_crossentropy_bwd_ref(d2, g, o1, t, N, V), WD_OK);
        close_f("crossentropy dlogits", d1, d2, N * V, 1e-6, 1e-5);
        for (size_t n = 0; n < N; n++) t[n] = (int32_t)rnd(0, V - 1);
        assert_int_equal(wd_op_embedding_fwd(o1, t, w, N, C, V, tp), WD_OK);
        assert_int_equal(wd_op_embedding_fwd_ref(o2, t, w, N, C, V), WD_OK);
        same_bits("embedding fwd", o1, o2, N * C);
        SYNC();
        assert_int_equal(wd_op_embedding_bwd(e1, g, t, N, C, V, tp), WD_OK);
        assert_int_equal(wd_op_embedding_bwd_ref(e2, g, t, N, C, V), WD_OK);
        close_f("embedding dw", e1, e2, V * C, 1e-6, 1e-6);
        free(t);

        free(x), free(w), free(b), free(g), free(o1), free(o2), free(s1), free(s2), free(m1);
        free(m2), free(d1), free(d2), free(e1), free(e2), free(f1), free(f2);
    }
    /* degenerate sizes: nothing happens, or zeros/bias for an empty inner dim */
    float out[6] = {9, 9, 9, 9, 9, 9}, bias[3] = {1, 2, 3};
    wd_op_matmul_fwd(out, NULL, NULL, NULL, 0, 4, 3);
    for (int i = 0; i < 6; i++) assert_true(out[i] == 9);
    wd_op_matmul_fwd(out, NULL, NULL, bias, 2, 0, 3);
    for (int i = 0; i < 6; i++) assert_true(out[i] == bias[i % 3]);
    wd_op_matmul_fwd(out, NULL, NULL, NULL, 2, 0, 3);
    for (int i = 0; i < 6; i++) assert_true(out[i] == 0);
    wd_op_softmax_fwd(out, NULL, 0, 5, pools[2]);
    wd_op_rmsnorm_fwd(out, NULL, NULL, NULL, 0, 5, 1e-5f, pools[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threadpool),  cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_embedding),   cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_layernorm),   cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_rope_grad),   cmocka_unit_test(test_activations),
        cmocka_unit_test(test_crossentropy), cmocka_unit_test(test_random_shapes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
