/*
 * guard/policy.c - the policy reader: a policy's YAML (a file, a string, the
 * built-in default) or a model folder becomes a wd_guard's scanners,
 * category rules and settings (guard/guard_internal.h). docs/policy.md is
 * the policy's reference; every field error names file:line:col.
 *
 *   wd_guard_load / _load_string / _load_default   YAML -> tree (base/yaml.h)
 *                                                    -> settings, categories, rails, scanners
 *   wd_guard_load_model                             a model folder -> one model scanner
 *                                                    (llm_judge for a decoder, encoder_classifier
 *                                                    for a classifier), the folder read once
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/embed.h"
#include "base/err.h"
#include "base/file.h"
#include "guard/guard_internal.h"
#include "guard/model_guard.h"
#include "guard/payload.h"
#include "guard/scanner.h"
#include "guard/scanners/encoder_classifier.h"
#include "guard/scanners/llm_judge.h"
#include "warden/config.h"
#include "warden/model.h"

WD_EMBED_DECLARE(wd_embed_policy_default);

/* ==== policy ============================================================= */

static wd_status parse_action(const wd__pnode *n, const char *field, wd_action *out, wd__err *err) {
    if (n->kind == WD_PN_SCALAR)
        for (int a = 0; a <= WD_ACTION_BLOCK; a++)
            if (!strcasecmp(n->str, wd_action_str((wd_action)a))) {
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
    else if (!strcasecmp(it->str, "words")) *k |= WD_DECODE_WORDS;
    else return wd__pn_error(it, NULL, WD_ERR_FORMAT, "decode",
                             "unknown encoding '%s' (base64, hex, tags, rot13, reverse, piglatin, spelling, words)",
                             it->str);
    return WD_OK;
}

static wd_status parse_categories(wd_guard *g, const wd__pnode *root, wd__err *err) {
    float def_thr = g->cat[0].threshold; /* wd__guard_new's defaults */
    wd_action def_act = g->cat[0].action;
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
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) g->cat[c] = (wd__cat_rule){def_thr, def_act, 3u};
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
    wd__scanner_env env = {.policy_file = root->file,
                           .policy_dir = root->dir,
                           .cascade_untrained = g->cascade_untrained,
                           .format = g->format,
                           .explain = g->explain,
                           .explain_max_tokens = g->explain_max_tokens};
    for (size_t i = 0; i < list->n; i++) {
        const wd__pnode *n = list->items[i];
        if (n->kind != WD_PN_MAP) return wd__pn_error(n, err, WD_ERR_FORMAT, "scanners", "each scanner is a mapping with a type");
        const char *type = NULL, *name = NULL;
        wd_status st = wd__pn_string(n, "type", &type, err);
        if (st != WD_OK) return st;
        if (!type) return wd__pn_error(n, err, WD_ERR_FORMAT, "type", "missing: every scanner names its type");
        const wd__scanner_vt *vt = wd__scanner_find(type);
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
        wd__scanner_inst *s = &g->sc[g->n_sc];
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
    /* what the policy leaves out keeps wd__guard_new's defaults */
    if ((st = wd__pn_string(root, "fail", &fail, err)) != WD_OK) return st;
    if (fail) {
        if (!strcasecmp(fail, "open")) g->fail_closed = false;
        else if (strcasecmp(fail, "closed"))
            return wd__pn_error(wd__pn_get(root, "fail"), err, WD_ERR_FORMAT, "fail", "expected open or closed, got '%s'", fail);
    }
    long max_bytes = (long)g->max_bytes;
    if ((st = wd__pn_int(root, "max_bytes", 1, 1L << 30, &max_bytes, err)) != WD_OK) return st;
    g->max_bytes = (size_t)max_bytes;
    if (wd__pn_get(root, "normalize")) {
        g->norm_flags = 0;
        const wd__pnode *nn = wd__pn_get(root, "normalize");
        if (!(nn->kind == WD_PN_SCALAR && !strcasecmp(nn->str, "none"))) {
            st = wd__pn_each_string(root, "normalize", parse_norm_item, &g->norm_flags, err);
            if (st != WD_OK) return wd__err_take(err, st);
        }
    }
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
        if ((st = wd__pn_int(dec, "max_depth", 0, WD__GUARD_MAX_DEPTH, &depth, err)) != WD_OK) return st;
        if ((st = wd__pn_int(dec, "min_length", 8, 4096, &minl, err)) != WD_OK) return st;
        g->decode_depth = (int)depth;
        g->decode_min = (size_t)minl;
    }
    if ((st = parse_categories(g, root, err)) != WD_OK) return st;
    return parse_scanners(g, root, err);
}


/* ==== loading =========================================================== */

wd_status wd_guard_load_string(const char *yaml, size_t len, const char *name, const char *dir,
                               const wd_guard_params *params, wd_guard **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load: out is NULL");
    *out = NULL;
    if (!yaml && len) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load: yaml is NULL");
    wd_guard *g = NULL;
    wd_status st = wd__guard_new(NULL, params, &g);
    if (st) return st;
    wd__pnode *root = NULL;
    st = wd__pn_parse(yaml ? yaml : "", len, name, dir, &root, &g->err);
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

/* The one scanner of a model guard, built over the loaded model m (taken
 * on success). */
static wd_status model_scanner(wd_guard *g, const char *dir, wd_model *m) {
    bool decoder = wd_model_config_family(wd_model_get_config(m)) == WD_MODEL_FAMILY_DECODER;
    const char *type = decoder ? "llm_judge" : "encoder_classifier";
    if (!(g->sc = calloc(1, sizeof *g->sc)) || !(g->sc[0].name = strdup(type)))
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd__scanner_inst *s = &g->sc[0];
    s->vt = wd__scanner_find(type);
    s->roles = 3u;
    s->weight = 1.0f;
    wd_status st;
    if (decoder) {
        wd__llm_judge_params jp = wd__llm_judge_params_default();
        jp.format = (wd_guard_format)g->format;
        jp.explain = g->explain;
        if (g->explain_max_tokens > 0) jp.explain_max_tokens = g->explain_max_tokens;
        st = wd__llm_judge_new(&jp, m, dir, &s->impl);
    } else {
        wd__encoder_classifier_params ep = wd__encoder_classifier_params_default();
        ep.format = (wd_guard_format)g->format;
        st = wd__encoder_classifier_new(&ep, m, dir, &s->impl, NULL);
    }
    if (st) {
        free(s->name); /* wd_guard_free frees the first n_sc only */
        s->name = NULL;
        return st;
    }
    g->n_sc = 1;
    return WD_OK;
}

wd_status wd_guard_load_model(const char *dir, const wd_guard_params *params, wd_guard **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load_model: out is NULL");
    *out = NULL;
    if (!dir) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_load_model: dir is NULL");
    /* a decoder becomes an llm_judge, a classifier an encoder_classifier,
     * each with its policy defaults; the folder is read once, here */
    wd_model *m = NULL;
    wd_status st = wd_model_load(dir, NULL, &m);
    if (st) return st;
    if ((st = wd__guard_new_model(dir, m, params, out))) wd_model_free(m);
    return st;
}

wd_status wd__guard_new_model(const char *name, wd_model *m, const wd_guard_params *params, wd_guard **out) {
    *out = NULL;
    wd_guard *g = NULL;
    wd_status st = wd__guard_new(name, params, &g);
    if (!st && (st = model_scanner(g, name, m))) {
        wd_guard_free(g);
        g = NULL;
    }
    *out = g;
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

