/*
 * tests/fuzz/fuzz_http_response.c - the upstream client's answer framing
 * (serve/http_framing.c) on arbitrary bytes. The first byte picks the
 * limits (small or default head and body limits), a HEAD request, and the
 * size of the pieces the rest is fed in.
 *
 * Invariants: the answer fed whole and collected, and fed in pieces and
 * streamed to a callback, end with the same status and the same body; a
 * success has a final status 200..599 and a body within the limit; a
 * failure is WD_ERR_FORMAT or WD_ERR_RANGE with a message naming the
 * upstream; header values kept have no CR or LF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden/base.h"
#include "serve/http_client.h"

typedef struct sink {
    char *b;
    size_t n;
} sink;

static bool collect(void *user, const char *d, size_t n) {
    sink *s = user;
    char *b = realloc(s->b, s->n + n);
    if (!b) abort();
    memcpy(b + s->n, d, n);
    s->b = b;
    s->n += n;
    return true;
}

static wd_status run(const char *p, size_t n, size_t step, size_t max_head, size_t max_body, bool no_body,
                     wd__http_response *r, sink *s) {
    wd__http_framer f;
    wd__http_framer_init(&f, r, "upstream fuzz:1", s ? collect : NULL, s);
    f.max_head = max_head;
    f.max_body = max_body;
    f.no_body = no_body;
    wd_status st = WD_OK;
    for (size_t o = 0; o < n && !st; o += step) st = wd__http_framer_feed(&f, p + o, n - o < step ? n - o : step);
    if (!st && !wd__http_framer_done(&f)) st = wd__http_framer_eof(&f);
    if (!st && !wd__http_framer_done(&f)) abort();
    if (st && strncmp(wd_last_error(), "upstream fuzz:1: ", 17)) abort();
    wd__http_framer_free(&f);
    return st;
}

static void check_value(const char *v) {
    if (v && (strchr(v, '\r') || strchr(v, '\n'))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    size_t max_head = (mode & 1) ? 64 : 0, max_body = (mode & 2) ? 32 : 0;
    bool no_body = mode & 4;
    size_t step = 1 + (mode >> 3);
    wd__http_response whole, parts;
    sink s = {0};
    wd_status a = run(p, n, n ? n : 1, max_head, max_body, no_body, &whole, NULL);
    wd_status b = run(p, n, step, max_head, max_body, no_body, &parts, &s);
    if (a != b) abort();
    if (a && a != WD_ERR_FORMAT && a != WD_ERR_RANGE) abort();
    if (!a) {
        if (whole.status < 200 || whole.status > 599 || whole.status != parts.status) abort();
        if (!whole.body || whole.body_len != s.n || (s.n && memcmp(whole.body, s.b, s.n))) abort();
        if (whole.body[whole.body_len]) abort();
        if (whole.body_len > (max_body ? max_body : (size_t)16 << 20)) abort();
        if (parts.body) abort();
        check_value(whole.content_type);
        check_value(whole.retry_after);
    }
    wd__http_response_free(&whole);
    wd__http_response_free(&parts);
    free(s.b);
    return 0;
}
