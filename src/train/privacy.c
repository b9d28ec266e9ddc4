/*
 * train/privacy.c - the RDP accountant of DP-SGD (warden/train.h,
 * "Differential privacy"; internals in train/privacy.h), computed as
 * Opacus's RDPAccountant computes it (opacus/accountants/analysis/rdp.py,
 * itself TF Privacy's rdp_accountant).
 *
 * One step of DP-SGD is the sampled Gaussian mechanism (SGM): with
 * mu0 = N(0, sigma^2) and mu1 = N(1, sigma^2), its Renyi divergence of
 * order alpha is log(A_alpha) / (alpha - 1) with (Mironov et al. 2019)
 *
 *   A_alpha = E_{z ~ mu0} [ ((1 - q) + q mu1(z) / mu0(z))^alpha ]
 *
 * For an integer alpha the binomial theorem and E_mu0[(mu1/mu0)^k] =
 * exp((k^2 - k) / (2 sigma^2)) give the finite sum
 *
 *   A_alpha = sum_{k=0..alpha} C(alpha, k) (1 - q)^(alpha - k) q^k exp((k^2 - k) / (2 sigma^2))
 *
 * added in log space (each term can overflow a double on its own). For a
 * fractional alpha the expectation is split at z0 = sigma^2 log(1/q - 1) + 1/2,
 * where mu1/mu0 crosses (1-q)/q, and each half expanded in the generalised
 * binomial series, whose Gaussian integrals are erfc's (their Section 3.3):
 * an alternating series summed until both of a term's halves fall below
 * e^-30. RDP composes by adding, so T steps are T times one step; Balle et
 * al. (2020) turn it into (epsilon, delta).
 */
#include "train/privacy.h"

#include <math.h>

#include "base/err.h"
#include "warden/train.h"

/* The series for a fractional order stops after this many terms however
 * slowly it converges (a tiny q with a moderate sigma is the slow case: a
 * few hundred thousand terms); the order is then skipped (NaN). */
#define MAX_SERIES_TERMS 10000000

/* ==== log-space arithmetic ================================================ */

/* log(e^a + e^b). */
static double log_add(double a, double b) {
    double lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo == -INFINITY) return hi;
    return log1p(exp(lo - hi)) + hi;
}

/* log(e^a - e^b), a >= b; NaN when a < b (the sum went negative). */
static double log_sub(double a, double b) {
    if (a < b) return NAN;
    if (b == -INFINITY) return a;
    if (a == b) return -INFINITY;
    double d = a - b;
    if (d > 700) return a; /* e^d - 1 overflows; it is e^d to the last bit */
    return log(expm1(d)) + b;
}

/* log(erfc(x)), accurate where erfc underflows: past x = 25 the asymptotic
 * series erfc(x) = e^(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - ...),
 * whose next term there is below 1e-12. */
static double log_erfc(double x) {
    if (x < 25.0) return log(erfc(x));
    const double r = 1.0 / (2.0 * x * x);
    const double s = -r + 3 * r * r - 15 * r * r * r + 105 * r * r * r * r;
    return -x * x - log(x) - 0.5 * log(M_PI) + log1p(s);
}

/* ==== log(A_alpha) ======================================================== */

static double log_a_int(double q, double sigma, int alpha) {
    const double lq = log(q), l1q = log1p(-q), s2 = 2.0 * sigma * sigma;
    double log_a = -INFINITY, log_coef = 0.0; /* log C(alpha, k), built up term by term */
    for (int k = 0; k <= alpha; k++) {
        if (k > 0) log_coef += log((double)(alpha - k + 1)) - log((double)k);
        double s = log_coef + k * lq + (alpha - k) * l1q + ((double)k * k - k) / s2;
        log_a = log_add(log_a, s);
    }
    return log_a;
}

static double log_a_frac(double q, double sigma, double alpha) {
    const double lq = log(q), l1q = log1p(-q), s2 = 2.0 * sigma * sigma;
    const double z0 = sigma * sigma * log(1.0 / q - 1.0) + 0.5;
    const double scale = M_SQRT2 * sigma;
    double log_a0 = -INFINITY, log_a1 = -INFINITY;
    double log_coef = 0.0; /* log |C(alpha, i)| */
    int sign = 1;          /* the sign of C(alpha, i) */
    for (long i = 0; i < MAX_SERIES_TERMS; i++) {
        const double di = (double)i, j = alpha - di;
        const double log_t0 = log_coef + di * lq + j * l1q;
        const double log_t1 = log_coef + j * lq + di * l1q;
        const double log_e0 = log(0.5) + log_erfc((di - z0) / scale);
        const double log_e1 = log(0.5) + log_erfc((z0 - j) / scale);
        const double log_s0 = log_t0 + (di * di - di) / s2 + log_e0;
        const double log_s1 = log_t1 + (j * j - j) / s2 + log_e1;
        if (log_s0 == INFINITY || log_s1 == INFINITY) return INFINITY; /* a sigma so small A overflows */
        if (sign > 0) {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0);
            log_a1 = log_sub(log_a1, log_s1);
        }
        if (isnan(log_a0) || isnan(log_a1)) return NAN;
        if (fmax(log_s0, log_s1) < -30.0) return log_add(log_a0, log_a1);
        /* C(alpha, i + 1) = C(alpha, i) (alpha - i) / (i + 1) */
        log_coef += log(fabs(alpha - di)) - log(di + 1.0);
        if (alpha - di < 0) sign = -sign;
    }
    return NAN;
}

double wd__privacy_rdp(double q, double sigma, double alpha) {
    if (q == 0.0) return 0.0;
    if (sigma == 0.0) return INFINITY;
    if (q == 1.0) return alpha / (2.0 * sigma * sigma);
    if (isinf(alpha)) return INFINITY;
    double log_a = alpha == floor(alpha) && alpha < 2147483647.0 ? log_a_int(q, sigma, (int)alpha)
                                                                  : log_a_frac(q, sigma, alpha);
    return log_a / (alpha - 1.0);
}

void wd__privacy_orders(double *out) {
    size_t k = 0;
    for (int x = 1; x <= 99; x++) out[k++] = 1.0 + x / 10.0;
    for (int a = 12; a <= 63; a++) out[k++] = a;
}

double wd__privacy_eps_from_rdp(const double *orders, const double *rdp, size_t n_orders, double delta,
                                double *best_alpha) {
    double best = NAN, best_a = NAN;
    const double log_delta = log(delta);
    for (size_t k = 0; k < n_orders; k++) {
        const double a = orders[k];
        const double e = rdp[k] - (log_delta + log(a)) / (a - 1.0) + log((a - 1.0) / a);
        if (isnan(e)) continue;
        if (isnan(best) || e < best) {
            best = e;
            best_a = a;
        }
    }
    if (isnan(best)) best = INFINITY;
    if (best < 0.0) best = 0.0;
    if (best_alpha) *best_alpha = best_a;
    return best;
}

/* ==== the public functions ================================================ */

static wd_status check_args(const char *fn, double sample_rate, uint64_t steps, double delta) {
    if (!(sample_rate > 0.0 && sample_rate <= 1.0))
        return wd__fail(WD_ERR_INVALID_ARG, "%s: sample_rate must be in (0, 1], got %g", fn, sample_rate);
    if (steps < 1) return wd__fail(WD_ERR_INVALID_ARG, "%s: steps must be at least 1, got 0", fn);
    if (!(delta > 0.0 && delta < 1.0))
        return wd__fail(WD_ERR_INVALID_ARG, "%s: delta must be in (0, 1), got %g", fn, delta);
    return WD_OK;
}

/* Epsilon of (noise, q, steps, delta) at the default orders; arguments
 * already checked. */
static double epsilon_of(double noise, double q, uint64_t steps, double delta, double *best_alpha) {
    double orders[WD__PRIVACY_N_ORDERS], rdp[WD__PRIVACY_N_ORDERS];
    wd__privacy_orders(orders);
    for (size_t k = 0; k < WD__PRIVACY_N_ORDERS; k++) rdp[k] = wd__privacy_rdp(q, noise, orders[k]) * (double)steps;
    return wd__privacy_eps_from_rdp(orders, rdp, WD__PRIVACY_N_ORDERS, delta, best_alpha);
}

wd_status wd_privacy_epsilon(double noise, double sample_rate, uint64_t steps, double delta, double *eps,
                             double *best_alpha) {
    static const char fn[] = "wd_privacy_epsilon";
    if (eps) *eps = 0.0;
    if (best_alpha) *best_alpha = 0.0;
    if (!eps) return wd__fail(WD_ERR_INVALID_ARG, "%s: eps is NULL", fn);
    if (!(noise > 0.0 && isfinite(noise)))
        return wd__fail(WD_ERR_INVALID_ARG, "%s: noise must be a finite number > 0, got %g", fn, noise);
    wd_status st = check_args(fn, sample_rate, steps, delta);
    if (st) return st;
    double a;
    *eps = epsilon_of(noise, sample_rate, steps, delta, &a);
    if (best_alpha) *best_alpha = a;
    return WD_OK;
}

/* Opacus's get_noise_multiplier: MAX_SIGMA and the epsilon tolerance. */
#define MAX_SIGMA 1e6
#define EPS_TOLERANCE 0.01

wd_status wd_privacy_noise_for_epsilon(double target_eps, double sample_rate, uint64_t steps, double delta,
                                       double *noise) {
    static const char fn[] = "wd_privacy_noise_for_epsilon";
    if (noise) *noise = 0.0;
    if (!noise) return wd__fail(WD_ERR_INVALID_ARG, "%s: noise is NULL", fn);
    if (!(target_eps > 0.0 && isfinite(target_eps)))
        return wd__fail(WD_ERR_INVALID_ARG, "%s: target epsilon must be a finite number > 0, got %g", fn,
                        target_eps);
    wd_status st = check_args(fn, sample_rate, steps, delta);
    if (st) return st;
    double lo = 0.0, hi = 10.0, eps_hi = INFINITY;
    while (eps_hi > target_eps) {
        hi *= 2.0;
        eps_hi = epsilon_of(hi, sample_rate, steps, delta, NULL);
        if (hi > MAX_SIGMA)
            return wd__fail(WD_ERR_RANGE,
                            "%s: epsilon %g is out of reach at delta %g: even noise %g gives epsilon %g", fn,
                            target_eps, delta, hi, eps_hi);
    }
    /* Each halving of [lo, hi] leaves hi's epsilon at or below the target;
     * 200 halvings exhaust a double's precision long before. */
    for (int it = 0; it < 200 && target_eps - eps_hi > EPS_TOLERANCE; it++) {
        const double mid = (lo + hi) / 2.0;
        const double e = epsilon_of(mid, sample_rate, steps, delta, NULL);
        if (e < target_eps) {
            hi = mid;
            eps_hi = e;
        } else {
            lo = mid;
        }
    }
    *noise = hi;
    return WD_OK;
}
