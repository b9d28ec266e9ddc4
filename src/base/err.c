/*
 * base/err.c - status names and error messages (see base/err.h).
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char tls_msg[WD_ERR_MSG_MAX];

const char *wd_status_str(wd_status status) {
    switch (status) {
    case WD_OK:              return "ok";
    case WD_ERR_INVALID_ARG: return "invalid argument";
    case WD_ERR_NOMEM:       return "out of memory";
    case WD_ERR_IO:          return "i/o error";
    case WD_ERR_FORMAT:      return "malformed input";
    case WD_ERR_UNSUPPORTED: return "unsupported";
    case WD_ERR_NOT_FOUND:   return "not found";
    case WD_ERR_RANGE:       return "out of range";
    case WD_ERR_ENCODING:    return "invalid encoding";
    case WD_ERR_TIMEOUT:     return "timed out";
    case WD_ERR_CANCELLED:   return "cancelled";
    case WD_ERR_INTERNAL:    return "internal error";
    }
    return "unknown status";
}

const char *wd_last_error(void) { return tls_msg; }

wd_status wd__err_set(wd__err *e, wd_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
    va_end(ap);
    if (e) {
        e->status = st;
        memcpy(e->msg, tls_msg, sizeof e->msg);
    }
    return st;
}

wd_status wd__err_take(wd__err *e, wd_status st) {
    if (e) {
        e->status = st;
        memcpy(e->msg, tls_msg, sizeof e->msg);
    }
    return st;
}

wd_status wd__err_prefix(wd_status st, const char *fmt, ...) {
    char prefix[WD_ERR_MSG_MAX], old[WD_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char both[2 * WD_ERR_MSG_MAX + 2];
    memcpy(old, tls_msg, sizeof old);
    snprintf(both, sizeof both, "%s: %s", prefix, old);
    memcpy(tls_msg, both, sizeof tls_msg - 1);
    tls_msg[sizeof tls_msg - 1] = '\0';
    return st;
}

void wd__err_clear(wd__err *e) {
    if (!e) return;
    e->status = WD_OK;
    e->msg[0] = '\0';
}

const char *wd__err_msg(const wd__err *e) { return e ? e->msg : ""; }
