/*
 * tools/warden/cmd_eval.c - `warden eval`: run a guard over labelled data,
 * clean and under attack, and write results.jsonl, metrics.json and
 * report.html (the library's wd_eval_run does the work; this file parses
 * flags, wraps the guard as a scorer, draws the progress bar and turns
 * SIGINT into a clean stop).
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_data.h"
#include "warden/attack.h"
#include "warden/eval.h"
#include "warden/guard.h"

static volatile sig_atomic_t g_stop = 0;

static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1; /* SA_RESETHAND: a second Ctrl-C kills at once */
}

/* ==== the guard as a scorer ============================================= */

typedef struct guard_scorer {
    wd_guard       *guard;
    wd_check_params check;
    wd_verdict    **verdicts;
    size_t          cap;
} guard_scorer;

/* score = the largest category score; flagged = the policy's decision. */
static wd_status score_with_guard(void *user, const char *const *texts, const size_t *lens, size_t n,
                                  wd_eval_score *out) {
    guard_scorer *gs = user;
    if (n > gs->cap) {
        wd_verdict **nv = realloc(gs->verdicts, n * sizeof *nv);
        if (!nv) return WD_ERR_NOMEM;
        gs->verdicts = nv;
        gs->cap = n;
    }
    wd_status st = wd_guard_check_batch(gs->guard, texts, lens, n, &gs->check, gs->verdicts);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        wd_verdict *v = gs->verdicts[i];
        double best = 0;
        for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
            double s = wd_verdict_score(v, (wd_category)c);
            if (s > best) best = s;
        }
        out[i].flagged = wd_verdict_unsafe(v);
        out[i].score = best;
        out[i].categories = wd_verdict_categories(v);
        out[i].latency_ms = wd_verdict_micros(v) / 1000.0;
        if (wd_verdict_to_json(v, &out[i].detail_json)) out[i].detail_json = NULL;
        wd_verdict_free(v);
        gs->verdicts[i] = NULL;
    }
    return WD_OK;
}

/* ==== erase-and-check as a scorer ======================================== */

typedef struct certify_scorer {
    wd_certifier     *cert;
    wd_certify_params params;
} certify_scorer;

/* flagged = the certificate's verdict; score = the highest filter score
 * over the subsequences checked. One certifier, texts one after another
 * (the guard's own threads still work inside each certificate). */
static wd_status score_with_certify(void *user, const char *const *texts, const size_t *lens,
                                    size_t n, wd_eval_score *out) {
    certify_scorer *cs = user;
    for (size_t i = 0; i < n; i++) {
        wd_certificate *r = NULL;
        wd_status st = wd_certify(cs->cert, texts[i], lens[i], &cs->params, &r);
        if (st) return st;
        out[i].flagged = wd_certificate_harmful(r);
        out[i].score = wd_certificate_max_score(r);
        out[i].latency_ms = wd_certificate_micros(r) / 1000.0;
        if (wd_certificate_to_json(r, &out[i].detail_json)) out[i].detail_json = NULL;
        wd_certificate_free(r);
    }
    return WD_OK;
}

/* "suffix", "suffix:20", "insertion:12:2" (mode, d, blocks). */
static bool parse_certify(const char *s, wd_certify_params *p) {
    char mode[32];
    size_t k = strcspn(s, ":");
    if (k >= sizeof mode) return false;
    memcpy(mode, s, k);
    mode[k] = '\0';
    if (wd_ec_mode_parse(mode, &p->mode)) return false;
    if (!s[k]) return true;
    char *end;
    long d = strtol(s + k + 1, &end, 10);
    if (d < 1 || d > 100000 || (*end && *end != ':')) return false;
    p->max_erase = (int)d;
    if (!*end) return true;
    long b = strtol(end + 1, &end, 10);
    if (b < 1 || b > 64 || *end) return false;
    p->n_blocks = (int)b;
    return true;
}

/* ==== progress ============================================================ */

typedef struct progress {
    double t0;
    size_t first;
    int    shown;
} progress;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw_progress(void *user, size_t done, size_t total) {
    progress *p = user;
    if (!p->shown) {
        p->t0 = now_s();
        p->first = done;
        p->shown = 1;
    }
    double el = now_s() - p->t0, rate = el > 0 ? (double)(done - p->first) / el : 0;
    int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    char eta[32] = "";
    if (rate > 0 && done < total) {
        long s = (long)((double)(total - done) / rate);
        snprintf(eta, sizeof eta, "  ETA %ld:%02ld", s / 60, s % 60);
    }
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

/* ==== command ============================================================= */

static void usage(FILE *f) {
    fprintf(f,
            "usage: warden eval --data FILE[,FILE...] [options]\n\n"
            "Runs a guard over labelled data and writes, in --out:\n"
            "  results.jsonl  one line per item (and per attack), appended as it runs\n"
            "  metrics.json   precision, recall, F1, FPR, AUPRC, ROC-AUC, recall at FPR,\n"
            "                 calibration, per category, per file, latency, attacks\n"
            "  report.html    a self-contained page with the plots and tables\n"
            "Rerunning with the same --out resumes: finished items are not redone.\n"
            "Ctrl-C stops after the current batch with every file valid.\n\n"
            "options:\n"
            "  --policy FILE         the guard's policy (default: the built-in policy)\n"
            "  --model DIR           a model folder as the guard: a decoder as an LLM judge\n"
            "                        (Llama Guard 3 prompt), a BERT-family classifier\n"
            "  --certify MODE[:D[:K]]  score erase-and-check over the guard instead: mode\n"
            "                        suffix, insertion or infusion, D units erased, K blocks\n"
            "                        (see warden certify --help); recall on harmful items is\n"
            "                        then the certified accuracy\n"
            "  --randomized R, --greedy N\n"
            "                        with --certify: RandEC or GreedyEC (not certified)\n"
            "  --role input|output   check the texts as prompts (default) or responses\n"
            "  --attack LIST         also score attacked copies (see warden attack --help);\n"
            "                        the report compares detection clean vs attacked\n"
            "  --seed S, --rate R, --tokens D, --templates FILE, --template-field F\n"
            "                        attack settings, as for warden attack\n"
            "  --out DIR             output folder (default: eval-out)\n"
            "  --fresh               start over instead of resuming\n"
            "  --batch N             texts per guard call (default 32)\n"
            "  --threads N           guard threads (default 1)\n"
            "  --title TEXT          the report's title\n"
            "  --json                print metrics.json to standard output at the end\n"
            "  --quiet               no progress bar\n\n%s\n"
            "exit status: 0 done, 2 usage, 3 error, 130 interrupted (rerun to resume)\n",
            CLI_DATA_HELP);
}

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    cli_data data;
    memset(&data, 0, sizeof data);
    const char *policy = NULL, *model_dir = NULL, *attack_list = NULL, *out = "eval-out", *tpl_path = NULL, *tpl_field = NULL,
               *title = NULL;
    bool fresh = false, json = false, quiet = false;
    long batch = 32, threads = 1;
    wd_eval_params ep = wd_eval_params_default();
    wd_check_params cp = wd_check_params_default();
    certify_scorer cs = {.cert = NULL, .params = wd_certify_params_default()};
    bool certify = false;
    for (int i = 1; i < argc; i++) {
        int r = cli_data_flag(&data, "eval", "--data", argc, argv, &i);
        if (r < 0) return cli_data_free(&data), CLI_USAGE;
        if (r > 0) continue;
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--fresh")) fresh = true;
        else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--quiet")) quiet = true;
        else if (!has_val && !strncmp(a, "--", 2)) {
            cli_data_free(&data);
            return cli_usage_error("eval", "unknown argument or missing value: '%s'", a);
        } else if (!strcmp(a, "--policy")) policy = argv[++i];
        else if (!strcmp(a, "--model")) model_dir = argv[++i];
        else if (!strcmp(a, "--certify")) {
            certify = true;
            if (!parse_certify(argv[++i], &cs.params))
                return cli_data_free(&data),
                       cli_usage_error("eval", "--certify: expected MODE[:D[:K]] with MODE suffix, insertion "
                                               "or infusion, got '%s'", argv[i]);
        } else if (!strcmp(a, "--randomized")) {
            char *end;
            cs.params.sample_ratio = strtod(argv[++i], &end);
            if (*end || !(cs.params.sample_ratio > 0 && cs.params.sample_ratio <= 1))
                return cli_data_free(&data), cli_usage_error("eval", "--randomized: expected a number in (0, 1]");
        } else if (!strcmp(a, "--greedy")) {
            long v;
            if (!cli_parse_int("eval", "--greedy", argv[++i], 1, 100000, &v)) return cli_data_free(&data), CLI_USAGE;
            cs.params.greedy_rounds = (int)v;
        }
        else if (!strcmp(a, "--attack")) attack_list = argv[++i];
        else if (!strcmp(a, "--out")) out = argv[++i];
        else if (!strcmp(a, "--templates")) tpl_path = argv[++i];
        else if (!strcmp(a, "--template-field")) tpl_field = argv[++i];
        else if (!strcmp(a, "--title")) title = argv[++i];
        else if (!strcmp(a, "--role")) {
            const char *v = argv[++i];
            if (!strcmp(v, "input")) cp.role = WD_ROLE_INPUT;
            else if (!strcmp(v, "output")) cp.role = WD_ROLE_OUTPUT;
            else return cli_data_free(&data), cli_usage_error("eval", "--role: input or output, not '%s'", v);
        } else if (!strcmp(a, "--seed")) {
            char *end;
            ep.attack.seed = strtoull(argv[++i], &end, 10);
            if (*end || !*argv[i]) return cli_data_free(&data), cli_usage_error("eval", "--seed: expected an integer");
        } else if (!strcmp(a, "--rate")) {
            char *end;
            ep.attack.rate = strtod(argv[++i], &end);
            if (*end || ep.attack.rate < 0 || ep.attack.rate > 1)
                return cli_data_free(&data), cli_usage_error("eval", "--rate: expected a number in [0, 1]");
        } else if (!strcmp(a, "--tokens")) {
            long v;
            if (!cli_parse_int("eval", "--tokens", argv[++i], 1, 10000, &v)) return cli_data_free(&data), CLI_USAGE;
            ep.attack.n_tokens = (int)v;
        } else if (!strcmp(a, "--batch")) {
            if (!cli_parse_int("eval", "--batch", argv[++i], 1, 100000, &batch)) return cli_data_free(&data), CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_int("eval", "--threads", argv[++i], 1, 1024, &threads)) return cli_data_free(&data), CLI_USAGE;
        } else {
            cli_data_free(&data);
            return cli_usage_error("eval", "unknown argument '%s'", a);
        }
    }
    if (data.n_src == 0) return cli_data_free(&data), cli_usage_error("eval", "--data is required");
    if (policy && model_dir) return cli_data_free(&data), cli_usage_error("eval", "--policy and --model exclude each other");
    if (!certify && (cs.params.sample_ratio > 0 || cs.params.greedy_rounds > 0))
        return cli_data_free(&data), cli_usage_error("eval", "--randomized and --greedy go with --certify");
    if (cs.params.sample_ratio > 0 && cs.params.greedy_rounds > 0)
        return cli_data_free(&data), cli_usage_error("eval", "--randomized and --greedy are different methods: pick one");
    if (!cli_data_finish(&data, "eval")) return cli_data_free(&data), CLI_USAGE;
    wd_attack_kind kinds[64];
    size_t n_kinds = 0;
    if (attack_list && wd_attack_parse_list(attack_list, kinds, 64, &n_kinds)) {
        cli_data_free(&data);
        return cli_usage_error("eval", "--attack: %s", wd_last_error());
    }
    for (size_t k = 0; k < n_kinds; k++)
        if (kinds[k] == WD_ATTACK_KIND_TEMPLATE && !tpl_path)
            return cli_data_free(&data), cli_usage_error("eval", "the template attack needs --templates FILE");

    int rc = CLI_OK;
    char **tpls = NULL;
    size_t n_tpls = 0;
    wd_eval_source *src = calloc(data.n_src, sizeof *src);
    guard_scorer gs;
    memset(&gs, 0, sizeof gs);
    if (!src) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (size_t f = 0; f < data.n_src; f++) {
        src[f].path = data.src[f].path;
        src[f].params = data.src[f].params;
    }
    if (tpl_path) {
        wd_status st = wd_attack_templates_load(tpl_path, tpl_field, 1, &tpls, &n_tpls);
        if (st) {
            rc = cli_fail(st, "--templates");
            goto done;
        }
        ep.attack.templates = (const char *const *)tpls;
        ep.attack.n_templates = n_tpls;
    }
    wd_guard_params gp = wd_guard_params_default();
    gp.n_threads = (int)threads;
    wd_status st = model_dir ? wd_guard_load_model(model_dir, &gp, &gs.guard)
                   : policy  ? wd_guard_load(policy, &gp, &gs.guard)
                             : wd_guard_load_default(&gp, &gs.guard);
    if (st) {
        rc = cli_fail(st, model_dir ? model_dir : policy ? policy : "built-in policy");
        goto done;
    }
    gs.check = cp;
    cs.params.role = cp.role;
    char subject[512];
    snprintf(subject, sizeof subject, "%s", wd_guard_name(gs.guard));
    if (certify) {
        /* a model folder certifies over its own tokens (a decoder with prefix reuse) */
        if (model_dir) {
            wd_judge_params jp = wd_judge_params_default();
            jp.n_threads = (int)threads;
            st = wd_certifier_new_model(model_dir, &jp, &cs.cert);
        } else {
            st = wd_certifier_new_guard(gs.guard, NULL, &cs.cert);
        }
        if (st) {
            rc = cli_fail(st, "certify");
            goto done;
        }
        if (cs.params.greedy_rounds)
            snprintf(subject, sizeof subject, "GreedyEC (%d rounds) over %s", cs.params.greedy_rounds,
                     wd_guard_name(gs.guard));
        else
            snprintf(subject, sizeof subject, "%s %s d=%d over %s",
                     cs.params.sample_ratio > 0 && cs.params.sample_ratio < 1 ? "RandEC" : "erase-and-check",
                     wd_ec_mode_str(cs.params.mode),
                     cs.params.max_erase ? cs.params.max_erase : wd_ec_mode_default_erase(cs.params.mode),
                     wd_guard_name(gs.guard));
    }
    ep.batch_size = (size_t)batch;
    ep.attacks = n_kinds ? kinds : NULL;
    ep.n_attacks = n_kinds;
    ep.resume = !fresh;
    ep.title = title;
    ep.subject = subject;
    ep.stop = &g_stop;
    progress pr;
    memset(&pr, 0, sizeof pr);
    if (!quiet && isatty(STDERR_FILENO)) {
        ep.progress = draw_progress;
        ep.progress_user = &pr;
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    wd_eval_outcome oc;
    st = certify ? wd_eval_run(out, src, data.n_src, score_with_certify, &cs, &ep, &oc)
                 : wd_eval_run(out, src, data.n_src, score_with_guard, &gs, &ep, &oc);
    sigaction(SIGINT, &old, NULL);
    if (pr.shown && !oc.complete) fputc('\n', stderr);
    if (st == WD_ERR_CANCELLED) {
        fprintf(stderr, "warden: eval: interrupted after %zu of %zu; outputs in %s are valid; rerun the "
                        "same command to resume\n",
                oc.n_resumed + oc.n_scored, oc.n_units, out);
        rc = 130;
        goto done;
    }
    if (st) {
        rc = cli_fail(st, "eval");
        goto done;
    }
    if (json) {
        char path[4096];
        snprintf(path, sizeof path, "%s/metrics.json", out);
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
        print_headline(out);
        printf("  %s/results.jsonl\n  %s/metrics.json\n  %s/report.html\n", out, out, out);
    }
done:
    wd_certifier_free(cs.cert);
    wd_guard_free(gs.guard);
    free(gs.verdicts);
    free(src);
    wd_attack_templates_free(tpls, n_tpls);
    cli_data_free(&data);
    return rc;
}
