/*
 * serve/chat_upstream.c - the gateway's upstream backend: an
 * OpenAI-compatible chat server (vLLM, llama.cpp's server, Ollama,
 * OpenAI itself, or another warden) reached over HTTP(S).
 *
 * The client's request body is forwarded byte for byte (tools, response
 * formats and every member the gateway does not read pass untouched),
 * unless the input rail redacted a message, in which case the parsed
 * request is re-serialised with the redacted texts. The upstream's answer
 * is read whole (non-streaming) or as server-sent events (streaming), each
 * event's JSON handed on as a chunk object.
 *
 * Failures become OpenAI-shaped errors: connection refused / reset / TLS
 * -> 502 upstream_unavailable; no answer in time -> 504 upstream_timeout;
 * an answer that is not HTTP, not JSON or not a completion -> 502
 * upstream_bad_response; the upstream's own 4xx (a bad model name, its
 * own rate limit) is passed through with its status and body. A failed
 * connect and a 500/502/503/504 answer are retried (upstream_retries times,
 * 100 ms then 200 ms ... apart, within the request's deadline) as long as
 * nothing of the answer reached the client.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "serve/chat_internal.h"
#include "serve/http_client.h"

typedef struct upstream {
    wd__url url;
    char *auth;                 /* "Authorization: Bearer ..." or NULL */
    char *ca;
    int64_t connect_ns, timeout_ns, idle_ns;
    int retries;
    wd__counters *counters;
} upstream;

static void up_free(void *p) {
    upstream *u = p;
    if (!u) return;
    free(u->auth);
    free(u->ca);
    free(u);
}

static void fail(wd__chat_fail *f, int status, const char *type, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
static void fail(wd__chat_fail *f, int status, const char *type, const char *code, const char *fmt,
                 ...) {
    f->status = status;
    f->type = type;
    f->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

/* The request re-serialised from rq: the client's JSON with the messages'
 * texts replaced (redaction), or a fresh one (revisions). */
static char *build_body(const wd__chat_req *rq, size_t *len) {
    cJSON *o = rq->json ? cJSON_Duplicate(rq->json, true) : cJSON_CreateObject();
    if (!o) return NULL;
    if (!rq->json) {
        if (rq->model) cJSON_AddStringToObject(o, "model", rq->model);
        if (rq->max_tokens) cJSON_AddNumberToObject(o, "max_tokens", rq->max_tokens);
        if (rq->temperature >= 0) cJSON_AddNumberToObject(o, "temperature", rq->temperature);
        if (rq->top_p >= 0) cJSON_AddNumberToObject(o, "top_p", rq->top_p);
        if (rq->has_seed) cJSON_AddNumberToObject(o, "seed", (double)rq->seed);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(o, "stream");
    cJSON_AddBoolToObject(o, "stream", rq->stream);
    if (rq->legacy) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "prompt");
        cJSON_AddStringToObject(o, "prompt", rq->n_msgs ? rq->msgs[0].text : "");
    } else {
        cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
        if (!msgs) msgs = cJSON_AddArrayToObject(o, "messages");
        for (size_t i = 0; i < rq->n_msgs; i++) {
            cJSON *m = cJSON_GetArrayItem(msgs, (int)i);
            if (!m) {
                m = cJSON_CreateObject();
                cJSON_AddStringToObject(m, "role", rq->msgs[i].role);
                cJSON_AddItemToArray(msgs, m);
            }
            cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
            /* text content only: parts with images keep their other parts */
            if (c && cJSON_IsArray(c)) {
                cJSON *keep = cJSON_CreateArray(), *part;
                cJSON *t = cJSON_CreateObject();
                cJSON_AddStringToObject(t, "type", "text");
                cJSON_AddStringToObject(t, "text", rq->msgs[i].text);
                cJSON_AddItemToArray(keep, t);
                cJSON_ArrayForEach(part, c) {
                    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(part, "type");
                    if (cJSON_IsString(ty) && strcmp(ty->valuestring, "text"))
                        cJSON_AddItemToArray(keep, cJSON_Duplicate(part, true));
                }
                cJSON_ReplaceItemInObjectCaseSensitive(m, "content", keep);
            } else if (!c || cJSON_IsString(c)) {
                cJSON_DeleteItemFromObjectCaseSensitive(m, "content");
                cJSON_AddStringToObject(m, "content", rq->msgs[i].text);
            }
        }
    }
    char *s = wd__json_print(o, false);
    cJSON_Delete(o);
    if (s) *len = strlen(s);
    return s;
}

/* ==== One exchange =========================================================== */

typedef struct xfer {
    wd__http_response *resp;
    bool streaming, done, delivered;
    wd__sse sse;
    wd__chunk_fn on_chunk;
    void *user;
    bool legacy;
    char *err;                  /* an error body (non-200 while streaming) */
    size_t err_len;
    bool bad_event;
    bool finished;              /* a chunk said finish_reason */
} xfer;

/* An error body the upstream sent, as an OpenAI error object: its own when
 * it is one, else wrapped (an HTML page, plain text). */
static char *error_body(const char *eb, int status) {
    cJSON *o = eb ? cJSON_Parse(eb) : NULL;
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "error"))) {
        cJSON_Delete(o);
        return strdup(eb);
    }
    cJSON_Delete(o);
    char msg[200];
    snprintf(msg, sizeof msg, "the model upstream answered HTTP %d without an OpenAI error body", status);
    o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", "invalid_request_error");
    cJSON_AddNullToObject(e, "param");
    cJSON_AddStringToObject(e, "code", "upstream_error");
    char *s = wd__json_print(o, false);
    cJSON_Delete(o);
    return s;
}

static bool on_event(void *p, const char *event, const char *data, size_t n) {
    (void)event;
    xfer *x = p;
    if (n == 6 && !memcmp(data, "[DONE]", 6)) {
        x->done = true;
        return false;
    }
    cJSON *chunk = wd__json_parse(data, n, "upstream event");
    if (!cJSON_IsObject(chunk)) {
        cJSON_Delete(chunk);
        x->bad_event = true;
        return false;
    }
    if (cJSON_GetObjectItemCaseSensitive(chunk, "error")) { /* an error sent as an event */
        x->err = wd__json_print(chunk, false);
        x->err_len = x->err ? strlen(x->err) : 0;
        cJSON_Delete(chunk);
        return false;
    }
    x->delivered = true;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(chunk, "choices"))
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "finish_reason"))) x->finished = true;
    bool go = x->on_chunk(x->user, chunk);
    cJSON_Delete(chunk);
    return go;
}

static bool on_body(void *p, const char *data, size_t n) {
    xfer *x = p;
    if (x->resp->status != 200) { /* an error answer: keep it for the message */
        if (x->err_len + n > 65536) return true;
        char *e = realloc(x->err, x->err_len + n + 1);
        if (!e) return false;
        memcpy(e + x->err_len, data, n);
        x->err = e;
        x->err_len += n;
        e[x->err_len] = 0;
        return true;
    }
    return wd__sse_feed(&x->sse, data, n) == WD_OK;
}

static bool retryable(wd_status st, int status) {
    return st == WD_ERR_IO ||
           (!st && (status == 500 || status == 502 || status == 503 || status == 504));
}

static bool up_complete(void *self, const wd__chat_req *rq, const char *body, size_t len,
                        const char *request_id, int64_t deadline_ns,
                        const volatile sig_atomic_t *cancel, cJSON **out, wd__chunk_fn on_chunk,
                        void *user, wd__chat_fail *f, wd__chat_stats *stats) {
    upstream *u = self;
    *out = NULL;
    char *owned = NULL;
    if (!body) {
        owned = build_body(rq, &len);
        if (!owned) {
            fail(f, 500, "server_error", "out_of_memory", "out of memory");
            return false;
        }
        body = owned;
    }
    char rid[200];
    /* the request's own id (the completion id is "chatcmpl-" + it) */
    const char *bare = request_id ? request_id : "";
    if (!strncmp(bare, "chatcmpl-", 9)) bare += 9;
    else if (!strncmp(bare, "cmpl-", 5)) bare += 5;
    snprintf(rid, sizeof rid, "X-Request-Id: %s", bare);
    char hops[40];
    snprintf(hops, sizeof hops, "X-Warden-Hops: %d", rq->hops + 1);
    const char *hdrs[5] = {"Content-Type: application/json", rid, hops, NULL, NULL};
    size_t nh = 3;
    if (u->auth) hdrs[nh++] = u->auth;
    if (on_chunk) hdrs[nh++] = "Accept: text/event-stream";
    int64_t t0 = wd__serve_now_ns();
    int64_t end = t0 + u->timeout_ns;
    if (deadline_ns && deadline_ns < end) end = deadline_ns;
    bool ok = false;
    for (int attempt = 0;; attempt++) {
        wd__http_request hr = {
            .method = "POST", .url = &u->url,
            .path = rq->legacy ? "/completions" : "/chat/completions",
            .headers = hdrs, .n_headers = nh, .body = body, .body_len = len,
            .connect_timeout_ns = u->connect_ns, .deadline_ns = end,
            .idle_timeout_ns = on_chunk ? u->idle_ns : 0, .cancel = cancel, .ca_file = u->ca,
        };
        wd__http_response resp = {0};
        xfer x = {.resp = &resp, .on_chunk = on_chunk, .user = user, .legacy = rq->legacy};
        if (on_chunk) wd__sse_init(&x.sse, on_event, &x);
        wd_status st = wd__http_send(&hr, &resp, on_chunk ? on_body : NULL, &x);
        if (on_chunk) wd__sse_free(&x.sse);
        double dt = (double)(wd__serve_now_ns() - t0) * 1e-9;
        wd__counters_upstream(u->counters, st == WD_ERR_TIMEOUT ? WD__UPSTREAM_TIMEOUT
                                           : st && st != WD_ERR_CANCELLED ? WD__UPSTREAM_ERROR
                                           : wd__upstream_class_of(resp.status), dt);
        if (stats) {
            stats->attempts = attempt + 1;
            stats->upstream_status = resp.status;
            stats->model_ms = dt * 1e3;
        }
        /* [DONE], the client stopped it, or an error event / a bad event
         * stopped the reading (answered below, not as a cancel) */
        if (st == WD_ERR_CANCELLED && (x.done || x.delivered || x.err || x.bad_event)) st = WD_OK;
        if (retryable(st, resp.status) && !x.delivered && attempt < u->retries &&
            wd__serve_now_ns() + (int64_t)100000000 * (1 << attempt) < end) {
            WD_INFO("serve: upstream attempt %d failed (%s); retrying", attempt + 1,
                    st ? wd_last_error() : "HTTP 5xx");
            struct timespec ts = {0, 100000000L << attempt};
            nanosleep(&ts, NULL);
            wd__http_response_free(&resp);
            free(x.err);
            continue;
        }
        const char *where = u->url.host;
        if (st == WD_ERR_TIMEOUT) {
            fail(f, 504, "server_error", "upstream_timeout", "the model upstream (%s) did not answer in time: %s",
                 where, wd_last_error());
        } else if (st == WD_ERR_CANCELLED) {
            fail(f, 503, "server_error", "cancelled", "the request was cancelled");
        } else if (st) {
            fail(f, 502, "server_error", st == WD_ERR_IO ? "upstream_unavailable" : "upstream_bad_response",
                 "the model upstream (%s) failed: %s", where, wd_last_error());
        } else if (resp.status != 200) {
            const char *eb = on_chunk ? x.err : resp.body;
            if (resp.status == 401 || resp.status == 403) {
                /* the gateway's key to the upstream, not the client's: a
                 * client told "invalid key" would look at the wrong key */
                fail(f, 502, "server_error", "upstream_auth",
                     "the model upstream refused the gateway's credentials (HTTP %d): check "
                     "--upstream-key-env", resp.status);
            } else if ((resp.status >= 400 && resp.status < 500) || resp.status == 508) {
                /* its own refusals, and a gateway loop (508: not retried, passed
                 * back down the chain at once) */
                fail(f, resp.status, "invalid_request_error", "upstream_error",
                     "the model upstream refused the request (HTTP %d)", resp.status);
                f->upstream_body = error_body(eb, resp.status);
            } else {
                fail(f, 502, "server_error", "upstream_error",
                     "the model upstream answered HTTP %d", resp.status);
            }
        } else if (on_chunk) {
            if (x.err) {
                fail(f, 502, "server_error", "upstream_error", "the model upstream sent an error event");
                f->upstream_body = x.err;
                x.err = NULL;
            } else if (x.bad_event) {
                fail(f, 502, "server_error", "upstream_bad_response",
                     "the model upstream (%s) sent an event that is not a JSON object", where);
            } else if (!x.delivered) {
                fail(f, 502, "server_error", "upstream_bad_response",
                     "the model upstream (%s) sent no events (%s)", where,
                     resp.content_type ? resp.content_type : "no content type");
            } else if (!x.done && !x.finished) {
                fail(f, 502, "server_error", "upstream_bad_response",
                     "the model upstream (%s) ended the stream before it finished", where);
            } else {
                ok = true;
            }
        } else {
            cJSON *o = resp.body ? wd__json_parse(resp.body, resp.body_len, "upstream answer") : NULL;
            if (!cJSON_IsObject(o) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "choices"))) {
                cJSON_Delete(o);
                fail(f, 502, "server_error", "upstream_bad_response",
                     "the model upstream (%s) answered something that is not a completion "
                     "(%s)", where, resp.content_type ? resp.content_type : "no content type");
            } else {
                *out = o;
                ok = true;
            }
        }
        wd__http_response_free(&resp);
        free(x.err);
        break;
    }
    free(owned);
    return ok;
}

static char *up_models(void *self, int hops, int64_t deadline_ns) {
    upstream *u = self;
    char hop[40];
    snprintf(hop, sizeof hop, "X-Warden-Hops: %d", hops + 1);
    const char *hdrs[2] = {hop, u->auth};
    wd__http_request hr = {.method = "GET", .url = &u->url, .path = "/models", .headers = hdrs,
                           .n_headers = u->auth ? 2 : 1, .connect_timeout_ns = u->connect_ns,
                           .deadline_ns = deadline_ns, .ca_file = u->ca};
    wd__http_response resp = {0};
    char *out = NULL;
    if (!wd__http_send(&hr, &resp, NULL, NULL) && resp.status == 200 && resp.body) {
        cJSON *o = wd__json_parse(resp.body, resp.body_len, "upstream models");
        cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "data");
        if (cJSON_IsArray(d)) out = wd__json_print(d, false);
        cJSON_Delete(o);
    }
    wd__http_response_free(&resp);
    return out;
}

static const wd__chat_backend upstream_backend = {
    .kind = "upstream", .complete = up_complete, .models = up_models, .free = up_free,
};

wd_status wd__chat_upstream_new(const wd_gateway_params *gp, wd__counters *counters,
                                const wd__chat_backend **be, void **self) {
    upstream *u = calloc(1, sizeof *u);
    if (!u) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = wd__url_parse(gp->upstream, &u->url);
    if (st) {
        free(u);
        return st;
    }
    if (gp->upstream_key && gp->upstream_key[0]) {
        size_t n = strlen(gp->upstream_key) + 32;
        u->auth = malloc(n);
        if (u->auth) snprintf(u->auth, n, "Authorization: Bearer %s", gp->upstream_key);
    }
    if (gp->upstream_ca) u->ca = strdup(gp->upstream_ca);
    u->connect_ns = (int64_t)(gp->upstream_connect_ms > 0 ? gp->upstream_connect_ms : 3000) * 1000000;
    u->timeout_ns = (int64_t)(gp->upstream_timeout_ms > 0 ? gp->upstream_timeout_ms : 120000) * 1000000;
    u->idle_ns = (int64_t)(gp->upstream_idle_ms > 0 ? gp->upstream_idle_ms : 30000) * 1000000;
    u->retries = gp->upstream_retries < 0 ? 0 : gp->upstream_retries > 5 ? 5 : gp->upstream_retries;
    u->counters = counters;
    *be = &upstream_backend;
    *self = u;
    return WD_OK;
}
