/*
 * weights/rewrite.c - a model folder copied with some of its tensors
 * changed (see rewrite.h), streamed: every tensor is declared to the
 * checkpoint writer (warden/checkpoint.h) up front, then read, changed,
 * narrowed back to its dtype and written one at a time through two
 * buffers the size of the largest tensor. Shards are cut at the largest
 * input shard's size, so a sharded model stays sharded alike.
 */
#include "weights/rewrite.h"

#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "io/folder.h"
#include "warden/checkpoint.h"
#include "warden/ops.h"

static bool is_float(wd_dtype t) {
    return t == WD_DTYPE_F32 || t == WD_DTYPE_F16 || t == WD_DTYPE_BF16 || t == WD_DTYPE_F64;
}

/* The dtype a tensor is written in: its own, F64 as F32. */
static wd_dtype out_dtype(wd_dtype t) { return t == WD_DTYPE_F64 ? WD_DTYPE_F32 : t; }

typedef struct plan {
    const wd_tensor_info **t;   /* per declared tensor: its source ...          */
    bool                  *copy; /* ... and whether it is the untouched copy    */
    size_t                 n;
} plan;

/* Tensor i of the plan into w: its values through fn (unless it is the
 * copy), in its dtype. f and h are scratch of the largest tensor. */
static wd_status one(wd_checkpoint_writer *w, const plan *pl, size_t i, float *f, uint16_t *h,
                     wd__rewrite_fn fn, void *user, wd__err *err) {
    const wd_tensor_info *t = pl->t[i];
    wd_status rc;
    if (!is_float(t->dtype)) {
        rc = wd_checkpoint_writer_write(w, t->data, t->nbytes);
    } else {
        if ((rc = wd_tensor_read_f32(t, f, t->n_elem))) return wd__err_take(err, rc);
        if (!pl->copy[i] && (rc = fn(user, t->name, f, t->shape, t->ndim, err))) return rc;
        const void *bytes = f;
        size_t nbytes = t->n_elem * sizeof *f;
        if (t->dtype == WD_DTYPE_F16 || t->dtype == WD_DTYPE_BF16) {
            if (t->dtype == WD_DTYPE_F16) wd_f32_to_f16(h, f, t->n_elem);
            else wd_f32_to_bf16(h, f, t->n_elem);
            bytes = h;
            nbytes = t->n_elem * sizeof *h;
        }
        rc = wd_checkpoint_writer_write(w, bytes, nbytes);
    }
    return rc ? wd__err_set(err, rc, "%s", wd_checkpoint_writer_last_error(w)) : WD_OK;
}

static wd_status stream(wd_checkpoint *ck, const char *stage, const char *copy_from, const char *copy_to,
                        wd__rewrite_fn fn, void *user, wd__err *err) {
    size_t n = wd_checkpoint_n_tensors(ck), big = 1;
    uint64_t shard = 0;
    for (size_t s = 0; s < wd_checkpoint_n_shards(ck); s++) {
        uint64_t b = wd_safetensors_file_size(wd_checkpoint_shard(ck, s));
        shard = b > shard ? b : shard;
    }
    plan pl = {calloc(n + 1, sizeof *pl.t), calloc(n + 1, sizeof *pl.copy), 0};
    wd_checkpoint_writer *w = NULL;
    wd_status rc = pl.t && pl.copy ? wd_checkpoint_writer_new(stage, wd_checkpoint_n_shards(ck) > 1 ? shard : 0, &w)
                                   : WD_ERR_NOMEM;
    if (rc) {
        free(pl.t), free(pl.copy);
        return wd__err_set(err, rc, "%s", rc == WD_ERR_NOMEM ? "out of memory" : wd_last_error());
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const wd_tensor_info *t = wd_checkpoint_tensor(ck, i);
        big = t->n_elem > big ? t->n_elem : big;
        rc = wd_checkpoint_writer_add(w, t->name, out_dtype(t->dtype), t->shape, t->ndim);
        pl.t[pl.n++] = t;
        if (!rc && copy_from && !strcmp(t->name, copy_from)) {
            if (!is_float(t->dtype)) rc = WD_ERR_UNSUPPORTED;
            else rc = wd_checkpoint_writer_add(w, copy_to, out_dtype(t->dtype), t->shape, t->ndim);
            pl.copy[pl.n] = true;
            pl.t[pl.n++] = t;
        }
    }
    if (!rc && copy_from && !wd_checkpoint_find(ck, copy_from))
        rc = wd__err_set(err, WD_ERR_NOT_FOUND, "%s: no tensor '%s'", wd_checkpoint_path(ck), copy_from);
    else if (!rc) rc = wd_checkpoint_writer_add_metadata(w, "format", "pt");
    if (!rc) rc = wd_checkpoint_writer_begin(w);
    if (rc && !err->status && rc != WD_ERR_NOT_FOUND)
        wd__err_set(err, rc, "%s", wd_checkpoint_writer_last_error(w));
    float *f = rc ? NULL : malloc(big * sizeof *f);
    uint16_t *h = rc ? NULL : malloc(big * sizeof *h);
    if (!rc && (!f || !h)) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    size_t i;
    while (!rc && wd_checkpoint_writer_next(w, &i)) rc = one(w, &pl, i, f, h, fn, user, err);
    if (!rc && (rc = wd_checkpoint_writer_finish(w)))
        wd__err_set(err, rc, "%s", wd_checkpoint_writer_last_error(w));
    wd_checkpoint_writer_free(w);
    free(f), free(h), free(pl.t), free(pl.copy);
    return rc;
}

wd_status wd__rewrite(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                      void *user, wd__err *err) {
    return wd__rewrite_copy(in_dir, out, patch, fn, user, NULL, NULL, err);
}

wd_status wd__rewrite_copy(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                           void *user, const char *copy_from, const char *copy_to, wd__err *err) {
    wd__err local = {0};
    if (!err) err = &local;
    err->status = WD_OK;
    wd_checkpoint *ck = NULL;
    wd_status rc = wd_checkpoint_open(in_dir, &ck);
    if (rc) return wd__err_take(err, rc);
    char *stage = NULL;
    if ((rc = wd__folder_stage(out, &stage, err))) {
        wd_checkpoint_free(ck);
        return rc;
    }
    rc = stream(ck, stage, copy_from && copy_to ? copy_from : NULL, copy_to, fn, user, err);
    if (!rc) rc = wd__folder_copy_meta(in_dir, stage, patch, err);
    wd_checkpoint_free(ck);
    if (rc) {
        wd__folder_abort(stage);
        return rc;
    }
    return wd__folder_commit(stage, out, err);
}
