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
 *
 * Every field is a relaxed atomic: counts are exact, but one scrape may
 * see one counter bumped and its neighbour not yet.
 */
#include <stdlib.h>

#include "serve/serve_internal.h"

static const char *const route_names[WD__ROUTE_COUNT] = {
    "/v1/moderations", "/v1/check", "/v1/certify", "/healthz", "/readyz", "/metrics", "/v1/models",
    "/v1/chat/completions", "/v1/completions", "other",
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
    return wd__jsonw_take(&w, len);
}
