/*
 * bench/textclf.c - throughput of the built-in classifier on ~100-character
 * prompts, one thread.
 *
 * Prints predictions/s for: the feature map alone (the reference: hashing
 * every n-gram, no weights touched), predict on already-normalised text,
 * and normalise + predict (what the classifier scanner does per text).
 * Prompts come from warden's benign generator, cut at a word boundary
 * near 100 bytes, so the run needs no data files.
 *
 * Then the convolutional form (`train-guard --arch cnn`, guard/textcnn.c)
 * at the shape that command trains (2^17 x 64 word vectors, 128 filters
 * over 3 words; random weights: the work does not depend on them):
 * predict on the same texts against the linear model's predict, and its
 * convolution (vector kernel) against the plain C one on the same windows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "benchutil.h"
#include "guard/canonical.h"
#include "guard/textclf.h"
#include "guard/textcnn.h"
#include "train/textclf_train.h"

#define N_PROMPTS 2000
#define REPEATS 7

static void noop_emit(void *ctx, uint32_t bucket, int sign) { *(uint64_t *)ctx += bucket + (unsigned)sign; }

int main(void) {
    const wd_textclf *m = wd_textclf_builtin();
    if (!m) {
        fprintf(stderr, "bench_textclf: %s\n", wd_last_error());
        return 1;
    }
    static char prompts[N_PROMPTS][160];
    static wd__canon norms[N_PROMPTS];
    uint64_t rng = 12345;
    size_t total_len = 0;
    for (int i = 0; i < N_PROMPTS; i++) {
        char buf[1024];
        size_t len = 0;
        while (len < 100) { /* join generated prompts until ~100 bytes */
            char one[512];
            size_t l = wd__textclf_benign_one(&rng, one, sizeof one);
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? " " : "", one);
            (void)l;
        }
        size_t cut = 100;
        while (cut < len && buf[cut] != ' ') cut++;
        if (cut > sizeof prompts[i] - 1) cut = sizeof prompts[i] - 1;
        memcpy(prompts[i], buf, cut);
        prompts[i][cut] = 0;
        total_len += strlen(prompts[i]);
        if (wd__canonicalize(prompts[i], strlen(prompts[i]), wd_textclf_norm_flags(m), &norms[i])) {
            fprintf(stderr, "bench_textclf: normalise failed: %s\n", wd_last_error());
            return 1;
        }
    }
    wd_textclf_cfg cfg = wd_textclf_cfg_of(m);
    float probs[WD_TEXTCLF_MAX_LABELS];
    double t_feat[REPEATS], t_pred[REPEATS], t_full[REPEATS];
    uint64_t sink = 0;
    wd__canon scratch = {0};
    for (int r = -1; r < REPEATS; r++) { /* r = -1 warms up */
        double t0 = wdb_now();
        for (int i = 0; i < N_PROMPTS; i++)
            wd__textclf_features(&cfg, norms[i].text, norms[i].len, noop_emit, &sink);
        double t1 = wdb_now();
        for (int i = 0; i < N_PROMPTS; i++) {
            wd_textclf_predict(m, norms[i].text, norms[i].len, probs);
            sink += probs[0] > 0.5f;
        }
        double t2 = wdb_now();
        for (int i = 0; i < N_PROMPTS; i++) {
            wd__canonicalize_reuse(prompts[i], strlen(prompts[i]), wd_textclf_norm_flags(m), &scratch);
            wd_textclf_predict(m, scratch.text, scratch.len, probs);
            sink += probs[0] > 0.5f;
        }
        double t3 = wdb_now();
        if (r >= 0) {
            t_feat[r] = t1 - t0;
            t_pred[r] = t2 - t1;
            t_full[r] = t3 - t2;
        }
    }
    double f = wdb_median(t_feat, REPEATS), p = wdb_median(t_pred, REPEATS),
           n = wdb_median(t_full, REPEATS);
    printf("bench_textclf: %d prompts, mean %.1f bytes, median of %d runs, 1 thread\n", N_PROMPTS,
           (double)total_len / N_PROMPTS, REPEATS);
    printf("  features only (reference) %10.0f texts/s  %6.2f us/text\n", N_PROMPTS / f, f / N_PROMPTS * 1e6);
    printf("  predict (normalised text) %10.0f texts/s  %6.2f us/text  (%.2fx the reference time)\n",
           N_PROMPTS / p, p / N_PROMPTS * 1e6, p / f);
    printf("  normalise + predict       %10.0f texts/s  %6.2f us/text  (%.2fx the reference time)\n",
           N_PROMPTS / n, n / N_PROMPTS * 1e6, n / f);

    /* the convolutional form */
    wd__textcnn_shape sh = {.bits = 17, .dim = 64, .filters = 128, .width = 3, .char_min = 3, .char_max = 5};
    const size_t V = (size_t)1 << sh.bits, D = 64, F = 128, K = 3 * D, L = wd_textclf_n_labels(m);
    float *emb = malloc(V * D * sizeof *emb), *conv = malloc(K * F * sizeof *conv), cb[128];
    float *head = malloc(F * L * sizeof *head), bias[WD_TEXTCLF_MAX_LABELS] = {0};
    const char *labels[WD_TEXTCLF_MAX_LABELS];
    if (!emb || !conv || !head) return 1;
    for (size_t i = 0; i < V * D; i++) emb[i] = (float)((wd__rng_next(&rng) >> 40) & 0xff) / 2560.0f - 0.05f;
    for (size_t i = 0; i < K * F; i++) conv[i] = (float)((wd__rng_next(&rng) >> 40) & 0xff) / 1280.0f - 0.1f;
    for (size_t i = 0; i < F; i++) cb[i] = 0.01f;
    for (size_t i = 0; i < F * L; i++) head[i] = (float)((wd__rng_next(&rng) >> 40) & 0xff) / 1280.0f - 0.1f;
    for (size_t l = 0; l < L; l++) labels[l] = wd_textclf_label(m, l);
    wd_textclf *cm = NULL;
    if (wd__textclf_build_cnn(&cfg, &sh, L, labels, emb, conv, cb, head, bias, wd__textclf_softmax_hazards(m), &cm)) {
        fprintf(stderr, "bench_textclf: %s\n", wd_last_error());
        return 1;
    }
    enum { T_WIN = 32 };
    float *X = malloc((T_WIN + 2) * D * sizeof *X), mx[128];
    if (!X) return 1;
    for (size_t i = 0; i < (T_WIN + 2) * D; i++) X[i] = emb[i * 7 % (V * D)];
    double t_cnn[REPEATS], t_vec[REPEATS], t_ref[REPEATS];
    for (int r = -1; r < REPEATS; r++) {
        double t0 = wdb_now();
        for (int i = 0; i < N_PROMPTS; i++) {
            wd_textclf_predict(cm, norms[i].text, norms[i].len, probs);
            sink += probs[0] > 0.5f;
        }
        double t1 = wdb_now();
        for (int i = 0; i < N_PROMPTS / 4; i++) {
            wd__textcnn_conv_max(&sh, conv, cb, X, T_WIN, mx, NULL);
            sink += mx[i % 128] > 0;
        }
        double t2 = wdb_now();
        for (int i = 0; i < N_PROMPTS / 4; i++) {
            wd__textcnn_conv_max_ref(&sh, conv, cb, X, T_WIN, mx, NULL);
            sink += mx[i % 128] > 0;
        }
        double t3 = wdb_now();
        if (r >= 0) t_cnn[r] = t1 - t0, t_vec[r] = t2 - t1, t_ref[r] = t3 - t2;
    }
    double c = wdb_median(t_cnn, REPEATS), cv = wdb_median(t_vec, REPEATS), cr = wdb_median(t_ref, REPEATS);
    double gf = 2.0 * T_WIN * K * F * (N_PROMPTS / 4) / 1e9;
    printf("  cnn predict (normalised)  %10.0f texts/s  %6.2f us/text  (%.1fx the linear predict's time)\n",
           N_PROMPTS / c, c / N_PROMPTS * 1e6, c / p);
    printf("  cnn convolution, %d windows: vector %.1f GFLOPS, plain C %.1f GFLOPS (%.1fx)\n", T_WIN, gf / cv,
           gf / cr, cr / cv);
    wd_textclf_free(cm);
    free(emb), free(conv), free(head), free(X);
    for (int i = 0; i < N_PROMPTS; i++) wd__canon_free(&norms[i]);
    wd__canon_free(&scratch);
    return sink == 42 ? 2 : 0; /* keeps the work observable */
}
