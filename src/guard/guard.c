/*
 * guard/guard.c - the guard engine: policy -> scanners -> verdict.
 *
 *   text --(validate, size limit)--> normalise (map to original offsets)
 *        --> each scanner enabled for the role, in policy order:
 *              per-category scores (max over scanners, times the scanner's
 *              weight) + hits (original offsets)
 *        --> payloads hidden in base64/hex/tag characters, and the text read
 *              as rot13 / reversed / Pig Latin (guard/payload.h): decoded and run through
 *              the same scanners (depth + 1, up to decode.max_depth); their
 *              hits point at the encoded span of the caller's text
 *        --> per category: score >= threshold and enabled on this rail
 *              -> fired, with the category's action
 *        --> verdict: action = max over fired; unsafe = action > allow;
 *              redacted text when asked or when the action is redact
 *
 * The policy reader (guard/policy.c) builds the guard: its scanners, its
 * category rules and settings (guard/guard_internal.h). This file is what
 * runs it. A wd_guard is immutable after loading. Per-thread state (normalisation
 * buffers, scanner scratch, hit arrays) lives in a `work` object taken from
 * a mutex-protected free list, so checks from many threads share one guard
 * and the steady state allocates only the verdict.
 *
 * Conversation context (wd_check_params.context): handed to every scanner
 * with the text (wd__scan_input); only model judges read it. A batch of a
 * conversation's turns (wd_guard_check_turns) gives each text its own
 * context, the messages before it; guard/conversation.c picks the turns.
 *
 * Failure policy: invalid UTF-8, a text above max_bytes, or a scanner error
 * give a verdict with an error message; fail: closed -> block (unsafe),
 * fail: open -> the scanners that worked decide.
 *
 * Deadline and cancel flag (wd_check_params, guard/stop.h): tested before
 * each text of a batch (by every thread of it), inside the normaliser, between scanners, inside every
 * scanner's long loops (wd__scan_poll; regex searches go by windows of
 * 64 KiB), while copying hits and while looking for encoded payloads; a
 * check told to stop returns WD_ERR_TIMEOUT or WD_ERR_CANCELLED and no
 * verdict. Every step is linear (or n log n) in the text.
 */
#include "warden/guard.h"
#include "warden/guard_format.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"
#include "base/util.h"
#include "guard/conversation.h"
#include "guard/guard_internal.h"
#include "guard/payload.h"
#include "guard/scanner.h"

#define SNIPPET_MAX 200

/* ==== small tables ======================================================= */

static const char *const action_names[] = {"allow", "flag", "redact", "block"};
const char *wd_action_str(wd_action a) { return (unsigned)a <= WD_ACTION_BLOCK ? action_names[a] : NULL; }
const char *wd_role_str(wd_role r) {
    return r == WD_ROLE_INPUT ? "input" : r == WD_ROLE_OUTPUT ? "output" : NULL;
}

wd_guard_params wd_guard_params_default(void) {
    return (wd_guard_params){.n_threads = 1, .guard_format = NULL, .explain_verdict = false, .explain_max_tokens = 0};
}
wd_check_params wd_check_params_default(void) {
    return (wd_check_params){.role = WD_ROLE_INPUT, .redact = false, .deadline_ns = 0, .cancel = NULL,
                             .context = NULL, .n_context = 0};
}

/* ==== types ============================================================== */

typedef wd__scanner_inst scanner_inst;

/* Per-thread work space. */
typedef struct wd__guard_work {
    struct wd__guard_work *next;
    wd__canon      norm[WD__GUARD_MAX_DEPTH + 1];
    char          *dbuf[WD__GUARD_MAX_DEPTH + 1];
    size_t         dcap[WD__GUARD_MAX_DEPTH + 1];
    wd__scan_result res;
    void         **scratch; /* one per scanner, created lazily */
    bool          *scratch_made;
} work;

/* ==== new / free ========================================================= */

wd_status wd__guard_new(const char *name, const wd_guard_params *params, wd_guard **out) {
    *out = NULL;
    wd_guard *g = calloc(1, sizeof *g);
    if (!g) return wd__fail(WD_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&g->lock, NULL);
    wd_guard_params p = params ? *params : wd_guard_params_default();
    g->n_threads = p.n_threads < 1 ? 1 : p.n_threads > 256 ? 256 : p.n_threads;
    g->cascade_untrained = p.cascade_untrained;
    g->explain = p.explain_verdict;
    g->explain_max_tokens = p.explain_max_tokens;
    if (p.guard_format && wd_guard_format_parse(p.guard_format, (wd_guard_format *)&g->format)) {
        wd_status st = wd__fail(WD_ERR_NOT_FOUND, "guard format: %s", wd_last_error());
        wd_guard_free(g);
        return st;
    }
    if (name && !(g->name = strdup(name))) {
        wd_guard_free(g);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    g->fail_closed = true;
    g->max_bytes = 32u << 20;
    g->norm_flags = WD_CANON_DEFAULT;
    g->decode_kinds = WD_DECODE_ALL;
    g->decode_depth = 2;
    g->decode_min = 16;
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) g->cat[c] = (wd__cat_rule){0.5f, WD_ACTION_BLOCK, 3u};
    *out = g;
    return WD_OK;
}

static void work_free(const wd_guard *g, work *w) {
    if (!w) return;
    for (int d = 0; d <= WD__GUARD_MAX_DEPTH; d++) {
        wd__canon_free(&w->norm[d]);
        free(w->dbuf[d]);
    }
    free(w->res.hits);
    for (size_t i = 0; i < g->n_sc; i++)
        if (w->scratch_made[i] && g->sc[i].vt->scratch_free) g->sc[i].vt->scratch_free(w->scratch[i]);
    free(w->scratch);
    free(w->scratch_made);
    free(w);
}

void wd_guard_free(wd_guard *g) {
    if (!g) return;
    work *w = g->free_work;
    while (w) {
        work *nx = w->next;
        work_free(g, w);
        w = nx;
    }
    for (size_t i = 0; i < g->n_sc; i++) {
        if (g->sc[i].vt && g->sc[i].vt->free) g->sc[i].vt->free(g->sc[i].impl);
        free(g->sc[i].name);
    }
    free(g->sc);
    free(g->name);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* A guard is shared by threads, so a failed check leaves its message in
 * the calling thread's slot (wd_last_error) and notes which guard failed;
 * the guard's own wd__err holds only load-time errors. */
static _Thread_local const wd_guard *tls_failed;
#define CHECK_FAIL(g, ...) (tls_failed = (g), wd__fail(__VA_ARGS__))

wd_status wd__guard_check_failed(const wd_guard *g, wd_status st) {
    tls_failed = g;
    return st;
}

const char *wd_guard_last_error(const wd_guard *g) {
    if (!g) return "";
    return tls_failed == g ? wd_last_error() : wd__err_msg(&g->err);
}
const char *wd_guard_name(const wd_guard *g) { return g ? g->name : NULL; }
bool wd_guard_fail_open(const wd_guard *g) { return g && !g->fail_closed; }

/* ==== work space ========================================================= */

static work *work_get(wd_guard *g) {
    pthread_mutex_lock(&g->lock);
    work *w = g->free_work;
    if (w) g->free_work = w->next;
    pthread_mutex_unlock(&g->lock);
    if (w) return w;
    w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->scratch = calloc(g->n_sc ? g->n_sc : 1, sizeof *w->scratch);
    w->scratch_made = calloc(g->n_sc ? g->n_sc : 1, sizeof *w->scratch_made);
    if (!w->scratch || !w->scratch_made) {
        free(w->scratch);
        free(w->scratch_made);
        free(w);
        return NULL;
    }
    return w;
}

static void work_put(wd_guard *g, work *w) {
    pthread_mutex_lock(&g->lock);
    w->next = g->free_work;
    g->free_work = w;
    pthread_mutex_unlock(&g->lock);
}

static void *scratch_for(const wd_guard *g, work *w, size_t i) {
    if (!w->scratch_made[i]) {
        w->scratch[i] = g->sc[i].vt->scratch_new ? g->sc[i].vt->scratch_new(g->sc[i].impl) : NULL;
        w->scratch_made[i] = true;
    }
    return w->scratch[i];
}

/* ==== checking =========================================================== */

static void verdict_error(wd_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verdict_error(wd_verdict *v, const char *fmt, ...) {
    if (v->error) return; /* keep the first */
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    v->error = strdup(buf);
}

static wd_status add_hit(wd_verdict *v, const char *orig, const scanner_inst *s, const wd__hit *h,
                         size_t start, size_t end, int depth, float weight) {
    if (v->n_hits == v->cap_hits) {
        size_t cap = v->cap_hits ? v->cap_hits * 2 : 8;
        wd_hit *nh = realloc(v->hits, cap * sizeof *nh);
        if (!nh) return WD_ERR_NOMEM;
        v->hits = nh;
        v->cap_hits = cap;
    }
    size_t n = end - start;
    if (n > SNIPPET_MAX) {
        n = SNIPPET_MAX;
        while (n > 0 && ((unsigned char)orig[start + n] & 0xC0) == 0x80) n--; /* whole characters */
    }
    char *snip = malloc(n + 1);
    if (!snip) return WD_ERR_NOMEM;
    memcpy(snip, orig + start, n);
    snip[n] = '\0';
    v->hits[v->n_hits++] = (wd_hit){
        .scanner = s ? s->name : "decode",
        .rule = h->rule,
        .placeholder = depth ? NULL : h->placeholder,
        .snippet = snip,
        .category = h->category,
        .score = h->score * weight,
        .start = start,
        .end = end,
        .depth = depth,
    };
    return WD_OK;
}

typedef struct run_ctx {
    wd_guard      *g;
    work          *w;
    wd_verdict    *v;
    const char    *top;     /* the caller's text, for snippets */
    wd_role        role;
    int            depth;
    size_t         span0, span1; /* for depth > 0: the encoded span in the caller's text */
    wd_status      st;
    const wd__scan_stop *stop; /* NULL: no deadline, no cancel flag */
    bool           ciphered; /* text is a cipher variant: no cipher of it is tried again */
    const wd_chat_message *context; /* the turns before the text (model judges read them) */
    size_t         n_context;
    wd_cascade_mode cascade;
} run_ctx;

static void run_text(run_ctx *rc, const char *text, size_t len);

static int on_payload(size_t start, size_t end, const char *plain, size_t n, int kind, void *user) {
    run_ctx *rc = user;
    run_ctx sub = *rc;
    sub.depth = rc->depth + 1;
    sub.ciphered = rc->ciphered || (kind & WD_DECODE_CIPHERS);
    if (rc->depth == 0) {
        sub.span0 = start;
        sub.span1 = end;
    }
    size_t hits_before = rc->v->n_hits;
    run_text(&sub, plain, n);
    rc->st = sub.st;
    /* Something harmful hidden in an encoding is also an injection attempt
     * (a hazard: personal data or a key read again from a variant is not). */
    bool found = false;
    for (size_t i = hits_before; i < rc->v->n_hits; i++) found |= (WD_CATMASK(rc->v->hits[i].category) & WD_CATMASK_HAZARDS) != 0;
    if (found && rc->depth == 0 && kind != WD_DECODE_SPELLING && kind != WD_DECODE_WORDS) { /* a typo is no injection */
        const char *rule = kind == WD_DECODE_BASE64 ? "hidden-base64-payload"
                         : kind == WD_DECODE_HEX ? "hidden-hex-payload"
                         : kind == WD_DECODE_TAGS ? "hidden-tag-payload"
                         : kind == WD_DECODE_ROT13 ? "hidden-rot13-payload"
                         : kind == WD_DECODE_REVERSE ? "hidden-reversed-payload" : "hidden-piglatin-payload";
        wd__hit h = {rule, NULL, WD_CATEGORY_PROMPT_INJECTION, 0.7f, start, end};
        if (rc->v->score[WD_CATEGORY_PROMPT_INJECTION] < 0.7f) rc->v->score[WD_CATEGORY_PROMPT_INJECTION] = 0.7f;
        add_hit(rc->v, rc->top, NULL, &h, start, end, 0, 1.0f);
    }
    return rc->st != WD_OK;
}

/* Runs every scanner on text (the caller's text at depth 0, a decoded
 * payload deeper) and folds the results into rc->v. */
static void run_text(run_ctx *rc, const char *text, size_t len) {
    wd_guard *g = rc->g;
    work *w = rc->w;
    wd_verdict *v = rc->v;
    wd__canon *nm = &w->norm[rc->depth];
    wd_status st = rc->stop ? wd__scan_stop_poll(rc->stop) : WD_OK;
    if (st != WD_OK) {
        rc->st = st;
        return;
    }
    st = wd__canonicalize_stop(text, len, g->norm_flags, nm, rc->stop);
    if (st == WD_ERR_ENCODING) {
        if (rc->depth == 0) verdict_error(v, "%s", wd_last_error());
        return; /* a decoded payload that is not text: nothing to scan */
    }
    if (st != WD_OK) {
        rc->st = st;
        return;
    }
    unsigned kinds = g->decode_kinds & (rc->ciphered ? ~(unsigned)WD_DECODE_CIPHERS : ~0u);
    bool can_decode = kinds && rc->depth < g->decode_depth;
    bool whole_cipher = false;
    wd__cipher_counts ciphers = {0, 0};
    if (can_decode && (kinds & WD_DECODE_CIPHERS)) {
        st = wd__payload_whole_cipher(nm, kinds, rc->stop, &whole_cipher, &ciphers);
        if (st != WD_OK) {
            rc->st = st;
            return;
        }
    }
    wd__scan_input in = {.orig = text, .orig_len = len, .norm = nm, .role = rc->role, .depth = rc->depth,
                        .stop = rc->stop, .ciphered = whole_cipher, .context = rc->context,
                        .n_context = rc->n_context, .cascade = rc->cascade};
    for (size_t i = 0; i < g->n_sc; i++) {
        if (rc->stop && (st = wd__scan_stop_poll(rc->stop)) != WD_OK) {
            rc->st = st;
            return;
        }
        const scanner_inst *s = &g->sc[i];
        if (!(s->roles & (1u << rc->role))) continue;
        wd__scan_result *r = &w->res;
        memset(r->score, 0, sizeof r->score);
        r->n_hits = 0;
        r->cascaded = false;
        r->rationale = NULL;
        r->feature = NULL;
        wd__err serr;
        serr.status = WD_OK;
        serr.msg[0] = '\0';
        st = s->vt->scan(s->impl, scratch_for(g, w, i), &in, r, &serr);
        if (st != WD_OK) {
            if (st == WD_ERR_NOMEM || st == WD_ERR_TIMEOUT || st == WD_ERR_CANCELLED) {
                rc->st = st;
                return;
            }
            verdict_error(v, "scanner '%s' failed: %s", s->name, serr.msg[0] ? serr.msg : wd_status_str(st));
            continue;
        }
        if (r->cascaded && rc->depth == 0 && !v->cascaded) {
            v->cascaded = true;
            v->cascade = r->cascade;
        }
        for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
            float sc = r->score[c] * s->weight;
            if (sc > v->score[c]) v->score[c] = sc;
        }
        if ((r->rationale && !v->rationale && rc->depth == 0 && !(v->rationale = strdup(r->rationale))) ||
            (r->feature && !v->feature && rc->depth == 0 &&
             !(v->feature = wd__feature_dup(r->feature, v->n_feature = r->n_feature)))) {
            rc->st = WD_ERR_NOMEM;
            return;
        }
        for (size_t h = 0; h < r->n_hits; h++) {
            if (rc->stop && h % 256 == 255 && /* each hit allocates its snippet */
                (st = wd__scan_stop_poll(rc->stop)) != WD_OK) {
                rc->st = st;
                return;
            }
            const wd__hit *hh = &r->hits[h];
            size_t a = hh->start, b = hh->end;
            if (rc->depth > 0) {
                a = rc->span0;
                b = rc->span1;
            } else if (a > len || b > len || a > b) {
                verdict_error(v, "scanner '%s' reported a hit outside the text", s->name);
                continue;
            }
            if (add_hit(v, rc->top, s, hh, a, b, rc->depth, s->weight) != WD_OK) {
                rc->st = WD_ERR_NOMEM;
                return;
            }
        }
    }
    /* payloads follow the text's routing: one decision per check, as
     * eval and train-router model it */
    if (rc->depth == 0 && rc->cascade == WD_CASCADE_MODE_ROUTE && v->cascaded)
        rc->cascade = v->cascade.escalated ? WD_CASCADE_MODE_SECOND : WD_CASCADE_MODE_FIRST;
    if (can_decode) {
        /* the deciphered variant is spelled and read for stray words, if at all */
        if (in.ciphered) kinds &= ~(unsigned)(WD_DECODE_SPELLING | WD_DECODE_WORDS);
        st = wd__payload_scan(text, len, nm, kinds, g->decode_min, &w->dbuf[rc->depth], &w->dcap[rc->depth],
                             on_payload, rc, rc->stop, &ciphers);
        if (st != WD_OK && rc->st == WD_OK) rc->st = st;
    }
}

static int hit_cmp(const void *a, const void *b) {
    const wd_hit *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    int c = strcmp(x->scanner, y->scanner);
    if (c) return c;
    c = strcmp(x->rule ? x->rule : "", y->rule ? y->rule : "");
    if (c) return c;
    return (int)x->category - (int)y->category;
}

static wd_status finish(wd_guard *g, wd_verdict *v, const char *text, size_t len, bool redact) {
    v->fired = 0;
    v->action = WD_ACTION_ALLOW;
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        v->cat_action[c] = WD_ACTION_ALLOW;
        if (!(g->cat[c].roles & (1u << v->role))) continue;
        if (v->score[c] > 0 && v->score[c] >= g->cat[c].threshold) {
            v->fired |= WD_CATMASK(c);
            v->cat_action[c] = g->cat[c].action;
            if (g->cat[c].action > v->action) v->action = g->cat[c].action;
        }
    }
    if (v->error && g->fail_closed) v->action = WD_ACTION_BLOCK;
    v->unsafe = v->action > WD_ACTION_ALLOW;
    if (v->n_hits > 1) qsort(v->hits, v->n_hits, sizeof *v->hits, hit_cmp);
    if (!(redact || v->action == WD_ACTION_REDACT) || v->error) return WD_OK;
    /* Redacted text: every redactable hit of a category that fired (or of
     * any category when the caller asked), overlapping spans merged. */
    size_t cap = len + 1, w = 0, pos = 0;
    for (size_t i = 0; i < v->n_hits; i++)
        if (v->hits[i].placeholder) cap += strlen(v->hits[i].placeholder);
    char *out = malloc(cap);
    if (!out) return WD_ERR_NOMEM;
    for (size_t i = 0; i < v->n_hits; i++) {
        const wd_hit *h = &v->hits[i];
        if (!h->placeholder) continue;
        if (!(redact || (v->fired & WD_CATMASK(h->category)))) continue;
        if (h->end <= pos) continue;
        size_t a = h->start < pos ? pos : h->start;
        memcpy(out + w, text + pos, a - pos);
        w += a - pos;
        if (h->start >= pos) {
            size_t pl = strlen(h->placeholder);
            memcpy(out + w, h->placeholder, pl);
            w += pl;
        }
        pos = h->end;
    }
    memcpy(out + w, text + pos, len - pos);
    w += len - pos;
    out[w] = '\0';
    v->redacted = out;
    v->redacted_len = w;
    return WD_OK;
}

/* A bad params->context: the validator's message (copied: the thread's
 * message is rewritten) behind the function's name. */
static wd_status context_bad(const wd_guard *g, const char *fn) {
    char why[512];
    snprintf(why, sizeof why, "%s", wd_last_error());
    return CHECK_FAIL(g, WD_ERR_INVALID_ARG, "%s: %s", fn, why);
}

static wd_status check_one(wd_guard *g, work *w, const char *text, size_t len, const wd_check_params *p,
                           wd_verdict **out) {
    double t0 = wd__now_us();
    wd_verdict *v = calloc(1, sizeof *v);
    if (!v) return CHECK_FAIL(g, WD_ERR_NOMEM, "out of memory");
    v->role = p->role;
    v->msg_index = -1;
    wd_status st = WD_OK;
    wd__scan_stop stop = {p->deadline_ns, p->cancel};
    if (len > g->max_bytes) {
        verdict_error(v, "text is %zu bytes, above the policy's max_bytes (%zu): not checked", len, g->max_bytes);
    } else {
        run_ctx rc = {g, w, v, text ? text : "", p->role, 0, 0, len, WD_OK,
                      p->deadline_ns || p->cancel ? &stop : NULL, false, p->context, p->n_context,
                      p->cascade};
        run_text(&rc, text ? text : "", len);
        st = rc.st;
    }
    if (st == WD_OK) st = finish(g, v, text ? text : "", len, p->redact);
    if (st != WD_OK) {
        wd_verdict_free(v);
        if (st == WD_ERR_TIMEOUT)
            return CHECK_FAIL(g, st, "check: the deadline passed %.1f ms into a text of %zu bytes",
                               (wd__now_us() - t0) / 1000.0, len);
        if (st == WD_ERR_CANCELLED)
            return CHECK_FAIL(g, st, "check: cancelled %.1f ms into a text of %zu bytes",
                               (wd__now_us() - t0) / 1000.0, len);
        return CHECK_FAIL(g, st, "check: %s", st == WD_ERR_NOMEM ? "out of memory" : wd_status_str(st));
    }
    v->micros = wd__now_us() - t0;
    *out = v;
    return WD_OK;
}

wd_status wd_guard_check(wd_guard *g, const char *text, size_t len, const wd_check_params *params,
                         wd_verdict **out) {
    if (out) *out = NULL;
    if (!g || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_check: guard or out is NULL");
    if (!text && len) return CHECK_FAIL(g, WD_ERR_INVALID_ARG, "wd_guard_check: text is NULL");
    wd_check_params p = params ? *params : wd_check_params_default();
    if (p.role != WD_ROLE_INPUT && p.role != WD_ROLE_OUTPUT)
        return CHECK_FAIL(g, WD_ERR_INVALID_ARG, "wd_guard_check: role %d is neither input nor output", (int)p.role);
    if (wd__conv_validate(p.context, p.n_context, "context") != WD_OK)
        return context_bad(g, "wd_guard_check");
    work *w = work_get(g);
    if (!w) return CHECK_FAIL(g, WD_ERR_NOMEM, "out of memory");
    wd_status st = check_one(g, w, text, len, &p, out);
    work_put(g, w);
    return st;
}

/* A batch is cut into one contiguous share per thread. Each job tests the
 * deadline and the cancel flag before each of its texts (a text above
 * max_bytes is never scanned, so check_one alone would not) and stops when
 * another job has failed: `halt` is raised by the first failure, so that
 * no thread goes on checking texts whose verdicts will be thrown away. */
typedef struct batch_job {
    wd_guard              *g;
    const char *const     *texts;
    const size_t          *lens;
    /* a conversation's turns (wd_guard_check_turns): text i is
     * msgs[turns[i]].content, its context msgs[0..turns[i]); NULL: texts */
    const wd_chat_message *msgs;
    const size_t          *turns;
    size_t                 from, to;
    const wd_check_params *p;
    wd_verdict           **out;
    atomic_bool           *halt;
    size_t                 done; /* texts of the share checked */
    wd_status              st;
} batch_job;

static void *batch_run(void *arg) {
    batch_job *j = arg;
    work *w = work_get(j->g);
    if (!w) {
        j->st = WD_ERR_NOMEM;
        atomic_store_explicit(j->halt, true, memory_order_relaxed);
        return NULL;
    }
    wd__scan_stop stop = {j->p->deadline_ns, j->p->cancel};
    bool polls = j->p->deadline_ns || j->p->cancel;
    for (size_t i = j->from; i < j->to; i++) {
        if (atomic_load_explicit(j->halt, memory_order_relaxed)) break;
        wd_check_params p = *j->p;
        const char *text;
        size_t len;
        if (j->turns) {
            const wd_chat_message *m = &j->msgs[j->turns[i]];
            text = m->content ? m->content : "";
            len = strlen(text);
            p.context = j->msgs;
            p.n_context = j->turns[i];
        } else {
            text = j->texts[i];
            len = j->lens[i];
        }
        if (!text && len) j->st = WD_ERR_INVALID_ARG;
        else if (polls) j->st = wd__scan_stop_poll(&stop);
        if (j->st == WD_OK) j->st = check_one(j->g, w, text, len, &p, &j->out[i]);
        if (j->st == WD_OK && j->turns) j->out[i]->msg_index = (long)j->turns[i];
        if (j->st != WD_OK) {
            atomic_store_explicit(j->halt, true, memory_order_relaxed);
            break;
        }
        j->done++;
    }
    work_put(j->g, w);
    return NULL;
}

/* The batch of texts[0..n) (or of a conversation's turns: see batch_job)
 * with params p, already validated. */
static wd_status run_batch(wd_guard *g, const char *const *texts, const size_t *lens,
                           const wd_chat_message *msgs, const size_t *turns, size_t n,
                           const wd_check_params *pp, wd_verdict **out) {
    wd_check_params p = *pp;
    size_t nt = (size_t)g->n_threads;
    if (nt > n) nt = n ? n : 1;
    batch_job jobs[256];
    pthread_t th[256];
    bool started[256] = {false};
    atomic_bool halt;
    atomic_init(&halt, false);
    for (size_t t = 0; t < nt; t++)
        jobs[t] = (batch_job){g, texts, lens, msgs, turns, n * t / nt, n * (t + 1) / nt, &p, out, &halt, 0, WD_OK};
    for (size_t t = 1; t < nt; t++) started[t] = pthread_create(&th[t], NULL, batch_run, &jobs[t]) == 0;
    batch_run(&jobs[0]);
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else batch_run(&jobs[t]); /* could not start a thread: do its share here */
    }
    wd_status st = WD_OK;
    size_t done = 0;
    for (size_t t = 0; t < nt; t++) {
        if (st == WD_OK) st = jobs[t].st;
        done += jobs[t].done;
    }
    if (st != WD_OK) {
        for (size_t i = 0; i < n; i++) {
            wd_verdict_free(out[i]);
            out[i] = NULL;
        }
        if (st == WD_ERR_INVALID_ARG) return CHECK_FAIL(g, st, "wd_guard_check_batch: a text is NULL");
        if (st == WD_ERR_TIMEOUT)
            return CHECK_FAIL(g, st, "check: the deadline passed after %zu of a batch of %zu texts", done, n);
        if (st == WD_ERR_CANCELLED)
            return CHECK_FAIL(g, st, "check: cancelled after %zu of a batch of %zu texts", done, n);
        /* said here, on the caller's thread: the failure may have been a worker's */
        return CHECK_FAIL(g, st, "check: %s", st == WD_ERR_NOMEM ? "out of memory" : wd_status_str(st));
    }
    return WD_OK;
}

wd_status wd_guard_check_batch(wd_guard *g, const char *const *texts, const size_t *lens, size_t n,
                               const wd_check_params *params, wd_verdict **out) {
    if (!g || (n && (!texts || !lens || !out)))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_check_batch: NULL argument");
    for (size_t i = 0; i < n; i++) out[i] = NULL;
    wd_check_params p = params ? *params : wd_check_params_default();
    if (p.role != WD_ROLE_INPUT && p.role != WD_ROLE_OUTPUT)
        return CHECK_FAIL(g, WD_ERR_INVALID_ARG, "wd_guard_check_batch: bad role %d", (int)p.role);
    if (wd__conv_validate(p.context, p.n_context, "context") != WD_OK)
        return context_bad(g, "wd_guard_check_batch");
    return run_batch(g, texts, lens, NULL, NULL, n, &p, out);
}

wd_status wd_guard_check_turns(wd_guard *g, const wd_chat_message *msgs, size_t n, const size_t *turns,
                               size_t n_turns, const wd_check_params *params, wd_verdict **out) {
    if (!g || (n_turns && (!msgs || !turns || !out)))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_check_turns: NULL argument");
    for (size_t k = 0; k < n_turns; k++) out[k] = NULL;
    wd_check_params p = params ? *params : wd_check_params_default();
    if (p.role != WD_ROLE_INPUT && p.role != WD_ROLE_OUTPUT)
        return CHECK_FAIL(g, WD_ERR_INVALID_ARG, "wd_guard_check_turns: bad role %d", (int)p.role);
    if (p.n_context)
        return CHECK_FAIL(g, WD_ERR_INVALID_ARG,
                          "wd_guard_check_turns: params->context must be empty (the context comes from msgs)");
    if (wd__conv_validate(msgs, n, "messages") != WD_OK)
        return wd__guard_check_failed(g, WD_ERR_INVALID_ARG); /* the message names the message */
    const char *want = p.role == WD_ROLE_INPUT ? "user" : "assistant";
    for (size_t k = 0; k < n_turns; k++) {
        if (turns[k] >= n)
            return CHECK_FAIL(g, WD_ERR_INVALID_ARG, "wd_guard_check_turns: turns[%zu] = %zu is past the %zu messages",
                              k, turns[k], n);
        if (strcmp(msgs[turns[k]].role, want))
            return CHECK_FAIL(g, WD_ERR_INVALID_ARG,
                              "messages[%zu]: a check of role %s judges %s messages, not %s ones", turns[k],
                              wd_role_str(p.role), want, msgs[turns[k]].role);
    }
    return run_batch(g, NULL, NULL, msgs, turns, n_turns, &p, out);
}
