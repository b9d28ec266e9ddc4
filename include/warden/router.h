/*
 * warden/router.h - the escalation rule of a guard cascade (`type: cascade`
 * in a policy, docs/policy.md): when the fast first guard is unsure, the
 * slow second guard decides. The rule is a band on the first guard's score:
 *
 *     escalate  <=>  low <= first_score < high
 *
 * (first_score: the first guard's highest category score, in [0, 1]; high
 * may exceed 1, meaning "every score from low up"; low == high escalates
 * nothing). `warden train-router` learns the band on labelled validation
 * data (train/, wd_router_train in warden/train.h) and writes it as
 * router.json; the cascade scanner reads it.
 *
 * The band search. Given, for n labelled texts, the first guard's score and
 * the decisions of each guard alone, every band gives a cascade whose
 * decision is the second guard's inside the band and the first's outside:
 * wd_cascade_band_search picks the band with the best F1 among those that
 * escalate at most a share max_share of the texts; wd_cascade_curve does it
 * for a list of shares (the F1 / latency curve against share escalated of
 * `warden eval`). Bands are cut between distinct first scores, so only
 * bands that select different sets of texts are compared. Ties in F1 go to
 * the band escalating fewer texts, then to the lower band.
 *
 * router.json (written by wd_router_write, read by wd_router_read):
 *   {"format": "warden-router", "version": 1, "method": "threshold",
 *    "low": 0.31, "high": 0.62,
 *    "target_share": 0.2,                     (the share asked for)
 *    "validation": {"n": 400, "f1": 0.91, "share": 0.18,
 *                   "f1_first": 0.88, "f1_second": 0.93},
 *    "data": "../shared/data (val split, 400 sampled)"}
 * Only format, version, method, low and high are required; the rest is a
 * record of how it was made.
 *
 * method "mlp": SafeRoute's learned router (METHODS.md 12a). Its input is
 * the first guard's feature: a model judge's last-layer hidden state at the
 * position where it reads its verdict (wd_verdict_feature); the MLP gives
 * P(escalate) and the cascade escalates when P >= p_min. router.json then
 * holds, instead of low/high,
 *   {"format": "warden-router", "version": 1, "method": "mlp",
 *    "n_in": 64, "hidden": [512, 512], "p_min": 0.5,
 *    "weights": "router.safetensors", ...the record as above}
 * and the weights lie in the sidecar safetensors file it names (a plain
 * file name, in router.json's folder), F32 tensors
 *   in.mean (n_in), in.scale (n_in)   the feature's standardisation
 *   l1.weight (h1, n_in), l1.bias (h1), l2.weight (h2, h1), l2.bias (h2),
 *   out.weight (1, h2), out.bias (1)
 * so that P = sigmoid(out(relu(l2(relu(l1((x - mean) * scale)))))).
 */
#ifndef WARDEN_ROUTER_H
#define WARDEN_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_router_method {
    WD_ROUTER_METHOD_THRESHOLD = 0, /* the band on the first guard's score */
    WD_ROUTER_METHOD_MLP,           /* SafeRoute's MLP on the first guard's feature */
} wd_router_method;

/* SafeRoute's router MLP. The pointers lie in one block (w) owned by the
 * object: n_in inputs, hidden sizes h1 and h2; l1w is (h1, n_in) row-major,
 * l2w (h2, h1), ow (h2). The trained parameters are the n_param floats
 * from l1w on, in the order l1w l1b l2w l2b ow ob. */
typedef struct wd_router_mlp {
    size_t n_in, h1, h2, n_param;
    float *mean, *scale;            /* (n_in) each: x' = (x - mean) * scale */
    float *l1w, *l1b, *l2w, *l2b, *ow, *ob;
    float *w;                       /* the block */
} wd_router_mlp;

/* A new MLP with every weight 0 and scale 1, or NULL (out of memory, a size
 * of 0, or a size over 65536). Free with wd_router_mlp_free. */
wd_router_mlp *wd_router_mlp_new(size_t n_in, size_t h1, size_t h2);
void wd_router_mlp_free(wd_router_mlp *m);
/* P(escalate) for the feature x[0..n); NaN when n != m->n_in or m is NULL.
 * Allocates nothing for hidden sizes up to 4096 each. */
double wd_router_mlp_prob(const wd_router_mlp *m, const float *x, size_t n);

typedef struct wd_router {
    wd_router_method method;
    double low, high;          /* escalate when low <= first_score < high    */
    double target_share;       /* NaN when not recorded                       */
    size_t n_val;              /* validation texts (0: not recorded)           */
    double val_f1, val_share;  /* the cascade on them (NaN: not recorded)      */
    double val_f1_first, val_f1_second; /* each guard alone (NaN: not recorded) */
    char   data[512];          /* what it was trained on ("" when not recorded) */
    /* method MLP: the network (owned by whoever read or trained the router:
     * wd_router_clear frees it; a copy of the struct borrows it), the cut
     * (escalate when P >= p_min; 0.5 as SafeRoute) and the sidecar's file
     * name ("" until written or read) */
    wd_router_mlp *mlp;
    double p_min;
    char   weights[256];
} wd_router;

/* Frees r->mlp and sets it to NULL; NULL is a no-op. */
void wd_router_clear(wd_router *r);

/* A router with the band [low, high) and nothing recorded. */
wd_router wd_router_band(double low, double high);

/* True when the router sends a text whose first score is first_score to
 * the second guard. A NaN score is never escalated. An MLP router
 * escalates nothing here (it reads the feature: see below). */
bool wd_router_escalates(const wd_router *r, double first_score);
/* The same for either method: the band on first_score, or the MLP on
 * feature[0..n_feature) (P >= p_min; a missing feature or a wrong size
 * escalates nothing). */
bool wd_router_escalates_feature(const wd_router *r, double first_score, const float *feature, size_t n_feature);

/* Reads router.json at path into *out. Returns WD_OK, WD_ERR_IO, or
 * WD_ERR_FORMAT / WD_ERR_UNSUPPORTED with a message naming the file and
 * the field ("router.json: field 'low': expected a number in [0, 1], got
 * 1.5"): a missing or wrong-typed field, low outside [0, 1], high outside
 * [low, 2], an unknown format, version or method; for method "mlp" also
 * the sidecar: missing, not safetensors, a tensor missing, of another
 * shape or not finite ("router.safetensors: tensor 'l1.weight': shape [4,
 * 8], router.json says [512, 64]"). *out owns the MLP (wd_router_clear). */
wd_status wd_router_read(const char *path, wd_router *out);
/* The same over len bytes of JSON; where names it in messages. An "mlp"
 * router's sidecar is looked up in dir (NULL: refused, WD_ERR_UNSUPPORTED). */
wd_status wd_router_parse(const char *json, size_t len, const char *where, wd_router *out);
wd_status wd_router_parse_in(const char *json, size_t len, const char *where, const char *dir, wd_router *out);
/* Writes r as router.json at path, atomically; an MLP router first writes
 * its weights beside it (path with ".json" replaced by ".safetensors",
 * also atomically) and names that file in "weights". */
wd_status wd_router_write(const wd_router *r, const char *path);

/* ==== the band search ==================================================== */

/* One labelled text as both guards saw it. */
typedef struct wd_cascade_obs {
    double first_score;  /* the routing score (wd_cascade_info.first_score)        */
    bool   harmful;      /* the label                                              */
    bool   first_flag;   /* the decision of the guard with only the first guard    */
    bool   second_flag;  /* ... with only the second                               */
    double first_ms;     /* time of the check with only the first guard            */
    double second_ms;    /* time of the check with only the second guard           */
    double escalate_ms;  /* what escalating adds: the second guard's own time      */
} wd_cascade_obs;

/* A band and what the cascade does with it on a set of observations. */
typedef struct wd_cascade_point {
    double low, high;    /* the band (low == high: nothing escalated)              */
    size_t n_escalated;
    double share;        /* n_escalated / n                                        */
    double f1, precision, recall;
    double mean_ms;      /* mean over texts of first_ms + escalate_ms if escalated */
} wd_cascade_point;

/* The cascade with the band [low, high) on obs[0..n). */
wd_cascade_point wd_cascade_eval(const wd_cascade_obs *obs, size_t n, double low, double high);

/* The band of best F1 escalating at most floor(max_share * n) texts, into
 * *best. Time O(n log n + G^2) for G distinct first scores (G is capped at
 * 2048 by merging neighbouring scores into quantile groups). Returns WD_OK,
 * WD_ERR_INVALID_ARG (n == 0, max_share outside [0, 1], a NaN score) or
 * WD_ERR_NOMEM. */
wd_status wd_cascade_band_search(const wd_cascade_obs *obs, size_t n, double max_share,
                                 wd_cascade_point *best);

/* For each shares[k] (in [0, 1]) the best band as wd_cascade_band_search
 * gives it, into out[k]: one pass over the bands for all of them. */
wd_status wd_cascade_curve(const wd_cascade_obs *obs, size_t n, const double *shares, size_t n_shares,
                           wd_cascade_point *out);

/* The plain sweep, for comparison: for each shares[k] (ascending, in [0,
 * 1]) the band around center (the first guard's decision threshold, 0.5
 * for a policy's default) grown one score at a time, always by the
 * neighbour nearer center, while it escalates at most shares[k] of the
 * texts: the cascade that escalates the texts the first guard is least
 * sure of, chosen without looking at the labels. */
wd_status wd_cascade_curve_centered(const wd_cascade_obs *obs, size_t n, double center, const double *shares,
                                    size_t n_shares, wd_cascade_point *out);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_ROUTER_H */
