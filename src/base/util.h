/*
 * base/util.h - helpers every layer needs: growing a malloc'd array
 * geometrically, looking a number up in a sorted array, and a monotonic
 * clock.
 */
#ifndef WD_BASE_UTIL_H
#define WD_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

/* Makes the array *p (of *cap elements of elem bytes) hold at least need
 * elements, doubling from 64. Returns WD_OK, or WD_ERR_NOMEM (with the
 * thread's last error set; *p and *cap unchanged). The common case (room
 * enough) is inline: tokenizers call this per word. */
wd_status wd__array_grow_slow(void **p, size_t *cap, size_t need, size_t elem);
static inline wd_status wd__array_grow(void **p, size_t *cap, size_t need, size_t elem) {
    return need <= *cap ? WD_OK : wd__array_grow_slow(p, cap, need, elem);
}

/* Whether the ascending a[0..n) holds v (binary search). */
static inline bool wd__u32_sorted_has(const uint32_t *a, size_t n, uint32_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && a[lo] == v;
}

/* Monotonic time in microseconds (CLOCK_MONOTONIC). */
double wd__now_us(void);
/* The process's peak resident memory (Linux VmHWM) in bytes; 0 where unknown. */
uint64_t wd__peak_rss(void);

#endif
