/*
 * tools/warden/cmd_train_router.c - `warden train-router`: learn the band of
 * a guard cascade's first score that goes to the second guard (or, with
 * --method mlp, SafeRoute's MLP on the first guard's hidden state), on
 * labelled validation data, and write router.json (the library's wd_router_train
 * does the work; this file parses flags and prints the figures).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_flags.h"
#include "warden/guard.h"
#include "warden/router.h"
#include "warden/train.h"

typedef struct opts {
    const char *policy, *first, *second, *data_dir, *out, *cache;
    double      target, lr, wd;
    long        limit, threads, batch, hidden, epochs;
    unsigned long long seed;
    int         method, role;
    bool        no_cache, json, quiet;
} opts;

#define O(f) offsetof(opts, f)

static const char *const METHODS[] = {"threshold", "mlp", NULL};
static const char *const ROLES[] = {"input", "output", NULL};

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden train-router --policy FILE --data-dir DIR|--data FILE --out router.json\n"
             "       warden train-router --first NODE --second NODE ... --out router.json\n\n"
             "Learns when a guard cascade (type: cascade, docs/policy.md) sends a text to its\n"
             "second, slow guard: runs the first guard and the second guard, each alone, over\n"
             "labelled validation texts, and picks the band low <= first score < high of best\n"
             "F1 that escalates at most --target-share of them. The second guard's verdicts\n"
             "are cached (--cache), so a rerun only pays for the first guard.\n\n"
             "options:\n"),
    CLI_STR("--policy", O(policy), "FILE", "a policy with a cascade scanner (its router is ignored)"),
    CLI_STR("--first", O(first), "NODE", "or: the first guard as a one-line YAML scanner node,\n"
                                         "e.g. '{type: classifier}'"),
    CLI_STR("--second", O(second), "NODE", "and the second, e.g. '{type: llm_judge, model: DIR}'"),
    CLI_STR("--data-dir", O(data_dir), "DIR", "the public datasets (../shared/data): their validation\n"
                                              "split (never trained on by the built-in classifier)"),
    CLI_INT("--limit", O(limit), "N", 0, 100000000, "at most N texts, drawn with --seed (default 0 = all)"),
    CLI_U64("--seed", O(seed), "S", "the draw's seed (default 1)"),
    CLI_DOUBLE("--target-share", O(target), "X", 0, 1, "most texts escalated, as a share (default %g)", .show = true),
    CLI_ENUM("--method", O(method), "threshold|mlp", METHODS,
             "threshold (default): the band on the first score;\n"
             "mlp (SafeRoute): an MLP on the first guard's last hidden\n"
             "state (a model judge first) learns when the first guard is\n"
             "wrong and the second right; weights in OUT's .safetensors",
             .bad = "--method: expected threshold or mlp, got '%s'"),
    CLI_INT("--hidden", O(hidden), "N", 1, 4096, "mlp: both hidden sizes (default %ld)", .show = true),
    CLI_INT("--epochs", O(epochs), "N", 1, 100000, "mlp: passes over the data (default %ld)", .show = true),
    CLI_DOUBLE("--lr", O(lr), "X", 1e-6, 1, "mlp: AdamW's learning rate (default %g)", .show = true),
    CLI_DOUBLE("--weight-decay", O(wd), "X", 0, 1, "mlp: AdamW's weight decay, in place of SafeRoute's\n"
                                                  "KL to a prior (default %g)", .show = true),
    CLI_ENUM("--role", O(role), "input|output", ROLES, "check the texts as prompts (default) or responses",
             .bad = "--role: input or output, not '%s'"),
    CLI_STR("--out", O(out), "FILE", "where to write router.json (required)"),
    CLI_STR("--cache", O(cache), "FILE", "the second guard's verdicts (default: OUT.cache.jsonl)"),
    CLI_BOOL("--no-cache", O(no_cache), "do not read or write a cache"),
    CLI_INT("--batch", O(batch), "N", 1, 100000, "texts per guard call (default %ld)", .show = true),
    CLI_INT("--threads", O(threads), "N", 1, 1024, "guard threads (default %ld)", .show = true),
    CLI_BOOL("--json", O(json), "print router.json to standard output at the end"),
    CLI_BOOL("--quiet", O(quiet), "no progress"),
    CLI_TEXT("\n"),
};

static const cli_flag FOOTER[] = {
    CLI_TEXT("\nexit status: 0 done, 2 usage, 3 error\n"),
};

static void progress(void *user, size_t done, size_t total) {
    (void)user;
    cli_progress(true, done == total, "  train-router: %zu/%zu texts", done, total);
}

static int run(const opts *o, cli_data *data) {
    wd_guard_params gp = wd_guard_params_default();
    gp.n_threads = (int)o->threads;
    gp.cascade_untrained = true; /* the router is what we make */
    wd_guard *g = NULL;
    wd_router_data d = {0};
    wd_status st = o->policy ? wd_guard_load(o->policy, &gp, &g)
                             : wd_guard_load_cascade(o->first, o->second, NULL, ".", &gp, &g);
    if (st) return cli_fail(st, o->policy ? o->policy : "--first/--second");
    if (o->data_dir) {
        st = wd_router_data_from_dir(o->data_dir, (size_t)o->limit, o->seed, &d);
    } else {
        const char **paths = calloc(data->n_src, sizeof *paths);
        wd_dataset_params *dp = calloc(data->n_src, sizeof *dp);
        if (!paths || !dp) st = WD_ERR_NOMEM; /* cli_fail says "out of memory" */
        for (size_t f = 0; !st && f < data->n_src; f++) {
            paths[f] = data->src[f].path;
            dp[f] = data->src[f].params;
        }
        if (!st) st = wd_router_data_from_files(paths, dp, data->n_src, (size_t)o->limit, o->seed, &d);
        free(paths);
        free(dp);
    }
    if (st) {
        wd_guard_free(g);
        return cli_fail(st, "data");
    }
    char id[4096], cache[4096];
    wd_router_train_params p = wd_router_train_params_default();
    p.method = o->method ? WD_ROUTER_METHOD_MLP : WD_ROUTER_METHOD_THRESHOLD;
    p.target_share = o->target;
    p.role = o->role ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    p.batch = (size_t)o->batch;
    p.mlp_hidden = (size_t)o->hidden;
    p.mlp_epochs = (size_t)o->epochs;
    p.mlp_lr = o->lr;
    p.mlp_weight_decay = o->wd;
    p.mlp_seed = o->seed;
    if (!o->no_cache) {
        snprintf(cache, sizeof cache, "%s", o->cache ? o->cache : "");
        if (!o->cache) snprintf(cache, sizeof cache, "%s.cache.jsonl", o->out);
        if ((st = wd_router_cache_id(o->policy, o->policy ? NULL : o->second, id, sizeof id))) {
            wd_router_data_free(&d);
            wd_guard_free(g);
            return cli_fail(st, o->policy);
        }
        p.cache_path = cache;
        p.second_id = id;
    }
    if (!o->quiet && isatty(STDERR_FILENO)) p.progress = progress;
    wd_router r;
    wd_router_train_stats s;
    st = wd_router_train(g, &d, &p, &r, &s);
    wd_router_data_free(&d);
    wd_guard_free(g);
    if (st) return cli_fail(st, "train-router");
    st = wd_router_write(&r, o->out);
    wd_router_clear(&r); /* the figures below stay */
    if (st) return cli_fail(st, o->out);
    if (o->json) {
        FILE *f = fopen(o->out, "rb");
        if (!f) return cli_error("%s: cannot read back", o->out);
        char buf[8192];
        size_t len;
        while ((len = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, len, stdout);
        fclose(f);
        return CLI_OK;
    }
    printf("warden train-router: %zu texts (%zu harmful), %zu second verdicts from the cache\n", s.n, s.n_harmful,
           s.n_cached);
    printf("  first alone   F1 %.3f  mean %.3f ms/text\n", r.val_f1_first, s.first_ms);
    printf("  second alone  F1 %.3f  mean %.3f ms/text\n", r.val_f1_second, s.second_ms);
    if (r.method == WD_ROUTER_METHOD_MLP)
        printf("  cascade (mlp) F1 %.3f  escalated %.1f%% at P >= %g, on %zu held-out texts\n"
               "                trained on %zu texts, %zu labelled escalate, loss %.4f\n",
               r.val_f1, 100 * r.val_share, r.p_min, r.n_val, s.n_train, s.n_escalate, s.train_loss);
    if (r.method == WD_ROUTER_METHOD_MLP)
        printf("  band (same split) F1 %.3f  escalated %.1f%% (learned at the MLP's share of the training texts)\n",
               s.band_f1, 100 * s.band_share);
    else
        printf("  cascade       F1 %.3f  escalated %.1f%% (target %.1f%%)  band [%g, %g)\n", r.val_f1,
               100 * r.val_share, 100 * r.target_share, r.low, r.high);
    printf("  %s\n", o->out);
    return CLI_OK;
}

int cmd_train_router(int argc, char **argv) {
    cli_data data;
    wd_router_train_params dp = wd_router_train_params_default();
    opts o = {.target = dp.target_share, .limit = 0, .threads = 1, .batch = (long)dp.batch, .seed = 1,
              .hidden = 512, .epochs = 100, .lr = 1e-3, .wd = 0.01};
    cli_spec spec = {"train-router", {{ROWS, CLI_N(ROWS), &o}, cli_data_table(&data, "--data"), {FOOTER, CLI_N(FOOTER), NULL}},
                     .col = 22};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return cli_data_free(&data), rc;
    const char *why = NULL;
    if (!o.out) why = "--out is required";
    else if (!o.policy == !(o.first || o.second)) why = "give --policy FILE, or --first NODE and --second NODE";
    else if (!o.policy && !(o.first && o.second)) why = "--first and --second go together";
    else if (!o.data_dir == !data.n_src) why = "give --data-dir DIR or --data FILE (one of them)";
    else if (o.cache && o.no_cache) why = "--cache and --no-cache exclude each other";
    if (why) return cli_data_free(&data), cli_usage_error("train-router", "%s", why);
    if (!cli_data_finish(&data, "train-router")) return cli_data_free(&data), CLI_USAGE;
    rc = run(&o, &data);
    cli_data_free(&data);
    return rc;
}
