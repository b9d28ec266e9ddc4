/*
 * tests/unit/test_metrics.c - the metrics module against values computed by
 * hand (small fixtures, exact where the arithmetic is exact) and against
 * exact rational values computed independently in Python (fractions; the
 * script is in the comment of test_generated) for a 200-item case with ties.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "warden/metrics.h"

#define EPS 1e-12
#define assert_near(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

static void test_confusion(void **state) {
    wd_confusion c = {0, 0, 0, 0};
    /* y:    1 1 1 1 0 0 0 0 0 0
       flag: 1 1 1 0 1 0 0 0 0 0  -> tp 3, fn 1, fp 1, tn 5 */
    int y[10] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
    bool f[10] = {1, 1, 1, 0, 1, 0, 0, 0, 0, 0};
    for (int i = 0; i < 10; i++) wd_confusion_add(&c, y[i], f[i]);
    assert_int_equal(c.tp, 3);
    assert_int_equal(c.fn, 1);
    assert_int_equal(c.fp, 1);
    assert_int_equal(c.tn, 5);
    wd_binary_metrics m = wd_confusion_metrics(&c);
    assert_true(m.precision == 3.0 / 4.0);
    assert_true(m.recall == 3.0 / 4.0);
    assert_true(m.f1 == 6.0 / 8.0);
    assert_true(m.fpr == 1.0 / 6.0);
    assert_true(m.accuracy == 8.0 / 10.0);
    assert_int_equal(m.n, 10);

    /* undefined ratios are NaN */
    wd_confusion z = {0, 0, 4, 0};
    m = wd_confusion_metrics(&z);
    assert_true(isnan(m.precision) && isnan(m.recall) && isnan(m.f1));
    assert_true(m.fpr == 0.0 && m.accuracy == 1.0);
}

static void test_ranking_hand(void **state) {
    /* scores 0.9 0.8 0.7 0.6 0.55 0.4, labels 1 1 0 1 0 0.
     * AP  = 1/3*1 + 1/3*1 + 0*(2/3) + 1/3*(3/4) = 11/12
     * AUC = pairs won: 0.9 -> 3, 0.8 -> 3, 0.6 -> 2 = 8/9 */
    double s[6] = {0.9, 0.8, 0.7, 0.6, 0.55, 0.4};
    int y[6] = {1, 1, 0, 1, 0, 0};
    double v, thr;
    assert_int_equal(wd_metric_average_precision(s, y, 6, &v), WD_OK);
    assert_near(v, 11.0 / 12.0, EPS);
    assert_int_equal(wd_metric_roc_auc(s, y, 6, &v), WD_OK);
    assert_near(v, 8.0 / 9.0, EPS);
    /* ROC points (0,1/3) (0,2/3) (1/3,2/3) (1/3,1) (2/3,1) (1,1) */
    assert_int_equal(wd_metric_recall_at_fpr(s, y, 6, 0.01, &v, &thr), WD_OK);
    assert_true(v == 2.0 / 3.0);
    assert_true(thr == 0.8);
    assert_int_equal(wd_metric_recall_at_fpr(s, y, 6, 0.34, &v, &thr), WD_OK);
    assert_true(v == 1.0);
    assert_true(thr == 0.6);
    wd_curve roc, pr;
    assert_int_equal(wd_metric_roc_curve(s, y, 6, &roc), WD_OK);
    assert_int_equal(roc.n, 7);
    assert_true(roc.x[0] == 0 && roc.y[0] == 0 && isinf(roc.threshold[0]));
    assert_true(roc.x[3] == 1.0 / 3.0 && roc.y[3] == 2.0 / 3.0 && roc.threshold[3] == 0.7);
    assert_true(roc.x[6] == 1.0 && roc.y[6] == 1.0);
    wd_curve_clear(&roc);
    assert_int_equal(wd_metric_pr_curve(s, y, 6, &pr), WD_OK);
    assert_int_equal(pr.n, 6);
    assert_true(pr.x[3] == 1.0 && pr.y[3] == 3.0 / 4.0);
    wd_curve_clear(&pr);

    /* ties: 0.5 0.5 0.5 0.2 with labels 1 0 1 0.
     * AUC = (0.5 + 1 + 0.5 + 1) / 4 = 3/4; AP = one step to recall 1 at precision 2/3. */
    double t[4] = {0.5, 0.5, 0.5, 0.2};
    int ty[4] = {1, 0, 1, 0};
    assert_int_equal(wd_metric_roc_auc(t, ty, 4, &v), WD_OK);
    assert_true(v == 0.75);
    assert_int_equal(wd_metric_average_precision(t, ty, 4, &v), WD_OK);
    assert_true(v == 2.0 / 3.0);
    /* all tied: chance */
    double u[4] = {0.3, 0.3, 0.3, 0.3};
    assert_int_equal(wd_metric_roc_auc(u, ty, 4, &v), WD_OK);
    assert_true(v == 0.5);
    /* perfect and inverted rankings */
    double p[4] = {0.9, 0.1, 0.8, 0.2};
    assert_int_equal(wd_metric_roc_auc(p, ty, 4, &v), WD_OK);
    assert_true(v == 1.0);
    assert_int_equal(wd_metric_average_precision(p, ty, 4, &v), WD_OK);
    assert_true(v == 1.0);
    double q[4] = {0.1, 0.9, 0.2, 0.8};
    assert_int_equal(wd_metric_roc_auc(q, ty, 4, &v), WD_OK);
    assert_true(v == 0.0);
    /* AP of the worst ranking: hits at ranks 3 and 4 -> 1/2*1/3 + 1/2*2/4 = 5/12 */
    assert_int_equal(wd_metric_average_precision(q, ty, 4, &v), WD_OK);
    assert_near(v, 5.0 / 12.0, EPS);

    /* one class only: undefined, not an error */
    int all1[4] = {1, 1, 1, 1};
    assert_int_equal(wd_metric_roc_auc(p, all1, 4, &v), WD_OK);
    assert_true(isnan(v));
    int all0[4] = {0, 0, 0, 0};
    assert_int_equal(wd_metric_average_precision(p, all0, 4, &v), WD_OK);
    assert_true(isnan(v));
    /* bad inputs */
    double bad[2] = {NAN, 0.5};
    int by[2] = {1, 0};
    assert_int_equal(wd_metric_roc_auc(bad, by, 2, &v), WD_ERR_INVALID_ARG);
    int by2[2] = {2, 0};
    assert_int_equal(wd_metric_roc_auc(p, by2, 2, &v), WD_ERR_INVALID_ARG);
}

static void test_ece_percentile(void **state) {
    /* bins of 0.1: {0.05|y0} {0.15|0, 0.15|1} {0.85|1} {0.95|1}
     * ECE = (1*0.05 + 2*0.35 + 1*0.15 + 1*0.05) / 5 = 0.19 */
    double s[5] = {0.05, 0.15, 0.15, 0.95, 0.85};
    int y[5] = {0, 0, 1, 1, 1};
    double v;
    assert_int_equal(wd_metric_ece(s, y, 5, 10, &v), WD_OK);
    assert_near(v, 0.19, EPS);
    /* a perfectly calibrated set: 0.5 with half harmful; 1.0 all harmful (last bin closed) */
    double c[4] = {0.5, 0.5, 1.0, 1.0};
    int cy[4] = {1, 0, 1, 1};
    assert_int_equal(wd_metric_ece(c, cy, 4, 10, &v), WD_OK);
    assert_true(v == 0.0);
    double o[1] = {1.5};
    assert_int_equal(wd_metric_ece(o, cy, 1, 10, &v), WD_ERR_INVALID_ARG);

    /* numpy.percentile([1,2,3,4,10], [50,95,99]) = 3, 8.8, 9.76 */
    double l[5] = {10, 2, 4, 1, 3};
    assert_int_equal(wd_metric_percentile(l, 5, 50, &v), WD_OK);
    assert_true(v == 3.0);
    assert_int_equal(wd_metric_percentile(l, 5, 95, &v), WD_OK);
    assert_near(v, 8.8, EPS);
    assert_int_equal(wd_metric_percentile(l, 5, 99, &v), WD_OK);
    assert_near(v, 9.76, EPS);
    assert_int_equal(wd_metric_percentile(l, 5, 100, &v), WD_OK);
    assert_true(v == 10.0);
    assert_int_equal(wd_metric_percentile(l, 0, 50, &v), WD_OK);
    assert_true(isnan(v));

    /* sweep */
    double t[3] = {0.0, 0.5, 1.0};
    double ss[4] = {0.9, 0.1, 0.5, 0.4};
    int sy[4] = {1, 0, 1, 0};
    wd_confusion cm[3];
    assert_int_equal(wd_metric_sweep(ss, sy, 4, t, 3, cm), WD_OK);
    assert_true(cm[0].tp == 2 && cm[0].fp == 2 && cm[0].tn == 0);
    assert_true(cm[1].tp == 2 && cm[1].fp == 0 && cm[1].tn == 2);
    assert_true(cm[2].tp == 0 && cm[2].fn == 2);
}

/* The exact values below come from this Python (fractions, no numpy):
 *   s = [round(((i*37)%101)/100*20)/20 for i in range(200)]
 *   y = [1 if ((i*13)%7 + (s[i] > 0.6)) >= 4 else 0 for i in range(200)]
 *   AUC by counting all pairs (ties 1/2)  = 11195/19982
 *   AP  = sum (R_k - R_{k-1}) P_k over distinct thresholds
 *       = 404098238997826/760916795013375
 *   ECE (10 bins) = 26/125
 *   recall at FPR <= 0.05: 3/97 (threshold 1.0); <= 0.10: 9/97 (0.95); <= 0.01: 0
 */
static void test_generated(void **state) {
    enum { n = 200 };
    double s[n];
    int y[n];
    int P = 0;
    for (int i = 0; i < n; i++) {
        s[i] = round(((i * 37) % 101) / 100.0 * 20) / 20;
        y[i] = ((i * 13) % 7 + (s[i] > 0.6)) >= 4;
        P += y[i];
    }
    assert_int_equal(P, 97);
    double v, thr;
    assert_int_equal(wd_metric_roc_auc(s, y, n, &v), WD_OK);
    assert_near(v, 11195.0 / 19982.0, EPS);
    assert_int_equal(wd_metric_average_precision(s, y, n, &v), WD_OK);
    assert_near(v, 404098238997826.0 / 760916795013375.0, EPS);
    assert_int_equal(wd_metric_ece(s, y, n, 10, &v), WD_OK);
    assert_near(v, 26.0 / 125.0, EPS);
    assert_int_equal(wd_metric_recall_at_fpr(s, y, n, 0.05, &v, &thr), WD_OK);
    assert_true(v == 3.0 / 97.0 && thr == 1.0);
    assert_int_equal(wd_metric_recall_at_fpr(s, y, n, 0.10, &v, &thr), WD_OK);
    assert_true(v == 9.0 / 97.0 && thr == 0.95);
    assert_int_equal(wd_metric_recall_at_fpr(s, y, n, 0.01, &v, &thr), WD_OK);
    assert_true(v == 0.0 && isinf(thr));

    /* The accumulator gives the same numbers. */
    wd_metrics *m;
    assert_int_equal(wd_metrics_new(&m), WD_OK);
    for (int i = 0; i < n; i++) {
        wd_metrics_item it = {.label = y[i] ? WD_LABEL_HARMFUL : WD_LABEL_BENIGN,
                              .score = s[i],
                              .flagged = s[i] >= 0.5,
                              .latency_ms = (double)(i % 10)};
        assert_int_equal(wd_metrics_add(m, &it), WD_OK);
    }
    wd_metrics_item unk = {.label = WD_LABEL_UNKNOWN, .score = 0.3, .latency_ms = -1};
    assert_int_equal(wd_metrics_add(m, &unk), WD_OK);
    wd_metrics_summary *sum;
    assert_int_equal(wd_metrics_summarize(m, NULL, &sum), WD_OK);
    assert_int_equal(sum->n, 201);
    assert_int_equal(sum->n_unknown, 1);
    assert_int_equal(sum->n_harmful, 97);
    assert_near(sum->roc_auc, 11195.0 / 19982.0, EPS);
    assert_near(sum->auprc, 404098238997826.0 / 760916795013375.0, EPS);
    assert_near(sum->ece, 26.0 / 125.0, EPS);
    /* latencies 0..9 twenty times each: p50 = 4.5, max 9 */
    assert_true(sum->latency_p50 == 4.5);
    assert_true(sum->latency_max == 9.0);
    assert_int_equal(sum->n_latency, 200);
    /* the decision matrix equals the sweep at 0.5 (sweep point 10 of 21) */
    assert_true(sum->sweep_threshold[10] == 0.5);
    assert_memory_equal(&sum->sweep[10], &sum->confusion, sizeof(wd_confusion));
    uint64_t hsum = 0;
    for (size_t b = 0; b < sum->n_hist_bins; b++) hsum += sum->hist_harmful[b] + sum->hist_benign[b];
    assert_int_equal(hsum, 200);
    char *json = wd_metrics_summary_json(sum, true);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"auprc\""));
    assert_non_null(strstr(json, "\"roc\""));
    free(json);
    wd_metrics_summary_free(sum);
    wd_metrics_free(m);
}

static void test_categories(void **state) {
    /* Three harmful items in S1, one in S9 (missed), one harmful without
     * categories, two benign; the guard names S1 on two S1 items, S1 on a
     * benign item, S10 on the uncategorised one and on a third benign one. */
    wd_metrics *m;
    assert_int_equal(wd_metrics_new(&m), WD_OK);
    wd_catmask S1 = WD_CATMASK(WD_CATEGORY_S1), S9 = WD_CATMASK(WD_CATEGORY_S9), S10 = WD_CATMASK(WD_CATEGORY_S10);
    wd_metrics_item items[] = {
        {WD_LABEL_HARMFUL, 0.9, true, S1, S1, 1},   {WD_LABEL_HARMFUL, 0.8, true, S1, S1, 2},
        {WD_LABEL_HARMFUL, 0.7, true, S1, 0, 3},    {WD_LABEL_HARMFUL, 0.1, false, S9, 0, 4},
        {WD_LABEL_HARMFUL, 0.6, true, 0, S10, 5},   {WD_LABEL_BENIGN, 0.6, true, 0, S1, 6},
        {WD_LABEL_BENIGN, 0.2, false, 0, 0, 7},     {WD_LABEL_BENIGN, 0.55, true, 0, S10, 8},
    };
    for (size_t i = 0; i < sizeof items / sizeof *items; i++) assert_int_equal(wd_metrics_add(m, &items[i]), WD_OK);
    wd_metrics_summary *s;
    assert_int_equal(wd_metrics_summarize(m, NULL, &s), WD_OK);
    assert_int_equal(s->n_categories, 3); /* S1, S9, S10 */
    const wd_category_row *r1 = &s->categories[0], *r9 = &s->categories[1], *r10 = &s->categories[2];
    assert_int_equal(r1->category, WD_CATEGORY_S1);
    assert_int_equal(r1->support, 3);
    assert_int_equal(r1->detected, 3);
    assert_int_equal(r1->tp, 2);
    assert_int_equal(r1->fp, 1);
    assert_int_equal(r1->fn, 1);
    assert_true(r1->detection == 1.0);
    assert_true(r1->precision == 2.0 / 3.0);
    assert_true(r1->recall == 2.0 / 3.0);
    assert_int_equal(r9->support, 1);
    assert_true(r9->detection == 0.0);
    assert_true(isnan(r9->precision));
    /* S10 named on a harmful item without categories: not counted as fp;
     * on a benign item it is, but with no item labelled S10 precision and
     * F1 are undefined (NaN), not 0 */
    assert_int_equal(r10->support, 0);
    assert_int_equal(r10->n_pred, 2);
    assert_int_equal(r10->fp, 1);
    assert_true(isnan(r10->precision) && isnan(r10->f1) && isnan(r10->recall));
    /* decisions: tp 4, fn 1, fp 2, tn 1 */
    assert_true(s->confusion.tp == 4 && s->confusion.fn == 1 && s->confusion.fp == 2 && s->confusion.tn == 1);
    wd_metrics_summary_free(s);
    wd_metrics_free(m);
    wd_metrics_summary_free(NULL);
    wd_metrics_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confusion),   cmocka_unit_test(test_ranking_hand),
        cmocka_unit_test(test_ece_percentile), cmocka_unit_test(test_generated),
        cmocka_unit_test(test_categories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
