/*
 * train/tenc.c - the trainable BERT-family encoder classifier: parameters,
 * planning, forward with saved activations, backward (see tenc.h).
 *
 * Forward (post-LN, as model/encoder.c):
 *
 *     emb = word[ids] + pos[positions] + type[0];  x = LN0(emb)
 *     per layer:  r1 = x + attn(x) Wo^T + bo;        x_mid = LN1(r1)
 *                 r2 = x_mid + act(x_mid Win^T + bin) Wout^T + bout;  x = LN2(r2)
 *     head:       hid = tanh | relu(x[row's first token] Wd^T + bd)
 *                 logits = hid Wout^T + bout
 *
 * Backward of one layer, with dres = dloss/d(layer output) (N,C):
 *
 *     dmid = LN2'(dres);  dact = dmid Wout;  dpre = act'(dact);
 *     dmid += dpre Win                          (dmid is now dloss/dx_mid)
 *     dres = LN1'(dmid);  dao = dres Wo;  (dq, dk, dv) = attention'(dao);
 *     dres += dq Wq + dk Wk + dv Wv             (dres is now dloss/dx_in)
 *
 * every product also adding into its weight's and bias's gradients.
 * Attention sees every key of its row; its backward (tdec_attention.c)
 * reads only the saved probabilities, so it serves this mask as it serves
 * the decoder's causal one.
 */
#include "train/tenc.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/tdec_attention.h"

/* ==== parameters ========================================================== */

/* Adds the checkpoint tensor name (rows x cols) to e->P, read as float32;
 * NULL when it is missing (an error only when required) or malformed. */
static wd__tparam *load(wd__tenc *e, const wd_model *m, const char *name, size_t rows,
                        size_t cols, bool required) {
    return wd__tparams_load(&e->P, &e->err, m->ck, m->dir, name, rows, cols, required);
}

/* The names of one layer's tensors: BERT/RoBERTa's, then DistilBERT's. */
static const char *const k_layer_names[2][16] = {
    {"attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight",
     "attention.self.key.bias", "attention.self.value.weight", "attention.self.value.bias",
     "attention.output.dense.weight", "attention.output.dense.bias",
     "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
     "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight",
     "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias"},
    {"attention.q_lin.weight", "attention.q_lin.bias", "attention.k_lin.weight",
     "attention.k_lin.bias", "attention.v_lin.weight", "attention.v_lin.bias",
     "attention.out_lin.weight", "attention.out_lin.bias", "sa_layer_norm.weight",
     "sa_layer_norm.bias", "ffn.lin1.weight", "ffn.lin1.bias", "ffn.lin2.weight",
     "ffn.lin2.bias", "output_layer_norm.weight", "output_layer_norm.bias"},
};

static wd_status load_layer(wd__tenc *e, const wd_model *m, const char *pre, size_t l) {
    bool distil = m->cfg->type == WD_MODEL_TYPE_DISTILBERT;
    const char *lay = distil ? "transformer.layer" : "encoder.layer";
    size_t C = e->C, F = e->F;
    /* shapes in the order of k_layer_names */
    const size_t shape[16][2] = {{C, C}, {C, 1}, {C, C}, {C, 1}, {C, C}, {C, 1}, {C, C}, {C, 1},
                                 {C, 1}, {C, 1}, {F, C}, {F, 1}, {C, F}, {C, 1}, {C, 1}, {C, 1}};
    wd__tenc_layer *y = &e->lay[l];
    wd__tparam **dst[16] = {&y->wq,    &y->bq,    &y->wk,   &y->bk,   &y->wv,    &y->bv,
                            &y->wo,    &y->bo,    &y->ln1_w, &y->ln1_b, &y->w_in, &y->b_in,
                            &y->w_out, &y->b_out, &y->ln2_w, &y->ln2_b};
    char n[256];
    for (int i = 0; i < 16; i++) {
        snprintf(n, sizeof n, "%s%s.%zu.%s", pre, lay, l, k_layer_names[distil][i]);
        if (!(*dst[i] = load(e, m, n, shape[i][0], shape[i][1], true))) return e->err.status;
    }
    return WD_OK;
}

wd_status wd__tenc_init(wd__tenc *e, const wd_model *m) {
    memset(e, 0, sizeof *e);
    if (!m || wd__model_is_decoder(m))
        return wd__err_set(&e->err, WD_ERR_UNSUPPORTED, "training: the model is not an encoder");
    if (m->cfg->type == WD_MODEL_TYPE_MODERNBERT)
        return wd__err_set(&e->err, WD_ERR_UNSUPPORTED,
                           "%s: training a ModernBERT encoder is not supported (the trainable "
                           "encoder runs bert, roberta and distilbert)",
                           m->dir);
    if (!m->ck)
        return wd__err_set(&e->err, WD_ERR_UNSUPPORTED,
                           "%s: training reads Hugging Face safetensors folders, not GGUF files",
                           m->dir);
    if (m->head == WD_HEAD_NONE)
        return wd__err_set(&e->err, WD_ERR_UNSUPPORTED,
                           "%s: training an encoder needs a *ForSequenceClassification head "
                           "(config.json 'architectures')",
                           m->dir);
    const wd_model_config *c = m->cfg;
    if (m->deb)
        return wd__err_set(&e->err, WD_ERR_UNSUPPORTED,
                           "%s: training a deberta-v2 encoder is not supported (its disentangled "
                           "attention has no backward pass here; bert, roberta, xlm-roberta and "
                           "distilbert train)",
                           m->dir);
    e->C = m->C, e->H = m->H, e->D = m->D, e->F = m->F, e->V = m->V, e->L = m->L;
    e->n_pos = m->n_pos, e->n_labels = m->n_labels, e->eps = m->eps;
    e->act = c->hidden_act, e->head = m->head, e->tp = m->tp;
    e->pad = wd__encoder_is_roberta(c) ? (int32_t)c->pad_token_id : -1;
    if (e->H * e->D != e->C)
        return wd__err_set(&e->err, WD_ERR_FORMAT, "%s: %zu heads of %zu do not make hidden %zu",
                           m->dir, e->H, e->D, e->C);
    e->lay = calloc(e->L, sizeof *e->lay);
    if (!e->lay) return wd__err_set(&e->err, WD_ERR_NOMEM, "out of memory");
    size_t C = e->C, NL = e->n_labels;
    /* the body's prefix, as model.c's bind_encoder finds it */
    char pre[48], n[256];
    snprintf(pre, sizeof pre, "%s.", wd__encoder_prefix(c));
    snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", pre);
    if (!wd_checkpoint_find(m->ck, n)) pre[0] = '\0';
#define EMB(field, s, r, cc, req)                                                              \
    do {                                                                                       \
        snprintf(n, sizeof n, "%sembeddings.%s", pre, s);                                      \
        if (!(e->field = load(e, m, n, r, cc, req)) && (req || e->err.status))                 \
            return e->err.status;                                                              \
    } while (0)
    EMB(word, "word_embeddings.weight", e->V, C, true);
    EMB(pos, "position_embeddings.weight", e->n_pos, C, true);
    if (c->type != WD_MODEL_TYPE_DISTILBERT) {
        e->n_types = c->type_vocab_size > 0 ? (size_t)c->type_vocab_size : 1;
        EMB(type, "token_type_embeddings.weight", e->n_types, C, c->type_vocab_size > 0);
    }
    EMB(emb_ln_w, "LayerNorm.weight", C, 1, true);
    EMB(emb_ln_b, "LayerNorm.bias", C, 1, true);
#undef EMB
    if (c->sinusoidal_pos_embds) e->pos->trainable = false;
    for (size_t l = 0; l < e->L; l++)
        if (load_layer(e, m, pre, l)) return e->err.status;
    const char *hn[4];
    char pooler_w[96], pooler_b[96];
    if (e->head == WD_HEAD_ROBERTA) {
        hn[0] = "classifier.dense.weight", hn[1] = "classifier.dense.bias";
        hn[2] = "classifier.out_proj.weight", hn[3] = "classifier.out_proj.bias";
    } else if (e->head == WD_HEAD_DISTILBERT) {
        hn[0] = "pre_classifier.weight", hn[1] = "pre_classifier.bias";
        hn[2] = "classifier.weight", hn[3] = "classifier.bias";
    } else {
        snprintf(pooler_w, sizeof pooler_w, "%spooler.dense.weight", pre);
        snprintf(pooler_b, sizeof pooler_b, "%spooler.dense.bias", pre);
        hn[0] = pooler_w, hn[1] = pooler_b;
        hn[2] = "classifier.weight", hn[3] = "classifier.bias";
    }
    if (!(e->head_dense_w = load(e, m, hn[0], C, C, true)) ||
        !(e->head_dense_b = load(e, m, hn[1], C, 1, true)) ||
        !(e->head_out_w = load(e, m, hn[2], NL, C, true)) ||
        !(e->head_out_b = load(e, m, hn[3], NL, 1, true)))
        return e->err.status;
    return WD_OK;
}

/* ==== planning ============================================================ */

wd_status wd__tenc_plan(wd__tenc *e, size_t Bmax, size_t Tmax, bool checkpointing) {
    wd_status rc = wd__tparams_plan(&e->P, &e->err);
    if (rc) return rc;
    free(e->mem);
    free(e->acts);
    e->mem = NULL;
    e->Bmax = Bmax, e->Tmax = Tmax, e->ckpt = checkpointing;
    size_t N = Bmax * Tmax, C = e->C, F = e->F;
    /* one layer's activations besides x_in, and how many copies */
    size_t per = N * (7 * C + 2 * F + 4) + Bmax * e->H * Tmax * Tmax;
    size_t copies = checkpointing ? 1 : e->L;
    size_t total = e->L * N * C + copies * per +        /* layers           */
                   N * (2 * C + 2) + 5 * Bmax * C +     /* embeddings, head */
                   N * (7 * C + 2 * F) + 2 * Tmax * Tmax; /* backward work  */
    size_t bytes = total * sizeof(float) + 2 * N * sizeof(int32_t);
    e->acts = calloc(e->L, sizeof *e->acts);
    e->mem = calloc(1, bytes);
    if (!e->acts || !e->mem)
        return wd__err_set(&e->err, WD_ERR_NOMEM,
                           "training: out of memory planning %.1f MiB of activations for "
                           "batch %zu x %zu (try --grad-checkpointing or a smaller batch)",
                           (double)bytes / (1 << 20), Bmax, Tmax);
    float *p = e->mem;
#define TAKE(n) (p += (n), p - (n))
    for (size_t l = 0; l < e->L; l++) {
        wd__tenc_acts *a = &e->acts[l];
        a->x_in = TAKE(N * C);
        if (l > 0 && checkpointing) {
            float *x_in = a->x_in;
            *a = e->acts[0];
            a->x_in = x_in;
            continue;
        }
        a->q = TAKE(N * C), a->k = TAKE(N * C), a->v = TAKE(N * C);
        a->att = TAKE(Bmax * e->H * Tmax * Tmax);
        a->ao = TAKE(N * C);
        a->r1 = TAKE(N * C), a->mean1 = TAKE(N), a->rstd1 = TAKE(N);
        a->x_mid = TAKE(N * C);
        a->pre = TAKE(N * F), a->act = TAKE(N * F);
        a->r2 = TAKE(N * C), a->mean2 = TAKE(N), a->rstd2 = TAKE(N);
    }
    e->emb = TAKE(N * C), e->mean0 = TAKE(N), e->rstd0 = TAKE(N);
    e->x_out = TAKE(N * C);
    e->cls = TAKE(Bmax * C), e->hpre = TAKE(Bmax * C), e->hid = TAKE(Bmax * C);
    e->dcls = TAKE(Bmax * C), e->dhid = TAKE(Bmax * C);
    e->dres = TAKE(N * C), e->dmid = TAKE(N * C), e->dao = TAKE(N * C);
    e->dq = TAKE(N * C), e->dk = TAKE(N * C), e->dv = TAKE(N * C), e->tmp = TAKE(N * C);
    e->dpre = TAKE(N * F), e->dact = TAKE(N * F);
    e->datt = TAKE(Tmax * Tmax), e->dS = TAKE(Tmax * Tmax);
    e->ids = (int32_t *)p;
    e->pos_ids = e->ids + N;
#undef TAKE
    return WD_OK;
}

/* ==== forward ============================================================= */

/* x (n) = act(x) in place. */
static void act_fwd(const wd__tenc *e, float *x, size_t n) {
    switch (e->act) {
    case WD_ACT_GELU: wd_op_gelu_fwd(x, x, n, e->tp); break;
    case WD_ACT_GELU_TANH: wd_op_gelu_tanh_fwd(x, x, n, e->tp); break;
    case WD_ACT_SILU: wd_op_silu_fwd(x, x, n, e->tp); break;
    case WD_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    }
}

/* dx (n) += dout * act'(x). */
static void act_bwd(const wd__tenc *e, float *dx, const float *dout, const float *x, size_t n) {
    switch (e->act) {
    case WD_ACT_GELU: wd_op_gelu_bwd(dx, dout, x, n, e->tp); break;
    case WD_ACT_GELU_TANH: wd_op_gelu_tanh_bwd(dx, dout, x, n, e->tp); break;
    case WD_ACT_SILU: wd_op_silu_bwd(dx, dout, x, n, e->tp); break;
    case WD_ACT_RELU:
        for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
        break;
    }
}

/* ao (N,C) = softmax(q k^T / sqrt(D)) v per row and head, no mask;
 * att (B,H,T,T) keeps the probabilities for tdec_attention's backward. */
static void attention_fwd(wd__tenc *e, float *ao, float *att, const float *q, const float *k,
                          const float *v) {
    size_t B = e->B, T = e->T, H = e->H, D = e->D, C = e->C;
    float scale = 1.0f / sqrtf((float)D);
    for (size_t b = 0; b < B; b++) {
        for (size_t h = 0; h < H; h++) {
            size_t off = b * T * C + h * D;
            float *P = att + (b * H + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, scale,
                        q + off, (int)C, k + off, (int)C, 0.0f, P, (int)T);
            wd_op_softmax_fwd(P, P, T, T, e->tp);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f,
                        P, (int)T, v + off, (int)C, 0.0f, ao + off, (int)C);
        }
    }
}

/* Layer l from acts[l].x_in into xo (N,C). */
static void layer_fwd(wd__tenc *e, size_t l, float *xo) {
    const wd__tenc_layer *y = &e->lay[l];
    wd__tenc_acts *a = &e->acts[l];
    wd_threadpool *tp = e->tp;
    size_t N = e->B * e->T, C = e->C, F = e->F;
    wd_op_matmul_fwd(a->q, a->x_in, y->wq->w, y->bq->w, N, C, C);
    wd_op_matmul_fwd(a->k, a->x_in, y->wk->w, y->bk->w, N, C, C);
    wd_op_matmul_fwd(a->v, a->x_in, y->wv->w, y->bv->w, N, C, C);
    attention_fwd(e, a->ao, a->att, a->q, a->k, a->v);
    wd_op_matmul_fwd(a->r1, a->ao, y->wo->w, y->bo->w, N, C, C);
    wd_op_residual_fwd(a->r1, a->r1, a->x_in, N * C, tp);
    wd_op_layernorm_fwd(a->x_mid, a->mean1, a->rstd1, a->r1, y->ln1_w->w, y->ln1_b->w, N, C,
                        e->eps, tp);
    wd_op_matmul_fwd(a->pre, a->x_mid, y->w_in->w, y->b_in->w, N, C, F);
    memcpy(a->act, a->pre, N * F * sizeof(float));
    act_fwd(e, a->act, N * F);
    wd_op_matmul_fwd(a->r2, a->act, y->w_out->w, y->b_out->w, N, F, C);
    wd_op_residual_fwd(a->r2, a->r2, a->x_mid, N * C, tp);
    wd_op_layernorm_fwd(xo, a->mean2, a->rstd2, a->r2, y->ln2_w->w, y->ln2_b->w, N, C, e->eps,
                        tp);
}

wd_status wd__tenc_forward(wd__tenc *e, const int32_t *ids, size_t B, size_t T) {
    if (!e->mem || B > e->Bmax || T > e->Tmax || B == 0 || T == 0)
        return wd__err_set(&e->err, WD_ERR_RANGE,
                           "training: batch %zu x %zu outside the planned %zu x %zu", B, T,
                           e->Bmax, e->Tmax);
    size_t N = B * T, C = e->C;
    /* positions as model/encoder.c counts them (RoBERTa: from pad + 1) */
    for (size_t b = 0; b < B; b++) {
        int32_t run = 0;
        for (size_t t = 0; t < T; t++) {
            int32_t id = ids[b * T + t], *pp = &e->pos_ids[b * T + t];
            if (e->pad < 0) {
                *pp = (int32_t)t;
            } else {
                run += id != e->pad;
                *pp = id != e->pad ? run + e->pad : e->pad;
            }
            if ((size_t)*pp >= e->n_pos)
                return wd__err_set(&e->err, WD_ERR_RANGE,
                                   "training: %zu tokens need more than the model's %zu "
                                   "positions", T, e->n_pos);
        }
    }
    wd_status rc = wd_op_embedding_fwd(e->emb, ids, e->word->w, N, C, e->V, e->tp);
    if (rc) return wd__err_set(&e->err, rc, "training: a token id is outside [0, %zu)", e->V);
    e->B = B, e->T = T;
    memcpy(e->ids, ids, N * sizeof *ids);
    wd_op_embedding_fwd(e->tmp, e->pos_ids, e->pos->w, N, C, e->n_pos, e->tp);
    wd_op_residual_fwd(e->emb, e->emb, e->tmp, N * C, e->tp);
    if (e->type)
        for (size_t r = 0; r < N; r++)
            for (size_t c = 0; c < C; c++) e->emb[r * C + c] += e->type->w[c];
    wd_op_layernorm_fwd(e->acts[0].x_in, e->mean0, e->rstd0, e->emb, e->emb_ln_w->w,
                        e->emb_ln_b->w, N, C, e->eps, e->tp);
    for (size_t l = 0; l < e->L; l++)
        layer_fwd(e, l, l + 1 < e->L ? e->acts[l + 1].x_in : e->x_out);
    /* the head's hidden layer on each row's first token */
    for (size_t b = 0; b < B; b++) memcpy(e->cls + b * C, e->x_out + b * T * C, C * sizeof(float));
    wd_op_matmul_fwd(e->hpre, e->cls, e->head_dense_w->w, e->head_dense_b->w, B, C, C);
    for (size_t i = 0; i < B * C; i++)
        e->hid[i] = e->head == WD_HEAD_DISTILBERT ? (e->hpre[i] > 0.0f ? e->hpre[i] : 0.0f)
                                                   : tanhf(e->hpre[i]);
    return WD_OK;
}

void wd__tenc_logits(wd__tenc *e, float *logits) {
    wd_op_matmul_fwd(logits, e->hid, e->head_out_w->w, e->head_out_b->w, e->B, e->C,
                     e->n_labels);
}

/* ==== backward ============================================================ */

/* e->dres holds dloss/d(layer l output); leaves dloss/d(layer l input). */
static void layer_bwd(wd__tenc *e, size_t l) {
    const wd__tenc_layer *y = &e->lay[l];
    const wd__tenc_acts *a = &e->acts[l];
    wd_threadpool *tp = e->tp;
    size_t N = e->B * e->T, C = e->C, F = e->F;
    if (e->ckpt) layer_fwd(e, l, e->tmp);
    /* MLP */
    memset(e->dmid, 0, N * C * sizeof(float));
    wd_op_layernorm_bwd(e->dmid, y->ln2_w->g, y->ln2_b->g, e->dres, a->r2, y->ln2_w->w, a->mean2,
                        a->rstd2, N, C, tp);
    memset(e->dact, 0, N * F * sizeof(float));
    wd_op_matmul_bwd(e->dact, y->w_out->g, y->b_out->g, e->dmid, a->act, y->w_out->w, N, F, C);
    memset(e->dpre, 0, N * F * sizeof(float));
    act_bwd(e, e->dpre, e->dact, a->pre, N * F);
    wd_op_matmul_bwd(e->dmid, y->w_in->g, y->b_in->g, e->dpre, a->x_mid, y->w_in->w, N, C, F);
    /* attention */
    memset(e->dres, 0, N * C * sizeof(float));
    wd_op_layernorm_bwd(e->dres, y->ln1_w->g, y->ln1_b->g, e->dmid, a->r1, y->ln1_w->w, a->mean1,
                        a->rstd1, N, C, tp);
    memset(e->dao, 0, N * C * sizeof(float));
    wd_op_matmul_bwd(e->dao, y->wo->g, y->bo->g, e->dres, a->ao, y->wo->w, N, C, C);
    wd__tattn_bwd(e->dq, e->dk, e->dv, e->datt, e->dS, e->dao, a->att, a->q, a->k, a->v, e->B,
                  e->T, e->H, e->H, e->D, tp);
    wd_op_matmul_bwd(e->dres, y->wq->g, y->bq->g, e->dq, a->x_in, y->wq->w, N, C, C);
    wd_op_matmul_bwd(e->dres, y->wk->g, y->bk->g, e->dk, a->x_in, y->wk->w, N, C, C);
    wd_op_matmul_bwd(e->dres, y->wv->g, y->bv->g, e->dv, a->x_in, y->wv->w, N, C, C);
}

wd_status wd__tenc_backward_logits(wd__tenc *e, const float *dlogits) {
    size_t B = e->B, T = e->T, N = B * T, C = e->C;
    if (!e->mem || N == 0)
        return wd__err_set(&e->err, WD_ERR_INVALID_ARG, "training: backward before a forward");
    /* head */
    memset(e->dhid, 0, B * C * sizeof(float));
    wd_op_matmul_bwd(e->dhid, e->head_out_w->g, e->head_out_b->g, dlogits, e->hid,
                     e->head_out_w->w, B, C, e->n_labels);
    for (size_t i = 0; i < B * C; i++)
        e->dhid[i] *= e->head == WD_HEAD_DISTILBERT ? (e->hpre[i] > 0.0f ? 1.0f : 0.0f)
                                                     : 1.0f - e->hid[i] * e->hid[i];
    memset(e->dcls, 0, B * C * sizeof(float));
    wd_op_matmul_bwd(e->dcls, e->head_dense_w->g, e->head_dense_b->g, e->dhid, e->cls,
                     e->head_dense_w->w, B, C, C);
    memset(e->dres, 0, N * C * sizeof(float));
    for (size_t b = 0; b < B; b++) memcpy(e->dres + b * T * C, e->dcls + b * C, C * sizeof(float));
    /* layers */
    for (size_t l = e->L; l-- > 0;) layer_bwd(e, l);
    /* embeddings */
    memset(e->tmp, 0, N * C * sizeof(float));
    wd_op_layernorm_bwd(e->tmp, e->emb_ln_w->g, e->emb_ln_b->g, e->dres, e->emb, e->emb_ln_w->w,
                        e->mean0, e->rstd0, N, C, e->tp);
    wd_status rc = WD_OK;
    if (e->word->g) rc = wd_op_embedding_bwd(e->word->g, e->tmp, e->ids, N, C, e->V, e->tp);
    if (!rc && e->pos->g)
        rc = wd_op_embedding_bwd(e->pos->g, e->tmp, e->pos_ids, N, C, e->n_pos, e->tp);
    if (rc) return wd__err_set(&e->err, rc, "training: an embedding row is out of range");
    if (e->type && e->type->g)
        for (size_t r = 0; r < N; r++)
            for (size_t c = 0; c < C; c++) e->type->g[c] += e->tmp[r * C + c];
    return WD_OK;
}

void wd__tenc_free(wd__tenc *e) {
    if (!e) return;
    wd__tparams_free(&e->P);
    free(e->lay);
    free(e->acts);
    free(e->mem);
    memset(e, 0, sizeof *e);
}
