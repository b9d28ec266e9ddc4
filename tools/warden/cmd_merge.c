/*
 * tools/warden/cmd_merge.c - `warden merge` (wd_merge: linear, slerp,
 * task-arithmetic, ties, dare-linear, dare-ties) and `warden resta`
 * (wd_resta: adding the safety vector back to a fine-tuned model).
 * Both stream one tensor at a time into a model folder; docs/repair.md.
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
#include "warden/weights.h"

#define MAX_MODELS 64

static const char *const METHODS[] = {"linear", "slerp", "task-arithmetic", "ties", "dare-linear",
                                      "dare-ties", NULL};
static const char *const DTYPES[] = {"auto", "f32", "f16", "bf16", NULL};

typedef struct merge_opts {
    int                method, dtype;
    const char        *base, *models, *out;
    double             density, lambda, t, beta, dare;
    unsigned long long seed, shard;
    bool               normalize, no_normalize, json, quiet;
    const char        *aligned, *unaligned, *finetuned;
} merge_opts;

#define O(f) offsetof(merge_opts, f)

/* "5GB", "500MB", "1.5GiB", "123" (bytes): decimal and binary units. */
static bool parse_size(const cli_flag *row, void *field, const char *v, const char *cmd) {
    char *end;
    double x = strtod(v, &end);
    static const struct { const char *u; double m; } units[] = {
        {"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
    };
    for (size_t i = 0; end != v && i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].u) && x * units[i].m >= 1 && x * units[i].m < 1.8e19) {
            *(unsigned long long *)field = (unsigned long long)(x * units[i].m);
            return true;
        }
    cli_usage_error(cmd, "%s: expected a size such as 5GB, 500MB or 2GiB, got '%s'", row->name, v);
    return false;
}

static const cli_flag COMMON[] = {
    CLI_ENUM("--dtype", O(dtype), "D", DTYPES,
             "output dtype of the float tensors: f32, f16, bf16, or auto\n"
             "(default: each input tensor's)"),
    CLI_CALL("--shard-size", O(shard), parse_size, "SIZE",
             "most tensor bytes per output shard (default 5GB; one file\n"
             "model.safetensors when everything fits)"),
    CLI_U64("--seed", O(seed), "N", "seed of DARE's random drop (default 0)"),
    CLI_STR("--out", O(out), "DIR", "the output model folder (created; nothing is left there on failure)"),
    CLI_BOOL("--json", O(json), "print a JSON summary on stdout"),
    CLI_BOOL("--quiet", O(quiet), "no progress line"),
};

static const cli_flag MERGE_ROWS[] = {
    CLI_TEXT("usage: warden merge --method M --base DIR --models A[:W],B[:W],... --out DIR [options]\n\n"
             "Merges model folders (safetensors, one file or sharded) as mergekit does, one\n"
             "tensor at a time: d_i = model_i - base are the task vectors, W their weights.\n"
             "  linear           sum W_i model_i / sum W_i (the base is not mixed in)\n"
             "  slerp            spherical interpolation base -> the one model, by --t\n"
             "  task-arithmetic  base + lambda sum W_i d_i\n"
             "  ties             trim each d_i to --density, elect signs, disjoint mean\n"
             "  dare-linear      drop d_i's entries at random (keep --density, rescale)\n"
             "  dare-ties        DARE, then TIES' sign election\n"
             "Config and tokenizer files come from the base (or the first model).\n"
             "docs/repair.md.\n\noptions:\n"),
    CLI_ENUM("--method", O(method), "M", METHODS, "linear, slerp, task-arithmetic, ties (default),\n"
                                                  "dare-linear, dare-ties"),
    CLI_STR("--base", O(base), "DIR", "the base model (all but linear)"),
    CLI_STR("--models", O(models), "A[:W],...", "the models and their weights (default 1)"),
    CLI_DOUBLE("--density", O(density), "P", 0, 1, "ties, dare: fraction of each task vector kept (default 1)",
               .open_lo = true),
    CLI_DOUBLE("--lambda", O(lambda), "L", -1e6, 1e6, "scale of the merged task vector (default 1)"),
    CLI_DOUBLE("--t", O(t), "T", -1e6, 1e6, "slerp: 0 = base, 1 = the model (default 0.5)"),
    CLI_BOOL("--normalize", O(normalize), "divide by the sum of the weights (default: on for\n"
                                         "linear and ties, off for the others)"),
    CLI_BOOL("--no-normalize", O(no_normalize), "do not"),
};

static const cli_flag RESTA_ROWS[] = {
    CLI_TEXT("usage: warden resta --aligned A --unaligned U --finetuned F --out DIR [options]\n\n"
             "RESTA: adds the safety vector v = A - U back to the fine-tuned model F:\n"
             "  theta = F + beta v;  with --dare p:  theta = A + DARE_p(F - A) + beta v\n"
             "(DARE keeps each entry of the fine-tuning delta with probability 1 - p and\n"
             "rescales it by 1 / (1 - p)). Config and tokenizer come from F. docs/repair.md.\n\n"
             "options:\n"),
    CLI_STR("--aligned", O(aligned), "DIR", "the aligned model the fine-tune started from"),
    CLI_STR("--unaligned", O(unaligned), "DIR", "the aligned model fine-tuned on harmful data"),
    CLI_STR("--finetuned", O(finetuned), "DIR", "the compromised model to repair"),
    CLI_DOUBLE("--beta", O(beta), "B", -1e6, 1e6, "scale of the safety vector (default 1)"),
    CLI_DOUBLE("--dare", O(dare), "P", 0, 0.999999, "drop probability of DARE on F - A (default 0: none)"),
};

static const cli_flag TAIL[] = {
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure (inputs that disagree, I/O).\n"),
};

typedef struct progress_state {
    bool        tty, quiet;
    const char *cmd;
    int         last_decile;
} progress_state;

static void progress(size_t done, size_t total, const char *tensor, void *user) {
    progress_state *p = user;
    if (p->quiet) return;
    int decile = (int)(10 * done / (total ? total : 1));
    if (!p->tty && decile == p->last_decile && done != total) return;
    p->last_decile = decile;
    cli_progress(p->tty, done == total, "%s: %zu/%zu tensors  %s", p->cmd, done, total, tensor);
}

static int parse_models(const char *list, wd_merge_model *m, size_t *n) {
    *n = 0;
    char *s = strdup(list);
    if (!s) return cli_error("out of memory");
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == MAX_MODELS) {
            free(s);
            return cli_usage_error("merge", "--models: at most %d models", MAX_MODELS);
        }
        double w = 1.0;
        char *colon = strrchr(tok, ':'), *end;
        if (colon && colon[1]) {
            double x = strtod(colon + 1, &end);
            if (!*end && isfinite(x)) {
                w = x;
                *colon = '\0';
            }
        }
        if (!tok[0]) {
            free(s);
            return cli_usage_error("merge", "--models: an empty path in '%s'", list);
        }
        m[*n].path = strdup(tok);
        m[*n].weight = w;
        if (!m[*n].path) {
            free(s);
            return cli_error("out of memory");
        }
        (*n)++;
    }
    free(s);
    return *n ? -1 : cli_usage_error("merge", "--models: no model in '%s'", list);
}

static int to_dtype(int choice) {
    static const int k[] = {-1, WD_DTYPE_F32, WD_DTYPE_F16, WD_DTYPE_BF16};
    return k[choice];
}

static void print_report(const char *cmd, const char *method, const char *out, const wd_merge_report *r,
                         bool json) {
    double dropped = r->n_delta_entries ? (double)r->n_dropped / (double)r->n_delta_entries : NAN;
    double conflicts = r->n_sign_entries ? (double)r->n_sign_conflicts / (double)r->n_sign_entries : NAN;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "command", cmd);
        cJSON_AddStringToObject(j, "method", method);
        cJSON_AddStringToObject(j, "out", out);
        cJSON_AddNumberToObject(j, "tensors", (double)r->n_tensors);
        cJSON_AddNumberToObject(j, "merged", (double)r->n_merged);
        cJSON_AddNumberToObject(j, "copied", (double)r->n_copied);
        cJSON_AddNumberToObject(j, "params", (double)r->n_params);
        if (isfinite(dropped)) cJSON_AddNumberToObject(j, "dropped_fraction", dropped);
        else cJSON_AddNullToObject(j, "dropped_fraction");
        if (isfinite(conflicts)) cJSON_AddNumberToObject(j, "sign_conflict_fraction", conflicts);
        else cJSON_AddNullToObject(j, "sign_conflict_fraction");
        cJSON_AddNumberToObject(j, "slerp_lerp_tensors", (double)r->n_slerp_lerp);
        cJSON_AddNumberToObject(j, "shards", (double)r->n_shards);
        cJSON_AddNumberToObject(j, "bytes_written", (double)r->bytes_written);
        cJSON_AddNumberToObject(j, "seconds", r->seconds);
        cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)r->peak_rss_bytes);
        cli_print_json(j);
        return;
    }
    printf("%s (%s): %zu tensors (%zu merged, %zu copied), %.3g M params -> %s: %zu shard%s, %.3g MB, "
           "%.2f s, peak RSS %.3g MB",
           cmd, method, r->n_tensors, r->n_merged, r->n_copied, (double)r->n_params / 1e6, out, r->n_shards,
           r->n_shards == 1 ? "" : "s", (double)r->bytes_written / 1e6, r->seconds,
           (double)r->peak_rss_bytes / 1e6);
    if (isfinite(dropped)) printf(", dropped %.1f%% of delta entries", 100 * dropped);
    if (isfinite(conflicts)) printf(", sign conflicts at %.1f%% of entries", 100 * conflicts);
    if (r->n_slerp_lerp) printf(", %zu tensors lerped (nearly colinear)", r->n_slerp_lerp);
    printf("\n");
}

int cmd_merge(int argc, char **argv) {
    merge_opts o = {.method = 3, .density = 1.0, .lambda = 1.0, .t = 0.5, .shard = 5000000000ull};
    cli_spec spec = {"merge", {{MERGE_ROWS, CLI_N(MERGE_ROWS), &o}, {COMMON, CLI_N(COMMON), &o},
                               {TAIL, CLI_N(TAIL), &o}}, .col = 22, .max_pos = 0};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.models) return cli_usage_error("merge", "--models A[:W],... is required");
    if (!o.out) return cli_usage_error("merge", "--out DIR is required");
    if (o.normalize && o.no_normalize) return cli_usage_error("merge", "--normalize and --no-normalize disagree");
    wd_merge_model models[MAX_MODELS];
    size_t n = 0;
    if ((rc = parse_models(o.models, models, &n)) >= 0) goto done;
    progress_state ps = {.tty = isatty(2), .quiet = o.quiet || o.json, .cmd = "merge", .last_decile = -1};
    wd_merge_params p = wd_merge_params_default();
    p.method = (wd_merge_method)o.method;
    p.base = o.base;
    p.models = models;
    p.n_models = n;
    p.density = o.density;
    p.lambda = o.lambda;
    p.t = o.t;
    p.normalize = o.normalize ? 1 : o.no_normalize ? 0 : -1;
    p.seed = o.seed;
    p.out_dtype = to_dtype(o.dtype);
    p.shard_bytes = o.shard;
    p.progress = progress;
    p.progress_user = &ps;
    wd_merge_report r;
    wd_status st = wd_merge(o.out, &p, &r);
    if (st) rc = cli_fail(st, "merge");
    else {
        print_report("merge", METHODS[o.method], o.out, &r, o.json);
        rc = CLI_OK;
    }
done:
    for (size_t i = 0; i < n; i++) free((char *)models[i].path);
    return rc;
}

int cmd_resta(int argc, char **argv) {
    merge_opts o = {.beta = 1.0, .shard = 5000000000ull};
    cli_spec spec = {"resta", {{RESTA_ROWS, CLI_N(RESTA_ROWS), &o}, {COMMON, CLI_N(COMMON), &o},
                               {TAIL, CLI_N(TAIL), &o}}, .col = 22, .max_pos = 0};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.aligned || !o.unaligned || !o.finetuned)
        return cli_usage_error("resta", "--aligned, --unaligned and --finetuned are required");
    if (!o.out) return cli_usage_error("resta", "--out DIR is required");
    progress_state ps = {.tty = isatty(2), .quiet = o.quiet || o.json, .cmd = "resta", .last_decile = -1};
    wd_resta_params p = wd_resta_params_default();
    p.aligned = o.aligned;
    p.unaligned = o.unaligned;
    p.finetuned = o.finetuned;
    p.beta = o.beta;
    p.dare = o.dare;
    p.seed = o.seed;
    p.out_dtype = to_dtype(o.dtype);
    p.shard_bytes = o.shard;
    p.progress = progress;
    p.progress_user = &ps;
    wd_merge_report r;
    wd_status st = wd_resta(o.out, &p, &r);
    if (st) return cli_fail(st, "resta");
    print_report("resta", o.dare > 0 ? "resta+dare" : "resta", o.out, &r, o.json);
    return CLI_OK;
}
