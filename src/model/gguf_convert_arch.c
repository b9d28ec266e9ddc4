/*
 * model/gguf_convert_arch.c - what `warden quantize` (gguf_convert.c)
 * writes differently per decoder architecture, following llama.cpp's
 * convert_hf_to_gguf.py and the loaders of src/llama-model.cpp:
 *
 *   model_type        general.architecture  q/k rows     extra keys
 *   llama, mistral    llama                 interleaved  -
 *   qwen2             qwen2                 as stored    -
 *   qwen3             qwen3                 as stored    attention.key_length / value_length
 *   granite           granite               interleaved  embedding_scale, attention.scale,
 *                                                        residual_scale, logit_scale
 *   gemma2            gemma2                as stored    attn_logit_softcapping,
 *                                                        final_logit_softcapping,
 *                                                        attention.sliding_window,
 *                                                        attention.key_length / value_length
 *   gemma3_text       gemma3                as stored    attention.sliding_window,
 *                                                        attention.key_length / value_length
 *   phi3              phi3                  as stored    attention.sliding_window (0 = none),
 *                                                        rope.scaling.original_context_length,
 *                                                        longrope: rope.scaling.attn_factor
 *                                                        and the tensors rope_factors_long /
 *                                                        rope_factors_short (gguf_convert.c)
 *
 * Gemma's norms are written as 1 + w and its lm_head is the embedding (see
 * gguf_convert.c). What llama.cpp fixes rather than reads is checked here
 * and refused when the checkpoint differs, since llama.cpp would run it
 * silently wrong: Gemma 2 slides on even layers, Gemma 3 on all but every
 * sixth with a local rope base of 10000; Gemma's attention scale is
 * 1/sqrt(head_dim), or 1/sqrt(hidden / heads) for the 27B models (46
 * layers for Gemma 2, 62 for Gemma 3). A query_pre_attn_scalar that is
 * neither is written as <arch>.attention.scale, which warden reads and
 * llama.cpp ignores (a warning says so). Granite's head_dim must be
 * hidden / heads (llama.cpp's converter drops head_dim); so must phi3's.
 * phi3's rope.dimension_count is the rotated dims (partial_rotary_factor),
 * as later llama.cpp converters write it (the c392e50 snapshot writes
 * hidden / heads, ignoring the factor).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "model/model_internal.h"
#include "warden/config.h"
#include "warden/gguf.h"

const char *wd__gguf_arch_of(const wd_model_config *c) {
    if (c->family != WD_MODEL_FAMILY_DECODER) return NULL;
    switch (c->type) {
    case WD_MODEL_TYPE_LLAMA:
    case WD_MODEL_TYPE_MISTRAL: return "llama";
    case WD_MODEL_TYPE_QWEN2: return "qwen2";
    case WD_MODEL_TYPE_QWEN3: return "qwen3";
    case WD_MODEL_TYPE_GRANITE: return "granite";
    case WD_MODEL_TYPE_GEMMA2: return "gemma2";
    case WD_MODEL_TYPE_GEMMA3: return "gemma3";
    case WD_MODEL_TYPE_PHI3: return "phi3";
    default: return NULL;
    }
}

/* The query_pre_attn_scalar llama.cpp assumes for a Gemma of c's size. */
static double gemma_assumed_scalar(const wd_model_config *c) {
    bool big = c->n_layer == (c->type == WD_MODEL_TYPE_GEMMA3 ? 62 : 46);
    return big ? (double)(c->hidden_size / c->n_head) : (double)c->head_dim;
}

wd_status wd__gguf_check_writable(const wd_model_config *c, const char *path) {
    if (!wd__gguf_arch_of(c))
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: model_type '%s': only decoders (llama, mistral, qwen2, qwen3, "
                        "phi3, granite, gemma2, gemma3_text) can be written as GGUF",
                        path, c->model_type);
    if ((c->type == WD_MODEL_TYPE_GRANITE || c->type == WD_MODEL_TYPE_PHI3) &&
        c->head_dim * c->n_head != c->hidden_size)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'head_dim': %s's GGUF form has no head_dim (%lld), only "
                        "hidden_size / num_attention_heads (%lld)",
                        path, c->model_type, (long long)c->head_dim,
                        (long long)(c->hidden_size / c->n_head));
    if (!c->gemma) return WD_OK;
    bool g3 = c->type == WD_MODEL_TYPE_GEMMA3;
    if (c->sliding_window <= 0)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'sliding_window': null, but llama.cpp always slides Gemma's "
                        "local layers",
                        path);
    for (int64_t l = 0; l < c->n_layer; l++) {
        bool want = g3 ? (l + 1) % 6 != 0 : l % 2 == 0;
        if (c->layer_sliding && c->layer_sliding[l] != want)
            return wd__fail(WD_ERR_UNSUPPORTED,
                            "%s: field '%s': layer %lld is %s, but llama.cpp fixes %s",
                            path, g3 ? "sliding_window_pattern / layer_types" : "layer_types",
                            (long long)l, c->layer_sliding[l] ? "sliding" : "global",
                            g3 ? "every sixth layer global" : "even layers sliding");
    }
    if (g3 && c->rope_local_theta != 10000.0)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'rope_local_base_freq': %g, but llama.cpp fixes 10000", path,
                        c->rope_local_theta);
    if (!g3 && (c->attn_logit_softcapping <= 0 || c->final_logit_softcapping <= 0))
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: fields 'attn_logit_softcapping' / 'final_logit_softcapping': null, "
                        "but llama.cpp's gemma2 always soft-caps (50 and 30 when unset)",
                        path);
    if (c->query_pre_attn_scalar != gemma_assumed_scalar(c))
        WD_WARN("%s: query_pre_attn_scalar %g is not the %g llama.cpp assumes for this size: "
                "written as %s.attention.scale, which warden reads and llama.cpp ignores",
                path, c->query_pre_attn_scalar, gemma_assumed_scalar(c), wd__gguf_arch_of(c));
    return WD_OK;
}

wd_status wd__gguf_write_arch_keys(wd_gguf_writer *w, const wd_model_config *c, const char *arch) {
    char key[128];
    wd_status rc = WD_OK;
#define SETU(suffix, v) \
    (snprintf(key, sizeof key, "%s.%s", arch, suffix), wd_gguf_writer_set_u32(w, key, (uint32_t)(v)))
#define SETF(suffix, v) \
    (snprintf(key, sizeof key, "%s.%s", arch, suffix), wd_gguf_writer_set_f32(w, key, (float)(v)))
    if (c->type == WD_MODEL_TYPE_GRANITE) {
        rc = SETF("embedding_scale", c->embedding_multiplier);
        if (!rc) rc = SETF("attention.scale", c->attention_multiplier);
        if (!rc) rc = SETF("residual_scale", c->residual_multiplier);
        if (!rc) rc = SETF("logit_scale", c->logits_scaling);
    } else if (c->type == WD_MODEL_TYPE_PHI3) {
        rc = SETU("attention.sliding_window", c->sliding_window);
        if (!rc && c->longrope.original_max_position_embeddings > 0)
            rc = SETU("rope.scaling.original_context_length", c->longrope.original_max_position_embeddings);
        if (!rc && c->longrope.on) rc = SETF("rope.scaling.attn_factor", c->longrope.attention_factor);
    } else if (c->gemma) {
        if (c->type == WD_MODEL_TYPE_GEMMA2) {
            rc = SETF("attn_logit_softcapping", c->attn_logit_softcapping);
            if (!rc) rc = SETF("final_logit_softcapping", c->final_logit_softcapping);
        } else if (c->final_logit_softcapping > 0) {
            rc = SETF("final_logit_softcapping", c->final_logit_softcapping);
        }
        if (!rc) rc = SETU("attention.sliding_window", c->sliding_window);
        if (!rc && c->query_pre_attn_scalar != gemma_assumed_scalar(c))
            rc = SETF("attention.scale", 1.0 / sqrt(c->query_pre_attn_scalar));
    }
#undef SETU
#undef SETF
    if (rc) return wd__fail(rc, "%s", wd_gguf_writer_last_error(w));
    return WD_OK;
}
