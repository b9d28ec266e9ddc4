/*
 * base/yaml.h - a policy file parsed into a small tree that remembers
 * where every node was (file, line, column from libyaml's marks), so that
 * any part of the guard - the policy reader or a scanner reading its own
 * options - reports a bad value as
 *     policy.yaml:12:5: field 'threshold': expected a number in [0,1]
 *
 * Only block/flow mappings, sequences and scalars; anchors, aliases and tags
 * are refused (a policy has no need for them, and aliases make billion-laugh
 * documents). Map keys are scalars; duplicate keys are an error.
 */
#ifndef WD_BASE_YAML_H
#define WD_BASE_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

typedef enum wd__pnode_kind { WD_PN_SCALAR, WD_PN_SEQ, WD_PN_MAP } wd__pnode_kind;

typedef struct wd__pnode wd__pnode;
struct wd__pnode {
    wd__pnode_kind kind;
    int           line, col;  /* 1-based */
    const char   *file;       /* display name of the document (owned by the tree) */
    const char   *dir;        /* folder relative paths resolve against (owned by the tree) */
    /* scalar */
    const char *str;          /* NUL-terminated */
    size_t      len;
    bool        quoted;       /* written in quotes: never a number or a bool */
    /* sequence: items[0..n); mapping: keys[i] -> items[i], i < n */
    wd__pnode **items;
    wd__pnode **keys;
    size_t     n;
};

/* Parses len bytes of YAML into a tree. file names the document in messages;
 * dir (may be NULL) is where relative paths resolve. On success *out is the
 * root (a mapping, or NULL for an empty document); free with wd__pn_free.
 * On failure returns WD_ERR_FORMAT and sets err ("file:line:col: reason"). */
wd_status wd__pn_parse(const char *yaml, size_t len, const char *file, const char *dir,
                       wd__pnode **out, wd__err *err);
void wd__pn_free(wd__pnode *root);

/* Formats "file:line:col: field 'field': <fmt>" into err and returns st.
 * field may be NULL (then no field part). */
wd_status wd__pn_error(const wd__pnode *at, wd__err *err, wd_status st, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The value under key in a mapping, or NULL (also when map is not a mapping). */
const wd__pnode *wd__pn_get(const wd__pnode *map, const char *key);

/* Fails naming the first key of map that is not in allowed (NULL-terminated)
 * - catches typos such as "treshold". */
wd_status wd__pn_check_keys(const wd__pnode *map, const char *const *allowed, const char *what,
                            wd__err *err);

/* Typed getters: absent key -> WD_OK and *out unchanged (the caller set the
 * default); present but wrong -> WD_ERR_FORMAT with the location. */
wd_status wd__pn_number(const wd__pnode *map, const char *key, double lo, double hi, double *out,
                        wd__err *err);
wd_status wd__pn_int(const wd__pnode *map, const char *key, long lo, long hi, long *out, wd__err *err);
wd_status wd__pn_bool(const wd__pnode *map, const char *key, bool *out, wd__err *err);
/* *out points into the tree (valid while it lives). */
wd_status wd__pn_string(const wd__pnode *map, const char *key, const char **out, wd__err *err);
/* A scalar, or a sequence of scalars (a lone scalar counts as a list of one):
 * calls fn(item, user) for each; stops at the first non-OK status. */
wd_status wd__pn_each_string(const wd__pnode *map, const char *key,
                             wd_status (*fn)(const wd__pnode *item, void *user), void *user,
                             wd__err *err);

#endif
