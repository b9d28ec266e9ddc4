/*
 * model/edit.c - a decoder's weights as F32 arrays the caller may change
 * in place (wd_model_make_writable, wd_model_tensor): the safety landscape
 * perturbs them and puts them back, layer scaling multiplies a range.
 *
 * Every weight -- matrices stored as F32, F16 or BF16 and used in place
 * from the map, norms, biases -- is copied once into memory the model owns
 * (half precision widened exactly), and the model's pointers are switched
 * to the copies, so the forward pass reads what the caller writes. The
 * table lists them with their Hugging Face names in checkpoint order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "tensor/qmatmul.h"

typedef struct builder {
    wd_model    *m;
    wd__mtensor *t;
    size_t       n, cap;
} builder;

static wd_status push(builder *b, const char *name, float *data, size_t rows, size_t cols,
                      bool is_norm) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        wd__mtensor *t = realloc(b->t, cap * sizeof *t);
        if (!t) return WD_ERR_NOMEM;
        b->t = t;
        b->cap = cap;
    }
    wd__mtensor *e = &b->t[b->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->data = data;
    e->rows = rows;
    e->cols = cols;
    e->is_norm = is_norm;
    return WD_OK;
}

/* A matrix (rows, cols) in its stored type -> an owned F32 copy. */
static wd_status matrix(builder *b, const char *name, wd__weight *w, size_t rows, size_t cols) {
    wd_model *m = b->m;
    if (w->type != WD_GGML_TYPE_F32 && w->type != WD_GGML_TYPE_F16 && w->type != WD_GGML_TYPE_BF16)
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "editable weights: %s is stored in %s blocks; only F32, F16 and BF16 "
                           "weights can be edited (use the safetensors checkpoint)",
                           name, wd_ggml_type_name(w->type));
    float *p = malloc(rows * cols * sizeof *p);
    if (!p) return WD_ERR_NOMEM;
    if (w->type == WD_GGML_TYPE_F32) {
        memcpy(p, w->data, rows * cols * sizeof *p);
    } else {
        size_t rs = wd__qmatmul_row_size(w->type, cols);
        for (size_t r = 0; r < rows; r++)
            wd__qmatmul_widen_row(w->type, p + r * cols, (const uint8_t *)w->data + r * rs, cols);
    }
    wd_status rc = wd__model_own(m, p);
    if (rc) {
        free(p);
        return rc;
    }
    m->owned_bytes += rows * cols * sizeof *p;
    *w = (wd__weight){p, WD_GGML_TYPE_F32};
    return push(b, name, p, rows, cols, false);
}

/* A vector (n) -> an owned copy; NULL (an absent bias) is skipped. */
static wd_status vector(builder *b, const char *name, const float **v, size_t n, bool is_norm) {
    if (!*v) return WD_OK;
    float *p = malloc(n * sizeof *p);
    if (!p) return WD_ERR_NOMEM;
    memcpy(p, *v, n * sizeof *p);
    wd_status rc = wd__model_own(b->m, p);
    if (rc) {
        free(p);
        return rc;
    }
    b->m->owned_bytes += n * sizeof *p;
    *v = p;
    return push(b, name, p, 1, n, is_norm);
}

#define TRY(x)                                                                                 \
    do {                                                                                       \
        if ((rc = (x))) goto fail;                                                             \
    } while (0)

wd_status wd_model_make_writable(wd_model *m) {
    if (!m) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_make_writable: NULL model");
    if (m->edit) return WD_OK;
    if (!wd__model_is_decoder(m))
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "editable weights: %s is an encoder; only decoders can be edited",
                           m->cfg->model_type);
    /* the tensors listed below are Llama's: a qwen3's q/k norms, a phi3's
     * fused matrices or a granite's multipliers would be left out */
    wd_status lrc = wd__require_llama_layout(m, m->cfg, "editable weights");
    if (lrc) return lrc;
    size_t C = m->C, HD = m->H * m->D, KD = m->KV * m->D, F = m->F, V = m->V;
    bool tied = m->lm_head.data == m->tok_embd.data;
    builder b = {m, NULL, 0, 0};
    wd_status rc;
    char nm[96];
    TRY(matrix(&b, "model.embed_tokens.weight", &m->tok_embd, V, C));
    if (tied) m->lm_head = m->tok_embd;
    for (size_t l = 0; l < m->L; l++) {
        wd__dec_layer *y = &m->dec[l];
#define N(s) (snprintf(nm, sizeof nm, "model.layers.%zu.%s", l, s), nm)
        TRY(vector(&b, N("input_layernorm.weight"), &y->attn_norm, C, true));
        TRY(matrix(&b, N("self_attn.q_proj.weight"), &y->wq, HD, C));
        TRY(vector(&b, N("self_attn.q_proj.bias"), &y->bq, HD, false));
        TRY(matrix(&b, N("self_attn.k_proj.weight"), &y->wk, KD, C));
        TRY(vector(&b, N("self_attn.k_proj.bias"), &y->bk, KD, false));
        TRY(matrix(&b, N("self_attn.v_proj.weight"), &y->wv, KD, C));
        TRY(vector(&b, N("self_attn.v_proj.bias"), &y->bv, KD, false));
        TRY(matrix(&b, N("self_attn.o_proj.weight"), &y->wo, C, HD));
        TRY(vector(&b, N("self_attn.o_proj.bias"), &y->bo, C, false));
        TRY(vector(&b, N("post_attention_layernorm.weight"), &y->ffn_norm, C, true));
        TRY(matrix(&b, N("mlp.gate_proj.weight"), &y->w_gate, F, C));
        TRY(matrix(&b, N("mlp.up_proj.weight"), &y->w_up, F, C));
        TRY(matrix(&b, N("mlp.down_proj.weight"), &y->w_down, C, F));
#undef N
    }
    TRY(vector(&b, "model.norm.weight", &m->out_norm, C, true));
    if (m->head == WD_HEAD_SCORE) {
        wd__weight w = {m->head_out_w, WD_GGML_TYPE_F32};
        TRY(matrix(&b, "score.weight", &w, m->n_labels, C));
        m->head_out_w = w.data;
    } else if (!tied && m->lm_head.data) {
        TRY(matrix(&b, "lm_head.weight", &m->lm_head, V, C));
    }
    m->edit = b.t;
    m->n_edit = b.n;
    return WD_OK;
fail:
    /* the copies made so far stay owned (and in use): the model is intact */
    free(b.t);
    return rc == WD_ERR_NOMEM ? wd__err_set(&m->err, rc, "editable weights: out of memory") : rc;
}

size_t wd_model_n_tensors(const wd_model *m) { return m ? m->n_edit : 0; }

wd_status wd_model_tensor_at(const wd_model *m, size_t i, wd_model_tensor *out) {
    if (!m || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_tensor_at: NULL argument");
    if (!m->edit)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_model_tensor_at: call wd_model_make_writable first");
    if (i >= m->n_edit)
        return wd__fail(WD_ERR_RANGE, "wd_model_tensor_at: %zu >= %zu tensors", i, m->n_edit);
    const wd__mtensor *t = &m->edit[i];
    *out = (wd_model_tensor){t->name, t->data, t->rows, t->cols, t->is_norm};
    return WD_OK;
}
