/*
 * base/hash.h - FNV-1a, 64-bit (Fowler, Noll, Vo): the string hash behind
 * hash tables, seeds derived from text and deduplication keys.
 */
#ifndef WD_BASE_HASH_H
#define WD_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define WD__FNV_OFFSET 0xcbf29ce484222325ull
#define WD__FNV_PRIME  0x100000001b3ull

/* Continues hash h over n bytes (start with WD__FNV_OFFSET). */
static inline uint64_t wd__fnv1a_more(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * WD__FNV_PRIME;
    return h;
}

static inline uint64_t wd__fnv1a(const void *p, size_t n) { return wd__fnv1a_more(WD__FNV_OFFSET, p, n); }

#endif
