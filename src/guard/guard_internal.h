/*
 * guard/guard_internal.h - the guard object as the engine (guard/guard.c)
 * and the policy reader (guard/policy.c) share it: its scanners, its
 * per-category rules and the settings a policy sets.
 *
 * A wd_guard is built in two steps: wd__guard_new gives an empty guard with
 * the policy defaults (guard.c), then the reader fills it from a policy
 * tree or from settings (policy.c). After loading it is immutable; the
 * engine's per-thread work space hangs off free_work under lock.
 */
#ifndef WD_GUARD_INTERNAL_H
#define WD_GUARD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "guard/scanner.h"
#include "warden/guard.h"

/* Deepest payload nesting a policy may ask for (decode.max_depth). */
#define WD__GUARD_MAX_DEPTH 4

/* One scanner of the policy, in policy order. */
typedef struct wd__scanner_inst {
    const wd__scanner_vt *vt;
    void                *impl;
    char                *name;
    unsigned             roles;  /* bit 1 << wd_role */
    float                weight;
} wd__scanner_inst;

/* What a category's score leads to. */
typedef struct wd__cat_rule {
    float     threshold;
    wd_action action;
    unsigned  roles; /* rails: roles on which this category is judged */
} wd__cat_rule;

struct wd__guard_work; /* guard.c: per-thread work space */

struct wd_guard {
    wd__err            err;
    char             *name;
    wd__scanner_inst *sc;
    size_t            n_sc;
    wd__cat_rule      cat[WD_CATEGORY_COUNT];
    unsigned          norm_flags;
    bool              fail_closed;
    size_t            max_bytes;
    unsigned          decode_kinds;
    int               decode_depth;
    size_t            decode_min;
    int               n_threads;
    bool              cascade_untrained; /* wd_guard_params.cascade_untrained */
    int               format;             /* wd_guard_format for model judges; 0 = auto */
    bool              explain;            /* wd_guard_params.explain_verdict           */
    int               explain_max_tokens;
    pthread_mutex_t   lock;
    struct wd__guard_work *free_work;
};

/* A guard with no scanners and the policy defaults: named name (copied),
 * fail closed, max_bytes 32 MiB, the default normalisation, every decoding
 * to depth 2 from 16 bytes, each category at threshold 0.5 with action
 * block on both roles; params (NULL = defaults) sets its threads. Returns
 * WD_OK and *out (free with wd_guard_free), or WD_ERR_NOMEM with *out = NULL. */
wd_status wd__guard_new(const char *name, const wd_guard_params *params, wd_guard **out);

/* Notes that a check on g failed on this thread (guard.c), so that
 * wd_guard_last_error(g) gives wd_last_error(): for the checks written
 * outside guard.c (conversation.c). Returns st. */
wd_status wd__guard_check_failed(const wd_guard *g, wd_status st);

/* The verdict under construction (guard.c) and as handed out (verdict.c). */
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
    long       msg_index; /* the judged message of a conversation, or -1 */
    bool       cascaded;  /* a cascade scanner ran on the text: cascade says what it did */
    wd_cascade_info cascade;
    char      *rationale; /* a judge's, or NULL */
    float     *feature; size_t n_feature; /* a cascade's first guard's (wd_verdict_feature) */
};

#endif
