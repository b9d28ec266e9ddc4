/*
 * guard/conversation.c - a check of a conversation rather than of one text
 * (warden/guard.h, "conversation context"): which message a check judges,
 * the turns a model judge reads, and the conversation read from OpenAI's
 * chat "messages" JSON.
 *
 *   msgs:  system  user  assistant  tool  user      role input judges the
 *            0      1       2        3     4        last user message (4),
 *                                                   msgs[0..4) its context
 *
 *   Llama Guard turns of that check (judge.c renders them):
 *     User: <1>            system dropped
 *     Agent: <2>\n\n<3>    assistant and tool are one side: merged
 *     User: <4>            the judged turn, last
 *
 * The rule scanners never see the context (their offsets are into the
 * judged text); guard.c passes it to the scanners in wd__scan_input, and
 * only model judges read it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "guard/conversation.h"
#include "guard/guard_internal.h"

/* ==== roles ============================================================== */

wd__conv_kind wd__conv_kind_of(const char *role) {
    if (!role) return WD__CONV_UNKNOWN;
    if (!strcmp(role, "user")) return WD__CONV_USER;
    if (!strcmp(role, "assistant")) return WD__CONV_ASSISTANT;
    if (!strcmp(role, "system") || !strcmp(role, "developer")) return WD__CONV_SYSTEM;
    if (!strcmp(role, "tool")) return WD__CONV_TOOL;
    return WD__CONV_UNKNOWN;
}

wd_status wd__conv_validate(const wd_chat_message *msgs, size_t n, const char *what) {
    if (n && !msgs) return wd__fail(WD_ERR_INVALID_ARG, "%s: NULL with %zu messages", what, n);
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role) return wd__fail(WD_ERR_INVALID_ARG, "%s[%zu]: no role", what, i);
        if (wd__conv_kind_of(msgs[i].role) == WD__CONV_UNKNOWN)
            return wd__fail(WD_ERR_INVALID_ARG,
                            "%s[%zu]: unknown role '%.40s' (system, developer, user, assistant or tool)", what, i,
                            msgs[i].role);
    }
    return WD_OK;
}

/* ==== the judge's turns ================================================== */

/* True when s[0..n) is all ASCII white space (or empty). */
static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return false;
    return true;
}

wd_status wd__conv_guard_turns(const wd_chat_message *context, size_t from, size_t n_context,
                               const char *text, size_t len, wd_role role, wd_chat_message **out,
                               size_t *n_out, char **buf) {
    *out = NULL;
    *n_out = 0;
    *buf = NULL;
    /* room: every content, a blank line between merged ones, a NUL per
     * turn, and one empty leading turn */
    size_t cap = len + 2, max_turns = 2;
    for (size_t i = from; i < n_context; i++) {
        cap += (context[i].content ? strlen(context[i].content) : 0) + 3;
        max_turns++;
    }
    char *b = malloc(cap);
    size_t *start = malloc(max_turns * sizeof *start);
    bool *agent = malloc(max_turns * sizeof *agent);
    wd_chat_message *m = malloc(max_turns * sizeof *m);
    if (!b || !start || !agent || !m) {
        free(b);
        free(start);
        free(agent);
        free(m);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    size_t nt = 0, w = 0;
    bool open = false, has_text = false; /* a turn is being written; it holds text already */
    for (size_t i = from; i <= n_context; i++) {
        bool a;
        const char *c;
        size_t cl;
        if (i < n_context) {
            wd__conv_kind k = wd__conv_kind_of(context[i].role);
            if (k == WD__CONV_SYSTEM || k == WD__CONV_UNKNOWN) continue;
            a = k != WD__CONV_USER;
            c = context[i].content ? context[i].content : "";
            cl = strlen(c);
        } else {
            a = role == WD_ROLE_OUTPUT;
            c = text;
            cl = len;
        }
        if (!open || agent[nt - 1] != a) {
            if (open) b[w++] = '\0';
            if (nt == 0 && a) { /* the Agent speaks first: an empty user turn before it */
                start[nt] = w;
                agent[nt++] = false;
                b[w++] = '\0';
            }
            start[nt] = w;
            agent[nt++] = a;
            open = true;
            has_text = false;
        }
        if (blank(c, cl)) continue;
        if (has_text) {
            b[w++] = '\n';
            b[w++] = '\n';
        }
        memcpy(b + w, c, cl);
        w += cl;
        has_text = true;
    }
    b[w++] = '\0';
    for (size_t t = 0; t < nt; t++) m[t] = (wd_chat_message){agent[t] ? "assistant" : "user", b + start[t]};
    free(start);
    free(agent);
    *out = m;
    *n_out = nt;
    *buf = b;
    return WD_OK;
}

/* ==== which turn ========================================================= */

wd_status wd_guard_pick_turns(const wd_chat_message *msgs, size_t n, wd_role role, bool last_only,
                              size_t *turns, size_t *n_turns) {
    if (n_turns) *n_turns = 0;
    if (!n_turns || (n && !turns)) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_pick_turns: NULL argument");
    if (role != WD_ROLE_INPUT && role != WD_ROLE_OUTPUT)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_pick_turns: role %d is neither input nor output", (int)role);
    wd_status st = wd__conv_validate(msgs, n, "messages");
    if (st) return st;
    wd__conv_kind want = role == WD_ROLE_INPUT ? WD__CONV_USER : WD__CONV_ASSISTANT;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (wd__conv_kind_of(msgs[i].role) == want) {
            if (last_only) k = 0;
            turns[k++] = i;
        }
    if (!k)
        return wd__fail(WD_ERR_INVALID_ARG, "messages: no %s message to check (role %s judges the %s's turns)",
                        want == WD__CONV_USER ? "user" : "assistant", wd_role_str(role),
                        want == WD__CONV_USER ? "user" : "assistant");
    *n_turns = k;
    return WD_OK;
}

wd_status wd_guard_check_messages(wd_guard *g, const wd_chat_message *msgs, size_t n,
                                  const wd_check_params *params, wd_verdict **out) {
    if (out) *out = NULL;
    if (!g || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_check_messages: guard or out is NULL");
    wd_role role = params ? params->role : WD_ROLE_INPUT;
    size_t turn = 0, n_turns = 0; /* last_only writes one index */
    wd_status st = wd_guard_pick_turns(msgs, n, role, true, &turn, &n_turns);
    if (st) return wd__guard_check_failed(g, st);
    return wd_guard_check_turns(g, msgs, n, &turn, 1, params, out);
}

wd_status wd_guard_check_messages_all(wd_guard *g, const wd_chat_message *msgs, size_t n,
                                      const wd_check_params *params, wd_verdict **out, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!g || !out || !n_out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_check_messages_all: NULL argument");
    for (size_t i = 0; i < n; i++) out[i] = NULL;
    wd_role role = params ? params->role : WD_ROLE_INPUT;
    size_t n_turns = 0;
    size_t *turns = malloc((n ? n : 1) * sizeof *turns);
    if (!turns) return wd__guard_check_failed(g, wd__fail(WD_ERR_NOMEM, "out of memory"));
    wd_status st = wd_guard_pick_turns(msgs, n, role, false, turns, &n_turns);
    if (st) wd__guard_check_failed(g, st);
    else st = wd_guard_check_turns(g, msgs, n, turns, n_turns, params, out);
    if (!st) *n_out = n_turns;
    free(turns);
    return st;
}

/* ==== from JSON ========================================================== */

struct wd_conversation {
    wd_chat_message *msgs;
    size_t           n;
    char           **own; /* the contents, copied (n_own slots) */
    size_t           n_own;
    size_t           skipped;
};

void wd_conversation_free(wd_conversation *c) {
    if (!c) return;
    for (size_t i = 0; c->own && i < c->n_own; i++) free(c->own[i]);
    free(c->own);
    free(c->msgs);
    free(c);
}

const wd_chat_message *wd_conversation_messages(const wd_conversation *c, size_t *n) {
    if (n) *n = c ? c->n : 0;
    return c ? c->msgs : NULL;
}

size_t wd_conversation_skipped_parts(const wd_conversation *c) { return c ? c->skipped : 0; }

static const char *type_name(const cJSON *it) {
    return cJSON_IsString(it) ? "a string" : cJSON_IsNumber(it) ? "a number" : cJSON_IsBool(it) ? "a boolean"
         : cJSON_IsNull(it) ? "null" : cJSON_IsArray(it) ? "an array" : cJSON_IsObject(it) ? "an object" : "?";
}

/* Fails with the field's path in param. */
static wd_status bad(char *param, size_t cap, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static wd_status bad(char *param, size_t cap, const char *path, const char *fmt, ...) {
    if (param && cap) snprintf(param, cap, "%s", path);
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wd__fail(WD_ERR_INVALID_ARG, "%s: %s", path, msg);
}

/* The text of message i's content (a string, or parts joined by "\n"),
 * malloc'd into *text; counts skipped parts in c. */
static wd_status content_text(wd_conversation *c, size_t i, const cJSON *content, bool may_be_empty,
                              char *param, size_t cap, char **text) {
    char path[64];
    snprintf(path, sizeof path, "messages[%zu].content", i);
    *text = NULL;
    if (!content || cJSON_IsNull(content)) {
        if (!may_be_empty)
            return bad(param, cap, path, "missing (a string or an array of content parts; only an assistant "
                                         "message may leave it null)");
        *text = strdup("");
    } else if (cJSON_IsString(content)) {
        *text = strdup(content->valuestring);
    } else if (cJSON_IsArray(content)) {
        size_t total = 1, k = 0;
        for (const cJSON *p = content->child; p; p = p->next, k++) {
            char pp[96];
            snprintf(pp, sizeof pp, "%s[%zu]", path, k);
            const cJSON *type = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "type") : NULL;
            if (!cJSON_IsObject(p)) return bad(param, cap, pp, "a content part must be an object, got %s", type_name(p));
            if (!cJSON_IsString(type)) return bad(param, cap, pp, "a content part needs a string \"type\"");
            if (strcmp(type->valuestring, "text")) continue;
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
            if (!cJSON_IsString(t)) {
                snprintf(pp + strlen(pp), sizeof pp - strlen(pp), ".text");
                return bad(param, cap, pp, "a text part needs a string \"text\", got %s", t ? type_name(t) : "nothing");
            }
            total += strlen(t->valuestring) + 1;
        }
        char *o = malloc(total);
        if (!o) return wd__fail(WD_ERR_NOMEM, "out of memory");
        size_t w = 0;
        bool any = false;
        for (const cJSON *p = content->child; p; p = p->next) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
            if (strcmp(type->valuestring, "text")) {
                c->skipped++;
                continue;
            }
            const char *t = cJSON_GetObjectItemCaseSensitive(p, "text")->valuestring;
            if (any) o[w++] = '\n';
            memcpy(o + w, t, strlen(t));
            w += strlen(t);
            any = true;
        }
        o[w] = '\0';
        *text = o;
        return WD_OK;
    } else {
        return bad(param, cap, path, "must be a string, null or an array of content parts, got %s",
                   type_name(content));
    }
    return *text ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
}

wd_status wd_conversation_from_json(const cJSON *messages, size_t max_messages, char *param, size_t cap,
                                    wd_conversation **out) {
    if (param && cap) param[0] = '\0';
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_conversation_from_json: out is NULL");
    *out = NULL;
    if (!cJSON_IsArray(messages))
        return bad(param, cap, "messages", "must be an array of {\"role\", \"content\"} objects, got %s",
                   messages ? type_name(messages) : "nothing");
    size_t n = (size_t)cJSON_GetArraySize(messages);
    if (!n) return bad(param, cap, "messages", "is empty; give at least one message");
    if (max_messages && n > max_messages)
        return bad(param, cap, "messages", "has %zu messages; at most %zu are taken", n, max_messages);
    wd_conversation *c = calloc(1, sizeof *c);
    if (!c || !(c->msgs = calloc(n, sizeof *c->msgs)) || !(c->own = calloc(n, sizeof *c->own))) {
        wd_conversation_free(c);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    c->n_own = n;
    size_t i = 0;
    wd_status st = WD_OK;
    for (const cJSON *m = messages->child; m && !st; m = m->next, i++) {
        char path[48];
        snprintf(path, sizeof path, "messages[%zu]", i);
        if (!cJSON_IsObject(m)) {
            st = bad(param, cap, path, "must be an object with \"role\" and \"content\", got %s", type_name(m));
            break;
        }
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        snprintf(path, sizeof path, "messages[%zu].role", i);
        if (!cJSON_IsString(role)) {
            st = bad(param, cap, path, "missing or not a string (system, developer, user, assistant or tool)");
            break;
        }
        wd__conv_kind k = wd__conv_kind_of(role->valuestring);
        if (k == WD__CONV_UNKNOWN) {
            st = bad(param, cap, path, "unknown role '%.40s' (system, developer, user, assistant or tool)",
                     role->valuestring);
            break;
        }
        st = content_text(c, i, cJSON_GetObjectItemCaseSensitive(m, "content"), k == WD__CONV_ASSISTANT, param,
                          cap, &c->own[i]);
        if (st) break;
        c->msgs[i] = (wd_chat_message){role->valuestring, c->own[i]};
        c->n = i + 1;
    }
    if (st) {
        wd_conversation_free(c);
        return st;
    }
    /* the roles point into the JSON tree: copy them to the static names */
    static const char *const names[] = {"system", "user", "assistant", "tool"};
    for (size_t j = 0; j < c->n; j++) {
        const char *r = c->msgs[j].role;
        c->msgs[j].role = !strcmp(r, "developer") ? "developer" : names[wd__conv_kind_of(r)];
    }
    *out = c;
    return WD_OK;
}
