/*
 * base/err.h - error messages kept by objects and by the calling thread.
 *
 * An object that can fail embeds a wd__err. wd__err_set() formats the message
 * into it *and* into the thread-local slot read by wd_last_error(), so that a
 * constructor that fails before its object exists still leaves a message.
 * Every helper returns the status it was given, so failures read as
 *     return wd__err_set(&m->err, WD_ERR_FORMAT, "%s: bad header", path);
 */
#ifndef WD_BASE_ERR_H
#define WD_BASE_ERR_H

#include "warden/base.h"

#define WD_ERR_MSG_MAX 1024

typedef struct wd__err {
    wd_status status;
    char      msg[WD_ERR_MSG_MAX];
} wd__err;

/* Sets e (may be NULL) and the thread-local message; returns st. */
wd_status wd__err_set(wd__err *e, wd_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets only the thread-local message; returns st. */
#define wd__fail(st, ...) wd__err_set(NULL, (st), __VA_ARGS__)

/* Copies the thread-local message (left by a callee) into e; returns st. */
wd_status wd__err_take(wd__err *e, wd_status st);

/* Prefixes the thread-local message with "prefix: "; returns st. */
wd_status wd__err_prefix(wd_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void wd__err_clear(wd__err *e);

/* The object's message, or "" when it has none. Never NULL. */
const char *wd__err_msg(const wd__err *e);

#endif
