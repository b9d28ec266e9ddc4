/*
 * tests/unit/test_gguf_zoo.c - `warden quantize` (wd_gguf_convert) for the
 * guard zoo's decoders -- qwen3, granite, phi3, gemma2, gemma3_text -- and warden
 * reading those files back: a generated folder, written as F32, F16 and
 * Q8_0 and Q4_K_M GGUF, gives the folder's logits (F32: within 1e-5;
 * F16 / Q8_0 / Q4_K_M: close, greedy tokens reported and, for F16, equal). Also the names and
 * keys llama.cpp's converter writes (Gemma's 1 + w norms, no output
 * tensor, soft caps, sliding window) and the refusals of what llama.cpp
 * fixes instead of reading. Runs with llama.cpp itself in
 * tests/tools/llamacpp_interop.sh.
 */
#include "model_fixture.h"

#include <math.h>

#include "base/file.h"
#include "model/model_internal.h"
#include "warden/gguf.h"

/* Greedy continuation of ids (n0 of them) by n_new full forwards. */
static void greedy(wd_model *m, const int32_t *ids, size_t n0, size_t n_new, int32_t *out) {
    size_t V = wd_model_n_vocab(m);
    int32_t seq[64];
    memcpy(seq, ids, n0 * sizeof *seq);
    float *lg = malloc((n0 + n_new) * V * sizeof *lg);
    for (size_t k = 0; k < n_new; k++) {
        wd_context *c = NULL;
        assert_int_equal(wd_context_new(m, NULL, &c), WD_OK);
        assert_int_equal(wd_model_forward(c, seq, n0 + k, lg), WD_OK);
        const float *last = lg + (n0 + k - 1) * V;
        int32_t best = 0;
        for (size_t v = 1; v < V; v++)
            if (last[v] > last[best]) best = (int32_t)v;
        seq[n0 + k] = out[k] = best;
        wd_context_free(c);
    }
    free(lg);
}

static float *logits(wd_model *m, const int32_t *ids, size_t T) {
    size_t V = wd_model_n_vocab(m);
    float *lg = malloc(T * V * sizeof *lg);
    wd_context *c = NULL;
    assert_int_equal(wd_context_new(m, NULL, &c), WD_OK);
    assert_int_equal(wd_model_forward(c, ids, T, lg), WD_OK);
    wd_context_free(c);
    return lg;
}

static const char *ZOO[][2] = {
    {"qwen3", "--family qwen3 --seed 3 --head-dim 16"},
    {"granite", "--family granite --seed 4"},
    {"gemma2", "--family gemma2 --seed 5"},
    {"gemma3", "--family gemma3 --seed 6 --layers 7"},
    {"phi3", "--family phi3 --seed 5"},
};

/* phi3 with partial rotary, a window and longrope (Phi-4-mini, Phi-3-128k) */
static const char *PHI3_PATCH =
    "{\"max_position_embeddings\":256,\"original_max_position_embeddings\":64,"
    "\"partial_rotary_factor\":0.75,\"sliding_window\":3,\"rope_scaling\":"
    "{\"type\":\"longrope\",\"short_factor\":[1.0,1.5,3.25],\"long_factor\":[2.0,4.0,8.0]}}";

/* folder -> f32 / f16 / q8_0 .gguf -> the same logits and greedy tokens. */
static void test_roundtrip(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    static const wd_ggml_type types[] = {WD_GGML_TYPE_F32, WD_GGML_TYPE_F16, WD_GGML_TYPE_Q8_0,
                                         WD_GGML_TYPE_Q4_K};
    static const char *tnames[] = {"f32", "f16", "q8_0", "q4_k_m"};
    for (size_t f = 0; f < sizeof ZOO / sizeof ZOO[0]; f++) {
        char name[64], path[1200];
        snprintf(name, sizeof name, "gguf_zoo_%s", ZOO[f][0]);
        char *dir = mf_make(name, ZOO[f][1]);
        if (!strcmp(ZOO[f][0], "phi3")) {
            cJSON *patch = cJSON_Parse(PHI3_PATCH);
            mf_patch_config(dir, patch);
            cJSON_Delete(patch);
        }
        wd_model *a = mf_load(dir, 1, -1);
        int32_t ids[] = {1, 17, 5, 99, 42, 7, 3, 64};
        size_t T = 8, V = wd_model_n_vocab(a);
        float *la = logits(a, ids, T);
        int32_t ga[8], gb[8];
        greedy(a, ids, T, 8, ga);
        for (size_t k = 0; k < 4; k++) {
            snprintf(path, sizeof path, "%s-%s.gguf", dir, tnames[k]);
            wd_gguf_convert_params p = wd_gguf_convert_params_default();
            p.type = types[k];
            p.q4_k_m = k == 3; /* mixed types: phi3's fused matrices differ in type */
            if (wd_gguf_convert(dir, path, &p)) fail_msg("%s: %s", path, wd_last_error());
            wd_model *b = mf_load(path, 1, -1);
            assert_int_equal(wd_model_config_type(wd_model_get_config(b)),
                             wd_model_config_type(wd_model_get_config(a)));
            float *lb = logits(b, ids, T);
            double md = 0, scale = 0;
            for (size_t i = 0; i < T * V; i++) {
                md = fmax(md, fabs((double)la[i] - lb[i]));
                scale = fmax(scale, fabs((double)la[i]));
            }
            greedy(b, ids, T, 8, gb);
            int same = 0;
            for (int i = 0; i < 8; i++) same += ga[i] == gb[i];
            print_message("%-8s %-5s max |logit diff| %.3g (max |logit| %.3g), greedy %d/8 equal\n",
                          ZOO[f][0], tnames[k], md, scale, same);
            if (k == 0) assert_true(md <= 1e-5);
            else if (k == 1) assert_true(md <= 2e-2 * fmax(1.0, scale) && same == 8);
            else if (k == 2) assert_true(md <= 1e-1 * fmax(1.0, scale));
            else assert_true(md <= 2.5e-1 * fmax(1.0, scale));
            free(lb);
            wd_model_free(b);
        }
        free(la);
        wd_model_free(a);
        free(dir);
    }
}

/* What llama.cpp's converter writes for Gemma: gemma2 / gemma3 names, norms
 * as 1 + w, no output tensor, the soft caps and the window. */
static void test_gemma_layout(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("gguf_zoo_gemma_layout", "--family gemma2 --seed 8");
    char path[1200];
    snprintf(path, sizeof path, "%s.gguf", dir);
    wd_gguf_convert_params p = wd_gguf_convert_params_default();
    p.type = WD_GGML_TYPE_F32;
    assert_int_equal(wd_gguf_convert(dir, path, &p), WD_OK);
    wd_gguf *g = NULL;
    wd_checkpoint *ck = NULL;
    assert_int_equal(wd_gguf_open(path, &g), WD_OK);
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    const char *arch;
    assert_int_equal(wd_gguf_get_str(g, "general.architecture", &arch), WD_OK);
    assert_string_equal(arch, "gemma2");
    assert_null(wd_gguf_find_tensor(g, "output.weight"));
    static const char *keys[] = {"gemma2.attn_logit_softcapping", "gemma2.final_logit_softcapping",
                                 "gemma2.attention.sliding_window", "gemma2.attention.key_length",
                                 "gemma2.attention.value_length"};
    for (size_t i = 0; i < 5; i++) assert_non_null(wd_gguf_find_kv(g, keys[i]));
    assert_null(wd_gguf_find_kv(g, "gemma2.attention.scale")); /* query_pre_attn_scalar = head_dim */
    static const char *names[][2] = {
        {"model.layers.0.post_attention_layernorm.weight", "blk.0.post_attention_norm.weight"},
        {"model.layers.0.pre_feedforward_layernorm.weight", "blk.0.ffn_norm.weight"},
        {"model.layers.1.post_feedforward_layernorm.weight", "blk.1.post_ffw_norm.weight"},
        {"model.layers.1.input_layernorm.weight", "blk.1.attn_norm.weight"},
        {"model.norm.weight", "output_norm.weight"},
    };
    for (size_t i = 0; i < 5; i++) {
        const wd_tensor_info *t = wd_checkpoint_find(ck, names[i][0]);
        const wd_gguf_tensor *u = wd_gguf_find_tensor(g, names[i][1]);
        assert_non_null(t);
        if (!u) fail_msg("no %s", names[i][1]);
        float *x = malloc(t->n_elem * sizeof *x), *y = malloc(t->n_elem * sizeof *y);
        assert_int_equal(wd_tensor_read_f32(t, x, t->n_elem), WD_OK);
        assert_int_equal(wd_gguf_tensor_read_f32(u, y, u->n_elem), WD_OK);
        for (size_t j = 0; j < t->n_elem; j++) assert_true(y[j] == 1.0f + x[j]);
        free(x);
        free(y);
    }
    wd_checkpoint_free(ck);
    wd_gguf_free(g);
    free(dir);
}

/* Gemma configurations beyond the generator's defaults: a
 * query_pre_attn_scalar llama.cpp would not assume (written as
 * <arch>.attention.scale), Gemma 3's linear scaling of its global layers,
 * and gemma3 with final soft-capping. */
static void test_gemma_keys(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    static const char *cases[][3] = {
        {"--family gemma2 --seed 21", "{\"query_pre_attn_scalar\":20}", "gemma2.attention.scale"},
        {"--family gemma3 --seed 22 --layers 7",
         "{\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":8.0},\"final_logit_softcapping\":5.0}",
         "gemma3.rope.scaling.factor"},
    };
    for (size_t i = 0; i < 2; i++) {
        char name[64], path[1200];
        snprintf(name, sizeof name, "gguf_zoo_gemma_keys_%zu", i);
        char *dir = mf_make(name, cases[i][0]);
        cJSON *patch = cJSON_Parse(cases[i][1]);
        mf_patch_config(dir, patch);
        cJSON_Delete(patch);
        snprintf(path, sizeof path, "%s.gguf", dir);
        wd_gguf_convert_params p = wd_gguf_convert_params_default();
        p.type = WD_GGML_TYPE_F32;
        if (wd_gguf_convert(dir, path, &p)) fail_msg("%s: %s", path, wd_last_error());
        wd_gguf *g = NULL;
        assert_int_equal(wd_gguf_open(path, &g), WD_OK);
        if (!wd_gguf_find_kv(g, cases[i][2])) fail_msg("%s: no key %s", path, cases[i][2]);
        wd_gguf_free(g);
        wd_model *a = mf_load(dir, 1, -1), *b = mf_load(path, 1, -1);
        const wd_model_config *ca = wd_model_get_config(a), *cb = wd_model_get_config(b);
        assert_true(fabs(ca->query_pre_attn_scalar - cb->query_pre_attn_scalar) < 1e-4);
        assert_int_equal(ca->rope_scaling.type, cb->rope_scaling.type);
        assert_true(ca->final_logit_softcapping == cb->final_logit_softcapping);
        int32_t ids[] = {1, 17, 5, 99, 42, 7, 3, 64};
        size_t T = 8, V = wd_model_n_vocab(a);
        float *la = logits(a, ids, T), *lb = logits(b, ids, T);
        double md = 0;
        for (size_t j = 0; j < T * V; j++) md = fmax(md, fabs((double)la[j] - lb[j]));
        print_message("%s %s: max |logit diff| %.3g\n", cases[i][0], cases[i][1], md);
        assert_true(md <= 1e-5);
        free(la);
        free(lb);
        wd_model_free(a);
        wd_model_free(b);
        free(dir);
    }
}

/* What llama.cpp fixes instead of reading is refused, not written wrong. */
static void test_refusals(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    static const char *cases[][3] = {
        {"--family gemma2 --seed 9", "{\"layer_types\":[\"full_attention\",\"sliding_attention\"]}",
         "layer_types"},
        {"--family gemma2 --seed 9", "{\"final_logit_softcapping\":null}", "soft"},
        {"--family gemma3 --seed 9", "{\"rope_local_base_freq\":5000}", "rope_local_base_freq"},
        {"--family gemma2 --seed 9", "{\"sliding_window\":null}", "sliding_window"},
        {"--family phi3 --seed 9 --hidden 64 --heads 4", "{\"head_dim\":8}", "head_dim"},
        {"--family bert --seed 9", "{}", "bert"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64], path[1200];
        snprintf(name, sizeof name, "gguf_zoo_refuse_%zu", i);
        char *dir = mf_make(name, cases[i][0]);
        cJSON *patch = cJSON_Parse(cases[i][1]);
        mf_patch_config(dir, patch);
        cJSON_Delete(patch);
        snprintf(path, sizeof path, "%s.gguf", dir);
        wd_status rc = wd_gguf_convert(dir, path, NULL);
        if (rc != WD_ERR_UNSUPPORTED || !strstr(wd_last_error(), cases[i][2]) ||
            !strstr(wd_last_error(), dir))
            fail_msg("case %zu: %s '%s'", i, wd_status_str(rc), wd_last_error());
        assert_false(wd__path_exists(path));
        free(dir);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_gemma_layout),
        cmocka_unit_test(test_gemma_keys),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
