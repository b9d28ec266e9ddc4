/*
 * tests/unit/test_decoder_zoo.c - what qwen3, phi3 and granite add beyond
 * the golden logits (test_model_golden.c): their config.json semantics and
 * errors, phi3's fused matrices bound as views (no copy), longrope's
 * context limit, qwen3 / granite / phi3 read from .gguf files, the refusals of
 * the code that only knows Llama's layout (training,
 * editable weights, affine ablation).
 */
#include "model_fixture.h"

#include "base/file.h"
#include "model/model_internal.h"
#include "train/tdec.h"
#include "warden/weights.h"

static wd_model_config *parse_ok(const char *json) {
    wd_model_config *c = NULL;
    if (wd_model_config_parse(json, strlen(json), "config.json", &c))
        fail_msg("parse failed: %s", wd_last_error());
    return c;
}

static void parse_bad(const char *json, wd_status want, const char *msg) {
    wd_model_config *c = NULL;
    wd_status rc = wd_model_config_parse(json, strlen(json), "m/config.json", &c);
    if (rc != want || !strstr(wd_last_error(), msg) || !strstr(wd_last_error(), "m/config.json"))
        fail_msg("got %s '%s', want %s with '%s'", wd_status_str(rc), wd_last_error(),
                 wd_status_str(want), msg);
    assert_null(c);
}

#define SIZES "\"vocab_size\":100,\"hidden_size\":64,\"intermediate_size\":128," \
              "\"num_hidden_layers\":2,\"num_attention_heads\":4"

/* Qwen3Config's defaults: head_dim 128 and 32 kv heads when absent, no
 * biases, q/k norms always. */
static void test_qwen3_config(void **s) {
    wd_model_config *c = parse_ok("{\"model_type\":\"qwen3\",\"vocab_size\":100,\"hidden_size\":64,"
                                  "\"intermediate_size\":128,\"num_hidden_layers\":2,"
                                  "\"num_attention_heads\":32}");
    assert_int_equal(wd_model_config_head_dim(c), 128);
    assert_int_equal(wd_model_config_n_kv_head(c), 32);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 32768);
    assert_false(wd_model_config_attention_bias(c) || wd_model_config_attention_out_bias(c));
    assert_true(wd_model_config_qk_norm(c) && !wd_model_config_fused_qkv(c));
    wd_model_config_free(c);
    c = parse_ok("{\"model_type\":\"qwen3\"," SIZES ",\"num_key_value_heads\":2,\"head_dim\":32,"
                 "\"attention_bias\":true,\"use_sliding_window\":false,\"sliding_window\":null}");
    assert_int_equal(wd_model_config_head_dim(c), 32);
    assert_true(wd_model_config_attention_bias(c) && wd_model_config_attention_out_bias(c));
    assert_int_equal(wd_model_config_sliding_window(c), 0);
    wd_model_config_free(c);
    /* sliding layers are those from max_window_layers on: some -> refused,
     * none (max_window_layers >= the layer count, the default 28 here) -> runs */
    parse_bad("{\"model_type\":\"qwen3\"," SIZES ",\"num_key_value_heads\":2,"
              "\"use_sliding_window\":true,\"sliding_window\":4096,\"max_window_layers\":1}",
              WD_ERR_UNSUPPORTED, "use_sliding_window");
    c = parse_ok("{\"model_type\":\"qwen3\"," SIZES ",\"num_key_value_heads\":2,"
                 "\"use_sliding_window\":true,\"sliding_window\":4096}");
    assert_int_equal(wd_model_config_sliding_window(c), 0);
    wd_model_config_free(c);
    parse_bad("{\"model_type\":\"qwen3\"," SIZES "}", WD_ERR_FORMAT, "num_key_value_heads");
}

static void test_phi3_config(void **s) {
    wd_model_config *c = parse_ok("{\"model_type\":\"phi3\"," SIZES ",\"sliding_window\":2047}");
    assert_true(wd_model_config_fused_qkv(c) && !wd_model_config_qk_norm(c));
    assert_true(wd_model_config_norm_eps(c) == 1e-5); /* Phi3Config's, not Llama's */
    assert_int_equal(wd_model_config_sliding_window(c), 2047);
    assert_int_equal(wd_model_config_eos_token_id(c, 0), 32000);
    assert_true(wd_model_config_partial_rotary_factor(c) == 1.0 && !c->longrope.on);
    wd_model_config_free(c);
    /* Phi-3-mini-128k's shape: longrope with short/long factors of D/2 */
    c = parse_ok("{\"model_type\":\"phi3\"," SIZES ",\"max_position_embeddings\":131072,"
                 "\"original_max_position_embeddings\":4096,\"partial_rotary_factor\":0.5,"
                 "\"rope_scaling\":{\"type\":\"su\",\"short_factor\":[1,1,1,1],"
                 "\"long_factor\":[2,2,2,2]}}");
    assert_true(c->longrope.on);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 4096);
    assert_string_equal(wd_model_config_rope_scaling(c), "longrope");
    assert_true(fabs(c->longrope.attention_factor - sqrt(1 + log(32.0) / log(4096.0))) < 1e-12);
    wd_model_config_free(c);
    parse_bad("{\"model_type\":\"phi3\"," SIZES ",\"rope_scaling\":{\"type\":\"longrope\","
              "\"short_factor\":[1,1],\"long_factor\":[1,1,1,1,1,1,1,1]}}",
              WD_ERR_FORMAT, "short_factor");
    parse_bad("{\"model_type\":\"phi3\"," SIZES ",\"partial_rotary_factor\":0.1}", WD_ERR_FORMAT,
              "partial_rotary_factor");
    parse_bad("{\"model_type\":\"phi3\"," SIZES ",\"sliding_window\":0}", WD_ERR_FORMAT,
              "sliding_window");
}

static void test_granite_config(void **s) {
    wd_model_config *c = parse_ok("{\"model_type\":\"granite\"," SIZES "}");
    /* GraniteConfig: all four default to 1, attention_multiplier included */
    assert_true(c->embedding_multiplier == 1 && c->attention_multiplier == 1 &&
                c->residual_multiplier == 1 && c->logits_scaling == 1);
    wd_model_config_free(c);
    c = parse_ok("{\"model_type\":\"granite\"," SIZES ",\"embedding_multiplier\":12.0,"
                 "\"attention_multiplier\":0.0078125,\"residual_multiplier\":0.22,"
                 "\"logits_scaling\":16.0,\"attention_bias\":true}");
    assert_true(wd_model_config_embedding_multiplier(c) == 12.0 &&
                wd_model_config_attention_multiplier(c) == 0.0078125 &&
                wd_model_config_residual_multiplier(c) == 0.22 &&
                wd_model_config_logits_scaling(c) == 16.0);
    assert_true(wd_model_config_attention_out_bias(c));
    wd_model_config_free(c);
    parse_bad("{\"model_type\":\"granite\"," SIZES ",\"logits_scaling\":0}", WD_ERR_FORMAT,
              "logits_scaling");
}

/* The fused matrices are read in place: q, k, v and gate, up are row
 * ranges of the two tensors of the file, and nothing is copied. */
static void test_phi3_views(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("zoo_phi3_views", "--family phi3 --seed 5");
    wd_model *m = mf_load(dir, 1, 0);
    assert_int_equal(wd_model_owned_bytes(m), 0);
    const wd__dec_layer *y = &m->dec[1];
    const char *q = y->wq.data;
    size_t row = m->C * sizeof(float);
    assert_ptr_equal(y->wk.data, q + m->H * m->D * row);
    assert_ptr_equal(y->wv.data, q + (m->H + m->KV) * m->D * row);
    assert_ptr_equal(y->w_up.data, (const char *)y->w_gate.data + m->F * row);
    wd_model_free(m);
    free(dir);
}

/* Longrope computes the short-factor regime only: contexts stop at
 * original_max_position_embeddings. */
static void test_phi3_longrope_context(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("zoo_phi3_longrope", "--family phi3 --seed 6");
    cJSON *patch = cJSON_Parse("{\"max_position_embeddings\":256,"
                               "\"original_max_position_embeddings\":32,"
                               "\"rope_scaling\":{\"type\":\"longrope\",\"short_factor\":[1,1,1,1],"
                               "\"long_factor\":[4,4,4,4]}}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    wd_model *m = mf_load(dir, 1, 0);
    wd_context *ctx = NULL;
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = 33;
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_ERR_INVALID_ARG);
    cp.n_ctx = 0;
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    wd_context_free(ctx);
    wd_model_free(m);
    free(dir);
}

/* Code that reads or writes Llama's tensors by name says so instead of
 * computing something else. */
static void test_llama_only_refusals(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    static const char *fams[] = {"qwen3", "phi3", "granite"};
    for (size_t i = 0; i < 3; i++) {
        char name[64], args[64];
        snprintf(name, sizeof name, "zoo_refuse_%s", fams[i]);
        snprintf(args, sizeof args, "--family %s --seed 9", fams[i]);
        char *dir = mf_make(name, args);
        wd_model *m = mf_load(dir, 1, 0);
        wd__tdec d;
        assert_int_equal(wd__tdec_init(&d, m), WD_ERR_UNSUPPORTED);
        assert_non_null(strstr(wd__err_msg(&d.err), fams[i]));
        wd__tdec_free(&d);
        assert_int_equal(wd_model_make_writable(m), WD_ERR_UNSUPPORTED);
        assert_non_null(strstr(wd_model_last_error(m), "editable weights"));
        char out[1200]; /* GGUF writing: test_gguf_zoo.c */
        if (!strcmp(fams[i], "granite")) { /* its embeddings are scaled */
            snprintf(out, sizeof out, "%s_ablated", dir);
            assert_int_equal(wd_steer_ablate(dir, "unused.json", 0, true, out), WD_ERR_UNSUPPORTED);
            assert_non_null(strstr(wd_last_error(), "embedding_multiplier"));
        }
        wd_model_free(m);
        free(dir);
    }
}

/* A .gguf of the generated folder dir as llama.cpp names it (F32; q/k rows
 * left in the rotate-half order), for the GGUF reader of qwen3 and granite. */
static void write_gguf(const char *dir, const char *arch, const char *out) {
    wd_model_config *c = NULL;
    wd_checkpoint *ck = NULL;
    wd_gguf_writer *w = NULL;
    assert_int_equal(wd_model_config_load(dir, &c), WD_OK);
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    assert_int_equal(wd_gguf_writer_new(&w), WD_OK);
    char key[128];
#define U32(k, v) (snprintf(key, sizeof key, "%s.%s", arch, k), wd_gguf_writer_set_u32(w, key, (uint32_t)(v)))
#define F32(k, v) (snprintf(key, sizeof key, "%s.%s", arch, k), wd_gguf_writer_set_f32(w, key, (float)(v)))
    wd_gguf_writer_set_str(w, "general.architecture", arch);
    U32("embedding_length", c->hidden_size);
    U32("feed_forward_length", c->intermediate_size);
    U32("block_count", c->n_layer);
    U32("attention.head_count", c->n_head);
    U32("attention.head_count_kv", c->n_kv_head);
    U32("attention.key_length", c->head_dim);
    U32("context_length", c->max_position_embeddings);
    F32("rope.freq_base", c->rope_theta);
    F32("attention.layer_norm_rms_epsilon", c->norm_eps);
    size_t R = (size_t)((double)c->head_dim * c->partial_rotary_factor);
    int64_t nf = (int64_t)R / 2;
    if (!strcmp(arch, "phi3")) {
        U32("rope.dimension_count", R);
        U32("attention.sliding_window", c->sliding_window);
        U32("rope.scaling.original_context_length", c->longrope.original_max_position_embeddings);
        if (c->longrope.on) {
            F32("rope.scaling.attn_factor", c->longrope.attention_factor);
            wd_gguf_writer_add_tensor(w, "rope_factors_short.weight", WD_GGML_TYPE_F32, &nf, 1,
                                      c->longrope.short_factor);
            wd_gguf_writer_add_tensor(w, "rope_factors_long.weight", WD_GGML_TYPE_F32, &nf, 1,
                                      c->longrope.long_factor);
        }
    }
    if (!strcmp(arch, "granite")) {
        F32("embedding_scale", c->embedding_multiplier);
        F32("attention.scale", c->attention_multiplier);
        F32("residual_scale", c->residual_multiplier);
        F32("logit_scale", c->logits_scaling);
    }
#undef U32
#undef F32
    for (size_t i = 0; i < wd_checkpoint_n_tensors(ck); i++) {
        const wd_tensor_info *t = wd_checkpoint_tensor(ck, i);
        char name[256];
        assert_true(wd__gguf_tensor_name(t->name, name, sizeof name));
        int64_t ne[2] = {t->shape[t->ndim - 1], t->ndim == 2 ? t->shape[0] : 1};
        assert_int_equal(t->dtype, WD_DTYPE_F32);
        assert_int_equal(wd_gguf_writer_add_tensor(w, name, WD_GGML_TYPE_F32, ne, t->ndim, t->data),
                         WD_OK);
    }
    assert_int_equal(wd_gguf_writer_write(w, out), WD_OK);
    wd_gguf_writer_free(w);
    wd_checkpoint_free(ck);
    wd_model_config_free(c);
}

/* qwen3, granite and phi3 .gguf files: the same logits as their folders. */
static void test_gguf_zoo(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    static const char *fams[][2] = {{"qwen3", "--family qwen3 --seed 3 --head-dim 16 --attention-bias"},
                                    {"granite", "--family granite --seed 4"},
                                    {"phi3", "--family phi3 --seed 5"}};
    for (size_t f = 0; f < 3; f++) {
        char name[64], path[1200];
        snprintf(name, sizeof name, "zoo_gguf_%s", fams[f][0]);
        char *dir = mf_make(name, fams[f][1]);
        if (f == 2) { /* partial rotary, window and longrope, as Phi-4-mini / Phi-3-128k */
            cJSON *patch = cJSON_Parse(
                "{\"max_position_embeddings\":256,\"original_max_position_embeddings\":64,"
                "\"partial_rotary_factor\":0.75,\"sliding_window\":3,\"rope_scaling\":"
                "{\"type\":\"longrope\",\"short_factor\":[1.0,1.5,3.25],"
                "\"long_factor\":[2.0,4.0,8.0]}}");
            mf_patch_config(dir, patch);
            cJSON_Delete(patch);
        }
        snprintf(path, sizeof path, "%s.gguf", dir);
        write_gguf(dir, fams[f][0], path);
        wd_model *a = mf_load(dir, 1, -1), *b = mf_load(path, 1, 0);
        assert_int_equal(wd_model_config_type(wd_model_get_config(b)), wd_model_config_type(wd_model_get_config(a)));
        int32_t ids[] = {1, 17, 5, 99, 42, 7};
        size_t T = 6, V = wd_model_n_vocab(a);
        float *la = malloc(T * V * sizeof *la), *lb = malloc(T * V * sizeof *lb);
        wd_context *ca = NULL, *cb = NULL;
        assert_int_equal(wd_context_new(a, NULL, &ca), WD_OK);
        assert_int_equal(wd_context_new(b, NULL, &cb), WD_OK);
        assert_int_equal(wd_model_forward(ca, ids, T, la), WD_OK);
        assert_int_equal(wd_model_forward(cb, ids, T, lb), WD_OK);
        for (size_t i = 0; i < T * V; i++) assert_true(la[i] == lb[i]);
        /* llama.cpp permutes a granite's q/k rows (rope NORM), not a qwen3's */
        assert_int_equal(b->rope_layout, WD_ROPE_LAYOUT_HALF);
        wd_model *d = mf_load(path, 1, -1);
        assert_int_equal(d->rope_layout, f == 1 ? WD_ROPE_LAYOUT_INTERLEAVED : WD_ROPE_LAYOUT_HALF);
        wd_model_free(d);
        wd_context_free(ca);
        wd_context_free(cb);
        wd_model_free(a);
        wd_model_free(b);
        free(la);
        free(lb);
        free(dir);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3_config),
        cmocka_unit_test(test_phi3_config),
        cmocka_unit_test(test_granite_config),
        cmocka_unit_test(test_phi3_views),
        cmocka_unit_test(test_phi3_longrope_context),
        cmocka_unit_test(test_llama_only_refusals),
        cmocka_unit_test(test_gguf_zoo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
