/*
 * warden/report.h - the HTML report of an evaluation: one self-contained
 * page (no network, no scripts, no external CSS or fonts) with inline SVG
 * plots - PR and ROC curves, per-category bars, score histograms by class,
 * the threshold sweep, calibration, robustness under attack - and the
 * tables behind them.
 */
#ifndef WARDEN_REPORT_H
#define WARDEN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/base.h"
#include "warden/metrics.h"
#include "warden/router.h"
#include "warden/scorecard.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Detection of one attack transform, next to the same items unattacked.
 * Rates are NaN when undefined (no harmful / no benign item). */
typedef struct wd_report_attack {
    const char *transform;
    size_t      n_harmful, n_benign;
    double      clean_detection, attacked_detection; /* recall on harmful items */
    double      clean_fpr, attacked_fpr;             /* flag rate on benign items */
} wd_report_attack;

/* One input file. */
typedef struct wd_report_source {
    const char *path;
    size_t      n, n_harmful, n_benign, n_flagged;
} wd_report_source;

typedef struct wd_report {
    const char *title;        /* page heading; NULL = "warden evaluation" */
    const char *subject;      /* what was measured (the guard's name), may be NULL */
    const char *generated_at; /* a time stamp, may be NULL */
    bool        complete;     /* false: the run was interrupted (shown as a banner) */
    size_t      n_done, n_total;
    const wd_metrics_summary *summary; /* required */
    const wd_report_source   *sources;
    size_t                    n_sources;
    const wd_report_attack   *attacks;
    size_t                    n_attacks;
    const wd_scorecard_result *scorecard; /* the "Risk scorecard" section; NULL: none */
} wd_report;

/* A guard cascade measured on an evaluation's clean items (warden/router.h,
 * eval/cascade_eval.c): each guard alone, the cascade with its router's
 * band, and the best band at each share escalated. */
typedef struct wd_report_cascade {
    size_t           n;              /* labelled items                           */
    wd_cascade_point first, second;  /* each guard alone (share 0 and 1)          */
    wd_cascade_point cascade;        /* with the router's band                    */
    const wd_cascade_point *curve;   /* best band escalating at most shares[k]    */
    const wd_cascade_point *centered;/* the band around 0.5 at shares[k] (wd_cascade_curve_centered); may be NULL */
    const double    *shares;         /* n_curve shares asked for, ascending        */
    size_t           n_curve;
} wd_report_cascade;

/* The report's "Cascade" section (a <section> with its heading, two SVG
 * plots - F1 and mean latency against share escalated - and the tables)
 * as a malloc'd string (*out, caller frees); it uses the page's CSS. */
wd_status wd_report_cascade_html(const wd_report_cascade *c, char **out);

/* Renders the report as HTML into a malloc'd NUL-terminated string (*out,
 * caller frees). WD_ERR_INVALID_ARG without a summary. */
wd_status wd_report_html(const wd_report *r, char **out);

/* Writes the report to path atomically. */
wd_status wd_report_write_html(const wd_report *r, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_REPORT_H */
