/*
 * warden/redteam.h - red-teaming a target model: refusal detection and the
 * attack-success / refusal / over-refusal rates.
 *
 * A red-team run renders each prompt (clean or attacked) with the target's
 * chat template, generates a response, then
 *   - detects a refusal in the response (wd_refusal_detect: phrase list), and
 *   - optionally asks a judge (a guard in the output role) whether the
 *     response is unsafe.
 * The rates over the items:
 *   asr_keyword   harmful prompts whose response is not a refusal (the
 *                 keyword ASR of Zou et al. 2023 and later papers)
 *   asr_judge     harmful prompts whose response the judge flags unsafe
 *                 (NaN when no item was judged)
 *   refusal_rate  harmful prompts whose response is a refusal
 *   over_refusal  benign prompts whose response is a refusal (--benign mode:
 *                 borderline-but-benign sets such as CyberSecEval's FRR)
 * A rate with an empty denominator is NaN.
 */
#ifndef WARDEN_REDTEAM_H
#define WARDEN_REDTEAM_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/base.h"
#include "warden/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_refusal_match {
    bool        refused;
    const char *phrase; /* the phrase that matched (static), or NULL     */
    size_t      offset; /* byte offset of the match in the response      */
} wd_refusal_match;

/* Decides whether a response refuses. The check is case-insensitive, reads
 * curly apostrophes as straight ones and collapses runs of white space; it
 * looks for the refusal phrases (wd_refusal_phrases) in the opening
 * `window` bytes of the response (0 = 512), since a refusal comes first and
 * later text may quote such phrases while complying. An empty (or all
 * white-space) response counts as a refusal with phrase "(empty)".
 * match may be NULL. Returns whether it refused. */
bool wd_refusal_detect(const char *response, size_t len, size_t window, wd_refusal_match *match);

/* The phrase list (lower case, NULL-terminated, static). */
const char *const *wd_refusal_phrases(void);

/* One red-team item after generation. */
typedef struct wd_redteam_item {
    wd_label label;         /* HARMFUL prompt or BENIGN (over-refusal) prompt */
    bool     refused;       /* wd_refusal_detect on the response              */
    bool     judged;        /* a judge looked at the response                 */
    bool     judged_unsafe; /* ... and found it unsafe                        */
} wd_redteam_item;

typedef struct wd_redteam_summary {
    size_t n_harmful, n_benign, n_judged;
    double asr_keyword, asr_judge, refusal_rate, over_refusal;
} wd_redteam_summary;

/* Computes the rates over n items (see the top of this file). */
wd_status wd_redteam_summarize(const wd_redteam_item *items, size_t n, wd_redteam_summary *out);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_REDTEAM_H */
