/*
 * tests/tools/wd_st_maxdiff.c - wd_st_maxdiff A B TOL [BASE]: compares two
 * safetensors files tensor by tensor (the same names and shapes, values as
 * float) and prints the largest |a - b|; with BASE (the weights training
 * started from) also the largest |a - base| over the tensors BASE has,
 * which must not be 0, so that a comparison of two runs that trained nothing cannot pass.
 * Exit 0 when max |a - b| <= TOL (and A moved from BASE), 1 otherwise,
 * 2 on a file that cannot be read or a tensor set that differs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden/safetensors.h"

static float *read_all(const wd_tensor_info *t) {
    float *x = malloc((t->n_elem ? t->n_elem : 1) * sizeof *x);
    if (x && wd_tensor_read_f32(t, x, t->n_elem) != WD_OK) free(x), x = NULL;
    return x;
}

/* max |a - b| over the values of tensor ta and b's tensor of that name;
 * -1 when b lacks it, its shape differs or a read fails. */
static double max_diff(const wd_tensor_info *ta, const wd_safetensors *b) {
    const wd_tensor_info *tb = wd_safetensors_find(b, ta->name);
    if (!tb || tb->n_elem != ta->n_elem || tb->ndim != ta->ndim) return -1;
    for (int d = 0; d < ta->ndim; d++)
        if (ta->shape[d] != tb->shape[d]) return -1;
    float *x = read_all(ta), *y = read_all(tb);
    double m = x && y ? 0.0 : -1.0;
    for (uint64_t i = 0; x && y && i < ta->n_elem; i++) {
        double d = fabs((double)x[i] - (double)y[i]);
        if (!(d <= m)) m = d; /* NaN on either side counts as the largest */
        if (isnan(d)) m = INFINITY;
    }
    free(x), free(y);
    return m;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: wd_st_maxdiff A.safetensors B.safetensors TOL [BASE.safetensors]\n");
        return 2;
    }
    double tol = strtod(argv[3], NULL);
    wd_safetensors *st[3] = {NULL, NULL, NULL};
    for (int k = 0; k < argc - 2; k++) {
        const char *path = argv[k < 2 ? 1 + k : 4];
        if (wd_safetensors_open(path, &st[k]) != WD_OK) {
            fprintf(stderr, "wd_st_maxdiff: %s: %s\n", path, wd_last_error());
            return 2;
        }
    }
    size_t n = wd_safetensors_n_tensors(st[0]), values = 0;
    if (n != wd_safetensors_n_tensors(st[1])) {
        fprintf(stderr, "wd_st_maxdiff: %zu tensors against %zu\n", n, wd_safetensors_n_tensors(st[1]));
        return 2;
    }
    double worst = 0, moved = 0;
    const char *where = "";
    for (size_t i = 0; i < n; i++) {
        const wd_tensor_info *t = wd_safetensors_tensor(st[0], i);
        double d = max_diff(t, st[1]);
        if (d < 0) {
            fprintf(stderr, "wd_st_maxdiff: tensor '%s' is missing from B or differs in shape\n", t->name);
            return 2;
        }
        if (d > worst || i == 0) worst = d, where = t->name;
        values += t->n_elem;
        if (st[2] && wd_safetensors_find(st[2], t->name)) { /* a new head (score) has no base */
            double m = max_diff(t, st[2]);
            if (m < 0) {
                fprintf(stderr, "wd_st_maxdiff: tensor '%s' differs in shape from BASE\n", t->name);
                return 2;
            }
            moved = m > moved ? m : moved;
        }
    }
    printf("max |a - b| = %.3g (%s) over %zu tensors, %zu values", worst, where, n, values);
    if (st[2]) printf("; max |a - base| = %.3g", moved);
    printf("\n");
    for (int k = 0; k < 3; k++) wd_safetensors_free(st[k]);
    if (st[2] && !(moved > 0)) {
        fprintf(stderr, "wd_st_maxdiff: A equals BASE: nothing was trained\n");
        return 1;
    }
    return worst <= tol ? 0 : 1;
}
