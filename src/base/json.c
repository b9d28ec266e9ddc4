/*
 * base/json.c - cJSON helpers with file/field-naming errors (base/json.h).
 */
#include "base/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"

cJSON *wd__json_parse(const char *text, size_t len, const char *where) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root) return root;
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    int line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    wd__fail(WD_ERR_FORMAT, "%s: invalid JSON at line %d, column %d", where, line, col);
    return NULL;
}

wd_status wd__json_load_file(const char *path, size_t max_len, cJSON **out) {
    *out = NULL;
    char *text;
    size_t len;
    wd_status st = wd__file_read(path, max_len ? max_len : (size_t)64 << 20, &text, &len);
    if (st) return st;
    cJSON *root = wd__json_parse(text, len, path);
    free(text);
    if (!root) return WD_ERR_FORMAT;
    *out = root;
    return WD_OK;
}

const char *wd__json_type_name(const cJSON *item) {
    if (!item) return "nothing";
    if (cJSON_IsNull(item)) return "null";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNumber(item)) return "a number";
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsArray(item)) return "an array";
    if (cJSON_IsObject(item)) return "an object";
    return "an invalid value";
}

bool wd__json_is_int(const cJSON *item, int64_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!isfinite(v) || v != floor(v) || fabs(v) > 9007199254740992.0) return false;
    if (out) *out = (int64_t)v;
    return true;
}

/* Looks up key; NULL values count as missing. Returns WD_OK with *item NULL
 * for a missing optional field. */
static wd_status lookup(const cJSON *obj, const char *where, const char *key, bool required,
                        const cJSON **item) {
    *item = NULL;
    const cJSON *it = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (it && cJSON_IsNull(it)) it = NULL;
    if (!it && required) return wd__fail(WD_ERR_FORMAT, "%s: field '%s': missing", where, key);
    *item = it;
    return WD_OK;
}

wd_status wd__json_int(const cJSON *obj, const char *where, const char *key, bool required,
                       int64_t def, int64_t *out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!wd__json_is_int(it, out)) {
        *out = def;
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected an integer, got %s", where, key,
                        wd__json_type_name(it));
    }
    return WD_OK;
}

wd_status wd__json_num(const cJSON *obj, const char *where, const char *key, bool required,
                       double def, double *out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!cJSON_IsNumber(it))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a number, got %s", where, key,
                        wd__json_type_name(it));
    *out = it->valuedouble;
    return WD_OK;
}

wd_status wd__json_bool(const cJSON *obj, const char *where, const char *key, bool required,
                        bool def, bool *out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!cJSON_IsBool(it))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected true or false, got %s", where,
                        key, wd__json_type_name(it));
    *out = cJSON_IsTrue(it);
    return WD_OK;
}

wd_status wd__json_str(const cJSON *obj, const char *where, const char *key, bool required,
                       const char *def, const char **out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!cJSON_IsString(it))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a string, got %s", where, key,
                        wd__json_type_name(it));
    *out = it->valuestring;
    return WD_OK;
}
