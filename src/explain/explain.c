/*
 * explain/explain.c - explaining a text: units, the masked-text game, the
 * method, and the explanation's JSON.
 *
 * The game. v(S) = the scorer's score of the text in which every unit
 * outside S is replaced by the mask string (deleted when there is none);
 * the bytes between units (blanks, or whatever a tokenizer left out) are
 * kept. Coalitions arrive in any number; they are rendered and scored in
 * batches of params.batch_size texts, one scorer call per batch, so a
 * model guard sees whole batches.
 *
 * The method (AUTO): exact Shapley up to 10 units (1024 evaluations),
 * KernelSHAP up to 64 (its default 2m + 2048 samples), the partition
 * explainer beyond (4m evaluations).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "explain/explain_internal.h"
#include "warden/json.h"

#define AUTO_EXACT_MAX 10
#define AUTO_KERNEL_MAX 64

static const char *const METHOD_NAMES[] = {"auto", "exact", "kernel", "partition", "ig"};

const char *wd_explain_method_str(wd_explain_method m) {
    return (unsigned)m < sizeof METHOD_NAMES / sizeof METHOD_NAMES[0] ? METHOD_NAMES[m] : NULL;
}

wd_explain_params wd_explain_params_default(void) {
    wd_explain_params p = {.method = WD_EXPLAIN_METHOD_AUTO, .units = WD_EXPLAIN_UNITS_WORDS,
                           .batch_size = 64};
    return p;
}

void wd_explanation_free(wd_explanation *ex) {
    if (!ex) return;
    free(ex->text);
    free(ex->units);
    free(ex->attr);
    free(ex->label);
    free(ex);
}

/* ==== the masked-text game =============================================== */

typedef struct text_game {
    const char            *text;
    size_t                 len;
    const wd_explain_span *u;
    size_t                 m;
    const char            *mask;
    size_t                 mask_len;
    wd_eval_scorer         scorer;
    void                  *user;
    size_t                 batch;
    size_t                 n_evals;
    char                 **texts; /* (batch) rendered texts, each of room len + m * mask_len */
    size_t                *lens;
    wd_eval_score         *scores;
} text_game;

static size_t render(const text_game *g, const uint8_t *z, char *dst) {
    size_t n = 0, at = 0;
    for (size_t i = 0; i < g->m; i++) {
        memcpy(dst + n, g->text + at, g->u[i].start - at); /* the bytes before the unit */
        n += g->u[i].start - at;
        if (z[i]) {
            memcpy(dst + n, g->text + g->u[i].start, g->u[i].end - g->u[i].start);
            n += g->u[i].end - g->u[i].start;
        } else if (g->mask_len) {
            memcpy(dst + n, g->mask, g->mask_len);
            n += g->mask_len;
        }
        at = g->u[i].end;
    }
    memcpy(dst + n, g->text + at, g->len - at);
    n += g->len - at;
    dst[n] = '\0';
    return n;
}

static wd_status text_game_value(void *user, const uint8_t *co, size_t n, size_t m, double *out) {
    text_game *g = user;
    for (size_t k0 = 0; k0 < n; k0 += g->batch) {
        size_t nb = n - k0 < g->batch ? n - k0 : g->batch;
        for (size_t k = 0; k < nb; k++) {
            g->lens[k] = render(g, co + (k0 + k) * m, g->texts[k]);
            g->scores[k] = (wd_eval_score){.score = NAN, .latency_ms = -1};
        }
        wd_status st = g->scorer(g->user, (const char *const *)g->texts, g->lens, nb, g->scores);
        for (size_t k = 0; k < nb; k++) {
            free(g->scores[k].detail_json);
            g->scores[k].detail_json = NULL;
        }
        if (st != WD_OK) return st;
        for (size_t k = 0; k < nb; k++) {
            if (!isfinite(g->scores[k].score))
                return wd__fail(WD_ERR_FORMAT, "explain: the scorer gave no score for masked text %zu",
                                g->n_evals + k);
            out[k0 + k] = g->scores[k].score;
        }
        g->n_evals += nb;
    }
    return WD_OK;
}

static void text_game_free(text_game *g) {
    if (g->texts)
        for (size_t k = 0; k < g->batch; k++) free(g->texts[k]);
    free(g->texts);
    free(g->lens);
    free(g->scores);
}

/* ==== explaining ========================================================= */

wd_status wd_explain_text(const char *text, size_t len, wd_eval_scorer scorer, void *user,
                          const wd_explain_params *params, wd_explanation **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "explain_text: NULL out");
    *out = NULL;
    if ((!text && len) || !scorer) return wd__fail(WD_ERR_INVALID_ARG, "explain_text: NULL argument");
    wd_explain_params p = params ? *params : wd_explain_params_default();
    if (!p.batch_size) p.batch_size = 64;
    if (wd_utf8_valid_prefix(text ? text : "", len) != len)
        return wd__fail(WD_ERR_ENCODING, "explain: the text is not valid UTF-8 at byte %zu",
                        wd_utf8_valid_prefix(text, len));
    wd_explanation *ex = calloc(1, sizeof *ex);
    if (!ex) return wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    ex->text = malloc(len + 1);
    wd_status st = ex->text ? WD_OK : wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    if (st == WD_OK) {
        memcpy(ex->text, text ? text : "", len);
        ex->text[len] = '\0';
        ex->len = len;
        ex->unit_kind = p.units;
        st = wd_explain_split(ex->text, len, p.units, p.tokenizer, &ex->units, &ex->n_units);
    }
    size_t m = ex->n_units;
    wd_explain_method method = p.method;
    if (method == WD_EXPLAIN_METHOD_AUTO)
        method = m <= AUTO_EXACT_MAX ? WD_EXPLAIN_METHOD_EXACT
                 : m <= AUTO_KERNEL_MAX ? WD_EXPLAIN_METHOD_KERNEL
                                        : WD_EXPLAIN_METHOD_PARTITION;
    ex->method = method;
    if (st == WD_OK && m > WD_EXPLAIN_MAX_UNITS)
        st = wd__fail(WD_ERR_RANGE, "explain: %zu units are too many (at most %d: every evaluation scores the "
                                    "whole text, so the cost grows as units x length); explain a part of the text",
                      m, WD_EXPLAIN_MAX_UNITS);
    if (st == WD_OK && method == WD_EXPLAIN_METHOD_EXACT && m > WD_SHAP_EXACT_MAX)
        st = wd__fail(WD_ERR_RANGE, "explain: %zu units are too many for exact Shapley (at most %d); use "
                                    "kernel or partition", m, WD_SHAP_EXACT_MAX);
    if (st == WD_OK && method == WD_EXPLAIN_METHOD_IG)
        st = wd__fail(WD_ERR_UNSUPPORTED, "explain: integrated gradients need the model's gradients, not a "
                                          "scorer: they are not available through wd_explain_text");
    if (st == WD_OK && (unsigned)method > WD_EXPLAIN_METHOD_PARTITION)
        st = wd__fail(WD_ERR_INVALID_ARG, "explain: unknown method %d", (int)method);
    text_game g = {.text = ex->text, .len = len, .u = ex->units, .m = m, .mask = p.mask,
                   .mask_len = p.mask ? strlen(p.mask) : 0, .scorer = scorer, .user = user,
                   .batch = p.batch_size};
    if (st == WD_OK) {
        g.texts = calloc(g.batch, sizeof *g.texts);
        g.lens = calloc(g.batch, sizeof *g.lens);
        g.scores = calloc(g.batch, sizeof *g.scores);
        ex->attr = calloc(m ? m : 1, sizeof *ex->attr);
        if (!g.texts || !g.lens || !g.scores || !ex->attr) st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
        for (size_t k = 0; st == WD_OK && k < g.batch; k++)
            if (!(g.texts[k] = malloc(len + m * g.mask_len + 1))) st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    }
    wd_shap_info info = {0};
    if (st == WD_OK) {
        switch (method) {
        case WD_EXPLAIN_METHOD_EXACT: st = wd_shap_exact(text_game_value, &g, m, ex->attr, &info); break;
        case WD_EXPLAIN_METHOD_KERNEL: {
            wd_kernel_shap_params kp = {.nsamples = p.nsamples, .seed = p.seed};
            st = wd_shap_kernel(text_game_value, &g, m, &kp, ex->attr, &info);
            break;
        }
        default: st = wd_shap_partition(text_game_value, &g, m, ex->attr, &info); break;
        }
    }
    text_game_free(&g);
    if (st != WD_OK) {
        wd_explanation_free(ex);
        return st;
    }
    ex->value = info.value;
    ex->base_value = info.base_value;
    ex->n_samples = info.n_samples;
    ex->n_evals = g.n_evals;
    *out = ex;
    return WD_OK;
}

/* ==== JSON =============================================================== */

static cJSON *to_cjson(const wd_explanation *ex) {
    cJSON *o = cJSON_CreateObject(), *us = NULL;
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "value", ex->value);
    cJSON_AddNumberToObject(o, "base_value", ex->base_value);
    cJSON_AddStringToObject(o, "method", wd_explain_method_str(ex->method));
    cJSON_AddStringToObject(o, "units_kind", ex->unit_kind == WD_EXPLAIN_UNITS_TOKENS ? "tokens" : "words");
    cJSON_AddNumberToObject(o, "nsamples", (double)ex->n_samples);
    cJSON_AddNumberToObject(o, "evaluations", (double)ex->n_evals);
    if (ex->label) cJSON_AddStringToObject(o, "label", ex->label);
    double sum = 0.0;
    for (size_t i = 0; i < ex->n_units; i++) sum += ex->attr[i];
    cJSON_AddNumberToObject(o, "delta", sum - (ex->value - ex->base_value));
    if (!(us = cJSON_AddArrayToObject(o, "units"))) goto fail;
    for (size_t i = 0; i < ex->n_units; i++) {
        cJSON *u = cJSON_CreateObject();
        char *t = strndup(ex->text + ex->units[i].start, ex->units[i].end - ex->units[i].start);
        if (!u || !t) {
            cJSON_Delete(u);
            free(t);
            goto fail;
        }
        cJSON_AddItemToArray(us, u);
        cJSON_AddStringToObject(u, "text", t);
        free(t);
        cJSON_AddNumberToObject(u, "start", (double)ex->units[i].start);
        cJSON_AddNumberToObject(u, "end", (double)ex->units[i].end);
        cJSON_AddNumberToObject(u, "attribution", ex->attr[i]);
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

void *wd__explanation_cjson(const wd_explanation *ex) { return ex ? to_cjson(ex) : NULL; }

wd_status wd_explanation_to_json(const wd_explanation *ex, char **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "explanation_to_json: NULL out");
    *out = NULL;
    if (!ex) return wd__fail(WD_ERR_INVALID_ARG, "explanation_to_json: NULL explanation");
    cJSON *o = to_cjson(ex);
    char *s = o ? wd_json_print(o, false) : NULL;
    cJSON_Delete(o);
    if (!s) return wd__fail(WD_ERR_NOMEM, "explanation_to_json: out of memory");
    *out = s;
    return WD_OK;
}
