/*
 * guard/formats/format.c - the guard formats' table (warden/guard_format.h):
 * names, detection from a checkpoint, the public render / parse / label
 * calls dispatched to each format's file, and the helpers the parsers
 * share.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/utf8.h"
#include "guard/formats/format.h"
#include "text/tok_internal.h"

static const wd__gformat *const TABLE[WD_GUARD_FORMAT_COUNT] = {
    [WD_GUARD_FORMAT_LLAMA_GUARD_3] = &wd__gf_llama_guard3,
    [WD_GUARD_FORMAT_LLAMA_GUARD_4] = &wd__gf_llama_guard4,
    [WD_GUARD_FORMAT_SHIELDGEMMA] = &wd__gf_shieldgemma,
    [WD_GUARD_FORMAT_GRANITE_GUARDIAN] = &wd__gf_granite_guardian,
    [WD_GUARD_FORMAT_QWEN3GUARD] = &wd__gf_qwen3guard,
    [WD_GUARD_FORMAT_WILDGUARD] = &wd__gf_wildguard,
    [WD_GUARD_FORMAT_PROMPT_GUARD] = &wd__gf_prompt_guard,
    [WD_GUARD_FORMAT_SEQ_CLASSIFIER] = &wd__gf_seq_classifier,
};

const wd__gformat *wd__gformat_get(wd_guard_format f) {
    return (unsigned)f < WD_GUARD_FORMAT_COUNT ? TABLE[f] : NULL;
}

const char *wd_guard_format_name(wd_guard_format f) {
    if (f == WD_GUARD_FORMAT_AUTO) return "auto";
    const wd__gformat *g = wd__gformat_get(f);
    return g ? g->name : NULL;
}

wd_status wd_guard_format_parse(const char *name, wd_guard_format *out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_format_parse: out is NULL");
    *out = WD_GUARD_FORMAT_AUTO;
    for (int f = 0; name && f < WD_GUARD_FORMAT_COUNT; f++)
        if (!strcasecmp(name, wd_guard_format_name((wd_guard_format)f))) {
            *out = (wd_guard_format)f;
            return WD_OK;
        }
    if (name && !strcasecmp(name, "llama-guard")) {
        *out = WD_GUARD_FORMAT_LLAMA_GUARD_3;
        return WD_OK;
    }
    return wd__fail(WD_ERR_NOT_FOUND,
                    "unknown guard format '%s' (known: auto, llama-guard-3, llama-guard-4, shieldgemma, "
                    "granite-guardian, qwen3guard, wildguard, prompt-guard, seq-classifier)",
                    name ? name : "(null)");
}

bool wd_guard_format_generative(wd_guard_format f) {
    const wd__gformat *g = wd__gformat_get(f);
    return g && g->generative;
}

wd_guard_format wd_guard_format_detect(const char *t, const char *arch, const char *const *labels,
                                       size_t n_labels) {
    if (t) {
        bool cats = strstr(t, "UNSAFE CONTENT CATEGORIES") != NULL;
        if (cats && strstr(t, "<|header_start|>")) return WD_GUARD_FORMAT_LLAMA_GUARD_4;
        if (strstr(t, "Safety: Controversial")) return WD_GUARD_FORMAT_QWEN3GUARD;
        if (cats) return WD_GUARD_FORMAT_LLAMA_GUARD_3;
        if (strstr(t, "policy expert") || strstr(t, "Human Question")) return WD_GUARD_FORMAT_SHIELDGEMMA;
        if (strstr(t, "risk_definition") || strstr(t, "guardian_config")) return WD_GUARD_FORMAT_GRANITE_GUARDIAN;
        if (strstr(t, "Human user:") && strstr(t, "AI assistant:")) return WD_GUARD_FORMAT_WILDGUARD;
    }
    if (arch && !strcmp(arch, "Llama4ForConditionalGeneration")) return WD_GUARD_FORMAT_LLAMA_GUARD_4;
    if (n_labels) {
        for (size_t i = 0; labels && i < n_labels; i++)
            if (labels[i] && (!strcasecmp(labels[i], "INJECTION") || !strcasecmp(labels[i], "JAILBREAK") ||
                              !strcasecmp(labels[i], "MALICIOUS")))
                return WD_GUARD_FORMAT_PROMPT_GUARD;
        return WD_GUARD_FORMAT_SEQ_CLASSIFIER;
    }
    return WD_GUARD_FORMAT_LLAMA_GUARD_3;
}

const char *const *wd_guard_format_policies(wd_guard_format f, size_t *n) {
    const wd__gformat *g = wd__gformat_get(f);
    if (n) *n = g ? g->n_policies : 0;
    return g && g->n_policies ? g->policy_names : NULL;
}

wd_status wd_guard_format_render(wd_guard_format f, const wd_chat_message *m, size_t n, const char *policy,
                                 char **out) {
    if (out) *out = NULL;
    const wd__gformat *g = wd__gformat_get(f);
    if (!out || (n && !m)) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_format_render: NULL argument");
    if (!g || !g->generative)
        return wd__fail(WD_ERR_INVALID_ARG, "guard format %s has no prompt (not generative)",
                        wd_guard_format_name(f) ? wd_guard_format_name(f) : "?");
    if (n == 0) return wd__fail(WD_ERR_INVALID_ARG, "guard format %s: no messages to judge", g->name);
    for (size_t i = 0; i < n; i++) {
        const char *want = i % 2 ? "assistant" : "user";
        if (!m[i].role || !m[i].content || strcmp(m[i].role, want))
            return wd__fail(WD_ERR_INVALID_ARG,
                            "guard format %s: message %zu must be a%s %s message (roles alternate "
                            "user/assistant from the user)",
                            g->name, i, i % 2 ? "n" : "", want);
    }
    const wd__gf_policy *pol = NULL;
    if (g->n_policies) {
        pol = &g->policies[0];
        if (policy) {
            pol = NULL;
            for (size_t i = 0; i < g->n_policies; i++)
                if (!strcasecmp(policy, g->policies[i].name)) pol = &g->policies[i];
            if (!pol) return wd__fail(WD_ERR_INVALID_ARG, "guard format %s: unknown policy '%s'", g->name, policy);
        }
    }
    wd__strbuf s = {0};
    wd_status st = g->render(m, n, n % 2 == 0, pol, &s);
    if (!st && s.oom) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (st) {
        wd__strbuf_free(&s);
        return st;
    }
    *out = wd__strbuf_take(&s, NULL);
    return *out ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
}

wd_status wd_guard_format_parse_answer(wd_guard_format f, const char *text, wd_role role, wd_guard_answer *out) {
    const wd__gformat *g = wd__gformat_get(f);
    if (!out || !text) return wd__fail(WD_ERR_INVALID_ARG, "wd_guard_format_parse_answer: NULL argument");
    wd__gf_answer_clear(out);
    if (!g || !g->generative) return wd__fail(WD_ERR_INVALID_ARG, "guard format %s writes no answer", wd_guard_format_name(f));
    return g->parse(text, role == WD_ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT, out);
}

/* ==== helpers ============================================================ */

void wd__gf_answer_clear(wd_guard_answer *a) {
    memset(a, 0, sizeof *a);
    a->harmful_request = a->refusal = a->harmful_response = -1;
}

void wd__gf_add_cat(wd_guard_answer *a, const char *scheme, const char *text, size_t start, size_t end) {
    char name[96];
    size_t n = end - start;
    if (n == 0 || n >= sizeof name || a->n_cats == WD_GUARD_ANSWER_MAX_CATS) return;
    memcpy(name, text + start, n);
    name[n] = '\0';
    wd_catmask m = 0;
    if (wd_taxonomy_map(scheme, name, &m) || !m) return;
    a->cat[a->n_cats].mask = m;
    a->cat[a->n_cats].start = start;
    a->cat[a->n_cats].end = end;
    a->n_cats++;
    a->categories |= m;
}

const char *wd__gf_find(const char *text, const char *key) {
    size_t k = strlen(key);
    for (const char *p = text; *p; p++)
        if (!strncasecmp(p, key, k)) return p;
    return NULL;
}

int wd__gf_yes_no(const char *p, const char **end) {
    while (*p == ' ' || *p == '\t') p++;
    int r = -1;
    size_t k = 0;
    if (!strncasecmp(p, "yes", 3)) r = 1, k = 3;
    else if (!strncasecmp(p, "no", 2)) r = 0, k = 2;
    if (r >= 0 && isalnum((unsigned char)p[k])) r = -1, k = 0;
    if (end) *end = p + k;
    return r;
}

wd_status wd__gf_parse_yes_no(const char *text, wd_role role, wd_guard_answer *a) {
    (void)role;
    int yn = wd__gf_yes_no(text[0] == '\n' ? text + 1 : text, NULL);
    a->verdict = yn == 1 ? WD_GUARD_VERDICT_UNSAFE : yn == 0 ? WD_GUARD_VERDICT_SAFE : WD_GUARD_VERDICT_NONE;
    return WD_OK;
}

