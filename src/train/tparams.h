/*
 * train/tparams.h - the trainable parameters of a model: named float32
 * tensors (Hugging Face names and shapes) in one block of memory, and one
 * flat gradient vector over the trainable ones.
 *
 * A set is built by adding tensors (wd__tparams_add), marking some frozen,
 * then planning (wd__tparams_plan), which lays the gradients of the
 * trainable tensors end to end in `grad`: the optimiser, gradient clipping,
 * DP-SGD and the all-reduce of data-parallel training all see one vector.
 * A frozen tensor has g == NULL and the backward skips its gradient.
 */
#ifndef WD_TRAIN_TPARAMS_H
#define WD_TRAIN_TPARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "warden/checkpoint.h"

typedef struct wd__tparam {
    char  *name;      /* as in the checkpoint ("model.layers.0.mlp.up_proj.weight") */
    size_t rows, cols; /* (rows, cols); a vector has cols == 1                        */
    size_t n;         /* rows * cols                                                 */
    float *w;         /* values (n), owned by the set                                */
    float *g;         /* gradient (n) inside the set's grad vector; NULL when frozen */
    size_t goff;      /* offset of g in grad                                         */
    bool   trainable;
    bool   decay;     /* weight decay applies (matrices; not norms or biases)        */
    bool   save;      /* written by wd__tparams_save (false for adapters' own files) */
} wd__tparam;

typedef struct wd__tparams {
    wd__tparam **t;    /* (n) stable pointers: adding never moves a tensor */
    size_t      n, cap;
    float      *grad;   /* (n_grad) gradients of the trainable tensors, end to end */
    size_t      n_grad;
    size_t      n_values; /* all tensors */
} wd__tparams;

/* Adds a zeroed tensor (trainable by default, decay when cols > 1) and
 * returns it, or NULL on out of memory (err set). Must precede _plan. */
wd__tparam *wd__tparams_add(wd__tparams *p, wd__err *err, const char *name, size_t rows,
                            size_t cols);

/* Adds checkpoint tensor name (rows x cols) read as float32. NULL when it
 * is missing (an error in err only when required: check err->status) or
 * has another size (an error naming dir and the tensor). */
wd__tparam *wd__tparams_load(wd__tparams *p, wd__err *err, const wd_checkpoint *ck,
                             const char *dir, const char *name, size_t rows, size_t cols,
                             bool required);

/* Gives t a new shape (rows, cols) with zeroed values (a classification
 * head cut to one output). Must precede _plan. */
wd_status wd__tparams_resize(wd__tparam *t, size_t rows, size_t cols, wd__err *err);

/* The tensor with this name, or NULL. */
wd__tparam *wd__tparams_find(const wd__tparams *p, const char *name);

/* Allocates the gradient vector over the trainable tensors (zeroed) and
 * sets every trainable tensor's g and goff. May be called again after the
 * trainable flags change (gradients are reset). */
wd_status wd__tparams_plan(wd__tparams *p, wd__err *err);

void wd__tparams_zero_grad(wd__tparams *p);

/* Number of values in trainable tensors (== n_grad after plan). */
size_t wd__tparams_n_trainable(const wd__tparams *p);

void wd__tparams_free(wd__tparams *p);

#endif
