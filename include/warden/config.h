/*
 * warden/config.h - a Hugging Face config.json as one typed struct.
 *
 * Families read: llama, mistral, qwen2 (decoders) and bert, roberta,
 * distilbert (encoders). Field names follow transformers' configuration
 * classes; DistilBERT's own names (dim, n_layers, n_heads, hidden_dim,
 * activation) are mapped onto the common ones. Missing optional fields take
 * the defaults of the transformers configuration class of that model_type;
 * the size fields (vocab_size, hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads) are required.
 */
#ifndef WARDEN_CONFIG_H
#define WARDEN_CONFIG_H

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

typedef enum wd_rope_scaling {
    WD_ROPE_SCALING_NONE = 0, /* absent, null, or "default"          */
    WD_ROPE_SCALING_LINEAR,   /* positions divided by factor          */
    WD_ROPE_SCALING_DYNAMIC,  /* dynamic NTK                          */
    WD_ROPE_SCALING_LLAMA3,   /* Llama 3.1 frequency-band scaling     */
} wd_rope_scaling;

#define WD_CONFIG_MAX_EOS 8

typedef struct wd_model_config {
    wd_model_type   type;
    wd_model_family family;
    char model_type[32];    /* as written: "llama", ...                       */
    char architecture[128]; /* architectures[0], "" when absent               */
    char torch_dtype[16];   /* "float32", "bfloat16", ... ("" when absent)    */

    /* sizes */
    int64_t vocab_size;
    int64_t hidden_size;       /* DistilBERT: dim                              */
    int64_t intermediate_size; /* DistilBERT: hidden_dim                       */
    int64_t n_layer;           /* num_hidden_layers; DistilBERT: n_layers       */
    int64_t n_head;            /* num_attention_heads; DistilBERT: n_heads      */
    int64_t n_kv_head;         /* num_key_value_heads (default n_head)          */
    int64_t head_dim;          /* head_dim (default hidden_size / n_head)       */
    int64_t max_position_embeddings;
    int64_t type_vocab_size;   /* encoders' token types; 0 for decoders/DistilBERT */

    /* position encoding */
    double rope_theta; /* default 10000 */
    struct {
        wd_rope_scaling type;
        double  factor;
        double  low_freq_factor;  /* llama3 */
        double  high_freq_factor; /* llama3 */
        int64_t original_max_position_embeddings; /* llama3 (0 if absent) */
    } rope_scaling;
    bool    sinusoidal_pos_embds; /* DistilBERT */
    int64_t sliding_window;       /* mistral / qwen2 with use_sliding_window; 0 = none */

    /* norms, activations, biases */
    double norm_eps;       /* rms_norm_eps (decoders) or layer_norm_eps (encoders) */
    wd_act hidden_act;
    char   hidden_act_name[32];
    bool   tie_word_embeddings;
    bool   attention_bias;     /* q, k, v projections have biases               */
    bool   attention_out_bias; /* the output projection has a bias              */
    bool   mlp_bias;

    /* special tokens (-1 when absent) */
    int64_t pad_token_id;
    int64_t bos_token_id;
    int64_t eos_token_ids[WD_CONFIG_MAX_EOS];
    int     n_eos_token_ids;

    /* sequence classification */
    int64_t num_labels;   /* len(id2label) when given, else num_labels, else 2 */
    char  **id2label;     /* num_labels names, index = class id; owned by the struct */
    char    problem_type[48]; /* "" when absent */
} wd_model_config;

/* Reads path (a config.json, or a folder holding one). On success *out is a
 * new struct the caller frees with wd_model_config_free. On failure *out is
 * NULL and wd_last_error() names the file and the field, e.g.
 *   "m/config.json: field 'hidden_size': missing".
 * Returns WD_ERR_NOT_FOUND (no file), WD_ERR_FORMAT (bad JSON, missing or
 * mistyped field, inconsistent sizes), WD_ERR_UNSUPPORTED (unknown
 * model_type, rope_scaling type or activation), WD_ERR_NOMEM. */
wd_status wd_model_config_load(const char *path, wd_model_config **out);

/* Same, from JSON text of len bytes; where names it in messages. */
wd_status wd_model_config_parse(const char *json, size_t len, const char *where,
                                wd_model_config **out);

/* Frees the struct and its labels; NULL is a no-op. */
void wd_model_config_free(wd_model_config *cfg);

/* Static names for the enums ("llama", "decoder", "silu", "llama3", ...). */
const char *wd_model_type_name(wd_model_type type);
const char *wd_model_family_name(wd_model_family family);
const char *wd_act_name(wd_act act);
const char *wd_rope_scaling_name(wd_rope_scaling type);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_CONFIG_H */
