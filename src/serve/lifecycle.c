/*
 * serve/lifecycle.c - starting, reloading and stopping the server
 * (warden/serve.h): parameters checked, TLS files read, the gate and one
 * libmicrohttpd daemon per lane started (server.c's callbacks answer the
 * requests), the guard swapped on reload, and a graceful stop that lets
 * requests in flight finish.
 *
 * Reload: the guards in force (the server's and the per-key ones, guards.c)
 * sit in reference-counted holders. A request takes a reference under
 * guard_mu (a pointer copy), so a reload builds the new guards with no lock
 * held, swaps the pointers, and drops the server's references to the old
 * ones: the last request using one frees it. A reload also reopens the
 * access log file (log rotation).
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

/* ==== Lifecycle =========================================================== */

static char *dup_or_null(const char *s) { return s && s[0] ? strdup(s) : NULL; }

static void server_free(wd_server *srv) {
    if (!srv) return;
    wd__gate_stop(srv, 0);
    for (int i = 0; i < srv->n_lanes; i++)
        if (srv->lanes[i].daemon) MHD_stop_daemon(srv->lanes[i].daemon);
    wd__gate_free(srv); /* after the daemons: MHD ends its requests itself */
    wd__gateway_free(srv); /* after the connections: waits for their streams */
    wd__guards_free(srv);
    wd__access_log_close(srv); /* after the daemons: their last requests are logged */
    wd__auth_free(srv);
    wd__counters_free(&srv->counters);
    free(srv->tls_cert);
    free(srv->tls_key);
    pthread_mutex_destroy(&srv->guard_mu);
    pthread_mutex_destroy(&srv->reload_mu);
    pthread_mutex_destroy(&srv->mconn_mu);
    free(srv->host);
    free(srv->api_key);
    free(srv->policy_path);
    free(srv->guard_format);
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
    if (p->header_timeout_ms < 1)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: header timeout must be at least 1 ms");
    if (p->max_conns_per_ip < 0)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: connections per address must not be negative");
    if (p->body_budget < p->max_body + 1)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: body budget %zu bytes is smaller than one "
                        "largest body (max body %zu bytes)", p->body_budget, p->max_body);
    if (!(p->rate_limit >= 0))
        return wd__fail(WD_ERR_INVALID_ARG, "serve: rate limit must not be negative");
    if (p->n_keys < 0 || (p->n_keys && !p->keys))
        return wd__fail(WD_ERR_INVALID_ARG, "serve: %d keys but no key array", p->n_keys);
    if (!p->tls_cert != !p->tls_key)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: TLS needs both a certificate and a key file");
    if (p->max_inflight < 1)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: max in-flight %d must be at least 1", p->max_inflight);
    return WD_OK;
}

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static bool is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a)) return true;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

/* Reads a whole PEM file into a NUL-terminated string (caller frees). */
static wd_status read_pem(const char *path, const char *what, char **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return wd__fail(WD_ERR_IO, "serve: TLS %s %s: cannot open: %s", what, path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    while (b) {
        size_t k = fread(b + len, 1, cap - len - 1, f);
        len += k;
        if (k == 0) break;
        if (len + 1 == cap) {
            if (cap > (1u << 20)) break;
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            } else {
                b = nb;
            }
        }
    }
    bool err = ferror(f) != 0;
    fclose(f);
    if (!b) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    b[len] = 0;
    if (err || len + 1 >= cap || !strstr(b, "-----BEGIN ")) {
        free(b);
        return wd__fail(WD_ERR_FORMAT, "serve: TLS %s %s: %s", what, path,
                        err ? "read error" : len + 1 >= cap ? "larger than 1 MiB" : "not a PEM file");
    }
    *out = b;
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
    if (!p.tls_cert || !p.tls_cert[0]) p.tls_cert = NULL;
    if (!p.tls_key || !p.tls_key[0]) p.tls_key = NULL;

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
    bool any_key = (p.api_key && p.api_key[0]) || p.n_keys > 0;
    if (!is_loopback(&ss) && !any_key && !p.insecure) {
        if (guard) be->free(guard);
        return wd__fail(WD_ERR_INVALID_ARG, "serve: refusing to serve %s (not a loopback address) "
                        "without an API key: set WARDEN_API_KEY or --api-keys FILE, or pass "
                        "--insecure to serve it open", p.host);
    }

    wd_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        if (guard) be->free(guard);
        return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    }
    pthread_mutex_init(&srv->guard_mu, NULL);
    pthread_mutex_init(&srv->reload_mu, NULL);
    pthread_mutex_init(&srv->mconn_mu, NULL);
    srv->be = be;
    srv->host = strdup(p.host);
    srv->api_key = dup_or_null(p.api_key);
    srv->guard_format = dup_or_null(p.guard_format);
    srv->policy_path = dup_or_null(p.policy_path);
    if (!srv->host || (p.api_key && p.api_key[0] && !srv->api_key) ||
        (p.policy_path && p.policy_path[0] && !srv->policy_path) || (p.guard_format && p.guard_format[0] && !srv->guard_format)) {
        if (guard) be->free(guard);
        server_free(srv);
        return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    }
    st = wd__auth_init(srv, &p);
    if (!st) st = wd__access_log_open(srv, p.access_log);
    if (!st && p.tls_cert) st = read_pem(p.tls_cert, "certificate", &srv->tls_cert);
    if (!st && p.tls_key) st = read_pem(p.tls_key, "key", &srv->tls_key);
    if (st) {
        if (guard) be->free(guard);
        server_free(srv);
        return st;
    }
    p.keys = NULL; /* copied into srv->keys */
    p.tls_cert = p.tls_key = NULL;
    p.access_log = NULL; /* opened: srv->alog */
    p.host = srv->host;
    p.api_key = srv->api_key;
    p.policy_path = srv->policy_path;
    p.guard_format = srv->guard_format;
    srv->p = p;
    srv->started_unix = (int64_t)time(NULL);
    if (getrandom(&srv->id_salt, sizeof srv->id_salt, 0) != sizeof srv->id_salt)
        srv->id_salt = (uint64_t)wd__serve_now_ns() ^ ((uint64_t)getpid() << 32);

    if (!guard) {
        st = be->load(srv->policy_path, &srv->p, &guard);
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
    st = wd__guards_load_keyed(srv);
    if (st) {
        server_free(srv);
        return st;
    }
    if ((st = wd__gateway_start(srv))) {
        server_free(srv);
        return st;
    }
    /* a chat answer holds its worker for seconds (the model): with a
     * gateway every connection gets its own thread, so one slow answer
     * never holds up another connection */
    if (srv->gw) p.thread_per_connection = srv->p.thread_per_connection = 1;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_USE_NO_LISTEN_SOCKET;
    if (v6) flags |= MHD_USE_IPv6;
    if (p.thread_per_connection) flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    else flags |= MHD_USE_EPOLL;
    /* TLS, when asked for, ends in the gate's relay (relay.c): MHD only
     * ever reads plain HTTP from a socketpair */
    /* MHD's and the gate's threads inherit this mask: with SIGPIPE blocked
     * in them, a write to a socket whose peer is gone (MHD's end of a
     * socketpair the relay closed) fails with EPIPE instead of killing a
     * process that did not ignore SIGPIPE */
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    /* one daemon per worker thread (see wd__lane); thread per connection:
     * one daemon, which starts a thread for each connection */
    int n_lanes = p.thread_per_connection ? 1 : p.n_threads < 1 ? 1
                  : p.n_threads > WD__MAX_LANES ? WD__MAX_LANES : p.n_threads;
    unsigned per_ip = p.max_conns_per_ip ? (unsigned)p.max_conns_per_ip : 0;
    bool started = true;
    for (int i = 0; i < n_lanes && started; i++) {
        wd__lane *l = &srv->lanes[i];
        l->srv = srv;
        l->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, wd__server_access_cb, l,
            MHD_OPTION_EXTERNAL_LOGGER, wd__server_mhd_log, srv,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)p.max_connections,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
            /* the relay closes idle connections and bounds heads; MHD's own
             * idle timeout comes after those (a client that stops reading
             * an answer is closed by both) */
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)p.conn_timeout_s + (unsigned)(p.header_timeout_ms / 1000) + 1,
            MHD_OPTION_NOTIFY_COMPLETED, wd__server_completed_cb, l,
            MHD_OPTION_NOTIFY_CONNECTION, wd__server_notify_conn, l,
            MHD_OPTION_END);
        started = l->daemon != NULL;
        srv->n_lanes = i + 1;
    }
    if (!started) {
        pthread_sigmask(SIG_SETMASK, &old_set, NULL);
        st = wd__fail(WD_ERR_IO, "serve: cannot start libmicrohttpd");
        server_free(srv);
        return st;
    }
    st = wd__gate_start(srv, (struct sockaddr *)&ss,
                        v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), &srv->port);
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    if (st) {
        server_free(srv);
        return st;
    }
    WD_INFO("serve: listening on %s port %d (%s, %d thread%s%s), guard %s", p.host, srv->port,
            p.thread_per_connection ? "thread per connection" : "one epoll daemon per worker", srv->n_lanes,
            p.n_threads == 1 ? "" : "s", srv->tls_cert ? ", TLS" : "",
            srv->policy_path ? srv->policy_path : "built-in default");
    *out = srv;
    return WD_OK;
}

int wd_server_port(const wd_server *srv) { return srv ? srv->port : 0; }

const char *wd_server_last_error(const wd_server *srv) { return srv ? wd__err_msg(&srv->err) : ""; }

wd_status wd_server_reload(wd_server *srv, const char *policy_path) {
    if (!srv) return wd__fail(WD_ERR_INVALID_ARG, "serve: reload: NULL server");
    pthread_mutex_lock(&srv->reload_mu);
    wd__access_log_reopen(srv); /* a failure is logged; the old file stays in use */
    const char *path = policy_path && policy_path[0] ? policy_path : srv->policy_path;
    wd_status st = wd__guards_reload(srv, path);
    if (st) {
        char why[WD_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", wd_last_error()[0] ? wd_last_error() : wd_status_str(st));
        wd__err_set(&srv->err, st, "serve: reload of policy %s failed, still serving the previous "
                    "one%s: %s", path ? path : "(built-in)", srv->n_kpol ? "s" : "", why);
        WD_ERROR("%s", wd__err_msg(&srv->err));
        atomic_fetch_add(&srv->counters.reloads[1], 1);
        pthread_mutex_unlock(&srv->reload_mu);
        return st;
    }
    if (policy_path && policy_path[0] && policy_path != srv->policy_path) {
        char *copy = strdup(policy_path);
        if (copy) {
            free(srv->policy_path);
            srv->policy_path = copy;
            srv->p.policy_path = copy;
        }
    }
    wd__err_clear(&srv->err);
    atomic_fetch_add(&srv->counters.reloads[0], 1);
    WD_INFO("serve: reloaded policy %s%s", srv->policy_path ? srv->policy_path : "(built-in)",
            srv->n_kpol ? " and the per-key policies" : "");
    pthread_mutex_unlock(&srv->reload_mu);
    return WD_OK;
}

void wd_server_stop(wd_server *srv) {
    if (!srv) return;
    atomic_store(&srv->stopping, true);
    wd__gate_stop_accepting(srv);
    if (srv->n_lanes) {
        int64_t grace = (int64_t)srv->p.shutdown_grace_ms * 1000000;
        int64_t until = wd__serve_now_ns() + grace;
        /* the last quarter of the grace (at most 1 s): checks still running
         * are cancelled, so that their 503 goes out before the end */
        int64_t cancel_at = until - (grace / 4 < 1000000000 ? grace / 4 : 1000000000);
        while (atomic_load(&srv->counters.in_flight) > 0 && wd__serve_now_ns() < until) {
            if (!srv->cancel && wd__serve_now_ns() >= cancel_at) __atomic_store_n(&srv->cancel, 1, __ATOMIC_RELAXED);
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        int64_t left = atomic_load(&srv->counters.in_flight);
        if (left > 0) WD_WARN("serve: stopping with %lld request(s) still in flight", (long long)left);
        /* the answers pass back through the gate's relays: let them out */
        int64_t now = wd__serve_now_ns();
        wd__gate_stop(srv, (until > now ? until : now) + 100000000);
        for (int i = 0; i < srv->n_lanes; i++) {
            MHD_stop_daemon(srv->lanes[i].daemon);
            srv->lanes[i].daemon = NULL;
        }
        srv->n_lanes = 0;
    }
    WD_INFO("serve: stopped");
    server_free(srv);
}
