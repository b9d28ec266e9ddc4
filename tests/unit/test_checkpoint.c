/*
 * tests/unit/test_checkpoint.c - model folders: a single model.safetensors,
 * a sharded checkpoint through model.safetensors.index.json, and crafted
 * indexes (escaping shard names, missing tensors, tensors in two shards).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "gen_checkpoint.h"

static void write_shard(const char *dir, const char *file, const char *const *names, int n,
                        float base) {
    wd_safetensors_writer *w;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    static float data[16][6];
    int64_t shape[2] = {2, 3};
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 6; j++) data[i][j] = base + 10.0f * (float)i + (float)j;
        assert_int_equal(wd_safetensors_writer_add(w, names[i], WD_DTYPE_F32, shape, 2, data[i]), WD_OK);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    assert_int_equal(wd_safetensors_writer_write(w, path), WD_OK);
    wd_safetensors_writer_free(w);
}

static void write_text(const char *dir, const char *file, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    wdt_write_file(path, text, strlen(text));
}

static void test_single(void **state) {
    char *dir = wdt_tmpdir("ckpt_single");
    wd_checkpoint *ck = (wd_checkpoint *)1;
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_ERR_NOT_FOUND);
    assert_null(ck);
    assert_non_null(strstr(wd_last_error(), "no model.safetensors"));
    write_text(dir, "pytorch_model.bin", "not read");
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "pytorch_model.bin is not read"));

    const char *names[] = {"b", "a"};
    write_shard(dir, "model.safetensors", names, 2, 0.0f);
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_n_shards(ck), 1);
    assert_int_equal(wd_checkpoint_n_tensors(ck), 2);
    assert_int_equal(wd_checkpoint_n_params(ck), 12);
    assert_string_equal(wd_checkpoint_tensor(ck, 0)->name, "b"); /* data order */
    float f[6];
    assert_int_equal(wd_checkpoint_read_f32(ck, "a", f, 6), WD_OK);
    assert_true(f[0] == 10.0f && f[5] == 15.0f);
    assert_int_equal(wd_checkpoint_read_f32(ck, "zz", f, 6), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "'zz'"));
    wd_checkpoint_free(ck);

    /* a file path works too */
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(wd_checkpoint_open(path, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_n_tensors(ck), 2);
    assert_int_equal(wd_checkpoint_file_bytes(ck), wd_safetensors_file_size(wd_checkpoint_shard(ck, 0)));
    wd_checkpoint_free(ck);
    wd_checkpoint_free(NULL);
    snprintf(path, sizeof path, "%s/absent", dir);
    assert_int_equal(wd_checkpoint_open(path, &ck), WD_ERR_NOT_FOUND);
    free(dir);
}

static void test_sharded(void **state) {
    char *dir = wdt_tmpdir("ckpt_sharded");
    const char *s1[] = {"model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"};
    const char *s2[] = {"model.norm.weight", "lm_head.weight", "model.layers.1.mlp.up_proj.weight"};
    write_shard(dir, "model-00001-of-00002.safetensors", s1, 2, 100.0f);
    write_shard(dir, "model-00002-of-00002.safetensors", s2, 3, 200.0f);
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":120},\"weight_map\":{"
               "\"lm_head.weight\":\"model-00002-of-00002.safetensors\","
               "\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\","
               "\"model.layers.0.mlp.up_proj.weight\":\"model-00001-of-00002.safetensors\","
               "\"model.layers.1.mlp.up_proj.weight\":\"model-00002-of-00002.safetensors\","
               "\"model.norm.weight\":\"model-00002-of-00002.safetensors\"}}");
    wd_checkpoint *ck;
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_n_shards(ck), 2);
    assert_int_equal(wd_checkpoint_n_tensors(ck), 5);
    assert_int_equal(wd_checkpoint_n_params(ck), 30);
    float f[6];
    assert_int_equal(wd_checkpoint_read_f32(ck, "lm_head.weight", f, 6), WD_OK);
    assert_true(f[0] == 210.0f); /* second tensor of shard 2 */
    assert_int_equal(wd_checkpoint_read_f32(ck, "model.layers.0.mlp.up_proj.weight", f, 6), WD_OK);
    assert_true(f[1] == 111.0f);
    /* iteration covers every tensor once */
    int seen = 0;
    for (size_t i = 0; i < wd_checkpoint_n_tensors(ck); i++)
        seen += wd_checkpoint_find(ck, wd_checkpoint_tensor(ck, i)->name) == wd_checkpoint_tensor(ck, i);
    assert_int_equal(seen, 5);
    wd_checkpoint_free(ck);
    /* the index file itself */
    char ipath[1024];
    snprintf(ipath, sizeof ipath, "%s/model.safetensors.index.json", dir);
    assert_int_equal(wd_checkpoint_open(ipath, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_n_tensors(ck), 5);
    wd_checkpoint_free(ck);

    /* crafted indexes */
    static const struct {
        const char *index;
        const char *msg;
    } bad[] = {
        {"{\"weight_map\":{\"a\":\"../model-00001-of-00002.safetensors\"}}", "not a plain file name"},
        {"{\"weight_map\":{\"a\":\"/etc/passwd\"}}", "not a plain file name"},
        {"{\"weight_map\":{\"a\":\"..\"}}", "not a plain file name"},
        {"{\"weight_map\":{\"lm_head.weight\":\"model-00001-of-00002.safetensors\"}}",
         "tensor 'lm_head.weight' is mapped to model-00001-of-00002.safetensors, which does not hold it"},
        {"{\"weight_map\":{\"a\":\"missing.safetensors\"}}", "missing.safetensors: cannot open"},
        {"{\"weight_map\":{\"a\":3}}", "tensor 'a' maps to a number"},
        {"{\"weight_map\":{}}", "weight_map is empty"},
        {"{\"metadata\":{}}", "field 'weight_map': expected an object"},
        {"{\"weight_map\":", "invalid JSON"},
        /* one tensor, two shards: which one is meant? */
        {"{\"weight_map\":{\"lm_head.weight\":\"model-00001-of-00002.safetensors\","
         "\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}}",
         "duplicate key 'lm_head.weight'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(dir, "model.safetensors.index.json", bad[i].index);
        ck = (wd_checkpoint *)1;
        wd_status rc = wd_checkpoint_open(dir, &ck);
        if (rc == WD_OK || !strstr(wd_last_error(), bad[i].msg))
            fail_msg("index %zu: got %s '%s', want '%s'", i, wd_status_str(rc), wd_last_error(), bad[i].msg);
        assert_null(ck);
    }
    /* the same tensor in two shards */
    const char *s3[] = {"model.norm.weight"};
    write_shard(dir, "extra.safetensors", s3, 1, 0.0f);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"model.norm.weight\":\"model-00002-of-00002.safetensors\","
               "\"x\":\"extra.safetensors\",\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}}");
    assert_int_not_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    /* extra.safetensors has no 'x' */
    assert_non_null(strstr(wd_last_error(), "'x'"));
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"model.norm.weight\":\"model-00002-of-00002.safetensors\","
               "\"lm_head.weight\":\"extra.safetensors\"}}");
    assert_int_not_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    assert_non_null(strstr(wd_last_error(), "lm_head.weight"));
    const char *s4[] = {"model.norm.weight", "y"};
    write_shard(dir, "extra.safetensors", s4, 2, 0.0f);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"model.norm.weight\":\"model-00002-of-00002.safetensors\","
               "\"y\":\"extra.safetensors\"}}");
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "tensor 'model.norm.weight' is in both"));
    free(dir);
}

/* `warden inspect` on a generated llama folder: the counts against a
 * hand computation from the layout (V=128, H=32, L=2, 4 heads of 8, 2 kv
 * heads, I=64, untied):
 *   embed 128*32 = 4096; per layer: norms 2*32 + q 32*32 + k,v 2*(16*32)
 *   + o 32*32 + gate,up,down 3*(64*32) = 9280; final norm 32; lm_head 4096
 *   -> 4096 + 2*9280 + 32 + 4096 = 26784 parameters in 2 + 2*9 + 1 = 21 tensors. */
static void test_inspect_cli(void **state) {
    char *dir = wdt_tmpdir("ckpt_inspect");
    wdt_gen_params p = wdt_gen_params_default("llama");
    assert_int_equal(wdt_gen_checkpoint(&p, dir), WD_OK);
    char args[1200], *out, *err;
    snprintf(args, sizeof args, "inspect --json '%s'", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "n_params")->valuedouble, 26784);
    assert_int_equal(cJSON_GetObjectItem(j, "n_tensors")->valuedouble, 21);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tensors")), 21);
    cJSON *cfg = cJSON_GetObjectItem(j, "config");
    assert_string_equal(cJSON_GetObjectItem(cfg, "model_type")->valuestring, "llama");
    assert_int_equal(cJSON_GetObjectItem(cfg, "n_kv_head")->valuedouble, 2);
    cJSON_Delete(j);
    free(out);
    free(err);

    snprintf(args, sizeof args, "inspect '%s'", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    const char *line = strstr(out, "model.layers.1.self_attn.k_proj.weight ");
    assert_non_null(line);
    const char *eol = strchr(line, '\n'), *sh = strstr(line, "F32    [16, 32]");
    assert_true(sh && eol && sh < eol);
    assert_non_null(strstr(out, "21 tensors, 26784 parameters"));
    assert_non_null(strstr(out, "config: llama (decoder), LlamaForCausalLM"));
    free(out);
    free(err);

    /* usage and runtime errors */
    assert_int_equal(wdt_cli("inspect", NULL, NULL, NULL), 2);
    assert_int_equal(wdt_cli("inspect --bogus x", NULL, NULL, NULL), 2);
    assert_int_equal(wdt_cli("inspect --help", NULL, &out, NULL), 0);
    assert_non_null(strstr(out, "usage: warden inspect"));
    free(out);
    snprintf(args, sizeof args, "inspect '%s/nope'", dir);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "nope"));
    free(err);
    /* a bad config.json beside good weights is a runtime error naming it */
    char path[1100];
    snprintf(path, sizeof path, "%s/config.json", dir);
    wdt_write_file(path, "{\"model_type\":\"gpt2\"}", 21);
    snprintf(args, sizeof args, "inspect '%s'", dir);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "config.json: field 'model_type': 'gpt2' is not supported"));
    free(err);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_inspect_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
