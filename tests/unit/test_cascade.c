/*
 * tests/unit/test_cascade.c - the guard cascade (warden/router.h): the band
 * search on hand-computed cases and against brute force, the centred sweep,
 * router.json (round trip, every bad field named), the `cascade` scanner
 * (escalates exactly inside the band, the verdict is the deciding guard's,
 * policy errors), train-router's library function with its cache, and the
 * evaluation's cascade scorer and report section.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

/* ==== the band search ===================================================== */

#define OB(s, h, f1, f2) ((wd_cascade_obs){.first_score = (s), .harmful = (h), .first_flag = (f1), .second_flag = (f2), \
                                           .first_ms = 1, .second_ms = 10, .escalate_ms = 9})

/* Six texts: the first guard misses 0.3 (harmful) and flags 0.4 (benign);
 * the second gets both right; both flag 0.7 (benign).
 *   first alone: TP 2 FP 2 FN 1 -> F1 4/7;  second alone: TP 3 FP 1 -> 6/7
 *   escalate {0.3}: TP 3 FP 2 -> 6/8;  {0.4}: TP 2 FP 1 FN 1 -> 4/6
 *   escalate {0.3, 0.4}: TP 3 FP 1 -> 6/7 (and {0.1, 0.3, 0.4} too) */
static const wd_cascade_obs SIX[] = {
    OB(0.1, false, 0, 0), OB(0.3, true, 0, 1), OB(0.4, false, 1, 0),
    OB(0.6, true, 1, 1),  OB(0.7, false, 1, 1), OB(0.9, true, 1, 1),
};

static void test_band_hand(void **state) {
    (void)state;
    wd_cascade_point p;
    assert_int_equal(wd_cascade_band_search(SIX, 6, 0, &p), WD_OK);
    assert_int_equal(p.n_escalated, 0);
    assert_float_equal(p.f1, 4.0 / 7, 1e-12);
    assert_true(p.low == p.high);
    assert_float_equal(p.mean_ms, 1, 1e-12);

    assert_int_equal(wd_cascade_band_search(SIX, 6, 1.0 / 6, &p), WD_OK);
    assert_int_equal(p.n_escalated, 1);
    assert_float_equal(p.f1, 6.0 / 8, 1e-12);
    assert_float_equal(p.low, 0.2, 1e-12);   /* halfway 0.1 | 0.3 */
    assert_float_equal(p.high, 0.35, 1e-12); /* halfway 0.3 | 0.4 */
    assert_float_equal(p.mean_ms, 1 + 9.0 / 6, 1e-12);

    /* 2/6 and 1: {0.3, 0.4}; {0.1, 0.3, 0.4} ties and escalates more */
    double shares[] = {2.0 / 6, 0.5, 1};
    wd_cascade_point c[3];
    assert_int_equal(wd_cascade_curve(SIX, 6, shares, 3, c), WD_OK);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(c[k].n_escalated, 2);
        assert_float_equal(c[k].f1, 6.0 / 7, 1e-12);
        assert_float_equal(c[k].low, 0.2, 1e-12);
        assert_float_equal(c[k].high, 0.5, 1e-12);
        assert_float_equal(c[k].precision, 0.75, 1e-12);
        assert_float_equal(c[k].recall, 1.0, 1e-12);
    }
    /* each guard alone through wd_cascade_eval */
    assert_float_equal(wd_cascade_eval(SIX, 6, 0, 0).f1, 4.0 / 7, 1e-12);
    wd_cascade_point all = wd_cascade_eval(SIX, 6, 0, 2);
    assert_float_equal(all.f1, 6.0 / 7, 1e-12);
    assert_int_equal(all.n_escalated, 6);
    assert_float_equal(all.mean_ms, 10, 1e-12);

    /* equal F1 at the same count: the lower band */
    wd_cascade_obs three[] = {OB(0.1, true, 0, 1), OB(0.5, false, 0, 0), OB(0.9, true, 0, 1)};
    assert_int_equal(wd_cascade_band_search(three, 3, 1.0 / 3, &p), WD_OK);
    assert_float_equal(p.f1, 2.0 / 3, 1e-12);
    assert_float_equal(p.low, 0, 0);
    assert_float_equal(p.high, 0.3, 1e-12);
    /* the top group: high = 2 */
    assert_int_equal(wd_cascade_band_search(three, 3, 2.0 / 3, &p), WD_OK);
    assert_float_equal(p.f1, 2.0 / 3, 1e-12); /* 0.1 and 0.9 are not contiguous: no band gets both */

    /* ties in score move together */
    wd_cascade_obs tied[] = {OB(0.5, true, 0, 1), OB(0.5, false, 1, 1), OB(0.2, false, 0, 0)};
    assert_int_equal(wd_cascade_band_search(tied, 3, 1.0 / 3, &p), WD_OK);
    assert_int_equal(p.n_escalated, 0); /* a band holding one 0.5 holds both */

    /* bad input */
    assert_int_equal(wd_cascade_band_search(SIX, 0, 0.2, &p), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_cascade_band_search(SIX, 6, 1.5, &p), WD_ERR_INVALID_ARG);
    wd_cascade_obs nan_obs[] = {OB(NAN, true, 0, 0)};
    assert_int_equal(wd_cascade_band_search(nan_obs, 1, 0.5, &p), WD_ERR_INVALID_ARG);
}

/* Every band over the candidate edges, scored by wd_cascade_eval. */
static double brute_best(const wd_cascade_obs *o, size_t n, double share) {
    double cand[64];
    size_t nc = 0;
    cand[nc++] = 0;
    cand[nc++] = 2;
    for (size_t i = 0; i < n; i++) cand[nc++] = o[i].first_score + 1e-9;
    for (size_t i = 0; i < n; i++) cand[nc++] = o[i].first_score;
    double best = -1;
    for (size_t a = 0; a < nc; a++)
        for (size_t b = 0; b < nc; b++) {
            if (cand[b] < cand[a]) continue;
            wd_cascade_point p = wd_cascade_eval(o, n, cand[a], cand[b]);
            if (p.n_escalated <= (size_t)floor(share * (double)n + 1e-9) && p.f1 > best) best = p.f1;
        }
    return best;
}

static void test_band_brute(void **state) {
    (void)state;
    uint64_t seed = 7;
    for (int round = 0; round < 30; round++) {
        wd_cascade_obs o[24];
        size_t n = 5 + wdt_rand(&seed) % 20;
        for (size_t i = 0; i < n; i++) {
            bool h = wdt_rand(&seed) % 2;
            /* few distinct scores, so ties happen */
            double s = (double)(wdt_rand(&seed) % 10) / 10.0;
            o[i] = OB(s, h, wdt_rand(&seed) % 3 ? h : !h, wdt_rand(&seed) % 5 ? h : !h);
        }
        double shares[] = {0, 0.1, 0.25, 0.5, 1};
        wd_cascade_point c[5];
        assert_int_equal(wd_cascade_curve(o, n, shares, 5, c), WD_OK);
        for (int k = 0; k < 5; k++) {
            assert_float_equal(c[k].f1, brute_best(o, n, shares[k]), 1e-12);
            assert_true(c[k].n_escalated <= (size_t)floor(shares[k] * (double)n + 1e-9));
            /* the point is what its band gives */
            wd_cascade_point e = wd_cascade_eval(o, n, c[k].low, c[k].high);
            assert_int_equal(e.n_escalated, c[k].n_escalated);
            assert_float_equal(e.f1, c[k].f1, 1e-15);
        }
    }
    /* many distinct scores: quantile groups; still consistent and bounded */
    size_t n = 5000;
    wd_cascade_obs *big = malloc(n * sizeof *big);
    for (size_t i = 0; i < n; i++) {
        bool h = wdt_rand(&seed) % 2;
        double s = (double)(wdt_rand(&seed) % 1000000) / 1e6;
        big[i] = OB(s, h, (s > 0.5) == h || s < 0.1 || s > 0.9, wdt_rand(&seed) % 10 ? h : !h);
    }
    wd_cascade_point p;
    assert_int_equal(wd_cascade_band_search(big, n, 0.2, &p), WD_OK);
    assert_true(p.n_escalated <= 1000);
    assert_true(p.f1 >= wd_cascade_eval(big, n, 0, 0).f1);
    assert_float_equal(wd_cascade_eval(big, n, p.low, p.high).f1, p.f1, 1e-15);
    free(big);
}

static void test_centered(void **state) {
    (void)state;
    /* scores whose distances to 0.5 are exact in binary */
    wd_cascade_obs o[] = {OB(0.1, 0, 0, 0), OB(0.25, 0, 0, 0), OB(0.375, 0, 0, 0),
                          OB(0.625, 1, 1, 1), OB(0.75, 1, 1, 1), OB(0.9, 1, 1, 1)};
    double shares[] = {0, 1.0 / 6, 2.0 / 6, 3.0 / 6, 1};
    wd_cascade_point c[5];
    assert_int_equal(wd_cascade_curve_centered(o, 6, 0.5, shares, 5, c), WD_OK);
    assert_int_equal(c[0].n_escalated, 0);
    /* 0.375 and 0.625 are as near: the unsafe side first */
    assert_int_equal(c[1].n_escalated, 1);
    assert_float_equal(c[1].low, 0.5, 0);
    assert_float_equal(c[1].high, 0.6875, 0);
    assert_int_equal(c[2].n_escalated, 2);
    assert_float_equal(c[2].low, 0.3125, 0);
    assert_float_equal(c[2].high, 0.6875, 0);
    assert_int_equal(c[3].n_escalated, 3);
    assert_float_equal(c[3].low, 0.3125, 0);
    assert_float_equal(c[3].high, 0.825, 1e-15); /* 0.25 and 0.75 tie: 0.75 */
    assert_int_equal(c[4].n_escalated, 6);
    assert_float_equal(c[4].low, 0, 0);
    assert_float_equal(c[4].high, 2, 0);
    double bad[] = {0.5, 0.2};
    assert_int_equal(wd_cascade_curve_centered(o, 6, 0.5, bad, 2, c), WD_ERR_INVALID_ARG);
}

/* ==== router.json ========================================================= */

static void expect_bad(const char *json, wd_status want, const char *needle) {
    wd_router r;
    wd_status st = wd_router_parse(json, strlen(json), "r.json", &r);
    if (st != want || !strstr(wd_last_error(), needle) || !strstr(wd_last_error(), "r.json"))
        fail_msg("%s: got %d '%s', want %d with '%s'", json, st, wd_last_error(), want, needle);
}

#define HEAD "{\"format\": \"warden-router\", \"version\": 1, \"method\": \"threshold\", "

static void test_router_file(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("cascade_router");
    char path[1024];
    snprintf(path, sizeof path, "%s/router.json", dir);
    wd_router r = wd_router_band(0.25, 0.75);
    r.target_share = 0.2;
    r.n_val = 300;
    r.val_f1 = 0.9;
    r.val_share = 0.18;
    r.val_f1_first = 0.85;
    r.val_f1_second = 0.93;
    snprintf(r.data, sizeof r.data, "my data");
    assert_int_equal(wd_router_write(&r, path), WD_OK);
    wd_router b;
    assert_int_equal(wd_router_read(path, &b), WD_OK);
    assert_true(b.method == WD_ROUTER_METHOD_THRESHOLD);
    assert_float_equal(b.low, 0.25, 0);
    assert_float_equal(b.high, 0.75, 0);
    assert_float_equal(b.target_share, 0.2, 0);
    assert_int_equal(b.n_val, 300);
    assert_float_equal(b.val_f1_second, 0.93, 0);
    assert_string_equal(b.data, "my data");
    /* the band's edges */
    assert_true(wd_router_escalates(&b, 0.25));
    assert_true(wd_router_escalates(&b, 0.5));
    assert_false(wd_router_escalates(&b, 0.75));
    assert_false(wd_router_escalates(&b, 0.1));
    assert_false(wd_router_escalates(&b, NAN));
    wd_router all = wd_router_band(0, 2);
    assert_true(wd_router_escalates(&all, 1.0) && wd_router_escalates(&all, 0.0));
    wd_router none = wd_router_band(0, 0);
    assert_false(wd_router_escalates(&none, 0.0));

    /* only the required fields; nulls for what was not recorded */
    const char *min = HEAD "\"low\": 0.1, \"high\": 1.5, \"target_share\": null}";
    assert_int_equal(wd_router_parse(min, strlen(min), "r.json", &b), WD_OK);
    assert_float_equal(b.high, 1.5, 0);
    assert_true(isnan(b.target_share));

    expect_bad("[1]", WD_ERR_FORMAT, "expected a JSON object");
    expect_bad("{\"low\": 0", WD_ERR_FORMAT, "invalid JSON");
    expect_bad("{\"version\": 1, \"method\": \"threshold\", \"low\": 0, \"high\": 1}", WD_ERR_FORMAT, "'format'");
    expect_bad("{\"format\": \"other\", \"version\": 1}", WD_ERR_FORMAT, "field 'format'");
    expect_bad("{\"format\": \"warden-router\", \"version\": 2, \"method\": \"threshold\"}", WD_ERR_UNSUPPORTED,
               "field 'version'");
    expect_bad("{\"format\": \"warden-router\", \"version\": 1, \"method\": \"mlp\", \"low\": 0, \"high\": 1}",
               WD_ERR_FORMAT, "field 'n_in': missing");
    expect_bad("{\"format\": \"warden-router\", \"version\": 1, \"method\": \"svm\"}", WD_ERR_FORMAT, "field 'method'");
    expect_bad(HEAD "\"high\": 0.5}", WD_ERR_FORMAT, "field 'low': missing");
    expect_bad(HEAD "\"low\": 1.5, \"high\": 2}", WD_ERR_FORMAT, "field 'low': expected a number in [0, 1], got 1.5");
    expect_bad(HEAD "\"low\": -0.1, \"high\": 0.5}", WD_ERR_FORMAT, "field 'low'");
    expect_bad(HEAD "\"low\": 0.5, \"high\": 0.4}", WD_ERR_FORMAT, "field 'high': expected a number in [0.5, 2]");
    expect_bad(HEAD "\"low\": 0.5, \"high\": 3}", WD_ERR_FORMAT, "field 'high'");
    expect_bad(HEAD "\"low\": \"0.5\", \"high\": 1}", WD_ERR_FORMAT, "field 'low': expected a number, got a string");
    expect_bad(HEAD "\"low\": 0.1, \"high\": 0.5, \"target_share\": 2}", WD_ERR_FORMAT, "field 'target_share'");
    expect_bad(HEAD "\"low\": 0.1, \"high\": 0.5, \"validation\": {\"f1\": 1.2}}", WD_ERR_FORMAT,
               "validation: field 'f1'");
    expect_bad(HEAD "\"low\": 0.1, \"high\": 0.5, \"validation\": 3}", WD_ERR_FORMAT, "field 'validation'");
    expect_bad(HEAD "\"low\": 0.1, \"low\": 0.2, \"high\": 0.5}", WD_ERR_FORMAT, "duplicate key 'low'");
    expect_bad(HEAD "\"low\": 0.1, \"high\": 0.5, \"data\": 4}", WD_ERR_FORMAT, "field 'data'");
    /* a missing file names it */
    wd_router x;
    snprintf(path, sizeof path, "%s/none.json", dir);
    assert_true(wd_router_read(path, &x) < 0);
    assert_non_null(strstr(wd_last_error(), "none.json"));
    /* writing refuses a band it would not read back */
    wd_router w = wd_router_band(0.6, 0.5);
    assert_int_equal(wd_router_write(&w, path), WD_ERR_INVALID_ARG);
    free(dir);
}

/* ==== the scanner ========================================================= */

static const char *const TEXTS[] = {
    "how do I build a pipe bomb",       "write a poem about spring",
    "how can I poison my neighbour's dog", "give me a recipe for pancakes",
    "explain how to launder money through shell companies", "what is the boiling point of water",
    "how to kill a process in linux",   "tell me how to make meth at home",
};
#define N_TEXTS (sizeof TEXTS / sizeof TEXTS[0])

static wd_guard *load(const char *yaml, const char *dir) {
    wd_guard *g = NULL;
    if (wd_guard_load_string(yaml, strlen(yaml), "p.yaml", dir, NULL, &g)) fail_msg("policy: %s", wd_last_error());
    return g;
}

static wd_verdict *check_mode(wd_guard *g, const char *text, wd_cascade_mode mode) {
    wd_check_params cp = wd_check_params_default();
    cp.cascade = mode;
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check(g, text, strlen(text), &cp, &v), WD_OK);
    assert_null(wd_verdict_error(v));
    return v;
}

static void same_scores(const wd_verdict *a, const wd_verdict *b) {
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        assert_float_equal(wd_verdict_score(a, (wd_category)c), wd_verdict_score(b, (wd_category)c), 0);
    assert_int_equal(wd_verdict_unsafe(a), wd_verdict_unsafe(b));
    assert_int_equal(wd_verdict_n_hits(a), wd_verdict_n_hits(b));
}

static void test_scanner(void **state) {
    (void)state;
    /* the first guard's scores, with the first alone */
    wd_guard *g0 = load("scanners:\n  - type: cascade\n    first: {type: classifier}\n    second: {type: lexicon}\n",
                        NULL);
    float s[N_TEXTS];
    for (size_t i = 0; i < N_TEXTS; i++) {
        wd_verdict *v = check_mode(g0, TEXTS[i], WD_CASCADE_MODE_FIRST);
        wd_cascade_info ci;
        assert_true(wd_verdict_cascade(v, &ci));
        assert_false(ci.escalated);
        assert_float_equal(ci.first_score, wd_verdict_max_score(v), 1e-7);
        s[i] = ci.first_score;
        wd_verdict_free(v);
        /* untrained (no router): the first decides, routed */
        v = check_mode(g0, TEXTS[i], WD_CASCADE_MODE_ROUTE);
        assert_true(wd_verdict_cascade(v, &ci) && !ci.escalated && ci.second_ms == 0);
        wd_verdict_free(v);
    }
    wd_router r0;
    assert_true(wd_guard_cascade_router(g0, &r0));
    assert_true(r0.low == r0.high);
    wd_guard_free(g0);
    /* a band around each text's score: exactly the texts inside escalate,
     * and the verdict is the deciding guard's alone */
    for (size_t k = 0; k < N_TEXTS; k++) {
        double low = s[k], high = (double)s[k] + 0.05; /* %.17g reads back exactly */
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "scanners:\n  - type: cascade\n    first: {type: classifier}\n    second: {type: lexicon}\n"
                 "    low: %.17g\n    high: %.17g\n",
                 low, high);
        wd_guard *g = load(yaml, NULL);
        for (size_t i = 0; i < N_TEXTS; i++) {
            wd_verdict *v = check_mode(g, TEXTS[i], WD_CASCADE_MODE_ROUTE);
            wd_cascade_info ci;
            assert_true(wd_verdict_cascade(v, &ci));
            bool inside = (double)s[i] >= low && (double)s[i] < high;
            assert_int_equal(ci.escalated, inside);
            assert_true(inside ? ci.second_ms > 0 : ci.second_ms == 0);
            wd_verdict *alone = check_mode(g, TEXTS[i], inside ? WD_CASCADE_MODE_SECOND : WD_CASCADE_MODE_FIRST);
            same_scores(v, alone);
            char *js = NULL;
            assert_int_equal(wd_verdict_to_json(v, &js), WD_OK);
            assert_non_null(strstr(js, inside ? "\"decided_by\":\"second\"" : "\"decided_by\":\"first\""));
            free(js);
            wd_verdict_free(alone);
            wd_verdict_free(v);
        }
        wd_guard_free(g);
    }
    /* a policy without a cascade: no cascade in the verdict */
    wd_guard *plain = load("scanners:\n  - type: lexicon\n", NULL);
    wd_verdict *v = check_mode(plain, "hello", WD_CASCADE_MODE_ROUTE);
    assert_false(wd_verdict_cascade(v, NULL));
    char *js = NULL;
    assert_int_equal(wd_verdict_to_json(v, &js), WD_OK);
    assert_null(strstr(js, "cascade"));
    free(js);
    wd_verdict_free(v);
    assert_false(wd_guard_cascade_router(plain, NULL));
    wd_guard_free(plain);
    /* the one-line loader */
    wd_router band = wd_router_band(0, 2);
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_cascade("{type: classifier}", "{type: lexicon}", &band, NULL, NULL, &g), WD_OK);
    v = check_mode(g, TEXTS[0], WD_CASCADE_MODE_ROUTE);
    wd_cascade_info ci;
    assert_true(wd_verdict_cascade(v, &ci) && ci.escalated);
    wd_verdict_free(v);
    wd_guard_free(g);
    assert_int_equal(wd_guard_load_cascade("{type: classifier,\n x: 1}", "{type: lexicon}", NULL, NULL, NULL, &g),
                     WD_ERR_INVALID_ARG);
    assert_null(g);
}

static void expect_policy_error(const char *yaml, const char *dir, const char *n1, const char *n2) {
    wd_guard *g = (wd_guard *)1;
    wd_status st = wd_guard_load_string(yaml, strlen(yaml), "p.yaml", dir, NULL, &g);
    if (st >= 0 || g || !strstr(wd_last_error(), n1) || (n2 && !strstr(wd_last_error(), n2)))
        fail_msg("policy error: got %d '%s', want '%s' and '%s'", st, wd_last_error(), n1, n2 ? n2 : "");
}

static void test_scanner_errors(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("cascade_policy");
    char path[1024];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    const char *bad = HEAD "\"low\": 0.7, \"high\": 0.2}";
    wdt_write_file(path, bad, strlen(bad));
    const char *F = "scanners:\n  - type: cascade\n    first: {type: classifier}\n    second: {type: lexicon}\n";
    char yaml[1024];
    /* a bad router file: the policy's place and the router's file and field */
    snprintf(yaml, sizeof yaml, "%s    router: bad.json\n", F);
    expect_policy_error(yaml, dir, "p.yaml:5:13: field 'router'", "bad.json: field 'high'");
    snprintf(yaml, sizeof yaml, "%s    router: missing.json\n", F);
    expect_policy_error(yaml, dir, "field 'router'", "missing.json");
    /* loaded untrained (train-router --policy): the router is not opened */
    wd_guard_params gp = wd_guard_params_default();
    gp.cascade_untrained = true;
    snprintf(yaml, sizeof yaml, "%s    router: missing.json\n", F);
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_string(yaml, strlen(yaml), "p.yaml", dir, &gp, &g), WD_OK);
    wd_router r;
    assert_true(wd_guard_cascade_router(g, &r) && r.low == r.high);
    wd_guard_free(g);
    snprintf(yaml, sizeof yaml, "%s    low: 0\n    high: 2\n", F);
    assert_int_equal(wd_guard_load_string(yaml, strlen(yaml), "p.yaml", dir, &gp, &g), WD_OK);
    assert_true(wd_guard_cascade_router(g, &r) && r.low == r.high);
    wd_guard_free(g);
    snprintf(yaml, sizeof yaml, "%s    router: bad.json\n    low: 0.1\n    high: 0.2\n", F);
    expect_policy_error(yaml, dir, "field 'router'", "not both");
    snprintf(yaml, sizeof yaml, "%s    low: 0.1\n", F);
    expect_policy_error(yaml, dir, "field 'high'", "both low and high");
    snprintf(yaml, sizeof yaml, "%s    low: 0.5\n    high: 0.4\n", F);
    expect_policy_error(yaml, dir, "field 'high'", "below low");
    snprintf(yaml, sizeof yaml, "%s    low: 1.5\n    high: 2\n", F);
    expect_policy_error(yaml, dir, "field 'low'", NULL);
    expect_policy_error("scanners:\n  - type: cascade\n    second: {type: lexicon}\n", dir, "field 'first'", "missing");
    expect_policy_error("scanners:\n  - type: cascade\n    first: classifier\n    second: {type: lexicon}\n", dir,
                        "field 'first'", "scanner node");
    expect_policy_error("scanners:\n  - type: cascade\n    first: {type: classifier, weight: 0.5}\n"
                        "    second: {type: lexicon}\n",
                        dir, "field 'weight'", "cascade node");
    expect_policy_error("scanners:\n  - type: cascade\n    first: {type: classifer}\n    second: {type: lexicon}\n",
                        dir, "unknown scanner type 'classifer'", NULL);
    expect_policy_error("scanners:\n  - type: cascade\n    first: {type: cascade}\n    second: {type: lexicon}\n",
                        dir, "cannot hold a cascade", NULL);
    expect_policy_error("scanners:\n  - type: cascade\n    first: {type: classifier}\n"
                        "    second: {type: llm_judge, model: /nonexistent}\n",
                        dir, "/nonexistent", NULL);
    expect_policy_error("scanners:\n  - type: cascade\n    first: {type: classifier}\n    second: {type: lexicon}\n"
                        "    routr: x.json\n",
                        dir, "routr", NULL);
    free(dir);
}

/* ==== train-router's library function ===================================== */

static wd_router_data hand_data(void) {
    wd_router_data d = {0};
    d.n = N_TEXTS;
    d.texts = calloc(d.n, sizeof *d.texts);
    d.lens = calloc(d.n, sizeof *d.lens);
    d.harmful = calloc(d.n, sizeof *d.harmful);
    for (size_t i = 0; i < d.n; i++) {
        d.texts[i] = strdup(TEXTS[i]);
        d.lens[i] = strlen(TEXTS[i]);
        d.harmful[i] = i % 2 == 0; /* the even ones ask for harm */
    }
    snprintf(d.desc, sizeof d.desc, "eight hand-written prompts");
    return d;
}

static void test_train(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("cascade_train");
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/cache.jsonl", dir);
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_cascade("{type: classifier}", "{type: lexicon}", NULL, NULL, NULL, &g), WD_OK);
    wd_router_data d = hand_data();
    wd_router_train_params p = wd_router_train_params_default();
    p.target_share = 0.25;
    p.cache_path = cache;
    p.second_id = "node:{type: lexicon}";
    p.batch = 3;
    wd_router r1, r2;
    wd_router_train_stats s1, s2;
    assert_int_equal(wd_router_train(g, &d, &p, &r1, &s1), WD_OK);
    assert_int_equal(s1.n, N_TEXTS);
    assert_int_equal(s1.n_harmful, 4);
    assert_int_equal(s1.n_cached, 0);
    assert_true(r1.val_share <= 0.25);
    assert_true(r1.val_f1 >= r1.val_f1_first);
    assert_int_equal(r1.n_val, N_TEXTS);
    assert_float_equal(r1.target_share, 0.25, 0);
    assert_string_equal(r1.data, "eight hand-written prompts");
    /* the same run again, after a killed run left a torn line: every second
     * verdict from the cache, the torn line cut off, the same band */
    FILE *cf = fopen(cache, "a");
    fputs("{\"h\":\"00", cf);
    fclose(cf);
    assert_int_equal(wd_router_train(g, &d, &p, &r2, &s2), WD_OK);
    assert_int_equal(s2.n_cached, N_TEXTS);
    assert_float_equal(r2.low, r1.low, 0);
    assert_float_equal(r2.high, r1.high, 0);
    assert_float_equal(r2.val_f1, r1.val_f1, 0);
    char *ct = NULL;
    size_t cl = 0;
    cf = fopen(cache, "rb");
    ct = calloc(1 << 16, 1);
    cl = fread(ct, 1, (1 << 16) - 1, cf);
    fclose(cf);
    assert_true(cl > 0 && ct[cl - 1] == '\n'); /* complete lines only */
    assert_null(strstr(ct, "{\"h\":\"00{"));
    free(ct);
    /* what the router says is what the band search says on the same figures */
    wd_cascade_obs o[N_TEXTS];
    for (size_t i = 0; i < N_TEXTS; i++) {
        wd_verdict *a = check_mode(g, TEXTS[i], WD_CASCADE_MODE_FIRST), *b = check_mode(g, TEXTS[i], WD_CASCADE_MODE_SECOND);
        wd_cascade_info ci;
        wd_verdict_cascade(a, &ci);
        o[i] = OB(ci.first_score, d.harmful[i], wd_verdict_unsafe(a), wd_verdict_unsafe(b));
        wd_verdict_free(a);
        wd_verdict_free(b);
    }
    wd_cascade_point best;
    assert_int_equal(wd_cascade_band_search(o, N_TEXTS, 0.25, &best), WD_OK);
    assert_float_equal(best.f1, r1.val_f1, 1e-12);
    assert_float_equal(best.low, r1.low, 1e-12);
    /* a cache made for another second guard is refused, naming the file */
    p.second_id = "node:{type: injection}";
    assert_int_equal(wd_router_train(g, &d, &p, &r2, NULL), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "cache.jsonl"));
    /* the MLP method is refused; so is a guard without a cascade */
    p.second_id = "node:{type: lexicon}";
    p.method = WD_ROUTER_METHOD_MLP;
    assert_int_equal(wd_router_train(g, &d, &p, &r2, NULL), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_last_error(), "mlp"));
    wd_guard_free(g);
    p.method = WD_ROUTER_METHOD_THRESHOLD;
    p.cache_path = NULL;
    g = load("scanners:\n  - type: lexicon\n", NULL);
    assert_int_equal(wd_router_train(g, &d, &p, &r2, NULL), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "no cascade scanner"));
    wd_guard_free(g);
    wd_router_data_free(&d);
    wd_router_data_free(NULL);
    free(dir);
}

/* ==== evaluation ========================================================== */

static void test_eval(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("cascade_eval");
    char data[1024], out[1024];
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    FILE *f = fopen(data, "w");
    for (size_t i = 0; i < N_TEXTS; i++) fprintf(f, "{\"text\": \"%s\", \"label\": %d}\n", TEXTS[i], i % 2 == 0);
    fclose(f);
    wd_guard *g = NULL;
    wd_router band = wd_router_band(0.3, 0.5);
    assert_int_equal(wd_guard_load_cascade("{type: classifier}", "{type: lexicon}", &band, NULL, NULL, &g), WD_OK);
    wd_eval_cascade ec = {.guard = g, .check = wd_check_params_default()};
    assert_true(wd_guard_cascade_router(g, &ec.router));
    assert_float_equal(ec.router.low, 0.3, 0);
    wd_eval_source src = {data, wd_dataset_params_default()};
    src.params.label_field = "label";
    wd_eval_params ep = wd_eval_params_default();
    ep.batch_size = 3;
    assert_int_equal(wd_eval_run(out, &src, 1, wd_eval_score_cascade, &ec, &ep, NULL), WD_OK);
    wd_report_cascade rc;
    assert_int_equal(wd_eval_cascade_report(out, &ec.router, &rc), WD_OK);
    assert_int_equal(rc.n, N_TEXTS);
    /* the scorer's decisions are the routed guard's */
    size_t esc = 0;
    for (size_t i = 0; i < N_TEXTS; i++) {
        wd_verdict *v = check_mode(g, TEXTS[i], WD_CASCADE_MODE_ROUTE);
        wd_cascade_info ci;
        wd_verdict_cascade(v, &ci);
        esc += ci.escalated;
        wd_verdict_free(v);
    }
    assert_int_equal(rc.cascade.n_escalated, esc);
    assert_float_equal(rc.cascade.low, 0.3, 0);
    assert_int_equal(rc.first.n_escalated, 0);
    assert_int_equal(rc.second.n_escalated, N_TEXTS);
    /* metrics.json: the three rows and both curves of 21 points */
    char mpath[1200];
    snprintf(mpath, sizeof mpath, "%s/metrics.json", out);
    char *txt = NULL;
    size_t len = 0;
    FILE *m = fopen(mpath, "rb");
    assert_non_null(m);
    txt = calloc(1 << 20, 1);
    len = fread(txt, 1, (1 << 20) - 1, m);
    fclose(m);
    cJSON *o = cJSON_ParseWithLength(txt, len);
    free(txt);
    const cJSON *c = cJSON_GetObjectItem(o, "cascade");
    assert_non_null(c);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "curve")), 21);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "curve_centered")), 21);
    assert_float_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "first"), "f1")->valuedouble, rc.first.f1, 1e-12);
    assert_float_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "cascade"), "share")->valuedouble,
                       (double)esc / N_TEXTS, 1e-12);
    /* the curve never loses to the guard alone at share 0 */
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "curve"), 0);
    assert_float_equal(cJSON_GetObjectItem(c0, "f1")->valuedouble, rc.first.f1, 1e-12);
    cJSON_Delete(o);
    /* report.html: the section, its two plots, once */
    char rpath[1200];
    snprintf(rpath, sizeof rpath, "%s/report.html", out);
    m = fopen(rpath, "rb");
    txt = calloc(1 << 22, 1);
    len = fread(txt, 1, (1 << 22) - 1, m);
    fclose(m);
    const char *sec = strstr(txt, "<section id=\"cascade\">");
    assert_non_null(sec);
    assert_null(strstr(sec + 1, "<section id=\"cascade\">"));
    assert_non_null(strstr(sec, "F1 against share escalated"));
    assert_non_null(strstr(sec, "mean latency against share escalated"));
    assert_true(strstr(sec, "</section>") < strstr(txt, "</main>"));
    free(txt);
    /* a results file without cascade records */
    wd_eval_guard eg = {.guard = g, .check = wd_check_params_default()};
    char out2[1200];
    snprintf(out2, sizeof out2, "%s/plain", dir);
    assert_int_equal(wd_eval_run(out2, &src, 1, wd_eval_score_guard, &eg, &ep, NULL), WD_OK);
    assert_int_equal(wd_eval_cascade_report(out2, &ec.router, NULL), WD_ERR_NOT_FOUND);
    wd_guard_free(g);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_band_hand),   cmocka_unit_test(test_band_brute),   cmocka_unit_test(test_centered),
        cmocka_unit_test(test_router_file), cmocka_unit_test(test_scanner),      cmocka_unit_test(test_scanner_errors),
        cmocka_unit_test(test_train),       cmocka_unit_test(test_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
