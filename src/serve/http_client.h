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
 *   http_client.c  URLs, connect, request, answer head and body
 *   sse.c          the server-sent events parser (text/event-stream)
 */
#ifndef WD_SERVE_HTTP_CLIENT_H
#define WD_SERVE_HTTP_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    int64_t idle_timeout_ns;     /* longest wait for any byte of the answer; 0 = none */
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
 * caller reads resp->status). Errors, each with a message in
 * wd_last_error() that names the upstream ("upstream 127.0.0.1:9: ..."):
 *   WD_ERR_IO         name not resolved, connection refused or reset, TLS
 *                     handshake or certificate failure
 *   WD_ERR_TIMEOUT    connect timeout, idle timeout or deadline passed
 *   WD_ERR_FORMAT     not HTTP/1.x, bad status line, bad header, bad
 *                     chunk size, Content-Length mismatch, early EOF
 *   WD_ERR_RANGE      head or body over its limit
 *   WD_ERR_CANCELLED  *cancel was set, or on_body returned false
 * resp is filled as far as it got; free it with wd__http_response_free in
 * every case. */
wd_status wd__http_send(const wd__http_request *rq, wd__http_response *resp,
                        wd__http_body_fn on_body, void *user);

void wd__http_response_free(wd__http_response *resp);

/* ==== Server-sent events (sse.c) ============================================ */

/* An incremental text/event-stream parser: feed it bytes as they come;
 * it calls on_event once per complete event (a blank line ends one) with
 * the event's "event:" name ("" when none) and its "data:" lines joined by
 * '\n'. Comment lines (":...") and unknown fields are skipped; CRLF, LF
 * and CR line ends are all accepted, also split across feeds. */
typedef bool (*wd__sse_event_fn)(void *user, const char *event, const char *data, size_t n);

typedef struct wd__sse {
    wd__sse_event_fn on_event;
    void *user;
    size_t max_event;            /* largest event's data; 0 = 1 MiB; more: WD_ERR_RANGE */
    /* private */
    char *line, *data;
    size_t line_len, line_cap, data_len, data_cap;
    char event[64];
    bool cr_pending, has_data;
} wd__sse;

void wd__sse_init(wd__sse *s, wd__sse_event_fn on_event, void *user);
/* WD_OK; WD_ERR_CANCELLED when on_event returned false; WD_ERR_RANGE for an
 * event over max_event; WD_ERR_NOMEM. */
wd_status wd__sse_feed(wd__sse *s, const char *p, size_t n);
/* At the end of the stream: an event not closed by a blank line is
 * dropped, as the SSE specification says. */
void wd__sse_free(wd__sse *s);

#endif
