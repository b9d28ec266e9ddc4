/*
 * base/json.h - cJSON with errors that name the file, the field and the
 * reason. Parse errors carry the line and column where parsing stopped.
 *
 * Field getters: `where` names the file (or object) for messages; a missing
 * optional field leaves *out at the given default and returns WD_OK; a
 * missing required field or one of the wrong type returns WD_ERR_FORMAT
 * with a message like
 *     config.json: field 'hidden_size': expected an integer, got a string
 */
#ifndef WD_BASE_JSON_H
#define WD_BASE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "warden/base.h"

/* Parses len bytes of text (need not be NUL-terminated). On failure returns
 * NULL with the thread error "WHERE: invalid JSON at line L, column C". The
 * caller frees the result with cJSON_Delete. */
cJSON *wd__json_parse(const char *text, size_t len, const char *where);

/* Reads and parses a file (at most max_len bytes, 0 = 64 MiB). */
wd_status wd__json_load_file(const char *path, size_t max_len, cJSON **out);

wd_status wd__json_int(const cJSON *obj, const char *where, const char *key, bool required,
                       int64_t def, int64_t *out);
wd_status wd__json_num(const cJSON *obj, const char *where, const char *key, bool required,
                       double def, double *out);
wd_status wd__json_bool(const cJSON *obj, const char *where, const char *key, bool required,
                        bool def, bool *out);
/* *out points into obj (not copied). */
wd_status wd__json_str(const cJSON *obj, const char *where, const char *key, bool required,
                       const char *def, const char **out);

/* True when item is a number holding an integer exactly representable in a
 * double (|x| <= 2^53); stores it in *out. */
bool wd__json_is_int(const cJSON *item, int64_t *out);

/* Name of the JSON type of item, for messages ("a string", "an array"...). */
const char *wd__json_type_name(const cJSON *item);

#endif
