/*
 * guard/registry.c - the scanner types a policy can name. Adding a type =
 * one line in the table (and its vtable defined in its own file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/scanner.h"

extern const wd_scanner_vt wd__scanner_lexicon;
extern const wd_scanner_vt wd__scanner_pii;
extern const wd_scanner_vt wd__scanner_secrets;
extern const wd_scanner_vt wd__scanner_injection;
extern const wd_scanner_vt wd__scanner_llm_judge;
extern const wd_scanner_vt wd__scanner_encoder_classifier;
extern const wd_scanner_vt wd__scanner_classifier;

static const wd_scanner_vt *const types[] = {
    &wd__scanner_lexicon,
    &wd__scanner_pii,
    &wd__scanner_secrets,
    &wd__scanner_injection,
    &wd__scanner_llm_judge,
    &wd__scanner_encoder_classifier,
    &wd__scanner_classifier,
};

const wd_scanner_vt *wd__scanner_find(const char *type) {
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

wd_status wd__scan_hit(wd_scan_result *r, wd_category category, float score, size_t start,
                       size_t end, const char *rule, const char *placeholder) {
    wd__scan_score(r, category, score);
    if (r->n_hits == r->cap_hits) {
        size_t cap = r->cap_hits ? r->cap_hits * 2 : 8;
        wd_scan_hit *h = realloc(r->hits, cap * sizeof *h);
        if (!h) return WD_ERR_NOMEM;
        r->hits = h;
        r->cap_hits = cap;
    }
    r->hits[r->n_hits++] = (wd_scan_hit){rule, placeholder, category, score, start, end};
    return WD_OK;
}
