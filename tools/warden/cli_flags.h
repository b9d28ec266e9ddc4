/*
 * tools/warden/cli_flags.h - one flag parser for every command, driven by
 * a table. A command lists its flags once, each with where its value goes
 * and its help text; the same table parses argv and prints --help (and
 * through it the man page, scripts/gen-man.sh).
 *
 *   long opts; char *policy = NULL; bool json = false;
 *   cli_flag rows[] = {
 *       CLI_TEXT("usage: warden x [--policy FILE] [--json] [--threads N]\n\noptions:\n"),
 *       CLI_STR("--policy", &policy, "FILE", "the policy file"),
 *       CLI_BOOL("--json", &json, "print JSON"),
 *       CLI_INT("--threads", &opts, "N", 1, 256, "threads (default 1)"),
 *   };
 *   cli_spec spec = {"x", rows, CLI_N(rows), .col = 18};
 *
 * Help rows: "  " + label (the flag's name and arg, or .label), padded to
 * column .col (two spaces when the label reaches it), then the help text;
 * each '\n' in it starts a new line at the column; a help text that starts
 * with '\n' starts under the label. A flag whose help is NULL is parsed
 * but not listed (another row documents it); a CLI_TEXT row is printed as
 * it is (or, with a label, as a flag row that parses nothing).
 *
 * Parsing: "--" makes the rest positional, "-" is positional (unless a
 * CLI_BOOL row is named "-"); a flag's value is the next argument. Every usage error is printed ("warden: MSG"
 * and "Try 'warden CMD --help'.") and makes cli_flags_parse return
 * CLI_USAGE.
 */
#ifndef WD_CLI_FLAGS_H
#define WD_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum cli_kind {
    CLI_KIND_TEXT,   /* help text only                                             */
    CLI_KIND_BOOL,   /* no value: *(bool *)dest = true                             */
    CLI_KIND_INT,    /* an integer in [lo, hi]: *(long *)dest                      */
    CLI_KIND_DOUBLE, /* a number in [lo, hi] ((lo, hi] with open_lo): *(double *)dest */
    CLI_KIND_U64,    /* a decimal integer: *(unsigned long long *)dest             */
    CLI_KIND_STRING, /* *(const char **)dest = the value                           */
    CLI_KIND_ENUM,   /* one of choices[]: *(int *)dest = its index                 */
    CLI_KIND_LIST,   /* repeatable: ((const char **)dest)[(*count)++] = the value  */
    CLI_KIND_CALL,   /* fn(row, value, cmd) parses the value                       */
} cli_kind;

typedef struct cli_flag cli_flag;
struct cli_flag {
    cli_kind    kind;
    const char *name;       /* "--policy"; NULL for text                               */
    char        short_name; /* 'p' accepts -p too; 0 for none                          */
    void       *dest;
    const char *arg;        /* the value's name in help ("FILE")                       */
    const char *help;       /* see the top of this file; NULL: not listed              */
    const char *label;      /* the help row's label instead of "name arg"              */
    const char *needs;      /* a missing value: "NAME needs <needs>"; NULL: the spec's  */
    double      lo, hi;     /* INT, DOUBLE: the range                                  */
    bool        open_lo;    /* DOUBLE: lo itself is out                                */
    bool        lenient;    /* DOUBLE, U64: take what strtod/strtoull read, unchecked   */
    const char *bad;        /* a bad value's message (one %s: the value); NULL: the
                               default ("NAME: expected an integer in [lo, hi], got 'V'") */
    const char *const *choices; /* ENUM: NULL-terminated names                         */
    size_t     *count;      /* LIST: how many are in dest                              */
    size_t      cap;        /* LIST: room in dest                                      */
    /* CALL: parses value into row->dest; false after printing a usage error. */
    bool (*fn)(const cli_flag *row, const char *value, const char *cmd);
};

#define CLI_N(rows) (sizeof(rows) / sizeof((rows)[0]))
/* The rows, with optional designated fields after the help text
 * (CLI_STR("--x", &x, "F", "help", .needs = "a FILE")). */
#define CLI_TEXT(text, ...) {.kind = CLI_KIND_TEXT, .help = (text), __VA_ARGS__}
#define CLI_BOOL(nm, d, h, ...) {.kind = CLI_KIND_BOOL, .name = (nm), .dest = (d), .help = (h), __VA_ARGS__}
#define CLI_STR(nm, d, a, h, ...) \
    {.kind = CLI_KIND_STRING, .name = (nm), .dest = (d), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_INT(nm, d, a, l, u, h, ...) \
    {.kind = CLI_KIND_INT, .name = (nm), .dest = (d), .arg = (a), .lo = (l), .hi = (u), .help = (h), __VA_ARGS__}
#define CLI_DOUBLE(nm, d, a, l, u, h, ...) \
    {.kind = CLI_KIND_DOUBLE, .name = (nm), .dest = (d), .arg = (a), .lo = (l), .hi = (u), .help = (h), __VA_ARGS__}
#define CLI_U64(nm, d, a, h, ...) \
    {.kind = CLI_KIND_U64, .name = (nm), .dest = (d), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_ENUM(nm, d, a, ch, h, ...) \
    {.kind = CLI_KIND_ENUM, .name = (nm), .dest = (d), .arg = (a), .choices = (ch), .help = (h), __VA_ARGS__}
#define CLI_LIST(nm, d, n, c, a, h, ...) \
    {.kind = CLI_KIND_LIST, .name = (nm), .dest = (d), .count = (n), .cap = (c), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_CALL(nm, d, f, a, h, ...) \
    {.kind = CLI_KIND_CALL, .name = (nm), .dest = (d), .fn = (f), .arg = (a), .help = (h), __VA_ARGS__}

typedef struct cli_spec {
    const char     *cmd;      /* "check": for messages                                 */
    const cli_flag *rows;
    size_t          n_rows;
    int             col;      /* the help text's column (default 24)                  */
    /* Messages (one %s: the argument); NULL: the defaults in brackets. */
    const char *unknown;      /* an unknown flag            ["unknown option '%s'"]      */
    const char *missing;      /* a flag without its value   ["%s needs a value"]         */
    const char *extra;        /* a positional past max_pos  ["unexpected argument '%s'"] */
    bool  unknown_last_missing; /* an unknown flag as the last argument: `missing` says it */
    int   max_pos;            /* most positionals; < 0: any                          */
} cli_spec;

/* Parses argv[1..argc) (argv[0] is the command) by spec: flags into their
 * destinations, positionals (in order) into pos[0..*n_pos) (pos has room
 * for argc; may be NULL when max_pos is 0). Returns -1 to go on, or
 * CLI_USAGE after printing the error. */
int cli_flags_parse(const cli_spec *spec, int argc, char **argv, const char **pos, int *n_pos);

/* Prints the help screen of spec's rows to f. */
void cli_flags_help(const cli_spec *spec, FILE *f);

#endif
