/*
 * explain/audit_scrub.c - `warden audit --scrub OUT`: the corpus file
 * written again with its texts redacted by the PII guard, in the input's
 * format:
 *   jsonl   each record's object, one a line (keys in their order)
 *   json    a JSON array of the records (the records only: an object
 *           around the array, records_path, is not kept)
 *   csv     the header row, then each row, fields quoted when they hold
 *           a comma, a quote or a line break (RFC 4180)
 *   tsv     the header row, then each row, fields joined by TAB
 *   text    one text a line
 * Every field whose value equals the record's text as read (a string) is
 * replaced by the redacted text: the text field, and any copy of it. Other
 * fields are written as they were (json/jsonl: numbers as cJSON prints
 * them). A text with invalid UTF-8 is redacted and written with U+FFFD for
 * the bad bytes. gzip-compressed when OUT ends in ".gz".
 *
 * The file is written to a temporary beside OUT and renamed into place on
 * commit (base/file.h): a failed run leaves no partial file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "base/file.h"
#include "base/json.h"
#include "explain/audit_internal.h"

struct wd__scrub {
    wd__atomic_file   af;
    gzFile            gz;
    wd_dataset_format fmt;
    size_t            n_written;
    bool              failed;
};

static void put(wd__scrub *s, const char *p, size_t n) {
    if (s->failed || !n) return;
    if (s->gz) s->failed = gzwrite(s->gz, p, (unsigned)n) != (int)n;
    else s->failed = fwrite(p, 1, n, s->af.fp) != n;
}

static void puts_(wd__scrub *s, const char *p) { put(s, p, strlen(p)); }

static void put_csv_field(wd__scrub *s, const char *f) {
    if (!strpbrk(f, ",\"\r\n")) {
        puts_(s, f);
        return;
    }
    put(s, "\"", 1);
    for (const char *q; (q = strchr(f, '"')); f = q + 1) {
        put(s, f, (size_t)(q - f));
        put(s, "\"\"", 2);
    }
    puts_(s, f);
    put(s, "\"", 1);
}

static void put_row(wd__scrub *s, char *const *fields, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) put(s, s->fmt == WD_DATASET_FORMAT_TSV ? "\t" : ",", 1);
        if (s->fmt == WD_DATASET_FORMAT_TSV) puts_(s, fields[i] ? fields[i] : "");
        else put_csv_field(s, fields[i] ? fields[i] : "");
    }
    put(s, "\n", 1);
}

wd_status wd__scrub_open(const char *path, wd_dataset *ds, wd__scrub **out) {
    *out = NULL;
    wd__scrub *s = calloc(1, sizeof *s);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    s->fmt = wd_dataset_format_of(ds);
    wd_status st = wd__atomic_open(&s->af, path);
    if (st) {
        free(s);
        return st;
    }
    size_t n = strlen(path);
    if (n > 3 && !strcasecmp(path + n - 3, ".gz")) {
        int fd = dup(fileno(s->af.fp));
        s->gz = fd >= 0 ? gzdopen(fd, "wb") : NULL;
        if (!s->gz) {
            if (fd >= 0) close(fd);
            wd__atomic_abort(&s->af);
            free(s);
            return wd__fail(WD_ERR_IO, "%s: cannot start the gzip stream", path);
        }
    }
    if (s->fmt == WD_DATASET_FORMAT_CSV || s->fmt == WD_DATASET_FORMAT_TSV) {
        size_t nc = wd_dataset_n_columns(ds);
        char **cols = malloc((nc + 1) * sizeof *cols);
        if (!cols) {
            wd__scrub_abort(s);
            return wd__fail(WD_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < nc; i++) cols[i] = (char *)wd_dataset_column(ds, i);
        put_row(s, cols, nc);
        free(cols);
    } else if (s->fmt == WD_DATASET_FORMAT_JSON) {
        puts_(s, "[");
    }
    *out = s;
    return WD_OK;
}

wd_status wd__scrub_capture(wd__scrub *s, wd_dataset *ds, wd__scrub_rec *r) {
    memset(r, 0, sizeof *r);
    if (s->fmt == WD_DATASET_FORMAT_CSV || s->fmt == WD_DATASET_FORMAT_TSV) {
        size_t n = wd_dataset_n_fields(ds);
        r->fields = calloc(n ? n : 1, sizeof *r->fields);
        if (!r->fields) return wd__fail(WD_ERR_NOMEM, "out of memory");
        r->n_fields = n;
        for (size_t i = 0; i < n; i++)
            if (!(r->fields[i] = strdup(wd_dataset_field_at(ds, i) ? wd_dataset_field_at(ds, i) : ""))) {
                wd__scrub_rec_free(r);
                return wd__fail(WD_ERR_NOMEM, "out of memory");
            }
    } else if (s->fmt == WD_DATASET_FORMAT_JSON || s->fmt == WD_DATASET_FORMAT_JSONL) {
        /* the whole record, whatever its type (a string record stays a string) */
        const char *whole = wd_dataset_record_json(ds);
        if (!whole || !(r->obj = cJSON_Parse(whole))) return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    return WD_OK;
}

void wd__scrub_rec_free(wd__scrub_rec *r) {
    free(r->orig);
    for (size_t i = 0; i < r->n_fields; i++) free(r->fields[i]);
    free(r->fields);
    cJSON_Delete(r->obj);
    memset(r, 0, sizeof *r);
}

/* Replaces every string equal to text or orig inside o by red. */
static bool replace_json(cJSON *o, const char *text, const char *orig, const char *red) {
    cJSON *c;
    cJSON_ArrayForEach(c, o) {
        if (cJSON_IsString(c) && (!strcmp(c->valuestring, text) || !strcmp(c->valuestring, orig))) {
            char *d = strdup(red);
            if (!d) return false;
            free(c->valuestring);
            c->valuestring = d;
        } else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && !replace_json(c, text, orig, red)) {
            return false;
        }
    }
    return true;
}

wd_status wd__scrub_write(wd__scrub *s, wd__scrub_rec *r, const char *text, const char *redacted) {
    const char *red = redacted ? redacted : text;
    /* a field matches the text as analysed (json/jsonl records are re-read
     * with invalid UTF-8 replaced) or as read (csv/tsv fields keep it) */
    const char *orig = r->orig ? r->orig : text;
    wd_status st = WD_OK;
    switch (s->fmt) {
    case WD_DATASET_FORMAT_CSV:
    case WD_DATASET_FORMAT_TSV:
        for (size_t i = 0; i < r->n_fields && redacted; i++)
            if (!strcmp(r->fields[i], text) || !strcmp(r->fields[i], orig)) {
                char *d = strdup(red);
                if (!d) {
                    st = WD_ERR_NOMEM;
                    break;
                }
                free(r->fields[i]);
                r->fields[i] = d;
            }
        if (!st) put_row(s, r->fields, r->n_fields);
        break;
    case WD_DATASET_FORMAT_JSON:
    case WD_DATASET_FORMAT_JSONL: {
        cJSON top = {.child = r->obj}; /* the record itself may be the string */
        if (redacted && !replace_json(&top, text, orig, red)) {
            st = WD_ERR_NOMEM;
            break;
        }
        char *line = wd__json_print(r->obj, false);
        if (!line) {
            st = WD_ERR_NOMEM;
            break;
        }
        if (s->fmt == WD_DATASET_FORMAT_JSON) puts_(s, s->n_written ? ",\n" : "\n");
        puts_(s, line);
        if (s->fmt == WD_DATASET_FORMAT_JSONL) put(s, "\n", 1);
        free(line);
        break;
    }
    default:
        puts_(s, red);
        put(s, "\n", 1);
        break;
    }
    wd__scrub_rec_free(r);
    s->n_written++;
    if (st) return wd__fail(st, "out of memory");
    return s->failed ? wd__fail(WD_ERR_IO, "%s: write failed", s->af.path) : WD_OK;
}

wd_status wd__scrub_commit(wd__scrub *s) {
    if (s->fmt == WD_DATASET_FORMAT_JSON) puts_(s, "\n]\n");
    if (s->gz && gzclose(s->gz) != Z_OK) s->failed = true;
    s->gz = NULL;
    if (s->failed) {
        wd_status st = wd__fail(WD_ERR_IO, "%s: write failed", s->af.path);
        wd__scrub_abort(s);
        return st;
    }
    wd_status st = wd__atomic_commit(&s->af);
    free(s);
    return st;
}

void wd__scrub_abort(wd__scrub *s) {
    if (!s) return;
    if (s->gz) gzclose(s->gz);
    wd__atomic_abort(&s->af);
    free(s);
}
