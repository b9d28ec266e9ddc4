/*
 * tests/unit/test_model_prefill.c - a decoder's long passes (prefill: more
 * than WD_MATMUL_SMALL_N rows, where its projections run through the tiled
 * kernel of tensor/gemm.c) give the logits of the same tokens decoded one
 * at a time (one row: sgemv for F32 weights, tensor/qmatmul.c's one-row
 * kernels for F16/BF16), for weights stored as F32, F16 and BF16, with and
 * without biases, serial and on 3 threads. The golden tests' prompts are
 * shorter than that, so this is what puts the tiled kernel inside a model.
 * It also holds attention.c's multi-row path (blocks of 16 query rows, past
 * a cached prefix, with sliding windows and soft-capping) to its one-row
 * path.
 */
#include <math.h>

#include "model_fixture.h"
#include "tensor/gemm.h"

#define T 40

/* The first p0 tokens are decoded as one pass first, so the long pass
 * starts at n_past = p0 (attention.c's blocks of rows at offsets past it);
 * patch (JSON, or NULL) edits config.json. */
static void check_family_at(const char *args, const char *name, int n_threads, const char *patch, size_t p0) {
    char *dir = mf_make(name, args);
    if (patch) {
        cJSON *p = cJSON_Parse(patch);
        mf_patch_config(dir, p);
        cJSON_Delete(p);
    }
    wd_model *m = mf_load(dir, n_threads, -1);
    const size_t V = wd_model_n_vocab(m);
    int32_t ids[T];
    for (size_t t = 0; t < T; t++) ids[t] = (int32_t)((t * 37 + 11) % V);
    wd_context *full = NULL, *step = NULL;
    assert_int_equal(wd_context_new(m, NULL, &full), WD_OK);
    wd_context_params cp = wd_context_params_default();
    cp.n_batch = 1;
    assert_int_equal(wd_context_new(m, &cp, &step), WD_OK);
    float *ref = malloc(T * V * sizeof *ref), *got = malloc(T * V * sizeof *got);
    if (p0) assert_int_equal(wd_model_decode(full, ids, p0, got, WD_LOGITS_MODE_ALL), WD_OK);
    assert_int_equal(wd_model_decode(full, ids + p0, T - p0, got + p0 * V, WD_LOGITS_MODE_ALL), WD_OK);
    for (size_t t = 0; t < T; t++)
        assert_int_equal(wd_model_decode(step, ids + t, 1, ref + t * V, WD_LOGITS_MODE_LAST), WD_OK);
    double d = 0.0, mag = 0.0;
    for (size_t i = 0; i < T * V; i++) d = fmax(d, fabs((double)got[i] - ref[i])), mag = fmax(mag, fabs(ref[i]));
    print_message("%s, %d threads: prefill of %d vs one at a time: %.3g (logits up to %.3g)\n", name, n_threads,
                  T, d, mag);
    assert_true(mag > 0.0);
    assert_true(d <= 1e-4 * mag);
    free(ref), free(got);
    wd_context_free(full), wd_context_free(step);
    wd_model_free(m);
    free(dir);
}

static void check_family(const char *args, const char *name, int n_threads) {
    check_family_at(args, name, n_threads, NULL, 0);
}

static void test_prefill_equals_steps(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    /* matrices of 96 x 96, 200 x 96, 96 x 200, 300 x 96: no dimension a
     * multiple of the tile */
    const char *shape = "--hidden 96 --heads 4 --kv-heads 2 --intermediate 200 --vocab 300 --max-pos 64";
    static const char *const dtypes[] = {"F32", "F16", "BF16"};
    for (size_t i = 0; i < 3; i++) {
        char args[512], name[64];
        snprintf(args, sizeof args, "--family llama --seed %zu --dtype %s %s", 3 + i, dtypes[i], shape);
        snprintf(name, sizeof name, "prefill_llama_%s", dtypes[i]);
        check_family(args, name, 1);
        snprintf(args, sizeof args, "--family qwen2 --seed %zu --dtype %s %s", 7 + i, dtypes[i], shape);
        snprintf(name, sizeof name, "prefill_qwen2_%s", dtypes[i]);
        check_family(args, name, 3);
    }
    /* attention past its first block of 16 query rows: a cache of 7 tokens
     * first, then 33; sliding windows, soft-capping, head dims of 64 and 32
     * (the value sum's 32-wide registers) */
    check_family_at("--family mistral --seed 21 --hidden 128 --heads 2 --kv-heads 1 --intermediate 200 --vocab 300 "
                    "--max-pos 64", "prefill_mistral_window", 3, "{\"sliding_window\":6}", 7);
    check_family_at("--family gemma2 --seed 22 --layers 3 --head-dim 32 --untie", "prefill_gemma2_softcap", 2,
                    "{\"sliding_window\":5,\"attn_logit_softcapping\":2.0,\"final_logit_softcapping\":3.0}", 7);
    check_family_at("--family llama --seed 23 --hidden 128 --heads 2 --kv-heads 2 --intermediate 200 --vocab 300 "
                    "--max-pos 64", "prefill_llama_d64", 1, NULL, 7);
}

int main(void) {
    _Static_assert(T > WD_MATMUL_SMALL_N && T >= WD_GEMM_MIN_N, "the pass must reach the tiled kernel");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefill_equals_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
