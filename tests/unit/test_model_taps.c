/*
 * tests/unit/test_model_taps.c - what a caller can read and change inside the
 * decoder's forward pass (warden/model.h "Taps, steering and editable
 * weights"):
 *
 *   - editable weights: wd_model_make_writable leaves the logits as they
 *     were (F32 bit for bit, BF16 to rounding), a perturbed weight changes
 *     them and restoring it brings the same bits back;
 *   - taps: resid row 0 is the last token's embedding, row L through the
 *     final norm and lm_head gives the context's logits, act_sq of layer 0
 *     is the column sum of squares of the normed embeddings;
 *   - steering: activation addition shifts the stream entering its layer
 *     by exactly scale * v and leaves the layers before it alone;
 *     directional ablation leaves no component along r at any layer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "testutil.h"
#include "warden/warden.h"

static const int32_t IDS[] = {3, 17, 5, 99, 42, 7, 64, 1};
enum { N = 8 };

static wd_model *load(const char *args, const char *name) {
    char *dir = wdt_tmpdir(name);
    mf_generate(args, dir);
    wd_model *m = NULL;
    wd_model_params p = wd_model_params_default();
    p.n_threads = 1;
    assert_int_equal(wd_model_load(dir, &p, &m), WD_OK);
    free(dir);
    return m;
}

static void logits_of(wd_model *m, float *out) {
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    assert_int_equal(wd_model_decode(ctx, IDS, N, out, WD_LOGITS_MODE_LAST), WD_OK);
    wd_context_free(ctx);
}

static float maxdiff(const float *a, const float *b, size_t n) {
    float d = 0;
    for (size_t i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

static wd_model_tensor find(wd_model *m, const char *name) {
    wd_model_tensor t = {0};
    for (size_t i = 0; i < wd_model_n_tensors(m); i++) {
        assert_int_equal(wd_model_tensor_at(m, i, &t), WD_OK);
        if (!strcmp(t.name, name)) return t;
    }
    fail_msg("no tensor %s", name);
    return t;
}

static void writable(const char *args, const char *name, float tol) {
    wd_model *m = load(args, name);
    size_t V = wd_model_n_vocab(m);
    float *a = malloc(V * sizeof *a), *b = malloc(V * sizeof *b), *c = malloc(V * sizeof *c);
    wd_model_tensor t;
    assert_int_equal(wd_model_tensor_at(m, 0, &t), WD_ERR_INVALID_ARG);
    logits_of(m, a);
    assert_int_equal(wd_model_make_writable(m), WD_OK);
    assert_int_equal(wd_model_make_writable(m), WD_OK);
    logits_of(m, b);
    assert_true(maxdiff(a, b, V) <= tol);
    assert_int_equal(wd_model_tensor_at(m, wd_model_n_tensors(m), &t), WD_ERR_RANGE);
    wd_model_tensor q = find(m, "model.layers.1.self_attn.q_proj.weight");
    size_t n = q.rows * q.cols;
    float *save = malloc(n * sizeof *save);
    memcpy(save, q.data, n * sizeof *save);
    for (size_t i = 0; i < n; i++) q.data[i] += 0.25f;
    logits_of(m, c);
    assert_true(maxdiff(b, c, V) > 1e-4f);
    memcpy(q.data, save, n * sizeof *save);
    logits_of(m, c);
    assert_memory_equal(b, c, V * sizeof *b);
    free(save);
    free(a);
    free(b);
    free(c);
    wd_model_free(m);
}

static void test_writable_f32(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    writable("--family llama --seed 3 --attention-bias", "taps_f32", 0.0f);
}

static void test_writable_bf16_tied(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    writable("--family qwen2 --seed 4 --dtype BF16 --tie", "taps_bf16", 1e-4f);
}

static void test_taps(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    wd_model *m = load("--family llama --seed 5 --layers 3", "taps_resid");
    assert_int_equal(wd_model_make_writable(m), WD_OK);
    size_t L = wd_model_n_layer(m), C = wd_model_n_embd(m), V = wd_model_n_vocab(m);
    size_t W = wd_model_act_width(m);
    assert_int_equal(L, 3);
    float *resid = calloc((L + 1) * C, sizeof *resid);
    double *act = calloc(L * W, sizeof *act);
    wd_taps taps = {resid, act, 0};
    wd_context *ctx = NULL;
    wd_context_params cp = wd_context_params_default();
    cp.n_batch = 3; /* chunks: the taps must follow the last row across them */
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    wd_context_set_taps(ctx, &taps);
    float *lg = malloc(V * sizeof *lg);
    assert_int_equal(wd_model_decode(ctx, IDS, N, lg, WD_LOGITS_MODE_LAST), WD_OK);
    assert_int_equal(taps.n_rows, N);
    /* row 0 = the last token's embedding */
    wd_model_tensor e = find(m, "model.embed_tokens.weight");
    assert_memory_equal(resid, e.data + (size_t)IDS[N - 1] * C, C * sizeof(float));
    /* row L through the final norm and the LM head = the logits */
    wd_model_tensor g = find(m, "model.norm.weight"), h = find(m, "lm_head.weight");
    double ss = 0;
    for (size_t c = 0; c < C; c++) ss += (double)resid[L * C + c] * resid[L * C + c];
    float rstd = (float)(1.0 / sqrt(ss / (double)C + 1e-5));
    float worst = 0;
    for (size_t v = 0; v < V; v++) {
        double acc = 0;
        for (size_t c = 0; c < C; c++)
            acc += (double)resid[L * C + c] * rstd * g.data[c] * h.data[v * C + c];
        worst = fmaxf(worst, fabsf((float)acc - lg[v]));
    }
    assert_true(worst < 1e-4f);
    /* act_sq of layer 0's q/k/v input: the normed embeddings, squared */
    wd_model_tensor n0 = find(m, "model.layers.0.input_layernorm.weight");
    double *want = calloc(C, sizeof *want);
    for (size_t t = 0; t < N; t++) {
        const float *x = e.data + (size_t)IDS[t] * C;
        double s2 = 0;
        for (size_t c = 0; c < C; c++) s2 += (double)x[c] * x[c];
        double r = 1.0 / sqrt(s2 / (double)C + 1e-5);
        for (size_t c = 0; c < C; c++) want[c] += (x[c] * r * n0.data[c]) * (x[c] * r * n0.data[c]);
    }
    for (size_t c = 0; c < C; c++) assert_true(fabs(act[c] - want[c]) <= 1e-4 * (1 + want[c]));
    for (size_t i = 0; i < L * W; i++) assert_true(act[i] >= 0.0);
    free(want);
    free(lg);
    wd_context_free(ctx);
    free(resid);
    free(act);
    wd_model_free(m);
}

static void run_resid(wd_model *m, float *resid) {
    wd_taps taps = {resid, NULL, 0};
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    wd_context_set_taps(ctx, &taps);
    assert_int_equal(wd_model_decode(ctx, IDS, N, NULL, WD_LOGITS_MODE_NONE), WD_OK);
    wd_context_free(ctx);
}

static void test_steering(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    wd_model *m = load("--family llama --seed 6 --layers 3", "taps_steer");
    size_t L = wd_model_n_layer(m), C = wd_model_n_embd(m);
    float *r0 = calloc((L + 1) * C, sizeof *r0), *r1 = calloc((L + 1) * C, sizeof *r1);
    float *v = malloc(C * sizeof *v);
    uint64_t seed = 9;
    wdt_fill_uniform(v, C, -1, 1, &seed);
    run_resid(m, r0);
    /* addition at layer 1: layer 0's entry untouched, layer 1's shifted */
    wd_steering s = {.add = v, .add_scale = 2.5f, .add_layer = 1};
    assert_int_equal(wd_model_set_steering(m, &s), WD_OK);
    run_resid(m, r1);
    assert_memory_equal(r0, r1, C * sizeof *r0);
    for (size_t c = 0; c < C; c++) assert_true(fabsf(r1[C + c] - r0[C + c] - 2.5f * v[c]) < 1e-5f);
    /* ablation: no component along v anywhere */
    s = (wd_steering){.ablate = v, .n_ablate = 1};
    assert_int_equal(wd_model_set_steering(m, &s), WD_OK);
    run_resid(m, r1);
    double vn = 0;
    for (size_t c = 0; c < C; c++) vn += (double)v[c] * v[c];
    for (size_t l = 0; l <= L; l++) {
        double dot = 0, xn = 0;
        for (size_t c = 0; c < C; c++) {
            dot += (double)r1[l * C + c] * v[c];
            xn += (double)r1[l * C + c] * r1[l * C + c];
        }
        assert_true(fabs(dot) / sqrt(vn * xn) < 1e-5);
    }
    /* bad arguments, then off */
    s = (wd_steering){.add = v, .add_scale = 1, .add_layer = L};
    assert_int_equal(wd_model_set_steering(m, &s), WD_ERR_INVALID_ARG);
    memset(v, 0, C * sizeof *v);
    s = (wd_steering){.ablate = v, .n_ablate = 1};
    assert_int_equal(wd_model_set_steering(m, &s), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_model_set_steering(m, NULL), WD_OK);
    run_resid(m, r1);
    assert_memory_equal(r0, r1, (L + 1) * C * sizeof *r0);
    free(r0);
    free(r1);
    free(v);
    wd_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writable_f32),
        cmocka_unit_test(test_writable_bf16_tied),
        cmocka_unit_test(test_taps),
        cmocka_unit_test(test_steering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
