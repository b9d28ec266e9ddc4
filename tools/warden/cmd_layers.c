/*
 * tools/warden/cmd_layers.c - `warden layers`: the safety layers of a model
 * (wd_layers_run): per-layer cosine similarities of last-position hidden
 * states between benign and harmful prompts, the range where their gap
 * opens, and with --overrefusal the range refined by scaling its weights.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"

typedef struct layers_opts {
    const char *model, *harmful, *benign, *over, *svg;
    long        n_prompts, n_pairs, n_over, max_tokens, threads;
    double      scale;
    unsigned long long seed;
    bool        json, quiet;
} layers_opts;

#define O(f) offsetof(layers_opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden layers --model DIR --harmful FILE --benign FILE [--svg FILE]\n"
             "                     [--overrefusal FILE [--scale 1.1]] [--json]\n\n"
             "Locates the safety layers (METHODS.md 2): the cosine similarity of the last\n"
             "position's hidden state for benign-benign (N-N), harmful-harmful (M-M) and\n"
             "benign-harmful (N-M) pairs of prompts, per layer; the layers where the gap\n"
             "(NN+MM)/2 - NM opens and widens. With --overrefusal, the range and its\n"
             "neighbours are scaled by --scale in turn and the range that raises refusals of\n"
             "those borderline-benign prompts most is kept (freeze it with warden train sft\n"
             "--freeze-layers A-B: SPPFT). docs/repair.md.\n\noptions:\n"),
    CLI_STR("--model", O(model), "DIR", "the model folder (a decoder with a tokenizer)"),
    CLI_STR("--harmful", O(harmful), "FILE", "harmful prompts (M)"),
    CLI_STR("--benign", O(benign), "FILE", "benign prompts (N)"),
    CLI_INT("--n-prompts", O(n_prompts), "N", 2, 1000000, "prompts of each file (default %ld)", .show = true),
    CLI_INT("--pairs", O(n_pairs), "N", 1, 100000000, "random pairs of each kind per layer (default %ld)", .show = true),
    CLI_U64("--seed", O(seed), "S", "the pairs' seed (default 1)"),
    CLI_STR("--overrefusal", O(over), "FILE", "borderline-benign prompts: refine the range by scaling"),
    CLI_INT("--n-overrefusal", O(n_over), "N", 0, 1000000, "of them (default: all)"),
    CLI_DOUBLE("--scale", O(scale), "F", 0, 100, "the factor on the range's attention and MLP weights (%g)",
               .open_lo = true, .show = true),
    CLI_INT("--max-tokens", O(max_tokens), "N", 1, 100000, "greedy tokens per answer (default %ld)", .show = true),
    CLI_STR("--svg", O(svg), "FILE", "write the figure (similarities, gap, range)"),
    CLI_INT("--threads", O(threads), "N", 0, 4096, "threads (0: every CPU)"),
    CLI_BOOL("--json", O(json), "print one JSON object"),
    CLI_BOOL("--quiet", O(quiet), "no progress lines", .short_name = 'q'),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure.\n"),
};

static void progress(void *user, const char *stage, size_t done, size_t total) {
    cli_progress(*(bool *)user, done == total, "layers: %s %zu/%zu", stage, done, total);
}

static void report(const layers_opts *o, const wd_layers_result *r) {
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", o->model);
        cJSON *a = cJSON_AddArrayToObject(j, "layers");
        for (size_t l = 0; l < r->n_layer; l++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", (double)l);
            cJSON_AddNumberToObject(e, "nn", r->nn[l]);
            cJSON_AddNumberToObject(e, "mm", r->mm[l]);
            cJSON_AddNumberToObject(e, "nm", r->nm[l]);
            cJSON_AddNumberToObject(e, "gap", r->gap[l]);
            cJSON_AddItemToArray(a, e);
        }
        cJSON *rg = cJSON_AddArrayToObject(j, "range");
        cJSON_AddItemToArray(rg, cJSON_CreateNumber((double)r->lo));
        cJSON_AddItemToArray(rg, cJSON_CreateNumber((double)r->hi));
        if (r->refined) {
            cJSON_AddNumberToObject(j, "base_over_refusal", r->base_over_refusal);
            cJSON *t = cJSON_AddArrayToObject(j, "trials");
            for (size_t k = 0; k < r->n_trials; k++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "lo", (double)r->trials[k].lo);
                cJSON_AddNumberToObject(e, "hi", (double)r->trials[k].hi);
                cJSON_AddNumberToObject(e, "over_refusal", r->trials[k].over_refusal);
                cJSON_AddItemToArray(t, e);
            }
            cJSON *rr = cJSON_AddArrayToObject(j, "refined");
            cJSON_AddItemToArray(rr, cJSON_CreateNumber((double)r->ref_lo));
            cJSON_AddItemToArray(rr, cJSON_CreateNumber((double)r->ref_hi));
        }
        cli_print_json(j);
        return;
    }
    printf("layer   N-N     M-M     N-M     gap\n");
    for (size_t l = 0; l < r->n_layer; l++)
        printf("%5zu  %6.3f  %6.3f  %6.3f  %6.3f%s\n", l, r->nn[l], r->mm[l], r->nm[l], r->gap[l],
               l >= r->lo && l <= r->hi ? "  *" : "");
    printf("safety layers (gap opens and widens): %zu-%zu\n", r->lo, r->hi);
    if (r->refined) {
        printf("over-refusal unscaled: %.1f%%\n", 100 * r->base_over_refusal);
        for (size_t k = 0; k < r->n_trials; k++)
            printf("  layers %zu-%zu x %g: %.1f%%\n", r->trials[k].lo, r->trials[k].hi, o->scale,
                   100 * r->trials[k].over_refusal);
        printf("refined safety layers: %zu-%zu (warden train sft --freeze-layers %zu-%zu)\n", r->ref_lo, r->ref_hi,
               r->ref_lo, r->ref_hi);
    }
}

int cmd_layers(int argc, char **argv) {
    wd_layers_params d = wd_layers_params_default();
    layers_opts o = {.n_prompts = (long)d.n_prompts, .n_pairs = (long)d.n_pairs, .max_tokens = (long)d.max_tokens,
                     .scale = d.scale, .seed = d.seed};
    cli_spec spec = {"layers", {{ROWS, CLI_N(ROWS), &o}}, .col = 24, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.model || !o.harmful || !o.benign)
        return cli_usage_error("layers", "--model DIR, --harmful FILE and --benign FILE are required");
    wd_layers_params p = d;
    p.harmful = o.harmful;
    p.benign = o.benign;
    p.n_prompts = (size_t)o.n_prompts;
    p.n_pairs = (size_t)o.n_pairs;
    p.seed = o.seed;
    p.overrefusal = o.over;
    p.n_overrefusal = (size_t)o.n_over;
    p.scale = (float)o.scale;
    p.max_tokens = (size_t)o.max_tokens;
    p.n_threads = (int)o.threads;
    bool tty = isatty(2);
    if (!o.quiet) p.progress = progress, p.user = &tty;
    wd_layers_result r;
    wd_status st = wd_layers_run(o.model, &p, &r);
    if (st) return cli_fail(st, "layers");
    if (o.svg) {
        char *svg = NULL;
        st = wd_layers_svg(&r, NULL, &svg);
        if (!st) st = wd_file_write_atomic(o.svg, svg, strlen(svg));
        free(svg);
        if (st) {
            wd_layers_result_free(&r);
            return cli_fail(st, o.svg);
        }
    }
    report(&o, &r);
    wd_layers_result_free(&r);
    return CLI_OK;
}
