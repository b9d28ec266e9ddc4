/*
 * explain/explain_html.c - explanations as HTML: a self-contained page (no
 * scripts, no network; inline CSS and SVG), or a section for another page
 * (the evaluation report, eval_explain.c).
 *
 * Each explanation is drawn twice:
 *   - the text, each unit's background red (pushes towards unsafe) or blue
 *     (away from it) with an opacity |phi| / max |phi|; the bytes between
 *     units as they are (white-space: pre-wrap); a unit's title says its
 *     attribution;
 *   - a horizontal bar chart (inline SVG) of the TOP units with the
 *     largest |phi|, bars from a zero line, red right, blue left.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "explain/explain_internal.h"

#define TOP 12
#define BAR_W 640
#define BAR_ROW 20
#define LABEL_W 180

const char wd__explain_css[] =
    ".ex{margin:1.2em 0;padding:.8em 1em;border:1px solid #ddd;border-radius:6px}"
    ".ex h3{margin:.2em 0 .4em;font-size:1.05em}"
    ".ex .meta{color:#555;font-size:.9em;margin-bottom:.5em}"
    ".ex .txt{white-space:pre-wrap;line-height:1.9;font-size:1.05em;margin:.4em 0}"
    ".ex .u{border-radius:3px;padding:1px 0}"
    ".ex .legend{font-size:.85em;color:#555}";


/* Up to max bytes of s cut at a UTF-8 boundary. */
static size_t clip(const char *s, size_t n, size_t max) {
    if (n <= max) return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
    return max;
}

static void text_with_units(wd__strbuf *b, const wd_explanation *ex, double amax) {
    size_t at = 0;
    wd__strbuf_puts(b, "<div class=\"txt\">");
    for (size_t i = 0; i < ex->n_units; i++) {
        const wd_explain_span *u = &ex->units[i];
        wd__strbuf_put_html(b, ex->text + at, u->start - at);
        double a = ex->attr[i], alpha = amax > 0.0 ? fabs(a) / amax : 0.0;
        wd__strbuf_printf(b, "<span class=\"u\" title=\"%+.4g\" style=\"background:rgba(%s,%.2f)\">", a,
                          a >= 0.0 ? "220,38,38" : "37,99,235", 0.85 * alpha);
        wd__strbuf_put_html(b, ex->text + u->start, u->end - u->start);
        wd__strbuf_puts(b, "</span>");
        at = u->end;
    }
    wd__strbuf_put_html(b, ex->text + at, ex->len - at);
    wd__strbuf_puts(b, "</div>");
}

/* ord[0..top) = the indices of the top largest |attr|, largest first (ties:
 * the earlier unit first). */
static void top_units(const double *attr, size_t n, size_t top, size_t *ord) {
    for (size_t r = 0; r < top; r++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            bool used = false;
            for (size_t q = 0; q < r && !used; q++) used = ord[q] == i;
            if (!used && (best == n || fabs(attr[i]) > fabs(attr[best]))) best = i;
        }
        ord[r] = best;
    }
}

static void bars(wd__strbuf *b, const wd_explanation *ex, double amax) {
    size_t n = ex->n_units, top = n < TOP ? n : TOP;
    if (!top || !(amax > 0.0)) return;
    size_t ord[TOP];
    top_units(ex->attr, n, top, ord);
    int h = (int)(top * BAR_ROW + 24), zero = LABEL_W + (BAR_W - LABEL_W) / 2;
    double half = (BAR_W - LABEL_W) / 2 - 50;
    wd__strbuf_printf(b, "<svg role=\"img\" aria-label=\"top units by attribution\" width=\"%d\" height=\"%d\" "
                         "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">",
                      BAR_W, h, BAR_W, h);
    wd__strbuf_printf(b, "<line x1=\"%d\" y1=\"4\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", zero, zero, h - 16);
    for (size_t r = 0; r < top; r++) {
        size_t i = ord[r];
        const wd_explain_span *u = &ex->units[i];
        double a = ex->attr[i], w = fabs(a) / amax * half;
        int y = 6 + (int)r * BAR_ROW;
        wd__strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL_W - 6, y + 12);
        wd__strbuf_put_html(b, ex->text + u->start, clip(ex->text + u->start, u->end - u->start, 28));
        wd__strbuf_puts(b, "</text>");
        wd__strbuf_printf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>",
                          a >= 0 ? (double)zero : zero - w, y, w, BAR_ROW - 6, a >= 0 ? "#dc2626" : "#2563eb");
        wd__strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" fill=\"#333\">%+.3g</text>",
                          a >= 0 ? zero + w + 4 : zero - w - 4, y + 12, a >= 0 ? "start" : "end", a);
    }
    wd__strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">attribution "
                         "(red: towards unsafe, blue: away)</text></svg>",
                      zero, h - 2);
}

void wd__explanation_html_one(wd__strbuf *b, const wd_explanation *ex, const char *heading) {
    double amax = 0.0, sum = 0.0;
    for (size_t i = 0; i < ex->n_units; i++) {
        amax = fmax(amax, fabs(ex->attr[i]));
        sum += ex->attr[i];
    }
    wd__strbuf_puts(b, "<div class=\"ex\">");
    if (heading) {
        wd__strbuf_puts(b, "<h3>");
        wd__strbuf_put_html(b, heading, strlen(heading));
        wd__strbuf_puts(b, "</h3>");
    }
    bool ig = ex->method == WD_EXPLAIN_METHOD_IG;
    wd__strbuf_puts(b, "<div class=\"meta\">");
    wd__strbuf_puts_html(b, ex->label ? ex->label : "score");
    wd__strbuf_printf(b, ": f(x) = %.4f, f(%s) = %.4f, sum of attributions = %.4f; %zu %s, method %s, %zu %s</div>",
                      ex->value, ig ? "baseline" : "all masked", ex->base_value, sum, ex->n_units,
                      ex->unit_kind == WD_EXPLAIN_UNITS_TOKENS ? "tokens" : "words",
                      wd_explain_method_str(ex->method), ex->n_evals, ig ? "decoder rows" : "evaluations");
    text_with_units(b, ex, amax);
    bars(b, ex, amax);
    wd__strbuf_puts(b, "</div>");
}

wd_status wd_explanation_html_section(const wd_explanation *const *ex, size_t n, const char *heading,
                                      char **out) {
    if (!out || (n && !ex)) return wd__fail(WD_ERR_INVALID_ARG, "explanation_html: NULL argument");
    *out = NULL;
    wd__strbuf b = {0};
    wd__strbuf_printf(&b, "<section><style>%s</style><h2>", wd__explain_css);
    wd__strbuf_put_html(&b, heading ? heading : "Explanations", strlen(heading ? heading : "Explanations"));
    wd__strbuf_puts(&b, "</h2><p class=\"legend\">Shapley attributions of the score to each unit: "
                        "<span style=\"background:rgba(220,38,38,.6)\">red</span> pushes towards unsafe, "
                        "<span style=\"background:rgba(37,99,235,.6)\">blue</span> away.</p>");
    for (size_t k = 0; k < n; k++) wd__explanation_html_one(&b, ex[k], NULL);
    wd__strbuf_puts(&b, "</section>");
    if (b.oom) {
        wd__strbuf_free(&b);
        return wd__fail(WD_ERR_NOMEM, "explanation_html: out of memory");
    }
    *out = wd__strbuf_take(&b, NULL);
    return WD_OK;
}

wd_status wd_explanation_html(const wd_explanation *const *ex, size_t n, const char *title, char **out) {
    if (!out || (n && !ex)) return wd__fail(WD_ERR_INVALID_ARG, "explanation_html: NULL argument");
    *out = NULL;
    const char *t = title ? title : "warden explanation";
    wd__strbuf b = {0};
    wd__strbuf_puts(&b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    wd__strbuf_put_html(&b, t, strlen(t));
    wd__strbuf_printf(&b, "</title><style>body{font-family:sans-serif;max-width:960px;margin:1em auto;"
                          "padding:0 1em;color:#222}%s</style></head><body><main><h1>",
                      wd__explain_css);
    wd__strbuf_put_html(&b, t, strlen(t));
    wd__strbuf_puts(&b, "</h1><p class=\"legend\">Shapley attributions of the guard's score to each unit: "
                        "<span style=\"background:rgba(220,38,38,.6)\">red</span> pushes towards unsafe, "
                        "<span style=\"background:rgba(37,99,235,.6)\">blue</span> away; they sum to "
                        "f(x) &minus; f(all masked).</p>");
    for (size_t k = 0; k < n; k++) wd__explanation_html_one(&b, ex[k], NULL);
    wd__strbuf_printf(&b, "<footer><p class=\"legend\">warden %s</p></footer></main></body></html>\n",
                      wd_version());
    if (b.oom) {
        wd__strbuf_free(&b);
        return wd__fail(WD_ERR_NOMEM, "explanation_html: out of memory");
    }
    *out = wd__strbuf_take(&b, NULL);
    return WD_OK;
}

wd_status wd_explanation_write_html(const wd_explanation *const *ex, size_t n, const char *title,
                                    const char *path) {
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "explanation_write_html: NULL path");
    char *html = NULL;
    wd_status st = wd_explanation_html(ex, n, title, &html);
    if (st == WD_OK) st = wd__file_write_atomic(path, html, strlen(html));
    free(html);
    return st;
}
