/*
 * tools/warden/cli_flags.c - the table-driven flag parser and help printer
 * (cli_flags.h).
 */
#include "cli_flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The row named a (or NULL), and in *field where its value goes. */
static const cli_flag *find(const cli_spec *s, const char *a, void **field) {
    for (int t = 0; t < 3; t++)
        for (size_t k = 0; k < s->tables[t].n_rows; k++) {
            const cli_flag *r = &s->tables[t].rows[k];
            if (r->kind == CLI_KIND_TEXT) continue;
            if (!strcmp(a, r->name) || (r->short_name && a[0] == '-' && a[1] == r->short_name && !a[2])) {
                *field = (char *)s->tables[t].base + r->off;
                return r;
            }
        }
    return NULL;
}

/* Prints the bad-value message of row r for value v; returns false. */
static bool bad_value(const cli_spec *s, const cli_flag *r, const char *v) {
    if (r->bad) cli_usage_error(s->cmd, r->bad, v);
    else if (r->kind == CLI_KIND_DOUBLE)
        cli_usage_error(s->cmd, "%s: expected a number in %c%g, %g], got '%s'", r->name, r->open_lo ? '(' : '[',
                        r->lo, r->hi, v);
    else if (r->kind == CLI_KIND_U64) cli_usage_error(s->cmd, "%s: expected an integer, got '%s'", r->name, v);
    else cli_usage_error(s->cmd, "%s: expected one of its values, got '%s'", r->name, v);
    return false;
}

/* Stores value v of row r in field (of the table's base); false after
 * printing a usage error. */
static bool store(const cli_spec *s, const cli_flag *r, void *field, void *base, const char *v) {
    char *end;
    switch (r->kind) {
    case CLI_KIND_TEXT:
    case CLI_KIND_BOOL: return true;
    case CLI_KIND_STRING: *(const char **)field = v; return true;
    case CLI_KIND_INT:
        if (r->bad) {
            errno = 0;
            long x = strtol(v, &end, 10);
            if (!*v || *end || errno || x < (long)r->lo || x > (long)r->hi) return bad_value(s, r, v);
            *(long *)field = x;
            return true;
        }
        return cli_parse_int(s->cmd, r->name, v, (long)r->lo, (long)r->hi, (long *)field);
    case CLI_KIND_DOUBLE: {
        double x = strtod(v, &end);
        if (!r->lenient && (!*v || *end || !(r->open_lo ? x > r->lo : x >= r->lo) || !(x <= r->hi)))
            return bad_value(s, r, v);
        *(double *)field = x;
        return true;
    }
    case CLI_KIND_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (!r->lenient && (!*v || *end)) return bad_value(s, r, v);
        *(unsigned long long *)field = x;
        return true;
    }
    case CLI_KIND_ENUM:
        for (int k = 0; r->choices[k]; k++)
            if (!strcmp(v, r->choices[k])) {
                *(int *)field = k;
                return true;
            }
        return bad_value(s, r, v);
    case CLI_KIND_LIST: {
        size_t *count = (size_t *)((char *)base + r->count_off);
        if (*count >= r->cap) {
            cli_usage_error(s->cmd, "at most %zu %s strings", r->cap, r->name);
            return false;
        }
        ((const char **)field)[(*count)++] = v;
        return true;
    }
    case CLI_KIND_CALL: return r->fn(r, field, v, s->cmd);
    }
    return false;
}

/* The table base of row r (for LIST counts). */
static void *base_of(const cli_spec *s, const cli_flag *r) {
    for (int t = 0; t < 3; t++)
        if (r >= s->tables[t].rows && r < s->tables[t].rows + s->tables[t].n_rows) return s->tables[t].base;
    return NULL;
}

int cli_flags_parse(const cli_spec *s, int argc, char **argv, const char **pos, int *n_pos) {
    const char *unknown = s->unknown ? s->unknown : "unknown option '%s'";
    const char *missing = s->missing ? s->missing : "%s needs a value";
    const char *extra = s->extra ? s->extra : "unexpected argument '%s'";
    bool rest = false;
    if (n_pos) *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        void *field = NULL;
        if (!rest && !s->all_flags && !strcmp(a, "--")) {
            rest = true;
            continue;
        }
        const cli_flag *r = !rest && !strcmp(a, "-") ? find(s, a, &field) : NULL;
        if (r) { /* a row named "-" takes the lone dash */
            *(bool *)field = true;
            continue;
        }
        if (!s->all_flags && (rest || a[0] != '-' || !a[1])) {
            if (s->max_pos >= 0 && (!n_pos || *n_pos >= s->max_pos)) return cli_usage_error(s->cmd, extra, a);
            pos[(*n_pos)++] = a;
            continue;
        }
        if (!(r = find(s, a, &field)))
            return cli_usage_error(s->cmd, s->unknown_last_missing && i + 1 >= argc ? missing : unknown, a);
        if (r->kind == CLI_KIND_BOOL) {
            *(bool *)field = true;
            continue;
        }
        if (i + 1 >= argc) {
            if (r->needs) return cli_usage_error(s->cmd, "%s needs %s", a, r->needs);
            return cli_usage_error(s->cmd, missing, a);
        }
        if (!store(s, r, field, base_of(s, r), argv[++i])) return CLI_USAGE;
    }
    return -1;
}

/* Prints one row of table t. */
static void help_row(const cli_flag *r, const cli_table *t, int col, FILE *f) {
    if (r->kind == CLI_KIND_TEXT && !r->label) {
        fputs(r->help, f);
        return;
    }
    char shown[1024];
    const char *h = r->help;
    if (r->show) { /* the help is a format of the field's value */
        const void *field = (const char *)t->base + r->off;
        if (r->kind == CLI_KIND_INT) snprintf(shown, sizeof shown, r->help, *(const long *)field);
        else if (r->kind == CLI_KIND_DOUBLE) snprintf(shown, sizeof shown, r->help, *(const double *)field);
        else snprintf(shown, sizeof shown, r->help, *(const char *const *)field);
        h = shown;
    }
    int w;
    if (r->label) w = fprintf(f, "  %s", r->label);
    else if (r->arg) w = fprintf(f, "  %s %s", r->name, r->arg);
    else w = fprintf(f, "  %s", r->name);
    if (*h == '\n') { /* the text starts under the label */
        fprintf(f, "\n%*s", col, "");
        h++;
    } else {
        fprintf(f, "%*s", w < col ? col - w : 2, "");
    }
    for (const char *c = h; *c; c++) {
        fputc(*c, f);
        if (*c == '\n' && c[1]) fprintf(f, "%*s", col, "");
    }
    if (!*h || h[strlen(h) - 1] != '\n') fputc('\n', f);
}

void cli_flags_help(const cli_spec *s, FILE *f) {
    int col = s->col ? s->col : 24;
    for (int t = 0; t < 3; t++)
        for (size_t k = 0; k < s->tables[t].n_rows; k++)
            if (s->tables[t].rows[k].help) help_row(&s->tables[t].rows[k], &s->tables[t], col, f);
}
