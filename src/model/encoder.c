/*
 * model/encoder.c - the BERT-family encoder (bert, roberta, distilbert),
 * following Hugging Face's BertModel / RobertaModel / DistilBertModel and
 * their *ForSequenceClassification heads:
 *
 *     x = LN(word[ids] + pos[positions] + token_type[0])  (no token types
 *         in DistilBERT; RoBERTa counts positions from padding_idx + 1 and
 *         gives pad tokens position padding_idx)
 *     for each layer (post-LN):
 *         a = softmax(q k^T / sqrt(D)) v      every token sees every token
 *         x = LN1(x + a Wo^T + bo)
 *         x = LN2(x + act(x Win^T + bin) Wout^T + bout)    act = GELU (erf),
 *                                                          gelu_new (tanh) or relu
 *     head on x[0] ([CLS] / <s>):
 *         bert:       logits = classifier(tanh(pooler(x0)))
 *         roberta:    logits = out_proj(tanh(dense(x0)))
 *         distilbert: logits = classifier(relu(pre_classifier(x0)))
 *     probabilities = softmax(logits), or sigmoid per class when config.json
 *     says problem_type "multi_label_classification".
 *
 * xlm-roberta runs as roberta. deberta-v2 has its own forward pass and
 * head (deberta.c), reached through wd__encoder_run / wd__encoder_head.
 *
 * The input is a single unpadded sequence, so no attention mask is needed.
 * ModernBERT has its own forward pass and head (modernbert.c); encode()
 * and wd_model_classify route to it.
 * wd_model_classify also takes a decoder's *ForSequenceClassification head
 * (reward.c computes its logits).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

void wd__encoder_activation(float *x, size_t n, wd_act act, wd_threadpool *tp) {
    switch (act) {
    case WD_ACT_GELU: wd_op_gelu_fwd(x, x, n, tp); break;
    case WD_ACT_GELU_TANH: wd_op_gelu_tanh_fwd(x, x, n, tp); break;
    case WD_ACT_SILU: wd_op_silu_fwd(x, x, n, tp); break;
    case WD_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    }
}


wd_status wd__encoder_run(wd_context *ctx, const int32_t *ids, size_t T) {
    wd_model *m = ctx->m;
    if (m->deb) return wd__deberta_run(ctx, ids, T);
    wd_threadpool *tp = m->tp;
    size_t C = m->C, H = m->H, D = m->D;
    wd_status rc = wd_op_embedding_fwd(ctx->x, ids, m->word_embd, T, C, m->V, tp);
    if (rc) return wd__err_set(&m->err, rc, "encode: token id out of range [0, %zu)", m->V);
    if (wd__encoder_is_roberta(m->cfg)) {
        int32_t pad = (int32_t)m->cfg->pad_token_id, run = 0;
        for (size_t t = 0; t < T; t++) {
            bool real = ids[t] != pad;
            run += real;
            ctx->pos[t] = real ? run + pad : pad;
        }
    } else {
        for (size_t t = 0; t < T; t++) ctx->pos[t] = (int32_t)t;
    }
    rc = wd_op_embedding_fwd(ctx->xn, ctx->pos, m->pos_embd, T, C, m->n_pos, tp);
    if (rc)
        return wd__err_set(&m->err, WD_ERR_RANGE,
                           "encode: %zu tokens need more than the model's %zu positions", T,
                           m->n_pos);
    wd_op_residual_fwd(ctx->x, ctx->x, ctx->xn, T * C, tp);
    if (m->type_embd)
        for (size_t t = 0; t < T; t++)
            for (size_t c = 0; c < C; c++) ctx->x[t * C + c] += m->type_embd[c];
    wd_op_layernorm_fwd(ctx->xn, ctx->stat2, ctx->stat1, ctx->x, m->embd_ln_w, m->embd_ln_b, T,
                        C, m->eps, tp);
    memcpy(ctx->x, ctx->xn, T * C * sizeof(float));
    float scale = 1.0f / sqrtf((float)D);
    for (size_t l = 0; l < m->L; l++) {
        const wd__enc_layer *y = &m->enc[l];
        wd_op_matmul_fwd(ctx->q, ctx->x, y->wq, y->bq, T, C, C);
        wd_op_matmul_fwd(ctx->k, ctx->x, y->wk, y->bk, T, C, C);
        wd_op_matmul_fwd(ctx->v, ctx->x, y->wv, y->bv, T, C, C);
        for (size_t h = 0; h < H; h++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, scale,
                        ctx->q + h * D, (int)C, ctx->k + h * D, (int)C, 0.0f, ctx->att, (int)T);
            wd_op_softmax_fwd(ctx->att, ctx->att, T, T, tp);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f,
                        ctx->att, (int)T, ctx->v + h * D, (int)C, 0.0f, ctx->ao + h * D, (int)C);
        }
        wd__encoder_layer_tail(ctx, y, T);
    }
    return WD_OK;
}

void wd__encoder_layer_tail(wd_context *ctx, const wd__enc_layer *y, size_t T) {
    wd_model *m = ctx->m;
    wd_threadpool *tp = m->tp;
    size_t C = m->C, F = m->F;
    wd_op_matmul_fwd(ctx->xn, ctx->ao, y->wo, y->bo, T, C, C);
    wd_op_residual_fwd(ctx->xn, ctx->xn, ctx->x, T * C, tp);
    wd_op_layernorm_fwd(ctx->x, ctx->stat2, ctx->stat1, ctx->xn, y->ln1_w, y->ln1_b, T, C, m->eps, tp);
    wd_op_matmul_fwd(ctx->ff1, ctx->x, y->w_in, y->b_in, T, C, F);
    wd__encoder_activation(ctx->ff1, T * F, m->cfg->hidden_act, tp);
    wd_op_matmul_fwd(ctx->xn, ctx->ff1, y->w_out, y->b_out, T, F, C);
    wd_op_residual_fwd(ctx->xn, ctx->xn, ctx->x, T * C, tp);
    wd_op_layernorm_fwd(ctx->x, ctx->stat2, ctx->stat1, ctx->xn, y->ln2_w, y->ln2_b, T, C, m->eps, tp);
}

void wd__encoder_head(wd_context *ctx, float *logits) {
    wd_model *m = ctx->m;
    size_t C = m->C;
    if (m->head == WD_HEAD_DEBERTA) {
        wd__deberta_head(ctx, logits);
        return;
    }
    wd_op_matmul_fwd(ctx->hid, ctx->x, m->head_dense_w, m->head_dense_b, 1, C, C);
    for (size_t c = 0; c < C; c++)
        ctx->hid[c] = m->head == WD_HEAD_DISTILBERT ? (ctx->hid[c] > 0 ? ctx->hid[c] : 0.0f)
                                                    : tanhf(ctx->hid[c]);
    wd_op_matmul_fwd(logits, ctx->hid, m->head_out_w, m->head_out_b, 1, C, m->n_labels);
}

static wd_status encode(wd_context *ctx, const int32_t *ids, size_t n, const char *what) {
    wd_model *m = ctx->m;
    if (n == 0 || n > ctx->n_ctx)
        return wd__err_set(&m->err, WD_ERR_RANGE, "%s: %zu tokens (the context holds 1..%zu)",
                           what, n, ctx->n_ctx);
    ctx->n_past = 0;
    ctx->has_logits = false;
    if (m->mbert) return wd__modernbert_run(ctx, ids, n);
    return wd__encoder_run(ctx, ids, n);
}

wd_status wd_model_classify(wd_context *ctx, const int32_t *ids, size_t n, float *probs,
                            float *logits, size_t n_labels) {
    if (!ctx || !ids || !probs)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_model_classify: NULL argument");
    wd_model *m = ctx->m;
    if (m->head == WD_HEAD_NONE)
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "classify: %s has no sequence-classification head", m->dir);
    if (n_labels != m->n_labels)
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG,
                           "classify: n_labels %zu, the model has %zu", n_labels, m->n_labels);
    float *lg = ctx->logits;
    wd_status rc = m->head == WD_HEAD_SCORE ? wd_model_reward(ctx, ids, n, lg, n_labels)
                                            : encode(ctx, ids, n, "classify");
    if (rc) return rc;
    if (m->head == WD_HEAD_MODERNBERT) wd__modernbert_head(ctx, n, lg);
    else if (m->head != WD_HEAD_SCORE) wd__encoder_head(ctx, lg);
    if (logits) memcpy(logits, lg, n_labels * sizeof(float));
    if (!strcmp(m->cfg->problem_type, "multi_label_classification")) {
        for (size_t i = 0; i < n_labels; i++) probs[i] = (float)(1.0 / (1.0 + exp(-(double)lg[i])));
        return WD_OK;
    }
    double mx = -INFINITY, sum = 0.0;
    for (size_t i = 0; i < n_labels; i++) mx = lg[i] > mx ? lg[i] : mx;
    for (size_t i = 0; i < n_labels; i++) sum += exp((double)lg[i] - mx);
    for (size_t i = 0; i < n_labels; i++) probs[i] = (float)(exp((double)lg[i] - mx) / sum);
    return WD_OK;
}

wd_status wd_model_embed(wd_context *ctx, const int32_t *ids, size_t n, float *out,
                         size_t n_embd) {
    if (!ctx || !ids || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_embed: NULL argument");
    wd_model *m = ctx->m;
    size_t C = m->C;
    if (n_embd != C)
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG, "embed: n_embd %zu, the model has %zu",
                           n_embd, C);
    wd_status rc;
    if (!wd__model_is_decoder(m)) {
        if ((rc = encode(ctx, ids, n, "embed"))) return rc;
        for (size_t c = 0; c < C; c++) {
            double s = 0.0;
            for (size_t t = 0; t < n; t++) s += ctx->x[t * C + c];
            out[c] = (float)(s / (double)n);
        }
        return WD_OK;
    }
    /* decoder: mean of the final-normed hidden states, chunk by chunk */
    if (n == 0) return wd__err_set(&m->err, WD_ERR_RANGE, "embed: no tokens");
    ctx->n_past = 0;
    ctx->has_logits = false;
    for (size_t c = 0; c < C; c++) ctx->hid[c] = 0.0f;
    double inv = 1.0 / (double)n;
    for (size_t done = 0; done < n;) {
        size_t T = n - done < ctx->n_batch ? n - done : ctx->n_batch;
        if ((rc = wd_model_decode(ctx, ids + done, T, NULL, WD_LOGITS_MODE_NONE))) return rc;
        for (size_t c = 0; c < C; c++) {
            double s = 0.0;
            for (size_t t = 0; t < T; t++) s += ctx->xn[t * C + c];
            ctx->hid[c] += (float)(s * inv);
        }
        done += T;
    }
    memcpy(out, ctx->hid, C * sizeof(float));
    return WD_OK;
}
