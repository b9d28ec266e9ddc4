/*
 * bench/benchutil.c - see benchutil.h.
 */
#include "benchutil.h"

#include <stdlib.h>
#include <time.h>

double wdb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double wdb_percentile(double *x, size_t n, double p) {
    if (n == 0) return 0;
    qsort(x, n, sizeof *x, cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return x[i < n ? i : n - 1];
}

double wdb_median(double *x, size_t n) { return wdb_percentile(x, n, 50); }
