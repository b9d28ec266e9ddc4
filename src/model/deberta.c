/*
 * model/deberta.c - DeBERTa-v2/v3 (model_type "deberta-v2"), following
 * Hugging Face's DebertaV2Model and DebertaV2ForSequenceClassification
 * (He et al. 2021, "DeBERTa: Decoding-enhanced BERT with Disentangled
 * Attention"; DeBERTa-v3 keeps the v2 encoder). Meta's Prompt Guard 1
 * (mDeBERTa-v3-base) and Prompt Guard 2 are this model.
 *
 *     e = word[ids] (+ pos[t] if position_biased_input) (+ type[0] if token types)
 *     x = LN(e embed_proj^T)        (embed_proj only when embedding_size != hidden)
 *     rel = LN_rel(rel_embeddings)  (LN_rel only when norm_rel_ebd has "layer_norm")
 *     each layer, post-LN as BERT's:
 *         s(i,j) = [q_i.k_j + q_i.pk[r(i,j)] (c2p) + k_j.pq[r(i,j)] (p2c)] / sqrt(D f)
 *         x = LN1(x + softmax_j(s) v Wo^T + bo);   x = LN2(x + FFN(x))
 *     logits = classifier(act(pooler.dense(x[0])))            (ContextPooler)
 *
 * f = 1 + the number of pos_att_type entries (it counts even without
 * relative_attention, as in HF). pk = rel Wk^T + bk, pq = rel Wq^T + bq
 * with the layer's own key_proj / query_proj when share_att_key, its
 * pos_key_proj / pos_query_proj otherwise. The relative index is
 *
 *     r(i,j) = clamp(bucket(i - j) + S, 0, 2S - 1),
 *     S = position_buckets, or max_relative_positions without buckets;
 *     bucket(d) = d when |d| <= mid = position_buckets / 2, else
 *       sign(d) (ceil(log(|d| / mid) / log((max_relative_positions - 1) / mid) (mid - 1)) + mid)
 *
 * (make_log_bucket_position). The logarithm is taken in float32 as HF
 * takes it (torch's default dtype), so ceil lands where HF's does. HF
 * gathers p2c at clamp(S - bucket(j - i)); bucket is odd, so that is
 * r(i,j) too.
 *
 * r(i,j) grows with i - j, so a sequence of T tokens reaches only the rows
 * r(0, T-1) .. r(T-1, 0) of rel (at most 2T - 1 of them with Prompt Guard's
 * buckets, whose steps are 0 or 1): only those are normed and projected (projecting all 2S rows of every layer would cost more than
 * the rest of a short prompt's forward pass). The input is one unpadded
 * sequence, so the attention and embedding masks are all ones.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

/* Relative-position projections of one layer when share_att_key is false. */
typedef struct deb_layer {
    const float *pk_w, *pk_b; /* pos_key_proj   (C,C) (C), c2p */
    const float *pq_w, *pq_b; /* pos_query_proj (C,C) (C), p2c */
} deb_layer;

struct wd__deberta {
    size_t       E;             /* embedding_size                      */
    const float *embed_proj;    /* (C,E), NULL when E == C             */
    size_t       S;             /* attention span: rel has 2S rows     */
    const float *rel;           /* (2S,C) rel_embeddings, NULL without relative attention */
    const float *rel_ln_w, *rel_ln_b; /* (C), NULL without norm_rel_ebd layer_norm */
    deb_layer   *lay;           /* (L)                                 */
};

/* A context's buffers, T = n_ctx, R = 2S rows of rel at most. */
struct wd__deberta_work {
    float   *emb;            /* (T,E) embeddings before embed_proj, or NULL */
    int32_t *ridx;           /* (T,T) r(i,j) - r_lo                        */
    int32_t *by_delta;       /* (2T-1) r at distance i - j = delta, delta + T - 1 */
    float   *rel;            /* (R,C) the rows r_lo.. of rel, normed       */
    float   *pk, *pq;        /* (R,C) their key / query projections        */
    float   *c2p, *p2c;      /* (T,R) one head's q pk^T and k pq^T         */
    float   *stat1, *stat2;  /* (R) layernorm caches                       */
};

#define TRY(x)                   \
    do {                         \
        wd_status rc_ = (x);     \
        if (rc_) return rc_;     \
    } while (0)

/* ==== loading =========================================================== */

void wd__deberta_free(struct wd__deberta *d) {
    if (!d) return;
    free(d->lay);
    free(d);
}

wd_status wd__deberta_bind(wd_model *m) {
    const wd_model_config *c = m->cfg;
    const struct wd__deberta_config *dc = &c->deberta;
    int64_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size,
            E = dc->embedding_size;
    struct wd__deberta *d = calloc(1, sizeof *d);
    if (!d) return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    m->deb = d;
    d->E = (size_t)E;
    d->S = (size_t)(dc->position_buckets > 0 ? dc->position_buckets : dc->max_relative_positions);
    m->enc = calloc((size_t)c->n_layer, sizeof *m->enc);
    d->lay = calloc((size_t)c->n_layer, sizeof *d->lay);
    if (!m->enc || !d->lay) return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    /* DebertaV2ForSequenceClassification's base_model_prefix is "deberta";
     * a bare DebertaV2Model has none */
    char pre[16] = "deberta.", n[256];
    if (!wd_checkpoint_find(m->ck, "deberta.embeddings.word_embeddings.weight")) pre[0] = '\0';
#define B(name, d0, d1, req, out)                                                          \
    TRY(wd__model_bind(m, (snprintf(n, sizeof n, "%s%s", pre, name), n), d0, d1, req, out))
    B("embeddings.word_embeddings.weight", V, E, true, &m->word_embd);
    if (dc->position_biased_input)
        B("embeddings.position_embeddings.weight", c->max_position_embeddings, E, true,
          &m->pos_embd);
    if (c->type_vocab_size > 0)
        B("embeddings.token_type_embeddings.weight", c->type_vocab_size, E, true, &m->type_embd);
    if (E != C) B("embeddings.embed_proj.weight", C, E, true, &d->embed_proj);
    B("embeddings.LayerNorm.weight", C, 0, true, &m->embd_ln_w);
    B("embeddings.LayerNorm.bias", C, 0, true, &m->embd_ln_b);
    if (dc->relative_attention) {
        B("encoder.rel_embeddings.weight", (int64_t)(2 * d->S), C, true, &d->rel);
        if (dc->norm_rel_layer_norm) {
            B("encoder.LayerNorm.weight", C, 0, true, &d->rel_ln_w);
            B("encoder.LayerNorm.bias", C, 0, true, &d->rel_ln_b);
        }
    }
    bool pos_k = dc->relative_attention && !dc->share_att_key && dc->c2p;
    bool pos_q = dc->relative_attention && !dc->share_att_key && dc->p2c;
    for (int64_t l = 0; l < c->n_layer; l++) {
        wd__enc_layer *y = &m->enc[l];
        deb_layer *z = &d->lay[l];
        char lp[64];
        snprintf(lp, sizeof lp, "encoder.layer.%lld.", (long long)l);
#define BL(s, d0, d1, req, out)                                                                \
    TRY(wd__model_bind(m, (snprintf(n, sizeof n, "%s%s%s", pre, lp, s), n), d0, d1, req, out))
        BL("attention.self.query_proj.weight", C, C, true, &y->wq);
        BL("attention.self.query_proj.bias", C, 0, true, &y->bq);
        BL("attention.self.key_proj.weight", C, C, true, &y->wk);
        BL("attention.self.key_proj.bias", C, 0, true, &y->bk);
        BL("attention.self.value_proj.weight", C, C, true, &y->wv);
        BL("attention.self.value_proj.bias", C, 0, true, &y->bv);
        if (pos_k) {
            BL("attention.self.pos_key_proj.weight", C, C, true, &z->pk_w);
            BL("attention.self.pos_key_proj.bias", C, 0, true, &z->pk_b);
        }
        if (pos_q) {
            BL("attention.self.pos_query_proj.weight", C, C, true, &z->pq_w);
            BL("attention.self.pos_query_proj.bias", C, 0, true, &z->pq_b);
        }
        BL("attention.output.dense.weight", C, C, true, &y->wo);
        BL("attention.output.dense.bias", C, 0, true, &y->bo);
        BL("attention.output.LayerNorm.weight", C, 0, true, &y->ln1_w);
        BL("attention.output.LayerNorm.bias", C, 0, true, &y->ln1_b);
        BL("intermediate.dense.weight", F, C, true, &y->w_in);
        BL("intermediate.dense.bias", F, 0, true, &y->b_in);
        BL("output.dense.weight", C, F, true, &y->w_out);
        BL("output.dense.bias", C, 0, true, &y->b_out);
        BL("output.LayerNorm.weight", C, 0, true, &y->ln2_w);
        BL("output.LayerNorm.bias", C, 0, true, &y->ln2_b);
#undef BL
        if (dc->share_att_key) {
            z->pk_w = y->wk, z->pk_b = y->bk;
            z->pq_w = y->wq, z->pq_b = y->bq;
        }
    }
#undef B
    /* The head, when the architecture (or, without architectures, the
     * checkpoint) says there is one: ContextPooler then classifier. */
    bool seqcls = strstr(c->architecture, "ForSequenceClassification") != NULL ||
                  (!c->architecture[0] && wd_checkpoint_find(m->ck, "classifier.weight"));
    if (!seqcls) return WD_OK;
    int64_t NL = c->num_labels;
    m->head = WD_HEAD_DEBERTA;
    m->n_labels = (size_t)NL;
    TRY(wd__model_bind(m, "pooler.dense.weight", C, C, true, &m->head_dense_w));
    TRY(wd__model_bind(m, "pooler.dense.bias", C, 0, true, &m->head_dense_b));
    TRY(wd__model_bind(m, "classifier.weight", NL, C, true, &m->head_out_w));
    TRY(wd__model_bind(m, "classifier.bias", NL, 0, true, &m->head_out_b));
    return WD_OK;
}

/* ==== a context's buffers ================================================= */

void wd__deberta_work_free(struct wd__deberta_work *w) {
    if (!w) return;
    free(w->emb);
    free(w->ridx);
    free(w->by_delta);
    free(w->rel);
    free(w->pk);
    free(w->pq);
    free(w->c2p);
    free(w->p2c);
    free(w->stat1);
    free(w->stat2);
    free(w);
}

static void *buf(size_t n, size_t size, size_t *total) {
    *total += n * size;
    return malloc((n ? n : 1) * size);
}

wd_status wd__deberta_work_new(wd_context *ctx, size_t *bytes) {
    const wd_model *m = ctx->m;
    const struct wd__deberta *d = m->deb;
    /* the rows reached are at most 2S; with Prompt Guard's buckets also at
     * most 2T - 1, but a config whose log buckets grow faster than the
     * distance (max_relative_positions just above the midpoint) skips rows */
    size_t T = ctx->n_ctx, C = m->C, R = 2 * d->S;
    struct wd__deberta_work *w = calloc(1, sizeof *w);
    if (!w) return WD_ERR_NOMEM;
    ctx->deb = w;
    bool rel = d->rel != NULL;
    if (d->embed_proj) w->emb = buf(T * d->E, sizeof(float), bytes);
    if (rel) {
        w->ridx = buf(T * T, sizeof(int32_t), bytes);
        w->by_delta = buf(2 * T - 1, sizeof(int32_t), bytes);
        w->rel = buf(R * C, sizeof(float), bytes);
        w->pk = buf(R * C, sizeof(float), bytes);
        w->pq = buf(R * C, sizeof(float), bytes);
        w->c2p = buf(T * R, sizeof(float), bytes);
        w->p2c = buf(T * R, sizeof(float), bytes);
        w->stat1 = buf(R, sizeof(float), bytes);
        w->stat2 = buf(R, sizeof(float), bytes);
    }
    bool ok = (!d->embed_proj || w->emb) &&
              (!rel || (w->ridx && w->by_delta && w->rel && w->pk && w->pq && w->c2p && w->p2c &&
                        w->stat1 && w->stat2));
    return ok ? WD_OK : WD_ERR_NOMEM;
}

/* ==== forward ============================================================= */

/* make_log_bucket_position for one distance d, in float32 as HF computes it. */
static int64_t log_bucket(int64_t d, int64_t buckets, int64_t max_position) {
    int64_t mid = buckets / 2, a = d < 0 ? -d : d;
    if (a <= mid) return d;
    float ratio = (float)a / (float)mid;
    float base = (float)((double)(max_position - 1) / (double)mid);
    float lp = ceilf(logf(ratio) / logf(base) * (float)(mid - 1)) + (float)mid;
    return d < 0 ? -(int64_t)lp : (int64_t)lp;
}

/* r(i,j) - r_lo for every pair into w->ridx (T,T); returns r_lo, and the
 * number of rows R = r_hi - r_lo + 1 in *R. */
static size_t relative_index(const struct wd__deberta *d, const wd_model_config *c,
                             struct wd__deberta_work *w, size_t T, size_t *R) {
    int64_t S = (int64_t)d->S, B = c->deberta.position_buckets;
    int64_t M = c->deberta.max_relative_positions;
    int32_t *by = w->by_delta;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int64_t delta = -(int64_t)T + 1; delta < (int64_t)T; delta++) {
        int64_t b = B > 0 ? log_bucket(delta, B, M) : delta;
        int64_t r = b + S < 0 ? 0 : b + S > 2 * S - 1 ? 2 * S - 1 : b + S;
        by[delta + (int64_t)T - 1] = (int32_t)r;
        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
    }
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j < T; j++) w->ridx[i * T + j] = by[i - j + T - 1] - (int32_t)lo;
    *R = (size_t)(hi - lo + 1);
    return (size_t)lo;
}

/* The attention of layer y for every head into ctx->ao, from ctx->q, k, v
 * (T,C); rel (R,C) are the reachable rows of the normed relative table. */
static void attention(wd_context *ctx, const wd__enc_layer *y, const deb_layer *z, size_t T,
                      size_t R) {
    const wd_model *m = ctx->m;
    const struct wd__deberta_config *dc = &m->cfg->deberta;
    struct wd__deberta_work *w = ctx->deb;
    size_t C = m->C, H = m->H, D = m->D;
    bool rel = m->deb->rel != NULL, c2p = rel && dc->c2p, p2c = rel && dc->p2c;
    float f = 1.0f + (dc->c2p ? 1.0f : 0.0f) + (dc->p2c ? 1.0f : 0.0f);
    float scale = sqrtf((float)D * f); /* HF: sqrt(float32(D) * factor), then divides */
    if (c2p) wd_op_matmul_fwd(w->pk, w->rel, z->pk_w, z->pk_b, R, C, C);
    if (p2c) wd_op_matmul_fwd(w->pq, w->rel, z->pq_w, z->pq_b, R, C, C);
    for (size_t h = 0; h < H; h++) {
        float *att = ctx->att; /* (T,T) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, 1.0f,
                    ctx->q + h * D, (int)C, ctx->k + h * D, (int)C, 0.0f, att, (int)T);
        if (c2p) /* c2p (T,R): q_i . pk_r */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)R, (int)D, 1.0f,
                        ctx->q + h * D, (int)C, w->pk + h * D, (int)C, 0.0f, w->c2p, (int)R);
        if (p2c) /* p2c (T,R): k_j . pq_r */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)R, (int)D, 1.0f,
                        ctx->k + h * D, (int)C, w->pq + h * D, (int)C, 0.0f, w->p2c, (int)R);
        for (size_t i = 0; i < T; i++) {
            float *row = att + i * T;
            const int32_t *ri = rel ? w->ridx + i * T : NULL;
            for (size_t j = 0; j < T; j++) {
                float s = row[j] / scale;
                if (c2p) s += w->c2p[i * R + (size_t)ri[j]] / scale;
                if (p2c) s += w->p2c[j * R + (size_t)ri[j]] / scale;
                row[j] = s;
            }
        }
        wd_op_softmax_fwd(att, att, T, T, m->tp);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f, att,
                    (int)T, ctx->v + h * D, (int)C, 0.0f, ctx->ao + h * D, (int)C);
    }
}

wd_status wd__deberta_run(wd_context *ctx, const int32_t *ids, size_t T) {
    wd_model *m = ctx->m;
    const struct wd__deberta *d = m->deb;
    struct wd__deberta_work *w = ctx->deb;
    wd_threadpool *tp = m->tp;
    size_t C = m->C, E = d->E;
    /* embeddings, (T,E), then embed_proj to (T,C) */
    float *e = d->embed_proj ? w->emb : ctx->x;
    wd_status rc = wd_op_embedding_fwd(e, ids, m->word_embd, T, E, m->V, tp);
    if (rc) return wd__err_set(&m->err, rc, "encode: token id out of range [0, %zu)", m->V);
    if (m->pos_embd) {
        if (T > m->n_pos)
            return wd__err_set(&m->err, WD_ERR_RANGE,
                               "encode: %zu tokens need more than the model's %zu positions", T,
                               m->n_pos);
        for (size_t t = 0; t < T; t++)
            for (size_t k = 0; k < E; k++) e[t * E + k] += m->pos_embd[t * E + k];
    }
    if (m->type_embd)
        for (size_t t = 0; t < T; t++)
            for (size_t k = 0; k < E; k++) e[t * E + k] += m->type_embd[k];
    if (d->embed_proj) wd_op_matmul_fwd(ctx->x, e, d->embed_proj, NULL, T, E, C);
    wd_op_layernorm_fwd(ctx->xn, ctx->stat2, ctx->stat1, ctx->x, m->embd_ln_w, m->embd_ln_b, T,
                        C, m->eps, tp);
    memcpy(ctx->x, ctx->xn, T * C * sizeof(float));
    /* the reachable rows of the relative table, normed once for all layers */
    size_t R = 0;
    if (d->rel) {
        size_t lo = relative_index(d, m->cfg, w, T, &R);
        if (d->rel_ln_w)
            wd_op_layernorm_fwd(w->rel, w->stat2, w->stat1, d->rel + lo * C, d->rel_ln_w,
                                d->rel_ln_b, R, C, m->eps, tp);
        else
            memcpy(w->rel, d->rel + lo * C, R * C * sizeof(float));
    }
    for (size_t l = 0; l < m->L; l++) {
        const wd__enc_layer *y = &m->enc[l];
        wd_op_matmul_fwd(ctx->q, ctx->x, y->wq, y->bq, T, C, C);
        wd_op_matmul_fwd(ctx->k, ctx->x, y->wk, y->bk, T, C, C);
        wd_op_matmul_fwd(ctx->v, ctx->x, y->wv, y->bv, T, C, C);
        attention(ctx, y, &d->lay[l], T, R);
        wd__encoder_layer_tail(ctx, y, T); /* BERT's: output, LN, FFN, LN */
    }
    return WD_OK;
}

void wd__deberta_head(wd_context *ctx, float *logits) {
    wd_model *m = ctx->m;
    size_t C = m->C;
    float *h = ctx->hid;
    wd_op_matmul_fwd(h, ctx->x, m->head_dense_w, m->head_dense_b, 1, C, C);
    switch ((wd__pooler_act)m->cfg->deberta.pooler_act) {
    case WD_POOLER_ACT_GELU: wd_op_gelu_fwd(h, h, C, m->tp); break;
    case WD_POOLER_ACT_GELU_TANH: wd_op_gelu_tanh_fwd(h, h, C, m->tp); break;
    case WD_POOLER_ACT_SILU: wd_op_silu_fwd(h, h, C, m->tp); break;
    case WD_POOLER_ACT_RELU:
        for (size_t c = 0; c < C; c++) h[c] = h[c] > 0.0f ? h[c] : 0.0f;
        break;
    case WD_POOLER_ACT_TANH:
        for (size_t c = 0; c < C; c++) h[c] = tanhf(h[c]);
        break;
    case WD_POOLER_ACT_LINEAR: break;
    }
    wd_op_matmul_fwd(logits, h, m->head_out_w, m->head_out_b, 1, C, m->n_labels);
}
