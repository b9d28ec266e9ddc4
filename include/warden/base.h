/*
 * warden/base.h - status codes, error messages, logging, version.
 *
 * Conventions that hold for the whole public API:
 *
 *   - Every fallible call returns wd_status: WD_OK (0) on success, a negative
 *     code on failure. wd_status_str() names a code.
 *   - Results come back through out-parameters, which are set to NULL (or 0)
 *     when the call fails.
 *   - Each object keeps the message of its last failure (wd_X_last_error()).
 *     Calls that fail before an object exists (loaders, constructors) leave
 *     their message in a thread-local slot read by wd_last_error(). Both
 *     strings are owned by the library and stay valid until the next failing
 *     call on the same object (or, for wd_last_error, the same thread).
 *   - wd_X_free(NULL) is a no-op.
 *   - The library never prints and never exits. Diagnostics go through the
 *     log callback set with wd_log_set(); by default nothing is logged.
 */
#ifndef WARDEN_BASE_H
#define WARDEN_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_status {
    WD_OK               =   0,
    WD_ERR_INVALID_ARG  =  -1,  /* a caller passed a bad argument             */
    WD_ERR_NOMEM        =  -2,  /* an allocation failed                       */
    WD_ERR_IO           =  -3,  /* open/read/write/mmap/rename failed         */
    WD_ERR_FORMAT       =  -4,  /* a file or text is malformed                */
    WD_ERR_UNSUPPORTED  =  -5,  /* well-formed but not something warden does  */
    WD_ERR_NOT_FOUND    =  -6,  /* a named file, tensor, field or key is absent */
    WD_ERR_RANGE        =  -7,  /* a size, offset or index is out of bounds   */
    WD_ERR_ENCODING     =  -8,  /* text is not valid UTF-8                    */
    WD_ERR_TIMEOUT      =  -9,  /* a deadline passed                          */
    WD_ERR_CANCELLED    = -10,  /* the caller asked to stop                   */
    WD_ERR_INTERNAL     = -11,  /* a bug in warden: please report it          */
} wd_status;

/* Returns a static, human-readable name for a status code ("ok",
 * "invalid argument", ...). Never NULL. */
const char *wd_status_str(wd_status status);

/* Returns the message of the last failing call on this thread that had no
 * object to keep it (e.g. a loader). Never NULL; "" when there is none.
 * Owned by the library; valid until the next failing call on this thread. */
const char *wd_last_error(void);

typedef enum wd_log_level {
    WD_LOG_LEVEL_DEBUG = 0,
    WD_LOG_LEVEL_INFO  = 1,
    WD_LOG_LEVEL_WARN  = 2,
    WD_LOG_LEVEL_ERROR = 3,
    WD_LOG_LEVEL_NONE  = 4,
} wd_log_level;

/* A log sink. msg is a complete line without the trailing newline; it is
 * only valid during the call. May be called from several threads at once. */
typedef void (*wd_log_fn)(wd_log_level level, const char *msg, void *user);

/* Sets the process-wide log sink and the lowest level passed to it.
 * fn = NULL silences the library (the default). */
void wd_log_set(wd_log_fn fn, void *user, wd_log_level min_level);

/* Returns the library version as "MAJOR.MINOR.PATCH". */
const char *wd_version(void);

/* ==== files ============================================================== */

/* Reads the whole file at path into a malloc'd, NUL-terminated buffer;
 * *len (len may be NULL) is its size without the NUL. Fails with
 * WD_ERR_NOT_FOUND when there is no such file, WD_ERR_IO when it cannot be
 * read and WD_ERR_RANGE when it is longer than max_len bytes (0 = no
 * limit), the message naming the file.
 * The caller frees *out (NULL on failure). */
wd_status wd_file_read(const char *path, size_t max_len, char **out, size_t *len);

/* Writes a file all or nothing: fill(f, user) writes the bytes into f, a
 * temporary file beside path; when it returns WD_OK the file is flushed,
 * synced and renamed over path, so a reader sees the old file or the whole
 * new one, never a part. When fill fails, the temporary is removed and its
 * status returned (path is untouched); fill is not called when the
 * temporary cannot be created. For output streamed as it is made. */
typedef wd_status (*wd_file_fill_fn)(FILE *f, void *user);
wd_status wd_file_write_atomic_with(const char *path, wd_file_fill_fn fill, void *user);

/* The same for len bytes already in memory. */
wd_status wd_file_write_atomic(const char *path, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_BASE_H */
