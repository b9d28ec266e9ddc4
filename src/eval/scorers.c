/*
 * eval/scorers.c - the ready-made wd_eval_scorer callbacks (warden/eval.h):
 * a guard, and erase-and-check over a guard or a model. The evaluation
 * runner (eval.c) knows neither; these adapt them to its one interface.
 */
#include <stdlib.h>

#include "base/err.h"
#include "warden/eval.h"

wd_status wd_eval_score_guard(void *user, const char *const *texts, const size_t *lens, size_t n,
                              wd_eval_score *out) {
    wd_eval_guard *eg = user;
    if (!eg || !eg->guard) return wd__fail(WD_ERR_INVALID_ARG, "wd_eval_score_guard: no guard");
    if (!n) return WD_OK;
    wd_verdict **v = malloc(n * sizeof *v);
    if (!v) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = wd_guard_check_batch(eg->guard, texts, lens, n, &eg->check, v);
    if (st) {
        free(v);
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        out[i].flagged = wd_verdict_unsafe(v[i]);
        out[i].score = wd_verdict_max_score(v[i]);
        out[i].categories = wd_verdict_categories(v[i]);
        out[i].latency_ms = wd_verdict_micros(v[i]) / 1000.0;
        if (wd_verdict_to_json(v[i], &out[i].detail_json)) out[i].detail_json = NULL;
        wd_verdict_free(v[i]);
    }
    free(v);
    return WD_OK;
}

wd_status wd_eval_score_certify(void *user, const char *const *texts, const size_t *lens, size_t n,
                                wd_eval_score *out) {
    wd_eval_certify *ec = user;
    if (!ec || !ec->certifier) return wd__fail(WD_ERR_INVALID_ARG, "wd_eval_score_certify: no certifier");
    for (size_t i = 0; i < n; i++) {
        wd_certificate *r = NULL;
        wd_status st = wd_certify(ec->certifier, texts[i], lens[i], &ec->params, &r);
        if (st) return st;
        out[i].flagged = wd_certificate_harmful(r);
        out[i].score = wd_certificate_max_score(r);
        out[i].latency_ms = wd_certificate_micros(r) / 1000.0;
        if (wd_certificate_to_json(r, &out[i].detail_json)) out[i].detail_json = NULL;
        wd_certificate_free(r);
    }
    return WD_OK;
}
