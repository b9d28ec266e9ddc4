/*
 * io/safetensors_internal.h - what the two safetensors writers share: the
 * one-file writer (safetensors_writer.c) and the streaming model-folder
 * writer (checkpoint_writer.c) lay out and describe tensors the same way.
 */
#ifndef WD_IO_SAFETENSORS_INTERNAL_H
#define WD_IO_SAFETENSORS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "warden/safetensors.h"

/* One tensor as a writer sees it. */
typedef struct wd__st_entry {
    char       *name;   /* owned by the writer                                */
    wd_dtype    dtype;
    int         ndim;
    int64_t    *shape;  /* ndim entries (at least one allocated); owned         */
    size_t      nbytes; /* product(shape) * wd_dtype_size(dtype)              */
    const void *data;   /* the one-file writer's borrowed bytes; else NULL      */
    size_t      order;  /* insertion index, for a stable sort                 */
} wd__st_entry;

/* Checks name, dtype and shape as wd_safetensors_writer_add documents, and
 * computes the byte size into *nbytes. Returns WD_OK or WD_ERR_INVALID_ARG
 * with msg (msg_size bytes) saying why, naming the tensor. */
wd_status wd__st_check_entry(const char *name, wd_dtype dtype, const int64_t *shape, int ndim,
                             size_t *nbytes, char *msg, size_t msg_size);

/* Appends an entry to *e (n used, cap allocated; grown as needed): name and
 * shape copied, data borrowed, order = its index. Returns WD_OK or
 * WD_ERR_NOMEM (nothing appended). */
wd_status wd__st_push(wd__st_entry **e, size_t *n, size_t *cap, const char *name, wd_dtype dtype,
                      const int64_t *shape, int ndim, size_t nbytes, const void *data);

/* Frees what wd__st_push copied (names, shapes) and e itself, and the
 * n_meta metadata keys and values with their arrays. */
void wd__st_free(wd__st_entry *e, size_t n, char **meta_keys, char **meta_vals, size_t n_meta);

/* qsort comparator on wd__st_entry *: widest element first, then insertion
 * order, so that packed tensors stay aligned to their element size. */
int wd__st_cmp_layout(const void *a, const void *b);

/* Appends the header JSON of one file to h: "__metadata__" first when
 * n_meta > 0, then entries e[0..n) in that (data) order with packed
 * data_offsets, then spaces until 8 + h->n is a multiple of 8. Errors are
 * h->oom. */
void wd__st_header(wd__strbuf *h, char *const *meta_keys, char *const *meta_vals, size_t n_meta,
                   wd__st_entry *const *e, size_t n);

#endif
