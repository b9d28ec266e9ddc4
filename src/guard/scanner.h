/*
 * guard/scanner.h - the one interface every scanner implements: rule-based
 * ones (lexicon, pii, secrets, injection), the built-in classifier, and
 * model-based guards (an LLM judge, a BERT classifier).
 *
 * Life of a scanner:
 *   init     once per guard, from the scanner's node in the policy (a
 *            mapping with at least `type:`); compiles regexes, builds
 *            automata, loads weights. Reports bad options through
 *            wd__pn_error (file:line:col: field ...).
 *   scratch  optional per-thread work space (PCRE2 match data, buffers),
 *            created lazily by the engine and reused across calls, so that
 *            scan does not allocate in the common case.
 *   scan     one text: the normalised text (with its map), the original
 *            bytes, the role. Writes per-category scores in [0,1] and hits
 *            whose offsets are in the ORIGINAL text (use wd__canon_span to
 *            map a match in the normalised text back). Must be thread-safe
 *            given distinct scratch, and linear in the text's length (or
 *            n log n): a loop that runs long calls wd__scan_poll every
 *            WD_SCAN_POLL_EVERY steps and returns what it says.
 *   scan_batch  optional: n texts at once (models batch their forward
 *            pass); when NULL the engine calls scan n times.
 *   feature  optional (vt.gives_feature): asked with in->want_feature, a
 *            model guard also reports its feature for a learned cascade
 *            router (SafeRoute, warden/router.h) in res->feature, from the
 *            same forward pass: the last-layer hidden state where it reads
 *            its verdict.
 *   free     releases what init built.
 *
 * Registering a scanner type = one line in the table in guard/registry.c.
 */
#ifndef WD_GUARD_SCANNER_H
#define WD_GUARD_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guard/canonical.h"
#include "base/yaml.h"
#include "guard/stop.h"
#include "warden/guard.h"
#include "warden/taxonomy.h"

/* One match, as a scanner reports it. rule and placeholder must stay valid
 * as long as the scanner (static strings or strings owned by its state). */
typedef struct wd__hit {
    const char *rule;
    const char *placeholder; /* "[CARD]" etc. for redactable hits, else NULL */
    wd_category category;
    float       score;
    size_t      start, end;  /* byte offsets in the ORIGINAL text */
} wd__hit;

/* What one scanner says about one text. The engine zeroes it before each
 * scan and owns the hits array. */
typedef struct wd__scan_result {
    float        score[WD_CATEGORY_COUNT]; /* in [0,1]; 0 = no evidence */
    wd__hit *hits;
    size_t       n_hits, cap_hits;
    /* set by a cascade scanner only (scanners/cascade.c; the engine clears
     * `cascaded` before each scan and copies `cascade` into the verdict) */
    bool            cascaded;
    wd_cascade_info cascade;
    /* a model judge's rationale for its verdict (explain_verdict), or
     * NULL; owned by the scanner's scratch until its next scan: the engine
     * copies it into the verdict */
    const char  *rationale;
    /* the scanner's feature (see `feature` above), n_feature floats, or
     * NULL; owned by the scanner's scratch until its next scan */
    const float *feature;
    size_t       n_feature;
} wd__scan_result;

/* A malloc'd copy of a scan result's feature (n floats), or NULL. */
static inline float *wd__feature_dup(const float *f, size_t n) {
    float *c = malloc(n ? n * sizeof *c : 1);
    return c ? memcpy(c, f, n * sizeof *c) : NULL;
}

/* Appends a hit and raises score[category] to at least score. Returns
 * WD_ERR_NOMEM (hit dropped, score still raised) when out of memory. */
wd_status wd__scan_hit(wd__scan_result *r, wd_category category, float score, size_t start,
                       size_t end, const char *rule, const char *placeholder);
/* Raises score[category] to at least score, without a hit. */
static inline void wd__scan_score(wd__scan_result *r, wd_category category, float score) {
    if (score > r->score[category]) r->score[category] = score;
}

/* The spans a scanner has reported that later spans must not overlap (pii,
 * secrets: a byte is redacted once). Each pass (one regex over the text)
 * finds its spans in text order, disjoint from each other; the set keeps
 * the earlier passes' spans sorted, so testing a span is a binary search
 * and a scan stays n log n however many hits the text holds:
 *     wd__spans_begin(set, res);
 *     for each match [a, b): if (!wd__spans_overlap(set, a, b)) wd__scan_hit(res, ...);
 *     wd__spans_end(set, res);  (merges the pass's hits)
 * Lives in the scanner's scratch; wd__spans_free releases it. */
typedef struct wd__span_set {
    size_t (*span)[2]; /* [start, end), sorted, disjoint */
    size_t n, cap;
    size_t pass_from;  /* res->n_hits when the pass began */
    size_t (*tmp)[2];  /* merge buffer, cap entries */
} wd__span_set;

/* Starts a pass (and a scan: empties the set when res has no hits). */
void wd__spans_begin(wd__span_set *set, const wd__scan_result *res);
/* True when [a, b) overlaps a span of an earlier pass. */
bool wd__spans_overlap(const wd__span_set *set, size_t a, size_t b);
/* Adds the hits res got since wd__spans_begin (in text order, disjoint).
 * WD_ERR_NOMEM when out of memory. */
wd_status wd__spans_end(wd__span_set *set, const wd__scan_result *res);
void wd__spans_free(wd__span_set *set);

typedef struct wd__scan_input {
    const char    *orig;     /* the text as given (valid UTF-8), orig_len bytes */
    size_t         orig_len;
    const wd__canon *norm;     /* orig normalised with the guard's flags (default WD_CANON_DEFAULT) */
    wd_role        role;
    int            depth;    /* 0 for the caller's text; k for a payload decoded k times */
    const wd__scan_stop *stop; /* NULL = run to the end; see wd__scan_poll */
    bool           ciphered; /* the whole text is rot13 / reversed / Pig Latin: its words are
                                noise, and its deciphered reading is scanned one level deeper */
    /* the conversation before the text (wd_check_params.context; validated
     * roles, content NULL = empty): read by model judges only, at every depth
     * (a decoded payload is judged as the same turn read differently) */
    const wd_chat_message *context;
    size_t         n_context;
    wd_cascade_mode cascade; /* wd_check_params.cascade: read by cascade scanners only */
    bool           want_feature; /* fill res->feature (scanners with gives_feature) */
} wd__scan_input;

/* WD_OK, or WD_ERR_CANCELLED / WD_ERR_TIMEOUT (guard/stop.h): a scanner
 * returns that status as it is, without setting err. */
static inline wd_status wd__scan_poll(const wd__scan_input *in) {
    return in->stop ? wd__scan_stop_poll(in->stop) : WD_OK;
}

/* What init may need besides its node. */
typedef struct wd__scanner_env {
    const char *policy_file; /* display name, for messages */
    const char *policy_dir;  /* where relative paths in the node resolve */
    bool        cascade_untrained; /* wd_guard_params.cascade_untrained */
    /* the guard's settings for model judges (wd_guard_params): a node's
     * own `format:` / `explain_verdict:` win over them */
    int         format;             /* wd_guard_format; 0 = auto           */
    bool        explain;            /* write the rationale                 */
    long        explain_max_tokens; /* its bound; 0 = the scanner's default */
} wd__scanner_env;

typedef struct wd__scanner_vt {
    const char *type; /* the policy's `type:` value */
    /* Builds the scanner's state into *impl from cfg (a mapping). On failure
     * sets err (with the node's location) and returns a negative status. */
    wd_status (*init)(const wd__pnode *cfg, const wd__scanner_env *env, void **impl, wd__err *err);
    void (*free)(void *impl);
    /* Optional per-thread work space; NULL = scan gets scratch = NULL. */
    void *(*scratch_new)(const void *impl);
    void (*scratch_free)(void *scratch);
    /* Scans one text; res is zeroed by the caller. A negative status means
     * the scanner could not decide (the policy's fail mode applies); set
     * err with the reason. */
    wd_status (*scan)(const void *impl, void *scratch, const wd__scan_input *in,
                      wd__scan_result *res, wd__err *err);
    /* Optional: scans in[0..n) into res[0..n). */
    wd_status (*scan_batch)(const void *impl, void *scratch, const wd__scan_input *in, size_t n,
                            wd__scan_result *res, wd__err *err);
    /* Optional: true when scan fills res->feature on in->want_feature
     * (impl may say no: a judge of another prompt format). NULL = never. */
    bool (*gives_feature)(const void *impl);
} wd__scanner_vt;

/* The registered scanner types (guard/registry.c). Returns NULL for an
 * unknown type. */
const wd__scanner_vt *wd__scanner_find(const char *type);
/* Writes the registered type names, comma-separated, into buf (for messages). */
void wd__scanner_types(char *buf, size_t cap);

#endif
