/*
 * tests/unit/test_model_gemma.c - Gemma 2 / Gemma 3 beyond the golden
 * fixtures (test_model_golden.c holds those): config.json's defaults and
 * layer patterns as Gemma2Config / Gemma3TextConfig define them, bad keys
 * refused with the field named, the KV cache (chunked prefill, one token at
 * a time) and branches agreeing with one full pass across sliding windows
 * and both rotary tables, and the paths that would compute the wrong thing
 * for Gemma (editable weights, training, ablation written
 * into weights) refusing it.
 */
#include "model/config_internal.h"
#include "model_fixture.h"
#include "train/tdec.h"

/* ==== config.json ========================================================= */

static wd_model_config *parse(const char *json, wd_status want) {
    wd_model_config *c = NULL;
    wd_status rc = wd_model_config_parse(json, strlen(json), "test/config.json", &c);
    if (rc != want) fail_msg("parse: status %d, expected %d (%s)", rc, want, wd_last_error());
    return c;
}

#define G2 "\"model_type\":\"gemma2\",\"vocab_size\":16,\"hidden_size\":8,\"intermediate_size\":16,"
#define G3 "\"model_type\":\"gemma3_text\",\"vocab_size\":16,\"hidden_size\":8,\"intermediate_size\":16,"

static void test_config_defaults(void **s) {
    (void)s;
    wd_model_config *c = parse("{" G2 "\"num_hidden_layers\":4,\"num_attention_heads\":4}", WD_OK);
    assert_true(c->gemma && !c->qk_norm);
    assert_int_equal(c->n_kv_head, 4);
    assert_int_equal(c->head_dim, 256);
    assert_true(c->tie_word_embeddings);
    assert_int_equal(c->hidden_act, WD_ACT_GELU_TANH);
    assert_int_equal(c->max_position_embeddings, 8192);
    assert_int_equal(c->pad_token_id, 0);
    assert_int_equal(c->bos_token_id, 2);
    assert_int_equal(c->eos_token_ids[0], 1);
    assert_true(c->query_pre_attn_scalar == 256 && c->attn_logit_softcapping == 50 &&
                c->final_logit_softcapping == 30);
    assert_int_equal(c->sliding_window, 4096);
    assert_true(c->rope_theta == 10000 && c->rope_local_theta == 0);
    for (int l = 0; l < 4; l++) /* even layers slide */
        assert_int_equal(wd__config_layer_window(c, l), l % 2 == 0 ? 4096 : 0);
    assert_false(c->attention_bias || c->attention_out_bias || c->mlp_bias);
    wd_model_config_free(c);

    /* null: no soft-capping, no window; hidden_act is not Gemma's key */
    c = parse("{" G2 "\"num_hidden_layers\":2,\"num_attention_heads\":2,\"head_dim\":4,"
              "\"num_key_value_heads\":1,\"attn_logit_softcapping\":null,"
              "\"final_logit_softcapping\":null,\"sliding_window\":null,\"hidden_act\":\"silu\"}",
              WD_OK);
    assert_true(c->attn_logit_softcapping == 0 && c->final_logit_softcapping == 0);
    assert_int_equal(wd__config_layer_window(c, 0), 0);
    assert_int_equal(c->hidden_act, WD_ACT_GELU_TANH);
    wd_model_config_free(c);

    /* Gemma 3: every 6th layer global; rope 1e6 / 10000; no soft-capping */
    c = parse("{" G3 "\"num_hidden_layers\":13,\"num_attention_heads\":4,\"head_dim\":4,"
              "\"attn_logit_softcapping\":20.0}",
              WD_OK);
    assert_true(c->gemma && c->qk_norm);
    for (int l = 0; l < 13; l++) assert_int_equal(c->layer_sliding[l], l != 5 && l != 11);
    assert_true(c->rope_theta == 1e6 && c->rope_local_theta == 10000);
    assert_true(c->attn_logit_softcapping == 0 && c->final_logit_softcapping == 0);
    assert_int_equal(c->max_position_embeddings, 131072);
    wd_model_config_free(c);

    /* layer_types wins over the pattern */
    c = parse("{" G3 "\"num_hidden_layers\":3,\"num_attention_heads\":4,\"head_dim\":4,"
              "\"sliding_window_pattern\":2,\"layer_types\":[\"full_attention\","
              "\"full_attention\",\"sliding_attention\"]}",
              WD_OK);
    assert_true(!c->layer_sliding[0] && !c->layer_sliding[1] && c->layer_sliding[2]);
    wd_model_config_free(c);

    /* transformers 5's rope_parameters, per layer type */
    c = parse("{" G3 "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"head_dim\":4,"
              "\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"linear\",\"factor\":8.0,"
              "\"rope_theta\":500000.0},\"sliding_attention\":{\"rope_type\":\"default\","
              "\"rope_theta\":1000.0}}}",
              WD_OK);
    assert_int_equal(c->rope_scaling.type, WD_ROPE_SCALING_LINEAR);
    assert_true(c->rope_scaling.factor == 8.0 && c->rope_theta == 500000 &&
                c->rope_local_theta == 1000);
    wd_model_config_free(c);
}

static void test_config_errors(void **s) {
    (void)s;
    static const struct {
        const char *json, *field;
        wd_status   rc;
    } bad[] = {
        {"{" G3 "\"num_hidden_layers\":3,\"num_attention_heads\":4,\"layer_types\":[\"full_attention\"]}",
         "layer_types", WD_ERR_FORMAT},
        {"{" G3 "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"layer_types\":[\"chunked_attention\"]}",
         "layer_types", WD_ERR_UNSUPPORTED},
        {"{" G3 "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"use_bidirectional_attention\":true}",
         "use_bidirectional_attention", WD_ERR_UNSUPPORTED},
        {"{" G2 "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"attn_logit_softcapping\":-1}",
         "attn_logit_softcapping", WD_ERR_FORMAT},
        {"{" G2 "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"query_pre_attn_scalar\":0}",
         "query_pre_attn_scalar", WD_ERR_FORMAT},
        {"{" G2 "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"sliding_window\":0}",
         "sliding_window", WD_ERR_FORMAT},
        {"{" G3 "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"sliding_window_pattern\":0}",
         "sliding_window_pattern", WD_ERR_FORMAT},
        {"{" G3 "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"rope_parameters\":"
         "{\"sliding_attention\":{\"rope_type\":\"linear\",\"factor\":2,\"rope_theta\":10.0}}}",
         "rope_type", WD_ERR_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        wd_model_config *c = (wd_model_config *)1;
        wd_status rc = wd_model_config_parse(bad[i].json, strlen(bad[i].json), "x/config.json", &c);
        if (rc != bad[i].rc) fail_msg("case %zu: status %d (%s)", i, rc, wd_last_error());
        assert_null(c);
        if (!strstr(wd_last_error(), bad[i].field) || !strstr(wd_last_error(), "x/config.json"))
            fail_msg("case %zu: message '%s' does not name '%s'", i, wd_last_error(), bad[i].field);
    }
}

/* ==== the cache and branches ============================================== */

static const int32_t SEQ[12] = {2, 17, 5, 99, 42, 7, 63, 12, 80, 3, 44, 101};

static float max_diff(const float *a, const float *b, size_t n) {
    float d = 0.0f;
    for (size_t i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

/* window 4 under 12 tokens: one pass == chunks of 5 == one token at a time */
static void test_cache(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    const char *args[] = {"--family gemma2 --seed 3 --layers 3 --head-dim 16 --untie",
                          "--family gemma3 --seed 4 --layers 7 --head-dim 16 --kv-heads 1"};
    const char *patch[] = {"{\"sliding_window\":4,\"attn_logit_softcapping\":2.0,"
                           "\"final_logit_softcapping\":3.0}",
                           "{\"sliding_window\":4,\"rope_scaling\":{\"rope_type\":\"linear\","
                           "\"factor\":8.0}}"};
    for (int f = 0; f < 2; f++) {
        char name[32];
        snprintf(name, sizeof name, "gemma_cache%d", f);
        char *dir = mf_make(name, args[f]);
        cJSON *p = cJSON_Parse(patch[f]);
        mf_patch_config(dir, p);
        cJSON_Delete(p);
        wd_model *m = mf_load(dir, 2, -1);
        size_t V = wd_model_n_vocab(m), T = 12;
        wd_context *full = NULL, *step = NULL, *b5 = NULL;
        wd_context_params cp = wd_context_params_default();
        assert_int_equal(wd_context_new(m, NULL, &full), WD_OK);
        cp.n_batch = 1;
        assert_int_equal(wd_context_new(m, &cp, &step), WD_OK);
        cp.n_batch = 5;
        assert_int_equal(wd_context_new(m, &cp, &b5), WD_OK);
        float *ref = malloc(T * V * sizeof *ref), *got = malloc(T * V * sizeof *got);
        assert_int_equal(wd_model_forward(full, SEQ, T, ref), WD_OK);
        assert_int_equal(wd_model_decode(step, SEQ, T, got, WD_LOGITS_MODE_ALL), WD_OK);
        float d1 = max_diff(got, ref, T * V);
        assert_int_equal(wd_model_decode(b5, SEQ, T, got, WD_LOGITS_MODE_ALL), WD_OK);
        float d5 = max_diff(got, ref, T * V);
        print_message("%s: token by token %.3g, chunks of 5 %.3g\n", args[f], d1, d5);
        assert_true(d1 < 1e-5f && d5 < 1e-5f);
        /* score reads the same soft-capped logits */
        double lp = 0, want = 0;
        assert_int_equal(wd_model_score(full, SEQ, T, &lp, NULL, NULL), WD_OK);
        for (size_t t = 0; t + 1 < T; t++) {
            const float *r = ref + t * V;
            double mx = -INFINITY, sum = 0;
            for (size_t v = 0; v < V; v++) mx = fmax(mx, r[v]);
            for (size_t v = 0; v < V; v++) sum += exp(r[v] - mx);
            want += r[SEQ[t + 1]] - mx - log(sum);
        }
        assert_true(fabs(lp - want) < 1e-3);
        free(ref);
        free(got);
        wd_context_free(full);
        wd_context_free(step);
        wd_context_free(b5);
        wd_model_free(m);
        free(dir);
    }
}

/* Branches over Gemma 3 (two rotary tables, q/k norms, its default window
 * of 512 far away) equal separate passes; a window inside the branches'
 * reach is refused. */
static void test_branches(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("gemma_branch", "--family gemma3 --seed 5 --layers 7 --untie");
    wd_model *m = mf_load(dir, 2, -1);
    size_t V = wd_model_n_vocab(m);
    wd_context *ctx = NULL, *ref = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    assert_int_equal(wd_context_new(m, NULL, &ref), WD_OK);
    assert_int_equal(wd_model_decode(ctx, SEQ, 8, NULL, WD_LOGITS_MODE_NONE), WD_OK);
    const int32_t ids[] = {5, 1, 2, 3, 4, 70, 71, 9, 9, 9};
    const size_t off[] = {0, 1, 5, 7, 10}, fork[] = {8, 3, 0, 5};
    float *lg = malloc(4 * V * sizeof *lg), *lr = malloc(16 * V * sizeof *lr);
    assert_int_equal(wd_model_decode_branches(ctx, ids, off, fork, 4, lg), WD_OK);
    for (size_t b = 0; b < 4; b++) {
        int32_t seq[16];
        memcpy(seq, SEQ, fork[b] * sizeof *seq);
        memcpy(seq + fork[b], ids + off[b], (off[b + 1] - off[b]) * sizeof *seq);
        size_t n = fork[b] + off[b + 1] - off[b];
        assert_int_equal(wd_model_forward(ref, seq, n, lr), WD_OK);
        float d = max_diff(lg + b * V, lr + (n - 1) * V, V);
        if (d >= 1e-4f) fail_msg("branch %zu: max diff %g", b, (double)d);
    }
    wd_context_free(ctx);
    wd_context_free(ref);
    wd_model_free(m);
    free(lg);
    free(lr);
    free(dir);
}

/* ==== what refuses Gemma ================================================== */

static void test_refusals(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("gemma_refuse", "--family gemma2 --seed 6");
    wd_model *m = mf_load(dir, 1, -1);
    assert_int_equal(wd_model_make_writable(m), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_model_last_error(m), "gemma2"));
    wd__tdec d;
    assert_int_equal(wd__tdec_init(&d, m), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd__err_msg(&d.err), "gemma2"));
    wd__tdec_free(&d); /* GGUF writing works: test_gguf_zoo.c */
    wd_model_free(m);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_branches),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
