/*
 * tools/warden/cmd_inspect.c - `warden inspect PATH [--json]`: what is in a
 * checkpoint. PATH is a .safetensors file or a model folder (single file or
 * sharded). Prints the files, their metadata, the parsed config.json (for a
 * folder that has one), and every tensor with its dtype and shape, plus the
 * parameter count. Everything comes from the library (wd_checkpoint,
 * wd_model_config); a bad file is exit 3 with the library's message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"
#include "warden/json.h"


static const char *human_bytes(uint64_t b, char *buf, size_t cap) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    if (u == 0) snprintf(buf, cap, "%llu B", (unsigned long long)b);
    else snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

static void shape_str(const wd_tensor_info *t, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* ==== config as JSON and as text ======================================== */

static cJSON *config_json(const wd_model_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model_type", wd_model_config_model_type(c));
    cJSON_AddStringToObject(o, "family", wd_model_family_name(wd_model_config_family(c)));
    cJSON_AddStringToObject(o, "architecture", wd_model_config_architecture(c));
    cJSON_AddNumberToObject(o, "vocab_size", (double)wd_model_config_vocab_size(c));
    cJSON_AddNumberToObject(o, "hidden_size", (double)wd_model_config_hidden_size(c));
    cJSON_AddNumberToObject(o, "intermediate_size", (double)wd_model_config_intermediate_size(c));
    cJSON_AddNumberToObject(o, "n_layer", (double)wd_model_config_n_layer(c));
    cJSON_AddNumberToObject(o, "n_head", (double)wd_model_config_n_head(c));
    cJSON_AddNumberToObject(o, "n_kv_head", (double)wd_model_config_n_kv_head(c));
    cJSON_AddNumberToObject(o, "head_dim", (double)wd_model_config_head_dim(c));
    cJSON_AddNumberToObject(o, "max_position_embeddings",
                            (double)wd_model_config_max_position_embeddings(c));
    if (wd_model_config_family(c) == WD_MODEL_FAMILY_DECODER) {
        cJSON_AddNumberToObject(o, "rope_theta", wd_model_config_rope_theta(c));
        cJSON *rs = cJSON_AddObjectToObject(o, "rope_scaling");
        const char *scaling = wd_model_config_rope_scaling(c);
        cJSON_AddStringToObject(rs, "type", scaling);
        if (strcmp(scaling, "none")) {
            cJSON_AddNumberToObject(rs, "factor", wd_model_config_rope_factor(c));
            if (!strcmp(scaling, "llama3")) {
                cJSON_AddNumberToObject(rs, "low_freq_factor", wd_model_config_rope_low_freq_factor(c));
                cJSON_AddNumberToObject(rs, "high_freq_factor",
                                        wd_model_config_rope_high_freq_factor(c));
            }
            if (wd_model_config_rope_original_max_position_embeddings(c))
                cJSON_AddNumberToObject(rs, "original_max_position_embeddings",
                                        (double)wd_model_config_rope_original_max_position_embeddings(c));
        }
        cJSON_AddNumberToObject(o, "sliding_window", (double)wd_model_config_sliding_window(c));
        if (wd_model_config_query_pre_attn_scalar(c) > 0) { /* Gemma */
            cJSON_AddNumberToObject(o, "query_pre_attn_scalar", wd_model_config_query_pre_attn_scalar(c));
            cJSON_AddNumberToObject(o, "attn_logit_softcapping", wd_model_config_attn_logit_softcapping(c));
            cJSON_AddNumberToObject(o, "final_logit_softcapping",
                                    wd_model_config_final_logit_softcapping(c));
            if (wd_model_config_rope_local_theta(c) > 0)
                cJSON_AddNumberToObject(o, "rope_local_base_freq", wd_model_config_rope_local_theta(c));
            cJSON *lw = cJSON_AddArrayToObject(o, "layer_window");
            for (int64_t l = 0; l < wd_model_config_n_layer(c); l++)
                cJSON_AddItemToArray(lw, cJSON_CreateNumber((double)wd_model_config_layer_window(c, l)));
        }
        wd_model_type t = wd_model_config_type(c);
        if (t == WD_MODEL_TYPE_QWEN3) cJSON_AddBoolToObject(o, "qk_norm", wd_model_config_qk_norm(c));
        if (t == WD_MODEL_TYPE_PHI3) {
            cJSON_AddBoolToObject(o, "fused_qkv", wd_model_config_fused_qkv(c));
            cJSON_AddNumberToObject(o, "partial_rotary_factor", wd_model_config_partial_rotary_factor(c));
        }
        if (t == WD_MODEL_TYPE_GRANITE) {
            cJSON_AddNumberToObject(o, "embedding_multiplier", wd_model_config_embedding_multiplier(c));
            cJSON_AddNumberToObject(o, "attention_multiplier", wd_model_config_attention_multiplier(c));
            cJSON_AddNumberToObject(o, "residual_multiplier", wd_model_config_residual_multiplier(c));
            cJSON_AddNumberToObject(o, "logits_scaling", wd_model_config_logits_scaling(c));
        }
    } else {
        cJSON_AddNumberToObject(o, "type_vocab_size", (double)wd_model_config_type_vocab_size(c));
        if (wd_model_config_type(c) == WD_MODEL_TYPE_DISTILBERT)
            cJSON_AddBoolToObject(o, "sinusoidal_pos_embds", wd_model_config_sinusoidal_pos_embds(c));
        if (wd_model_config_type(c) == WD_MODEL_TYPE_MODERNBERT) {
            cJSON_AddNumberToObject(o, "global_rope_theta", wd_model_config_rope_theta(c));
            cJSON_AddNumberToObject(o, "local_rope_theta", wd_model_config_local_rope_theta(c));
            cJSON_AddNumberToObject(o, "local_attention", (double)wd_model_config_local_attention(c));
            cJSON_AddNumberToObject(o, "global_attn_every_n_layers",
                                    (double)wd_model_config_global_attn_every_n_layers(c));
            cJSON_AddStringToObject(o, "classifier_pooling", wd_model_config_classifier_pooling(c));
        }
        if (wd_model_config_type(c) == WD_MODEL_TYPE_DEBERTA_V2) {
            cJSON *d = cJSON_AddObjectToObject(o, "deberta");
            cJSON_AddBoolToObject(d, "relative_attention", wd_model_config_relative_attention(c));
            cJSON_AddNumberToObject(d, "position_buckets", (double)wd_model_config_position_buckets(c));
            cJSON_AddNumberToObject(d, "max_relative_positions",
                                    (double)wd_model_config_max_relative_positions(c));
            cJSON_AddStringToObject(d, "pos_att_type", wd_model_config_pos_att_type(c));
            cJSON_AddBoolToObject(d, "share_att_key", wd_model_config_share_att_key(c));
            cJSON_AddBoolToObject(d, "position_biased_input", wd_model_config_position_biased_input(c));
            cJSON_AddNumberToObject(d, "embedding_size", (double)wd_model_config_embedding_size(c));
            cJSON_AddStringToObject(d, "pooler_hidden_act", wd_model_config_pooler_hidden_act(c));
        }
    }
    cJSON_AddNumberToObject(o, "norm_eps", wd_model_config_norm_eps(c));
    cJSON_AddStringToObject(o, "hidden_act", wd_model_config_hidden_act_name(c));
    cJSON_AddBoolToObject(o, "tie_word_embeddings", wd_model_config_tie_word_embeddings(c));
    cJSON_AddBoolToObject(o, "attention_bias", wd_model_config_attention_bias(c));
    cJSON_AddBoolToObject(o, "attention_out_bias", wd_model_config_attention_out_bias(c));
    cJSON_AddBoolToObject(o, "mlp_bias", wd_model_config_mlp_bias(c));
    cJSON_AddNumberToObject(o, "pad_token_id", (double)wd_model_config_pad_token_id(c));
    cJSON_AddNumberToObject(o, "bos_token_id", (double)wd_model_config_bos_token_id(c));
    cJSON *eos = cJSON_AddArrayToObject(o, "eos_token_id");
    for (int i = 0; i < wd_model_config_n_eos_token_ids(c); i++)
        cJSON_AddItemToArray(eos, cJSON_CreateNumber((double)wd_model_config_eos_token_id(c, i)));
    const char *dtype = wd_model_config_torch_dtype(c), *problem = wd_model_config_problem_type(c);
    if (dtype[0]) cJSON_AddStringToObject(o, "torch_dtype", dtype);
    if (wd_model_config_family(c) == WD_MODEL_FAMILY_ENCODER) {
        cJSON_AddNumberToObject(o, "num_labels", (double)wd_model_config_num_labels(c));
        cJSON *labels = cJSON_AddArrayToObject(o, "id2label");
        for (int64_t i = 0; i < wd_model_config_num_labels(c); i++)
            cJSON_AddItemToArray(labels, cJSON_CreateString(wd_model_config_label(c, i)));
        if (problem[0]) cJSON_AddStringToObject(o, "problem_type", problem);
    }
    return o;
}

static void print_config(const wd_model_config *c) {
    const char *arch = wd_model_config_architecture(c);
    printf("config: %s (%s)%s%s\n", wd_model_config_model_type(c),
           wd_model_family_name(wd_model_config_family(c)), arch[0] ? ", " : "", arch);
    printf("  vocab %lld, hidden %lld, intermediate %lld, layers %lld, heads %lld (kv %lld, dim %lld)\n",
           (long long)wd_model_config_vocab_size(c), (long long)wd_model_config_hidden_size(c),
           (long long)wd_model_config_intermediate_size(c), (long long)wd_model_config_n_layer(c),
           (long long)wd_model_config_n_head(c), (long long)wd_model_config_n_kv_head(c),
           (long long)wd_model_config_head_dim(c));
    printf("  max positions %lld, norm eps %g, activation %s, tied embeddings %s\n",
           (long long)wd_model_config_max_position_embeddings(c), wd_model_config_norm_eps(c),
           wd_model_config_hidden_act_name(c), wd_model_config_tie_word_embeddings(c) ? "yes" : "no");
    if (wd_model_config_family(c) == WD_MODEL_FAMILY_DECODER) {
        const char *scaling = wd_model_config_rope_scaling(c);
        printf("  rope theta %g, scaling %s", wd_model_config_rope_theta(c), scaling);
        if (strcmp(scaling, "none")) printf(" x%g", wd_model_config_rope_factor(c));
        printf(", biases q/k/v %s o %s mlp %s", wd_model_config_attention_bias(c) ? "yes" : "no",
               wd_model_config_attention_out_bias(c) ? "yes" : "no",
               wd_model_config_mlp_bias(c) ? "yes" : "no");
        int64_t window = wd_model_config_sliding_window(c);
        if (window) printf(", sliding window %lld", (long long)window);
        printf("\n");
        if (wd_model_config_query_pre_attn_scalar(c) > 0) { /* Gemma */
            int64_t L = wd_model_config_n_layer(c), n_local = 0;
            for (int64_t l = 0; l < L; l++) n_local += wd_model_config_layer_window(c, l) > 0;
            printf("  attention scale %g^-0.5, soft-capping attention %g final %g (0 = none), "
                   "%lld of %lld layers windowed",
                   wd_model_config_query_pre_attn_scalar(c), wd_model_config_attn_logit_softcapping(c),
                   wd_model_config_final_logit_softcapping(c), (long long)n_local, (long long)L);
            if (wd_model_config_rope_local_theta(c) > 0)
                printf(" (their rope theta %g)", wd_model_config_rope_local_theta(c));
            printf("\n");
        }
        wd_model_type t = wd_model_config_type(c);
        if (t == WD_MODEL_TYPE_QWEN3) printf("  q/k RMSNorm per head\n");
        if (t == WD_MODEL_TYPE_PHI3)
            printf("  fused qkv_proj / gate_up_proj, rope on %g of each head\n",
                   wd_model_config_partial_rotary_factor(c));
        if (t == WD_MODEL_TYPE_GRANITE)
            printf("  multipliers: embedding %g, attention %g, residual %g, logits / %g\n",
                   wd_model_config_embedding_multiplier(c), wd_model_config_attention_multiplier(c),
                   wd_model_config_residual_multiplier(c), wd_model_config_logits_scaling(c));
    } else {
        int64_t n_labels = wd_model_config_num_labels(c);
        printf("  token types %lld, labels %lld:", (long long)wd_model_config_type_vocab_size(c),
               (long long)n_labels);
        for (int64_t i = 0; i < n_labels && i < 16; i++)
            printf(" %lld=%s", (long long)i, wd_model_config_label(c, i));
        if (n_labels > 16) printf(" ...");
        printf("\n");
        if (wd_model_config_type(c) == WD_MODEL_TYPE_MODERNBERT)
            printf("  rope theta %g global / %g local, local window %lld, global every %lld layers, "
                   "pooling %s\n",
                   wd_model_config_rope_theta(c), wd_model_config_local_rope_theta(c),
                   (long long)wd_model_config_local_attention(c),
                   (long long)wd_model_config_global_attn_every_n_layers(c),
                   wd_model_config_classifier_pooling(c));
        if (wd_model_config_type(c) == WD_MODEL_TYPE_DEBERTA_V2) {
            const char *pat = wd_model_config_pos_att_type(c);
            printf("  relative attention %s", wd_model_config_relative_attention(c) ? "yes" : "no");
            if (wd_model_config_relative_attention(c))
                printf(" (%s, buckets %lld, max distance %lld, %s keys)", pat[0] ? pat : "none",
                       (long long)wd_model_config_position_buckets(c),
                       (long long)wd_model_config_max_relative_positions(c),
                       wd_model_config_share_att_key(c) ? "shared" : "separate");
            printf(", absolute positions %s, embedding %lld, pooler %s\n",
                   wd_model_config_position_biased_input(c) ? "yes" : "no",
                   (long long)wd_model_config_embedding_size(c), wd_model_config_pooler_hidden_act(c));
        }
    }
}

/* ==== the command ======================================================= */

/* ==== GGUF ============================================================== */

/* A metadata value as JSON; arrays longer than max_arr are cut (with the
 * count kept in the caller's "n"). */
static cJSON *kv_json(const wd_gguf_kv *kv, uint64_t max_arr) {
    if (kv->type == WD_GGUF_TYPE_STRING) return cJSON_CreateString(kv->str);
    if (kv->type == WD_GGUF_TYPE_BOOL) return cJSON_CreateBool(kv->u64 != 0);
    if (kv->type == WD_GGUF_TYPE_FLOAT32 || kv->type == WD_GGUF_TYPE_FLOAT64) return cJSON_CreateNumber(kv->f64);
    if (kv->type != WD_GGUF_TYPE_ARRAY) {
        bool sgn = kv->type == WD_GGUF_TYPE_INT8 || kv->type == WD_GGUF_TYPE_INT16 ||
                   kv->type == WD_GGUF_TYPE_INT32 || kv->type == WD_GGUF_TYPE_INT64;
        return cJSON_CreateNumber(sgn ? (double)kv->i64 : (double)kv->u64);
    }
    cJSON *a = cJSON_CreateArray();
    for (uint64_t i = 0; i < kv->n && i < max_arr; i++) {
        double v;
        if (kv->elem_type == WD_GGUF_TYPE_STRING) cJSON_AddItemToArray(a, cJSON_CreateString(kv->strs[i]));
        else if (wd_gguf_kv_arr_float(kv, i, &v)) cJSON_AddItemToArray(a, cJSON_CreateNumber(v));
    }
    return a;
}

static void ne_str(const wd_gguf_tensor *t, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)t->ne[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static int inspect_gguf(const char *path, bool json) {
    wd_gguf *g;
    wd_status st = wd_gguf_open(path, &g);
    if (st) return cli_fail(st, NULL);
    size_t n = wd_gguf_n_tensors(g);
    uint64_t n_params = 0;
    for (size_t i = 0; i < n; i++) n_params += wd_gguf_tensor_at(g, i)->n_elem;
    char sbuf[256], bbuf[32];
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddStringToObject(o, "format", "gguf");
        cJSON_AddNumberToObject(o, "version", wd_gguf_version(g));
        cJSON_AddNumberToObject(o, "bytes", (double)wd_gguf_file_size(g));
        cJSON_AddNumberToObject(o, "alignment", (double)wd_gguf_alignment(g));
        cJSON_AddNumberToObject(o, "data_offset", (double)wd_gguf_data_offset(g));
        cJSON_AddNumberToObject(o, "n_tensors", (double)n);
        cJSON_AddNumberToObject(o, "n_params", (double)n_params);
        cJSON *meta = cJSON_AddArrayToObject(o, "metadata");
        for (size_t i = 0; i < wd_gguf_n_kv(g); i++) {
            const wd_gguf_kv *kv = wd_gguf_kv_at(g, i);
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "key", kv->key);
            cJSON_AddStringToObject(m, "type", wd_gguf_type_name(kv->type));
            if (kv->type == WD_GGUF_TYPE_ARRAY) {
                cJSON_AddStringToObject(m, "elem_type", wd_gguf_type_name(kv->elem_type));
                cJSON_AddNumberToObject(m, "n", (double)kv->n);
            }
            cJSON_AddItemToObject(m, "value", kv_json(kv, 64));
            cJSON_AddItemToArray(meta, m);
        }
        cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
        for (size_t i = 0; i < n; i++) {
            const wd_gguf_tensor *t = wd_gguf_tensor_at(g, i);
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", t->name);
            cJSON_AddStringToObject(x, "type", wd_ggml_type_name(t->type));
            cJSON *ne = cJSON_AddArrayToObject(x, "ne");
            for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(ne, cJSON_CreateNumber((double)t->ne[d]));
            cJSON_AddNumberToObject(x, "offset", (double)t->offset);
            cJSON_AddNumberToObject(x, "nbytes", (double)t->nbytes);
            cJSON_AddItemToArray(ts, x);
        }
        char *text = cJSON_PrintUnformatted(o);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else {
        printf("gguf: %s (version %u, %s, alignment %zu, data at %zu)\n", path, wd_gguf_version(g),
               human_bytes(wd_gguf_file_size(g), bbuf, sizeof bbuf), wd_gguf_alignment(g),
               wd_gguf_data_offset(g));
        for (size_t i = 0; i < wd_gguf_n_kv(g); i++) {
            const wd_gguf_kv *kv = wd_gguf_kv_at(g, i);
            cJSON *v = kv_json(kv, 8);
            char *text = cJSON_PrintUnformatted(v);
            if (kv->type == WD_GGUF_TYPE_ARRAY)
                printf("  %s: arr[%s, %llu] = %.200s%s\n", kv->key, wd_gguf_type_name(kv->elem_type),
                       (unsigned long long)kv->n, text ? text : "", kv->n > 8 ? " ..." : "");
            else
                printf("  %s: %s = %.200s\n", kv->key, wd_gguf_type_name(kv->type), text ? text : "");
            free(text);
            cJSON_Delete(v);
        }
        size_t w = 6;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(wd_gguf_tensor_at(g, i)->name);
            if (l > w) w = l;
        }
        if (w > 80) w = 80;
        printf("%-*s  %-7s  %s\n", (int)w, "tensor", "type", "ne");
        for (size_t i = 0; i < n; i++) {
            const wd_gguf_tensor *t = wd_gguf_tensor_at(g, i);
            ne_str(t, sbuf, sizeof sbuf);
            printf("%-*s  %-7s  %s\n", (int)w, t->name, wd_ggml_type_name(t->type), sbuf);
        }
        printf("%zu tensors, %llu parameters, %s\n", n, (unsigned long long)n_params,
               human_bytes(wd_gguf_file_size(g), bbuf, sizeof bbuf));
    }
    wd_gguf_free(g);
    return CLI_OK;
}

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden inspect PATH [--json]\n\n"
             "Lists the tensors of a checkpoint (name, dtype, shape), the parameter count,\n"
             "the file sizes, the safetensors metadata and the parsed config.json.\n\n"),
    CLI_TEXT("a .safetensors file, or a model folder with model.safetensors\n"
             "or model.safetensors.index.json (+ shards) and config.json,\n"
             "or a .gguf file (its metadata and tensors: name, type, ne)",
             .label = "PATH"),
    CLI_BOOL("--json", 0 /* the bool itself */, "print one JSON object instead of the table"),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 bad or unreadable checkpoint.\n"),
};

int cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    bool json = false;
    cli_spec spec = {"inspect", {{ROWS, CLI_N(ROWS), &json}}, .col = 11, .unknown = "unknown flag '%s'", .max_pos = 1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, &path, &(int){0});
    if (rc >= 0) return rc;
    if (!path) return cli_usage_error("inspect", "missing PATH");
    size_t pl = strlen(path);
    struct stat gs;
    if (pl > 5 && !strcmp(path + pl - 5, ".gguf") && !(stat(path, &gs) == 0 && S_ISDIR(gs.st_mode)))
        return inspect_gguf(path, json);

    wd_checkpoint *ck;
    wd_status st = wd_checkpoint_open(path, &ck);
    if (st) return cli_fail(st, NULL);

    /* config.json: in the folder, or beside the .safetensors file */
    wd_model_config *cfg = NULL;
    struct stat sb;
    bool is_dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (is_dir) {
        char *cpath = malloc(strlen(path) + 16);
        if (!cpath) {
            wd_checkpoint_free(ck);
            return cli_error("out of memory");
        }
        sprintf(cpath, "%s/config.json", path);
        if (stat(cpath, &sb) == 0) {
            st = wd_model_config_load(cpath, &cfg);
            if (st) {
                free(cpath);
                wd_checkpoint_free(ck);
                return cli_fail(st, NULL);
            }
        }
        free(cpath);
    }

    size_t n = wd_checkpoint_n_tensors(ck);
    char sbuf[256], bbuf[32];
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON *files = cJSON_AddArrayToObject(o, "files");
        for (size_t s = 0; s < wd_checkpoint_n_shards(ck); s++) {
            const wd_safetensors *sh = wd_checkpoint_shard(ck, s);
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "path", wd_safetensors_path(sh));
            cJSON_AddNumberToObject(f, "bytes", (double)wd_safetensors_file_size(sh));
            cJSON_AddNumberToObject(f, "header_bytes", (double)wd_safetensors_header_size(sh));
            cJSON_AddNumberToObject(f, "n_tensors", (double)wd_safetensors_n_tensors(sh));
            cJSON *meta = cJSON_AddObjectToObject(f, "metadata");
            for (size_t m = 0; m < wd_safetensors_n_metadata(sh); m++) {
                const char *k, *v;
                wd_safetensors_metadata(sh, m, &k, &v);
                cJSON_AddStringToObject(meta, k, v);
            }
            cJSON_AddItemToArray(files, f);
        }
        cJSON_AddNumberToObject(o, "total_bytes", (double)wd_checkpoint_file_bytes(ck));
        cJSON_AddNumberToObject(o, "n_tensors", (double)n);
        cJSON_AddNumberToObject(o, "n_params", (double)wd_checkpoint_n_params(ck));
        if (cfg) cJSON_AddItemToObject(o, "config", config_json(cfg));
        else cJSON_AddNullToObject(o, "config");
        cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
        for (size_t i = 0; i < n; i++) {
            const wd_tensor_info *t = wd_checkpoint_tensor(ck, i);
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", t->name);
            cJSON_AddStringToObject(x, "dtype", wd_dtype_name(t->dtype));
            cJSON *shape = cJSON_AddArrayToObject(x, "shape");
            for (int d = 0; d < t->ndim; d++)
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
            cJSON_AddNumberToObject(x, "nbytes", (double)t->nbytes);
            cJSON_AddItemToArray(ts, x);
        }
        char *text = wd_json_print(o, false);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else {
        printf("checkpoint: %s\n", path);
        for (size_t s = 0; s < wd_checkpoint_n_shards(ck); s++) {
            const wd_safetensors *sh = wd_checkpoint_shard(ck, s);
            printf("file: %s (%s, %zu tensors)\n", wd_safetensors_path(sh),
                   human_bytes(wd_safetensors_file_size(sh), bbuf, sizeof bbuf),
                   wd_safetensors_n_tensors(sh));
            for (size_t m = 0; m < wd_safetensors_n_metadata(sh); m++) {
                const char *k, *v;
                wd_safetensors_metadata(sh, m, &k, &v);
                printf("  metadata %s = %s\n", k, v);
            }
        }
        if (cfg) print_config(cfg);
        size_t w = 6; /* strlen("tensor") */
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(wd_checkpoint_tensor(ck, i)->name);
            if (l > w) w = l;
        }
        if (w > 80) w = 80;
        printf("%-*s  %-5s  %s\n", (int)w, "tensor", "dtype", "shape");
        for (size_t i = 0; i < n; i++) {
            const wd_tensor_info *t = wd_checkpoint_tensor(ck, i);
            shape_str(t, sbuf, sizeof sbuf);
            printf("%-*s  %-5s  %s\n", (int)w, t->name, wd_dtype_name(t->dtype), sbuf);
        }
        printf("%zu tensors, %llu parameters, %s in %zu file%s\n", n,
               (unsigned long long)wd_checkpoint_n_params(ck),
               human_bytes(wd_checkpoint_file_bytes(ck), bbuf, sizeof bbuf),
               wd_checkpoint_n_shards(ck), wd_checkpoint_n_shards(ck) == 1 ? "" : "s");
    }
    wd_model_config_free(cfg);
    wd_checkpoint_free(ck);
    return CLI_OK;
}
