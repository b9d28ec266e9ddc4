/*
 * io/dataset.c - the one dataset reader (warden/dataset.h): CSV (RFC 4180),
 * TSV, JSONL, JSON arrays and plain text, optionally gzip-compressed.
 *
 * Everything streams through one byte source (a zlib gzFile, which reads
 * plain files unchanged and gzip files by their magic bytes, or a memory
 * buffer) with a 64 KiB buffer. Only one record is held at a time:
 *
 *   source --bytes--> format reader --record bytes (rec)--> fields --> item
 *
 *   csv   a state machine (field / quoted / quote-seen) that may span lines
 *   tsv   one line, split on TAB
 *   jsonl one line, parsed with cJSON
 *   json  a small scanner walks the top-level value down records_path to the
 *         array, then copies one element's bytes at a time (tracking depth
 *         and strings) and parses only that element with cJSON; values off
 *         the path are skipped without being stored.
 *   text  one line
 *
 * Strict by default (warden/dataset.h, "Strictness"): what two readers could
 * read differently is an error, so the guard is never evaluated on, or fed,
 * a text other than the one the file's author meant.
 *
 * Invariants: rec never exceeds max_record_bytes (else WD_ERR_RANGE); it
 * never holds a NUL byte of the data (rec_put refuses it); the
 * line counter counts every '\n' consumed from the source, so errors can
 * name the line where the record started.
 */
#include "warden/dataset.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"

#define SRC_BUF (64u << 10)
#define MAX_COLS 4096

/* ==== growable byte buffer ============================================ */

typedef struct buf {
    char  *p;
    size_t n, cap;
} buf;

static int buf_reserve(buf *b, size_t extra) {
    if (b->n + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) return -1;
    b->p = np;
    b->cap = cap;
    return 0;
}

static int buf_putc(buf *b, char c) {
    if (b->n + 2 > b->cap && buf_reserve(b, 1)) return -1;
    b->p[b->n++] = c;
    b->p[b->n] = '\0';
    return 0;
}

/* ==== the dataset object =============================================== */

struct wd_dataset {
    wd__err err;
    char  *name;
    wd_dataset_format fmt;
    /* params (strings owned) */
    char *text_field, *label_field, *category_field, *category_scheme, *id_field, *records_path;
    wd_label fixed_label;
    size_t   max_record;
    int      skip_empty;
    int      lenient;
    /* source */
    gzFile               gz;
    const unsigned char *mem;
    size_t               mem_len, mem_pos;
    unsigned char       *sbuf;
    size_t               spos, slen;
    int                  eof;
    size_t               line; /* 1-based line of the next byte */
    /* record buffer + fields (csv/tsv: offsets into rec) */
    buf     rec;
    size_t *fstart;
    size_t  n_fields, fcap;
    /* csv/tsv header */
    char  **cols;
    size_t  n_cols;
    int     col_text, col_label, col_cat, col_id;
    /* json */
    int     json_started, json_done;
    /* current item */
    cJSON          *cur_json;
    char           *label_str; /* scratch for stringified values */
    char           *id_str;
    char           *cat_str;
    wd_dataset_item item;
    size_t          n_items, n_records;
    int             failed;
};

/* ==== byte source ======================================================= */

static int src_fill(wd_dataset *ds) {
    if (ds->eof) return 0;
    if (ds->mem) {
        ds->eof = 1; /* the whole buffer is served directly by src_getc */
        return 0;
    }
    int r = gzread(ds->gz, ds->sbuf, SRC_BUF);
    if (r < 0) {
        int errnum = 0;
        const char *m = gzerror(ds->gz, &errnum);
        wd__err_set(&ds->err, WD_ERR_IO, "%s: read error: %s", ds->name, m ? m : "zlib error");
        ds->failed = 1;
        ds->eof = 1;
        return -1;
    }
    if (r == 0) {
        /* gzread reports a gzip stream cut short (no trailer) as the end of
         * the data; gzerror tells it apart. */
        int errnum = 0;
        gzerror(ds->gz, &errnum);
        ds->eof = 1;
        if (errnum == Z_BUF_ERROR) {
            wd__err_set(&ds->err, WD_ERR_FORMAT,
                        "%s:%zu: the gzip data is truncated (it ends without the gzip trailer; "
                        "an incomplete download?)",
                        ds->name, ds->line);
            ds->failed = 1;
            return -1;
        }
        return 0;
    }
    ds->spos = 0;
    ds->slen = (size_t)r;
    return 1;
}

/* Next byte, or -1 at the end (or on a read error: ds->failed is set). */
static inline int src_getc(wd_dataset *ds) {
    if (ds->mem) {
        if (ds->mem_pos >= ds->mem_len) return -1;
        int c = ds->mem[ds->mem_pos++];
        if (c == '\n') ds->line++;
        return c;
    }
    if (ds->spos >= ds->slen && src_fill(ds) <= 0) return -1;
    int c = ds->sbuf[ds->spos++];
    if (c == '\n') ds->line++;
    return c;
}

static inline int src_peek(wd_dataset *ds) {
    if (ds->mem) return ds->mem_pos < ds->mem_len ? ds->mem[ds->mem_pos] : -1;
    if (ds->spos >= ds->slen && src_fill(ds) <= 0) return -1;
    return ds->sbuf[ds->spos];
}

/* ==== small helpers ===================================================== */

static wd_status nomem(wd_dataset *ds) {
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_NOMEM, "%s: out of memory", ds->name);
}

static wd_status too_big(wd_dataset *ds, size_t line) {
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_RANGE,
                       "%s:%zu: record %zu: larger than the limit of %zu bytes", ds->name, line,
                       ds->n_records, ds->max_record);
}

/* Appends the byte c to rec, checking the limit. */
static inline wd_status rec_put_byte(wd_dataset *ds, char c, size_t line) {
    if (ds->rec.n >= ds->max_record) return too_big(ds, line);
    if (buf_putc(&ds->rec, c)) return nomem(ds);
    return WD_OK;
}

/* Appends a byte of the data to rec. A NUL byte is refused: every later
 * step reads the text as a C string, so the guard would see it cut at the
 * NUL (and a file full of NULs is UTF-16 or binary, not text). */
static inline wd_status rec_put(wd_dataset *ds, char c, size_t line) {
    if (c == '\0') {
        ds->failed = 1;
        return wd__err_set(&ds->err, WD_ERR_FORMAT,
                           "%s:%zu: record %zu: a NUL byte (0x00) in the data; text must not "
                           "hold NUL (a UTF-16 or binary file?)",
                           ds->name, ds->line, ds->n_records);
    }
    return rec_put_byte(ds, c, line);
}

static wd_status field_begin(wd_dataset *ds) {
    if (ds->n_fields == ds->fcap) {
        size_t cap = ds->fcap ? ds->fcap * 2 : 16;
        if (cap > MAX_COLS + 1) cap = MAX_COLS + 1;
        if (ds->n_fields >= cap) {
            ds->failed = 1;
            return wd__err_set(&ds->err, WD_ERR_RANGE, "%s:%zu: more than %d fields", ds->name,
                               ds->line, MAX_COLS);
        }
        size_t *np = realloc(ds->fstart, cap * sizeof *np);
        if (!np) return nomem(ds);
        ds->fstart = np;
        ds->fcap = cap;
    }
    ds->fstart[ds->n_fields++] = ds->rec.n;
    return WD_OK;
}

/* Fields are NUL-separated in rec: ends a field. */
static wd_status field_end(wd_dataset *ds, size_t line) { return rec_put_byte(ds, '\0', line); }

static const char *field_at(const wd_dataset *ds, size_t i) { return ds->rec.p + ds->fstart[i]; }

/* ==== readers: lines (tsv, text, jsonl) ================================== */

/* Reads one physical line (without '\n' and a trailing '\r') into rec.
 * Returns 1 with a line, 0 at the end, or a negative status. */
static int read_line(wd_dataset *ds) {
    ds->rec.n = 0;
    if (buf_reserve(&ds->rec, 0)) return nomem(ds);
    ds->rec.p[0] = '\0';
    size_t line = ds->line;
    int c, any = 0;
    while ((c = src_getc(ds)) >= 0) {
        any = 1;
        if (c == '\n') break;
        wd_status st = rec_put(ds, (char)c, line);
        if (st) return st;
    }
    if (ds->failed) return ds->err.status;
    if (!any) return 0;
    if (ds->rec.n && ds->rec.p[ds->rec.n - 1] == '\r') ds->rec.p[--ds->rec.n] = '\0';
    return 1;
}

static int is_blank(const char *s) {
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* ==== reader: CSV (RFC 4180) ============================================= */

/* Reads one CSV record into rec as NUL-separated fields. Returns 1 with a
 * record, 0 at the end, negative on error. A blank line is a record with
 * one empty field (the caller skips it). */
static int read_csv_record(wd_dataset *ds, char delim) {
    ds->rec.n = 0;
    ds->n_fields = 0;
    size_t line = ds->line;
    int c = src_getc(ds);
    if (c < 0) return ds->failed ? ds->err.status : 0;
    wd_status st = field_begin(ds);
    if (st) return st;
    enum { UNQUOTED, QUOTED, QUOTE_SEEN } state = UNQUOTED;
    int at_field_start = 1;
    for (;; c = src_getc(ds)) {
        if (c < 0) {
            if (ds->failed) return ds->err.status;
            if (state == QUOTED) {
                ds->failed = 1;
                return wd__err_set(&ds->err, WD_ERR_FORMAT,
                                   "%s:%zu: record %zu: quoted field never closed (missing '\"')",
                                   ds->name, line, ds->n_records);
            }
            break;
        }
        if (state == QUOTED) {
            if (c == '"') state = QUOTE_SEEN;
            else if ((st = rec_put(ds, (char)c, line))) return st;
            continue;
        }
        if (state == QUOTE_SEEN) {
            if (c == '"') { /* "" inside quotes */
                if ((st = rec_put(ds, '"', line))) return st;
                state = QUOTED;
                continue;
            }
            state = UNQUOTED; /* the closing quote; fall through to handle c */
            if (!ds->lenient && c != delim && c != '\n' && c != '\r') {
                ds->failed = 1;
                return wd__err_set(&ds->err, WD_ERR_FORMAT,
                                   "%s:%zu: record %zu: field %zu: text after its closing quote "
                                   "(a quote inside a quoted field is written \"\"; --lenient "
                                   "keeps it)",
                                   ds->name, ds->line, ds->n_records, ds->n_fields);
            }
        }
        /* UNQUOTED */
        if (c == delim) {
            if ((st = field_end(ds, line)) || (st = field_begin(ds))) return st;
            at_field_start = 1;
            continue;
        }
        if (c == '\n') break;
        if (c == '\r') {
            if (src_peek(ds) == '\n') continue; /* CRLF: the \n ends the record */
            break;                              /* a lone CR ends it too        */
        }
        if (c == '"' && at_field_start) {
            state = QUOTED;
            at_field_start = 0;
            continue;
        }
        /* A quote inside an unquoted field: kept as is with lenient (as most
         * readers do), else an error, since readers disagree on where such a
         * field ends. */
        if (c == '"' && !ds->lenient) {
            ds->failed = 1;
            return wd__err_set(&ds->err, WD_ERR_FORMAT,
                               "%s:%zu: record %zu: field %zu: a quote inside an unquoted field "
                               "(quote the whole field and write the quote as \"\"; --lenient "
                               "keeps it)",
                               ds->name, ds->line, ds->n_records, ds->n_fields);
        }
        at_field_start = 0;
        if ((st = rec_put(ds, (char)c, line))) return st;
    }
    if ((st = field_end(ds, line))) return st;
    return 1;
}

/* ==== reader: TSV ======================================================== */

static int read_tsv_record(wd_dataset *ds) {
    int r = read_line(ds);
    if (r <= 0) return r;
    /* Split in place: each TAB becomes the NUL that ends a field. */
    ds->n_fields = 0;
    wd_status st = field_begin(ds); /* rec.n is the line's length: fix the offset below */
    if (st) return st;
    ds->fstart[0] = 0;
    size_t n = ds->rec.n;
    for (size_t i = 0; i < n; i++) {
        if (ds->rec.p[i] != '\t') continue;
        ds->rec.p[i] = '\0';
        if ((st = field_begin(ds))) return st;
        ds->fstart[ds->n_fields - 1] = i + 1;
    }
    return 1;
}

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
static int read_json_record(wd_dataset *ds, size_t *line) {
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

static const char *const DEFAULT_TEXT_FIELDS[] = {
    "text", "prompt", "goal", "instruction", "forbidden_prompt", "prompt_text",
    "mutated_prompt", "question", "query", "input", "content", "instance", "user_input", NULL};

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

static const char *const HARMFUL_WORDS[] = {"1", "true", "yes", "harmful", "unsafe", "toxic",
                                            "malicious", "jailbreak", "hate", "flagged", "y",
                                            "positive", "bad", "attack", NULL};
static const char *const BENIGN_WORDS[] = {"0", "false", "no", "benign", "safe", "harmless",
                                           "non-toxic", "nontoxic", "neutral", "ok", "allowed",
                                           "n", "negative", "good", "none", NULL};

wd_status wd_label_parse(const char *s, wd_label *out) {
    if (!s) return wd__fail(WD_ERR_INVALID_ARG, "label: NULL");
    char tmp[64];
    size_t n = 0;
    while (isspace((unsigned char)*s)) s++;
    for (; *s && n + 1 < sizeof tmp; s++) tmp[n++] = *s;
    while (n && isspace((unsigned char)tmp[n - 1])) n--;
    tmp[n] = '\0';
    for (int i = 0; HARMFUL_WORDS[i]; i++)
        if (!strcasecmp(tmp, HARMFUL_WORDS[i])) return *out = WD_LABEL_HARMFUL, WD_OK;
    for (int i = 0; BENIGN_WORDS[i]; i++)
        if (!strcasecmp(tmp, BENIGN_WORDS[i])) return *out = WD_LABEL_BENIGN, WD_OK;
    /* Numbers: only 0 and 1, as "0", "1", "0.0", "1.00". Any other number
     * (-1, 2, 0.5, 1e3) is a score or a class index whose meaning the file
     * must say: map it to harmful/benign first. */
    if ((tmp[0] == '0' || tmp[0] == '1') && (!tmp[1] || tmp[1] == '.')) {
        size_t i = tmp[1] ? 2 : 1;
        while (tmp[i] == '0') i++;
        if (!tmp[i] && (i > 2 || !tmp[1]))
            return *out = tmp[0] == '1' ? WD_LABEL_HARMFUL : WD_LABEL_BENIGN, WD_OK;
    }
    return wd__fail(WD_ERR_NOT_FOUND,
                    "cannot read '%s' as a label (expected harmful/benign, unsafe/safe, "
                    "true/false, yes/no, 1/0; other numbers are not labels)",
                    tmp);
}

const char *wd_label_name(wd_label l) {
    return l == WD_LABEL_HARMFUL ? "harmful" : l == WD_LABEL_BENIGN ? "benign" : "unknown";
}

/* Where an error in the current record happened: "file:line: record N". */
static void where(const wd_dataset *ds, char *out, size_t n) {
    if (ds->item.line) snprintf(out, n, "%s:%zu: record %zu", ds->name, ds->item.line, ds->item.record);
    else snprintf(out, n, "%s: record %zu", ds->name, ds->item.record);
}

static wd_status field_error(wd_dataset *ds, wd_status st, const char *field, const char *fmt,
                             const char *arg) {
    char w[600], msg[600];
    where(ds, w, sizeof w);
    snprintf(msg, sizeof msg, fmt, arg);
    ds->failed = 1;
    return wd__err_set(&ds->err, st, "%s: field '%s': %s", w, field, msg);
}

static wd_status set_label(wd_dataset *ds, const char *value) {
    if (ds->fixed_label != WD_LABEL_UNKNOWN) return WD_OK;
    if (!ds->label_field) return WD_OK;
    if (!value) return field_error(ds, WD_ERR_NOT_FOUND, ds->label_field, "%s", "missing");
    wd_label l;
    if (wd_label_parse(value, &l)) {
        char tmp[200];
        snprintf(tmp, sizeof tmp, "%.120s", value);
        return field_error(ds, WD_ERR_FORMAT, ds->label_field,
                           "cannot read '%s' as a label (expected harmful/benign, unsafe/safe, "
                           "true/false, yes/no, 1/0; other numbers are not labels)",
                           tmp);
    }
    ds->item.label = l;
    return WD_OK;
}

static wd_status add_category(wd_dataset *ds, const char *code) {
    while (isspace((unsigned char)*code)) code++;
    if (!*code) return WD_OK;
    wd_catmask m;
    if (wd_taxonomy_map(ds->category_scheme, code, &m)) {
        char tmp[400];
        snprintf(tmp, sizeof tmp, "%.300s", wd_last_error());
        return field_error(ds, WD_ERR_FORMAT, ds->category_field, "%s", tmp);
    }
    ds->item.categories |= m;
    return WD_OK;
}

/* ==== header and records -> items ======================================= */

static int find_col(wd_dataset *ds, const char *name) {
    for (size_t i = 0; i < ds->n_cols; i++)
        if (!strcmp(ds->cols[i], name)) return (int)i;
    for (size_t i = 0; i < ds->n_cols; i++)
        if (!strcasecmp(ds->cols[i], name)) return (int)i;
    return -1;
}

static wd_status missing_col(wd_dataset *ds, const char *what, const char *name) {
    char cols[512];
    size_t o = 0;
    cols[0] = '\0';
    for (size_t i = 0; i < ds->n_cols && o + 4 < sizeof cols; i++)
        o += (size_t)snprintf(cols + o, sizeof cols - o, "%s'%s'", i ? ", " : "", ds->cols[i]);
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_NOT_FOUND, "%s: %s column '%s' not in the header (columns: %s)",
                       ds->name, what, name, cols);
}

static wd_status read_header(wd_dataset *ds) {
    int r = ds->fmt == WD_DATASET_FORMAT_CSV ? read_csv_record(ds, ',') : read_tsv_record(ds);
    if (r < 0) return (wd_status)r;
    if (r == 0) {
        ds->failed = 1;
        return wd__err_set(&ds->err, WD_ERR_FORMAT, "%s: empty file (expected a header row)", ds->name);
    }
    ds->cols = calloc(ds->n_fields, sizeof *ds->cols);
    if (!ds->cols) return nomem(ds);
    ds->n_cols = ds->n_fields;
    for (size_t i = 0; i < ds->n_fields; i++) {
        const char *f = field_at(ds, i);
        if (i == 0 && (unsigned char)f[0] == 0xEF && (unsigned char)f[1] == 0xBB &&
            (unsigned char)f[2] == 0xBF)
            f += 3;
        if (!(ds->cols[i] = strdup(f))) return nomem(ds);
    }
    if (ds->text_field) {
        if ((ds->col_text = find_col(ds, ds->text_field)) < 0) return missing_col(ds, "text", ds->text_field);
    } else {
        ds->col_text = -1;
        for (int i = 0; DEFAULT_TEXT_FIELDS[i] && ds->col_text < 0; i++)
            ds->col_text = find_col(ds, DEFAULT_TEXT_FIELDS[i]);
        if (ds->col_text < 0) ds->col_text = 0;
    }
    ds->col_label = ds->col_cat = ds->col_id = -1;
    if (ds->label_field && ds->fixed_label == WD_LABEL_UNKNOWN &&
        (ds->col_label = find_col(ds, ds->label_field)) < 0)
        return missing_col(ds, "label", ds->label_field);
    if (ds->category_field && (ds->col_cat = find_col(ds, ds->category_field)) < 0)
        return missing_col(ds, "category", ds->category_field);
    if (ds->id_field && (ds->col_id = find_col(ds, ds->id_field)) < 0)
        return missing_col(ds, "id", ds->id_field);
    return WD_OK;
}

static wd_status item_from_fields(wd_dataset *ds) {
    if (!ds->lenient && ds->n_fields != ds->n_cols) {
        char w[600];
        where(ds, w, sizeof w);
        ds->failed = 1;
        return wd__err_set(&ds->err, WD_ERR_FORMAT,
                           "%s: %zu fields, but the header has %zu columns (%s; --lenient reads "
                           "such rows anyway)",
                           w, ds->n_fields, ds->n_cols,
                           ds->fmt == WD_DATASET_FORMAT_TSV ? "a TSV field cannot hold a tab"
                                                     : "a field holding a comma must be quoted");
    }
    int need[4] = {ds->col_text, ds->col_label, ds->col_cat, ds->col_id};
    const char *names[4] = {ds->text_field ? ds->text_field : ds->cols[ds->col_text],
                            ds->label_field, ds->category_field, ds->id_field};
    for (int k = 0; k < 4; k++)
        if (need[k] >= 0 && (size_t)need[k] >= ds->n_fields) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%zu", ds->n_fields);
            return field_error(ds, WD_ERR_FORMAT, names[k],
                               "missing (the record has only %s fields)", tmp);
        }
    ds->item.text = field_at(ds, (size_t)ds->col_text);
    wd_status st;
    if (ds->col_label >= 0 && (st = set_label(ds, field_at(ds, (size_t)ds->col_label)))) return st;
    if (ds->col_cat >= 0) {
        ds->item.category_raw = field_at(ds, (size_t)ds->col_cat);
        if ((st = add_category(ds, ds->item.category_raw))) return st;
    }
    if (ds->col_id >= 0) ds->item.id = field_at(ds, (size_t)ds->col_id);
    return WD_OK;
}

static wd_status item_from_json(wd_dataset *ds, cJSON *obj) {
    wd_status st;
    if (cJSON_IsString(obj) && !ds->text_field) { /* an array or lines of plain strings */
        ds->item.text = obj->valuestring;
        if (ds->label_field && ds->fixed_label == WD_LABEL_UNKNOWN)
            return field_error(ds, WD_ERR_NOT_FOUND, ds->label_field, "%s",
                               "missing (the record is a string, not an object)");
        return WD_OK;
    }
    if (!cJSON_IsObject(obj)) {
        char w[600];
        where(ds, w, sizeof w);
        ds->failed = 1;
        return wd__err_set(&ds->err, WD_ERR_FORMAT, "%s: expected an object, got %s", w,
                           wd__json_type_name(obj));
    }
    const cJSON *t = NULL;
    const char *tname = ds->text_field;
    if (tname) t = json_path(obj, tname);
    else {
        for (int i = 0; DEFAULT_TEXT_FIELDS[i] && !t; i++) {
            t = cJSON_GetObjectItemCaseSensitive(obj, DEFAULT_TEXT_FIELDS[i]);
            if (t) tname = DEFAULT_TEXT_FIELDS[i];
        }
        if (!t)
            return field_error(ds, WD_ERR_NOT_FOUND, "text", "%s",
                               "no text field found (name it with --text-field)");
    }
    if (!t || cJSON_IsNull(t)) return field_error(ds, WD_ERR_NOT_FOUND, tname, "%s", "missing");
    if (!cJSON_IsString(t))
        return field_error(ds, WD_ERR_FORMAT, tname, "expected a string, got %s", wd__json_type_name(t));
    ds->item.text = t->valuestring;

    if (ds->label_field && ds->fixed_label == WD_LABEL_UNKNOWN) {
        const cJSON *l = json_path(obj, ds->label_field);
        if (!l || cJSON_IsNull(l)) return field_error(ds, WD_ERR_NOT_FOUND, ds->label_field, "%s", "missing");
        if (cJSON_IsArray(l) || cJSON_IsObject(l))
            return field_error(ds, WD_ERR_FORMAT, ds->label_field, "expected a label, got %s",
                               wd__json_type_name(l));
        if (json_scalar_str(l, &ds->label_str)) return nomem(ds);
        if ((st = set_label(ds, ds->label_str))) return st;
    }
    if (ds->category_field) {
        const cJSON *c = json_path(obj, ds->category_field);
        if (c && cJSON_IsArray(c)) {
            const cJSON *e;
            cJSON_ArrayForEach(e, c) {
                if (!cJSON_IsString(e))
                    return field_error(ds, WD_ERR_FORMAT, ds->category_field,
                                       "expected strings in the array, got %s", wd__json_type_name(e));
                if ((st = add_category(ds, e->valuestring))) return st;
            }
            if (json_scalar_str(c, &ds->cat_str)) return nomem(ds);
            ds->item.category_raw = ds->cat_str;
        } else if (c && !cJSON_IsNull(c)) {
            if (json_scalar_str(c, &ds->cat_str)) return nomem(ds);
            ds->item.category_raw = ds->cat_str;
            if ((st = add_category(ds, ds->cat_str))) return st;
        }
    }
    if (ds->id_field) {
        const cJSON *i = json_path(obj, ds->id_field);
        if (json_scalar_str(i, &ds->id_str)) return nomem(ds);
        ds->item.id = ds->id_str;
    }
    return WD_OK;
}

/* ==== public API ======================================================== */

wd_dataset_params wd_dataset_params_default(void) {
    wd_dataset_params p;
    memset(&p, 0, sizeof p);
    p.format = WD_DATASET_FORMAT_AUTO;
    p.fixed_label = WD_LABEL_UNKNOWN;
    p.category_scheme = "canonical";
    p.max_record_bytes = (size_t)16 << 20;
    p.skip_empty_text = 1;
    return p;
}

static const char *const FORMAT_NAMES[] = {"auto", "csv", "tsv", "jsonl", "json", "text"};

const char *wd_dataset_format_name(wd_dataset_format f) {
    return (unsigned)f < sizeof FORMAT_NAMES / sizeof *FORMAT_NAMES ? FORMAT_NAMES[f] : "auto";
}

wd_status wd_dataset_format_parse(const char *s, wd_dataset_format *out) {
    for (unsigned i = 0; i < sizeof FORMAT_NAMES / sizeof *FORMAT_NAMES; i++)
        if (s && !strcasecmp(s, FORMAT_NAMES[i])) return *out = (wd_dataset_format)i, WD_OK;
    if (s && !strcasecmp(s, "txt")) return *out = WD_DATASET_FORMAT_TEXT, WD_OK;
    if (s && !strcasecmp(s, "ndjson")) return *out = WD_DATASET_FORMAT_JSONL, WD_OK;
    return wd__fail(WD_ERR_NOT_FOUND, "unknown dataset format '%s' (csv, tsv, jsonl, json, text)",
                    s ? s : "(null)");
}

wd_dataset_format wd_dataset_format_of(const wd_dataset *ds) { return ds ? ds->fmt : WD_DATASET_FORMAT_AUTO; }

const char *wd_dataset_last_error(const wd_dataset *ds) { return ds ? wd__err_msg(&ds->err) : ""; }

void wd_dataset_free(wd_dataset *ds) {
    if (!ds) return;
    if (ds->gz) gzclose(ds->gz);
    free(ds->sbuf);
    free(ds->name);
    free(ds->text_field);
    free(ds->label_field);
    free(ds->category_field);
    free(ds->category_scheme);
    free(ds->id_field);
    free(ds->records_path);
    free(ds->rec.p);
    free(ds->fstart);
    for (size_t i = 0; i < ds->n_cols; i++) free(ds->cols[i]);
    free(ds->cols);
    cJSON_Delete(ds->cur_json);
    free(ds->label_str);
    free(ds->id_str);
    free(ds->cat_str);
    free(ds);
}

static wd_dataset_format format_from_name(const char *name) {
    size_t n = strlen(name);
    char tmp[32];
    if (n > 3 && !strcasecmp(name + n - 3, ".gz")) n -= 3;
    const char *dot = NULL;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '.') dot = name + i;
        else if (name[i] == '/') dot = NULL;
    if (!dot || (size_t)(name + n - dot) >= sizeof tmp) return WD_DATASET_FORMAT_AUTO;
    memcpy(tmp, dot + 1, (size_t)(name + n - dot - 1));
    tmp[name + n - dot - 1] = '\0';
    if (!strcasecmp(tmp, "csv")) return WD_DATASET_FORMAT_CSV;
    if (!strcasecmp(tmp, "tsv") || !strcasecmp(tmp, "tab")) return WD_DATASET_FORMAT_TSV;
    if (!strcasecmp(tmp, "jsonl") || !strcasecmp(tmp, "ndjson")) return WD_DATASET_FORMAT_JSONL;
    if (!strcasecmp(tmp, "json")) return WD_DATASET_FORMAT_JSON;
    if (!strcasecmp(tmp, "txt") || !strcasecmp(tmp, "text")) return WD_DATASET_FORMAT_TEXT;
    return WD_DATASET_FORMAT_AUTO;
}

/* Splits "prefix[].rest" into records path "prefix" and field "rest". */
static wd_status split_records(wd_dataset *ds, char **field) {
    if (!*field) return WD_OK;
    char *br = strstr(*field, "[]");
    if (!br) return WD_OK;
    size_t plen = (size_t)(br - *field);
    const char *rest = br + 2;
    if (*rest == '.') rest++;
    if (!*rest || plen == 0)
        return wd__fail(WD_ERR_INVALID_ARG, "%s: field '%s': expected 'ARRAY[].FIELD'", ds->name, *field);
    char *prefix = strndup(*field, plen);
    char *nf = strdup(rest);
    if (!prefix || !nf) {
        free(prefix);
        free(nf);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    if (ds->records_path && strcmp(ds->records_path, prefix)) {
        wd_status st = wd__fail(WD_ERR_INVALID_ARG,
                                "%s: field '%s' names records at '%s' but another field names '%s'",
                                ds->name, *field, prefix, ds->records_path);
        free(prefix);
        free(nf);
        return st;
    }
    free(ds->records_path);
    ds->records_path = prefix;
    free(*field);
    *field = nf;
    return WD_OK;
}

static wd_status open_common(wd_dataset *ds, const wd_dataset_params *pp, wd_dataset **out) {
    wd_dataset_params p = pp ? *pp : wd_dataset_params_default();
    if (!p.category_scheme) p.category_scheme = "canonical";
    ds->fixed_label = p.fixed_label;
    ds->max_record = p.max_record_bytes ? p.max_record_bytes : (size_t)16 << 20;
    ds->skip_empty = p.skip_empty_text;
    ds->lenient = p.lenient;
    ds->line = 1;
    if ((p.text_field && !(ds->text_field = strdup(p.text_field))) ||
        (p.label_field && !(ds->label_field = strdup(p.label_field))) ||
        (p.category_field && !(ds->category_field = strdup(p.category_field))) ||
        !(ds->category_scheme = strdup(p.category_scheme)) ||
        (p.id_field && !(ds->id_field = strdup(p.id_field))) ||
        (p.records_path && !(ds->records_path = strdup(p.records_path)))) {
        wd_dataset_free(ds);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    wd_status st;
    if ((st = split_records(ds, &ds->text_field)) || (st = split_records(ds, &ds->label_field)) ||
        (st = split_records(ds, &ds->category_field)) || (st = split_records(ds, &ds->id_field))) {
        wd_dataset_free(ds);
        return st;
    }
    if (p.category_field && wd_taxonomy_map(ds->category_scheme, "__probe__", &(wd_catmask){0}) &&
        strstr(wd_last_error(), "unknown taxonomy")) {
        st = wd__fail(WD_ERR_INVALID_ARG, "%s: %s", ds->name, wd_last_error());
        wd_dataset_free(ds);
        return st;
    }
    ds->fmt = p.format;
    if (ds->fmt == WD_DATASET_FORMAT_AUTO) ds->fmt = format_from_name(ds->name);
    if (ds->fmt == WD_DATASET_FORMAT_AUTO) {
        /* from the content: skip a BOM and white space */
        int c;
        if (ds->mem) {
            size_t i = 0;
            if (ds->mem_len >= 3 && ds->mem[0] == 0xEF && ds->mem[1] == 0xBB && ds->mem[2] == 0xBF) i = 3;
            while (i < ds->mem_len && isspace(ds->mem[i])) i++;
            c = i < ds->mem_len ? ds->mem[i] : -1;
        } else {
            c = src_peek(ds);
            size_t i = ds->spos;
            if (ds->slen - i >= 3 && ds->sbuf[i] == 0xEF && ds->sbuf[i + 1] == 0xBB) i += 3;
            while (i < ds->slen && isspace(ds->sbuf[i])) i++;
            c = i < ds->slen ? ds->sbuf[i] : c;
        }
        if (c == '[') ds->fmt = WD_DATASET_FORMAT_JSON;
        else if (c == '{') ds->fmt = ds->records_path ? WD_DATASET_FORMAT_JSON : WD_DATASET_FORMAT_JSONL;
        else ds->fmt = WD_DATASET_FORMAT_TEXT;
    }
    if (ds->records_path && ds->fmt != WD_DATASET_FORMAT_JSON) {
        st = wd__fail(WD_ERR_INVALID_ARG, "%s: a records path ('%s') needs JSON input, not %s",
                      ds->name, ds->records_path, wd_dataset_format_name(ds->fmt));
        wd_dataset_free(ds);
        return st;
    }
    if (ds->fmt == WD_DATASET_FORMAT_CSV || ds->fmt == WD_DATASET_FORMAT_TSV) {
        if ((st = read_header(ds))) {
            wd__fail(st, "%s", wd__err_msg(&ds->err));
            wd_dataset_free(ds);
            return st;
        }
    } else if (ds->fmt == WD_DATASET_FORMAT_TEXT) {
        /* Skip a BOM at the start. */
        if (src_peek(ds) == 0xEF) {
            src_getc(ds);
            src_getc(ds);
            src_getc(ds);
        }
        if (ds->label_field && ds->fixed_label == WD_LABEL_UNKNOWN) {
            st = wd__fail(WD_ERR_INVALID_ARG,
                          "%s: a text file (one item a line) has no label field; give a label for "
                          "the whole file (--label harmful|benign)",
                          ds->name);
            wd_dataset_free(ds);
            return st;
        }
    }
    *out = ds;
    return WD_OK;
}

wd_status wd_dataset_open(const char *path, const wd_dataset_params *params, wd_dataset **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_dataset_open: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_dataset_open: path is NULL");
    wd_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return wd__fail(WD_ERR_NOMEM, "out of memory");
    ds->name = strdup(path);
    ds->sbuf = malloc(SRC_BUF);
    if (!ds->name || !ds->sbuf) {
        wd_dataset_free(ds);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        wd_dataset_free(ds);
        return wd__fail(WD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    fclose(probe);
    /* gzopen reads gzip data by its magic bytes and anything else unchanged. */
    ds->gz = gzopen(path, "rb");
    if (!ds->gz) {
        wd_dataset_free(ds);
        return wd__fail(WD_ERR_IO, "%s: cannot open", path);
    }
    gzbuffer(ds->gz, 128u << 10);
    if (src_fill(ds) < 0) {
        wd_status st = wd__fail(WD_ERR_IO, "%s", wd__err_msg(&ds->err));
        wd_dataset_free(ds);
        return st;
    }
    return open_common(ds, params, out);
}

wd_status wd_dataset_open_mem(const void *data, size_t len, const char *name,
                              const wd_dataset_params *params, wd_dataset **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_dataset_open_mem: out is NULL");
    *out = NULL;
    if (!data && len) return wd__fail(WD_ERR_INVALID_ARG, "wd_dataset_open_mem: data is NULL");
    wd_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return wd__fail(WD_ERR_NOMEM, "out of memory");
    ds->name = strdup(name ? name : "(memory)");
    if (!ds->name) {
        wd_dataset_free(ds);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    ds->mem = data ? data : (const unsigned char *)"";
    ds->mem_len = len;
    if (len >= 2 && ds->mem[0] == 0x1f && ds->mem[1] == 0x8b) {
        wd_dataset_free(ds);
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: gzip data in memory is not supported; open the file",
                        name ? name : "(memory)");
    }
    return open_common(ds, params, out);
}

wd_status wd_dataset_next(wd_dataset *ds, const wd_dataset_item **item) {
    if (!item) return WD_ERR_INVALID_ARG;
    *item = NULL;
    if (!ds) return wd__fail(WD_ERR_INVALID_ARG, "wd_dataset_next: ds is NULL");
    if (ds->failed) return ds->err.status ? ds->err.status : WD_ERR_INTERNAL;
    for (;;) {
        cJSON_Delete(ds->cur_json);
        ds->cur_json = NULL;
        memset(&ds->item, 0, sizeof ds->item);
        ds->item.label = ds->fixed_label;
        ds->item.record = ds->n_records;
        size_t line = ds->line;
        int r;
        wd_status st = WD_OK;
        switch (ds->fmt) {
        case WD_DATASET_FORMAT_CSV: r = read_csv_record(ds, ','); break;
        case WD_DATASET_FORMAT_TSV: r = read_tsv_record(ds); break;
        case WD_DATASET_FORMAT_JSON: r = read_json_record(ds, &line); break;
        default: r = read_line(ds); break;
        }
        if (r < 0) {
            ds->failed = 1;
            return (wd_status)r;
        }
        if (r == 0) return WD_OK;
        ds->item.line = ds->fmt == WD_DATASET_FORMAT_JSON ? 0 : line;
        ds->n_records++;
        switch (ds->fmt) {
        case WD_DATASET_FORMAT_CSV:
        case WD_DATASET_FORMAT_TSV:
            if (ds->n_fields == 1 && field_at(ds, 0)[0] == '\0') continue; /* blank line */
            st = item_from_fields(ds);
            break;
        case WD_DATASET_FORMAT_TEXT:
            if (is_blank(ds->rec.p)) continue;
            ds->item.text = ds->rec.p;
            break;
        case WD_DATASET_FORMAT_JSONL:
            if (is_blank(ds->rec.p)) continue;
            /* fallthrough */
        case WD_DATASET_FORMAT_JSON: {
            char w[600];
            where(ds, w, sizeof w);
            ds->cur_json = wd__json_parse_strict(ds->rec.p, ds->rec.n, w, 0, NULL);
            if (!ds->cur_json) {
                ds->failed = 1;
                return wd__err_take(&ds->err, WD_ERR_FORMAT);
            }
            st = item_from_json(ds, ds->cur_json);
            break;
        }
        default: st = WD_ERR_INTERNAL; break;
        }
        if (st) {
            ds->failed = 1;
            return st;
        }
        ds->item.text_len = strlen(ds->item.text);
        if (ds->skip_empty && is_blank(ds->item.text)) continue;
        ds->item.index = ds->n_items++;
        *item = &ds->item;
        return WD_OK;
    }
}
