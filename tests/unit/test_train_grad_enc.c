/*
 * tests/unit/test_train_grad_enc.c - the trainable encoder classifier's
 * gradients (train/tenc.c) for bert, roberta and distilbert:
 *   - the forward's logits equal the runtime's (wd_model_classify) row by row;
 *   - every parameter tensor's gradient against central finite differences
 *     along a random +-1 direction (mean cross-entropy over the rows'
 *     labels), with and without gradient checkpointing, and for the other
 *     activations (gelu_new, relu);
 *   - every gradient against the float64 PyTorch reference gradients of
 *     tests/fixtures/grad/{bert,roberta,distilbert} (torch_grad_ref.py):
 *     relative L2 error per tensor <= 1e-3.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "gen_checkpoint.h"
#include "model_fixture.h"
#include "testutil.h"
#include "train/tenc.h"

enum { B = 2, T = 7, BMAX = 4, TMAX = 8 };

/* no 1 (RoBERTa's pad id) and no 0 */
static const int32_t k_ids[B * T] = {2, 17, 5, 99, 42, 7, 63, 3, 90, 27, 8, 8, 41, 120};
static const int32_t k_labels[B] = {1, 0};

/* Mean cross-entropy over the rows of logits (B, NL); dlogits (B, NL) or
 * NULL receives its gradient. */
static double mean_ce(const float *logits, const int32_t *labels, size_t nb, size_t NL,
                      float *dlogits) {
    double loss = 0.0;
    for (size_t b = 0; b < nb; b++) {
        const float *row = logits + b * NL;
        double mx = -INFINITY, s = 0.0;
        for (size_t j = 0; j < NL; j++) mx = fmax(mx, row[j]);
        for (size_t j = 0; j < NL; j++) s += exp(row[j] - mx);
        loss += mx + log(s) - row[labels[b]];
        if (dlogits)
            for (size_t j = 0; j < NL; j++)
                dlogits[b * NL + j] =
                    (float)((exp(row[j] - mx) / s - (j == (size_t)labels[b])) / (double)nb);
    }
    return loss / (double)nb;
}

static double loss_of(wd__tenc *e, const int32_t *ids, const int32_t *labels, size_t nb,
                      size_t nt) {
    float lg[BMAX * 8];
    assert_int_equal(wd__tenc_forward(e, ids, nb, nt), WD_OK);
    wd__tenc_logits(e, lg);
    return mean_ce(lg, labels, nb, e->n_labels, NULL);
}

static void grads_of(wd__tenc *e, const int32_t *ids, const int32_t *labels, size_t nb,
                     size_t nt) {
    float lg[BMAX * 8], dlg[BMAX * 8];
    wd__tparams_zero_grad(&e->P);
    assert_int_equal(wd__tenc_forward(e, ids, nb, nt), WD_OK);
    wd__tenc_logits(e, lg);
    mean_ce(lg, labels, nb, e->n_labels, dlg);
    assert_int_equal(wd__tenc_backward_logits(e, dlg), WD_OK);
}

/* The sign of every ReLU input the last forward kept: the head's (DistilBERT)
 * and, with a relu activation, each layer's intermediate (with
 * checkpointing only the last layer's is kept). A finite difference is
 * only meaningful when no sign changes within the step. */
static size_t relu_signs(const wd__tenc *e, unsigned char *sig) {
    size_t n = 0, BC = e->B * e->C, NF = e->B * e->T * e->F;
    if (e->head == WD_HEAD_DISTILBERT)
        for (size_t i = 0; i < BC; i++) sig[n++] = e->hpre[i] > 0.0f;
    if (e->act == WD_ACT_RELU)
        for (size_t l = 0; l < e->L; l++)
            if (l == 0 || e->acts[l].pre != e->acts[0].pre)
                for (size_t i = 0; i < NF; i++) sig[n++] = e->acts[l].pre[i] > 0.0f;
    return n;
}

/* Every trainable tensor: g.u against (L(w+hu) - L(w-hu)) / 2h with u a
 * random +-1 direction over the tensor and h = 3e-2/sqrt(n) (as
 * test_train_grad.c), halved while a ReLU input changes sign within the
 * step. steps (P.n) keeps each tensor's step: a run with checkpointing
 * (which cannot see every layer's ReLU inputs) passes reuse = true to take
 * those of the run without. A directional derivative below 1e-3 (the key biases': softmax
 * ignores a shift of all of a row's scores, so theirs is 0) is compared
 * absolutely, against the float32 loss's rounding. Returns the worst
 * relative error. */
static double check_fd(wd__tenc *e, const char *what, double *steps, bool reuse) {
    grads_of(e, k_ids, k_labels, B, T);
    size_t max_sig = B * e->C + e->L * B * T * e->F;
    unsigned char *sig0 = malloc(max_sig), *sig = malloc(max_sig);
    loss_of(e, k_ids, k_labels, B, T); /* the backward of checkpointing rewrote the buffers */
    size_t n_sig = relu_signs(e, sig0);
    uint64_t s = 42;
    double worst = 0.0;
    const char *worst_name = "";
    int n_tiny = 0;
    for (size_t i = 0; i < e->P.n; i++) {
        wd__tparam *t = e->P.t[i];
        if (!t->trainable) continue;
        float *u = malloc(t->n * sizeof *u), *w0 = malloc(t->n * sizeof *w0);
        memcpy(w0, t->w, t->n * sizeof *w0);
        double an = 0.0, gn = 0.0;
        for (size_t k = 0; k < t->n; k++) {
            u[k] = (wd__rng_next(&s) & 1) ? 1.0f : -1.0f;
            an += (double)t->g[k] * u[k];
            gn += (double)t->g[k] * t->g[k];
        }
        double h = reuse ? steps[i] : 3e-2 / sqrt((double)t->n), lp = 0.0, lm = 0.0;
        for (int halvings = 0;; halvings++, h /= 2) {
            bool smooth = true;
            for (int side = 0; side < 2; side++) {
                float sh = (float)(side ? -h : h);
                for (size_t k = 0; k < t->n; k++) t->w[k] = w0[k] + sh * u[k];
                double l = loss_of(e, k_ids, k_labels, B, T);
                *(side ? &lm : &lp) = l;
                relu_signs(e, sig);
                smooth = smooth && memcmp(sig, sig0, n_sig) == 0;
            }
            if (smooth || reuse) break;
            if (halvings == 4)
                fail_msg("%s: %s: a ReLU input changes sign within a step of %.2g", what,
                         t->name, h);
        }
        memcpy(t->w, w0, t->n * sizeof *w0);
        steps[i] = h;
        double fd = (lp - lm) / (2.0 * h);
        double scale = fmax(fabs(an), sqrt(gn));
        /* what the float32 loss's rounding alone puts into fd */
        double noise = 8.0 * FLT_EPSILON * fmax(1.0, fabs(lp)) / h;
        if (scale < noise) {
            if (fabs(fd - an) > noise)
                fail_msg("%s: %s: directional derivative %.3g, finite difference %.3g, beyond "
                         "the rounding %.2g", what, t->name, an, fd, noise);
            n_tiny++;
        } else {
            double err = fabs(fd - an) / scale;
            if (err > worst) worst = err, worst_name = t->name;
            if (err > 3e-3)
                fail_msg("%s: %s: directional derivative %.6g, finite difference %.6g (rel "
                         "%.2g, step %.2g)", what, t->name, an, fd, err, h);
        }
        free(u);
        free(w0);
    }
    free(sig0);
    free(sig);
    print_message("%s: worst relative error %.2g (%s); %d tensors with a zero gradient "
                  "within rounding\n", what, worst, worst_name, n_tiny);
    return worst;
}

static wd_model *gen_load(const char *family, uint64_t seed, int labels, const char *patch,
                          const char *name) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/train_grad_enc_%s", WD_TEST_TMP, name);
    wdt_gen_params p = wdt_gen_params_default(family);
    p.seed = seed;
    if (labels) p.num_labels = labels;
    assert_int_equal(wdt_gen_checkpoint(&p, dir), WD_OK);
    if (patch) {
        cJSON *j = cJSON_Parse(patch);
        mf_patch_config(dir, j);
        cJSON_Delete(j);
    }
    return mf_load(dir, 1, -1);
}

static void run_case(const char *family, uint64_t seed, int labels, const char *patch,
                     const char *name) {
    wd_model *m = gen_load(family, seed, labels, patch, name);
    double steps[256];
    for (int ck = 0; ck < 2; ck++) {
        wd__tenc e;
        assert_int_equal(wd__tenc_init(&e, m), WD_OK);
        assert_int_equal(wd__tenc_plan(&e, BMAX, TMAX, ck), WD_OK);
        assert_true(e.P.n <= 256);
        char what[96];
        snprintf(what, sizeof what, "%s%s", name, ck ? " (checkpointing)" : "");
        check_fd(&e, what, steps, ck);
        wd__tenc_free(&e);
    }
    wd_model_free(m);
}

static void test_bert(void **state) {
    (void)state;
    run_case("bert", 21, 3, NULL, "bert");
}
static void test_roberta(void **state) {
    (void)state;
    run_case("roberta", 22, 0, NULL, "roberta");
}
static void test_distilbert(void **state) {
    (void)state;
    run_case("distilbert", 23, 0, NULL, "distilbert");
}
static void test_bert_gelu_tanh(void **state) {
    (void)state;
    run_case("bert", 24, 0, "{\"hidden_act\":\"gelu_new\"}", "bert_gelu_new");
}
static void test_distilbert_relu(void **state) {
    (void)state;
    run_case("distilbert", 30, 0, "{\"activation\":\"relu\"}", "distilbert_relu");
}

/* Sinusoidal DistilBERT positions are frozen (no gradient), as in
 * Hugging Face; the rest still checks. */
static void test_distilbert_sinusoidal_frozen(void **state) {
    (void)state;
    wd_model *m = gen_load("distilbert", 26, 0, "{\"sinusoidal_pos_embds\":true}", "distil_sin");
    wd__tenc e;
    assert_int_equal(wd__tenc_init(&e, m), WD_OK);
    assert_int_equal(wd__tenc_plan(&e, BMAX, TMAX, false), WD_OK);
    assert_false(e.pos->trainable);
    assert_null(e.pos->g);
    assert_int_equal(e.P.n_grad, e.P.n_values - e.pos->n);
    double steps[256];
    assert_true(e.P.n <= 256);
    check_fd(&e, "distilbert sinusoidal", steps, false);
    wd__tenc_free(&e);
    wd_model_free(m);
}

/* The forward's logits equal wd_model_classify's, row by row, and a batch
 * shorter than the plan gives the same rows. */
static void logits_case(const char *family, uint64_t seed, int labels) {
    wd_model *m = gen_load(family, seed, labels, NULL, family);
    wd__tenc e;
    assert_int_equal(wd__tenc_init(&e, m), WD_OK);
    assert_int_equal(wd__tenc_plan(&e, BMAX, TMAX, false), WD_OK);
    size_t NL = e.n_labels;
    assert_int_equal(NL, wd_model_n_labels(m));
    float lg[BMAX * 8], ref[8], probs[8];
    assert_int_equal(wd__tenc_forward(&e, k_ids, B, T), WD_OK);
    wd__tenc_logits(&e, lg);
    wd_context *ctx = NULL;
    wd_context_params cp = wd_context_params_default();
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    double worst = 0.0;
    for (size_t b = 0; b < B; b++) {
        assert_int_equal(wd_model_classify(ctx, k_ids + b * T, T, probs, ref, NL), WD_OK);
        for (size_t j = 0; j < NL; j++) worst = fmax(worst, fabs(ref[j] - lg[b * NL + j]));
    }
    print_message("%s: logits vs wd_model_classify: max |diff| %.2g\n", family, worst);
    assert_true(worst < 1e-5);
    wd_context_free(ctx);
    wd__tenc_free(&e);
    wd_model_free(m);
}

static void test_logits_match_runtime(void **state) {
    (void)state;
    logits_case("bert", 21, 3);
    logits_case("roberta", 22, 0);
    logits_case("distilbert", 23, 0);
    logits_case("xlm-roberta", 25, 3); /* roberta's maths under its own model_type */
}

/* Refusals: a decoder, a batch outside the plan, a token outside the vocabulary. */
static void test_errors(void **state) {
    (void)state;
    wd_model *dec = gen_load("llama", 3, 0, NULL, "llama_refused");
    wd__tenc e;
    assert_int_equal(wd__tenc_init(&e, dec), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.err.msg, "not an encoder"));
    wd__tenc_free(&e);
    wd_model *deb = gen_load("deberta-v2", 4, 0, NULL, "deberta_refused");
    assert_int_equal(wd__tenc_init(&e, deb), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.err.msg, "deberta-v2"));
    wd__tenc_free(&e);
    wd_model_free(deb);
    wd_model_free(dec);
    wd_model *m = gen_load("bert", 21, 3, NULL, "bert_errors");
    assert_int_equal(wd__tenc_init(&e, m), WD_OK);
    assert_int_equal(wd__tenc_plan(&e, BMAX, TMAX, false), WD_OK);
    assert_int_equal(wd__tenc_forward(&e, k_ids, BMAX + 1, 1), WD_ERR_RANGE);
    int32_t bad[2] = {2, 128};
    assert_int_equal(wd__tenc_forward(&e, bad, 1, 2), WD_ERR_RANGE);
    assert_non_null(strstr(e.err.msg, "token id"));
    wd__tenc_free(&e);
    wd_model_free(m);
}

/* ---- PyTorch reference gradients ------------------------------------------------ */

static void torch_case(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/grad/%s.json", WD_TEST_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_message("SKIP: %s is missing (tests/fixtures/grad comes from the torchgrad "
                      "branch)\n", path);
        skip();
    }
    fclose(f);
    cJSON *j = mf_load_json(path);
    const char *gen_args = cJSON_GetObjectItem(j, "gen_args")->valuestring;
    size_t nb = (size_t)cJSON_GetObjectItem(j, "B")->valueint;
    size_t nt = (size_t)cJSON_GetObjectItem(j, "T")->valueint;
    assert_true(nb <= BMAX && nt <= TMAX);
    int32_t ids[BMAX * TMAX], labels[BMAX];
    const cJSON *rows = cJSON_GetObjectItem(j, "ids"), *lab = cJSON_GetObjectItem(j, "labels");
    for (size_t b = 0; b < nb; b++) {
        labels[b] = cJSON_GetArrayItem(lab, (int)b)->valueint;
        for (size_t t = 0; t < nt; t++)
            ids[b * nt + t] = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, (int)b), (int)t)->valueint;
    }
    char tmpname[64];
    snprintf(tmpname, sizeof tmpname, "train_grad_enc_torch_%s", name);
    char *dir = mf_make(tmpname, gen_args);
    mf_patch_config(dir, cJSON_GetObjectItem(j, "config_patch"));
    wd_model *m = mf_load(dir, 1, -1);
    wd__tenc e;
    assert_int_equal(wd__tenc_init(&e, m), WD_OK);
    assert_int_equal(wd__tenc_plan(&e, BMAX, TMAX, false), WD_OK);

    float lg[BMAX * 8], dlg[BMAX * 8];
    wd__tparams_zero_grad(&e.P);
    assert_int_equal(wd__tenc_forward(&e, ids, nb, nt), WD_OK);
    wd__tenc_logits(&e, lg);
    double loss = mean_ce(lg, labels, nb, e.n_labels, dlg);
    assert_int_equal(wd__tenc_backward_logits(&e, dlg), WD_OK);
    double ref_loss = cJSON_GetObjectItem(j, "loss")->valuedouble;
    assert_true(fabs(loss - ref_loss) <= 1e-5 * fmax(1.0, fabs(ref_loss)));

    snprintf(path, sizeof path, "%s/grad/%s.safetensors", WD_TEST_FIXTURES, name);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    /* one reference gradient per parameter, and none left over */
    assert_int_equal(wd_safetensors_n_tensors(st), e.P.n);
    double worst = 0.0;
    const char *worst_name = "";
    for (size_t i = 0; i < e.P.n; i++) {
        const wd__tparam *t = e.P.t[i];
        const wd_tensor_info *ti = wd_safetensors_find(st, t->name);
        if (!ti) fail_msg("%s: no reference gradient for %s", name, t->name);
        assert_int_equal(ti->dtype, WD_DTYPE_F64);
        assert_int_equal(ti->n_elem, t->n);
        double dn = 0.0, rn = 0.0;
        for (size_t k = 0; k < t->n; k++) {
            double r;
            memcpy(&r, (const char *)ti->data + k * sizeof r, sizeof r); /* may be unaligned */
            double g = t->g ? t->g[k] : 0.0;
            dn += (g - r) * (g - r);
            rn += r * r;
        }
        /* a gradient that is zero up to rounding in float64 (the key bias:
         * softmax ignores a shift of every score) is compared absolutely */
        double err = rn > 1e-24 ? sqrt(dn / rn) : sqrt(dn);
        if (rn <= 1e-24 && err < 1e-6) err = 0.0;
        if (err > worst) worst = err, worst_name = t->name;
        if (err > 1e-3)
            fail_msg("%s: %s: relative L2 error %.3g (||ref|| %.3g)", name, t->name, err, sqrt(rn));
    }
    print_message("%s: loss %.9f (torch %.9f); worst relative L2 gradient error %.2g (%s)\n",
                  name, loss, ref_loss, worst, worst_name);
    wd_safetensors_free(st);
    wd__tenc_free(&e);
    wd_model_free(m);
    free(dir);
    cJSON_Delete(j);
}

static void test_torch_bert(void **state) {
    (void)state;
    torch_case("bert");
}
static void test_torch_roberta(void **state) {
    (void)state;
    torch_case("roberta");
}
static void test_torch_distilbert(void **state) {
    (void)state;
    torch_case("distilbert");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logits_match_runtime),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bert),
        cmocka_unit_test(test_roberta),
        cmocka_unit_test(test_distilbert),
        cmocka_unit_test(test_bert_gelu_tanh),
        cmocka_unit_test(test_distilbert_relu),
        cmocka_unit_test(test_distilbert_sinusoidal_frozen),
        cmocka_unit_test(test_torch_bert),
        cmocka_unit_test(test_torch_roberta),
        cmocka_unit_test(test_torch_distilbert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
