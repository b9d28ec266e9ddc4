/*
 * explain/kernel_shap.c - KernelSHAP (Lundberg & Lee 2017), following
 * shap's KernelExplainer (shap/explainers/_kernel.py) step by step
 * (METHODS.md section 11):
 *
 *   1. nsamples = 2m + 2048 unless given, capped at 2^m - 2 (m <= 30).
 *      One change to shap's default: up to m = 12 (4094 coalitions at
 *      most) the default enumerates every coalition, so the result is exact
 *      Shapley. At m = 12 shap's budget (2072) samples half the space, and
 *      on 12-word guard texts that left errors of 1.5e-3 to 9e-3 against
 *      exact Shapley for half the cost of enumerating (docs/explain.md).
 *   2. Size weights: for s = 1..ceil((m-1)/2), (m-1) / (s (m-s)), doubled for
 *      the sizes paired with their complement (s <= floor((m-1)/2)), then
 *      normalised.
 *   3. Whole sizes from both ends: size s is enumerated (each subset and its
 *      complement, each row weighted size_weight / C(m, s), halved when
 *      paired) while the budget left times the size's share of the
 *      remaining weight covers all its subsets; the shares are renormalised
 *      after each size taken.
 *   4. The rest is sampled: a size by the remaining weights (paired ones
 *      halved, since a draw also adds its complement), a uniform subset of
 *      that size (a partial Fisher-Yates shuffle), its complement too; a
 *      repeated draw adds 1 to the weight of its row instead of a new row.
 *      The sampled rows' weights are then scaled to sum to the weight of
 *      the sizes not enumerated.
 *   5. The endpoints are constraints, not rows: phi_0 = v(none) and
 *      sum phi = v(all) - v(none). The last unit is eliminated through the
 *      constraint and the weighted least squares on the other m-1 is solved
 *      from its normal equations (Gaussian elimination, partial pivoting).
 *
 * Random draws (splitmix64, base/rng.h) in a fixed order, so the reference
 * (tests/tools/shap_ref.py) reproduces the rows exactly: per draw, one
 * wd__rng_unit for the size, then for j < size one wd__rng_below(m - j).
 *
 * Differences from shap: no feature selection (l1_reg off: every unit gets
 * an attribution; shap's default picks 10 by LARS when less than 20% of
 * the space is sampled), and a singular system (too few distinct rows) is
 * solved with a small ridge instead of a pseudo-inverse.
 */
#include "explain/kernel_shap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hashmap.h"
#include "base/rng.h"
#include "base/util.h"

#define EVAL_CHUNK 1024

wd_kernel_shap_params wd_kernel_shap_params_default(void) {
    wd_kernel_shap_params p = {.nsamples = 0, .seed = 0};
    return p;
}

static double binom(size_t n, size_t k) {
    double c = 1.0;
    for (size_t j = 0; j < k; j++) c = c * (double)(n - j) / (double)(j + 1);
    return c;
}

void wd__kshap_design_free(wd__kshap_design *d) {
    if (!d) return;
    free(d->masks);
    free(d->weights);
    memset(d, 0, sizeof *d);
}

static wd_status add_row(wd__kshap_design *d, const uint8_t *mask, double w) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 256;
        uint8_t *mk = realloc(d->masks, cap * d->m);
        if (!mk) return wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
        d->masks = mk;
        double *wt = realloc(d->weights, cap * sizeof *wt);
        if (!wt) return wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
        d->weights = wt;
        d->cap = cap;
    }
    memcpy(d->masks + d->n * d->m, mask, d->m);
    d->weights[d->n++] = w;
    return WD_OK;
}

/* ==== the sampled rows' index (mask bytes -> row) ======================== */

typedef struct row_index {
    size_t *slot; /* row + 1; 0 = empty */
    size_t  cap;
} row_index;

/* The row of d holding mask, or (size_t)-1; *at gets the slot to fill. */
static size_t index_find(const row_index *ix, const wd__kshap_design *d, const uint8_t *mask, size_t *at) {
    size_t h = (size_t)wd__hash_bytes(mask, d->m) & (ix->cap - 1);
    while (ix->slot[h]) {
        size_t r = ix->slot[h] - 1;
        if (!memcmp(d->masks + r * d->m, mask, d->m)) return r;
        h = (h + 1) & (ix->cap - 1);
    }
    *at = h;
    return (size_t)-1;
}

/* ==== the design ========================================================= */

static wd_status enumerate_size(wd__kshap_design *d, size_t s, bool paired, double w, uint8_t *mask) {
    size_t m = d->m, idx[64];
    size_t *ix = s <= sizeof idx / sizeof idx[0] ? idx : malloc(s * sizeof *ix);
    if (!ix) return wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
    for (size_t j = 0; j < s; j++) ix[j] = j;
    wd_status st = WD_OK;
    for (;;) { /* combinations in lexicographic order */
        memset(mask, 0, m);
        for (size_t j = 0; j < s; j++) mask[ix[j]] = 1;
        if ((st = add_row(d, mask, w)) != WD_OK) break;
        if (paired) {
            for (size_t i = 0; i < m; i++) mask[i] = (uint8_t)!mask[i];
            if ((st = add_row(d, mask, w)) != WD_OK) break;
        }
        size_t j = s;
        while (j > 0 && ix[j - 1] == m - s + (j - 1)) j--;
        if (j == 0) break;
        ix[j - 1]++;
        for (size_t k = j; k < s; k++) ix[k] = ix[k - 1] + 1;
    }
    if (ix != idx) free(ix);
    return st;
}

static wd_status sample_rest(wd__kshap_design *d, const double *wv, size_t n_sizes, size_t n_paired,
                             size_t n_full, size_t samples_left, uint64_t seed, uint8_t *mask,
                             size_t *perm) {
    size_t m = d->m, nr = n_sizes - n_full;
    double rw[64], *r = nr <= 64 ? rw : malloc(nr * sizeof *r);
    row_index ix = {0};
    ix.cap = 16;
    while (ix.cap < 4 * samples_left + 16) ix.cap *= 2;
    ix.slot = calloc(ix.cap, sizeof *ix.slot);
    if (!r || !ix.slot) {
        if (r != rw) free(r);
        free(ix.slot);
        return wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
    }
    double tot = 0.0;
    for (size_t k = 0; k < nr; k++) {
        r[k] = wv[n_full + k] / (n_full + k < n_paired ? 2.0 : 1.0);
        tot += r[k];
    }
    for (size_t k = 0; k < nr; k++) r[k] /= tot;
    uint64_t rng = seed;
    size_t draws = 4 * samples_left;
    wd_status st = WD_OK;
    for (size_t t = 0; t < draws && samples_left > 0 && st == WD_OK; t++) {
        double u = wd__rng_unit(&rng), c = 0.0;
        size_t k = nr - 1;
        for (size_t q = 0; q < nr; q++) {
            c += r[q];
            if (u < c) {
                k = q;
                break;
            }
        }
        size_t s = k + n_full + 1;
        for (size_t i = 0; i < m; i++) perm[i] = i;
        for (size_t j = 0; j < s; j++) {
            size_t q = j + wd__rng_below(&rng, m - j), tmp = perm[j];
            perm[j] = perm[q];
            perm[q] = tmp;
        }
        memset(mask, 0, m);
        for (size_t j = 0; j < s; j++) mask[perm[j]] = 1;
        size_t at = 0, row = index_find(&ix, d, mask, &at);
        bool fresh = row == (size_t)-1;
        if (fresh) {
            row = d->n;
            ix.slot[at] = row + 1;
            samples_left--;
            st = add_row(d, mask, 1.0);
        } else {
            d->weights[row] += 1.0;
        }
        if (st == WD_OK && samples_left > 0 && s <= n_paired) {
            for (size_t i = 0; i < m; i++) mask[i] = (uint8_t)!mask[i];
            if (fresh) {
                samples_left--;
                st = add_row(d, mask, 1.0);
            } else {
                d->weights[row + 1] += 1.0;
            }
        }
    }
    if (st == WD_OK && d->n > d->n_fixed) {
        double left = 0.0, sum = 0.0;
        for (size_t k = n_full; k < n_sizes; k++) left += wv[k];
        for (size_t k = d->n_fixed; k < d->n; k++) sum += d->weights[k];
        for (size_t k = d->n_fixed; k < d->n; k++) d->weights[k] *= left / sum;
    }
    if (r != rw) free(r);
    free(ix.slot);
    return st;
}

/* Most cells (rows x units) of a design: 256 M bytes of masks. */
#define WD__KSHAP_MAX_CELLS ((size_t)256 << 20)

wd_status wd__kshap_design_build(size_t m, const wd_kernel_shap_params *params, wd__kshap_design *d) {
    memset(d, 0, sizeof *d);
    if (m < 2) return wd__fail(WD_ERR_INVALID_ARG, "kernel_shap: the design needs 2 or more units");
    wd_kernel_shap_params p = params ? *params : wd_kernel_shap_params_default();
    d->m = m;
    size_t nsamples = p.nsamples ? p.nsamples : 2 * m + 2048;
    if (!p.nsamples && m <= 12) nsamples = ((size_t)1 << m) - 2; /* all of them (see the top) */
    if (m <= 62 && nsamples > ((size_t)1 << m) - 2) nsamples = ((size_t)1 << m) - 2;
    /* a regression on m - 1 unknowns needs at least m rows; and the design
     * (rows x m mask bytes, plus the row index) must stay reasonable */
    if (nsamples < m)
        return wd__fail(WD_ERR_INVALID_ARG, "kernel_shap: nsamples %zu is below the %zu units: the "
                        "regression would be underdetermined (use at least 2m = %zu)", nsamples, m, 2 * m);
    if (nsamples > WD__KSHAP_MAX_CELLS / m)
        return wd__fail(WD_ERR_RANGE, "kernel_shap: nsamples %zu x %zu units is over the design's limit of "
                        "%zu cells", nsamples, m, (size_t)WD__KSHAP_MAX_CELLS);
    size_t n_sizes = m / 2, n_paired = (m - 1) / 2; /* ceil((m-1)/2), floor((m-1)/2) */
    double *wv = malloc(n_sizes * sizeof *wv), *rem = malloc(n_sizes * sizeof *rem);
    uint8_t *mask = malloc(m);
    size_t *perm = malloc(m * sizeof *perm);
    wd_status st = WD_OK;
    if (!wv || !rem || !mask || !perm) {
        st = wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
        goto done;
    }
    double tot = 0.0;
    for (size_t s = 1; s <= n_sizes; s++) {
        wv[s - 1] = (double)(m - 1) / ((double)s * (double)(m - s));
        if (s <= n_paired) wv[s - 1] *= 2.0;
        tot += wv[s - 1];
    }
    for (size_t k = 0; k < n_sizes; k++) rem[k] = wv[k] /= tot;
    double left = (double)nsamples;
    size_t n_full = 0;
    for (size_t s = 1; s <= n_sizes && st == WD_OK; s++) {
        bool paired = s <= n_paired;
        double nsub = binom(m, s) * (paired ? 2.0 : 1.0);
        if (left * rem[s - 1] / nsub < 1.0 - 1e-8) break;
        n_full++;
        left -= nsub;
        if (rem[s - 1] < 1.0) {
            double div = 1.0 - rem[s - 1];
            for (size_t k = 0; k < n_sizes; k++) rem[k] /= div;
        }
        double w = wv[s - 1] / binom(m, s) / (paired ? 2.0 : 1.0);
        st = enumerate_size(d, s, paired, w, mask);
    }
    d->n_fixed = d->n;
    if (st == WD_OK && n_full != n_sizes && nsamples > d->n)
        st = sample_rest(d, wv, n_sizes, n_paired, n_full, nsamples - d->n, p.seed, mask, perm);
done:
    free(wv);
    free(rem);
    free(mask);
    free(perm);
    if (st != WD_OK) wd__kshap_design_free(d);
    return st;
}

/* ==== the constrained weighted least squares ============================= */

/* Solves A x = b (A (n, n), overwritten; b overwritten by x). Returns false
 * when A is singular to working precision. */
static bool gauss_solve(double *A, double *b, size_t n) {
    double scale = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(A[i * n + i]));
    for (size_t c = 0; c < n; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[piv * n + c])) piv = r;
        if (!(fabs(A[piv * n + c]) > 1e-13 * scale)) return false;
        if (piv != c) {
            for (size_t k = 0; k < n; k++) {
                double t = A[c * n + k];
                A[c * n + k] = A[piv * n + k];
                A[piv * n + k] = t;
            }
            double t = b[c];
            b[c] = b[piv];
            b[piv] = t;
        }
        for (size_t r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            if (f == 0.0) continue;
            for (size_t k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (size_t c = n; c-- > 0;) {
        double s = b[c];
        for (size_t k = c + 1; k < n; k++) s -= A[c * n + k] * b[k];
        b[c] = s / A[c * n + c];
    }
    return true;
}

wd_status wd__kshap_solve(const wd__kshap_design *d, const double *y, double fx, double fnull, double *phi) {
    size_t m = d->m, p = m - 1;
    double *A = calloc(p * p, sizeof *A), *b = calloc(p, sizeof *b), *A0 = malloc(p * p * sizeof *A0);
    double *b0 = malloc(p * sizeof *b0), *x = malloc(p * sizeof *x);
    if (!A || !b || !A0 || !b0 || !x) {
        free(A), free(b), free(A0), free(b0), free(x);
        return wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
    }
    double total = fx - fnull;
    for (size_t k = 0; k < d->n; k++) {
        const uint8_t *z = d->masks + k * m;
        double w = d->weights[k], last = z[m - 1];
        double yk = (y[k] - fnull) - last * total;
        for (size_t i = 0; i < p; i++) {
            x[i] = (double)z[i] - last;
            if (x[i] == 0.0) continue;
            b[i] += w * x[i] * yk;
            for (size_t j = 0; j <= i; j++) A[i * p + j] += w * x[i] * x[j];
        }
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = i + 1; j < p; j++) A[i * p + j] = A[j * p + i];
    memcpy(A0, A, p * p * sizeof *A);
    memcpy(b0, b, p * sizeof *b);
    if (!gauss_solve(A, b, p)) {
        /* too few distinct rows to pin every unit: a small ridge */
        double tr = 0.0;
        for (size_t i = 0; i < p; i++) tr += A0[i * p + i];
        double lambda = 1e-9 * (tr > 0.0 ? tr / (double)p : 1.0);
        for (size_t i = 0; i < p; i++) A0[i * p + i] += lambda;
        memcpy(b, b0, p * sizeof *b);
        if (!gauss_solve(A0, b, p)) {
            free(A), free(b), free(A0), free(b0), free(x);
            return wd__fail(WD_ERR_INTERNAL, "kernel_shap: singular regression");
        }
    }
    double s = 0.0;
    for (size_t i = 0; i < p; i++) {
        phi[i] = b[i];
        s += b[i];
    }
    phi[m - 1] = total - s;
    free(A), free(b), free(A0), free(b0), free(x);
    return WD_OK;
}

/* ==== the explainer ====================================================== */

wd_status wd_shap_kernel(wd_shap_game game, void *user, size_t m, const wd_kernel_shap_params *params,
                         double *phi, wd_shap_info *info) {
    if (!game || (m && !phi)) return wd__fail(WD_ERR_INVALID_ARG, "shap_kernel: NULL argument");
    if (m > WD_SHAP_KERNEL_MAX)
        return wd__fail(WD_ERR_RANGE, "shap_kernel: %zu units, at most %d (the regression is m^2 per row); "
                                      "use the partition explainer", m, WD_SHAP_KERNEL_MAX);
    size_t mm = m ? m : 1;
    uint8_t *ends = calloc(2, mm);
    if (!ends) return wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
    memset(ends + mm, 1, mm);
    double fv[2];
    wd_status st = game(user, ends, 2, m, fv);
    free(ends);
    if (st != WD_OK) return st;
    wd_shap_info in = {.value = fv[1], .base_value = fv[0], .n_evals = 2, .n_samples = 0};
    if (m == 1) phi[0] = fv[1] - fv[0];
    if (m >= 2) {
        wd__kshap_design d;
        if ((st = wd__kshap_design_build(m, params, &d)) != WD_OK) return st;
        double *y = malloc(d.n * sizeof *y);
        if (!y) st = wd__fail(WD_ERR_NOMEM, "kernel_shap: out of memory");
        for (size_t k0 = 0; st == WD_OK && k0 < d.n; k0 += EVAL_CHUNK) {
            size_t nk = d.n - k0 < EVAL_CHUNK ? d.n - k0 : EVAL_CHUNK;
            st = game(user, d.masks + k0 * m, nk, m, y + k0);
        }
        if (st == WD_OK) st = wd__kshap_solve(&d, y, fv[1], fv[0], phi);
        in.n_evals += d.n;
        in.n_samples = d.n;
        free(y);
        wd__kshap_design_free(&d);
        if (st != WD_OK) return st;
    }
    if (info) *info = in;
    return WD_OK;
}
