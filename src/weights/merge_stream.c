/*
 * weights/merge_stream.c - the streaming core of `warden merge` and
 * `warden resta` (weights/merge_internal.h): N model folders in, one out,
 * one tensor at a time.
 *
 *   inputs (mmap'd, wd_checkpoint)       out_dir (wd_checkpoint_writer)
 *   ck[0] --read F32, drop pages--> in[0] \
 *   ck[1] --read F32, drop pages--> in[1] -+- kernel --> out --convert--> shard
 *   ...                                   /
 *
 * Checks before anything is written: every input holds exactly the
 * reference's tensor names, each with the same shape and dtype; the error
 * names the tensor, both inputs and both shapes (or dtypes).
 *
 * Memory: N + 1 F32 buffers of the largest float tensor (allocated once) and
 * a 4 MiB conversion buffer. Input tensors are read in 16 MiB pieces, and
 * each piece's pages are dropped (madvise MADV_DONTNEED on the read-only
 * private map: the page cache keeps them, the process's resident set does
 * not) right after it is converted, so the peak is the buffers plus one
 * piece, whatever the model's size.
 *
 * Output: written into a staging folder beside out_dir (io/folder.c) with
 * config.json (patched when the job says so) and the tokenizer files of
 * the carried input, and moved into place only when complete; on failure
 * the staging folder is removed and out_dir is as it was.
 */
#include "weights/merge_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "base/util.h"
#include "io/folder.h"
#include "warden/checkpoint.h"
#include "warden/ops.h"

#define PIECE_ELEMS ((size_t)4 << 20) /* elements per read piece (16 MiB of F32) */
#define CONV_ELEMS  ((size_t)1 << 19) /* elements per output conversion chunk   */

static bool is_float(wd_dtype t) {
    return t == WD_DTYPE_F32 || t == WD_DTYPE_F16 || t == WD_DTYPE_BF16 || t == WD_DTYPE_F64;
}


/* Tells the kernel the process no longer needs the pages of [p, p + n)
 * (rounded out to whole pages: a neighbour's page is simply read again). */
static void drop_pages(const void *p, size_t n) {
    if (!p || !n) return;
    static size_t page;
    if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
    uintptr_t b = ((uintptr_t)p + n + page - 1) & ~(uintptr_t)(page - 1);
    (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

static void shape_str(const wd_tensor_info *t, char *buf, size_t size) {
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->ndim && k < size; d++)
        k += (size_t)snprintf(buf + k, size - k, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

/* Inputs whose tokenizer.json differ index different tokens by the same
 * rows: merging them would be meaningless, so it is an error (a folder
 * without one is not compared). */
static wd_status check_tokenizers(const wd__merge_job *job) {
    char *ref = NULL, *path = wd__path_join(job->paths[0], "tokenizer.json");
    size_t nref = 0;
    wd_status rc = WD_OK;
    if (path && wd__file_read(path, (size_t)1 << 30, &ref, &nref)) ref = NULL;
    free(path);
    for (size_t k = 1; ref && k < job->n_in && !rc; k++) {
        char *other = NULL;
        size_t n = 0;
        path = wd__path_join(job->paths[k], "tokenizer.json");
        if (path && !wd__file_read(path, (size_t)1 << 30, &other, &n) && (n != nref || memcmp(ref, other, n)))
            rc = wd__fail(WD_ERR_FORMAT,
                          "tokenizer.json of %s (%s) differs from %s's (%s): their embedding rows are "
                          "different tokens",
                          job->labels[k], job->paths[k], job->labels[0], job->paths[0]);
        free(path);
        free(other);
    }
    free(ref);
    return rc;
}

/* Every input holds the reference's tensors with the same shapes and dtypes. */
static wd_status check_inputs(wd_checkpoint *const *ck, const wd__merge_job *job) {
    const wd_checkpoint *ref = ck[0];
    size_t n = wd_checkpoint_n_tensors(ref);
    for (size_t k = 1; k < job->n_in; k++) {
        for (size_t i = 0; i < n; i++) {
            const wd_tensor_info *a = wd_checkpoint_tensor(ref, i);
            const wd_tensor_info *b = wd_checkpoint_find(ck[k], a->name);
            if (!b)
                return wd__fail(WD_ERR_FORMAT, "tensor '%s' is in %s (%s) but not in %s (%s)", a->name,
                                job->labels[0], job->paths[0], job->labels[k], job->paths[k]);
            bool same = a->ndim == b->ndim;
            for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == b->shape[d];
            if (!same) {
                char sa[128], sb[128];
                shape_str(a, sa, sizeof sa);
                shape_str(b, sb, sizeof sb);
                return wd__fail(WD_ERR_FORMAT, "tensor '%s': shape %s in %s (%s) but %s in %s (%s)",
                                a->name, sa, job->labels[0], job->paths[0], sb, job->labels[k],
                                job->paths[k]);
            }
            if (a->dtype != b->dtype)
                return wd__fail(WD_ERR_FORMAT, "tensor '%s': dtype %s in %s (%s) but %s in %s (%s)",
                                a->name, wd_dtype_name(a->dtype), job->labels[0], job->paths[0],
                                wd_dtype_name(b->dtype), job->labels[k], job->paths[k]);
        }
        if (wd_checkpoint_n_tensors(ck[k]) != n) /* more tensors than the reference */
            for (size_t i = 0; i < wd_checkpoint_n_tensors(ck[k]); i++) {
                const wd_tensor_info *b = wd_checkpoint_tensor(ck[k], i);
                if (!wd_checkpoint_find(ref, b->name))
                    return wd__fail(WD_ERR_FORMAT, "tensor '%s' is in %s (%s) but not in %s (%s)",
                                    b->name, job->labels[k], job->paths[k], job->labels[0],
                                    job->paths[0]);
            }
    }
    return WD_OK;
}

/* Reads t as F32 into out (t->n_elem), piece by piece, dropping each
 * piece's pages once converted. */
static wd_status read_dropping(const wd_tensor_info *t, float *out) {
    size_t esz = wd_dtype_size(t->dtype);
    for (uint64_t j = 0; j < t->n_elem; j += PIECE_ELEMS) {
        size_t m = (size_t)(t->n_elem - j < PIECE_ELEMS ? t->n_elem - j : PIECE_ELEMS);
        wd_tensor_info piece = *t;
        piece.n_elem = m;
        piece.nbytes = m * esz;
        piece.data = (const unsigned char *)t->data + j * esz;
        wd_status rc = wd_tensor_read_f32(&piece, out + j, m);
        if (rc) return rc;
        drop_pages(piece.data, piece.nbytes);
    }
    return WD_OK;
}

/* Converts out[0..n) to dtype and streams it to w. */
static wd_status write_converted(wd_checkpoint_writer *w, wd_dtype dtype, const float *out, size_t n,
                                 void *conv) {
    if (dtype == WD_DTYPE_F32) return wd_checkpoint_writer_write(w, out, n * sizeof *out);
    for (size_t j = 0; j < n; j += CONV_ELEMS) {
        size_t m = n - j < CONV_ELEMS ? n - j : CONV_ELEMS;
        if (dtype == WD_DTYPE_F16) wd_f32_to_f16(conv, out + j, m);
        else if (dtype == WD_DTYPE_BF16) wd_f32_to_bf16(conv, out + j, m);
        else
            for (size_t k = 0; k < m; k++) ((double *)conv)[k] = out[j + k];
        wd_status rc = wd_checkpoint_writer_write(w, conv, m * wd_dtype_size(dtype));
        if (rc) return rc;
    }
    return WD_OK;
}

/* The folder of an input path (itself, or the file's folder). Malloc'd. */
static char *folder_of(const char *path) {
    if (wd__path_is_dir(path)) return strdup(path);
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
}

/* Refuses an output folder that is one of the inputs' (its weights would be
 * replaced while they are read). */
static wd_status check_out_dir(const char *out_dir, const wd__merge_job *job) {
    char *out = realpath(out_dir, NULL);
    wd_status rc = WD_OK;
    for (size_t k = 0; out && k < job->n_in && !rc; k++) {
        char *dir = folder_of(job->paths[k]), *in = dir ? realpath(dir, NULL) : NULL;
        if (in && !strcmp(in, out))
            rc = wd__fail(WD_ERR_INVALID_ARG, "%s: the output folder is the folder of the %s (%s)", out_dir,
                          job->labels[k], job->paths[k]);
        free(dir);
        free(in);
    }
    free(out);
    return rc;
}

typedef struct {
    wd_checkpoint        **ck;
    const wd_tensor_info **decl;    /* per declared output tensor: its source */
    bool                  *is_copy; /* ... and whether it is job->copy_to      */
    float              **in;
    float               *out;
    void                *conv;
    wd_checkpoint_writer *w;
} run_state;

/* Plans the output and streams every tensor. */
static wd_status stream(run_state *st, const char *out_dir, const wd__merge_job *job,
                        wd_merge_report *rep) {
    const wd_checkpoint *ref = st->ck[0];
    size_t n = wd_checkpoint_n_tensors(ref);
    wd_status rc = wd_checkpoint_writer_new(out_dir, job->shard_bytes, &st->w);
    if (rc) return rc;
    size_t max_elem = 1;
    /* declaration index -> reference tensor; the copy (copy_to) follows
     * its source and is marked in is_copy */
    st->decl = calloc(n + 1, sizeof *st->decl);
    st->is_copy = calloc(n + 1, sizeof *st->is_copy);
    if (!st->decl || !st->is_copy) return wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        const wd_tensor_info *t = wd_checkpoint_tensor(ref, i);
        wd_dtype dt = is_float(t->dtype) && job->out_dtype >= 0 ? (wd_dtype)job->out_dtype : t->dtype;
        if ((rc = wd_checkpoint_writer_add(st->w, t->name, dt, t->shape, t->ndim))) return rc;
        st->decl[nd++] = t;
        if (job->copy_from && !strcmp(t->name, job->copy_from)) {
            if (!is_float(t->dtype))
                return wd__fail(WD_ERR_UNSUPPORTED, "%s: tensor '%s' is not floating point", job->paths[0], t->name);
            if ((rc = wd_checkpoint_writer_add(st->w, job->copy_to, dt, t->shape, t->ndim))) return rc;
            st->is_copy[nd] = true;
            st->decl[nd++] = t;
        }
        if (is_float(t->dtype) && t->n_elem > max_elem) max_elem = (size_t)t->n_elem;
    }
    if (job->copy_from && nd == n)
        return wd__fail(WD_ERR_NOT_FOUND, "%s: no tensor '%s'", job->paths[0], job->copy_from);
    if ((rc = wd_checkpoint_writer_add_metadata(st->w, "format", "pt")) ||
        (rc = wd_checkpoint_writer_begin(st->w)))
        return rc;
    st->in = calloc(job->n_in, sizeof *st->in);
    st->out = malloc(max_elem * sizeof(float));
    st->conv = malloc(CONV_ELEMS * sizeof(double));
    if (!st->in || !st->out || !st->conv) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < job->n_in; k++)
        if (!(st->in[k] = malloc(max_elem * sizeof(float))))
            return wd__fail(WD_ERR_NOMEM, "out of memory (%zu buffers of %zu floats)", job->n_in + 1,
                            max_elem);
    size_t idx, done = 0;
    while (wd_checkpoint_writer_next(st->w, &idx)) {
        const wd_tensor_info *t = st->decl[idx];
        if (st->is_copy[idx]) { /* input 0's values as they are */
            if ((rc = read_dropping(t, st->in[0])) ||
                (rc = write_converted(st->w, job->out_dtype >= 0 ? (wd_dtype)job->out_dtype : t->dtype, st->in[0],
                                      (size_t)t->n_elem, st->conv)))
                return rc;
            continue;
        }
        rep->n_params += t->n_elem;
        if (!is_float(t->dtype)) { /* copied as it is from the reference */
            if ((rc = wd_checkpoint_writer_write(st->w, t->data, t->nbytes))) return rc;
            drop_pages(t->data, t->nbytes);
            rep->n_copied++;
        } else {
            for (size_t k = 0; k < job->n_in; k++) {
                const wd_tensor_info *tk = k ? wd_checkpoint_find(st->ck[k], t->name) : t;
                if ((rc = read_dropping(tk, st->in[k])))
                    return wd__err_prefix(rc, "%s (%s)", job->labels[k], job->paths[k]);
            }
            if ((rc = job->kernel(job->ctx, t, st->in, st->out, rep))) return rc;
            wd_dtype dt = job->out_dtype >= 0 ? (wd_dtype)job->out_dtype : t->dtype;
            if ((rc = write_converted(st->w, dt, st->out, (size_t)t->n_elem, st->conv))) return rc;
            rep->n_merged++;
        }
        rep->n_tensors++;
        if (job->progress) job->progress(++done, n, t->name, job->progress_user);
    }
    return WD_OK;
}

wd_status wd__merge_run(const char *out_dir, const wd__merge_job *job, wd_merge_report *rep) {
    memset(rep, 0, sizeof *rep);
    double t0 = wd__now_us();
    run_state st = {0};
    char *carry_dir = NULL, *stage = NULL;
    wd_status rc = WD_OK;
    if (!(st.ck = calloc(job->n_in, sizeof *st.ck))) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < job->n_in && !rc; k++)
        if ((rc = wd_checkpoint_open(job->paths[k], &st.ck[k]))) wd__err_prefix(rc, "%s", job->labels[k]);
    if (!rc) rc = check_inputs(st.ck, job);
    if (!rc) rc = check_tokenizers(job);
    if (!rc) rc = check_out_dir(out_dir, job);
    if (!rc) rc = wd__folder_stage(out_dir, &stage, NULL);
    if (!rc) rc = stream(&st, stage, job, rep);
    if (!rc && !(carry_dir = folder_of(job->paths[job->carry_from])))
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!rc) rc = wd__folder_copy_meta(carry_dir, stage, job->patch, NULL);
    if (!rc) rc = wd_checkpoint_writer_finish(st.w);
    if (!rc) {
        rep->n_shards = wd_checkpoint_writer_n_shards(st.w);
        rep->bytes_written = wd_checkpoint_writer_bytes(st.w);
    }
    wd_checkpoint_writer_free(st.w); /* unfinished: removes the temporaries */
    for (size_t k = 0; k < job->n_in; k++) {
        wd_checkpoint_free(st.ck[k]);
        if (st.in) free(st.in[k]);
    }
    /* the inputs are closed before the folder moves into place */
    if (stage) {
        if (rc) wd__folder_abort(stage);
        else rc = wd__folder_commit(stage, out_dir, NULL);
    }
    free(st.ck);
    free(st.in);
    free(st.out);
    free(st.conv);
    free(st.decl);
    free(st.is_copy);
    free(carry_dir);
    rep->seconds = (wd__now_us() - t0) / 1e6;
    rep->peak_rss_bytes = wd__peak_rss();
    return rc;
}
