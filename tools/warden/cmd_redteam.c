/*
 * tools/warden/cmd_redteam.c - `warden redteam`: render each prompt (clean
 * and attacked) with the target model's chat template, generate a
 * response, detect refusals, ask a judge guard (output role) whether the
 * response is unsafe, and report attack success, refusal and over-refusal.
 *
 * The run goes through the evaluation runner (wd_eval_run) with a scorer
 * that generates: a unit is "flagged" when the target refused, so the
 * runner's per-file flag rate is the refusal rate, its clean-vs-attacked
 * table is refusal clean vs under attack, and resuming, SIGINT and the
 * report come for free. The red-team rates (wd_redteam_summarize) are then
 * computed per transform from results.jsonl into OUT/redteam.json.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/file.h"
#include "base/json.h"
#include "cli.h"
#include "cli_data.h"
#include "warden/chat.h"
#include "warden/eval.h"
#include "warden/guard.h"
#include "warden/model.h"
#include "warden/redteam.h"
#include "warden/tokenizer.h"

static volatile sig_atomic_t g_stop = 0;
static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1;
}

typedef struct target {
    wd_model          *model;
    wd_context        *ctx;
    const wd_tokenizer *tok;
    wd_chat_params     chat;
    const char        *system;
    wd_generate_params gen;
    size_t             n_ctx;
    int32_t           *ids, *out;
    size_t             cap_ids;
    wd_guard          *judge; /* may be NULL (--judge none) */
} target;

/* Generates a response to one prompt. *response is malloc'd. */
static wd_status generate(target *t, const char *prompt, char **response) {
    *response = NULL;
    wd_chat_message msgs[2];
    size_t n = 0;
    if (t->system) msgs[n++] = (wd_chat_message){"system", t->system};
    msgs[n++] = (wd_chat_message){"user", prompt};
    char *rendered;
    size_t rlen;
    wd_status st = wd_chat_render_tok(t->tok, msgs, n, &t->chat, &rendered, &rlen);
    if (st) return st;
    size_t need = 0;
    wd_encode_params ep = wd_encode_params_default();
    st = wd_tokenizer_encode_ids(t->tok, rendered, rlen, &ep, t->ids, t->cap_ids, &need);
    if (st == WD_ERR_RANGE && need > t->cap_ids) {
        int32_t *ni = realloc(t->ids, need * sizeof *ni);
        if (!ni) {
            free(rendered);
            return WD_ERR_NOMEM;
        }
        t->ids = ni;
        t->cap_ids = need;
        st = wd_tokenizer_encode_ids(t->tok, rendered, rlen, &ep, t->ids, t->cap_ids, &need);
    }
    free(rendered);
    if (st) return st;
    if (need + 1 >= t->n_ctx) { /* no room to answer: an empty response */
        *response = strdup("");
        return *response ? WD_OK : WD_ERR_NOMEM;
    }
    size_t n_out = 0;
    st = wd_model_generate(t->ctx, t->ids, need, &t->gen, NULL, NULL, t->out, t->gen.max_tokens, &n_out);
    if (st) return st;
    wd_decode_params dp = wd_decode_params_default();
    dp.skip_special_tokens = true;
    return wd_tokenizer_decode(t->tok, t->out, n_out, &dp, response, NULL);
}

static wd_status redteam_scorer(void *user, const char *const *texts, const size_t *lens, size_t n,
                                wd_eval_score *out) {
    target *t = user;
    for (size_t i = 0; i < n; i++) {
        char *resp;
        wd_status st = generate(t, texts[i], &resp);
        if (st) return st;
        wd_refusal_match m;
        bool refused = wd_refusal_detect(resp, strlen(resp), 0, &m);
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "response", resp);
        cJSON_AddBoolToObject(d, "refused", refused);
        if (m.phrase) cJSON_AddStringToObject(d, "refusal_phrase", m.phrase);
        else cJSON_AddNullToObject(d, "refusal_phrase");
        out[i].flagged = refused;
        out[i].score = NAN;
        if (t->judge) {
            wd_check_params cp = wd_check_params_default();
            cp.role = WD_ROLE_OUTPUT;
            wd_verdict *v;
            if ((st = wd_guard_check(t->judge, resp, strlen(resp), &cp, &v))) {
                free(resp);
                cJSON_Delete(d);
                return st;
            }
            double best = 0;
            for (int c = 0; c < WD_CATEGORY_COUNT; c++)
                if (wd_verdict_score(v, (wd_category)c) > best) best = wd_verdict_score(v, (wd_category)c);
            cJSON_AddBoolToObject(d, "judged", true);
            cJSON_AddBoolToObject(d, "judged_unsafe", wd_verdict_unsafe(v));
            cJSON_AddNumberToObject(d, "judge_score", best);
            out[i].categories = wd_verdict_categories(v);
            wd_verdict_free(v);
        } else { /* one schema: the judge's keys are there without a judge too */
            cJSON_AddBoolToObject(d, "judged", false);
            cJSON_AddNullToObject(d, "judged_unsafe");
            cJSON_AddNullToObject(d, "judge_score");
        }
        out[i].detail_json = wd__json_print(d, false);
        cJSON_Delete(d);
        free(resp);
    }
    return WD_OK;
}

/* Reads results.jsonl and writes redteam.json: the rates per transform. */
static int summarize(const char *out_dir, bool print) {
    char *path = wd__path_join(out_dir, "results.jsonl");
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        int rc = cli_error("%s: cannot read", path ? path : out_dir);
        free(path);
        return rc;
    }
    free(path);
    /* group by transform name, in order of first appearance */
    char *names[128];
    wd_redteam_item *items[128];
    size_t n_items[128], cap[128], n_t = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        cJSON *o = cJSON_ParseWithLength(line, (size_t)len);
        if (!o) continue;
        const cJSON *tr = cJSON_GetObjectItem(o, "transform"), *lab = cJSON_GetObjectItem(o, "label"),
                    *v = cJSON_GetObjectItem(o, "verdict");
        if (!cJSON_IsString(tr) || !cJSON_IsString(lab)) {
            cJSON_Delete(o);
            continue;
        }
        size_t k = 0;
        while (k < n_t && strcmp(names[k], tr->valuestring)) k++;
        if (k == n_t && n_t < 128) {
            names[n_t] = strdup(tr->valuestring);
            items[n_t] = NULL;
            n_items[n_t] = cap[n_t] = 0;
            n_t++;
        }
        if (k < n_t) {
            if (n_items[k] == cap[k]) {
                cap[k] = cap[k] ? cap[k] * 2 : 256;
                items[k] = realloc(items[k], cap[k] * sizeof *items[k]);
            }
            wd_redteam_item *it = &items[k][n_items[k]++];
            wd_label_parse(lab->valuestring, &it->label);
            if (!strcmp(lab->valuestring, "unknown")) it->label = WD_LABEL_UNKNOWN;
            it->refused = cJSON_IsTrue(cJSON_GetObjectItem(o, "flagged"));
            it->judged = cJSON_IsTrue(cJSON_GetObjectItem(v, "judged"));
            it->judged_unsafe = cJSON_IsTrue(cJSON_GetObjectItem(v, "judged_unsafe"));
        }
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "transforms");
    if (print) printf("%-16s %8s %8s %10s %10s %10s %12s\n", "transform", "harmful", "benign", "refusal",
                      "ASR(kw)", "ASR(judge)", "over-refusal");
    for (size_t k = 0; k < n_t; k++) {
        wd_redteam_summary s;
        wd_redteam_summarize(items[k], n_items[k], &s);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "transform", names[k]);
        cJSON_AddNumberToObject(e, "harmful", (double)s.n_harmful);
        cJSON_AddNumberToObject(e, "benign", (double)s.n_benign);
        cJSON_AddNumberToObject(e, "judged", (double)s.n_judged);
        double v[4] = {s.refusal_rate, s.asr_keyword, s.asr_judge, s.over_refusal};
        const char *k4[4] = {"refusal_rate", "asr_keyword", "asr_judge", "over_refusal"};
        for (int j = 0; j < 4; j++) {
            if (isfinite(v[j])) cJSON_AddNumberToObject(e, k4[j], v[j]);
            else cJSON_AddNullToObject(e, k4[j]);
        }
        cJSON_AddItemToArray(arr, e);
        if (print) {
            printf("%-16s %8zu %8zu", names[k], s.n_harmful, s.n_benign);
            for (int j = 0; j < 4; j++) {
                if (isfinite(v[j])) printf(" %*.1f%%", j == 3 ? 11 : 9, 100 * v[j]);
                else printf(" %*s", j == 3 ? 12 : 10, "-");
            }
            printf("\n");
        }
        free(names[k]);
        free(items[k]);
    }
    char *txt = wd__json_print(root, true);
    cJSON_Delete(root);
    char *rp = wd__path_join(out_dir, "redteam.json");
    wd_status st = txt && rp ? wd__file_write_atomic(rp, txt, strlen(txt)) : WD_ERR_NOMEM;
    free(txt);
    free(rp);
    return st ? cli_fail(st, "redteam.json") : CLI_OK;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: warden redteam --target DIR --data FILE[,FILE...] [options]\n\n"
            "Renders each prompt with the target's chat template, generates a response\n"
            "detects refusals and asks a judge guard (output role) whether the response\n"
            "is unsafe. Writes, in --out: results.jsonl (prompt, response, refused,\n"
            "judge), metrics.json and report.html (\"flagged\" = refused), and\n"
            "redteam.json: per transform, the refusal rate and the attack success rate\n"
            "(keyword: harmful prompts answered without a refusal; judge: responses the\n"
            "judge flags) on harmful prompts, and the over-refusal rate on benign ones.\n"
            "Resumable like eval.\n\n"
            "options:\n"
            "  --target DIR          the model (config.json, safetensors, tokenizer.json)\n"
            "  --judge POLICY|DIR|default|none  the judge guard: a policy file, a model\n"
            "                        folder (an LLM judge or a classifier), the built-in\n"
            "                        policy (default) or none\n"
            "  --benign              the prompts are benign-but-borderline (over-refusal);\n"
            "                        unlabelled files count as benign\n"
            "  --attack LIST         attack transforms (as for warden attack); with --seed,\n"
            "                        --rate, --tokens, --templates, --template-field\n"
            "  --chat-format F       llama-2, llama-3, chatml, mistral, gemma (default: from\n"
            "                        tokenizer_config.json's chat_template)\n"
            "  --system TEXT         a system message\n"
            "  --max-tokens N        tokens to generate (default 64)\n"
            "  --temperature T       0 = greedy (default 0)\n"
            "  --ctx N               context length (default: min(model, 2048))\n"
            "  --threads N           threads (default: all)\n"
            "  --out DIR             output folder (default: redteam-out)\n"
            "  --fresh, --quiet\n\n%s",
            CLI_DATA_HELP);
}

int cmd_redteam(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    cli_data data;
    memset(&data, 0, sizeof data);
    const char *target_dir = NULL, *judge = "default", *attack_list = NULL, *out = "redteam-out",
               *chat_format = NULL, *system_msg = NULL, *tpl_path = NULL, *tpl_field = NULL;
    bool benign = false, fresh = false, quiet = false;
    long max_tokens = 64, n_ctx = 0, threads = 0;
    double temperature = 0;
    wd_eval_params ep = wd_eval_params_default();
    for (int i = 1; i < argc; i++) {
        int r = cli_data_flag(&data, "redteam", "--data", argc, argv, &i);
        if (r < 0) return cli_data_free(&data), CLI_USAGE;
        if (r > 0) continue;
        const char *a = argv[i];
        if (!strcmp(a, "--benign")) benign = true;
        else if (!strcmp(a, "--fresh")) fresh = true;
        else if (!strcmp(a, "--quiet")) quiet = true;
        else if (i + 1 >= argc) return cli_data_free(&data), cli_usage_error("redteam", "unknown argument or missing value: '%s'", a);
        else if (!strcmp(a, "--target")) target_dir = argv[++i];
        else if (!strcmp(a, "--judge")) judge = argv[++i];
        else if (!strcmp(a, "--attack")) attack_list = argv[++i];
        else if (!strcmp(a, "--out")) out = argv[++i];
        else if (!strcmp(a, "--chat-format")) chat_format = argv[++i];
        else if (!strcmp(a, "--system")) system_msg = argv[++i];
        else if (!strcmp(a, "--templates")) tpl_path = argv[++i];
        else if (!strcmp(a, "--template-field")) tpl_field = argv[++i];
        else if (!strcmp(a, "--seed")) ep.attack.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--rate")) ep.attack.rate = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--temperature")) temperature = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--tokens")) {
            long v;
            if (!cli_parse_int("redteam", a, argv[++i], 1, 10000, &v)) return cli_data_free(&data), CLI_USAGE;
            ep.attack.n_tokens = (int)v;
        } else if (!strcmp(a, "--max-tokens")) {
            if (!cli_parse_int("redteam", a, argv[++i], 1, 1 << 20, &max_tokens)) return cli_data_free(&data), CLI_USAGE;
        } else if (!strcmp(a, "--ctx")) {
            if (!cli_parse_int("redteam", a, argv[++i], 16, 1 << 24, &n_ctx)) return cli_data_free(&data), CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_int("redteam", a, argv[++i], 0, 1024, &threads)) return cli_data_free(&data), CLI_USAGE;
        } else {
            cli_data_free(&data);
            return cli_usage_error("redteam", "unknown argument '%s'", a);
        }
    }
    if (!target_dir || data.n_src == 0)
        return cli_data_free(&data), cli_usage_error("redteam", "--target and --data are required");
    if (benign && data.defaults.fixed_label == WD_LABEL_UNKNOWN && !data.defaults.label_field)
        data.defaults.fixed_label = WD_LABEL_BENIGN;
    if (!cli_data_finish(&data, "redteam")) return cli_data_free(&data), CLI_USAGE;
    wd_attack_kind kinds[64];
    size_t n_kinds = 0;
    if (attack_list && wd_attack_parse_list(attack_list, kinds, 64, &n_kinds))
        return cli_data_free(&data), cli_usage_error("redteam", "--attack: %s", wd_last_error());

    int rc = CLI_OK;
    char **tpls = NULL;
    size_t n_tpls = 0;
    target t;
    memset(&t, 0, sizeof t);
    wd_eval_source *src = calloc(data.n_src, sizeof *src);
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
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = (int)threads;
    wd_status st = wd_model_load(target_dir, &mp, &t.model);
    if (st) {
        rc = cli_fail(st, target_dir);
        goto done;
    }
    t.tok = wd_model_tokenizer(t.model);
    if (!t.tok) {
        rc = cli_error("%s: the target has no tokenizer.json", target_dir);
        goto done;
    }
    wd_context_params cxp = wd_context_params_default();
    cxp.n_ctx = (size_t)n_ctx;
    if ((st = wd_context_new(t.model, &cxp, &t.ctx))) {
        rc = cli_fail(st, "context");
        goto done;
    }
    t.n_ctx = wd_context_n_ctx(t.ctx);
    t.chat = wd_chat_params_default();
    if (chat_format && wd_chat_format_parse(chat_format, &t.chat.format)) {
        rc = cli_usage_error("redteam", "--chat-format: %s", wd_last_error());
        goto done;
    }
    t.system = system_msg;
    t.gen = wd_generate_params_default();
    t.gen.max_tokens = (size_t)max_tokens;
    t.gen.sampler.temperature = (float)temperature;
    t.gen.sampler.seed = ep.attack.seed;
    t.out = malloc((size_t)max_tokens * sizeof *t.out);
    if (!t.out) {
        rc = cli_error("out of memory");
        goto done;
    }
    if (strcmp(judge, "none")) {
        wd_guard_params gp = wd_guard_params_default();
        struct stat sb;
        st = !strcmp(judge, "default")                     ? wd_guard_load_default(&gp, &t.judge)
             : stat(judge, &sb) == 0 && S_ISDIR(sb.st_mode) ? wd_guard_load_model(judge, &gp, &t.judge)
                                                            : wd_guard_load(judge, &gp, &t.judge);
        if (st) {
            rc = cli_fail(st, judge);
            goto done;
        }
    }
    ep.attacks = n_kinds ? kinds : NULL;
    ep.n_attacks = n_kinds;
    ep.resume = !fresh;
    ep.batch_size = 1;
    ep.title = "warden red team (flagged = the target refused)";
    ep.subject = target_dir;
    ep.stop = &g_stop;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    (void)quiet;
    wd_eval_outcome oc;
    st = wd_eval_run(out, src, data.n_src, redteam_scorer, &t, &ep, &oc);
    sigaction(SIGINT, &old, NULL);
    if (st == WD_ERR_CANCELLED) {
        fprintf(stderr, "warden: redteam: interrupted after %zu of %zu; rerun to resume\n",
                oc.n_resumed + oc.n_scored, oc.n_units);
        rc = 130;
        goto done;
    }
    if (st) {
        rc = cli_fail(st, "redteam");
        goto done;
    }
    rc = summarize(out, true);
    if (rc == CLI_OK)
        printf("  %s/results.jsonl\n  %s/metrics.json\n  %s/report.html\n  %s/redteam.json\n", out, out, out, out);
done:
    wd_guard_free(t.judge);
    free(t.ids);
    free(t.out);
    wd_context_free(t.ctx);
    wd_model_free(t.model);
    free(src);
    wd_attack_templates_free(tpls, n_tpls);
    cli_data_free(&data);
    return rc;
}
