/*
 * certify/judge_filter.c - a decoder judge (guard/judge.h) as
 * erase-and-check's filter, with the KV cache kept across checks.
 *
 * Each check is the token sequence head + kept units + tail, scored by
 * p(unsafe) after it. The candidates come in lexicographic order of their
 * token sequences (enumerate.c), i.e. a depth-first walk of their trie, and
 * the KV cache keeps the longest common prefix with the previous check
 * (cached[] mirrors the cache's tokens):
 *
 *     cached:  head | u0 u1 u2 ... u79 | tail
 *     next:    head | u0 u1 u2 ... u79 u80 | tail
 *              `------ kept (lcp) -----'  decoded: u80 + tail
 *
 * Checks whose rest (past the longest prefix in the cache) is short are
 * scored together as branches of the cached sequence in one batched pass
 * (wd_model_decode_branches), up to BRANCH_MAX_N at a time; a check with a
 * long rest moves the cache instead. In suffix mode that is one pass over
 * head + prompt + tail, then one batched pass over the d tails. The cache
 * also survives between prompts, so the head is computed once per
 * certifier.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "certify/certify_internal.h"

/* Groups of checks whose part past the cache is short go through one
 * batched pass as branches of the cached sequence; a longer one moves the
 * cache instead. */
#define BRANCH_MAX_LEN 64
#define BRANCH_MAX_N   32

typedef wd__ec_cand cand;
typedef wd__ec_run run;

void wd__ec_cache_free(wd__ec_cache *k) {
    wd_context_free(k->ctx);
    free(k->cached);
    free(k->seq);
    free(k->gids);
    free(k->goff);
    free(k->gfork);
    free(k->glogits);
}

/* A context holding at least n tokens; the cache is lost when it grows. */
static wd_status judge_ctx(wd_certifier *c, size_t n) {
    wd__ec_cache *k = &c->cache;
    wd_model *m = c->judge->m;
    size_t max = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(m));
    if (n > max)
        return wd__fail(WD_ERR_RANGE,
                        "erase-and-check: a check of %zu tokens (template + prompt) exceeds the "
                        "judge's %zu positions",
                        n, max);
    if (k->ctx && wd_context_n_ctx(k->ctx) >= n) return WD_OK;
    wd_context_free(k->ctx);
    k->ctx = NULL;
    k->n_cached = 0;
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = n < 1024 ? (max < 1024 ? max : 1024) : n;
    wd_status st = wd_context_new(m, &cp, &k->ctx);
    if (st) return wd__fail(st, "%s", wd_model_last_error(m));
    free(k->cached);
    if (!(k->cached = malloc(cp.n_ctx * sizeof *k->cached)))
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!k->gids) {
        /* the default n_batch (512) bounds a group's rows */
        k->cap_gids = cp.n_ctx < 512 ? cp.n_ctx : 512;
        k->gids = malloc(k->cap_gids * sizeof *k->gids);
        k->goff = malloc((BRANCH_MAX_N + 1) * sizeof *k->goff);
        k->gfork = malloc(BRANCH_MAX_N * sizeof *k->gfork);
        k->glogits = malloc((size_t)BRANCH_MAX_N * c->judge->n_vocab * sizeof *k->glogits);
        if (!k->gids || !k->goff || !k->gfork || !k->glogits)
            return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    return WD_OK;
}

/* The token sequence head + kept + tail of candidate cd into the cache's
 * seq; returns its length. */
static size_t judge_seq(run *r, const cand *cd, wd_role role) {
    const wd__judge *j = r->c->judge;
    size_t nh = j->n_head[role], nt = j->n_tail[role];
    int32_t *s = r->c->cache.seq;
    memcpy(s, j->head[role], nh * sizeof *s);
    size_t k = wd__ec_kept_ids(r, cd, s + nh);
    memcpy(s + nh + k, j->tail[role], nt * sizeof *s);
    return nh + k + nt;
}

/* The longest prefix of s (ns tokens) already in the cache, as the reuse
 * level allows, leaving at least the last token to compute. */
static size_t judge_keep(const run *r, const int32_t *s, size_t ns, size_t nh) {
    const wd__ec_cache *k = &r->c->cache;
    size_t l = 0;
    if (r->p->reuse != WD_EC_REUSE_NONE) {
        size_t lim = k->n_cached < ns ? k->n_cached : ns;
        while (l < lim && k->cached[l] == s[l]) l++;
        if (r->p->reuse == WD_EC_REUSE_TEMPLATE && l > nh) l = nh;
    }
    return l >= ns ? ns - 1 : l;
}

/* Tries to score cs[0..n) from the front as one group of branches. Returns
 * how many it scored (0: fewer than two fit; do the next one alone). */
static wd_status judge_group(run *r, const cand *const *cs, size_t n, wd_role role, float *score,
                             bool *flag, size_t *n_done) {
    wd_certifier *c = r->c;
    wd__ec_cache *k = &c->cache;
    *n_done = 0;
    size_t V = c->judge->n_vocab, nh = c->judge->n_head[role];
    size_t budget = wd_context_n_ctx(k->ctx) - k->n_cached;
    if (budget > k->cap_gids) budget = k->cap_gids;
    size_t g = 0, rows = 0;
    k->goff[0] = 0;
    while (g < n && g < BRANCH_MAX_N) {
        size_t ns = judge_seq(r, cs[g], role), f = judge_keep(r, k->seq, ns, nh), len = ns - f;
        if (len > BRANCH_MAX_LEN || rows + len > budget) break;
        memcpy(k->gids + rows, k->seq + f, len * sizeof *k->gids);
        k->gfork[g] = f;
        rows += len;
        k->goff[++g] = rows;
    }
    if (g < 2) return WD_OK;
    wd_status st = wd_model_decode_branches(k->ctx, k->gids, k->goff, k->gfork, g, k->glogits);
    if (st == WD_ERR_UNSUPPORTED) { /* e.g. a sliding window: one at a time */
        k->no_branches = true;
        return WD_OK;
    }
    if (st) return wd__fail(st, "judge: %s", wd_model_last_error(c->judge->m));
    r->r->n_tokens += rows;
    for (size_t i = 0; i < g; i++) {
        double pu = wd__judge_p_unsafe(c->judge, k->glogits + i * V, NULL);
        score[i] = (float)pu;
        flag[i] = pu >= (double)c->threshold;
    }
    *n_done = g;
    return WD_OK;
}

wd_status wd__ec_judge_check(run *r, const cand *const *cs, size_t n, float *score, bool *flag,
                             size_t *done) {
    wd_certifier *c = r->c;
    const wd__judge *j = c->judge;
    wd__ec_cache *k = &c->cache;
    wd_role role = r->p->role == WD_ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    *done = 0;
    size_t nh = j->n_head[role], nt = j->n_tail[role];
    if (nh + nt == 0)
        return wd__fail(WD_ERR_FORMAT, "judge template is only {text}: nothing to ask the model");
    size_t need = nh + r->n + nt;
    wd_status st;
    if ((st = judge_ctx(c, need)) ||
        (st = wd__array_grow((void **)&k->seq, &k->cap_seq, need, sizeof *k->seq)))
        return st;
    for (size_t i = 0; i < n;) {
        size_t g = 0;
        if (r->p->reuse == WD_EC_REUSE_PREFIX && !k->no_branches && k->n_cached &&
            (st = judge_group(r, cs + i, n - i, role, score + i, flag + i, &g)))
            return st;
        if (g == 0) {
            size_t ns = judge_seq(r, cs[i], role), l = judge_keep(r, k->seq, ns, nh);
            const int32_t *s = k->seq;
            if ((st = wd_context_truncate(k->ctx, l))) return wd__fail(st, "%s", wd_model_last_error(j->m));
            k->n_cached = l;
            if ((st = wd_model_decode(k->ctx, s + l, ns - l, NULL, WD_LOGITS_MODE_NONE)))
                return wd__fail(st, "judge: %s", wd_model_last_error(j->m));
            memcpy(k->cached + l, s + l, (ns - l) * sizeof *s);
            k->n_cached = ns;
            r->r->n_tokens += ns - l;
            double pu = wd__judge_p_unsafe(j, wd_context_logits(k->ctx), NULL);
            score[i] = (float)pu;
            flag[i] = pu >= (double)c->threshold;
            g = 1;
        }
        bool stop = false;
        for (size_t q = i; q < i + g; q++) stop |= flag[q] && !r->p->check_all;
        i += g;
        *done = i;
        if (stop) break;
    }
    return WD_OK;
}
