/*
 * tools/warden/cli_flags.c - the table-driven flag parser and help printer
 * (cli_flags.h).
 */
#include "cli_flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_flag *find(const cli_spec *s, const char *a) {
    for (size_t k = 0; k < s->n_rows; k++) {
        const cli_flag *r = &s->rows[k];
        if (r->kind == CLI_KIND_TEXT) continue;
        if (!strcmp(a, r->name)) return r;
        if (r->short_name && a[0] == '-' && a[1] == r->short_name && !a[2]) return r;
    }
    return NULL;
}

/* Prints the bad-value message of row r for value v; returns false. */
static bool bad_value(const cli_spec *s, const cli_flag *r, const char *v) {
    if (r->bad) cli_usage_error(s->cmd, r->bad, v);
    else if (r->kind == CLI_KIND_DOUBLE)
        cli_usage_error(s->cmd, "%s: expected a number in [%g, %g], got '%s'", r->name, r->lo, r->hi, v);
    else if (r->kind == CLI_KIND_U64) cli_usage_error(s->cmd, "%s: expected an integer, got '%s'", r->name, v);
    else cli_usage_error(s->cmd, "%s: expected one of its values, got '%s'", r->name, v);
    return false;
}

/* Stores value v of row r; false after printing a usage error. */
static bool store(const cli_spec *s, const cli_flag *r, const char *v) {
    char *end;
    switch (r->kind) {
    case CLI_KIND_TEXT:
    case CLI_KIND_BOOL: return true;
    case CLI_KIND_STRING: *(const char **)r->dest = v; return true;
    case CLI_KIND_INT:
        if (r->bad) {
            errno = 0;
            long x = strtol(v, &end, 10);
            if (!*v || *end || errno || x < (long)r->lo || x > (long)r->hi) return bad_value(s, r, v);
            *(long *)r->dest = x;
            return true;
        }
        return cli_parse_int(s->cmd, r->name, v, (long)r->lo, (long)r->hi, (long *)r->dest);
    case CLI_KIND_DOUBLE: {
        double x = strtod(v, &end);
        if (!r->lenient && (!*v || *end || !(r->open_lo ? x > r->lo : x >= r->lo) || !(x <= r->hi)))
            return bad_value(s, r, v);
        *(double *)r->dest = x;
        return true;
    }
    case CLI_KIND_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (!r->lenient && (!*v || *end)) return bad_value(s, r, v);
        *(unsigned long long *)r->dest = x;
        return true;
    }
    case CLI_KIND_ENUM:
        for (int k = 0; r->choices[k]; k++)
            if (!strcmp(v, r->choices[k])) {
                *(int *)r->dest = k;
                return true;
            }
        return bad_value(s, r, v);
    case CLI_KIND_LIST:
        if (*r->count >= r->cap) {
            cli_usage_error(s->cmd, "at most %zu %s strings", r->cap, r->name);
            return false;
        }
        ((const char **)r->dest)[(*r->count)++] = v;
        return true;
    case CLI_KIND_CALL: return r->fn(r, v, s->cmd);
    }
    return false;
}

int cli_flags_parse(const cli_spec *s, int argc, char **argv, const char **pos, int *n_pos) {
    const char *unknown = s->unknown ? s->unknown : "unknown option '%s'";
    const char *missing = s->missing ? s->missing : "%s needs a value";
    const char *extra = s->extra ? s->extra : "unexpected argument '%s'";
    bool rest = false;
    if (n_pos) *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!rest && !strcmp(a, "--")) {
            rest = true;
            continue;
        }
        const cli_flag *r = !rest && !strcmp(a, "-") ? find(s, a) : NULL;
        if (r) { /* a row named "-" takes the lone dash */
            *(bool *)r->dest = true;
            continue;
        }
        if (rest || a[0] != '-' || !a[1]) {
            if (s->max_pos >= 0 && (!n_pos || *n_pos >= s->max_pos)) return cli_usage_error(s->cmd, extra, a);
            pos[(*n_pos)++] = a;
            continue;
        }
        r = find(s, a);
        if (!r) return cli_usage_error(s->cmd, s->unknown_last_missing && i + 1 >= argc ? missing : unknown, a);
        if (r->kind == CLI_KIND_BOOL) {
            *(bool *)r->dest = true;
            continue;
        }
        if (i + 1 >= argc) {
            if (r->needs) return cli_usage_error(s->cmd, "%s needs %s", a, r->needs);
            return cli_usage_error(s->cmd, missing, a);
        }
        if (!store(s, r, argv[++i])) return CLI_USAGE;
    }
    return -1;
}

void cli_flags_help(const cli_spec *s, FILE *f) {
    int col = s->col ? s->col : 24;
    for (size_t k = 0; k < s->n_rows; k++) {
        const cli_flag *r = &s->rows[k];
        if (!r->help) continue;
        if (r->kind == CLI_KIND_TEXT && !r->label) {
            fputs(r->help, f);
            continue;
        }
        int w;
        if (r->label) w = fprintf(f, "  %s", r->label);
        else if (r->arg) w = fprintf(f, "  %s %s", r->name, r->arg);
        else w = fprintf(f, "  %s", r->name);
        const char *h = r->help;
        if (*h == '\n') {
            w = col; /* the text starts under the label */
            fputc('\n', f);
            fprintf(f, "%*s", col, "");
            h++;
        } else {
            fprintf(f, "%*s", w < col ? col - w : 2, "");
        }
        for (; *h; h++) {
            fputc(*h, f);
            if (*h == '\n' && h[1]) fprintf(f, "%*s", col, "");
        }
        if (h == r->help || h[-1] != '\n') fputc('\n', f);
    }
}
