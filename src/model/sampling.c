/*
 * model/sampling.c - choosing the next token from logits.
 *
 * The order is Hugging Face generate()'s logits processors and warpers:
 *
 *   1. repetition penalty (Keskar et al. 2019, CTRL): each distinct token of
 *      the last repeat_last_n has its logit divided by the penalty when
 *      positive, multiplied when negative;
 *   2. temperature <= 0: greedy, the argmax (lowest id on ties); stop here;
 *   3. logits / temperature, sorted by decreasing value;
 *   4. top-k: keep the k largest (k <= 0: all);
 *   5. softmax over the survivors (in double);
 *   6. top-p (nucleus, Holtzman et al. 2020): keep the smallest prefix whose
 *      mass reaches top_p (at least one token; top_p >= 1: all);
 *   7. min-p (Nguyen et al. 2024): drop tokens with p < min_p * p_max;
 *   8. renormalise and draw with the sampler's own generator (splitmix64 ->
 *      a double in [0,1)); the same seed and logits give the same tokens on
 *      every platform.
 *
 * The work space (V ids and values) is allocated once by wd_sampler_new;
 * wd_sampler_sample does not allocate. Sorting uses a partial selection
 * when top_k is set, so the cost is O(V + k log k) rather than O(V log V).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/model_internal.h"

struct wd_sampler {
    wd_sampler_params p;
    size_t   V;
    uint64_t rng;
    float   *val;   /* (V) penalised, scaled logits */
    int32_t *ids;   /* (V) candidate ids, sorted    */
    float   *prob;  /* (V) candidate probabilities  */
    uint8_t *seen;  /* (V) repetition flags         */
    size_t   n_cand;
};

wd_sampler_params wd_sampler_params_default(void) {
    wd_sampler_params p = {
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .seed = 42,
    };
    return p;
}

wd_status wd_sampler_new(const wd_sampler_params *params, size_t n_vocab, wd_sampler **out) {
    if (out) *out = NULL;
    if (!out || n_vocab == 0 || n_vocab > INT32_MAX)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_sampler_new: bad argument (n_vocab %zu)", n_vocab);
    wd_sampler_params p = params ? *params : wd_sampler_params_default();
    if (!(p.top_p >= 0.0f) || !(p.min_p >= 0.0f) || !(p.repeat_penalty > 0.0f) ||
        isnan(p.temperature))
        return wd__fail(WD_ERR_INVALID_ARG,
                        "wd_sampler_new: top_p and min_p must be >= 0, repeat_penalty > 0");
    wd_sampler *s = calloc(1, sizeof *s);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    s->p = p;
    s->V = n_vocab;
    s->rng = p.seed;
    s->val = malloc(n_vocab * sizeof *s->val);
    s->ids = malloc(n_vocab * sizeof *s->ids);
    s->prob = malloc(n_vocab * sizeof *s->prob);
    s->seen = calloc(n_vocab, 1);
    if (!s->val || !s->ids || !s->prob || !s->seen) {
        wd_sampler_free(s);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return WD_OK;
}

void wd_sampler_free(wd_sampler *s) {
    if (!s) return;
    free(s->val);
    free(s->ids);
    free(s->prob);
    free(s->seen);
    free(s);
}

void wd_sampler_reset(wd_sampler *s, uint64_t seed) {
    if (s) s->rng = seed;
}

/* Orders candidate ids by decreasing value, ties by increasing id. */
static int cmp_cand(const void *a, const void *b, void *arg) {
    const float *val = arg;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    float vx = val[x], vy = val[y];
    if (vx != vy) return vx > vy ? -1 : 1;
    return x < y ? -1 : x > y;
}

static bool before(const float *val, int32_t x, int32_t y) {
    return val[x] > val[y] || (val[x] == val[y] && x < y);
}

/* Moves the k best of ids[0..n) to the front (quickselect), unordered. */
static void select_k(int32_t *ids, size_t n, size_t k, const float *val) {
    size_t lo = 0, hi = n; /* the k-th best is in [lo, hi) */
    while (hi - lo > 1) {
        int32_t pivot = ids[lo + (hi - lo) / 2];
        /* three-way: [lo,lt) better, [lt,gt) pivot, [gt,hi) worse */
        size_t lt = lo, gt = hi, p = lo;
        while (p < gt) {
            if (before(val, ids[p], pivot)) {
                int32_t t = ids[p]; ids[p] = ids[lt]; ids[lt] = t;
                lt++, p++;
            } else if (before(val, pivot, ids[p])) {
                gt--;
                int32_t t = ids[p]; ids[p] = ids[gt]; ids[gt] = t;
            } else {
                p++;
            }
        }
        if (k <= lt) hi = lt;
        else if (k <= gt) return;
        else lo = gt;
    }
}

int32_t wd_sampler_sample(wd_sampler *s, const float *logits, const int32_t *history,
                          size_t n_history) {
    size_t V = s->V;
    memcpy(s->val, logits, V * sizeof *s->val);
    /* 1. repetition penalty, once per distinct recent token */
    if (s->p.repeat_penalty != 1.0f && history && s->p.repeat_last_n != 0) {
        size_t from = 0;
        if (s->p.repeat_last_n > 0 && n_history > (size_t)s->p.repeat_last_n)
            from = n_history - (size_t)s->p.repeat_last_n;
        for (size_t i = from; i < n_history; i++) {
            int32_t t = history[i];
            if (t < 0 || (size_t)t >= V || s->seen[t]) continue;
            s->seen[t] = 1;
            float v = s->val[t];
            s->val[t] = v > 0 ? v / s->p.repeat_penalty : v * s->p.repeat_penalty;
        }
        for (size_t i = from; i < n_history; i++)
            if (history[i] >= 0 && (size_t)history[i] < V) s->seen[history[i]] = 0;
    }
    /* 2. greedy */
    if (s->p.temperature <= 0.0f) {
        int32_t best = 0;
        for (size_t v = 1; v < V; v++)
            if (s->val[v] > s->val[best]) best = (int32_t)v;
        s->ids[0] = best;
        s->prob[0] = 1.0f;
        s->n_cand = 1;
        return best;
    }
    /* 3-4. temperature, top-k, sort */
    float inv_t = 1.0f / s->p.temperature;
    for (size_t v = 0; v < V; v++) {
        s->val[v] *= inv_t;
        s->ids[v] = (int32_t)v;
    }
    size_t n = V;
    if (s->p.top_k > 0 && (size_t)s->p.top_k < V) {
        select_k(s->ids, V, (size_t)s->p.top_k, s->val);
        n = (size_t)s->p.top_k;
    }
    qsort_r(s->ids, n, sizeof *s->ids, cmp_cand, s->val);
    /* 5. softmax */
    double mx = s->val[s->ids[0]], sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += exp((double)s->val[s->ids[i]] - mx);
    for (size_t i = 0; i < n; i++) s->prob[i] = (float)(exp((double)s->val[s->ids[i]] - mx) / sum);
    /* 6. top-p */
    if (s->p.top_p < 1.0f) {
        double cum = 0.0;
        size_t keep = n;
        for (size_t i = 0; i < n; i++) {
            cum += s->prob[i];
            if (cum >= s->p.top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    /* 7. min-p */
    if (s->p.min_p > 0.0f) {
        float floor_p = s->p.min_p * s->prob[0];
        size_t keep = 1;
        while (keep < n && s->prob[keep] >= floor_p) keep++;
        n = keep;
    }
    /* 8. renormalise, draw */
    double tot = 0.0;
    for (size_t i = 0; i < n; i++) tot += s->prob[i];
    for (size_t i = 0; i < n; i++) s->prob[i] = (float)(s->prob[i] / tot);
    s->n_cand = n;
    double u = wd__rng_unit(&s->rng);
    double cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += s->prob[i];
        if (u < cum) return s->ids[i];
    }
    return s->ids[n - 1];
}

size_t wd_sampler_candidates(const wd_sampler *s, const int32_t **ids, const float **probs) {
    if (ids) *ids = s ? s->ids : NULL;
    if (probs) *probs = s ? s->prob : NULL;
    return s ? s->n_cand : 0;
}
