/*
 * guard/registry.c - the scanner types a policy can name, and the two
 * helpers every scanner calls (wd__scan_hit, wd__scan_stop_poll). Adding a
 * type = one line in the table (and its vtable defined in its own file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard/scanner.h"

extern const wd__scanner_vt wd__scanner_lexicon;
extern const wd__scanner_vt wd__scanner_pii;
extern const wd__scanner_vt wd__scanner_secrets;
extern const wd__scanner_vt wd__scanner_injection;
extern const wd__scanner_vt wd__scanner_llm_judge;
extern const wd__scanner_vt wd__scanner_encoder_classifier;
extern const wd__scanner_vt wd__scanner_classifier;
extern const wd__scanner_vt wd__scanner_cascade;

static const wd__scanner_vt *const types[] = {
    &wd__scanner_lexicon,
    &wd__scanner_pii,
    &wd__scanner_secrets,
    &wd__scanner_injection,
    &wd__scanner_llm_judge,
    &wd__scanner_encoder_classifier,
    &wd__scanner_classifier,
    &wd__scanner_cascade,
};

const wd__scanner_vt *wd__scanner_find(const char *type) {
    if (!type) return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i] && !strcmp(types[i]->type, type)) return types[i];
    return NULL;
}

void wd__scanner_types(char *buf, size_t cap) {
    size_t w = 0;
    if (cap) buf[0] = '\0';
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (!types[i]) continue;
        int k = snprintf(buf + w, cap > w ? cap - w : 0, "%s%s", w ? ", " : "", types[i]->type);
        if (k > 0) w += (size_t)k;
        if (w >= cap) break;
    }
}

wd_status wd__scan_hit(wd__scan_result *r, wd_category category, float score, size_t start,
                       size_t end, const char *rule, const char *placeholder) {
    wd__scan_score(r, category, score);
    if (r->n_hits == r->cap_hits) {
        size_t cap = r->cap_hits ? r->cap_hits * 2 : 8;
        wd__hit *h = realloc(r->hits, cap * sizeof *h);
        if (!h) return WD_ERR_NOMEM;
        r->hits = h;
        r->cap_hits = cap;
    }
    r->hits[r->n_hits++] = (wd__hit){rule, placeholder, category, score, start, end};
    return WD_OK;
}

wd_status wd__scan_stop_poll(const wd__scan_stop *s) {
    if (!s) return WD_OK;
    /* an atomic load: the flag is set by another thread (or a handler) */
    if (s->cancel && __atomic_load_n(s->cancel, __ATOMIC_RELAXED)) return WD_ERR_CANCELLED;
    if (s->deadline_ns) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec > s->deadline_ns) return WD_ERR_TIMEOUT;
    }
    return WD_OK;
}

/* ==== wd__span_set ======================================================== */

void wd__spans_begin(wd__span_set *set, const wd__scan_result *res) {
    if (!res->n_hits) set->n = 0;
    set->pass_from = res->n_hits;
}

bool wd__spans_overlap(const wd__span_set *set, size_t a, size_t b) {
    /* the first span ending after a (ends are sorted: the spans are disjoint) */
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->span[mid][1] <= a) lo = mid + 1;
        else hi = mid;
    }
    return lo < set->n && set->span[lo][0] < b;
}

wd_status wd__spans_end(wd__span_set *set, const wd__scan_result *res) {
    size_t m = res->n_hits - set->pass_from;
    if (!m) return WD_OK;
    if (set->n + m > set->cap) {
        size_t cap = set->cap ? set->cap : 16;
        while (cap < set->n + m) cap *= 2;
        size_t(*sp)[2] = realloc(set->span, cap * sizeof *sp);
        if (!sp) return WD_ERR_NOMEM;
        set->span = sp;
        size_t(*tmp)[2] = realloc(set->tmp, cap * sizeof *tmp);
        if (!tmp) return WD_ERR_NOMEM;
        set->tmp = tmp;
        set->cap = cap;
    }
    /* merge the sorted old spans with the pass's hits (sorted too) */
    const wd__hit *h = res->hits + set->pass_from;
    size_t i = 0, j = 0, w = 0;
    while (i < set->n || j < m) {
        if (j == m || (i < set->n && set->span[i][0] <= h[j].start)) {
            set->tmp[w][0] = set->span[i][0];
            set->tmp[w++][1] = set->span[i++][1];
        } else {
            set->tmp[w][0] = h[j].start;
            set->tmp[w++][1] = h[j++].end;
        }
    }
    size_t(*t)[2] = set->span;
    set->span = set->tmp;
    set->tmp = t;
    set->n = w;
    set->pass_from = res->n_hits;
    return WD_OK;
}

void wd__spans_free(wd__span_set *set) {
    if (!set) return;
    free(set->span);
    free(set->tmp);
    set->span = set->tmp = NULL;
    set->n = set->cap = 0;
}
