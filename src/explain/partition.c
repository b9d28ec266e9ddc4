/*
 * explain/partition.c - Owen-style values over a hierarchy of contiguous
 * spans, for texts too long for KernelSHAP.
 *
 * The hierarchy is a balanced binary tree: the root is units [0, m), a node
 * [lo, hi) splits at lo + (hi - lo) / 2. Words next to each other form a
 * coalition first, as in shap's PartitionExplainer with a text masker.
 *
 * Each node N gets a share d(N); the root's is v(all) - v(none). A node
 * with halves L and R shares d(N) between them by their two-player Shapley
 * values in the game restricted to N, averaged over two contexts for the
 * units outside N: all absent (c = none) and all present (c = all - N):
 *
 *   s_c(L) = ( (v(c+L) - v(c)) + (v(c+N) - v(c+R)) ) / 2
 *   s(L)   = ( s_none(L) + s_{all-N}(L) ) / 2          (the same for R)
 *   d(L)   = s(L) + (d(N) - s(L) - s(R)) / 2
 *
 * so d(L) + d(R) = d(N) (efficiency, by construction) and, for an
 * additive game, s(L) = the sum of L's weights in both contexts and the
 * remainder is 0 (exact). The leaves' shares are the attributions.
 *
 *   context none   :  v(L)  v(R)   v(N)        [v(none) shared]
 *   context all - N:  v(all-R) v(all-L) v(all-N)  [v(all) shared]
 *
 * v(N) and v(all - N) were computed at N's parent (as its halves), so each
 * split costs 4 new evaluations: 4(m - 1) + 2 in all. The tree is walked
 * level by level; a level's coalitions go to the game in calls of at most
 * ROW_BYTES bytes of rows (so a long text never needs m^2 bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "warden/explain.h"

typedef struct node {
    size_t lo, hi;
    double share;
    double v_in, v_out; /* v(N), v(all - N) */
} node;

static void fill(uint8_t *row, size_t m, size_t lo, size_t hi, int inside) {
    for (size_t i = 0; i < m; i++) row[i] = (uint8_t)(((i >= lo && i < hi) ? 1 : 0) == inside);
}

/* Coalition rows per game call: 4 per split, at most ROW_BYTES bytes. */
#define ROW_BYTES ((size_t)1 << 24)

wd_status wd_shap_partition(wd_shap_game game, void *user, size_t m, double *phi, wd_shap_info *info) {
    if (!game || (m && !phi)) return wd__fail(WD_ERR_INVALID_ARG, "shap_partition: NULL argument");
    size_t mm = m ? m : 1;
    size_t per_call = ROW_BYTES / (4 * mm); /* splits per game call */
    if (per_call < 1) per_call = 1;
    if (per_call > mm) per_call = mm;
    node *cur = malloc(mm * sizeof *cur), *next = malloc(mm * sizeof *next);
    uint8_t *rows = malloc(4 * per_call * mm);
    double *v = malloc(4 * mm * sizeof *v); /* a level's values: 4 per split, < 2m */
    if (!cur || !next || !rows || !v) {
        free(cur), free(next), free(rows), free(v);
        return wd__fail(WD_ERR_NOMEM, "shap_partition: out of memory");
    }
    memset(rows, 0, mm);
    memset(rows + mm, 1, mm);
    wd_status st = game(user, rows, 2, m, v);
    double v_none = v[0], v_all = v[1];
    size_t n_evals = 2, n_cur = 0;
    if (st == WD_OK && m) {
        cur[0] = (node){.lo = 0, .hi = m, .share = v_all - v_none, .v_in = v_all, .v_out = v_none};
        n_cur = 1;
    }
    while (st == WD_OK && n_cur) {
        size_t n_split = 0;
        for (size_t k = 0; k < n_cur; k++) {
            if (cur[k].hi - cur[k].lo < 2) phi[cur[k].lo] = cur[k].share;
            else cur[n_split++] = cur[k]; /* (k >= n_split: safe in place) */
        }
        if (!n_split) break;
        for (size_t k0 = 0; st == WD_OK && k0 < n_split; k0 += per_call) {
            size_t nk = n_split - k0 < per_call ? n_split - k0 : per_call;
            for (size_t k = 0; k < nk; k++) {
                const node *nd = &cur[k0 + k];
                size_t mid = nd->lo + (nd->hi - nd->lo) / 2;
                uint8_t *r = rows + 4 * k * m;
                fill(r, m, nd->lo, mid, 1);         /* L       */
                fill(r + m, m, mid, nd->hi, 1);     /* R       */
                fill(r + 2 * m, m, mid, nd->hi, 0); /* all - R */
                fill(r + 3 * m, m, nd->lo, mid, 0); /* all - L */
            }
            st = game(user, rows, 4 * nk, m, v + 4 * k0);
            n_evals += 4 * nk;
        }
        size_t n_next = 0;
        for (size_t k = 0; st == WD_OK && k < n_split; k++) {
            const node *nd = &cur[k];
            size_t mid = nd->lo + (nd->hi - nd->lo) / 2;
            double vL = v[4 * k], vR = v[4 * k + 1], v_noR = v[4 * k + 2], v_noL = v[4 * k + 3];
            double sL = 0.5 * (0.5 * ((vL - v_none) + (nd->v_in - vR)) + 0.5 * ((v_noR - nd->v_out) + (v_all - v_noL)));
            double sR = 0.5 * (0.5 * ((vR - v_none) + (nd->v_in - vL)) + 0.5 * ((v_noL - nd->v_out) + (v_all - v_noR)));
            double rest = 0.5 * (nd->share - sL - sR);
            next[n_next++] = (node){.lo = nd->lo, .hi = mid, .share = sL + rest, .v_in = vL, .v_out = v_noL};
            next[n_next++] = (node){.lo = mid, .hi = nd->hi, .share = sR + rest, .v_in = vR, .v_out = v_noR};
        }
        node *t = cur;
        cur = next;
        next = t;
        n_cur = n_next;
    }
    free(cur), free(next), free(rows), free(v);
    if (st != WD_OK) return st;
    if (info) *info = (wd_shap_info){.value = v_all, .base_value = v_none, .n_evals = n_evals, .n_samples = n_evals};
    return WD_OK;
}
