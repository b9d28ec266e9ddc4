/*
 * model/phi3.c - Phi-3 (Phi3ForCausalLM): what it changes in the
 * Llama-family decoder of decoder.c, following transformers' modeling_phi3.
 *
 * Fused projections. self_attn.qkv_proj.weight is (H*D + 2*KV*D, C): the
 * rows of q, then k, then v; mlp.gate_up_proj.weight is (2*I, C): gate rows
 * then up rows (the MLP is down(up * act(gate)), SwiGLU as Llama's). A row
 * range of a row-major matrix is contiguous in any stored type, so the five
 * Llama matrices are views into the two fused ones, bound in place:
 *
 *     qkv_proj  | q: H*D rows | k: KV*D rows | v: KV*D rows |
 *     gate_up   | gate: I rows | up: I rows |
 *
 * Partial rotary (partial_rotary_factor f, Phi-4-mini's 0.75): rope turns
 * the first R = int(D * f) dims of each head (rotate-half pairs i, i + R/2
 * within them, frequencies from R) and leaves the other D - R as they are.
 *
 * LongRoPE (rope_scaling "longrope"; "su" and "yarn" are its old names in
 * Phi3Config): inv_freq[i] = 1 / (ext[i] * theta^(2i/R)) and cos, sin
 * scaled by attention_factor (given, else sqrt(1 + ln s / ln orig) with
 * s = max_position_embeddings / original_max_position_embeddings, 1 when
 * s <= 1). transformers uses ext = short_factor while the sequence's
 * positions stay below original_max_position_embeddings and switches every
 * position to long_factor past it (keys already cached keep the short
 * rotation). warden computes the first regime exactly and stops there: a
 * longrope config's max_position_embeddings becomes
 * original_max_position_embeddings (after the attention factor is derived
 * from the two), so contexts hold at most that many positions (4096 for
 * Phi-3-mini-128k) and no result depends on the switch.
 *
 * Sliding window: Phi3Config's sliding_window (default none; 2047 in
 * Phi-3-mini-4k) is Mistral's window, which decoder.c computes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "model/model_internal.h"
#include "tensor/qmatmul.h"

#define TRY(x)                   \
    do {                         \
        wd_status rc_ = (x);     \
        if (rc_) return rc_;     \
    } while (0)

bool wd__phi3_is_longrope(const char *type) {
    return !strcmp(type, "longrope") || !strcmp(type, "su") || !strcmp(type, "yarn");
}

size_t wd__phi3_rope_dim(const wd_model_config *c) {
    return (size_t)((double)c->head_dim * c->partial_rotary_factor);
}

/* rs.name: a list of n numbers into a new array *out. */
static wd_status factor_list(const cJSON *rs, const char *where, const char *name, size_t n,
                             float **out) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(rs, name);
    if (!a || !cJSON_IsArray(a))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': longrope needs a list of %zu numbers", where,
                        name, n);
    if ((size_t)cJSON_GetArraySize(a) != n)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: field '%s': %d values, expected %zu (rotated head dims / 2)", where,
                        name, cJSON_GetArraySize(a), n);
    if (!(*out = malloc(n * sizeof **out))) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    size_t i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || !(e->valuedouble > 0) || !isfinite(e->valuedouble))
            return wd__fail(WD_ERR_FORMAT, "%s: field '%s': value %zu is not a positive number",
                            where, name, i);
        (*out)[i] = (float)e->valuedouble;
    }
    return WD_OK;
}

static wd_status parse_longrope(wd_model_config *c, const cJSON *root, const char *where) {
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (!cJSON_IsObject(rs)) return WD_OK;
    const char *type = NULL;
    TRY(wd__json_str(rs, where, "rope_type", false, NULL, &type));
    if (!type) TRY(wd__json_str(rs, where, "type", false, "default", &type));
    if (!wd__phi3_is_longrope(type)) return WD_OK;
    char w2[600];
    snprintf(w2, sizeof w2, "%s: rope_scaling", where);
    size_t half = wd__phi3_rope_dim(c) / 2;
    TRY(factor_list(rs, w2, "short_factor", half, &c->longrope.short_factor));
    TRY(factor_list(rs, w2, "long_factor", half, &c->longrope.long_factor));
    int64_t orig = c->longrope.original_max_position_embeddings;
    double s = (double)c->max_position_embeddings / (double)orig, af;
    TRY(wd__json_num(rs, w2, "attention_factor", false, -1.0, &af));
    if (af == -1.0) af = s <= 1.0 ? 1.0 : sqrt(1.0 + log(s) / log((double)orig));
    if (!(af > 0) || !isfinite(af))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'attention_factor': must be positive", w2);
    c->longrope.attention_factor = af;
    c->longrope.on = true;
    /* the positions computed exactly (see the top): every user of the
     * config sizes its contexts from this field */
    if (c->max_position_embeddings > orig) c->max_position_embeddings = orig;
    return WD_OK;
}

wd_status wd__phi3_config(wd_model_config *c, const cJSON *root, const char *where) {
    if (!cJSON_GetObjectItemCaseSensitive(root, "rms_norm_eps")) c->norm_eps = 1e-5;
    c->attention_bias = c->attention_out_bias = c->mlp_bias = false;
    c->fused_qkv = true;
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    c->sliding_window = 0;
    if (sw && !cJSON_IsNull(sw)) {
        TRY(wd__json_int(root, where, "sliding_window", false, 0, &c->sliding_window));
        if (c->sliding_window <= 0)
            return wd__fail(WD_ERR_FORMAT, "%s: field 'sliding_window': must be positive or null",
                            where);
    }
    TRY(wd__json_num(root, where, "partial_rotary_factor", false, 1.0, &c->partial_rotary_factor));
    size_t R = wd__phi3_rope_dim(c);
    if (!(c->partial_rotary_factor > 0 && c->partial_rotary_factor <= 1.0) || R < 2 || R % 2)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: field 'partial_rotary_factor': %g leaves %zu rotated dims of "
                        "head_dim %lld (needs 0 < f <= 1 and an even count >= 2)",
                        where, c->partial_rotary_factor, R, (long long)c->head_dim);
    TRY(wd__json_int(root, where, "original_max_position_embeddings", false, 4096,
                     &c->longrope.original_max_position_embeddings));
    if (c->longrope.original_max_position_embeddings <= 0)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: field 'original_max_position_embeddings': must be positive", where);
    return parse_longrope(c, root, where);
}

/* Bytes between two rows of a (., C) matrix of type. */
static size_t row_bytes(wd_ggml_type type, size_t C) {
    return type == WD_GGML_TYPE_F32 ? C * sizeof(float) : wd__qmatmul_row_size(type, C);
}

wd_status wd__phi3_bind_layer(wd_model *m, size_t l, wd__dec_layer *y) {
    int64_t C = (int64_t)m->C, HD = (int64_t)(m->H * m->D), KD = (int64_t)(m->KV * m->D),
            F = (int64_t)m->F;
    char n[160];
    wd__weight w;
    wd_status rc;
    snprintf(n, sizeof n, "model.layers.%zu.self_attn.qkv_proj.weight", l);
    if ((rc = wd__model_bind_weight(m, n, HD + 2 * KD, C, true, &w))) return rc;
    size_t rs = row_bytes(w.type, m->C);
    const char *base = w.data;
    y->wq = w;
    y->wk = (wd__weight){base + (size_t)HD * rs, w.type};
    y->wv = (wd__weight){base + (size_t)(HD + KD) * rs, w.type};
    snprintf(n, sizeof n, "model.layers.%zu.mlp.gate_up_proj.weight", l);
    if ((rc = wd__model_bind_weight(m, n, 2 * F, C, true, &w))) return rc;
    y->w_gate = w; /* its own type: llama.cpp's Q4_K_M has attn_qkv Q5_K, ffn_up Q4_K */
    y->w_up = (wd__weight){(const char *)w.data + (size_t)F * row_bytes(w.type, m->C), w.type};
    return WD_OK;
}

wd_status wd__phi3_longrope(wd_model *m) {
    const wd_model_config *c = m->cfg;
    size_t R = m->rope_dim;
    /* as transformers: every step in float32, theta^(2i/R) rounded once */
    float theta = (float)c->rope_theta;
    for (size_t i = 0; i < R / 2; i++) {
        float e = (float)(2 * i) / (float)R;
        float p = (float)pow((double)theta, (double)e);
        m->inv_freq[i] = 1.0f / (c->longrope.short_factor[i] * p);
    }
    m->rope_attn_factor = (float)c->longrope.attention_factor;
    return WD_OK;
}

void wd__rope_partial(float *x, const float *cos, const float *sin, size_t T, size_t H, size_t D,
                      size_t R, wd_rope_layout layout) {
    // x (T,H,D) in place, cos (T,R/2), sin (T,R/2): dims [0, R) of each head turn
    for (size_t t = 0; t < T; t++)
        for (size_t h = 0; h < H; h++) {
            float *xh = x + (t * H + h) * D;
            wd_op_rope_fwd(xh, xh, cos + t * (R / 2), sin + t * (R / 2), 1, 1, R, layout, NULL);
        }
}
