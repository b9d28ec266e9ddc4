/*
 * bench/safetensors_open.c - opening a checkpoint costs the header, not the
 * data. Writes a ~1 GiB F32 checkpoint (16 tensors of 4096 x 4096; in a
 * child process, so that the writer's buffer does not count in this
 * process's peak RSS), then measures, in the same run:
 *   open  - wd_safetensors_open: mmap + full header validation (median of 9)
 *   read  - read() of the whole file once into a 1 MiB buffer (median of 3;
 *           the page cache is warm: the file was just written)
 * and prints both, their ratio, and the resident set size before and after
 * opening (a copy of the data would add ~1 GiB).
 *
 *   bench_safetensors_open [FILE]   FILE is created if absent and kept;
 *                                   without it a temporary file is used
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "warden/warden.h"

#define N_TENSOR 16
#define ROWS 4096
#define COLS 4096

static long rss_kib(void) { /* current resident set, from /proc/self/statm */
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int create(const char *path) {
    float *buf = malloc(sizeof(float) * ROWS * COLS);
    if (!buf) return 1;
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++) buf[i] = (float)(i % 1000) * 0.001f;
    wd_safetensors_writer *w;
    if (wd_safetensors_writer_new(&w)) return 1;
    int64_t shape[2] = {ROWS, COLS};
    for (int t = 0; t < N_TENSOR; t++) { /* every tensor points at the same buffer */
        char name[64];
        snprintf(name, sizeof name, "model.layers.%d.mlp.up_proj.weight", t);
        if (wd_safetensors_writer_add(w, name, WD_DTYPE_F32, shape, 2, buf)) return 1;
    }
    wd_status rc = wd_safetensors_writer_write(w, path);
    if (rc) fprintf(stderr, "write failed: %s\n", wd_safetensors_writer_last_error(w));
    wd_safetensors_writer_free(w);
    free(buf);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    char tmpl[] = "/tmp/wd-bench-st-XXXXXX";
    char path[4096];
    bool temp = argc < 2;
    if (temp) {
        if (!mkdtemp(tmpl)) return perror("mkdtemp"), 1;
        snprintf(path, sizeof path, "%s/model.safetensors", tmpl);
    } else {
        snprintf(path, sizeof path, "%s", argv[1]);
    }
    if (access(path, R_OK) != 0) {
        printf("writing %s (%d x F32 [%d, %d] = %.2f GiB)...\n", path, N_TENSOR, ROWS, COLS,
               (double)N_TENSOR * ROWS * COLS * 4 / (1 << 30));
        fflush(stdout);
        double t0 = wdb_now();
        pid_t pid = fork();
        if (pid == 0) _exit(create(path));
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fprintf(stderr, "create failed\n"), 1;
        printf("written in %.2f s (atomic: temporary + fsync + rename)\n", wdb_now() - t0);
    }

    long rss0 = rss_kib();
    double t_open[9];
    wd_safetensors *st = NULL;
    for (int r = 0; r < 9; r++) {
        double t0 = wdb_now();
        if (wd_safetensors_open(path, &st)) return fprintf(stderr, "%s\n", wd_last_error()), 1;
        t_open[r] = wdb_now() - t0;
        if (r < 8) wd_safetensors_free(st);
    }
    long rss1 = rss_kib(), peak1 = peak_rss_kib();
    size_t size = wd_safetensors_file_size(st);
    size_t n = wd_safetensors_n_tensors(st);
    wd_safetensors_free(st);

    double t_read[3];
    char *buf = malloc(1 << 20);
    volatile unsigned sink = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = wdb_now();
        int fd = open(path, O_RDONLY);
        if (fd < 0) return perror(path), 1;
        ssize_t k;
        size_t total = 0;
        while ((k = read(fd, buf, 1 << 20)) > 0) {
            sink += (unsigned char)buf[0];
            total += (size_t)k;
        }
        close(fd);
        t_read[r] = wdb_now() - t0;
        if (total != size) return fprintf(stderr, "short read\n"), 1;
    }
    free(buf);

    double to = wdb_median(t_open, 9), tr = wdb_median(t_read, 3);
    printf("file: %zu bytes, %zu tensors\n", size, n);
    printf("open + validate (median of 9): %10.3f ms\n", to * 1e3);
    printf("read whole file once (median of 3, warm cache): %10.3f ms  (%.2f GB/s)\n", tr * 1e3,
           (double)size / tr / 1e9);
    printf("ratio read / open: %.0fx\n", tr / to);
    printf("RSS before open %ld KiB, after open %ld KiB (+%ld KiB); peak RSS %ld KiB; file %zu KiB\n",
           rss0, rss1, rss1 - rss0, peak1, size / 1024);

    if (temp) {
        unlink(path);
        rmdir(tmpl);
    }
    return 0;
}
