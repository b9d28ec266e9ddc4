/*
 * train/optim.h - the optimiser of the training engine and what goes with
 * it, over flat float vectors: AdamW (torch.optim.AdamW's update), the
 * learning-rate schedules (constant, linear, cosine; linear warmup; a floor)
 * and global gradient-norm clipping (torch.nn.utils.clip_grad_norm_).
 *
 * Nothing here allocates or keeps state: the caller owns the parameters,
 * their gradient and AdamW's two moment vectors (m, v: n floats each,
 * zeroed before the first step), so one set of calls serves one flat
 * allocation or any number of segments of it (decay on for matrices, off
 * for norms and biases).
 */
#ifndef WD_TRAIN_OPTIM_H
#define WD_TRAIN_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== AdamW ============================================================== */

/* AdamW's settings other than the learning rate (which the schedule gives
 * per step). Defaults (wd__adamw_params_default): beta1 0.9, beta2 0.999,
 * eps 1e-8 (torch's) and weight_decay 0.0 (torch's default is 0.01; Llama 2
 * trained with 0.1: set it explicitly). */
typedef struct wd__adamw_params {
    double beta1;        /* decay of the first moment m                   */
    double beta2;        /* decay of the second moment v                  */
    double eps;          /* added to sqrt(v_hat) in the denominator       */
    double weight_decay; /* decoupled: p -= lr * weight_decay * p         */
} wd__adamw_params;

wd__adamw_params wd__adamw_params_default(void);

/* One AdamW step, t = 1, 2, ... (the number of this step, counted from 1
 * as torch counts state["step"]), on n parameters:
 *
 *   p <- p * (1 - lr * weight_decay)            (only when decay is true)
 *   m <- beta1 * m + (1 - beta1) * g
 *   v <- beta2 * v + (1 - beta2) * g^2
 *   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * which is torch.optim.AdamW (amsgrad off, maximize off) term for term:
 * the settings and bias corrections in double, rounded to float where torch
 * rounds its Python scalars, and the vector arithmetic in float in torch's
 * order. p, m, v (n) are updated in place; g (n) is read only. */
void wd__adamw_step(float *p, float *m, float *v, const float *g, size_t n, const wd__adamw_params *a, double lr,
                    uint64_t t, bool decay);

/* ==== learning-rate schedules =========================================== */

typedef enum wd__lr_kind {
    WD__LR_KIND_CONSTANT = 0, /* peak after the warmup                    */
    WD__LR_KIND_LINEAR   = 1, /* linear from peak to the floor            */
    WD__LR_KIND_COSINE   = 2, /* half a cosine from peak to the floor     */
} wd__lr_kind;

typedef struct wd__lr_schedule {
    wd__lr_kind kind;
    double      lr;           /* the peak learning rate                                */
    uint64_t    warmup_steps; /* linear warmup: steps 0..warmup_steps-1               */
    uint64_t    total_steps;  /* the decay ends here (the floor from then on)          */
    double      min_lr_ratio; /* the floor as a fraction of lr (Llama 2: cosine to 0.1) */
} wd__lr_schedule;

/* The learning rate of step s (counted from 0), a pure function:
 *
 *   s < W:      lr * (s + 1) / W                         (warmup, W = warmup_steps)
 *   otherwise:  p = min(1, (s - W) / max(1, T - W))      (T = total_steps)
 *     constant: lr
 *     linear:   lr * (f + (1 - f) * (1 - p))             (f = min_lr_ratio)
 *     cosine:   lr * (f + (1 - f) * (1 + cos(pi p)) / 2)
 *
 * The warmup is llm.c's and nanoGPT's (the first step already moves, unlike
 * transformers' get_*_schedule_with_warmup, whose step 0 has lr 0); the
 * floor is transformers' min_lr_rate. */
double wd__lr_at(const wd__lr_schedule *s, uint64_t step);

/* ==== gradient clipping ================================================== */

/* Sum of squares of g (n), accumulated in double: the piece of a global norm
 * that one segment contributes. */
double wd__grad_sumsq(const float *g, size_t n);

/* Multiplies g (n) by s. */
void wd__grad_scale(float *g, size_t n, float s);

/* The clip factor of torch.nn.utils.clip_grad_norm_ for a global norm:
 * max_norm / (norm + 1e-6) when that is below 1, else 1. A norm that is not
 * finite gives 1 (the caller should skip the step: see wd__clip_grad_norm). */
float wd__clip_coef(double norm, double max_norm);

/* Clips g (n) to the global L2 norm max_norm as clip_grad_norm_ does (over
 * one flat vector; for segments, sum wd__grad_sumsq over them, take the
 * square root, and scale each by wd__clip_coef). Returns the norm before
 * clipping. Unlike torch, a non-finite norm leaves g as it is (torch would
 * scale it by NaN): the caller sees the NaN or inf it returns. */
double wd__clip_grad_norm(float *g, size_t n, double max_norm);

#endif
