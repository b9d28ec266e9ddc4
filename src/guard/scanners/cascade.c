/*
 * guard/scanners/cascade.c - the `cascade` scanner: a fast guard first, and
 * a second (slow, model) guard only for the texts the first is unsure of,
 * as SafeRoute (METHODS.md 12a) routes between a small and a large guard.
 *
 * Policy node:
 *   - type: cascade
 *     first:  {type: classifier}                    # any scanner node
 *     second: {type: llm_judge, model: judge/}      # any scanner node
 *     router: router.json                           # from `warden train-router`
 *     # or the band inline:  low: 0.3   high: 0.7
 *
 * Routing (warden/router.h): the first guard scans the text; its highest
 * category score s decides: low <= s < high -> the second guard scans the
 * text and its scores and hits are the cascade's; otherwise the first's
 * are. A cascade with neither router nor low/high escalates nothing (the
 * first guard decides every text), and so does every cascade of a guard
 * loaded with wd_guard_params.cascade_untrained (its router file is not
 * opened): what `warden train-router --policy` starts from. wd_check_params.cascade can force either guard alone
 * (WD_CASCADE_MODE_FIRST / _SECOND), which is how eval and train-router
 * measure each guard on the same texts.
 *
 * An MLP router (SafeRoute's, `warden train-router --method mlp`) reads
 * the first guard's feature instead of its score: the first guard must be
 * one that gives it (vt.gives_feature: llm_judge with the Llama Guard
 * prompt), asked for it in the same scan (in.want_feature), and the
 * second guard runs when P(escalate) >= the router's p_min. Mode FEATURE
 * (wd_check_params.cascade) runs the first guard alone and keeps its
 * feature in the verdict: what train-router and eval read.
 *
 * What it did is reported beside the scores (wd__scan_result.cascade): the
 * first score, whether it escalated, and each guard's own time; the engine
 * puts it into the verdict (wd_verdict_cascade, "cascade" in its JSON).
 *
 * The two sub-scanners are built by their own types' init from their
 * nodes; `roles`, `weight` and `enabled` belong on the cascade's node, and
 * a cascade inside a cascade is refused. Each keeps its own per-thread
 * scratch, made the first time that guard runs on the thread (a second
 * guard that is never asked for never builds its KV cache).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/util.h"
#include "guard/guard_internal.h"
#include "guard/scanner.h"
#include "warden/router.h"

typedef struct cascade {
    const wd__scanner_vt *vt[2];
    void                 *impl[2];
    wd_router             router;
} cascade;

typedef struct cascade_scratch {
    const cascade *c;
    void          *s[2];
    bool           made[2];
} cascade_scratch;

extern const wd__scanner_vt wd__scanner_cascade;

static const char *const which[2] = {"first", "second"};

static void cascade_free(void *vimpl) {
    cascade *c = vimpl;
    if (!c) return;
    for (int k = 0; k < 2; k++)
        if (c->vt[k] && c->impl[k] && c->vt[k]->free) c->vt[k]->free(c->impl[k]);
    wd_router_clear(&c->router);
    free(c);
}

/* Builds sub-scanner k from the node under its key. */
static wd_status sub_init(cascade *c, int k, const wd__pnode *cfg, const wd__scanner_env *env, wd__err *err) {
    const wd__pnode *n = wd__pn_get(cfg, which[k]);
    if (!n) return wd__pn_error(cfg, err, WD_ERR_FORMAT, which[k], "missing: a cascade names its %s guard ({type: ..})", which[k]);
    if (n->kind != WD_PN_MAP) return wd__pn_error(n, err, WD_ERR_FORMAT, which[k], "expected a scanner node {type: ..}");
    static const char *const own[] = {"roles", "weight", "enabled"};
    for (size_t i = 0; i < 3; i++)
        if (wd__pn_get(n, own[i]))
            return wd__pn_error(wd__pn_get(n, own[i]), err, WD_ERR_FORMAT, own[i],
                                "set it on the cascade node, not on its %s guard", which[k]);
    const char *type = NULL;
    wd_status st = wd__pn_string(n, "type", &type, err);
    if (st) return st;
    if (!type) return wd__pn_error(n, err, WD_ERR_FORMAT, "type", "missing: the %s guard names its type", which[k]);
    const wd__scanner_vt *vt = wd__scanner_find(type);
    if (!vt) {
        char types[256];
        wd__scanner_types(types, sizeof types);
        return wd__pn_error(wd__pn_get(n, "type"), err, WD_ERR_NOT_FOUND, "type",
                            "unknown scanner type '%s' (known: %s)", type, types);
    }
    if (!strcmp(type, "cascade"))
        return wd__pn_error(wd__pn_get(n, "type"), err, WD_ERR_FORMAT, "type", "a cascade cannot hold a cascade");
    if ((st = vt->init(n, env, &c->impl[k], err))) return st;
    c->vt[k] = vt;
    return WD_OK;
}

/* The router: a file, or low/high inline, or none (escalate nothing). */
static wd_status router_init(cascade *c, const wd__pnode *cfg, const wd__scanner_env *env, wd__err *err) {
    c->router = wd_router_band(0, 0);
    const wd__pnode *rn = wd__pn_get(cfg, "router");
    bool inline_band = wd__pn_get(cfg, "low") || wd__pn_get(cfg, "high");
    if (rn && inline_band)
        return wd__pn_error(rn, err, WD_ERR_FORMAT, "router", "give a router file or low/high, not both");
    if (rn) {
        const char *file = NULL;
        wd_status st = wd__pn_string(cfg, "router", &file, err);
        if (st || (env && env->cascade_untrained)) return st;
        char *path = file[0] == '/' || !env || !env->policy_dir ? strdup(file) : wd__path_join(env->policy_dir, file);
        if (!path) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        st = wd_router_read(path, &c->router);
        free(path);
        if (st) return wd__pn_error(rn, err, st, "router", "%s", wd_last_error());
        return WD_OK;
    }
    if (!inline_band) return WD_OK;
    if (!wd__pn_get(cfg, "low") || !wd__pn_get(cfg, "high"))
        return wd__pn_error(cfg, err, WD_ERR_FORMAT, wd__pn_get(cfg, "low") ? "high" : "low",
                            "missing: an inline band gives both low and high");
    double low = 0, high = 0;
    wd_status st = wd__pn_number(cfg, "low", 0, 1, &low, err);
    if (!st) st = wd__pn_number(cfg, "high", 0, 2, &high, err);
    if (st) return st;
    if (high < low)
        return wd__pn_error(wd__pn_get(cfg, "high"), err, WD_ERR_FORMAT, "high", "%g is below low (%g)", high, low);
    if (!env || !env->cascade_untrained) c->router = wd_router_band(low, high);
    return WD_OK;
}

static wd_status cascade_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl, wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled",
                                       "first", "second", "router", "low", "high", NULL};
    *impl = NULL;
    wd_status st = wd__pn_check_keys(cfg, keys, "a cascade scanner", err);
    if (st) return st;
    cascade *c = calloc(1, sizeof *c);
    if (!c) return wd__err_set(err, WD_ERR_NOMEM, "cascade: out of memory");
    if ((st = router_init(c, cfg, env, err)) || (st = sub_init(c, 0, cfg, env, err)) ||
        (st = sub_init(c, 1, cfg, env, err))) {
        cascade_free(c);
        return st;
    }
    if (c->router.method == WD_ROUTER_METHOD_MLP &&
        !(c->vt[0]->gives_feature && c->vt[0]->gives_feature(c->impl[0]))) {
        st = wd__pn_error(wd__pn_get(cfg, "router"), err, WD_ERR_FORMAT, "router",
                          "an MLP router reads the first guard's hidden state: the first guard must be a model "
                          "judge that gives it (llm_judge with the Llama Guard prompt), not '%s'", c->vt[0]->type);
        cascade_free(c);
        return st;
    }
    *impl = c;
    return WD_OK;
}

static void *cascade_scratch_new(const void *impl) {
    cascade_scratch *s = calloc(1, sizeof *s);
    if (s) s->c = impl;
    return s;
}

static void cascade_scratch_free(void *scratch) {
    cascade_scratch *s = scratch;
    if (!s) return;
    for (int k = 0; k < 2; k++)
        if (s->made[k] && s->c->vt[k]->scratch_free) s->c->vt[k]->scratch_free(s->s[k]);
    free(s);
}

/* Runs guard k on the text into res (emptied first); *ms its time. */
static wd_status run_guard(cascade_scratch *s, int k, const wd__scan_input *in, wd__scan_result *res, wd__err *err,
                           double *ms) {
    const cascade *c = s->c;
    if (!s->made[k]) {
        s->s[k] = c->vt[k]->scratch_new ? c->vt[k]->scratch_new(c->impl[k]) : NULL;
        s->made[k] = true;
    }
    memset(res->score, 0, sizeof res->score);
    res->n_hits = 0;
    res->rationale = NULL; /* the deciding guard's, when it writes one */
    res->feature = NULL;
    double t0 = wd__now_us();
    wd_status st = c->vt[k]->scan(c->impl[k], s->s[k], in, res, err);
    *ms = (wd__now_us() - t0) / 1e3;
    return st;
}

static wd_status cascade_scan(const void *impl, void *scratch, const wd__scan_input *in, wd__scan_result *res,
                              wd__err *err) {
    const cascade *c = impl;
    cascade_scratch *s = scratch;
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "cascade: no work space (out of memory)");
    wd_cascade_info info = {false, NAN, 0, 0};
    wd_status st;
    bool mlp = c->router.method == WD_ROUTER_METHOD_MLP, route = in->cascade == WD_CASCADE_MODE_ROUTE;
    if (in->cascade != WD_CASCADE_MODE_SECOND) {
        wd__scan_input fin = *in;
        fin.want_feature = in->cascade == WD_CASCADE_MODE_FEATURE || (route && mlp);
        if (fin.want_feature && !(c->vt[0]->gives_feature && c->vt[0]->gives_feature(c->impl[0])))
            return wd__err_set(err, WD_ERR_UNSUPPORTED, "cascade: the first guard ('%s') gives no feature for a "
                                                        "learned router (put a model judge first)", c->vt[0]->type);
        if ((st = run_guard(s, 0, &fin, res, err, &info.first_ms))) return st;
        float best = 0;
        for (int k = 0; k < WD_CATEGORY_COUNT; k++)
            if (res->score[k] > best) best = res->score[k];
        info.first_score = best;
        if (route && mlp && (!res->feature || res->n_feature != c->router.mlp->n_in))
            return wd__err_set(err, WD_ERR_FORMAT, "cascade: the router's MLP takes %zu inputs, the first guard's "
                                                   "feature has %zu (was the router trained with this guard?)",
                               c->router.mlp->n_in, res->feature ? res->n_feature : 0);
    }
    info.escalated = in->cascade == WD_CASCADE_MODE_SECOND ||
                     (route && wd_router_escalates_feature(&c->router, info.first_score, res->feature,
                                                           res->n_feature));
    if (info.escalated && (st = run_guard(s, 1, in, res, err, &info.second_ms))) return st;
    res->cascaded = true;
    res->cascade = info;
    return WD_OK;
}

const wd__scanner_vt wd__scanner_cascade = {
    .type = "cascade",
    .init = cascade_init,
    .free = cascade_free,
    .scratch_new = cascade_scratch_new,
    .scratch_free = cascade_scratch_free,
    .scan = cascade_scan,
    .scan_batch = NULL,
};

/* ==== the guard-level helpers (warden/guard.h) ============================ */

bool wd_guard_cascade_router(const wd_guard *g, wd_router *out) {
    for (size_t i = 0; g && i < g->n_sc; i++)
        if (g->sc[i].vt == &wd__scanner_cascade) {
            if (out) *out = ((const cascade *)g->sc[i].impl)->router; /* the MLP borrowed */
            return true;
        }
    return false;
}

wd_status wd_guard_load_cascade(const char *first, const char *second, const wd_router *router, const char *dir,
                                const wd_guard_params *params, wd_guard **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load_cascade: out is NULL");
    *out = NULL;
    if (!first || !second) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load_cascade: a guard node is NULL");
    if (strchr(first, '\n') || strchr(second, '\n'))
        return wd__fail(WD_ERR_INVALID_ARG, "cascade: a guard node is one line of YAML ({type: ..., ...})");
    char band[96] = "";
    if (router && router->method != WD_ROUTER_METHOD_THRESHOLD)
        return wd__fail(WD_ERR_UNSUPPORTED, "cascade: an MLP router is loaded from its file (router: FILE in a "
                                            "policy), not inline");
    if (router)
        snprintf(band, sizeof band, "\n    low: %.17g\n    high: %.17g", router->low, router->high);
    size_t cap = strlen(first) + strlen(second) + sizeof band + 128;
    char *yaml = malloc(cap);
    if (!yaml) return wd__fail(WD_ERR_NOMEM, "out of memory");
    snprintf(yaml, cap, "name: cascade\nscanners:\n  - type: cascade\n    first: %s\n    second: %s%s\n", first,
             second, band);
    wd_status st = wd_guard_load_string(yaml, strlen(yaml), "<cascade>", dir ? dir : ".", params, out);
    free(yaml);
    return st;
}
