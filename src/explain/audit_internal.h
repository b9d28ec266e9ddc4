/*
 * explain/audit_internal.h - what the corpus audit's files share:
 *   audit_text.c     one record -> its figures (words, scripts, language,
 *                    hashes, MinHash signature, word-list mentions); pure,
 *                    run by the workers
 *   audit_minhash.c  MinHash, the exact-duplicate set, the LSH index
 *   audit_terms.c    the demographic word list (YAML) and the stop words
 *   audit_scrub.c    the redacted copy of a corpus file
 *   audit_report.c   audit.json and report.html
 *   audit.c          the object: batches, workers, guards, the merge
 *
 * Invariant: records are merged in the order they were added, so every
 * "earlier record" (exact and near duplicates) means earlier in the input.
 */
#ifndef WD_EXPLAIN_AUDIT_INTERNAL_H
#define WD_EXPLAIN_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "warden/audit.h"
#include "warden/dataset.h"
#include "warden/ops.h"

#define WD__AUDIT_PERM    128 /* MinHash functions                                */
#define WD__AUDIT_BANDS   21  /* LSH bands ...                                    */
#define WD__AUDIT_ROWS    6   /* ... of this many rows: 126 of the 128 values     */
#define WD__AUDIT_SHINGLE 5   /* words per shingle                                */
#define WD__AUDIT_MAX_PHRASE 4 /* words in the longest word-list phrase           */
#define WD__LSH_BUCKET    8   /* records indexed under one band value, at most    */

/* ==== scripts and languages (audit_text.c, audit_terms.c) =============== */

typedef enum wd__script {
    WD__SCRIPT_LATIN, WD__SCRIPT_GREEK, WD__SCRIPT_CYRILLIC, WD__SCRIPT_ARMENIAN,
    WD__SCRIPT_HEBREW, WD__SCRIPT_ARABIC, WD__SCRIPT_DEVANAGARI, WD__SCRIPT_BENGALI,
    WD__SCRIPT_TAMIL, WD__SCRIPT_THAI, WD__SCRIPT_GEORGIAN, WD__SCRIPT_HANGUL,
    WD__SCRIPT_KANA, WD__SCRIPT_HAN, WD__SCRIPT_ETHIOPIC, WD__SCRIPT_OTHER,
    WD__SCRIPT_COUNT
} wd__script;

/* "Latin", "Greek", ... "Other". */
const char *wd__script_name(int s);
/* The script of a letter's code point (by the ranges of the scripts' blocks). */
wd__script wd__script_of(uint32_t cp);

enum { WD__LANG_COUNT = 7 }; /* en fr de es it pt nl: the stop-word languages */
/* "en", "fr", ... */
const char *wd__lang_code(int l);

/* ==== the word list ===================================================== */

typedef struct wd__terms_group {
    char *name;
    int   axis;
} wd__terms_group;

/* One word or phrase: its hash, the stop-word languages it belongs to
 * (bit l = language l) and the groups it counts for. */
typedef struct wd__terms_entry {
    uint64_t hash;     /* 0 = empty slot */
    uint8_t  langs;
    uint32_t first, n; /* groups: group_ids[first .. first+n) */
} wd__terms_entry;

typedef struct wd__terms {
    char           **axes;
    size_t           n_axes;
    wd__terms_group *groups;
    size_t           n_groups;
    wd__terms_entry *tab;   /* open addressing, power-of-two size */
    size_t           mask;
    uint32_t        *group_ids;
    size_t           n_ids;
    int              max_words; /* words in the longest phrase (1..WD__AUDIT_MAX_PHRASE) */
    char            *source;    /* "embedded" or the file's path */
} wd__terms;

/* Loads the word list from path, or the embedded default when path is
 * NULL, and adds the stop words. Errors name the file, line and field. */
wd_status wd__terms_load(const char *path, wd__terms *t, wd__err *err);
void      wd__terms_free(wd__terms *t);
/* The entry of a word or phrase hash, or NULL. */
const wd__terms_entry *wd__terms_find(const wd__terms *t, uint64_t h);

/* Word and phrase hashes: a word's is FNV-1a of its lowercased UTF-8 (1
 * when that is 0), a phrase's folds its words' in order from
 * WD__AUDIT_FOLD_SEED. */
static inline uint64_t wd__audit_fold(uint64_t h, uint64_t w) {
    h ^= w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h ? h : 1;
}
#define WD__AUDIT_FOLD_SEED 0x2545f4914f6cdd1dull
/* The hash a record's run of words has when it reads as s (same word
 * split and lowercasing); *n_words its words. */
uint64_t wd__audit_phrase_hash(const char *s, size_t len, int *n_words);

/* ==== one record's figures (audit_text.c) ================================ */

typedef struct wd__rec {
    uint64_t bytes, chars, words;
    uint64_t exact;                          /* hash of the normalised text   */
    uint32_t script[WD__SCRIPT_COUNT];       /* letters per script             */
    int      dominant;                       /* script with most letters; -1 none */
    int      lang;                           /* 0..LANG_COUNT-1, or -1 unknown */
    uint8_t  sig[WD__AUDIT_PERM];            /* 8 low bits of each MinHash     */
    bool     has_sig;                        /* at least one word              */
    uint32_t *mentions;                      /* [n_groups]: mentions per group (batch slab) */
} wd__rec;

/* Workspace of one worker: the shingle minima. */
typedef struct wd__rec_scratch {
    uint32_t mins[WD__AUDIT_PERM];
} wd__rec_scratch;

/* Computes r's figures for len bytes of valid UTF-8 (r->mentions must have
 * room for t->n_groups counts; zeroed here). */
void wd__rec_analyse(wd__rec *r, const char *text, size_t len, const wd__terms *t, wd__rec_scratch *sc);

/* ==== MinHash, exact set, LSH index (audit_minhash.c) ================== */

/* The 32-bit MinHash signature of a set of 64-bit shingle hashes:
 * sig[k] = min over x of h_k(x), h_k(x) = (a_k * fold32(x) + b_k) >> 32
 * (multiply-add-shift with fixed random a_k odd, b_k). An empty set gives
 * all UINT32_MAX. */
void wd__minhash_init(uint32_t sig[WD__AUDIT_PERM]);
void wd__minhash_add(uint32_t sig[WD__AUDIT_PERM], uint64_t x);
/* The shingle hashes of a text (word 5-grams; one shingle of all words when
 * fewer than 5); *out malloc'd. Returns the count; 0 with no words. */
size_t wd__shingles(const char *text, size_t len, uint64_t **out);
/* Estimated Jaccard from full signatures: the share of equal values. */
double wd__minhash_jaccard(const uint32_t *a, const uint32_t *b);
/* From 8-bit signatures: matches m of 128 corrected for chance agreement
 * of unrelated values, (m/128 - 1/256) / (1 - 1/256), clamped to [0,1]. */
double wd__minhash_jaccard8(const uint8_t *a, const uint8_t *b);

/* A set of 64-bit keys (0 is stored as 1), open addressing. */
typedef struct wd__hset {
    uint64_t *slot;
    size_t    mask, n, max; /* max: most keys kept */
} wd__hset;
wd_status wd__hset_init(wd__hset *s, size_t max);
/* 1 when h was there, 0 when added, 2 when absent and the set is full. */
int       wd__hset_add(wd__hset *s, uint64_t h);
bool      wd__hset_has(const wd__hset *s, uint64_t h);
void      wd__hset_free(wd__hset *s);

/* The near-duplicate index: 8-bit signatures of indexed records and one
 * table per band of record slots (uint32, 0 = empty, else slot+1). */
typedef struct wd__lsh {
    uint8_t  *sig;      /* [n][PERM]               */
    uint64_t *record;   /* [n]: the record number  */
    uint32_t *members;  /* [n]: records that joined its cluster */
    size_t    n, cap, max;
    uint32_t *band[WD__AUDIT_BANDS];
    size_t    bmask;    /* each band table has bmask+1 slots */
} wd__lsh;
wd_status wd__lsh_init(wd__lsh *l, size_t max);
void      wd__lsh_free(wd__lsh *l);
/* The indexed record most similar to sig among the LSH candidates, when its
 * estimated Jaccard is >= accept: its index in l (and *j), else -1.
 * *n_cand counts the candidates compared. */
long      wd__lsh_query(const wd__lsh *l, const uint8_t *sig, double accept, double *j, uint64_t *n_cand);
/* Indexes sig as record number rec: WD_OK, WD_ERR_RANGE when full (nothing
 * added), WD_ERR_NOMEM. */
wd_status wd__lsh_insert(wd__lsh *l, const uint8_t *sig, uint64_t rec);

/* ==== the redacted copy (audit_scrub.c) =================================== */

typedef struct wd__scrub wd__scrub;
/* One record's other fields, kept until its batch is written. */
typedef struct wd__scrub_rec {
    char   *orig;     /* the text field as read (NULL: as analysed)    */
    cJSON  *obj;      /* json/jsonl: the whole record                 */
    char  **fields;   /* csv/tsv: the fields                          */
    size_t  n_fields;
} wd__scrub_rec;

wd_status wd__scrub_open(const char *path, wd_dataset *ds, wd__scrub **out);
/* Captures the current record of ds (its fields; the text is given later). */
wd_status wd__scrub_capture(wd__scrub *s, wd_dataset *ds, wd__scrub_rec *r);
/* Writes r with every field equal to text replaced by redacted (when not
 * NULL); frees r's fields. */
wd_status wd__scrub_write(wd__scrub *s, wd__scrub_rec *r, const char *text, const char *redacted);
void      wd__scrub_rec_free(wd__scrub_rec *r);
wd_status wd__scrub_commit(wd__scrub *s);
void      wd__scrub_abort(wd__scrub *s);

/* ==== the audit object (audit.c) ========================================== */

enum { WD__AUDIT_HIST = 100 }; /* quarter-octave length buckets: [2^(k/4), 2^((k+1)/4)) */

typedef struct wd__example {
    uint64_t record, other; /* other: the earlier record, or UINT64_MAX */
    int      file;          /* index in files[], or -1 (a text added alone) */
    uint64_t line;          /* 1-based line of the record in it; 0: none */
    double   value;         /* Jaccard */
    char    *label;         /* kind, category (may be NULL) */
    char    *text;          /* an excerpt (PII masked)      */
} wd__example;

typedef struct wd__examples {
    wd__example *e;
    size_t       n, cap;
} wd__examples;

typedef struct wd__kind_count {
    char    *name;
    uint64_t n;
} wd__kind_count;

typedef struct wd__audit_file {
    char    *path;
    bool     compare;
    uint64_t records, first;
} wd__audit_file;

struct wd_audit {
    wd__err         err;
    wd_audit_params p;
    double lsh_accept;            /* the LSH query's Jaccard floor: threshold - 2 sigma of
                                   * the MinHash estimate (computed once) */
    char           *text_field, *terms_path, *scrub_path; /* params' strings, owned */
    wd__terms       terms;
    wd_guard       *pii;
    wd_threadpool  *tp;
    bool            finished, analysed, compare_started, scrubbed; /* analysed: every batch merged */

    /* the batch */
    wd__strbuf      buf;   /* the texts, NUL-separated */
    struct wd__bitem {
        size_t        off, len;
        int           file;  /* -1: added by wd_audit_add */
        uint64_t      line;
        bool          compare;
        bool          has_scrub;
        wd__scrub_rec scrub;
    } *items;
    size_t          n_items, cap_items;
    wd__rec        *recs;
    uint32_t       *slab;  /* mentions: batch x n_groups */
    wd__scrub      *scrub; /* while a file is scrubbed */

    /* figures */
    uint64_t records, bytes, chars, words, empty, invalid_utf8;
    uint64_t chars_min, chars_max;
    uint64_t hist[WD__AUDIT_HIST];
    uint64_t script_chars[WD__SCRIPT_COUNT], script_records[WD__SCRIPT_COUNT + 1]; /* +1: none */
    uint64_t lang_records[WD__LANG_COUNT + 1 + WD__SCRIPT_COUNT]; /* langs, unknown, other:<script> */
    wd__hset exact;
    uint64_t exact_dups;
    wd__examples exact_ex;
    wd__lsh  lsh;
    uint64_t near_dups, candidates, clusters, largest;
    wd__examples near_ex;
    uint64_t cmp_records, cmp_exact, cmp_near;
    wd__examples cmp_ex;
    wd__kind_count *pii_kinds;
    size_t   n_pii_kinds;
    uint64_t pii_records, pii_hits, pii_errors;
    wd__examples pii_ex;
    uint64_t *group_records, *group_mentions, *axis_records;
    uint64_t flag_records, flag_errors, flag_cat[64];
    wd__examples flag_ex;
    wd__audit_file *files;
    size_t   n_files;
};

/* Keeps an example when fewer than n_examples are kept (text copied, cut
 * to 200 bytes on a UTF-8 boundary). */
wd_status wd__examples_add(wd__examples *x, size_t max, uint64_t record, uint64_t other, double value,
                           const char *label, const char *text, size_t len);

/* audit.json's tree (audit_report.c). */
cJSON *wd__audit_to_json(const wd_audit *a);
/* report.html from that tree. */
wd_status wd__audit_html(const cJSON *j, wd__strbuf *out);

#endif
