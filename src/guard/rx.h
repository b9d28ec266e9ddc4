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

/* Compiles pattern (UTF, plus extra PCRE2 options) and JIT-compiles it when
 * the platform allows (falls back to the interpreter). what names the
 * pattern in messages. */
wd_status wd__rx_compile(const char *pattern, unsigned extra, const char *what, pcre2_code **out,
                         wd_err *err);

/* Finds the next match at or after *pos in s[0..n); returns 1 with
 * [*a, *b) and *pos advanced, 0 at the end, <0 on a matching error
 * (match limit: treated as no more matches by callers). md must come from
 * pcre2_match_data_create(>= groups+1). */
int wd__rx_next(const pcre2_code *re, pcre2_match_data *md, const char *s, size_t n, size_t *pos,
                size_t *a, size_t *b);

#endif
