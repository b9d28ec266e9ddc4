/*
 * train/router_train.c - learning a guard cascade's router (`warden
 * train-router`, warden/train.h): run the first guard and the second guard
 * each alone over labelled validation texts, then choose the band of the
 * first guard's score that the second guard should decide
 * (wd_cascade_band_search, guard/cascade_band.c).
 *
 * The second guard is the slow one, so its verdicts are cached in a JSONL
 * file keyed by the text's FNV-1a 64 hash:
 *     {"cache": "warden-router", "second": ID, "role": "input"}     (first line)
 *     {"h": "89ab...", "unsafe": true, "score": 0.93, "ms": 41.2, "esc_ms": 40.9}
 * Lines are appended and flushed after each batch; a torn last line (a
 * killed run) is ignored. The first guard is rerun every time (it is
 * cheap, and it is what a new policy usually changes).
 *
 * SafeRoute's MLP router (METHODS.md 12a): the first guard's pass keeps
 * its feature (WD_CASCADE_MODE_FEATURE), and mlp_router below labels,
 * splits and trains (train/router_mlp.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/rng.h"
#include "warden/dataset.h"
#include "warden/guard.h"
#include "warden/router.h"
#include "warden/textclf.h"
#include "warden/train.h"
#include "train/router_mlp.h"

/* ==== data ================================================================ */

void wd_router_data_free(wd_router_data *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->texts[i]);
    free(d->texts);
    free(d->lens);
    free(d->harmful);
    memset(d, 0, sizeof *d);
}

static wd_status data_push(wd_router_data *d, size_t *cap, const char *text, size_t len, bool harmful) {
    if (d->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        char **t = realloc(d->texts, nc * sizeof *t);
        if (t) d->texts = t;
        size_t *l = realloc(d->lens, nc * sizeof *l);
        if (l) d->lens = l;
        bool *h = realloc(d->harmful, nc * sizeof *h);
        if (h) d->harmful = h;
        if (!t || !l || !h) return wd__fail(WD_ERR_NOMEM, "out of memory");
        *cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return wd__fail(WD_ERR_NOMEM, "out of memory");
    memcpy(c, text, len);
    c[len] = '\0';
    d->texts[d->n] = c;
    d->lens[d->n] = len;
    d->harmful[d->n] = harmful;
    d->n++;
    return WD_OK;
}

/* Keeps limit items drawn without replacement with seed, in their order. */
static void data_sample(wd_router_data *d, size_t limit, uint64_t seed) {
    if (!limit || d->n <= limit) return;
    size_t *idx = malloc(d->n * sizeof *idx);
    bool *keep = calloc(d->n, sizeof *keep);
    if (!idx || !keep) { /* out of memory: keep the first limit */
        for (size_t i = limit; i < d->n; i++) free(d->texts[i]);
        d->n = limit;
        free(idx);
        free(keep);
        return;
    }
    for (size_t i = 0; i < d->n; i++) idx[i] = i;
    uint64_t s = seed;
    for (size_t i = 0; i < limit; i++) { /* partial Fisher-Yates */
        size_t j = i + wd__rng_below(&s, d->n - i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        keep[idx[i]] = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (!keep[i]) {
            free(d->texts[i]);
            continue;
        }
        d->texts[w] = d->texts[i];
        d->lens[w] = d->lens[i];
        d->harmful[w] = d->harmful[i];
        w++;
    }
    d->n = w;
    free(idx);
    free(keep);
}

wd_status wd_router_data_from_dir(const char *data_dir, size_t limit, uint64_t seed, wd_router_data *out) {
    if (!data_dir || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_router_data_from_dir: NULL argument");
    memset(out, 0, sizeof *out);
    wd_textclf_dataset *ds = NULL;
    wd_status st = wd_textclf_dataset_new(wd_textclf_cfg_default().norm_flags, &ds);
    if (!st) st = wd_textclf_dataset_load(ds, data_dir, 0);
    if (st) {
        wd_textclf_dataset_free(ds);
        return st;
    }
    wd_textclf_dataset_split(ds, wd_textclf_train_params_default().seed, 20, 10);
    size_t cap = 0, n = wd_textclf_dataset_n_examples(ds);
    const uint32_t harm = 1u << WD_TEXTCLF_LABEL_HARMFUL;
    for (size_t i = 0; i < n && !st; i++) {
        wd_textclf_example e;
        if (wd_textclf_dataset_get(ds, i, &e) || e.split != WD_TEXTCLF_SPLIT_VAL || !(e.known & harm)) continue;
        st = data_push(out, &cap, e.text, strlen(e.text), (e.pos & harm) != 0);
    }
    wd_textclf_dataset_free(ds);
    if (!st && !out->n) st = wd__fail(WD_ERR_NOT_FOUND, "%s: no labelled example in the validation split", data_dir);
    if (st) {
        wd_router_data_free(out);
        return st;
    }
    size_t all = out->n;
    data_sample(out, limit, seed);
    snprintf(out->desc, sizeof out->desc, "%s (validation split of the built-in classifier's sources, %zu of %zu)",
             data_dir, out->n, all);
    return WD_OK;
}

wd_status wd_router_data_from_files(const char *const *paths, const wd_dataset_params *params, size_t n_files,
                                    size_t limit, uint64_t seed, wd_router_data *out) {
    if (!out || (n_files && !paths)) return wd__fail(WD_ERR_INVALID_ARG, "wd_router_data_from_files: NULL argument");
    memset(out, 0, sizeof *out);
    size_t cap = 0, w = 0;
    wd_status st = WD_OK;
    for (size_t f = 0; f < n_files && !st; f++) {
        wd_dataset *ds = NULL;
        if ((st = wd_dataset_open(paths[f], params ? &params[f] : NULL, &ds))) break;
        const wd_dataset_item *it;
        while (!(st = wd_dataset_next(ds, &it)) && it)
            if (it->label != WD_LABEL_UNKNOWN)
                if ((st = data_push(out, &cap, it->text, it->text_len, it->label == WD_LABEL_HARMFUL))) break;
        if (st && st != WD_ERR_NOMEM) st = wd__fail(st, "%s", wd_dataset_last_error(ds));
        wd_dataset_free(ds);
        int k = snprintf(out->desc + w, sizeof out->desc - w, "%s%s", f ? ", " : "", paths[f]);
        if (k > 0) w = w + (size_t)k < sizeof out->desc ? w + (size_t)k : sizeof out->desc - 1;
    }
    if (!st && !out->n) st = wd__fail(WD_ERR_NOT_FOUND, "the data has no item labelled harmful or benign");
    if (st) {
        wd_router_data_free(out);
        return st;
    }
    size_t all = out->n;
    data_sample(out, limit, seed);
    if (out->n < all && w < sizeof out->desc - 1)
        snprintf(out->desc + w, sizeof out->desc - w, " (%zu of %zu sampled)", out->n, all);
    return WD_OK;
}

/* ==== the second guard's cache ============================================ */

typedef struct cached {
    uint64_t h;
    bool     unsafe;
    double   score, ms, esc_ms;
} cached;

typedef struct cache {
    cached *e;
    size_t  n, cap;
    FILE   *f; /* opened for appending; NULL: no cache */
} cache;

static int by_hash(const void *a, const void *b) {
    uint64_t x = ((const cached *)a)->h, y = ((const cached *)b)->h;
    return x < y ? -1 : x > y;
}

static const cached *cache_find(const cache *c, uint64_t h) {
    cached key = {.h = h};
    return c->n ? bsearch(&key, c->e, c->n, sizeof *c->e, by_hash) : NULL;
}

/* Reads the cache at path (absent: a new one, header written) and opens it
 * for appending. */
static wd_status cache_open(cache *c, const char *path, const char *id, wd_role role) {
    memset(c, 0, sizeof *c);
    if (!path) return WD_OK;
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    long lineno = 0;
    wd_status st = WD_OK;
    bool header = false, torn = false;
    long good_end = 0; /* the end of the last complete line */
    while (f && (len = getline(&line, &lcap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') { /* a torn last line (a killed run): cut off below */
            torn = true;
            break;
        }
        good_end = ftell(f);
        cJSON *o = cJSON_ParseWithLength(line, (size_t)len);
        if (lineno == 1) {
            const cJSON *s = cJSON_GetObjectItem(o, "second"), *r = cJSON_GetObjectItem(o, "role");
            if (!cJSON_IsString(cJSON_GetObjectItem(o, "cache")) || !cJSON_IsString(s) || !cJSON_IsString(r))
                st = wd__fail(WD_ERR_FORMAT, "%s:1: not a train-router cache (delete it or pass another --cache)", path);
            else if (strcmp(s->valuestring, id) || strcmp(r->valuestring, wd_role_str(role)))
                st = wd__fail(WD_ERR_FORMAT,
                              "%s: field 'second': the cache holds the verdicts of another second guard or role "
                              "('%s', %s); delete it or pass another --cache",
                              path, s->valuestring, r->valuestring);
            header = true;
        } else {
            const cJSON *h = cJSON_GetObjectItem(o, "h");
            cached e = {0};
            if (!cJSON_IsString(h) || sscanf(h->valuestring, "%16llx", (unsigned long long *)&e.h) != 1 ||
                !cJSON_IsBool(cJSON_GetObjectItem(o, "unsafe")))
                st = wd__fail(WD_ERR_FORMAT, "%s:%ld: field 'h' or 'unsafe' missing", path, lineno);
            else {
                e.unsafe = cJSON_IsTrue(cJSON_GetObjectItem(o, "unsafe"));
                const cJSON *x;
                e.score = cJSON_IsNumber(x = cJSON_GetObjectItem(o, "score")) ? x->valuedouble : NAN;
                e.ms = cJSON_IsNumber(x = cJSON_GetObjectItem(o, "ms")) ? x->valuedouble : 0;
                e.esc_ms = cJSON_IsNumber(x = cJSON_GetObjectItem(o, "esc_ms")) ? x->valuedouble : e.ms;
                if (c->n == c->cap) {
                    size_t nc = c->cap ? c->cap * 2 : 256;
                    cached *ne = realloc(c->e, nc * sizeof *ne);
                    if (!ne) st = wd__fail(WD_ERR_NOMEM, "out of memory");
                    else {
                        c->e = ne;
                        c->cap = nc;
                    }
                }
                if (!st) c->e[c->n++] = e;
            }
        }
        cJSON_Delete(o);
        if (st) break;
    }
    free(line);
    if (f) fclose(f);
    if (st) return st;
    if (torn && truncate(path, good_end))
        return wd__fail(WD_ERR_IO, "%s: cannot cut off its torn last line", path);
    if (torn && good_end == 0) header = false;
    if (c->n) qsort(c->e, c->n, sizeof *c->e, by_hash);
    if (!(c->f = fopen(path, header ? "a" : "w")))
        return wd__fail(WD_ERR_IO, "%s: cannot write the cache", path);
    if (!header) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "cache", "warden-router");
        cJSON_AddStringToObject(o, "second", id);
        cJSON_AddStringToObject(o, "role", wd_role_str(role));
        char *s = wd__json_print(o, false);
        cJSON_Delete(o);
        if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
        fprintf(c->f, "%s\n", s);
        free(s);
        fflush(c->f);
    }
    return WD_OK;
}

static void cache_close(cache *c) {
    if (c->f) fclose(c->f);
    free(c->e);
    memset(c, 0, sizeof *c);
}

/* ==== training ============================================================ */

wd_router_train_params wd_router_train_params_default(void) {
    return (wd_router_train_params){.method = WD_ROUTER_METHOD_THRESHOLD, .target_share = 0.2,
                                    .role = WD_ROLE_INPUT, .batch = 16};
}

wd_status wd_router_cache_id(const char *policy_path, const char *second_node, char *buf, size_t cap) {
    if (!buf || !cap || (!policy_path && !second_node))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_router_cache_id: NULL argument");
    if (second_node) {
        snprintf(buf, cap, "node:%s", second_node);
        return WD_OK;
    }
    char *text = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(policy_path, 16u << 20, &text, &len);
    if (st) return st;
    snprintf(buf, cap, "policy:%016llx", (unsigned long long)wd__fnv1a(text, len));
    free(text);
    return WD_OK;
}

/* Checks texts[0..n) with the guard forced to mode into v[0..n). */
static wd_status check_mode(wd_guard *g, char *const *texts, const size_t *lens, size_t n, wd_role role,
                            wd_cascade_mode mode, wd_verdict **v) {
    wd_check_params cp = wd_check_params_default();
    cp.role = role;
    cp.cascade = mode;
    return wd_guard_check_batch(g, (const char *const *)texts, lens, n, &cp, v);
}

/* The cascade's figures, escalating text i where esc[i], on the held-out
 * texts (i % 5 == 4) when held, else on all: into r's validation fields. */
static void mlp_figures(const wd_cascade_obs *obs, const bool *esc, size_t n, bool held, wd_router *r) {
    wd_cascade_obs *o = malloc((n ? n : 1) * sizeof *o);
    if (!o) return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!held || i % 5 == 4) {
            o[k] = obs[i];
            o[k++].first_score = esc[i] ? 1.0 : 0.0; /* the band [0.5, 2) is the router's choice */
        }
    wd_cascade_point c = wd_cascade_eval(o, k, 0.5, 2);
    r->n_val = k;
    r->val_f1 = c.f1;
    r->val_share = c.share;
    r->val_f1_first = wd_cascade_eval(o, k, 0, 0).f1;
    r->val_f1_second = wd_cascade_eval(o, k, 0, 2).f1;
    free(o);
}

/* The threshold band on the same split, for comparison (stats' band_*). */
static wd_status band_compare(const wd_cascade_obs *obs, const bool *esc, size_t n, bool held,
                              wd_router_train_stats *s) {
    wd_cascade_obs *tr = malloc(n * sizeof *tr), *va = malloc(n * sizeof *va);
    if (!tr || !va) {
        free(tr);
        free(va);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    size_t nt = 0, nv = 0, ne = 0;
    for (size_t i = 0; i < n; i++) {
        bool v = held && i % 5 == 4;
        if (!held || !v) {
            tr[nt++] = obs[i];
            ne += esc[i];
        }
        if (!held || v) va[nv++] = obs[i];
    }
    wd_cascade_point best;
    wd_status st = wd_cascade_band_search(tr, nt, (double)ne / (double)nt, &best);
    if (!st) {
        wd_cascade_point c = wd_cascade_eval(va, nv, best.low, best.high);
        s->band_f1 = c.f1;
        s->band_share = c.share;
    }
    free(tr);
    free(va);
    return st;
}

/* SafeRoute's router from the features X (n, C) and both guards' flags. */
static wd_status mlp_router(const wd_cascade_obs *obs, const float *X, size_t n, size_t C,
                            const wd_router_train_params *p, wd_router *out, wd_router_train_stats *s) {
    bool held = n >= 50;
    float *Xt = malloc(n * C * sizeof *Xt);
    bool *y = malloc(n * sizeof *y), *esc = malloc(n * sizeof *esc);
    wd_status st = Xt && y && esc ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t nt = 0;
    for (size_t i = 0; !st && i < n; i++) {
        bool label = obs[i].first_flag != obs[i].harmful && obs[i].second_flag == obs[i].harmful;
        s->n_escalate += label;
        if (held && i % 5 == 4) continue;
        memcpy(Xt + nt * C, X + i * C, C * sizeof *Xt);
        y[nt++] = label;
    }
    wd__rmlp_params mp = wd__rmlp_params_default();
    if (p->mlp_hidden) mp.hidden = p->mlp_hidden;
    if (p->mlp_epochs) mp.epochs = p->mlp_epochs;
    if (p->mlp_batch) mp.batch = p->mlp_batch;
    if (p->mlp_lr > 0) mp.lr = p->mlp_lr;
    if (p->mlp_weight_decay > 0) mp.weight_decay = p->mlp_weight_decay;
    if (p->mlp_seed) mp.seed = p->mlp_seed;
    wd_router r = wd_router_band(0, 0);
    r.method = WD_ROUTER_METHOD_MLP;
    if (!st) st = wd__rmlp_fit(Xt, y, nt, C, &mp, &r.mlp, &s->train_loss);
    if (!st) {
        for (size_t i = 0; i < n; i++) esc[i] = wd_router_mlp_prob(r.mlp, X + i * C, C) >= r.p_min;
        mlp_figures(obs, esc, n, held, &r);
        s->n_train = nt;
        st = band_compare(obs, esc, n, held, s);
        if (st) wd_router_clear(&r);
        else *out = r;
    }
    free(Xt);
    free(y);
    free(esc);
    return st;
}

wd_status wd_router_train(wd_guard *g, const wd_router_data *d, const wd_router_train_params *params, wd_router *out,
                          wd_router_train_stats *stats) {
    if (!g || !d || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_router_train: NULL argument");
    wd_router_train_params p = params ? *params : wd_router_train_params_default();
    bool mlp = p.method == WD_ROUTER_METHOD_MLP;
    float *X = NULL; /* method MLP: the features, (n, C) */
    size_t C = 0;
    if (!(p.target_share >= 0 && p.target_share <= 1))
        return wd__fail(WD_ERR_INVALID_ARG, "train-router: target share %g is outside [0, 1]", p.target_share);
    if (!wd_guard_cascade_router(g, NULL))
        return wd__fail(WD_ERR_INVALID_ARG, "train-router: the policy '%s' has no cascade scanner (type: cascade)",
                        wd_guard_name(g));
    if (!d->n) return wd__fail(WD_ERR_INVALID_ARG, "train-router: no data");
    if (!p.batch) p.batch = 16;
    wd_cascade_obs *obs = calloc(d->n, sizeof *obs);
    wd_verdict **v1 = calloc(p.batch, sizeof *v1), **v2 = calloc(p.batch, sizeof *v2);
    char **miss = calloc(p.batch, sizeof *miss);
    size_t *miss_len = calloc(p.batch, sizeof *miss_len), *miss_at = calloc(p.batch, sizeof *miss_at);
    cache c;
    wd_status st = cache_open(&c, p.cache_path, p.second_id ? p.second_id : "", p.role);
    if (!st && (!obs || !v1 || !v2 || !miss || !miss_len || !miss_at)) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_router_train_stats s = {.n = d->n};
    for (size_t at = 0; !st && at < d->n; at += p.batch) {
        size_t nb = d->n - at < p.batch ? d->n - at : p.batch, nm = 0;
        if ((st = check_mode(g, d->texts + at, d->lens + at, nb, p.role,
                             mlp ? WD_CASCADE_MODE_FEATURE : WD_CASCADE_MODE_FIRST, v1)))
            break;
        for (size_t k = 0; mlp && k < nb; k++) {
            size_t nf = 0;
            const float *f = wd_verdict_feature(v1[k], &nf);
            if (!f || !nf || (C && nf != C)) {
                st = wd__fail(WD_ERR_UNSUPPORTED, "train-router --method mlp: the first guard gave no feature for "
                                                  "text %zu (%s): the MLP router needs a model judge first "
                                                  "(llm_judge with the Llama Guard prompt)",
                              at + k, wd_verdict_error(v1[k]) ? wd_verdict_error(v1[k]) : "no hidden state");
                break;
            }
            if (!C && !(X = malloc(d->n * (C = nf) * sizeof *X))) st = wd__fail(WD_ERR_NOMEM, "out of memory");
            if (st) break;
            memcpy(X + (at + k) * C, f, C * sizeof *X);
        }
        for (size_t k = 0; !st && k < nb; k++) {
            wd_cascade_obs *o = &obs[at + k];
            wd_cascade_info ci = {.first_score = NAN};
            if (!wd_verdict_cascade(v1[k], &ci)) ci.first_score = NAN; /* checked below */
            o->first_score = ci.first_score;
            o->first_flag = wd_verdict_unsafe(v1[k]);
            o->first_ms = wd_verdict_micros(v1[k]) / 1e3;
            o->harmful = d->harmful[at + k];
            s.n_harmful += o->harmful;
            wd_verdict_free(v1[k]);
            v1[k] = NULL;
            if (!isfinite(o->first_score)) {
                st = wd__fail(WD_ERR_INVALID_ARG, "train-router: the cascade scanner did not run on text %zu "
                                                  "(is it enabled for role %s?)", at + k, wd_role_str(p.role));
                break;
            }
            const cached *e = cache_find(&c, wd__fnv1a(d->texts[at + k], d->lens[at + k]));
            if (e) {
                o->second_flag = e->unsafe;
                o->second_ms = e->ms;
                o->escalate_ms = e->esc_ms;
                s.n_cached++;
            } else {
                miss[nm] = d->texts[at + k];
                miss_len[nm] = d->lens[at + k];
                miss_at[nm++] = at + k;
            }
        }
        if (st || !nm) goto next;
        if ((st = check_mode(g, miss, miss_len, nm, p.role, WD_CASCADE_MODE_SECOND, v2))) break;
        for (size_t k = 0; k < nm; k++) {
            wd_cascade_obs *o = &obs[miss_at[k]];
            wd_cascade_info ci = {0};
            wd_verdict_cascade(v2[k], &ci);
            o->second_flag = wd_verdict_unsafe(v2[k]);
            o->second_ms = wd_verdict_micros(v2[k]) / 1e3;
            o->escalate_ms = ci.second_ms;
            if (c.f)
                fprintf(c.f, "{\"h\":\"%016llx\",\"unsafe\":%s,\"score\":%.6g,\"ms\":%.6g,\"esc_ms\":%.6g}\n",
                        (unsigned long long)wd__fnv1a(miss[k], miss_len[k]), o->second_flag ? "true" : "false",
                        (double)wd_verdict_max_score(v2[k]), o->second_ms, o->escalate_ms);
            wd_verdict_free(v2[k]);
            v2[k] = NULL;
        }
        if (c.f) fflush(c.f);
    next:
        if (!st && p.progress) p.progress(p.progress_user, at + nb, d->n);
    }
    if (st && v1) { /* the verdicts a failed batch left */
        for (size_t k = 0; k < p.batch; k++) wd_verdict_free(v1[k]);
    } else if (mlp) {
        if (!(st = mlp_router(obs, X, d->n, C, &p, out, &s))) {
            snprintf(out->data, sizeof out->data, "%s", d->desc);
            for (size_t i = 0; i < d->n; i++) {
                s.first_ms += obs[i].first_ms / (double)d->n;
                s.second_ms += obs[i].second_ms / (double)d->n;
            }
            if (stats) *stats = s;
        }
    } else {
        wd_cascade_point best;
        if (!(st = wd_cascade_band_search(obs, d->n, p.target_share, &best))) {
            wd_router r = wd_router_band(best.low, best.high);
            r.target_share = p.target_share;
            r.n_val = d->n;
            r.val_f1 = best.f1;
            r.val_share = best.share;
            r.val_f1_first = wd_cascade_eval(obs, d->n, 0, 0).f1;
            r.val_f1_second = wd_cascade_eval(obs, d->n, 0, 2).f1;
            snprintf(r.data, sizeof r.data, "%s", d->desc);
            for (size_t i = 0; i < d->n; i++) {
                s.first_ms += obs[i].first_ms / (double)d->n;
                s.second_ms += obs[i].second_ms / (double)d->n;
            }
            *out = r;
            if (stats) *stats = s;
        }
    }
    cache_close(&c);
    free(X);
    free(obs);
    free(v1);
    free(v2);
    free(miss);
    free(miss_len);
    free(miss_at);
    return st;
}
