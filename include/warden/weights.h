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
typedef struct wd_guard wd_guard; /* warden/guard.h */

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

/* `warden prune`: one-shot pruning of a decoder's linear layers by Wanda's
 * score (Sun et al. 2023)
 *
 *     S_ij = |W_ij| * ||X_j||_2
 *
 * where ||X_j||_2 is the norm of input column j of the layer over every
 * token of a calibration set (the runtime's taps, warden/model.h). Each
 * output row i of a targeted weight W (rows, cols) loses k = floor(ratio *
 * cols) entries, set to zero:
 *
 *   WANDA     the k LOWEST scores (Wanda's unstructured sparsity; its
 *             calibration set is ordinary text);
 *   ANTIDOTE  the k HIGHEST scores (Antidote, arXiv 2408.09600: with a
 *             calibration set of harmful prompts + harmful answers these
 *             are the weights the harmful behaviour runs through; the
 *             paper's dense ratio is 0.1);
 *   RANDOM    k columns drawn uniformly without replacement (the
 *             ablation: same density, no scores; needs no calibration).
 *
 * Ties are broken by the lower column index first: among equal scores
 * WANDA prunes the lower column first and ANTIDOTE prunes the lower column
 * first too (the order is (score, column) ascending for WANDA and
 * (-score, column) ascending for ANTIDOTE). Scores are doubles.
 *
 * Targets are the seven linear layers of a Llama-style decoder block,
 * named after their Hugging Face tensors model.layers.N.self_attn.q_proj,
 * ... mlp.down_proj (.weight). Their input columns, in the layout of
 * wd_taps.act_sq: q/k/v read the normed stream (C), o_proj the attention
 * output (H*D), gate/up the normed stream (C), down_proj the MLP's
 * activation (I). */

typedef enum wd_prune_method {
    WD_PRUNE_METHOD_WANDA    = 0,
    WD_PRUNE_METHOD_ANTIDOTE = 1,
    WD_PRUNE_METHOD_RANDOM   = 2,
} wd_prune_method;

/* "wanda", "antidote", "random" (case-insensitive). Returns WD_OK or
 * WD_ERR_INVALID_ARG (message names the word). */
wd_status   wd_prune_method_parse(const char *s, wd_prune_method *out);
const char *wd_prune_method_name(wd_prune_method m); /* static; "?" when unknown */

/* Targets, a bit set. */
enum {
    WD_PRUNE_TARGET_Q    = 1u << 0,
    WD_PRUNE_TARGET_K    = 1u << 1,
    WD_PRUNE_TARGET_V    = 1u << 2,
    WD_PRUNE_TARGET_O    = 1u << 3,
    WD_PRUNE_TARGET_GATE = 1u << 4,
    WD_PRUNE_TARGET_UP   = 1u << 5,
    WD_PRUNE_TARGET_DOWN = 1u << 6,
    WD_PRUNE_TARGET_ALL  = 0x7fu,
    WD_PRUNE_N_TARGETS   = 7,
};

/* A comma-separated list of q, k, v, o, gate, up, down (also q_proj ...),
 * attn (q,k,v,o), mlp (gate,up,down) and all, into a bit set. Returns
 * WD_OK, or WD_ERR_INVALID_ARG naming an unknown or empty item. */
wd_status wd_prune_targets_parse(const char *list, unsigned *out);
/* The short name of target bit t ("q" ... "down"); "?" for anything else. */
const char *wd_prune_target_name(unsigned t);

/* Progress: stage "calibrate" (done = examples run, of total) then
 * "prune" (done = targeted tensors masked, of total). */
typedef void (*wd_prune_progress_fn)(void *user, const char *stage, size_t done, size_t total);

typedef struct wd_prune_params {
    wd_prune_method method;      /* default WANDA                                       */
    double          ratio;       /* the fraction of each row pruned, in (0, 1); 0: the
                                    method's default (WANDA 0.5, ANTIDOTE and RANDOM 0.1) */
    unsigned        targets;     /* WD_PRUNE_TARGET_* bits; 0: ALL                        */
    /* The calibration set: a dataset file (JSONL/JSON/CSV/TSV, warden/dataset.h)
     * of prompt + response records, each rendered with the model's chat
     * template (user turn, assistant turn, no generation prompt; without a
     * template "prompt\nresponse" EOS, as `warden train sft` renders them)... */
    const char     *calib;
    const char     *prompt_field;   /* default "prompt"   */
    const char     *response_field; /* default "response" */
    /* ... or token ids: sequence s is calib_ids[calib_off[s] .. calib_off[s+1]),
     * n_calib_ids sequences (calib_off has n_calib_ids + 1 entries). */
    const int32_t  *calib_ids;
    const size_t   *calib_off;
    size_t          n_calib_ids;
    size_t          max_examples; /* 0: all                                               */
    size_t          max_len;      /* tokens per example, longer ones cut (default 512)     */
    uint64_t        seed;         /* RANDOM's draws (default 1); layer l's target bit t
                                     gets wd_prune_mask's seed seed ^ splitmix64's mixer
                                     of (8l + t + 1)                                      */
    int             n_threads;    /* the runtime's threads; 0: every CPU                  */
    /* A base checkpoint (the model before the fine-tune), or NULL. When set,
     * the scores and masks are computed on the update D = W - W_base
     * (S_ij = |D_ij| * ||X_j||_2) and the masked entries return to the
     * base's values, W <- W - mask * D: only what the fine-tune changed is
     * pruned (Antidote applied to the fine-tune's delta, as its code prunes
     * the fine-tune's LoRA adapter). The base's targeted tensors must have
     * the same shapes. */
    const char     *base;
    wd_prune_progress_fn progress;
    void           *user;
} wd_prune_params;

wd_prune_params wd_prune_params_default(void);

typedef struct wd_prune_summary {
    wd_prune_method method;
    double          ratio;
    unsigned        targets;
    size_t          n_layer;
    size_t          n_examples;   /* calibration sequences run                             */
    size_t          n_cut;        /* of them, cut to max_len                               */
    uint64_t        n_tokens;     /* calibration rows (tokens) through the model           */
    uint64_t        n_pruned;     /* weights set to zero, all targets                      */
    uint64_t        n_target_weights; /* weights in the targeted tensors                   */
    size_t          n_tensors;    /* targeted tensors pruned                               */
    /* (n_layer, WD_PRUNE_N_TARGETS): weights pruned in layer l, target bit t
     * at [l * WD_PRUNE_N_TARGETS + t]; malloc'd, freed by wd_prune_summary_free. */
    uint64_t       *pruned;
    double          calib_seconds, write_seconds;
} wd_prune_summary;

void wd_prune_summary_free(wd_prune_summary *s); /* frees s->pruned; NULL ok */

/* The mask of one weight W (rows, cols), row-major: mask[i*cols + j] = 1
 * for the k = floor(ratio * cols) entries of row i that the method prunes
 * (see above), else 0. norms (cols) are ||X_j||_2 (unused by RANDOM, may
 * be NULL then). RANDOM draws each row's set with splitmix64 seeded by
 * seed (one stream, rows in order: a partial Fisher-Yates shuffle).
 * Returns WD_OK, WD_ERR_INVALID_ARG (ratio outside (0, 1), NULL
 * pointers), WD_ERR_NOMEM. */
wd_status wd_prune_mask(wd_prune_method method, double ratio, uint64_t seed, const float *w,
                        const double *norms, size_t rows, size_t cols, uint8_t *mask);

/* The calibration pass alone: every sequence of params' calibration set
 * (file or ids; max_len, max_examples apply) through the decoder m with
 * taps, then norms[l * W + j] = sqrt(act_sq) for layer l and input column
 * j (W = wd_model_act_width(m); layout in warden/model.h). norms holds
 * wd_model_n_layer(m) * W doubles. *n_tokens, *n_examples, *n_cut (any
 * may be NULL) count what ran. Returns WD_OK, WD_ERR_INVALID_ARG (an
 * encoder; no calibration given; ids out of the vocabulary), or the
 * dataset reader's and tokenizer's errors (wd_last_error() names the file,
 * record and field). */
wd_status wd_prune_act_norms(wd_model *m, const wd_prune_params *params, double *norms,
                             uint64_t *n_tokens, size_t *n_examples, size_t *n_cut);

/* Prunes the decoder folder model_dir into the folder out (a model folder
 * of the same layout and dtypes, config and tokenizer carried over;
 * non-targeted tensors copied bit for bit): loads it, runs the
 * calibration (not for RANDOM), masks every targeted tensor and writes
 * W * (1 - mask). Everything is checked before out is touched, and out is
 * written staged, so a failure leaves no output folder. On WD_OK *summary
 * (may be NULL) is filled (free with wd_prune_summary_free). Returns
 * WD_ERR_INVALID_ARG (ratio outside (0, 1), no targets, no calibration for
 * WANDA/ANTIDOTE, no targeted tensor in the checkpoint), WD_ERR_FORMAT (a
 * target whose columns disagree with the model's), the loader's and the
 * reader's errors; wd_last_error() says which. */
wd_status wd_prune(const char *model_dir, const char *out, const wd_prune_params *params,
                   wd_prune_summary *summary);

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
 * are counted; and the KL divergence of the next-token distribution at
 * the end of each validation benign prompt, unsteered || ablated, is
 * averaged (how much the ablation changes the model where it should not).
 * The chosen layer is the one whose ablation leaves the fewest refusals
 * among those whose addition induces refusal (more than the unsteered
 * model on benign prompts) and whose KL is at most 0.1 (Arditi's
 * filters); failing that, the addition filter alone; failing that, the
 * fewest refusals overall.
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
    double kl;             /* mean KL(unsteered || r_l ablated) of the next token on validation
                              benign prompts (NaN: not tried)                                      */
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
/* The same over size bytes in memory (not kept); name is used in messages. */
wd_status wd_steer_load_memory(const void *data, size_t size, const char *name, wd_steer_result *out);

/* Activation addition at generation time: alpha * r_layer added to the
 * stream entering `layer` of m (layer < 0: the file's), at every position
 * (wd_model_set_steering). Errors when the file's width or depth differ
 * from m's. */
wd_status wd_steer_apply(wd_model *m, const char *path, float alpha, int layer);

/* Lee et al.'s toxic vectors (METHODS.md 7a): the MLP value vectors --
 * columns of every layer's down_proj, what each MLP neuron writes to the
 * residual stream -- ranked by cosine similarity to the file's direction
 * of layer `layer` (< 0: the file's). The k best (k <= 4096) go to out,
 * most similar first. */
typedef struct wd_value_vector {
    size_t layer;  /* the MLP's layer                 */
    size_t index;  /* the neuron: down_proj's column  */
    double cosine; /* with the direction              */
    double norm;   /* |column|                        */
} wd_value_vector;

wd_status wd_steer_value_vectors(const char *model, const char *path, int layer, size_t k,
                                 wd_value_vector *out, size_t *n_out);

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
 * ASR = % of answers with no refusal phrase, or with a judge, % of answers
 * the judge guard flags unsafe (output role). VISAGE = mean(100 - ASR) over
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
    wd_guard           *judge;       /* borrowed; NULL (default): the refusal detector  */
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
    bool    judged;  /* ASR by the judge, not the refusal detector */
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
