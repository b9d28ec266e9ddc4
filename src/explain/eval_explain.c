/*
 * explain/eval_explain.c - explanations of an evaluation's worst errors
 * (`warden eval --explain N`).
 *
 * eval/ sits below explain/, so the evaluation knows nothing of this: the
 * caller runs wd_eval_run, then this reads what it wrote. From
 * OUT/results.jsonl (clean lines only; wd_eval_run refuses a file with lines
 * of units that are not in the run, so every line is one of its units) it
 * takes the N false negatives with the lowest scores and the N false
 * positives with the highest, explains each with the caller's scorer,
 * writes OUT/explanations.json atomically, and inserts an "Explanations"
 * section into OUT/report.html before its </main> (the page rewritten
 * atomically; a page without </main> gets the section before </body>, or
 * at its end).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "eval/report_internal.h"
#include "explain/explain_internal.h"
#include "warden/json.h"

#define RESULTS_MAX ((size_t)1 << 32)

typedef struct err_item {
    char  *key, *text;
    double score;
    bool   harmful; /* true: a false negative */
} err_item;

static int cmp_fn(const void *a, const void *b) { /* lowest score first */
    double x = ((const err_item *)a)->score, y = ((const err_item *)b)->score;
    return (x > y) - (x < y);
}

static int cmp_fp(const void *a, const void *b) { /* highest score first */
    return cmp_fn(b, a);
}

/* Reads the clean errors of results.jsonl into fn[] and fp[] (malloc'd). */
static wd_status read_errors(const char *path, err_item **fn, size_t *n_fn, err_item **fp, size_t *n_fp) {
    char *data = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(path, RESULTS_MAX, &data, &len);
    if (st != WD_OK) return st;
    size_t cap_fn = 0, cap_fp = 0;
    for (char *line = data, *end; st == WD_OK && line < data + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)(data + len - line));
        if (!end) end = data + len; /* a torn last line fails to parse: skipped */
        cJSON *o = cJSON_ParseWithLength(line, (size_t)(end - line));
        if (!o) continue;
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "transform");
        const cJSON *lb = cJSON_GetObjectItemCaseSensitive(o, "label");
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(o, "flagged");
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "score");
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(o, "text");
        const cJSON *ky = cJSON_GetObjectItemCaseSensitive(o, "key");
        if (cJSON_IsString(tr) && !strcmp(tr->valuestring, "clean") && cJSON_IsString(lb) && cJSON_IsBool(fl) &&
            cJSON_IsString(tx) && cJSON_IsString(ky)) {
            bool harmful = !strcmp(lb->valuestring, "harmful"), benign = !strcmp(lb->valuestring, "benign");
            bool flagged = cJSON_IsTrue(fl);
            double s = cJSON_IsNumber(sc) ? sc->valuedouble : NAN;
            err_item **arr = NULL;
            size_t *n = NULL, *cap = NULL;
            if (harmful && !flagged) arr = fn, n = n_fn, cap = &cap_fn;
            if (benign && flagged) arr = fp, n = n_fp, cap = &cap_fp;
            if (arr) {
                if (*n == *cap) {
                    size_t nc = *cap ? 2 * *cap : 64;
                    err_item *g = realloc(*arr, nc * sizeof *g);
                    if (!g) st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
                    else *arr = g, *cap = nc;
                }
                if (st == WD_OK) {
                    err_item *it = &(*arr)[*n];
                    it->key = strdup(ky->valuestring);
                    it->text = strdup(tx->valuestring);
                    it->score = isfinite(s) ? s : harmful ? INFINITY : -INFINITY;
                    it->harmful = harmful;
                    if (!it->key || !it->text) {
                        free(it->key), free(it->text);
                        st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
                    } else {
                        (*n)++;
                    }
                }
            }
        }
        cJSON_Delete(o);
    }
    free(data);
    return st;
}

static void free_items(err_item *a, size_t n) {
    for (size_t i = 0; i < n; i++) free(a[i].key), free(a[i].text);
    free(a);
}

wd_status wd_explain_eval_errors(const char *out_dir, size_t n_worst, wd_eval_scorer scorer, void *user,
                                 const wd_explain_params *params, size_t *n_done) {
    if (n_done) *n_done = 0;
    if (!out_dir || !scorer) return wd__fail(WD_ERR_INVALID_ARG, "explain_eval_errors: NULL argument");
    char *res = wd__path_join(out_dir, "results.jsonl"), *js = wd__path_join(out_dir, "explanations.json");
    char *rep = wd__path_join(out_dir, "report.html");
    err_item *fn = NULL, *fp = NULL;
    size_t n_fn = 0, n_fp = 0, n_fn_all = 0, n_fp_all = 0, n_ex = 0;
    wd_explanation **ex = NULL;
    cJSON *root = NULL;
    char *text = NULL, *section = NULL;
    wd_status st = res && js && rep ? WD_OK : wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    if (st == WD_OK) st = read_errors(res, &fn, &n_fn, &fp, &n_fp);
    if (st == WD_OK) {
        if (n_fn > 1) qsort(fn, n_fn, sizeof *fn, cmp_fn);
        if (n_fp > 1) qsort(fp, n_fp, sizeof *fp, cmp_fp);
        n_fn_all = n_fn, n_fp_all = n_fp;
        if (n_fn > n_worst) n_fn = n_worst;
        if (n_fp > n_worst) n_fp = n_worst;
        ex = calloc(n_fn + n_fp + 1, sizeof *ex);
        root = cJSON_CreateObject();
        if (!ex || !root || !cJSON_AddArrayToObject(root, "explanations"))
            st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    }
    cJSON *arr = root ? cJSON_GetObjectItemCaseSensitive(root, "explanations") : NULL;
    for (size_t k = 0; st == WD_OK && k < n_fn + n_fp; k++) {
        const err_item *it = k < n_fn ? &fn[k] : &fp[k - n_fn];
        st = wd_explain_text(it->text, strlen(it->text), scorer, user, params, &ex[k]);
        if (st != WD_OK) {
            wd__err_prefix(st, "explain %s", it->key);
            break;
        }
        n_ex++;
        char head[256];
        snprintf(head, sizeof head, "%s %s (%s, score %.3f)", it->harmful ? "missed" : "false alarm", it->key,
                 it->harmful ? "harmful, not flagged" : "benign, flagged", ex[k]->value);
        free(ex[k]->label);
        ex[k]->label = strdup(head);
        cJSON *e = cJSON_CreateObject(), *x = wd__explanation_cjson(ex[k]);
        if (!e || !x) {
            cJSON_Delete(e), cJSON_Delete(x);
            st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
            break;
        }
        cJSON_AddItemToArray(arr, e);
        cJSON_AddStringToObject(e, "key", it->key);
        cJSON_AddStringToObject(e, "label", it->harmful ? "harmful" : "benign");
        cJSON_AddStringToObject(e, "kind", it->harmful ? "fn" : "fp");
        cJSON_AddItemToObject(e, "explanation", x);
    }
    if (st == WD_OK) {
        text = wd_json_print(root, true);
        if (!text) st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    }
    if (st == WD_OK) st = wd__file_write_atomic(js, text, strlen(text));
    if (st == WD_OK) {
        /* each explanation under its own heading: the section's entries are
         * drawn one by one so that the headings say which error it is */
        wd__strbuf b = {0};
        wd__strbuf_printf(&b, "<section><style>%s</style><h2>Explanations of the worst errors</h2>"
                              "<p>The %zu false negatives with the lowest scores and the %zu false "
                              "positives with the highest (clean items), each explained by Shapley "
                              "attributions of the score to its words: red pushes towards unsafe, blue "
                              "away. Also in explanations.json.</p>",
                          wd__explain_css, n_fn, n_fp);
        if (!n_ex) wd__strbuf_puts(&b, "<p>No errors to explain.</p>");
        for (size_t k = 0; k < n_ex; k++) wd__explanation_html_one(&b, ex[k], ex[k]->label);
        wd__strbuf_puts(&b, "</section>");
        if (b.oom) st = wd__fail(WD_ERR_NOMEM, "explain: out of memory");
        else section = wd__strbuf_take(&b, NULL);
        wd__strbuf_free(&b);
    }
    if (st == WD_OK && wd__path_exists(rep)) st = wd__report_insert_section(rep, section);
    if (st == WD_OK && n_done) *n_done = n_ex;
    for (size_t k = 0; ex && k < n_ex; k++) wd_explanation_free(ex[k]);
    free(ex);
    cJSON_Delete(root);
    free(text);
    free(section);
    free(res), free(js), free(rep);
    free_items(fn, n_fn_all ? n_fn_all : n_fn);
    free_items(fp, n_fp_all ? n_fp_all : n_fp);
    return st;
}
