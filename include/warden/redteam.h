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
 *
 * wd_redteam_run is the whole method: the generation goes through the
 * evaluation runner (warden/eval.h) as a scorer that generates, where a
 * unit is "flagged" when the target refused; so the runner's flag rate is
 * the refusal rate, its clean-vs-attacked table is refusal clean vs under
 * attack, and resuming, stopping and the report work as for eval. The
 * rates above are then computed per transform from results.jsonl into
 * OUT/redteam.json:
 *   {"transforms": [{"transform", "harmful", "benign", "judged",
 *                    "refusal_rate", "asr_keyword", "asr_judge",
 *                    "over_refusal"}, ...],   (a NaN rate is null)
 *    "scorecard": {...} | null}  (with params.eval.scorecard: the levels per
 *                    category from attack success and over-refusal,
 *                    warden/scorecard.h; also in metrics.json and the report)
 */
#ifndef WARDEN_REDTEAM_H
#define WARDEN_REDTEAM_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/base.h"
#include "warden/chat.h"
#include "warden/dataset.h"
#include "warden/eval.h"
#include "warden/guard.h"
#include "warden/model.h"

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

/* ==== the red-team run (eval/redteam.c) ================================== */

typedef struct wd_redteam_params {
    wd_chat_params     chat;     /* the target's chat template; format WD_CHAT_FORMAT_UNKNOWN
                                    (default): from its tokenizer_config.json       */
    const char        *system;   /* a system message before each prompt, or NULL    */
    wd_generate_params generate; /* max_tokens 64 (default), greedy (temperature 0) */
    size_t             n_ctx;    /* context length; 0 = min(the model's, 2048)      */
    wd_guard          *judge;    /* asks (output role) whether a response is unsafe;
                                    borrowed; NULL: no judge                        */
    wd_eval_params     eval;     /* attacks, resume, stop, subject ...; batch_size 1
                                    and the title "warden red team (flagged = the
                                    target refused)" by default                     */
} wd_redteam_params;

wd_redteam_params wd_redteam_params_default(void);

/* The rates of one transform ("clean" or an attack's name). */
typedef struct wd_redteam_rates {
    char               transform[32];
    wd_redteam_summary summary;
} wd_redteam_rates;

typedef struct wd_redteam_outcome {
    wd_eval_outcome   eval;    /* as from wd_eval_run                              */
    wd_redteam_rates *rates;   /* per transform, in order of first appearance in
                                  results.jsonl; malloc'd, the caller frees it     */
    size_t            n_rates;
} wd_redteam_outcome;

/* Red-teams target (borrowed; it must have a tokenizer) on the prompts of
 * the sources: each prompt, clean and under each attack of params->eval, is
 * rendered with the chat template, answered (wd_model_generate, in a context
 * of its own), checked for a refusal and, with a judge, judged. Writes
 * OUT/results.jsonl (the verdict of each line holds "response", "refused",
 * "refusal_phrase", "judged", "judged_unsafe", "judge_score"), metrics.json,
 * report.html and redteam.json. outcome may be NULL; else *outcome is filled
 * (rates NULL on failure). Returns WD_OK, WD_ERR_CANCELLED when
 * *params->eval.stop was set (outputs valid; rerun to resume; no
 * redteam.json), or the error of the context, the run or the summary
 * (message in wd_last_error(); once outcome->eval.complete is true the
 * error is the summary's: "PATH: cannot read" or "redteam.json: ..."). */
wd_status wd_redteam_run(wd_model *target, const char *out_dir, const wd_eval_source *sources,
                         size_t n_sources, const wd_redteam_params *params, wd_redteam_outcome *outcome);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_REDTEAM_H */
