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

#endif /* WD_MODEL_CONFIG_INTERNAL_H */
