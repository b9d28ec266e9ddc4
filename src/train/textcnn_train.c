/*
 * train/textcnn_train.c - trains the convolutional form of the built-in
 * classifier (guard/textcnn.h) on the same data, weights and losses as the
 * linear form (textclf_train.c: wd__textclf_plan, wd__textclf_example_loss).
 *
 * Forward, one example of T tokens (at most max_tokens):
 *     X = [0 x pad_l; e_1; ...; e_T; 0 x pad_r]      e_t = E[w_t] + mean_k E[g_tk] + sum_c E[c_tc]
 *     m_f = max(0, max_t a_tf),  a_tf = cb_f + X[t..t+width) . conv[:, f]
 *     z_l = bias_l + sum_f (m_f mask_f) head_fl
 * Backward, with dz = d loss / d z (the max sends each filter's gradient to
 * its one winning window, a_f = arg max):
 *     dbias += dz;  dhead_fl += m_f mask_f dz_l;  dm_f = mask_f sum_l head_fl dz_l
 *     for f with a_f >= 0:  dcb_f += dm_f;  dconv[:, f] += X[a_f..] dm_f;
 *                           dX[a_f..] += conv[:, f] dm_f
 *     dE[w_t] += dX_t;  dE[g_tk] += dX_t / n_t;  dE[c_tc] += dX_t
 * so a backward pass costs F x width x D, against T times that forward.
 *
 * The loop: Adam (lr p->lr) on mini-batches of p->batch, the embedding rows
 * updated lazily (only rows a batch touched, as the linear trainer does),
 * L2 p->l2 added to the gradients, dropout p->dropout on the pooled
 * features, early stopping on the validation loss. Deterministic: one
 * thread, seeded draws, sums in a fixed order.
 */
#include "train/textcnn_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/rng.h"

/* ==== the parameters ======================================================= */

wd_status wd__cnn_net_alloc(wd__cnn_net *n, const wd__textcnn_shape *sh, size_t L) {
    memset(n, 0, sizeof *n);
    n->sh = *sh;
    n->L = L;
    const size_t V = (size_t)1 << sh->bits, D = (size_t)sh->dim, F = (size_t)sh->filters,
                 K = (size_t)sh->width * D;
    n->emb = calloc(V * D, sizeof *n->emb);
    n->conv = calloc(K * F + F + F * L + L, sizeof *n->conv);
    if (!n->emb || !n->conv) {
        wd__cnn_net_free(n);
        return wd__fail(WD_ERR_NOMEM, "train-guard: out of memory for the network");
    }
    n->cb = n->conv + K * F;
    n->head = n->cb + F;
    n->bias = n->head + F * L;
    return WD_OK;
}

void wd__cnn_net_free(wd__cnn_net *n) {
    free(n->emb);
    free(n->conv);
    memset(n, 0, sizeof *n);
}

/* Number of floats of the dense part (conv, cb, head, bias: one run). */
static size_t dense_len(const wd__cnn_net *n) {
    size_t D = (size_t)n->sh.dim, F = (size_t)n->sh.filters, K = (size_t)n->sh.width * D;
    return K * F + F + F * n->L + n->L;
}

wd_status wd__cnn_scratch_alloc(wd__cnn_scratch *s, const wd__textcnn_shape *sh, size_t max_tokens) {
    memset(s, 0, sizeof *s);
    s->max_tokens = max_tokens;
    const size_t D = (size_t)sh->dim, F = (size_t)sh->filters, rows = max_tokens + (size_t)sh->width - 1;
    s->cap_bk = max_tokens * 8 + 64;
    s->bk = malloc(s->cap_bk * sizeof *s->bk);
    s->tok_off = malloc((max_tokens + 1) * sizeof *s->tok_off);
    s->X = malloc(2 * rows * D * sizeof *s->X);
    s->m = malloc(2 * F * sizeof *s->m);
    s->arg = malloc(F * sizeof *s->arg);
    if (!s->bk || !s->tok_off || !s->X || !s->m || !s->arg) {
        wd__cnn_scratch_free(s);
        return wd__fail(WD_ERR_NOMEM, "train-guard: out of memory");
    }
    s->dX = s->X + rows * D;
    s->md = s->m + F;
    return WD_OK;
}

void wd__cnn_scratch_free(wd__cnn_scratch *s) {
    free(s->bk);
    free(s->tok_off);
    free(s->X);
    free(s->m);
    free(s->arg);
    memset(s, 0, sizeof *s);
}

/* ==== one example ========================================================== */

/* 1 / the number of n-gram buckets among a token's b[1..n) (its concepts'
 * are added whole), or 0 when it has none. */
static float grams_inv(const uint32_t *b, size_t n) {
    size_t ng = 0;
    for (size_t k = 1; k < n; k++) ng += !(b[k] & WD_TEXTCNN_CONCEPT);
    return ng ? 1.0f / (float)ng : 0.0f;
}

static void collect(void *ctx, const uint32_t *b, size_t n) {
    wd__cnn_scratch *s = ctx;
    if (s->T == s->max_tokens || s->oom) return;
    if (s->n_bk + n > s->cap_bk) {
        size_t cap = (s->n_bk + n) * 2;
        uint32_t *nb = realloc(s->bk, cap * sizeof *nb);
        if (!nb) {
            s->oom = 1;
            return;
        }
        s->bk = nb;
        s->cap_bk = cap;
    }
    memcpy(s->bk + s->n_bk, b, n * sizeof *b);
    s->n_bk += n;
    s->tok_off[++s->T] = (uint32_t)s->n_bk;
}

wd_status wd__cnn_forward(const wd__cnn_net *net, wd__cnn_scratch *s, const char *text, size_t len,
                          const float *mask, float *z) {
    const wd__textcnn_shape *sh = &net->sh;
    const size_t D = (size_t)sh->dim, F = (size_t)sh->filters, L = net->L, W = (size_t)sh->width;
    const size_t pad_l = (W - 1) / 2, pad_r = W - 1 - pad_l;
    s->T = 0;
    s->n_bk = 0;
    s->oom = 0;
    s->tok_off[0] = 0;
    s->net = net;
    wd_status st = WD_OK;
    wd__textcnn_tokens(sh, text, len, collect, s, NULL, &st);
    if (s->oom) return wd__fail(WD_ERR_NOMEM, "train-guard: out of memory");
    const size_t T = s->T;
    memset(s->X, 0, pad_l * D * sizeof *s->X);
    for (size_t t = 0; t < T; t++) {
        float *e = s->X + (pad_l + t) * D;
        const uint32_t *b = s->bk + s->tok_off[t];
        size_t n = s->tok_off[t + 1] - s->tok_off[t];
        memcpy(e, net->emb + (size_t)b[0] * D, D * sizeof *e);
        if (n > 1) {
            float inv = grams_inv(b, n);
            for (size_t k = 1; k < n; k++) {
                const float *row = net->emb + (size_t)(b[k] & ~WD_TEXTCNN_CONCEPT) * D;
                float wk = b[k] & WD_TEXTCNN_CONCEPT ? 1.0f : inv;
                for (size_t d = 0; d < D; d++) e[d] += wk * row[d];
            }
        }
    }
    memset(s->X + (pad_l + T) * D, 0, pad_r * D * sizeof *s->X);
    wd__textcnn_conv_max(sh, net->conv, net->cb, s->X, T, s->m, s->arg);
    for (size_t l = 0; l < L; l++) z[l] = net->bias[l];
    for (size_t f = 0; f < F; f++) {
        float mf = s->md[f] = mask ? s->m[f] * mask[f] : s->m[f];
        if (mf == 0) continue;
        const float *h = net->head + f * L;
        for (size_t l = 0; l < L; l++) z[l] += mf * h[l];
    }
    return WD_OK;
}

void wd__cnn_backward(const wd__cnn_net *net, wd__cnn_scratch *s, const float *mask, const float *dz,
                      wd__cnn_net *g, void (*touch)(void *ctx, uint32_t row), void *ctx) {
    const wd__textcnn_shape *sh = &net->sh;
    const size_t D = (size_t)sh->dim, F = (size_t)sh->filters, L = net->L, W = (size_t)sh->width,
                 K = W * D, T = s->T, pad_l = (W - 1) / 2;
    for (size_t l = 0; l < L; l++) g->bias[l] += dz[l];
    memset(s->dX, 0, (T + W - 1) * D * sizeof *s->dX);
    int any = 0;
    for (size_t f = 0; f < F; f++) {
        const float *h = net->head + f * L;
        float *gh = g->head + f * L;
        float mf = s->md[f], dm = 0;
        for (size_t l = 0; l < L; l++) {
            gh[l] += mf * dz[l];
            dm += h[l] * dz[l];
        }
        if (s->arg[f] < 0) continue;
        dm = mask ? dm * mask[f] : dm;
        if (dm == 0) continue;
        any = 1;
        g->cb[f] += dm;
        const float *x = s->X + (size_t)s->arg[f] * D;
        float *dx = s->dX + (size_t)s->arg[f] * D;
        for (size_t j = 0; j < K; j++) {
            g->conv[j * F + f] += x[j] * dm;
            dx[j] += net->conv[j * F + f] * dm;
        }
    }
    if (!any) return;
    for (size_t t = 0; t < T; t++) {
        const float *dx = s->dX + (pad_l + t) * D;
        int nz = 0;
        for (size_t d = 0; d < D && !nz; d++) nz = dx[d] != 0;
        if (!nz) continue;
        const uint32_t *b = s->bk + s->tok_off[t];
        size_t n = s->tok_off[t + 1] - s->tok_off[t];
        float *ge = g->emb + (size_t)b[0] * D;
        for (size_t d = 0; d < D; d++) ge[d] += dx[d];
        touch(ctx, b[0]);
        if (n > 1) {
            float inv = grams_inv(b, n);
            for (size_t k = 1; k < n; k++) {
                uint32_t r = b[k] & ~WD_TEXTCNN_CONCEPT;
                float wk = b[k] & WD_TEXTCNN_CONCEPT ? 1.0f : inv;
                ge = g->emb + (size_t)r * D;
                for (size_t d = 0; d < D; d++) ge[d] += wk * dx[d];
                touch(ctx, r);
            }
        }
    }
}

/* ==== the loop ============================================================= */

typedef struct touched {
    uint32_t *stamp, *rows, id;
    size_t    n;
} touched;

static void touch_row(void *ctx, uint32_t row) {
    touched *t = ctx;
    if (t->stamp[row] == t->id) return;
    t->stamp[row] = t->id;
    t->rows[t->n++] = row;
}

static float unif(uint64_t *rng, float a) { return (float)((2.0 * wd__rng_unit(rng) - 1.0) * a); }

/* Validation loss (no dropout, no L2) and harmful F1 at z >= 0. */
static wd_status val_loss(const wd_textclf_dataset *d, const wd__cnn_net *net, wd__cnn_scratch *s,
                          const size_t *va, size_t n_va, const float *ex_w, const float *pos_w,
                          float cat_weight, double *loss, double *f1) {
    float z[WD_TEXTCLF_N_LABELS], dz[WD_TEXTCLF_N_LABELS];
    size_t tp = 0, fp = 0, fn = 0;
    double l = 0;
    for (size_t r = 0; r < n_va; r++) {
        const wd__textclf_example *x = &d->ex[va[r]];
        wd_status st = wd__cnn_forward(net, s, x->norm, x->norm_len, NULL, z);
        if (st) return st;
        wd__textclf_example_loss(x, ex_w[va[r]], pos_w, cat_weight, z, 1.0, dz, &l);
        int pred = z[0] >= 0, y = (int)(x->pos & 1);
        tp += pred && y;
        fp += pred && !y;
        fn += !pred && y;
    }
    *loss = n_va ? l / (double)n_va : 0;
    *f1 = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
    return WD_OK;
}

wd_status wd__textcnn_train(const wd_textclf_dataset *d, const wd_textclf_train_params *p, wd_textclf **out) {
    *out = NULL;
    const size_t L = WD_TEXTCLF_N_LABELS;
    wd__textcnn_shape sh = {.bits = p->cfg.hash_bits, .dim = p->cnn_dim, .filters = p->cnn_filters,
                            .width = p->cnn_width, .char_min = p->cfg.char_min, .char_max = p->cfg.char_max,
                            .concepts = p->cfg.concepts};
    const char *why = wd__textcnn_shape_check(&sh);
    if (why) return wd__fail(WD_ERR_INVALID_ARG, "train-guard: cnn: %s", why);
    if (p->cnn_max_tokens < 1 || p->dropout < 0 || p->dropout >= 1)
        return wd__fail(WD_ERR_INVALID_ARG, "train-guard: cnn: max tokens %d / dropout %g invalid",
                        p->cnn_max_tokens, (double)p->dropout);
    const size_t V = (size_t)1 << sh.bits, D = (size_t)sh.dim, F = (size_t)sh.filters,
                 K = (size_t)sh.width * D;
    wd_status rc = WD_OK;
    wd__cnn_net net = {0}, best = {0}, g = {0}, m1 = {0}, m2 = {0};
    wd__cnn_scratch s = {0};
    size_t *tr = malloc(d->n * sizeof *tr), *va = malloc(d->n * sizeof *va);
    float *ex_w = calloc(d->n, sizeof *ex_w), pos_w[WD_TEXTCLF_N_LABELS];
    float *mask = malloc(F * sizeof *mask);
    touched tch = {.stamp = calloc(V, sizeof(uint32_t)), .rows = malloc(V * sizeof(uint32_t))};
    if (!tr || !va || !ex_w || !mask || !tch.stamp || !tch.rows) {
        rc = wd__fail(WD_ERR_NOMEM, "train-guard: out of memory");
        goto done;
    }
    if ((rc = wd__cnn_net_alloc(&net, &sh, L)) || (rc = wd__cnn_net_alloc(&best, &sh, L)) ||
        (rc = wd__cnn_net_alloc(&g, &sh, L)) || (rc = wd__cnn_net_alloc(&m1, &sh, L)) ||
        (rc = wd__cnn_net_alloc(&m2, &sh, L)) ||
        (rc = wd__cnn_scratch_alloc(&s, &sh, (size_t)p->cnn_max_tokens)))
        goto done;
    size_t n_tr = 0, n_va = 0;
    uint32_t known_any = 0;
    if ((rc = wd__textclf_plan(d, p, tr, &n_tr, va, &n_va, ex_w, pos_w, &known_any))) goto done;

    /* initialisation: uniform, Glorot-scaled for the dense layers */
    uint64_t rng = p->seed * 0x9E3779B97F4A7C15ull + 0x434e4e;
    for (size_t i = 0; i < V * D; i++) net.emb[i] = unif(&rng, 0.01f);
    float ac = sqrtf(6.0f / (float)(K + F)), ah = sqrtf(6.0f / (float)(F + L));
    for (size_t i = 0; i < K * F; i++) net.conv[i] = unif(&rng, ac);
    for (size_t f = 0; f < F; f++) net.cb[f] = 0.01f;
    for (size_t i = 0; i < F * L; i++) net.head[i] = unif(&rng, ah);
    WD_INFO("train-guard: cnn %zu x %zu embeddings, %zu filters over %d words, dropout %.2f",
            V, D, F, sh.width, (double)p->dropout);

    const size_t nd = dense_len(&net);
    const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, keep = 1.0f - p->dropout;
    double best_loss = INFINITY;
    int since_best = 0;
    long t = 0;
    float z[WD_TEXTCLF_N_LABELS], dz[WD_TEXTCLF_N_LABELS];
    for (int epoch = 1; epoch <= p->epochs; epoch++) {
        for (size_t i = n_tr; i > 1; i--) {
            size_t j = wd__rng_below(&rng, i), tmp = tr[i - 1];
            tr[i - 1] = tr[j];
            tr[j] = tmp;
        }
        double tr_loss = 0;
        for (size_t b0 = 0; b0 < n_tr; b0 += (size_t)p->batch) {
            size_t nb = n_tr - b0 < (size_t)p->batch ? n_tr - b0 : (size_t)p->batch;
            double inv_n = 1.0 / (double)nb;
            tch.id++;
            tch.n = 0;
            memset(g.conv, 0, nd * sizeof *g.conv);
            for (size_t r = 0; r < nb; r++) {
                const wd__textclf_example *x = &d->ex[tr[b0 + r]];
                for (size_t f = 0; f < F; f++) mask[f] = wd__rng_unit(&rng) < keep ? 1.0f / keep : 0.0f;
                if ((rc = wd__cnn_forward(&net, &s, x->norm, x->norm_len, p->dropout > 0 ? mask : NULL, z)))
                    goto done;
                double l = 0;
                wd__textclf_example_loss(x, ex_w[tr[b0 + r]], pos_w, p->cat_weight, z, inv_n, dz, &l);
                tr_loss += l;
                wd__cnn_backward(&net, &s, p->dropout > 0 ? mask : NULL, dz, &g, touch_row, &tch);
            }
            t++;
            float c1 = 1.0f - powf(beta1, (float)t), c2 = 1.0f - powf(beta2, (float)t);
            float step = p->lr * sqrtf(c2) / c1;
            for (size_t i = 0; i < nd; i++) {
                float gi = g.conv[i] + p->l2 * net.conv[i];
                m1.conv[i] = beta1 * m1.conv[i] + (1 - beta1) * gi;
                m2.conv[i] = beta2 * m2.conv[i] + (1 - beta2) * gi * gi;
                net.conv[i] -= step * m1.conv[i] / (sqrtf(m2.conv[i]) + eps);
            }
            for (size_t k = 0; k < tch.n; k++) {
                size_t base = (size_t)tch.rows[k] * D;
                for (size_t i = base; i < base + D; i++) {
                    float gi = g.emb[i] + p->l2 * net.emb[i];
                    m1.emb[i] = beta1 * m1.emb[i] + (1 - beta1) * gi;
                    m2.emb[i] = beta2 * m2.emb[i] + (1 - beta2) * gi * gi;
                    net.emb[i] -= step * m1.emb[i] / (sqrtf(m2.emb[i]) + eps);
                    g.emb[i] = 0;
                }
            }
        }
        double vl, f1;
        if ((rc = val_loss(d, &net, &s, va, n_va, ex_w, pos_w, p->cat_weight, &vl, &f1))) goto done;
        WD_INFO("train-guard: cnn epoch %d: train loss %.4f, validation loss %.4f, validation F1 %.4f",
                epoch, tr_loss / (double)n_tr, vl, f1);
        if (vl < best_loss) {
            best_loss = vl;
            since_best = 0;
            memcpy(best.emb, net.emb, V * D * sizeof *net.emb);
            memcpy(best.conv, net.conv, nd * sizeof *net.conv);
        } else if (++since_best >= p->patience) {
            WD_INFO("train-guard: early stop after epoch %d (best validation loss %.4f)", epoch, best_loss);
            break;
        }
    }
    /* labels no training example speaks to are not written (as the linear
     * trainer: only the trailing harmful_response) */
    size_t L_out = L;
    while (L_out > WD_TEXTCLF_LABEL_PI + 1 && !(known_any >> (L_out - 1) & 1)) L_out--;
    if (L_out < L)
        for (size_t f = 0; f < F; f++) memmove(best.head + f * L_out, best.head + f * L, L_out * sizeof *best.head);
    rc = wd__textclf_build_cnn(&p->cfg, &sh, L_out, wd__textclf_label_names, best.emb, best.conv, best.cb,
                               best.head, best.bias, 1, out);
done:
    wd__cnn_net_free(&net);
    wd__cnn_net_free(&best);
    wd__cnn_net_free(&g);
    wd__cnn_net_free(&m1);
    wd__cnn_net_free(&m2);
    wd__cnn_scratch_free(&s);
    free(tr);
    free(va);
    free(ex_w);
    free(mask);
    free(tch.stamp);
    free(tch.rows);
    return rc;
}
