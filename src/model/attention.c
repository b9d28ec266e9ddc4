/*
 * model/attention.c - a decoder layer's attention over its KV cache, on the
 * model's thread pool:
 *
 *     a = softmax(scale * q K^T [soft-capped] + mask) V
 *
 * for T queries at cache rows P..P+T-1 against S = P + T cached keys, each
 * query head h reading kv head h / (H/KV). The mask is causal (query row t
 * sees keys 0..P+t), with Mistral's sliding window (keys above P+t-window)
 * or, for branches (wd_model_decode_branches), the branch's fork prefix and
 * its own rows.
 *
 * Work is cut into (head, block of RB query rows) units, split over the
 * pool's threads; each thread scores its block against the keys in tiles
 * of 8 keys transposed into its scratch (so the dot products run along 8
 * keys at once, with no horizontal sums), normalizes the rows and sums the
 * values. Under a sliding window the keys below the block's first visible
 * one are skipped. Nothing here calls BLAS: OpenBLAS's own threads, woken
 * twice per head, spun (sched_yield) on the cores the pool's threads needed
 * for the layer's matrices; a 1 B Q8_0 prefill of 128 tokens on 2 threads
 * went from 111 to 138 tokens/s when attention moved onto the pool.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/gemma.h"
#include "model/model_internal.h"
#include "tensor/threads.h"

/* v8 is file-local and its helpers are inlined: no ABI to keep */
#pragma GCC diagnostic ignored "-Wpsabi"

#define RB WD_ATTN_ROWS
#define KT WD_ATTN_KEYS
_Static_assert(KT == 8, "a key tile is one v8 of scores");

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t i8v __attribute__((vector_size(32)));

/* exp(x) of 8 values x <= 0 (scores minus their row's maximum): x = n ln2
 * + r, |r| <= ln2/2, e^r by its Taylor polynomial to r^6 (relative error
 * under 3e-7 over [-87, 0]), times 2^n through the exponent bits; below -87 (e^x under
 * FLT_MIN) 0. Eight at a time: libm's expf, one call per score, had become
 * the largest cost after the matrices. */
static inline v8 exp8(v8 x) {
    const i8v live = x >= -87.0f; /* lanes of -1 where e^x is a normal float */
    i8v xb;
    memcpy(&xb, &x, sizeof xb);
    xb &= live; /* below -87: x = 0, zeroed at the end */
    memcpy(&x, &xb, sizeof x);
    v8 t = x * 1.44269504f + 12582912.0f; /* n = round(x / ln2), by the 1.5 * 2^23 trick */
    v8 n = t - 12582912.0f;
    v8 r = (x - n * 0.693145752f) - n * 1.42860677e-6f; /* ln2 in two parts */
    v8 p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    i8v e = (__builtin_convertvector(n, i8v) + 127) << 23;
    v8 scale;
    memcpy(&scale, &e, sizeof scale);
    v8 y = p * scale;
    i8v yb;
    memcpy(&yb, &y, sizeof yb);
    yb &= live;
    memcpy(&y, &yb, sizeof y);
    return y;
}

/* row[s] = exp(row[s] - mx) for s in [a, b); returns their sum. */
static float exp_sum(float *row, size_t a, size_t b, float mx) {
    v8 acc = {0};
    size_t s = a;
    for (; s + 8 <= b; s += 8) {
        v8 x;
        memcpy(&x, row + s, sizeof x);
        x = exp8(x - mx);
        memcpy(row + s, &x, sizeof x);
        acc += x;
    }
    float sum = 0.0f;
    if (s < b) { /* the tail through a padded vector */
        v8 x = {0};
        float tmp[8];
        memcpy(tmp, row + s, (b - s) * sizeof *tmp);
        for (size_t j = b - s; j < 8; j++) tmp[j] = mx - 100.0f;
        memcpy(&x, tmp, sizeof x);
        x = exp8(x - mx);
        memcpy(tmp, &x, sizeof x);
        memcpy(row + s, tmp, (b - s) * sizeof *tmp);
        for (size_t j = 0; j < b - s; j++) sum += tmp[j];
    }
    for (int j = 0; j < 8; j++) sum += acc[j];
    return sum;
}

/* probs rows t of (T,S), query position P+t: keys [lo_t, P+t] visible. */
static void masked_softmax(float *att, size_t T, size_t S, size_t P, size_t window) {
    for (size_t t = 0; t < T; t++) {
        float *row = att + t * S;
        size_t hi = P + t; /* inclusive */
        size_t lo = (window && hi + 1 > window) ? hi + 1 - window : 0;
        float mx = -INFINITY;
        for (size_t s = lo; s <= hi; s++) mx = row[s] > mx ? row[s] : mx;
        float inv = 1.0f / exp_sum(row, lo, hi + 1, mx);
        for (size_t s = 0; s < lo; s++) row[s] = 0.0f;
        for (size_t s = lo; s <= hi; s++) row[s] *= inv;
        for (size_t s = hi + 1; s < S; s++) row[s] = 0.0f;
    }
}

/* probs rows r0..r0+n-1 of the batch (att at row r0, stride S) for
 * branched rows: row t of branch b sees keys [0, fork[b]) and its own
 * branch's rows [P + off[b], P + t]. */
static void branch_softmax(float *att, size_t r0, size_t n, size_t S, size_t P, const wd__branches *br) {
    size_t b = 0;
    for (size_t t = r0; t < r0 + n; t++) {
        while (t >= br->off[b + 1]) b++;
        float *row = att + (t - r0) * S;
        size_t f = br->fork[b], lo2 = P + br->off[b], hi2 = P + t; /* inclusive */
        float mx = -INFINITY;
        for (size_t s = 0; s < f; s++) mx = row[s] > mx ? row[s] : mx;
        for (size_t s = lo2; s <= hi2; s++) mx = row[s] > mx ? row[s] : mx;
        float inv = 1.0f / (exp_sum(row, 0, f, mx) + exp_sum(row, lo2, hi2 + 1, mx));
        for (size_t s = 0; s < S; s++) row[s] = (s < f || (s >= lo2 && s <= hi2)) ? row[s] * inv : 0.0f;
    }
}

typedef struct atask {
    wd_context         *ctx;
    const float        *K, *V;  /* the layer's cache: (n_ctx, KV, D) */
    const wd__branches *br;
    size_t              T, S, P, window;
    float               scale;
} atask;

/* q . k over D, eight lanes at a time (a plain loop would not vectorize:
 * float sums may not be reordered). */
static inline float dot(const float *q, const float *k, size_t D) {
    v8 acc = {0};
    size_t d = 0;
    for (; d + 8 <= D; d += 8) {
        v8 a, b;
        memcpy(&a, q + d, sizeof a);
        memcpy(&b, k + d, sizeof b);
        acc += a * b;
    }
    float r = 0.0f;
    for (int j = 0; j < 8; j++) r += acc[j];
    for (; d < D; d++) r += q[d] * k[d];
    return r;
}

/* Scores of rows r0..r0+n-1 of head h (query stride H*D) against keys
 * slo..smax-1 of kv head g into att (stride S, absolute key columns): 8
 * keys at a time, transposed into kt (D x 8), each query's 8 dot products
 * accumulated side by side. */
static void scores(const atask *a, float *att, float *kt, size_t h, size_t g, size_t r0, size_t n,
                   size_t slo, size_t smax) {
    const wd_model *m = a->ctx->m;
    const size_t D = m->D, KV = m->KV, HD = m->H * m->D, S = a->S;
    if (n == 1) { /* decoding: one query, no tile to share */
        const float *q = a->ctx->q + r0 * HD + h * D;
        for (size_t s = slo; s < smax; s++) att[s] = dot(q, a->K + (s * KV + g) * D, D) * a->scale;
        return;
    }
    for (size_t s0 = slo; s0 < smax; s0 += KT) {
        size_t nk = smax - s0 < KT ? smax - s0 : KT;
        for (size_t j = 0; j < KT; j++) {
            const float *k = a->K + ((s0 + (j < nk ? j : 0)) * KV + g) * D;
            for (size_t d = 0; d < D; d++) kt[d * KT + j] = k[d];
        }
        for (size_t t = 0; t < n; t++) {
            const float *q = a->ctx->q + (r0 + t) * HD + h * D;
            /* four chains over d: one would wait on each multiply-add
             * (fused: CMakeLists.txt builds this file with -ffp-contract=fast) */
            v8 c[4] = {{0}};
            size_t d = 0;
            for (; d + 4 <= D; d += 4)
                for (int k = 0; k < 4; k++) {
                    v8 k8;
                    memcpy(&k8, kt + (d + k) * KT, sizeof k8);
                    c[k] += q[d + k] * k8;
                }
            for (; d < D; d++) {
                v8 k8;
                memcpy(&k8, kt + d * KT, sizeof k8);
                c[0] += q[d] * k8;
            }
            v8 acc = ((c[0] + c[1]) + (c[2] + c[3])) * a->scale;
            float *row = att + t * S + s0;
            if (nk == KT)
                memcpy(row, &acc, sizeof acc);
            else
                for (size_t j = 0; j < nk; j++) row[j] = acc[j];
        }
    }
}

static void attend_units(void *p, int ith, int nth) {
    const atask *a = p;
    wd_context *ctx = a->ctx;
    const wd_model *m = ctx->m;
    const size_t H = m->H, D = m->D, KV = m->KV, HD = H * D, S = a->S, P = a->P, rep = H / KV;
    const size_t nblk = (a->T + RB - 1) / RB;
    const size_t rows = ctx->n_batch < RB ? ctx->n_batch : RB; /* kvcache.c sized att so */
    float *att = ctx->att + (size_t)ith * rows * ctx->n_ctx;
    float *kt = ctx->att_kt + (size_t)ith * D * KT;
    size_t lo, hi;
    wd__split(H * nblk, ith, nth, &lo, &hi);
    for (size_t u = lo; u < hi; u++) {
        size_t h = u / nblk, g = h / rep, r0 = (u % nblk) * RB;
        /* the keys some row of the block sees: [slo, smax) */
        size_t n = a->T - r0 < RB ? a->T - r0 : RB, smax = P + r0 + n;
        size_t slo = !a->br && a->window && P + r0 + 1 > a->window ? P + r0 + 1 - a->window : 0;
        scores(a, att, kt, h, g, r0, n, slo, smax);
        if (m->attn_softcap > 0)
            for (size_t t = 0; t < n; t++) wd__softcap(att + t * S + slo, smax - slo, m->attn_softcap);
        if (a->br)
            branch_softmax(att, r0, n, S, P, a->br);
        else
            masked_softmax(att, n, S, P + r0, a->window);
        /* out rows t and t+1 together: each 32 values of V loaded once for
         * two rows, eight accumulation chains instead of four */
        for (size_t t = 0; t < n; t += 2) {
            const size_t t1 = t + 1 < n ? t + 1 : t; /* a last odd row done twice, stored once */
            const float *p0 = att + t * S, *p1 = att + t1 * S;
            float *o0 = ctx->ao + (r0 + t) * HD + h * D, *o1 = ctx->ao + (r0 + t1) * HD + h * D;
            size_t d0 = 0;
            for (; d0 + 4 * 8 <= D; d0 += 4 * 8) { /* 2 x 32 outputs in registers over all keys */
                v8 a0[4] = {{0}}, a1[4] = {{0}};
                for (size_t s = slo; s < smax; s++) {
                    const float *v = a->V + (s * KV + g) * D + d0;
                    for (int k = 0; k < 4; k++) {
                        v8 v8k;
                        memcpy(&v8k, v + 8 * k, sizeof v8k);
                        a0[k] += p0[s] * v8k;
                        a1[k] += p1[s] * v8k;
                    }
                }
                memcpy(o0 + d0, a0, sizeof a0);
                memcpy(o1 + d0, a1, sizeof a1);
            }
            for (size_t d = d0; d < D; d++) {
                float s0 = 0.0f, s1 = 0.0f;
                for (size_t s = slo; s < smax; s++) {
                    float v = a->V[(s * KV + g) * D + d];
                    s0 += p0[s] * v, s1 += p1[s] * v;
                }
                o0[d] = s0, o1[d] = s1;
            }
        }
    }
}

void wd__decoder_attention(wd_context *ctx, size_t l, size_t T, const wd__branches *br) {
    wd_model *m = ctx->m;
    size_t KV = m->KV, D = m->D, P = ctx->n_past, S = P + T;
    int64_t lw = wd__config_layer_window(m->cfg, (int64_t)l);
    size_t window = lw > 0 ? (size_t)lw : 0;
    if (window >= S) window = 0;
    atask a = {ctx, ctx->k_cache + l * ctx->n_ctx * KV * D, ctx->v_cache + l * ctx->n_ctx * KV * D, br,
               T, S, P, window, m->attn_scale};
    wd__parallel_for(m->tp, attend_units, &a, m->H * T * S * D * 2);
}
