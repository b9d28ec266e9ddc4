/*
 * certify/certify_internal.h - what the files of erase-and-check share: the
 * certifier and certificate objects, a candidate subsequence, and one
 * wd_certify call's state. The method is in include/warden/certify.h.
 *
 *   enumerate.c     which erased subsequences a mode defines, how many, their
 *                   order and duplicates (pure combinatorics over unit ids)
 *   guard_filter.c  a subsequence as text, asked of a wd_guard
 *   judge_filter.c  a subsequence as judge tokens, asked of a decoder with
 *                   the KV cache kept across checks (prefix reuse)
 *   certifier.c     the certifiers, the methods (certified enumeration,
 *                   RandEC, GreedyEC) and the check loop
 *   certificate.c   the certificate's accessors and its JSON
 *
 * A prompt is a sequence u[0..n) of unit ids (word ids, or token ids).
 * Every subsequence is named by its set E of erased positions (ascending),
 * stored in one pool shared by the call's candidates.
 */
#ifndef WD_CERTIFY_INTERNAL_H
#define WD_CERTIFY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard/judge.h"
#include "warden/certify.h"
#include "warden/model.h"

/* What one unit is. */
enum { WD__EC_WORDS, WD__EC_TOKENS, WD__EC_JUDGE };

/* The judge filter's KV cache and work space (judge_filter.c). */
typedef struct wd__ec_cache {
    wd_context *ctx;
    int32_t    *cached, *seq;  /* tokens in the cache / the next check     */
    size_t      n_cached, cap_seq;
    /* a group of branches: ids, offsets, forks, logits (BRANCH_MAX_N, V) */
    int32_t    *gids;
    size_t     *goff, *gfork, cap_gids;
    float      *glogits;
    bool        no_branches;   /* the model cannot branch: one at a time   */
} wd__ec_cache;

struct wd_certifier {
    int                 kind;      /* WD__EC_WORDS, _TOKENS or _JUDGE           */
    wd_guard           *g;         /* words / tokens: the filter                */
    bool                own_guard;
    const wd_tokenizer *tok;       /* tokens and judges: the units' tokenizer   */
    wd__judge          *judge;     /* judges (owned)                            */
    float               threshold; /* judges: flagged when p(unsafe) >= this    */
    wd__ec_cache        cache;     /* judges                                    */
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
typedef struct wd__ec_cand {
    uint64_t hash; /* of the kept units, set by wd__ec_sort_dedup */
    size_t   off;
    uint32_t n;
} wd__ec_cand;

/* Everything one wd_certify call builds. */
typedef struct wd__ec_run {
    wd_certifier            *c;
    const wd_certify_params *p;
    const char              *text; /* NULL for unit input */
    const int32_t           *u;    /* unit ids, n of them */
    size_t                   n;
    const size_t            *span; /* (n, 2) byte ranges in text, or NULL */
    wd__ec_cand             *cands;
    size_t                   n_cands, cap_cands;
    uint32_t                *pool;
    size_t                   n_pool, cap_pool;
    uint32_t                *stack; /* the set being enumerated */
    size_t                   n_stack;
    wd_certificate          *r;
} wd__ec_run;

/* ==== enumerate.c ======================================================== */

/* The number of subsequences mode defines over n distinct units with erase
 * length d and k blocks (the prompt included), saturating at SIZE_MAX. */
double wd__ec_count(wd_ec_mode mode, size_t n, size_t d, int k);

/* Appends the set on r->stack as a candidate. WD_ERR_NOMEM when out of
 * memory. */
wd_status wd__ec_emit(wd__ec_run *r);

/* Appends the prompt itself, then every other set mode defines with erase
 * length d (r->p->n_blocks blocks), each once. r->stack must hold
 * d * n_blocks + 1 entries (or n + 1). */
wd_status wd__ec_enumerate(wd__ec_run *r, size_t d);

/* Sorts cands[from..n_cands) (lexicographically by kept units when
 * lexicographic, else by hash) and drops duplicate kept sequences. */
void wd__ec_sort_dedup(wd__ec_run *r, size_t from, bool lexicographic);

/* Sorts cs[0..n) (their hashes set) as wd__ec_sort_dedup does, keeping
 * duplicates. */
void wd__ec_sort(const wd__ec_run *r, wd__ec_cand *cs, size_t n, bool lexicographic);

/* The kept ids of candidate c into out (room for r->n). Returns their count. */
size_t wd__ec_kept_ids(const wd__ec_run *r, const wd__ec_cand *c, int32_t *out);

/* ==== the filters ======================================================== */

/* Candidates at a time in one wd_guard_check_batch call. */
#define WD__EC_GUARD_BATCH 64

/* The text of candidate c, malloc'd, into *out (*len bytes): the kept words
 * with the spacing that preceded each, or the decoded kept tokens. */
wd_status wd__ec_cand_text(const wd__ec_run *r, const wd__ec_cand *c, char **out, size_t *len);

/* Guard filter: scores cs[0..n) into score[] / flag[]; the first verdict
 * error goes to the certificate. */
wd_status wd__ec_guard_check(wd__ec_run *r, const wd__ec_cand *const *cs, size_t n, float *score,
                             bool *flag);

/* Judge filter: checks cs[0..n) in order, keeping the shared prefix in the
 * KV cache. Stops after the first flagged one (or its group) unless
 * check_all; *done = checks made. */
wd_status wd__ec_judge_check(wd__ec_run *r, const wd__ec_cand *const *cs, size_t n, float *score,
                             bool *flag, size_t *done);

/* Frees the cache's context and buffers (not the struct). */
void wd__ec_cache_free(wd__ec_cache *k);

#endif
