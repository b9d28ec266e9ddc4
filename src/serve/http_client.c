/*
 * serve/http_client.c - the gateway's upstream client: URLs, the TCP (and
 * GnuTLS) connection, the request, and the read loop that hands the
 * answer's bytes to the framer (http_framing.c). Contract: http_client.h.
 *
 * One request per connection (Connection: close). The socket is
 * non-blocking and every wait is a poll() of at most 100 ms, so that the
 * cancel flag is seen within 100 ms and the three clocks are kept:
 *
 *   connect_timeout_ns  TCP connect + TLS handshake (from the first try)
 *   idle_timeout_ns     longest wait for the next byte, sending or reading
 *   deadline_ns         absolute end of the whole exchange
 *
 * Name resolution (getaddrinfo) blocks and is not covered by the clocks;
 * upstreams are named by address or in /etc/hosts in the common case.
 * Writes use MSG_NOSIGNAL (also under TLS, through GnuTLS's push
 * function), so a peer that closes early gives EPIPE, never SIGPIPE. When
 * sending fails that way the answer already sent is still read (a 413
 * before the body was read, for example).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "base/err.h"
#include "serve/http_client.h"
#include "serve/serve_internal.h"

#define SLICE_NS 100000000LL            /* longest poll: the cancel flag's latency */
#define DEFAULT_CONNECT_NS 5000000000LL

/* ==== URLs ================================================================= */

static wd_status url_fail(const char *s, const char *why) {
    return wd__fail(WD_ERR_INVALID_ARG, "upstream URL '%.200s': %s", s, why);
}

wd_status wd__url_parse(const char *s, wd__url *out) {
    memset(out, 0, sizeof *out);
    if (!s || !*s) return wd__fail(WD_ERR_INVALID_ARG, "upstream URL: empty");
    const char *p;
    if (!strncasecmp(s, "http://", 7)) p = s + 7;
    else if (!strncasecmp(s, "https://", 8)) p = s + 8, out->tls = true;
    else return url_fail(s, "scheme must be http or https");
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen)) return url_fail(s, "user info (user@host) is not supported");
    if (strpbrk(p, "?#")) return url_fail(s, "a query or fragment is not supported");
    const char *host = p, *port = NULL, *end = p + alen;
    size_t hlen;
    if (*p == '[') {
        const char *rb = memchr(p, ']', alen);
        if (!rb) return url_fail(s, "'[' without ']'");
        host = p + 1;
        hlen = (size_t)(rb - host);
        if (rb + 1 < end && rb[1] != ':') return url_fail(s, "junk after ']'");
        if (rb + 1 < end) port = rb + 2;
        char a[64];
        struct in6_addr ip6;
        if (hlen == 0 || hlen >= sizeof a) return url_fail(s, "bad IPv6 address");
        memcpy(a, host, hlen);
        a[hlen] = 0;
        if (inet_pton(AF_INET6, a, &ip6) != 1) return url_fail(s, "bad IPv6 address");
    } else {
        const char *colon = memchr(p, ':', alen);
        hlen = colon ? (size_t)(colon - p) : alen;
        if (colon) port = colon + 1;
        for (size_t i = 0; i < hlen; i++) {
            char c = host[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-' || c == '_'))
                return url_fail(s, "bad character in the host name");
        }
    }
    if (hlen == 0) return url_fail(s, "no host");
    if (hlen >= sizeof out->host) return url_fail(s, "host name too long");
    memcpy(out->host, host, hlen);
    if (port) {
        size_t n = (size_t)(end - port);
        long v = 0;
        if (n == 0 || n > 5) return url_fail(s, "bad port");
        for (size_t i = 0; i < n; i++) {
            if (port[i] < '0' || port[i] > '9') return url_fail(s, "bad port");
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535) return url_fail(s, "port out of range 1..65535");
        snprintf(out->port, sizeof out->port, "%ld", v);
    } else {
        strcpy(out->port, out->tls ? "443" : "80");
    }
    size_t plen = strlen(end);
    while (plen && end[plen - 1] == '/') plen--;
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)end[i] <= 0x20 || (unsigned char)end[i] >= 0x7f)
            return url_fail(s, "the path must be printable ASCII without spaces (percent-encode it)");
    if (plen >= sizeof out->prefix) return url_fail(s, "path too long");
    memcpy(out->prefix, end, plen);
    return WD_OK;
}

/* ==== The connection ======================================================= */

typedef struct conn {
    const wd__http_request *rq;
    char who[300];               /* "upstream host:port" */
    int fd;
    gnutls_session_t tls;
    gnutls_certificate_credentials_t cred;
    int64_t start_ns;
    bool got_bytes;              /* any byte of the answer read */
} conn;

static bool cancelled(const conn *c) { return c->rq->cancel && *c->rq->cancel; }

/* WD_OK while the exchange may go on: not cancelled, deadline not passed. */
static wd_status check_clock(const conn *c) {
    if (cancelled(c)) return wd__fail(WD_ERR_CANCELLED, "%s: cancelled", c->who);
    int64_t deadline = c->rq->deadline_ns;
    if (deadline && wd__serve_now_ns() >= deadline)
        return wd__fail(WD_ERR_TIMEOUT, "%s: no complete answer within the deadline (%.1f s)", c->who,
                        (double)(deadline - c->start_ns) * 1e-9);
    return WD_OK;
}

/* Waits until the socket is ready for ev (or has an error, which the next
 * call then reports), polling in slices of at most 100 ms. step_until is
 * the end of the current step (connect or idle; 0 = none) and step_ns its
 * length for the message; the request deadline applies as well. */
static wd_status wait_fd(conn *c, short ev, int64_t step_until, int64_t step_ns, const char *step_what) {
    int64_t deadline = c->rq->deadline_ns;
    for (;;) {
        wd_status st = check_clock(c);
        if (st) return st;
        int64_t now = wd__serve_now_ns();
        if (step_until && now >= step_until)
            return wd__fail(WD_ERR_TIMEOUT, "%s: %s within %.1f s", c->who, step_what, (double)step_ns * 1e-9);
        int64_t wait = SLICE_NS;
        if (deadline && deadline - now < wait) wait = deadline - now;
        if (step_until && step_until - now < wait) wait = step_until - now;
        struct pollfd pfd = {.fd = c->fd, .events = ev};
        int r = poll(&pfd, 1, (int)((wait + 999999) / 1000000));
        if (r > 0) return WD_OK;
        if (r < 0 && errno != EINTR) return wd__fail(WD_ERR_IO, "%s: poll: %s", c->who, strerror(errno));
    }
}

static wd_status tcp_connect(conn *c, const wd__url *u, int64_t until, int64_t step_ns) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(u->host, u->port, &hints, &ai);
    if (g) return wd__fail(WD_ERR_IO, "%s: cannot resolve the host name (%s)", c->who, gai_strerror(g));
    int err = 0;
    wd_status st = WD_OK;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        c->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (c->fd < 0) {
            err = errno;
            continue;
        }
        if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0) break;
        err = errno;
        if (err == EINPROGRESS) {
            st = wait_fd(c, POLLOUT, until, step_ns, "no connection");
            socklen_t len = sizeof err;
            if (!st && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
            if (!st && err == 0) break;
        }
        close(c->fd);
        c->fd = -1;
        if (st) break; /* out of time, or cancelled: no next address */
    }
    freeaddrinfo(ai);
    if (st) return st;
    if (c->fd < 0) {
        if (err == ECONNREFUSED) return wd__fail(WD_ERR_IO, "%s: connection refused", c->who);
        return wd__fail(WD_ERR_IO, "%s: cannot connect (%s)", c->who, strerror(err));
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return WD_OK;
}

ssize_t wd__tls_push_nosignal(gnutls_transport_ptr_t p, const void *data, size_t n) {
    return send((int)(intptr_t)p, data, n, MSG_NOSIGNAL);
}

static bool is_ip_literal(const char *h) {
    unsigned char a[16];
    return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static wd_status tls_start(conn *c, const wd__url *u, int64_t until, int64_t step_ns) {
    const wd__http_request *rq = c->rq;
    if (gnutls_certificate_allocate_credentials(&c->cred) < 0)
        return wd__fail(WD_ERR_NOMEM, "%s: TLS: out of memory", c->who);
    if (!rq->insecure_tls) {
        int n = rq->ca_file ? gnutls_certificate_set_x509_trust_file(c->cred, rq->ca_file, GNUTLS_X509_FMT_PEM)
                            : gnutls_certificate_set_x509_system_trust(c->cred);
        if (n < 0 || (rq->ca_file && n == 0))
            return wd__fail(WD_ERR_IO, "%s: TLS: cannot load the trusted certificates from %s (%s)", c->who,
                            rq->ca_file ? rq->ca_file : "the system's store", n < 0 ? gnutls_strerror(n) : "none");
    }
    if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) {
        c->tls = NULL;
        return wd__fail(WD_ERR_NOMEM, "%s: TLS: out of memory", c->who);
    }
    gnutls_set_default_priority(c->tls);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
    if (!is_ip_literal(u->host)) gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, u->host, strlen(u->host));
    if (!rq->insecure_tls) gnutls_session_set_verify_cert(c->tls, u->host, 0);
    gnutls_transport_set_int(c->tls, c->fd);
    gnutls_transport_set_push_function(c->tls, wd__tls_push_nosignal);
    for (;;) {
        int r = gnutls_handshake(c->tls);
        if (r == 0) return WD_OK;
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r)) {
            wd_status st = wait_fd(c, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN, until, step_ns,
                                   "no TLS handshake");
            if (st) return st;
            continue;
        }
        if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t why = {0};
            unsigned v = gnutls_session_get_verify_cert_status(c->tls);
            char text[512] = "verification failed";
            if (gnutls_certificate_verification_status_print(v, GNUTLS_CRT_X509, &why, 0) == 0 && why.data) {
                snprintf(text, sizeof text, "%s", (const char *)why.data);
                for (size_t n = strlen(text); n && text[n - 1] == ' '; n--) text[n - 1] = 0;
                gnutls_free(why.data);
            }
            wd_status st = wd__fail(WD_ERR_IO, "%s: TLS certificate not accepted: %s", c->who, text);
            return st;
        }
        return wd__fail(WD_ERR_IO, "%s: TLS handshake failed: %s", c->who, gnutls_strerror(r));
    }
}

static void conn_close(conn *c) {
    if (c->tls) gnutls_deinit(c->tls);
    if (c->cred) gnutls_certificate_free_credentials(c->cred);
    if (c->fd >= 0) close(c->fd);
    c->tls = NULL;
    c->cred = NULL;
    c->fd = -1;
}

static int64_t idle_until(const conn *c) {
    return c->rq->idle_timeout_ns > 0 ? wd__serve_now_ns() + c->rq->idle_timeout_ns : 0;
}

/* Sends n bytes. WD_ERR_IO with the reason when the connection broke. */
static wd_status conn_write(conn *c, const char *p, size_t n) {
    int64_t idle = c->rq->idle_timeout_ns;
    while (n > 0) {
        wd_status st = check_clock(c);
        if (st) return st;
        ssize_t k;
        bool again = false;
        if (c->tls) {
            k = gnutls_record_send(c->tls, p, n);
            if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED) again = true;
            else if (k < 0)
                return wd__fail(WD_ERR_IO, "%s: connection lost while sending the request (%s)", c->who,
                                gnutls_strerror((int)k));
        } else {
            k = send(c->fd, p, n, MSG_NOSIGNAL);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) again = true;
            else if (k < 0)
                return wd__fail(WD_ERR_IO, "%s: connection lost while sending the request (%s)", c->who,
                                strerror(errno));
        }
        if (again) {
            st = wait_fd(c, POLLOUT, idle_until(c), idle, "request not taken");
            if (st) return st;
            continue;
        }
        p += k;
        n -= (size_t)k;
    }
    return WD_OK;
}

/* Reads what is there (waiting for it): *got bytes, 0 at the end. */
static wd_status conn_read(conn *c, char *buf, size_t cap, size_t *got) {
    int64_t idle = c->rq->idle_timeout_ns, until = idle_until(c);
    for (;;) {
        ssize_t k;
        if (c->tls) {
            k = gnutls_record_recv(c->tls, buf, cap);
            if (k == GNUTLS_E_PREMATURE_TERMINATION) k = 0; /* closed without close_notify: the framing decides */
            if (k < 0 && k != GNUTLS_E_AGAIN && k != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal((int)k))
                return wd__fail(WD_ERR_IO, "%s: TLS receive failed: %s", c->who, gnutls_strerror((int)k));
        } else {
            k = recv(c->fd, buf, cap, 0);
            if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return wd__fail(WD_ERR_IO, "%s: %s while reading the answer", c->who,
                                errno == ECONNRESET ? "connection reset" : strerror(errno));
        }
        if (k >= 0) {
            *got = (size_t)k;
            return WD_OK;
        }
        wd_status st = wait_fd(c, POLLIN, until, idle, c->got_bytes ? "the answer stalled: no data" : "no answer");
        if (st) return st;
    }
}

/* ==== The exchange ========================================================= */

static bool printable(const char *s, bool spaces) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f || (!spaces && *s == ' ')) return false;
    return true;
}

/* The request head and body in one buffer (malloc'd) of *len bytes. */
static char *build_request(const wd__http_request *rq, size_t *len) {
    const wd__url *u = rq->url;
    size_t cap = 1024 + strlen(rq->method) + strlen(u->prefix) + strlen(rq->path) + rq->body_len;
    for (size_t i = 0; i < rq->n_headers; i++) cap += strlen(rq->headers[i]) + 2;
    char *b = malloc(cap);
    if (!b) return NULL;
    bool v6 = strchr(u->host, ':') != NULL;
    bool dflt = !strcmp(u->port, u->tls ? "443" : "80");
    int n = snprintf(b, cap, "%s %s%s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n", rq->method, u->prefix, rq->path,
                     v6 ? "[" : "", u->host, v6 ? "]" : "", dflt ? "" : ":", dflt ? "" : u->port);
    size_t o = (size_t)n;
    bool has_body = rq->body_len > 0 || !strcmp(rq->method, "POST") || !strcmp(rq->method, "PUT") ||
                    !strcmp(rq->method, "PATCH");
    if (has_body) o += (size_t)snprintf(b + o, cap - o, "Content-Length: %zu\r\n", rq->body_len);
    o += (size_t)snprintf(b + o, cap - o, "Accept-Encoding: identity\r\nConnection: close\r\n");
    for (size_t i = 0; i < rq->n_headers; i++) o += (size_t)snprintf(b + o, cap - o, "%s\r\n", rq->headers[i]);
    o += (size_t)snprintf(b + o, cap - o, "\r\n");
    if (rq->body_len) memcpy(b + o, rq->body, rq->body_len);
    *len = o + rq->body_len;
    return b;
}

static wd_status check_request(const wd__http_request *rq) {
    if (!rq || !rq->url || !rq->method || !rq->path)
        return wd__fail(WD_ERR_INVALID_ARG, "upstream request: method, url and path are required");
    if (!rq->method[0] || strspn(rq->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(rq->method))
        return wd__fail(WD_ERR_INVALID_ARG, "upstream request: bad method '%.40s'", rq->method);
    if (rq->path[0] != '/' || !printable(rq->path, false))
        return wd__fail(WD_ERR_INVALID_ARG, "upstream request: the path must start with '/' and be printable");
    if (rq->body_len && !rq->body) return wd__fail(WD_ERR_INVALID_ARG, "upstream request: body_len without a body");
    for (size_t i = 0; i < rq->n_headers; i++)
        if (!rq->headers[i] || !strchr(rq->headers[i], ':') || !printable(rq->headers[i], true))
            return wd__fail(WD_ERR_INVALID_ARG, "upstream request: header %zu is not one 'Name: value' line", i);
    return WD_OK;
}

wd_status wd__http_send(const wd__http_request *rq, wd__http_response *resp, wd__http_body_fn on_body, void *user) {
    memset(resp, 0, sizeof *resp);
    wd_status st = check_request(rq);
    if (st) return st;
    conn c = {.rq = rq, .fd = -1, .start_ns = wd__serve_now_ns()};
    const wd__url *u = rq->url;
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(c.who, sizeof c.who, "upstream %s%s%s:%s", v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
    wd__http_framer f;
    wd__http_framer_init(&f, resp, c.who, on_body, user);
    f.max_head = rq->max_head;
    f.max_body = rq->max_body;
    f.no_body = !strcmp(rq->method, "HEAD");
    size_t req_len = 0;
    char *req = build_request(rq, &req_len);
    if (!req) return wd__fail(WD_ERR_NOMEM, "%s: out of memory for the request", c.who);

    int64_t cto = rq->connect_timeout_ns > 0 ? rq->connect_timeout_ns : DEFAULT_CONNECT_NS;
    int64_t connect_until = c.start_ns + cto;
    st = tcp_connect(&c, u, connect_until, cto);
    if (!st && u->tls) st = tls_start(&c, u, connect_until, cto);
    char send_err[WD_ERR_MSG_MAX] = "";
    wd_status send_st = WD_OK;
    if (!st) {
        send_st = conn_write(&c, req, req_len);
        if (send_st == WD_ERR_IO) snprintf(send_err, sizeof send_err, "%s", wd_last_error());
        else st = send_st; /* timeout or cancel: stop */
    }
    free(req);
    char buf[16384];
    while (!st && !wd__http_framer_done(&f)) {
        size_t got = 0;
        st = check_clock(&c); /* also while bytes keep coming */
        if (!st) st = conn_read(&c, buf, sizeof buf, &got);
        if (st) break;
        c.got_bytes |= got > 0;
        st = got ? wd__http_framer_feed(&f, buf, got) : wd__http_framer_eof(&f);
        if (!got) break;
    }
    /* the request could not be sent whole and no answer came: say so */
    if (send_st && st && !wd__http_framer_has_head(&f)) st = wd__fail(send_st, "%s", send_err);
    conn_close(&c);
    wd__http_framer_free(&f);
    return st;
}

void wd__http_response_free(wd__http_response *resp) {
    if (!resp) return;
    free(resp->content_type);
    free(resp->retry_after);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}
