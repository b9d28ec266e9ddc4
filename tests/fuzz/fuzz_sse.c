/*
 * tests/fuzz/fuzz_sse.c - the server-sent events parser (serve/sse.c) on
 * arbitrary bytes. The first byte picks max_event (small or default) and
 * the size of the pieces the rest is fed in.
 *
 * Invariants: fed whole and fed in pieces, the parser gives the same
 * events (names and data, hashed) and the same status; every event's data
 * is within max_event and NUL-terminated, its name under 64 bytes; a
 * failure is WD_ERR_RANGE or WD_ERR_CANCELLED (the callback stops after
 * 50 events).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden/base.h"
#include "base/hash.h"
#include "serve/http_client.h"

typedef struct log {
    uint64_t hash;
    size_t n, max;
} log_t;

static bool on_event(void *user, const char *event, const char *data, size_t n) {
    log_t *l = user;
    if (strlen(event) > 63 || n > l->max || data[n]) abort();
    l->hash = wd__fnv1a_more(l->hash, event, strlen(event) + 1);
    l->hash = wd__fnv1a_more(l->hash, data, n + 1);
    return ++l->n < 50;
}

static wd_status run(const char *p, size_t n, size_t step, size_t max_event, log_t *l) {
    wd__sse s;
    wd__sse_init(&s, on_event, l);
    s.max_event = max_event;
    l->hash = WD__FNV_OFFSET;
    l->max = max_event ? max_event : (size_t)1 << 20;
    wd_status st = WD_OK;
    for (size_t o = 0; o < n && !st; o += step) st = wd__sse_feed(&s, p + o, n - o < step ? n - o : step);
    wd__sse_free(&s);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t max_event = (data[0] & 1) ? 16 : 0, step = 1 + (data[0] >> 1);
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    log_t a = {0}, b = {0};
    wd_status sa = run(p, n, n ? n : 1, max_event, &a);
    wd_status sb = run(p, n, step, max_event, &b);
    if (sa != sb || a.n != b.n || a.hash != b.hash) abort();
    if (sa && sa != WD_ERR_RANGE && sa != WD_ERR_CANCELLED) abort();
    return 0;
}
