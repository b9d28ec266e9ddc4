/*
 * weights/steer.c - refusal and toxic directions in the residual stream
 * (warden/weights.h "Refusal and toxic directions"): extraction at every
 * layer (difference of means, or a logistic probe), selection of the layer
 * by ablating and adding each candidate while the model answers, and the
 * direction file. Ablation written into the weights is orthogonalize.c's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "weights/probe.h"
#include "weights/steer.h"
#include "warden/safetensors.h"
#include "warden/weights.h"

wd_steer_params wd_steer_params_default(void) {
    return (wd_steer_params){.n_train = 128, .n_val = 32, .max_tokens = 32, .layer = -1};
}

void wd_steer_result_free(wd_steer_result *r) {
    if (!r) return;
    free(r->dirs);
    free(r->proj[0]);
    free(r->proj[1]);
    free(r->layers);
    *r = (wd_steer_result){0};
}

static void progress(const wd_steer_params *p, const char *stage, size_t done, size_t total) {
    if (p->progress) p->progress(p->user, stage, done, total);
}

typedef struct stage_cb {
    const wd_steer_params *p;
    const char            *stage;
} stage_cb;

static void on_item(void *user, size_t done, size_t total) {
    stage_cb *s = user;
    progress(s->p, s->stage, done, total);
}

/* The L2-regularised logistic probe on (n, C) rows x with labels y:
 * full-batch gradient descent on centred rows, the step 1 / (E|x|^2 / 4 +
 * lambda) (the loss's curvature bound), 500 steps. w (C) out. */
static wd_status logistic_probe(const float *x, const int *y, size_t n, size_t C, float *w) {
    double *mu = calloc(C, sizeof *mu), *g = calloc(C, sizeof *g), *wd = calloc(C, sizeof *wd);
    if (!mu || !g || !wd) {
        free(mu), free(g), free(wd);
        return wd__fail(WD_ERR_NOMEM, "steer: out of memory");
    }
    double sq = 0, lambda = 1e-3, b = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < C; c++) mu[c] += x[i * C + c] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < C; c++) sq += pow(x[i * C + c] - mu[c], 2) / (double)n;
    double lr = 1.0 / (sq / 4.0 + lambda);
    for (int it = 0; it < 500; it++) {
        double gb = 0;
        memset(g, 0, C * sizeof *g);
        for (size_t i = 0; i < n; i++) {
            double z = b;
            for (size_t c = 0; c < C; c++) z += wd[c] * (x[i * C + c] - mu[c]);
            double e = 1.0 / (1.0 + exp(-z)) - y[i];
            gb += e / (double)n;
            for (size_t c = 0; c < C; c++) g[c] += e * (x[i * C + c] - mu[c]) / (double)n;
        }
        for (size_t c = 0; c < C; c++) wd[c] -= lr * (g[c] + lambda * wd[c]);
        b -= lr * gb;
    }
    for (size_t c = 0; c < C; c++) w[c] = (float)wd[c];
    free(mu), free(g), free(wd);
    return WD_OK;
}

wd_status wd__steer_alloc(wd_steer_result *r, size_t L, size_t C, wd_direction_method method) {
    *r = (wd_steer_result){.n_layer = L, .n_embd = C, .method = method};
    r->dirs = calloc((L + 1) * C, sizeof *r->dirs);
    r->proj[0] = calloc(L + 1, sizeof *r->proj[0]);
    r->proj[1] = calloc(L + 1, sizeof *r->proj[1]);
    r->layers = calloc(L + 1, sizeof *r->layers);
    if (!r->dirs || !r->proj[0] || !r->proj[1] || !r->layers) {
        wd_steer_result_free(r);
        return wd__fail(WD_ERR_NOMEM, "steer: out of memory");
    }
    for (size_t l = 0; l <= L; l++) r->layers[l].ablate_refusal = r->layers[l].add_refusal = r->layers[l].kl = NAN;
    r->base_refusal = r->base_benign_refusal = NAN;
    return WD_OK;
}

wd_status wd__steer_directions(wd_steer_result *r, const float *h, size_t nh, const float *bs, size_t nb) {
    size_t L1 = r->n_layer + 1, C = r->n_embd;
    bool probe = r->method == WD_DIRECTION_METHOD_PROBE;
    float *x = probe ? malloc((nh + nb) * C * sizeof *x) : NULL, *w = probe ? malloc(C * sizeof *w) : NULL;
    int *y = probe ? malloc((nh + nb) * sizeof *y) : NULL;
    wd_status rc = probe && (!x || !y || !w) ? wd__fail(WD_ERR_NOMEM, "steer: out of memory") : WD_OK;
    for (size_t l = 0; l < L1 && !rc; l++) {
        float *d = r->dirs + l * C;
        for (size_t c = 0; c < C; c++) {
            double sh = 0, sb = 0;
            for (size_t i = 0; i < nh; i++) sh += h[(i * L1 + l) * C + c];
            for (size_t i = 0; i < nb; i++) sb += bs[(i * L1 + l) * C + c];
            d[c] = (float)(sh / (double)nh - sb / (double)nb);
        }
        if (probe) {
            for (size_t i = 0; i < nh; i++) memcpy(x + i * C, h + (i * L1 + l) * C, C * sizeof *x), y[i] = 1;
            for (size_t i = 0; i < nb; i++)
                memcpy(x + (nh + i) * C, bs + (i * L1 + l) * C, C * sizeof *x), y[nh + i] = 0;
            if ((rc = logistic_probe(x, y, nh + nb, C, w))) break;
            double ww = 0, wm = 0;
            for (size_t c = 0; c < C; c++) ww += (double)w[c] * w[c], wm += (double)w[c] * d[c];
            double s = ww > 0 ? wm / ww : 0; /* |w^ . r| / |w| along w */
            for (size_t c = 0; c < C; c++) d[c] = (float)(s * w[c]);
        }
        double nn = 0;
        for (size_t c = 0; c < C; c++) nn += (double)d[c] * d[c];
        nn = sqrt(nn);
        r->layers[l].norm = nn;
        /* separation: projections on r^ */
        double mh = 0, mb = 0, vh = 0, vb = 0;
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < nh + nb; i++) {
                const float *s = i < nh ? h + (i * L1 + l) * C : bs + ((i - nh) * L1 + l) * C;
                double pr = 0;
                for (size_t c = 0; c < C; c++) pr += (double)s[c] * d[c];
                pr = nn > 0 ? pr / nn : 0;
                if (pass == 0) {
                    if (i < nh) mh += pr / (double)nh;
                    else mb += pr / (double)nb;
                } else if (i < nh) {
                    vh += (pr - mh) * (pr - mh);
                } else {
                    vb += (pr - mb) * (pr - mb);
                }
            }
        r->proj[0][l] = (float)mh;
        r->proj[1][l] = (float)mb;
        double sd = sqrt((vh + vb) / (double)(nh + nb > 2 ? nh + nb - 2 : 1));
        r->layers[l].separation = sd > 0 ? (mh - mb) / sd : 0;
    }
    free(x);
    free(y);
    free(w);
    return rc;
}

/* The first n prompts of a (or, when a holds no more than skip, its first
 * n again), as a view. */
static wd__prompts slice(const wd__prompts *a, size_t skip, size_t n) {
    if (a->n <= skip) skip = 0;
    size_t k = a->n - skip < n ? a->n - skip : n;
    return (wd__prompts){a->text + skip, k};
}

static wd_status select_layer(wd__probe *pb, wd_steer_result *r, const wd__prompts *vh,
                              const wd__prompts *vb, const wd_steer_params *p) {
    size_t L = r->n_layer, C = r->n_embd;
    stage_cb cb = {p, "baseline"};
    wd_status rc = wd__probe_refusals(pb, vh, p->max_tokens, &r->base_refusal, on_item, &cb, NULL);
    if (!rc) rc = wd__probe_refusals(pb, vb, p->max_tokens, &r->base_benign_refusal, on_item, &cb, NULL);
    size_t hi = (size_t)ceil(0.8 * (double)L);
    if (hi > L) hi = L;
    if (hi < 2) hi = 2 < L ? 2 : L; /* at least layer 1 */
    size_t V = wd_model_n_vocab(pb->m);
    float *p0 = rc ? NULL : malloc(vb->n * V * sizeof *p0), *p1 = rc ? NULL : malloc(vb->n * V * sizeof *p1);
    if (!rc && (!p0 || !p1)) rc = wd__fail(WD_ERR_NOMEM, "steer: out of memory");
    if (!rc) rc = wd__probe_next(pb, vb, p0, NULL);
    double best[3] = {INFINITY, INFINITY, INFINITY}; /* both filters, addition only, none */
    size_t pick[3] = {1, 1, 1};
    char stage[32];
    for (size_t l = 1; l < hi && !rc; l++) {
        if (r->layers[l].norm <= 0) continue;
        snprintf(stage, sizeof stage, "ablate %zu", l);
        cb.stage = stage;
        wd_steering s = {.ablate = r->dirs + l * C, .n_ablate = 1, .ablate_to = r->affine ? &r->proj[1][l] : NULL};
        if ((rc = wd_model_set_steering(pb->m, &s))) break;
        rc = wd__probe_refusals(pb, vh, p->max_tokens, &r->layers[l].ablate_refusal, on_item, &cb, NULL);
        if (!rc) rc = wd__probe_next(pb, vb, p1, NULL);
        if (rc) break;
        double kl = 0;
        for (size_t i = 0; i < vb->n * V; i++)
            if (p0[i] > 0) kl += p0[i] * (log(p0[i]) - log(fmax(p1[i], 1e-30)));
        r->layers[l].kl = vb->n ? kl / (double)vb->n : NAN;
        snprintf(stage, sizeof stage, "add %zu", l);
        s = (wd_steering){.add = r->dirs + l * C, .add_scale = 1.0f, .add_layer = l};
        if ((rc = wd_model_set_steering(pb->m, &s))) break;
        rc = wd__probe_refusals(pb, vb, p->max_tokens, &r->layers[l].add_refusal, on_item, &cb, NULL);
        double a = r->layers[l].ablate_refusal;
        bool induces = r->layers[l].add_refusal > r->base_benign_refusal;
        if (induces && r->layers[l].kl <= 0.1 && a < best[0]) best[0] = a, pick[0] = l;
        if (induces && a < best[1]) best[1] = a, pick[1] = l;
        if (a < best[2]) best[2] = a, pick[2] = l;
    }
    wd_model_set_steering(pb->m, NULL);
    free(p0), free(p1);
    if (!rc) r->layer = isfinite(best[0]) ? pick[0] : isfinite(best[1]) ? pick[1] : pick[2];
    return rc;
}

wd_status wd_steer_extract(const char *model, const wd_steer_params *params, wd_steer_result *out) {
    wd_steer_params p = params ? *params : wd_steer_params_default();
    *out = (wd_steer_result){0};
    if (!model || !p.harmful || !p.benign)
        return wd__fail(WD_ERR_INVALID_ARG, "steer: a model and both the harmful and benign prompts are needed");
    if (p.n_train == 0) return wd__fail(WD_ERR_INVALID_ARG, "steer: n_train must be at least 1");
    wd__prompts h = {0}, b = {0};
    wd__probe pb = {0};
    float *sh = NULL, *sb = NULL;
    wd_status rc = wd__prompts_read(p.harmful, p.n_train + p.n_val, &h, NULL);
    if (!rc) rc = wd__prompts_read(p.benign, p.n_train + p.n_val, &b, NULL);
    if (!rc) rc = wd__probe_open(&pb, model, p.n_threads, 0, NULL);
    if (rc) goto done;
    size_t L = wd_model_n_layer(pb.m), C = wd_model_n_embd(pb.m);
    if (p.layer >= 0 && (size_t)p.layer > L) {
        rc = wd__fail(WD_ERR_INVALID_ARG, "steer: layer %d is outside 0..%zu", p.layer, L);
        goto done;
    }
    wd__prompts th = slice(&h, 0, p.n_train), tb = slice(&b, 0, p.n_train);
    if ((rc = wd__steer_alloc(out, L, C, p.method))) goto done;
    out->affine = p.affine;
    sh = malloc(th.n * (L + 1) * C * sizeof *sh);
    sb = malloc(tb.n * (L + 1) * C * sizeof *sb);
    if (!sh || !sb) {
        rc = wd__fail(WD_ERR_NOMEM, "steer: out of memory");
        goto done;
    }
    stage_cb cb = {&p, "harmful states"};
    if ((rc = wd__probe_states(&pb, &th, sh, on_item, &cb, NULL))) goto done;
    cb.stage = "benign states";
    if ((rc = wd__probe_states(&pb, &tb, sb, on_item, &cb, NULL))) goto done;
    if ((rc = wd__steer_directions(out, sh, th.n, sb, tb.n))) goto done;
    out->n_train[0] = th.n;
    out->n_train[1] = tb.n;
    if (p.layer >= 0) {
        out->layer = (size_t)p.layer;
    } else {
        wd__prompts vh = slice(&h, p.n_train, p.n_val), vb = slice(&b, p.n_train, p.n_val);
        out->n_val[0] = vh.n;
        out->n_val[1] = vb.n;
        rc = select_layer(&pb, out, &vh, &vb, &p);
    }
done:
    free(sh);
    free(sb);
    wd__probe_close(&pb);
    wd__prompts_free(&h);
    wd__prompts_free(&b);
    if (rc) wd_steer_result_free(out);
    return rc;
}

/* ==== the direction file =================================================== */

static const char *method_name(wd_direction_method m) {
    return m == WD_DIRECTION_METHOD_PROBE ? "probe" : "mean";
}

wd_status wd_steer_save(const wd_steer_result *r, const char *model, const char *path) {
    wd_safetensors_writer *w = NULL;
    wd_status rc = wd_safetensors_writer_new(&w);
    if (rc) return wd__fail(rc, "out of memory");
    int64_t shape[2] = {(int64_t)r->n_layer + 1, (int64_t)r->n_embd}, pshape[1] = {shape[0]};
    char num[32];
    cJSON *sel = cJSON_CreateArray();
    for (size_t l = 0; l <= r->n_layer; l++) {
        cJSON *o = cJSON_CreateObject();
        const wd_steer_layer *y = &r->layers[l];
        cJSON_AddNumberToObject(o, "layer", (double)l);
        cJSON_AddNumberToObject(o, "norm", y->norm);
        cJSON_AddNumberToObject(o, "separation", y->separation);
        if (isfinite(y->ablate_refusal)) cJSON_AddNumberToObject(o, "ablate_refusal", y->ablate_refusal);
        if (isfinite(y->add_refusal)) cJSON_AddNumberToObject(o, "add_refusal", y->add_refusal);
        if (isfinite(y->kl)) cJSON_AddNumberToObject(o, "kl", y->kl);
        cJSON_AddItemToArray(sel, o);
    }
    char *sj = cJSON_PrintUnformatted(sel);
    cJSON_Delete(sel);
    snprintf(num, sizeof num, "%zu", r->layer);
    rc = wd_safetensors_writer_add(w, "directions", WD_DTYPE_F32, shape, 2, r->dirs);
    if (!rc) rc = wd_safetensors_writer_add(w, "harmful_proj", WD_DTYPE_F32, pshape, 1, r->proj[0]);
    if (!rc) rc = wd_safetensors_writer_add(w, "benign_proj", WD_DTYPE_F32, pshape, 1, r->proj[1]);
    if (!rc) rc = wd_safetensors_writer_add_metadata(w, "ablation", r->affine ? "affine" : "zero");
    if (!rc) rc = wd_safetensors_writer_add_metadata(w, "format", "warden-directions");
    if (!rc) rc = wd_safetensors_writer_add_metadata(w, "layer", num);
    if (!rc) rc = wd_safetensors_writer_add_metadata(w, "method", method_name(r->method));
    if (!rc && model) rc = wd_safetensors_writer_add_metadata(w, "model", model);
    if (!rc && sj) rc = wd_safetensors_writer_add_metadata(w, "selection", sj);
    if (!rc && (rc = wd_safetensors_writer_write(w, path)))
        wd__fail(rc, "%s", wd_safetensors_writer_last_error(w));
    free(sj);
    wd_safetensors_writer_free(w);
    return rc;
}

/* The direction file open as st (named path in messages) into *out. */
static wd_status load_from(wd_safetensors *st, const char *path, wd_steer_result *out) {
    wd_status rc = WD_OK;
    const char *fmt = wd_safetensors_metadata_get(st, "format");
    const char *layer = wd_safetensors_metadata_get(st, "layer");
    const char *method = wd_safetensors_metadata_get(st, "method");
    const wd_tensor_info *t = wd_safetensors_find(st, "directions");
    const wd_tensor_info *ph = wd_safetensors_find(st, "harmful_proj"), *pb = wd_safetensors_find(st, "benign_proj");
    char *end = NULL;
    long lv = layer ? strtol(layer, &end, 10) : -1;
    if (!fmt || strcmp(fmt, "warden-directions") != 0) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: not a direction file (metadata 'format' is not 'warden-directions')", path);
    } else if (!t || t->ndim != 2 || t->shape[0] < 2 || t->shape[1] < 1) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: tensor 'directions' missing or not (layers+1, hidden)", path);
    } else if (!ph || !pb || ph->ndim != 1 || pb->ndim != 1 || ph->shape[0] != t->shape[0] ||
               pb->shape[0] != t->shape[0]) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: tensors 'harmful_proj' and 'benign_proj' missing or not (layers+1)", path);
    } else if (!layer || *end || lv < 0 || lv >= t->shape[0]) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: metadata 'layer' is missing or outside 0..%lld", path,
                      (long long)t->shape[0] - 1);
    } else {
        rc = wd__steer_alloc(out, (size_t)t->shape[0] - 1, (size_t)t->shape[1],
                             method && !strcmp(method, "probe") ? WD_DIRECTION_METHOD_PROBE : WD_DIRECTION_METHOD_MEAN);
        out->layer = (size_t)lv;
        const char *abl = wd_safetensors_metadata_get(st, "ablation");
        out->affine = abl && !strcmp(abl, "affine");
        if (!rc) rc = wd_tensor_read_f32(t, out->dirs, t->n_elem);
        if (!rc) rc = wd_tensor_read_f32(ph, out->proj[0], out->n_layer + 1);
        if (!rc) rc = wd_tensor_read_f32(pb, out->proj[1], out->n_layer + 1);
        for (size_t l = 0; !rc && l <= out->n_layer; l++) {
            double nn = 0;
            for (size_t c = 0; c < out->n_embd; c++) nn += pow(out->dirs[l * out->n_embd + c], 2);
            out->layers[l] = (wd_steer_layer){NAN, NAN, NAN, sqrt(nn), NAN};
        }
    }
    if (rc) wd_steer_result_free(out);
    return rc;
}

wd_status wd_steer_load(const char *path, wd_steer_result *out) {
    *out = (wd_steer_result){0};
    wd_safetensors *st = NULL;
    wd_status rc = wd_safetensors_open(path, &st);
    if (rc) return rc;
    rc = load_from(st, path, out);
    wd_safetensors_free(st);
    return rc;
}

wd_status wd_steer_load_memory(const void *data, size_t size, const char *name, wd_steer_result *out) {
    *out = (wd_steer_result){0};
    wd_safetensors *st = NULL;
    wd_status rc = wd_safetensors_open_memory(data, size, name, &st);
    if (rc) return rc;
    rc = load_from(st, name, out);
    wd_safetensors_free(st);
    return rc;
}

/* The direction file's vector for layer (< 0: the file's), checked against
 * a model of L layers and width C. */
wd_status wd__steer_vector(const char *path, int layer, size_t L, size_t C, wd_steer_result *r,
                           size_t *which) {
    wd_status rc = wd_steer_load(path, r);
    if (rc) return rc;
    if (r->n_layer != L || r->n_embd != C) {
        rc = wd__fail(WD_ERR_INVALID_ARG,
                      "%s: directions for %zu layers of width %zu; the model has %zu of width %zu",
                      path, r->n_layer, r->n_embd, L, C);
    } else if (layer >= 0 && (size_t)layer > L) {
        rc = wd__fail(WD_ERR_INVALID_ARG, "%s: layer %d is outside 0..%zu", path, layer, L);
    } else {
        *which = layer >= 0 ? (size_t)layer : r->layer;
        if (r->layers[*which].norm <= 0)
            rc = wd__fail(WD_ERR_INVALID_ARG, "%s: the direction of layer %zu is zero", path, *which);
    }
    if (rc) wd_steer_result_free(r);
    return rc;
}

wd_status wd_steer_apply(wd_model *m, const char *path, float alpha, int layer) {
    wd_steer_result r;
    size_t l = 0, L = wd_model_n_layer(m);
    wd_status rc = wd__steer_vector(path, layer, L, wd_model_n_embd(m), &r, &l);
    if (rc) return rc;
    if (l >= L) {
        wd_steer_result_free(&r);
        return wd__fail(WD_ERR_INVALID_ARG,
                        "%s: layer %zu is after the last layer; addition needs a layer below %zu", path, l, L);
    }
    wd_steering s = {.add = r.dirs + l * r.n_embd, .add_scale = alpha, .add_layer = l};
    rc = wd_model_set_steering(m, &s);
    if (rc) wd__fail(rc, "%s", wd_model_last_error(m));
    wd_steer_result_free(&r);
    return rc;
}
