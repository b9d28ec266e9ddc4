/*
 * guard/guard.c - the guard engine: policy -> scanners -> verdict.
 *
 *   text --(validate, size limit)--> normalise (map to original offsets)
 *        --> each scanner enabled for the role, in policy order:
 *              per-category scores (max over scanners, times the scanner's
 *              weight) + hits (original offsets)
 *        --> payloads hidden in base64/hex/tag characters, and the text read
 *              as rot13 / reversed / Pig Latin (guard/payload.h): decoded and run through
 *              the same scanners (depth + 1, up to decode.max_depth); their
 *              hits point at the encoded span of the caller's text
 *        --> per category: score >= threshold and enabled on this rail
 *              -> fired, with the category's action
 *        --> verdict: action = max over fired; unsafe = action > allow;
 *              redacted text when asked or when the action is redact
 *
 * A wd_guard is immutable after loading. Per-thread state (normalisation
 * buffers, scanner scratch, hit arrays) lives in a `work` object taken from
 * a mutex-protected free list, so checks from many threads share one guard
 * and the steady state allocates only the verdict.
 *
 * Failure policy: invalid UTF-8, a text above max_bytes, or a scanner error
 * give a verdict with an error message; fail: closed -> block (unsafe),
 * fail: open -> the scanners that worked decide.
 *
 * Deadline and cancel flag (wd_check_params, guard/stop.h): tested before
 * each text, inside the normaliser, between scanners, inside every
 * scanner's long loops (wd__scan_poll; regex searches go by windows of
 * 64 KiB), while copying hits and while looking for encoded payloads; a
 * check told to stop returns WD_ERR_TIMEOUT or WD_ERR_CANCELLED and no
 * verdict. Every step is linear (or n log n) in the text.
 */
#include "warden/config.h"
#include "warden/guard.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/embed.h"
#include "base/err.h"
#include "base/json.h"
#include "base/file.h"
#include "base/util.h"
#include "guard/payload.h"
#include "guard/scanner.h"

WD_EMBED_DECLARE(wd_embed_policy_default);

#define MAX_DEPTH_LIMIT 4
#define SNIPPET_MAX 200

/* ==== small tables ======================================================= */

static const char *const action_names[] = {"allow", "flag", "redact", "block"};
const char *wd_action_str(wd_action a) { return (unsigned)a <= WD_ACTION_BLOCK ? action_names[a] : NULL; }
const char *wd_role_str(wd_role r) {
    return r == WD_ROLE_INPUT ? "input" : r == WD_ROLE_OUTPUT ? "output" : NULL;
}

wd_guard_params wd_guard_params_default(void) { return (wd_guard_params){.n_threads = 1}; }
wd_check_params wd_check_params_default(void) {
    return (wd_check_params){.role = WD_ROLE_INPUT, .redact = false, .deadline_ns = 0, .cancel = NULL};
}

/* ==== types ============================================================== */

typedef struct scanner_inst {
    const wd_scanner_vt *vt;
    void                *impl;
    char                *name;
    unsigned             roles;  /* bit 1 << wd_role */
    float                weight;
} scanner_inst;

typedef struct cat_rule {
    float     threshold;
    wd_action action;
    unsigned  roles; /* rails: roles on which this category is judged */
} cat_rule;

/* Per-thread work space. */
typedef struct work {
    struct work   *next;
    wd__canon        norm[MAX_DEPTH_LIMIT + 1];
    char          *dbuf[MAX_DEPTH_LIMIT + 1];
    size_t         dcap[MAX_DEPTH_LIMIT + 1];
    wd_scan_result res;
    void         **scratch; /* one per scanner, created lazily */
    bool          *scratch_made;
} work;

struct wd_guard {
    wd__err        err;
    char         *name;
    scanner_inst *sc;
    size_t        n_sc;
    cat_rule      cat[WD_CATEGORY_COUNT];
    unsigned      norm_flags;
    bool          fail_closed;
    size_t        max_bytes;
    unsigned      decode_kinds;
    int           decode_depth;
    size_t        decode_min;
    int           n_threads;
    pthread_mutex_t lock;
    work         *free_work;
};

/* The verdict under construction and as handed out. */
struct wd_verdict {
    wd_role    role;
    float      score[WD_CATEGORY_COUNT];
    wd_catmask fired;
    wd_action  cat_action[WD_CATEGORY_COUNT];
    wd_action  action;
    bool       unsafe;
    wd_hit    *hits;
    size_t     n_hits, cap_hits;
    char      *redacted;
    size_t     redacted_len;
    char      *error;
    double     micros;
};

/* ==== policy ============================================================= */

static wd_status parse_action(const wd__pnode *n, const char *field, wd_action *out, wd__err *err) {
    if (n->kind == WD_PN_SCALAR)
        for (int a = 0; a <= WD_ACTION_BLOCK; a++)
            if (!strcasecmp(n->str, action_names[a])) {
                *out = (wd_action)a;
                return WD_OK;
            }
    return wd__pn_error(n, err, WD_ERR_FORMAT, field, "expected allow, flag, redact or block");
}

static wd_status parse_role_item(const wd__pnode *it, void *user) {
    unsigned *roles = user;
    if (!strcasecmp(it->str, "input")) *roles |= 1u << WD_ROLE_INPUT;
    else if (!strcasecmp(it->str, "output")) *roles |= 1u << WD_ROLE_OUTPUT;
    else if (!strcasecmp(it->str, "both") || !strcasecmp(it->str, "all")) *roles |= 3u;
    else return wd__pn_error(it, NULL, WD_ERR_FORMAT, "roles", "expected input or output, got '%s'", it->str);
    return WD_OK;
}

typedef struct catlist_ctx {
    wd_catmask mask;
} catlist_ctx;

static wd_status parse_cat_item(const wd__pnode *it, void *user) {
    catlist_ctx *c = user;
    if (!strcasecmp(it->str, "all")) {
        c->mask = (wd_catmask)((1u << WD_CATEGORY_COUNT) - 1);
        return WD_OK;
    }
    if (!strcasecmp(it->str, "hazards")) {
        c->mask |= WD_CATMASK_HAZARDS;
        return WD_OK;
    }
    wd_category cat;
    if (wd_category_parse(it->str, &cat) != WD_OK)
        return wd__pn_error(it, NULL, WD_ERR_FORMAT, "categories",
                            "unknown category '%s' (S1..S14, pii, secrets, prompt_injection, profanity, all, hazards)",
                            it->str);
    c->mask |= WD_CATMASK(cat);
    return WD_OK;
}

static wd_status parse_norm_item(const wd__pnode *it, void *user) {
    static const struct { const char *name; unsigned flag; } f[] = {
        {"nfkc", WD_CANON_NFKC},           {"casefold", WD_CANON_CASEFOLD}, {"invisible", WD_CANON_INVISIBLE},
        {"confusables", WD_CANON_CONFUSABLES}, {"leet", WD_CANON_LEET},     {"join_split", WD_CANON_JOIN_SPLIT},
        {"html", WD_CANON_HTML},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!strcasecmp(it->str, f[i].name)) {
            *(unsigned *)user |= f[i].flag;
            return WD_OK;
        }
    return wd__pn_error(it, NULL, WD_ERR_FORMAT, "normalize",
                        "unknown step '%s' (html, nfkc, casefold, invisible, confusables, leet, join_split)", it->str);
}

static wd_status parse_decode_item(const wd__pnode *it, void *user) {
    unsigned *k = user;
    if (!strcasecmp(it->str, "base64")) *k |= WD_DECODE_BASE64;
    else if (!strcasecmp(it->str, "hex")) *k |= WD_DECODE_HEX;
    else if (!strcasecmp(it->str, "rot13")) *k |= WD_DECODE_ROT13;
    else if (!strcasecmp(it->str, "reverse")) *k |= WD_DECODE_REVERSE;
    else if (!strcasecmp(it->str, "piglatin")) *k |= WD_DECODE_PIGLATIN;
    else if (!strcasecmp(it->str, "tags")) *k |= WD_DECODE_TAGS;
    else if (!strcasecmp(it->str, "spelling")) *k |= WD_DECODE_SPELLING;
    else return wd__pn_error(it, NULL, WD_ERR_FORMAT, "decode",
                             "unknown encoding '%s' (base64, hex, tags, rot13, reverse, piglatin, spelling)", it->str);
    return WD_OK;
}

static wd_status parse_categories(wd_guard *g, const wd__pnode *root, wd__err *err) {
    float def_thr = 0.5f;
    wd_action def_act = WD_ACTION_BLOCK;
    const wd__pnode *d = wd__pn_get(root, "defaults");
    if (d) {
        static const char *const keys[] = {"threshold", "action", NULL};
        if (d->kind != WD_PN_MAP) return wd__pn_error(d, err, WD_ERR_FORMAT, "defaults", "expected a mapping");
        wd_status st = wd__pn_check_keys(d, keys, "defaults", err);
        double t = def_thr;
        if (st == WD_OK) st = wd__pn_number(d, "threshold", 0, 1, &t, err);
        if (st != WD_OK) return st;
        def_thr = (float)t;
        const wd__pnode *a = wd__pn_get(d, "action");
        if (a && (st = parse_action(a, "action", &def_act, err)) != WD_OK) return st;
    }
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) g->cat[c] = (cat_rule){def_thr, def_act, 3u};
    const wd__pnode *cats = wd__pn_get(root, "categories");
    if (cats) {
        if (cats->kind != WD_PN_MAP)
            return wd__pn_error(cats, err, WD_ERR_FORMAT, "categories", "expected a mapping of category: {threshold, action}");
        for (size_t i = 0; i < cats->n; i++) {
            const wd__pnode *k = cats->keys[i], *v = cats->items[i];
            wd_category c;
            if (wd_category_parse(k->str, &c) != WD_OK)
                return wd__pn_error(k, err, WD_ERR_FORMAT, "categories",
                                    "unknown category '%s' (S1..S14, pii, secrets, prompt_injection, profanity)", k->str);
            static const char *const keys[] = {"threshold", "action", NULL};
            if (v->kind != WD_PN_MAP) return wd__pn_error(v, err, WD_ERR_FORMAT, k->str, "expected {threshold: .., action: ..}");
            wd_status st = wd__pn_check_keys(v, keys, k->str, err);
            double t = g->cat[c].threshold;
            if (st == WD_OK) st = wd__pn_number(v, "threshold", 0, 1, &t, err);
            if (st != WD_OK) return st;
            g->cat[c].threshold = (float)t;
            const wd__pnode *a = wd__pn_get(v, "action");
            if (a && (st = parse_action(a, "action", &g->cat[c].action, err)) != WD_OK) return st;
        }
    }
    const wd__pnode *rails = wd__pn_get(root, "rails");
    if (rails) {
        static const char *const keys[] = {"input", "output", NULL};
        if (rails->kind != WD_PN_MAP) return wd__pn_error(rails, err, WD_ERR_FORMAT, "rails", "expected {input: .., output: ..}");
        wd_status st = wd__pn_check_keys(rails, keys, "rails", err);
        if (st != WD_OK) return st;
        for (int r = 0; r < 2; r++) {
            const wd__pnode *rn = wd__pn_get(rails, r == 0 ? "input" : "output");
            if (!rn) continue;
            static const char *const rkeys[] = {"categories", "exclude", NULL};
            if (rn->kind != WD_PN_MAP) return wd__pn_error(rn, err, WD_ERR_FORMAT, r ? "output" : "input", "expected {categories: [..], exclude: [..]}");
            if ((st = wd__pn_check_keys(rn, rkeys, r ? "rails.output" : "rails.input", err)) != WD_OK) return st;
            catlist_ctx inc = {0}, exc = {0};
            if (wd__pn_get(rn, "categories")) {
                st = wd__pn_each_string(rn, "categories", parse_cat_item, &inc, err);
            } else {
                inc.mask = (wd_catmask)((1u << WD_CATEGORY_COUNT) - 1);
            }
            if (st == WD_OK) st = wd__pn_each_string(rn, "exclude", parse_cat_item, &exc, err);
            if (st != WD_OK) return wd__err_take(err, st);
            for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
                bool on = (inc.mask & ~exc.mask) & WD_CATMASK(c);
                if (on) g->cat[c].roles |= 1u << r;
                else g->cat[c].roles &= ~(1u << r);
            }
        }
    }
    return WD_OK;
}

static wd_status parse_scanners(wd_guard *g, const wd__pnode *root, wd__err *err) {
    const wd__pnode *list = wd__pn_get(root, "scanners");
    if (!list) return wd__pn_error(root, err, WD_ERR_FORMAT, "scanners", "missing: a policy lists at least one scanner");
    if (list->kind != WD_PN_SEQ || list->n == 0)
        return wd__pn_error(list, err, WD_ERR_FORMAT, "scanners", "expected a non-empty list of {type: ..}");
    g->sc = calloc(list->n, sizeof *g->sc);
    if (!g->sc) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    wd_scanner_env env = {root->file, root->dir};
    for (size_t i = 0; i < list->n; i++) {
        const wd__pnode *n = list->items[i];
        if (n->kind != WD_PN_MAP) return wd__pn_error(n, err, WD_ERR_FORMAT, "scanners", "each scanner is a mapping with a type");
        const char *type = NULL, *name = NULL;
        wd_status st = wd__pn_string(n, "type", &type, err);
        if (st != WD_OK) return st;
        if (!type) return wd__pn_error(n, err, WD_ERR_FORMAT, "type", "missing: every scanner names its type");
        const wd_scanner_vt *vt = wd__scanner_find(type);
        if (!vt) {
            char types[256];
            wd__scanner_types(types, sizeof types);
            return wd__pn_error(wd__pn_get(n, "type"), err, WD_ERR_NOT_FOUND, "type",
                                "unknown scanner type '%s' (known: %s)", type, types);
        }
        if ((st = wd__pn_string(n, "name", &name, err)) != WD_OK) return st;
        for (size_t j = 0; j < g->n_sc; j++)
            if (!strcmp(g->sc[j].name, name ? name : type))
                return wd__pn_error(n, err, WD_ERR_FORMAT, "name",
                                    "two scanners are named '%s': give each a distinct name", name ? name : type);
        unsigned roles = 0;
        if (wd__pn_get(n, "roles")) {
            st = wd__pn_each_string(n, "roles", parse_role_item, &roles, err);
            if (st != WD_OK) return wd__err_take(err, st);
        } else {
            roles = 3u;
        }
        double weight = 1.0;
        if ((st = wd__pn_number(n, "weight", 0, 1, &weight, err)) != WD_OK) return st;
        bool enabled = true;
        if ((st = wd__pn_bool(n, "enabled", &enabled, err)) != WD_OK) return st;
        if (!enabled) continue;
        scanner_inst *s = &g->sc[g->n_sc];
        s->vt = vt;
        s->name = strdup(name ? name : type);
        s->roles = roles;
        s->weight = (float)weight;
        if (!s->name) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        st = vt->init(n, &env, &s->impl, err);
        if (st != WD_OK) {
            free(s->name);
            s->name = NULL;
            return st;
        }
        g->n_sc++;
    }
    return WD_OK;
}

static wd_status parse_policy(wd_guard *g, const wd__pnode *root, wd__err *err) {
    if (!root) return wd__err_set(err, WD_ERR_FORMAT, "the policy is empty");
    static const char *const keys[] = {"name", "version", "description", "fail", "max_bytes", "normalize",
                                       "decode", "defaults", "categories", "rails", "scanners", NULL};
    wd_status st = wd__pn_check_keys(root, keys, "the policy", err);
    if (st != WD_OK) return st;
    long version = 1;
    if ((st = wd__pn_int(root, "version", 1, 1, &version, err)) != WD_OK) return st;
    const char *name = NULL, *fail = NULL;
    if ((st = wd__pn_string(root, "name", &name, err)) != WD_OK) return st;
    g->name = strdup(name ? name : root->file);
    if (!g->name) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    if ((st = wd__pn_string(root, "fail", &fail, err)) != WD_OK) return st;
    g->fail_closed = true;
    if (fail) {
        if (!strcasecmp(fail, "open")) g->fail_closed = false;
        else if (strcasecmp(fail, "closed"))
            return wd__pn_error(wd__pn_get(root, "fail"), err, WD_ERR_FORMAT, "fail", "expected open or closed, got '%s'", fail);
    }
    long max_bytes = 32L << 20;
    if ((st = wd__pn_int(root, "max_bytes", 1, 1L << 30, &max_bytes, err)) != WD_OK) return st;
    g->max_bytes = (size_t)max_bytes;
    g->norm_flags = WD_CANON_DEFAULT;
    if (wd__pn_get(root, "normalize")) {
        g->norm_flags = 0;
        const wd__pnode *nn = wd__pn_get(root, "normalize");
        if (!(nn->kind == WD_PN_SCALAR && !strcasecmp(nn->str, "none"))) {
            st = wd__pn_each_string(root, "normalize", parse_norm_item, &g->norm_flags, err);
            if (st != WD_OK) return wd__err_take(err, st);
        }
    }
    g->decode_kinds = WD_DECODE_ALL;
    g->decode_depth = 2;
    g->decode_min = 16;
    const wd__pnode *dec = wd__pn_get(root, "decode");
    if (dec) {
        static const char *const dkeys[] = {"encodings", "max_depth", "min_length", NULL};
        if (dec->kind != WD_PN_MAP) return wd__pn_error(dec, err, WD_ERR_FORMAT, "decode", "expected {encodings: [..], max_depth: .., min_length: ..}");
        if ((st = wd__pn_check_keys(dec, dkeys, "decode", err)) != WD_OK) return st;
        if (wd__pn_get(dec, "encodings")) {
            g->decode_kinds = 0;
            const wd__pnode *en = wd__pn_get(dec, "encodings");
            if (!(en->kind == WD_PN_SCALAR && !strcasecmp(en->str, "none"))) {
                st = wd__pn_each_string(dec, "encodings", parse_decode_item, &g->decode_kinds, err);
                if (st != WD_OK) return wd__err_take(err, st);
            }
        }
        long depth = g->decode_depth, minl = (long)g->decode_min;
        if ((st = wd__pn_int(dec, "max_depth", 0, MAX_DEPTH_LIMIT, &depth, err)) != WD_OK) return st;
        if ((st = wd__pn_int(dec, "min_length", 8, 4096, &minl, err)) != WD_OK) return st;
        g->decode_depth = (int)depth;
        g->decode_min = (size_t)minl;
    }
    if ((st = parse_categories(g, root, err)) != WD_OK) return st;
    return parse_scanners(g, root, err);
}

/* ==== load / free ======================================================== */

static void work_free(const wd_guard *g, work *w) {
    if (!w) return;
    for (int d = 0; d <= MAX_DEPTH_LIMIT; d++) {
        wd__canon_free(&w->norm[d]);
        free(w->dbuf[d]);
    }
    free(w->res.hits);
    for (size_t i = 0; i < g->n_sc; i++)
        if (w->scratch_made[i] && g->sc[i].vt->scratch_free) g->sc[i].vt->scratch_free(w->scratch[i]);
    free(w->scratch);
    free(w->scratch_made);
    free(w);
}

void wd_guard_free(wd_guard *g) {
    if (!g) return;
    work *w = g->free_work;
    while (w) {
        work *nx = w->next;
        work_free(g, w);
        w = nx;
    }
    for (size_t i = 0; i < g->n_sc; i++) {
        if (g->sc[i].vt && g->sc[i].vt->free) g->sc[i].vt->free(g->sc[i].impl);
        free(g->sc[i].name);
    }
    free(g->sc);
    free(g->name);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

wd_status wd_guard_load_string(const char *yaml, size_t len, const char *name, const char *dir,
                               const wd_guard_params *params, wd_guard **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load: out is NULL");
    *out = NULL;
    if (!yaml && len) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load: yaml is NULL");
    wd_guard *g = calloc(1, sizeof *g);
    if (!g) return wd__fail(WD_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&g->lock, NULL);
    wd_guard_params p = params ? *params : wd_guard_params_default();
    g->n_threads = p.n_threads < 1 ? 1 : p.n_threads > 256 ? 256 : p.n_threads;
    wd__pnode *root = NULL;
    wd_status st = wd__pn_parse(yaml ? yaml : "", len, name, dir, &root, &g->err);
    if (st == WD_OK && !root)
        st = wd__err_set(&g->err, WD_ERR_FORMAT, "%s: the policy is empty (it needs at least `scanners:`)",
                         name ? name : "<policy>");
    if (st == WD_OK) st = parse_policy(g, root, &g->err);
    wd__pn_free(root);
    if (st != WD_OK) {
        /* keep the message in the thread-local slot for the caller */
        wd__fail(st, "%s", g->err.msg);
        wd_guard_free(g);
        return st;
    }
    *out = g;
    return WD_OK;
}

wd_status wd_guard_load_model(const char *dir, const wd_guard_params *params, wd_guard **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load_model: out is NULL");
    *out = NULL;
    if (!dir) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load_model: dir is NULL");
    /* a .gguf holds a decoder (the only kind warden reads from GGUF) */
    size_t dl = strlen(dir);
    bool decoder = dl > 5 && !strcmp(dir + dl - 5, ".gguf") && !wd__path_is_dir(dir);
    if (!decoder) {
        char *cfg_path = wd__path_join(dir, "config.json");
        if (!cfg_path) return wd__fail(WD_ERR_NOMEM, "out of memory");
        wd_model_config *cfg = NULL;
        wd_status st = wd_model_config_load(cfg_path, &cfg);
        free(cfg_path);
        if (st) return st;
        decoder = wd_model_config_family(cfg) == WD_MODEL_FAMILY_DECODER;
        wd_model_config_free(cfg);
    }
    /* the folder name as a double-quoted YAML scalar, for the name and the model */
    size_t n = strlen(dir);
    char *q = malloc(2 * n + 1), *w = q;
    if (!q) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (dir[i] == '"' || dir[i] == '\\') *w++ = '\\';
        *w++ = dir[i];
    }
    *w = '\0';
    size_t cap = 4 * n + 256;
    char *yaml = malloc(cap);
    if (!yaml) {
        free(q);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    snprintf(yaml, cap, "name: \"%s\"\nscanners:\n  - type: %s\n    model: \"%s\"\n", q,
             decoder ? "llm_judge" : "encoder_classifier", q);
    free(q);
    wd_status st = wd_guard_load_string(yaml, strlen(yaml), dir, ".", params, out);
    free(yaml);
    return st;
}

wd_status wd_guard_load(const char *path, const wd_guard_params *params, wd_guard **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load: path is NULL");
    char *text = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(path, 16u << 20, &text, &len);
    if (st != WD_OK) return st;
    char *dir = strdup(path);
    if (!dir) {
        free(text);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir ? 1 : 0] = '\0';
    st = wd_guard_load_string(text, len, path, slash ? dir : ".", params, out);
    free(dir);
    free(text);
    return st;
}

wd_status wd_guard_load_default(const wd_guard_params *params, wd_guard **out) {
    return wd_guard_load_string((const char *)wd_embed_policy_default, wd_embed_policy_default_len,
                                "<built-in default policy>", ".", params, out);
}

const char *wd_guard_last_error(const wd_guard *g) { return g ? wd__err_msg(&g->err) : ""; }
const char *wd_guard_name(const wd_guard *g) { return g ? g->name : NULL; }

/* ==== work space ========================================================= */

static work *work_get(wd_guard *g) {
    pthread_mutex_lock(&g->lock);
    work *w = g->free_work;
    if (w) g->free_work = w->next;
    pthread_mutex_unlock(&g->lock);
    if (w) return w;
    w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->scratch = calloc(g->n_sc ? g->n_sc : 1, sizeof *w->scratch);
    w->scratch_made = calloc(g->n_sc ? g->n_sc : 1, sizeof *w->scratch_made);
    if (!w->scratch || !w->scratch_made) {
        free(w->scratch);
        free(w->scratch_made);
        free(w);
        return NULL;
    }
    return w;
}

static void work_put(wd_guard *g, work *w) {
    pthread_mutex_lock(&g->lock);
    w->next = g->free_work;
    g->free_work = w;
    pthread_mutex_unlock(&g->lock);
}

static void *scratch_for(const wd_guard *g, work *w, size_t i) {
    if (!w->scratch_made[i]) {
        w->scratch[i] = g->sc[i].vt->scratch_new ? g->sc[i].vt->scratch_new(g->sc[i].impl) : NULL;
        w->scratch_made[i] = true;
    }
    return w->scratch[i];
}

/* ==== checking =========================================================== */

static void verdict_error(wd_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verdict_error(wd_verdict *v, const char *fmt, ...) {
    if (v->error) return; /* keep the first */
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    v->error = strdup(buf);
}

static wd_status add_hit(wd_verdict *v, const char *orig, const scanner_inst *s, const wd_scan_hit *h,
                         size_t start, size_t end, int depth, float weight) {
    if (v->n_hits == v->cap_hits) {
        size_t cap = v->cap_hits ? v->cap_hits * 2 : 8;
        wd_hit *nh = realloc(v->hits, cap * sizeof *nh);
        if (!nh) return WD_ERR_NOMEM;
        v->hits = nh;
        v->cap_hits = cap;
    }
    size_t n = end - start;
    if (n > SNIPPET_MAX) {
        n = SNIPPET_MAX;
        while (n > 0 && ((unsigned char)orig[start + n] & 0xC0) == 0x80) n--; /* whole characters */
    }
    char *snip = malloc(n + 1);
    if (!snip) return WD_ERR_NOMEM;
    memcpy(snip, orig + start, n);
    snip[n] = '\0';
    v->hits[v->n_hits++] = (wd_hit){
        .scanner = s ? s->name : "decode",
        .rule = h->rule,
        .placeholder = depth ? NULL : h->placeholder,
        .snippet = snip,
        .category = h->category,
        .score = h->score * weight,
        .start = start,
        .end = end,
        .depth = depth,
    };
    return WD_OK;
}

typedef struct run_ctx {
    wd_guard      *g;
    work          *w;
    wd_verdict    *v;
    const char    *top;     /* the caller's text, for snippets */
    wd_role        role;
    int            depth;
    size_t         span0, span1; /* for depth > 0: the encoded span in the caller's text */
    wd_status      st;
    const wd_scan_stop *stop; /* NULL: no deadline, no cancel flag */
    bool           ciphered; /* text is a cipher variant: no cipher of it is tried again */
} run_ctx;

static void run_text(run_ctx *rc, const char *text, size_t len);

static int on_payload(size_t start, size_t end, const char *plain, size_t n, int kind, void *user) {
    run_ctx *rc = user;
    run_ctx sub = *rc;
    sub.depth = rc->depth + 1;
    sub.ciphered = rc->ciphered || (kind & WD_DECODE_CIPHERS);
    if (rc->depth == 0) {
        sub.span0 = start;
        sub.span1 = end;
    }
    size_t hits_before = rc->v->n_hits;
    run_text(&sub, plain, n);
    rc->st = sub.st;
    /* Something harmful hidden in an encoding is also an injection attempt
     * (a hazard: personal data or a key read again from a variant is not). */
    bool found = false;
    for (size_t i = hits_before; i < rc->v->n_hits; i++) found |= (WD_CATMASK(rc->v->hits[i].category) & WD_CATMASK_HAZARDS) != 0;
    if (found && rc->depth == 0 && kind != WD_DECODE_SPELLING) { /* a typo is no injection */
        const char *rule = kind == WD_DECODE_BASE64 ? "hidden-base64-payload"
                         : kind == WD_DECODE_HEX ? "hidden-hex-payload"
                         : kind == WD_DECODE_TAGS ? "hidden-tag-payload"
                         : kind == WD_DECODE_ROT13 ? "hidden-rot13-payload"
                         : kind == WD_DECODE_REVERSE ? "hidden-reversed-payload" : "hidden-piglatin-payload";
        wd_scan_hit h = {rule, NULL, WD_CATEGORY_PROMPT_INJECTION, 0.7f, start, end};
        if (rc->v->score[WD_CATEGORY_PROMPT_INJECTION] < 0.7f) rc->v->score[WD_CATEGORY_PROMPT_INJECTION] = 0.7f;
        add_hit(rc->v, rc->top, NULL, &h, start, end, 0, 1.0f);
    }
    return rc->st != WD_OK;
}

/* Runs every scanner on text (the caller's text at depth 0, a decoded
 * payload deeper) and folds the results into rc->v. */
static void run_text(run_ctx *rc, const char *text, size_t len) {
    wd_guard *g = rc->g;
    work *w = rc->w;
    wd_verdict *v = rc->v;
    wd__canon *nm = &w->norm[rc->depth];
    wd_status st = rc->stop ? wd__scan_stop_poll(rc->stop) : WD_OK;
    if (st != WD_OK) {
        rc->st = st;
        return;
    }
    st = wd__canonicalize_stop(text, len, g->norm_flags, nm, rc->stop);
    if (st == WD_ERR_ENCODING) {
        if (rc->depth == 0) verdict_error(v, "%s", wd_last_error());
        return; /* a decoded payload that is not text: nothing to scan */
    }
    if (st != WD_OK) {
        rc->st = st;
        return;
    }
    unsigned kinds = g->decode_kinds & (rc->ciphered ? ~(unsigned)WD_DECODE_CIPHERS : ~0u);
    bool can_decode = kinds && rc->depth < g->decode_depth;
    bool whole_cipher = false;
    if (can_decode && (kinds & WD_DECODE_CIPHERS)) {
        st = wd__payload_whole_cipher(nm, kinds, rc->stop, &whole_cipher);
        if (st != WD_OK) {
            rc->st = st;
            return;
        }
    }
    wd_scan_input in = {.orig = text, .orig_len = len, .norm = nm, .role = rc->role, .depth = rc->depth,
                        .stop = rc->stop, .ciphered = whole_cipher};
    for (size_t i = 0; i < g->n_sc; i++) {
        if (rc->stop && (st = wd__scan_stop_poll(rc->stop)) != WD_OK) {
            rc->st = st;
            return;
        }
        const scanner_inst *s = &g->sc[i];
        if (!(s->roles & (1u << rc->role))) continue;
        wd_scan_result *r = &w->res;
        memset(r->score, 0, sizeof r->score);
        r->n_hits = 0;
        wd__err serr;
        serr.status = WD_OK;
        serr.msg[0] = '\0';
        st = s->vt->scan(s->impl, scratch_for(g, w, i), &in, r, &serr);
        if (st != WD_OK) {
            if (st == WD_ERR_NOMEM || st == WD_ERR_TIMEOUT || st == WD_ERR_CANCELLED) {
                rc->st = st;
                return;
            }
            verdict_error(v, "scanner '%s' failed: %s", s->name, serr.msg[0] ? serr.msg : wd_status_str(st));
            continue;
        }
        for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
            float sc = r->score[c] * s->weight;
            if (sc > v->score[c]) v->score[c] = sc;
        }
        for (size_t h = 0; h < r->n_hits; h++) {
            if (rc->stop && h % 256 == 255 && /* each hit allocates its snippet */
                (st = wd__scan_stop_poll(rc->stop)) != WD_OK) {
                rc->st = st;
                return;
            }
            const wd_scan_hit *hh = &r->hits[h];
            size_t a = hh->start, b = hh->end;
            if (rc->depth > 0) {
                a = rc->span0;
                b = rc->span1;
            } else if (a > len || b > len || a > b) {
                verdict_error(v, "scanner '%s' reported a hit outside the text", s->name);
                continue;
            }
            if (add_hit(v, rc->top, s, hh, a, b, rc->depth, s->weight) != WD_OK) {
                rc->st = WD_ERR_NOMEM;
                return;
            }
        }
    }
    if (can_decode) {
        if (in.ciphered) kinds &= ~(unsigned)WD_DECODE_SPELLING; /* the deciphered variant is spelled, if at all */
        st = wd__payload_scan(text, len, nm, kinds, g->decode_min, &w->dbuf[rc->depth], &w->dcap[rc->depth],
                             on_payload, rc, rc->stop);
        if (st != WD_OK && rc->st == WD_OK) rc->st = st;
    }
}

static int hit_cmp(const void *a, const void *b) {
    const wd_hit *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    int c = strcmp(x->scanner, y->scanner);
    if (c) return c;
    c = strcmp(x->rule ? x->rule : "", y->rule ? y->rule : "");
    if (c) return c;
    return (int)x->category - (int)y->category;
}

static wd_status finish(wd_guard *g, wd_verdict *v, const char *text, size_t len, bool redact) {
    v->fired = 0;
    v->action = WD_ACTION_ALLOW;
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        v->cat_action[c] = WD_ACTION_ALLOW;
        if (!(g->cat[c].roles & (1u << v->role))) continue;
        if (v->score[c] > 0 && v->score[c] >= g->cat[c].threshold) {
            v->fired |= WD_CATMASK(c);
            v->cat_action[c] = g->cat[c].action;
            if (g->cat[c].action > v->action) v->action = g->cat[c].action;
        }
    }
    if (v->error && g->fail_closed) v->action = WD_ACTION_BLOCK;
    v->unsafe = v->action > WD_ACTION_ALLOW;
    if (v->n_hits > 1) qsort(v->hits, v->n_hits, sizeof *v->hits, hit_cmp);
    if (!(redact || v->action == WD_ACTION_REDACT) || v->error) return WD_OK;
    /* Redacted text: every redactable hit of a category that fired (or of
     * any category when the caller asked), overlapping spans merged. */
    size_t cap = len + 1, w = 0, pos = 0;
    for (size_t i = 0; i < v->n_hits; i++)
        if (v->hits[i].placeholder) cap += strlen(v->hits[i].placeholder);
    char *out = malloc(cap);
    if (!out) return WD_ERR_NOMEM;
    for (size_t i = 0; i < v->n_hits; i++) {
        const wd_hit *h = &v->hits[i];
        if (!h->placeholder) continue;
        if (!(redact || (v->fired & WD_CATMASK(h->category)))) continue;
        if (h->end <= pos) continue;
        size_t a = h->start < pos ? pos : h->start;
        memcpy(out + w, text + pos, a - pos);
        w += a - pos;
        if (h->start >= pos) {
            size_t pl = strlen(h->placeholder);
            memcpy(out + w, h->placeholder, pl);
            w += pl;
        }
        pos = h->end;
    }
    memcpy(out + w, text + pos, len - pos);
    w += len - pos;
    out[w] = '\0';
    v->redacted = out;
    v->redacted_len = w;
    return WD_OK;
}

static wd_status check_one(wd_guard *g, work *w, const char *text, size_t len, const wd_check_params *p,
                           wd_verdict **out) {
    double t0 = wd__now_us();
    wd_verdict *v = calloc(1, sizeof *v);
    if (!v) return wd__err_set(&g->err, WD_ERR_NOMEM, "out of memory");
    v->role = p->role;
    wd_status st = WD_OK;
    wd_scan_stop stop = {p->deadline_ns, p->cancel};
    if (len > g->max_bytes) {
        verdict_error(v, "text is %zu bytes, above the policy's max_bytes (%zu): not checked", len, g->max_bytes);
    } else {
        run_ctx rc = {g, w, v, text ? text : "", p->role, 0, 0, len, WD_OK,
                      p->deadline_ns || p->cancel ? &stop : NULL, false};
        run_text(&rc, text ? text : "", len);
        st = rc.st;
    }
    if (st == WD_OK) st = finish(g, v, text ? text : "", len, p->redact);
    if (st != WD_OK) {
        wd_verdict_free(v);
        if (st == WD_ERR_TIMEOUT)
            return wd__err_set(&g->err, st, "check: the deadline passed %.1f ms into a text of %zu bytes",
                               (wd__now_us() - t0) / 1000.0, len);
        if (st == WD_ERR_CANCELLED)
            return wd__err_set(&g->err, st, "check: cancelled %.1f ms into a text of %zu bytes",
                               (wd__now_us() - t0) / 1000.0, len);
        return wd__err_set(&g->err, st, "check: %s", st == WD_ERR_NOMEM ? "out of memory" : wd_status_str(st));
    }
    v->micros = wd__now_us() - t0;
    *out = v;
    return WD_OK;
}

wd_status wd_guard_check(wd_guard *g, const char *text, size_t len, const wd_check_params *params,
                         wd_verdict **out) {
    if (out) *out = NULL;
    if (!g || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_check: guard or out is NULL");
    if (!text && len) return wd__err_set(&g->err, WD_ERR_INVALID_ARG, "wd_guard_check: text is NULL");
    wd_check_params p = params ? *params : wd_check_params_default();
    if (p.role != WD_ROLE_INPUT && p.role != WD_ROLE_OUTPUT)
        return wd__err_set(&g->err, WD_ERR_INVALID_ARG, "wd_guard_check: role %d is neither input nor output", (int)p.role);
    work *w = work_get(g);
    if (!w) return wd__err_set(&g->err, WD_ERR_NOMEM, "out of memory");
    wd_status st = check_one(g, w, text, len, &p, out);
    work_put(g, w);
    return st;
}

typedef struct batch_job {
    wd_guard              *g;
    const char *const     *texts;
    const size_t          *lens;
    size_t                 from, to;
    const wd_check_params *p;
    wd_verdict           **out;
    wd_status              st;
} batch_job;

static void *batch_run(void *arg) {
    batch_job *j = arg;
    work *w = work_get(j->g);
    if (!w) {
        j->st = WD_ERR_NOMEM;
        return NULL;
    }
    for (size_t i = j->from; i < j->to && j->st == WD_OK; i++) {
        if (!j->texts[i] && j->lens[i]) {
            j->st = WD_ERR_INVALID_ARG;
            break;
        }
        j->st = check_one(j->g, w, j->texts[i], j->lens[i], j->p, &j->out[i]);
    }
    work_put(j->g, w);
    return NULL;
}

wd_status wd_guard_check_batch(wd_guard *g, const char *const *texts, const size_t *lens, size_t n,
                               const wd_check_params *params, wd_verdict **out) {
    if (!g || (n && (!texts || !lens || !out)))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_check_batch: NULL argument");
    for (size_t i = 0; i < n; i++) out[i] = NULL;
    wd_check_params p = params ? *params : wd_check_params_default();
    if (p.role != WD_ROLE_INPUT && p.role != WD_ROLE_OUTPUT)
        return wd__err_set(&g->err, WD_ERR_INVALID_ARG, "wd_guard_check_batch: bad role %d", (int)p.role);
    size_t nt = (size_t)g->n_threads;
    if (nt > n) nt = n ? n : 1;
    batch_job jobs[256];
    pthread_t th[256];
    bool started[256] = {false};
    for (size_t t = 0; t < nt; t++)
        jobs[t] = (batch_job){g, texts, lens, n * t / nt, n * (t + 1) / nt, &p, out, WD_OK};
    for (size_t t = 1; t < nt; t++) started[t] = pthread_create(&th[t], NULL, batch_run, &jobs[t]) == 0;
    batch_run(&jobs[0]);
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else batch_run(&jobs[t]); /* could not start a thread: do its share here */
    }
    wd_status st = WD_OK;
    for (size_t t = 0; t < nt && st == WD_OK; t++) st = jobs[t].st;
    if (st != WD_OK) {
        for (size_t i = 0; i < n; i++) {
            wd_verdict_free(out[i]);
            out[i] = NULL;
        }
        if (st == WD_ERR_INVALID_ARG) return wd__err_set(&g->err, st, "wd_guard_check_batch: a text is NULL");
        if (st == WD_ERR_TIMEOUT) return wd__err_set(&g->err, st, "check: the deadline passed during a batch of %zu texts", n);
        if (st == WD_ERR_CANCELLED) return wd__err_set(&g->err, st, "check: cancelled during a batch of %zu texts", n);
        return wd__err_take(&g->err, st);
    }
    return WD_OK;
}

/* ==== verdict accessors ================================================== */

void wd_verdict_free(wd_verdict *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n_hits; i++) free((char *)v->hits[i].snippet);
    free(v->hits);
    free(v->redacted);
    free(v->error);
    free(v);
}

bool wd_verdict_unsafe(const wd_verdict *v) { return v && v->unsafe; }
wd_action wd_verdict_action(const wd_verdict *v) { return v ? v->action : WD_ACTION_ALLOW; }
wd_role wd_verdict_role(const wd_verdict *v) { return v ? v->role : WD_ROLE_INPUT; }
wd_catmask wd_verdict_categories(const wd_verdict *v) { return v ? v->fired : 0; }
float wd_verdict_score(const wd_verdict *v, wd_category c) {
    return v && (unsigned)c < WD_CATEGORY_COUNT ? v->score[c] : 0.0f;
}
wd_action wd_verdict_category_action(const wd_verdict *v, wd_category c) {
    return v && (unsigned)c < WD_CATEGORY_COUNT ? v->cat_action[c] : WD_ACTION_ALLOW;
}
size_t wd_verdict_n_hits(const wd_verdict *v) { return v ? v->n_hits : 0; }
const wd_hit *wd_verdict_hit(const wd_verdict *v, size_t i) {
    return v && i < v->n_hits ? &v->hits[i] : NULL;
}
const char *wd_verdict_redacted(const wd_verdict *v, size_t *len) {
    if (len) *len = v && v->redacted ? v->redacted_len : 0;
    return v ? v->redacted : NULL;
}
const char *wd_verdict_error(const wd_verdict *v) { return v ? v->error : NULL; }
double wd_verdict_micros(const wd_verdict *v) { return v ? v->micros : 0; }

/* ==== JSON =============================================================== */

static double round4(float x) { return (double)(long)(x * 10000.0f + 0.5f) / 10000.0; }

wd_status wd_verdict_to_json(const wd_verdict *v, char **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_verdict_to_json: out is NULL");
    *out = NULL;
    if (!v) return wd__fail(WD_ERR_INVALID_ARG, "wd_verdict_to_json: verdict is NULL");
    cJSON *o = cJSON_CreateObject();
    if (!o) return wd__fail(WD_ERR_NOMEM, "out of memory");
    cJSON_AddBoolToObject(o, "unsafe", v->unsafe);
    cJSON_AddStringToObject(o, "action", wd_action_str(v->action));
    cJSON_AddStringToObject(o, "role", wd_role_str(v->role));
    cJSON *cats = cJSON_AddArrayToObject(o, "categories");
    cJSON *scores = cJSON_AddObjectToObject(o, "scores");
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        /* every category, always: a client reads the same keys whatever ran */
        cJSON_AddNumberToObject(scores, wd_category_id(c), v->score[c] > 0 ? round4(v->score[c]) : 0.0);
        if (!(v->fired & WD_CATMASK(c))) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", wd_category_id(c));
        cJSON_AddStringToObject(e, "name", wd_category_name(c));
        cJSON_AddNumberToObject(e, "score", round4(v->score[c]));
        cJSON_AddStringToObject(e, "action", wd_action_str(v->cat_action[c]));
        cJSON_AddItemToArray(cats, e);
    }
    cJSON *hits = cJSON_AddArrayToObject(o, "hits");
    for (size_t i = 0; i < v->n_hits; i++) {
        const wd_hit *h = &v->hits[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "scanner", h->scanner);
        cJSON_AddStringToObject(e, "rule", h->rule ? h->rule : "");
        cJSON_AddStringToObject(e, "category", wd_category_id(h->category));
        cJSON_AddNumberToObject(e, "score", round4(h->score));
        cJSON_AddNumberToObject(e, "start", (double)h->start);
        cJSON_AddNumberToObject(e, "end", (double)h->end);
        cJSON_AddStringToObject(e, "text", h->snippet);
        cJSON_AddNumberToObject(e, "depth", h->depth);
        cJSON_AddItemToArray(hits, e);
    }
    if (v->redacted) cJSON_AddStringToObject(o, "redacted", v->redacted);
    else cJSON_AddNullToObject(o, "redacted");
    if (v->error) cJSON_AddStringToObject(o, "error", v->error);
    else cJSON_AddNullToObject(o, "error");
    char *s = wd__json_print(o, false);
    cJSON_Delete(o);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    /* cJSON allocates with malloc by default; hand it out as is. */
    *out = s;
    return WD_OK;
}
