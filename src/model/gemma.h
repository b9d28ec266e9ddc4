/*
 * model/gemma.h - what Gemma 2 and Gemma 3 text add to the Llama-shaped
 * decoder (gemma.c): their config.json keys, the preparation of their
 * weights at load time, and the two element-wise steps of their forward
 * pass (tanh soft-capping, the gated GELU MLP). decoder.c calls these
 * where a field of wd_model or wd__dec_layer says so; the other decoders
 * leave those fields zero and never reach this file.
 */
#ifndef WD_MODEL_GEMMA_H
#define WD_MODEL_GEMMA_H

#include <cjson/cJSON.h>

#include "model/config_internal.h"
#include "warden/model.h"

/* config.c, once the generic fields are read: Gemma's own keys into c
 * (query_pre_attn_scalar, the two soft-capping values, sliding_window,
 * layer_types / sliding_window_pattern, rope_local_base_freq, and
 * transformers 5's rope_parameters). where names the file in errors.
 * Returns WD_OK, or WD_ERR_FORMAT / WD_ERR_UNSUPPORTED with the field named. */
wd_status wd__gemma_parse_config(wd_model_config *c, const cJSON *root, const char *where);

/* model.c, once a Gemma decoder's tensors are bound: replaces every RMSNorm
 * weight w by a copy holding 1 + w that the model owns (the checkpoint's
 * map is never written), and sets the embedding scale, the attention scale,
 * the soft-capping values and (Gemma 3) the sliding layers' rotary table.
 * Returns WD_OK, or WD_ERR_NOMEM / a rope error with m's message set. */
wd_status wd__gemma_prepare(wd_model *m);

/* x (n) <- cap * tanh(x / cap), in f32 as Hugging Face computes it. */
void wd__softcap(float *x, size_t n, float cap);

/* out (n) = act(gate) * up for the gated MLP of a Gemma layer (act: gelu,
 * gelu_tanh, silu or relu); out may be gate. */
void wd__gated_act_fwd(float *out, const float *gate, const float *up, size_t n, wd_act act,
                       wd_threadpool *tp);

#endif
