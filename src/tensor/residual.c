/*
 * tensor/residual.c - the residual connection out = a + b (He et al. 2016)
 * and its backward, which hands the same gradient to both branches.
 */
#include "tensor/threads.h"

typedef struct res_args {
    float *out, *da, *db;
    const float *a, *b, *dout;
    size_t n;
} res_args;

static void fwd_task(void *p, int ith, int nth) {
    const res_args *r = p;
    size_t i0, i1;
    wd__split(r->n, ith, nth, &i0, &i1);
    for (size_t i = i0; i < i1; i++) r->out[i] = r->a[i] + r->b[i];
}

static void bwd_task(void *p, int ith, int nth) {
    const res_args *r = p;
    size_t i0, i1;
    wd__split(r->n, ith, nth, &i0, &i1);
    if (r->da)
        for (size_t i = i0; i < i1; i++) r->da[i] += r->dout[i];
    if (r->db)
        for (size_t i = i0; i < i1; i++) r->db[i] += r->dout[i];
}

void wd_op_residual_fwd(float *out, const float *a, const float *b, size_t n, wd_threadpool *tp) {
    // out (n), a (n), b (n)
    res_args r = {.out = out, .a = a, .b = b, .n = n};
    wd__parallel_for(tp, fwd_task, &r, n);
}

void wd_op_residual_bwd(float *da, float *db, const float *dout, size_t n, wd_threadpool *tp) {
    // da (n) +=, db (n) +=, dout (n)
    res_args r = {.da = da, .db = db, .dout = dout, .n = n};
    wd__parallel_for(tp, bwd_task, &r, n);
}

void wd_op_residual_fwd_ref(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void wd_op_residual_bwd_ref(float *da, float *db, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (da) da[i] += dout[i];
        if (db) db[i] += dout[i];
    }
}
