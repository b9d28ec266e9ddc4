/*
 * warden/json.h - JSON text as warden writes and reads it (docs/json.md),
 * for tools that print their own JSON next to warden's: valid UTF-8 always,
 * numbers in their shortest round-trip form, and input that must mean one
 * thing to every reader. The values are cJSON's (<cjson/cJSON.h>).
 */
#ifndef WARDEN_JSON_H
#define WARDEN_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* The text of item, formatted (indented) or on one line, as every JSON
 * text of warden: a string holding invalid UTF-8 has each maximal invalid
 * sequence replaced by U+FFFD; a number is written in the shortest form
 * that reads back as the same value (0.9f as 0.9; NaN and infinities as
 * null). item is unchanged. Returns a malloc'd string (the caller frees
 * it), or NULL when out of memory. */
char *wd_json_print(const struct cJSON *item, bool formatted);

/* What wd_json_parse_strict found wrong. */
typedef enum wd_json_fault {
    WD_JSON_OK = 0,
    WD_JSON_SYNTAX,   /* not JSON at all                                 */
    WD_JSON_TRAILING, /* a value followed by more than white space       */
    WD_JSON_DUP_KEY,  /* an object with two members of the same name     */
    WD_JSON_NUL,      /* a string holding U+0000 (escaped or a raw byte) */
    WD_JSON_NOMEM,
} wd_json_fault;

/* Parses len bytes (need not be NUL-terminated) as one JSON value that
 * must mean one thing to every reader: no text after the value but white
 * space, no object (at any depth) with a repeated member name (readers
 * disagree on which one wins), no string holding U+0000 (cut short by
 * NUL-terminated readers). On failure returns NULL, sets *fault (fault may
 * be NULL) and leaves a message naming `where`, the line and the column
 * in wd_last_error(). The caller frees the value with cJSON_Delete. */
struct cJSON *wd_json_parse_strict(const char *text, size_t len, const char *where, wd_json_fault *fault);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_JSON_H */
