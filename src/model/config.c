/*
 * model/config.c - Hugging Face config.json -> wd_model_config, and the
 * accessors that read it.
 *
 * Defaults are those of transformers' configuration classes (LlamaConfig,
 * MistralConfig, Qwen2Config, BertConfig, RobertaConfig, DistilBertConfig),
 * so a config.json that omits a field means what it means to transformers:
 *   - mistral's num_key_value_heads defaults to 8, its sliding_window to 4096;
 *   - qwen2 has biases on q/k/v (never on o) by design, and a sliding window
 *     only when use_sliding_window is true;
 *   - decoders untie embeddings by default, encoders tie them;
 *   - modernbert (ModernBertConfig) has no position table: rope_theta is its
 *     global_rope_theta (160000), local_rope_theta (10000) the local layers';
 *     LayerNorms without bias and eps 1e-5, no attention/MLP biases.
 *   - qwen3, phi3 and granite read their own fields in qwen3.c, phi3.c and
 *     granite.c, after the common ones;
 *   - DistilBERT's LayerNorm eps is fixed at 1e-12 in its modeling code;
 *   - gemma2 / gemma3_text (Gemma2Config, Gemma3TextConfig): head_dim 256,
 *     4 kv heads, tied embeddings, hidden_activation gelu_pytorch_tanh,
 *     gemma3_text's rope_theta 1e6; their own keys are read by gemma.c.
 * The size fields are required: a config without them is not a checkpoint's.
 * After reading, sizes are checked for consistency (positive, n_head a
 * multiple of n_kv_head, hidden_size divisible by n_head when head_dim is
 * implied) so that the model code can trust the struct.
 */
#include "model/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "model/gemma.h"

/* Every model_type warden knows, in wd_model_type's order. `runs` is set
 * once the runtime computes that architecture; config.json files naming
 * the others are refused with the list of those that run. */
static const struct {
    const char     *name;
    wd_model_family family;
    bool            runs;
} TYPES[WD_MODEL_TYPE_COUNT] = {
    [WD_MODEL_TYPE_LLAMA] = {"llama", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_MISTRAL] = {"mistral", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_QWEN2] = {"qwen2", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_BERT] = {"bert", WD_MODEL_FAMILY_ENCODER, true},
    [WD_MODEL_TYPE_ROBERTA] = {"roberta", WD_MODEL_FAMILY_ENCODER, true},
    [WD_MODEL_TYPE_DISTILBERT] = {"distilbert", WD_MODEL_FAMILY_ENCODER, true},
    [WD_MODEL_TYPE_QWEN3] = {"qwen3", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_PHI3] = {"phi3", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_GRANITE] = {"granite", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_GEMMA2] = {"gemma2", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_GEMMA3] = {"gemma3_text", WD_MODEL_FAMILY_DECODER, true},
    [WD_MODEL_TYPE_DEBERTA_V2] = {"deberta-v2", WD_MODEL_FAMILY_ENCODER, true},
    [WD_MODEL_TYPE_XLM_ROBERTA] = {"xlm-roberta", WD_MODEL_FAMILY_ENCODER, true},
    [WD_MODEL_TYPE_MODERNBERT] = {"modernbert", WD_MODEL_FAMILY_ENCODER, true},
};

const char *wd_model_type_name(wd_model_type type) {
    return (unsigned)type < WD_MODEL_TYPE_COUNT ? TYPES[type].name : "?";
}

const char *wd_model_family_name(wd_model_family family) {
    return family == WD_MODEL_FAMILY_DECODER ? "decoder" : family == WD_MODEL_FAMILY_ENCODER ? "encoder" : "?";
}

const char *wd_act_name(wd_act act) {
    static const char *names[] = {"silu", "gelu", "gelu_tanh", "relu"};
    return (unsigned)act < 4 ? names[act] : "?";
}

void wd_model_config_free(wd_model_config *cfg) {
    if (!cfg) return;
    if (cfg->id2label)
        for (int64_t i = 0; i < cfg->num_labels; i++) free(cfg->id2label[i]);
    free(cfg->id2label);
    free(cfg->layer_sliding);
    free(cfg->longrope.short_factor);
    free(cfg->longrope.long_factor);
    free(cfg);
}

/* Copies src into a fixed field, failing if it does not fit. */
wd_status wd__config_copy_str(char *dst, size_t cap, const char *src, const char *where,
                          const char *field) {
    if (strlen(src) >= cap)
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': value too long (%zu bytes, at most %zu)",
                        where, field, strlen(src), cap - 1);
    memcpy(dst, src, strlen(src) + 1);
    return WD_OK;
}

#define TRY(x)                   \
    do {                         \
        wd_status rc_ = (x);     \
        if (rc_) return rc_;     \
    } while (0)

static wd_status parse_act(wd_model_config *c, const char *s, const char *where,
                           const char *field) {
    if (!strcmp(s, "silu") || !strcmp(s, "swish")) c->hidden_act = WD_ACT_SILU;
    else if (!strcmp(s, "gelu")) c->hidden_act = WD_ACT_GELU;
    else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast"))
        c->hidden_act = WD_ACT_GELU_TANH;
    else if (!strcmp(s, "relu")) c->hidden_act = WD_ACT_RELU;
    else
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field '%s': activation '%.40s' is not supported (silu, gelu, "
                        "gelu_new, gelu_pytorch_tanh, gelu_fast, relu)",
                        where, field, s);
    return wd__config_copy_str(c->hidden_act_name, sizeof c->hidden_act_name, s, where, field);
}

static wd_status parse_rope_scaling(wd_model_config *c, const cJSON *root, const char *where) {
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    c->rope_scaling.type = WD_ROPE_SCALING_NONE;
    c->rope_scaling.factor = 1.0;
    if (!rs || cJSON_IsNull(rs)) return WD_OK;
    if (!cJSON_IsObject(rs))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'rope_scaling': expected an object or null, got %s",
                        where, wd__json_type_name(rs));
    char w2[600];
    snprintf(w2, sizeof w2, "%s: rope_scaling", where);
    const char *type = NULL;
    TRY(wd__json_str(rs, w2, "rope_type", false, NULL, &type));
    if (!type) TRY(wd__json_str(rs, w2, "type", true, NULL, &type));
    if (!strcmp(type, "default")) return WD_OK;
    if (c->type == WD_MODEL_TYPE_PHI3 && wd__phi3_is_longrope(type)) return WD_OK; /* phi3.c */
    if (!strcmp(type, "linear")) c->rope_scaling.type = WD_ROPE_SCALING_LINEAR;
    else if (!strcmp(type, "dynamic")) c->rope_scaling.type = WD_ROPE_SCALING_DYNAMIC;
    else if (!strcmp(type, "llama3")) c->rope_scaling.type = WD_ROPE_SCALING_LLAMA3;
    else
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'rope_scaling': type '%.40s' is not supported (default, linear, "
                        "dynamic, llama3)",
                        where, type);
    TRY(wd__json_num(rs, w2, "factor", true, 1.0, &c->rope_scaling.factor));
    if (!(c->rope_scaling.factor >= 1.0))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'factor': must be >= 1, got %g", w2,
                        c->rope_scaling.factor);
    if (c->rope_scaling.type == WD_ROPE_SCALING_LLAMA3) {
        TRY(wd__json_num(rs, w2, "low_freq_factor", true, 0, &c->rope_scaling.low_freq_factor));
        TRY(wd__json_num(rs, w2, "high_freq_factor", true, 0, &c->rope_scaling.high_freq_factor));
        TRY(wd__json_int(rs, w2, "original_max_position_embeddings", true, 0,
                         &c->rope_scaling.original_max_position_embeddings));
        if (!(c->rope_scaling.high_freq_factor > c->rope_scaling.low_freq_factor) ||
            c->rope_scaling.low_freq_factor <= 0 ||
            c->rope_scaling.original_max_position_embeddings <= 0)
            return wd__fail(WD_ERR_FORMAT,
                            "%s: llama3 needs 0 < low_freq_factor < high_freq_factor and "
                            "original_max_position_embeddings > 0",
                            w2);
    } else {
        TRY(wd__json_int(rs, w2, "original_max_position_embeddings", false, 0,
                         &c->rope_scaling.original_max_position_embeddings));
    }
    return WD_OK;
}

static wd_status parse_labels(wd_model_config *c, const cJSON *root, const char *where) {
    const cJSON *id2label = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    int64_t n = 2;
    if (id2label && !cJSON_IsNull(id2label)) {
        if (!cJSON_IsObject(id2label))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'id2label': expected an object, got %s",
                            where, wd__json_type_name(id2label));
        n = cJSON_GetArraySize(id2label);
    } else {
        TRY(wd__json_int(root, where, "num_labels", false, 2, &n));
        id2label = NULL;
    }
    if (n < 1 || n > 100000)
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': %lld labels (expected 1 to 100000)", where,
                        id2label ? "id2label" : "num_labels", (long long)n);
    c->id2label = calloc((size_t)n, sizeof *c->id2label);
    if (!c->id2label) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    c->num_labels = n;
    if (!id2label) {
        for (int64_t i = 0; i < n; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "LABEL_%lld", (long long)i);
            if (!(c->id2label[i] = strdup(buf))) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
        }
        return WD_OK;
    }
    for (const cJSON *e = id2label->child; e; e = e->next) {
        char *end;
        long long id = strtoll(e->string, &end, 10);
        if (!e->string[0] || *end || id < 0 || id >= n)
            return wd__fail(WD_ERR_FORMAT,
                            "%s: field 'id2label': key '%.40s' is not a class id in [0, %lld)",
                            where, e->string, (long long)n);
        if (!cJSON_IsString(e))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'id2label': label of id %lld is %s, expected a string",
                            where, id, wd__json_type_name(e));
        if (c->id2label[id])
            return wd__fail(WD_ERR_FORMAT, "%s: field 'id2label': id %lld appears twice", where, id);
        if (!(c->id2label[id] = strdup(e->valuestring)))
            return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    }
    /* label2id, when present, must agree. */
    const cJSON *label2id = cJSON_GetObjectItemCaseSensitive(root, "label2id");
    if (label2id && !cJSON_IsNull(label2id)) {
        if (!cJSON_IsObject(label2id))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'label2id': expected an object, got %s",
                            where, wd__json_type_name(label2id));
        for (const cJSON *e = label2id->child; e; e = e->next) {
            int64_t id;
            if (!wd__json_is_int(e, &id) || id < 0 || id >= n || strcmp(c->id2label[id], e->string))
                return wd__fail(WD_ERR_FORMAT,
                                "%s: field 'label2id': entry '%.60s' does not match id2label",
                                where, e->string);
        }
    }
    return WD_OK;
}

static wd_status parse_eos(wd_model_config *c, const cJSON *root, const char *where, int64_t def) {
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    c->n_eos_token_ids = 0;
    if (!eos || cJSON_IsNull(eos)) {
        if (def >= 0) c->eos_token_ids[c->n_eos_token_ids++] = def;
        return WD_OK;
    }
    int64_t v;
    if (wd__json_is_int(eos, &v)) {
        c->eos_token_ids[c->n_eos_token_ids++] = v;
        return WD_OK;
    }
    if (!cJSON_IsArray(eos))
        return wd__fail(WD_ERR_FORMAT,
                        "%s: field 'eos_token_id': expected an integer or a list of integers, got %s",
                        where, wd__json_type_name(eos));
    for (const cJSON *e = eos->child; e; e = e->next) {
        if (!wd__json_is_int(e, &v))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'eos_token_id': list holds %s, expected integers",
                            where, wd__json_type_name(e));
        if (c->n_eos_token_ids == WD_CONFIG_MAX_EOS)
            return wd__fail(WD_ERR_FORMAT, "%s: field 'eos_token_id': more than %d ids", where,
                            WD_CONFIG_MAX_EOS);
        c->eos_token_ids[c->n_eos_token_ids++] = v;
    }
    return WD_OK;
}

wd_status wd__config_positive(const char *where, const char *field, int64_t v) {
    if (v > 0) return WD_OK;
    return wd__fail(WD_ERR_FORMAT, "%s: field '%s': must be positive, got %lld", where, field,
                    (long long)v);
}

/* ==== ModernBERT ========================================================== */

/* The rotary bases of a ModernBERT config: the older keys global_rope_theta
 * (default 160000) and local_rope_theta (default 10000; null = the global
 * one, as the first ModernBertAttention read it), overridden by the newer
 * rope_parameters {full_attention: {rope_theta}, sliding_attention: {...}}.
 * Only the default rope type is computed. */
static wd_status parse_modernbert_rope(wd_model_config *c, const cJSON *root, const char *where) {
    TRY(wd__json_num(root, where, "global_rope_theta", false, 160000.0, &c->rope_theta));
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(root, "local_rope_theta");
    TRY(wd__json_num(root, where, "local_rope_theta", false, 10000.0, &c->local_rope_theta));
    if (lt && cJSON_IsNull(lt)) c->local_rope_theta = c->rope_theta;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) {
        const char *type = NULL;
        if (cJSON_IsObject(rs)) {
            TRY(wd__json_str(rs, where, "rope_type", false, NULL, &type));
            if (!type) TRY(wd__json_str(rs, where, "type", false, NULL, &type));
        }
        if (!type || strcmp(type, "default"))
            return wd__fail(WD_ERR_UNSUPPORTED,
                            "%s: field 'rope_scaling': ModernBERT runs with the default rope only",
                            where);
    }
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) return WD_OK;
    if (!cJSON_IsObject(rp))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'rope_parameters': expected an object, got %s",
                        where, wd__json_type_name(rp));
    static const char *kinds[2] = {"full_attention", "sliding_attention"};
    double *theta[2] = {&c->rope_theta, &c->local_rope_theta};
    for (int k = 0; k < 2; k++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(rp, kinds[k]);
        if (!e || cJSON_IsNull(e)) continue;
        char w2[600];
        snprintf(w2, sizeof w2, "%s: rope_parameters.%s", where, kinds[k]);
        if (!cJSON_IsObject(e))
            return wd__fail(WD_ERR_FORMAT, "%s: expected an object, got %s", w2,
                            wd__json_type_name(e));
        const char *type;
        TRY(wd__json_str(e, w2, "rope_type", false, "default", &type));
        if (strcmp(type, "default"))
            return wd__fail(WD_ERR_UNSUPPORTED,
                            "%s: field 'rope_type': '%.40s' is not supported (default)", w2, type);
        TRY(wd__json_num(e, w2, "rope_theta", false, *theta[k], theta[k]));
    }
    return WD_OK;
}

/* What ModernBertConfig adds to the common sizes: no position table (rope
 * on every layer, global layers every global_attn_every_n_layers, the
 * others within local_attention / 2 tokens on each side), LayerNorms with
 * norm_eps and optional biases, GeGLU with hidden_activation, the
 * classifier's pooling, bias and activation. Defaults are ModernBERT-base's. */
static wd_status parse_modernbert(wd_model_config *c, const cJSON *root, const char *where) {
    TRY(wd__json_int(root, where, "max_position_embeddings", false, 8192,
                     &c->max_position_embeddings));
    TRY(wd__config_positive(where, "max_position_embeddings", c->max_position_embeddings));
    c->type_vocab_size = 0;
    c->rope_scaling.type = WD_ROPE_SCALING_NONE;
    c->rope_scaling.factor = 1.0;
    TRY(parse_modernbert_rope(c, root, where));
    if (!(c->rope_theta > 1) || !(c->local_rope_theta > 1))
        return wd__fail(WD_ERR_FORMAT, "%s: the rope thetas (global %g, local %g) must be > 1",
                        where, c->rope_theta, c->local_rope_theta);
    if (c->head_dim % 2)
        return wd__fail(WD_ERR_FORMAT, "%s: head size %lld is odd (rotary needs pairs)", where,
                        (long long)c->head_dim);
    TRY(wd__json_int(root, where, "local_attention", false, 128, &c->local_attention));
    TRY(wd__config_positive(where, "local_attention", c->local_attention));
    TRY(wd__json_int(root, where, "global_attn_every_n_layers", false, 3,
                     &c->global_attn_every_n_layers));
    TRY(wd__config_positive(where, "global_attn_every_n_layers", c->global_attn_every_n_layers));
    /* transformers >= 4.57 also writes layer_types; its attention windows
     * still follow global_attn_every_n_layers, so the two must agree */
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
    if (lt && !cJSON_IsNull(lt)) {
        if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != c->n_layer)
            return wd__fail(WD_ERR_FORMAT,
                            "%s: field 'layer_types': expected a list of %lld layer types", where,
                            (long long)c->n_layer);
        int64_t l = 0;
        for (const cJSON *e = lt->child; e; e = e->next, l++) {
            const char *want = l % c->global_attn_every_n_layers ? "sliding_attention"
                                                                 : "full_attention";
            if (!cJSON_IsString(e) || strcmp(e->valuestring, want))
                return wd__fail(WD_ERR_UNSUPPORTED,
                                "%s: field 'layer_types': layer %lld is not '%s' (warden runs "
                                "the pattern of global_attn_every_n_layers = %lld)",
                                where, (long long)l, want,
                                (long long)c->global_attn_every_n_layers);
        }
    }
    c->sliding_window = 0;
    TRY(wd__json_num(root, where, "norm_eps", false, 1e-5, &c->norm_eps));
    if (!(c->norm_eps > 0))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'norm_eps': must be positive", where);
    TRY(wd__json_bool(root, where, "norm_bias", false, false, &c->norm_bias));
    const char *s;
    /* parse_act fills hidden_act: read the classifier's first, then keep it */
    TRY(wd__json_str(root, where, "classifier_activation", false, "gelu", &s));
    TRY(parse_act(c, s, where, "classifier_activation"));
    c->classifier_act = c->hidden_act;
    TRY(wd__json_str(root, where, "hidden_activation", false, "gelu", &s));
    TRY(parse_act(c, s, where, "hidden_activation"));
    TRY(wd__json_str(root, where, "classifier_pooling", false, "cls", &s));
    if (strcmp(s, "cls") && strcmp(s, "mean"))
        return wd__fail(WD_ERR_FORMAT,
                        "%s: field 'classifier_pooling': '%.40s' is not \"cls\" or \"mean\"", where,
                        s);
    c->classifier_mean = !strcmp(s, "mean");
    TRY(wd__json_bool(root, where, "classifier_bias", false, false, &c->classifier_bias));
    c->rope_interleaved = false;
    TRY(wd__json_bool(root, where, "tie_word_embeddings", false, true, &c->tie_word_embeddings));
    TRY(wd__json_bool(root, where, "attention_bias", false, false, &c->attention_bias));
    c->attention_out_bias = c->attention_bias; /* Wqkv and Wo alike */
    TRY(wd__json_bool(root, where, "mlp_bias", false, false, &c->mlp_bias));
    TRY(wd__json_int(root, where, "pad_token_id", false, 50283, &c->pad_token_id));
    TRY(wd__json_int(root, where, "bos_token_id", false, 50281, &c->bos_token_id));
    TRY(parse_eos(c, root, where, 50282));
    return parse_labels(c, root, where);
}

static wd_status parse_root(wd_model_config *c, const cJSON *root, const char *where) {
    if (!cJSON_IsObject(root))
        return wd__fail(WD_ERR_FORMAT, "%s: expected a JSON object, got %s", where,
                        wd__json_type_name(root));
    const char *mt;
    TRY(wd__json_str(root, where, "model_type", true, NULL, &mt));
    int ti = 0;
    while (ti < WD_MODEL_TYPE_COUNT && (!TYPES[ti].runs || strcmp(mt, TYPES[ti].name))) ti++;
    if (ti == WD_MODEL_TYPE_COUNT) {
        char list[256] = "";
        for (int i = 0; i < WD_MODEL_TYPE_COUNT; i++)
            if (TYPES[i].runs)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", *list ? ", " : "",
                         TYPES[i].name);
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: field 'model_type': '%.40s' is not supported (%s)",
                        where, mt, list);
    }
    c->type = (wd_model_type)ti;
    TRY(wd__config_copy_str(c->model_type, sizeof c->model_type, mt, where, "model_type"));
    c->family = TYPES[c->type].family;
    bool decoder = c->family == WD_MODEL_FAMILY_DECODER;
    bool gemma = c->type == WD_MODEL_TYPE_GEMMA2 || c->type == WD_MODEL_TYPE_GEMMA3;

    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (arch && !cJSON_IsNull(arch)) {
        if (!cJSON_IsArray(arch) || (arch->child && !cJSON_IsString(arch->child)))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'architectures': expected a list of strings",
                            where);
        if (arch->child)
            TRY(wd__config_copy_str(c->architecture, sizeof c->architecture, arch->child->valuestring, where,
                         "architectures"));
    }
    const char *s;
    TRY(wd__json_str(root, where, "torch_dtype", false, NULL, &s));
    if (!s) TRY(wd__json_str(root, where, "dtype", false, NULL, &s));
    if (s) TRY(wd__config_copy_str(c->torch_dtype, sizeof c->torch_dtype, s, where, "torch_dtype"));
    TRY(wd__json_str(root, where, "problem_type", false, NULL, &s));
    if (s) TRY(wd__config_copy_str(c->problem_type, sizeof c->problem_type, s, where, "problem_type"));

    /* sizes: DistilBERT has its own names */
    bool dist = c->type == WD_MODEL_TYPE_DISTILBERT;
    const char *f_hidden = dist ? "dim" : "hidden_size";
    const char *f_inter = dist ? "hidden_dim" : "intermediate_size";
    const char *f_layer = dist ? "n_layers" : "num_hidden_layers";
    const char *f_head = dist ? "n_heads" : "num_attention_heads";
    TRY(wd__json_int(root, where, "vocab_size", true, 0, &c->vocab_size));
    TRY(wd__json_int(root, where, f_hidden, true, 0, &c->hidden_size));
    TRY(wd__json_int(root, where, f_inter, true, 0, &c->intermediate_size));
    TRY(wd__json_int(root, where, f_layer, true, 0, &c->n_layer));
    TRY(wd__json_int(root, where, f_head, true, 0, &c->n_head));
    TRY(wd__config_positive(where, "vocab_size", c->vocab_size));
    TRY(wd__config_positive(where, f_hidden, c->hidden_size));
    TRY(wd__config_positive(where, f_inter, c->intermediate_size));
    TRY(wd__config_positive(where, f_layer, c->n_layer));
    TRY(wd__config_positive(where, f_head, c->n_head));

    int64_t def_kv = c->type == WD_MODEL_TYPE_MISTRAL ? 8 : gemma ? 4 : c->n_head;
    TRY(wd__json_int(root, where, "num_key_value_heads", false, def_kv, &c->n_kv_head));
    TRY(wd__config_positive(where, "num_key_value_heads", c->n_kv_head));
    if (c->n_head % c->n_kv_head != 0)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: field 'num_key_value_heads': %lld does not divide %s = %lld", where,
                        (long long)c->n_kv_head, f_head, (long long)c->n_head);
    TRY(wd__json_int(root, where, "head_dim", false, gemma ? 256 : 0, &c->head_dim));
    if (c->head_dim == 0) {
        if (c->hidden_size % c->n_head != 0)
            return wd__fail(WD_ERR_FORMAT, "%s: field '%s': %lld is not divisible by %s = %lld",
                            where, f_hidden, (long long)c->hidden_size, f_head,
                            (long long)c->n_head);
        c->head_dim = c->hidden_size / c->n_head;
    }
    TRY(wd__config_positive(where, "head_dim", c->head_dim));
    if (!decoder && c->head_dim * c->n_head != c->hidden_size)
        return wd__fail(WD_ERR_FORMAT, "%s: field 'head_dim': encoders need head_dim * %s == %s",
                        where, f_head, f_hidden);
    /* the scales qwen3, phi3 and granite change; 1 = no effect */
    c->partial_rotary_factor = c->embedding_multiplier = c->residual_multiplier = 1.0;
    c->logits_scaling = 1.0;
    if (c->type == WD_MODEL_TYPE_MODERNBERT) return parse_modernbert(c, root, where);

    /* XLMRobertaConfig's defaults are RobertaConfig's; DebertaV2Config's
     * (512 positions, pad 0, no bos/eos) are BertConfig's */
    wd_model_type dt = c->type == WD_MODEL_TYPE_XLM_ROBERTA  ? WD_MODEL_TYPE_ROBERTA
                       : c->type == WD_MODEL_TYPE_DEBERTA_V2 ? WD_MODEL_TYPE_BERT
                                                              : c->type;
    static const int64_t def_max_pos[WD_MODEL_TYPE_COUNT] = {
        2048, 4096 * 32, 32768, 512, 512, 512,
        [WD_MODEL_TYPE_QWEN3] = 32768, [WD_MODEL_TYPE_PHI3] = 4096, [WD_MODEL_TYPE_GRANITE] = 2048,
        [WD_MODEL_TYPE_GEMMA2] = 8192, [WD_MODEL_TYPE_GEMMA3] = 131072};
    TRY(wd__json_int(root, where, "max_position_embeddings", false, def_max_pos[dt],
                     &c->max_position_embeddings));
    TRY(wd__config_positive(where, "max_position_embeddings", c->max_position_embeddings));
    c->type_vocab_size = 0;
    if (c->type == WD_MODEL_TYPE_BERT || c->type == WD_MODEL_TYPE_ROBERTA ||
        c->type == WD_MODEL_TYPE_XLM_ROBERTA) {
        TRY(wd__json_int(root, where, "type_vocab_size", false, 2, &c->type_vocab_size));
        if (c->type_vocab_size < 0)
            return wd__fail(WD_ERR_FORMAT, "%s: field 'type_vocab_size': negative", where);
        const char *pet;
        TRY(wd__json_str(root, where, "position_embedding_type", false, "absolute", &pet));
        if (strcmp(pet, "absolute"))
            return wd__fail(WD_ERR_UNSUPPORTED,
                            "%s: field 'position_embedding_type': '%.40s' is not supported "
                            "(absolute)",
                            where, pet);
    }

    /* position encoding */
    c->rope_theta = 10000.0;
    if (decoder) {
        TRY(wd__json_num(root, where, "rope_theta", false,
                         c->type == WD_MODEL_TYPE_GEMMA3 ? 1e6 : 10000.0, &c->rope_theta));
        if (!(c->rope_theta > 0))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'rope_theta': must be positive", where);
        TRY(parse_rope_scaling(c, root, where));
    } else {
        c->rope_scaling.factor = 1.0;
    }
    if (dist) TRY(wd__json_bool(root, where, "sinusoidal_pos_embds", false, false, &c->sinusoidal_pos_embds));
    c->sliding_window = 0;
    if (c->type == WD_MODEL_TYPE_MISTRAL || c->type == WD_MODEL_TYPE_QWEN2) {
        bool use = c->type == WD_MODEL_TYPE_MISTRAL;
        if (c->type == WD_MODEL_TYPE_QWEN2)
            TRY(wd__json_bool(root, where, "use_sliding_window", false, false, &use));
        const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
        if (use && !cJSON_IsNull(sw)) { /* absent: the class default; null: no window */
            TRY(wd__json_int(root, where, "sliding_window", false, 4096, &c->sliding_window));
            if (c->sliding_window < 0)
                return wd__fail(WD_ERR_FORMAT, "%s: field 'sliding_window': negative", where);
        }
    }

    /* norms and activations */
    if (decoder) {
        TRY(wd__json_num(root, where, "rms_norm_eps", false, 1e-6, &c->norm_eps));
    } else if (dist) {
        c->norm_eps = 1e-12; /* fixed in DistilBERT's modeling code */
    } else {
        TRY(wd__json_num(root, where, "layer_norm_eps", false, 1e-12, &c->norm_eps));
    }
    if (!(c->norm_eps > 0))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': must be positive", where,
                        decoder ? "rms_norm_eps" : "layer_norm_eps");
    /* Gemma's MLP reads hidden_activation (its configs also carry a hidden_act) */
    const char *act_field = dist ? "activation" : gemma ? "hidden_activation" : "hidden_act";
    TRY(wd__json_str(root, where, act_field, false,
                     gemma ? "gelu_pytorch_tanh" : decoder ? "silu" : "gelu", &s));
    TRY(parse_act(c, s, where, act_field));

    /* warden's own key: q/k rows already in the interleaved rotary layout
     * (a checkpoint converted back from GGUF); anything but true is false */
    c->rope_interleaved = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "rope_interleaved"));

    /* embeddings and biases */
    TRY(wd__json_bool(root, where, "tie_word_embeddings", false, !decoder || gemma,
                      &c->tie_word_embeddings));
    if (c->type == WD_MODEL_TYPE_LLAMA) {
        TRY(wd__json_bool(root, where, "attention_bias", false, false, &c->attention_bias));
        c->attention_out_bias = c->attention_bias;
        TRY(wd__json_bool(root, where, "mlp_bias", false, false, &c->mlp_bias));
    } else if (c->type == WD_MODEL_TYPE_MISTRAL) {
        c->attention_bias = c->attention_out_bias = c->mlp_bias = false;
    } else if (c->type == WD_MODEL_TYPE_QWEN2) {
        c->attention_bias = true; /* Qwen2Attention: q/k/v bias=True, o_proj bias=False */
        c->attention_out_bias = false;
        c->mlp_bias = false;
    } else if (gemma) { /* q/k/v/o all follow attention_bias; the MLP has none */
        TRY(wd__json_bool(root, where, "attention_bias", false, false, &c->attention_bias));
        c->attention_out_bias = c->attention_bias;
        c->mlp_bias = false;
    } else {
        c->attention_bias = c->attention_out_bias = c->mlp_bias = true;
    }

    /* special tokens */
    static const int64_t def_pad[WD_MODEL_TYPE_COUNT] = {
        -1, -1, -1, 0, 1, 0,
        [WD_MODEL_TYPE_QWEN3] = -1, [WD_MODEL_TYPE_PHI3] = 32000, [WD_MODEL_TYPE_GRANITE] = -1,
        [WD_MODEL_TYPE_GEMMA2] = 0, [WD_MODEL_TYPE_GEMMA3] = 0};
    static const int64_t def_bos[WD_MODEL_TYPE_COUNT] = {
        1, 1, -1, -1, 0, -1,
        [WD_MODEL_TYPE_QWEN3] = -1, [WD_MODEL_TYPE_PHI3] = 1, [WD_MODEL_TYPE_GRANITE] = 1,
        [WD_MODEL_TYPE_GEMMA2] = 2, [WD_MODEL_TYPE_GEMMA3] = 2};
    static const int64_t def_eos[WD_MODEL_TYPE_COUNT] = {
        2, 2, -1, -1, 2, -1,
        [WD_MODEL_TYPE_QWEN3] = -1, [WD_MODEL_TYPE_PHI3] = 32000, [WD_MODEL_TYPE_GRANITE] = 2,
        [WD_MODEL_TYPE_GEMMA2] = 1, [WD_MODEL_TYPE_GEMMA3] = 1};
    TRY(wd__json_int(root, where, "pad_token_id", false, def_pad[dt], &c->pad_token_id));
    TRY(wd__json_int(root, where, "bos_token_id", false, def_bos[dt], &c->bos_token_id));
    TRY(parse_eos(c, root, where, def_eos[dt]));
    if (gemma) TRY(wd__gemma_parse_config(c, root, where));

    /* what qwen3, phi3 and granite add (their files) */
    if (c->type == WD_MODEL_TYPE_QWEN3) TRY(wd__qwen3_config(c, root, where));
    if (c->type == WD_MODEL_TYPE_PHI3) TRY(wd__phi3_config(c, root, where));
    if (c->type == WD_MODEL_TYPE_GRANITE) TRY(wd__granite_config(c, root, where));
    if (c->type == WD_MODEL_TYPE_DEBERTA_V2) TRY(wd__deberta_parse_config(c, root, where));

    return parse_labels(c, root, where);
}

/* transformers 5 saves a decoder's rotary settings in one flat object,
 * rope_parameters {rope_theta, rope_type, factor, ..., partial_rotary_factor},
 * instead of the top-level rope_theta, rope_scaling and
 * partial_rotary_factor. For the decoders read here (Gemma's per-layer-type
 * form is gemma.c's) they are moved where the readers below look, the
 * object winning over older top-level fields; keys this runtime does not
 * know are refused rather than ignored. */
static wd_status flatten_rope_parameters(cJSON *root, const char *where) {
    static const char *types[] = {"llama", "mistral", "qwen2", "qwen3", "phi3", "granite"};
    static const char *known[] = {"rope_theta", "rope_type", "type", "factor", "low_freq_factor",
                                  "high_freq_factor", "original_max_position_embeddings",
                                  "attention_factor", "short_factor", "long_factor",
                                  "partial_rotary_factor"};
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    size_t t = 0, nt = sizeof types / sizeof *types;
    while (t < nt && !(cJSON_IsString(mt) && !strcmp(mt->valuestring, types[t]))) t++;
    cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (t == nt || !rp || cJSON_IsNull(rp)) return WD_OK;
    if (!cJSON_IsObject(rp))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'rope_parameters': expected an object, got %s",
                        where, wd__json_type_name(rp));
    for (const cJSON *e = rp->child; e; e = e->next) {
        size_t k = 0, nk = sizeof known / sizeof *known;
        while (k < nk && strcmp(e->string, known[k])) k++;
        if (k == nk)
            return wd__fail(WD_ERR_UNSUPPORTED,
                            "%s: rope_parameters: field '%.40s' is not supported for model_type "
                            "'%s' (rope_theta, rope_type, factor, the llama3 and longrope fields, "
                            "partial_rotary_factor)",
                            where, e->string, types[t]);
    }
    static const char *moved[] = {"rope_theta", "partial_rotary_factor"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rp, moved[i]);
        if (!v) continue;
        cJSON *dup = cJSON_Duplicate(v, 1);
        if (!dup) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
        cJSON_DeleteItemFromObjectCaseSensitive(root, moved[i]);
        cJSON_AddItemToObject(root, moved[i], dup);
    }
    /* phi3's longrope reads original_max_position_embeddings at the top */
    const cJSON *orig = cJSON_GetObjectItemCaseSensitive(rp, "original_max_position_embeddings");
    if (orig && !cJSON_GetObjectItemCaseSensitive(root, "original_max_position_embeddings")) {
        cJSON *dup = cJSON_Duplicate(orig, 1);
        if (!dup) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
        cJSON_AddItemToObject(root, "original_max_position_embeddings", dup);
    }
    cJSON *rs = cJSON_Duplicate(rp, 1);
    if (!rs) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    cJSON_DeleteItemFromObjectCaseSensitive(rs, "rope_theta");
    cJSON_DeleteItemFromObjectCaseSensitive(rs, "partial_rotary_factor");
    if (!cJSON_GetObjectItemCaseSensitive(rs, "rope_type") &&
        !cJSON_GetObjectItemCaseSensitive(rs, "type"))
        cJSON_AddStringToObject(rs, "rope_type", "default");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "rope_scaling");
    cJSON_AddItemToObject(root, "rope_scaling", rs);
    return WD_OK;
}

wd_status wd_model_config_parse(const char *json, size_t len, const char *where,
                                wd_model_config **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_config_parse: out is NULL");
    *out = NULL;
    if (!json) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_config_parse: json is NULL");
    if (!where) where = "config.json";
    cJSON *root = wd__json_parse_strict(json, len, where, 0, NULL);
    if (!root) return WD_ERR_FORMAT;
    wd_model_config *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(root);
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    }
    wd_status rc = flatten_rope_parameters(root, where);
    if (!rc) rc = parse_root(c, root, where);
    cJSON_Delete(root);
    if (rc) {
        wd_model_config_free(c);
        return rc;
    }
    *out = c;
    return WD_OK;
}

wd_status wd_model_config_load(const char *path, wd_model_config **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_config_load: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_config_load: path is NULL");
    char *file = wd__path_is_dir(path) ? wd__path_join(path, "config.json") : strdup(path);
    if (!file) return wd__fail(WD_ERR_NOMEM, "out of memory");
    char *text;
    size_t len;
    wd_status rc = wd__file_read(file, (size_t)16 << 20, &text, &len);
    if (rc == WD_OK) {
        rc = wd_model_config_parse(text, len, file, out);
        free(text);
    }
    free(file);
    return rc;
}

/* ==== Accessors ========================================================== */

#define FIELD(ret, name, expr) \
    ret wd_model_config_##name(const wd_model_config *c) { return expr; }

FIELD(wd_model_type, type, c->type)
FIELD(wd_model_family, family, c->family)
FIELD(const char *, model_type, c->model_type)
FIELD(const char *, architecture, c->architecture)
FIELD(const char *, torch_dtype, c->torch_dtype)
FIELD(int64_t, vocab_size, c->vocab_size)
FIELD(int64_t, hidden_size, c->hidden_size)
FIELD(int64_t, intermediate_size, c->intermediate_size)
FIELD(int64_t, n_layer, c->n_layer)
FIELD(int64_t, n_head, c->n_head)
FIELD(int64_t, n_kv_head, c->n_kv_head)
FIELD(int64_t, head_dim, c->head_dim)
FIELD(int64_t, max_position_embeddings, c->max_position_embeddings)
FIELD(int64_t, type_vocab_size, c->type_vocab_size)
FIELD(double, rope_theta, c->rope_theta)
FIELD(const char *, rope_scaling,
      c->longrope.on ? "longrope" : wd_rope_scaling_name(c->rope_scaling.type))
FIELD(double, rope_factor, c->rope_scaling.factor)
FIELD(double, rope_low_freq_factor, c->rope_scaling.low_freq_factor)
FIELD(double, rope_high_freq_factor, c->rope_scaling.high_freq_factor)
FIELD(int64_t, rope_original_max_position_embeddings,
      c->rope_scaling.original_max_position_embeddings)
FIELD(bool, sinusoidal_pos_embds, c->sinusoidal_pos_embds)
FIELD(int64_t, sliding_window, c->sliding_window)
FIELD(double, norm_eps, c->norm_eps)
FIELD(wd_act, hidden_act, c->hidden_act)
FIELD(const char *, hidden_act_name, c->hidden_act_name)
FIELD(bool, tie_word_embeddings, c->tie_word_embeddings)
FIELD(bool, attention_bias, c->attention_bias)
FIELD(bool, attention_out_bias, c->attention_out_bias)
FIELD(bool, mlp_bias, c->mlp_bias)
FIELD(int64_t, pad_token_id, c->pad_token_id)
FIELD(int64_t, bos_token_id, c->bos_token_id)
FIELD(size_t, n_eos_token_ids, (size_t)c->n_eos_token_ids)
FIELD(int64_t, num_labels, c->num_labels)
FIELD(const char *, problem_type, c->problem_type)
FIELD(int64_t, local_attention, c->local_attention)
FIELD(int64_t, global_attn_every_n_layers, c->global_attn_every_n_layers)
FIELD(double, local_rope_theta, c->local_rope_theta)
FIELD(const char *, classifier_pooling,
      c->type != WD_MODEL_TYPE_MODERNBERT ? "" : c->classifier_mean ? "mean" : "cls")
FIELD(double, query_pre_attn_scalar, c->query_pre_attn_scalar)
FIELD(double, attn_logit_softcapping, c->attn_logit_softcapping)
FIELD(double, final_logit_softcapping, c->final_logit_softcapping)
FIELD(double, rope_local_theta, c->rope_local_theta)
FIELD(bool, qk_norm, c->qk_norm)
FIELD(bool, fused_qkv, c->fused_qkv)
FIELD(double, partial_rotary_factor, c->partial_rotary_factor)
FIELD(double, embedding_multiplier, c->embedding_multiplier)
FIELD(double, attention_multiplier, c->attention_multiplier)
FIELD(double, residual_multiplier, c->residual_multiplier)
FIELD(double, logits_scaling, c->logits_scaling)

#undef FIELD

#define DEB_FIELD(ret, name, expr) \
    ret wd_model_config_##name(const wd_model_config *c) { return expr; }
DEB_FIELD(bool, relative_attention, c->deberta.relative_attention)
DEB_FIELD(int64_t, position_buckets, c->deberta.position_buckets)
DEB_FIELD(int64_t, max_relative_positions, c->deberta.max_relative_positions)
DEB_FIELD(const char *, pos_att_type,
          c->deberta.c2p ? (c->deberta.p2c ? "c2p|p2c" : "c2p") : c->deberta.p2c ? "p2c" : "")
DEB_FIELD(bool, share_att_key, c->deberta.share_att_key)
DEB_FIELD(bool, position_biased_input, c->deberta.position_biased_input)
DEB_FIELD(int64_t, embedding_size, c->deberta.embedding_size)
DEB_FIELD(const char *, pooler_hidden_act, c->deberta.pooler_act_name)
#undef DEB_FIELD

int64_t wd_model_config_eos_token_id(const wd_model_config *c, size_t i) {
    return i < (size_t)c->n_eos_token_ids ? c->eos_token_ids[i] : -1;
}

int64_t wd_model_config_layer_window(const wd_model_config *c, int64_t l) {
    return l >= 0 && l < c->n_layer ? wd__config_layer_window(c, l) : 0;
}

const char *wd_model_config_label(const wd_model_config *c, int64_t i) {
    return i >= 0 && i < c->num_labels ? c->id2label[i] : NULL;
}
