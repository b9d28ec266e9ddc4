/*
 * train/router_mlp.c - training SafeRoute's router MLP (train/router_mlp.h):
 * forward and backward by hand over a mini-batch, class-balanced BCE, and
 * AdamW (train/optim.c). The paper's router is a Bayesian MLP (a KL term to a Gaussian
 * prior of sigma 0.1); here that term is replaced by AdamW's decoupled
 * weight decay, the plain-MLP point estimate of it. Inference is
 * guard/router_mlp.c.
 */
#include "train/router_mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "train/optim.h"

wd__rmlp_params wd__rmlp_params_default(void) {
    return (wd__rmlp_params){.hidden = 512, .epochs = 100, .batch = 64, .lr = 1e-3, .weight_decay = 0.01,
                             .seed = 1};
}

double wd__rmlp_loss_grad(const wd_router_mlp *m, const float *X, const bool *y, const float *wt, size_t n,
                          float *grad) {
    size_t C = m->n_in, A = m->h1, B = m->h2;
    /* per row: a0 (C), a1 (A), a2 (B), and the backward's d1 (A), d2 (B) */
    double *buf = malloc((C + 2 * A + 2 * B) * sizeof *buf);
    double *g = grad ? calloc(m->n_param, sizeof *g) : NULL;
    if (!buf || (grad && !g)) {
        free(buf);
        free(g);
        return NAN;
    }
    double *a0 = buf, *a1 = a0 + C, *a2 = a1 + A, *d1 = a2 + B, *d2 = d1 + A;
    double *g1w = g, *g1b = g ? g1w + A * C : NULL, *g2w = g ? g1b + A : NULL, *g2b = g ? g2w + B * A : NULL,
           *gow = g ? g2b + B : NULL, *gob = g ? gow + B : NULL;
    double W = 0, loss = 0;
    for (size_t i = 0; i < n; i++) W += wt[i];
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * C;
        for (size_t c = 0; c < C; c++) a0[c] = ((double)x[c] - m->mean[c]) * m->scale[c];
        for (size_t r = 0; r < A; r++) {
            double s = m->l1b[r];
            const float *w = m->l1w + r * C;
            for (size_t c = 0; c < C; c++) s += w[c] * a0[c];
            a1[r] = s > 0 ? s : 0;
        }
        for (size_t r = 0; r < B; r++) {
            double s = m->l2b[r];
            const float *w = m->l2w + r * A;
            for (size_t c = 0; c < A; c++) s += w[c] * a1[c];
            a2[r] = s > 0 ? s : 0;
        }
        double z = m->ob[0];
        for (size_t r = 0; r < B; r++) z += m->ow[r] * a2[r];
        double t = y[i] ? 1.0 : 0.0;
        double softplus = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
        loss += wt[i] * (softplus - t * z);
        if (!g) continue;
        double dz = wt[i] / W * (1.0 / (1.0 + exp(-z)) - t);
        gob[0] += dz;
        for (size_t r = 0; r < B; r++) {
            gow[r] += dz * a2[r];
            d2[r] = a2[r] > 0 ? dz * m->ow[r] : 0;
            g2b[r] += d2[r];
        }
        for (size_t c = 0; c < A; c++) d1[c] = 0;
        for (size_t r = 0; r < B; r++) {
            if (d2[r] == 0) continue;
            const float *w = m->l2w + r * A;
            double *gw = g2w + r * A;
            for (size_t c = 0; c < A; c++) {
                gw[c] += d2[r] * a1[c];
                d1[c] += d2[r] * w[c];
            }
        }
        for (size_t r = 0; r < A; r++) {
            if (!(a1[r] > 0) || d1[r] == 0) continue;
            g1b[r] += d1[r];
            double *gw = g1w + r * C;
            for (size_t c = 0; c < C; c++) gw[c] += d1[r] * a0[c];
        }
    }
    if (g)
        for (size_t k = 0; k < m->n_param; k++) grad[k] = (float)g[k];
    free(buf);
    free(g);
    return W > 0 ? loss / W : 0;
}

/* The standardisation of X's columns and the layers' initialisation. */
static void init_mlp(wd_router_mlp *m, const float *X, size_t n, uint64_t seed) {
    size_t C = m->n_in;
    for (size_t c = 0; c < C; c++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += X[i * C + c];
        double mu = s / (double)n;
        for (size_t i = 0; i < n; i++) s2 += (X[i * C + c] - mu) * (X[i * C + c] - mu);
        double sd = sqrt(s2 / (double)n);
        m->mean[c] = (float)mu;
        m->scale[c] = sd > 1e-6 ? (float)(1.0 / sd) : 1.0f;
    }
    uint64_t s = seed ^ 0x5AFE5AFEull;
    struct { float *w, *b; size_t rows, cols; } L[3] = {
        {m->l1w, m->l1b, m->h1, C}, {m->l2w, m->l2b, m->h2, m->h1}, {m->ow, m->ob, 1, m->h2}};
    for (int l = 0; l < 3; l++) {
        double bound = 1.0 / sqrt((double)L[l].cols);
        for (size_t k = 0; k < L[l].rows * L[l].cols; k++) L[l].w[k] = (float)((2 * wd__rng_unit(&s) - 1) * bound);
        for (size_t k = 0; k < L[l].rows; k++) L[l].b[k] = (float)((2 * wd__rng_unit(&s) - 1) * bound);
    }
}

wd_status wd__rmlp_fit(const float *X, const bool *y, size_t n, size_t n_in, const wd__rmlp_params *params,
                       wd_router_mlp **out, double *final_loss) {
    *out = NULL;
    wd__rmlp_params p = params ? *params : wd__rmlp_params_default();
    if (!X || !y || !n || !n_in || !p.hidden || !p.batch)
        return wd__fail(WD_ERR_INVALID_ARG, "router mlp: no data, or a size of 0");
    wd_router_mlp *m = wd_router_mlp_new(n_in, p.hidden, p.hidden);
    size_t P = m ? m->n_param : 0, nb = p.batch < n ? p.batch : n;
    float *grad = malloc(P * sizeof *grad), *wt = malloc(n * sizeof *wt), *bx = malloc(nb * n_in * sizeof *bx),
          *bw = malloc(nb * sizeof *bw);
    float *m1 = calloc(P ? P : 1, sizeof *m1), *m2 = calloc(P ? P : 1, sizeof *m2);
    size_t *order = malloc(n * sizeof *order);
    bool *by = malloc(nb * sizeof *by);
    wd_status st = WD_OK;
    if (!m || !grad || !wt || !bx || !bw || !m1 || !m2 || !order || !by) {
        st = wd__fail(WD_ERR_NOMEM, "router mlp: out of memory");
        goto done;
    }
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += y[i];
    for (size_t i = 0; i < n; i++) { /* class-balanced: each class weighs n/2 in all */
        size_t nc = y[i] ? npos : n - npos;
        wt[i] = (float)((double)n / (2.0 * (double)nc));
        order[i] = i;
    }
    init_mlp(m, X, n, p.seed);
    uint64_t rs = p.seed * 0x9E3779B97F4A7C15ull + 7, step = 0;
    wd__adamw_params ap = wd__adamw_params_default();
    ap.weight_decay = p.weight_decay;
    for (size_t ep = 0; ep < p.epochs; ep++) {
        for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = wd__rng_below(&rs, i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t at = 0; at < n; at += nb) {
            size_t k = n - at < nb ? n - at : nb;
            for (size_t r = 0; r < k; r++) {
                memcpy(bx + r * n_in, X + order[at + r] * n_in, n_in * sizeof *bx);
                by[r] = y[order[at + r]];
                bw[r] = wt[order[at + r]];
            }
            if (isnan(wd__rmlp_loss_grad(m, bx, by, bw, k, grad))) {
                st = wd__fail(WD_ERR_NOMEM, "router mlp: out of memory");
                goto done;
            }
            wd__adamw_step(m->l1w, m1, m2, grad, P, &ap, p.lr, ++step, true);
        }
    }
    if (final_loss) *final_loss = wd__rmlp_loss_grad(m, X, y, wt, n, NULL);
done:
    free(grad);
    free(wt);
    free(bx);
    free(bw);
    free(m1);
    free(m2);
    free(order);
    free(by);
    if (st) wd_router_mlp_free(m);
    else *out = m;
    return st;
}
