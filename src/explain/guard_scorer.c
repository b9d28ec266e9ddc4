/*
 * explain/guard_scorer.c - a guard as the scorer of explanations: the
 * overall score of the verdict (its largest category score) or one
 * category's score, so that `warden explain --category S9` explains why
 * the text scored on S9 whatever else it scored on. A verdict with an error
 * (too long for the policy, a scanner that failed) stops the explanation:
 * its fail-open or fail-closed score says nothing about the words.
 */
#include <stdlib.h>

#include "base/err.h"
#include "warden/explain.h"

wd_status wd_explain_guard_scorer(void *user, const char *const *texts, const size_t *lens, size_t n,
                                  wd_eval_score *out) {
    wd_explain_guard *eg = user;
    if (!eg || !eg->guard) return wd__fail(WD_ERR_INVALID_ARG, "explain_guard_scorer: no guard");
    if (!n) return WD_OK;
    wd_verdict **v = calloc(n, sizeof *v);
    if (!v) return wd__fail(WD_ERR_NOMEM, "explain_guard_scorer: out of memory");
    wd_status st = wd_guard_check_batch(eg->guard, texts, lens, n, &eg->check, v);
    if (st != WD_OK) {
        free(v);
        return st;
    }
    for (size_t i = 0; i < n && st == WD_OK; i++) /* a text the guard could not check has no score */
        if (wd_verdict_error(v[i]))
            st = wd__fail(WD_ERR_FORMAT, "the guard could not check a masked text (%zu bytes): %s", lens[i],
                          wd_verdict_error(v[i]));
    for (size_t i = 0; i < n; i++) {
        if (st != WD_OK) {
            wd_verdict_free(v[i]);
            continue;
        }
        out[i].flagged = wd_verdict_unsafe(v[i]);
        out[i].categories = wd_verdict_categories(v[i]);
        out[i].score = eg->category < 0 ? wd_verdict_max_score(v[i])
                                        : wd_verdict_score(v[i], (wd_category)eg->category);
        out[i].latency_ms = wd_verdict_micros(v[i]) / 1000.0;
        wd_verdict_free(v[i]);
    }
    free(v);
    return st;
}
