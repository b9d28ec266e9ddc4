/*
 * certify/certifier.c - certified erase-and-check (Kumar et al., "Certifying
 * LLM Safety against Adversarial Prompting", 2023) over any guard, plus the
 * randomized (RandEC) and greedy (GreedyEC) empirical variants. See
 * include/warden/certify.h for the modes, counts and the certificate;
 * ../shared/METHODS.md section 1a-1b for the paper's numbers.
 *
 * One wd_certify call: the prompt's units (words of the text, or tokens of
 * the certifier's tokenizer), then a method:
 *
 *   certified   every subsequence the mode defines (enumerate.c), sorted
 *               and deduplicated; the prompt alone is checked first (a
 *               harmful prompt usually stops there), then the rest;
 *   RandEC      the prompt plus ceil(ratio * (N - 1)) of the rest, drawn by
 *               a seeded partial Fisher-Yates shuffle (base/rng.h), then
 *               put back in check order;
 *   GreedyEC    each round erases, of the units still there, the one whose
 *               removal scores highest, until a check is flagged.
 *
 * Checks go to the certifier's filter (guard_filter.c or judge_filter.c);
 * the first flagged subsequence becomes the certificate's trigger
 * (certificate.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hash.h"
#include "base/rng.h"
#include "base/util.h"
#include "certify/certify_internal.h"
#include "guard/judge.h"
#include "guard/model_guard.h"
#include "warden/model.h"
#include "warden/tokenizer.h"

typedef wd__ec_cand cand;
typedef wd__ec_run run;

static const char *const mode_names[] = {"suffix", "insertion", "infusion"};

const char *wd_ec_mode_str(wd_ec_mode m) {
    return (unsigned)m < 3 ? mode_names[m] : NULL;
}

wd_status wd_ec_mode_parse(const char *s, wd_ec_mode *out) {
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, mode_names[i])) {
            *out = (wd_ec_mode)i;
            return WD_OK;
        }
    return wd__fail(WD_ERR_INVALID_ARG, "unknown erase-and-check mode '%s' (suffix, insertion, infusion)",
                    s ? s : "(null)");
}

int wd_ec_mode_default_erase(wd_ec_mode m) {
    return m == WD_EC_MODE_SUFFIX ? 20 : m == WD_EC_MODE_INSERTION ? 12 : 3;
}

wd_certify_params wd_certify_params_default(void) {
    return (wd_certify_params){.mode = WD_EC_MODE_SUFFIX,
                               .max_erase = 0,
                               .n_blocks = 1,
                               .sample_ratio = 0.0,
                               .greedy_rounds = 0,
                               .seed = 1,
                               .check_all = false,
                               .reuse = WD_EC_REUSE_PREFIX,
                               .role = WD_ROLE_INPUT,
                               .max_checks = 2000000};
}

wd_status wd_certify_params_parse(const char *spec, wd_certify_params *p) {
    if (!spec || !p) return wd__fail(WD_ERR_INVALID_ARG, "wd_certify_params_parse: NULL argument");
    wd_certify_params q = *p;
    char mode[32];
    size_t k = strcspn(spec, ":");
    bool ok = k < sizeof mode;
    if (ok) {
        memcpy(mode, spec, k);
        mode[k] = '\0';
        ok = wd_ec_mode_parse(mode, &q.mode) == WD_OK;
    }
    if (ok && spec[k]) {
        char *end;
        long d = strtol(spec + k + 1, &end, 10);
        ok = d >= 1 && d <= 100000 && (!*end || *end == ':');
        if (ok) q.max_erase = (int)d;
        if (ok && *end) {
            long b = strtol(end + 1, &end, 10);
            ok = b >= 1 && b <= 64 && !*end;
            if (ok) q.n_blocks = (int)b;
        }
    }
    if (!ok)
        return wd__fail(WD_ERR_INVALID_ARG,
                        "certify spec '%s': expected MODE[:D[:K]] with MODE suffix, insertion or infusion, "
                        "D in 1..100000 and K in 1..64",
                        spec);
    *p = q;
    return WD_OK;
}

wd_judge_params wd_judge_params_default(void) {
    return (wd_judge_params){.template_text = NULL, .categories = 0, .threshold = 0.5f,
                             .n_threads = 0};
}

/* ==== certifiers ========================================================= */

wd_status wd_certifier_new_guard(wd_guard *g, const wd_tokenizer *tok, wd_certifier **out) {
    if (out) *out = NULL;
    if (!g || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_certifier_new_guard: NULL argument");
    wd_certifier *c = calloc(1, sizeof *c);
    if (!c) return wd__fail(WD_ERR_NOMEM, "out of memory");
    c->kind = tok ? WD__EC_TOKENS : WD__EC_WORDS;
    c->g = g;
    c->tok = tok;
    *out = c;
    return WD_OK;
}

/* A decoder m (taken on success) as a judge with jp's prompt and threshold. */
static wd_status new_judge(wd_certifier *c, const char *dir, wd_model *m, const wd_judge_params *jp) {
    if (!wd_model_tokenizer(m))
        return wd__fail(WD_ERR_NOT_FOUND, "%s: no tokenizer.json (a judge needs the model's tokenizer)", dir);
    if (jp->threshold <= 0.0f || jp->threshold > 1.0f)
        return wd__fail(WD_ERR_INVALID_ARG, "judge threshold %g is not in (0, 1]", (double)jp->threshold);
    if (jp->template_text && !strstr(jp->template_text, "{text}"))
        return wd__fail(WD_ERR_FORMAT, "judge template has no {text} placeholder");
    wd_status st = wd__judge_new(m, jp->template_text, jp->categories & WD_CATMASK_HAZARDS, &c->judge);
    if (st == WD_ERR_UNSUPPORTED) return wd__err_prefix(st, "%s", dir);
    if (st) return st;
    c->kind = WD__EC_JUDGE;
    c->threshold = jp->threshold;
    c->tok = c->judge->tok;
    return WD_OK;
}

wd_status wd_certifier_new_model(const char *dir, const wd_judge_params *params,
                                 wd_certifier **out) {
    if (out) *out = NULL;
    if (!dir || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_certifier_new_model: NULL argument");
    wd_judge_params jp = params ? *params : wd_judge_params_default();
    wd_certifier *c = calloc(1, sizeof *c);
    if (!c) return wd__fail(WD_ERR_NOMEM, "out of memory");
    /* the folder is read once: the model (config.json, weights,
     * tokenizer.json), then what it is decides the filter */
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = jp.n_threads;
    wd_model *m = NULL;
    wd_status st = wd_model_load(dir, &mp, &m);
    if (st) goto fail;
    if (wd_model_config_family(wd_model_get_config(m)) == WD_MODEL_FAMILY_DECODER) {
        if ((st = new_judge(c, dir, m, &jp))) goto fail;
    } else {
        /* an encoder classifier: its one-scanner guard, units = its tokens */
        if (!wd_model_tokenizer(m)) {
            st = wd__fail(WD_ERR_NOT_FOUND, "%s: no tokenizer.json (the units are the model's tokens)", dir);
            goto fail;
        }
        const wd_tokenizer *tok = wd_model_tokenizer(m);
        if ((st = wd__guard_new_model(dir, m, NULL, &c->g))) goto fail;
        m = NULL; /* the guard's */
        c->own_guard = true;
        c->tok = tok;
        c->kind = WD__EC_TOKENS;
    }
    *out = c;
    return WD_OK;
fail:
    if (!c->judge && !c->g) wd_model_free(m); /* not taken */
    wd_certifier_free(c);
    return st;
}

void wd_certifier_free(wd_certifier *c) {
    if (!c) return;
    if (c->own_guard) wd_guard_free(c->g);
    wd__ec_cache_free(&c->cache); /* before the model its context belongs to */
    wd__judge_free(c->judge);
    free(c);
}

const char *wd_certifier_unit(const wd_certifier *c) {
    if (!c) return NULL;
    return c->kind == WD__EC_WORDS ? "words" : c->kind == WD__EC_TOKENS ? "tokens" : "judge tokens";
}

/* ==== checks ============================================================= */

/* Asks the filter about cs[0..n); records checks, the top score and the
 * first flagged candidate. *best gets the index of the highest score. */
static wd_status check_cands(run *r, const cand *const *cs, size_t n, size_t *best) {
    wd_status st = WD_OK;
    float *score = malloc((n ? n : 1) * sizeof *score);
    bool *flag = malloc((n ? n : 1) * sizeof *flag);
    if (!score || !flag) {
        free(score);
        free(flag);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    size_t step = r->c->kind == WD__EC_JUDGE ? n : WD__EC_GUARD_BATCH * 4;
    if (best) *best = 0;
    for (size_t at = 0; at < n && !st; at += step) {
        size_t m = n - at < step ? n - at : step, done = m;
        if (r->c->kind == WD__EC_JUDGE)
            st = wd__ec_judge_check(r, cs + at, m, score + at, flag + at, &done);
        else
            st = wd__ec_guard_check(r, cs + at, m, score + at, flag + at);
        if (st) break;
        r->r->n_checks += done;
        bool stop = false;
        for (size_t i = at; i < at + done; i++) {
            if (score[i] > r->r->max_score) r->r->max_score = score[i];
            if (best && score[i] > score[*best]) *best = i;
            if (flag[i] && !r->r->harmful) {
                r->r->harmful = true;
                const cand *c = cs[i];
                free(r->r->erased);
                r->r->erased = malloc((c->n ? c->n : 1) * sizeof *r->r->erased);
                if (!r->r->erased) {
                    st = wd__fail(WD_ERR_NOMEM, "out of memory");
                    break;
                }
                for (uint32_t j = 0; j < c->n; j++) r->r->erased[j] = r->pool[c->off + j];
                r->r->n_erased = c->n;
                if ((st = wd__ec_cand_text(r, c, &r->r->trigger, &r->r->trigger_len))) break;
            }
            if (flag[i] && !r->p->check_all) stop = true;
        }
        if (stop) break;
    }
    free(score);
    free(flag);
    return st;
}

/* ==== the methods ======================================================== */

static wd_status run_enumerated(run *r, size_t d) {
    const wd_certify_params *p = r->p;
    size_t n = r->n;
    double count = wd__ec_count(p->mode, n, d, p->n_blocks);
    if (count > (double)p->max_checks)
        return wd__fail(WD_ERR_RANGE,
                        "erase-and-check: %s mode with d = %zu on %zu units defines %.4g "
                        "subsequences, more than the limit of %zu (lower the erase length, or "
                        "sample them with --randomized)",
                        wd_ec_mode_str(p->mode), d, n, count, p->max_checks);
    size_t cap_stack = d * (size_t)p->n_blocks + 1;
    r->stack = malloc((cap_stack < n + 1 ? cap_stack : n + 1) * sizeof *r->stack);
    if (!r->stack) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = wd__ec_enumerate(r, d);
    if (st) return st;
    bool lex = r->c->kind == WD__EC_JUDGE;
    wd__ec_sort_dedup(r, 1, lex);
    r->r->n_subseq = r->n_cands;
    size_t n_rest = r->n_cands - 1;
    const cand **order = malloc(r->n_cands * sizeof *order);
    if (!order) return wd__fail(WD_ERR_NOMEM, "out of memory");
    order[0] = &r->cands[0];
    size_t m = n_rest;
    if (p->sample_ratio > 0.0 && p->sample_ratio < 1.0) {
        /* RandEC: a seeded partial Fisher-Yates draw, then back in order */
        m = (size_t)ceil(p->sample_ratio * (double)n_rest);
        if (m > n_rest) m = n_rest;
        cand *rest = r->cands + 1;
        uint64_t s = p->seed;
        for (size_t i = 0; i < m; i++) {
            size_t j = i + wd__rng_below(&s, n_rest - i);
            cand t = rest[i];
            rest[i] = rest[j];
            rest[j] = t;
        }
        wd__ec_sort(r, rest, m, lex);
    }
    for (size_t i = 0; i < m; i++) order[1 + i] = &r->cands[1 + i];
    /* the prompt alone first: a harmful prompt usually stops there */
    st = check_cands(r, order, 1, NULL);
    if (!st && (!r->r->harmful || p->check_all)) st = check_cands(r, order + 1, m, NULL);
    free(order);
    return st;
}

/* GreedyEC: each round erases the unit whose removal scores highest. */
static wd_status run_greedy(run *r) {
    size_t n = r->n;
    r->stack = malloc((n + 1) * sizeof *r->stack);
    uint32_t *cur = malloc((n + 1) * sizeof *cur); /* erased so far, ascending */
    const cand **order = malloc((n + 1) * sizeof *order);
    wd_status st = r->stack && cur && order ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t n_cur = 0;
    if (!st) st = wd__ec_emit(r);
    if (!st) {
        order[0] = &r->cands[0];
        st = check_cands(r, order, 1, NULL);
    }
    for (int round = 0; !st && !r->r->harmful && round < r->p->greedy_rounds && n_cur < n; round++) {
        size_t from = r->n_cands;
        for (size_t q = 0, ic = 0; q < n && !st; q++) {
            if (ic < n_cur && cur[ic] == q) {
                ic++;
                continue;
            }
            /* cur with q inserted in order */
            size_t k = 0;
            for (size_t j = 0; j < n_cur && cur[j] < q; j++) r->stack[k++] = cur[j];
            r->stack[k++] = (uint32_t)q;
            for (size_t j = k - 1; j < n_cur; j++) r->stack[k++] = cur[j];
            r->n_stack = k;
            st = wd__ec_emit(r);
        }
        if (st) break;
        wd__ec_sort_dedup(r, from, r->c->kind == WD__EC_JUDGE);
        size_t m = r->n_cands - from, best = 0;
        for (size_t i = 0; i < m; i++) order[i] = &r->cands[from + i];
        r->r->n_subseq += m;
        if ((st = check_cands(r, order, m, &best))) break;
        const cand *b = order[best];
        n_cur = b->n;
        memcpy(cur, r->pool + b->off, n_cur * sizeof *cur);
    }
    r->r->n_subseq += 1;
    free(cur);
    free(order);
    return st;
}

static wd_status certify_run(run *r, wd_certificate **out) {
    const wd_certify_params *p = r->p;
    wd_certificate *res = r->r;
    double t0 = wd__now_us();
    int d = p->max_erase ? p->max_erase : wd_ec_mode_default_erase(p->mode);
    res->mode = p->mode;
    res->max_erase = d;
    res->n_blocks = p->n_blocks;
    res->greedy_rounds = p->greedy_rounds;
    res->sample_ratio = p->sample_ratio;
    res->unit = wd_certifier_unit(r->c);
    res->n_units = r->n;
    wd_status st = p->greedy_rounds > 0 ? run_greedy(r) : run_enumerated(r, (size_t)d);
    res->micros = wd__now_us() - t0;
    free(r->cands);
    free(r->pool);
    free(r->stack);
    if (st) {
        wd_certificate_free(res);
        return st;
    }
    *out = res;
    return WD_OK;
}

static wd_status check_params(const wd_certify_params *p) {
    if ((unsigned)p->mode > WD_EC_MODE_INFUSION) return wd__fail(WD_ERR_INVALID_ARG, "erase-and-check: unknown mode %d", (int)p->mode);
    if (p->max_erase < 0 || p->max_erase > 100000)
        return wd__fail(WD_ERR_INVALID_ARG, "erase-and-check: max_erase %d is not in 0..100000", p->max_erase);
    if (p->n_blocks < 1 || p->n_blocks > 64)
        return wd__fail(WD_ERR_INVALID_ARG, "erase-and-check: n_blocks %d is not in 1..64", p->n_blocks);
    if (!(p->sample_ratio >= 0.0 && p->sample_ratio <= 1.0))
        return wd__fail(WD_ERR_INVALID_ARG, "erase-and-check: sample_ratio %g is not in [0, 1]", p->sample_ratio);
    if (p->greedy_rounds < 0)
        return wd__fail(WD_ERR_INVALID_ARG, "erase-and-check: greedy_rounds %d is negative", p->greedy_rounds);
    return WD_OK;
}

static bool is_space(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Words of text: spans and interned ids (equal words, equal ids). */
static wd_status split_words(const char *text, size_t len, int32_t **ids, size_t **spans, size_t *n) {
    size_t cap = 0, k = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_space((unsigned char)text[i]) && (i == 0 || is_space((unsigned char)text[i - 1]))) cap++;
    *ids = malloc((cap ? cap : 1) * sizeof **ids);
    *spans = malloc((cap ? cap : 1) * 2 * sizeof **spans);
    size_t tsize = 16;
    while (tsize < 2 * cap) tsize *= 2;
    int32_t *table = malloc(tsize * sizeof *table); /* word index + 1, 0 = empty */
    if (!*ids || !*spans || !table) {
        free(table);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    memset(table, 0, tsize * sizeof *table);
    int32_t next_id = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space((unsigned char)text[i])) i++;
        if (i >= len) break;
        size_t s = i;
        while (i < len && !is_space((unsigned char)text[i])) i++;
        (*spans)[2 * k] = s;
        (*spans)[2 * k + 1] = i;
        uint64_t h = wd__fnv1a(text + s, i - s);
        size_t slot = (size_t)h & (tsize - 1);
        for (;;) {
            int32_t t = table[slot];
            if (!t) {
                table[slot] = (int32_t)k + 1;
                (*ids)[k] = next_id++;
                break;
            }
            size_t os = (*spans)[2 * (t - 1)], oe = (*spans)[2 * (t - 1) + 1];
            if (oe - os == i - s && !memcmp(text + os, text + s, i - s)) {
                (*ids)[k] = (*ids)[t - 1];
                break;
            }
            slot = (slot + 1) & (tsize - 1);
        }
        k++;
    }
    free(table);
    *n = k;
    return WD_OK;
}

wd_status wd_certify(wd_certifier *c, const char *text, size_t len, const wd_certify_params *params,
                     wd_certificate **out) {
    if (out) *out = NULL;
    if (!c || !out || (!text && len)) return wd__fail(WD_ERR_INVALID_ARG, "wd_certify: NULL argument");
    wd_certify_params p = params ? *params : wd_certify_params_default();
    wd_status st = check_params(&p);
    if (st) return st;
    if (!text) text = "";
    wd_certificate *res = calloc(1, sizeof *res);
    if (!res) return wd__fail(WD_ERR_NOMEM, "out of memory");
    int32_t *ids = NULL;
    size_t *spans = NULL, n = 0;
    if (c->kind == WD__EC_WORDS) {
        st = split_words(text, len, &ids, &spans, &n);
    } else {
        wd_encode_params ep = wd_encode_params_default();
        ep.add_special_tokens = false;
        wd_encoding *enc = NULL;
        st = wd_tokenizer_encode(c->tok, text, len, &ep, &enc);
        if (!st) {
            n = wd_encoding_len(enc);
            ids = malloc((n ? n : 1) * sizeof *ids);
            spans = malloc((n ? n : 1) * 2 * sizeof *spans);
            if (!ids || !spans) {
                st = wd__fail(WD_ERR_NOMEM, "out of memory");
            } else {
                if (n) memcpy(ids, wd_encoding_ids(enc), n * sizeof *ids);
                const wd_offset *o = wd_encoding_offsets(enc);
                for (size_t i = 0; i < n; i++) spans[2 * i] = o[i].start, spans[2 * i + 1] = o[i].end;
            }
        }
        wd_encoding_free(enc);
    }
    if (st) {
        free(ids);
        free(spans);
        free(res);
        return st;
    }
    res->spans = spans;
    run r = {.c = c, .p = &p, .text = text, .u = ids, .n = n, .span = spans, .r = res};
    st = certify_run(&r, out);
    free(ids);
    return st;
}

wd_status wd_certify_units(wd_certifier *c, const int32_t *ids, size_t n,
                           const wd_certify_params *params, wd_certificate **out) {
    if (out) *out = NULL;
    if (!c || !out || (!ids && n)) return wd__fail(WD_ERR_INVALID_ARG, "wd_certify_units: NULL argument");
    if (c->kind == WD__EC_WORDS)
        return wd__fail(WD_ERR_UNSUPPORTED, "wd_certify_units: a word certifier takes text (wd_certify)");
    wd_certify_params p = params ? *params : wd_certify_params_default();
    wd_status st = check_params(&p);
    if (st) return st;
    size_t V = c->judge ? c->judge->n_vocab : wd_tokenizer_vocab_size(c->tok);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= V)
            return wd__fail(WD_ERR_RANGE, "wd_certify_units: id %d at %zu is outside the vocabulary of %zu",
                            ids[i], i, V);
    wd_certificate *res = calloc(1, sizeof *res);
    if (!res) return wd__fail(WD_ERR_NOMEM, "out of memory");
    run r = {.c = c, .p = &p, .text = NULL, .u = ids, .n = n, .span = NULL, .r = res};
    return certify_run(&r, out);
}

