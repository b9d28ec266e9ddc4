/*
 * explain/explain_ig.c - integrated gradients as a wd_explanation: the
 * public face of ig.c (wd_explain_ig). ig.c attributes the judge's answer
 * to the text's tokens; this file asks it, then sums the token shares into
 * the caller's units (words, or the tokens of a tokenizer, as
 * wd_explain_split cuts them), so the JSON, HTML and terminal output of the
 * Shapley explainers serve it unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/utf8.h"
#include "explain/ig.h"
#include "warden/explain.h"

wd_explain_ig_params wd_explain_ig_params_default(void) {
    return (wd_explain_ig_params){.steps = 32};
}

static const char *target_label(wd_explain_ig_target t) {
    switch (t) {
    case WD_EXPLAIN_IG_TARGET_LOGP: return "log p(unsafe)";
    case WD_EXPLAIN_IG_TARGET_PROB: return "p(unsafe)";
    default: return "log-odds(unsafe)";
    }
}

/* Public settings -> ig.c's. */
static wd_status ig_params(const wd_explain_ig_params *q, wd__ig_params *p) {
    *p = wd__ig_params_default();
    if ((unsigned)q->target > WD_EXPLAIN_IG_TARGET_PROB || (unsigned)q->baseline > WD_EXPLAIN_IG_BASELINE_ZERO)
        return wd__fail(WD_ERR_INVALID_ARG, "explain: unknown integrated-gradients target or baseline");
    p->steps = q->steps;
    p->target = q->target == WD_EXPLAIN_IG_TARGET_LOGP   ? WD__IG_TARGET_LOGP
                : q->target == WD_EXPLAIN_IG_TARGET_PROB ? WD__IG_TARGET_PROB
                                                         : WD__IG_TARGET_LOGODDS;
    p->baseline = q->baseline == WD_EXPLAIN_IG_BASELINE_PAD    ? WD__IG_BASELINE_PAD
                  : q->baseline == WD_EXPLAIN_IG_BASELINE_ZERO ? WD__IG_BASELINE_ZERO
                                                               : WD__IG_BASELINE_AUTO;
    p->role = q->output ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    p->n_threads = q->n_threads;
    return WD_OK;
}

wd_status wd_explain_ig(const char *model_dir, const char *text, size_t len, const wd_explain_params *params,
                        const wd_explain_ig_params *ig, wd_explanation **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "explain_ig: NULL out");
    *out = NULL;
    if (!model_dir || (!text && len)) return wd__fail(WD_ERR_INVALID_ARG, "explain_ig: NULL argument");
    if (!text) text = "";
    wd_explain_params p = params ? *params : wd_explain_params_default();
    wd_explain_ig_params q = ig ? *ig : wd_explain_ig_params_default();
    if (wd_utf8_valid_prefix(text, len) != len)
        return wd__fail(WD_ERR_ENCODING, "explain: the text is not valid UTF-8 at byte %zu",
                        wd_utf8_valid_prefix(text, len));
    wd__ig_params ip;
    wd_status st = ig_params(&q, &ip);
    if (st) return st;

    wd_explanation *ex = calloc(1, sizeof *ex);
    size_t *s = NULL, *e = NULL;
    wd__ig_result r = {0};
    if (!ex || !(ex->text = malloc(len + 1)) || !(ex->label = strdup(target_label(q.target)))) {
        st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
        goto done;
    }
    memcpy(ex->text, text, len);
    ex->text[len] = '\0';
    ex->len = len;
    ex->unit_kind = p.units;
    ex->method = WD_EXPLAIN_METHOD_IG;
    if ((st = wd_explain_split(ex->text, len, p.units, p.tokenizer, &ex->units, &ex->n_units))) goto done;
    if ((st = wd__ig_judge(model_dir, ex->text, len, &ip, &r))) goto done;

    size_t m = ex->n_units;
    ex->attr = calloc(m ? m : 1, sizeof *ex->attr);
    s = malloc((m ? m : 1) * sizeof *s);
    e = malloc((m ? m : 1) * sizeof *e);
    if (!ex->attr || !s || !e) {
        st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
        goto done;
    }
    for (size_t i = 0; i < m; i++) s[i] = ex->units[i].start, e[i] = ex->units[i].end;
    wd__ig_group(&r, s, e, m, ex->attr);
    ex->value = r.value;
    ex->base_value = r.base_value;
    ex->n_samples = (size_t)ip.steps;
    ex->n_evals = r.n_rows;
done:
    wd__ig_result_free(&r);
    free(s);
    free(e);
    if (st) {
        wd_explanation_free(ex);
        return st;
    }
    *out = ex;
    return WD_OK;
}
