/*
 * tests/unit/test_guard_models.c - the model-based scanners through the
 * guard engine: `encoder_classifier` (a tiny random BERT classifier with a
 * WordPiece tokenizer) and `llm_judge` (a tiny random Llama with an SPM-BPE
 * tokenizer and the Llama Guard 3 prompt). The expected scores are computed
 * here from the runtime's plain forward pass (no prefix cache, no scanner
 * code): the verdict must carry exactly those probabilities on the
 * categories the label rules / the policy name.
 */
#include <math.h>

#include "model_fixture.h"

static char *make_with_tokenizer(const char *name, const char *args, const char *tok) {
    char *dir = mf_make(name, args);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp %s/tests/fixtures/tokenizers/%s/* '%s'/", WD_SOURCE_DIR, tok, dir);
    assert_int_equal(system(cmd), 0);
    return dir;
}

static wd_guard *guard_from(const char *yaml) {
    wd_guard *g = NULL;
    wd_status st = wd_guard_load_string(yaml, strlen(yaml), "test.yaml", NULL, NULL, &g);
    if (st) fail_msg("policy: %s", wd_last_error());
    return g;
}

static wd_verdict *check(wd_guard *g, const char *text, wd_role role) {
    wd_check_params cp = wd_check_params_default();
    cp.role = role;
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check(g, text, strlen(text), &cp, &v), WD_OK);
    if (wd_verdict_error(v)) fail_msg("verdict error: %s", wd_verdict_error(v));
    return v;
}

/* ==== encoder_classifier ================================================== */

static void probs_of(wd_model *m, const char *text, float *probs) {
    wd_encoding *enc = NULL;
    assert_int_equal(wd_tokenizer_encode(wd_model_tokenizer(m), text, strlen(text), NULL, &enc), WD_OK);
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    assert_int_equal(wd_model_classify(ctx, wd_encoding_ids(enc), wd_encoding_len(enc), probs, NULL,
                                       wd_model_n_labels(m)),
                     WD_OK);
    wd_context_free(ctx);
    wd_encoding_free(enc);
}

static void test_encoder_classifier(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    /* two labels "safe" / "unsafe" (the generator's names): unsafe -> hazards */
    char *dir = make_with_tokenizer("gm_bert2", "--family bert --seed 41 --vocab 16", "wordpiece");
    wd_model *m = mf_load(dir, 1, -1);
    assert_string_equal(wd_model_label(m, 1), "unsafe");
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "name: t\nfail: closed\nscanners:\n  - type: encoder_classifier\n    model: %s\n"
             "    unsafe_categories: [S1, S10]\n",
             dir);
    wd_guard *g = guard_from(yaml);
    const char *texts[] = {"hello world", "the quick brown fox", "a"};
    for (size_t i = 0; i < 3; i++) {
        float p[2];
        probs_of(m, texts[i], p);
        wd_verdict *v = check(g, texts[i], WD_ROLE_INPUT);
        assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S1), p[1], 1e-6);
        assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S10), p[1], 1e-6);
        assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S2), 0.0f, 0.0);
        wd_verdict_free(v);
    }
    wd_guard_free(g);
    wd_model_free(m);
    free(dir);

    /* three labels label_0..2 mapped by the policy */
    dir = make_with_tokenizer("gm_bert3", "--family distilbert --seed 42 --vocab 16 --labels 3",
                              "wordpiece");
    m = mf_load(dir, 1, -1);
    snprintf(yaml, sizeof yaml,
             "name: t\nscanners:\n  - type: encoder_classifier\n    model: %s\n"
             "    labels: {label_1: prompt_injection, LABEL_2: [S9, pii], label_0: ignore}\n",
             dir);
    g = guard_from(yaml);
    float p[3];
    probs_of(m, "hello world", p);
    wd_verdict *v = check(g, "hello world", WD_ROLE_INPUT);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_PROMPT_INJECTION), p[1], 1e-6);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S9), p[2], 1e-6);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_PII), p[2], 1e-6);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S1), 0.0f, 0.0);
    wd_verdict_free(v);
    wd_guard_free(g);
    /* bad options are reported with their location */
    snprintf(yaml, sizeof yaml,
             "name: t\nscanners:\n  - type: encoder_classifier\n    model: %s\n"
             "    labels: {label_1: not_a_category}\n",
             dir);
    g = (wd_guard *)1;
    assert_true(wd_guard_load_string(yaml, strlen(yaml), "bad.yaml", NULL, NULL, &g) < 0);
    assert_null(g);
    assert_non_null(strstr(wd_last_error(), "bad.yaml:"));
    snprintf(yaml, sizeof yaml, "name: t\nscanners:\n  - type: encoder_classifier\n    model: /nonexistent\n");
    assert_true(wd_guard_load_string(yaml, strlen(yaml), "bad.yaml", NULL, NULL, &g) < 0);
    assert_non_null(strstr(wd_last_error(), "/nonexistent"));
    wd_model_free(m);
    free(dir);
}

/* ==== llm_judge =========================================================== */

/* p(unsafe) recomputed from scratch: full forward over the rendered prompt,
 * softmax at the last position, mass of the tokens spelling "unsafe". */
static float p_unsafe(wd_model *m, const char *text, wd_role role, wd_catmask cats) {
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    wd_chat_message msgs[2];
    size_t n = 0;
    if (role == WD_ROLE_OUTPUT) msgs[n++] = (wd_chat_message){"user", ""};
    msgs[n++] = (wd_chat_message){role == WD_ROLE_OUTPUT ? "assistant" : "user", text};
    char *prompt = NULL;
    assert_int_equal(wd_llama_guard3_prompt(msgs, n, cats, &prompt, NULL), WD_OK);
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_encoding *enc = NULL;
    assert_int_equal(wd_tokenizer_encode(tok, prompt, strlen(prompt), &ep, &enc), WD_OK);
    double pu = mf_p_unsafe_forward(m, wd_encoding_ids(enc), wd_encoding_len(enc));
    free(prompt);
    wd_encoding_free(enc);
    return (float)pu;
}

static float p_unsafe_of(const char *dir, const char *text) {
    wd_model *m = mf_load(dir, 1, -1);
    float p = p_unsafe(m, text, WD_ROLE_INPUT, 0);
    wd_model_free(m);
    return p;
}

static void test_llm_judge(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = make_with_tokenizer("gm_judge", "--family llama --seed 43 --vocab 272 --max-pos 2048",
                                    "bpe-spm");
    wd_model *m = mf_load(dir, 1, -1);
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "name: t\nscanners:\n  - type: llm_judge\n    model: %s\n    categories: [S1, S9]\n"
             "    generate_above: 1.0\n    threads: 1\n",
             dir);
    wd_guard *g = guard_from(yaml);
    /* the same role twice (prefix cache reused), then the other role, then back */
    const char *texts[] = {"how do I bake bread", "tell me a story", "ok", "how do I bake bread"};
    wd_role roles[] = {WD_ROLE_INPUT, WD_ROLE_INPUT, WD_ROLE_OUTPUT, WD_ROLE_INPUT};
    for (size_t i = 0; i < 4; i++) {
        float want = p_unsafe(m, texts[i], roles[i], WD_CATMASK(WD_CATEGORY_S1) | WD_CATMASK(WD_CATEGORY_S9));
        wd_verdict *v = check(g, texts[i], roles[i]);
        print_message("judge %zu: p(unsafe) %.6g, verdict S1 %.6g\n", i, want,
                      wd_verdict_score(v, WD_CATEGORY_S1));
        assert_true(want > 0.0f);
        assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S1), want, 2e-5);
        assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S9), want, 2e-5);
        assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S2), 0.0f, 0.0);
        wd_verdict_free(v);
    }
    wd_guard_free(g);

    /* generation of the category line always on: runs and scores something */
    snprintf(yaml, sizeof yaml,
             "name: t\nscanners:\n  - type: llm_judge\n    model: %s\n    generate_above: 0\n"
             "    max_tokens: 6\n",
             dir);
    g = guard_from(yaml);
    wd_verdict *v = check(g, "some text", WD_ROLE_INPUT);
    float mxs = 0;
    for (int c = 0; c <= WD_CATEGORY_S14; c++) mxs = fmaxf(mxs, wd_verdict_score(v, (wd_category)c));
    assert_float_equal(mxs, p_unsafe(m, "some text", WD_ROLE_INPUT, 0), 2e-5);
    wd_verdict_free(v);
    wd_guard_free(g);

    /* a user template: {text} and {role} substituted */
    char tpath[1024];
    snprintf(tpath, sizeof tpath, "%s/judge.txt", dir);
    const char *tmpl = "Is this {role} message safe?\n{text}\nAnswer:";
    wdt_write_file(tpath, tmpl, strlen(tmpl));
    snprintf(yaml, sizeof yaml,
             "name: t\nscanners:\n  - type: llm_judge\n    model: %s\n    template: %s\n"
             "    generate_above: 1\n",
             dir, tpath);
    g = guard_from(yaml);
    v = check(g, "hi there", WD_ROLE_INPUT);
    assert_true(wd_verdict_score(v, WD_CATEGORY_S1) > 0.0f);
    wd_verdict_free(v);
    wd_guard_free(g);
    snprintf(yaml, sizeof yaml, "name: t\nscanners:\n  - type: llm_judge\n    model: %s\n    categories: [pii]\n", dir);
    g = (wd_guard *)1;
    assert_true(wd_guard_load_string(yaml, strlen(yaml), "bad.yaml", NULL, NULL, &g) < 0);
    assert_non_null(strstr(wd_last_error(), "bad.yaml:"));
    wd_model_free(m);
    free(dir);
}

/* ==== a model folder as the whole guard ================================== */

/* wd_guard_load_model and the CLI's --model / --judge DIR: the same scores as
 * the scanner configured by hand. */
static void test_model_folder_guard(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *bert = make_with_tokenizer("gm_bert_dir", "--family bert --seed 41 --vocab 16", "wordpiece");
    char *llama = make_with_tokenizer("gm_llama_dir", "--family llama --seed 43 --vocab 272 --max-pos 2048",
                                      "bpe-spm");
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_model(bert, NULL, &g), WD_OK);
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "name: t\nscanners:\n  - type: encoder_classifier\n    model: %s\n", bert);
    wd_guard *h = guard_from(yaml);
    wd_verdict *a = check(g, "hello world", WD_ROLE_INPUT), *b = check(h, "hello world", WD_ROLE_INPUT);
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        assert_float_equal(wd_verdict_score(a, (wd_category)c), wd_verdict_score(b, (wd_category)c), 1e-6);
    wd_verdict_free(a);
    wd_verdict_free(b);
    wd_guard_free(g);
    wd_guard_free(h);
    assert_int_equal(wd_guard_load_model(llama, NULL, &g), WD_OK);
    float want = p_unsafe_of(llama, "how do I bake bread");
    a = check(g, "how do I bake bread", WD_ROLE_INPUT);
    assert_float_equal(wd_verdict_score(a, WD_CATEGORY_S1), want, 2e-5);
    wd_verdict_free(a);
    wd_guard_free(g);
    assert_int_not_equal(wd_guard_load_model("/nonexistent/model", NULL, &g), WD_OK);
    assert_null(g);

    /* the CLI */
    char args[4096], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "check --json --model '%s' 'how do I bake bread'", llama);
    int rc = wdt_cli(args, NULL, &out, &err);
    assert_true(rc == 0 || rc == 1);
    assert_non_null(strstr(out, "\"scores\""));
    free(out);
    free(err);
    snprintf(args, sizeof args, "certify --json --model '%s' --max-erase 3 'hello world'", bert);
    rc = wdt_cli(args, NULL, &out, &err);
    assert_true(rc == 0 || rc == 1);
    assert_non_null(strstr(out, "\"units\":\"tokens\""));
    free(out);
    free(err);
    char *dir = wdt_tmpdir("gm_eval_model");
    char path[1024];
    snprintf(path, sizeof path, "%s/p.txt", dir);
    wdt_write_file(path, "tell me a story\nbake bread\n", 26);
    snprintf(args, sizeof args, "eval --quiet --fresh --model '%s' --certify suffix:2 --out '%s/out' --data '%s:label=benign'",
             llama, dir, path);
    rc = wdt_cli(args, NULL, &out, &err);
    if (rc) print_message("%s%s", out, err);
    assert_int_equal(rc, 0);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/out/results.jsonl", dir);
    char *res = mf_read(path, NULL);
    assert_non_null(strstr(res, "\"units\":\"judge tokens\""));
    free(res);
    free(dir);
    free(bert);
    free(llama);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoder_classifier),
        cmocka_unit_test(test_llm_judge),
        cmocka_unit_test(test_model_folder_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
