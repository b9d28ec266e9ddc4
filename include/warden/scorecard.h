/*
 * warden/scorecard.h - the risk scorecard: one level per hazard category
 * (low / medium / high / critical, or the levels a scorecard file names),
 * set by thresholds on the evidence of an evaluation or a red-team run,
 * with the reason, the sample size and what to do at that level.
 *
 * A scorecard file (YAML, docs/scorecard.md; the built-in one is
 * policies/scorecard.yaml) says
 *   - the levels, from the least to the most severe, each with an action;
 *   - per metric, the threshold at which each level starts;
 *   - stricter thresholds for some categories;
 *   - min_items: a rate over fewer items is "insufficient data", no level;
 *   - estimate: point (the rate) or wilson (the pessimistic end of its 95%
 *     Wilson interval) is what the thresholds are compared with;
 *   - overall: worst (the most severe row) or pooled (the all-items row).
 *
 * The metrics, all rates k/n over items:
 *
 *   kind    metric              items (n)                   k             worse when
 *   guard   detection           harmful, clean              flagged       lower
 *   guard   attacked_detection  harmful, worst transform    flagged       lower
 *   guard   over_flagging       benign, clean               flagged       higher
 *   redteam attack_success      harmful, worst transform    answered (*)  higher
 *                               (clean counts as one)
 *   redteam over_refusal        benign, clean               refused       higher
 *
 * (*) the judge found the response unsafe; without a judge, the response
 * was not a refusal (keyword ASR, warden/redteam.h).
 *
 * A metric reaches a level L when its value is below (lower-is-worse) or
 * above (higher-is-worse) L's threshold; a value at the threshold stays at
 * the level under L. A row's level is the most severe level its metrics
 * reach (the first level when none); it is "insufficient data" when its
 * first metric (detection, or attack_success) has fewer than min_items
 * items. The other metrics count only with min_items items; the reason
 * says which were left out.
 *
 * Rows: each canonical category (warden/taxonomy.h: an item counts in the
 * rows of its dataset categories), then "all" (every item). Benign items
 * rarely carry categories, so over-flagging and over-refusal are mostly
 * measured in the "all" row.
 */
#ifndef WARDEN_SCORECARD_H
#define WARDEN_SCORECARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/dataset.h"
#include "warden/taxonomy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WD_SCORECARD_MAX_LEVELS     8
#define WD_SCORECARD_MAX_TRANSFORMS 72 /* "clean" + the attack transforms of a run */
#define WD_SCORECARD_ROWS           (WD_CATEGORY_COUNT + 1) /* the categories, then "all" */
#define WD_SCORECARD_ROW_ALL        WD_CATEGORY_COUNT

/* What was run: a guard's evaluation, or a red-team run of a model. */
typedef enum wd_scorecard_kind {
    WD_SCORECARD_KIND_GUARD = 0,
    WD_SCORECARD_KIND_REDTEAM,
} wd_scorecard_kind;

typedef enum wd_scorecard_metric {
    WD_SCORECARD_METRIC_DETECTION = 0,      /* guard   */
    WD_SCORECARD_METRIC_ATTACKED_DETECTION, /* guard   */
    WD_SCORECARD_METRIC_OVER_FLAGGING,      /* guard   */
    WD_SCORECARD_METRIC_ATTACK_SUCCESS,     /* redteam */
    WD_SCORECARD_METRIC_OVER_REFUSAL,       /* redteam */
    WD_SCORECARD_METRIC_COUNT
} wd_scorecard_metric;

/* "detection", "attacked_detection", ... (the YAML and JSON keys). Static;
 * NULL when out of range. */
const char *wd_scorecard_metric_name(wd_scorecard_metric m);

/* ==== the scorecard file ================================================ */

typedef struct wd_scorecard wd_scorecard;

/* Reads a scorecard file. A bad key or value fails with WD_ERR_FORMAT and
 * the message "FILE:LINE:COL: field 'F': reason" (wd_last_error()); a
 * missing file with WD_ERR_NOT_FOUND, an unreadable one with WD_ERR_IO.
 * *out is NULL on failure; free with wd_scorecard_free. */
wd_status wd_scorecard_load(const char *path, wd_scorecard **out);
/* The same from len bytes of YAML; name is the file name in messages. */
wd_status wd_scorecard_load_string(const char *yaml, size_t len, const char *name, wd_scorecard **out);
/* The built-in scorecard (policies/scorecard.yaml, embedded at build time). */
wd_status wd_scorecard_load_default(wd_scorecard **out);
/* The built-in scorecard's text (static, NUL-terminated): to copy and edit. */
const char *wd_scorecard_default_yaml(void);
void        wd_scorecard_free(wd_scorecard *sc); /* NULL: no-op */

/* The scorecard's name (its `name:`, else the file name) and its levels.
 * Strings live as long as sc. */
const char *wd_scorecard_name(const wd_scorecard *sc);
size_t      wd_scorecard_n_levels(const wd_scorecard *sc);
const char *wd_scorecard_level_name(const wd_scorecard *sc, size_t level);   /* NULL if out of range */
const char *wd_scorecard_level_action(const wd_scorecard *sc, size_t level); /* "" when none given */
/* The threshold at which metric m of category row reaches level (row =
 * a wd_category or WD_SCORECARD_ROW_ALL); NaN when that level is not set
 * for it (level 0 never is). */
double wd_scorecard_threshold(const wd_scorecard *sc, size_t row, wd_scorecard_metric m, size_t level);

/* ==== the evidence ====================================================== */

/* Counts k of n per row and transform. Transform 0 is "clean". For a guard,
 * k counts flagged items (harmful and benign); for the red team, k counts
 * harmful prompts answered (see the top) and benign prompts refused. */
typedef struct wd_scorecard_evidence {
    wd_scorecard_kind kind;
    bool     judged;       /* red team: k of harmful prompts is the judge's verdict */
    size_t   n_transforms; /* transform[0] = "clean"                                */
    char     transform[WD_SCORECARD_MAX_TRANSFORMS][32];
    uint64_t harmful_n[WD_SCORECARD_ROWS][WD_SCORECARD_MAX_TRANSFORMS];
    uint64_t harmful_k[WD_SCORECARD_ROWS][WD_SCORECARD_MAX_TRANSFORMS];
    uint64_t benign_n[WD_SCORECARD_ROWS][WD_SCORECARD_MAX_TRANSFORMS];
    uint64_t benign_k[WD_SCORECARD_ROWS][WD_SCORECARD_MAX_TRANSFORMS];
} wd_scorecard_evidence;

/* Empties ev for a run of this kind (transform 0 = "clean"). */
void wd_scorecard_evidence_init(wd_scorecard_evidence *ev, wd_scorecard_kind kind);

/* Counts one item under transform (added when new; "clean" is transform
 * 0): in the row of each category of cats and in the "all" row, harmful or
 * benign by label (UNKNOWN items are not counted); hit = k's event (see
 * above). WD_ERR_INVALID_ARG when more than WD_SCORECARD_MAX_TRANSFORMS
 * transforms. */
wd_status wd_scorecard_evidence_add(wd_scorecard_evidence *ev, const char *transform, wd_label label,
                                    wd_catmask cats, bool hit);

/* ==== the result ======================================================== */

typedef enum wd_scorecard_status {
    WD_SCORECARD_STATUS_LEVEL = 0,    /* measured; level is set                  */
    WD_SCORECARD_STATUS_INSUFFICIENT, /* fewer than min_items items (maybe none) */
} wd_scorecard_status;

/* One metric of one row. */
typedef struct wd_scorecard_value {
    wd_scorecard_status status;
    uint64_t k, n;
    double   value;            /* k/n; NaN when n = 0                           */
    double   ci_low, ci_high;  /* its 95% Wilson interval; NaN when n = 0       */
    double   compared;         /* what met the thresholds (value or a CI end)   */
    char     transform[32];    /* the worst transform ("clean" for clean ones)  */
    int      level;            /* the level this metric reaches; -1 when
                                  insufficient                                  */
    double   threshold;        /* the threshold that level crossed; NaN at
                                  level 0 or when insufficient                  */
} wd_scorecard_value;

typedef struct wd_scorecard_row {
    size_t              row;    /* a wd_category, or WD_SCORECARD_ROW_ALL          */
    wd_scorecard_status status;
    int                 level;  /* -1 when insufficient data                      */
    char                reason[400];
    wd_scorecard_value  metric[WD_SCORECARD_METRIC_COUNT]; /* the kind's metrics  */
} wd_scorecard_row;

typedef struct wd_scorecard_result {
    const wd_scorecard *card; /* borrowed: keep the scorecard while the result is used */
    wd_scorecard_kind   kind;
    bool                judged;
    wd_scorecard_status status; /* of the overall level */
    int                 level;  /* overall; -1 when no row has a level */
    char                reason[400];
    wd_scorecard_row    rows[WD_SCORECARD_ROWS];
} wd_scorecard_result;

/* The metrics of a kind, in order (guard: 3, red team: 2); *n gets the
 * count. Static. */
const wd_scorecard_metric *wd_scorecard_metrics_of(wd_scorecard_kind kind, size_t *n);

/* Levels every row from the evidence (see the top of this file). *out is
 * malloc'd (free with wd_scorecard_result_free) and borrows sc. */
wd_status wd_scorecard_evaluate(const wd_scorecard *sc, const wd_scorecard_evidence *ev,
                                wd_scorecard_result **out);
void      wd_scorecard_result_free(wd_scorecard_result *r); /* NULL: no-op */

/* The level's name, or "insufficient data". Static or owned by r->card. */
const char *wd_scorecard_level_str(const wd_scorecard_result *r, int level);

/* The result as a JSON object (docs/json.md: "scorecard"); malloc'd text,
 * NULL when out of memory. Every key is present whatever the data. */
char *wd_scorecard_result_json(const wd_scorecard_result *r);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_SCORECARD_H */
