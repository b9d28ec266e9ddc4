/*
 * serve/serve_internal.h - what the files of src/serve/ share.
 *
 *   server.c    libmicrohttpd glue: routing, auth, limits, lifecycle, reload
 *   routes.c    the request handlers: parse JSON bodies, call the guard,
 *               build answers (OpenAI moderation, native check, certify)
 *   openai.c    the one table mapping canonical categories to OpenAI names
 *   metrics.c   Prometheus counters, histograms, gauges
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
#include "warden/serve.h"
#include "warden/taxonomy.h"
#include "base/err.h"

/* ==== JSON writer ======================================================== */

typedef struct wd__jsonw {
    char *buf;   /* malloc'd, NUL-terminated; taken by the caller at the end */
    size_t len, cap;
    bool oom;    /* an allocation failed: the text is incomplete */
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
    float score[WD_CAT_COUNT];   /* per-category scores in [0,1] */
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

/* ==== Metrics (metrics.c) ================================================= */

typedef enum wd__route {
    WD__ROUTE_MODERATIONS = 0,
    WD__ROUTE_CHECK,
    WD__ROUTE_CERTIFY,
    WD__ROUTE_HEALTHZ,
    WD__ROUTE_READYZ,
    WD__ROUTE_METRICS,
    WD__ROUTE_OTHER,
    WD__ROUTE_COUNT
} wd__route;

#define WD__LAT_BUCKETS 14

typedef struct wd__metrics {
    _Atomic uint64_t by_status[WD__ROUTE_COUNT][600];
    _Atomic uint64_t lat_bucket[WD__ROUTE_COUNT][WD__LAT_BUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t lat_sum_us[WD__ROUTE_COUNT];
    _Atomic uint64_t verdicts[2];                      /* [0] allowed, [1] flagged */
    _Atomic uint64_t category[WD_CAT_COUNT];           /* flagged per canonical category */
    _Atomic uint64_t guard_errors;                     /* checks that failed (fail mode applied) */
    _Atomic uint64_t reloads[2];                       /* [0] ok, [1] failed */
    _Atomic int64_t in_flight;
    _Atomic uint64_t inputs;                           /* texts checked */
} wd__metrics;

const char *wd__route_name(wd__route r);
void wd__metrics_request(wd__metrics *m, wd__route r, int status, double seconds);
void wd__metrics_verdict(wd__metrics *m, const wd__serve_result *res);
/* The Prometheus text exposition (caller frees); NULL when out of memory. */
char *wd__metrics_render(const wd__metrics *m, size_t *len);

/* ==== The server (server.c) and its routes (routes.c) ===================== */

/* A loaded guard shared by the requests that use it; freed by whoever drops
 * the last reference (the server's own, or the last request's after a swap). */
typedef struct wd__guard_ref {
    void *guard;
    _Atomic int refs;
} wd__guard_ref;

struct wd_server {
    wd_server_params p;           /* string fields point at the copies below */
    char *host, *api_key, *policy_path;
    const wd__serve_backend *be;
    pthread_mutex_t guard_mu;     /* guards `cur` (held for a pointer copy only) */
    wd__guard_ref *cur;
    pthread_mutex_t reload_mu;    /* one reload at a time */
    struct MHD_Daemon *daemon;
    int listen_fd;                /* after quiesce: ours to close */
    /* Set by wd_server_stop when the grace period runs out with requests in
     * flight: the checks stop (WD_ERR_CANCELLED) and answer 503. */
    volatile sig_atomic_t cancel;
    int port;
    atomic_bool stopping;
    _Atomic uint64_t next_id;
    uint64_t id_salt;
    wd_err err;
    wd__metrics metrics;
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

/* Takes a reference to the guard in force; never NULL while the server runs. */
wd__guard_ref *wd__server_guard_acquire(wd_server *srv);
void wd__server_guard_release(wd_server *srv, wd__guard_ref *ref);
/* A fresh request id: prefix + 24 hex digits, into out[48]. */
void wd__server_new_id(wd_server *srv, const char *prefix, char out[48]);

typedef void (*wd__route_fn)(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                             wd__answer *a);
void wd__route_moderations(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                           wd__answer *a);
void wd__route_check(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                     wd__answer *a);
void wd__route_certify(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                       wd__answer *a);

#endif
