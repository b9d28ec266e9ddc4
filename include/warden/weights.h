/*
 * warden/weights.h - weight-space repair of fine-tuned checkpoints
 * (METHODS.md sections 2-7): merging (`warden merge`), the RESTA safety
 * vector (`warden resta`), pruning harmful weights (`warden prune`), safety
 * layers (`warden layers`), refusal / toxic directions (`warden steer`) and
 * the safety landscape (`warden landscape`).
 *
 * Inputs are Hugging Face model folders (safetensors, one file or sharded);
 * outputs are model folders of the same layout, config and tokenizer carried
 * over, written shard by shard through temporary files and renamed into
 * place, so that a failure leaves nothing behind.
 */
#ifndef WARDEN_WEIGHTS_H
#define WARDEN_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

typedef struct wd_model wd_model; /* warden/model.h */

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Merging and task arithmetic (merge.c, resta.c) ====================== */

/* ==== Activation-aware pruning (prune.c) =================================== */

/* ==== Safety layers, directions and the landscape ========================= */

/* Progress of a long step: stage names what runs ("states", "ablate 3",
 * "grid"...), done of total items. */
typedef void (*wd_weights_progress)(void *user, const char *stage, size_t done, size_t total);

/* -- Refusal and toxic directions (METHODS.md 7a, 7b; steer.c) --------------
 *
 * A direction is taken at the last position of each prompt (the end of the
 * chat template's generation prompt), from the residual stream entering
 * layer l (l = 0..L; L = after the last layer):
 *
 *   MEAN   r_l = mean(harmful states) - mean(benign states)  (Arditi et al.)
 *   PROBE  the weight vector w of an L2-regularised logistic regression
 *          telling harmful from benign states (Lee et al.'s probe), scaled
 *          so that w/|w| . r_l is its length: adding it moves the stream as
 *          far along w as the class means lie apart.
 *
 * Selection (layer < 0): for every candidate l in [1, 0.8 L) the direction
 * is ablated everywhere (x <- x - (x.r^)r^) and greedy answers to the
 * validation harmful prompts are checked for refusals; it is also added
 * at layer l's entry (scale 1) and the validation benign prompts' refusals
 * are counted. The chosen layer is the one whose ablation leaves the
 * fewest refusals among those whose addition induces refusal (more than
 * the unsteered model on benign prompts); if none does, the fewest
 * refusals overall. (Arditi's KL filter is not applied.)
 *
 * Ablation sets the stream's component along r^ to zero (Arditi et al.),
 * or, with affine, to the benign prompts' mean component at the direction's
 * layer (affine concept editing, Marshall et al. 2024): the right edit for
 * a model whose benign prompts do not sit at zero along r^ -- a model
 * trained from scratch to refuse, where zeroing the component reads as
 * "harmful" and makes it refuse everything. */
typedef enum wd_direction_method {
    WD_DIRECTION_METHOD_MEAN = 0,
    WD_DIRECTION_METHOD_PROBE,
} wd_direction_method;

typedef struct wd_steer_params {
    const char         *harmful, *benign; /* dataset files (warden/dataset.h)          */
    size_t              n_train;     /* prompts of each file for the means (128)       */
    size_t              n_val;       /* further prompts of each for selection (32)     */
    size_t              max_tokens;  /* greedy tokens per answer in selection (32)     */
    wd_direction_method method;      /* MEAN                                           */
    int                 layer;       /* -1 (default): select; else this layer          */
    bool                affine;      /* selection ablates affinely (see above)         */
    int                 n_threads;   /* 0: every CPU                                   */
    wd_weights_progress progress;    /* may be NULL                                    */
    void               *user;
} wd_steer_params;

wd_steer_params wd_steer_params_default(void);

typedef struct wd_steer_layer {
    double ablate_refusal; /* validation harmful prompts refused with r_l ablated (NaN: not tried) */
    double add_refusal;    /* validation benign prompts refused with r_l added (NaN: not tried)    */
    double norm;           /* |r_l|                                                                */
    double separation;     /* mean harmful minus mean benign projection on r^_l over their
                              pooled standard deviation (how well r_l tells them apart)            */
} wd_steer_layer;

typedef struct wd_steer_result {
    size_t              n_layer, n_embd; /* L, C                                         */
    size_t              layer;           /* the chosen (or given) layer                  */
    wd_direction_method method;
    float              *dirs;            /* (L+1, C): r_l                                 */
    float              *proj[2];         /* (L+1) each: the harmful [0] and benign [1]
                                            training states' mean component along r^_l  */
    bool                affine;          /* selection ablated affinely                   */
    wd_steer_layer     *layers;          /* (L+1)                                        */
    double              base_refusal;    /* validation harmful refused, unsteered (NaN: no selection) */
    double              base_benign_refusal; /* validation benign refused, unsteered     */
    size_t              n_train[2], n_val[2]; /* harmful, benign prompts used            */
} wd_steer_result;

/* Extracts the directions of the model folder model and, unless
 * params->layer >= 0, selects the layer. On WD_OK *out is filled (free
 * with wd_steer_result_free). Errors name the file and the reason. */
wd_status wd_steer_extract(const char *model, const wd_steer_params *params, wd_steer_result *out);
void      wd_steer_result_free(wd_steer_result *r);

/* A direction file: safetensors with "directions" (L+1, C) F32 and the
 * metadata "format" = "warden-directions", "layer", "method", "model",
 * "selection" (per-layer scores as JSON). Written atomically. */
wd_status wd_steer_save(const wd_steer_result *r, const char *model, const char *path);
wd_status wd_steer_load(const char *path, wd_steer_result *out);

/* Activation addition at generation time: alpha * r_layer added to the
 * stream entering `layer` of m (layer < 0: the file's), at every position
 * (wd_model_set_steering). Errors when the file's width or depth differ
 * from m's. */
wd_status wd_steer_apply(wd_model *m, const char *path, float alpha, int layer);

/* Directional ablation written into the weights: a copy of the model
 * folder model in out with r^ = r_layer / |r_layer| (layer < 0: the
 * file's) projected out of everything that writes to the residual stream:
 * embed_tokens rows e <- e - (e.r^)r^ (+ c r^ when affine, c = the benign
 * mean component benign_proj[layer]), o_proj and down_proj
 * W <- W - r^(r^T W), o_proj's bias b <- b - (b.r^)r^. The written model's
 * residual stream has component 0 (affine: c) along r^ at every layer and
 * position: the same model as ablating at run time. */
wd_status wd_steer_ablate(const char *model, const char *path, int layer, bool affine, const char *out);

/* -- Safety layers (METHODS.md 2; layers.c) ------------------------------------
 *
 * For every layer l the output hidden state at the last position of each
 * prompt (N = benign, M = harmful prompts) is compared by cosine
 * similarity over n_pairs random pairs of each kind: N-N, M-M and N-M.
 * gap_l = (NN_l + MM_l)/2 - NM_l. The safety layers are where the gap opens
 * and widens: from the first layer whose gap reaches 10% of the largest to
 * the first after it that reaches 90%.
 *
 * Refinement (params->overrefusal set): the candidate range and its
 * neighbours (each boundary moved by one) are tried in turn: the
 * attention and MLP weights of the range are multiplied by scale and the
 * over-refusal on the borderline-benign prompts is measured (greedy,
 * max_tokens); the range that raises it most is kept. */
typedef struct wd_layers_params {
    const char         *harmful, *benign; /* dataset files                                */
    size_t              n_prompts;   /* of each (100)                                    */
    size_t              n_pairs;     /* random pairs of each kind per layer (500)        */
    uint64_t            seed;        /* pairs (1)                                        */
    const char         *overrefusal; /* borderline-benign prompts for the refinement, or NULL */
    size_t              n_overrefusal; /* of them (0 = all)                              */
    float               scale;       /* 1.1                                              */
    size_t              max_tokens;  /* 16                                               */
    int                 n_threads;
    wd_weights_progress progress;
    void               *user;
} wd_layers_params;

wd_layers_params wd_layers_params_default(void);

typedef struct wd_layers_trial {
    size_t lo, hi;         /* the range scaled (inclusive)          */
    double over_refusal;   /* with it scaled                        */
} wd_layers_trial;

typedef struct wd_layers_result {
    size_t           n_layer;
    double          *nn, *mm, *nm, *gap; /* (L) mean cosine similarities, layer outputs */
    double          *nn_sd, *mm_sd, *nm_sd;
    size_t           lo, hi;              /* the safety layers from the gap (inclusive) */
    bool             refined;
    double           base_over_refusal;   /* unscaled model                              */
    wd_layers_trial *trials;              /* the ranges tried                            */
    size_t           n_trials;
    size_t           ref_lo, ref_hi;      /* the refined range (== lo, hi when not refined) */
} wd_layers_result;

wd_status wd_layers_run(const char *model, const wd_layers_params *params, wd_layers_result *out);
void      wd_layers_result_free(wd_layers_result *r);
/* The figure: the three similarity curves and the gap per layer, the range
 * shaded. *svg is malloc'd. */
wd_status wd_layers_svg(const wd_layers_result *r, const char *title, char **svg);

/* -- The safety landscape (METHODS.md 3, VISAGE; landscape.c) -----------------
 *
 * Directions: per weight matrix, d ~ N(0, I) drawn from the seed (splitmix64
 * stream seeded with seed, the direction's index and the tensor's name)
 * and scaled to |d| = |W| (filter normalisation by tensor); norm weights
 * and biases get zero. The loaded weights are perturbed in place,
 * theta = theta0 + a d1 (+ b d2), at grid x grid points of [-range, range]
 * (or grid x 1 in 1D), and restored from the checkpoint after each point.
 * At each point the prompts are answered greedily (max_tokens) and
 * ASR = % of answers with no refusal phrase. VISAGE = mean(100 - ASR) over
 * the connected region around the origin where ASR < 100 (1D: the
 * contiguous interval; 2D: 4-connected). */
typedef struct wd_landscape_params {
    const char         *prompts;     /* harmful prompts (dataset file)                  */
    size_t              n_prompts;   /* 80                                              */
    int                 n_dirs;      /* 1 or 2                                          */
    size_t              grid;        /* points per axis, odd (21)                       */
    double              range;       /* 0.5                                             */
    uint64_t            seed;        /* 1                                               */
    size_t              max_tokens;  /* 32                                              */
    int                 n_threads;
    wd_weights_progress progress;
    void               *user;
} wd_landscape_params;

wd_landscape_params wd_landscape_params_default(void);

typedef struct wd_landscape_result {
    int     n_dirs;
    size_t  grid;
    double *alpha; /* (grid) coordinates along each axis                      */
    double *asr;   /* (grid) in 1D, (grid, grid) in 2D (row = second direction) */
    double  visage;
    size_t  n_prompts;
} wd_landscape_result;

wd_status wd_landscape_run(const char *model, const wd_landscape_params *params,
                           wd_landscape_result *out);
void      wd_landscape_result_free(wd_landscape_result *r);
/* 1D: one curve per result (labels[i]), ASR against alpha; 2D: a heat
 * map of results[0]. *svg is malloc'd. */
wd_status wd_landscape_svg(const wd_landscape_result *const *results, const char *const *labels,
                           size_t n, char **svg);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_WEIGHTS_H */
