/*
 * base/yaml.c - YAML (libyaml event API) -> wd__pnode tree with locations.
 * See yaml.h. Nesting is limited to 64 levels and aliases are refused, so
 * a hostile document costs at most its own size in memory.
 */
#include "base/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64

typedef struct parse {
    yaml_parser_t p;
    const char   *file, *dir; /* owned by the root */
    wd__err       *err;
} parse;

static wd__pnode *node_new(parse *ps, wd__pnode_kind kind, yaml_mark_t m) {
    wd__pnode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    n->file = ps->file;
    n->dir = ps->dir;
    return n;
}

static void node_free(wd__pnode *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        node_free(n->items[i]);
        if (n->keys) node_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free((char *)n->str);
    free(n);
}

static wd_status yaml_fail(parse *ps) {
    yaml_mark_t m = ps->p.problem_mark;
    const char *ctx = ps->p.context ? ps->p.context : "";
    return wd__err_set(ps->err, WD_ERR_FORMAT, "%s:%zu:%zu: invalid YAML: %s%s%s", ps->file,
                       m.line + 1, m.column + 1, ps->p.problem ? ps->p.problem : "parse error",
                       ctx[0] ? " " : "", ctx);
}

static wd_status next(parse *ps, yaml_event_t *ev) {
    if (!yaml_parser_parse(&ps->p, ev)) return yaml_fail(ps);
    return WD_OK;
}

static wd_status add_child(wd__pnode *parent, wd__pnode *key, wd__pnode *val) {
    if ((parent->n & (parent->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = parent->n ? parent->n * 2 : 1;
        wd__pnode **it = realloc(parent->items, cap * sizeof *it);
        if (!it) return WD_ERR_NOMEM;
        parent->items = it;
        if (parent->kind == WD_PN_MAP) {
            wd__pnode **k = realloc(parent->keys, cap * sizeof *k);
            if (!k) return WD_ERR_NOMEM;
            parent->keys = k;
        }
    }
    parent->items[parent->n] = val;
    if (parent->kind == WD_PN_MAP) parent->keys[parent->n] = key;
    parent->n++;
    return WD_OK;
}

/* Parses the node whose first event is ev (consumed) into *out. */
static wd_status parse_node(parse *ps, yaml_event_t *ev, int depth, wd__pnode **out) {
    *out = NULL;
    yaml_mark_t m = ev->start_mark;
    if (depth > MAX_DEPTH)
        return wd__err_set(ps->err, WD_ERR_FORMAT, "%s:%zu:%zu: nesting deeper than %d levels",
                           ps->file, m.line + 1, m.column + 1, MAX_DEPTH);
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return wd__err_set(ps->err, WD_ERR_FORMAT, "%s:%zu:%zu: YAML aliases are not allowed in a policy",
                           ps->file, m.line + 1, m.column + 1);
    case YAML_SCALAR_EVENT: {
        wd__pnode *n = node_new(ps, WD_PN_SCALAR, m);
        if (!n) return WD_ERR_NOMEM;
        size_t len = ev->data.scalar.length;
        char *s = malloc(len + 1);
        if (!s) {
            free(n);
            return WD_ERR_NOMEM;
        }
        memcpy(s, ev->data.scalar.value, len);
        s[len] = '\0';
        n->str = s;
        n->len = len;
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
        *out = n;
        return WD_OK;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        wd__pnode *n = node_new(ps, is_map ? WD_PN_MAP : WD_PN_SEQ, m);
        if (!n) return WD_ERR_NOMEM;
        for (;;) {
            yaml_event_t e;
            wd_status st = next(ps, &e);
            if (st != WD_OK) {
                node_free(n);
                return st;
            }
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            wd__pnode *key = NULL, *val = NULL;
            if (is_map) {
                if (e.type != YAML_SCALAR_EVENT) {
                    yaml_mark_t km = e.start_mark;
                    yaml_event_delete(&e);
                    node_free(n);
                    return wd__err_set(ps->err, WD_ERR_FORMAT, "%s:%zu:%zu: a mapping key must be a plain value",
                                       ps->file, km.line + 1, km.column + 1);
                }
                st = parse_node(ps, &e, depth + 1, &key);
                yaml_event_delete(&e);
                if (st != WD_OK) {
                    node_free(n);
                    return st;
                }
                for (size_t i = 0; i < n->n; i++)
                    if (!strcmp(n->keys[i]->str, key->str)) {
                        st = wd__err_set(ps->err, WD_ERR_FORMAT,
                                         "%s:%d:%d: duplicate key '%s' (first at line %d)", ps->file,
                                         key->line, key->col, key->str, n->keys[i]->line);
                        node_free(key);
                        node_free(n);
                        return st;
                    }
                st = next(ps, &e);
                if (st != WD_OK) {
                    node_free(key);
                    node_free(n);
                    return st;
                }
            }
            st = parse_node(ps, &e, depth + 1, &val);
            yaml_event_delete(&e);
            if (st == WD_OK) st = add_child(n, key, val);
            if (st != WD_OK) {
                node_free(key);
                node_free(val);
                node_free(n);
                if (st == WD_ERR_NOMEM) wd__err_set(ps->err, st, "%s: out of memory", ps->file);
                return st;
            }
        }
        *out = n;
        return WD_OK;
    }
    default:
        return wd__err_set(ps->err, WD_ERR_FORMAT, "%s:%zu:%zu: unexpected YAML event", ps->file,
                           m.line + 1, m.column + 1);
    }
}

/* The root owns the file and dir strings: they hang off a hidden node. */
typedef struct root_names {
    wd__pnode node; /* must be first */
    char    *file, *dir;
} root_names;

wd_status wd__pn_parse(const char *yaml, size_t len, const char *file, const char *dir,
                       wd__pnode **out, wd__err *err) {
    *out = NULL;
    parse ps;
    memset(&ps, 0, sizeof ps);
    ps.err = err;
    char *f = strdup(file ? file : "<policy>");
    char *d = strdup(dir ? dir : ".");
    if (!f || !d) {
        free(f);
        free(d);
        return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    }
    ps.file = f;
    ps.dir = d;
    if (!yaml_parser_initialize(&ps.p)) {
        free(f);
        free(d);
        return wd__err_set(err, WD_ERR_NOMEM, "%s: cannot initialise the YAML parser", file);
    }
    yaml_parser_set_input_string(&ps.p, (const unsigned char *)yaml, len);
    wd__pnode *root = NULL;
    wd_status st;
    yaml_event_t e;
    /* STREAM-START, DOCUMENT-START (or STREAM-END for an empty text) */
    st = next(&ps, &e);
    if (st == WD_OK) {
        yaml_event_delete(&e);
        st = next(&ps, &e);
    }
    if (st == WD_OK && e.type == YAML_DOCUMENT_START_EVENT) {
        yaml_event_delete(&e);
        st = next(&ps, &e);
        if (st == WD_OK) {
            st = parse_node(&ps, &e, 0, &root);
            yaml_event_delete(&e);
        }
        if (st == WD_OK) { /* DOCUMENT-END, then STREAM-END: one document only */
            st = next(&ps, &e);
            if (st == WD_OK) {
                yaml_event_delete(&e);
                st = next(&ps, &e);
            }
            if (st == WD_OK) {
                if (e.type != YAML_STREAM_END_EVENT)
                    st = wd__err_set(err, WD_ERR_FORMAT, "%s:%zu:%zu: a policy is one YAML document",
                                     f, e.start_mark.line + 1, e.start_mark.column + 1);
                yaml_event_delete(&e);
            }
        }
    } else if (st == WD_OK) {
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&ps.p);
    if (st == WD_OK && root && root->kind == WD_PN_SCALAR && root->len == 0) {
        node_free(root); /* "~" or an empty document */
        root = NULL;
    }
    if (st == WD_OK && root && root->kind != WD_PN_MAP)
        st = wd__err_set(err, WD_ERR_FORMAT, "%s:%d:%d: a policy must be a mapping (key: value lines)",
                         f, root->line, root->col);
    if (st != WD_OK) {
        node_free(root);
        free(f);
        free(d);
        return st;
    }
    if (!root) {
        free(f);
        free(d);
        return WD_OK;
    }
    /* move the root into a root_names so that freeing it frees the names */
    root_names *rn = calloc(1, sizeof *rn);
    if (!rn) {
        node_free(root);
        free(f);
        free(d);
        return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    }
    rn->node = *root;
    free(root);
    rn->file = f;
    rn->dir = d;
    *out = &rn->node;
    return WD_OK;
}

void wd__pn_free(wd__pnode *root) {
    if (!root) return;
    root_names *rn = (root_names *)root;
    for (size_t i = 0; i < root->n; i++) {
        node_free(root->items[i]);
        if (root->keys) node_free(root->keys[i]);
    }
    free(root->items);
    free(root->keys);
    free((char *)root->str);
    free(rn->file);
    free(rn->dir);
    free(rn);
}

/* ==== getters ============================================================ */

wd_status wd__pn_error(const wd__pnode *at, wd__err *err, wd_status st, const char *field,
                       const char *fmt, ...) {
    char msg[WD_ERR_MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = at ? at->file : "<policy>";
    int line = at ? at->line : 0, col = at ? at->col : 0;
    if (field)
        return wd__err_set(err, st, "%s:%d:%d: field '%s': %s", file, line, col, field, msg);
    return wd__err_set(err, st, "%s:%d:%d: %s", file, line, col, msg);
}

const wd__pnode *wd__pn_get(const wd__pnode *map, const char *key) {
    if (!map || map->kind != WD_PN_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i]->str, key)) return map->items[i];
    return NULL;
}

wd_status wd__pn_check_keys(const wd__pnode *map, const char *const *allowed, const char *what,
                            wd__err *err) {
    if (!map) return WD_OK;
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (size_t j = 0; allowed[j] && !ok; j++) ok = !strcmp(map->keys[i]->str, allowed[j]);
        if (!ok) {
            char list[400];
            size_t w = 0;
            list[0] = '\0';
            for (size_t j = 0; allowed[j] && w < sizeof list; j++) {
                int k = snprintf(list + w, sizeof list - w, "%s%s", j ? ", " : "", allowed[j]);
                if (k > 0) w += (size_t)k;
            }
            return wd__pn_error(map->keys[i], err, WD_ERR_FORMAT, map->keys[i]->str,
                                "unknown field in %s (known: %s)", what, list);
        }
    }
    return WD_OK;
}

wd_status wd__pn_number(const wd__pnode *map, const char *key, double lo, double hi, double *out,
                        wd__err *err) {
    const wd__pnode *n = wd__pn_get(map, key);
    if (!n) return WD_OK;
    char *end = NULL;
    double v = 0;
    bool ok = n->kind == WD_PN_SCALAR && !n->quoted && n->len > 0;
    if (ok) {
        errno = 0;
        v = strtod(n->str, &end);
        ok = *end == '\0' && errno == 0 && isfinite(v) && v >= lo && v <= hi;
    }
    if (!ok) return wd__pn_error(n, err, WD_ERR_FORMAT, key, "expected a number in [%g,%g]", lo, hi);
    *out = v;
    return WD_OK;
}

wd_status wd__pn_int(const wd__pnode *map, const char *key, long lo, long hi, long *out, wd__err *err) {
    const wd__pnode *n = wd__pn_get(map, key);
    if (!n) return WD_OK;
    char *end = NULL;
    long v = 0;
    bool ok = n->kind == WD_PN_SCALAR && !n->quoted && n->len > 0;
    if (ok) {
        errno = 0;
        v = strtol(n->str, &end, 10);
        ok = *end == '\0' && errno == 0 && v >= lo && v <= hi;
    }
    if (!ok) return wd__pn_error(n, err, WD_ERR_FORMAT, key, "expected an integer in [%ld,%ld]", lo, hi);
    *out = v;
    return WD_OK;
}

wd_status wd__pn_bool(const wd__pnode *map, const char *key, bool *out, wd__err *err) {
    const wd__pnode *n = wd__pn_get(map, key);
    if (!n) return WD_OK;
    if (n->kind == WD_PN_SCALAR && !n->quoted) {
        if (!strcasecmp(n->str, "true") || !strcasecmp(n->str, "yes") || !strcasecmp(n->str, "on")) {
            *out = true;
            return WD_OK;
        }
        if (!strcasecmp(n->str, "false") || !strcasecmp(n->str, "no") || !strcasecmp(n->str, "off")) {
            *out = false;
            return WD_OK;
        }
    }
    return wd__pn_error(n, err, WD_ERR_FORMAT, key, "expected true or false");
}

wd_status wd__pn_string(const wd__pnode *map, const char *key, const char **out, wd__err *err) {
    const wd__pnode *n = wd__pn_get(map, key);
    if (!n) return WD_OK;
    if (n->kind != WD_PN_SCALAR || n->len == 0 || strlen(n->str) != n->len)
        return wd__pn_error(n, err, WD_ERR_FORMAT, key, "expected a non-empty text value");
    *out = n->str;
    return WD_OK;
}

wd_status wd__pn_each_string(const wd__pnode *map, const char *key,
                             wd_status (*fn)(const wd__pnode *item, void *user), void *user,
                             wd__err *err) {
    const wd__pnode *n = wd__pn_get(map, key);
    if (!n) return WD_OK;
    if (n->kind == WD_PN_MAP)
        return wd__pn_error(n, err, WD_ERR_FORMAT, key, "expected a value or a list of values");
    size_t count = n->kind == WD_PN_SCALAR ? 1 : n->n;
    for (size_t i = 0; i < count; i++) {
        const wd__pnode *it = n->kind == WD_PN_SCALAR ? n : n->items[i];
        if (it->kind != WD_PN_SCALAR || strlen(it->str) != it->len)
            return wd__pn_error(it, err, WD_ERR_FORMAT, key, "expected a list of plain values");
        wd_status st = fn(it, user);
        if (st != WD_OK) return st;
    }
    return WD_OK;
}
