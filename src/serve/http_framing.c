/*
 * serve/http_framing.c - the framing of one HTTP/1.1 answer (RFC 9112): the
 * status line and headers, interim 1xx answers, and a body delimited by
 * chunked transfer coding, Content-Length or the end of the connection.
 *
 * A push parser: wd__http_framer_feed takes bytes as they arrive, split
 * anywhere, so the upstream client (http_client.c) feeds it from a socket
 * and the fuzz target from memory, and both see the same decisions. The
 * rules it enforces are listed above wd__http_framer in http_client.h.
 *
 * Invariants: the head buffer never holds more than max_head bytes; the
 * collected body never more than max_body (plus its NUL); nothing is
 * handed to on_body past max_body; a failure is sticky.
 *
 *   HEAD --(final head)--> CL | CHUNK_SIZE | TO_EOF | DONE
 *   CHUNK_SIZE --> CHUNK_DATA --> CHUNK_END --> CHUNK_SIZE
 *   CHUNK_SIZE("0") --> TRAILER --(empty line)--> DONE
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "serve/http_client.h"

enum { F_HEAD, F_CL, F_CHUNK_SIZE, F_CHUNK_DATA, F_CHUNK_END, F_TRAILER, F_TO_EOF, F_DONE };

#define DEFAULT_MAX_HEAD ((size_t)64 << 10)
#define DEFAULT_MAX_BODY ((size_t)16 << 20)
#define MAX_INTERIM 8
#define MAX_CHUNK ((uint64_t)1 << 60)

static size_t max_head(const wd__http_framer *f) { return f->max_head ? f->max_head : DEFAULT_MAX_HEAD; }
static size_t max_body(const wd__http_framer *f) { return f->max_body ? f->max_body : DEFAULT_MAX_BODY; }

static wd_status fail(wd__http_framer *f, wd_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static wd_status fail(wd__http_framer *f, wd_status st, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    f->failed = st;
    return wd__fail(st, "%s: %s", f->who, msg);
}

/* Up to 40 bytes of s for a message, non-printable bytes as '?'. */
static const char *quote(char out[48], const char *s, size_t n) {
    size_t k = n < 40 ? n : 40;
    for (size_t i = 0; i < k; i++) out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    strcpy(out + k, n > k ? "..." : "");
    return out;
}

static bool is_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}
static bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }
static bool is_ows(char c) { return c == ' ' || c == '\t'; }

void wd__http_framer_init(wd__http_framer *f, wd__http_response *resp, const char *who,
                          wd__http_body_fn on_body, void *user) {
    memset(f, 0, sizeof *f);
    memset(resp, 0, sizeof *resp);
    f->resp = resp;
    f->on_body = on_body;
    f->user = user;
    snprintf(f->who, sizeof f->who, "%s", who ? who : "upstream");
    f->state = F_HEAD;
}

void wd__http_framer_free(wd__http_framer *f) {
    if (!f) return;
    free(f->head);
    f->head = NULL;
    f->head_len = 0;
}

bool wd__http_framer_done(const wd__http_framer *f) { return !f->failed && f->state == F_DONE; }
bool wd__http_framer_has_head(const wd__http_framer *f) { return f->resp->status >= 200; }

/* ==== Body bytes ============================================================ */

static wd_status emit(wd__http_framer *f, const char *p, size_t n) {
    if (n == 0) return WD_OK;
    if (n > max_body(f) - f->body_total)
        return fail(f, WD_ERR_RANGE, "answer body over the limit of %zu bytes", max_body(f));
    f->body_total += n;
    if (f->on_body) {
        if (!f->on_body(f->user, p, n)) return fail(f, WD_ERR_CANCELLED, "the reader stopped the answer body");
        return WD_OK;
    }
    wd__http_response *r = f->resp;
    if (r->body_len + n + 1 > f->body_cap) {
        size_t cap = f->body_cap ? f->body_cap : 4096;
        while (cap < r->body_len + n + 1) cap *= 2;
        if (cap > max_body(f) + 1) cap = max_body(f) + 1;
        char *b = realloc(r->body, cap);
        if (!b) return fail(f, WD_ERR_NOMEM, "out of memory for the answer body");
        r->body = b;
        f->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
    return WD_OK;
}

static wd_status finish(wd__http_framer *f) {
    f->state = F_DONE;
    if (!f->on_body && !f->resp->body) {
        f->resp->body = calloc(1, 1);
        if (!f->resp->body) return fail(f, WD_ERR_NOMEM, "out of memory for the answer body");
    }
    return WD_OK;
}

/* ==== The head ============================================================= */

/* The fields of one head the framing needs; strings point into the head. */
typedef struct head_fields {
    int status;
    bool http10, chunked, has_cl;
    uint64_t cl;
    const char *ctype, *retry;
    size_t ctype_len, retry_len;
} head_fields;

static wd_status parse_status_line(wd__http_framer *f, const char *s, size_t n, head_fields *h) {
    char q[48];
    if (n < 12 || (memcmp(s, "HTTP/1.1 ", 9) && memcmp(s, "HTTP/1.0 ", 9)))
        return fail(f, WD_ERR_FORMAT, "not an HTTP/1.x answer: '%s'", quote(q, s, n));
    h->http10 = s[7] == '0';
    if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9')
        return fail(f, WD_ERR_FORMAT, "bad status line '%s'", quote(q, s, n));
    if (n > 12 && s[12] != ' ') return fail(f, WD_ERR_FORMAT, "bad status line '%s'", quote(q, s, n));
    for (size_t i = 13; i < n; i++)
        if (is_ctl((unsigned char)s[i])) return fail(f, WD_ERR_FORMAT, "bad status line '%s'", quote(q, s, n));
    h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    return WD_OK;
}

static wd_status parse_field(wd__http_framer *f, const char *s, size_t n, head_fields *h) {
    char q[48];
    if (is_ows(s[0])) return fail(f, WD_ERR_FORMAT, "obsolete line folding in the answer head");
    size_t c = 0;
    while (c < n && is_tchar((unsigned char)s[c])) c++;
    if (c == 0 || c == n || s[c] != ':') return fail(f, WD_ERR_FORMAT, "bad header line '%s'", quote(q, s, n));
    size_t a = c + 1, b = n;
    while (a < b && is_ows(s[a])) a++;
    while (b > a && is_ows(s[b - 1])) b--;
    for (size_t i = a; i < b; i++)
        if (is_ctl((unsigned char)s[i]))
            return fail(f, WD_ERR_FORMAT, "control byte in header '%s'", quote(q, s, c));
    const char *v = s + a;
    size_t vn = b - a;
    if (c == 14 && !strncasecmp(s, "content-length", c)) {
        uint64_t x = 0;
        if (vn == 0 || vn > 18) return fail(f, WD_ERR_FORMAT, "bad Content-Length '%s'", quote(q, v, vn));
        for (size_t i = 0; i < vn; i++) {
            if (v[i] < '0' || v[i] > '9') return fail(f, WD_ERR_FORMAT, "bad Content-Length '%s'", quote(q, v, vn));
            x = x * 10 + (uint64_t)(v[i] - '0');
        }
        if (h->has_cl && h->cl != x) return fail(f, WD_ERR_FORMAT, "Content-Length headers disagree");
        h->has_cl = true;
        h->cl = x;
    } else if (c == 17 && !strncasecmp(s, "transfer-encoding", c)) {
        if (h->chunked || vn != 7 || strncasecmp(v, "chunked", 7))
            return fail(f, WD_ERR_FORMAT, "Transfer-Encoding '%s' is not supported (only chunked)", quote(q, v, vn));
        h->chunked = true;
    } else if (c == 12 && !strncasecmp(s, "content-type", c)) {
        h->ctype = v;
        h->ctype_len = vn;
    } else if (c == 11 && !strncasecmp(s, "retry-after", c)) {
        h->retry = v;
        h->retry_len = vn;
    }
    return WD_OK;
}

/* The head in f->head[0..n) ends with its empty line. Parses it and picks
 * the body framing, or goes back to F_HEAD after an interim answer. */
static wd_status parse_head(wd__http_framer *f, size_t n) {
    head_fields h = {0};
    const char *b = f->head;
    size_t p = 0;
    bool first = true;
    while (p < n) {
        const char *lf = memchr(b + p, '\n', n - p);
        size_t e = (size_t)(lf - b), len = e - p;
        if (len && b[e - 1] == '\r') len--;
        if (memchr(b + p, '\r', len)) return fail(f, WD_ERR_FORMAT, "bare CR in the answer head");
        if (len == 0) break; /* the empty line */
        wd_status st = first ? parse_status_line(f, b + p, len, &h) : parse_field(f, b + p, len, &h);
        if (st) return st;
        first = false;
        p = e + 1;
    }
    if (first) return fail(f, WD_ERR_FORMAT, "empty answer head");
    if (h.status < 200) {
        if (h.status == 101) return fail(f, WD_ERR_FORMAT, "unexpected 101 (switching protocols)");
        if (++f->n_interim > MAX_INTERIM)
            return fail(f, WD_ERR_FORMAT, "more than %d interim (1xx) answers", MAX_INTERIM);
        return WD_OK; /* stays in F_HEAD */
    }
    wd__http_response *r = f->resp;
    r->status = h.status;
    if (h.ctype && !(r->content_type = strndup(h.ctype, h.ctype_len)))
        return fail(f, WD_ERR_NOMEM, "out of memory");
    if (h.retry && !(r->retry_after = strndup(h.retry, h.retry_len))) return fail(f, WD_ERR_NOMEM, "out of memory");
    if (f->no_body || h.status == 204 || h.status == 304) return finish(f);
    if (h.chunked) {
        if (h.has_cl) return fail(f, WD_ERR_FORMAT, "both Transfer-Encoding and Content-Length");
        if (h.http10) return fail(f, WD_ERR_FORMAT, "Transfer-Encoding in an HTTP/1.0 answer");
        f->state = F_CHUNK_SIZE;
    } else if (h.has_cl) {
        if (h.cl > max_body(f))
            return fail(f, WD_ERR_RANGE, "answer body of %llu bytes over the limit of %zu",
                        (unsigned long long)h.cl, max_body(f));
        f->content_length = f->remaining = h.cl;
        f->state = F_CL;
        if (h.cl == 0) return finish(f);
    } else {
        f->state = F_TO_EOF;
    }
    return WD_OK;
}

/* Takes bytes of the head; *used gets how many belong to it. */
static wd_status feed_head(wd__http_framer *f, const char *p, size_t n, size_t *used) {
    size_t cap = max_head(f);
    size_t room = cap - f->head_total - f->head_len; /* head_total: earlier 1xx heads */
    if (!f->head && !(f->head = malloc(cap))) return fail(f, WD_ERR_NOMEM, "out of memory for the answer head");
    size_t take = n < room ? n : room;
    size_t old = f->head_len;
    memcpy(f->head + old, p, take);
    f->head_len += take;
    /* the end of the head: LF, optional CR, LF */
    for (size_t i = old > 2 ? old - 2 : 0; i < f->head_len; i++) {
        if (f->head[i] != '\n') continue;
        size_t e = 0;
        if (i + 1 < f->head_len && f->head[i + 1] == '\n') e = i + 2;
        else if (i + 2 < f->head_len && f->head[i + 1] == '\r' && f->head[i + 2] == '\n') e = i + 3;
        if (!e) continue;
        *used = e - old;
        f->head_total += e;
        f->head_len = 0;
        return parse_head(f, e);
    }
    /* a head that starts with an empty line has none of the above */
    if (f->head_len >= 2 && (f->head[0] == '\n' || (f->head[0] == '\r' && f->head[1] == '\n')))
        return fail(f, WD_ERR_FORMAT, "empty answer head");
    *used = take;
    if (f->head_total + f->head_len >= cap)
        return fail(f, WD_ERR_RANGE, "answer head over the limit of %zu bytes", cap);
    return WD_OK;
}

/* ==== Chunks ================================================================ */

static wd_status chunk_size_line(wd__http_framer *f, const char *s, size_t n) {
    char q[48];
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) break;
        if (v > MAX_CHUNK >> 4) return fail(f, WD_ERR_FORMAT, "chunk size '%s' too large", quote(q, s, n));
        v = v << 4 | (uint64_t)d;
    }
    size_t j = i;
    while (j < n && is_ows(s[j])) j++;
    if (i == 0 || (j < n && s[j] != ';')) return fail(f, WD_ERR_FORMAT, "bad chunk size '%s'", quote(q, s, n));
    if (v == 0) {
        f->state = F_TRAILER;
        return WD_OK;
    }
    if (v > max_body(f) - f->body_total)
        return fail(f, WD_ERR_RANGE, "answer body over the limit of %zu bytes", max_body(f));
    f->remaining = v;
    f->state = F_CHUNK_DATA;
    return WD_OK;
}

/* Collects a line (a chunk size, a chunk's end, a trailer) into f->line up
 * to its LF; *used gets the bytes taken. Returns 1 with the line (CR
 * stripped) in f->line[0..f->line_len) when complete, 0 when not yet, -1
 * when the line is longer than f->line (it then keeps only the count, for
 * trailers, whose content is skipped). */
static int take_line(wd__http_framer *f, const char *p, size_t n, size_t *used, size_t *over) {
    const char *lf = memchr(p, '\n', n);
    size_t k = lf ? (size_t)(lf - p) : n;
    *used = lf ? k + 1 : k;
    size_t room = sizeof f->line - f->line_len;
    size_t c = k < room ? k : room;
    memcpy(f->line + f->line_len, p, c);
    f->line_len += c;
    *over += k - c;
    if (!lf) return 0;
    if (f->line_len && f->line[f->line_len - 1] == '\r' && !*over) f->line_len--;
    return 1;
}

static wd_status feed_chunked(wd__http_framer *f, const char *p, size_t n, size_t *used) {
    char q[48];
    if (f->state == F_CHUNK_DATA) {
        size_t k = f->remaining < n ? (size_t)f->remaining : n;
        *used = k;
        f->remaining -= k;
        if (f->remaining == 0) f->state = F_CHUNK_END;
        return emit(f, p, k);
    }
    size_t over = f->state == F_TRAILER ? f->remaining : 0; /* bytes of the line beyond f->line */
    int got = take_line(f, p, n, used, &over);
    if (f->state == F_TRAILER) {
        f->head_total += *used;
        if (f->head_total > max_head(f))
            return fail(f, WD_ERR_RANGE, "answer head and trailers over the limit of %zu bytes", max_head(f));
        f->remaining = over;
        if (got != 1) return WD_OK;
        bool empty = f->line_len == 0 && over == 0;
        f->line_len = 0;
        f->remaining = 0;
        return empty ? finish(f) : WD_OK;
    }
    if (over) {
        return f->state == F_CHUNK_END ? fail(f, WD_ERR_FORMAT, "chunk data not followed by CRLF")
                                       : fail(f, WD_ERR_FORMAT, "chunk-size line too long");
    }
    if (f->state == F_CHUNK_END && (f->line_len > 1 || (f->line_len == 1 && f->line[0] != '\r')))
        return fail(f, WD_ERR_FORMAT, "chunk data not followed by CRLF ('%s')", quote(q, f->line, f->line_len));
    if (got != 1) return WD_OK;
    size_t len = f->line_len;
    f->line_len = 0;
    if (f->state == F_CHUNK_END) {
        if (len) return fail(f, WD_ERR_FORMAT, "chunk data not followed by CRLF");
        f->state = F_CHUNK_SIZE;
        return WD_OK;
    }
    return chunk_size_line(f, f->line, len);
}

/* ==== Feeding =============================================================== */

wd_status wd__http_framer_feed(wd__http_framer *f, const char *p, size_t n) {
    size_t used;
    return wd__http_framer_take(f, p, n, &used);
}

wd_status wd__http_framer_take(wd__http_framer *f, const char *p, size_t n, size_t *taken) {
    *taken = 0;
    while (n > 0 && !f->failed && f->state != F_DONE) {
        size_t used = 0;
        wd_status st = WD_OK;
        switch (f->state) {
        case F_HEAD: st = feed_head(f, p, n, &used); break;
        case F_CL: {
            used = f->remaining < n ? (size_t)f->remaining : n;
            f->remaining -= used;
            st = emit(f, p, used);
            if (!st && f->remaining == 0) st = finish(f);
            break;
        }
        case F_TO_EOF:
            used = n;
            st = emit(f, p, n);
            break;
        default: st = feed_chunked(f, p, n, &used); break;
        }
        if (st) return st;
        p += used;
        n -= used;
        *taken += used;
    }
    return f->failed;
}

wd_status wd__http_framer_eof(wd__http_framer *f) {
    if (f->failed) return f->failed;
    switch (f->state) {
    case F_DONE: return WD_OK;
    case F_TO_EOF: return finish(f);
    case F_HEAD:
        if (f->head_total == 0 && f->head_len == 0)
            return fail(f, WD_ERR_FORMAT, "closed the connection without answering");
        return fail(f, WD_ERR_FORMAT, "closed the connection in the middle of the answer head");
    case F_CL:
        return fail(f, WD_ERR_FORMAT, "closed the connection after %llu of %llu body bytes",
                    (unsigned long long)(f->content_length - f->remaining),
                    (unsigned long long)f->content_length);
    default: return fail(f, WD_ERR_FORMAT, "closed the connection inside the chunked body");
    }
}
