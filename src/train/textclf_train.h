/*
 * train/textclf_train.h - the insides of warden/textclf.h's training side,
 * shared by the files of src/train/ and the tests: the dataset's layout,
 * the feature matrix and the loss (exposed for the gradient check).
 *
 * An example's pos and known are bit sets over the labels
 * (WD_TEXTCLF_LABEL_*); pos is always a subset of known.
 */
#ifndef WD_TRAIN_TEXTCLF_TRAIN_H
#define WD_TRAIN_TEXTCLF_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "guard/textclf.h"
#include "warden/base.h"
#include "warden/textclf.h"

/* The label names of the shipped model (WD_TEXTCLF_N_LABELS strings). */
extern const char *const wd__textclf_label_names[WD_TEXTCLF_N_LABELS];

typedef struct wd__textclf_example {
    char     *text;   /* as read (owned by the dataset)                    */
    char     *norm;   /* normalised (owned)                                */
    size_t    norm_len;
    uint32_t  source; /* index into wd_textclf_dataset.sources                 */
    uint32_t  origin; /* source of the text copied (augmented), else source */
    uint64_t  group;  /* split unit: 0 = the text itself, else a key shared
                         by related texts (translations, one template)   */
    uint32_t  pos;    /* positive labels                                   */
    uint32_t  known;  /* labels this example says something about          */
    uint8_t   split;  /* wd_textclf_split                                      */
} wd__textclf_example;

typedef struct wd__textclf_source {
    char      *name;      /* "advbench", "gen-benign", "cyberseceval-frr"... */
    wd_textclf_use use;
    int        synthetic; /* written by warden's generator                  */
    char      *family;    /* source family for leave-one-source-out figures */
} wd__textclf_source;

struct wd_textclf_dataset {
    wd__textclf_example *ex;
    size_t          n, cap;
    wd__textclf_source  *sources;
    size_t          n_sources;
    unsigned        norm_flags;
    size_t          n_dupes; /* examples dropped as exact duplicates        */
    int             v1_only; /* wd__textclf_data_load reads only the sources of
                                the v1 model (before the 2026-12-06 sets)  */
    int             v1_instructions; /* v1_only, plus the benign instruction sets */
    size_t         *dedup;   /* open-addressing set of example index + 1    */
    size_t          dedup_cap;
};

void      wd__textclf_dataset_init(wd_textclf_dataset *d, unsigned norm_flags);
void      wd__textclf_dataset_free(wd_textclf_dataset *d);

/* The per-source caps: cnt[s] = examples of source s (< 256) in the train
 * and validation splits; the cap that applies to x (p->gen_cap for a
 * generated benign prompt, else p->source_cap). A source of c > cap
 * examples weighs cap / c an example. */
void   wd__textclf_source_counts(const wd_textclf_dataset *d, size_t cnt[256]);
size_t wd__textclf_cap(const wd_textclf_dataset *d, const wd__textclf_example *x, const wd_textclf_train_params *p);

/* An augmented copy (text, labels pos / known) of an example of source
 * origin, added under source src in the train split; LOSO leaves it out
 * with origin. A duplicate is dropped as by wd_textclf_dataset_add. */
wd_status wd__textclf_add_train_copy(wd_textclf_dataset *d, int src, const char *text, size_t len, uint32_t pos,
                                     uint32_t known, uint32_t origin);

/* Replaces the text of example i (a train example) by text, normalised
 * again; its labels, source and split stay. The dataset's duplicate set
 * is not updated: a later text equal to the old one is no longer a
 * duplicate of example i. */
wd_status wd__textclf_replace_text(wd_textclf_dataset *d, size_t i, const char *text, size_t len);

/* wd_textclf_dataset_load for a dataset on the stack: with_eval is
 * WD_TEXTCLF_LOAD_EVAL, d->v1_only WD_TEXTCLF_LOAD_V1. */
wd_status wd__textclf_data_load(wd_textclf_dataset *d, const char *data_dir, int with_eval);

/* One generated benign prompt into buf (NUL-terminated, truncated to cap). */
size_t    wd__textclf_benign_one(uint64_t *rng, char *buf, size_t cap);

/* ==== training =========================================================== */

/* Sparse feature vectors of a dataset: example i has entries
 * idx[off[i]..off[i+1]) with values val[...] (merged duplicates). */
typedef struct wd__textclf_feats {
    size_t   *off;
    uint32_t *idx;
    float    *val;
    size_t    n;
} wd__textclf_feats;

wd_status wd__textclf_featurize(const wd_textclf_cfg *cfg, const wd_textclf_dataset *d, wd__textclf_feats *f);
void      wd__textclf_feats_free(wd__textclf_feats *f);

/* Mean weighted loss over examples rows[0..n) plus l2/2 * |W|^2, and its
 * gradient added into gw (D, L) and gb (L) when they are not NULL.
 * w (D, L), b (L); ex_w (per example weights, indexed by example), pos_w (L):
 * weight of a positive relative to a negative for each label; cat_weight
 * scales labels other than "harmful". Exposed for the gradient check. */
double wd__textclf_loss_grad(const wd_textclf_dataset *d, const wd__textclf_feats *f, const size_t *rows,
                         size_t n, const float *ex_w, const float *pos_w, float cat_weight,
                         float l2, size_t D, const float *w, const float *b, float *gw, float *gb);

/* One example's loss (weight ex_w) at logits z, added to *loss, and its
 * gradient times inv_n into dz (L): the losses of the file comment of
 * textclf_train.c, shared by both forms of the model. */
void wd__textclf_example_loss(const wd__textclf_example *x, float ex_w, const float *pos_w, float cat_weight,
                              const float *z, double inv_n, float *dz, double *loss);

/* The training plan: the TRAIN rows tr (n_tr; a capped source sampled
 * when p->sample_capped) and VAL rows va (n_va), each example's weight
 * ex_w (indexed by example; all arrays hold d->n), each label's positive
 * weight pos_w, the labels some training example speaks to. */
wd_status wd__textclf_plan(const wd_textclf_dataset *d, const wd_textclf_train_params *p, size_t *tr,
                           size_t *n_tr, size_t *va, size_t *n_va, float *ex_w, float *pos_w,
                           uint32_t *known_any);

/* wd_textclf_train for p->arch == WD_TEXTCLF_ARCH_CNN (textcnn_train.c). */
wd_status wd__textcnn_train(const wd_textclf_dataset *d, const wd_textclf_train_params *p, wd_textclf **out);

#endif
