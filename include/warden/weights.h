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

/* Merge methods, with mergekit's definitions (mergekit/merge_methods). For
 * one tensor, with base b, models x_i of weights w_i, task vectors
 * d_i = x_i - b, all computed in F32:
 *
 *   linear            sum_i w_i x_i / sum_i w_i      (the base is not mixed
 *                     in: list it in models to include it)
 *   slerp             spherical interpolation from b (t = 0) to the one
 *                     model x (t = 1) over the flattened tensor; lerp
 *                     (1-t) b + t x when |cos| > 0.9995
 *   task-arithmetic   b + lambda * sum_i w_i d_i
 *   ties              trim each d_i to its density * n largest |d_i|, elect
 *                     a sign per entry by sign(sum_i w_i d_i) (>= 0 -> +),
 *                     keep the entries agreeing with it (disjoint merge),
 *                     divide by the sum of the kept weights (normalize):
 *                     b + lambda * sum_i w_i m_i d_i / sum_i w_i m_i
 *   dare-linear       DARE each d_i (keep with probability density, scale
 *                     the kept by 1 / density), then task arithmetic
 *   dare-ties         DARE each d_i, then ties' sign election, no normalize
 *
 * normalize (divide by the weights' sum) defaults as in mergekit: on for
 * linear and ties, off for task-arithmetic, dare-linear and dare-ties. */
typedef enum wd_merge_method {
    WD_MERGE_METHOD_LINEAR = 0,
    WD_MERGE_METHOD_SLERP,
    WD_MERGE_METHOD_TASK_ARITHMETIC,
    WD_MERGE_METHOD_TIES,
    WD_MERGE_METHOD_DARE_LINEAR,
    WD_MERGE_METHOD_DARE_TIES,
    WD_MERGE_METHOD_COUNT
} wd_merge_method;

/* "linear", "slerp", "task-arithmetic", "ties", "dare-linear", "dare-ties";
 * "?" when out of range. Static string. */
const char *wd_merge_method_name(wd_merge_method m);
/* Parses those names (also with '_' for '-'). WD_ERR_INVALID_ARG otherwise. */
wd_status wd_merge_method_from_name(const char *name, wd_merge_method *out);

/* DARE's random drop, for the reference implementations to reproduce: the
 * mask of model i (0-based, in models order; RESTA uses 0) on the tensor
 * named NAME comes from the splitmix64 stream (base/rng.h) with state
 *     s = seed ^ fnv1a64(NAME) ^ splitmix64_mix(i + 1)
 * element j (row-major) drawing u_j = (next(s) >> 11) * 2^-53 in order, and
 * is kept when u_j < density; kept values are multiplied by
 * (float)(1 / density). Returns that stream's initial state. */
uint64_t wd_dare_stream(uint64_t seed, const char *tensor_name, size_t model_index);

/* Called after each tensor is written: done of total tensors, its name. */
typedef void (*wd_merge_progress_fn)(size_t done, size_t total, const char *tensor, void *user);

typedef struct wd_merge_model {
    const char *path;   /* a model folder (or .safetensors / index file) */
    double      weight; /* mergekit's per-model weight                   */
} wd_merge_model;

typedef struct wd_merge_params {
    wd_merge_method       method;      /* default ties                                 */
    const char           *base;        /* required except for linear (then optional:
                                          the source of config and non-float tensors) */
    const wd_merge_model *models;      /* n_models >= 1 (slerp: exactly 1)             */
    size_t                n_models;
    double                density;     /* ties, dare-*: fraction kept, (0, 1]; 1.0     */
    double                lambda;      /* task-vector methods: scale of the merged
                                          delta; 1.0                                  */
    double                t;           /* slerp: 0 = base, 1 = the model; 0.5          */
    int                   normalize;   /* -1: the method's default, 0 off, 1 on        */
    uint64_t              seed;        /* dare-*: the mask's seed (wd_dare_stream); 0  */
    int                   out_dtype;   /* -1: each tensor's input dtype; else
                                          WD_DTYPE_F32, _F16 or _BF16                  */
    uint64_t              shard_bytes; /* most tensor bytes per output shard; 5e9      */
    wd_merge_progress_fn  progress;    /* may be NULL                                  */
    void                 *progress_user;
} wd_merge_params;

/* The defaults above (method ties, no base, no models). */
wd_merge_params wd_merge_params_default(void);

/* What a merge (or RESTA) did. Fractions are counts over n_delta_entries,
 * the entries of every task vector that was sparsified (sum over models). */
typedef struct wd_merge_report {
    size_t   n_tensors;        /* tensors written                               */
    size_t   n_merged;         /* of which merged (float)                       */
    size_t   n_copied;         /* of which copied from the first input (others)  */
    uint64_t n_params;         /* elements of all tensors                       */
    uint64_t n_delta_entries;  /* ties, dare-*, resta --dare: entries examined  */
    uint64_t n_dropped;        /* of which zeroed by the trim or by DARE        */
    uint64_t n_sign_entries;   /* ties, dare-ties: entries with a non-zero delta */
    uint64_t n_sign_conflicts; /* of which some kept delta had the other sign    */
    size_t   n_slerp_lerp;     /* slerp: tensors that fell back to lerp         */
    size_t   n_shards;         /* output shards                                 */
    uint64_t bytes_written;    /* all weight files, headers included            */
    double   seconds;          /* wall time                                     */
    uint64_t peak_rss_bytes;   /* the process's peak RSS (Linux VmHWM), 0 if unknown */
} wd_merge_report;

/* Merges p->models (onto p->base) into the model folder out_dir, created if
 * needed. Every input must hold the same tensor names with the same shapes
 * and dtypes (an error names the tensor, both inputs and both shapes or
 * dtypes); F32, F16, BF16 and F64 tensors are merged in F32, other dtypes
 * are copied from the base (or the first model). config.json,
 * generation_config.json and the tokenizer files are copied from the same
 * input. Streams: one tensor per input in memory at a time (plus one
 * output), each input's pages dropped after use. On failure nothing is
 * left in out_dir (a folder it created is removed) and wd_last_error()
 * says why. report (may be NULL) is filled on success. */
wd_status wd_merge(const char *out_dir, const wd_merge_params *p, wd_merge_report *report);

/* RESTA (METHODS.md section 5): restores safety to a fine-tuned model by
 * adding the safety vector v = aligned - unaligned:
 *     theta = finetuned + beta * v
 * and with dare = p > 0, DARE first on the fine-tuning delta (density 1 - p,
 * stream of model 0 in wd_dare_stream):
 *     theta = aligned + DARE(finetuned - aligned) + beta * v */
typedef struct wd_resta_params {
    const char          *aligned;     /* the safe model the fine-tune started from */
    const char          *unaligned;   /* the aligned model fine-tuned on harm      */
    const char          *finetuned;   /* the compromised model to repair           */
    double               beta;        /* 1.0                                       */
    double               dare;        /* drop probability p in [0, 1); 0 = none    */
    uint64_t             seed;        /* 0                                         */
    int                  out_dtype;   /* as in wd_merge_params                     */
    uint64_t             shard_bytes; /* 5e9                                       */
    wd_merge_progress_fn progress;
    void                *progress_user;
} wd_resta_params;

wd_resta_params wd_resta_params_default(void);

/* Writes the repaired model to out_dir, with wd_merge's streaming, checks
 * and guarantees; config and tokenizer come from the fine-tuned model. */
wd_status wd_resta(const char *out_dir, const wd_resta_params *p, wd_merge_report *report);

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
