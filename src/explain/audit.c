/*
 * explain/audit.c - the corpus audit object (warden/audit.h): texts are
 * queued into a batch; a full batch is analysed by the workers (one record
 * each, audit_text.c), checked by the PII guard (redacting) and by the
 * caller's guard (flags) with wd_guard_check_batch, and then merged into
 * the figures in input order on the calling thread (duplicate set, LSH
 * index, counters, examples, the scrubbed copy).
 *
 *   add(text) -> batch [texts | items] --full--> analyse (threads)
 *                                                guards (threads)
 *                                                merge (in order) -> figures
 *
 * Memory: the batch (at most `batch` records or 8 MiB of text beyond one
 * record), the exact set and the LSH index (both capped, warden/audit.h),
 * and the counters.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/json.h"
#include "base/utf8.h"
#include "base/util.h"
#include "explain/audit_internal.h"
#include "tensor/threads.h"

#define BATCH_BYTES (8u << 20)

static const char pii_policy[] =
    "name: audit-pii\n"
    "fail: open\n"
    "max_bytes: 1073741824\n"
    "normalize: none\n"
    "decode: {encodings: none}\n"
    "categories:\n"
    "  pii: {threshold: 0.01, action: redact}\n"
    "  secrets: {threshold: 0.01, action: redact}\n"
    "scanners:\n"
    "  - {type: pii, name: pii}\n"
    "  - {type: secrets, name: secrets}\n";

wd_audit_params wd_audit_params_default(void) {
    return (wd_audit_params){.threshold = 0.8, .batch = 512, .max_exact = 12000000, .max_index = 750000,
                             .n_examples = 5};
}

const char *wd_audit_last_error(const wd_audit *a) { return a ? wd__err_msg(&a->err) : ""; }

static char *dup_or_null(const char *s, bool *oom) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

wd_status wd_audit_new(const wd_audit_params *params, wd_audit **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_audit_new: out is NULL");
    *out = NULL;
    wd_audit_params p = params ? *params : wd_audit_params_default();
    if (!(p.threshold > 0 && p.threshold <= 1))
        return wd__fail(WD_ERR_INVALID_ARG, "threshold: expected a Jaccard similarity in (0, 1], got %g", p.threshold);
    if (p.n_threads < 0 || p.n_threads > 1024)
        return wd__fail(WD_ERR_INVALID_ARG, "n_threads: expected 0..1024, got %d", p.n_threads);
    if (!p.batch) p.batch = 512; /* 0: the default */
    if (!p.max_exact || !p.max_index || p.max_index > UINT32_MAX - 1)
        return wd__fail(WD_ERR_INVALID_ARG, "max_exact and max_index must be positive (max_index < 2^32)");
    wd_audit *a = calloc(1, sizeof *a);
    if (!a) return wd__fail(WD_ERR_NOMEM, "out of memory");
    bool oom = false;
    a->text_field = dup_or_null(p.text_field, &oom);
    a->terms_path = dup_or_null(p.terms_path, &oom);
    a->scrub_path = dup_or_null(p.scrub_path, &oom);
    p.text_field = a->text_field, p.terms_path = a->terms_path, p.scrub_path = a->scrub_path;
    a->p = p;
    a->lsh_accept = p.threshold - 2 * sqrt(p.threshold * (1 - p.threshold) / WD__AUDIT_PERM);
    a->chars_min = UINT64_MAX;
    wd_status st = oom ? wd__fail(WD_ERR_NOMEM, "out of memory") : WD_OK;
    if (!st) st = wd__terms_load(p.terms_path, &a->terms, &a->err);
    if (!st) {
        wd_guard_params gp = wd_guard_params_default();
        gp.n_threads = p.n_threads;
        st = wd_guard_load_string(pii_policy, sizeof pii_policy - 1, "audit-pii", NULL, &gp, &a->pii);
    }
    if (!st) st = wd_threadpool_new(p.n_threads, &a->tp);
    if (!st) st = wd__hset_init(&a->exact, p.max_exact);
    if (!st) st = wd__lsh_init(&a->lsh, p.max_index);
    if (!st) {
        size_t ng = a->terms.n_groups ? a->terms.n_groups : 1;
        a->items = calloc(p.batch, sizeof *a->items);
        a->recs = calloc(p.batch, sizeof *a->recs);
        a->slab = calloc(p.batch * ng, sizeof *a->slab);
        a->group_records = calloc(ng, sizeof *a->group_records);
        a->group_mentions = calloc(ng, sizeof *a->group_mentions);
        a->axis_records = calloc(a->terms.n_axes + 1, sizeof *a->axis_records);
        if (!a->items || !a->recs || !a->slab || !a->group_records || !a->group_mentions || !a->axis_records)
            st = wd__fail(WD_ERR_NOMEM, "out of memory");
        else
            for (size_t i = 0; i < p.batch; i++) a->recs[i].mentions = a->slab + i * ng;
        a->cap_items = p.batch;
    }
    if (st) {
        if (!wd_last_error()[0]) wd__fail(st, "%s", wd_status_str(st));
        wd_audit_free(a);
        return st;
    }
    *out = a;
    return WD_OK;
}

static void examples_free(wd__examples *x) {
    for (size_t i = 0; i < x->n; i++) free(x->e[i].label), free(x->e[i].text);
    free(x->e);
}

void wd_audit_free(wd_audit *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n_items; i++) wd__scrub_rec_free(&a->items[i].scrub);
    wd__scrub_abort(a->scrub);
    free(a->items);
    free(a->recs);
    free(a->slab);
    wd__strbuf_free(&a->buf);
    wd__terms_free(&a->terms);
    wd_guard_free(a->pii);
    wd_threadpool_free(a->tp);
    wd__hset_free(&a->exact);
    wd__lsh_free(&a->lsh);
    examples_free(&a->exact_ex);
    examples_free(&a->near_ex);
    examples_free(&a->cmp_ex);
    examples_free(&a->pii_ex);
    examples_free(&a->flag_ex);
    for (size_t i = 0; i < a->n_pii_kinds; i++) free(a->pii_kinds[i].name);
    free(a->pii_kinds);
    free(a->group_records);
    free(a->group_mentions);
    free(a->axis_records);
    for (size_t i = 0; i < a->n_files; i++) free(a->files[i].path);
    free(a->files);
    free(a->text_field);
    free(a->terms_path);
    free(a->scrub_path);
    free(a);
}

/* ==== examples ============================================================ */

wd_status wd__examples_add(wd__examples *x, size_t max, uint64_t record, uint64_t other, double value,
                           const char *label, const char *text, size_t len) {
    if (x->n >= max) return WD_OK;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 4;
        wd__example *e = realloc(x->e, cap * sizeof *e);
        if (!e) return WD_ERR_NOMEM;
        x->e = e;
        x->cap = cap;
    }
    if (len > 200) len = 200 - wd__utf8_incomplete_tail(text, 200);
    wd__example *e = &x->e[x->n];
    *e = (wd__example){record, other, -1, 0, value, label ? strdup(label) : NULL, malloc(len + 1)};
    if ((label && !e->label) || !e->text) {
        free(e->label), free(e->text);
        return WD_ERR_NOMEM;
    }
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    x->n++;
    return WD_OK;
}

/* A hit's text with all but its first and last ASCII characters starred:
 * the report shows what kind of thing was found, not the thing. */
static void mask(char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((i > 0 && i + 1 < n) || (unsigned char)s[i] >= 0x80) s[i] = '*';
}

/* wd__examples_add for batch item i, with the file and line it came from. */
static wd_status ex_add(wd_audit *a, wd__examples *x, size_t i, uint64_t record, uint64_t other, double value,
                        const char *label, const char *text, size_t len) {
    size_t n = x->n;
    wd_status st = wd__examples_add(x, a->p.n_examples, record, other, value, label, text, len);
    if (!st && x->n > n) x->e[n].file = a->items[i].file, x->e[n].line = a->items[i].line;
    return st;
}

/* ==== the batch =========================================================== */

typedef struct analyse_ctx {
    wd_audit *a;
} analyse_ctx;

static void analyse_task(void *ctx, int ith, int nth) {
    wd_audit *a = ((analyse_ctx *)ctx)->a;
    size_t lo, hi;
    wd__split(a->n_items, ith, nth, &lo, &hi);
    wd__rec_scratch sc;
    for (size_t i = lo; i < hi; i++)
        wd__rec_analyse(&a->recs[i], a->buf.p + a->items[i].off, a->items[i].len, &a->terms, &sc);
}

static wd_status count_kind(wd_audit *a, const char *name) {
    for (size_t i = 0; i < a->n_pii_kinds; i++)
        if (!strcmp(a->pii_kinds[i].name, name)) return a->pii_kinds[i].n++, WD_OK;
    wd__kind_count *k = realloc(a->pii_kinds, (a->n_pii_kinds + 1) * sizeof *k);
    if (!k) return WD_ERR_NOMEM;
    a->pii_kinds = k;
    if (!(k[a->n_pii_kinds].name = strdup(name))) return WD_ERR_NOMEM;
    k[a->n_pii_kinds++].n = 1;
    return WD_OK;
}

static unsigned hist_bucket(uint64_t chars) {
    if (!chars) return 0;
    unsigned k = 1 + (unsigned)floor(4.0 * log2((double)chars));
    return k < WD__AUDIT_HIST ? k : WD__AUDIT_HIST - 1;
}

/* The figures of corpus record i of the batch. */
static wd_status merge_corpus(wd_audit *a, size_t i, wd_verdict *pv, wd_verdict *fv) {
    const wd__rec *r = &a->recs[i];
    const char *text = a->buf.p + a->items[i].off;
    size_t len = a->items[i].len;
    uint64_t rn = a->records++;
    /* examples show the text with its PII redacted */
    size_t xl = 0;
    const char *xt = wd_verdict_redacted(pv, &xl);
    if (!xt) xt = text, xl = len;
    size_t nx = a->p.n_examples;
    wd_status st = WD_OK;
    a->bytes += r->bytes, a->chars += r->chars, a->words += r->words;
    if (!r->bytes) a->empty++;
    if (r->chars < a->chars_min) a->chars_min = r->chars;
    if (r->chars > a->chars_max) a->chars_max = r->chars;
    a->hist[hist_bucket(r->chars)]++;
    for (int s = 0; s < WD__SCRIPT_COUNT; s++) a->script_chars[s] += r->script[s];
    a->script_records[r->dominant >= 0 ? r->dominant : WD__SCRIPT_COUNT]++;
    if (r->lang >= 0) a->lang_records[r->lang]++;
    else if (r->dominant >= 0 && r->dominant != WD__SCRIPT_LATIN) a->lang_records[WD__LANG_COUNT + 1 + r->dominant]++;
    else a->lang_records[WD__LANG_COUNT]++;

    /* duplicates: exact first; a record that is not is looked for near */
    if (r->has_sig) {
        int e = wd__hset_add(&a->exact, r->exact);
        if (e < 0) return WD_ERR_NOMEM;
        if (e == 1) {
            a->exact_dups++;
            st = ex_add(a, &a->exact_ex, i, rn, UINT64_MAX, 1, NULL, xt, xl);
        } else {
            double j = 0;
            long id = wd__lsh_query(&a->lsh, r->sig, a->lsh_accept, &j, &a->candidates);
            if (id >= 0) {
                a->near_dups++;
                uint32_t m = ++a->lsh.members[id];
                if (m == 1) a->clusters++;
                if (m + 1 > a->largest) a->largest = m + 1;
                st = ex_add(a, &a->near_ex, i, rn, a->lsh.record[id], j, NULL, xt, xl);
            } else {
                wd_status is = wd__lsh_insert(&a->lsh, r->sig, rn);
                if (is == WD_ERR_NOMEM) return is;
            }
        }
    }
    if (st) return st;

    /* PII and secrets */
    size_t nh = wd_verdict_n_hits(pv), found = 0;
    for (size_t h = 0; h < nh; h++) {
        const wd_hit *hit = wd_verdict_hit(pv, h);
        if (hit->depth) continue;
        found++;
        if ((st = count_kind(a, hit->rule))) return st;
        if (a->pii_ex.n < nx) {
            char snip[201];
            snprintf(snip, sizeof snip, "%s", hit->snippet ? hit->snippet : "");
            mask(snip);
            if ((st = ex_add(a, &a->pii_ex, i, rn, UINT64_MAX, 0, hit->rule, snip, strlen(snip)))) return st;
        }
    }
    if (wd_verdict_error(pv)) a->pii_errors++;
    a->pii_hits += found;
    if (found) a->pii_records++;

    /* flags */
    if (fv) {
        if (wd_verdict_error(fv)) a->flag_errors++;
        if (wd_verdict_unsafe(fv)) {
            a->flag_records++;
            wd_catmask m = wd_verdict_categories(fv);
            const char *first = NULL;
            for (int c = 0; c < WD_CATEGORY_COUNT && c < 64; c++)
                if (m & WD_CATMASK(c)) {
                    a->flag_cat[c]++;
                    if (!first) first = wd_category_id((wd_category)c);
                }
            if ((st = ex_add(a, &a->flag_ex, i, rn, UINT64_MAX, wd_verdict_max_score(fv), first, xt, xl)))
                return st;
        }
    }

    /* demographic mentions */
    bool axis_seen[64] = {false};
    for (size_t g = 0; g < a->terms.n_groups; g++) {
        if (!r->mentions[g]) continue;
        a->group_records[g]++;
        a->group_mentions[g] += r->mentions[g];
        int ax = a->terms.groups[g].axis;
        if (ax < 64 && !axis_seen[ax]) axis_seen[ax] = true, a->axis_records[ax]++;
    }

    if (a->items[i].has_scrub) {
        size_t rl;
        const char *red = wd_verdict_redacted(pv, &rl);
        if (wd_verdict_error(pv)) /* an unscanned record would be copied with its PII */
            return wd__err_set(&a->err, WD_ERR_FORMAT, "%s:%" PRIu64 ": --scrub: the PII scan failed: %s",
                               a->files[a->items[i].file].path, a->items[i].line, wd_verdict_error(pv));
        st = wd__scrub_write(a->scrub, &a->items[i].scrub, text, red && strcmp(red, text) ? red : NULL);
        a->items[i].has_scrub = false;
    }
    return st;
}

/* A compare-set example, its PII redacted (the compare set is not
 * scanned otherwise: this runs at most n_examples times). */
static wd_status compare_example(wd_audit *a, size_t i, uint64_t rn, uint64_t other, double j, const char *kind,
                                 const char *text, size_t len) {
    if (a->cmp_ex.n >= a->p.n_examples) return WD_OK;
    wd_check_params cp = wd_check_params_default();
    cp.redact = true;
    wd_verdict *v = NULL;
    wd_status st = wd_guard_check(a->pii, text, len, &cp, &v);
    if (st) return st;
    size_t rl = 0;
    const char *red = wd_verdict_redacted(v, &rl);
    st = ex_add(a, &a->cmp_ex, i, rn, other, j, kind, red ? red : text, red ? rl : len);
    wd_verdict_free(v);
    return st;
}

static wd_status merge_compare(wd_audit *a, size_t i) {
    const wd__rec *r = &a->recs[i];
    uint64_t rn = a->cmp_records++;
    if (!r->has_sig) return WD_OK;
    const char *text = a->buf.p + a->items[i].off;
    size_t len = a->items[i].len;
    if (wd__hset_has(&a->exact, r->exact)) {
        a->cmp_exact++;
        return compare_example(a, i, rn, UINT64_MAX, 1, "exact", text, len);
    }
    double j = 0;
    uint64_t cand = 0;
    long id = wd__lsh_query(&a->lsh, r->sig, a->lsh_accept, &j, &cand);
    if (id < 0) return WD_OK;
    a->cmp_near++;
    return compare_example(a, i, rn, a->lsh.record[id], j, "near", text, len);
}

static wd_status flush(wd_audit *a) {
    size_t n = a->n_items;
    if (!n) return WD_OK;
    if (a->buf.oom) return wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
    analyse_ctx ctx = {a};
    wd__parallel_for(a->tp, analyse_task, &ctx, a->buf.n * 64 + 1000000);
    bool compare = a->items[0].compare;
    const char **texts = malloc(n * sizeof *texts);
    size_t *lens = malloc(n * sizeof *lens);
    wd_verdict **pv = calloc(n, sizeof *pv), **fv = calloc(n, sizeof *fv);
    wd_status st = texts && lens && pv && fv ? WD_OK : wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++) texts[i] = a->buf.p + a->items[i].off, lens[i] = a->items[i].len;
    if (!st && !compare) {
        wd_check_params cp = wd_check_params_default();
        cp.redact = true;
        if ((st = wd_guard_check_batch(a->pii, texts, lens, n, &cp, pv)))
            wd__err_set(&a->err, st, "PII scan: %s", wd_last_error());
        if (!st && a->p.guard && (st = wd_guard_check_batch(a->p.guard, texts, lens, n, NULL, fv)))
            wd__err_set(&a->err, st, "guard: %s", wd_last_error());
    }
    for (size_t i = 0; !st && i < n; i++) {
        st = compare ? merge_compare(a, i) : merge_corpus(a, i, pv[i], fv[i]);
        if (st) wd__err_set(&a->err, st, "%s", st == WD_ERR_NOMEM ? "out of memory" : wd_last_error());
    }
    for (size_t i = 0; i < n; i++) {
        if (pv) wd_verdict_free(pv[i]);
        if (fv) wd_verdict_free(fv[i]);
        wd__scrub_rec_free(&a->items[i].scrub);
        a->items[i].has_scrub = false;
    }
    free(texts), free(lens), free(pv), free(fv);
    a->n_items = 0;
    a->buf.n = 0;
    return st;
}

/* Queues one text (repaired when it is not valid UTF-8). Takes scrub's
 * fields (freed on failure). */
static wd_status enqueue_(wd_audit *a, const char *text, size_t len, bool compare, wd__scrub_rec *scrub, int file,
                          uint64_t line);

static wd_status enqueue(wd_audit *a, const char *text, size_t len, bool compare, wd__scrub_rec *scrub, int file,
                         uint64_t line) {
    wd_status st = enqueue_(a, text, len, compare, scrub, file, line);
    if (st && scrub) wd__scrub_rec_free(scrub);
    return st;
}

static wd_status enqueue_(wd_audit *a, const char *text, size_t len, bool compare, wd__scrub_rec *scrub, int file,
                          uint64_t line) {
    if (a->finished || a->analysed)
        return wd__err_set(&a->err, WD_ERR_INVALID_ARG, "the audit is finished: no more texts");
    if (!text && len) return wd__err_set(&a->err, WD_ERR_INVALID_ARG, "text is NULL");
    if (!compare && a->compare_started)
        return wd__err_set(&a->err, WD_ERR_INVALID_ARG, "corpus texts come before the compare set's");
    wd_status st;
    if (compare && !a->compare_started) {
        if ((st = flush(a))) return st;
        a->compare_started = true;
    }
    if (a->n_items == a->p.batch || (a->n_items && a->buf.n + len > BATCH_BYTES)) {
        if ((st = flush(a))) return st;
    }
    size_t off = a->buf.n;
    if (wd__utf8_valid_prefix(text ? text : "", len) < len) {
        if (!compare) a->invalid_utf8++; /* counted for the audited corpus only */
        if (!wd__strbuf_reserve(&a->buf, 3 * len + 1)) return wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
        a->buf.n += wd__utf8_lossy(text, len, a->buf.p + off);
        a->buf.p[a->buf.n] = '\0';
    } else {
        wd__strbuf_add(&a->buf, text ? text : "", len);
    }
    wd__strbuf_putc(&a->buf, '\0');
    if (a->buf.oom) return wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
    struct wd__bitem *it = &a->items[a->n_items++];
    it->off = off;
    it->len = a->buf.n - 1 - off;
    it->compare = compare;
    it->file = file;
    it->line = line;
    it->has_scrub = scrub != NULL;
    if (scrub) {
        it->scrub = *scrub;
        memset(scrub, 0, sizeof *scrub);
    } else {
        memset(&it->scrub, 0, sizeof it->scrub);
    }
    return WD_OK;
}

wd_status wd_audit_add(wd_audit *a, const char *text, size_t len) {
    if (!a) return wd__fail(WD_ERR_INVALID_ARG, "wd_audit_add: audit is NULL");
    return enqueue(a, text, len, false, NULL, -1, 0);
}

wd_status wd_audit_add_compare(wd_audit *a, const char *text, size_t len) {
    if (!a) return wd__fail(WD_ERR_INVALID_ARG, "wd_audit_add_compare: audit is NULL");
    return enqueue(a, text, len, true, NULL, -1, 0);
}

/* ==== files =============================================================== */

wd_status wd_audit_add_file(wd_audit *a, const char *path, bool compare) {
    if (!a || !path) return wd__fail(WD_ERR_INVALID_ARG, "wd_audit_add_file: audit or path is NULL");
    bool scrub = !compare && a->p.scrub_path;
    if (scrub && a->scrubbed)
        return wd__err_set(&a->err, WD_ERR_INVALID_ARG, "%s: --scrub writes one file: audit one file with it", path);
    wd__audit_file *f = realloc(a->files, (a->n_files + 1) * sizeof *f);
    if (!f) return wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
    a->files = f;
    f = &a->files[a->n_files];
    uint64_t first = compare ? a->cmp_records + (a->compare_started ? a->n_items : 0) : a->records + a->n_items;
    *f = (wd__audit_file){strdup(path), compare, 0, first};
    if (!f->path) return wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
    a->n_files++;

    wd_dataset_params dp = wd_dataset_params_default();
    dp.text_field = a->text_field;
    dp.skip_empty_text = 0;
    wd_dataset *ds = NULL;
    wd_status st = wd_dataset_open(path, &dp, &ds);
    if (st) return wd__err_take(&a->err, st);
    struct stat sb;
    uint64_t total = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    /* the batch before this file is analysed first, so that the scrubbed
     * copy holds this file's records only */
    if (scrub && (st = flush(a))) {
        wd_dataset_free(ds);
        return st;
    }
    if (scrub && (st = wd__scrub_open(a->p.scrub_path, ds, &a->scrub))) {
        wd_dataset_free(ds);
        return wd__err_take(&a->err, st);
    }
    const wd_dataset_item *item;
    double last = 0;
    while (!st) {
        st = wd_dataset_next(ds, &item);
        if (st) {
            wd__err_set(&a->err, st, "%s", wd_dataset_last_error(ds));
            break;
        }
        if (!item) break;
        wd__scrub_rec rec;
        if (scrub && (st = wd__scrub_capture(a->scrub, ds, &rec))) {
            wd__err_take(&a->err, st);
            break;
        }
        /* invalid UTF-8 is analysed as U+FFFD: keep the bytes the scrub must find */
        if (scrub && wd__utf8_valid_prefix(item->text, item->text_len) < item->text_len &&
            !(rec.orig = strndup(item->text, item->text_len))) {
            wd__scrub_rec_free(&rec);
            st = wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
            break;
        }
        st = enqueue(a, item->text, item->text_len, compare, scrub ? &rec : NULL, (int)(a->n_files - 1),
                     item->line ? item->line : item->record + 1);
        f->records++;
        if (a->p.progress && (f->records & 63) == 0) {
            double now = wd__now_us();
            if (now - last > 2e5) {
                a->p.progress(a->p.progress_user, path, wd_dataset_offset(ds), total);
                last = now;
            }
        }
    }
    /* the scrubbed copy is complete once this file's records are merged;
     * wd_audit_finish puts it in place, so a bad file read later (the
     * compare set) leaves no scrubbed file either */
    if (!st && scrub) st = flush(a);
    if (!st && a->p.progress) a->p.progress(a->p.progress_user, path, total, total);
    wd_dataset_free(ds);
    if (scrub) {
        a->scrubbed = true;
        if (st) {
            wd__scrub_abort(a->scrub);
            a->scrub = NULL;
        }
    }
    return st;
}

/* ==== results ============================================================= */

/* Analyses what is left in the batch (the scrubbed copy stays pending). */
static wd_status analyse_rest(wd_audit *a) {
    if (a->finished || a->analysed) return WD_OK;
    wd_status st = flush(a);
    if (!st) a->analysed = true;
    return st;
}

wd_status wd_audit_finish(wd_audit *a) {
    if (!a) return wd__fail(WD_ERR_INVALID_ARG, "wd_audit_finish: audit is NULL");
    if (a->finished) return WD_OK;
    wd_status st = analyse_rest(a);
    if (!st && a->scrub) {
        st = wd__scrub_commit(a->scrub);
        a->scrub = NULL;
        if (st) wd__err_take(&a->err, st);
    }
    if (!st) a->finished = true;
    return st;
}

wd_status wd_audit_json(wd_audit *a, bool pretty, char **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_audit_json: out is NULL");
    *out = NULL;
    wd_status st = wd_audit_finish(a);
    if (st) return st;
    cJSON *j = wd__audit_to_json(a);
    *out = j ? wd__json_print(j, pretty) : NULL;
    cJSON_Delete(j);
    return *out ? WD_OK : wd__err_set(&a->err, WD_ERR_NOMEM, "out of memory");
}

wd_status wd_audit_write(wd_audit *a, const char *dir) {
    if (!a || !dir) return wd__fail(WD_ERR_INVALID_ARG, "wd_audit_write: audit or dir is NULL");
    /* the scrubbed copy is put in place only after both files are: a
     * failed write leaves none of the three */
    wd_status st = analyse_rest(a);
    if (st) return st;
    cJSON *j = wd__audit_to_json(a);
    char *js = j ? wd__json_print(j, false) : NULL;
    wd__strbuf html = {0};
    if (!js || (st = wd__audit_html(j, &html)) || html.oom) {
        cJSON_Delete(j);
        free(js);
        wd__strbuf_free(&html);
        return wd__err_set(&a->err, st ? st : WD_ERR_NOMEM, "out of memory");
    }
    cJSON_Delete(j);
    char *jp = NULL, *hp = NULL;
    wd__atomic_file fj = {0}, fh = {0};
    if ((st = wd__mkdir_p(dir))) goto done;
    jp = wd__path_join(dir, "audit.json"), hp = wd__path_join(dir, "report.html");
    if (!jp || !hp) {
        st = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* both written to temporaries first, renamed one after the other */
    if ((st = wd__atomic_open(&fj, jp)) || (st = wd__atomic_open(&fh, hp))) goto done;
    if (fwrite(js, 1, strlen(js), fj.fp) != strlen(js) || fputc('\n', fj.fp) == EOF ||
        fwrite(html.p, 1, html.n, fh.fp) != html.n || fflush(fj.fp) || fflush(fh.fp)) {
        st = wd__fail(WD_ERR_IO, "%s: write failed", dir);
        goto done;
    }
    if (!(st = wd__atomic_commit(&fj))) st = wd__atomic_commit(&fh);
    if (!st) st = wd_audit_finish(a);
done:
    wd__atomic_abort(&fj);
    wd__atomic_abort(&fh);
    free(jp), free(hp), free(js);
    wd__strbuf_free(&html);
    return st ? wd__err_take(&a->err, st) : WD_OK;
}
