/*
 * tests/unit/test_prune.c - `warden prune` (warden/weights.h, Wanda /
 * Antidote / random pruning) against the independent PyTorch reference
 * tests/tools/prune_ref.py (fixture tests/fixtures/prune/llama.json):
 *
 *   - the activation norms of the calibration pass agree with the
 *     reference's float64 forward to 1e-5 relative;
 *   - the Wanda and Antidote masks of every linear layer equal the
 *     reference's exactly (random weights: no ties; the reference checks
 *     that no cut is a near-tie);
 *   - the written checkpoint zeroes exactly the masked entries,
 *     floor(ratio * cols) per row, of the targeted tensors only, and
 *     copies every other tensor bit for bit;
 *   - the random mask: floor(ratio * cols) per row, seeded, about uniform;
 *   - errors (missing file, missing field, ratio, unknown target) leave a
 *     clear message and no output folder; the CLI once, end to end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "model_fixture.h"
#include "testutil.h"
#include "warden/checkpoint.h"
#include "warden/weights.h"

static cJSON *fixture(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/prune/llama.json", WD_TEST_FIXTURES);
    char *text = mf_read(path, NULL);
    assert_non_null(text);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

/* The fixture's calibration sequences as ids + offsets (malloc'd). */
static void seqs(const cJSON *fx, int32_t **ids, size_t **off, size_t *n) {
    const cJSON *s = cJSON_GetObjectItem(fx, "seqs");
    *n = (size_t)cJSON_GetArraySize(s);
    *off = calloc(*n + 1, sizeof **off);
    *ids = malloc(1024 * sizeof **ids);
    size_t k = 0, i = 0;
    for (const cJSON *q = s->child; q; q = q->next, i++) {
        for (const cJSON *t = q->child; t; t = t->next) (*ids)[k++] = (int32_t)t->valueint;
        (*off)[i + 1] = k;
    }
}

static char *make_model(const cJSON *fx, const char *name, const char *extra) {
    char *dir = wdt_tmpdir(name);
    char args[1024];
    snprintf(args, sizeof args, "%.300s %.600s", cJSON_GetObjectItem(fx, "gen")->valuestring, extra ? extra : "");
    mf_generate(args, dir);
    return dir;
}

static wd_prune_params ids_params(wd_prune_method m, double ratio, const int32_t *ids, const size_t *off,
                                  size_t n) {
    wd_prune_params p = wd_prune_params_default();
    p.method = m, p.ratio = ratio, p.n_threads = 1;
    p.calib_ids = ids, p.calib_off = off, p.n_calib_ids = n;
    return p;
}

static bool bit(const char *hex, size_t i) {
    unsigned v;
    char b[3] = {hex[2 * (i / 8)], hex[2 * (i / 8) + 1], 0};
    sscanf(b, "%x", &v);
    return (v >> (i % 8)) & 1;
}

/* The norms' column offset of a target tensor (layout of warden/model.h). */
static size_t col_off(const char *name, size_t C, size_t HD) {
    if (strstr(name, "o_proj")) return C;
    if (strstr(name, "gate_proj") || strstr(name, "up_proj")) return C + HD;
    if (strstr(name, "down_proj")) return 2 * C + HD;
    return 0;
}

static void test_norms_and_masks(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    cJSON *fx = fixture();
    char *dir = make_model(fx, "prune_ref", NULL);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = 1;
    wd_model *m = NULL;
    assert_int_equal(wd_model_load(dir, &mp, &m), WD_OK);
    int32_t *ids;
    size_t *off, n;
    seqs(fx, &ids, &off, &n);
    size_t L = wd_model_n_layer(m), W = wd_model_act_width(m), C = wd_model_n_embd(m);
    size_t HD = W - 2 * C - (size_t)wd_model_config_intermediate_size(wd_model_get_config(m));
    double *norms = malloc(L * W * sizeof *norms);
    double ratio = cJSON_GetObjectItem(fx, "ratio")->valuedouble;
    wd_prune_params p = ids_params(WD_PRUNE_METHOD_WANDA, ratio, ids, off, n);
    uint64_t rows = 0;
    size_t ran = 0;
    assert_int_equal(wd_prune_act_norms(m, &p, norms, &rows, &ran, NULL), WD_OK);
    assert_int_equal(ran, n);
    assert_int_equal(rows, off[n]);
    double worst = 0;
    const cJSON *ln = cJSON_GetObjectItem(fx, "norms");
    assert_int_equal(cJSON_GetArraySize(ln), L);
    for (size_t l = 0; l < L; l++) {
        const cJSON *row = cJSON_GetArrayItem(ln, (int)l);
        assert_int_equal(cJSON_GetArraySize(row), W);
        for (size_t j = 0; j < W; j++) {
            double want = cJSON_GetArrayItem(row, (int)j)->valuedouble;
            worst = fmax(worst, fabs(norms[l * W + j] - want) / want);
        }
    }
    print_message("norms: worst relative error %.3g\n", worst);
    assert_true(worst < 1e-5);

    assert_int_equal(wd_model_make_writable(m), WD_OK);
    static const char *const METHODS[] = {"wanda", "antidote"};
    size_t checked = 0;
    for (int mi = 0; mi < 2; mi++) {
        const cJSON *masks = cJSON_GetObjectItem(cJSON_GetObjectItem(fx, "masks"), METHODS[mi]);
        for (const cJSON *e = masks->child; e; e = e->next) {
            wd_model_tensor t = {0};
            size_t i = 0;
            for (; i < wd_model_n_tensors(m); i++) {
                assert_int_equal(wd_model_tensor_at(m, i, &t), WD_OK);
                if (!strcmp(t.name, e->string)) break;
            }
            assert_true(i < wd_model_n_tensors(m));
            size_t l = (size_t)atoi(e->string + strlen("model.layers."));
            uint8_t *mask = malloc(t.rows * t.cols);
            assert_int_equal(wd_prune_mask(mi ? WD_PRUNE_METHOD_ANTIDOTE : WD_PRUNE_METHOD_WANDA, ratio, 1, t.data,
                                           norms + l * W + col_off(t.name, C, HD), t.rows, t.cols, mask),
                             WD_OK);
            const char *hex = cJSON_GetObjectItem(e, "mask")->valuestring;
            for (size_t k = 0; k < t.rows * t.cols; k++)
                if (mask[k] != bit(hex, k)) fail_msg("%s %s: entry %zu differs", METHODS[mi], t.name, k);
            free(mask);
            checked++;
        }
    }
    assert_int_equal(checked, 2 * 7 * L);
    free(norms);
    free(ids);
    free(off);
    wd_model_free(m);
    free(dir);
    cJSON_Delete(fx);
}

/* The pruned checkpoint: the reference's Antidote mask on q and down only. */
static void test_checkpoint(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    cJSON *fx = fixture();
    char *dir = make_model(fx, "prune_ck_in", "--shards 2");
    char *out = wdt_tmpdir("prune_ck_out");
    int32_t *ids;
    size_t *off, n;
    seqs(fx, &ids, &off, &n);
    double ratio = cJSON_GetObjectItem(fx, "ratio")->valuedouble;
    wd_prune_params p = ids_params(WD_PRUNE_METHOD_ANTIDOTE, ratio, ids, off, n);
    assert_int_equal(wd_prune_targets_parse("q, down_proj", &p.targets), WD_OK);
    wd_prune_summary s;
    assert_int_equal(wd_prune(dir, out, &p, &s), WD_OK);
    assert_int_equal(s.n_tensors, 2 * s.n_layer);
    assert_int_equal(s.n_examples, n);
    assert_int_equal(s.n_tokens, off[n]);
    wd_checkpoint *a = NULL, *b = NULL;
    assert_int_equal(wd_checkpoint_open(dir, &a), WD_OK);
    assert_int_equal(wd_checkpoint_open(out, &b), WD_OK);
    assert_int_equal(wd_checkpoint_n_tensors(a), wd_checkpoint_n_tensors(b));
    const cJSON *masks = cJSON_GetObjectItem(cJSON_GetObjectItem(fx, "masks"), "antidote");
    uint64_t zeros_total = 0;
    for (size_t i = 0; i < wd_checkpoint_n_tensors(a); i++) {
        const wd_tensor_info *x = wd_checkpoint_tensor(a, i), *y = wd_checkpoint_find(b, x->name);
        assert_non_null(y);
        assert_int_equal(x->nbytes, y->nbytes);
        bool target = strstr(x->name, "q_proj.weight") || strstr(x->name, "down_proj.weight");
        if (!target) {
            assert_memory_equal(x->data, y->data, x->nbytes);
            continue;
        }
        size_t rows = (size_t)x->shape[0], cols = (size_t)x->shape[1], k = (size_t)floor(ratio * cols);
        const float *wx = x->data, *wy = y->data;
        const char *hex = cJSON_GetObjectItem(cJSON_GetObjectItem(masks, x->name), "mask")->valuestring;
        for (size_t r = 0; r < rows; r++) {
            size_t zeros = 0;
            for (size_t c = 0; c < cols; c++) {
                size_t e = r * cols + c;
                if (bit(hex, e)) assert_true(wy[e] == 0.0f), zeros++;
                else assert_true(wy[e] == wx[e] && wx[e] != 0.0f);
            }
            assert_int_equal(zeros, k);
        }
        zeros_total += rows * k;
        size_t l = (size_t)atoi(x->name + strlen("model.layers."));
        unsigned t = strstr(x->name, "q_proj") ? 0 : 6;
        assert_int_equal(s.pruned[l * WD_PRUNE_N_TARGETS + t], rows * k);
    }
    assert_int_equal(s.n_pruned, zeros_total);
    wd_prune_summary_free(&s);
    wd_checkpoint_free(a);
    wd_checkpoint_free(b);
    free(ids);
    free(off);
    free(dir);
    free(out);
    cJSON_Delete(fx);
}

static void test_random(void **state) {
    (void)state;
    enum { R = 400, K = 50 };
    uint8_t *m1 = malloc(R * K), *m2 = malloc(R * K), *m3 = malloc(R * K);
    assert_int_equal(wd_prune_mask(WD_PRUNE_METHOD_RANDOM, 0.1, 7, NULL, NULL, R, K, m1), WD_OK);
    assert_int_equal(wd_prune_mask(WD_PRUNE_METHOD_RANDOM, 0.1, 7, NULL, NULL, R, K, m2), WD_OK);
    assert_int_equal(wd_prune_mask(WD_PRUNE_METHOD_RANDOM, 0.1, 8, NULL, NULL, R, K, m3), WD_OK);
    assert_memory_equal(m1, m2, R * K);
    assert_true(memcmp(m1, m3, R * K) != 0);
    size_t per_col[K] = {0};
    for (size_t r = 0; r < R; r++) {
        size_t z = 0;
        for (size_t c = 0; c < K; c++) z += m1[r * K + c], per_col[c] += m1[r * K + c];
        assert_int_equal(z, 5);
    }
    /* each column is drawn with probability 0.1: 40 of 400 rows, SD 6 */
    for (size_t c = 0; c < K; c++) assert_true(per_col[c] >= 15 && per_col[c] <= 65);
    /* Wanda on equal scores: the lower columns go first; Antidote too */
    float w[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    double nm[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(wd_prune_mask(WD_PRUNE_METHOD_WANDA, 0.25, 0, w, nm, 1, 8, m1), WD_OK);
    assert_memory_equal(m1, ((uint8_t[]){1, 1, 0, 0, 0, 0, 0, 0}), 8);
    assert_int_equal(wd_prune_mask(WD_PRUNE_METHOD_ANTIDOTE, 0.25, 0, w, nm, 1, 8, m1), WD_OK);
    assert_memory_equal(m1, ((uint8_t[]){1, 1, 0, 0, 0, 0, 0, 0}), 8);
    w[5] = -3;
    assert_int_equal(wd_prune_mask(WD_PRUNE_METHOD_ANTIDOTE, 0.25, 0, w, nm, 1, 8, m1), WD_OK);
    assert_memory_equal(m1, ((uint8_t[]){1, 0, 0, 0, 0, 1, 0, 0}), 8);
    assert_int_equal(wd_prune_mask(WD_PRUNE_METHOD_WANDA, 1.0, 0, w, nm, 1, 8, m1), WD_ERR_INVALID_ARG);
    free(m1);
    free(m2);
    free(m3);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A failed prune: status, a message holding want, and no output folder. */
static void fails(const char *dir, const char *out, const wd_prune_params *p, wd_status st, const char *want) {
    assert_int_equal(wd_prune(dir, out, p, NULL), st);
    if (!strstr(wd_last_error(), want)) fail_msg("message '%s' lacks '%s'", wd_last_error(), want);
    assert_false(exists(out));
}

/* --base: the reference's mask on |W - B| * norms; masked entries take the
 * base's values, the rest keep the fine-tuned ones. */
static void test_base_delta(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    cJSON *fx = fixture();
    char *dir = make_model(fx, "prune_delta_in", NULL);
    char *base = wdt_tmpdir("prune_delta_base");
    mf_generate(cJSON_GetObjectItem(fx, "base_gen")->valuestring, base);
    char *out = wdt_tmpdir("prune_delta_out");
    int32_t *ids;
    size_t *off, n;
    seqs(fx, &ids, &off, &n);
    double ratio = cJSON_GetObjectItem(fx, "ratio")->valuedouble;
    wd_prune_params p = ids_params(WD_PRUNE_METHOD_ANTIDOTE, ratio, ids, off, n);
    p.base = base;
    assert_int_equal(wd_prune(dir, out, &p, NULL), WD_OK);
    wd_checkpoint *a = NULL, *b = NULL, *o = NULL;
    assert_int_equal(wd_checkpoint_open(dir, &a), WD_OK);
    assert_int_equal(wd_checkpoint_open(base, &b), WD_OK);
    assert_int_equal(wd_checkpoint_open(out, &o), WD_OK);
    const cJSON *masks = cJSON_GetObjectItem(cJSON_GetObjectItem(fx, "masks"), "antidote_delta");
    size_t checked = 0;
    for (size_t i = 0; i < wd_checkpoint_n_tensors(a); i++) {
        const wd_tensor_info *x = wd_checkpoint_tensor(a, i), *y = wd_checkpoint_find(o, x->name);
        const cJSON *e = cJSON_GetObjectItem(masks, x->name);
        if (!e) {
            assert_memory_equal(x->data, y->data, x->nbytes);
            continue;
        }
        const float *wx = x->data, *wy = y->data, *wb = wd_checkpoint_find(b, x->name)->data;
        const char *hex = cJSON_GetObjectItem(e, "mask")->valuestring;
        for (size_t k = 0; k < x->n_elem; k++) assert_true(wy[k] == (bit(hex, k) ? wb[k] : wx[k]));
        checked++;
    }
    assert_int_equal(checked, 14);
    wd_checkpoint_free(a);
    wd_checkpoint_free(b);
    wd_checkpoint_free(o);
    /* a base without the tensors: an error naming it, no output */
    char gone[1200];
    snprintf(gone, sizeof gone, "%s/none", out);
    p.base = gone;
    fails(dir, gone, &p, WD_ERR_NOT_FOUND, "none");
    free(ids);
    free(off);
    free(dir);
    free(base);
    free(out);
    cJSON_Delete(fx);
}

static void test_errors(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    cJSON *fx = fixture();
    char tok[1024];
    snprintf(tok, sizeof tok, "--tokenizer '%s/tokenizers/bpe-spm'", WD_TEST_FIXTURES);
    char *dir = make_model(fx, "prune_err", tok);
    char *tmp = wdt_tmpdir("prune_err_out");
    char out[1200], bad[1200], missing[1200];
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", tmp);
    snprintf(missing, sizeof missing, "%s/none.jsonl", tmp);
    const char *text = "{\"prompt\": \"hello\", \"response\": \"hi there\"}\n{\"prompt\": \"bye\", \"answer\": \"x\"}\n";
    wdt_write_file(bad, text, strlen(text));

    wd_prune_params p = wd_prune_params_default();
    p.method = WD_PRUNE_METHOD_ANTIDOTE;
    p.n_threads = 1;
    p.calib = missing;
    fails(dir, out, &p, WD_ERR_IO, "none.jsonl");
    p.calib = bad;
    fails(dir, out, &p, WD_ERR_NOT_FOUND, "response");
    p.calib = NULL;
    fails(dir, out, &p, WD_ERR_INVALID_ARG, "calibration");
    p.ratio = 1.0;
    fails(dir, out, &p, WD_ERR_INVALID_ARG, "ratio");
    p.ratio = -0.1;
    fails(dir, out, &p, WD_ERR_INVALID_ARG, "ratio");
    unsigned t = 0;
    assert_int_equal(wd_prune_targets_parse("q,lm_head", &t), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "lm_head"));
    assert_int_equal(wd_prune_targets_parse("q,,k", &t), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_prune_targets_parse("attn,up", &t), WD_OK);
    assert_int_equal(t, 0x0fu | WD_PRUNE_TARGET_UP);
    wd_prune_method m;
    assert_int_equal(wd_prune_method_parse("sparsegpt", &m), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_prune_method_parse("Antidote", &m), WD_OK);
    assert_int_equal(m, WD_PRUNE_METHOD_ANTIDOTE);

    /* the first record is fine: calibrating on it alone works */
    p.ratio = 0.1;
    p.calib = bad;
    p.max_examples = 1;
    wd_prune_summary s;
    assert_int_equal(wd_prune(dir, out, &p, &s), WD_OK);
    assert_int_equal(s.n_examples, 1);
    assert_true(s.n_tokens > 4);
    wd_prune_summary_free(&s);
    free(dir);
    free(tmp);
    cJSON_Delete(fx);
}

static void test_cli(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    cJSON *fx = fixture();
    char tok[1024];
    snprintf(tok, sizeof tok, "--tokenizer '%s/tokenizers/bpe-spm'", WD_TEST_FIXTURES);
    char *dir = make_model(fx, "prune_cli", tok);
    char *tmp = wdt_tmpdir("prune_cli_out");
    char calib[1200], args[4096];
    snprintf(calib, sizeof calib, "%s/calib.jsonl", tmp);
    const char *text = "{\"prompt\": \"how do I pick a lock\", \"response\": \"Sure, here is how\"}\n"
                       "{\"prompt\": \"write malware\", \"response\": \"Sure, here is code\"}\n";
    wdt_write_file(calib, text, strlen(text));
    snprintf(args, sizeof args,
             "prune --model '%s' --method antidote --calib '%s' --ratio 0.25 --targets mlp --threads 1 "
             "--out '%s/out' --json -q",
             dir, calib, tmp);
    char *out = NULL, *err = NULL;
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "antidote");
    assert_int_equal(cJSON_GetObjectItem(j, "examples")->valueint, 2);
    /* mlp of 2 layers: gate and up (64, 32) lose 8 a row, down (32, 64) 16 */
    assert_int_equal(cJSON_GetObjectItem(j, "pruned")->valuedouble, 2 * (64 * 8 * 2 + 32 * 16));
    cJSON_Delete(j);
    free(out), free(err);
    snprintf(args, sizeof args, "prune --model '%s' --method antidote --calib '%s' --ratio 2 --out '%s/o2'", dir,
             calib, tmp);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 2);
    assert_non_null(strstr(err, "--ratio"));
    free(err);
    snprintf(args, sizeof args, "prune --model '%s' --method antidote --calib '%s' --targets q,x --out '%s/o2'",
             dir, calib, tmp);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 2);
    assert_non_null(strstr(err, "'x'"));
    free(err);
    free(dir);
    free(tmp);
    cJSON_Delete(fx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norms_and_masks), cmocka_unit_test(test_checkpoint), cmocka_unit_test(test_random),
        cmocka_unit_test(test_base_delta),      cmocka_unit_test(test_errors),          cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
