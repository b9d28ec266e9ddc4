/*
 * tools/warden/cmd_redteam.c - `warden redteam`: parse the flags, load the
 * target and the judge, run the red-team method (wd_redteam_run,
 * warden/redteam.h: generate, detect refusals, judge, rates per transform)
 * and print the rates. SIGINT stops the run cleanly (rerun to resume).
 */
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_flags.h"
#include "warden/redteam.h"

static volatile sig_atomic_t g_stop = 0;
static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1;
}

/* The rates per transform, as a table. */
static void print_rates(const wd_redteam_rates *r, size_t n) {
    printf("%-16s %8s %8s %10s %10s %10s %12s\n", "transform", "harmful", "benign", "refusal", "ASR(kw)",
           "ASR(judge)", "over-refusal");
    for (size_t k = 0; k < n; k++) {
        const wd_redteam_summary *s = &r[k].summary;
        double v[4] = {s->refusal_rate, s->asr_keyword, s->asr_judge, s->over_refusal};
        printf("%-16s %8zu %8zu", r[k].transform, s->n_harmful, s->n_benign);
        for (int j = 0; j < 4; j++) {
            if (isfinite(v[j])) printf(" %*.1f%%", j == 3 ? 11 : 9, 100 * v[j]);
            else printf(" %*s", j == 3 ? 12 : 10, "-");
        }
        printf("\n");
    }
}

typedef struct opts {
    const char *target, *judge, *attack, *out, *chat_format, *system, *tpl_path, *tpl_field, *steer, *scorecard;
    bool        benign, fresh, quiet, no_scorecard;
    long        max_tokens, n_ctx, threads, tokens;
    double      temperature, rate;
    unsigned long long seed;
} opts;

#define O(f) offsetof(opts, f)

/* Loads the target and the judge, runs and prints; returns the exit status. */
static int run(const opts *o, cli_data *data, wd_redteam_params *rp, const wd_attack_kind *kinds,
               size_t n_kinds) {
    int rc = CLI_OK;
    char **tpls = NULL;
    size_t n_tpls = 0;
    wd_model *model = NULL;
    wd_scorecard *card = NULL;
    wd_redteam_outcome oc;
    memset(&oc, 0, sizeof oc);
    wd_eval_source *src = calloc(data->n_src, sizeof *src);
    if (!src) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (size_t f = 0; f < data->n_src; f++) {
        src[f].path = data->src[f].path;
        src[f].params = data->src[f].params;
    }
    if (o->tpl_path) {
        wd_status st = wd_attack_templates_load(o->tpl_path, o->tpl_field, 1, &tpls, &n_tpls);
        if (st) {
            rc = cli_fail(st, "--templates");
            goto done;
        }
        rp->eval.attack.templates = (const char *const *)tpls;
        rp->eval.attack.n_templates = n_tpls;
    }
    if ((rc = cli_scorecard_load(o->scorecard, o->no_scorecard, "redteam", &card)) >= 0) goto done;
    rc = CLI_OK;
    rp->eval.scorecard = card;
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = (int)o->threads;
    wd_status st = wd_model_load(o->target, &mp, &model);
    if (st) {
        rc = cli_fail(st, o->target);
        goto done;
    }
    if (!wd_model_tokenizer(model)) {
        rc = cli_error("%s: the target has no tokenizer.json", o->target);
        goto done;
    }
    if ((rc = cli_steer_apply(model, o->steer, "redteam")) >= 0) goto done;
    rc = CLI_OK;
    if (o->chat_format && wd_chat_format_parse(o->chat_format, &rp->chat.format)) {
        rc = cli_usage_error("redteam", "--chat-format: %s", wd_last_error());
        goto done;
    }
    if (strcmp(o->judge, "none")) {
        wd_guard_params gp = wd_guard_params_default();
        struct stat sb;
        st = !strcmp(o->judge, "default")                     ? wd_guard_load_default(&gp, &rp->judge)
             : stat(o->judge, &sb) == 0 && S_ISDIR(sb.st_mode) ? wd_guard_load_model(o->judge, &gp, &rp->judge)
                                                               : wd_guard_load(o->judge, &gp, &rp->judge);
        if (st) {
            rc = cli_fail(st, o->judge);
            goto done;
        }
    }
    rp->eval.attacks = n_kinds ? kinds : NULL;
    rp->eval.n_attacks = n_kinds;
    rp->eval.resume = !o->fresh;
    rp->eval.subject = o->target;
    rp->eval.stop = &g_stop;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    st = wd_redteam_run(model, o->out, src, data->n_src, rp, &oc);
    sigaction(SIGINT, &old, NULL);
    if (st == WD_ERR_CANCELLED) {
        fprintf(stderr, "warden: redteam: interrupted after %zu of %zu; rerun to resume\n",
                oc.eval.n_resumed + oc.eval.n_scored, oc.eval.n_units);
        rc = 130;
        goto done;
    }
    if (st) { /* once the run is complete, the error is the summary's, which names its file */
        rc = cli_fail(st, oc.eval.complete ? NULL : "redteam");
        goto done;
    }
    print_rates(oc.rates, oc.n_rates);
    char rpath[4096];
    snprintf(rpath, sizeof rpath, "%s/redteam.json", o->out);
    cli_scorecard_print(rpath);
    printf("  %s/results.jsonl\n  %s/metrics.json\n  %s/report.html\n  %s/redteam.json\n", o->out, o->out,
           o->out, o->out);
done:
    wd_scorecard_free(card);
    free(oc.rates);
    wd_guard_free(rp->judge);
    wd_model_free(model);
    free(src);
    wd_attack_templates_free(tpls, n_tpls);
    cli_data_free(data);
    return rc;
}

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden redteam --target DIR --data FILE[,FILE...] [options]\n\n"
             "Renders each prompt with the target's chat template, generates a response\n"
             "detects refusals and asks a judge guard (output role) whether the response\n"
             "is unsafe. Writes, in --out: results.jsonl (prompt, response, refused,\n"
             "judge), metrics.json and report.html (\"flagged\" = refused), and\n"
             "redteam.json: per transform, the refusal rate and the attack success rate\n"
             "(keyword: harmful prompts answered without a refusal; judge: responses the\n"
             "judge flags) on harmful prompts, and the over-refusal rate on benign ones,\n"
             "with the risk scorecard (a level per hazard category) in metrics.json,\n"
             "redteam.json and the report.\n"
             "Resumable like eval.\n\n"
             "options:\n"),
    CLI_STR("--target", O(target), "DIR", "the model (config.json, safetensors, tokenizer.json)"),
    CLI_STR("--judge", O(judge), "POLICY|DIR|default|none", "the judge guard: a policy file, a model\n"
                                                            "folder (an LLM judge or a classifier), the built-in\n"
                                                            "policy (default) or none"),
    CLI_BOOL("--benign", O(benign), "the prompts are benign-but-borderline (over-refusal);\n"
                                    "unlabelled files count as benign"),
    CLI_STR("--attack", O(attack), "LIST", "attack transforms (as for warden attack); with --seed,\n"
                                           "--rate, --tokens, --templates, --template-field"),
    CLI_U64("--seed", O(seed), "S", NULL, .lenient = true),
    CLI_DOUBLE("--rate", O(rate), "R", 0, 0, NULL, .lenient = true),
    CLI_INT("--tokens", O(tokens), "D", 1, 10000, NULL),
    CLI_STR("--templates", O(tpl_path), "FILE", NULL),
    CLI_STR("--template-field", O(tpl_field), "F", NULL),
    CLI_STR("--chat-format", O(chat_format), "F", "llama-2, llama-3, chatml, mistral, gemma (default: from\n"
                                                  "tokenizer_config.json's chat_template)"),
    CLI_STR("--system", O(system), "TEXT", "a system message"),
    CLI_STR("--steer", O(steer), "FILE:A[@L]", "steer the target: A x the direction of FILE added at\n"
                                               "layer L (warden generate --steer)"),
    CLI_INT("--max-tokens", O(max_tokens), "N", 1, 1 << 20, "tokens to generate (default 64)"),
    CLI_DOUBLE("--temperature", O(temperature), "T", 0, 0, "0 = greedy (default 0)", .lenient = true),
    CLI_INT("--ctx", O(n_ctx), "N", 16, 1 << 24, "context length (default: min(model, 2048))"),
    CLI_INT("--threads", O(threads), "N", 0, 1024, "threads (default: all)"),
    CLI_STR("--scorecard", O(scorecard), "FILE", "the risk scorecard: a level per hazard category from\n"
                                                 "attack success and over-refusal (default: the built-in\n"
                                                 "one; docs/scorecard.md)"),
    CLI_BOOL("--no-scorecard", O(no_scorecard), "no scorecard"),
    CLI_STR("--out", O(out), "DIR", "output folder (default: redteam-out)"),
    CLI_BOOL("--fresh", O(fresh), NULL),
    CLI_BOOL("--quiet", O(quiet), NULL),
    CLI_TEXT("  --fresh, --quiet\n\n"),
};

int cmd_redteam(int argc, char **argv) {
    cli_data data;
    wd_redteam_params rp = wd_redteam_params_default();
    opts o = {.judge = "default", .out = "redteam-out", .max_tokens = 64, .seed = rp.eval.attack.seed,
              .rate = rp.eval.attack.rate};
    cli_spec spec = {"redteam", {{ROWS, CLI_N(ROWS), &o}, cli_data_table(&data, "--data")},
                     .unknown = "unknown argument '%s'", .extra = "unknown argument '%s'",
                     .missing = "unknown argument or missing value: '%s'", .unknown_last_missing = true};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return cli_data_free(&data), rc;
    if (!o.target || data.n_src == 0)
        return cli_data_free(&data), cli_usage_error("redteam", "--target and --data are required");
    if (o.benign && data.defaults.fixed_label == WD_LABEL_UNKNOWN && !data.defaults.label_field)
        data.defaults.fixed_label = WD_LABEL_BENIGN;
    if (!cli_data_finish(&data, "redteam")) return cli_data_free(&data), CLI_USAGE;
    wd_attack_kind kinds[64];
    size_t n_kinds = 0;
    if (o.attack && wd_attack_parse_list(o.attack, kinds, 64, &n_kinds))
        return cli_data_free(&data), cli_usage_error("redteam", "--attack: %s", wd_last_error());
    rp.eval.attack.seed = o.seed;
    rp.eval.attack.rate = o.rate;
    if (o.tokens) rp.eval.attack.n_tokens = (int)o.tokens;
    rp.system = o.system;
    rp.n_ctx = (size_t)o.n_ctx;
    rp.generate.max_tokens = (size_t)o.max_tokens;
    rp.generate.sampler.temperature = (float)o.temperature;
    rp.generate.sampler.seed = rp.eval.attack.seed;
    return run(&o, &data, &rp, kinds, n_kinds);
}
