/*
 * tools/warden/cmd_eval.c - `warden eval`: run a guard over labelled data,
 * clean and under attack, and write results.jsonl, metrics.json and
 * report.html (the library's wd_eval_run does the work, with its guard or
 * erase-and-check scorer; this file parses flags, draws the progress bar
 * and turns SIGINT into a clean stop).
 */
#include <math.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_flags.h"
#include "warden/attack.h"
#include "warden/eval.h"
#include "warden/explain.h"
#include "warden/guard.h"

static volatile sig_atomic_t g_stop = 0;

static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1; /* SA_RESETHAND: a second Ctrl-C kills at once */
}

/* ==== flags ============================================================== */

typedef struct opts {
    const char *policy, *model, *attack, *out, *tpl_path, *tpl_field, *title, *scorecard, *guard_format;
    bool        fresh, json, quiet, certify, no_scorecard;
    long        batch, threads, greedy, tokens, explain;
    int         role;
    double      rate;
    unsigned long long seed;
    wd_certify_params cert;
} opts;

#define O(f) offsetof(opts, f)

/* --certify MODE[:D[:K]] (the field: the opts itself, at offset 0). */
static bool certify_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    opts *o = field;
    o->certify = true;
    if (!wd_certify_params_parse(v, &o->cert)) return true;
    cli_usage_error(cmd, "--certify: expected MODE[:D[:K]] with MODE suffix, insertion or infusion, got '%s'", v);
    return false;
}

/* ==== progress ============================================================ */

typedef struct progress {
    double t0;
    size_t first;
    int    shown;
} progress;


static void draw_progress(void *user, size_t done, size_t total) {
    progress *p = user;
    if (!p->shown) {
        p->t0 = cli_now_s();
        p->first = done;
        p->shown = 1;
    }
    double el = cli_now_s() - p->t0, rate = el > 0 ? (double)(done - p->first) / el : 0;
    char bar[64], eta[32];
    cli_bar_eta(total ? (double)done / (double)total : 1, rate > 0 && done < total ? (double)(total - done) / rate : -1,
                bar, eta);
    /* \033[K clears what a longer previous line left (the ETA goes at the end) */
    fprintf(stderr, "\r  eval [%s] %zu/%zu  %.1f/s%s\033[K", bar, done, total, rate, eta);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

/* ==== summary on stdout =================================================== */

static double jnum(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItem(o, a);
    if (b) x = cJSON_GetObjectItem(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* Prints the headline numbers of OUT/metrics.json. */
static void print_headline(const char *out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", out);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char *buf = NULL;
    size_t cap = 0, n = 0, k;
    char tmp[65536];
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) {
        char *nb = realloc(buf, cap = n + k + 1);
        if (!nb) break;
        buf = nb;
        memcpy(buf + n, tmp, k);
        n += k;
    }
    fclose(f);
    cJSON *m = buf ? cJSON_ParseWithLength(buf, n) : NULL;
    free(buf);
    if (!m) return;
    const cJSON *c = cJSON_GetObjectItem(m, "clean");
    const cJSON *d = cJSON_GetObjectItem(c, "decision");
    printf("  recall %.1f%%  FPR %.1f%%  precision %.1f%%  F1 %.3f  AUPRC %.3f  ROC-AUC %.3f  p50 %.3f ms\n",
           100 * jnum(d, "recall", NULL), 100 * jnum(d, "fpr", NULL), 100 * jnum(d, "precision", NULL),
           jnum(d, "f1", NULL), jnum(c, "scores", "auprc"), jnum(c, "scores", "roc_auc"),
           jnum(c, "latency_ms", "p50"));
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(m, "attacks")) {
        const cJSON *t = cJSON_GetObjectItem(a, "transform");
        printf("  %-16s detection %5.1f%% -> %5.1f%%   FPR %5.1f%% -> %5.1f%%\n",
               cJSON_IsString(t) ? t->valuestring : "?", 100 * jnum(a, "clean_detection", NULL),
               100 * jnum(a, "attacked_detection", NULL), 100 * jnum(a, "clean_fpr", NULL),
               100 * jnum(a, "attacked_fpr", NULL));
    }
    cJSON_Delete(m);
}

/* The cascade's lines: each guard alone and the router's band. */
static void print_cascade(const wd_report_cascade *rc) {
    const struct { const char *name; const wd_cascade_point *p; } row[] = {
        {"first alone", &rc->first}, {"second alone", &rc->second}, {"cascade", &rc->cascade}};
    for (size_t i = 0; i < 3; i++)
        printf("  %-13s F1 %.3f  escalated %5.1f%%  mean latency %.3f ms\n", row[i].name, row[i].p->f1,
               100 * row[i].p->share, row[i].p->mean_ms);
    printf("  (cascade band [%g, %g); the F1/latency curve against share escalated: metrics.json \"cascade\", "
           "report.html)\n",
           rc->cascade.low, rc->cascade.high);
}

/* ==== command ============================================================= */

static const char *const ROLES[] = {"input", "output", NULL};

/* --explain N: the N worst false negatives and positives explained into
 * OUT/explanations.json and the report (wd_explain_eval_errors). */
static int explain_errors(const opts *o, const wd_eval_guard *gs) {
    wd_explain_params xp = wd_explain_params_default();
    wd_tokenizer *tok = NULL;
    int rc = cli_explain_setup(o->model, NULL, 0, &xp, &tok);
    if (rc >= 0) return rc;
    wd_explain_guard eg = {.guard = gs->guard, .check = gs->check, .category = -1};
    wd_status st = wd_explain_eval_errors(o->out, (size_t)o->explain, wd_explain_guard_scorer, &eg, &xp, NULL);
    wd_tokenizer_free(tok);
    if (st) return cli_fail(st, "eval --explain");
    return CLI_OK;
}

/* Loads the guard (and the certifier), runs the evaluation and prints
 * the summary; returns the exit status. Frees data. */
static int run(const opts *o, cli_data *data, wd_eval_params *ep, wd_eval_guard *gs, wd_eval_certify *cs,
               const wd_attack_kind *kinds, size_t n_kinds) {
    int rc = CLI_OK;
    char **tpls = NULL;
    size_t n_tpls = 0;
    wd_scorecard *card = NULL;
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
        ep->attack.templates = (const char *const *)tpls;
        ep->attack.n_templates = n_tpls;
    }
    if ((rc = cli_scorecard_load(o->scorecard, o->no_scorecard, "eval", &card)) >= 0) goto done;
    rc = CLI_OK;
    ep->scorecard = card;
    wd_guard_params gp = wd_guard_params_default();
    gp.n_threads = (int)o->threads;
    gp.guard_format = o->guard_format;
    wd_status st = o->model ? wd_guard_load_model(o->model, &gp, &gs->guard)
                   : o->policy ? wd_guard_load(o->policy, &gp, &gs->guard)
                               : wd_guard_load_default(&gp, &gs->guard);
    if (st) {
        rc = cli_fail(st, o->model ? o->model : o->policy ? o->policy : "built-in policy");
        goto done;
    }
    cs->params.role = gs->check.role;
    char subject[512];
    snprintf(subject, sizeof subject, "%s", wd_guard_name(gs->guard));
    if (o->certify) {
        /* a model folder certifies over its own tokens (a decoder with prefix reuse) */
        if (o->model) {
            wd_judge_params jp = wd_judge_params_default();
            jp.n_threads = (int)o->threads;
            st = wd_certifier_new_model(o->model, &jp, &cs->certifier);
        } else {
            st = wd_certifier_new_guard(gs->guard, NULL, &cs->certifier);
        }
        if (st) {
            rc = cli_fail(st, "certify");
            goto done;
        }
        if (cs->params.greedy_rounds)
            snprintf(subject, sizeof subject, "GreedyEC (%d rounds) over %s", cs->params.greedy_rounds,
                     wd_guard_name(gs->guard));
        else
            snprintf(subject, sizeof subject, "%s %s d=%d over %s",
                     cs->params.sample_ratio > 0 && cs->params.sample_ratio < 1 ? "RandEC" : "erase-and-check",
                     wd_ec_mode_str(cs->params.mode),
                     cs->params.max_erase ? cs->params.max_erase : wd_ec_mode_default_erase(cs->params.mode),
                     wd_guard_name(gs->guard));
    }
    ep->batch_size = (size_t)o->batch;
    ep->attacks = n_kinds ? kinds : NULL;
    ep->n_attacks = n_kinds;
    ep->resume = !o->fresh;
    ep->title = o->title;
    ep->subject = subject;
    ep->stop = &g_stop;
    progress pr;
    memset(&pr, 0, sizeof pr);
    if (!o->quiet && isatty(STDERR_FILENO)) {
        ep->progress = draw_progress;
        ep->progress_user = &pr;
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    wd_eval_outcome oc;
    /* a policy with a cascade: both guards on every item, the router decides */
    wd_eval_cascade ec = {.guard = gs->guard, .check = gs->check};
    bool cascade = !o->certify && wd_guard_cascade_router(gs->guard, &ec.router);
    st = o->certify ? wd_eval_run(o->out, src, data->n_src, wd_eval_score_certify, cs, ep, &oc)
         : cascade  ? wd_eval_run(o->out, src, data->n_src, wd_eval_score_cascade, &ec, ep, &oc)
                    : wd_eval_run(o->out, src, data->n_src, wd_eval_score_guard, gs, ep, &oc);
    wd_report_cascade cas;
    memset(&cas, 0, sizeof cas);
    if (!st && cascade) st = wd_eval_cascade_report(o->out, &ec.router, &cas);
    sigaction(SIGINT, &old, NULL);
    if (pr.shown && !oc.complete) fputc('\n', stderr);
    if (st == WD_ERR_CANCELLED) {
        fprintf(stderr, "warden: eval: interrupted after %zu of %zu; outputs in %s are valid; rerun the "
                        "same command to resume\n",
                oc.n_resumed + oc.n_scored, oc.n_units, o->out);
        rc = 130;
        goto done;
    }
    if (st) {
        rc = cli_fail(st, "eval");
        goto done;
    }
    if (o->explain && (rc = explain_errors(o, gs)) != CLI_OK) goto done;
    if (o->json) {
        char path[4096];
        snprintf(path, sizeof path, "%s/metrics.json", o->out);
        FILE *f = fopen(path, "rb");
        if (!f) {
            rc = cli_error("%s: cannot read back", path);
            goto done;
        }
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, k, stdout);
        fclose(f);
    } else {
        printf("warden eval: %zu items x %zu (clean%s) = %zu checks (%zu resumed, %zu new)\n", oc.n_items,
               1 + n_kinds, n_kinds ? " + attacks" : "", oc.n_units, oc.n_resumed, oc.n_scored);
        print_headline(o->out);
        if (cascade) print_cascade(&cas);
        char mpath[4096];
        snprintf(mpath, sizeof mpath, "%s/metrics.json", o->out);
        cli_scorecard_print(mpath);
        printf("  %s/results.jsonl\n  %s/metrics.json\n  %s/report.html\n", o->out, o->out, o->out);
        if (o->explain) printf("  %s/explanations.json\n", o->out);
    }
done:
    wd_scorecard_free(card);
    wd_certifier_free(cs->certifier);
    wd_guard_free(gs->guard);
    free(src);
    wd_attack_templates_free(tpls, n_tpls);
    cli_data_free(data);
    return rc;
}

static const cli_flag FOOTER[] = {
    CLI_TEXT("\nexit status: 0 done, 2 usage, 3 error, 130 interrupted (rerun to resume)\n"),
};

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden eval --data FILE[,FILE...] [options]\n\n"
             "Runs a guard over labelled data and writes, in --out:\n"
             "  results.jsonl  one line per item (and per attack), appended as it runs\n"
             "  metrics.json   precision, recall, F1, FPR, AUPRC, ROC-AUC, recall at FPR,\n"
             "                 calibration, per category, per file, latency, attacks,\n"
             "                 and the risk scorecard (a level per hazard category)\n"
             "  report.html    a self-contained page with the plots and tables\n"
             "A policy with a cascade (type: cascade) is checked with each of its guards\n"
             "alone; both files then also give each guard alone, the cascade with its\n"
             "router, and F1 and latency against the share escalated.\n"
             "Rerunning with the same --out resumes: finished items are not redone.\n"
             "Ctrl-C stops after the current batch with every file valid.\n\n"
             "options:\n"),
    CLI_STR("--policy", O(policy), "FILE", "the guard's policy (default: the built-in policy)"),
    CLI_STR("--model", O(model), "DIR", "a model folder as the guard: a decoder as an LLM judge\n"
                                        "(Llama Guard 3 prompt), a BERT-family classifier"),
    CLI_STR("--guard-format", O(guard_format), "NAME", "the model judges' guard format (default auto: from the\n"
                                                      "checkpoint; see warden check --help)"),
    CLI_CALL("--certify", 0, certify_flag, "MODE[:D[:K]]",
             "score erase-and-check over the guard instead: mode\n"
             "suffix, insertion or infusion, D units erased, K blocks\n"
             "(see warden certify --help); recall on harmful items is\n"
             "then the certified accuracy"),
    CLI_DOUBLE("--randomized", O(cert.sample_ratio), "R", 0, 1, NULL, .open_lo = true,
               .bad = "--randomized: expected a number in (0, 1]"),
    CLI_INT("--greedy", O(greedy), "N", 1, 100000, NULL),
    CLI_TEXT("\nwith --certify: RandEC or GreedyEC (not certified)", .label = "--randomized R, --greedy N"),
    CLI_ENUM("--role", O(role), "input|output", ROLES, "check the texts as prompts (default) or responses",
             .bad = "--role: input or output, not '%s'"),
    CLI_STR("--attack", O(attack), "LIST", "also score attacked copies (see warden attack --help);\n"
                                           "the report compares detection clean vs attacked"),
    CLI_U64("--seed", O(seed), "S", NULL, .bad = "--seed: expected an integer"),
    CLI_DOUBLE("--rate", O(rate), "R", 0, 1, NULL, .bad = "--rate: expected a number in [0, 1]"),
    CLI_INT("--tokens", O(tokens), "D", 1, 10000, NULL),
    CLI_STR("--templates", O(tpl_path), "FILE", NULL),
    CLI_STR("--template-field", O(tpl_field), "F", NULL),
    CLI_TEXT("\nattack settings, as for warden attack",
             .label = "--seed S, --rate R, --tokens D, --templates FILE, --template-field F"),
    CLI_STR("--scorecard", O(scorecard), "FILE", "the risk scorecard: a level per hazard category in\n"
                                                 "metrics.json and the report (default: the built-in\n"
                                                 "one, policies/scorecard.yaml; docs/scorecard.md)"),
    CLI_BOOL("--no-scorecard", O(no_scorecard), "no scorecard (metrics.json's \"scorecard\" is null)"),
    CLI_STR("--out", O(out), "DIR", "output folder (default: eval-out)"),
    CLI_BOOL("--fresh", O(fresh), "start over instead of resuming"),
    CLI_INT("--batch", O(batch), "N", 1, 100000, "texts per guard call (default 32)"),
    CLI_INT("--threads", O(threads), "N", 1, 1024, "guard threads (default 1)"),
    CLI_STR("--title", O(title), "TEXT", "the report's title"),
    CLI_INT("--explain", O(explain), "N", 0, 1000, "explain the N worst false negatives and positives\n"
                                                  "(explanations.json, a section of report.html)"),
    CLI_BOOL("--json", O(json), "print metrics.json to standard output at the end"),
    CLI_BOOL("--quiet", O(quiet), "no progress bar"),
    CLI_TEXT("\n"),
};

int cmd_eval(int argc, char **argv) {
    cli_data data;
    wd_eval_params ep = wd_eval_params_default();
    opts o = {.out = "eval-out", .batch = 32, .threads = 1, .cert = wd_certify_params_default(),
              .rate = ep.attack.rate, .seed = ep.attack.seed};
    cli_spec spec = {"eval",
                     {{ROWS, CLI_N(ROWS), &o}, cli_data_table(&data, "--data"), {FOOTER, CLI_N(FOOTER), NULL}},
                     .unknown = "unknown argument '%s'",
                     .extra = "unknown argument '%s'",
                     .missing = "unknown argument or missing value: '%s'",
                     .unknown_last_missing = true};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return cli_data_free(&data), rc;
    wd_eval_certify cs = {.certifier = NULL, .params = o.cert};
    cs.params.greedy_rounds = (int)o.greedy;
    if (data.n_src == 0) return cli_data_free(&data), cli_usage_error("eval", "--data is required");
    if (o.policy && o.model) return cli_data_free(&data), cli_usage_error("eval", "--policy and --model exclude each other");
    if (!o.certify && (cs.params.sample_ratio > 0 || cs.params.greedy_rounds > 0))
        return cli_data_free(&data), cli_usage_error("eval", "--randomized and --greedy go with --certify");
    if (cs.params.sample_ratio > 0 && cs.params.greedy_rounds > 0)
        return cli_data_free(&data), cli_usage_error("eval", "--randomized and --greedy are different methods: pick one");
    if (!cli_data_finish(&data, "eval")) return cli_data_free(&data), CLI_USAGE;
    wd_attack_kind kinds[64];
    size_t n_kinds = 0;
    if (o.attack && wd_attack_parse_list(o.attack, kinds, 64, &n_kinds)) {
        cli_data_free(&data);
        return cli_usage_error("eval", "--attack: %s", wd_last_error());
    }
    for (size_t k = 0; k < n_kinds; k++)
        if (kinds[k] == WD_ATTACK_KIND_TEMPLATE && !o.tpl_path)
            return cli_data_free(&data), cli_usage_error("eval", "the template attack needs --templates FILE");
    ep.attack.seed = o.seed;
    ep.attack.rate = o.rate;
    if (o.tokens) ep.attack.n_tokens = (int)o.tokens;
    wd_eval_guard gs = {.guard = NULL, .check = wd_check_params_default()};
    gs.check.role = o.role ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    return run(&o, &data, &ep, &gs, &cs, kinds, n_kinds);
}
