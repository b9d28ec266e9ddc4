/*
 * tests/unit/test_gemm.c - the tiled linear layer for many rows of x
 * (tensor/gemm.c) against a product in double, for F32, F16 and BF16
 * weights: shapes that leave remainders everywhere (N, C and OC not
 * multiples of the tile, the panel or a vector; C larger than one block of
 * C when N is large), with and without bias, serial and on a pool of 3
 * threads.
 *
 * Every path computes exact products summed in F32, so each output must be
 * within the bound of recursive float summation, (C + 2) * 2^-24 *
 * (sum |x w| + |bias|), of the double reference on the weights as stored.
 *
 * CTest runs this three times: as is (AVX-512 where the CPU has it), with
 * WD_CPU_DISABLE=avx512f (AVX2) and with WD_CPU_DISABLE=avx2,fma,f16c
 * (portable C).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/gemm.h"
#include "tensor/threads.h"
#include "testutil.h"

static void check(wd_ggml_type t, size_t N, size_t C, size_t OC, bool with_bias, wd_threadpool *tp,
                  uint64_t *seed) {
    float *w = malloc(OC * C * sizeof *w), *x = malloc(N * C * sizeof *x), *bias = malloc(OC * sizeof *bias);
    float *got = malloc(N * OC * sizeof *got);
    uint16_t *h = malloc(OC * C * sizeof *h + 1);
    assert_true(w && x && bias && got && h);
    wdt_fill_uniform(w, OC * C, -1.0f, 1.0f, seed);
    wdt_fill_uniform(x, N * C, -2.0f, 2.0f, seed);
    wdt_fill_uniform(bias, OC, -1.0f, 1.0f, seed);
    const void *wq = w;
    if (t == WD_GGML_TYPE_F16) {  // the weights as stored, and widened back for the reference
        wd_f32_to_f16(h, w, OC * C);
        wd_f16_to_f32_ref(w, h, OC * C);
        wq = h;
    } else if (t == WD_GGML_TYPE_BF16) {
        wd_f32_to_bf16(h, w, OC * C);
        wd_bf16_to_f32_ref(w, h, OC * C);
        wq = h;
    }
    for (size_t i = 0; i < N * OC; i++) got[i] = NAN;  // every output must be written
    const float *b = with_bias ? bias : NULL;
    assert_int_equal(wd__gemm(got, x, wq, t, b, N, C, OC, tp), WD_OK);
    const double u = ldexp(1.0, -24) * (double)(C + 2) * 1.0001;
    for (size_t n = 0; n < N; n++)
        for (size_t oc = 0; oc < OC; oc++) {
            double acc = b ? b[oc] : 0.0, mag = b ? fabs(b[oc]) : 0.0;
            for (size_t c = 0; c < C; c++) {
                double p = (double)x[n * C + c] * w[oc * C + c];
                acc += p, mag += fabs(p);
            }
            double g = got[n * OC + oc];
            if (!(fabs(g - acc) <= u * mag + 1e-30))
                fail_msg("%s N=%zu C=%zu OC=%zu%s row %zu col %zu: %.9g, reference %.9g (bound %.3g)",
                         wd_ggml_type_name(t), N, C, OC, b ? " +bias" : "", n, oc, g, acc, u * mag);
        }
    free(w), free(x), free(bias), free(got), free(h);
}

static const wd_ggml_type k_types[] = {WD_GGML_TYPE_F32, WD_GGML_TYPE_F16, WD_GGML_TYPE_BF16};

static void test_against_reference(void **state) {
    (void)state;
    wd_threadpool *tp = NULL;
    assert_int_equal(wd_threadpool_new(3, &tp), WD_OK);
    wd__threads_set_min_work(0);
    uint64_t seed = 7;
    /* N: below, at and past a vector (8, 16) and a panel (16, 64); C: odd,
     * not a multiple of 16; OC: not a multiple of the 6-row tile, and fewer
     * tiles than threads. */
    const size_t shapes[][3] = {{2, 13, 5},   {7, 33, 1},   {16, 40, 12}, {17, 31, 19}, {63, 100, 7},
                                {64, 16, 6},  {65, 77, 13}, {100, 129, 37}, {129, 50, 2}, {300, 45, 25}};
    for (size_t i = 0; i < sizeof k_types / sizeof *k_types; i++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            const size_t *sh = shapes[s];
            check(k_types[i], sh[0], sh[1], sh[2], s % 2 == 0, tp, &seed);
            check(k_types[i], sh[0], sh[1], sh[2], s % 2 == 1, NULL, &seed);
        }
    wd__threads_set_min_work(16384);
    wd_threadpool_free(tp);
}

/* C longer than one block of C (several partial sums per output: the
 * first adds the bias, later ones add to out). */
static void test_blocks_of_c(void **state) {
    (void)state;
    wd_threadpool *tp = NULL;
    assert_int_equal(wd_threadpool_new(2, &tp), WD_OK);
    uint64_t seed = 11;
    for (size_t i = 0; i < sizeof k_types / sizeof *k_types; i++) {
        check(k_types[i], 300, 1500, 14, true, tp, &seed);
        check(k_types[i], 40, 2600, 9, false, NULL, &seed);
    }
    wd_threadpool_free(tp);
}

/* Enough weight rows for chunks of several tiles (up to the largest, 16)
 * handed to 3 threads, with C over two blocks and a last tile and a last
 * chunk cut short. */
static void test_chunks(void **state) {
    (void)state;
    wd_threadpool *tp = NULL;
    assert_int_equal(wd_threadpool_new(3, &tp), WD_OK);
    wd__threads_set_min_work(0);
    uint64_t seed = 13;
    for (size_t i = 0; i < sizeof k_types / sizeof *k_types; i++) {
        check(k_types[i], 70, 530, 1003, i != 1, tp, &seed);
        check(k_types[i], 20, 300, 2405, i == 1, tp, &seed);
    }
    wd__threads_set_min_work(16384);
    wd_threadpool_free(tp);
}

static void test_unsupported_and_empty(void **state) {
    (void)state;
    float out[6] = {1, 1, 1, 1, 1, 1}, x[2] = {1, 2}, bias[3] = {0.5f, -1, 2};
    unsigned char w[64] = {0};
    assert_int_equal(wd__gemm(out, x, w, WD_GGML_TYPE_Q8_0, NULL, 2, 32, 1, NULL), WD_ERR_UNSUPPORTED);
    assert_false(wd__gemm_supported(WD_GGML_TYPE_Q4_K));
    const char *off = getenv("WD_CPU_DISABLE");  // the portable run says it is not vectorized
    if (off && strstr(off, "avx2")) assert_false(wd__gemm_vectorized());
    assert_int_equal(wd__gemm(out, x, w, WD_GGML_TYPE_F32, bias, 2, 0, 3, NULL), WD_OK);  // C = 0: the bias
    for (int i = 0; i < 6; i++) assert_true(out[i] == bias[i % 3]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_blocks_of_c),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_unsupported_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
