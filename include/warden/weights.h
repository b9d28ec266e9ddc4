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
typedef struct wd_model wd_model; /* warden/model.h */

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

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_WEIGHTS_H */
