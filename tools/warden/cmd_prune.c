/*
 * tools/warden/cmd_prune.c - `warden prune --model DIR --method M --calib
 * FILE --ratio r --out DIR`: one-shot Wanda / Antidote / random pruning of
 * a decoder's linear layers (wd_prune, warden/weights.h; docs/repair.md).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"
#include "warden/weights.h"

typedef struct prune_opts {
    const char        *model, *base, *calib, *targets, *out, *prompt_field, *response_field;
    int                method;
    double             ratio;
    long               max_len, max_examples, threads;
    unsigned long long seed;
    bool               json, quiet;
} prune_opts;

#define O(f) offsetof(prune_opts, f)

static const char *const METHODS[] = {"wanda", "antidote", "random", NULL};

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden prune --model DIR [--base DIR] --method M [--calib FILE] [--ratio r] [--targets LIST]\n"
             "                    [--max-len N] [--seed S] [--threads N] --out DIR [--json] [-q]\n\n"
             "Prunes a decoder's linear layers in one shot, by Wanda's score S = |W_ij| * ||X_j||_2\n"
             "(the input column's norm over the calibration set's tokens), per output row:\n"
             "wanda zeroes the lowest ratio of each row, antidote the highest (Antidote: with a\n"
             "calibration set of harmful prompts + harmful answers, the weights a harmful\n"
             "fine-tune runs through), random a seeded random set of the same size. Writes the\n"
             "model folder OUT (same shards and dtypes, config and tokenizer copied).\n\n"),
    CLI_STR("--model", O(model), "DIR", "the decoder's model folder"),
    CLI_STR("--base", O(base), "DIR", "the model before the fine-tune: prune the fine-tune's update\n"
                                      "W - W_base instead of W (masked entries go back to the base)"),
    CLI_ENUM("--method", O(method), "M", METHODS, "wanda, antidote or random", .needs = "wanda, antidote or random"),
    CLI_STR("--calib", O(calib), "FILE", "calibration set: prompt/response records (JSONL, JSON, CSV, TSV),\n"
                                         "rendered with the model's chat template (not for random)"),
    CLI_DOUBLE("--ratio", O(ratio), "r", 0, 1, "fraction of each row pruned, in (0, 1)\n"
                                               "(default 0.5 for wanda, 0.1 for antidote and random)",
               .open_lo = true),
    CLI_STR("--targets", O(targets), "LIST", "comma-separated q,k,v,o,gate,up,down, attn, mlp or all\n"
                                             "(default all)"),
    CLI_INT("--max-len", O(max_len), "N", 1, 1 << 20, "tokens per calibration example, longer ones cut (default %ld)",
            .show = true),
    CLI_INT("--max-examples", O(max_examples), "N", 0, 1L << 40, "use the first N examples (default: all)"),
    CLI_STR("--prompt-field", O(prompt_field), "F", "the prompt's field (default prompt)"),
    CLI_STR("--response-field", O(response_field), "F", "the response's field (default response)"),
    CLI_U64("--seed", O(seed), "S", "random's seed (default %llu)", .show = true),
    CLI_INT("--threads", O(threads), "N", 0, 1024, "threads (default 0: every CPU)"),
    CLI_STR("--out", O(out), "DIR", "the pruned model folder (written staged: nothing on failure)"),
    CLI_BOOL("--json", O(json), "print the summary as JSON"),
    CLI_BOOL("--quiet", O(quiet), "no progress lines", .short_name = 'q'),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure (bad model, data or setting).\n"),
};

static void progress(void *user, const char *stage, size_t done, size_t total) {
    cli_progress(*(bool *)user, done == total, "%s %zu/%zu", stage, done, total);
}

static void print_json(const prune_opts *o, const wd_prune_summary *s) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "method", wd_prune_method_name(s->method));
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddStringToObject(j, "out", o->out);
    cJSON_AddNumberToObject(j, "ratio", s->ratio);
    cJSON *t = cJSON_AddArrayToObject(j, "targets");
    for (unsigned b = 0; b < WD_PRUNE_N_TARGETS; b++)
        if (s->targets & (1u << b)) cJSON_AddItemToArray(t, cJSON_CreateString(wd_prune_target_name(1u << b)));
    cJSON_AddNumberToObject(j, "examples", (double)s->n_examples);
    cJSON_AddNumberToObject(j, "examples_cut", (double)s->n_cut);
    cJSON_AddNumberToObject(j, "tokens", (double)s->n_tokens);
    cJSON_AddNumberToObject(j, "tensors", (double)s->n_tensors);
    cJSON_AddNumberToObject(j, "pruned", (double)s->n_pruned);
    cJSON_AddNumberToObject(j, "target_weights", (double)s->n_target_weights);
    cJSON *layers = cJSON_AddArrayToObject(j, "layers");
    for (size_t l = 0; l < s->n_layer; l++) {
        cJSON *x = cJSON_CreateObject();
        for (unsigned b = 0; b < WD_PRUNE_N_TARGETS; b++)
            if (s->targets & (1u << b))
                cJSON_AddNumberToObject(x, wd_prune_target_name(1u << b), (double)s->pruned[l * WD_PRUNE_N_TARGETS + b]);
        cJSON_AddItemToArray(layers, x);
    }
    cJSON_AddNumberToObject(j, "calib_seconds", s->calib_seconds);
    cJSON_AddNumberToObject(j, "write_seconds", s->write_seconds);
    cli_print_json(j);
}

int cmd_prune(int argc, char **argv) {
    prune_opts o = {.method = -1, .max_len = 512, .seed = 1};
    cli_spec spec = {"prune", {{ROWS, CLI_N(ROWS), &o}}, .col = 22, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.model) return cli_usage_error("prune", "--model DIR is required");
    if (!o.out) return cli_usage_error("prune", "--out DIR is required");
    if (o.method < 0) return cli_usage_error("prune", "--method is required (wanda, antidote or random)");
    if (o.ratio >= 1) return cli_usage_error("prune", "--ratio: expected a number in (0, 1), got %g", o.ratio);
    if (!o.calib && o.method != WD_PRUNE_METHOD_RANDOM)
        return cli_usage_error("prune", "--calib FILE is required for %s", METHODS[o.method]);
    wd_prune_params p = wd_prune_params_default();
    p.method = (wd_prune_method)o.method;
    p.ratio = o.ratio;
    if (o.targets && wd_prune_targets_parse(o.targets, &p.targets))
        return cli_usage_error("prune", "--%s", wd_last_error());
    p.calib = o.calib;
    p.base = o.base;
    p.prompt_field = o.prompt_field;
    p.response_field = o.response_field;
    p.max_len = (size_t)o.max_len;
    p.max_examples = (size_t)o.max_examples;
    p.seed = o.seed;
    p.n_threads = (int)o.threads;
    bool tty = isatty(2);
    if (!o.quiet) p.progress = progress, p.user = &tty;
    wd_prune_summary s;
    wd_status st = wd_prune(o.model, o.out, &p, &s);
    if (st) return cli_fail(st, "prune");
    if (o.json) {
        print_json(&o, &s);
    } else {
        printf("%s: pruned %llu of %llu weights (%.2f%%) in %zu tensors, ratio %g\n", wd_prune_method_name(s.method),
               (unsigned long long)s.n_pruned, (unsigned long long)s.n_target_weights,
               s.n_target_weights ? 100.0 * (double)s.n_pruned / (double)s.n_target_weights : 0.0, s.n_tensors,
               s.ratio);
        if (s.method != WD_PRUNE_METHOD_RANDOM)
            printf("calibration: %zu examples (%zu cut), %llu tokens, %.1fs\n", s.n_examples, s.n_cut,
                   (unsigned long long)s.n_tokens, s.calib_seconds);
        printf("written to %s in %.1fs\n", o.out, s.write_seconds);
    }
    wd_prune_summary_free(&s);
    return CLI_OK;
}
