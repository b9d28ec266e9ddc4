/*
 * tools/warden/main.c - `warden COMMAND [ARGS]`: dispatch to a subcommand.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "warden/json.h"

static const cli_command commands[] = {
    {"version", cmd_version, "print warden's version"},
    {"tokenize", cmd_tokenize, "encode text with a checkpoint's tokenizer.json (ids, tokens, offsets)"},
    {"detokenize", cmd_detokenize, "decode token ids back to text"},
    {"eval", cmd_eval, "score a guard on labelled datasets: metrics.json, results.jsonl, report.html"},
    {"redteam", cmd_redteam, "red-team a model: generate, detect refusals; attack success and over-refusal"},
    {"audit", cmd_audit, "audit a training corpus: duplicates, leakage, PII, languages, demographic terms, flags"},
    {"attack", cmd_attack, "apply attack transforms (typos, encodings, templates...) to a dataset"},
    {"inspect", cmd_inspect, "list a checkpoint's (or a .gguf's) tensors, parameters, metadata and config"},
    {"quantize", cmd_quantize, "write a decoder as a GGUF file (f16, bf16, q8_0, q4_k_m...) llama.cpp loads"},
    {"bench", cmd_bench, "prompt-processing and generation speed, load time and peak RSS of a model"},
    {"train", cmd_train, "fine-tune a decoder: sft, reward model, dpo (LoRA, frozen layers)"},
    {"train-guard", cmd_train_guard, "train / evaluate the built-in classifier"},
    {"train-router", cmd_train_router, "learn when a guard cascade asks its second guard"},
    {"sample", cmd_sample, "rejection sampling: best of K responses by a reward model (data for sft)"},
    {"privacy", cmd_privacy, "epsilon of DP-SGD by the RDP accountant, or the noise for a target epsilon"},
    {"merge", cmd_merge, "merge checkpoints: linear, slerp, task-arithmetic, ties, dare (streamed)"},
    {"resta", cmd_resta, "restore safety: fine-tuned + beta (aligned - unaligned), optional DARE"},
    {"prune", cmd_prune, "one-shot Wanda / Antidote / random pruning of a decoder's linear layers"},
    {"steer", cmd_steer, "refusal directions: extract per layer, ablate into the weights (generate --steer adds)"},
    {"layers", cmd_layers, "safety layers: per-layer hidden-state similarity gaps, refined by layer scaling"},
    {"landscape", cmd_landscape, "the safety landscape: attack success along random weight directions (VISAGE)"},
    {"generate", cmd_generate, "generate text with a decoder checkpoint (llama, qwen2, phi3, ...)"},
    {"classify", cmd_classify, "classify text with a bert/roberta/distilbert classifier checkpoint"},
    {"score", cmd_score, "log-likelihood and perplexity of a text under a decoder"},
    {"check", cmd_check, "is a prompt or a response unsafe? (categories, scanners, spans)"},
    {"explain", cmd_explain, "which words made the guard score a text so: Shapley attributions (SHAP)"},
    {"certify", cmd_certify, "certified erase-and-check of a prompt (suffix, insertion, infusion)"},
    {"serve", cmd_serve, "serve the guard over HTTP (OpenAI-compatible moderation API)"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void log_to_stderr(wd_log_level level, const char *msg, void *user) {
    static const char *names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "warden: %s: %s\n", names[level < 4 ? level : 3], msg);
}

static void print_help(FILE *f) {
    fprintf(f,
            "warden %s - keep language models safe\n\n"
            "usage: warden COMMAND [ARGS...]\n"
            "       warden COMMAND --help\n"
            "       warden -V | --version\n\n"
            "commands:\n",
            wd_version());
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit status: 0 ok, 1 flagged unsafe, 2 usage error, 3 runtime error\n");
}

void cli_print_json(void *o) {
    char *t = o ? wd_json_print(o, false) : NULL;
    puts(t ? t : "{}");
    free(t);
    cJSON_Delete(o);
}

void cli_progress(bool tty, bool last, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (tty) fputc('\r', stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(tty ? "\033[K" : "\n", stderr); /* erase what a longer line left */
    if (tty && last) fputc('\n', stderr);
}

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("warden: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_ERROR;
}

int cli_fail(wd_status st, const char *what) {
    const char *msg = wd_last_error();
    if (!msg[0]) msg = wd_status_str(st);
    if (what && what[0]) return cli_error("%s: %s", what, msg);
    return cli_error("%s", msg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("warden: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'warden %s --help'.\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

bool cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return true;
    }
    return false;
}

bool cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        cli_usage_error(cmd, "%s: expected an integer in [%ld, %ld], got '%s'", flag, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    const char *lvl = getenv("WARDEN_LOG");
    wd_log_level min = WD_LOG_LEVEL_WARN;
    if (lvl && !strcmp(lvl, "debug")) min = WD_LOG_LEVEL_DEBUG;
    else if (lvl && !strcmp(lvl, "info")) min = WD_LOG_LEVEL_INFO;
    else if (lvl && !strcmp(lvl, "error")) min = WD_LOG_LEVEL_ERROR;
    wd_log_set(log_to_stderr, NULL, min);

    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        print_help(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) name = "version";
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "warden: unknown command '%s'\n\n", name);
    print_help(stderr);
    return CLI_USAGE;
}

double cli_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_bar_eta(double frac, double eta_s, char *bar, char *eta) {
    int width = 30, fill = (int)((double)width * frac);
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    eta[0] = '\0';
    if (eta_s >= 0) {
        long s = (long)eta_s;
        snprintf(eta, 32, "  ETA %ld:%02ld", s / 60, s % 60);
    }
}
