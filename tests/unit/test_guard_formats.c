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
#include <cjson/cJSON.h>

#include "model_fixture.h"
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_matches_jinja),
        cmocka_unit_test(test_parse_answers),
        cmocka_unit_test(test_detect_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
