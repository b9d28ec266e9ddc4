/*
 * tools/warden/cmd_explain.c - `warden explain`: which words (or tokens) of
 * a text made the guard score it as it did: Shapley attributions of the
 * guard's score, or of one category's, to each unit (warden/explain.h).
 *
 *   warden explain [TEXT... | -] [--policy FILE | --model DIR]
 *                  [--method auto|exact|kernel|partition|ig] [--units words|tokens]
 *                  [--category C] [--mask TEXT] [--nsamples N] [--seed S]
 *                  [--role input|output] [--json] [--html FILE]
 *
 * Masking: a policy guard (rule and linear scanners) sees masked units
 * deleted; a model guard (--model) sees them replaced by its tokenizer's
 * unknown token ("_" when it has none); --mask overrides both ('' deletes).
 *
 * Exit status: 0 explained, 2 usage, 3 error.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_flags.h"
#include "warden/explain.h"

typedef struct opts {
    const char *policy, *model, *category, *mask, *html;
    int         method, units, role, target, baseline;
    bool        json, dash;
    long        nsamples, threads, steps;
    unsigned long long seed;
} opts;

#define O(f) offsetof(opts, f)

/* The --method names, in wd_explain_method order. */
static const char *const METHODS[] = {"auto", "exact", "kernel", "partition", "ig", NULL};
static const char *const UNITS[] = {"words", "tokens", NULL};
static const char *const ROLES[] = {"input", "output", NULL};
/* --target and --baseline, in wd_explain_ig_target / _baseline order. */
static const char *const TARGETS[] = {"logodds", "logp", "prob", NULL};
static const char *const BASELINES[] = {"auto", "pad", "zero", NULL};

int cli_explain_setup(const char *model, const char *mask, int units, struct wd_explain_params *p,
                      wd_tokenizer **tok) {
    *tok = NULL;
    if (model) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tokenizer.json", model);
        wd_status st = wd_tokenizer_load(path, tok);
        if (st != WD_OK) return cli_fail(st, NULL);
    } else if (units == (int)WD_EXPLAIN_UNITS_TOKENS) {
        return cli_usage_error("explain", "--units tokens needs --model DIR (its tokenizer)");
    }
    p->units = (wd_explain_units)units;
    p->tokenizer = *tok;
    if (mask) p->mask = mask[0] ? mask : NULL;
    else if (model) {
        const char *unk = wd_tokenizer_special_str(*tok, WD_SPECIAL_TOKEN_UNK);
        p->mask = unk && unk[0] ? unk : "_";
    }
    return -1;
}

/* ==== terminal output ===================================================== */

static void put_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\t' || c >= 0x20) putchar(c);
        else printf("\\x%02x", c);
    }
}

static void print_human(const wd_explanation *ex, bool color) {
    double amax = 0.0, sum = 0.0;
    for (size_t i = 0; i < ex->n_units; i++) {
        amax = fmax(amax, fabs(ex->attr[i]));
        sum += ex->attr[i];
    }
    bool ig = ex->method == WD_EXPLAIN_METHOD_IG;
    printf("%s %.4f (%s: %.4f, sum of attributions %+.4f)  %s, %zu %s, %zu %s\n",
           ex->label ? ex->label : "score", ex->value, ig ? "baseline" : "all masked", ex->base_value, sum,
           wd_explain_method_str(ex->method), ex->n_units,
           ex->unit_kind == WD_EXPLAIN_UNITS_TOKENS ? "tokens" : "words", ex->n_evals,
           ig ? "decoder rows" : "evaluations");
    if (ig && fabs(sum - (ex->value - ex->base_value)) > 0.05 * fmax(fabs(ex->value - ex->base_value), 1e-3))
        printf("  (completeness gap %+.4f: raise --steps)\n", sum - (ex->value - ex->base_value));
    if (color) { /* red pushes towards unsafe, blue away; bold and a background when strong */
        size_t at = 0;
        for (size_t i = 0; i < ex->n_units; i++) {
            put_escaped(ex->text + at, ex->units[i].start - at);
            double a = ex->attr[i], r = amax > 0 ? fabs(a) / amax : 0;
            const char *on = r >= 0.5 ? (a > 0 ? "\033[1;97;41m" : "\033[1;97;44m")
                             : r >= 0.1 ? (a > 0 ? "\033[31m" : "\033[34m")
                                        : "";
            fputs(on, stdout);
            put_escaped(ex->text + ex->units[i].start, ex->units[i].end - ex->units[i].start);
            if (on[0]) fputs("\033[0m", stdout);
            at = ex->units[i].end;
        }
        put_escaped(ex->text + at, ex->len - at);
        putchar('\n');
    }
    /* the units by |attribution|, at most 15 */
    size_t n = ex->n_units, top = n < 15 ? n : 15;
    size_t *ord = malloc((n ? n : 1) * sizeof *ord);
    if (!ord) return;
    for (size_t i = 0; i < n; i++) ord[i] = i;
    for (size_t r = 0; r < top; r++)
        for (size_t i = r + 1; i < n; i++)
            if (fabs(ex->attr[ord[i]]) > fabs(ex->attr[ord[r]])) {
                size_t t = ord[r];
                ord[r] = ord[i];
                ord[i] = t;
            }
    for (size_t r = 0; r < top; r++) {
        const wd_explain_span *u = &ex->units[ord[r]];
        double a = ex->attr[ord[r]];
        printf("  %s%+.4f%s  [%zu,%zu) \"", color ? (a > 0 ? "\033[31m" : "\033[34m") : "", a, color ? "\033[0m" : "",
               u->start, u->end);
        put_escaped(ex->text + u->start, u->end - u->start);
        puts("\"");
    }
    free(ord);
}

/* ==== command ============================================================== */

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden explain [TEXT... | -] [--policy FILE | --model DIR] [--method M]\n"
             "                      [--units words|tokens] [--category C] [--json] [--html FILE]\n\n"
             "Explains the guard's score of TEXT: how much each word (or token) pushed it\n"
             "towards unsafe (Shapley values: they sum to the score of the text minus the\n"
             "score with every unit masked). With '-' (or no TEXT and standard input not a\n"
             "terminal) the text is all of standard input. See docs/explain.md.\n\n"
             "options:\n"),
    CLI_STR("--policy", O(policy), "FILE", "policy file (default: the built-in)", .needs = "a FILE"),
    CLI_STR("--model", O(model), "DIR", "a model folder as the guard (LLM judge or BERT classifier)",
            .needs = "a DIR"),
    CLI_ENUM("--method", O(method), "M", METHODS,
             "exact (all 2^m coalitions), kernel (KernelSHAP), partition\n"
             "(Owen values over spans, ~4m scores), ig (integrated gradients);\n"
             "default auto: exact up to 10 units, kernel up to 64, partition",
             .bad = "--method: expected auto, exact, kernel, partition or ig, got '%s'"),
    CLI_ENUM("--units", O(units), "U", UNITS, "words (default) or tokens (of --model's tokenizer)",
             .bad = "--units: expected words or tokens, got '%s'"),
    CLI_STR("--category", O(category), "C", "explain this category's score (S9, pii, ...) instead of\n"
                                            "the overall score (the largest category score)"),
    CLI_STR("--mask", O(mask), "TEXT", "what replaces a masked unit ('' deletes); default: deletion\n"
                                       "for a policy, the unknown token for --model"),
    CLI_INT("--nsamples", O(nsamples), "N", 0, 1000000, "KernelSHAP coalitions (default 2m + 2048; all of\n"
                                                       "them up to 12 units)"),
    CLI_U64("--seed", O(seed), "S", "KernelSHAP sampling seed (default 0)", .bad = "--seed: expected an integer"),
    CLI_INT("--steps", O(steps), "N", 1, 65536, "ig: quadrature nodes on the path (default 32)"),
    CLI_ENUM("--target", O(target), "T", TARGETS, "ig: what is attributed: logodds of p(unsafe) (default),\n"
                                                  "logp, or prob",
             .bad = "--target: expected logodds, logp or prob, got '%s'"),
    CLI_ENUM("--baseline", O(baseline), "B", BASELINES, "ig: the path's start: pad token embeddings (auto: when\n"
                                                        "the model names one, else zeros), pad, zero",
             .bad = "--baseline: expected auto, pad or zero, got '%s'"),
    CLI_ENUM("--role", O(role), "ROLE", ROLES, "input (default) or output", .bad = "--role: expected input or output, got '%s'"),
    CLI_BOOL("--json", O(json), "print the explanation as one JSON object"),
    CLI_STR("--html", O(html), "FILE", "also write a self-contained HTML page", .needs = "a FILE"),
    CLI_INT("--threads", O(threads), "N", 1, 256, "guard threads (default 1; ig: every CPU)", .needs = "N"),
    CLI_BOOL("-", O(dash), NULL),
    CLI_TEXT("\nexit status: 0 explained, 2 usage error, 3 error\n"),
};

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0, k;
    char *b = malloc(cap);
    while (b && (k = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n - 1 == 0) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    if (b && ferror(f)) free(b), b = NULL;
    if (!b) return NULL;
    while (n && (b[n - 1] == '\n' || b[n - 1] == '\r')) n--;
    b[n] = '\0';
    *len = n;
    return b;
}

/* Prints ex as --json or in colour, and writes --html; -1 or an exit code. */
static int emit(const opts *o, const wd_explanation *ex, const char *subject) {
    int status = -1;
    if (o->json) {
        char *j = NULL;
        if (wd_explanation_to_json(ex, &j) != WD_OK) status = cli_fail(WD_ERR_NOMEM, "json");
        else puts(j);
        free(j);
    } else {
        const char *nc = getenv("NO_COLOR");
        print_human(ex, isatty(STDOUT_FILENO) && !(nc && nc[0]));
    }
    if (status < 0 && o->html) {
        char title[256];
        snprintf(title, sizeof title, "warden explain: %s of %s", ex->label ? ex->label : "score", subject);
        wd_status st = wd_explanation_write_html(&ex, 1, title, o->html);
        if (st != WD_OK) status = cli_fail(st, o->html);
    }
    return status;
}

/* --method ig: integrated gradients of the --model judge. Frees text and tok. */
static int explain_ig(const opts *o, char *text, size_t len, const wd_explain_params *ep, wd_tokenizer *tok) {
    wd_explain_ig_params q = wd_explain_ig_params_default();
    if (o->steps) q.steps = (int)o->steps;
    q.target = (wd_explain_ig_target)o->target;
    q.baseline = (wd_explain_ig_baseline)o->baseline;
    q.output = o->role != 0;
    q.n_threads = (int)o->threads;
    wd_explanation *ex = NULL;
    wd_status st = wd_explain_ig(o->model, text, len, ep, &q, &ex);
    int status = st != WD_OK ? cli_fail(st, o->model) : emit(o, ex, o->model);
    wd_explanation_free(ex);
    wd_tokenizer_free(tok);
    free(text);
    return status < 0 ? CLI_OK : status;
}

int cmd_explain(int argc, char **argv) {
    opts o = {0};
    cli_spec spec = {"explain", {{ROWS, CLI_N(ROWS), &o}}, .col = 18, .max_pos = -1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    char *text = NULL;
    size_t len = 0;
    int status = cli_flags_parse_text(&spec, argc, argv, &text, &len);
    if (status >= 0) return status;
    if (o.dash && text) return free(text), cli_usage_error("explain", "give TEXT or '-', not both");
    if (o.policy && o.model) return free(text), cli_usage_error("explain", "--policy and --model exclude each other");
    wd_category cat = (wd_category)0;
    if (o.category && wd_category_parse(o.category, &cat) != WD_OK)
        return free(text), cli_usage_error("explain", "--category: unknown category '%s'", o.category);
    if (o.nsamples && o.method != WD_EXPLAIN_METHOD_AUTO && o.method != WD_EXPLAIN_METHOD_KERNEL)
        return free(text), cli_usage_error("explain", "--nsamples is for --method kernel (or auto)");
    if (o.steps && o.method != WD_EXPLAIN_METHOD_IG)
        return free(text), cli_usage_error("explain", "--steps is for --method ig");
    if (o.method == WD_EXPLAIN_METHOD_IG && !o.model)
        return free(text), cli_usage_error("explain", "--method ig needs --model DIR (a decoder judge)");
    if (o.method == WD_EXPLAIN_METHOD_IG && o.category)
        return free(text), cli_usage_error("explain", "--method ig explains p(unsafe); --category is for the "
                                                      "Shapley methods");
    if (!text) {
        if (!o.dash && isatty(STDIN_FILENO))
            return cli_usage_error("explain", "nothing to explain: give TEXT, or '-' and the text on standard input");
        if (!(text = read_all(stdin, &len))) return cli_error("reading standard input failed");
    }
    wd_explain_params ep = wd_explain_params_default();
    ep.method = (wd_explain_method)o.method;
    ep.nsamples = (size_t)o.nsamples;
    ep.seed = o.seed;
    wd_tokenizer *tok = NULL;
    status = cli_explain_setup(o.model, o.mask, o.units, &ep, &tok);
    if (status >= 0) return free(text), status;
    if (o.method == WD_EXPLAIN_METHOD_IG) return explain_ig(&o, text, len, &ep, tok);
    wd_guard_params gp = wd_guard_params_default();
    gp.n_threads = o.threads ? (int)o.threads : 1;
    wd_guard *g = NULL;
    wd_status st = o.model    ? wd_guard_load_model(o.model, &gp, &g)
                   : o.policy ? wd_guard_load(o.policy, &gp, &g)
                              : wd_guard_load_default(&gp, &g);
    if (st != WD_OK) {
        free(text);
        wd_tokenizer_free(tok);
        return cli_fail(st, o.model ? o.model : o.policy ? o.policy : "built-in policy");
    }
    wd_explain_guard eg = {.guard = g, .check = wd_check_params_default(), .category = o.category ? (int)cat : -1};
    eg.check.role = o.role ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    wd_explanation *ex = NULL;
    st = wd_explain_text(text, len, wd_explain_guard_scorer, &eg, &ep, &ex);
    if (st != WD_OK) status = cli_fail(st, NULL);
    else if (!(ex->label = strdup(o.category ? wd_category_id(cat) : "score"))) status = cli_error("out of memory");
    if (status < 0) status = emit(&o, ex, wd_guard_name(g));
    wd_explanation_free(ex);
    wd_guard_free(g);
    wd_tokenizer_free(tok);
    free(text);
    return status < 0 ? CLI_OK : status;
}
