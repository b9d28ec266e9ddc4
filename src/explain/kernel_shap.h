/*
 * explain/kernel_shap.h - the pieces of KernelSHAP (internal; the
 * explainer is wd_shap_kernel in warden/explain.h). Exposed so that the
 * tests compare the coalitions and weights with the reference
 * implementation (tests/tools/shap_ref.py) row by row.
 */
#ifndef WD_EXPLAIN_KERNEL_SHAP_H
#define WD_EXPLAIN_KERNEL_SHAP_H

#include <stddef.h>
#include <stdint.h>

#include "warden/explain.h"

/* The regression's rows: n coalitions of m bytes each and their kernel
 * weights, in the order shap adds them (enumerated sizes first, then the
 * sampled ones). */
typedef struct wd__kshap_design {
    size_t   m, n, cap;
    uint8_t *masks;   /* (n, m) */
    double  *weights; /* (n)    */
    size_t   n_fixed; /* rows from whole enumerated sizes */
} wd__kshap_design;

/* Builds the design for m >= 2 units (params: nsamples, seed; see
 * wd_kernel_shap_params). Free with wd__kshap_design_free. */
wd_status wd__kshap_design_build(size_t m, const wd_kernel_shap_params *params, wd__kshap_design *d);
void      wd__kshap_design_free(wd__kshap_design *d);

/* The constrained weighted least squares: y[k] = v(row k); fx = v(all),
 * fnull = v(none). phi gets m values summing to fx - fnull. */
wd_status wd__kshap_solve(const wd__kshap_design *d, const double *y, double fx, double fnull,
                          double *phi);

#endif
