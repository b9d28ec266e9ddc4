/*
 * tests/fuzz/fuzz_safetensors.c - libFuzzer target for the safetensors
 * header parser (wd_safetensors_open_memory). Any input must either be
 * rejected with a message or give tensors whose data lies inside the input;
 * every accepted tensor is then converted to float to touch its bytes.
 * How to run it: docs/fuzzing.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_safetensors *st = NULL;
    if (wd_safetensors_open_memory(data, size, "fuzz", &st) != WD_OK) {
        if (st || !wd_last_error()[0]) abort(); /* failures are NULL + a message */
        return 0;
    }
    for (size_t i = 0; i < wd_safetensors_n_tensors(st); i++) {
        const wd_tensor_info *t = wd_safetensors_tensor(st, i);
        const uint8_t *p = t->data;
        if (t->nbytes && (p < data || p + t->nbytes > data + size)) abort();
        if (wd_safetensors_find(st, t->name) != t) abort();
        if (t->n_elem <= 4096) {
            float *f = malloc(sizeof(float) * (t->n_elem ? t->n_elem : 1));
            if (f && wd_tensor_read_f32(t, f, t->n_elem) != WD_OK) abort();
            free(f);
        }
    }
    for (size_t i = 0; i < wd_safetensors_n_metadata(st); i++) {
        const char *k, *v;
        if (wd_safetensors_metadata(st, i, &k, &v) != WD_OK) abort();
        if (wd_safetensors_metadata_get(st, k) == NULL) abort();
    }
    wd_safetensors_free(st);
    return 0;
}
