/*
 * tests/fuzz/fuzz_serve_request.c - the server's request-body handlers
 * (POST /v1/moderations and /v1/check) on arbitrary bytes, with a backend
 * whose verdicts depend only on each text's bytes. Invariants: the answer
 * is 200 or 400; its body is always valid JSON (errors included, whatever
 * bytes the request's strings held); a 200 has one result per input and a
 * 400 names an error code. The first byte picks the route.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/serve_internal.h"

static wd_status load(const char *path, const wd_server_params *sp, void **out) {
    (void)sp;
    *out = malloc(1);
    return *out ? WD_OK : WD_ERR_NOMEM;
}
static void release(void *g) { free(g); }
static bool fail_open(const void *g) { return false; }
static wd_status check(void *g, const char *const *texts, const size_t *lens, size_t n,
                       wd__serve_role role, bool redact, int64_t deadline_ns,
                       const volatile sig_atomic_t *cancel, wd__serve_result *out) {
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        unsigned h = 0;
        for (size_t j = 0; j < lens[i]; j++) h = h * 31 + (unsigned char)texts[i][j];
        out[i].score[h % WD_CATEGORY_COUNT] = (float)(h % 101) / 100.0f;
        if (h % 3 == 0) out[i].flagged = WD_CATMASK(h % WD_CATEGORY_COUNT);
        out[i].unsafe = out[i].flagged != 0;
        out[i].json = strdup(out[i].unsafe ? "{\"unsafe\":true}" : "{\"unsafe\":false}");
        if (!out[i].json) abort();
    }
    return WD_OK;
}
static const wd__serve_backend be = {"fuzz", load, release, fail_open, check, NULL, NULL, NULL};

static wd_server *S;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!S) {
        S = calloc(1, sizeof *S);
        pthread_mutex_init(&S->guard_mu, NULL);
        pthread_mutex_init(&S->reload_mu, NULL);
        S->p = wd_server_params_default();
        S->p.max_inputs = 8;
        S->be = &be;
        S->cur = calloc(1, sizeof *S->cur);
        if (be.load(NULL, NULL, &S->cur->guard)) abort();
        atomic_init(&S->cur->refs, 1);
    }
    if (size == 0) return 0;
    const char *body = (const char *)data + 1;
    wd__answer a = {0};
    if (data[0] & 1) wd__route_check(S, body, size - 1, 0, &a);
    else wd__route_moderations(S, body, size - 1, 0, &a);
    if (!a.body) abort();
    if (a.status != 200 && a.status != 400) abort();
    cJSON *j = cJSON_ParseWithLength(a.body, a.len);
    if (!j) abort();
    if (a.status == 200) {
        if (!cJSON_IsArray(cJSON_GetObjectItem(j, "results"))) abort();
    } else {
        if (!cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code"))) abort();
    }
    cJSON_Delete(j);
    free(a.body);
    free(a.log_extra); /* the access log's members (the server frees them at the request's end) */
    return 0;
}
