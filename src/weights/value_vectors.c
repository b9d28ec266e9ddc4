/*
 * weights/value_vectors.c - the MLP value vectors closest to a direction
 * (wd_steer_value_vectors; Lee et al.'s toxic vectors, METHODS.md 7a): each
 * column j of a layer's down_proj (C, I) is what neuron j adds to the
 * residual stream, scaled by its activation; the columns most aligned with
 * the toxic / refusal direction are the neurons that write it. Reads one
 * down_proj at a time from the checkpoint.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "weights/steer.h"
#include "warden/checkpoint.h"

/* Keeps out[0..*n) sorted by decreasing cosine, at most k. */
static void keep(wd_value_vector *out, size_t *n, size_t k, wd_value_vector v) {
    if (*n == k && v.cosine <= out[k - 1].cosine) return;
    size_t i = *n < k ? (*n)++ : k - 1;
    while (i > 0 && out[i - 1].cosine < v.cosine) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = v;
}

wd_status wd_steer_value_vectors(const char *model, const char *path, int layer, size_t k,
                                 wd_value_vector *out, size_t *n_out) {
    *n_out = 0;
    if (!model || !path || !out || k == 0 || k > 4096)
        return wd__fail(WD_ERR_INVALID_ARG, "value vectors: k must be in 1..4096");
    wd_checkpoint *ck = NULL;
    wd_status rc = wd_checkpoint_open(model, &ck);
    if (rc) return rc;
    const wd_tensor_info *d0 = wd_checkpoint_find(ck, "model.layers.0.mlp.down_proj.weight");
    if (!d0 || d0->ndim != 2) {
        wd_checkpoint_free(ck);
        return wd__fail(WD_ERR_FORMAT, "%s: no model.layers.0.mlp.down_proj.weight (a Llama-family decoder)", model);
    }
    size_t C = (size_t)d0->shape[0], F = (size_t)d0->shape[1], L = 0;
    char name[128];
    for (;; L++) {
        snprintf(name, sizeof name, "model.layers.%zu.mlp.down_proj.weight", L);
        if (!wd_checkpoint_find(ck, name)) break;
    }
    wd_steer_result r;
    size_t which = 0;
    if ((rc = wd__steer_vector(path, layer, L, C, &r, &which))) {
        wd_checkpoint_free(ck);
        return rc;
    }
    const float *dir = r.dirs + which * C;
    double dn = r.layers[which].norm;
    float *w = malloc(C * F * sizeof *w);
    double *dot = malloc(F * sizeof *dot), *nn = malloc(F * sizeof *nn);
    if (!w || !dot || !nn) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t l = 0; l < L && !rc; l++) {
        snprintf(name, sizeof name, "model.layers.%zu.mlp.down_proj.weight", l);
        if ((rc = wd_checkpoint_read_f32(ck, name, w, C * F))) break;
        memset(dot, 0, F * sizeof *dot);
        memset(nn, 0, F * sizeof *nn);
        for (size_t c = 0; c < C; c++)
            for (size_t j = 0; j < F; j++) {
                double x = w[c * F + j];
                dot[j] += x * dir[c];
                nn[j] += x * x;
            }
        for (size_t j = 0; j < F; j++) {
            double n = sqrt(nn[j]);
            keep(out, n_out, k, (wd_value_vector){l, j, n > 0 ? dot[j] / (n * dn) : 0.0, n});
        }
    }
    free(w), free(dot), free(nn);
    wd_steer_result_free(&r);
    wd_checkpoint_free(ck);
    if (rc) *n_out = 0;
    return rc;
}
