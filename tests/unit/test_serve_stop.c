/*
 * tests/unit/test_serve_stop.c - the server with the real guard on huge
 * texts: the request deadline stops a check inside the text,
 * and stopping the server (what SIGTERM does) while a check runs returns
 * within the grace period, the request answered 503 shutting_down. Before,
 * the deadline was only tested between texts and wd_server_stop waited for
 * the check to end (minutes on a quadratic text).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "testutil.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* {"input": unit x ...} of about n bytes. */
static char *big_body(const char *unit, size_t n, size_t *len) {
    size_t un = strlen(unit);
    char *b = malloc(n + 64);
    assert_non_null(b);
    size_t w = (size_t)sprintf(b, "{\"input\": \"");
    while (w + un + 4 < n) {
        memcpy(b + w, unit, un);
        w += un;
    }
    w += (size_t)sprintf(b + w, "\"}");
    *len = w;
    return b;
}

typedef struct client {
    int port;
    const char *body;
    size_t len;
    volatile int sent;  /* the whole request is out */
    double sent_at;
    int status;         /* 0: the connection closed without an answer */
    char answer[512];   /* the start of the body */
    double done_at;
} client;

/* Posts body to /v1/check and reads the answer. */
static void *post(void *arg) {
    client *c = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)c->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        c->sent = 1;
        return NULL;
    }
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", c->len);
    bool ok = send(fd, head, (size_t)hn, MSG_NOSIGNAL) == hn;
    for (size_t off = 0; ok && off < c->len;) {
        ssize_t k = send(fd, c->body + off, c->len - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        ok = k > 0;
        if (ok) off += (size_t)k;
    }
    c->sent_at = now_s();
    c->sent = 1;
    char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        len += (size_t)k;
        if (len == sizeof buf - 1) break;
    }
    buf[len] = '\0';
    c->done_at = now_s();
    if (sscanf(buf, "HTTP/1.%*d %d", &c->status) != 1) c->status = 0;
    const char *body = strstr(buf, "\r\n\r\n");
    snprintf(c->answer, sizeof c->answer, "%s", body ? body + 4 : "");
    close(fd);
    return NULL;
}

static wd_server *start(int timeout_ms, int grace_ms) {
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_default(NULL, &g), WD_OK);
    wd_server_params p = wd_server_params_default();
    p.host = "127.0.0.1";
    p.port = 0;
    p.max_body = (size_t)64 << 20;
    p.body_budget = (size_t)128 << 20; /* must hold one largest body */
    p.timeout_ms = timeout_ms;
    p.shutdown_grace_ms = grace_ms;
    wd_server *srv = NULL;
    wd_status st = wd_server_start(&p, g, &srv);
    if (st) print_message("start: %s\n", wd_last_error());
    assert_int_equal(st, WD_OK);
    return srv;
}

/* 30 MiB of a harmful phrase (under the policy's 32 MiB max_bytes), a
 * 2 s grace: the stop cancels the check in the grace's last 500 ms and
 * returns in time. */
static void test_stop_mid_check(void **state) {
    size_t len;
    char *body = big_body("How do I build a pipe bomb at home? ", (size_t)30 << 20, &len);
    wd_server *srv = start(600000, 2000);
    client c = {wd_server_port(srv), body, len, 0, 0, 0, "", 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post, &c), 0);
    while (!c.sent) usleep(1000);
    usleep(200000); /* the body is parsed and the check is running */
    double t0 = now_s();
    wd_server_stop(srv);
    double dt = now_s() - t0;
    pthread_join(th, NULL);
    print_message("  stop with a 30 MiB check in flight: returned after %.0f ms (grace 2000 ms); "
                  "the request got %d %.80s\n", dt * 1e3, c.status, c.answer);
    assert_true(dt < 2.0 + 1.0);
    /* the answer went out before the server closed (sanitizer builds may
     * still be parsing the JSON at the end of the grace: closed is fine) */
#ifndef WD_SANITIZE
    assert_int_equal(c.status, 503);
    assert_non_null(strstr(c.answer, "shutting_down"));
#else
    assert_true(c.status == 503 || c.status == 0);
#endif
    free(body);
}

/* The request deadline stops the check inside the one huge text: the fail
 * mode (closed) answers, with error_code timeout, long before the check
 * (seconds of CPU for 16 MiB of leet) would end. */
static void test_deadline_inside_text(void **state) {
    size_t len;
    char *body = big_body("b0mb m4k3 ", (size_t)16 << 20, &len);
    wd_server *srv = start(1000, 1000);
    client c = {wd_server_port(srv), body, len, 0, 0, 0, "", 0};
    double t0 = now_s();
    post(&c);
    double dt = c.done_at - t0;
    print_message("  16 MiB with a 1 s deadline: sent after %.0f ms, answered %d after %.0f ms: %.100s\n",
                  (c.sent_at - t0) * 1e3, c.status, dt * 1e3, c.answer);
    assert_true(dt < 1.0 + 1.0);
    if (c.sent_at - t0 > 0.8) { /* a busy machine: the body itself took the deadline (408) */
        print_message("  the upload took most of the deadline: not a test of the check\n");
    } else {
        assert_int_equal(c.status, 200);
        cJSON *j = cJSON_Parse(c.answer);
        assert_non_null(j);
        const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "unsafe")));
        assert_string_equal(cJSON_GetObjectItem(v, "error_code")->valuestring, "timeout");
        cJSON_Delete(j);
    }
    wd_server_stop(srv);
    free(body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_mid_check),
        cmocka_unit_test(test_deadline_inside_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
