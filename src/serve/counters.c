/*
 * serve/counters.c - the server's counters in the Prometheus text exposition
 * format (version 0.0.4): counters, a latency histogram per route, gauges.
 *
 *   warden_http_requests_total{route,code}         counter
 *   warden_http_request_duration_seconds{route}    histogram (le buckets)
 *   warden_http_requests_in_flight                 gauge
 *   warden_inputs_checked_total                    counter
 *   warden_verdicts_total{verdict="allowed|flagged"} counter
 *   warden_category_flagged_total{category}        counter (canonical ids)
 *   warden_guard_errors_total                      counter (fail mode applied)
 *   warden_policy_reloads_total{result="ok|failed"} counter
 *   warden_connections_cut_total                   counter (slow heads/bodies past the gate)
 *   warden_request_body_bytes                      gauge (bytes of the body budget in use)
 *   warden_key_requests_total{key,class}           counter (named keys, "unnamed", "anonymous")
 *   warden_rail_total{rail,action}                 counter (the chat gateway's rails)
 *   warden_upstream_requests_total{status}         counter (2xx|4xx|5xx|error|timeout)
 *   warden_upstream_seconds                        histogram (upstream call time)
 *   warden_chat_inflight                           gauge (long requests holding a slot)
 *
 * Every field is a relaxed atomic: counts are exact, but one scrape may
 * see one counter bumped and its neighbour not yet.
 */
#include <stdlib.h>
#include <string.h>

#include "serve/serve_internal.h"

static const char *const route_names[WD__ROUTE_COUNT] = {
    "/v1/moderations", "/v1/check", "/v1/certify", "/healthz", "/readyz", "/metrics", "/v1/models",
    "/v1/chat/completions", "/v1/completions", "other",
};

static const char *const rail_names[WD__RAIL_COUNT] = {"input", "output", "stream"};
static const char *const action_names[WD__RAIL_ACTION_COUNT] = {
    "allow", "flag", "redact", "block", "warn", "revise", "error",
};
static const char *const upstream_names[WD__UPSTREAM_COUNT] = {"2xx", "4xx", "5xx", "error", "timeout"};
static const char *const class_names[WD__KEY_CLASSES] = {"2xx", "4xx", "5xx"};

/* Upper bounds of the upstream-time buckets, seconds (a chat answer takes
 * from tens of milliseconds to minutes). */
static const double up_le[WD__UP_BUCKETS] = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120,
};

/* Upper bounds of the latency buckets, seconds. */
static const double lat_le[WD__LAT_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 10,
};

const char *wd__route_name(wd__route r) {
    return r >= 0 && r < WD__ROUTE_COUNT ? route_names[r] : "other";
}

#define ADD(x, v) atomic_fetch_add_explicit(&(x), (v), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

void wd__counters_request(wd__counters *m, wd__route r, int status, double seconds) {
    if (r < 0 || r >= WD__ROUTE_COUNT) r = WD__ROUTE_OTHER;
    if (status < 100 || status > 599) status = 500;
    ADD(m->by_status[r][status], 1);
    int b = 0;
    while (b < WD__LAT_BUCKETS && seconds > lat_le[b]) b++;
    ADD(m->lat_bucket[r][b], 1);
    ADD(m->lat_sum_us[r], (uint64_t)(seconds > 0 ? seconds * 1e6 : 0));
}

const char *wd__rail_name(wd__rail r) { return r >= 0 && r < WD__RAIL_COUNT ? rail_names[r] : "?"; }

const char *wd__rail_action_name(wd__rail_action a) {
    return a >= 0 && a < WD__RAIL_ACTION_COUNT ? action_names[a] : "?";
}

void wd__counters_rail(wd__counters *m, wd__rail rail, wd__rail_action action) {
    if (rail < 0 || rail >= WD__RAIL_COUNT || action < 0 || action >= WD__RAIL_ACTION_COUNT) return;
    ADD(m->rail[rail][action], 1);
}

wd__upstream_class wd__upstream_class_of(int http_status) {
    return http_status >= 200 && http_status < 300 ? WD__UPSTREAM_2XX
         : http_status >= 500 && http_status < 600 ? WD__UPSTREAM_5XX
         : http_status >= 100 && http_status < 500 ? WD__UPSTREAM_4XX
                                                   : WD__UPSTREAM_ERROR;
}

void wd__counters_upstream(wd__counters *m, wd__upstream_class c, double seconds) {
    if (c < 0 || c >= WD__UPSTREAM_COUNT) c = WD__UPSTREAM_ERROR;
    ADD(m->upstream[c], 1);
    int b = 0;
    while (b < WD__UP_BUCKETS && seconds > up_le[b]) b++;
    ADD(m->up_bucket[b], 1);
    ADD(m->up_sum_us, (uint64_t)(seconds > 0 ? seconds * 1e6 : 0));
}

wd_status wd__counters_keys_init(wd__counters *m, const char **names, int n) {
    m->key_row_name = malloc((size_t)n * sizeof *m->key_row_name);
    m->key_requests = calloc((size_t)n * WD__KEY_CLASSES, sizeof *m->key_requests);
    if (!m->key_row_name || !m->key_requests) {
        wd__counters_free(m);
        return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    }
    memcpy(m->key_row_name, names, (size_t)n * sizeof *names);
    m->n_key_rows = n;
    return WD_OK;
}

void wd__counters_free(wd__counters *m) {
    free(m->key_row_name);
    free((void *)m->key_requests);
    m->key_row_name = NULL;
    m->key_requests = NULL;
    m->n_key_rows = 0;
}

void wd__counters_key(wd__counters *m, int row, int status) {
    int c = status >= 200 && status < 300 ? 0 : status >= 400 && status < 500 ? 1 : status >= 500 ? 2 : -1;
    if (c < 0 || row < 0 || row >= m->n_key_rows) return;
    ADD(m->key_requests[row * WD__KEY_CLASSES + c], 1);
}

void wd__counters_verdict(wd__counters *m, const wd__serve_result *res) {
    ADD(m->inputs, 1);
    ADD(m->verdicts[res->unsafe ? 1 : 0], 1);
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        if (res->flagged & WD_CATMASK(c)) ADD(m->category[c], 1);
}

char *wd__counters_render(const wd__counters *m, size_t *len) {
    wd__jsonw w = {0}; /* plain text, the writer only appends */
    wd__jsonw_lit(&w, "# HELP warden_http_requests_total HTTP requests answered, by route and status code.\n"
                      "# TYPE warden_http_requests_total counter\n");
    for (int r = 0; r < WD__ROUTE_COUNT; r++)
        for (int s = 100; s < 600; s++) {
            uint64_t n = GET(m->by_status[r][s]);
            if (n)
                wd__jsonw_printf(&w, "warden_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                                 route_names[r], s, (unsigned long long)n);
        }
    wd__jsonw_lit(&w, "# HELP warden_http_request_duration_seconds Time from request headers to the "
                      "answer being sent.\n"
                      "# TYPE warden_http_request_duration_seconds histogram\n");
    for (int r = 0; r < WD__ROUTE_COUNT; r++) {
        uint64_t cum = 0;
        for (int b = 0; b <= WD__LAT_BUCKETS; b++) {
            cum += GET(m->lat_bucket[r][b]);
            if (b < WD__LAT_BUCKETS)
                wd__jsonw_printf(&w, "warden_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                                 route_names[r], lat_le[b], (unsigned long long)cum);
            else
                wd__jsonw_printf(&w, "warden_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                                 route_names[r], (unsigned long long)cum);
        }
        wd__jsonw_printf(&w, "warden_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                         route_names[r], (double)GET(m->lat_sum_us[r]) * 1e-6);
        wd__jsonw_printf(&w, "warden_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                         route_names[r], (unsigned long long)cum);
    }
    wd__jsonw_printf(&w, "# HELP warden_http_requests_in_flight Requests received and not yet answered.\n"
                         "# TYPE warden_http_requests_in_flight gauge\n"
                         "warden_http_requests_in_flight %lld\n",
                     (long long)GET(m->in_flight));
    wd__jsonw_printf(&w, "# HELP warden_inputs_checked_total Texts checked by the guard.\n"
                         "# TYPE warden_inputs_checked_total counter\n"
                         "warden_inputs_checked_total %llu\n",
                     (unsigned long long)GET(m->inputs));
    wd__jsonw_printf(&w, "# HELP warden_verdicts_total Verdicts, by outcome.\n"
                         "# TYPE warden_verdicts_total counter\n"
                         "warden_verdicts_total{verdict=\"allowed\"} %llu\n"
                         "warden_verdicts_total{verdict=\"flagged\"} %llu\n",
                     (unsigned long long)GET(m->verdicts[0]), (unsigned long long)GET(m->verdicts[1]));
    wd__jsonw_lit(&w, "# HELP warden_category_flagged_total Verdicts that flagged each canonical category.\n"
                      "# TYPE warden_category_flagged_total counter\n");
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        wd__jsonw_printf(&w, "warden_category_flagged_total{category=\"%s\"} %llu\n",
                         wd_category_id((wd_category)c), (unsigned long long)GET(m->category[c]));
    wd__jsonw_printf(&w, "# HELP warden_guard_errors_total Checks that failed; the policy's fail mode "
                         "decided the answer.\n"
                         "# TYPE warden_guard_errors_total counter\n"
                         "warden_guard_errors_total %llu\n",
                     (unsigned long long)GET(m->guard_errors));
    wd__jsonw_printf(&w, "# HELP warden_policy_reloads_total Policy reloads, by result.\n"
                         "# TYPE warden_policy_reloads_total counter\n"
                         "warden_policy_reloads_total{result=\"ok\"} %llu\n"
                         "warden_policy_reloads_total{result=\"failed\"} %llu\n",
                     (unsigned long long)GET(m->reloads[0]), (unsigned long long)GET(m->reloads[1]));
    wd__jsonw_printf(&w, "# HELP warden_connections_cut_total Connections shut because their request "
                         "head or body missed its deadline after the gate.\n"
                         "# TYPE warden_connections_cut_total counter\n"
                         "warden_connections_cut_total %llu\n",
                     (unsigned long long)GET(m->conn_cuts));
    wd__jsonw_printf(&w, "# HELP warden_request_body_bytes Request body bytes reserved from the "
                         "server's body budget.\n"
                         "# TYPE warden_request_body_bytes gauge\n"
                         "warden_request_body_bytes %lld\n",
                     (long long)GET(m->body_bytes));
    wd__jsonw_lit(&w, "# HELP warden_key_requests_total Requests answered, by API key name and status "
                      "class (\"anonymous\": no key; \"unnamed\": keys without a name).\n"
                      "# TYPE warden_key_requests_total counter\n");
    for (int r = 0; r < m->n_key_rows; r++)
        for (int c = 0; c < WD__KEY_CLASSES; c++)
            wd__jsonw_printf(&w, "warden_key_requests_total{key=\"%s\",class=\"%s\"} %llu\n",
                             m->key_row_name[r], class_names[c],
                             (unsigned long long)GET(m->key_requests[r * WD__KEY_CLASSES + c]));
    wd__jsonw_lit(&w, "# HELP warden_rail_total Decisions of the chat gateway's rails, by rail and action.\n"
                      "# TYPE warden_rail_total counter\n");
    for (int r = 0; r < WD__RAIL_COUNT; r++)
        for (int a = 0; a < WD__RAIL_ACTION_COUNT; a++)
            wd__jsonw_printf(&w, "warden_rail_total{rail=\"%s\",action=\"%s\"} %llu\n", rail_names[r],
                             action_names[a], (unsigned long long)GET(m->rail[r][a]));
    wd__jsonw_lit(&w, "# HELP warden_upstream_requests_total Calls to the upstream model, by outcome.\n"
                      "# TYPE warden_upstream_requests_total counter\n");
    for (int c = 0; c < WD__UPSTREAM_COUNT; c++)
        wd__jsonw_printf(&w, "warden_upstream_requests_total{status=\"%s\"} %llu\n", upstream_names[c],
                         (unsigned long long)GET(m->upstream[c]));
    wd__jsonw_lit(&w, "# HELP warden_upstream_seconds Time of each upstream call, from connecting to its "
                      "last byte.\n"
                      "# TYPE warden_upstream_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b <= WD__UP_BUCKETS; b++) {
        cum += GET(m->up_bucket[b]);
        if (b < WD__UP_BUCKETS)
            wd__jsonw_printf(&w, "warden_upstream_seconds_bucket{le=\"%g\"} %llu\n", up_le[b],
                             (unsigned long long)cum);
        else
            wd__jsonw_printf(&w, "warden_upstream_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    wd__jsonw_printf(&w, "warden_upstream_seconds_sum %.6f\nwarden_upstream_seconds_count %llu\n",
                     (double)GET(m->up_sum_us) * 1e-6, (unsigned long long)cum);
    wd__jsonw_printf(&w, "# HELP warden_chat_inflight Long (chat) requests holding one of the "
                         "--max-inflight slots.\n"
                         "# TYPE warden_chat_inflight gauge\n"
                         "warden_chat_inflight %lld\n",
                     (long long)GET(m->chat_inflight));
    return wd__jsonw_take(&w, len);
}
