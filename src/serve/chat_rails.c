/*
 * serve/chat_rails.c - the gateway's rails: the texts of one side of a
 * chat checked through the server's guard backend, and the action taken.
 *
 * Each text gets the policy's verdict ("allow", "flag", "redact",
 * "block"); the rail takes the most severe one. The action is then the
 * one configured for the rail (--input-action / --output-action), or with
 * "auto" what the verdict says: block -> BLOCK, redact -> REDACT (the
 * texts with spans to mask get their redacted form), flag -> WARN. When
 * the guard cannot give a verdict (an error, the deadline), the policy's
 * fail mode stands in: fail closed blocks, fail open passes; either way
 * the rail reports the error.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "serve/chat_internal.h"
#include "warden/chat.h"

static const char *const act_names[] = {"allow", "block", "redact", "warn", "revise"};

const char *wd__gateway_action_name(wd_gateway_action a) {
    return (unsigned)a < sizeof act_names / sizeof act_names[0] ? act_names[a] : "allow";
}

wd_status wd_gateway_action_parse(const char *s, wd_gateway_action *out) {
    static const struct { const char *name; wd_gateway_action a; } names[] = {
        {"auto", WD_GATEWAY_ACTION_AUTO},     {"block", WD_GATEWAY_ACTION_BLOCK},
        {"redact", WD_GATEWAY_ACTION_REDACT}, {"warn", WD_GATEWAY_ACTION_WARN},
        {"revise", WD_GATEWAY_ACTION_REVISE},
    };
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].a;
            return WD_OK;
        }
    return wd__fail(WD_ERR_INVALID_ARG, "action '%s': expected auto, block, redact, warn or revise",
                    s ? s : "(null)");
}

cJSON *wd__verdict_public(const char *json) {
    cJSON *v = json ? cJSON_Parse(json) : NULL;
    if (!v) return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(v, "redacted");
    cJSON *hits = cJSON_GetObjectItemCaseSensitive(v, "hits"), *h;
    cJSON_ArrayForEach(h, hits) cJSON_DeleteItemFromObjectCaseSensitive(h, "text");
    return v;
}

void wd__rail_result_free(wd__rail_result *r) {
    if (!r) return;
    free(r->verdict);
    if (r->redacted)
        for (size_t i = 0; i < r->n; i++) free(r->redacted[i]);
    free(r->redacted);
    memset(r, 0, sizeof *r);
    r->index = -1;
}

/* The conversation as the guard takes it (roles it knows: function results
 * are tool turns), with room for one more turn at the end. */
static wd_chat_message *conversation(const wd__chat_req *rq) {
    wd_chat_message *m = calloc(rq->n_msgs + 1, sizeof *m);
    if (!m) return NULL;
    for (size_t i = 0; i < rq->n_msgs; i++)
        m[i] = (wd_chat_message){!strcmp(rq->msgs[i].role, "function") ? "tool" : rq->msgs[i].role,
                                 rq->msgs[i].text};
    return m;
}

/* Fills res[0..n) for the texts: with a conversation and a backend that
 * takes turns, each text is judged as its turn of it (the input rail: the
 * user turns `turns`, each after the messages before it; the output rail:
 * each text as the assistant's answer after the whole conversation); else
 * each text alone. */
static wd_status run_checks(wd_server *srv, void *guard, wd__serve_role role, const wd__chat_req *conv,
                            const size_t *turns, const char *const *texts, const size_t *lens,
                            size_t n, bool redact, int64_t deadline_ns, wd__serve_result *res) {
    const wd__serve_backend *be = srv->be;
    if (!conv || conv->legacy || !be->check_turns)
        return be->check(guard, texts, lens, n, role, redact, deadline_ns, &srv->cancel, res);
    wd_chat_message *m = conversation(conv);
    if (!m) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = WD_OK;
    if (role == WD__ROLE_INPUT) {
        st = be->check_turns(guard, m, conv->n_msgs, turns, n, role, redact, deadline_ns, &srv->cancel, res);
    } else {
        size_t at = conv->n_msgs, made = 0;
        for (; made < n && !st; made++) {
            m[at] = (wd_chat_message){"assistant", texts[made]};
            st = be->check_turns(guard, m, at + 1, &at, 1, role, redact, deadline_ns, &srv->cancel,
                                 &res[made]);
        }
        if (st)
            for (size_t k = 0; k + 1 < made; k++) {
                wd__serve_result_clear(&res[k]);
            }
    }
    free(m);
    return st;
}

/* The rail's decision over res[0..n) (index[i]: what out->index reports). */
static void decide(wd_server *srv, void *guard, wd__rail rail, wd_status st, wd__serve_result *res,
                   size_t n, const size_t *index, wd__rail_result *out) {
    const wd__gateway *gw = srv->gw;
    wd_gateway_action conf = rail == WD__RAIL_INPUT ? gw->p.input_action : gw->p.output_action;
    if (st) {
        out->error = true;
        bool open_ = srv->be->fail_open(guard);
        out->unsafe = !open_;
        out->action = open_ ? WD_GATEWAY_ACTION_AUTO : WD_GATEWAY_ACTION_BLOCK;
        wd__jsonw w = {0};
        wd__jsonw_lit(&w, "{\"unsafe\":");
        wd__jsonw_lit(&w, open_ ? "false" : "true");
        wd__jsonw_lit(&w, ",\"error\":");
        wd__jsonw_cstr(&w, wd_last_error());
        wd__jsonw_printf(&w, ",\"error_code\":\"%s\",\"fail_mode\":\"%s\"}",
                         st == WD_ERR_TIMEOUT ? "timeout" : "guard_error", open_ ? "open" : "closed");
        out->verdict = wd__jsonw_take(&w, NULL);
        return;
    }
    int worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        int act = res[i].action;
        if (act == WD_ACTION_REDACT && res[i].redacted) {
            out->redacted[index ? index[i] : i] = res[i].redacted;
            res[i].redacted = NULL;
        }
        if (act > worst) {
            worst = act;
            wi = i;
        }
    }
    if (!worst) return;
    out->index = (int)(index ? index[wi] : wi);
    out->unsafe = worst >= 2 || res[wi].unsafe;
    out->verdict = res[wi].json;
    res[wi].json = NULL;
    if (conf != WD_GATEWAY_ACTION_AUTO) out->action = conf;
    else out->action = worst == 3 ? WD_GATEWAY_ACTION_BLOCK
                     : worst == 2 ? WD_GATEWAY_ACTION_REDACT
                                  : WD_GATEWAY_ACTION_WARN;
    /* only spans the policy redacts can be masked: a text whose verdict is
     * worse (a block-level category) is blocked instead */
    if (out->action == WD_GATEWAY_ACTION_REDACT && !out->redacted[out->index])
        out->action = WD_GATEWAY_ACTION_BLOCK;
    if (out->action == WD_GATEWAY_ACTION_REVISE && rail == WD__RAIL_INPUT)
        out->action = WD_GATEWAY_ACTION_BLOCK;
}

static void start(wd__rail_result *out) {
    memset(out, 0, sizeof *out);
    out->index = -1;
    out->action = WD_GATEWAY_ACTION_AUTO;
}

wd_status wd__rail_check(wd_server *srv, void *guard, wd__rail rail, const wd__chat_req *conv,
                         const char *const *texts, const size_t *lens, size_t n,
                         int64_t deadline_ns, wd__rail_result *out) {
    start(out);
    if (!n) return WD_OK;
    wd_gateway_action conf = srv->gw->p.output_action;
    out->checked = true;
    out->n = n;
    wd__serve_result *res = calloc(n, sizeof *res);
    out->redacted = calloc(n, sizeof *out->redacted);
    if (!res || !out->redacted) {
        free(res);
        wd__rail_result_free(out);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    bool want_redact = conf == WD_GATEWAY_ACTION_AUTO || conf == WD_GATEWAY_ACTION_REDACT;
    wd_status st = run_checks(srv, guard, WD__ROLE_OUTPUT, conv, NULL, texts, lens, n, want_redact,
                              deadline_ns, res);
    if (st == WD_ERR_CANCELLED) {
        free(res);
        wd__rail_result_free(out); /* nothing for the caller to free */
        return st;
    }
    decide(srv, guard, rail, st, res, n, NULL, out);
    for (size_t i = 0; !st && i < n; i++) wd__serve_result_clear(&res[i]);
    free(res);
    return WD_OK;
}

wd_status wd__rail_check_input(wd_server *srv, void *guard, const wd__chat_req *rq, int64_t deadline_ns,
                               wd__rail_result *out) {
    start(out);
    size_t n = rq->n_msgs, n_user = 0, n_alone = 0, n_asst = 0;
    /* index[]: message index of each result, in the order the results are
     * made: user turns, then the turns checked alone, then assistant turns */
    size_t *user = calloc(n + 1, sizeof *user), *alone = calloc(n + 1, sizeof *alone);
    size_t *asst = calloc(n + 1, sizeof *asst), *index = calloc(n + 1, sizeof *index);
    const char **texts = calloc(n + 1, sizeof *texts);
    size_t *lens = calloc(n + 1, sizeof *lens);
    wd__serve_result *res = calloc(n + 1, sizeof *res);
    out->redacted = calloc(n + 1, sizeof *out->redacted);
    wd_status st = user && alone && asst && index && texts && lens && res && out->redacted
                 ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++) {
        const char *r = rq->msgs[i].role;
        if (!strcmp(r, "user")) user[n_user++] = i;
        else if (!strcmp(r, "assistant")) {
            if (rq->msgs[i].len) asst[n_asst++] = i; /* a turn that only calls tools: no text */
        } else alone[n_alone++] = i; /* system, developer, tool, function */
    }
    if (rq->extra) alone[n_alone++] = n; /* tool definitions, a suffix: index n */
    out->n = n + 1; /* the redacted forms by message index; [n]: the extra text */
    out->checked = n_user + n_alone + n_asst > 0;
    wd_gateway_action conf = srv->gw->p.input_action;
    bool want_redact = conf == WD_GATEWAY_ACTION_AUTO || conf == WD_GATEWAY_ACTION_REDACT;
    size_t made = 0;
    /* user turns, each in the conversation's context */
    for (size_t k = 0; !st && k < n_user; k++) {
        texts[k] = rq->msgs[user[k]].text;
        lens[k] = rq->msgs[user[k]].len;
        index[made + k] = user[k];
    }
    if (!st && n_user)
        st = run_checks(srv, guard, WD__ROLE_INPUT, rq, user, texts, lens, n_user, want_redact,
                        deadline_ns, res);
    if (!st) made += n_user;
    /* system, developer, tool and function turns alone: the client writes
     * them too (tool results are where indirect injection arrives) */
    for (size_t k = 0; !st && k < n_alone; k++) {
        texts[k] = alone[k] < n ? rq->msgs[alone[k]].text : rq->extra;
        lens[k] = alone[k] < n ? rq->msgs[alone[k]].len : rq->extra_len;
        index[made + k] = alone[k];
    }
    if (!st && n_alone)
        st = srv->be->check(guard, texts, lens, n_alone, WD__ROLE_INPUT, want_redact, deadline_ns,
                            &srv->cancel, res + made);
    if (!st) made += n_alone;
    /* assistant turns the client sends are the client's text too (a forged
     * answer that a later "go on" builds on): judged as answers, in context */
    for (size_t k = 0; !st && k < n_asst; k++) {
        texts[k] = rq->msgs[asst[k]].text;
        lens[k] = rq->msgs[asst[k]].len;
        index[made + k] = asst[k];
    }
    if (!st && n_asst) {
        if (!rq->legacy && srv->be->check_turns) {
            wd_chat_message *m = conversation(rq);
            st = m ? srv->be->check_turns(guard, m, n, asst, n_asst, WD__ROLE_OUTPUT, want_redact,
                                          deadline_ns, &srv->cancel, res + made)
                   : wd__fail(WD_ERR_NOMEM, "out of memory");
            free(m);
        } else {
            st = srv->be->check(guard, texts, lens, n_asst, WD__ROLE_OUTPUT, want_redact, deadline_ns,
                                &srv->cancel, res + made);
        }
    }
    if (!st) made += n_asst;
    if (st) /* the results made before the failure */
        for (size_t k = 0; k < made; k++) {
            wd__serve_result_clear(&res[k]);
        }
    if (st != WD_ERR_CANCELLED && st != WD_ERR_NOMEM && out->checked) {
        decide(srv, guard, WD__RAIL_INPUT, st, res, made ? made : n_user + n_alone + n_asst, index, out);
        /* tool definitions or a suffix cannot be masked in the forwarded body */
        if (out->action == WD_GATEWAY_ACTION_REDACT && out->redacted[n]) out->action = WD_GATEWAY_ACTION_BLOCK;
    }
    for (size_t k = 0; !st && k < made; k++) wd__serve_result_clear(&res[k]);
    free(user);
    free(alone);
    free(asst);
    free(index);
    free(texts);
    free(lens);
    free(res);
    if (st == WD_ERR_CANCELLED || st == WD_ERR_NOMEM) {
        wd__rail_result_free(out); /* nothing for the caller to free */
        return st;
    }
    return WD_OK;
}
