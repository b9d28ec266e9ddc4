/*
 * model/kvcache.c - a context's memory, planned once: the KV cache and every
 * work buffer of the forward pass (llama2.c's RunState), so a forward pass
 * never allocates.
 *
 * Layout of the cache (decoders): one K and one V block per layer, each
 * (n_ctx, KV, D) row-major, the token at position p in row p:
 *
 *     k_cache: | layer 0: pos 0 | pos 1 | ... | pos n_ctx-1 | layer 1: ... |
 *                        [KV*D]  [KV*D]
 *
 * Positions are absolute: row p was computed with RoPE angle p, so a prefix
 * of rows is valid on its own whatever follows it.
 *
 * Prefix sharing is by copy: wd_context_copy_prefix(dst, src, n) copies rows
 * 0..n-1 of every layer's K and V from src into dst and sets dst's n_past
 * to n. Continuing dst from there never touches src:
 *
 *     src:  [ system prompt + policy | text A ........ ]
 *                      | copy n rows (memcpy, 2*L*n*KV*D floats)
 *                      v
 *     dst1: [ system prompt + policy | text B ... ]
 *     dst2: [ system prompt + policy | text C ....... ]
 *
 * Copying costs 2*L*n*KV*D*4 bytes of memory traffic against the
 * 2*n*params FLOPs of recomputing the prefix -- for a 1B model and n = 512
 * about 16 MB against 1 TFLOP -- and keeps every context independent (no
 * reference counts, each one can be used by its own thread).
 * wd_context_truncate() rewinds a context to a prefix of itself (erase-and-
 * check deletes suffixes that way).
 */
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

wd_context_params wd_context_params_default(void) {
    wd_context_params p = {.n_ctx = 0, .n_batch = 0};
    return p;
}

static float *fbuf(size_t n, size_t *total) {
    *total += n * sizeof(float);
    return malloc((n ? n : 1) * sizeof(float));
}

wd_status wd_context_new(wd_model *m, const wd_context_params *params, wd_context **out) {
    if (out) *out = NULL;
    if (!m || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_context_new: NULL argument");
    wd_context_params p = params ? *params : wd_context_params_default();
    size_t n_ctx = p.n_ctx ? p.n_ctx : (m->n_pos < 2048 ? m->n_pos : 2048);
    if (n_ctx > m->n_pos || n_ctx == 0)
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG,
                           "wd_context_new: n_ctx %zu exceeds the model's %zu positions", n_ctx,
                           m->n_pos);
    size_t n_batch = p.n_batch ? p.n_batch : (n_ctx < 512 ? n_ctx : 512);
    bool dec = wd__model_is_decoder(m);
    if (!dec) n_batch = n_ctx; /* an encoder sees the whole input at once */
    if (n_batch > n_ctx) n_batch = n_ctx;
    wd_context *c = calloc(1, sizeof *c);
    if (!c) return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    c->m = m;
    c->n_ctx = n_ctx;
    c->n_batch = n_batch;
    size_t T = n_batch, C = m->C, tot = 0;
    size_t HD = dec ? m->H * m->D : C, F = m->F;
    if (dec) {
        size_t kv = m->L * n_ctx * m->KV * m->D;
        c->k_cache = fbuf(kv, &tot);
        c->v_cache = fbuf(kv, &tot);
        c->kv_bytes = tot;
        c->rcos = fbuf(T * m->D / 2, &tot);
        c->rsin = fbuf(T * m->D / 2, &tot);
    } else {
        c->k = fbuf(T * C, &tot);
        c->v = fbuf(T * C, &tot);
    }
    /* ModernBERT: rope tables for its global and its local layers, one after
     * the other, and the GeGLU gate */
    bool mbert = m->mbert != NULL;
    if (mbert) {
        c->rcos = fbuf(2 * T * m->D / 2, &tot);
        c->rsin = fbuf(2 * T * m->D / 2, &tot);
    }
    c->x = fbuf(T * C, &tot);
    c->xn = fbuf(T * C, &tot);
    c->q = fbuf(T * HD, &tot);
    size_t nth = m->tp ? (size_t)wd_threadpool_n_threads(m->tp) : 1;
    /* encoders: one head's (T, n_ctx) scores; decoders: each pool thread's
     * block of query rows (attention.c) */
    size_t att_rows = dec ? nth * (T < WD_ATTN_ROWS ? T : WD_ATTN_ROWS) : T;
    c->att = fbuf(att_rows * n_ctx, &tot);
    c->att_kt = dec ? fbuf(nth * m->D * WD_ATTN_KEYS, &tot) : NULL;
    c->ao = fbuf(T * HD, &tot);
    c->ff1 = fbuf(T * F, &tot);
    c->ff2 = fbuf(dec || mbert ? T * F : 1, &tot);
    c->stat1 = fbuf(T, &tot);
    c->stat2 = fbuf(T, &tot);
    c->logits = fbuf(m->V > m->n_labels ? m->V : m->n_labels + 1, &tot);
    c->hid = fbuf(C, &tot);
    c->hid2 = fbuf(C, &tot);
    c->pos = malloc(T * sizeof *c->pos);
    tot += T * sizeof *c->pos;
    /* per-head q/k norms' cache; Gemma 3's second rotary table */
    c->stat_h = dec ? fbuf(T * m->H, &tot) : NULL;
    if (dec && m->inv_freq_local) {
        c->rcos_local = fbuf(T * m->D / 2, &tot);
        c->rsin_local = fbuf(T * m->D / 2, &tot);
    }
    bool deb_ok = !m->deb || wd__deberta_work_new(c, &tot) == WD_OK;
    c->bytes = tot;
    bool ok = deb_ok && c->x && c->xn && c->q && c->att && c->ao && c->ff1 && c->ff2 && c->stat1 &&
              c->stat2 && c->logits && c->hid && c->hid2 && c->pos &&
              (dec ? c->k_cache && c->v_cache && c->rcos && c->rsin : c->k && c->v) &&
              (!mbert || (c->rcos && c->rsin));
    ok = ok && (!dec || (c->stat_h && c->att_kt)) &&
         (!dec || !m->inv_freq_local || (c->rcos_local && c->rsin_local));
    if (!ok) {
        wd_context_free(c);
        return wd__err_set(&m->err, WD_ERR_NOMEM,
                           "wd_context_new: out of memory (%zu bytes for n_ctx %zu)", tot, n_ctx);
    }
    *out = c;
    return WD_OK;
}

void wd_context_free(wd_context *c) {
    if (!c) return;
    free(c->k_cache);
    free(c->v_cache);
    free(c->x);
    free(c->xn);
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->att);
    free(c->att_kt);
    free(c->ao);
    free(c->ff1);
    free(c->ff2);
    free(c->rcos);
    free(c->rsin);
    free(c->pos);
    free(c->stat1);
    free(c->stat2);
    free(c->logits);
    free(c->hid);
    free(c->hid2);
    free(c->stat_h);
    free(c->rcos_local);
    free(c->rsin_local);
    wd__deberta_work_free(c->deb);
    free(c);
}

wd_model *wd_context_model(const wd_context *c) { return c ? c->m : NULL; }
size_t wd_context_n_ctx(const wd_context *c) { return c ? c->n_ctx : 0; }
size_t wd_context_n_past(const wd_context *c) { return c ? c->n_past : 0; }
size_t wd_context_kv_bytes(const wd_context *c) { return c ? c->kv_bytes : 0; }
size_t wd_context_bytes(const wd_context *c) { return c ? c->bytes : 0; }

const float *wd_context_logits(const wd_context *c) {
    return c && c->has_logits ? c->logits : NULL;
}

wd_status wd_context_truncate(wd_context *c, size_t n) {
    if (!c) return wd__fail(WD_ERR_INVALID_ARG, "wd_context_truncate: NULL context");
    if (n > c->n_past)
        return wd__err_set(&c->m->err, WD_ERR_RANGE,
                           "wd_context_truncate: %zu tokens requested, the context holds %zu", n,
                           c->n_past);
    if (n < c->n_past) c->has_logits = false;
    c->n_past = n;
    return WD_OK;
}

wd_status wd_context_copy_prefix(wd_context *dst, const wd_context *src, size_t n) {
    if (!dst || !src) return wd__fail(WD_ERR_INVALID_ARG, "wd_context_copy_prefix: NULL context");
    wd_model *m = dst->m;
    if (src->m != m || !wd__model_is_decoder(m))
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG,
                           "wd_context_copy_prefix: contexts of different models, or an encoder");
    if (dst == src) return wd_context_truncate(dst, n);
    if (n > src->n_past || n > dst->n_ctx)
        return wd__err_set(&m->err, WD_ERR_RANGE,
                           "wd_context_copy_prefix: %zu tokens requested, source holds %zu, "
                           "destination fits %zu",
                           n, src->n_past, dst->n_ctx);
    size_t row = m->KV * m->D;
    for (size_t l = 0; l < m->L; l++) {
        memcpy(dst->k_cache + l * dst->n_ctx * row, src->k_cache + l * src->n_ctx * row,
               n * row * sizeof(float));
        memcpy(dst->v_cache + l * dst->n_ctx * row, src->v_cache + l * src->n_ctx * row,
               n * row * sizeof(float));
    }
    dst->n_past = n;
    dst->has_logits = false;
    if (n == src->n_past && src->has_logits) {
        memcpy(dst->logits, src->logits, m->V * sizeof(float));
        dst->has_logits = true;
    }
    return WD_OK;
}
