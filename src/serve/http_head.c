/*
 * serve/http_head.c - a strict parser of HTTP/1.1 request heads (RFC 9112),
 * for the gate (gate.c) to decide on a connection's first request before
 * libmicrohttpd reads it.
 *
 * Strict where libmicrohttpd 0.9.75 is lax or answers in HTML: one request
 * line "METHOD SP /target SP HTTP/1.x"; header lines "name: value" with a
 * token name and no control bytes; no obsolete line folding; Content-Length
 * one plain decimal number, at most once, never with Transfer-Encoding;
 * Transfer-Encoding only "chunked", once, not in HTTP/1.0; Host exactly
 * once in HTTP/1.1. Lines end in LF with an optional CR (as libmicrohttpd
 * reads them, so both see the same head). Limits: 8 KiB request line,
 * 16 KiB head, 100 header fields.
 *
 * Chunked bodies are checked as they stream (wd__http_chunker), by the gate
 * for what arrived with a first head and by the relay for all of it.
 *
 * The parsers never read past n and never allocate; the fuzz target
 * tests/fuzz/fuzz_serve_head.c checks their invariants.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "serve/serve_internal.h"

#define MAX_HEAD WD__HTTP_MAX_HEAD
#define MAX_LINE WD__HTTP_MAX_LINE
#define MAX_HEADERS WD__HTTP_MAX_HEADERS

static bool is_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int head_err_set(wd__http_err *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int head_err_set(wd__http_err *e, int status, const char *code, const char *fmt, ...) {
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}
#define HEAD_ERR(st, cd, ...) head_err_set(e, (st), (cd), __VA_ARGS__)

/* Lines end in LF with an optional CR before it, as MHD reads them. */
int wd__http_head_parse(const char *b, size_t n, size_t max_body, wd__http_head *h, wd__http_err *e) {
    memset(h, 0, sizeof *h);
    size_t p = 0;
    for (int skip = 0; skip < 4; skip++) { /* empty lines before the request line are allowed */
        if (p + 1 < n && b[p] == '\r' && b[p + 1] == '\n') p += 2;
        else if (p < n && b[p] == '\n') p++;
    }
    const char *lf = memchr(b + p, '\n', n - p);
    if (!lf) {
        if (n - p > MAX_LINE)
            return HEAD_ERR(414, "uri_too_long", "the request line is longer than %d bytes", MAX_LINE);
        return 0;
    }
    size_t le = (size_t)(lf - b), ln = le - p;
    if (ln > MAX_LINE)
        return HEAD_ERR(414, "uri_too_long", "the request line is longer than %d bytes", MAX_LINE);
    if (ln && b[le - 1] == '\r') ln--;
    const char *line = b + p;
    /* METHOD SP TARGET SP HTTP/x.y, single spaces */
    size_t i = 0;
    while (i < ln && is_tchar((unsigned char)line[i])) i++;
    if (i == 0 || i > 32 || i == ln || line[i] != ' ')
        return HEAD_ERR(400, "bad_request_line", "malformed request line (expected 'METHOD /path HTTP/1.1')");
    h->method = line;
    h->method_len = i;
    size_t t0 = ++i;
    while (i < ln && (unsigned char)line[i] > 0x20 && line[i] != 0x7f) i++;
    if (i == t0) return HEAD_ERR(400, "bad_request_line", "malformed request line: no request target");
    h->target = line + t0;
    h->target_len = i - t0;
    if (i == ln)
        return HEAD_ERR(400, "unsupported_http_version",
                        "a request line without an HTTP version (HTTP/0.9) is not supported");
    if (line[i] != ' ')
        return HEAD_ERR(400, "bad_request_line", "malformed request line: a control byte in the target");
    const char *v = line + i + 1;
    size_t vl = ln - i - 1;
    if (vl == 8 && !memcmp(v, "HTTP/1.1", 8)) h->http10 = false;
    else if (vl == 8 && !memcmp(v, "HTTP/1.0", 8)) h->http10 = true;
    else if (vl == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
             v[7] >= '0' && v[7] <= '9')
        return HEAD_ERR(505, "http_version_not_supported", "HTTP/%c.%c is not supported; use HTTP/1.1",
                        v[5], v[7]);
    else return HEAD_ERR(400, "bad_request_line", "malformed request line: bad HTTP version");
    if (h->target[0] != '/' && !(h->target_len == 1 && h->target[0] == '*'))
        return HEAD_ERR(400, "bad_request_line", "the request target must be a path starting with '/'");
    for (size_t k = 0; k < ln; k++)
        if (line[k] == '\r') return HEAD_ERR(400, "bad_request_line", "a bare CR in the request line");

    int n_fields = 0, n_te = 0;
    p = le + 1;
    for (;;) {
        lf = memchr(b + p, '\n', n - p);
        if (!lf) {
            if (n >= MAX_HEAD)
                return HEAD_ERR(431, "header_too_large", "the request head is larger than %d bytes", MAX_HEAD);
            return 0;
        }
        le = (size_t)(lf - b);
        if (le + 1 > MAX_HEAD)
            return HEAD_ERR(431, "header_too_large", "the request head is larger than %d bytes", MAX_HEAD);
        ln = le - p;
        if (ln && b[le - 1] == '\r') ln--;
        line = b + p;
        p = le + 1;
        if (ln == 0) break; /* the empty line: end of the head */
        if (++n_fields > MAX_HEADERS)
            return HEAD_ERR(431, "header_too_large", "more than %d header fields", MAX_HEADERS);
        if (line[0] == ' ' || line[0] == '\t')
            return HEAD_ERR(400, "bad_header", "obsolete line folding in the headers is not accepted");
        size_t c = 0;
        while (c < ln && is_tchar((unsigned char)line[c])) c++;
        if (c == 0 || c == ln || line[c] != ':')
            return HEAD_ERR(400, "bad_header", "malformed header line %d (expected 'Name: value')", n_fields);
        size_t vs = c + 1, ve = ln;
        while (vs < ve && (line[vs] == ' ' || line[vs] == '\t')) vs++;
        while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t')) ve--;
        for (size_t k = vs; k < ve; k++) {
            unsigned char ch = (unsigned char)line[k];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return HEAD_ERR(400, "bad_header", "a control byte in header %.*s", (int)c, line);
        }
        const char *val = line + vs;
        size_t vlen = ve - vs;
        if (c == 14 && !strncasecmp(line, "Content-Length", 14)) {
            if (h->has_cl)
                return HEAD_ERR(400, "invalid_content_length", "more than one Content-Length header");
            if (vlen == 0)
                return HEAD_ERR(400, "invalid_content_length", "Content-Length is empty");
            unsigned long long x = 0;
            bool big = false;
            for (size_t k = 0; k < vlen; k++) {
                if (val[k] < '0' || val[k] > '9')
                    return HEAD_ERR(400, "invalid_content_length",
                                    "Content-Length '%.*s' is not a decimal number of bytes",
                                    (int)(vlen > 40 ? 40 : vlen), val);
                if (x > (~0ull - 9) / 10) big = true;
                else x = x * 10 + (unsigned)(val[k] - '0');
            }
            h->has_cl = true;
            h->cl = x;
            if (big || x > max_body)
                return HEAD_ERR(413, "request_too_large",
                                "request body of %.*s bytes is over the limit of %zu bytes",
                                (int)(vlen > 40 ? 40 : vlen), val, max_body);
        } else if (c == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
            if (++n_te > 1 || vlen != 7 || strncasecmp(val, "chunked", 7))
                return HEAD_ERR(501, "unsupported_transfer_encoding",
                                "only 'Transfer-Encoding: chunked' (once) is supported");
            h->chunked = true;
        } else if (c == 4 && !strncasecmp(line, "Host", 4)) {
            if (h->has_host) return HEAD_ERR(400, "bad_header", "more than one Host header");
            h->has_host = true;
        } else if (c == 13 && !strncasecmp(line, "Authorization", 13)) {
            h->authz = val;
            h->authz_len = vlen;
        } else if (c == 12 && !strncasecmp(line, "X-Request-Id", 12)) {
            h->request_id = val;
            h->request_id_len = vlen;
        }
    }
    h->len = p;
    if (!h->http10 && !h->has_host)
        return HEAD_ERR(400, "missing_host", "an HTTP/1.1 request must have a Host header");
    if (h->chunked && h->has_cl)
        return HEAD_ERR(400, "invalid_content_length",
                        "a request must not have both Content-Length and Transfer-Encoding");
    if (h->chunked && h->http10)
        return HEAD_ERR(400, "unsupported_transfer_encoding", "HTTP/1.0 has no chunked transfer coding");
    return 1;
}

/* ==== Chunked request bodies ============================================== */

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_DONE };
#define MAX_CHUNK_LINE 4096 /* a chunk-size line with its extensions */

void wd__http_chunker_init(wd__http_chunker *c) { memset(c, 0, sizeof *c); }

bool wd__http_chunker_done(const wd__http_chunker *c) { return c->state == CH_DONE; }

/* Byte by byte (the body may arrive split anywhere): a size line of 1-16
 * hex digits, optional ";extensions" without control bytes, CRLF or LF;
 * the data, then CRLF or LF; after the "0" line, trailer lines up to an
 * empty one (16 KiB at most in all). */
long wd__http_chunker_feed(wd__http_chunker *r, const char *b, size_t n, size_t max_body, wd__http_err *e) {
    size_t i = 0;
    while (i < n && r->state != CH_DONE) {
        unsigned char c = (unsigned char)b[i];
        switch (r->state) {
        case CH_SIZE: {
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d >= 0) {
                if (++r->digits > 16) goto bad_size;
                r->size = r->size * 16 + (unsigned)d;
                r->line++;
                i++;
                continue;
            }
            if (!r->digits) goto bad_size;
            if (c == ';') r->state = CH_EXT;
            else if (c == '\r') r->state = CH_SIZE_LF;
            else if (c == '\n') goto size_line_end;
            else goto bad_size;
            r->line++;
            i++;
            continue;
        }
        case CH_EXT:
            if (c == '\n') goto size_line_end;
            if (c == '\r') r->state = CH_SIZE_LF;
            else if ((c < 0x20 && c != '\t') || c == 0x7f) goto bad_size;
            if (++r->line > MAX_CHUNK_LINE) goto bad_size;
            i++;
            continue;
        case CH_SIZE_LF:
            if (c != '\n') goto bad_size;
        size_line_end:
            i++;
            if (r->size > max_body || r->total + r->size > max_body) {
                return HEAD_ERR(413, "request_too_large", "the chunked request body is over the limit of %zu bytes",
                                max_body);
            }
            r->total += r->size;
            r->left = r->size;
            r->state = r->size ? CH_DATA : CH_TRAILER;
            r->line = 0;
            continue;
        case CH_DATA: {
            size_t take = n - i < r->left ? n - i : (size_t)r->left;
            r->left -= take;
            i += take;
            if (!r->left) r->state = CH_DATA_CR;
            continue;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (c == '\r' && r->state == CH_DATA_CR) r->state = CH_DATA_LF;
            else if (c == '\n') {
                r->state = CH_SIZE;
                r->digits = 0;
                r->size = 0;
                r->line = 0;
            } else {
                return HEAD_ERR(400, "invalid_chunk", "a chunk of the chunked request body does not end with CRLF");
            }
            i++;
            continue;
        case CH_TRAILER: /* "name: value" fields as in a head, then an empty line */
            if (++r->trailer > WD__HTTP_MAX_HEAD) {
                return HEAD_ERR(431, "header_too_large", "the chunked body's trailer is over %d bytes", MAX_HEAD);
            }
            if (c == '\n') {
                if (!r->line) r->state = CH_DONE;
                else if (!r->colon) goto bad_trailer;
                r->line = 0;
                r->colon = r->cr = false;
            } else if (r->cr) {
                goto bad_trailer; /* a CR not before the LF */
            } else if (c == '\r') {
                r->cr = true;
            } else {
                if (r->colon ? (c < 0x20 && c != '\t') || c == 0x7f
                             : c == ':' ? r->line == 0 : !is_tchar(c))
                    goto bad_trailer;
                if (c == ':') r->colon = true;
                r->line++;
            }
            i++;
            continue;
        }
    }
    return (long)i;
bad_size:
    return HEAD_ERR(400, "invalid_chunk", "malformed chunk size line in the chunked request body");
bad_trailer:
    return HEAD_ERR(400, "invalid_chunk", "malformed trailer field after the chunked request body");
}
