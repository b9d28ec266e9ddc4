/*
 * serve/server.c - the HTTP side of `warden serve` on libmicrohttpd (MHD):
 * routing, bearer auth, limits, metrics bookkeeping: one request's life.
 * Starting, reloading and stopping the server: lifecycle.c.
 *
 * One request's life (MHD calls access() several times per request):
 *
 *   headers in ──> first call: route, method, auth, Content-Length > max?
 *                  any failure is answered at once (the body is never read:
 *                  MHD closes the connection after the answer; success is
 *                  answered later so that the connection is kept alive)
 *   body chunks ──> appended to ctx->body up to max_body; past that (chunked
 *                  uploads have no Content-Length) the rest is discarded and
 *                  the answer is 413; past the request deadline: connection
 *                  closed
 *   last call  ──> the route's handler runs on the MHD worker thread and its
 *                  answer is queued
 *   completed  ──> latency and status into the metrics, in-flight - 1,
 *                  the access-log line (access_log.c), also for requests
 *                  that got no answer (client gone, shutdown)
 *
 * Connections: the gate (gate.c) accepts them, waits for a complete and
 * well-formed request head under header_timeout_ms, answers framing errors
 * and the health routes itself, and hands the rest to MHD. MHD then runs its
 * internal thread pool (epoll, n_threads workers) or, for comparison, a
 * thread per connection. Slow body senders are cut by the request deadline
 * (checked as bytes arrive) and MHD's idle timeout; connection counts by
 * MHD's connection limit and per-address limit.
 *
 * Memory: bodies are buffered whole. Every request reserves its body bytes
 * (its Content-Length up front, or each growth of a chunked body) from a
 * server-wide budget (body_budget) and gives them back when it completes;
 * a request that would overspend it is answered 503 with Retry-After.
 *
 * The guard in force: a request holds a reference to it for its whole life
 * (wd__server_guard_for / _release, guards.c), so a reload never frees a
 * guard in use.
 *
 * Long requests (the chat routes, `long_` in the table) also hold one of the
 * server's max_inflight slots from their first call to their end; with
 * none free they are answered 503 at once, before the body is read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/rng.h"
#include "serve/chat_internal.h"
#include "serve/serve_internal.h"
#include "serve/server_mhd.h"

int64_t wd__serve_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

wd_server_params wd_server_params_default(void) {
    wd_server_params p = {
        .host = "127.0.0.1",
        .port = 8080,
        .n_threads = 2,
        .max_body = (size_t)1 << 20,
        .max_inputs = 256,
        .timeout_ms = 10000,
        .max_connections = 1024,
        .conn_timeout_s = 15,
        .shutdown_grace_ms = 10000,
        .api_key = NULL,
        .policy_path = NULL,
        .thread_per_connection = 0,
        .header_timeout_ms = 10000,
        .max_conns_per_ip = 128,
        .body_budget = (size_t)64 << 20,
        .keys = NULL,
        .n_keys = 0,
        .rate_limit = 0,
        .insecure = 0,
        .tls_cert = NULL,
        .tls_key = NULL,
        .gateway = {
            .upstream_timeout_ms = 120000,
            .upstream_connect_ms = 3000,
            .upstream_idle_ms = 30000,
            .upstream_retries = 1,
            .model_slots = 1,
            .max_tokens = 256,
            .stream_check_tokens = 16,
            .revise_rounds = 2,
        },
        .access_log = NULL,
        .max_inflight = 64,
    };
    return p;
}

/* ==== Routes ============================================================== */

typedef struct route_def {
    const char *path;
    bool post;        /* POST with a JSON body; else GET/HEAD */
    bool auth;        /* needs the bearer token when one is set */
    wd__route id;
    wd__route_fn fn;  /* NULL: answered here (health, readiness, metrics) */
    bool long_;       /* holds a max_inflight slot (wd__server_inflight_enter) */
} route_def;

static const route_def routes[] = {
    {"/v1/moderations", true, true, WD__ROUTE_MODERATIONS, wd__route_moderations, false},
    {"/v1/check", true, true, WD__ROUTE_CHECK, wd__route_check, false},
    {"/v1/certify", true, true, WD__ROUTE_CERTIFY, wd__route_certify, false},
    {"/v1/chat/completions", true, true, WD__ROUTE_CHAT, wd__route_chat, true},
    {"/v1/completions", true, true, WD__ROUTE_COMPLETIONS, wd__route_completions, true},
    {"/healthz", false, false, WD__ROUTE_HEALTHZ, NULL, false},
    {"/readyz", false, false, WD__ROUTE_READYZ, NULL, false},
    {"/metrics", false, true, WD__ROUTE_METRICS, NULL, false},
    {"/v1/models", false, true, WD__ROUTE_MODELS, NULL, false},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

int wd__route_find(const char *path, size_t n, bool *post, bool *auth) {
    for (size_t i = 0; i < N_ROUTES; i++)
        if (strlen(routes[i].path) == n && !memcmp(path, routes[i].path, n)) {
            *post = routes[i].post;
            *auth = routes[i].auth;
            return (int)routes[i].id;
        }
    return -1;
}

/* Per-request state, MHD's *con_cls. */
typedef struct req_ctx {
    wd_server *srv;
    wd__lane *lane;           /* the worker answering it */
    const route_def *route;   /* NULL: unknown path */
    int64_t t0, deadline;
    char *body;
    size_t len, cap;
    bool too_big;             /* body passed max_body; rest discarded */
    bool over_budget;         /* the server's body budget ran out; rest discarded */
    size_t reserved;          /* bytes of the body budget this request holds */
    int status;               /* answered with this status; 0 = not yet */
    const wd__key *key;       /* the key it authenticated with; NULL: anonymous */
    bool inflight;            /* holds a max_inflight slot */
    uint64_t bytes_in;        /* body bytes received (also those dropped) */
    uint64_t bytes_out;       /* answer body bytes */
    char method[16];          /* for the access log */
    char *path;               /* for the access log (malloc'd; NULL when there is none) */
    wd__answer ans;           /* the route's answer: its in-fields and log_extra */
    char rid[WD__REQUEST_ID_MAX + 1];
} req_ctx;

/* ==== Answers ============================================================= */

void wd__answer_error(wd__answer *a, int status, const char *type, const char *code,
                      const char *param, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wd__jsonw w = {0};
    wd__jsonw_lit(&w, "{\"error\":{\"message\":");
    wd__jsonw_cstr(&w, msg);
    wd__jsonw_lit(&w, ",\"type\":");
    wd__jsonw_cstr(&w, type);
    wd__jsonw_lit(&w, ",\"param\":");
    wd__jsonw_cstr(&w, param);
    wd__jsonw_lit(&w, ",\"code\":");
    wd__jsonw_cstr(&w, code);
    wd__jsonw_lit(&w, "}}\n");
    free(a->body);
    a->status = status;
    a->body = wd__jsonw_take(&w, &a->len);
}

void wd__answer_log_add(wd__answer *a, const char *members) {
    if (a->log_off || !members || !members[0]) return;
    size_t old = a->log_extra ? strlen(a->log_extra) : 0, n = strlen(members);
    char *b = realloc(a->log_extra, old + n + 2);
    if (!b) return;
    if (old) b[old++] = ',';
    memcpy(b + old, members, n + 1);
    a->log_extra = b;
}

void wd__answer_log_printf(wd__answer *a, const char *fmt, ...) {
    if (a->log_off) return; /* no formatting for a log nobody writes */
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof buf) {
        wd__answer_log_add(a, buf);
        return;
    }
    char *big = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!big) return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    wd__answer_log_add(a, big);
    free(big);
}

void wd__answer_busy(wd__answer *a, const char *what) {
    wd__answer_error(a, 503, "server_error", "server_busy", NULL,
                     "the server is answering as many %s as it takes at once; retry shortly", what);
    a->hdr_name = "Retry-After";
    a->hdr_value = "1";
}

bool wd__server_inflight_enter(wd_server *srv) {
    _Atomic int64_t *n = &srv->counters.chat_inflight;
    if (atomic_fetch_add_explicit(n, 1, memory_order_relaxed) >= srv->p.max_inflight) {
        atomic_fetch_sub_explicit(n, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

void wd__server_inflight_leave(wd_server *srv) {
    atomic_fetch_sub_explicit(&srv->counters.chat_inflight, 1, memory_order_relaxed);
}

static const char oom_body[] =
    "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,"
    "\"code\":\"out_of_memory\"}}\n";

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    ssize_t n = wd__stream_read(cls, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_done(void *cls) { wd__stream_close(cls); }

/* Queues a's answer (taking its body) and records the status in ctx. */
static enum MHD_Result send_answer(struct MHD_Connection *conn, req_ctx *ctx, wd__answer *a) {
    struct MHD_Response *resp;
    int status = a->status;
    ctx->bytes_out = a->stream ? 0 : a->body ? a->len : sizeof oom_body - 1;
    if (a->stream) { /* a streamed chat answer: chunked, as the producer makes it */
        wd__stream_count_into(a->stream, &ctx->bytes_out);
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, a->stream,
                                                 stream_done);
        if (!resp) wd__stream_close(a->stream);
        else MHD_add_response_header(resp, "Cache-Control", "no-cache");
        a->stream = NULL;
    } else if (a->body) {
        resp = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
        if (!resp) free(a->body);
    } else {
        status = 500;
        resp = MHD_create_response_from_buffer(sizeof oom_body - 1, (void *)oom_body,
                                               MHD_RESPMEM_PERSISTENT);
    }
    a->body = NULL;
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            a->content_type ? a->content_type : "application/json");
    if (a->hdr_name) MHD_add_response_header(resp, a->hdr_name, a->hdr_value);
    if (a->hdr2_name) MHD_add_response_header(resp, a->hdr2_name, a->hdr2_value);
    MHD_add_response_header(resp, "x-request-id", ctx->rid);
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    ctx->status = status;
    return r;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, req_ctx *ctx, int status,
                                  const char *type, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static enum MHD_Result send_error(struct MHD_Connection *conn, req_ctx *ctx, int status,
                                  const char *type, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wd__answer a = {0};
    wd__answer_error(&a, status, type, code, NULL, "%s", msg);
    if (status == 401) {
        a.hdr_name = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
        a.hdr_value = "Bearer realm=\"warden\"";
    } else if (status == 405) {
        a.hdr_name = MHD_HTTP_HEADER_ALLOW;
        a.hdr_value = ctx->route && ctx->route->post ? "POST" : "GET, HEAD";
    } else if (status == 503) {
        a.hdr_name = "Retry-After";
        a.hdr_value = "1";
    }
    return send_answer(conn, ctx, &a);
}

/* splitmix64's output for the state x (one step of base/rng.h from x). */
static uint64_t splitmix64(uint64_t x) { return wd__rng_next(&x); }

void wd__server_new_id(wd_server *srv, const char *prefix, char out[48]) {
    uint64_t n = atomic_fetch_add_explicit(&srv->next_id, 1, memory_order_relaxed);
    uint64_t a = splitmix64(srv->id_salt ^ n), b = splitmix64(a ^ n);
    snprintf(out, 48, "%s%016llx%08llx", prefix, (unsigned long long)a,
             (unsigned long long)(b >> 32));
}

void wd__server_request_id(wd_server *srv, const char *client, size_t n, char out[WD__REQUEST_ID_MAX + 1]) {
    bool ok = client && n >= 1 && n <= WD__REQUEST_ID_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = client[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
             c == '_' || c == ':' || c == '-';
    }
    if (ok) {
        memcpy(out, client, n);
        out[n] = 0;
        return;
    }
    char id[48];
    wd__server_new_id(srv, "req-", id);
    snprintf(out, WD__REQUEST_ID_MAX + 1, "%s", id);
}

/* ==== Body budget ======================================================== */

/* Reserves n more body bytes for ctx from the server-wide budget; false
 * (nothing reserved) when that would overspend it. */
static bool budget_take(wd_server *srv, req_ctx *ctx, size_t n) {
    _Atomic int64_t *used = &srv->counters.body_bytes;
    int64_t after = atomic_fetch_add_explicit(used, (int64_t)n, memory_order_relaxed) + (int64_t)n;
    if (after > (int64_t)srv->p.body_budget) {
        atomic_fetch_sub_explicit(used, (int64_t)n, memory_order_relaxed);
        return false;
    }
    ctx->reserved += n;
    return true;
}

static void budget_release(wd_server *srv, req_ctx *ctx) {
    if (ctx->reserved)
        atomic_fetch_sub_explicit(&srv->counters.body_bytes, (int64_t)ctx->reserved, memory_order_relaxed);
    ctx->reserved = 0;
}

/* ==== Header checks, a second time ======================================== */

/* The gate (gate.c) checks the head of a connection's first request and the
 * relay (relay.c) every later one before MHD reads them; the checks MHD does
 * not make are repeated here as a second line, for a head that reached MHD
 * some other way. */
typedef struct hdr_count {
    int content_length, transfer_encoding, host;
} hdr_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    hdr_count *h = cls;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) h->content_length++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) h->transfer_encoding++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_HOST)) h->host++;
    return MHD_YES;
}

/* ==== Watchdog =========================================================== */

static wd__mconn *mconn_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void mconn_set(wd_server *srv, struct MHD_Connection *conn, wd__phase phase, int64_t deadline) {
    wd__mconn *m = mconn_of(conn);
    if (!m) return;
    pthread_mutex_lock(&srv->mconn_mu);
    if (m->phase != WD__PHASE_CUT) {
        m->phase = phase;
        m->deadline = deadline;
    }
    pthread_mutex_unlock(&srv->mconn_mu);
}

/* MHD tells us of each connection it opens and closes; it closes the
 * socket only after the CLOSED call, so under mconn_mu a listed fd is
 * still this connection's. */
wd__lane *wd__server_pick_lane(wd_server *srv) {
    wd__lane *best = &srv->lanes[0];
    long best_load = -1;
    for (int i = 0; i < srv->n_lanes; i++) {
        wd__lane *l = &srv->lanes[i];
        long load = (long)atomic_load_explicit(&l->busy, memory_order_relaxed) * 65536 +
                    atomic_load_explicit(&l->conns, memory_order_relaxed);
        if (best_load < 0 || load < best_load) best = l, best_load = load;
    }
    atomic_fetch_add_explicit(&best->conns, 1, memory_order_relaxed);
    return best;
}

void wd__server_lane_drop(wd__lane *lane) { atomic_fetch_sub_explicit(&lane->conns, 1, memory_order_relaxed); }

void wd__server_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe) {
    wd__lane *lane = cls;
    wd_server *srv = lane->srv;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        wd__mconn *m = calloc(1, sizeof *m);
        if (!m || !ci) {
            free(m);
            return;
        }
        m->fd = ci->connect_fd;
        m->phase = WD__PHASE_HEAD;
        m->deadline = wd__serve_now_ns() + (int64_t)srv->p.header_timeout_ms * 1000000;
        pthread_mutex_lock(&srv->mconn_mu);
        m->next = srv->mconns;
        if (m->next) m->next->prev = m;
        srv->mconns = m;
        pthread_mutex_unlock(&srv->mconn_mu);
        *socket_context = m;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        wd__server_lane_drop(lane);
        wd__mconn *m = *socket_context;
        if (!m) return;
        pthread_mutex_lock(&srv->mconn_mu);
        if (m->prev) m->prev->next = m->next;
        else srv->mconns = m->next;
        if (m->next) m->next->prev = m->prev;
        pthread_mutex_unlock(&srv->mconn_mu);
        free(m);
        *socket_context = NULL;
    }
}

void wd__server_watchdog(wd_server *srv, int64_t now) {
    pthread_mutex_lock(&srv->mconn_mu);
    for (wd__mconn *m = srv->mconns; m; m = m->next)
        if (m->phase == WD__PHASE_BODY && now > m->deadline) { /* heads: the relay's deadlines */
            atomic_fetch_add_explicit(&srv->counters.conn_cuts, 1, memory_order_relaxed);
            m->phase = WD__PHASE_CUT;
            shutdown(m->fd, SHUT_RDWR); /* MHD sees the end and closes the connection */
        }
    pthread_mutex_unlock(&srv->mconn_mu);
}

/* ==== MHD callbacks ======================================================= */

void wd__server_builtin(wd_server *srv, wd__route id, wd__answer *a_out) {
    int hops = a_out->hops; /* in: gateways the request passed (the model list of a chain) */
    wd__answer a = {0};
    wd__jsonw w = {0};
    switch (id) {
    case WD__ROUTE_HEALTHZ:
        wd__jsonw_lit(&w, "{\"status\":\"ok\"}\n");
        a.status = 200;
        break;
    case WD__ROUTE_READYZ:
        if (atomic_load(&srv->stopping)) {
            wd__jsonw_lit(&w, "{\"status\":\"stopping\"}\n");
            a.status = 503;
        } else {
            wd__guard_ref *ref = wd__server_guard_acquire(srv);
            bool open_ = srv->be->fail_open(ref->guard);
            wd__jsonw_lit(&w, "{\"status\":\"ready\",\"guard\":");
            wd__jsonw_cstr(&w, srv->be->policy_name ? srv->be->policy_name(ref->guard) : srv->be->name);
            wd__server_guard_release(srv, ref);
            wd__jsonw_printf(&w, ",\"fail_mode\":\"%s\"}\n", open_ ? "open" : "closed");
            a.status = 200;
        }
        break;
    case WD__ROUTE_MODELS: {
        if (srv->gw) { /* a gateway lists the chat model(s) */
            char *list = hops < WD__MAX_HOPS ? wd__gateway_models(srv, hops) : NULL;
            if (!list) {
                wd__answer_error(&a, 502, "server_error", "upstream_unavailable", NULL,
                                 "the model upstream did not list its models");
                *a_out = a;
                return;
            }
            wd__jsonw_lit(&w, "{\"object\":\"list\",\"data\":");
            wd__jsonw_lit(&w, list);
            wd__jsonw_lit(&w, "}\n");
            free(list);
            a.status = 200;
            break;
        }
        /* OpenAI's model list: the guard in force, and the moderation model
         * names clients send by default (any "model" string is accepted and
         * echoed; each is served by the same guard) */
        static const char *const aliases[] = {"omni-moderation-latest", "text-moderation-latest",
                                              "text-moderation-stable"};
        wd__guard_ref *ref = wd__server_guard_acquire(srv);
        wd__jsonw_lit(&w, "{\"object\":\"list\",\"data\":[{\"id\":");
        wd__jsonw_cstr(&w, srv->be->policy_name ? srv->be->policy_name(ref->guard) : srv->be->name);
        wd__server_guard_release(srv, ref);
        wd__jsonw_printf(&w, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"warden\"}",
                         (long long)srv->started_unix);
        for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
            wd__jsonw_printf(&w, ",{\"id\":\"%s\",\"object\":\"model\",\"created\":%lld,"
                                 "\"owned_by\":\"warden\"}",
                             aliases[i], (long long)srv->started_unix);
        wd__jsonw_lit(&w, "]}\n");
        a.status = 200;
        break;
    }
    default: /* metrics */
        a.status = 200;
        a.content_type = "text/plain; version=0.0.4; charset=utf-8";
        a.body = wd__counters_render(&srv->counters, &a.len);
        *a_out = a;
        return;
    }
    a.body = wd__jsonw_take(&w, &a.len);
    *a_out = a;
}

static enum MHD_Result answer_builtin(wd_server *srv, struct MHD_Connection *conn, req_ctx *ctx) {
    wd__answer a = {.hops = ctx->ans.hops};
    wd__server_builtin(srv, ctx->route->id, &a);
    return send_answer(conn, ctx, &a);
}

static enum MHD_Result first_call(wd_server *srv, struct MHD_Connection *conn, req_ctx *ctx,
                                  const char *url, const char *method, const char *version) {
    hdr_count hc = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hc);
    if (hc.content_length > 1 || (hc.content_length && hc.transfer_encoding))
        return send_error(conn, ctx, 400, "invalid_request_error", "invalid_content_length",
                          "a request must have at most one Content-Length and not with Transfer-Encoding");
    if (!hc.host && !strcmp(version, MHD_HTTP_VERSION_1_1))
        return send_error(conn, ctx, 400, "invalid_request_error", "missing_host",
                          "an HTTP/1.1 request must have a Host header");
    if (hc.host > 1)
        return send_error(conn, ctx, 400, "invalid_request_error", "bad_header", "more than one Host header");
    for (size_t i = 0; i < N_ROUTES; i++)
        if (!strcmp(url, routes[i].path)) ctx->route = &routes[i];
    if (!ctx->route)
        return send_error(conn, ctx, 404, "invalid_request_error", "not_found",
                          "no route %s %s (routes: POST /v1/moderations, /v1/check, /v1/certify, "
                          "/v1/chat/completions, /v1/completions; GET /v1/models, /healthz, /readyz, "
                          "/metrics)", method, url);
    const route_def *rd = ctx->route;
    bool ok_method = rd->post ? !strcmp(method, "POST")
                              : (!strcmp(method, "GET") || !strcmp(method, "HEAD"));
    if (!ok_method)
        return send_error(conn, ctx, 405, "invalid_request_error", "method_not_allowed",
                          "%s does not take %s (use %s)", url, method, rd->post ? "POST" : "GET");
    wd__key *key = NULL;
    if (rd->auth) {
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        key = wd__auth_match(srv, h, h ? strlen(h) : 0);
        ctx->key = key;
        ctx->ans.key = key;
        if (!key)
            return send_error(conn, ctx, 401, "invalid_request_error", "invalid_api_key",
                              "missing or wrong API key: send 'Authorization: Bearer <key>' "
                              "(a key given with WARDEN_API_KEY or --api-keys)");
    }
    if (rd->post && key) {
        int retry = 0;
        if (!wd__rate_take(key, &retry)) {
            wd__answer a = {0};
            char ra[16];
            snprintf(ra, sizeof ra, "%d", retry);
            wd__answer_error(&a, 429, "rate_limit_error", "rate_limit_exceeded", NULL,
                             "rate limit of %.3g requests/s for this API key exceeded; retry in %d s",
                             key->rate, retry);
            a.hdr_name = "Retry-After";
            a.hdr_value = ra; /* MHD copies header values */
            return send_answer(conn, ctx, &a);
        }
    }
    if (rd->long_) {
        if (!wd__server_inflight_enter(srv)) {
            wd__answer a = {0};
            wd__answer_busy(&a, "chat requests");
            return send_answer(conn, ctx, &a);
        }
        ctx->inflight = true;
    }
    /* answering on this first call would make MHD close the connection
     * (it cannot know the body was read); GET routes answer on the next */
    if (!rd->post) return MHD_YES;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > srv->p.max_body)
            return send_error(conn, ctx, 413, "invalid_request_error", "request_too_large",
                              "request body of %llu bytes is over the limit of %zu bytes", n,
                              srv->p.max_body);
        if (n > 0) {
            if (!budget_take(srv, ctx, (size_t)n + 1))
                return send_error(conn, ctx, 503, "server_error", "server_busy",
                                  "the server is buffering too many request bodies (%zu bytes in all); "
                                  "retry shortly", srv->p.body_budget);
            ctx->body = malloc((size_t)n + 1);
            if (!ctx->body) return MHD_NO;
            ctx->cap = (size_t)n + 1;
        }
    }
    return MHD_YES;
}

static bool append_body(wd_server *srv, req_ctx *ctx, const char *data, size_t n, size_t max) {
    if (ctx->too_big || ctx->over_budget || ctx->len + n > max) {
        if (!ctx->over_budget) ctx->too_big = true; /* keep reading (and dropping) to answer 413 at the end */
        return true;
    }
    if (ctx->len + n + 1 > ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap : 4096;
        while (cap < ctx->len + n + 1) cap *= 2;
        if (cap > max + 1) cap = max + 1;
        if (cap > ctx->reserved && !budget_take(srv, ctx, cap - ctx->reserved)) {
            ctx->over_budget = true; /* 503 at the end */
            free(ctx->body);
            ctx->body = NULL;
            ctx->len = ctx->cap = 0;
            return true;
        }
        char *b = realloc(ctx->body, cap);
        if (!b) return false;
        ctx->body = b;
        ctx->cap = cap;
    }
    memcpy(ctx->body + ctx->len, data, n);
    ctx->len += n;
    ctx->body[ctx->len] = 0;
    return true;
}

enum MHD_Result wd__server_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version, const char *upload_data,
                                     size_t *upload_data_size, void **con_cls) {
    wd__lane *lane = cls;
    wd_server *srv = lane->srv;
    req_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx) return MHD_NO;
        ctx->srv = srv;
        ctx->lane = lane;
        atomic_fetch_add_explicit(&lane->busy, 1, memory_order_relaxed);
        ctx->t0 = wd__serve_now_ns();
        ctx->deadline = ctx->t0 + (int64_t)srv->p.timeout_ms * 1000000;
        *con_cls = ctx;
        atomic_fetch_add_explicit(&srv->counters.in_flight, 1, memory_order_relaxed);
        const char *crid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        wd__server_request_id(srv, crid, crid ? strlen(crid) : 0, ctx->rid);
        ctx->ans.request_id = ctx->rid;
        ctx->ans.log_off = !srv->alog;
        /* gateways in a chain count themselves (chat_upstream.c sends it +1) */
        const char *hops = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Warden-Hops");
        ctx->ans.hops = hops ? atoi(hops) : 0;
        snprintf(ctx->method, sizeof ctx->method, "%s", method);
        if (srv->alog) ctx->path = strdup(url);
        /* the head is in; the body (if any) must be in by the request deadline */
        mconn_set(srv, conn, WD__PHASE_BODY, ctx->deadline);
        enum MHD_Result r = first_call(srv, conn, ctx, url, method, version);
        if (ctx->status) mconn_set(srv, conn, WD__PHASE_BUSY, 0);
        return r;
    }
    if (ctx->status) { /* answered already: drop whatever still arrives */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        ctx->bytes_in += n;
        if (wd__serve_now_ns() > ctx->deadline) {
            ctx->status = 408; /* a sender too slow for the deadline: cut it off */
            return MHD_NO;
        }
        return append_body(srv, ctx, upload_data, n, srv->p.max_body) ? MHD_YES : MHD_NO;
    }
    /* the whole body is in */
    mconn_set(srv, conn, WD__PHASE_BUSY, 0);
    if (!ctx->route->post) return answer_builtin(srv, conn, ctx);
    if (ctx->too_big)
        return send_error(conn, ctx, 413, "invalid_request_error", "request_too_large",
                          "request body is over the limit of %zu bytes", srv->p.max_body);
    if (ctx->over_budget)
        return send_error(conn, ctx, 503, "server_error", "server_busy",
                          "the server is buffering too many request bodies (%zu bytes in all); "
                          "retry shortly", srv->p.body_budget);
    ctx->route->fn(srv, ctx->body ? ctx->body : "", ctx->len, ctx->deadline, &ctx->ans);
    free(ctx->body);
    ctx->body = NULL;
    budget_release(srv, ctx);
    return send_answer(conn, ctx, &ctx->ans);
}

void wd__server_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode toe) {
    wd_server *srv = ((wd__lane *)cls)->srv;
    req_ctx *ctx = *con_cls;
    if (!ctx) return;
    *con_cls = NULL;
    atomic_fetch_sub_explicit(&ctx->lane->busy, 1, memory_order_relaxed);
    /* 499 (nginx's "client closed request"): the connection ended first */
    int status = ctx->status ? ctx->status : 499;
    /* the next head (if any) is the relay's to bound */
    mconn_set(srv, conn, WD__PHASE_HEAD, 0);
    if (ctx->inflight) wd__server_inflight_leave(srv);
    const char *aborted = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL
                        : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown"
                        : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED || status == 408 ? "timeout"
                        : toe == MHD_REQUEST_TERMINATED_WITH_ERROR ? "error"
                                                                   : "client_closed";
    const union MHD_ConnectionInfo *ci =
        srv->alog ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    wd__access_rec rec = {
        .t0_ns = ctx->t0, .request_id = ctx->rid, .remote = ci ? ci->client_addr : NULL,
        .key = ctx->key, .method = ctx->method, .method_len = strlen(ctx->method),
        .path = ctx->path, .path_len = ctx->path ? strlen(ctx->path) : 0,
        .route = ctx->route ? ctx->route->id : WD__ROUTE_OTHER, .status = status,
        .bytes_in = ctx->bytes_in, .bytes_out = ctx->status ? ctx->bytes_out : 0,
        .log_extra = ctx->ans.log_extra, .aborted = aborted,
    };
    wd__server_request_end(srv, &rec);
    /* last: wd_server_stop waits for in_flight 0 before it closes the log */
    atomic_fetch_sub_explicit(&srv->counters.in_flight, 1, memory_order_relaxed);
    budget_release(srv, ctx);
    free(ctx->body);
    free(ctx->path);
    free(ctx->ans.body);
    free(ctx->ans.log_extra);
    free(ctx);
}

void wd__server_mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
    WD_DEBUG("serve: libmicrohttpd: %s", msg);
}
