/*
 * train/init.c - a new Llama-architecture model from scratch
 * (wd_train_init_model): config.json, model.safetensors with Hugging
 * Face's initialisation (every linear and embedding weight from
 * N(0, initializer_range^2), norms at one), and either a copy of a
 * tokenizer folder or warden's byte-level tokenizer.
 *
 * The byte-level tokenizer is GPT-2's byte-to-character alphabet as a BPE
 * model with no merges (256 ids: one per byte, so any UTF-8 text encodes
 * and decodes exactly) plus three special tokens: <|endoftext|> (256, pad),
 * <|im_start|> (257), <|im_end|> (258, end of turn), with a ChatML chat
 * template. It suits the tiny models of experiments: its output layer is
 * 259 wide instead of tens of thousands.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/rng.h"
#include "base/utf8.h"
#include "base/util.h"
#include "text/tok_internal.h"
#include "train/save.h"
#include "warden/safetensors.h"
#include "warden/tokenizer.h"
#include "warden/train.h"

wd_init_params wd_init_params_default(void) {
    return (wd_init_params){.hidden = 128, .layers = 4, .heads = 4, .kv_heads = 2,
                            .intermediate = 384, .max_pos = 512, .rope_theta = 10000.0,
                            .init_std = 0.02, .seed = 1, .tie = true};
}

static wd_status write_json(const char *dir, const char *name, cJSON *j) {
    char *text = cJSON_Print(j), *path = wd__path_join(dir, name);
    cJSON_Delete(j);
    wd_status rc = !text || !path ? wd__fail(WD_ERR_NOMEM, "out of memory")
                                  : wd__file_write_atomic(path, text, strlen(text));
    free(text), free(path);
    return rc;
}

enum { BYTE_VOCAB = 259, ID_EOT = 256, ID_IM_START = 257, ID_IM_END = 258 };

static const char *const k_chatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{% endif %}";

static wd_status byte_tokenizer(const char *dir) {
    cJSON *t = cJSON_CreateObject(), *added = cJSON_AddArrayToObject(t, "added_tokens");
    cJSON_AddStringToObject(t, "version", "1.0");
    const char *special[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", 256 + i);
        cJSON_AddStringToObject(a, "content", special[i]);
        cJSON_AddBoolToObject(a, "single_word", false);
        cJSON_AddBoolToObject(a, "lstrip", false);
        cJSON_AddBoolToObject(a, "rstrip", false);
        cJSON_AddBoolToObject(a, "normalized", false);
        cJSON_AddBoolToObject(a, "special", true);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddNullToObject(t, "normalizer");
    cJSON *pre = cJSON_AddObjectToObject(t, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", false);
    cJSON_AddBoolToObject(pre, "trim_offsets", true);
    cJSON_AddBoolToObject(pre, "use_regex", true);
    cJSON_AddNullToObject(t, "post_processor");
    cJSON *dec = cJSON_AddObjectToObject(t, "decoder");
    cJSON_AddStringToObject(dec, "type", "ByteLevel");
    cJSON_AddBoolToObject(dec, "add_prefix_space", false);
    cJSON_AddBoolToObject(dec, "trim_offsets", true);
    cJSON_AddBoolToObject(dec, "use_regex", true);
    cJSON *m = cJSON_AddObjectToObject(t, "model");
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddNullToObject(m, "dropout");
    cJSON_AddNullToObject(m, "unk_token");
    cJSON_AddBoolToObject(m, "byte_fallback", false);
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab");
    for (unsigned b = 0; b < 256; b++) {
        char s[5];
        s[wd__utf8_put(wd__bytelevel_char((unsigned char)b), s)] = 0; /* GPT-2's bytes_to_unicode */
        cJSON_AddNumberToObject(vocab, s, b);
    }
    cJSON_AddArrayToObject(m, "merges");
    wd_status rc = write_json(dir, "tokenizer.json", t);
    if (rc) return rc;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "tokenizer_class", "PreTrainedTokenizerFast");
    cJSON_AddStringToObject(c, "eos_token", "<|im_end|>");
    cJSON_AddStringToObject(c, "pad_token", "<|endoftext|>");
    cJSON_AddNullToObject(c, "bos_token");
    cJSON_AddStringToObject(c, "chat_template", k_chatml);
    cJSON_AddNumberToObject(c, "model_max_length", 1 << 20);
    return write_json(dir, "tokenizer_config.json", c);
}

static wd_status copy_tokenizer(const char *from, const char *dir, int64_t *vocab, int32_t ids[3]) {
    const char *names[3] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 3; i++) {
        wd_status rc = wd__folder_copy_file(from, dir, names[i], i == 0, NULL);
        if (rc) return rc;
    }
    wd_tokenizer *tok = NULL;
    char *path = wd__path_join(dir, "tokenizer.json");
    wd_status rc = path ? wd_tokenizer_load(path, &tok) : wd__fail(WD_ERR_NOMEM, "out of memory");
    free(path);
    if (rc) return rc;
    *vocab = (int64_t)wd_tokenizer_vocab_size(tok);
    ids[0] = wd_tokenizer_special_id(tok, WD_SPECIAL_TOKEN_BOS);
    ids[1] = wd_tokenizer_special_id(tok, WD_SPECIAL_TOKEN_EOS);
    ids[2] = wd_tokenizer_special_id(tok, WD_SPECIAL_TOKEN_PAD);
    wd_tokenizer_free(tok);
    return WD_OK;
}

wd_status wd_train_init_model(const wd_init_params *p, const char *out) {
    if (!p || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_train_init_model: NULL argument");
    if (p->hidden < 8 || p->layers < 1 || p->heads < 1 || p->kv_heads < 1 ||
        p->heads % p->kv_heads || p->hidden % p->heads || (p->hidden / p->heads) % 2 ||
        p->intermediate < 1 || p->max_pos < 2 || !(p->init_std > 0))
        return wd__fail(WD_ERR_INVALID_ARG,
                        "init: want hidden >= 8 divisible by heads into an even head size, heads "
                        "divisible by kv heads, intermediate >= 1, max positions >= 2, std > 0");
    wd_status rc = wd__mkdir_p(out);
    if (rc) return rc;
    int64_t V = BYTE_VOCAB;
    int32_t special[3] = {-1, ID_IM_END, ID_EOT}; /* bos, eos, pad */
    if (p->tokenizer) {
        if ((rc = copy_tokenizer(p->tokenizer, out, &V, special)))
            return wd__err_prefix(rc, "init: tokenizer");
    } else if ((rc = byte_tokenizer(out))) {
        return rc;
    }
    int64_t C = p->hidden, HD = C, KD = (C / p->heads) * p->kv_heads, F = p->intermediate;
    cJSON *c = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("LlamaForCausalLM"));
    cJSON_AddStringToObject(c, "model_type", "llama");
    cJSON_AddNumberToObject(c, "vocab_size", (double)V);
    cJSON_AddNumberToObject(c, "hidden_size", (double)C);
    cJSON_AddNumberToObject(c, "intermediate_size", (double)F);
    cJSON_AddNumberToObject(c, "num_hidden_layers", p->layers);
    cJSON_AddNumberToObject(c, "num_attention_heads", p->heads);
    cJSON_AddNumberToObject(c, "num_key_value_heads", p->kv_heads);
    cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
    cJSON_AddNumberToObject(c, "rms_norm_eps", 1e-5);
    cJSON_AddNumberToObject(c, "rope_theta", p->rope_theta);
    cJSON_AddNumberToObject(c, "initializer_range", p->init_std);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    cJSON_AddBoolToObject(c, "tie_word_embeddings", p->tie);
    cJSON_AddStringToObject(c, "torch_dtype", "float32");
    const char *keys[3] = {"bos_token_id", "eos_token_id", "pad_token_id"};
    for (int i = 0; i < 3; i++)
        if (special[i] >= 0) cJSON_AddNumberToObject(c, keys[i], special[i]);
    if ((rc = write_json(out, "config.json", c))) return rc;
    /* the weights, in the order Hugging Face names them */
    typedef struct spec {
        char    name[96];
        int64_t r, c;
        bool    norm;
    } spec;
    spec t[16];
    wd_safetensors_writer *w = NULL;
    if ((rc = wd_safetensors_writer_new(&w))) return rc;
    size_t total = (size_t)(V * C) * (p->tie ? 1 : 2) + (size_t)C +
                   (size_t)p->layers * (size_t)(2 * C + HD * C + 2 * KD * C + C * HD + 3 * F * C);
    float *mem = malloc(total * sizeof *mem), *at = mem;
    if (!mem) {
        wd_safetensors_writer_free(w);
        return wd__fail(WD_ERR_NOMEM, "init: out of memory for %zu parameters", total);
    }
    uint64_t s = wd__mix64(p->seed);
    for (int64_t l = -1; l <= p->layers && !rc; l++) {
        int n = 0;
        if (l < 0) {
            t[n++] = (spec){"model.embed_tokens.weight", V, C, false};
        } else if (l == p->layers) {
            t[n++] = (spec){"model.norm.weight", C, 1, true};
            if (!p->tie) t[n++] = (spec){"lm_head.weight", V, C, false};
        } else {
            const char *nm[9] = {"input_layernorm.weight", "self_attn.q_proj.weight",
                                 "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                                 "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                                 "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"};
            int64_t rows[9] = {C, HD, KD, KD, C, C, F, F, C}, cols[9] = {1, C, C, C, HD, 1, C, C, F};
            for (int i = 0; i < 9; i++) {
                snprintf(t[n].name, sizeof t[n].name, "model.layers.%lld.%s", (long long)l, nm[i]);
                t[n].r = rows[i], t[n].c = cols[i], t[n].norm = cols[i] == 1, n++;
            }
        }
        for (int i = 0; i < n && !rc; i++) {
            size_t cnt = (size_t)(t[i].r * t[i].c);
            for (size_t k = 0; k < cnt; k++) {
                if (t[i].norm) {
                    at[k] = 1.0f;
                    continue;
                }
                /* Box-Muller from two uniforms */
                double u1 = wd__rng_unit(&s), u2 = wd__rng_unit(&s);
                at[k] = (float)(p->init_std * sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-300)) * cos(6.283185307179586 * u2));
            }
            int64_t shape[2] = {t[i].r, t[i].c};
            rc = wd_safetensors_writer_add(w, t[i].name, WD_DTYPE_F32, shape, t[i].norm ? 1 : 2, at);
            at += cnt;
        }
    }
    char *path = wd__path_join(out, "model.safetensors");
    if (!rc) wd_safetensors_writer_add_metadata(w, "format", "pt");
    if (!rc) rc = path ? wd_safetensors_writer_write(w, path) : wd__fail(WD_ERR_NOMEM, "out of memory");
    free(path), free(mem);
    wd_safetensors_writer_free(w);
    return rc;
}
