/*
 * serve/chat_request.c - the client's side of the gateway in OpenAI's
 * shapes: the chat (or legacy completions) request read strictly into what
 * the rails need, and the completion and chunk objects the gateway writes
 * itself (refusals, a local model's answers).
 *
 * Request (POST /v1/chat/completions):
 *   {"model": "...", "messages": [{"role", "content", ...}, ...],
 *    "stream": false, "stream_options": {"include_usage": false},
 *    "max_tokens" | "max_completion_tokens": N, "temperature": T,
 *    "top_p": P, "seed": S, "n": 1, "stop": "..." | ["...", ...], ...}
 * content is a string, null (an assistant turn that only calls tools), or
 * an array of parts of which the "text" parts are read (joined by '\n');
 * other parts (images, audio) pass to the model unchecked. Members the
 * gateway does not read (tools, tool_choice, response_format, ...) are
 * forwarded to the upstream untouched. The legacy route reads "prompt" (a
 * string, or an array of one string) instead of "messages".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "serve/chat_internal.h"

static bool bad(wd__answer *a, const char *param, const char *code, const char *msg) {
    wd__answer_error(a, 400, "invalid_request_error", code, param, "%s", msg);
    return false;
}

static const char *const roles[] = {"system", "developer", "user", "assistant", "tool", "function"};

/* The text of a message's content: string, null or text parts. */
static bool content_text(const cJSON *c, int i, wd__chat_msg *m, wd__answer *a) {
    char param[64];
    snprintf(param, sizeof param, "messages[%d].content", i);
    if (!c || cJSON_IsNull(c)) {
        m->text = strdup("");
        return m->text ? true : bad(a, param, "out_of_memory", "out of memory");
    }
    if (cJSON_IsString(c)) {
        m->len = strlen(c->valuestring);
        m->text = malloc(m->len + 1);
        if (!m->text) return bad(a, param, "out_of_memory", "out of memory");
        memcpy(m->text, c->valuestring, m->len + 1);
        return true;
    }
    if (!cJSON_IsArray(c))
        return bad(a, param, "invalid_type", "content must be a string, null or an array of parts");
    wd__strbuf sb = {0};
    int k = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, c) {
        snprintf(param, sizeof param, "messages[%d].content[%d]", i, k++);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type)) {
            wd__strbuf_free(&sb);
            return bad(a, param, "invalid_type", "a content part must be an object with a string \"type\"");
        }
        const char *ty = type->valuestring;
        if (!strcmp(ty, "image_url") || !strcmp(ty, "input_audio")) continue; /* not text */
        if (strcmp(ty, "text") && strcmp(ty, "refusal")) {
            /* a part the rails could not read (a file, ...) is not passed unread */
            wd__strbuf_free(&sb);
            return bad(a, param, "unsupported_content_part",
                       "content parts may be text, refusal, image_url or input_audio");
        }
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, ty);
        if (!cJSON_IsString(t)) {
            wd__strbuf_free(&sb);
            return bad(a, param, "invalid_type", "a text or refusal part needs its string");
        }
        if (sb.n) wd__strbuf_putc(&sb, '\n');
        wd__strbuf_puts(&sb, t->valuestring);
    }
    if (sb.oom) {
        wd__strbuf_free(&sb);
        return bad(a, param, "out_of_memory", "out of memory");
    }
    m->text = wd__strbuf_take(&sb, &m->len);
    if (!m->text) m->text = strdup("");
    return m->text ? true : bad(a, param, "out_of_memory", "out of memory");
}

static bool get_number(const cJSON *root, const char *name, double lo, double hi, double *out,
                       wd__answer *a) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!v || cJSON_IsNull(v)) return true;
    char msg[128];
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        snprintf(msg, sizeof msg, "%s must be a number from %g to %g", name, lo, hi);
        return bad(a, name, "invalid_value", msg);
    }
    *out = v->valuedouble;
    return true;
}

static bool get_int(const cJSON *root, const char *name, double lo, double hi, long long *out,
                    bool *has, wd__answer *a) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!v || cJSON_IsNull(v)) return true;
    char msg[128];
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi) {
        snprintf(msg, sizeof msg, "%s must be an integer from %.0f to %.0f", name, lo, hi);
        return bad(a, name, "invalid_value", msg);
    }
    *out = (long long)v->valuedouble;
    if (has) *has = true;
    return true;
}

static bool parse_stop(const cJSON *root, wd__chat_req *rq, wd__answer *a) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (!v || cJSON_IsNull(v)) return true;
    size_t n = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
    if (!n || n > 4) return bad(a, "stop", "invalid_value", "stop must be a string or an array of 1 to 4 strings");
    rq->stop = calloc(n, sizeof *rq->stop);
    if (!rq->stop) return bad(a, "stop", "out_of_memory", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const cJSON *s = cJSON_IsString(v) ? v : cJSON_GetArrayItem(v, (int)i);
        if (!cJSON_IsString(s) || !s->valuestring[0])
            return bad(a, "stop", "invalid_value", "every stop sequence must be a non-empty string");
        rq->stop[i] = strdup(s->valuestring);
        if (!rq->stop[i]) return bad(a, "stop", "out_of_memory", "out of memory");
        rq->n_stop = i + 1;
    }
    return true;
}

static bool parse_messages(const cJSON *root, size_t max_msgs, wd__chat_req *rq, wd__answer *a) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return bad(a, "messages", msgs ? "invalid_type" : "missing_field",
                   "\"messages\" must be a non-empty array of {\"role\", \"content\"} objects");
    size_t n = (size_t)cJSON_GetArraySize(msgs);
    if (n > max_msgs) {
        char msg[96];
        snprintf(msg, sizeof msg, "%zu messages is over the limit of %zu", n, max_msgs);
        return bad(a, "messages", "too_many_messages", msg);
    }
    rq->msgs = calloc(n, sizeof *rq->msgs);
    if (!rq->msgs) return bad(a, "messages", "out_of_memory", "out of memory");
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        char param[48];
        snprintf(param, sizeof param, "messages[%d].role", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return bad(a, param, "invalid_type", "every message must be an object with a string \"role\"");
        const char *r = NULL;
        for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++)
            if (!strcmp(role->valuestring, roles[k])) r = roles[k];
        if (!r)
            return bad(a, param, "invalid_value",
                       "role must be system, developer, user, assistant, tool or function");
        rq->msgs[i].role = r;
        rq->n_msgs = (size_t)i + 1;
        if (!content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), i, &rq->msgs[i], a))
            return false;
        i++;
    }
    return true;
}

void wd__chat_gather_text(const cJSON *o, bool skip_ids, wd__strbuf *sb) {
    if (cJSON_IsString(o)) {
        if (o->valuestring[0]) {
            if (sb->n) wd__strbuf_putc(sb, '\n');
            wd__strbuf_puts(sb, o->valuestring);
        }
        return;
    }
    const cJSON *c;
    if (cJSON_IsArray(o) || cJSON_IsObject(o))
        cJSON_ArrayForEach(c, o) {
            if (skip_ids && c->string &&
                (!strcmp(c->string, "id") || !strcmp(c->string, "type") || !strcmp(c->string, "role") ||
                 !strcmp(c->string, "name") || !strcmp(c->string, "tool_call_id")))
                continue;
            wd__chat_gather_text(c, skip_ids, sb);
        }
}

void wd__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

bool wd__chat_req_parse(const char *body, size_t len, bool legacy, size_t max_msgs,
                        wd__chat_req *rq, wd__answer *a) {
    memset(rq, 0, sizeof *rq);
    rq->temperature = rq->top_p = -1;
    rq->n = 1;
    rq->legacy = legacy;
    if (!len) return bad(a, NULL, "invalid_json", "the request body is empty; expected a JSON object");
    wd_json_fault fault;
    rq->json = wd__json_parse_strict(body, len, "request body", 0, &fault);
    if (!rq->json)
        return bad(a, NULL, fault == WD_JSON_DUP_KEY ? "duplicate_key"
                            : fault == WD_JSON_NUL   ? "nul_in_string"
                                                     : "invalid_json",
                   wd_last_error());
    const cJSON *root = rq->json;
    if (!cJSON_IsObject(root)) return bad(a, NULL, "invalid_type", "the request body must be a JSON object");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsString(model)) return bad(a, "model", "invalid_type", "model must be a string");
    rq->model = model ? model->valuestring : NULL;
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream))
        return bad(a, "stream", "invalid_type", "stream must be true or false");
    rq->stream = cJSON_IsTrue(stream);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) return bad(a, "stream_options", "invalid_type", "stream_options must be an object");
        rq->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    }
    /* members with which a server lets the client write the prompt itself
     * (a template, a prefilled answer) around the rails: refused */
    static const char *const shaping[] = {"chat_template", "chat_template_kwargs",
                                          "continue_final_message", "add_generation_prompt",
                                          "echo", "raw_prompt"};
    for (size_t k = 0; k < sizeof shaping / sizeof shaping[0]; k++)
        if (cJSON_GetObjectItemCaseSensitive(root, shaping[k])) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s shapes the prompt outside the messages; the gateway does not pass it",
                     shaping[k]);
            return bad(a, shaping[k], "unsupported_parameter", msg);
        }
    /* text the model reads besides the messages: checked by the input rail */
    wd__strbuf ex = {0};
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    const cJSON *functions = cJSON_GetObjectItemCaseSensitive(root, "functions");
    const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(root, "suffix");
    wd__chat_gather_text(tools, false, &ex);
    wd__chat_gather_text(functions, false, &ex);
    if (legacy) wd__chat_gather_text(suffix, false, &ex);
    if (ex.n) rq->extra = wd__strbuf_take(&ex, &rq->extra_len);
    else wd__strbuf_free(&ex);
    long long v = 0;
    bool has = false;
    if (!get_int(root, "max_tokens", 1, 1 << 20, &v, &has, a)) return false;
    if (!has && !get_int(root, "max_completion_tokens", 1, 1 << 20, &v, &has, a)) return false;
    rq->max_tokens = has ? (int)v : 0;
    if (!get_number(root, "temperature", 0, 2, &rq->temperature, a) ||
        !get_number(root, "top_p", 0, 1, &rq->top_p, a) ||
        !get_int(root, "seed", -9.2e18, 9.2e18, &rq->seed, &rq->has_seed, a))
        return false;
    v = 1;
    if (!get_int(root, "n", 1, 16, &v, NULL, a)) return false;
    rq->n = (int)v;
    if (!parse_stop(root, rq, a)) return false;
    if (!legacy) return parse_messages(root, max_msgs, rq, a);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1) p = cJSON_GetArrayItem(p, 0);
    if (!cJSON_IsString(p))
        return bad(a, "prompt", p ? "invalid_type" : "missing_field",
                   "\"prompt\" must be a string (or an array of one string)");
    rq->msgs = calloc(1, sizeof *rq->msgs);
    if (!rq->msgs) return bad(a, "prompt", "out_of_memory", "out of memory");
    rq->n_msgs = 1;
    rq->msgs[0].role = "user";
    return content_text(p, 0, &rq->msgs[0], a);
}

void wd__chat_req_free(wd__chat_req *rq) {
    if (!rq) return;
    for (size_t i = 0; i < rq->n_msgs; i++) free(rq->msgs[i].text);
    free(rq->msgs);
    for (size_t i = 0; i < rq->n_stop; i++) free(rq->stop[i]);
    free(rq->stop);
    free(rq->extra);
    cJSON_Delete(rq->json);
    memset(rq, 0, sizeof *rq);
}

/* ==== Answers ================================================================ */

static const char *model_of(const wd__chat_req *rq, const char *model) {
    return model ? model : rq && rq->model ? rq->model : "warden";
}

cJSON *wd__chat_completion_new(const wd__chat_req *rq, const char *id, const char *model,
                               const char *text, const char *finish_reason) {
    bool legacy = rq && rq->legacy;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", legacy ? "text_completion" : "chat.completion");
    cJSON_AddNumberToObject(o, "created", (double)time(NULL));
    cJSON_AddStringToObject(o, "model", model_of(rq, model));
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    if (legacy) {
        cJSON_AddStringToObject(c, "text", text);
    } else {
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", text);
    }
    cJSON_AddNullToObject(c, "logprobs");
    cJSON_AddStringToObject(c, "finish_reason", finish_reason);
    cJSON_AddItemToArray(choices, c);
    return o;
}

cJSON *wd__chat_chunk_new(const wd__chat_req *rq, const char *id, const char *model,
                          long long created, int index, const char *role, const char *content,
                          const char *finish_reason) {
    bool legacy = rq && rq->legacy;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", legacy ? "text_completion" : "chat.completion.chunk");
    cJSON_AddNumberToObject(o, "created", (double)created);
    cJSON_AddStringToObject(o, "model", model_of(rq, model));
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", index);
    if (legacy) {
        cJSON_AddStringToObject(c, "text", content ? content : "");
    } else {
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        if (role) cJSON_AddStringToObject(d, "role", role);
        if (content) cJSON_AddStringToObject(d, "content", content);
    }
    cJSON_AddNullToObject(c, "logprobs");
    if (finish_reason) cJSON_AddStringToObject(c, "finish_reason", finish_reason);
    else cJSON_AddNullToObject(c, "finish_reason");
    cJSON_AddItemToArray(choices, c);
    return o;
}

static cJSON *choice_at(const cJSON *completion, int i) {
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(completion, "choices");
    return cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, i) : NULL;
}

const char *wd__chat_choice_text(const cJSON *completion, int i, bool legacy) {
    const cJSON *c = choice_at(completion, i);
    if (!cJSON_IsObject(c)) return NULL;
    const cJSON *t = legacy ? cJSON_GetObjectItemCaseSensitive(c, "text")
                            : cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(c, "message"), "content");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

void wd__chat_choice_set(cJSON *completion, int i, bool legacy, const char *text,
                         const char *finish_reason) {
    cJSON *c = choice_at(completion, i);
    if (!cJSON_IsObject(c)) return;
    /* the old text's token log-probabilities would spell it out */
    cJSON_DeleteItemFromObjectCaseSensitive(c, "logprobs");
    cJSON_AddNullToObject(c, "logprobs");
    cJSON *holder = legacy ? c : cJSON_GetObjectItemCaseSensitive(c, "message");
    if (cJSON_IsObject(holder)) {
        const char *key = legacy ? "text" : "content";
        cJSON_DeleteItemFromObjectCaseSensitive(holder, key);
        cJSON_AddStringToObject(holder, key, text);
        if (!legacy && finish_reason && !strcmp(finish_reason, "content_filter")) {
            /* a refused answer calls no tools */
            cJSON_DeleteItemFromObjectCaseSensitive(holder, "tool_calls");
            cJSON_DeleteItemFromObjectCaseSensitive(holder, "function_call");
        }
    }
    if (finish_reason) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, "finish_reason");
        cJSON_AddStringToObject(c, "finish_reason", finish_reason);
    }
}

/* Adds the string items under o (any depth) to slots. */
static int add_strings(cJSON *o, cJSON **slots, int n, int max) {
    if (cJSON_IsString(o)) {
        if (n < max) slots[n] = o;
        return n + 1;
    }
    cJSON *c;
    if (cJSON_IsArray(o) || cJSON_IsObject(o))
        cJSON_ArrayForEach(c, o) {
            /* ids, types and names are not text the model wrote */
            if (c->string && (!strcmp(c->string, "id") || !strcmp(c->string, "type") ||
                              !strcmp(c->string, "role") || !strcmp(c->string, "name") ||
                              !strcmp(c->string, "tool_call_id")))
                continue;
            n = add_strings(c, slots, n, max);
        }
    return n;
}

int wd__chat_choice_slots(cJSON *completion, int i, bool legacy, cJSON **slots, int max) {
    cJSON *c = choice_at(completion, i);
    if (!cJSON_IsObject(c)) return -1;
    if (legacy) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "text");
        if (!cJSON_IsString(t)) return t && !cJSON_IsNull(t) ? -1 : 0;
        slots[0] = t;
        return 1;
    }
    cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "message");
    if (!m || cJSON_IsNull(m)) return 0;
    if (!cJSON_IsObject(m)) return -1;
    /* every string the message holds, wherever: content (or its parts),
     * refusal, reasoning, audio transcripts, tool-call arguments, members
     * this gateway has never heard of */
    return add_strings(m, slots, 0, max);
}

void wd__chat_choice_block(cJSON *completion, int i, bool legacy, const char *refusal) {
    cJSON *c = choice_at(completion, i);
    if (!cJSON_IsObject(c)) return;
    cJSON_DeleteItemFromObjectCaseSensitive(c, "logprobs");
    cJSON_AddNullToObject(c, "logprobs");
    if (!legacy) { /* the refusal is all the message holds */
        cJSON_DeleteItemFromObjectCaseSensitive(c, "message");
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
    }
    wd__chat_choice_set(completion, i, legacy, refusal, "content_filter");
}

const char *wd__chat_chunk_text(const cJSON *chunk, int *index, const char **finish_reason,
                                bool legacy) {
    *index = 0;
    *finish_reason = NULL;
    const cJSON *c = choice_at(chunk, 0);
    if (!cJSON_IsObject(c)) return NULL;
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(c, "index");
    if (cJSON_IsNumber(ix) && ix->valuedouble >= 0 && ix->valuedouble < 1024) *index = (int)ix->valuedouble;
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
    if (cJSON_IsString(fr)) *finish_reason = fr->valuestring;
    const cJSON *t = legacy ? cJSON_GetObjectItemCaseSensitive(c, "text")
                            : cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(c, "delta"), "content");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

void wd__answer_json(wd__answer *a, int status, cJSON *obj) {
    char *text = obj ? wd__json_print(obj, false) : NULL;
    cJSON_Delete(obj);
    free(a->body);
    a->body = NULL;
    a->len = 0;
    if (!text) {
        wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return;
    }
    size_t n = strlen(text);
    char *b = realloc(text, n + 2);
    if (b) {
        b[n++] = '\n';
        b[n] = 0;
        text = b;
    }
    a->status = status;
    a->body = text;
    a->len = n;
}
