/*
 * tests/fuzz/fuzz_serve_head.c - the gate's request-head parser and
 * chunked-body checker (serve/http_head.c) on arbitrary bytes. Invariants: the
 * parser answers 1, 0 or -1; a complete head lies inside the input, its
 * method and target inside its request line, its Content-Length within the
 * body limit, and it is never longer than the head limit; an error has one
 * of the statuses the gate answers and a code; a prefix of a complete head
 * is never complete with a different length (bytes arriving later never
 * change a decision made on the bytes before them); a chunked body gives
 * the same decision whole or split in two, and never more than the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_internal.h"

#define MAX_BODY 4096

static void check_err(const wd__http_err *e) {
    static const int ok[] = {400, 413, 414, 431, 501, 505};
    bool found = false;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) found |= e->status == ok[i];
    if (!found || !e->code || !e->code[0] || !memchr(e->msg, 0, sizeof e->msg)) abort();
}

/* The body through the chunk checker whole, then split in two at a point
 * its first byte picks: the same decision, the same bytes taken. */
static void check_chunks(const char *b, size_t n) {
    wd__http_chunker c1, c2;
    wd__http_err e1, e2;
    wd__http_chunker_init(&c1);
    long k1 = wd__http_chunker_feed(&c1, b, n, MAX_BODY, &e1);
    if (k1 < -1 || k1 > (long)n || (k1 >= 0 && k1 < (long)n && !wd__http_chunker_done(&c1))) abort();
    if (k1 < 0) check_err(&e1);
    size_t cut = n ? (unsigned char)b[0] % (n + 1) : 0;
    wd__http_chunker_init(&c2);
    long a = wd__http_chunker_feed(&c2, b, cut, MAX_BODY, &e2), k2 = a;
    if (a >= 0 && !wd__http_chunker_done(&c2)) {
        if (a != (long)cut) abort();
        long r = wd__http_chunker_feed(&c2, b + cut, n - cut, MAX_BODY, &e2);
        k2 = r < 0 ? -1 : a + r;
    }
    if (k1 != k2 || wd__http_chunker_done(&c1) != wd__http_chunker_done(&c2)) abort();
    if (k1 < 0 && (e1.status != e2.status || strcmp(e1.code, e2.code))) abort();
    if (k1 >= 0 && c1.total > MAX_BODY) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *b = (const char *)data;
    wd__http_head h;
    wd__http_err e;
    int r = wd__http_head_parse(b, size, MAX_BODY, &h, &e);
    if (r < -1 || r > 1) abort();
    if (r < 0) check_err(&e);
    if (r == 1) {
        if (h.len > size || h.len > WD__HTTP_MAX_HEAD) abort();
        if (h.method < b || h.method + h.method_len > b + h.len) abort();
        if (h.target < b || h.target + h.target_len > b + h.len || h.target_len == 0) abort();
        if (h.has_cl && h.cl > MAX_BODY) abort();
        if (h.chunked && h.has_cl) abort();
        if (h.authz && (h.authz < b || h.authz + h.authz_len > b + h.len)) abort();
        if (h.chunked) check_chunks(b + h.len, size - h.len);
        /* the same head with nothing after it: the same decision */
        wd__http_head h2;
        if (wd__http_head_parse(b, h.len, MAX_BODY, &h2, &e) != 1 || h2.len != h.len) abort();
    }
    if (r == 0 && size > WD__HTTP_MAX_HEAD) abort(); /* undecided only while small */
    return 0;
}
