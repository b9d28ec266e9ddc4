/*
 * io/dataset_csv.c - the dataset reader's CSV (RFC 4180) and TSV records,
 * the header row and record -> item (warden/dataset.h).
 *
 *   csv   a state machine (field / quoted / quote-seen) that may span lines;
 *         fields are NUL-separated in rec, fstart[] their offsets
 *   tsv   one line, split on TAB, no quoting
 *
 * Strict unless ds->lenient: a quote inside an unquoted field, text after a
 * closing quote and a row whose field count differs from the header's are
 * errors (readers disagree on them).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "io/dataset_internal.h"

/* ==== reader: CSV (RFC 4180) ============================================= */

/* Reads one CSV record into rec as NUL-separated fields. Returns 1 with a
 * record, 0 at the end, negative on error. A blank line is a record with
 * one empty field (the caller skips it). */
int wd__dataset_read_csv(wd_dataset *ds, char delim) {
    ds->rec.n = 0;
    ds->n_fields = 0;
    size_t line = ds->line;
    int c = src_getc(ds);
    if (c < 0) return ds->failed ? ds->err.status : 0;
    wd_status st = wd__dataset_field_begin(ds);
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
            if ((st = field_end(ds, line)) || (st = wd__dataset_field_begin(ds))) return st;
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

int wd__dataset_read_tsv(wd_dataset *ds) {
    int r = wd__dataset_read_line(ds);
    if (r <= 0) return r;
    /* Split in place: each TAB becomes the NUL that ends a field. */
    ds->n_fields = 0;
    wd_status st = wd__dataset_field_begin(ds); /* rec.n is the line's length: fix the offset below */
    if (st) return st;
    ds->fstart[0] = 0;
    size_t n = ds->rec.n;
    for (size_t i = 0; i < n; i++) {
        if (ds->rec.p[i] != '\t') continue;
        ds->rec.p[i] = '\0';
        if ((st = wd__dataset_field_begin(ds))) return st;
        ds->fstart[ds->n_fields - 1] = i + 1;
    }
    return 1;
}

/* ==== header and records -> items ======================================= */

static int find_col(const wd_dataset *ds, const char *name) {
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

wd_status wd__dataset_read_header(wd_dataset *ds) {
    int r = ds->fmt == WD_DATASET_FORMAT_CSV ? wd__dataset_read_csv(ds, ',') : wd__dataset_read_tsv(ds);
    if (r < 0) return (wd_status)r;
    if (r == 0) {
        ds->failed = 1;
        return wd__err_set(&ds->err, WD_ERR_FORMAT, "%s: empty file (expected a header row)", ds->name);
    }
    ds->cols = calloc(ds->n_fields, sizeof *ds->cols);
    if (!ds->cols) return wd__dataset_nomem(ds);
    ds->n_cols = ds->n_fields;
    for (size_t i = 0; i < ds->n_fields; i++) {
        const char *f = field_at(ds, i);
        if (i == 0 && (unsigned char)f[0] == 0xEF && (unsigned char)f[1] == 0xBB &&
            (unsigned char)f[2] == 0xBF)
            f += 3;
        if (!(ds->cols[i] = strdup(f))) return wd__dataset_nomem(ds);
    }
    if (ds->text_field) {
        if ((ds->col_text = find_col(ds, ds->text_field)) < 0) return missing_col(ds, "text", ds->text_field);
    } else {
        ds->col_text = -1;
        for (int i = 0; wd__dataset_default_text_fields[i] && ds->col_text < 0; i++)
            ds->col_text = find_col(ds, wd__dataset_default_text_fields[i]);
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

wd_status wd__dataset_item_from_fields(wd_dataset *ds) {
    if (!ds->lenient && ds->n_fields != ds->n_cols) {
        char w[600];
        wd__dataset_where(ds, w, sizeof w);
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
            return wd__dataset_field_error(ds, WD_ERR_FORMAT, names[k],
                               "missing (the record has only %s fields)", tmp);
        }
    ds->item.text = field_at(ds, (size_t)ds->col_text);
    wd_status st;
    if (ds->col_label >= 0 && (st = wd__dataset_set_label(ds, field_at(ds, (size_t)ds->col_label)))) return st;
    if (ds->col_cat >= 0) {
        ds->item.category_raw = field_at(ds, (size_t)ds->col_cat);
        if ((st = wd__dataset_add_category(ds, ds->item.category_raw))) return st;
    }
    if (ds->col_id >= 0) ds->item.id = field_at(ds, (size_t)ds->col_id);
    return WD_OK;
}


const char *wd__dataset_csv_field(wd_dataset *ds, const char *name) {
    int c = find_col(ds, name);
    return c >= 0 && (size_t)c < ds->n_fields ? field_at(ds, (size_t)c) : NULL;
}

size_t wd_dataset_n_columns(const wd_dataset *ds) { return ds ? ds->n_cols : 0; }

const char *wd_dataset_column(const wd_dataset *ds, size_t i) {
    return ds && i < ds->n_cols ? ds->cols[i] : NULL;
}

static int is_delimited(const wd_dataset *ds) {
    return ds && !ds->failed && ds->item.text &&
           (ds->fmt == WD_DATASET_FORMAT_CSV || ds->fmt == WD_DATASET_FORMAT_TSV);
}

size_t wd_dataset_n_fields(const wd_dataset *ds) { return is_delimited(ds) ? ds->n_fields : 0; }

const char *wd_dataset_field_at(const wd_dataset *ds, size_t i) {
    return is_delimited(ds) && i < ds->n_fields ? field_at(ds, i) : NULL;
}
