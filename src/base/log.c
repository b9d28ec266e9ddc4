/*
 * base/log.c - process-wide log sink. The sink and level are read with
 * relaxed atomics so that logging from worker threads needs no lock; a
 * caller changing the sink while threads log is its own business.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#ifndef WD_VERSION_STR
#define WD_VERSION_STR "0.0.0"
#endif

static _Atomic(wd_log_fn) log_fn;
static _Atomic(void *) log_user;
static atomic_int log_min = WD_LOG_LEVEL_NONE;

void wd_log_set(wd_log_fn fn, void *user, wd_log_level min_level) {
    atomic_store(&log_user, user);
    atomic_store(&log_fn, fn);
    atomic_store(&log_min, fn ? (int)min_level : WD_LOG_LEVEL_NONE);
}

bool wd__log_enabled(wd_log_level level) {
    return (int)level >= atomic_load_explicit(&log_min, memory_order_relaxed) &&
           atomic_load_explicit(&log_fn, memory_order_relaxed) != NULL;
}

void wd__log(wd_log_level level, const char *fmt, ...) {
    if (!wd__log_enabled(level)) return;
    wd_log_fn fn = atomic_load(&log_fn);
    if (!fn) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(level, buf, atomic_load(&log_user));
}

const char *wd_version(void) { return WD_VERSION_STR; }
