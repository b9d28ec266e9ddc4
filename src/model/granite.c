/*
 * model/granite.c - Granite (GraniteForCausalLM; Granite Guardian 3.x): the
 * Llama layout with four scalars, following transformers' modeling_granite:
 *
 *     x = embed_tokens[ids] * embedding_multiplier
 *     a = softmax(q K^T * attention_multiplier + mask) V   (replaces 1/sqrt(D))
 *     x = x + attn(norm(x)) * residual_multiplier
 *     x = x + mlp(norm(x)) * residual_multiplier
 *     logits = (norm(x) . lm_head^T) / logits_scaling
 *
 * GraniteConfig's defaults are 1.0 for all four -- attention_multiplier
 * included, so a config without it scales scores by 1, not 1/sqrt(D) --
 * and attention_bias (default false) puts biases on q, k, v and o.
 * decoder.c reads the scalars from the model (attn_scale, embd_scale,
 * res_scale, logits_div); every other decoder gets the values that leave
 * its computation unchanged.
 */
#include <math.h>

#include "base/err.h"
#include "base/json.h"
#include "model/model_internal.h"

#define TRY(x)                   \
    do {                         \
        wd_status rc_ = (x);     \
        if (rc_) return rc_;     \
    } while (0)

static wd_status finite_num(const cJSON *root, const char *where, const char *field, bool nonzero,
                            double *out) {
    TRY(wd__json_num(root, where, field, false, 1.0, out));
    if (!isfinite(*out) || (nonzero && *out == 0.0))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': must be a finite%s number", where, field,
                        nonzero ? ", non-zero" : "");
    return WD_OK;
}

wd_status wd__granite_config(wd_model_config *c, const cJSON *root, const char *where) {
    TRY(finite_num(root, where, "embedding_multiplier", false, &c->embedding_multiplier));
    TRY(finite_num(root, where, "attention_multiplier", false, &c->attention_multiplier));
    TRY(finite_num(root, where, "residual_multiplier", false, &c->residual_multiplier));
    TRY(finite_num(root, where, "logits_scaling", true, &c->logits_scaling));
    TRY(wd__json_bool(root, where, "attention_bias", false, false, &c->attention_bias));
    c->attention_out_bias = c->attention_bias;
    TRY(wd__json_bool(root, where, "mlp_bias", false, false, &c->mlp_bias));
    return WD_OK;
}

void wd__mul_scalar(float *x, size_t n, float s) {
    if (s == 1.0f) return;
    for (size_t i = 0; i < n; i++) x[i] *= s;
}
