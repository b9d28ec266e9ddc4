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
    int64_t H = wd_model_config_n_head(c), KV = wd_model_config_n_kv_head(c);
    if (wd_model_config_hidden_size(c) <= 0 || H <= 0 || KV <= 0 || wd_model_config_head_dim(c) <= 0 ||
        H % KV != 0 || wd_model_config_num_labels(c) < 1 || wd_model_config_n_layer(c) <= 0)
        abort();
    for (int64_t i = 0; i < wd_model_config_num_labels(c); i++)
        if (!wd_model_config_label(c, i)) abort();
    wd_model_config_free(c);
    return 0;
}
