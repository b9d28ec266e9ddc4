/*
 * tools/warden/cli_flags.h - one flag parser for every command, driven by
 * tables. A command lists its flags once, in a static table, each with the
 * field of the command's options struct its value goes to and its help
 * text; the same table parses argv and prints --help (and through it the
 * man page, scripts/gen-man.sh).
 *
 *   typedef struct opts { const char *policy; bool json; long threads; } opts;
 *   #define O(f) offsetof(opts, f)
 *   static const cli_flag ROWS[] = {
 *       CLI_TEXT("usage: warden x [--policy FILE] [--json] [--threads N]\n\noptions:\n"),
 *       CLI_STR("--policy", O(policy), "FILE", "the policy file"),
 *       CLI_BOOL("--json", O(json), "print JSON"),
 *       CLI_INT("--threads", O(threads), "N", 1, 256, "threads (default %ld)", .show = true),
 *   };
 *   opts o = {.threads = 1};
 *   cli_spec spec = {"x", {{ROWS, CLI_N(ROWS), &o}}, .col = 18};
 *
 * Help rows: "  " + label (the flag's name and arg, or .label), padded to
 * column .col (two spaces when the label reaches it), then the help text;
 * each '\n' in it starts a new line at the column; a help text that starts
 * with '\n' starts under the label. With .show, the help is a printf
 * format of the field's value (%ld for an INT, %g for a DOUBLE, %s for a STRING), so --help
 * shows the defaults the options start with. A flag whose help is NULL is
 * parsed but not listed (another row documents it); a CLI_TEXT row is
 * printed as it is (or, with a label, as a flag row that parses nothing).
 *
 * Parsing: "--" makes the rest positional, "-" is positional (unless a
 * CLI_BOOL row is named "-"); with .all_flags neither is special and every
 * argument must be a flag. A flag's value is the next argument. Every
 * usage error is printed ("warden: MSG" and "Try 'warden CMD --help'.")
 * and makes cli_flags_parse return CLI_USAGE.
 */
#ifndef WD_CLI_FLAGS_H
#define WD_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum cli_kind {
    CLI_KIND_TEXT,   /* help text only                                                */
    CLI_KIND_BOOL,   /* no value: the bool field = true                               */
    CLI_KIND_INT,    /* an integer in [lo, hi]: a long field                           */
    CLI_KIND_DOUBLE, /* a number in [lo, hi] ((lo, hi] with open_lo): a double field   */
    CLI_KIND_U64,    /* a decimal integer: an unsigned long long field                */
    CLI_KIND_STRING, /* a const char * field = the value                              */
    CLI_KIND_ENUM,   /* one of choices[]: an int field = its index                    */
    CLI_KIND_LIST,   /* repeatable: a const char *[cap] field, its count at count_off  */
    CLI_KIND_CALL,   /* fn(row, field, value, cmd) parses the value                   */
} cli_kind;

typedef struct cli_flag cli_flag;
struct cli_flag {
    cli_kind    kind;
    const char *name;       /* "--policy"; NULL for text                                */
    char        short_name; /* 'p' accepts -p too; 0 for none                           */
    size_t      off;        /* the field: its offset in the table's options struct      */
    const char *arg;        /* the value's name in help ("FILE")                        */
    const char *help;       /* see the top of this file; NULL: not listed               */
    bool        show;       /* help is a format of the field's value (the default)      */
    const char *label;      /* the help row's label instead of "name arg"               */
    const char *needs;      /* a missing value: "NAME needs <needs>"; NULL: the spec's   */
    double      lo, hi;     /* INT, DOUBLE: the range                                   */
    bool        open_lo;    /* DOUBLE: lo itself is out                                 */
    bool        lenient;    /* DOUBLE, U64: take what strtod/strtoull read, unchecked    */
    const char *bad;        /* a bad value's message (one %s: the value); NULL: the
                               default ("NAME: expected an integer in [lo, hi], got 'V'")  */
    const char *const *choices; /* ENUM: NULL-terminated names                          */
    size_t      count_off;  /* LIST: the size_t count's offset                          */
    size_t      cap;        /* LIST: room in the field                                  */
    /* CALL: parses value into the field; false after printing a usage error. */
    bool (*fn)(const cli_flag *row, void *field, const char *value, const char *cmd);
};

#define CLI_N(rows) (sizeof(rows) / sizeof((rows)[0]))
/* The rows, with optional designated fields after the help text
 * (CLI_STR("--x", O(x), "F", "help", .needs = "a FILE")). */
#define CLI_TEXT(text, ...) {.kind = CLI_KIND_TEXT, .help = (text), __VA_ARGS__}
#define CLI_BOOL(nm, o, h, ...) {.kind = CLI_KIND_BOOL, .name = (nm), .off = (o), .help = (h), __VA_ARGS__}
#define CLI_STR(nm, o, a, h, ...) \
    {.kind = CLI_KIND_STRING, .name = (nm), .off = (o), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_INT(nm, o, a, l, u, h, ...) \
    {.kind = CLI_KIND_INT, .name = (nm), .off = (o), .arg = (a), .lo = (l), .hi = (u), .help = (h), __VA_ARGS__}
#define CLI_DOUBLE(nm, o, a, l, u, h, ...) \
    {.kind = CLI_KIND_DOUBLE, .name = (nm), .off = (o), .arg = (a), .lo = (l), .hi = (u), .help = (h), __VA_ARGS__}
#define CLI_U64(nm, o, a, h, ...) \
    {.kind = CLI_KIND_U64, .name = (nm), .off = (o), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_ENUM(nm, o, a, ch, h, ...) \
    {.kind = CLI_KIND_ENUM, .name = (nm), .off = (o), .arg = (a), .choices = (ch), .help = (h), __VA_ARGS__}
#define CLI_LIST(nm, o, n, c, a, h, ...) \
    {.kind = CLI_KIND_LIST, .name = (nm), .off = (o), .count_off = (n), .cap = (c), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_CALL(nm, o, f, a, h, ...) \
    {.kind = CLI_KIND_CALL, .name = (nm), .off = (o), .fn = (f), .arg = (a), .help = (h), __VA_ARGS__}

/* A table and the options struct its offsets point into. */
typedef struct cli_table {
    const cli_flag *rows;
    size_t          n_rows;
    void           *base;
} cli_table;

typedef struct cli_spec {
    const char *cmd;          /* "check": for messages                                 */
    cli_table   tables[3];    /* looked up and printed in order; unused: n_rows 0      */
    int         col;          /* the help text's column (default 24)                  */
    /* Messages (one %s: the argument); NULL: the defaults in brackets. */
    const char *unknown;      /* an unknown flag            ["unknown option '%s'"]      */
    const char *missing;      /* a flag without its value   ["%s needs a value"]         */
    const char *extra;        /* a positional past max_pos  ["unexpected argument '%s'"] */
    bool  unknown_last_missing; /* an unknown flag as the last argument: `missing` says it */
    bool  all_flags;          /* no positionals: "--", "-" and words are unknown flags too */
    int   max_pos;            /* most positionals; < 0: any                          */
} cli_spec;

/* Parses argv[1..argc) (argv[0] is the command) by spec: flags into their
 * fields, positionals (in order) into pos[0..*n_pos) (pos has room for
 * argc; may be NULL when max_pos is 0). Returns -1 to go on, or CLI_USAGE
 * after printing the error. */
int cli_flags_parse(const cli_spec *spec, int argc, char **argv, const char **pos, int *n_pos);

/* Prints the help screen of spec's tables to f. */
void cli_flags_help(const cli_spec *spec, FILE *f);

#endif
