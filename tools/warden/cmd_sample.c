/*
 * tools/warden/cmd_sample.c - `warden sample --model POLICY --reward RM
 * --data FILE --best-of K --out FILE [...]`: rejection sampling
 * (wd_sample_best_of): flags into wd_sample_params, a progress line per
 * prompt on stderr (a terminal: one line rewritten), the summary on stdout
 * (--json: one object).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"

typedef struct sample_opts {
    const char *model, *reward, *data, *out, *prompt_field, *chat_format, *system;
    long best_of, top_k, threads;
    double temperature, top_p;
    unsigned long long max_tokens, limit, seed;
    bool all, json, quiet;
} sample_opts;

#define O(f) offsetof(sample_opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden sample --model POLICY --reward RM --data FILE --best-of K --out FILE [options]\n\n"
             "Rejection sampling (Llama 2's best-of-K): for each prompt of FILE, K responses\n"
             "from the policy POLICY (a llama/mistral/qwen2 folder), each scored by the reward\n"
             "model RM (as `warden train reward` writes it), the best kept. Writes one JSON line\n"
             "per prompt: prompt, response (the best), reward, best, rewards (all K) -- input\n"
             "for `warden train sft --data` as it is.\n\n"),
    CLI_STR("--model", O(model), "DIR", "the policy that generates", .short_name = 'm'),
    CLI_STR("--reward", O(reward), "DIR", "the reward model that scores"),
    CLI_STR("--data", O(data), "FILE", "prompts (JSONL/JSON/CSV/TSV, .gz ok)"),
    CLI_STR("--out", O(out), "FILE", "the JSONL written", .short_name = 'o'),
    CLI_INT("--best-of", O(best_of), "K", 1, 4096, "responses per prompt (default %ld)", .show = true, .short_name = 'k'),
    CLI_STR("--prompt-field", O(prompt_field), "NAME", "default prompt"),
    CLI_STR("--chat-format", O(chat_format), "F", "llama-2, llama-3, chatml, mistral, gemma, or none\n(default: each model's own template)"),
    CLI_STR("--system", O(system), "TEXT", "a system message in every chat"),
    CLI_TEXT("\nsampling:\n"),
    CLI_DOUBLE("--temperature", O(temperature), "T", 0, 100, "(default %g; Llama 2 used 1.2-1.3; 0 = greedy)", .show = true),
    CLI_DOUBLE("--top-p", O(top_p), "P", 0, 1, "nucleus sampling (default %g: off)", .show = true, .open_lo = true),
    CLI_INT("--top-k", O(top_k), "N", 0, 1 << 24, "keep the N most likely (default 0: off)"),
    CLI_U64("--max-tokens", O(max_tokens), "N", "tokens per response (default 256)"),
    CLI_U64("--seed", O(seed), "N", "sample j of record i draws from mix(N, i, j) (default 1)"),
    CLI_U64("--limit", O(limit), "N", "the first N prompts only"),
    CLI_BOOL("--all", O(all), "also write every response (\"responses\")"),
    CLI_TEXT("\nrun:\n"),
    CLI_INT("--threads", O(threads), "N", 0, 1024, "threads (default 0: every CPU)", .short_name = 't'),
    CLI_BOOL("--json", O(json), "print the summary as JSON"),
    CLI_BOOL("--quiet", O(quiet), "no progress lines", .short_name = 'q'),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure (bad data, model or setting; no file written).\n"),
};

static void progress(const wd_sample_progress *p, void *user) {
    cli_progress(*(bool *)user, p->done == p->total,
                 "prompt %zu/%zu  reward: best %.4f  mean %.4f  %.0f tok/s  eta %.0fs", p->done,
                 p->total, p->reward_best, p->reward_mean, p->tokens_per_s, p->eta_s);
}

static void print_result(const sample_opts *o, const wd_sample_result *r) {
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "out", o->out);
        cJSON_AddNumberToObject(j, "best_of", (double)o->best_of);
        cJSON_AddNumberToObject(j, "n_prompts", (double)r->n_prompts);
        cJSON_AddNumberToObject(j, "n_samples", (double)r->n_samples);
        cJSON_AddNumberToObject(j, "n_tokens", (double)r->n_tokens);
        cJSON_AddNumberToObject(j, "mean_reward_best", r->mean_best);
        cJSON_AddNumberToObject(j, "mean_reward_first", r->mean_first);
        cJSON_AddNumberToObject(j, "mean_reward_all", r->mean_all);
        cJSON_AddNumberToObject(j, "tokens_per_s", r->tokens_per_s);
        cJSON_AddNumberToObject(j, "seconds", r->seconds);
        cli_print_json(j);
        return;
    }
    printf("best of %ld: %zu prompts, %zu responses, %llu tokens\n", o->best_of, r->n_prompts,
           r->n_samples, (unsigned long long)r->n_tokens);
    printf("mean reward: best %.4f, one sample %.4f, all %.4f\n", r->mean_best, r->mean_first, r->mean_all);
    printf("%.0f tokens/s, %.1f s; written to %s\n", r->tokens_per_s, r->seconds, o->out);
}

int cmd_sample(int argc, char **argv) {
    wd_sample_params d = wd_sample_params_default();
    sample_opts o = {.best_of = d.best_of, .temperature = d.temperature, .top_p = d.top_p,
                     .top_k = d.top_k, .max_tokens = d.max_tokens, .seed = d.seed};
    cli_spec spec = {"sample", {{ROWS, CLI_N(ROWS), &o}}, .col = 24, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.model || !o.reward || !o.data || !o.out)
        return cli_usage_error("sample", "--model, --reward, --data and --out are required");
    if (o.max_tokens < 1) return cli_usage_error("sample", "--max-tokens: expected at least 1");
    wd_sample_params p = d;
    p.data = o.data, p.out = o.out, p.prompt_field = o.prompt_field;
    p.chat_format = o.chat_format, p.system = o.system;
    p.best_of = (int)o.best_of, p.temperature = o.temperature, p.top_p = o.top_p, p.top_k = (int)o.top_k;
    p.max_tokens = (size_t)o.max_tokens, p.limit = (size_t)o.limit, p.seed = o.seed;
    p.n_threads = (int)o.threads, p.keep_all = o.all;
    bool tty = isatty(2);
    if (!o.quiet) p.progress = progress, p.user = &tty;
    wd_sample_result r;
    wd_status st = wd_sample_best_of(o.model, o.reward, &p, &r);
    if (st) return cli_fail(st, NULL);
    print_result(&o, &r);
    return CLI_OK;
}
