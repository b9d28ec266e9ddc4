/*
 * tests/unit/test_reward_model.c - decoders with a sequence-classification
 * head (reward models: LlamaForSequenceClassification, score.weight, no
 * lm_head) in the runtime.
 *
 * The reference is a twin checkpoint: the same decoder saved as a causal LM
 * whose lm_head rows 0..NL-1 are score.weight's rows. Its logits of the last
 * token, rows 0..NL-1, are score . h_last computed by the LM path (lm_head
 * through the matmul kernels), so wd_model_reward must equal them. Also:
 * chunked prefill (n_batch smaller than the sequence), classify = softmax of
 * the scores, generation and logits refused with a message, a missing or
 * misshapen score.weight named, and a causal LM refused by wd_model_reward.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "testutil.h"
#include "warden/warden.h"

enum { NL = 2 };

static char *g_rm, *g_twin, *g_base;
static const char *g_arch = "LlamaForSequenceClassification";
static size_t g_C, g_V;

/* Copies base's config.json to dir with the reward architecture patched in
 * (num_labels nl). */
static void write_config(const char *dir, bool reward, int nl) {
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", g_base);
    size_t len = 0;
    char *text = mf_read(path, &len);
    assert_non_null(text);
    snprintf(path, sizeof path, "%s/config.json", dir);
    wdt_write_file(path, text, len);
    free(text);
    if (!reward) return;
    cJSON *patch = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(patch, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(g_arch));
    cJSON_AddNumberToObject(patch, "num_labels", nl);
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
}

/* Writes dir/model.safetensors from base's tensors: lm_head dropped and
 * score (rows x C) added (reward), or lm_head's first rows replaced by
 * score (twin). */
static void write_weights(const char *dir, const float *score, int64_t rows, bool reward,
                          bool with_score) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", g_base);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    wd_safetensors_writer *w = NULL;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    float *head = NULL;
    for (size_t t = 0; t < wd_safetensors_n_tensors(st); t++) {
        const wd_tensor_info *ti = wd_safetensors_tensor(st, t);
        if (strcmp(ti->name, "lm_head.weight") == 0) {
            assert_int_equal(ti->dtype, WD_DTYPE_F32);
            g_V = (size_t)ti->shape[0], g_C = (size_t)ti->shape[1];
            if (reward) continue;
            head = malloc(ti->nbytes);
            memcpy(head, ti->data, ti->nbytes);
            memcpy(head, score, (size_t)rows * g_C * sizeof(float));
            assert_int_equal(wd_safetensors_writer_add(w, ti->name, ti->dtype, ti->shape, 2, head), WD_OK);
            continue;
        }
        assert_int_equal(wd_safetensors_writer_add(w, ti->name, ti->dtype, ti->shape, ti->ndim, ti->data),
                         WD_OK);
    }
    if (reward && with_score)
        assert_int_equal(wd_safetensors_writer_add(w, "score.weight", WD_DTYPE_F32,
                                                   (const int64_t[]){rows, (int64_t)g_C}, 2, score),
                         WD_OK);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(wd_safetensors_writer_write(w, path), WD_OK);
    wd_safetensors_writer_free(w);
    wd_safetensors_free(st);
    free(head);
}

static float g_score[4 * 64];

static int setup(void **state) {
    (void)state;
    g_base = mf_make("reward_base", "--family llama --seed 11 --hidden 32 --layers 2 --max-pos 128");
    g_rm = wdt_tmpdir("reward_rm");
    g_twin = wdt_tmpdir("reward_twin");
    /* learn C from the checkpoint first (a throwaway pass), then the score */
    char *probe = wdt_tmpdir("reward_probe");
    write_weights(probe, g_score, 0, true, false);
    free(probe);
    assert_true(g_C > 0 && g_C <= 64);
    uint64_t seed = 5;
    wdt_fill_uniform(g_score, NL * g_C, -0.5f, 0.5f, &seed);
    write_config(g_rm, true, NL);
    write_weights(g_rm, g_score, NL, true, true);
    write_config(g_twin, false, 0);
    write_weights(g_twin, g_score, NL, false, true);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(g_rm), free(g_twin), free(g_base);
    return 0;
}

static wd_context *context(wd_model *m, size_t n_batch) {
    wd_context_params cp = wd_context_params_default();
    cp.n_batch = n_batch;
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    return ctx;
}

/* The reward and the twin's last-token logits over sequence lengths
 * around and across n_batch; returns the largest relative difference. */
static double compare_with_twin(const char *rm_dir, const char *twin_dir) {
    wd_model *rm = mf_load(rm_dir, 1, 0), *lm = mf_load(twin_dir, 1, 0);
    wd_context *rc = context(rm, 8), *lc = context(lm, 0);
    float *logits = malloc(g_V * sizeof *logits);
    int32_t ids[50];
    uint64_t s = 3;
    for (size_t i = 0; i < 50; i++) ids[i] = (int32_t)(wdt_rand(&s) % g_V);
    double worst = 0;
    const size_t lens[] = {1, 2, 7, 8, 9, 31, 50};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        float r[NL];
        /* state left behind by another sequence must not matter */
        assert_int_equal(wd_model_decode(rc, ids + 3, 5, NULL, WD_LOGITS_MODE_NONE), WD_OK);
        assert_int_equal(wd_model_reward(rc, ids, lens[k], r, NL), WD_OK);
        assert_int_equal(wd_context_truncate(lc, 0), WD_OK);
        assert_int_equal(wd_model_decode(lc, ids, lens[k], logits, WD_LOGITS_MODE_LAST), WD_OK);
        for (int j = 0; j < NL; j++)
            worst = fmax(worst, fabs((double)r[j] - logits[j]) / (1.0 + fabs(logits[j])));
    }
    free(logits);
    wd_context_free(rc), wd_context_free(lc);
    wd_model_free(rm), wd_model_free(lm);
    return worst;
}

/* qwen2 (q/k/v biases) and mistral (sliding window) reward models too. */
static void test_other_families(void **state) {
    (void)state;
    const char *fams[] = {"qwen2", "mistral"};
    const char *archs[] = {"Qwen2ForSequenceClassification", "MistralForSequenceClassification"};
    char *base = g_base, *rm = g_rm, *twin = g_twin;
    for (size_t f = 0; f < 2; f++) {
        char args[256];
        snprintf(args, sizeof args, "--family %s --seed 12 --hidden 32 --layers 2 --max-pos 128", fams[f]);
        g_base = mf_make("reward_fam_base", args);
        g_arch = archs[f];
        g_rm = wdt_tmpdir("reward_fam_rm");
        g_twin = wdt_tmpdir("reward_fam_twin");
        write_config(g_rm, true, NL);
        write_weights(g_rm, g_score, NL, true, true);
        write_config(g_twin, false, 0);
        write_weights(g_twin, g_score, NL, false, true);
        double worst = compare_with_twin(g_rm, g_twin);
        print_message("%s: reward vs the twin's logits: max rel diff %.2e\n", fams[f], worst);
        assert_true(worst < 1e-5);
        free(g_base), free(g_rm), free(g_twin);
    }
    g_base = base, g_rm = rm, g_twin = twin;
    g_arch = "LlamaForSequenceClassification";
}

static void test_reward_equals_twin_logits(void **state) {
    (void)state;
    double worst = compare_with_twin(g_rm, g_twin);
    print_message("llama: reward vs the twin's logits: max rel diff %.2e over lengths 1..50\n", worst);
    assert_true(worst < 1e-5);
    wd_model *rm = mf_load(g_rm, 1, 0), *lm = mf_load(g_twin, 1, 0);
    assert_int_equal(wd_model_n_labels(rm), NL);
    assert_int_equal(wd_model_n_labels(lm), 0);
    wd_context *rc = context(rm, 8), *lc = context(lm, 0);
    int32_t ids[20];
    uint64_t s = 3;
    for (size_t i = 0; i < 20; i++) ids[i] = (int32_t)(wdt_rand(&s) % g_V);

    /* classify: the softmax of the scores */
    float probs[NL], lg[NL], r[NL];
    assert_int_equal(wd_model_reward(rc, ids, 20, r, NL), WD_OK);
    assert_int_equal(wd_model_classify(rc, ids, 20, probs, lg, NL), WD_OK);
    double e0 = exp(r[0]), e1 = exp(r[1]);
    assert_float_equal(lg[0], r[0], 1e-6);
    assert_float_equal(probs[0], e0 / (e0 + e1), 1e-6);
    /* embed runs the decoder as any other */
    float ea[64], eb[64];
    assert_int_equal(wd_model_embed(rc, ids, 12, ea, g_C), WD_OK);
    assert_int_equal(wd_model_embed(lc, ids, 12, eb, g_C), WD_OK);
    for (size_t c = 0; c < g_C; c++) assert_float_equal(ea[c], eb[c], 1e-5);
    /* a causal LM has no score head */
    assert_int_equal(wd_model_reward(lc, ids, 4, r, NL), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_model_last_error(lm), "sequence-classification head"));
    assert_int_equal(wd_model_reward(rc, ids, 4, r, 1), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_model_reward(rc, ids, 0, r, NL), WD_ERR_RANGE);
    wd_context_free(rc), wd_context_free(lc);
    wd_model_free(rm), wd_model_free(lm);
}

static void test_no_lm_head_refused(void **state) {
    (void)state;
    wd_model *rm = mf_load(g_rm, 1, 0);
    wd_context *ctx = context(rm, 0);
    int32_t ids[] = {1, 5, 9, 3}, out[8];
    size_t n_out = 99;
    wd_generate_params gp = wd_generate_params_default();
    gp.max_tokens = 4;
    assert_int_equal(wd_model_generate(ctx, ids, 4, &gp, NULL, NULL, out, 8, &n_out), WD_ERR_UNSUPPORTED);
    assert_int_equal(n_out, 0);
    const char *msg = wd_model_last_error(rm);
    print_message("generate: %s\n", msg);
    assert_non_null(strstr(msg, "no LM head"));
    assert_non_null(strstr(msg, "LlamaForSequenceClassification"));
    float *logits = malloc(g_V * 4 * sizeof *logits);
    assert_int_equal(wd_model_decode(ctx, ids, 4, logits, WD_LOGITS_MODE_LAST), WD_ERR_UNSUPPORTED);
    assert_int_equal(wd_model_forward(ctx, ids, 4, logits), WD_ERR_UNSUPPORTED);
    assert_int_equal(wd_model_score(ctx, ids, 4, NULL, NULL, NULL), WD_ERR_UNSUPPORTED);
    assert_int_equal(wd_model_decode(ctx, ids, 4, NULL, WD_LOGITS_MODE_NONE), WD_OK);
    assert_null(wd_context_logits(ctx));
    assert_int_equal(wd_model_decode_branches(ctx, ids, (const size_t[]){0, 2}, (const size_t[]){4}, 1, logits),
                     WD_ERR_UNSUPPORTED);
    free(logits);
    wd_context_free(ctx);
    wd_model_free(rm);
}

static void test_bad_score_tensor(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("reward_bad");
    wd_model *m = NULL;
    /* no score.weight */
    write_config(dir, true, NL);
    write_weights(dir, g_score, NL, true, false);
    assert_int_equal(wd_model_load(dir, NULL, &m), WD_ERR_NOT_FOUND);
    assert_null(m);
    print_message("missing: %s\n", wd_last_error());
    assert_non_null(strstr(wd_last_error(), "'score.weight'"));
    /* score.weight of 3 rows for num_labels 2 */
    write_weights(dir, g_score, 3, true, true);
    assert_int_equal(wd_model_load(dir, NULL, &m), WD_ERR_FORMAT);
    print_message("shape: %s\n", wd_last_error());
    assert_non_null(strstr(wd_last_error(), "'score.weight'"));
    /* one label (a reward model) loads */
    write_config(dir, true, 1);
    write_weights(dir, g_score, 1, true, true);
    assert_int_equal(wd_model_load(dir, NULL, &m), WD_OK);
    assert_int_equal(wd_model_n_labels(m), 1);
    wd_model_free(m);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reward_equals_twin_logits),
        cmocka_unit_test(test_other_families),
        cmocka_unit_test(test_no_lm_head_refused),
        cmocka_unit_test(test_bad_score_tensor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
