/*
 * serve/http_client.h - a small HTTP/1.1 client for the gateway's upstream
 * (an OpenAI-compatible chat server): one request per connection, over
 * plain TCP or TLS (GnuTLS), with deadlines, a cancel flag, bounded
 * answers, chunked and Content-Length bodies, and a streaming mode that
 * hands body bytes to a callback as they arrive (server-sent events).
 *
 * Not a general client: no redirects, no proxies, no cookies, no
 * compression (it asks for identity), no HTTP/2. An answer that breaks
 * HTTP/1.1 framing is an error (WD_ERR_FORMAT) naming what broke.
 *
 *   http_client.c   URLs, connect (TCP, TLS), request, the read loop
 *   http_framing.c  the answer's head and body framing, on bytes
 *   sse.c           the server-sent events parser (text/event-stream)
 */
#ifndef WD_SERVE_HTTP_CLIENT_H
#define WD_SERVE_HTTP_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "warden/base.h"

/* ==== URLs ================================================================= */

/* http://host[:port][/prefix] or https://... ; host may be a name, an IPv4
 * address or [IPv6]. The prefix (no trailing '/') is put before every
 * request path: "http://h:8000/v1" + "/chat/completions". No user info,
 * query or fragment. */
typedef struct wd__url {
    bool tls;
    char host[256];   /* without brackets */
    char port[8];     /* "80" / "443" when absent */
    char prefix[512]; /* "" or "/v1" */
} wd__url;

/* WD_ERR_INVALID_ARG with the reason in wd_last_error() ("upstream URL
 * 'ftp://x': scheme must be http or https"). */
wd_status wd__url_parse(const char *s, wd__url *out);

/* ==== Requests ============================================================= */

typedef struct wd__http_request {
    const char *method;          /* "POST", "GET" */
    const wd__url *url;
    const char *path;            /* appended to url->prefix: "/chat/completions" */
    const char *const *headers;  /* extra "Name: value" lines (no CRLF); Host,
                                  * Content-Length, Connection: close and
                                  * Accept-Encoding: identity are added */
    size_t n_headers;
    const char *body;            /* may be NULL when body_len is 0 */
    size_t body_len;
    int64_t connect_timeout_ns;  /* for the TCP (and TLS) handshake; 0 = 5 s */
    int64_t deadline_ns;         /* absolute CLOCK_MONOTONIC ns for the whole
                                  * exchange; 0 = none */
    int64_t idle_timeout_ns;     /* longest wait for the next byte (sending or
                                  * reading); 0 or negative = none */
    size_t max_head;             /* answer head limit; 0 = 64 KiB */
    size_t max_body;             /* answer body limit (collected or streamed); 0 = 16 MiB */
    const volatile sig_atomic_t *cancel; /* stop when nonzero; NULL = never */
    const char *ca_file;         /* TLS: PEM CA bundle; NULL = the system's trust store */
    bool insecure_tls;           /* TLS: do not verify the certificate (tests only) */
} wd__http_request;

typedef struct wd__http_response {
    int status;                  /* 200, 404, ... (0 until the head is read) */
    char *content_type;          /* the Content-Type value (malloc'd) or NULL */
    char *retry_after;           /* the Retry-After value (malloc'd) or NULL */
    char *body;                  /* collected body, NUL-terminated (malloc'd);
                                  * NULL in streaming mode */
    size_t body_len;
} wd__http_response;

/* Called with each piece of the (de-chunked) body as it arrives, after
 * resp->status and the headers are set. Return false to stop reading (the
 * call then returns WD_ERR_CANCELLED). */
typedef bool (*wd__http_body_fn)(void *user, const char *data, size_t n);

/* Sends one request and reads the answer. With on_body NULL the body is
 * collected into resp->body; otherwise each piece goes to on_body and
 * resp->body stays NULL. Any HTTP status is a success of the call (the
 * caller reads resp->status). Thread-safe: nothing is shared between calls.
 *
 * The request: "METHOD prefix+path HTTP/1.1", then Host (the port only
 * when not the scheme's default; an IPv6 address in brackets),
 * Content-Length (when there is a body, and always for POST, PUT and
 * PATCH), Accept-Encoding: identity, Connection: close, then the caller's
 * headers in order, then the body; all in one buffer, written with
 * MSG_NOSIGNAL (never SIGPIPE, also under TLS). method must be upper-case
 * letters, path start with '/' and be printable without spaces, each
 * header one printable "Name: value" line; else WD_ERR_INVALID_ARG.
 *
 * Clocks: connect_timeout_ns covers the TCP connect and the TLS handshake
 * together (every address getaddrinfo gives is tried in turn while it
 * lasts); idle_timeout_ns (0 or negative = none) restarts at every byte
 * sent or received; deadline_ns bounds everything. Every wait is a poll of
 * at most 100 ms, so *cancel is seen within 100 ms. Name resolution
 * (getaddrinfo) blocks and is under none of the clocks.
 *
 * Reading stops as soon as the answer's framing says it is complete (a
 * server that keeps the connection open is not waited for). If sending
 * fails because the upstream closed early, the answer it sent is still
 * read; without one the send error is returned.
 *
 * TLS (https): GnuTLS with its default priorities; SNI set for host names
 * (not for addresses); the certificate is verified against ca_file or the
 * system's trust store and must name the URL's host (DNS name or IP
 * address), unless insecure_tls. A TLS close without close_notify counts
 * as the end of the connection (the framing decides if that cut the
 * answer short; a body read to the end cannot tell).
 *
 * Errors, each with a message in wd_last_error() that names the upstream
 * ("upstream 127.0.0.1:9: connection refused"):
 *   WD_ERR_INVALID_ARG bad request fields (see above)
 *   WD_ERR_IO         name not resolved, connection refused or reset, TLS
 *                     handshake or certificate failure ("TLS certificate
 *                     not accepted: ..."), CA file unreadable
 *   WD_ERR_TIMEOUT    connect timeout ("no connection within 5.0 s"), idle
 *                     timeout ("no answer within 2.0 s", "the answer
 *                     stalled: no data within 2.0 s") or deadline ("no
 *                     complete answer within the deadline (30.0 s)")
 *   WD_ERR_FORMAT     not HTTP/1.x, bad status line, bad header, bad
 *                     chunk size, Content-Length mismatch, early EOF
 *                     (the framing rules: wd__http_framer below)
 *   WD_ERR_RANGE      head or body over its limit
 *   WD_ERR_CANCELLED  *cancel was set ("cancelled"), or on_body returned
 *                     false ("the reader stopped the answer body")
 *   WD_ERR_NOMEM      out of memory
 * resp is filled as far as it got (status, content_type and retry_after
 * once the final head is read); free it with wd__http_response_free in
 * every case. */
wd_status wd__http_send(const wd__http_request *rq, wd__http_response *resp,
                        wd__http_body_fn on_body, void *user);

/* Frees the strings and the body and zeroes resp; NULL is a no-op. */
void wd__http_response_free(wd__http_response *resp);

/* ==== Answer framing (http_framing.c) ======================================= */

/* The answer's head and body framing as a push parser over bytes, so that
 * the same code reads a socket (wd__http_send) and a memory buffer (the
 * fuzz target tests/fuzz/fuzz_http_response.c). Bytes may arrive split
 * anywhere; the outcome does not depend on where.
 *
 *   head     "HTTP/1.0" or "HTTP/1.1", SP, three digits 100..599, then end
 *            of line or SP and a reason without control bytes. Lines end in
 *            LF with an optional CR (no other CR). Header lines are "name:
 *            value" with a token name and no control bytes in the value
 *            except HTAB; a line starting with SP/HTAB (obsolete folding)
 *            is an error. The whole head is at most max_head bytes.
 *   1xx      interim answers (100, 102, 103) are read and dropped, at most
 *            8 of them; 101 (switching protocols) is an error.
 *   body     none for a HEAD request and for 204 and 304; else
 *            Transfer-Encoding "chunked" (the only coding accepted; not in
 *            HTTP/1.0, not together with Content-Length), else
 *            Content-Length (digits only; repeated only with the same
 *            value), else everything up to the end of the connection.
 *   chunks   size in hex (at most 2^60), optional BWS and ";extensions"
 *            (ignored), CRLF/LF; data; CRLF/LF; the last chunk "0" is
 *            followed by trailer lines (skipped, counted against max_head)
 *            and an empty line.
 *   limits   a Content-Length or a chunk size that would take the body over
 *            max_body fails before its bytes arrive (WD_ERR_RANGE).
 *
 * Bytes after the end of the answer are ignored (one request per
 * connection). Errors are WD_ERR_FORMAT, WD_ERR_RANGE, WD_ERR_CANCELLED
 * (on_body returned false) or WD_ERR_NOMEM, with the message prefixed by
 * who ("upstream 127.0.0.1:8000: bad chunk size 'zz'"); once failed, the
 * framer keeps answering the same status. */
typedef struct wd__http_framer {
    wd__http_response *resp;     /* filled: status, content_type, retry_after, body */
    wd__http_body_fn on_body;    /* NULL: collect into resp->body */
    void *user;
    size_t max_head, max_body;   /* 0 = 64 KiB / 16 MiB */
    bool no_body;                /* the request was HEAD */
    char who[300];               /* message prefix: "upstream host:port" */
    /* private */
    int state;
    wd_status failed;
    char *head;                  /* the head so far (max_head bytes at most) */
    size_t head_len, head_total; /* head_total counts 1xx heads and trailers too */
    int n_interim;
    uint64_t remaining;          /* of the Content-Length body or the chunk */
    uint64_t content_length;
    size_t body_total, body_cap;
    char line[256];              /* a chunk-size line or the end of a chunk */
    size_t line_len;
} wd__http_framer;

/* Sets up f for one answer into resp (which it zeroes); who is copied. */
void wd__http_framer_init(wd__http_framer *f, wd__http_response *resp, const char *who,
                          wd__http_body_fn on_body, void *user);
/* Takes the next n bytes of the connection. WD_OK while the answer is
 * incomplete or complete (see wd__http_framer_done), else the error. */
wd_status wd__http_framer_feed(wd__http_framer *f, const char *p, size_t n);
/* The same, stopping at the end of the answer: *taken gets how many of
 * the n bytes belong to it (the rest start whatever follows). */
wd_status wd__http_framer_take(wd__http_framer *f, const char *p, size_t n, size_t *taken);
/* GnuTLS's push function for a socket (p: the fd, as
 * gnutls_transport_set_int stores it): send() with MSG_NOSIGNAL, so a
 * closed peer is EPIPE, not SIGPIPE. Used by this client and the relay. */
ssize_t wd__tls_push_nosignal(void *p, const void *data, size_t n);
/* True once the whole answer has been read. */
bool wd__http_framer_done(const wd__http_framer *f);
/* True once the final (non-1xx) head has been read and resp->status set. */
bool wd__http_framer_has_head(const wd__http_framer *f);
/* The connection ended: WD_OK when that ends the answer (a body read to
 * the end, or an answer already complete), else WD_ERR_FORMAT naming what
 * was cut ("closed the connection after 10 of 20 body bytes"). */
wd_status wd__http_framer_eof(wd__http_framer *f);
/* Frees the framer's buffers (not resp). */
void wd__http_framer_free(wd__http_framer *f);

/* ==== Server-sent events (sse.c) ============================================ */

/* An incremental text/event-stream parser: feed it bytes as they come;
 * it calls on_event once per complete event (a blank line ends one) with
 * the event's "event:" name ("" when none) and its "data:" lines joined by
 * '\n' (data is NUL-terminated; n excludes the NUL). One space after
 * "data:" is removed; a blank line with no "data" field before it
 * dispatches nothing. Comment lines (":..."), "id:", "retry:" and unknown
 * fields are skipped; a UTF-8 BOM at the start is skipped; CRLF, LF and CR
 * line ends are all accepted, also split across feeds. Lines are bounded
 * by max_event + 64 bytes (WD_ERR_RANGE). */
typedef bool (*wd__sse_event_fn)(void *user, const char *event, const char *data, size_t n);

typedef struct wd__sse {
    wd__sse_event_fn on_event;
    void *user;
    size_t max_event;            /* largest event's data; 0 = 1 MiB; more: WD_ERR_RANGE */
    /* private */
    char *line, *data;
    size_t line_len, line_cap, data_len, data_cap;
    char event[64];              /* longer names are cut to 63 bytes */
    bool cr_pending, has_data;
    unsigned char bom_seen;      /* bytes of a leading UTF-8 BOM skipped; 3 = decided */
} wd__sse;

void wd__sse_init(wd__sse *s, wd__sse_event_fn on_event, void *user);
/* WD_OK; WD_ERR_CANCELLED when on_event returned false; WD_ERR_RANGE for an
 * event over max_event; WD_ERR_NOMEM. */
wd_status wd__sse_feed(wd__sse *s, const char *p, size_t n);
/* At the end of the stream: an event not closed by a blank line is
 * dropped, as the SSE specification says. */
void wd__sse_free(wd__sse *s);

#endif
