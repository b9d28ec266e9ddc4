/*
 * explain/shapley_exact.c - Shapley values by full enumeration.
 *
 *   phi_i = sum over S not holding i of |S|! (m-|S|-1)! / m! (v(S+i) - v(S))
 *
 * Every one of the 2^m coalitions is evaluated once (coalition k holds unit
 * i when bit i of k is set), in chunks of CHUNK rows so that memory stays
 * small; then each pair (S, S+i) adds its weighted difference. The weights
 * 1 / (m C(m-1, |S|)) are computed once per size. This is the oracle of
 * the two approximate explainers (kernel_shap.c, partition.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "warden/explain.h"

#define CHUNK 4096

wd_status wd_shap_exact(wd_shap_game game, void *user, size_t m, double *phi, wd_shap_info *info) {
    if (!game || (m && !phi)) return wd__fail(WD_ERR_INVALID_ARG, "shap_exact: NULL argument");
    if (m > WD_SHAP_EXACT_MAX)
        return wd__fail(WD_ERR_RANGE, "shap_exact: %zu units, at most %d can be enumerated", m,
                        WD_SHAP_EXACT_MAX);
    size_t n = (size_t)1 << m;
    double *v = malloc(n * sizeof *v);
    uint8_t *rows = malloc((size_t)CHUNK * (m ? m : 1));
    double w[WD_SHAP_EXACT_MAX + 1];
    if (!v || !rows) {
        free(v);
        free(rows);
        return wd__fail(WD_ERR_NOMEM, "shap_exact: out of memory");
    }
    wd_status st = WD_OK;
    for (size_t k0 = 0; k0 < n && st == WD_OK; k0 += CHUNK) {
        size_t nk = n - k0 < CHUNK ? n - k0 : CHUNK;
        for (size_t r = 0; r < nk; r++)
            for (size_t i = 0; i < m; i++) rows[r * m + i] = (uint8_t)(((k0 + r) >> i) & 1u);
        st = game(user, rows, nk, m, v + k0);
    }
    free(rows);
    if (st != WD_OK) {
        free(v);
        return st;
    }
    /* w[s] = s! (m-s-1)! / m! = 1 / (m C(m-1, s)) */
    for (size_t s = 0; s + 1 <= m; s++) {
        double c = 1.0;
        for (size_t j = 0; j < s; j++) c = c * (double)(m - 1 - j) / (double)(j + 1);
        w[s] = 1.0 / ((double)m * c);
    }
    for (size_t i = 0; i < m; i++) phi[i] = 0.0;
    for (size_t k = 0; k < n; k++) {
        int s = __builtin_popcountll((unsigned long long)k);
        for (size_t i = 0; i < m; i++)
            if (!((k >> i) & 1u)) phi[i] += w[s] * (v[k | ((size_t)1 << i)] - v[k]);
    }
    if (info) {
        info->value = v[n - 1];
        info->base_value = v[0];
        info->n_evals = n;
        info->n_samples = n;
    }
    free(v);
    return WD_OK;
}
