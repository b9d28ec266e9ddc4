/*
 * io/dataset_json.c - the dataset reader's JSON side (warden/dataset.h):
 * the streaming scanner over a top-level array (json), field paths and
 * record -> item (json and jsonl).
 *
 * The scanner walks the top-level value down records_path to the array,
 * then copies one element's bytes at a time into rec (tracking depth and
 * strings) and parses only that element with cJSON; values off the path
 * are skipped without being stored, so a large file never sits in memory
 * as one tree. After the array it checks that the objects on the path do
 * not name the path's key again and that nothing follows the value.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "io/dataset_internal.h"

/* ==== reader: JSON (streaming over the top-level value) ================ */

static void json_skip_ws(wd_dataset *ds) {
    int c;
    while ((c = src_peek(ds)) == ' ' || c == '\t' || c == '\n' || c == '\r') src_getc(ds);
}

/* Copies (store=1) or skips one JSON value's bytes. Checks only the
 * structure needed to find its end; cJSON validates a stored value. */
static wd_status json_value_bytes(wd_dataset *ds, int store, size_t line) {
    int depth = 0, in_str = 0, esc = 0, c;
    wd_status st;
    json_skip_ws(ds);
    c = src_peek(ds);
    if (c < 0) goto eof;
    if (c != '{' && c != '[' && c != '"') {
        /* scalar: up to a delimiter */
        while ((c = src_peek(ds)) >= 0 && !strchr(",]} \t\r\n", c)) {
            src_getc(ds);
            if (store && (st = rec_put(ds, (char)c, line))) return st;
        }
        return ds->failed ? ds->err.status : WD_OK;
    }
    while ((c = src_getc(ds)) >= 0) {
        if (store && (st = rec_put(ds, (char)c, line))) return st;
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') {
                in_str = 0;
                if (depth == 0) return WD_OK;
            }
            continue;
        }
        if (c == '"') in_str = 1;
        else if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') {
            if (--depth <= 0) return WD_OK;
        }
    }
eof:
    if (ds->failed) return ds->err.status;
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_FORMAT, "%s:%zu: record %zu: JSON ends inside a value",
                       ds->name, line, ds->n_records);
}

static wd_status json_fail(wd_dataset *ds, const char *what) {
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_FORMAT, "%s:%zu: %s", ds->name, ds->line, what);
}

/* Reads a JSON string key (the opening quote next) into rec; returns it. */
static wd_status json_read_key(wd_dataset *ds) {
    ds->rec.n = 0;
    wd_status st = json_value_bytes(ds, 1, ds->line);
    if (st) return st;
    if (ds->rec.n < 2 || ds->rec.p[0] != '"') return json_fail(ds, "expected an object key");
    cJSON *k = wd__json_parse_strict(ds->rec.p, ds->rec.n, ds->name, 0, NULL);
    if (!k || !cJSON_IsString(k)) {
        cJSON_Delete(k);
        return json_fail(ds, "invalid object key");
    }
    size_t len = strlen(k->valuestring);
    memmove(ds->rec.p, k->valuestring, len + 1);
    ds->rec.n = len;
    cJSON_Delete(k);
    return WD_OK;
}

/* Moves the source to just after the '[' of the records array. */
static wd_status json_start(wd_dataset *ds) {
    json_skip_ws(ds);
    if (src_peek(ds) == 0xEF) { /* UTF-8 BOM */
        src_getc(ds);
        src_getc(ds);
        src_getc(ds);
        json_skip_ws(ds);
    }
    const char *path = ds->records_path ? ds->records_path : "";
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t seg = dot ? (size_t)(dot - path) : strlen(path);
        if (src_getc(ds) != '{') {
            ds->failed = 1;
            return wd__err_set(&ds->err, WD_ERR_FORMAT,
                               "%s:%zu: expected an object holding '%.*s' (records path '%s')",
                               ds->name, ds->line, (int)seg, path, ds->records_path);
        }
        int found = 0;
        for (;;) {
            json_skip_ws(ds);
            int c = src_peek(ds);
            if (c == '}' || c < 0) break;
            if (c == ',') {
                src_getc(ds);
                continue;
            }
            wd_status st = json_read_key(ds);
            if (st) return st;
            int match = ds->rec.n == seg && !memcmp(ds->rec.p, path, seg);
            json_skip_ws(ds);
            if (src_getc(ds) != ':') return json_fail(ds, "expected ':' after an object key");
            json_skip_ws(ds);
            if (match) {
                found = 1;
                break;
            }
            if ((st = json_value_bytes(ds, 0, ds->line))) return st;
        }
        if (!found) {
            ds->failed = 1;
            return wd__err_set(&ds->err, WD_ERR_NOT_FOUND,
                               "%s: records path '%s': key '%.*s' not found", ds->name,
                               ds->records_path, (int)seg, path);
        }
        path += seg;
        if (*path == '.') path++;
    }
    json_skip_ws(ds);
    if (src_getc(ds) != '[') {
        ds->failed = 1;
        if (ds->records_path)
            return wd__err_set(&ds->err, WD_ERR_FORMAT,
                               "%s:%zu: records path '%s' does not hold an array", ds->name,
                               ds->line, ds->records_path);
        return wd__err_set(&ds->err, WD_ERR_FORMAT,
                           "%s:%zu: expected a JSON array of records (or give a records path, "
                           "e.g. --text-field 'instances[].text')",
                           ds->name, ds->line);
    }
    return WD_OK;
}

/* After the ']' of the records array: reads the rest of each object on the
 * records path, which must not name the path's key again (readers that keep
 * the last member would read other records), and checks that nothing but
 * white space follows the top-level value. */
static wd_status json_finish(wd_dataset *ds) {
    const char *path = ds->records_path ? ds->records_path : "";
    const char *seg[64];
    size_t seg_len[64], n_seg = 0;
    for (const char *p = path; *p && n_seg < 64;) {
        const char *dot = strchr(p, '.');
        seg[n_seg] = p;
        seg_len[n_seg] = dot ? (size_t)(dot - p) : strlen(p);
        n_seg++;
        p += seg_len[n_seg - 1];
        if (*p == '.') p++;
    }
    for (size_t k = n_seg; k-- > 0;) {
        for (;;) {
            json_skip_ws(ds);
            int c = src_peek(ds);
            if (c == '}') {
                src_getc(ds);
                break;
            }
            if (c == ',') {
                src_getc(ds);
                continue;
            }
            if (c < 0) {
                if (ds->failed) return ds->err.status;
                return json_fail(ds, "the object holding the records is not closed (missing '}')");
            }
            wd_status st = json_read_key(ds);
            if (st) return st;
            if (ds->rec.n == seg_len[k] && !memcmp(ds->rec.p, seg[k], seg_len[k])) {
                ds->failed = 1;
                return wd__err_set(&ds->err, WD_ERR_FORMAT,
                                   "%s:%zu: duplicate key '%.*s' (records path '%s'): an object "
                                   "may name each member once",
                                   ds->name, ds->line, (int)seg_len[k], seg[k], ds->records_path);
            }
            json_skip_ws(ds);
            if (src_getc(ds) != ':') return json_fail(ds, "expected ':' after an object key");
            if ((st = json_value_bytes(ds, 0, ds->line))) return st;
        }
    }
    json_skip_ws(ds);
    if (src_peek(ds) >= 0) return json_fail(ds, "text after the JSON value");
    return ds->failed ? ds->err.status : WD_OK;
}

/* Reads the next array element into rec. Returns 1 / 0 (end) / negative. */
int wd__dataset_read_json(wd_dataset *ds, size_t *line) {
    wd_status st;
    if (ds->json_done) return 0;
    if (!ds->json_started) {
        if ((st = json_start(ds))) return st;
        ds->json_started = 1;
    }
    json_skip_ws(ds);
    int c = src_peek(ds);
    if (c == ',' && ds->n_records > 0) {
        src_getc(ds);
        json_skip_ws(ds);
        c = src_peek(ds);
    }
    if (c == ']') {
        src_getc(ds);
        ds->json_done = 1;
        if ((st = json_finish(ds))) return st;
        return 0;
    }
    if (c < 0) {
        if (ds->failed) return ds->err.status;
        return json_fail(ds, "the array of records is not closed (missing ']')");
    }
    ds->rec.n = 0;
    *line = ds->line;
    if ((st = json_value_bytes(ds, 1, *line))) return st;
    return 1;
}

/* ==== field access ======================================================= */

/* Resolves a dot path inside obj (see the header). */
static const cJSON *json_path(const cJSON *obj, const char *path) {
    if (!path || !obj) return NULL;
    if (cJSON_IsObject(obj)) {
        const cJSON *exact = cJSON_GetObjectItemCaseSensitive(obj, path);
        if (exact) return exact;
    }
    const cJSON *cur = obj;
    const char *p = path;
    char seg[256];
    while (*p && cur) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof seg) return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        int digits = n > 0;
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)seg[i])) digits = 0;
        if (cJSON_IsArray(cur) && digits) cur = cJSON_GetArrayItem(cur, atoi(seg));
        else if (cJSON_IsObject(cur)) cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        else return NULL;
        p += n;
        if (*p == '.') p++;
    }
    return cur;
}

/* Replaces *dst with a malloc'd string form of a JSON scalar (NULL for null). */
static int json_scalar_str(const cJSON *v, char **dst) {
    free(*dst);
    *dst = NULL;
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsString(v)) *dst = strdup(v->valuestring);
    else if (cJSON_IsBool(v)) *dst = strdup(cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v)) {
        char tmp[64];
        int64_t iv;
        if (wd__json_is_int(v, &iv)) snprintf(tmp, sizeof tmp, "%lld", (long long)iv);
        else snprintf(tmp, sizeof tmp, "%.17g", v->valuedouble);
        *dst = strdup(tmp);
    } else {
        *dst = cJSON_PrintUnformatted(v);
    }
    return *dst ? 0 : -1;
}

wd_status wd__dataset_item_from_json(wd_dataset *ds, cJSON *obj) {
    wd_status st;
    if (cJSON_IsString(obj) && !ds->text_field) { /* an array or lines of plain strings */
        ds->item.text = obj->valuestring;
        if (ds->label_field && ds->fixed_label == WD_LABEL_UNKNOWN)
            return wd__dataset_field_error(ds, WD_ERR_NOT_FOUND, ds->label_field, "%s",
                               "missing (the record is a string, not an object)");
        return WD_OK;
    }
    if (!cJSON_IsObject(obj)) {
        char w[600];
        wd__dataset_where(ds, w, sizeof w);
        ds->failed = 1;
        return wd__err_set(&ds->err, WD_ERR_FORMAT, "%s: expected an object, got %s", w,
                           wd__json_type_name(obj));
    }
    const cJSON *t = NULL;
    const char *tname = ds->text_field;
    if (tname) t = json_path(obj, tname);
    else {
        for (int i = 0; wd__dataset_default_text_fields[i] && !t; i++) {
            t = cJSON_GetObjectItemCaseSensitive(obj, wd__dataset_default_text_fields[i]);
            if (t) tname = wd__dataset_default_text_fields[i];
        }
        if (!t)
            return wd__dataset_field_error(ds, WD_ERR_NOT_FOUND, "text", "%s",
                               "no text field found (name it with --text-field)");
    }
    if (!t || cJSON_IsNull(t)) return wd__dataset_field_error(ds, WD_ERR_NOT_FOUND, tname, "%s", "missing");
    if (!cJSON_IsString(t))
        return wd__dataset_field_error(ds, WD_ERR_FORMAT, tname, "expected a string, got %s", wd__json_type_name(t));
    ds->item.text = t->valuestring;

    if (ds->label_field && ds->fixed_label == WD_LABEL_UNKNOWN) {
        const cJSON *l = json_path(obj, ds->label_field);
        if (!l || cJSON_IsNull(l)) return wd__dataset_field_error(ds, WD_ERR_NOT_FOUND, ds->label_field, "%s", "missing");
        if (cJSON_IsArray(l) || cJSON_IsObject(l))
            return wd__dataset_field_error(ds, WD_ERR_FORMAT, ds->label_field, "expected a label, got %s",
                               wd__json_type_name(l));
        if (json_scalar_str(l, &ds->label_str)) return wd__dataset_nomem(ds);
        if ((st = wd__dataset_set_label(ds, ds->label_str))) return st;
    }
    if (ds->category_field) {
        const cJSON *c = json_path(obj, ds->category_field);
        if (c && cJSON_IsArray(c)) {
            const cJSON *e;
            cJSON_ArrayForEach(e, c) {
                if (!cJSON_IsString(e))
                    return wd__dataset_field_error(ds, WD_ERR_FORMAT, ds->category_field,
                                       "expected strings in the array, got %s", wd__json_type_name(e));
                if ((st = wd__dataset_add_category(ds, e->valuestring))) return st;
            }
            if (json_scalar_str(c, &ds->cat_str)) return wd__dataset_nomem(ds);
            ds->item.category_raw = ds->cat_str;
        } else if (c && !cJSON_IsNull(c)) {
            if (json_scalar_str(c, &ds->cat_str)) return wd__dataset_nomem(ds);
            ds->item.category_raw = ds->cat_str;
            if ((st = wd__dataset_add_category(ds, ds->cat_str))) return st;
        }
    }
    if (ds->id_field) {
        const cJSON *i = json_path(obj, ds->id_field);
        if (json_scalar_str(i, &ds->id_str)) return wd__dataset_nomem(ds);
        ds->item.id = ds->id_str;
    }
    return WD_OK;
}


/* Makes room for one more string the record owns; false when out of memory. */
static bool scratch_room(wd_dataset *ds) {
    if (ds->n_scratch < ds->scratch_cap) return true;
    size_t cap = ds->scratch_cap ? ds->scratch_cap * 2 : 8;
    char **np = realloc(ds->scratch, cap * sizeof *np);
    if (!np) return false;
    ds->scratch = np;
    ds->scratch_cap = cap;
    return true;
}

const char *wd__dataset_json_field(wd_dataset *ds, const char *path) {
    const cJSON *v = json_path(ds->cur_json, path);
    if (!v || cJSON_IsNull(v)) return NULL;
    if (cJSON_IsString(v)) return v->valuestring;
    char *s = NULL;
    if (!scratch_room(ds) || json_scalar_str(v, &s)) return NULL;
    ds->scratch[ds->n_scratch++] = s;
    return s;
}

const char *wd__dataset_json_record(wd_dataset *ds) {
    if (!ds->cur_json || !scratch_room(ds)) return NULL;
    char *s = wd__json_print(ds->cur_json, false);
    if (s) ds->scratch[ds->n_scratch++] = s;
    return s;
}
