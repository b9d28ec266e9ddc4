/*
 * weights/plot.h - the figures of the repair commands as standalone SVG
 * (plot.c): curves over a shared x axis, with an optional shaded band, and
 * a heat map of a grid. Self-contained files: no script, no external font
 * or style sheet.
 */
#ifndef WD_WEIGHTS_PLOT_H
#define WD_WEIGHTS_PLOT_H

#include <stddef.h>

#include "base/err.h"

typedef struct wd__series {
    const char   *label;
    const double *y; /* n values; NaN leaves a gap */
} wd__series;

typedef struct wd__chart {
    const char       *title, *xlabel, *ylabel;
    const double     *x; /* n values, increasing */
    size_t            n;
    const wd__series *series;
    size_t            n_series;
    double            y0, y1;           /* the y range; y0 == y1: from the data */
    double            band_lo, band_hi; /* a shaded x band; band_lo > band_hi: none */
    const char       *band_label;
} wd__chart;

/* The chart as an SVG document in *svg (malloc'd). */
wd_status wd__plot_lines(const wd__chart *c, char **svg);

/* A heat map of z (ny rows, nx columns; row 0 at the bottom) over the axes
 * x (nx) and y (ny), values in [z0, z1], with a colour bar. */
wd_status wd__plot_heat(const char *title, const char *xlabel, const char *ylabel, const char *zlabel,
                        const double *x, size_t nx, const double *y, size_t ny, const double *z,
                        double z0, double z1, char **svg);

#endif
