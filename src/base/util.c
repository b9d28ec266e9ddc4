/*
 * base/util.c - see util.h.
 */
#include "base/util.h"

#include <stdio.h>
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

uint64_t wd__peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024u;
}
