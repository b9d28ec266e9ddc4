/*
 * guard/cascade_band.c - the band search of a guard cascade (warden/router.h):
 * which band [low, high) of the first guard's score, sent to the second
 * guard, gives the cascade the best F1 at a bounded share escalated.
 *
 * Texts sorted by first score fall into G groups of equal score (at most
 * MAX_GROUPS: beyond that, neighbouring scores merge into quantile groups).
 * A band escalates a run of groups [i, j); with prefix sums over the groups
 * of the four counts
 *     A1 = harmful & first flags,  A2 = harmful & second flags,
 *     B1 = benign  & first flags,  B2 = benign  & second flags
 * the cascade's true and false positives are
 *     TP(i, j) = A1[G] - (A1[j] - A1[i]) + (A2[j] - A2[i])
 *     FP(i, j) = B1[G] - (B1[j] - B1[i]) + (B2[j] - B2[i])
 * so each of the G (G + 1) / 2 bands costs O(1). For a list of shares, the
 * best band is kept per number of texts escalated, then a running maximum
 * over that number answers every share at once.
 *
 * The band's edges are cut halfway between the neighbouring groups' scores
 * (low = 0 for a band from the lowest group, high = 2 for one that reaches
 * the highest), so that scores near the ones seen fall on the same side.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "warden/router.h"

#define MAX_GROUPS 2048

typedef struct group {
    double lo, hi; /* the smallest and largest first score in the group */
    size_t n;
} group;

static double f1_of(double tp, double fp, double fn) {
    double d = 2 * tp + fp + fn;
    return d > 0 ? 2 * tp / d : 0.0;
}

wd_cascade_point wd_cascade_eval(const wd_cascade_obs *obs, size_t n, double low, double high) {
    wd_cascade_point p = {.low = low, .high = high};
    wd_router r = wd_router_band(low, high);
    double tp = 0, fp = 0, fn = 0, ms = 0;
    for (size_t i = 0; i < n; i++) {
        bool esc = wd_router_escalates(&r, obs[i].first_score);
        bool flag = esc ? obs[i].second_flag : obs[i].first_flag;
        p.n_escalated += esc;
        ms += obs[i].first_ms + (esc ? obs[i].escalate_ms : 0);
        if (obs[i].harmful) {
            tp += flag;
            fn += !flag;
        } else {
            fp += flag;
        }
    }
    p.share = n ? (double)p.n_escalated / (double)n : NAN;
    p.f1 = f1_of(tp, fp, fn);
    p.precision = tp + fp > 0 ? tp / (tp + fp) : NAN;
    p.recall = tp + fn > 0 ? tp / (tp + fn) : NAN;
    p.mean_ms = n ? ms / (double)n : NAN;
    return p;
}

typedef struct ranked {
    double score;
    size_t i;
} ranked;

static int by_score(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i; /* stable: ties in input order */
}

/* The search over every band. For each count k of texts escalated,
 * best[k] gets the band (its group range) of best F1, ties to the lower
 * band; found[k] says whether some band escalates exactly k. */
typedef struct search {
    size_t  n, G;
    group  *g;
    double *A1, *A2, *B1, *B2; /* prefix sums over groups, G + 1 entries */
    size_t *C;                 /* texts, prefix                           */
    double  H;                 /* harmful texts                           */
    double *best_f1;           /* n + 1 */
    size_t *best_i, *best_j;
    bool   *found;
} search;

static void search_free(search *s) {
    free(s->g);
    free(s->A1);
    free(s->A2);
    free(s->B1);
    free(s->B2);
    free(s->C);
    free(s->best_f1);
    free(s->best_i);
    free(s->best_j);
    free(s->found);
}

static wd_status search_run(const wd_cascade_obs *obs, size_t n, search *s) {
    memset(s, 0, sizeof *s);
    if (!obs || n == 0) return wd__fail(WD_ERR_INVALID_ARG, "cascade band search: no observations");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(obs[i].first_score))
            return wd__fail(WD_ERR_INVALID_ARG, "cascade band search: observation %zu has no first score", i);
    ranked *ord = malloc(n * sizeof *ord);
    s->n = n;
    s->g = malloc((n < MAX_GROUPS ? n : MAX_GROUPS) * sizeof *s->g);
    s->A1 = calloc(n + 1, sizeof(double));
    s->A2 = calloc(n + 1, sizeof(double));
    s->B1 = calloc(n + 1, sizeof(double));
    s->B2 = calloc(n + 1, sizeof(double));
    s->C = calloc(n + 1, sizeof(size_t));
    s->best_f1 = malloc((n + 1) * sizeof(double));
    s->best_i = calloc(n + 1, sizeof(size_t));
    s->best_j = calloc(n + 1, sizeof(size_t));
    s->found = calloc(n + 1, sizeof(bool));
    if (!ord || !s->g || !s->A1 || !s->A2 || !s->B1 || !s->B2 || !s->C || !s->best_f1 || !s->best_i ||
        !s->best_j || !s->found) {
        free(ord);
        search_free(s);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) ord[i] = (ranked){obs[i].first_score, i};
    qsort(ord, n, sizeof *ord, by_score);
    /* groups: equal scores together; a new group starts at a new score once
     * the current one holds its quantile share (all of them when n is small) */
    size_t G = 0;
    for (size_t k = 0; k < n; k++) {
        const wd_cascade_obs *o = &obs[ord[k].i];
        bool new_score = k == 0 || o->first_score != ord[k - 1].score;
        bool room = G == 0 || n <= MAX_GROUPS || s->C[G] >= (size_t)((double)G * (double)n / MAX_GROUPS);
        if (new_score && room && G < MAX_GROUPS) {
            s->g[G] = (group){o->first_score, o->first_score, 0};
            G++;
            s->A1[G] = s->A1[G - 1];
            s->A2[G] = s->A2[G - 1];
            s->B1[G] = s->B1[G - 1];
            s->B2[G] = s->B2[G - 1];
            s->C[G] = s->C[G - 1];
        }
        group *g = &s->g[G - 1];
        g->hi = o->first_score;
        g->n++;
        s->C[G]++;
        if (o->harmful) {
            s->A1[G] += o->first_flag;
            s->A2[G] += o->second_flag;
            s->H += 1;
        } else {
            s->B1[G] += o->first_flag;
            s->B2[G] += o->second_flag;
        }
    }
    free(ord);
    s->G = G;
    /* the empty band first: it wins every tie at k = 0 */
    double tp0 = s->A1[G], fp0 = s->B1[G];
    s->best_f1[0] = f1_of(tp0, fp0, s->H - tp0);
    s->found[0] = true;
    for (size_t i = 0; i < G; i++)
        for (size_t j = i + 1; j <= G; j++) {
            double tp = tp0 - (s->A1[j] - s->A1[i]) + (s->A2[j] - s->A2[i]);
            double fp = fp0 - (s->B1[j] - s->B1[i]) + (s->B2[j] - s->B2[i]);
            double f1 = f1_of(tp, fp, s->H - tp);
            size_t k = s->C[j] - s->C[i];
            if (!s->found[k] || f1 > s->best_f1[k]) {
                s->found[k] = true;
                s->best_f1[k] = f1;
                s->best_i[k] = i;
                s->best_j[k] = j;
            }
        }
    return WD_OK;
}

/* The best band escalating at most max_share of the texts, evaluated. */
static wd_cascade_point search_answer(const search *s, const wd_cascade_obs *obs, double max_share) {
    size_t kmax = (size_t)floor(max_share * (double)s->n + 1e-9), kb = 0;
    if (kmax > s->n) kmax = s->n;
    for (size_t k = 1; k <= kmax; k++)
        if (s->found[k] && s->best_f1[k] > s->best_f1[kb]) kb = k; /* strictly: fewer escalated wins ties */
    double low = 0, high = 0;
    if (kb) {
        size_t i = s->best_i[kb], j = s->best_j[kb];
        low = i == 0 ? 0.0 : (s->g[i - 1].hi + s->g[i].lo) / 2;
        high = j == s->G ? 2.0 : (s->g[j - 1].hi + s->g[j].lo) / 2;
    }
    return wd_cascade_eval(obs, s->n, low, high);
}

wd_status wd_cascade_band_search(const wd_cascade_obs *obs, size_t n, double max_share, wd_cascade_point *best) {
    if (!best) return wd__fail(WD_ERR_INVALID_ARG, "wd_cascade_band_search: best is NULL");
    return wd_cascade_curve(obs, n, &max_share, 1, best);
}

wd_status wd_cascade_curve(const wd_cascade_obs *obs, size_t n, const double *shares, size_t n_shares,
                           wd_cascade_point *out) {
    if (n_shares && (!shares || !out)) return wd__fail(WD_ERR_INVALID_ARG, "wd_cascade_curve: NULL argument");
    for (size_t k = 0; k < n_shares; k++)
        if (!(shares[k] >= 0 && shares[k] <= 1))
            return wd__fail(WD_ERR_INVALID_ARG, "cascade band search: share %g is outside [0, 1]", shares[k]);
    search s;
    wd_status st = search_run(obs, n, &s);
    if (st) return st;
    for (size_t k = 0; k < n_shares; k++) out[k] = search_answer(&s, obs, shares[k]);
    search_free(&s);
    return WD_OK;
}

/* ==== the centred sweep =================================================== */

wd_status wd_cascade_curve_centered(const wd_cascade_obs *obs, size_t n, double center, const double *shares,
                                    size_t n_shares, wd_cascade_point *out) {
    if (!obs || !n || (n_shares && (!shares || !out)))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_cascade_curve_centered: no observations");
    for (size_t k = 0; k < n_shares; k++)
        if (!(shares[k] >= 0 && shares[k] <= 1) || (k && shares[k] < shares[k - 1]))
            return wd__fail(WD_ERR_INVALID_ARG, "cascade sweep: shares must ascend in [0, 1] (share %zu is %g)", k,
                            shares[k]);
    ranked *ord = malloc(n * sizeof *ord);
    group *g = malloc(n * sizeof *g);
    if (!ord || !g) {
        free(ord);
        free(g);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(obs[i].first_score)) {
            free(ord);
            free(g);
            return wd__fail(WD_ERR_INVALID_ARG, "cascade sweep: observation %zu has no first score", i);
        }
        ord[i] = (ranked){obs[i].first_score, i};
    }
    qsort(ord, n, sizeof *ord, by_score);
    size_t G = 0;
    for (size_t k = 0; k < n; k++) {
        if (k == 0 || ord[k].score != ord[k - 1].score) g[G++] = (group){ord[k].score, ord[k].score, 0};
        g[G - 1].n++;
    }
    free(ord);
    size_t i = 0; /* the band is groups [i, j), grown from the first group at or above center */
    while (i < G && g[i].lo < center) i++;
    size_t j = i, inside = 0;
    for (size_t k = 0; k < n_shares; k++) {
        size_t kmax = (size_t)floor(shares[k] * (double)n + 1e-9);
        for (;;) {
            bool left = i > 0, right = j < G;
            if (left && right) { /* the nearer neighbour; ties to the right (the unsafe side) */
                if (center - g[i - 1].hi < g[j].lo - center) right = false;
                else left = false;
            }
            if (left && inside + g[i - 1].n <= kmax) inside += g[--i].n;
            else if (right && inside + g[j].n <= kmax) inside += g[j++].n;
            else break;
        }
        double low = 0, high = 0;
        if (j > i) {
            low = i == 0 ? 0.0 : (g[i - 1].hi + g[i].lo) / 2;
            high = j == G ? 2.0 : (g[j - 1].hi + g[j].lo) / 2;
        }
        out[k] = wd_cascade_eval(obs, n, low, high);
    }
    free(g);
    return WD_OK;
}
