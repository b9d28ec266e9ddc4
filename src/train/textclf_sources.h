/*
 * train/textclf_sources.h - what the two files of per-source readers share
 * (train/textclf_sources.c: the reading helpers, the weak hazard labels and
 * the sets of the v1 model; train/textclf_sources_v2.c: the sets added
 * 2026-12-06).
 *
 * Every file is read through the one dataset reader (warden/dataset.h):
 * CSV and TSV as rows of fields, plain text by lines, JSON and JSON Lines
 * as records. Only the few JSON documents that are trees rather than
 * lists of records (HarmfulQA and CatQA {category: {subcategory: [...]}},
 * BIPIA's {category: [attack, ...]}) are walked with cJSON directly.
 */
#ifndef WD_TRAIN_TEXTCLF_SOURCES_H
#define WD_TRAIN_TEXTCLF_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "train/textclf_train.h"
#include "warden/dataset.h"

/* Label bits used by the tables of both files. */
#define H   (1u << WD_TEXTCLF_LABEL_HARMFUL)
#define PI  (1u << WD_TEXTCLF_LABEL_PI)
#define S10 (1u << (WD_TEXTCLF_LABEL_S1 + WD_CATEGORY_S10))

/* Called with each row of a CSV/TSV file: its fields (at most 256; a short
 * row has fewer than the header) and the file's name for messages. */
typedef wd_status (*wd__textclf_row_fn)(void *ctx, char **fields, size_t n_fields, const char *where);

/* Calls fn with every row of a CSV or TSV file (fmt), after the header;
 * with_header: the header row first too. The files are read leniently
 * (a stray quote is text, a short row is passed as it is: the callers skip
 * rows that lack their columns). */
wd_status wd__textclf_read_rows(const char *path, wd_dataset_format fmt, int with_header,
                                wd__textclf_row_fn fn, void *ctx);

/* Opens a JSON (fmt WD_DATASET_FORMAT_JSON, records at records_path, NULL = the
 * top-level array) or JSON Lines file whose texts are in text_field (NULL:
 * the records are strings). */
wd_status wd__textclf_open_records(const char *path, wd_dataset_format fmt, const char *text_field,
                                   const char *records_path, wd_dataset **out);
/* wd_dataset_next, with the reader's message moved to wd_last_error(). */
wd_status wd__textclf_next_record(wd_dataset *ds, const wd_dataset_item **it);

/* A CSV source with one text column and an optional category column. */
typedef struct wd__textclf_csv_ctx {
    wd_textclf_dataset *d;
    int                 src;
    int                 col;     /* column of the text             */
    int                 cat_col; /* column of a category, or -1     */
    const char         *scheme;  /* taxonomy of cat_col             */
    uint32_t            pos, known;
} wd__textclf_csv_ctx;

/* The wd__textclf_row_fn of such a source (ctx: a wd__textclf_csv_ctx). */
wd_status wd__textclf_on_csv_row(void *ctx, char **f, size_t nf, const char *where);

/* Adds an example, then weak hazard labels (cue words) when it is a
 * harmful ship-ok example whose source gave no hazard. */
wd_status wd__textclf_add_weak(wd_textclf_dataset *d, int src, const char *text, size_t len,
                               uint32_t pos, uint32_t known);
/* True when stem occurs in text at the start of a word. */
int wd__textclf_has_stem(const char *text, size_t len, const char *stem);

/* Reads the sets added 2026-12-06 under dir; counts the files found in
 * *found. */
wd_status wd__textclf_load_v2(wd_textclf_dataset *d, const char *dir, int with_eval, size_t *found);
/* The benign instruction sets of v2 alone (self-instruct, awesome-prompts). */
wd_status wd__textclf_load_instructions(wd_textclf_dataset *d, const char *dir, size_t *found);

#endif
