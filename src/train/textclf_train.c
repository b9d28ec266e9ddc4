/*
 * train/textclf_train.c - trains and evaluates the built-in classifier.
 *
 * Model: z = b + W^T x with x the sparse feature vector of textclf.c.
 * Loss, per example e, averaged over the batch, plus l2/2 |W|^2:
 *   - "harmful" (c = 1) and "prompt_injection" (c = cat_weight), when known:
 *         ex_w[e] * c * (y ? pos_w[l] : 1) * BCE(z_l, y_l)
 *   - hazards S1..S14, for harmful examples whose source names them:
 *         ex_w[e] * cat_weight * CE(softmax(z_1..z_14), uniform over them)
 *     (the model predicts p(S_k) = p(harmful) * softmax_k, textclf.c).
 *   - ex_w caps each source at source_cap examples' worth of weight, so the
 *     generator or one big jailbreak set cannot drown the others;
 *   - pos_w balances positives and negatives of each label.
 * Optimiser: Adam on mini-batches with lazy (touched rows only) updates and
 * L2 on the touched rows, the usual treatment of sparse linear models.
 * Early stopping keeps the weights of the epoch with the lowest validation
 * loss. The final float weights are quantised to int8 (wd__textclf_build);
 * evaluation always scores the quantised model that ships.
 */
#include "train/textclf_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/rng.h"

wd_textclf_train_params wd_textclf_train_params_default(void) {
    wd_textclf_train_params p = {
        .cfg = wd_textclf_cfg_default(),
        .seed = 1,
        .epochs = 30,
        .batch = 32,
        .lr = 0.02f,
        .l2 = 2e-4f,
        .cat_weight = 2.0f,
        .patience = 4,
        .source_cap = 3000,
        .gen_cap = 3000,
        .harm_pos_w = 0.5f,
        .sample_capped = 0,
        .arch = WD_TEXTCLF_ARCH_LINEAR,
        .cnn_dim = 64,
        .cnn_filters = 128,
        .cnn_width = 3,
        .cnn_max_tokens = 256,
        .dropout = 0.5f,
    };
    return p;
}

wd_textclf_train_params wd_textclf_train_params_cnn(void) {
    wd_textclf_train_params p = wd_textclf_train_params_default();
    p.arch = WD_TEXTCLF_ARCH_CNN;
    p.lr = 0.002f;
    p.sample_capped = 1;
    return p;
}

/* ==== features =========================================================== */

typedef struct feat_buf {
    wd__textclf_feat *f;
    size_t           n, cap;
    int              oom;
} feat_buf;

static void collect(void *vctx, uint32_t bucket, int sign) {
    feat_buf *b = vctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        wd__textclf_feat *f = realloc(b->f, cap * sizeof *f);
        if (!f) {
            b->oom = 1;
            return;
        }
        b->f = f;
        b->cap = cap;
    }
    b->f[b->n].bucket = bucket;
    b->f[b->n].sign = sign;
    b->n++;
}

static int cmp_feat(const void *a, const void *b) {
    const wd__textclf_feat *x = a, *y = b;
    return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

void wd__textclf_feats_free(wd__textclf_feats *f) {
    if (!f) return;
    free(f->off);
    free(f->idx);
    free(f->val);
    memset(f, 0, sizeof *f);
}

wd_status wd__textclf_featurize(const wd_textclf_cfg *cfg, const wd_textclf_dataset *d, wd__textclf_feats *f) {
    memset(f, 0, sizeof *f);
    feat_buf b = {0};
    size_t cap = 1 << 16, nnz = 0;
    f->off = malloc((d->n + 1) * sizeof *f->off);
    f->idx = malloc(cap * sizeof *f->idx);
    f->val = malloc(cap * sizeof *f->val);
    if (!f->off || !f->idx || !f->val) goto oom;
    f->n = d->n;
    for (size_t i = 0; i < d->n; i++) {
        f->off[i] = nnz;
        b.n = 0;
        size_t n_occ = wd__textclf_features(cfg, d->ex[i].norm, d->ex[i].norm_len, collect, &b);
        if (b.oom) goto oom;
        qsort(b.f, b.n, sizeof *b.f, cmp_feat);
        float inv = n_occ ? 1.0f / sqrtf((float)n_occ) : 0.0f;
        for (size_t j = 0; j < b.n;) {
            size_t k = j;
            int s = 0;
            while (k < b.n && b.f[k].bucket == b.f[j].bucket) s += b.f[k++].sign;
            if (s) {
                if (nnz == cap) {
                    cap *= 2;
                    uint32_t *ni = realloc(f->idx, cap * sizeof *ni);
                    if (ni) f->idx = ni;
                    float *nv = realloc(f->val, cap * sizeof *nv);
                    if (nv) f->val = nv;
                    if (!ni || !nv) goto oom;
                }
                f->idx[nnz] = b.f[j].bucket;
                f->val[nnz] = (float)s * inv;
                nnz++;
            }
            j = k;
        }
    }
    f->off[d->n] = nnz;
    free(b.f);
    return WD_OK;
oom:
    free(b.f);
    wd__textclf_feats_free(f);
    return wd__fail(WD_ERR_NOMEM, "train-guard: out of memory computing features");
}

/* ==== loss and gradient ================================================== */

static inline double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* Logits of example e: z (L) = b + W^T x_e. */
static void logits(const wd__textclf_feats *f, size_t e, size_t L, const float *w, const float *b,
                   float *z) {
    for (size_t l = 0; l < L; l++) z[l] = b[l];
    for (size_t j = f->off[e]; j < f->off[e + 1]; j++) {
        const float *row = w + (size_t)f->idx[j] * L;
        float v = f->val[j];
        for (size_t l = 0; l < L; l++) z[l] += v * row[l];
    }
}

void wd__textclf_example_loss(const wd__textclf_example *x, float ex_w, const float *pos_w, float cat_weight,
                              const float *z, double inv_n, float *dz, double *loss_acc) {
    const size_t L = WD_TEXTCLF_N_LABELS;
    double loss = *loss_acc;
    for (size_t l = 0; l < L; l++) {
        dz[l] = 0;
        if (l >= 1 && l <= 14) continue; /* hazards: softmax below */
        if (!(x->known >> l & 1)) continue;
        int y = (int)(x->pos >> l & 1);
        double c = ex_w * (l == 0 || l == WD_TEXTCLF_LABEL_RESPONSE ? 1.0 : cat_weight) *
                   (y ? pos_w[l] : 1.0);
        /* BCE(z, y) = softplus(z) - y z */
        loss += c * (softplus(z[l]) - (y ? z[l] : 0.0));
        double p = 1.0 / (1.0 + exp(-(double)z[l]));
        dz[l] = (float)(c * (p - y) * inv_n);
    }
    /* hazards: cross-entropy of softmax(z_1..z_14) against the uniform
     * distribution over the example's hazards, for harmful examples
     * whose source names them */
    if ((x->known & WD_TEXTCLF_HAZARD_LABELS) == WD_TEXTCLF_HAZARD_LABELS &&
        (x->pos & WD_TEXTCLF_HAZARD_LABELS)) {
        double mx = z[1], sum = 0, q[15];
        int k = 0;
        for (int l = 2; l <= 14; l++) mx = z[l] > mx ? z[l] : mx;
        for (int l = 1; l <= 14; l++) sum += q[l] = exp(z[l] - mx);
        for (int l = 1; l <= 14; l++) k += (int)(x->pos >> l & 1);
        double c = ex_w * cat_weight;
        for (int l = 1; l <= 14; l++) {
            q[l] /= sum;
            double t = (x->pos >> l & 1) ? 1.0 / k : 0.0;
            if (t > 0) loss -= c * t * log(q[l] > 1e-300 ? q[l] : 1e-300);
            dz[l] = (float)(c * (q[l] - t) * inv_n);
        }
    }
    *loss_acc = loss;
}

double wd__textclf_loss_grad(const wd_textclf_dataset *d, const wd__textclf_feats *f, const size_t *rows,
                         size_t n, const float *ex_w, const float *pos_w, float cat_weight,
                         float l2, size_t D, const float *w, const float *b, float *gw, float *gb) {
    const size_t L = WD_TEXTCLF_N_LABELS;
    double loss = 0;
    float z[WD_TEXTCLF_N_LABELS], dz[WD_TEXTCLF_N_LABELS];
    double inv_n = n ? 1.0 / (double)n : 0.0;
    for (size_t r = 0; r < n; r++) {
        size_t e = rows[r];
        const wd__textclf_example *x = &d->ex[e];
        logits(f, e, L, w, b, z);
        wd__textclf_example_loss(x, ex_w[e], pos_w, cat_weight, z, inv_n, dz, &loss);
        if (gw) {
            for (size_t j = f->off[e]; j < f->off[e + 1]; j++) {
                float *g = gw + (size_t)f->idx[j] * L;
                float v = f->val[j];
                for (size_t l = 0; l < L; l++) g[l] += v * dz[l];
            }
        }
        if (gb)
            for (size_t l = 0; l < L; l++) gb[l] += dz[l];
    }
    loss *= inv_n;
    if (l2 > 0) {
        double s = 0;
        for (size_t i = 0; i < D * L; i++) s += (double)w[i] * w[i];
        loss += 0.5 * l2 * s;
        if (gw)
            for (size_t i = 0; i < D * L; i++) gw[i] += l2 * w[i];
    }
    return loss;
}

/* ==== training =========================================================== */

/* Validation loss (no L2) and harmful-label F1 at 0.5. */
static double val_loss(const wd_textclf_dataset *d, const wd__textclf_feats *f, const size_t *rows,
                       size_t n, const float *ex_w, const float *pos_w, float cat_weight, size_t D,
                       const float *w, const float *b, double *f1) {
    size_t tp = 0, fp = 0, fn = 0;
    float z[WD_TEXTCLF_N_LABELS];
    for (size_t r = 0; r < n; r++) {
        const wd__textclf_example *x = &d->ex[rows[r]];
        logits(f, rows[r], WD_TEXTCLF_N_LABELS, w, b, z);
        int pred = z[0] >= 0, y = (int)(x->pos & 1);
        tp += pred && y;
        fp += pred && !y;
        fn += !pred && y;
    }
    *f1 = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
    return wd__textclf_loss_grad(d, f, rows, n, ex_w, pos_w, cat_weight, 0, D, w, b, NULL, NULL);
}

static wd_status train_feats(const wd_textclf_dataset *d, const wd__textclf_feats *fp,
                             const wd_textclf_train_params *p, wd_textclf **out);

void wd__textclf_source_counts(const wd_textclf_dataset *d, size_t cnt[256]) {
    memset(cnt, 0, 256 * sizeof *cnt);
    for (size_t i = 0; i < d->n; i++)
        if (d->ex[i].split <= WD_TEXTCLF_SPLIT_VAL && d->ex[i].source < 256) cnt[d->ex[i].source]++;
}

size_t wd__textclf_cap(const wd_textclf_dataset *d, const wd__textclf_example *x, const wd_textclf_train_params *p) {
    return d->sources[x->source].synthetic && !(x->pos & 1) ? p->gen_cap : p->source_cap;
}

wd_status wd_textclf_train(const wd_textclf_dataset *d, const wd_textclf_train_params *p, wd_textclf **out) {
    *out = NULL;
    if (p->arch == WD_TEXTCLF_ARCH_CNN) return wd__textcnn_train(d, p, out);
    wd__textclf_feats f = {0};
    wd_status rc = wd__textclf_featurize(&p->cfg, d, &f);
    if (rc) return rc;
    rc = train_feats(d, &f, p, out);
    wd__textclf_feats_free(&f);
    return rc;
}

wd_status wd__textclf_plan(const wd_textclf_dataset *d, const wd_textclf_train_params *p, size_t *tr,
                           size_t *n_tr_out, size_t *va, size_t *n_va_out, float *ex_w, float *pos_w,
                           uint32_t *known_out) {
    const size_t L = WD_TEXTCLF_N_LABELS;
    size_t n_tr = 0, n_va = 0;
    uint32_t known_any = 0; /* labels some training example speaks to */
    for (size_t i = 0; i < d->n; i++) {
        if (d->ex[i].split == WD_TEXTCLF_SPLIT_TRAIN) tr[n_tr++] = i;
        else if (d->ex[i].split == WD_TEXTCLF_SPLIT_VAL) va[n_va++] = i;
    }
    if (!n_tr || !n_va) {
        return wd__fail(WD_ERR_INVALID_ARG, "train-guard: empty training (%zu) or validation (%zu) split",
                        n_tr, n_va);
    }
    /* per-source caps, then per-label balance over the training split */
    {
        size_t cnt[256];
        wd__textclf_source_counts(d, cnt);
        for (size_t i = 0; i < d->n; i++) {
            size_t c = d->ex[i].source < 256 ? cnt[d->ex[i].source] : 1, cap = wd__textclf_cap(d, &d->ex[i], p);
            ex_w[i] = c > cap ? (float)cap / (float)c : 1.0f;
        }
        /* a capped source trains on a seeded sample of source_cap of its
         * examples (weight 1 each) rather than on all of them at weight
         * cap / count: the same expected weight, a fraction of the time */
        size_t k = 0;
        for (size_t r = 0; r < n_tr; r++) {
            size_t e = tr[r];
            if (p->sample_capped && ex_w[e] < 1.0f) {
                uint64_t h = wd__textclf_hash(d->ex[e].norm, d->ex[e].norm_len, p->seed ^ 0x53414d50ull);
                if ((double)(h >> 11) * 0x1.0p-53 >= ex_w[e]) continue;
                ex_w[e] = 1.0f;
            }
            tr[k++] = e;
        }
        n_tr = k;
        double wp[WD_TEXTCLF_N_LABELS] = {0}, wn[WD_TEXTCLF_N_LABELS] = {0};
        for (size_t r = 0; r < n_tr; r++) {
            const wd__textclf_example *x = &d->ex[tr[r]];
            known_any |= x->known;
            for (size_t l = 0; l < L; l++) {
                if (!(x->known >> l & 1)) continue;
                if (x->pos >> l & 1) wp[l] += ex_w[tr[r]];
                else wn[l] += ex_w[tr[r]];
            }
        }
        for (size_t l = 0; l < L; l++) {
            double ratio = wp[l] > 0 ? wn[l] / wp[l] : 1.0;
            /* harmful and harmful_response: as asked (0 = full balance);
             * rare hazards: a damped balance */
            pos_w[l] = (float)(l == 0 || l == WD_TEXTCLF_LABEL_RESPONSE ? (p->harm_pos_w > 0 ? p->harm_pos_w : ratio)
                                                                        : fmin(fmax(sqrt(ratio), 1.0), 10.0));
        }
        WD_INFO("train-guard: %zu train, %zu validation examples; harmful pos_w %.3f", n_tr, n_va,
                pos_w[0]);
    }

    *n_tr_out = n_tr;
    *n_va_out = n_va;
    *known_out = known_any;
    return WD_OK;
}

/* Trains on features computed once for d (the leave-one-source-out folds
 * share them). */
static wd_status train_feats(const wd_textclf_dataset *d, const wd__textclf_feats *fp,
                             const wd_textclf_train_params *p, wd_textclf **out) {
    *out = NULL;
    const size_t L = WD_TEXTCLF_N_LABELS, D = (size_t)1 << p->cfg.hash_bits;
    wd_status rc = WD_OK;
    const wd__textclf_feats f = *fp;
    size_t *tr = NULL, *va = NULL, *touched = NULL;
    uint32_t *stamp = NULL;
    float *w = NULL, *best_w = NULL, *gw = NULL, *m1 = NULL, *m2 = NULL, *ex_w = NULL;
    float b[WD_TEXTCLF_N_LABELS] = {0}, best_b[WD_TEXTCLF_N_LABELS] = {0}, gb[WD_TEXTCLF_N_LABELS],
          mb1[WD_TEXTCLF_N_LABELS] = {0}, mb2[WD_TEXTCLF_N_LABELS] = {0}, pos_w[WD_TEXTCLF_N_LABELS];

    tr = malloc(d->n * sizeof *tr);
    va = malloc(d->n * sizeof *va);
    ex_w = calloc(d->n, sizeof *ex_w);
    w = calloc(D * L, sizeof *w);
    best_w = calloc(D * L, sizeof *best_w);
    gw = calloc(D * L, sizeof *gw);
    m1 = calloc(D * L, sizeof *m1);
    m2 = calloc(D * L, sizeof *m2);
    stamp = calloc(D, sizeof *stamp);
    touched = malloc(D * sizeof *touched);
    if (!tr || !va || !ex_w || !w || !best_w || !gw || !m1 || !m2 || !stamp || !touched) {
        rc = wd__fail(WD_ERR_NOMEM, "train-guard: out of memory");
        goto done;
    }
    size_t n_tr = 0, n_va = 0;
    uint32_t known_any = 0; /* labels some training example speaks to */
    if ((rc = wd__textclf_plan(d, p, tr, &n_tr, va, &n_va, ex_w, pos_w, &known_any))) goto done;

    const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
    uint64_t rng = p->seed * 0x2545F4914F6CDD1Dull + 1;
    double best = INFINITY;
    int since_best = 0;
    uint32_t batch_id = 0;
    long t = 0;
    for (int epoch = 1; epoch <= p->epochs; epoch++) {
        for (size_t i = n_tr; i > 1; i--) { /* Fisher-Yates */
            size_t j = wd__rng_below(&rng, i);
            size_t tmp = tr[i - 1];
            tr[i - 1] = tr[j];
            tr[j] = tmp;
        }
        double tr_loss = 0;
        for (size_t s = 0; s < n_tr; s += (size_t)p->batch) {
            size_t nb = n_tr - s < (size_t)p->batch ? n_tr - s : (size_t)p->batch;
            batch_id++;
            size_t n_touch = 0;
            for (size_t r = 0; r < nb; r++) {
                size_t e = tr[s + r];
                for (size_t j = f.off[e]; j < f.off[e + 1]; j++) {
                    uint32_t row = f.idx[j];
                    if (stamp[row] != batch_id) {
                        stamp[row] = batch_id;
                        touched[n_touch++] = row;
                    }
                }
            }
            memset(gb, 0, sizeof gb);
            tr_loss += wd__textclf_loss_grad(d, &f, tr + s, nb, ex_w, pos_w, p->cat_weight, 0, D, w, b,
                                         gw, gb) * (double)nb;
            t++;
            float c1 = 1.0f - powf(beta1, (float)t), c2 = 1.0f - powf(beta2, (float)t);
            float step = p->lr * sqrtf(c2) / c1;
            for (size_t k = 0; k < n_touch; k++) {
                size_t base = (size_t)touched[k] * L;
                for (size_t l = 0; l < L; l++) {
                    size_t i = base + l;
                    float g = gw[i] + p->l2 * w[i];
                    m1[i] = beta1 * m1[i] + (1 - beta1) * g;
                    m2[i] = beta2 * m2[i] + (1 - beta2) * g * g;
                    w[i] -= step * m1[i] / (sqrtf(m2[i]) + eps);
                    gw[i] = 0;
                }
            }
            for (size_t l = 0; l < L; l++) {
                mb1[l] = beta1 * mb1[l] + (1 - beta1) * gb[l];
                mb2[l] = beta2 * mb2[l] + (1 - beta2) * gb[l] * gb[l];
                b[l] -= step * mb1[l] / (sqrtf(mb2[l]) + eps);
            }
        }
        double f1;
        double vl = val_loss(d, &f, va, n_va, ex_w, pos_w, p->cat_weight, D, w, b, &f1);
        WD_INFO("train-guard: epoch %d: train loss %.4f, validation loss %.4f, validation F1 %.4f",
                epoch, tr_loss / (double)n_tr, vl, f1);
        if (vl < best) {
            best = vl;
            since_best = 0;
            memcpy(best_w, w, D * L * sizeof *w);
            memcpy(best_b, b, sizeof b);
        } else if (++since_best >= p->patience) {
            WD_INFO("train-guard: early stop after epoch %d (best validation loss %.4f)", epoch, best);
            break;
        }
    }
    /* Labels no training example speaks to are not written: a model
     * trained without answers (the v1 data) has no harmful_response
     * column. Only trailing labels can be dropped so; harmful_response is
     * the last. */
    size_t L_out = L;
    while (L_out > WD_TEXTCLF_LABEL_PI + 1 && !(known_any >> (L_out - 1) & 1)) L_out--;
    if (L_out < L) {
        for (size_t r = 0; r < D; r++) memmove(best_w + r * L_out, best_w + r * L, L_out * sizeof *best_w);
    }
    rc = wd__textclf_build(&p->cfg, L_out, wd__textclf_label_names, best_w, best_b, NULL, 1, out);
done:
    free(tr);
    free(va);
    free(ex_w);
    free(w);
    free(best_w);
    free(gw);
    free(m1);
    free(m2);
    free(stamp);
    free(touched);
    return rc;
}

/* ==== evaluation ========================================================= */

int wd_textclf_scored_label(uint32_t known) {
    if (known & 1u << WD_TEXTCLF_LABEL_HARMFUL) return WD_TEXTCLF_LABEL_HARMFUL;
    if (known & WD_TEXTCLF_RESPONSE_BIT) return WD_TEXTCLF_LABEL_RESPONSE;
    return known >> WD_TEXTCLF_LABEL_PI & 1u ? WD_TEXTCLF_LABEL_PI : WD_TEXTCLF_LABEL_HARMFUL;
}

static void count(wd_textclf_report *r, const wd_textclf_dataset *d, const wd__textclf_example *x, int pred) {
    int y = (int)(x->pos >> wd_textclf_scored_label(x->known) & 1);
    if (x->source < 64) {
        wd_textclf_source_eval *s = &r->src[x->source];
        s->n++;
        s->n_pos += (size_t)y;
        s->flagged += (size_t)pred;
        s->flagged_pos += (size_t)(pred && y);
    }
    if (x->split != WD_TEXTCLF_SPLIT_HELDOUT) return;
    wd_textclf_counts *c[2] = {&r->heldout_all, d->sources[x->source].synthetic ? NULL : &r->heldout_real};
    for (int k = 0; k < 2; k++) {
        if (!c[k]) continue;
        c[k]->tp += pred && y;
        c[k]->fp += pred && !y;
        c[k]->fn += !pred && y;
        c[k]->tn += !pred && !y;
    }
}

void wd_textclf_evaluate_flags(const wd_textclf_dataset *d, const int8_t *flags, wd_textclf_report *r) {
    memset(r, 0, sizeof *r);
    r->threshold = -1;
    r->n_sources = d->n_sources < 64 ? d->n_sources : 64;
    for (size_t i = 0; i < d->n; i++)
        if (flags[i] >= 0) count(r, d, &d->ex[i], flags[i] > 0);
}

wd_status wd_textclf_evaluate(const wd_textclf *m, const wd_textclf_dataset *d, float threshold,
                           wd_textclf_report *r) {
    memset(r, 0, sizeof *r);
    r->threshold = threshold;
    r->n_sources = d->n_sources < 64 ? d->n_sources : 64;
    size_t L = wd_textclf_n_labels(m);
    if (L > WD_TEXTCLF_MAX_LABELS || wd_textclf_label_index(m, "harmful") != 0)
        return wd__fail(WD_ERR_INVALID_ARG, "evaluate: the model's first label is not 'harmful'");
    float probs[WD_TEXTCLF_MAX_LABELS];
    int resp = wd_textclf_label_index(m, "harmful_response") == WD_TEXTCLF_LABEL_RESPONSE;
    size_t n_scored = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < d->n; i++) {
        const wd__textclf_example *x = &d->ex[i];
        if (x->split != WD_TEXTCLF_SPLIT_HELDOUT && x->split != WD_TEXTCLF_SPLIT_EVAL) continue;
        wd_status rc = wd_textclf_predict(m, x->norm, x->norm_len, probs);
        if (rc) return rc;
        n_scored++;
        int lab = wd_textclf_scored_label(x->known);
        /* a model without a harmful_response head scores answers with
         * "harmful", as the guard then does */
        int pred = lab == WD_TEXTCLF_LABEL_HARMFUL || (lab == WD_TEXTCLF_LABEL_RESPONSE && !resp)
                       ? probs[0] >= threshold
                       : probs[lab] >= wd_textclf_threshold(m, (size_t)lab);
        count(r, d, x, pred);
        if (x->source < 64 && (x->known & WD_TEXTCLF_HAZARD_LABELS) == WD_TEXTCLF_HAZARD_LABELS &&
            (x->pos & WD_TEXTCLF_HAZARD_LABELS) && L >= 15) {
            size_t best = 1;
            for (size_t l = 2; l <= 14; l++)
                if (probs[l] > probs[best]) best = l;
            r->src[x->source].cat_known++;
            r->src[x->source].cat_top_ok += (x->pos >> best) & 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    r->ms_per_1k = n_scored ? ms * 1000.0 / (double)n_scored : 0;
    return WD_OK;
}

/* ==== leave-one-source-out =============================================== */

/* Request folds pair each harmful-request family with a benign family held
 * out with it (so the test set has both classes and the benign family's
 * register is unseen too); toxic-content families carry both classes; the
 * injection fold tests the injection head. The generator's benign prompts
 * are never held out (they are warden's own text, not a source). */
static const wd_textclf_fold default_folds[] = {
    {"advbench + certified-safe", {"advbench", "certified-safe"}, WD_TEXTCLF_FOLD_REQUEST},
    {"strongreject + dolly", {"strongreject", "dolly"}, WD_TEXTCLF_FOLD_REQUEST},
    {"do-not-answer + self-instruct", {"do-not-answer", "self-instruct"}, WD_TEXTCLF_FOLD_REQUEST},
    {"ailuminate + awesome-prompts", {"ailuminate", "awesome-prompts"}, WD_TEXTCLF_FOLD_REQUEST},
    {"gptfuzz-questions + certified-safe", {"gptfuzz-questions", "certified-safe"}, WD_TEXTCLF_FOLD_REQUEST},
    {"jailbreaks + awesome-prompts", {"jailbreaks", "awesome-prompts"}, WD_TEXTCLF_FOLD_REQUEST},
    {"aart + dolly", {"aart", "dolly"}, WD_TEXTCLF_FOLD_REQUEST},
    {"red-instruct + self-instruct", {"red-instruct", "self-instruct"}, WD_TEXTCLF_FOLD_REQUEST},
    {"multijail + dolly", {"multijail", "dolly"}, WD_TEXTCLF_FOLD_REQUEST},
    {"toxigen", {"toxigen"}, WD_TEXTCLF_FOLD_TOXIC},
    {"hatecheck", {"hatecheck"}, WD_TEXTCLF_FOLD_TOXIC},
    {"davidson", {"davidson"}, WD_TEXTCLF_FOLD_TOXIC},
    {"stormfront", {"stormfront"}, WD_TEXTCLF_FOLD_TOXIC},
    {"toxic-spans", {"toxic-spans"}, WD_TEXTCLF_FOLD_TOXIC},
    {"convabuse", {"convabuse"}, WD_TEXTCLF_FOLD_TOXIC},
    {"bipia", {"bipia"}, WD_TEXTCLF_FOLD_INJECTION},
};

const wd_textclf_fold *wd_textclf_default_folds(size_t *n_out) {
    *n_out = sizeof default_folds / sizeof default_folds[0];
    return default_folds;
}

static int in_fold(const wd_textclf_dataset *d, uint32_t source, const wd_textclf_fold *f) {
    const char *fam = d->sources[source].family;
    for (int k = 0; k < 3 && f->families[k]; k++)
        if (fam && !strcmp(fam, f->families[k])) return 1;
    return 0;
}

wd_status wd_textclf_loso(wd_textclf_dataset *d, const wd_textclf_train_params *p, const wd_textclf_fold *folds,
                       size_t n_folds, float *oof) {
    uint8_t *saved = malloc(d->n ? d->n : 1);
    if (!saved) return wd__fail(WD_ERR_NOMEM, "train-guard: out of memory");
    for (size_t i = 0; i < d->n; i++) saved[i] = d->ex[i].split;
    for (size_t i = 0; i < n_folds * d->n; i++) oof[i] = NAN;
    wd__textclf_feats feats = {0};
    const int cnn = p->arch == WD_TEXTCLF_ARCH_CNN;
    wd_status rc = cnn ? WD_OK : wd__textclf_featurize(&p->cfg, d, &feats);
    for (size_t k = 0; k < n_folds && !rc; k++) {
        const wd_textclf_fold *f = &folds[k];
        size_t n_test = 0;
        for (size_t i = 0; i < d->n; i++) {
            wd__textclf_example *x = &d->ex[i];
            x->split = saved[i];
            if (saved[i] == WD_TEXTCLF_SPLIT_EVAL) continue;
            if (in_fold(d, x->origin, f)) {
                /* out of training; only the fold's own (non-copied) texts
                 * are tested */
                x->split = WD_TEXTCLF_SPLIT_HELDOUT;
                if (x->origin == x->source) n_test++;
            }
        }
        if (!n_test) continue;
        WD_INFO("train-guard: leave-one-source-out fold %zu/%zu: %s (%zu test examples)", k + 1,
                n_folds, f->name, n_test);
        wd_textclf *m = NULL;
        if ((rc = cnn ? wd__textcnn_train(d, p, &m) : train_feats(d, &feats, p, &m))) break;
        int label = f->kind == WD_TEXTCLF_FOLD_INJECTION ? WD_TEXTCLF_LABEL_PI : WD_TEXTCLF_LABEL_HARMFUL;
        float probs[WD_TEXTCLF_MAX_LABELS];
        for (size_t i = 0; i < d->n && !rc; i++) {
            wd__textclf_example *x = &d->ex[i];
            if (saved[i] == WD_TEXTCLF_SPLIT_EVAL || x->origin != x->source || !in_fold(d, x->source, f))
                continue;
            if (!(x->known >> label & 1)) continue;
            if ((rc = wd_textclf_predict(m, x->norm, x->norm_len, probs))) break;
            oof[k * d->n + i] = probs[label];
        }
        wd_textclf_free(m);
    }
    if (feats.off) wd__textclf_feats_free(&feats);
    for (size_t i = 0; i < d->n; i++) d->ex[i].split = saved[i];
    free(saved);
    return rc;
}

wd_textclf_counts wd_textclf_fold_counts(const wd_textclf_dataset *d, const float *oof_k,
                                  wd_textclf_fold_kind kind, float t) {
    wd_textclf_counts c = {0};
    int label = kind == WD_TEXTCLF_FOLD_INJECTION ? WD_TEXTCLF_LABEL_PI : WD_TEXTCLF_LABEL_HARMFUL;
    for (size_t i = 0; i < d->n; i++) {
        if (isnan(oof_k[i])) continue;
        int y = (int)(d->ex[i].pos >> label & 1), pred = oof_k[i] >= t;
        c.tp += pred && y;
        c.fp += pred && !y;
        c.fn += !pred && y;
        c.tn += !pred && !y;
    }
    return c;
}
