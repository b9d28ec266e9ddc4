/*
 * tools/warden/cmd_check.c - `warden check`: is a prompt (or a response)
 * unsafe, in which categories, and why.
 *
 *   warden check [TEXT... | -] [--policy FILE] [--role input|output]
 *                [--json] [--redact] [--threads N]
 *
 * With TEXT: one verdict. With '-' (or no TEXT and stdin not a terminal):
 * one verdict per input line; a line that is a JSON object is read for its
 * "text" / "prompt" / "input" / "response" / "output" field (JSONL). Lines
 * are checked in batches (wd_guard_check_batch).
 *
 * Exit status: 0 every input allowed, 1 at least one flagged (action other
 * than allow), 3 an error (bad policy, unreadable input, a verdict that
 * could not be fully computed: invalid UTF-8, too long), 2 usage.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_data.h"

#define BATCH 256

static void usage(FILE *f) {
    fprintf(f,
            "usage: warden check [TEXT... | -] [--policy FILE | --model DIR] [--role input|output]\n"
            "                    [--json] [--redact] [--threads N]\n\n"
            "Checks whether TEXT (a user prompt, or with --role output a model's\n"
            "response) is unsafe, in which hazard categories (S1-S14, pii, secrets,\n"
            "prompt_injection, profanity), and why: which scanner fired on which bytes.\n\n"
            "With '-', or no TEXT and standard input not a terminal, reads one input per\n"
            "line and prints one answer per line, in input order, labelled with the line\n"
            "number (--json: {\"line\": N, ...verdict} or {\"line\": N, \"error\": ...} for a\n"
            "line that cannot be read). A line holding a JSON object is read for its\n"
            "\"text\" (or \"prompt\", \"input\", \"response\", \"output\") field.\n\n"
            "options:\n"
            "  --policy FILE   policy file (YAML, see docs/policy.md); default: the built-in\n"
            "  --model DIR     a model folder as the guard: a decoder as an LLM judge (Llama\n"
            "                  Guard 3 prompt), a BERT-family sequence classifier\n"
            "  --role ROLE     input (default: a user prompt) or output (a model response)\n"
            "  --json          print each verdict as one JSON object per line\n"
            "  --redact        also print the text with PII and secrets replaced ([CARD], ...)\n"
            "  --threads N     threads for line input (default 1)\n\n"
            "exit status: 0 all allowed, 1 something flagged, 2 usage error, 3 error\n");
}

typedef struct opts {
    const char *policy, *model;
    wd_role     role;
    bool        json, redact;
    long        threads;
} opts;

static void print_human(const wd_verdict *v, const char *label) {
    const char *err = wd_verdict_error(v);
    wd_action a = wd_verdict_action(v);
    if (label) printf("%s: ", label);
    printf("%s (%s)", wd_verdict_unsafe(v) ? "UNSAFE" : "safe", wd_action_str(a));
    wd_catmask m = wd_verdict_categories(v);
    const char *sep = "  ";
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        if (m & WD_CATMASK(c)) {
            printf("%s%s %s %.2f", sep, wd_category_id(c), wd_category_name(c), wd_verdict_score(v, c));
            sep = ", ";
        }
    printf("\n");
    if (err) printf("  error: %s\n", err);
    size_t n_hits = wd_verdict_n_hits(v);
    for (size_t i = 0; i < n_hits; i++) {
        const wd_hit *h = wd_verdict_hit(v, i);
        /* one line per rule and span: the categories of a multi-category rule joined */
        char cats[128];
        int w = snprintf(cats, sizeof cats, "%s", wd_category_id(h->category));
        while (i + 1 < n_hits) {
            const wd_hit *nx = wd_verdict_hit(v, i + 1);
            if (strcmp(nx->rule, h->rule) || strcmp(nx->scanner, h->scanner) || nx->start != h->start || nx->end != h->end)
                break;
            if (w > 0 && (size_t)w < sizeof cats)
                w += snprintf(cats + w, sizeof cats - (size_t)w, ",%s", wd_category_id(nx->category));
            i++;
        }
        printf("  %-10s %-28s %-16s %.2f  [%zu,%zu) \"", h->scanner, h->rule, cats, h->score, h->start, h->end);
        for (const char *p = h->snippet; *p; p++) {
            if (*p == '\n') fputs("\\n", stdout);
            else if (*p == '"') fputs("\\\"", stdout);
            else if ((unsigned char)*p < 0x20) printf("\\x%02x", (unsigned char)*p);
            else putchar(*p);
        }
        printf("\"%s\n", h->depth ? " (decoded)" : "");
    }
    size_t rl;
    const char *red = wd_verdict_redacted(v, &rl);
    if (red) {
        fputs("  redacted: ", stdout);
        fwrite(red, 1, rl, stdout);
        putchar('\n');
    }
}

/* Prints v; returns the exit-status contribution (0, 1 or 3). */
static int emit(const wd_verdict *v, const opts *o, const char *label) {
    if (o->json) {
        char *j = NULL;
        if (wd_verdict_to_json(v, &j) != WD_OK) return cli_fail(WD_ERR_NOMEM, "json");
        puts(j);
        free(j);
    } else {
        print_human(v, label);
    }
    if (wd_verdict_error(v)) {
        if (!o->json) fflush(stdout);
        fprintf(stderr, "warden: error: %s%s%s\n", label ? label : "", label ? ": " : "", wd_verdict_error(v));
        return CLI_ERROR;
    }
    return wd_verdict_unsafe(v) ? CLI_FLAGGED : CLI_OK;
}

static int worst(int a, int b) { return a > b ? a : b; }

/* Prints a line's error in its place: a JSON object with the line number or
 * "line N: error: why"; also on stderr. Returns CLI_ERROR. */
static int emit_line_error(const opts *o, long lineno, const char *why) {
    if (o->json) cli_json_error_line(lineno, why);
    else printf("line %ld: error: %s\n", lineno, why);
    fflush(stdout);
    fprintf(stderr, "warden: error: line %ld: %s\n", lineno, why);
    return CLI_ERROR;
}

/* Prints a line's verdict; with --json the object starts with "line". */
static int emit_line(const wd_verdict *v, const opts *o, long lineno) {
    char label[32];
    snprintf(label, sizeof label, "line %ld", lineno);
    if (!o->json) return emit(v, o, label);
    char *j = NULL;
    if (wd_verdict_to_json(v, &j) != WD_OK || j[0] != '{') {
        free(j);
        return cli_fail(WD_ERR_NOMEM, "json");
    }
    printf("{\"line\":%ld%s%s\n", lineno, j[1] == '}' ? "" : ",", j + 1);
    free(j);
    if (wd_verdict_error(v)) {
        fflush(stdout);
        fprintf(stderr, "warden: error: %s: %s\n", label, wd_verdict_error(v));
        return CLI_ERROR;
    }
    return wd_verdict_unsafe(v) ? CLI_FLAGGED : CLI_OK;
}

/* Line input: up to BATCH lines are read, the good ones checked in one
 * batch, then every line of the batch is answered in input order (a bad
 * line's error in its place), each with its line number. */
static int run_lines(wd_guard *g, const opts *o) {
    wd_check_params cp = wd_check_params_default();
    cp.role = o->role;
    cp.redact = o->redact;
    char *texts[BATCH];
    size_t lens[BATCH];
    long linenos[BATCH];
    char *whys[BATCH];         /* per line read: NULL, or why it has no text (copied) */
    long whynos[BATCH];
    size_t slot[BATCH];        /* per line read: its index in texts */
    wd_verdict *out[BATCH];
    int status = CLI_OK;
    long lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    bool eof = false;
    while (!eof) {
        size_t n = 0, n_read = 0;
        while (n_read < BATCH) {
            char *t = NULL;
            size_t tl = 0;
            const char *why = NULL;
            int got = cli_next_input(stdin, &line, &cap, &lineno, &t, &tl, &why);
            if (got == 0) {
                eof = true;
                break;
            }
            whys[n_read] = got < 0 ? strdup(why ? why : "unreadable line") : NULL;
            if (got < 0 && !whys[n_read]) {
                free(line);
                return cli_error("out of memory");
            }
            whynos[n_read] = lineno;
            if (got > 0) {
                slot[n_read] = n;
                texts[n] = t;
                lens[n] = tl;
                linenos[n] = lineno;
                n++;
            }
            n_read++;
        }
        if (!n_read) break;
        if (n) {
            wd_status st = wd_guard_check_batch(g, (const char *const *)texts, lens, n, &cp, out);
            if (st != WD_OK) {
                for (size_t i = 0; i < n; i++) free(texts[i]);
                for (size_t r = 0; r < n_read; r++) free(whys[r]);
                free(line);
                return cli_error("check: %s", wd_guard_last_error(g));
            }
        }
        for (size_t r = 0; r < n_read; r++) {
            if (whys[r]) {
                status = worst(status, emit_line_error(o, whynos[r], whys[r]));
                free(whys[r]);
                continue;
            }
            size_t i = slot[r];
            status = worst(status, emit_line(out[i], o, linenos[i]));
            wd_verdict_free(out[i]);
            free(texts[i]);
        }
        fflush(stdout);
    }
    free(line);
    if (ferror(stdin)) return cli_error("reading standard input failed");
    return status;
}

int cmd_check(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    opts o = {NULL, NULL, WD_ROLE_INPUT, false, false, 1};
    char *text = NULL;
    size_t text_len = 0;
    bool dash = false, rest_positional = false;
    int status = CLI_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!rest_positional && !strcmp(a, "--")) {
            rest_positional = true;
        } else if (!rest_positional && !strcmp(a, "--policy")) {
            if (++i >= argc) return free(text), cli_usage_error("check", "--policy needs a FILE");
            o.policy = argv[i];
        } else if (!rest_positional && !strcmp(a, "--model")) {
            if (++i >= argc) return free(text), cli_usage_error("check", "--model needs a DIR");
            o.model = argv[i];
        } else if (!rest_positional && !strcmp(a, "--role")) {
            if (++i >= argc) return free(text), cli_usage_error("check", "--role needs input or output");
            if (!strcmp(argv[i], "input")) o.role = WD_ROLE_INPUT;
            else if (!strcmp(argv[i], "output")) o.role = WD_ROLE_OUTPUT;
            else return free(text), cli_usage_error("check", "--role: expected input or output, got '%s'", argv[i]);
        } else if (!rest_positional && !strcmp(a, "--json")) {
            o.json = true;
        } else if (!rest_positional && !strcmp(a, "--redact")) {
            o.redact = true;
        } else if (!rest_positional && !strcmp(a, "--threads")) {
            if (++i >= argc) return free(text), cli_usage_error("check", "--threads needs N");
            if (!cli_parse_int("check", "--threads", argv[i], 1, 256, &o.threads)) return free(text), CLI_USAGE;
        } else if (!rest_positional && !strcmp(a, "-")) {
            dash = true;
        } else if (!rest_positional && a[0] == '-' && a[1]) {
            return free(text), cli_usage_error("check", "unknown option '%s'", a);
        } else {
            /* words of TEXT, joined by spaces */
            if (!cli_append_word(&text, &text_len, a)) return free(text), cli_error("out of memory");
        }
    }
    if (dash && text) return free(text), cli_usage_error("check", "give TEXT or '-', not both");
    if (!text && !dash) {
        if (isatty(STDIN_FILENO)) return cli_usage_error("check", "nothing to check: give TEXT, or '-' and lines on standard input");
        dash = true;
    }
    wd_guard_params gp = wd_guard_params_default();
    gp.n_threads = (int)o.threads;
    wd_guard *g = NULL;
    if (o.policy && o.model) return free(text), cli_usage_error("check", "--policy and --model exclude each other");
    wd_status st = o.model    ? wd_guard_load_model(o.model, &gp, &g)
                   : o.policy ? wd_guard_load(o.policy, &gp, &g)
                              : wd_guard_load_default(&gp, &g);
    if (st != WD_OK) {
        free(text);
        return cli_fail(st, o.model ? o.model : o.policy ? "policy" : "built-in policy");
    }
    if (dash) {
        status = run_lines(g, &o);
    } else {
        wd_check_params cp = wd_check_params_default();
        cp.role = o.role;
        cp.redact = o.redact;
        wd_verdict *v = NULL;
        st = wd_guard_check(g, text, text_len, &cp, &v);
        if (st != WD_OK) status = cli_error("check: %s", wd_guard_last_error(g));
        else status = emit(v, &o, NULL);
        wd_verdict_free(v);
    }
    free(text);
    wd_guard_free(g);
    return status;
}
