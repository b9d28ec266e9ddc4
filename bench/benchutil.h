/*
 * bench/benchutil.h - timing for benchmarks: warm up, repeat, report medians.
 */
#ifndef WD_BENCHUTIL_H
#define WD_BENCHUTIL_H

#include <stddef.h>

/* Monotonic seconds. */
double wdb_now(void);
/* Median of n samples (reorders x). */
double wdb_median(double *x, size_t n);
/* Percentile p in [0,100] of n samples (reorders x). */
double wdb_percentile(double *x, size_t n, double p);

#endif
