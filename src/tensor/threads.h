/*
 * tensor/threads.h - how kernels split work over a wd_threadpool (internal).
 *
 * A kernel packs its arguments into a struct, and wd__parallel_for() calls
 * fn(ctx, ith, nth) once for each ith in [0, nth): thread ith takes the
 * contiguous slice wd__split(n, ith, nth) of the rows (or columns) and
 * nothing else, like ggml's compute params. The calling thread is ith = 0.
 */
#ifndef WD_TENSOR_THREADS_H
#define WD_TENSOR_THREADS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/ops.h"

typedef void (*wd__task_fn)(void *ctx, int ith, int nth);

/* Runs fn on every thread of tp and returns when all are done. Runs
 * fn(ctx, 0, 1) on the calling thread when tp is NULL, has one thread, when
 * work (about the number of scalar operations) is below the threshold that
 * pays for waking the workers, or when called from inside a pool worker. */
void wd__parallel_for(wd_threadpool *tp, wd__task_fn fn, void *ctx, size_t work);

/* The slice [*lo, *hi) of [0, n) that thread ith of nth owns: contiguous,
 * sizes differing by at most one, in order. */
static inline void wd__split(size_t n, int ith, int nth, size_t *lo, size_t *hi) {
    size_t q = n / (size_t)nth, r = n % (size_t)nth, i = (size_t)ith;
    *lo = i * q + (i < r ? i : r);
    *hi = *lo + q + (i < r ? 1 : 0);
}

/* Work in chunks taken from slices: [0, n) is split into one contiguous
 * slice per thread (wd__split); a thread takes chunks of its own slice
 * from the slice's counter, front to back, then the chunks still left in
 * the other slices. Each thread so streams one long run of memory (the
 * prefetchers keep up), and a thread slowed for a while (a machine shared
 * with other work, a core busy elsewhere) does not hold the others at the
 * kernel's end: they take over its remaining chunks. */
#define WD_CHUNKS_MAX_OWNERS 64 /* threads with a slice; the rest only help */

typedef struct wd__chunks {
    size_t n, chunk;
    int    n_owners;
    struct {                                 /* a cache line per counter */
        _Alignas(64) _Atomic size_t v;       /* the slice's first item not taken */
    } next[WD_CHUNKS_MAX_OWNERS];
} wd__chunks;

/* n items, chunk (>= 1) at a time, over nth threads' slices. */
void wd__chunks_init(wd__chunks *c, size_t n, size_t chunk, int nth);

/* A chunk size for n items over nth threads: about 8 chunks a slice, at
 * least 1 and at most `most` items (tiles of a GEMM). */
static inline size_t wd__chunk_size(size_t n, int nth, size_t most) {
    size_t per = n / (size_t)(nth < 1 ? 1 : nth) / 8;
    return per < 1 ? 1 : per > most ? most : per;
}

/* Bytes of streamed weights a decoding kernel takes at a time. One long
 * run of memory per thread keeps the prefetchers streaming; slices handed
 * out in interleaved chunks from one counter made every chunk start cold:
 * 40 matrices 2048 x 4096 Q4_0 from a mapped file, 2 threads, ran at 31
 * GB/s with 32 KB chunks from one counter, 44-55 with 128-512 KB ones,
 * 43-61 with slices (tensor/qgemv.c, Zen 5). */
#define WD_CHUNK_BYTES 32768

/* Thread ith's next chunk [*lo, *hi): its own slice's first, then the
 * others' in turn. *cursor is the thread's own state, 0 before the first
 * call. False when every chunk has been taken. */
bool wd__chunks_take(wd__chunks *c, int ith, int *cursor, size_t *lo, size_t *hi);

/* How long (ns) a waiting thread of tp polls for the next call or for the
 * workers to finish before it sleeps; 0 (the default) never polls. Worth it
 * when most kernels of a loop run on this pool (quantized matmuls), harmful
 * when they alternate with OpenBLAS calls, whose threads need the cores. */
void wd__threads_set_spin(wd_threadpool *tp, uint64_t ns);

/* Below this much work wd__parallel_for runs serially (default 16384).
 * The tests set it to 0 to exercise the split on tiny shapes. */
void wd__threads_set_min_work(size_t work);

#endif
