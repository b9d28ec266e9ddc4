/*
 * certify/erase_check.c - certified erase-and-check (Kumar et al. 2023) over
 * any guard, plus RandEC and GreedyEC. See include/warden/certify.h for the
 * modes, counts and the certificate; ../shared/METHODS.md section 1a-1b for
 * the paper's numbers.
 *
 * A prompt is a sequence u[0..n) of units (word ids, or token ids). Every
 * subsequence the mode defines is named by its set E of erased positions
 * (ascending, stored in one pool):
 *
 *     suffix     E = {n-i .. n-1}                 i = 1..min(d, n)
 *     insertion  E = a union of maximal runs r_1 < r_2 < ... with
 *                sum ceil(|r_j| / d) <= k          (each run needs that many blocks)
 *     infusion   E = any subset with |E| <= d
 *
 * Each set is generated exactly once (runs are emitted left to right with a
 * kept unit between them). Identical kept sequences (repeated units) are
 * merged: the candidates are sorted with a comparator over the kept
 * sequences (a merge walk that skips erased positions, no copy), and equal
 * neighbours dropped. The empty set (the prompt itself) is checked first.
 *
 * Filters:
 *   guard   kept units -> text (words: each kept word with the spacing that
 *           preceded it in the original; tokens: the decoded kept ids) ->
 *           wd_guard_check_batch, 64 texts at a time; flagged = unsafe.
 *   judge   head + kept token ids + tail -> the decoder, p(unsafe) after it.
 *           The candidates are in lexicographic order of their token
 *           sequences, i.e. a depth-first walk of their trie, and the KV
 *           cache keeps the longest common prefix with the previous check
 *           (cached[] mirrors the cache's tokens):
 *
 *             cached:  head | u0 u1 u2 ... u79 | tail
 *             next:    head | u0 u1 u2 ... u79 u80 | tail
 *                      `------ kept (lcp) -----'  decoded: u80 + tail
 *
 *           Checks whose rest (past the longest prefix in the cache) is
 *           short are scored together as branches of the cached sequence
 *           in one batched pass (wd_model_decode_branches), up to 32 at a
 *           time; a check with a long rest moves the cache instead. In
 *           suffix mode that is one pass over head + prompt + tail, then one
 *           batched pass over the d tails. The cache also survives between
 *           prompts, so the head is computed once per certifier.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "base/util.h"
#include "guard/judge.h"
#include "warden/certify.h"
#include "warden/model.h"
#include "warden/tokenizer.h"

#define GUARD_BATCH 64

/* Judges: groups of checks whose part past the cache is short go through one
 * batched pass as branches of the cached sequence (wd_model_decode_branches);
 * a longer one moves the cache instead. */
#define BRANCH_MAX_LEN 64
#define BRANCH_MAX_N   32

enum { KIND_WORDS, KIND_TOKENS, KIND_JUDGE };

struct wd_certifier {
    int                 kind;
    wd_guard           *g;
    bool                own_guard;
    const wd_tokenizer *tok;
    wd_tokenizer       *own_tok;
    /* judge */
    wd_model   *m;
    wd_context *ctx;
    char       *tmpl;
    wd_catmask  cats;
    float       threshold;
    int32_t    *unsafe;
    size_t      n_unsafe;
    int32_t    *head[2], *tail[2]; /* per role, built on first use */
    size_t      n_head[2], n_tail[2];
    bool        have_parts[2];
    int32_t    *cached, *seq;      /* tokens in the cache / the next check */
    size_t      n_cached, cap_seq;
    /* a group of branches: ids, offsets, forks, logits (BRANCH_MAX_N, V) */
    int32_t    *gids;
    size_t     *goff, *gfork, cap_gids;
    float      *glogits;
    bool        no_branches;
};

struct wd_certificate {
    bool        harmful;
    wd_ec_mode  mode;
    int         max_erase, n_blocks, greedy_rounds;
    double      sample_ratio;
    const char *unit;
    size_t      n_units, n_subseq, n_checks, n_tokens;
    float       max_score;
    char       *trigger;
    size_t      trigger_len;
    size_t     *erased, n_erased;
    size_t     *spans; /* (n_units, 2) or NULL */
    char       *error;
    double      micros;
};

/* A subsequence: erased positions pool[off .. off+n). */
typedef struct cand {
    uint64_t hash;
    size_t   off;
    uint32_t n;
} cand;

/* Everything one wd_certify call builds. */
typedef struct run {
    wd_certifier            *c;
    const wd_certify_params *p;
    const char              *text; /* NULL for unit input */
    const int32_t           *u;    /* unit ids, n of them */
    size_t                   n;
    const size_t            *span; /* (n, 2) byte ranges in text, or NULL */
    cand                    *cands;
    size_t                   n_cands, cap_cands;
    uint32_t                *pool;
    size_t                   n_pool, cap_pool;
    uint32_t                *stack; /* the set being enumerated */
    size_t                   n_stack;
    wd_certificate          *r;
} run;

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
    return m == WD_EC_SUFFIX ? 20 : m == WD_EC_INSERTION ? 12 : 3;
}

wd_certify_params wd_certify_params_default(void) {
    return (wd_certify_params){.mode = WD_EC_SUFFIX,
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

wd_judge_params wd_judge_params_default(void) {
    return (wd_judge_params){.template_text = NULL, .categories = 0, .threshold = 0.5f,
                             .n_threads = 0};
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ==== certifiers ========================================================= */

wd_status wd_certifier_new_guard(wd_guard *g, const wd_tokenizer *tok, wd_certifier **out) {
    if (out) *out = NULL;
    if (!g || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_certifier_new_guard: NULL argument");
    wd_certifier *c = calloc(1, sizeof *c);
    if (!c) return wd__fail(WD_ERR_NOMEM, "out of memory");
    c->kind = tok ? KIND_TOKENS : KIND_WORDS;
    c->g = g;
    c->tok = tok;
    *out = c;
    return WD_OK;
}

/* An encoder classifier: its one-scanner guard, units = its tokens. */
static wd_status new_encoder(const char *dir, wd_certifier *c) {
    char *tp = wd__path_join(dir, "tokenizer.json");
    if (!tp) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = wd_tokenizer_load(tp, &c->own_tok);
    free(tp);
    if (st || (st = wd_guard_load_model(dir, NULL, &c->g))) return st;
    c->own_guard = true;
    c->tok = c->own_tok;
    c->kind = KIND_TOKENS;
    return WD_OK;
}

wd_status wd_certifier_new_model(const char *dir, const wd_judge_params *params,
                                 wd_certifier **out) {
    if (out) *out = NULL;
    if (!dir || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_certifier_new_model: NULL argument");
    wd_judge_params jp = params ? *params : wd_judge_params_default();
    wd_certifier *c = calloc(1, sizeof *c);
    if (!c) return wd__fail(WD_ERR_NOMEM, "out of memory");
    /* the family from config.json alone, so an encoder is loaded once (by its guard) */
    size_t dl = strlen(dir);
    bool decoder = dl > 5 && !strcmp(dir + dl - 5, ".gguf") && !wd__path_is_dir(dir); /* GGUF: decoders */
    wd_status st = WD_OK;
    if (!decoder) {
        char *cfg_path = wd__path_join(dir, "config.json");
        wd_model_config *cfg = NULL;
        st = cfg_path ? wd_model_config_load(cfg_path, &cfg) : wd__fail(WD_ERR_NOMEM, "out of memory");
        free(cfg_path);
        if (st) goto fail;
        decoder = wd_model_config_family(cfg) == WD_MODEL_FAMILY_DECODER;
        wd_model_config_free(cfg);
    }
    if (!decoder) {
        if ((st = new_encoder(dir, c))) goto fail;
        *out = c;
        return WD_OK;
    }
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = jp.n_threads;
    if ((st = wd_model_load(dir, &mp, &c->m))) goto fail;
    c->kind = KIND_JUDGE;
    c->tok = wd_model_tokenizer(c->m);
    if (!c->tok) {
        st = wd__fail(WD_ERR_NOT_FOUND, "%s: no tokenizer.json (a judge needs the model's tokenizer)", dir);
        goto fail;
    }
    if (jp.threshold <= 0.0f || jp.threshold > 1.0f) {
        st = wd__fail(WD_ERR_INVALID_ARG, "judge threshold %g is not in (0, 1]", (double)jp.threshold);
        goto fail;
    }
    c->threshold = jp.threshold;
    c->cats = jp.categories & WD_CATMASK_HAZARDS;
    if (jp.template_text) {
        if (!strstr(jp.template_text, "{text}")) {
            st = wd__fail(WD_ERR_FORMAT, "judge template has no {text} placeholder");
            goto fail;
        }
        if (!(c->tmpl = strdup(jp.template_text))) {
            st = wd__fail(WD_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    if ((st = wd__judge_unsafe_ids(c->tok, wd_model_n_vocab(c->m), &c->unsafe, &c->n_unsafe))) {
        st = wd__fail(st, "out of memory");
        goto fail;
    }
    if (!c->n_unsafe) {
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s: the tokenizer cannot write 'unsafe'", dir);
        goto fail;
    }
    *out = c;
    return WD_OK;
fail:
    wd_certifier_free(c);
    return st;
}

void wd_certifier_free(wd_certifier *c) {
    if (!c) return;
    if (c->own_guard) wd_guard_free(c->g);
    wd_tokenizer_free(c->own_tok);
    wd_context_free(c->ctx);
    wd_model_free(c->m);
    free(c->tmpl);
    free(c->unsafe);
    for (int r = 0; r < 2; r++) {
        free(c->head[r]);
        free(c->tail[r]);
    }
    free(c->cached);
    free(c->seq);
    free(c->gids);
    free(c->goff);
    free(c->gfork);
    free(c->glogits);
    free(c);
}

const char *wd_certifier_unit(const wd_certifier *c) {
    if (!c) return NULL;
    return c->kind == KIND_WORDS ? "words" : c->kind == KIND_TOKENS ? "tokens" : "judge tokens";
}

/* ==== enumeration ======================================================== */

/* Appends the set on the stack as a candidate. */
static wd_status emit(run *r) {
    wd_status st;
    if ((st = wd__array_grow((void **)&r->cands, &r->cap_cands, r->n_cands + 1, sizeof *r->cands)) ||
        (st = wd__array_grow((void **)&r->pool, &r->cap_pool, r->n_pool + r->n_stack, sizeof *r->pool)))
        return st;
    if (r->n_stack) memcpy(r->pool + r->n_pool, r->stack, r->n_stack * sizeof *r->pool);
    r->cands[r->n_cands++] = (cand){.hash = 0, .off = r->n_pool, .n = (uint32_t)r->n_stack};
    r->n_pool += r->n_stack;
    return WD_OK;
}

/* Insertion: runs starting at >= start, kk blocks of <= d left. */
static wd_status enum_insertion(run *r, size_t start, int kk, size_t d) {
    for (size_t s = start; s < r->n; s++) {
        size_t max_len = (size_t)kk * d;
        for (size_t len = 1; len <= max_len && s + len <= r->n; len++) {
            for (size_t i = 0; i < len; i++) r->stack[r->n_stack + i] = (uint32_t)(s + i);
            r->n_stack += len;
            int used = (int)((len + d - 1) / d);
            wd_status st = emit(r);
            if (!st && kk - used > 0) st = enum_insertion(r, s + len + 1, kk - used, d);
            r->n_stack -= len;
            if (st) return st;
        }
    }
    return WD_OK;
}

/* Infusion: subsets of positions >= start, up to left more. */
static wd_status enum_infusion(run *r, size_t start, size_t left) {
    for (size_t s = start; s < r->n; s++) {
        r->stack[r->n_stack++] = (uint32_t)s;
        wd_status st = emit(r);
        if (!st && left > 1) st = enum_infusion(r, s + 1, left - 1);
        r->n_stack--;
        if (st) return st;
    }
    return WD_OK;
}

/* Saturating counts of the sets each mode defines (the prompt included),
 * checked against max_checks before anything is enumerated. */
#define COUNT_MAX ((double)SIZE_MAX)

static double count_infusion(size_t n, size_t d) {
    double total = 1.0, c = 1.0;
    for (size_t i = 1; i <= d && i <= n; i++) {
        c = c * (double)(n - i + 1) / (double)i;
        total += c;
    }
    return total;
}

/* g(p, kk): sets over positions p.. with position p free to start a run. */
static double count_insertion(size_t n, size_t d, int k) {
    double *g = calloc((n + 2) * (size_t)(k + 1), sizeof *g);
    if (!g) return COUNT_MAX;
#define G(p, kk) g[(size_t)(p) * (size_t)(k + 1) + (size_t)(kk)]
    for (int kk = 0; kk <= k; kk++) G(n, kk) = G(n + 1, kk) = 1.0;
    for (size_t p = n; p-- > 0;)
        for (int kk = 0; kk <= k; kk++) {
            double v = G(p + 1, kk);
            for (size_t len = 1; p + len <= n && len <= (size_t)kk * d; len++) {
                int used = (int)((len + d - 1) / d);
                size_t next = p + len + 1 <= n ? p + len + 1 : n;
                v += G(next, kk - used);
            }
            G(p, kk) = v;
        }
    double total = G(0, k);
#undef G
    free(g);
    return total;
}

static uint64_t kept_hash(const run *r, const cand *c) {
    const uint32_t *e = r->pool + c->off;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t ie = 0;
    for (size_t p = 0; p < r->n; p++) {
        if (ie < c->n && e[ie] == p) {
            ie++;
            continue;
        }
        h = (h ^ (uint32_t)r->u[p]) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

/* Compares the kept sequences of two candidates lexicographically (a proper
 * prefix sorts first) without building them. */
static int cmp_kept(const run *r, const cand *a, const cand *b) {
    const uint32_t *ea = r->pool + a->off, *eb = r->pool + b->off;
    size_t pa = 0, pb = 0, ia = 0, ib = 0;
    for (;;) {
        while (ia < a->n && ea[ia] == pa) pa++, ia++;
        while (ib < b->n && eb[ib] == pb) pb++, ib++;
        bool enda = pa >= r->n, endb = pb >= r->n;
        if (enda || endb) return enda && endb ? 0 : enda ? -1 : 1;
        if (r->u[pa] != r->u[pb]) return r->u[pa] < r->u[pb] ? -1 : 1;
        pa++, pb++;
    }
}

static _Thread_local const run *sort_run;
static _Thread_local bool sort_by_hash;

static int cmp_cand(const void *x, const void *y) {
    const cand *a = x, *b = y;
    if (sort_by_hash && a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    return cmp_kept(sort_run, a, b);
}

/* Sorts cands[from..n_cands) (lexicographically for a judge, by hash
 * otherwise) and drops duplicate kept sequences. */
static void sort_dedup(run *r, size_t from, bool lexicographic) {
    size_t n = r->n_cands - from;
    cand *cs = r->cands + from;
    for (size_t i = 0; i < n; i++) cs[i].hash = kept_hash(r, &cs[i]);
    sort_run = r;
    sort_by_hash = !lexicographic;
    qsort(cs, n, sizeof *cs, cmp_cand);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || cs[i].hash != cs[w - 1].hash || cmp_kept(r, &cs[i], &cs[w - 1]))
            cs[w++] = cs[i];
    r->n_cands = from + w;
}

/* ==== filters ============================================================ */

/* The kept ids of candidate c into out (room for n). Returns their count. */
static size_t kept_ids(const run *r, const cand *c, int32_t *out) {
    const uint32_t *e = r->pool + c->off;
    size_t k = 0, ie = 0;
    for (size_t p = 0; p < r->n; p++) {
        if (ie < c->n && e[ie] == p) {
            ie++;
            continue;
        }
        out[k++] = r->u[p];
    }
    return k;
}

/* The text of candidate c, malloc'd, into *out (*len bytes). */
static wd_status cand_text(run *r, const cand *c, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (r->c->kind == KIND_WORDS) {
        const uint32_t *e = r->pool + c->off;
        /* the kept pieces are disjoint ranges of the original */
        size_t cap = r->n ? r->span[2 * r->n - 1] : 0, ie = 0;
        char *t = malloc(cap + 1), *w = t;
        if (!t) return wd__fail(WD_ERR_NOMEM, "out of memory");
        bool first = true;
        for (size_t p = 0; p < r->n; p++) {
            if (ie < c->n && e[ie] == p) {
                ie++;
                continue;
            }
            /* the spacing that preceded this word in the original */
            size_t from = first || p == 0 ? r->span[2 * p] : r->span[2 * p - 1];
            memcpy(w, r->text + from, r->span[2 * p + 1] - from);
            w += r->span[2 * p + 1] - from;
            first = false;
        }
        *w = '\0';
        *out = t;
        *len = (size_t)(w - t);
        return WD_OK;
    }
    int32_t *ids = malloc((r->n ? r->n : 1) * sizeof *ids);
    if (!ids) return wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t k = kept_ids(r, c, ids);
    wd_decode_params dp = wd_decode_params_default();
    dp.skip_special_tokens = false;
    wd_status st = wd_tokenizer_decode(r->c->tok, ids, k, &dp, out, len);
    free(ids);
    return st;
}

static float verdict_max_score(const wd_verdict *v) {
    float s = 0.0f;
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        float x = wd_verdict_score(v, (wd_category)c);
        if (x > s) s = x;
    }
    return s;
}

/* Guard filter: scores cs[0..n) into score[] / flag[]. */
static wd_status guard_batch(run *r, const cand *const *cs, size_t n, float *score, bool *flag) {
    char *texts[GUARD_BATCH];
    size_t lens[GUARD_BATCH];
    wd_verdict *v[GUARD_BATCH];
    wd_check_params cp = wd_check_params_default();
    cp.role = r->p->role;
    for (size_t at = 0; at < n; at += GUARD_BATCH) {
        size_t m = n - at < GUARD_BATCH ? n - at : GUARD_BATCH;
        wd_status st = WD_OK;
        size_t made = 0;
        for (; made < m && !st; made++) st = cand_text(r, cs[at + made], &texts[made], &lens[made]);
        if (!st) st = wd_guard_check_batch(r->c->g, (const char *const *)texts, lens, m, &cp, v);
        for (size_t i = 0; i < made; i++) free(texts[i]);
        if (st) return st;
        for (size_t i = 0; i < m; i++) {
            flag[at + i] = wd_verdict_unsafe(v[i]);
            score[at + i] = verdict_max_score(v[i]);
            const char *e = wd_verdict_error(v[i]);
            if (e && !r->r->error) r->r->error = strdup(e);
            wd_verdict_free(v[i]);
        }
    }
    return WD_OK;
}

/* The judge's head and tail for role, tokenized once. */
static wd_status judge_parts(wd_certifier *c, wd_role role) {
    if (c->have_parts[role]) return WD_OK;
    wd_status st = wd__judge_parts(c->tok, c->tmpl, c->cats, role, &c->head[role], &c->n_head[role],
                                   &c->tail[role], &c->n_tail[role]);
    if (st) return wd__fail(st, "judge prompt: %s", wd_last_error());
    if (c->n_head[role] + c->n_tail[role] == 0)
        return wd__fail(WD_ERR_FORMAT, "judge template is only {text}: nothing to ask the model");
    c->have_parts[role] = true;
    return WD_OK;
}

/* A context holding at least n tokens; the cache is lost when it grows. */
static wd_status judge_ctx(wd_certifier *c, size_t n) {
    size_t max = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(c->m));
    if (n > max)
        return wd__fail(WD_ERR_RANGE,
                        "erase-and-check: a check of %zu tokens (template + prompt) exceeds the "
                        "judge's %zu positions",
                        n, max);
    if (c->ctx && wd_context_n_ctx(c->ctx) >= n) return WD_OK;
    wd_context_free(c->ctx);
    c->ctx = NULL;
    c->n_cached = 0;
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = n < 1024 ? (max < 1024 ? max : 1024) : n;
    wd_status st = wd_context_new(c->m, &cp, &c->ctx);
    if (st) return wd__fail(st, "%s", wd_model_last_error(c->m));
    free(c->cached);
    if (!(c->cached = malloc(cp.n_ctx * sizeof *c->cached)))
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!c->gids) {
        /* the default n_batch (512) bounds a group's rows */
        c->cap_gids = cp.n_ctx < 512 ? cp.n_ctx : 512;
        c->gids = malloc(c->cap_gids * sizeof *c->gids);
        c->goff = malloc((BRANCH_MAX_N + 1) * sizeof *c->goff);
        c->gfork = malloc(BRANCH_MAX_N * sizeof *c->gfork);
        c->glogits = malloc((size_t)BRANCH_MAX_N * wd_model_n_vocab(c->m) * sizeof *c->glogits);
        if (!c->gids || !c->goff || !c->gfork || !c->glogits)
            return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    return WD_OK;
}

/* The token sequence head + kept + tail of candidate cd into c->seq;
 * returns its length. */
static size_t judge_seq(run *r, const cand *cd, wd_role role) {
    wd_certifier *c = r->c;
    size_t nh = c->n_head[role], nt = c->n_tail[role];
    int32_t *s = c->seq;
    memcpy(s, c->head[role], nh * sizeof *s);
    size_t k = kept_ids(r, cd, s + nh);
    memcpy(s + nh + k, c->tail[role], nt * sizeof *s);
    return nh + k + nt;
}

/* The longest prefix of s (ns tokens) already in the cache, as the reuse
 * level allows, leaving at least the last token to compute. */
static size_t judge_keep(const run *r, const int32_t *s, size_t ns, size_t nh) {
    const wd_certifier *c = r->c;
    size_t l = 0;
    if (r->p->reuse != WD_EC_REUSE_NONE) {
        size_t lim = c->n_cached < ns ? c->n_cached : ns;
        while (l < lim && c->cached[l] == s[l]) l++;
        if (r->p->reuse == WD_EC_REUSE_TEMPLATE && l > nh) l = nh;
    }
    return l >= ns ? ns - 1 : l;
}

/* Tries to score cs[0..n) from the front as one group of branches. Returns
 * how many it scored (0: fewer than two fit; do the next one alone). */
static wd_status judge_group(run *r, const cand *const *cs, size_t n, wd_role role, float *score,
                             bool *flag, size_t *n_done) {
    wd_certifier *c = r->c;
    *n_done = 0;
    size_t V = wd_model_n_vocab(c->m), nh = c->n_head[role];
    size_t budget = wd_context_n_ctx(c->ctx) - c->n_cached;
    if (budget > c->cap_gids) budget = c->cap_gids;
    size_t g = 0, rows = 0;
    c->goff[0] = 0;
    while (g < n && g < BRANCH_MAX_N) {
        size_t ns = judge_seq(r, cs[g], role), f = judge_keep(r, c->seq, ns, nh), len = ns - f;
        if (len > BRANCH_MAX_LEN || rows + len > budget) break;
        memcpy(c->gids + rows, c->seq + f, len * sizeof *c->gids);
        c->gfork[g] = f;
        rows += len;
        c->goff[++g] = rows;
    }
    if (g < 2) return WD_OK;
    wd_status st = wd_model_decode_branches(c->ctx, c->gids, c->goff, c->gfork, g, c->glogits);
    if (st == WD_ERR_UNSUPPORTED) { /* e.g. a sliding window: one at a time */
        c->no_branches = true;
        return WD_OK;
    }
    if (st) return wd__fail(st, "judge: %s", wd_model_last_error(c->m));
    r->r->n_tokens += rows;
    for (size_t i = 0; i < g; i++) {
        double pu = wd__judge_p_unsafe(c->glogits + i * V, V, c->unsafe, c->n_unsafe, NULL);
        score[i] = (float)pu;
        flag[i] = pu >= (double)c->threshold;
    }
    *n_done = g;
    return WD_OK;
}

/* Judge filter: checks in order, keeping the shared prefix in the cache.
 * Stops after the first flagged one (or its group) unless check_all;
 * *done = checks made. */
static wd_status judge_batch(run *r, const cand *const *cs, size_t n, float *score, bool *flag,
                             size_t *done) {
    wd_certifier *c = r->c;
    wd_role role = r->p->role == WD_ROLE_OUTPUT ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    *done = 0;
    wd_status st = judge_parts(c, role);
    if (st) return st;
    size_t nh = c->n_head[role], nt = c->n_tail[role], V = wd_model_n_vocab(c->m);
    size_t need = nh + r->n + nt;
    if ((st = judge_ctx(c, need)) ||
        (st = wd__array_grow((void **)&c->seq, &c->cap_seq, need, sizeof *c->seq)))
        return st;
    for (size_t i = 0; i < n;) {
        size_t g = 0;
        if (r->p->reuse == WD_EC_REUSE_PREFIX && !c->no_branches && c->n_cached &&
            (st = judge_group(r, cs + i, n - i, role, score + i, flag + i, &g)))
            return st;
        if (g == 0) {
            size_t ns = judge_seq(r, cs[i], role), l = judge_keep(r, c->seq, ns, nh);
            const int32_t *s = c->seq;
            if ((st = wd_context_truncate(c->ctx, l))) return wd__fail(st, "%s", wd_model_last_error(c->m));
            c->n_cached = l;
            if ((st = wd_model_decode(c->ctx, s + l, ns - l, NULL, WD_LOGITS_MODE_NONE)))
                return wd__fail(st, "judge: %s", wd_model_last_error(c->m));
            memcpy(c->cached + l, s + l, (ns - l) * sizeof *s);
            c->n_cached = ns;
            r->r->n_tokens += ns - l;
            double pu = wd__judge_p_unsafe(wd_context_logits(c->ctx), V, c->unsafe, c->n_unsafe, NULL);
            score[i] = (float)pu;
            flag[i] = pu >= (double)c->threshold;
            g = 1;
        }
        bool stop = false;
        for (size_t j = i; j < i + g; j++) stop |= flag[j] && !r->p->check_all;
        i += g;
        *done = i;
        if (stop) break;
    }
    return WD_OK;
}

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
    size_t step = r->c->kind == KIND_JUDGE ? n : GUARD_BATCH * 4;
    if (best) *best = 0;
    for (size_t at = 0; at < n && !st; at += step) {
        size_t m = n - at < step ? n - at : step, done = m;
        if (r->c->kind == KIND_JUDGE)
            st = judge_batch(r, cs + at, m, score + at, flag + at, &done);
        else
            st = guard_batch(r, cs + at, m, score + at, flag + at);
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
                if ((st = cand_text(r, c, &r->r->trigger, &r->r->trigger_len))) break;
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
    double count = p->mode == WD_EC_SUFFIX      ? (double)((d < n ? d : n) + 1)
                   : p->mode == WD_EC_INFUSION  ? count_infusion(n, d)
                                                : count_insertion(n, d, p->n_blocks);
    if (count > (double)p->max_checks)
        return wd__fail(WD_ERR_RANGE,
                        "erase-and-check: %s mode with d = %zu on %zu units defines %.4g "
                        "subsequences, more than the limit of %zu (lower the erase length, or "
                        "sample them with --randomized)",
                        wd_ec_mode_str(p->mode), d, n, count, p->max_checks);
    size_t cap_stack = d * (size_t)p->n_blocks + 1;
    r->stack = malloc((cap_stack < n + 1 ? cap_stack : n + 1) * sizeof *r->stack);
    if (!r->stack) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = emit(r); /* the prompt itself */
    if (st) return st;
    if (p->mode == WD_EC_SUFFIX) {
        for (size_t i = 1; i <= d && i <= n && !st; i++) {
            r->n_stack = i;
            for (size_t j = 0; j < i; j++) r->stack[j] = (uint32_t)(n - i + j);
            st = emit(r);
        }
        r->n_stack = 0;
    } else if (p->mode == WD_EC_INFUSION) {
        if (d > 0) st = enum_infusion(r, 0, d);
    } else if (d > 0) {
        st = enum_insertion(r, 0, p->n_blocks, d);
    }
    if (st) return st;
    bool lex = r->c->kind == KIND_JUDGE;
    sort_dedup(r, 1, lex);
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
            size_t j = i + (size_t)(splitmix(&s) % (n_rest - i));
            cand t = rest[i];
            rest[i] = rest[j];
            rest[j] = t;
        }
        sort_run = r;
        sort_by_hash = !lex;
        qsort(rest, m, sizeof *rest, cmp_cand);
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
    if (!st) st = emit(r);
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
            st = emit(r);
        }
        if (st) break;
        sort_dedup(r, from, r->c->kind == KIND_JUDGE);
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
    if ((unsigned)p->mode > WD_EC_INFUSION) return wd__fail(WD_ERR_INVALID_ARG, "erase-and-check: unknown mode %d", (int)p->mode);
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
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t j = s; j < i; j++) h = (h ^ (unsigned char)text[j]) * 0x100000001b3ULL;
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
    if (c->kind == KIND_WORDS) {
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
    if (c->kind == KIND_WORDS)
        return wd__fail(WD_ERR_UNSUPPORTED, "wd_certify_units: a word certifier takes text (wd_certify)");
    wd_certify_params p = params ? *params : wd_certify_params_default();
    wd_status st = check_params(&p);
    if (st) return st;
    size_t V = c->m ? wd_model_n_vocab(c->m) : wd_tokenizer_vocab_size(c->tok);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= V)
            return wd__fail(WD_ERR_RANGE, "wd_certify_units: id %d at %zu is outside the vocabulary of %zu",
                            ids[i], i, V);
    wd_certificate *res = calloc(1, sizeof *res);
    if (!res) return wd__fail(WD_ERR_NOMEM, "out of memory");
    run r = {.c = c, .p = &p, .text = NULL, .u = ids, .n = n, .span = NULL, .r = res};
    return certify_run(&r, out);
}

/* ==== certificates ======================================================= */

void wd_certificate_free(wd_certificate *r) {
    if (!r) return;
    free(r->trigger);
    free(r->erased);
    free(r->spans);
    free(r->error);
    free(r);
}

bool wd_certificate_harmful(const wd_certificate *r) { return r && r->harmful; }
size_t wd_certificate_n_units(const wd_certificate *r) { return r ? r->n_units : 0; }
size_t wd_certificate_n_subsequences(const wd_certificate *r) { return r ? r->n_subseq : 0; }
size_t wd_certificate_n_checks(const wd_certificate *r) { return r ? r->n_checks : 0; }
size_t wd_certificate_n_tokens_decoded(const wd_certificate *r) { return r ? r->n_tokens : 0; }
float wd_certificate_max_score(const wd_certificate *r) { return r ? r->max_score : 0.0f; }
const char *wd_certificate_error(const wd_certificate *r) { return r ? r->error : NULL; }
double wd_certificate_micros(const wd_certificate *r) { return r ? r->micros : 0.0; }

const char *wd_certificate_trigger(const wd_certificate *r, size_t *len) {
    if (len) *len = r && r->trigger ? r->trigger_len : 0;
    return r && r->harmful ? r->trigger : NULL;
}

const size_t *wd_certificate_erased(const wd_certificate *r, size_t *n) {
    if (n) *n = r && r->harmful ? r->n_erased : 0;
    return r && r->harmful ? r->erased : NULL;
}

bool wd_certificate_unit_span(const wd_certificate *r, size_t i, size_t *start, size_t *end) {
    if (!r || !r->spans || i >= r->n_units) return false;
    if (start) *start = r->spans[2 * i];
    if (end) *end = r->spans[2 * i + 1];
    return true;
}

static double round4(double x) { return round(x * 1e4) / 1e4; }

wd_status wd_certificate_to_json(const wd_certificate *r, char **out) {
    if (out) *out = NULL;
    if (!r || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_certificate_to_json: NULL argument");
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    /* one schema: every key always there, null where it does not apply */
    bool greedy = r->greedy_rounds > 0, sampled = !greedy && r->sample_ratio > 0 && r->sample_ratio < 1;
    ok = ok && cJSON_AddBoolToObject(o, "harmful", r->harmful);
    ok = ok && cJSON_AddStringToObject(o, "method", greedy ? "greedy" : sampled ? "randomized" : "certified");
    ok = ok && (greedy ? cJSON_AddNullToObject(o, "mode") : cJSON_AddStringToObject(o, "mode", wd_ec_mode_str(r->mode)));
    ok = ok && (greedy ? cJSON_AddNullToObject(o, "max_erase") : cJSON_AddNumberToObject(o, "max_erase", r->max_erase));
    ok = ok && (!greedy && r->mode == WD_EC_INSERTION ? cJSON_AddNumberToObject(o, "blocks", r->n_blocks)
                                                     : cJSON_AddNullToObject(o, "blocks"));
    ok = ok && (sampled ? cJSON_AddNumberToObject(o, "sample_ratio", r->sample_ratio)
                        : cJSON_AddNullToObject(o, "sample_ratio"));
    ok = ok && (greedy ? cJSON_AddNumberToObject(o, "greedy_rounds", r->greedy_rounds)
                       : cJSON_AddNullToObject(o, "greedy_rounds"));
    ok = ok && cJSON_AddStringToObject(o, "units", r->unit ? r->unit : "");
    ok = ok && cJSON_AddNumberToObject(o, "n_units", (double)r->n_units);
    ok = ok && cJSON_AddNumberToObject(o, "n_subsequences", (double)r->n_subseq);
    ok = ok && cJSON_AddNumberToObject(o, "n_checks", (double)r->n_checks);
    ok = ok && cJSON_AddNumberToObject(o, "tokens_decoded", (double)r->n_tokens);
    ok = ok && cJSON_AddNumberToObject(o, "max_score", round4(r->max_score));
    if (ok && r->harmful) {
        cJSON *t = cJSON_AddObjectToObject(o, "trigger");
        cJSON *e = t ? cJSON_AddArrayToObject(t, "erased") : NULL;
        cJSON *sp = NULL;
        if (t) sp = r->spans ? cJSON_AddArrayToObject(t, "erased_spans") : cJSON_AddNullToObject(t, "erased_spans");
        ok = t && e && sp && cJSON_AddStringToObject(t, "text", r->trigger ? r->trigger : "");
        for (size_t i = 0; ok && i < r->n_erased; i++) {
            ok = cJSON_AddItemToArray(e, cJSON_CreateNumber((double)r->erased[i]));
            if (ok && r->spans) {
                size_t u = r->erased[i];
                double pair[2] = {(double)r->spans[2 * u], (double)r->spans[2 * u + 1]};
                ok = cJSON_AddItemToArray(sp, cJSON_CreateDoubleArray(pair, 2));
            }
        }
    } else {
        ok = ok && cJSON_AddNullToObject(o, "trigger");
    }
    ok = ok && cJSON_AddNumberToObject(o, "micros", round(r->micros * 10) / 10);
    ok = ok && (r->error ? cJSON_AddStringToObject(o, "error", r->error) : cJSON_AddNullToObject(o, "error"));
    char *s = ok ? wd__json_print(o, false) : NULL;
    cJSON_Delete(o);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    *out = s;
    return WD_OK;
}
