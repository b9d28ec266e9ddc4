/*
 * tests/unit/test_privacy_cli.c - `warden privacy`: Opacus's test point
 * (noise 1.5, q 0.04, 2250 steps, delta 1e-5: epsilon 7.32911117143) in
 * text and JSON, --target-epsilon back to the noise (Opacus: 1.416), and
 * usage errors (exit 2, the flag named).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

static void expect_usage(const char *args, const char *message) {
    char *out = NULL, *err = NULL;
    int rc = wdt_cli(args, NULL, &out, &err);
    if (rc != 2 || !strstr(err, message) || !strstr(err, "Try 'warden privacy --help'."))
        fail_msg("warden %s: exit %d, stderr '%s' (want 2 and '%s')", args, rc, err, message);
    free(out);
    free(err);
}

static void test_epsilon(void **state) {
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(wdt_cli("privacy --noise 1.5 --sample-rate 0.04 --steps 2250 --delta 1e-5", NULL, &out, &err), 0);
    if (!strstr(out, "epsilon 7.3291 at delta 1e-05 (RDP order 3.9)")) fail_msg("stdout: %s", out);
    free(out);
    free(err);

    assert_int_equal(
        wdt_cli("privacy --noise 1.5 --sample-rate 0.04 --steps 2250 --delta 1e-5 --json", NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    double eps = cJSON_GetObjectItem(j, "epsilon")->valuedouble;
    assert_true(fabs(eps - 7.32911117143) < 5e-8);
    assert_true(cJSON_GetObjectItem(j, "best_alpha")->valuedouble == 3.9);
    assert_true(cJSON_GetObjectItem(j, "steps")->valuedouble == 2250);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "target_epsilon")));
    assert_string_equal(cJSON_GetObjectItem(j, "accountant")->valuestring, "rdp");
    cJSON_Delete(j);
    free(out);
    free(err);
}

static void test_target(void **state) {
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(
        wdt_cli("privacy --target-epsilon 8 --sample-rate 0.04 --steps 2250 --delta 1e-5 --json", NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    double noise = cJSON_GetObjectItem(j, "noise")->valuedouble, eps = cJSON_GetObjectItem(j, "epsilon")->valuedouble;
    assert_true(fabs(noise - 1.416) < 5e-5);
    assert_true(eps <= 8 && eps >= 7.99);
    assert_true(cJSON_GetObjectItem(j, "target_epsilon")->valuedouble == 8);
    cJSON_Delete(j);
    free(out);
    free(err);

    assert_int_equal(wdt_cli("privacy --target-epsilon 8 --sample-rate 0.04 --steps 2250 --delta 1e-5", NULL, &out, &err),
                     0);
    if (!strstr(out, "noise multiplier 1.4160: epsilon 7.99")) fail_msg("stdout: %s", out);
    free(out);
    free(err);

    /* out of reach: a runtime failure (3) with the reason */
    assert_int_equal(wdt_cli("privacy --target-epsilon 0.05 --sample-rate 0.01 --steps 100 --delta 1e-5", NULL, &out, &err),
                     3);
    assert_non_null(strstr(err, "out of reach"));
    free(out);
    free(err);
}

static void test_usage_errors(void **state) {
    (void)state;
    expect_usage("privacy --noise 1 --sample-rate 0.01 --steps 10 --delta 1e-5 --epsilon 3", "unknown flag '--epsilon'");
    expect_usage("privacy --noise 0 --sample-rate 0.01 --steps 10 --delta 1e-5", "--noise: expected a number in");
    expect_usage("privacy --noise x --sample-rate 0.01 --steps 10 --delta 1e-5", "--noise: expected a number in");
    expect_usage("privacy --noise 1 --sample-rate 1.5 --steps 10 --delta 1e-5", "--sample-rate: expected a number in");
    expect_usage("privacy --noise 1 --sample-rate 0.01 --steps 10 --delta 1", "--delta: expected a number in (0, 1)");
    expect_usage("privacy --noise 1 --sample-rate 0.01 --steps 0 --delta 1e-5", "--steps T (an integer >= 1)");
    expect_usage("privacy --noise 1 --sample-rate 0.01 --delta 1e-5", "--steps T (an integer >= 1)");
    expect_usage("privacy --noise 1 --steps 10 --delta 1e-5", "--sample-rate Q is required");
    expect_usage("privacy --noise 1 --sample-rate 0.01 --steps 10", "--delta D is required");
    expect_usage("privacy --sample-rate 0.01 --steps 10 --delta 1e-5", "give one of --noise S and --target-epsilon E");
    expect_usage("privacy --noise 1 --target-epsilon 2 --sample-rate 0.01 --steps 10 --delta 1e-5",
                 "give one of --noise S and --target-epsilon E");
}

static void test_help(void **state) {
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(wdt_cli("privacy --help", NULL, &out, &err), 0);
    assert_non_null(strstr(out, "usage: warden privacy"));
    assert_non_null(strstr(out, "--target-epsilon"));
    free(out);
    free(err);
    assert_int_equal(wdt_cli("--help", NULL, &out, &err), 0);
    assert_non_null(strstr(out, "privacy"));
    free(out);
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epsilon),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
