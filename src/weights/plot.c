/*
 * weights/plot.c - standalone SVG figures (see plot.h): a 640 x 400 canvas,
 * the plot area inset by fixed margins, ticks at "nice" steps (1, 2, 5 x a
 * power of ten), a legend in the upper right, and a colour-blind-safe
 * palette (Okabe-Ito) for curves; the heat map uses a light-to-dark ramp.
 */
#include "weights/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

enum { W = 640, H = 400, ML = 64, MR = 24, MT = 40, MB = 56 };

static const char *const PALETTE[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

typedef struct axes {
    double x0, x1, y0, y1;
    int    right; /* right margin (the heat map's colour bar takes more) */
} axes;

static double sx(const axes *a, double x) { return ML + (x - a->x0) / (a->x1 - a->x0) * (W - ML - a->right); }
static double sy(const axes *a, double y) { return H - MB - (y - a->y0) / (a->y1 - a->y0) * (H - MT - MB); }


/* A step of 1, 2 or 5 x 10^k giving about 5 ticks over span. */
static double nice_step(double span) {
    double raw = span / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void open_svg(wd__strbuf *b, const char *title) {
    wd__strbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                         "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
                      W, H, W, H, W, H);
    wd__strbuf_printf(b, "<text x=\"%d\" y=\"22\" font-size=\"14\" font-weight=\"bold\">", ML);
    wd__strbuf_puts_html(b, title);
    wd__strbuf_puts(b, "</text>\n");
}

static void frame(wd__strbuf *b, const axes *a, const char *xlabel, const char *ylabel, bool grid) {
    double xs = nice_step(a->x1 - a->x0), ys = nice_step(a->y1 - a->y0);
    for (double x = ceil(a->x0 / xs - 1e-9) * xs; x <= a->x1 + 1e-9 * xs; x += xs) {
        double px = sx(a, x);
        if (grid)
            wd__strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e5e5e5\"/>\n", px, MT, px, H - MB);
        wd__strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px, H - MB + 16,
                          fabs(x) < 1e-12 ? 0.0 : x);
    }
    for (double y = ceil(a->y0 / ys - 1e-9) * ys; y <= a->y1 + 1e-9 * ys; y += ys) {
        double py = sy(a, y);
        if (grid)
            wd__strbuf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n", ML, py,
                              W - a->right, py);
        wd__strbuf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", ML - 6, py + 4,
                          fabs(y) < 1e-12 ? 0.0 : y);
    }
    wd__strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", ML, MT,
                      W - ML - a->right, H - MT - MB);
    wd__strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (ML + W - a->right) / 2, H - 16);
    wd__strbuf_puts_html(b, xlabel);
    wd__strbuf_printf(b, "</text>\n<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">",
                      (MT + H - MB) / 2);
    wd__strbuf_puts_html(b, ylabel);
    wd__strbuf_puts(b, "</text>\n");
}

static wd_status finish(wd__strbuf *b, char **svg) {
    wd__strbuf_puts(b, "</svg>\n");
    if (b->oom || !(*svg = wd__strbuf_take(b, NULL))) {
        wd__strbuf_free(b);
        return wd__fail(WD_ERR_NOMEM, "plot: out of memory");
    }
    return WD_OK;
}

wd_status wd__plot_lines(const wd__chart *c, char **svg) {
    *svg = NULL;
    if (!c->n) return wd__fail(WD_ERR_INVALID_ARG, "plot: no points");
    axes a = {c->x[0], c->x[c->n - 1], c->y0, c->y1, MR};
    if (a.x1 <= a.x0) a.x1 = a.x0 + 1;
    if (!(c->y1 > c->y0)) {
        a.y0 = INFINITY, a.y1 = -INFINITY;
        for (size_t s = 0; s < c->n_series; s++)
            for (size_t i = 0; i < c->n; i++)
                if (isfinite(c->series[s].y[i])) a.y0 = fmin(a.y0, c->series[s].y[i]), a.y1 = fmax(a.y1, c->series[s].y[i]);
        if (!isfinite(a.y0)) a.y0 = 0, a.y1 = 1;
        double pad = (a.y1 - a.y0) * 0.08 + 1e-9;
        a.y0 -= pad, a.y1 += pad;
    }
    wd__strbuf b = {0};
    open_svg(&b, c->title);
    if (c->band_lo <= c->band_hi) {
        double x0 = sx(&a, c->band_lo), x1 = sx(&a, c->band_hi);
        wd__strbuf_printf(&b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fde9c8\"/>\n", x0, MT,
                          fmax(x1 - x0, 2.0), H - MT - MB);
        if (c->band_label) {
            wd__strbuf_printf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#9a5b00\">", (x0 + x1) / 2, MT + 14);
            wd__strbuf_puts_html(&b, c->band_label);
            wd__strbuf_puts(&b, "</text>\n");
        }
    }
    frame(&b, &a, c->xlabel, c->ylabel, true);
    for (size_t s = 0; s < c->n_series; s++) {
        const char *col = PALETTE[s % (sizeof PALETTE / sizeof *PALETTE)];
        bool pen = false;
        wd__strbuf_printf(&b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"", col);
        for (size_t i = 0; i < c->n; i++) {
            double y = c->series[s].y[i];
            if (!isfinite(y)) {
                pen = false;
                continue;
            }
            wd__strbuf_printf(&b, "%s%.1f %.1f ", pen ? "L" : "M", sx(&a, c->x[i]), sy(&a, y));
            pen = true;
        }
        wd__strbuf_puts(&b, "\"/>\n");
        for (size_t i = 0; i < c->n; i++)
            if (isfinite(c->series[s].y[i]))
                wd__strbuf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", sx(&a, c->x[i]),
                                  sy(&a, c->series[s].y[i]), col);
        double ly = MT + 14 + 16.0 * (double)s;
        wd__strbuf_printf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
                          W - MR - 150, ly - 4, W - MR - 130, ly - 4, col);
        wd__strbuf_printf(&b, "<text x=\"%d\" y=\"%.1f\">", W - MR - 125, ly);
        wd__strbuf_puts_html(&b, c->series[s].label);
        wd__strbuf_puts(&b, "</text>\n");
    }
    return finish(&b, svg);
}

/* Light yellow (0) to dark blue (1). */
static void ramp(double t, int rgb[3]) {
    static const int lo[3] = {255, 247, 188}, mid[3] = {65, 182, 196}, hi[3] = {8, 29, 88};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const int *a = t < 0.5 ? lo : mid, *b = t < 0.5 ? mid : hi;
    double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    for (int k = 0; k < 3; k++) rgb[k] = (int)lround(a[k] + (b[k] - a[k]) * u);
}

wd_status wd__plot_heat(const char *title, const char *xlabel, const char *ylabel, const char *zlabel,
                        const double *x, size_t nx, const double *y, size_t ny, const double *z,
                        double z0, double z1, char **svg) {
    *svg = NULL;
    if (nx < 2 || ny < 2) return wd__fail(WD_ERR_INVALID_ARG, "plot: a heat map needs at least 2 x 2 points");
    double hx = (x[1] - x[0]) / 2, hy = (y[1] - y[0]) / 2;
    axes a = {x[0] - hx, x[nx - 1] + hx, y[0] - hy, y[ny - 1] + hy, MR + 70};
    wd__strbuf b = {0};
    open_svg(&b, title);
    for (size_t j = 0; j < ny; j++)
        for (size_t i = 0; i < nx; i++) {
            double v = z[j * nx + i];
            int rgb[3] = {200, 200, 200};
            if (isfinite(v)) ramp((v - z0) / (z1 - z0), rgb);
            double px0 = sx(&a, x[i] - hx), px1 = sx(&a, x[i] + hx), py0 = sy(&a, y[j] + hy), py1 = sy(&a, y[j] - hy);
            wd__strbuf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"><title>%g, %g: %g</title></rect>\n",
                              px0, py0, px1 - px0 + 0.5, py1 - py0 + 0.5, rgb[0], rgb[1], rgb[2], x[i], y[j], v);
        }
    frame(&b, &a, xlabel, ylabel, false);
    /* the colour bar */
    int bx = W - MR - 40, bh = H - MT - MB;
    for (int k = 0; k < 50; k++) {
        int rgb[3];
        ramp((k + 0.5) / 50.0, rgb);
        wd__strbuf_printf(&b, "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"/>\n", bx,
                          MT + bh * (1 - (k + 1) / 50.0), bh / 50.0 + 0.5, rgb[0], rgb[1], rgb[2]);
    }
    wd__strbuf_printf(&b, "<text x=\"%d\" y=\"%d\">%g</text><text x=\"%d\" y=\"%d\">%g</text>\n", bx + 18, MT + 10, z1,
                      bx + 18, H - MB, z0);
    wd__strbuf_printf(&b, "<text transform=\"translate(%d %d) rotate(90)\" text-anchor=\"middle\">", W - 8, (MT + H - MB) / 2);
    wd__strbuf_puts_html(&b, zlabel);
    wd__strbuf_puts(&b, "</text>\n");
    return finish(&b, svg);
}
