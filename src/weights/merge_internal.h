/*
 * weights/merge_internal.h - the streaming core that merge.c and resta.c
 * share (merge_stream.c), and the sparsifiers of the task-vector methods
 * (sparsify.c).
 *
 * The core opens N model folders (N = 1: a model rewritten tensor by
 * tensor, rewrite.c), checks that they hold the same tensors
 * (names, shapes, dtypes), then for each tensor in the output's order reads
 * it from every input as F32 into in[k] (a buffer reused for every tensor),
 * lets a kernel combine in[0..N) into out, converts out to the output dtype
 * and streams it to the wd_checkpoint_writer. Memory: N + 1 buffers of the
 * largest tensor; each input's pages are dropped (MADV_DONTNEED) as soon as
 * they are read, so the maps do not accumulate in the resident set.
 */
#ifndef WD_WEIGHTS_MERGE_INTERNAL_H
#define WD_WEIGHTS_MERGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "warden/safetensors.h"
#include "warden/weights.h"

/* Combines one float tensor t (the reference's: name, shape, n = n_elem):
 * in[k][0..n) holds input k's values as F32 (the kernel may overwrite them:
 * they are scratch); writes out[0..n). Adds its figures to rep. Returns
 * WD_OK or an error (with the thread's message set), which aborts the run. */
typedef wd_status (*wd__merge_kernel)(void *ctx, const wd_tensor_info *t, float *const *in, float *out,
                                      wd_merge_report *rep);

typedef struct wd__merge_job {
    const char *const *paths;  /* n_in input folders; paths[0] is the reference:
                                  its order, and the source of non-float tensors */
    const char *const *labels; /* n_in names for messages ("base", "model 1") */
    size_t             n_in;
    size_t             carry_from; /* input whose config and tokenizer files are copied */
    int                out_dtype;  /* -1: each tensor's dtype; else F32, F16 or BF16 */
    uint64_t           shard_bytes;
    wd__merge_kernel   kernel;
    void              *ctx;
    const char        *patch;     /* JSON object merged into the carried config.json, or NULL */
    const char        *copy_from; /* also write this tensor of input 0, as read (not through
                                     the kernel), under the name copy_to; NULL: none */
    const char        *copy_to;
    wd_merge_progress_fn progress;
    void              *progress_user;
} wd__merge_job;

/* Runs the job into out_dir (see wd_merge for the guarantees). Fills rep
 * (zeroed first; the kernel's figures plus counts, bytes, time, peak RSS). */
wd_status wd__merge_run(const char *out_dir, const wd__merge_job *job, wd_merge_report *rep);

/* ==== sparsify.c ========================================================== */

/* TIES' trim: keeps the k = (size_t)(density * n) entries of d with the
 * largest |d| (equal magnitudes: the lower index first, like a stable sort),
 * zeroes the rest. density >= 1 keeps all; k == 0 zeroes all. Exact, O(n),
 * no allocation (a two-pass radix select on the magnitude's bits). Returns
 * the number of entries zeroed by the trim. */
uint64_t wd__trim_magnitude(float *d, size_t n, double density);

/* DARE: keeps each entry with probability density (the stream of
 * wd_dare_stream(seed, name, model)), multiplies the kept ones by
 * (float)(1 / density), zeroes the others. density >= 1 keeps all.
 * Returns the number of entries zeroed. */
uint64_t wd__dare(float *d, size_t n, double density, uint64_t seed, const char *name, size_t model);

#endif
