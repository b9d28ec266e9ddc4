/*
 * tests/unit/test_serve_ops.c - `warden serve`'s operator features over real
 * sockets on 127.0.0.1: key files with names and per-key policies, the JSON
 * access log (one parsed line per request, rotation by reload, requests
 * ended by shutdown), the gateway's metrics series, and the max_inflight
 * bound of the chat routes.
 *
 * The scripted backend's "policy files" hold one word:
 *   open | closed   fail mode, nothing extra flagged
 *   strict          like closed, and flags any text containing "borderline"
 * anything else is a broken policy. Every policy flags "kill" (S1); "SLOW"
 * runs until the deadline or until the server cancels (stopping).
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
#include "base/err.h"
#include "serve/serve_internal.h"

/* ==== The scripted backend ================================================ */

typedef struct fake_guard {
    bool fail_open, strict;
} fake_guard;

static _Atomic int fake_live; /* guards alive: checks the refcounting */

static wd_status fake_load(const char *path, const wd_server_params *sp, void **out) {
    (void)sp;
    *out = NULL;
    char word[64] = "closed";
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) return wd__fail(WD_ERR_IO, "%s: cannot open", path);
        int ok = fscanf(f, "%63s", word);
        fclose(f);
        if (ok != 1 || (strcmp(word, "open") && strcmp(word, "closed") && strcmp(word, "strict")))
            return wd__fail(WD_ERR_FORMAT, "%s: line 1: expected 'open', 'closed' or 'strict'", path);
    }
    fake_guard *g = calloc(1, sizeof *g);
    if (!g) return WD_ERR_NOMEM;
    g->fail_open = !strcmp(word, "open");
    g->strict = !strcmp(word, "strict");
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
    (void)role, (void)redact;
    for (size_t i = 0; i < n; i++) {
        if (has(texts[i], lens[i], "SLOW")) {
            while (wd__serve_now_ns() < deadline_ns && !*cancel) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            for (size_t j = 0; j < i; j++) free(out[j].json);
            return *cancel ? wd__fail(WD_ERR_CANCELLED, "cancelled") : wd__fail(WD_ERR_TIMEOUT, "deadline");
        }
        wd__serve_result *r = &out[i];
        memset(r, 0, sizeof *r);
        if (has(texts[i], lens[i], "kill") || (g->strict && has(texts[i], lens[i], "borderline")))
            r->score[WD_CATEGORY_S1] = 0.9f, r->flagged |= WD_CATMASK(WD_CATEGORY_S1);
        r->unsafe = r->flagged != 0;
        char buf[96];
        snprintf(buf, sizeof buf, "{\"unsafe\":%s,\"strict\":%s}", r->unsafe ? "true" : "false",
                 g->strict ? "true" : "false");
        r->json = strdup(buf);
    }
    return WD_OK;
}

static const wd__serve_backend fake_backend = {
    "scripted", fake_load, fake_free, fake_fail_open, fake_check, NULL, NULL, NULL,
};

/* ==== A tiny HTTP client ================================================== */

typedef struct resp {
    int status;
    char *head, *body;
    cJSON *json;
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

static void send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return;
        p += k;
        n -= (size_t)k;
    }
}

/* Reads one answer (up to Content-Length, or until the server closes). */
static bool read_resp(int fd, resp *r) {
    memset(r, 0, sizeof *r);
    size_t cap = 1 << 16, len = 0, head_end = 0;
    char *buf = malloc(cap);
    long want = -1;
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
    r->body = strdup(buf + head_end);
    r->json = cJSON_Parse(r->body);
    free(buf);
    return true;
}

/* One request on a fresh connection; key: the bearer token or NULL. */
static void http(int port, const char *method, const char *path, const char *body, const char *key,
                 const char *extra, resp *r) {
    int fd = connect_to(port);
    char head[1024];
    snprintf(head, sizeof head,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s%sContent-Length: %zu\r\n\r\n",
             method, path, key ? "Authorization: Bearer " : "", key ? key : "", key ? "\r\n" : "",
             extra ? extra : "", body ? strlen(body) : 0);
    send_all(fd, head, strlen(head));
    if (body) send_all(fd, body, strlen(body));
    assert_true(read_resp(fd, r));
    close(fd);
}

static bool unsafe0(const resp *r) {
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "results"), 0);
    return cJSON_IsTrue(cJSON_GetObjectItem(v, "unsafe"));
}

static char *tmpfile_in(const char *dir, const char *name, const char *text) {
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    if (text) wdt_write_file(path, text, strlen(text));
    return path;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

/* Parses a JSON-lines file: every line one object; returns them as an array. */
static cJSON *read_log(const char *path) {
    char *text = read_text(path);
    cJSON *arr = cJSON_CreateArray();
    char *save = NULL;
    assert_true(!text[0] || text[strlen(text) - 1] == '\n'); /* whole lines only */
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) print_message("not a JSON object: %s\n", line);
        assert_true(cJSON_IsObject(o));
        cJSON_AddItemToArray(arr, o);
    }
    free(text);
    return arr;
}

static const char *str_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int int_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* The line whose "id" is id; NULL if none. */
static const cJSON *line_with_id(const cJSON *log, const char *id) {
    const cJSON *o;
    cJSON_ArrayForEach(o, log) if (str_of(o, "id") && !strcmp(str_of(o, "id"), id)) return o;
    return NULL;
}

static wd_server *start(wd_server_params *p) {
    p->host = "127.0.0.1";
    p->port = 0;
    wd_server *srv = NULL;
    wd_status st = wd__server_start_backend(p, &fake_backend, NULL, &srv);
    if (st) print_message("start: %s\n", wd_last_error());
    assert_int_equal(st, WD_OK);
    return srv;
}

/* Waits (up to 4 s) until the file at path has n lines: a request is
 * logged when it ends, which can be just after the client read the answer
 * (the gate sends first, then writes the line). */
static void wait_lines(const char *path, int n) {
    for (int i = 0; i < 4000; i++) {
        char *t = read_text(path);
        int k = 0;
        for (char *p = t; *p; p++) k += *p == '\n';
        free(t);
        if (k >= n) return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* A request is logged when MHD reports it complete, which can be just after
 * the client read the answer. */
static void settle(wd_server *srv) {
    for (int i = 0; i < 4000 && atomic_load(&srv->counters.in_flight) > 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

#define KEY_A "alpha-key-0123456789"
#define KEY_B "bravo-key-0123456789"
#define KEY_C "charlie-key-0123456789"

/* ==== Key files =========================================================== */

static void test_key_file_fields(void **state) {
    char *dir = wdt_tmpdir("serve_ops_keys");
    char *strict = tmpfile_in(dir, "strict.policy", "strict\n");
    char *keys = tmpfile_in(dir, "keys.txt",
                            "# tenants\n"
                            KEY_A " 5/s name=search policy=strict.policy   # own policy\n"
                            KEY_B " policy=" "/dev/null name=batch\n"
                            KEY_C "\n");
    wd_server_key *k = NULL;
    int n = 0;
    assert_int_equal(wd_server_keys_read(keys, &k, &n), WD_OK);
    assert_int_equal(n, 3);
    assert_string_equal(k[0].name, "search");
    assert_float_equal(k[0].rate, 5.0, 1e-9);
    assert_string_equal(k[0].policy_path, strict); /* relative to the key file's folder */
    assert_string_equal(k[1].name, "batch");
    assert_string_equal(k[1].policy_path, "/dev/null");
    assert_true(k[1].rate == 0);
    assert_null(k[2].name);
    assert_null(k[2].policy_path);
    wd_server_keys_free(k, n);

    static const char *bad[][2] = {
        {KEY_A " colour=blue\n", ":1: unknown field 'colour='"},
        {KEY_A " name=a\n" KEY_B " name=a\n", ":2: duplicate name 'a'"},
        {KEY_A " name=anonymous\n", ":1: name 'anonymous'"},
        {KEY_A " name=key-3\n", ":1: name 'key-3'"},
        {KEY_A " name=sp@ce\n", ":1: name 'sp@ce'"},
        {KEY_A " name=a name=b\n", ":1: name= given twice"},
        {KEY_A " name=\n", ":1: name= is empty"},
        {KEY_A " name=a 5/s\n", ":1: unexpected text '5/s'"},
        {"\n" KEY_A " policy=missing.policy\n", ":2: policy "},
        {KEY_A " 5/s extra\n", ":1: unexpected text"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *bp = tmpfile_in(dir, "bad.txt", bad[i][0]);
        wd_server_key *bk = (wd_server_key *)1;
        int bn = 7;
        assert_int_not_equal(wd_server_keys_read(bp, &bk, &bn), WD_OK);
        assert_null(bk);
        assert_int_equal(bn, 0);
        if (!strstr(wd_last_error(), bad[i][1])) print_message("%zu: %s\n", i, wd_last_error());
        assert_non_null(strstr(wd_last_error(), bad[i][1]));
        assert_non_null(strstr(wd_last_error(), bp));
        free(bp);
    }
    /* a missing policy names the resolved path */
    char *bp = tmpfile_in(dir, "bad.txt", KEY_A " policy=missing.policy\n");
    wd_server_key *bk;
    int bn;
    assert_int_equal(wd_server_keys_read(bp, &bk, &bn), WD_ERR_IO);
    if (!strstr(wd_last_error(), "/missing.policy: cannot read")) print_message("%s\n", wd_last_error());
    assert_non_null(strstr(wd_last_error(), "/missing.policy: cannot read"));
    assert_non_null(strstr(wd_last_error(), dir));
    free(bp);
    free(strict);
    free(keys);
    free(dir);
}

/* Two keys, two policies that disagree on a text: each request is checked
 * with its key's policy; reload rebuilds them; a broken one keeps all. */
static void test_per_key_policy(void **state) {
    char *dir = wdt_tmpdir("serve_ops_policy");
    char *strict = tmpfile_in(dir, "strict.policy", "strict\n");
    char *lax = tmpfile_in(dir, "lax.policy", "open\n");
    char *keys = tmpfile_in(dir, "keys.txt",
                            KEY_A " name=strictly policy=strict.policy\n"
                            KEY_B " name=laxly policy=lax.policy\n"
                            KEY_C " policy=strict.policy\n"); /* the same file: loaded once */
    wd_server_key *k = NULL;
    int n = 0;
    assert_int_equal(wd_server_keys_read(keys, &k, &n), WD_OK);
    int live0 = atomic_load(&fake_live);
    wd_server_params p = wd_server_params_default();
    p.keys = k;
    p.n_keys = n;
    p.api_key = "delta-key-0123456789"; /* no policy of its own: the server's (built-in) */
    wd_server *srv = start(&p);
    wd_server_keys_free(k, n);
    assert_int_equal(srv->n_kpol, 2);
    assert_int_equal(atomic_load(&fake_live), live0 + 3);
    int port = wd_server_port(srv);
    const char *body = "{\"input\": \"a borderline text\"}";
    resp r;
    http(port, "POST", "/v1/check", body, KEY_A, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(unsafe0(&r));
    resp_free(&r);
    http(port, "POST", "/v1/check", body, KEY_B, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_false(unsafe0(&r));
    resp_free(&r);
    http(port, "POST", "/v1/check", body, KEY_C, NULL, &r);
    assert_true(unsafe0(&r));
    resp_free(&r);
    http(port, "POST", "/v1/check", body, "delta-key-0123456789", NULL, &r);
    assert_false(unsafe0(&r));
    resp_free(&r);
    http(port, "POST", "/v1/moderations", body, KEY_A, NULL, &r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "results"), 0),
                                                 "flagged")));
    resp_free(&r);

    /* a broken per-key policy: the reload fails and every old guard serves */
    wdt_write_file(strict, "stirct\n", 7);
    assert_int_not_equal(wd_server_reload(srv, NULL), WD_OK);
    assert_non_null(strstr(wd_server_last_error(srv), "strict.policy"));
    http(port, "POST", "/v1/check", body, KEY_A, NULL, &r);
    assert_true(unsafe0(&r));
    resp_free(&r);
    assert_int_equal(atomic_load(&fake_live), live0 + 3);
    /* fixed (now lax): the reload swaps all three */
    wdt_write_file(strict, "open\n", 5);
    assert_int_equal(wd_server_reload(srv, NULL), WD_OK);
    http(port, "POST", "/v1/check", body, KEY_A, NULL, &r);
    assert_false(unsafe0(&r));
    resp_free(&r);
    assert_int_equal(atomic_load(&fake_live), live0 + 3);
    wd_server_stop(srv);
    assert_int_equal(atomic_load(&fake_live), live0);

    /* a per-key policy that does not load stops the start, naming the key */
    wdt_write_file(strict, "stirct\n", 7);
    assert_int_equal(wd_server_keys_read(keys, &k, &n), WD_OK);
    wd_server_params q = wd_server_params_default();
    q.keys = k;
    q.n_keys = n;
    q.host = "127.0.0.1";
    q.port = 0;
    wd_server *bad = NULL;
    assert_int_not_equal(wd__server_start_backend(&q, &fake_backend, NULL, &bad), WD_OK);
    assert_null(bad);
    assert_non_null(strstr(wd_last_error(), "API key 'strictly'"));
    assert_non_null(strstr(wd_last_error(), "strict.policy"));
    wd_server_keys_free(k, n);
    assert_int_equal(atomic_load(&fake_live), live0);
    free(strict);
    free(lax);
    free(keys);
    free(dir);
}

/* ==== Access log ========================================================== */

static void test_access_log(void **state) {
    char *dir = wdt_tmpdir("serve_ops_log");
    char *log = tmpfile_in(dir, "access.log", NULL);
    unlink(log);
    wd_server_key keys[2] = {{.key = KEY_A, .name = "search"}, {.key = KEY_B, .rate = 0.001}};
    wd_server_params p = wd_server_params_default();
    p.keys = keys;
    p.n_keys = 2;
    p.access_log = log;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    resp r;
    int sent = 0;
    http(port, "POST", "/v1/check", "{\"input\": [\"kill it\", \"fine\"]}", KEY_A, "X-Request-Id: mine-1\r\n", &r);
    sent++;
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "\r\nx-request-id: mine-1\r\n"));
    resp_free(&r);
    http(port, "POST", "/v1/moderations", "{\"input\": \"hello\"}", KEY_B, "X-Request-Id: mine-2\r\n", &r);
    sent++;
    resp_free(&r);
    http(port, "POST", "/v1/moderations", "{\"input\": \"hello\"}", KEY_B, "X-Request-Id: mine-3\r\n", &r);
    sent++;
    assert_int_equal(r.status, 429); /* the bucket holds one */
    resp_free(&r);
    http(port, "POST", "/v1/check", "{\"input\": \"x\"}", "wrong-key-0123456789", "X-Request-Id: mine-4\r\n", &r);
    sent++;
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http(port, "GET", "/nowhere?q=1", NULL, KEY_A, "X-Request-Id: mine-5\r\n", &r);
    sent++;
    assert_int_equal(r.status, 404);
    resp_free(&r);
    http(port, "GET", "/healthz", NULL, NULL, "X-Request-Id: mine-6\r\n", &r); /* the gate answers */
    sent++;
    resp_free(&r);
    http(port, "GET", "/metrics", NULL, KEY_A, "X-Request-Id: mine-7\r\n", &r);
    sent++;
    resp_free(&r);
    http(port, "POST", "/v1/check", "{bad", KEY_A, "X-Request-Id: mine-8\r\n", &r);
    sent++;
    assert_int_equal(r.status, 400);
    resp_free(&r);
    { /* a framing error the gate answers: no trusted head */
        int fd = connect_to(port);
        const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        send_all(fd, req, sizeof req - 1);
        assert_true(read_resp(fd, &r));
        assert_int_equal(r.status, 400);
        resp_free(&r);
        close(fd);
        sent++;
    }
    settle(srv);
    wait_lines(log, sent);
    cJSON *lg = read_log(log);
    assert_int_equal(cJSON_GetArraySize(lg), sent);
    const cJSON *o;
    cJSON_ArrayForEach(o, lg) {
        static const char *members[] = {"ts", "id", "remote", "key", "method", "path", "status",
                                        "bytes_in", "bytes_out", "duration_ms", "route"};
        for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
            assert_non_null(cJSON_GetObjectItem(o, members[i]));
        const char *ts = str_of(o, "ts");
        assert_non_null(ts);
        assert_int_equal(strlen(ts), 24); /* 2026-12-06T19:05:16.123Z */
        assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
        assert_true(cJSON_GetObjectItem(o, "duration_ms")->valuedouble >= 0);
    }
    const cJSON *a = line_with_id(lg, "mine-1");
    assert_non_null(a);
    assert_string_equal(str_of(a, "key"), "search");
    assert_string_equal(str_of(a, "method"), "POST");
    assert_string_equal(str_of(a, "path"), "/v1/check");
    assert_string_equal(str_of(a, "route"), "/v1/check");
    assert_string_equal(str_of(a, "remote"), "127.0.0.1");
    assert_int_equal(int_of(a, "status"), 200);
    assert_int_equal(int_of(a, "bytes_in"), (int)strlen("{\"input\": [\"kill it\", \"fine\"]}"));
    assert_true(int_of(a, "bytes_out") > 10);
    assert_int_equal(int_of(a, "inputs"), 2); /* the route's members */
    assert_int_equal(int_of(a, "flagged"), 1);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(a, "categories"), 0)->valuestring, "S1");
    assert_null(cJSON_GetObjectItem(a, "aborted"));
    assert_string_equal(str_of(line_with_id(lg, "mine-2"), "key"), "key-2"); /* unnamed: by position */
    assert_int_equal(int_of(line_with_id(lg, "mine-3"), "status"), 429);
    assert_string_equal(str_of(line_with_id(lg, "mine-3"), "key"), "key-2");
    assert_int_equal(int_of(line_with_id(lg, "mine-4"), "status"), 401);
    assert_string_equal(str_of(line_with_id(lg, "mine-4"), "key"), "anonymous");
    assert_int_equal(int_of(line_with_id(lg, "mine-5"), "status"), 404);
    assert_string_equal(str_of(line_with_id(lg, "mine-5"), "route"), "other");
    assert_string_equal(str_of(line_with_id(lg, "mine-5"), "path"), "/nowhere");
    assert_int_equal(int_of(line_with_id(lg, "mine-6"), "status"), 200);
    assert_string_equal(str_of(line_with_id(lg, "mine-6"), "route"), "/healthz");
    assert_string_equal(str_of(line_with_id(lg, "mine-7"), "key"), "search"); /* gate, with a key */
    assert_int_equal(int_of(line_with_id(lg, "mine-8"), "status"), 400);
    /* the gate's framing error: a line with a fresh id and no method */
    int framing = 0;
    cJSON_ArrayForEach(o, lg) if (cJSON_IsNull(cJSON_GetObjectItem(o, "method"))) {
        framing++;
        assert_int_equal(int_of(o, "status"), 400);
        assert_int_equal(strncmp(str_of(o, "id"), "req-", 4), 0);
    }
    assert_int_equal(framing, 1);
    cJSON_Delete(lg);
    /* never a key in the log */
    char *text = read_text(log);
    assert_null(strstr(text, KEY_A));
    assert_null(strstr(text, KEY_B));
    assert_null(strstr(text, "wrong-key"));
    free(text);

    /* per-key metrics: named keys, "unnamed", "anonymous" */
    http(port, "GET", "/metrics", NULL, KEY_A, NULL, &r);
    assert_non_null(strstr(r.body, "warden_key_requests_total{key=\"search\",class=\"2xx\"} "));
    assert_non_null(strstr(r.body, "warden_key_requests_total{key=\"unnamed\",class=\"4xx\"} 1\n"));
    /* 401, the 404 (refused before any key is read) and the framing error */
    assert_non_null(strstr(r.body, "warden_key_requests_total{key=\"anonymous\",class=\"4xx\"} 3\n"));
    assert_null(strstr(r.body, KEY_A));
    resp_free(&r);
    wd_server_stop(srv);
    free(log);
    free(dir);
}

/* Rotation: rename the file away, reload, and the next lines go to a new
 * file at the path; none is lost. */
static void test_access_log_rotation(void **state) {
    char *dir = wdt_tmpdir("serve_ops_rotate");
    char *log = tmpfile_in(dir, "access.log", NULL);
    char *old = tmpfile_in(dir, "access.log.1", NULL);
    unlink(log);
    unlink(old);
    wd_server_params p = wd_server_params_default();
    p.access_log = log;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    resp r;
    http(port, "POST", "/v1/check", "{\"input\": \"one\"}", NULL, "X-Request-Id: before\r\n", &r);
    resp_free(&r);
    settle(srv);
    assert_int_equal(rename(log, old), 0);
    http(port, "POST", "/v1/check", "{\"input\": \"two\"}", NULL, "X-Request-Id: between\r\n", &r);
    resp_free(&r);
    settle(srv);
    assert_int_equal(wd_server_reload(srv, NULL), WD_OK);
    http(port, "POST", "/v1/check", "{\"input\": \"three\"}", NULL, "X-Request-Id: after\r\n", &r);
    resp_free(&r);
    wd_server_stop(srv); /* every line written */
    cJSON *a = read_log(old), *b = read_log(log);
    assert_int_equal(cJSON_GetArraySize(a), 2);
    assert_non_null(line_with_id(a, "before"));
    assert_non_null(line_with_id(a, "between"));
    assert_int_equal(cJSON_GetArraySize(b), 1);
    assert_non_null(line_with_id(b, "after"));
    cJSON_Delete(a);
    cJSON_Delete(b);

    /* stderr ("-") and an unopenable path */
    p = wd_server_params_default();
    p.access_log = "-";
    srv = start(&p);
    assert_int_equal(wd_server_reload(srv, NULL), WD_OK); /* nothing to reopen */
    wd_server_stop(srv);
    p.access_log = "/nonexistent-dir/access.log";
    p.host = "127.0.0.1";
    p.port = 0;
    wd_server *bad = NULL;
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &bad), WD_ERR_IO);
    assert_non_null(strstr(wd_last_error(), "access log /nonexistent-dir/access.log: cannot open"));
    free(log);
    free(old);
    free(dir);
}

/* Shutdown: a check cancelled by the grace period (503) and a request whose
 * body never came (closed by the stop) both have their line. */
typedef struct pending {
    int port;
    resp r;
} pending;

static void *slow_check(void *arg) {
    pending *pd = arg;
    http(pd->port, "POST", "/v1/check", "{\"input\": \"SLOW\"}", NULL, "X-Request-Id: slow-1\r\n", &pd->r);
    return NULL;
}

static void test_access_log_shutdown(void **state) {
    char *dir = wdt_tmpdir("serve_ops_stop");
    char *log = tmpfile_in(dir, "access.log", NULL);
    unlink(log);
    wd_server_params p = wd_server_params_default();
    p.access_log = log;
    p.shutdown_grace_ms = 600;
    p.n_threads = 2;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    pending pd = {.port = port};
    pthread_t t;
    pthread_create(&t, NULL, slow_check, &pd);
    /* a body that never completes */
    int fd = connect_to(port);
    const char head[] = "POST /v1/check HTTP/1.1\r\nHost: a\r\nX-Request-Id: half-1\r\nContent-Length: 100\r\n\r\n{\"in";
    send_all(fd, head, sizeof head - 1);
    for (int i = 0; i < 2000 && atomic_load(&srv->counters.in_flight) < 2; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&srv->counters.in_flight), 2);
    wd_server_stop(srv);
    pthread_join(t, NULL);
    assert_int_equal(pd.r.status, 503);
    resp_free(&pd.r);
    close(fd);
    cJSON *lg = read_log(log);
    assert_int_equal(cJSON_GetArraySize(lg), 2);
    const cJSON *s = line_with_id(lg, "slow-1"), *h = line_with_id(lg, "half-1");
    assert_non_null(s);
    assert_int_equal(int_of(s, "status"), 503);
    assert_non_null(h);
    assert_int_equal(int_of(h, "status"), 499);
    assert_string_equal(str_of(h, "aborted"), "shutdown");
    assert_int_equal(int_of(h, "bytes_in"), 4);
    cJSON_Delete(lg);
    free(log);
    free(dir);
}

/* ==== Metrics and the bounded queue ======================================= */

static long metric(const char *text, const char *line_prefix) {
    for (const char *p = strstr(text, line_prefix); p; p = strstr(p + 1, line_prefix))
        if (p == text || p[-1] == '\n') return strtol(p + strlen(line_prefix), NULL, 10);
    return -1;
}

static void test_gateway_metrics(void **state) {
    wd_server_params p = wd_server_params_default();
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    wd__counters_rail(&srv->counters, WD__RAIL_OUTPUT, WD__RAIL_ACTION_REVISE);
    wd__counters_rail(&srv->counters, WD__RAIL_STREAM, WD__RAIL_ACTION_BLOCK);
    wd__counters_rail(&srv->counters, WD__RAIL_STREAM, WD__RAIL_ACTION_BLOCK);
    wd__counters_upstream(&srv->counters, WD__UPSTREAM_TIMEOUT, 3.0);
    wd__counters_upstream(&srv->counters, wd__upstream_class_of(502), 0.02);
    wd__counters_upstream(&srv->counters, wd__upstream_class_of(200), 0.3);
    assert_int_equal(wd__upstream_class_of(404), WD__UPSTREAM_4XX);
    assert_int_equal(wd__upstream_class_of(0), WD__UPSTREAM_ERROR);
    assert_string_equal(wd__rail_name(WD__RAIL_STREAM), "stream");
    assert_string_equal(wd__rail_action_name(WD__RAIL_ACTION_REDACT), "redact");
    resp r;
    http(port, "GET", "/metrics", NULL, NULL, NULL, &r);
    const char *m = r.body;
    /* every rail x action series exists from the start */
    static const char *rails[] = {"input", "output", "stream"};
    static const char *acts[] = {"allow", "flag", "redact", "block", "warn", "revise", "error"};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 7; j++) {
            char pfx[128];
            snprintf(pfx, sizeof pfx, "warden_rail_total{rail=\"%s\",action=\"%s\"} ", rails[i], acts[j]);
            long want = (i == 1 && j == 5) ? 1 : (i == 2 && j == 3) ? 2 : 0;
            assert_int_equal(metric(m, pfx), want);
        }
    assert_int_equal(metric(m, "warden_upstream_requests_total{status=\"timeout\"} "), 1);
    assert_int_equal(metric(m, "warden_upstream_requests_total{status=\"5xx\"} "), 1);
    assert_int_equal(metric(m, "warden_upstream_requests_total{status=\"2xx\"} "), 1);
    assert_int_equal(metric(m, "warden_upstream_requests_total{status=\"error\"} "), 0);
    assert_int_equal(metric(m, "warden_upstream_seconds_bucket{le=\"0.025\"} "), 1);
    assert_int_equal(metric(m, "warden_upstream_seconds_bucket{le=\"2.5\"} "), 2);
    assert_int_equal(metric(m, "warden_upstream_seconds_bucket{le=\"5\"} "), 3);
    assert_int_equal(metric(m, "warden_upstream_seconds_bucket{le=\"+Inf\"} "), 3);
    assert_int_equal(metric(m, "warden_upstream_seconds_count "), 3);
    assert_int_equal(metric(m, "warden_chat_inflight "), 0);
    assert_non_null(strstr(m, "# TYPE warden_upstream_seconds histogram\n"));
    resp_free(&r);
    wd_server_stop(srv);
}

static void test_max_inflight(void **state) {
    wd_server_params p = wd_server_params_default();
    p.max_inflight = 2;
    wd_server *srv = start(&p);
    int port = wd_server_port(srv);
    resp r;
    /* the chat routes exist (404 no_chat_model without --upstream or --model) */
    http(port, "POST", "/v1/chat/completions", "{}", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "code")->valuestring,
                        "no_chat_model");
    resp_free(&r);
    http(port, "GET", "/v1/completions", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    resp_free(&r);
    settle(srv);
    assert_int_equal(atomic_load(&srv->counters.chat_inflight), 0); /* the slot was given back */
    /* all slots taken: 503 with Retry-After, before the body is read */
    assert_true(wd__server_inflight_enter(srv));
    assert_true(wd__server_inflight_enter(srv));
    assert_false(wd__server_inflight_enter(srv));
    http(port, "POST", "/v1/chat/completions", "{}", NULL, NULL, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "code")->valuestring,
                        "server_busy");
    assert_non_null(strcasestr(r.head, "\r\nRetry-After: 1\r\n"));
    resp_free(&r);
    /* other routes are not bounded by it */
    http(port, "POST", "/v1/check", "{\"input\": \"x\"}", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(port, "GET", "/metrics", NULL, NULL, NULL, &r);
    assert_int_equal(metric(r.body, "warden_chat_inflight "), 2);
    assert_int_equal(metric(r.body, "warden_http_requests_total{route=\"/v1/chat/completions\",code=\"503\"} "), 1);
    assert_int_equal(metric(r.body, "warden_http_requests_total{route=\"/v1/chat/completions\",code=\"404\"} "), 1);
    resp_free(&r);
    wd__server_inflight_leave(srv);
    wd__server_inflight_leave(srv);
    http(port, "POST", "/v1/completions", "{}", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    wd_server_stop(srv);

    p.max_inflight = 0;
    p.host = "127.0.0.1";
    p.port = 0;
    wd_server *bad = NULL;
    assert_int_equal(wd__server_start_backend(&p, &fake_backend, NULL, &bad), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "max in-flight"));
}

/* The log_extra helpers: fragments joined with commas. */
static void test_log_extra(void **state) {
    wd__answer a = {0};
    wd__answer_log_add(&a, "\"model\":\"m\"");
    wd__answer_log_add(&a, "");
    wd__answer_log_printf(&a, "\"stream\":%s,\"tokens\":%d", "true", 12);
    assert_string_equal(a.log_extra, "\"model\":\"m\",\"stream\":true,\"tokens\":12");
    char obj[128];
    snprintf(obj, sizeof obj, "{%s}", a.log_extra);
    cJSON *o = cJSON_Parse(obj);
    assert_non_null(o);
    cJSON_Delete(o);
    free(a.log_extra);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_file_fields),
        cmocka_unit_test(test_per_key_policy),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_access_log_rotation),
        cmocka_unit_test(test_access_log_shutdown),
        cmocka_unit_test(test_gateway_metrics),
        cmocka_unit_test(test_max_inflight),
        cmocka_unit_test(test_log_extra),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
