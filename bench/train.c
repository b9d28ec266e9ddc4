/*
 * bench/train.c - the training engine (train/tdec.c) against the machine's
 * sgemm roofline: tokens/s of a training step, the fraction of sgemm it
 * reaches, and peak memory for full fine-tuning, LoRA and gradient
 * checkpointing.
 *
 *   build/bench/bench_train [--threads N] [--reps N] [--only 100m|1b]
 *       [--mode full|lora|ckpt] [--batch B] [--seq T] [--layers-1b L]
 *       [--all] [--no-adamw] [--json]
 *
 * Defaults: 2 threads (warden's pool and OpenBLAS), T = 256, 2 timed steps.
 * Two random F32 Llama-shaped checkpoints are written under /tmp (by a child
 * process, see benchutil.h) and deleted at the end:
 *   100m  hidden 768, 12 layers, 12 heads, intermediate 2048, vocab 32000
 *         (134 M parameters: 85 M in the layers, 2 x 24.6 M embeddings/head)
 *   1b    hidden 2048, 16 layers, 32 heads / 8 kv heads, intermediate 8192,
 *         vocab 32000 (1.10 B parameters; Llama 3.2 1B's body, Llama 2's vocab)
 * Each configuration runs in its own child process (its own peak RSS):
 *   full   every parameter trainable
 *   lora   LoRA rank 16, alpha 32 on q_proj, v_proj; everything else frozen
 *   ckpt   full, with gradient checkpointing (only each layer's input kept)
 * 100m: full 1 x T, full / lora / ckpt 4 x T; 1b: full and lora 1 x T
 * (1 timed step; --reps 3 gives 2), each after one warm-up step (which
 * takes the first touch of every buffer: page faults cost ~10 us each on
 * this VM). 1b ckpt only with --all or --mode ckpt (at 1 x 256 the
 * activations are 0.9 of 18.5 GB). --layers-1b L shrinks 1b where memory
 * is short (full fine-tuning needs 16 bytes per parameter: 18.5 GB).
 *
 * A step is wd__tdec_forward + wd__tdec_logp + wd__tdec_backward_logp of the
 * mean next-token loss over random ids (no optimiser); AdamW over the whole
 * gradient vector (train/optim.h) is timed apart, and skipped when its two
 * moment vectors would not fit in MemAvailable with 1 GiB to spare.
 *
 * FLOPs of a step (N = B*T tokens):
 *   P      = the matmul parameters: L*(C*H*D + 2*C*KV*D + H*D*C + 3*C*F) + V*C
 *            (lm_head; the embedding is a lookup, not a matmul)
 *   attn   = 12*L*B*H*T^2*D (forward q k^T and P v: 4*T^2*D per head; the
 *            backward twice that; the full T x T products, as the code runs
 *            them, not the causal half)
 *   full   6*N*P + attn      (forward 2NP, backward dx 2NP + dW 2NP)
 *   lora   4*N*P + attn + 6*N*r*(in+out) per adapter (frozen W: no dW)
 *   ckpt   counted as full ("model FLOPs"; the recomputed forward,
 *          2*N*P_layers + attn/3, is extra work that the fraction pays for)
 * The roofline is cblas_sgemm on the step's own matmul shapes: for each
 * distinct linear layer and the lm_head the forward (N,C)x(OC,C)^T, the
 * input gradient (N,OC)x(OC,C) and the weight gradient (OC,N)x(N,C),
 * weighted by how often the step runs them -> GFLOP/s (a layer's shape
 * runs 3 times and its median run counts). One sample follows each timed
 * step, so that other load on the machine hits both alike:
 * fraction = median over steps of (step FLOPs / step time / sample); 'best'
 * is the fastest step against the fastest sample. Where other processes
 * share the cores, a third estimate counts CPU seconds (all of this
 * process's threads) instead of wall seconds for both the step and the
 * sample: it does not see time lost while a thread waits for a core (nor
 * an idle partner thread), so it reads high where the step has serial
 * parts.
 *
 * Memory: peak RSS (VmHWM) of the child after the checkpoint's mapping is
 * released (the decoder keeps its own float32 copy of the weights; the
 * trainer `warden train` also keeps the mapped checkpoint, page cache that
 * the kernel may reclaim), with AdamW's two moment vectors allocated and
 * touched; and the parts known exactly: weights, gradients, AdamW state.
 *
 * Profiling: WDB_TRAIN_TRACE=1 moves the sgemm samples after the steps and
 * prints the steps' CLOCK_MONOTONIC span as perf's --time argument:
 *   WDB_TRAIN_TRACE=1 perf record -k CLOCK_MONOTONIC --call-graph dwarf \
 *       build/bench/bench_train --only 100m --mode full --batch 4 --no-adamw
 *   perf report --time A,B --no-children --sort symbol
 */
#include <cblas.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "benchutil.h"
#include "train/optim.h"
#include "train/tdec.h"
#include "warden/ops.h"
#include "warden/warden.h"

/* ==== one configuration, in a child ====================================== */

typedef enum cfg_kind { CFG_FULL = 0, CFG_LORA, CFG_CKPT } cfg_kind;
static const char *const k_cfg_name[] = {"full", "lora", "ckpt"};

typedef struct job {
    const char *model;  /* "100m" or "1b" */
    wdb_shape   s;
    cfg_kind    kind;
    long        B, T;
    int         reps;
    bool        warm;     /* one untimed step first */
    bool        extra;    /* only with --all */
} job;

/* What a child sends back through its pipe. */
typedef struct result {
    int    ok;
    char   err[240];
    double n_params, n_trainable, flops, flops_hw;
    double t_fwd, t_logp, t_bwd, t_step, t_adam; /* medians, seconds */
    double rss_base, rss_peak;                   /* bytes            */
    double adam_bytes;                           /* 0 when skipped   */
    double sgemm_gflops;                         /* median of one sample per step */
    double fraction;                             /* median over steps of flops/t/sgemm */
    double t_step_best, sgemm_best;              /* fastest step, fastest sample */
    double sgemm_square;                         /* best of 3 on 2048^3, GFLOP/s */
    double cpu_step, fraction_cpu;               /* the same in CPU seconds (medians) */
} result;

/* A "Key: N kB" line of a /proc file, in kB (-1 when absent). */
static long proc_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n)) kb = atol(line + n);
    if (f) fclose(f);
    return kb;
}

static long status_kb(const char *key) { return proc_kb("/proc/self/status", key); }
static long meminfo_kb(const char *key) { return proc_kb("/proc/meminfo", key); }

/* CPU seconds of every thread of this process. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Linux: 5 into clear_refs resets VmHWM to the current RSS. */
static void reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* cblas_sgemm on a full step's matmul shapes: one of each distinct linear
 * layer (weighted x L) and the lm_head, forward + dx + dW. */
typedef struct roof {
    long   oc[6], ic[6], N;
    double cnt[6];
    float *w, *x, *y, *g, *dx;
} roof;

static bool roof_init(roof *q, const wdb_shape *s, long D, long N) {
    long HD = s->H * D, KD = s->KV * D;
    long oc[] = {HD, KD, s->C, s->F, s->C, s->V};
    long ic[] = {s->C, s->C, HD, s->C, s->F, s->C};
    double cnt[] = {(double)s->L, 2.0 * s->L, (double)s->L, 2.0 * s->L, (double)s->L, 1.0};
    memcpy(q->oc, oc, sizeof oc), memcpy(q->ic, ic, sizeof ic), memcpy(q->cnt, cnt, sizeof cnt);
    q->N = N;
    size_t maxw = 0, maxx = 0;
    for (int i = 0; i < 6; i++) {
        size_t w = (size_t)oc[i] * (size_t)ic[i];
        size_t x = (size_t)N * (size_t)(oc[i] > ic[i] ? oc[i] : ic[i]);
        maxw = w > maxw ? w : maxw;
        maxx = x > maxx ? x : maxx;
    }
    q->w = malloc(maxw * sizeof *q->w), q->x = malloc(maxx * sizeof *q->x);
    q->y = malloc(maxx * sizeof *q->y), q->g = malloc(maxw * sizeof *q->g);
    q->dx = calloc(maxx, sizeof *q->dx);
    if (!q->w || !q->x || !q->y || !q->g || !q->dx) return false;
    uint64_t seed = 7;
    wdb_fill(q->w, maxw, 0.02f, &seed);
    wdb_fill(q->x, maxx, 1.0f, &seed);
    wdb_fill(q->y, maxx, 1.0f, &seed);
    wdb_fill(q->g, maxw, 1.0f, &seed);
    return true;
}

static void roof_free(roof *q) { free(q->w), free(q->x), free(q->y), free(q->g), free(q->dx); }

/* Seconds of the three products of shape i, once; *cpu gets their CPU
 * seconds. */
static double roof_shape(roof *q, int i, double *cpu) {
    int oc = (int)q->oc[i], ic = (int)q->ic[i], N = (int)q->N;
    double c0 = cpu_now(), t0 = wdb_now();
    /* forward: y (N,OC) = x (N,C) w^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, oc, ic, 1.0f, q->x, ic, q->w, ic,
                0.0f, q->y, oc);
    /* dx (N,C) += dout (N,OC) w (OC,C) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, ic, oc, 1.0f, q->y, oc, q->w, ic,
                1.0f, q->dx, ic);
    /* dw (OC,C) += dout^T (OC,N) x (N,C) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, oc, ic, N, 1.0f, q->y, oc, q->x, ic,
                1.0f, q->g, ic);
    double t = wdb_now() - t0;
    *cpu = cpu_now() - c0;
    return t;
}

/* One sample of the roofline, GFLOP/s; *per_cpu (or NULL) gets GFLOP per
 * CPU second. A layer's shape stands for L (or 2L) of the step's
 * products, so it runs 3 times and the run with the median time counts:
 * one preempted call would otherwise weigh L times. */
static double roof_sample(roof *q, double *per_cpu) {
    double t = 0, c = 0, fl = 0;
    for (int i = 0; i < 6; i++) {
        double ti[3], ci[3], sorted[3];
        int n = q->cnt[i] > 1 ? 3 : 1;
        for (int k = 0; k < n; k++) sorted[k] = ti[k] = roof_shape(q, i, &ci[k]);
        double med = wdb_median(sorted, (size_t)n);
        int km = 0;
        for (int k = 0; k < n; k++)
            if (ti[k] == med) km = k;
        t += q->cnt[i] * ti[km];
        c += q->cnt[i] * ci[km];
        fl += q->cnt[i] * 6.0 * (double)q->N * (double)q->ic[i] * (double)q->oc[i];
    }
    if (per_cpu) *per_cpu = fl / c / 1e9;
    return fl / t / 1e9;
}

/* What sgemm does where shapes do not hold it back: best of 3 on
 * 2048 x 2048 x 2048, GFLOP/s. */
static double square_sgemm(void) {
    const int n = 2048;
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
    float *c = malloc((size_t)n * n * sizeof *c);
    double best = 0;
    if (a && b && c) {
        uint64_t seed = 5;
        wdb_fill(a, (size_t)n * n, 1.0f, &seed);
        wdb_fill(b, (size_t)n * n, 1.0f, &seed);
        for (int r = 0; r < 4; r++) {
            double t0 = wdb_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
                        0.0f, c, n);
            double g = 2.0 * n * n * n / (wdb_now() - t0) / 1e9;
            if (r > 0 && g > best) best = g;
        }
    }
    free(a), free(b), free(c);
    return best;
}

/* Drops the page cache of dir's files: the 1b checkpoint's 4.4 GB would
 * otherwise crowd a full fine-tune's 18.5 GB on a 24 GB machine. */
static void drop_cache(const char *dir) {
    DIR *dd = opendir(dir);
    struct dirent *e;
    char p[1024];
    while (dd && (e = readdir(dd))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        int fd = open(p, O_RDONLY);
        if (fd >= 0) {
            (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
    }
    if (dd) closedir(dd);
}

static void run_job(const job *j, const char *dir, int threads, bool adamw, result *R) {
    memset(R, 0, sizeof *R);
    const wdb_shape *s = &j->s;
    wd_threadpool *tp = NULL;
    if (wd_threadpool_new(threads, &tp)) {
        snprintf(R->err, sizeof R->err, "threadpool");
        return;
    }
    wd_blas_set_threads(threads);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = threads;
    mp.load_tokenizer = false;
    wd_model *m = NULL;
    if (wd_model_load(dir, &mp, &m)) {
        snprintf(R->err, sizeof R->err, "load: %s", wd_last_error());
        return;
    }
    wd__tdec d;
    if (wd__tdec_init(&d, m)) {
        snprintf(R->err, sizeof R->err, "init: %.200s", d.err.msg);
        wd__tdec_free(&d), wd_model_free(m);
        return;
    }
    /* the decoder holds float32 copies: drop the mapped checkpoint, run on
     * a pool of our own */
    d.tp = tp;
    wd_model_free(m);
    drop_cache(dir);
    reset_peak_rss();
    R->rss_base = status_kb("VmRSS:") * 1024.0;
    if (j->kind == CFG_LORA) {
        wd__lora_spec spec = {.rank = 16, .alpha = 32.0f,
                              .targets = (1u << WD__LORA_Q) | (1u << WD__LORA_V)};
        if (wd__tdec_add_lora(&d, &spec, 1)) {
            snprintf(R->err, sizeof R->err, "lora: %.200s", d.err.msg);
            wd__tdec_free(&d);
            return;
        }
    }
    size_t B = (size_t)j->B, T = (size_t)j->T, N = B * T;
    if (wd__tdec_plan(&d, B, T, j->kind == CFG_CKPT)) {
        snprintf(R->err, sizeof R->err, "plan: %.200s", d.err.msg);
        wd__tdec_free(&d);
        return;
    }
    int32_t *ids = malloc(N * sizeof *ids), *tg = malloc(N * sizeof *tg);
    float *logp = malloc(N * sizeof *logp), *dlogp = malloc(N * sizeof *dlogp);
    uint64_t seed = 11;
    for (size_t i = 0; i < N; i++) ids[i] = (int32_t)(wdb_rng_next(&seed) % (uint64_t)s->V);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++)
            tg[b * T + t] = t + 1 < T ? ids[b * T + t + 1] : WD_IGNORE_INDEX;
    for (size_t i = 0; i < N; i++) dlogp[i] = -1.0f / (float)(N - B);

    /* AdamW's moments, when they fit beside what is there (with 1 GiB spare) */
    size_t ng = d.P.n_grad;
    float *am = NULL, *av = NULL;
    double need_kb = 2.0 * ng * sizeof(float) / 1024.0;
    if (adamw && meminfo_kb("MemAvailable:") > need_kb + (1 << 20)) {
        am = calloc(ng ? ng : 1, sizeof *am);
        av = calloc(ng ? ng : 1, sizeof *av);
        if (am && av) {
            /* touched now, so that the first AdamW step does not take the
             * page faults (a plain memset after calloc is optimised away;
             * the 2 M faults of the 1b moments cost ~50 s on this VM) */
            static void *(*volatile touch)(void *, int, size_t) = memset;
            touch(am, 0, ng * sizeof *am);
            touch(av, 0, ng * sizeof *av);
            R->adam_bytes = 2.0 * ng * sizeof(float);
        } else {
            free(am), free(av);
            am = av = NULL;
        }
    }

    int reps = j->reps;
    double tf[16], tl[16], tb[16], ts[16], ta[16], gf[16], fr[16], cs[16], gc[16], fc[16];
    wd_status rc = WD_OK;
    wd__adamw_params ap = wd__adamw_params_default();
    ap.weight_decay = 0.1;
    roof q = {0};
    bool have_roof = false;
    /* FLOPs, see the header */
    double D = (double)d.D, HD = (double)(d.H * d.D), KD = (double)(d.KV * d.D);
    double C = (double)d.C, F = (double)d.F, L = (double)d.L;
    double Pl = L * (C * HD + 2 * C * KD + HD * C + 3 * C * F), P = Pl + (double)d.V * C;
    double attn = 12.0 * L * (double)B * (double)d.H * (double)T * (double)T * D;
    if (j->kind == CFG_LORA) {
        double r = 16, ad = L * r * ((C + HD) + (C + KD)); /* q and v */
        R->flops = 4.0 * N * P + attn + 6.0 * N * ad;
        R->flops_hw = R->flops;
    } else {
        R->flops = 6.0 * N * P + attn;
        R->flops_hw = R->flops + (j->kind == CFG_CKPT ? 2.0 * N * Pl + attn / 3 : 0);
    }
    double t_first = 0, t_last = 0;
    bool trace = getenv("WDB_TRAIN_TRACE") != NULL; /* roofline samples after the steps */
    for (int r = j->warm ? -1 : 0; r < reps && !rc; r++) {
        wd__tparams_zero_grad(&d.P);
        double c0 = cpu_now();
        double t0 = wdb_now();
        if (r == 0) t_first = t0;
        rc = wd__tdec_forward(&d, ids, B, T, NULL);
        double t1 = wdb_now();
        if (!rc) rc = wd__tdec_logp(&d, tg, logp);
        double t2 = wdb_now();
        if (!rc) rc = wd__tdec_backward_logp(&d, tg, dlogp, NULL);
        double t3 = wdb_now();
        double c3 = cpu_now();
        t_last = t3;
        if (am)
            for (size_t i = 0; i < d.P.n; i++) {
                wd__tparam *p = d.P.t[i];
                if (p->g)
                    wd__adamw_step(p->w, am + p->goff, av + p->goff, p->g, p->n, &ap, 1e-5,
                                   (uint64_t)(r + 2), p->decay);
            }
        double t4 = wdb_now();
        if (!have_roof) {
            /* the step's peak is in; the roofline's buffers come after it */
            R->rss_peak = status_kb("VmHWM:") * 1024.0;
            if (!roof_init(&q, s, (long)d.D, (long)N)) {
                snprintf(R->err, sizeof R->err, "out of memory for the sgemm buffers");
                rc = WD_ERR_NOMEM;
                break;
            }
            have_roof = true;
            (void)roof_sample(&q, NULL); /* warm */
        }
        if (r >= 0) {
            tf[r] = t1 - t0, tl[r] = t2 - t1, tb[r] = t3 - t2, ts[r] = t3 - t0, ta[r] = t4 - t3;
            cs[r] = c3 - c0;
            if (!trace) gf[r] = roof_sample(&q, &gc[r]);
        }
    }
    for (int r = 0; r < reps && !rc; r++) {
        if (trace) gf[r] = roof_sample(&q, &gc[r]);
        fr[r] = R->flops / ts[r] / 1e9 / gf[r];
        fc[r] = R->flops / cs[r] / 1e9 / gc[r];
    }
    /* for `perf record -k CLOCK_MONOTONIC` + `perf report --time A,B` (which
     * then also counts the AdamW steps and roofline samples in between) */
    if (trace)
        fprintf(stderr, "steps: --time %.6f,%.6f\n", t_first, t_last);
    if (rc) {
        if (!R->err[0]) snprintf(R->err, sizeof R->err, "step: %.200s", d.err.msg);
    } else {
        R->t_fwd = wdb_median(tf, (size_t)reps), R->t_logp = wdb_median(tl, (size_t)reps);
        R->t_bwd = wdb_median(tb, (size_t)reps), R->t_step = wdb_median(ts, (size_t)reps);
        R->t_adam = am ? wdb_median(ta, (size_t)reps) : 0;
        R->sgemm_gflops = wdb_median(gf, (size_t)reps);
        R->fraction = wdb_median(fr, (size_t)reps);
        R->fraction_cpu = wdb_median(fc, (size_t)reps);
        R->cpu_step = wdb_median(cs, (size_t)reps);
        R->t_step_best = ts[0], R->sgemm_best = gf[0];
        for (int r = 1; r < reps; r++) {
            R->t_step_best = ts[r] < R->t_step_best ? ts[r] : R->t_step_best;
            R->sgemm_best = gf[r] > R->sgemm_best ? gf[r] : R->sgemm_best;
        }
        R->n_params = (double)d.P.n_values;
        R->n_trainable = (double)ng;
        R->ok = 1;
    }
    roof_free(&q);
    free(am), free(av);
    if (R->ok) R->sgemm_square = square_sgemm();
    free(ids), free(tg), free(logp), free(dlogp);
    wd__tdec_free(&d);
    wd_threadpool_free(tp);
}

/* Runs j in a child process; the result comes back through a pipe. */
static void run_child(const job *j, const char *dir, int threads, bool adamw, result *R) {
    memset(R, 0, sizeof *R);
    int fd[2];
    if (pipe(fd)) {
        snprintf(R->err, sizeof R->err, "pipe");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(R->err, sizeof R->err, "fork");
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        result r;
        run_job(j, dir, threads, adamw, &r);
        ssize_t n = write(fd[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *R) {
        ssize_t n = read(fd[0], (char *)R + got, sizeof *R - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (got != sizeof *R) {
        memset(R, 0, sizeof *R);
        snprintf(R->err, sizeof R->err, "child died (%s %d)",
                 WIFSIGNALED(st) ? "signal" : "status",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
}

/* ==== main ================================================================ */

/* The 1-minute load average: other processes on the cores show up here,
 * and in every timing. */
static double load1(void) {
    FILE *f = fopen("/proc/loadavg", "r");
    double x = -1;
    if (f) {
        if (fscanf(f, "%lf", &x) != 1) x = -1;
        fclose(f);
    }
    return x;
}

#define GB(x) ((x) / 1e9)

int main(int argc, char **argv) {
    int threads = 2, reps = 2, layers_1b = 16;
    long T = 256;
    const char *only = NULL, *mode = NULL;
    long batch = 0;
    bool json = false, adamw = true, all = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!strcmp(a, "--no-adamw")) { adamw = false; continue; }
        if (!strcmp(a, "--all")) { all = true; continue; }
        if (!v) { fprintf(stderr, "bench_train: unknown option or missing value: %s\n", a); return 2; }
        i++;
        if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--reps")) reps = atoi(v);
        else if (!strcmp(a, "--seq")) T = atol(v);
        else if (!strcmp(a, "--layers-1b")) layers_1b = atoi(v);
        else if (!strcmp(a, "--only")) only = v;
        else if (!strcmp(a, "--mode")) mode = v;
        else if (!strcmp(a, "--batch")) batch = atol(v);
        else { fprintf(stderr, "bench_train: unknown option %s\n", a); return 2; }
    }
    if (threads < 1 || reps < 1 || reps > 16 || T < 2 || layers_1b < 1 ||
        (only && strcmp(only, "100m") && strcmp(only, "1b"))) {
        fprintf(stderr, "bench_train: --threads >= 1, --reps 1..16, --seq >= 2, "
                        "--layers-1b >= 1, --only 100m|1b\n");
        return 2;
    }
    wdb_shape s100 = {.C = 768, .L = 12, .F = 2048, .H = 12, .KV = 12, .V = 32000};
    wdb_shape s1b = {.C = 2048, .L = layers_1b, .F = 8192, .H = 32, .KV = 8, .V = 32000};
    int reps1b = reps > 2 ? reps - 1 : 1;
    job jobs[] = {
        {"100m", s100, CFG_FULL, 1, T, reps, true, false},
        {"100m", s100, CFG_FULL, 4, T, reps, true, false},
        {"100m", s100, CFG_LORA, 4, T, reps, true, false},
        {"100m", s100, CFG_CKPT, 4, T, reps, true, false},
        {"1b", s1b, CFG_FULL, 1, T, reps1b, true, false},
        {"1b", s1b, CFG_LORA, 1, T, reps1b, true, false},
        {"1b", s1b, CFG_CKPT, 1, T, reps1b, false, true},
    };
    size_t nj = sizeof jobs / sizeof *jobs;
    result res[sizeof jobs / sizeof *jobs];
    memset(res, 0, sizeof res);
    double t_all = wdb_now();
    const char *models[2] = {"100m", "1b"};
    const wdb_shape *shapes[2] = {&s100, &s1b};
    FILE *log = json ? stderr : stdout;
    double load_start = load1();
    fprintf(log, "bench_train: %d threads, T = %ld, %d reps (1b: %d), AdamW %s; load average %.2f\n",
            threads, T, reps, reps1b, adamw ? "on" : "off", load_start);
    for (int k = 0; k < 2; k++) {
        if (only && strcmp(only, models[k])) continue;
        char dir[] = "/tmp/wd_bench_train_XXXXXX";
        if (!mkdtemp(dir)) { perror("mkdtemp"); return 3; }
        double t0 = wdb_now();
        if (wdb_gen_llama_child(dir, shapes[k])) {
            fprintf(stderr, "bench_train: writing the %s checkpoint failed\n", models[k]);
            wdb_rm_dir(dir);
            return 3;
        }
        fprintf(log, "%s: checkpoint %s written in %.1f s\n", models[k], dir, wdb_now() - t0);
        for (size_t i = 0; i < nj; i++) {
            if (strcmp(jobs[i].model, models[k])) continue;
            if (mode && strcmp(mode, k_cfg_name[jobs[i].kind])) continue;
            if (jobs[i].extra && !all && !mode) continue;
            if (batch && batch != jobs[i].B) continue;
            t0 = wdb_now();
            run_child(&jobs[i], dir, threads, adamw, &res[i]);
            fprintf(log, "  %-4s %-4s %ld x %ld: %s (%.1f s)\n", jobs[i].model,
                    k_cfg_name[jobs[i].kind], jobs[i].B, jobs[i].T,
                    res[i].ok ? "done" : res[i].err, wdb_now() - t0);
        }
        wdb_rm_dir(dir);
    }
    if (!json) {
        printf("\nseconds and rates: medians over the steps; 'best': fastest step against the "
               "fastest sgemm sample;\ncpu: CPU seconds of the step (all threads) and the fraction in "
               "FLOPs per CPU second; sq2048: sgemm's GFLOP/s on 2048^3 (what the step's own "
               "shapes lose against large ones)\n");
        printf("%-5s %-5s %-6s %9s %7s %7s %7s %7s %7s | %7s %7s %7s %6s | %7s %6s | %6s %6s | %7s\n",
               "model", "mode", "batch", "trainable", "step s", "fwd", "logp", "bwd", "AdamW",
               "tok/s", "GFLOP/s", "sgemm", "frac", "tok/s", "frac", "cpu s", "frac", "sq2048");
        for (size_t i = 0; i < nj; i++) {
            const result *r = &res[i];
            if (!r->ok) continue;
            char bs[32];
            snprintf(bs, sizeof bs, "%ldx%ld", jobs[i].B, jobs[i].T);
            double tok = (double)(jobs[i].B * jobs[i].T);
            printf("%-5s %-5s %-6s %8.2fM %7.3f %7.3f %7.3f %7.3f %7.3f | %7.1f %7.1f %7.1f %6.2f | "
                   "%7.1f %6.2f | %6.2f %6.2f | %7.1f\n",
                   jobs[i].model, k_cfg_name[jobs[i].kind], bs, r->n_trainable / 1e6, r->t_step,
                   r->t_fwd, r->t_logp, r->t_bwd, r->t_adam, tok / r->t_step,
                   r->flops / r->t_step / 1e9, r->sgemm_gflops, r->fraction,
                   tok / r->t_step_best, r->flops / r->t_step_best / 1e9 / r->sgemm_best,
                   r->cpu_step, r->fraction_cpu, r->sgemm_square);
        }
        printf("\nmemory (GB): weights, gradients, AdamW m+v exact; peak = VmHWM of the "
               "configuration's process\n");
        printf("%-5s %-5s %-8s %8s %8s %8s %8s %8s\n", "model", "mode", "batch", "weights",
               "grads", "AdamW", "rest", "peak");
        for (size_t i = 0; i < nj; i++) {
            const result *r = &res[i];
            if (!r->ok) continue;
            char bs[32];
            snprintf(bs, sizeof bs, "%ldx%ld", jobs[i].B, jobs[i].T);
            double w = r->n_params * 4, g = r->n_trainable * 4;
            char adam[32] = "skipped";
            if (r->adam_bytes) snprintf(adam, sizeof adam, "%.2f", GB(r->adam_bytes));
            printf("%-5s %-5s %-8s %8.2f %8.2f %8s %8.2f %8.2f\n", jobs[i].model,
                   k_cfg_name[jobs[i].kind], bs, GB(w), GB(g), adam,
                   GB(r->rss_peak - w - g - r->adam_bytes), GB(r->rss_peak));
        }
        printf("\nckpt's fraction counts model FLOPs (6NP + attention); with its recomputed "
               "forward the machine does 4/3 of the layers' work.\n");
        printf("total %.0f s; 1-minute load average %.2f at the start, %.2f at the end\n",
               wdb_now() - t_all, load_start, load1());
    } else {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < nj; i++) {
            const result *r = &res[i];
            if (!r->ok && !r->err[0]) continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "model", jobs[i].model);
            cJSON_AddStringToObject(o, "mode", k_cfg_name[jobs[i].kind]);
            cJSON_AddNumberToObject(o, "B", (double)jobs[i].B);
            cJSON_AddNumberToObject(o, "T", (double)jobs[i].T);
            cJSON_AddNumberToObject(o, "threads", threads);
            if (!r->ok) {
                cJSON_AddStringToObject(o, "error", r->err);
            } else {
                cJSON_AddNumberToObject(o, "params", r->n_params);
                cJSON_AddNumberToObject(o, "trainable", r->n_trainable);
                cJSON_AddNumberToObject(o, "step_s", r->t_step);
                cJSON_AddNumberToObject(o, "forward_s", r->t_fwd);
                cJSON_AddNumberToObject(o, "logp_s", r->t_logp);
                cJSON_AddNumberToObject(o, "backward_s", r->t_bwd);
                cJSON_AddNumberToObject(o, "adamw_s", r->t_adam);
                cJSON_AddNumberToObject(o, "tokens_per_s", jobs[i].B * jobs[i].T / r->t_step);
                cJSON_AddNumberToObject(o, "step_flops", r->flops);
                cJSON_AddNumberToObject(o, "step_flops_performed", r->flops_hw);
                cJSON_AddNumberToObject(o, "sgemm_gflops", r->sgemm_gflops);
                cJSON_AddNumberToObject(o, "fraction_of_sgemm", r->fraction);
                cJSON_AddNumberToObject(o, "best_step_s", r->t_step_best);
                cJSON_AddNumberToObject(o, "best_sgemm_gflops", r->sgemm_best);
                cJSON_AddNumberToObject(o, "best_fraction_of_sgemm",
                                        r->flops / r->t_step_best / 1e9 / r->sgemm_best);
                cJSON_AddNumberToObject(o, "sgemm_2048_gflops", r->sgemm_square);
                cJSON_AddNumberToObject(o, "step_cpu_s", r->cpu_step);
                cJSON_AddNumberToObject(o, "fraction_of_sgemm_cpu", r->fraction_cpu);
                cJSON_AddNumberToObject(o, "rss_weights_only_bytes", r->rss_base);
                cJSON_AddNumberToObject(o, "peak_rss_bytes", r->rss_peak);
                cJSON_AddNumberToObject(o, "adamw_state_bytes", r->adam_bytes);
            }
            cJSON_AddItemToArray(arr, o);
        }
        cJSON *top = cJSON_CreateObject();
        cJSON_AddNumberToObject(top, "load_average_start", load_start);
        cJSON_AddNumberToObject(top, "load_average_end", load1());
        cJSON_AddNumberToObject(top, "seconds", wdb_now() - t_all);
        cJSON_AddItemToObject(top, "runs", arr);
        char *txt = cJSON_Print(top);
        puts(txt);
        free(txt);
        cJSON_Delete(top);
    }
    return 0;
}
