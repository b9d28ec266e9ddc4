/*
 * eval/eval.c - the evaluation runner (warden/eval.h): datasets -> units
 * (item x transform) -> scorer in batches -> results.jsonl (appended) ->
 * metrics.json + report.html (atomic).
 *
 * Units are numbered transform-major, u = t * n_items + i (t = 0 is the
 * clean text, t = k + 1 the k-th attack), so the clean pass finishes first.
 * A unit's key is "SOURCE:RECORD:TRANSFORM" (source index in the list,
 * record number in the file); its text hash is FNV-1a 64 of the text that
 * was scored. Resuming maps keys back to units through an open-addressing
 * table and checks the hash.
 */
#include "warden/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include <cjson/cJSON.h>

#include "base/util.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/file.h"
#include "base/json.h"
#include "warden/report.h"

typedef struct item {
    char      *text;
    size_t     len;
    char      *id;
    wd_label   label;
    wd_catmask cats;
    uint32_t   src;
    size_t     record;
} item;

typedef struct unit_res {
    uint8_t    done;
    uint8_t    flagged;
    wd_catmask pred;
    double     score;
    double     latency_ms;
} unit_res;

typedef struct run {
    const wd_eval_source *src;
    size_t                n_src;
    const wd_eval_params *p;
    item                 *items;
    size_t                n_items, cap_items;
    size_t                n_t; /* 1 + n_attacks */
    unit_res             *res;
    size_t                n_units;
    size_t               *table; /* key hash -> unit + 1 */
    size_t                table_mask;
    char                 *results_path;
} run;

/* ==== helpers =========================================================== */

static double now_ms(void) { return wd__now_us() / 1e3; }

static const char *transform_name(const run *r, size_t t) {
    return t == 0 ? "clean" : wd_attack_name(r->p->attacks[t - 1]);
}

static void unit_key(const run *r, size_t u, char *buf, size_t n) {
    size_t t = u / r->n_items, i = u % r->n_items;
    snprintf(buf, n, "%u:%zu:%s", r->items[i].src, r->items[i].record, transform_name(r, t));
}

/* The text unit u scores (malloc'd). */
static wd_status unit_text(const run *r, size_t u, char **out) {
    size_t t = u / r->n_items, i = u % r->n_items;
    if (t == 0) {
        *out = strdup(r->items[i].text);
        return *out ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    return wd_attack_apply(r->p->attacks[t - 1], r->items[i].text, &r->p->attack, out);
}

static wd_status build_table(run *r) {
    size_t cap = 16;
    while (cap < r->n_units * 2) cap *= 2;
    r->table = calloc(cap, sizeof *r->table);
    if (!r->table) return wd__fail(WD_ERR_NOMEM, "out of memory");
    r->table_mask = cap - 1;
    char key[512];
    for (size_t u = 0; u < r->n_units; u++) {
        unit_key(r, u, key, sizeof key);
        size_t h = (size_t)wd__fnv1a(key, strlen(key)) & r->table_mask;
        while (r->table[h]) h = (h + 1) & r->table_mask;
        r->table[h] = u + 1;
    }
    return WD_OK;
}

/* Unit of key, or (size_t)-1. */
static size_t find_unit(const run *r, const char *key) {
    size_t h = (size_t)wd__fnv1a(key, strlen(key)) & r->table_mask;
    char k2[512];
    while (r->table[h]) {
        unit_key(r, r->table[h] - 1, k2, sizeof k2);
        if (!strcmp(k2, key)) return r->table[h] - 1;
        h = (h + 1) & r->table_mask;
    }
    return (size_t)-1;
}

static void free_run(run *r) {
    for (size_t i = 0; i < r->n_items; i++) {
        free(r->items[i].text);
        free(r->items[i].id);
    }
    free(r->items);
    free(r->res);
    free(r->table);
    free(r->results_path);
}

/* ==== loading =========================================================== */

static wd_status load_items(run *r) {
    for (size_t s = 0; s < r->n_src; s++) {
        wd_dataset *ds;
        wd_status st = wd_dataset_open(r->src[s].path, &r->src[s].params, &ds);
        if (st) return st;
        const wd_dataset_item *it;
        while (!(st = wd_dataset_next(ds, &it)) && it) {
            if (r->n_items == r->cap_items) {
                size_t cap = r->cap_items ? r->cap_items * 2 : 1024;
                item *ni = realloc(r->items, cap * sizeof *ni);
                if (!ni) {
                    wd_dataset_free(ds);
                    return wd__fail(WD_ERR_NOMEM, "out of memory");
                }
                r->items = ni;
                r->cap_items = cap;
            }
            item *x = &r->items[r->n_items];
            memset(x, 0, sizeof *x);
            x->text = strdup(it->text);
            x->id = it->id ? strdup(it->id) : NULL;
            if (!x->text || (it->id && !x->id)) {
                free(x->text);
                free(x->id);
                wd_dataset_free(ds);
                return wd__fail(WD_ERR_NOMEM, "out of memory");
            }
            x->len = it->text_len;
            x->label = it->label;
            x->cats = it->categories;
            x->src = (uint32_t)s;
            x->record = it->record;
            r->n_items++;
        }
        if (st) wd__fail(st, "%s", wd_dataset_last_error(ds));
        wd_dataset_free(ds);
        if (st) return st;
    }
    return WD_OK;
}

static wd_catmask cats_from_json(const cJSON *a) {
    wd_catmask m = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        wd_category c;
        if (cJSON_IsString(e) && !wd_category_parse(e->valuestring, &c)) m |= WD_CATMASK(c);
    }
    return m;
}

/* Reads results.jsonl back (resume). Truncates a torn last line. */
static wd_status load_results(run *r, size_t *n_resumed) {
    *n_resumed = 0;
    FILE *f = fopen(r->results_path, "r+b");
    if (!f) return WD_OK; /* nothing yet */
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    long good_end = 0;
    ssize_t len;
    wd_status st = WD_OK;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        int complete = line[len - 1] == '\n';
        cJSON *o = complete ? cJSON_ParseWithLength(line, (size_t)len) : NULL;
        if (!o) {
            if (!complete || fgetc(f) == EOF) break; /* a torn last line: dropped below */
            st = wd__fail(WD_ERR_FORMAT, "%s:%zu: not a valid result line (delete the file to start over)",
                          r->results_path, lineno);
            break;
        }
        good_end = ftell(f);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "text_hash");
        size_t u = cJSON_IsString(k) ? find_unit(r, k->valuestring) : (size_t)-1;
        if (u == (size_t)-1) { /* the report, the red team's rates and explanations read every line */
            st = wd__fail(WD_ERR_FORMAT,
                          "%s:%zu: key '%s' is not a unit of this run: the data or the attack settings "
                          "changed since; use another --out folder",
                          r->results_path, lineno, cJSON_IsString(k) ? k->valuestring : "(none)");
            cJSON_Delete(o);
            break;
        }
        if (!r->res[u].done) {
            char *text;
            if ((st = unit_text(r, u, &text))) {
                cJSON_Delete(o);
                break;
            }
            char hex[17];
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)wd__fnv1a(text, strlen(text)));
            free(text);
            if (!cJSON_IsString(h) || strcmp(h->valuestring, hex)) {
                st = wd__fail(WD_ERR_FORMAT,
                              "%s:%zu: key '%s' was scored on a different text: the data or the "
                              "attack settings changed since; use another --out folder",
                              r->results_path, lineno, k->valuestring);
                cJSON_Delete(o);
                break;
            }
            unit_res *x = &r->res[u];
            const cJSON *fl = cJSON_GetObjectItemCaseSensitive(o, "flagged");
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "score");
            const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "latency_ms");
            x->done = 1;
            x->flagged = cJSON_IsTrue(fl);
            x->score = cJSON_IsNumber(sc) ? sc->valuedouble : NAN;
            x->latency_ms = cJSON_IsNumber(lat) ? lat->valuedouble : -1;
            x->pred = cats_from_json(cJSON_GetObjectItemCaseSensitive(o, "predicted"));
            (*n_resumed)++;
        }
        cJSON_Delete(o);
    }
    free(line);
    if (!st) {
        fflush(f);
        if (ftruncate(fileno(f), good_end) != 0)
            st = wd__fail(WD_ERR_IO, "%s: cannot drop a torn last line", r->results_path);
    }
    fclose(f);
    return st;
}

/* ==== writing results ==================================================== */

static cJSON *cats_json(wd_catmask m) {
    cJSON *a = cJSON_CreateArray();
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        if (m & WD_CATMASK(c)) cJSON_AddItemToArray(a, cJSON_CreateString(wd_category_id((wd_category)c)));
    return a;
}

/* x as the number its shortest JSON text reads back as: a score that is a
 * float's value (0.9f) becomes the double 0.9, so the results file stays
 * short and a resumed run computes from exactly what a fresh run holds. */
static double canonical(double x) {
    if (!isfinite(x)) return x;
    char b[40];
    wd__json_shortest(x, b, sizeof b);
    return strtod(b, NULL);
}

static char *result_line(const run *r, size_t u, const char *text, const wd_eval_score *s) {
    size_t t = u / r->n_items, i = u % r->n_items;
    const item *x = &r->items[i];
    char key[512], hex[17];
    unit_key(r, u, key, sizeof key);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)wd__fnv1a(text, strlen(text)));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "source", r->src[x->src].path);
    cJSON_AddNumberToObject(o, "record", (double)x->record);
    if (x->id) cJSON_AddStringToObject(o, "id", x->id);
    else cJSON_AddNullToObject(o, "id");
    cJSON_AddStringToObject(o, "label", wd_label_name(x->label));
    cJSON_AddItemToObject(o, "categories", cats_json(x->cats));
    cJSON_AddStringToObject(o, "transform", transform_name(r, t));
    cJSON_AddStringToObject(o, "text", text);
    cJSON_AddStringToObject(o, "text_hash", hex);
    cJSON_AddBoolToObject(o, "flagged", s->flagged);
    /* the score was made canonical (see canonical()), so its shortest text
     * reads back as the very same double when a run resumes */
    if (isfinite(s->score)) cJSON_AddNumberToObject(o, "score", s->score);
    else cJSON_AddNullToObject(o, "score");
    cJSON_AddItemToObject(o, "predicted", cats_json(s->categories));
    cJSON_AddNumberToObject(o, "latency_ms", isfinite(s->latency_ms) ? s->latency_ms : -1.0);
    if (s->detail_json) {
        cJSON *v = cJSON_Parse(s->detail_json);
        cJSON_AddItemToObject(o, "verdict", v ? v : cJSON_CreateString(s->detail_json));
    } else {
        cJSON_AddNullToObject(o, "verdict");
    }
    char *txt = wd__json_print(o, false);
    cJSON_Delete(o);
    return txt;
}

/* ==== metrics and report ================================================= */

static double rate(size_t a, size_t b) { return b ? (double)a / (double)b : NAN; }

static cJSON *jnum(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* The run's scorecard (warden/scorecard.h) from the units done, or from
 * the params' evidence function; *out NULL without a scorecard. */
static wd_status scorecard_of(const run *r, wd_scorecard_result **out) {
    *out = NULL;
    if (!r->p->scorecard) return WD_OK;
    wd_scorecard_evidence *ev = malloc(sizeof *ev);
    if (!ev) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_scorecard_evidence_init(ev, WD_SCORECARD_KIND_GUARD);
    wd_status st = WD_OK;
    if (r->p->scorecard_evidence) {
        st = r->p->scorecard_evidence(r->p->scorecard_user, r->results_path, ev);
    } else {
        for (size_t u = 0; !st && u < r->n_units; u++) {
            const item *it = &r->items[u % r->n_items];
            if (r->res[u].done)
                st = wd_scorecard_evidence_add(ev, transform_name(r, u / r->n_items), it->label, it->cats,
                                               r->res[u].flagged);
        }
    }
    if (!st) st = wd_scorecard_evaluate(r->p->scorecard, ev, out);
    free(ev);
    return st;
}

static wd_status write_outputs(const run *r, const char *out_dir, bool complete) {
    wd_status st;
    wd_metrics *m;
    if ((st = wd_metrics_new(&m))) return st;
    size_t done = 0;
    for (size_t u = 0; u < r->n_units; u++) done += r->res[u].done;
    wd_report_source *srcs = calloc(r->n_src ? r->n_src : 1, sizeof *srcs);
    wd_report_attack *atk = calloc(r->n_t, sizeof *atk);
    if (!srcs || !atk) {
        st = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t s = 0; s < r->n_src; s++) srcs[s].path = r->src[s].path;
    for (size_t i = 0; i < r->n_items; i++) {
        const unit_res *x = &r->res[i];
        if (!x->done) continue;
        const item *it = &r->items[i];
        wd_metrics_item mi = {it->label, x->score, x->flagged, it->cats, x->pred, x->latency_ms};
        if ((st = wd_metrics_add(m, &mi))) goto out;
        wd_report_source *rs = &srcs[it->src];
        rs->n++;
        rs->n_harmful += it->label == WD_LABEL_HARMFUL;
        rs->n_benign += it->label == WD_LABEL_BENIGN;
        rs->n_flagged += x->flagged;
    }
    /* attacks: items done both clean and attacked */
    for (size_t t = 1; t < r->n_t; t++) {
        size_t nh = 0, nb = 0, ch = 0, ah = 0, cb = 0, ab = 0;
        for (size_t i = 0; i < r->n_items; i++) {
            const unit_res *c = &r->res[i], *a = &r->res[t * r->n_items + i];
            if (!c->done || !a->done) continue;
            if (r->items[i].label == WD_LABEL_HARMFUL) {
                nh++;
                ch += c->flagged;
                ah += a->flagged;
            } else if (r->items[i].label == WD_LABEL_BENIGN) {
                nb++;
                cb += c->flagged;
                ab += a->flagged;
            }
        }
        wd_report_attack *ra = &atk[t - 1];
        ra->transform = transform_name(r, t);
        ra->n_harmful = nh;
        ra->n_benign = nb;
        ra->clean_detection = rate(ch, nh);
        ra->attacked_detection = rate(ah, nh);
        ra->clean_fpr = rate(cb, nb);
        ra->attacked_fpr = rate(ab, nb);
    }
    wd_metrics_summary *sum;
    if ((st = wd_metrics_summarize(m, &r->p->metrics, &sum))) goto out;
    wd_scorecard_result *card;
    if ((st = scorecard_of(r, &card))) {
        wd_metrics_summary_free(sum);
        goto out;
    }

    /* metrics.json */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "complete", complete);
    if (r->p->subject) cJSON_AddStringToObject(o, "subject", r->p->subject);
    cJSON *un = cJSON_AddObjectToObject(o, "units");
    cJSON_AddNumberToObject(un, "total", (double)r->n_units);
    cJSON_AddNumberToObject(un, "done", (double)done);
    cJSON_AddNumberToObject(un, "items", (double)r->n_items);
    cJSON *sa = cJSON_AddArrayToObject(o, "sources");
    for (size_t s = 0; s < r->n_src; s++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "path", srcs[s].path);
        cJSON_AddNumberToObject(e, "items", (double)srcs[s].n);
        cJSON_AddNumberToObject(e, "harmful", (double)srcs[s].n_harmful);
        cJSON_AddNumberToObject(e, "benign", (double)srcs[s].n_benign);
        cJSON_AddNumberToObject(e, "flagged", (double)srcs[s].n_flagged);
        cJSON_AddItemToObject(e, "flag_rate", jnum(rate(srcs[s].n_flagged, srcs[s].n)));
        cJSON_AddItemToArray(sa, e);
    }
    char *sj = wd_metrics_summary_json(sum, true);
    cJSON *clean = sj ? cJSON_Parse(sj) : NULL;
    free(sj);
    cJSON_AddItemToObject(o, "clean", clean ? clean : cJSON_CreateNull());
    cJSON *aa = cJSON_AddArrayToObject(o, "attacks");
    for (size_t t = 1; t < r->n_t; t++) {
        const wd_report_attack *ra = &atk[t - 1];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "transform", ra->transform);
        cJSON_AddNumberToObject(e, "harmful", (double)ra->n_harmful);
        cJSON_AddNumberToObject(e, "benign", (double)ra->n_benign);
        cJSON_AddItemToObject(e, "clean_detection", jnum(ra->clean_detection));
        cJSON_AddItemToObject(e, "attacked_detection", jnum(ra->attacked_detection));
        cJSON_AddItemToObject(e, "detection_drop", jnum(ra->clean_detection - ra->attacked_detection));
        cJSON_AddItemToObject(e, "clean_fpr", jnum(ra->clean_fpr));
        cJSON_AddItemToObject(e, "attacked_fpr", jnum(ra->attacked_fpr));
        cJSON_AddItemToArray(aa, e);
    }
    char *cj = card ? wd_scorecard_result_json(card) : NULL;
    cJSON *cjo = cj ? cJSON_Parse(cj) : NULL;
    free(cj);
    cJSON_AddItemToObject(o, "scorecard", cjo ? cjo : cJSON_CreateNull());
    char *txt = wd__json_print(o, true);
    cJSON_Delete(o);
    char *mpath = wd__path_join(out_dir, "metrics.json"), *hpath = wd__path_join(out_dir, "report.html");
    if (!txt || !mpath || !hpath) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    else {
        size_t tl = strlen(txt);
        txt[tl] = '\n'; /* replace the NUL by a final newline for the file */
        st = wd__file_write_atomic(mpath, txt, tl + 1);
    }
    if (!st) {
        char stamp[64];
        time_t now = time(NULL);
        struct tm tmv;
        gmtime_r(&now, &tmv);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M UTC", &tmv);
        wd_report rep = {r->p->title, r->p->subject, stamp, complete, done, r->n_units, sum,
                         srcs, r->n_src, atk, r->n_t - 1, card};
        st = wd_report_write_html(&rep, hpath);
    }
    free(txt);
    free(mpath);
    free(hpath);
    wd_scorecard_result_free(card);
    wd_metrics_summary_free(sum);
out:
    free(srcs);
    free(atk);
    wd_metrics_free(m);
    return st;
}

/* ==== the run ============================================================ */

wd_eval_params wd_eval_params_default(void) {
    wd_eval_params p;
    memset(&p, 0, sizeof p);
    p.batch_size = 32;
    p.attack = wd_attack_params_default();
    p.resume = true;
    p.metrics = wd_metrics_params_default();
    return p;
}

wd_status wd_eval_run(const char *out_dir, const wd_eval_source *sources, size_t n_sources,
                      wd_eval_scorer scorer, void *user, const wd_eval_params *params,
                      wd_eval_outcome *outcome) {
    if (outcome) memset(outcome, 0, sizeof *outcome);
    if (!out_dir || !scorer || (n_sources && !sources) || n_sources == 0)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_eval_run: out_dir, sources and scorer are required");
    wd_eval_params p = params ? *params : wd_eval_params_default();
    if (p.batch_size == 0) p.batch_size = 32;
    run r;
    memset(&r, 0, sizeof r);
    r.src = sources;
    r.n_src = n_sources;
    r.p = &p;
    r.n_t = 1 + (p.attacks ? p.n_attacks : 0);
    wd_status st = wd__mkdir_p(out_dir);
    if (st) return st;
    if ((st = load_items(&r))) goto done;
    if (r.n_items == 0) {
        st = wd__fail(WD_ERR_FORMAT, "no items in the data");
        goto done;
    }
    r.n_units = r.n_items * r.n_t;
    r.res = calloc(r.n_units, sizeof *r.res);
    r.results_path = wd__path_join(out_dir, "results.jsonl");
    if (!r.res || !r.results_path) {
        st = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = build_table(&r))) goto done;
    size_t n_resumed = 0;
    if (p.resume) {
        if ((st = load_results(&r, &n_resumed))) goto done;
    }
    FILE *f = fopen(r.results_path, p.resume ? "ab" : "wb");
    if (!f) {
        st = wd__fail(WD_ERR_IO, "%s: cannot open for writing", r.results_path);
        goto done;
    }
    size_t done_units = n_resumed, scored = 0;
    if (p.progress) p.progress(p.progress_user, done_units, r.n_units);
    size_t B = p.batch_size;
    size_t *bu = malloc(B * sizeof *bu), *lens = malloc(B * sizeof *lens);
    char **texts = calloc(B, sizeof *texts);
    wd_eval_score *sc = calloc(B, sizeof *sc);
    if (!bu || !lens || !texts || !sc) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    bool stopped = false;
    for (size_t u = 0; !st && u < r.n_units;) {
        if (p.stop && *p.stop) {
            stopped = true;
            break;
        }
        size_t nb = 0;
        for (; u < r.n_units && nb < B; u++) {
            if (r.res[u].done) continue;
            if ((st = unit_text(&r, u, &texts[nb]))) break;
            lens[nb] = strlen(texts[nb]);
            bu[nb++] = u;
        }
        if (st || nb == 0) {
            for (size_t k = 0; k < nb; k++) free(texts[k]), texts[k] = NULL;
            break;
        }
        for (size_t k = 0; k < nb; k++) {
            memset(&sc[k], 0, sizeof sc[k]);
            sc[k].score = NAN;
            sc[k].latency_ms = -1;
        }
        double t0 = now_ms();
        st = scorer(user, (const char *const *)texts, lens, nb, sc);
        double per = (now_ms() - t0) / (double)nb;
        for (size_t k = 0; k < nb; k++) {
            if (!st) {
                if (sc[k].latency_ms < 0) sc[k].latency_ms = per;
                sc[k].score = canonical(sc[k].score);
                sc[k].latency_ms = canonical(round(sc[k].latency_ms * 1000.0) / 1000.0); /* us */
                char *line = result_line(&r, bu[k], texts[k], &sc[k]);
                if (!line) st = wd__fail(WD_ERR_NOMEM, "out of memory");
                else {
                    /* one write per complete line */
                    size_t ll = strlen(line);
                    line[ll] = '\n';
                    if (fwrite(line, 1, ll + 1, f) != ll + 1)
                        st = wd__fail(WD_ERR_IO, "%s: write failed", r.results_path);
                    free(line);
                }
                unit_res *x = &r.res[bu[k]];
                x->done = 1;
                x->flagged = sc[k].flagged;
                x->score = sc[k].score;
                x->pred = sc[k].categories;
                x->latency_ms = sc[k].latency_ms;
            }
            free(sc[k].detail_json);
            sc[k].detail_json = NULL;
            free(texts[k]);
            texts[k] = NULL;
        }
        if (fflush(f) != 0 && !st) st = wd__fail(WD_ERR_IO, "%s: write failed", r.results_path);
        if (st) break;
        done_units += nb;
        scored += nb;
        if (p.progress) p.progress(p.progress_user, done_units, r.n_units);
    }
    free(bu);
    free(lens);
    free(texts);
    free(sc);
    if (fclose(f) != 0 && !st) st = wd__fail(WD_ERR_IO, "%s: write failed", r.results_path);
    if (outcome) {
        outcome->n_items = r.n_items;
        outcome->n_units = r.n_units;
        outcome->n_resumed = n_resumed;
        outcome->n_scored = scored;
        outcome->complete = done_units == r.n_units;
    }
    /* Outputs for whatever is done, also after an error of the scorer or a stop. */
    {
        char msg[WD_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", wd_last_error());
        wd_status wst = write_outputs(&r, out_dir, done_units == r.n_units);
        if (st) wd__fail(st, "%s", msg); /* keep the first error's message */
        else st = wst;
    }
    if (!st && stopped) st = wd__fail(WD_ERR_CANCELLED, "stopped after %zu of %zu; rerun to resume",
                                      done_units, r.n_units);
done:
    free_run(&r);
    return st;
}
