/*
 * serve/chat_stream.c - a streamed answer (`"stream": true`) with the
 * output rail checking it as it grows.
 *
 * A producer thread runs the backend; its chunks arrive here. The text of
 * each choice is accumulated and checked every K text chunks (about K
 * tokens: stream_check_tokens), before a tool-call or finish chunk, and at
 * the end. Text reaches the client only after a check passed it, and the
 * last HOLD_BYTES of checked text are held back until the next check (or
 * the end), so that a phrase or a PII span cut in two by a check boundary
 * is seen whole before any of it leaves. The checks along the way read a
 * window: the new text and the CONTEXT_BYTES sent before it (as NeMo
 * Guardrails' streaming rails do, with chunk and context), so a long
 * answer costs O(n) guard time, not O(n^2); the check at the end reads the
 * whole text, and so does every check of a choice once a span of it was
 * masked (the masked view is the whole text's). The client therefore gets the
 * approved text in the gateway's own content chunks (same id, model and
 * created as the model's), in order with the model's other chunks
 * (role, tool calls, usage), which pass as they are.
 *
 * When a check finds the text unsafe:
 *   block (and revise: a stream cannot be revised) -> one chunk with the
 *     refusal text, finish_reason "content_filter" and the verdict under
 *     "warden", then [DONE]; the backend is stopped;
 *   redact -> the redacted text goes out instead (when a masked span
 *     reaches into text already sent, the stream is cut as for block);
 *   warn -> the text goes out; the final chunk carries the verdict.
 *
 * The client side is libmicrohttpd's content reader, which blocks (the
 * gateway runs one thread per connection) until bytes are ready. The
 * request handler waits for the first bytes: a backend that fails before
 * sending anything gets a plain JSON error with its HTTP status instead of
 * a stream. A client that goes away stops the producer (and the upstream
 * request) within about 100 ms.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "base/utf8.h"
#include "serve/chat_internal.h"

#define MAX_CHOICES 16
#define N_CHAN 2                  /* text channels per choice: content, reasoning */
#define HOLD_BYTES 64
#define CONTEXT_BYTES 1024
#define MAX_PENDING (256 * 1024)  /* SSE bytes queued for a slow client before the producer waits */

struct wd__stream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wd__strbuf out;               /* SSE bytes not yet taken by the client */
    size_t out_off;
    bool started, finished;       /* first bytes queued (or failed); producer done */
    int refs;                     /* producer + reader */
    volatile sig_atomic_t cancel; /* the client went away, or the server is stopping */
    wd__chat_fail fail;           /* a failure before any byte: the answer */
    bool failed;
    pthread_t thread;

    /* producer state (its thread only) */
    wd_server *srv;
    wd__guard_ref *ref;
    wd__chat_req rq;
    char *body;
    size_t len;
    char request_id[WD__REQUEST_ID_MAX + 1];
    int64_t deadline_ns;
    wd__strbuf acc[MAX_CHOICES][N_CHAN];  /* the model's text per choice and channel */
    wd__strbuf sent[MAX_CHOICES][N_CHAN]; /* the text sent (the checked view) */
    bool masked[MAX_CHOICES][N_CHAN];     /* a span was masked: whole-text checks from then on */
    char chan_key[MAX_CHOICES][24];       /* the reasoning channel's member name */
    wd__strbuf other[MAX_CHOICES];        /* tool-call arguments, refusals, ...: checked whole
                                           * at the end, their chunks held until then */
    cJSON *held;                          /* those chunks, in order (an array) */
    bool role_sent[MAX_CHOICES];
    int unchecked;                /* text chunks since the last check */
    bool flushed;                 /* a final check sent everything; no text since */
    bool cut, have_tpl;
    char id[160], model[128];
    long long created;
    char *verdict;                /* the last non-allow verdict (JSON) */
    const char *action;           /* what the stream rail did: "allow", "warn", ... */
    size_t n_checks;
    wd__chat_stats stats;
    wd__answer *ans;              /* the request's answer, for its log line (the reader's thread only) */
    uint64_t *bytes_out;          /* the request's count of bytes sent (the reader's thread only) */
    bool logged;
};

static void stream_unref(wd__stream *s) {
    pthread_mutex_lock(&s->mu);
    int left = --s->refs;
    pthread_mutex_unlock(&s->mu);
    if (left) return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    wd__strbuf_free(&s->out);
    for (int i = 0; i < MAX_CHOICES; i++) {
        for (int c = 0; c < N_CHAN; c++) {
            wd__strbuf_free(&s->acc[i][c]);
            wd__strbuf_free(&s->sent[i][c]);
        }
        wd__strbuf_free(&s->other[i]);
    }
    cJSON_Delete(s->held);
    wd__chat_req_free(&s->rq);
    free(s->body);
    free(s->verdict);
    free(s->fail.upstream_body);
    free(s);
}

/* Queues one SSE event (data: TEXT) for the client; waits while a slow
 * client has MAX_PENDING bytes still to take. */
static void emit_raw(wd__stream *s, const char *text, size_t n) {
    pthread_mutex_lock(&s->mu);
    while (s->out.n - s->out_off > MAX_PENDING && !s->cancel && !s->srv->cancel) {
        wd__cond_wait_ms(&s->cv, &s->mu, 100);
    }
    wd__strbuf_add(&s->out, "data: ", 6);
    wd__strbuf_add(&s->out, text, n);
    wd__strbuf_add(&s->out, "\n\n", 2);
    s->started = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void emit(wd__stream *s, cJSON *chunk) {
    char *t = wd__json_print(chunk, false);
    if (t) emit_raw(s, t, strlen(t));
    free(t);
}

static void attach_verdict(wd__stream *s, cJSON *chunk) {
    cJSON_DeleteItemFromObjectCaseSensitive(chunk, "warden"); /* an upstream warden's */
    cJSON *w = cJSON_AddObjectToObject(chunk, "warden");
    cJSON_AddStringToObject(w, "rail", "output");
    cJSON_AddStringToObject(w, "action", s->action ? s->action : "allow");
    cJSON *v = wd__verdict_public(s->verdict);
    if (v) cJSON_AddItemToObject(w, "verdict", v);
}

/* A chunk of the gateway's own holding checked text of choice index on
 * channel chan (0: content; 1: reasoning, under the model's member name). */
static cJSON *text_chunk(wd__stream *s, int index, int chan, const char *text, size_t n,
                         const char *finish) {
    char *t = strndup(text, n);
    cJSON *c = wd__chat_chunk_new(&s->rq, s->id, s->model, s->created, index, NULL,
                                  chan ? NULL : t ? t : "", finish);
    if (chan) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
                       cJSON_GetObjectItemCaseSensitive(c, "choices"), 0), "delta");
        cJSON_AddStringToObject(d, s->chan_key[index][0] ? s->chan_key[index] : "reasoning_content",
                                t ? t : "");
    }
    free(t);
    return c;
}

/* The refusal chunk and the end: the stream is cut. */
static void cut(wd__stream *s, int index) {
    s->cut = true;
    s->cancel = 1; /* stops the backend */
    const char *ref = s->srv->gw->refusal;
    cJSON *c = text_chunk(s, index, 0, ref, strlen(ref), "content_filter");
    attach_verdict(s, c);
    emit(s, c);
    cJSON_Delete(c);
}

/* Checks choice i's text on channel c; emits what passes. final: nothing
 * held back. */
static bool check_choice(wd__stream *s, int i, int c, bool final) {
    wd__strbuf *a = &s->acc[i][c];
    wd__strbuf *sent = &s->sent[i][c];
    if (!a->n) return true;
    /* a window (CONTEXT_BYTES of sent text + the rest) while the view is
     * the raw text; the whole text at the end and once anything was masked */
    bool whole = final || s->masked[i][c];
    size_t w0 = 0;
    if (!whole && sent->n > CONTEXT_BYTES) {
        w0 = sent->n - CONTEXT_BYTES;
        while (w0 < sent->n && ((unsigned char)a->p[w0] & 0xC0) == 0x80) w0++;
    }
    const char *text = a->p + w0;
    size_t len = a->n - w0;
    wd__rail_result rr;
    s->n_checks++;
    wd_status st = wd__rail_check(s->srv, s->ref->guard, WD__RAIL_STREAM, &s->rq, &text, &len, 1,
                                  wd__serve_now_ns() + (int64_t)s->srv->p.timeout_ms * 1000000, &rr);
    if (st) { /* cancelled (the server is stopping) or out of memory: nothing more leaves */
        s->cancel = 1;
        return false;
    }
    if (rr.action == WD_GATEWAY_ACTION_REDACT && !whole) {
        /* masking needs the whole text (its offsets are the view's) */
        wd__rail_result_free(&rr);
        s->masked[i][c] = true;
        return check_choice(s, i, c, final);
    }
    if (rr.action != WD_GATEWAY_ACTION_AUTO) {
        free(s->verdict);
        s->verdict = rr.verdict;
        rr.verdict = NULL;
        s->action = wd__gateway_action_name(rr.action);
    }
    if (rr.action == WD_GATEWAY_ACTION_BLOCK || rr.action == WD_GATEWAY_ACTION_REVISE) {
        s->action = "block";
        wd__rail_result_free(&rr);
        cut(s, i);
        return false;
    }
    const char *view = a->p; /* the whole text, raw or masked */
    size_t vlen = a->n;
    if (rr.action == WD_GATEWAY_ACTION_REDACT && rr.redacted[0]) {
        view = rr.redacted[0];
        vlen = strlen(view);
    }
    /* what was sent must still be the start of what passes now (a masked
     * span reaching back into sent text cannot be taken back: cut) */
    if (vlen < sent->n || (sent->n && memcmp(view, sent->p, sent->n))) {
        s->action = "block";
        wd__rail_result_free(&rr);
        cut(s, i);
        return false;
    }
    /* hold back the last HOLD_BYTES and the word they end in: a span the
     * scanners only know once it is whole never leaves half-way */
    size_t upto = vlen;
    if (!final) {
        upto = vlen > HOLD_BYTES ? vlen - HOLD_BYTES : 0;
        while (upto > sent->n && view[upto - 1] != ' ' && view[upto - 1] != '\n' && view[upto - 1] != '\t')
            upto--;
    }
    if (upto > sent->n) {
        cJSON *ch = text_chunk(s, i, c, view + sent->n, upto - sent->n, NULL);
        emit(s, ch);
        cJSON_Delete(ch);
        wd__strbuf_add(sent, view + sent->n, upto - sent->n);
    }
    wd__rail_result_free(&rr);
    return true;
}

/* The texts of the held chunks (tool-call arguments, refusals, ...) of
 * choice i, checked whole: false (and the stream cut) when unsafe. */
static bool check_other(wd__stream *s, int i) {
    wd__strbuf *o = &s->other[i];
    if (!o->n) return true;
    const char *text = o->p;
    size_t len = o->n;
    wd__rail_result rr;
    s->n_checks++;
    wd_status st = wd__rail_check(s->srv, s->ref->guard, WD__RAIL_STREAM, &s->rq, &text, &len, 1,
                                  wd__serve_now_ns() + (int64_t)s->srv->p.timeout_ms * 1000000, &rr);
    if (st) {
        s->cancel = 1;
        return false;
    }
    bool pass = rr.action == WD_GATEWAY_ACTION_AUTO || rr.action == WD_GATEWAY_ACTION_WARN;
    if (rr.action != WD_GATEWAY_ACTION_AUTO) {
        free(s->verdict);
        s->verdict = rr.verdict;
        rr.verdict = NULL;
        /* held members cannot be masked in place (arguments are JSON) */
        s->action = pass ? "warn" : "block";
    }
    wd__rail_result_free(&rr);
    if (!pass) cut(s, i);
    return pass;
}

static bool check_all(wd__stream *s, bool final) {
    if (final && s->flushed) return true;
    s->unchecked = 0;
    s->flushed = final;
    for (int i = 0; i < MAX_CHOICES; i++)
        for (int c = 0; c < N_CHAN; c++)
            if (!check_choice(s, i, c, final)) return false;
    if (!final) return true;
    for (int i = 0; i < MAX_CHOICES; i++)
        if (!check_other(s, i)) return false;
    /* everything passed: the held chunks go out, in order */
    cJSON *h;
    cJSON_ArrayForEach(h, s->held) emit(s, h);
    cJSON_Delete(s->held);
    s->held = NULL;
    for (int i = 0; i < MAX_CHOICES; i++) s->other[i].n = 0;
    return true;
}

static bool on_chunk(void *user, cJSON *chunk) {
    wd__stream *s = user;
    if (s->cancel || s->srv->cancel) return false;
    if (!s->have_tpl) { /* the model's id, model name and time, for our chunks */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(chunk, "id");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(chunk, "model");
        const cJSON *cr = cJSON_GetObjectItemCaseSensitive(chunk, "created");
        if (cJSON_IsString(id)) snprintf(s->id, sizeof s->id, "%s", id->valuestring);
        if (cJSON_IsString(m)) snprintf(s->model, sizeof s->model, "%s", m->valuestring);
        if (cJSON_IsNumber(cr)) s->created = (long long)cr->valuedouble;
        s->have_tpl = true;
    }
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(chunk, "choices");
    if (choices && !cJSON_IsArray(choices)) {
        cut(s, 0); /* a shape no client expects is not passed unread */
        return false;
    }
    bool finish = false, text = false, other = false, rest = false;
    cJSON *ch;
    cJSON_ArrayForEach(ch, choices) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ch, "index");
        int i = cJSON_IsNumber(ix) && ix->valuedouble >= 0 && ix->valuedouble < MAX_CHOICES
              ? (int)ix->valuedouble : -1;
        cJSON *d = s->rq.legacy ? ch : cJSON_GetObjectItemCaseSensitive(ch, "delta");
        if (i < 0 || !cJSON_IsObject(ch) || (d && !cJSON_IsObject(d))) {
            cut(s, 0); /* beyond the choices guarded, or unreadable */
            return false;
        }
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ch, "finish_reason"))) finish = true;
        if (!d) continue;
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(d, "role");
        if (cJSON_IsString(role) && !s->role_sent[i]) { /* the opening chunk goes out at once */
            cJSON *c = wd__chat_chunk_new(&s->rq, s->id, s->model, s->created, i, role->valuestring, "", NULL);
            emit(s, c);
            cJSON_Delete(c);
            s->role_sent[i] = true;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(d, "role");
        /* the text channels: accumulated, checked, sent as the gateway's own chunks */
        static const char *const keys[] = {"content", "reasoning_content", "reasoning"};
        for (int k = 0; k < 3; k++) {
            const char *key = s->rq.legacy ? (k ? NULL : "text") : keys[k];
            cJSON *t = key ? cJSON_GetObjectItemCaseSensitive(d, key) : NULL;
            if (!t) continue;
            if (cJSON_IsString(t) && t->valuestring[0]) {
                int c = k ? 1 : 0;
                if (c) snprintf(s->chan_key[i], sizeof s->chan_key[i], "%s", key);
                wd__strbuf_puts(&s->acc[i][c], t->valuestring);
                if (s->acc[i][c].oom) return false;
                s->flushed = false;
                text = true;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(d, key);
        }
        if (s->rq.legacy) cJSON_AddStringToObject(d, "text", "");
        /* any other text (tool-call arguments, a refusal, ...): held */
        size_t before = s->other[i].n;
        wd__chat_gather_text(d, true, &s->other[i]);
        if (s->other[i].n != before) {
            other = true;
            s->flushed = false;
        }
        if (cJSON_GetArraySize(d) > (s->rq.legacy ? 1 : 0)) rest = true;
    }
    if (text && ++s->unchecked >= s->srv->gw->p.stream_check_tokens && !check_all(s, false)) return false;
    bool usage = cJSON_GetObjectItemCaseSensitive(chunk, "usage") != NULL && !cJSON_IsNull(
                     cJSON_GetObjectItemCaseSensitive(chunk, "usage"));
    if (other) { /* held until the end's check */
        if (!s->held) s->held = cJSON_CreateArray();
        cJSON_AddItemToArray(s->held, cJSON_Duplicate(chunk, true));
        return true;
    }
    if (!finish && !usage && !rest && cJSON_GetArraySize(choices) > 0) return true; /* text only: sent by the checks */
    /* a finish or usage chunk: everything before it is checked first */
    if (finish && !check_all(s, true)) return false;
    if (!finish && s->unchecked && !check_all(s, false)) return false;
    if (finish && s->verdict) attach_verdict(s, chunk);
    emit(s, chunk);
    return true;
}

static void *producer(void *arg) {
    wd__stream *s = arg;
    cJSON *none = NULL;
    wd__chat_fail f = {0};
    bool ok = s->srv->gw->be->complete(s->srv->gw->self, &s->rq, s->body, s->len, s->request_id,
                                       s->deadline_ns, &s->cancel, &none, on_chunk, s, &f, &s->stats);
    cJSON_Delete(none);
    if (ok && !s->cut && !s->cancel) check_all(s, true);
    pthread_mutex_lock(&s->mu);
    bool started = s->started;
    pthread_mutex_unlock(&s->mu);
    if (!ok && !s->cut && !s->cancel) {
        if (!started) {
            s->fail = f;
            f.upstream_body = NULL;
            s->failed = true;
        } else { /* headers are gone: the error as an event, as OpenAI does */
            cJSON *e = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(e, "error");
            cJSON_AddStringToObject(err, "message", f.message);
            cJSON_AddStringToObject(err, "type", f.type ? f.type : "server_error");
            cJSON_AddNullToObject(err, "param");
            cJSON_AddStringToObject(err, "code", f.code ? f.code : "upstream_error");
            emit(s, e);
            cJSON_Delete(e);
        }
    }
    free(f.upstream_body);
    if (!s->failed) emit_raw(s, "[DONE]", 6);
    if (s->n_checks) {
        const char *a = s->action ? s->action : "allow";
        wd__counters_rail(&s->srv->counters, WD__RAIL_STREAM,
                          !strcmp(a, "block")    ? WD__RAIL_ACTION_BLOCK
                          : !strcmp(a, "redact") ? WD__RAIL_ACTION_REDACT
                          : !strcmp(a, "warn")   ? WD__RAIL_ACTION_WARN
                                                 : WD__RAIL_ACTION_ALLOW);
    }
    wd__server_guard_release(s->srv, s->ref);
    s->ref = NULL;
    atomic_fetch_sub(&s->srv->gw->producers, 1); /* the server may be freed from here on */
    pthread_mutex_lock(&s->mu);
    s->finished = true;
    s->started = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    stream_unref(s);
    return NULL;
}

/* ==== The client's side ====================================================== */

ssize_t wd__stream_read(wd__stream *s, char *buf, size_t max) {
    pthread_mutex_lock(&s->mu);
    for (;;) {
        size_t avail = s->out.n - s->out_off;
        if (avail) {
            size_t n = avail < max ? avail : max;
            memcpy(buf, s->out.p + s->out_off, n);
            s->out_off += n;
            if (s->out_off == s->out.n) {
                s->out.n = s->out_off = 0; /* reuse the buffer */
            } else if (s->out_off > 65536 && s->out_off > s->out.n / 2) {
                memmove(s->out.p, s->out.p + s->out_off, s->out.n - s->out_off);
                s->out.n -= s->out_off;
                s->out_off = 0;
            }
            pthread_cond_broadcast(&s->cv); /* a producer waiting for room */
            if (s->bytes_out) *s->bytes_out += n;
            pthread_mutex_unlock(&s->mu);
            return (ssize_t)n;
        }
        if (s->finished) {
            if (!s->logged && s->ans) { /* the stream's members of the access-log line */
                s->logged = true;
                wd__answer_log_printf(s->ans, "\"rail_stream\":\"%s\",\"stream_checks\":%zu,"
                                              "\"model_ms\":%.1f",
                                      s->action ? s->action : "allow", s->n_checks, s->stats.model_ms);
                if (s->stats.upstream_status)
                    wd__answer_log_printf(s->ans, "\"upstream_status\":%d,\"upstream_attempts\":%d",
                                          s->stats.upstream_status, s->stats.attempts);
            }
            pthread_mutex_unlock(&s->mu);
            return -1; /* the end */
        }
        if (s->srv->cancel) s->cancel = 1; /* the server's grace ran out */
        wd__cond_wait_ms(&s->cv, &s->mu, 100);
    }
}

void wd__stream_count_into(wd__stream *s, uint64_t *n) { s->bytes_out = n; }

void wd__stream_close(wd__stream *s) {
    if (!s) return;
    s->cancel = 1; /* a client that left early stops the producer */
    stream_unref(s);
}

wd_status wd__chat_stream_start(wd_server *srv, wd__guard_ref *ref, wd__chat_req *rq,
                                const char *body, size_t len, const char *request_id,
                                int64_t deadline_ns, wd__answer *a) {
    wd__stream *s = calloc(1, sizeof *s);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    if (body && !(s->body = malloc(len + 1))) {
        free(s);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    if (body) memcpy(s->body, body, len);
    s->len = len;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->srv = srv;
    s->ref = ref;
    s->rq = *rq;
    memset(rq, 0, sizeof *rq);
    snprintf(s->request_id, sizeof s->request_id, "%s", request_id ? request_id : "");
    snprintf(s->id, sizeof s->id, "%s", s->request_id);
    snprintf(s->model, sizeof s->model, "%s", s->rq.model ? s->rq.model : "warden");
    s->created = (long long)time(NULL);
    s->deadline_ns = deadline_ns;
    s->refs = 2;
    atomic_fetch_add(&srv->gw->producers, 1);
    if (pthread_create(&s->thread, NULL, producer, s)) {
        atomic_fetch_sub(&srv->gw->producers, 1);
        s->ref = NULL;
        s->refs = 1;
        stream_unref(s);
        return wd__fail(WD_ERR_NOMEM, "cannot start a thread for the stream");
    }
    pthread_detach(s->thread);
    /* wait for the first bytes, or a failure before any; a server that is
     * stopping stops the producer too */
    pthread_mutex_lock(&s->mu);
    while (!s->started) {
        if (srv->cancel) s->cancel = 1;
        wd__cond_wait_ms(&s->cv, &s->mu, 100);
    }
    pthread_mutex_unlock(&s->mu);
    if (s->failed) {
        if (s->fail.upstream_body) {
            a->status = s->fail.status;
            a->body = s->fail.upstream_body;
            a->len = strlen(a->body);
            s->fail.upstream_body = NULL;
        } else {
            wd__answer_error(a, s->fail.status, s->fail.type, s->fail.code, NULL, "%s", s->fail.message);
        }
        stream_unref(s);
        return WD_OK;
    }
    a->status = 200;
    a->content_type = "text/event-stream";
    a->stream = s;
    s->ans = a;
    return WD_OK;
}
