/*
 * serve/serve_internal.h - what the files of src/serve/ share.
 *
 *   server.c    libmicrohttpd glue: routing, auth, limits (one request's life)
 *   lifecycle.c start, reload and stop (server_mhd.h: the callbacks it registers)
 *   gate.c      the accept thread: request-head deadline, strict framing
 *               checks with JSON errors, per-address limits, fast health
 *               answers; hands good connections to libmicrohttpd
 *   http_head.c the gate's strict request-head parser
 *   auth.c      API keys (constant-time match) and per-key token buckets
 *   routes.c    the request handlers: parse JSON bodies, call the guard,
 *               build answers (OpenAI moderation, native check, certify)
 *   openai.c    the one table mapping canonical categories to OpenAI names
 *   counters.c  Prometheus counters, histograms, gauges
 *   jsonw.c     an append-only JSON text writer (faster than a cJSON tree)
 *
 * The server reaches the guard only through wd__serve_backend, so that the
 * HTTP side is tested without a model (tests pass a backend that returns
 * known verdicts or fails on purpose) and later guards (certify) plug in.
 */
#ifndef WD_SERVE_INTERNAL_H
#define WD_SERVE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/certify.h"
#include "warden/chat.h"
#include "warden/serve.h"
#include "warden/taxonomy.h"
#include "base/err.h"
#include "base/strbuf.h"

/* ==== JSON writer ======================================================== */

typedef struct wd__jsonw {
    wd__strbuf b; /* the text; taken by the caller at the end */
} wd__jsonw;

void wd__jsonw_raw(wd__jsonw *w, const char *s, size_t n);
void wd__jsonw_lit(wd__jsonw *w, const char *s); /* raw text, NUL-terminated */
/* A JSON string literal of n bytes of s, quoted and escaped; invalid UTF-8
 * becomes U+FFFD so the output is always valid JSON. */
void wd__jsonw_str(wd__jsonw *w, const char *s, size_t n);
void wd__jsonw_cstr(wd__jsonw *w, const char *s);  /* NULL writes null */
/* A finite number with up to 6 significant digits (non-finite: 0). */
void wd__jsonw_num(wd__jsonw *w, double x);
void wd__jsonw_int(wd__jsonw *w, long long x);
void wd__jsonw_printf(wd__jsonw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the text (caller frees) and resets w; NULL if an allocation failed. */
char *wd__jsonw_take(wd__jsonw *w, size_t *len);
void wd__jsonw_free(wd__jsonw *w);

/* ==== The guard, as the server sees it ==================================== */

typedef enum wd__serve_role { WD__ROLE_INPUT = 0, WD__ROLE_OUTPUT = 1 } wd__serve_role;

/* One text's verdict in the form the routes need. */
typedef struct wd__serve_result {
    bool unsafe;                 /* the verdict's overall decision */
    wd_catmask flagged;          /* canonical categories over their thresholds */
    float score[WD_CATEGORY_COUNT];   /* per-category scores in [0,1] */
    char *json;                  /* the native verdict as one JSON object (malloc'd) */
} wd__serve_result;

typedef struct wd__serve_backend {
    const char *name;
    /* Builds a guard from a policy file (NULL = built-in default). On
     * failure returns the status with the reason in wd_last_error(). */
    wd_status (*load)(const char *policy_path, void **out);
    void (*free)(void *guard);
    /* True when the guard's policy says to allow (fail open) when checking
     * fails; false to block (fail closed). */
    bool (*fail_open)(const void *guard);
    /* Checks n texts (lens[i] bytes each) for role; fills out[0..n). Must
     * stop with WD_ERR_TIMEOUT once the monotonic clock passes deadline_ns
     * (0 = none), and with WD_ERR_CANCELLED once *cancel is nonzero (the
     * server is stopping), also in the middle of a text. On failure out[]
     * holds nothing to free and the reason is in wd_last_error(). Called
     * from many threads at once. */
    wd_status (*check)(void *guard, const char *const *texts, const size_t *lens, size_t n,
                       wd__serve_role role, bool redact, int64_t deadline_ns,
                       const volatile sig_atomic_t *cancel, wd__serve_result *out);
    /* Optional (NULL: /v1/certify answers 501): erase-and-check of n texts
     * over the guard with params p; json[i] gets each certificate's JSON
     * (malloc'd) and harmful[i] its verdict. Stops with WD_ERR_TIMEOUT once
     * deadline_ns (0 = none) passes between texts; on failure json[] holds
     * nothing to free. */
    wd_status (*certify)(void *guard, const char *const *texts, const size_t *lens, size_t n,
                         const wd_certify_params *p, int64_t deadline_ns, bool *harmful,
                         char **json);
    /* Optional (NULL: the backend's name): the name of the policy in force,
     * for /readyz and /v1/models. */
    const char *(*policy_name)(const void *guard);
    /* Optional: checks turns of a conversation (wd_guard_check_turns):
     * msgs[turns[k]] for k < n_turns, each with msgs[0..turns[k]) as its
     * context; fills out[0..n_turns), whose json carries "message_index".
     * Roles are validated and each turn has the role `role` judges (the
     * caller picked them with wd_guard_pick_turns). Deadline, cancel and
     * failure as check. NULL: the routes call check on the turns' texts
     * alone (no context). */
    wd_status (*check_turns)(void *guard, const wd_chat_message *msgs, size_t n, const size_t *turns,
                             size_t n_turns, wd__serve_role role, bool redact, int64_t deadline_ns,
                             const volatile sig_atomic_t *cancel, wd__serve_result *out);
} wd__serve_backend;

/* The real guard (guard.h). */
extern const wd__serve_backend wd__serve_guard_backend;

/* wd_server_start with another backend and its already-loaded guard (may be
 * NULL: load from params->policy_path). Takes ownership of guard. */
wd_status wd__server_start_backend(const wd_server_params *params, const wd__serve_backend *be,
                                   void *guard, wd_server **out);

/* Monotonic clock in nanoseconds. */
int64_t wd__serve_now_ns(void);

/* ==== OpenAI categories (openai.c) ======================================= */

#define WD__OPENAI_N 13
typedef struct wd__openai_cat {
    const char *name;     /* "harassment/threatening" */
    wd_catmask from;      /* the canonical categories it is computed from */
    bool all;             /* true: score = min over `from` and flagged = all flagged
                           * (a conjunction, e.g. hate AND violence); false: max / any */
} wd__openai_cat;
extern const wd__openai_cat wd__openai_cats[WD__OPENAI_N];

/* The OpenAI score and flag of table row k for one result. */
float wd__openai_score(int k, const wd__serve_result *r);
bool wd__openai_flagged(int k, const wd__serve_result *r);
/* The canonical categories no OpenAI name covers (S5, S6, S7, S13, pii,
 * secrets, prompt_injection, profanity): written under their own keys. */
wd_catmask wd__openai_uncovered(void);

/* ==== Metrics (counters.c) ================================================= */

typedef enum wd__route {
    WD__ROUTE_MODERATIONS = 0,
    WD__ROUTE_CHECK,
    WD__ROUTE_CERTIFY,
    WD__ROUTE_HEALTHZ,
    WD__ROUTE_READYZ,
    WD__ROUTE_METRICS,
    WD__ROUTE_MODELS,
    WD__ROUTE_OTHER,
    WD__ROUTE_COUNT
} wd__route;

#define WD__LAT_BUCKETS 14

typedef struct wd__counters {
    _Atomic uint64_t by_status[WD__ROUTE_COUNT][600];
    _Atomic uint64_t lat_bucket[WD__ROUTE_COUNT][WD__LAT_BUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t lat_sum_us[WD__ROUTE_COUNT];
    _Atomic uint64_t verdicts[2];                      /* [0] allowed, [1] flagged */
    _Atomic uint64_t category[WD_CATEGORY_COUNT];           /* flagged per canonical category */
    _Atomic uint64_t guard_errors;                     /* checks that failed (fail mode applied) */
    _Atomic uint64_t reloads[2];                       /* [0] ok, [1] failed */
    _Atomic int64_t in_flight;
    _Atomic uint64_t inputs;                           /* texts checked */
    _Atomic uint64_t conn_cuts;                        /* connections the watchdog shut (slow) */
    _Atomic int64_t body_bytes;                        /* request body bytes reserved now */
} wd__counters;

const char *wd__route_name(wd__route r);
void wd__counters_request(wd__counters *m, wd__route r, int status, double seconds);
void wd__counters_verdict(wd__counters *m, const wd__serve_result *res);
/* The Prometheus text exposition (caller frees); NULL when out of memory. */
char *wd__counters_render(const wd__counters *m, size_t *len);

/* ==== The server (server.c) and its routes (routes.c) ===================== */

/* A loaded guard shared by the requests that use it; freed by whoever drops
 * the last reference (the server's own, or the last request's after a swap). */
typedef struct wd__guard_ref {
    void *guard;
    _Atomic int refs;
} wd__guard_ref;

/* ==== Auth and rate limits (auth.c) ====================================== */

typedef struct wd__key {
    char *key;                    /* NULL: the anonymous bucket (no keys) */
    size_t len;
    double rate, burst;           /* tokens per second (0 = unlimited), bucket size */
    pthread_mutex_t mu;           /* guards tokens, last_ns */
    double tokens;
    int64_t last_ns;
} wd__key;

/* Sets srv->keys from p->api_key and p->keys, and the anonymous bucket. */
wd_status wd__auth_init(wd_server *srv, const wd_server_params *p);
void wd__auth_free(wd_server *srv);
/* The key an Authorization header value (n bytes; NULL = absent) carries;
 * NULL when the server has keys and none matches. Without keys: the
 * anonymous bucket. Constant time in the token. */
wd__key *wd__auth_match(wd_server *srv, const char *authz, size_t n);
/* Takes a token from k's bucket: true, or false with the seconds until the
 * next one in *retry_after_s (>= 1). */
bool wd__rate_take(wd__key *k, int *retry_after_s);

/* ==== The server ========================================================== */

typedef struct wd__gate wd__gate;
struct sockaddr;

/* A connection libmicrohttpd owns, as the watchdog sees it (server.c keeps
 * the list, the gate's thread scans it): a connection still waiting for a
 * request head or body past its phase's deadline is shut down, which makes
 * MHD close it. That bounds slow clients the gate does not see: requests
 * after the first on a kept-alive connection, and TLS connections. */
typedef enum wd__phase { WD__PHASE_HEAD, WD__PHASE_BODY, WD__PHASE_BUSY, WD__PHASE_CUT } wd__phase;
typedef struct wd__mconn {
    struct wd__mconn *prev, *next;
    int fd;
    wd__phase phase;              /* guarded by wd_server.mconn_mu */
    int64_t deadline;             /* of HEAD and BODY (monotonic ns) */
} wd__mconn;

/* A worker: a libmicrohttpd daemon with one internal thread, and how busy
 * it is (requests being answered; connections it owns). */
#define WD__MAX_LANES 64
typedef struct wd__lane {
    wd_server *srv;
    struct MHD_Daemon *daemon;
    _Atomic int busy, conns;
} wd__lane;

/* The lane to give a new connection: fewest requests in progress, then
 * fewest connections; counts the connection in it (the caller undoes that
 * with wd__server_lane_drop when the hand-over fails). */
wd__lane *wd__server_pick_lane(wd_server *srv);
void wd__server_lane_drop(wd__lane *lane);

/* The gate's request-head parser (gate.c), strict where MHD is lax. */
#define WD__HTTP_MAX_HEAD (16 * 1024)  /* request line + headers; more: 431 */
#define WD__HTTP_MAX_LINE (8 * 1024)   /* the request line (the URL); more: 414 */
#define WD__HTTP_MAX_HEADERS 100       /* header fields; more: 431 */

typedef struct wd__http_head {
    size_t len;                  /* bytes up to and including the empty line */
    const char *method, *target; /* into the parsed buffer, not NUL-terminated */
    size_t method_len, target_len;
    bool http10, chunked, has_cl, has_host;
    unsigned long long cl;
    const char *authz;           /* the Authorization value, or NULL */
    size_t authz_len;
    const char *request_id;      /* the X-Request-Id value, or NULL */
    size_t request_id_len;
} wd__http_head;

typedef struct wd__http_err {
    int status;                  /* 400, 413, 414, 431, 501, 505 */
    const char *code;            /* the JSON error code (static) */
    char msg[160];
} wd__http_err;

/* Parses a request head at b[0..n). Returns 1 when it is complete and valid
 * (h set), 0 when more bytes are needed, -1 on an error (e set). */
int wd__http_head_parse(const char *b, size_t n, size_t max_body, wd__http_head *h, wd__http_err *e);
/* Checks the chunk-size lines among the body bytes received so far (b[0..n)
 * after the head); bytes not yet received are not waited for. Returns
 * false with e set. */
bool wd__http_chunks_ok(const char *b, size_t n, size_t max_body, wd__http_err *e);

/* Shuts down the connections past their deadline (gate thread). */
void wd__server_watchdog(wd_server *srv, int64_t now);

struct wd_server {
    wd_server_params p;           /* string fields point at the copies below */
    char *host, *api_key, *policy_path;
    const wd__serve_backend *be;
    pthread_mutex_t guard_mu;     /* guards `cur` (held for a pointer copy only) */
    wd__guard_ref *cur;
    pthread_mutex_t reload_mu;    /* one reload at a time */
    /* One single-threaded libmicrohttpd daemon per worker ("lane"): the gate
     * hands each connection to the least busy lane (wd__server_pick_lane).
     * One daemon with a thread pool would pick the worker by the socket's
     * descriptor number, so a long check could hold up connections while
     * another worker idles. */
    wd__lane lanes[WD__MAX_LANES];
    int n_lanes;
    wd__gate *gate;               /* owns the listening socket */
    /* Set by wd_server_stop when the grace period runs out with requests in
     * flight: the checks stop (WD_ERR_CANCELLED) and answer 503. */
    volatile sig_atomic_t cancel;
    int port;
    atomic_bool stopping;
    _Atomic uint64_t next_id;
    uint64_t id_salt;
    int64_t started_unix;         /* wall-clock start, seconds (/v1/models "created") */
    wd__err err;
    wd__counters counters;
    wd__key *keys;                /* n_keys accepted keys; none: no auth */
    int n_keys;
    wd__key anon;                 /* the rate bucket when there are no keys */
    char *tls_cert, *tls_key;     /* PEM text read from the files; NULL = plain HTTP */
    pthread_mutex_t mconn_mu;     /* guards mconns and each one's phase */
    wd__mconn *mconns;            /* MHD's open connections */
};

/* What a route answers: status, body (malloc'd, NULL = none) and one
 * optional extra header (static strings). */
typedef struct wd__answer {
    int status;
    char *body;
    size_t len;
    const char *content_type;     /* NULL = application/json */
    const char *hdr_name, *hdr_value;
} wd__answer;

/* Sets a to the JSON error {"error": {message, type, param, code}}. */
void wd__answer_error(wd__answer *a, int status, const char *type, const char *code,
                      const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The route of a path (n bytes, no query): its id, and whether it takes a
 * POST body and needs the API key; -1 for an unknown path. */
int wd__route_find(const char *path, size_t n, bool *post, bool *auth);

/* The built-in answers (healthz, readyz, metrics) into a. */
void wd__server_builtin(wd_server *srv, wd__route id, wd__answer *a);

/* The libmicrohttpd daemon's response helpers are in server.c; the gate
 * writes its own. Gate lifecycle (gate.c): start binds and listens on addr
 * and starts the gate thread (srv->daemon must exist); *port gets the bound
 * port. stop ends the thread and closes the socket and the connections
 * still in the gate. */
wd_status wd__gate_start(wd_server *srv, const struct sockaddr *addr, unsigned addrlen, int *port);
void wd__gate_stop(wd_server *srv);

/* Takes a reference to the guard in force; never NULL while the server runs. */
wd__guard_ref *wd__server_guard_acquire(wd_server *srv);
void wd__server_guard_release(wd_server *srv, wd__guard_ref *ref);
/* A fresh request id: prefix + 24 hex digits, into out[48]. */
void wd__server_new_id(wd_server *srv, const char *prefix, char out[48]);

/* The request's id for the x-request-id answer header: the client's own
 * X-Request-Id when it is 1-128 characters of [A-Za-z0-9._:-], else a new
 * "req-..." id. */
#define WD__REQUEST_ID_MAX 128
void wd__server_request_id(wd_server *srv, const char *client, size_t n, char out[WD__REQUEST_ID_MAX + 1]);

typedef void (*wd__route_fn)(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                             wd__answer *a);
void wd__route_moderations(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                           wd__answer *a);
void wd__route_check(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                     wd__answer *a);
void wd__route_certify(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                       wd__answer *a);

#endif
