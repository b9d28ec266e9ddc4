/*
 * weights/rewrite.c - a model folder copied with some of its tensors
 * changed (see rewrite.h): the merge core (merge_stream.c) with one input
 * and a kernel that hands each tensor to the caller's function.
 */
#include "weights/rewrite.h"

#include <string.h>

#include "weights/merge_internal.h"

typedef struct rewrite_ctx {
    wd__rewrite_fn fn;
    void          *user;
    wd__err       *err;
} rewrite_ctx;

static wd_status kernel(void *ctx, const wd_tensor_info *t, float *const *in, float *out, wd_merge_report *rep) {
    (void)rep;
    rewrite_ctx *c = ctx;
    wd_status rc = c->fn(c->user, t->name, in[0], t->shape, t->ndim, c->err);
    if (!rc) memcpy(out, in[0], (size_t)t->n_elem * sizeof *out);
    return rc;
}

wd_status wd__rewrite(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                      void *user, wd__err *err) {
    return wd__rewrite_copy(in_dir, out, patch, fn, user, NULL, NULL, err);
}

wd_status wd__rewrite_copy(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                           void *user, const char *copy_from, const char *copy_to, wd__err *err) {
    const char *paths[] = {in_dir}, *labels[] = {"model"};
    rewrite_ctx c = {fn, user, err};
    wd__merge_job job = {.paths = paths, .labels = labels, .n_in = 1, .out_dtype = -1,
                         .shard_bytes = 5000000000ull, .kernel = kernel, .ctx = &c, .patch = patch,
                         .copy_from = copy_from, .copy_to = copy_to};
    wd_merge_report rep;
    wd_status rc = wd__merge_run(out, &job, &rep);
    return rc ? wd__err_take(err, rc) : WD_OK;
}
