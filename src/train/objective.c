/*
 * train/objective.c - SFT, reward-model and DPO losses over the trainable
 * decoder (see objective.h).
 */
#include "train/objective.h"

#include "base/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

wd_status wd__objective_init(wd__objective *o, wd__tdec *d, wd_train_objective kind,
                             size_t max_rows, size_t max_T) {
    memset(o, 0, sizeof *o);
    o->kind = kind, o->d = d;
    o->max_rows = max_rows;
    o->max_T = max_T;
    size_t N = o->max_rows * max_T;
    o->ids = malloc(N * sizeof *o->ids);
    o->tg = malloc(N * sizeof *o->tg);
    o->logp = malloc(N * sizeof *o->logp);
    o->dlogp = malloc(N * sizeof *o->dlogp);
    o->dxnf = malloc(N * d->C * sizeof *o->dxnf);
    if (!o->ids || !o->tg || !o->logp || !o->dlogp || !o->dxnf)
        return wd__err_set(&d->err, WD_ERR_NOMEM, "out of memory");
    return WD_OK;
}

wd_status wd__objective_init_encoder(wd__objective *o, wd__tenc *e, size_t max_T) {
    memset(o, 0, sizeof *o);
    o->kind = WD_TRAIN_OBJECTIVE_REWARD, o->e = e, o->max_T = max_T;
    return WD_OK;
}

void wd__objective_free(wd__objective *o) {
    free(o->ids), free(o->tg), free(o->logp), free(o->dlogp), free(o->dxnf), free(o->ref);
    free(o->delta), free(o->gdelta);
    memset(o, 0, sizeof *o);
}

static const wd__seq *row_seq(const wd__objective *o, const wd__example *ex, const size_t *idx,
                              size_t k, size_t r) {
    if (o->kind == WD_TRAIN_OBJECTIVE_SFT && !o->away) return &ex[idx[r]].a;
    return r < k ? &ex[idx[r]].a : &ex[idx[r - k]].b;
}

/* Rows, padded to the longest; returns T. */
static size_t build(wd__objective *o, const wd__example *ex, const size_t *idx, size_t k,
                    size_t rows, size_t *tokens) {
    size_t T = 1;
    for (size_t r = 0; r < rows; r++) {
        size_t n = row_seq(o, ex, idx, k, r)->n;
        T = n > T ? n : T;
    }
    if (T > o->max_T) T = o->max_T;
    *tokens = 0;
    for (size_t r = 0; r < rows; r++) {
        const wd__seq *s = row_seq(o, ex, idx, k, r);
        size_t n = s->n < T ? s->n : T;
        *tokens += n;
        for (size_t t = 0; t < T; t++) {
            o->ids[r * T + t] = t < n ? s->ids[t] : o->pad;
            bool counts = t + 1 < n && t + 1 >= s->n_prompt;
            o->tg[r * T + t] = counts ? s->ids[t + 1] : WD_IGNORE_INDEX;
        }
    }
    return T;
}

static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Sum of logp over row r's targets. */
static double row_sum(const wd__objective *o, size_t r, size_t T) {
    double s = 0.0;
    for (size_t t = 0; t < T; t++)
        if (o->tg[r * T + t] != WD_IGNORE_INDEX) s += o->logp[r * T + t];
    return s;
}

static wd_status run_lm(wd__objective *o, size_t rows, size_t T) {
    wd_status rc = wd__tdec_forward(o->d, o->ids, rows, T, NULL);
    if (!rc) rc = wd__tdec_logp(o->d, o->tg, o->logp);
    return rc;
}

wd_status wd__objective_adversarial(wd__objective *o, int steps, double eps, uint64_t seed) {
    wd__tdec *d = o->d;
    size_t N = o->max_rows * o->max_T * d->C;
    o->delta = malloc(N * sizeof *o->delta);
    o->gdelta = malloc(N * sizeof *o->gdelta);
    if (!o->delta || !o->gdelta) return wd__err_set(&d->err, WD_ERR_NOMEM, "out of memory");
    double sum = 0.0;
    for (size_t v = 0; v < d->V; v++) {
        double s2 = 0.0;
        for (size_t c = 0; c < d->C; c++) s2 += (double)d->embd->w[v * d->C + c] * d->embd->w[v * d->C + c];
        sum += sqrt(s2);
    }
    o->embd_norm = sum / (double)d->V;
    o->adv_steps = steps, o->adv_eps = eps, o->adv_seed = seed;
    return WD_OK;
}

/* Projects row r's perturbation onto the L2 ball of radius rad. */
static void project(float *x, size_t C, double rad) {
    double n2 = 0.0;
    for (size_t c = 0; c < C; c++) n2 += (double)x[c] * x[c];
    if (n2 <= rad * rad) return;
    float s = (float)(rad / sqrt(n2));
    for (size_t c = 0; c < C; c++) x[c] *= s;
}

/* PGD on the prompt positions' embeddings, maximising the SFT loss;
 * leaves the perturbation in o->delta. prompt[r] = row r's prompt length. */
/* SFT's dloss/dlogp, scaled by weight: toward the response (rows < k with
 * away, every row without), -1/n0 per target; away from the harmful
 * completion (rows >= k), the unlikelihood -log(1 - p) per target, mean
 * over its n1 targets times away: away * p / (1 - p) / n1. */
static void sft_dlogp(wd__objective *o, size_t rows, size_t T, size_t k, size_t n0, size_t n1,
                      double weight) {
    for (size_t i = 0; i < rows * T; i++) {
        bool far = o->away && i / T >= k;
        if (o->tg[i] == WD_IGNORE_INDEX) {
            o->dlogp[i] = 0.0f;
        } else if (!far) {
            o->dlogp[i] = (float)(-weight / (double)n0);
        } else {
            double pr = exp((double)o->logp[i]);
            if (pr > 1.0 - 1e-6) pr = 1.0 - 1e-6;
            o->dlogp[i] = (float)(weight * o->away * pr / (1.0 - pr) / (double)n1);
        }
    }
}

static wd_status attack(wd__objective *o, size_t rows, size_t T, const size_t *prompt, size_t k,
                        size_t n0, size_t n1) {
    wd__tdec *d = o->d;
    size_t C = d->C;
    double rad = o->adv_eps * o->embd_norm, step = 2.5 * rad / o->adv_steps;
    uint64_t s = o->adv_seed;
    o->adv_seed = wd__mix64(o->adv_seed + 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < T; t++) {
            float *x = o->delta + (r * T + t) * C;
            bool on = t < prompt[r];
            for (size_t c = 0; c < C; c++) x[c] = on ? (float)((2.0 * wd__rng_unit(&s) - 1.0) * rad) : 0.0f;
            if (on) project(x, C, rad);
        }
    for (int it = 0; it < o->adv_steps; it++) {
        wd_status rc = wd__tdec_forward(d, o->ids, rows, T, o->delta);
        if (!rc) rc = wd__tdec_logp(d, o->tg, o->logp);
        if (!rc) sft_dlogp(o, rows, T, k, n0, n1, 1.0);
        d->input_grad_only = true;
        if (!rc) rc = wd__tdec_backward_logp(d, o->tg, o->dlogp, o->gdelta);
        d->input_grad_only = false;
        if (rc) return rc;
        for (size_t r = 0; r < rows; r++)
            for (size_t t = 0; t < prompt[r] && t < T; t++) {
                float *x = o->delta + (r * T + t) * C;
                const float *g = o->gdelta + (r * T + t) * C;
                for (size_t c = 0; c < C; c++) x[c] += (float)step * (float)((g[c] > 0) - (g[c] < 0));
                project(x, C, rad);
            }
    }
    return WD_OK;
}

/* SFT (rows = k examples, or 2k with the away rows after them); the loss
 * reported is the response's cross-entropy. */
static wd_status sft(wd__objective *o, size_t rows, size_t T, size_t k, double weight,
                     wd__obj_stats *st, const size_t *prompt) {
    size_t n0 = 0, n1 = 0;
    for (size_t i = 0; i < rows * T; i++)
        if (o->tg[i] != WD_IGNORE_INDEX) (o->away && i / T >= k) ? n1++ : n0++;
    wd_status rc = WD_OK;
    bool adv = o->adv_steps > 0 && weight > 0 && n0 > 0;
    if (adv) rc = attack(o, rows, T, prompt, k, n0, n1);
    if (!rc) rc = wd__tdec_forward(o->d, o->ids, rows, T, adv ? o->delta : NULL);
    if (!rc) rc = wd__tdec_logp(o->d, o->tg, o->logp);
    if (rc) return rc;
    double sum = 0.0;
    for (size_t i = 0; i < rows * T; i++)
        if (o->tg[i] != WD_IGNORE_INDEX && !(o->away && i / T >= k)) sum -= o->logp[i];
    st->loss_sum += sum, st->n += n0;
    if (weight <= 0 || n0 == 0) return WD_OK;
    sft_dlogp(o, rows, T, k, n0, n1, weight);
    return wd__tdec_backward_logp(o->d, o->tg, o->dlogp, NULL);
}

static wd_status dpo(wd__objective *o, const size_t *idx, size_t k, size_t T, double weight,
                     wd__obj_stats *st) {
    wd_status rc = run_lm(o, 2 * k, T);
    if (rc) return rc;
    for (size_t i = 0; i < 2 * k * T; i++) o->dlogp[i] = 0.0f;
    for (size_t i = 0; i < k; i++) {
        double c = row_sum(o, i, T), r = row_sum(o, k + i, T);
        double h = (c - o->ref[2 * idx[i]]) - (r - o->ref[2 * idx[i] + 1]);
        double loss, dh;
        if (o->ipo) {
            double e = h - 1.0 / (2.0 * o->beta);
            loss = e * e, dh = 2.0 * e;
        } else {
            loss = softplus(-o->beta * h), dh = -o->beta * sigmoid(-o->beta * h);
        }
        st->loss_sum += loss, st->n++;
        st->n_right += h > 0;
        st->margin_sum += o->beta * h;
        float gc = (float)(weight * dh / (double)k);
        for (size_t t = 0; t < T; t++) {
            if (o->tg[i * T + t] != WD_IGNORE_INDEX) o->dlogp[i * T + t] = gc;
            if (o->tg[(k + i) * T + t] != WD_IGNORE_INDEX) o->dlogp[(k + i) * T + t] = -gc;
        }
    }
    if (weight <= 0) return WD_OK;
    return wd__tdec_backward_logp(o->d, o->tg, o->dlogp, NULL);
}

static wd_status reward(wd__objective *o, const wd__example *ex, const size_t *idx, size_t k,
                        size_t T, double weight, wd__obj_stats *st) {
    wd__tdec *d = o->d;
    size_t C = d->C;
    wd_status rc = wd__tdec_forward(d, o->ids, 2 * k, T, NULL);
    if (rc) return rc;
    float *w = o->score->w;
    double r[2];
    size_t last[2];
    memset(o->dxnf, 0, 2 * k * T * C * sizeof(float));
    for (size_t i = 0; i < k; i++) {
        for (int s = 0; s < 2; s++) {
            const wd__seq *q = s ? &ex[idx[i]].b : &ex[idx[i]].a;
            size_t row = s ? k + i : i, n = q->n < T ? q->n : T;
            last[s] = row * T + n - 1;
            const float *h = d->xnf + last[s] * C;
            double acc = 0.0;
            for (size_t c = 0; c < C; c++) acc += (double)w[c] * h[c];
            r[s] = acc;
        }
        double z = r[0] - r[1] - ex[idx[i]].margin;
        st->loss_sum += softplus(-z), st->n++;
        st->n_right += r[0] > r[1];
        st->margin_sum += r[0] - r[1];
        double dz = -sigmoid(-z) * weight / (double)k; /* dL/dr_chosen; -dz for rejected */
        for (int s = 0; s < 2; s++) {
            float g = (float)(s ? -dz : dz);
            const float *h = d->xnf + last[s] * C;
            float *dx = o->dxnf + last[s] * C;
            for (size_t c = 0; c < C; c++) {
                dx[c] += g * w[c];
                if (o->score->g) o->score->g[c] += g * h[c];
            }
        }
    }
    if (weight <= 0) return WD_OK;
    return wd__tdec_backward_hidden(d, o->dxnf, NULL);
}

/* r = the encoder's score of one sequence (forward only). */
static wd_status enc_score(wd__tenc *e, const wd__seq *q, size_t max_T, float *r) {
    size_t n = q->n < max_T ? q->n : max_T;
    wd_status rc = wd__tenc_forward(e, q->ids, 1, n);
    if (!rc) wd__tenc_logits(e, r);
    return rc;
}

/* The ranking loss on an encoder, pair by pair: both scores, then each
 * sequence again with its backward (one set of activations at a time). */
static wd_status enc_reward(wd__objective *o, const wd__example *ex, const size_t *idx, size_t k,
                            double weight, wd__obj_stats *st) {
    wd__tenc *e = o->e;
    for (size_t i = 0; i < k; i++) {
        const wd__example *x = &ex[idx[i]];
        float r[2];
        wd_status rc = enc_score(e, &x->a, o->max_T, &r[0]);
        if (!rc) rc = enc_score(e, &x->b, o->max_T, &r[1]);
        if (rc) return rc;
        double z = (double)r[0] - r[1] - x->margin;
        st->loss_sum += softplus(-z), st->n++;
        st->n_right += r[0] > r[1];
        st->margin_sum += (double)r[0] - r[1];
        st->tokens += x->a.n + x->b.n;
        if (weight <= 0) continue;
        float dz = (float)(-sigmoid(-z) * weight / (double)k);
        for (int s = 0; s < 2 && !rc; s++) {
            float dr = s ? -dz : dz, tmp;
            rc = enc_score(e, s ? &x->b : &x->a, o->max_T, &tmp);
            if (!rc) rc = wd__tenc_backward_logits(e, &dr);
        }
        if (rc) return rc;
    }
    return WD_OK;
}

wd_status wd__objective_run(wd__objective *o, const wd__example *ex, const size_t *idx,
                            size_t k, double weight, wd__obj_stats *st) {
    if (o->e) return enc_reward(o, ex, idx, k, weight, st);
    size_t rows = o->kind == WD_TRAIN_OBJECTIVE_SFT && !o->away ? k : 2 * k, tokens = 0;
    size_t T = build(o, ex, idx, k, rows, &tokens);
    st->tokens += tokens;
    switch (o->kind) {
    case WD_TRAIN_OBJECTIVE_SFT: {
        size_t prompt[512];
        if (rows > 512) return wd__err_set(&o->d->err, WD_ERR_RANGE, "training: more than 512 rows");
        for (size_t r = 0; r < rows; r++) prompt[r] = row_seq(o, ex, idx, k, r)->n_prompt;
        return sft(o, rows, T, k, weight, st, prompt);
    }
    case WD_TRAIN_OBJECTIVE_DPO: return dpo(o, idx, k, T, weight, st);
    case WD_TRAIN_OBJECTIVE_REWARD: return reward(o, ex, idx, k, T, weight, st);
    }
    return WD_ERR_INVALID_ARG;
}

wd_status wd__objective_reference(wd__objective *o, const wd__examples *ex, size_t bs) {
    free(o->ref);
    o->ref = malloc(2 * ex->n * sizeof *o->ref);
    if (!o->ref) return wd__err_set(&o->d->err, WD_ERR_NOMEM, "out of memory");
    size_t *idx = malloc(bs * sizeof *idx);
    if (!idx) return wd__err_set(&o->d->err, WD_ERR_NOMEM, "out of memory");
    wd_status rc = WD_OK;
    for (size_t i = 0; i < ex->n && !rc; i += bs) {
        size_t k = ex->n - i < bs ? ex->n - i : bs, tokens;
        for (size_t j = 0; j < k; j++) idx[j] = i + j;
        size_t T = build(o, ex->v, idx, k, 2 * k, &tokens);
        if ((rc = run_lm(o, 2 * k, T))) break;
        for (size_t j = 0; j < k; j++) {
            o->ref[2 * (i + j)] = (float)row_sum(o, j, T);
            o->ref[2 * (i + j) + 1] = (float)row_sum(o, k + j, T);
        }
    }
    free(idx);
    return rc;
}
