/*
 * tests/unit/test_http_client.c - the gateway's upstream HTTP client
 * (serve/http_client.c, http_framing.c) and SSE parser (serve/sse.c).
 *
 * The client talks to a loopback server thread that plays a scripted
 * answer: it reads the request head (and a Content-Length body), writes the
 * script's parts one send() each (or one byte per send), then closes or
 * holds the connection open until the client closes it. Waits are on
 * conditions (a semaphore, the client's close), never fixed sleeps; the
 * timeouts under test are 100-150 ms.
 *
 * TLS runs against a small GnuTLS server thread with a fresh self-signed
 * certificate made by openssl (skipped when openssl is missing).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "testutil.h"
#include "base/err.h"
#include "serve/http_client.h"
#include "serve/serve_internal.h"

/* ==== The scripted server =================================================== */

#define WAIT_PART "\x01wait" /* a part that waits for sem `go` instead of writing */

typedef struct server {
    const char *const *parts;    /* NULL-terminated */
    bool bytewise;               /* one send() per byte */
    bool hold;                   /* after the parts, wait for the client to close */
    bool no_read;                /* close at once without reading the request */
    const char *tls_cert, *tls_key; /* serve TLS */
    int lfd, port;
    pthread_t th;
    sem_t got_request, go;
    char request[8192];
    size_t request_len;
} server;

static void read_request(server *s, int fd, gnutls_session_t tls) {
    size_t body = 0;
    const char *end = NULL;
    while (s->request_len < sizeof s->request - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (!tls && poll(&p, 1, 3000) <= 0) break;
        ssize_t k = tls ? gnutls_record_recv(tls, s->request + s->request_len, sizeof s->request - 1 - s->request_len)
                        : recv(fd, s->request + s->request_len, sizeof s->request - 1 - s->request_len, 0);
        if (k <= 0) break;
        s->request_len += (size_t)k;
        s->request[s->request_len] = 0;
        if (!end && (end = strstr(s->request, "\r\n\r\n"))) {
            const char *cl = strstr(s->request, "Content-Length: ");
            body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
        }
        if (end && s->request_len >= (size_t)(end + 4 - s->request) + body) break;
    }
    sem_post(&s->got_request);
}

/* GnuTLS's own writes use sendmsg() without MSG_NOSIGNAL. */
static ssize_t push_nosignal(gnutls_transport_ptr_t p, const void *data, size_t n) {
    return send((int)(intptr_t)p, data, n, MSG_NOSIGNAL);
}

static void *serve_one(void *arg) {
    server *s = arg;
    struct pollfd p = {.fd = s->lfd, .events = POLLIN};
    if (poll(&p, 1, 3000) <= 0) return NULL;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    gnutls_session_t tls = NULL;
    gnutls_certificate_credentials_t cred = NULL;
    if (s->tls_cert) {
        gnutls_certificate_allocate_credentials(&cred);
        gnutls_certificate_set_x509_key_file(cred, s->tls_cert, s->tls_key, GNUTLS_X509_FMT_PEM);
        gnutls_init(&tls, GNUTLS_SERVER);
        gnutls_set_default_priority(tls);
        gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, cred);
        gnutls_transport_set_int(tls, fd);
        gnutls_transport_set_push_function(tls, push_nosignal);
        gnutls_handshake_set_timeout(tls, 3000);
        int r;
        do r = gnutls_handshake(tls);
        while (r < 0 && !gnutls_error_is_fatal(r));
        if (r < 0) goto out;
    }
    if (!s->no_read) read_request(s, fd, tls);
    for (const char *const *part = s->parts; part && *part; part++) {
        if (!strcmp(*part, WAIT_PART)) {
            sem_wait(&s->go);
            continue;
        }
        size_t n = strlen(*part);
        for (size_t o = 0; o < n;) {
            size_t k = s->bytewise ? 1 : n - o;
            ssize_t w = tls ? gnutls_record_send(tls, *part + o, k) : send(fd, *part + o, k, MSG_NOSIGNAL);
            if (w <= 0) goto out;
            o += (size_t)w;
        }
    }
    if (s->hold) { /* until the client closes (or 3 s) */
        char b[256];
        for (;;) {
            p = (struct pollfd){.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 3000) <= 0 || recv(fd, b, sizeof b, 0) <= 0) break;
        }
    }
out:
    if (tls) {
        gnutls_bye(tls, GNUTLS_SHUT_WR);
        gnutls_deinit(tls);
    }
    if (cred) gnutls_certificate_free_credentials(cred);
    close(fd);
    return NULL;
}

static int listen_any(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(server *s) {
    s->lfd = listen_any(&s->port);
    assert_int_equal(listen(s->lfd, 4), 0);
    sem_init(&s->got_request, 0, 0);
    sem_init(&s->go, 0, 0);
    assert_int_equal(pthread_create(&s->th, NULL, serve_one, s), 0);
}

static void server_stop(server *s) {
    sem_post(&s->go);
    pthread_join(s->th, NULL);
    close(s->lfd);
    sem_destroy(&s->got_request);
    sem_destroy(&s->go);
}

/* ==== The client side ======================================================= */

typedef struct fetch {
    wd__url url;
    wd__http_request rq;
    wd__http_response r;
} fetch;

/* Points f at server s; request fields the test left zero get defaults. */
static void fetch_init(fetch *f, const server *s, const char *scheme) {
    char u[128];
    snprintf(u, sizeof u, "%s://127.0.0.1:%d/v1", scheme, s->port);
    assert_int_equal(wd__url_parse(u, &f->url), WD_OK);
    f->rq.url = &f->url;
    if (!f->rq.method) f->rq.method = "GET";
    if (!f->rq.path) f->rq.path = "/models";
    if (!f->rq.idle_timeout_ns) f->rq.idle_timeout_ns = 3000000000LL; /* guards against a hang only */
    if (!f->rq.deadline_ns) f->rq.deadline_ns = wd__serve_now_ns() + 5000000000LL;
}

/* Plays parts (NULL-terminated) and fetches them; returns the status. */
static wd_status play(fetch *f, server *s, const char *const *parts, wd__http_body_fn fn, void *user) {
    s->parts = parts;
    server_start(s);
    fetch_init(f, s, "http");
    wd_status st = wd__http_send(&f->rq, &f->r, fn, user);
    server_stop(s);
    return st;
}

static void expect_msg(const char *part) {
    if (!strstr(wd_last_error(), part)) fail_msg("message '%s' lacks '%s'", wd_last_error(), part);
}

static void test_content_length(void **state) {
    server s = {0};
    fetch f = {0};
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                           "Retry-After: 3\r\n\r\n{\"a\": true}", NULL};
    f.rq.method = "POST";
    f.rq.path = "/chat/completions";
    f.rq.body = "{\"x\":1}";
    f.rq.body_len = 7;
    const char *h[] = {"Authorization: Bearer k1", "X-Request-Id: r7"};
    f.rq.headers = h;
    f.rq.n_headers = 2;
    assert_int_equal(play(&f, &s, parts, NULL, NULL), WD_OK);
    assert_int_equal(f.r.status, 200);
    assert_string_equal(f.r.body, "{\"a\": true}");
    assert_int_equal(f.r.body_len, 11);
    assert_string_equal(f.r.content_type, "application/json");
    assert_string_equal(f.r.retry_after, "3");
    char want[128];
    snprintf(want, sizeof want, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", s.port);
    assert_memory_equal(s.request, want, strlen(want));
    assert_non_null(strstr(s.request, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(s.request, "\r\nAccept-Encoding: identity\r\n"));
    assert_non_null(strstr(s.request, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(s.request, "\r\nAuthorization: Bearer k1\r\nX-Request-Id: r7\r\n\r\n{\"x\":1}"));
    wd__http_response_free(&f.r);
}

static const char *chunked_parts[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                      "5;ext=1\r\nhello\r\n", "1\r\n \r\n", "00005\r\nworld\r\n",
                                      "0\r\nX-Trailer: t\r\n\r\n", NULL};

static void test_chunked(void **state) {
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        server s = {.bytewise = bytewise};
        fetch f = {0};
        assert_int_equal(play(&f, &s, chunked_parts, NULL, NULL), WD_OK);
        assert_string_equal(f.r.body, "hello world");
        wd__http_response_free(&f.r);
    }
}

static void test_to_eof_and_http10(void **state) {
    server s = {0};
    fetch f = {0};
    const char *parts[] = {"HTTP/1.0 200 OK\r\n\r\nall of it", " until the end", NULL};
    assert_int_equal(play(&f, &s, parts, NULL, NULL), WD_OK);
    assert_string_equal(f.r.body, "all of it until the end");
    assert_null(f.r.content_type);
    wd__http_response_free(&f.r);
}

typedef struct pieces {
    char got[256];
    size_t n, calls;
    server *s;
    int stop_after;  /* return false at this call (0 = never) */
} pieces;

static bool on_piece(void *user, const char *d, size_t n) {
    pieces *p = user;
    assert_true(p->n + n < sizeof p->got);
    memcpy(p->got + p->n, d, n);
    p->n += n;
    p->calls++;
    if (p->calls == 1 && p->s) sem_post(&p->s->go); /* the rest comes only after the first piece */
    return p->stop_after == 0 || (int)p->calls < p->stop_after;
}

static void test_streaming(void **state) {
    server s = {0};
    fetch f = {0};
    pieces p = {.s = &s};
    const char *parts[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
                           "6\r\ndata: \r\n", WAIT_PART, "3\r\nab\n\r\n0\r\n\r\n", NULL};
    assert_int_equal(play(&f, &s, parts, on_piece, &p), WD_OK);
    assert_int_equal(f.r.status, 200);
    assert_null(f.r.body);
    assert_string_equal(f.r.content_type, "text/event-stream");
    assert_int_equal(p.n, 9);
    assert_memory_equal(p.got, "data: ab\n", 9);
    assert_true(p.calls >= 2);
    wd__http_response_free(&f.r);

    /* the reader stops: CANCELLED */
    server s2 = {.hold = true};
    fetch f2 = {0};
    pieces p2 = {.stop_after = 1};
    const char *parts2[] = {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst", NULL};
    assert_int_equal(play(&f2, &s2, parts2, on_piece, &p2), WD_ERR_CANCELLED);
    wd__http_response_free(&f2.r);
}

static void test_interim_and_no_body(void **state) {
    server s = {0};
    fetch f = {0};
    const char *parts[] = {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
                           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", NULL};
    assert_int_equal(play(&f, &s, parts, NULL, NULL), WD_OK);
    assert_int_equal(f.r.status, 200);
    assert_string_equal(f.r.body, "ok");
    wd__http_response_free(&f.r);
    /* 204 and 304: done at the head, even with the connection held open */
    const char *codes[] = {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"};
    for (int i = 0; i < 2; i++) {
        server s2 = {.hold = true};
        fetch f2 = {0};
        const char *p2[] = {codes[i], NULL};
        assert_int_equal(play(&f2, &s2, p2, NULL, NULL), WD_OK);
        assert_int_equal(f2.r.status, i ? 304 : 204);
        assert_string_equal(f2.r.body, "");
        wd__http_response_free(&f2.r);
    }
    /* HEAD: no body whatever the Content-Length */
    server s3 = {.hold = true};
    fetch f3 = {0};
    const char *p3[] = {"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", NULL};
    f3.rq.method = "HEAD";
    assert_int_equal(play(&f3, &s3, p3, NULL, NULL), WD_OK);
    assert_int_equal(f3.r.body_len, 0);
    wd__http_response_free(&f3.r);
}

/* One bad answer: the status and a piece of the message. */
static void bad(const char *answer, wd_status want, const char *msg, size_t max_head, size_t max_body) {
    server s = {0};
    fetch f = {0};
    const char *parts[] = {answer, NULL};
    f.rq.max_head = max_head;
    f.rq.max_body = max_body;
    wd_status st = play(&f, &s, parts, NULL, NULL);
    if (st != want) fail_msg("'%.40s': status %d, want %d (%s)", answer, st, want, wd_last_error());
    expect_msg(msg);
    char who[64];
    snprintf(who, sizeof who, "upstream 127.0.0.1:%d: ", s.port);
    expect_msg(who);
    wd__http_response_free(&f.r);
}

static void test_bad_answers(void **state) {
    bad("HTTP/1.1 2x0 OK\r\n\r\n", WD_ERR_FORMAT, "bad status line", 0, 0);
    bad("\x01\xff garbage bytes\r\n\r\n", WD_ERR_FORMAT, "not an HTTP/1.x answer", 0, 0);
    bad("HTTP/2 200\r\n\r\n", WD_ERR_FORMAT, "not an HTTP/1.x answer", 0, 0);
    bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", WD_ERR_FORMAT, "bad chunk size 'zz'", 0, 0);
    bad("HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n", WD_ERR_FORMAT, "obsolete line folding", 0, 0);
    bad("HTTP/1.1 200 OK\r\nX-Long: 0123456789012345678901234567890123456789\r\n\r\n", WD_ERR_RANGE,
        "answer head over the limit of 48 bytes", 48, 0);
    bad("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789", WD_ERR_RANGE, "over the limit of 10", 0,
        10);
    bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n", WD_ERR_RANGE,
        "over the limit of 10", 0, 10);
    bad("HTTP/1.0 200 OK\r\n\r\n0123456789abc", WD_ERR_RANGE, "over the limit of 10", 0, 10);
    bad("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", WD_ERR_FORMAT, "after 5 of 10 body bytes", 0, 0);
    bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", WD_ERR_FORMAT, "inside the chunked body", 0,
        0);
    bad("", WD_ERR_FORMAT, "without answering", 0, 0);
    bad("HTTP/1.1 200 OK\r\nContent-Le", WD_ERR_FORMAT, "middle of the answer head", 0, 0);
}

/* Over IPv6 loopback (when the machine has it): the Host header in brackets. */
static void test_ipv6_host(void **state) {
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        print_message("no IPv6 loopback: skipped\n");
        skip();
    }
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(listen(fd, 1), 0);
    server s = {.lfd = fd, .port = ntohs(a.sin6_port)};
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6", NULL};
    s.parts = parts;
    sem_init(&s.got_request, 0, 0);
    sem_init(&s.go, 0, 0);
    assert_int_equal(pthread_create(&s.th, NULL, serve_one, &s), 0);
    char u[64];
    snprintf(u, sizeof u, "http://[::1]:%d", s.port);
    wd__url url;
    assert_int_equal(wd__url_parse(u, &url), WD_OK);
    wd__http_request rq = {.method = "GET", .url = &url, .path = "/x", .idle_timeout_ns = 3000000000LL};
    wd__http_response r;
    assert_int_equal(wd__http_send(&rq, &r, NULL, NULL), WD_OK);
    server_stop(&s);
    assert_string_equal(r.body, "v6");
    char want[64];
    snprintf(want, sizeof want, "\r\nHost: [::1]:%d\r\n", s.port);
    assert_non_null(strstr(s.request, want));
    wd__http_response_free(&r);
}

static void test_refused(void **state) {
    int port;
    int fd = listen_any(&port); /* bound, never listening: refused */
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d", port);
    wd__url url;
    assert_int_equal(wd__url_parse(u, &url), WD_OK);
    wd__http_request rq = {.method = "GET", .url = &url, .path = "/"};
    wd__http_response r;
    assert_int_equal(wd__http_send(&rq, &r, NULL, NULL), WD_ERR_IO);
    char want[96];
    snprintf(want, sizeof want, "upstream 127.0.0.1:%d: connection refused", port);
    assert_string_equal(wd_last_error(), want);
    wd__http_response_free(&r);
    close(fd);
}

static void test_idle_timeout(void **state) {
    server s = {.hold = true};
    fetch f = {0};
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12", NULL};
    f.rq.idle_timeout_ns = 100000000;
    int64_t t0 = wd__serve_now_ns();
    assert_int_equal(play(&f, &s, parts, NULL, NULL), WD_ERR_TIMEOUT);
    assert_true(wd__serve_now_ns() - t0 < 1000000000LL);
    expect_msg("the answer stalled: no data within 0.1 s");
    assert_int_equal(f.r.status, 200); /* filled as far as it got */
    wd__http_response_free(&f.r);
    /* nothing at all: "no answer within" */
    server s2 = {.hold = true};
    fetch f2 = {0};
    const char *none[] = {NULL};
    f2.rq.idle_timeout_ns = 100000000;
    assert_int_equal(play(&f2, &s2, none, NULL, NULL), WD_ERR_TIMEOUT);
    expect_msg("no answer within 0.1 s");
    wd__http_response_free(&f2.r);
}

static void test_deadline(void **state) {
    server s = {.hold = true};
    fetch f = {0};
    const char *parts[] = {"HTTP/1.1 200 OK\r\n", NULL};
    f.rq.idle_timeout_ns = -1; /* none */
    int64_t t0 = wd__serve_now_ns();
    f.rq.deadline_ns = t0 + 150000000;
    assert_int_equal(play(&f, &s, parts, NULL, NULL), WD_ERR_TIMEOUT);
    int64_t took = wd__serve_now_ns() - t0;
    assert_true(took >= 150000000 && took < 1000000000LL);
    expect_msg("within the deadline");
    wd__http_response_free(&f.r);
}

typedef struct canceller {
    server *s;
    volatile sig_atomic_t flag;
} canceller;

static void *cancel_later(void *arg) {
    canceller *c = arg;
    sem_wait(&c->s->got_request); /* the request is in: the client now waits for the answer */
    c->flag = 1;
    return NULL;
}

static void test_cancel(void **state) {
    server s = {.hold = true};
    fetch f = {0};
    canceller c = {.s = &s};
    const char *none[] = {NULL};
    s.parts = none;
    server_start(&s);
    fetch_init(&f, &s, "http");
    f.rq.cancel = &c.flag;
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &c);
    int64_t t0 = wd__serve_now_ns();
    assert_int_equal(wd__http_send(&f.rq, &f.r, NULL, NULL), WD_ERR_CANCELLED);
    assert_true(wd__serve_now_ns() - t0 < 1000000000LL);
    expect_msg("cancelled");
    pthread_join(th, NULL);
    server_stop(&s);
    wd__http_response_free(&f.r);
}

/* A peer that closes before reading a large body: an error, never SIGPIPE. */
static void test_peer_closes_early(void **state) {
    server s = {.no_read = true};
    fetch f = {0};
    size_t n = 8u << 20;
    char *body = malloc(n);
    memset(body, 'x', n);
    const char *none[] = {NULL};
    f.rq.method = "POST";
    f.rq.body = body;
    f.rq.body_len = n;
    wd_status st = play(&f, &s, none, NULL, NULL);
    assert_true(st == WD_ERR_IO || st == WD_ERR_FORMAT);
    free(body);
    wd__http_response_free(&f.r);
}

/* ==== TLS ==================================================================== */

static bool make_cert(char *cert, char *key, size_t n) {
    if (system("command -v openssl >/dev/null 2>&1") != 0) return false;
    char *dir = wdt_tmpdir("http_client_tls");
    snprintf(cert, n, "%s/cert.pem", dir);
    snprintf(key, n, "%s/key.pem", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    free(dir);
    return system(cmd) == 0;
}

static void test_tls(void **state) {
    char cert[512], key[512];
    if (!make_cert(cert, key, sizeof cert)) {
        print_message("openssl missing: TLS test skipped\n");
        skip();
    }
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret", NULL};
    /* verified against the certificate as CA, and without verification */
    for (int insecure = 0; insecure < 2; insecure++) {
        server s = {.tls_cert = cert, .tls_key = key};
        fetch f = {0};
        s.parts = parts;
        server_start(&s);
        fetch_init(&f, &s, "https");
        f.rq.ca_file = insecure ? NULL : cert;
        f.rq.insecure_tls = insecure;
        wd_status st = wd__http_send(&f.rq, &f.r, NULL, NULL);
        server_stop(&s);
        if (st) fail_msg("TLS: %s", wd_last_error());
        assert_string_equal(f.r.body, "secret");
        assert_non_null(strstr(s.request, "GET /v1/models HTTP/1.1\r\n"));
        wd__http_response_free(&f.r);
    }
    /* the system's trust store does not know the certificate */
    server s = {.tls_cert = cert, .tls_key = key};
    fetch f = {0};
    s.parts = parts;
    server_start(&s);
    fetch_init(&f, &s, "https");
    assert_int_equal(wd__http_send(&f.rq, &f.r, NULL, NULL), WD_ERR_IO);
    server_stop(&s);
    expect_msg("TLS certificate not accepted");
    wd__http_response_free(&f.r);
    /* a trusted certificate for another name (it names only IP 127.0.0.1) */
    server s3 = {.tls_cert = cert, .tls_key = key};
    fetch f3 = {0};
    s3.parts = parts;
    server_start(&s3);
    char u[96];
    snprintf(u, sizeof u, "https://localhost:%d", s3.port);
    assert_int_equal(wd__url_parse(u, &f3.url), WD_OK);
    f3.rq = (wd__http_request){.method = "GET", .url = &f3.url, .path = "/", .ca_file = cert,
                               .idle_timeout_ns = 3000000000LL};
    assert_int_equal(wd__http_send(&f3.rq, &f3.r, NULL, NULL), WD_ERR_IO);
    server_stop(&s3);
    expect_msg("name in the certificate does not match");
    wd__http_response_free(&f3.r);
    /* https to a plain HTTP port: a failed handshake */
    server s2 = {.no_read = true}; /* answers in plain HTTP at once */
    fetch f2 = {0};
    const char *plain[] = {"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", NULL};
    s2.parts = plain;
    server_start(&s2);
    fetch_init(&f2, &s2, "https");
    f2.rq.insecure_tls = true;
    assert_int_equal(wd__http_send(&f2.rq, &f2.r, NULL, NULL), WD_ERR_IO);
    server_stop(&s2);
    expect_msg("TLS");
    wd__http_response_free(&f2.r);
}

/* ==== URLs ==================================================================== */

static void test_url_parse(void **state) {
    wd__url u;
    assert_int_equal(wd__url_parse("http://example.com", &u), WD_OK);
    assert_false(u.tls);
    assert_string_equal(u.host, "example.com");
    assert_string_equal(u.port, "80");
    assert_string_equal(u.prefix, "");
    assert_int_equal(wd__url_parse("HTTPS://api.example.com/v1/", &u), WD_OK);
    assert_true(u.tls);
    assert_string_equal(u.port, "443");
    assert_string_equal(u.prefix, "/v1");
    assert_int_equal(wd__url_parse("http://127.0.0.1:8000/openai/v1", &u), WD_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_string_equal(u.port, "8000");
    assert_string_equal(u.prefix, "/openai/v1");
    assert_int_equal(wd__url_parse("http://[::1]:9000", &u), WD_OK);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "9000");
    assert_int_equal(wd__url_parse("https://[2001:db8::7]/", &u), WD_OK);
    assert_string_equal(u.host, "2001:db8::7");
    assert_string_equal(u.port, "443");
    assert_string_equal(u.prefix, "");
    static const struct {
        const char *url, *why;
    } bad_urls[] = {
        {"ftp://x", "scheme must be http or https"},
        {"x.com", "scheme must be http or https"},
        {"", "empty"},
        {"http://user:pw@x.com/", "user info"},
        {"http://x.com/v1?key=1", "query or fragment"},
        {"http://x.com#f", "query or fragment"},
        {"http://", "no host"},
        {"http://:80", "no host"},
        {"http://x.com:", "bad port"},
        {"http://x.com:0", "out of range"},
        {"http://x.com:65536", "out of range"},
        {"http://x.com:8a", "bad port"},
        {"http://[::1", "without ']'"},
        {"http://[zz::1]", "bad IPv6"},
        {"http://[::1]x", "junk after ']'"},
        {"http://ex ample.com", "bad character"},
        {"http://x.com/a b", "printable ASCII"},
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        if (wd__url_parse(bad_urls[i].url, &u) != WD_ERR_INVALID_ARG) fail_msg("'%s' accepted", bad_urls[i].url);
        if (!strstr(wd_last_error(), bad_urls[i].why))
            fail_msg("'%s': message '%s' lacks '%s'", bad_urls[i].url, wd_last_error(), bad_urls[i].why);
    }
    assert_int_equal(wd__url_parse(NULL, &u), WD_ERR_INVALID_ARG);
}

/* ==== The framer on memory ===================================================== */

/* Frames answer whole and byte by byte; both must agree. */
static wd_status frame(const char *answer, size_t n, wd__http_response *out) {
    wd_status st[2];
    wd__http_response r[2];
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        wd__http_framer f;
        wd__http_framer_init(&f, &r[bytewise], "upstream t:1", NULL, NULL);
        st[bytewise] = WD_OK;
        if (!bytewise) st[0] = wd__http_framer_feed(&f, answer, n);
        for (size_t i = 0; bytewise && i < n && !st[1]; i++) st[1] = wd__http_framer_feed(&f, answer + i, 1);
        if (!st[bytewise] && !wd__http_framer_done(&f)) st[bytewise] = wd__http_framer_eof(&f);
        wd__http_framer_free(&f);
    }
    assert_int_equal(st[0], st[1]);
    if (!st[0]) {
        assert_int_equal(r[0].body_len, r[1].body_len);
        assert_memory_equal(r[0].body, r[1].body, r[0].body_len);
    }
    wd__http_response_free(&r[1]);
    *out = r[0];
    return st[0];
}
#define FRAME(s, r) frame((s), sizeof(s) - 1, (r))

static void test_framer(void **state) {
    wd__http_response r;
    assert_int_equal(FRAME("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", &r), WD_OK); /* bare LF lines */
    assert_string_equal(r.body, "hi");
    wd__http_response_free(&r);
    assert_int_equal(FRAME("HTTP/1.1 200\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", &r), WD_OK);
    wd__http_response_free(&r);
    assert_int_equal(FRAME("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi", &r),
                     WD_ERR_FORMAT);
    wd__http_response_free(&r);
    static const char *const bad_heads[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nContent-Length: 2 2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\x01z\r\n\r\n",
        "HTTP/1.1 200 OK\rX: y\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 600 High\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
    };
    for (size_t i = 0; i < sizeof bad_heads / sizeof bad_heads[0]; i++) {
        wd_status st = frame(bad_heads[i], strlen(bad_heads[i]), &r);
        if (st != WD_ERR_FORMAT) fail_msg("bad head %zu accepted (%d)", i, st);
        wd__http_response_free(&r);
    }
    /* nine interim answers are too many */
    char many[512] = "";
    for (int i = 0; i < 9; i++) strcat(many, "HTTP/1.1 100 Continue\r\n\r\n");
    strcat(many, "HTTP/1.1 200 OK\r\n\r\n");
    assert_int_equal(frame(many, strlen(many), &r), WD_ERR_FORMAT);
    wd__http_response_free(&r);
    /* chunk size with BWS before an extension; trailers; bytes after the end ignored */
    assert_int_equal(FRAME("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3 ;a=b\r\nabc\r\n0\r\nT: 1\r\nU: 2\r\n"
                           "\r\nEXTRA",
                           &r),
                     WD_OK);
    assert_string_equal(r.body, "abc");
    wd__http_response_free(&r);
}

/* ==== Server-sent events ======================================================== */

typedef struct events {
    char log[1024];
    int n, stop_at;
} events;

static bool on_event(void *user, const char *event, const char *data, size_t n) {
    events *e = user;
    assert_int_equal(strlen(data), n);
    size_t o = strlen(e->log);
    snprintf(e->log + o, sizeof e->log - o, "[%s|%s]", event, data);
    e->n++;
    return e->n != e->stop_at;
}

/* Feeds text split at every position (two feeds) and byte by byte; all
 * must give want. */
static void sse_expect(const char *text, const char *want) {
    size_t n = strlen(text);
    for (size_t cut = 0; cut <= n + 1; cut++) {
        events e = {0};
        wd__sse s;
        wd__sse_init(&s, on_event, &e);
        if (cut <= n) {
            assert_int_equal(wd__sse_feed(&s, text, cut), WD_OK);
            assert_int_equal(wd__sse_feed(&s, text + cut, n - cut), WD_OK);
        } else {
            for (size_t i = 0; i < n; i++) assert_int_equal(wd__sse_feed(&s, text + i, 1), WD_OK);
        }
        wd__sse_free(&s);
        if (strcmp(e.log, want)) fail_msg("cut %zu of '%s': got '%s', want '%s'", cut, text, e.log, want);
    }
}

static void test_sse(void **state) {
    sse_expect("data: hello\n\n", "[|hello]");
    sse_expect("data:hello\r\n\r\ndata:  two spaces\r\r", "[|hello][| two spaces]");
    sse_expect("data: a\ndata: b\n\n", "[|a\nb]");
    sse_expect(": comment\nevent: delta\ndata: {\"x\":1}\nid: 7\nretry: 10\nfoo: bar\n\n", "[delta|{\"x\":1}]");
    sse_expect("event: ping\n\ndata: after\n\n", "[|after]");  /* no data: nothing, name reset */
    sse_expect("data\n\n", "[|]");                                 /* a field with no colon */
    sse_expect("data:\n\n", "[|]");
    sse_expect("data: x\n\ndata: unterminated\n", "[|x]");        /* the last one dropped */
    sse_expect("\xEF\xBB\xBF" "data: bom\n\n", "[|bom]");
    sse_expect("\xEF\xBB" "data: x\n\n", "");                    /* not a BOM: the line is "\xEF\xBBdata" */
    sse_expect("data: [DONE]\r\n\r\n", "[|[DONE]]");
    /* max_event */
    wd__sse s;
    events e = {0};
    wd__sse_init(&s, on_event, &e);
    s.max_event = 8;
    assert_int_equal(wd__sse_feed(&s, "data: 12345678\n\n", 16), WD_OK);
    assert_int_equal(wd__sse_feed(&s, "data: 1234\ndata: 5678\n\n", 23), WD_ERR_RANGE);
    expect_msg("over 8 bytes");
    wd__sse_free(&s);
    wd__sse_init(&s, on_event, &e);
    s.max_event = 8;
    char longline[200];
    memset(longline, 'a', sizeof longline);
    assert_int_equal(wd__sse_feed(&s, longline, sizeof longline), WD_ERR_RANGE);
    wd__sse_free(&s);
    /* the reader stops */
    events e2 = {.stop_at = 1};
    wd__sse_init(&s, on_event, &e2);
    assert_int_equal(wd__sse_feed(&s, "data: 1\n\ndata: 2\n\n", 18), WD_ERR_CANCELLED);
    assert_int_equal(e2.n, 1);
    wd__sse_free(&s);
}

int main(void) {
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: the client must not raise one */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_framer),
        cmocka_unit_test(test_sse),
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_to_eof_and_http10),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_interim_and_no_body),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_ipv6_host),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_peer_closes_early),
        cmocka_unit_test(test_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
