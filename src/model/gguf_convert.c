/*
 * model/gguf_convert.c - a decoder checkpoint (a Hugging Face folder or a
 * .gguf) written as a GGUF file that llama.cpp loads (wd_gguf_convert).
 *
 * What is written, following llama.cpp's convert_hf_to_gguf.py:
 *   general.architecture "llama" (llama, mistral), "qwen2", "qwen3",
 *   "granite", "gemma2" or "gemma3" (gemma3_text); general.name,
 *   general.file_type (llama_ftype), general.quantization_version 2;
 *   <arch>.context_length, embedding_length, block_count, feed_forward_length,
 *   attention.head_count(_kv), attention.key_length / value_length,
 *   rope.dimension_count, rope.freq_base, attention.layer_norm_rms_epsilon,
 *   vocab_size, rope.scaling.{type,factor} for linear scaling; llama3
 *   scaling as the rope_freqs.weight tensor of per-frequency divisors;
 *   tokenizer.ggml.* from tokenizer.json / tokenizer_config.json (below)
 *   and tokenizer.chat_template; per architecture (qwen3, granite, gemma2,
 *   gemma3) the names and keys of gguf_convert_arch.c.
 * Tensors get GGUF names (token_embd, blk.N.attn_q, ..., output); a llama's
 * q/k rows are permuted per head from the Hugging Face rotate-half layout
 * into the interleaved one llama.cpp's rope expects (unless the checkpoint
 * is already interleaved: config.json "rope_interleaved": true).
 *
 * Tensor types: 1-D tensors (norms, biases) stay F32. 2-D ones take the
 * requested type, except (llama.cpp's llama_tensor_get_type, simplified):
 *   - output.weight (token_embd.weight when tied) is Q6_K for every
 *     quantized type but Q8_0;
 *   - q4_k_m: attn_v and ffn_down are Q6_K in the layers where
 *     use_more_bits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2,
 *     Q4_K elsewhere, like every other matrix but phi3's fused attn_qkv
 *     (Q5_K);
 *   - a row that is not a multiple of the block size falls back as
 *     llama.cpp does: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and F16
 *     when even 32 does not divide it.
 * (llama.cpp also bumps attn_v for models with n_gqa >= 4 and mixes types
 * in mixture-of-experts models; warden does not.)
 *
 * Tokenizer (tokenizer.json, model BPE only): byte_fallback BPE is written
 * as "llama" (SentencePiece: pieces with U+2581, <0xNN> byte tokens of type
 * BYTE, scores that rank each merged piece by its merge's rank so that
 * llama.cpp's score-driven merging follows the same order, and the merges
 * themselves, which llama.cpp ignores and warden reads back); byte-level
 * BPE as "gpt2" with its merges and tokenizer.ggml.pre named from the
 * pre-tokenizer's regex. Added tokens: special -> CONTROL, others
 * USER_DEFINED; ids up to vocab_size that the tokenizer lacks are
 * "[PADn]" of type UNUSED.
 *
 * Memory: each tensor is converted to F32 and then to its type; all
 * converted tensors are held until the file is written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "base/log.h"
#include "model/model_internal.h"
#include "tensor/quant.h"
#include "warden/checkpoint.h"
#include "warden/config.h"
#include "warden/gguf.h"

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* ==== conversion state ================================================== */

typedef struct conv {
    wd_gguf_writer *w;
    void          **owned;
    size_t          n_owned, cap_owned;
    wd_ggml_type    type;
    bool            q4_k_m, tied;
    int64_t         n_layer;
} conv;

static void *keep(conv *c, void *p) {
    if (!p) return NULL;
    if (c->n_owned == c->cap_owned) {
        size_t cap = c->cap_owned ? 2 * c->cap_owned : 64;
        void **q = realloc(c->owned, cap * sizeof *q);
        if (!q) {
            free(p);
            return NULL;
        }
        c->owned = q;
        c->cap_owned = cap;
    }
    c->owned[c->n_owned++] = p;
    return p;
}

static bool is_quant(wd_ggml_type t) { return wd__quant_supported(t); }

static bool use_more_bits(int64_t i, int64_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The type of the 2-D tensor gguf_name with rows of nx elements. */
static wd_ggml_type pick_type(const conv *c, const char *name, int64_t nx) {
    wd_ggml_type t = c->type;
    bool is_output = !strcmp(name, "output.weight") || (c->tied && !strcmp(name, "token_embd.weight"));
    if (is_quant(t) && is_output && t != WD_GGML_TYPE_Q8_0) t = WD_GGML_TYPE_Q6_K;
    if (c->q4_k_m && !is_output) {
        unsigned long l;
        if (sscanf(name, "blk.%lu.", &l) == 1 && (strstr(name, ".attn_v.") || strstr(name, ".ffn_down.")) &&
            use_more_bits((int64_t)l, c->n_layer))
            t = WD_GGML_TYPE_Q6_K;
        else if (strstr(name, ".attn_qkv.")) /* phi3's fused q, k, v */
            t = WD_GGML_TYPE_Q5_K;
    }
    size_t blck = wd_ggml_type_block_size(t);
    if (nx % (int64_t)blck) {
        if (is_output && is_quant(t)) t = WD_GGML_TYPE_Q8_0;
        else if (t == WD_GGML_TYPE_Q4_K) t = WD_GGML_TYPE_Q5_0;
        else if (t == WD_GGML_TYPE_Q5_K) t = WD_GGML_TYPE_Q5_1;
        else if (t == WD_GGML_TYPE_Q6_K) t = WD_GGML_TYPE_Q8_0;
        if (nx % (int64_t)wd_ggml_type_block_size(t)) t = WD_GGML_TYPE_F16;
    }
    return t;
}

/* Adds tensor name with dims ne (ne[0] innermost) from F32 values x
 * (freed here or kept by c). */
static wd_status add_f32(conv *c, const char *name, const int64_t *ne, int ndim, float *x) {
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (uint64_t)ne[d];
    wd_ggml_type t = ndim == 1 ? WD_GGML_TYPE_F32 : pick_type(c, name, ne[0]);
    void *data = x;
    if (t == WD_GGML_TYPE_F16 || t == WD_GGML_TYPE_BF16) {
        uint16_t *h = malloc(n * 2 + 1);
        if (!h) {
            free(x);
            return wd__fail(WD_ERR_NOMEM, "out of memory converting tensor '%s'", name);
        }
        if (t == WD_GGML_TYPE_F16) wd_f32_to_f16(h, x, n);
        else wd_f32_to_bf16(h, x, n);
        free(x);
        data = h;
    } else if (t != WD_GGML_TYPE_F32) {
        void *q = malloc(wd__quant_row_size(t, n) + 1);
        if (!q) {
            free(x);
            return wd__fail(WD_ERR_NOMEM, "out of memory converting tensor '%s'", name);
        }
        wd__quantize_ref(t, q, x, n);
        free(x);
        data = q;
    }
    if (!keep(c, data)) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status rc = wd_gguf_writer_add_tensor(c->w, name, t, ne, ndim, data);
    if (rc) return wd__fail(rc, "%s", wd_gguf_writer_last_error(c->w));
    return WD_OK;
}

/* Reorders the rows of a (n_head * D, cols) matrix from rotate-half to
 * interleaved within each head: row h*D + s*D/2 + i -> h*D + 2i + s. */
static wd_status permute_rows(float *x, int64_t n_head, int64_t rows, int64_t cols) {
    int64_t D = rows / n_head;
    float *tmp = malloc((size_t)(D * cols) * sizeof *tmp + 1);
    if (!tmp) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (int64_t h = 0; h < n_head; h++) {
        float *head = x + h * D * cols;
        memcpy(tmp, head, (size_t)(D * cols) * sizeof *tmp);
        for (int64_t s = 0; s < 2; s++)
            for (int64_t i = 0; i < D / 2; i++)
                memcpy(head + (2 * i + s) * cols, tmp + (s * D / 2 + i) * cols,
                       (size_t)cols * sizeof *tmp);
    }
    free(tmp);
    return WD_OK;
}

/* ==== tokenizer.json -> tokenizer.ggml.* ================================ */

static const char *json_token_str(const cJSON *v) {
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *c = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "content") : NULL;
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static bool is_byte_token(const char *s) {
    return strlen(s) == 6 && !strncmp(s, "<0x", 3) && s[5] == '>' &&
           strchr("0123456789ABCDEF", s[3]) && strchr("0123456789ABCDEF", s[4]);
}

/* Finds the regex of a Split pre-tokenizer inside pt, or NULL. */
static const char *find_split_regex(const cJSON *pt) {
    if (!cJSON_IsObject(pt)) return NULL;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(pt, "type");
    if (cJSON_IsString(ty) && !strcmp(ty->valuestring, "Split")) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(pt, "pattern");
        const cJSON *r = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "Regex") : NULL;
        return cJSON_IsString(r) ? r->valuestring : NULL;
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
    for (const cJSON *e = cJSON_IsArray(seq) ? seq->child : NULL; e; e = e->next) {
        const char *r = find_split_regex(e);
        if (r) return r;
    }
    return NULL;
}

/* Whether a SentencePiece tokenizer.json prepends U+2581 to the text (a
 * Prepend normalizer, or a Metaspace pre-tokenizer that prepends). Gemma's
 * does not: llama.cpp then needs tokenizer.ggml.add_space_prefix false. */
static bool prepends_space(const cJSON *tj) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(tj, "normalizer");
    const cJSON *list = cJSON_IsObject(n) ? cJSON_GetObjectItemCaseSensitive(n, "normalizers") : NULL;
    for (const cJSON *e = cJSON_IsArray(list) ? list->child : n; e; e = list ? e->next : NULL) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type");
        if (cJSON_IsString(ty) && !strcmp(ty->valuestring, "Prepend")) return true;
    }
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(tj, "pre_tokenizer");
    const cJSON *ty = cJSON_IsObject(pt) ? cJSON_GetObjectItemCaseSensitive(pt, "type") : NULL;
    const cJSON *ps = cJSON_IsObject(pt) ? cJSON_GetObjectItemCaseSensitive(pt, "prepend_scheme") : NULL;
    const cJSON *as = cJSON_IsObject(pt) ? cJSON_GetObjectItemCaseSensitive(pt, "add_prefix_space") : NULL;
    return cJSON_IsString(ty) && !strcmp(ty->valuestring, "Metaspace") &&
           (cJSON_IsString(ps) ? strcmp(ps->valuestring, "never") != 0 : !cJSON_IsFalse(as));
}

static wd_status write_tokenizer(conv *c, const char *dir, const wd_model_config *cfg) {
    char *tp = wd__path_join(dir, "tokenizer.json"), *cp = wd__path_join(dir, "tokenizer_config.json");
    cJSON *tj = NULL, *tc = NULL;
    char **toks = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    char **merges = NULL;
    size_t n_merges = 0;
    int64_t V = 0;
    wd__strmap map = {0};
    wd_status rc = WD_OK;
    if (!tp || !cp) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!wd__path_exists(tp)) {
        WD_WARN("%s: no tokenizer.json: the GGUF file gets no tokenizer", dir);
        goto out;
    }
    if ((rc = wd__json_load_file(tp, 0, &tj))) goto out;
    if (wd__path_exists(cp) && (rc = wd__json_load_file(cp, 0, &tc))) goto out;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(tj, "model");
    const cJSON *mtype = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *jmerges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsString(mtype) || strcmp(mtype->valuestring, "BPE") || !cJSON_IsObject(vocab)) {
        rc = wd__fail(WD_ERR_UNSUPPORTED,
                      "%s: field 'model': only BPE tokenizers can be written to GGUF (got %s)", tp,
                      cJSON_IsString(mtype) ? mtype->valuestring : "no type");
        goto out;
    }
    bool spm = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    /* the vocabulary size: the config's, grown to cover every id */
    V = cfg->vocab_size;
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(tj, "added_tokens");
    for (const cJSON *e = vocab->child; e; e = e->next)
        if (cJSON_IsNumber(e) && e->valuedouble >= V) V = (int64_t)e->valuedouble + 1;
    for (const cJSON *e = cJSON_IsArray(added) ? added->child : NULL; e; e = e->next) {
        int64_t id;
        if (wd__json_is_int(cJSON_GetObjectItemCaseSensitive(e, "id"), &id) && id >= V) V = id + 1;
    }
    if (V > cfg->vocab_size)
        WD_WARN("%s: the tokenizer has ids up to %lld, beyond vocab_size %lld", tp,
                (long long)V - 1, (long long)cfg->vocab_size);
    toks = calloc((size_t)V, sizeof *toks);
    scores = calloc((size_t)V, sizeof *scores);
    types = calloc((size_t)V, sizeof *types);
    if (!toks || !scores || !types || wd__strmap_init(&map, (size_t)V)) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (const cJSON *e = vocab->child; e; e = e->next) {
        int64_t id;
        if (!wd__json_is_int(e, &id) || id < 0 || id >= V) continue;
        toks[id] = e->string;
        types[id] = spm && is_byte_token(e->string) ? TT_BYTE : TT_NORMAL;
    }
    for (const cJSON *e = cJSON_IsArray(added) ? added->child : NULL; e; e = e->next) {
        int64_t id;
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!wd__json_is_int(cJSON_GetObjectItemCaseSensitive(e, "id"), &id) || id < 0 ||
            !cJSON_IsString(ct))
            continue;
        toks[id] = ct->valuestring;
        types[id] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "special")) ? TT_CONTROL : TT_USER;
    }
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    for (int64_t i = 0; i < V; i++) {
        if (!toks[i]) {
            char buf[32];
            snprintf(buf, sizeof buf, "[PAD%lld]", (long long)i);
            if (!(toks[i] = keep(c, strdup(buf)))) {
                rc = wd__fail(WD_ERR_NOMEM, "out of memory");
                goto out;
            }
            types[i] = TT_UNUSED;
        } else if (cJSON_IsString(unk) && !strcmp(toks[i], unk->valuestring)) {
            types[i] = TT_UNKNOWN;
        }
        int32_t old;
        if (!wd__strmap_get(&map, toks[i], strlen(toks[i]), &old))
            wd__strmap_put(&map, toks[i], strlen(toks[i]), (int32_t)i);
        scores[i] = spm && types[i] == TT_NORMAL ? -1e6f : 0.0f;
    }
    /* merges as "a b"; a SentencePiece piece scores minus its merge's rank */
    size_t nm = (size_t)cJSON_GetArraySize(jmerges);
    merges = calloc(nm + 1, sizeof *merges);
    if (!merges) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (const cJSON *e = cJSON_IsArray(jmerges) ? jmerges->child : NULL; e; e = e->next) {
        const char *a = NULL, *b = NULL;
        char *s = NULL;
        if (cJSON_IsString(e)) {
            s = keep(c, strdup(e->valuestring));
            char *sp = s ? strchr(s, ' ') : NULL;
            if (sp) {
                a = e->valuestring;
                b = e->valuestring + (sp - s) + 1;
                *sp = '\0';
                size_t la = strlen(s);
                char *joined = malloc(la + strlen(b) + 1);
                if (joined) {
                    memcpy(joined, s, la);
                    strcpy(joined + la, b);
                    int32_t id;
                    if (spm && wd__strmap_get(&map, joined, strlen(joined), &id) &&
                        scores[id] == -1e6f)
                        scores[id] = -(float)n_merges;
                    free(joined);
                }
                *sp = ' ';
            }
        } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
                   cJSON_IsString(e->child) && cJSON_IsString(e->child->next)) {
            a = e->child->valuestring;
            b = e->child->next->valuestring;
            size_t la = strlen(a), lb = strlen(b);
            s = keep(c, malloc(la + lb + 2));
            if (s) {
                memcpy(s, a, la);
                memcpy(s + la + 1, b, lb + 1);
                int32_t id;
                s[la] = '\0';
                char *joined = malloc(la + lb + 1);
                if (joined) {
                    memcpy(joined, a, la);
                    memcpy(joined + la, b, lb + 1);
                    if (spm && wd__strmap_get(&map, joined, la + lb, &id) && scores[id] == -1e6f)
                        scores[id] = -(float)n_merges;
                    free(joined);
                }
                s[la] = ' ';
            }
        }
        if (!s || !a) {
            rc = wd__fail(s ? WD_ERR_FORMAT : WD_ERR_NOMEM, "%s: field 'merges': entry %zu is not a pair",
                          tp, n_merges);
            goto out;
        }
        merges[n_merges++] = s;
    }
    wd_gguf_writer *w = c->w;
    rc = wd_gguf_writer_set_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
    if (!rc && spm && !prepends_space(tj))
        rc = wd_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    if (!spm) {
        const char *re = find_split_regex(cJSON_GetObjectItemCaseSensitive(tj, "pre_tokenizer"));
        const char *pre = "gpt-2";
        if (re) {
            const char *names[] = {"llama-bpe", "qwen2"};
            pre = NULL;
            for (int i = 0; i < 2; i++)
                if (!strcmp(re, wd__gguf_pre_regex(names[i]))) pre = names[i];
            if (!pre) {
                WD_WARN("%s: the pre-tokenizer's regex is not one llama.cpp names; writing 'default'", tp);
                pre = "default";
            }
        }
        if (!rc) rc = wd_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre);
    }
    if (!rc) rc = wd_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, (uint64_t)V);
    if (!rc && spm) rc = wd_gguf_writer_set_arr(w, "tokenizer.ggml.scores", WD_GGUF_TYPE_FLOAT32, scores, (uint64_t)V);
    if (!rc) rc = wd_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", WD_GGUF_TYPE_INT32, types, (uint64_t)V);
    if (!rc) rc = wd_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges, n_merges);
    /* special tokens: tokenizer_config.json's names, else config.json's ids */
    static const char *fields[] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    static const char *keys[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                 "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"};
    int64_t fallback[] = {cfg->bos_token_id, cfg->n_eos_token_ids ? cfg->eos_token_ids[0] : -1,
                          -1, cfg->pad_token_id};
    int64_t bos = -1;
    for (int i = 0; i < 4 && !rc; i++) {
        const char *s = json_token_str(tc ? cJSON_GetObjectItemCaseSensitive(tc, fields[i]) : NULL);
        if (i == 2 && !s && cJSON_IsString(unk)) s = unk->valuestring;
        int32_t id = -1;
        int64_t v = fallback[i];
        if (s && wd__strmap_get(&map, s, strlen(s), &id)) v = id;
        if (i == 0) bos = v;
        if (v >= 0 && v < V) rc = wd_gguf_writer_set_u32(w, keys[i], (uint32_t)v);
    }
    /* add_bos: tokenizer_config.json, else whether the post-processor adds it */
    bool add_bos = false;
    const cJSON *ab = tc ? cJSON_GetObjectItemCaseSensitive(tc, "add_bos_token") : NULL;
    if (cJSON_IsBool(ab)) {
        add_bos = cJSON_IsTrue(ab);
    } else {
        const cJSON *pp = cJSON_GetObjectItemCaseSensitive(tj, "post_processor");
        const cJSON *single = cJSON_IsObject(pp) ? cJSON_GetObjectItemCaseSensitive(pp, "single") : NULL;
        const cJSON *first = cJSON_IsArray(single) ? single->child : NULL;
        const cJSON *st = first ? cJSON_GetObjectItemCaseSensitive(first, "SpecialToken") : NULL;
        const cJSON *sid = st ? cJSON_GetObjectItemCaseSensitive(st, "id") : NULL;
        int32_t id;
        add_bos = cJSON_IsString(sid) && wd__strmap_get(&map, sid->valuestring, strlen(sid->valuestring), &id) &&
                  id == bos;
    }
    if (!rc) rc = wd_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", add_bos);
    if (!rc) rc = wd_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
    const cJSON *ct = tc ? cJSON_GetObjectItemCaseSensitive(tc, "chat_template") : NULL;
    if (!rc && cJSON_IsString(ct)) rc = wd_gguf_writer_set_str(w, "tokenizer.chat_template", ct->valuestring);
    if (rc) rc = wd__fail(rc, "%s", wd_gguf_writer_last_error(w));
out:
    wd__strmap_free(&map);
    free(toks);
    free(scores);
    free(types);
    free(merges);
    cJSON_Delete(tj);
    cJSON_Delete(tc);
    free(tp);
    free(cp);
    return rc;
}

/* ==== from a model folder =============================================== */

static uint32_t file_type(wd_ggml_type t, bool q4_k_m) {
    switch (t) {
    case WD_GGML_TYPE_F32: return 0;
    case WD_GGML_TYPE_F16: return 1;
    case WD_GGML_TYPE_Q4_0: return 2;
    case WD_GGML_TYPE_Q4_1: return 3;
    case WD_GGML_TYPE_Q8_0: return 7;
    case WD_GGML_TYPE_Q5_0: return 8;
    case WD_GGML_TYPE_Q5_1: return 9;
    case WD_GGML_TYPE_Q4_K: return q4_k_m ? 15 : 14;
    case WD_GGML_TYPE_Q5_K: return 16;
    case WD_GGML_TYPE_Q6_K: return 18;
    case WD_GGML_TYPE_BF16: return 32;
    default: return 0;
    }
}

/* Gemma (gemma2, gemma3): post_attention_layernorm, pre_ and
 * post_feedforward_layernorm get their own names, every norm is written as
 * 1 + w (llama.cpp multiplies by the stored weight), and lm_head is not
 * written (llama.cpp's gemma uses token_embd). */
static wd_status from_folder(conv *c, const char *in) {
    wd_model_config *cfg = NULL;
    wd_checkpoint *ck = NULL;
    wd_status rc = wd_model_config_load(in, &cfg);
    if (rc) return rc;
    if ((rc = wd__gguf_check_writable(cfg, in))) goto out;
    if (strstr(cfg->architecture, "ForSequenceClassification")) {
        rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: %s (a reward model / sequence classifier) has no "
                      "GGUF form: only causal LMs are written", in, cfg->architecture);
        goto out;
    }
    if (cfg->mlp_bias || cfg->attention_out_bias != (cfg->type == WD_MODEL_TYPE_LLAMA && cfg->attention_bias)) {
        rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: MLP / output-projection biases are not written", in);
        goto out;
    }
    /* llama.cpp's converter permutes llama's and granite's q/k rows */
    bool permute = (cfg->type == WD_MODEL_TYPE_LLAMA || cfg->type == WD_MODEL_TYPE_MISTRAL ||
                    cfg->type == WD_MODEL_TYPE_GRANITE) && !cfg->rope_interleaved;
    if ((cfg->type == WD_MODEL_TYPE_LLAMA || cfg->type == WD_MODEL_TYPE_GRANITE) && cfg->attention_bias) {
        rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: %s attention biases are not written", in,
                      cfg->model_type);
        goto out;
    }
    if (cfg->rope_scaling.type == WD_ROPE_SCALING_DYNAMIC) {
        rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: dynamic rope scaling has no GGUF form", in);
        goto out;
    }
    if ((rc = wd_checkpoint_open(in, &ck))) goto out;
    const char *arch = wd__gguf_arch_of(cfg);
    wd_gguf_writer *w = c->w;
    char key[128];
    const char *base = strrchr(in, '/');
    base = base && base[1] ? base + 1 : in;
#define SETU(suffix, v) \
    (snprintf(key, sizeof key, "%s.%s", arch, suffix), wd_gguf_writer_set_u32(w, key, (uint32_t)(v)))
#define SETF(suffix, v) \
    (snprintf(key, sizeof key, "%s.%s", arch, suffix), wd_gguf_writer_set_f32(w, key, (float)(v)))
    rc = wd_gguf_writer_set_str(w, "general.architecture", arch);
    if (!rc) rc = wd_gguf_writer_set_str(w, "general.name", base);
    if (!rc) rc = wd_gguf_writer_set_u32(w, "general.file_type", file_type(c->type, c->q4_k_m));
    if (!rc && is_quant(c->type)) rc = wd_gguf_writer_set_u32(w, "general.quantization_version", 2);
    if (!rc) rc = SETU("context_length", cfg->max_position_embeddings);
    if (!rc) rc = SETU("embedding_length", cfg->hidden_size);
    if (!rc) rc = SETU("block_count", cfg->n_layer);
    if (!rc) rc = SETU("feed_forward_length", cfg->intermediate_size);
    if (!rc) rc = SETU("attention.head_count", cfg->n_head);
    if (!rc) rc = SETU("attention.head_count_kv", cfg->n_kv_head);
    if (!rc) rc = SETF("rope.freq_base", cfg->rope_theta);
    if (!rc) rc = SETF("attention.layer_norm_rms_epsilon", cfg->norm_eps);
    if (!rc) rc = SETU("vocab_size", cfg->vocab_size);
    if (!rc) rc = SETU("rope.dimension_count", wd__phi3_rope_dim(cfg)); /* head_dim but for phi3 */
    if (!rc && (cfg->head_dim * cfg->n_head != cfg->hidden_size || cfg->gemma ||
                cfg->type == WD_MODEL_TYPE_QWEN3)) {
        rc = SETU("attention.key_length", cfg->head_dim);
        if (!rc) rc = SETU("attention.value_length", cfg->head_dim);
    }
    if (!rc && cfg->rope_scaling.type == WD_ROPE_SCALING_LINEAR) {
        snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
        rc = wd_gguf_writer_set_str(w, key, "linear");
        if (!rc) rc = SETF("rope.scaling.factor", cfg->rope_scaling.factor);
    }
#undef SETU
#undef SETF
    if (rc) {
        rc = wd__fail(rc, "%s", wd_gguf_writer_last_error(w));
        goto out;
    }
    if ((rc = wd__gguf_write_arch_keys(w, cfg, arch)) || (rc = write_tokenizer(c, in, cfg))) goto out;

    c->n_layer = cfg->n_layer;
    /* Gemma: llama.cpp takes the output matrix from the embedding */
    c->tied = !wd_checkpoint_find(ck, "lm_head.weight") || cfg->gemma;
    if (cfg->gemma && !cfg->tie_word_embeddings && wd_checkpoint_find(ck, "lm_head.weight")) {
        rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: tensor 'lm_head.weight': llama.cpp's %s ties the "
                      "output to the embedding (tie_word_embeddings is false)", in, arch);
        goto out;
    }
    /* every tensor the runtime binds, in its order */
    char hf[256], gg[256];
    enum { N_LAY = 19 };
    int64_t total = 3 + N_LAY * cfg->n_layer;
    for (int64_t k = 0; k < total && !rc; k++) {
        if (k == 0) snprintf(hf, sizeof hf, "model.embed_tokens.weight");
        else if (k == total - 2) snprintf(hf, sizeof hf, "model.norm.weight");
        else if (k == total - 1) snprintf(hf, sizeof hf, "lm_head.weight");
        else {
            static const char *lay[] = {
                "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                "self_attn.v_proj.weight", "self_attn.o_proj.weight", "self_attn.q_proj.bias",
                "self_attn.k_proj.bias", "self_attn.v_proj.bias", "self_attn.o_proj.bias",
                "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                "mlp.down_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight",
                "pre_feedforward_layernorm.weight", "post_feedforward_layernorm.weight",
                "self_attn.qkv_proj.weight", "mlp.gate_up_proj.weight"};
            snprintf(hf, sizeof hf, "model.layers.%lld.%s", (long long)((k - 1) / N_LAY),
                     lay[(k - 1) % N_LAY]);
        }
        const wd_tensor_info *t = wd_checkpoint_find(ck, hf);
        /* absent: optional (the runtime reports missing required ones); Gemma's lm_head: not written */
        if (!t || (cfg->gemma && k == total - 1)) continue;
        if (!wd__gguf_tensor_name_for(cfg, hf, gg, sizeof gg)) continue;
        if (t->ndim < 1 || t->ndim > 2) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' has %d dimensions", in, hf, t->ndim);
            break;
        }
        float *x = malloc(t->n_elem * sizeof *x + 1);
        if (!x) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory reading '%s'", hf);
            break;
        }
        if ((rc = wd_tensor_read_f32(t, x, t->n_elem))) {
            free(x);
            break;
        }
        int64_t rows = t->shape[0], cols = t->ndim == 2 ? t->shape[1] : 1;
        bool is_q = strstr(hf, "q_proj") != NULL, is_k = strstr(hf, "k_proj") != NULL;
        if (permute && (is_q || is_k)) {
            int64_t nh = is_q ? cfg->n_head : cfg->n_kv_head;
            if (rows % (2 * nh) || (rc = permute_rows(x, nh, rows, cols))) {
                free(x);
                if (!rc) rc = wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': %lld rows for %lld heads", in,
                                       hf, (long long)rows, (long long)nh);
                break;
            }
        }
        size_t hl = strlen(hf);
        if (cfg->gemma && hl > 11 && !strcmp(hf + hl - 11, "norm.weight")) /* (1 + w) */
            for (uint64_t i = 0; i < t->n_elem; i++) x[i] = 1.0f + x[i];
        int64_t ne[2] = {t->ndim == 2 ? cols : rows, rows};
        rc = add_f32(c, gg, ne, t->ndim, x);
    }
    /* phi3 longrope: the factors as tensors, long then short as llama.cpp's
     * converter yields them */
    for (int i = 0; !rc && cfg->longrope.on && i < 2; i++) {
        int64_t ne[1] = {(int64_t)wd__phi3_rope_dim(cfg) / 2};
        float *x = malloc((size_t)ne[0] * sizeof *x + 1);
        if (!x) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(x, i ? cfg->longrope.short_factor : cfg->longrope.long_factor, (size_t)ne[0] * sizeof *x);
        rc = add_f32(c, i ? "rope_factors_short.weight" : "rope_factors_long.weight", ne, 1, x);
    }
    if (!rc && cfg->rope_scaling.type == WD_ROPE_SCALING_LLAMA3) {
        /* llama.cpp divides each frequency by rope_freqs[i] */
        wd_rope_params rp = wd_rope_params_default(), rs;
        rp.theta = cfg->rope_theta;
        rp.head_dim = (int)cfg->head_dim;
        rs = rp;
        rs.scaling = WD_ROPE_SCALING_LLAMA3;
        rs.factor = cfg->rope_scaling.factor;
        rs.low_freq_factor = cfg->rope_scaling.low_freq_factor;
        rs.high_freq_factor = cfg->rope_scaling.high_freq_factor;
        rs.original_max_position_embeddings = (int)cfg->rope_scaling.original_max_position_embeddings;
        int64_t half = cfg->head_dim / 2;
        float *base_f = malloc((size_t)half * sizeof *base_f), *sc = malloc((size_t)half * sizeof *sc);
        if (!base_f || !sc) {
            free(base_f);
            free(sc);
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        } else if (!(rc = wd_rope_inv_freq(base_f, &rp)) && !(rc = wd_rope_inv_freq(sc, &rs))) {
            for (int64_t i = 0; i < half; i++) sc[i] = base_f[i] / sc[i];
            free(base_f);
            int64_t ne[1] = {half};
            rc = add_f32(c, "rope_freqs.weight", ne, 1, sc);
        } else {
            free(base_f);
            free(sc);
        }
    }
out:
    wd_checkpoint_free(ck);
    wd_model_config_free(cfg);
    return rc;
}

/* ==== from a GGUF ======================================================= */

static wd_status from_gguf(conv *c, const char *in) {
    wd_gguf *g = NULL;
    wd_status rc = wd_gguf_open(in, &g);
    if (rc) return rc;
    int64_t nl = 0;
    const char *arch = NULL;
    char key[128];
    if (!wd_gguf_find_kv(g, "general.architecture") || wd_gguf_get_str(g, "general.architecture", &arch))
        arch = "llama";
    snprintf(key, sizeof key, "%s.block_count", arch);
    if (wd_gguf_find_kv(g, key)) wd_gguf_get_int(g, key, &nl);
    c->n_layer = nl;
    c->tied = !wd_gguf_find_tensor(g, "output.weight");
    for (size_t i = 0; i < wd_gguf_n_kv(g) && !rc; i++) {
        const wd_gguf_kv *kv = wd_gguf_kv_at(g, i);
        if (!strcmp(kv->key, "general.file_type") || !strcmp(kv->key, "general.alignment") ||
            !strcmp(kv->key, "general.quantization_version"))
            continue;
        rc = wd_gguf_writer_set_kv(c->w, kv);
    }
    if (!rc) rc = wd_gguf_writer_set_u32(c->w, "general.file_type", file_type(c->type, c->q4_k_m));
    if (!rc && is_quant(c->type)) rc = wd_gguf_writer_set_u32(c->w, "general.quantization_version", 2);
    if (rc) rc = wd__fail(rc, "%s", wd_gguf_writer_last_error(c->w));
    for (size_t i = 0; i < wd_gguf_n_tensors(g) && !rc; i++) {
        const wd_gguf_tensor *t = wd_gguf_tensor_at(g, i);
        if (t->ndim > 2) {
            rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: tensor '%s': %d-D tensors are not converted", in,
                          t->name, t->ndim);
            break;
        }
        float *x = malloc(t->n_elem * sizeof *x + 1);
        if (!x) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory reading '%s'", t->name);
            break;
        }
        if ((rc = wd_gguf_tensor_read_f32(t, x, t->n_elem))) {
            free(x);
            rc = wd__err_prefix(rc, "%s", in);
            break;
        }
        rc = add_f32(c, t->name, t->ne, t->ndim, x);
    }
    /* the writer holds copies of the metadata and every tensor: g may go */
    wd_gguf_free(g);
    return rc;
}

/* ==== entry point ======================================================= */

wd_gguf_convert_params wd_gguf_convert_params_default(void) {
    wd_gguf_convert_params p = {.type = WD_GGML_TYPE_F16, .q4_k_m = false};
    return p;
}

wd_status wd_gguf_convert(const char *in, const char *out, const wd_gguf_convert_params *params) {
    if (!in || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_convert: NULL path");
    wd_gguf_convert_params p = params ? *params : wd_gguf_convert_params_default();
    if (p.q4_k_m) p.type = WD_GGML_TYPE_Q4_K;
    if (p.type != WD_GGML_TYPE_F32 && p.type != WD_GGML_TYPE_F16 && p.type != WD_GGML_TYPE_BF16 &&
        !is_quant(p.type))
        return wd__fail(WD_ERR_UNSUPPORTED, "wd_gguf_convert: type %s cannot be written",
                        wd_ggml_type_name(p.type) ? wd_ggml_type_name(p.type) : "?");
    conv c = {.type = p.type, .q4_k_m = p.q4_k_m};
    wd_status rc = wd_gguf_writer_new(&c.w);
    if (rc) return rc;
    size_t n = strlen(in);
    bool gguf = n > 5 && !strcmp(in + n - 5, ".gguf") && !wd__path_is_dir(in);
    rc = gguf ? from_gguf(&c, in) : from_folder(&c, in);
    if (!rc && (rc = wd_gguf_writer_write(c.w, out)))
        rc = wd__fail(rc, "%s", wd_gguf_writer_last_error(c.w));
    for (size_t i = 0; i < c.n_owned; i++) free(c.owned[i]);
    free(c.owned);
    wd_gguf_writer_free(c.w);
    return rc;
}
