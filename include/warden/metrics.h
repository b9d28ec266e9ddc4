/*
 * warden/metrics.h - the one metrics module, used by every command that
 * measures something (`eval`, `attack`, `redteam`, `certify`).
 *
 * Conventions
 *   - The positive class is "harmful" (y = 1); a guard's score is its
 *     probability-like belief that the item is harmful, in [0, 1] (any real
 *     works for the ranking metrics; calibration needs [0, 1]).
 *   - A threshold t flags an item when score >= t.
 *   - A ratio whose denominator is zero is undefined and is NaN (written as
 *     null in JSON): precision with nothing flagged, recall with no harmful
 *     item, FPR with no benign item. F1 = 2TP / (2TP + FP + FN), which equals
 *     the harmonic mean of precision and recall whenever both are defined.
 *   - Average precision (AUPRC) is the step-wise sum used by scikit-learn's
 *     average_precision_score: AP = sum_k (R_k - R_{k-1}) P_k over the
 *     distinct score thresholds in decreasing order (no interpolation).
 *   - ROC-AUC is the area under the ROC curve drawn through the distinct
 *     thresholds with straight lines (trapezoids), which equals the
 *     Mann-Whitney probability P(s+ > s-) + 0.5 P(s+ = s-).
 *   - Recall at FPR <= f: the largest TPR among the ROC points (distinct
 *     thresholds) whose FPR <= f, and the threshold that reaches it.
 *   - Expected calibration error: the scores are put in B equal-width bins
 *     over [0, 1] (bin b = [b/B, (b+1)/B), the last one closed); ECE =
 *     sum_b (n_b / N) |mean score in b - fraction harmful in b|. This is the
 *     calibration of p(harmful) itself (as in a reliability diagram), not of
 *     the confidence max(p, 1 - p).
 *   - Percentiles interpolate linearly between order statistics (numpy's
 *     default): position q/100 * (n - 1) in the sorted values.
 */
#ifndef WARDEN_METRICS_H
#define WARDEN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/dataset.h"
#include "warden/taxonomy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== counts and the ratios derived from them ========================== */

typedef struct wd_confusion {
    uint64_t tp, fp, tn, fn;
} wd_confusion;

/* Adds one decision: y = 1 harmful / 0 benign; flagged = the guard's call. */
void wd_confusion_add(wd_confusion *c, int y, bool flagged);

typedef struct wd_binary_metrics {
    double precision, recall, f1, fpr, accuracy; /* NaN when undefined (see above) */
    uint64_t n;
} wd_binary_metrics;

/* The ratios of a confusion matrix. */
wd_binary_metrics wd_confusion_metrics(const wd_confusion *c);

/* ==== metrics from scores ============================================== */
/* scores[i] and y[i] (1 harmful, 0 benign) for i < n. Non-finite scores are
 * an error (WD_ERR_INVALID_ARG), so are labels other than 0/1. On failure
 * *out is NaN. With no harmful (or, for ROC-AUC, no benign) item the value
 * is NaN and the call returns WD_OK. */

/* Average precision (AUPRC), step-wise (see above). */
wd_status wd_metric_average_precision(const double *scores, const int *y, size_t n, double *out);
/* Area under the ROC curve, ties counting one half. */
wd_status wd_metric_roc_auc(const double *scores, const int *y, size_t n, double *out);
/* Largest recall with FPR <= max_fpr, and the threshold that gives it
 * (+INFINITY when only flagging nothing qualifies). threshold may be NULL. */
wd_status wd_metric_recall_at_fpr(const double *scores, const int *y, size_t n, double max_fpr,
                                  double *recall, double *threshold);
/* Expected calibration error with n_bins equal-width bins (0 = 10). Scores
 * must lie in [0, 1]. */
wd_status wd_metric_ece(const double *scores, const int *y, size_t n, int n_bins, double *out);
/* The q-th percentile (0 <= q <= 100) of v[0..n), linear interpolation.
 * NaN for n = 0. */
wd_status wd_metric_percentile(const double *v, size_t n, double q, double *out);

/* A curve through the distinct thresholds, from the strictest (flag
 * nothing) to the loosest. For ROC: x = FPR, y = TPR, starting at (0, 0).
 * For PR: x = recall, y = precision, one point per distinct threshold
 * (no artificial end point). threshold[i] is the score threshold of point i
 * (+INFINITY for ROC's first point). The arrays are malloc'd; release them
 * with wd_curve_clear. */
typedef struct wd_curve {
    size_t  n;
    double *x, *y, *threshold;
} wd_curve;

wd_status wd_metric_roc_curve(const double *scores, const int *y, size_t n, wd_curve *out);
wd_status wd_metric_pr_curve(const double *scores, const int *y, size_t n, wd_curve *out);
void      wd_curve_clear(wd_curve *c);

/* Confusion matrices at n_thr thresholds (flag when score >= t). */
wd_status wd_metric_sweep(const double *scores, const int *y, size_t n, const double *thresholds,
                          size_t n_thr, wd_confusion *out);

/* ==== an accumulator for a whole run ==================================== */

/* What a command knows about one scored item. */
typedef struct wd_metrics_item {
    wd_label   label;      /* UNKNOWN items are counted but not scored       */
    double     score;      /* p(harmful); NaN when the guard gave none       */
    bool       flagged;    /* the guard's decision                           */
    wd_catmask true_cats;  /* the dataset's categories (0: none given)       */
    wd_catmask pred_cats;  /* the categories the guard named                 */
    double     latency_ms; /* < 0: not measured                              */
} wd_metrics_item;

typedef struct wd_metrics wd_metrics;

/* A new, empty accumulator. Free with wd_metrics_free. */
wd_status wd_metrics_new(wd_metrics **out);
/* Copies one item in. WD_ERR_NOMEM on allocation failure. */
wd_status wd_metrics_add(wd_metrics *m, const wd_metrics_item *item);
size_t    wd_metrics_count(const wd_metrics *m);
void      wd_metrics_free(wd_metrics *m);

#define WD_METRICS_MAX_FPR 8

typedef struct wd_metrics_params {
    int    n_calibration_bins;         /* ECE bins; default 10                  */
    size_t n_fpr;                      /* how many of fpr_targets are used      */
    double fpr_targets[WD_METRICS_MAX_FPR]; /* default 0.01, 0.05, 0.10          */
    int    n_sweep;                    /* thresholds 0, 1/(k-1) .. 1; default 21 */
    int    n_hist_bins;                /* score histogram bins; default 20      */
} wd_metrics_params;

wd_metrics_params wd_metrics_params_default(void);

/* One row of the per-category table, for a canonical category c:
 *   support   items whose dataset categories include c
 *   detected  of those, items the guard flagged (for any reason)
 *   tp        items with c in both the dataset's and the guard's categories
 *   fn        support - tp
 *   fp        items the guard put in c whose dataset categories are known and
 *             lack c (benign items, or harmful items with categories given);
 *             harmful items without categories are left out of fp
 *   n_pred    items the guard put in c
 * detection = detected/support; precision = tp/(tp+fp); recall = tp/support.
 * With support 0, detection, precision, recall and F1 are NaN (null in JSON,
 * "n/a" in the report): no item says whether a prediction of c is right. */
typedef struct wd_category_row {
    wd_category category;
    uint64_t    support, detected, tp, fp, fn, n_pred;
    double      detection, precision, recall, f1;
} wd_category_row;

typedef struct wd_metrics_summary {
    size_t n, n_harmful, n_benign, n_unknown, n_scored; /* n_scored: labelled with a score */
    wd_confusion      confusion;   /* the guard's own decisions (labelled items) */
    wd_binary_metrics decision;    /* ratios of that matrix                       */
    double auprc, roc_auc, ece;    /* over labelled items with a score            */
    size_t n_fpr;
    double fpr_target[WD_METRICS_MAX_FPR], recall_at_fpr[WD_METRICS_MAX_FPR],
           threshold_at_fpr[WD_METRICS_MAX_FPR];
    size_t n_latency;
    double latency_mean, latency_p50, latency_p95, latency_p99, latency_max; /* ms */
    /* categories with support or predictions, in canonical order */
    size_t          n_categories;
    wd_category_row categories[WD_CATEGORY_COUNT];
    /* threshold sweep */
    size_t             n_sweep;
    double            *sweep_threshold;
    wd_confusion      *sweep;
    wd_binary_metrics *sweep_metrics;
    /* curves */
    wd_curve roc, pr;
    /* score histograms by class over [0, 1] and the reliability diagram */
    size_t    n_hist_bins;
    uint64_t *hist_harmful, *hist_benign;
    size_t    n_calib_bins;
    uint64_t *calib_count;
    double   *calib_mean_score, *calib_frac_harmful; /* NaN in empty bins */
} wd_metrics_summary;

/* Computes every metric over the accumulated items. params may be NULL.
 * *out is malloc'd; free it with wd_metrics_summary_free. */
wd_status wd_metrics_summarize(const wd_metrics *m, const wd_metrics_params *params,
                               wd_metrics_summary **out);
void      wd_metrics_summary_free(wd_metrics_summary *s);

/* The summary as a JSON object (NaN/inf as null); malloc'd text, the caller
 * frees it; NULL when out of memory. Curves are included when with_curves. */
char *wd_metrics_summary_json(const wd_metrics_summary *s, bool with_curves);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_METRICS_H */
