/*
 * train/report.c - OUT/report.html after training: the loss per step (and,
 * for reward models and DPO, the pairwise accuracy) from OUT/train.jsonl,
 * drawn as inline SVG, with the run's summary. One self-contained file, no
 * script, like eval's report.
 */
#include "train/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/strbuf.h"

/* A polyline of ys (n) scaled into the plot box; NaNs skipped. */
static void polyline(wd__strbuf *b, const double *ys, size_t n, double lo, double hi,
                     const char *colour) {
    wd__strbuf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colour);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ys[i])) continue;
        double x = 50 + 600.0 * (n > 1 ? (double)i / (double)(n - 1) : 0.5);
        double y = 230 - 200.0 * (hi > lo ? (ys[i] - lo) / (hi - lo) : 0.5);
        wd__strbuf_printf(b, "%.1f,%.1f ", x, y);
    }
    wd__strbuf_printf(b, "\"/>\n");
}

static void chart(wd__strbuf *b, const char *title, const double *ys, size_t n, const char *colour) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(ys[i])) lo = fmin(lo, ys[i]), hi = fmax(hi, ys[i]);
    if (!isfinite(lo)) return;
    wd__strbuf_printf(b, "<h2>%s</h2>\n<svg width=\"680\" height=\"260\" "
                          "xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">\n"
                          "<rect x=\"50\" y=\"30\" width=\"600\" height=\"200\" fill=\"none\" stroke=\"#ccc\"/>\n"
                          "<text x=\"4\" y=\"34\">%.4g</text><text x=\"4\" y=\"230\">%.4g</text>\n"
                          "<text x=\"50\" y=\"248\">step 1</text><text x=\"600\" y=\"248\">step %zu</text>\n",
                       title, hi, lo, n);
    polyline(b, ys, n, lo, hi, colour);
    wd__strbuf_printf(b, "</svg>\n");
}

wd_status wd__train_report(const char *out, const char *summary_html) {
    char *path = wd__path_join(out, "train.jsonl"), *text = NULL;
    size_t len = 0;
    wd_status rc = path ? wd__file_read(path, (size_t)1 << 30, &text, &len) : WD_ERR_NOMEM;
    free(path);
    if (rc) return rc;
    size_t n = 0, cap = 0;
    double *loss = NULL, *acc = NULL;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        if (j) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                double *l2 = realloc(loss, cap * sizeof *l2), *a2 = l2 ? realloc(acc, cap * sizeof *a2) : NULL;
                if (l2) loss = l2;
                if (!l2 || !a2) {
                    cJSON_Delete(j);
                    rc = WD_ERR_NOMEM;
                    break;
                }
                acc = a2;
            }
            cJSON *l = cJSON_GetObjectItem(j, "loss"), *a = cJSON_GetObjectItem(j, "accuracy");
            loss[n] = cJSON_IsNumber(l) ? l->valuedouble : NAN;
            acc[n] = cJSON_IsNumber(a) ? a->valuedouble : NAN;
            n++;
            cJSON_Delete(j);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    wd__strbuf b = {0};
    if (!rc) {
        wd__strbuf_printf(&b, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>warden train</title>\n"
                               "<style>body{font-family:sans-serif;margin:2em}</style>\n"
                               "<h1>warden train</h1>\n%s\n", summary_html);
        chart(&b, "training loss per step", loss, n, "#1f77b4");
        bool any = false;
        for (size_t i = 0; i < n; i++) any |= isfinite(acc[i]);
        if (any) chart(&b, "pairwise accuracy per step", acc, n, "#2ca02c");
        char *rp = wd__path_join(out, "report.html");
        rc = rp && b.p && !b.oom ? wd__file_write_atomic(rp, b.p, b.n) : WD_ERR_NOMEM;
        free(rp);
    }
    wd__strbuf_free(&b);
    free(loss), free(acc);
    return rc;
}
