/*
 * tests/tools/gen_checkpoint.c - see gen_checkpoint.h.
 *
 * Tensor names and shapes follow the transformers modeling code
 * (nn.Linear weights are [out_features, in_features]):
 *
 *   LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM
 *     model.embed_tokens.weight                    [V, H]
 *     model.layers.L.input_layernorm.weight        [H]
 *     model.layers.L.self_attn.q_proj.weight       [nh*hd, H]   (+ .bias qwen2, llama w/ bias)
 *     model.layers.L.self_attn.k_proj.weight       [nkv*hd, H]  (+ .bias)
 *     model.layers.L.self_attn.v_proj.weight       [nkv*hd, H]  (+ .bias)
 *     model.layers.L.self_attn.o_proj.weight       [H, nh*hd]   (+ .bias llama w/ bias only)
 *     model.layers.L.post_attention_layernorm.weight [H]
 *     model.layers.L.mlp.gate_proj.weight / up_proj.weight [I, H], down_proj.weight [H, I]
 *     model.norm.weight [H];  lm_head.weight [V, H] unless tie_word_embeddings
 *
 *   Qwen3ForCausalLM: Llama's names, biases on q/k/v/o with attention_bias, and
 *     model.layers.L.self_attn.q_norm.weight / k_norm.weight [hd]
 *   Phi3ForCausalLM: Llama's names except
 *     model.layers.L.self_attn.qkv_proj.weight [(nh + 2 nkv)*hd, H] (q, k, v rows)
 *     model.layers.L.mlp.gate_up_proj.weight [2I, H] (gate rows, then up rows)
 *   GraniteForCausalLM: Llama's names (biases on q/k/v/o with attention_bias)
 *   Gemma2ForCausalLM / Gemma3ForCausalLM (hd = head_dim, may differ from H / nh)
 *     model.embed_tokens.weight [V, H]
 *     model.layers.L.input_layernorm.weight [H]
 *     model.layers.L.self_attn.{q,k,v}_proj.weight [nh*hd | nkv*hd, H], o_proj.weight [H, nh*hd]
 *     model.layers.L.self_attn.q_norm.weight / k_norm.weight [hd]   (gemma3 only)
 *     model.layers.L.{post_attention,pre_feedforward,post_feedforward}_layernorm.weight [H]
 *     model.layers.L.mlp.gate_proj / up_proj [I, H], down_proj [H, I]
 *     model.norm.weight [H]; lm_head.weight [V, H] only when untied
 *   Gemma's RMSNorm scales by (1 + weight): its norms are drawn around 0.
 *
 *   BertForSequenceClassification (prefix bert.) / RobertaForSequenceClassification (roberta.)
 *     P.embeddings.{word_embeddings [V,H], position_embeddings [P,H],
 *                   token_type_embeddings [T,H], LayerNorm.weight/bias [H]}
 *     P.encoder.layer.L.attention.self.{query,key,value}.weight [H,H] / .bias [H]
 *     P.encoder.layer.L.attention.output.dense.weight [H,H] / .bias, .output.LayerNorm.*
 *     P.encoder.layer.L.intermediate.dense.weight [I,H] / .bias [I]
 *     P.encoder.layer.L.output.dense.weight [H,I] / .bias [H], .output.LayerNorm.*
 *     bert: bert.pooler.dense.weight [H,H] / .bias, classifier.weight [C,H] / .bias [C]
 *     roberta (no pooler): classifier.dense.weight [H,H] / .bias,
 *                          classifier.out_proj.weight [C,H] / .bias [C]
 *
 *   DistilBertForSequenceClassification
 *     distilbert.embeddings.{word_embeddings [V,D], position_embeddings [P,D], LayerNorm.*}
 *     distilbert.transformer.layer.L.attention.{q_lin,k_lin,v_lin,out_lin}.weight [D,D] / .bias
 *     distilbert.transformer.layer.L.sa_layer_norm.*, .ffn.lin1 [F,D], .ffn.lin2 [D,F],
 *     distilbert.transformer.layer.L.output_layer_norm.*
 *     pre_classifier.weight [D,D] / .bias, classifier.weight [C,D] / .bias
 *
 *   ModernBertForSequenceClassification (modeling_modernbert.py; B = optional
 *   bias, written with attention_bias: norm_bias, attention_bias, mlp_bias and
 *   classifier_bias all true)
 *     model.embeddings.tok_embeddings.weight [V,H], model.embeddings.norm.weight [H] (+B)
 *     model.layers.L.attn_norm.weight [H] (+B; not on layer 0: an Identity)
 *     model.layers.L.attn.Wqkv.weight [3H,H] (+B), model.layers.L.attn.Wo.weight [H,H] (+B)
 *     model.layers.L.mlp_norm.weight [H] (+B)
 *     model.layers.L.mlp.Wi.weight [2I,H] (+B), model.layers.L.mlp.Wo.weight [H,I] (+B)
 *     model.final_norm.weight [H] (+B)
 *     head.dense.weight [H,H] (+B), head.norm.weight [H] (+B),
 *     classifier.weight [C,H] / .bias [C]
 *   DebertaV2ForSequenceClassification (prefix deberta.; E = embedding_size)
 *     deberta.embeddings.{word_embeddings [V,E], position_embeddings [P,E] (position_biased_input),
 *                         token_type_embeddings [T,E] (type_vocab_size > 0),
 *                         embed_proj.weight [H,E] (E != H, no bias), LayerNorm.* [H]}
 *     deberta.encoder.layer.L.attention.self.{query_proj,key_proj,value_proj}.weight [H,H] / .bias
 *       (+ pos_key_proj, pos_query_proj [H,H] / .bias unless share_att_key)
 *     deberta.encoder.layer.L.{attention.output.dense, attention.output.LayerNorm,
 *                              intermediate.dense [I,H], output.dense [H,I], output.LayerNorm}
 *     deberta.encoder.rel_embeddings.weight [2S,H] (S = position_buckets, or max_relative_positions)
 *     deberta.encoder.LayerNorm.* [H] (norm_rel_ebd "layer_norm")
 *     pooler.dense.weight [H,H] / .bias (ContextPooler), classifier.weight [C,H] / .bias [C]
 *
 * Buffers (position_ids, rotary inv_freq) are not saved: current transformers
 * registers them as non-persistent.
 */
#include "gen_checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/rng.h"
#include "warden/ops.h"

wdt_gen_params wdt_gen_params_default(const char *family) {
    wdt_gen_params p;
    memset(&p, 0, sizeof p);
    p.family = family ? family : "llama";
    p.seed = 1;
    p.dtype = WD_DTYPE_F32;
    p.n_layer = 2;
    p.hidden = 32;
    p.n_head = 4;
    p.n_kv_head = 0;
    p.intermediate = 64;
    p.vocab = 128;
    p.max_pos = 64;
    p.num_labels = 2;
    p.shards = 1;
    p.rope_theta = 10000.0;
    p.position_buckets = 256;
    p.max_relative_positions = -1;
    return p;
}

/* ==== tensor list ======================================================= */

typedef struct {
    char    name[160];
    int64_t shape[2];
    int     ndim;
    void   *data;
    size_t  nbytes;
} gt;

typedef struct {
    const wdt_gen_params *p;
    uint64_t              rng;
    gt                   *t;
    size_t                n, cap;
    bool                  oom;
} gen;

static uint64_t next(uint64_t *s) { return wd__rng_next(s); }

/* center + U(-scale, scale) for every element */
static void add(gen *g, const char *name, int64_t d0, int64_t d1, float center, float scale) {
    if (g->oom) return;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        gt *nt = realloc(g->t, cap * sizeof *nt);
        if (!nt) {
            g->oom = true;
            return;
        }
        g->t = nt;
        g->cap = cap;
    }
    gt *t = &g->t[g->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->ndim = d1 ? 2 : 1;
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1), es = wd_dtype_size(g->p->dtype);
    t->nbytes = n * es;
    t->data = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->data) {
        g->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float u = (float)((next(&g->rng) >> 40) * (1.0 / 16777216.0)); /* [0, 1) */
        float v = center + scale * (2.0f * u - 1.0f);
        /* round to nearest even, through the tensor layer's converters */
        if (g->p->dtype == WD_DTYPE_F16) wd_f32_to_f16((uint16_t *)t->data + i, &v, 1);
        else if (g->p->dtype == WD_DTYPE_BF16) wd_f32_to_bf16((uint16_t *)t->data + i, &v, 1);
        else ((float *)t->data)[i] = v;
    }
    g->n++;
}

/* nn.Linear's default init range U(-1/sqrt(in), 1/sqrt(in)) keeps
 * activations O(1) through the layers; biases and norms get visible but
 * modest noise so that a missing bias or a wrong eps shows in logits. */
static void linear(gen *g, const char *name, int64_t out, int64_t in, bool bias) {
    char buf[200];
    snprintf(buf, sizeof buf, "%.180s.weight", name);
    add(g, buf, out, in, 0.0f, 1.0f / sqrtf((float)in));
    if (bias) {
        snprintf(buf, sizeof buf, "%.180s.bias", name);
        add(g, buf, out, 0, 0.0f, 0.1f);
    }
}

static void norm(gen *g, const char *name, int64_t h, bool bias) {
    char buf[200];
    snprintf(buf, sizeof buf, "%.180s.weight", name);
    add(g, buf, h, 0, 1.0f, 0.2f);
    if (bias) {
        snprintf(buf, sizeof buf, "%.180s.bias", name);
        add(g, buf, h, 0, 0.0f, 0.1f);
    }
}

/* ==== families ========================================================== */

static int kv_heads(const wdt_gen_params *p) {
    if (p->n_kv_head > 0) return p->n_kv_head;
    return p->n_head % 2 == 0 ? p->n_head / 2 : p->n_head;
}

static void decoder_tensors(gen *g) {
    const wdt_gen_params *p = g->p;
    bool qwen2 = !strcmp(p->family, "qwen2"), llama = !strcmp(p->family, "llama");
    bool qwen3 = !strcmp(p->family, "qwen3"), phi3 = !strcmp(p->family, "phi3");
    bool own_bias = llama || qwen3 || !strcmp(p->family, "granite"); /* attention_bias: q,k,v,o */
    bool qkv_bias = qwen2 || (own_bias && p->attention_bias), o_bias = own_bias && p->attention_bias;
    int64_t H = p->hidden, hd = p->head_dim ? p->head_dim : p->hidden / p->n_head, nh = p->n_head,
            nkv = kv_heads(p);
    char pre[160], buf[200];
    add(g, "model.embed_tokens.weight", p->vocab, H, 0.0f, 1.0f);
    for (int l = 0; l < p->n_layer; l++) {
        snprintf(pre, sizeof pre, "model.layers.%d.", l);
#define N(s) (snprintf(buf, sizeof buf, "%s%s", pre, s), buf)
        norm(g, N("input_layernorm"), H, false);
        if (phi3) {
            linear(g, N("self_attn.qkv_proj"), (nh + 2 * nkv) * hd, H, false);
        } else {
            linear(g, N("self_attn.q_proj"), nh * hd, H, qkv_bias);
            linear(g, N("self_attn.k_proj"), nkv * hd, H, qkv_bias);
            linear(g, N("self_attn.v_proj"), nkv * hd, H, qkv_bias);
        }
        linear(g, N("self_attn.o_proj"), H, nh * hd, o_bias);
        if (qwen3) {
            norm(g, N("self_attn.q_norm"), hd, false);
            norm(g, N("self_attn.k_norm"), hd, false);
        }
        norm(g, N("post_attention_layernorm"), H, false);
        if (phi3) {
            linear(g, N("mlp.gate_up_proj"), 2 * (int64_t)p->intermediate, H, false);
        } else {
            linear(g, N("mlp.gate_proj"), p->intermediate, H, false);
            linear(g, N("mlp.up_proj"), p->intermediate, H, false);
        }
        linear(g, N("mlp.down_proj"), H, p->intermediate, false);
#undef N
    }
    norm(g, "model.norm", H, false);
    if (!p->tie) linear(g, "lm_head", p->vocab, H, false);
}

static bool is_gemma(const char *f) { return !strcmp(f, "gemma2") || !strcmp(f, "gemma3"); }

static int head_dim(const wdt_gen_params *p) {
    return p->head_dim > 0 && is_gemma(p->family) ? p->head_dim : p->hidden / p->n_head;
}

/* Gemma's norms hold the offset from one. */
static void gemma_norm(gen *g, const char *name, int64_t h) {
    char buf[200];
    snprintf(buf, sizeof buf, "%.180s.weight", name);
    add(g, buf, h, 0, 0.0f, 0.3f);
}

static void gemma_tensors(gen *g) {
    const wdt_gen_params *p = g->p;
    bool g3 = !strcmp(p->family, "gemma3");
    int64_t H = p->hidden, hd = head_dim(p), nh = p->n_head, nkv = kv_heads(p);
    char pre[160], buf[200];
    add(g, "model.embed_tokens.weight", p->vocab, H, 0.0f, 1.0f);
    for (int l = 0; l < p->n_layer; l++) {
        snprintf(pre, sizeof pre, "model.layers.%d.", l);
#define N(s) (snprintf(buf, sizeof buf, "%s%s", pre, s), buf)
        gemma_norm(g, N("input_layernorm"), H);
        linear(g, N("self_attn.q_proj"), nh * hd, H, false);
        linear(g, N("self_attn.k_proj"), nkv * hd, H, false);
        linear(g, N("self_attn.v_proj"), nkv * hd, H, false);
        linear(g, N("self_attn.o_proj"), H, nh * hd, false);
        if (g3) {
            gemma_norm(g, N("self_attn.q_norm"), hd);
            gemma_norm(g, N("self_attn.k_norm"), hd);
        }
        gemma_norm(g, N("post_attention_layernorm"), H);
        gemma_norm(g, N("pre_feedforward_layernorm"), H);
        gemma_norm(g, N("post_feedforward_layernorm"), H);
        linear(g, N("mlp.gate_proj"), p->intermediate, H, false);
        linear(g, N("mlp.up_proj"), p->intermediate, H, false);
        linear(g, N("mlp.down_proj"), H, p->intermediate, false);
#undef N
    }
    gemma_norm(g, "model.norm", H);
    if (p->untie) linear(g, "lm_head", p->vocab, H, false);
}

/* Gemma2Config / Gemma3TextConfig as save_pretrained writes them. */
static void gemma_config(cJSON *c, const wdt_gen_params *p) {
    bool g3 = !strcmp(p->family, "gemma3");
    cJSON_AddItemToArray(cJSON_GetObjectItem(c, "architectures"),
                         cJSON_CreateString(g3 ? "Gemma3ForCausalLM" : "Gemma2ForCausalLM"));
    cJSON_AddStringToObject(c, "model_type", g3 ? "gemma3_text" : "gemma2");
    cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
    cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
    cJSON_AddNumberToObject(c, "intermediate_size", p->intermediate);
    cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layer);
    cJSON_AddNumberToObject(c, "num_attention_heads", p->n_head);
    cJSON_AddNumberToObject(c, "num_key_value_heads", kv_heads(p));
    cJSON_AddNumberToObject(c, "head_dim", head_dim(p));
    cJSON_AddStringToObject(c, "hidden_act", "gelu_pytorch_tanh");
    cJSON_AddStringToObject(c, "hidden_activation", "gelu_pytorch_tanh");
    cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
    cJSON_AddNumberToObject(c, "rms_norm_eps", 1e-6);
    /* Gemma3TextConfig's global base is 1e6 (its local one 10000) */
    cJSON_AddNumberToObject(c, "rope_theta", g3 && p->rope_theta == 10000.0 ? 1e6 : p->rope_theta);
    cJSON_AddBoolToObject(c, "attention_bias", false);
    cJSON_AddNumberToObject(c, "attention_dropout", 0.0);
    cJSON_AddNumberToObject(c, "query_pre_attn_scalar", head_dim(p));
    if (g3) {
        cJSON_AddNumberToObject(c, "sliding_window", 512);
        cJSON_AddNumberToObject(c, "sliding_window_pattern", 6);
        cJSON_AddNumberToObject(c, "rope_local_base_freq", 10000.0);
        cJSON_AddNullToObject(c, "rope_scaling");
        cJSON_AddNullToObject(c, "final_logit_softcapping");
        cJSON_AddNullToObject(c, "attn_logit_softcapping");
    } else {
        cJSON_AddNumberToObject(c, "sliding_window", 4096);
        cJSON_AddNumberToObject(c, "final_logit_softcapping", 30.0);
        cJSON_AddNumberToObject(c, "attn_logit_softcapping", 50.0);
    }
    cJSON_AddStringToObject(c, "cache_implementation", "hybrid");
    cJSON_AddNumberToObject(c, "initializer_range", 0.02);
    cJSON_AddBoolToObject(c, "use_cache", true);
    cJSON_AddNumberToObject(c, "pad_token_id", 0);
    cJSON_AddNumberToObject(c, "eos_token_id", 1);
    cJSON_AddNumberToObject(c, "bos_token_id", 2);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", !p->untie);
}

/* What a BERT-family layer (BERT, RoBERTa, XLM-R, DeBERTa) has after its
 * q/k/v projections, under the layer's prefix pre. */
static void encoder_layer_tail(gen *g, const char *pre, int64_t H, int64_t I) {
    char buf[200];
#define N(s) (snprintf(buf, sizeof buf, "%s%s", pre, s), buf)
    linear(g, N("attention.output.dense"), H, H, true);
    norm(g, N("attention.output.LayerNorm"), H, true);
    linear(g, N("intermediate.dense"), I, H, true);
    linear(g, N("output.dense"), H, I, true);
    norm(g, N("output.LayerNorm"), H, true);
#undef N
}

static void bert_like_tensors(gen *g, bool roberta) {
    const wdt_gen_params *p = g->p;
    const char *m = roberta ? "roberta" : "bert";
    int64_t H = p->hidden, I = p->intermediate;
    int64_t P = roberta ? p->max_pos + 2 : p->max_pos, T = roberta ? 1 : 2;
    char pre[160], buf[200];
#define N(s) (snprintf(buf, sizeof buf, "%s%s", pre, s), buf)
    snprintf(pre, sizeof pre, "%s.embeddings.", m);
    add(g, N("word_embeddings.weight"), p->vocab, H, 0.0f, 1.0f);
    add(g, N("position_embeddings.weight"), P, H, 0.0f, 0.5f);
    add(g, N("token_type_embeddings.weight"), T, H, 0.0f, 0.5f);
    norm(g, N("LayerNorm"), H, true);
    for (int l = 0; l < p->n_layer; l++) {
        snprintf(pre, sizeof pre, "%s.encoder.layer.%d.", m, l);
        linear(g, N("attention.self.query"), H, H, true);
        linear(g, N("attention.self.key"), H, H, true);
        linear(g, N("attention.self.value"), H, H, true);
        encoder_layer_tail(g, pre, H, I);
    }
#undef N
    if (roberta) {
        linear(g, "classifier.dense", H, H, true);
        linear(g, "classifier.out_proj", p->num_labels, H, true);
    } else {
        linear(g, "bert.pooler.dense", H, H, true);
        linear(g, "classifier", p->num_labels, H, true);
    }
}

static void distilbert_tensors(gen *g) {
    const wdt_gen_params *p = g->p;
    int64_t D = p->hidden, F = p->intermediate;
    char pre[160], buf[200];
    add(g, "distilbert.embeddings.word_embeddings.weight", p->vocab, D, 0.0f, 1.0f);
    add(g, "distilbert.embeddings.position_embeddings.weight", p->max_pos, D, 0.0f, 0.5f);
    norm(g, "distilbert.embeddings.LayerNorm", D, true);
#define N(s) (snprintf(buf, sizeof buf, "%s%s", pre, s), buf)
    for (int l = 0; l < p->n_layer; l++) {
        snprintf(pre, sizeof pre, "distilbert.transformer.layer.%d.", l);
        linear(g, N("attention.q_lin"), D, D, true);
        linear(g, N("attention.k_lin"), D, D, true);
        linear(g, N("attention.v_lin"), D, D, true);
        linear(g, N("attention.out_lin"), D, D, true);
        norm(g, N("sa_layer_norm"), D, true);
        linear(g, N("ffn.lin1"), F, D, true);
        linear(g, N("ffn.lin2"), D, F, true);
        norm(g, N("output_layer_norm"), D, true);
    }
#undef N
    linear(g, "pre_classifier", D, D, true);
    linear(g, "classifier", p->num_labels, D, true);
}

static void modernbert_tensors(gen *g) {
    const wdt_gen_params *p = g->p;
    int64_t H = p->hidden, I = p->intermediate;
    bool b = p->attention_bias;
    char pre[160], buf[200];
    add(g, "model.embeddings.tok_embeddings.weight", p->vocab, H, 0.0f, 1.0f);
    norm(g, "model.embeddings.norm", H, b);
#define N(s) (snprintf(buf, sizeof buf, "%s%s", pre, s), buf)
    for (int l = 0; l < p->n_layer; l++) {
        snprintf(pre, sizeof pre, "model.layers.%d.", l);
        if (l > 0) norm(g, N("attn_norm"), H, b);
        linear(g, N("attn.Wqkv"), 3 * H, H, b);
        linear(g, N("attn.Wo"), H, H, b);
        norm(g, N("mlp_norm"), H, b);
        linear(g, N("mlp.Wi"), 2 * I, H, b);
        linear(g, N("mlp.Wo"), H, I, b);
    }
#undef N
    norm(g, "model.final_norm", H, b);
    linear(g, "head.dense", H, H, b);
    norm(g, "head.norm", H, b);
    linear(g, "classifier", p->num_labels, H, true);
}

static int deberta_span(const wdt_gen_params *p) {
    int max_rel = p->max_relative_positions > 0 ? p->max_relative_positions : p->max_pos;
    return p->position_buckets > 0 ? p->position_buckets : max_rel;
}

static void deberta_tensors(gen *g) {
    const wdt_gen_params *p = g->p;
    int64_t H = p->hidden, I = p->intermediate, E = p->embedding_size ? p->embedding_size : H;
    bool classic = p->deberta_classic;
    char pre[160], buf[200];
#define N(s) (snprintf(buf, sizeof buf, "%s%s", pre, s), buf)
    snprintf(pre, sizeof pre, "deberta.embeddings.");
    add(g, N("word_embeddings.weight"), p->vocab, E, 0.0f, 1.0f);
    if (classic) {
        add(g, N("position_embeddings.weight"), p->max_pos, E, 0.0f, 0.5f);
        add(g, N("token_type_embeddings.weight"), 2, E, 0.0f, 0.5f);
    }
    if (E != H) linear(g, N("embed_proj"), H, E, false);
    norm(g, N("LayerNorm"), H, true);
    for (int l = 0; l < p->n_layer; l++) {
        snprintf(pre, sizeof pre, "deberta.encoder.layer.%d.", l);
        linear(g, N("attention.self.query_proj"), H, H, true);
        linear(g, N("attention.self.key_proj"), H, H, true);
        linear(g, N("attention.self.value_proj"), H, H, true);
        if (classic) {
            linear(g, N("attention.self.pos_key_proj"), H, H, true);
            linear(g, N("attention.self.pos_query_proj"), H, H, true);
        }
        encoder_layer_tail(g, pre, H, I);
    }
#undef N
    add(g, "deberta.encoder.rel_embeddings.weight", 2 * deberta_span(p), H, 0.0f, 1.0f);
    if (!classic) norm(g, "deberta.encoder.LayerNorm", H, true);
    linear(g, "pooler.dense", H, H, true);
    linear(g, "classifier", p->num_labels, H, true);
}

static void add_labels(cJSON *c, int n);

static cJSON *deberta_config(const wdt_gen_params *p) {
    cJSON *c = cJSON_CreateObject();
    bool classic = p->deberta_classic;
    cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "architectures"),
                         cJSON_CreateString("DebertaV2ForSequenceClassification"));
    cJSON_AddStringToObject(c, "model_type", "deberta-v2");
    cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
    cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
    cJSON_AddNumberToObject(c, "intermediate_size", p->intermediate);
    cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layer);
    cJSON_AddNumberToObject(c, "num_attention_heads", p->n_head);
    cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
    cJSON_AddNumberToObject(c, "type_vocab_size", classic ? 2 : 0);
    cJSON_AddStringToObject(c, "hidden_act", "gelu");
    cJSON_AddNumberToObject(c, "layer_norm_eps", 1e-7);
    cJSON_AddNumberToObject(c, "hidden_dropout_prob", 0.1);
    cJSON_AddNumberToObject(c, "attention_probs_dropout_prob", 0.1);
    cJSON_AddNumberToObject(c, "initializer_range", 0.02);
    cJSON_AddBoolToObject(c, "relative_attention", true);
    cJSON_AddNumberToObject(c, "max_relative_positions", p->max_relative_positions);
    cJSON_AddNumberToObject(c, "position_buckets", p->position_buckets);
    if (classic) {
        cJSON_AddStringToObject(c, "pos_att_type", "p2c|c2p");
        cJSON_AddStringToObject(c, "norm_rel_ebd", "none");
    } else {
        cJSON *pat = cJSON_AddArrayToObject(c, "pos_att_type");
        cJSON_AddItemToArray(pat, cJSON_CreateString("p2c"));
        cJSON_AddItemToArray(pat, cJSON_CreateString("c2p"));
        cJSON_AddStringToObject(c, "norm_rel_ebd", "layer_norm");
    }
    cJSON_AddBoolToObject(c, "share_att_key", !classic);
    cJSON_AddBoolToObject(c, "position_biased_input", classic);
    if (p->embedding_size && p->embedding_size != p->hidden)
        cJSON_AddNumberToObject(c, "embedding_size", p->embedding_size);
    cJSON_AddNumberToObject(c, "pooler_hidden_size", p->hidden);
    cJSON_AddStringToObject(c, "pooler_hidden_act", classic ? "tanh" : "gelu");
    cJSON_AddNumberToObject(c, "pooler_dropout", 0);
    cJSON_AddNumberToObject(c, "pad_token_id", 0);
    add_labels(c, p->num_labels);
    return c;
}

/* ==== config.json ======================================================= */

static const char *torch_dtype(wd_dtype d) {
    return d == WD_DTYPE_F16 ? "float16" : d == WD_DTYPE_BF16 ? "bfloat16" : "float32";
}

static void add_labels(cJSON *c, int n) {
    cJSON *id2 = cJSON_AddObjectToObject(c, "id2label"), *l2 = cJSON_AddObjectToObject(c, "label2id");
    for (int i = 0; i < n; i++) {
        char id[16], name[32];
        snprintf(id, sizeof id, "%d", i);
        if (n == 2) snprintf(name, sizeof name, "%s", i ? "unsafe" : "safe");
        else snprintf(name, sizeof name, "label_%d", i);
        cJSON_AddStringToObject(id2, id, name);
        cJSON_AddNumberToObject(l2, name, i);
    }
}

/* qwen3, phi3, granite: the fields of their configuration classes as
 * save_pretrained writes them (the ones the modeling code reads). */
static void zoo_decoder_config(cJSON *c, cJSON *arch, const wdt_gen_params *p) {
    const char *f = p->family;
    bool qwen3 = !strcmp(f, "qwen3"), phi3 = !strcmp(f, "phi3");
    cJSON_AddItemToArray(arch, cJSON_CreateString(qwen3 ? "Qwen3ForCausalLM"
                                                  : phi3 ? "Phi3ForCausalLM"
                                                         : "GraniteForCausalLM"));
    cJSON_AddStringToObject(c, "model_type", f);
    cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
    cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
    cJSON_AddNumberToObject(c, "intermediate_size", p->intermediate);
    cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layer);
    cJSON_AddNumberToObject(c, "num_attention_heads", p->n_head);
    cJSON_AddNumberToObject(c, "num_key_value_heads", kv_heads(p));
    if (qwen3) cJSON_AddNumberToObject(c, "head_dim", p->head_dim ? p->head_dim : p->hidden / p->n_head);
    cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    cJSON_AddNumberToObject(c, "rms_norm_eps", phi3 ? 1e-5 : 1e-6);
    cJSON_AddNumberToObject(c, "rope_theta", p->rope_theta);
    cJSON_AddNullToObject(c, "rope_scaling");
    cJSON_AddBoolToObject(c, "tie_word_embeddings", p->tie);
    cJSON_AddNumberToObject(c, "initializer_range", 0.02);
    cJSON_AddBoolToObject(c, "use_cache", true);
    cJSON_AddNumberToObject(c, "attention_dropout", 0.0);
    cJSON_AddNumberToObject(c, "bos_token_id", 1);
    cJSON_AddNumberToObject(c, "eos_token_id", 2);
    if (qwen3) {
        cJSON_AddBoolToObject(c, "attention_bias", p->attention_bias);
        cJSON_AddBoolToObject(c, "use_sliding_window", false);
        cJSON_AddNullToObject(c, "sliding_window");
        cJSON_AddNumberToObject(c, "max_window_layers", p->n_layer);
    } else if (phi3) {
        cJSON_AddNumberToObject(c, "original_max_position_embeddings", p->max_pos);
        cJSON_AddNumberToObject(c, "pad_token_id", 0);
        cJSON_AddNumberToObject(c, "resid_pdrop", 0.0);
        cJSON_AddNumberToObject(c, "embd_pdrop", 0.0);
        cJSON_AddNullToObject(c, "sliding_window");
    } else { /* granite: values other than 1, so that each one shows */
        cJSON_AddBoolToObject(c, "attention_bias", p->attention_bias);
        cJSON_AddBoolToObject(c, "mlp_bias", false);
        cJSON_AddNumberToObject(c, "embedding_multiplier", 2.5);
        cJSON_AddNumberToObject(c, "attention_multiplier", 0.25);
        cJSON_AddNumberToObject(c, "residual_multiplier", 0.5);
        cJSON_AddNumberToObject(c, "logits_scaling", 3.0);
    }
}

static cJSON *make_config(const wdt_gen_params *p) {
    const char *f = p->family;
    if (!strcmp(f, "deberta-v2")) {
        cJSON *c = deberta_config(p);
        cJSON_AddStringToObject(c, "torch_dtype", torch_dtype(p->dtype));
        cJSON_AddStringToObject(c, "transformers_version", "4.44.2");
        return c;
    }
    if (!strcmp(f, "xlm-roberta")) { /* XLMRobertaConfig is RobertaConfig */
        wdt_gen_params q = *p;
        q.family = "roberta";
        cJSON *c = make_config(&q);
        cJSON_ReplaceItemInObject(c, "model_type", cJSON_CreateString("xlm-roberta"));
        cJSON *arch = cJSON_CreateArray();
        cJSON_AddItemToArray(arch, cJSON_CreateString("XLMRobertaForSequenceClassification"));
        cJSON_ReplaceItemInObject(c, "architectures", arch);
        return c;
    }
    cJSON *c = cJSON_CreateObject(), *arch = cJSON_AddArrayToObject(c, "architectures");
    if (is_gemma(f)) {
        gemma_config(c, p);
    } else if (!strcmp(f, "llama") || !strcmp(f, "mistral") || !strcmp(f, "qwen2")) {
        const char *an = !strcmp(f, "llama") ? "LlamaForCausalLM"
                         : !strcmp(f, "mistral") ? "MistralForCausalLM" : "Qwen2ForCausalLM";
        cJSON_AddItemToArray(arch, cJSON_CreateString(an));
        cJSON_AddStringToObject(c, "model_type", f);
        cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
        cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
        cJSON_AddNumberToObject(c, "intermediate_size", p->intermediate);
        cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layer);
        cJSON_AddNumberToObject(c, "num_attention_heads", p->n_head);
        cJSON_AddNumberToObject(c, "num_key_value_heads", kv_heads(p));
        cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
        cJSON_AddStringToObject(c, "hidden_act", "silu");
        cJSON_AddNumberToObject(c, "rms_norm_eps", 1e-6);
        cJSON_AddNumberToObject(c, "rope_theta", p->rope_theta);
        cJSON_AddNullToObject(c, "rope_scaling");
        cJSON_AddBoolToObject(c, "tie_word_embeddings", p->tie);
        cJSON_AddNumberToObject(c, "initializer_range", 0.02);
        cJSON_AddBoolToObject(c, "use_cache", true);
        cJSON_AddNumberToObject(c, "attention_dropout", 0.0);
        if (!strcmp(f, "qwen2")) {
            cJSON_AddNumberToObject(c, "bos_token_id", p->vocab - 2);
            cJSON_AddNumberToObject(c, "eos_token_id", p->vocab - 1);
            cJSON_AddBoolToObject(c, "use_sliding_window", false);
            cJSON_AddNumberToObject(c, "sliding_window", p->max_pos);
            cJSON_AddNumberToObject(c, "max_window_layers", p->n_layer);
        } else {
            cJSON_AddNumberToObject(c, "bos_token_id", 1);
            cJSON_AddNumberToObject(c, "eos_token_id", 2);
            if (!strcmp(f, "llama")) {
                cJSON_AddBoolToObject(c, "attention_bias", p->attention_bias);
                cJSON_AddBoolToObject(c, "mlp_bias", false);
                cJSON_AddNumberToObject(c, "pretraining_tp", 1);
            } else {
                cJSON_AddNumberToObject(c, "sliding_window", 4096);
            }
        }
    } else if (!strcmp(f, "qwen3") || !strcmp(f, "phi3") || !strcmp(f, "granite")) {
        zoo_decoder_config(c, arch, p);
    } else if (!strcmp(f, "bert") || !strcmp(f, "roberta")) {
        bool rob = !strcmp(f, "roberta");
        cJSON_AddItemToArray(arch, cJSON_CreateString(rob ? "RobertaForSequenceClassification"
                                                          : "BertForSequenceClassification"));
        cJSON_AddStringToObject(c, "model_type", f);
        cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
        cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
        cJSON_AddNumberToObject(c, "intermediate_size", p->intermediate);
        cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layer);
        cJSON_AddNumberToObject(c, "num_attention_heads", p->n_head);
        cJSON_AddNumberToObject(c, "max_position_embeddings", rob ? p->max_pos + 2 : p->max_pos);
        cJSON_AddNumberToObject(c, "type_vocab_size", rob ? 1 : 2);
        cJSON_AddStringToObject(c, "hidden_act", "gelu");
        cJSON_AddNumberToObject(c, "layer_norm_eps", rob ? 1e-5 : 1e-12);
        cJSON_AddNumberToObject(c, "hidden_dropout_prob", 0.1);
        cJSON_AddNumberToObject(c, "attention_probs_dropout_prob", 0.1);
        cJSON_AddNullToObject(c, "classifier_dropout");
        cJSON_AddNumberToObject(c, "initializer_range", 0.02);
        cJSON_AddStringToObject(c, "position_embedding_type", "absolute");
        cJSON_AddNumberToObject(c, "pad_token_id", rob ? 1 : 0);
        if (rob) {
            cJSON_AddNumberToObject(c, "bos_token_id", 0);
            cJSON_AddNumberToObject(c, "eos_token_id", 2);
        }
        add_labels(c, p->num_labels);
        cJSON_AddStringToObject(c, "problem_type", "single_label_classification");
    } else if (!strcmp(f, "modernbert")) {
        /* ModernBertConfig's keys as transformers 4.48+ writes them; a window of
         * 4 tokens and a global layer every 2 so that short prompts see both */
        cJSON_AddItemToArray(arch, cJSON_CreateString("ModernBertForSequenceClassification"));
        cJSON_AddStringToObject(c, "model_type", "modernbert");
        cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
        cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
        cJSON_AddNumberToObject(c, "intermediate_size", p->intermediate);
        cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layer);
        cJSON_AddNumberToObject(c, "num_attention_heads", p->n_head);
        cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
        cJSON_AddStringToObject(c, "hidden_activation", "gelu");
        cJSON_AddNumberToObject(c, "norm_eps", 1e-5);
        cJSON_AddBoolToObject(c, "norm_bias", p->attention_bias);
        cJSON_AddBoolToObject(c, "attention_bias", p->attention_bias);
        cJSON_AddBoolToObject(c, "mlp_bias", p->attention_bias);
        cJSON_AddBoolToObject(c, "classifier_bias", p->attention_bias);
        cJSON_AddNumberToObject(c, "attention_dropout", 0.0);
        cJSON_AddNumberToObject(c, "global_rope_theta", 160000.0);
        cJSON_AddNumberToObject(c, "local_rope_theta", p->rope_theta);
        cJSON_AddNumberToObject(c, "local_attention", 4);
        cJSON_AddNumberToObject(c, "global_attn_every_n_layers", 2);
        cJSON_AddStringToObject(c, "classifier_pooling", "cls");
        cJSON_AddStringToObject(c, "classifier_activation", "gelu");
        cJSON_AddNumberToObject(c, "classifier_dropout", 0.0);
        cJSON_AddNumberToObject(c, "embedding_dropout", 0.0);
        cJSON_AddNumberToObject(c, "mlp_dropout", 0.0);
        cJSON_AddBoolToObject(c, "decoder_bias", true);
        cJSON_AddNumberToObject(c, "initializer_range", 0.02);
        cJSON_AddNumberToObject(c, "initializer_cutoff_factor", 2.0);
        cJSON_AddNumberToObject(c, "pad_token_id", p->vocab - 1);
        cJSON_AddNumberToObject(c, "bos_token_id", p->vocab - 3);
        cJSON_AddNumberToObject(c, "eos_token_id", p->vocab - 2);
        cJSON_AddNumberToObject(c, "cls_token_id", p->vocab - 3);
        cJSON_AddNumberToObject(c, "sep_token_id", p->vocab - 2);
        cJSON_AddBoolToObject(c, "tie_word_embeddings", true);
        add_labels(c, p->num_labels);
        cJSON_AddStringToObject(c, "problem_type", "single_label_classification");
    } else { /* distilbert */
        cJSON_AddItemToArray(arch, cJSON_CreateString("DistilBertForSequenceClassification"));
        cJSON_AddStringToObject(c, "model_type", "distilbert");
        cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
        cJSON_AddNumberToObject(c, "dim", p->hidden);
        cJSON_AddNumberToObject(c, "hidden_dim", p->intermediate);
        cJSON_AddNumberToObject(c, "n_layers", p->n_layer);
        cJSON_AddNumberToObject(c, "n_heads", p->n_head);
        cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
        cJSON_AddStringToObject(c, "activation", "gelu");
        cJSON_AddBoolToObject(c, "sinusoidal_pos_embds", false);
        cJSON_AddNumberToObject(c, "dropout", 0.1);
        cJSON_AddNumberToObject(c, "attention_dropout", 0.1);
        cJSON_AddNumberToObject(c, "qa_dropout", 0.1);
        cJSON_AddNumberToObject(c, "seq_classif_dropout", 0.2);
        cJSON_AddNumberToObject(c, "initializer_range", 0.02);
        cJSON_AddNumberToObject(c, "pad_token_id", 0);
        cJSON_AddBoolToObject(c, "tie_weights_", true);
        add_labels(c, p->num_labels);
        cJSON_AddStringToObject(c, "problem_type", "single_label_classification");
    }
    cJSON_AddStringToObject(c, "torch_dtype", torch_dtype(p->dtype));
    cJSON_AddStringToObject(c, "transformers_version", "4.44.2");
    return c;
}

/* ==== writing =========================================================== */

static wd_status write_json(const char *dir, const char *file, cJSON *obj) {
    char *text = cJSON_Print(obj);
    char *path = wd__path_join(dir, file);
    wd_status rc = WD_ERR_NOMEM;
    if (text && path) {
        size_t n = strlen(text);
        text[n] = '\n'; /* cJSON's buffer has room: replace the NUL, write n+1 */
        rc = wd__file_write_atomic(path, text, n + 1);
    }
    free(text);
    free(path);
    return rc == WD_ERR_NOMEM ? wd__fail(rc, "%s/%s: out of memory", dir, file) : rc;
}

static wd_status write_shard(const gen *g, size_t lo, size_t hi, const char *path) {
    wd_safetensors_writer *w;
    wd_status rc = wd_safetensors_writer_new(&w);
    if (rc) return rc;
    rc = wd_safetensors_writer_add_metadata(w, "format", "pt");
    for (size_t i = lo; !rc && i < hi; i++)
        rc = wd_safetensors_writer_add(w, g->t[i].name, g->p->dtype, g->t[i].shape, g->t[i].ndim,
                                       g->t[i].data);
    if (!rc) rc = wd_safetensors_writer_write(w, path);
    wd_safetensors_writer_free(w);
    return rc;
}

static wd_status check_params(const wdt_gen_params *p) {
    const char *f = p->family ? p->family : "";
    static const char *families[] = {"llama", "mistral", "qwen2", "qwen3", "phi3", "granite", "gemma2", "gemma3", "bert",
                                     "roberta", "distilbert", "modernbert",
                                     "deberta-v2", "xlm-roberta"};
    size_t nf = sizeof families / sizeof *families, i = 0;
    while (i < nf && strcmp(f, families[i])) i++;
    if (i == nf)
        return wd__fail(WD_ERR_INVALID_ARG,
                        "unknown family '%s' (llama, mistral, qwen2, qwen3, phi3, granite, gemma2, "
                        "gemma3, bert, roberta, distilbert, modernbert, deberta-v2, xlm-roberta)",
                        f);
    if (p->dtype != WD_DTYPE_F32 && p->dtype != WD_DTYPE_F16 && p->dtype != WD_DTYPE_BF16)
        return wd__fail(WD_ERR_INVALID_ARG, "dtype must be F32, F16 or BF16");
    if (p->n_layer < 1 || p->hidden < 1 || p->n_head < 1 || p->intermediate < 1 || p->vocab < 4 ||
        p->max_pos < 1 || p->num_labels < 1 || p->shards < 1 || p->n_kv_head < 0)
        return wd__fail(WD_ERR_INVALID_ARG, "sizes must be positive (vocab >= 4)");
    if (p->head_dim < 0 || (p->head_dim && strcmp(f, "qwen3") && !is_gemma(f)))
        return wd__fail(WD_ERR_INVALID_ARG, "head_dim other than hidden / heads: qwen3, gemma2, "
                        "gemma3 only");
    if (p->head_dim % 2)
        return wd__fail(WD_ERR_INVALID_ARG, "head_dim %d must be even", p->head_dim);
    if (!p->head_dim && p->hidden % p->n_head)
        return wd__fail(WD_ERR_INVALID_ARG, "hidden %d is not a multiple of heads %d", p->hidden, p->n_head);
    if (p->n_head % kv_heads(p))
        return wd__fail(WD_ERR_INVALID_ARG, "heads %d is not a multiple of kv heads %d", p->n_head,
                        kv_heads(p));
    return WD_OK;
}

wd_status wdt_gen_checkpoint(const wdt_gen_params *p, const char *dir) {
    wd_status rc = check_params(p);
    if (rc) return rc;
    if ((rc = wd__mkdir_p(dir))) return rc;
    gen g = {.p = p, .rng = p->seed};
    if (!strcmp(p->family, "bert")) bert_like_tensors(&g, false);
    else if (!strcmp(p->family, "roberta")) bert_like_tensors(&g, true);
    else if (!strcmp(p->family, "xlm-roberta")) bert_like_tensors(&g, true);
    else if (!strcmp(p->family, "deberta-v2")) deberta_tensors(&g);
    else if (!strcmp(p->family, "distilbert")) distilbert_tensors(&g);
    else if (!strcmp(p->family, "modernbert")) modernbert_tensors(&g);
    else if (is_gemma(p->family)) gemma_tensors(&g);
    else decoder_tensors(&g);
    if (g.oom) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto done;
    }

    cJSON *cfg = make_config(p);
    rc = write_json(dir, "config.json", cfg);
    cJSON_Delete(cfg);
    if (rc) goto done;

    size_t n_shards = (size_t)p->shards;
    if (n_shards > g.n) n_shards = g.n;
    if (n_shards <= 1) {
        char *path = wd__path_join(dir, "model.safetensors");
        rc = path ? write_shard(&g, 0, g.n, path) : wd__fail(WD_ERR_NOMEM, "out of memory");
        free(path);
        goto done;
    }
    /* Split in order into n_shards runs of about equal bytes, none empty. */
    uint64_t total = 0;
    for (size_t i = 0; i < g.n; i++) total += g.t[i].nbytes;
    cJSON *index = cJSON_CreateObject();
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(index, "metadata"), "total_size", (double)total);
    char **shard_of = calloc(g.n, sizeof *shard_of);
    size_t lo = 0;
    uint64_t acc = 0;
    for (size_t s = 0; !rc && s < n_shards; s++) {
        size_t hi = lo + 1;
        acc += g.t[lo].nbytes;
        while (hi < g.n && g.n - hi > n_shards - 1 - s && acc + g.t[hi].nbytes <= total * (s + 1) / n_shards) {
            acc += g.t[hi].nbytes;
            hi++;
        }
        if (s == n_shards - 1)
            while (hi < g.n) acc += g.t[hi++].nbytes;
        char name[64];
        snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, n_shards);
        char *path = wd__path_join(dir, name);
        rc = path ? write_shard(&g, lo, hi, path) : wd__fail(WD_ERR_NOMEM, "out of memory");
        free(path);
        for (size_t i = lo; shard_of && i < hi; i++) shard_of[i] = strdup(name);
        lo = hi;
    }
    if (!rc && shard_of) {
        /* weight_map in name order, as transformers writes it */
        cJSON *wm = cJSON_AddObjectToObject(index, "weight_map");
        size_t *order = malloc(g.n * sizeof *order);
        for (size_t i = 0; order && i < g.n; i++) order[i] = i;
        for (size_t i = 1; order && i < g.n; i++) /* insertion sort: n is small */
            for (size_t j = i; j > 0 && strcmp(g.t[order[j - 1]].name, g.t[order[j]].name) > 0; j--) {
                size_t tmp = order[j];
                order[j] = order[j - 1];
                order[j - 1] = tmp;
            }
        for (size_t i = 0; order && i < g.n; i++)
            cJSON_AddStringToObject(wm, g.t[order[i]].name, shard_of[order[i]]);
        free(order);
        rc = write_json(dir, "model.safetensors.index.json", index);
    }
    for (size_t i = 0; shard_of && i < g.n; i++) free(shard_of[i]);
    free(shard_of);
    cJSON_Delete(index);
done:
    for (size_t i = 0; i < g.n; i++) free(g.t[i].data);
    free(g.t);
    return rc;
}
