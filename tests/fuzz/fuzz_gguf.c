/*
 * tests/fuzz/fuzz_gguf.c - libFuzzer target for the GGUF reader
 * (wd_gguf_open_memory). Any input must be rejected with a message or give
 * metadata and tensors that stay inside the input: every tensor's data
 * range is checked, small tensors of a convertible type are converted to
 * float, every key is found again by name, arrays are read element by
 * element. When the file has the metadata of a model, the config and the
 * tokenizer are rebuilt from it too (a clean error or an object).
 * How to run it: docs/fuzzing.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "tensor/quant.h"
#include "warden/gguf.h"
#include "warden/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_gguf *g = NULL;
    if (wd_gguf_open_memory(data, size, "fuzz", &g) != WD_OK) {
        if (g || !wd_last_error()[0]) abort();
        return 0;
    }
    for (size_t i = 0; i < wd_gguf_n_tensors(g); i++) {
        const wd_gguf_tensor *t = wd_gguf_tensor_at(g, i);
        const uint8_t *p = t->data;
        if (p < data || t->nbytes > (uint64_t)(data + size - p)) abort();
        if (wd_gguf_find_tensor(g, t->name) != t) abort();
        bool conv = t->type == WD_GGML_TYPE_F32 || t->type == WD_GGML_TYPE_F16 || t->type == WD_GGML_TYPE_BF16 ||
                    t->type == WD_GGML_TYPE_F64 || wd__quant_supported(t->type);
        if (t->n_elem <= 4096) {
            float *f = malloc(sizeof(float) * (t->n_elem ? t->n_elem : 1));
            wd_status rc = f ? wd_gguf_tensor_read_f32(t, f, t->n_elem) : WD_OK;
            if (f && conv && rc != WD_OK) abort();
            free(f);
        }
    }
    for (size_t i = 0; i < wd_gguf_n_kv(g); i++) {
        const wd_gguf_kv *kv = wd_gguf_kv_at(g, i);
        if (wd_gguf_find_kv(g, kv->key) != kv) abort();
        if (kv->type == WD_GGUF_TYPE_ARRAY && kv->elem_type == WD_GGUF_TYPE_STRING)
            for (uint64_t j = 0; j < kv->n; j++)
                if (strlen(kv->strs[j]) > kv->strs_len[j]) abort();
        for (uint64_t j = 0; kv->type == WD_GGUF_TYPE_ARRAY && j < kv->n && j < 64; j++) {
            double v;
            int64_t iv;
            (void)wd_gguf_kv_arr_float(kv, j, &v);
            (void)wd_gguf_kv_arr_int(kv, j, &iv);
        }
    }
    wd_model_config *cfg = NULL;
    if (wd__gguf_load_config(g, &cfg) == WD_OK) wd_model_config_free(cfg);
    wd_tokenizer *tok = NULL;
    if (wd__gguf_load_tokenizer(g, &tok) == WD_OK) {
        wd_encoding *enc = NULL;
        if (wd_tokenizer_encode(tok, "hello world", 11, NULL, &enc) == WD_OK) wd_encoding_free(enc);
        wd_tokenizer_free(tok);
    }
    wd_gguf_free(g);
    return 0;
}
