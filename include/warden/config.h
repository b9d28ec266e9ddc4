/*
 * warden/config.h - a Hugging Face config.json, parsed once and read through
 * accessors.
 *
 * Families read: llama, mistral, qwen2, qwen3, phi3, granite, gemma2,
 * gemma3_text (decoders) and bert, roberta, distilbert, xlm-roberta,
 * deberta-v2, modernbert (encoders). Field names follow transformers' configuration
 * classes; DistilBERT's own names (dim, n_layers, n_heads, hidden_dim,
 * activation) are mapped onto the common ones. Missing optional fields take
 * the defaults of the transformers configuration class of that model_type;
 * the size fields (vocab_size, hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads) are required.
 * modernbert reads ModernBertConfig's own keys (hidden_activation, norm_eps,
 * norm_bias, global/local_rope_theta or rope_parameters, local_attention,
 * global_attn_every_n_layers, classifier_pooling, ...; see the accessors at
 * the end).
 */
#ifndef WARDEN_CONFIG_H
#define WARDEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_model_type {
    WD_MODEL_TYPE_LLAMA = 0,
    WD_MODEL_TYPE_MISTRAL,
    WD_MODEL_TYPE_QWEN2,
    WD_MODEL_TYPE_BERT,
    WD_MODEL_TYPE_ROBERTA,
    WD_MODEL_TYPE_DISTILBERT,
    /* issue 19's guard zoo; each is accepted by wd_model_config_load once
     * its forward pass exists (the table in model/config.c) */
    WD_MODEL_TYPE_QWEN3,       /* decoder: q/k RMSNorm per head (Qwen3Guard)          */
    WD_MODEL_TYPE_PHI3,        /* decoder: fused qkv_proj and gate_up_proj            */
    WD_MODEL_TYPE_GRANITE,     /* decoder: embedding/attention/residual/logit scales  */
    WD_MODEL_TYPE_GEMMA2,      /* decoder: pre+post norms, soft-capping, GeGLU        */
    WD_MODEL_TYPE_GEMMA3,      /* decoder: "gemma3_text"; q/k norms, local/global rope */
    WD_MODEL_TYPE_DEBERTA_V2,  /* encoder: disentangled attention (Prompt Guard)      */
    WD_MODEL_TYPE_XLM_ROBERTA, /* encoder: RoBERTa's layout, Unigram vocabulary       */
    WD_MODEL_TYPE_MODERNBERT,  /* encoder: rotary, GeGLU, local/global attention      */
    WD_MODEL_TYPE_COUNT
} wd_model_type;

typedef enum wd_model_family {
    WD_MODEL_FAMILY_DECODER = 0, /* causal LM: llama, mistral, qwen2    */
    WD_MODEL_FAMILY_ENCODER = 1, /* bidirectional: bert, roberta, distilbert */
} wd_model_family;

typedef enum wd_act {
    WD_ACT_SILU = 0,  /* "silu", "swish"                               */
    WD_ACT_GELU,      /* "gelu": exact, with erf                         */
    WD_ACT_GELU_TANH, /* "gelu_new", "gelu_pytorch_tanh", "gelu_fast"    */
    WD_ACT_RELU,      /* "relu" (DistilBERT allows it)                   */
} wd_act;

#define WD_CONFIG_MAX_EOS 8 /* most eos_token_id entries kept */

/* The parsed config.json of one checkpoint: an opaque object read through
 * the accessors below (sizes, position encoding, norms and biases, special
 * tokens, classification labels). Strings it returns are owned by it and
 * live as long as it does. */
typedef struct wd_model_config wd_model_config;

/* Reads path (a config.json, or a folder holding one). On success *out is a
 * new config the caller frees with wd_model_config_free. On failure *out is
 * NULL and wd_last_error() names the file and the field, e.g.
 *   "m/config.json: field 'hidden_size': missing".
 * Returns WD_ERR_NOT_FOUND (no file), WD_ERR_FORMAT (bad JSON, missing or
 * mistyped field, inconsistent sizes), WD_ERR_UNSUPPORTED (unknown
 * model_type, rope_scaling type or activation), WD_ERR_NOMEM. */
wd_status wd_model_config_load(const char *path, wd_model_config **out);

/* Same, from JSON text of len bytes; where names it in messages. */
wd_status wd_model_config_parse(const char *json, size_t len, const char *where,
                                wd_model_config **out);

/* Frees the config and its labels; NULL is a no-op. */
void wd_model_config_free(wd_model_config *cfg);

/* ==== Accessors ==========================================================
 * Each takes a config that is not NULL and returns the field of the same
 * name in config.json (after the DistilBERT names are mapped and the
 * transformers defaults applied, as the header comment says). */

/* model_type as an enum and its family. */
wd_model_type   wd_model_config_type(const wd_model_config *c);
wd_model_family wd_model_config_family(const wd_model_config *c);

/* model_type as written ("llama", ...), architectures[0] ("" when absent),
 * torch_dtype ("float32", "bfloat16", ...; "" when absent). */
const char *wd_model_config_model_type(const wd_model_config *c);
const char *wd_model_config_architecture(const wd_model_config *c);
const char *wd_model_config_torch_dtype(const wd_model_config *c);

/* Sizes. n_layer = num_hidden_layers, n_head = num_attention_heads,
 * n_kv_head = num_key_value_heads (default n_head), head_dim (default
 * hidden_size / n_head); type_vocab_size is the encoders' number of token
 * types (0 for decoders and DistilBERT). max_position_embeddings is
 * original_max_position_embeddings for a phi3 with longrope scaling: the
 * positions warden computes (see docs/runtime.md). */
int64_t wd_model_config_vocab_size(const wd_model_config *c);
int64_t wd_model_config_hidden_size(const wd_model_config *c);
int64_t wd_model_config_intermediate_size(const wd_model_config *c);
int64_t wd_model_config_n_layer(const wd_model_config *c);
int64_t wd_model_config_n_head(const wd_model_config *c);
int64_t wd_model_config_n_kv_head(const wd_model_config *c);
int64_t wd_model_config_head_dim(const wd_model_config *c);
int64_t wd_model_config_max_position_embeddings(const wd_model_config *c);
int64_t wd_model_config_type_vocab_size(const wd_model_config *c);

/* Position encoding. rope_scaling is rope_scaling.type as a static name:
 * "none" (absent, null or "default"), "linear", "dynamic" or "llama3" (the
 * names of wd_rope_scaling in warden/ops.h), or "longrope" (phi3's, with
 * its aliases "su" and "yarn"). factor is 1 when absent; the
 * llama3 factors and original_max_position_embeddings are 0 unless given.
 * sinusoidal_pos_embds is DistilBERT's;
 * sliding_window is 0 when there is none. */
double      wd_model_config_rope_theta(const wd_model_config *c);
const char *wd_model_config_rope_scaling(const wd_model_config *c);
double      wd_model_config_rope_factor(const wd_model_config *c);
double      wd_model_config_rope_low_freq_factor(const wd_model_config *c);
double      wd_model_config_rope_high_freq_factor(const wd_model_config *c);
int64_t     wd_model_config_rope_original_max_position_embeddings(const wd_model_config *c);
bool        wd_model_config_sinusoidal_pos_embds(const wd_model_config *c);
int64_t     wd_model_config_sliding_window(const wd_model_config *c);

/* Norms, activation, biases. norm_eps is rms_norm_eps (decoders) or
 * layer_norm_eps (encoders); hidden_act_name is hidden_act as written.
 * attention_bias: q, k, v have biases; attention_out_bias: the output
 * projection has one. */
double      wd_model_config_norm_eps(const wd_model_config *c);
wd_act      wd_model_config_hidden_act(const wd_model_config *c);
const char *wd_model_config_hidden_act_name(const wd_model_config *c);
bool        wd_model_config_tie_word_embeddings(const wd_model_config *c);
bool        wd_model_config_attention_bias(const wd_model_config *c);
bool        wd_model_config_attention_out_bias(const wd_model_config *c);
bool        wd_model_config_mlp_bias(const wd_model_config *c);

/* What qwen3, phi3 and granite add, with the values that change nothing
 * for the other families: qk_norm (qwen3's RMSNorm over each head's q and
 * k), fused_qkv (phi3's qkv_proj and gate_up_proj), partial_rotary_factor
 * (phi3: rope on the first int(head_dim * f) dims; 1), and granite's
 * embedding_multiplier, residual_multiplier, logits_scaling (1 elsewhere)
 * and attention_multiplier (its softmax scale; 0 for the others, whose
 * scale is 1/sqrt(head_dim)). */
bool   wd_model_config_qk_norm(const wd_model_config *c);
bool   wd_model_config_fused_qkv(const wd_model_config *c);
double wd_model_config_partial_rotary_factor(const wd_model_config *c);
double wd_model_config_embedding_multiplier(const wd_model_config *c);
double wd_model_config_attention_multiplier(const wd_model_config *c);
double wd_model_config_residual_multiplier(const wd_model_config *c);
double wd_model_config_logits_scaling(const wd_model_config *c);

/* Special tokens, -1 when absent. eos_token_id may be a list: there are
 * n_eos_token_ids of them (at most WD_CONFIG_MAX_EOS), and
 * wd_model_config_eos_token_id returns the i-th (-1 when i is out of range). */
int64_t wd_model_config_pad_token_id(const wd_model_config *c);
int64_t wd_model_config_bos_token_id(const wd_model_config *c);
size_t  wd_model_config_n_eos_token_ids(const wd_model_config *c);
int64_t wd_model_config_eos_token_id(const wd_model_config *c, size_t i);

/* Sequence classification: num_labels (len(id2label) when given, else
 * num_labels, else 2), the name of class i (id2label; NULL when i is out of
 * range) and problem_type ("" when absent). */
int64_t     wd_model_config_num_labels(const wd_model_config *c);
const char *wd_model_config_label(const wd_model_config *c, int64_t i);
const char *wd_model_config_problem_type(const wd_model_config *c);

/* ModernBERT (0 / "" for the other types): a local layer attends within
 * local_attention / 2 tokens on each side, layer l is global when
 * l % global_attn_every_n_layers == 0; local layers rotate with
 * local_rope_theta, global ones with rope_theta (global_rope_theta);
 * classifier_pooling is "cls" or "mean". */
int64_t     wd_model_config_local_attention(const wd_model_config *c);
int64_t     wd_model_config_global_attn_every_n_layers(const wd_model_config *c);
double      wd_model_config_local_rope_theta(const wd_model_config *c);
const char *wd_model_config_classifier_pooling(const wd_model_config *c);
/* Gemma 2 / Gemma 3 text (0 for the other types): query_pre_attn_scalar
 * (attention scores are scaled by its^-0.5), the soft-capping values
 * (x <- c tanh(x / c); 0 = none; Gemma 3 never caps attention scores) and
 * the sliding layers' rope base (Gemma 3's rope_local_base_freq, without
 * scaling). layer_window, for any decoder, is the sliding window of layer l
 * (0: the layer sees every earlier key, or l is out of range). */
double  wd_model_config_query_pre_attn_scalar(const wd_model_config *c);
double  wd_model_config_attn_logit_softcapping(const wd_model_config *c);
double  wd_model_config_final_logit_softcapping(const wd_model_config *c);
double  wd_model_config_rope_local_theta(const wd_model_config *c);
int64_t wd_model_config_layer_window(const wd_model_config *c, int64_t l);
/* DeBERTa-v2 (model_type "deberta-v2"; false / 0 / "" for other types):
 * relative_attention; position_buckets (0 when not bucketed);
 * max_relative_positions (max_position_embeddings when config.json has
 * none or -1); pos_att_type as "c2p", "p2c", "c2p|p2c" or ""; share_att_key;
 * position_biased_input (absolute position embeddings); embedding_size;
 * pooler_hidden_act as written. */
bool        wd_model_config_relative_attention(const wd_model_config *c);
int64_t     wd_model_config_position_buckets(const wd_model_config *c);
int64_t     wd_model_config_max_relative_positions(const wd_model_config *c);
const char *wd_model_config_pos_att_type(const wd_model_config *c);
bool        wd_model_config_share_att_key(const wd_model_config *c);
bool        wd_model_config_position_biased_input(const wd_model_config *c);
int64_t     wd_model_config_embedding_size(const wd_model_config *c);
const char *wd_model_config_pooler_hidden_act(const wd_model_config *c);

/* Static names for the enums ("llama", "decoder", "silu", ...). */
const char *wd_model_type_name(wd_model_type type);
const char *wd_model_family_name(wd_model_family family);
const char *wd_act_name(wd_act act);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_CONFIG_H */
