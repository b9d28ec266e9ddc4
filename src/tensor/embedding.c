/*
 * tensor/embedding.c - token embedding lookup (nn.Embedding) and its
 * scatter-add backward.
 *
 *     out[n]      = w[ids[n]]            w (V,C), a row per vocabulary entry
 *     dw[ids[n]] += dout[n]
 *
 * Ids come from data (a tokenizer, a file), so they are checked: an id
 * outside [0, V) fails the call with WD_ERR_RANGE before anything is
 * written. The forward splits rows over threads; the backward splits the
 * C columns, so that repeated ids never race and every dw element is summed
 * in row order whatever the number of threads.
 */
#include <string.h>

#include "base/err.h"
#include "tensor/threads.h"

typedef struct emb_args {
    float *out;
    const float *w;
    const int32_t *ids;
    size_t N, C;
} emb_args;

static wd_status check_ids(const int32_t *ids, size_t N, size_t V) {
    for (size_t n = 0; n < N; n++)
        if (ids[n] < 0 || (size_t)ids[n] >= V)
            return wd__fail(WD_ERR_RANGE, "embedding: id %d at position %zu is outside [0, %zu)",
                            (int)ids[n], n, V);
    return WD_OK;
}

static void fwd_task(void *p, int ith, int nth) {
    const emb_args *a = p;
    size_t n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++)
        memcpy(a->out + n * a->C, a->w + (size_t)a->ids[n] * a->C, a->C * sizeof(float));
}

wd_status wd_op_embedding_fwd(float *out, const int32_t *ids, const float *w, size_t N,
                              size_t C, size_t V, wd_threadpool *tp) {
    // out (N,C), ids (N), w (V,C)
    wd_status st = check_ids(ids, N, V);
    if (st) return st;
    emb_args a = {.out = out, .w = w, .ids = ids, .N = N, .C = C};
    wd__parallel_for(tp, fwd_task, &a, N * C);
    return WD_OK;
}

wd_status wd_op_embedding_fwd_ref(float *out, const int32_t *ids, const float *w, size_t N,
                                  size_t C, size_t V) {
    // out (N,C), ids (N), w (V,C)
    wd_status st = check_ids(ids, N, V);
    if (st) return st;
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) out[n * C + c] = w[(size_t)ids[n] * C + c];
    return WD_OK;
}

static void bwd_task(void *p, int ith, int nth) {
    const emb_args *a = p; /* out is dw, w is dout here */
    size_t C = a->C, c0, c1;
    wd__split(C, ith, nth, &c0, &c1);
    for (size_t n = 0; n < a->N; n++) {
        float *dst = a->out + (size_t)a->ids[n] * C;
        const float *src = a->w + n * C;
        for (size_t c = c0; c < c1; c++) dst[c] += src[c];
    }
}

wd_status wd_op_embedding_bwd(float *dw, const float *dout, const int32_t *ids, size_t N,
                              size_t C, size_t V, wd_threadpool *tp) {
    // dw (V,C) +=, dout (N,C), ids (N)
    wd_status st = check_ids(ids, N, V);
    if (st) return st;
    emb_args a = {.out = dw, .w = dout, .ids = ids, .N = N, .C = C};
    wd__parallel_for(tp, bwd_task, &a, N * C);
    return WD_OK;
}

wd_status wd_op_embedding_bwd_ref(float *dw, const float *dout, const int32_t *ids, size_t N,
                                  size_t C, size_t V) {
    // dw (V,C) +=, dout (N,C), ids (N)
    wd_status st = check_ids(ids, N, V);
    if (st) return st;
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) dw[(size_t)ids[n] * C + c] += dout[n * C + c];
    return WD_OK;
}
