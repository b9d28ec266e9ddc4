/*
 * bench/audit.c - `warden audit` on a large generated corpus: throughput
 * (MB/s of the JSONL file) and peak RSS, against a reference in the same
 * run: the plain read + parse of the same file through the dataset reader
 * (warden/dataset.h), so the ratio shows the audit's own cost.
 *
 *   bench_audit [--mb 1024] [--file /tmp/warden-audit-1g.jsonl] [--threads N]
 *               [--guard none|default] [--keep]
 *
 * The corpus is generated when the file is missing (not committed): records
 * of 20..2000 words drawn from a 5000-word vocabulary (Zipf-like), 2% exact
 * copies of an earlier record, 2% near copies (one word in 40 changed), one
 * record in 50 with an e-mail address and one in 70 with a phone number.
 * Each phase runs in a child process so its peak RSS is its own (wait4's
 * ru_maxrss). The audit runs without the guard's flags (--guard none, the
 * default: its cost is the guard's, measured in bench/guard.c) unless asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "warden/audit.h"
#include "warden/dataset.h"

/* ==== the corpus ========================================================== */

static void gen_word(char *w, uint64_t id) {
    static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "be", "da",
                                      "fe", "gu", "ha", "ji", "po", "qu", "re", "si", "tu", "ze"};
    int n = 1 + (int)(id % 3);
    w[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(w, syl[id % 20]);
        id /= 20;
    }
    if (id) strcat(w, syl[id % 20]);
}

static int generate(const char *path, size_t mb) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return perror(tmp), 1;
    uint64_t s = 42;
    enum { VOCAB = 5000 };
    static char vocab[VOCAB][16];
    for (uint64_t i = 0; i < VOCAB; i++) gen_word(vocab[i], i * 7919 + 13);
    size_t target = mb << 20, written = 0, rec = 0;
    char *text = malloc(64 << 10), *prev = malloc(64 << 10);
    prev[0] = '\0';
    while (written < target) {
        uint64_t r = wdb_rng_next(&s);
        size_t n = 20 + (size_t)(wdb_rng_next(&s) % 400) * (r % 5 == 0 ? 5 : 1);
        char *p = text;
        if (r % 50 == 1 && prev[0]) { /* exact copy */
            strcpy(text, prev);
        } else if (r % 50 == 2 && prev[0]) { /* near copy: one word in 40 changed */
            strcpy(text, prev);
            for (char *q = text; *q; q++)
                if (*q == ' ' && wdb_rng_next(&s) % 40 == 0) q[1] = 'X';
        } else {
            for (size_t i = 0; i < n; i++) {
                /* Zipf-like: the square of a uniform index favours small ones */
                uint64_t u = wdb_rng_next(&s) % VOCAB;
                p += sprintf(p, "%s%s", i ? " " : "", vocab[u * u / VOCAB]);
                if (i % 15 == 14) *p++ = '.';
            }
            if (rec % 50 == 7) p += sprintf(p, " write to user%zu@example.com", rec);
            if (rec % 70 == 9) p += sprintf(p, " or call (415) 555-%04zu", rec % 10000);
            *p = '\0';
            if (r % 7 == 0) strcpy(prev, text);
        }
        written += (size_t)fprintf(f, "{\"id\": %zu, \"text\": \"%s\"}\n", rec++, text);
    }
    free(text), free(prev);
    if (fclose(f)) return perror(tmp), 1;
    return rename(tmp, path) ? (perror(path), 1) : 0;
}

/* ==== the phases ========================================================== */

typedef struct opts {
    const char *file, *guard;
    int         threads;
    size_t      mb;
} opts;

static int phase_parse(const opts *o) {
    wd_dataset *ds;
    if (wd_dataset_open(o->file, NULL, &ds)) return fprintf(stderr, "%s\n", wd_last_error()), 1;
    const wd_dataset_item *it;
    size_t n = 0, bytes = 0;
    wd_status st;
    while ((st = wd_dataset_next(ds, &it)) == WD_OK && it) n++, bytes += it->text_len;
    if (st) fprintf(stderr, "%s\n", wd_dataset_last_error(ds));
    wd_dataset_free(ds);
    if (st) return 1;
    printf("  parse: %zu records, %.1f MB of text\n", n, (double)bytes / 1e6);
    return 0;
}

static int phase_audit(const opts *o) {
    wd_audit_params p = wd_audit_params_default();
    p.n_threads = o->threads;
    /* the guard's threads as `warden audit` gives them: --threads, or every CPU */
    int gt = o->threads ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (!strcmp(o->guard, "default") && wd_guard_load_default(&(wd_guard_params){.n_threads = gt}, &p.guard))
        return fprintf(stderr, "%s\n", wd_last_error()), 1;
    wd_audit *a;
    char *js = NULL;
    if (wd_audit_new(&p, &a) || wd_audit_add_file(a, o->file, false) || wd_audit_json(a, false, &js))
        return fprintf(stderr, "%s\n", wd_last_error()), 1;
    /* a few figures, to show the run did its work */
    const char *keys[] = {"\"records\":", "\"exact_duplicates\":", "\"near_duplicates\":", "\"pii\":"};
    for (size_t i = 0; i < 4; i++) {
        const char *k = strstr(js, keys[i]);
        if (i > 0 && k) k = strstr(k, "\"records\":");
        if (k) printf("  %s %.0f\n", keys[i], strtod(k + strlen("\"records\":"), NULL));
    }
    wd_audit_free(a);
    wd_guard_free(p.guard);
    free(js);
    return 0;
}

/* Runs fn in a child; its wall time, CPU time (user + system) and peak RSS (MiB). */
static int run_child(int (*fn)(const opts *), const opts *o, double *secs, double *cpu, double *rss_mb) {
    fflush(stdout);
    double t0 = wdb_now();
    pid_t pid = fork();
    if (pid == 0) {
        int rc = fn(o);
        fflush(stdout);
        _exit(rc);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 1;
    *secs = wdb_now() - t0;
    *rss_mb = (double)ru.ru_maxrss / 1024.0;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv) {
    opts o = {"/tmp/warden-audit-1g.jsonl", "none", 0, 1024};
    bool keep = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc) o.mb = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--file") && i + 1 < argc) o.file = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) o.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--guard") && i + 1 < argc) o.guard = argv[++i];
        else if (!strcmp(argv[i], "--keep")) keep = true;
        else return fprintf(stderr, "usage: bench_audit [--mb N] [--file F] [--threads N] [--guard none|default] [--keep]\n"), 2;
    }
    struct stat sb;
    bool made = false;
    if (stat(o.file, &sb) != 0) {
        printf("generating %zu MB of JSONL in %s ...\n", o.mb, o.file);
        double t0 = wdb_now();
        if (generate(o.file, o.mb)) return 1;
        printf("  %.1f s\n", wdb_now() - t0);
        made = true;
        stat(o.file, &sb);
    }
    double mb = (double)sb.st_size / 1e6, t_parse, cpu_parse, rss_parse, t_audit, cpu_audit, rss_audit;
    printf("corpus: %s, %.1f MB\n", o.file, mb);
    if (run_child(phase_parse, &o, &t_parse, &cpu_parse, &rss_parse)) return 1;
    printf("reference (read + parse): %6.1f s wall %7.1f MB/s  %6.1f s CPU  peak RSS %6.1f MiB\n", t_parse,
           mb / t_parse, cpu_parse, rss_parse);
    if (run_child(phase_audit, &o, &t_audit, &cpu_audit, &rss_audit)) return 1;
    printf("audit (guard: %s):        %6.1f s wall %7.1f MB/s  %6.1f s CPU  peak RSS %6.1f MiB\n", o.guard, t_audit,
           mb / t_audit, cpu_audit, rss_audit);
    printf("ratio audit / reference: %.1fx the wall time, %.1fx the CPU time (%ld CPUs online)\n", t_audit / t_parse,
           cpu_audit / cpu_parse, sysconf(_SC_NPROCESSORS_ONLN));
    if (made && !keep) unlink(o.file);
    return 0;
}
