/*
 * train/tdec.c - the trainable Llama-family decoder: parameters, planning,
 * forward with saved activations, backward (see tdec.h). Attention's own
 * forward and backward are in tdec_attention.c.
 *
 * Backward of one layer, with dres = dloss/d(layer output) (BT,C):
 *
 *     MLP:  dact = dres Wd, dWd += dres^T act; (dgate, dup) = swiglu'(dact);
 *           dxn2 = dgate Wg + dup Wu (dWg, dWu +=); dres += rmsnorm'(dxn2)
 *     attn: dao = dres Wo (dWo, dbo +=); (dq, dk, dv) = attention'(dao);
 *           un-rotate dq, dk; dxn1 = dq Wq + dk Wk + dv Wv (dW, db +=);
 *           dres += rmsnorm'(dxn1)
 *
 * so dres becomes dloss/d(layer input) in place: the residual stream's
 * gradient passes straight through and each branch adds its share.
 */
#include "train/tdec.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "train/tdec_attention.h"

/* ---- parameters ---------------------------------------------------------- */

static wd__tparam *load(wd__tdec *d, const wd_model *m, const char *name, size_t rows,
                        size_t cols, bool required) {
    return wd__tparams_load(&d->P, &d->err, m->ck, m->dir, name, rows, cols, required);
}

wd_status wd__tdec_init(wd__tdec *d, const wd_model *m) {
    memset(d, 0, sizeof *d);
    if (!m || !wd__model_is_decoder(m))
        return wd__err_set(&d->err, WD_ERR_UNSUPPORTED, "training: the model is not a decoder");
    if (!m->ck)
        return wd__err_set(&d->err, WD_ERR_UNSUPPORTED,
                           "%s: training reads Hugging Face safetensors folders, not GGUF files",
                           m->dir);
    const wd_model_config *c = m->cfg;
    /* the backward below is Llama's: no q/k norms, fused matrices, multipliers */
    wd_status lrc =
        wd__require_llama_layout(NULL, c, "the trainable decoder (training, integrated gradients)");
    if (lrc) return wd__err_take(&d->err, wd__err_prefix(lrc, "%s", m->dir));
    d->C = m->C, d->H = m->H, d->KV = m->KV, d->D = m->D, d->F = m->F, d->V = m->V, d->L = m->L;
    d->eps = m->eps;
    d->rope = m->rope_layout;
    d->window = c->sliding_window > 0 ? (size_t)c->sliding_window : 0;
    d->tp = m->tp;
    d->inv_freq = malloc(d->D / 2 * sizeof(float));
    d->lay = calloc(d->L, sizeof *d->lay);
    if (!d->inv_freq || !d->lay) return wd__err_set(&d->err, WD_ERR_NOMEM, "out of memory");
    memcpy(d->inv_freq, m->inv_freq, d->D / 2 * sizeof(float));
    size_t C = d->C, HD = d->H * d->D, KD = d->KV * d->D, F = d->F;
    if (!(d->embd = load(d, m, "model.embed_tokens.weight", d->V, C, true))) return d->err.status;
    char n[256];
    for (size_t l = 0; l < d->L; l++) {
        wd__tdec_layer *y = &d->lay[l];
#define LD(field, s, r, cc, req)                                                               \
    do {                                                                                       \
        snprintf(n, sizeof n, "model.layers.%zu.%s", l, s);                                    \
        if (!(y->field = load(d, m, n, r, cc, req)) && (req || d->err.status))                 \
            return d->err.status;                                                              \
    } while (0)
        LD(attn_norm, "input_layernorm.weight", C, 1, true);
        LD(wq, "self_attn.q_proj.weight", HD, C, true);
        LD(wk, "self_attn.k_proj.weight", KD, C, true);
        LD(wv, "self_attn.v_proj.weight", KD, C, true);
        LD(wo, "self_attn.o_proj.weight", C, HD, true);
        LD(bq, "self_attn.q_proj.bias", HD, 1, c->attention_bias);
        LD(bk, "self_attn.k_proj.bias", KD, 1, c->attention_bias);
        LD(bv, "self_attn.v_proj.bias", KD, 1, c->attention_bias);
        LD(bo, "self_attn.o_proj.bias", C, 1, c->attention_out_bias);
        LD(ffn_norm, "post_attention_layernorm.weight", C, 1, true);
        LD(wg, "mlp.gate_proj.weight", F, C, true);
        LD(wu, "mlp.up_proj.weight", F, C, true);
        LD(wd, "mlp.down_proj.weight", C, F, true);
#undef LD
    }
    if (!(d->norm = load(d, m, "model.norm.weight", C, 1, true))) return d->err.status;
    if (c->tie_word_embeddings) {
        d->lm_head = d->embd;
    } else if (!(d->lm_head = load(d, m, "lm_head.weight", d->V, C, true))) {
        return d->err.status;
    }
    return WD_OK;
}

/* The projection a LoRA target sits on. */
static wd__tparam **target(wd__tdec_layer *y, int i) {
    wd__tparam **t[WD__LORA_N_TARGETS] = {&y->wq, &y->wk, &y->wv, &y->wo, &y->wg, &y->wu, &y->wd};
    return t[i];
}

wd_status wd__tdec_add_lora(wd__tdec *d, const wd__lora_spec *spec, uint64_t seed) {
    if (spec->rank <= 0 || !spec->targets) return WD_OK;
    for (size_t i = 0; i < d->P.n; i++) d->P.t[i]->trainable = false;
    d->lora = *spec;
    uint64_t s = seed;
    char n[320];
    for (size_t l = 0; l < d->L; l++) {
        wd__tdec_layer *y = &d->lay[l];
        for (int i = 0; i < WD__LORA_N_TARGETS; i++) {
            if (!(spec->targets & (1u << i))) continue;
            wd__tparam *w = *target(y, i);
            size_t r = (size_t)spec->rank, in = w->cols, out = w->rows;
            wd__lora *a = calloc(1, sizeof *a);
            if (!a) return wd__err_set(&d->err, WD_ERR_NOMEM, "out of memory");
            y->lora[i] = a;
            *a = (wd__lora){.r = r, .in = in, .out = out, .scale = spec->alpha / (float)r, .base = w};
            size_t base = strlen(w->name) - strlen(".weight");
            snprintf(n, sizeof n, "base_model.model.%.*s.lora_A.weight", (int)base, w->name);
            if (!(a->A = wd__tparams_add(&d->P, &d->err, n, r, in))) return d->err.status;
            snprintf(n, sizeof n, "base_model.model.%.*s.lora_B.weight", (int)base, w->name);
            if (!(a->B = wd__tparams_add(&d->P, &d->err, n, out, r))) return d->err.status;
            float bound = 1.0f / sqrtf((float)in);
            for (size_t k = 0; k < a->A->n; k++) a->A->w[k] = (float)(2.0 * wd__rng_unit(&s) - 1.0) * bound;
            a->A->save = a->B->save = false;
        }
    }
    return WD_OK;
}

/* ---- planning ------------------------------------------------------------ */

wd_status wd__tdec_plan(wd__tdec *d, size_t Bmax, size_t Tmax, bool checkpointing) {
    wd_status rc = wd__tparams_plan(&d->P, &d->err);
    if (rc) return rc;
    free(d->mem);
    free(d->acts);
    d->mem = NULL;
    d->Bmax = Bmax, d->Tmax = Tmax, d->ckpt = checkpointing;
    size_t N = Bmax * Tmax, C = d->C, HD = d->H * d->D, KD = d->KV * d->D, F = d->F;
    size_t r = d->lora.rank > 0 ? (size_t)d->lora.rank : 0;
    size_t n_lora = 0;
    for (int i = 0; i < WD__LORA_N_TARGETS; i++)
        if (d->lora.targets & (1u << i)) n_lora++;
    if (r == 0) n_lora = 0;
    /* one layer's activations besides x_in, and how many copies */
    size_t per = N * (4 * C + 2 * HD + 2 * KD + 3 * F + 2) + Bmax * d->H * Tmax * Tmax +
                 n_lora * N * r;
    size_t copies = checkpointing ? 1 : d->L;
    size_t total = d->L * N * C + copies * per +                      /* layers */
                   N * (2 * C + 1) + N * d->V + Tmax * d->D +        /* final, logits, rope */
                   N * (3 * C + 3 * HD + 3 * KD + 3 * F) + 2 * Tmax * Tmax + 2 * N * r;
    /* counted in floats; ids in their own slot at the end */
    size_t bytes = total * sizeof(float) + N * sizeof(int32_t) + 64 * 64;
    d->acts = calloc(d->L, sizeof *d->acts);
    d->mem = calloc(1, bytes);
    if (!d->acts || !d->mem)
        return wd__err_set(&d->err, WD_ERR_NOMEM,
                           "training: out of memory planning %.1f MiB of activations for "
                           "batch %zu x %zu (try --grad-checkpointing or a smaller batch)",
                           (double)bytes / (1 << 20), Bmax, Tmax);
    float *p = d->mem;
#define TAKE(n) (p += (n), p - (n))
    for (size_t l = 0; l < d->L; l++) {
        wd__tdec_acts *a = &d->acts[l];
        a->x_in = TAKE(N * C);
        if (l > 0 && checkpointing) {
            float *x_in = a->x_in;
            *a = d->acts[0];
            a->x_in = x_in;
            continue;
        }
        a->xn1 = TAKE(N * C), a->rstd1 = TAKE(N);
        a->q = TAKE(N * HD), a->k = TAKE(N * KD), a->v = TAKE(N * KD);
        a->att = TAKE(Bmax * d->H * Tmax * Tmax);
        a->ao = TAKE(N * HD), a->x_mid = TAKE(N * C);
        a->xn2 = TAKE(N * C), a->rstd2 = TAKE(N);
        a->gate = TAKE(N * F), a->up = TAKE(N * F), a->act = TAKE(N * F);
        for (int i = 0; i < WD__LORA_N_TARGETS && r; i++)
            if (d->lay[l].lora[i]) d->lay[l].lora[i]->xa = TAKE(N * r);
    }
    if (checkpointing)
        for (size_t l = 1; l < d->L; l++)
            for (int i = 0; i < WD__LORA_N_TARGETS && r; i++)
                if (d->lay[l].lora[i]) d->lay[l].lora[i]->xa = d->lay[0].lora[i]->xa;
    d->x_out = TAKE(N * C), d->xnf = TAKE(N * C), d->rstdf = TAKE(N);
    d->logits = TAKE(N * d->V);
    d->rcos = TAKE(Tmax * d->D / 2), d->rsin = TAKE(Tmax * d->D / 2);
    d->dres = TAKE(N * C), d->dxn = TAKE(N * C), d->tmp = TAKE(N * C);
    d->dq = TAKE(N * HD), d->dqr = TAKE(N * HD), d->dao = TAKE(N * HD);
    d->dk = TAKE(N * KD), d->dkr = TAKE(N * KD), d->dv = TAKE(N * KD);
    d->dgate = TAKE(N * F), d->dup = TAKE(N * F), d->dact = TAKE(N * F);
    d->datt = TAKE(Tmax * Tmax), d->dS = TAKE(Tmax * Tmax);
    d->lora_x = TAKE(N * r), d->lora_dx = TAKE(N * r);
    d->ids = (int32_t *)p;
#undef TAKE
    /* every row's positions are 0..T-1: the table of 0..Tmax-1 serves all */
    int32_t *pos = malloc(Tmax * sizeof *pos);
    if (!pos) return wd__err_set(&d->err, WD_ERR_NOMEM, "out of memory");
    for (size_t t = 0; t < Tmax; t++) pos[t] = (int32_t)t;
    wd_rope_table(d->rcos, d->rsin, d->inv_freq, pos, Tmax, d->D);
    free(pos);
    return WD_OK;
}

/* ---- forward ------------------------------------------------------------- */

/* out (N,OC) = x W^T (+b) (+ the adapter's share). */
static void linear_fwd(float *out, const float *x, const wd__tparam *w, const wd__tparam *b,
                       wd__lora *a, size_t N) {
    wd_op_matmul_fwd(out, x, w->w, b ? b->w : NULL, N, w->cols, w->rows);
    if (a) wd__lora_fwd(a, out, x, N);
}

/* dx (N,IN) += dout W; W's and b's gradients += when trainable. */
static void linear_bwd(wd__tdec *d, float *dx, const float *dout, const float *x,
                       const wd__tparam *w, const wd__tparam *b, wd__lora *a, size_t N) {
    bool pg = !d->input_grad_only;
    wd_op_matmul_bwd(dx, pg ? w->g : NULL, pg && b ? b->g : NULL, dout, x, w->w, N, w->cols, w->rows);
    if (a) wd__lora_bwd(a, dx, dout, x, N, d->lora_dx, pg);
}

/* Layer l from a->x_in into xo (BT,C). */
static void layer_fwd(wd__tdec *d, size_t l, float *xo) {
    wd__tdec_layer *y = &d->lay[l];
    wd__tdec_acts *a = &d->acts[l];
    wd_threadpool *tp = d->tp;
    size_t B = d->B, T = d->T, N = B * T, C = d->C, H = d->H, KV = d->KV, D = d->D, F = d->F;
    wd_op_rmsnorm_fwd(a->xn1, a->rstd1, a->x_in, y->attn_norm->w, N, C, d->eps, tp);
    linear_fwd(a->q, a->xn1, y->wq, y->bq, y->lora[WD__LORA_Q], N);
    linear_fwd(a->k, a->xn1, y->wk, y->bk, y->lora[WD__LORA_K], N);
    linear_fwd(a->v, a->xn1, y->wv, y->bv, y->lora[WD__LORA_V], N);
    for (size_t b = 0; b < B; b++) {
        wd_op_rope_fwd(a->q + b * T * H * D, a->q + b * T * H * D, d->rcos, d->rsin, T, H, D,
                       d->rope, tp);
        wd_op_rope_fwd(a->k + b * T * KV * D, a->k + b * T * KV * D, d->rcos, d->rsin, T, KV, D,
                       d->rope, tp);
    }
    wd__tattn_fwd(a->ao, a->att, a->q, a->k, a->v, B, T, H, KV, D, d->window, tp);
    linear_fwd(a->x_mid, a->ao, y->wo, y->bo, y->lora[WD__LORA_O], N);
    wd_op_residual_fwd(a->x_mid, a->x_mid, a->x_in, N * C, tp);
    wd_op_rmsnorm_fwd(a->xn2, a->rstd2, a->x_mid, y->ffn_norm->w, N, C, d->eps, tp);
    linear_fwd(a->gate, a->xn2, y->wg, NULL, y->lora[WD__LORA_GATE], N);
    linear_fwd(a->up, a->xn2, y->wu, NULL, y->lora[WD__LORA_UP], N);
    wd_op_swiglu_fwd(a->act, a->gate, a->up, N * F, tp);
    linear_fwd(xo, a->act, y->wd, NULL, y->lora[WD__LORA_DOWN], N);
    wd_op_residual_fwd(xo, xo, a->x_mid, N * C, tp);
}

wd_status wd__tdec_forward(wd__tdec *d, const int32_t *ids, size_t B, size_t T,
                           const float *delta) {
    if (!d->mem || B > d->Bmax || T > d->Tmax || B == 0 || T == 0)
        return wd__err_set(&d->err, WD_ERR_RANGE,
                           "training: batch %zu x %zu outside the planned %zu x %zu", B, T,
                           d->Bmax, d->Tmax);
    size_t N = B * T, C = d->C;
    d->B = B, d->T = T;
    memcpy(d->ids, ids, N * sizeof *ids);
    wd_status rc = wd_op_embedding_fwd(d->acts[0].x_in, ids, d->embd->w, N, C, d->V, d->tp);
    if (rc) return wd__err_set(&d->err, rc, "training: a token id is outside [0, %zu)", d->V);
    if (delta) wd_op_residual_fwd(d->acts[0].x_in, d->acts[0].x_in, delta, N * C, d->tp);
    for (size_t l = 0; l < d->L; l++)
        layer_fwd(d, l, l + 1 < d->L ? d->acts[l + 1].x_in : d->x_out);
    wd_op_rmsnorm_fwd(d->xnf, d->rstdf, d->x_out, d->norm->w, N, C, d->eps, d->tp);
    return WD_OK;
}

wd_status wd__tdec_logp(wd__tdec *d, const int32_t *targets, float *logp) {
    size_t N = d->B * d->T, V = d->V;
    for (size_t r = 0; r < N; r++)
        if (targets[r] != WD_IGNORE_INDEX && (targets[r] < 0 || (size_t)targets[r] >= V))
            return wd__err_set(&d->err, WD_ERR_RANGE,
                               "training: target %d at row %zu is outside [0, %zu)", targets[r],
                               r, V);
    wd_op_matmul_fwd(d->logits, d->xnf, d->lm_head->w, NULL, N, d->C, V);
    for (size_t r = 0; r < N; r++) {
        float *row = d->logits + r * V;
        float mx = -INFINITY;
        for (size_t v = 0; v < V; v++) mx = row[v] > mx ? row[v] : mx;
        int32_t t = targets[r];
        float lt = t == WD_IGNORE_INDEX ? 0.0f : row[t] - mx;
        double sum = 0.0;
        for (size_t v = 0; v < V; v++) sum += row[v] = expf(row[v] - mx);
        float inv = (float)(1.0 / sum);
        logp[r] = t == WD_IGNORE_INDEX ? 0.0f : (float)((double)lt - log(sum));
        for (size_t v = 0; v < V; v++) row[v] *= inv;
    }
    return WD_OK;
}

/* ---- backward ------------------------------------------------------------ */

/* dres holds dloss/d(layer l output); leaves dloss/d(layer l input). */
static void layer_bwd(wd__tdec *d, size_t l) {
    wd__tdec_layer *y = &d->lay[l];
    wd__tdec_acts *a = &d->acts[l];
    wd_threadpool *tp = d->tp;
    size_t B = d->B, T = d->T, N = B * T, C = d->C, H = d->H, KV = d->KV, D = d->D, F = d->F;
    if (d->ckpt) layer_fwd(d, l, d->tmp);
    /* MLP */
    memset(d->dact, 0, N * F * sizeof(float));
    linear_bwd(d, d->dact, d->dres, a->act, y->wd, NULL, y->lora[WD__LORA_DOWN], N);
    memset(d->dgate, 0, N * F * sizeof(float));
    memset(d->dup, 0, N * F * sizeof(float));
    wd_op_swiglu_bwd(d->dgate, d->dup, d->dact, a->gate, a->up, N * F, tp);
    memset(d->dxn, 0, N * C * sizeof(float));
    linear_bwd(d, d->dxn, d->dgate, a->xn2, y->wg, NULL, y->lora[WD__LORA_GATE], N);
    linear_bwd(d, d->dxn, d->dup, a->xn2, y->wu, NULL, y->lora[WD__LORA_UP], N);
    wd_op_rmsnorm_bwd(d->dres, d->input_grad_only ? NULL : y->ffn_norm->g, d->dxn, a->x_mid, y->ffn_norm->w, a->rstd2, N, C, tp);
    /* attention */
    memset(d->dao, 0, N * H * D * sizeof(float));
    linear_bwd(d, d->dao, d->dres, a->ao, y->wo, y->bo, y->lora[WD__LORA_O], N);
    wd__tattn_bwd(d->dq, d->dk, d->dv, d->datt, d->dS, d->dao, a->att, a->q, a->k, a->v, B, T, H,
                  KV, D, tp);
    memset(d->dqr, 0, N * H * D * sizeof(float));
    memset(d->dkr, 0, N * KV * D * sizeof(float));
    for (size_t b = 0; b < B; b++) {
        wd_op_rope_bwd(d->dqr + b * T * H * D, d->dq + b * T * H * D, d->rcos, d->rsin, T, H, D,
                       d->rope, tp);
        wd_op_rope_bwd(d->dkr + b * T * KV * D, d->dk + b * T * KV * D, d->rcos, d->rsin, T, KV,
                       D, d->rope, tp);
    }
    memset(d->dxn, 0, N * C * sizeof(float));
    linear_bwd(d, d->dxn, d->dqr, a->xn1, y->wq, y->bq, y->lora[WD__LORA_Q], N);
    linear_bwd(d, d->dxn, d->dkr, a->xn1, y->wk, y->bk, y->lora[WD__LORA_K], N);
    linear_bwd(d, d->dxn, d->dv, a->xn1, y->wv, y->bv, y->lora[WD__LORA_V], N);
    wd_op_rmsnorm_bwd(d->dres, d->input_grad_only ? NULL : y->attn_norm->g, d->dxn, a->x_in, y->attn_norm->w, a->rstd1, N, C,
                      tp);
}

wd_status wd__tdec_backward_hidden(wd__tdec *d, const float *dxnf, float *d_embd_in) {
    size_t N = d->B * d->T, C = d->C;
    memcpy(d->dxn, dxnf, N * C * sizeof(float));
    memset(d->dres, 0, N * C * sizeof(float));
    wd_op_rmsnorm_bwd(d->dres, d->input_grad_only ? NULL : d->norm->g, d->dxn, d->x_out, d->norm->w, d->rstdf, N, C, d->tp);
    for (size_t l = d->L; l-- > 0;) layer_bwd(d, l);
    if (d->embd->g && !d->input_grad_only) {
        wd_status rc = wd_op_embedding_bwd(d->embd->g, d->dres, d->ids, N, C, d->V, d->tp);
        if (rc) return wd__err_set(&d->err, rc, "training: a token id is outside [0, %zu)", d->V);
    }
    if (d_embd_in) memcpy(d_embd_in, d->dres, N * C * sizeof(float));
    return WD_OK;
}

wd_status wd__tdec_backward_logp(wd__tdec *d, const int32_t *targets, const float *dlogp,
                                 float *d_embd_in) {
    size_t N = d->B * d->T, V = d->V, C = d->C;
    /* dlogits = (onehot - p) * dlogp, in place over the probabilities */
    for (size_t r = 0; r < N; r++) {
        float *row = d->logits + r * V;
        int32_t t = targets[r];
        if (t == WD_IGNORE_INDEX || dlogp[r] == 0.0f) {
            memset(row, 0, V * sizeof(float));
            continue;
        }
        float s = -dlogp[r];
        for (size_t v = 0; v < V; v++) row[v] *= s;
        row[t] -= s;
    }
    memset(d->tmp, 0, N * C * sizeof(float));
    wd_op_matmul_bwd(d->tmp, d->input_grad_only ? NULL : d->lm_head->g, NULL, d->logits, d->xnf, d->lm_head->w, N, C, V);
    return wd__tdec_backward_hidden(d, d->tmp, d_embd_in);
}

void wd__tdec_free(wd__tdec *d) {
    if (!d) return;
    if (d->lay)
        for (size_t l = 0; l < d->L; l++)
            for (int i = 0; i < WD__LORA_N_TARGETS; i++) free(d->lay[l].lora[i]);
    wd__tparams_free(&d->P);
    free(d->lay);
    free(d->acts);
    free(d->mem);
    free(d->inv_freq);
    memset(d, 0, sizeof *d);
}
