/*
 * tests/unit/test_config.c - config.json parsing for every family, with the
 * defaults of transformers' configuration classes, and the error cases.
 * The JSON texts are trimmed copies of real published configs
 * (TinyLlama/Llama-3.1, Mistral-7B-v0.1, Qwen2-0.5B, bert-base-uncased,
 * roberta-base classifiers, distilbert-base-uncased-finetuned-sst-2).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config_internal.h"
#include "testutil.h"

static wd_model_config *parse_ok(const char *json) {
    wd_model_config *c = NULL;
    wd_status rc = wd_model_config_parse(json, strlen(json), "config.json", &c);
    if (rc) fail_msg("parse failed: %s", wd_last_error());
    return c;
}

static void parse_bad(const char *json, wd_status want, const char *msg) {
    wd_model_config *c = (wd_model_config *)1;
    wd_status rc = wd_model_config_parse(json, strlen(json), "m/config.json", &c);
    if (rc != want || !strstr(wd_last_error(), msg) || !strstr(wd_last_error(), "m/config.json"))
        fail_msg("got %s '%s', want %s with '%s'", wd_status_str(rc), wd_last_error(),
                 wd_status_str(want), msg);
    assert_null(c);
}

static void test_llama(void **state) {
    wd_model_config *c = parse_ok(
        "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
        "\"vocab_size\":128256,\"hidden_size\":2048,\"intermediate_size\":8192,"
        "\"num_hidden_layers\":16,\"num_attention_heads\":32,\"num_key_value_heads\":8,"
        "\"max_position_embeddings\":131072,\"rms_norm_eps\":1e-05,\"rope_theta\":500000.0,"
        "\"rope_scaling\":{\"factor\":32.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
        "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"},"
        "\"hidden_act\":\"silu\",\"tie_word_embeddings\":true,\"attention_bias\":false,"
        "\"mlp_bias\":false,\"bos_token_id\":128000,\"eos_token_id\":[128001,128008,128009],"
        "\"torch_dtype\":\"bfloat16\",\"head_dim\":64}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_LLAMA);
    assert_int_equal(wd_model_config_family(c), WD_MODEL_FAMILY_DECODER);
    assert_string_equal(wd_model_config_model_type(c), "llama");
    assert_string_equal(wd_model_config_architecture(c), "LlamaForCausalLM");
    assert_int_equal(wd_model_config_vocab_size(c), 128256);
    assert_int_equal(wd_model_config_hidden_size(c), 2048);
    assert_int_equal(wd_model_config_intermediate_size(c), 8192);
    assert_int_equal(wd_model_config_n_layer(c), 16);
    assert_int_equal(wd_model_config_n_head(c), 32);
    assert_int_equal(wd_model_config_n_kv_head(c), 8);
    assert_int_equal(wd_model_config_head_dim(c), 64);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 131072);
    assert_true(wd_model_config_rope_theta(c) == 500000.0);
    assert_string_equal(wd_model_config_rope_scaling(c), "llama3");
    assert_true(wd_model_config_rope_factor(c) == 32.0);
    assert_true(wd_model_config_rope_low_freq_factor(c) == 1.0);
    assert_true(wd_model_config_rope_high_freq_factor(c) == 4.0);
    assert_int_equal(wd_model_config_rope_original_max_position_embeddings(c), 8192);
    assert_true(wd_model_config_norm_eps(c) == 1e-5);
    assert_int_equal(wd_model_config_hidden_act(c), WD_ACT_SILU);
    assert_true(wd_model_config_tie_word_embeddings(c));
    assert_false(wd_model_config_attention_bias(c));
    assert_false(wd_model_config_attention_out_bias(c));
    assert_false(wd_model_config_mlp_bias(c));
    assert_int_equal(wd_model_config_bos_token_id(c), 128000);
    assert_int_equal(wd_model_config_n_eos_token_ids(c), 3);
    assert_int_equal(wd_model_config_eos_token_id(c, 2), 128009);
    assert_int_equal(wd_model_config_pad_token_id(c), -1);
    assert_string_equal(wd_model_config_torch_dtype(c), "bfloat16");
    assert_int_equal(wd_model_config_type_vocab_size(c), 0);
    wd_model_config_free(c);

    /* minimal llama: LlamaConfig defaults fill the rest */
    c = parse_ok("{\"model_type\":\"llama\",\"vocab_size\":32000,\"hidden_size\":64,"
                 "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                 "\"attention_bias\":true,\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}}");
    assert_int_equal(wd_model_config_n_kv_head(c), 4);
    assert_int_equal(wd_model_config_head_dim(c), 16);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 2048);
    assert_true(wd_model_config_rope_theta(c) == 10000.0);
    assert_true(wd_model_config_norm_eps(c) == 1e-6);
    assert_false(wd_model_config_tie_word_embeddings(c));
    assert_true(wd_model_config_attention_bias(c) && wd_model_config_attention_out_bias(c));
    assert_string_equal(wd_model_config_rope_scaling(c), "linear");
    assert_true(wd_model_config_rope_factor(c) == 2.0);
    assert_int_equal(wd_model_config_bos_token_id(c), 1);
    assert_int_equal(wd_model_config_n_eos_token_ids(c), 1);
    assert_int_equal(wd_model_config_eos_token_id(c, 0), 2);
    assert_string_equal(wd_model_config_architecture(c), "");
    assert_int_equal(wd_model_config_num_labels(c), 2);
    assert_string_equal(wd_model_config_label(c, 1), "LABEL_1");
    wd_model_config_free(c);
    wd_model_config_free(NULL);
}

static void test_mistral_qwen2(void **state) {
    wd_model_config *c = parse_ok(
        "{\"architectures\":[\"MistralForCausalLM\"],\"model_type\":\"mistral\","
        "\"vocab_size\":32000,\"hidden_size\":4096,\"intermediate_size\":14336,"
        "\"num_hidden_layers\":32,\"num_attention_heads\":32,\"rms_norm_eps\":1e-05,"
        "\"rope_theta\":10000.0,\"sliding_window\":4096,\"torch_dtype\":\"bfloat16\"}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_MISTRAL);
    assert_int_equal(wd_model_config_n_kv_head(c), 8); /* MistralConfig's default */
    assert_int_equal(wd_model_config_sliding_window(c), 4096);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 131072);
    assert_false(wd_model_config_attention_bias(c));
    wd_model_config_free(c);
    /* Mistral v0.2+: "sliding_window": null means no window */
    c = parse_ok("{\"model_type\":\"mistral\",\"vocab_size\":100,\"hidden_size\":64,"
                 "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":8,"
                 "\"sliding_window\":null}");
    assert_int_equal(wd_model_config_sliding_window(c), 0);
    wd_model_config_free(c);

    c = parse_ok(
        "{\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"qwen2\",\"bos_token_id\":151643,"
        "\"eos_token_id\":151643,\"hidden_act\":\"silu\",\"hidden_size\":896,"
        "\"intermediate_size\":4864,\"max_position_embeddings\":32768,\"max_window_layers\":24,"
        "\"num_attention_heads\":14,\"num_hidden_layers\":24,\"num_key_value_heads\":2,"
        "\"rms_norm_eps\":1e-06,\"rope_theta\":1000000.0,\"sliding_window\":32768,"
        "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\",\"use_sliding_window\":false,"
        "\"vocab_size\":151936}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_QWEN2);
    assert_int_equal(wd_model_config_head_dim(c), 64);
    assert_int_equal(wd_model_config_n_kv_head(c), 2);
    assert_true(wd_model_config_attention_bias(c));      /* q/k/v biases by design */
    assert_false(wd_model_config_attention_out_bias(c)); /* never on o_proj */
    assert_false(wd_model_config_mlp_bias(c));
    assert_int_equal(wd_model_config_sliding_window(c), 0); /* use_sliding_window false */
    assert_true(wd_model_config_rope_theta(c) == 1e6);
    assert_true(wd_model_config_tie_word_embeddings(c));
    assert_int_equal(wd_model_config_eos_token_id(c, 0), 151643);
    wd_model_config_free(c);
}

static void test_encoders(void **state) {
    wd_model_config *c = parse_ok(
        "{\"architectures\":[\"BertForSequenceClassification\"],\"model_type\":\"bert\","
        "\"attention_probs_dropout_prob\":0.1,\"hidden_act\":\"gelu\",\"hidden_size\":768,"
        "\"initializer_range\":0.02,\"intermediate_size\":3072,\"layer_norm_eps\":1e-12,"
        "\"max_position_embeddings\":512,\"num_attention_heads\":12,\"num_hidden_layers\":12,"
        "\"pad_token_id\":0,\"position_embedding_type\":\"absolute\",\"type_vocab_size\":2,"
        "\"vocab_size\":30522,\"id2label\":{\"0\":\"safe\",\"1\":\"unsafe\",\"2\":\"maybe\"},"
        "\"label2id\":{\"safe\":0,\"unsafe\":1,\"maybe\":2},"
        "\"problem_type\":\"single_label_classification\"}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_BERT);
    assert_int_equal(wd_model_config_family(c), WD_MODEL_FAMILY_ENCODER);
    assert_int_equal(wd_model_config_hidden_act(c), WD_ACT_GELU);
    assert_true(wd_model_config_norm_eps(c) == 1e-12);
    assert_int_equal(wd_model_config_type_vocab_size(c), 2);
    assert_int_equal(wd_model_config_num_labels(c), 3);
    assert_string_equal(wd_model_config_label(c, 0), "safe");
    assert_string_equal(wd_model_config_label(c, 2), "maybe");
    assert_string_equal(wd_model_config_problem_type(c), "single_label_classification");
    assert_true(wd_model_config_attention_bias(c) && wd_model_config_attention_out_bias(c) &&
                wd_model_config_mlp_bias(c));
    assert_true(wd_model_config_tie_word_embeddings(c));
    assert_int_equal(wd_model_config_pad_token_id(c), 0);
    wd_model_config_free(c);

    c = parse_ok(
        "{\"architectures\":[\"RobertaForSequenceClassification\"],\"model_type\":\"roberta\","
        "\"bos_token_id\":0,\"eos_token_id\":2,\"hidden_act\":\"gelu\",\"hidden_size\":768,"
        "\"intermediate_size\":3072,\"layer_norm_eps\":1e-05,\"max_position_embeddings\":514,"
        "\"num_attention_heads\":12,\"num_hidden_layers\":12,\"pad_token_id\":1,"
        "\"type_vocab_size\":1,\"vocab_size\":50265,\"num_labels\":4}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_ROBERTA);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 514);
    assert_int_equal(wd_model_config_pad_token_id(c), 1);
    assert_int_equal(wd_model_config_type_vocab_size(c), 1);
    assert_true(wd_model_config_norm_eps(c) == 1e-5);
    assert_int_equal(wd_model_config_num_labels(c), 4);
    assert_string_equal(wd_model_config_label(c, 3), "LABEL_3");
    wd_model_config_free(c);

    c = parse_ok(
        "{\"activation\":\"gelu\",\"architectures\":[\"DistilBertForSequenceClassification\"],"
        "\"attention_dropout\":0.1,\"dim\":768,\"dropout\":0.1,\"finetuning_task\":\"sst-2\","
        "\"hidden_dim\":3072,\"id2label\":{\"0\":\"NEGATIVE\",\"1\":\"POSITIVE\"},"
        "\"initializer_range\":0.02,\"label2id\":{\"NEGATIVE\":0,\"POSITIVE\":1},"
        "\"max_position_embeddings\":512,\"model_type\":\"distilbert\",\"n_heads\":12,"
        "\"n_layers\":6,\"output_past\":true,\"pad_token_id\":0,\"qa_dropout\":0.1,"
        "\"seq_classif_dropout\":0.2,\"sinusoidal_pos_embds\":false,\"tie_weights_\":true,"
        "\"vocab_size\":30522}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_DISTILBERT);
    assert_int_equal(wd_model_config_hidden_size(c), 768);
    assert_int_equal(wd_model_config_intermediate_size(c), 3072);
    assert_int_equal(wd_model_config_n_layer(c), 6);
    assert_int_equal(wd_model_config_n_head(c), 12);
    assert_int_equal(wd_model_config_head_dim(c), 64);
    assert_int_equal(wd_model_config_hidden_act(c), WD_ACT_GELU);
    assert_true(wd_model_config_norm_eps(c) == 1e-12);
    assert_int_equal(wd_model_config_type_vocab_size(c), 0);
    assert_false(wd_model_config_sinusoidal_pos_embds(c));
    assert_string_equal(wd_model_config_label(c, 1), "POSITIVE");
    /* out of range: no label, no eos id */
    assert_null(wd_model_config_label(c, 2));
    assert_null(wd_model_config_label(c, -1));
    assert_int_equal(wd_model_config_n_eos_token_ids(c), 0);
    assert_int_equal(wd_model_config_eos_token_id(c, 0), -1);
    assert_string_equal(wd_model_config_hidden_act_name(c), "gelu");
    assert_string_equal(wd_model_config_rope_scaling(c), "none");
    assert_string_equal(wd_model_config_problem_type(c), "");
    wd_model_config_free(c);
}

static void test_errors(void **state) {
    parse_bad("{\"model_type\":\"gpt2\",\"vocab_size\":1}", WD_ERR_UNSUPPORTED,
              "field 'model_type': 'gpt2' is not supported");
    /* transformers 5's rope_parameters: keys the runtime does not compute are
     * refused, not ignored; a non-object is a format error */
    parse_bad("{\"model_type\":\"qwen3\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"rope_parameters\":{\"rope_type\":\"yarn\",\"beta_fast\":32}}",
              WD_ERR_UNSUPPORTED, "rope_parameters: field 'beta_fast' is not supported");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"rope_parameters\":[1]}",
              WD_ERR_FORMAT, "field 'rope_parameters': expected an object");
    parse_bad("{\"vocab_size\":1}", WD_ERR_FORMAT, "field 'model_type': missing");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":32000,\"intermediate_size\":128,"
              "\"num_hidden_layers\":2,\"num_attention_heads\":4}",
              WD_ERR_FORMAT, "field 'hidden_size': missing");
    parse_bad("{\"model_type\":\"distilbert\",\"vocab_size\":30522,\"hidden_size\":768,"
              "\"hidden_dim\":3072,\"n_layers\":6,\"n_heads\":12}",
              WD_ERR_FORMAT, "field 'dim': missing");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":\"many\",\"hidden_size\":64}",
              WD_ERR_FORMAT, "field 'vocab_size': expected an integer, got a string");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"num_key_value_heads\":3}",
              WD_ERR_FORMAT, "field 'num_key_value_heads': 3 does not divide");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":66,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4}",
              WD_ERR_FORMAT, "field 'hidden_size': 66 is not divisible");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":0,\"num_attention_heads\":4}",
              WD_ERR_FORMAT, "field 'num_hidden_layers': must be positive");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4}}",
              WD_ERR_UNSUPPORTED, "type 'yarn' is not supported");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}}",
              WD_ERR_FORMAT, "field 'low_freq_factor': missing");
    parse_bad("{\"model_type\":\"bert\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"hidden_act\":\"mish\"}",
              WD_ERR_UNSUPPORTED, "field 'hidden_act': activation 'mish' is not supported");
    parse_bad("{\"model_type\":\"bert\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"position_embedding_type\":\"relative_key\"}",
              WD_ERR_UNSUPPORTED, "field 'position_embedding_type'");
    parse_bad("{\"model_type\":\"bert\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"id2label\":{\"0\":\"a\",\"2\":\"b\"}}",
              WD_ERR_FORMAT, "field 'id2label': key '2' is not a class id in [0, 2)");
    parse_bad("{\"model_type\":\"bert\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"id2label\":{\"0\":\"a\",\"1\":\"b\"},\"label2id\":{\"a\":1,\"b\":0}}",
              WD_ERR_FORMAT, "field 'label2id': entry 'a' does not match id2label");
    parse_bad("{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":64,"
              "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
              "\"eos_token_id\":[1,\"x\"]}",
              WD_ERR_FORMAT, "field 'eos_token_id': list holds a string");
    parse_bad("{\"model_type\":\"llama\",", WD_ERR_FORMAT, "invalid JSON at line 1");
    /* a key given twice would mean two models */
    parse_bad("{\"model_type\":\"llama\",\"hidden_size\":64,\"hidden_size\":4096}", WD_ERR_FORMAT,
              "duplicate key 'hidden_size' at line 1, column 40");
    parse_bad("[1]", WD_ERR_FORMAT, "expected a JSON object, got an array");

    /* from a file and from a folder */
    char *dir = wdt_tmpdir("config");
    wd_model_config *c = (wd_model_config *)1;
    assert_int_equal(wd_model_config_load(dir, &c), WD_ERR_NOT_FOUND);
    assert_null(c);
    assert_non_null(strstr(wd_last_error(), "config.json"));
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *txt = "{\"model_type\":\"qwen2\",\"vocab_size\":100,\"hidden_size\":64,"
                      "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4}";
    wdt_write_file(path, txt, strlen(txt));
    assert_int_equal(wd_model_config_load(dir, &c), WD_OK);
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_QWEN2);
    wd_model_config_free(c);
    assert_int_equal(wd_model_config_load(path, &c), WD_OK);
    wd_model_config_free(c);
    wdt_write_file(path, "{\"model_type\":3}", 16);
    assert_int_equal(wd_model_config_load(dir, &c), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "config.json: field 'model_type': expected a string"));
    free(dir);
}

/* Prompt Guard's config.json (mDeBERTa-v3-base), DebertaV2Config's
 * defaults, XLM-RoBERTa's (RobertaConfig's), and what is refused. */
static void test_deberta_xlmr(void **state) {
    (void)state;
    wd_model_config *c = parse_ok(
        "{\"architectures\":[\"DebertaV2ForSequenceClassification\"],\"model_type\":\"deberta-v2\","
        "\"attention_probs_dropout_prob\":0.1,\"hidden_act\":\"gelu\",\"hidden_dropout_prob\":0.1,"
        "\"hidden_size\":768,\"id2label\":{\"0\":\"BENIGN\",\"1\":\"INJECTION\",\"2\":\"JAILBREAK\"},"
        "\"initializer_range\":0.02,\"intermediate_size\":3072,"
        "\"label2id\":{\"BENIGN\":0,\"INJECTION\":1,\"JAILBREAK\":2},\"layer_norm_eps\":1e-07,"
        "\"max_position_embeddings\":512,\"max_relative_positions\":-1,\"norm_rel_ebd\":\"layer_norm\","
        "\"num_attention_heads\":12,\"num_hidden_layers\":12,\"pad_token_id\":0,\"pooler_dropout\":0,"
        "\"pooler_hidden_act\":\"gelu\",\"pooler_hidden_size\":768,\"pos_att_type\":[\"p2c\",\"c2p\"],"
        "\"position_biased_input\":false,\"position_buckets\":256,\"relative_attention\":true,"
        "\"share_att_key\":true,\"torch_dtype\":\"float32\",\"type_vocab_size\":0,\"vocab_size\":251000}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_DEBERTA_V2);
    assert_int_equal(wd_model_config_family(c), WD_MODEL_FAMILY_ENCODER);
    const struct wd__deberta_config *d = &c->deberta;
    assert_true(d->relative_attention && d->c2p && d->p2c && d->norm_rel_layer_norm && d->share_att_key);
    assert_false(d->position_biased_input);
    assert_int_equal(d->max_relative_positions, 512);
    assert_int_equal(d->position_buckets, 256);
    assert_int_equal(d->embedding_size, 768);
    assert_int_equal(wd_model_config_type_vocab_size(c), 0);
    assert_string_equal(wd_model_config_label(c, 2), "JAILBREAK");
    assert_float_equal(wd_model_config_norm_eps(c), 1e-7, 1e-12);
    /* the public accessors */
    assert_true(wd_model_config_relative_attention(c) && wd_model_config_share_att_key(c));
    assert_false(wd_model_config_position_biased_input(c));
    assert_int_equal(wd_model_config_position_buckets(c), 256);
    assert_int_equal(wd_model_config_max_relative_positions(c), 512);
    assert_int_equal(wd_model_config_embedding_size(c), 768);
    assert_string_equal(wd_model_config_pos_att_type(c), "c2p|p2c");
    assert_string_equal(wd_model_config_pooler_hidden_act(c), "gelu");
    wd_model_config_free(c);
#define DEB(extra)                                                                                \
    "{\"model_type\":\"deberta-v2\",\"vocab_size\":100,\"hidden_size\":32,\"intermediate_size\":64,"   \
    "\"num_hidden_layers\":2,\"num_attention_heads\":4" extra "}"
    /* DebertaV2Config's defaults; a '|'-separated pos_att_type */
    c = parse_ok(DEB(",\"pos_att_type\":\"C2P | p2c\""));
    d = &c->deberta;
    assert_false(d->relative_attention || d->share_att_key || d->norm_rel_layer_norm);
    assert_true(d->position_biased_input && d->c2p && d->p2c);
    assert_int_equal(d->position_buckets, 0);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 512);
    assert_int_equal(wd_model_config_pad_token_id(c), 0);
    assert_float_equal(wd_model_config_norm_eps(c), 1e-7, 1e-12);
    assert_int_equal(d->pooler_act, WD_POOLER_ACT_GELU);
    wd_model_config_free(c);
    parse_bad(DEB(",\"conv_kernel_size\":3"), WD_ERR_UNSUPPORTED, "ConvLayer");
    parse_bad(DEB(",\"pooler_hidden_size\":16"), WD_ERR_UNSUPPORTED, "pooler_hidden_size");
    parse_bad(DEB(",\"pooler_hidden_act\":\"mish\""), WD_ERR_UNSUPPORTED, "pooler_hidden_act");
    parse_bad(DEB(",\"pos_att_type\":[\"p2p\"]"), WD_ERR_UNSUPPORTED, "pos_att_type");
    parse_bad(DEB(",\"pos_att_type\":7"), WD_ERR_FORMAT, "pos_att_type");
    parse_bad(DEB(",\"attention_head_size\":4"), WD_ERR_UNSUPPORTED, "attention_head_size");
    parse_bad(DEB(",\"position_buckets\":16,\"max_relative_positions\":9"), WD_ERR_FORMAT,
              "position_buckets");
#undef DEB
    /* XLMRobertaConfig is RobertaConfig */
    c = parse_ok("{\"model_type\":\"xlm-roberta\",\"vocab_size\":250002,\"hidden_size\":32,"
                 "\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4}");
    assert_int_equal(wd_model_config_type(c), WD_MODEL_TYPE_XLM_ROBERTA);
    assert_int_equal(wd_model_config_pad_token_id(c), 1);
    assert_int_equal(wd_model_config_bos_token_id(c), 0);
    assert_int_equal(wd_model_config_eos_token_id(c, 0), 2);
    assert_int_equal(wd_model_config_type_vocab_size(c), 2);
    assert_int_equal(wd_model_config_max_position_embeddings(c), 512);
    wd_model_config_free(c);
}

static void test_names(void **state) {
    assert_string_equal(wd_model_type_name(WD_MODEL_TYPE_DISTILBERT), "distilbert");
    assert_string_equal(wd_model_family_name(WD_MODEL_FAMILY_ENCODER), "encoder");
    assert_string_equal(wd_act_name(WD_ACT_GELU_TANH), "gelu_tanh");
    assert_string_equal(wd_rope_scaling_name(WD_ROPE_SCALING_LLAMA3), "llama3"); /* warden/ops.h */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama),
        cmocka_unit_test(test_mistral_qwen2),
        cmocka_unit_test(test_encoders),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deberta_xlmr),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
