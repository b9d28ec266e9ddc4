/*
 * tools/warden/cmd_steer.c - `warden steer`: refusal / toxic directions in
 * the residual stream (wd_steer_extract, wd_steer_save), directional
 * ablation written into a checkpoint (wd_steer_ablate). Adding a direction
 * at generation time is `warden generate --steer FILE:ALPHA` (and
 * `warden redteam --steer`).
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

typedef struct steer_opts {
    const char *model, *harmful, *benign, *out, *ablate, *values;
    bool        extract, json, quiet, affine;
    int         method;
    long        layer, n_train, n_val, max_tokens, threads, top;
} steer_opts;

#define O(f) offsetof(steer_opts, f)

static const char *const METHODS[] = {"mean", "probe", NULL};

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden steer --model DIR --extract --harmful FILE --benign FILE --out FILE\n"
             "                    [--method mean|probe] [--layer N] [--n-train N] [--n-val N]\n"
             "       warden steer --model DIR --ablate FILE [--affine] [--layer N] --out DIR\n"
             "       warden steer --model DIR --value-vectors FILE [--layer N] [--top K]\n\n"
             "--extract: the direction that tells harmful from benign prompts in the residual\n"
             "stream at the last position of the chat template, at every layer (difference of\n"
             "means, or a logistic probe), and the layer whose direction, ablated, removes the\n"
             "most refusals while, added, induces refusal (METHODS.md 7b). Writes a direction\n"
             "file (safetensors). --ablate: a copy of the model with that direction projected\n"
             "out of every weight that writes to the residual stream. --value-vectors: the\n"
             "MLP neurons whose output (a down_proj column) is most aligned with the direction\n"
             "(Lee et al.'s toxic vectors). To add it while generating: warden generate\n"
             "--steer FILE:ALPHA. docs/repair.md.\n\noptions:\n"),
    CLI_STR("--model", O(model), "DIR", "the model folder (a decoder with a tokenizer)"),
    CLI_BOOL("--extract", O(extract), "extract directions (needs --harmful, --benign)"),
    CLI_STR("--harmful", O(harmful), "FILE", "harmful prompts (a dataset file: jsonl/csv/json/text)"),
    CLI_STR("--benign", O(benign), "FILE", "benign prompts"),
    CLI_ENUM("--method", O(method), "M", METHODS, "mean (difference of means, default) or probe"),
    CLI_INT("--layer", O(layer), "N", -1, 100000, "use layer N (stream entering it) instead of selecting"),
    CLI_INT("--n-train", O(n_train), "N", 1, 1000000, "prompts of each file for the means (default %ld)",
            .show = true),
    CLI_INT("--n-val", O(n_val), "N", 0, 1000000, "further prompts of each for selecting the layer (default %ld)",
            .show = true),
    CLI_INT("--max-tokens", O(max_tokens), "N", 1, 100000, "greedy tokens per answer in selection (default %ld)",
            .show = true),
    CLI_STR("--ablate", O(ablate), "FILE", "write the model with FILE's direction ablated"),
    CLI_BOOL("--affine", O(affine), "ablate to the benign prompts' mean component along the\n"
                                    "direction instead of to zero (selection and --ablate)"),
    CLI_STR("--value-vectors", O(values), "FILE", "list the MLP value vectors closest to FILE's direction"),
    CLI_INT("--top", O(top), "K", 1, 4096, "how many value vectors (default %ld)", .show = true),
    CLI_STR("--out", O(out), "PATH", "the direction file (--extract) or model folder (--ablate)"),
    CLI_INT("--threads", O(threads), "N", 0, 4096, "threads (0: every CPU)"),
    CLI_BOOL("--json", O(json), "print one JSON object"),
    CLI_BOOL("--quiet", O(quiet), "no progress lines", .short_name = 'q'),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure.\n"),
};

static void progress(void *user, const char *stage, size_t done, size_t total) {
    cli_progress(*(bool *)user, done == total, "steer: %s %zu/%zu", stage, done, total);
}

static void add_number(cJSON *j, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(j, key, v);
    else cJSON_AddNullToObject(j, key);
}

static void report(const steer_opts *o, const wd_steer_result *r) {
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", o->model);
        cJSON_AddStringToObject(j, "out", o->out);
        cJSON_AddStringToObject(j, "method", METHODS[o->method]);
        cJSON_AddNumberToObject(j, "layer", (double)r->layer);
        cJSON_AddStringToObject(j, "ablation", r->affine ? "affine" : "zero");
        add_number(j, "base_refusal", r->base_refusal);
        add_number(j, "base_benign_refusal", r->base_benign_refusal);
        cJSON *a = cJSON_AddArrayToObject(j, "layers");
        for (size_t l = 0; l <= r->n_layer; l++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", (double)l);
            add_number(e, "norm", r->layers[l].norm);
            add_number(e, "separation", r->layers[l].separation);
            add_number(e, "harmful_proj", r->proj[0][l]);
            add_number(e, "benign_proj", r->proj[1][l]);
            add_number(e, "ablate_refusal", r->layers[l].ablate_refusal);
            add_number(e, "add_refusal", r->layers[l].add_refusal);
            add_number(e, "kl", r->layers[l].kl);
            cJSON_AddItemToArray(a, e);
        }
        cli_print_json(j);
        return;
    }
    printf("layer  |r|        separation  refusal, r ablated  benign refusal, r added  KL, r ablated\n");
    for (size_t l = 0; l <= r->n_layer; l++) {
        const wd_steer_layer *y = &r->layers[l];
        printf("%5zu  %-9.4g  %10.3f", l, y->norm, y->separation);
        if (isfinite(y->ablate_refusal))
            printf("  %17.1f%%  %22.1f%%  %13.3g", 100 * y->ablate_refusal, 100 * y->add_refusal, y->kl);
        printf("%s\n", l == r->layer ? "   <- chosen" : "");
    }
    if (isfinite(r->base_refusal))
        printf("unsteered: %.1f%% of validation harmful and %.1f%% of validation benign prompts refused\n",
               100 * r->base_refusal, 100 * r->base_benign_refusal);
    printf("directions of %zu layers written to %s (layer %zu)\n", r->n_layer + 1, o->out, r->layer);
}

static int value_vectors(const steer_opts *o) {
    wd_value_vector *v = malloc((size_t)o->top * sizeof *v);
    size_t n = 0;
    if (!v) return cli_error("out of memory");
    wd_status st = wd_steer_value_vectors(o->model, o->values, (int)o->layer, (size_t)o->top, v, &n);
    if (st) {
        free(v);
        return cli_fail(st, "steer --value-vectors");
    }
    if (o->json) {
        cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "value_vectors");
        for (size_t i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", (double)v[i].layer);
            cJSON_AddNumberToObject(e, "index", (double)v[i].index);
            cJSON_AddNumberToObject(e, "cosine", v[i].cosine);
            cJSON_AddNumberToObject(e, "norm", v[i].norm);
            cJSON_AddItemToArray(a, e);
        }
        cli_print_json(j);
    } else {
        printf("rank  neuron (layer.index)  cosine  |v|\n");
        for (size_t i = 0; i < n; i++)
            printf("%4zu  MLP.v^%zu_%-12zu %7.4f  %.4g\n", i + 1, v[i].layer, v[i].index, v[i].cosine, v[i].norm);
    }
    free(v);
    return CLI_OK;
}

int cmd_steer(int argc, char **argv) {
    wd_steer_params d = wd_steer_params_default();
    steer_opts o = {.layer = -1, .top = 10, .n_train = (long)d.n_train, .n_val = (long)d.n_val, .max_tokens = (long)d.max_tokens};
    cli_spec spec = {"steer", {{ROWS, CLI_N(ROWS), &o}}, .col = 22, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.model) return cli_usage_error("steer", "--model DIR is required");
    if (o.extract + (o.ablate != NULL) + (o.values != NULL) != 1)
        return cli_usage_error("steer", "give one of --extract, --ablate FILE and --value-vectors FILE");
    if (o.values) return value_vectors(&o);
    if (!o.out) return cli_usage_error("steer", "--out PATH is required");
    if (o.ablate) {
        wd_status st = wd_steer_ablate(o.model, o.ablate, (int)o.layer, o.affine, o.out);
        if (st) return cli_fail(st, "steer --ablate");
        if (o.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "model", o.model);
            cJSON_AddStringToObject(j, "directions", o.ablate);
            cJSON_AddStringToObject(j, "out", o.out);
            cJSON_AddStringToObject(j, "ablation", o.affine ? "affine" : "zero");
            cli_print_json(j);
        } else {
            printf("%s: the direction of %s ablated from the weights\n", o.out, o.ablate);
        }
        return CLI_OK;
    }
    if (!o.harmful || !o.benign) return cli_usage_error("steer", "--extract needs --harmful FILE and --benign FILE");
    wd_steer_params p = d;
    p.harmful = o.harmful;
    p.benign = o.benign;
    p.method = (wd_direction_method)o.method;
    p.layer = (int)o.layer;
    p.affine = o.affine;
    p.n_train = (size_t)o.n_train;
    p.n_val = (size_t)o.n_val;
    p.max_tokens = (size_t)o.max_tokens;
    p.n_threads = (int)o.threads;
    bool tty = isatty(2);
    if (!o.quiet) p.progress = progress, p.user = &tty;
    wd_steer_result r;
    wd_status st = wd_steer_extract(o.model, &p, &r);
    if (st) return cli_fail(st, "steer");
    st = wd_steer_save(&r, o.model, o.out);
    if (!st) report(&o, &r);
    wd_steer_result_free(&r);
    return st ? cli_fail(st, "steer") : CLI_OK;
}

int cli_steer_apply(wd_model *m, const char *spec, const char *cmd) {
    if (!spec) return -1;
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec)
        return cli_usage_error(cmd, "--steer: expected FILE:ALPHA[@LAYER], got '%s'", spec);
    char *end = NULL;
    double alpha = strtod(colon + 1, &end);
    long layer = -1;
    if (end && *end == '@') {
        char *e2 = NULL;
        layer = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 || layer < 0) end = NULL;
        else end = e2;
    }
    if (end == colon + 1 || !end || *end || !isfinite(alpha))
        return cli_usage_error(cmd, "--steer: expected FILE:ALPHA[@LAYER] with a number ALPHA, got '%s'", spec);
    char *path = strndup(spec, (size_t)(colon - spec));
    if (!path) return cli_error("out of memory");
    wd_status st = wd_steer_apply(m, path, (float)alpha, (int)layer);
    free(path);
    return st ? cli_fail(st, "--steer") : -1;
}
