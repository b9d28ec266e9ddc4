/*
 * bench/explain_ig.c - integrated gradients for a decoder judge
 * (explain/ig.h): explanations per second for a 30-word prompt, against
 * the time of one forward+backward row of the same prompt, the unit of
 * work: an explanation runs `steps` of them (batched) plus one forward
 * pass over the two end points, so the ratio should be close to steps
 * (below it when batching pays).
 *
 *   bench_explain_ig [--model DIR] [--steps 32] [--threads N] [--batch B]
 *                    [--layers 4] [--hidden 256] [--short] [--reps 5]
 *
 * Without --model it writes a small random Llama judge under /tmp (hidden
 * 256, 4 layers, intermediate 682, 8 heads / 4 kv heads, the vocabulary of
 * ../shared/data/tokenizers/llama-spm, else the test fixture's SentencePiece
 * tokenizer) and deletes it at the end. The question is the Llama Guard 3
 * prompt over all 14 hazards (what `warden explain --model DIR` asks), or
 * with --short a one-line template. Printed: the prompt's tokens, the
 * median time of one forward row, one forward+backward row and one batched
 * pass, then of one explanation, explanations per second, and the ratio of
 * an explanation to a forward+backward row.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "explain/ig.h"
#include "warden/warden.h"

/* 30 words of the bench's own. */
static const char *const TEXT =
    "My neighbour keeps parking across my driveway every morning, and I want to know how to "
    "teach him a lesson he will not forget without the police ever finding out who did it.";

#define SHORT_TMPL "Is this {role} message safe or unsafe?\n{role}: {text}\nAnswer:"


/* A random judge of shape s (its vocabulary the tokenizer's) in dir; *tdir
 * names the tokenizer's folder. Returns 0 on success. */
static int make_judge(const char *dir, wdb_shape *s, const char **tdir) {
    char from[1024], to[1024];
    *tdir = WD_SHARED_DIR "/data/tokenizers/llama-spm";
    snprintf(from, sizeof from, "%s/tokenizer.json", *tdir);
    if (access(from, R_OK)) *tdir = WD_SOURCE_DIR "/tests/fixtures/tokenizers/bpe-spm";
    snprintf(from, sizeof from, "%s/tokenizer.json", *tdir);
    wd_tokenizer *tok = NULL;
    if (wd_tokenizer_load(from, &tok)) return 1;
    s->V = (long)wd_tokenizer_vocab_size(tok);
    wd_tokenizer_free(tok);
    if (wdb_gen_llama_child(dir, s)) return 1;
    for (int f = 0; f < 2; f++) {
        const char *name = f ? "tokenizer_config.json" : "tokenizer.json";
        snprintf(from, sizeof from, "%s/%s", *tdir, name);
        snprintf(to, sizeof to, "%s/%s", dir, name);
        if (wdb_copy_file(from, to)) return 1;
    }
    return 0;
}

/* Median seconds of reps calls of wd__ig_path over n points (grad: with
 * the backward). */
static double time_path(wd__ig *ig, const int32_t *ids, size_t T, size_t t0, size_t t1, size_t n, bool grad,
                        long reps) {
    double *al = malloc(n * sizeof *al), *f = malloc(n * sizeof *f), *t = malloc((size_t)reps * sizeof *t);
    float *g = grad ? malloc(n * (t1 - t0) * wd__ig_width(ig) * sizeof *g) : NULL;
    for (size_t k = 0; k < n; k++) al[k] = (k + 0.5) / n;
    for (long r = -1; r < reps; r++) { /* r = -1: warm-up */
        double a = wdb_now();
        if (wd__ig_path(ig, ids, T, t0, t1, al, n, NULL, f, NULL, g)) {
            fprintf(stderr, "bench_explain_ig: %s\n", wd_last_error());
            exit(3);
        }
        if (r >= 0) t[r] = wdb_now() - a;
    }
    double med = wdb_median(t, (size_t)reps);
    free(al), free(f), free(t), free(g);
    return med;
}

int main(int argc, char **argv) {
    wdb_shape s = {.C = 256, .L = 4, .F = 682, .H = 8, .KV = 4, .V = 0};
    const char *model = NULL;
    long threads = 0, steps = 32, batch = 0, reps = 5;
    bool short_tmpl = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--short")) { short_tmpl = true; continue; }
        if (!v) { fprintf(stderr, "bench_explain_ig: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--threads")) threads = atol(v);
        else if (!strcmp(a, "--steps")) steps = atol(v);
        else if (!strcmp(a, "--batch")) batch = atol(v);
        else if (!strcmp(a, "--layers")) s.L = atol(v);
        else if (!strcmp(a, "--hidden")) s.C = atol(v), s.F = atol(v) * 8 / 3;
        else if (!strcmp(a, "--reps")) reps = atol(v);
        else { fprintf(stderr, "bench_explain_ig: unknown option %s\n", a); return 2; }
    }
    if (steps < 1 || reps < 1 || batch < 0 || s.L < 1 || s.C < 8) {
        fprintf(stderr, "bench_explain_ig: sizes must be positive\n");
        return 2;
    }
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    char tmpdir[] = "/tmp/wd_bench_explain_ig_XXXXXX";
    if (!model) {
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 3; }
        model = tmpdir;
        const char *tdir = NULL;
        if (make_judge(model, &s, &tdir)) {
            fprintf(stderr, "bench_explain_ig: writing the judge failed\n");
            wdb_rm_dir(tmpdir);
            return 3;
        }
        printf("judge: random llama, hidden %ld, %ld layers, %ld heads / %ld kv, vocab %ld (tokenizer %s)\n", s.C,
               s.L, s.H, s.KV, s.V, tdir);
    }
    wd__ig_params p = wd__ig_params_default();
    p.steps = (int)steps;
    p.batch = (size_t)batch;
    p.n_threads = (int)threads;
    p.template_text = short_tmpl ? SHORT_TMPL : NULL;
    wd__ig *ig = NULL;
    int32_t *ids = NULL;
    size_t T = 0, t0 = 0, t1 = 0;
    double start = wdb_now();
    if (wd__ig_new(model, &p, &ig) || wd__ig_prompt(ig, TEXT, strlen(TEXT), &ids, &T, &t0, &t1)) {
        fprintf(stderr, "bench_explain_ig: %s\n", wd_last_error());
        wd__ig_free(ig);
        if (model == tmpdir) wdb_rm_dir(tmpdir);
        return 3;
    }
    printf("explainer ready in %.2f s, %ld threads; %s: %zu tokens = head %zu + text %zu + tail %zu\n",
           wdb_now() - start, threads, short_tmpl ? "one-line template" : "Llama Guard 3 prompt", T, t0, t1 - t0,
           T - t1);
    printf("%ld steps (%s), target %s, baseline %s\n", steps, wd__ig_rule_str(p.rule), wd__ig_target_str(p.target),
           wd__ig_baseline_str(p.baseline));
    /* the explanation first: it plans the decoder for its batch */
    wd__ig_result r = {0};
    double *te = malloc((size_t)reps * sizeof *te);
    int rc = 0;
    for (long k = -1; k < reps && !rc; k++) { /* k = -1: warm-up */
        double a = wdb_now();
        if (wd__ig_explain(ig, TEXT, strlen(TEXT), &r)) {
            fprintf(stderr, "bench_explain_ig: %s\n", wd_last_error());
            rc = 3;
        }
        if (k >= 0) te[k] = wdb_now() - a;
        if (k == reps - 1 && !rc)
            printf("explanation: f(x) %.4f, f(x') %.4f, delta %.3g (%.2g of f(x) - f(x')), p(unsafe) %.4g, %zu "
                   "rows\n",
                   r.value, r.base_value, r.delta, fabs(r.delta) / fmax(fabs(r.value - r.base_value), 1e-300),
                   r.p_unsafe, r.n_rows);
        wd__ig_result_free(&r);
    }
    if (!rc) {
        size_t B = wd__ig_batch(ig);
        double t_ex = wdb_median(te, (size_t)reps);
        double t_f = time_path(ig, ids, T, t0, t1, 1, false, reps);
        double t_fb = time_path(ig, ids, T, t0, t1, 1, true, reps);
        double t_pass = time_path(ig, ids, T, t0, t1, B, true, reps);
        printf("one forward row:               %9.2f ms\n", t_f * 1e3);
        printf("one forward+backward row:      %9.2f ms\n", t_fb * 1e3);
        printf("one pass of %3zu rows:          %9.2f ms  (%.2f ms a row)\n", B, t_pass * 1e3, t_pass * 1e3 / B);
        printf("one explanation (%ld steps):    %9.2f ms  %.3f explanations/s, %.1f x a forward+backward row\n",
               steps, t_ex * 1e3, 1.0 / t_ex, t_ex / t_fb);
    }
    free(te);
    free(ids);
    wd__ig_free(ig);
    if (model == tmpdir) wdb_rm_dir(tmpdir);
    return rc;
}
