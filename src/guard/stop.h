/*
 * guard/stop.h - when a check must give up: the deadline and the cancel
 * flag of wd_check_params, as the engine hands them to the normaliser, the
 * scanners and the classifier. Every long loop polls at bounded intervals
 * (every WD_SCAN_POLL_EVERY steps, or every 64 KiB of text) and returns
 * the status the poll gives, so that a check stops within about a
 * millisecond of being told to.
 */
#ifndef WD_GUARD_STOP_H
#define WD_GUARD_STOP_H

#include <signal.h>
#include <stdint.h>

#include "warden/base.h"

typedef struct wd__scan_stop {
    int64_t                      deadline_ns; /* CLOCK_MONOTONIC ns; 0 = none */
    const volatile sig_atomic_t *cancel;      /* nonzero = stop; NULL = never */
} wd__scan_stop;

/* How many steps (matches, occurrences) a long loop may take between two
 * polls; loops over bytes poll every WD_SCAN_POLL_BYTES. A step costs
 * nanoseconds, so either is well under a millisecond. */
#define WD_SCAN_POLL_EVERY 4096
#define WD_SCAN_POLL_BYTES 65536

/* WD_OK, or WD_ERR_CANCELLED / WD_ERR_TIMEOUT when the check must stop (s
 * may be NULL: WD_OK). Costs a load, plus a clock read when a deadline is
 * set. The caller returns the status as it is; the engine drops the
 * verdict. */
wd_status wd__scan_stop_poll(const wd__scan_stop *s);

#endif
