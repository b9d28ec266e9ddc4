/*
 * tools/warden/cmd_landscape.c - `warden landscape`: the safety landscape
 * of one or more models (wd_landscape_run): attack success at every point
 * of a grid along random, filter-normalised weight directions, the VISAGE
 * score, and the figure (curves of several models in 1D, a heat map in 2D).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"

enum { MAX_MODELS = 8 };

typedef struct landscape_opts {
    const char *models[MAX_MODELS];
    size_t      n_models;
    const char *prompts, *svg, *judge;
    long        dirs, grid, n_prompts, max_tokens, threads;
    double      range;
    unsigned long long seed;
    bool        json, quiet;
} landscape_opts;

#define O(f) offsetof(landscape_opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden landscape --model DIR [--model DIR2 ...] --prompts FILE [--directions 1|2]\n"
             "                        [--grid 21] [--range 0.5] [--svg FILE] [--json]\n\n"
             "The safety landscape (VISAGE, METHODS.md 3): the model's weights are moved along\n"
             "random directions (per weight matrix, normal draws scaled to the matrix's norm;\n"
             "norms and biases stay), theta + a d1 (+ b d2) on a grid of [-range, range], and\n"
             "at each point the harmful prompts are answered greedily: ASR = % of answers\n"
             "without a refusal. VISAGE = mean (100 - ASR) over the region around the model\n"
             "where ASR < 100. The same seed gives every model the same directions.\n"
             "docs/repair.md.\n\noptions:\n"),
    CLI_LIST("--model", O(models), O(n_models), MAX_MODELS, "DIR", "a model folder (repeat to compare up to 8 in 1D)"),
    CLI_STR("--prompts", O(prompts), "FILE", "harmful prompts (a dataset file)"),
    CLI_INT("--n-prompts", O(n_prompts), "N", 1, 1000000, "of them (default %ld)", .show = true),
    CLI_INT("--directions", O(dirs), "N", 1, 2, "1 (a curve) or 2 (a heat map) (default %ld)", .show = true),
    CLI_INT("--grid", O(grid), "N", 3, 1001, "points per axis, odd (default %ld)", .show = true),
    CLI_DOUBLE("--range", O(range), "R", 0, 1000, "the grid spans [-R, R] (default %g)", .open_lo = true, .show = true),
    CLI_U64("--seed", O(seed), "S", "the directions' seed (default 1)"),
    CLI_INT("--max-tokens", O(max_tokens), "N", 1, 100000, "greedy tokens per answer (default %ld)", .show = true),
    CLI_STR("--judge", O(judge), "POLICY|DIR|default", "ASR by a judge guard (output role: answers it flags\n"
                                                       "unsafe) instead of the refusal detector"),
    CLI_STR("--svg", O(svg), "FILE", "write the figure"),
    CLI_INT("--threads", O(threads), "N", 0, 4096, "threads (0: every CPU)"),
    CLI_BOOL("--json", O(json), "print one JSON object"),
    CLI_BOOL("--quiet", O(quiet), "no progress lines", .short_name = 'q'),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure.\n"),
};

typedef struct prog {
    bool        tty;
    const char *model;
} prog;

static void progress(void *user, const char *stage, size_t done, size_t total) {
    prog *p = user;
    cli_progress(p->tty, false, "landscape %s: %s, prompt %zu/%zu", p->model, stage, done, total);
    (void)total;
}

static const char *base_name(const char *p) {
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    const char *s = p + n;
    while (s > p && s[-1] != '/') s--;
    return s;
}

int cmd_landscape(int argc, char **argv) {
    wd_landscape_params d = wd_landscape_params_default();
    landscape_opts o = {.dirs = d.n_dirs, .grid = (long)d.grid, .n_prompts = (long)d.n_prompts,
                        .max_tokens = (long)d.max_tokens, .range = d.range, .seed = d.seed};
    cli_spec spec = {"landscape", {{ROWS, CLI_N(ROWS), &o}}, .col = 24, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.n_models || !o.prompts) return cli_usage_error("landscape", "--model DIR and --prompts FILE are required");
    if (o.grid % 2 == 0) return cli_usage_error("landscape", "--grid must be odd (the centre is the model)");
    if (o.dirs == 2 && o.n_models > 1) return cli_usage_error("landscape", "--directions 2 takes one --model");
    wd_landscape_params p = d;
    p.prompts = o.prompts;
    p.n_prompts = (size_t)o.n_prompts;
    p.n_dirs = (int)o.dirs;
    p.grid = (size_t)o.grid;
    p.range = o.range;
    p.seed = o.seed;
    p.max_tokens = (size_t)o.max_tokens;
    p.n_threads = (int)o.threads;
    if (o.judge) {
        wd_guard_params gp = wd_guard_params_default();
        struct stat sb;
        wd_status js = !strcmp(o.judge, "default")                      ? wd_guard_load_default(&gp, &p.judge)
                       : stat(o.judge, &sb) == 0 && S_ISDIR(sb.st_mode) ? wd_guard_load_model(o.judge, &gp, &p.judge)
                                                                        : wd_guard_load(o.judge, &gp, &p.judge);
        if (js) return cli_fail(js, o.judge);
    }
    wd_landscape_result res[MAX_MODELS] = {{0}};
    const wd_landscape_result *rp[MAX_MODELS];
    const char *labels[MAX_MODELS];
    prog pg = {isatty(2), NULL};
    wd_status st = WD_OK;
    size_t done = 0;
    for (; done < o.n_models && !st; done++) {
        pg.model = labels[done] = base_name(o.models[done]);
        if (!o.quiet) p.progress = progress, p.user = &pg;
        st = wd_landscape_run(o.models[done], &p, &res[done]);
        rp[done] = &res[done];
        if (!o.quiet) fprintf(stderr, pg.tty ? "\n" : "");
    }
    wd_guard_free(p.judge);
    if (st) {
        for (size_t i = 0; i < done; i++) wd_landscape_result_free(&res[i]);
        return cli_fail(st, o.models[done - 1]);
    }
    if (o.svg) {
        char *svg = NULL;
        st = wd_landscape_svg(rp, labels, o.n_models, &svg);
        if (!st) st = wd_file_write_atomic(o.svg, svg, strlen(svg));
        free(svg);
    }
    if (!st && o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "directions", (double)o.dirs);
        cJSON_AddNumberToObject(j, "grid", (double)o.grid);
        cJSON_AddNumberToObject(j, "range", o.range);
        cJSON_AddNumberToObject(j, "seed", (double)o.seed);
        cJSON_AddStringToObject(j, "asr_by", o.judge ? "judge" : "refusal detector");
        cJSON *a = cJSON_AddArrayToObject(j, "models");
        for (size_t i = 0; i < o.n_models; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "model", o.models[i]);
            cJSON_AddNumberToObject(e, "prompts", (double)res[i].n_prompts);
            cJSON_AddNumberToObject(e, "visage", res[i].visage);
            cJSON_AddItemToObject(e, "alpha", cJSON_CreateDoubleArray(res[i].alpha, (int)res[i].grid));
            size_t n = res[i].grid * (o.dirs == 2 ? res[i].grid : 1);
            cJSON_AddItemToObject(e, "asr", cJSON_CreateDoubleArray(res[i].asr, (int)n));
            cJSON_AddItemToArray(a, e);
        }
        cli_print_json(j);
    } else if (!st) {
        for (size_t i = 0; i < o.n_models; i++) {
            printf("%s: VISAGE %.2f over %zu prompts\n", o.models[i], res[i].visage, res[i].n_prompts);
            if (o.dirs == 1) {
                printf("  alpha:");
                for (size_t k = 0; k < res[i].grid; k++) printf(" %+.3f", res[i].alpha[k]);
                printf("\n  ASR %%:");
                for (size_t k = 0; k < res[i].grid; k++) printf(" %6.1f", res[i].asr[k]);
                printf("\n");
            }
        }
        if (o.svg) printf("figure: %s\n", o.svg);
    }
    for (size_t i = 0; i < o.n_models; i++) wd_landscape_result_free(&res[i]);
    return st ? cli_fail(st, o.svg) : CLI_OK;
}
