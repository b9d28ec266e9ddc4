/*
 * bench/merge.c - `warden merge` streams: memory and speed on 1B-shaped
 * checkpoints. Writes three F32 Llama checkpoints of hidden 2048, 16 layers
 * (32 heads, no GQA), intermediate 5632, vocabulary 32000 (1.03 B params,
 * 4.1 GB each; a base and two models = base + small random task vectors), in
 * 2 GB shards through wd_checkpoint_writer, each in a child process. Then,
 * in the same run:
 *   baseline  read() of the three models' files (the bytes a merge must
 *             read) plus write + fsync of one model's bytes (what it must
 *             write): the I/O floor of a merge;
 *   ties      wd_merge ties, density 0.5, weights 0.5 / 0.5;
 *   dare      wd_merge dare-linear, density 0.5, seed 1;
 * each merge in a child process of its own, so that its peak RSS (VmHWM) is
 * its alone. Prints every merge's seconds, its time over the baseline's, and
 * its peak RSS over one model's size (issue 18: below 1.5). The page cache
 * is left as it is (warm after writing; 23 GB machines may not hold it all).
 * Everything is deleted at the end.
 *
 *   bench_merge [--scale F] [--dir DIR]   F in (0, 1] scales layers and
 *                                         vocabulary (quick runs); DIR is
 *                                         where the checkpoints go (/tmp)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "warden/warden.h"
#include "warden/weights.h"

typedef struct shape {
    long C, L, F, V;
} shape;

typedef struct tensor {
    char    name[96];
    int64_t shape[2];
    int     ndim;
    size_t  n;
} tensor;

/* The Llama tensors of s, in the order transformers saves them; *n set. */
static tensor *tensors(const shape *s, size_t *n) {
    tensor *t = calloc((size_t)(9 * s->L + 3), sizeof *t);
    size_t k = 0;
#define ADD(r, c, ...)                                           \
    do {                                                         \
        snprintf(t[k].name, sizeof t[k].name, __VA_ARGS__);      \
        t[k].shape[0] = (r), t[k].shape[1] = (c);                \
        t[k].ndim = (c) ? 2 : 1;                                 \
        t[k].n = (size_t)(r) * (size_t)((c) ? (c) : 1);          \
        k++;                                                     \
    } while (0)
    ADD(s->V, s->C, "model.embed_tokens.weight");
    for (long l = 0; l < s->L; l++) {
        ADD(s->C, 0, "model.layers.%ld.input_layernorm.weight", l);
        ADD(s->C, s->C, "model.layers.%ld.self_attn.q_proj.weight", l);
        ADD(s->C, s->C, "model.layers.%ld.self_attn.k_proj.weight", l);
        ADD(s->C, s->C, "model.layers.%ld.self_attn.v_proj.weight", l);
        ADD(s->C, s->C, "model.layers.%ld.self_attn.o_proj.weight", l);
        ADD(s->C, 0, "model.layers.%ld.post_attention_layernorm.weight", l);
        ADD(s->F, s->C, "model.layers.%ld.mlp.gate_proj.weight", l);
        ADD(s->F, s->C, "model.layers.%ld.mlp.up_proj.weight", l);
        ADD(s->C, s->F, "model.layers.%ld.mlp.down_proj.weight", l);
    }
    ADD(s->C, 0, "model.norm.weight");
    ADD(s->V, s->C, "lm_head.weight");
#undef ADD
    *n = k;
    return t;
}

/* Writes model k (0: the base; k > 0: the base plus a delta of its own,
 * 0.1 of the base's scale) into dir, one tensor at a time through one
 * buffer. Runs in a child. Returns 0 if ok. */
static int gen_model(const char *dir, const tensor *t, size_t nt, int k) {
    mkdir(dir, 0755);
    wd_checkpoint_writer *w;
    if (wd_checkpoint_writer_new(dir, 2000000000ull, &w)) return 1;
    size_t cap = 1;
    for (size_t i = 0; i < nt; i++) {
        if (wd_checkpoint_writer_add(w, t[i].name, WD_DTYPE_F32, t[i].shape, t[i].ndim)) return 1;
        if (t[i].n > cap) cap = t[i].n;
    }
    if (wd_checkpoint_writer_begin(w)) return 1;
    float *buf = malloc(cap * sizeof *buf), *delta = malloc(cap * sizeof *delta);
    if (!buf || !delta) return 1;
    size_t i;
    while (wd_checkpoint_writer_next(w, &i)) {
        uint64_t seed = 1000 + i, dseed = 77 * (uint64_t)k + 1000003 * i;
        wdb_fill(buf, t[i].n, 0.02f, &seed);
        if (k > 0) {
            wdb_fill(delta, t[i].n, 0.002f, &dseed);
            for (size_t j = 0; j < t[i].n; j++) buf[j] += delta[j];
        }
        if (wd_checkpoint_writer_write(w, buf, t[i].n * sizeof *buf)) {
            fprintf(stderr, "bench_merge: %s\n", wd_last_error());
            return 1;
        }
    }
    int rc = wd_checkpoint_writer_finish(w) != WD_OK;
    if (rc) fprintf(stderr, "bench_merge: %s\n", wd_last_error());
    wd_checkpoint_writer_free(w);
    free(buf), free(delta);
    return rc;
}

/* Runs fn in a child; 0 if it exited 0. */
static int in_child(int (*fn)(void *), void *arg) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) _exit(fn(arg));
    int st = 0;
    return waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}

typedef struct gen_job {
    const char   *dir;
    const tensor *t;
    size_t        nt;
    int           k;
} gen_job;

static int gen_child(void *p) {
    const gen_job *g = p;
    return gen_model(g->dir, g->t, g->nt, g->k);
}

typedef struct merge_job {
    const char     *base, *m1, *m2, *out;
    wd_merge_method method;
    int             fd; /* the report goes back through this pipe */
} merge_job;

static int merge_child(void *p) {
    const merge_job *j = p;
    wd_merge_model m[2] = {{j->m1, 0.5}, {j->m2, 0.5}};
    wd_merge_params mp = wd_merge_params_default();
    mp.method = j->method;
    mp.base = j->base;
    mp.models = m;
    mp.n_models = 2;
    mp.density = 0.5;
    mp.seed = 1;
    mp.shard_bytes = 2000000000ull;
    wd_merge_report r;
    if (wd_merge(j->out, &mp, &r)) {
        fprintf(stderr, "bench_merge: %s\n", wd_last_error());
        return 1;
    }
    return write(j->fd, &r, sizeof r) != (ssize_t)sizeof r;
}

/* Seconds to read() every .safetensors file of dir once (1 MiB buffer);
 * adds the bytes read to *bytes. */
static double read_dir(const char *dir, uint64_t *bytes) {
    static char buf[1 << 20];
    double t0 = wdb_now();
    DIR *dp = opendir(dir);
    for (struct dirent *e; dp && (e = readdir(dp));) {
        size_t n = strlen(e->d_name);
        if (n < 12 || strcmp(e->d_name + n - 12, ".safetensors")) continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        int fd = open(p, O_RDONLY);
        ssize_t r;
        while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0) *bytes += (uint64_t)r;
        if (fd >= 0) close(fd);
    }
    if (dp) closedir(dp);
    return wdb_now() - t0;
}

/* Seconds to write + fsync nbytes into path (then removed). */
static double write_bytes(const char *path, uint64_t nbytes) {
    static char buf[1 << 20];
    memset(buf, 1, sizeof buf);
    double t0 = wdb_now();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (uint64_t k = 0; fd >= 0 && k < nbytes; k += sizeof buf)
        if (write(fd, buf, nbytes - k < sizeof buf ? nbytes - k : sizeof buf) < 0) break;
    if (fd >= 0) fsync(fd), close(fd);
    double s = wdb_now() - t0;
    unlink(path);
    return s;
}

int main(int argc, char **argv) {
    double scale = 1.0;
    const char *root = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--scale")) scale = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) root = argv[i + 1];
    }
    if (!(scale > 0 && scale <= 1)) return fprintf(stderr, "bench_merge: --scale in (0, 1]\n"), 2;
    shape s = {2048, (long)(16 * scale + 0.5), 5632, (long)(32000 * scale + 0.5)};
    if (s.L < 1) s.L = 1;
    size_t nt;
    tensor *t = tensors(&s, &nt);
    uint64_t params = 0;
    for (size_t i = 0; i < nt; i++) params += t[i].n;
    double model_bytes = 4.0 * (double)params;
    char dir[1024], d[4][1100];
    snprintf(dir, sizeof dir, "%s/wd-bench-merge-XXXXXX", root);
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    const char *names[4] = {"base", "m1", "m2", "out"};
    for (int k = 0; k < 4; k++) snprintf(d[k], sizeof d[k], "%s/%s", dir, names[k]);
    printf("bench_merge: 3 F32 Llama checkpoints, hidden %ld, %ld layers, intermediate %ld, vocab %ld: "
           "%.3f B params, %.2f GB each (in %s)\n",
           s.C, s.L, s.F, s.V, (double)params / 1e9, model_bytes / 1e9, dir);
    fflush(stdout);
    int rc = 0;
    double t0 = wdb_now();
    for (int k = 0; k < 3 && !rc; k++) {
        gen_job g = {d[k], t, nt, k};
        rc = in_child(gen_child, &g);
    }
    printf("  generated in %.1f s\n", wdb_now() - t0);
    fflush(stdout);

    uint64_t in_bytes = 0;
    double base_s = 0;
    for (int k = 0; k < 3 && !rc; k++) base_s += read_dir(d[k], &in_bytes);
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s/baseline.bin", dir);
    double wr_s = rc ? 0 : write_bytes(tmp, (uint64_t)model_bytes);
    printf("  baseline: read %.2f GB in %.2f s (%.2f GB/s) + write and fsync %.2f GB in %.2f s: %.2f s\n",
           (double)in_bytes / 1e9, base_s, (double)in_bytes / 1e9 / base_s, model_bytes / 1e9, wr_s,
           base_s + wr_s);
    fflush(stdout);

    const struct { const char *name; wd_merge_method m; } runs[] = {
        {"ties (density 0.5)", WD_MERGE_METHOD_TIES},
        {"dare-linear (density 0.5)", WD_MERGE_METHOD_DARE_LINEAR},
    };
    for (size_t r = 0; r < 2 && !rc; r++) {
        int fds[2];
        if (pipe(fds)) return perror("pipe"), 1;
        merge_job j = {d[0], d[1], d[2], d[3], runs[r].m, fds[1]};
        double m0 = wdb_now();
        rc = in_child(merge_child, &j);
        double secs = wdb_now() - m0;
        wd_merge_report rep = {0};
        if (!rc && read(fds[0], &rep, sizeof rep) != (ssize_t)sizeof rep) rc = 1;
        close(fds[0]), close(fds[1]);
        if (rc) break;
        printf("  %-26s %.2f s (%.2f GB/s of input, %.2f x the baseline), peak RSS %.2f GB = %.3f x one "
               "model, dropped %.1f%%, sign conflicts %.1f%%\n",
               runs[r].name, secs, (double)in_bytes / 1e9 / secs, secs / (base_s + wr_s),
               (double)rep.peak_rss_bytes / 1e9, (double)rep.peak_rss_bytes / model_bytes,
               100.0 * (double)rep.n_dropped / (double)(rep.n_delta_entries ? rep.n_delta_entries : 1),
               100.0 * (double)rep.n_sign_conflicts / (double)(rep.n_sign_entries ? rep.n_sign_entries : 1));
        fflush(stdout);
        wdb_rm_dir(d[3]);
    }
    for (int k = 0; k < 4; k++) wdb_rm_dir(d[k]);
    rmdir(dir);
    free(t);
    if (rc) fprintf(stderr, "bench_merge: failed\n");
    return rc;
}
