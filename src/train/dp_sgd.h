/*
 * train/dp_sgd.h - the pieces of one DP-SGD step (Abadi et al. 2016, as
 * Opacus runs it; METHODS.md section 9), over flat float vectors, for the
 * trainer to call around its per-example backward passes:
 *
 *   n_lot = wd__dp_poisson_sample(idx, N, q, &rng);     which examples
 *   zero sum (n)
 *   for each e in idx[0..n_lot):
 *       g = the example's gradient (n)
 *       wd__dp_clip_accumulate(sum, g, n, C);            sum += g * min(1, C/|g|)
 *   wd__dp_noise_average(sum, n, &dp, N, &rng);          (sum + N(0, (sigma C)^2)) / (q N)
 *   optimiser step with sum as the gradient
 *
 * The privacy this buys is counted by the accountant (warden/train.h,
 * wd_privacy_epsilon) from (sigma, q, steps, delta). Nothing here
 * allocates; the random numbers come from base/rng.h's splitmix64 stream,
 * so a seed fixes the lots and the noise.
 */
#ifndef WD_TRAIN_DP_SGD_H
#define WD_TRAIN_DP_SGD_H

#include <stddef.h>
#include <stdint.h>

/* DP-SGD's settings. */
typedef struct wd__dp_params {
    double noise;       /* sigma: the noise's std over the clip norm (Opacus's noise_multiplier) */
    double clip;        /* C: the per-example L2 clip norm (Opacus's max_grad_norm)             */
    double sample_rate; /* q: each example's probability of being in a lot                      */
} wd__dp_params;

/* The factor that clips a gradient of L2 norm norm to clip: min(1, clip /
 * norm), 1 for a zero gradient. (Opacus divides by norm + 1e-6; METHODS.md
 * and Abadi et al. use the exact ratio, as here.) */
double wd__dp_clip_factor(double norm, double clip);

/* Clips g (n) in place to L2 norm clip; returns its norm before clipping
 * (accumulated in double). */
double wd__dp_clip(float *g, size_t n, double clip);

/* sum (n) += g (n) clipped to L2 norm clip; g is left as it was. Returns
 * g's norm before clipping. */
double wd__dp_clip_accumulate(float *sum, const float *g, size_t n, double clip);

/* Adds independent N(0, std^2) noise to x (n), drawn from *rng (Box-Muller
 * on pairs of splitmix64 uniforms; deterministic for a seed). */
void wd__dp_add_noise(float *x, size_t n, double std, uint64_t *rng);

/* One standard normal from *rng (the generator wd__dp_add_noise uses; it
 * draws these in pairs, so the streams of the two differ). */
double wd__dp_normal(uint64_t *rng);

/* Poisson sampling of a lot: keeps each of the examples 0..n_data-1
 * independently with probability q, drawing one uniform per example from
 * *rng, and writes the kept indices, ascending, into idx (room for n_data).
 * Returns how many were kept (0 is possible: the step then adds only
 * noise, as Opacus does with an empty batch). */
size_t wd__dp_poisson_sample(size_t *idx, size_t n_data, double q, uint64_t *rng);

/* Finishes a lot's gradient: sum (n), the sum of the clipped per-example
 * gradients, gets N(0, (noise * clip)^2) noise from *rng and is divided by
 * the expected lot size q * n_data (not the lot's actual size, which would
 * leak whether an example is in it). */
void wd__dp_noise_average(float *sum, size_t n, const wd__dp_params *dp, size_t n_data, uint64_t *rng);

#endif
