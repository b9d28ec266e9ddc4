/*
 * warden/certify.h - certified erase-and-check (Kumar et al., "Certifying
 * LLM Safety against Adversarial Prompting", 2023) over any guard, with the
 * randomized (RandEC) and greedy (GreedyEC) empirical variants.
 *
 * A prompt P of n units (words, or tokens of a tokenizer) is harmful if the
 * filter flags P or any subsequence of P obtained by erasing units:
 *
 *   suffix     erase the last i units, i = 1..min(d, n)        d + 1 checks
 *   insertion  erase up to k contiguous blocks of <= d units    1 + sum_{l=1..d} (n-l+1) for k = 1
 *   infusion   erase any i <= d units                           sum_{i=0..d} C(n, i)
 *
 * (the counts are for n distinct units; identical subsequences are checked
 * once, so repeated units give fewer). The certificate: if the filter flags
 * a harmful prompt P, then erase-and-check flags P + alpha for every
 * adversarial sequence alpha of <= d units appended (suffix), inserted as up
 * to k blocks of <= d (insertion), or scattered anywhere (infusion), because
 * one of the subsequences it checks is P itself. Certified accuracy on
 * harmful prompts is therefore the filter's own accuracy on them.
 *
 * Filters:
 *   - a wd_guard (any policy: rules, the built-in classifier, model-based
 *     scanners). Units are words (maximal runs of non-space bytes; an erased
 *     subsequence is the kept words with the original spacing before each)
 *     or, given a tokenizer, its tokens (an erased subsequence is the decoded
 *     text of the kept tokens). Subsequences go to wd_guard_check_batch.
 *   - a decoder checkpoint as an LLM judge (the Llama Guard 3 prompt or a
 *     {text} template). Units are the judge's own tokens, and each check is
 *     the token sequence  template-head + kept tokens + template-tail; the
 *     score is p(unsafe) after it (as in the llm_judge scanner). Checks are
 *     visited in lexicographic order of their token sequences (a walk of
 *     their trie) and the KV cache keeps the longest prefix shared with the
 *     previous check: suffix mode costs one pass over head + prompt plus
 *     d + 1 short passes over the tail, instead of d + 1 full passes.
 *
 * Threads: a wd_certifier holds work space (and, for a judge, a KV cache);
 * use one certifier per thread. Several certifiers may share one wd_guard.
 */
#ifndef WARDEN_CERTIFY_H
#define WARDEN_CERTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/guard.h"
#include "warden/taxonomy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_certifier  wd_certifier;
typedef struct wd_certificate wd_certificate;
typedef struct wd_tokenizer  wd_tokenizer; /* warden/tokenizer.h */

typedef enum wd_ec_mode {
    WD_EC_MODE_SUFFIX    = 0,
    WD_EC_MODE_INSERTION = 1,
    WD_EC_MODE_INFUSION  = 2,
} wd_ec_mode;

/* "suffix", "insertion", "infusion"; NULL when out of range. */
const char *wd_ec_mode_str(wd_ec_mode m);
/* Parses those names. Returns WD_ERR_INVALID_ARG for anything else. */
wd_status wd_ec_mode_parse(const char *s, wd_ec_mode *out);
/* The erase length used when max_erase is 0 (the paper's settings): 20 for
 * suffix, 12 for insertion, 3 for infusion. */
int wd_ec_mode_default_erase(wd_ec_mode m);

/* How much of the previous check's KV cache a decoder judge keeps. */
typedef enum wd_ec_reuse {
    WD_EC_REUSE_NONE     = 0, /* every check from an empty cache (the naive cost)   */
    WD_EC_REUSE_TEMPLATE = 1, /* keep only the template's head (as llm_judge does)  */
    WD_EC_REUSE_PREFIX   = 2, /* keep the longest common prefix (default)           */
} wd_ec_reuse;

typedef struct wd_certify_params {
    wd_ec_mode mode;          /* default suffix                                     */
    /* d: most units erased (per block in insertion mode). 0 = the paper's
     * settings: 20 (suffix), 12 (insertion), 3 (infusion). */
    int        max_erase;
    int        n_blocks;      /* k, insertion mode only (default 1)                  */
    /* RandEC: check P plus a random fraction of the other subsequences,
     * ceil(ratio * (N - 1)) of them drawn without replacement with seed.
     * 0 = all of them (certified). In (0, 1]. */
    double     sample_ratio;
    /* GreedyEC: instead of enumerating, delete in each of up to this many
     * rounds the unit whose removal most raises the filter's score, flagging
     * as soon as a candidate is flagged. 0 = off. Ignores mode and d. */
    int        greedy_rounds;
    uint64_t   seed;          /* RandEC's draw (default 1)                           */
    bool       check_all;     /* check every subsequence, no early exit (false)      */
    wd_ec_reuse reuse;        /* decoder judges (default WD_EC_REUSE_PREFIX)         */
    wd_role    role;          /* the role the filter checks in (input)               */
    /* Refuse (WD_ERR_RANGE) a prompt whose enumeration exceeds this many
     * subsequences before any is checked. Default 2,000,000. */
    size_t     max_checks;
} wd_certify_params;

wd_certify_params wd_certify_params_default(void);

/* Reads a certify spec "MODE[:D[:K]]" into p: MODE suffix, insertion or
 * infusion (mode), D the erase length in 1..100000 (max_erase), K the
 * insertion blocks in 1..64 (n_blocks); "suffix", "suffix:20",
 * "insertion:12:2". The fields the spec leaves out, and every other field
 * of p, keep their values. Returns WD_OK, or WD_ERR_INVALID_ARG with p
 * unchanged (wd_last_error() says why). The CLI's `eval --certify` takes
 * this spec. */
wd_status wd_certify_params_parse(const char *spec, wd_certify_params *p);

/* ==== certifiers ========================================================= */

/* A certifier over guard g (borrowed: it must outlive the certifier). With
 * tok == NULL the units are words; otherwise tok's tokens (borrowed too).
 * Returns WD_OK and *out (free with wd_certifier_free), or
 * WD_ERR_INVALID_ARG / WD_ERR_NOMEM with *out = NULL. */
wd_status wd_certifier_new_guard(wd_guard *g, const wd_tokenizer *tok, wd_certifier **out);

typedef struct wd_judge_params {
    /* Template text with a {text} placeholder (and optionally {role}: User /
     * Agent), or NULL for the Llama Guard 3 prompt. Copied. */
    const char *template_text;
    wd_catmask  categories;   /* hazards listed in the Llama Guard 3 prompt; 0 = all 14 */
    float       threshold;    /* flagged when p(unsafe) >= threshold (0.5)        */
    int         n_threads;    /* the model's threads, judge or classifier; 0 = every CPU */
} wd_judge_params;

wd_judge_params wd_judge_params_default(void);

/* A certifier from a model folder: a decoder (llama, mistral, qwen2) becomes
 * an LLM judge with prefix reuse; a bert/roberta/distilbert sequence
 * classifier becomes an encoder_classifier guard whose units are its
 * tokenizer's tokens. The folder needs tokenizer.json, and is read once.
 * params may be NULL (defaults; template_text, categories and threshold
 * apply to judges only, n_threads to both).
 * Returns WD_OK and *out, or the load's status (wd_last_error() names the
 * file and the reason) with *out = NULL. */
wd_status wd_certifier_new_model(const char *dir, const wd_judge_params *params,
                                 wd_certifier **out);

/* No-op on NULL. */
void wd_certifier_free(wd_certifier *c);

/* "words", "tokens" or "judge tokens": what one unit of this certifier is. */
const char *wd_certifier_unit(const wd_certifier *c);

/* ==== certifying ========================================================= */

/* Certifies len bytes of UTF-8 text. params may be NULL (defaults). Returns
 * WD_OK and *out (free with wd_certificate_free), or on failure *out = NULL
 * and: WD_ERR_ENCODING (invalid UTF-8 for a tokenizer), WD_ERR_RANGE (too many
 * subsequences; the message gives the count), WD_ERR_INVALID_ARG (bad
 * params), or the filter's error. With a guard filter, a text the guard
 * cannot fully check (invalid UTF-8, too long) gives a certificate with an
 * error and the guard's fail-mode verdict. */
wd_status wd_certify(wd_certifier *c, const char *text, size_t len, const wd_certify_params *params,
                     wd_certificate **out);

/* Certifies a prompt given as token ids of the certifier's tokenizer (the
 * certificate at the token level, for callers that tokenize themselves).
 * WD_ERR_UNSUPPORTED for a word certifier, WD_ERR_RANGE for an id outside
 * the vocabulary. Ownership as wd_certify. */
wd_status wd_certify_units(wd_certifier *c, const int32_t *ids, size_t n,
                           const wd_certify_params *params, wd_certificate **out);

/* ==== certificates ======================================================= */

void wd_certificate_free(wd_certificate *r);

/* True when the prompt or an erased subsequence was flagged. */
bool   wd_certificate_harmful(const wd_certificate *r);
/* Units in the prompt. */
size_t wd_certificate_n_units(const wd_certificate *r);
/* Distinct subsequences the mode defines (the prompt included), and how many
 * the filter was asked about (fewer after an early exit or with RandEC). */
size_t wd_certificate_n_subsequences(const wd_certificate *r);
size_t wd_certificate_n_checks(const wd_certificate *r);
/* Decoder judges: tokens run through the model (0 for guards). */
size_t wd_certificate_n_tokens_decoded(const wd_certificate *r);
/* The highest filter score seen, in [0,1]. */
float  wd_certificate_max_score(const wd_certificate *r);
/* The flagged subsequence's text (NUL-terminated; *len may be NULL) and the
 * positions of the units erased from it (ascending, *n of them; none when
 * the prompt itself was flagged), or NULL when not harmful. Owned by r. */
const char   *wd_certificate_trigger(const wd_certificate *r, size_t *len);
const size_t *wd_certificate_erased(const wd_certificate *r, size_t *n);
/* Unit i's byte range in the certified text ([start, end)), for text input;
 * false when i is out of range or the input was units. */
bool wd_certificate_unit_span(const wd_certificate *r, size_t i, size_t *start, size_t *end);
/* The guard's error for the text (invalid UTF-8, too long), or NULL. */
const char *wd_certificate_error(const wd_certificate *r);
double wd_certificate_micros(const wd_certificate *r);

/* Renders r as one line of JSON (no newline):
 *   {"harmful":true,"mode":"suffix","max_erase":20,"units":"words","n_units":12,
 *    "n_subsequences":13,"n_checks":1,"tokens_decoded":0,"max_score":0.97,
 *    "trigger":{"text":"...","erased":[10,11],"erased_spans":[[40,45],[46,50]]},
 *    "micros":123.4,"error":"..."(only when present)}
 * *out is malloc'd (caller frees with free()); NULL on failure. */
wd_status wd_certificate_to_json(const wd_certificate *r, char **out);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_CERTIFY_H */
