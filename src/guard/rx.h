/*
 * guard/rx.h - PCRE2 (8-bit, UTF, JIT) for the rule scanners: compiled once
 * per guard, matched with per-thread match data.
 */
#ifndef WD_GUARD_RX_H
#define WD_GUARD_RX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "base/err.h"
#include "guard/stop.h"

/* Compiles pattern (UTF, plus extra PCRE2 options) and JIT-compiles it when
 * the platform allows (falls back to the interpreter). what names the
 * pattern in messages. Patterns are compiled with PCRE2_USE_OFFSET_LIMIT
 * (wd__rx_next searches in windows). */
wd_status wd__rx_compile(const char *pattern, unsigned extra, const char *what, pcre2_code **out,
                         wd__err *err);

/* A scanner's matching state for one text: its match data (from
 * pcre2_match_data_create(>= groups+1)), a match context, and the check's
 * stop (may be NULL). st turns WD_ERR_TIMEOUT / WD_ERR_CANCELLED when a
 * search was told to stop; the scanner then returns it. */
typedef struct wd__rx_scan {
    pcre2_match_data    *md;
    pcre2_match_context *mc;
    const wd__scan_stop  *stop;
    wd_status            st;
} wd__rx_scan;

/* Finds the next match at or after *pos in s[0..n); returns 1 with
 * [*a, *b) and *pos advanced, 0 at the end (or when told to stop: sc->st),
 * <0 on a matching error (match limit: treated as no more matches by
 * callers). The search goes through windows of WD_SCAN_POLL_BYTES start
 * positions (the match context's offset limit), polling sc->stop between
 * them, so a pass that finds nothing in 32 MiB stops when told to; the
 * match found is the same as one unbounded search's. */
int wd__rx_next(const pcre2_code *re, wd__rx_scan *sc, const char *s, size_t n, size_t *pos, size_t *a,
                size_t *b);

#endif
