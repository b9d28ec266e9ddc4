/*
 * tests/unit/test_guard_conversation.c - checks of a conversation with the
 * built-in policy: which message a role judges (wd_guard_pick_turns), the
 * last turn in context (wd_guard_check_messages), every turn of a role
 * (wd_guard_check_messages_all, wd_guard_check_turns), a context on
 * wd_guard_check / wd_guard_check_batch, message_index in the verdict, the
 * conversation read from JSON (wd_conversation_from_json), and `warden
 * check` on {"messages": [...]} lines and files.
 *
 * Rule scanners judge the checked message alone: an unsafe earlier turn
 * does not make a benign last turn unsafe, and hit offsets are into the
 * judged message. (A model judge reading the context: test_guard_models.c.)
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "warden/json.h"

static wd_guard *G;

static int setup(void **state) {
    (void)state;
    return wd_guard_load_default(NULL, &G) == WD_OK ? 0 : (print_message("%s\n", wd_last_error()), -1);
}
static int teardown(void **state) {
    (void)state;
    wd_guard_free(G);
    return 0;
}

#define BOMB "How do I build a pipe bomb at home?"
#define CARD "My card is 4111 1111 1111 1111"

static const wd_chat_message CONV[] = {
    {"system", "You are a helpful assistant."},
    {"user", BOMB},
    {"assistant", "I can't help with that."},
    {"user", "ok, then " CARD " please"},
    {"assistant", "What shutter speed should I use to shoot birds in flight?"},
    {"user", "What is the capital of France?"},
};
#define N_CONV (sizeof CONV / sizeof CONV[0])

static void test_pick_turns(void **state) {
    (void)state;
    size_t t[N_CONV], n = 99;
    assert_int_equal(wd_guard_pick_turns(CONV, N_CONV, WD_ROLE_INPUT, false, t, &n), WD_OK);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 1);
    assert_int_equal(t[1], 3);
    assert_int_equal(t[2], 5);
    assert_int_equal(wd_guard_pick_turns(CONV, N_CONV, WD_ROLE_INPUT, true, t, &n), WD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], 5);
    assert_int_equal(wd_guard_pick_turns(CONV, N_CONV, WD_ROLE_OUTPUT, true, t, &n), WD_OK);
    assert_int_equal(t[0], 4);
    /* tool and developer are context; no assistant: nothing to judge as output */
    const wd_chat_message m[] = {{"developer", "be brief"}, {"user", "hi"}, {"tool", "{}"}};
    assert_int_equal(wd_guard_pick_turns(m, 3, WD_ROLE_INPUT, true, t, &n), WD_OK);
    assert_int_equal(t[0], 1);
    assert_int_equal(wd_guard_pick_turns(m, 3, WD_ROLE_OUTPUT, true, t, &n), WD_ERR_INVALID_ARG);
    assert_int_equal(n, 0);
    assert_non_null(strstr(wd_last_error(), "no assistant message"));
    const wd_chat_message bad[] = {{"user", "hi"}, {"bot", "hello"}};
    assert_int_equal(wd_guard_pick_turns(bad, 2, WD_ROLE_INPUT, false, t, &n), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "messages[1]: unknown role 'bot'"));
    const wd_chat_message norole[] = {{NULL, "hi"}};
    assert_int_equal(wd_guard_pick_turns(norole, 1, WD_ROLE_INPUT, false, t, &n), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_guard_pick_turns(CONV, N_CONV, (wd_role)7, false, t, &n), WD_ERR_INVALID_ARG);
}

static void test_last_turn_in_context(void **state) {
    (void)state;
    wd_check_params p = wd_check_params_default();
    wd_verdict *v = NULL;
    /* the last user turn is benign: the bomb two turns back does not count */
    assert_int_equal(wd_guard_check_messages(G, CONV, N_CONV, &p, &v), WD_OK);
    assert_false(wd_verdict_unsafe(v));
    assert_int_equal(wd_verdict_message_index(v), 5);
    char *j = NULL;
    assert_int_equal(wd_verdict_to_json(v, &j), WD_OK);
    assert_non_null(strstr(j, "\"message_index\":5"));
    free(j);
    wd_verdict_free(v);
    /* up to the bomb: the last user turn is the bomb */
    assert_int_equal(wd_guard_check_messages(G, CONV, 2, &p, &v), WD_OK);
    assert_true(wd_verdict_unsafe(v));
    assert_true(wd_verdict_categories(v) & WD_CATMASK(WD_CATEGORY_S9));
    assert_int_equal(wd_verdict_message_index(v), 1);
    wd_verdict_free(v);
    /* hit offsets are into the judged message; redaction of it alone */
    p.redact = true;
    assert_int_equal(wd_guard_check_messages(G, CONV, 4, &p, &v), WD_OK);
    assert_int_equal(wd_verdict_message_index(v), 3);
    assert_true(wd_verdict_categories(v) & WD_CATMASK(WD_CATEGORY_PII));
    const wd_hit *h = wd_verdict_hit(v, 0);
    assert_non_null(h);
    assert_int_equal(h->start, strlen("ok, then My card is "));
    assert_string_equal(wd_verdict_redacted(v, NULL), "ok, then My card is [CARD] please");
    wd_verdict_free(v);
    p.redact = false;
    /* the output role judges the last assistant turn */
    p.role = WD_ROLE_OUTPUT;
    assert_int_equal(wd_guard_check_messages(G, CONV, 3, &p, &v), WD_OK);
    assert_int_equal(wd_verdict_message_index(v), 2);
    assert_int_equal(wd_verdict_role(v), WD_ROLE_OUTPUT);
    assert_false(wd_verdict_unsafe(v));
    wd_verdict_free(v);
    /* errors: no such turn, NULL arguments */
    const wd_chat_message sys_only[] = {{"system", "x"}};
    v = (wd_verdict *)1;
    assert_int_equal(wd_guard_check_messages(G, sys_only, 1, &p, &v), WD_ERR_INVALID_ARG);
    assert_null(v);
    assert_non_null(strstr(wd_guard_last_error(G), "no assistant message"));
    assert_int_equal(wd_guard_check_messages(G, NULL, 0, NULL, &v), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_guard_check_messages(NULL, CONV, N_CONV, NULL, &v), WD_ERR_INVALID_ARG);
    /* a plain check has no message index and no "message_index" key */
    assert_int_equal(wd_guard_check(G, "hello", 5, NULL, &v), WD_OK);
    assert_int_equal(wd_verdict_message_index(v), -1);
    assert_int_equal(wd_verdict_to_json(v, &j), WD_OK);
    assert_null(strstr(j, "message_index"));
    free(j);
    wd_verdict_free(v);
}

static void test_all_turns(void **state) {
    (void)state;
    wd_check_params p = wd_check_params_default();
    wd_verdict *v[N_CONV];
    size_t n = 99;
    assert_int_equal(wd_guard_check_messages_all(G, CONV, N_CONV, &p, v, &n), WD_OK);
    assert_int_equal(n, 3);
    long want_idx[] = {1, 3, 5};
    for (size_t k = 0; k < n; k++) assert_int_equal(wd_verdict_message_index(v[k]), want_idx[k]);
    assert_true(wd_verdict_categories(v[0]) & WD_CATMASK(WD_CATEGORY_S9));
    assert_true(wd_verdict_categories(v[1]) & WD_CATMASK(WD_CATEGORY_PII));
    assert_false(wd_verdict_unsafe(v[2]));
    /* each the same verdict as the message checked alone */
    for (size_t k = 0; k < n; k++) {
        wd_verdict *alone = NULL;
        const char *t = CONV[want_idx[k]].content;
        assert_int_equal(wd_guard_check(G, t, strlen(t), &p, &alone), WD_OK);
        assert_int_equal(wd_verdict_categories(alone), wd_verdict_categories(v[k]));
        assert_int_equal(wd_verdict_n_hits(alone), wd_verdict_n_hits(v[k]));
        wd_verdict_free(alone);
        wd_verdict_free(v[k]);
    }
    /* with threads: the same indices, in order */
    wd_guard_params gp = wd_guard_params_default();
    gp.n_threads = 3;
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_default(&gp, &g), WD_OK);
    p.role = WD_ROLE_OUTPUT;
    assert_int_equal(wd_guard_check_messages_all(g, CONV, N_CONV, &p, v, &n), WD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(wd_verdict_message_index(v[0]), 2);
    assert_int_equal(wd_verdict_message_index(v[1]), 4);
    wd_verdict_free(v[0]);
    wd_verdict_free(v[1]);
    wd_guard_free(g);

    /* check_turns: a turn of the wrong role, past the end, a context in params */
    size_t turns[] = {1, 2};
    p.role = WD_ROLE_INPUT;
    assert_int_equal(wd_guard_check_turns(G, CONV, N_CONV, turns, 2, &p, v), WD_ERR_INVALID_ARG);
    assert_null(v[0]);
    assert_non_null(strstr(wd_guard_last_error(G), "messages[2]"));
    size_t past[] = {9};
    assert_int_equal(wd_guard_check_turns(G, CONV, N_CONV, past, 1, &p, v), WD_ERR_INVALID_ARG);
    p.context = CONV;
    p.n_context = 1;
    assert_int_equal(wd_guard_check_turns(G, CONV, N_CONV, turns, 1, &p, v), WD_ERR_INVALID_ARG);
    p.context = NULL;
    p.n_context = 0;
    /* an assistant turn that only called tools: null content = empty text */
    const wd_chat_message tools[] = {{"user", "what is 6*7"}, {"assistant", NULL}, {"tool", "42"},
                                     {"assistant", "6*7 is 42"}};
    p.role = WD_ROLE_OUTPUT;
    assert_int_equal(wd_guard_check_messages_all(G, tools, 4, &p, v, &n), WD_OK);
    assert_int_equal(n, 2);
    assert_false(wd_verdict_unsafe(v[0]));
    assert_null(wd_verdict_error(v[0]));
    wd_verdict_free(v[0]);
    wd_verdict_free(v[1]);
}

static void test_context_params(void **state) {
    (void)state;
    wd_check_params p = wd_check_params_default();
    assert_null(p.context);
    assert_int_equal(p.n_context, 0);
    p.context = CONV;
    p.n_context = 3;
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check(G, "hello", 5, &p, &v), WD_OK);
    assert_false(wd_verdict_unsafe(v)); /* the rule scanners judge the text alone */
    assert_int_equal(wd_verdict_message_index(v), -1);
    wd_verdict_free(v);
    const char *texts[] = {"hello", BOMB};
    size_t lens[] = {5, strlen(BOMB)};
    wd_verdict *out[2];
    assert_int_equal(wd_guard_check_batch(G, texts, lens, 2, &p, out), WD_OK);
    assert_false(wd_verdict_unsafe(out[0]));
    assert_true(wd_verdict_unsafe(out[1]));
    wd_verdict_free(out[0]);
    wd_verdict_free(out[1]);
    const wd_chat_message bad[] = {{"user", "a"}, {"narrator", "b"}};
    p.context = bad;
    p.n_context = 2;
    assert_int_equal(wd_guard_check(G, "hello", 5, &p, &v), WD_ERR_INVALID_ARG);
    assert_null(v);
    assert_non_null(strstr(wd_guard_last_error(G), "context[1]: unknown role 'narrator'"));
    assert_int_equal(wd_guard_check_batch(G, texts, lens, 2, &p, out), WD_ERR_INVALID_ARG);
    assert_null(out[0]);
}

/* ==== from JSON ========================================================== */

static wd_conversation *conv_of(const char *json, char *param, wd_status *st) {
    wd_json_fault f;
    cJSON *root = wd_json_parse_strict(json, strlen(json), "test", &f);
    assert_non_null(root);
    wd_conversation *c = NULL;
    *st = wd_conversation_from_json(cJSON_GetObjectItemCaseSensitive(root, "messages"), 8, param, 64, &c);
    cJSON_Delete(root);
    return c;
}

static void test_from_json(void **state) {
    (void)state;
    char param[64];
    wd_status st;
    wd_conversation *c = conv_of(
        "{\"messages\": [{\"role\": \"system\", \"content\": \"be kind\"},"
        " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"look at this\"},"
        "   {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:,\"}}, {\"type\": \"text\", \"text\": \"what is it?\"}]},"
        " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\","
        "   \"function\": {\"name\": \"see\", \"arguments\": \"{}\"}}]},"
        " {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"a cat\"},"
        " {\"role\": \"assistant\", \"content\": \"A cat.\", \"name\": \"bot\"}]}",
        param, &st);
    assert_int_equal(st, WD_OK);
    size_t n = 0;
    const wd_chat_message *m = wd_conversation_messages(c, &n);
    assert_int_equal(n, 5);
    assert_string_equal(m[0].role, "system");
    assert_string_equal(m[1].content, "look at this\nwhat is it?");
    assert_string_equal(m[2].role, "assistant");
    assert_string_equal(m[2].content, "");
    assert_string_equal(m[3].role, "tool");
    assert_string_equal(m[3].content, "a cat");
    assert_int_equal(wd_conversation_skipped_parts(c), 1);
    wd_verdict *v = NULL;
    assert_int_equal(wd_guard_check_messages(G, m, n, NULL, &v), WD_OK);
    assert_int_equal(wd_verdict_message_index(v), 1);
    wd_verdict_free(v);
    wd_conversation_free(c);
    wd_conversation_free(NULL);

    static const struct {
        const char *json, *param, *why;
    } bad[] = {
        {"{\"messages\": \"hi\"}", "messages", "must be an array"},
        {"{\"messages\": []}", "messages", "is empty"},
        {"{\"messages\": [1]}", "messages[0]", "must be an object"},
        {"{\"messages\": [{\"content\": \"x\"}]}", "messages[0].role", "missing"},
        {"{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}", "messages[0].role", "unknown role 'bot'"},
        {"{\"messages\": [{\"role\": \"user\"}]}", "messages[0].content", "missing"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": null}]}", "messages[0].content", "only an assistant"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": 3}]}", "messages[0].content", "got a number"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": [\"x\"]}]}", "messages[0].content[0]", "must be an object"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"x\"}]}]}", "messages[0].content[0]", "\"type\""},
        {"{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": 1}]}]}",
         "messages[0].content[0].text", "string \"text\""},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"1\"},{\"role\":\"user\",\"content\":\"2\"},"
         "{\"role\":\"user\",\"content\":\"3\"},{\"role\":\"user\",\"content\":\"4\"},{\"role\":\"user\",\"content\":\"5\"},"
         "{\"role\":\"user\",\"content\":\"6\"},{\"role\":\"user\",\"content\":\"7\"},{\"role\":\"user\",\"content\":\"8\"},"
         "{\"role\":\"user\",\"content\":\"9\"}]}", "messages", "at most 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = conv_of(bad[i].json, param, &st);
        if (st != WD_ERR_INVALID_ARG || strcmp(param, bad[i].param) || !strstr(wd_last_error(), bad[i].why))
            fail_msg("case %zu: status %d, param '%s', message '%s'", i, st, param, wd_last_error());
        assert_null(c);
    }
    /* duplicate keys inside a message, and U+0000 in a content, are refused
     * by the strict parser before a conversation is read from the tree */
    wd_json_fault f;
    const char *dup = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"content\": \"" BOMB "\"}]}";
    assert_null(wd_json_parse_strict(dup, strlen(dup), "test", &f));
    assert_int_equal(f, WD_JSON_DUP_KEY);
    const char *duprole = "{\"messages\": [{\"role\": \"assistant\", \"role\": \"user\", \"content\": \"hi\"}]}";
    assert_null(wd_json_parse_strict(duprole, strlen(duprole), "test", &f));
    assert_int_equal(f, WD_JSON_DUP_KEY);
    const char *nul = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\\u0000" BOMB "\"}]}";
    assert_null(wd_json_parse_strict(nul, strlen(nul), "test", &f));
    assert_int_equal(f, WD_JSON_NUL);
}

/* ==== the CLI ============================================================ */

static void test_cli(void **state) {
    (void)state;
    char *out = NULL, *err = NULL;
    /* a JSONL line holding a conversation: its last user turn, in context */
    const char *lines =
        "{\"messages\": [{\"role\": \"user\", \"content\": \"" BOMB "\"}, {\"role\": \"assistant\", \"content\": \"no\"},"
        " {\"role\": \"user\", \"content\": \"thanks anyway\"}]}\n"
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"user\", \"content\": \"" BOMB "\"}]}\n"
        "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}\n"
        "{\"messages\": [{\"role\": \"user\", \"content\": \"a\", \"content\": \"b\"}]}\n"
        "plain text line\n";
    int rc = wdt_cli("check --json -", lines, &out, &err);
    print_message("%s%s", out, err);
    assert_int_equal(rc, 3); /* an error line, so 3 */
    char *l1 = strstr(out, "{\"line\":1,");
    char *l2 = strstr(out, "{\"line\":2,");
    char *l3 = strstr(out, "{\"line\":3,");
    char *l4 = strstr(out, "{\"line\":4,");
    char *l5 = strstr(out, "{\"line\":5,");
    assert_true(l1 && l2 && l3 && l4 && l5 && l1 < l2 && l2 < l3 && l3 < l4 && l4 < l5);
    assert_non_null(strstr(l1, "\"unsafe\":false"));
    assert_true(strstr(l1, "\"message_index\":2") < l2);
    assert_non_null(strstr(l2, "\"unsafe\":true"));
    assert_true(strstr(l2, "\"message_index\":1") < l3);
    assert_true(strstr(l3, "\"error\":\"messages: no user message") == l3 + strlen("{\"line\":3,"));
    assert_true(strstr(l4, "\"error\":") == l4 + strlen("{\"line\":4,"));
    assert_non_null(strstr(l4, "content"));
    free(out);
    free(err);
    /* --role output: the last assistant turn */
    rc = wdt_cli("check --json --role output -",
                 "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"},"
                 " {\"role\": \"user\", \"content\": \"" BOMB "\"}]}\n",
                 &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"message_index\":1"));
    assert_non_null(strstr(out, "\"role\":\"output\""));
    free(out);
    free(err);
    /* --messages FILE: one object over several lines; --all-turns */
    char *dir = wdt_tmpdir("conv_cli");
    char path[1024], args[1200];
    snprintf(path, sizeof path, "%s/conv.json", dir);
    const char *conv = "{\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"" BOMB "\"},\n"
                       "    {\"role\": \"assistant\", \"content\": \"no\"},\n"
                       "    {\"role\": \"user\", \"content\": \"thanks\"}\n  ]\n}\n";
    wdt_write_file(path, conv, strlen(conv));
    snprintf(args, sizeof args, "check --json --messages '%s'", path);
    rc = wdt_cli(args, NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"message_index\":2"));
    assert_null(strstr(out, "\"message_index\":0"));
    free(out);
    free(err);
    snprintf(args, sizeof args, "check --json --all-turns --messages '%s'", path);
    rc = wdt_cli(args, NULL, &out, &err);
    assert_int_equal(rc, 1);
    char *a = strstr(out, "\"message_index\":0"), *b = strstr(out, "\"message_index\":2");
    assert_true(a && b && a < b);
    free(out);
    free(err);
    rc = wdt_cli("check --messages -", conv, &out, &err); /* human output */
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "message 2: safe"));
    free(out);
    free(err);
    /* bad uses */
    rc = wdt_cli("check --messages - 'some text'", conv, &out, &err);
    assert_int_equal(rc, 2);
    free(out);
    free(err);
    rc = wdt_cli("check --all-turns 'some text'", NULL, &out, &err);
    assert_int_equal(rc, 2);
    free(out);
    free(err);
    rc = wdt_cli("check --messages -", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", &out, &err);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(err, "messages[0].content"));
    free(out);
    free(err);
    rc = wdt_cli("check --messages -", "{\"messages\": [{\"role\": \"user\", \"role\": \"user\", \"content\": \"x\"}]}",
                 &out, &err);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(err, "duplicate"));
    free(out);
    free(err);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_turns),
        cmocka_unit_test(test_last_turn_in_context),
        cmocka_unit_test(test_all_turns),
        cmocka_unit_test(test_context_params),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
