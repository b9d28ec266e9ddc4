/*
 * warden/eval.h - run a guard (or anything that scores texts) over labelled
 * datasets, clean and under attack, and write the three outputs:
 *
 *   OUT/results.jsonl  one line per (item, transform), appended as batches
 *                      finish: key, source, record, label, categories,
 *                      transform, text, text_hash, flagged, score,
 *                      predicted categories, latency_ms, verdict
 *   OUT/metrics.json   every metric of the clean run, per source, the
 *                      detection of each attack next to the clean one, and
 *                      the risk scorecard (warden/scorecard.h; null without)
 *   OUT/report.html    the same as a self-contained page with SVG plots
 *
 * What is scored is abstract: a wd_eval_scorer callback gets a batch of
 * texts and fills one wd_eval_score per text. Two are ready-made (the end
 * of this file): a guard (wd_eval_score_guard) and erase-and-check over a
 * guard or a model (wd_eval_score_certify); the red-team run
 * (warden/redteam.h) is a third, that generates.
 *
 * Long runs. Each finished batch is appended to results.jsonl as complete
 * lines and flushed. A rerun with the same out_dir reads results.jsonl,
 * drops a torn last line (from a hard kill), skips every (item, transform)
 * already there and scores only the rest; the metrics are computed from
 * all result lines, so an interrupted-then-resumed run gives the same
 * metrics as an uninterrupted one (latency aside). A line whose text hash
 * differs from the text it would score now, or whose unit is not in this
 * run (fewer items or transforms), means the data or the settings changed:
 * the run stops with an error instead of mixing results. When *params.stop becomes
 * non-zero (a SIGINT handler sets it) the run stops after the current batch,
 * writes metrics.json and report.html for what is done (marked incomplete,
 * atomically) and returns WD_ERR_CANCELLED.
 */
#ifndef WARDEN_EVAL_H
#define WARDEN_EVAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "warden/attack.h"
#include "warden/base.h"
#include "warden/certify.h"
#include "warden/dataset.h"
#include "warden/guard.h"
#include "warden/metrics.h"
#include "warden/report.h"
#include "warden/router.h"
#include "warden/scorecard.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a scorer says about one text. */
typedef struct wd_eval_score {
    bool       flagged;     /* the decision                                        */
    double     score;       /* p(harmful) in [0, 1]; NaN when there is none         */
    wd_catmask categories;  /* categories named                                    */
    double     latency_ms;  /* < 0: the runner uses the batch's time / batch size  */
    char      *detail_json; /* optional: a malloc'd JSON object (the verdict); the
                               runner writes it into the line and frees it        */
} wd_eval_score;

/* Scores n texts. out[0..n) is zeroed (latency_ms = -1, score = NaN) before
 * the call. Returns WD_OK, or an error that stops the run (its message is
 * the thread's wd_last_error()). */
typedef wd_status (*wd_eval_scorer)(void *user, const char *const *texts, const size_t *lens,
                                    size_t n, wd_eval_score *out);

typedef struct wd_eval_source {
    const char       *path;
    wd_dataset_params params;
} wd_eval_source;

typedef struct wd_eval_params {
    size_t                batch_size;  /* default 32                                  */
    const wd_attack_kind *attacks;     /* transforms applied to every item, or NULL   */
    size_t                n_attacks;
    wd_attack_params      attack;      /* seed, rate, templates ...                   */
    bool                  resume;      /* default true; false starts results.jsonl anew */
    wd_metrics_params     metrics;
    const char           *title;       /* report title, may be NULL                   */
    const char           *subject;     /* what is measured (guard name), may be NULL  */
    /* Called after each batch with the number of finished and total units
     * (items x (1 + n_attacks)), counting resumed ones. May be NULL. */
    void (*progress)(void *user, size_t done, size_t total);
    void *progress_user;
    const volatile sig_atomic_t *stop; /* polled between batches; may be NULL         */
    /* The risk scorecard (borrowed; NULL: none, metrics.json's "scorecard"
     * is null): a level per hazard category into metrics.json and the
     * report. Its evidence is the scorer's decisions (a guard: detection,
     * under attack, over-flagging) unless scorecard_evidence is set: then
     * that function fills ev (initialised for the guard kind) from
     * results.jsonl when the outputs are written (the red team's attack
     * success). */
    const wd_scorecard *scorecard;
    wd_status (*scorecard_evidence)(void *user, const char *results_path, wd_scorecard_evidence *ev);
    void *scorecard_user;
} wd_eval_params;

wd_eval_params wd_eval_params_default(void);

typedef struct wd_eval_outcome {
    size_t n_items;   /* items read from the sources                 */
    size_t n_units;   /* items x (1 + n_attacks)                      */
    size_t n_resumed; /* units found in results.jsonl                 */
    size_t n_scored;  /* units scored by this call                    */
    bool   complete;
} wd_eval_outcome;

/* Runs the evaluation (see the top of this file). out_dir is created if
 * needed. outcome may be NULL. Returns WD_OK when every unit is done,
 * WD_ERR_CANCELLED when stopped (outputs valid, rerun to resume), or the
 * error of a dataset, the scorer or a write (message in wd_last_error()). */
wd_status wd_eval_run(const char *out_dir, const wd_eval_source *sources, size_t n_sources,
                      wd_eval_scorer scorer, void *user, const wd_eval_params *params,
                      wd_eval_outcome *outcome);

/* ==== ready-made scorers (eval/scorers.c) ================================ */

/* The user data of wd_eval_score_guard: the guard (borrowed) and how to
 * check. */
typedef struct wd_eval_guard {
    wd_guard       *guard;
    wd_check_params check;
} wd_eval_guard;

/* A wd_eval_scorer over a guard (user: a wd_eval_guard *): one
 * wd_guard_check_batch per batch; flagged = wd_verdict_unsafe, score =
 * wd_verdict_max_score, categories = the verdict's, latency = the verdict's
 * own time, detail = the verdict's JSON (docs/json.md). */
wd_status wd_eval_score_guard(void *user, const char *const *texts, const size_t *lens, size_t n,
                              wd_eval_score *out);

/* The user data of wd_eval_score_certify: the certifier (borrowed) and the
 * certificate's settings. */
typedef struct wd_eval_certify {
    wd_certifier     *certifier;
    wd_certify_params params;
} wd_eval_certify;

/* A wd_eval_scorer over erase-and-check (user: a wd_eval_certify *):
 * flagged = the certificate's verdict, score = the highest filter score over
 * the subsequences checked, latency = the certificate's time, detail = the
 * certificate's JSON. One certificate after another (the guard's own threads
 * still work inside each). */
wd_status wd_eval_score_certify(void *user, const char *const *texts, const size_t *lens, size_t n,
                                wd_eval_score *out);

/* ==== a guard cascade (eval/cascade_eval.c) =============================== */

/* The user data of wd_eval_score_cascade: a guard holding a `type: cascade`
 * scanner (borrowed), how to check, and the band that decides (its own:
 * wd_guard_cascade_router). */
typedef struct wd_eval_cascade {
    wd_guard       *guard;
    wd_check_params check;
    wd_router       router;
} wd_eval_cascade;

/* A wd_eval_scorer over a cascade (user: a wd_eval_cascade *): each batch
 * is checked with the first guard alone and with the second alone
 * (wd_check_params.cascade), and the router picks which verdict decides:
 * flagged, score and categories are that verdict's; latency = the first
 * check's time, plus the second guard's own time when escalated; detail =
 * the deciding verdict's JSON, its "cascade" member holding both guards'
 * figures: escalated, decided_by, first_score, first_unsafe, first_ms,
 * second_unsafe, second_score, second_ms (each a whole check's time) and
 * escalate_ms (the second guard's own time). WD_ERR_INVALID_ARG when the
 * cascade scanner did not run (no cascade, or not on the checked role). */
wd_status wd_eval_score_cascade(void *user, const char *const *texts, const size_t *lens, size_t n,
                                wd_eval_score *out);

/* After wd_eval_run with wd_eval_score_cascade into out_dir: from the
 * clean, labelled lines of OUT/results.jsonl, each guard alone, the
 * cascade with router's band, and the F1 / latency curve against share
 * escalated (for each share 0, 5%, ..., 100%, the best band escalating at
 * most that share, wd_cascade_curve, and the band around 0.5,
 * wd_cascade_curve_centered) go into OUT/metrics.json under "cascade"
 * ({items, first, second, cascade, curve: [{max_share, low, high,
 * escalated, share, f1, precision, recall, mean_ms}], curve_centered: [..]}) and into
 * OUT/report.html as its "Cascade" section (when the page exists).
 * summary (may be NULL) gets the figures, without the curve. Returns
 * WD_OK, WD_ERR_NOT_FOUND when no line carries a cascade record, or a
 * read's / write's error. */
wd_status wd_eval_cascade_report(const char *out_dir, const wd_router *router, wd_report_cascade *summary);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_EVAL_H */
