/*
 * train/dp_sgd.c - per-example clipping, Gaussian noise, Poisson sampling
 * and the lot average of DP-SGD (train/dp_sgd.h).
 *
 * The noise is drawn in double and added in float: float32 noise samples
 * are what Opacus adds too (torch.normal in the parameter's dtype). Known
 * limit, shared with Opacus: floating-point Gaussian samples are not the
 * exact Gaussian the analysis assumes (Mironov 2012's attack on Laplace
 * samples); the accountant does not cover that gap.
 */
#include "train/dp_sgd.h"

#include <math.h>

#include "base/rng.h"

double wd__dp_clip_factor(double norm, double clip) {
    if (!(norm > clip)) return 1.0; /* also 0 and NaN: nothing to scale */
    return clip / norm;
}

static double norm_of(const float *g, size_t n) {
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)g[i] * (double)g[i];
    return sqrt(acc);
}

double wd__dp_clip(float *g, size_t n, double clip) {
    // g (n)
    const double norm = norm_of(g, n);
    const double f = wd__dp_clip_factor(norm, clip);
    if (f < 1.0) {
        const float s = (float)f;
        for (size_t i = 0; i < n; i++) g[i] *= s;
    }
    return norm;
}

double wd__dp_clip_accumulate(float *sum, const float *g, size_t n, double clip) {
    // sum (n), g (n)
    const double norm = norm_of(g, n);
    const float s = (float)wd__dp_clip_factor(norm, clip);
    for (size_t i = 0; i < n; i++) sum[i] += g[i] * s;
    return norm;
}

/* Two independent standard normals from two uniforms (Box-Muller); u1 is
 * taken in (0, 1] so that its log is finite. */
static void box_muller(uint64_t *rng, double *z0, double *z1) {
    const double u1 = 1.0 - wd__rng_unit(rng);
    const double u2 = wd__rng_unit(rng);
    const double r = sqrt(-2.0 * log(u1));
    *z0 = r * cos(2.0 * M_PI * u2);
    *z1 = r * sin(2.0 * M_PI * u2);
}

double wd__dp_normal(uint64_t *rng) {
    double z0, z1;
    box_muller(rng, &z0, &z1);
    return z0;
}

void wd__dp_add_noise(float *x, size_t n, double std, uint64_t *rng) {
    // x (n)
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        double z0, z1;
        box_muller(rng, &z0, &z1);
        x[i] += (float)(std * z0);
        x[i + 1] += (float)(std * z1);
    }
    if (i < n) x[i] += (float)(std * wd__dp_normal(rng));
}

size_t wd__dp_poisson_sample(size_t *idx, size_t n_data, double q, uint64_t *rng) {
    size_t k = 0;
    for (size_t e = 0; e < n_data; e++)
        if (wd__rng_unit(rng) < q) idx[k++] = e;
    return k;
}

void wd__dp_noise_average(float *sum, size_t n, const wd__dp_params *dp, size_t n_data, uint64_t *rng) {
    // sum (n)
    wd__dp_add_noise(sum, n, dp->noise * dp->clip, rng);
    const float inv_lot = (float)(1.0 / (dp->sample_rate * (double)n_data));
    for (size_t i = 0; i < n; i++) sum[i] *= inv_lot;
}
