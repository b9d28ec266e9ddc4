/*
 * model/deberta_config.c - the fields DebertaV2Config adds to config.json
 * (relative attention, position buckets, pos_att_type, the ContextPooler),
 * read after the common ones by config.c; DeBERTa's forward pass is
 * deberta.c's.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "model/config_internal.h"

#define TRY(x)                   \
    do {                         \
        wd_status rc_ = (x);     \
        if (rc_) return rc_;     \
    } while (0)

/* Whether s[0..n) lowercased is name. */
static bool same_lower(const char *s, size_t n, const char *name) {
    if (strlen(name) != n) return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]) != name[i]) return false;
    return true;
}

/* A '|'-separated list (DebertaV2Config lowercases and trims each item) or
 * a JSON list of strings: sets *has[i] when names[i] is in it. Entries not
 * in names are refused. */
static wd_status parse_flags(const cJSON *root, const char *where, const char *field,
                             const char *const *names, bool **has, int n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!v || cJSON_IsNull(v)) return WD_OK;
    if (!cJSON_IsString(v) && !cJSON_IsArray(v))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a string or a list of strings, got %s",
                        where, field, wd__json_type_name(v));
    const cJSON *e = cJSON_IsArray(v) ? v->child : v;
    for (; e; e = cJSON_IsArray(v) ? e->next : NULL) {
        if (!cJSON_IsString(e))
            return wd__fail(WD_ERR_FORMAT, "%s: field '%s': list holds %s, expected strings", where,
                            field, wd__json_type_name(e));
        for (const char *p = e->valuestring; *p;) {
            size_t len = strcspn(p, "|");
            const char *b = p, *q = p + len;
            while (b < q && (*b == ' ' || *b == '\t')) b++;
            while (q > b && (q[-1] == ' ' || q[-1] == '\t')) q--;
            int i = 0;
            while (i < n && !same_lower(b, (size_t)(q - b), names[i])) i++;
            if (i == n)
                return wd__fail(WD_ERR_UNSUPPORTED, "%s: field '%s': '%.*s' is not supported (%s%s%s)",
                                where, field, (int)(q - b > 40 ? 40 : q - b), b, names[0],
                                n > 1 ? ", " : "", n > 1 ? names[1] : "");
            *has[i] = true;
            p += len + (p[len] == '|');
        }
    }
    return WD_OK;
}

/* DeBERTa-v2's own fields (DebertaV2Config and the fields its modeling code
 * reads with getattr): relative attention, embedding size, ContextPooler.
 * The encoder's ConvLayer (conv_kernel_size > 0, deberta-v2-xlarge) and a
 * head size other than hidden / heads are refused. */
wd_status wd__deberta_parse_config(wd_model_config *c, const cJSON *root, const char *where) {
    struct wd__deberta_config *d = &c->deberta;
    TRY(wd__json_num(root, where, "layer_norm_eps", false, 1e-7, &c->norm_eps));
    if (!(c->norm_eps > 0))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'layer_norm_eps': must be positive", where);
    TRY(wd__json_int(root, where, "type_vocab_size", false, 0, &c->type_vocab_size));
    if (c->type_vocab_size < 0)
        return wd__fail(WD_ERR_FORMAT, "%s: field 'type_vocab_size': negative", where);
    TRY(wd__json_bool(root, where, "relative_attention", false, false, &d->relative_attention));
    TRY(wd__json_int(root, where, "max_relative_positions", false, -1, &d->max_relative_positions));
    if (d->max_relative_positions < 1) d->max_relative_positions = c->max_position_embeddings;
    TRY(wd__json_int(root, where, "position_buckets", false, -1, &d->position_buckets));
    if (d->position_buckets < 0) d->position_buckets = 0;
    /* make_log_bucket_position divides by mid = buckets / 2 and by
     * log((max_relative_positions - 1) / mid): neither may be 0 */
    if (d->position_buckets == 1 ||
        (d->position_buckets > 0 && d->max_relative_positions - 1 == d->position_buckets / 2))
        return wd__fail(WD_ERR_FORMAT,
                        "%s: field 'position_buckets': %lld buckets with max_relative_positions "
                        "%lld make the log buckets divide by zero",
                        where, (long long)d->position_buckets, (long long)d->max_relative_positions);
    TRY(parse_flags(root, where, "pos_att_type", (const char *const[]){"c2p", "p2c"},
                    (bool *[]){&d->c2p, &d->p2c}, 2));
    bool rel_none = false;
    TRY(parse_flags(root, where, "norm_rel_ebd", (const char *const[]){"layer_norm", "none"},
                    (bool *[]){&d->norm_rel_layer_norm, &rel_none}, 2));
    TRY(wd__json_bool(root, where, "share_att_key", false, false, &d->share_att_key));
    TRY(wd__json_bool(root, where, "position_biased_input", false, true, &d->position_biased_input));
    TRY(wd__json_int(root, where, "embedding_size", false, c->hidden_size, &d->embedding_size));
    TRY(wd__config_positive(where, "embedding_size", d->embedding_size));
    TRY(wd__json_int(root, where, "pooler_hidden_size", false, c->hidden_size, &d->pooler_hidden_size));
    if (d->pooler_hidden_size != c->hidden_size)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'pooler_hidden_size': %lld differs from hidden_size %lld (the "
                        "ContextPooler reads the hidden state of token 0)",
                        where, (long long)d->pooler_hidden_size, (long long)c->hidden_size);
    const char *act;
    TRY(wd__json_str(root, where, "pooler_hidden_act", false, "gelu", &act));
    static const struct { const char *name; wd__pooler_act act; } acts[] = {
        {"gelu", WD_POOLER_ACT_GELU},           {"gelu_new", WD_POOLER_ACT_GELU_TANH},
        {"gelu_pytorch_tanh", WD_POOLER_ACT_GELU_TANH}, {"gelu_fast", WD_POOLER_ACT_GELU_TANH},
        {"relu", WD_POOLER_ACT_RELU},           {"silu", WD_POOLER_ACT_SILU},
        {"swish", WD_POOLER_ACT_SILU},          {"tanh", WD_POOLER_ACT_TANH},
        {"linear", WD_POOLER_ACT_LINEAR},
    };
    size_t ai = 0;
    while (ai < sizeof acts / sizeof *acts && strcmp(act, acts[ai].name)) ai++;
    if (ai == sizeof acts / sizeof *acts)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'pooler_hidden_act': '%.40s' is not supported (gelu, gelu_new, "
                        "gelu_pytorch_tanh, gelu_fast, relu, silu, swish, tanh, linear)",
                        where, act);
    d->pooler_act = acts[ai].act;
    TRY(wd__config_copy_str(d->pooler_act_name, sizeof d->pooler_act_name, act, where, "pooler_hidden_act"));
    int64_t conv = 0, ahs = 0;
    TRY(wd__json_int(root, where, "conv_kernel_size", false, 0, &conv));
    if (conv > 0)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'conv_kernel_size': %lld: DeBERTa-v2's ConvLayer (the "
                        "deberta-v2-xlarge/xxlarge encoders) is not supported",
                        where, (long long)conv);
    TRY(wd__json_int(root, where, "attention_head_size", false, c->head_dim, &ahs));
    if (ahs != c->head_dim)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: field 'attention_head_size': %lld differs from hidden_size / "
                        "num_attention_heads = %lld",
                        where, (long long)ahs, (long long)c->head_dim);
    return WD_OK;
}
