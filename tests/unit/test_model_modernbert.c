/*
 * tests/unit/test_model_modernbert.c - ModernBERT beyond the golden logits
 * (those are in test_model_golden.c): config.json semantics and errors,
 * the bare ModernBertModel layout, a missing tensor, the local window
 * actually masking, the ModernBERT-shaped tokenizer.json, and train/'s
 * trainable encoder refusing it.
 */
#include "model_fixture.h"
#include "model/model_internal.h"
#include "train/tenc.h"

/* ==== config.json ======================================================== */

static wd_model_config *parse(const char *extra, wd_status want) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"model_type\":\"modernbert\",\"vocab_size\":100,\"hidden_size\":32,"
             "\"intermediate_size\":48,\"num_hidden_layers\":4,\"num_attention_heads\":4%s}",
             extra);
    wd_model_config *c = NULL;
    wd_status st = wd_model_config_parse(json, strlen(json), "m/config.json", &c);
    if (st != want) fail_msg("%s: status %d (%s), want %d", extra, st, wd_last_error(), want);
    return c;
}

static void test_config_defaults(void **s) {
    (void)s;
    /* ModernBertConfig's defaults (ModernBERT-base) */
    wd_model_config *c = parse("", WD_OK);
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_MODERNBERT);
    assert_int_equal(wd_model_config_family(c), WD_MODEL_FAMILY_ENCODER);
    assert_true(wd_model_config_rope_theta(c) == 160000.0);
    assert_true(wd_model_config_local_rope_theta(c) == 10000.0);
    assert_int_equal(wd_model_config_local_attention(c), 128);
    assert_int_equal(wd_model_config_global_attn_every_n_layers(c), 3);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 8192);
    assert_true(wd_model_config_norm_eps(c) == 1e-5);
    assert_string_equal(wd_model_config_hidden_act_name(c), "gelu");
    assert_string_equal(wd_model_config_classifier_pooling(c), "cls");
    assert_false(wd_model_config_attention_bias(c));
    assert_false(wd_model_config_mlp_bias(c));
    assert_true(wd_model_config_tie_word_embeddings(c));
    assert_int_equal(wd_model_config_pad_token_id(c), 50283);
    assert_int_equal(wd_model_config_bos_token_id(c), 50281);
    assert_int_equal(wd_model_config_eos_token_id(c, 0), 50282);
    assert_int_equal(wd_model_config_head_dim(c), 8);
    assert_int_equal(wd_model_config_type_vocab_size(c), 0);
    wd_model_config_free(c);
    /* the older keys, a null local theta (= the global one), mean pooling */
    c = parse(",\"global_rope_theta\":50000,\"local_rope_theta\":null,\"classifier_pooling\":\"mean\"",
              WD_OK);
    assert_true(wd_model_config_rope_theta(c) == 50000.0);
    assert_true(wd_model_config_local_rope_theta(c) == 50000.0);
    assert_string_equal(wd_model_config_classifier_pooling(c), "mean");
    wd_model_config_free(c);
    /* the newer rope_parameters win over the older keys; layer_types agreeing */
    c = parse(",\"global_rope_theta\":50000,\"global_attn_every_n_layers\":2,"
              "\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\","
              "\"sliding_attention\"],\"rope_parameters\":{\"full_attention\":{\"rope_type\":"
              "\"default\",\"rope_theta\":70000},\"sliding_attention\":{\"rope_type\":\"default\","
              "\"rope_theta\":3000}}",
              WD_OK);
    assert_true(wd_model_config_rope_theta(c) == 70000.0);
    assert_true(wd_model_config_local_rope_theta(c) == 3000.0);
    wd_model_config_free(c);
}

static void test_config_errors(void **s) {
    (void)s;
    parse(",\"classifier_pooling\":\"max\"", WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "m/config.json: field 'classifier_pooling'"));
    parse(",\"layer_types\":[\"full_attention\",\"full_attention\",\"sliding_attention\","
          "\"full_attention\"]",
          WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_last_error(), "layer 1"));
    parse(",\"layer_types\":[\"full_attention\"]", WD_ERR_FORMAT);
    parse(",\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":2}", WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_last_error(), "rope_scaling"));
    parse(",\"rope_parameters\":{\"sliding_attention\":{\"rope_type\":\"yarn\"}}",
          WD_ERR_UNSUPPORTED);
    parse(",\"local_attention\":0", WD_ERR_FORMAT);
    parse(",\"global_attn_every_n_layers\":0", WD_ERR_FORMAT);
    parse(",\"hidden_activation\":\"tanhshrink\"", WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_last_error(), "hidden_activation"));
    parse(",\"classifier_activation\":\"nope\"", WD_ERR_UNSUPPORTED);
    parse(",\"norm_eps\":0", WD_ERR_FORMAT);
    parse(",\"num_attention_heads\":5", WD_ERR_FORMAT); /* 32 / 5 */
}

/* ==== checkpoints ======================================================== */

/* Copies the tensors of src/model.safetensors into dst/model.safetensors,
 * renamed by rename (NULL: dropped). */
static void rewrite(const char *src, const char *dst, const char *(*rename)(const char *, char *)) {
    char path[1024], buf[256];
    snprintf(path, sizeof path, "%s/model.safetensors", src);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    wd_safetensors_writer *w = NULL;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    for (size_t t = 0; t < wd_safetensors_n_tensors(st); t++) {
        const wd_tensor_info *ti = wd_safetensors_tensor(st, t);
        const char *name = rename(ti->name, buf);
        if (name)
            assert_int_equal(wd_safetensors_writer_add(w, name, ti->dtype, ti->shape, ti->ndim,
                                                       ti->data),
                             WD_OK);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dst);
    assert_int_equal(wd_safetensors_writer_write(w, path), WD_OK);
    wd_safetensors_writer_free(w);
    wd_safetensors_free(st);
}

/* ModernBertModel saved on its own: no "model." prefix, no head. */
static const char *bare(const char *name, char *buf) {
    if (strncmp(name, "model.", 6)) return NULL;
    snprintf(buf, 256, "%s", name + 6);
    return buf;
}

static const char *drop_attn_norm1(const char *name, char *buf) {
    (void)buf;
    return strcmp(name, "model.layers.1.attn_norm.weight") ? name : NULL;
}

static void embed_of(wd_model *m, const int32_t *ids, size_t n, float *out) {
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    assert_int_equal(wd_model_embed(ctx, ids, n, out, wd_model_n_embd(m)), WD_OK);
    wd_context_free(ctx);
}

static void test_base_model(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    (void)s;
    char *dir = mf_make("mb_cls", "--family modernbert --seed 5 --layers 3");
    char *bdir = mf_make("mb_bare", "--family modernbert --seed 5 --layers 3");
    rewrite(dir, bdir, bare);
    cJSON *patch = cJSON_Parse("{\"architectures\":[\"ModernBertModel\"]}");
    mf_patch_config(bdir, patch);
    cJSON_Delete(patch);
    wd_model *m = mf_load(dir, 1, -1), *b = mf_load(bdir, 1, -1);
    assert_int_equal(wd_model_n_labels(m), 2);
    assert_int_equal(wd_model_n_labels(b), 0);
    const int32_t ids[] = {125, 3, 17, 99, 40, 2, 7, 126};
    float e1[32], e2[32], probs[2];
    embed_of(m, ids, 8, e1);
    embed_of(b, ids, 8, e2);
    assert_memory_equal(e1, e2, sizeof e1); /* the same body, bound without the prefix */
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(b, NULL, &ctx), WD_OK);
    assert_int_equal(wd_model_classify(ctx, ids, 8, probs, NULL, 2), WD_ERR_UNSUPPORTED);
    wd_context_free(ctx);
    wd_model_free(b);

    /* the local window masks: a window wider than the prompt changes the
     * local layers (and so the output), a window of 4 on a 3-token prompt
     * does not */
    char *wdir = mf_make("mb_wide", "--family modernbert --seed 5 --layers 3");
    patch = cJSON_Parse("{\"local_attention\":64}");
    mf_patch_config(wdir, patch);
    cJSON_Delete(patch);
    wd_model *w = mf_load(wdir, 1, -1);
    float e3[32];
    embed_of(w, ids, 8, e3);
    double d = 0.0;
    for (int c = 0; c < 32; c++) d = fmax(d, fabs((double)e3[c] - e1[c]));
    assert_true(d > 1e-3);
    embed_of(m, ids, 3, e1);
    embed_of(w, ids, 3, e3);
    assert_memory_equal(e1, e3, sizeof e1);
    wd_model_free(w);
    wd_model_free(m);
    free(dir);
    free(bdir);
    free(wdir);
}

static void test_missing_tensor(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    (void)s;
    char *dir = mf_make("mb_missing", "--family modernbert --seed 6 --layers 2");
    rewrite(dir, dir, drop_attn_norm1);
    wd_model *m = NULL;
    assert_int_equal(wd_model_load(dir, NULL, &m), WD_ERR_NOT_FOUND);
    assert_null(m);
    assert_non_null(strstr(wd_last_error(), "tensor 'model.layers.1.attn_norm.weight' is missing"));
    free(dir);
    /* a masked-LM checkpoint is refused by its architecture */
    dir = mf_make("mb_mlm", "--family modernbert --seed 6 --layers 2");
    cJSON *patch = cJSON_Parse("{\"architectures\":[\"ModernBertForMaskedLM\"]}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    assert_int_equal(wd_model_load(dir, NULL, &m), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_last_error(), "ModernBertForMaskedLM"));
    free(dir);
}

static void test_train_refuses(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    (void)s;
    char *dir = mf_make("mb_train", "--family modernbert --seed 7 --layers 2");
    wd_model *m = mf_load(dir, 1, -1);
    wd__tenc e;
    assert_int_equal(wd__tenc_init(&e, m), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.err.msg, "ModernBERT"));
    wd__tenc_free(&e);
    wd_model_free(m);
    free(dir);
}

/* ==== tokenizer.json ===================================================== */

static void expect(const wd_tokenizer *t, const char *text, const int32_t *want, size_t n) {
    wd_encoding *e = NULL;
    assert_int_equal(wd_tokenizer_encode(t, text, strlen(text), NULL, &e), WD_OK);
    if (wd_encoding_len(e) != n) fail_msg("'%s': %zu ids, want %zu", text, wd_encoding_len(e), n);
    assert_memory_equal(wd_encoding_ids(e), want, n * sizeof *want);
    wd_encoding_free(e);
}

/* Fixture bpe-modernbert (tests/tools/gen_tokenizer_fixtures.py): ids
 * 0..255 the byte-level characters; merges Ġ t -> 256, h e -> 257,
 * Ġt he -> 258, i s -> 259, Ġ is -> 260; [CLS] 264, [SEP] 265, [MASK] 267
 * (lstrip), "   " 268 (not special); NFC; [CLS] $A [SEP]. */
static void test_tokenizer(void **s) {
    (void)s;
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/bpe-modernbert", WD_TEST_FIXTURES);
    wd_tokenizer *t = NULL;
    if (wd_tokenizer_load(path, &t)) fail_msg("%s", wd_last_error());
    assert_string_equal(wd_tokenizer_model_type(t), "BPE");
    /* "this" -> t h i s -> (i,s) -> t h is; " is" -> Ġ i s -> Ġ is -> Ġis;
     * " the" -> Ġt he -> Ġthe */
    expect(t, "this is the", (const int32_t[]){264, 116, 104, 259, 260, 258, 265}, 7);
    /* the space before [MASK] joins it (lstrip) */
    expect(t, "is [MASK]", (const int32_t[]){264, 259, 267, 265}, 4);
    /* NFC: e + U+0301 composes to U+00E9, bytes C3 A9 */
    expect(t, "e\xCC\x81", (const int32_t[]){264, 195, 169, 265}, 4);
    /* a run of three spaces is an added token, matched before the
     * pre-tokenizer splits: "a" | "   " | "b" */
    expect(t, "a   b", (const int32_t[]){264, 97, 268, 98, 265}, 5);
    wd_tokenizer_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults), cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_base_model),      cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_train_refuses),   cmocka_unit_test(test_tokenizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
