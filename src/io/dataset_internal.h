/*
 * io/dataset_internal.h - what the dataset reader's files share: the
 * dataset object, the buffered byte source, the record buffer and the
 * item helpers (io/dataset.c), used by the format readers
 * (io/dataset_csv.c: CSV and TSV; io/dataset_json.c: JSON and JSONL).
 *
 * Invariants: rec never exceeds max_record (else WD_ERR_RANGE); it never
 * holds a NUL byte of the data (rec_put refuses it); line counts every
 * '\n' consumed from the source, so errors can name the line where the
 * record started.
 */
#ifndef WD_IO_DATASET_INTERNAL_H
#define WD_IO_DATASET_INTERNAL_H

#include <stdlib.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "warden/dataset.h"

#define SRC_BUF (64u << 10)
#define MAX_COLS 4096

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
    wd__strbuf rec;  /* the record's bytes (fields NUL-separated) */
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
    char          **scratch;   /* wd_dataset_field's strings of the record */
    size_t          n_scratch, scratch_cap;
    wd_dataset_item item;
    size_t          n_items, n_records;
    int             failed;
};

/* ==== byte source (io/dataset.c) ======================================= */

/* Refills the source buffer: 1 with bytes, 0 at the end, -1 on an error
 * (ds->failed set). */
int wd__dataset_src_fill(wd_dataset *ds);

static inline int src_getc(wd_dataset *ds) {
    if (ds->mem) {
        if (ds->mem_pos >= ds->mem_len) return -1;
        int c = ds->mem[ds->mem_pos++];
        if (c == '\n') ds->line++;
        return c;
    }
    if (ds->spos >= ds->slen && wd__dataset_src_fill(ds) <= 0) return -1;
    int c = ds->sbuf[ds->spos++];
    if (c == '\n') ds->line++;
    return c;
}

static inline int src_peek(wd_dataset *ds) {
    if (ds->mem) return ds->mem_pos < ds->mem_len ? ds->mem[ds->mem_pos] : -1;
    if (ds->spos >= ds->slen && wd__dataset_src_fill(ds) <= 0) return -1;
    return ds->sbuf[ds->spos];
}

/* ==== record buffer (io/dataset.c) ===================================== */

/* Set the error and return it (ds->failed set). */
wd_status wd__dataset_nomem(wd_dataset *ds);
wd_status wd__dataset_too_big(wd_dataset *ds, size_t line);
wd_status wd__dataset_nul_byte(wd_dataset *ds);

/* Appends the byte c to rec, checking the limit (inline: once per byte). */
static inline wd_status rec_put_byte(wd_dataset *ds, char c, size_t line) {
    wd__strbuf *b = &ds->rec;
    if (b->n >= ds->max_record) return wd__dataset_too_big(ds, line);
    if (b->n + 2 > b->cap && !wd__strbuf_reserve(b, 1)) return wd__dataset_nomem(ds);
    b->p[b->n++] = c;
    b->p[b->n] = '\0';
    return WD_OK;
}

/* Appends a byte of the data to rec. A NUL byte is refused: every later
 * step reads the text as a C string, so the guard would see it cut at the
 * NUL (and a file full of NULs is UTF-16 or binary, not text). */
static inline wd_status rec_put(wd_dataset *ds, char c, size_t line) {
    if (c == '\0') return wd__dataset_nul_byte(ds);
    return rec_put_byte(ds, c, line);
}

/* Starts a field at the end of rec (csv/tsv: fields are offsets into rec). */
wd_status wd__dataset_field_begin(wd_dataset *ds);

/* Fields are NUL-separated in rec: ends a field. */
static inline wd_status field_end(wd_dataset *ds, size_t line) { return rec_put_byte(ds, '\0', line); }

static inline const char *field_at(const wd_dataset *ds, size_t i) { return ds->rec.p + ds->fstart[i]; }

/* Reads one physical line (without '\n' and a trailing '\r') into rec.
 * Returns 1 with a line, 0 at the end, or a negative status. */
int wd__dataset_read_line(wd_dataset *ds);
/* True when s holds only white space. */
int wd__dataset_is_blank(const char *s);

/* ==== items (io/dataset.c) ============================================== */

/* Text fields tried in order when none is named (NULL-terminated). */
extern const char *const wd__dataset_default_text_fields[];

/* Where an error in the current record happened: "file:line: record N". */
void wd__dataset_where(const wd_dataset *ds, char *out, size_t n);
/* Sets "<where>: field 'field': <fmt with arg>" as ds's error; returns st. */
wd_status wd__dataset_field_error(wd_dataset *ds, wd_status st, const char *field, const char *fmt,
                                  const char *arg);
/* Sets the item's label from a label field's value (no-op with a fixed label). */
wd_status wd__dataset_set_label(wd_dataset *ds, const char *value);
/* Adds the canonical categories of one category code to the item. */
wd_status wd__dataset_add_category(wd_dataset *ds, const char *code);

/* ==== format readers ==================================================== */

/* Each reads one record into rec: 1 with a record, 0 at the end, negative
 * on error. */
int wd__dataset_read_csv(wd_dataset *ds, char delim); /* dataset_csv.c  */
int wd__dataset_read_tsv(wd_dataset *ds);             /* dataset_csv.c  */
int wd__dataset_read_json(wd_dataset *ds, size_t *line); /* dataset_json.c */

/* Reads the csv/tsv header row and finds the named columns. */
wd_status wd__dataset_read_header(wd_dataset *ds);
/* Fills the item from the csv/tsv fields in rec. */
wd_status wd__dataset_item_from_fields(wd_dataset *ds);
/* Fills the item from a parsed JSON record (kept in ds->cur_json). */
wd_status wd__dataset_item_from_json(wd_dataset *ds, cJSON *obj);

/* The current record's value of a column (csv/tsv) or of a field path
 * (json/jsonl), or NULL; see wd_dataset_field. */
const char *wd__dataset_csv_field(wd_dataset *ds, const char *name);
const char *wd__dataset_json_field(wd_dataset *ds, const char *path);
/* The current record as compact JSON (scratch-owned), NULL when none. */
const char *wd__dataset_json_record(wd_dataset *ds);

#endif
