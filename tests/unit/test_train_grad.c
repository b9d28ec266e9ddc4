/*
 * tests/unit/test_train_grad.c - the trainable decoder's gradients
 * (train/tdec.c): every parameter tensor's gradient against central finite
 * differences along a random direction, for llama (GQA, untied and tied
 * with one kv head, attention biases), qwen2 (q/k/v biases) and mistral
 * (sliding window inside the sequence), with and without gradient
 * checkpointing and LoRA adapters; and the loss of the forward against the
 * runtime's own logits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "gen_checkpoint.h"
#include "model_fixture.h"
#include "testutil.h"
#include "train/tdec.h"

enum { B = 2, T = 7 };

static const int32_t k_ids[B * T] = {1, 17, 5, 99, 42, 7, 63, 3, 90, 27, 8, 8, 41, 120};

/* targets: next token, the last of each row and a few others ignored */
static void make_targets(int32_t *tg) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            tg[b * T + t] = t + 1 < T ? k_ids[b * T + t + 1] : WD_IGNORE_INDEX;
    tg[0] = WD_IGNORE_INDEX; /* a prompt token */
    tg[T + 2] = WD_IGNORE_INDEX;
}

static double loss_of(wd__tdec *d, const int32_t *tg) {
    float lp[B * T];
    assert_int_equal(wd__tdec_forward(d, k_ids, B, T, NULL), WD_OK);
    assert_int_equal(wd__tdec_logp(d, tg, lp), WD_OK);
    double s = 0.0;
    int n = 0;
    for (int r = 0; r < B * T; r++)
        if (tg[r] != WD_IGNORE_INDEX) s -= lp[r], n++;
    return s / n;
}

static void grads_of(wd__tdec *d, const int32_t *tg) {
    float lp[B * T], dlp[B * T];
    wd__tparams_zero_grad(&d->P);
    assert_int_equal(wd__tdec_forward(d, k_ids, B, T, NULL), WD_OK);
    assert_int_equal(wd__tdec_logp(d, tg, lp), WD_OK);
    int n = 0;
    for (int r = 0; r < B * T; r++) n += tg[r] != WD_IGNORE_INDEX;
    for (int r = 0; r < B * T; r++) dlp[r] = tg[r] != WD_IGNORE_INDEX ? -1.0f / n : 0.0f;
    assert_int_equal(wd__tdec_backward_logp(d, tg, dlp, NULL), WD_OK);
}

/* Every trainable tensor: g.u against (L(w+hu) - L(w-hu)) / 2h with u a
 * random +-1 direction over the tensor. */
static void check_fd(wd__tdec *d, const char *what) {
    int32_t tg[B * T];
    make_targets(tg);
    grads_of(d, tg);
    uint64_t s = 42;
    double worst = 0.0;
    const char *worst_name = "";
    for (size_t i = 0; i < d->P.n; i++) {
        wd__tparam *t = d->P.t[i];
        if (!t->trainable) continue;
        float *u = malloc(t->n * sizeof *u), *w0 = malloc(t->n * sizeof *w0);
        memcpy(w0, t->w, t->n * sizeof *w0);
        double an = 0.0, gn = 0.0;
        for (size_t k = 0; k < t->n; k++) {
            u[k] = (wd__rng_next(&s) & 1) ? 1.0f : -1.0f;
            an += (double)t->g[k] * u[k];
            gn += (double)t->g[k] * t->g[k];
        }
        double h = 3e-2 / sqrt((double)t->n);
        for (size_t k = 0; k < t->n; k++) t->w[k] = w0[k] + (float)h * u[k];
        double lp = loss_of(d, tg);
        for (size_t k = 0; k < t->n; k++) t->w[k] = w0[k] - (float)h * u[k];
        double lm = loss_of(d, tg);
        memcpy(t->w, w0, t->n * sizeof *w0);
        double fd = (lp - lm) / (2.0 * h);
        /* error relative to the directional derivative's typical size ||g|| sqrt(n)/sqrt(n) */
        double scale = fmax(fabs(an), sqrt(gn));
        double err = scale > 0 ? fabs(fd - an) / scale : fabs(fd);
        if (err > worst) worst = err, worst_name = t->name;
        if (err > 3e-3)
            fail_msg("%s: %s: directional derivative %.6g, finite difference %.6g (rel %.2g)", what,
                     t->name, an, fd, err);
        free(u);
        free(w0);
    }
    print_message("%s: worst relative error %.2g (%s)\n", what, worst, worst_name);
}

static wd_model *gen_load(const char *family, uint64_t seed, int kv, bool tie, bool abias,
                          const char *patch, const char *name) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/train_grad_%s", WD_TEST_TMP, name);
    wdt_gen_params p = wdt_gen_params_default(family);
    p.seed = seed;
    if (kv) p.n_kv_head = kv;
    p.tie = tie;
    p.attention_bias = abias;
    assert_int_equal(wdt_gen_checkpoint(&p, dir), WD_OK);
    if (patch) {
        cJSON *j = cJSON_Parse(patch);
        mf_patch_config(dir, j);
        cJSON_Delete(j);
    }
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = 1;
    wd_model *m = NULL;
    assert_int_equal(wd_model_load(dir, &mp, &m), WD_OK);
    return m;
}

static void run_case(const char *family, uint64_t seed, int kv, bool tie, bool abias,
                     const char *patch, const char *name) {
    wd_model *m = gen_load(family, seed, kv, tie, abias, patch, name);
    for (int ck = 0; ck < 2; ck++) {
        wd__tdec d;
        assert_int_equal(wd__tdec_init(&d, m), WD_OK);
        assert_int_equal(wd__tdec_plan(&d, B, T, ck), WD_OK);
        char what[96];
        snprintf(what, sizeof what, "%s%s", name, ck ? " (checkpointing)" : "");
        check_fd(&d, what);
        wd__tdec_free(&d);
    }
    wd_model_free(m);
}

static void test_llama_gqa(void **state) {
    (void)state;
    run_case("llama", 11, 2, false, false, NULL, "llama_gqa");
}
static void test_llama_tied_mqa(void **state) {
    (void)state;
    run_case("llama", 14, 1, true, false, NULL, "llama_tied");
}
static void test_llama_attention_bias(void **state) {
    (void)state;
    run_case("llama", 15, 2, false, true, NULL, "llama_bias");
}
static void test_qwen2_bias(void **state) {
    (void)state;
    run_case("qwen2", 17, 0, false, false, NULL, "qwen2");
}
static void test_mistral_window(void **state) {
    (void)state;
    run_case("mistral", 16, 0, false, false, "{\"sliding_window\":3}", "mistral_window");
}

/* dloss/d(input embeddings) with parameter gradients off (the adversarial
 * attack's gradient) against finite differences along a random direction,
 * and no parameter gradient written. */
static void test_input_gradient(void **state) {
    (void)state;
    wd_model *m = gen_load("llama", 11, 2, false, false, NULL, "llama_input");
    wd__tdec d;
    assert_int_equal(wd__tdec_init(&d, m), WD_OK);
    assert_int_equal(wd__tdec_plan(&d, B, T, false), WD_OK);
    size_t n = (size_t)B * T * d.C;
    float *delta = calloc(n, sizeof *delta), *g = calloc(n, sizeof *g), *u = malloc(n * sizeof *u);
    int32_t tg[B * T];
    make_targets(tg);
    float lp[B * T], dlp[B * T];
    int cnt = 0;
    for (int r = 0; r < B * T; r++) cnt += tg[r] != WD_IGNORE_INDEX;
    for (int r = 0; r < B * T; r++) dlp[r] = tg[r] != WD_IGNORE_INDEX ? -1.0f / cnt : 0.0f;
    wd__tparams_zero_grad(&d.P);
    assert_int_equal(wd__tdec_forward(&d, k_ids, B, T, delta), WD_OK);
    assert_int_equal(wd__tdec_logp(&d, tg, lp), WD_OK);
    d.input_grad_only = true;
    assert_int_equal(wd__tdec_backward_logp(&d, tg, dlp, g), WD_OK);
    d.input_grad_only = false;
    for (size_t i = 0; i < d.P.n_grad; i++) assert_true(d.P.grad[i] == 0.0f);
    uint64_t s = 5;
    double an = 0, gn = 0, h = 3e-2 / sqrt((double)n);
    for (size_t i = 0; i < n; i++) {
        u[i] = (wd__rng_next(&s) & 1) ? 1.0f : -1.0f;
        an += (double)g[i] * u[i], gn += (double)g[i] * g[i];
    }
    double L[2];
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < n; i++) delta[i] = (float)((k ? -h : h) * u[i]);
        assert_int_equal(wd__tdec_forward(&d, k_ids, B, T, delta), WD_OK);
        assert_int_equal(wd__tdec_logp(&d, tg, lp), WD_OK);
        L[k] = 0;
        for (int r = 0; r < B * T; r++)
            if (tg[r] != WD_IGNORE_INDEX) L[k] -= (double)lp[r] / cnt;
    }
    double fd = (L[0] - L[1]) / (2 * h), err = fabs(fd - an) / fmax(fabs(an), sqrt(gn));
    print_message("input gradient: directional %.6g, finite difference %.6g (rel %.2g)\n", an, fd, err);
    assert_true(err < 3e-3);
    free(delta), free(g), free(u);
    wd__tdec_free(&d);
    wd_model_free(m);
}

/* The forward's loss equals the runtime's: log-softmax of wd_model_forward's logits. */
/* Loss and every gradient against the float64 PyTorch reference
 * (tests/fixtures/grad, made by tests/tools/make_grad_fixtures.sh). */
static void check_torch(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/grad/%s.json", WD_TEST_FIXTURES, name);
    cJSON *j = mf_load_json(path);
    char *dir = mf_make(name, cJSON_GetObjectItem(j, "gen_args")->valuestring);
    cJSON *patch = cJSON_GetObjectItem(j, "config_patch");
    if (patch && cJSON_GetArraySize(patch) > 0) mf_patch_config(dir, patch);
    wd_model *m = mf_load(dir, 1, 0);
    size_t b = (size_t)cJSON_GetObjectItem(j, "B")->valueint;
    size_t t = (size_t)cJSON_GetObjectItem(j, "T")->valueint;
    int32_t *ids = malloc(b * t * sizeof *ids), *tg = malloc(b * t * sizeof *tg);
    float *lp = malloc(b * t * sizeof *lp), *dlp = malloc(b * t * sizeof *dlp);
    for (size_t r = 0; r < b; r++)
        for (size_t c = 0; c < t; c++) {
            ids[r * t + c] = cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ids"), (int)r), (int)c)->valueint;
            tg[r * t + c] = cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "targets"), (int)r), (int)c)->valueint;
        }
    wd__tdec d;
    assert_int_equal(wd__tdec_init(&d, m), WD_OK);
    assert_int_equal(wd__tdec_plan(&d, b, t, false), WD_OK);
    assert_int_equal(wd__tdec_forward(&d, ids, b, t, NULL), WD_OK);
    assert_int_equal(wd__tdec_logp(&d, tg, lp), WD_OK);
    double loss = 0.0;
    int n = 0;
    for (size_t r = 0; r < b * t; r++)
        if (tg[r] != WD_IGNORE_INDEX) loss -= lp[r], n++;
    loss /= n;
    double ref = cJSON_GetObjectItem(j, "loss")->valuedouble;
    if (fabs(loss - ref) > 1e-5 * fabs(ref)) fail_msg("%s: loss %.9g, torch %.9g", name, loss, ref);
    for (size_t r = 0; r < b * t; r++) dlp[r] = tg[r] != WD_IGNORE_INDEX ? -1.0f / n : 0.0f;
    assert_int_equal(wd__tdec_backward_logp(&d, tg, dlp, NULL), WD_OK);
    snprintf(path, sizeof path, "%s/grad/%s.safetensors", WD_TEST_FIXTURES, name);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    assert_int_equal(wd_safetensors_n_tensors(st), d.P.n);
    double worst = 0.0;
    const char *worst_name = "";
    for (size_t i = 0; i < d.P.n; i++) {
        wd__tparam *p = d.P.t[i];
        const wd_tensor_info *ti = wd_safetensors_find(st, p->name);
        if (!ti) fail_msg("%s: no reference gradient for %s", name, p->name);
        float *g = malloc(p->n * sizeof *g);
        assert_int_equal(wd_tensor_read_f32(ti, g, p->n), WD_OK);
        double num = 0.0, den = 0.0;
        for (size_t k = 0; k < p->n; k++) {
            num += ((double)p->g[k] - g[k]) * ((double)p->g[k] - g[k]);
            den += (double)g[k] * g[k];
        }
        double err = den > 0 ? sqrt(num / den) : sqrt(num);
        if (err > worst) worst = err, worst_name = p->name;
        if (err > 1e-4) fail_msg("%s: %s: relative L2 error %.3g against torch", name, p->name, err);
        free(g);
    }
    print_message("%s: loss %.7f (torch %.7f), worst gradient error %.2g (%s)\n", name, loss, ref,
                  worst, worst_name);
    wd_safetensors_free(st);
    wd__tdec_free(&d);
    wd_model_free(m);
    free(ids), free(tg), free(lp), free(dlp), free(dir);
    cJSON_Delete(j);
}

static void test_torch_reference(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    const char *names[] = {"llama_gqa",  "llama_tied_mqa", "llama_attn_bias",
                           "llama_ignore", "qwen2_bias",   "mistral_window"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) check_torch(names[i]);
}

/* LoRA on every projection (B made non-zero so both factors have
 * gradients); the base weights are frozen and get none. */
static void test_lora(void **state) {
    (void)state;
    wd_model *m = gen_load("qwen2", 17, 0, false, false, NULL, "qwen2_lora");
    for (int ck = 0; ck < 2; ck++) {
        wd__tdec d;
        assert_int_equal(wd__tdec_init(&d, m), WD_OK);
        wd__lora_spec spec = {.rank = 3, .alpha = 6.0f, .targets = (1u << WD__LORA_N_TARGETS) - 1};
        assert_int_equal(wd__tdec_add_lora(&d, &spec, 7), WD_OK);
        uint64_t s = 9;
        for (size_t i = 0; i < d.P.n; i++)
            if (strstr(d.P.t[i]->name, "lora_B"))
                for (size_t k = 0; k < d.P.t[i]->n; k++)
                    d.P.t[i]->w[k] = (float)(wd__rng_unit(&s) - 0.5) * 0.2f;
        assert_int_equal(wd__tdec_plan(&d, B, T, ck), WD_OK);
        size_t n_tr = 0;
        for (size_t i = 0; i < d.P.n; i++) {
            bool lora = strstr(d.P.t[i]->name, ".lora_") != NULL;
            assert_int_equal(d.P.t[i]->trainable, lora);
            n_tr += d.P.t[i]->trainable;
        }
        assert_int_equal(n_tr, 2 * 7 * 2); /* 2 layers x 7 targets x (A, B) */
        check_fd(&d, ck ? "qwen2 lora (checkpointing)" : "qwen2 lora");
        wd__tdec_free(&d);
    }
    wd_model_free(m);
}

static void test_loss_matches_runtime(void **state) {
    (void)state;
    wd_model *m = gen_load("llama", 11, 2, false, false, NULL, "llama_rt");
    wd__tdec d;
    assert_int_equal(wd__tdec_init(&d, m), WD_OK);
    assert_int_equal(wd__tdec_plan(&d, B, T, false), WD_OK);
    int32_t tg[B * T];
    make_targets(tg);
    float lp[B * T];
    assert_int_equal(wd__tdec_forward(&d, k_ids, B, T, NULL), WD_OK);
    assert_int_equal(wd__tdec_logp(&d, tg, lp), WD_OK);
    wd_context *ctx = NULL;
    wd_context_params cp = wd_context_params_default();
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    size_t V = wd_model_n_vocab(m);
    float *logits = malloc(T * V * sizeof *logits);
    for (int b = 0; b < B; b++) {
        assert_int_equal(wd_model_forward(ctx, k_ids + b * T, T, logits), WD_OK);
        for (int t = 0; t < T; t++) {
            int32_t y = tg[b * T + t];
            if (y == WD_IGNORE_INDEX) continue;
            const float *row = logits + t * V;
            double mx = -INFINITY, s = 0;
            for (size_t v = 0; v < V; v++) mx = fmax(mx, row[v]);
            for (size_t v = 0; v < V; v++) s += exp(row[v] - mx);
            double ref = row[y] - mx - log(s);
            assert_true(fabs(ref - lp[b * T + t]) < 1e-4);
        }
    }
    free(logits);
    wd_context_free(ctx);
    wd__tdec_free(&d);
    wd_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_matches_runtime),
        cmocka_unit_test(test_llama_gqa),
        cmocka_unit_test(test_llama_tied_mqa),
        cmocka_unit_test(test_llama_attention_bias),
        cmocka_unit_test(test_qwen2_bias),
        cmocka_unit_test(test_mistral_window),
        cmocka_unit_test(test_lora),
        cmocka_unit_test(test_input_gradient),
        cmocka_unit_test(test_torch_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
