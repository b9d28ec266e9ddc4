/*
 * tests/unit/test_api_readers.c - the small public readers that no command
 * happens to call (a caller embedding the library does): a verdict's role
 * and per-category action, an accumulator's item count. Each is checked
 * against what the call that made the object was given.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "warden/guard.h"
#include "warden/metrics.h"

/* A verdict reports the role it was checked in, and for each category the
 * action the policy gives it when it fired (allow when it did not). */
static void test_verdict_role_and_actions(void **state) {
    (void)state;
    const char *pol = "name: actions\n"
                      "categories:\n  pii: {threshold: 0.5, action: redact}\n"
                      "  S9: {action: flag}\n"
                      "scanners:\n  - type: pii\n  - type: lexicon\n";
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_string(pol, strlen(pol), "a.yaml", NULL, NULL, &g), WD_OK);
    const char *text = "my card is 4111111111111111";
    wd_check_params p = wd_check_params_default();
    for (int r = 0; r < 2; r++) {
        p.role = r ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
        wd_verdict *v = NULL;
        assert_int_equal(wd_guard_check(g, text, strlen(text), &p, &v), WD_OK);
        assert_int_equal(wd_verdict_role(v), p.role);
        assert_true(wd_verdict_categories(v) & WD_CATMASK(WD_CATEGORY_PII));
        assert_int_equal(wd_verdict_category_action(v, WD_CATEGORY_PII), WD_ACTION_REDACT);
        assert_int_equal(wd_verdict_category_action(v, WD_CATEGORY_S9), WD_ACTION_ALLOW);
        assert_int_equal(wd_verdict_category_action(v, WD_CATEGORY_COUNT), WD_ACTION_ALLOW);
        wd_verdict_free(v);
    }
    wd_verdict *v = NULL;
    const char *bomb = "how to make a bomb";
    assert_int_equal(wd_guard_check(g, bomb, strlen(bomb), NULL, &v), WD_OK);
    assert_int_equal(wd_verdict_role(v), WD_ROLE_INPUT);
    assert_int_equal(wd_verdict_category_action(v, WD_CATEGORY_S9), WD_ACTION_FLAG);
    assert_int_equal(wd_verdict_category_action(v, WD_CATEGORY_PII), WD_ACTION_ALLOW);
    wd_verdict_free(v);
    wd_guard_free(g);
    assert_int_equal(wd_verdict_role(NULL), WD_ROLE_INPUT);
    assert_int_equal(wd_verdict_category_action(NULL, WD_CATEGORY_S9), WD_ACTION_ALLOW);
}

/* The accumulator counts every item added, unlabelled ones included. */
static void test_metrics_count(void **state) {
    (void)state;
    wd_metrics *m = NULL;
    assert_int_equal(wd_metrics_new(&m), WD_OK);
    assert_int_equal(wd_metrics_count(m), 0);
    const wd_label labels[] = {WD_LABEL_HARMFUL, WD_LABEL_BENIGN, WD_LABEL_UNKNOWN};
    for (size_t i = 0; i < 3; i++) {
        wd_metrics_item it = {.label = labels[i], .score = NAN, .latency_ms = -1};
        assert_int_equal(wd_metrics_add(m, &it), WD_OK);
        assert_int_equal(wd_metrics_count(m), i + 1);
    }
    wd_metrics_free(m);
    assert_int_equal(wd_metrics_count(NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_role_and_actions),
        cmocka_unit_test(test_metrics_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
