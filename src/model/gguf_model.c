/*
 * model/gguf_model.c - a .gguf file as a complete model: its config and its
 * tokenizer, rebuilt from the metadata llama.cpp's converter writes.
 *
 *   <arch>.context_length, .embedding_length, .block_count,
 *   .feed_forward_length, .attention.head_count(_kv), .attention.key_length,
 *   .rope.freq_base, .rope.scaling.{type,factor},
 *   .attention.layer_norm_rms_epsilon,
 *   granite: .embedding_scale, .attention.scale,
 *     .residual_scale, .logit_scale            -> a config.json, parsed by
 *                                                 wd_model_config_parse
 * (architectures llama, qwen2, qwen3 -- q/k norms as blk.N.attn_q_norm /
 * attn_k_norm --, granite, phi3 -- attn_qkv and ffn_up fused, see
 * phi3_keys --, and gemma2 / gemma3 (model_type gemma3_text) -- norms
 * stored as 1 + w, post_attention_norm / ffn_norm / post_ffw_norm, see
 * gemma_keys)
 *   tokenizer.ggml.{model,pre,tokens,scores,token_type,merges,
 *   bos/eos/unknown/padding_token_id,add_bos_token}, tokenizer.chat_template
 *                                               -> a tokenizer.json (+ a
 *                                                 tokenizer_config.json)
 *                                                 for wd_tokenizer_load_json
 *
 * Going through the Hugging Face texts keeps one validating parser for each
 * (config.c, text/). The tokenizers rebuilt:
 *   - "llama" (SentencePiece): BPE with byte_fallback over the pieces, the
 *     normalizer that prepends U+2581 (unless tokenizer.ggml.add_space_prefix
 *     is false) and maps spaces to it, the matching
 *     decoder; merges from tokenizer.ggml.merges when present (warden
 *     writes them), else derived from the scores as the SentencePiece
 *     extractor of `tokenizers` does (a piece's splits into two pieces,
 *     ranked by the piece's score);
 *   - "gpt2" (byte-level BPE): merges required; the pre-tokenizer regex
 *     chosen by tokenizer.ggml.pre (gpt-2/default, llama-bpe/llama3, qwen2).
 * Tokens of type CONTROL, USER_DEFINED and UNKNOWN become added tokens
 * (special unless USER_DEFINED).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/hashmap.h"
#include "model/model_internal.h"
#include "warden/gguf.h"
#include "warden/tokenizer.h"

/* ==== tensor names ====================================================== */

bool wd__gguf_tensor_name(const char *hf, char *out, size_t cap) {
    static const char *top[][2] = {{"model.embed_tokens.weight", "token_embd.weight"},
                                   {"model.norm.weight", "output_norm.weight"},
                                   {"lm_head.weight", "output.weight"}};
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(hf, top[i][0])) return (size_t)snprintf(out, cap, "%s", top[i][1]) < cap;
    static const char *layer[][2] = {
        {"input_layernorm.weight", "attn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.bias", "attn_v.bias"},
        {"self_attn.o_proj.bias", "attn_output.bias"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
        {"self_attn.q_norm.weight", "attn_q_norm.weight"}, /* qwen3 */
        {"self_attn.k_norm.weight", "attn_k_norm.weight"},
        {"self_attn.qkv_proj.weight", "attn_qkv.weight"},  /* phi3: fused */
        {"mlp.gate_up_proj.weight", "ffn_up.weight"},      /* phi3: gate rows, up rows */
    };
    unsigned long l;
    int used = 0;
    if (sscanf(hf, "model.layers.%lu.%n", &l, &used) != 1 || used == 0) return false;
    for (size_t i = 0; i < sizeof layer / sizeof layer[0]; i++)
        if (!strcmp(hf + used, layer[i][0]))
            return (size_t)snprintf(out, cap, "blk.%lu.%s", l, layer[i][1]) < cap;
    return false;
}

/* Gemma 2 / 3 name three of their four per-layer norms differently from
 * the llama layout (post_attention_layernorm normalizes the attention's
 * output there, not the MLP's input); the rest maps as above. */
bool wd__gguf_tensor_name_for(const wd_model_config *c, const char *hf, char *out, size_t cap) {
    static const char *gemma[][2] = {
        {"post_attention_layernorm.weight", "post_attention_norm.weight"},
        {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
        {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
    };
    unsigned long l;
    int used = 0;
    if (c && c->gemma && sscanf(hf, "model.layers.%lu.%n", &l, &used) == 1 && used > 0)
        for (size_t i = 0; i < sizeof gemma / sizeof gemma[0]; i++)
            if (!strcmp(hf + used, gemma[i][0]))
                return (size_t)snprintf(out, cap, "blk.%lu.%s", l, gemma[i][1]) < cap;
    return wd__gguf_tensor_name(hf, out, cap);
}

/* ==== config ============================================================ */

static bool get_num(const wd_gguf *g, const char *arch, const char *suffix, double *v) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const wd_gguf_kv *kv = wd_gguf_find_kv(g, key);
    if (!kv) return false;
    return wd_gguf_get_float(g, key, v) == WD_OK;
}

/* A 1-dim F32 tensor of n values as a JSON list (NULL if absent or not so). */
static cJSON *f32_list(const wd_gguf *g, const char *name, int64_t n) {
    const wd_gguf_tensor *t = wd_gguf_find_tensor(g, name);
    if (!t || t->type != WD_GGML_TYPE_F32 || t->ndim != 1 || t->ne[0] != n) return NULL;
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++) {
        float f;
        memcpy(&f, (const char *)t->data + 4 * i, 4);
        cJSON_AddItemToArray(a, cJSON_CreateNumber(f));
    }
    return a;
}

/* phi3, as llama.cpp's converter writes it: sliding_window (0 = none),
 * rope.dimension_count (the rotated dims), rope.scaling.
 * original_context_length and attn_factor, and longrope's factors as the
 * tensors rope_factors_short / rope_factors_long. */
static wd_status phi3_keys(const wd_gguf *g, const char *arch, cJSON *c) {
    double v;
    if (get_num(g, arch, "attention.sliding_window", &v) && v > 0)
        cJSON_AddNumberToObject(c, "sliding_window", v);
    int64_t H = (int64_t)cJSON_GetObjectItem(c, "num_attention_heads")->valuedouble;
    const cJSON *hd = cJSON_GetObjectItem(c, "head_dim");
    int64_t D = hd ? (int64_t)hd->valuedouble
                   : (int64_t)cJSON_GetObjectItem(c, "hidden_size")->valuedouble / (H > 0 ? H : 1);
    int64_t R = D;
    if (get_num(g, arch, "rope.dimension_count", &v) && v > 0 && (int64_t)v != D && D > 0) {
        R = (int64_t)v;
        double f = (double)R / (double)D; /* config.c takes int(D * f): land on R */
        while ((int64_t)((double)D * f) < R) f = nextafter(f, 2.0);
        cJSON_AddNumberToObject(c, "partial_rotary_factor", f);
    }
    if (get_num(g, arch, "rope.scaling.original_context_length", &v))
        cJSON_AddNumberToObject(c, "original_max_position_embeddings", v);
    cJSON *sf = f32_list(g, "rope_factors_short.weight", R / 2);
    cJSON *lf = f32_list(g, "rope_factors_long.weight", R / 2);
    if (sf && lf) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, "rope_scaling");
        cJSON *rs = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(rs, "type", "longrope");
        cJSON_AddItemToObject(rs, "short_factor", sf);
        cJSON_AddItemToObject(rs, "long_factor", lf);
        if (get_num(g, arch, "rope.scaling.attn_factor", &v))
            cJSON_AddNumberToObject(rs, "attention_factor", v);
        return WD_OK;
    }
    cJSON_Delete(sf);
    cJSON_Delete(lf);
    if (wd_gguf_find_tensor(g, "rope_factors_short.weight") ||
        wd_gguf_find_tensor(g, "rope_factors_long.weight"))
        return wd__fail(WD_ERR_FORMAT,
                        "%s: tensors 'rope_factors_short.weight' and 'rope_factors_long.weight': "
                        "expected both, %lld f32 values each",
                        wd_gguf_path(g), (long long)(R / 2));
    return WD_OK;
}

/* gemma2 / gemma3, as llama.cpp reads them: the soft caps (gemma2: 50 and
 * 30 when absent; gemma3: none), attention.sliding_window, and the
 * attention scale, which llama.cpp takes from the model size: 1/sqrt(C/H)
 * for the 27B models (46 / 62 layers), 1/sqrt(key_length) otherwise --
 * unless <arch>.attention.scale says (warden writes it when
 * query_pre_attn_scalar is neither). Which layers slide and gemma3's local
 * rope base (10000, unless rope.freq_base_swa) are fixed there, as
 * config.c's defaults have them. */
static void gemma_keys(const wd_gguf *g, const char *arch, cJSON *c) {
    bool g3 = !strcmp(arch, "gemma3");
    double v;
    static const char *caps[] = {"attn_logit_softcapping", "final_logit_softcapping"};
    for (int i = 0; i < 2; i++) {
        if (get_num(g, arch, caps[i], &v) && v > 0) cJSON_AddNumberToObject(c, caps[i], v);
        else if (g3) cJSON_AddNullToObject(c, caps[i]);
    }
    if (get_num(g, arch, "attention.sliding_window", &v) && v > 0)
        cJSON_AddNumberToObject(c, "sliding_window", v);
    if (g3 && get_num(g, arch, "rope.freq_base_swa", &v) && v > 0) /* later llama.cpp files */
        cJSON_AddNumberToObject(c, "rope_local_base_freq", v);
    int64_t C = (int64_t)cJSON_GetObjectItem(c, "hidden_size")->valuedouble,
            H = (int64_t)cJSON_GetObjectItem(c, "num_attention_heads")->valuedouble,
            L = (int64_t)cJSON_GetObjectItem(c, "num_hidden_layers")->valuedouble;
    const cJSON *hd = cJSON_GetObjectItem(c, "head_dim");
    double q = hd ? hd->valuedouble : (double)(H > 0 ? C / H : 0);
    if (L == (g3 ? 62 : 46) && H > 0) q = (double)(C / H);
    if (get_num(g, arch, "attention.scale", &v) && v > 0) q = 1.0 / (v * v);
    if (q > 0) cJSON_AddNumberToObject(c, "query_pre_attn_scalar", q);
}

wd_status wd__gguf_load_config(const wd_gguf *g, wd_model_config **out) {
    *out = NULL;
    const char *path = wd_gguf_path(g), *arch;
    if (wd_gguf_get_str(g, "general.architecture", &arch)) return WD_ERR_FORMAT;
    const char *model_type;
    if (!strcmp(arch, "llama")) model_type = "llama";
    else if (!strcmp(arch, "qwen2")) model_type = "qwen2";
    else if (!strcmp(arch, "qwen3")) model_type = "qwen3";
    else if (!strcmp(arch, "granite")) model_type = "granite";
    else if (!strcmp(arch, "phi3")) model_type = "phi3";
    else if (!strcmp(arch, "gemma2")) model_type = "gemma2";
    else if (!strcmp(arch, "gemma3")) model_type = "gemma3_text";
    else
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: key 'general.architecture': '%.40s' is not supported (llama, qwen2, "
                        "qwen3, granite, phi3, gemma2, gemma3)",
                        path, arch);
    cJSON *c = cJSON_CreateObject();
    if (!c) return wd__fail(WD_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(c, "model_type", model_type);
    static const struct {
        const char *gguf, *hf;
        bool        required;
    } k[] = {
        {"embedding_length", "hidden_size", true},
        {"feed_forward_length", "intermediate_size", true},
        {"block_count", "num_hidden_layers", true},
        {"attention.head_count", "num_attention_heads", true},
        {"attention.head_count_kv", "num_key_value_heads", false},
        {"attention.key_length", "head_dim", false},
        {"context_length", "max_position_embeddings", false},
        {"rope.freq_base", "rope_theta", false},
        {"attention.layer_norm_rms_epsilon", "rms_norm_eps", false},
    };
    wd_status rc = WD_OK;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        double v;
        if (get_num(g, arch, k[i].gguf, &v)) {
            cJSON_AddNumberToObject(c, k[i].hf, v);
        } else if (k[i].required) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: key '%s.%s' is missing or not a number", path, arch,
                          k[i].gguf);
            goto out;
        }
    }
    /* qwen3: Qwen3Config's head_dim default (128) is not hidden / heads; a
     * file without key_length has the latter. Biases are in the file or not. */
    bool qwen3 = !strcmp(model_type, "qwen3"), granite = !strcmp(model_type, "granite");
    if (qwen3 && !cJSON_GetObjectItem(c, "head_dim")) {
        int64_t C = (int64_t)cJSON_GetObjectItem(c, "hidden_size")->valuedouble,
                H = (int64_t)cJSON_GetObjectItem(c, "num_attention_heads")->valuedouble;
        if (H > 0) cJSON_AddNumberToObject(c, "head_dim", (double)(C / H));
    }
    if (qwen3 || granite)
        cJSON_AddBoolToObject(c, "attention_bias", wd_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL);
    /* granite's multipliers: llama.cpp's names for them */
    static const char *gk[][2] = {{"embedding_scale", "embedding_multiplier"},
                                  {"attention.scale", "attention_multiplier"},
                                  {"residual_scale", "residual_multiplier"},
                                  {"logit_scale", "logits_scaling"}};
    for (size_t i = 0; granite && i < 4; i++) {
        double v;
        if (get_num(g, arch, gk[i][0], &v)) cJSON_AddNumberToObject(c, gk[i][1], v);
    }
    if (!strcmp(model_type, "phi3") && (rc = phi3_keys(g, arch, c))) goto out;
    if (!strncmp(model_type, "gemma", 5)) gemma_keys(g, arch, c);
    /* the vocabulary: the token list, else <arch>.vocab_size, else the embedding */
    const wd_gguf_kv *toks = wd_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const wd_gguf_tensor *emb = wd_gguf_find_tensor(g, "token_embd.weight");
    double nv = 0;
    if (emb && emb->ndim == 2) nv = (double)emb->ne[1];
    else if (toks && toks->type == WD_GGUF_TYPE_ARRAY) nv = (double)toks->n;
    else get_num(g, arch, "vocab_size", &nv);
    cJSON_AddNumberToObject(c, "vocab_size", nv);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", !wd_gguf_find_tensor(g, "output.weight"));
    const char *st;
    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (wd_gguf_find_kv(g, key) && !wd_gguf_get_str(g, key, &st) && strcmp(st, "none")) {
        double f = 1;
        get_num(g, arch, "rope.scaling.factor", &f);
        cJSON *rs = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(rs, "type", st);
        cJSON_AddNumberToObject(rs, "factor", f);
    }
    int64_t id;
    if (wd_gguf_find_kv(g, "tokenizer.ggml.bos_token_id") &&
        !wd_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &id))
        cJSON_AddNumberToObject(c, "bos_token_id", (double)id);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.eos_token_id") &&
        !wd_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &id))
        cJSON_AddNumberToObject(c, "eos_token_id", (double)id);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.padding_token_id") &&
        !wd_gguf_get_int(g, "tokenizer.ggml.padding_token_id", &id))
        cJSON_AddNumberToObject(c, "pad_token_id", (double)id);
    char *text = cJSON_PrintUnformatted(c);
    if (!text) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto out;
    }
    char where[600];
    snprintf(where, sizeof where, "%s (config from the %s.* keys)", path, arch);
    rc = wd_model_config_parse(text, strlen(text), where, out);
    free(text);
out:
    cJSON_Delete(c);
    return rc;
}

/* ==== tokenizer ========================================================= */

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef struct merge {
    int32_t a, b; /* piece ids       */
    float   score; /* of the merged piece */
    int32_t id;    /* merged piece id */
} merge;

static int cmp_merge(const void *x, const void *y) {
    const merge *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->id != b->id) return a->id < b->id ? -1 : 1;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* Adds merges derived from the scores to arr (see the file comment). */
static wd_status merges_from_scores(const wd_gguf *g, const wd_gguf_kv *toks,
                                    const wd_gguf_kv *scores, const wd_gguf_kv *types,
                                    cJSON *arr) {
    wd__strmap map = {0};
    wd_status rc = wd__strmap_init(&map, (size_t)toks->n);
    merge *ms = NULL;
    size_t n = 0, cap = 0;
    if (rc) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < toks->n; i++) {
        int32_t old;
        if (!wd__strmap_get(&map, toks->strs[i], toks->strs_len[i], &old) &&
            (rc = wd__strmap_put(&map, toks->strs[i], toks->strs_len[i], (int32_t)i)))
            goto out;
    }
    for (uint64_t i = 0; i < toks->n; i++) {
        int64_t ty = TT_NORMAL;
        if (types) wd_gguf_kv_arr_int(types, i, &ty);
        if (ty != TT_NORMAL) continue;
        double sc = 0;
        if (scores) wd_gguf_kv_arr_float(scores, i, &sc);
        const char *s = toks->strs[i];
        size_t len = toks->strs_len[i];
        for (size_t cut = 1; cut < len; cut++) {
            if (((unsigned char)s[cut] & 0xC0) == 0x80) continue; /* inside a code point */
            int32_t a, b;
            if (!wd__strmap_get(&map, s, cut, &a) || !wd__strmap_get(&map, s + cut, len - cut, &b))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                merge *q = realloc(ms, cap * sizeof *q);
                if (!q) {
                    rc = WD_ERR_NOMEM;
                    goto out;
                }
                ms = q;
            }
            ms[n++] = (merge){a, b, (float)sc, (int32_t)i};
        }
    }
    if (n) qsort(ms, n, sizeof *ms, cmp_merge);
    for (size_t i = 0; i < n; i++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(toks->strs[ms[i].a]));
        cJSON_AddItemToArray(pair, cJSON_CreateString(toks->strs[ms[i].b]));
        cJSON_AddItemToArray(arr, pair);
    }
out:
    free(ms);
    wd__strmap_free(&map);
    if (rc) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", wd_gguf_path(g));
    return WD_OK;
}

static const char *k_llama3_regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *k_qwen2_regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* The regex of a tokenizer.ggml.pre name, NULL for GPT-2's own, "" when unknown. */
const char *wd__gguf_pre_regex(const char *pre) {
    if (!pre || !strcmp(pre, "default") || !strcmp(pre, "gpt-2")) return NULL;
    if (!strcmp(pre, "llama-bpe") || !strcmp(pre, "llama3") || !strcmp(pre, "llama-v3"))
        return k_llama3_regex;
    if (!strcmp(pre, "qwen2")) return k_qwen2_regex;
    return "";
}

static cJSON *json_type(const char *type) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static cJSON *replace(const char *from, const char *to) {
    cJSON *o = json_type("Replace");
    cJSON *p = cJSON_AddObjectToObject(o, "pattern");
    cJSON_AddStringToObject(p, "String", from);
    cJSON_AddStringToObject(o, "content", to);
    return o;
}

static const char *tok_str(const wd_gguf_kv *toks, int64_t id) {
    return id >= 0 && (uint64_t)id < toks->n ? toks->strs[id] : NULL;
}

wd_status wd__gguf_load_tokenizer(const wd_gguf *g, wd_tokenizer **out) {
    *out = NULL;
    const char *path = wd_gguf_path(g), *model, *pre = NULL;
    if (!wd_gguf_find_kv(g, "tokenizer.ggml.model"))
        return wd__fail(WD_ERR_NOT_FOUND, "%s: no tokenizer (key 'tokenizer.ggml.model' is missing)",
                        path);
    if (wd_gguf_get_str(g, "tokenizer.ggml.model", &model)) return WD_ERR_FORMAT;
    bool spm = !strcmp(model, "llama");
    if (!spm && strcmp(model, "gpt2"))
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: key 'tokenizer.ggml.model': '%.40s' is not supported (llama, gpt2)",
                        path, model);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.pre") && wd_gguf_get_str(g, "tokenizer.ggml.pre", &pre))
        return WD_ERR_FORMAT;
    const char *regex = spm ? NULL : wd__gguf_pre_regex(pre);
    if (regex && !regex[0])
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: key 'tokenizer.ggml.pre': pre-tokenizer '%.60s' is not supported "
                        "(default, gpt-2, llama-bpe, llama3, qwen2)",
                        path, pre);
    const wd_gguf_kv *toks = wd_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const wd_gguf_kv *scores = wd_gguf_find_kv(g, "tokenizer.ggml.scores");
    const wd_gguf_kv *types = wd_gguf_find_kv(g, "tokenizer.ggml.token_type");
    const wd_gguf_kv *merges = wd_gguf_find_kv(g, "tokenizer.ggml.merges");
    if (!toks || toks->type != WD_GGUF_TYPE_ARRAY || toks->elem_type != WD_GGUF_TYPE_STRING || !toks->n)
        return wd__fail(WD_ERR_FORMAT, "%s: key 'tokenizer.ggml.tokens': missing, or not an array "
                        "of strings", path);
    if (toks->n > INT32_MAX)
        return wd__fail(WD_ERR_FORMAT, "%s: key 'tokenizer.ggml.tokens': too many tokens", path);
    if (scores && (scores->type != WD_GGUF_TYPE_ARRAY || scores->n != toks->n ||
                   scores->elem_type == WD_GGUF_TYPE_STRING))
        return wd__fail(WD_ERR_FORMAT, "%s: key 'tokenizer.ggml.scores': expected %llu numbers",
                        path, (unsigned long long)toks->n);
    if (types && (types->type != WD_GGUF_TYPE_ARRAY || types->n != toks->n ||
                  types->elem_type == WD_GGUF_TYPE_STRING || types->elem_type == WD_GGUF_TYPE_FLOAT32 ||
                  types->elem_type == WD_GGUF_TYPE_FLOAT64))
        return wd__fail(WD_ERR_FORMAT, "%s: key 'tokenizer.ggml.token_type': expected %llu integers",
                        path, (unsigned long long)toks->n);
    if (merges && (merges->type != WD_GGUF_TYPE_ARRAY || merges->elem_type != WD_GGUF_TYPE_STRING))
        return wd__fail(WD_ERR_FORMAT, "%s: key 'tokenizer.ggml.merges': expected strings", path);
    if (!spm && !merges)
        return wd__fail(WD_ERR_FORMAT, "%s: a gpt2 tokenizer needs key 'tokenizer.ggml.merges'", path);

    int64_t bos = -1, eos = -1, unk = -1, pad = -1;
    bool add_bos = spm, add_eos = false;
    if (wd_gguf_find_kv(g, "tokenizer.ggml.bos_token_id")) wd_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &bos);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.eos_token_id")) wd_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &eos);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.unknown_token_id")) wd_gguf_get_int(g, "tokenizer.ggml.unknown_token_id", &unk);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.padding_token_id")) wd_gguf_get_int(g, "tokenizer.ggml.padding_token_id", &pad);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.add_bos_token")) wd_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    if (wd_gguf_find_kv(g, "tokenizer.ggml.add_eos_token")) wd_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &add_eos);
    bool space_prefix = true; /* llama.cpp's default for SentencePiece vocabularies */
    if (wd_gguf_find_kv(g, "tokenizer.ggml.add_space_prefix"))
        wd_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &space_prefix);
    if (add_bos && !tok_str(toks, bos)) add_bos = false;
    if (add_eos && !tok_str(toks, eos)) add_eos = false;

    wd_status rc = WD_OK;
    char *text = NULL, *cfg_text = NULL;
    cJSON *root = cJSON_CreateObject(), *cfg = cJSON_CreateObject();
    if (!root || !cfg) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto out;
    }
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (uint64_t i = 0; i < toks->n; i++) {
        int64_t ty = TT_NORMAL;
        if (types) wd_gguf_kv_arr_int(types, i, &ty);
        if (ty != TT_CONTROL && ty != TT_USER && ty != TT_UNKNOWN) continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", (double)i);
        cJSON_AddStringToObject(a, "content", toks->strs[i]);
        cJSON_AddBoolToObject(a, "single_word", false);
        cJSON_AddBoolToObject(a, "lstrip", false);
        cJSON_AddBoolToObject(a, "rstrip", false);
        cJSON_AddBoolToObject(a, "normalized", ty == TT_USER && !spm);
        cJSON_AddBoolToObject(a, "special", ty != TT_USER);
        cJSON_AddItemToArray(added, a);
    }
    if (spm) {
        cJSON *norm = cJSON_AddObjectToObject(root, "normalizer");
        cJSON_AddStringToObject(norm, "type", "Sequence");
        cJSON *ns = cJSON_AddArrayToObject(norm, "normalizers");
        if (space_prefix) {
            cJSON *prep = json_type("Prepend");
            cJSON_AddStringToObject(prep, "prepend", "\xe2\x96\x81");
            cJSON_AddItemToArray(ns, prep);
        }
        cJSON_AddItemToArray(ns, replace(" ", "\xe2\x96\x81"));
        cJSON_AddNullToObject(root, "pre_tokenizer");
    } else {
        cJSON_AddNullToObject(root, "normalizer");
        cJSON *bl = json_type("ByteLevel");
        cJSON_AddBoolToObject(bl, "add_prefix_space", false);
        cJSON_AddBoolToObject(bl, "trim_offsets", true);
        cJSON_AddBoolToObject(bl, "use_regex", regex == NULL);
        if (regex) {
            cJSON *seq = cJSON_AddObjectToObject(root, "pre_tokenizer");
            cJSON_AddStringToObject(seq, "type", "Sequence");
            cJSON *ps = cJSON_AddArrayToObject(seq, "pretokenizers");
            cJSON *sp = json_type("Split");
            cJSON *pat = cJSON_AddObjectToObject(sp, "pattern");
            cJSON_AddStringToObject(pat, "Regex", regex);
            cJSON_AddStringToObject(sp, "behavior", "Isolated");
            cJSON_AddBoolToObject(sp, "invert", false);
            cJSON_AddItemToArray(ps, sp);
            cJSON_AddItemToArray(ps, bl);
        } else {
            cJSON_AddItemToObject(root, "pre_tokenizer", bl);
        }
    }
    /* post-processor: BOS / EOS around the sequence */
    if (add_bos || add_eos) {
        cJSON *pp = cJSON_AddObjectToObject(root, "post_processor");
        cJSON_AddStringToObject(pp, "type", "TemplateProcessing");
        cJSON *single = cJSON_AddArrayToObject(pp, "single");
        cJSON *pair = cJSON_AddArrayToObject(pp, "pair");
        cJSON *spec = cJSON_AddObjectToObject(pp, "special_tokens");
        for (int pass = 0; pass < 2; pass++) {
            cJSON *tmpl = pass ? pair : single;
            for (int part = 0; part < (pass ? 2 : 1); part++) {
                if (add_bos) {
                    cJSON *e = cJSON_CreateObject(), *st = cJSON_AddObjectToObject(e, "SpecialToken");
                    cJSON_AddStringToObject(st, "id", tok_str(toks, bos));
                    cJSON_AddNumberToObject(st, "type_id", part);
                    cJSON_AddItemToArray(tmpl, e);
                }
                cJSON *e = cJSON_CreateObject(), *sq = cJSON_AddObjectToObject(e, "Sequence");
                cJSON_AddStringToObject(sq, "id", part ? "B" : "A");
                cJSON_AddNumberToObject(sq, "type_id", part);
                cJSON_AddItemToArray(tmpl, e);
                if (add_eos) {
                    cJSON *e2 = cJSON_CreateObject(), *st = cJSON_AddObjectToObject(e2, "SpecialToken");
                    cJSON_AddStringToObject(st, "id", tok_str(toks, eos));
                    cJSON_AddNumberToObject(st, "type_id", part);
                    cJSON_AddItemToArray(tmpl, e2);
                }
            }
        }
        int64_t ids[2] = {bos, eos};
        bool use[2] = {add_bos, add_eos};
        for (int i = 0; i < 2; i++) {
            if (!use[i] || cJSON_GetObjectItemCaseSensitive(spec, tok_str(toks, ids[i]))) continue;
            cJSON *s = cJSON_AddObjectToObject(spec, tok_str(toks, ids[i]));
            cJSON_AddStringToObject(s, "id", tok_str(toks, ids[i]));
            cJSON *idl = cJSON_AddArrayToObject(s, "ids");
            cJSON_AddItemToArray(idl, cJSON_CreateNumber((double)ids[i]));
            cJSON *tl = cJSON_AddArrayToObject(s, "tokens");
            cJSON_AddItemToArray(tl, cJSON_CreateString(tok_str(toks, ids[i])));
        }
    } else {
        cJSON_AddNullToObject(root, "post_processor");
    }
    if (spm) {
        cJSON *dec = cJSON_AddObjectToObject(root, "decoder");
        cJSON_AddStringToObject(dec, "type", "Sequence");
        cJSON *ds = cJSON_AddArrayToObject(dec, "decoders");
        cJSON_AddItemToArray(ds, replace("\xe2\x96\x81", " "));
        cJSON_AddItemToArray(ds, json_type("ByteFallback"));
        cJSON_AddItemToArray(ds, json_type("Fuse"));
        if (space_prefix) { /* the prepended space goes again */
            cJSON *strip = json_type("Strip");
            cJSON_AddStringToObject(strip, "content", " ");
            cJSON_AddNumberToObject(strip, "start", 1);
            cJSON_AddNumberToObject(strip, "stop", 0);
            cJSON_AddItemToArray(ds, strip);
        }
    } else {
        cJSON *dec = json_type("ByteLevel");
        cJSON_AddBoolToObject(dec, "add_prefix_space", true);
        cJSON_AddBoolToObject(dec, "trim_offsets", true);
        cJSON_AddBoolToObject(dec, "use_regex", true);
        cJSON_AddItemToObject(root, "decoder", dec);
    }
    cJSON *m = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddNullToObject(m, "dropout");
    if (spm && tok_str(toks, unk)) cJSON_AddStringToObject(m, "unk_token", tok_str(toks, unk));
    else cJSON_AddNullToObject(m, "unk_token");
    cJSON_AddNullToObject(m, "continuing_subword_prefix");
    cJSON_AddNullToObject(m, "end_of_word_suffix");
    cJSON_AddBoolToObject(m, "fuse_unk", spm);
    cJSON_AddBoolToObject(m, "byte_fallback", spm);
    cJSON_AddBoolToObject(m, "ignore_merges", false);
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab");
    {
        wd__strmap seen = {0};
        if (wd__strmap_init(&seen, (size_t)toks->n)) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (uint64_t i = 0; i < toks->n; i++) {
            int32_t old;
            if (wd__strmap_get(&seen, toks->strs[i], toks->strs_len[i], &old)) continue;
            if (wd__strmap_put(&seen, toks->strs[i], toks->strs_len[i], (int32_t)i)) break;
            cJSON_AddItemToObject(vocab, toks->strs[i], cJSON_CreateNumber((double)i));
        }
        wd__strmap_free(&seen);
    }
    cJSON *marr = cJSON_AddArrayToObject(m, "merges");
    if (merges) {
        for (uint64_t i = 0; i < merges->n; i++)
            cJSON_AddItemToArray(marr, cJSON_CreateString(merges->strs[i]));
    } else if ((rc = merges_from_scores(g, toks, scores, types, marr))) {
        goto out;
    }

    /* tokenizer_config.json: the special tokens by name and the template */
    const char *names[] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    int64_t sids[] = {bos, eos, unk, pad};
    for (int i = 0; i < 4; i++)
        if (tok_str(toks, sids[i])) cJSON_AddStringToObject(cfg, names[i], tok_str(toks, sids[i]));
    cJSON_AddBoolToObject(cfg, "add_bos_token", add_bos);
    cJSON_AddBoolToObject(cfg, "add_eos_token", add_eos);
    const char *tmpl;
    if (wd_gguf_find_kv(g, "tokenizer.chat_template") &&
        !wd_gguf_get_str(g, "tokenizer.chat_template", &tmpl))
        cJSON_AddStringToObject(cfg, "chat_template", tmpl);

    text = cJSON_PrintUnformatted(root);
    cfg_text = cJSON_PrintUnformatted(cfg);
    if (!text || !cfg_text) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto out;
    }
    char where[600];
    snprintf(where, sizeof where, "%s (tokenizer from the tokenizer.ggml.* keys)", path);
    rc = wd_tokenizer_load_json(text, strlen(text), cfg_text, strlen(cfg_text), where, out);
out:
    free(text);
    free(cfg_text);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    return rc;
}
