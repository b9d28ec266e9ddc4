/*
 * tests/tools/gen_checkpoint.h - tiny deterministic random checkpoints in the
 * exact Hugging Face layout, for tests (used by the wd_gen_checkpoint tool
 * and linkable from unit tests through wd_testutil).
 *
 * A generated folder holds config.json and model.safetensors (or, with
 * shards > 1, model-0000K-of-0000N.safetensors + model.safetensors.index.json)
 * whose tensor names and shapes are those transformers' from_pretrained
 * expects for:
 *   llama, mistral, qwen2      -> *ForCausalLM (lm_head.weight unless tied;
 *                                 qwen2 with q/k/v biases)
 *   qwen3                      -> Qwen3ForCausalLM (q_norm / k_norm per layer;
 *                                 head_dim written; biases with attention_bias)
 *   phi3                       -> Phi3ForCausalLM (fused qkv_proj, gate_up_proj)
 *   granite                    -> GraniteForCausalLM (Llama's tensors; the four
 *                                 multipliers set to values other than 1)
 *   gemma2, gemma3             -> Gemma2ForCausalLM / Gemma3ForCausalLM (model_type
 *                                 gemma3_text): four norms per layer, q_norm/k_norm
 *                                 for gemma3, tied embeddings unless --untie
 *   bert, roberta, distilbert  -> *ForSequenceClassification (id2label set)
 *   modernbert                 -> ModernBertForSequenceClassification (no
 *                                 biases unless attention_bias, which turns on
 *                                 every optional one; local_rope_theta =
 *                                 rope_theta)
 *   xlm-roberta                -> XLMRobertaForSequenceClassification (RoBERTa's
 *                                 tensors under the same "roberta." prefix)
 *   deberta-v2                 -> DebertaV2ForSequenceClassification, by default
 *                                 in DeBERTa-v3's layout (Prompt Guard's config)
 * Values come from a splitmix64 stream seeded by `seed`: the same parameters
 * give the same bytes.
 */
#ifndef WD_GEN_CHECKPOINT_H
#define WD_GEN_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "warden/warden.h"

typedef struct wdt_gen_params {
    const char *family;     /* llama, mistral, qwen2, qwen3, phi3, granite, gemma2, gemma3,
                               bert, roberta, distilbert, modernbert */
    uint64_t    seed;
    wd_dtype    dtype;      /* F32, F16 or BF16 */
    int         n_layer;
    int         hidden;
    int         n_head;
    int         n_kv_head;  /* decoders; 0 = n_head / 2 when even, else n_head */
    int         intermediate;
    int         vocab;
    int         max_pos;    /* positions usable by the model (RoBERTa stores +2) */
    int         num_labels; /* encoders */
    int         shards;     /* 1 = model.safetensors */
    bool        tie;        /* decoders: tie_word_embeddings (no lm_head.weight) */
    bool        attention_bias; /* llama, qwen3, granite: biases on q, k, v and o;
                                   modernbert: every bias */
    double      rope_theta;
    int         head_dim;   /* qwen3, gemma2, gemma3: head_dim (0 = hidden / n_head) */
    bool        untie;      /* gemma2/gemma3: tie_word_embeddings false, lm_head.weight written */
    /* deberta-v2. By default DeBERTa-v3's layout (Prompt Guard's config):
     * relative attention with 256 log buckets, max_relative_positions -1,
     * c2p and p2c through the shared query/key projections, a LayerNorm on
     * rel_embeddings, no absolute positions, no token types, GELU pooler. */
    int  position_buckets;       /* default 256; -1: none (2 * max_relative_positions rows) */
    int  max_relative_positions; /* default -1 (= max_pos)                 */
    int  embedding_size;         /* 0 (default): hidden; else embed_proj   */
    bool deberta_classic;        /* the other branches instead: absolute positions, 2 token
                                    types, pos_key_proj / pos_query_proj, pos_att_type
                                    "p2c|c2p" as a string, norm_rel_ebd "none", tanh pooler */
} wdt_gen_params;

/* Small sizes: 2 layers, hidden 32, 4 heads (2 kv), intermediate 64,
 * vocab 128, 64 positions, 2 labels, F32, seed 1, one shard. */
wdt_gen_params wdt_gen_params_default(const char *family);

/* Writes the checkpoint into dir (created if needed). Returns WD_OK, or an
 * error status with wd_last_error() set. */
wd_status wdt_gen_checkpoint(const wdt_gen_params *p, const char *dir);

#endif
