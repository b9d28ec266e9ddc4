/*
 * weights/resta.c - `warden resta`: RESTA, restoring safety by adding the
 * safety vector (Bhardwaj et al. 2024, arXiv 2402.11746; declare-lab/resta;
 * METHODS.md section 5).
 *
 *   v     = aligned - unaligned               (the safety vector)
 *   theta = finetuned + beta * v              (without DARE)
 *   theta = aligned + DARE_p(finetuned - aligned) + beta * v
 *                                             (with --dare p: keep each
 *                                              entry of the fine-tuning
 *                                              delta with probability 1 - p,
 *                                              rescale by 1 / (1 - p))
 *
 * In F32, in this order (tests/tools/merge_ref.py repeats it):
 *   v = a - u;  bv = v * (float)beta;
 *   no DARE:  out = f + bv
 *   DARE:     d = f - a; d = DARE(d) (wd_dare_stream model 0, density 1 - p);
 *             out = (a + d) + bv
 * The streaming, checks and failure guarantees are merge_stream.c's; inputs
 * are read in the order finetuned, aligned, unaligned, so the output's
 * tensor order, non-float tensors and config come from the fine-tuned model.
 */
#include <math.h>
#include <string.h>

#include "base/err.h"
#include "warden/safetensors.h"
#include "weights/merge_internal.h"

typedef struct {
    float    beta;
    double   dare;
    uint64_t seed;
} resta_ctx;

wd_resta_params wd_resta_params_default(void) {
    return (wd_resta_params){.beta = 1.0, .out_dtype = -1, .shard_bytes = 5000000000ull};
}

/* in[0] finetuned, in[1] aligned, in[2] unaligned. */
static wd_status kernel(void *ctx, const wd_tensor_info *t, float *const *in, float *out,
                        wd_merge_report *rep) {
    const resta_ctx *c = ctx;
    const char *name = t->name;
    size_t n = (size_t)t->n_elem;
    float *f = in[0], *a = in[1], *u = in[2];
    for (size_t j = 0; j < n; j++) u[j] = (a[j] - u[j]) * c->beta; /* u := beta * v */
    if (c->dare > 0.0) {
        for (size_t j = 0; j < n; j++) f[j] = f[j] - a[j];
        rep->n_dropped += wd__dare(f, n, 1.0 - c->dare, c->seed, name, 0);
        rep->n_delta_entries += n;
        for (size_t j = 0; j < n; j++) out[j] = (a[j] + f[j]) + u[j];
    } else {
        for (size_t j = 0; j < n; j++) out[j] = f[j] + u[j];
    }
    return WD_OK;
}

wd_status wd_resta(const char *out_dir, const wd_resta_params *p, wd_merge_report *report) {
    if (!out_dir || !out_dir[0] || !p) return wd__fail(WD_ERR_INVALID_ARG, "wd_resta: NULL argument");
    const char *paths[3] = {p->finetuned, p->aligned, p->unaligned};
    static const char *const labels[3] = {"finetuned", "aligned", "unaligned"};
    for (int k = 0; k < 3; k++)
        if (!paths[k] || !paths[k][0])
            return wd__fail(WD_ERR_INVALID_ARG, "resta: the %s model is missing (--%s)", labels[k], labels[k]);
    if (!isfinite(p->beta)) return wd__fail(WD_ERR_INVALID_ARG, "resta: beta is not finite");
    if (!(p->dare >= 0.0 && p->dare < 1.0))
        return wd__fail(WD_ERR_INVALID_ARG, "resta: dare %g is not a drop probability in [0, 1)", p->dare);
    if (p->out_dtype != -1 && p->out_dtype != WD_DTYPE_F32 && p->out_dtype != WD_DTYPE_F16 &&
        p->out_dtype != WD_DTYPE_BF16)
        return wd__fail(WD_ERR_INVALID_ARG, "resta: output dtype must be F32, F16 or BF16");
    resta_ctx c = {.beta = (float)p->beta, .dare = p->dare, .seed = p->seed};
    wd__merge_job job = {
        .paths = paths, .labels = labels, .n_in = 3, .carry_from = 0, .out_dtype = p->out_dtype,
        .shard_bytes = p->shard_bytes, .kernel = kernel, .ctx = &c, .progress = p->progress,
        .progress_user = p->progress_user,
    };
    wd_merge_report rep;
    wd_status rc = wd__merge_run(out_dir, &job, &rep);
    if (!rc && report) *report = rep;
    return rc;
}
