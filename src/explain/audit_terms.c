/*
 * explain/audit_terms.c - the corpus audit's word list: the demographic
 * groups of a YAML file (lexicons/demographics.yaml, embedded as the
 * default; format in that file and docs/audit.md) and the stop words of
 * the language guess, in one hash table keyed by the hash a run of words
 * has (wd__audit_phrase_hash), so a record's words are looked up once.
 *
 * Stop words: 25 frequent function words for each of en, fr, de, es, it,
 * pt, nl, chosen by the warden team to be distinctive (a word shared by
 * several languages counts for each of them).
 */
#include <stdlib.h>
#include <string.h>

#include "base/embed.h"
#include "base/file.h"
#include "base/yaml.h"
#include "explain/audit_internal.h"

WD_EMBED_DECLARE(wd_embed_demographics);

static const char *const lang_codes[WD__LANG_COUNT] = {"en", "fr", "de", "es", "it", "pt", "nl"};

const char *wd__lang_code(int l) { return l >= 0 && l < WD__LANG_COUNT ? lang_codes[l] : "unknown"; }

static const char *const stop_words[WD__LANG_COUNT] = {
    "the and of to is in that it was for with are this have be not you they but from which were would been their",
    "le la les des est et une dans que qui pour pas sur avec sont du au aux nous vous cette mais ou il elle",
    "der die das und ist nicht ein eine zu den mit von sich auf für dem auch es wird sind wir ich sie oder aber",
    "el los las del y que en es una por con para se su al lo como más pero sus le ya este está también",
    "il di che è e la per un una non sono del della con si gli le nel alla anche questo ma più come dei",
    "o os as do da dos das em um uma que não para com por mais se na no ao mas como é foi são",
    "de het een en van is dat niet op te zijn voor met die ook maar er aan om hij bij als worden wordt naar",
};

/* ==== the table =========================================================== */

typedef struct pending {
    uint64_t hash;
    uint8_t  langs;
    uint32_t group; /* UINT32_MAX: none */
} pending;

typedef struct builder {
    pending *v;
    size_t   n, cap;
} builder;

static wd_status push(builder *b, uint64_t h, uint8_t langs, uint32_t group) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        pending *p = realloc(b->v, cap * sizeof *p);
        if (!p) return WD_ERR_NOMEM;
        b->v = p;
        b->cap = cap;
    }
    b->v[b->n++] = (pending){h, langs, group};
    return WD_OK;
}

static int pending_cmp(const void *x, const void *y) {
    const pending *a = x, *b = y;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    return a->group < b->group ? -1 : a->group > b->group;
}

/* Sorts the pending words and builds the table: one entry per hash, its
 * groups (without repeats) contiguous in group_ids. */
static wd_status build(wd__terms *t, builder *b) {
    qsort(b->v, b->n, sizeof *b->v, pending_cmp);
    size_t slots = 64;
    while (slots < 2 * b->n) slots <<= 1;
    t->tab = calloc(slots, sizeof *t->tab);
    t->group_ids = malloc((b->n + 1) * sizeof *t->group_ids);
    if (!t->tab || !t->group_ids) return WD_ERR_NOMEM;
    t->mask = slots - 1;
    for (size_t i = 0; i < b->n;) {
        wd__terms_entry e = {.hash = b->v[i].hash, .first = (uint32_t)t->n_ids};
        for (; i < b->n && b->v[i].hash == e.hash; i++) {
            e.langs |= b->v[i].langs;
            uint32_t g = b->v[i].group;
            if (g != UINT32_MAX && (e.n == 0 || t->group_ids[t->n_ids - 1] != g)) {
                t->group_ids[t->n_ids++] = g;
                e.n++;
            }
        }
        size_t k = (size_t)e.hash & t->mask;
        while (t->tab[k].hash) k = (k + 1) & t->mask;
        t->tab[k] = e;
    }
    return WD_OK;
}

const wd__terms_entry *wd__terms_find(const wd__terms *t, uint64_t h) {
    for (size_t k = (size_t)h & t->mask; t->tab[k].hash; k = (k + 1) & t->mask)
        if (t->tab[k].hash == h) return &t->tab[k];
    return NULL;
}

/* ==== the YAML file ======================================================= */

typedef struct form_ctx {
    wd__terms *t;
    builder   *b;
    uint32_t   group;
    wd__err   *err;
} form_ctx;

static wd_status add_form(const wd__pnode *item, void *user) {
    form_ctx *c = user;
    int n = 0;
    uint64_t h = wd__audit_phrase_hash(item->str, item->len, &n);
    if (n == 0) return wd__pn_error(item, c->err, WD_ERR_FORMAT, c->t->groups[c->group].name, "'%s' has no words", item->str);
    if (n > WD__AUDIT_MAX_PHRASE)
        return wd__pn_error(item, c->err, WD_ERR_FORMAT, c->t->groups[c->group].name,
                            "'%s' has %d words (at most %d)", item->str, n, WD__AUDIT_MAX_PHRASE);
    if (n > c->t->max_words) c->t->max_words = n;
    return push(c->b, h, 0, c->group) ? wd__err_set(c->err, WD_ERR_NOMEM, "out of memory") : WD_OK;
}

static wd_status read_yaml(wd__terms *t, builder *b, const char *text, size_t len, const char *name, wd__err *err) {
    wd__pnode *root = NULL;
    wd_status st = wd__pn_parse(text, len, name, NULL, &root, err);
    if (st) return st;
    static const char *const keys[] = {"version", "axes", NULL};
    const wd__pnode *axes = root ? wd__pn_get(root, "axes") : NULL;
    long version = 1;
    if (!root || root->kind != WD_PN_MAP) {
        st = wd__err_set(err, WD_ERR_FORMAT, "%s: expected a mapping with 'axes'", name);
    } else if ((st = wd__pn_check_keys(root, keys, "word list", err)) ||
               (st = wd__pn_int(root, "version", 1, 1, &version, err))) {
    } else if (!axes || axes->kind != WD_PN_MAP || axes->n == 0) {
        st = axes ? wd__pn_error(axes, err, WD_ERR_FORMAT, "axes", "expected a mapping of axes to groups")
                  : wd__err_set(err, WD_ERR_FORMAT, "%s: field 'axes': missing", name);
    }
    for (size_t a = 0; !st && a < axes->n; a++) {
        const wd__pnode *groups = axes->items[a];
        const char *aname = axes->keys[a]->str;
        if (groups->kind != WD_PN_MAP || groups->n == 0) {
            st = wd__pn_error(groups, err, WD_ERR_FORMAT, aname, "expected a mapping of groups to lists of forms");
            break;
        }
        char **na = realloc(t->axes, (t->n_axes + 1) * sizeof *na);
        if (!na || !(na[t->n_axes] = strdup(aname))) {
            if (na) t->axes = na;
            st = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            break;
        }
        t->axes = na;
        t->n_axes++;
        for (size_t g = 0; !st && g < groups->n; g++) {
            wd__terms_group *ng = realloc(t->groups, (t->n_groups + 1) * sizeof *ng);
            if (!ng) {
                st = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
                break;
            }
            t->groups = ng;
            ng[t->n_groups] = (wd__terms_group){strdup(groups->keys[g]->str), (int)a};
            if (!ng[t->n_groups].name) {
                st = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
                break;
            }
            t->n_groups++;
            const wd__pnode *forms = groups->items[g];
            if (forms->kind == WD_PN_MAP || (forms->kind == WD_PN_SEQ && forms->n == 0)) {
                st = wd__pn_error(forms, err, WD_ERR_FORMAT, groups->keys[g]->str, "expected a list of words or phrases");
                break;
            }
            form_ctx c = {t, b, (uint32_t)(t->n_groups - 1), err};
            st = wd__pn_each_string(groups, groups->keys[g]->str, add_form, &c, err);
        }
    }
    wd__pn_free(root);
    return st;
}

wd_status wd__terms_load(const char *path, wd__terms *t, wd__err *err) {
    memset(t, 0, sizeof *t);
    t->max_words = 1;
    builder b = {0};
    char *text = NULL;
    size_t len = 0;
    wd_status st = WD_OK;
    if (path) {
        if ((st = wd__file_read(path, 16u << 20, &text, &len))) st = wd__err_take(err, st);
    }
    if (!st) {
        t->source = strdup(path ? path : "embedded");
        if (!t->source) st = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = path ? read_yaml(t, &b, text, len, path, err)
                  : read_yaml(t, &b, (const char *)wd_embed_demographics, wd_embed_demographics_len,
                              "lexicons/demographics.yaml", err);
    for (int l = 0; !st && l < WD__LANG_COUNT; l++) {
        const char *s = stop_words[l];
        while (*s && !st) {
            const char *e = strchr(s, ' ');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            int nw;
            st = push(&b, wd__audit_phrase_hash(s, n, &nw), (uint8_t)(1u << l), UINT32_MAX);
            s += n + (e != NULL);
        }
    }
    if (!st && (st = build(t, &b))) st = wd__err_set(err, st, "out of memory");
    free(b.v);
    free(text);
    if (st) wd__terms_free(t);
    return st;
}

void wd__terms_free(wd__terms *t) {
    for (size_t i = 0; i < t->n_axes; i++) free(t->axes[i]);
    free(t->axes);
    for (size_t i = 0; i < t->n_groups; i++) free(t->groups[i].name);
    free(t->groups);
    free(t->tab);
    free(t->group_ids);
    free(t->source);
    memset(t, 0, sizeof *t);
}
