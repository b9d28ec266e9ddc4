/*
 * serve/server.c - the HTTP side of `warden serve` on libmicrohttpd (MHD):
 * routing, bearer auth, limits, metrics bookkeeping, policy reload, and a
 * graceful stop.
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
 *   completed  ──> latency and status into the metrics, in-flight - 1
 *
 * Threads: MHD's internal thread pool (epoll, n_threads workers each
 * accepting on the shared socket) or, for comparison, a thread per
 * connection. Slow senders are cut by MHD's idle connection timeout and by
 * the per-request deadline; connection count by MHD's connection limit.
 *
 * Reload: the guard in force sits in a reference-counted holder. A request
 * takes a reference under guard_mu (a pointer copy), so a reload builds the
 * new guard with no lock held, swaps the pointer, and drops the server's
 * reference to the old one: the last request using it frees it.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
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
#include "serve/serve_internal.h"

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
} route_def;

static const route_def routes[] = {
    {"/v1/moderations", true, true, WD__ROUTE_MODERATIONS, wd__route_moderations},
    {"/v1/check", true, true, WD__ROUTE_CHECK, wd__route_check},
    {"/v1/certify", true, true, WD__ROUTE_CERTIFY, wd__route_certify},
    {"/healthz", false, false, WD__ROUTE_HEALTHZ, NULL},
    {"/readyz", false, false, WD__ROUTE_READYZ, NULL},
    {"/metrics", false, true, WD__ROUTE_METRICS, NULL},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* Per-request state, MHD's *con_cls. */
typedef struct req_ctx {
    const route_def *route;   /* NULL: unknown path */
    int64_t t0, deadline;
    char *body;
    size_t len, cap;
    bool too_big;             /* body passed max_body; rest discarded */
    int status;               /* answered with this status; 0 = not yet */
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

static const char oom_body[] =
    "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,"
    "\"code\":\"out_of_memory\"}}\n";

/* Queues a's answer (taking its body) and records the status in ctx. */
static enum MHD_Result send_answer(struct MHD_Connection *conn, req_ctx *ctx, wd__answer *a) {
    struct MHD_Response *resp;
    int status = a->status;
    if (a->body) {
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
    }
    return send_answer(conn, ctx, &a);
}

/* ==== Guard holder ======================================================== */

wd__guard_ref *wd__server_guard_acquire(wd_server *srv) {
    pthread_mutex_lock(&srv->guard_mu);
    wd__guard_ref *r = srv->cur;
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&srv->guard_mu);
    return r;
}

void wd__server_guard_release(wd_server *srv, wd__guard_ref *ref) {
    if (!ref) return;
    if (atomic_fetch_sub_explicit(&ref->refs, 1, memory_order_acq_rel) == 1) {
        srv->be->free(ref->guard);
        free(ref);
    }
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void wd__server_new_id(wd_server *srv, const char *prefix, char out[48]) {
    uint64_t n = atomic_fetch_add_explicit(&srv->next_id, 1, memory_order_relaxed);
    uint64_t a = splitmix64(srv->id_salt ^ n), b = splitmix64(a ^ n);
    snprintf(out, 48, "%s%016llx%08llx", prefix, (unsigned long long)a,
             (unsigned long long)(b >> 32));
}

/* ==== Auth ================================================================ */

/* True when the request carries "Authorization: Bearer <api_key>". The
 * comparison takes the same time wherever the first difference is. */
static bool authorized(const wd_server *srv, struct MHD_Connection *conn) {
    if (!srv->api_key) return true;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ') h++;
    size_t n = strlen(h), k = strlen(srv->api_key);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t')) n--;
    unsigned diff = (unsigned)(n ^ k);
    for (size_t i = 0; i < k; i++) diff |= (unsigned char)srv->api_key[i] ^ (unsigned char)(i < n ? h[i] : 0);
    return diff == 0;
}

/* ==== MHD callbacks ======================================================= */

static enum MHD_Result answer_builtin(wd_server *srv, struct MHD_Connection *conn, req_ctx *ctx) {
    wd__answer a = {0};
    wd__jsonw w = {0};
    switch (ctx->route->id) {
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
            wd__server_guard_release(srv, ref);
            wd__jsonw_lit(&w, "{\"status\":\"ready\",\"guard\":");
            wd__jsonw_cstr(&w, srv->be->name);
            wd__jsonw_printf(&w, ",\"fail_mode\":\"%s\"}\n", open_ ? "open" : "closed");
            a.status = 200;
        }
        break;
    default: /* metrics */
        a.status = 200;
        a.content_type = "text/plain; version=0.0.4; charset=utf-8";
        a.body = wd__metrics_render(&srv->metrics, &a.len);
        return send_answer(conn, ctx, &a);
    }
    a.body = wd__jsonw_take(&w, &a.len);
    return send_answer(conn, ctx, &a);
}

static enum MHD_Result first_call(wd_server *srv, struct MHD_Connection *conn, req_ctx *ctx,
                                  const char *url, const char *method) {
    for (size_t i = 0; i < N_ROUTES; i++)
        if (!strcmp(url, routes[i].path)) ctx->route = &routes[i];
    if (!ctx->route)
        return send_error(conn, ctx, 404, "invalid_request_error", "not_found",
                          "no route %s %s (routes: POST /v1/moderations, /v1/check, /v1/certify; "
                          "GET /healthz, /readyz, /metrics)", method, url);
    const route_def *rd = ctx->route;
    bool ok_method = rd->post ? !strcmp(method, "POST")
                              : (!strcmp(method, "GET") || !strcmp(method, "HEAD"));
    if (!ok_method)
        return send_error(conn, ctx, 405, "invalid_request_error", "method_not_allowed",
                          "%s does not take %s (use %s)", url, method, rd->post ? "POST" : "GET");
    if (rd->auth && !authorized(srv, conn))
        return send_error(conn, ctx, 401, "invalid_request_error", "invalid_api_key",
                          "missing or wrong API key: send 'Authorization: Bearer <key>' "
                          "(the key the server was started with in WARDEN_API_KEY)");
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
            ctx->body = malloc((size_t)n + 1);
            if (!ctx->body) return MHD_NO;
            ctx->cap = (size_t)n + 1;
        }
    }
    return MHD_YES;
}

static bool append_body(req_ctx *ctx, const char *data, size_t n, size_t max) {
    if (ctx->too_big || ctx->len + n > max) {
        ctx->too_big = true; /* keep reading (and dropping) to answer 413 at the end */
        return true;
    }
    if (ctx->len + n + 1 > ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap : 4096;
        while (cap < ctx->len + n + 1) cap *= 2;
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

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    wd_server *srv = cls;
    req_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx) return MHD_NO;
        ctx->t0 = wd__serve_now_ns();
        ctx->deadline = ctx->t0 + (int64_t)srv->p.timeout_ms * 1000000;
        *con_cls = ctx;
        atomic_fetch_add_explicit(&srv->metrics.in_flight, 1, memory_order_relaxed);
        return first_call(srv, conn, ctx, url, method);
    }
    if (ctx->status) { /* answered already: drop whatever still arrives */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (wd__serve_now_ns() > ctx->deadline) {
            ctx->status = 408; /* a sender too slow for the deadline: cut it off */
            return MHD_NO;
        }
        return append_body(ctx, upload_data, n, srv->p.max_body) ? MHD_YES : MHD_NO;
    }
    /* the whole body is in */
    if (!ctx->route->post) return answer_builtin(srv, conn, ctx);
    if (ctx->too_big)
        return send_error(conn, ctx, 413, "invalid_request_error", "request_too_large",
                          "request body is over the limit of %zu bytes", srv->p.max_body);
    wd__answer a = {0};
    ctx->route->fn(srv, ctx->body ? ctx->body : "", ctx->len, ctx->deadline, &a);
    free(ctx->body);
    ctx->body = NULL;
    return send_answer(conn, ctx, &a);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    wd_server *srv = cls;
    req_ctx *ctx = *con_cls;
    if (!ctx) return;
    *con_cls = NULL;
    double dt = (double)(wd__serve_now_ns() - ctx->t0) * 1e-9;
    /* 499 (nginx's "client closed request"): the connection ended first */
    int status = ctx->status ? ctx->status : 499;
    wd__metrics_request(&srv->metrics, ctx->route ? ctx->route->id : WD__ROUTE_OTHER, status, dt);
    atomic_fetch_sub_explicit(&srv->metrics.in_flight, 1, memory_order_relaxed);
    free(ctx->body);
    free(ctx);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
    WD_DEBUG("serve: libmicrohttpd: %s", msg);
}

/* ==== Lifecycle =========================================================== */

static char *dup_or_null(const char *s) { return s && s[0] ? strdup(s) : NULL; }

static void server_free(wd_server *srv) {
    if (!srv) return;
    if (srv->cur) wd__server_guard_release(srv, srv->cur);
    pthread_mutex_destroy(&srv->guard_mu);
    pthread_mutex_destroy(&srv->reload_mu);
    free(srv->host);
    free(srv->api_key);
    free(srv->policy_path);
    free(srv);
}

static wd_status check_params(const wd_server_params *p) {
    if (p->port < 0 || p->port > 65535)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: port %d is not in [0, 65535]", p->port);
    if (p->n_threads < 1 || p->n_threads > 1024)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: threads %d is not in [1, 1024]", p->n_threads);
    if (p->max_body < 2)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: max body %zu bytes is too small", p->max_body);
    if (p->max_inputs < 1)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: max inputs must be at least 1");
    if (p->timeout_ms < 1)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: timeout must be at least 1 ms");
    if (p->max_connections < 1)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: max connections must be at least 1");
    if (p->conn_timeout_s < 1)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: connection timeout must be at least 1 s");
    if (p->shutdown_grace_ms < 0)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: shutdown grace must not be negative");
    return WD_OK;
}

wd_status wd__server_start_backend(const wd_server_params *params, const wd__serve_backend *be,
                                   void *guard, wd_server **out) {
    *out = NULL;
    wd_server_params p = params ? *params : wd_server_params_default();
    wd_status st = check_params(&p);
    if (st) {
        if (guard) be->free(guard);
        return st;
    }
    if (!p.host || !p.host[0]) p.host = "127.0.0.1";

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    bool v6 = false;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, p.host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)p.port);
    } else if (inet_pton(AF_INET6, p.host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)p.port);
        v6 = true;
    } else {
        if (guard) be->free(guard);
        return wd__fail(WD_ERR_INVALID_ARG, "serve: host '%s' is not a numeric IPv4 or IPv6 address",
                        p.host);
    }

    wd_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        if (guard) be->free(guard);
        return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    }
    pthread_mutex_init(&srv->guard_mu, NULL);
    pthread_mutex_init(&srv->reload_mu, NULL);
    srv->be = be;
    srv->listen_fd = -1;
    srv->host = strdup(p.host);
    srv->api_key = dup_or_null(p.api_key);
    srv->policy_path = dup_or_null(p.policy_path);
    if (!srv->host || (p.api_key && p.api_key[0] && !srv->api_key) ||
        (p.policy_path && p.policy_path[0] && !srv->policy_path)) {
        if (guard) be->free(guard);
        server_free(srv);
        return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    }
    p.host = srv->host;
    p.api_key = srv->api_key;
    p.policy_path = srv->policy_path;
    srv->p = p;
    if (getrandom(&srv->id_salt, sizeof srv->id_salt, 0) != sizeof srv->id_salt)
        srv->id_salt = (uint64_t)wd__serve_now_ns() ^ ((uint64_t)getpid() << 32);

    if (!guard) {
        st = be->load(srv->policy_path, &guard);
        if (st) {
            wd__err_prefix(st, "serve: cannot load the %s policy",
                           srv->policy_path ? "given" : "built-in");
            server_free(srv);
            return st;
        }
    }
    srv->cur = calloc(1, sizeof *srv->cur);
    if (!srv->cur) {
        be->free(guard);
        server_free(srv);
        return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    }
    srv->cur->guard = guard;
    atomic_init(&srv->cur->refs, 1);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    if (p.thread_per_connection) flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    else flags |= MHD_USE_EPOLL;
    struct MHD_OptionItem pool[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, p.n_threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)p.port, NULL, NULL, access_cb, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)p.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)p.conn_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_ARRAY, p.thread_per_connection || p.n_threads < 2 ? pool + 1 : pool,
        MHD_OPTION_END);
    if (!srv->daemon) {
        st = wd__fail(WD_ERR_IO, "serve: cannot listen on %s port %d (in use, or not an address "
                      "of this machine?)", p.host, p.port);
        server_free(srv);
        return st;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : p.port;
    WD_INFO("serve: listening on %s port %d (%s, %d thread%s), guard %s", p.host, srv->port,
            p.thread_per_connection ? "thread per connection" : "epoll pool", p.n_threads,
            p.n_threads == 1 ? "" : "s", srv->policy_path ? srv->policy_path : "built-in default");
    *out = srv;
    return WD_OK;
}

int wd_server_port(const wd_server *srv) { return srv ? srv->port : 0; }

const char *wd_server_last_error(const wd_server *srv) { return srv ? wd__err_msg(&srv->err) : ""; }

wd_status wd_server_reload(wd_server *srv, const char *policy_path) {
    if (!srv) return wd__fail(WD_ERR_INVALID_ARG, "serve: reload: NULL server");
    pthread_mutex_lock(&srv->reload_mu);
    const char *path = policy_path && policy_path[0] ? policy_path : srv->policy_path;
    void *g = NULL;
    wd_status st = srv->be->load(path, &g);
    wd__guard_ref *ref = NULL;
    if (!st) {
        ref = calloc(1, sizeof *ref);
        if (!ref) {
            srv->be->free(g);
            st = wd__fail(WD_ERR_NOMEM, "out of memory");
        }
    }
    if (st) {
        char why[WD_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", wd_last_error()[0] ? wd_last_error() : wd_status_str(st));
        wd__err_set(&srv->err, st, "serve: reload of policy %s failed, still serving the previous "
                    "one: %s", path ? path : "(built-in)", why);
        WD_ERROR("%s", wd__err_msg(&srv->err));
        atomic_fetch_add(&srv->metrics.reloads[1], 1);
        pthread_mutex_unlock(&srv->reload_mu);
        return st;
    }
    ref->guard = g;
    atomic_init(&ref->refs, 1);
    if (policy_path && policy_path[0] && policy_path != srv->policy_path) {
        char *copy = strdup(policy_path);
        if (copy) {
            free(srv->policy_path);
            srv->policy_path = copy;
            srv->p.policy_path = copy;
        }
    }
    pthread_mutex_lock(&srv->guard_mu);
    wd__guard_ref *old = srv->cur;
    srv->cur = ref;
    pthread_mutex_unlock(&srv->guard_mu);
    wd__server_guard_release(srv, old);
    wd__err_clear(&srv->err);
    atomic_fetch_add(&srv->metrics.reloads[0], 1);
    WD_INFO("serve: reloaded policy %s", srv->policy_path ? srv->policy_path : "(built-in)");
    pthread_mutex_unlock(&srv->reload_mu);
    return WD_OK;
}

void wd_server_stop(wd_server *srv) {
    if (!srv) return;
    atomic_store(&srv->stopping, true);
    if (srv->daemon) {
        /* stop accepting; the listening socket becomes ours to close */
        MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
        int64_t grace = (int64_t)srv->p.shutdown_grace_ms * 1000000;
        int64_t until = wd__serve_now_ns() + grace;
        /* the last quarter of the grace (at most 1 s): checks still running
         * are cancelled, so that their 503 goes out before the end */
        int64_t cancel_at = until - (grace / 4 < 1000000000 ? grace / 4 : 1000000000);
        while (atomic_load(&srv->metrics.in_flight) > 0 && wd__serve_now_ns() < until) {
            if (!srv->cancel && wd__serve_now_ns() >= cancel_at) __atomic_store_n(&srv->cancel, 1, __ATOMIC_RELAXED);
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        int64_t left = atomic_load(&srv->metrics.in_flight);
        if (left > 0) WD_WARN("serve: stopping with %lld request(s) still in flight", (long long)left);
        MHD_stop_daemon(srv->daemon);
        if (fd != MHD_INVALID_SOCKET) close(fd);
        srv->daemon = NULL;
    }
    WD_INFO("serve: stopped");
    server_free(srv);
}
