/*
 * warden/train.h - the training engine: trainable models (backward through
 * the runtime's families), optimisers, LoRA adapters, the objectives of
 * `warden train sft | reward | dpo`, differential privacy (DP-SGD and its
 * RDP accountant) and adversarial training.
 *
 * (The built-in text classifier's trainer is warden/textclf.h.)
 */
#ifndef WARDEN_TRAIN_H
#define WARDEN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Trainable models ==================================================== */

/* ==== Optimisers and schedules ============================================ */

/* ==== Differential privacy ================================================ */

/*
 * DP-SGD (Abadi et al. 2016) trains with a privacy guarantee for each
 * example: every step Poisson-samples a lot (each example with probability
 * q, the sample rate), clips each example's gradient to L2 norm C, adds
 * Gaussian noise of standard deviation sigma * C to the sum (sigma, the
 * noise multiplier) and divides by the expected lot size q * N. After T
 * such steps the training is (epsilon, delta)-differentially private.
 *
 * The accountant below computes epsilon as Opacus's RDPAccountant does
 * (accountant="rdp"): the Renyi DP of the sampled Gaussian mechanism
 * (Mironov, Talwar and Zhang 2019) at Opacus's orders (1.1, 1.2, ..., 10.9,
 * 12, 13, ..., 63), times T, converted to (epsilon, delta) by Balle et al.
 * 2020 (Theorem 21) and minimised over the orders. docs/privacy.md gives
 * the formulas and the settings checked against an independent computation.
 * (Opacus's default accountant is "prv", whose estimate is usually somewhat
 * tighter: this RDP bound is the larger, safe side of the two.)
 */

/* The epsilon of T = steps steps of DP-SGD with noise multiplier noise
 * (> 0) and sample rate sample_rate (in (0, 1]; 1 = the whole data set
 * each step) at delta (in (0, 1)). *eps gets epsilon (+inf when no order
 * bounds it); *best_alpha (may be NULL) the Renyi order that gave it.
 * Returns WD_OK, or WD_ERR_INVALID_ARG (message in wd_last_error(), naming
 * the argument) with *eps = 0 and *best_alpha = 0. */
wd_status wd_privacy_epsilon(double noise, double sample_rate, uint64_t steps, double delta, double *eps,
                             double *best_alpha);

/* The noise multiplier that makes steps steps at sample_rate
 * (epsilon = target_eps, delta)-DP, as Opacus's get_noise_multiplier finds
 * it: doubles sigma from 20 until epsilon <= target_eps, then bisects until
 * epsilon is within 0.01 below the target, and returns the upper end, so
 * wd_privacy_epsilon(*noise, ...) is in [target_eps - 0.01, target_eps].
 * Returns WD_OK; WD_ERR_INVALID_ARG for a bad argument (as
 * wd_privacy_epsilon; target_eps > 0); WD_ERR_RANGE when even sigma = 1e6
 * does not reach target_eps (the budget is too small for delta: at these
 * orders epsilon stays above about 0.1 at delta = 1e-5 however large the
 * noise). *noise is 0 on failure. */
wd_status wd_privacy_noise_for_epsilon(double target_eps, double sample_rate, uint64_t steps, double delta,
                                       double *noise);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_TRAIN_H */
