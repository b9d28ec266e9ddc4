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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "cli.h"
#include "cli_data.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: warden certify [TEXT... | -] [--mode suffix|insertion|infusion] [--max-erase D]\n"
            "                      [--blocks K] [--randomized R | --greedy N] [--seed S] [--all]\n"
            "                      [--policy FILE | --model DIR] [--tokenizer DIR]\n"
            "                      [--template FILE] [--threshold T] [--role input|output]\n"
            "                      [--no-reuse] [--threads N] [--json]\n\n"
            "Erase-and-check: TEXT is harmful if the guard flags it or any subsequence made\n"
            "by erasing units from it. If the guard flags a harmful prompt P, then P with\n"
            "any D adversarial units appended (suffix), inserted as K blocks of <= D\n"
            "(insertion) or scattered (infusion) is certified to be flagged too.\n\n"
            "  --mode M         suffix (default; D + 1 checks), insertion (erase up to K\n"
            "                   contiguous blocks of <= D), infusion (any <= D units)\n"
            "  --max-erase D    units erased (default 20 suffix, 12 insertion, 3 infusion)\n"
            "  --blocks K       insertion blocks (default 1)\n"
            "  --randomized R   RandEC: check the prompt and a random fraction R of the rest\n"
            "                   (not certified; seeded by --seed, default 1)\n"
            "  --greedy N       GreedyEC: up to N rounds, each erasing the unit whose removal\n"
            "                   raises the score most (not certified)\n"
            "  --all            check every subsequence (default: stop at the first flagged)\n"
            "  --policy FILE    the guard to certify (default: the built-in policy; units\n"
            "                   are words, or the tokens of --tokenizer DIR)\n"
            "  --model DIR      a model folder as the filter: a decoder is asked the Llama\n"
            "                   Guard 3 question (or --template FILE with {text}) over its\n"
            "                   own tokens, reusing the KV cache of shared prefixes\n"
            "                   (--no-reuse: recompute each check); a BERT-family\n"
            "                   classifier classifies each subsequence\n"
            "  --threshold T    a judge flags when p(unsafe) >= T (default 0.5)\n"
            "  --role ROLE      input (default) or output\n"
            "  --threads N      threads for the guard or the model\n"
            "  --json           one JSON certificate per input\n\n"
            "With '-', or no TEXT and standard input not a terminal, certifies each line\n"
            "(JSONL lines are read for their \"text\"/\"prompt\" field).\n\n"
            "exit status: 0 all safe, 1 something harmful, 2 usage error, 3 error\n");
}

typedef struct opts {
    wd_certify_params p;
    const char       *policy, *model, *tokenizer, *template_file;
    double            threshold;
    long              threads;
    bool              json;
} opts;

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
static int report(const wd_certificate *r, const opts *o, const char *unit, const char *label) {
    if (o->json) {
        char *j = NULL;
        if (wd_certificate_to_json(r, &j)) return cli_fail(WD_ERR_NOMEM, "json");
        puts(j);
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

static int certify_one(wd_certifier *c, const char *text, size_t len, const opts *o, const char *label) {
    wd_certificate *r = NULL;
    wd_status st = wd_certify(c, text, len, &o->p, &r);
    if (st) {
        if (o->json) printf("{\"error\":\"%s\"}\n", wd_status_str(st));
        fflush(stdout);
        return cli_fail(st, label ? label : "certify");
    }
    int rc = report(r, o, wd_certifier_unit(c), label);
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
            if (o->json) cli_json_error_line(label, why);
            status = worst(status, CLI_ERROR);
            continue;
        }
        status = worst(status, certify_one(c, t, tl, o, label));
        free(t);
        fflush(stdout);
    }
    free(line);
    if (ferror(stdin)) return cli_error("reading standard input failed");
    return status;
}

int cmd_certify(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    opts o = {.p = wd_certify_params_default(), .threshold = 0.5, .threads = 0};
    char *text = NULL;
    size_t text_len = 0;
    bool dash = false, rest = false;
    long v = 0;
    double x = 0;
#define NEED(what)                                                                        \
    do {                                                                                  \
        if (++i >= argc) return free(text), cli_usage_error("certify", "%s needs %s", a, what); \
    } while (0)
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (rest || a[0] != '-' || !a[1]) {
            if (!rest && !strcmp(a, "-")) {
                dash = true;
                continue;
            }
            if (!cli_append_word(&text, &text_len, a)) return free(text), cli_error("out of memory");
        } else if (!strcmp(a, "--")) {
            rest = true;
        } else if (!strcmp(a, "--mode")) {
            NEED("suffix, insertion or infusion");
            if (wd_ec_mode_parse(argv[i], &o.p.mode))
                return free(text), cli_usage_error("certify", "--mode: expected suffix, insertion or infusion, got '%s'", argv[i]);
        } else if (!strcmp(a, "--max-erase")) {
            NEED("D");
            if (!cli_parse_int("certify", a, argv[i], 1, 100000, &v)) return free(text), CLI_USAGE;
            o.p.max_erase = (int)v;
        } else if (!strcmp(a, "--blocks")) {
            NEED("K");
            if (!cli_parse_int("certify", a, argv[i], 1, 64, &v)) return free(text), CLI_USAGE;
            o.p.n_blocks = (int)v;
        } else if (!strcmp(a, "--greedy")) {
            NEED("N");
            if (!cli_parse_int("certify", a, argv[i], 1, 100000, &v)) return free(text), CLI_USAGE;
            o.p.greedy_rounds = (int)v;
        } else if (!strcmp(a, "--seed")) {
            NEED("S");
            if (!cli_parse_int("certify", a, argv[i], 0, 0x7fffffffL, &v)) return free(text), CLI_USAGE;
            o.p.seed = (uint64_t)v;
        } else if (!strcmp(a, "--threads")) {
            NEED("N");
            if (!cli_parse_int("certify", a, argv[i], 1, 256, &o.threads)) return free(text), CLI_USAGE;
        } else if (!strcmp(a, "--randomized") || !strcmp(a, "--threshold")) {
            NEED("a number");
            char *end = NULL;
            x = strtod(argv[i], &end);
            if (!end || *end || !(x > 0 && x <= 1))
                return free(text), cli_usage_error("certify", "%s: expected a number in (0, 1], got '%s'", a, argv[i]);
            if (a[2] == 'r') o.p.sample_ratio = x;
            else o.threshold = x;
        } else if (!strcmp(a, "--all")) {
            o.p.check_all = true;
        } else if (!strcmp(a, "--no-reuse")) {
            o.p.reuse = WD_EC_REUSE_NONE;
        } else if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (!strcmp(a, "--role")) {
            NEED("input or output");
            if (!strcmp(argv[i], "input")) o.p.role = WD_ROLE_INPUT;
            else if (!strcmp(argv[i], "output")) o.p.role = WD_ROLE_OUTPUT;
            else return free(text), cli_usage_error("certify", "--role: expected input or output, got '%s'", argv[i]);
        } else if (!strcmp(a, "--policy") || !strcmp(a, "--model") || !strcmp(a, "--tokenizer") ||
                   !strcmp(a, "--template")) {
            NEED(a[2] == 'p' ? "a FILE" : a[3] == 'e' ? "a FILE" : "a DIR");
            if (a[2] == 'p') o.policy = argv[i];
            else if (a[2] == 'm') o.model = argv[i];
            else if (a[3] == 'o') o.tokenizer = argv[i];
            else o.template_file = argv[i];
        } else {
            return free(text), cli_usage_error("certify", "unknown option '%s'", a);
        }
    }
#undef NEED
    if (o.p.greedy_rounds && o.p.sample_ratio > 0)
        return free(text), cli_usage_error("certify", "--randomized and --greedy are different methods: pick one");
    if (o.model && (o.policy || o.tokenizer))
        return free(text), cli_usage_error("certify", "--model is the filter itself: no --policy or --tokenizer with it");
    if (o.template_file && !o.model)
        return free(text), cli_usage_error("certify", "--template applies to a --model judge");
    if (dash && text) return free(text), cli_usage_error("certify", "give TEXT or '-', not both");
    if (!text && !dash) {
        if (isatty(STDIN_FILENO))
            return cli_usage_error("certify", "nothing to certify: give TEXT, or '-' and lines on standard input");
        dash = true;
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
        if (o.template_file && (st = wd__file_read(o.template_file, 1 << 20, &tmpl, &tl)))
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
            char *tp = wd__path_join(o.tokenizer, "tokenizer.json");
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
    status = dash ? run_lines(c, &o) : certify_one(c, text, text_len, &o, NULL);
    wd_certifier_free(c);
    wd_tokenizer_free(tok);
    wd_guard_free(g);
    free(text);
    return status;
}
