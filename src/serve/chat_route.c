/*
 * serve/chat_route.c - POST /v1/chat/completions and /v1/completions: the
 * guarded chat path, and the gateway's start and end.
 *
 *   request ─> input rail (every user, tool and function turn, role input)
 *     block  ─> a refusal: a normal completion whose text is the refusal,
 *               finish_reason "content_filter"; the model is not called
 *     redact ─> the masked turns go to the model instead
 *     warn   ─> passed, x-warden-action: warn
 *   ─> the model (upstream or local) ─> output rail (each choice's text)
 *     block  ─> that choice's text becomes the refusal, "content_filter"
 *     redact ─> masked; warn ─> passed with the header
 *     revise ─> critique -> revision, re-checked (revise.c); else block
 *   streamed answers: chat_stream.c
 *
 * Every answer the gateway touched carries "warden": {"input": {...},
 * "output": {...}} (the rail's action and the verdict that caused it) and
 * the header x-warden-action (the most severe action of the request:
 * allow < warn < redact < revise < block). System and developer turns are
 * the operator's and are not checked; assistant turns sent by the client
 * are context, checked when the gateway produced them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "serve/chat_internal.h"

static const char default_refusal[] =
    "I can't help with that request.";

wd_status wd__constitution_load(const char *path, char ***out, size_t *n);

void wd__gateway_free(wd_server *srv) {
    wd__gateway *gw = srv->gw;
    if (!gw) return;
    /* the connections are closed, so every stream was told to stop:
     * wait for their threads, which still use the server */
    for (int i = 1; atomic_load(&gw->producers) > 0; i++) { /* each ends by its deadline */
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        if (i % 2500 == 0) WD_INFO("serve: waiting for %d stream(s) to end", atomic_load(&gw->producers));
    }
    if (gw->be) gw->be->free(gw->self);
    for (size_t i = 0; i < gw->n_principles; i++) free(gw->principles[i]);
    free(gw->principles);
    free(gw->refusal);
    free(gw);
    srv->gw = NULL;
}

wd_status wd__gateway_start(wd_server *srv) {
    const wd_gateway_params *gp = &srv->p.gateway;
    bool up = gp->upstream && gp->upstream[0], local = gp->model_dir && gp->model_dir[0];
    if (!up && !local) return WD_OK;
    if (up && local)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: give either an upstream or a local model, not both");
    wd__gateway *gw = calloc(1, sizeof *gw);
    if (!gw) return wd__fail(WD_ERR_NOMEM, "out of memory");
    srv->gw = gw;
    gw->p = *gp;
    gw->p.upstream = gw->p.upstream_key = gw->p.upstream_ca = NULL; /* not kept */
    gw->p.model_dir = gw->p.model_name = gw->p.refusal = gw->p.constitution = NULL;
    if (gw->p.stream_check_tokens <= 0) gw->p.stream_check_tokens = 16;
    if (gw->p.revise_rounds <= 0) gw->p.revise_rounds = 2;
    if (gw->p.input_action == WD_GATEWAY_ACTION_REVISE)
        return wd__fail(WD_ERR_INVALID_ARG, "serve: the input rail cannot revise (block, redact or warn)");
    gw->refusal = strdup(gp->refusal ? gp->refusal : default_refusal);
    if (!gw->refusal) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = wd__constitution_load(gp->constitution, &gw->principles, &gw->n_principles);
    if (st) return wd__err_prefix(st, "serve: --constitution"), st;
    st = up ? wd__chat_upstream_new(gp, &srv->counters, &gw->be, &gw->self)
            : wd__chat_local_new(gp, &gw->be, &gw->self);
    if (st) {
        gw->be = NULL;
        wd__err_prefix(st, "serve: %s", up ? "--upstream" : "--model");
        return st;
    }
    WD_INFO("serve: chat gateway on %s %s", up ? "upstream" : "local model", up ? gp->upstream : gp->model_dir);
    return WD_OK;
}

/* ==== Helpers ================================================================ */

static int severity(wd_gateway_action a) {
    switch (a) {
    case WD_GATEWAY_ACTION_WARN: return 1;
    case WD_GATEWAY_ACTION_REDACT: return 2;
    case WD_GATEWAY_ACTION_REVISE: return 3;
    case WD_GATEWAY_ACTION_BLOCK: return 4;
    default: return 0;
    }
}

static void note_rail(cJSON *w, const char *name, const wd__rail_result *r, int index) {
    if (!r->checked) return;
    cJSON *o = cJSON_AddObjectToObject(w, name);
    cJSON_AddStringToObject(o, "action", wd__gateway_action_name(r->action));
    if (index >= 0) cJSON_AddNumberToObject(o, name[0] == 'i' ? "message_index" : "choice_index", index);
    if (r->error) cJSON_AddTrueToObject(o, "error");
    cJSON *v = wd__verdict_public(r->verdict);
    if (v) cJSON_AddItemToObject(o, "verdict", v);
}

void wd__rail_count(wd_server *srv, wd__rail rail, const wd__rail_result *r, wd__answer *a) {
    if (!r->checked) return;
    wd__rail_action act = r->error                                  ? WD__RAIL_ACTION_ERROR
                        : r->action == WD_GATEWAY_ACTION_BLOCK       ? WD__RAIL_ACTION_BLOCK
                        : r->action == WD_GATEWAY_ACTION_REDACT      ? WD__RAIL_ACTION_REDACT
                        : r->action == WD_GATEWAY_ACTION_WARN        ? WD__RAIL_ACTION_WARN
                        : r->action == WD_GATEWAY_ACTION_REVISE      ? WD__RAIL_ACTION_REVISE
                                                                     : WD__RAIL_ACTION_ALLOW;
    wd__counters_rail(&srv->counters, rail, act);
    static const char *const rail_key[] = {"rail_input", "rail_output", "rail_stream"};
    if (a) wd__answer_log_printf(a, "\"%s\":\"%s\"", rail_key[rail], wd__gateway_action_name(r->action));
}

/* A blocked request's answer: a completion (or a one-chunk stream). */
static void refuse(wd_server *srv, const wd__chat_req *rq, const char *id, cJSON *warden,
                   wd__answer *a) {
    if (!rq->stream) {
        cJSON *c = wd__chat_completion_new(rq, id, NULL, srv->gw->refusal, "content_filter");
        cJSON *u = cJSON_AddObjectToObject(c, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", 0);
        cJSON_AddNumberToObject(u, "completion_tokens", 0);
        cJSON_AddNumberToObject(u, "total_tokens", 0);
        cJSON_AddItemToObject(c, "warden", warden);
        wd__answer_json(a, 200, c);
        return;
    }
    cJSON *c = wd__chat_chunk_new(rq, id, NULL, (long long)time(NULL), 0, "assistant",
                                  srv->gw->refusal, "content_filter");
    cJSON_AddItemToObject(c, "warden", warden);
    char *t = wd__json_print(c, false);
    cJSON_Delete(c);
    size_t n = t ? strlen(t) : 0;
    char *b = malloc(n + 32);
    if (!t || !b) {
        free(t);
        free(b);
        wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return;
    }
    a->len = (size_t)sprintf(b, "data: %s\n\ndata: [DONE]\n\n", t);
    free(t);
    a->status = 200;
    a->body = b;
    a->content_type = "text/event-stream";
}

static void fail_answer(wd__chat_fail *f, wd__answer *a) {
    if (f->upstream_body) { /* the upstream's own error, as it sent it */
        a->status = f->status;
        a->body = f->upstream_body;
        a->len = strlen(f->upstream_body);
        f->upstream_body = NULL;
        return;
    }
    wd__answer_error(a, f->status, f->type ? f->type : "server_error",
                     f->code ? f->code : "upstream_error", NULL, "%s", f->message);
}

/* ==== The handler ============================================================== */

static void chat(wd_server *srv, const char *body, size_t len, bool legacy, wd__answer *a) {
    wd__gateway *gw = srv->gw;
    if (!gw) {
        wd__answer_error(a, 404, "invalid_request_error", "no_chat_model", NULL,
                         "this server guards no chat model: start it with --upstream URL or --model DIR");
        return;
    }
    if (a->hops >= WD__MAX_HOPS) {
        wd__answer_error(a, 508, "server_error", "loop_detected", NULL,
                         "the request passed %d warden gateways: an upstream leads back to a gateway "
                         "(check --upstream)", a->hops);
        return;
    }
    wd__chat_req rq;
    if (!wd__chat_req_parse(body, len, legacy, (size_t)srv->p.max_inputs, &rq, a)) {
        wd__chat_req_free(&rq);
        return;
    }
    rq.hops = a->hops < 0 ? 0 : a->hops;
    /* the completion's id carries the request's (x-request-id, the log) */
    char id[WD__REQUEST_ID_MAX + 16];
    if (a->request_id) snprintf(id, sizeof id, "%s%s", legacy ? "cmpl-" : "chatcmpl-", a->request_id);
    else wd__server_new_id(srv, legacy ? "cmpl-" : "chatcmpl-", id);
    int64_t now = wd__serve_now_ns();
    int64_t check_deadline = now + (int64_t)srv->p.timeout_ms * 1000000;
    int64_t deadline = now + (int64_t)(srv->p.gateway.upstream_timeout_ms > 0
                                           ? srv->p.gateway.upstream_timeout_ms : 120000) * 1000000;
    wd__guard_ref *ref = a->key ? wd__server_guard_for(srv, a->key) : wd__server_guard_acquire(srv);
    cJSON *warden = cJSON_CreateObject();
    wd__answer_log_printf(a, "\"stream\":%s", rq.stream ? "true" : "false");
    if (rq.model && !a->log_off) {
        wd__jsonw w = {0};
        wd__jsonw_lit(&w, "\"model\":");
        wd__jsonw_cstr(&w, rq.model);
        char *ms = wd__jsonw_take(&w, NULL);
        wd__answer_log_add(a, ms);
        free(ms);
    }
    wd_gateway_action worst = WD_GATEWAY_ACTION_AUTO;

    /* ---- input rail ---- */
    wd__rail_result in;
    wd_status st = wd__rail_check_input(srv, ref->guard, &rq, check_deadline, &in);
    if (st) {
        wd__rail_result_free(&in);
        cJSON_Delete(warden);
        wd__server_guard_release(srv, ref);
        wd__chat_req_free(&rq);
        if (st == WD_ERR_NOMEM) wd__answer_error(a, 500, "server_error", "out_of_memory", NULL, "out of memory");
        else wd__answer_error(a, 503, "server_error", "shutting_down", NULL, "the server is stopping");
        return;
    }
    note_rail(warden, "input", &in, in.index);
    wd__rail_count(srv, WD__RAIL_INPUT, &in, a);
    worst = in.action;
    const char *fwd = body; /* what goes to the model: the client's bytes unless changed */
    size_t fwd_len = len;
    if (in.action == WD_GATEWAY_ACTION_BLOCK) {
        wd__rail_result_free(&in);
        refuse(srv, &rq, id, warden, a);
        a->hdr2_name = "x-warden-action";
        a->hdr2_value = "block";
        wd__server_guard_release(srv, ref);
        wd__chat_req_free(&rq);
        return;
    }
    if (in.action == WD_GATEWAY_ACTION_REDACT) {
        for (size_t k = 0; k < in.n && k < rq.n_msgs; k++) {
            if (!in.redacted[k]) continue;
            wd__chat_msg *m = &rq.msgs[k];
            free(m->text);
            m->text = in.redacted[k];
            m->len = strlen(m->text);
            in.redacted[k] = NULL;
        }
        fwd = NULL; /* re-serialised with the masked turns */
        fwd_len = 0;
    }
    wd__rail_result_free(&in);

    /* ---- the model ---- */
    if (rq.stream) {
        cJSON_Delete(warden); /* the stream's own chunks carry the output verdicts */
        st = wd__chat_stream_start(srv, ref, &rq, fwd, fwd_len, id, deadline, a);
        /* the stream adds its own log members when it ends */
        if (st) {
            wd__server_guard_release(srv, ref);
            wd__answer_error(a, 500, "server_error", "internal_error", NULL, "%s", wd_last_error());
        }
        /* the stream owns ref now (or released it on failure) */
        wd__chat_req_free(&rq);
        if (worst != WD_GATEWAY_ACTION_AUTO) {
            a->hdr2_name = "x-warden-action";
            a->hdr2_value = wd__gateway_action_name(worst);
        }
        return;
    }
    cJSON *out = NULL;
    wd__chat_fail f = {0};
    wd__chat_stats cs = {0};
    bool called = gw->be->complete(gw->self, &rq, fwd, fwd_len, id, deadline, &srv->cancel, &out, NULL,
                                   NULL, &f, &cs);
    if (cs.upstream_status)
        wd__answer_log_printf(a, "\"upstream_status\":%d,\"upstream_attempts\":%d", cs.upstream_status,
                              cs.attempts);
    wd__answer_log_printf(a, "\"model_ms\":%.1f", cs.model_ms);
    if (!called) {
        wd__answer_log_printf(a, "\"model_error\":\"%s\"", f.code ? f.code : "error");
        fail_answer(&f, a);
        free(f.upstream_body);
        cJSON_Delete(warden);
        wd__server_guard_release(srv, ref);
        wd__chat_req_free(&rq);
        return;
    }

    /* ---- output rail, choice by choice: every text the choice carries ---- */
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(out, "choices");
    int n_choices = cJSON_GetArraySize(choices);
    wd__rail_result shown = {.index = -1};
    enum { MAX_SLOTS = 256 };
    cJSON *slots[MAX_SLOTS];
    const char *texts[MAX_SLOTS];
    size_t lens[MAX_SLOTS];
    bool failed = false;
    for (int i = 0; i < n_choices && !failed; i++) {
        int ns = wd__chat_choice_slots(out, i, legacy, slots, MAX_SLOTS);
        if (ns == 0) continue; /* nothing written: nothing to read */
        wd__rail_result r;
        if (ns < 0 || ns > MAX_SLOTS) {
            /* a shape no client expects, or more texts than the rail reads:
             * not passed unread */
            memset(&r, 0, sizeof r);
            r.checked = true;
            r.index = -1;
            r.action = WD_GATEWAY_ACTION_BLOCK;
        } else {
            for (int k = 0; k < ns; k++) {
                texts[k] = slots[k]->valuestring;
                lens[k] = strlen(texts[k]);
            }
            /* the answer's checks get their own time (the model took its) */
            int64_t out_deadline = wd__serve_now_ns() + (int64_t)srv->p.timeout_ms * 1000000;
            if (wd__rail_check(srv, ref->guard, WD__RAIL_OUTPUT, &rq, texts, lens, (size_t)ns,
                               out_deadline, &r)) {
                failed = true; /* cancelled (stopping) or out of memory: nothing unchecked leaves */
                break;
            }
        }
        if (r.action == WD_GATEWAY_ACTION_REVISE) {
            const char *t = wd__chat_choice_text(out, i, legacy);
            if (!t && r.index >= 0 && r.index < ns) t = texts[r.index];
            char *rev = NULL;
            int used = 0;
            int64_t rev_deadline = wd__serve_now_ns() + (deadline - now);
            if (t && wd__revise(srv, ref->guard, &rq, t, rev_deadline, &rev, &used)) {
                wd__chat_choice_block(out, i, legacy, rev); /* the revision alone */
                wd__chat_choice_set(out, i, legacy, rev, "stop");
                free(rev);
            } else {
                r.action = WD_GATEWAY_ACTION_BLOCK;
            }
            cJSON *rv = cJSON_AddObjectToObject(warden, "revision");
            cJSON_AddNumberToObject(rv, "rounds", used);
            cJSON_AddBoolToObject(rv, "accepted", r.action == WD_GATEWAY_ACTION_REVISE);
        }
        if (r.action == WD_GATEWAY_ACTION_REDACT) {
            for (int k = 0; k < ns && r.action == WD_GATEWAY_ACTION_REDACT; k++) {
                if (!r.redacted[k]) continue;
                bool args = slots[k]->string && !strcmp(slots[k]->string, "arguments");
                cJSON *ok = args ? cJSON_Parse(r.redacted[k]) : NULL;
                if (args && !ok) r.action = WD_GATEWAY_ACTION_BLOCK; /* masking broke the JSON */
                else cJSON_SetValuestring(slots[k], r.redacted[k]);
                cJSON_Delete(ok);
            }
            cJSON *c = cJSON_GetArrayItem(choices, i);
            cJSON_DeleteItemFromObjectCaseSensitive(c, "logprobs");
            cJSON_AddNullToObject(c, "logprobs");
        }
        if (r.action == WD_GATEWAY_ACTION_BLOCK) wd__chat_choice_block(out, i, legacy, gw->refusal);
        wd__rail_count(srv, WD__RAIL_OUTPUT, &r, NULL); /* each choice counted; logged once below */
        if (severity(r.action) > severity(worst)) worst = r.action;
        if (r.checked && (shown.index < 0 || severity(r.action) > severity(shown.action))) {
            wd__rail_result_free(&shown);
            shown = r;
            shown.index = i;
            shown.redacted = NULL; /* freed with r below */
            shown.n = 0;
            r.verdict = NULL;
            for (size_t k = 0; k < r.n; k++) free(r.redacted[k]);
            free(r.redacted);
        } else {
            wd__rail_result_free(&r);
        }
    }
    if (failed) {
        wd__rail_result_free(&shown);
        cJSON_Delete(out);
        cJSON_Delete(warden);
        wd__server_guard_release(srv, ref);
        wd__chat_req_free(&rq);
        wd__answer_error(a, 503, "server_error", "shutting_down", NULL,
                         "the answer could not be checked (the server is stopping)");
        return;
    }
    note_rail(warden, "output", &shown, shown.index);
    if (shown.checked) /* the most severe choice's action, as for n = 1 */
        wd__answer_log_printf(a, "\"rail_output\":\"%s\"", wd__gateway_action_name(shown.action));
    wd__rail_result_free(&shown);
    cJSON_DeleteItemFromObjectCaseSensitive(out, "warden");
    cJSON_AddItemToObject(out, "warden", warden);
    wd__answer_json(a, 200, out);
    a->hdr2_name = "x-warden-action";
    a->hdr2_value = wd__gateway_action_name(worst);
    wd__server_guard_release(srv, ref);
    wd__chat_req_free(&rq);
}

void wd__route_chat(wd_server *srv, const char *body, size_t len, int64_t deadline_ns, wd__answer *a) {
    (void)deadline_ns;
    chat(srv, body, len, false, a);
}

void wd__route_completions(wd_server *srv, const char *body, size_t len, int64_t deadline_ns,
                           wd__answer *a) {
    (void)deadline_ns;
    chat(srv, body, len, true, a);
}

/* GET /v1/models with a gateway: the model's list (the upstream's, or the
 * local model); NULL when the upstream cannot be asked. */
char *wd__gateway_models(wd_server *srv, int hops) {
    if (!srv->gw) return NULL;
    return srv->gw->be->models(srv->gw->self, hops, wd__serve_now_ns() + (int64_t)3000000000);
}
