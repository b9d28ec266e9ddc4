/*
 * tests/unit/test_guard_formats.c - the guard formats (warden/guard_format.h):
 *   - every generative format's prompt byte-equal to its chat template
 *     rendered by jinja2 (tests/fixtures/guard_formats/expected.json, made
 *     by tests/tools/gen_guard_format_fixtures.py from the *.jinja there);
 *   - the answers as the model cards show them, parsed into verdicts and
 *     categories with their spans;
 *   - detection from chat templates, architectures and label names;
 *   - the formats' categories on warden's taxonomy.
 */
#include <math.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "model_fixture.h"
#include "serve/serve_internal.h"
#include "warden/guard_format.h"

/* ==== rendering =========================================================== */

static void test_render_matches_jinja(void **s) {
    (void)s;
    char path[1024];
    snprintf(path, sizeof path, "%s/guard_formats/expected.json", WD_TEST_FIXTURES);
    char *text = mf_read(path, NULL);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases");
    int n = 0, per[WD_GUARD_FORMAT_COUNT] = {0};
    for (const cJSON *c = cases->child; c; c = c->next, n++) {
        wd_guard_format f;
        assert_int_equal(wd_guard_format_parse(cJSON_GetObjectItem(c, "format")->valuestring, &f), WD_OK);
        const cJSON *pol = cJSON_GetObjectItem(c, "policy"), *msgs = cJSON_GetObjectItem(c, "messages");
        wd_chat_message m[8];
        size_t nm = 0;
        for (const cJSON *it = msgs->child; it; it = it->next)
            m[nm++] = (wd_chat_message){cJSON_GetObjectItem(it, "role")->valuestring,
                                        cJSON_GetObjectItem(it, "content")->valuestring};
        char *got = NULL;
        assert_int_equal(wd_guard_format_render(f, m, nm, cJSON_IsString(pol) ? pol->valuestring : NULL, &got), WD_OK);
        const char *want = cJSON_GetObjectItem(c, "expected")->valuestring;
        if (strcmp(got, want)) {
            size_t i = 0;
            while (got[i] && got[i] == want[i]) i++;
            fail_msg("%s (%s, %zu messages): differs at byte %zu:\n got: %.60s\nwant: %.60s",
                     wd_guard_format_name(f), cJSON_IsString(pol) ? pol->valuestring : "-", nm, i, got + i, want + i);
        }
        per[f]++;
        free(got);
    }
    for (int f = WD_GUARD_FORMAT_LLAMA_GUARD_3; f <= WD_GUARD_FORMAT_WILDGUARD; f++)
        if (per[f] == 0) fail_msg("no rendering case for %s", wd_guard_format_name((wd_guard_format)f));
    print_message("%d prompts byte-equal to jinja2's\n", n);
    cJSON_Delete(root);

    /* bad input */
    char *out = (char *)1;
    wd_chat_message bad[] = {{"assistant", "x"}};
    assert_int_equal(wd_guard_format_render(WD_GUARD_FORMAT_QWEN3GUARD, bad, 1, NULL, &out), WD_ERR_INVALID_ARG);
    assert_null(out);
    wd_chat_message one[] = {{"user", "x"}};
    assert_int_equal(wd_guard_format_render(WD_GUARD_FORMAT_SHIELDGEMMA, one, 1, "nope", &out), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "nope"));
    assert_int_equal(wd_guard_format_render(WD_GUARD_FORMAT_PROMPT_GUARD, one, 1, NULL, &out), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_guard_format_render(WD_GUARD_FORMAT_WILDGUARD, one, 0, NULL, &out), WD_ERR_INVALID_ARG);
}

/* ==== parsing ============================================================= */

static wd_guard_answer parse(wd_guard_format f, const char *text, wd_role role) {
    wd_guard_answer a;
    assert_int_equal(wd_guard_format_parse_answer(f, text, role, &a), WD_OK);
    return a;
}

#define CAT(c) WD_CATMASK(WD_CATEGORY_##c)

static void test_parse_answers(void **s) {
    (void)s;
    /* Llama Guard 3 / 4: "safe", "unsafe\nS1,S10" (the model card's answer lines) */
    wd_guard_answer a = parse(WD_GUARD_FORMAT_LLAMA_GUARD_3, "safe", WD_ROLE_INPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_SAFE);
    assert_int_equal(a.n_cats, 0);
    const char *lg = "unsafe\nS1,S10";
    a = parse(WD_GUARD_FORMAT_LLAMA_GUARD_3, lg, WD_ROLE_INPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_UNSAFE);
    assert_int_equal(a.n_cats, 2);
    assert_int_equal(a.cat[0].mask, CAT(S1));
    assert_int_equal(a.cat[0].start, 7);
    assert_int_equal(a.cat[0].end, 9);
    assert_int_equal(a.cat[1].mask, CAT(S10));
    assert_int_equal(a.cat[1].start, 10);
    assert_int_equal(a.cat[1].end, 13);
    assert_int_equal(a.categories, CAT(S1) | CAT(S10));
    a = parse(WD_GUARD_FORMAT_LLAMA_GUARD_4, "\n\nunsafe\nS9<|eot|>", WD_ROLE_OUTPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_UNSAFE);
    assert_int_equal(a.categories, CAT(S9));
    a = parse(WD_GUARD_FORMAT_LLAMA_GUARD_3, "unsafe\nS15,S2", WD_ROLE_INPUT); /* S15 is no hazard */
    assert_int_equal(a.categories, CAT(S2));
    a = parse(WD_GUARD_FORMAT_LLAMA_GUARD_3, "I cannot tell", WD_ROLE_INPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_NONE);

    /* ShieldGemma and Granite Guardian: Yes / No first */
    assert_int_equal(parse(WD_GUARD_FORMAT_SHIELDGEMMA, "Yes", WD_ROLE_INPUT).verdict, WD_GUARD_VERDICT_UNSAFE);
    assert_int_equal(parse(WD_GUARD_FORMAT_SHIELDGEMMA, "No. The question asks about baking.", WD_ROLE_INPUT).verdict,
                     WD_GUARD_VERDICT_SAFE);
    assert_int_equal(parse(WD_GUARD_FORMAT_GRANITE_GUARDIAN, "Yes", WD_ROLE_OUTPUT).verdict, WD_GUARD_VERDICT_UNSAFE);
    assert_int_equal(parse(WD_GUARD_FORMAT_GRANITE_GUARDIAN, "No", WD_ROLE_INPUT).verdict, WD_GUARD_VERDICT_SAFE);
    assert_int_equal(parse(WD_GUARD_FORMAT_GRANITE_GUARDIAN, "Nothing", WD_ROLE_INPUT).verdict, WD_GUARD_VERDICT_NONE);

    /* Qwen3Guard-Gen, prompt and response moderation (model card outputs) */
    const char *q = "Safety: Unsafe\nCategories: Violent";
    a = parse(WD_GUARD_FORMAT_QWEN3GUARD, q, WD_ROLE_INPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_UNSAFE);
    assert_int_equal(a.n_cats, 1);
    assert_int_equal(a.cat[0].mask, CAT(S1));
    assert_string_equal(q + a.cat[0].start, "Violent");
    assert_int_equal(a.refusal, -1);
    a = parse(WD_GUARD_FORMAT_QWEN3GUARD, "Safety: Safe\nCategories: None\nRefusal: Yes", WD_ROLE_OUTPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_SAFE);
    assert_int_equal(a.n_cats, 0);
    assert_int_equal(a.refusal, 1);
    a = parse(WD_GUARD_FORMAT_QWEN3GUARD, "Safety: Controversial\nCategories: Politically Sensitive Topics",
              WD_ROLE_INPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_CONTROVERSIAL);
    assert_int_equal(a.categories, CAT(S13));
    a = parse(WD_GUARD_FORMAT_QWEN3GUARD, "Safety: Unsafe\nCategories: PII, Jailbreak\n", WD_ROLE_INPUT);
    assert_int_equal(a.n_cats, 2);
    assert_int_equal(a.categories, CAT(S7) | CAT(PII) | CAT(PROMPT_INJECTION));

    /* WildGuard: three lines */
    const char *w = "Harmful request: yes\nResponse refusal: no\nHarmful response: yes";
    a = parse(WD_GUARD_FORMAT_WILDGUARD, w, WD_ROLE_OUTPUT);
    assert_int_equal(a.harmful_request, 1);
    assert_int_equal(a.refusal, 0);
    assert_int_equal(a.harmful_response, 1);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_UNSAFE);
    assert_int_equal(a.categories, WD_CATMASK_HAZARDS);
    assert_memory_equal(w + a.cat[0].start, "yes", 3);
    assert_int_equal(a.cat[0].start, strlen(w) - 3);
    a = parse(WD_GUARD_FORMAT_WILDGUARD, "Harmful request: no\nResponse refusal: N/A\nHarmful response: N/A",
              WD_ROLE_INPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_SAFE);
    assert_int_equal(a.refusal, -1);
    a = parse(WD_GUARD_FORMAT_WILDGUARD, "Harmful request: yes\nResponse refusal: yes\nHarmful response: no",
              WD_ROLE_OUTPUT);
    assert_int_equal(a.verdict, WD_GUARD_VERDICT_SAFE);
    assert_int_equal(a.harmful_request, 1);

    wd_guard_answer x;
    assert_int_equal(wd_guard_format_parse_answer(WD_GUARD_FORMAT_PROMPT_GUARD, "x", WD_ROLE_INPUT, &x),
                     WD_ERR_INVALID_ARG);
}

/* ==== detection, labels, names, taxonomy ================================= */

static void test_detect_and_labels(void **s) {
    (void)s;
    char path[1024];
    snprintf(path, sizeof path, "%s/guard_formats/llama-guard-3-8b.jinja", WD_TEST_FIXTURES);
    char *lg3 = mf_read(path, NULL);
    assert_int_equal(wd_guard_format_detect(lg3, "LlamaForCausalLM", NULL, 0), WD_GUARD_FORMAT_LLAMA_GUARD_3);
    free(lg3);
    static const struct { const char *file; wd_guard_format f; } T[] = {
        {"llama-guard-4-12b.jinja", WD_GUARD_FORMAT_LLAMA_GUARD_4},
        {"shieldgemma.jinja", WD_GUARD_FORMAT_SHIELDGEMMA},
        {"granite-guardian-3.1.jinja", WD_GUARD_FORMAT_GRANITE_GUARDIAN},
        {"qwen3guard-gen.jinja", WD_GUARD_FORMAT_QWEN3GUARD},
        {"wildguard.jinja", WD_GUARD_FORMAT_WILDGUARD},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        snprintf(path, sizeof path, "%s/guard_formats/%s", WD_TEST_FIXTURES, T[i].file);
        char *t = mf_read(path, NULL);
        assert_int_equal(wd_guard_format_detect(t, "", NULL, 0), T[i].f);
        free(t);
    }
    /* a plain chat template (Llama 3 instruct) is no guard format: a decoder defaults to Llama Guard 3 */
    assert_int_equal(wd_guard_format_detect("{{ '<|start_header_id|>' + message['role'] }}", "LlamaForCausalLM", NULL, 0),
                     WD_GUARD_FORMAT_LLAMA_GUARD_3);
    assert_int_equal(wd_guard_format_detect(NULL, "Llama4ForConditionalGeneration", NULL, 0),
                     WD_GUARD_FORMAT_LLAMA_GUARD_4);
    const char *pg1[] = {"BENIGN", "INJECTION", "JAILBREAK"}, *pg2[] = {"LABEL_0", "LABEL_1"},
               *tox[] = {"non-toxic", "toxic"};
    assert_int_equal(wd_guard_format_detect(NULL, "DebertaV2ForSequenceClassification", pg1, 3),
                     WD_GUARD_FORMAT_PROMPT_GUARD);
    assert_int_equal(wd_guard_format_detect(NULL, "DebertaV2ForSequenceClassification", pg2, 2),
                     WD_GUARD_FORMAT_SEQ_CLASSIFIER);
    assert_int_equal(wd_guard_format_detect(NULL, "RobertaForSequenceClassification", tox, 2),
                     WD_GUARD_FORMAT_SEQ_CLASSIFIER);
    /* Prompt Guard labels, v1 and v2 */
    assert_int_equal(wd_guard_format_label(WD_GUARD_FORMAT_PROMPT_GUARD, "BENIGN", 0, 3, 0), 0);
    assert_int_equal(wd_guard_format_label(WD_GUARD_FORMAT_PROMPT_GUARD, "INJECTION", 1, 3, 0), CAT(PROMPT_INJECTION));
    assert_int_equal(wd_guard_format_label(WD_GUARD_FORMAT_PROMPT_GUARD, "JAILBREAK", 2, 3, 0), CAT(PROMPT_INJECTION));
    assert_int_equal(wd_guard_format_label(WD_GUARD_FORMAT_PROMPT_GUARD, "LABEL_0", 0, 2, 0), 0);
    assert_int_equal(wd_guard_format_label(WD_GUARD_FORMAT_PROMPT_GUARD, "LABEL_1", 1, 2, 0), CAT(PROMPT_INJECTION));
    /* names */
    for (int f = 0; f < WD_GUARD_FORMAT_COUNT; f++) {
        wd_guard_format g;
        assert_int_equal(wd_guard_format_parse(wd_guard_format_name((wd_guard_format)f), &g), WD_OK);
        assert_int_equal(g, f);
    }
    wd_guard_format g;
    assert_int_equal(wd_guard_format_parse("LLAMA-GUARD", &g), WD_OK);
    assert_int_equal(g, WD_GUARD_FORMAT_LLAMA_GUARD_3);
    assert_int_equal(wd_guard_format_parse("llamaguard9", &g), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "qwen3guard"));
    assert_true(wd_guard_format_generative(WD_GUARD_FORMAT_WILDGUARD));
    assert_false(wd_guard_format_generative(WD_GUARD_FORMAT_PROMPT_GUARD));
    size_t np = 0;
    const char *const *pols = wd_guard_format_policies(WD_GUARD_FORMAT_GRANITE_GUARDIAN, &np);
    assert_int_equal(np, 7);
    assert_string_equal(pols[0], "harm");
    assert_null(wd_guard_format_policies(WD_GUARD_FORMAT_QWEN3GUARD, &np));
    assert_int_equal(np, 0);
    /* each format's categories on warden's taxonomy */
    wd_catmask m;
    assert_int_equal(wd_taxonomy_map("shieldgemma", "Hate Speech", &m), WD_OK);
    assert_int_equal(m, CAT(S10));
    assert_int_equal(wd_taxonomy_map("granite-guardian", "jailbreak", &m), WD_OK);
    assert_int_equal(m, CAT(PROMPT_INJECTION));
    assert_int_equal(wd_taxonomy_map("granite-guardian", "harm", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK_HAZARDS);
    assert_int_equal(wd_taxonomy_map("qwen3guard", "copyright violation", &m), WD_OK);
    assert_int_equal(m, CAT(S8));
    assert_int_equal(wd_taxonomy_map("llama-guard", "S14", &m), WD_OK);
    assert_int_equal(m, CAT(S14));
    assert_int_equal(wd_taxonomy_map("prompt-guard", "MALICIOUS", &m), WD_OK);
    assert_int_equal(m, CAT(PROMPT_INJECTION));
    assert_int_equal(wd_taxonomy_map("qwen3guard", "Bananas", &m), WD_ERR_NOT_FOUND);
}

/* A format's native category -> warden's taxonomy -> the OpenAI moderation
 * names the server writes (serve/openai.c's table, unchanged). */
static bool openai_has(wd_catmask m, const char *name) {
    for (int k = 0; k < WD__OPENAI_N; k++)
        if (!strcmp(wd__openai_cats[k].name, name))
            return wd__openai_cats[k].all ? (m & wd__openai_cats[k].from) == wd__openai_cats[k].from
                                          : (m & wd__openai_cats[k].from) != 0;
    fail_msg("no OpenAI category %s", name);
    return false;
}

static void test_openai_names(void **s) {
    (void)s;
    static const struct { const char *scheme, *code, *openai; } T[] = {
        {"shieldgemma", "Hate Speech", "hate"},          {"shieldgemma", "Harassment", "harassment"},
        {"shieldgemma", "Sexually Explicit Information", "sexual"},
        {"shieldgemma", "Dangerous Content", "self-harm"}, {"shieldgemma", "Dangerous Content", "violence"},
        {"granite-guardian", "violence", "violence"},    {"granite-guardian", "social_bias", "hate"},
        {"granite-guardian", "sexual_content", "sexual"}, {"qwen3guard", "Violent", "violence"},
        {"qwen3guard", "Non-violent Illegal Acts", "illicit"}, {"qwen3guard", "Suicide & Self-Harm", "self-harm"},
        {"qwen3guard", "Copyright Violation", "illicit"}, {"qwen3guard", "Sexual Content or Sexual Acts", "sexual"},
        {"llama-guard", "S4", "sexual/minors"},          {"wildguard", "harmful", "illicit"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        wd_catmask m = 0;
        assert_int_equal(wd_taxonomy_map(T[i].scheme, T[i].code, &m), WD_OK);
        if (!openai_has(m, T[i].openai)) fail_msg("%s %s does not reach OpenAI's %s", T[i].scheme, T[i].code, T[i].openai);
    }
    /* the ones OpenAI has no name for keep warden's own key */
    wd_catmask m = 0;
    assert_int_equal(wd_taxonomy_map("granite-guardian", "jailbreak", &m), WD_OK);
    assert_true(m & wd__openai_uncovered());
    assert_int_equal(wd_taxonomy_map("qwen3guard", "Politically Sensitive Topics", &m), WD_OK);
    assert_true(m & wd__openai_uncovered()); /* S13: "elections" */
}

/* ==== the formats in the judges (tiny random checkpoints) ================ */

#include "guard/format_judge.h"

static char *judge_dir(const char *name) {
    char *dir = mf_make(name, "--family llama --seed 43 --vocab 272 --max-pos 2048");
    mf_copy_tokenizer("bpe-spm", dir);
    return dir;
}

static wd_guard *guard_from(const char *yaml) {
    wd_guard *g = NULL;
    if (wd_guard_load_string(yaml, strlen(yaml), "test.yaml", NULL, NULL, &g)) fail_msg("policy: %s", wd_last_error());
    return g;
}

/* The first token of word that writes something, when the word is split. */
static int32_t first_piece(const wd_tokenizer *tok, const char *word) {
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    int32_t ids[32];
    size_t n = 0;
    assert_int_equal(wd_tokenizer_encode_ids(tok, word, strlen(word), &ep, ids, 32, &n), WD_OK);
    for (size_t k = 0; k < n; k++) {
        char *s = NULL;
        assert_int_equal(wd_tokenizer_decode(tok, &ids[k], 1, NULL, &s, NULL), WD_OK);
        bool w = strspn(s, " ") < strlen(s);
        free(s);
        if (w) return n - k > 1 ? ids[k] : -1;
    }
    return -1;
}

/* P(Yes) the model card's way, from scratch: a plain forward over the
 * prompt, the mass of the tokens spelling Yes against those spelling No
 * (text equal to the word, or its first piece when split). */
static double p_yes(wd_model *m, const char *prompt) {
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    size_t V = wd_model_n_vocab(m);
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_encoding *enc = NULL;
    assert_int_equal(wd_tokenizer_encode(tok, prompt, strlen(prompt), &ep, &enc), WD_OK);
    size_t n = wd_encoding_len(enc);
    wd_context_params cp = {.n_ctx = n + 1, .n_batch = 64};
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    float *lg = malloc(n * V * sizeof *lg);
    assert_int_equal(wd_model_forward(ctx, wd_encoding_ids(enc), n, lg), WD_OK);
    const float *last = lg + (n - 1) * V;
    int32_t fy[2] = {first_piece(tok, "Yes"), first_piece(tok, " Yes")}, fn[2] = {first_piece(tok, "No"), first_piece(tok, " No")};
    double mx = -INFINITY, y = 0, no = 0;
    for (size_t v = 0; v < V; v++) mx = fmax(mx, last[v]);
    for (int32_t v = 0; (size_t)v < V; v++) {
        char *s = NULL;
        if (wd_tokenizer_decode(tok, &v, 1, NULL, &s, NULL)) s = strdup(""); /* no text of its own */
        const char *t = s + strspn(s, " ");
        bool is_y = (*t && !strcasecmp(t, "yes")) || v == fy[0] || v == fy[1];
        bool is_n = !is_y && ((*t && !strcasecmp(t, "no")) || v == fn[0] || v == fn[1]);
        free(s);
        if (is_y) y += exp(last[v] - mx);
        if (is_n) no += exp(last[v] - mx);
    }
    free(lg);
    wd_context_free(ctx);
    wd_encoding_free(enc);
    return y / (y + no);
}

static void test_policies_share_a_prefix(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    char *dir = judge_dir("gf_sg");
    wd_model *m = mf_load(dir, 1, -1);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: t\ndecode:\n  encodings: none\nscanners:\n  - type: llm_judge\n    model: %s\n"
             "    format: shieldgemma\n    policies: [hate, sexual]\n    threads: 1\n", dir);
    wd_guard *g = guard_from(yaml);
    const char *texts[] = {"how do I bake bread", "tell me a story about a dragon"};
    for (int r = 0; r < 2; r++)
        for (size_t i = 0; i < 2; i++) {
            wd_chat_message msgs[2] = {{"user", r ? "a question" : texts[i]}, {"assistant", texts[i]}};
            size_t nm = r ? 2 : 1;
            char *ph = NULL, *ps = NULL;
            assert_int_equal(wd_guard_format_render(WD_GUARD_FORMAT_SHIELDGEMMA, msgs, nm, "hate", &ph), WD_OK);
            assert_int_equal(wd_guard_format_render(WD_GUARD_FORMAT_SHIELDGEMMA, msgs, nm, "sexual", &ps), WD_OK);
            double want_h = p_yes(m, ph), want_s = p_yes(m, ps);
            wd_check_params cp = wd_check_params_default();
            cp.role = r ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
            wd_chat_message ctx[1] = {{"user", "a question"}};
            if (r) cp.context = ctx, cp.n_context = 1;
            wd_verdict *v = NULL;
            assert_int_equal(wd_guard_check(g, texts[i], strlen(texts[i]), &cp, &v), WD_OK);
            assert_null(wd_verdict_error(v));
            print_message("shieldgemma %s %zu: P(Yes) hate %.6f (want %.6f), sexual %.6f (want %.6f)\n",
                          r ? "response" : "prompt", i, wd_verdict_score(v, WD_CATEGORY_S10), want_h,
                          wd_verdict_score(v, WD_CATEGORY_S12), want_s);
            assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S10), want_h, 2e-5);
            assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S12), want_s, 2e-5);
            assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S1), 0.0f, 0.0); /* dangerous: not asked */
            assert_null(wd_verdict_rationale(v));
            wd_verdict_free(v);
            free(ph);
            free(ps);
        }
    wd_guard_free(g);
    /* an unknown policy names the field */
    snprintf(yaml, sizeof yaml, "name: t\nscanners:\n  - type: llm_judge\n    model: %s\n    format: shieldgemma\n"
             "    policies: [hates]\n", dir);
    g = (wd_guard *)1;
    assert_true(wd_guard_load_string(yaml, strlen(yaml), "bad.yaml", NULL, NULL, &g) < 0);
    assert_null(g);
    assert_non_null(strstr(wd_last_error(), "bad.yaml:"));
    assert_non_null(strstr(wd_last_error(), "hates"));
    snprintf(yaml, sizeof yaml, "name: t\nscanners:\n  - type: llm_judge\n    model: %s\n    format: prompt-guard\n", dir);
    assert_true(wd_guard_load_string(yaml, strlen(yaml), "bad.yaml", NULL, NULL, &g) < 0);
    assert_non_null(strstr(wd_last_error(), "encoder_classifier"));
    wd_model_free(m);
    free(dir);
}

/* Llama Guard's "unsafe\nS1,S10": each code scored base x the
 * probability of the tokens that wrote it. */
static void test_category_scores(void **s) {
    (void)s;
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/bpe-spm/tokenizer.json", WD_TEST_FIXTURES);
    wd_tokenizer *tok = NULL;
    assert_int_equal(wd_tokenizer_load(path, &tok), WD_OK);
    const char *answer = "unsafe\nS1,S10";
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    int32_t ids[64];
    float p[64];
    size_t n = 0;
    assert_int_equal(wd_tokenizer_encode_ids(tok, answer, strlen(answer), &ep, ids, 64, &n), WD_OK);
    /* every token sure but the one writing the last "0" */
    size_t zero = n;
    for (size_t k = 0; k < n; k++) {
        char *t = NULL;
        assert_int_equal(wd_tokenizer_decode(tok, &ids[k], 1, NULL, &t, NULL), WD_OK);
        if (!strcmp(t, "0")) zero = k;
        free(t);
        p[k] = 1.0f;
    }
    assert_true(zero < n);
    p[zero] = 0.25f;
    float sc[WD_CATEGORY_COUNT] = {0};
    wd_catmask m = wd__fjudge_cat_scores(tok, WD_GUARD_FORMAT_LLAMA_GUARD_3, WD_ROLE_INPUT, ids, p, n, 0.8f, sc);
    assert_int_equal(m, CAT(S1) | CAT(S10));
    assert_float_equal(sc[WD_CATEGORY_S1], 0.8f, 1e-6);
    assert_float_equal(sc[WD_CATEGORY_S10], 0.2f, 1e-6);
    assert_float_equal(sc[WD_CATEGORY_S2], 0.0f, 0.0);
    /* Qwen3Guard's names, the same way */
    const char *q = "Safety: Unsafe\nCategories: Violent, Jailbreak";
    assert_int_equal(wd_tokenizer_encode_ids(tok, q, strlen(q), &ep, ids, 64, &n), WD_OK);
    for (size_t k = 0; k < n; k++) p[k] = 0.5f;
    memset(sc, 0, sizeof sc);
    m = wd__fjudge_cat_scores(tok, WD_GUARD_FORMAT_QWEN3GUARD, WD_ROLE_INPUT, ids, p, n, 1.0f, sc);
    assert_int_equal(m, CAT(S1) | CAT(PROMPT_INJECTION));
    assert_true(sc[WD_CATEGORY_S1] > 0.0f && sc[WD_CATEGORY_S1] <= 0.5f);
    assert_true(sc[WD_CATEGORY_PROMPT_INJECTION] > 0.0f && sc[WD_CATEGORY_PROMPT_INJECTION] <= 0.5f);
    wd_tokenizer_free(tok);
}

/* warden check with each generative format on a random llama-shaped
 * judge: the plumbing (prompt, verdict slots, categories, rationale, JSON),
 * not accuracy. */
static void test_check_every_format(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    char *dir = judge_dir("gf_cli");
    static const char *const F[] = {"llama-guard-3", "llama-guard-4", "shieldgemma", "granite-guardian",
                                    "qwen3guard", "wildguard"};
    char policy[1024], yaml[2048], args[2048];
    snprintf(policy, sizeof policy, "%s/judge.yaml", dir);
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
        for (int how = 0; how < 2; how++)
            for (int role = 0; role < 2; role++) {
                if (how == 0) { /* the policy node's format: and explain_verdict: */
                    snprintf(yaml, sizeof yaml,
                             "name: t\nscanners:\n  - type: llm_judge\n    model: %s\n    format: %s\n"
                             "    explain_verdict: true\n    explain_max_tokens: 6\n    generate_above: 0\n"
                             "    max_tokens: 8\n", dir, F[i]);
                    wdt_write_file(policy, yaml, strlen(yaml));
                    snprintf(args, sizeof args, "check --json --role %s --policy '%s' 'how do I bake bread'",
                             role ? "output" : "input", policy);
                } else { /* the flags */
                    snprintf(args, sizeof args,
                             "check --json --role %s --model '%s' --guard-format %s --explain-verdict "
                             "--explain-max-tokens 6 'how do I bake bread'", role ? "output" : "input", dir, F[i]);
                }
                char *out = NULL, *err = NULL;
                int rc = wdt_cli(args, NULL, &out, &err);
                if (rc != 0 && rc != 1) fail_msg("%s: rc %d: %s", args, rc, err);
                cJSON *v = cJSON_Parse(out);
                if (!v) fail_msg("%s: not JSON: %s", args, out);
                const cJSON *scores = cJSON_GetObjectItem(v, "scores"), *cats = cJSON_GetObjectItem(v, "categories"),
                            *why = cJSON_GetObjectItem(v, "rationale");
                assert_true(cJSON_IsObject(scores) && cJSON_IsArray(cats));
                assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "error")));
                double mx = 0;
                for (const cJSON *it = scores->child; it; it = it->next) mx = fmax(mx, it->valuedouble);
                assert_true(mx > 0.0 && mx <= 1.0);
                assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(v, "unsafe")), rc == 1);
                assert_int_equal(cJSON_GetArraySize(cats) > 0, rc == 1);
                if (!cJSON_IsString(why)) fail_msg("%s: no rationale: %s", F[i], out);
                print_message("%-16s %s %s: max score %.4f, %d categories, rationale %zu bytes\n", F[i],
                              how ? "flags " : "policy", role ? "output" : "input ", mx, cJSON_GetArraySize(cats),
                              strlen(why->valuestring));
                cJSON_Delete(v);
                free(out);
                free(err);
            }
    /* a bad name is a usage of the library's error */
    char *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "check --model '%s' --guard-format llamaguard9 hi", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 3);
    assert_non_null(strstr(err, "llamaguard9"));
    free(out);
    free(err);
    free(dir);
}

/* detection from the checkpoint's tokenizer_config.json chat_template */
static void test_detect_from_checkpoint(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    char *dir = judge_dir("gf_detect");
    char path[1024];
    snprintf(path, sizeof path, "%s/guard_formats/shieldgemma.jinja", WD_TEST_FIXTURES);
    char *tmpl = mf_read(path, NULL);
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddStringToObject(tc, "bos_token", "<s>");
    cJSON_AddStringToObject(tc, "eos_token", "</s>");
    cJSON_AddStringToObject(tc, "chat_template", tmpl);
    char *text = cJSON_Print(tc);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    wdt_write_file(path, text, strlen(text));
    free(text);
    free(tmpl);
    cJSON_Delete(tc);
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_model(dir, NULL, &g), WD_OK);
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check(g, "hello", 5, NULL, &v), WD_OK);
    /* ShieldGemma's four default policies: S1/S9/S11 (dangerous), S10, S12 only */
    assert_true(wd_verdict_score(v, WD_CATEGORY_S10) > 0.0f);
    assert_true(wd_verdict_score(v, WD_CATEGORY_S12) > 0.0f);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S2), 0.0f, 0.0);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S13), 0.0f, 0.0);
    wd_verdict_free(v);
    wd_guard_free(g);
    /* --guard-format wins over the checkpoint */
    wd_guard_params gp = wd_guard_params_default();
    gp.guard_format = "qwen3guard";
    assert_int_equal(wd_guard_load_model(dir, &gp, &g), WD_OK);
    assert_int_equal(wd_guard_check(g, "hello", 5, NULL, &v), WD_OK);
    assert_true(wd_verdict_score(v, WD_CATEGORY_S2) > 0.0f); /* no categories named: every hazard */
    wd_verdict_free(v);
    wd_guard_free(g);
    free(dir);
}

/* Prompt Guard's labels through encoder_classifier */
static void test_prompt_guard_labels(void **s) {
    (void)s;
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("gf_pg", "--family bert --seed 41 --vocab 16 --labels 3");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp %s/tests/fixtures/tokenizers/wordpiece/* '%s'/", WD_SOURCE_DIR, dir);
    assert_int_equal(system(cmd), 0);
    cJSON *patch = cJSON_Parse("{\"id2label\": {\"0\": \"BENIGN\", \"1\": \"INJECTION\", \"2\": \"JAILBREAK\"},"
                               " \"label2id\": {\"BENIGN\": 0, \"INJECTION\": 1, \"JAILBREAK\": 2}}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    wd_model *m = mf_load(dir, 1, -1);
    wd_encoding *enc = NULL;
    assert_int_equal(wd_tokenizer_encode(wd_model_tokenizer(m), "hello world", 11, NULL, &enc), WD_OK);
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    float pr[3];
    assert_int_equal(wd_model_classify(ctx, wd_encoding_ids(enc), wd_encoding_len(enc), pr, NULL, 3), WD_OK);
    wd_context_free(ctx);
    wd_encoding_free(enc);
    wd_model_free(m);
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_model(dir, NULL, &g), WD_OK); /* detected: prompt-guard */
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check(g, "hello world", 11, NULL, &v), WD_OK);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_PROMPT_INJECTION), fmaxf(pr[1], pr[2]), 1e-6);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S1), 0.0f, 0.0);
    wd_verdict_free(v);
    wd_guard_free(g);
    /* v2: LABEL_0 / LABEL_1 needs the format named */
    patch = cJSON_Parse("{\"id2label\": {\"0\": \"LABEL_0\", \"1\": \"LABEL_1\", \"2\": \"LABEL_2\"}}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    free(dir);
    dir = mf_make("gf_pg2", "--family bert --seed 41 --vocab 16 --labels 2");
    snprintf(cmd, sizeof cmd, "cp %s/tests/fixtures/tokenizers/wordpiece/* '%s'/", WD_SOURCE_DIR, dir);
    assert_int_equal(system(cmd), 0);
    patch = cJSON_Parse("{\"id2label\": {\"0\": \"LABEL_0\", \"1\": \"LABEL_1\"}, \"label2id\": {\"LABEL_0\": 0, \"LABEL_1\": 1}}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    wd_guard_params gp = wd_guard_params_default();
    gp.guard_format = "prompt-guard";
    assert_int_equal(wd_guard_load_model(dir, &gp, &g), WD_OK);
    assert_int_equal(wd_guard_check(g, "hello world", 11, NULL, &v), WD_OK);
    assert_true(wd_verdict_score(v, WD_CATEGORY_PROMPT_INJECTION) > 0.0f);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_S1), 0.0f, 0.0);
    wd_verdict_free(v);
    wd_guard_free(g);
    assert_int_equal(wd_guard_load_model(dir, NULL, &g), WD_OK); /* seq-classifier: LABEL_1 = harmful */
    assert_int_equal(wd_guard_check(g, "hello world", 11, NULL, &v), WD_OK);
    assert_float_equal(wd_verdict_score(v, WD_CATEGORY_PROMPT_INJECTION), 0.0f, 0.0);
    assert_true(wd_verdict_score(v, WD_CATEGORY_S1) > 0.0f);
    wd_verdict_free(v);
    wd_guard_free(g);
    /* prompt-guard named on labels that are not Prompt Guard's would never
     * fire: refused at load, naming the labels */
    patch = cJSON_Parse("{\"id2label\": {\"0\": \"safe\", \"1\": \"unsafe\"}, \"label2id\": {\"safe\": 0, \"unsafe\": 1}}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    assert_int_equal(wd_guard_load_model(dir, &gp, &g), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "none of the model's labels (safe, unsafe)"));
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_matches_jinja),
        cmocka_unit_test(test_parse_answers),
        cmocka_unit_test(test_detect_and_labels),
        cmocka_unit_test(test_openai_names),
        cmocka_unit_test(test_category_scores),
        cmocka_unit_test(test_policies_share_a_prefix),
        cmocka_unit_test(test_check_every_format),
        cmocka_unit_test(test_detect_from_checkpoint),
        cmocka_unit_test(test_prompt_guard_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
