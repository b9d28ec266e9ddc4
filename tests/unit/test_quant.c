/*
 * tests/unit/test_quant.c - ggml block formats (tensor/quant.c).
 *
 *   - bit-exact dequantization: tests/fixtures/quant/ggml_blocks.bin holds,
 *     per type, inputs, the blocks ggml's reference quantizer made of them
 *     and the floats ggml's dequantizer made of the blocks (written by
 *     tests/tools/gen_quant_fixtures.c against the llama.cpp snapshot);
 *     warden's dequantization of those blocks must equal them bit for bit;
 *   - warden's quantizers of the 32-blocks are ggml's reference ones: the
 *     same bytes; the K-quants' own scale search must do at least about as
 *     well as ggml's (error within 10% of the fixture's);
 *   - round trips on random data stay within per-type error bounds, and
 *     zeros, constants and extreme blocks come back sane.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/quant.h"
#include "testutil.h"

static const wd_ggml_type k_all[] = {WD_GGML_TYPE_Q8_0, WD_GGML_TYPE_Q4_0, WD_GGML_TYPE_Q4_1, WD_GGML_TYPE_Q5_0,
                                     WD_GGML_TYPE_Q5_1, WD_GGML_TYPE_Q4_K, WD_GGML_TYPE_Q5_K, WD_GGML_TYPE_Q6_K};
#define N_ALL (sizeof k_all / sizeof k_all[0])

static double rel_rmse(const float *x, const float *y, size_t n) {
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

static void test_against_ggml(void **state) {
    (void)state;
    size_t len;
    char *path = NULL;
    asprintf(&path, "%s/quant/ggml_blocks.bin", WD_TEST_FIXTURES);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    int n_types = 0;
    for (;;) {
        uint32_t hdr[2];
        if (fread(hdr, 4, 2, f) != 2) break;
        wd_ggml_type t = (wd_ggml_type)hdr[0];
        size_t n = hdr[1];
        assert_true(wd__quant_supported(t));
        size_t nb = wd__quant_row_size(t, n);
        float *x = malloc(n * 4), *y = malloc(n * 4), *mine = malloc(n * 4);
        unsigned char *q = malloc(nb), *myq = malloc(nb);
        assert_int_equal(fread(x, 4, n, f), n);
        assert_int_equal(fread(q, 1, nb, f), nb);
        assert_int_equal(fread(y, 4, n, f), n);
        /* dequantization: bit for bit */
        wd__dequantize(t, mine, q, n);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++) diff += memcmp(&mine[i], &y[i], 4) != 0;
        if (diff) print_message("%s: %zu of %zu values differ from ggml's\n", wd_ggml_type_name(t), diff, n);
        assert_int_equal(diff, 0);
        /* quantization */
        wd__quantize_ref(t, myq, x, n);
        wd__dequantize(t, mine, myq, n);
        double e_mine = rel_rmse(x, mine, n), e_ggml = rel_rmse(x, y, n);
        print_message("%-5s rel. RMSE warden %.5f ggml %.5f\n", wd_ggml_type_name(t), e_mine, e_ggml);
        if (t == WD_GGML_TYPE_Q4_K || t == WD_GGML_TYPE_Q5_K || t == WD_GGML_TYPE_Q6_K)
            assert_true(e_mine <= 1.10 * e_ggml);
        else
            assert_memory_equal(myq, q, nb);
        free(x), free(y), free(mine), free(q), free(myq);
        n_types++;
    }
    fclose(f);
    free(path);
    (void)len;
    assert_int_equal(n_types, (int)N_ALL);
}

static void test_round_trip_bounds(void **state) {
    (void)state;
    /* bounds on the relative RMSE of uniform data, a little above what
     * each format's step allows (levels: 255, 16, 16, 32, 32, 16, 32, 64) */
    static const double bound[N_ALL] = {0.01, 0.12, 0.10, 0.06, 0.05, 0.10, 0.05, 0.03};
    enum { N = 4096 };
    float *x = malloc(N * 4), *y = malloc(N * 4);
    unsigned char *q = malloc(N * 2);
    uint64_t seed = 7;
    wdt_fill_uniform(x, N, -1.0f, 1.0f, &seed);
    for (size_t i = 0; i < N; i++) x[i] *= 0.01f * (float)(1 + (i / 256) % 7);
    for (size_t k = 0; k < N_ALL; k++) {
        wd__quantize_ref(k_all[k], q, x, N);
        wd__dequantize(k_all[k], y, q, N);
        double e = rel_rmse(x, y, N);
        print_message("%-5s uniform rel. RMSE %.5f (bound %.3f)\n", wd_ggml_type_name(k_all[k]), e, bound[k]);
        assert_true(e < bound[k]);
    }
    free(x), free(y), free(q);
}

static void test_special_blocks(void **state) {
    (void)state;
    enum { N = 256 };
    float x[N], y[N];
    unsigned char q[N * 2];
    for (size_t k = 0; k < N_ALL; k++) {
        wd_ggml_type t = k_all[k];
        /* zeros stay zeros */
        memset(x, 0, sizeof x);
        wd__quantize_ref(t, q, x, N);
        wd__dequantize(t, y, q, N);
        for (int i = 0; i < N; i++) assert_true(y[i] == 0.0f);
        /* a constant and a one-hot block: finite and close */
        for (int i = 0; i < N; i++) x[i] = 0.5f;
        wd__quantize_ref(t, q, x, N);
        wd__dequantize(t, y, q, N);
        for (int i = 0; i < N; i++) assert_true(isfinite(y[i]) && fabsf(y[i] - 0.5f) < 0.05f);
        memset(x, 0, sizeof x);
        x[37] = -3.0f;
        wd__quantize_ref(t, q, x, N);
        wd__dequantize(t, y, q, N);
        assert_true(fabsf(y[37] + 3.0f) < 0.05f);
        for (int i = 0; i < N; i++)
            if (i != 37) assert_true(fabsf(y[i]) < 0.2f);
        /* the largest values fp16 scales hold */
        for (int i = 0; i < N; i++) x[i] = (i % 2 ? 1 : -1) * 1000.0f * (float)(i % 13);
        wd__quantize_ref(t, q, x, N);
        wd__dequantize(t, y, q, N);
        for (int i = 0; i < N; i++) assert_true(isfinite(y[i]));
        assert_true(rel_rmse(x, y, N) < 0.2);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_ggml),
        cmocka_unit_test(test_round_trip_bounds),
        cmocka_unit_test(test_special_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
