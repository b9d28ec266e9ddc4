/*
 * warden/serve.h - the guard as an HTTP service (`warden serve`).
 *
 * A wd_server runs libmicrohttpd on its own threads and answers:
 *
 *   POST /v1/moderations   OpenAI moderation API (request and response shape),
 *                          warden's categories mapped to the OpenAI names,
 *                          warden's own verdict under the extra key "warden"
 *   POST /v1/check         warden's native verdicts (role, redaction, offsets)
 *   POST /v1/certify       certified erase-and-check over the guard (warden/certify.h)
 *   GET  /healthz          liveness: 200 while the process serves at all
 *   GET  /readyz           readiness: 200 with a guard loaded, 503 while stopping
 *   GET  /metrics          Prometheus text format
 *   POST /v1/chat/completions, /v1/completions
 *                          the guarded chat gateway (answered 501 until
 *                          its handlers are in)
 *
 * Every error is JSON: {"error": {"message", "type", "param", "code"}} with
 * the matching HTTP status. docs/serve.md is the user manual.
 *
 * Connections are accepted by the server's own gate thread (serve/gate.c):
 * it waits for a complete, well-formed request head under a deadline,
 * answers framing errors and /healthz, /readyz, /metrics itself, and hands
 * the rest to libmicrohttpd's workers.
 *
 * Threads: the server's callbacks run on libmicrohttpd's thread pool. All
 * functions below may be called from any one thread at a time (the owner);
 * wd_server_reload may run while requests are in flight: requests that
 * started under the old guard finish with it (it is reference-counted) and
 * later ones get the new one.
 */
#ifndef WARDEN_SERVE_H
#define WARDEN_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_server wd_server;
typedef struct wd_guard wd_guard; /* warden/guard.h */

/* One API key, its own rate limit, name and policy. */
typedef struct wd_server_key {
    const char *key;         /* the bearer token (no whitespace) */
    double rate;             /* requests per second for this key; 0 = the server's rate_limit */
    const char *name;        /* shown in the access log and metrics instead of the key;
                              * NULL = "key-N" (N: its position among the keys, from 1) */
    const char *policy_path; /* the policy its requests are checked with; NULL = the
                              * server's (policy_path). Loaded at start and on reload */
} wd_server_key;

/* What the gateway does with a text a rail found unsafe (docs/gateway.md). */
typedef enum wd_gateway_action {
    WD_GATEWAY_ACTION_AUTO = 0, /* as the policy's verdict says: block, redact, or warn for flag */
    WD_GATEWAY_ACTION_BLOCK,    /* answer with the refusal, finish_reason "content_filter" */
    WD_GATEWAY_ACTION_REDACT,   /* mask the PII/secrets spans and pass the rest */
    WD_GATEWAY_ACTION_WARN,     /* pass it, with x-warden-action: warn and the verdict */
    WD_GATEWAY_ACTION_REVISE,   /* output only: critique -> revision, re-checked; else block */
} wd_gateway_action;

/* The guarded chat gateway: POST /v1/chat/completions and /v1/completions
 * in OpenAI's shape, with an input rail before the model and an output
 * rail after it (streamed answers are checked as they grow). The model is
 * an upstream OpenAI-compatible server or a local model folder; neither
 * set: no chat routes (the guard service alone). */
typedef struct wd_gateway_params {
    const char *upstream;        /* base URL: "http://127.0.0.1:8000/v1" (https too) */
    const char *upstream_key;    /* bearer token sent upstream; NULL = none */
    const char *upstream_ca;     /* PEM CA bundle for https; NULL = system trust */
    int upstream_timeout_ms;     /* one upstream exchange, start to end (120000) */
    int upstream_connect_ms;     /* TCP + TLS handshake (3000) */
    int upstream_idle_ms;        /* longest silence while streaming (30000) */
    int upstream_retries;        /* retries after a failed connect, 500, 502, 503 or 504
                                  * before any answer byte (1) */
    const char *model_dir;       /* local model folder or .gguf, served without an upstream */
    const char *model_name;      /* its id in answers and /v1/models; NULL = the folder name */
    int model_threads;           /* runtime threads per generation (0 = n_threads) */
    int model_slots;             /* generations at once (1); more wait their turn */
    int model_ctx;               /* context length of each slot (0 = min(model, 2048)) */
    int max_tokens;              /* a local answer's default length (256) */
    const char *refusal;         /* the text of a refused answer (NULL: built-in) */
    wd_gateway_action input_action;  /* AUTO, BLOCK, REDACT or WARN (AUTO) */
    wd_gateway_action output_action; /* any (AUTO) */
    int stream_check_tokens;     /* a streamed answer is checked every K tokens (16) */
    const char *constitution;    /* principles file for revise (NULL: built-in) */
    int revise_rounds;           /* most critique -> revision rounds (2) */
} wd_gateway_params;

typedef struct wd_server_params {
    const char *host;        /* numeric IPv4 or IPv6 address to bind ("127.0.0.1") */
    int port;                /* TCP port (8080); 0 = any free port, see wd_server_port */
    int n_threads;           /* worker threads (2) */
    size_t max_body;         /* largest request body in bytes (1 MiB); larger: 413 */
    int max_inputs;          /* most texts in one request (256); more: 400 */
    int timeout_ms;          /* deadline per request, from its headers to its answer (10000);
                              * a body still arriving past it is cut off (408) */
    int max_connections;     /* concurrent connections (1024); more are refused */
    int conn_timeout_s;      /* a connection idle this long is closed (15): slow senders */
    int shutdown_grace_ms;   /* wd_server_stop waits this long for in-flight requests (10000) */
    const char *api_key;     /* NULL or "": no auth; else "Authorization: Bearer KEY" required */
    const char *policy_path; /* policy file (NULL = built-in default); reread by reload */
    const char *guard_format; /* the policies' model judges' guard format (wd_guard_params.
                               * guard_format; NULL = auto), for every policy the server loads */
    bool explain_verdict;     /* generative judges write a "rationale" (wd_guard_params) */
    int thread_per_connection; /* 1: one thread per connection instead of the pool (benchmarks) */
    /* Hardening (docs/serve.md, "Limits"): */
    int header_timeout_ms;   /* a request head (request line + headers) must arrive within
                              * this from the connection's start (10000); later: 408, closed */
    int max_conns_per_ip;    /* connections from one client address (128); 0 = no limit */
    size_t body_budget;      /* request body bytes buffered at once, server-wide (64 MiB);
                              * a request that would pass it: 503 + Retry-After */
    const wd_server_key *keys; /* n_keys more accepted API keys (with api_key, if set) */
    int n_keys;
    double rate_limit;       /* requests/s per API key (0 = none; a key's own rate wins) */
    int insecure;            /* 1: allow a non-loopback host without any API key */
    const char *tls_cert;    /* PEM certificate file: serve HTTPS (with tls_key); NULL = HTTP */
    const char *tls_key;     /* PEM private key file */
    wd_gateway_params gateway; /* the chat gateway (upstream or local model) */
    const char *access_log;  /* NULL: none; "-": stderr; else a file, appended to, one JSON
                              * object per request (docs/serve.md); reopened by reload */
    int max_inflight;        /* long requests (chat) answered at once, server-wide (64);
                              * more: 503 server_busy + Retry-After */
} wd_server_params;

/* Returns the defaults above. */
wd_server_params wd_server_params_default(void);

/* Parses "auto", "block", "redact", "warn" or "revise" into *out;
 * WD_ERR_INVALID_ARG otherwise. */
wd_status wd_gateway_action_parse(const char *s, wd_gateway_action *out);

/* Reads API keys from a text file, one key per line:
 *
 *     KEY [RATE] [name=NAME] [policy=PATH]      # a comment
 *
 * RATE is the key's own rate limit ("20/s", "600/m", "36000/h"); NAME (1-64
 * characters of [A-Za-z0-9._-], unique, not "anonymous", "unnamed" or
 * "key-<digits>") is what logs and metrics show; PATH (no whitespace) is the
 * key's own policy file, relative to the key file's folder unless absolute,
 * and must be readable. The fields after the key come in any order, each at
 * most once. Blank lines and lines starting with '#' are skipped. On success
 * *keys (caller frees with wd_server_keys_free) holds *n_keys >= 1 keys, with
 * name and policy_path malloc'd (policy_path resolved); on failure both are
 * NULL/0 and wd_last_error() names the file, line and reason (no key, a key
 * shorter than 16 characters, a bad rate, name or field, a duplicate key or
 * name, an unreadable policy). */
wd_status wd_server_keys_read(const char *path, wd_server_key **keys, int *n_keys);
void wd_server_keys_free(wd_server_key *keys, int n_keys);

/* Parses a rate "N/s", "N/m" or "N/h" (N > 0) into requests per second. */
wd_status wd_server_rate_parse(const char *s, double *rate);

/* Starts serving guard, or when guard is NULL a guard loaded from
 * params->policy_path (or the built-in default). The server takes ownership
 * of guard in all cases (it is freed on failure, after a reload replaced it,
 * or by wd_server_stop). The strings in params are copied. On success *out
 * is the running server (end it with wd_server_stop); on failure *out is
 * NULL and wd_last_error() says why (bad address, port in use, broken
 * policy). */
wd_status wd_server_start(const wd_server_params *params, wd_guard *guard, wd_server **out);

/* The TCP port the server listens on (useful after port 0). */
int wd_server_port(const wd_server *srv);

/* Reloads: first reopens the access log file (log rotation: a file renamed
 * away is left behind and a new one created at the path; if that fails the
 * old file stays in use and the reason is logged). Then rebuilds the
 * guards: the server's from policy_path (NULL = the path the server was
 * started with) and each per-key policy from its file, and only if all of
 * them loaded swaps them in at once. Requests in flight keep the guard they
 * started with. On failure every old guard keeps serving, the reason is
 * logged and kept in wd_server_last_error(), and the status is returned. A
 * path given here becomes the one later reloads reread. The key list itself
 * is fixed at start. */
wd_status wd_server_reload(wd_server *srv, const char *policy_path);

/* The message of the server's last failure (a failed reload); "" if none.
 * Owned by the server; valid until the next reload or wd_server_stop. */
const char *wd_server_last_error(const wd_server *srv);

/* Stops gracefully: stops accepting connections, marks /readyz 503, waits
 * up to shutdown_grace_ms for in-flight requests to be answered, closes the
 * rest and frees everything. Guard checks still running in the last
 * quarter of the grace (at most its last second) are cancelled inside the
 * text and answered 503 shutting_down, so the call returns within about
 * shutdown_grace_ms even while a huge text is being checked. NULL is a
 * no-op. */
void wd_server_stop(wd_server *srv);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_SERVE_H */
