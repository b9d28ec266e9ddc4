/*
 * serve/chat_internal.h - what the gateway's files share: the guarded chat
 * path of `warden serve --upstream URL` / `--model DIR`.
 *
 *   chat_request.c   the client's chat (or legacy completions) request:
 *                    strict parse, the texts the rails check, answers in
 *                    OpenAI's shapes (refusals, errors, chunks)
 *   chat_upstream.c  the upstream backend: an OpenAI-compatible server
 *                    reached with http_client.c, retries, SSE
 *   chat_local.c     the local backend: a model folder run by the runtime
 *   chat_rails.c     input and output rails: checks through the guard
 *                    backend and the actions (block, redact, warn, revise)
 *   chat_stream.c    a streamed answer: a producer thread, checks every K
 *                    tokens with the unchecked tail held back, the cut
 *   revise.c         the critique -> revision loop over a constitution
 *   chat_route.c     the handlers of /v1/chat/completions, /v1/completions
 *
 * A backend turns a request into either one completion object (OpenAI's
 * "chat.completion" / "text_completion" JSON) or, when streaming, a
 * sequence of chunk objects ("chat.completion.chunk"); the rails see only
 * those shapes, so the upstream and the local model are guarded by the
 * same code.
 */
#ifndef WD_SERVE_CHAT_INTERNAL_H
#define WD_SERVE_CHAT_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <sys/types.h>

#include "base/strbuf.h"
#include "serve/serve_internal.h"

/* ==== The request ========================================================== */

/* One message of the conversation as the rails see it. */
typedef struct wd__chat_msg {
    const char *role;      /* "system", "developer", "user", "assistant", "tool" */
    char *text;            /* the text content (parts joined by '\n'); malloc'd */
    size_t len;
} wd__chat_msg;

/* A chat request that has passed this many gateways is refused (508): a
 * gateway whose upstream leads back to itself. */
#define WD__MAX_HOPS 8

typedef struct wd__chat_req {
    cJSON *json;           /* the client's body, parsed (owned) */
    bool legacy;           /* /v1/completions: "prompt" instead of "messages" */
    bool stream;
    bool include_usage;    /* stream_options.include_usage */
    const char *model;     /* the "model" string (into json) or NULL */
    wd__chat_msg *msgs;    /* legacy: one "user" message, the prompt */
    size_t n_msgs;
    int max_tokens;        /* max_tokens / max_completion_tokens; 0 = absent */
    double temperature, top_p; /* < 0: absent */
    long long seed; bool has_seed;
    int n;                 /* choices asked for (1) */
    char **stop; size_t n_stop;
    char *extra;           /* other text the model reads: tool definitions,
                            * the legacy "suffix" (malloc'd; NULL: none) */
    size_t extra_len;
    int hops;              /* gateways before this one (X-Warden-Hops) */
} wd__chat_req;

/* Parses and validates body (OpenAI's chat or completions request). On
 * failure fills a with a 400 naming the field and returns false. */
bool wd__chat_req_parse(const char *body, size_t len, bool legacy, size_t max_msgs,
                        wd__chat_req *rq, wd__answer *a);
void wd__chat_req_free(wd__chat_req *rq);

/* ==== Backends ============================================================== */

/* One streamed chunk object; return false to stop the stream. The callee
 * does not keep chunk (the caller deletes it after the call). */
typedef bool (*wd__chunk_fn)(void *user, cJSON *chunk);

/* What a backend call produced when it failed: an OpenAI-shaped error the
 * gateway passes on (status 502 for a broken upstream, 504 for a timeout,
 * the upstream's own 4xx when it refused the request). */
typedef struct wd__chat_fail {
    int status;
    const char *type, *code;    /* static strings */
    char message[512];
    char *upstream_body;        /* the upstream's error body when it sent one (malloc'd) */
} wd__chat_fail;

/* What one backend call did, for the access log (any field may stay 0). */
typedef struct wd__chat_stats {
    int upstream_status;        /* the upstream's last HTTP status; 0: none */
    int attempts;               /* upstream requests made (retries + 1) */
    double model_ms;            /* time in the backend */
} wd__chat_stats;

typedef struct wd__chat_backend {
    const char *kind;           /* "upstream" or "local" */
    /* Non-streaming (on_chunk NULL): *out gets the completion object.
     * Streaming: each chunk goes to on_chunk, *out stays NULL. body/len is
     * the request to send when the client's request is forwarded as it is
     * (upstream); NULL: build it from rq (revisions, redacted requests).
     * Returns false with f set on failure. Must stop at deadline_ns and
     * when *cancel is set. Called from many threads at once. */
    bool (*complete)(void *self, const wd__chat_req *rq, const char *body, size_t len,
                     const char *request_id, int64_t deadline_ns,
                     const volatile sig_atomic_t *cancel, cJSON **out, wd__chunk_fn on_chunk,
                     void *user, wd__chat_fail *f, wd__chat_stats *stats);
    /* The model list for GET /v1/models: a JSON array text (malloc'd). */
    char *(*models)(void *self, int hops, int64_t deadline_ns);
    void (*free)(void *self);
} wd__chat_backend;

wd_status wd__chat_upstream_new(const wd_gateway_params *gp, wd__counters *counters,
                                const wd__chat_backend **be, void **self);
wd_status wd__chat_local_new(const wd_gateway_params *gp, const wd__chat_backend **be,
                             void **self);

/* ==== The gateway of a server ================================================ */

typedef struct wd__gateway {
    wd_gateway_params p;        /* strings point into the server's copies below */
    const wd__chat_backend *be;
    void *self;
    char *refusal;              /* the refusal text in force */
    char **principles;          /* the constitution, one principle each */
    size_t n_principles;
    _Atomic int producers;      /* stream threads running (chat_stream.c) */
} wd__gateway;

/* Starts the gateway of srv from its params (backend, constitution);
 * srv->gw stays NULL when neither an upstream nor a model is set. */
wd_status wd__gateway_start(wd_server *srv);
void wd__gateway_free(wd_server *srv);

/* ==== Rails ================================================================= */

/* The outcome of one rail over its texts. */
typedef struct wd__rail_result {
    bool checked;               /* the rail ran (it has texts) */
    bool unsafe;                /* some text is unsafe */
    bool error;                 /* the guard failed (the fail mode decided) */
    wd_gateway_action action;   /* what is done: BLOCK, REDACT, WARN, REVISE; AUTO = pass */
    int index;                  /* the first unsafe text's index (message or choice); -1 */
    char *verdict;              /* that text's verdict JSON (malloc'd), or NULL */
    char **redacted;            /* action REDACT: per text, its redacted form or NULL
                                 * when it needs none (n entries, malloc'd) */
    size_t n;
} wd__rail_result;

void wd__rail_result_free(wd__rail_result *r);
/* A verdict (JSON text) as the client may see it: categories, scores,
 * rules and offsets, without the checked text itself ("redacted", each
 * hit's "text"), which for a blocked answer is what was withheld. */
cJSON *wd__verdict_public(const char *json);
/* Counts r in warden_rail_total and, when a is given, adds
 * "rail_<name>":"<action>" to the request's access-log line. */
void wd__rail_count(wd_server *srv, wd__rail rail, const wd__rail_result *r, wd__answer *a);
/* "allow", "block", "redact", "warn", "revise" */
const char *wd__gateway_action_name(wd_gateway_action a);

/* The input rail over a conversation: every user turn, each with the turns
 * before it as context (model judges see the conversation), and every
 * tool or function result alone; out->index and out->redacted[] are by
 * message index (out->n = rq->n_msgs). The action is the configured one,
 * or with AUTO what the policy's verdict says (block -> BLOCK, redact ->
 * REDACT, flag -> WARN). WD_ERR_CANCELLED (the server is stopping) and
 * WD_ERR_NOMEM are returned; a failed check is a result (fail mode). */
wd_status wd__rail_check_input(wd_server *srv, void *guard, const wd__chat_req *rq, int64_t deadline_ns,
                               wd__rail_result *out);

/* The output (or stream) rail over n texts, each judged as the assistant's
 * answer after the conversation conv (NULL, or a legacy prompt: the text
 * alone); out->index and redacted[] by text. Decisions as above. */
wd_status wd__rail_check(wd_server *srv, void *guard, wd__rail rail, const wd__chat_req *conv,
                         const char *const *texts, const size_t *lens, size_t n,
                         int64_t deadline_ns, wd__rail_result *out);

/* ==== Answers =============================================================== */

/* A completion object (chat or legacy) with one choice holding text and
 * finish_reason; the verdict JSON (may be NULL) under "warden". */
cJSON *wd__chat_completion_new(const wd__chat_req *rq, const char *id, const char *model,
                               const char *text, const char *finish_reason);
/* A chunk object for a stream: delta content (NULL: none), finish_reason
 * (NULL: null), role (NULL: none). */
cJSON *wd__chat_chunk_new(const wd__chat_req *rq, const char *id, const char *model,
                          long long created, int index, const char *role, const char *content,
                          const char *finish_reason);
/* The text of choice i of a completion object (message.content or text);
 * NULL when it has none (a tool call, a refusal field). */
const char *wd__chat_choice_text(const cJSON *completion, int i, bool legacy);
/* Sets it (and optionally the finish_reason). */
void wd__chat_choice_set(cJSON *completion, int i, bool legacy, const char *text,
                         const char *finish_reason);
/* The text a choice carries, as the string items that hold it (into
 * completion): legacy: "text"; chat: every string of "message" (content or
 * its text parts, refusal, reasoning, audio transcript, tool-call
 * arguments, unknown members), ids, types, roles and names excepted. Up
 * to max go to slots; returns how many there are, or -1 when the choice
 * is not an object or its message/text has a type no client expects. */
int wd__chat_choice_slots(cJSON *completion, int i, bool legacy, cJSON **slots, int max);
/* Replaces choice i by the refusal: the message holds only it,
 * finish_reason "content_filter", logprobs null. */
void wd__chat_choice_block(cJSON *completion, int i, bool legacy, const char *refusal);
/* The delta text of choice i in a chunk, its index, finish_reason. */
const char *wd__chat_chunk_text(const cJSON *chunk, int *index, const char **finish_reason,
                                bool legacy);

/* Appends the strings under o (any depth; with skip_ids, members named id,
 * type, role, name and tool_call_id are not text and are skipped) to sb,
 * a line each: the text a model reads or wrote in a JSON value. */
void wd__chat_gather_text(const cJSON *o, bool skip_ids, wd__strbuf *sb);

/* pthread_cond_timedwait for at most ms milliseconds (mu held): for the
 * waits that must also watch a flag or a deadline. */
void wd__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms);

/* Serialises a JSON object into a (body) with status; takes obj. */
void wd__answer_json(wd__answer *a, int status, cJSON *obj);

/* ==== Streaming (chat_stream.c) ================================================ */

/* The client's side of a stream (server.c's content reader): copies up to
 * max ready bytes into buf, blocking until there are some; -1 at the end. */
ssize_t wd__stream_read(wd__stream *s, char *buf, size_t max);
/* Adds the bytes the reader hands out to *n (the request's bytes_out; the
 * reader's thread only). */
void wd__stream_count_into(wd__stream *s, uint64_t *n);
/* The client's connection is done with s (ended or gone). */
void wd__stream_close(wd__stream *s);

/* Starts a streamed answer: a thread runs the backend, the rails check the
 * text every K tokens and the answer's SSE bytes go to the client through
 * a->stream (server.c turns it into a chunked response). Takes rq. */
wd_status wd__chat_stream_start(wd_server *srv, wd__guard_ref *ref, wd__chat_req *rq,
                                const char *body, size_t len, const char *request_id,
                                int64_t deadline_ns, wd__answer *a);

/* ==== Revision (revise.c) ===================================================== */

/* The critique -> revision loop: up to rounds times, ask the backend to
 * critique answer under a principle of the constitution, then to rewrite
 * it; re-check each revision with the output rail; stop at the first safe
 * one (*out, malloc'd, true). false: no safe revision (the caller blocks). */
bool wd__revise(wd_server *srv, void *guard, const wd__chat_req *rq, const char *answer,
                int64_t deadline_ns, char **out, int *rounds_used);

#endif
