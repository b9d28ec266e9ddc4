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
 *     format: auto                     # the guard format (warden/guard_format.h): auto
 *                                      # (from the checkpoint), llama-guard-3, llama-guard-4,
 *                                      # shieldgemma, granite-guardian, qwen3guard, wildguard
 *     policies: [hate, dangerous]      # shieldgemma / granite-guardian: the policies asked
 *     explain_verdict: false           # write the judge's rationale into the verdict
 *     explain_max_tokens: 128          # its length bound
 *
 * Formats other than llama-guard-3 are asked and read by guard/
 * format_judge.c; what follows is the Llama Guard 3 path (guard/judge.h).
 * The format comes from the node's `format:`, else the guard's
 * (wd_guard_params.guard_format, the CLI's --guard-format), else the
 * checkpoint (wd_guard_format_detect); a `template:` file means Llama
 * Guard 3's reading with that prompt.
 *
 * The judge itself (model, prompt, "unsafe" tokens, p(unsafe)) is the one
 * object guard/judge.h describes, shared with erase-and-check.
 *
 * Score: p(unsafe) = the softmax mass, at the position after the prompt, of
 * every vocabulary token whose text (leading spaces dropped) starts with
 * "unsafe", plus the first token of "unsafe" when the tokenizer splits the
 * word. When p(unsafe) >= generate_above, the most likely of those tokens is
 * fed back and the judge generates greedily up to max_tokens; the S-codes
 * after "unsafe" ("S1,S9") name the categories, each scored p(unsafe) times
 * the probability of the tokens that wrote its code (guard/format_judge.h,
 * wd__fjudge_cat_scores). A judge that says unsafe without a code scores
 * every category the prompt listed p(unsafe).
 *
 * Rationale (explain_verdict): after the answer (generated whatever
 * p(unsafe)), Llama Guard 3's follow-up turn asks why, and up to
 * explain_max_tokens tokens are the verdict's "rationale".
 *
 * Prefix sharing: each scratch keeps the token ids of the last prompt whose
 * keys and values its KV cache holds. A new prompt is tokenized whole (so
 * any tokenizer, with or without a SentencePiece dummy prefix, gives the
 * ids a plain run would), the cache is truncated to the longest run of
 * tokens the two share (wd_context_truncate) and only the rest is
 * computed: for the Llama Guard prompt the task line and the category list,
 * a few hundred tokens that depend only on the role, and often the turns
 * before the text.
 *
 * Roles: WD_ROLE_INPUT is judged as the 'User' message; WD_ROLE_OUTPUT as the
 * 'Agent' reply to an empty user turn.
 *
 * Conversation context (wd_check_params.context): the prompt holds the
 * turns before the text, then the text as the last turn (guard/
 * conversation.h: system messages dropped, tool results on the Agent's
 * side, same-side turns merged). A prompt too long for
 * n_ctx loses its oldest turns first (half of those left at each try),
 * then the end of the text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "guard/format_judge.h"
#include "guard/formats/format.h"
#include "guard/judge.h"
#include "guard/scanner.h"
#include "guard/scanners/llm_judge.h"
#include "warden/model.h"
#include "warden/tokenizer.h"

typedef struct judge {
    wd__judge  *j;  /* Llama Guard 3 (or a template), else NULL */
    wd__fjudge *fj; /* another format, else NULL               */
    bool        explain;
    long        explain_max;
    long       max_tokens, n_ctx;
    double     gen_above;
} judge;

typedef struct judge_scratch {
    wd_context *ctx;
    int32_t    *kv;        /* the prompt whose keys and values the cache holds */
    size_t      n_kv, cap_kv;
    int32_t    *ids;
    size_t      cap;
    float      *gp;        /* the generated tokens' probabilities */
    char       *rationale; /* the last scan's, or NULL            */
    void       *fs;        /* format_judge's scratch (fj)         */
    wd_taps     taps;      /* resid: (L+1, C), made at the first want_feature */
} judge_scratch;

static wd_status encode(const judge *j, const char *s, size_t len, int32_t **ids, size_t *cap,
                        size_t *n) {
    return wd__judge_encode(j->j, s, len, ids, cap, n);
}

static void judge_free(void *impl) {
    judge *j = impl;
    if (!j) return;
    wd__judge_free(j->j);
    wd__fjudge_free(j->fj);
    free(j);
}

wd__llm_judge_params wd__llm_judge_params_default(void) {
    return (wd__llm_judge_params){.template_text = NULL, .categories = 0, .max_tokens = 16,
                                  .generate_above = 0.5, .n_ctx = 4096, .format = WD_GUARD_FORMAT_AUTO,
                                  .explain = false, .explain_max_tokens = 128};
}

wd_status wd__llm_judge_new(const wd__llm_judge_params *p, wd_model *m, const char *where, void **impl) {
    *impl = NULL;
    if (wd_model_config_family(wd_model_get_config(m)) != WD_MODEL_FAMILY_DECODER || !wd_model_tokenizer(m))
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: an llm_judge needs a decoder with tokenizer.json", where);
    judge *j = calloc(1, sizeof *j);
    if (!j) return wd__fail(WD_ERR_NOMEM, "out of memory");
    j->max_tokens = p->max_tokens;
    j->gen_above = p->generate_above;
    j->n_ctx = p->n_ctx;
    j->explain = p->explain;
    j->explain_max = p->explain_max_tokens;
    wd_guard_format f = p->format;
    if (f == WD_GUARD_FORMAT_AUTO && !p->template_text) {
        const wd_model_config *c = wd_model_get_config(m);
        f = wd_guard_format_detect(wd_tokenizer_chat_template(wd_model_tokenizer(m)),
                                   wd_model_config_architecture(c), NULL, 0);
    }
    if (f != WD_GUARD_FORMAT_AUTO && f != WD_GUARD_FORMAT_LLAMA_GUARD_3 && !p->template_text) {
        wd__fjudge_params fp = {.format = f, .n_policies = p->n_policies, .max_tokens = p->max_tokens,
                                .generate_above = p->generate_above, .n_ctx = p->n_ctx, .explain = p->explain,
                                .explain_max_tokens = p->explain_max_tokens};
        for (size_t i = 0; i < p->n_policies && i < 8; i++) fp.policies[i] = p->policies[i];
        wd__err e = {0};
        wd_status st = wd__fjudge_new(&fp, m, where, &j->fj, &e);
        if (st) {
            free(j);
            return wd__fail(st, "%s", e.msg); /* e is not the thread's slot: no overlap */
        }
        *impl = j;
        return WD_OK;
    }
    wd_status st = wd__judge_new(m, p->template_text, p->categories, &j->j);
    if (st) {
        free(j);
        return st == WD_ERR_UNSUPPORTED ? wd__err_prefix(st, "%s", where) : st;
    }
    *impl = j;
    return WD_OK;
}

static wd_status add_cat(const wd__pnode *it, void *user) {
    wd_catmask *m = user;
    wd_category c;
    if (wd_category_parse(it->str, &c) || c > WD_CATEGORY_S14) return WD_ERR_FORMAT;
    *m |= WD_CATMASK(c);
    return WD_OK;
}

typedef struct pol_ctx {
    wd__llm_judge_params *p;
} pol_ctx;

static wd_status add_policy(const wd__pnode *it, void *user) {
    wd__llm_judge_params *p = user;
    if (p->n_policies == 8) return WD_ERR_RANGE;
    p->policies[p->n_policies++] = it->str;
    return WD_OK;
}

static wd_status judge_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl,
                            wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "model",
                                       "template", "categories", "max_tokens", "generate_above",
                                       "threads", "n_ctx", "format", "policies", "explain_verdict",
                                       "explain_max_tokens", NULL};
    wd_status st = wd__pn_check_keys(cfg, keys, "an llm_judge scanner", err);
    if (st) return st;
    wd__llm_judge_params p = wd__llm_judge_params_default();
    long threads = 0;
    const char *model = NULL, *tmpl = NULL;
    char *path = NULL, *tmpl_text = NULL;
    wd_model *m = NULL;
    if ((st = wd__pn_string(cfg, "model", &model, err))) goto done;
    if (!model) {
        st = wd__pn_error(cfg, err, WD_ERR_FORMAT, "model", "missing (a model folder)");
        goto done;
    }
    const char *fmt = NULL;
    p.format = (wd_guard_format)env->format;
    p.explain = env->explain;
    p.explain_max_tokens = env->explain_max_tokens > 0 ? env->explain_max_tokens : p.explain_max_tokens;
    if ((st = wd__pn_string(cfg, "format", &fmt, err)) || (st = wd__pn_bool(cfg, "explain_verdict", &p.explain, err)) ||
        (st = wd__pn_int(cfg, "explain_max_tokens", 1, 4096, &p.explain_max_tokens, err)))
        goto done;
    if (fmt && wd_guard_format_parse(fmt, &p.format)) {
        st = wd__pn_error(wd__pn_get(cfg, "format"), err, WD_ERR_FORMAT, "format", "%s", wd_last_error());
        goto done;
    }
    if (fmt && p.format != WD_GUARD_FORMAT_AUTO && !wd_guard_format_generative(p.format)) {
        st = wd__pn_error(wd__pn_get(cfg, "format"), err, WD_ERR_FORMAT, "format",
                          "%s is an encoder classifier's format (use type: encoder_classifier)", fmt);
        goto done;
    }
    if (wd__pn_get(cfg, "policies") && wd__pn_each_string(cfg, "policies", add_policy, &p, err)) {
        st = wd__pn_error(wd__pn_get(cfg, "policies"), err, WD_ERR_FORMAT, "policies",
                          "expected a list of at most 8 policy names");
        goto done;
    }
    if ((st = wd__pn_string(cfg, "template", &tmpl, err)) ||
        (st = wd__pn_int(cfg, "max_tokens", 1, 256, &p.max_tokens, err)) ||
        (st = wd__pn_int(cfg, "threads", 0, 1024, &threads, err)) ||
        (st = wd__pn_int(cfg, "n_ctx", 64, 1 << 20, &p.n_ctx, err)) ||
        (st = wd__pn_number(cfg, "generate_above", 0, 1, &p.generate_above, err)))
        goto done;
    if (wd__pn_get(cfg, "categories") &&
        wd__pn_each_string(cfg, "categories", add_cat, &p.categories, err)) {
        st = wd__pn_error(wd__pn_get(cfg, "categories"), err, WD_ERR_FORMAT, "categories",
                          "expected hazard codes S1..S14");
        goto done;
    }
    if (tmpl && strcmp(tmpl, "llama-guard-3")) {
        char *tp = tmpl[0] == '/' ? strdup(tmpl) : wd__path_join(env->policy_dir, tmpl);
        size_t len = 0;
        st = tp ? wd__file_read(tp, 1 << 20, &tmpl_text, &len) : WD_ERR_NOMEM;
        free(tp);
        if (st) {
            st = wd__pn_error(wd__pn_get(cfg, "template"), err, st, "template", "%s",
                              wd_last_error());
            goto done;
        }
        if (!strstr(tmpl_text, "{text}")) {
            st = wd__pn_error(wd__pn_get(cfg, "template"), err, WD_ERR_FORMAT, "template",
                              "%s has no {text} placeholder", tmpl);
            goto done;
        }
        p.template_text = tmpl_text;
    }
    path = model[0] == '/' ? strdup(model) : wd__path_join(env->policy_dir, model);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = (int)threads;
    if (!path || (st = wd_model_load(path, &mp, &m))) {
        st = wd__pn_error(wd__pn_get(cfg, "model"), err, st ? st : WD_ERR_NOMEM, "model", "%s",
                          wd_last_error());
        goto done;
    }
    if ((st = wd__llm_judge_new(&p, m, path, impl))) {
        const char *field = st == WD_ERR_INVALID_ARG && wd__pn_get(cfg, "policies") ? "policies" : "model";
        st = st == WD_ERR_NOMEM ? wd__err_set(err, st, "out of memory")
                                : wd__pn_error(wd__pn_get(cfg, field), err, st, field, "%s", wd_last_error());
        wd_model_free(m);
    }
done:
    free(path);
    free(tmpl_text);
    return st;
}

static void *judge_scratch_new(const void *impl) {
    const judge *j = impl;
    judge_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (j->fj) {
        if (!(s->fs = wd__fjudge_scratch_new(j->fj))) {
            free(s);
            return NULL;
        }
        return s;
    }
    if (!(s->gp = malloc(((size_t)j->max_tokens + 1) * sizeof *s->gp))) {
        free(s);
        return NULL;
    }
    wd_context_params cp = wd_context_params_default();
    size_t max = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(j->j->m));
    cp.n_ctx = (size_t)j->n_ctx < max ? (size_t)j->n_ctx : max;
    if (wd_context_new(j->j->m, &cp, &s->ctx)) {
        free(s->gp);
        free(s);
        return NULL;
    }
    return s;
}

static void judge_scratch_free(void *scratch) {
    judge_scratch *s = scratch;
    if (!s) return;
    wd_context_free(s->ctx);
    wd__fjudge_scratch_free(s->fs);
    free(s->ids);
    free(s->kv);
    free(s->gp);
    free(s->rationale);
    free(s->taps.resid);
    free(s);
}

/* Cuts len back to a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t len) {
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
    return len;
}

static bool judge_gives_feature(const void *impl) { return !((const judge *)impl)->fj; }

static wd_status judge_scan(const void *impl, void *scratch, const wd__scan_input *in,
                            wd__scan_result *res, wd__err *err) {
    const judge *j = impl;
    judge_scratch *s = scratch;
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "llm_judge: no work space (out of memory)");
    if (j->fj) return wd__fjudge_scan(j->fj, s->fs, in, res, err);
    free(s->rationale);
    s->rationale = NULL;
    wd_role role = in->role == WD_ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    size_t n_ctx = wd_context_n_ctx(s->ctx), n = 0;
    size_t text_len = in->orig_len, from = 0; /* from: the first context message kept */
    char *prompt = NULL;
    wd_status st;
    for (int tries = 0;;) {
        free(prompt);
        prompt = NULL;
        if ((st = wd__judge_render_conv(j->j, in->context, from, in->n_context, in->orig, text_len, role,
                                        &prompt)))
            return wd__err_set(err, st, "llm_judge: rendering the prompt: %s", wd_last_error());
        if ((st = encode(j, prompt, strlen(prompt), &s->ids, &s->cap, &n))) {
            free(prompt);
            return wd__err_set(err, st, "llm_judge: tokenizing: %s", wd_last_error());
        }
        if (n + (size_t)j->max_tokens + 1 <= n_ctx) break;
        if (from < in->n_context && !j->j->tmpl) { /* the oldest turns go first */
            from += (in->n_context - from + 1) / 2;
            continue;
        }
        if (tries++ == 6 || text_len == 0) {
            free(prompt);
            return wd__err_set(err, WD_ERR_RANGE, "llm_judge: the prompt does not fit in %zu tokens",
                               n_ctx);
        }
        double keep = (double)(n_ctx - (size_t)j->max_tokens - 1) / (double)n * 0.9;
        size_t nl = (size_t)((double)text_len * (keep < 0.9 ? keep : 0.9));
        text_len = utf8_cut(in->orig, nl < text_len ? nl : text_len - 1);
    }
    /* reuse the cache: the keys and values of the longest run of tokens this
     * prompt shares with the last one stay (the task line and category
     * list, often the earlier turns), only the rest is computed; at least
     * the last token is, for its logits */
    size_t keep = 0;
    while (keep < s->n_kv && keep + 1 < n && s->kv[keep] == s->ids[keep]) keep++;
    st = wd_context_truncate(s->ctx, keep);
    if (!st && n > s->cap_kv) {
        int32_t *b = realloc(s->kv, n * sizeof *b);
        if (!b) st = WD_ERR_NOMEM;
        else s->kv = b, s->cap_kv = n;
    }
    s->n_kv = 0; /* until the decode below succeeds */
    /* the feature (in->want_feature): the residual stream after the last
     * layer at the prompt's last token, where the verdict is read (the
     * final norm is not applied: the router standardises its input) */
    size_t C = wd_model_n_embd(j->j->m), L = wd_model_n_layer(j->j->m);
    if (!st && in->want_feature && !s->taps.resid && !(s->taps.resid = malloc((L + 1) * C * sizeof(float))))
        st = WD_ERR_NOMEM;
    if (!st) {
        if (in->want_feature) wd_context_set_taps(s->ctx, &s->taps);
        st = wd_model_decode(s->ctx, s->ids + keep, n - keep, NULL, WD_LOGITS_MODE_NONE);
        wd_context_set_taps(s->ctx, NULL);
        if (!st) {
            memcpy(s->kv, s->ids, n * sizeof *s->kv);
            s->n_kv = n;
        }
        if (!st && in->want_feature) {
            res->feature = s->taps.resid + L * C;
            res->n_feature = C;
        }
    }
    free(prompt);
    if (st) return wd__err_set(err, st, "llm_judge: %s", wd_model_last_error(j->j->m));
    /* p(unsafe) from the logits after the prompt */
    const float *lg = wd_context_logits(s->ctx);
    size_t V = j->j->n_vocab;
    int32_t best_id = j->j->unsafe[0];
    double pu = wd__judge_p_unsafe(j->j, lg, &best_id);
    float score = (float)(pu > 1.0 ? 1.0 : pu);
    wd_catmask listed = j->j->cats ? j->j->cats : WD_CATMASK_HAZARDS;
    wd_catmask found = 0;
    float cat_score[WD_CATEGORY_COUNT] = {0};
    if (pu >= j->gen_above || j->explain) {
        /* the answer: "unsafe\nS1,S9" fed from the likelier verdict token
         * (the generator keeps the cache: truncation at the next scan
         * puts it back) */
        int32_t first = best_id;
        if (pu < 0.5) { /* the verdict is safe: its likeliest token */
            first = 0;
            for (size_t v = 1; v < V; v++)
                if (lg[v] > lg[first]) first = (int32_t)v;
        }
        int32_t gen[256];
        size_t ng = wd__fjudge_generate(s->ctx, j->j->m, first, 1.0f, gen, s->gp, (size_t)j->max_tokens);
        if (pu >= j->gen_above)
            found = wd__fjudge_cat_scores(j->j->tok, WD_GUARD_FORMAT_LLAMA_GUARD_3, role, gen, s->gp, ng, score,
                                          cat_score);
        if (j->explain &&
            (st = wd__fjudge_explain(s->ctx, j->j->m, wd__gf_llama_guard3.explain_turn, (size_t)j->explain_max,
                                     &s->rationale)))
            return wd__err_set(err, st, "llm_judge: writing the rationale: %s", wd_model_last_error(j->j->m));
        res->rationale = s->rationale;
    }
    wd_catmask to = found ? found : listed;
    for (int cat = 0; cat <= WD_CATEGORY_S14; cat++)
        if (to & WD_CATMASK(cat)) {
            float sc = found ? cat_score[cat] : score;
            if (found && sc >= 0.5f)
                wd__scan_hit(res, (wd_category)cat, sc, 0, in->orig_len, "llm_judge", NULL);
            else
                wd__scan_score(res, (wd_category)cat, sc);
        }
    return WD_OK;
}

const wd__scanner_vt wd__scanner_llm_judge = {
    .type = "llm_judge",
    .init = judge_init,
    .free = judge_free,
    .scratch_new = judge_scratch_new,
    .scratch_free = judge_scratch_free,
    .scan = judge_scan,
    .scan_batch = NULL,
    .gives_feature = judge_gives_feature,
};
