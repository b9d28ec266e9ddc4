/*
 * certify/guard_filter.c - a wd_guard as erase-and-check's filter: each
 * subsequence becomes text and goes to wd_guard_check_batch,
 * WD__EC_GUARD_BATCH texts at a time; flagged = the verdict is unsafe,
 * score = its highest category score.
 *
 * The text of a subsequence: with word units, the kept words, each with the
 * spacing that preceded it in the original (so erasing nothing gives the
 * prompt back byte for byte); with token units, the kept ids decoded.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "certify/certify_internal.h"
#include "warden/tokenizer.h"

wd_status wd__ec_cand_text(const wd__ec_run *r, const wd__ec_cand *c, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (r->c->kind == WD__EC_WORDS) {
        const uint32_t *e = r->pool + c->off;
        /* the kept pieces are disjoint ranges of the original */
        size_t cap = r->n ? r->span[2 * r->n - 1] : 0, ie = 0;
        char *t = malloc(cap + 1), *w = t;
        if (!t) return wd__fail(WD_ERR_NOMEM, "out of memory");
        bool first = true;
        for (size_t p = 0; p < r->n; p++) {
            if (ie < c->n && e[ie] == p) {
                ie++;
                continue;
            }
            /* the spacing that preceded this word in the original */
            size_t from = first || p == 0 ? r->span[2 * p] : r->span[2 * p - 1];
            memcpy(w, r->text + from, r->span[2 * p + 1] - from);
            w += r->span[2 * p + 1] - from;
            first = false;
        }
        *w = '\0';
        *out = t;
        *len = (size_t)(w - t);
        return WD_OK;
    }
    int32_t *ids = malloc((r->n ? r->n : 1) * sizeof *ids);
    if (!ids) return wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t k = wd__ec_kept_ids(r, c, ids);
    wd_decode_params dp = wd_decode_params_default();
    dp.skip_special_tokens = false;
    wd_status st = wd_tokenizer_decode(r->c->tok, ids, k, &dp, out, len);
    free(ids);
    return st;
}

wd_status wd__ec_guard_check(wd__ec_run *r, const wd__ec_cand *const *cs, size_t n, float *score,
                             bool *flag) {
    char *texts[WD__EC_GUARD_BATCH];
    size_t lens[WD__EC_GUARD_BATCH];
    wd_verdict *v[WD__EC_GUARD_BATCH];
    wd_check_params cp = wd_check_params_default();
    cp.role = r->p->role;
    for (size_t at = 0; at < n; at += WD__EC_GUARD_BATCH) {
        size_t m = n - at < WD__EC_GUARD_BATCH ? n - at : WD__EC_GUARD_BATCH;
        wd_status st = WD_OK;
        size_t made = 0;
        for (; made < m && !st; made++) st = wd__ec_cand_text(r, cs[at + made], &texts[made], &lens[made]);
        if (!st) st = wd_guard_check_batch(r->c->g, (const char *const *)texts, lens, m, &cp, v);
        for (size_t i = 0; i < made; i++) free(texts[i]);
        if (st) return st;
        for (size_t i = 0; i < m; i++) {
            flag[at + i] = wd_verdict_unsafe(v[i]);
            score[at + i] = wd_verdict_max_score(v[i]);
            const char *e = wd_verdict_error(v[i]);
            if (e && !r->r->error) r->r->error = strdup(e);
            wd_verdict_free(v[i]);
        }
    }
    return WD_OK;
}
