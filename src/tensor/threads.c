/*
 * tensor/threads.c - a small persistent pthread pool that kernels split
 * their rows over explicitly (ggml style: every thread gets (ith, nth)).
 *
 * The pool holds n_threads - 1 workers; the thread that calls a kernel is
 * thread 0 and does its share, so a pool of 1 has no workers at all. A call
 * publishes (fn, ctx), bumps an atomic generation counter and wakes the
 * workers that sleep; each worker runs its share and counts itself done;
 * the caller does its own share and waits for the count to reach zero.
 *
 * Waiting may spin first, then sleeps: with wd__threads_set_spin(tp, ns) a
 * worker polls the generation for about ns before it sleeps on a condition
 * variable, and the caller likewise polls for the last worker (a decoding
 * step calls dozens of kernels back to back, and a condition-variable
 * wake-up costs tens of microseconds, as much as a small kernel). The
 * default is no spinning: between kernels that run on OpenBLAS's own
 * threads (F32 sgemm/sgemv) polling workers would take their cores, so a
 * model turns spinning on only when its matrices run on this pool
 * (tensor/qmatmul.c). The mutex is taken only to sleep and to wake
 * sleepers. One call runs at a time: a second caller
 * waits on `dispatch`. A worker that itself calls wd__parallel_for (a
 * kernel inside a kernel) runs it serially instead of deadlocking. Nothing
 * here allocates after wd_threadpool_new.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>
#include <stdatomic.h>

#include "base/err.h"
#include "base/util.h"
#include "tensor/threads.h"

#define WD_POOL_MAX_THREADS 1024

struct wd_threadpool {
    int             n_threads;  /* counting the caller                     */
    int             n_started;  /* workers actually running                */
    pthread_t      *workers;    /* (n_threads - 1)                         */
    pthread_mutex_t dispatch;   /* serializes callers                      */
    pthread_mutex_t mu;         /* for sleeping and waking only            */
    pthread_cond_t  cv_work;    /* workers sleep here for a new generation */
    pthread_cond_t  cv_done;    /* the caller sleeps here for n_pending 0  */
    _Atomic uint64_t generation; /* bumped (release) after fn, ctx are set */
    _Atomic int      n_pending;  /* workers still running this generation  */
    _Atomic bool     stop;
    _Atomic uint64_t spin_ns;    /* how long a waiting thread polls; 0: none */
    wd__task_fn      fn;
    void            *ctx;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Polls until cond(tp, arg) holds or the pool's spin time passes; true
 * when it held. */
static bool spin_until(bool (*cond)(wd_threadpool *, uint64_t), wd_threadpool *tp, uint64_t arg) {
    uint64_t limit = atomic_load_explicit(&tp->spin_ns, memory_order_relaxed);
    if (!limit) return cond(tp, arg);
    double t0 = 0;
    for (unsigned i = 0;; i++) {
        if (cond(tp, arg)) return true;
        cpu_relax();
        if ((i & 255) == 255) {
            double t = wd__now_us();
            if (!t0) t0 = t;
            else if ((t - t0) * 1000.0 > (double)limit) return cond(tp, arg);
        }
    }
}

static bool new_work(wd_threadpool *tp, uint64_t seen) {
    return atomic_load_explicit(&tp->generation, memory_order_acquire) != seen ||
           atomic_load_explicit(&tp->stop, memory_order_acquire);
}

static bool all_done(wd_threadpool *tp, uint64_t unused) {
    (void)unused;
    return atomic_load_explicit(&tp->n_pending, memory_order_acquire) == 0;
}

typedef struct worker_arg {
    wd_threadpool *tp;
    int            ith;
} worker_arg;

static _Thread_local bool in_pool_work;
static size_t min_work = 16384;

void wd__threads_set_min_work(size_t work) { min_work = work; }

static void *worker_main(void *arg) {
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    wd_threadpool *tp = a.tp;
    in_pool_work = true;
    uint64_t seen = 0;
    for (;;) {
        if (!spin_until(new_work, tp, seen)) {
            pthread_mutex_lock(&tp->mu);
            while (!new_work(tp, seen)) pthread_cond_wait(&tp->cv_work, &tp->mu);
            pthread_mutex_unlock(&tp->mu);
        }
        if (atomic_load_explicit(&tp->stop, memory_order_acquire)) break;
        seen = atomic_load_explicit(&tp->generation, memory_order_acquire);
        tp->fn(tp->ctx, a.ith, tp->n_threads);
        if (atomic_fetch_sub_explicit(&tp->n_pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&tp->mu); /* the caller may be asleep */
            pthread_cond_signal(&tp->cv_done);
            pthread_mutex_unlock(&tp->mu);
        }
    }
    return NULL;
}

wd_status wd_threadpool_new(int n_threads, wd_threadpool **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_threadpool_new: out is NULL");
    *out = NULL;
    if (n_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n < 1 ? 1 : n > WD_POOL_MAX_THREADS ? WD_POOL_MAX_THREADS : (int)n;
    }
    if (n_threads < 0 || n_threads > WD_POOL_MAX_THREADS)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_threadpool_new: n_threads %d not in [0, %d]",
                        n_threads, WD_POOL_MAX_THREADS);
    wd_threadpool *tp = calloc(1, sizeof *tp);
    if (!tp) return wd__fail(WD_ERR_NOMEM, "wd_threadpool_new: out of memory");
    tp->n_threads = n_threads;
    if (n_threads > 1) {
        tp->workers = calloc((size_t)n_threads - 1, sizeof *tp->workers);
        if (!tp->workers) {
            free(tp);
            return wd__fail(WD_ERR_NOMEM, "wd_threadpool_new: out of memory");
        }
    }
    pthread_mutex_init(&tp->dispatch, NULL);
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->cv_work, NULL);
    pthread_cond_init(&tp->cv_done, NULL);
    for (int i = 1; i < n_threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        int rc = a ? 0 : ENOMEM;
        if (a) {
            a->tp = tp;
            a->ith = i;
            rc = pthread_create(&tp->workers[i - 1], NULL, worker_main, a);
            if (rc) free(a);
        }
        if (rc) {
            wd_threadpool_free(tp);
            return wd__fail(rc == ENOMEM ? WD_ERR_NOMEM : WD_ERR_INTERNAL,
                            "wd_threadpool_new: cannot start thread %d of %d: %s", i,
                            n_threads, strerror(rc));
        }
        tp->n_started++;
    }
    *out = tp;
    return WD_OK;
}

void wd_threadpool_free(wd_threadpool *tp) {
    if (!tp) return;
    pthread_mutex_lock(&tp->mu);
    atomic_store_explicit(&tp->stop, true, memory_order_release);
    pthread_cond_broadcast(&tp->cv_work);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 0; i < tp->n_started; i++) pthread_join(tp->workers[i], NULL);
    pthread_cond_destroy(&tp->cv_work);
    pthread_cond_destroy(&tp->cv_done);
    pthread_mutex_destroy(&tp->mu);
    pthread_mutex_destroy(&tp->dispatch);
    free(tp->workers);
    free(tp);
}

int wd_threadpool_n_threads(const wd_threadpool *tp) { return tp ? tp->n_threads : 1; }

void wd__threads_set_spin(wd_threadpool *tp, uint64_t ns) {
    if (tp) atomic_store_explicit(&tp->spin_ns, ns, memory_order_relaxed);
}

void wd__parallel_for(wd_threadpool *tp, wd__task_fn fn, void *ctx, size_t work) {
    if (!tp || tp->n_threads == 1 || work < min_work || in_pool_work) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&tp->dispatch);
    tp->fn = fn;
    tp->ctx = ctx;
    atomic_store_explicit(&tp->n_pending, tp->n_threads - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&tp->generation, 1, memory_order_acq_rel);
    /* wake the sleepers: one that checked the generation under mu before
     * the bump is in cond_wait by the time this thread holds mu */
    pthread_mutex_lock(&tp->mu);
    pthread_cond_broadcast(&tp->cv_work);
    pthread_mutex_unlock(&tp->mu);

    in_pool_work = true;
    fn(ctx, 0, tp->n_threads);
    in_pool_work = false;

    if (!spin_until(all_done, tp, 0)) {
        pthread_mutex_lock(&tp->mu);
        while (!all_done(tp, 0)) pthread_cond_wait(&tp->cv_done, &tp->mu);
        pthread_mutex_unlock(&tp->mu);
    }
    pthread_mutex_unlock(&tp->dispatch);
}

/* ==== chunks from slices ================================================ */

void wd__chunks_init(wd__chunks *c, size_t n, size_t chunk, int nth) {
    c->n = n;
    c->chunk = chunk ? chunk : 1;
    c->n_owners = nth < 1 ? 1 : nth < WD_CHUNKS_MAX_OWNERS ? nth : WD_CHUNKS_MAX_OWNERS;
    for (int i = 0; i < c->n_owners; i++) {
        size_t lo, hi;
        wd__split(n, i, c->n_owners, &lo, &hi);
        atomic_init(&c->next[i].v, lo);
    }
}

bool wd__chunks_take(wd__chunks *c, int ith, int *cursor, size_t *lo, size_t *hi) {
    for (; *cursor < c->n_owners; (*cursor)++) {
        const int i = (ith + *cursor) % c->n_owners;
        size_t slo, shi;
        wd__split(c->n, i, c->n_owners, &slo, &shi);
        size_t a = atomic_fetch_add_explicit(&c->next[i].v, c->chunk, memory_order_relaxed);
        if (a < shi) {
            *lo = a;
            *hi = a + c->chunk < shi ? a + c->chunk : shi;
            return true;
        }
    }
    return false;
}

/* ==== OpenBLAS's own threads ============================================= */

void wd_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

int wd_blas_threads(void) { return openblas_get_num_threads(); }
