/*
 * serve/serve_internal.h - what the files of src/serve/ share.
 *
 *   server.c    libmicrohttpd glue: routing, auth, limits (one request's life)
 *   lifecycle.c start, reload and stop (server_mhd.h: the callbacks it registers)
 *   gate.c      the accept thread: request-head deadline, strict framing
 *               checks with JSON errors, per-address limits, fast health
 *               answers; hands good connections to the relay
 *   relay.c     the gate's copy loop between each client and libmicrohttpd
 *               (a socketpair): every request head of a kept-alive
 *               connection checked, TLS terminated (GnuTLS); relay_hub.c
 *               the set of relays: room, deadlines, TLS credentials
 *   http_head.c the gate's strict request-head parser
 *   auth.c      API keys (constant-time match) and per-key token buckets
 *   guards.c    the guards in force: the server's and one per per-key policy,
 *               reference-counted; rebuilt and swapped together on reload
 *   access_log.c the end of every request: its metrics and its access-log
 *               line (JSON), the log file and its reopening
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
    int action;                  /* the verdict's wd_action (0 allow .. 3 block) */
    char *redacted;              /* action redact: the text with its spans masked (malloc'd) */
} wd__serve_result;

/* Frees a result's json and redacted text (the struct itself is the caller's). */
void wd__serve_result_clear(wd__serve_result *r);

typedef struct wd__serve_backend {
    const char *name;
    /* Builds a guard from a policy file (NULL = built-in default) with the
     * server's guard settings (p->guard_format, p->explain_verdict). On
     * failure returns the status with the reason in wd_last_error(). */
    wd_status (*load)(const char *policy_path, const wd_server_params *p, void **out);
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
    WD__ROUTE_CHAT,         /* POST /v1/chat/completions */
    WD__ROUTE_COMPLETIONS,  /* POST /v1/completions */
    WD__ROUTE_OTHER,
    WD__ROUTE_COUNT
} wd__route;

#define WD__LAT_BUCKETS 14

/* The chat gateway's rails and what each did to a text (one count per rail
 * decision): warden_rail_total{rail, action}. */
typedef enum wd__rail {
    WD__RAIL_INPUT = 0,      /* the conversation before it goes upstream */
    WD__RAIL_OUTPUT,         /* a whole (non-streamed) answer */
    WD__RAIL_STREAM,         /* a streamed answer, checked as it arrives */
    WD__RAIL_COUNT
} wd__rail;
typedef enum wd__rail_action {
    WD__RAIL_ACTION_ALLOW = 0, /* passed unchanged */
    WD__RAIL_ACTION_FLAG,      /* passed, verdict recorded (log only) */
    WD__RAIL_ACTION_REDACT,    /* passed with spans replaced */
    WD__RAIL_ACTION_BLOCK,     /* replaced by the refusal */
    WD__RAIL_ACTION_WARN,      /* passed with a warning header */
    WD__RAIL_ACTION_REVISE,    /* replaced by a revision */
    WD__RAIL_ACTION_ERROR,     /* the check failed (the fail mode decided) */
    WD__RAIL_ACTION_COUNT
} wd__rail_action;
/* How an upstream call ended: warden_upstream_requests_total{status}. */
typedef enum wd__upstream_class {
    WD__UPSTREAM_2XX = 0,
    WD__UPSTREAM_4XX,        /* also 1xx and 3xx: answered, not a success */
    WD__UPSTREAM_5XX,
    WD__UPSTREAM_ERROR,      /* no HTTP answer: refused, reset, garbage */
    WD__UPSTREAM_TIMEOUT,    /* no (complete) answer within the timeout */
    WD__UPSTREAM_COUNT
} wd__upstream_class;
#define WD__UP_BUCKETS 12

/* Per-key request counts by status class (2xx, 4xx, 5xx; 1xx and 3xx are
 * not counted): warden_key_requests_total{key, class}. Row 0 is
 * "anonymous" (no key matched or none needed), then one row per named key,
 * then "unnamed" (all keys without a name) when there is one. */
#define WD__KEY_CLASSES 3

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
    _Atomic uint64_t rail[WD__RAIL_COUNT][WD__RAIL_ACTION_COUNT];
    _Atomic uint64_t upstream[WD__UPSTREAM_COUNT];
    _Atomic uint64_t up_bucket[WD__UP_BUCKETS + 1];    /* last: +Inf */
    _Atomic uint64_t up_sum_us;
    _Atomic int64_t chat_inflight;                     /* see wd__server_inflight_enter */
    int n_key_rows;                                    /* per-key rows (fixed at start) */
    const char **key_row_name;                         /* n_key_rows names (not owned) */
    _Atomic uint64_t *key_requests;                    /* [row * WD__KEY_CLASSES + class] */
} wd__counters;

const char *wd__route_name(wd__route r);
void wd__counters_request(wd__counters *m, wd__route r, int status, double seconds);
void wd__counters_verdict(wd__counters *m, const wd__serve_result *res);
/* One decision of a rail (the chat routes call it once per rail and request). */
void wd__counters_rail(wd__counters *m, wd__rail rail, wd__rail_action action);
/* One upstream call that ended as c after seconds (connect to the last byte). */
void wd__counters_upstream(wd__counters *m, wd__upstream_class c, double seconds);
/* The class of an upstream HTTP status (1xx-5xx). */
wd__upstream_class wd__upstream_class_of(int http_status);
const char *wd__rail_name(wd__rail r);
const char *wd__rail_action_name(wd__rail_action a);
/* One request of per-key row `row` answered with status. */
void wd__counters_key(wd__counters *m, int row, int status);
/* Allocates the per-key rows (names not copied: they must outlive m). */
wd_status wd__counters_keys_init(wd__counters *m, const char **names, int n);
void wd__counters_free(wd__counters *m);
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
    char *name;                   /* shown instead of the key: its name, "key-N" (N: position
                                   * among the server's keys, from 1) or "anonymous" */
    char *policy_path;            /* its own policy file; NULL = the server's */
    int policy;                   /* index into wd_server.kpol; -1 = the server's guard */
    int row;                      /* its row in the per-key metrics */
    double rate, burst;           /* tokens per second (0 = unlimited), bucket size */
    pthread_mutex_t mu;           /* guards tokens, last_ns */
    double tokens;
    int64_t last_ns;
} wd__key;

/* Sets srv->keys from p->api_key and p->keys (names, policies, metric rows),
 * and the anonymous bucket. */
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
 * MHD close it (and the relay the client's side). The relay bounds every
 * head itself; the watchdog bounds bodies. */
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
/* A chunked request body, checked as it arrives (split anywhere). */
typedef struct wd__http_chunker {
    int state;
    int digits;                  /* of the size line so far */
    uint64_t size, left, total;  /* this chunk's size, its data still to come, all chunks */
    size_t line, trailer;        /* bytes of the current line; of the trailer */
    bool colon, cr;              /* trailer line: its ':' seen; a CR just read */
} wd__http_chunker;
void wd__http_chunker_init(wd__http_chunker *c);
/* Takes the next n bytes of the body: how many belong to it (fewer than n
 * once its end is reached: wd__http_chunker_done), or -1 with e set (400
 * invalid_chunk, 413 over max_body, 431 trailer too large). */
long wd__http_chunker_feed(wd__http_chunker *c, const char *b, size_t n, size_t max_body, wd__http_err *e);
bool wd__http_chunker_done(const wd__http_chunker *c);

/* Shuts down the connections past their deadline (gate thread). */
void wd__server_watchdog(wd_server *srv, int64_t now);

/* The status line and headers of an answer the gate or the relay sends
 * itself ("Connection: close", x-request-id rid, a's extra header) into
 * out; its length, or -1 when it does not fit. */
struct wd__answer;
int wd__gate_answer_head(char *out, size_t cap, const struct wd__answer *a, size_t body_len, const char *rid);
/* The same head followed by a's body: the whole answer's length, or -1. */
int wd__gate_answer_bytes(char *out, size_t cap, const struct wd__answer *a, const char *rid);
/* a = the JSON error every framing answer of the gate and the relay uses
 * (type by status; 503 with Retry-After: 1). */
void wd__gate_error(struct wd__answer *a, int status, const char *code, const char *msg);

/* ==== The relay (relay.c): gate thread <-> libmicrohttpd ==================== */

/* What an epoll event of the gate's thread points at: the first int of the
 * gate's connection or of a relay's side. */
enum { WD__EP_GATE_CONN = 1, WD__EP_RELAY_CLIENT, WD__EP_RELAY_MHD };

typedef struct wd__relay wd__relay;
struct sockaddr_storage;
typedef struct wd__relay_hub {
    wd_server *srv;
    int ep;                       /* the gate's epoll */
    wd__relay *first, *dead;      /* open relays; killed ones, freed by wd__relay_reap */
    int n, max;
    void *tls_cred;               /* gnutls_certificate_credentials_t; NULL: plain HTTP */
} wd__relay_hub;

/* True when a and b are the same IPv4 or IPv6 address (ports aside). */
bool wd__same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* Loads the TLS certificate and key when the server has them. */
wd_status wd__relay_hub_init(wd__relay_hub *h, wd_server *srv, int ep);
void wd__relay_hub_free(wd__relay_hub *h);
/* Takes the client socket fd (nothing of it consumed): its TLS handshake
 * (when the hub has a certificate) and every request head from now on are
 * read by the relay; the first head must be complete by deadline. Room is
 * made as the gate makes it: a relay still before its first request (a TLS
 * handshake, a first head) gives way, the oldest of the same address when
 * that address has max_conns_per_ip of them, else the oldest of all when
 * the hub is full. */
void wd__relay_open(wd__relay_hub *h, int fd, const struct sockaddr_storage *addr, unsigned addrlen, int64_t t0,
                    int64_t deadline);
/* An epoll event on one of a relay's sides (tag: the event's data). */
void wd__relay_event(int *tag, uint32_t events);
/* Deadlines: idle connections closed, slow heads answered 408. */
void wd__relay_tick(wd__relay_hub *h, int64_t now);
/* True while a relay has a request in flight or bytes still to send. */
bool wd__relay_busy(const wd__relay_hub *h);
/* Frees the relays killed during the last batch of events. */
void wd__relay_reap(wd__relay_hub *h);

struct wd_server {
    wd_server_params p;           /* string fields point at the copies below */
    char *host, *api_key, *policy_path, *guard_format;
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
    struct wd__gateway *gw;       /* the chat gateway (chat_internal.h); NULL: none */
    wd__guard_ref **kpol;         /* n_kpol per-key guards in force (guard_mu guards them) */
    char **kpol_path;             /* their policy files */
    int n_kpol;
    struct wd__access_log *alog;  /* NULL: no access log */
};

/* What a route answers: status, body (malloc'd, NULL = none) and one
 * optional extra header (static strings); and what the server tells the
 * route about the request.
 *
 * In (set by server.c before the route runs):
 *   key         the API key the request authenticated with (the anonymous
 *               bucket, policy -1, when the server has no keys; NULL on a
 *               route that needs no key). Take the guard for it with
 *               wd__server_guard_for(srv, a->key); key->name is what logs
 *               may show (never key->key).
 *   request_id  the request's id (the x-request-id answer header), for
 *               upstream calls and logs; valid until the request ends
 *
 * Out, for the access log: log_extra, NULL or a malloc'd JSON fragment of
 * object members WITHOUT braces and without a leading comma, e.g.
 *     "flagged":1,"categories":["S1"]
 * appended to the request's log line after the standard members (docs/serve.md
 * lists them; do not repeat their names). Add to it with
 * wd__answer_log_add (several stages may each add theirs). The server frees
 * it when the request ends. A route's answer struct lives in the request's
 * state until the request ends (wd__server_completed_cb): a streamed answer
 * may keep the pointer and add members until its last byte is produced. */
typedef struct wd__answer {
    int status;
    char *body;
    size_t len;
    const char *content_type;     /* NULL = application/json */
    const char *hdr_name, *hdr_value;
    const char *hdr2_name, *hdr2_value; /* a second extra header (copied by MHD) */
    struct wd__stream *stream;    /* a streamed body (chat_stream.c) instead of body */
    const struct wd__key *key;    /* in */
    const char *request_id;       /* in */
    int hops;                     /* in: the request's X-Warden-Hops (gateways it passed) */
    char *log_extra;              /* out: members for the access log (malloc'd) */
    bool log_off;                 /* in: the server writes no access log: the
                                   * wd__answer_log_* calls do nothing */
} wd__answer;
typedef struct wd__stream wd__stream;

/* Appends the members (a JSON fragment as described for log_extra, e.g.
 * "\"model\":\"m\"") to a->log_extra. Out of memory: the members are
 * dropped (the log line is written without them). */
void wd__answer_log_add(wd__answer *a, const char *members);
/* The same with the members from a printf format. */
void wd__answer_log_printf(wd__answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
/* Closes the listening socket (and heads still arriving); connections past
 * the gate go on. */
void wd__gate_stop_accepting(wd_server *srv);
/* Stops the gate's thread once no answer is in progress (or at until,
 * monotonic ns; 0: at once); the connections past it stay open until
 * wd__gate_free (after MHD's daemons have stopped, so that MHD, not a
 * closed socket, ends the requests still in progress). Idempotent. */
void wd__gate_stop(wd_server *srv, int64_t until);
void wd__gate_free(wd_server *srv);

/* ==== The guards in force (guards.c) ===================================== */

/* Takes a reference to the server's guard (the one of policy_path); never
 * NULL while the server runs. */
wd__guard_ref *wd__server_guard_acquire(wd_server *srv);
/* Takes a reference to the guard that checks requests of key k: its own
 * policy's when it has one, else the server's (k NULL: the server's).
 * Release it with wd__server_guard_release. */
wd__guard_ref *wd__server_guard_for(wd_server *srv, const wd__key *k);
void wd__server_guard_release(wd_server *srv, wd__guard_ref *ref);
/* Loads each distinct per-key policy once (srv->kpol) and points the keys
 * at them; start only. The error names the key and the file. */
wd_status wd__guards_load_keyed(wd_server *srv);
/* Rebuilds the server's guard (from path) and every per-key guard; only if
 * all load, swaps them all in under one lock. */
wd_status wd__guards_reload(wd_server *srv, const char *path);
void wd__guards_free(wd_server *srv);

/* ==== Bounded queue for long requests =================================== */

/* Takes one of the server's max_inflight slots for a long request (chat):
 * true, or false when all are taken (answer with wd__answer_busy). Each
 * true must be paired with one wd__server_inflight_leave. server.c does this
 * itself for the routes marked `long_` in its table (chat, completions),
 * from before the body is read until the request ends, so their handlers
 * need not. The number in use is the warden_chat_inflight gauge. */
bool wd__server_inflight_enter(wd_server *srv);
void wd__server_inflight_leave(wd_server *srv);
/* Sets a to 503 server_busy (OpenAI error shape) with Retry-After: 1. */
void wd__answer_busy(wd__answer *a, const char *what);

/* ==== Access log and request end (access_log.c) ========================= */

/* One finished request, as the access log and the metrics see it. */
typedef struct wd__access_rec {
    int64_t t0_ns;                /* monotonic: when its head arrived (gate: the accept) */
    const char *request_id;
    const struct sockaddr *remote; /* NULL: unknown */
    const wd__key *key;           /* NULL: anonymous */
    const char *method, *path;    /* NULL: not read (a framing error) */
    size_t method_len, path_len;
    wd__route route;
    int status;                   /* 499: no answer was sent */
    uint64_t bytes_in, bytes_out; /* request body bytes read; answer body bytes */
    const char *log_extra;        /* the route's members (wd__answer.log_extra) or NULL */
    const char *aborted;          /* NULL, or why no answer went out ("client_closed",
                                   * "shutdown", "timeout", "error") */
} wd__access_rec;

/* The end of every request, answered by MHD or by the gate: counts it in
 * the metrics (route, status, latency, key) and writes its log line. */
void wd__server_request_end(wd_server *srv, const wd__access_rec *r);
/* Opens the log (path "-" = stderr); NULL path: none. */
wd_status wd__access_log_open(wd_server *srv, const char *path);
/* Reopens the log file at its path (rotation); false when that failed (the
 * old file stays in use; the reason in wd_last_error()). */
bool wd__access_log_reopen(wd_server *srv);
void wd__access_log_close(wd_server *srv);
/* A fresh request id: prefix + 24 hex digits, into out[48]. */
void wd__server_new_id(wd_server *srv, const char *prefix, char out[48]);

/* The request's id for the x-request-id answer header: the client's own
 * X-Request-Id when it is 1-128 characters of [A-Za-z0-9._:-], else a new
 * "req-..." id. */
#define WD__REQUEST_ID_MAX 128
void wd__server_request_id(wd_server *srv, const char *client, size_t n, char out[WD__REQUEST_ID_MAX + 1]);

/* A POST route's handler: runs on a worker once the whole body is in;
 * fills a (see wd__answer for its in-fields). The table of routes is in
 * server.c; the chat routes (WD__ROUTE_CHAT, WD__ROUTE_COMPLETIONS) point
 * at server.c's route_chat_pending (501) until the gateway's handlers
 * replace it there. */
typedef void (*wd__route_fn)(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                             wd__answer *a);
void wd__route_moderations(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                           wd__answer *a);
void wd__route_check(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                     wd__answer *a);
void wd__route_certify(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                       wd__answer *a);
/* The chat gateway (chat_route.c); 404 no_chat_model without one. */
void wd__route_chat(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                    wd__answer *a);
void wd__route_completions(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                           wd__answer *a);
/* GET /v1/models of a gateway: the model list (a JSON array, malloc'd), or
 * NULL (no gateway, or the upstream did not answer). */
char *wd__gateway_models(wd_server *srv, int hops);

#endif
