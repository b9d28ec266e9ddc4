/*
 * serve/guards.c - the guards a server checks texts with: the server's own
 * (its policy_path, or the built-in default) and one per distinct per-key
 * policy of its key file (wd_server_key.policy_path), each in a
 * reference-counted holder (wd__guard_ref).
 *
 *   srv->cur ──────────────> guard of policy_path        (keys with policy -1)
 *   srv->kpol[0 .. n_kpol) ─> guard of kpol_path[i]      (keys with policy i)
 *
 * A request takes a reference to the guard for its key under guard_mu (a
 * pointer copy and an increment) and drops it when done; whoever drops the
 * last reference frees the guard. A reload builds every new guard with no
 * lock held and, only when all of them loaded, swaps all the pointers under
 * one hold of guard_mu: a request sees either the old set or the new one,
 * never a mix, and a broken per-key policy keeps every old guard serving.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "serve/serve_internal.h"

/* ==== References ========================================================= */

wd__guard_ref *wd__server_guard_acquire(wd_server *srv) { return wd__server_guard_for(srv, NULL); }

wd__guard_ref *wd__server_guard_for(wd_server *srv, const wd__key *k) {
    pthread_mutex_lock(&srv->guard_mu);
    wd__guard_ref *r = k && k->policy >= 0 && k->policy < srv->n_kpol ? srv->kpol[k->policy] : srv->cur;
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&srv->guard_mu);
    return r;
}

void wd__server_guard_release(wd_server *srv, wd__guard_ref *ref) {
    if (!ref) return;
    if (atomic_fetch_sub_explicit(&ref->refs, 1, memory_order_acq_rel) == 1) {
        srv->be->free(ref->guard);
        free(ref);
    }
}

/* Loads the policy at path into a fresh holder with one reference (*out);
 * on failure *out is NULL and the reason in wd_last_error(). */
static wd_status load_ref(wd_server *srv, const char *path, wd__guard_ref **out) {
    *out = NULL;
    void *g = NULL;
    wd_status st = srv->be->load(path, &srv->p, &g);
    if (st) return st;
    wd__guard_ref *ref = calloc(1, sizeof *ref);
    if (!ref) {
        srv->be->free(g);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    ref->guard = g;
    atomic_init(&ref->refs, 1);
    *out = ref;
    return WD_OK;
}

/* ==== Per-key policies =================================================== */

wd_status wd__guards_load_keyed(wd_server *srv) {
    int n_want = 0;
    for (int i = 0; i < srv->n_keys; i++) n_want += srv->keys[i].policy_path != NULL;
    if (!n_want) return WD_OK;
    srv->kpol = calloc((size_t)n_want, sizeof *srv->kpol);
    srv->kpol_path = calloc((size_t)n_want, sizeof *srv->kpol_path);
    if (!srv->kpol || !srv->kpol_path) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    for (int i = 0; i < srv->n_keys; i++) {
        wd__key *k = &srv->keys[i];
        if (!k->policy_path) continue;
        int j = 0;
        while (j < srv->n_kpol && strcmp(srv->kpol_path[j], k->policy_path)) j++;
        if (j == srv->n_kpol) { /* a policy not seen yet: load it once */
            srv->kpol_path[j] = strdup(k->policy_path);
            if (!srv->kpol_path[j]) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
            wd_status st = load_ref(srv, k->policy_path, &srv->kpol[j]);
            if (st) {
                free(srv->kpol_path[j]);
                srv->kpol_path[j] = NULL;
                return wd__err_prefix(st, "serve: API key '%s': cannot load its policy %s", k->name,
                                      k->policy_path);
            }
            srv->n_kpol++;
        }
        k->policy = j;
    }
    WD_INFO("serve: %d per-key polic%s loaded", srv->n_kpol, srv->n_kpol == 1 ? "y" : "ies");
    return WD_OK;
}

void wd__guards_free(wd_server *srv) {
    for (int i = 0; i < srv->n_kpol; i++) {
        wd__server_guard_release(srv, srv->kpol[i]);
        free(srv->kpol_path[i]);
    }
    free(srv->kpol);
    free(srv->kpol_path);
    srv->kpol = NULL;
    srv->kpol_path = NULL;
    srv->n_kpol = 0;
    if (srv->cur) wd__server_guard_release(srv, srv->cur);
    srv->cur = NULL;
}

/* ==== Reload ============================================================= */

wd_status wd__guards_reload(wd_server *srv, const char *path) {
    wd__guard_ref *cur;
    wd_status st = load_ref(srv, path, &cur);
    if (st) return st;
    wd__guard_ref **kp = srv->n_kpol ? calloc((size_t)srv->n_kpol, sizeof *kp) : NULL;
    if (srv->n_kpol && !kp) {
        wd__server_guard_release(srv, cur);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < srv->n_kpol; i++) {
        st = load_ref(srv, srv->kpol_path[i], &kp[i]);
        if (!st) continue;
        st = wd__err_prefix(st, "per-key policy %s", srv->kpol_path[i]);
        for (int j = 0; j < i; j++) wd__server_guard_release(srv, kp[j]);
        free(kp);
        wd__server_guard_release(srv, cur);
        return st;
    }
    pthread_mutex_lock(&srv->guard_mu);
    wd__guard_ref *old = srv->cur;
    srv->cur = cur;
    for (int i = 0; i < srv->n_kpol; i++) {
        wd__guard_ref *t = srv->kpol[i];
        srv->kpol[i] = kp[i];
        kp[i] = t; /* the old one, released below */
    }
    pthread_mutex_unlock(&srv->guard_mu);
    wd__server_guard_release(srv, old);
    for (int i = 0; i < srv->n_kpol; i++) wd__server_guard_release(srv, kp[i]);
    free(kp);
    return WD_OK;
}
