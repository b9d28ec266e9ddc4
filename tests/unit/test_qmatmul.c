/*
 * tests/unit/test_qmatmul.c - the linear layer on F16 / BF16 / quantized
 * weights (tensor/qmatmul.c) against its reference, for every type, odd
 * shapes (tiles and groups of rows with remainders), with and without bias,
 * serial and on a pool of 3 threads.
 *
 * F16, BF16 and the dequantize-then-dot types must equal the reference up
 * to float summation order. Q8_0, Q4_0 and the K-quants quantize x to int8
 * blocks first:
 * they must equal the reference on the block-rounded x (same rounding rule,
 * done here independently) up to summation order, and stay within the
 * rounding bound sum_b (amax_b / 254) * sum_{c in b} |w_c| of the reference
 * on x itself.
 *
 * CTest runs this five times: as is (AVX-512 VNNI or AVX2 where the CPU
 * has them; N = 1 on 512-bit registers, tensor/qgemv.c; 4+ rows in
 * tensor/qgemm.c's 512-bit tile), with WD_CPU_DISABLE=avx512bw (VNNI on
 * 256-bit registers only), with WD_CPU_DISABLE=avx512vnni (AVX-VNNI where
 * the CPU has it), with WD_CPU_DISABLE=avx512vnni,avxvnni (AVX2 alone) and
 * with WD_CPU_DISABLE=avx2,fma,f16c (the portable C kernels).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/qgemm.h"
#include "tensor/qmatmul.h"
#include "tensor/quant.h"
#include "tensor/threads.h"
#include "tensor/xquant.h"
#include "testutil.h"

static const wd_ggml_type k_types[] = {WD_GGML_TYPE_F16,  WD_GGML_TYPE_BF16, WD_GGML_TYPE_Q8_0, WD_GGML_TYPE_Q4_0,
                                       WD_GGML_TYPE_Q4_1, WD_GGML_TYPE_Q5_0, WD_GGML_TYPE_Q5_1, WD_GGML_TYPE_Q4_K,
                                       WD_GGML_TYPE_Q5_K, WD_GGML_TYPE_Q6_K};

static void *encode(wd_ggml_type t, const float *w, size_t OC, size_t C) {
    size_t rs = wd__qmatmul_row_size(t, C);
    unsigned char *q = malloc(rs * OC);
    assert_non_null(q);
    for (size_t r = 0; r < OC; r++) {
        if (t == WD_GGML_TYPE_F16)
            wd_f32_to_f16((uint16_t *)(q + r * rs), w + r * C, C);
        else if (t == WD_GGML_TYPE_BF16)
            wd_f32_to_bf16((uint16_t *)(q + r * rs), w + r * C, C);
        else
            wd__quantize_ref(t, q + r * rs, w + r * C, C);
    }
    return q;
}

/* x rounded as the int8 paths round it: per 32, d = amax/127, q = round(x/d). */
static void round_x(float *y, const float *x, size_t n) {
    for (size_t b = 0; b < n; b += 32) {
        float amax = 0.0f;
        for (size_t i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[b + i]));
        float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
        for (size_t i = 0; i < 32; i++) y[b + i] = d * roundf(x[b + i] * id);
    }
}

/* When set, check_type's x has exact rounding ties in every block (amax
 * 127, so d = 1 and the other values sit on k + 0.5): the int8 paths must
 * round them away from zero, as roundf. */
static bool g_ties;

static void make_ties(float *x, size_t n) {
    for (size_t c = 0; c < n; c++) x[c] = c % 32 == 5 ? (c % 64 ? 127.0f : -127.0f) : (float)((int)(c % 9) - 4) + 0.5f;
}

static void check_type(wd_ggml_type t, size_t N, size_t C, size_t OC, bool with_bias,
                       wd_threadpool *tp, uint64_t *seed) {
    float *w = malloc(OC * C * sizeof *w), *x = malloc(N * C * sizeof *x);
    float *xr = malloc(N * C * sizeof *xr), *wd = malloc(OC * C * sizeof *wd);
    float *bias = malloc(OC * sizeof *bias);
    float *got = malloc(N * OC * sizeof *got), *want = malloc(N * OC * sizeof *want);
    float *want_r = malloc(N * OC * sizeof *want_r);
    wdt_fill_uniform(w, OC * C, -1.0f, 1.0f, seed);
    wdt_fill_uniform(x, N * C, -2.0f, 2.0f, seed);
    wdt_fill_uniform(bias, OC, -1.0f, 1.0f, seed);
    if (g_ties) make_ties(x, N * C);
    void *q = encode(t, w, OC, C);
    size_t rs = wd__qmatmul_row_size(t, C);
    for (size_t r = 0; r < OC; r++) {  // the weights as stored, widened
        if (t == WD_GGML_TYPE_F16)
            wd_f16_to_f32(wd + r * C, (const uint16_t *)((unsigned char *)q + r * rs), C);
        else if (t == WD_GGML_TYPE_BF16)
            wd_bf16_to_f32(wd + r * C, (const uint16_t *)((unsigned char *)q + r * rs), C);
        else
            wd__dequantize(t, wd + r * C, (unsigned char *)q + r * rs, C);
    }
    const float *b = with_bias ? bias : NULL;
    assert_int_equal(wd__qmatmul(got, x, q, t, b, N, C, OC, tp), WD_OK);
    assert_int_equal(wd__qmatmul_ref(want, x, q, t, b, N, C, OC), WD_OK);
    bool int8 = t == WD_GGML_TYPE_Q8_0 || t == WD_GGML_TYPE_Q4_0 || t == WD_GGML_TYPE_Q4_K || t == WD_GGML_TYPE_Q5_K ||
                t == WD_GGML_TYPE_Q6_K || wd__qgemm_takes(t, N);
    if (int8) {
        for (size_t n = 0; n < N; n++) round_x(xr + n * C, x + n * C, C);
        assert_int_equal(wd__qmatmul_ref(want_r, xr, q, t, b, N, C, OC), WD_OK);
    }
    for (size_t n = 0; n < N; n++)
        for (size_t oc = 0; oc < OC; oc++) {
            const float *xs = (int8 ? xr : x) + n * C, *wr = wd + oc * C;
            double mag = 0.0, bound = 0.0;
            for (size_t c = 0; c < C; c++) mag += fabs((double)xs[c] * wr[c]);
            float g = got[n * OC + oc];
            float e = (int8 ? want_r : want)[n * OC + oc];
            if (fabs((double)g - e) > 1e-5 * mag + 1e-6)
                fail_msg("%s N=%zu C=%zu OC=%zu row %zu col %zu: %.9g, reference %.9g",
                         wd_ggml_type_name(t), N, C, OC, n, oc, g, e);
            if (!int8) continue;
            for (size_t c0 = 0; c0 < C; c0 += 32) {
                double amax = 0.0, sw = 0.0;
                for (size_t c = c0; c < c0 + 32; c++) {
                    amax = fmax(amax, fabs(x[n * C + c]));
                    sw += fabs(wr[c]);
                }
                bound += amax / 254.0 * sw;
            }
            double d = fabs((double)g - want[n * OC + oc]);
            if (d > bound * 1.0001 + 1e-5 * mag + 1e-6)
                fail_msg("%s row %zu col %zu: off the unrounded product by %g > bound %g",
                         wd_ggml_type_name(t), n, oc, d, bound);
        }
    free(q), free(w), free(x), free(xr), free(wd), free(bias), free(got), free(want), free(want_r);
}

static void test_against_reference(void **state) {
    (void)state;
    wd_threadpool *tp = NULL;
    assert_int_equal(wd_threadpool_new(3, &tp), WD_OK);
    wd__threads_set_min_work(0);
    uint64_t seed = 42;
    const size_t Ns[] = {1, 3, 4, 9, 13};
    for (size_t i = 0; i < sizeof k_types / sizeof *k_types; i++) {
        wd_ggml_type t = k_types[i];
        size_t blk = t == WD_GGML_TYPE_F16 || t == WD_GGML_TYPE_BF16 ? 1 : wd_ggml_type_block_size(t);
        size_t C = blk >= 256 ? 512 : 96;
        for (size_t k = 0; k < sizeof Ns / sizeof *Ns; k++) {
            wd__threads_set_spin(tp, k % 2 ? 50000 : 0); /* polling and sleeping pools */
            check_type(t, Ns[k], C, 19, k % 2 == 0, tp, &seed);
            check_type(t, Ns[k], C, 8, k % 2 == 1, NULL, &seed);
        }
    }
    check_type(WD_GGML_TYPE_F16, 2, 13, 5, true, tp, &seed);  // C not a multiple of 8
    /* tensor/qgemm.c's blocking: C over one slice (2048) and not a
     * multiple of its 64-element chunks, N over one block of rows (128) */
    check_type(WD_GGML_TYPE_Q4_0, 131, 2080, 9, true, tp, &seed);
    check_type(WD_GGML_TYPE_Q6_K, 6, 2304, 7, false, tp, &seed);
    check_type(WD_GGML_TYPE_Q5_1, 5, 4128, 6, true, NULL, &seed);
    /* K-quant chunks past the first slice; fewer 4-row tiles than threads */
    check_type(WD_GGML_TYPE_Q4_K, 13, 2304, 5, true, tp, &seed);
    check_type(WD_GGML_TYPE_Q5_K, 13, 2304, 3, false, tp, &seed);
    /* the 512-bit VNNI kernel's tiles of 32 weight rows (several, the last
     * partial; fewer tiles than threads), its 1024-element slices and its
     * groups of 4 rows of x with a partial last one */
    check_type(WD_GGML_TYPE_Q8_0, 7, 1120, 70, true, tp, &seed);
    check_type(WD_GGML_TYPE_Q4_0, 10, 96, 33, false, tp, &seed);
    check_type(WD_GGML_TYPE_Q6_K, 5, 1280, 40, true, tp, &seed);
    check_type(WD_GGML_TYPE_Q4_K, 6, 1280, 64, false, NULL, &seed);
    check_type(WD_GGML_TYPE_Q5_0, 9, 2080, 35, true, tp, &seed);
    wd__threads_set_min_work(16384);
    wd_threadpool_free(tp);
}

/* Decoding (N = 1) takes the one-row kernels (tensor/qgemv.c with AVX-512
 * VNNI, else qmatmul.c's): rows of several 8-block groups plus a tail,
 * exactly one group, odd OC, every int8 type, x with rounding ties. */
static void test_one_row(void **state) {
    (void)state;
    wd_threadpool *tp = NULL;
    assert_int_equal(wd_threadpool_new(2, &tp), WD_OK);
    wd__threads_set_min_work(0);
    uint64_t seed = 7;
    const wd_ggml_type types[] = {WD_GGML_TYPE_Q8_0, WD_GGML_TYPE_Q4_0, WD_GGML_TYPE_Q4_K, WD_GGML_TYPE_Q5_K,
                                  WD_GGML_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        bool k = wd_ggml_type_block_size(types[i]) == 256;
        const size_t Cs[] = {k ? 768 : 608, 256, k ? 2304 : 1056};
        for (size_t j = 0; j < sizeof Cs / sizeof *Cs; j++) {
            check_type(types[i], 1, Cs[j], 19, j % 2 == 0, tp, &seed);
            check_type(types[i], 1, Cs[j], 7, j % 2 == 1, NULL, &seed);
        }
        g_ties = true;
        check_type(types[i], 1, Cs[0], 5, false, tp, &seed);
        g_ties = false;
    }
    wd__threads_set_min_work(16384);
    wd_threadpool_free(tp);
}

static void test_zero_blocks_and_extremes(void **state) {
    (void)state;
    /* x with an all-zero block (scale 0) and one dominated by a single
     * value; Q8_0 weights of -128 (legal in the format, never written by
     * the quantizer) must not overflow the 16-bit pair sums. */
    const size_t C = 64, OC = 3;
    float x[64] = {0};
    for (size_t c = 32; c < 64; c++) x[c] = c == 40 ? 1000.0f : 0.001f * (float)c;
    unsigned char w[3 * 68];
    memset(w, 0, sizeof w);
    for (size_t r = 0; r < OC; r++)
        for (size_t b = 0; b < 2; b++) {
            unsigned char *blk = w + r * 68 + b * 34;
            uint16_t one = 0x3C00;  // 1.0 in binary16
            memcpy(blk, &one, 2);
            for (size_t i = 0; i < 32; i++) blk[2 + i] = (unsigned char)(r == 0 ? 0x80 : (i * 7 + r) & 0xFF);
        }
    float got[3], want[3];
    assert_int_equal(wd__qmatmul(got, x, w, WD_GGML_TYPE_Q8_0, NULL, 1, C, OC, NULL), WD_OK);
    assert_int_equal(wd__qmatmul_ref(want, x, w, WD_GGML_TYPE_Q8_0, NULL, 1, C, OC), WD_OK);
    for (size_t r = 0; r < OC; r++) {
        double mag = 0.0;
        for (size_t c = 0; c < C; c++) mag += fabs(x[c]) * 128.0;
        assert_true(fabs(got[r] - want[r]) <= mag / 254.0 + 1e-3);
    }
    assert_true(got[0] < -1000.0f * 128.0f * 0.99f);
    /* the same weights against 16 rows of x: the int8 GEMM (on AVX2 alone,
     * Q8_0's |q| = 128 times x's 127 in a 16-bit pair sum) */
    enum { NR = 16 };
    float *xs = malloc(NR * C * sizeof *xs), gs[NR * 3], ws[NR * 3];
    assert_non_null(xs);
    for (size_t n = 0; n < NR; n++)
        for (size_t c = 0; c < C; c++) xs[n * C + c] = n % 2 ? -x[c] : (c % 3 ? 1.0f : -1.0f);
    assert_int_equal(wd__qmatmul(gs, xs, w, WD_GGML_TYPE_Q8_0, NULL, NR, C, OC, NULL), WD_OK);
    assert_int_equal(wd__qmatmul_ref(ws, xs, w, WD_GGML_TYPE_Q8_0, NULL, NR, C, OC), WD_OK);
    for (size_t n = 0; n < NR; n++)
        for (size_t r = 0; r < OC; r++) {
            double mag = 0.0;
            for (size_t c = 0; c < C; c++) mag += fabs(xs[n * C + c]) * 128.0;
            assert_true(fabs(gs[n * OC + r] - ws[n * OC + r]) <= mag / 254.0 + 1e-3);
        }
    free(xs);
}

/* Every code at its largest (all bytes 0xFF: nibbles 15, fifth bits set,
 * Q6_K's 63) against x of one sign throughout (q = 127 everywhere): the
 * int8 GEMM's 16-bit sums are at their bound (AVX2 adds up to 8 steps of
 * maddubs before widening: 2 * 15 * 127 * 8 = 30480 for the 4-bit types)
 * and must still equal the reference. */
static void test_largest_codes(void **state) {
    (void)state;
    static const struct {
        wd_ggml_type t;
        size_t       f16_at[2], n_f16; /* offsets of the block's f16 scales */
    } T[] = {
        {WD_GGML_TYPE_Q4_0, {0}, 1},    {WD_GGML_TYPE_Q4_1, {0, 2}, 2}, {WD_GGML_TYPE_Q5_0, {0}, 1},
        {WD_GGML_TYPE_Q5_1, {0, 2}, 2}, {WD_GGML_TYPE_Q4_K, {0, 2}, 2}, {WD_GGML_TYPE_Q5_K, {0, 2}, 2},
        {WD_GGML_TYPE_Q6_K, {208}, 1},
    };
    enum { NR = 16, C = 512, OC = 5 };
    float *x = malloc(NR * C * sizeof *x), *got = malloc(NR * OC * sizeof *got), *want = malloc(NR * OC * sizeof *want);
    assert_non_null(x);
    for (size_t n = 0; n < NR; n++)
        for (size_t c = 0; c < C; c++) x[n * C + c] = n % 2 ? -1.0f : 1.0f;
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        size_t bs = wd_ggml_type_block_size(T[i].t), rs = wd__qmatmul_row_size(T[i].t, C), bb = rs / (C / bs);
        unsigned char *w = malloc(OC * rs);
        memset(w, 0xFF, OC * rs);
        const uint16_t one = 0x3C00; /* 1.0 in binary16 */
        for (size_t b = 0; b < OC * rs / bb; b++)
            for (size_t k = 0; k < T[i].n_f16; k++) memcpy(w + b * bb + T[i].f16_at[k], &one, 2);
        assert_int_equal(wd__qmatmul(got, x, w, T[i].t, NULL, NR, C, OC, NULL), WD_OK);
        assert_int_equal(wd__qmatmul_ref(want, x, w, T[i].t, NULL, NR, C, OC), WD_OK);
        float *deq = malloc(C * sizeof *deq);
        for (size_t r = 0; r < OC; r++) {
            wd__dequantize(T[i].t, deq, w + r * rs, C);
            double mag = 0;
            for (size_t c = 0; c < C; c++) mag += fabs(deq[c]);
            for (size_t n = 0; n < NR; n++)
                if (fabs((double)got[n * OC + r] - want[n * OC + r]) > 1e-5 * mag + 1e-4)
                    fail_msg("%s row %zu x %zu: %.9g, reference %.9g", wd_ggml_type_name(T[i].t), r, n,
                             got[n * OC + r], want[n * OC + r]);
        }
        free(deq);
        free(w);
    }
    free(x), free(got), free(want);
}

/* The x quantizer this CPU picks equals the portable one, value for value:
 * random blocks, blocks of exact ties (k + 0.5 steps), zeros, one spike. */
static void test_x_quantizer(void **state) {
    (void)state;
    wd__xq_fn xq = wd__xq_pick();
    uint64_t seed = 7;
    float x[32];
    for (int round = 0; round < 2000; round++) {
        if (round % 4 == 3) {
            for (int i = 0; i < 32; i++) x[i] = (float)((i * 37 + round) % 255 - 127) * 0.5f; /* ties: amax 127 */
            x[round % 32] = round % 8 == 3 ? -127.0f : 127.0f;
        } else if (round == 1) {
            memset(x, 0, sizeof x);
        } else if (round == 2) {
            for (int i = 0; i < 32; i++) x[i] = i == 5 ? 3e4f : 1e-3f * (float)i;
        } else {
            wdt_fill_uniform(x, 32, -3.0f, 3.0f, &seed);
        }
        int8_t q0[32], q1[32];
        int s0[2], s1[2];
        float d0 = wd__xq_block_ref(q0, x, s0), d1 = xq(q1, x, s1);
        assert_true(d0 == d1);
        assert_memory_equal(q0, q1, 32);
        assert_int_equal(s0[0], s1[0]);
        assert_int_equal(s0[1], s1[1]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_one_row),
        cmocka_unit_test(test_zero_blocks_and_extremes),
        cmocka_unit_test(test_largest_codes),
        cmocka_unit_test(test_x_quantizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
