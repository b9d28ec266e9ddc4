/*
 * train/privacy.h - the insides of warden/train.h's privacy accountant
 * (train/privacy.c), for the trainer and the tests: the RDP of one step of
 * the sampled Gaussian mechanism at one order, Opacus's orders, and the
 * conversion of an RDP curve to (epsilon, delta).
 */
#ifndef WD_TRAIN_PRIVACY_H
#define WD_TRAIN_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

/* Opacus's RDPAccountant.DEFAULT_ALPHAS: 1 + x/10 for x = 1..99, then the
 * integers 12..63 (151 orders). */
#define WD__PRIVACY_N_ORDERS 151

/* Writes the default orders, ascending, into out (WD__PRIVACY_N_ORDERS). */
void wd__privacy_orders(double *out);

/* The Renyi DP of order alpha (> 1) of one step of the sampled Gaussian
 * mechanism: sampling rate q in [0, 1], noise multiplier sigma >= 0 (the
 * noise's standard deviation over the L2 sensitivity). 0 when q is 0, +inf
 * when sigma is 0, alpha / (2 sigma^2) when q is 1; otherwise
 * log(A_alpha) / (alpha - 1), A_alpha from the binomial sum for an integer
 * alpha and from Mironov et al.'s (2019) erfc series for a fractional one.
 * NaN if the series failed (a cancellation Opacus would raise on). */
double wd__privacy_rdp(double q, double sigma, double alpha);

/* Balle et al. (2020, Theorem 21): the epsilon that n_orders RDP values
 * rdp[k] (already composed over the steps) at orders[k] give for delta,
 * minimised over the orders; *best_alpha (may be NULL) is the order of the
 * minimum (the first one on ties). NaN entries are skipped; +inf when none
 * is finite. Negative values (large delta) are raised to 0. */
double wd__privacy_eps_from_rdp(const double *orders, const double *rdp, size_t n_orders, double delta,
                                double *best_alpha);

#endif
