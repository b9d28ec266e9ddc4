/*
 * warden/dataset.h - the one dataset reader used by every command
 * (`eval`, `attack`, `redteam`, training).
 *
 * Formats (chosen by wd_dataset_params.format, or detected):
 *   csv    RFC 4180: a header row names the columns; fields may be quoted
 *          ("a, ""b""" ...) and quoted fields may hold newlines; CRLF or LF;
 *          a UTF-8 byte-order mark is skipped.
 *   tsv    a header row, then one record a line, fields split on TAB, no
 *          quoting (the IANA text/tab-separated-values convention).
 *   jsonl  one JSON object a line (blank lines skipped).
 *   json   a JSON array of objects, or an object that holds such an array
 *          under a path (records_path, e.g. "instances"). The array is read
 *          element by element: a large file never sits in memory as one tree.
 *   text   one item a line (blank lines skipped); the whole line is the text.
 * Any of them may be gzip-compressed: compression is detected from the magic
 * bytes (1f 8b), not from the name.
 *
 * Detection (format = WD_DATASET_FORMAT_AUTO): the name's extension after removing
 * ".gz" (.csv .tsv .jsonl/.ndjson .json .txt); otherwise the first byte of the
 * content: '[' -> json, '{' -> jsonl (json when records_path is set),
 * anything else -> text.
 *
 * Field paths (JSON formats). A field is named by a dot-separated path of
 * object keys; a segment made only of digits indexes an array:
 *     "prompt"                        top-level key
 *     "annotations.toxicity.majority_human"
 *     "turns.0.content"               first element of the array "turns"
 * A key that itself holds dots is found when the whole path matches a key of
 * the top-level object exactly (tried first). A path of the form
 * "instances[].instance" means: the records are the elements of the array at
 * "instances", and the field is "instance" inside each; the prefix before
 * "[]" must be the same for every field given, and sets records_path.
 * For csv/tsv a field is a column name from the header row.
 *
 * Labels. An item's label is WD_LABEL_HARMFUL, WD_LABEL_BENIGN or
 * WD_LABEL_UNKNOWN. With fixed_label set, every item of the file gets it
 * (single-class sets: AdvBench is all harmful). Otherwise label_field is read:
 *   true / 1 / "1" "1.0" "true" "yes" "y" "harmful" "unsafe" "toxic"
 *   "malicious" "jailbreak" "hate" "flagged" "positive" "bad" "attack" -> harmful
 *   false / 0 / "0" "0.0" "false" "no" "n" "benign" "safe" "harmless"
 *   "non-toxic" "nontoxic" "neutral" "ok" "allowed" "negative" "good" "none"
 *                                                                  -> benign
 * (strings case-insensitive); anything else is an error naming the value,
 * other numbers included (-1, 2, 0.5, 1e3 are class indices or scores).
 *
 * Strictness. Input that readers could read in more than one way is an
 * error (file:line and the reason), not a guess: a NUL byte or a JSON
 * "\u0000" (texts are C strings), a JSON object naming a key twice, text
 * after a JSONL object or after the JSON value, a gzip stream cut before its
 * trailer, and, unless params.lenient is set, a CSV/TSV row whose field
 * count differs from the header's or a CSV quote inside an unquoted field
 * or after a closing quote.
 *
 * Categories. With category_field set, its value (a string, or an array of
 * strings; "," separates several codes in one string) is mapped onto the
 * canonical taxonomy with wd_taxonomy_map(category_scheme, code). An empty
 * value gives no categories; an unknown code is an error.
 *
 * Errors name the file, the line (for line-based formats; the record number
 * for json), the field and the reason, e.g.
 *     data.csv:17: record 16: field 'label': cannot read 'maybe' as a label
 */
#ifndef WARDEN_DATASET_H
#define WARDEN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/taxonomy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_dataset_format {
    WD_DATASET_FORMAT_AUTO = 0,
    WD_DATASET_FORMAT_CSV,
    WD_DATASET_FORMAT_TSV,
    WD_DATASET_FORMAT_JSONL,
    WD_DATASET_FORMAT_JSON,
    WD_DATASET_FORMAT_TEXT,
} wd_dataset_format;

typedef enum wd_label {
    WD_LABEL_UNKNOWN = -1,
    WD_LABEL_BENIGN  = 0,
    WD_LABEL_HARMFUL = 1,
} wd_label;

typedef struct wd_dataset_params {
    wd_dataset_format format;      /* AUTO: detect (see above)                      */
    const char *text_field;        /* NULL: "text", then "prompt", then the only
                                      column/key holding a string (csv: first column) */
    const char *label_field;       /* NULL: no per-item label                        */
    wd_label    fixed_label;       /* UNKNOWN (default): none; else every item's label */
    const char *category_field;    /* NULL: no categories                            */
    const char *category_scheme;   /* wd_taxonomy_map scheme; default "canonical"    */
    const char *id_field;          /* NULL: items are identified by their index      */
    const char *records_path;      /* json: path of the array of records; NULL: top level */
    size_t      max_record_bytes;  /* a record larger than this is an error; 0 = 16 MiB */
    int         skip_empty_text;   /* 1 (default): records whose text is empty are skipped */
    int         lenient;           /* 0 (default): a CSV/TSV row with another number of
                                      fields than the header, or a CSV quote inside an
                                      unquoted field or right after a closing quote, is an
                                      error; 1: such rows are read as most CSV readers do
                                      (quotes kept as text, extra fields ignored) */
} wd_dataset_params;

/* Defaults: AUTO format, no fields named, label UNKNOWN, scheme "canonical",
 * records of at most 16 MiB, empty texts skipped. */
wd_dataset_params wd_dataset_params_default(void);

/* One record. Every pointer is owned by the dataset and stays valid until the
 * next wd_dataset_next() or wd_dataset_free(). */
typedef struct wd_dataset_item {
    const char *text;        /* NUL-terminated UTF-8 (not validated here)     */
    size_t      text_len;
    wd_label    label;
    wd_catmask  categories;  /* canonical categories (0 when none)           */
    const char *category_raw;/* the category value as written, or NULL       */
    const char *id;          /* id_field's value, or NULL                     */
    size_t      index;       /* 0-based index among the items returned       */
    size_t      record;      /* 0-based record number in the file (counts skipped ones) */
    size_t      line;        /* 1-based line where the record starts; 0 for json */
} wd_dataset_item;

typedef struct wd_dataset wd_dataset;

/* Opens path for reading. Returns WD_OK and *out (free with wd_dataset_free);
 * on failure *out = NULL and wd_last_error() names the file and the reason
 * (WD_ERR_IO, WD_ERR_INVALID_ARG for bad params, WD_ERR_FORMAT for a bad
 * header or a missing column). Nothing but the header (and for json the
 * path to the records) is read yet. params may be NULL (defaults). The
 * strings in params are copied. */
wd_status wd_dataset_open(const char *path, const wd_dataset_params *params, wd_dataset **out);

/* Like wd_dataset_open, over len bytes of uncompressed data in memory (not
 * copied: it must outlive the dataset). name is used for format detection
 * and in messages. */
wd_status wd_dataset_open_mem(const void *data, size_t len, const char *name,
                              const wd_dataset_params *params, wd_dataset **out);

/* Reads the next record. Returns WD_OK with *item set, or WD_OK with
 * *item = NULL at the end of the data. On a bad record returns an error
 * (WD_ERR_FORMAT, WD_ERR_NOT_FOUND for a missing field, WD_ERR_RANGE for an
 * oversized record, WD_ERR_IO) with the message in wd_dataset_last_error();
 * the dataset then stays at the error. */
wd_status wd_dataset_next(wd_dataset *ds, const wd_dataset_item **item);

/* The current record's value of another field: for csv/tsv the column
 * called name in the header (an exact match first, then ignoring case);
 * for json/jsonl the field path name (as for text_field: "a.b", "turns.0").
 * A string is returned as is; true/false, a number (as an integer when it
 * is one, else %.17g) and an array or object (as compact JSON) are
 * written out. NULL when the record has no such field, the value is null,
 * the format is text, or no record is current. The empty path "" names
 * the whole record (json/jsonl: the object as compact JSON). Owned by ds; valid until
 * the next wd_dataset_next() or wd_dataset_free(). This reads fields the
 * item does not carry (several columns of one row, annotator votes...). */
const char *wd_dataset_field(wd_dataset *ds, const char *name);

/* The current json/jsonl record as compact JSON, whatever its type (a
 * record that is a string comes back quoted, unlike wd_dataset_field's
 * ""). NULL for other formats, when no record is current, or out of
 * memory. Owned by ds; valid until the next wd_dataset_next(). */
const char *wd_dataset_record_json(wd_dataset *ds);

/* The current csv/tsv record's fields by position: their number (which
 * may differ from the header's in lenient mode) and field i (NULL out of
 * range, or for the other formats). Owned by ds; valid until the next
 * wd_dataset_next() or wd_dataset_free(). */
size_t      wd_dataset_n_fields(const wd_dataset *ds);
const char *wd_dataset_field_at(const wd_dataset *ds, size_t i);

/* The columns of a csv/tsv header row, in order (a byte-order mark
 * removed); 0 and NULL for the other formats or i out of range. Owned by
 * ds. */
size_t      wd_dataset_n_columns(const wd_dataset *ds);
const char *wd_dataset_column(const wd_dataset *ds, size_t i);

/* How far the reader is in the file: bytes of it read so far (for gzip,
 * compressed bytes; the reader reads ahead, so up to 128 KiB past the
 * current record). For a progress bar against the file's size. */
uint64_t wd_dataset_offset(const wd_dataset *ds);

/* The format in use (after detection). */
wd_dataset_format wd_dataset_format_of(const wd_dataset *ds);
/* "csv", "tsv", "jsonl", "json", "text" or "auto". Static. */
const char *wd_dataset_format_name(wd_dataset_format f);
/* Parses a format name (as above, plus "txt", "ndjson"); returns WD_ERR_NOT_FOUND if unknown. */
wd_status wd_dataset_format_parse(const char *s, wd_dataset_format *out);
/* Parses a label name ("harmful", "benign", and the other words listed
 * above); returns WD_ERR_NOT_FOUND if it is none of them. */
wd_status wd_label_parse(const char *s, wd_label *out);
/* "harmful", "benign" or "unknown". Static. */
const char *wd_label_name(wd_label l);

/* The message of the dataset's last failure; "" when none. Owned by ds. */
const char *wd_dataset_last_error(const wd_dataset *ds);

void wd_dataset_free(wd_dataset *ds);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_DATASET_H */
