/*
 * model/gemma.c - Gemma 2 (model_type "gemma2", Gemma2ForCausalLM; the
 * ShieldGemma checkpoints) and Gemma 3 text ("gemma3_text",
 * Gemma3ForCausalLM), as transformers' modeling_gemma2.py and
 * modeling_gemma3.py define them. decoder.c runs the layer; this file owns
 * what differs from Llama:
 *
 *     x = embed_tokens[ids] * sqrt(C)        (sqrt(C) rounded to the table's type)
 *     for each layer l:
 *         h = gnorm(x) * input_layernorm
 *         q, k, v = h Wq^T, h Wk^T, h Wv^T
 *         q, k = gnorm_per_head(q, k)             (Gemma 3: q_norm, k_norm)
 *         q, k = rope(q, k)                       (Gemma 3 sliding layers: their own table)
 *         s = q K^T * query_pre_attn_scalar^-0.5
 *         s = c tanh(s / c)                       (Gemma 2: attn_logit_softcapping)
 *         a = softmax(s + causal [+ window if l is a sliding layer]) V
 *         x = x + gnorm(a Wo^T) * post_attention_layernorm
 *         h = gnorm(x) * pre_feedforward_layernorm
 *         x = x + gnorm((act(h Wgate^T) * h Wup^T) Wdown^T) * post_feedforward_layernorm
 *     logits = gnorm(x) * norm . lm_head^T       (tied to embed_tokens by default)
 *     logits = c tanh(logits / c)                 (final_logit_softcapping)
 *
 * gnorm is Gemma's RMSNorm, x * rsqrt(mean(x^2) + eps) * (1 + w): the
 * stored weight is the offset from one. wd__gemma_prepare folds the one
 * into a copy the model owns, so decoder.c runs the ordinary RMSNorm kernel
 * and the checkpoint's map stays read-only.
 *
 * Which layers slide: config.json's layer_types when given; otherwise Gemma 2
 * slides on even layer indices and Gemma 3 on every layer but each
 * sliding_window_pattern-th (default 6: layers 5, 11, ... are global). A
 * sliding layer at query position i sees keys j with i - window < j <= i.
 * Gemma 3's sliding layers rotate with rope_local_base_freq (10000) and no
 * scaling; its global layers use rope_theta with rope_scaling (linear 8 on
 * the larger models). Gemma 3's attention never applies
 * attn_logit_softcapping (the modeling code does not pass it on), so it is
 * ignored there.
 */
#include "model/gemma.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/model_internal.h"

#define TRY(x)               \
    do {                     \
        wd_status rc_ = (x); \
        if (rc_) return rc_; \
    } while (0)

/* ==== config.json ========================================================= */

/* A soft-capping value: absent -> def, null -> 0 (none), else positive. */
static wd_status read_cap(const cJSON *root, const char *where, const char *key, double def,
                          double *out) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = def;
    if (!it) return WD_OK;
    if (cJSON_IsNull(it)) {
        *out = 0;
        return WD_OK;
    }
    if (!cJSON_IsNumber(it) || !(it->valuedouble > 0))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a positive number or null, got %s",
                        where, key, cJSON_IsNumber(it) ? "a number <= 0" : wd__json_type_name(it));
    *out = it->valuedouble;
    return WD_OK;
}

/* Which layers use the sliding window (c->layer_sliding). */
static wd_status read_layer_types(wd_model_config *c, const cJSON *root, const char *where) {
    c->layer_sliding = calloc((size_t)c->n_layer, sizeof *c->layer_sliding);
    if (!c->layer_sliding) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
    if (lt && !cJSON_IsNull(lt)) {
        if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->n_layer)
            return wd__fail(WD_ERR_FORMAT,
                            "%s: field 'layer_types': expected a list of num_hidden_layers (%lld) "
                            "strings",
                            where, (long long)c->n_layer);
        int64_t l = 0;
        for (const cJSON *e = lt->child; e; e = e->next, l++) {
            if (cJSON_IsString(e) && !strcmp(e->valuestring, "sliding_attention"))
                c->layer_sliding[l] = true;
            else if (!cJSON_IsString(e) || strcmp(e->valuestring, "full_attention"))
                return wd__fail(WD_ERR_UNSUPPORTED,
                                "%s: field 'layer_types': entry %lld is not 'sliding_attention' or "
                                "'full_attention'",
                                where, (long long)l);
        }
        return WD_OK;
    }
    int64_t pattern = 2; /* Gemma 2: even layers slide */
    if (c->type == WD_MODEL_TYPE_GEMMA3) {
        TRY(wd__json_int(root, where, "sliding_window_pattern", false, 6, &pattern));
        if (pattern < 1)
            return wd__fail(WD_ERR_FORMAT, "%s: field 'sliding_window_pattern': must be positive",
                            where);
    }
    for (int64_t l = 0; l < c->n_layer; l++) c->layer_sliding[l] = (l + 1) % pattern != 0;
    return WD_OK;
}

/* One entry of transformers 5's rope_parameters: its rope_theta and, when
 * scaling is allowed, a linear factor into c->rope_scaling. */
static wd_status read_rope_entry(wd_model_config *c, const cJSON *e, const char *where,
                                 bool scaling_ok, double *theta) {
    if (!cJSON_IsObject(e))
        return wd__fail(WD_ERR_FORMAT, "%s: expected an object, got %s", where,
                        wd__json_type_name(e));
    TRY(wd__json_num(e, where, "rope_theta", true, 0, theta));
    if (!(*theta > 0))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'rope_theta': must be positive", where);
    const char *type;
    TRY(wd__json_str(e, where, "rope_type", false, "default", &type));
    if (!strcmp(type, "default")) return WD_OK;
    if (!scaling_ok || strcmp(type, "linear"))
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'rope_type': '%.40s' is not supported here (%s)", where, type,
                        scaling_ok ? "default, linear" : "default");
    c->rope_scaling.type = WD_ROPE_SCALING_LINEAR;
    TRY(wd__json_num(e, where, "factor", true, 1.0, &c->rope_scaling.factor));
    if (!(c->rope_scaling.factor >= 1.0))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'factor': must be >= 1", where);
    return WD_OK;
}

/* transformers 5 writes rope_parameters instead of rope_theta / rope_scaling
 * / rope_local_base_freq: flat for Gemma 2, per layer type for Gemma 3. */
static wd_status read_rope_parameters(wd_model_config *c, const cJSON *root, const char *where) {
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) return WD_OK;
    char w2[600];
    if (c->type == WD_MODEL_TYPE_GEMMA2) {
        snprintf(w2, sizeof w2, "%s: rope_parameters", where);
        return read_rope_entry(c, rp, w2, true, &c->rope_theta);
    }
    const cJSON *full = cJSON_GetObjectItemCaseSensitive(rp, "full_attention");
    const cJSON *slide = cJSON_GetObjectItemCaseSensitive(rp, "sliding_attention");
    if (full) {
        snprintf(w2, sizeof w2, "%s: rope_parameters.full_attention", where);
        TRY(read_rope_entry(c, full, w2, true, &c->rope_theta));
    }
    if (slide) {
        snprintf(w2, sizeof w2, "%s: rope_parameters.sliding_attention", where);
        TRY(read_rope_entry(c, slide, w2, false, &c->rope_local_theta));
    }
    return WD_OK;
}

wd_status wd__gemma_parse_config(wd_model_config *c, const cJSON *root, const char *where) {
    bool g3 = c->type == WD_MODEL_TYPE_GEMMA3;
    c->gemma = true;
    c->qk_norm = g3;
    bool bidir = false;
    TRY(wd__json_bool(root, where, "use_bidirectional_attention", false, false, &bidir));
    if (bidir)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'use_bidirectional_attention': bidirectional Gemma (an "
                        "embedding model) is not supported; warden runs the causal LM",
                        where);
    TRY(wd__json_num(root, where, "query_pre_attn_scalar", false, 256, &c->query_pre_attn_scalar));
    if (!(c->query_pre_attn_scalar > 0))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'query_pre_attn_scalar': must be positive",
                        where);
    TRY(read_cap(root, where, "final_logit_softcapping", g3 ? 0 : 30.0,
                 &c->final_logit_softcapping));
    if (g3) c->attn_logit_softcapping = 0; /* Gemma3Attention does not apply it */
    else TRY(read_cap(root, where, "attn_logit_softcapping", 50.0, &c->attn_logit_softcapping));

    /* absent: the class default; null: no window on any layer */
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    c->sliding_window = 0;
    if (!cJSON_IsNull(sw)) {
        TRY(wd__json_int(root, where, "sliding_window", false, 4096, &c->sliding_window));
        if (c->sliding_window <= 0)
            return wd__fail(WD_ERR_FORMAT, "%s: field 'sliding_window': must be positive or null",
                            where);
    }
    TRY(read_layer_types(c, root, where));
    if (g3) {
        TRY(wd__json_num(root, where, "rope_local_base_freq", false, 10000.0,
                         &c->rope_local_theta));
        if (!(c->rope_local_theta > 0))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'rope_local_base_freq': must be positive",
                            where);
    }
    return read_rope_parameters(c, root, where);
}

/* ==== weights ============================================================= */

/* *w (n) <- a copy holding 1 + w, owned by m; NULL stays NULL. A .gguf
 * holds 1 + w already (llama.cpp's converter adds it; so does warden's). */
static wd_status fold(wd_model *m, const float **w, size_t n) {
    if (!*w || m->gg) return WD_OK;
    float *p = malloc(n * sizeof *p);
    if (!p || wd__model_own(m, p)) {
        free(p);
        return wd__err_set(&m->err, WD_ERR_NOMEM, "%s: out of memory", m->dir);
    }
    for (size_t i = 0; i < n; i++) p[i] = 1.0f + (*w)[i];
    m->owned_bytes += n * sizeof *p;
    *w = p;
    return WD_OK;
}

/* sqrt(C) as the embedding's type holds it: transformers multiplies by a
 * tensor of that dtype (55.4256 becomes 55.5 in bfloat16 for C = 3072);
 * from a .gguf, in f32 as llama.cpp does. */
static float embed_scale(const wd_model *m) {
    float s = (float)sqrt((double)m->C);
    uint16_t h;
    if (m->gg) return s;
    if (m->tok_embd.type == WD_GGML_TYPE_BF16) {
        wd_f32_to_bf16(&h, &s, 1);
        wd_bf16_to_f32(&s, &h, 1);
    } else if (m->tok_embd.type == WD_GGML_TYPE_F16) {
        wd_f32_to_f16(&h, &s, 1);
        wd_f16_to_f32(&s, &h, 1);
    }
    return s;
}

wd_status wd__gemma_prepare(wd_model *m) {
    const wd_model_config *c = m->cfg;
    size_t C = m->C, D = m->D;
    for (size_t l = 0; l < m->L; l++) {
        wd__dec_layer *y = &m->dec[l];
        TRY(fold(m, &y->attn_norm, C));
        TRY(fold(m, &y->attn_post_norm, C));
        TRY(fold(m, &y->ffn_norm, C));
        TRY(fold(m, &y->ffn_post_norm, C));
        TRY(fold(m, &y->q_norm, D));
        TRY(fold(m, &y->k_norm, D));
    }
    TRY(fold(m, &m->out_norm, C));
    m->embd_scale = embed_scale(m);
    m->attn_scale = (float)(1.0 / sqrt(c->query_pre_attn_scalar));
    m->attn_softcap = (float)c->attn_logit_softcapping;
    m->logit_softcap = (float)c->final_logit_softcapping;
    if (c->rope_local_theta > 0) {
        wd_rope_params rp = wd_rope_params_default();
        rp.theta = c->rope_local_theta;
        rp.head_dim = (int)D;
        if (!(m->inv_freq_local = malloc(D / 2 * sizeof *m->inv_freq_local)))
            return wd__err_set(&m->err, WD_ERR_NOMEM, "%s: out of memory", m->dir);
        wd_status rc = wd_rope_inv_freq(m->inv_freq_local, &rp);
        if (rc)
            return wd__err_prefix(rc, "%s/config.json: rope_local_base_freq", m->dir),
                   wd__err_take(&m->err, rc);
    }
    return WD_OK;
}

/* ==== forward steps ======================================================= */

void wd__softcap(float *x, size_t n, float cap) {
    // x (n)
    for (size_t i = 0; i < n; i++) x[i] = cap * tanhf(x[i] / cap);
}

void wd__gated_act_fwd(float *out, const float *gate, const float *up, size_t n, wd_act act,
                       wd_threadpool *tp) {
    // out (n), gate (n), up (n)
    if (act == WD_ACT_SILU) {
        wd_op_swiglu_fwd(out, gate, up, n, tp);
        return;
    }
    if (act == WD_ACT_GELU_TANH) {
        wd_op_gelu_tanh_fwd(out, gate, n, tp);
    } else if (act == WD_ACT_GELU) {
        wd_op_gelu_fwd(out, gate, n, tp);
    } else {
        for (size_t i = 0; i < n; i++) out[i] = gate[i] > 0.0f ? gate[i] : 0.0f;
    }
    for (size_t i = 0; i < n; i++) out[i] *= up[i];
}
