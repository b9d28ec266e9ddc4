/*
 * guard/judge.c - the LLM judge object (guard/judge.h): the prompt, its
 * head and tail as token ids, the "unsafe" token ids and p(unsafe).
 *
 * Head and tail are found by rendering the prompt around a marker that no
 * text contains and cutting there; both roles are tokenized when the judge
 * is built, so that a judge is immutable afterwards. A text judged in a
 * conversation (wd__judge_render_conv) is rendered whole instead: the
 * turns before it change from check to check.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guard/conversation.h"
#include "guard/judge.h"
#include "warden/chat.h"
#include "warden/tokenizer.h"

/* The prompt for text in role: tmpl == NULL is the Llama Guard 3 prompt
 * listing cats, else tmpl with {text} and {role} replaced. */
static wd_status render(const char *tmpl, wd_catmask cats, const char *text, size_t len, wd_role role,
                        char **out) {
    char *t = malloc(len + 1);
    if (!t) return WD_ERR_NOMEM;
    memcpy(t, text, len);
    t[len] = '\0';
    wd_status st = WD_OK;
    if (!tmpl) {
        wd_chat_message msgs[2];
        size_t n = 0;
        if (role == WD_ROLE_OUTPUT) msgs[n++] = (wd_chat_message){"user", ""};
        msgs[n++] = (wd_chat_message){role == WD_ROLE_OUTPUT ? "assistant" : "user", t};
        st = wd_llama_guard3_prompt(msgs, n, cats, out, NULL);
    } else {
        /* {text} -> text, {role} -> User / Agent */
        const char *who = role == WD_ROLE_OUTPUT ? "Agent" : "User";
        size_t cap = strlen(tmpl) + 1, w = 0;
        for (const char *p = tmpl; *p; p++)
            if (*p == '{') cap += len + 8;
        char *o = malloc(cap);
        if (!o) st = WD_ERR_NOMEM;
        for (const char *p = tmpl; o && *p;) {
            if (!strncmp(p, "{text}", 6)) {
                memcpy(o + w, t, len);
                w += len;
                p += 6;
            } else if (!strncmp(p, "{role}", 6)) {
                memcpy(o + w, who, strlen(who));
                w += strlen(who);
                p += 6;
            } else {
                o[w++] = *p++;
            }
        }
        if (o) o[w] = '\0';
        *out = o;
    }
    free(t);
    return st;
}

wd_status wd__judge_render(const wd__judge *j, const char *text, size_t len, wd_role role, char **out) {
    return render(j->tmpl, j->cats, text, len, role, out);
}

wd_status wd__judge_render_conv(const wd__judge *j, const wd_chat_message *context, size_t from,
                                size_t n_context, const char *text, size_t len, wd_role role, char **out) {
    *out = NULL;
    if (j->tmpl || from >= n_context) return render(j->tmpl, j->cats, text, len, role, out);
    wd_chat_message *turns = NULL;
    size_t nt = 0;
    char *buf = NULL;
    wd_status st = wd__conv_guard_turns(context, from, n_context, text, len, role, &turns, &nt, &buf);
    if (!st) st = wd_llama_guard3_prompt(turns, nt, j->cats, out, NULL);
    free(turns);
    free(buf);
    return st;
}

wd_status wd__judge_encode_tok(const wd_tokenizer *tok, const char *s, size_t len, int32_t **ids,
                            size_t *cap, size_t *n) {
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_status st = wd_tokenizer_encode_ids(tok, s, len, &ep, *ids, *cap, n);
    if (st == WD_ERR_RANGE && *n > *cap) {
        int32_t *b = realloc(*ids, *n * sizeof *b);
        if (!b) return WD_ERR_NOMEM;
        *ids = b;
        *cap = *n;
        st = wd_tokenizer_encode_ids(tok, s, len, &ep, *ids, *cap, n);
    }
    return st;
}

wd_status wd__judge_encode(const wd__judge *j, const char *s, size_t len, int32_t **ids, size_t *cap,
                           size_t *n) {
    return wd__judge_encode_tok(j->tok, s, len, ids, cap, n);
}

/* Tokenizes s[0..len) into a new array (never NULL on success). */
static wd_status encode_new(const wd_tokenizer *tok, const char *s, size_t len, int32_t **out,
                            size_t *n) {
    size_t cap = 1;
    if (!(*out = malloc(sizeof **out))) return WD_ERR_NOMEM;
    wd_status st = wd__judge_encode_tok(tok, s, len, out, &cap, n);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

/* The prompt for role cut at the text: head and tail token ids. */
static wd_status parts(wd__judge *j, wd_role role) {
    char *full = NULL;
    wd_status st = render(j->tmpl, j->cats, WD__JUDGE_MARK, strlen(WD__JUDGE_MARK), role, &full);
    if (st) return wd__fail(st, "out of memory");
    char *at = strstr(full, WD__JUDGE_MARK);
    if (!at) {
        free(full);
        return wd__fail(WD_ERR_FORMAT, "llm_judge: the template does not place the text");
    }
    if (!(st = encode_new(j->tok, full, (size_t)(at - full), &j->head[role], &j->n_head[role]))) {
        const char *rest = at + strlen(WD__JUDGE_MARK);
        st = encode_new(j->tok, rest, strlen(rest), &j->tail[role], &j->n_tail[role]);
    }
    free(full);
    return st;
}

/* The ids (< V) whose text, leading spaces dropped, starts with "unsafe",
 * plus the first token of "unsafe" when the tokenizer splits the word. */
static wd_status unsafe_ids(wd__judge *j) {
    size_t V = j->n_vocab;
    int32_t *ids = malloc((V + 1) * sizeof *ids);
    if (!ids) return wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t n = 0;
    wd_decode_params dp = wd_decode_params_default();
    for (int32_t id = 0; (size_t)id < V && (size_t)id < wd_tokenizer_vocab_size(j->tok); id++) {
        char *s = NULL;
        if (wd_tokenizer_decode(j->tok, &id, 1, &dp, &s, NULL)) continue;
        const char *p = s;
        while (*p == ' ') p++;
        if (!strncmp(p, "unsafe", 6)) ids[n++] = id;
        free(s);
    }
    int32_t first[8];
    size_t nf = 0;
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_status est = wd_tokenizer_encode_ids(j->tok, "unsafe", 6, &ep, first, 8, &nf);
    if ((est == WD_OK || est == WD_ERR_RANGE) && nf > 0 && (size_t)first[0] < V) {
        bool have = false;
        for (size_t i = 0; i < n; i++) have |= ids[i] == first[0];
        if (!have) ids[n++] = first[0];
    }
    j->unsafe = ids;
    j->n_unsafe = n;
    return n ? WD_OK : wd__fail(WD_ERR_UNSUPPORTED, "the tokenizer cannot write 'unsafe'");
}

wd_status wd__judge_new(wd_model *m, const char *tmpl, wd_catmask cats, wd__judge **out) {
    *out = NULL;
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    if (!tok) return wd__fail(WD_ERR_UNSUPPORTED, "a judge needs the model's tokenizer");
    wd__judge *j = calloc(1, sizeof *j);
    if (!j) return wd__fail(WD_ERR_NOMEM, "out of memory");
    j->tok = tok;
    j->n_vocab = wd_model_n_vocab(m);
    j->cats = cats;
    wd_status st = WD_OK;
    if (tmpl && !(j->tmpl = strdup(tmpl))) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!st) st = unsafe_ids(j);
    if (!st) st = parts(j, WD_ROLE_INPUT);
    if (!st) st = parts(j, WD_ROLE_OUTPUT);
    if (st) {
        wd__judge_free(j); /* m is not j's yet */
        return st;
    }
    j->m = m;
    *out = j;
    return WD_OK;
}

void wd__judge_free(wd__judge *j) {
    if (!j) return;
    wd_model_free(j->m);
    free(j->tmpl);
    free(j->unsafe);
    for (int r = 0; r < 2; r++) {
        free(j->head[r]);
        free(j->tail[r]);
    }
    free(j);
}

double wd__judge_p_unsafe(const wd__judge *j, const float *lg, int32_t *best) {
    size_t V = j->n_vocab;
    float mx = lg[0];
    for (size_t v = 1; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
    double z = 0.0, pu = 0.0, pbest = -1.0;
    for (size_t v = 0; v < V; v++) z += exp((double)lg[v] - mx);
    for (size_t i = 0; i < j->n_unsafe; i++) {
        double p = exp((double)lg[j->unsafe[i]] - mx) / z;
        pu += p;
        if (p > pbest) {
            pbest = p;
            if (best) *best = j->unsafe[i];
        }
    }
    return pu > 1.0 ? 1.0 : pu;
}
