/*
 * tests/fuzz/fuzz_config.c - libFuzzer target for config.json parsing
 * (wd_model_config_parse). Accepted configs must satisfy the invariants the
 * model code relies on. How to run it: docs/fuzzing.md.
 */
#include <stdint.h>
#include <stdlib.h>

#include "warden/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_model_config *c = NULL;
    if (wd_model_config_parse((const char *)data, size, "fuzz", &c) != WD_OK) {
        if (c) abort();
        return 0;
    }
    if (c->hidden_size <= 0 || c->n_head <= 0 || c->n_kv_head <= 0 || c->head_dim <= 0 ||
        c->n_head % c->n_kv_head != 0 || c->num_labels < 1 || c->n_layer <= 0)
        abort();
    for (int64_t i = 0; i < c->num_labels; i++)
        if (!c->id2label[i]) abort();
    wd_model_config_free(c);
    return 0;
}
