/*
 * model/modernbert.c - the ModernBERT encoder, following Hugging Face's
 * ModernBertModel and ModernBertForSequenceClassification
 * (modeling_modernbert.py):
 *
 *     x = norm(tok_embeddings[ids])              no position table, no token types
 *     for layer l (pre-LN):
 *         h = l == 0 ? x : attn_norm(x)          layer 0's attn_norm is an Identity
 *         q | k | v = h Wqkv^T                   one fused (3C, C) matrix
 *         q, k rotated (rotate-half) with global_rope_theta when l is global
 *                                          (l % global_attn_every_n_layers == 0),
 *                                          local_rope_theta otherwise
 *         a = softmax(q k^T / sqrt(D) + mask) v   global: every token sees every
 *                                          token; local: key j is seen from query i
 *                                          only when |i - j| <= local_attention / 2
 *         x = x + a Wo^T
 *         input | gate = mlp_norm(x) Wi^T        (2F, C): first F rows, then F
 *         x = x + (act(input) * gate) Wo^T       GeGLU, act = hidden_activation
 *     x = final_norm(x)                          the last hidden state
 *     head: p = x[0] (classifier_pooling "cls") or the mean of the rows ("mean")
 *           logits = classifier(head.norm(act(head.dense(p))))
 *                                          act = classifier_activation
 *
 * Every norm is a LayerNorm with eps norm_eps, without bias unless norm_bias;
 * linear layers have biases only when attention_bias / mlp_bias /
 * classifier_bias say so (classifier itself always has one).
 *
 * Padding: Hugging Face masks padded keys and mean-pools over the unpadded
 * tokens; the input here is one unpadded sequence, so its attention mask is
 * all ones, the only mask is the local window, and the mean is over all n
 * tokens. Positions are 0..n-1 (HF's default position_ids).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

/* Attention of one layer over h (T,C) into ctx->ao (T,C); cos/sin (T,D/2)
 * the layer's rope table; half < 0: global, else the local half-window. */
static void attention(wd_context *ctx, const wd__mbert_layer *y, const float *h, size_t T,
                      const float *cos, const float *sin, long half) {
    wd_model *m = ctx->m;
    size_t C = m->C, H = m->H, D = m->D;
    const float *bq = y->bqkv, *bk = y->bqkv ? y->bqkv + C : NULL, *bv = y->bqkv ? y->bqkv + 2 * C : NULL;
    wd_op_matmul_fwd(ctx->q, h, y->wqkv, bq, T, C, C);
    wd_op_matmul_fwd(ctx->k, h, y->wqkv + C * C, bk, T, C, C);
    wd_op_matmul_fwd(ctx->v, h, y->wqkv + 2 * C * C, bv, T, C, C);
    wd_op_rope_fwd(ctx->q, ctx->q, cos, sin, T, H, D, WD_ROPE_LAYOUT_HALF, m->tp);
    wd_op_rope_fwd(ctx->k, ctx->k, cos, sin, T, H, D, WD_ROPE_LAYOUT_HALF, m->tp);
    float scale = 1.0f / sqrtf((float)D);
    for (size_t hh = 0; hh < H; hh++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, scale,
                    ctx->q + hh * D, (int)C, ctx->k + hh * D, (int)C, 0.0f, ctx->att, (int)T);
        if (half >= 0)
            for (size_t i = 0; i < T; i++)
                for (size_t j = 0; j < T; j++)
                    if ((i > j ? i - j : j - i) > (size_t)half) ctx->att[i * T + j] = -INFINITY;
        wd_op_softmax_fwd(ctx->att, ctx->att, T, T, m->tp);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f,
                    ctx->att, (int)T, ctx->v + hh * D, (int)C, 0.0f, ctx->ao + hh * D, (int)C);
    }
}

wd_status wd__modernbert_run(wd_context *ctx, const int32_t *ids, size_t T) {
    wd_model *m = ctx->m;
    const wd_model_config *c = m->cfg;
    wd_threadpool *tp = m->tp;
    size_t C = m->C, D = m->D, F = m->F, D2 = D / 2;
    wd_status rc = wd_op_embedding_fwd(ctx->xn, ids, m->word_embd, T, C, m->V, tp);
    if (rc) return wd__err_set(&m->err, rc, "encode: token id out of range [0, %zu)", m->V);
    wd_op_layernorm_fwd(ctx->x, ctx->stat2, ctx->stat1, ctx->xn, m->embd_ln_w, m->embd_ln_b, T, C,
                        m->eps, tp);
    /* rope tables: rows 0..T-1 for the global layers, then for the local ones */
    for (size_t t = 0; t < T; t++) ctx->pos[t] = (int32_t)t;
    float *gcos = ctx->rcos, *gsin = ctx->rsin, *lcos = ctx->rcos + T * D2, *lsin = ctx->rsin + T * D2;
    wd_rope_table(gcos, gsin, m->inv_freq, ctx->pos, T, D);
    wd_rope_table(lcos, lsin, m->inv_freq_local, ctx->pos, T, D);
    long half = (long)(c->local_attention / 2);
    for (size_t l = 0; l < m->L; l++) {
        const wd__mbert_layer *y = &m->mbert[l];
        bool global = l % (size_t)c->global_attn_every_n_layers == 0;
        const float *h = ctx->x;
        if (y->attn_norm_w) {
            wd_op_layernorm_fwd(ctx->xn, ctx->stat2, ctx->stat1, ctx->x, y->attn_norm_w,
                                y->attn_norm_b, T, C, m->eps, tp);
            h = ctx->xn;
        }
        attention(ctx, y, h, T, global ? gcos : lcos, global ? gsin : lsin, global ? -1 : half);
        wd_op_matmul_fwd(ctx->xn, ctx->ao, y->wo, y->bo, T, C, C);
        wd_op_residual_fwd(ctx->x, ctx->x, ctx->xn, T * C, tp);
        /* GeGLU: Wi's first F rows give the input, the last F the gate */
        wd_op_layernorm_fwd(ctx->xn, ctx->stat2, ctx->stat1, ctx->x, y->mlp_norm_w, y->mlp_norm_b,
                            T, C, m->eps, tp);
        wd_op_matmul_fwd(ctx->ff1, ctx->xn, y->wi, y->bi, T, C, F);
        wd_op_matmul_fwd(ctx->ff2, ctx->xn, y->wi + F * C, y->bi ? y->bi + F : NULL, T, C, F);
        wd__encoder_activation(ctx->ff1, T * F, c->hidden_act, tp);
        for (size_t i = 0; i < T * F; i++) ctx->ff1[i] *= ctx->ff2[i];
        wd_op_matmul_fwd(ctx->xn, ctx->ff1, y->w_out, y->b_out, T, F, C);
        wd_op_residual_fwd(ctx->x, ctx->x, ctx->xn, T * C, tp);
    }
    wd_op_layernorm_fwd(ctx->xn, ctx->stat2, ctx->stat1, ctx->x, m->final_norm_w, m->final_norm_b,
                        T, C, m->eps, tp);
    memcpy(ctx->x, ctx->xn, T * C * sizeof(float));
    return WD_OK;
}

void wd__modernbert_head(wd_context *ctx, size_t T, float *logits) {
    wd_model *m = ctx->m;
    size_t C = m->C;
    const float *pooled = ctx->x; /* cls: row 0 */
    if (m->cfg->classifier_mean) {
        for (size_t c = 0; c < C; c++) {
            double s = 0.0;
            for (size_t t = 0; t < T; t++) s += ctx->x[t * C + c];
            ctx->hid2[c] = (float)(s / (double)T);
        }
        pooled = ctx->hid2;
    }
    wd_op_matmul_fwd(ctx->hid, pooled, m->head_dense_w, m->head_dense_b, 1, C, C);
    wd__encoder_activation(ctx->hid, C, m->cfg->classifier_act, m->tp);
    wd_op_layernorm_fwd(ctx->hid2, ctx->stat2, ctx->stat1, ctx->hid, m->head_norm_w,
                        m->head_norm_b, 1, C, m->eps, m->tp);
    wd_op_matmul_fwd(logits, ctx->hid2, m->head_out_w, m->head_out_b, 1, C, m->n_labels);
}
