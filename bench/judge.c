/*
 * bench/judge.c - latency per prompt of a model judge (an `llm_judge` or
 * `encoder_classifier` scanner) as `warden check` runs it: one text at a
 * time, one guard, the judge's own threads.
 *
 *   bench_judge --model PATH [--format NAME] [--threads N] [--n N]
 *               [--type llm_judge|encoder_classifier] [--role input|output]
 *               [--texts FILE]
 *
 * PATH is a model folder or a .gguf. Texts: --texts FILE (one a line), else
 * alternately the harmful and safe test prompts of certified-llm-safety
 * from ../shared/data (real prompts, 40-160 characters), N in all
 * (default 20). The guard is loaded once (load time printed), one check
 * warms it up (for a decoder judge this fills the cached prompt prefix:
 * printed as "first check"), then each text is checked once and the
 * latency percentiles are over those checks. A judge scores random weights
 * as well as trained ones: this measures speed, not verdicts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "warden/warden.h"

#define MAX_TEXTS 4096

static char  *texts[MAX_TEXTS];
static size_t n_texts;

/* Up to max lines of path (newline-stripped, non-empty) appended to texts. */
static size_t read_lines(const char *path, size_t max, char **out) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t r;
    while (n < max && (r = getline(&line, &cap, f)) > 0) {
        while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r')) line[--r] = '\0';
        if (r > 0) out[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    return n;
}

static int usage(void) {
    fprintf(stderr, "usage: bench_judge --model PATH [--format NAME] [--threads N] [--n N]\n"
                    "                   [--type llm_judge|encoder_classifier] [--role input|output]\n"
                    "                   [--texts FILE]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *model = NULL, *format = NULL, *type = "llm_judge", *texts_file = NULL;
    int threads = 0, n = 20;
    wd_role role = WD_ROLE_INPUT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--format")) format = v;
        else if (!strcmp(a, "--type")) type = v;
        else if (!strcmp(a, "--texts")) texts_file = v;
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--n")) n = atoi(v);
        else if (!strcmp(a, "--role")) role = !strcmp(v, "output") ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
        else return usage();
        i++;
    }
    if (!model || n < 1 || n > MAX_TEXTS) return usage();

    if (texts_file) {
        n_texts = read_lines(texts_file, (size_t)n, texts);
    } else {
        char *bad[MAX_TEXTS], *good[MAX_TEXTS];
        size_t nb = read_lines(WD_SHARED_DIR "/data/certified-llm-safety/harmful_prompts_test.txt",
                               (size_t)n, bad);
        size_t ng = read_lines(WD_SHARED_DIR "/data/certified-llm-safety/safe_prompts_test.txt",
                               (size_t)n, good);
        size_t ib = 0, ig = 0;
        for (size_t i = 0; i < (size_t)n && (ib < nb || ig < ng); i++) {
            if ((i % 2 == 0 && ib < nb) || ig >= ng) texts[n_texts++] = bad[ib++];
            else texts[n_texts++] = good[ig++];
        }
        while (ib < nb) free(bad[ib++]);
        while (ig < ng) free(good[ig++]);
    }
    if (n_texts < 2) {
        fprintf(stderr, "bench_judge: need at least 2 texts (--texts FILE, or ../shared/data)\n");
        return 1;
    }

    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: judge-bench\nscanners:\n  - type: %s\n    model: %s\n    threads: %d\n%s%s%s",
             type, model, threads, format ? "    format: " : "", format ? format : "",
             format ? "\n" : "");
    wd_guard_params gp = {.n_threads = 1};
    wd_guard *g = NULL;
    double t0 = wdb_now();
    if (wd_guard_load_string(yaml, strlen(yaml), "<bench>", ".", &gp, &g)) {
        fprintf(stderr, "bench_judge: %s\n", wd_last_error());
        return 1;
    }
    double t_load = wdb_now() - t0;

    wd_check_params cp = wd_check_params_default();
    cp.role = role;
    wd_verdict *v = NULL;
    size_t chars = 0;
    for (size_t i = 0; i < n_texts; i++) chars += strlen(texts[i]);
    t0 = wdb_now();
    if (wd_guard_check(g, texts[0], strlen(texts[0]), &cp, &v)) {
        fprintf(stderr, "bench_judge: %s\n", wd_last_error());
        return 1;
    }
    double t_first = wdb_now() - t0;
    wd_verdict_free(v);

    double *lat = malloc(n_texts * sizeof *lat);
    if (!lat) return 1;
    size_t flagged = 0;
    for (size_t i = 0; i < n_texts; i++) {
        t0 = wdb_now();
        if (wd_guard_check(g, texts[i], strlen(texts[i]), &cp, &v)) {
            fprintf(stderr, "bench_judge: %s\n", wd_last_error());
            return 1;
        }
        lat[i] = (wdb_now() - t0) * 1e3;
        flagged += wd_verdict_action(v) != WD_ACTION_ALLOW;
        wd_verdict_free(v);
    }
    double sum = 0;
    for (size_t i = 0; i < n_texts; i++) sum += lat[i];
    double mean = sum / (double)n_texts;
    printf("judge: %s (%s%s%s), %d threads, role %s\n", model, type, format ? ", " : "",
           format ? format : "", threads, role == WD_ROLE_OUTPUT ? "output" : "input");
    printf("texts: %zu, %.0f characters on average; flagged %zu\n", n_texts,
           (double)chars / (double)n_texts, flagged);
    printf("load %.2f s, first check %.0f ms (fills the cached prompt prefix)\n", t_load,
           t_first * 1e3);
    printf("latency per prompt: mean %.0f ms, p50 %.0f ms, p95 %.0f ms, max %.0f ms\n", mean,
           wdb_percentile(lat, n_texts, 50), wdb_percentile(lat, n_texts, 95),
           wdb_percentile(lat, n_texts, 100));
    free(lat);
    wd_guard_free(g);
    for (size_t i = 0; i < n_texts; i++) free(texts[i]);
    return 0;
}
