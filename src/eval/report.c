/*
 * eval/report.c - the self-contained HTML report (warden/report.h).
 *
 * One page, no scripts, no network: the CSS is inline and every plot is an
 * inline SVG drawn here from the metrics summary. A plot is a frame (axes,
 * grid, ticks, titles) with data mapped linearly into it:
 *
 *     +-- W -------------------------------+
 *     | ML |  plot area (W-ML-MR) x (H-MT-MB)  | MR
 *     |    +---------------------------------+
 *     |         ticks and axis title (MB)    |
 *     +--------------------------------------+
 *
 * Curves with many points are thinned to at most MAX_POINTS vertices
 * (always keeping the first and last), which changes nothing visible.
 */
#include "warden/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/strbuf.h"
#include "eval/report_internal.h"
#include "eval/scorecard_internal.h"

#define MAX_POINTS 1500

/* ==== formatting ========================================================= */

/* A ratio as a percentage with one decimal, or an em dash when undefined. */
static void pct(wd__strbuf *b, double v) {
    if (isfinite(v)) wd__strbuf_printf(b, "%.1f%%", 100.0 * v);
    else wd__strbuf_puts(b, "&mdash;");
}

static void num3(wd__strbuf *b, double v) {
    if (isfinite(v)) wd__strbuf_printf(b, "%.3f", v);
    else wd__strbuf_puts(b, "&mdash;");
}

static void ms(wd__strbuf *b, double v) {
    if (!isfinite(v)) wd__strbuf_puts(b, "&mdash;");
    else if (v < 1) wd__strbuf_printf(b, "%.0f&thinsp;&micro;s", v * 1000);
    else if (v < 100) wd__strbuf_printf(b, "%.1f&thinsp;ms", v);
    else wd__strbuf_printf(b, "%.0f&thinsp;ms", v);
}

/* ==== SVG plots ========================================================== */

enum { W = 520, H = 350, ML = 58, MR = 18, MT = 34, MB = 50 };

#define C_HARM "#d9480f"
#define C_BEN "#1971c2"
#define C_ACC "#6741d9"
#define C_GREEN "#2b8a3e"
#define C_GREY "#868e96"

typedef struct frame {
    double x0, x1, y0, y1;
} frame;

static double px(const frame *f, double x) { return ML + (x - f->x0) / (f->x1 - f->x0) * (W - ML - MR); }
static double py(const frame *f, double y) { return H - MB - (y - f->y0) / (f->y1 - f->y0) * (H - MT - MB); }

static void plot_open(wd__strbuf *b, const char *label) {
    wd__strbuf_printf(b, "<svg class=\"plot\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W, H);
    wd__strbuf_puts_html(b, label);
    wd__strbuf_puts(b, "\" xmlns=\"http://www.w3.org/2000/svg\">");
}

/* Axes with n_x / n_y ticks; tick labels as percentages when pct_axis. */
static void plot_axes(wd__strbuf *b, const frame *f, int nx, int ny, const char *xt, const char *yt, int x_pct,
                      int y_pct) {
    for (int i = 0; i <= ny; i++) {
        double v = f->y0 + (f->y1 - f->y0) * i / ny, y = py(f, v);
        wd__strbuf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", ML, y, W - MR, y);
        if (y_pct) wd__strbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>", ML - 6, y + 4, v * 100);
        else wd__strbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", ML - 6, y + 4, v);
    }
    for (int i = 0; i <= nx; i++) {
        double v = f->x0 + (f->x1 - f->x0) * i / nx, x = px(f, v);
        wd__strbuf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, MT, x, H - MB);
        if (x_pct) wd__strbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f%%</text>", x, H - MB + 17, v * 100);
        else wd__strbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", x, H - MB + 17, v);
    }
    wd__strbuf_printf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", ML, MT, W - ML - MR, H - MT - MB);
    wd__strbuf_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (ML + W - MR) / 2, H - 10);
    wd__strbuf_puts_html(b, xt);
    wd__strbuf_printf(b, "</text><text class=\"axis\" transform=\"translate(15 %d) rotate(-90)\" text-anchor=\"middle\">", (MT + H - MB) / 2);
    wd__strbuf_puts_html(b, yt);
    wd__strbuf_puts(b, "</text>");
}

/* A legend as one row above the plot area (in the top margin), so it
 * never hides data. */
static void legend(wd__strbuf *b, const char *const *names, const char *const *colors, int n, int unused) {
    (void)unused;
    int x = ML;
    for (int i = 0; i < n; i++) {
        wd__strbuf_printf(b, "<rect x=\"%d\" y=\"12\" width=\"14\" height=\"4\" rx=\"2\" fill=\"%s\"/>", x, colors[i]);
        wd__strbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"18\">", x + 19);
        wd__strbuf_puts_html(b, names[i]);
        wd__strbuf_puts(b, "</text>");
        x += 19 + (int)strlen(names[i]) * 6 + 18;
    }
}

static void polyline(wd__strbuf *b, const frame *f, const double *x, const double *y, size_t n, const char *color,
                     int step, const char *dash) {
    if (n == 0) return;
    size_t stride = n > MAX_POINTS ? (n + MAX_POINTS - 1) / MAX_POINTS : 1;
    wd__strbuf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.2\" stroke-linejoin=\"round\"%s%s%s points=\"",
              color, dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    double lx = NAN, ly = NAN;
    for (size_t i = 0; i < n; i += stride) {
        size_t k = i;
        if (i + stride >= n) k = n - 1;
        if (!isfinite(x[k]) || !isfinite(y[k])) continue;
        double X = px(f, x[k]), Y = py(f, y[k]);
        if (step && isfinite(lx)) wd__strbuf_printf(b, "%.1f,%.1f ", X, ly); /* horizontal, then vertical */
        wd__strbuf_printf(b, "%.1f,%.1f ", X, Y);
        lx = X;
        ly = Y;
        if (k == n - 1) break;
    }
    wd__strbuf_puts(b, "\"/>");
}

static void plot_pr(wd__strbuf *b, const wd_metrics_summary *s) {
    plot_open(b, "precision-recall curve");
    frame f = {0, 1, 0, 1};
    plot_axes(b, &f, 5, 5, "recall (harmful items flagged)", "precision", 1, 1);
    if (s->n_scored && s->n_harmful) {
        double base = (double)s->n_harmful / (double)(s->n_harmful + s->n_benign);
        double bx[2] = {0, 1}, by[2] = {base, base};
        polyline(b, &f, bx, by, 2, C_GREY, 0, "5 4");
        /* start the step curve at recall 0 with the first precision */
        if (s->pr.n) {
            double x0[2] = {0, s->pr.x[0]}, y0[2] = {s->pr.y[0], s->pr.y[0]};
            polyline(b, &f, x0, y0, 2, C_ACC, 0, NULL);
        }
        polyline(b, &f, s->pr.x, s->pr.y, s->pr.n, C_ACC, 1, NULL);
        static const char *const nm[] = {"guard", "chance (share harmful)"};
        static const char *const cl[] = {C_ACC, C_GREY};
        legend(b, nm, cl, 2, 1);
    } else {
        wd__strbuf_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">needs scores and harmful items</text>", W / 2, H / 2);
    }
    wd__strbuf_puts(b, "</svg>");
}

static void plot_roc(wd__strbuf *b, const wd_metrics_summary *s) {
    plot_open(b, "ROC curve");
    frame f = {0, 1, 0, 1};
    plot_axes(b, &f, 5, 5, "false positive rate (benign items flagged)", "true positive rate", 1, 1);
    double d[2] = {0, 1};
    polyline(b, &f, d, d, 2, C_GREY, 0, "5 4");
    if (s->n_harmful && s->n_benign && s->roc.n) {
        polyline(b, &f, s->roc.x, s->roc.y, s->roc.n, C_ACC, 0, NULL);
        /* the guard's own operating point */
        if (isfinite(s->decision.fpr) && isfinite(s->decision.recall))
            wd__strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"1.5\"/>",
                      px(&f, s->decision.fpr), py(&f, s->decision.recall), C_HARM);
        static const char *const nm[] = {"guard", "decision threshold", "chance"};
        static const char *const cl[] = {C_ACC, C_HARM, C_GREY};
        legend(b, nm, cl, 3, 1);
    } else {
        wd__strbuf_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">needs harmful and benign items</text>", W / 2, H / 2);
    }
    wd__strbuf_puts(b, "</svg>");
}

static void plot_hist(wd__strbuf *b, const wd_metrics_summary *s) {
    plot_open(b, "score histogram by class");
    size_t nb = s->n_hist_bins;
    double top = 0;
    for (size_t i = 0; i < nb; i++) {
        double a = s->n_harmful ? (double)s->hist_harmful[i] / (double)s->n_harmful : 0;
        double c = s->n_benign ? (double)s->hist_benign[i] / (double)s->n_benign : 0;
        if (a > top) top = a;
        if (c > top) top = c;
    }
    /* a round top and step: 5% steps up to 30%, then 10%, then 25% */
    double step = top <= 0.3 ? 0.05 : top <= 0.6 ? 0.1 : 0.25;
    int ny = top > 0 ? (int)ceil(top / step - 1e-9) : 4;
    if (ny < 2) ny = 2;
    top = ny * step;
    frame f = {0, 1, 0, top};
    plot_axes(b, &f, 5, ny, "score p(harmful)", "share of the class", 0, 1);
    for (size_t i = 0; i < nb; i++) {
        double x0 = (double)i / (double)nb, x1 = (double)(i + 1) / (double)nb;
        double w = (px(&f, x1) - px(&f, x0)) / 2 - 1;
        double vals[2] = {s->n_benign ? (double)s->hist_benign[i] / (double)s->n_benign : 0,
                          s->n_harmful ? (double)s->hist_harmful[i] / (double)s->n_harmful : 0};
        const char *col[2] = {C_BEN, C_HARM};
        for (int k = 0; k < 2; k++) {
            if (vals[k] <= 0) continue;
            double X = px(&f, x0) + 1 + k * (w + 0.5), Y = py(&f, vals[k]);
            wd__strbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" opacity=\"0.85\"/>", X, Y,
                      w > 1 ? w : 1, py(&f, 0) - Y, col[k]);
        }
    }
    static const char *const nm[] = {"benign", "harmful"};
    static const char *const cl[] = {C_BEN, C_HARM};
    legend(b, nm, cl, 2, 0);
    wd__strbuf_puts(b, "</svg>");
}

static void plot_sweep(wd__strbuf *b, const wd_metrics_summary *s) {
    plot_open(b, "threshold sweep");
    frame f = {0, 1, 0, 1};
    plot_axes(b, &f, 5, 5, "threshold on the score", "", 0, 1);
    size_t n = s->n_sweep;
    double *v = malloc((n ? n : 1) * 4 * sizeof *v);
    if (!v) {
        b->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = s->sweep_metrics[i].precision;
        v[n + i] = s->sweep_metrics[i].recall;
        v[2 * n + i] = s->sweep_metrics[i].f1;
        v[3 * n + i] = s->sweep_metrics[i].fpr;
    }
    static const char *const nm[] = {"precision", "recall", "F1", "FPR"};
    static const char *const cl[] = {C_BEN, C_HARM, C_ACC, C_GREY};
    for (int k = 0; k < 4; k++) {
        /* split at undefined points so a gap shows where a ratio has no value */
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i == n || !isfinite(v[k * n + i])) {
                if (i > start) polyline(b, &f, s->sweep_threshold + start, v + k * n + start, i - start, cl[k], 0, NULL);
                start = i + 1;
            }
        }
    }
    free(v);
    legend(b, nm, cl, 4, 1);
    wd__strbuf_puts(b, "</svg>");
}

static void plot_calibration(wd__strbuf *b, const wd_metrics_summary *s) {
    plot_open(b, "calibration");
    frame f = {0, 1, 0, 1};
    plot_axes(b, &f, 5, 5, "mean score in the bin", "share harmful in the bin", 0, 1);
    double d[2] = {0, 1};
    polyline(b, &f, d, d, 2, C_GREY, 0, "5 4");
    size_t total = 0;
    for (size_t i = 0; i < s->n_calib_bins; i++) total += s->calib_count[i];
    for (size_t i = 0; i < s->n_calib_bins; i++) {
        if (!s->calib_count[i]) continue;
        double r = 3 + 9 * sqrt((double)s->calib_count[i] / (double)(total ? total : 1));
        wd__strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" opacity=\"0.75\"><title>%llu items</title></circle>",
                  px(&f, s->calib_mean_score[i]), py(&f, s->calib_frac_harmful[i]), r, C_ACC,
                  (unsigned long long)s->calib_count[i]);
    }
    static const char *const nm[] = {"bin (area ~ items)", "perfect calibration"};
    static const char *const cl[] = {C_ACC, C_GREY};
    legend(b, nm, cl, 2, 1);
    wd__strbuf_puts(b, "</svg>");
}

/* Horizontal bars: one group per row, up to 2 values per group. */
static void plot_bars(wd__strbuf *b, const char *label, const char *const *rows, size_t n_rows, const double *a,
                      const double *c, const char *name_a, const char *name_c, const char *ca, const char *cc,
                      int wide) {
    int two = c != NULL;
    int row_h = two ? 30 : 22, left = 170, right = 56, top = two ? 34 : 10;
    int h = top + (int)n_rows * row_h + 34;
    int w = wide ? 1080 : W;
    wd__strbuf_printf(b, "<svg class=\"plot\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", w, h);
    wd__strbuf_puts_html(b, label);
    wd__strbuf_puts(b, "\" xmlns=\"http://www.w3.org/2000/svg\">");
    double pw = w - left - right;
    for (int t = 0; t <= 4; t++) {
        double x = left + pw * t / 4;
        wd__strbuf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, top - 4, x, h - 30);
        wd__strbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d%%</text>", x, h - 14, t * 25);
    }
    if (two) {
        wd__strbuf_printf(b, "<rect x=\"%d\" y=\"10\" width=\"14\" height=\"8\" rx=\"2\" fill=\"%s\"/><text class=\"tick\" x=\"%d\" y=\"18\">", left, ca, left + 20);
        wd__strbuf_puts_html(b, name_a);
        wd__strbuf_printf(b, "</text><rect x=\"%d\" y=\"10\" width=\"14\" height=\"8\" rx=\"2\" fill=\"%s\"/><text class=\"tick\" x=\"%d\" y=\"18\">", left + 150, cc, left + 170);
        wd__strbuf_puts_html(b, name_c);
        wd__strbuf_puts(b, "</text>");
    }
    for (size_t i = 0; i < n_rows; i++) {
        int y = top + (int)i * row_h;
        wd__strbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + (two ? 17 : 14));
        char shortname[40];
        snprintf(shortname, sizeof shortname, "%s", rows[i]);
        if (strlen(rows[i]) > 26) strcpy(shortname + 23, "...");
        wd__strbuf_puts_html(b, shortname);
        wd__strbuf_puts(b, "</text>");
        const double *vals[2] = {a, c};
        const char *cols[2] = {ca, cc};
        for (int k = 0; k < 1 + two; k++) {
            double v = vals[k][i];
            int bh = two ? 11 : 14, by = y + 3 + k * 12;
            if (!isfinite(v)) {
                wd__strbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%d\">n/a</text>", left + 4, by + 10);
                continue;
            }
            double bw = pw * (v < 0 ? 0 : v > 1 ? 1 : v);
            wd__strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>", left, by, bw > 0.5 ? bw : 0.5, bh, cols[k]);
            wd__strbuf_printf(b, "<text class=\"val\" x=\"%.1f\" y=\"%d\">%.0f%%</text>", left + bw + 4, by + bh - 2, v * 100);
        }
    }
    wd__strbuf_puts(b, "</svg>");
}

/* ==== page =============================================================== */

static const char CSS[] =
    ":root{--ink:#1f2328;--muted:#59636e;--line:#d8dee4;--bg:#f6f8fa;--card:#fff;--acc:#6741d9}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI',"
    "Roboto,'Helvetica Neue',Arial,sans-serif}"
    "main{max-width:1160px;margin:0 auto;padding:28px 24px 60px}"
    "header{display:flex;align-items:baseline;justify-content:space-between;gap:16px;flex-wrap:wrap;"
    "border-bottom:1px solid var(--line);padding-bottom:14px;margin-bottom:22px}"
    "h1{font-size:26px;margin:0;letter-spacing:-.01em}"
    "h2{font-size:18px;margin:34px 0 12px}"
    "h3{font-size:14px;margin:0 0 8px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}"
    ".meta{color:var(--muted);font-size:13px}"
    ".badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:600;margin-left:8px}"
    ".ok{background:#d3f9d8;color:#2b8a3e}.warn{background:#fff3bf;color:#8a5a00}"
    ".kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px}"
    ".kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}"
    ".kpi .v{font-size:24px;font-weight:650;letter-spacing:-.02em}"
    ".kpi .l{font-size:12px;color:var(--muted)}"
    ".grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px;align-items:start}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}"
    ".card p{margin:6px 0 0;font-size:13px;color:var(--muted)}"
    "svg.plot{width:100%;height:auto;display:block}"
    "svg .grid{stroke:#eef1f4;stroke-width:1}"
    "svg .frame{fill:none;stroke:#c9d1d9;stroke-width:1}"
    "svg .tick{font-size:11px;fill:#59636e}"
    "svg .val{font-size:10.5px;fill:#1f2328}"
    "svg .axis{font-size:12px;fill:#1f2328}"
    "svg .legend{fill:#fff;stroke:#d8dee4;opacity:.92}"
    "table{border-collapse:collapse;width:100%;font-size:13px;background:var(--card)}"
    "th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}"
    "th{background:#f0f3f6;font-weight:600;color:#30363d}"
    "td:first-child,th:first-child{text-align:left;white-space:normal}"
    ".tbl{border:1px solid var(--line);border-radius:10px;overflow-x:auto;margin-top:16px}"
    ".cm td{font-size:15px;text-align:center}.cm th{text-align:center}"
    ".neg{color:#c92a2a}.pos{color:#2b8a3e}"
    "footer{margin-top:40px;color:var(--muted);font-size:12px}";

static void kpi(wd__strbuf *b, const char *label, void (*fmt)(wd__strbuf *, double), double v) {
    wd__strbuf_puts(b, "<div class=\"kpi\"><div class=\"v\">");
    fmt(b, v);
    wd__strbuf_printf(b, "</div><div class=\"l\">%s</div></div>", label);
}

static void kpi_count(wd__strbuf *b, const char *label, size_t v) {
    wd__strbuf_printf(b, "<div class=\"kpi\"><div class=\"v\">%zu</div><div class=\"l\">%s</div></div>", v, label);
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

wd_status wd_report_html(const wd_report *r, char **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_report_html: out is NULL");
    *out = NULL;
    if (!r || !r->summary) return wd__fail(WD_ERR_INVALID_ARG, "wd_report_html: no summary");
    const wd_metrics_summary *s = r->summary;
    wd__strbuf b = {0};
    wd__strbuf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
    wd__strbuf_puts_html(&b, r->title ? r->title : "warden evaluation");
    wd__strbuf_printf(&b, "</title><style>%s</style></head><body><main>\n<header><div><h1>", CSS);
    wd__strbuf_puts_html(&b, r->title ? r->title : "warden evaluation");
    wd__strbuf_puts(&b, r->complete ? "<span class=\"badge ok\">complete</span>" : "<span class=\"badge warn\">incomplete</span>");
    wd__strbuf_puts(&b, "</h1><div class=\"meta\">");
    if (r->subject) {
        wd__strbuf_puts(&b, "subject: <b>");
        wd__strbuf_puts_html(&b, r->subject);
        wd__strbuf_puts(&b, "</b> &middot; ");
    }
    wd__strbuf_printf(&b, "%zu items (%zu harmful, %zu benign", s->n, s->n_harmful, s->n_benign);
    if (s->n_unknown) wd__strbuf_printf(&b, ", %zu unlabelled", s->n_unknown);
    wd__strbuf_puts(&b, ")");
    if (!r->complete) wd__strbuf_printf(&b, " &middot; %zu of %zu units done: rerun to resume", r->n_done, r->n_total);
    wd__strbuf_puts(&b, "</div></div><div class=\"meta\">");
    wd__strbuf_puts_html(&b, r->generated_at);
    wd__strbuf_puts(&b, "</div></header>\n");

    /* KPIs */
    wd__strbuf_puts(&b, "<section class=\"kpis\">");
    kpi(&b, "recall (harmful flagged)", pct, s->decision.recall);
    kpi(&b, "false positive rate", pct, s->decision.fpr);
    kpi(&b, "precision", pct, s->decision.precision);
    kpi(&b, "F1", num3, s->decision.f1);
    kpi(&b, "AUPRC", num3, s->auprc);
    kpi(&b, "ROC-AUC", num3, s->roc_auc);
    kpi(&b, "calibration error (ECE)", num3, s->ece);
    kpi(&b, "accuracy", pct, s->decision.accuracy);
    kpi(&b, "latency p50", ms, s->latency_p50);
    kpi(&b, "latency p95", ms, s->latency_p95);
    kpi(&b, "latency p99", ms, s->latency_p99);
    kpi_count(&b, "items scored", s->n_scored);
    wd__strbuf_puts(&b, "</section>\n");
    if (r->scorecard) wd__scorecard_html(&b, r->scorecard);

    /* curves */
    wd__strbuf_puts(&b, "<h2>Ranking</h2><div class=\"grid2\"><div class=\"card\"><h3>Precision&ndash;recall</h3>");
    plot_pr(&b, s);
    wd__strbuf_puts(&b, "<p>Step-wise, as average precision (AUPRC ");
    num3(&b, s->auprc);
    wd__strbuf_puts(&b, ") sums it. Dashed: a guard that flags at random.</p></div><div class=\"card\"><h3>ROC</h3>");
    plot_roc(&b, s);
    wd__strbuf_puts(&b, "<p>Area ");
    num3(&b, s->roc_auc);
    wd__strbuf_puts(&b, "; the dot is the guard's own decision.</p></div>");
    wd__strbuf_puts(&b, "<div class=\"card\"><h3>Scores by class</h3>");
    plot_hist(&b, s);
    wd__strbuf_puts(&b, "<p>Each class's share of items per score bin: good separation puts benign left and harmful right.</p></div>");
    wd__strbuf_puts(&b, "<div class=\"card\"><h3>Threshold sweep</h3>");
    plot_sweep(&b, s);
    wd__strbuf_puts(&b, "<p>What flagging at score &ge; threshold would give.</p></div>");
    wd__strbuf_puts(&b, "<div class=\"card\"><h3>Calibration</h3>");
    plot_calibration(&b, s);
    wd__strbuf_puts(&b, "<p>Expected calibration error ");
    num3(&b, s->ece);
    wd__strbuf_printf(&b, " over %zu equal-width bins.</p></div>", s->n_calib_bins);

    /* per source */
    if (r->n_sources) {
        const char **rows = calloc(r->n_sources, sizeof *rows);
        double *v = calloc(r->n_sources, sizeof *v);
        if (!rows || !v) b.oom = true;
        else {
            for (size_t i = 0; i < r->n_sources; i++) {
                rows[i] = base_name(r->sources[i].path);
                v[i] = r->sources[i].n ? (double)r->sources[i].n_flagged / (double)r->sources[i].n : NAN;
            }
            wd__strbuf_puts(&b, "<div class=\"card\"><h3>Flag rate by file</h3>");
            plot_bars(&b, "flag rate by file", rows, r->n_sources, v, NULL, "", "", C_ACC, NULL, 0);
            wd__strbuf_puts(&b, "<p>Share of each file's items flagged: detection on harmful files, false positives on benign ones.</p></div>");
        }
        free(rows);
        free(v);
    }
    wd__strbuf_puts(&b, "</div>\n");

    /* categories */
    if (s->n_categories) {
        const char *rows[WD_CATEGORY_COUNT];
        double det[WD_CATEGORY_COUNT], rec[WD_CATEGORY_COUNT];
        size_t n = 0;
        for (size_t i = 0; i < s->n_categories; i++) {
            if (!s->categories[i].support) continue;
            rows[n] = wd_category_name(s->categories[i].category);
            det[n] = s->categories[i].detection;
            rec[n] = s->categories[i].recall;
            n++;
        }
        wd__strbuf_puts(&b, "<h2>Categories</h2>");
        if (n) {
            wd__strbuf_puts(&b, "<div class=\"card\"><h3>Detection by labelled category</h3>");
            plot_bars(&b, "detection by category", rows, n, det, rec, "flagged (any category)",
                      "flagged in this category", C_HARM, C_ACC, 1);
            wd__strbuf_puts(&b, "<p>Harmful items by the category their dataset gives: flagged at all, and flagged under "
                        "that same category.</p></div>");
        }
        wd__strbuf_puts(&b, "<div class=\"tbl\"><table><tr><th>category</th><th>support</th><th>detected</th>"
                    "<th>predicted</th><th>precision</th><th>recall</th><th>F1</th></tr>");
        size_t n_unlabelled = 0;
        for (size_t i = 0; i < s->n_categories; i++) {
            const wd_category_row *c = &s->categories[i];
            wd__strbuf_printf(&b, "<tr><td>%s %s</td><td>%llu</td><td>", wd_category_id(c->category),
                      wd_category_name(c->category), (unsigned long long)c->support);
            if (!c->support) {
                n_unlabelled++;
                wd__strbuf_printf(&b, "n/a</td><td>%llu</td><td>n/a*</td><td>n/a*</td><td>n/a*</td></tr>",
                          (unsigned long long)c->n_pred);
                continue;
            }
            pct(&b, c->detection);
            wd__strbuf_printf(&b, "</td><td>%llu</td><td>", (unsigned long long)c->n_pred);
            pct(&b, c->precision);
            wd__strbuf_puts(&b, "</td><td>");
            pct(&b, c->recall);
            wd__strbuf_puts(&b, "</td><td>");
            num3(&b, c->f1);
            wd__strbuf_puts(&b, "</td></tr>");
        }
        wd__strbuf_puts(&b, "</table></div>\n");
        if (n_unlabelled)
            wd__strbuf_puts(&b, "<p>* n/a: no item in the data is labelled with this category, so its "
                        "predictions cannot be scored (a harmful item without a category label may "
                        "belong to it). Give the data a category field to measure it.</p>\n");
    }

    /* robustness */
    if (r->n_attacks) {
        const char **rows = calloc(r->n_attacks, sizeof *rows);
        double *c = calloc(r->n_attacks, sizeof *c), *a = calloc(r->n_attacks, sizeof *a);
        if (!rows || !c || !a) b.oom = true;
        else {
            for (size_t i = 0; i < r->n_attacks; i++) {
                rows[i] = r->attacks[i].transform;
                c[i] = r->attacks[i].clean_detection;
                a[i] = r->attacks[i].attacked_detection;
            }
            wd__strbuf_puts(&b, "<h2>Robustness under attack</h2><div class=\"card\"><h3>Detection, clean vs attacked</h3>");
            plot_bars(&b, "detection clean vs attacked", rows, r->n_attacks, c, a, "clean", "attacked", C_BEN, C_HARM, 1);
            wd__strbuf_puts(&b, "<p>Share of harmful items flagged, on the clean text and on its attacked copy.</p></div>"
                        "<div class=\"tbl\"><table><tr><th>transform</th><th>harmful</th><th>clean</th>"
                        "<th>attacked</th><th>change</th><th>FPR clean</th><th>FPR attacked</th></tr>");
            for (size_t i = 0; i < r->n_attacks; i++) {
                const wd_report_attack *x = &r->attacks[i];
                wd__strbuf_puts(&b, "<tr><td>");
                wd__strbuf_puts_html(&b, x->transform);
                wd__strbuf_printf(&b, "</td><td>%zu</td><td>", x->n_harmful);
                pct(&b, x->clean_detection);
                wd__strbuf_puts(&b, "</td><td>");
                pct(&b, x->attacked_detection);
                double d = x->clean_detection - x->attacked_detection;
                wd__strbuf_printf(&b, "</td><td class=\"%s\">", d > 0.005 ? "neg" : d < -0.005 ? "pos" : "");
                if (isfinite(d) && fabs(d) < 0.0005) wd__strbuf_puts(&b, "0.0 pt");
                else if (isfinite(d)) wd__strbuf_printf(&b, "%+.1f pt", -100 * d);
                else wd__strbuf_puts(&b, "&mdash;");
                wd__strbuf_puts(&b, "</td><td>");
                pct(&b, x->clean_fpr);
                wd__strbuf_puts(&b, "</td><td>");
                pct(&b, x->attacked_fpr);
                wd__strbuf_puts(&b, "</td></tr>");
            }
            wd__strbuf_puts(&b, "</table></div>\n");
        }
        free(rows);
        free(c);
        free(a);
    }

    /* tables */
    wd__strbuf_puts(&b, "<h2>Decisions</h2><div class=\"grid2\"><div class=\"tbl\"><table class=\"cm\">"
                "<tr><th></th><th>flagged</th><th>allowed</th></tr>");
    wd__strbuf_printf(&b, "<tr><th>harmful</th><td>%llu <span class=\"meta\">TP</span></td><td>%llu <span class=\"meta\">FN</span></td></tr>",
              (unsigned long long)s->confusion.tp, (unsigned long long)s->confusion.fn);
    wd__strbuf_printf(&b, "<tr><th>benign</th><td>%llu <span class=\"meta\">FP</span></td><td>%llu <span class=\"meta\">TN</span></td></tr></table></div>",
              (unsigned long long)s->confusion.fp, (unsigned long long)s->confusion.tn);
    wd__strbuf_puts(&b, "<div class=\"tbl\"><table><tr><th>at FPR &le;</th><th>recall</th><th>threshold</th></tr>");
    for (size_t i = 0; i < s->n_fpr; i++) {
        wd__strbuf_printf(&b, "<tr><td>%g%%</td><td>", 100 * s->fpr_target[i]);
        pct(&b, s->recall_at_fpr[i]);
        wd__strbuf_puts(&b, "</td><td>");
        if (isinf(s->threshold_at_fpr[i])) wd__strbuf_puts(&b, "none");
        else num3(&b, s->threshold_at_fpr[i]);
        wd__strbuf_puts(&b, "</td></tr>");
    }
    wd__strbuf_printf(&b, "<tr><td>latency mean / max</td><td>");
    ms(&b, s->latency_mean);
    wd__strbuf_puts(&b, "</td><td>");
    ms(&b, s->latency_max);
    wd__strbuf_puts(&b, "</td></tr></table></div></div>\n");

    if (r->n_sources) {
        wd__strbuf_puts(&b, "<h2>Files</h2><div class=\"tbl\"><table><tr><th>file</th><th>items</th><th>harmful</th>"
                    "<th>benign</th><th>flagged</th><th>flag rate</th></tr>");
        for (size_t i = 0; i < r->n_sources; i++) {
            const wd_report_source *x = &r->sources[i];
            wd__strbuf_puts(&b, "<tr><td>");
            wd__strbuf_puts_html(&b, x->path);
            wd__strbuf_printf(&b, "</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td><td>", x->n, x->n_harmful, x->n_benign,
                      x->n_flagged);
            pct(&b, x->n ? (double)x->n_flagged / (double)x->n : NAN);
            wd__strbuf_puts(&b, "</td></tr>");
        }
        wd__strbuf_puts(&b, "</table></div>\n");
    }

    wd__strbuf_puts(&b, "<h2>Threshold sweep</h2><div class=\"tbl\"><table><tr><th>threshold</th><th>TP</th><th>FP</th>"
                "<th>TN</th><th>FN</th><th>precision</th><th>recall</th><th>F1</th><th>FPR</th></tr>");
    for (size_t i = 0; i < s->n_sweep; i++) {
        const wd_confusion *c = &s->sweep[i];
        const wd_binary_metrics *m = &s->sweep_metrics[i];
        wd__strbuf_printf(&b, "<tr><td>%.2f</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>", s->sweep_threshold[i],
                  (unsigned long long)c->tp, (unsigned long long)c->fp, (unsigned long long)c->tn,
                  (unsigned long long)c->fn);
        pct(&b, m->precision);
        wd__strbuf_puts(&b, "</td><td>");
        pct(&b, m->recall);
        wd__strbuf_puts(&b, "</td><td>");
        num3(&b, m->f1);
        wd__strbuf_puts(&b, "</td><td>");
        pct(&b, m->fpr);
        wd__strbuf_puts(&b, "</td></tr>");
    }
    wd__strbuf_printf(&b, "</table></div>\n<footer>Generated by warden %s. Metric definitions: docs/eval.md.</footer>\n"
                  "</main></body></html>\n", wd_version());
    if (!(*out = wd__strbuf_take(&b, NULL))) return wd__fail(WD_ERR_NOMEM, "report: out of memory");
    return WD_OK;
}

wd_status wd_report_write_html(const wd_report *r, const char *path) {
    char *html;
    wd_status st = wd_report_html(r, &html);
    if (st) return st;
    st = wd__file_write_atomic(path, html, strlen(html));
    free(html);
    return st;
}

/* ==== the cascade section ================================================= */

/* One of the cascade's plots: y (F1 or latency) of the best band and of
 * the band around 0.5 against the share escalated, each guard alone
 * dashed, the router's band a ring. */
static void plot_cascade(wd__strbuf *b, const wd_report_cascade *c, bool latency) {
    plot_open(b, latency ? "mean latency against share escalated" : "F1 against share escalated");
    size_t n = c->n_curve;
    double top = 1;
    if (latency) {
        top = fmax(c->first.mean_ms, c->second.mean_ms);
        for (size_t i = 0; i < n; i++) {
            top = fmax(top, c->curve[i].mean_ms);
            if (c->centered) top = fmax(top, c->centered[i].mean_ms);
        }
        if (!(top > 0) || !isfinite(top)) top = 1;
        double step = pow(10, floor(log10(top)));
        top = ceil(top * 1.05 / step) * step; /* a round top tick */
    }
    double bottom = 0;
    if (!latency) { /* F1 from a round tenth under the lowest value shown: the differences are small */
        double lo = fmin(c->first.f1, c->second.f1);
        for (size_t i = 0; i < n; i++) {
            lo = fmin(lo, c->curve[i].f1);
            if (c->centered) lo = fmin(lo, c->centered[i].f1);
        }
        if (isfinite(lo)) bottom = fmax(0, floor(lo * 10 - 1e-9) / 10);
        if (bottom > 0.9) bottom = 0.9;
    }
    frame f = {0, 1, bottom, top};
    plot_axes(b, &f, 5, 5, "share of texts escalated to the second guard", latency ? "mean latency per text (ms)" : "F1",
              1, 0);
    double *x = malloc((n ? n : 1) * 2 * sizeof *x);
    if (!x) {
        b->oom = true;
        return;
    }
    static const char *const nm[] = {"best band", "near 0.5", "first", "second", "router"};
    static const char *const cl[] = {C_ACC, "#495057", C_BEN, C_HARM, C_GREEN};
    const wd_cascade_point *alone[2] = {&c->first, &c->second};
    for (int k = 0; k < 2; k++) {
        double xs[2] = {0, 1}, ys[2];
        ys[0] = ys[1] = latency ? alone[k]->mean_ms : alone[k]->f1;
        polyline(b, &f, xs, ys, 2, cl[2 + k], 0, "6 4");
    }
    const wd_cascade_point *curves[2] = {c->curve, c->centered};
    for (int k = 0; k < 2; k++) {
        if (!curves[k]) continue;
        for (size_t i = 0; i < n; i++) {
            x[i] = curves[k][i].share;
            x[n + i] = latency ? curves[k][i].mean_ms : curves[k][i].f1;
        }
        polyline(b, &f, x, x + n, n, cl[k], 0, k ? "2 3" : NULL);
        for (size_t i = 0; i < n; i++)
            if (isfinite(x[i]) && isfinite(x[n + i]))
                wd__strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", px(&f, x[i]),
                                  py(&f, x[n + i]), cl[k]);
    }
    double ry = latency ? c->cascade.mean_ms : c->cascade.f1;
    if (isfinite(c->cascade.share) && isfinite(ry))
        wd__strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5.5\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.2\"/>",
                          px(&f, c->cascade.share), py(&f, ry), cl[4]);
    free(x);
    legend(b, nm, cl, 5, 1);
    wd__strbuf_puts(b, "</svg>");
}

/* The cells band, F1, escalated and latency of p. */
static void cascade_cells(wd__strbuf *b, const wd_cascade_point *p) {
    wd__strbuf_puts(b, "<td>");
    if (p->high > p->low) wd__strbuf_printf(b, "[%.4g, %.4g)", p->low, p->high);
    else wd__strbuf_puts(b, "none");
    wd__strbuf_puts(b, "</td><td>");
    num3(b, p->f1);
    wd__strbuf_puts(b, "</td><td>");
    pct(b, p->share);
    wd__strbuf_puts(b, "</td><td>");
    ms(b, p->mean_ms);
    wd__strbuf_puts(b, "</td>");
}

static void cascade_row(wd__strbuf *b, const char *name, const wd_cascade_point *p, bool band) {
    wd__strbuf_puts(b, "<tr><td>");
    wd__strbuf_puts_html(b, name);
    if (band && p->high > p->low) wd__strbuf_printf(b, " [%.4g, %.4g)", p->low, p->high);
    wd__strbuf_puts(b, "</td><td>");
    num3(b, p->f1);
    wd__strbuf_puts(b, "</td><td>");
    pct(b, p->precision);
    wd__strbuf_puts(b, "</td><td>");
    pct(b, p->recall);
    wd__strbuf_puts(b, "</td><td>");
    pct(b, p->share);
    wd__strbuf_puts(b, "</td><td>");
    ms(b, p->mean_ms);
    wd__strbuf_puts(b, "</td></tr>");
}

wd_status wd_report_cascade_html(const wd_report_cascade *c, char **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_report_cascade_html: out is NULL");
    *out = NULL;
    if (!c || (c->n_curve && (!c->curve || !c->shares)))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_report_cascade_html: no cascade");
    wd__strbuf b = {0};
    wd__strbuf_printf(&b, "<section id=\"cascade\"><h2>Cascade</h2><p class=\"meta\">%zu labelled clean items, each "
                          "checked by the first guard alone and by the second alone; the cascade takes the second's "
                          "verdict when the first's score falls in the band. Latency: the first guard's time, plus "
                          "the second's when escalated.</p>",
                      c->n);
    wd__strbuf_puts(&b, "<div class=\"tbl\"><table><tr><th>guard</th><th>F1</th><th>precision</th><th>recall</th>"
                        "<th>escalated</th><th>mean latency</th></tr>");
    cascade_row(&b, "first guard alone", &c->first, false);
    cascade_row(&b, "second guard alone", &c->second, false);
    cascade_row(&b, "cascade, router band", &c->cascade, true);
    wd__strbuf_puts(&b, "</table></div><div class=\"grid2\" style=\"margin-top:16px\"><div class=\"card\"><h3>F1 "
                        "against share escalated</h3>");
    plot_cascade(&b, c, false);
    wd__strbuf_puts(&b, "<p>Best band: for each share, the band of best F1 escalating at most that share, chosen on "
                        "these items (an upper bound for a router trained elsewhere). Near 0.5: the band around "
                        "the first guard's threshold, chosen without the labels. Ring: the router's band.</p></div>"
                        "<div class=\"card\"><h3>Mean latency against share escalated</h3>");
    plot_cascade(&b, c, true);
    wd__strbuf_puts(&b, "<p>Mean time per text of the same bands.</p></div></div>");
    wd__strbuf_puts(&b, "<div class=\"tbl\"><table><tr><th rowspan=\"2\">at most escalated</th>"
                        "<th colspan=\"4\">best band</th><th colspan=\"4\">band near 0.5</th></tr><tr>"
                        "<th>band</th><th>F1</th><th>escalated</th><th>mean latency</th>"
                        "<th>band</th><th>F1</th><th>escalated</th><th>mean latency</th></tr>");
    for (size_t i = 0; i < c->n_curve; i++) {
        wd__strbuf_puts(&b, "<tr><td>");
        pct(&b, c->shares[i]);
        wd__strbuf_puts(&b, "</td>");
        cascade_cells(&b, &c->curve[i]);
        if (c->centered) cascade_cells(&b, &c->centered[i]);
        else wd__strbuf_puts(&b, "<td></td><td></td><td></td><td></td>");
        wd__strbuf_puts(&b, "</tr>");
    }
    wd__strbuf_puts(&b, "</table></div></section>\n");
    if (!(*out = wd__strbuf_take(&b, NULL))) return wd__fail(WD_ERR_NOMEM, "report: out of memory");
    return WD_OK;
}

/* ==== sections added after the run ======================================== */

wd_status wd__report_insert_section(const char *path, const char *section) {
    char *page = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(path, (size_t)1 << 32, &page, &len);
    if (st != WD_OK) return st;
    char *at = NULL;
    for (const char *p = page; (p = strstr(p, "</main>")); p++) at = (char *)p;
    if (!at)
        for (const char *p = page; (p = strstr(p, "</body>")); p++) at = (char *)p;
    size_t pre = at ? (size_t)(at - page) : len, sl = strlen(section);
    char *out = malloc(len + sl + 1);
    if (!out) {
        free(page);
        return wd__fail(WD_ERR_NOMEM, "report: out of memory");
    }
    memcpy(out, page, pre);
    memcpy(out + pre, section, sl);
    memcpy(out + pre + sl, page + pre, len - pre);
    st = wd__file_write_atomic(path, out, len + sl);
    free(out);
    free(page);
    return st;
}
