/*
 * bench/gateway.c - the chat gateway's benchmark tools: a fast fake
 * upstream and a keep-alive latency client (bench/gateway-latency.sh and
 * bench/gateway-soak.sh drive them).
 *
 *   bench_gateway fake
 *       serves a fixed OpenAI answer on a free loopback port until SIGTERM
 *       and prints "listening on http://127.0.0.1:PORT/" on stderr:
 *         POST .../chat/completions   a "chat.completion" (or, with
 *                                     "stream": true, six SSE chunks + [DONE])
 *         POST .../completions        a "text_completion"
 *         GET  .../models             a one-model list
 *       One thread, epoll, keep-alive (a request with "Connection: close"
 *       is answered and closed), answers framed by Content-Length. Its cost
 *       per request is a few microseconds, so the measurement is the
 *       gateway's, not the fake's.
 *
 *   bench_gateway latency N LABEL=URL [LABEL=URL ...]
 *       N rounds (after N/10 unmeasured ones); each round sends the same
 *       chat request (a harmless question, about 100 characters) to every
 *       URL in turn, so that all targets see the same machine load. Each
 *       URL has one keep-alive connection; a URL written "fresh+http://..."
 *       opens a new connection per request instead (what the gateway does
 *       towards its upstream). Prints p50, p99 and mean latency per target
 *       in microseconds, then each target's p50 and p99 minus the first
 *       target's, and the ratio of the p50s. Exit 1 when any request was
 *       not answered 200.
 *
 * Written for this benchmark; no HTTP library, so that neither side's cost
 * hides in a dependency.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchutil.h"

/* ==== The fake upstream ===================================================== */

static const char chat_answer[] =
    "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"fake\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"Birds in flight on a cloudy afternoon need about 1/2000 s; raise the ISO "
    "rather than open the shutter longer.\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":26,\"total_tokens\":50}}";

static const char text_answer[] =
    "{\"id\":\"cmpl-fake\",\"object\":\"text_completion\",\"created\":1700000000,"
    "\"model\":\"fake\",\"choices\":[{\"index\":0,\"text\":\" there was a quiet village by "
    "the sea.\",\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9,\"total_tokens\":13}}";

static const char models_answer[] =
    "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":\"model\",\"created\":1700000000,"
    "\"owned_by\":\"bench\"}]}";

#define CHUNK(delta, finish)                                                                     \
    "data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000," \
    "\"model\":\"fake\",\"choices\":[{\"index\":0,\"delta\":" delta ",\"logprobs\":null,"         \
    "\"finish_reason\":" finish "}]}\n\n"
static const char stream_answer[] =
    CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
    CHUNK("{\"content\":\"Birds in flight \"}", "null")
    CHUNK("{\"content\":\"need about 1/2000 s; \"}", "null")
    CHUNK("{\"content\":\"raise the ISO rather \"}", "null")
    CHUNK("{\"content\":\"than slow the shutter.\"}", "null")
    CHUNK("{}", "\"stop\"")
    "data: [DONE]\n\n";

typedef struct conn {
    int fd;
    char *in;
    size_t in_n, in_cap;
    char *out;
    size_t out_n, out_off, out_cap;
    bool closing;
} conn;

static volatile sig_atomic_t stop_fake;
static unsigned long long n_answered;
static void on_term(int sig) { (void)sig; stop_fake = 1; }

static void conn_free(int ep, conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static bool out_add(conn *c, const char *p, size_t n) {
    if (c->out_n + n > c->out_cap) {
        size_t cap = (c->out_n + n) * 2;
        char *o = realloc(c->out, cap);
        if (!o) return false;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_n, p, n);
    c->out_n += n;
    return true;
}

/* The value of header name in the head [h, end), or NULL. */
static const char *header(const char *h, const char *end, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = h; p && p < end; p = memchr(p, '\n', (size_t)(end - p)), p = p ? p + 1 : NULL) {
        if ((size_t)(end - p) > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ') p++;
            return p;
        }
    }
    return NULL;
}

/* Answers every complete request in c->in; false on a malformed one. */
static bool serve_requests(conn *c) {
    for (;;) {
        char *end = c->in_n >= 4 ? memmem(c->in, c->in_n, "\r\n\r\n", 4) : NULL;
        if (!end) return c->in_n < (1 << 16);
        size_t head = (size_t)(end - c->in) + 4;
        const char *cl = header(c->in, end, "content-length");
        size_t body = cl ? strtoul(cl, NULL, 10) : 0;
        if (body > (1 << 20)) return false;
        if (c->in_n < head + body) return true; /* the body is still coming */
        const char *conn_h = header(c->in, end, "connection");
        if (conn_h && !strncasecmp(conn_h, "close", 5)) c->closing = true;
        const char *line_end = memchr(c->in, '\r', head);
        const char *path = memchr(c->in, ' ', head);
        size_t path_n = path && line_end ? (size_t)(line_end - path) : 0;
        const char *a = chat_answer, *type = "application/json";
        if (path_n && memmem(path, path_n, "/models", 7)) {
            a = models_answer;
        } else if (path_n && memmem(path, path_n, "/v1/completions", 15)) {
            a = text_answer;
        } else {
            const char *b = c->in + head;
            for (const char *s = b; body && (s = memmem(s, body - (size_t)(s - b), "\"stream\"", 8)); s += 8) {
                const char *v = s + 8;
                while (v < b + body && (*v == ' ' || *v == ':')) v++;
                if (b + body - v >= 4 && !memcmp(v, "true", 4)) {
                    a = stream_answer;
                    type = "text/event-stream";
                }
            }
        }
        char hdr[256];
        int hn = snprintf(hdr, sizeof hdr,
                          "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", type,
                          strlen(a), c->closing ? "Connection: close\r\n" : "");
        if (!out_add(c, hdr, (size_t)hn) || !out_add(c, a, strlen(a))) return false;
        n_answered++;
        memmove(c->in, c->in + head + body, c->in_n - head - body);
        c->in_n -= head + body;
        if (c->closing) return true;
    }
}

/* Writes what is queued; false when the connection is done or broken. */
static bool flush_out(int ep, conn *c) {
    while (c->out_off < c->out_n) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_n - c->out_off);
        if (w < 0 && errno == EAGAIN) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return true;
        }
        if (w <= 0) return false;
        c->out_off += (size_t)w;
    }
    c->out_n = c->out_off = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return !c->closing;
}

static int run_fake(void) {
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("bench_gateway fake: listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    fprintf(stderr, "bench_gateway fake: listening on http://127.0.0.1:%d/\n", ntohs(sa.sin_port));
    struct epoll_event evs[256];
    while (!stop_fake) {
        int n = epoll_wait(ep, evs, 256, 200);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) { /* new connections */
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            bool ok = true;
            if (evs[i].events & EPOLLIN) {
                for (;;) {
                    if (c->in_cap - c->in_n < 4096) {
                        size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
                        char *p = realloc(c->in, cap);
                        if (!p) {
                            ok = false;
                            break;
                        }
                        c->in = p;
                        c->in_cap = cap;
                    }
                    ssize_t r = read(c->fd, c->in + c->in_n, c->in_cap - c->in_n);
                    if (r < 0 && errno == EAGAIN) break;
                    if (r <= 0) {
                        ok = false;
                        break;
                    }
                    c->in_n += (size_t)r;
                }
                if (ok) ok = serve_requests(c);
            }
            if (ok && c->out_n) ok = flush_out(ep, c);
            else if (ok && c->closing) ok = false;
            if (!ok) conn_free(ep, c);
        }
    }
    fprintf(stderr, "bench_gateway fake: stopped after %llu answers\n", n_answered);
    return 0;
}

/* ==== The latency client ===================================================== */

static const char chat_request[] =
    "{\"model\":\"fake\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful "
    "photography teacher.\"},{\"role\":\"user\",\"content\":\"What shutter speed should I use to "
    "photograph birds in flight on a cloudy afternoon near the lake?\"}],\"max_tokens\":64}";

typedef struct target {
    const char *label;
    char host[64];
    int port;
    char path[256];
    bool fresh;                 /* a new connection per request */
    int fd;
    double *lat;                /* seconds, one per measured request */
    size_t n_lat;
    long errors, reconnects;
} target;

static bool parse_target(const char *arg, target *t) {
    const char *eq = strchr(arg, '=');
    if (!eq) return false;
    t->label = strndup(arg, (size_t)(eq - arg));
    const char *u = eq + 1;
    if (!strncmp(u, "fresh+", 6)) {
        t->fresh = true;
        u += 6;
    }
    if (strncmp(u, "http://", 7)) return false;
    u += 7;
    const char *colon = strchr(u, ':'), *slash = strchr(u, '/');
    if (!colon || !slash || colon > slash || (size_t)(colon - u) >= sizeof t->host) return false;
    memcpy(t->host, u, (size_t)(colon - u));
    t->port = atoi(colon + 1);
    snprintf(t->path, sizeof t->path, "%s", slash);
    t->fd = -1;
    return t->port > 0;
}

static int dial(const target *t) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port)};
    inet_pton(AF_INET, t->host, &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Reads one answer on fd: its status, or -1 when the connection broke
 * before any byte (the caller reconnects), -2 on a broken answer. *close_
 * is set when the server will close the connection. */
static int read_answer(int fd, bool *close_) {
    static char buf[1 << 16];
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        if (n == sizeof buf) return -2;
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r <= 0) return n ? -2 : -1;
        n += (size_t)r;
        end = memmem(buf, n, "\r\n\r\n", 4);
    }
    int status = n > 12 ? atoi(buf + 9) : 0;
    const char *cl = header(buf, end, "content-length");
    const char *te = header(buf, end, "transfer-encoding");
    const char *ch = header(buf, end, "connection");
    *close_ = ch && !strncasecmp(ch, "close", 5);
    size_t have = n - (size_t)(end + 4 - buf);
    if (cl) {
        size_t want = strtoul(cl, NULL, 10);
        while (have < want) {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) return -2;
            have += (size_t)r;
        }
    } else if (te && !strncasecmp(te, "chunked", 7)) {
        /* the last chunk "0\r\n\r\n" ends the answer (bodies here hold no such bytes) */
        memmove(buf, end + 4, have);
        n = have;
        while (n < 5 || memcmp(buf + n - 5, "0\r\n\r\n", 5)) {
            if (n == sizeof buf) {
                memmove(buf, buf + n - 8, 8);
                n = 8;
            }
            ssize_t r = read(fd, buf + n, sizeof buf - n);
            if (r <= 0) return -2;
            n += (size_t)r;
        }
    } else {
        *close_ = true;
        while (read(fd, buf, sizeof buf) > 0) {}
    }
    return status;
}

/* One request to t; records its latency when measure. */
static void one_request(target *t, const char *req, size_t req_n, bool measure) {
    for (int attempt = 0; attempt < 2; attempt++) {
        if (t->fd < 0 && (t->fd = dial(t)) < 0) {
            t->errors++;
            return;
        }
        double t0 = wdb_now();
        bool close_ = false;
        int status = write(t->fd, req, req_n) == (ssize_t)req_n ? read_answer(t->fd, &close_) : -1;
        double dt = wdb_now() - t0;
        if (status == -1 && attempt == 0 && !t->fresh) { /* the server closed an idle connection */
            close(t->fd);
            t->fd = -1;
            t->reconnects++;
            continue;
        }
        if (status != 200) t->errors++;
        else if (measure) t->lat[t->n_lat++] = dt;
        if (close_ || t->fresh || status < 0) {
            close(t->fd);
            t->fd = -1;
        }
        return;
    }
}

static int run_latency(int argc, char **argv) {
    long n = argc > 0 ? atol(argv[0]) : 0;
    int nt = argc - 1;
    if (n <= 0 || nt < 1) {
        fprintf(stderr, "usage: bench_gateway latency N LABEL=URL [LABEL=URL ...]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    target *ts = calloc((size_t)nt, sizeof *ts);
    char (*reqs)[1024] = calloc((size_t)nt, sizeof *reqs);
    size_t *req_n = calloc((size_t)nt, sizeof *req_n);
    for (int i = 0; i < nt; i++) {
        if (!parse_target(argv[1 + i], &ts[i])) {
            fprintf(stderr, "bench_gateway latency: '%s': expected LABEL=[fresh+]http://HOST:PORT/PATH\n",
                    argv[1 + i]);
            return 2;
        }
        ts[i].lat = calloc((size_t)n, sizeof *ts[i].lat);
        req_n[i] = (size_t)snprintf(reqs[i], sizeof reqs[i],
                                    "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                                    "Content-Length: %zu\r\n%s\r\n%s",
                                    ts[i].path, ts[i].host, ts[i].port, strlen(chat_request),
                                    ts[i].fresh ? "Connection: close\r\n" : "", chat_request);
    }
    long warm = n / 10 < 20 ? 20 : n / 10;
    for (long r = 0; r < warm + n; r++)
        for (int i = 0; i < nt; i++) one_request(&ts[i], reqs[i], req_n[i], r >= warm);
    printf("%-28s %9s %9s %9s %7s\n", "target", "p50 us", "p99 us", "mean us", "errors");
    double p50[64] = {0}, p99[64] = {0};
    int bad = 0;
    for (int i = 0; i < nt && i < 64; i++) {
        target *t = &ts[i];
        double sum = 0;
        for (size_t k = 0; k < t->n_lat; k++) sum += t->lat[k];
        double mean = t->n_lat ? sum / (double)t->n_lat : 0;
        p50[i] = t->n_lat ? wdb_percentile(t->lat, t->n_lat, 50) : 0;
        p99[i] = t->n_lat ? wdb_percentile(t->lat, t->n_lat, 99) : 0;
        printf("%-28s %9.1f %9.1f %9.1f %7ld\n", t->label, p50[i] * 1e6, p99[i] * 1e6, mean * 1e6,
               t->errors);
        if (t->errors) bad = 1;
        if (t->fd >= 0) close(t->fd);
    }
    for (int i = 1; i < nt && i < 64; i++)
        printf("%s vs %s: %+.1f us p50, %+.1f us p99, p50 ratio %.2f\n", ts[i].label, ts[0].label,
               (p50[i] - p50[0]) * 1e6, (p99[i] - p99[0]) * 1e6, p50[0] > 0 ? p50[i] / p50[0] : 0);
    printf("requests per target: %ld measured (after %ld to warm up)\n", n, warm);
    return bad;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "fake")) return run_fake();
    if (argc >= 2 && !strcmp(argv[1], "latency")) return run_latency(argc - 2, argv + 2);
    fprintf(stderr, "usage: bench_gateway fake\n"
                    "       bench_gateway latency N LABEL=[fresh+]http://HOST:PORT/PATH ...\n");
    return 2;
}
