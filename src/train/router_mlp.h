/*
 * train/router_mlp.h - training SafeRoute's router MLP (warden/router.h's
 * wd_router_mlp; METHODS.md 12a): the class-balanced BCE loss with its
 * gradient, and the AdamW loop. train/router_train.c calls it; the tests
 * check the gradient against finite differences.
 */
#ifndef WD_TRAIN_ROUTER_MLP_H
#define WD_TRAIN_ROUTER_MLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/router.h"

/* The loss of m on rows X[i*n_in ..] (raw features, i < n) with labels
 * y[i] and weights wt[i] (> 0):
 *     L = sum_i wt_i * BCE(sigmoid(z_i), y_i) / sum_i wt_i
 * (z_i the output logit; BCE computed from z as softplus(z) - y z). When
 * grad is not NULL it gets dL/dparam, m->n_param floats in the order of
 * m->l1w (mean and scale are not trained). Allocates its work space;
 * returns NaN when out of memory. */
double wd__rmlp_loss_grad(const wd_router_mlp *m, const float *X, const bool *y, const float *wt, size_t n,
                          float *grad);

typedef struct wd__rmlp_params {
    size_t   hidden;       /* both hidden sizes (default 512)          */
    size_t   epochs;       /* passes over the data (default 100)       */
    size_t   batch;        /* rows per step (default 64)               */
    double   lr;           /* AdamW (default 1e-3, betas 0.9, 0.999)   */
    double   weight_decay; /* decoupled, on every parameter (0.01)     */
    uint64_t seed;         /* initialisation and batch order           */
} wd__rmlp_params;

wd__rmlp_params wd__rmlp_params_default(void);

/* Trains a new MLP on X (n, n_in) and labels y: the standardisation from
 * X's per-column mean and standard deviation, the layers initialised
 * uniform in +-1/sqrt(fan_in) from seed, then AdamW on mini-batches in a
 * seeded order, each example weighted n / (2 n_its_class) (class-balanced
 * BCE). *final_loss (may be NULL) gets the loss over all of X at the end.
 * Returns WD_OK, WD_ERR_INVALID_ARG (n == 0, sizes 0), WD_ERR_NOMEM. */
wd_status wd__rmlp_fit(const float *X, const bool *y, size_t n, size_t n_in, const wd__rmlp_params *p,
                       wd_router_mlp **out, double *final_loss);

#endif
