/*
 * tests/fuzz/fuzz_directions.c - libFuzzer target for the direction file
 * reader of `warden steer` (wd_steer_load_memory): a safetensors file whose
 * metadata and tensors must say what a direction file says. Any input must
 * either be rejected with a message or give a result whose shapes agree
 * with each other and whose chosen layer is in range.
 * How to run it: docs/fuzzing.md.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "warden/weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_steer_result r;
    if (wd_steer_load_memory(data, size, "fuzz", &r) != WD_OK) {
        if (r.dirs || r.layers || !wd_last_error()[0]) abort(); /* failures: nothing kept, a message */
        return 0;
    }
    if (r.layer > r.n_layer || r.n_embd == 0 || !r.dirs || !r.layers || !r.proj[0] || !r.proj[1]) abort();
    double s = 0;
    for (size_t i = 0; i < (r.n_layer + 1) * r.n_embd; i++) s += r.dirs[i];
    for (size_t l = 0; l <= r.n_layer; l++) s += r.proj[0][l] + r.proj[1][l] + r.layers[l].norm;
    (void)s;
    wd_steer_result_free(&r);
    return 0;
}
