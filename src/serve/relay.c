/*
 * serve/relay.c - every connection the gate lets through reaches
 * libmicrohttpd over a socketpair, and the gate's thread copies the bytes
 * between the client and MHD. That is what lets warden, not MHD, frame
 * every request of a connection:
 *
 *   - kept-alive connections: each request head is read here, checked
 *     with the gate's strict parser (http_head.c) under the head deadline,
 *     and only then passed on; a chunked body is checked chunk line by
 *     chunk line as it streams. A bad head or chunk gets the same JSON
 *     error as a first request (MHD would answer with its HTML page).
 *   - TLS: the relay terminates it (GnuTLS), so MHD only ever sees plain
 *     HTTP and the same checks hold over https.
 *   - idle and slow clients: a connection waiting for its next request is
 *     closed after conn_timeout_s; once a head has begun it must be
 *     complete within header_timeout_ms (408).
 *
 * One request at a time: after a request (head and body) has passed, the
 * next head is not read until MHD's answer to it has passed back (its end
 * found by the answer framer of http_framing.c), so an error the relay
 * sends never interleaves with an answer from MHD. Pipelined bytes wait in
 * the buffer (and then in the kernel).
 *
 *   client ──recv/TLS──> up[] ──checked──> mfd ══socketpair══> MHD
 *   client <──send/TLS── down[] <──framed── mfd <══════════════ MHD
 *
 * Epoll is level-triggered here: each side's interest is recomputed after
 * every step (want_client / want_mhd), and a side with nothing to wait for
 * is not registered at all (no busy loop on a peer's hang-up).
 *
 * This file is one connection's course; relay_hub.c holds the set of them
 * (room for a new one, deadlines, TLS credentials).
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "serve/relay_internal.h"

#define UP_CAP (WD__HTTP_MAX_HEAD + 4096) /* a whole head fits, with room to spare */
#define DOWN_CAP (16 * 1024)
#define TLS_RECORD (16 * 1024)
#define DRAIN_MS 2000
/* what is read and dropped after an error answer: clients that send the
 * whole body before reading (50 MB chunked and more) still get the answer */
#define DRAIN_MAX ((size_t)64 << 20)

static wd__relay *of_tag(int *tag) {
    return *tag == WD__EP_RELAY_CLIENT ? (wd__relay *)((char *)tag - offsetof(wd__relay, tag_c))
                                       : (wd__relay *)((char *)tag - offsetof(wd__relay, tag_m));
}

static bool body_sink(void *user, const char *data, size_t n) {
    (void)user, (void)data, (void)n;
    return true;
}

/* A fresh framer for MHD's next answer (no_body: the request was HEAD). */
static void framer_reset(wd__relay *r, bool head_request) {
    wd__http_framer_free(&r->fr);
    wd__http_response_free(&r->resp); /* its body stays NULL: streamed to body_sink */
    wd__http_framer_init(&r->fr, &r->resp, "libmicrohttpd", body_sink, NULL);
    r->fr.max_head = WD__HTTP_MAX_HEAD;
    r->fr.max_body = SIZE_MAX;
    r->fr.no_body = head_request;
}

/* ==== Lifetime ============================================================= */

static void set_interest(wd__relay *r, int fd, uint32_t *cur, uint32_t want, int *tag) {
    if (fd < 0 || *cur == want) return;
    struct epoll_event ev = {.events = want, .data.ptr = tag};
    int op = !*cur ? EPOLL_CTL_ADD : !want ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(r->hub->ep, op, fd, &ev) == 0 || op == EPOLL_CTL_DEL) *cur = want;
}

/* Closes MHD's end of the socketpair (MHD then ends that connection). */
static void mhd_close(wd__relay *r) {
    set_interest(r, r->mfd, &r->mev, 0, &r->tag_m);
    if (r->mfd >= 0) close(r->mfd);
    r->mfd = -1;
}

void wd__relay_free_now(wd__relay *r) {
    wd__http_framer_free(&r->fr);
    wd__http_response_free(&r->resp);
    free(r->up);
    free(r->down);
    free(r->tail);
    free(r);
}

/* Closes both sides; the memory is freed after the current batch of epoll
 * events (wd__relay_reap), which may still name it. */
void wd__relay_kill(wd__relay *r) {
    if (r->dead) return;
    wd__relay_hub *h = r->hub;
    set_interest(r, r->cfd, &r->cev, 0, &r->tag_c);
    set_interest(r, r->mfd, &r->mev, 0, &r->tag_m);
    if (r->tls) gnutls_deinit(r->tls);
    r->tls = NULL;
    /* unread input makes close() send a reset, which throws away answer
     * bytes still queued in the kernel: read it first (bounded) */
    char sink[4096];
    for (int i = 0; i < 64 && recv(r->cfd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++) {
    }
    close(r->cfd);
    if (r->mfd >= 0) close(r->mfd);
    r->cfd = r->mfd = -1;
    r->dead = true;
    if (r->prev) r->prev->next = r->next;
    else h->first = r->next;
    if (r->next) r->next->prev = r->prev;
    h->n--;
    r->next = h->dead;
    h->dead = r;
}

/* ==== The client's side ===================================================== */

/* Reads what the client sent into up[]: >0 bytes, 0 nothing now, -1 the
 * end (EOF: client_eof) or an error (the relay is killed). */
static int client_read(wd__relay *r) {
    if (r->up_sent && r->up_sent == r->up_ok) { /* everything checked has gone on: compact */
        memmove(r->up, r->up + r->up_sent, r->up_len - r->up_sent);
        r->up_len -= r->up_sent;
        r->up_ok -= r->up_sent;
        r->up_sent = 0;
    }
    size_t room = UP_CAP - r->up_len;
    if (!room) return 0;
    ssize_t n;
    if (r->tls) {
        n = gnutls_record_recv(r->tls, r->up + r->up_len, room);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            r->c_ready = false;
            return 0;
        }
        if (n == GNUTLS_E_PREMATURE_TERMINATION) n = 0; /* no close_notify: an end all the same */
        if (n < 0 && !gnutls_error_is_fatal((int)n)) return 0; /* a warning alert: read on */
        if (n < 0) {
            WD_DEBUG("serve: relay: TLS read: %s", gnutls_strerror((int)n));
            wd__relay_kill(r);
            return -1;
        }
    } else {
        n = recv(r->cfd, r->up + r->up_len, room, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            r->c_ready = false;
            return 0;
        }
        if (n < 0) {
            wd__relay_kill(r);
            return -1;
        }
    }
    if (n == 0) {
        r->client_eof = true;
        return -1;
    }
    if ((size_t)n < room) r->c_ready = false; /* drained (TLS: gnutls_record_check_pending says more) */
    r->up_len += (size_t)n;
    return 1;
}

/* Sends down[] to the client: true when something went. */
static bool client_write(wd__relay *r) {
    bool moved = false;
    while (r->down_sent < r->down_len) {
        ssize_t k;
        if (r->tls) {
            size_t n = r->tls_again ? r->tls_again : r->down_len - r->down_sent;
            if (n > TLS_RECORD) n = TLS_RECORD;
            k = gnutls_record_send(r->tls, r->down + r->down_sent, n);
            if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED) {
                r->tls_again = n;
                return moved;
            }
            r->tls_again = 0;
        } else {
            k = send(r->cfd, r->down + r->down_sent, r->down_len - r->down_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return moved;
        }
        if (k <= 0) { /* the client is gone */
            wd__relay_kill(r);
            return false;
        }
        r->down_sent += (size_t)k;
        r->last_out = wd__serve_now_ns();
        moved = true;
        if (r->down_sent == r->down_len && r->tail) { /* the relay's error answer follows */
            memcpy(r->down, r->tail, r->tail_len);
            r->down_len = r->tail_len;
            r->down_sent = 0;
            free(r->tail);
            r->tail = NULL;
            r->tail_len = 0;
        }
    }
    r->down_len = r->down_sent = 0;
    return moved;
}

/* ==== MHD's side ============================================================ */

/* Opens the socketpair and gives its other end to a worker's daemon. */
static bool mhd_attach(wd__relay *r) {
    wd_server *srv = r->hub->srv;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return false;
    wd__lane *lane = wd__server_pick_lane(srv);
    /* MHD takes sv[1] in all cases (it closes it when it refuses) */
    if (MHD_add_connection(lane->daemon, sv[1], (const struct sockaddr *)&r->addr, r->addrlen) != MHD_YES) {
        wd__server_lane_drop(lane);
        close(sv[0]);
        WD_DEBUG("serve: relay: libmicrohttpd refused a connection (limit reached?)");
        return false;
    }
    r->mfd = sv[0];
    return true;
}

static bool mhd_write(wd__relay *r) {
    if (r->mfd < 0 || r->up_sent == r->up_ok) return false;
    if (r->mhd_wdead) { /* MHD stopped reading: what it would have read is dropped */
        r->up_sent = r->up_ok;
        return true;
    }
    ssize_t k = send(r->mfd, r->up + r->up_sent, r->up_ok - r->up_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    if (k <= 0) {
        r->mhd_wdead = true;
        return true;
    }
    r->up_sent += (size_t)k;
    return true;
}

static void idle(wd__relay *r) {
    r->st = UP_HEAD;
    r->dl = DL_IDLE;
    r->deadline = wd__serve_now_ns() + (int64_t)r->hub->srv->p.conn_timeout_s * 1000000000;
}

/* MHD's final answer to the request in flight has passed. */
static void answer_done(wd__relay *r) {
    r->pending = false;
    framer_reset(r, false);
    if (r->st == UP_WAIT) idle(r);
    else if (r->st == UP_OFF) r->closing = true;
}

/* No more requests on this connection: what MHD is answering is passed
 * back, then the connection ends (MHD's side first gets the end of input). */
void wd__relay_stop_requests(wd__relay *r) {
    r->st = UP_OFF;
    r->dl = DL_NONE;
    if (r->mfd >= 0) shutdown(r->mfd, SHUT_WR);
    if (!r->pending) r->closing = true;
}

static bool mhd_read(wd__relay *r) {
    if (r->mfd < 0 || r->mhd_eof || !r->m_ready) return false;
    if (r->down_sent) {
        memmove(r->down, r->down + r->down_sent, r->down_len - r->down_sent);
        r->down_len -= r->down_sent;
        r->down_sent = 0;
    }
    if (r->down_len == DOWN_CAP) return false;
    size_t room = DOWN_CAP - r->down_len;
    ssize_t n = recv(r->mfd, r->down + r->down_len, room, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        r->m_ready = false;
        return false;
    }
    if (n > 0 && (size_t)n < room) r->m_ready = false;
    if (n <= 0) {
        r->mhd_eof = true;
        /* an answer whose body ran to the end of the connection ends here */
        if (r->pending && r->framed && wd__http_framer_eof(&r->fr) == WD_OK) r->pending = false;
        return true;
    }
    const char *p = r->down + r->down_len;
    size_t left = (size_t)n;
    if (!r->down_len) r->last_out = wd__serve_now_ns(); /* the clock for a client that does not read */
    r->down_len += (size_t)n;
    while (left && r->framed) {
        size_t used = 0;
        if (!r->pending || wd__http_framer_take(&r->fr, p, left, &used) != WD_OK) {
            /* bytes from MHD with no request in flight, or not HTTP as the
             * framer knows it: pass them on, and end with this answer */
            WD_DEBUG("serve: relay: libmicrohttpd's answer could not be framed%s%s",
                     r->pending ? ": " : "", r->pending ? wd_last_error() : "");
            r->framed = false;
            wd__relay_stop_requests(r);
            break;
        }
        p += used;
        left -= used;
        if (wd__http_framer_done(&r->fr)) answer_done(r);
    }
    return true;
}

/* ==== Errors answered by the relay ========================================== */

/* True while MHD has sent nothing of a final answer to the request in
 * flight (an interim 100 Continue aside): the relay may still answer. */
static bool can_answer(const wd__relay *r) {
    return r->framed && (!r->pending || (!wd__http_framer_has_head(&r->fr) && r->fr.head_len == 0));
}

/* Ends the connection with a JSON error: MHD's side is closed first (it has
 * answered nothing of the request in flight, if any: see can_answer), the
 * answer queued with "Connection: close", and the client drained once it
 * is out. */
void wd__relay_answer_error(wd__relay *r, int status, const char *code, const char *msg) {
    wd_server *srv = r->hub->srv;
    mhd_close(r);
    r->mhd_eof = true;
    wd__answer a = {0};
    wd__gate_error(&a, status, code, msg);
    char rid[WD__REQUEST_ID_MAX + 1];
    wd__server_request_id(srv, NULL, 0, rid);
    size_t blen = a.body ? a.len : 0;
    /* after what is still to go to the client (the end of MHD's last
     * answer, an interim 100): written into down[] when that is empty,
     * else queued as the tail that client_write moves in after it */
    bool empty = r->down_sent == r->down_len;
    char out[1024]; /* as the gate's answers */
    int n = wd__gate_answer_bytes(out, sizeof out, &a, rid);
    char *dst = n <= 0 ? NULL : empty ? r->down : malloc((size_t)n);
    bool ok = dst != NULL;
    if (ok) memcpy(dst, out, (size_t)n);
    if (ok && empty) {
        r->down_sent = 0;
        r->down_len = (size_t)n;
        r->last_out = wd__serve_now_ns(); /* the clock for a client that does not read */
    } else if (ok) {
        r->tail = dst;
        r->tail_len = (size_t)n;
    }
    wd__access_rec rec = {
        .t0_ns = r->head_t0, .request_id = rid, .remote = (const struct sockaddr *)&r->addr,
        .route = WD__ROUTE_OTHER, .status = a.body ? a.status : 500, .bytes_out = ok ? blen : 0,
        .aborted = ok ? NULL : "error",
    };
    wd__server_request_end(srv, &rec);
    free(a.body);
    r->up_len = r->up_ok = r->up_sent = 0;
    r->pending = false;
    r->st = UP_OFF;
    r->dl = DL_NONE; /* settle starts the drain once the answer is out */
    r->closing = true;
    if (!ok) wd__relay_kill(r);
}

/* The request body cannot go on (bad chunk framing, or the client ended
 * inside it): answered here while MHD has not begun to answer, else MHD's
 * answer is passed back and the connection ends. */
static bool mhd_read(wd__relay *r);

static void body_fail(wd__relay *r, int status, const char *code, const char *msg) {
    r->m_ready = true; /* what MHD may already have answered is read first */
    while (mhd_read(r) && !r->mhd_eof && r->pending) {
    }
    if (can_answer(r)) wd__relay_answer_error(r, status, code, msg);
    else wd__relay_stop_requests(r);
}

/* ==== The requests ========================================================= */

/* A request (head and body) has passed to MHD. */
static void request_passed(wd__relay *r) {
    if (r->pending) {
        r->st = UP_WAIT;
        r->dl = DL_NONE;
    } else {
        idle(r); /* MHD answered before the body was in */
    }
}

/* Checks what arrived from the client and lets through what passes. */
static bool up_advance(wd__relay *r) {
    wd_server *srv = r->hub->srv;
    bool moved = false;
    for (;;) {
        size_t avail = r->up_len - r->up_ok;
        switch (r->st) {
        case UP_HEAD: {
            if (!avail) {
                if (r->client_eof) { /* the client is done: a clean end */
                    wd__relay_stop_requests(r);
                    return true;
                }
                return moved;
            }
            if (r->dl == DL_IDLE) { /* the next request has begun: its head has header_timeout_ms */
                int64_t now = wd__serve_now_ns();
                r->dl = DL_HEAD;
                r->deadline = now + (int64_t)srv->p.header_timeout_ms * 1000000;
                r->head_t0 = now;
            }
            wd__http_head hd;
            wd__http_err e;
            int k = wd__http_head_parse(r->up + r->up_ok, avail, srv->p.max_body, &hd, &e);
            if (k == 0 && (r->client_eof || avail >= UP_CAP - 1)) {
                if (r->client_eof) wd__relay_answer_error(r, 400, "incomplete_request", "the connection ended inside the request head");
                else wd__relay_answer_error(r, 431, "header_too_large", "the request head is too large");
                return true;
            }
            if (k == 0) return moved;
            if (k < 0) {
                wd__relay_answer_error(r, e.status, e.code, e.msg);
                return true;
            }
            if (r->mfd < 0 && !mhd_attach(r)) {
                wd__relay_answer_error(r, 503, "server_busy", "the server has no room for another connection; retry");
                return true;
            }
            r->up_ok += hd.len;
            r->pending = true;
            framer_reset(r, hd.method_len == 4 && !memcmp(hd.method, "HEAD", 4));
            r->dl = DL_NONE;
            if (hd.chunked) {
                r->st = UP_CHUNKED;
                wd__http_chunker_init(&r->chunks);
            } else if (hd.has_cl && hd.cl) {
                r->st = UP_BODY;
                r->left = hd.cl;
            } else {
                request_passed(r);
            }
            moved = true;
            continue;
        }
        case UP_BODY:
        case UP_CHUNKED: {
            if (!avail) {
                if (r->client_eof) {
                    body_fail(r, 400, "incomplete_request", "the connection ended inside the request body");
                    return true;
                }
                return moved;
            }
            bool done;
            if (r->st == UP_BODY) {
                size_t take = avail < r->left ? avail : (size_t)r->left;
                r->up_ok += take;
                r->left -= take;
                done = !r->left;
            } else {
                wd__http_err e;
                long k = wd__http_chunker_feed(&r->chunks, r->up + r->up_ok, avail, srv->p.max_body, &e);
                if (k < 0) {
                    body_fail(r, e.status, e.code, e.msg);
                    return true;
                }
                r->up_ok += (size_t)k;
                done = wd__http_chunker_done(&r->chunks);
            }
            if (!done) return true;
            request_passed(r);
            moved = true;
            continue;
        }
        default: return moved;
        }
    }
}

/* ==== The connection's course =============================================== */

static bool handshake(wd__relay *r) {
    int k = gnutls_handshake(r->tls);
    if (k == GNUTLS_E_SUCCESS) {
        r->st = UP_HEAD;
        return true;
    }
    if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(k)) return false;
    WD_DEBUG("serve: relay: TLS handshake failed: %s", gnutls_strerror(k));
    wd__relay_kill(r);
    return false;
}

/* The endings: MHD gone, the answer out, the client gone. */
static bool settle(wd__relay *r) {
    bool moved = false;
    if (r->mhd_eof && r->mfd >= 0) { /* MHD closed: everything it sent has been read */
        mhd_close(r);
        r->st = UP_OFF;
        r->pending = false;
        r->closing = true;
        moved = true;
    }
    if (r->closing && r->mfd >= 0 && !r->pending) { /* nothing more to pass on: MHD's side ends */
        mhd_close(r);
        moved = true;
    }
    if (r->closing && !r->shut && r->down_sent == r->down_len && !r->tail) {
        /* the answer is out: shut our side, then read (and drop) what the
         * client still sends, so it reads the answer instead of a reset */
        if (r->tls) {
            int k = gnutls_bye(r->tls, GNUTLS_SHUT_WR); /* close_notify, then the TCP end */
            r->bye_again = k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED;
            if (r->bye_again) return moved;
        }
        shutdown(r->cfd, SHUT_WR);
        r->shut = true;
        r->dl = DL_DRAIN;
        r->deadline = wd__serve_now_ns() + (int64_t)DRAIN_MS * 1000000;
        moved = true;
    }
    if (r->shut && r->client_eof) {
        wd__relay_kill(r);
        return false;
    }
    return moved;
}

static bool want_client_read(const wd__relay *r) {
    if (r->dead || r->client_eof) return false;
    if (r->st == UP_HANDSHAKE) return !gnutls_record_get_direction(r->tls);
    if (r->shut) return true;
    return r->st != UP_OFF && (r->up_len < UP_CAP || (r->up_sent && r->up_sent == r->up_ok));
}

static void update_interest(wd__relay *r) {
    if (r->dead) return;
    uint32_t c = 0, m = 0;
    if (want_client_read(r)) c |= EPOLLIN;
    if (r->down_sent < r->down_len || r->tls_again || r->bye_again ||
        (r->st == UP_HANDSHAKE && gnutls_record_get_direction(r->tls)))
        c |= EPOLLOUT;
    if (r->mfd >= 0) {
        if (!r->mhd_eof && r->down_len - r->down_sent < DOWN_CAP) m |= EPOLLIN;
        if (!r->mhd_wdead && r->up_sent < r->up_ok) m |= EPOLLOUT;
    }
    set_interest(r, r->cfd, &r->cev, c, &r->tag_c);
    set_interest(r, r->mfd, &r->mev, m, &r->tag_m);
}

/* Moves bytes both ways until nothing moves. */
void wd__relay_pump(wd__relay *r) {
    for (int round = 0; round < 4096 && !r->dead; round++) {
        bool moved = false;
        if (r->st == UP_HANDSHAKE) {
            moved = handshake(r);
            if (r->dead) return;
            if (!moved) break;
        }
        if (want_client_read(r) &&
            (r->c_ready || (r->tls && gnutls_record_check_pending(r->tls)))) {
            int k = client_read(r);
            if (r->dead) return;
            if (k) moved = true;
            if (r->shut) { /* draining: drop it */
                r->drained += r->up_len;
                r->up_len = r->up_ok = r->up_sent = 0;
                if (r->drained > DRAIN_MAX) {
                    wd__relay_kill(r);
                    return;
                }
            }
        }
        moved |= up_advance(r);
        if (r->dead) return;
        moved |= mhd_write(r);
        moved |= mhd_read(r);
        moved |= client_write(r);
        if (r->dead) return;
        moved |= settle(r);
        if (!moved) break;
    }
    update_interest(r);
}

/* ==== A new connection ===================================================== */

wd__relay *wd__relay_new(wd__relay_hub *h, int fd, const struct sockaddr_storage *addr, unsigned addrlen,
                         int64_t t0, int64_t deadline) {
    wd__relay *r = calloc(1, sizeof *r);
    if (r) {
        r->up = malloc(UP_CAP);
        r->down = malloc(DOWN_CAP);
    }
    if (!r || !r->up || !r->down) {
        if (r) wd__relay_free_now(r);
        return NULL;
    }
    /* the relay writes what MHD wrote as it comes (an answer's head and
     * body may be two writes): no Nagle delay between them */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->tag_c = WD__EP_RELAY_CLIENT;
    r->tag_m = WD__EP_RELAY_MHD;
    r->hub = h;
    r->cfd = fd;
    r->mfd = -1;
    r->addr = *addr;
    r->addrlen = addrlen;
    r->head_t0 = r->last_out = t0;
    r->dl = DL_HEAD;
    r->deadline = deadline;
    r->framed = true;
    r->c_ready = true; /* the gate saw the head arrive (or the TLS hello is on its way) */
    framer_reset(r, false);
    r->st = UP_HEAD;
    if (h->tls_cred) {
        static const gnutls_datum_t http11 = {(unsigned char *)"http/1.1", 8};
        if (gnutls_init(&r->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
            r->tls = NULL;
            wd__relay_free_now(r);
            return NULL;
        }
        gnutls_set_default_priority(r->tls);
        gnutls_credentials_set(r->tls, GNUTLS_CRD_CERTIFICATE, h->tls_cred);
        gnutls_alpn_set_protocols(r->tls, &http11, 1, 0);
        gnutls_transport_set_int(r->tls, fd);
        gnutls_transport_set_push_function(r->tls, wd__tls_push_nosignal);
        r->st = UP_HANDSHAKE;
    }
    return r;
}

void wd__relay_event(int *tag, uint32_t events) {
    wd__relay *r = of_tag(tag);
    if (r->dead) return;
    if (*tag == WD__EP_RELAY_CLIENT && (events & (EPOLLERR | EPOLLHUP))) {
        wd__relay_kill(r); /* reset, or both directions closed: nobody to answer */
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (*tag == WD__EP_RELAY_CLIENT) r->c_ready = true;
        else r->m_ready = true;
    }
    wd__relay_pump(r);
}
