/*
 * tests/tools/gen_quant_fixtures.c - block fixtures from ggml itself, for
 * test_quant's bit-exact check of warden's dequantizers. Not part of the
 * build: compile against a llama.cpp build (see /work/shared/tools):
 *
 *   cc -O1 gen_quant_fixtures.c -I$L/src/ggml/include -L$L/bin -lggml -lggml-base \
 *      -Wl,-rpath,$L/bin -lm -o gen && ./gen > ../fixtures/quant/ggml_blocks.bin
 *
 * Output, per type: u32 ggml type, u32 n, n f32 inputs, the quantized
 * bytes (ggml_quantize_chunk, reference quantizers, no importance matrix),
 * n f32 values from ggml's to_float of those bytes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ggml.h"

static uint64_t rng = 88172645463325252ull;
static double uni(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

int main(void) {
    const enum ggml_type types[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0,
                                    GGML_TYPE_Q5_1, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
    enum { N = 512 };
    float x[N], y[N];
    /* ggml_init fills the fp16 table the dequantizers read */
    struct ggml_init_params ip = {.mem_size = 1 << 20, .mem_buffer = NULL, .no_alloc = true};
    struct ggml_context *ctx = ggml_init(ip);
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        /* gaussian-ish values, the scale varying by 32-block, an offset block */
        for (int i = 0; i < N; i++) {
            double g = uni() + uni() + uni() - 1.5;
            double s = 0.02 * (1 + (i / 32) % 5);
            x[i] = (float)(g * s + ((i / 64) == 3 ? 0.05 : 0.0));
        }
        const struct ggml_type_traits *tr = ggml_get_type_traits(types[t]);
        size_t nb = ggml_row_size(types[t], N);
        void *q = calloc(1, nb);
        ggml_quantize_chunk(types[t], x, q, 0, 1, N, NULL);
        tr->to_float(q, y, N);
        uint32_t hdr[2] = {(uint32_t)types[t], N};
        fwrite(hdr, 4, 2, stdout);
        fwrite(x, 4, N, stdout);
        fwrite(q, 1, nb, stdout);
        fwrite(y, 4, N, stdout);
        free(q);
    }
    ggml_free(ctx);
    return 0;
}
