/*
 * serve/guard_backend.c - the real guard (warden/guard.h) behind the
 * server's backend interface, and wd_server_start.
 *
 * Fail mode: the guard applies its policy's fail mode itself to texts it
 * cannot check (invalid UTF-8, too long, a failing scanner: WD_OK and a
 * verdict carrying an error). The server needs the same answer for its own
 * failures (the request deadline passed, out of memory): wd_guard_fail_open.
 *
 * Deadline and cancel: both go into wd_check_params, and a request's texts
 * go to the guard as one batch, which tests both before each text and
 * inside it: the check stops within about a millisecond when the request
 * deadline passes or the server, stopping, sets its cancel flag, however
 * many texts the request holds. The verdicts of a request are all alive
 * until they are turned into JSON; a request holds at most max_inputs
 * texts in at most max_body bytes, so that is bounded as the body is.
 */
#include <stdlib.h>
#include <string.h>

#include "warden/certify.h"
#include "warden/guard.h"
#include "base/err.h"
#include "serve/serve_internal.h"

typedef struct guard_box {
    wd_guard *g;
    bool fail_open;
} guard_box;

/* Wraps g (taking it: freed on failure) and learns its fail mode. */
static wd_status box_new(wd_guard *g, void **out) {
    *out = NULL;
    guard_box *b = calloc(1, sizeof *b);
    if (!b) {
        wd_guard_free(g);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    b->g = g;
    b->fail_open = wd_guard_fail_open(g);
    *out = b;
    return WD_OK;
}

static wd_status box_load(const char *policy_path, const wd_server_params *p, void **out) {
    *out = NULL;
    wd_guard *g = NULL;
    wd_guard_params gp = wd_guard_params_default();
    if (p) {
        gp.guard_format = p->guard_format;
        gp.explain_verdict = p->explain_verdict;
    }
    wd_status st = policy_path ? wd_guard_load(policy_path, &gp, &g) : wd_guard_load_default(&gp, &g);
    if (st) return st;
    return box_new(g, out);
}

static void box_free(void *p) {
    guard_box *b = p;
    if (!b) return;
    wd_guard_free(b->g);
    free(b);
}

static bool box_fail_open(const void *p) { return ((const guard_box *)p)->fail_open; }

void wd__serve_result_clear(wd__serve_result *r) {
    free(r->json);
    free(r->redacted);
    r->json = r->redacted = NULL;
}

static void release(wd__serve_result *out, size_t n) {
    for (size_t i = 0; i < n; i++) wd__serve_result_clear(&out[i]);
}

/* Turns the verdicts v[0..n) (or the failure st) into out[] and frees them. */
static wd_status results(wd_status st, wd_verdict **v, size_t n, wd__serve_result *out) {
    size_t made = 0; /* results written to out[] */
    for (; made < n && !st; made++) {
        wd__serve_result *r = &out[made];
        const wd_verdict *vi = v[made];
        memset(r, 0, sizeof *r);
        r->unsafe = wd_verdict_unsafe(vi);
        r->flagged = wd_verdict_categories(vi);
        for (int c = 0; c < WD_CATEGORY_COUNT; c++) r->score[c] = wd_verdict_score(vi, (wd_category)c);
        r->action = (int)wd_verdict_action(vi);
        const char *red = r->action == WD_ACTION_REDACT ? wd_verdict_redacted(vi, NULL) : NULL;
        if (red && !(r->redacted = strdup(red))) st = wd__fail(WD_ERR_NOMEM, "out of memory");
        if (!st) st = wd_verdict_to_json(vi, &r->json);
        if (st) wd__serve_result_clear(r);
    }
    for (size_t i = 0; i < n; i++) wd_verdict_free(v[i]);
    free(v);
    if (st) release(out, made);
    return st;
}

static wd_check_params params_of(wd__serve_role role, bool redact, int64_t deadline_ns,
                                 const volatile sig_atomic_t *cancel) {
    wd_check_params cp = wd_check_params_default();
    cp.role = role == WD__ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    cp.redact = redact;
    cp.deadline_ns = deadline_ns;
    cp.cancel = cancel;
    return cp;
}

static wd_status box_check(void *p, const char *const *texts, const size_t *lens, size_t n,
                           wd__serve_role role, bool redact, int64_t deadline_ns,
                           const volatile sig_atomic_t *cancel, wd__serve_result *out) {
    guard_box *b = p;
    wd_check_params cp = params_of(role, redact, deadline_ns, cancel);
    wd_verdict **v = calloc(n ? n : 1, sizeof *v);
    if (!v) return wd__fail(WD_ERR_NOMEM, "out of memory");
    return results(wd_guard_check_batch(b->g, texts, lens, n, &cp, v), v, n, out);
}

/* A conversation's turns, each in its context, as one batch. */
static wd_status box_check_turns(void *p, const wd_chat_message *msgs, size_t n, const size_t *turns,
                                 size_t n_turns, wd__serve_role role, bool redact, int64_t deadline_ns,
                                 const volatile sig_atomic_t *cancel, wd__serve_result *out) {
    guard_box *b = p;
    wd_check_params cp = params_of(role, redact, deadline_ns, cancel);
    wd_verdict **v = calloc(n_turns ? n_turns : 1, sizeof *v);
    if (!v) return wd__fail(WD_ERR_NOMEM, "out of memory");
    return results(wd_guard_check_turns(b->g, msgs, n, turns, n_turns, &cp, v), v, n_turns, out);
}

/* A certifier per call: it only borrows the (thread-safe) guard. */
static wd_status box_certify(void *p, const char *const *texts, const size_t *lens, size_t n,
                             const wd_certify_params *cp, int64_t deadline_ns, bool *harmful,
                             char **json) {
    guard_box *b = p;
    wd_certifier *c = NULL;
    wd_status st = wd_certifier_new_guard(b->g, NULL, &c);
    size_t i = 0;
    for (; !st && i < n; i++) {
        if (deadline_ns && wd__serve_now_ns() > deadline_ns) {
            st = wd__fail(WD_ERR_TIMEOUT, "the request deadline passed after %zu of %zu texts", i, n);
            break;
        }
        wd_certificate *r = NULL;
        if ((st = wd_certify(c, texts[i], lens[i], cp, &r))) break;
        harmful[i] = wd_certificate_harmful(r);
        st = wd_certificate_to_json(r, &json[i]);
        wd_certificate_free(r);
    }
    if (st)
        for (size_t j = 0; j < i; j++) {
            free(json[j]);
            json[j] = NULL;
        }
    wd_certifier_free(c);
    return st;
}

static const char *box_policy_name(const void *p) { return wd_guard_name(((const guard_box *)p)->g); }

const wd__serve_backend wd__serve_guard_backend = {
    "warden", box_load, box_free, box_fail_open, box_check, box_certify, box_policy_name, box_check_turns,
};

wd_status wd_server_start(const wd_server_params *params, wd_guard *guard, wd_server **out) {
    *out = NULL;
    void *box = NULL;
    if (guard) {
        wd_status st = box_new(guard, &box);
        if (st) return st;
    }
    return wd__server_start_backend(params, &wd__serve_guard_backend, box, out);
}
