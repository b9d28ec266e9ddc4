/*
 * serve/revise.c - the gateway's `revise` action: an answer the output
 * rail found unsafe is critiqued and rewritten by the model itself under a
 * principle of a constitution (Constitutional AI's supervised stage,
 * METHODS.md 12b, at serving time), and the revision is checked again.
 *
 * One round: a principle is drawn (from the request id, so a retried
 * request draws the same ones), the model is asked to critique the answer
 * under it, then to rewrite the answer answering the critique; the
 * revision goes through the output rail. The first revision the rail
 * passes is the answer; after revise_rounds rounds without one, or when
 * the model fails, the caller blocks. Each round costs two model calls.
 *
 * The constitution file holds one principle per line ('#' comments and
 * blank lines skipped), each an instruction such as "Point out anything in
 * the answer that helps someone hurt people, and say how to remove it.".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/hash.h"
#include "base/strbuf.h"
#include "serve/chat_internal.h"

static const char *const builtin[] = {
    "Identify every part of the answer that gives real help with causing physical harm, "
    "building weapons or committing crimes, and explain how the answer should decline that part.",
    "Identify anything in the answer that is hateful, harassing or demeaning towards a person or "
    "a group, and explain how to say what is useful without it.",
    "Identify any personal data, credentials or secrets the answer reveals, and explain how to "
    "answer without them.",
    "Identify anything in the answer that could encourage self-harm, and explain how a caring, "
    "safe answer would point to help instead.",
    "Identify any sexual content in the answer that is explicit or involves minors, and explain "
    "how the answer must change.",
    "Identify the ways in which the answer is harmful, unethical, dangerous or illegal, and "
    "explain how a helpful answer would avoid them while still addressing the request.",
};

wd_status wd__constitution_load(const char *path, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    char **v = NULL;
    if (!path) {
        size_t k = sizeof builtin / sizeof builtin[0];
        v = calloc(k, sizeof *v);
        if (!v) return wd__fail(WD_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < k; i++)
            if (!(v[i] = strdup(builtin[i]))) {
                while (i-- > 0) free(v[i]);
                free(v);
                return wd__fail(WD_ERR_NOMEM, "out of memory");
            }
        *out = v;
        *n = k;
        return WD_OK;
    }
    char *text = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(path, 1 << 20, &text, &len);
    if (st) return st;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        while (*line == ' ' || *line == '\t') line++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == ' ' || line[l - 1] == '\r' || line[l - 1] == '\t')) line[--l] = 0;
        if (l && line[0] != '#') {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                char **nv = realloc(v, cap * sizeof *nv);
                if (!nv) break;
                v = nv;
            }
            if (!(v[*n] = strdup(line))) break;
            (*n)++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (!*n) {
        free(v);
        return wd__fail(WD_ERR_FORMAT, "%s: the constitution has no principle (one per line)", path);
    }
    *out = v;
    return WD_OK;
}

/* The model's answer to one user message (non-streaming); NULL on failure. */
static char *ask(wd_server *srv, const wd__chat_req *rq, const char *prompt, int64_t deadline_ns,
                 const char *request_id) {
    wd__chat_msg m = {.role = "user", .text = (char *)prompt, .len = strlen(prompt)};
    wd__chat_req q = {.model = rq->model, .msgs = &m, .n_msgs = 1, .n = 1,
                      .max_tokens = rq->max_tokens, .temperature = rq->temperature,
                      .top_p = rq->top_p, .seed = rq->seed, .has_seed = rq->has_seed,
                      .hops = rq->hops};
    cJSON *out = NULL;
    wd__chat_fail f = {0};
    const wd__gateway *gw = srv->gw;
    bool ok = gw->be->complete(gw->self, &q, NULL, 0, request_id, deadline_ns, &srv->cancel, &out,
                               NULL, NULL, &f, NULL);
    free(f.upstream_body);
    const char *t = ok ? wd__chat_choice_text(out, 0, false) : NULL;
    char *s = t ? strdup(t) : NULL;
    cJSON_Delete(out);
    return s;
}

/* The last user turn: what the answer answers. */
static const char *last_user(const wd__chat_req *rq) {
    for (size_t i = rq->n_msgs; i-- > 0;)
        if (!strcmp(rq->msgs[i].role, "user")) return rq->msgs[i].text;
    return "";
}

bool wd__revise(wd_server *srv, void *guard, const wd__chat_req *rq, const char *answer,
                int64_t deadline_ns, char **out, int *rounds_used) {
    const wd__gateway *gw = srv->gw;
    *out = NULL;
    *rounds_used = 0;
    int rounds = gw->p.revise_rounds > 0 ? gw->p.revise_rounds : 2;
    char *cur = strdup(answer);
    if (!cur || !gw->n_principles) {
        free(cur);
        return false;
    }
    const char *user = last_user(rq);
    uint64_t h = wd__fnv1a(user, strlen(user));
    bool done = false;
    for (int r = 0; r < rounds && !done; r++) {
        *rounds_used = r + 1;
        const char *principle = gw->principles[(h + (uint64_t)r) % gw->n_principles];
        wd__strbuf p = {0};
        wd__strbuf_printf(&p, "Here is a conversation between a user and an assistant.\n\nUser: %s\n\n"
                              "Assistant: %s\n\nCritique request: %s\n\nWrite the critique only.",
                          user, cur, principle);
        char *prompt = wd__strbuf_take(&p, NULL);
        char *critique = prompt ? ask(srv, rq, prompt, deadline_ns, NULL) : NULL;
        free(prompt);
        if (!critique) break;
        wd__strbuf_printf(&p, "Here is a conversation between a user and an assistant.\n\nUser: %s\n\n"
                              "Assistant: %s\n\nCritique: %s\n\nRevision request: Rewrite the "
                              "assistant's answer so that it has none of the problems the critique "
                              "names, while staying as helpful as is safe. Write the revised answer "
                              "only.",
                          user, cur, critique);
        free(critique);
        prompt = wd__strbuf_take(&p, NULL);
        char *rev = prompt ? ask(srv, rq, prompt, deadline_ns, NULL) : NULL;
        free(prompt);
        if (!rev) break;
        free(cur);
        cur = rev;
        const char *t = cur;
        size_t n = strlen(cur);
        wd__rail_result rr;
        if (wd__rail_check(srv, guard, WD__RAIL_OUTPUT, rq, &t, &n, 1, deadline_ns, &rr)) break;
        done = !rr.error && (rr.action == WD_GATEWAY_ACTION_AUTO || rr.action == WD_GATEWAY_ACTION_WARN);
        wd__rail_result_free(&rr);
    }
    if (!done) {
        free(cur);
        return false;
    }
    *out = cur;
    return true;
}
