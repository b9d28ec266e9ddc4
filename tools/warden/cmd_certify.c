/*
 * tools/warden/cmd_certify.c - `warden certify`: certified erase-and-check
 * of a prompt (or of every line of standard input) over a guard.
 *
 *   warden certify [TEXT... | -] [--mode suffix|insertion|infusion] [--max-erase D]
 *                  [--blocks K] [--randomized R | --greedy N] [--seed S] [--all]
 *                  [--policy FILE | --model DIR] [--tokenizer DIR] [--template FILE]
 *                  [--threshold T] [--role input|output] [--no-reuse] [--threads N] [--json]
 *
 * The filter is the built-in policy (units: words), a policy file (words,
 * or the tokens of --tokenizer DIR), or a model folder (--model: a decoder
 * as an LLM judge over its own tokens with prefix reuse, or a BERT-family
 * classifier over its tokens). Exit status: 0 every input certified safe,
 * 1 at least one harmful, 2 usage, 3 an error.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_flags.h"

typedef struct opts {
    wd_certify_params p;
    const char       *policy, *model, *tokenizer, *template_file;
    double            threshold;
    long              threads, max_erase, blocks, greedy, seed;
    int               role; /* 0 input, 1 output */
    bool              json, no_reuse, dash;
} opts;

#define O(f) offsetof(opts, f)

static void print_quoted(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') fputs("\\n", stdout);
        else if (ch == '"') fputs("\\\"", stdout);
        else if (ch < 0x20) printf("\\x%02x", ch);
        else putchar(ch);
    }
    putchar('"');
}

/* Prints one certificate; returns the exit-status contribution. */
/* lineno > 0: line input; with --json the object starts with "line". */
static int report(const wd_certificate *r, const opts *o, const char *unit, const char *label, long lineno) {
    if (o->json) {
        char *j = NULL;
        if (wd_certificate_to_json(r, &j)) return cli_fail(WD_ERR_NOMEM, "json");
        if (lineno > 0 && j[0] == '{') printf("{\"line\":%ld%s%s\n", lineno, j[1] == '}' ? "" : ",", j + 1);
        else puts(j);
        free(j);
    } else {
        bool harmful = wd_certificate_harmful(r);
        const char *how = o->p.greedy_rounds > 0 ? "greedy, not certified"
                          : o->p.sample_ratio > 0 && o->p.sample_ratio < 1 ? "randomized, not certified"
                          : "certified";
        if (label) printf("%s: ", label);
        printf("%s (%s)  ", harmful ? "HARMFUL" : "safe", how);
        if (o->p.greedy_rounds > 0) printf("greedy %d rounds", o->p.greedy_rounds);
        else printf("%s", wd_ec_mode_str(o->p.mode));
        printf(": %zu %s, %zu of %zu subsequences checked, max score %.2f, %.1f ms\n",
               wd_certificate_n_units(r), unit,
               wd_certificate_n_checks(r), wd_certificate_n_subsequences(r),
               (double)wd_certificate_max_score(r), wd_certificate_micros(r) / 1000.0);
        if (harmful) {
            size_t tl = 0, ne = 0;
            const char *t = wd_certificate_trigger(r, &tl);
            const size_t *e = wd_certificate_erased(r, &ne);
            printf("  flagged: ");
            print_quoted(t ? t : "", tl);
            if (ne) {
                printf("  (erased %zu of them: #", ne);
                for (size_t i = 0; i < ne && i < 24; i++) printf("%s%zu", i ? " #" : "", e[i]);
                printf("%s)", ne > 24 ? " ..." : "");
            } else {
                printf("  (the prompt itself)");
            }
            putchar('\n');
        }
    }
    const char *err = wd_certificate_error(r);
    if (err) {
        fflush(stdout);
        fprintf(stderr, "warden: error: %s%s%s\n", label ? label : "", label ? ": " : "", err);
        return CLI_ERROR;
    }
    return wd_certificate_harmful(r) ? CLI_FLAGGED : CLI_OK;
}

static int worst(int a, int b) { return a > b ? a : b; }

/* "dir/name" (one '/' between), malloc'd; NULL when out of memory. */
static char *path_join(const char *dir, const char *name) {
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (p) snprintf(p, dl + nl + 2, "%s%s%s", dir, dl && dir[dl - 1] != '/' ? "/" : "", name);
    return p;
}

static int certify_one(wd_certifier *c, const char *text, size_t len, const opts *o, const char *label,
                       long lineno) {
    wd_certificate *r = NULL;
    wd_status st = wd_certify(c, text, len, &o->p, &r);
    if (st) {
        if (o->json) cli_json_error_line(lineno, wd_last_error()[0] ? wd_last_error() : wd_status_str(st));
        fflush(stdout);
        return cli_fail(st, label ? label : "certify");
    }
    int rc = report(r, o, wd_certifier_unit(c), label, lineno);
    wd_certificate_free(r);
    return rc;
}

static int run_lines(wd_certifier *c, const opts *o) {
    int status = CLI_OK;
    long lineno = 0;
    char *line = NULL, *t = NULL;
    size_t cap = 0, tl = 0;
    const char *why = NULL;
    int got;
    while ((got = cli_next_input(stdin, &line, &cap, &lineno, &t, &tl, &why)) != 0) {
        char label[32];
        snprintf(label, sizeof label, "line %ld", lineno);
        if (got < 0) {
            fprintf(stderr, "warden: error: %s: %s\n", label, why);
            if (o->json) cli_json_error_line(lineno, why);
            status = worst(status, CLI_ERROR);
            continue;
        }
        status = worst(status, certify_one(c, t, tl, o, label, lineno));
        free(t);
        fflush(stdout);
    }
    free(line);
    if (ferror(stdin)) return cli_error("reading standard input failed");
    return status;
}

/* --mode suffix|insertion|infusion (the field: a wd_ec_mode). */
static bool mode_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    if (!wd_ec_mode_parse(v, field)) return true;
    cli_usage_error(cmd, "--mode: expected suffix, insertion or infusion, got '%s'", v);
    return false;
}

static const char *const ROLES[] = {"input", "output", NULL};

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden certify [TEXT... | -] [--mode suffix|insertion|infusion] [--max-erase D]\n"
             "                      [--blocks K] [--randomized R | --greedy N] [--seed S] [--all]\n"
             "                      [--policy FILE | --model DIR] [--tokenizer DIR]\n"
             "                      [--template FILE] [--threshold T] [--role input|output]\n"
             "                      [--no-reuse] [--threads N] [--json]\n\n"
             "Erase-and-check: TEXT is harmful if the guard flags it or any subsequence made\n"
             "by erasing units from it. If the guard flags a harmful prompt P, then P with\n"
             "any D adversarial units appended (suffix), inserted as K blocks of <= D\n"
             "(insertion) or scattered (infusion) is certified to be flagged too.\n\n"),
    CLI_CALL("--mode", O(p.mode), mode_flag, "M", "suffix (default; D + 1 checks), insertion (erase up to K\n"
                                                 "contiguous blocks of <= D), infusion (any <= D units)",
             .needs = "suffix, insertion or infusion"),
    CLI_INT("--max-erase", O(max_erase), "D", 1, 100000,
            "units erased (default 20 suffix, 12 insertion, 3 infusion)", .needs = "D"),
    CLI_INT("--blocks", O(blocks), "K", 1, 64, "insertion blocks (default 1)", .needs = "K"),
    CLI_DOUBLE("--randomized", O(p.sample_ratio), "R", 0, 1,
               "RandEC: check the prompt and a random fraction R of the rest\n"
               "(not certified; seeded by --seed, default 1)",
               .open_lo = true, .needs = "a number", .bad = "--randomized: expected a number in (0, 1], got '%s'"),
    CLI_INT("--greedy", O(greedy), "N", 1, 100000, "GreedyEC: up to N rounds, each erasing the unit whose removal\n"
                                                   "raises the score most (not certified)",
            .needs = "N"),
    CLI_INT("--seed", O(seed), "S", 0, 0x7fffffffL, NULL, .needs = "S"),
    CLI_BOOL("--all", O(p.check_all), "check every subsequence (default: stop at the first flagged)"),
    CLI_STR("--policy", O(policy), "FILE", "the guard to certify (default: the built-in policy; units\n"
                                           "are words, or the tokens of --tokenizer DIR)",
            .needs = "a FILE"),
    CLI_STR("--model", O(model), "DIR", "a model folder as the filter: a decoder is asked the Llama\n"
                                        "Guard 3 question (or --template FILE with {text}) over its\n"
                                        "own tokens, reusing the KV cache of shared prefixes\n"
                                        "(--no-reuse: recompute each check); a BERT-family\n"
                                        "classifier classifies each subsequence",
            .needs = "a DIR"),
    CLI_STR("--tokenizer", O(tokenizer), "DIR", NULL, .needs = "a DIR"),
    CLI_STR("--template", O(template_file), "FILE", NULL, .needs = "a FILE"),
    CLI_BOOL("--no-reuse", O(no_reuse), NULL),
    CLI_DOUBLE("--threshold", O(threshold), "T", 0, 1, "a judge flags when p(unsafe) >= T (default 0.5)",
               .open_lo = true, .needs = "a number", .bad = "--threshold: expected a number in (0, 1], got '%s'"),
    CLI_ENUM("--role", O(role), "ROLE", ROLES, "input (default) or output", .needs = "input or output",
             .bad = "--role: expected input or output, got '%s'"),
    CLI_INT("--threads", O(threads), "N", 1, 256, "threads for the guard or the model", .needs = "N"),
    CLI_BOOL("--json", O(json), "one JSON certificate per input"),
    CLI_BOOL("-", O(dash), NULL),
    CLI_TEXT("\nWith '-', or no TEXT and standard input not a terminal, certifies each line\n"
             "(JSONL lines are read for their \"text\"/\"prompt\" field).\n\n"
             "exit status: 0 all safe, 1 something harmful, 2 usage error, 3 error\n"),
};

int cmd_certify(int argc, char **argv) {
    opts o = {.p = wd_certify_params_default(), .threshold = 0.5, .threads = 0, .seed = -1};
    cli_spec spec = {"certify", {{ROWS, CLI_N(ROWS), &o}}, .col = 19, .max_pos = -1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    char *text = NULL;
    size_t text_len = 0;
    int rc = cli_flags_parse_text(&spec, argc, argv, &text, &text_len);
    if (rc >= 0) return rc;
    if (o.max_erase) o.p.max_erase = (int)o.max_erase;
    if (o.blocks) o.p.n_blocks = (int)o.blocks;
    if (o.greedy) o.p.greedy_rounds = (int)o.greedy;
    if (o.seed >= 0) o.p.seed = (uint64_t)o.seed;
    if (o.no_reuse) o.p.reuse = WD_EC_REUSE_NONE;
    o.p.role = o.role ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    if (o.p.greedy_rounds && o.p.sample_ratio > 0)
        return free(text), cli_usage_error("certify", "--randomized and --greedy are different methods: pick one");
    if (o.model && (o.policy || o.tokenizer))
        return free(text), cli_usage_error("certify", "--model is the filter itself: no --policy or --tokenizer with it");
    if (o.template_file && !o.model)
        return free(text), cli_usage_error("certify", "--template applies to a --model judge");
    if (o.dash && text) return free(text), cli_usage_error("certify", "give TEXT or '-', not both");
    if (!text && !o.dash) {
        if (isatty(STDIN_FILENO))
            return cli_usage_error("certify", "nothing to certify: give TEXT, or '-' and lines on standard input");
        o.dash = true;
    }
    wd_certifier *c = NULL;
    wd_guard *g = NULL;
    wd_tokenizer *tok = NULL;
    wd_status st = WD_OK;
    int status;
    if (o.model) {
        wd_judge_params jp = wd_judge_params_default();
        jp.threshold = (float)o.threshold;
        jp.n_threads = (int)o.threads;
        char *tmpl = NULL;
        size_t tl = 0;
        if (o.template_file && (st = wd_file_read(o.template_file, 1 << 20, &tmpl, &tl)))
            return free(text), cli_fail(st, o.template_file);
        jp.template_text = tmpl;
        st = wd_certifier_new_model(o.model, &jp, &c);
        free(tmpl);
        if (st) return free(text), cli_fail(st, o.model);
    } else {
        wd_guard_params gp = wd_guard_params_default();
        gp.n_threads = o.threads ? (int)o.threads : 1;
        st = o.policy ? wd_guard_load(o.policy, &gp, &g) : wd_guard_load_default(&gp, &g);
        if (st) return free(text), cli_fail(st, o.policy ? "policy" : "built-in policy");
        if (o.tokenizer) {
            char *tp = path_join(o.tokenizer, "tokenizer.json");
            st = tp ? wd_tokenizer_load(tp, &tok) : WD_ERR_NOMEM;
            free(tp);
            if (st) {
                wd_guard_free(g);
                return free(text), cli_fail(st, "tokenizer");
            }
        }
        if ((st = wd_certifier_new_guard(g, tok, &c))) {
            wd_tokenizer_free(tok);
            wd_guard_free(g);
            return free(text), cli_fail(st, "certify");
        }
    }
    status = o.dash ? run_lines(c, &o) : certify_one(c, text, text_len, &o, NULL, 0);
    wd_certifier_free(c);
    wd_tokenizer_free(tok);
    wd_guard_free(g);
    free(text);
    return status;
}
