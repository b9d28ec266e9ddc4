/*
 * guard/scanners/llm_judge.c - the `llm_judge` scanner: any decoder checkpoint asked
 * whether a text is safe with the Llama Guard 3 prompt (Inan et al. 2023,
 * Meta's Llama Guard 3 model card) or a user template.
 *
 * Policy node:
 *   - type: llm_judge
 *     model: models/Llama-Guard-3-1B   # folder with config.json, weights, tokenizer.json
 *     template: llama-guard-3          # or a file whose text contains {text}
 *                                      # (and optionally {role}: User / Agent)
 *     categories: [S1, S2, S9]         # hazards listed in the prompt (default all 14)
 *     max_tokens: 16                   # tokens generated for the category line
 *     generate_above: 0.5              # generate the categories when p(unsafe) >= this
 *     threads: 0                       # 0 = all CPUs
 *     n_ctx: 4096                      # longest prompt (text is cut to fit)
 *
 * Score: p(unsafe) = the softmax mass, at the position after the prompt, of
 * every vocabulary token whose text (leading spaces dropped) starts with
 * "unsafe", plus the first token of "unsafe" when the tokenizer splits the
 * word. When p(unsafe) >= generate_above, the most likely of those tokens is
 * fed back and the judge generates greedily up to max_tokens; the S-codes
 * after "unsafe" ("S1,S9") name the categories, each scored p(unsafe). A
 * judge that says unsafe without a code scores every category the prompt
 * listed.
 *
 * Prefix sharing: the prompt up to the conversation (task line + category
 * list, a few hundred tokens) depends only on the role, so each scratch
 * keeps it in its KV cache and truncates back to it before each text
 * (wd_context_truncate); only the text and the closing instructions are
 * computed per scan. At init the split is checked: tokens(prefix) +
 * tokens(rest) must equal tokens(prompt), else caching is off.
 *
 * Roles: WD_ROLE_INPUT is judged as the 'User' message; WD_ROLE_OUTPUT as the
 * 'Agent' reply to an empty user turn.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "guard/judge.h"
#include "guard/scanner.h"
#include "warden/chat.h"
#include "warden/model.h"
#include "warden/tokenizer.h"

#define MARK "\x01wd-judge-text\x01"

typedef struct judge {
    wd_model           *m;
    const wd_tokenizer *tok;
    char               *tmpl;       /* user template (NULL: llama-guard-3) */
    wd_catmask          cats;
    long                max_tokens, n_ctx;
    double              gen_above;
    int32_t            *unsafe_ids; /* tokens whose text starts with "unsafe" */
    size_t              n_unsafe;
    /* per role: the cached prefix text (NULL: no caching) */
    char *prefix[2];
} judge;

typedef struct judge_scratch {
    wd_context *ctx;
    int         cached_role; /* -1: the cache holds no prefix */
    size_t      prefix_len;  /* tokens */
    int32_t    *ids;
    size_t      cap;
} judge_scratch;

wd_status wd__judge_render(const char *tmpl, wd_catmask cats, const char *text, size_t len,
                           wd_role role, char **out) {
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

static wd_status render(const judge *j, const char *text, size_t len, wd_role role, char **out) {
    return wd__judge_render(j->tmpl, j->cats, text, len, role, out);
}

/* Tokenizes s[0..len) without added special tokens (the prompt writes its
 * own) into the growable *ids (*cap entries); *n = the count. */
static wd_status encode_tok(const wd_tokenizer *tok, const char *s, size_t len, int32_t **ids,
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

static wd_status encode(const judge *j, const char *s, size_t len, int32_t **ids, size_t *cap,
                        size_t *n) {
    return encode_tok(j->tok, s, len, ids, cap, n);
}

/* The cacheable prefix for role: the prompt up to the last newline before
 * the text, kept only if tokenizing it apart changes nothing. */
static char *find_prefix(const judge *j, wd_role role) {
    char *full = NULL, *probe = NULL;
    if (render(j, MARK, strlen(MARK), role, &full)) return NULL;
    char *at = strstr(full, MARK);
    char *nl = NULL;
    for (char *p = full; at && p < at; p++)
        if (*p == '\n') nl = p;
    char *prefix = NULL;
    if (nl) {
        size_t pl = (size_t)(nl - full) + 1;
        const char *sample = "Check this sample text: does it split well?";
        if (!render(j, sample, strlen(sample), role, &probe) && !strncmp(probe, full, pl)) {
            int32_t *a = NULL, *b = NULL;
            size_t ca = 0, cb = 0, na = 0, nb = 0, nr = 0;
            if (!encode(j, probe, strlen(probe), &a, &ca, &na) &&
                !encode(j, probe, pl, &b, &cb, &nb) && nb <= na) {
                int32_t *r = NULL;
                size_t cr = 0;
                if (!encode(j, probe + pl, strlen(probe + pl), &r, &cr, &nr) && nb + nr == na &&
                    !memcmp(a, b, nb * sizeof *a) && !memcmp(a + nb, r, nr * sizeof *a))
                    prefix = strndup(full, pl);
                free(r);
            }
            free(a);
            free(b);
        }
    }
    free(probe);
    free(full);
    return prefix;
}

wd_status wd__judge_unsafe_ids(const wd_tokenizer *tok, size_t V, int32_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    int32_t *ids = malloc((V + 1) * sizeof *ids);
    if (!ids) return WD_ERR_NOMEM;
    size_t n = 0;
    wd_decode_params dp = wd_decode_params_default();
    for (int32_t id = 0; (size_t)id < V && (size_t)id < wd_tokenizer_vocab_size(tok); id++) {
        char *s = NULL;
        if (wd_tokenizer_decode(tok, &id, 1, &dp, &s, NULL)) continue;
        const char *p = s;
        while (*p == ' ') p++;
        if (!strncmp(p, "unsafe", 6)) ids[n++] = id;
        free(s);
    }
    int32_t first[8];
    size_t nf = 0;
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_status est = wd_tokenizer_encode_ids(tok, "unsafe", 6, &ep, first, 8, &nf);
    if ((est == WD_OK || est == WD_ERR_RANGE) && nf > 0 && (size_t)first[0] < V) {
        bool have = false;
        for (size_t i = 0; i < n; i++) have |= ids[i] == first[0];
        if (!have) ids[n++] = first[0];
    }
    *out = ids;
    *n_out = n;
    return WD_OK;
}

double wd__judge_p_unsafe(const float *lg, size_t V, const int32_t *ids, size_t n, int32_t *best) {
    float mx = lg[0];
    for (size_t v = 1; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
    double z = 0.0, pu = 0.0, pbest = -1.0;
    for (size_t v = 0; v < V; v++) z += exp((double)lg[v] - mx);
    for (size_t i = 0; i < n; i++) {
        double p = exp((double)lg[ids[i]] - mx) / z;
        pu += p;
        if (p > pbest) {
            pbest = p;
            if (best) *best = ids[i];
        }
    }
    return pu > 1.0 ? 1.0 : pu;
}

/* Tokenizes s[0..len) into a new array (never NULL on success). */
static wd_status encode_new(const wd_tokenizer *tok, const char *s, size_t len, int32_t **out,
                            size_t *n) {
    size_t cap = 1;
    if (!(*out = malloc(sizeof **out))) return WD_ERR_NOMEM;
    wd_status st = encode_tok(tok, s, len, out, &cap, n);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

wd_status wd__judge_parts(const wd_tokenizer *tok, const char *tmpl, wd_catmask cats, wd_role role,
                          int32_t **head, size_t *n_head, int32_t **tail, size_t *n_tail) {
    *head = *tail = NULL;
    *n_head = *n_tail = 0;
    char *full = NULL;
    wd_status st = wd__judge_render(tmpl, cats, MARK, strlen(MARK), role, &full);
    if (st) return st;
    char *at = strstr(full, MARK);
    if (!at) {
        free(full);
        return wd__fail(WD_ERR_FORMAT, "llm_judge: the template does not place the text");
    }
    if (!(st = encode_new(tok, full, (size_t)(at - full), head, n_head))) {
        const char *rest = at + strlen(MARK);
        if ((st = encode_new(tok, rest, strlen(rest), tail, n_tail))) {
            free(*head);
            *head = NULL;
            *n_head = 0;
        }
    }
    free(full);
    return st;
}

static void judge_free(void *impl) {
    judge *j = impl;
    if (!j) return;
    wd_model_free(j->m);
    free(j->tmpl);
    free(j->unsafe_ids);
    free(j->prefix[0]);
    free(j->prefix[1]);
    free(j);
}

static wd_status add_cat(const wd__pnode *it, void *user) {
    wd_catmask *m = user;
    wd_category c;
    if (wd_category_parse(it->str, &c) || c > WD_CATEGORY_S14) return WD_ERR_FORMAT;
    *m |= WD_CATMASK(c);
    return WD_OK;
}

static wd_status judge_init(const wd__pnode *cfg, const wd_scanner_env *env, void **impl,
                            wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "model",
                                       "template", "categories", "max_tokens", "generate_above",
                                       "threads", "n_ctx", NULL};
    wd_status st = wd__pn_check_keys(cfg, keys, "an llm_judge scanner", err);
    if (st) return st;
    judge *j = calloc(1, sizeof *j);
    if (!j) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    j->max_tokens = 16;
    j->gen_above = 0.5;
    j->n_ctx = 4096;
    long threads = 0;
    const char *model = NULL, *tmpl = NULL;
    char *path = NULL;
    if ((st = wd__pn_string(cfg, "model", &model, err))) goto fail;
    if (!model) {
        st = wd__pn_error(cfg, err, WD_ERR_FORMAT, "model", "missing (a model folder)");
        goto fail;
    }
    if ((st = wd__pn_string(cfg, "template", &tmpl, err)) ||
        (st = wd__pn_int(cfg, "max_tokens", 1, 256, &j->max_tokens, err)) ||
        (st = wd__pn_int(cfg, "threads", 0, 1024, &threads, err)) ||
        (st = wd__pn_int(cfg, "n_ctx", 64, 1 << 20, &j->n_ctx, err)) ||
        (st = wd__pn_number(cfg, "generate_above", 0, 1, &j->gen_above, err)))
        goto fail;
    if (wd__pn_get(cfg, "categories") &&
        wd__pn_each_string(cfg, "categories", add_cat, &j->cats, err)) {
        st = wd__pn_error(wd__pn_get(cfg, "categories"), err, WD_ERR_FORMAT, "categories",
                          "expected hazard codes S1..S14");
        goto fail;
    }
    if (tmpl && strcmp(tmpl, "llama-guard-3")) {
        char *tp = tmpl[0] == '/' ? strdup(tmpl) : wd__path_join(env->policy_dir, tmpl);
        size_t len = 0;
        st = tp ? wd__file_read(tp, 1 << 20, &j->tmpl, &len) : WD_ERR_NOMEM;
        free(tp);
        if (st) {
            st = wd__pn_error(wd__pn_get(cfg, "template"), err, st, "template", "%s",
                              wd_last_error());
            goto fail;
        }
        if (!strstr(j->tmpl, "{text}")) {
            st = wd__pn_error(wd__pn_get(cfg, "template"), err, WD_ERR_FORMAT, "template",
                              "%s has no {text} placeholder", tmpl);
            goto fail;
        }
    }
    path = model[0] == '/' ? strdup(model) : wd__path_join(env->policy_dir, model);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = (int)threads;
    if (!path || (st = wd_model_load(path, &mp, &j->m))) {
        st = wd__pn_error(wd__pn_get(cfg, "model"), err, st ? st : WD_ERR_NOMEM, "model", "%s",
                          wd_last_error());
        goto fail;
    }
    if (wd_model_config_family(wd_model_get_config(j->m)) != WD_MODEL_FAMILY_DECODER ||
        !(j->tok = wd_model_tokenizer(j->m))) {
        st = wd__pn_error(wd__pn_get(cfg, "model"), err, WD_ERR_UNSUPPORTED, "model",
                          "%s: an llm_judge needs a decoder with tokenizer.json", path);
        goto fail;
    }
    /* the "unsafe" tokens */
    size_t V = wd_model_n_vocab(j->m);
    if ((st = wd__judge_unsafe_ids(j->tok, V, &j->unsafe_ids, &j->n_unsafe))) {
        st = wd__err_set(err, st, "out of memory");
        goto fail;
    }
    if (!j->n_unsafe) {
        st = wd__pn_error(wd__pn_get(cfg, "model"), err, WD_ERR_UNSUPPORTED, "model",
                          "%s: the tokenizer cannot write 'unsafe'", path);
        goto fail;
    }
    j->prefix[WD_ROLE_INPUT] = find_prefix(j, WD_ROLE_INPUT);
    j->prefix[WD_ROLE_OUTPUT] = find_prefix(j, WD_ROLE_OUTPUT);
    free(path);
    *impl = j;
    return WD_OK;
fail:
    free(path);
    judge_free(j);
    return st;
}

static void *judge_scratch_new(const void *impl) {
    const judge *j = impl;
    judge_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    wd_context_params cp = wd_context_params_default();
    size_t max = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(j->m));
    cp.n_ctx = (size_t)j->n_ctx < max ? (size_t)j->n_ctx : max;
    if (wd_context_new(j->m, &cp, &s->ctx)) {
        free(s);
        return NULL;
    }
    s->cached_role = -1;
    return s;
}

static void judge_scratch_free(void *scratch) {
    judge_scratch *s = scratch;
    if (!s) return;
    wd_context_free(s->ctx);
    free(s->ids);
    free(s);
}

/* Cuts len back to a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t len) {
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
    return len;
}

static wd_status judge_scan(const void *impl, void *scratch, const wd_scan_input *in,
                            wd_scan_result *res, wd__err *err) {
    const judge *j = impl;
    judge_scratch *s = scratch;
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "llm_judge: no work space (out of memory)");
    wd_role role = in->role == WD_ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    const char *pre = j->prefix[role];
    size_t pre_len = pre ? strlen(pre) : 0, n_ctx = wd_context_n_ctx(s->ctx);
    size_t text_len = in->orig_len, n_rest = 0;
    char *prompt = NULL;
    wd_status st;
    for (int tries = 0;; tries++) {
        free(prompt);
        prompt = NULL;
        if ((st = render(j, in->orig, text_len, role, &prompt)))
            return wd__err_set(err, st, "llm_judge: rendering the prompt: %s", wd_last_error());
        size_t n = 0;
        if ((st = encode(j, prompt, strlen(prompt), &s->ids, &s->cap, &n))) {
            free(prompt);
            return wd__err_set(err, st, "llm_judge: tokenizing: %s", wd_last_error());
        }
        if (n + (size_t)j->max_tokens + 1 <= n_ctx) break;
        if (tries == 6 || text_len == 0) {
            free(prompt);
            return wd__err_set(err, WD_ERR_RANGE, "llm_judge: the prompt does not fit in %zu tokens",
                               n_ctx);
        }
        double keep = (double)(n_ctx - (size_t)j->max_tokens - 1) / (double)n * 0.9;
        size_t nl = (size_t)((double)text_len * (keep < 0.9 ? keep : 0.9));
        text_len = utf8_cut(in->orig, nl < text_len ? nl : text_len - 1);
    }
    /* reuse the cached prefix when the prompt starts with it */
    bool cache = pre && !strncmp(prompt, pre, pre_len);
    if (cache && s->cached_role == (int)role) {
        st = wd_context_truncate(s->ctx, s->prefix_len);
    } else {
        st = wd_context_truncate(s->ctx, 0);
        s->cached_role = -1;
        if (cache && !st) {
            size_t np = 0;
            if (!(st = encode(j, pre, pre_len, &s->ids, &s->cap, &np)) &&
                !(st = wd_model_decode(s->ctx, s->ids, np, NULL, WD_LOGITS_MODE_NONE))) {
                s->cached_role = (int)role;
                s->prefix_len = np;
            }
        }
    }
    if (!st) {
        const char *rest = cache ? prompt + pre_len : prompt;
        st = encode(j, rest, strlen(rest), &s->ids, &s->cap, &n_rest);
        if (!st) st = wd_model_decode(s->ctx, s->ids, n_rest, NULL, WD_LOGITS_MODE_NONE);
    }
    free(prompt);
    if (st) return wd__err_set(err, st, "llm_judge: %s", wd_model_last_error(j->m));
    /* p(unsafe) from the logits after the prompt */
    const float *lg = wd_context_logits(s->ctx);
    size_t V = wd_model_n_vocab(j->m);
    int32_t best_id = j->unsafe_ids[0];
    double pu = wd__judge_p_unsafe(lg, V, j->unsafe_ids, j->n_unsafe, &best_id);
    float score = (float)(pu > 1.0 ? 1.0 : pu);
    wd_catmask listed = j->cats ? j->cats : WD_CATMASK_HAZARDS;
    wd_catmask found = 0;
    if (pu >= j->gen_above) {
        /* the category line: "unsafe\nS1,S9" */
        int32_t tok = best_id, gen[256];
        size_t ng = 0;
        const wd_model_config *c = wd_model_get_config(j->m);
        while (ng < (size_t)j->max_tokens && wd_context_n_past(s->ctx) < n_ctx) {
            gen[ng++] = tok;
            bool eos = false;
            for (size_t e = 0; e < wd_model_config_n_eos_token_ids(c); e++)
                eos |= wd_model_config_eos_token_id(c, e) == tok;
            if (eos || wd_model_decode(s->ctx, &tok, 1, NULL, WD_LOGITS_MODE_NONE)) break;
            const float *l2 = wd_context_logits(s->ctx);
            int32_t a = 0;
            for (size_t v = 1; v < V; v++)
                if (l2[v] > l2[a]) a = (int32_t)v;
            tok = a;
        }
        char *text = NULL;
        wd_decode_params dp = wd_decode_params_default();
        dp.skip_special_tokens = true;
        if (!wd_tokenizer_decode(j->tok, gen, ng, &dp, &text, NULL) && text) {
            const char *p = strstr(text, "unsafe");
            p = p ? p + 6 : text;
            for (; *p; p++) {
                if ((*p == 'S' || *p == 's') && isdigit((unsigned char)p[1])) {
                    int k = atoi(p + 1);
                    if (k >= 1 && k <= 14) found |= WD_CATMASK(WD_CATEGORY_S1 + k - 1);
                }
            }
        }
        free(text);
        /* the cache now holds generated tokens past the prefix: truncation
         * at the next scan puts it back */
    }
    wd_catmask to = found ? found : listed;
    for (int cat = 0; cat <= WD_CATEGORY_S14; cat++)
        if (to & WD_CATMASK(cat)) {
            if (found && score >= 0.5f)
                wd__scan_hit(res, (wd_category)cat, score, 0, in->orig_len, "llm_judge", NULL);
            else
                wd__scan_score(res, (wd_category)cat, score);
        }
    return WD_OK;
}

const wd_scanner_vt wd__scanner_llm_judge = {
    .type = "llm_judge",
    .init = judge_init,
    .free = judge_free,
    .scratch_new = judge_scratch_new,
    .scratch_free = judge_scratch_free,
    .scan = judge_scan,
    .scan_batch = NULL,
};
