/*
 * weights/layers.c - locating the safety layers (warden/weights.h "Safety
 * layers"; METHODS.md 2): cosine similarities of last-position hidden
 * states between benign (N) and harmful (M) prompts, layer by layer, the
 * range where the N-M gap opens, and its refinement by scaling a range's
 * attention and MLP weights and watching over-refusal rise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "weights/plot.h"
#include "weights/probe.h"
#include "warden/checkpoint.h"
#include "warden/weights.h"

wd_layers_params wd_layers_params_default(void) {
    return (wd_layers_params){.n_prompts = 100, .n_pairs = 500, .seed = 1, .scale = 1.1f, .max_tokens = 16};
}

void wd_layers_result_free(wd_layers_result *r) {
    if (!r) return;
    free(r->nn), free(r->mm), free(r->nm), free(r->gap);
    free(r->nn_sd), free(r->mm_sd), free(r->nm_sd);
    free(r->trials);
    *r = (wd_layers_result){0};
}

static double cosine(const float *a, const float *b, size_t C) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t c = 0; c < C; c++) ab += (double)a[c] * b[c], aa += (double)a[c] * a[c], bb += (double)b[c] * b[c];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

/* Mean and SD of the cosine over n_pairs random pairs (i != j when the two
 * sets are the same) of layer l's states; x (nx, L+1, C), y (ny, L+1, C). */
static void pairs(const float *x, size_t nx, const float *y, size_t ny, bool same, size_t l, size_t L1,
                  size_t C, size_t n_pairs, uint64_t *rng, double *mean, double *sd) {
    double s = 0, s2 = 0;
    size_t k = 0;
    for (size_t p = 0; p < n_pairs; p++) {
        size_t i = wd__rng_below(rng, nx), j = wd__rng_below(rng, ny);
        if (same && nx > 1)
            while (j == i) j = wd__rng_below(rng, ny);
        double c = cosine(x + (i * L1 + l) * C, y + (j * L1 + l) * C, C);
        s += c, s2 += c * c, k++;
    }
    *mean = k ? s / (double)k : NAN;
    *sd = k > 1 ? sqrt(fmax(0.0, (s2 - s * s / (double)k) / (double)(k - 1))) : NAN;
}

/* The range where the gap opens (first layer reaching 10% of the largest
 * gap) and widens (up to the first reaching 90%). */
static void gap_range(const double *gap, size_t L, size_t *lo, size_t *hi) {
    double mx = 0;
    for (size_t l = 0; l < L; l++) mx = gap[l] > mx ? gap[l] : mx;
    *lo = *hi = 0;
    if (!(mx > 0)) return;
    size_t a = 0;
    while (a < L && gap[a] < 0.1 * mx) a++;
    size_t b = a;
    while (b < L && gap[b] < 0.9 * mx) b++;
    *lo = a;
    *hi = b < L ? b : L - 1;
}

typedef struct stage_cb {
    const wd_layers_params *p;
    const char             *stage;
} stage_cb;

static void on_item(void *user, size_t done, size_t total) {
    stage_cb *s = user;
    if (s->p->progress) s->p->progress(s->p->user, s->stage, done, total);
}

/* Multiplies the attention and MLP weights of layers lo..hi by f, in place;
 * with ck, puts back their values from the checkpoint instead (exactly:
 * dividing by f again would drift). */
static wd_status scale_range(wd_model *m, const wd_checkpoint *ck, size_t lo, size_t hi, float f) {
    char pre[64];
    for (size_t i = 0; i < wd_model_n_tensors(m); i++) {
        wd_model_tensor t;
        if (wd_model_tensor_at(m, i, &t) || t.is_norm) continue;
        for (size_t l = lo; l <= hi; l++) {
            int n = snprintf(pre, sizeof pre, "model.layers.%zu.", l);
            if (strncmp(t.name, pre, (size_t)n) != 0) continue;
            if (!strstr(t.name, ".self_attn.") && !strstr(t.name, ".mlp.")) continue;
            if (ck) {
                wd_status rc = wd_checkpoint_read_f32(ck, t.name, t.data, t.rows * t.cols);
                if (rc) return rc;
            } else {
                for (size_t k = 0; k < t.rows * t.cols; k++) t.data[k] *= f;
            }
        }
    }
    return WD_OK;
}

static wd_status refine(wd__probe *pb, const char *model, const wd_layers_params *p, wd_layers_result *r) {
    wd__prompts pr = {0};
    wd_checkpoint *ck = NULL;
    wd_status rc = wd__prompts_read(p->overrefusal, p->n_overrefusal, &pr, NULL);
    if (!rc) rc = wd_checkpoint_open(model, &ck);
    if (!rc && (rc = wd_model_make_writable(pb->m))) wd__fail(rc, "%s", wd_model_last_error(pb->m));
    if (rc) {
        wd_checkpoint_free(ck);
        wd__prompts_free(&pr);
        return rc;
    }
    size_t L = r->n_layer;
    /* the range and each boundary moved by one, deduplicated */
    long cand[5][2] = {{(long)r->lo, (long)r->hi},           {(long)r->lo - 1, (long)r->hi},
                       {(long)r->lo + 1, (long)r->hi},       {(long)r->lo, (long)r->hi - 1},
                       {(long)r->lo, (long)r->hi + 1}};
    r->trials = calloc(5, sizeof *r->trials);
    if (!r->trials) {
        wd_checkpoint_free(ck);
        wd__prompts_free(&pr);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    stage_cb cb = {p, "over-refusal, unscaled"};
    rc = wd__probe_refusals(pb, &pr, p->max_tokens, &r->base_over_refusal, on_item, &cb, NULL);
    double best = -INFINITY;
    char stage[96];
    for (int c = 0; c < 5 && !rc; c++) {
        long lo = cand[c][0], hi = cand[c][1];
        if (lo < 0 || hi >= (long)L || lo > hi) continue;
        bool dup = false;
        for (size_t k = 0; k < r->n_trials; k++) dup |= r->trials[k].lo == (size_t)lo && r->trials[k].hi == (size_t)hi;
        if (dup) continue;
        snprintf(stage, sizeof stage, "over-refusal, layers %ld-%ld x %g", lo, hi, p->scale);
        cb.stage = stage;
        scale_range(pb->m, NULL, (size_t)lo, (size_t)hi, p->scale);
        wd_layers_trial *t = &r->trials[r->n_trials++];
        t->lo = (size_t)lo;
        t->hi = (size_t)hi;
        rc = wd__probe_refusals(pb, &pr, p->max_tokens, &t->over_refusal, on_item, &cb, NULL);
        wd_status rs = scale_range(pb->m, ck, (size_t)lo, (size_t)hi, 1.0f);
        if (!rc) rc = rs;
        if (!rc && t->over_refusal > best) best = t->over_refusal, r->ref_lo = t->lo, r->ref_hi = t->hi;
    }
    r->refined = !rc;
    wd_checkpoint_free(ck);
    wd__prompts_free(&pr);
    return rc;
}

wd_status wd_layers_run(const char *model, const wd_layers_params *params, wd_layers_result *out) {
    wd_layers_params p = params ? *params : wd_layers_params_default();
    *out = (wd_layers_result){0};
    if (!model || !p.harmful || !p.benign)
        return wd__fail(WD_ERR_INVALID_ARG, "layers: a model and both the harmful and benign prompts are needed");
    if (p.n_pairs == 0 || !(p.scale > 0)) return wd__fail(WD_ERR_INVALID_ARG, "layers: n_pairs and scale must be positive");
    wd__prompts h = {0}, b = {0};
    wd__probe pb = {0};
    float *sh = NULL, *sb = NULL;
    wd_status rc = wd__prompts_read(p.harmful, p.n_prompts, &h, NULL);
    if (!rc) rc = wd__prompts_read(p.benign, p.n_prompts, &b, NULL);
    if (!rc) rc = wd__probe_open(&pb, model, p.n_threads, 0, NULL);
    if (rc) goto done;
    size_t L = wd_model_n_layer(pb.m), C = wd_model_n_embd(pb.m), L1 = L + 1;
    out->n_layer = L;
    double **arr[] = {&out->nn, &out->mm, &out->nm, &out->gap, &out->nn_sd, &out->mm_sd, &out->nm_sd};
    for (size_t i = 0; i < sizeof arr / sizeof *arr; i++)
        if (!(*arr[i] = calloc(L, sizeof(double)))) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    sh = malloc(h.n * L1 * C * sizeof *sh);
    sb = malloc(b.n * L1 * C * sizeof *sb);
    if (!sh || !sb) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (rc) goto done;
    stage_cb cb = {&p, "harmful states"};
    if ((rc = wd__probe_states(&pb, &h, sh, on_item, &cb, NULL))) goto done;
    cb.stage = "benign states";
    if ((rc = wd__probe_states(&pb, &b, sb, on_item, &cb, NULL))) goto done;
    uint64_t rng = p.seed;
    for (size_t l = 0; l < L; l++) { /* layer l's output is the stream entering l + 1 */
        pairs(sb, b.n, sb, b.n, true, l + 1, L1, C, p.n_pairs, &rng, &out->nn[l], &out->nn_sd[l]);
        pairs(sh, h.n, sh, h.n, true, l + 1, L1, C, p.n_pairs, &rng, &out->mm[l], &out->mm_sd[l]);
        pairs(sb, b.n, sh, h.n, false, l + 1, L1, C, p.n_pairs, &rng, &out->nm[l], &out->nm_sd[l]);
        out->gap[l] = (out->nn[l] + out->mm[l]) / 2 - out->nm[l];
    }
    gap_range(out->gap, L, &out->lo, &out->hi);
    out->ref_lo = out->lo;
    out->ref_hi = out->hi;
    if (p.overrefusal) rc = refine(&pb, model, &p, out);
done:
    free(sh);
    free(sb);
    wd__probe_close(&pb);
    wd__prompts_free(&h);
    wd__prompts_free(&b);
    if (rc) wd_layers_result_free(out);
    return rc;
}

wd_status wd_layers_svg(const wd_layers_result *r, const char *title, char **svg) {
    size_t L = r->n_layer;
    double *x = malloc((L ? L : 1) * sizeof *x);
    if (!x) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t l = 0; l < L; l++) x[l] = (double)l;
    wd__series s[] = {{"N-N (benign pairs)", r->nn}, {"M-M (harmful pairs)", r->mm}, {"N-M (mixed pairs)", r->nm},
                      {"gap (NN+MM)/2 - NM", r->gap}};
    char band[64];
    size_t lo = r->refined ? r->ref_lo : r->lo, hi = r->refined ? r->ref_hi : r->hi;
    snprintf(band, sizeof band, "safety layers %zu-%zu", lo, hi);
    wd__chart c = {title ? title : "hidden-state similarity by layer", "layer", "mean cosine similarity", x, L, s, 4,
                   0, 0, (double)lo - 0.5, (double)hi + 0.5, band};
    wd_status rc = wd__plot_lines(&c, svg);
    free(x);
    return rc;
}
