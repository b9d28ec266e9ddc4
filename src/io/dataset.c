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
 *   csv   a state machine that may span lines           (io/dataset_csv.c)
 *   tsv   one line, split on TAB                        (io/dataset_csv.c)
 *   jsonl one line, parsed with cJSON                   (io/dataset_json.c)
 *   json  a streaming scanner down records_path, one
 *         element parsed at a time                      (io/dataset_json.c)
 *   text  one line
 *
 * This file owns the object and its public API, format detection, the byte
 * source and record buffer, labels and the item helpers that every format
 * shares (io/dataset_internal.h).
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
#include "io/dataset_internal.h"

/* ==== byte source ======================================================= */

int wd__dataset_src_fill(wd_dataset *ds) {
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

/* ==== record buffer ===================================================== */

wd_status wd__dataset_nomem(wd_dataset *ds) {
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_NOMEM, "%s: out of memory", ds->name);
}

wd_status wd__dataset_too_big(wd_dataset *ds, size_t line) {
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_RANGE,
                       "%s:%zu: record %zu: larger than the limit of %zu bytes", ds->name, line,
                       ds->n_records, ds->max_record);
}

wd_status wd__dataset_nul_byte(wd_dataset *ds) {
    ds->failed = 1;
    return wd__err_set(&ds->err, WD_ERR_FORMAT,
                       "%s:%zu: record %zu: a NUL byte (0x00) in the data; text must not "
                       "hold NUL (a UTF-16 or binary file?)",
                       ds->name, ds->line, ds->n_records);
}

wd_status wd__dataset_field_begin(wd_dataset *ds) {
    if (ds->n_fields == ds->fcap) {
        size_t cap = ds->fcap ? ds->fcap * 2 : 16;
        if (cap > MAX_COLS + 1) cap = MAX_COLS + 1;
        if (ds->n_fields >= cap) {
            ds->failed = 1;
            return wd__err_set(&ds->err, WD_ERR_RANGE, "%s:%zu: more than %d fields", ds->name,
                               ds->line, MAX_COLS);
        }
        size_t *np = realloc(ds->fstart, cap * sizeof *np);
        if (!np) return wd__dataset_nomem(ds);
        ds->fstart = np;
        ds->fcap = cap;
    }
    ds->fstart[ds->n_fields++] = ds->rec.n;
    return WD_OK;
}

/* ==== lines (tsv, text, jsonl) (tsv, text, jsonl) ================================== */

int wd__dataset_read_line(wd_dataset *ds) {
    ds->rec.n = 0;
    if (!wd__strbuf_reserve(&ds->rec, 0)) return wd__dataset_nomem(ds);
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

int wd__dataset_is_blank(const char *s) {
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* ==== labels and items ================================================= */

const char *const wd__dataset_default_text_fields[] = {
    "text", "prompt", "goal", "instruction", "forbidden_prompt", "prompt_text",
    "mutated_prompt", "question", "query", "input", "content", "instance", "user_input", NULL};

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
void wd__dataset_where(const wd_dataset *ds, char *out, size_t n) {
    if (ds->item.line) snprintf(out, n, "%s:%zu: record %zu", ds->name, ds->item.line, ds->item.record);
    else snprintf(out, n, "%s: record %zu", ds->name, ds->item.record);
}

wd_status wd__dataset_field_error(wd_dataset *ds, wd_status st, const char *field, const char *fmt,
                             const char *arg) {
    char w[600], msg[600];
    wd__dataset_where(ds, w, sizeof w);
    snprintf(msg, sizeof msg, fmt, arg);
    ds->failed = 1;
    return wd__err_set(&ds->err, st, "%s: field '%s': %s", w, field, msg);
}

wd_status wd__dataset_set_label(wd_dataset *ds, const char *value) {
    if (ds->fixed_label != WD_LABEL_UNKNOWN) return WD_OK;
    if (!ds->label_field) return WD_OK;
    if (!value) return wd__dataset_field_error(ds, WD_ERR_NOT_FOUND, ds->label_field, "%s", "missing");
    wd_label l;
    if (wd_label_parse(value, &l)) {
        char tmp[200];
        snprintf(tmp, sizeof tmp, "%.120s", value);
        return wd__dataset_field_error(ds, WD_ERR_FORMAT, ds->label_field,
                           "cannot read '%s' as a label (expected harmful/benign, unsafe/safe, "
                           "true/false, yes/no, 1/0; other numbers are not labels)",
                           tmp);
    }
    ds->item.label = l;
    return WD_OK;
}

wd_status wd__dataset_add_category(wd_dataset *ds, const char *code) {
    while (isspace((unsigned char)*code)) code++;
    if (!*code) return WD_OK;
    wd_catmask m;
    if (wd_taxonomy_map(ds->category_scheme, code, &m)) {
        char tmp[400];
        snprintf(tmp, sizeof tmp, "%.300s", wd_last_error());
        return wd__dataset_field_error(ds, WD_ERR_FORMAT, ds->category_field, "%s", tmp);
    }
    ds->item.categories |= m;
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

uint64_t wd_dataset_offset(const wd_dataset *ds) {
    if (!ds) return 0;
    if (ds->mem) return ds->mem_pos;
    z_off_t off = ds->gz ? gzoffset(ds->gz) : 0;
    return off > 0 ? (uint64_t)off : 0;
}

const char *wd_dataset_last_error(const wd_dataset *ds) { return ds ? wd__err_msg(&ds->err) : ""; }

/* Frees the strings wd_dataset_field made for the current record. */
static void clear_scratch(wd_dataset *ds) {
    for (size_t i = 0; i < ds->n_scratch; i++) free(ds->scratch[i]);
    ds->n_scratch = 0;
}

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
    wd__strbuf_free(&ds->rec);
    free(ds->fstart);
    for (size_t i = 0; i < ds->n_cols; i++) free(ds->cols[i]);
    free(ds->cols);
    cJSON_Delete(ds->cur_json);
    free(ds->label_str);
    free(ds->id_str);
    free(ds->cat_str);
    clear_scratch(ds);
    free(ds->scratch);
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
        if ((st = wd__dataset_read_header(ds))) {
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
    if (wd__dataset_src_fill(ds) < 0) {
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
        clear_scratch(ds);
        memset(&ds->item, 0, sizeof ds->item);
        ds->item.label = ds->fixed_label;
        ds->item.record = ds->n_records;
        size_t line = ds->line;
        int r;
        wd_status st = WD_OK;
        switch (ds->fmt) {
        case WD_DATASET_FORMAT_CSV: r = wd__dataset_read_csv(ds, ','); break;
        case WD_DATASET_FORMAT_TSV: r = wd__dataset_read_tsv(ds); break;
        case WD_DATASET_FORMAT_JSON: r = wd__dataset_read_json(ds, &line); break;
        default: r = wd__dataset_read_line(ds); break;
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
            st = wd__dataset_item_from_fields(ds);
            break;
        case WD_DATASET_FORMAT_TEXT:
            if (wd__dataset_is_blank(ds->rec.p)) continue;
            ds->item.text = ds->rec.p;
            break;
        case WD_DATASET_FORMAT_JSONL:
            if (wd__dataset_is_blank(ds->rec.p)) continue;
            /* fallthrough */
        case WD_DATASET_FORMAT_JSON: {
            char w[600];
            wd__dataset_where(ds, w, sizeof w);
            ds->cur_json = wd__json_parse_strict(ds->rec.p, ds->rec.n, w, 0, NULL);
            if (!ds->cur_json) {
                ds->failed = 1;
                return wd__err_take(&ds->err, WD_ERR_FORMAT);
            }
            st = wd__dataset_item_from_json(ds, ds->cur_json);
            break;
        }
        default: st = WD_ERR_INTERNAL; break;
        }
        if (st) {
            ds->failed = 1;
            return st;
        }
        ds->item.text_len = strlen(ds->item.text);
        if (ds->skip_empty && wd__dataset_is_blank(ds->item.text)) continue;
        ds->item.index = ds->n_items++;
        *item = &ds->item;
        return WD_OK;
    }
}

const char *wd_dataset_record_json(wd_dataset *ds) {
    if (!ds || ds->failed || !ds->item.text) return NULL;
    if (ds->fmt != WD_DATASET_FORMAT_JSON && ds->fmt != WD_DATASET_FORMAT_JSONL) return NULL;
    return wd__dataset_json_record(ds);
}

const char *wd_dataset_field(wd_dataset *ds, const char *name) {
    if (!ds || !name || ds->failed || !ds->item.text) return NULL;
    switch (ds->fmt) {
    case WD_DATASET_FORMAT_CSV:
    case WD_DATASET_FORMAT_TSV: return wd__dataset_csv_field(ds, name);
    case WD_DATASET_FORMAT_JSON:
    case WD_DATASET_FORMAT_JSONL: return wd__dataset_json_field(ds, name);
    default: return NULL;
    }
}
