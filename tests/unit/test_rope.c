/*
 * tests/unit/test_rope.c - rotary embedding values and layouts.
 *
 *   - a tiny case (D = 4, one head) worked out by hand for both layouts;
 *   - the two layouts agree through the permutation that Hugging Face's
 *     convert_llama_weights_to_hf.py applies to q/k weights: within each
 *     head, row s*D/2 + i of the rotate-half layout is row 2i + s of the
 *     interleaved one. If W_hf = P W_meta then q_hf = P q_meta, so
 *     rope_half(P q) must equal P rope_interleaved(q), bit for bit;
 *   - the backward undoes the forward (rotation by -angle);
 *   - inv_freq: the default and linear rules against the formula in double,
 *     llama3's three bands, and bad parameters rejected.
 * Values from PyTorch are checked in test_ops_torch.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_rope_by_hand(void **state) {
    wd_rope_params p = wd_rope_params_default();
    p.head_dim = 4;
    float inv[2], c[2], s[2], out[4];
    int32_t pos = 1;
    assert_int_equal(wd_rope_inv_freq(inv, &p), WD_OK);
    assert_true(inv[0] == 1.0f);                       /* 10000^0 */
    assert_float_equal(inv[1], 0.01, 1e-9);           /* 10000^(-2/4) */
    wd_rope_table(c, s, inv, &pos, 1, 4);
    const float x[4] = {1, 2, 3, 4};
    double c0 = cos(1.0), s0 = sin(1.0), c1 = cos((double)inv[1]), s1 = sin((double)inv[1]);

    /* rotate-half: pairs (0,2) at angle 1 and (1,3) at angle 0.01 */
    double half[4] = {1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1};
    /* interleaved: pairs (0,1) at angle 1 and (2,3) at angle 0.01 */
    double inter[4] = {1 * c0 - 2 * s0, 2 * c0 + 1 * s0, 3 * c1 - 4 * s1, 4 * c1 + 3 * s1};
    wd_op_rope_fwd(out, x, c, s, 1, 1, 4, WD_ROPE_HALF, NULL);
    for (int i = 0; i < 4; i++) assert_float_equal(out[i], half[i], 1e-6);
    wd_op_rope_fwd_ref(out, x, c, s, 1, 1, 4, WD_ROPE_HALF);
    for (int i = 0; i < 4; i++) assert_float_equal(out[i], half[i], 1e-6);
    wd_op_rope_fwd(out, x, c, s, 1, 1, 4, WD_ROPE_INTERLEAVED, NULL);
    for (int i = 0; i < 4; i++) assert_float_equal(out[i], inter[i], 1e-6);
    wd_op_rope_fwd_ref(out, x, c, s, 1, 1, 4, WD_ROPE_INTERLEAVED);
    for (int i = 0; i < 4; i++) assert_float_equal(out[i], inter[i], 1e-6);

    /* position 0 is the identity, exactly */
    pos = 0;
    wd_rope_table(c, s, inv, &pos, 1, 4);
    assert_true(c[0] == 1.0f && c[1] == 1.0f && s[0] == 0.0f && s[1] == 0.0f);
    wd_op_rope_fwd(out, x, c, s, 1, 1, 4, WD_ROPE_HALF, NULL);
    assert_memory_equal(out, x, sizeof x);
}

/* half (s*D/2 + i) <- interleaved (2i + s), per head */
static void permute_to_half(float *dst, const float *src, size_t rows, size_t D) {
    for (size_t r = 0; r < rows; r++)
        for (size_t s = 0; s < 2; s++)
            for (size_t i = 0; i < D / 2; i++) dst[r * D + s * D / 2 + i] = src[r * D + 2 * i + s];
}

static void test_rope_layouts(void **state) {
    size_t N = 5, H = 3, D = 16, n = N * H * D;
    uint64_t seed = 99;
    wd_rope_params p = wd_rope_params_default();
    p.head_dim = (int)D;
    p.theta = 500000;
    float inv[8], c[40], s[40];
    int32_t pos[5] = {0, 1, 2, 77, 4000};
    assert_int_equal(wd_rope_inv_freq(inv, &p), WD_OK);
    wd_rope_table(c, s, inv, pos, N, D);
    float *q = malloc(n * 4), *pq = malloc(n * 4), *a = malloc(n * 4), *b = malloc(n * 4),
          *pb = malloc(n * 4);
    wdt_fill_uniform(q, n, -2, 2, &seed);

    /* the permutation as HF's script writes it: view(H, D/2, 2).transpose */
    permute_to_half(pq, q, N * H, D);
    wd_op_rope_fwd(a, pq, c, s, N, H, D, WD_ROPE_HALF, NULL);         /* rope_half(P q)  */
    wd_op_rope_fwd(b, q, c, s, N, H, D, WD_ROPE_INTERLEAVED, NULL);   /* rope_inter(q)   */
    permute_to_half(pb, b, N * H, D);                                /* P rope_inter(q) */
    assert_memory_equal(a, pb, n * 4); /* hence q.k scores agree in both layouts */
    /* backward of forward gives the input back; rotations keep pair norms */
    for (int layout = 0; layout < 2; layout++) {
        float *back = calloc(n, 4);
        wd_op_rope_fwd(a, q, c, s, N, H, D, (wd_rope_layout)layout, NULL);
        wd_op_rope_bwd(back, a, c, s, N, H, D, (wd_rope_layout)layout, NULL);
        for (size_t i = 0; i < n; i++) assert_float_equal(back[i], q[i], 2e-6);
        for (size_t r = 0; r < N * H; r++) {
            double nq = 0, na = 0;
            for (size_t i = 0; i < D; i++) nq += (double)q[r * D + i] * q[r * D + i], na += (double)a[r * D + i] * a[r * D + i];
            assert_float_equal(na, nq, 1e-5 * nq);
        }
        free(back);
    }
    free(q), free(pq), free(a), free(b), free(pb);
}

static void test_rope_inv_freq(void **state) {
    wd_rope_params p = wd_rope_params_default();
    float f[64], g[64];
    p.head_dim = 128;
    p.theta = 500000;
    assert_int_equal(wd_rope_inv_freq(f, &p), WD_OK);
    for (int i = 0; i < 64; i++) {
        double want = pow(500000.0, -(double)(float)(2 * i) / 128.0);
        assert_float_equal(f[i], want, 3e-7 * want);
    }
    /* linear: exactly the default divided by factor (one f32 division) */
    p.scaling = WD_ROPE_SCALING_LINEAR;
    p.factor = 4;
    assert_int_equal(wd_rope_inv_freq(g, &p), WD_OK);
    for (int i = 0; i < 64; i++) assert_true(g[i] == f[i] / 4.0f);
    /* llama3 (Llama 3.1: factor 8, low 1, high 4, 8192): wavelengths below
     * 8192/4 keep their frequency, above 8192/1 are divided by 8, and in
     * between are smoothly interpolated, so the result is monotone */
    p.scaling = WD_ROPE_SCALING_LLAMA3;
    p.factor = 8;
    p.low_freq_factor = 1;
    p.high_freq_factor = 4;
    p.original_max_position_embeddings = 8192;
    assert_int_equal(wd_rope_inv_freq(g, &p), WD_OK);
    int n_high = 0, n_low = 0, n_mid = 0;
    for (int i = 0; i < 64; i++) {
        double wavelen = 2 * M_PI / f[i];
        if (wavelen < 2048) {
            assert_true(g[i] == f[i]);
            n_high++;
        } else if (wavelen > 8192) {
            assert_true(g[i] == f[i] / 8.0f);
            n_low++;
        } else {
            double sm = (8192 / wavelen - 1) / 3;
            double want = (1 - sm) * f[i] / 8 + sm * f[i];
            assert_float_equal(g[i], want, 1e-6 * want);
            assert_true(g[i] < f[i] && g[i] > f[i] / 8.0f);
            n_mid++;
        }
        if (i) assert_true(g[i] < g[i - 1]);
    }
    assert_true(n_high > 0 && n_low > 0 && n_mid > 0);

    /* bad parameters: an error, nothing written */
    float keep[4] = {7, 7, 7, 7};
    wd_rope_params bad = wd_rope_params_default();
    bad.head_dim = 7;
    assert_int_equal(wd_rope_inv_freq(keep, &bad), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "head_dim"));
    bad = wd_rope_params_default();
    bad.theta = 1.0;
    assert_int_equal(wd_rope_inv_freq(keep, &bad), WD_ERR_INVALID_ARG);
    bad = wd_rope_params_default();
    bad.scaling = WD_ROPE_SCALING_LINEAR;
    bad.factor = 0;
    assert_int_equal(wd_rope_inv_freq(keep, &bad), WD_ERR_INVALID_ARG);
    bad = p;
    bad.low_freq_factor = 4;
    assert_int_equal(wd_rope_inv_freq(keep, &bad), WD_ERR_INVALID_ARG);
    bad = p;
    bad.scaling = WD_ROPE_SCALING_DYNAMIC;
    assert_int_equal(wd_rope_inv_freq(keep, &bad), WD_ERR_UNSUPPORTED);
    assert_int_equal(wd_rope_inv_freq(NULL, &p), WD_ERR_INVALID_ARG);
    for (int i = 0; i < 4; i++) assert_true(keep[i] == 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rope_by_hand),
        cmocka_unit_test(test_rope_layouts),
        cmocka_unit_test(test_rope_inv_freq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
