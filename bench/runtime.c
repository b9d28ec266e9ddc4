/*
 * bench/runtime.c - the transformer runtime against the machine's roofline.
 *
 *   bench_runtime [--model DIR|FILE.gguf] [--keep] [--threads N] [--prompt T] [--decode N]
 *                 [--hidden C --layers L --intermediate F --heads H --kv-heads KV
 *                  --vocab V]
 *
 * Without --model it writes a random Llama-shaped F32 checkpoint (default
 * hidden 2048, 22 layers, intermediate 5632, 32 heads, 4 kv heads, vocab
 * 32000 -- TinyLlama's shape: 1.1 B parameters, 4.4 GB) under /tmp, one shard per layer
 * (written by a child process with the safetensors writer, so this
 * process's peak RSS only counts what the runtime uses), and deletes it at
 * the end unless --keep.
 *
 * Measured in the same run, after a warm-up:
 *   prefill  T tokens in one batched pass: tokens/s and GFLOPS (the linear
 *            layers' 2*T*params + attention's 4*T*T*H*D per layer + the
 *            last row's lm_head), against cblas_sgemm run directly on the
 *            same (T, C) x (OC, C)^T shapes -> fraction of sgemm;
 *   decode   N single-token steps through the KV cache: tokens/s and bytes
 *            of weights read per token (every weight once, the embedding
 *            table excepted) x tokens/s, against a streaming read of a
 *            512 MB buffer on the same threads -> fraction of bandwidth;
 *   memory   peak RSS (VmHWM, reset after the bandwidth buffer is freed)
 *            against weights + KV cache.
 * Targets (issue 5): prefill >= 0.6 of sgemm, decode >= 0.6 of bandwidth,
 * peak RSS <= 1.2 x (weights + KV).
 */
#include <cblas.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "benchutil.h"
#include "tensor/threads.h"
#include "warden/ops.h"
#include "warden/warden.h"

/* ==== bandwidth ============================================================ */

typedef struct bw_task {
    const float *buf;
    size_t       n;
    double       part[64];
} bw_task;

static void bw_read(void *ctx, int ith, int nth) {
    bw_task *t = ctx;
    size_t lo, hi;
    wd__split(t->n, ith, nth, &lo, &hi);
    float a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    size_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        a0 += t->buf[i], a1 += t->buf[i + 1], a2 += t->buf[i + 2], a3 += t->buf[i + 3];
        a4 += t->buf[i + 4], a5 += t->buf[i + 5], a6 += t->buf[i + 6], a7 += t->buf[i + 7];
    }
    for (; i < hi; i++) a0 += t->buf[i];
    t->part[ith % 64] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

/* Best and median GB/s of 7 streaming reads (*median gets the median). */
static double measure_bandwidth(wd_threadpool *tp, double *median) {
    size_t n = (size_t)512 << 20 >> 2; /* 512 MB of floats */
    float *buf = malloc(n * sizeof *buf);
    if (!buf) return 0;
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023);
    bw_task t = {.buf = buf, .n = n};
    double best = 0, all[7];
    for (int r = 0; r < 7; r++) {
        double t0 = wdb_now();
        wd__parallel_for(tp, bw_read, &t, n * 64);
        double dt = wdb_now() - t0;
        double gbs = (double)n * sizeof *buf / dt / 1e9;
        all[r] = gbs;
        if (gbs > best) best = gbs;
    }
    free(buf);
    *median = wdb_median(all, 7);
    return best;
}

/* ==== sgemm on the prefill's shapes ======================================== */

/* Seconds for out (T,OC) = x (T,C) . w (OC,C)^T, median of reps. */
static double time_sgemm(float *x, float *w, float *out, long T, long C, long OC) {
    double s[5];
    for (int r = 0; r < 5; r++) {
        double t0 = wdb_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)OC, (int)C, 1.0f, x,
                    (int)C, w, (int)C, 0.0f, out, (int)OC);
        s[r] = wdb_now() - t0;
    }
    return wdb_median(s, 5);
}

/* Peak resident set (VmHWM, kB) since the last reset_peak_rss(); falls
 * back to getrusage's lifetime maximum where /proc lacks it. */
static long peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = ru.ru_maxrss;
    }
    return kb;
}

/* Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so the
 * bandwidth buffer freed before the model loads does not count. */
static void reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

int main(int argc, char **argv) {
    wdb_shape s = WDB_TINYLLAMA;
    const char *model = NULL;
    bool keep = false;
    long threads = 0, T = 256, n_decode = 32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep")) { keep = true; continue; }
        if (!v) { fprintf(stderr, "bench_runtime: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--threads")) threads = atol(v);
        else if (!strcmp(a, "--prompt")) T = atol(v);
        else if (!strcmp(a, "--decode")) n_decode = atol(v);
        else if (!strcmp(a, "--hidden")) s.C = atol(v);
        else if (!strcmp(a, "--layers")) s.L = atol(v);
        else if (!strcmp(a, "--intermediate")) s.F = atol(v);
        else if (!strcmp(a, "--heads")) s.H = atol(v);
        else if (!strcmp(a, "--kv-heads")) s.KV = atol(v);
        else if (!strcmp(a, "--vocab")) s.V = atol(v);
        else { fprintf(stderr, "bench_runtime: unknown option %s\n", a); return 2; }
    }
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    char tmpdir[] = "/tmp/wd_bench_runtime_XXXXXX";
    if (!model) {
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 3; }
        model = tmpdir;
        double t0 = wdb_now();
        if (wdb_gen_llama_child(model, &s)) {
            fprintf(stderr, "bench_runtime: writing the checkpoint failed\n");
            wdb_rm_dir(tmpdir);
            return 3;
        }
        printf("checkpoint: %s (generated in %.1f s)\n", model, wdb_now() - t0);
    }

    wd_threadpool *tp = NULL;
    wd_threadpool_new((int)threads, &tp);
    wd_blas_set_threads((int)threads);
    double bw_med = 0, bw = measure_bandwidth(tp, &bw_med);
    wd_threadpool_free(tp);
    reset_peak_rss();

    wd_model_params mp = wd_model_params_default();
    mp.n_threads = (int)threads;
    wd_model *m = NULL;
    double t0 = wdb_now();
    if (wd_model_load(model, &mp, &m)) {
        fprintf(stderr, "bench_runtime: %s\n", wd_last_error());
        if (!keep && model == tmpdir) wdb_rm_dir(tmpdir);
        return 3;
    }
    double t_load = wdb_now() - t0;
    const wd_model_config *c = wd_model_get_config(m);
    s.C = wd_model_config_hidden_size(c), s.L = wd_model_config_n_layer(c);
    s.F = wd_model_config_intermediate_size(c), s.H = wd_model_config_n_head(c);
    s.KV = wd_model_config_n_kv_head(c), s.V = wd_model_config_vocab_size(c);
    long D = wd_model_config_head_dim(c);
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = (size_t)(T + n_decode + 8);
    cp.n_batch = (size_t)T;
    wd_context *ctx = NULL;
    if (wd_context_new(m, &cp, &ctx)) {
        fprintf(stderr, "bench_runtime: %s\n", wd_last_error());
        return 3;
    }
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    uint64_t seed = 3;
    for (long i = 0; i < T; i++) ids[i] = (int32_t)(wdb_rng_next(&seed) % (uint64_t)s.V);
    float *logits = malloc((size_t)s.V * sizeof *logits);

    /* warm-up: touches every weight page once (the mmap faults them in) */
    wd_model_decode(ctx, ids, T < 16 ? T : 16, logits, WD_LOGITS_MODE_LAST);
    wd_context_truncate(ctx, 0);

    /* prefill */
    double pre[3], t_pre_best = 1e30;
    for (int r = 0; r < 3; r++) {
        wd_context_truncate(ctx, 0);
        t0 = wdb_now();
        wd_model_decode(ctx, ids, (size_t)T, logits, WD_LOGITS_MODE_LAST);
        pre[r] = wdb_now() - t0;
        t_pre_best = pre[r] < t_pre_best ? pre[r] : t_pre_best;
    }
    double t_pre = wdb_median(pre, 3);
    double lin_params = (double)s.L * ((double)s.C * s.H * D + 2.0 * s.C * s.KV * D +
                                       (double)s.H * D * s.C + 3.0 * s.C * s.F);
    double attn_flops = (double)s.L * 4.0 * T * T * s.H * D;
    double pre_flops = 2.0 * T * lin_params + attn_flops + 2.0 * s.C * s.V;
    double pre_gflops = pre_flops / t_pre / 1e9;

    /* decode */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double *dec = malloc((size_t)n_decode * sizeof *dec);
    int32_t tok = ids[T - 1];
    for (long i = 0; i < n_decode; i++) {
        t0 = wdb_now();
        wd_model_decode(ctx, &tok, 1, logits, WD_LOGITS_MODE_LAST);
        dec[i] = wdb_now() - t0;
        tok = (int32_t)(wdb_rng_next(&seed) % (uint64_t)s.V);
    }
    double t_dec_best = dec[0];
    for (long i = 1; i < n_decode; i++) t_dec_best = dec[i] < t_dec_best ? dec[i] : t_dec_best;
    double t_dec = wdb_median(dec, (size_t)n_decode);
    getrusage(RUSAGE_SELF, &ru1);
    long majflt = ru1.ru_majflt - ru0.ru_majflt;
    /* bytes read per token: every matrix but the embedding table (one row),
     * at the model's bytes per parameter (less than 4 when stored in F16 or
     * quantized; wd_model_weight_bytes counts them as computed) */
    double n_params = (double)wd_model_n_params(m);
    double per_param = (double)wd_model_weight_bytes(m) / n_params;
    double w_bytes = per_param * (lin_params + (double)s.V * s.C + 2.0 * s.L * s.C + s.C);
    double dec_gbs = w_bytes / t_dec / 1e9;
    long rss_kb = peak_rss_kb();
    double weights = (double)wd_model_weight_bytes(m), kv = (double)wd_context_kv_bytes(ctx);
    double ctx_bytes = (double)wd_context_bytes(ctx);
    wd_context_free(ctx);
    wd_model_free(m);

    /* sgemm on the same shapes (after the model is freed: no RSS overlap
     * with its weights) */
    long OCs[5] = {s.H * D, s.KV * D, s.C, s.F, s.C};
    long Cs[5] = {s.C, s.C, s.H * D, s.C, s.F};
    double mult[5] = {1, 2, 1, 2, 1}; /* q; k,v; o; gate,up; down */
    size_t maxw = 0, maxc = 0;
    for (int i = 0; i < 5; i++) {
        size_t wsz = (size_t)OCs[i] * Cs[i];
        maxw = wsz > maxw ? wsz : maxw;
        maxc = (size_t)Cs[i] > maxc ? (size_t)Cs[i] : maxc;
    }
    float *wx = malloc((size_t)T * maxc * sizeof(float));
    float *ww = malloc(maxw * sizeof(float));
    float *wo = malloc((size_t)T * (size_t)(s.F > s.C ? s.F : s.C) * 2 * sizeof(float));
    wdb_fill(wx, (size_t)T * maxc, 1.0f, &seed);
    wdb_fill(ww, maxw, 0.02f, &seed);
    double gemm_t = 0, gemm_flops = 0;
    for (int i = 0; i < 5; i++) {
        time_sgemm(wx, ww, wo, T, Cs[i], OCs[i]); /* warm */
        double ti = time_sgemm(wx, ww, wo, T, Cs[i], OCs[i]);
        gemm_t += mult[i] * ti;
        gemm_flops += mult[i] * 2.0 * T * Cs[i] * OCs[i];
    }
    double sgemm_gflops = gemm_flops / gemm_t / 1e9;
    double pre_best_gflops = pre_flops / t_pre_best / 1e9;
    double dec_best_gbs = w_bytes / t_dec_best / 1e9;
    free(wx);
    free(ww);
    free(wo);

    printf("model: hidden %ld, layers %ld, intermediate %ld, heads %ld/%ld, vocab %ld: %.3f B params, "
           "%.2f GB of weights, %.2f bytes/param (load %.2f s)\n",
           s.C, s.L, s.F, s.H, s.KV, s.V, n_params / 1e9, weights / 1e9, per_param, t_load);
    printf("threads: %ld (warden pool and OpenBLAS)\n", threads);
    printf("prefill: %ld tokens in %.3f s = %.1f tokens/s, %.1f GFLOPS; direct sgemm on the same "
           "shapes %.1f GFLOPS -> %.2f of sgemm (target >= 0.60)\n",
           T, t_pre, T / t_pre, pre_gflops, sgemm_gflops, pre_gflops / sgemm_gflops);
    printf("decode: median %.1f ms/token = %.2f tokens/s, %.2f GB of weights/token -> %.2f GB/s; "
           "streaming read (median) %.2f GB/s -> %.2f of bandwidth (target >= 0.60); %ld major page faults\n",
           t_dec * 1e3, 1.0 / t_dec, w_bytes / 1e9, dec_gbs, bw_med, dec_gbs / bw_med, majflt);
    printf("best-of: prefill %.1f GFLOPS -> %.2f of sgemm; decode %.1f ms/token, %.2f GB/s vs best "
           "streaming %.2f GB/s -> %.2f of bandwidth\n",
           pre_best_gflops, pre_best_gflops / sgemm_gflops, t_dec_best * 1e3, dec_best_gbs, bw,
           dec_best_gbs / bw);
    printf("memory: peak RSS %.2f GB; weights %.2f GB + KV cache %.3f GB (context buffers %.3f GB) "
           "-> %.3f x (target <= 1.20)\n",
           rss_kb * 1024.0 / 1e9, weights / 1e9, kv / 1e9, ctx_bytes / 1e9,
           rss_kb * 1024.0 / (weights + kv));
    free(ids);
    free(logits);
    free(dec);
    if (!keep && model == tmpdir) wdb_rm_dir(tmpdir);
    else if (model == tmpdir) printf("kept %s\n", tmpdir);
    return 0;
}
