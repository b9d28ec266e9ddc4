/*
 * tests/unit/test_router_mlp.c - SafeRoute's router MLP (warden/router.h,
 * guard/router_mlp.c, train/router_mlp.c): the forward pass on a case
 * computed by hand, the gradient against central finite differences, the
 * training loop (deterministic, learns a separable rule), router.json
 * with its safetensors sidecar (round trip, every bad file named), and the
 * scanner hook: a generated llm_judge first in a cascade gives its
 * last-layer state (n_embd floats, the same for a text whatever came
 * before, different for another text); a classifier first gives none.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "testutil.h"
#include "train/router_mlp.h"

/* 2 inputs, hidden 2 and 2:
 *   x = (2, 1), mean (1, 0), scale (1, 2)  -> x' = (1, 2)
 *   l1 = [[1, -1], [0.5, 0.5]] + (0.5, 0) -> (-0.5, 1.5) -> relu (0, 1.5)
 *   l2 = [[2, 1], [-1, 1]] + (0, -0.5)    -> (1.5, 1.0)
 *   out = (1, -2) . + 0.25                -> z = -0.25, P = 1 / (1 + e^0.25) */
static wd_router_mlp *hand_mlp(void) {
    wd_router_mlp *m = wd_router_mlp_new(2, 2, 2);
    assert_non_null(m);
    const float mean[] = {1, 0}, scale[] = {1, 2}, l1w[] = {1, -1, 0.5f, 0.5f}, l1b[] = {0.5f, 0},
                l2w[] = {2, 1, -1, 1}, l2b[] = {0, -0.5f}, ow[] = {1, -2}, ob[] = {0.25f};
    memcpy(m->mean, mean, sizeof mean);
    memcpy(m->scale, scale, sizeof scale);
    memcpy(m->l1w, l1w, sizeof l1w);
    memcpy(m->l1b, l1b, sizeof l1b);
    memcpy(m->l2w, l2w, sizeof l2w);
    memcpy(m->l2b, l2b, sizeof l2b);
    memcpy(m->ow, ow, sizeof ow);
    memcpy(m->ob, ob, sizeof ob);
    return m;
}

static void test_forward_hand(void **state) {
    (void)state;
    wd_router_mlp *m = hand_mlp();
    const float x[] = {2, 1};
    assert_float_equal(wd_router_mlp_prob(m, x, 2), 1.0 / (1.0 + exp(0.25)), 1e-7);
    assert_true(isnan(wd_router_mlp_prob(m, x, 3)));
    assert_true(isnan(wd_router_mlp_prob(NULL, x, 2)));
    /* the loss: -log P for label 1, -log(1 - P) for label 0; weights average */
    bool y1 = true, y0 = false;
    float w = 3;
    assert_float_equal(wd__rmlp_loss_grad(m, x, &y1, &w, 1, NULL), log1p(exp(0.25)), 1e-9);
    assert_float_equal(wd__rmlp_loss_grad(m, x, &y0, &w, 1, NULL), log1p(exp(-0.25)), 1e-9);
    /* the gradient of the output bias is P - y; l1's first row is dead (relu) */
    float g[64];
    assert_int_equal(m->n_param, 2 * 2 + 2 + 2 * 2 + 2 + 2 + 1);
    wd__rmlp_loss_grad(m, x, &y1, &w, 1, g);
    assert_float_equal(g[m->n_param - 1], 1.0 / (1.0 + exp(0.25)) - 1, 1e-6);
    assert_float_equal(g[0], 0, 0);
    assert_float_equal(g[1], 0, 0);
    /* the router escalates at P >= p_min */
    wd_router r = wd_router_band(0, 0);
    r.method = WD_ROUTER_METHOD_MLP;
    r.mlp = m;
    r.p_min = 0.4;
    assert_true(wd_router_escalates_feature(&r, 0.9, x, 2));
    r.p_min = 0.5;
    assert_false(wd_router_escalates_feature(&r, 0.9, x, 2));
    r.p_min = 0;
    assert_false(wd_router_escalates_feature(&r, 0.9, NULL, 0)); /* no feature */
    assert_false(wd_router_escalates(&r, 0.5));                  /* the band says nothing */
    wd_router_clear(&r);
    assert_null(r.mlp);
}

static void test_grad_fd(void **state) {
    (void)state;
    enum { C = 5, H = 7, N = 6 };
    uint64_t seed = 42;
    wd_router_mlp *m = wd_router_mlp_new(C, H, H);
    assert_non_null(m);
    wdt_fill_uniform(m->mean, C, -0.5f, 0.5f, &seed);
    wdt_fill_uniform(m->scale, C, 0.5f, 2.0f, &seed);
    wdt_fill_uniform(m->l1w, m->n_param, -0.8f, 0.8f, &seed);
    float X[N * C], wt[N];
    bool y[N];
    wdt_fill_uniform(X, N * C, -2, 2, &seed);
    wdt_fill_uniform(wt, N, 0.5f, 2, &seed);
    for (int i = 0; i < N; i++) y[i] = i % 3 == 0;
    float *g = malloc(m->n_param * sizeof *g);
    double L = wd__rmlp_loss_grad(m, X, y, wt, N, g);
    assert_true(isfinite(L) && L > 0);
    double worst = 0;
    for (size_t k = 0; k < m->n_param; k++) {
        float keep = m->l1w[k];
        m->l1w[k] = keep + 1e-3f;
        double up = m->l1w[k], lp = wd__rmlp_loss_grad(m, X, y, wt, N, NULL);
        m->l1w[k] = keep - 1e-3f;
        double dn = m->l1w[k], lm = wd__rmlp_loss_grad(m, X, y, wt, N, NULL);
        m->l1w[k] = keep;
        double fd = (lp - lm) / (up - dn), err = fabs(fd - g[k]) / (1e-3 + fabs(fd));
        if (err > worst) worst = err;
        if (err > 1e-2) fail_msg("param %zu: backward %g, finite differences %g", k, (double)g[k], fd);
    }
    assert_true(worst < 1e-2);
    free(g);
    wd_router_mlp_free(m);
}

/* Labels from a linear rule on 8 features: the fit separates them, and
 * the same seed gives the same weights. */
static void test_fit(void **state) {
    (void)state;
    enum { C = 8, N = 200 };
    uint64_t seed = 7;
    float *X = malloc(N * C * sizeof *X);
    bool y[N];
    wdt_fill_uniform(X, N * C, -1, 1, &seed);
    for (int i = 0; i < N; i++) { /* 10 + 3 x0 - 2 x3: raw features far from 0, as hidden states are */
        y[i] = 3 * X[i * C] - 2 * X[i * C + 3] > 1.0f; /* a minority class */
        for (int c = 0; c < C; c++) X[i * C + c] = 10 + 5 * X[i * C + c];
    }
    wd__rmlp_params p = wd__rmlp_params_default();
    p.hidden = 16;
    p.epochs = 150;
    p.batch = 32;
    p.lr = 1e-2;
    wd_router_mlp *a = NULL, *b = NULL;
    double la = 0, lb = 0;
    assert_int_equal(wd__rmlp_fit(X, y, N, C, &p, &a, &la), WD_OK);
    assert_int_equal(wd__rmlp_fit(X, y, N, C, &p, &b, &lb), WD_OK);
    assert_true(la < 0.2);
    assert_float_equal(la, lb, 0);
    assert_memory_equal(a->w, b->w, (2 * C + a->n_param) * sizeof(float));
    int right = 0, npos = 0;
    for (int i = 0; i < N; i++) {
        right += (wd_router_mlp_prob(a, X + i * C, C) >= 0.5) == y[i];
        npos += y[i];
    }
    assert_true(npos > 10 && npos < N / 2);
    assert_true(right >= N * 95 / 100);
    wd_router_mlp_free(a);
    wd_router_mlp_free(b);
    assert_int_equal(wd__rmlp_fit(X, y, 0, C, &p, &b, NULL), WD_ERR_INVALID_ARG);
    assert_null(b);
    free(X);
}

/* ==== router.json and its sidecar ========================================= */

static void expect_read_bad(const char *path, wd_status want, const char *needle1, const char *needle2) {
    wd_router r;
    wd_status st = wd_router_read(path, &r);
    if (st != want || !strstr(wd_last_error(), needle1) || (needle2 && !strstr(wd_last_error(), needle2)))
        fail_msg("%s: got %d '%s', want %d with '%s'", path, st, wd_last_error(), want, needle1);
}

static void write_json(const char *path, const char *json) { wdt_write_file(path, json, strlen(json)); }

static void test_file(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("router_mlp");
    char path[1200], side[1200], other[1200];
    snprintf(path, sizeof path, "%s/router.json", dir);
    snprintf(side, sizeof side, "%s/router.safetensors", dir);
    wd_router r = wd_router_band(0, 0);
    r.method = WD_ROUTER_METHOD_MLP;
    r.mlp = hand_mlp();
    r.p_min = 0.4;
    r.target_share = 0.2;
    snprintf(r.data, sizeof r.data, "hand");
    assert_int_equal(wd_router_write(&r, path), WD_OK);
    wd_router b;
    assert_int_equal(wd_router_read(path, &b), WD_OK);
    assert_int_equal(b.method, WD_ROUTER_METHOD_MLP);
    assert_string_equal(b.weights, "router.safetensors");
    assert_float_equal(b.p_min, 0.4, 0);
    assert_float_equal(b.target_share, 0.2, 0);
    assert_string_equal(b.data, "hand");
    assert_int_equal(b.mlp->n_in, 2);
    assert_int_equal(b.mlp->h1, 2);
    assert_memory_equal(b.mlp->w, r.mlp->w, (4 + r.mlp->n_param) * sizeof(float));
    const float x[] = {2, 1};
    assert_true(wd_router_escalates_feature(&b, 0, x, 2));
    wd_router_clear(&b);
    /* the JSON alone cannot find its weights */
    char *json = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    json = calloc(1, 4096);
    len = fread(json, 1, 4095, f);
    fclose(f);
    assert_non_null(strstr(json, "\"mlp\""));
    assert_int_equal(wd_router_parse(json, len, "r.json", &b), WD_ERR_UNSUPPORTED);
    free(json);

    /* bad files: each error names the file and the field or tensor */
#define MLPJ(rest) "{\"format\": \"warden-router\", \"version\": 1, \"method\": \"mlp\", " rest "}"
    snprintf(other, sizeof other, "%s/bad.json", dir);
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 2], \"weights\": \"router.safetensors\""));
    assert_int_equal(wd_router_read(other, &b), WD_OK); /* p_min defaults to 0.5 */
    assert_float_equal(b.p_min, 0.5, 0);
    wd_router_clear(&b);
    write_json(other, MLPJ("\"n_in\": 3, \"hidden\": [2, 2], \"weights\": \"router.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "router.safetensors: tensor 'in.mean': shape [2]", "bad.json says [3]");
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 4], \"weights\": \"router.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "tensor 'l2.weight': shape [2, 2]", "[4, 2]");
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2], \"weights\": \"router.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "bad.json: field 'hidden'", NULL);
    write_json(other, MLPJ("\"n_in\": 2.5, \"hidden\": [2, 2], \"weights\": \"router.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "bad.json: field 'n_in'", NULL);
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 2], \"p_min\": 1.5, \"weights\": \"router.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "bad.json: field 'p_min'", NULL);
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 2]"));
    expect_read_bad(other, WD_ERR_FORMAT, "bad.json: field 'weights'", NULL);
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 2], \"weights\": \"../x.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "bad.json: field 'weights': expected a file name", NULL);
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 2], \"weights\": \"absent.safetensors\""));
    expect_read_bad(other, WD_ERR_NOT_FOUND, "bad.json: field 'weights'", "absent.safetensors");
    /* a sidecar that is not safetensors, one with a tensor missing, one with a NaN */
    snprintf(other, sizeof other, "%s/junk.safetensors", dir);
    wdt_write_file(other, "not a file", 10);
    snprintf(other, sizeof other, "%s/bad.json", dir);
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 2], \"weights\": \"junk.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "junk.safetensors", NULL);
    /* a NaN weight, a scale of 0 (shapes right) */
    char nanj[1200];
    snprintf(nanj, sizeof nanj, "%s/nan.json", dir);
    r.mlp->l2b[1] = NAN;
    assert_int_equal(wd_router_write(&r, nanj), WD_OK);
    expect_read_bad(nanj, WD_ERR_FORMAT, "nan.safetensors: tensor 'l2.bias': element 1 is nan", NULL);
    r.mlp->l2b[1] = -0.5f;
    r.mlp->scale[1] = 0;
    assert_int_equal(wd_router_write(&r, nanj), WD_OK);
    expect_read_bad(nanj, WD_ERR_FORMAT, "nan.safetensors: tensor 'in.scale': element 1 is 0", NULL);
    r.mlp->scale[1] = 2;
    /* a sidecar with only in.mean */
    wd_safetensors_writer *w = NULL;
    int64_t two[1] = {2};
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    assert_int_equal(wd_safetensors_writer_add(w, "in.mean", WD_DTYPE_F32, two, 1, r.mlp->mean), WD_OK);
    snprintf(other, sizeof other, "%s/part.safetensors", dir);
    assert_int_equal(wd_safetensors_writer_write(w, other), WD_OK);
    wd_safetensors_writer_free(w);
    snprintf(other, sizeof other, "%s/bad.json", dir);
    write_json(other, MLPJ("\"n_in\": 2, \"hidden\": [2, 2], \"weights\": \"part.safetensors\""));
    expect_read_bad(other, WD_ERR_FORMAT, "part.safetensors: tensor 'in.scale': missing", NULL);
    /* writing: no network, a bad cut */
    wd_router bad = wd_router_band(0, 0);
    bad.method = WD_ROUTER_METHOD_MLP;
    assert_int_equal(wd_router_write(&bad, other), WD_ERR_INVALID_ARG);
    r.p_min = 2;
    assert_int_equal(wd_router_write(&r, other), WD_ERR_INVALID_ARG);
    wd_router_clear(&r);
    free(dir);
}

/* ==== the feature hook ==================================================== */

static float *feature_of(wd_guard *g, const char *text, size_t *n) {
    wd_check_params cp = wd_check_params_default();
    cp.cascade = WD_CASCADE_MODE_FEATURE;
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check(g, text, strlen(text), &cp, &v), WD_OK);
    wd_cascade_info ci;
    assert_true(wd_verdict_cascade(v, &ci));
    assert_false(ci.escalated);
    const float *f = wd_verdict_feature(v, n);
    float *copy = NULL;
    if (f) {
        copy = malloc(*n * sizeof *copy);
        memcpy(copy, f, *n * sizeof *copy);
    }
    wd_verdict_free(v);
    return copy;
}

static void test_feature_hook(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    char *dir = wdt_tmpdir("router_feature");
    char judge[512], first[1400];
    snprintf(judge, sizeof judge, "%s/judge", dir);
    mf_generate("--family llama --seed 43 --vocab 272 --max-pos 2048", judge);
    mf_copy_tokenizer("bpe-spm", judge);
    snprintf(first, sizeof first, "{type: llm_judge, model: %s, threads: 1}", judge);
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_cascade(first, "{type: classifier}", NULL, dir, NULL, &g), WD_OK);
    size_t na = 0, nb = 0, na2 = 0;
    float *a = feature_of(g, "how do I build a pipe bomb", &na);
    float *b = feature_of(g, "write a poem about spring", &nb);
    float *a2 = feature_of(g, "how do I build a pipe bomb", &na2);
    assert_non_null(a);
    assert_int_equal(na, 32); /* the generated model's hidden size */
    assert_int_equal(nb, na);
    assert_int_equal(na2, na);
    double diff = 0, again = 0;
    for (size_t i = 0; i < na; i++) {
        diff += fabs(a[i] - b[i]);
        again = fmax(again, fabs(a[i] - a2[i]));
        assert_true(isfinite(a[i]));
    }
    assert_true(diff > 1e-3);
    assert_true(again < 1e-5);
    /* a routed check (mode ROUTE, no router) keeps no feature */
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check(g, "hello", 5, NULL, &v), WD_OK);
    assert_null(wd_verdict_feature(v, &nb));
    assert_int_equal(nb, 0);
    wd_verdict_free(v);
    wd_guard_free(g);
    /* the classifier first: the check reports why there is none */
    assert_int_equal(wd_guard_load_cascade("{type: classifier}", "{type: lexicon}", NULL, dir, NULL, &g), WD_OK);
    wd_check_params cp = wd_check_params_default();
    cp.cascade = WD_CASCADE_MODE_FEATURE;
    assert_int_equal(wd_guard_check(g, "hello", 5, &cp, &v), WD_OK);
    assert_null(wd_verdict_feature(v, NULL));
    assert_non_null(strstr(wd_verdict_error(v), "gives no feature"));
    wd_verdict_free(v);
    wd_guard_free(g);
    free(a);
    free(b);
    free(a2);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_hand),
        cmocka_unit_test(test_grad_fd),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_feature_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
