/*
 * warden/audit.h - what is in a training or fine-tuning corpus: a streamed
 * report in the spirit of the Llama 2 pre-training data analysis
 * (Touvron et al. 2023, section 4.1). docs/audit.md explains every figure.
 *
 * For the corpus (every text given to wd_audit_add / wd_audit_add_file):
 *   size         records, bytes, characters (code points), words; a length
 *                histogram (characters per record, quarter-octave buckets)
 *                and percentiles read from it
 *   scripts      the share of letters in each Unicode script (code point
 *                ranges of the scripts' blocks; letters = utf8proc category
 *                L*), and records by their dominant script
 *   languages    a guess per record for Latin-script text from stop words
 *                (en, fr, de, es, it, pt, nl: the language whose stop words
 *                are most frequent, when at least 2 of the record's words
 *                and 5% of them are stop words), else "other:<script>" or
 *                "unknown". Not a model: a coarse mix, not a per-text label
 *   exact dups   records whose normalised text (words lowercased, joined by
 *                one space: case, punctuation and spacing ignored) has the
 *                64-bit hash of an earlier record's
 *   near dups    MinHash over word 5-gram shingles, 128 hash functions,
 *                LSH with 21 bands of 6 rows (P(candidate) = 0.998 at
 *                Jaccard 0.8, 0.27 at 0.5, 0.015 at 0.3); a candidate pair
 *                is kept when its estimated Jaccard reaches threshold - 2
 *                sigma (sigma = sqrt(t(1-t)/128)), so that pairs at the
 *                threshold are not lost to the estimator's noise. A record
 *                that matches joins the earlier record's cluster and is
 *                not indexed itself; a band value shared by 8 indexed
 *                records takes no more (templated text would make every
 *                lookup compare against all of them)
 *   overlap      with a compare set (wd_audit_add_compare: test vs train),
 *                the compare records that exactly or nearly duplicate a
 *                corpus record (leakage)
 *   pii          hits of the guard's pii and secrets scanners by kind
 *                (email, phone, card, ..., aws-access-key-id, ...), and
 *                records with any
 *   demographics the records that mention each group of a word list
 *                (pronoun families, identity groups by axis: gender and
 *                sex, sexual orientation, nationality, race and ethnicity,
 *                religion), and the mentions; the list is a YAML file
 *                (lexicons/demographics.yaml is the embedded default)
 *   flagged      the share of records a guard flags, by category
 *
 * Memory is bounded whatever the corpus size: the exact-duplicate set keeps
 * 8-byte slots (at most 3/4 full) for at most max_exact records (later
 * records are looked up, not added); the near-duplicate index keeps for at
 * most max_index records a 128-byte signature (8 low bits of each MinHash),
 * 12 bytes of bookkeeping and 21 band slots of 4 bytes (tables at most 3/4
 * full; later records are compared, not indexed); every other figure is a
 * counter, and a batch holds at most `batch` records or 8 MiB of text. The
 * defaults (12 M exact, 750 k indexed) bound the set to 128 MiB and the
 * index to about 190 MiB; a smaller corpus takes what it needs. Reading is
 * a record stream (warden/dataset.h).
 *
 *     wd_audit *a;
 *     wd_audit_params p = wd_audit_params_default();
 *     wd_audit_new(&p, &a);
 *     wd_audit_add_file(a, "train.jsonl", false);
 *     wd_audit_add_file(a, "test.jsonl", true);      // the compare set, last
 *     wd_audit_write(a, "audit-out");                // audit.json, report.html
 *     wd_audit_free(a);
 *
 * Threads: one wd_audit is used by one thread at a time; it runs its own
 * workers (n_threads) on batches of records.
 */
#ifndef WARDEN_AUDIT_H
#define WARDEN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/guard.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_audit wd_audit;

/* Progress of wd_audit_add_file: bytes of the file read so far (compressed
 * bytes for gzip) of total (the file's size; 0 when unknown). */
typedef void (*wd_audit_progress_fn)(void *user, const char *path, uint64_t done, uint64_t total);

typedef struct wd_audit_params {
    const char *text_field;   /* dataset field of the text; NULL: the dataset's default */
    wd_guard   *guard;        /* flags by category; NULL: no flag figures. Not owned:
                                 it must outlive the audit */
    const char *terms_path;   /* the demographic word list (YAML); NULL: the embedded
                                 lexicons/demographics.yaml */
    const char *scrub_path;   /* wd_audit_add_file writes the corpus file with PII and
                                 secrets replaced by placeholders here (atomically, in the
                                 input's format, gzip when the name ends in .gz); NULL: none */
    double      threshold;    /* near-duplicate Jaccard threshold, in (0,1]; default 0.8 */
    int         n_threads;    /* workers for a batch (0: every CPU); default 0 */
    size_t      batch;        /* records per batch; default 512 */
    size_t      max_exact;    /* records the exact-duplicate set holds; default 12 M */
    size_t      max_index;    /* records the near-duplicate index holds; default 750 k */
    size_t      n_examples;   /* examples kept per figure (pairs, PII, flags); default 5 */
    wd_audit_progress_fn progress; /* or NULL */
    void       *progress_user;
} wd_audit_params;

wd_audit_params wd_audit_params_default(void);

/* Makes an audit: loads the word list and builds the PII guard (the pii and
 * secrets scanners, no normalisation, no decoding). Returns WD_OK and *out
 * (free with wd_audit_free), or an error with *out = NULL and the reason in
 * wd_last_error() (a bad word list names its file, line and field). */
wd_status wd_audit_new(const wd_audit_params *params, wd_audit **out);

/* Adds one text of len bytes to the corpus (copied). Invalid UTF-8 is read
 * with U+FFFD for the bad bytes (and counted). Texts are analysed in
 * batches: a figure is complete only after wd_audit_finish. Returns
 * WD_ERR_INVALID_ARG after a compare text was added (the corpus comes
 * first), an error of a guard or WD_ERR_NOMEM otherwise. */
wd_status wd_audit_add(wd_audit *a, const char *text, size_t len);

/* Adds one text of the compare set: counted for overlap with the corpus
 * (exact and near), not for the corpus figures. */
wd_status wd_audit_add_compare(wd_audit *a, const char *text, size_t len);

/* Reads a dataset file (warden/dataset.h: JSONL, JSON, CSV, TSV, text, any
 * gzip-compressed) record by record into the corpus, or into the compare
 * set. With params.scrub_path and compare false, writes the scrubbed copy
 * to a temporary that wd_audit_finish puts in place (one file: a second
 * corpus file fails with WD_ERR_INVALID_ARG). On a bad record returns its
 * error (file:line, field, reason); the scrubbed copy is then dropped. */
wd_status wd_audit_add_file(wd_audit *a, const char *path, bool compare);

/* Analyses what is left in the batch and puts the scrubbed copy in place;
 * after it only wd_audit_json / wd_audit_write / wd_audit_free. Called by
 * them when needed. wd_audit_free without it leaves no scrubbed copy. */
wd_status wd_audit_finish(wd_audit *a);

/* The report as JSON (every key always present, docs/audit.md; the rules
 * of docs/json.md): a malloc'd string in *out (free with free()), compact,
 * or indented when pretty. audit.json is the compact form. */
wd_status wd_audit_json(wd_audit *a, bool pretty, char **out);

/* Writes dir/audit.json and dir/report.html (self-contained: inline SVG
 * plots, no scripts), creating dir. Both are written to temporaries first
 * and renamed into place only when both are complete: a failed write
 * leaves neither. */
wd_status wd_audit_write(wd_audit *a, const char *dir);

/* The audit's last error message; "" when none. Owned by a. */
const char *wd_audit_last_error(const wd_audit *a);

/* No-op on NULL. Does not free params.guard. */
void wd_audit_free(wd_audit *a);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_AUDIT_H */
