/*
 * weights/merge.c - `warden merge`: linear, slerp, task arithmetic, TIES,
 * DARE-linear and DARE-TIES (warden/weights.h), with mergekit's definitions
 * (arcee-ai/mergekit: merge_methods/linear.py, slerp.py,
 * generalized_task_arithmetic.py, sparsify.py; its registry's defaults).
 *
 * Every tensor is computed in F32, in this order (tests/tools/merge_ref.py
 * repeats it operation by operation, so the two agree to the last bit
 * except where noted):
 *
 *   linear     acc = 0; acc += w_i * x_i (i in order); normalize: acc / W,
 *              W = 0 + w_1 + w_2 + ... (floats)
 *   slerp      in double: n0 = |b|, n1 = |x| (flattened; a norm <= 1e-8
 *              counts as 1), c = <b, x> / (n0 n1); |c| > 0.9995: lerp
 *              (1 - t) b + t x; else th = acos(c), s0 = sin((1 - t) th) /
 *              sin th, s1 = sin(t th) / sin th, out = s0 b + s1 x.
 *              (mergekit does these scalars in float32; the difference is
 *              within F32 rounding of the output.)
 *   task-vector methods (task-arithmetic, ties, dare-linear, dare-ties):
 *              d_i = x_i - b; sparsify d_i (ties: trim; dare-*: DARE);
 *              wd_i = d_i * w_i;
 *              no consensus: mix = 0 + wd_1 + wd_2 + ...,
 *                            div = 0 + w_1 + w_2 + ... (|div| < 1e-8 -> 1)
 *              consensus (ties, dare-ties): S = 0 + wd_1 + wd_2 + ...,
 *                            e = S >= 0 ? +1 : -1, m_i = sign(wd_i) == e
 *                            (a zero never agrees), mix = 0 + sum of the
 *                            agreeing wd_i, div = 0 + their w_i (0 -> 1)
 *              normalize: mix = mix / div; lambda != 1: mix = mix * lambda;
 *              out = b + mix.
 *
 * Figures for the report: entries dropped by the trim or DARE, and for the
 * consensus methods the entries with a non-zero delta and those where some
 * non-zero delta lost the sign election (a conflict).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "warden/safetensors.h"
#include "weights/merge_internal.h"

static const char *const k_names[WD_MERGE_METHOD_COUNT] = {
    "linear", "slerp", "task-arithmetic", "ties", "dare-linear", "dare-ties",
};

const char *wd_merge_method_name(wd_merge_method m) {
    return (unsigned)m < WD_MERGE_METHOD_COUNT ? k_names[m] : "?";
}

wd_status wd_merge_method_from_name(const char *name, wd_merge_method *out) {
    char buf[32];
    if (!name || !out || strlen(name) >= sizeof buf)
        return wd__fail(WD_ERR_INVALID_ARG, "merge method: expected one of linear, slerp, "
                                            "task-arithmetic, ties, dare-linear, dare-ties");
    for (size_t i = 0; name[i] || (buf[i] = 0); i++) buf[i] = name[i] == '_' ? '-' : name[i];
    for (int m = 0; m < WD_MERGE_METHOD_COUNT; m++)
        if (!strcmp(buf, k_names[m])) {
            *out = (wd_merge_method)m;
            return WD_OK;
        }
    return wd__fail(WD_ERR_INVALID_ARG,
                    "merge method '%s': expected one of linear, slerp, task-arithmetic, ties, "
                    "dare-linear, dare-ties",
                    name);
}

wd_merge_params wd_merge_params_default(void) {
    return (wd_merge_params){
        .method = WD_MERGE_METHOD_TIES,
        .density = 1.0,
        .lambda = 1.0,
        .t = 0.5,
        .normalize = -1,
        .out_dtype = -1,
        .shard_bytes = 5000000000ull,
    };
}

/* ==== the kernels ========================================================= */

typedef struct {
    wd_merge_method method;
    size_t          off;      /* models start at in[off] (1 with a base in in[0]) */
    size_t          n_models;
    float          *w;        /* n_models weights as floats */
    bool            normalize;
    double          density, lambda, t;
    uint64_t        seed;
} merge_ctx;

static wd_status kernel_linear(const merge_ctx *c, float *const *in, float *out, size_t n) {
    float W = 0.0f;
    for (size_t i = 0; i < c->n_models; i++) W += c->w[i];
    for (size_t j = 0; j < n; j++) {
        float acc = 0.0f;
        for (size_t i = 0; i < c->n_models; i++) acc += c->w[i] * in[c->off + i][j];
        out[j] = c->normalize ? acc / W : acc;
    }
    return WD_OK;
}

static wd_status kernel_slerp(const merge_ctx *c, float *const *in, float *out, size_t n,
                              wd_merge_report *rep) {
    const float *b = in[0], *x = in[1];
    double bb = 0, xx = 0, bx = 0;
    for (size_t j = 0; j < n; j++) {
        bb += (double)b[j] * b[j];
        xx += (double)x[j] * x[j];
        bx += (double)b[j] * x[j];
    }
    double n0 = sqrt(bb), n1 = sqrt(xx), t = c->t;
    double cosv = bx / ((n0 > 1e-8 ? n0 : 1.0) * (n1 > 1e-8 ? n1 : 1.0));
    double s0, s1;
    if (fabs(cosv) > 0.9995) {
        s0 = 1.0 - t;
        s1 = t;
        rep->n_slerp_lerp++;
    } else {
        double th = acos(cosv), st = sin(th);
        s0 = sin(th - th * t) / st;
        s1 = sin(th * t) / st;
    }
    for (size_t j = 0; j < n; j++) out[j] = (float)(s0 * b[j] + s1 * x[j]);
    return WD_OK;
}

static wd_status kernel_task(const merge_ctx *c, const char *name, float *const *in, float *out,
                             size_t n, wd_merge_report *rep) {
    const float *b = in[0];
    bool ties = c->method == WD_MERGE_METHOD_TIES || c->method == WD_MERGE_METHOD_DARE_TIES;
    bool dare = c->method == WD_MERGE_METHOD_DARE_LINEAR || c->method == WD_MERGE_METHOD_DARE_TIES;
    for (size_t i = 0; i < c->n_models; i++) {
        float *d = in[1 + i];
        for (size_t j = 0; j < n; j++) d[j] = d[j] - b[j];
        if (c->method == WD_MERGE_METHOD_TIES) {
            rep->n_dropped += wd__trim_magnitude(d, n, c->density);
            rep->n_delta_entries += n;
        } else if (dare) {
            rep->n_dropped += wd__dare(d, n, c->density, c->seed, name, i);
            rep->n_delta_entries += n;
        }
        for (size_t j = 0; j < n; j++) d[j] = d[j] * c->w[i];
    }
    float lambda = (float)c->lambda;
    float wsum = 0.0f;
    for (size_t i = 0; i < c->n_models; i++) wsum += c->w[i];
    if (fabsf(wsum) < 1e-8f) wsum = 1.0f;
    /* Blocks of BLK entries, model by model inside a block: every loop is
     * straight-line over k (vectorized, no data-dependent branch: the signs
     * are random), and each entry still sums its models in order. */
    enum { BLK = 1024 };
    float S[BLK], mix[BLK], div[BLK];
    unsigned char any[BLK], conflict[BLK];
    uint64_t n_any = 0, n_conflict = 0;
    for (size_t j0 = 0; j0 < n; j0 += BLK) {
        size_t m = n - j0 < BLK ? n - j0 : BLK;
        for (size_t k = 0; k < m; k++) S[k] = mix[k] = div[k] = 0.0f, any[k] = conflict[k] = 0;
        if (ties) {
            for (size_t i = 0; i < c->n_models; i++) {
                const float *restrict v = in[1 + i] + j0;
                for (size_t k = 0; k < m; k++) S[k] += v[k];
            }
            for (size_t i = 0; i < c->n_models; i++) {
                const float *restrict v = in[1 + i] + j0;
                const float wi = c->w[i];
                for (size_t k = 0; k < m; k++) {
                    float x = v[k];
                    unsigned char nz = x != 0.0f && x == x;
                    unsigned char agree = nz & ((x > 0.0f) == (S[k] >= 0.0f));
                    mix[k] += agree ? x : 0.0f;
                    div[k] += agree ? wi : 0.0f;
                    any[k] |= nz;
                    conflict[k] |= nz & !agree;
                }
            }
            for (size_t k = 0; k < m; k++) {
                div[k] = div[k] == 0.0f ? 1.0f : div[k];
                n_any += any[k];
                n_conflict += conflict[k];
            }
        } else {
            for (size_t i = 0; i < c->n_models; i++) {
                const float *restrict v = in[1 + i] + j0;
                for (size_t k = 0; k < m; k++) mix[k] += v[k];
            }
            for (size_t k = 0; k < m; k++) div[k] = wsum;
        }
        if (c->normalize)
            for (size_t k = 0; k < m; k++) mix[k] = mix[k] / div[k];
        if (lambda != 1.0f)
            for (size_t k = 0; k < m; k++) mix[k] = mix[k] * lambda;
        for (size_t k = 0; k < m; k++) out[j0 + k] = b[j0 + k] + mix[k];
    }
    rep->n_sign_entries += n_any;
    rep->n_sign_conflicts += n_conflict;
    return WD_OK;
}

static wd_status kernel(void *ctx, const wd_tensor_info *t, float *const *in, float *out,
                        wd_merge_report *rep) {
    const merge_ctx *c = ctx;
    const char *name = t->name;
    size_t n = (size_t)t->n_elem;
    switch (c->method) {
    case WD_MERGE_METHOD_LINEAR: return kernel_linear(c, in, out, n);
    case WD_MERGE_METHOD_SLERP: return kernel_slerp(c, in, out, n, rep);
    default: return kernel_task(c, name, in, out, n, rep);
    }
}

/* ==== the public call ===================================================== */

static wd_status check_params(const wd_merge_params *p) {
    const char *m = wd_merge_method_name(p->method);
    if ((unsigned)p->method >= WD_MERGE_METHOD_COUNT)
        return wd__fail(WD_ERR_INVALID_ARG, "merge: unknown method %d", (int)p->method);
    if (!p->models || p->n_models == 0) return wd__fail(WD_ERR_INVALID_ARG, "merge: no models to merge");
    for (size_t i = 0; i < p->n_models; i++) {
        if (!p->models[i].path || !p->models[i].path[0])
            return wd__fail(WD_ERR_INVALID_ARG, "merge: model %zu has no path", i + 1);
        if (!isfinite(p->models[i].weight))
            return wd__fail(WD_ERR_INVALID_ARG, "merge: model %zu (%s): weight is not finite", i + 1,
                            p->models[i].path);
    }
    if (p->method != WD_MERGE_METHOD_LINEAR && (!p->base || !p->base[0]))
        return wd__fail(WD_ERR_INVALID_ARG, "merge %s: needs a base model (--base)", m);
    if (p->method == WD_MERGE_METHOD_SLERP && p->n_models != 1)
        return wd__fail(WD_ERR_INVALID_ARG, "merge slerp: interpolates the base and exactly one model, got %zu",
                        p->n_models);
    if (!(p->density > 0.0 && p->density <= 1.0))
        return wd__fail(WD_ERR_INVALID_ARG, "merge %s: density %g is not in (0, 1]", m, p->density);
    if (!isfinite(p->lambda) || !isfinite(p->t))
        return wd__fail(WD_ERR_INVALID_ARG, "merge %s: lambda and t must be finite", m);
    if (p->out_dtype != -1 && p->out_dtype != WD_DTYPE_F32 && p->out_dtype != WD_DTYPE_F16 &&
        p->out_dtype != WD_DTYPE_BF16)
        return wd__fail(WD_ERR_INVALID_ARG, "merge: output dtype must be F32, F16 or BF16");
    if (p->method == WD_MERGE_METHOD_LINEAR) {
        float W = 0.0f;
        for (size_t i = 0; i < p->n_models; i++) W += (float)p->models[i].weight;
        if (p->normalize != 0 && fabsf(W) < 1e-8f)
            return wd__fail(WD_ERR_INVALID_ARG, "merge linear: the weights sum to 0 (cannot normalize)");
    }
    return WD_OK;
}

wd_status wd_merge(const char *out_dir, const wd_merge_params *p, wd_merge_report *report) {
    if (!out_dir || !out_dir[0] || !p) return wd__fail(WD_ERR_INVALID_ARG, "wd_merge: NULL argument");
    wd_status rc = check_params(p);
    if (rc) return rc;
    bool with_base = p->base && p->base[0];
    size_t off = with_base ? 1 : 0, n_in = off + p->n_models;
    const char **paths = calloc(n_in, sizeof *paths);
    char **labels = calloc(n_in, sizeof *labels);
    float *w = calloc(p->n_models, sizeof *w);
    merge_ctx c = {
        .method = p->method, .off = off, .n_models = p->n_models, .w = w,
        .density = p->density, .lambda = p->lambda, .t = p->t, .seed = p->seed,
    };
    static const bool k_normalize[WD_MERGE_METHOD_COUNT] = {
        [WD_MERGE_METHOD_LINEAR] = true, [WD_MERGE_METHOD_TIES] = true,
    };
    c.normalize = p->normalize < 0 ? k_normalize[p->method] : p->normalize != 0;
    if (!paths || !labels || !w) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (with_base) {
        paths[0] = p->base;
        labels[0] = strdup("base");
        if (!labels[0]) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->n_models && !rc; i++) {
        char lab[32];
        snprintf(lab, sizeof lab, "model %zu", i + 1);
        paths[off + i] = p->models[i].path;
        w[i] = (float)p->models[i].weight;
        if (!(labels[off + i] = strdup(lab))) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    if (!rc) {
        wd__merge_job job = {
            .paths = paths, .labels = (const char *const *)labels, .n_in = n_in, .carry_from = 0,
            .out_dtype = p->out_dtype, .shard_bytes = p->shard_bytes, .kernel = kernel, .ctx = &c,
            .progress = p->progress, .progress_user = p->progress_user,
        };
        wd_merge_report rep;
        rc = wd__merge_run(out_dir, &job, &rep);
        if (!rc && report) *report = rep;
    }
done:
    for (size_t k = 0; labels && k < n_in; k++) free(labels[k]);
    free(labels);
    free(paths);
    free(w);
    return rc;
}
