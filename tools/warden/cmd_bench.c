/*
 * tools/warden/cmd_bench.c - `warden bench --model M [-p N] [-n N]
 * [-r N] [--threads N] [--json]`: wd_model_bench's figures as llama-bench
 * prints them (a markdown table: size, parameters, threads, test, t/s as
 * mean +- SD), plus load time and peak RSS; --json prints one object.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"

typedef struct bench_opts {
    const char *model;
    long        n_prompt, n_gen, reps, threads;
    bool        json;
} bench_opts;

#define O(f) offsetof(bench_opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden bench --model M [-p N] [-n N] [-r N] [--threads N] [--json]\n\n"
             "Measures a decoder the way llama.cpp's llama-bench does: prompt processing\n"
             "(N random tokens in one batch) and generation (N tokens one at a time), each\n"
             "from an empty cache, repeated after a warm-up run; prints tokens/s (mean +- SD),\n"
             "the load time and the peak resident memory.\n\n"),
    CLI_STR("--model", O(model), "M", "a model folder or a .gguf file", .short_name = 'm', .label = "-m, --model M"),
    CLI_INT("--n-prompt", O(n_prompt), "N", 0, 1 << 20, "prompt tokens (default %ld; 0: no pp test)", .short_name = 'p',
            .show = true, .label = "-p, --n-prompt N"),
    CLI_INT("--n-gen", O(n_gen), "N", 0, 1 << 20, "generated tokens (default %ld; 0: no tg test)", .short_name = 'n',
            .show = true, .label = "-n, --n-gen N"),
    CLI_INT("--repetitions", O(reps), "N", 1, 1000, "timed runs of each test (default %ld)", .short_name = 'r',
            .show = true, .label = "-r, --repetitions N"),
    CLI_INT("--threads", O(threads), "N", 0, 1024, "threads (default 0: every CPU)", .short_name = 't',
            .label = "-t, --threads N"),
    CLI_BOOL("--json", O(json), "print one JSON object instead of the table"),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure (a model that cannot be loaded or run).\n"),
};

static const char *base_name(const char *p) {
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    const char *s = p;
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '/') s = p + i + 1;
    return s;
}

static void print_json(const bench_opts *o, const wd_bench_result *r) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddNumberToObject(j, "n_params", (double)r->n_params);
    cJSON_AddNumberToObject(j, "weight_bytes", (double)r->weight_bytes);
    cJSON_AddNumberToObject(j, "n_threads", r->n_threads);
    cJSON_AddNumberToObject(j, "load_s", r->load_s);
    cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)r->peak_rss_bytes);
    cJSON *tests = cJSON_AddArrayToObject(j, "tests");
    for (int t = 0; t < 2; t++) {
        long n = t == 0 ? o->n_prompt : o->n_gen;
        if (!n) continue;
        char name[32];
        snprintf(name, sizeof name, "%s%ld", t == 0 ? "pp" : "tg", n);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "test", name);
        cJSON_AddNumberToObject(e, "n_prompt", t == 0 ? (double)n : 0);
        cJSON_AddNumberToObject(e, "n_gen", t == 0 ? 0 : (double)n);
        cJSON_AddNumberToObject(e, "avg_ts", t == 0 ? r->pp_tps : r->tg_tps);
        cJSON_AddNumberToObject(e, "stddev_ts", t == 0 ? r->pp_tps_sd : r->tg_tps_sd);
        cJSON_AddItemToArray(tests, e);
    }
    cli_print_json(j);
}

static void print_table(const bench_opts *o, const wd_bench_result *r) {
    printf("| %-24s | %10s | %8s | %7s | %7s | %20s |\n", "model", "size", "params", "threads", "test", "t/s");
    printf("| %-24s | %10s | %8s | %7s | %7s | %20s |\n", "------------------------", "---------:",
           "-------:", "------:", "------:", "-------------------:");
    for (int t = 0; t < 2; t++) {
        long n = t == 0 ? o->n_prompt : o->n_gen;
        if (!n) continue;
        char test[32], ts[48];
        snprintf(test, sizeof test, "%s%ld", t == 0 ? "pp" : "tg", n);
        snprintf(ts, sizeof ts, "%.2f ± %.2f", t == 0 ? r->pp_tps : r->tg_tps, t == 0 ? r->pp_tps_sd : r->tg_tps_sd);
        printf("| %-24.24s | %6.2f MiB | %6.2f B | %7d | %7s | %20s |\n", base_name(o->model),
               (double)r->weight_bytes / 1048576.0, (double)r->n_params / 1e9, r->n_threads, test, ts);
    }
    printf("\nload %.3f s, peak RSS %.1f MiB\n", r->load_s, (double)r->peak_rss_bytes / 1048576.0);
}

int cmd_bench(int argc, char **argv) {
    wd_bench_params d = wd_bench_params_default();
    bench_opts o = {.n_prompt = d.n_prompt, .n_gen = d.n_gen, .reps = d.repetitions};
    cli_spec spec = {"bench", {{ROWS, CLI_N(ROWS), &o}}, .col = 26, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.model) return cli_usage_error("bench", "--model M is required");
    wd_bench_params p = d;
    p.n_prompt = (int)o.n_prompt;
    p.n_gen = (int)o.n_gen;
    p.repetitions = (int)o.reps;
    p.n_threads = (int)o.threads;
    wd_bench_result r;
    wd_status st = wd_model_bench(o.model, &p, &r);
    if (st) return cli_fail(st, NULL);
    if (o.json)
        print_json(&o, &r);
    else
        print_table(&o, &r);
    return CLI_OK;
}
