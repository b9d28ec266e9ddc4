/*
 * train/tparams.c - named trainable tensors and their flat gradient vector
 * (see tparams.h).
 */
#include "train/tparams.h"

#include <stdlib.h>
#include <string.h>

wd__tparam *wd__tparams_add(wd__tparams *p, wd__err *err, const char *name, size_t rows,
                            size_t cols) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        wd__tparam **t = realloc(p->t, cap * sizeof *t);
        if (!t) return wd__err_set(err, WD_ERR_NOMEM, "out of memory"), NULL;
        p->t = t;
        p->cap = cap;
    }
    size_t n = rows * cols;
    wd__tparam *t = malloc(sizeof *t);
    if (!t) return wd__err_set(err, WD_ERR_NOMEM, "out of memory"), NULL;
    *t = (wd__tparam){.rows = rows, .cols = cols, .n = n, .trainable = true, .decay = cols > 1,
                      .save = true};
    t->name = strdup(name);
    /* 64-byte aligned rows for the kernels; at least one float */
    t->w = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) / 64 * 64);
    if (!t->name || !t->w) {
        free(t->name);
        free(t->w);
        free(t);
        return wd__err_set(err, WD_ERR_NOMEM, "out of memory (%zu values for '%s')", n, name), NULL;
    }
    memset(t->w, 0, n * sizeof(float));
    p->t[p->n++] = t;
    p->n_values += n;
    return t;
}

wd__tparam *wd__tparams_load(wd__tparams *p, wd__err *err, const wd_checkpoint *ck,
                             const char *dir, const char *name, size_t rows, size_t cols,
                             bool required) {
    const wd_tensor_info *t = wd_checkpoint_find(ck, name);
    if (!t) {
        if (required) wd__err_set(err, WD_ERR_NOT_FOUND, "%s: tensor '%s' is missing", dir, name);
        return NULL;
    }
    if (t->n_elem != (uint64_t)(rows * cols)) {
        wd__err_set(err, WD_ERR_FORMAT, "%s: tensor '%s': %llu values, expected %zu x %zu", dir,
                    name, (unsigned long long)t->n_elem, rows, cols);
        return NULL;
    }
    wd__tparam *x = wd__tparams_add(p, err, name, rows, cols);
    if (!x) return NULL;
    wd_status rc = wd_tensor_read_f32(t, x->w, x->n);
    if (rc) {
        wd__err_prefix(rc, "%s: tensor '%s'", dir, name);
        wd__err_take(err, rc);
        return NULL;
    }
    return x;
}

wd_status wd__tparams_resize(wd__tparam *t, size_t rows, size_t cols, wd__err *err) {
    size_t n = rows * cols;
    float *w = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) / 64 * 64);
    if (!w) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    memset(w, 0, n * sizeof(float));
    free(t->w);
    t->w = w, t->rows = rows, t->cols = cols, t->n = n;
    return WD_OK;
}

wd__tparam *wd__tparams_find(const wd__tparams *p, const char *name) {
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->t[i]->name, name) == 0) return p->t[i];
    return NULL;
}

size_t wd__tparams_n_trainable(const wd__tparams *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i]->trainable) n += p->t[i]->n;
    return n;
}

wd_status wd__tparams_plan(wd__tparams *p, wd__err *err) {
    size_t n = wd__tparams_n_trainable(p);
    free(p->grad);
    p->grad = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) / 64 * 64);
    if (!p->grad) return wd__err_set(err, WD_ERR_NOMEM, "out of memory (%zu gradients)", n);
    memset(p->grad, 0, n * sizeof(float));
    p->n_grad = n;
    size_t off = 0;
    for (size_t i = 0; i < p->n; i++) {
        wd__tparam *t = p->t[i];
        t->g = t->trainable ? p->grad + off : NULL;
        t->goff = t->trainable ? off : 0;
        if (t->trainable) off += t->n;
    }
    return WD_OK;
}

void wd__tparams_zero_grad(wd__tparams *p) {
    if (p->grad) memset(p->grad, 0, p->n_grad * sizeof(float));
}

void wd__tparams_free(wd__tparams *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->t[i]->name);
        free(p->t[i]->w);
        free(p->t[i]);
    }
    free(p->t);
    free(p->grad);
    *p = (wd__tparams){0};
}
