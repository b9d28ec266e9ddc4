/*
 * eval/metrics.c - confusion matrices, ranking metrics (AUPRC as
 * scikit-learn's average_precision_score, ROC-AUC as Mann-Whitney with
 * ties), recall at fixed FPR, expected calibration error, percentiles,
 * curves, threshold sweeps, per-category tables and the JSON of a run.
 * Definitions are in warden/metrics.h.
 *
 * Every ranking metric goes through one routine, `ranked`, which sorts the
 * items by decreasing score and collapses equal scores into one step: step k
 * holds the cumulative (tp_k, fp_k) when flagging every score >= s_k. The
 * ROC points are (fp_k/N-, tp_k/N+), the PR points (tp_k/N+, tp_k/(tp_k+fp_k)).
 * Sums are taken in double over at most 2^53 items, so they are exact.
 */
#include "warden/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"

/* ==== confusion ========================================================= */

void wd_confusion_add(wd_confusion *c, int y, bool flagged) {
    if (y) flagged ? c->tp++ : c->fn++;
    else flagged ? c->fp++ : c->tn++;
}

static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

wd_binary_metrics wd_confusion_metrics(const wd_confusion *c) {
    wd_binary_metrics m;
    double tp = (double)c->tp, fp = (double)c->fp, tn = (double)c->tn, fn = (double)c->fn;
    m.n = c->tp + c->fp + c->tn + c->fn;
    m.precision = ratio(tp, tp + fp);
    m.recall = ratio(tp, tp + fn);
    m.fpr = ratio(fp, fp + tn);
    m.f1 = ratio(2 * tp, 2 * tp + fp + fn);
    m.accuracy = ratio(tp + tn, (double)m.n);
    return m;
}

/* ==== ranking =========================================================== */

typedef struct step {
    double score;  /* the threshold */
    double tp, fp; /* cumulative counts when flagging score >= threshold */
} step;

typedef struct si {
    double s;
    int    y;
} si;

static int cmp_desc(const void *a, const void *b) {
    double x = ((const si *)a)->s, z = ((const si *)b)->s;
    return x > z ? -1 : x < z ? 1 : 0;
}

static wd_status check_inputs(const double *scores, const int *y, size_t n) {
    if (n && (!scores || !y)) return wd__fail(WD_ERR_INVALID_ARG, "metrics: NULL scores or labels");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(scores[i]))
            return wd__fail(WD_ERR_INVALID_ARG, "metrics: score %zu is not a finite number", i);
        if (y[i] != 0 && y[i] != 1)
            return wd__fail(WD_ERR_INVALID_ARG, "metrics: label %zu is %d (expected 0 or 1)", i, y[i]);
    }
    return WD_OK;
}

/* Sorted distinct-threshold steps. *steps is malloc'd (NULL when n = 0). */
static wd_status ranked(const double *scores, const int *y, size_t n, step **steps, size_t *n_steps,
                        double *n_pos, double *n_neg) {
    *steps = NULL;
    *n_steps = 0;
    *n_pos = *n_neg = 0;
    wd_status st = check_inputs(scores, y, n);
    if (st || n == 0) return st;
    si *v = malloc(n * sizeof *v);
    step *s = malloc(n * sizeof *s);
    if (!v || !s) {
        free(v);
        free(s);
        return wd__fail(WD_ERR_NOMEM, "metrics: out of memory");
    }
    for (size_t i = 0; i < n; i++) v[i] = (si){scores[i], y[i]};
    qsort(v, n, sizeof *v, cmp_desc);
    double tp = 0, fp = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].y) tp++;
        else fp++;
        if (i + 1 == n || v[i + 1].s != v[i].s) s[k++] = (step){v[i].s, tp, fp};
    }
    free(v);
    *steps = s;
    *n_steps = k;
    *n_pos = tp;
    *n_neg = fp;
    return WD_OK;
}

wd_status wd_metric_average_precision(const double *scores, const int *y, size_t n, double *out) {
    *out = NAN;
    step *s;
    size_t k;
    double P, N;
    wd_status st = ranked(scores, y, n, &s, &k, &P, &N);
    if (st) return st;
    if (P > 0) {
        double ap = 0, prev_r = 0;
        for (size_t i = 0; i < k; i++) {
            double r = s[i].tp / P, p = s[i].tp / (s[i].tp + s[i].fp);
            ap += (r - prev_r) * p;
            prev_r = r;
        }
        *out = ap;
    }
    free(s);
    return WD_OK;
}

wd_status wd_metric_roc_auc(const double *scores, const int *y, size_t n, double *out) {
    *out = NAN;
    step *s;
    size_t k;
    double P, N;
    wd_status st = ranked(scores, y, n, &s, &k, &P, &N);
    if (st) return st;
    if (P > 0 && N > 0) {
        /* Trapezoids in count space: sum (fp_k - fp_{k-1}) (tp_k + tp_{k-1}) / 2. */
        double area = 0, ptp = 0, pfp = 0;
        for (size_t i = 0; i < k; i++) {
            area += (s[i].fp - pfp) * (s[i].tp + ptp) / 2;
            ptp = s[i].tp;
            pfp = s[i].fp;
        }
        *out = area / (P * N);
    }
    free(s);
    return WD_OK;
}

wd_status wd_metric_recall_at_fpr(const double *scores, const int *y, size_t n, double max_fpr,
                                  double *recall, double *threshold) {
    *recall = NAN;
    if (threshold) *threshold = NAN;
    step *s;
    size_t k;
    double P, N;
    wd_status st = ranked(scores, y, n, &s, &k, &P, &N);
    if (st) return st;
    if (P > 0) {
        double best = 0, thr = INFINITY;
        for (size_t i = 0; i < k; i++) {
            double fpr = N > 0 ? s[i].fp / N : 0;
            if (fpr <= max_fpr && s[i].tp / P > best) {
                best = s[i].tp / P;
                thr = s[i].score;
            }
        }
        *recall = best;
        if (threshold) *threshold = thr;
    }
    free(s);
    return WD_OK;
}

wd_status wd_metric_roc_curve(const double *scores, const int *y, size_t n, wd_curve *out) {
    memset(out, 0, sizeof *out);
    step *s;
    size_t k;
    double P, N;
    wd_status st = ranked(scores, y, n, &s, &k, &P, &N);
    if (st) return st;
    out->x = malloc((k + 1) * sizeof(double));
    out->y = malloc((k + 1) * sizeof(double));
    out->threshold = malloc((k + 1) * sizeof(double));
    if (!out->x || !out->y || !out->threshold) {
        free(s);
        wd_curve_clear(out);
        return wd__fail(WD_ERR_NOMEM, "metrics: out of memory");
    }
    out->x[0] = 0;
    out->y[0] = 0;
    out->threshold[0] = INFINITY;
    for (size_t i = 0; i < k; i++) {
        out->x[i + 1] = ratio(s[i].fp, N);
        out->y[i + 1] = ratio(s[i].tp, P);
        out->threshold[i + 1] = s[i].score;
    }
    out->n = k + 1;
    free(s);
    return WD_OK;
}

wd_status wd_metric_pr_curve(const double *scores, const int *y, size_t n, wd_curve *out) {
    memset(out, 0, sizeof *out);
    step *s;
    size_t k;
    double P, N;
    wd_status st = ranked(scores, y, n, &s, &k, &P, &N);
    if (st) return st;
    size_t m = k ? k : 1;
    out->x = malloc(m * sizeof(double));
    out->y = malloc(m * sizeof(double));
    out->threshold = malloc(m * sizeof(double));
    if (!out->x || !out->y || !out->threshold) {
        free(s);
        wd_curve_clear(out);
        return wd__fail(WD_ERR_NOMEM, "metrics: out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        out->x[i] = ratio(s[i].tp, P);
        out->y[i] = s[i].tp / (s[i].tp + s[i].fp);
        out->threshold[i] = s[i].score;
    }
    out->n = k;
    free(s);
    return WD_OK;
}

void wd_curve_clear(wd_curve *c) {
    if (!c) return;
    free(c->x);
    free(c->y);
    free(c->threshold);
    memset(c, 0, sizeof *c);
}

wd_status wd_metric_sweep(const double *scores, const int *y, size_t n, const double *thresholds,
                          size_t n_thr, wd_confusion *out) {
    wd_status st = check_inputs(scores, y, n);
    if (st) return st;
    for (size_t t = 0; t < n_thr; t++) {
        wd_confusion c = {0, 0, 0, 0};
        for (size_t i = 0; i < n; i++) wd_confusion_add(&c, y[i], scores[i] >= thresholds[t]);
        out[t] = c;
    }
    return WD_OK;
}

static size_t calib_bin(double p, int B) {
    int b = (int)floor(p * B);
    if (b >= B) b = B - 1;
    if (b < 0) b = 0;
    return (size_t)b;
}

wd_status wd_metric_ece(const double *scores, const int *y, size_t n, int n_bins, double *out) {
    *out = NAN;
    wd_status st = check_inputs(scores, y, n);
    if (st) return st;
    int B = n_bins > 0 ? n_bins : 10;
    for (size_t i = 0; i < n; i++)
        if (scores[i] < 0 || scores[i] > 1)
            return wd__fail(WD_ERR_INVALID_ARG, "metrics: ECE needs scores in [0, 1]; score %zu is %g", i,
                            scores[i]);
    if (n == 0) return WD_OK;
    double *sum = calloc((size_t)B, sizeof *sum), *pos = calloc((size_t)B, sizeof *pos),
           *cnt = calloc((size_t)B, sizeof *cnt);
    if (!sum || !pos || !cnt) {
        free(sum);
        free(pos);
        free(cnt);
        return wd__fail(WD_ERR_NOMEM, "metrics: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        size_t b = calib_bin(scores[i], B);
        sum[b] += scores[i];
        pos[b] += y[i];
        cnt[b] += 1;
    }
    double ece = 0;
    for (int b = 0; b < B; b++)
        if (cnt[b] > 0) ece += cnt[b] / (double)n * fabs(sum[b] / cnt[b] - pos[b] / cnt[b]);
    free(sum);
    free(pos);
    free(cnt);
    *out = ece;
    return WD_OK;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, z = *(const double *)b;
    return x < z ? -1 : x > z ? 1 : 0;
}

static double percentile_sorted(const double *v, size_t n, double q) {
    if (n == 0) return NAN;
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1) return v[n - 1];
    double f = pos - (double)lo;
    return v[lo] + (v[lo + 1] - v[lo]) * f;
}

wd_status wd_metric_percentile(const double *v, size_t n, double q, double *out) {
    *out = NAN;
    if (q < 0 || q > 100 || (n && !v)) return wd__fail(WD_ERR_INVALID_ARG, "percentile: bad argument");
    if (n == 0) return WD_OK;
    double *c = malloc(n * sizeof *c);
    if (!c) return wd__fail(WD_ERR_NOMEM, "metrics: out of memory");
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_dbl);
    *out = percentile_sorted(c, n, q);
    free(c);
    return WD_OK;
}

/* ==== accumulator ======================================================= */

struct wd_metrics {
    wd_metrics_item *items;
    size_t           n, cap;
};

wd_status wd_metrics_new(wd_metrics **out) {
    *out = calloc(1, sizeof **out);
    return *out ? WD_OK : wd__fail(WD_ERR_NOMEM, "metrics: out of memory");
}

wd_status wd_metrics_add(wd_metrics *m, const wd_metrics_item *item) {
    if (!m || !item) return wd__fail(WD_ERR_INVALID_ARG, "wd_metrics_add: NULL argument");
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        wd_metrics_item *ni = realloc(m->items, cap * sizeof *ni);
        if (!ni) return wd__fail(WD_ERR_NOMEM, "metrics: out of memory");
        m->items = ni;
        m->cap = cap;
    }
    m->items[m->n++] = *item;
    return WD_OK;
}

size_t wd_metrics_count(const wd_metrics *m) { return m ? m->n : 0; }

void wd_metrics_free(wd_metrics *m) {
    if (!m) return;
    free(m->items);
    free(m);
}

wd_metrics_params wd_metrics_params_default(void) {
    wd_metrics_params p;
    memset(&p, 0, sizeof p);
    p.n_calibration_bins = 10;
    p.n_fpr = 3;
    p.fpr_targets[0] = 0.01;
    p.fpr_targets[1] = 0.05;
    p.fpr_targets[2] = 0.10;
    p.n_sweep = 21;
    p.n_hist_bins = 20;
    return p;
}

void wd_metrics_summary_free(wd_metrics_summary *s) {
    if (!s) return;
    free(s->sweep_threshold);
    free(s->sweep);
    free(s->sweep_metrics);
    wd_curve_clear(&s->roc);
    wd_curve_clear(&s->pr);
    free(s->hist_harmful);
    free(s->hist_benign);
    free(s->calib_count);
    free(s->calib_mean_score);
    free(s->calib_frac_harmful);
    free(s);
}

static wd_status summarize_scores(wd_metrics_summary *s, const wd_metrics_params *p,
                                  const double *sc, const int *y, size_t n) {
    wd_status st;
    if ((st = wd_metric_average_precision(sc, y, n, &s->auprc)) ||
        (st = wd_metric_roc_auc(sc, y, n, &s->roc_auc)) ||
        (st = wd_metric_roc_curve(sc, y, n, &s->roc)) || (st = wd_metric_pr_curve(sc, y, n, &s->pr)))
        return st;
    /* ECE only when every score is a probability. */
    int probs = 1;
    for (size_t i = 0; i < n; i++)
        if (sc[i] < 0 || sc[i] > 1) probs = 0;
    s->ece = NAN;
    if (probs && (st = wd_metric_ece(sc, y, n, p->n_calibration_bins, &s->ece))) return st;
    s->n_fpr = p->n_fpr > WD_METRICS_MAX_FPR ? WD_METRICS_MAX_FPR : p->n_fpr;
    for (size_t i = 0; i < s->n_fpr; i++) {
        s->fpr_target[i] = p->fpr_targets[i];
        if ((st = wd_metric_recall_at_fpr(sc, y, n, p->fpr_targets[i], &s->recall_at_fpr[i],
                                          &s->threshold_at_fpr[i])))
            return st;
    }
    /* sweep */
    size_t K = p->n_sweep >= 2 ? (size_t)p->n_sweep : 21;
    s->n_sweep = K;
    s->sweep_threshold = malloc(K * sizeof(double));
    s->sweep = malloc(K * sizeof(wd_confusion));
    s->sweep_metrics = malloc(K * sizeof(wd_binary_metrics));
    if (!s->sweep_threshold || !s->sweep || !s->sweep_metrics) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t t = 0; t < K; t++) s->sweep_threshold[t] = (double)t / (double)(K - 1);
    if ((st = wd_metric_sweep(sc, y, n, s->sweep_threshold, K, s->sweep))) return st;
    for (size_t t = 0; t < K; t++) s->sweep_metrics[t] = wd_confusion_metrics(&s->sweep[t]);
    /* histograms and reliability */
    size_t H = p->n_hist_bins > 0 ? (size_t)p->n_hist_bins : 20;
    size_t B = p->n_calibration_bins > 0 ? (size_t)p->n_calibration_bins : 10;
    s->n_hist_bins = H;
    s->n_calib_bins = B;
    s->hist_harmful = calloc(H, sizeof(uint64_t));
    s->hist_benign = calloc(H, sizeof(uint64_t));
    s->calib_count = calloc(B, sizeof(uint64_t));
    s->calib_mean_score = calloc(B, sizeof(double));
    s->calib_frac_harmful = calloc(B, sizeof(double));
    if (!s->hist_harmful || !s->hist_benign || !s->calib_count || !s->calib_mean_score ||
        !s->calib_frac_harmful)
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        double v = sc[i] < 0 ? 0 : sc[i] > 1 ? 1 : sc[i];
        size_t h = calib_bin(v, (int)H), b = calib_bin(v, (int)B);
        (y[i] ? s->hist_harmful : s->hist_benign)[h]++;
        s->calib_count[b]++;
        s->calib_mean_score[b] += v;
        s->calib_frac_harmful[b] += y[i];
    }
    for (size_t b = 0; b < B; b++) {
        if (s->calib_count[b]) {
            s->calib_mean_score[b] /= (double)s->calib_count[b];
            s->calib_frac_harmful[b] /= (double)s->calib_count[b];
        } else {
            s->calib_mean_score[b] = s->calib_frac_harmful[b] = NAN;
        }
    }
    return WD_OK;
}

wd_status wd_metrics_summarize(const wd_metrics *m, const wd_metrics_params *params,
                               wd_metrics_summary **out) {
    *out = NULL;
    if (!m) return wd__fail(WD_ERR_INVALID_ARG, "wd_metrics_summarize: NULL accumulator");
    wd_metrics_params p = params ? *params : wd_metrics_params_default();
    wd_metrics_summary *s = calloc(1, sizeof *s);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    s->auprc = s->roc_auc = s->ece = NAN;
    s->latency_mean = s->latency_p50 = s->latency_p95 = s->latency_p99 = s->latency_max = NAN;
    s->n = m->n;
    double *sc = malloc((m->n ? m->n : 1) * sizeof *sc);
    int *y = malloc((m->n ? m->n : 1) * sizeof *y);
    double *lat = malloc((m->n ? m->n : 1) * sizeof *lat);
    wd_status st = WD_OK;
    if (!sc || !y || !lat) {
        st = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t ns = 0, nl = 0;
    uint64_t sup[WD_CATEGORY_COUNT] = {0}, det[WD_CATEGORY_COUNT] = {0}, tp[WD_CATEGORY_COUNT] = {0},
             fp[WD_CATEGORY_COUNT] = {0}, npred[WD_CATEGORY_COUNT] = {0};
    for (size_t i = 0; i < m->n; i++) {
        const wd_metrics_item *it = &m->items[i];
        if (it->latency_ms >= 0 && isfinite(it->latency_ms)) lat[nl++] = it->latency_ms;
        if (it->label == WD_LABEL_UNKNOWN) {
            s->n_unknown++;
            continue;
        }
        int yy = it->label == WD_LABEL_HARMFUL;
        yy ? s->n_harmful++ : s->n_benign++;
        wd_confusion_add(&s->confusion, yy, it->flagged);
        if (isfinite(it->score)) {
            sc[ns] = it->score;
            y[ns++] = yy;
        }
        int cats_known = !yy || it->true_cats != 0;
        for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
            wd_catmask b = WD_CATMASK(c);
            int t = (it->true_cats & b) != 0, pr = (it->pred_cats & b) != 0;
            if (t) {
                sup[c]++;
                det[c] += it->flagged;
                tp[c] += pr;
            }
            if (pr) {
                npred[c]++;
                if (!t && cats_known) fp[c]++;
            }
        }
    }
    s->n_scored = ns;
    s->decision = wd_confusion_metrics(&s->confusion);
    if ((st = summarize_scores(s, &p, sc, y, ns))) goto done;
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        if (!sup[c] && !npred[c]) continue;
        wd_category_row *r = &s->categories[s->n_categories++];
        r->category = (wd_category)c;
        r->support = sup[c];
        r->detected = det[c];
        r->tp = tp[c];
        r->fp = fp[c];
        r->fn = sup[c] - tp[c];
        r->n_pred = npred[c];
        r->detection = ratio((double)det[c], (double)sup[c]);
        r->precision = ratio((double)tp[c], (double)(tp[c] + fp[c]));
        r->recall = ratio((double)tp[c], (double)sup[c]);
        r->f1 = ratio(2.0 * (double)tp[c], 2.0 * (double)tp[c] + (double)fp[c] + (double)r->fn);
        /* No item is labelled c: its predictions cannot be told right from
         * wrong (harmful rows without a category may well belong to c), so
         * precision and F1 are undefined rather than 0. */
        if (!sup[c]) r->precision = r->f1 = NAN;
    }
    s->n_latency = nl;
    if (nl) {
        qsort(lat, nl, sizeof *lat, cmp_dbl);
        double sum = 0;
        for (size_t i = 0; i < nl; i++) sum += lat[i];
        s->latency_mean = sum / (double)nl;
        s->latency_p50 = percentile_sorted(lat, nl, 50);
        s->latency_p95 = percentile_sorted(lat, nl, 95);
        s->latency_p99 = percentile_sorted(lat, nl, 99);
        s->latency_max = lat[nl - 1];
    }
done:
    free(sc);
    free(y);
    free(lat);
    if (st) {
        wd_metrics_summary_free(s);
        return st;
    }
    *out = s;
    return WD_OK;
}

/* ==== JSON ============================================================== */

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void add_num(cJSON *o, const char *k, double v) { cJSON_AddItemToObject(o, k, num(v)); }

static cJSON *confusion_json(const wd_confusion *c) {
    cJSON *o = cJSON_CreateObject();
    add_num(o, "tp", (double)c->tp);
    add_num(o, "fp", (double)c->fp);
    add_num(o, "tn", (double)c->tn);
    add_num(o, "fn", (double)c->fn);
    return o;
}

static void add_binary(cJSON *o, const wd_binary_metrics *b) {
    add_num(o, "precision", b->precision);
    add_num(o, "recall", b->recall);
    add_num(o, "f1", b->f1);
    add_num(o, "fpr", b->fpr);
    add_num(o, "accuracy", b->accuracy);
}

static cJSON *array_of(const double *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, num(v[i]));
    return a;
}

static cJSON *array_u64(const uint64_t *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

static cJSON *curve_json(const wd_curve *c, const char *xn, const char *yn) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, xn, array_of(c->x, c->n));
    cJSON_AddItemToObject(o, yn, array_of(c->y, c->n));
    cJSON_AddItemToObject(o, "threshold", array_of(c->threshold, c->n));
    return o;
}

char *wd_metrics_summary_json(const wd_metrics_summary *s, bool with_curves) {
    if (!s) return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *counts = cJSON_AddObjectToObject(o, "counts");
    add_num(counts, "items", (double)s->n);
    add_num(counts, "harmful", (double)s->n_harmful);
    add_num(counts, "benign", (double)s->n_benign);
    add_num(counts, "unlabelled", (double)s->n_unknown);
    add_num(counts, "scored", (double)s->n_scored);
    cJSON *dec = cJSON_AddObjectToObject(o, "decision");
    cJSON_AddItemToObject(dec, "confusion", confusion_json(&s->confusion));
    add_binary(dec, &s->decision);
    cJSON *sc = cJSON_AddObjectToObject(o, "scores");
    add_num(sc, "auprc", s->auprc);
    add_num(sc, "roc_auc", s->roc_auc);
    add_num(sc, "ece", s->ece);
    add_num(sc, "ece_bins", (double)s->n_calib_bins);
    cJSON *raf = cJSON_AddArrayToObject(sc, "recall_at_fpr");
    for (size_t i = 0; i < s->n_fpr; i++) {
        cJSON *r = cJSON_CreateObject();
        add_num(r, "fpr", s->fpr_target[i]);
        add_num(r, "recall", s->recall_at_fpr[i]);
        add_num(r, "threshold", s->threshold_at_fpr[i]);
        cJSON_AddItemToArray(raf, r);
    }
    cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
    add_num(lat, "n", (double)s->n_latency);
    add_num(lat, "mean", s->latency_mean);
    add_num(lat, "p50", s->latency_p50);
    add_num(lat, "p95", s->latency_p95);
    add_num(lat, "p99", s->latency_p99);
    add_num(lat, "max", s->latency_max);
    cJSON *cats = cJSON_AddArrayToObject(o, "categories");
    for (size_t i = 0; i < s->n_categories; i++) {
        const wd_category_row *r = &s->categories[i];
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", wd_category_id(r->category));
        cJSON_AddStringToObject(c, "name", wd_category_name(r->category));
        add_num(c, "support", (double)r->support);
        add_num(c, "detected", (double)r->detected);
        add_num(c, "detection", r->detection);
        add_num(c, "predicted", (double)r->n_pred);
        add_num(c, "tp", (double)r->tp);
        add_num(c, "fp", (double)r->fp);
        add_num(c, "fn", (double)r->fn);
        add_num(c, "precision", r->precision);
        add_num(c, "recall", r->recall);
        add_num(c, "f1", r->f1);
        cJSON_AddItemToArray(cats, c);
    }
    cJSON *sw = cJSON_AddArrayToObject(o, "sweep");
    for (size_t t = 0; t < s->n_sweep; t++) {
        cJSON *r = cJSON_CreateObject();
        add_num(r, "threshold", s->sweep_threshold[t]);
        cJSON_AddItemToObject(r, "confusion", confusion_json(&s->sweep[t]));
        add_binary(r, &s->sweep_metrics[t]);
        cJSON_AddItemToArray(sw, r);
    }
    cJSON *h = cJSON_AddObjectToObject(o, "histogram");
    add_num(h, "bins", (double)s->n_hist_bins);
    cJSON_AddItemToObject(h, "harmful", array_u64(s->hist_harmful, s->n_hist_bins));
    cJSON_AddItemToObject(h, "benign", array_u64(s->hist_benign, s->n_hist_bins));
    cJSON *cal = cJSON_AddObjectToObject(o, "calibration");
    cJSON_AddItemToObject(cal, "count", array_u64(s->calib_count, s->n_calib_bins));
    cJSON_AddItemToObject(cal, "mean_score", array_of(s->calib_mean_score, s->n_calib_bins));
    cJSON_AddItemToObject(cal, "fraction_harmful", array_of(s->calib_frac_harmful, s->n_calib_bins));
    if (with_curves) {
        cJSON_AddItemToObject(o, "roc", curve_json(&s->roc, "fpr", "tpr"));
        cJSON_AddItemToObject(o, "pr", curve_json(&s->pr, "recall", "precision"));
    }
    char *txt = wd__json_print(o, true);
    cJSON_Delete(o);
    return txt;
}
