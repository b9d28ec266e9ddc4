/*
 * bench/repair.c - the weight-repair paths that touch every weight or every
 * row, against a reference measured in the same run:
 *
 *   taps      a 256-token prefill with the residual tap (resid: what steer
 *             and layers read) and with Wanda's activation sums (act_sq:
 *             what prune reads), over the same prefill with no taps;
 *   ablate    wd_steer_ablate (read, orthogonalise embed / o_proj /
 *             down_proj, write the model) and the same rewrite with no
 *             tensor changed, over copying the checkpoint's files (read() +
 *             write() + fsync of the same bytes);
 *   writable  wd_model_make_writable (the landscape's and layer scaling's
 *             F32 copy) over a memcpy of the same bytes.
 *
 * On a generated Llama (hidden 1024, 8 layers, intermediate 2816, 16 heads,
 * 4 kv heads, vocabulary 32000: 0.15 B params, 0.6 GB of F32).
 *
 *   bench_repair [--threads N] [--dir DIR]
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchutil.h"
#include "weights/rewrite.h"
#include "weights/steer.h"
#include "warden/warden.h"

static double prefill(wd_model *m, const int32_t *ids, size_t n, wd_taps *taps) {
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = n;
    cp.n_batch = n;
    wd_context *ctx = NULL;
    if (wd_context_new(m, &cp, &ctx)) return -1;
    wd_context_set_taps(ctx, taps);
    double t[5];
    for (int r = 0; r < 6; r++) {
        double t0 = wdb_now();
        wd_context_truncate(ctx, 0);
        wd_model_decode(ctx, ids, n, NULL, WD_LOGITS_MODE_NONE);
        if (r) t[r - 1] = wdb_now() - t0;
    }
    wd_context_free(ctx);
    return wdb_median(t, 5);
}

static wd_status identity(void *user, const char *name, float *data, const int64_t *shape, int ndim, wd__err *err) {
    (void)user, (void)name, (void)data, (void)shape, (void)ndim, (void)err;
    return WD_OK;
}

/* read() every file of src and write() + fsync it into dst: the I/O floor
 * of rewriting a model (cp may clone extents without moving a byte). */
static double copy_files(const char *src, const char *dst) {
    mkdir(dst, 0755);
    DIR *d = opendir(src);
    if (!d) return -1;
    size_t cap = (size_t)64 << 20;
    char *buf = malloc(cap);
    double t0 = wdb_now();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char a[2048], b[2048];
        snprintf(a, sizeof a, "%s/%s", src, e->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
        int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ssize_t k;
        while (in >= 0 && out >= 0 && (k = read(in, buf, cap)) > 0)
            if (write(out, buf, (size_t)k) != k) break;
        if (out >= 0) fsync(out), close(out);
        if (in >= 0) close(in);
    }
    double t = wdb_now() - t0;
    closedir(d);
    free(buf);
    return t;
}

int main(int argc, char **argv) {
    int threads = 0;
    const char *base = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) base = argv[i + 1];
    }
    char model[1024], out[1024], copy[1024], file[1024];
    snprintf(model, sizeof model, "%s/bench_repair_model", base);
    snprintf(out, sizeof out, "%s/bench_repair_out", base);
    snprintf(copy, sizeof copy, "%s/bench_repair_copy", base);
    snprintf(file, sizeof file, "%s/bench_repair_dirs.safetensors", base);
    wdb_shape s = {.C = 1024, .L = 8, .F = 2816, .H = 16, .KV = 4, .V = 32000};
    mkdir(model, 0755);
    if (wdb_gen_llama_child(model, &s)) {
        fprintf(stderr, "bench_repair: cannot write %s\n", model);
        return 1;
    }
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = threads;
    wd_model *m = NULL;
    if (wd_model_load(model, &mp, &m)) {
        fprintf(stderr, "bench_repair: %s\n", wd_last_error());
        return 1;
    }
    size_t L = wd_model_n_layer(m), C = wd_model_n_embd(m), W = wd_model_act_width(m), n = 256;
    uint64_t seed = 1;
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(wdb_rng_next(&seed) % (uint64_t)s.V);
    float *resid = malloc((L + 1) * C * sizeof *resid);
    double *act = calloc(L * W, sizeof *act);
    wd_taps t_resid = {resid, NULL, 0}, t_act = {NULL, act, 0};
    double plain = prefill(m, ids, n, NULL), tr = prefill(m, ids, n, &t_resid), ta = prefill(m, ids, n, &t_act);
    printf("model: hidden %ld, %ld layers, %llu params\n", s.C, s.L, (unsigned long long)wd_model_n_params(m));
    printf("taps, %zu-token prefill: none %.1f ms; resid %.1f ms (%.3fx); act_sq %.1f ms (%.3fx)\n", n,
           plain * 1e3, tr * 1e3, tr / plain, ta * 1e3, ta / plain);

    /* ablation written into the weights vs copying the files */
    wd_steer_result r;
    wd__steer_alloc(&r, L, C, WD_DIRECTION_METHOD_MEAN);
    wdb_fill(r.dirs, (L + 1) * C, 1.0f, &seed);
    r.layer = L / 2;
    wd_steer_save(&r, model, file);
    double tc = copy_files(model, copy);
    double t0 = wdb_now();
    wd_status st = wd_steer_ablate(model, file, -1, false, out);
    double tab = wdb_now() - t0;
    if (st) fprintf(stderr, "bench_repair: ablate: %s\n", wd_last_error());
    t0 = wdb_now();
    wd__rewrite(model, out, NULL, identity, NULL, NULL);
    double tid = wdb_now() - t0;
    printf("ablate: %.2f s; rewriting unchanged %.2f s; copying the files %.2f s (ablate %.2fx, rewrite %.2fx the copy)\n",
           tab, tid, tc, tab / tc, tid / tc);

    /* the writable copy vs memcpy of the same bytes */
    uint64_t bytes = wd_model_n_params(m) * 4;
    char *a = malloc(bytes), *b = malloc(bytes);
    memset(a, 1, bytes);
    memset(b, 0, bytes);
    t0 = wdb_now();
    memcpy(b, a, bytes);
    double tm = wdb_now() - t0;
    volatile char sink = b[bytes / 2]; /* the copy is used */
    (void)sink;
    free(a), free(b);
    t0 = wdb_now();
    wd_model_make_writable(m);
    double tw = wdb_now() - t0;
    printf("writable: %.2f s; memcpy of %.2f GB %.2f s (%.2fx)\n", tw, (double)bytes / 1e9, tm, tw / tm);

    wd_steer_result_free(&r);
    wd_model_free(m);
    free(ids), free(resid), free(act);
    wdb_rm_dir(model), wdb_rm_dir(out), wdb_rm_dir(copy);
    remove(file);
    return 0;
}
