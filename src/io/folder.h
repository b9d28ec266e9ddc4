/*
 * io/folder.h - writing a Hugging Face model folder (folder.c).
 */
#ifndef WD_IO_FOLDER_H
#define WD_IO_FOLDER_H

#include <stdbool.h>

#include "base/err.h"

/* Copies src_dir/name to out/name (atomically); a missing file is an
 * error only when required. */
wd_status wd__folder_copy_file(const char *src_dir, const char *out, const char *name,
                               bool required, wd__err *err);

/* Copies the model folder's config.json (with `patch` fields, a JSON
 * object or NULL, merged in) and tokenizer/generation files into out;
 * files the folder lacks are skipped (config.json too, unless patch is
 * given). */
wd_status wd__folder_copy_meta(const char *src_dir, const char *out, const char *patch,
                               wd__err *err);

/* A new output folder, staged: *staging (malloc'd) is an empty folder
 * beside out to write into; wd__folder_commit moves it into place (renames
 * it to out, or, when out is an existing folder, moves each file into it)
 * and frees *staging; wd__folder_abort removes it and frees it. */
wd_status wd__folder_stage(const char *out, char **staging, wd__err *err);
wd_status wd__folder_commit(char *staging, const char *out, wd__err *err);
void      wd__folder_abort(char *staging);

#endif
