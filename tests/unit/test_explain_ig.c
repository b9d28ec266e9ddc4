/*
 * tests/unit/test_explain_ig.c - integrated gradients for a decoder judge
 * (explain/ig.c): the quadrature rules; the gradient along the path
 * against central finite differences at several points, for every target;
 * completeness (the gap shrinks as the steps grow); the attributions of
 * every target, rule and baseline against torch float64 autograd on the
 * same generated weights (tests/tools/ig_ref.py -> the committed fixture
 * tests/fixtures/explain_ig/case.json); the text path through the judge's
 * prompt (offsets, p(unsafe) equal to the runtime's own forward, batch
 * size without effect); and the errors.
 */
#include <math.h>

#include "explain/ig.h"
#include "model_fixture.h"

/* |a - b| <= tol in double (cmocka's assert_float_equal compares floats). */
#define assert_close(a, b, tol)                                                                  \
    do {                                                                                         \
        double a_ = (a), b_ = (b), t_ = (tol);                                                   \
        if (!(fabs(a_ - b_) <= t_)) fail_msg("%s = %.17g, %s = %.17g (tolerance %.3g)", #a, a_, #b, b_, t_); \
    } while (0)

static const wd__ig_target k_targets[] = {WD__IG_TARGET_LOGODDS, WD__IG_TARGET_LOGP, WD__IG_TARGET_PROB};

/* A prompt of 12 ids of the 128-token generated model, text at [3, 9). */
static const int32_t k_ids[] = {1, 17, 5, 99, 42, 7, 63, 3, 90, 27, 8, 41};
static const int32_t k_unsafe[] = {5, 77, 100};
enum { K_T = 12, K_T0 = 3, K_T1 = 9 };

static wd__ig *ig_over(wd_model *m, wd__ig_target t, wd__ig_baseline b, int32_t bid, int steps,
                       wd__ig_rule rule) {
    wd__ig_params p = wd__ig_params_default();
    p.target = t, p.baseline = b, p.baseline_id = bid, p.steps = steps, p.rule = rule;
    wd__ig *ig = NULL;
    if (wd__ig_new_model(m, k_unsafe, 3, &p, &ig)) fail_msg("ig: %s", wd_last_error());
    return ig;
}

/* ==== quadrature ========================================================== */

static void test_nodes(void **s) {
    (void)s;
    double a[64], w[64];
    for (int m = 1; m <= 40; m += 3) {
        assert_int_equal(wd__ig_nodes(WD__IG_RULE_GAUSS_LEGENDRE, m, a, w), WD_OK);
        /* exact for t^k, k <= 2m - 1: integral 1/(k+1) */
        for (int k = 0; k <= 2 * m - 1 && k < 60; k++) {
            double q = 0;
            for (int i = 0; i < m; i++) q += w[i] * pow(a[i], k);
            assert_close(q, 1.0 / (k + 1), 1e-12);
        }
        for (int i = 1; i < m; i++) assert_true(a[i] > a[i - 1]);
        assert_true(a[0] > 0 && a[m - 1] < 1);
    }
    assert_int_equal(wd__ig_nodes(WD__IG_RULE_MIDPOINT, 4, a, w), WD_OK);
    assert_close(a[0], 0.125, 0);
    assert_close(a[3], 0.875, 0);
    assert_close(w[2], 0.25, 0);
    assert_int_equal(wd__ig_nodes(WD__IG_RULE_TRAPEZOID, 5, a, w), WD_OK);
    assert_close(a[0], 0, 0);
    assert_close(a[4], 1, 0);
    assert_close(w[0], 0.125, 0);
    assert_close(w[2], 0.25, 0);
    assert_int_equal(wd__ig_nodes(WD__IG_RULE_TRAPEZOID, 1, a, w), WD_ERR_INVALID_ARG);
    assert_int_equal(wd__ig_nodes(WD__IG_RULE_MIDPOINT, 0, a, w), WD_ERR_INVALID_ARG);
}

/* ==== gradient ============================================================ */

static wd_model *gen_model(const char *name, const char *args) {
    char *dir = mf_make(name, args);
    wd_model *m = mf_load(dir, 1, -1);
    free(dir);
    return m;
}

/* df/dx . u against (f(+hu) - f(-hu)) / 2h at the point alpha, three rows
 * of one call: the point, then +hu and -hu. */
static double fd_error(wd__ig *ig, double alpha, uint64_t *seed) {
    size_t C = wd__ig_width(ig), n = (size_t)(K_T1 - K_T0) * C;
    float *extra = calloc(3 * n, sizeof *extra), *g = malloc(3 * n * sizeof *g);
    double h = 1e-2 / sqrt((double)n), an = 0, gn = 0;
    for (size_t i = 0; i < n; i++) {
        float u = (wdt_rand(seed) & 1) ? 1.0f : -1.0f;
        extra[n + i] = (float)h * u, extra[2 * n + i] = -(float)h * u;
    }
    double al[3] = {alpha, alpha, alpha}, f[3];
    assert_int_equal(wd__ig_path(ig, k_ids, K_T, K_T0, K_T1, al, 3, extra, f, NULL, g), WD_OK);
    for (size_t i = 0; i < n; i++) {
        an += (double)g[i] * extra[n + i] / h;
        gn += (double)g[i] * g[i];
    }
    double fd = (f[1] - f[2]) / (2 * h), err = fabs(fd - an) / fmax(fabs(an), sqrt(gn));
    /* the rows with extra = +-hu get the same gradient field: row 0 only checked */
    free(extra), free(g);
    return err;
}

static void test_gradient_fd(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    wd_model *m = gen_model("ig_fd", "--family llama --seed 21 --vocab 128");
    uint64_t seed = 3;
    for (size_t t = 0; t < 3; t++) {
        /* zero baseline away from 0 (the first RMSNorm's kink sits at
         * alpha ~ sqrt(eps)/rms(x)); a token baseline at 0 too */
        wd__ig *ig = ig_over(m, k_targets[t], WD__IG_BASELINE_ZERO, -1, 8, WD__IG_RULE_GAUSS_LEGENDRE);
        const double al[] = {0.25, 0.6, 1.0};
        for (int k = 0; k < 3; k++) {
            double e = fd_error(ig, al[k], &seed);
            print_message("%s zero baseline alpha %.2f: relative error %.2g\n", wd__ig_target_str(k_targets[t]),
                          al[k], e);
            assert_true(e < 3e-3);
        }
        wd__ig_free(ig);
        ig = ig_over(m, k_targets[t], WD__IG_BASELINE_TOKEN, 2, 8, WD__IG_RULE_GAUSS_LEGENDRE);
        for (int k = 0; k < 2; k++) {
            double e = fd_error(ig, k * 0.5, &seed);
            print_message("%s token baseline alpha %.2f: relative error %.2g\n",
                          wd__ig_target_str(k_targets[t]), k * 0.5, e);
            assert_true(e < 3e-3);
        }
        wd__ig_free(ig);
    }
    wd_model_free(m);
}

/* ==== completeness ======================================================== */

static void test_completeness(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    wd_model *m = gen_model("ig_complete", "--family llama --seed 21 --vocab 128");
    const int steps[] = {4, 16, 64, 256};
    for (int b = 0; b < 2; b++)
        for (size_t t = 0; t < 3; t++) {
            double gap[4], diff = 0;
            for (int k = 0; k < 4; k++) {
                wd__ig *ig = ig_over(m, k_targets[t], b ? WD__IG_BASELINE_TOKEN : WD__IG_BASELINE_ZERO, 2, steps[k],
                                     WD__IG_RULE_GAUSS_LEGENDRE);
                double attr[K_T1 - K_T0];
                wd__ig_result r = {0};
                assert_int_equal(wd__ig_explain_ids(ig, k_ids, K_T, K_T0, K_T1, attr, &r), WD_OK);
                double sum = 0;
                for (int i = 0; i < K_T1 - K_T0; i++) sum += attr[i];
                assert_close(r.delta, sum - (r.value - r.base_value), 1e-12);
                assert_int_equal(r.n_rows, (size_t)steps[k] + 2);
                diff = fabs(r.value - r.base_value);
                gap[k] = fabs(r.delta);
                wd__ig_free(ig);
            }
            print_message("%s, %s baseline: f(x) - f(x') %.4g, gap at 4/16/64/256 steps %.2g %.2g %.2g %.2g\n",
                          wd__ig_target_str(k_targets[t]), b ? "token" : "zero", diff, gap[0], gap[1], gap[2],
                          gap[3]);
            assert_true(gap[3] <= 1e-3 * diff + 1e-6);
            assert_true(gap[3] <= gap[0] + 1e-7);
        }
    wd_model_free(m);
}

/* ==== the torch reference ================================================= */

static wd__ig_rule rule_of(const char *s) {
    if (!strcmp(s, "midpoint")) return WD__IG_RULE_MIDPOINT;
    if (!strcmp(s, "trapezoid")) return WD__IG_RULE_TRAPEZOID;
    return WD__IG_RULE_GAUSS_LEGENDRE;
}

static wd__ig_target target_of(const char *s) {
    if (!strcmp(s, "logp")) return WD__IG_TARGET_LOGP;
    if (!strcmp(s, "prob")) return WD__IG_TARGET_PROB;
    return WD__IG_TARGET_LOGODDS;
}

static void test_torch_reference(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    cJSON *fx = mf_load_json(WD_TEST_FIXTURES "/explain_ig/case.json");
    assert_non_null(fx);
    const cJSON *mo;
    cJSON_ArrayForEach(mo, cJSON_GetObjectItem(fx, "models")) {
        const char *name = cJSON_GetObjectItem(mo, "name")->valuestring;
        char tmp[64];
        snprintf(tmp, sizeof tmp, "ig_ref_%s", name);
        wd_model *m = gen_model(tmp, cJSON_GetObjectItem(mo, "gen_args")->valuestring);
        int32_t ids[64], unsafe[16];
        size_t T = 0, nu = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(mo, "ids")) ids[T++] = (int32_t)e->valueint;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(mo, "unsafe")) unsafe[nu++] = (int32_t)e->valueint;
        size_t t0 = (size_t)cJSON_GetObjectItem(mo, "t0")->valueint, t1 = (size_t)cJSON_GetObjectItem(mo, "t1")->valueint;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(mo, "cases")) {
            wd__ig_params p = wd__ig_params_default();
            p.target = target_of(cJSON_GetObjectItem(c, "target")->valuestring);
            p.rule = rule_of(cJSON_GetObjectItem(c, "rule")->valuestring);
            p.steps = cJSON_GetObjectItem(c, "steps")->valueint;
            int bid = cJSON_GetObjectItem(c, "baseline_id")->valueint;
            p.baseline = bid < 0 ? WD__IG_BASELINE_ZERO : WD__IG_BASELINE_TOKEN;
            p.baseline_id = bid;
            p.batch = 3; /* several passes */
            wd__ig *ig = NULL;
            assert_int_equal(wd__ig_new_model(m, unsafe, nu, &p, &ig), WD_OK);
            double attr[64], worst = 0, amax = 0;
            wd__ig_result r = {0};
            assert_int_equal(wd__ig_explain_ids(ig, ids, T, t0, t1, attr, &r), WD_OK);
            size_t i = 0;
            cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "attributions")) amax = fmax(amax, fabs(e->valuedouble));
            cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "attributions")) {
                worst = fmax(worst, fabs(attr[i] - e->valuedouble) / amax);
                i++;
            }
            assert_int_equal(i, t1 - t0);
            double v = cJSON_GetObjectItem(c, "value")->valuedouble, bv = cJSON_GetObjectItem(c, "base_value")->valuedouble;
            double dref = cJSON_GetObjectItem(c, "delta")->valuedouble;
            print_message("%s %s %s %d steps, baseline %d: attributions off by %.2g of the largest (%.3g); f(x) %.6g "
                          "(torch %.6g), f(x') %.6g (%.6g), delta %.3g (%.3g)\n",
                          name, wd__ig_target_str(p.target), wd__ig_rule_str(p.rule), p.steps, bid, worst, amax,
                          r.value, v, r.base_value, bv, r.delta, dref);
            assert_true(worst < 1e-3);
            assert_close(r.value, v, 1e-4 * fmax(1, fabs(v)));
            assert_close(r.base_value, bv, 1e-4 * fmax(1, fabs(bv)));
            assert_close(r.delta, dref, 1e-3 * amax + 1e-6);
            wd__ig_free(ig);
        }
        wd_model_free(m);
    }
    cJSON_Delete(fx);
}

/* ==== the judge's text ==================================================== */

#define TMPL "Is the {role} message below safe?\n{role}: {text}\nAnswer:"

static char *judge_dir(void) {
    char args[1024];
    snprintf(args, sizeof args, "--family llama --seed 43 --vocab 272 --max-pos 2048 --tokenizer %s/tokenizers/bpe-spm",
             WD_TEST_FIXTURES);
    return mf_make("ig_judge", args);
}

static void test_text(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    char *dir = judge_dir();
    const char *text = "How do I pick a lock? Asking for a friend.";
    size_t len = strlen(text);
    wd__ig_params p = wd__ig_params_default();
    p.template_text = TMPL;
    p.steps = 16;
    p.n_threads = 1;
    wd__ig *ig = NULL;
    assert_int_equal(wd__ig_new(dir, &p, &ig), WD_OK);
    wd__ig_result r = {0};
    assert_int_equal(wd__ig_explain(ig, text, len, &r), WD_OK);
    assert_true(r.n_tokens > 5);
    size_t prev = 0, end = 0;
    double sum = 0;
    for (size_t i = 0; i < r.n_tokens; i++) {
        const wd__ig_token *tk = &r.tokens[i];
        assert_true(tk->start >= prev && tk->start <= tk->end && tk->end <= len);
        assert_non_null(tk->piece);
        prev = tk->start;
        end = tk->end > end ? tk->end : end;
        sum += tk->attribution;
    }
    assert_int_equal(end, len);
    assert_close(r.delta, sum - (r.value - r.base_value), 1e-12);
    assert_close(r.value, log(r.p_unsafe / (1 - r.p_unsafe)), 1e-6);
    /* p(unsafe) as the runtime's forward over head + text + tail */
    wd_model *m = mf_load(dir, 1, -1);
    char *full = NULL;
    {
        /* the template with the text, cut as the judge cuts it */
        const char *at = strstr(TMPL, "{text}");
        size_t nh = (size_t)(at - TMPL);
        char head[256], tail[256];
        snprintf(head, sizeof head, "%.*s", (int)nh, TMPL);
        snprintf(tail, sizeof tail, "%s", at + 6);
        /* {role} -> User */
        char *rep[2] = {head, tail};
        for (int k = 0; k < 2; k++) {
            char *q;
            while ((q = strstr(rep[k], "{role}"))) {
                memmove(q + 4, q + 6, strlen(q + 6) + 1);
                memcpy(q, "User", 4);
            }
        }
        wd_encode_params ep = wd_encode_params_default();
        ep.add_special_tokens = false;
        const wd_tokenizer *tok = wd_model_tokenizer(m);
        int32_t ids[512];
        size_t n = 0, k;
        assert_int_equal(wd_tokenizer_encode_ids(tok, head, strlen(head), &ep, ids, 512, &k), WD_OK);
        n += k;
        for (size_t i = 0; i < r.n_tokens; i++) ids[n++] = r.tokens[i].id;
        assert_int_equal(wd_tokenizer_encode_ids(tok, tail, strlen(tail), &ep, ids + n, 512 - n, &k), WD_OK);
        n += k;
        double pu = mf_p_unsafe_forward(m, ids, n);
        print_message("text: %zu tokens, p(unsafe) %.8g (runtime %.8g), f(x) %.6g f(x') %.6g delta %.2g\n", r.n_tokens,
                      r.p_unsafe, pu, r.value, r.base_value, r.delta);
        assert_close(r.p_unsafe, pu, 1e-5 * fmax(pu, 1e-3));
        /* the text's own ids */
        int32_t tid[64];
        assert_int_equal(wd_tokenizer_encode_ids(tok, text, len, &ep, tid, 64, &k), WD_OK);
        assert_int_equal(k, r.n_tokens);
        for (size_t i = 0; i < k; i++) assert_int_equal(tid[i], r.tokens[i].id);
    }
    free(full);
    wd_model_free(m);
    /* the batch size changes nothing but the number of passes */
    p.batch = 3;
    wd__ig *ig3 = NULL;
    assert_int_equal(wd__ig_new(dir, &p, &ig3), WD_OK);
    wd__ig_result r3 = {0};
    assert_int_equal(wd__ig_explain(ig3, text, len, &r3), WD_OK);
    assert_int_equal(r3.n_tokens, r.n_tokens);
    for (size_t i = 0; i < r.n_tokens; i++)
        assert_close(r3.tokens[i].attribution, r.tokens[i].attribution, 1e-5 * fabs(r.value - r.base_value) + 1e-7);
    wd__ig_result_free(&r3);
    wd__ig_free(ig3);
    /* an empty text: no tokens, f(x) = f(x'), no passes */
    wd__ig_result_free(&r);
    assert_int_equal(wd__ig_explain(ig, "", 0, &r), WD_OK);
    assert_int_equal(r.n_tokens, 0);
    assert_close(r.value, r.base_value, 0);
    assert_int_equal(r.n_rows, 2);
    wd__ig_result_free(&r);
    wd__ig_free(ig);
    /* the Llama Guard 3 prompt (the default), Agent role, one shot */
    p = wd__ig_params_default();
    p.steps = 4;
    p.role = WD_ROLE_OUTPUT;
    p.n_threads = 1;
    assert_int_equal(wd__ig_judge(dir, "Sure, here it is.", 17, &p, &r), WD_OK);
    print_message("Llama Guard 3 prompt: %zu tokens, p(unsafe) %.6g, delta %.2g\n", r.n_tokens, r.p_unsafe, r.delta);
    assert_true(r.n_tokens >= 3);
    wd_model *jm = mf_load(dir, 1, -1);
    for (size_t i = 0; i < r.n_tokens; i++)
        assert_string_equal(r.tokens[i].piece, wd_tokenizer_id_to_token(wd_model_tokenizer(jm), r.tokens[i].id));
    wd_model_free(jm);
    wd__ig_result_free(&r);
    free(dir);
}

/* ==== tokens into words =================================================== */

static void test_group(void **s) {
    (void)s;
    /* "Hi there, you" with tokens "▁" [0,1) "Hi" [0,2) " the" [2,6) "re" [6,8)
     * "," [8,9) " " [9,10) "you" [10,13) and an empty span at 13 */
    wd__ig_token tk[] = {{0, 1, 0, NULL, 1},   {0, 2, 0, NULL, 2},   {2, 6, 0, NULL, 4},  {6, 8, 0, NULL, 8},
                         {8, 9, 0, NULL, 16},  {9, 10, 0, NULL, 32}, {10, 13, 0, NULL, 64}, {13, 13, 0, NULL, 128}};
    wd__ig_result r = {.tokens = tk, .n_tokens = 8};
    size_t st[] = {0, 3, 10}, en[] = {2, 8, 13};
    double out[3];
    wd__ig_group(&r, st, en, 3, out);
    assert_close(out[0], 3, 0);  /* "Hi": ▁ + Hi */
    assert_close(out[1], 28, 0);  /* "there": " the" (3 of its bytes) + "re" + "," (nearest, before) */
    assert_close(out[2], 224, 0); /* "you": " " (nearest, after) + "you" + the empty span at the end */
    wd__ig_group(&r, st, en, 0, out);
}

/* ==== errors ============================================================== */

static void test_errors(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    wd__ig_params p = wd__ig_params_default();
    wd__ig *ig = (wd__ig *)1;
    wd_model *m = gen_model("ig_err", "--family llama --seed 21 --vocab 128");
    p.steps = 0;
    assert_int_equal(wd__ig_new_model(m, k_unsafe, 3, &p, &ig), WD_ERR_INVALID_ARG);
    assert_null(ig);
    assert_non_null(strstr(wd_last_error(), "steps"));
    p = wd__ig_params_default();
    p.rule = WD__IG_RULE_TRAPEZOID, p.steps = 1;
    assert_int_equal(wd__ig_new_model(m, k_unsafe, 3, &p, &ig), WD_ERR_INVALID_ARG);
    p = wd__ig_params_default();
    int32_t bad = 500;
    assert_int_equal(wd__ig_new_model(m, &bad, 1, &p, &ig), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "unsafe token 500"));
    p.baseline = WD__IG_BASELINE_TOKEN, p.baseline_id = 128;
    assert_int_equal(wd__ig_new_model(m, k_unsafe, 3, &p, &ig), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "baseline_id"));
    p = wd__ig_params_default();
    assert_int_equal(wd__ig_new_model(m, k_unsafe, 3, &p, &ig), WD_OK);
    wd__ig_result r = {0};
    assert_int_equal(wd__ig_explain(ig, "hi", 2, &r), WD_ERR_UNSUPPORTED);
    double attr[80];
    int32_t longp[80] = {0};
    assert_int_equal(wd__ig_explain_ids(ig, longp, 80, 1, 79, attr, &r), WD_ERR_RANGE);
    assert_non_null(strstr(wd_last_error(), "64 positions"));
    int32_t badid[4] = {1, 2, 300, 4};
    assert_int_equal(wd__ig_explain_ids(ig, badid, 4, 1, 3, attr, &r), WD_ERR_RANGE);
    assert_int_equal(wd__ig_explain_ids(ig, k_ids, K_T, 5, 3, attr, &r), WD_ERR_INVALID_ARG);
    wd__ig_free(ig);
    wd_model_free(m);
    /* a folder that is not a judge */
    char *dir = mf_make("ig_err_bert", "--family bert --seed 1");
    assert_true(wd__ig_new(dir, NULL, &ig) < 0);
    assert_null(ig);
    free(dir);
    assert_true(wd__ig_new("/nonexistent/judge", NULL, &ig) < 0);
    assert_non_null(strstr(wd_last_error(), "/nonexistent/judge"));
    /* a template that does not place the text; the pad baseline falls
     * back to the tokenizer's unknown token */
    dir = judge_dir();
    p = wd__ig_params_default();
    p.baseline = WD__IG_BASELINE_PAD;
    assert_int_equal(wd__ig_new(dir, &p, &ig), WD_OK);
    wd__ig_free(ig);
    p.template_text = "no placeholder";
    assert_int_equal(wd__ig_new(dir, &p, &ig), WD_ERR_FORMAT);
    wd__ig_free(NULL);
    wd__ig_result_free(NULL);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes),       cmocka_unit_test(test_gradient_fd), cmocka_unit_test(test_completeness),
        cmocka_unit_test(test_torch_reference), cmocka_unit_test(test_text),   cmocka_unit_test(test_group),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
