/*
 * eval/cascade_eval.c - evaluating a guard cascade (`warden eval` on a
 * policy with a `type: cascade` scanner; warden/eval.h, warden/router.h).
 *
 * Scoring (wd_eval_score_cascade): each batch is checked twice, with the
 * first guard alone and with the second alone (WD_CASCADE_MODE_FIRST /
 * _SECOND). The cascade's decision is then the one the router picks -
 * exactly what a routed check gives, since the guards are deterministic -
 * and both guards' figures go into the result line's verdict under
 * "cascade", so every band can be replayed from results.jsonl without
 * running a guard again. An MLP router (SafeRoute) reads the first guard's
 * feature: the first check keeps it (WD_CASCADE_MODE_FEATURE), and the
 * report takes the MLP's choices from the lines' "escalated".
 *
 * Reporting (wd_eval_cascade_report), after wd_eval_run: the clean labelled
 * lines of results.jsonl become wd_cascade_obs; each guard alone, the
 * router's band, and for each share 0, 5%, ..., 100% the band of best F1
 * escalating at most that share (wd_cascade_curve) and the band around the
 * first guard's threshold 0.5 (wd_cascade_curve_centered) go into
 * metrics.json ("cascade") and a section of report.html.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "eval/report_internal.h"
#include "warden/eval.h"
#include "warden/report.h"
#include "warden/router.h"

#define N_SHARES 21 /* 0, 5%, ..., 100% */

/* ==== scoring ============================================================= */

/* The deciding verdict's JSON with "cascade" replaced by both guards' figures. */
static char *detail(const wd_verdict *decided, bool esc, const wd_cascade_info *c1, const wd_verdict *v1,
                    const wd_cascade_info *c2, const wd_verdict *v2) {
    char *js = NULL;
    if (wd_verdict_to_json(decided, &js)) return NULL;
    cJSON *o = cJSON_Parse(js);
    free(js);
    if (!o) return NULL;
    cJSON_DeleteItemFromObject(o, "cascade");
    cJSON *c = cJSON_AddObjectToObject(o, "cascade");
    cJSON_AddBoolToObject(c, "escalated", esc);
    cJSON_AddStringToObject(c, "decided_by", esc ? "second" : "first");
    cJSON_AddNumberToObject(c, "first_score", c1->first_score);
    cJSON_AddBoolToObject(c, "first_unsafe", wd_verdict_unsafe(v1));
    cJSON_AddNumberToObject(c, "first_ms", wd_verdict_micros(v1) / 1e3);
    cJSON_AddBoolToObject(c, "second_unsafe", wd_verdict_unsafe(v2));
    cJSON_AddNumberToObject(c, "second_score", wd_verdict_max_score(v2));
    cJSON_AddNumberToObject(c, "second_ms", wd_verdict_micros(v2) / 1e3);
    cJSON_AddNumberToObject(c, "escalate_ms", c2->second_ms);
    char *s = wd__json_print(o, false);
    cJSON_Delete(o);
    return s;
}

wd_status wd_eval_score_cascade(void *user, const char *const *texts, const size_t *lens, size_t n,
                                wd_eval_score *out) {
    wd_eval_cascade *ec = user;
    if (!ec || !ec->guard) return wd__fail(WD_ERR_INVALID_ARG, "wd_eval_score_cascade: no guard");
    if (!n) return WD_OK;
    wd_verdict **v = calloc(2 * n, sizeof *v);
    if (!v) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_check_params cp = ec->check;
    bool mlp = ec->router.method == WD_ROUTER_METHOD_MLP;
    cp.cascade = mlp ? WD_CASCADE_MODE_FEATURE : WD_CASCADE_MODE_FIRST;
    wd_status st = wd_guard_check_batch(ec->guard, texts, lens, n, &cp, v);
    cp.cascade = WD_CASCADE_MODE_SECOND;
    if (!st) st = wd_guard_check_batch(ec->guard, texts, lens, n, &cp, v + n);
    for (size_t i = 0; !st && i < n; i++) {
        wd_cascade_info c1, c2;
        if (!wd_verdict_cascade(v[i], &c1) || !wd_verdict_cascade(v[n + i], &c2)) {
            st = wd__fail(WD_ERR_INVALID_ARG, "eval: the cascade scanner did not run (is it enabled for role %s?)",
                          wd_role_str(ec->check.role));
            break;
        }
        size_t nf = 0;
        const float *f = wd_verdict_feature(v[i], &nf);
        if (mlp && (!f || nf != ec->router.mlp->n_in)) {
            st = wd__fail(WD_ERR_INVALID_ARG, "eval: the router's MLP takes %zu inputs, the first guard gave %zu%s%s",
                          ec->router.mlp->n_in, nf, wd_verdict_error(v[i]) ? ": " : "",
                          wd_verdict_error(v[i]) ? wd_verdict_error(v[i]) : "");
            break;
        }
        bool esc = wd_router_escalates_feature(&ec->router, c1.first_score, f, nf);
        const wd_verdict *d = esc ? v[n + i] : v[i];
        out[i].flagged = wd_verdict_unsafe(d);
        out[i].score = wd_verdict_max_score(d);
        out[i].categories = wd_verdict_categories(d);
        out[i].latency_ms = wd_verdict_micros(v[i]) / 1e3 + (esc ? c2.second_ms : 0);
        out[i].detail_json = detail(d, esc, &c1, v[i], &c2, v[n + i]);
    }
    for (size_t i = 0; i < 2 * n; i++) wd_verdict_free(v[i]);
    free(v);
    return st;
}

/* ==== reporting =========================================================== */

static double num(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* The clean labelled lines of results.jsonl with a cascade record. */
static wd_status read_obs(const char *path, wd_cascade_obs **out, size_t *n_out, bool **esc_out) {
    char *data = NULL;
    size_t len = 0, n = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
    wd_status st = wd__file_read(path, (size_t)1 << 32, &data, &len);
    if (st) return st;
    wd_cascade_obs *obs = NULL;
    bool *esc = NULL;
    for (char *line = data, *end; !st && line < data + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)(data + len - line));
        if (!end) break; /* a torn last line */
        cJSON *o = cJSON_ParseWithLength(line, (size_t)(end - line));
        const cJSON *t = cJSON_GetObjectItem(o, "transform"), *l = cJSON_GetObjectItem(o, "label");
        const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "verdict"), "cascade");
        bool use = cJSON_IsString(t) && !strcmp(t->valuestring, "clean") && cJSON_IsString(l) &&
                   (!strcmp(l->valuestring, "harmful") || !strcmp(l->valuestring, "benign")) &&
                   cJSON_IsObject(c) && isfinite(num(c, "first_score")) &&
                   cJSON_IsBool(cJSON_GetObjectItem(c, "first_unsafe")) &&
                   cJSON_IsBool(cJSON_GetObjectItem(c, "second_unsafe")); /* a routed verdict has neither */
        if (use && n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            wd_cascade_obs *no = realloc(obs, nc * sizeof *no);
            bool *ne = no ? realloc(esc, nc * sizeof *ne) : NULL;
            if (no) obs = no;
            if (ne) esc = ne;
            if (!no || !ne) st = wd__fail(WD_ERR_NOMEM, "out of memory");
            else cap = nc;
        }
        if (use && !st) esc[n] = cJSON_IsTrue(cJSON_GetObjectItem(c, "escalated"));
        if (use && !st)
            obs[n++] = (wd_cascade_obs){
                .first_score = num(c, "first_score"),
                .harmful = !strcmp(l->valuestring, "harmful"),
                .first_flag = cJSON_IsTrue(cJSON_GetObjectItem(c, "first_unsafe")),
                .second_flag = cJSON_IsTrue(cJSON_GetObjectItem(c, "second_unsafe")),
                .first_ms = num(c, "first_ms"),
                .second_ms = num(c, "second_ms"),
                .escalate_ms = num(c, "escalate_ms"),
            };
        cJSON_Delete(o);
    }
    free(data);
    if (st) {
        free(obs);
        free(esc);
        return st;
    }
    *out = obs;
    *n_out = n;
    *esc_out = esc;
    return WD_OK;
}

static cJSON *point_json(const wd_cascade_point *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "low", p->low);
    cJSON_AddNumberToObject(o, "high", p->high);
    cJSON_AddNumberToObject(o, "escalated", (double)p->n_escalated);
    cJSON_AddNumberToObject(o, "share", p->share);
    cJSON_AddNumberToObject(o, "f1", p->f1);
    if (isfinite(p->precision)) cJSON_AddNumberToObject(o, "precision", p->precision);
    else cJSON_AddNullToObject(o, "precision");
    if (isfinite(p->recall)) cJSON_AddNumberToObject(o, "recall", p->recall);
    else cJSON_AddNullToObject(o, "recall");
    cJSON_AddNumberToObject(o, "mean_ms", p->mean_ms);
    return o;
}

/* Adds "cascade" to metrics.json (rewritten atomically). */
static wd_status add_metrics(const char *path, const wd_report_cascade *rc) {
    cJSON *m = NULL;
    wd_status st = wd__json_load_file(path, 0, &m);
    if (st) return st;
    cJSON_DeleteItemFromObject(m, "cascade");
    cJSON *c = cJSON_AddObjectToObject(m, "cascade");
    cJSON_AddNumberToObject(c, "items", (double)rc->n);
    cJSON_AddItemToObject(c, "first", point_json(&rc->first));
    cJSON_AddItemToObject(c, "second", point_json(&rc->second));
    cJSON_AddItemToObject(c, "cascade", point_json(&rc->cascade));
    const wd_cascade_point *curves[2] = {rc->curve, rc->centered};
    static const char *const names[2] = {"curve", "curve_centered"};
    for (int j = 0; j < 2; j++) {
        cJSON *a = cJSON_AddArrayToObject(c, names[j]);
        for (size_t k = 0; k < rc->n_curve; k++) {
            cJSON *p = point_json(&curves[j][k]);
            cJSON_AddNumberToObject(p, "max_share", rc->shares[k]);
            cJSON_AddItemToArray(a, p);
        }
    }
    char *txt = wd__json_print(m, true);
    cJSON_Delete(m);
    if (!txt) return wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t tl = strlen(txt);
    txt[tl] = '\n';
    st = wd__file_write_atomic(path, txt, tl + 1);
    free(txt);
    return st;
}

wd_status wd_eval_cascade_report(const char *out_dir, const wd_router *router, wd_report_cascade *summary) {
    if (!out_dir || !router) return wd__fail(WD_ERR_INVALID_ARG, "wd_eval_cascade_report: NULL argument");
    char *res = wd__path_join(out_dir, "results.jsonl"), *met = wd__path_join(out_dir, "metrics.json"),
         *rep = wd__path_join(out_dir, "report.html");
    wd_cascade_obs *obs = NULL;
    bool *esc = NULL;
    size_t n = 0;
    wd_status st = res && met && rep ? read_obs(res, &obs, &n, &esc) : wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!st && !n)
        st = wd__fail(WD_ERR_NOT_FOUND, "%s: no clean labelled line with a cascade record (was it scored with "
                                        "wd_eval_score_cascade?)", res);
    double shares[N_SHARES];
    for (int k = 0; k < N_SHARES; k++) shares[k] = k / (double)(N_SHARES - 1);
    wd_cascade_point curve[N_SHARES], centered[N_SHARES];
    wd_report_cascade rc = {.n = n, .curve = curve, .centered = centered, .shares = shares, .n_curve = N_SHARES};
    if (!st) st = wd_cascade_curve(obs, n, shares, N_SHARES, curve);
    if (!st) st = wd_cascade_curve_centered(obs, n, 0.5, shares, N_SHARES, centered);
    if (!st) {
        rc.first = wd_cascade_eval(obs, n, 0, 0);
        rc.second = wd_cascade_eval(obs, n, 0, 2); /* every text to the second guard... */
        double ms = 0;                             /* ...which alone pays only its own time */
        for (size_t i = 0; i < n; i++) ms += obs[i].second_ms;
        rc.second.mean_ms = n ? ms / (double)n : NAN;
        if (router->method == WD_ROUTER_METHOD_MLP) { /* the lines' choices, as the band [0.5, 2) on 0 / 1 */
            wd_cascade_obs *o = malloc(n * sizeof *o);
            if (!o) st = wd__fail(WD_ERR_NOMEM, "out of memory");
            for (size_t i = 0; o && i < n; i++) {
                o[i] = obs[i];
                o[i].first_score = esc[i] ? 1.0 : 0.0;
            }
            if (o) rc.cascade = wd_cascade_eval(o, n, 0.5, 2);
            free(o);
        } else {
            rc.cascade = wd_cascade_eval(obs, n, router->low, router->high);
        }
    }
    if (!st) {
        st = add_metrics(met, &rc);
    }
    char *section = NULL;
    if (!st) st = wd_report_cascade_html(&rc, &section);
    if (!st && wd__path_exists(rep)) st = wd__report_insert_section(rep, section);
    if (!st && summary) {
        *summary = rc;
        summary->curve = summary->centered = NULL; /* the curves live in metrics.json */
        summary->shares = NULL;
        summary->n_curve = 0;
    }
    free(section);
    free(obs);
    free(esc);
    free(res);
    free(met);
    free(rep);
    return st;
}
