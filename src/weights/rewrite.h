/*
 * weights/rewrite.h - a model folder copied with some of its tensors
 * changed (rewrite.c): what pruning and weight orthogonalisation write.
 */
#ifndef WD_WEIGHTS_REWRITE_H
#define WD_WEIGHTS_REWRITE_H

#include <stdint.h>

#include "base/err.h"

/* Called for every floating-point tensor (F32, F16, BF16, F64), its values
 * widened to F32 in data (n = product of shape), in checkpoint order; it
 * may change them in place. Returns WD_OK or an error (set in err). */
typedef wd_status (*wd__rewrite_fn)(void *user, const char *name, float *data,
                                    const int64_t *shape, int ndim, wd__err *err);

/* Writes out: the checkpoint in in_dir with the same tensors in the same
 * dtypes (values through fn, then rounded back to nearest-even), in shards
 * of at most 5 GB, config.json (with the fields of patch, a JSON object or
 * NULL, merged in) and the tokenizer and generation files: the merge core
 * (merge_internal.h) with one input, so one tensor at a time is in memory
 * and a failure leaves out as it was. out may not be in_dir's folder. */
wd_status wd__rewrite(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                      void *user, wd__err *err);

/* As wd__rewrite, and tensor copy_from is also written, with its values
 * as they were before fn, under the name copy_to, in the same shard (and
 * the index): untying a tied lm_head from an embedding fn changes. */
wd_status wd__rewrite_copy(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                           void *user, const char *copy_from, const char *copy_to, wd__err *err);

#endif
