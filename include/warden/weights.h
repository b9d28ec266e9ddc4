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

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_WEIGHTS_H */
