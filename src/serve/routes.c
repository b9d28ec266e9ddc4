/*
 * serve/routes.c - the POST handlers: read the JSON body, check its texts
 * with the guard in force, write the answer.
 *
 *   POST /v1/moderations  OpenAI moderation API. Request:
 *       {"input": "text" | ["text", ...] | [{"type": "text", "text": "..."}, ...],
 *        "model": "any string (echoed back)", "role": "input" | "output"}
 *     or, instead of "input", a conversation (below).
 *     Answer: {"id": "modr-...", "model": ..., "results": [{"flagged",
 *       "categories", "category_scores", "category_applied_input_types",
 *       "warden": <warden's verdict>}]} with one result per input, in order.
 *   POST /v1/check        warden's native verdicts. Request:
 *       {"input": ... | "messages": ..., "role": "input" | "output", "redact": false}
 *     Answer: {"id": "chk-...", "role": ..., "results": [<verdict>, ...]}
 *
 *   Conversations (both routes): "messages": [{"role", "content"}, ...] as
 *   OpenAI's chat API holds them (wd_conversation_from_json: system,
 *   developer, user, assistant, tool; content a string, parts, or null for
 *   an assistant that calls tools), with "all_turns": false (default) or
 *   true. Exactly one of "input" and "messages". The guard judges the last
 *   user message (role input) or the last assistant message (role output)
 *   with the messages before it as context: one result; with all_turns,
 *   every message of that role, each in its context, one result each in
 *   message order. Each verdict says "message_index". max_inputs bounds
 *   the messages; non-text content parts are skipped and counted in the
 *   answer's "skipped_parts" (present when not 0).
 *   POST /v1/certify      erase-and-check over the guard in force. Request:
 *       {"input": ..., "role": ..., "mode": "suffix"|"insertion"|"infusion",
 *        "max_erase": D, "blocks": K, "randomized": R, "greedy": N, "all": false}
 *     Answer: {"id": "cert-...", "results": [<certificate>, ...]}; a request
 *     whose enumeration exceeds the server's limit (SERVE_MAX_CHECKS
 *     subsequences per text) gets 400 too_many_subsequences.
 *
 * Bad requests are answered 400 with the OpenAI error shape and `param`
 * naming the field ("input[3]"). When the guard fails (an error, or the
 * request deadline passed) the policy's fail mode decides each result:
 * fail closed answers flagged/unsafe, fail open answers allowed; either way
 * the result's "warden" part carries "error" (the message), "error_code"
 * ("timeout" or "guard_error") and "fail_mode", and the
 * failure is counted in warden_guard_errors_total. A check cancelled
 * because the server is stopping (its grace period ran out) is answered
 * 503 shutting_down instead: no verdict, retry elsewhere.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "serve/serve_internal.h"
#include "warden/guard.h"

/* ==== Request parsing ===================================================== */

/* Parses the body as one JSON object with nothing but whitespace after it,
 * no duplicate keys and no U+0000 in any string (wd__json_parse_strict):
 * a body that two JSON readers could read differently, or whose strings
 * the guard would see cut short, is refused rather than guessed at. */
static cJSON *parse_body(const char *body, size_t len, wd__answer *a) {
    if (!len) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_json", NULL,
                         "the request body is empty; expected a JSON object with \"input\"");
        return NULL;
    }
    wd_json_fault fault;
    cJSON *root = wd__json_parse_strict(body, len, "request body", 0, &fault);
    if (!root) {
        const char *code = fault == WD_JSON_DUP_KEY ? "duplicate_key"
                         : fault == WD_JSON_NUL     ? "nul_in_string"
                                                     : "invalid_json";
        if (fault == WD_JSON_NOMEM)
            wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        else
            wd__answer_error(a, 400, "invalid_request_error", code, NULL, "%s", wd_last_error());
        return NULL;
    }
    if (cJSON_IsObject(root)) return root;
    wd__answer_error(a, 400, "invalid_request_error", "invalid_type", NULL,
                     "the request body must be a JSON object, got %s", wd__json_type_name(root));
    cJSON_Delete(root);
    return NULL;
}

typedef struct inputs {
    const char **texts; /* point into the cJSON tree, at joined, or at conv's messages */
    size_t *lens;
    size_t n;
    char *joined;       /* the text parts of one multimodal input, joined */
    /* "messages": the conversation and the turns judged (n of them; texts
     * holds their contents) */
    wd_conversation *conv;
    size_t *turns;
} inputs;

static void inputs_free(inputs *in) {
    free(in->texts);
    free(in->lens);
    free(in->joined);
    wd_conversation_free(in->conv);
    free(in->turns);
}

/* Reads "messages" (and "all_turns") into in: the turns role judges.
 * Returns false with a set. */
static bool parse_messages(const wd_server *srv, const cJSON *root, const cJSON *messages, wd__serve_role role,
                           inputs *in, wd__answer *a) {
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(root, "all_turns");
    if (all && !cJSON_IsNull(all) && !cJSON_IsBool(all)) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_type", "all_turns",
                         "'all_turns' must be true or false, got %s", wd__json_type_name(all));
        return false;
    }
    if (cJSON_IsArray(messages) && (size_t)cJSON_GetArraySize(messages) > (size_t)srv->p.max_inputs) {
        wd__answer_error(a, 400, "invalid_request_error", "too_many_inputs", "messages",
                         "'messages' has %d items; this server takes at most %d per request",
                         cJSON_GetArraySize(messages), srv->p.max_inputs);
        return false;
    }
    char param[96];
    wd_status st = wd_conversation_from_json(messages, 0, param, sizeof param, &in->conv);
    if (st == WD_ERR_NOMEM) {
        wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return false;
    }
    if (st) {
        wd__answer_error(a, 400, "invalid_request_error", cJSON_IsArray(messages) ? "invalid_value" : "invalid_type",
                         param, "%s", wd_last_error());
        return false;
    }
    size_t n = 0;
    const wd_chat_message *m = wd_conversation_messages(in->conv, &n);
    in->turns = malloc(n * sizeof *in->turns);
    in->texts = malloc(n * sizeof *in->texts);
    in->lens = malloc(n * sizeof *in->lens);
    if (!in->turns || !in->texts || !in->lens) {
        wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return false;
    }
    st = wd_guard_pick_turns(m, n, role == WD__ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT, !cJSON_IsTrue(all),
                             in->turns, &in->n);
    if (st) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_value", "messages", "%s", wd_last_error());
        return false;
    }
    for (size_t k = 0; k < in->n; k++) {
        in->texts[k] = m[in->turns[k]].content;
        in->lens[k] = strlen(in->texts[k]);
    }
    return true;
}

/* An array of content parts ({"type": "text", "text": ...}, as OpenAI's
 * multimodal input) is ONE input: its text parts are joined with newlines
 * and checked together, giving one result. Returns false with a set. */
static bool parse_parts(const cJSON *input, inputs *in, wd__answer *a) {
    size_t total = 0, i = 0;
    for (const cJSON *it = input->child; it; it = it->next, i++) {
        char param[32];
        snprintf(param, sizeof param, "input[%zu]", i);
        const cJSON *type = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "type") : NULL;
        const cJSON *text = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "text") : NULL;
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "image_url")) {
            wd__answer_error(a, 400, "invalid_request_error", "unsupported_input_type", param,
                             "%s is an image; warden moderates text only", param);
            return false;
        }
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text)) {
            wd__answer_error(a, 400, "invalid_request_error", "invalid_type", param,
                             "%s must be {\"type\": \"text\", \"text\": \"...\"} (an array holds either "
                             "strings or content parts, not both)", param);
            return false;
        }
        total += strlen(text->valuestring) + 1;
    }
    in->joined = malloc(total ? total : 1);
    in->texts = malloc(sizeof *in->texts);
    in->lens = malloc(sizeof *in->lens);
    if (!in->joined || !in->texts || !in->lens) {
        wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return false;
    }
    size_t o = 0;
    for (const cJSON *it = input->child; it; it = it->next) {
        const char *t = cJSON_GetObjectItemCaseSensitive(it, "text")->valuestring;
        size_t n = strlen(t);
        if (o) in->joined[o++] = '\n';
        memcpy(in->joined + o, t, n);
        o += n;
    }
    in->texts[0] = in->joined;
    in->lens[0] = o;
    in->n = 1;
    return true;
}

/* Reads "input": a string, or an array of strings or {"type": "text",
 * "text": ...} parts; or, where conversations are taken (conv), "messages"
 * for role. Returns false with a set when it is not one. */
static bool parse_inputs(const wd_server *srv, const cJSON *root, bool conv, wd__serve_role role, inputs *in,
                         wd__answer *a) {
    memset(in, 0, sizeof *in);
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(root, "all_turns");
    if (messages && !conv) {
        wd__answer_error(a, 400, "invalid_request_error", "unsupported_parameter", "messages",
                         "this route takes 'input' only, not 'messages'");
        return false;
    }
    if (messages && input) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_value", "messages",
                         "give either 'input' or 'messages', not both");
        return false;
    }
    if (messages) {
        if (parse_messages(srv, root, messages, role, in, a)) return true;
        inputs_free(in);
        return false;
    }
    if (all && !cJSON_IsNull(all) && !cJSON_IsFalse(all) && conv) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_value", "all_turns",
                         "'all_turns' goes with 'messages' (a conversation), not with 'input'");
        return false;
    }
    if (!input) {
        wd__answer_error(a, 400, "invalid_request_error", "missing_required_parameter", "input",
                         conv ? "missing required parameter 'input' (a string or an array of strings) or "
                                "'messages' (a conversation)"
                              : "missing required parameter 'input' (a string or an array of strings)");
        return false;
    }
    size_t n;
    if (cJSON_IsString(input)) {
        n = 1;
    } else if (cJSON_IsArray(input)) {
        n = (size_t)cJSON_GetArraySize(input);
        if (n == 0) {
            wd__answer_error(a, 400, "invalid_request_error", "invalid_value", "input",
                             "'input' is an empty array; give at least one string");
            return false;
        }
        if (n > (size_t)srv->p.max_inputs) {
            wd__answer_error(a, 400, "invalid_request_error", "too_many_inputs", "input",
                             "'input' has %zu items; this server takes at most %d per request", n,
                             srv->p.max_inputs);
            return false;
        }
    } else {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_type", "input",
                         "'input' must be a string or an array of strings, got %s",
                         wd__json_type_name(input));
        return false;
    }
    if (cJSON_IsArray(input) && cJSON_IsObject(input->child)) {
        if (parse_parts(input, in, a)) return true;
        inputs_free(in);
        return false;
    }
    in->texts = malloc(n * sizeof *in->texts);
    in->lens = malloc(n * sizeof *in->lens);
    if (!in->texts || !in->lens) {
        inputs_free(in);
        wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return false;
    }
    in->n = n;
    if (cJSON_IsString(input)) {
        in->texts[0] = input->valuestring;
        in->lens[0] = strlen(input->valuestring);
        return true;
    }
    size_t i = 0;
    for (const cJSON *it = input->child; it; it = it->next, i++) {
        const char *s = NULL;
        char param[32];
        snprintf(param, sizeof param, "input[%zu]", i);
        if (cJSON_IsString(it)) {
            s = it->valuestring;
        } else {
            inputs_free(in);
            wd__answer_error(a, 400, "invalid_request_error", "invalid_type", param,
                             "%s must be a string, got %s (an array holds either strings or content "
                             "parts, not both)", param, wd__json_type_name(it));
            return false;
        }
        in->texts[i] = s;
        in->lens[i] = strlen(s);
    }
    return true;
}

/* Reads the optional "role". */
static bool parse_role(const cJSON *root, wd__serve_role *role, wd__answer *a) {
    *role = WD__ROLE_INPUT;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "role");
    if (!r || cJSON_IsNull(r)) return true;
    if (cJSON_IsString(r) && !strcmp(r->valuestring, "input")) return true;
    if (cJSON_IsString(r) && !strcmp(r->valuestring, "output")) {
        *role = WD__ROLE_OUTPUT;
        return true;
    }
    wd__answer_error(a, 400, "invalid_request_error", "invalid_value", "role",
                     "'role' must be \"input\" (a prompt) or \"output\" (a model's response)");
    return false;
}

/* ==== Checking ============================================================ */

typedef struct checked {
    wd__serve_result *res; /* n results, or NULL when the guard failed */
    wd_status st;          /* the guard's failure */
    char err[512];
    bool fail_open;
} checked;

static void run_guard(wd_server *srv, const wd__key *key, const inputs *in, wd__serve_role role,
                      bool redact, int64_t deadline_ns, checked *c) {
    memset(c, 0, sizeof *c);
    c->res = calloc(in->n, sizeof *c->res);
    if (!c->res) {
        c->st = WD_ERR_NOMEM;
        snprintf(c->err, sizeof c->err, "out of memory");
    }
    wd__guard_ref *ref = wd__server_guard_for(srv, key); /* the key's own policy, if it has one */
    c->fail_open = srv->be->fail_open(ref->guard);
    if (c->res) {
        if (in->conv && srv->be->check_turns) {
            size_t n = 0;
            const wd_chat_message *m = wd_conversation_messages(in->conv, &n);
            c->st = srv->be->check_turns(ref->guard, m, n, in->turns, in->n, role, redact, deadline_ns,
                                         &srv->cancel, c->res);
        } else {
            c->st = srv->be->check(ref->guard, in->texts, in->lens, in->n, role, redact, deadline_ns,
                                   &srv->cancel, c->res);
        }
        if (c->st) {
            snprintf(c->err, sizeof c->err, "%s",
                     wd_last_error()[0] ? wd_last_error() : wd_status_str(c->st));
            free(c->res);
            c->res = NULL;
        }
    }
    wd__server_guard_release(srv, ref);
    if (c->st) {
        atomic_fetch_add_explicit(&srv->counters.guard_errors, in->n, memory_order_relaxed);
        atomic_fetch_add_explicit(&srv->counters.inputs, in->n, memory_order_relaxed);
        atomic_fetch_add_explicit(&srv->counters.verdicts[c->fail_open ? 0 : 1], in->n,
                                  memory_order_relaxed);
    } else {
        for (size_t i = 0; i < in->n; i++) wd__counters_verdict(&srv->counters, &c->res[i]);
    }
}

static void checked_free(checked *c, size_t n) {
    if (c->res)
        for (size_t i = 0; i < n; i++) wd__serve_result_clear(&c->res[i]);
    free(c->res);
}

/* A check cancelled because the server is stopping gets no verdict: 503,
 * to be retried elsewhere. Returns true (and frees what the route holds)
 * when that is the case. */
static bool answer_cancelled(checked *c, inputs *in, cJSON *root, wd__answer *a) {
    if (c->st != WD_ERR_CANCELLED) return false;
    wd__answer_error(a, 503, "server_error", "shutting_down", NULL,
                     "the server is shutting down: the check was stopped before it ended (%s)", c->err);
    checked_free(c, in->n);
    inputs_free(in);
    cJSON_Delete(root);
    return true;
}

/* The access log's members for a checked request: how many texts, how many
 * flagged, the union of their flagged categories, and whether the guard
 * failed (the fail mode answered). */
static void log_verdicts(wd__answer *a, const checked *c, size_t n) {
    if (a->log_off) return;
    size_t flagged = 0;
    wd_catmask cats = 0;
    for (size_t i = 0; c->res && i < n; i++) {
        flagged += c->res[i].unsafe;
        cats |= c->res[i].flagged;
    }
    if (!c->res && !c->fail_open) flagged = n;
    wd__jsonw w = {0};
    wd__jsonw_printf(&w, "\"inputs\":%zu,\"flagged\":%zu,\"categories\":[", n, flagged);
    for (int k = 0, first = 1; k < WD_CATEGORY_COUNT; k++)
        if (cats & WD_CATMASK(k)) {
            wd__jsonw_printf(&w, "%s\"%s\"", first ? "" : ",", wd_category_id((wd_category)k));
            first = 0;
        }
    wd__jsonw_lit(&w, "]");
    if (c->st) wd__jsonw_printf(&w, ",\"guard_error\":\"%s\"", c->st == WD_ERR_TIMEOUT ? "timeout" : "guard_error");
    char *m = wd__jsonw_take(&w, NULL);
    wd__answer_log_add(a, m);
    free(m);
}

/* The verdict that stands in for a failed check of input i: the fail mode
 * decides. */
static void write_failed_verdict(wd__jsonw *w, const checked *c, wd__serve_role role, const inputs *in, size_t i) {
    /* the verdict schema (docs/json.md): every category score present */
    wd__jsonw_printf(w, "{\"unsafe\":%s,\"action\":\"%s\",\"role\":\"%s\",\"categories\":[],\"scores\":{",
                     c->fail_open ? "false" : "true", c->fail_open ? "allow" : "block",
                     role == WD__ROLE_OUTPUT ? "output" : "input");
    for (int cat = 0; cat < WD_CATEGORY_COUNT; cat++)
        wd__jsonw_printf(w, "%s\"%s\":0", cat ? "," : "", wd_category_id((wd_category)cat));
    wd__jsonw_lit(w, "},\"hits\":[],\"redacted\":null,\"error\":");
    wd__jsonw_cstr(w, c->err);
    wd__jsonw_printf(w, ",\"error_code\":\"%s\",\"fail_mode\":\"%s\"",
                     c->st == WD_ERR_TIMEOUT ? "timeout" : "guard_error",
                     c->fail_open ? "open" : "closed");
    if (in->turns) wd__jsonw_printf(w, ",\"message_index\":%zu", in->turns[i]);
    wd__jsonw_lit(w, "}");
}

/* ,"skipped_parts":N after a conversation whose non-text parts were skipped. */
static void write_skipped(wd__jsonw *w, const inputs *in) {
    size_t k = wd_conversation_skipped_parts(in->conv);
    if (k) wd__jsonw_printf(w, ",\"skipped_parts\":%zu", k);
}

/* ==== POST /v1/moderations ================================================ */

/* `"key":` (after a comma unless first) for the fixed category names,
 * which need no escaping. */
static void member(wd__jsonw *w, bool first, const char *key) {
    wd__jsonw_lit(w, first ? "\"" : ",\"");
    wd__jsonw_lit(w, key);
    wd__jsonw_lit(w, "\":");
}

void wd__route_moderations(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                           wd__answer *a) {
    cJSON *root = parse_body(body, len, a);
    if (!root) return;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model)) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_type", "model",
                         "'model' must be a string, got %s", wd__json_type_name(model));
        cJSON_Delete(root);
        return;
    }
    inputs in;
    wd__serve_role role;
    if (!parse_role(root, &role, a) || !parse_inputs(srv, root, true, role, &in, a)) {
        cJSON_Delete(root);
        return;
    }
    checked c;
    run_guard(srv, a->key, &in, role, false, deadline_ns, &c);
    if (answer_cancelled(&c, &in, root, a)) return;
    log_verdicts(a, &c, in.n);

    char id[48];
    wd__server_new_id(srv, "modr-", id);
    wd__jsonw w = {0};
    wd__jsonw_lit(&w, "{\"id\":\"");
    wd__jsonw_lit(&w, id);
    wd__jsonw_lit(&w, "\",\"model\":");
    wd__jsonw_cstr(&w, cJSON_IsString(model) ? model->valuestring : "warden");
    wd__jsonw_lit(&w, ",\"results\":[");
    for (size_t i = 0; i < in.n; i++) {
        const wd__serve_result *r = c.res ? &c.res[i] : NULL;
        if (i) wd__jsonw_lit(&w, ",");
        /* OpenAI's 13 names, then warden's categories that none of them
         * covers (docs/serve.md), then "unchecked" (the guard could not check
         * the text and the fail mode decided): every flag has a reason a
         * client iterating over "categories" can show */
        wd_catmask extra = wd__openai_uncovered();
        bool unchecked = !r;
        wd__jsonw_lit(&w, "{\"flagged\":");
        wd__jsonw_lit(&w, (r ? r->unsafe : !c.fail_open) ? "true" : "false");
        wd__jsonw_lit(&w, ",\"categories\":{");
        /* members written piece by piece: a printf per member was a tenth of
         * the route's time */
        for (int k = 0; k < WD__OPENAI_N; k++) {
            member(&w, k == 0, wd__openai_cats[k].name);
            wd__jsonw_lit(&w, r && wd__openai_flagged(k, r) ? "true" : "false");
        }
        for (int cat = 0; cat < WD_CATEGORY_COUNT; cat++)
            if (extra & WD_CATMASK(cat)) {
                member(&w, false, wd_category_key((wd_category)cat));
                wd__jsonw_lit(&w, r && (r->flagged & WD_CATMASK(cat)) ? "true" : "false");
            }
        wd__jsonw_lit(&w, unchecked && !c.fail_open ? ",\"unchecked\":true" : ",\"unchecked\":false");
        wd__jsonw_lit(&w, "},\"category_scores\":{");
        for (int k = 0; k < WD__OPENAI_N; k++) {
            member(&w, k == 0, wd__openai_cats[k].name);
            wd__jsonw_num(&w, r ? wd__openai_score(k, r) : 0.0);
        }
        for (int cat = 0; cat < WD_CATEGORY_COUNT; cat++)
            if (extra & WD_CATMASK(cat)) {
                float sc = r ? r->score[cat] : 0.0f;
                member(&w, false, wd_category_key((wd_category)cat));
                wd__jsonw_num(&w, sc >= 0.0f && sc <= 1.0f ? sc : 0.0f);
            }
        wd__jsonw_lit(&w, unchecked && !c.fail_open ? ",\"unchecked\":1" : ",\"unchecked\":0");
        wd__jsonw_lit(&w, "},\"category_applied_input_types\":{");
        for (int k = 0; k < WD__OPENAI_N; k++) {
            member(&w, k == 0, wd__openai_cats[k].name);
            wd__jsonw_lit(&w, "[\"text\"]");
        }
        for (int cat = 0; cat < WD_CATEGORY_COUNT; cat++)
            if (extra & WD_CATMASK(cat)) {
                member(&w, false, wd_category_key((wd_category)cat));
                wd__jsonw_lit(&w, "[\"text\"]");
            }
        wd__jsonw_lit(&w, ",\"unchecked\":[\"text\"]");
        wd__jsonw_lit(&w, "},\"warden\":");
        if (r && r->json) wd__jsonw_lit(&w, r->json);
        else if (r) wd__jsonw_lit(&w, "null");
        else write_failed_verdict(&w, &c, role, &in, i);
        wd__jsonw_lit(&w, "}");
    }
    wd__jsonw_lit(&w, "]");
    write_skipped(&w, &in);
    wd__jsonw_lit(&w, "}\n");
    checked_free(&c, in.n);
    inputs_free(&in);
    cJSON_Delete(root);
    a->status = 200;
    a->body = wd__jsonw_take(&w, &a->len);
}

/* ==== POST /v1/check ====================================================== */

void wd__route_check(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                     wd__answer *a) {
    cJSON *root = parse_body(body, len, a);
    if (!root) return;
    inputs in;
    wd__serve_role role;
    const cJSON *redact = cJSON_GetObjectItemCaseSensitive(root, "redact");
    if (redact && !cJSON_IsNull(redact) && !cJSON_IsBool(redact)) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_type", "redact",
                         "'redact' must be true or false, got %s", wd__json_type_name(redact));
        cJSON_Delete(root);
        return;
    }
    if (!parse_role(root, &role, a) || !parse_inputs(srv, root, true, role, &in, a)) {
        cJSON_Delete(root);
        return;
    }
    checked c;
    run_guard(srv, a->key, &in, role, cJSON_IsTrue(redact), deadline_ns, &c);
    if (answer_cancelled(&c, &in, root, a)) return;
    log_verdicts(a, &c, in.n);

    char id[48];
    wd__server_new_id(srv, "chk-", id);
    wd__jsonw w = {0};
    wd__jsonw_printf(&w, "{\"id\":\"%s\",\"role\":\"%s\",\"results\":[", id,
                     role == WD__ROLE_OUTPUT ? "output" : "input");
    for (size_t i = 0; i < in.n; i++) {
        if (i) wd__jsonw_lit(&w, ",");
        if (c.res && c.res[i].json) wd__jsonw_lit(&w, c.res[i].json);
        else if (c.res) wd__jsonw_lit(&w, "null");
        else write_failed_verdict(&w, &c, role, &in, i);
    }
    wd__jsonw_lit(&w, "]");
    write_skipped(&w, &in);
    wd__jsonw_lit(&w, "}\n");
    checked_free(&c, in.n);
    inputs_free(&in);
    cJSON_Delete(root);
    a->status = 200;
    a->body = wd__jsonw_take(&w, &a->len);
}

/* ==== POST /v1/certify ==================================================== */

/* Server-side bound on one text's enumeration: an infusion request can
 * otherwise ask for billions of checks. */
#define SERVE_MAX_CHECKS 100000

/* Reads an optional integer field in [lo, hi]. */
static bool opt_int(const cJSON *root, const char *key, long lo, long hi, long *out, wd__answer *a) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!f || cJSON_IsNull(f)) return true;
    int64_t v;
    if (!wd__json_is_int(f, &v) || v < lo || v > hi) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_value", key,
                         "'%s' must be an integer in %ld..%ld", key, lo, hi);
        return false;
    }
    *out = (long)v;
    return true;
}

static bool parse_certify(const cJSON *root, wd_certify_params *p, wd__answer *a) {
    *p = wd_certify_params_default();
    p->max_checks = SERVE_MAX_CHECKS;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "mode");
    if (m && !cJSON_IsNull(m) && (!cJSON_IsString(m) || wd_ec_mode_parse(m->valuestring, &p->mode))) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_value", "mode",
                         "'mode' must be \"suffix\", \"insertion\" or \"infusion\"");
        return false;
    }
    long d = 0, k = 1, g = 0;
    if (!opt_int(root, "max_erase", 1, 1000, &d, a) || !opt_int(root, "blocks", 1, 8, &k, a) ||
        !opt_int(root, "greedy", 1, 1000, &g, a))
        return false;
    p->max_erase = (int)d;
    p->n_blocks = (int)k;
    p->greedy_rounds = (int)g;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "randomized");
    if (r && !cJSON_IsNull(r)) {
        if (!cJSON_IsNumber(r) || !(r->valuedouble > 0 && r->valuedouble <= 1) || g) {
            wd__answer_error(a, 400, "invalid_request_error", "invalid_value", "randomized",
                             "'randomized' must be a fraction in (0, 1], and not with 'greedy'");
            return false;
        }
        p->sample_ratio = r->valuedouble;
    }
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(root, "all");
    if (all && !cJSON_IsNull(all) && !cJSON_IsBool(all)) {
        wd__answer_error(a, 400, "invalid_request_error", "invalid_type", "all",
                         "'all' must be true or false");
        return false;
    }
    p->check_all = cJSON_IsTrue(all);
    return true;
}

void wd__route_certify(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                       wd__answer *a) {
    if (!srv->be->certify) {
        wd__answer_error(a, 501, "not_implemented", "not_implemented", NULL,
                         "this server's guard cannot be certified; use POST /v1/check");
        return;
    }
    cJSON *root = parse_body(body, len, a);
    if (!root) return;
    inputs in;
    wd__serve_role role;
    wd_certify_params p;
    if (!parse_role(root, &role, a) || !parse_certify(root, &p, a) ||
        !parse_inputs(srv, root, false, role, &in, a)) {
        cJSON_Delete(root);
        return;
    }
    p.role = role == WD__ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    bool *harmful = calloc(in.n ? in.n : 1, sizeof *harmful);
    char **json = calloc(in.n ? in.n : 1, sizeof *json);
    wd_status st = harmful && json ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!st) {
        wd__guard_ref *ref = wd__server_guard_for(srv, a->key);
        st = srv->be->certify(ref->guard, in.texts, in.lens, in.n, &p, deadline_ns, harmful, json);
        wd__server_guard_release(srv, ref);
    }
    if (st == WD_ERR_RANGE) {
        wd__answer_error(a, 400, "invalid_request_error", "too_many_subsequences", "max_erase", "%s",
                         wd_last_error());
    } else if (st) {
        atomic_fetch_add_explicit(&srv->counters.guard_errors, in.n, memory_order_relaxed);
        wd__answer_error(a, st == WD_ERR_TIMEOUT ? 504 : 500, "server_error",
                         st == WD_ERR_TIMEOUT ? "timeout" : "guard_error", NULL, "%s", wd_last_error());
    } else {
        char id[48];
        wd__server_new_id(srv, "cert-", id);
        wd__jsonw w = {0};
        wd__jsonw_printf(&w, "{\"id\":\"%s\",\"role\":\"%s\",\"results\":[", id,
                         role == WD__ROLE_OUTPUT ? "output" : "input");
        for (size_t i = 0; i < in.n; i++) {
            if (i) wd__jsonw_lit(&w, ",");
            wd__jsonw_lit(&w, json[i]);
            free(json[i]);
        }
        wd__jsonw_lit(&w, "]}\n");
        atomic_fetch_add_explicit(&srv->counters.inputs, in.n, memory_order_relaxed);
        size_t n_harmful = 0;
        for (size_t i = 0; i < in.n; i++) {
            atomic_fetch_add_explicit(&srv->counters.verdicts[harmful[i] ? 1 : 0], 1, memory_order_relaxed);
            n_harmful += harmful[i];
        }
        wd__answer_log_printf(a, "\"inputs\":%zu,\"flagged\":%zu", in.n, n_harmful);
        a->status = 200;
        a->body = wd__jsonw_take(&w, &a->len);
    }
    free(harmful);
    free(json);
    inputs_free(&in);
    cJSON_Delete(root);
}
