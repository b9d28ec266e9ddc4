/*
 * tests/unit/test_ops_torch.c - kernels against values PyTorch computed.
 *
 * tests/fixtures/ops/torch_ops.json holds small inputs and torch's outputs
 * (Hugging Face semantics for RoPE and RMSNorm, reproduced op for op in
 * torch; gradients by autograd in float64). It was written by
 * tests/tools/gen_ops_fixtures.py, which says how to regenerate it. This is
 * the check that warden computes the same function as the reference
 * implementation, not just a self-consistent one (test_ops.c covers
 * gradients and threading).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "base/json.h"

static cJSON *fx;

static int setup(void **state) {
    return wd__json_load_file(WD_TEST_FIXTURES "/ops/torch_ops.json", 0, &fx) == WD_OK ? 0 : -1;
}

static int teardown(void **state) {
    cJSON_Delete(fx);
    return 0;
}

static const cJSON *sect(const char *name) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(fx, name);
    if (!s) fail_msg("fixture has no section %s", name);
    return s;
}

static double num(const cJSON *s, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!cJSON_IsNumber(v)) fail_msg("fixture: %s is not a number", key);
    return v->valuedouble;
}

/* A malloc'd float copy of array key, which must have n entries. */
static float *arr(const cJSON *s, const char *key, size_t n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n)
        fail_msg("fixture: %s is not an array of %zu", key, n);
    float *x = malloc(n * sizeof *x);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) x[i++] = (float)it->valuedouble;
    return x;
}

static void close_f(const char *what, const float *got, const float *want, size_t n,
                    double atol, double rtol) {
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= atol + rtol * fabs(want[i])))
            fail_msg("%s[%zu]: warden %.9g, torch %.9g (err %.3g)", what, i, got[i], want[i], err);
    }
}

/* Largest distance in units in the last place between two float arrays of
 * the same sign. */
static uint32_t max_ulps(const float *a, const float *b, size_t n) {
    uint32_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t ia, ib;
        memcpy(&ia, a + i, 4);
        memcpy(&ib, b + i, 4);
        uint32_t d = (uint32_t)(ia > ib ? ia - ib : ib - ia);
        worst = d > worst ? d : worst;
    }
    return worst;
}

static void test_rope_freqs(void **state) {
    const char *names[] = {"rope_default", "rope_linear", "rope_llama3"};
    for (int k = 0; k < 3; k++) {
        const cJSON *s = sect(names[k]);
        wd_rope_params p = wd_rope_params_default();
        p.theta = num(s, "theta");
        p.head_dim = (int)num(s, "head_dim");
        if (k == 1) p.scaling = WD_ROPE_SCALING_LINEAR, p.factor = num(s, "factor");
        if (k == 2) {
            p.scaling = WD_ROPE_SCALING_LLAMA3;
            p.factor = num(s, "factor");
            p.low_freq_factor = num(s, "low_freq_factor");
            p.high_freq_factor = num(s, "high_freq_factor");
            p.original_max_position_embeddings = (int)num(s, "original_max_position_embeddings");
        }
        size_t half = (size_t)p.head_dim / 2;
        float *want = arr(s, "inv_freq", half), got[256];
        assert_int_equal(wd_rope_inv_freq(got, &p), WD_OK);
        /* torch's float pow may differ from the correctly rounded one by an ulp */
        uint32_t u = max_ulps(got, want, half);
        if (u > 1) fail_msg("%s: inv_freq off by %u ulps", names[k], u);
        if (k == 2) {
            const cJSON *ps = cJSON_GetObjectItemCaseSensitive(s, "positions");
            size_t T = (size_t)cJSON_GetArraySize(ps), t = 0;
            int32_t pos[16];
            const cJSON *it;
            cJSON_ArrayForEach(it, ps) pos[t++] = (int32_t)it->valuedouble;
            float *wc = arr(s, "cos", T * half), *ws = arr(s, "sin", T * half);
            float *c = malloc(T * half * 4), *sn = malloc(T * half * 4);
            /* from torch's own inv_freq, so only the table step is compared */
            wd_rope_table(c, sn, want, pos, T, (size_t)p.head_dim);
            close_f("llama3 cos", c, wc, T * half, 2e-7, 0);
            close_f("llama3 sin", sn, ws, T * half, 2e-7, 0);
            free(wc), free(ws), free(c), free(sn);
        }
        free(want);
    }
}

static void test_rope_apply(void **state) {
    const cJSON *s = sect("rope_apply");
    wd_rope_params p = wd_rope_params_default();
    p.theta = num(s, "theta");
    p.head_dim = (int)num(s, "head_dim");
    size_t D = (size_t)p.head_dim, H = (size_t)num(s, "n_head"), T = 3;
    int32_t pos[3];
    const cJSON *it;
    size_t t = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s, "positions")) pos[t++] = (int32_t)it->valuedouble;
    assert_int_equal(t, T);
    float inv[4], c[12], sn[12], *q = arr(s, "q", T * H * D), *want = arr(s, "q_embed", T * H * D);
    float got[48];
    assert_int_equal(wd_rope_inv_freq(inv, &p), WD_OK);
    wd_rope_table(c, sn, inv, pos, T, D);
    wd_op_rope_fwd(got, q, c, sn, T, H, D, WD_ROPE_HALF, NULL);
    close_f("rope q_embed", got, want, T * H * D, 1e-6, 1e-6);
    wd_op_rope_fwd_ref(got, q, c, sn, T, H, D, WD_ROPE_HALF);
    close_f("rope_ref q_embed", got, want, T * H * D, 1e-6, 1e-6);
    free(q), free(want);
}

static void test_rmsnorm_torch(void **state) {
    const cJSON *s = sect("rmsnorm");
    size_t N = (size_t)num(s, "N"), C = (size_t)num(s, "C");
    float eps = (float)num(s, "eps");
    float *x = arr(s, "x", N * C), *w = arr(s, "w", C), *want = arr(s, "out", N * C);
    float *r = arr(s, "r", N * C), *wdx = arr(s, "dx", N * C), *wdw = arr(s, "dw", C);
    float *out = malloc(N * C * 4), rstd[8], *dx = calloc(N * C, 4), *dw = calloc(C, 4);
    wd_op_rmsnorm_fwd(out, rstd, x, w, N, C, eps, NULL);
    close_f("rmsnorm out", out, want, N * C, 1e-6, 1e-6);
    wd_op_rmsnorm_bwd(dx, dw, r, x, w, rstd, N, C, NULL);
    close_f("rmsnorm dx", dx, wdx, N * C, 1e-5, 1e-5);
    close_f("rmsnorm dw", dw, wdw, C, 1e-5, 1e-5);
    free(x), free(w), free(want), free(r), free(wdx), free(wdw), free(out), free(dx), free(dw);
}

static void test_layernorm_torch(void **state) {
    const cJSON *s = sect("layernorm");
    size_t N = (size_t)num(s, "N"), C = (size_t)num(s, "C");
    float eps = (float)num(s, "eps");
    float *x = arr(s, "x", N * C), *w = arr(s, "w", C), *b = arr(s, "b", C);
    float *want = arr(s, "out", N * C), *r = arr(s, "r", N * C), *wdx = arr(s, "dx", N * C);
    float *wdw = arr(s, "dw", C), *wdb = arr(s, "db", C);
    float *out = malloc(N * C * 4), mean[8], rstd[8];
    float *dx = calloc(N * C, 4), *dw = calloc(C, 4), *db = calloc(C, 4);
    wd_op_layernorm_fwd(out, mean, rstd, x, w, b, N, C, eps, NULL);
    close_f("layernorm out", out, want, N * C, 1e-6, 1e-6);
    wd_op_layernorm_bwd(dx, dw, db, r, x, w, mean, rstd, N, C, NULL);
    close_f("layernorm dx", dx, wdx, N * C, 1e-5, 1e-5);
    close_f("layernorm dw", dw, wdw, C, 1e-5, 1e-5);
    close_f("layernorm db", db, wdb, C, 1e-5, 1e-5);
    free(x), free(w), free(b), free(want), free(r), free(wdx), free(wdw), free(wdb);
    free(out), free(dx), free(dw), free(db);
}

static void test_softmax_torch(void **state) {
    const cJSON *s = sect("softmax");
    size_t N = (size_t)num(s, "N"), C = (size_t)num(s, "C");
    float *x = arr(s, "x", N * C), *want = arr(s, "out", N * C), *p = malloc(N * C * 4);
    wd_op_softmax_fwd(p, x, N, C, NULL);
    close_f("softmax", p, want, N * C, 1e-7, 1e-6);
    free(x), free(want), free(p);
}

static void test_activations_torch(void **state) {
    const cJSON *s = sect("activations");
    size_t n = 67;
    float *x = arr(s, "x", n), *o = malloc(n * 4);
    float *ws = arr(s, "silu", n), *wg = arr(s, "gelu", n), *wt = arr(s, "gelu_tanh", n);
    wd_op_silu_fwd(o, x, n, NULL);
    close_f("silu", o, ws, n, 1e-7, 2e-6);
    wd_op_gelu_fwd(o, x, n, NULL);
    /* torch computes 1 + erf(x/sqrt2), which cancels for x << 0: its error
     * there is about ulp(1) * |x| / 2, up to 5e-7 on [-8, 8] */
    close_f("gelu", o, wg, n, 1e-6, 2e-6);
    wd_op_gelu_tanh_fwd(o, x, n, NULL);
    close_f("gelu_tanh", o, wt, n, 1e-6, 2e-6); /* same for 1 + tanh(u) */
    free(x), free(o), free(ws), free(wg), free(wt);
}

static void test_crossentropy_torch(void **state) {
    const cJSON *s = sect("cross_entropy");
    size_t N = (size_t)num(s, "N"), V = (size_t)num(s, "V");
    float *x = arr(s, "logits", N * V), *want = arr(s, "loss", N);
    float *wd = arr(s, "dlogits_mean", N * V), *tf = arr(s, "targets", N);
    int32_t t[8];
    size_t valid = 0;
    for (size_t n = 0; n < N; n++) {
        t[n] = (int32_t)tf[n];
        valid += t[n] != WD_IGNORE_INDEX;
    }
    float loss[8], *p = malloc(N * V * 4), *d = calloc(N * V, 4), dl[8];
    assert_int_equal(wd_op_crossentropy_fwd(loss, p, x, t, N, V, NULL), WD_OK);
    close_f("cross-entropy loss", loss, want, N, 1e-6, 1e-6);
    for (size_t n = 0; n < N; n++) dl[n] = 1.0f / (float)valid; /* torch's mean */
    assert_int_equal(wd_op_crossentropy_bwd(d, dl, p, t, N, V, NULL), WD_OK);
    close_f("cross-entropy dlogits", d, wd, N * V, 1e-7, 1e-5);
    free(x), free(want), free(wd), free(tf), free(p), free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rope_freqs),      cmocka_unit_test(test_rope_apply),
        cmocka_unit_test(test_rmsnorm_torch),   cmocka_unit_test(test_layernorm_torch),
        cmocka_unit_test(test_softmax_torch),   cmocka_unit_test(test_activations_torch),
        cmocka_unit_test(test_crossentropy_torch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
