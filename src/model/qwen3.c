/*
 * model/qwen3.c - Qwen3 (Qwen3ForCausalLM; Qwen3Guard): what it adds to the
 * Llama-family decoder of decoder.c, following transformers' modeling_qwen3:
 *
 *     q = h Wq^T (+bq)  -> (T,H,D) -> RMSNorm over each head's D values
 *     k = h Wk^T (+bk)  -> (T,KV,D) -> RMSNorm over each head's D values
 *     then rope, attention as Llama's
 *
 * with self_attn.q_norm.weight and self_attn.k_norm.weight (D) shared by
 * the heads of a layer, the same eps as the other norms, and the norms
 * applied BEFORE the rotation. Config semantics (Qwen3Config):
 *   - head_dim is its own field (default 128), free of hidden / heads;
 *   - attention_bias (default false) puts biases on q, k, v AND o;
 *   - num_key_value_heads defaults to 32;
 *   - a sliding window only with use_sliding_window, and then only on the
 *     layers from max_window_layers on: that per-layer window is refused
 *     here rather than computed wrongly (released checkpoints have none).
 */
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "model/model_internal.h"

#define TRY(x)                   \
    do {                         \
        wd_status rc_ = (x);     \
        if (rc_) return rc_;     \
    } while (0)

wd_status wd__qwen3_config(wd_model_config *c, const cJSON *root, const char *where) {
    if (!cJSON_GetObjectItemCaseSensitive(root, "head_dim")) c->head_dim = 128;
    if (!cJSON_GetObjectItemCaseSensitive(root, "num_key_value_heads")) {
        c->n_kv_head = 32;
        if (c->n_head % c->n_kv_head)
            return wd__fail(WD_ERR_FORMAT,
                            "%s: field 'num_key_value_heads': absent, so 32 (Qwen3Config's "
                            "default), which does not divide num_attention_heads = %lld",
                            where, (long long)c->n_head);
    }
    TRY(wd__json_bool(root, where, "attention_bias", false, false, &c->attention_bias));
    c->attention_out_bias = c->attention_bias;
    c->mlp_bias = false;
    bool sliding = false;
    TRY(wd__json_bool(root, where, "use_sliding_window", false, false, &sliding));
    int64_t mwl = 28; /* Qwen3Config: layers from max_window_layers on slide */
    TRY(wd__json_int(root, where, "max_window_layers", false, 28, &mwl));
    if (sliding && mwl >= c->n_layer) sliding = false; /* no layer slides */
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
    for (const cJSON *e = cJSON_IsArray(lt) ? lt->child : NULL; e; e = e->next)
        if (cJSON_IsString(e) && !strcmp(e->valuestring, "sliding_attention")) sliding = true;
    if (sliding)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'use_sliding_window': qwen3's per-layer sliding window "
                        "(layers from max_window_layers on) is not supported",
                        where);
    c->sliding_window = 0;
    c->qk_norm = true;
    return WD_OK;
}
