/*
 * guard/scanners/lexicon.c - the `lexicon` scanner type: the team's embedded
 * lexicons (lexicons/NAME.lex) and user files, matched by guard/lexicon.c.
 *
 * Policy node:
 *   - type: lexicon
 *     builtin: [harm, profanity]      # embedded lexicons (default: harm)
 *     files: [extra.lex]              # user lexicons (lexicon.h format)
 *     lists:                          # user phrase lists, one phrase a line
 *       - {file: banned.txt, categories: [S10], score: 0.9}
 */
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "guard/lexicon.h"
#include "guard/scanner.h"

typedef struct lex_ctx {
    wd__lexicon          *lx;
    const wd__scanner_env *env;
    wd__err              *err;
    int                  n_builtin;
} lex_ctx;

static wd_status add_builtin(const wd__pnode *it, void *user) {
    lex_ctx *c = user;
    size_t len;
    const char *text = wd__lexicon_builtin(it->str, &len);
    if (!text) return wd__pn_error(it, c->err, WD_ERR_NOT_FOUND, "builtin", "no built-in lexicon '%s' (harm, injection, profanity)", it->str);
    char name[64];
    snprintf(name, sizeof name, "lexicons/%s.lex", it->str);
    c->n_builtin++;
    return wd__lexicon_add(c->lx, text, len, name, c->err);
}

static char *resolve(const wd__scanner_env *env, const char *path) {
    if (path[0] == '/' || !env->policy_dir) return strdup(path);
    return wd__path_join(env->policy_dir, path);
}

static wd_status add_file(const wd__pnode *it, void *user) {
    lex_ctx *c = user;
    char *path = resolve(c->env, it->str);
    if (!path) return wd__err_set(c->err, WD_ERR_NOMEM, "out of memory");
    char *text = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(path, 64u << 20, &text, &len);
    if (st != WD_OK) {
        st = wd__pn_error(it, c->err, st, "files", "%s", wd_last_error());
    } else {
        st = wd__lexicon_add(c->lx, text, len, path, c->err);
    }
    free(text);
    free(path);
    return st;
}

typedef struct cat_acc { wd_catmask m; } cat_acc;
static wd_status add_cat(const wd__pnode *it, void *user) {
    wd_category c;
    if (wd_category_parse(it->str, &c) != WD_OK)
        return wd__pn_error(it, NULL, WD_ERR_FORMAT, "categories", "unknown category '%s'", it->str);
    ((cat_acc *)user)->m |= WD_CATMASK(c);
    return WD_OK;
}

static wd_status lexicon_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl, wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "builtin", "files", "lists", NULL};
    wd_status st = wd__pn_check_keys(cfg, keys, "a lexicon scanner", err);
    if (st != WD_OK) return st;
    lex_ctx c = {wd__lexicon_new(), env, err, 0};
    if (!c.lx) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    if (wd__pn_get(cfg, "builtin")) {
        st = wd__pn_each_string(cfg, "builtin", add_builtin, &c, err);
    } else if (!wd__pn_get(cfg, "files") && !wd__pn_get(cfg, "lists")) {
        size_t len;
        const char *text = wd__lexicon_builtin("harm", &len);
        st = wd__lexicon_add(c.lx, text, len, "lexicons/harm.lex", err);
    }
    if (st == WD_OK) st = wd__pn_each_string(cfg, "files", add_file, &c, err);
    const wd__pnode *lists = wd__pn_get(cfg, "lists");
    if (st == WD_OK && lists) {
        if (lists->kind != WD_PN_SEQ) st = wd__pn_error(lists, err, WD_ERR_FORMAT, "lists", "expected a list of {file, categories, score}");
        for (size_t i = 0; st == WD_OK && lists && lists->kind == WD_PN_SEQ && i < lists->n; i++) {
            const wd__pnode *l = lists->items[i];
            static const char *const lkeys[] = {"file", "categories", "score", NULL};
            if (l->kind != WD_PN_MAP) {
                st = wd__pn_error(l, err, WD_ERR_FORMAT, "lists", "expected {file, categories, score}");
                break;
            }
            if ((st = wd__pn_check_keys(l, lkeys, "a list", err)) != WD_OK) break;
            const char *file = NULL;
            double score = 0.9;
            cat_acc cats = {0};
            if ((st = wd__pn_string(l, "file", &file, err)) != WD_OK) break;
            if (!file) {
                st = wd__pn_error(l, err, WD_ERR_FORMAT, "file", "missing: a list names its file");
                break;
            }
            if ((st = wd__pn_number(l, "score", 0.0001, 1, &score, err)) != WD_OK) break;
            if ((st = wd__pn_each_string(l, "categories", add_cat, &cats, err)) != WD_OK) {
                st = wd__err_take(err, st);
                break;
            }
            if (!cats.m) {
                st = wd__pn_error(l, err, WD_ERR_FORMAT, "categories", "missing: a list says which categories it scores");
                break;
            }
            char *path = resolve(env, file);
            char *text = NULL;
            size_t len = 0;
            st = path ? wd__file_read(path, 64u << 20, &text, &len) : WD_ERR_NOMEM;
            if (st != WD_OK) st = wd__pn_error(wd__pn_get(l, "file"), err, st, "file", "%s", wd_last_error());
            else st = wd__lexicon_add_list(c.lx, text, len, path, cats.m, (float)score, err);
            free(text);
            free(path);
        }
    }
    if (st == WD_OK) st = wd__lexicon_compile(c.lx, err);
    if (st != WD_OK) {
        wd__lexicon_free(c.lx);
        return st;
    }
    *impl = c.lx;
    return WD_OK;
}

static void lexicon_free(void *impl) { wd__lexicon_free(impl); }
static void *lexicon_scratch_new(const void *impl) { return wd__lexicon_scratch_new(); }
static void lexicon_scratch_free(void *s) { wd__lexicon_scratch_free(s); }

static wd_status lexicon_scan(const void *impl, void *scratch, const wd__scan_input *in, wd__scan_result *res,
                              wd__err *err) {
    if (!scratch) return wd__err_set(err, WD_ERR_NOMEM, "lexicon: no work space");
    return wd__lexicon_scan(impl, scratch, in, res);
}

const wd__scanner_vt wd__scanner_lexicon = {
    .type = "lexicon",
    .init = lexicon_init,
    .free = lexicon_free,
    .scratch_new = lexicon_scratch_new,
    .scratch_free = lexicon_scratch_free,
    .scan = lexicon_scan,
};
