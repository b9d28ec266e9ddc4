/*
 * guard/format_judge.c - a decoder guard asked in its own format
 * (guard/format_judge.h; the formats in guard/formats/).
 *
 * One scan of text T (role R, conversation context C):
 *
 *   turns    C and T as alternating user / assistant turns (guard/
 *            conversation.h: system dropped, tool on the assistant's side,
 *            same-side turns merged), T last;
 *   prompts  one per policy (ShieldGemma's guidelines, Granite Guardian's
 *            risks), else one: the format's renderer;
 *   prefix   the token prefix all prompts share (for ShieldGemma and
 *            Granite Guardian, everything up to the guideline: the text
 *            included) is decoded once; each policy truncates the KV cache
 *            back to it (wd_context_truncate) and decodes only its rest;
 *   script   for each slot of the format's answer (format.h): feed the
 *            slot's lead, read the verdict words' mass off the logits,
 *            feed the likelier word; the judged slot gives
 *                p = (m(pos) + m(mid)) / (m(pos) + m(mid) + m(neg));
 *   answer   formats that name categories (Llama Guard 4, Qwen3Guard)
 *            generate the rest greedily when p >= generate_above and parse
 *            it: each category scores p times the probability of the
 *            tokens that wrote its name (wd__fjudge_cat_scores); an unsafe
 *            answer that names none scores every hazard p. Policy formats
 *            score each policy's categories with its p; WildGuard every
 *            hazard;
 *   rationale  (explain) the format's follow-up turn and up to
 *            explain_max_tokens generated tokens, for the policy with the
 *            highest p.
 *
 * m(w) is the softmax mass of the tokens spelling word w: those whose
 * text, leading spaces dropped, equals w (case-insensitive; with
 * pos_prefix, starts with it), plus the first token of w and of " w" when
 * the tokenizer splits the word. A token in both pos and neg counts for
 * pos only. A prompt too long for n_ctx loses its oldest turns first,
 * then the end of the text.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "guard/conversation.h"
#include "guard/format_judge.h"
#include "guard/judge.h"
#include "guard/formats/format.h"
#include "warden/tokenizer.h"

#define MAX_SLOTS 3
#define MAX_POL 8

typedef struct word_ids {
    int32_t *id;
    size_t   n;
} word_ids;

struct wd__fjudge {
    wd_model           *m;
    const wd_tokenizer *tok;
    size_t              V;
    const wd__gformat  *f;
    const wd__gf_policy *pol[MAX_POL];
    wd_catmask          pol_cats[MAX_POL];
    size_t              n_pol;
    word_ids            words[2][MAX_SLOTS][3]; /* role, slot, pos/mid/neg */
    word_ids            lead[2][MAX_SLOTS];
    word_ids            explain_turn;
    wd__fjudge_params   p;
};

typedef struct fscratch {
    wd_context *ctx;
    int32_t    *ids[MAX_POL];
    size_t      cap[MAX_POL], n[MAX_POL];
    int32_t    *gen;
    float      *gp;
    char       *rationale;
} fscratch;

/* ==== token sets ========================================================= */

static bool has_id(const word_ids *w, int32_t id) {
    for (size_t i = 0; i < w->n; i++)
        if (w->id[i] == id) return true;
    return false;
}

static wd_status push_id(word_ids *w, int32_t id) {
    if (has_id(w, id)) return WD_OK;
    int32_t *b = realloc(w->id, (w->n + 1) * sizeof *b);
    if (!b) return WD_ERR_NOMEM;
    w->id = b;
    w->id[w->n++] = id;
    return WD_OK;
}

/* True when token id decodes to text other than spaces. */
static bool writes(const wd_tokenizer *tok, int32_t id) {
    char *s = NULL;
    wd_decode_params dp = wd_decode_params_default();
    bool w = false;
    if (!wd_tokenizer_decode(tok, &id, 1, &dp, &s, NULL) && s)
        for (const char *p = s; *p && !w; p++) w = *p != ' ';
    free(s);
    return w;
}

/* Fills the word sets of every slot in one pass over the vocabulary. */
static wd_status build_words(wd__fjudge *j) {
    size_t V = j->V < wd_tokenizer_vocab_size(j->tok) ? j->V : wd_tokenizer_vocab_size(j->tok);
    wd_decode_params dp = wd_decode_params_default();
    for (int32_t id = 0; (size_t)id < V; id++) {
        char *s = NULL;
        if (wd_tokenizer_decode(j->tok, &id, 1, &dp, &s, NULL) || !s) continue;
        const char *t = s;
        while (*t == ' ') t++;
        size_t tl = strlen(t);
        for (int r = 0; r < 2; r++)
            for (size_t k = 0; k < j->f->n_slots[r]; k++) {
                const wd__gf_slot *sl = &j->f->slots[r][k];
                const char *w[3] = {sl->pos, sl->mid, sl->neg};
                for (int q = 0; q < 3; q++) {
                    if (!w[q] || !tl) continue;
                    bool eq = !strcasecmp(t, w[q]) || (q == 0 && sl->pos_prefix && !strncasecmp(t, w[q], strlen(w[q])));
                    if (eq && push_id(&j->words[r][k][q], id)) {
                        free(s);
                        return WD_ERR_NOMEM;
                    }
                }
            }
        free(s);
    }
    /* the first token of a split word, with and without a space */
    int32_t *ids = NULL;
    size_t cap = 0, n = 0;
    char buf[64];
    for (int r = 0; r < 2; r++)
        for (size_t k = 0; k < j->f->n_slots[r]; k++) {
            const wd__gf_slot *sl = &j->f->slots[r][k];
            const char *w[3] = {sl->pos, sl->mid, sl->neg};
            for (int q = 0; q < 3; q++)
                for (int sp = 0; w[q] && sp < 2; sp++) {
                    snprintf(buf, sizeof buf, "%s%s", sp ? " " : "", w[q]);
                    if (wd__judge_encode_tok(j->tok, buf, strlen(buf), &ids, &cap, &n) != WD_OK) continue;
                    size_t f0 = 0; /* the first token that writes something (SentencePiece's lone "▁" does not) */
                    while (f0 < n && !writes(j->tok, ids[f0])) f0++;
                    if (n - f0 > 1 && (size_t)ids[f0] < j->V && push_id(&j->words[r][k][q], ids[f0])) {
                        free(ids);
                        return WD_ERR_NOMEM;
                    }
                }
            /* a token that is both: the verdict's (pos) */
            for (int q = 1; q < 3; q++) {
                word_ids *o = &j->words[r][k][q];
                size_t w2 = 0;
                for (size_t i = 0; i < o->n; i++)
                    if (!has_id(&j->words[r][k][0], o->id[i]) && (q == 1 || !has_id(&j->words[r][k][1], o->id[i])))
                        o->id[w2++] = o->id[i];
                o->n = w2;
            }
            if (!j->words[r][k][0].n || !j->words[r][k][2].n) {
                free(ids);
                return wd__fail(WD_ERR_UNSUPPORTED, "the tokenizer cannot write '%s' / '%s' (guard format %s)",
                                sl->pos, sl->neg, j->f->name);
            }
            if (sl->lead[0]) {
                word_ids *L = &j->lead[r][k];
                size_t lc = 0;
                if (wd__judge_encode_tok(j->tok, sl->lead, strlen(sl->lead), &L->id, &lc, &L->n)) {
                    free(ids);
                    return wd__fail(WD_ERR_NOMEM, "out of memory");
                }
            }
        }
    free(ids);
    if (j->f->explain_turn && j->f->explain_turn[0]) {
        size_t lc = 0;
        if (wd__judge_encode_tok(j->tok, j->f->explain_turn, strlen(j->f->explain_turn), &j->explain_turn.id, &lc, &j->explain_turn.n))
            return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    return WD_OK;
}

/* ==== life =============================================================== */

wd_model *wd__fjudge_model(const wd__fjudge *j) { return j->m; }

void wd__fjudge_free(wd__fjudge *j) {
    if (!j) return;
    wd_model_free(j->m);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < MAX_SLOTS; k++) {
            free(j->lead[r][k].id);
            for (int q = 0; q < 3; q++) free(j->words[r][k][q].id);
        }
    free(j->explain_turn.id);
    free(j);
}

wd_status wd__fjudge_new(const wd__fjudge_params *p, wd_model *m, const char *where, wd__fjudge **out, wd__err *err) {
    *out = NULL;
    const wd__gformat *f = wd__gformat_get(p->format);
    if (!f || !f->generative)
        return wd__err_set(err, WD_ERR_INVALID_ARG, "%s: guard format %s is not a decoder's", where,
                           wd_guard_format_name(p->format) ? wd_guard_format_name(p->format) : "?");
    if (!wd_model_tokenizer(m))
        return wd__err_set(err, WD_ERR_UNSUPPORTED, "%s: a judge needs the model's tokenizer.json", where);
    wd__fjudge *j = calloc(1, sizeof *j);
    if (!j) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    j->tok = wd_model_tokenizer(m);
    j->V = wd_model_n_vocab(m);
    j->f = f;
    j->p = *p;
    if (f->n_policies) {
        size_t n = p->n_policies ? p->n_policies : f->n_default_policies;
        for (size_t i = 0; i < n && i < MAX_POL; i++) {
            const wd__gf_policy *pol = p->n_policies ? NULL : &f->policies[i];
            for (size_t k = 0; !pol && k < f->n_policies; k++)
                if (!strcasecmp(p->policies[i], f->policies[k].name)) pol = &f->policies[k];
            if (!pol) {
                wd_status st = wd__err_set(err, WD_ERR_INVALID_ARG, "%s: %s has no policy '%s'", where, f->name,
                                           p->policies[i]);
                wd__fjudge_free(j);
                return st;
            }
            j->pol[j->n_pol] = pol;
            wd_taxonomy_map(f->scheme, pol->cats, &j->pol_cats[j->n_pol]);
            j->n_pol++;
        }
    }
    wd_status st = build_words(j);
    if (st) {
        char why[256];
        snprintf(why, sizeof why, "%s", wd_last_error());
        st = wd__err_set(err, st, "%s: %s", where, why);
        wd__fjudge_free(j);
        return st;
    }
    j->m = m;
    *out = j;
    return WD_OK;
}

void *wd__fjudge_scratch_new(const wd__fjudge *j) {
    fscratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    wd_context_params cp = wd_context_params_default();
    size_t max = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(j->m));
    cp.n_ctx = (size_t)j->p.n_ctx < max ? (size_t)j->p.n_ctx : max;
    size_t g = (size_t)(j->p.max_tokens > j->p.explain_max_tokens ? j->p.max_tokens : j->p.explain_max_tokens) + 8;
    s->gen = malloc(g * sizeof *s->gen);
    s->gp = malloc(g * sizeof *s->gp);
    if (!s->gen || !s->gp || wd_context_new(j->m, &cp, &s->ctx)) {
        wd__fjudge_scratch_free(s);
        return NULL;
    }
    return s;
}

void wd__fjudge_scratch_free(void *scratch) {
    fscratch *s = scratch;
    if (!s) return;
    wd_context_free(s->ctx);
    for (int i = 0; i < MAX_POL; i++) free(s->ids[i]);
    free(s->gen);
    free(s->gp);
    free(s->rationale);
    free(s);
}

/* ==== the shared steps =================================================== */

static bool is_eos(const wd_model *m, int32_t t) {
    const wd_model_config *c = wd_model_get_config(m);
    for (int e = 0; e < wd_model_config_n_eos_token_ids(c); e++)
        if (wd_model_config_eos_token_id(c, e) == t) return true;
    return false;
}

/* softmax probability of each logit and the argmax */
static int32_t argmax_p(const float *lg, size_t V, float *p) {
    int32_t a = 0;
    for (size_t v = 1; v < V; v++)
        if (lg[v] > lg[a]) a = (int32_t)v;
    double z = 0;
    for (size_t v = 0; v < V; v++) z += exp((double)lg[v] - lg[a]);
    if (p) *p = (float)(1.0 / z);
    return a;
}

size_t wd__fjudge_generate(wd_context *ctx, const wd_model *m, int32_t first, float p0, int32_t *gen, float *p,
                           size_t max) {
    size_t V = wd_model_n_vocab(m), ng = 0, n_ctx = wd_context_n_ctx(ctx);
    int32_t tok = first;
    float pt = p0;
    if (tok < 0) tok = argmax_p(wd_context_logits(ctx), V, &pt);
    while (ng < max) {
        gen[ng] = tok;
        if (p) p[ng] = pt;
        ng++;
        if (is_eos(m, tok) || wd_context_n_past(ctx) >= n_ctx || wd_model_decode(ctx, &tok, 1, NULL, WD_LOGITS_MODE_NONE))
            break;
        tok = argmax_p(wd_context_logits(ctx), V, &pt);
    }
    return ng;
}

wd_catmask wd__fjudge_cat_scores(const wd_tokenizer *tok, wd_guard_format f, wd_role role, const int32_t *gen,
                                 const float *p, size_t n, float base, float score[WD_CATEGORY_COUNT]) {
    wd_decode_params dp = wd_decode_params_default();
    dp.skip_special_tokens = true;
    char *text = NULL;
    if (!n || wd_tokenizer_decode(tok, gen, n, &dp, &text, NULL) || !text) return 0;
    wd_guard_answer a;
    wd_catmask named = 0;
    if (!wd_guard_format_parse_answer(f, text, role, &a) && a.n_cats) {
        /* the byte at which each token's text ends: decode each prefix */
        size_t *end = malloc(n * sizeof *end);
        for (size_t k = 0; end && k < n; k++) {
            char *pre = NULL;
            end[k] = wd_tokenizer_decode(tok, gen, k + 1, &dp, &pre, NULL) || !pre ? 0 : strlen(pre);
            free(pre);
        }
        for (size_t c = 0; end && c < a.n_cats; c++) {
            double q = 1.0;
            for (size_t k = 0; k < n; k++) {
                size_t from = k ? end[k - 1] : 0;
                if (end[k] > a.cat[c].start && from < a.cat[c].end) q *= p[k];
            }
            float sc = (float)(base * q);
            for (int cat = 0; cat < WD_CATEGORY_COUNT; cat++)
                if (a.cat[c].mask & WD_CATMASK(cat) && sc > score[cat]) score[cat] = sc;
            named |= a.cat[c].mask;
        }
        free(end);
    }
    free(text);
    return named;
}

wd_status wd__fjudge_explain(wd_context *ctx, const wd_model *m, const char *turn, size_t max, char **out) {
    *out = NULL;
    const wd_tokenizer *tok = wd_model_tokenizer((wd_model *)m);
    int32_t *ids = NULL, *gen = malloc((max + 1) * sizeof *gen);
    size_t cap = 0, n = 0;
    wd_status st = gen ? WD_OK : WD_ERR_NOMEM;
    bool fits = true; /* a prompt that filled the context leaves no room: no rationale */
    if (!st && turn && turn[0] && !(st = wd__judge_encode_tok(tok, turn, strlen(turn), &ids, &cap, &n)) && n) {
        if (wd_context_n_past(ctx) + n + 1 >= wd_context_n_ctx(ctx)) fits = false;
        else st = wd_model_decode(ctx, ids, n, NULL, WD_LOGITS_MODE_NONE);
    }
    if (!st && fits && wd_context_n_past(ctx) + 1 < wd_context_n_ctx(ctx)) {
        size_t ng = wd__fjudge_generate(ctx, m, -1, 0, gen, NULL, max);
        while (ng && is_eos(m, gen[ng - 1])) ng--;
        wd_decode_params dp = wd_decode_params_default();
        dp.skip_special_tokens = true;
        char *text = NULL;
        if (ng && !wd_tokenizer_decode(tok, gen, ng, &dp, &text, NULL) && text) {
            wd__strbuf b = {0};
            wd__chat_put_stripped(&b, text);
            *out = wd__strbuf_take(&b, NULL);
            free(text);
        }
    }
    free(ids);
    free(gen);
    return st;
}

/* ==== one scan =========================================================== */

static double mass(const float *lg, size_t V, const word_ids *w, float mx, double z, int32_t *best) {
    double m = 0, pb = -1;
    for (size_t i = 0; i < w->n; i++) {
        if ((size_t)w->id[i] >= V) continue;
        double p = exp((double)lg[w->id[i]] - mx) / z;
        m += p;
        if (p > pb) {
            pb = p;
            if (best) *best = w->id[i];
        }
    }
    return m;
}

/* The script of role r from the current cache: each slot's lead, the
 * verdict's p, the likelier word fed. *p gets the judged slot's p; the
 * answer's tokens so far go to gen (*ng). */
static wd_status script(const wd__fjudge *j, fscratch *s, wd_role r, double *p, size_t *ng) {
    size_t V = j->V;
    *ng = 0;
    for (size_t k = 0; k < j->f->n_slots[r]; k++) {
        const word_ids *L = &j->lead[r][k];
        wd_status st;
        if (L->n && (st = wd_model_decode(s->ctx, L->id, L->n, NULL, WD_LOGITS_MODE_NONE))) return st;
        for (size_t i = 0; i < L->n && *ng < (size_t)j->p.max_tokens; i++) {
            s->gen[*ng] = L->id[i];
            s->gp[(*ng)++] = 1.0f;
        }
        const float *lg = wd_context_logits(s->ctx);
        float mx = lg[0];
        for (size_t v = 1; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
        double z = 0;
        for (size_t v = 0; v < V; v++) z += exp((double)lg[v] - mx);
        int32_t bp = j->words[r][k][0].id[0], bm = bp, bn = j->words[r][k][2].id[0];
        double mp = mass(lg, V, &j->words[r][k][0], mx, z, &bp), mm = mass(lg, V, &j->words[r][k][1], mx, z, &bm),
               mn = mass(lg, V, &j->words[r][k][2], mx, z, &bn);
        double tot = mp + mm + mn, pk = tot > 0 ? (mp + mm) / tot : 0.0;
        if (k == j->f->score_slot[r]) *p = pk;
        int32_t t = pk >= 0.5 ? (mm > mp ? bm : bp) : bn;
        if (*ng < (size_t)j->p.max_tokens) {
            s->gen[*ng] = t;
            s->gp[(*ng)++] = 1.0f;
        }
        if ((st = wd_model_decode(s->ctx, &t, 1, NULL, WD_LOGITS_MODE_NONE))) return st;
    }
    return WD_OK;
}

/* Renders and tokenizes the prompt of each policy (one without) over
 * turns; *common = the token prefix they share. */
static wd_status prompts(const wd__fjudge *j, fscratch *s, const wd_chat_message *turns, size_t nt, size_t *common) {
    size_t np = j->n_pol ? j->n_pol : 1;
    for (size_t i = 0; i < np; i++) {
        char *text = NULL;
        wd_status st = wd_guard_format_render(j->f->id, turns, nt, j->n_pol ? j->pol[i]->name : NULL, &text);
        if (!st) st = wd__judge_encode_tok(j->tok, text, strlen(text), &s->ids[i], &s->cap[i], &s->n[i]);
        free(text);
        if (st) return st;
        if (!s->n[i]) return wd__fail(WD_ERR_FORMAT, "the prompt is empty");
    }
    size_t c = s->n[0] - 1;
    for (size_t i = 1; i < np; i++) {
        size_t q = 0;
        while (q < c && q < s->n[i] - 1 && s->ids[i][q] == s->ids[0][q]) q++;
        c = q;
    }
    *common = c;
    return WD_OK;
}

static size_t utf8_cut(const char *s, size_t len) {
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
    return len;
}

wd_status wd__fjudge_scan(const wd__fjudge *j, void *scratch, const wd__scan_input *in, wd__scan_result *res,
                          wd__err *err) {
    fscratch *s = scratch;
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "llm_judge: no work space (out of memory)");
    free(s->rationale);
    s->rationale = NULL;
    wd_role role = in->role == WD_ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    size_t n_ctx = wd_context_n_ctx(s->ctx), room = (size_t)j->p.max_tokens + 16 +
                   (j->p.explain ? (size_t)j->p.explain_max_tokens + j->explain_turn.n : 0);
    size_t text_len = in->orig_len, from = 0, common = 0, np = j->n_pol ? j->n_pol : 1;
    wd_status st;
    for (int tries = 0;; tries++) {
        wd_chat_message *turns = NULL;
        size_t nt = 0;
        char *buf = NULL;
        st = wd__conv_guard_turns(in->context, from, in->n_context, in->orig, text_len, role, &turns, &nt, &buf);
        if (!st) st = prompts(j, s, turns, nt, &common);
        free(turns);
        free(buf);
        if (st) return wd__err_set(err, st, "llm_judge (%s): rendering the prompt: %s", j->f->name, wd_last_error());
        size_t longest = 0;
        for (size_t i = 0; i < np; i++) longest = s->n[i] > longest ? s->n[i] : longest;
        if (longest + room <= n_ctx) break;
        if (from < in->n_context) {
            from += (in->n_context - from + 1) / 2;
            continue;
        }
        if (tries > 12 || text_len == 0)
            return wd__err_set(err, WD_ERR_RANGE, "llm_judge (%s): the prompt does not fit in %zu tokens", j->f->name, n_ctx);
        double keep = (double)(n_ctx > room ? n_ctx - room : 0) / (double)longest * 0.9;
        size_t nl = (size_t)((double)text_len * (keep < 0.9 ? keep : 0.9));
        text_len = utf8_cut(in->orig, nl < text_len ? nl : text_len - 1);
    }
    /* the shared prefix once, each policy's rest from it */
    if ((st = wd_context_truncate(s->ctx, 0)) ||
        (common && (st = wd_model_decode(s->ctx, s->ids[0], common, NULL, WD_LOGITS_MODE_NONE))))
        return wd__err_set(err, st, "llm_judge (%s): %s", j->f->name, wd_model_last_error(j->m));
    double pbest = -1, p = 0;
    size_t best = 0, ng = 0;
    for (size_t i = 0; i < np; i++) {
        if ((st = wd_context_truncate(s->ctx, common)) ||
            (st = wd_model_decode(s->ctx, s->ids[i] + common, s->n[i] - common, NULL, WD_LOGITS_MODE_NONE)) ||
            (st = script(j, s, role, &p, &ng)))
            return wd__err_set(err, st, "llm_judge (%s): %s", j->f->name, wd_model_last_error(j->m));
        if (j->n_pol) {
            for (int c = 0; c < WD_CATEGORY_COUNT; c++)
                if (j->pol_cats[i] & WD_CATMASK(c)) wd__scan_score(res, (wd_category)c, (float)p);
            if (p >= 0.5)
                for (int c = 0; c < WD_CATEGORY_COUNT; c++)
                    if (j->pol_cats[i] & WD_CATMASK(c))
                        wd__scan_hit(res, (wd_category)c, (float)p, 0, in->orig_len, j->pol[i]->name, NULL);
        }
        if (p > pbest) pbest = p, best = i;
    }
    if (np > 1 && j->p.explain && best != np - 1) { /* back to the most unsafe policy's answer */
        if ((st = wd_context_truncate(s->ctx, common)) ||
            (st = wd_model_decode(s->ctx, s->ids[best] + common, s->n[best] - common, NULL, WD_LOGITS_MODE_NONE)) ||
            (st = script(j, s, role, &p, &ng)))
            return wd__err_set(err, st, "llm_judge (%s): %s", j->f->name, wd_model_last_error(j->m));
    }
    if (!j->n_pol) {
        float sc[WD_CATEGORY_COUNT] = {0};
        wd_catmask named = 0;
        if (j->f->gen_after && (p >= j->p.generate_above || j->p.explain)) {
            size_t more = wd__fjudge_generate(s->ctx, j->m, -1, 0, s->gen + ng, s->gp + ng,
                                              (size_t)j->p.max_tokens - (ng < (size_t)j->p.max_tokens ? ng : (size_t)j->p.max_tokens));
            named = wd__fjudge_cat_scores(j->tok, j->f->id, role, s->gen, s->gp, ng + more, (float)p, sc);
        } else if (j->f->id == WD_GUARD_FORMAT_WILDGUARD) {
            named = 0; /* no names: every hazard below */
        }
        wd_catmask to = named ? named : WD_CATMASK_HAZARDS;
        for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
            if (!(to & WD_CATMASK(c))) continue;
            float v = named ? sc[c] : (float)p;
            if (v >= 0.5f) wd__scan_hit(res, (wd_category)c, v, 0, in->orig_len, j->f->name, NULL);
            else wd__scan_score(res, (wd_category)c, v);
        }
    }
    if (j->p.explain) {
        if ((st = wd__fjudge_explain(s->ctx, j->m, j->f->explain_turn, (size_t)j->p.explain_max_tokens, &s->rationale)))
            return wd__err_set(err, st, "llm_judge (%s): writing the rationale: %s", j->f->name, wd_model_last_error(j->m));
        res->rationale = s->rationale;
    }
    return WD_OK;
}
