/*
 * base/file.h - read-only memory maps, whole-file reads and atomic writes.
 *
 * Atomic write: the data goes to a temporary file in the destination's
 * folder (".NAME.tmp-XXXXXX"), which is flushed, fsync'd and renamed over the
 * destination, and the folder is fsync'd. A reader sees the old file or the
 * whole new one, never a part; a failure or an abort removes the temporary.
 */
#ifndef WD_BASE_FILE_H
#define WD_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "warden/base.h"

typedef struct wd__map {
    const unsigned char *data; /* NULL for an empty file */
    size_t               size;
} wd__map;

/* Maps path read-only. On failure m is zeroed and the thread's error names
 * the path and the reason. Unmap with wd__map_close (safe on a zeroed map). */
wd_status wd__map_open(wd__map *m, const char *path);
void      wd__map_close(wd__map *m);
/* Asks the kernel to read the whole mapping ahead, in the background
 * (madvise WILLNEED + SEQUENTIAL), so that a model's weights come in by
 * large sequential reads instead of one fault at a time. Best effort. */
void      wd__map_prefetch(const wd__map *m);

/* Reads the whole file into a malloc'd, NUL-terminated buffer (*len excludes
 * the NUL). Fails with WD_ERR_RANGE when the file exceeds max_len bytes
 * (0 = no limit). Caller frees *out. */
wd_status wd__file_read(const char *path, size_t max_len, char **out, size_t *len);

typedef struct wd__atomic_file {
    FILE *fp;       /* write here */
    char *path;     /* destination */
    char *tmp_path; /* temporary beside it */
} wd__atomic_file;

wd_status wd__atomic_open(wd__atomic_file *af, const char *path);
/* Flushes, fsyncs and renames into place; always releases af. */
wd_status wd__atomic_commit(wd__atomic_file *af);
/* Removes the temporary and releases af; safe on a zeroed or released af. */
void      wd__atomic_abort(wd__atomic_file *af);
/* Writes len bytes of data to path atomically. */
wd_status wd__file_write_atomic(const char *path, const void *data, size_t len);

bool wd__path_is_dir(const char *path);
bool wd__path_exists(const char *path);
/* Returns malloc'd "dir/name" (or name when dir is empty); NULL if out of memory. */
char *wd__path_join(const char *dir, const char *name);
/* Creates a folder and its parents (mode 0755); OK if it exists. */
wd_status wd__mkdir_p(const char *path);

#endif
