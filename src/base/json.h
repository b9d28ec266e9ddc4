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
#include "warden/json.h"

/* Parses len bytes of text (need not be NUL-terminated). On failure returns
 * NULL with the thread error "WHERE: invalid JSON at line L, column C". The
 * caller frees the result with cJSON_Delete. */
cJSON *wd__json_parse(const char *text, size_t len, const char *where);

/* What wd__json_parse_strict found wrong: wd_json_fault (warden/json.h). */

/* Flags of wd__json_parse_strict. */
#define WD__JSON_ALLOW_NUL 1u /* keep strings holding U+0000 (model vocabularies) */

/* Parses len bytes as one JSON value for input that must mean one thing to
 * every reader (user requests, datasets, checkpoint headers). On top of
 * wd__json_parse it rejects:
 *   - text after the value other than white space;
 *   - an object, at any depth, with two members of the same name (after
 *     decoding escapes: "a" and "\u0061" are the same name), which readers
 *     resolve differently (cJSON takes the first, Python and JavaScript the
 *     last);
 *   - unless flags has WD__JSON_ALLOW_NUL, a string or key holding U+0000
 *     ("\u0000" or a raw 0 byte), which cJSON's NUL-terminated strings
 *     would silently cut.
 * Time O(len + k log k) for k keys in the largest object. On failure
 * returns NULL, sets *fault (when fault is not NULL) and leaves the thread
 * error, e.g.
 *     WHERE: duplicate key 'input' at line 1, column 19
 *     WHERE: field 'input': string holds U+0000 at line 1, column 16
 * The caller frees the result with cJSON_Delete. */
cJSON *wd__json_parse_strict(const char *text, size_t len, const char *where, unsigned flags,
                             wd_json_fault *fault);

/* cJSON_Print (formatted) or cJSON_PrintUnformatted, made valid JSON: cJSON
 * copies the bytes of strings as they are, so a string holding invalid
 * UTF-8 (a byte-level token, a cut-off text, a file's raw metadata) would
 * make invalid JSON. Every maximal invalid sequence is replaced by U+FFFD.
 * Every JSON text warden writes goes through here. Returns a malloc'd
 * string (free with free), or NULL when out of memory. */
char *wd__json_print(const cJSON *item, bool formatted);

/* The shortest text of x that reads back as the same number: integers with
 * no decimals, a value that is exactly a float with the fewest digits strtof
 * maps back to it (0.9f -> "0.9"), other doubles with 15-17 digits; "null"
 * for NaN and infinities. wd__json_print writes every number this way.
 * Returns the length written (at most cap - 1; 32 bytes always suffice). */
size_t wd__json_shortest(double x, char *buf, size_t cap);

/* Reads and parses a file (at most max_len bytes, 0 = 64 MiB) with
 * wd__json_parse_strict(..., WD__JSON_ALLOW_NUL): a model's or a policy's
 * JSON file may not repeat a key nor carry text after its value. */
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
