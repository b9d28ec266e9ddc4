/*
 * tensor/threads.c - a small persistent pthread pool that kernels split
 * their rows over explicitly (ggml style: every thread gets (ith, nth)).
 *
 * The pool holds n_threads - 1 workers; the thread that calls a kernel is
 * thread 0 and does its share, so a pool of 1 has no workers at all. A call
 * publishes (fn, ctx) under the mutex, bumps a generation counter and wakes
 * the workers; each worker runs its share, and the last one to finish wakes
 * the caller. Workers sleep on a condition variable between calls (no
 * spinning), which keeps them out of OpenBLAS's way. One call runs at a
 * time: a second caller waits on `dispatch`. A worker that itself calls
 * wd__parallel_for (a kernel inside a kernel) runs it serially instead of
 * deadlocking. Nothing here allocates after wd_threadpool_new.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "base/err.h"
#include "tensor/threads.h"

#define WD_POOL_MAX_THREADS 1024

struct wd_threadpool {
    int             n_threads;  /* counting the caller                     */
    int             n_started;  /* workers actually running                */
    pthread_t      *workers;    /* (n_threads - 1)                         */
    pthread_mutex_t dispatch;   /* serializes callers                      */
    pthread_mutex_t mu;         /* guards everything below                 */
    pthread_cond_t  cv_work;    /* workers wait here for a new generation  */
    pthread_cond_t  cv_done;    /* the caller waits here for n_pending = 0 */
    uint64_t        generation;
    int             n_pending;
    bool            stop;
    wd__task_fn     fn;
    void           *ctx;
};

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
    pthread_mutex_lock(&tp->mu);
    for (;;) {
        while (tp->generation == seen && !tp->stop) pthread_cond_wait(&tp->cv_work, &tp->mu);
        if (tp->stop) break;
        seen = tp->generation;
        wd__task_fn fn = tp->fn;
        void *ctx = tp->ctx;
        pthread_mutex_unlock(&tp->mu);
        fn(ctx, a.ith, tp->n_threads);
        pthread_mutex_lock(&tp->mu);
        if (--tp->n_pending == 0) pthread_cond_signal(&tp->cv_done);
    }
    pthread_mutex_unlock(&tp->mu);
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
    tp->stop = true;
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

void wd__parallel_for(wd_threadpool *tp, wd__task_fn fn, void *ctx, size_t work) {
    if (!tp || tp->n_threads == 1 || work < min_work || in_pool_work) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&tp->dispatch);
    pthread_mutex_lock(&tp->mu);
    tp->fn = fn;
    tp->ctx = ctx;
    tp->n_pending = tp->n_threads - 1;
    tp->generation++;
    pthread_cond_broadcast(&tp->cv_work);
    pthread_mutex_unlock(&tp->mu);

    in_pool_work = true;
    fn(ctx, 0, tp->n_threads);
    in_pool_work = false;

    pthread_mutex_lock(&tp->mu);
    while (tp->n_pending > 0) pthread_cond_wait(&tp->cv_done, &tp->mu);
    pthread_mutex_unlock(&tp->mu);
    pthread_mutex_unlock(&tp->dispatch);
}

/* ==== OpenBLAS's own threads ============================================= */

void wd_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

int wd_blas_threads(void) { return openblas_get_num_threads(); }
