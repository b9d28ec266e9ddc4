/*
 * guard/router_mlp.c - SafeRoute's router MLP at inference (warden/router.h):
 * the network object, P(escalate) for one feature, and the sidecar
 * safetensors file that holds its weights (guard/router_mlp.h). Training
 * is train/router_mlp.c.
 */
#include "guard/router_mlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "warden/safetensors.h"

#define MLP_MAX 65536   /* largest size of any layer */
#define STACK_H 4096    /* hidden sizes computed without allocating */

wd_router_mlp *wd_router_mlp_new(size_t n_in, size_t h1, size_t h2) {
    if (!n_in || !h1 || !h2 || n_in > MLP_MAX || h1 > MLP_MAX || h2 > MLP_MAX) return NULL;
    wd_router_mlp *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_in = n_in;
    m->h1 = h1;
    m->h2 = h2;
    m->n_param = h1 * n_in + h1 + h2 * h1 + h2 + h2 + 1;
    m->w = calloc(2 * n_in + m->n_param, sizeof *m->w);
    if (!m->w) {
        free(m);
        return NULL;
    }
    m->mean = m->w;
    m->scale = m->mean + n_in;
    m->l1w = m->scale + n_in;
    m->l1b = m->l1w + h1 * n_in;
    m->l2w = m->l1b + h1;
    m->l2b = m->l2w + h2 * h1;
    m->ow = m->l2b + h2;
    m->ob = m->ow + h2;
    for (size_t i = 0; i < n_in; i++) m->scale[i] = 1.0f;
    return m;
}

void wd_router_mlp_free(wd_router_mlp *m) {
    if (!m) return;
    free(m->w);
    free(m);
}

/* y[0..rows) = relu(W x + b), W (rows, cols) */
static void dense_relu(const float *W, const float *b, const float *x, size_t rows, size_t cols, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *w = W + r * cols;
        double s = b[r];
        for (size_t c = 0; c < cols; c++) s += (double)w[c] * x[c];
        y[r] = s > 0 ? (float)s : 0.0f;
    }
}

double wd_router_mlp_prob(const wd_router_mlp *m, const float *x, size_t n) {
    if (!m || !x || n != m->n_in) return NAN;
    float stack[2 * STACK_H];
    float *buf = stack;
    size_t need = m->n_in + m->h1 + m->h2;
    if (need > 2 * STACK_H && !(buf = malloc(need * sizeof *buf))) return NAN;
    float *xs = buf, *a1 = xs + m->n_in, *a2 = a1 + m->h1;
    for (size_t i = 0; i < m->n_in; i++) xs[i] = (x[i] - m->mean[i]) * m->scale[i];
    dense_relu(m->l1w, m->l1b, xs, m->h1, m->n_in, a1);
    dense_relu(m->l2w, m->l2b, a1, m->h2, m->h1, a2);
    double z = m->ob[0];
    for (size_t i = 0; i < m->h2; i++) z += (double)m->ow[i] * a2[i];
    if (buf != stack) free(buf);
    return 1.0 / (1.0 + exp(-z));
}

/* ==== the sidecar ========================================================= */

typedef struct tensor_spec {
    const char *name;
    int         ndim;
    int64_t     shape[2];
    float      *data;
} tensor_spec;

static size_t specs(const wd_router_mlp *m, tensor_spec s[8]) {
    int64_t c = (int64_t)m->n_in, a = (int64_t)m->h1, b = (int64_t)m->h2;
    tensor_spec t[8] = {{"in.mean", 1, {c, 0}, m->mean},      {"in.scale", 1, {c, 0}, m->scale},
                        {"l1.weight", 2, {a, c}, m->l1w},     {"l1.bias", 1, {a, 0}, m->l1b},
                        {"l2.weight", 2, {b, a}, m->l2w},     {"l2.bias", 1, {b, 0}, m->l2b},
                        {"out.weight", 2, {1, b}, m->ow},     {"out.bias", 1, {1, 0}, m->ob}};
    memcpy(s, t, sizeof t);
    return 8;
}

wd_status wd__router_mlp_write(const wd_router_mlp *m, const char *path) {
    wd_safetensors_writer *w = NULL;
    wd_status st = wd_safetensors_writer_new(&w);
    if (st) return wd__fail(st, "out of memory");
    tensor_spec s[8];
    size_t n = specs(m, s);
    for (size_t i = 0; !st && i < n; i++) st = wd_safetensors_writer_add(w, s[i].name, WD_DTYPE_F32, s[i].shape, s[i].ndim, s[i].data);
    if (!st) st = wd_safetensors_writer_add_metadata(w, "format", "warden-router-mlp");
    if (!st && (st = wd_safetensors_writer_write(w, path)))
        st = wd__fail(st, "%s: %s", path, wd_safetensors_writer_last_error(w));
    else if (st)
        st = wd__fail(st, "%s: writing the router's weights failed", path);
    wd_safetensors_writer_free(w);
    return st;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && o < cap; d++) o += (size_t)snprintf(buf + o, cap - o, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* Checks that the sidecar holds every tensor, of a float dtype and of
 * exactly its shape (sizes from router.json), before anything is allocated. */
static wd_status check_shapes(const wd_safetensors *sf, const char *path, const char *json_where,
                              const tensor_spec *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const wd_tensor_info *t = wd_safetensors_find(sf, s[i].name);
        char want[64], got[64];
        shape_str(s[i].shape, s[i].ndim, want, sizeof want);
        if (!t) return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': missing (expected shape %s)", path, s[i].name, want);
        if (t->dtype != WD_DTYPE_F32 && t->dtype != WD_DTYPE_F16 && t->dtype != WD_DTYPE_BF16 &&
            t->dtype != WD_DTYPE_F64)
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': expected a float dtype", path, s[i].name);
        bool same = t->ndim == s[i].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == s[i].shape[d];
        if (!same) {
            shape_str(t->shape, t->ndim, got, sizeof got);
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': shape %s, %s says %s", path, s[i].name, got, json_where,
                            want);
        }
    }
    return WD_OK;
}

wd_status wd__router_mlp_read(const char *path, const char *json_where, size_t n_in, size_t h1, size_t h2,
                              wd_router_mlp **out) {
    *out = NULL;
    wd_safetensors *sf = NULL;
    wd_status st = wd_safetensors_open(path, &sf);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", wd_last_error());
        return wd__fail(st, "%s: field 'weights': %s: %s", json_where, path, why);
    }
    wd_router_mlp shapes = {.n_in = n_in, .h1 = h1, .h2 = h2}; /* data pointers NULL: shapes only */
    tensor_spec s[8];
    size_t n = specs(&shapes, s);
    wd_router_mlp *m = NULL;
    if (!(st = check_shapes(sf, path, json_where, s, n)) && !(m = wd_router_mlp_new(n_in, h1, h2)))
        st = wd__fail(WD_ERR_NOMEM, "%s: an MLP of sizes %zu, %zu, %zu: out of memory", json_where, n_in, h1, h2);
    if (m) specs(m, s);
    for (size_t i = 0; m && !st && i < n; i++) {
        const wd_tensor_info *t = wd_safetensors_find(sf, s[i].name);
        if ((st = wd_tensor_read_f32(t, s[i].data, (size_t)t->n_elem))) {
            char why[512];
            snprintf(why, sizeof why, "%s", wd_last_error());
            st = wd__fail(st, "%s: tensor '%s': %s", path, s[i].name, why);
            break;
        }
        for (uint64_t k = 0; k < t->n_elem; k++)
            if (!isfinite(s[i].data[k]) || (i == 1 && !(s[i].data[k] > 0))) {
                st = wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': element %llu is %g (expected %s)", path, s[i].name,
                              (unsigned long long)k, (double)s[i].data[k], i == 1 ? "a finite number > 0" : "finite");
                break;
            }
    }
    wd_safetensors_free(sf);
    if (st) wd_router_mlp_free(m);
    else *out = m;
    return st;
}
