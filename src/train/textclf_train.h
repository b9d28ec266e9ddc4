/*
 * train/textclf_train.h - training and evaluating the built-in classifier
 * (internal; used by `warden train-guard` and the tests).
 *
 * Labels of the shipped model, in order (WD_CLF_LABEL_*): "harmful",
 * "S1".."S14", "prompt_injection". Each example carries a bit set of
 * positive labels and a bit set of KNOWN labels: a source that says "this
 * prompt is harmful" but gives no hazard leaves the hazard labels unknown,
 * and unknown labels add nothing to the loss.
 */
#ifndef WD_GUARD_TEXTCLF_TRAIN_H
#define WD_GUARD_TEXTCLF_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "guard/textclf.h"
#include "warden/base.h"

enum { WD_CLF_LABEL_HARMFUL = 0, WD_CLF_LABEL_S1 = 1, WD_CLF_LABEL_PI = 15, WD_CLF_N_LABELS = 16 };
#define WD_CLF_ALL_LABELS ((uint32_t)0xffffu)
#define WD_CLF_HAZARD_LABELS ((uint32_t)0x7ffeu) /* S1..S14 */

/* The label names of the shipped model (WD_CLF_N_LABELS strings). */
extern const char *const wd__clf_label_names[WD_CLF_N_LABELS];

/* Where an example may be used. */
typedef enum wd_clf_use {
    WD_CLF_USE_TRAIN = 0, /* ship-ok: split into train / validation / held-out */
    WD_CLF_USE_EVAL = 1,  /* evaluation only (never trained on)                */
} wd_clf_use;

typedef enum wd_clf_split {
    WD_CLF_SPLIT_TRAIN = 0,
    WD_CLF_SPLIT_VAL = 1,     /* early stopping                     */
    WD_CLF_SPLIT_HELDOUT = 2, /* the reported test split            */
    WD_CLF_SPLIT_EVAL = 3,    /* an evaluation-only source          */
} wd_clf_split;

typedef struct wd_clf_example {
    char     *text;   /* as read (owned by the dataset)                    */
    char     *norm;   /* normalised (owned)                                */
    size_t    norm_len;
    uint32_t  source; /* index into wd_clf_dataset.sources                 */
    uint32_t  origin; /* source of the text copied (augmented), else source */
    uint64_t  group;  /* split unit: 0 = the text itself, else a key shared
                         by related texts (translations, one template)   */
    uint32_t  pos;    /* positive labels                                   */
    uint32_t  known;  /* labels this example says something about          */
    uint8_t   split;  /* wd_clf_split                                      */
} wd_clf_example;

typedef struct wd_clf_source {
    char      *name;      /* "advbench", "gen-benign", "cyberseceval-frr"... */
    wd_clf_use use;
    int        synthetic; /* written by warden's generator                  */
    char      *family;    /* source family for leave-one-source-out figures */
} wd_clf_source;

typedef struct wd_clf_dataset {
    wd_clf_example *ex;
    size_t          n, cap;
    wd_clf_source  *sources;
    size_t          n_sources;
    unsigned        norm_flags;
    size_t          n_dupes; /* examples dropped as exact duplicates        */
    int             v1_only; /* wd__clf_data_load reads only the sources of
                                the v1 model (before the 2026-12-06 sets)  */
    size_t         *dedup;   /* open-addressing set of example index + 1    */
    size_t          dedup_cap;
} wd_clf_dataset;

void      wd__clf_dataset_init(wd_clf_dataset *d, unsigned norm_flags);
void      wd__clf_dataset_free(wd_clf_dataset *d);
/* Returns the index of source name, adding it if new. */
int       wd__clf_dataset_source(wd_clf_dataset *d, const char *name, wd_clf_use use, int synthetic);
/* Adds one example (text copied and normalised). Ship-ok duplicates of an
 * earlier example (same normalised text) are dropped and counted. */
wd_status wd__clf_dataset_add(wd_clf_dataset *d, int source, const char *text, size_t len,
                              uint32_t pos, uint32_t known);
/* Assigns splits: eval-only sources get WD_CLF_SPLIT_EVAL; ship-ok examples
 * go to held-out with probability heldout_pct/100 and to validation with
 * val_pct/100 of the rest, decided by a seeded hash of the normalised text
 * (so equal texts always land together). */
void      wd__clf_dataset_split(wd_clf_dataset *d, uint64_t seed, int heldout_pct, int val_pct);

/* Reads the public datasets under data_dir (see textclf_data.c for the list
 * and how each is labelled). with_eval: also the evaluation-only sets.
 * Sources that are absent are skipped with a warning in the log; returns
 * WD_ERR_NOT_FOUND when none was found, WD_ERR_FORMAT for a malformed file. */
wd_status wd__clf_data_load(wd_clf_dataset *d, const char *data_dir, int with_eval);

/* Adds n benign prompts from warden's own generator (benign_gen.c), under
 * the source "gen-benign", deterministically from seed. */
wd_status wd__clf_benign_generate(wd_clf_dataset *d, size_t n, uint64_t seed);
/* Copies a share frac of the harmful train examples with a generator
 * opener/closer (see benign_gen.c); the copies stay in the train split. */
wd_status wd__clf_augment_harmful(wd_clf_dataset *d, double frac, uint64_t seed);
/* One generated prompt into buf (NUL-terminated, truncated to cap). */
size_t    wd__benign_gen_one(uint64_t *rng, char *buf, size_t cap);

/* ==== training =========================================================== */

typedef struct wd_clf_train_params {
    wd_textclf_cfg cfg;
    uint64_t seed;
    int      epochs;        /* maximum                                        */
    int      batch;
    float    lr;            /* Adam step size                                 */
    float    l2;            /* L2 penalty on weights (per example, mean loss) */
    float    cat_weight;    /* weight of the hazard/injection losses          */
    int      patience;      /* epochs without validation improvement          */
    size_t   source_cap;    /* a source counts as at most this many examples  */
    size_t   gen_cap;       /* the same for warden's generated benign prompts */
    float    harm_pos_w;    /* weight of a harmful example; 0 = balance classes */
    int      sample_capped; /* 1: a capped source trains on a sample of source_cap
                               examples; 0: on all, weighted cap / count      */
} wd_clf_train_params;

wd_clf_train_params wd__clf_train_params_default(void);

/* Sparse feature vectors of a dataset: example i has entries
 * idx[off[i]..off[i+1]) with values val[...] (merged duplicates). */
typedef struct wd_clf_feats {
    size_t   *off;
    uint32_t *idx;
    float    *val;
    size_t    n;
} wd_clf_feats;

wd_status wd__clf_featurize(const wd_textclf_cfg *cfg, const wd_clf_dataset *d, wd_clf_feats *f);
void      wd__clf_feats_free(wd_clf_feats *f);

/* Mean weighted loss over examples rows[0..n) plus l2/2 * |W|^2, and its
 * gradient added into gw (D, L) and gb (L) when they are not NULL.
 * w (D, L), b (L); ex_w (per example weights, indexed by example), pos_w (L):
 * weight of a positive relative to a negative for each label; cat_weight
 * scales labels other than "harmful". Exposed for the gradient check. */
double wd__clf_loss_grad(const wd_clf_dataset *d, const wd_clf_feats *f, const size_t *rows,
                         size_t n, const float *ex_w, const float *pos_w, float cat_weight,
                         float l2, size_t D, const float *w, const float *b, float *gw, float *gb);

/* Trains on the TRAIN split with early stopping on the VAL split and
 * returns the quantised model in *out. Progress goes to the log. */
wd_status wd__clf_train(const wd_clf_dataset *d, const wd_clf_train_params *p, wd_textclf **out);

/* ==== evaluation ========================================================= */

typedef struct wd_clf_counts {
    size_t tp, fp, fn, tn;
} wd_clf_counts;

typedef struct wd_clf_source_eval {
    size_t n;       /* examples of the source in the evaluated split(s)  */
    size_t n_pos;   /* of which harmful                                  */
    size_t flagged; /* of which flagged harmful                          */
    size_t flagged_pos;
    size_t cat_known, cat_top_ok; /* hazard known & top-scoring hazard right */
} wd_clf_source_eval;

typedef struct wd_clf_report {
    float              threshold;
    wd_clf_counts      heldout_real;   /* held-out, real (not generated) sources */
    wd_clf_counts      heldout_all;    /* held-out incl. generated benign        */
    size_t             n_sources;
    wd_clf_source_eval src[64];        /* per source, held-out or eval split     */
    double             ms_per_1k;      /* predict time, ms per 1000 texts        */
} wd_clf_report;

/* Fills r from per-example decisions made elsewhere (a whole guard):
 * flags[i] = 1 flagged, 0 not, -1 not scored. */
void wd__clf_evaluate_flags(const wd_clf_dataset *d, const int8_t *flags, wd_clf_report *r);

/* Scores every held-out and eval-only example with m (harmful if
 * p(harmful) >= threshold) and fills r. */
wd_status wd__clf_evaluate(const wd_textclf *m, const wd_clf_dataset *d, float threshold,
                           wd_clf_report *r);

/* ==== leave-one-source-out ============================================== */

typedef enum wd_clf_fold_kind {
    WD_CLF_FOLD_REQUEST = 0,   /* harmful requests vs benign instructions   */
    WD_CLF_FOLD_TOXIC = 1,     /* toxic / hateful content vs its contrasts  */
    WD_CLF_FOLD_INJECTION = 2, /* prompt injection (the injection head)     */
} wd_clf_fold_kind;

/* One fold: these source families (wd_clf_source.family) are left out of
 * training together and make up the test set. */
typedef struct wd_clf_fold {
    const char      *name;
    const char      *families[3];
    wd_clf_fold_kind kind;
} wd_clf_fold;

/* The folds `train-guard --eval` reports (n_out gets their count). */
const wd_clf_fold *wd__clf_default_folds(size_t *n_out);

/* Trains one model per fold without the fold's families (same params; the
 * split of every other example is kept) and scores the fold's examples with
 * it: oof[k * d->n + i] = fold k's model's probability of the fold's label
 * ("harmful", or "prompt_injection" for injection folds) for example i when
 * i belongs to fold k (a benign family may belong to several folds), NAN
 * otherwise. oof holds n_folds * d->n floats. A fold whose families are
 * absent is skipped (all NAN). d's splits are restored before returning. */
wd_status wd__clf_loso(wd_clf_dataset *d, const wd_clf_train_params *p, const wd_clf_fold *folds,
                       size_t n_folds, float *oof);

/* Counts of one fold at threshold t: oof_k = oof + k * d->n. */
wd_clf_counts wd__clf_fold_counts(const wd_clf_dataset *d, const float *oof_k,
                                  wd_clf_fold_kind kind, float t);

#endif
