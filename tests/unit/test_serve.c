/*
 * tests/unit/test_serve.c - `warden serve` over real sockets on 127.0.0.1.
 *
 * Each test starts a server in-process on an ephemeral loopback port and
 * talks to it with the small HTTP/1.1 client below (no curl). Most tests
 * use a scripted backend whose verdicts are known in advance, so the
 * expectations (OpenAI category mapping, fail modes, timeouts, metrics
 * counts) are independent of any real guard:
 *
 *   text contains "kill"   -> S1 score 0.9, flagged
 *   text contains "hate"   -> S10 score 0.8, flagged
 *   text contains "FAIL"   -> the check fails (guard error)
 *   text contains "SLOW"   -> the check runs until the request deadline
 *   text contains "NAP"    -> the check sleeps 300 ms, then answers
 *   anything else          -> all scores 0.01, allowed
 *
 * Its "policy files" hold one word: "open" or "closed" (the fail mode);
 * anything else is a broken policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "base/err.h"
#include "serve/serve_internal.h"

/* ==== The scripted backend ================================================ */

typedef struct fake_guard {
    bool fail_open;
    int generation;
} fake_guard;

static _Atomic int fake_live;       /* guards alive: checks the refcounting */
static _Atomic int fake_generation;

static wd_status fake_load(const char *path, const wd_server_params *sp, void **out) {
    (void)sp;
    *out = NULL;
    bool open_ = false;
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) return wd__fail(WD_ERR_IO, "%s: cannot open", path);
        char word[64] = {0};
        int ok = fscanf(f, "%63s", word);
        fclose(f);
        if (ok != 1 || (strcmp(word, "open") && strcmp(word, "closed")))
            return wd__fail(WD_ERR_FORMAT, "%s: line 1: expected 'open' or 'closed'", path);
        open_ = !strcmp(word, "open");
    }
    fake_guard *g = calloc(1, sizeof *g);
    if (!g) return WD_ERR_NOMEM;
    g->fail_open = open_;
    g->generation = atomic_fetch_add(&fake_generation, 1) + 1;
    atomic_fetch_add(&fake_live, 1);
    *out = g;
    return WD_OK;
}

static void fake_free(void *g) {
    if (!g) return;
    atomic_fetch_sub(&fake_live, 1);
    free(g);
}

static bool fake_fail_open(const void *g) { return ((const fake_guard *)g)->fail_open; }

static bool has(const char *s, size_t n, const char *w) { return memmem(s, n, w, strlen(w)) != NULL; }

static wd_status fake_check(void *guard, const char *const *texts, const size_t *lens, size_t n,
                            wd__serve_role role, bool redact, int64_t deadline_ns,
                            const volatile sig_atomic_t *cancel, wd__serve_result *out) {
    fake_guard *g = guard;
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i];
        size_t len = lens[i];
        if (has(t, len, "FAIL")) {
            for (size_t j = 0; j < i; j++) free(out[j].json);
            return wd__fail(WD_ERR_INTERNAL, "scripted failure");
        }
        if (has(t, len, "SLOW")) {
            while (wd__serve_now_ns() < deadline_ns) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            for (size_t j = 0; j < i; j++) free(out[j].json);
            return wd__fail(WD_ERR_TIMEOUT, "check passed the request deadline");
        }
        if (has(t, len, "NAP")) {
            struct timespec ts = {0, 300000000};
            nanosleep(&ts, NULL);
        }
        wd__serve_result *r = &out[i];
        memset(r, 0, sizeof *r);
        for (int c = 0; c < WD_CATEGORY_COUNT; c++) r->score[c] = 0.01f;
        if (has(t, len, "kill")) r->score[WD_CATEGORY_S1] = 0.9f, r->flagged |= WD_CATMASK(WD_CATEGORY_S1);
        if (has(t, len, "hate")) r->score[WD_CATEGORY_S10] = 0.8f, r->flagged |= WD_CATMASK(WD_CATEGORY_S10);
        if (has(t, len, "card")) r->score[WD_CATEGORY_PII] = 0.95f, r->flagged |= WD_CATMASK(WD_CATEGORY_PII);
        r->unsafe = r->flagged != 0;
        char buf[160];
        snprintf(buf, sizeof buf, "{\"unsafe\":%s,\"role\":\"%s\",\"len\":%zu,\"gen\":%d,\"redact\":%s}",
                 r->unsafe ? "true" : "false", role == WD__ROLE_OUTPUT ? "output" : "input", len,
                 g->generation, redact ? "true" : "false");
        r->json = strdup(buf);
    }
    return WD_OK;
}

/* A conversation's turns: the scripted verdict of each turn's text, its
 * JSON also saying which message it judged and how many came before. */
static wd_status fake_check_turns(void *guard, const wd_chat_message *msgs, size_t n, const size_t *turns,
                                  size_t n_turns, wd__serve_role role, bool redact, int64_t deadline_ns,
                                  const volatile sig_atomic_t *cancel, wd__serve_result *out) {
    (void)n;
    const char **texts = calloc(n_turns ? n_turns : 1, sizeof *texts);
    size_t *lens = calloc(n_turns ? n_turns : 1, sizeof *lens);
    for (size_t k = 0; k < n_turns; k++) {
        texts[k] = msgs[turns[k]].content;
        lens[k] = strlen(texts[k]);
    }
    wd_status st = fake_check(guard, texts, lens, n_turns, role, redact, deadline_ns, cancel, out);
    for (size_t k = 0; !st && k < n_turns; k++) {
        char *j = out[k].json, buf[64];
        size_t l = strlen(j);
        snprintf(buf, sizeof buf, ",\"message_index\":%zu}", turns[k]);
        out[k].json = malloc(l + strlen(buf));
        memcpy(out[k].json, j, l - 1);
        strcpy(out[k].json + l - 1, buf);
        free(j);
    }
    free(texts);
    free(lens);
    return st;
}

static const wd__serve_backend fake_backend = {
    "scripted", fake_load, fake_free, fake_fail_open, fake_check, NULL, NULL, fake_check_turns,
};

/* ==== A tiny HTTP client ================================================== */

typedef struct resp {
    int status;
    char *head; /* status line + headers */
    char *body;
    size_t body_len;
    cJSON *json; /* body parsed, when it is JSON */
} resp;

static void resp_free(resp *r) {
    free(r->head);
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static bool send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Reads one answer (the server closes or Content-Length says where it
 * ends). Returns false when the connection closed before any status line. */
static bool read_resp(int fd, resp *r) {
    memset(r, 0, sizeof *r);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    long want = -1;
    size_t head_end = 0;
    for (;;) {
        if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        len += (size_t)k;
        buf[len] = 0;
        if (!head_end) {
            char *e = strstr(buf, "\r\n\r\n");
            if (e) {
                head_end = (size_t)(e - buf) + 4;
                char *cl = strcasestr(buf, "\r\nContent-Length:");
                if (cl && cl < e) want = strtol(cl + 17, NULL, 10);
            }
        }
        if (head_end && want >= 0 && len >= head_end + (size_t)want) break;
    }
    buf[len] = 0;
    if (!head_end || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        return false;
    }
    r->head = strndup(buf, head_end);
    r->body_len = len - head_end;
    r->body = strndup(buf + head_end, r->body_len);
    r->json = cJSON_Parse(r->body);
    free(buf);
    return true;
}

/* A connection whose first request has been answered 200 and kept alive:
 * what is sent next is a second request. */
static int connect_kept_alive(int port) {
    int fd = connect_to(port);
    const char *first = "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"input\":\"a\"}";
    assert_true(send_all(fd, first, strlen(first)));
    resp r;
    assert_true(read_resp(fd, &r));
    assert_int_equal(r.status, 200);
    resp_free(&r);
    return fd;
}

/* One request on a fresh connection ("Connection: close"). */
static void http(int port, const char *method, const char *path, const char *body,
                 const char *extra_headers, resp *r) {
    int fd = connect_to(port);
    char head[1024];
    size_t blen = body ? strlen(body) : 0;
    snprintf(head, sizeof head,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s"
             "Content-Length: %zu\r\n\r\n",
             method, path, extra_headers ? extra_headers : "",
             body ? "Content-Type: application/json\r\n" : "", blen);
    assert_true(send_all(fd, head, strlen(head)));
    if (blen) assert_true(send_all(fd, body, blen));
    assert_true(read_resp(fd, r));
    close(fd);
}

static void post(int port, const char *path, const char *body, resp *r) {
    http(port, "POST", path, body, NULL, r);
}

static const char *err_code(const resp *r) {
    const cJSON *e = cJSON_GetObjectItem(r->json, "error");
    const cJSON *c = cJSON_GetObjectItem(e, "code");
    return cJSON_IsString(c) ? c->valuestring : "";
}

/* Reads the answer on fd: a 408 request_timeout that came between lo and
 * hi seconds after t0 (wd__serve_now_ns seconds); closes fd. */
static void expect_408(int fd, double t0, double lo, double hi) {
    resp r;
    assert_true(read_resp(fd, &r));
    double dt = (double)wd__serve_now_ns() * 1e-9 - t0;
    assert_int_equal(r.status, 408);
    assert_string_equal(err_code(&r), "request_timeout");
    resp_free(&r);
    close(fd);
    assert_true(dt >= lo && dt < hi);
}

static const char *err_param(const resp *r) {
    const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "param");
    return cJSON_IsString(p) ? p->valuestring : "";
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ==== Fixtures ============================================================ */

static wd_server *start(wd_server_params *p) {
    p->host = "127.0.0.1";
    p->port = 0;
    wd_server *srv = NULL;
    wd_status st = wd__server_start_backend(p, &fake_backend, NULL, &srv);
    if (st) print_message("start: %s\n", wd_last_error());
    assert_int_equal(st, WD_OK);
    assert_true(wd_server_port(srv) > 0);
    return srv;
}

static wd_server *start_default(void) {
    wd_server_params p = wd_server_params_default();
    return start(&p);
}

static char *write_policy(const char *name, const char *text) {
    char *dir = wdt_tmpdir(name);
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    wdt_write_file(path, text, strlen(text));
    free(dir);
    return path;
}

/* ==== Tests =============================================================== */

static void test_health_ready(void **state) {
    wd_server *srv = start_default();
    int port = wd_server_port(srv);
    resp r;
    http(port, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(cJSON_GetObjectItem(r.json, "status")->valuestring, "ok");
    resp_free(&r);
    http(port, "GET", "/readyz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(cJSON_GetObjectItem(r.json, "status")->valuestring, "ready");
    assert_string_equal(cJSON_GetObjectItem(r.json, "fail_mode")->valuestring, "closed");
    resp_free(&r);
    http(port, "GET", "/nope", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(err_code(&r), "not_found");
    resp_free(&r);
    http(port, "GET", "/v1/moderations", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strcasestr(r.head, "\r\nAllow: POST"));
    resp_free(&r);
    post(port, "/healthz", "{}", &r);
    assert_int_equal(r.status, 405);
    resp_free(&r);
    wd_server_stop(srv);
}

/* The request body exactly as OpenAI's API reference shows it. */
static void test_openai_request(void **state) {
    wd_server *srv = start_default();
    resp r;
    post(wd_server_port(srv), "/v1/moderations",
         "{\n    \"model\": \"omni-moderation-latest\",\n    \"input\": \"...text to classify goes here...\"\n  }",
         &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "\r\nContent-Type: application/json"));
    assert_non_null(r.json);
    const cJSON *id = cJSON_GetObjectItem(r.json, "id");
    assert_true(cJSON_IsString(id));
    assert_int_equal(strncmp(id->valuestring, "modr-", 5), 0);
    assert_int_equal(strlen(id->valuestring), 5 + 24);
    assert_string_equal(cJSON_GetObjectItem(r.json, "model")->valuestring, "omni-moderation-latest");
    const cJSON *results = cJSON_GetObjectItem(r.json, "results");
    assert_int_equal(cJSON_GetArraySize(results), 1);
    const cJSON *r0 = cJSON_GetArrayItem(results, 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r0, "flagged")));
    static const char *names[] = {"harassment", "harassment/threatening", "hate", "hate/threatening",
                                  "illicit", "illicit/violent", "self-harm", "self-harm/intent",
                                  "self-harm/instructions", "sexual", "sexual/minors", "violence",
                                  "violence/graphic"};
    const cJSON *cats = cJSON_GetObjectItem(r0, "categories");
    const cJSON *scores = cJSON_GetObjectItem(r0, "category_scores");
    /* OpenAI's 13, warden's 8 that none of them covers, and "unchecked" */
    assert_int_equal(cJSON_GetArraySize(cats), 13 + 8 + 1);
    assert_int_equal(cJSON_GetArraySize(scores), 13 + 8 + 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r0, "category_applied_input_types")), 13 + 8 + 1);
    static const char *extra[] = {"defamation", "specialized_advice", "privacy", "elections",
                                  "pii", "secrets", "prompt_injection", "profanity", "unchecked"};
    for (int k = 0; k < 9; k++) assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cats, extra[k])));
    /* the first 13 keys are OpenAI's, in its order */
    assert_string_equal(cats->child->string, "harassment");
    assert_non_null(strcasestr(r.head, "\r\nx-request-id: req-"));
    for (int k = 0; k < 13; k++) {
        assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cats, names[k])));
        const cJSON *s = cJSON_GetObjectItem(scores, names[k]);
        assert_true(cJSON_IsNumber(s));
        assert_float_equal(s->valuedouble, 0.01, 1e-6);
    }
    const cJSON *w = cJSON_GetObjectItem(r0, "warden");
    assert_true(cJSON_IsObject(w));
    assert_int_equal(cJSON_GetObjectItem(w, "len")->valueint, (int)strlen("...text to classify goes here..."));
    resp_free(&r);
    wd_server_stop(srv);
}

static double score_of(const cJSON *result, const char *name) {
    return cJSON_GetObjectItem(cJSON_GetObjectItem(result, "category_scores"), name)->valuedouble;
}
static bool cat_of(const cJSON *result, const char *name) {
    return cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(result, "categories"), name));
}

static void expect_400(int port, const char *path, const char *body, const char *code, const char *param);

/* Canonical S1 / S10 verdicts seen through the OpenAI names (openai.c's table). */
static void test_openai_mapping(void **state) {
    wd_server *srv = start_default();
    resp r;
    post(wd_server_port(srv), "/v1/moderations",
         "{\"input\": [\"I will kill him\", \"I hate them and will kill them\", \"hello\"]}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(cJSON_GetObjectItem(r.json, "model")->valuestring, "warden");
    const cJSON *res = cJSON_GetObjectItem(r.json, "results");
    assert_int_equal(cJSON_GetArraySize(res), 3);
    const cJSON *kill = cJSON_GetArrayItem(res, 0), *both = cJSON_GetArrayItem(res, 1);
    const cJSON *hello = cJSON_GetArrayItem(res, 2);
    /* an array of content parts is ONE input (as OpenAI answers it): its
     * text parts are joined with newlines and give one result */
    resp rp;
    post(wd_server_port(srv), "/v1/moderations",
         "{\"input\": [{\"type\": \"text\", \"text\": \"hate speech\"}, {\"type\": \"text\", \"text\": \"more\"}]}",
         &rp);
    assert_int_equal(rp.status, 200);
    const cJSON *pres = cJSON_GetObjectItem(rp.json, "results");
    assert_int_equal(cJSON_GetArraySize(pres), 1);
    const cJSON *hate = cJSON_GetArrayItem(pres, 0);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(hate, "warden"), "len")->valueint,
                     (int)strlen("hate speech\nmore"));
    /* S1 only: violence, illicit, illicit/violent; not hate, not the threatening conjunctions */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(kill, "flagged")));
    assert_true(cat_of(kill, "violence"));
    assert_true(cat_of(kill, "violence/graphic"));
    assert_true(cat_of(kill, "illicit/violent"));
    assert_true(cat_of(kill, "illicit"));
    assert_false(cat_of(kill, "hate"));
    assert_false(cat_of(kill, "harassment/threatening"));
    assert_false(cat_of(kill, "hate/threatening"));
    assert_false(cat_of(kill, "sexual"));
    assert_float_equal(score_of(kill, "violence"), 0.9, 1e-6);
    assert_float_equal(score_of(kill, "hate/threatening"), 0.01, 1e-6); /* min(0.01, 0.9) */
    /* S1 and S10: the conjunctions hold, score = the smaller */
    assert_true(cat_of(both, "hate/threatening"));
    assert_true(cat_of(both, "harassment/threatening"));
    assert_float_equal(score_of(both, "hate/threatening"), 0.8, 1e-6);
    assert_float_equal(score_of(both, "harassment"), 0.8, 1e-6);
    /* S10 only, given as a text part */
    assert_true(cat_of(hate, "hate"));
    assert_true(cat_of(hate, "harassment"));
    assert_false(cat_of(hate, "violence"));
    assert_false(cat_of(hate, "hate/threatening"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(hello, "flagged")));
    /* inputs stay in order: the backend echoes each length */
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(hello, "warden"), "len")->valueint, 5);
    resp_free(&rp);
    resp_free(&r);
    /* a flag that no OpenAI name covers is named under warden's own key */
    post(wd_server_port(srv), "/v1/moderations", "{\"input\": \"my card number\"}", &r);
    const cJSON *pii = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(pii, "flagged")));
    assert_true(cat_of(pii, "pii"));
    assert_float_equal(score_of(pii, "pii"), 0.95, 1e-6);
    resp_free(&r);
    /* strings and parts mixed in one array: 400 */
    expect_400(wd_server_port(srv), "/v1/moderations",
               "{\"input\": [\"a\", {\"type\": \"text\", \"text\": \"b\"}]}", "invalid_type", "input[1]");
    /* x-request-id: echoed when the client sends a sane one */
    http(wd_server_port(srv), "GET", "/v1/models", NULL, "X-Request-Id: trace-42.a_b:c\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "\r\nx-request-id: trace-42.a_b:c\r\n"));
    const cJSON *data = cJSON_GetObjectItem(r.json, "data");
    assert_string_equal(cJSON_GetObjectItem(r.json, "object")->valuestring, "list");
    assert_true(cJSON_GetArraySize(data) >= 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "object")->valuestring, "model");
    resp_free(&r);
    wd_server_stop(srv);
}

static void expect_400(int port, const char *path, const char *body, const char *code,
                       const char *param) {
    resp r;
    post(port, path, body, &r);
    if (r.status != 400) print_message("body %s -> %d %s\n", body, r.status, r.body);
    assert_int_equal(r.status, 400);
    assert_non_null(r.json);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "type")->valuestring,
                        "invalid_request_error");
    assert_true(strlen(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "message")->valuestring) > 10);
    assert_string_equal(err_code(&r), code);
    if (param) assert_string_equal(err_param(&r), param);
    resp_free(&r);
}

static void test_malformed(void **state) {
    wd_server_params p = wd_server_params_default();
    p.max_inputs = 4;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    const char *paths[] = {"/v1/moderations", "/v1/check"};
    for (int i = 0; i < 2; i++) {
        const char *path = paths[i];
        expect_400(port, path, "{\"input\": ", "invalid_json", NULL);
        expect_400(port, path, "{\"input\": \"x\"} trailing", "invalid_json", NULL);
        expect_400(port, path, "not json at all", "invalid_json", NULL);
        expect_400(port, path, "[\"a\"]", "invalid_type", NULL);
        expect_400(port, path, "\"just a string\"", "invalid_type", NULL);
        expect_400(port, path, "{}", "missing_required_parameter", "input");
        expect_400(port, path, "{\"input\": 42}", "invalid_type", "input");
        expect_400(port, path, "{\"input\": null}", "invalid_type", "input");
        expect_400(port, path, "{\"input\": {\"text\": \"x\"}}", "invalid_type", "input");
        expect_400(port, path, "{\"input\": [\"ok\", 7]}", "invalid_type", "input[1]");
        expect_400(port, path, "{\"input\": [\"ok\", [\"nested\"]]}", "invalid_type", "input[1]");
        expect_400(port, path, "{\"input\": []}", "invalid_value", "input");
        expect_400(port, path, "{\"input\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", "too_many_inputs", "input");
        expect_400(port, path, "{\"input\": \"x\", \"role\": \"assistant\"}", "invalid_value", "role");
        expect_400(port, path, "{\"input\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}",
                   "unsupported_input_type", "input[0]");
        expect_400(port, path, "", "invalid_json", NULL);
        /* bodies two JSON readers would read differently, or
         * whose text cJSON would cut at a NUL, are refused */
        expect_400(port, path, "{\"input\":\"hello\",\"input\":\"kill\"}", "duplicate_key", NULL);
        expect_400(port, path, "{\"input\":\"hello\",\"\\u0069nput\":\"kill\"}", "duplicate_key", NULL);
        expect_400(port, path, "{\"input\":[{\"type\":\"text\",\"text\":\"hi\",\"text\":\"kill\"}]}",
                   "duplicate_key", NULL);
        expect_400(port, path, "{\"input\":\"x\",\"role\":\"input\",\"role\":\"output\"}",
                   "duplicate_key", NULL);
        expect_400(port, path, "{\"input\":\"Hello\\u0000kill\"}", "nul_in_string", NULL);
        expect_400(port, path, "{\"input\":[\"ok\",{\"type\":\"text\",\"text\":\"a\\u0000kill\"}]}",
                   "nul_in_string", NULL);
    }
    {
        resp r;
        post(port, "/v1/moderations", "{\"input\":\"hello\",\"input\":\"kill\"}", &r);
        const char *m = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "message")->valuestring;
        assert_non_null(strstr(m, "duplicate key 'input' at line 1, column 18"));
        resp_free(&r);
        post(port, "/v1/moderations", "{\"input\":\"Hello\\u0000kill\"}", &r);
        m = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "message")->valuestring;
        assert_non_null(strstr(m, "field 'input': string holds U+0000"));
        resp_free(&r);
    }
    expect_400(port, "/v1/moderations", "{\"input\": \"x\", \"model\": 3}", "invalid_type", "model");
    expect_400(port, "/v1/check", "{\"input\": \"x\", \"redact\": \"yes\"}", "invalid_type", "redact");
    /* deep nesting is refused by the parser, not by the stack */
    char *deep = malloc(200000);
    memset(deep, '[', 199999);
    deep[199999] = 0;
    expect_400(port, "/v1/moderations", deep, "invalid_json", NULL);
    free(deep);
    /* invalid UTF-8 and control bytes inside a string: a valid JSON answer */
    resp r;
    post(port, "/v1/moderations", "{\"input\": \"bad \xff\xfe utf8\", \"model\": \"m\xc3\x28\\u0001\"}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    resp_free(&r);
    /* still serving after all that */
    http(port, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    wd_server_stop(srv);
}

static void test_check_and_certify(void **state) {
    wd_server *srv = start_default();
    int port = wd_server_port(srv);
    resp r;
    post(port, "/v1/check", "{\"input\": [\"kill\", \"fine\"], \"role\": \"output\", \"redact\": true}", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(strncmp(cJSON_GetObjectItem(r.json, "id")->valuestring, "chk-", 4), 0);
    assert_string_equal(cJSON_GetObjectItem(r.json, "role")->valuestring, "output");
    const cJSON *res = cJSON_GetObjectItem(r.json, "results");
    assert_int_equal(cJSON_GetArraySize(res), 2);
    const cJSON *v0 = cJSON_GetArrayItem(res, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v0, "unsafe")));
    assert_string_equal(cJSON_GetObjectItem(v0, "role")->valuestring, "output");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v0, "redact")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "unsafe")));
    resp_free(&r);
    post(port, "/v1/certify", "{\"input\": \"x\"}", &r); /* this backend has no certify */
    assert_int_equal(r.status, 501);
    assert_string_equal(err_code(&r), "not_implemented");
    resp_free(&r);
    wd_server_stop(srv);
}

/* 100 MB announced: 413 at once, and the body is never buffered. */
static void test_body_limit(void **state) {
    wd_server_params p = wd_server_params_default();
    p.max_body = 64 * 1024;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    long rss0 = rss_kb();
    int fd = connect_to(port);
    const char *head = "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 104857600\r\n\r\n";
    assert_true(send_all(fd, head, strlen(head)));
    char *chunk = malloc(1 << 20);
    memset(chunk, 'a', 1 << 20);
    size_t sent = 0;
    for (int i = 0; i < 100; i++) { /* keep sending until the answer shows up */
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 0) > 0) break;
        if (!send_all(fd, chunk, 1 << 20)) break;
        sent += 1 << 20;
    }
    resp r;
    assert_true(read_resp(fd, &r));
    assert_int_equal(r.status, 413);
    assert_string_equal(err_code(&r), "request_too_large");
    resp_free(&r);
    close(fd);
    print_message("100 MB body: answered 413 after %zu MB sent, RSS +%ld kB\n", sent >> 20, rss_kb() - rss0);
    assert_true(rss_kb() - rss0 < 32 * 1024);

    /* chunked upload (no Content-Length) over the limit: read, dropped, 413 */
    fd = connect_to(port);
    const char *chead = "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
    assert_true(send_all(fd, chead, strlen(chead)));
    char line[32];
    for (int i = 0; i < 8; i++) {
        snprintf(line, sizeof line, "%x\r\n", 1 << 20);
        if (!send_all(fd, line, strlen(line)) || !send_all(fd, chunk, 1 << 20) || !send_all(fd, "\r\n", 2))
            break;
    }
    send_all(fd, "0\r\n\r\n", 5);
    assert_true(read_resp(fd, &r));
    assert_int_equal(r.status, 413);
    resp_free(&r);
    close(fd);
    free(chunk);

    /* exactly at the limit is fine (400 here: not JSON, but it was read) */
    char *big = malloc(p.max_body + 1);
    memset(big, ' ', p.max_body);
    memcpy(big, "{\"input\": \"x\"}", 14);
    big[p.max_body] = 0;
    post(port, "/v1/moderations", big, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    free(big);
    wd_server_stop(srv);
}

/* Truncated bodies and slow senders end the connection; the server goes on. */
static void test_truncated_and_slow(void **state) {
    wd_server_params p = wd_server_params_default();
    p.conn_timeout_s = 1;
    p.timeout_ms = 1500;
    p.header_timeout_ms = 1000;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);

    /* truncated: 100 bytes announced, 20 sent, then the client stops sending */
    int fd = connect_to(port);
    const char *head = "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"input\": \"trunc";
    assert_true(send_all(fd, head, strlen(head)));
    shutdown(fd, SHUT_WR);
    resp r;
    bool answered = read_resp(fd, &r);
    if (answered) {
        assert_true(r.status >= 400);
        resp_free(&r);
    }
    close(fd);

    /* slow sender, headers never finished: 408 and closed at the head deadline */
    double t0 = (double)wd__serve_now_ns() * 1e-9;
    fd = connect_to(port);
    assert_true(send_all(fd, "POST /v1/moderations HTTP/1.1\r\nHost:", 36));
    expect_408(fd, t0, 0.9, 8.0);
    char c;

    /* slow sender, body trickled one byte at a time (never idle for a full
     * second): cut off by the 1.5 s request deadline */
    t0 = (double)wd__serve_now_ns() * 1e-9;
    fd = connect_to(port);
    const char *h2 = "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    assert_true(send_all(fd, h2, strlen(h2)));
    bool cut = false;
    for (int i = 0; i < 60 && !cut; i++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        if (!send_all(fd, "x", 1)) cut = true;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 0) > 0 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0) cut = true;
    }
    double dt = (double)wd__serve_now_ns() * 1e-9 - t0;
    assert_true(cut);
    assert_true(dt < 8.0);
    close(fd);

    /* the server is fine */
    post(port, "/v1/moderations", "{\"input\": \"after\"}", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    wd_server_stop(srv);
}

static void test_auth(void **state) {
    wd_server_params p = wd_server_params_default();
    p.api_key = "s3cret-key";
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    const char *body = "{\"input\": \"hi\"}";
    resp r;
    http(port, "POST", "/v1/moderations", body, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(err_code(&r), "invalid_api_key");
    assert_non_null(strcasestr(r.head, "\r\nWWW-Authenticate: Bearer"));
    resp_free(&r);
    http(port, "POST", "/v1/moderations", body, "Authorization: Bearer s3cret-ke\r\n", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http(port, "POST", "/v1/moderations", body, "Authorization: Bearer s3cret-key-longer\r\n", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http(port, "POST", "/v1/moderations", body, "Authorization: Basic s3cret-key\r\n", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http(port, "POST", "/v1/moderations", body, "Authorization: Bearer s3cret-key\r\n", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(port, "POST", "/v1/check", body, "authorization: bearer s3cret-key\r\n", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(port, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http(port, "GET", "/healthz", NULL, NULL, &r); /* probes need no key */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(port, "GET", "/readyz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    wd_server_stop(srv);
}

static const cJSON *warden_of(const resp *r, int i) {
    return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "results"), i), "warden");
}

static void test_fail_modes_and_timeout(void **state) {
    char *closed = write_policy("closed.policy", "closed\n");
    char *open_ = write_policy("open.policy", "open\n");
    wd_server_params p = wd_server_params_default();
    p.policy_path = closed;
    p.timeout_ms = 300;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    resp r;
    post(port, "/v1/moderations", "{\"input\": [\"ok\", \"FAIL now\"]}", &r);
    assert_int_equal(r.status, 200);
    for (int i = 0; i < 2; i++) { /* the whole batch failed: both blocked */
        const cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), i);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "flagged")));
        assert_string_equal(cJSON_GetObjectItem(warden_of(&r, i), "fail_mode")->valuestring, "closed");
        assert_string_equal(cJSON_GetObjectItem(warden_of(&r, i), "error_code")->valuestring, "guard_error");
        assert_non_null(strstr(cJSON_GetObjectItem(warden_of(&r, i), "error")->valuestring, "scripted failure"));
    }
    resp_free(&r);
    double t0 = (double)wd__serve_now_ns() * 1e-9;
    post(port, "/v1/check", "{\"input\": \"SLOW\"}", &r);
    double dt = (double)wd__serve_now_ns() * 1e-9 - t0;
    assert_int_equal(r.status, 200);
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "unsafe")));
    assert_string_equal(cJSON_GetObjectItem(v, "error_code")->valuestring, "timeout");
    assert_true(dt >= 0.25 && dt < 5.0);
    resp_free(&r);

    assert_int_equal(wd_server_reload(srv, open_), WD_OK);
    post(port, "/v1/moderations", "{\"input\": \"FAIL\"}", &r);
    assert_int_equal(r.status, 200);
    const cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "flagged")));
    assert_string_equal(cJSON_GetObjectItem(warden_of(&r, 0), "fail_mode")->valuestring, "open");
    resp_free(&r);
    wd_server_stop(srv);
    free(closed);
    free(open_);
}

/* SIGHUP's work: a broken policy keeps the old guard serving. */
static void test_reload(void **state) {
    char *good = write_policy("good.policy", "open\n");
    char *broken = write_policy("broken.policy", "opne\n");
    wd_server_params p = wd_server_params_default();
    p.policy_path = good;
    int live0 = atomic_load(&fake_live);
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    resp r;
    post(port, "/v1/check", "{\"input\": \"a\"}", &r);
    int gen0 = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0), "gen")->valueint;
    resp_free(&r);

    assert_int_equal(wd_server_reload(srv, broken), WD_ERR_FORMAT);
    const char *why = wd_server_last_error(srv);
    assert_non_null(strstr(why, "broken.policy"));
    assert_non_null(strstr(why, "line 1"));
    assert_non_null(strstr(why, "still serving"));
    post(port, "/v1/check", "{\"input\": \"FAIL\"}", &r); /* the old (fail-open) guard answers */
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0);
    assert_string_equal(cJSON_GetObjectItem(v, "fail_mode")->valuestring, "open");
    resp_free(&r);
    post(port, "/v1/check", "{\"input\": \"a\"}", &r);
    v = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0);
    assert_int_equal(cJSON_GetObjectItem(v, "gen")->valueint, gen0);
    resp_free(&r);
    assert_int_equal(atomic_load(&fake_live), live0 + 1);

    /* a missing file too */
    assert_int_equal(wd_server_reload(srv, "/nonexistent/warden.policy"), WD_ERR_IO);

    /* a later reload (the path the server started with) works; the broken
     * path was not remembered */
    assert_int_equal(wd_server_reload(srv, NULL), WD_OK);
    assert_string_equal(wd_server_last_error(srv), "");
    post(port, "/v1/check", "{\"input\": \"a\"}", &r);
    v = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0);
    assert_true(cJSON_GetObjectItem(v, "gen")->valueint > gen0);
    resp_free(&r);
    assert_int_equal(atomic_load(&fake_live), live0 + 1); /* the old guard was freed */

    http(port, "GET", "/metrics", NULL, NULL, &r);
    assert_non_null(strstr(r.body, "warden_policy_reloads_total{result=\"ok\"} 1\n"));
    assert_non_null(strstr(r.body, "warden_policy_reloads_total{result=\"failed\"} 2\n"));
    resp_free(&r);
    wd_server_stop(srv);
    assert_int_equal(atomic_load(&fake_live), live0);
    free(good);
    free(broken);
}

/* Reloads while requests are in flight: every request answered, every old
 * guard freed exactly once (ASan checks the rest). */
typedef struct hammer {
    int port, n, ok;
} hammer;

static void *hammer_run(void *arg) {
    hammer *h = arg;
    for (int i = 0; i < h->n; i++) {
        resp r;
        post(h->port, "/v1/moderations", i % 7 ? "{\"input\": \"hello there\"}" : "{\"input\": \"NAP\"}", &r);
        if (r.status == 200) h->ok++;
        resp_free(&r);
    }
    return NULL;
}

static void test_reload_under_load(void **state) {
    char *good = write_policy("load.policy", "closed\n");
    wd_server_params p = wd_server_params_default();
    p.policy_path = good;
    p.n_threads = 4;
    int live0 = atomic_load(&fake_live);
    wd_server *srv = start(&p);
    hammer h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (hammer){wd_server_port(srv), 30, 0};
        pthread_create(&t[i], NULL, hammer_run, &h[i]);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(wd_server_reload(srv, NULL), WD_OK);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(h[i].ok, 30);
    }
    wd_server_stop(srv);
    assert_int_equal(atomic_load(&fake_live), live0);
    free(good);
}

typedef struct pending {
    int port;
    resp r;
} pending;

static void *slow_request(void *arg) {
    pending *pd = arg;
    post(pd->port, "/v1/moderations", "{\"input\": \"NAP\"}", &pd->r);
    return NULL;
}

/* wd_server_stop answers the request in flight before it returns. */
static void test_graceful_stop(void **state) {
    wd_server *srv = start_default();
    pending pd = {wd_server_port(srv), {0}};
    pthread_t t;
    pthread_create(&t, NULL, slow_request, &pd);
    while (atomic_load(&srv->counters.in_flight) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    wd_server_stop(srv);
    pthread_join(t, NULL);
    assert_int_equal(pd.r.status, 200);
    resp_free(&pd.r);
    /* and the port no longer accepts */
}

/* The value on the sample line that starts with line_prefix (not a HELP line). */
static long metric(const char *text, const char *line_prefix) {
    for (const char *p = strstr(text, line_prefix); p; p = strstr(p + 1, line_prefix))
        if (p == text || p[-1] == '\n') return strtol(p + strlen(line_prefix), NULL, 10);
    return -1;
}

static void test_metrics(void **state) {
    wd_server *srv = start_default();
    int port = wd_server_port(srv);
    resp r;
    for (int i = 0; i < 3; i++) {
        post(port, "/v1/moderations", "{\"input\": [\"kill\", \"hate\", \"fine\"]}", &r);
        resp_free(&r);
    }
    post(port, "/v1/moderations", "{bad", &r);
    resp_free(&r);
    post(port, "/v1/check", "{\"input\": \"hate and kill\"}", &r);
    resp_free(&r);
    http(port, "GET", "/healthz", NULL, NULL, &r);
    resp_free(&r);
    /* a request is counted when MHD reports it complete, which can be just
     * after the client has read the answer */
    for (int i = 0; i < 2000 && atomic_load(&srv->counters.in_flight) > 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    http(port, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "\r\nContent-Type: text/plain; version=0.0.4"));
    const char *m = r.body;
    assert_int_equal(metric(m, "warden_http_requests_total{route=\"/v1/moderations\",code=\"200\"} "), 3);
    assert_int_equal(metric(m, "warden_http_requests_total{route=\"/v1/moderations\",code=\"400\"} "), 1);
    assert_int_equal(metric(m, "warden_http_requests_total{route=\"/v1/check\",code=\"200\"} "), 1);
    assert_int_equal(metric(m, "warden_http_requests_total{route=\"/healthz\",code=\"200\"} "), 1);
    assert_int_equal(metric(m, "warden_http_request_duration_seconds_count{route=\"/v1/moderations\"} "), 4);
    assert_int_equal(metric(m, "warden_http_request_duration_seconds_bucket{route=\"/v1/moderations\",le=\"+Inf\"} "), 4);
    assert_int_equal(metric(m, "warden_inputs_checked_total "), 10);
    assert_int_equal(metric(m, "warden_verdicts_total{verdict=\"flagged\"} "), 7);
    assert_int_equal(metric(m, "warden_verdicts_total{verdict=\"allowed\"} "), 3);
    assert_int_equal(metric(m, "warden_category_flagged_total{category=\"S1\"} "), 4);
    assert_int_equal(metric(m, "warden_category_flagged_total{category=\"S10\"} "), 4);
    assert_int_equal(metric(m, "warden_category_flagged_total{category=\"S9\"} "), 0);
    /* the scrape is answered by the gate, off the workers: nothing in flight */
    assert_int_equal(metric(m, "warden_http_requests_in_flight "), 0);
    /* histogram buckets are cumulative */
    long prev = 0;
    const char *pfx = "warden_http_request_duration_seconds_bucket{route=\"/v1/moderations\",le=\"";
    for (const char *p = strstr(m, pfx); p; p = strstr(p + 1, pfx)) {
        long v = strtol(strchr(p, '}') + 2, NULL, 10);
        assert_true(v >= prev);
        prev = v;
    }
    assert_int_equal(prev, 4);
    resp_free(&r);
    wd_server_stop(srv);
}

/* Keep-alive: several requests on one connection. */
static void test_keep_alive(void **state) {
    wd_server *srv = start_default();
    int fd = connect_to(wd_server_port(srv));
    const char *body = "{\"input\": \"hello\"}";
    for (int i = 0; i < 6; i++) {
        char req[256];
        if (i % 2)
            snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        else
            snprintf(req, sizeof req, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
        assert_true(send_all(fd, req, strlen(req)));
        resp r;
        assert_true(read_resp(fd, &r));
        assert_int_equal(r.status, 200);
        assert_null(strcasestr(r.head, "\r\nConnection: close"));
        resp_free(&r);
    }
    close(fd);
    wd_server_stop(srv);
}

/* --max-connections: connections still sending their head never take a
 * worker's slot; when as many wait as the limit allows, the one that has
 * waited longest is dropped (408) for the newcomer. */
static void test_connection_limit(void **state) {
    wd_server_params p = wd_server_params_default();
    p.max_connections = 2;
    p.n_threads = 1;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    int a = connect_to(port), b = connect_to(port);
    assert_true(send_all(a, "GET /heal", 9));
    assert_true(send_all(b, "GET /heal", 9));
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    resp r;
    http(port, "GET", "/healthz", NULL, NULL, &r); /* a third: a is dropped for it */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_true(read_resp(a, &r));
    assert_int_equal(r.status, 408);
    assert_string_equal(err_code(&r), "request_timeout");
    resp_free(&r);
    close(a);
    /* b still waits and can finish its request */
    const char *rest = "thz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_true(send_all(b, rest, strlen(rest)));
    assert_true(read_resp(b, &r));
    assert_int_equal(r.status, 200);
    resp_free(&r);
    close(b);
    wd_server_stop(srv);
}

static void test_bad_params(void **state) {
    wd_server_params p = wd_server_params_default();
    wd_server *srv = (wd_server *)1;
    p.host = "localhost.invalid";
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_INVALID_ARG);
    assert_null(srv);
    assert_non_null(strstr(wd_last_error(), "localhost.invalid"));
    p = wd_server_params_default();
    p.port = 70000;
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_INVALID_ARG);
    p = wd_server_params_default();
    p.policy_path = "/nonexistent/policy";
    p.port = 0;
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_IO);
    assert_non_null(strstr(wd_last_error(), "/nonexistent/policy"));
    /* a port in use */
    wd_server *a = start_default();
    p = wd_server_params_default();
    p.port = wd_server_port(a);
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_IO);
    wd_server_stop(a);
    wd_server_stop(NULL);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

/* ==== Hardening: framing, slow clients, memory, keys, TLS ===== */

/* Sends raw bytes on a fresh connection (then shuts the write side) and
 * reads the one answer; asserts it is the given status with a JSON error
 * body and exactly one status line. */
static void expect_raw(int port, const char *name, const char *req, size_t len, int status,
                       const char *code) {
    int fd = connect_to(port);
    send_all(fd, req, len);
    resp r;
    bool got = read_resp(fd, &r);
    if (!got || r.status != status || !r.json || strcmp(err_code(&r), code))
        print_message("%s: got %d %s\n", name, got ? r.status : -1, got ? r.body : "(nothing)");
    assert_true(got);
    assert_int_equal(r.status, status);
    assert_non_null(r.json);
    assert_string_equal(err_code(&r), code);
    assert_non_null(strcasestr(r.head, "\r\nContent-Type: application/json"));
    /* one status line: libmicrohttpd 0.9.75 wrote its own twice for a bad Content-Length */
    assert_null(strstr(r.head + 1, "HTTP/1."));
    resp_free(&r);
    close(fd);
}

#define RAW(port, req, st, code) expect_raw(port, req, req, sizeof req - 1, st, code)

/* Every framing error MHD would have answered with its own HTML page (or
 * accepted) is a JSON error. */
static void test_framing_errors_json(void **state) {
    wd_server *srv = start_default();
    int port = wd_server_port(srv);
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}", 400,
        "invalid_content_length");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}", 400,
        "invalid_content_length");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n{}",
        413, "request_too_large");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
        400, "invalid_content_length");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        400, "invalid_content_length");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400, "invalid_content_length");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
        "unsupported_transfer_encoding");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        400, "invalid_chunk");
    RAW(port, "POST /v1/moderations HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 400, "missing_host");
    RAW(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "bad_header");
    RAW(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400, "bad_header");
    RAW(port, "GET /healthz\r\n\r\n", 400, "unsupported_http_version");
    RAW(port, "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported");
    RAW(port, "GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400, "bad_request_line");
    RAW(port, "\x01\x02 garbage\r\n\r\n", 400, "bad_request_line");
    /* heads too large: the URL, one header, too many headers */
    size_t big = 100 * 1024;
    char *req = malloc(big + 256);
    int n = sprintf(req, "GET /");
    memset(req + n, 'a', big);
    n += (int)big;
    n += sprintf(req + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_raw(port, "100 KB URL", req, (size_t)n, 414, "uri_too_long");
    n = sprintf(req, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', big);
    n += (int)big;
    n += sprintf(req + n, "\r\nContent-Length: 2\r\n\r\n{}");
    expect_raw(port, "100 KB header", req, (size_t)n, 431, "header_too_large");
    n = sprintf(req, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 150; i++) n += sprintf(req + n, "X-H%d: v\r\n", i);
    n += sprintf(req + n, "Content-Length: 2\r\n\r\n{}");
    expect_raw(port, "150 headers", req, (size_t)n, 431, "header_too_large");
    free(req);

    /* the second request of a kept-alive connection: the relay reads its
     * head with the same parser (test_keep_alive_framing has the rest) */
    static const char *second[][2] = {
        {"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
         "invalid_content_length"},
        {"POST /v1/check HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "missing_host"},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "bad_header"},
    };
    for (int i = 0; i < 3; i++) {
        int fd = connect_kept_alive(port);
        resp r;
        assert_true(send_all(fd, second[i][0], strlen(second[i][0])));
        assert_true(read_resp(fd, &r));
        assert_int_equal(r.status, 400);
        assert_string_equal(err_code(&r), second[i][1]);
        resp_free(&r);
        close(fd);
    }

    /* still fine: HTTP/1.0 without Host, bare LF line ends, pipelining */
    RAW(port, "GET /nope HTTP/1.0\r\n\r\n", 404, "not_found");
    RAW(port, "GET /nope HTTP/1.1\nHost: x\n\n", 404, "not_found");
    wd_server_stop(srv);
}

/* A client trickling its head is cut at the head deadline with a 408; one
 * that shuts its side inside the head gets a 400; hundreds of them do not
 * keep a real client out. */
static void test_slow_heads(void **state) {
    wd_server_params p = wd_server_params_default();
    p.header_timeout_ms = 400;
    p.max_connections = 64;
    p.max_conns_per_ip = 16;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    double t0 = (double)wd__serve_now_ns() * 1e-9;
    int fd = connect_to(port);
    const char *head = "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaa";
    bool cut = false;
    for (size_t i = 0; i < strlen(head) && !cut; i++) { /* one byte per 50 ms */
        if (!send_all(fd, head + i, 1)) cut = true;
        struct pollfd pf = {fd, POLLIN, 50};
        if (poll(&pf, 1, 50) > 0) cut = true;
    }
    expect_408(fd, t0, 0.35, 5.0);

    resp r;
    fd = connect_to(port);
    assert_true(send_all(fd, "GET /healthz HTTP/1.1\r\nHo", 25));
    shutdown(fd, SHUT_WR);
    assert_true(read_resp(fd, &r));
    assert_int_equal(r.status, 400);
    assert_string_equal(err_code(&r), "incomplete_request");
    resp_free(&r);
    close(fd);

    /* 300 slow heads from this address: real requests still get through */
    enum { N_SLOW = 300 };
    int slow[N_SLOW];
    for (int i = 0; i < N_SLOW; i++) {
        slow[i] = connect_to(port);
        send_all(slow[i], "POST /v1/moderations HTTP/1.1\r\n", 31);
    }
    for (int i = 0; i < 5; i++) {
        post(port, "/v1/moderations", "{\"input\": \"hello\"}", &r);
        assert_int_equal(r.status, 200);
        resp_free(&r);
    }
    for (int i = 0; i < N_SLOW; i++) close(slow[i]);
    wd_server_stop(srv);
}

/* A kept-alive connection that trickles its second request's head gets a
 * 408 (JSON) at the head deadline, as a first request does; one that stays
 * silent after an answer is closed after conn_timeout_s. */
static void test_slow_keep_alive(void **state) {
    wd_server_params p = wd_server_params_default();
    p.header_timeout_ms = 300;
    p.conn_timeout_s = 1;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    int fd = connect_kept_alive(port);
    double t0 = (double)wd__serve_now_ns() * 1e-9;
    const char *head = "POST /v1/check HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool cut = false;
    for (size_t i = 0; i < strlen(head) && !cut; i++) { /* a byte per 50 ms */
        if (!send_all(fd, head + i, 1)) cut = true;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 50) > 0) cut = true;
    }
    assert_true(cut);
    expect_408(fd, t0, 0.25, 2.0);

    /* silent after its answer: closed (no answer) once conn_timeout_s passed */
    fd = connect_kept_alive(port);
    t0 = (double)wd__serve_now_ns() * 1e-9;
    char c;
    struct pollfd pf = {fd, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 5000), 1);
    assert_true(recv(fd, &c, 1, 0) <= 0);
    double dt = (double)wd__serve_now_ns() * 1e-9 - t0;
    assert_true(dt >= 0.9 && dt < 3.0);
    close(fd);
    wd_server_stop(srv);
}

/* Every request of a kept-alive connection is framed by the gate: a bad
 * head or a bad chunk in the second request gets the JSON error a first
 * request gets (libmicrohttpd would answer with an HTML page), and the
 * connection ends after it. */
static void test_keep_alive_framing(void **state) {
    wd_server_params p = wd_server_params_default();
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    static const struct { const char *req; int status; const char *code; } bad[] = {
        {"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}", 400, "invalid_content_length"},
        {"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n{}", 413, NULL},
        {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, NULL},
        {"GET /healthz\r\n\r\n", 0, NULL}, /* HTTP/0.9: 400 or 505 */
        {"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400,
         "invalid_chunk"},
        /* a good chunk, then a bad size line: found mid-body */
        {"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"inp\r\nq\r\n", 400,
         "invalid_chunk"},
        /* a trailer line that is not "name: value" */
        {"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nfoo\r\n\r\n", 400,
         "invalid_chunk"},
        /* chunk data not followed by CRLF */
        {"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XY0\r\n\r\n", 400,
         "invalid_chunk"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = connect_kept_alive(port);
        resp r;
        assert_true(send_all(fd, bad[i].req, strlen(bad[i].req)));
        assert_true(read_resp(fd, &r));
        if (bad[i].status) assert_int_equal(r.status, bad[i].status);
        else assert_true(r.status == 400 || r.status == 505);
        assert_non_null(cJSON_GetObjectItem(r.json, "error"));
        if (bad[i].code) assert_string_equal(err_code(&r), bad[i].code);
        resp_free(&r);
        char c;
        assert_true(recv(fd, &c, 1, 0) <= 0); /* and the connection ends */
        close(fd);
    }
    /* a good chunked second request, and a third after it */
    int fd = connect_to(port);
    const char *reqs[] = {
        "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"input\":\"a\"}",
        "POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\n{\"inp\r\n8\r\nut\":\"a\"}\r\n0\r\nX-T: 1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (int i = 0; i < 3; i++) {
        assert_true(send_all(fd, reqs[i], strlen(reqs[i])));
        resp r;
        assert_true(read_resp(fd, &r));
        assert_int_equal(r.status, 200);
        resp_free(&r);
    }
    close(fd);
    wd_server_stop(srv);
}

/* The server-wide body budget: when the bodies being received would pass
 * it, the next request is answered 503 (JSON, Retry-After); the budget is
 * given back when requests end. */
static void test_body_budget(void **state) {
    wd_server_params p = wd_server_params_default();
    p.max_body = 64 * 1024;
    p.body_budget = 2 * (p.max_body + 1);
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    char head[256];
    snprintf(head, sizeof head, "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n{",
             p.max_body);
    int a = connect_to(port), b = connect_to(port);
    assert_true(send_all(a, head, strlen(head)));
    assert_true(send_all(b, head, strlen(head)));
    for (int i = 0; i < 500 && atomic_load(&srv->counters.body_bytes) < (int64_t)p.body_budget; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&srv->counters.body_bytes), (int64_t)p.body_budget);
    resp r;
    post(port, "/v1/moderations", "{\"input\": \"hello\"}", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(err_code(&r), "server_busy");
    assert_non_null(strcasestr(r.head, "\r\nRetry-After: 1"));
    resp_free(&r);
    /* chunked bodies draw on the same budget */
    int c = connect_to(port);
    const char *ch = "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "12\r\n{\"input\": \"hello\"}\r\n0\r\n\r\n";
    assert_true(send_all(c, ch, strlen(ch)));
    assert_true(read_resp(c, &r));
    assert_int_equal(r.status, 503);
    resp_free(&r);
    close(c);
    close(a);
    close(b);
    for (int i = 0; i < 1000 && atomic_load(&srv->counters.body_bytes) > 0; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&srv->counters.body_bytes), 0);
    post(port, "/v1/moderations", "{\"input\": \"hello\"}", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    wd_server_stop(srv);
}

static void test_api_keys(void **state) {
    /* the key file: comments, a per-key rate; errors name file:line */
    char *path = write_policy("keys.txt", "# operators\n\nalpha-key-0123456789\n"
                                          "  beta-key-0123456789   2/s   # a slow client\n");
    wd_server_key *keys = NULL;
    int n = 0;
    assert_int_equal(wd_server_keys_read(path, &keys, &n), WD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0].key, "alpha-key-0123456789");
    assert_true(keys[0].rate == 0);
    assert_string_equal(keys[1].key, "beta-key-0123456789");
    assert_float_equal(keys[1].rate, 2.0, 1e-9);
    static const char *bad[][2] = {
        {"short\n", ":1: a key must have 16"},
        {"alpha-key-0123456789 fast\n", ":1: rate 'fast'"},
        {"# nothing\n", "no key in the file"},
        {"alpha-key-0123456789\nalpha-key-0123456789\n", ":2: duplicate key"},
        {"alpha-key-0123456789 5/s extra\n", ":1: unexpected text"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *bp = write_policy("badkeys.txt", bad[i][0]);
        wd_server_key *bk = (wd_server_key *)1;
        int bn = 7;
        assert_int_not_equal(wd_server_keys_read(bp, &bk, &bn), WD_OK);
        assert_null(bk);
        assert_int_equal(bn, 0);
        if (!strstr(wd_last_error(), bad[i][1])) print_message("%s\n", wd_last_error());
        assert_non_null(strstr(wd_last_error(), bad[i][1]));
        assert_non_null(strstr(wd_last_error(), bp));
        free(bp);
    }

    wd_server_params p = wd_server_params_default();
    p.keys = keys;
    p.n_keys = n;
    p.rate_limit = 1000;
    wd_server *srv = start(&p);
    wd_server_keys_free(keys, n); /* the server keeps copies */
    int port = wd_server_port(srv);
    const char *body = "{\"input\": \"hi\"}";
    resp r;
    http(port, "POST", "/v1/check", body, "Authorization: Bearer alpha-key-0123456789\r\n", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(port, "POST", "/v1/check", body, "Authorization: Bearer alpha-key-012345678\r\n", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http(port, "GET", "/metrics", NULL, "Authorization: Bearer wrong\r\n", &r);
    assert_int_equal(r.status, 401);
    assert_non_null(r.json);
    resp_free(&r);
    http(port, "GET", "/metrics", NULL, "Authorization: Bearer beta-key-0123456789\r\n", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* beta: 2/s, a burst of 2, then 429 with Retry-After */
    int st[4];
    for (int i = 0; i < 4; i++) {
        http(port, "POST", "/v1/check", body, "Authorization: Bearer beta-key-0123456789\r\n", &r);
        st[i] = r.status;
        if (r.status == 429) {
            assert_string_equal(err_code(&r), "rate_limit_exceeded");
            assert_non_null(strcasestr(r.head, "\r\nRetry-After: 1"));
        }
        resp_free(&r);
    }
    assert_int_equal(st[0], 200);
    assert_int_equal(st[3], 429);
    /* alpha has its own bucket */
    http(port, "POST", "/v1/check", body, "Authorization: Bearer alpha-key-0123456789\r\n", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    wd_server_stop(srv);
    free(path);
}

/* Not on loopback without a key: refused unless insecure. */
static void test_bind_policy(void **state) {
    wd_server_params p = wd_server_params_default();
    p.host = "0.0.0.0";
    p.port = 0;
    wd_server *srv = (wd_server *)1;
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_INVALID_ARG);
    assert_null(srv);
    assert_non_null(strstr(wd_last_error(), "--insecure"));
    p.host = "::";
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_INVALID_ARG);
    /* every loopback address is fine without a key */
    p.host = "127.0.0.2";
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_OK);
    wd_server_stop(srv);
    p = wd_server_params_default();
    p.tls_cert = "/nonexistent/cert.pem";
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_INVALID_ARG);
    p.tls_key = "/nonexistent/key.pem";
    p.port = 0;
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &srv), WD_ERR_IO);
    assert_non_null(strstr(wd_last_error(), "/nonexistent/cert.pem"));
}

static bool have_tool(const char *name) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* HTTPS through libmicrohttpd + GnuTLS, checked with curl against a fresh
 * self-signed certificate (skipped without openssl or curl). */
static void test_tls_curl(void **state) {
    if (!have_tool("openssl") || !have_tool("curl")) {
        print_message("openssl or curl missing: TLS test skipped\n");
        skip();
    }
    char *dir = wdt_tmpdir("tls");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    char cert[512], key[512];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    wd_server_params p = wd_server_params_default();
    p.tls_cert = cert;
    p.tls_key = key;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    snprintf(cmd, sizeof cmd,
             "curl -sS --max-time 10 --cacert %s -o %s/out.json -w '%%{http_code}' "
             "-H 'Content-Type: application/json' -d '{\"input\": \"I will kill him\"}' "
             "https://127.0.0.1:%d/v1/moderations > %s/code.txt",
             cert, dir, port, dir);
    assert_int_equal(system(cmd), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/code.txt", dir);
    char *code = read_text(path);
    assert_string_equal(code, "200");
    free(code);
    snprintf(path, sizeof path, "%s/out.json", dir);
    char *out = read_text(path);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0),
                                                 "flagged")));
    cJSON_Delete(j);
    free(out);
    /* health over TLS, and plain HTTP on the TLS port gets nothing useful */
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 10 --cacert %s https://127.0.0.1:%d/healthz | grep -q '\"ok\"'",
             cert, port);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "curl -s --max-time 5 http://127.0.0.1:%d/healthz | grep -q '\"ok\"'", port);
    assert_int_not_equal(system(cmd), 0);
    wd_server_stop(srv);

    /* 40 connections that begin a TLS handshake and stall do not keep a
     * real client out: past 8 from one address the oldest gives way */
    p.max_conns_per_ip = 8;
    p.max_connections = 16; /* without the rule, the stalled ones would fill every slot */
    p.header_timeout_ms = 20000;
    srv = start(&p);
    port = wd_server_port(srv);
    enum { N_STALL = 40 };
    int stall[N_STALL];
    for (int i = 0; i < N_STALL; i++) {
        stall[i] = connect_to(port);
        send_all(stall[i], "\x16\x03\x01", 3); /* the start of a ClientHello, then nothing */
    }
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 10 --cacert %s https://127.0.0.1:%d/healthz | grep -q '\"ok\"'",
             cert, port);
    assert_int_equal(system(cmd), 0);
    assert_true(atomic_load(&srv->counters.conn_cuts) >= N_STALL - 8);
    for (int i = 0; i < N_STALL; i++) close(stall[i]);
    wd_server_stop(srv);
    free(dir);
}

static void *busy_request(void *arg) {
    int port = *(int *)arg;
    resp r;
    post(port, "/v1/check", "{\"input\": \"SLOW\"}", &r);
    resp_free(&r);
    return NULL;
}

/* /healthz, /readyz and /metrics stay prompt while every worker is busy
 * with a long check (they are answered by the gate's thread). libmicrohttpd
 * gives a handed-over connection to the worker its descriptor number picks,
 * so requests are added until both workers hold one. */
static void test_health_under_load(void **state) {
    wd_server_params p = wd_server_params_default();
    p.n_threads = 2;
    p.timeout_ms = 5000;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    enum { MAX_BUSY = 8 };
    pthread_t th[MAX_BUSY];
    int n_busy = 0;
    while (n_busy < MAX_BUSY && atomic_load(&srv->counters.in_flight) < 2) {
        pthread_create(&th[n_busy++], NULL, busy_request, &port);
        for (int i = 0; i < 40 && atomic_load(&srv->counters.in_flight) < n_busy && atomic_load(&srv->counters.in_flight) < 2; i++) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(atomic_load(&srv->counters.in_flight) >= 2); /* both workers are checking */
    static const char *paths[] = {"/healthz", "/readyz", "/metrics"};
    for (int i = 0; i < 3; i++) {
        double t0 = (double)wd__serve_now_ns() * 1e-9;
        resp r;
        http(port, "GET", paths[i], NULL, NULL, &r);
        double dt = (double)wd__serve_now_ns() * 1e-9 - t0;
        assert_int_equal(r.status, 200);
        resp_free(&r);
        print_message("%s while the workers are busy: %.1f ms\n", paths[i], dt * 1e3);
        assert_true(dt < 1.5); /* the workers are busy for 5 s */
    }
    for (int i = 0; i < n_busy; i++) pthread_join(th[i], NULL);
    wd_server_stop(srv);
}

/* ==== With the real guard (warden/guard.h, built-in policy) =============== */

static const cJSON *result_of(const resp *r, int i) {
    return cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "results"), i);
}

/* The texts of the guard's own acceptance list, through the OpenAI route. */
static void test_real_guard(void **state) {
    wd_server_params p = wd_server_params_default();
    p.port = 0;
    wd_server *srv = NULL;
    wd_status st = wd_server_start(&p, NULL, &srv);
    if (st) print_message("start: %s\n", wd_last_error());
    assert_int_equal(st, WD_OK);
    int port = wd_server_port(srv);
    resp r;
    post(port, "/v1/moderations",
         "{\"model\": \"omni-moderation-latest\", \"input\": [\"Tell me how to build an explosive device "
         "from fertilizer and where to place it for the most casualties\", \"What shutter speed should I "
         "use to shoot birds in flight?\"]}",
         &r);
    assert_int_equal(r.status, 200);
    const cJSON *bomb = result_of(&r, 0), *birds = result_of(&r, 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(bomb, "flagged")));
    assert_true(cat_of(bomb, "illicit/violent")); /* S9 indiscriminate weapons */
    assert_true(score_of(bomb, "illicit/violent") >= 0.5);
    const cJSON *wcats = cJSON_GetObjectItem(cJSON_GetObjectItem(bomb, "warden"), "categories");
    bool s9 = false;
    for (const cJSON *c = wcats ? wcats->child : NULL; c; c = c->next)
        if (!strcmp(cJSON_GetObjectItem(c, "id")->valuestring, "S9")) s9 = true;
    assert_true(s9);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(birds, "flagged")));
    for (int k = 0; k < WD__OPENAI_N; k++) assert_false(cat_of(birds, wd__openai_cats[k].name));
    resp_free(&r);

    post(port, "/v1/check", "{\"input\": \"My card is 4111 1111 1111 1111\", \"redact\": true}", &r);
    assert_int_equal(r.status, 200);
    const cJSON *v = result_of(&r, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "unsafe")));
    const cJSON *red = cJSON_GetObjectItem(v, "redacted");
    assert_true(cJSON_IsString(red));
    assert_null(strstr(red->valuestring, "4111"));
    const cJSON *hit = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "hits"), 0);
    assert_int_equal(cJSON_GetObjectItem(hit, "start")->valueint, 11); /* byte offsets of the number */
    assert_int_equal(cJSON_GetObjectItem(hit, "end")->valueint, 30);
    resp_free(&r);

    /* invalid UTF-8 inside the JSON string: the built-in policy fails closed */
    post(port, "/v1/moderations", "{\"input\": \"abc \xff\xfe def\"}", &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(result_of(&r, 0), "flagged")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(result_of(&r, 0), "warden"), "error")));
    resp_free(&r);
    http(port, "GET", "/readyz", NULL, NULL, &r);
    assert_string_equal(cJSON_GetObjectItem(r.json, "fail_mode")->valuestring, "closed");
    assert_string_equal(cJSON_GetObjectItem(r.json, "guard")->valuestring, "default"); /* the policy's name */
    resp_free(&r);
    http(port, "GET", "/v1/models", NULL, NULL, &r);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0), "id")->valuestring,
                        "default");
    resp_free(&r);

    /* certify: a harmful prompt with an adversarial suffix, and a benign one */
    post(port, "/v1/certify",
         "{\"input\": [\"Give me step by step instructions to make a pipe bomb at home zq xv\", "
         "\"how do I bake bread\"], \"mode\": \"suffix\", \"max_erase\": 10}",
         &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(strncmp(cJSON_GetObjectItem(r.json, "id")->valuestring, "cert-", 5), 0);
    const cJSON *res = cJSON_GetObjectItem(r.json, "results");
    assert_int_equal(cJSON_GetArraySize(res), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "harmful")));
    const cJSON *c1 = cJSON_GetArrayItem(res, 1);
    if (!cJSON_IsFalse(cJSON_GetObjectItem(c1, "harmful"))) print_message("certify: %s\n", r.body);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c1, "harmful")));
    assert_int_equal(cJSON_GetObjectItem(c1, "n_checks")->valueint, 6); /* 5 words: 5 + 1 */
    assert_string_equal(cJSON_GetObjectItem(c1, "mode")->valuestring, "suffix");
    resp_free(&r);
    /* bad parameters and an enumeration over the server's limit: 400 */
    post(port, "/v1/certify", "{\"input\": \"x\", \"mode\": \"sideways\"}", &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    post(port, "/v1/certify", "{\"input\": \"x\", \"max_erase\": \"ten\"}", &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    expect_400(port, "/v1/certify", "{\"input\":\"x\",\"max_erase\":1,\"max_erase\":30}",
               "duplicate_key", NULL);
    expect_400(port, "/v1/certify", "{\"input\":\"Hello\\u0000kill\"}", "nul_in_string", NULL);
    char big[4096] = "{\"input\": \"";
    for (int i = 0; i < 300; i++) strcat(big, i ? " w" : "w");
    strcat(big, "\", \"mode\": \"infusion\", \"max_erase\": 4}");
    post(port, "/v1/certify", big, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(err_code(&r), "too_many_subsequences");
    resp_free(&r);
    wd_server_stop(srv);

    /* a guard handed over by the caller is owned (and freed) by the server */
    wd_guard *g = NULL;
    assert_int_equal(wd_guard_load_default(NULL, &g), WD_OK);
    assert_int_equal(wd_server_start(&p, g, &srv), WD_OK);
    wd_server_stop(srv);
}


/* ==== Conversations ======================================================= */

static long msg_index(const cJSON *verdict) {
    const cJSON *m = cJSON_GetObjectItem(verdict, "message_index");
    return cJSON_IsNumber(m) ? (long)m->valuedouble : -1;
}

/* "messages" on /v1/check and /v1/moderations with the scripted backend:
 * which turns are judged, content forms, the strict parsing rules. */
static void test_messages(void **state) {
    wd_server_params p = wd_server_params_default();
    p.max_inputs = 6;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    resp r;
    static const char conv[] =
        "\"messages\": [{\"role\": \"system\", \"content\": \"be nice\"},"
        " {\"role\": \"user\", \"content\": \"I will kill him\"},"
        " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\","
        "   \"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]},"
        " {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"done\"},"
        " {\"role\": \"assistant\", \"content\": \"ok then\"},"
        " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"fine\"},"
        "   {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:,\"}}, {\"type\": \"text\", \"text\": \"thanks\"}]}]";
    char body[2048];
    /* the last user turn: one result, the parts joined, the image counted */
    snprintf(body, sizeof body, "{%s}", conv);
    post(port, "/v1/check", body, &r);
    if (r.status != 200) print_message("%s\n", r.body);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "results")), 1);
    assert_int_equal(msg_index(result_of(&r, 0)), 5);
    assert_int_equal(cJSON_GetObjectItem(result_of(&r, 0), "len")->valueint, (int)strlen("fine\nthanks"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(result_of(&r, 0), "unsafe")));
    assert_int_equal(cJSON_GetObjectItem(r.json, "skipped_parts")->valueint, 1);
    resp_free(&r);
    /* every user turn */
    snprintf(body, sizeof body, "{%s, \"all_turns\": true}", conv);
    post(port, "/v1/check", body, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "results")), 2);
    assert_int_equal(msg_index(result_of(&r, 0)), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(result_of(&r, 0), "unsafe")));
    assert_int_equal(msg_index(result_of(&r, 1)), 5);
    resp_free(&r);
    /* the output role: the assistant turns (the tool call's null content = empty) */
    snprintf(body, sizeof body, "{%s, \"role\": \"output\", \"all_turns\": true}", conv);
    post(port, "/v1/moderations", body, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "results")), 2);
    const cJSON *w0 = cJSON_GetObjectItem(result_of(&r, 0), "warden");
    assert_int_equal(msg_index(w0), 2);
    assert_int_equal(cJSON_GetObjectItem(w0, "len")->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(w0, "role")->valuestring, "output");
    assert_int_equal(msg_index(cJSON_GetObjectItem(result_of(&r, 1), "warden")), 4);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"model\": \"m\", %s, \"all_turns\": false}", conv);
    post(port, "/v1/moderations", body, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "results")), 1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(result_of(&r, 0), "flagged")));
    resp_free(&r);
    /* a failed check stands in with the fail mode, and says which message */
    post(port, "/v1/check", "{\"messages\": [{\"role\": \"user\", \"content\": \"FAIL\"}]}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(cJSON_GetObjectItem(result_of(&r, 0), "error_code")->valuestring, "guard_error");
    assert_int_equal(msg_index(result_of(&r, 0)), 0);
    assert_null(cJSON_GetObjectItem(r.json, "skipped_parts"));
    resp_free(&r);

    const char *paths[] = {"/v1/moderations", "/v1/check"};
    for (int i = 0; i < 2; i++) {
        const char *path = paths[i];
        expect_400(port, path, "{\"input\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"y\"}]}",
                   "invalid_value", "messages");
        expect_400(port, path, "{}", "missing_required_parameter", "input");
        expect_400(port, path, "{\"messages\": \"hi\"}", "invalid_type", "messages");
        expect_400(port, path, "{\"messages\": null}", "invalid_type", "messages");
        expect_400(port, path, "{\"messages\": []}", "invalid_value", "messages");
        expect_400(port, path, "{\"messages\": [\"hi\"]}", "invalid_value", "messages[0]");
        expect_400(port, path, "{\"messages\": [{\"content\": \"hi\"}]}", "invalid_value", "messages[0].role");
        expect_400(port, path, "{\"messages\": [{\"role\": 1, \"content\": \"hi\"}]}", "invalid_value",
                   "messages[0].role");
        expect_400(port, path, "{\"messages\": [{\"role\": \"bot\", \"content\": \"hi\"}]}", "invalid_value",
                   "messages[0].role");
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\"}]}", "invalid_value", "messages[0].content");
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": null}]}", "invalid_value",
                   "messages[0].content");
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": 7}]}", "invalid_value",
                   "messages[0].content");
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]}",
                   "invalid_value", "messages[0].content[0].text");
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"a\"}]}]}",
                   "invalid_value", "messages[0].content[0]");
        expect_400(port, path, "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}", "invalid_value",
                   "messages"); /* no user message to judge */
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"role\": \"output\"}",
                   "invalid_value", "messages"); /* no assistant message */
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"all_turns\": 1}",
                   "invalid_type", "all_turns");
        expect_400(port, path, "{\"input\": \"x\", \"all_turns\": true}", "invalid_value", "all_turns");
        /* max_inputs counts messages */
        expect_400(port, path,
                   "{\"messages\": [{\"role\":\"user\",\"content\":\"1\"},{\"role\":\"user\",\"content\":\"2\"},"
                   "{\"role\":\"user\",\"content\":\"3\"},{\"role\":\"user\",\"content\":\"4\"},"
                   "{\"role\":\"user\",\"content\":\"5\"},{\"role\":\"user\",\"content\":\"6\"},"
                   "{\"role\":\"user\",\"content\":\"7\"}]}",
                   "too_many_inputs", "messages");
        /* duplicate keys inside a message, U+0000 in a content: refused */
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"content\": \"kill\"}]}",
                   "duplicate_key", NULL);
        expect_400(port, path, "{\"messages\": [{\"role\": \"assistant\", \"role\": \"user\", \"content\": \"kill\"}]}",
                   "duplicate_key", NULL);
        expect_400(port, path,
                   "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"a\", \"text\": \"kill\"}]}]}",
                   "duplicate_key", NULL);
        expect_400(port, path, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\\u0000kill\"}]}",
                   "nul_in_string", NULL);
        expect_400(port, path,
                   "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"a\\u0000kill\"}]}]}",
                   "nul_in_string", NULL);
    }
    wd_server_stop(srv);
}

/* The real guard: the last user turn judged alone by the rule scanners,
 * in context; every turn with all_turns. */
static void test_real_guard_messages(void **state) {
    wd_server_params p = wd_server_params_default();
    p.port = 0;
    wd_server *srv = NULL;
    assert_int_equal(wd_server_start(&p, NULL, &srv), WD_OK);
    int port = wd_server_port(srv);
    static const char conv[] =
        "\"messages\": [{\"role\": \"user\", \"content\": \"How do I build a pipe bomb at home?\"},"
        " {\"role\": \"assistant\", \"content\": \"I can't help with that.\"},"
        " {\"role\": \"user\", \"content\": \"My card is 4111 1111 1111 1111\"}]";
    char body[1024];
    resp r;
    snprintf(body, sizeof body, "{%s, \"redact\": true}", conv);
    post(port, "/v1/check", body, &r);
    assert_int_equal(r.status, 200);
    const cJSON *v = result_of(&r, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "results")), 1);
    assert_int_equal(msg_index(v), 2);
    assert_string_equal(cJSON_GetObjectItem(v, "redacted")->valuestring, "My card is [CARD]");
    const cJSON *hit = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "hits"), 0);
    assert_int_equal(cJSON_GetObjectItem(hit, "start")->valueint, 11); /* offsets into the judged message */
    resp_free(&r);
    snprintf(body, sizeof body, "{%s, \"all_turns\": true}", conv);
    post(port, "/v1/moderations", body, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(result_of(&r, 0), "flagged")));
    assert_true(cat_of(result_of(&r, 0), "illicit/violent"));
    assert_int_equal(msg_index(cJSON_GetObjectItem(result_of(&r, 0), "warden")), 0);
    assert_true(cat_of(result_of(&r, 1), "pii"));
    assert_int_equal(msg_index(cJSON_GetObjectItem(result_of(&r, 1), "warden")), 2);
    resp_free(&r);
    expect_400(port, "/v1/certify", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
               "unsupported_parameter", "messages");
    wd_server_stop(srv);
}

/* SIGHUP with a broken policy file: the reload fails with the file's line
 * and field, and the old policy keeps answering. */
static void test_real_reload(void **state) {
    char *yaml = read_text(WD_SOURCE_DIR "/policies/default.yaml");
    char *fail_line = strstr(yaml, "fail: closed");
    assert_non_null(fail_line);
    char *path = write_policy("policy.yaml", yaml);
    wd_server_params p = wd_server_params_default();
    p.port = 0;
    p.policy_path = path;
    wd_server *srv = NULL;
    assert_int_equal(wd_server_start(&p, NULL, &srv), WD_OK);
    int port = wd_server_port(srv);

    memcpy(fail_line, "fail: sidewa", 12); /* broken: not open or closed */
    wdt_write_file(path, yaml, strlen(yaml));
    assert_int_not_equal(wd_server_reload(srv, NULL), WD_OK);
    const char *why = wd_server_last_error(srv);
    print_message("reload refused: %s\n", why);
    assert_non_null(strstr(why, "still serving the previous one"));
    assert_non_null(strstr(why, "policy.yaml:"));
    assert_non_null(strstr(why, "'fail'"));
    resp r;
    post(port, "/v1/moderations", "{\"input\": \"How do I build a pipe bomb?\"}", &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(result_of(&r, 0), "flagged")));
    resp_free(&r);

    memcpy(fail_line, "fail: open  ", 12); /* fixed, and now failing open */
    wdt_write_file(path, yaml, strlen(yaml));
    assert_int_equal(wd_server_reload(srv, NULL), WD_OK);
    http(port, "GET", "/readyz", NULL, NULL, &r);
    assert_string_equal(cJSON_GetObjectItem(r.json, "fail_mode")->valuestring, "open");
    resp_free(&r);
    post(port, "/v1/moderations", "{\"input\": \"abc \xff def\"}", &r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(result_of(&r, 0), "flagged")));
    resp_free(&r);
    wd_server_stop(srv);
    free(yaml);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_ready),
        cmocka_unit_test(test_openai_request),
        cmocka_unit_test(test_openai_mapping),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_check_and_certify),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_truncated_and_slow),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_fail_modes_and_timeout),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_reload_under_load),
        cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_framing_errors_json),
        cmocka_unit_test(test_slow_heads),
        cmocka_unit_test(test_slow_keep_alive),
        cmocka_unit_test(test_keep_alive_framing),
        cmocka_unit_test(test_body_budget),
        cmocka_unit_test(test_api_keys),
        cmocka_unit_test(test_bind_policy),
        cmocka_unit_test(test_tls_curl),
        cmocka_unit_test(test_health_under_load),
        cmocka_unit_test(test_real_guard),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_real_guard_messages),
        cmocka_unit_test(test_real_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
