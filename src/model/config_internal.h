/*
 * model/config_internal.h - the fields of wd_model_config, for the library
 * code that fills it (config.c from config.json, gguf_model.c from a GGUF
 * file's metadata) and the runtime that reads it (model.c, decoder.c,
 * encoder.c, generate.c). Everyone else reads a config through the
 * accessors of warden/config.h.
 */
#ifndef WD_MODEL_CONFIG_INTERNAL_H
#define WD_MODEL_CONFIG_INTERNAL_H

#include "warden/config.h"
#include "warden/ops.h"

struct wd_model_config {
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
    bool   rope_interleaved;   /* config.json's "rope_interleaved": true (warden's key) */
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

    /* modernbert (ModernBertConfig; zero for the other types) */
    int64_t local_attention;            /* window of a local layer: |i-j| <= local_attention/2 */
    int64_t global_attn_every_n_layers; /* layer l is global when l % n == 0 */
    double  local_rope_theta;           /* local layers' rope; rope_theta is the global layers' */
    bool    norm_bias;                  /* every LayerNorm has a bias                   */
    bool    classifier_bias;            /* head.dense has a bias                         */
    bool    classifier_mean;            /* classifier_pooling "mean" (else "cls")        */
    wd_act  classifier_act;             /* classifier_activation, after head.dense       */
    /* Gemma 2 / Gemma 3 text (model/gemma.c reads them; zero elsewhere) */
    bool    gemma;             /* (1 + w) RMSNorms, four per layer; embeddings * sqrt(C) */
    double  query_pre_attn_scalar;   /* attention scale = its^-0.5                */
    double  attn_logit_softcapping;  /* scores <- c tanh(scores / c); 0 = none     */
    double  final_logit_softcapping; /* logits <- c tanh(logits / c); 0 = none     */
    double  rope_local_theta;  /* gemma3_text: sliding layers' rope base, unscaled; 0 = none */
    bool   *layer_sliding;     /* (n_layer): true = sliding_window applies to the layer;
                                  NULL = it applies to every layer; owned by the struct */
    /* qwen3 / phi3 / granite (qwen3.c, phi3.c, granite.c read them) */
    bool   qk_norm;               /* qwen3, gemma3_text: RMSNorm of each head's q, k before rope */
    bool   fused_qkv;             /* phi3: qkv_proj (q|k|v rows), gate_up_proj (gate|up)  */
    double partial_rotary_factor; /* phi3: rope on the first int(D * f) dims (1 = all)    */
    struct {
        bool    on;               /* phi3 rope_scaling "longrope" (alias "su", "yarn")    */
        float  *short_factor;     /* (R/2), owned; divides each frequency               */
        float  *long_factor;      /* (R/2), owned; read for its length only (see phi3.c) */
        int64_t original_max_position_embeddings;
        double  attention_factor; /* scales cos and sin                                  */
    } longrope;
    double embedding_multiplier;  /* granite: embeddings scaled (1 elsewhere)           */
    double attention_multiplier;  /* granite: the softmax scale (others: 1/sqrt(D))   */
    double residual_multiplier;   /* granite: each block's output scaled (1 elsewhere)  */
    double logits_scaling;        /* granite: logits divided by it (1 elsewhere)        */
    /* DeBERTa-v2/v3 (model_type "deberta-v2"), DebertaV2Config's fields and
     * defaults; read by model/deberta.c */
    struct wd__deberta_config {
        bool    relative_attention;     /* default false                          */
        int64_t max_relative_positions; /* < 1 in config.json: max_position_embeddings */
        int64_t position_buckets;       /* <= 0: relative positions not bucketed   */
        bool    c2p, p2c;               /* pos_att_type holds "c2p" / "p2c"        */
        bool    norm_rel_layer_norm;    /* norm_rel_ebd holds "layer_norm"         */
        bool    share_att_key;          /* positions through query_proj/key_proj   */
        bool    position_biased_input;  /* absolute position embeddings; default true */
        int64_t embedding_size;         /* default hidden_size (else embed_proj)   */
        int64_t pooler_hidden_size;     /* default hidden_size (must equal it)     */
        int     pooler_act;             /* wd__pooler_act                          */
        char    pooler_act_name[32];    /* pooler_hidden_act as written            */
    } deberta;
};

/* The sliding window of layer l (0 = the layer attends to everything). */
static inline int64_t wd__config_layer_window(const wd_model_config *c, int64_t l) {
    return c->layer_sliding && !c->layer_sliding[l] ? 0 : c->sliding_window;
}

/* qwen3.c, phi3.c, granite.c: the fields config.json gives their model_type
 * beyond the common ones, read after them (and their class defaults where
 * the common reader's differ). Each returns WD_OK or the error of
 * wd_model_config_parse, naming where and the field. */
struct cJSON;
wd_status wd__qwen3_config(wd_model_config *c, const struct cJSON *root, const char *where);
wd_status wd__phi3_config(wd_model_config *c, const struct cJSON *root, const char *where);
wd_status wd__granite_config(wd_model_config *c, const struct cJSON *root, const char *where);
/* phi3.c: true for the rope_scaling types Phi3Config maps to longrope. */
bool wd__phi3_is_longrope(const char *type);

/* The ContextPooler's activation (ACT2FN[pooler_hidden_act]): the hidden
 * activations plus tanh. */
typedef enum wd__pooler_act {
    WD_POOLER_ACT_GELU = 0,
    WD_POOLER_ACT_GELU_TANH,
    WD_POOLER_ACT_RELU,
    WD_POOLER_ACT_SILU,
    WD_POOLER_ACT_TANH,
    WD_POOLER_ACT_LINEAR,
} wd__pooler_act;

/* config.c's field checks, shared with the per-family readers: a value
 * that must be positive; a string copied into a fixed buffer. Both fail
 * with WD_ERR_FORMAT naming where and the field. */
wd_status wd__config_positive(const char *where, const char *field, int64_t v);
wd_status wd__config_copy_str(char *dst, size_t cap, const char *src, const char *where,
                              const char *field);
/* deberta_config.c: DebertaV2Config's own fields (c->deberta), after the
 * common ones; refuses the ConvLayer and head / pooler sizes other than
 * hidden_size's. */
wd_status wd__deberta_parse_config(wd_model_config *c, const struct cJSON *root, const char *where);

#endif /* WD_MODEL_CONFIG_INTERNAL_H */
