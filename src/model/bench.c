/*
 * model/bench.c - wd_model_bench: load time, prompt-processing and
 * generation speed, and peak memory of a model, measured the way
 * llama.cpp's llama-bench measures them (see include/warden/model.h), so
 * that `warden bench` and `llama-bench` figures on the same file compare.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/util.h"
#include "model/model_internal.h"

wd_bench_params wd_bench_params_default(void) {
    return (wd_bench_params){.n_prompt = 128, .n_gen = 64, .repetitions = 5, .n_threads = 0, .seed = 1};
}

static double now_s(void) { return wd__now_us() / 1e6; }


static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

/* One timed test: n_prompt ids in one batch, or n_gen ids one by one, from
 * an empty cache; tokens per second. */
static wd_status run_test(wd_context *ctx, const int32_t *ids, int n, bool batch, float *logits,
                          double *tps) {
    wd_status st = wd_context_truncate(ctx, 0);
    double t0 = now_s();
    if (!st && batch) st = wd_model_decode(ctx, ids, (size_t)n, logits, WD_LOGITS_MODE_LAST);
    for (int i = 0; !st && !batch && i < n; i++) st = wd_model_decode(ctx, ids + i, 1, logits, WD_LOGITS_MODE_LAST);
    double dt = now_s() - t0;
    *tps = dt > 0 ? n / dt : 0;
    return st;
}

wd_status wd_model_bench(const char *path, const wd_bench_params *params, wd_bench_result *out) {
    if (!path || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_model_bench: NULL argument");
    memset(out, 0, sizeof *out);
    wd_bench_params p = params ? *params : wd_bench_params_default();
    if (p.n_prompt < 0 || p.n_gen < 0 || p.repetitions < 1 || p.repetitions > 1000 || p.n_threads < 0)
        return wd__fail(WD_ERR_INVALID_ARG,
                        "wd_model_bench: n_prompt %d, n_gen %d, repetitions %d, n_threads %d out of range",
                        p.n_prompt, p.n_gen, p.repetitions, p.n_threads);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = p.n_threads;
    mp.load_tokenizer = false;
    wd_model *m = NULL;
    double t0 = now_s();
    wd_status st = wd_model_load(path, &mp, &m);
    if (st) return st;
    out->load_s = now_s() - t0;
    out->n_params = wd_model_n_params(m);
    out->weight_bytes = wd_model_weight_bytes(m);
    out->n_threads = m->n_threads;
    wd_context *ctx = NULL;
    int32_t *ids = NULL;
    double *tps = NULL;
    float *logits = NULL;
    size_t need = (size_t)p.n_prompt + (size_t)p.n_gen;
    if (!wd__model_is_decoder(m)) {
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s: bench runs decoders; this is an encoder", path);
        goto done;
    }
    if (need > m->n_pos) {
        st = wd__fail(WD_ERR_RANGE, "%s: %d prompt + %d generated tokens exceed the model's %zu positions",
                      path, p.n_prompt, p.n_gen, m->n_pos);
        goto done;
    }
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = need > 0 ? (size_t)(p.n_prompt > p.n_gen ? p.n_prompt : p.n_gen) : 1;
    cp.n_batch = p.n_prompt > 0 ? (size_t)p.n_prompt : 1;
    ids = malloc((need + 1) * sizeof *ids);
    tps = malloc((size_t)p.repetitions * sizeof *tps);
    logits = malloc(m->V * sizeof *logits);
    if (!ids || !tps || !logits) {
        st = wd__fail(WD_ERR_NOMEM, "wd_model_bench: out of memory");
        goto done;
    }
    uint64_t seed = p.seed;
    for (size_t i = 0; i < need; i++) ids[i] = (int32_t)wd__rng_below(&seed, m->V);
    if ((st = wd_context_new(m, &cp, &ctx))) goto done;
    for (int test = 0; test < 2 && !st; test++) {
        int n = test == 0 ? p.n_prompt : p.n_gen;
        if (!n) continue;
        const int32_t *x = test == 0 ? ids : ids + p.n_prompt;
        double warm;
        if ((st = run_test(ctx, x, n, test == 0, logits, &warm))) break; /* warm-up: pages in, caches */
        for (int r = 0; r < p.repetitions && !st; r++) st = run_test(ctx, x, n, test == 0, logits, &tps[r]);
        if (!st) mean_sd(tps, p.repetitions, test == 0 ? &out->pp_tps : &out->tg_tps,
                         test == 0 ? &out->pp_tps_sd : &out->tg_tps_sd);
    }
    out->peak_rss_bytes = wd__peak_rss();
done:
    free(ids);
    free(tps);
    free(logits);
    wd_context_free(ctx);
    wd_model_free(m);
    return st;
}
