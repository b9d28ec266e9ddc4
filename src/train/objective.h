/*
 * train/objective.h - the losses of SFT, the reward model and DPO over a
 * micro-batch of examples: building the padded batch (rows of one length,
 * right-padded; a pad position and every prompt position has the target
 * WD_IGNORE_INDEX, so causal attention makes padding harmless), running
 * the trainable decoder, and its backward from each loss (see
 * warden/train.h for the formulas).
 */
#ifndef WD_TRAIN_OBJECTIVE_H
#define WD_TRAIN_OBJECTIVE_H

#include "train/examples.h"
#include "train/tdec.h"
#include "train/tenc.h"
#include "warden/train.h"

typedef struct wd__objective {
    wd_train_objective kind;
    wd__tdec   *d;
    wd__tenc   *e;         /* an encoder reward model instead of d      */
    wd__tparam *score;     /* reward: (1,C) head                        */
    double      beta;      /* dpo                                       */
    bool        ipo;
    int32_t     pad;       /* pad id                                    */
    /* work, planned for rows x T */
    int32_t *ids, *tg;
    float   *logp, *dlogp, *dxnf;
    size_t   max_rows, max_T;
    /* dpo: reference log-probabilities per example (chosen, rejected) */
    float   *ref;
    /* sft under an embedding-space attack (METHODS.md section 10): adv_steps
     * sign-gradient ascent steps on a perturbation of the prompt tokens'
     * input embeddings, each token's kept in an L2 ball of radius adv_eps
     * times the mean embedding norm; the model then trains on the
     * perturbed input (toward the target response, e.g. a refusal). */
    int      adv_steps;   /* 0: no attack */
    double   adv_eps;
    uint64_t adv_seed;
    float   *delta, *gdelta; /* (rows*T, C) */
    double   embd_norm;   /* mean L2 norm of the embedding rows */
    /* sft: weight of the unlikelihood -log(1 - p) of each example's harmful
     * completion (example.b), 0 = none; the attack maximises it too */
    double   away;
} wd__objective;

/* Per micro-batch figures (sums, for the caller to average). */
typedef struct wd__obj_stats {
    double loss_sum;   /* sft: sum of token losses; pairs: sum of pair losses */
    size_t n;          /* sft: tokens with a target; pairs: pairs            */
    size_t n_right;    /* pairs ranked right                                */
    double margin_sum; /* dpo: sum of beta * h                               */
    size_t tokens;     /* real tokens through the model                     */
} wd__obj_stats;

/* max_rows: the rows of a batch as the decoder was planned (one per SFT
 * example; two per pair, or per SFT example with an away row). */
wd_status wd__objective_init(wd__objective *o, wd__tdec *d, wd_train_objective kind,
                             size_t max_rows, size_t max_T);

/* An encoder reward model: pairs one sequence at a time (T <= max_T). */
wd_status wd__objective_init_encoder(wd__objective *o, wd__tenc *e, size_t max_T);

/* Forward (and, when weight > 0, backward scaled by weight / n: the
 * micro-batch's mean loss times weight) over examples ex[idx[0..k)]. */
wd_status wd__objective_run(wd__objective *o, const wd__example *ex, const size_t *idx,
                            size_t k, double weight, wd__obj_stats *st);

/* Turns on the attack for SFT (allocates its buffers). */
wd_status wd__objective_adversarial(wd__objective *o, int steps, double eps, uint64_t seed);

/* DPO: log-probabilities of every example under the current weights into
 * o->ref (2 per example), in micro-batches of up to bs examples. */
wd_status wd__objective_reference(wd__objective *o, const wd__examples *ex, size_t bs);

void wd__objective_free(wd__objective *o);

#endif
