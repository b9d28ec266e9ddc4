/*
 * serve/gate.c - the front door of `warden serve`: one thread that accepts
 * connections, waits for each one's request head under a deadline, checks
 * its framing strictly, and only then hands the connection on to
 * libmicrohttpd, through the relay (relay.c). Why a gate in front of MHD:
 *
 *   - slow clients: MHD 0.9.75 closes a connection only when it is idle,
 *     so a client trickling one header byte per second holds a connection
 *     (and a worker's slot) for ever. Here a head must be complete within
 *     header_timeout_ms of the accept, or the client gets 408 and is closed;
 *     a connection still in the gate costs a file descriptor and ~100 bytes,
 *     never an MHD slot, and when the gate is full the connection that has
 *     waited longest (from the same address first) is the one dropped.
 *   - errors: MHD answers framing errors (bad Content-Length, bad chunk
 *     size, a head too large, HTTP/0.9 or 2.0) with its own HTML pages, and
 *     for a bad Content-Length 0.9.75 even writes its status line and
 *     headers twice. The gate rejects all of these first, with the JSON
 *     error every other answer uses, plus what MHD accepts but should not:
 *     conflicting or repeated Content-Length, Content-Length with
 *     Transfer-Encoding, HTTP/1.1 without Host, obsolete line folding.
 *   - health: GET /healthz, /readyz and /metrics are answered here, on the
 *     gate's thread, so they stay prompt while every worker is busy checking.
 *
 * The head is parsed by http_head.c. The gate never consumes a byte it
 * hands on: it reads the head with recv(MSG_PEEK) into one shared buffer
 * (it is a single thread). A connection that passes goes to the relay
 * (relay.c), also on this thread, which reads the request again and passes
 * it to MHD over a socketpair, and checks every later request of the
 * connection the same way. With TLS the bytes are encrypted, so the gate
 * hands the connection to the relay at once: the relay does the handshake
 * and the head checks under the same deadline. The watchdog (server.c) runs
 * from this thread every 250 ms, the relays' deadlines every 100 ms while
 * there are relays.
 *
 *   accept ──> [HEAD: peek on every arrival]──complete & valid──> MHD
 *                 │ bad framing / too large / deadline      └─ GET health ─> answered here
 *                 v
 *              [DRAIN: JSON error sent, write side shut; read and discard
 *               up to DRAIN_MAX bytes or DRAIN_MS, so the client reads the
 *               answer instead of a reset] ──> close
 *
 *   (MHD above: the relay, then MHD over a socketpair.)
 *
 * Both lists are FIFO in their deadlines (each deadline is a fixed time
 * after the event that started it), so expiry looks at their first element.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "serve/serve_internal.h"

#define MAX_HEAD WD__HTTP_MAX_HEAD
#define PEEK_EXTRA 4096        /* bytes after the head peeked to check chunk-size lines */
#define DRAIN_MS 2000
#define DRAIN_MAX (8u << 20)

typedef enum conn_state { ST_HEAD, ST_DRAIN } conn_state;


typedef struct gconn {
    int tag;                     /* WD__EP_GATE_CONN (epoll data: see gate_main) */
    struct gconn *prev, *next;   /* in the list of its state */
    int fd;
    conn_state state;
    int64_t t0, deadline;        /* accept time; deadline of the current state */
    size_t drained;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} gconn;

typedef struct glist {
    gconn *first, *last;
    int n;
} glist;

struct wd__gate {
    wd_server *srv;
    int listen_fd, ep, wake_fd;
    pthread_t th;
    bool started;
    glist head, drain;
    gconn *dead;                  /* left the gate in this batch of events; freed after it */
    int max_pending;
    int64_t next_watch;           /* next scan of MHD's connections (every 250 ms) */
    int64_t next_relays;          /* next scan of the relays' deadlines (every 100 ms) */
    wd__relay_hub relays;         /* connections past the gate (relay.c) */
    _Atomic bool quit;            /* set by wd__gate_stop: end the thread */
    int64_t quit_by;              /* then: the latest time to wait for answers */
    char buf[MAX_HEAD + PEEK_EXTRA + 1];
    char out[1024];
};

/* ==== Lists =============================================================== */

static void list_push(glist *l, gconn *c) {
    c->next = NULL;
    c->prev = l->last;
    if (l->last) l->last->next = c;
    else l->first = c;
    l->last = c;
    l->n++;
}

static void list_del(glist *l, gconn *c) {
    if (c->prev) c->prev->next = c->next;
    else l->first = c->next;
    if (c->next) c->next->prev = c->prev;
    else l->last = c->prev;
    c->prev = c->next = NULL;
    l->n--;
}

static glist *list_of(wd__gate *g, gconn *c) { return c->state == ST_HEAD ? &g->head : &g->drain; }

/* A connection leaves the gate: it is unlisted at once but freed only after
 * the current batch of epoll events, which may still name it (fd -1 then
 * marks it gone). close_fd: false when MHD took the socket. */
static void conn_retire(wd__gate *g, gconn *c, bool close_fd) {
    list_del(list_of(g, c), c);
    epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (close_fd) close(c->fd);
    c->fd = -1;
    c->next = g->dead;
    g->dead = c;
}

static void conn_close(wd__gate *g, gconn *c) { conn_retire(g, c, true); }

static void free_dead(wd__gate *g) {
    while (g->dead) {
        gconn *c = g->dead;
        g->dead = c->next;
        free(c);
    }
}

bool wd__same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
    if (a->ss_family != b->ss_family) return false;
    if (b->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (b->ss_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                       sizeof(struct in6_addr));
    return false;
}

/* ==== Answers ============================================================= */

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

int wd__gate_answer_head(char *out, size_t cap, const wd__answer *a, size_t blen, const char *rid) {
    int status = a->body ? a->status : 500;
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\nx-request-id: %s\r\n%s%s%s%s\r\n",
                     status, reason(status), a->content_type ? a->content_type : "application/json",
                     blen, rid, a->hdr_name ? a->hdr_name : "", a->hdr_name ? ": " : "",
                     a->hdr_value ? a->hdr_value : "", a->hdr_name ? "\r\n" : "");
    return n > 0 && (size_t)n < cap ? n : -1;
}

static void on_drain_data(wd__gate *g, gconn *c);

/* Sends a's answer with "Connection: close", shuts the write side and moves
 * c to the drain list. The answers are small and the socket fresh, so one
 * non-blocking send takes them whole; if not, the connection just closes.
 * h: the request's head, NULL when it is not trusted (a framing error);
 * key: the key it authenticated with (NULL: anonymous). Counted and logged
 * as one request (access_log.c). */
static void answer_and_drain(wd__gate *g, gconn *c, wd__answer *a, bool head_only, wd__route route,
                             const wd__http_head *h, const wd__key *key) {
    int status = a->body ? a->status : 500;
    size_t blen = a->body ? a->len : 0;
    char rid[WD__REQUEST_ID_MAX + 1];
    wd__server_request_id(g->srv, h ? h->request_id : NULL, h ? h->request_id_len : 0, rid);
    int n = wd__gate_answer_head(g->out, sizeof g->out, a, blen, rid);
    bool ok = n > 0 && send(c->fd, g->out, (size_t)n, MSG_NOSIGNAL | (head_only || !blen ? 0 : MSG_MORE)) == n;
    if (ok && !head_only && blen) ok = send(c->fd, a->body, blen, MSG_NOSIGNAL) == (ssize_t)blen;
    free(a->body);
    a->body = NULL;
    size_t plen = 0;
    if (h) {
        const char *q = memchr(h->target, '?', h->target_len);
        plen = q ? (size_t)(q - h->target) : h->target_len;
    }
    wd__access_rec rec = {
        .t0_ns = c->t0, .request_id = rid, .remote = (const struct sockaddr *)&c->addr, .key = key,
        .method = h ? h->method : NULL, .method_len = h ? h->method_len : 0,
        .path = h ? h->target : NULL, .path_len = plen, .route = route, .status = status,
        .bytes_out = ok && !head_only ? blen : 0, .aborted = ok ? NULL : "client_closed",
    };
    wd__server_request_end(g->srv, &rec);
    if (!ok) {
        conn_close(g, c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    list_del(list_of(g, c), c);
    if (g->drain.n >= g->max_pending) conn_close(g, g->drain.first);
    c->state = ST_DRAIN;
    c->deadline = wd__serve_now_ns() + (int64_t)DRAIN_MS * 1000000;
    list_push(&g->drain, c);
    on_drain_data(g, c); /* what already arrived raises no new edge */
}

void wd__gate_error(wd__answer *a, int status, const char *code, const char *msg) {
    wd__answer_error(a, status, status >= 500 && status != 501 && status != 505 ? "server_error"
                                                                                 : "invalid_request_error",
                     code, NULL, "%s", msg);
    if (status == 503) {
        a->hdr_name = "Retry-After";
        a->hdr_value = "1";
    }
}

int wd__gate_answer_bytes(char *out, size_t cap, const wd__answer *a, const char *rid) {
    size_t blen = a->body ? a->len : 0;
    int n = wd__gate_answer_head(out, cap, a, blen, rid);
    if (n < 0 || (size_t)n + blen > cap) return -1;
    if (blen) memcpy(out + n, a->body, blen);
    return n + (int)blen;
}

static void fail(wd__gate *g, gconn *c, int status, const char *code, const char *msg) {
    wd__answer a = {0};
    wd__gate_error(&a, status, code, msg);
    answer_and_drain(g, c, &a, false, WD__ROUTE_OTHER, NULL, NULL); /* the head is not trusted */
}

/* ==== Connection events =================================================== */

/* Past the gate: the relay reads the request again (the gate only peeked)
 * and passes it, and every later one, to MHD. */
static void hand_to_relay(wd__gate *g, gconn *c) {
    int fd = c->fd;
    conn_retire(g, c, false);
    wd__relay_open(&g->relays, fd, &c->addr, c->addrlen, c->t0, c->deadline);
}

/* The head is complete: answer a health route here, else hand over. */
static void head_done(wd__gate *g, gconn *c, const wd__http_head *h, size_t peeked) {
    wd_server *srv = g->srv;
    size_t plen = h->target_len;
    const char *q = memchr(h->target, '?', plen);
    if (q) plen = (size_t)(q - h->target);
    bool post = false, auth = false;
    int id = wd__route_find(h->target, plen, &post, &auth);
    bool get = h->method_len == 3 && !memcmp(h->method, "GET", 3);
    bool head_m = h->method_len == 4 && !memcmp(h->method, "HEAD", 4);
    /* only a lone request: anything pipelined after it goes to MHD with it;
     * a gateway's model list asks the upstream, which this thread must not
     * wait for */
    if (id >= 0 && !post && (get || head_m) && peeked == h->len && !h->chunked && !(h->has_cl && h->cl) &&
        !(id == WD__ROUTE_MODELS && srv->gw)) {
        if (recv(c->fd, g->buf, h->len, 0) != (ssize_t)h->len) {
            conn_close(g, c);
            return;
        }
        wd__answer a = {0};
        const wd__key *key = auth ? wd__auth_match(srv, h->authz, h->authz_len) : NULL;
        if (auth && !key) {
            wd__answer_error(&a, 401, "invalid_request_error", "invalid_api_key", NULL,
                             "missing or wrong API key: send 'Authorization: Bearer <key>'");
            a.hdr_name = "WWW-Authenticate";
            a.hdr_value = "Bearer realm=\"warden\"";
        } else {
            wd__server_builtin(srv, (wd__route)id, &a);
        }
        answer_and_drain(g, c, &a, head_m, (wd__route)id, h, key);
        return;
    }
    hand_to_relay(g, c);
}

/* True when the client has shut its sending side (its FIN is queued). */
static bool peer_shut(int fd) {
    struct pollfd pf = {.fd = fd, .events = POLLRDHUP};
    return poll(&pf, 1, 0) == 1 && (pf.revents & (POLLRDHUP | POLLHUP));
}

static void on_head_data(wd__gate *g, gconn *c, bool hup) {
    ssize_t n = recv(c->fd, g->buf, sizeof g->buf - 1, MSG_PEEK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        conn_close(g, c); /* the client went away before sending a request */
        return;
    }
    if (n < 0) return;
    wd__http_head h;
    wd__http_err e;
    int r = wd__http_head_parse(g->buf, (size_t)n, g->srv->p.max_body, &h, &e);
    if (r == 0) {
        if (hup) /* the client shut its side: the head will never be complete */
            fail(g, c, 400, "incomplete_request", "the connection ended inside the request head");
        return;
    }
    if (r > 0 && h.chunked) { /* the chunk framing of what arrived with the head */
        wd__http_chunker ck;
        wd__http_chunker_init(&ck);
        if (wd__http_chunker_feed(&ck, g->buf + h.len, (size_t)n - h.len, g->srv->p.max_body, &e) < 0) r = -1;
    }
    if (r < 0) {
        fail(g, c, e.status, e.code, e.msg);
        return;
    }
    /* the client already shut its side with the body short of its
     * Content-Length (and the peek saw all that arrived): MHD would not see
     * that end (the edge came before it watched the socket) and would wait */
    if (h.has_cl && (size_t)n < sizeof g->buf - 1 && (size_t)n - h.len < h.cl && (hup || peer_shut(c->fd))) {
        fail(g, c, 400, "incomplete_request", "the connection ended inside the request body");
        return;
    }
    head_done(g, c, &h, (size_t)n);
}

static void on_drain_data(wd__gate *g, gconn *c) {
    for (;;) {
        ssize_t n = recv(c->fd, g->buf, sizeof g->buf, 0);
        if (n > 0) {
            c->drained += (size_t)n;
            if (c->drained > DRAIN_MAX) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        break; /* EOF or error */
    }
    conn_close(g, c);
}

/* Drops c (the oldest of its address, or of all) to make room. */
static void evict(wd__gate *g, gconn *c) {
    fail(g, c, 408, "request_timeout",
         "the request head did not arrive in time (the server needed the connection slot)");
}

static void on_accept(wd__gate *g) {
    wd_server *srv = g->srv;
    for (int burst = 0; burst < 256; burst++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(g->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) WD_DEBUG("serve: gate: accept: %s", strerror(errno));
            return;
        }
        if (atomic_load(&srv->stopping)) {
            close(fd);
            continue;
        }
        const int64_t t0 = wd__serve_now_ns(), deadline = t0 + (int64_t)srv->p.header_timeout_ms * 1000000;
        if (srv->tls_cert) { /* encrypted: nothing to peek at; the relay decrypts and checks */
            wd__relay_open(&g->relays, fd, &ss, sl, t0, deadline);
            continue;
        }
        gconn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->tag = WD__EP_GATE_CONN;
        c->fd = fd;
        c->addr = ss;
        c->addrlen = sl;
        c->t0 = t0;
        c->deadline = deadline;
        c->state = ST_HEAD;
        /* room: per address first, then in all */
        if (srv->p.max_conns_per_ip > 0) {
            int same = 0;
            gconn *oldest = NULL;
            for (gconn *x = g->head.first; x; x = x->next)
                if (wd__same_host(&x->addr, &ss)) {
                    if (!oldest) oldest = x;
                    same++;
                }
            if (same >= srv->p.max_conns_per_ip) evict(g, oldest);
        }
        if (g->head.n >= g->max_pending) evict(g, g->head.first);
        list_push(&g->head, c);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            conn_close(g, c);
            continue;
        }
        on_head_data(g, c, false); /* the head often came with the connection */
    }
}

static void expire(wd__gate *g, int64_t now) {
    while (g->head.first && g->head.first->deadline <= now)
        fail(g, g->head.first, 408, "request_timeout", "the request head did not arrive in time");
    while (g->drain.first && g->drain.first->deadline <= now) conn_close(g, g->drain.first);
}

/* The thread. Epoll data: &listen_fd, &wake_fd, or the first int of a gate
 * connection or of a relay's side (WD__EP_*). */
static void *gate_main(void *arg) {
    wd__gate *g = arg;
    struct epoll_event evs[64];
    for (;;) {
        int64_t now = wd__serve_now_ns(), next = g->next_watch; /* the watchdog's tick */
        if (g->relays.first && g->next_relays < next) next = g->next_relays; /* the relays' */
        if (g->head.first && g->head.first->deadline < next) next = g->head.first->deadline;
        if (g->drain.first && g->drain.first->deadline < next) next = g->drain.first->deadline;
        int ms = (int)((next - now + 999999) / 1000000);
        int n = epoll_wait(g->ep, evs, 64, ms < 0 ? 0 : ms);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &g->listen_fd) on_accept(g);
            else if (ptr == &g->wake_fd) {
                uint64_t v;
                if (read(g->wake_fd, &v, sizeof v) < 0) { /* counted again at the next write */ }
                if (g->listen_fd >= 0) { /* no new connections, nor heads still coming */
                    epoll_ctl(g->ep, EPOLL_CTL_DEL, g->listen_fd, NULL);
                    close(g->listen_fd);
                    g->listen_fd = -1;
                    while (g->head.first) conn_close(g, g->head.first);
                }
            }
            else if (*(int *)ptr != WD__EP_GATE_CONN) wd__relay_event(ptr, evs[i].events);
            else {
                gconn *c = ptr;
                if (c->fd < 0) continue; /* left the gate earlier in this batch */
                if (c->state == ST_HEAD) on_head_data(g, c, evs[i].events & (EPOLLRDHUP | EPOLLHUP));
                else on_drain_data(g, c);
            }
        }
        now = wd__serve_now_ns();
        expire(g, now);
        if (now >= g->next_watch) {
            wd__server_watchdog(g->srv, now);
            g->next_watch = now + 250000000;
        }
        if (now >= g->next_relays) {
            wd__relay_tick(&g->relays, now);
            g->next_relays = now + 100000000;
        }
        free_dead(g);
        wd__relay_reap(&g->relays);
        /* quitting: once every answer in progress has gone out (or time is up) */
        if (atomic_load(&g->quit) && (now >= g->quit_by || !wd__relay_busy(&g->relays))) break;
    }
    return NULL;
}

/* ==== Lifecycle =========================================================== */

wd_status wd__gate_start(wd_server *srv, const struct sockaddr *addr, unsigned addrlen, int *port) {
    wd__gate *g = calloc(1, sizeof *g);
    if (!g) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    g->srv = srv;
    g->listen_fd = g->ep = g->wake_fd = -1;
    g->max_pending = srv->p.max_connections;
    srv->gate = g;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return wd__fail(WD_ERR_IO, "serve: socket: %s", strerror(errno));
    g->listen_fd = fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    /* the kernel hands over a connection once its first bytes are in (or
     * after a second): one wake-up of the gate per connection, not two */
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof one);
    if (bind(fd, addr, addrlen) != 0 || listen(fd, 1024) != 0)
        return wd__fail(WD_ERR_IO, "serve: cannot listen on %s port %d: %s", srv->p.host, srv->p.port,
                        strerror(errno));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    g->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (g->ep < 0 || g->wake_fd < 0) return wd__fail(WD_ERR_IO, "serve: epoll: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g->listen_fd};
    struct epoll_event wk = {.events = EPOLLIN, .data.ptr = &g->wake_fd};
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) || epoll_ctl(g->ep, EPOLL_CTL_ADD, g->wake_fd, &wk))
        return wd__fail(WD_ERR_IO, "serve: epoll: %s", strerror(errno));
    wd_status st = wd__relay_hub_init(&g->relays, srv, g->ep);
    if (st) return st;
    if (pthread_create(&g->th, NULL, gate_main, g) != 0)
        return wd__fail(WD_ERR_IO, "serve: cannot start the gate thread");
    g->started = true;
    return WD_OK;
}

/* Every wake-up stops the accepting; with quit set the thread ends too. */
static void gate_wake(wd__gate *g) {
    uint64_t one = 1;
    if (write(g->wake_fd, &one, sizeof one) < 0) { /* an eventfd write fails only on overflow */ }
}

void wd__gate_stop_accepting(wd_server *srv) {
    wd__gate *g = srv->gate;
    if (g && g->started) gate_wake(g);
}

void wd__gate_stop(wd_server *srv, int64_t until) {
    wd__gate *g = srv->gate;
    if (!g) return;
    if (g->started) {
        g->quit_by = until;
        atomic_store(&g->quit, true);
        gate_wake(g);
        pthread_join(g->th, NULL);
        g->started = false;
    }
    while (g->head.first) conn_close(g, g->head.first);
    while (g->drain.first) conn_close(g, g->drain.first);
    free_dead(g);
    if (g->listen_fd >= 0) close(g->listen_fd);
    g->listen_fd = -1;
}

void wd__gate_free(wd_server *srv) {
    wd__gate *g = srv->gate;
    if (!g) return;
    wd__gate_stop(srv, 0);
    wd__relay_hub_free(&g->relays);
    if (g->ep >= 0) close(g->ep);
    if (g->wake_fd >= 0) close(g->wake_fd);
    free(g);
    srv->gate = NULL;
}
