/*
 * guard/scanners/classifier.c - the `classifier` scanner type: warden's learned
 * text classifier (guard/textclf.c), the embedded model by default.
 *
 * Policy node:
 *   - type: classifier
 *     model: my-clf.safetensors   # optional; default: an embedded model,
 *     builtin: prompts            # prompts (default) or answers: the one
 *                                 # with the harmful_response head
 *     threshold: 0.5              # optional; p(harmful) that counts as 0.5
 *     injection_threshold: 0.5    # optional; same for prompt_injection
 *     response_threshold: 0.5     # optional; same for harmful_response
 *
 * Scores. The engine compares every category's score with the policy's
 * threshold for that category (0.5 by default), so the scanner maps the
 * model's probability p onto a score that crosses 0.5 exactly where p
 * crosses the scanner's threshold t (piecewise linear, monotone):
 *     score = p < t ? 0.5 p / t : 0.5 + 0.5 (p - t) / (1 - t)
 * t defaults to the threshold stored in the model. Hazards: a model with
 * the softmax hazard head gives p(harmful) and the share q_k of each hazard;
 * hazard k scores score(p(harmful)) * q_k / max_j q_j, so the most likely
 * hazard carries the whole harmful score and the others their relative
 * likelihood. A model with independent sigmoids maps each label alone.
 * prompt_injection maps the same way with its own threshold. A model's
 * answer (role output) is judged by the harmful_response head in place of
 * harmful when the model has one, with its own threshold; hazards keep
 * their shares.
 *
 * A flagged text gets one hit spanning the whole text (the model scores the
 * text, not a span), named "classifier:S<k>" after the top hazard.
 *
 * The model expects text normalised with its own flags; the engine's shared
 * normalised text is used when those are WD_CANON_DEFAULT (the default
 * policy's), otherwise the scanner normalises the original itself.
 */
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/hash.h"
#include "guard/payload.h"
#include "guard/scanner.h"
#include "guard/textclf.h"

typedef struct classifier_impl {
    const wd_textclf *m;      /* the model used                         */
    wd_textclf       *owned;  /* set when loaded from `model:`          */
    float             t_harm, t_pi, t_resp;
    int               i_harm, i_pi, i_resp, i_haz[14]; /* label indices, -1 = absent */
    int               softmax; /* hazards are p(harmful) x share        */
} classifier_impl;

static const char *const hit_rules[14] = {
    "classifier:S1", "classifier:S2", "classifier:S3", "classifier:S4", "classifier:S5",
    "classifier:S6", "classifier:S7", "classifier:S8", "classifier:S9", "classifier:S10",
    "classifier:S11", "classifier:S12", "classifier:S13", "classifier:S14"};

static float rescale(float p, float t) {
    if (!(p > 0)) return 0;
    if (p >= 1) return 1;
    return p < t ? 0.5f * p / t : 0.5f + 0.5f * (p - t) / (1.0f - t);
}

static void classifier_free(void *vimpl) {
    classifier_impl *c = vimpl;
    if (!c) return;
    wd_textclf_free(c->owned);
    free(c);
}

static wd_status classifier_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl, wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "model", "builtin",
                                       "threshold", "injection_threshold", "response_threshold", NULL};
    *impl = NULL;
    wd_status st = wd__pn_check_keys(cfg, keys, "a classifier scanner", err);
    if (st != WD_OK) return st;
    classifier_impl *c = calloc(1, sizeof *c);
    if (!c) return wd__err_set(err, WD_ERR_NOMEM, "classifier: out of memory");
    const char *model = NULL, *builtin = NULL;
    if ((st = wd__pn_string(cfg, "model", &model, err)) != WD_OK) goto fail;
    if ((st = wd__pn_string(cfg, "builtin", &builtin, err)) != WD_OK) goto fail;
    if (builtin && strcmp(builtin, "prompts") && strcmp(builtin, "answers")) {
        st = wd__pn_error(wd__pn_get(cfg, "builtin"), err, WD_ERR_INVALID_ARG, "builtin",
                          "expected prompts or answers, got '%s'", builtin);
        goto fail;
    }
    if (builtin && model) {
        st = wd__pn_error(wd__pn_get(cfg, "builtin"), err, WD_ERR_INVALID_ARG, "builtin",
                          "give either model or builtin, not both");
        goto fail;
    }
    if (model) {
        char *path = model[0] == '/' || !env || !env->policy_dir ? strdup(model)
                                                                 : wd__path_join(env->policy_dir, model);
        if (!path) {
            st = wd__err_set(err, WD_ERR_NOMEM, "classifier: out of memory");
            goto fail;
        }
        st = wd_textclf_load(path, &c->owned);
        free(path);
        if (st != WD_OK) {
            st = wd__pn_error(wd__pn_get(cfg, "model"), err, st, "model", "%s", wd_last_error());
            goto fail;
        }
        c->m = c->owned;
    } else {
        c->m = builtin && !strcmp(builtin, "answers") ? wd_textclf_builtin_answers() : wd_textclf_builtin();
        if (!c->m) {
            st = wd__pn_error(cfg, err, WD_ERR_NOT_FOUND, NULL, "classifier: %s", wd_last_error());
            goto fail;
        }
    }
    c->i_harm = wd_textclf_label_index(c->m, "harmful");
    c->i_pi = wd_textclf_label_index(c->m, "prompt_injection");
    c->i_resp = wd_textclf_label_index(c->m, "harmful_response");
    int any = c->i_harm >= 0 || c->i_pi >= 0;
    for (int k = 0; k < 14; k++) {
        c->i_haz[k] = wd_textclf_label_index(c->m, wd_category_id((wd_category)k));
        any |= c->i_haz[k] >= 0;
    }
    if (!any) {
        st = wd__pn_error(cfg, err, WD_ERR_UNSUPPORTED, "model",
                          "the model has none of the labels harmful, S1..S14, prompt_injection");
        goto fail;
    }
    c->softmax = wd__textclf_softmax_hazards(c->m);
    double t = c->i_harm >= 0 ? wd_textclf_threshold(c->m, (size_t)c->i_harm) : 0.5;
    double tp = c->i_pi >= 0 ? wd_textclf_threshold(c->m, (size_t)c->i_pi) : 0.5;
    double tr = c->i_resp >= 0 ? wd_textclf_threshold(c->m, (size_t)c->i_resp) : 0.5;
    if ((st = wd__pn_number(cfg, "threshold", 0.01, 0.99, &t, err)) != WD_OK) goto fail;
    if ((st = wd__pn_number(cfg, "injection_threshold", 0.01, 0.99, &tp, err)) != WD_OK) goto fail;
    if ((st = wd__pn_number(cfg, "response_threshold", 0.01, 0.99, &tr, err)) != WD_OK) goto fail;
    if (!(t > 0 && t < 1)) t = 0.5;
    if (!(tp > 0 && tp < 1)) tp = 0.5;
    if (!(tr > 0 && tr < 1)) tr = 0.5;
    c->t_resp = (float)tr;
    c->t_harm = (float)t;
    c->t_pi = (float)tp;
    *impl = c;
    return WD_OK;
fail:
    classifier_free(c);
    return st;
}

typedef struct word_span {
    size_t   a, b; /* bytes [a, b) */
    uint64_t h;
} word_span;

typedef struct classifier_scratch {
    wd__canon norm;       /* reused when the scanner normalises for itself */
    char   *dbuf, *cut, *plain; /* decoder work buffer; the text with its payloads decoded; the decoded payloads */
    size_t  dcap, ccap, pcap;
    char      *once;      /* the text with repeated runs read once */
    word_span *words;
    size_t     ocap, wcap;
} classifier_scratch;

/* Encoded payloads (base64, hex) of the original text: their spans and
 * decoded texts (lower-cased, one after the other in cs->plain). */
#define MAX_SPANS 32
typedef struct spans {
    size_t       a[MAX_SPANS], b[MAX_SPANS], off[MAX_SPANS + 1], n;
    classifier_scratch *cs;
    bool         oom;
} spans;

static int on_span(size_t start, size_t end, const char *plain, size_t n, int kind, void *user) {
    (void)kind;
    spans *sp = user;
    classifier_scratch *cs = sp->cs;
    size_t at = sp->off[sp->n];
    if (cs->pcap < at + n + 1) {
        size_t cap = (at + n + 1) * 2;
        char *p = realloc(cs->plain, cap);
        if (!p) return sp->oom = true, 1;
        cs->plain = p;
        cs->pcap = cap;
    }
    for (size_t i = 0; i < n; i++) cs->plain[at + i] = (char)((plain[i] >= 'A' && plain[i] <= 'Z') ? plain[i] | 32 : plain[i]);
    sp->a[sp->n] = start;
    sp->b[sp->n] = end;
    sp->off[++sp->n] = at + n;
    return sp->n == MAX_SPANS;
}

/* The model reads words: the digits and letters of an encoded payload are
 * noise to it (hex bytes read as an injection, escapes as hate). Returns
 * t[0..n) with each payload the decoder reads (base64, hex) replaced by its
 * decoded text (a scratch buffer), or t itself when it has none. *st: WD_OK,
 * or WD_ERR_TIMEOUT / WD_ERR_CANCELLED when in->stop said so. */
static const char *cut_payloads(classifier_scratch *cs, const wd__scan_input *in, const char *t, const size_t *map,
                                size_t *n, wd_status *st) {
    spans sp;
    sp.n = 0;
    sp.off[0] = 0;
    sp.cs = cs;
    sp.oom = false;
    *st = wd__payload_scan(in->orig, in->orig_len, NULL, WD_DECODE_BASE64 | WD_DECODE_HEX, 16, &cs->dbuf,
                          &cs->dcap, on_span, &sp, in->stop, NULL);
    if (*st == WD_ERR_NOMEM) *st = WD_OK; /* the model reads the text as it is */
    if (*st != WD_OK || !sp.n || sp.oom) return t;
    size_t need = *n + sp.off[sp.n] + 1;
    if (cs->ccap < need) {
        char *c = realloc(cs->cut, need);
        if (!c) return t;
        cs->cut = c;
        cs->ccap = need;
    }
    size_t w = 0, k = 0;
    bool put = false; /* payload k written */
    for (size_t i = 0; i < *n; i++) {
        while (k < sp.n && map[i] >= sp.b[k]) k++, put = false;
        if (k < sp.n && map[i] >= sp.a[k]) {
            if (!put) {
                memcpy(cs->cut + w, cs->plain + sp.off[k], sp.off[k + 1] - sp.off[k]);
                w += sp.off[k + 1] - sp.off[k];
                put = true;
            }
            continue;
        }
        cs->cut[w++] = t[i];
    }
    cs->cut[w] = '\0';
    *n = w;
    return cs->cut;
}

/* The model's features are term counts over the square root of their
 * number, so one phrase said over and over takes the text over: "thank
 * you" five times scored S2 0.57 and was blocked, "hello" fifty times read
 * as an injection (0.94), and fifty "hello"s before a request diluted it.
 * The model therefore reads a run of a phrase of up to MAX_PERIOD words
 * repeated back to back once ("thank you thank you thank you" -> "thank
 * you"; the copies after the first go with the separators between them,
 * what follows the last copy stays). Words are runs of
 * letters, digits and non-ASCII bytes; the work is linear (MAX_PERIOD
 * comparisons a word). Returns t itself when nothing repeats or on a
 * failed allocation. */
#define MAX_PERIOD 8

static bool word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static bool same_words(const char *t, const word_span *w, size_t i, size_t j, size_t p) {
    for (size_t k = 0; k < p; k++) {
        const word_span *x = &w[i + k], *y = &w[j + k];
        if (x->h != y->h || x->b - x->a != y->b - y->a || memcmp(t + x->a, t + y->a, x->b - x->a)) return false;
    }
    return true;
}

static const char *read_once(classifier_scratch *cs, const char *t, size_t *n, const wd__scan_stop *stop,
                             wd_status *st) {
    size_t nw = 0, len = *n;
    for (size_t i = 0; i < len;) {
        if (!word_byte((unsigned char)t[i])) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < len && word_byte((unsigned char)t[i])) i++;
        if (nw == cs->wcap) {
            size_t cap = cs->wcap ? 2 * cs->wcap : 256;
            word_span *w = realloc(cs->words, cap * sizeof *w);
            if (!w) return t;
            cs->words = w;
            cs->wcap = cap;
        }
        cs->words[nw++] = (word_span){a, i, wd__fnv1a(t + a, i - a)};
    }
    const word_span *w = cs->words;
    size_t out = 0, from = 0; /* bytes written; where the text is copied from next */
    bool any = false;
    for (size_t i = 0; i < nw;) {
        if (stop && i % 65536 == 65535 && (*st = wd__scan_stop_poll(stop)) != WD_OK) return t;
        size_t p = 1;
        while (p <= MAX_PERIOD && !(i + 2 * p <= nw && same_words(t, w, i, i + p, p))) p++;
        if (p > MAX_PERIOD) {
            i++;
            continue;
        }
        size_t k = 2; /* copies */
        while (i + (k + 1) * p <= nw && same_words(t, w, i, i + k * p, p)) k++;
        if (!any) {
            if (cs->ocap < len + 1) {
                char *o = realloc(cs->once, len + 1);
                if (!o) return t;
                cs->once = o;
                cs->ocap = len + 1;
            }
            any = true;
        }
        size_t end = w[i + p - 1].b; /* the first copy, and what is before it */
        memcpy(cs->once + out, t + from, end - from);
        out += end - from;
        i += k * p;
        from = w[i - 1].b; /* on from the end of the last copy: its separator stays */
    }
    if (!any) return t;
    memcpy(cs->once + out, t + from, len - from);
    out += len - from;
    cs->once[out] = '\0';
    *n = out;
    return cs->once;
}

static void *classifier_scratch_new(const void *impl) { return calloc(1, sizeof(classifier_scratch)); }

static void classifier_scratch_free(void *s) {
    classifier_scratch *cs = s;
    if (!cs) return;
    wd__canon_free(&cs->norm);
    free(cs->dbuf);
    free(cs->cut);
    free(cs->plain);
    free(cs->once);
    free(cs->words);
    free(cs);
}

/* Maps the model's probabilities onto category scores (see the top); dec
 * is the label that decides (harmful, or harmful_response for an answer),
 * t_dec its threshold. */
static wd_status map_scores(const classifier_impl *c, const float *probs, int dec, float t_dec,
                            size_t orig_len, wd__scan_result *res) {
    float harm = dec >= 0 ? rescale(probs[dec], t_dec) : 0;
    int top = -1;
    float pmax = 0;
    for (int k = 0; k < 14; k++) {
        if (c->i_haz[k] < 0) continue;
        float p = probs[c->i_haz[k]];
        if (top < 0 || p > pmax) {
            top = k;
            pmax = p;
        }
    }
    for (int k = 0; k < 14; k++) {
        if (c->i_haz[k] < 0) continue;
        float p = probs[c->i_haz[k]];
        float s = c->softmax ? (pmax > 0 ? harm * p / pmax : 0) : rescale(p, c->t_harm);
        wd__scan_score(res, (wd_category)k, s);
    }
    if (c->i_pi >= 0) wd__scan_score(res, WD_CATEGORY_PROMPT_INJECTION, rescale(probs[c->i_pi], c->t_pi));
    if (top >= 0 && res->score[top] >= 0.5f &&
        wd__scan_hit(res, (wd_category)top, res->score[top], 0, orig_len, hit_rules[top], NULL) != WD_OK)
        return WD_ERR_NOMEM;
    return WD_OK;
}

/* A benign passage put before a request dilutes it: the model's features
 * are term counts over the square root of their number, so the request's
 * weight falls as the text grows ("Honeybees dance to show the way ...
 * \n\nAnyway: <request>" scored 0.40 where the request alone scored 0.72).
 * So a text of two or more paragraphs (separated by a blank line) is also
 * read paragraph by paragraph, and the reading with the highest p(harmful)
 * decides. A paragraph of fewer than PART_MIN_WORDS words is not read
 * alone (a heading, a greeting). Each byte is read twice at most: linear. */
#define PART_MIN_WORDS 3

/* The end of the paragraph starting at t[i] (the start of its blank line,
 * or n), and in *next the start of the next one. */
static size_t para_end(const char *t, size_t i, size_t n, size_t *next) {
    for (; i < n; i++) {
        if (t[i] != '\n') continue;
        size_t j = i + 1;
        while (j < n && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r')) j++;
        if (j < n && t[j] == '\n') {
            while (j < n && (t[j] == '\n' || t[j] == ' ' || t[j] == '\t' || t[j] == '\r')) j++;
            *next = j;
            return i;
        }
    }
    *next = n;
    return n;
}

static size_t count_words(const char *t, size_t n) {
    size_t w = 0;
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        bool sp = t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r';
        if (!sp && !in) w++;
        in = !sp;
    }
    return w;
}

/* probs of the whole of t[0..n), or of its paragraph that reads most
 * harmful (see PART_MIN_WORDS). */
static wd_status predict_parts(const classifier_impl *c, const char *t, size_t n, int dec, float *probs,
                               const wd__scan_stop *stop) {
    wd_status st = wd__textclf_predict_stop(c->m, t, n, probs, stop);
    if (st != WD_OK || dec < 0) return st;
    size_t next, end = para_end(t, 0, n, &next);
    if (end == n) return WD_OK; /* one paragraph */
    float part[WD_TEXTCLF_MAX_LABELS];
    size_t labels = wd_textclf_n_labels(c->m), k = 0;
    for (size_t a = 0; a < n; a = next, k++) {
        end = para_end(t, a, n, &next);
        if (stop && k % 256 == 255 && (st = wd__scan_stop_poll(stop)) != WD_OK) return st;
        if (count_words(t + a, end - a) < PART_MIN_WORDS) continue;
        if ((st = wd__textclf_predict_stop(c->m, t + a, end - a, part, stop)) != WD_OK) return st;
        if (part[dec] > probs[dec]) memcpy(probs, part, labels * sizeof *probs);
    }
    return WD_OK;
}

static wd_status classifier_scan(const void *vimpl, void *scratch, const wd__scan_input *in,
                          wd__scan_result *res, wd__err *err) {
    const classifier_impl *c = vimpl;
    float probs[WD_TEXTCLF_MAX_LABELS];
    unsigned flags = wd_textclf_norm_flags(c->m);
    wd_status st;
    /* A model trained before the HTML step (norm_flags 63) reads the guard's
     * text too: decoded character references are what it should see. */
    classifier_scratch *cs = scratch;
    /* a model's answer is judged by the harmful_response head when the
     * model has one: a refusal that names the harm is not the harm */
    int answer = in->role == WD_ROLE_OUTPUT && c->i_resp >= 0;
    int dec = answer ? c->i_resp : c->i_harm;
    float t_dec = answer ? c->t_resp : c->t_harm;
    if (in->ciphered) return WD_OK; /* gibberish to the model: it reads the deciphered variant */
    if (in->norm && (flags | WD_CANON_HTML) == WD_CANON_DEFAULT) {
        size_t n = in->norm->len;
        st = WD_OK;
        const char *t = cs ? cut_payloads(cs, in, in->norm->text, in->norm->map, &n, &st) : in->norm->text;
        if (st == WD_OK && cs) t = read_once(cs, t, &n, in->stop, &st);
        if (st == WD_OK) st = predict_parts(c, t, n, dec, probs, in->stop);
    } else {
        wd__canon local = {0};
        wd__canon *n = cs ? &cs->norm : &local;
        st = wd__canonicalize_stop(in->orig, in->orig_len, flags, n, in->stop);
        if (st == WD_OK) {
            size_t len = n->len;
            const char *t = cs ? cut_payloads(cs, in, n->text, n->map, &len, &st) : n->text;
            if (st == WD_OK && cs) t = read_once(cs, t, &len, in->stop, &st);
            if (st == WD_OK) st = predict_parts(c, t, len, dec, probs, in->stop);
        }
        if (!cs) wd__canon_free(&local);
    }
    if (st == WD_ERR_TIMEOUT || st == WD_ERR_CANCELLED) return st;
    if (st != WD_OK) return wd__err_set(err, st, "classifier: %s", wd_last_error());
    if (map_scores(c, probs, dec, t_dec, in->orig_len, res) != WD_OK)
        return wd__err_set(err, WD_ERR_NOMEM, "classifier: out of memory");
    return WD_OK;
}

const wd__scanner_vt wd__scanner_classifier = {
    .type = "classifier",
    .init = classifier_init,
    .free = classifier_free,
    .scratch_new = classifier_scratch_new,
    .scratch_free = classifier_scratch_free,
    .scan = classifier_scan,
};
