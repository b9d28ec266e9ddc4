/*
 * serve/chat_local.c - the gateway's local backend: a model folder (or a
 * .gguf) run by warden's own runtime, so that one binary serves a guarded
 * chat model offline.
 *
 * The model is loaded once; each of model_slots slots owns a context (KV
 * cache and work buffers), and a request waits for a free slot until its
 * deadline (then 503 server_busy). The conversation is rendered with the
 * checkpoint's chat template (warden/chat.h: llama-2/3, chatml, mistral,
 * gemma); a checkpoint without a recognised template is rendered as
 * chatml. Roles: developer -> system, tool and function results -> user
 * turns (templates without a tool role cannot hold them otherwise). The
 * legacy route's prompt is encoded as it is.
 *
 * Sampling follows the request: temperature (1.0 when absent, as OpenAI;
 * 0 = greedy), top_p, seed, stop, max_tokens (else the server's default);
 * n > 1 is refused. finish_reason is "length" when max_tokens ran out,
 * else "stop". Special tokens (end of turn) are not part of the text.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "serve/chat_internal.h"
#include "warden/chat.h"
#include "warden/model.h"
#include "warden/tokenizer.h"

typedef struct local {
    wd_model *m;
    const wd_tokenizer *tok;
    char *name;
    int max_tokens;
    wd_context **ctx;           /* one per slot */
    bool *busy;
    int n_slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} local;

static void lo_free(void *p) {
    local *l = p;
    if (!l) return;
    for (int i = 0; i < l->n_slots; i++) wd_context_free(l->ctx[i]);
    free(l->ctx);
    free(l->busy);
    wd_model_free(l->m);
    free(l->name);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

static int slot_take(local *l, int64_t deadline_ns) {
    pthread_mutex_lock(&l->mu);
    int got = -1;
    for (;;) {
        for (int i = 0; i < l->n_slots && got < 0; i++)
            if (!l->busy[i]) got = i;
        if (got >= 0 || (deadline_ns && wd__serve_now_ns() >= deadline_ns)) break;
        wd__cond_wait_ms(&l->cv, &l->mu, 50); /* re-test the deadline every 50 ms */
    }
    if (got >= 0) l->busy[got] = true;
    pthread_mutex_unlock(&l->mu);
    return got;
}

static void slot_give(local *l, int i) {
    pthread_mutex_lock(&l->mu);
    l->busy[i] = false;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* The prompt's token ids (malloc'd). */
static wd_status encode(local *l, const wd__chat_req *rq, int32_t **ids, size_t *n) {
    char *text = NULL;
    size_t len = 0;
    wd_encode_params ep = wd_encode_params_default();
    wd_status st = WD_OK;
    if (rq->legacy) {
        text = strdup(rq->msgs[0].text);
        len = rq->msgs[0].len;
        if (!text) return wd__fail(WD_ERR_NOMEM, "out of memory");
    } else {
        wd_chat_message *cm = calloc(rq->n_msgs, sizeof *cm);
        if (!cm) return wd__fail(WD_ERR_NOMEM, "out of memory");
        size_t k = 0;
        for (size_t i = 0; i < rq->n_msgs; i++) {
            const char *r = rq->msgs[i].role;
            r = !strcmp(r, "developer") ? "system"
              : !strcmp(r, "tool") || !strcmp(r, "function") ? "user" : r;
            cm[k++] = (wd_chat_message){r, rq->msgs[i].text};
        }
        wd_chat_params cp = wd_chat_params_default();
        if (wd_chat_format_detect(wd_tokenizer_chat_template(l->tok)) == WD_CHAT_FORMAT_UNKNOWN)
            cp.format = WD_CHAT_FORMAT_CHATML;
        st = wd_chat_render_tok(l->tok, cm, k, &cp, &text, &len);
        free(cm);
        if (st) return st;
        ep.add_special_tokens = false; /* the template wrote them */
    }
    wd_encoding *enc = NULL;
    st = wd_tokenizer_encode(l->tok, text, len, &ep, &enc);
    free(text);
    if (st) return st;
    *n = wd_encoding_len(enc);
    *ids = malloc((*n ? *n : 1) * sizeof **ids);
    if (*ids) memcpy(*ids, wd_encoding_ids(enc), *n * sizeof **ids);
    wd_encoding_free(enc);
    return *ids ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
}

typedef struct gen {
    local *l;
    const wd__chat_req *rq;
    wd__chunk_fn on_chunk;
    void *user;
    wd__strbuf text;
    char id[48];
    long long created;
    int64_t deadline_ns;
    const volatile sig_atomic_t *cancel;
    size_t n_tokens;
    bool stopped_by_client, timed_out, sent_role;
} gen;

static bool on_token(int32_t id, const char *piece, void *user) {
    gen *g = user;
    if (id >= 0) g->n_tokens++;
    if ((g->cancel && *g->cancel) || (g->deadline_ns && wd__serve_now_ns() > g->deadline_ns)) {
        g->timed_out = true;
        return false;
    }
    if (!piece || !piece[0] || (id >= 0 && wd_tokenizer_is_special(g->l->tok, id))) return true;
    if (!g->on_chunk) {
        wd__strbuf_puts(&g->text, piece);
        return true;
    }
    cJSON *c = wd__chat_chunk_new(g->rq, g->id, g->l->name, g->created, 0,
                                  g->sent_role ? NULL : "assistant", piece, NULL);
    g->sent_role = true;
    bool go = g->on_chunk(g->user, c);
    cJSON_Delete(c);
    if (!go) g->stopped_by_client = true;
    return go;
}

static bool lo_complete(void *self, const wd__chat_req *rq, const char *body, size_t len,
                        const char *request_id, int64_t deadline_ns,
                        const volatile sig_atomic_t *cancel, cJSON **out, wd__chunk_fn on_chunk,
                        void *user, wd__chat_fail *f, wd__chat_stats *stats) {
    (void)body;
    (void)len;
    local *l = self;
    *out = NULL;
    int64_t t_start = wd__serve_now_ns();
    if (rq->n > 1) {
        f->status = 400;
        f->type = "invalid_request_error";
        f->code = "unsupported_value";
        snprintf(f->message, sizeof f->message, "n = %d: the local model answers one choice (n = 1)", rq->n);
        return false;
    }
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (encode(l, rq, &ids, &n_ids)) {
        f->status = 400;
        f->type = "invalid_request_error";
        f->code = "invalid_messages";
        snprintf(f->message, sizeof f->message, "the conversation cannot be given to the model: %s",
                 wd_last_error());
        return false;
    }
    int slot = slot_take(l, deadline_ns);
    if (slot < 0) {
        free(ids);
        f->status = 503;
        f->type = "server_error";
        f->code = "server_busy";
        snprintf(f->message, sizeof f->message, "every model slot stayed busy until the deadline");
        return false;
    }
    wd_context *ctx = l->ctx[slot];
    size_t room = wd_context_n_ctx(ctx);
    gen g = {.l = l, .rq = rq, .on_chunk = on_chunk, .user = user, .created = (long long)time(NULL),
             .deadline_ns = deadline_ns, .cancel = cancel};
    snprintf(g.id, sizeof g.id, "%s", request_id ? request_id : "chatcmpl-local");
    bool ok = true;
    size_t max = rq->max_tokens > 0 ? (size_t)rq->max_tokens : (size_t)l->max_tokens;
    if (n_ids + 1 >= room) {
        f->status = 400;
        f->type = "invalid_request_error";
        f->code = "context_length_exceeded";
        snprintf(f->message, sizeof f->message,
                 "the conversation is %zu tokens; the model's context holds %zu", n_ids, room);
        ok = false;
    } else {
        if (n_ids + max > room) max = room - n_ids;
        wd_generate_params gp = wd_generate_params_default();
        gp.max_tokens = max;
        gp.sampler.temperature = rq->temperature >= 0 ? (float)rq->temperature : 1.0f;
        if (rq->top_p >= 0) gp.sampler.top_p = (float)rq->top_p;
        gp.sampler.top_k = 0;
        gp.sampler.min_p = 0;
        if (rq->has_seed) gp.sampler.seed = (uint64_t)rq->seed;
        gp.stop = (const char *const *)rq->stop;
        gp.n_stop = rq->n_stop;
        wd_status st = wd_model_generate(ctx, ids, n_ids, &gp, on_token, &g, NULL, 0, NULL);
        if (st) {
            f->status = 500;
            f->type = "server_error";
            f->code = "model_error";
            snprintf(f->message, sizeof f->message, "the model failed: %s", wd_last_error());
            ok = false;
        } else if (g.timed_out) {
            f->status = cancel && *cancel ? 503 : 504;
            f->type = "server_error";
            f->code = cancel && *cancel ? "shutting_down" : "timeout";
            snprintf(f->message, sizeof f->message, "the model did not finish before the deadline");
            ok = false;
        }
    }
    slot_give(l, slot);
    free(ids);
    if (stats) stats->model_ms = (double)(wd__serve_now_ns() - t_start) * 1e-6;
    const char *finish = g.n_tokens >= max ? "length" : "stop";
    if (ok && !on_chunk) {
        char *text = wd__strbuf_take(&g.text, NULL);
        *out = wd__chat_completion_new(rq, g.id, l->name, text ? text : "", finish);
        free(text);
        cJSON *u = cJSON_AddObjectToObject(*out, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)n_ids);
        cJSON_AddNumberToObject(u, "completion_tokens", (double)g.n_tokens);
        cJSON_AddNumberToObject(u, "total_tokens", (double)(n_ids + g.n_tokens));
    } else if (ok && !g.stopped_by_client) {
        cJSON *c = wd__chat_chunk_new(rq, g.id, l->name, g.created, 0,
                                      g.sent_role ? NULL : "assistant", NULL, finish);
        bool go = on_chunk(user, c);
        cJSON_Delete(c);
        if (go && rq->include_usage) { /* OpenAI's own chunk: usage, no choices */
            c = wd__chat_chunk_new(rq, g.id, l->name, g.created, 0, NULL, NULL, NULL);
            cJSON_ReplaceItemInObjectCaseSensitive(c, "choices", cJSON_CreateArray());
            cJSON *u = cJSON_AddObjectToObject(c, "usage");
            cJSON_AddNumberToObject(u, "prompt_tokens", (double)n_ids);
            cJSON_AddNumberToObject(u, "completion_tokens", (double)g.n_tokens);
            cJSON_AddNumberToObject(u, "total_tokens", (double)(n_ids + g.n_tokens));
            on_chunk(user, c);
            cJSON_Delete(c);
        }
    }
    wd__strbuf_free(&g.text);
    return ok;
}

static char *lo_models(void *self, int hops, int64_t deadline_ns) {
    (void)hops;
    (void)deadline_ns;
    local *l = self;
    cJSON *a = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", l->name);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", (double)time(NULL));
    cJSON_AddStringToObject(o, "owned_by", "local");
    cJSON_AddItemToArray(a, o);
    char *s = wd__json_print(a, false);
    cJSON_Delete(a);
    return s;
}

static const wd__chat_backend local_backend = {
    .kind = "local", .complete = lo_complete, .models = lo_models, .free = lo_free,
};

wd_status wd__chat_local_new(const wd_gateway_params *gp, const wd__chat_backend **be,
                             void **self) {
    local *l = calloc(1, sizeof *l);
    if (!l) return wd__fail(WD_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = gp->model_threads;
    wd_status st = wd_model_load(gp->model_dir, &mp, &l->m);
    if (st) {
        lo_free(l);
        return st;
    }
    l->tok = wd_model_tokenizer(l->m);
    if (!l->tok || wd_model_n_labels(l->m) > 0) {
        const char *why = l->tok ? "a classifier, not a chat model" : "no tokenizer.json: cannot chat";
        lo_free(l);
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: %s", gp->model_dir, why);
    }
    if (gp->model_name && gp->model_name[0]) {
        l->name = strdup(gp->model_name);
    } else {
        const char *s = gp->model_dir;
        size_t n = strlen(s);
        while (n > 1 && s[n - 1] == '/') n--;
        size_t b = n;
        while (b > 0 && s[b - 1] != '/') b--;
        l->name = strndup(s + b, n - b);
    }
    l->max_tokens = gp->max_tokens > 0 ? gp->max_tokens : 256;
    l->n_slots = gp->model_slots > 0 ? gp->model_slots : 1;
    l->ctx = calloc((size_t)l->n_slots, sizeof *l->ctx);
    l->busy = calloc((size_t)l->n_slots, sizeof *l->busy);
    if (!l->name || !l->ctx || !l->busy) {
        l->n_slots = 0;
        lo_free(l);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    wd_context_params cp = wd_context_params_default();
    int64_t maxpos = wd_model_config_max_position_embeddings(wd_model_get_config(l->m));
    cp.n_ctx = gp->model_ctx > 0 ? (size_t)gp->model_ctx : 2048;
    if (maxpos > 0 && cp.n_ctx > (size_t)maxpos) cp.n_ctx = (size_t)maxpos;
    for (int i = 0; i < l->n_slots; i++) {
        if ((st = wd_context_new(l->m, &cp, &l->ctx[i]))) {
            lo_free(l);
            return st;
        }
    }
    *be = &local_backend;
    *self = l;
    return WD_OK;
}
