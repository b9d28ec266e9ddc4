/*
 * tensor/crossentropy.c - softmax cross-entropy over a vocabulary with
 * integer targets, torch's F.cross_entropy(reduction="none",
 * ignore_index=-100):
 *
 *     loss_n   = logsumexp(logits_n) - logits_n[t_n]     (0 when t_n = -100)
 *     dlogits += (softmax(logits_n) - onehot(t_n)) * dloss_n
 *
 * The loss is taken from the log-sum-exp (max-subtracted, sum in double)
 * rather than from -log(prob), which stays finite when the target's
 * probability underflows. Targets are validated before anything is
 * written. Rows are split over threads.
 */
#include <math.h>

#include "base/err.h"
#include "tensor/threads.h"

typedef struct ce_args {
    float *losses, *probs, *dlogits;
    const float *logits, *dlosses, *probs_in;
    const int32_t *targets;
    size_t N, V;
} ce_args;

static wd_status check_targets(const int32_t *targets, size_t N, size_t V) {
    for (size_t n = 0; n < N; n++) {
        int32_t t = targets[n];
        if (t != WD_IGNORE_INDEX && (t < 0 || (size_t)t >= V))
            return wd__fail(WD_ERR_RANGE,
                            "cross-entropy: target %d of row %zu is outside [0, %zu) and "
                            "not the ignore index %d",
                            (int)t, n, V, WD_IGNORE_INDEX);
    }
    return WD_OK;
}

static void fwd_task(void *p, int ith, int nth) {
    const ce_args *a = p;
    size_t V = a->V, n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        const float *x = a->logits + n * V;
        float mx = -INFINITY;
        for (size_t v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
        double s = 0.0;
        for (size_t v = 0; v < V; v++) s += expf(x[v] - mx);
        if (a->probs) {
            float inv = (float)(1.0 / s), *pr = a->probs + n * V;
            for (size_t v = 0; v < V; v++) pr[v] = expf(x[v] - mx) * inv;
        }
        int32_t t = a->targets[n];
        a->losses[n] = t == WD_IGNORE_INDEX ? 0.0f : (float)(log(s) + mx - x[t]);
    }
}

wd_status wd_op_crossentropy_fwd(float *losses, float *probs, const float *logits,
                                 const int32_t *targets, size_t N, size_t V, wd_threadpool *tp) {
    // losses (N), probs (N,V) or NULL, logits (N,V), targets (N)
    wd_status st = check_targets(targets, N, V);
    if (st) return st;
    ce_args a = {.losses = losses, .probs = probs, .logits = logits, .targets = targets,
                 .N = N, .V = V};
    wd__parallel_for(tp, fwd_task, &a, N * V * 4);
    return WD_OK;
}

wd_status wd_op_crossentropy_fwd_ref(float *losses, float *probs, const float *logits,
                                     const int32_t *targets, size_t N, size_t V) {
    // losses (N), probs (N,V) or NULL, logits (N,V), targets (N)
    wd_status st = check_targets(targets, N, V);
    if (st) return st;
    for (size_t n = 0; n < N; n++) {
        const float *x = logits + n * V;
        double mx = -INFINITY, s = 0.0;
        for (size_t v = 0; v < V; v++) mx = fmax(mx, x[v]);
        for (size_t v = 0; v < V; v++) s += exp(x[v] - mx);
        if (probs)
            for (size_t v = 0; v < V; v++) probs[n * V + v] = (float)(exp(x[v] - mx) / s);
        losses[n] = targets[n] == WD_IGNORE_INDEX ? 0.0f : (float)(mx + log(s) - x[targets[n]]);
    }
    return WD_OK;
}

static void bwd_task(void *p, int ith, int nth) {
    const ce_args *a = p;
    size_t V = a->V, n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        int32_t t = a->targets[n];
        if (t == WD_IGNORE_INDEX) continue;
        const float *pr = a->probs_in + n * V;
        float *d = a->dlogits + n * V, g = a->dlosses[n];
        for (size_t v = 0; v < V; v++) d[v] += pr[v] * g;
        d[t] -= g;
    }
}

wd_status wd_op_crossentropy_bwd(float *dlogits, const float *dlosses, const float *probs,
                                 const int32_t *targets, size_t N, size_t V, wd_threadpool *tp) {
    // dlogits (N,V) +=, dlosses (N), probs (N,V), targets (N)
    wd_status st = check_targets(targets, N, V);
    if (st) return st;
    ce_args a = {.dlogits = dlogits, .dlosses = dlosses, .probs_in = probs, .targets = targets,
                 .N = N, .V = V};
    wd__parallel_for(tp, bwd_task, &a, N * V);
    return WD_OK;
}

wd_status wd_op_crossentropy_bwd_ref(float *dlogits, const float *dlosses, const float *probs,
                                     const int32_t *targets, size_t N, size_t V) {
    // dlogits (N,V) +=, dlosses (N), probs (N,V), targets (N)
    wd_status st = check_targets(targets, N, V);
    if (st) return st;
    for (size_t n = 0; n < N; n++) {
        if (targets[n] == WD_IGNORE_INDEX) continue;
        for (size_t v = 0; v < V; v++) {
            double onehot = (int32_t)v == targets[n] ? 1.0 : 0.0;
            dlogits[n * V + v] += (float)(((double)probs[n * V + v] - onehot) * dlosses[n]);
        }
    }
    return WD_OK;
}
