/*
 * base/util.c - see util.h.
 */
#include "base/util.h"

#include <stdlib.h>
#include <time.h>

#include "base/err.h"

wd_status wd__array_grow_slow(void **p, size_t *cap, size_t need, size_t elem) {
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return wd__fail(WD_ERR_NOMEM, "out of memory (%zu elements of %zu bytes)", need, elem);
    *p = q;
    *cap = c;
    return WD_OK;
}

double wd__now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}
