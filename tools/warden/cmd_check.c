/*
 * tools/warden/cmd_check.c - `warden check`: is a prompt (or a response)
 * unsafe, in which categories, and why.
 *
 *   warden check [TEXT... | - | --messages FILE|-] [--policy FILE] [--role input|output]
 *                [--json] [--redact] [--threads N] [--all-turns]
 *
 * With TEXT: one verdict. With '-' (or no TEXT and stdin not a terminal):
 * one verdict per input line; a line that is a JSON object is read for its
 * "text" / "prompt" / "input" / "response" / "output" field (JSONL), or,
 * when it has "messages", as a conversation (wd_conversation_from_json)
 * whose last user turn (--role output: last assistant turn) is judged in
 * context (wd_guard_check_messages; --all-turns: every such turn,
 * wd_guard_check_messages_all). Text lines are checked in batches
 * (wd_guard_check_batch). --messages FILE reads one conversation from a
 * JSON file (an object with "messages", or the array itself).
 *
 * Exit status: 0 every input allowed, 1 at least one flagged (action other
 * than allow), 3 an error (bad policy, unreadable input, a verdict that
 * could not be fully computed: invalid UTF-8, too long), 2 usage.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_flags.h"
#include "warden/json.h"

#define BATCH 256

typedef struct opts {
    const char *policy, *model, *messages, *guard_format;
    int         role; /* 0 input, 1 output */
    bool        json, redact, dash, all_turns, explain;
    long        threads, explain_max;
} opts;

#define O(f) offsetof(opts, f)

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
    if (wd_verdict_rationale(v)) printf("  rationale: %s\n", wd_verdict_rationale(v));
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

/* Prints a line's verdict; with --json the object starts with "line" (a
 * conversation's verdicts carry their "message_index"). */
static int emit_line(const wd_verdict *v, const opts *o, long lineno) {
    char label[64];
    long mi = wd_verdict_message_index(v);
    if (mi >= 0) snprintf(label, sizeof label, "line %ld, message %ld", lineno, mi);
    else snprintf(label, sizeof label, "line %ld", lineno);
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

/* Checks a conversation's last turn of the role (all turns with
 * --all-turns) and prints each verdict (labelled with the line number when
 * lineno > 0). A conversation that cannot be checked (no turn of the role)
 * is an error in its place. */
static int run_conversation(wd_guard *g, const opts *o, const wd_check_params *cp, const wd_conversation *c,
                            long lineno) {
    size_t n = 0;
    const wd_chat_message *m = wd_conversation_messages(c, &n);
    wd_verdict **v = calloc(n ? n : 1, sizeof *v);
    if (!v) return cli_error("out of memory");
    size_t made = 0;
    wd_status st;
    if (o->all_turns) {
        st = wd_guard_check_messages_all(g, m, n, cp, v, &made);
    } else {
        st = wd_guard_check_messages(g, m, n, cp, &v[0]);
        made = st ? 0 : 1;
    }
    int status = CLI_OK;
    if (st != WD_OK) {
        status = lineno > 0 ? emit_line_error(o, lineno, wd_guard_last_error(g))
                            : cli_error("check: %s", wd_guard_last_error(g));
    }
    for (size_t k = 0; k < made; k++) {
        if (lineno > 0) {
            status = worst(status, emit_line(v[k], o, lineno));
        } else {
            char label[32];
            snprintf(label, sizeof label, "message %ld", wd_verdict_message_index(v[k]));
            status = worst(status, emit(v[k], o, label));
        }
        wd_verdict_free(v[k]);
    }
    free(v);
    return status;
}

/* --messages FILE (or '-'): one conversation, a JSON object with
 * "messages" or the array itself. */
static int run_messages_file(wd_guard *g, const opts *o, const wd_check_params *cp) {
    bool dash = !strcmp(o->messages, "-");
    FILE *f = dash ? stdin : fopen(o->messages, "rb");
    if (!f) return cli_error("%s: cannot open: %s", o->messages, strerror(errno));
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b = cap < (256u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    bool bad_read = ferror(f);
    if (!dash) fclose(f);
    if (!buf) return cli_error("%s: out of memory, or above 256 MiB", o->messages);
    if (bad_read) return free(buf), cli_error("%s: read failed", o->messages);
    wd_json_fault fault;
    cJSON *root = wd_json_parse_strict(buf, n, dash ? "standard input" : o->messages, &fault);
    free(buf);
    if (!root) return cli_error("%s", wd_last_error());
    const cJSON *m = cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "messages");
    wd_conversation *c = NULL;
    int status;
    if (!cJSON_IsObject(root) && !cJSON_IsArray(root))
        status = cli_error("%s: expected a JSON object with \"messages\" or an array of messages", o->messages);
    else if (wd_conversation_from_json(m, 0, NULL, 0, &c) != WD_OK)
        status = cli_error("%s: %s", o->messages, wd_last_error());
    else
        status = run_conversation(g, o, cp, c, 0);
    wd_conversation_free(c);
    cJSON_Delete(root);
    return status;
}

/* Line input: up to BATCH lines are read, the good text lines checked in
 * one batch, then every line of the batch is answered in input order (a
 * bad line's error in its place, a conversation checked then), each with
 * its line number. */
static int run_lines(wd_guard *g, const opts *o) {
    wd_check_params cp = wd_check_params_default();
    cp.role = o->role ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    cp.redact = o->redact;
    char *texts[BATCH];
    size_t lens[BATCH];
    long linenos[BATCH];
    char *whys[BATCH];         /* per line read: NULL, or why it has no text (copied) */
    long whynos[BATCH];
    size_t slot[BATCH];        /* per line read: its index in texts */
    wd_conversation *convs[BATCH]; /* per line read: its conversation, or NULL */
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
            wd_conversation *conv = NULL;
            int got = cli_next_input_conv(stdin, &line, &cap, &lineno, &t, &tl, &why, &conv);
            if (got == 0) {
                eof = true;
                break;
            }
            convs[n_read] = conv;
            whys[n_read] = got < 0 ? strdup(why ? why : "unreadable line") : NULL;
            if (got < 0 && !whys[n_read]) {
                free(line);
                return cli_error("out of memory");
            }
            whynos[n_read] = lineno;
            if (got == 1) {
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
                for (size_t r = 0; r < n_read; r++) {
                    free(whys[r]);
                    wd_conversation_free(convs[r]);
                }
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
            if (convs[r]) {
                status = worst(status, run_conversation(g, o, &cp, convs[r], whynos[r]));
                wd_conversation_free(convs[r]);
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

static const char *const ROLES[] = {"input", "output", NULL};

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden check [TEXT... | - | --messages FILE|-] [--policy FILE | --model DIR]\n"
             "                    [--role input|output] [--json] [--redact] [--threads N] [--all-turns]\n"
             "                    [--guard-format NAME] [--explain-verdict] [--explain-max-tokens N]\n\n"
             "Checks whether TEXT (a user prompt, or with --role output a model's\n"
             "response) is unsafe, in which hazard categories (S1-S14, pii, secrets,\n"
             "prompt_injection, profanity), and why: which scanner fired on which bytes.\n\n"
             "With '-', or no TEXT and standard input not a terminal, reads one input per\n"
             "line and prints one answer per line, in input order, labelled with the line\n"
             "number (--json: {\"line\": N, ...verdict} or {\"line\": N, \"error\": ...} for a\n"
             "line that cannot be read). A line holding a JSON object is read for its\n"
             "\"text\" (or \"prompt\", \"input\", \"response\", \"output\") field.\n\n"
             "Conversations: a line holding {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}\n"
             "(OpenAI's chat messages: system, developer, user, assistant, tool), or the\n"
             "file given to --messages, is checked as a conversation: the last user message\n"
             "(--role output: the last assistant message) is judged with the messages\n"
             "before it as context, and its verdict says \"message_index\". Rule scanners\n"
             "judge that message alone; a model judge (--model) reads the conversation in\n"
             "Llama Guard's User/Agent turns (docs/policy.md, \"Conversations\").\n\n"
             "options:\n"),
    CLI_STR("--policy", O(policy), "FILE", "policy file (YAML, see docs/policy.md); default: the built-in",
            .needs = "a FILE"),
    CLI_STR("--model", O(model), "DIR", "a model folder as the guard: a decoder as an LLM judge (Llama\n"
                                        "Guard 3 prompt), a BERT-family sequence classifier",
            .needs = "a DIR"),
    CLI_ENUM("--role", O(role), "ROLE", ROLES, "input (default: a user prompt) or output (a model response)",
             .needs = "input or output", .bad = "--role: expected input or output, got '%s'"),
    CLI_BOOL("--json", O(json), "print each verdict as one JSON object per line"),
    CLI_BOOL("--redact", O(redact), "also print the text with PII and secrets replaced ([CARD], ...)"),
    CLI_STR("--messages", O(messages), "FILE", "check the conversation in FILE ('-': standard input): a JSON\n"
                                               "object with \"messages\", or the array of messages",
            .needs = "a FILE or '-'"),
    CLI_BOOL("--all-turns", O(all_turns), "judge every user turn (--role output: every assistant turn)\n"
                                          "of a conversation, each in its context, not only the last"),
    CLI_INT("--threads", O(threads), "N", 1, 256, "threads for line input (default 1)", .needs = "N"),
    CLI_STR("--guard-format", O(guard_format), "NAME", "the model judges' guard format: auto (from the checkpoint),\n"
            "llama-guard-3, llama-guard-4, shieldgemma, granite-guardian,\n"
            "qwen3guard, wildguard, prompt-guard, seq-classifier", .needs = "a NAME"),
    CLI_BOOL("--explain-verdict", O(explain), "a generative judge writes its rationale (\"rationale\")"),
    CLI_INT("--explain-max-tokens", O(explain_max), "N", 1, 4096, "the rationale's length bound (default 128)",
            .needs = "N"),
    CLI_BOOL("-", O(dash), NULL),
    CLI_TEXT("\nexit status: 0 all allowed, 1 something flagged, 2 usage error, 3 error\n"),
};

int cmd_check(int argc, char **argv) {
    opts o = {.threads = 1};
    cli_spec spec = {"check", {{ROWS, CLI_N(ROWS), &o}}, .col = 18, .max_pos = -1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    char *text = NULL;
    size_t text_len = 0;
    int status = cli_flags_parse_text(&spec, argc, argv, &text, &text_len);
    if (status >= 0) return status;
    status = CLI_OK;
    if (o.dash && text) return free(text), cli_usage_error("check", "give TEXT or '-', not both");
    if (o.messages && (text || o.dash))
        return free(text), cli_usage_error("check", "--messages reads its own input: give no TEXT or '-' with it");
    if (o.all_turns && text) return free(text), cli_usage_error("check", "--all-turns is for conversations, not TEXT");
    if (!text && !o.dash && !o.messages) {
        if (isatty(STDIN_FILENO)) return cli_usage_error("check", "nothing to check: give TEXT, or '-' and lines on standard input");
        o.dash = true;
    }
    wd_guard_params gp = wd_guard_params_default();
    gp.n_threads = (int)o.threads;
    gp.guard_format = o.guard_format;
    gp.explain_verdict = o.explain;
    gp.explain_max_tokens = (int)o.explain_max;
    wd_guard *g = NULL;
    if (o.policy && o.model) return free(text), cli_usage_error("check", "--policy and --model exclude each other");
    wd_status st = o.model    ? wd_guard_load_model(o.model, &gp, &g)
                   : o.policy ? wd_guard_load(o.policy, &gp, &g)
                              : wd_guard_load_default(&gp, &g);
    if (st != WD_OK) {
        free(text);
        return cli_fail(st, o.model ? o.model : o.policy ? "policy" : "built-in policy");
    }
    if (o.messages) {
        wd_check_params cp = wd_check_params_default();
        cp.role = o.role ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
        cp.redact = o.redact;
        status = run_messages_file(g, &o, &cp);
    } else if (o.dash) {
        status = run_lines(g, &o);
    } else {
        wd_check_params cp = wd_check_params_default();
        cp.role = o.role ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
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
