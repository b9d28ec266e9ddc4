/*
 * model/model.c - loading a Hugging Face model folder into a wd_model.
 *
 *   DIR/config.json                 -> wd_model_config (config.c)
 *   DIR/model.safetensors           -> wd_checkpoint (one mmap per shard)
 *     or model.safetensors.index.json + shards
 *   DIR/tokenizer.json (optional)   -> wd_tokenizer
 *
 * Weights are bound by their Hugging Face names and checked against the
 * shapes the config implies. Memory: an F32 tensor whose data is 4-byte
 * aligned in the map is used in place (zero copy: the page cache holds it,
 * shared by every process mapping the file), and so are a decoder's
 * matrices stored as F16, BF16 or (GGUF) a ggml block type: the kernels of
 * tensor/qmatmul.c compute on them as they are. Anything else (F64,
 * misaligned data, an encoder's F16/BF16 weights, norms and biases in half
 * precision) is converted once into an F32 copy the model owns.
 *
 * Every failure names the file and the tensor or field: a missing shard
 * names the shard and a tensor the index maps to it; a missing tensor or a
 * wrong shape names the checkpoint file (the shard holding it when known)
 * and the tensor, with the shape expected from config.json.
 */
#include <math.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "model/gemma.h"
#include "model/model_internal.h"
#include "tensor/qmatmul.h"
#include "tensor/threads.h"

#if defined(__has_include)
#if __has_include("warden/tokenizer.h")
#include "warden/tokenizer.h"
#define WD_HAVE_TOKENIZER 1
#endif
#endif

wd_model_params wd_model_params_default(void) {
    wd_model_params p = {.n_threads = 0, .rope_interleaved = -1, .load_tokenizer = true};
    return p;
}

/* ==== Binding tensors ===================================================== */

/* The file holding tensor name (a shard path), or the checkpoint's path. */
static const char *tensor_file(const wd_model *m, const char *name) {
    size_t ns = wd_checkpoint_n_shards(m->ck);
    for (size_t i = 0; i < ns; i++) {
        const wd_safetensors *st = wd_checkpoint_shard(m->ck, i);
        if (wd_safetensors_find(st, name)) return wd_safetensors_path(st);
    }
    return wd_checkpoint_path(m->ck);
}

/* "d0, d1, ..." of n dims into out, for shape messages. */
static void dims_str(const int64_t *d, int n, char *out, size_t cap) {
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n && k + 24 < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? ", " : "", (long long)d[i]);
}

wd_status wd__model_own(wd_model *m, float *p) {
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? 2 * m->cap_owned : 64;
        float **o = realloc(m->owned, cap * sizeof *o);
        if (!o) return WD_ERR_NOMEM;
        m->owned = o;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return WD_OK;
}

/* Binds *out to the tensor name of shape (d0) or (d0,d1) (d1 = 0 for a
 * vector). When required is false and the tensor is absent, *out = NULL and
 * WD_OK. */
static wd_status bind_gguf(wd_model *m, const char *hf_name, int64_t d0, int64_t d1,
                           bool required, const float **out) {
    char name[256];
    const char *file = wd_gguf_path(m->gg);
    if (!wd__gguf_tensor_name_for(m->cfg, hf_name, name, sizeof name))
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED, "%s: no GGUF name for tensor '%s'", file,
                           hf_name);
    const wd_gguf_tensor *t = wd_gguf_find_tensor(m->gg, name);
    if (!t) {
        if (!required) return WD_OK;
        return wd__err_set(&m->err, WD_ERR_NOT_FOUND, "%s: tensor '%s' is missing (%s needs it)",
                           file, name, m->cfg->model_type);
    }
    /* GGUF dims run innermost first: a (d0, d1) weight is ne = {d1, d0} */
    int nd = d1 ? 2 : 1;
    if (t->ndim != nd || (nd == 2 ? t->ne[0] != d1 || t->ne[1] != d0 : t->ne[0] != d0)) {
        char got[96], want[64];
        dims_str(t->ne, t->ndim, got, sizeof got);
        dims_str(nd == 2 ? (const int64_t[]){d1, d0} : (const int64_t[]){d0}, nd, want, sizeof want);
        return wd__err_set(&m->err, WD_ERR_FORMAT,
                           "%s: tensor '%s' has dims [%s], expected [%s] from the %s.* keys", file,
                           name, got, want, m->cfg->model_type);
    }
    m->n_params += t->n_elem;
    m->weight_bytes += t->n_elem * sizeof(float);
    if (t->type == WD_GGML_TYPE_F32 && ((uintptr_t)t->data % alignof(float)) == 0) {
        *out = (const float *)t->data;
        return WD_OK;
    }
    float *p = malloc(t->n_elem * sizeof *p + 1);
    if (!p || wd__model_own(m, p)) {
        free(p);
        return wd__err_set(&m->err, WD_ERR_NOMEM, "%s: out of memory converting tensor '%s'",
                           file, name);
    }
    wd_status rc = wd_gguf_tensor_read_f32(t, p, t->n_elem);
    if (rc) return wd__err_prefix(rc, "%s", file), wd__err_take(&m->err, rc);
    m->owned_bytes += t->n_elem * sizeof *p;
    *out = p;
    return WD_OK;
}

static wd_status bind(wd_model *m, const char *name, int64_t d0, int64_t d1, bool required,
                      const float **out) {
    *out = NULL;
    if (m->gg) return bind_gguf(m, name, d0, d1, required, out);
    const wd_tensor_info *t = wd_checkpoint_find(m->ck, name);
    if (!t) {
        if (!required) return WD_OK;
        /* one file: name it; shards: the index that should have listed it */
        const char *file = wd_checkpoint_n_shards(m->ck) == 1
                               ? wd_safetensors_path(wd_checkpoint_shard(m->ck, 0))
                               : NULL;
        return wd__err_set(&m->err, WD_ERR_NOT_FOUND, "%s%s: tensor '%s' is missing (%s needs it)",
                           file ? file : wd_checkpoint_path(m->ck),
                           file ? "" : "/model.safetensors.index.json", name, m->cfg->model_type);
    }
    int nd = d1 ? 2 : 1;
    if (t->ndim != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
        char got[96], want[64];
        dims_str(t->shape, t->ndim, got, sizeof got);
        dims_str((const int64_t[]){d0, d1}, nd, want, sizeof want);
        return wd__err_set(&m->err, WD_ERR_FORMAT,
                           "%s: tensor '%s' has shape [%s], expected [%s] from config.json",
                           tensor_file(m, name), name, got, want);
    }
    m->n_params += t->n_elem;
    m->weight_bytes += t->n_elem * sizeof(float);
    if (t->dtype == WD_DTYPE_F32 && ((uintptr_t)t->data % alignof(float)) == 0) {
        *out = (const float *)t->data;
        return WD_OK;
    }
    if (t->dtype != WD_DTYPE_F32 && t->dtype != WD_DTYPE_F16 && t->dtype != WD_DTYPE_BF16 &&
        t->dtype != WD_DTYPE_F64)
        return wd__err_set(&m->err, WD_ERR_FORMAT,
                           "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16",
                           tensor_file(m, name), name, wd_dtype_name(t->dtype));
    float *p = malloc(t->n_elem * sizeof *p + 1);
    if (!p || wd__model_own(m, p)) {
        free(p);
        return wd__err_set(&m->err, WD_ERR_NOMEM, "%s: out of memory converting tensor '%s'",
                           tensor_file(m, name), name);
    }
    if (wd_tensor_read_f32(t, p, t->n_elem))
        return wd__err_take(&m->err, WD_ERR_FORMAT);
    m->owned_bytes += t->n_elem * sizeof *p;
    *out = p;
    return WD_OK;
}

/* Binds a decoder matrix (d0, d1) in its stored type when the kernels of
 * tensor/qmatmul.c take it (F32 aligned, F16/BF16 2-byte aligned, a ggml
 * block type whose blocks divide d1), in place in the map; otherwise
 * through bind() as an F32 copy. */
static wd_status bind_weight(wd_model *m, const char *name, int64_t d0, int64_t d1, bool required,
                             wd__weight *out) {
    *out = (wd__weight){NULL, WD_GGML_TYPE_F32};
    const void *data = NULL;
    wd_ggml_type type = WD_GGML_TYPE_F32;
    if (m->gg) {
        char gname[256];
        const wd_gguf_tensor *t =
            wd__gguf_tensor_name_for(m->cfg, name, gname, sizeof gname) ? wd_gguf_find_tensor(m->gg, gname) : NULL;
        if (t && t->type != WD_GGML_TYPE_F32 && wd__qmatmul_supported(t->type) && t->ndim == 2 &&
            t->ne[0] == d1 && t->ne[1] == d0 && (uint64_t)d1 % wd_ggml_type_block_size(t->type) == 0 &&
            ((uintptr_t)t->data % 2) == 0)
            data = t->data, type = t->type;
    } else {
        const wd_tensor_info *t = wd_checkpoint_find(m->ck, name);
        if (t && (t->dtype == WD_DTYPE_F16 || t->dtype == WD_DTYPE_BF16) && t->ndim == 2 &&
            t->shape[0] == d0 && t->shape[1] == d1 && ((uintptr_t)t->data % 2) == 0)
            data = t->data, type = t->dtype == WD_DTYPE_F16 ? WD_GGML_TYPE_F16 : WD_GGML_TYPE_BF16;
    }
    if (data) {
        m->n_params += (uint64_t)(d0 * d1);
        m->weight_bytes += (uint64_t)d0 * wd__qmatmul_row_size(type, (size_t)d1);
        *out = (wd__weight){data, type};
        return WD_OK;
    }
    const float *f = NULL;
    wd_status rc = bind(m, name, d0, d1, required, &f);
    if (!rc) out->data = f;
    return rc;
}

#define BINDW(name, d0, d1, req, out)                                                          \
    do {                                                                                       \
        if ((rc = bind_weight(m, (name), (d0), (d1), (req), (out)))) return rc;                \
    } while (0)

#define BIND(name, d0, d1, req, out)                                                           \
    do {                                                                                       \
        if ((rc = bind(m, (name), (d0), (d1), (req), (out)))) return rc;                       \
    } while (0)

wd_status wd__model_bind(wd_model *m, const char *name, int64_t d0, int64_t d1, bool required,
                         const float **out) {
    return bind(m, name, d0, d1, required, out);
}

wd_status wd__model_bind_weight(wd_model *m, const char *name, int64_t d0, int64_t d1,
                                bool required, wd__weight *out) {
    return bind_weight(m, name, d0, d1, required, out);
}

static wd_status bind_rope(wd_model *m);

static wd_status bind_decoder(wd_model *m) {
    const wd_model_config *c = m->cfg;
    int64_t C = c->hidden_size, HD = c->n_head * c->head_dim, KD = c->n_kv_head * c->head_dim,
            F = c->intermediate_size, V = c->vocab_size;
    wd_status rc;
    if (c->mlp_bias)
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "%s/config.json: field 'mlp_bias': MLP biases are not supported",
                           m->dir);
    m->dec = calloc((size_t)c->n_layer, sizeof *m->dec);
    if (!m->dec) return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    BINDW("model.embed_tokens.weight", V, C, true, &m->tok_embd);
    char n[256];
    for (int64_t l = 0; l < c->n_layer; l++) {
        wd__dec_layer *y = &m->dec[l];
#define LN(s) (snprintf(n, sizeof n, "model.layers.%lld.%s", (long long)l, s), n)
        BIND(LN("input_layernorm.weight"), C, 0, true, &y->attn_norm);
        if (c->fused_qkv) { /* phi3: q, k, v, gate and up are views of two fused matrices */
            if ((rc = wd__phi3_bind_layer(m, (size_t)l, y))) return rc;
        } else {
            BINDW(LN("self_attn.q_proj.weight"), HD, C, true, &y->wq);
            BINDW(LN("self_attn.k_proj.weight"), KD, C, true, &y->wk);
            BINDW(LN("self_attn.v_proj.weight"), KD, C, true, &y->wv);
        }
        if (c->qk_norm) { /* qwen3, gemma3 */
            BIND(LN("self_attn.q_norm.weight"), c->head_dim, 0, true, &y->q_norm);
            BIND(LN("self_attn.k_norm.weight"), c->head_dim, 0, true, &y->k_norm);
        }
        BINDW(LN("self_attn.o_proj.weight"), C, HD, true, &y->wo);
        BIND(LN("self_attn.q_proj.bias"), HD, 0, c->attention_bias, &y->bq);
        BIND(LN("self_attn.k_proj.bias"), KD, 0, c->attention_bias, &y->bk);
        BIND(LN("self_attn.v_proj.bias"), KD, 0, c->attention_bias, &y->bv);
        BIND(LN("self_attn.o_proj.bias"), C, 0, c->attention_out_bias, &y->bo);
        BIND(LN("post_attention_layernorm.weight"), C, 0, true, &y->ffn_norm);
        if (c->gemma) { /* there it normalizes the attention output; the MLP has its own pair */
            y->attn_post_norm = y->ffn_norm;
            BIND(LN("pre_feedforward_layernorm.weight"), C, 0, true, &y->ffn_norm);
            BIND(LN("post_feedforward_layernorm.weight"), C, 0, true, &y->ffn_post_norm);
        }
        if (!c->fused_qkv) {
            BINDW(LN("mlp.gate_proj.weight"), F, C, true, &y->w_gate);
            BINDW(LN("mlp.up_proj.weight"), F, C, true, &y->w_up);
        }
        BINDW(LN("mlp.down_proj.weight"), C, F, true, &y->w_down);
#undef LN
    }
    BIND("model.norm.weight", C, 0, true, &m->out_norm);
    if (c->gemma && (rc = wd__gemma_prepare(m))) return rc;
    /* A reward model (LlamaForSequenceClassification and its kin) replaces
     * the LM head by score (num_labels, C) on the last token (reward.c). */
    if (strstr(c->architecture, "ForSequenceClassification")) {
        m->head = WD_HEAD_SCORE;
        m->n_labels = (size_t)c->num_labels;
        BIND("score.weight", c->num_labels, C, true, &m->head_out_w);
        return bind_rope(m);
    }
    BINDW("lm_head.weight", V, C, !c->tie_word_embeddings, &m->lm_head);
    if (!m->lm_head.data) m->lm_head = m->tok_embd;
    return bind_rope(m);
}

/* The rotary frequencies of a decoder, from config.json (and a .gguf's
 * rope_freqs). */
static wd_status bind_rope(wd_model *m) {
    const wd_model_config *c = m->cfg;
    wd_status rc;
    wd_rope_params rp = wd_rope_params_default();
    rp.theta = c->rope_theta;
    rp.head_dim = (int)m->rope_dim; /* phi3's partial rotary: fewer than head_dim */
    rp.scaling = c->rope_scaling.type;
    if (rp.scaling != WD_ROPE_SCALING_NONE) {
        rp.factor = c->rope_scaling.factor;
        if (c->rope_scaling.low_freq_factor > 0) rp.low_freq_factor = c->rope_scaling.low_freq_factor;
        if (c->rope_scaling.high_freq_factor > 0)
            rp.high_freq_factor = c->rope_scaling.high_freq_factor;
        if (c->rope_scaling.original_max_position_embeddings > 0)
            rp.original_max_position_embeddings = (int)c->rope_scaling.original_max_position_embeddings;
    }
    m->inv_freq = malloc(m->rope_dim / 2 * sizeof *m->inv_freq);
    if (!m->inv_freq) return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    if ((rc = wd_rope_inv_freq(m->inv_freq, &rp)))
        return wd__err_prefix(rc, "%s/config.json: rope", m->dir), wd__err_take(&m->err, rc);
    if (c->longrope.on && (rc = wd__phi3_longrope(m))) return rc;
    /* llama.cpp stores llama3-style scaling as per-frequency divisors */
    const wd_gguf_tensor *rf = m->gg ? wd_gguf_find_tensor(m->gg, "rope_freqs.weight") : NULL;
    if (rf) {
        /* one divisor per rotated pair: rope_dim / 2 (phi3's partial rotary) */
        int64_t half = (int64_t)(m->rope_dim / 2);
        if (rf->type != WD_GGML_TYPE_F32 || rf->ndim != 1 || rf->ne[0] != half)
            return wd__err_set(&m->err, WD_ERR_FORMAT,
                               "%s: tensor 'rope_freqs.weight': expected %lld f32 values",
                               wd_gguf_path(m->gg), (long long)half);
        for (int64_t i = 0; i < half; i++) {
            float f;
            memcpy(&f, (const char *)rf->data + 4 * i, 4);
            if (!(f > 0))
                return wd__err_set(&m->err, WD_ERR_FORMAT,
                                   "%s: tensor 'rope_freqs.weight': value %lld is not positive",
                                   wd_gguf_path(m->gg), (long long)i);
            m->inv_freq[i] /= f;
        }
    }
    return WD_OK;
}

/* Encoders saved as *ForSequenceClassification prefix their body with the
 * model type ("bert.embeddings..."); a bare BertModel (sentence embedders)
 * has no prefix. */
static wd_status bind_encoder(wd_model *m) {
    const wd_model_config *c = m->cfg;
    int64_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    bool distil = c->type == WD_MODEL_TYPE_DISTILBERT;
    wd_status rc;
    char pre[48], n[256];
    snprintf(pre, sizeof pre, "%s.", wd__encoder_prefix(c));
    snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", pre);
    if (!wd_checkpoint_find(m->ck, n)) pre[0] = '\0';
#define PN(s) (snprintf(n, sizeof n, "%s%s", pre, s), n)
    BIND(PN("embeddings.word_embeddings.weight"), V, C, true, &m->word_embd);
    BIND(PN("embeddings.position_embeddings.weight"), c->max_position_embeddings, C, true,
         &m->pos_embd);
    if (!distil)
        BIND(PN("embeddings.token_type_embeddings.weight"),
             c->type_vocab_size > 0 ? c->type_vocab_size : 1, C, c->type_vocab_size > 0,
             &m->type_embd);
    BIND(PN("embeddings.LayerNorm.weight"), C, 0, true, &m->embd_ln_w);
    BIND(PN("embeddings.LayerNorm.bias"), C, 0, true, &m->embd_ln_b);
#undef PN
    m->enc = calloc((size_t)c->n_layer, sizeof *m->enc);
    if (!m->enc) return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    for (int64_t l = 0; l < c->n_layer; l++) {
        wd__enc_layer *y = &m->enc[l];
        const char *lay = distil ? "transformer.layer" : "encoder.layer";
#define LN(s) (snprintf(n, sizeof n, "%s%s.%lld.%s", pre, lay, (long long)l, s), n)
        if (distil) {
            BIND(LN("attention.q_lin.weight"), C, C, true, &y->wq);
            BIND(LN("attention.q_lin.bias"), C, 0, true, &y->bq);
            BIND(LN("attention.k_lin.weight"), C, C, true, &y->wk);
            BIND(LN("attention.k_lin.bias"), C, 0, true, &y->bk);
            BIND(LN("attention.v_lin.weight"), C, C, true, &y->wv);
            BIND(LN("attention.v_lin.bias"), C, 0, true, &y->bv);
            BIND(LN("attention.out_lin.weight"), C, C, true, &y->wo);
            BIND(LN("attention.out_lin.bias"), C, 0, true, &y->bo);
            BIND(LN("sa_layer_norm.weight"), C, 0, true, &y->ln1_w);
            BIND(LN("sa_layer_norm.bias"), C, 0, true, &y->ln1_b);
            BIND(LN("ffn.lin1.weight"), F, C, true, &y->w_in);
            BIND(LN("ffn.lin1.bias"), F, 0, true, &y->b_in);
            BIND(LN("ffn.lin2.weight"), C, F, true, &y->w_out);
            BIND(LN("ffn.lin2.bias"), C, 0, true, &y->b_out);
            BIND(LN("output_layer_norm.weight"), C, 0, true, &y->ln2_w);
            BIND(LN("output_layer_norm.bias"), C, 0, true, &y->ln2_b);
        } else {
            BIND(LN("attention.self.query.weight"), C, C, true, &y->wq);
            BIND(LN("attention.self.query.bias"), C, 0, true, &y->bq);
            BIND(LN("attention.self.key.weight"), C, C, true, &y->wk);
            BIND(LN("attention.self.key.bias"), C, 0, true, &y->bk);
            BIND(LN("attention.self.value.weight"), C, C, true, &y->wv);
            BIND(LN("attention.self.value.bias"), C, 0, true, &y->bv);
            BIND(LN("attention.output.dense.weight"), C, C, true, &y->wo);
            BIND(LN("attention.output.dense.bias"), C, 0, true, &y->bo);
            BIND(LN("attention.output.LayerNorm.weight"), C, 0, true, &y->ln1_w);
            BIND(LN("attention.output.LayerNorm.bias"), C, 0, true, &y->ln1_b);
            BIND(LN("intermediate.dense.weight"), F, C, true, &y->w_in);
            BIND(LN("intermediate.dense.bias"), F, 0, true, &y->b_in);
            BIND(LN("output.dense.weight"), C, F, true, &y->w_out);
            BIND(LN("output.dense.bias"), C, 0, true, &y->b_out);
            BIND(LN("output.LayerNorm.weight"), C, 0, true, &y->ln2_w);
            BIND(LN("output.LayerNorm.bias"), C, 0, true, &y->ln2_b);
        }
#undef LN
    }
    /* The classification head, when the architecture says there is one. */
    bool seqcls = strstr(c->architecture, "ForSequenceClassification") != NULL;
    if (!seqcls) {
        if (wd_checkpoint_find(m->ck, "classifier.weight") ||
            wd_checkpoint_find(m->ck, "classifier.out_proj.weight"))
            seqcls = true; /* config without architectures */
    }
    if (!seqcls) return WD_OK;
    int64_t NL = c->num_labels;
    m->n_labels = (size_t)NL;
    if (wd__encoder_is_roberta(c)) {
        m->head = WD_HEAD_ROBERTA;
        BIND("classifier.dense.weight", C, C, true, &m->head_dense_w);
        BIND("classifier.dense.bias", C, 0, true, &m->head_dense_b);
        BIND("classifier.out_proj.weight", NL, C, true, &m->head_out_w);
        BIND("classifier.out_proj.bias", NL, 0, true, &m->head_out_b);
    } else if (distil) {
        m->head = WD_HEAD_DISTILBERT;
        BIND("pre_classifier.weight", C, C, true, &m->head_dense_w);
        BIND("pre_classifier.bias", C, 0, true, &m->head_dense_b);
        BIND("classifier.weight", NL, C, true, &m->head_out_w);
        BIND("classifier.bias", NL, 0, true, &m->head_out_b);
    } else {
        m->head = WD_HEAD_BERT;
        snprintf(n, sizeof n, "%spooler.dense.weight", pre);
        BIND(n, C, C, true, &m->head_dense_w);
        snprintf(n, sizeof n, "%spooler.dense.bias", pre);
        BIND(n, C, 0, true, &m->head_dense_b);
        BIND("classifier.weight", NL, C, true, &m->head_out_w);
        BIND("classifier.bias", NL, 0, true, &m->head_out_b);
    }
    return WD_OK;
}
/* ModernBERT (modeling_modernbert.py): the body is "model." in
 * ModernBertForSequenceClassification, bare in a saved ModernBertModel.
 * A tensor config.json says is absent (norm_bias, attention_bias, mlp_bias,
 * classifier_bias false) is not bound even when the file has it, as
 * transformers ignores it; layer 0's attn_norm is an Identity. */
static wd_status bind_modernbert(wd_model *m) {
    const wd_model_config *c = m->cfg;
    int64_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    bool nb = c->norm_bias, ab = c->attention_bias, mb = c->mlp_bias;
    wd_status rc;
    if (!m->ck)
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "%s: ModernBERT runs from a Hugging Face safetensors folder, not GGUF",
                           m->dir);
    char pre[8] = "model.", n[256];
    if (!wd_checkpoint_find(m->ck, "model.embeddings.tok_embeddings.weight")) pre[0] = '\0';
#define PN(s) (snprintf(n, sizeof n, "%s%s", pre, s), n)
#define OPT(flag, name, d0, d1, out)                                                           \
    do {                                                                                       \
        if (flag) BIND(name, d0, d1, true, out);                                               \
    } while (0)
    BIND(PN("embeddings.tok_embeddings.weight"), V, C, true, &m->word_embd);
    BIND(PN("embeddings.norm.weight"), C, 0, true, &m->embd_ln_w);
    OPT(nb, PN("embeddings.norm.bias"), C, 0, &m->embd_ln_b);
    m->mbert = calloc((size_t)c->n_layer, sizeof *m->mbert);
    if (!m->mbert) return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    for (int64_t l = 0; l < c->n_layer; l++) {
        wd__mbert_layer *y = &m->mbert[l];
#define LN(s) (snprintf(n, sizeof n, "%slayers.%lld.%s", pre, (long long)l, s), n)
        if (l > 0) {
            BIND(LN("attn_norm.weight"), C, 0, true, &y->attn_norm_w);
            OPT(nb, LN("attn_norm.bias"), C, 0, &y->attn_norm_b);
        }
        BIND(LN("attn.Wqkv.weight"), 3 * C, C, true, &y->wqkv);
        OPT(ab, LN("attn.Wqkv.bias"), 3 * C, 0, &y->bqkv);
        BIND(LN("attn.Wo.weight"), C, C, true, &y->wo);
        OPT(ab, LN("attn.Wo.bias"), C, 0, &y->bo);
        BIND(LN("mlp_norm.weight"), C, 0, true, &y->mlp_norm_w);
        OPT(nb, LN("mlp_norm.bias"), C, 0, &y->mlp_norm_b);
        BIND(LN("mlp.Wi.weight"), 2 * F, C, true, &y->wi);
        OPT(mb, LN("mlp.Wi.bias"), 2 * F, 0, &y->bi);
        BIND(LN("mlp.Wo.weight"), C, F, true, &y->w_out);
        OPT(mb, LN("mlp.Wo.bias"), C, 0, &y->b_out);
#undef LN
    }
    BIND(PN("final_norm.weight"), C, 0, true, &m->final_norm_w);
    OPT(nb, PN("final_norm.bias"), C, 0, &m->final_norm_b);
#undef PN
    /* rotary frequencies of the global and the local layers */
    m->inv_freq = malloc((size_t)c->head_dim / 2 * sizeof *m->inv_freq);
    m->inv_freq_local = malloc((size_t)c->head_dim / 2 * sizeof *m->inv_freq_local);
    if (!m->inv_freq || !m->inv_freq_local)
        return wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
    wd_rope_params rp = wd_rope_params_default();
    rp.head_dim = (int)c->head_dim;
    rp.theta = c->rope_theta;
    if (!(rc = wd_rope_inv_freq(m->inv_freq, &rp))) {
        rp.theta = c->local_rope_theta;
        rc = wd_rope_inv_freq(m->inv_freq_local, &rp);
    }
    if (rc) return wd__err_prefix(rc, "%s/config.json: rope", m->dir), wd__err_take(&m->err, rc);
    /* the classification head, when the architecture says there is one */
    if (!strstr(c->architecture, "ForSequenceClassification") &&
        !wd_checkpoint_find(m->ck, "classifier.weight"))
        return WD_OK;
    int64_t NL = c->num_labels;
    m->head = WD_HEAD_MODERNBERT;
    m->n_labels = (size_t)NL;
    BIND("head.dense.weight", C, C, true, &m->head_dense_w);
    OPT(c->classifier_bias, "head.dense.bias", C, 0, &m->head_dense_b);
    BIND("head.norm.weight", C, 0, true, &m->head_norm_w);
    OPT(nb, "head.norm.bias", C, 0, &m->head_norm_b);
    BIND("classifier.weight", NL, C, true, &m->head_out_w);
    BIND("classifier.bias", NL, 0, true, &m->head_out_b);
#undef OPT
    return WD_OK;
}
#undef BIND

/* When the checkpoint cannot be opened because the index names a shard that
 * is not there, say which shard and which tensors it should hold. */
static void explain_missing_shard(const char *dir) {
    char *ip = wd__path_join(dir, "model.safetensors.index.json");
    cJSON *idx = NULL;
    if (!ip || !wd__path_exists(ip) || wd__json_load_file(ip, 0, &idx)) goto out;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
    for (const cJSON *e = wm ? wm->child : NULL; e; e = e->next) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/')) continue;
        char *sp = wd__path_join(dir, e->valuestring);
        bool missing = sp && !wd__path_exists(sp);
        if (missing) {
            size_t count = 0;
            for (const cJSON *f = wm->child; f; f = f->next)
                if (cJSON_IsString(f) && !strcmp(f->valuestring, e->valuestring)) count++;
            wd__fail(WD_ERR_NOT_FOUND,
                     "%s: missing shard: %s maps %zu tensor%s to it, e.g. tensor '%s'", sp, ip,
                     count, count == 1 ? "" : "s", e->string);
            free(sp);
            goto out;
        }
        free(sp);
    }
out:
    cJSON_Delete(idx);
    free(ip);
}

wd_status wd_model_load(const char *dir, const wd_model_params *params, wd_model **out) {
    if (out) *out = NULL;
    if (!dir || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_load: NULL argument");
    wd_model_params p = params ? *params : wd_model_params_default();
    if (p.n_threads < 0 || p.n_threads > 1024)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_model_load: n_threads %d out of range",
                        p.n_threads);
    wd_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    size_t dl = strlen(dir);
    bool gguf = dl > 5 && !strcmp(dir + dl - 5, ".gguf") && !wd__path_is_dir(dir);
    wd_status rc;
    if (gguf) {
        if ((rc = wd_gguf_open(dir, &m->gg)) || (rc = wd__gguf_load_config(m->gg, &m->cfg)))
            goto fail;
    } else if ((rc = wd_model_config_load(dir, &m->cfg))) {
        goto fail;
    }
    const wd_model_config *c = m->cfg;
    /* Architectures warden runs: the families' causal LMs / base models and
     * the encoders' sequence classifiers / base models. */
    if (c->architecture[0]) {
        static const char *ok_suffix[] = {"ForCausalLM", "Model", "ForSequenceClassification"};
        bool ok = false;
        for (size_t i = 0; i < 3; i++) {
            size_t la = strlen(c->architecture), ls = strlen(ok_suffix[i]);
            if (la >= ls && !strcmp(c->architecture + la - ls, ok_suffix[i])) ok = true;
        }
        if (!ok) {
            rc = wd__fail(WD_ERR_UNSUPPORTED,
                          "%s/config.json: field 'architectures': %s is not supported (warden "
                          "runs *ForCausalLM decoders, *Model and *ForSequenceClassification "
                          "decoders and encoders)",
                          dir, c->architecture);
            goto fail;
        }
    }
    if (c->rope_scaling.type == WD_ROPE_SCALING_DYNAMIC) {
        rc = wd__fail(WD_ERR_UNSUPPORTED,
                      "%s/config.json: field 'rope_scaling': dynamic NTK scaling is not supported",
                      dir);
        goto fail;
    }
    if (!gguf && (rc = wd_checkpoint_open(dir, &m->ck))) {
        if (rc == WD_ERR_NOT_FOUND || rc == WD_ERR_IO) explain_missing_shard(dir);
        goto fail;
    }
    m->C = (size_t)c->hidden_size;
    m->H = (size_t)c->n_head;
    m->KV = (size_t)c->n_kv_head;
    m->D = (size_t)c->head_dim;
    m->F = (size_t)c->intermediate_size;
    m->V = (size_t)c->vocab_size;
    m->L = (size_t)c->n_layer;
    m->n_pos = (size_t)c->max_position_embeddings;
    m->eps = (float)c->norm_eps;
    m->rope_dim = wd__phi3_rope_dim(c);
    m->rope_attn_factor = 1.0f;
    m->attn_scale = c->type == WD_MODEL_TYPE_GRANITE ? (float)c->attention_multiplier
                                                     : 1.0f / sqrtf((float)m->D);
    m->embd_scale = (float)c->embedding_multiplier;
    m->res_scale = (float)c->residual_multiplier;
    m->logits_div = (float)c->logits_scaling;
    /* llama.cpp's converter permutes a llama's (and a granite's, a LlamaModel
     * there) q/k rows into the interleaved layout */
    int ri = p.rope_interleaved >= 0 ? p.rope_interleaved != 0
             : gguf ? c->type == WD_MODEL_TYPE_LLAMA || c->type == WD_MODEL_TYPE_GRANITE
                                     : c->rope_interleaved;
    m->rope_layout = ri ? WD_ROPE_LAYOUT_INTERLEAVED : WD_ROPE_LAYOUT_HALF;
    if (c->family == WD_MODEL_FAMILY_DECODER) {
        if (c->n_head % c->n_kv_head) {
            rc = wd__fail(WD_ERR_FORMAT, "%s/config.json: num_attention_heads %lld is not a "
                          "multiple of num_key_value_heads %lld", dir, (long long)c->n_head,
                          (long long)c->n_kv_head);
            goto fail;
        }
        rc = bind_decoder(m);
    } else if (c->type == WD_MODEL_TYPE_MODERNBERT) {
        rc = bind_modernbert(m);
    } else if (c->type == WD_MODEL_TYPE_DEBERTA_V2) {
        rc = m->gg ? wd__fail(WD_ERR_UNSUPPORTED, "%s: deberta-v2 runs from safetensors folders, "
                              "not GGUF files", dir)
                   : wd__deberta_bind(m);
    } else {
        rc = bind_encoder(m);
    }
    if (rc) goto fail;

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    m->n_threads = p.n_threads > 0 ? p.n_threads : (int)(ncpu > 0 ? ncpu : 1);
    if ((rc = wd_threadpool_new(m->n_threads, &m->tp))) goto fail;
    wd_blas_set_threads(m->n_threads);
    /* every weight will be read: start reading the files sequentially now
     * (faulted in one page at a time, a 4 GB model decoded 1.5x slower) */
    if (m->gg) wd_gguf_prefetch(m->gg);
    for (size_t i = 0; m->ck && i < wd_checkpoint_n_shards(m->ck); i++)
        wd_safetensors_prefetch(wd_checkpoint_shard(m->ck, i));
    /* layers whose matrices run on the pool (tensor/qmatmul) call it back to
     * back: its threads poll between calls instead of sleeping */
    if (m->dec && m->dec[0].wq.type != WD_GGML_TYPE_F32) wd__threads_set_spin(m->tp, 50000);

#ifdef WD_HAVE_TOKENIZER
    if (p.load_tokenizer && gguf) {
        rc = wd__gguf_load_tokenizer(m->gg, &m->tok);
        if (rc == WD_ERR_NOT_FOUND) rc = WD_OK;
        if (rc) goto fail;
    } else if (p.load_tokenizer) {
        char *tp = wd__path_join(dir, "tokenizer.json");
        if (tp && wd__path_exists(tp)) {
            rc = wd_tokenizer_load(dir, &m->tok);
            if (rc) {
                free(tp);
                goto fail;
            }
        }
        free(tp);
    }
#endif
    *out = m;
    return WD_OK;
fail:
    wd__err_take(&m->err, rc);
    wd_model_free(m);
    return rc;
}

void wd_model_free(wd_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->dec);
    free(m->enc);
    wd__deberta_free(m->deb);
    free(m->steer_add);
    free(m->steer_ablate);
    free(m->steer_ablate_to);
    free(m->edit);
    free(m->inv_freq);
    free(m->inv_freq_local);
    free(m->mbert);
    wd_threadpool_free(m->tp);
    wd_checkpoint_free(m->ck);
    wd_gguf_free(m->gg);
    wd_model_config_free(m->cfg);
#ifdef WD_HAVE_TOKENIZER
    wd_tokenizer_free(m->tok);
#endif
    free(m->dir);
    free(m);
}

const wd_model_config *wd_model_get_config(const wd_model *m) { return m ? m->cfg : NULL; }
const wd_tokenizer *wd_model_tokenizer(const wd_model *m) { return m ? m->tok : NULL; }
size_t wd_model_n_vocab(const wd_model *m) { return m ? m->V : 0; }
size_t wd_model_n_embd(const wd_model *m) { return m ? m->C : 0; }
size_t wd_model_n_labels(const wd_model *m) { return m ? m->n_labels : 0; }
uint64_t wd_model_n_params(const wd_model *m) { return m ? m->n_params : 0; }
uint64_t wd_model_weight_bytes(const wd_model *m) { return m ? m->weight_bytes : 0; }
uint64_t wd_model_owned_bytes(const wd_model *m) { return m ? m->owned_bytes : 0; }
const char *wd_model_last_error(const wd_model *m) { return m ? wd__err_msg(&m->err) : ""; }

const char *wd_model_label(const wd_model *m, size_t i) {
    if (!m || i >= m->n_labels || !m->cfg->id2label || (int64_t)i >= m->cfg->num_labels)
        return NULL;
    return m->cfg->id2label[i];
}

wd_status wd__require_llama_layout(wd_model *m, const wd_model_config *c, const char *what) {
    if (c->type == WD_MODEL_TYPE_LLAMA || c->type == WD_MODEL_TYPE_MISTRAL ||
        c->type == WD_MODEL_TYPE_QWEN2)
        return WD_OK;
    if (m)
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "%s: %s is not supported for model_type '%s' (llama, mistral, qwen2 "
                           "only)", m->dir, what, c->model_type);
    return wd__fail(WD_ERR_UNSUPPORTED,
                    "%s is not supported for model_type '%s' (llama, mistral, qwen2 only)", what,
                    c->model_type);
}
