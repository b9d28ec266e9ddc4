/*
 * guard/scanners/encoder_classifier.c - the `encoder_classifier` scanner: any
 * bert/roberta/xlm-roberta/distilbert/deberta-v2 *ForSequenceClassification
 * checkpoint (Prompt Guard, toxicity and injection classifiers) as a guard.
 *
 * Policy node:
 *   - type: encoder_classifier
 *     model: models/prompt-guard        # config.json + weights + tokenizer.json
 *     labels: {INJECTION: prompt_injection, JAILBREAK: prompt_injection,
 *              toxic: S10, BENIGN: ignore}   # optional, overrides the rules below
 *     unsafe_categories: [S1, S2]      # what a generic "unsafe" label scores
 *                                       # (default: all 14 hazards)
 *     threads: 0
 *     max_tokens: 512                   # longer texts are cut (head kept)
 *     format: auto                      # prompt-guard or seq-classifier (warden/
 *                                       # guard_format.h); auto: prompt-guard when a
 *                                       # label is INJECTION, JAILBREAK or MALICIOUS
 *
 * Each class probability goes to the categories its label names, by these
 * rules in order (labels compared case-insensitively):
 *   1. the policy's `labels` map (a category id/key/name, a list of them,
 *      or "ignore");
 *   1b. format prompt-guard: INJECTION, JAILBREAK, MALICIOUS and a two-label
 *      head's LABEL_1 (Prompt Guard 2) -> prompt_injection; BENIGN, LABEL_0
 *      -> nothing (wd_guard_format_label);
 *   2. a canonical category ("S10", "hate", "pii", "prompt_injection", ...);
 *   3. a label containing "injection" or "jailbreak" -> prompt_injection;
 *      "self-harm"/"self_harm" -> S11; "sexual"/"nsfw" -> S12; "hateful" -> S10;
 *      "profanity"/"obscene"/"insult" -> profanity;
 *   4. "unsafe", "harmful", "toxic", "toxicity", "malicious", "offensive"
 *      -> unsafe_categories;
 *   5. anything else ("safe", "benign", "LABEL_0", ...) scores nothing --
 *      except that a two-class head whose labels matched none of the rules
 *      (LABEL_0 / LABEL_1) takes class 1 as unsafe.
 * The score of a category is the largest probability mapped to it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/file.h"
#include "guard/scanner.h"
#include "guard/scanners/encoder_classifier.h"
#include "warden/model.h"
#include "warden/tokenizer.h"

typedef struct enc_judge {
    wd_model   *m;
    size_t      n_labels;
    wd_catmask *map;      /* (n_labels) categories each class scores */
    long        max_tokens;
} enc_judge;

typedef struct enc_scratch {
    wd_context *ctx;
    float      *probs;
    int32_t    *ids;
    size_t      cap;
} enc_scratch;

static bool has(const char *label, const char *word) {
    size_t lw = strlen(word);
    for (const char *p = label; *p; p++)
        if (!strncasecmp(p, word, lw)) return true;
    return false;
}

/* Rules 2-4 for one label; 0 when none applies. */
static wd_catmask label_rule(const char *label, wd_catmask unsafe) {
    wd_category c;
    if (!wd_category_parse(label, &c)) return WD_CATMASK(c);
    if (has(label, "injection") || has(label, "jailbreak")) return WD_CATMASK(WD_CATEGORY_PROMPT_INJECTION);
    if (has(label, "self-harm") || has(label, "self_harm")) return WD_CATMASK(WD_CATEGORY_S11);
    if (has(label, "sexual") || has(label, "nsfw")) return WD_CATMASK(WD_CATEGORY_S12);
    if (has(label, "hateful")) return WD_CATMASK(WD_CATEGORY_S10);
    if (has(label, "profanity") || has(label, "obscene") || has(label, "insult"))
        return WD_CATMASK(WD_CATEGORY_PROFANITY);
    static const char *generic[] = {"unsafe", "harmful", "toxic", "toxicity", "malicious",
                                    "offensive"};
    for (size_t i = 0; i < sizeof generic / sizeof *generic; i++)
        if (!strcasecmp(label, generic[i])) return unsafe;
    return 0;
}

static void enc_free(void *impl) {
    enc_judge *j = impl;
    if (!j) return;
    wd_model_free(j->m);
    free(j->map);
    free(j);
}

typedef struct mask_ctx {
    wd_catmask *mask;
    bool        ignore;
} mask_ctx;

static wd_status add_mask(const wd__pnode *it, void *user) {
    mask_ctx *mc = user;
    if (!strcasecmp(it->str, "ignore")) {
        mc->ignore = true;
        return WD_OK;
    }
    wd_category c;
    if (wd_category_parse(it->str, &c)) return WD_ERR_FORMAT;
    *mc->mask |= WD_CATMASK(c);
    return WD_OK;
}

wd__encoder_classifier_params wd__encoder_classifier_params_default(void) {
    return (wd__encoder_classifier_params){.labels = NULL, .unsafe = WD_CATMASK_HAZARDS, .max_tokens = 512,
                                           .format = WD_GUARD_FORMAT_AUTO};
}

wd_status wd__encoder_classifier_new(const wd__encoder_classifier_params *p, wd_model *m,
                                     const char *where, void **impl, wd__err *err) {
    *impl = NULL;
    if (!wd_model_n_labels(m) || !wd_model_tokenizer(m))
        return wd__err_set(err, WD_ERR_UNSUPPORTED,
                           "%s: an encoder_classifier needs a sequence-classification encoder "
                           "with tokenizer.json",
                           where);
    enc_judge *j = calloc(1, sizeof *j);
    if (!j) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    j->max_tokens = p->max_tokens;
    j->n_labels = wd_model_n_labels(m);
    j->map = calloc(j->n_labels, sizeof *j->map);
    if (!j->map) {
        enc_free(j);
        return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    }
    const wd__pnode *lm = p->labels;
    if (lm && lm->kind != WD_PN_MAP) {
        enc_free(j);
        return wd__pn_error(lm, err, WD_ERR_FORMAT, "labels", "expected a mapping label: category");
    }
    wd_guard_format fmt = p->format;
    if (fmt == WD_GUARD_FORMAT_AUTO) {
        const char *names[64];
        size_t nn = j->n_labels < 64 ? j->n_labels : 64;
        for (size_t i = 0; i < nn; i++) names[i] = wd_model_label(m, i);
        fmt = wd_guard_format_detect(NULL, wd_model_config_architecture(wd_model_get_config(m)), names, nn);
    }
    bool any = false, pg_any = false;
    for (size_t i = 0; i < j->n_labels; i++) {
        const char *name = wd_model_label(m, i);
        bool set = false;
        for (size_t k = 0; lm && name && k < lm->n; k++) {
            if (strcasecmp(lm->keys[k]->str, name)) continue;
            mask_ctx mc = {&j->map[i], false};
            const wd__pnode *v = lm->items[k];
            wd_status s2 = WD_OK;
            if (v->kind == WD_PN_SCALAR) s2 = add_mask(v, &mc);
            else if (v->kind == WD_PN_SEQ)
                for (size_t q = 0; q < v->n && !s2; q++)
                    s2 = v->items[q]->kind == WD_PN_SCALAR ? add_mask(v->items[q], &mc) : WD_ERR_FORMAT;
            else s2 = WD_ERR_FORMAT;
            if (s2) {
                enc_free(j);
                return wd__pn_error(v, err, WD_ERR_FORMAT, "labels",
                                    "label '%s': expected a category (S1.., pii, ...) or 'ignore'",
                                    name);
            }
            set = true;
        }
        if (!set && name && fmt == WD_GUARD_FORMAT_PROMPT_GUARD) {
            j->map[i] = wd_guard_format_label(fmt, name, i, j->n_labels, p->unsafe);
            pg_any |= j->map[i] != 0;
            set = true; /* BENIGN / LABEL_0: nothing, on purpose */
        }
        if (!set && name) j->map[i] = label_rule(name, p->unsafe);
        any |= set || j->map[i] != 0;
    }
    if (fmt == WD_GUARD_FORMAT_PROMPT_GUARD && !pg_any && !lm) { /* it would never fire */
        char names[256] = "";
        for (size_t i = 0; i < j->n_labels && strlen(names) < 200; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     wd_model_label(m, i) ? wd_model_label(m, i) : "?");
        enc_free(j);
        return wd__err_set(err, WD_ERR_FORMAT,
                           "format prompt-guard: none of the model's labels (%s) is Prompt "
                           "Guard's (BENIGN / INJECTION / JAILBREAK, LABEL_0 / LABEL_1); map them "
                           "with labels: or use format: seq-classifier",
                           names);
    }
    if (!any && j->n_labels == 2) j->map[1] = p->unsafe; /* LABEL_0 / LABEL_1 */
    j->m = m;
    *impl = j;
    return WD_OK;
}

static wd_status enc_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl,
                          wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "model",
                                       "labels", "unsafe_categories", "threads", "max_tokens",
                                       "format", NULL};
    wd_status st = wd__pn_check_keys(cfg, keys, "an encoder_classifier scanner", err);
    if (st) return st;
    wd__encoder_classifier_params p = wd__encoder_classifier_params_default();
    long threads = 0;
    const char *model = NULL;
    wd_catmask unsafe = 0;
    if ((st = wd__pn_string(cfg, "model", &model, err))) return st;
    if (!model) return wd__pn_error(cfg, err, WD_ERR_FORMAT, "model", "missing (a model folder)");
    if ((st = wd__pn_int(cfg, "threads", 0, 1024, &threads, err)) ||
        (st = wd__pn_int(cfg, "max_tokens", 2, 1 << 20, &p.max_tokens, err)))
        return st;
    if (wd__pn_get(cfg, "unsafe_categories")) {
        mask_ctx mc = {&unsafe, false};
        if (wd__pn_each_string(cfg, "unsafe_categories", add_mask, &mc, err) || mc.ignore)
            return wd__pn_error(wd__pn_get(cfg, "unsafe_categories"), err, WD_ERR_FORMAT,
                                "unsafe_categories", "expected category ids (S1, pii, ...)");
    }
    if (unsafe) p.unsafe = unsafe;
    p.labels = wd__pn_get(cfg, "labels");
    const char *fmt = NULL;
    p.format = (wd_guard_format)env->format;
    if ((st = wd__pn_string(cfg, "format", &fmt, err))) return st;
    if (fmt && wd_guard_format_parse(fmt, &p.format))
        return wd__pn_error(wd__pn_get(cfg, "format"), err, WD_ERR_FORMAT, "format", "%s", wd_last_error());
    if (wd_guard_format_generative(p.format)) {
        if (fmt)
            return wd__pn_error(wd__pn_get(cfg, "format"), err, WD_ERR_FORMAT, "format",
                                "%s is a decoder's format (use type: llm_judge)", fmt);
        p.format = WD_GUARD_FORMAT_AUTO; /* the guard's format is for its decoders */
    }
    char *path = model[0] == '/' ? strdup(model) : wd__path_join(env->policy_dir, model);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = (int)threads;
    wd_model *m = NULL;
    if (!path || (st = wd_model_load(path, &mp, &m))) {
        st = wd__pn_error(wd__pn_get(cfg, "model"), err, st ? st : WD_ERR_NOMEM, "model", "%s",
                          wd_last_error());
    } else if ((st = wd__encoder_classifier_new(&p, m, path, impl, err))) {
        if (st == WD_ERR_UNSUPPORTED) /* the model node is where it went wrong */
            st = wd__pn_error(wd__pn_get(cfg, "model"), err, st, "model", "%s", err->msg);
        wd_model_free(m);
    }
    free(path);
    return st;
}

static void *enc_scratch_new(const void *impl) {
    const enc_judge *j = impl;
    enc_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    wd_context_params cp = wd_context_params_default();
    size_t max = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(j->m));
    wd_model_type mt = wd_model_config_type(wd_model_get_config(j->m));
    /* RoBERTa's positions start at padding_idx + 1 = 2 */
    if ((mt == WD_MODEL_TYPE_ROBERTA || mt == WD_MODEL_TYPE_XLM_ROBERTA) && max > 2) max -= 2;
    cp.n_ctx = (size_t)j->max_tokens < max ? (size_t)j->max_tokens : max;
    s->probs = malloc(j->n_labels * sizeof *s->probs);
    if (!s->probs || wd_context_new(j->m, &cp, &s->ctx)) {
        free(s->probs);
        free(s);
        return NULL;
    }
    return s;
}

static void enc_scratch_free(void *scratch) {
    enc_scratch *s = scratch;
    if (!s) return;
    wd_context_free(s->ctx);
    free(s->probs);
    free(s->ids);
    free(s);
}

static wd_status enc_scan(const void *impl, void *scratch, const wd__scan_input *in,
                          wd__scan_result *res, wd__err *err) {
    const enc_judge *j = impl;
    enc_scratch *s = scratch;
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "encoder_classifier: no work space");
    const wd_tokenizer *tok = wd_model_tokenizer(j->m);
    size_t n = 0;
    wd_status st = wd_tokenizer_encode_ids(tok, in->orig, in->orig_len, NULL, s->ids, s->cap, &n);
    if (st == WD_ERR_RANGE && n > s->cap) {
        int32_t *b = realloc(s->ids, n * sizeof *b);
        if (!b) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        s->ids = b;
        s->cap = n;
        st = wd_tokenizer_encode_ids(tok, in->orig, in->orig_len, NULL, s->ids, s->cap, &n);
    }
    if (st) return wd__err_set(err, st, "encoder_classifier: tokenizing: %s", wd_last_error());
    size_t nc = wd_context_n_ctx(s->ctx);
    if (n > nc) { /* keep the head and the closing special token */
        s->ids[nc - 1] = s->ids[n - 1];
        n = nc;
    }
    if (n == 0) return WD_OK;
    st = wd_model_classify(s->ctx, s->ids, n, s->probs, NULL, j->n_labels);
    if (st) return wd__err_set(err, st, "encoder_classifier: %s", wd_model_last_error(j->m));
    for (size_t i = 0; i < j->n_labels; i++)
        for (int c = 0; c < WD_CATEGORY_COUNT; c++)
            if (j->map[i] & WD_CATMASK(c)) {
                if (s->probs[i] >= 0.5f)
                    wd__scan_hit(res, (wd_category)c, s->probs[i], 0, in->orig_len,
                                 "encoder_classifier", NULL);
                else
                    wd__scan_score(res, (wd_category)c, s->probs[i]);
            }
    return WD_OK;
}

const wd__scanner_vt wd__scanner_encoder_classifier = {
    .type = "encoder_classifier",
    .init = enc_init,
    .free = enc_free,
    .scratch_new = enc_scratch_new,
    .scratch_free = enc_scratch_free,
    .scan = enc_scan,
    .scan_batch = NULL,
};
