/*
 * tools/warden/cli.h - what the subcommands share. The CLI is thin: each
 * subcommand parses its flags (a static table, cli_flags.h), calls the
 * library (include/warden/ only) and prints.
 *
 * Exit status, for every subcommand (documented in the README):
 *   0  success (for `check`: every input allowed)
 *   1  `check`/`certify`: at least one input was flagged unsafe
 *   2  usage error (unknown flag, missing argument)
 *   3  runtime error (bad file, bad input); the message is on stderr
 */
#ifndef WD_CLI_H
#define WD_CLI_H

#include <stdbool.h>

#include "warden/warden.h"

enum { CLI_OK = 0, CLI_FLAGGED = 1, CLI_USAGE = 2, CLI_ERROR = 3 };

/* The version of the JSON that commands print (docs/json.md): raised when a
 * key is removed or changes meaning; adding a key does not raise it. */
enum { CLI_JSON_SCHEMA = 1 };

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} cli_command;

/* Prints "warden: error: ..." to stderr; returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "warden: error: <what>: <wd_last_error()>" (or the status name). */
int cli_fail(wd_status st, const char *what);
/* Prints "warden: <msg>" and "Try 'warden CMD --help'" to stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);

/* Prints o on one line (wd_json_print: valid UTF-8, shortest numbers; "{}"
 * when o is NULL or cannot be printed) and frees it. o is a cJSON *. */
void cli_print_json(void *o);

/* A progress line on stderr: on a terminal (tty) rewritten in place and
 * ended with a newline when last; otherwise one line each call. */
void cli_progress(bool tty, bool last, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Seconds on the monotonic clock. */
double cli_now_s(void);
/* A progress bar of 30 '#'/'.' for frac in [0, 1] into bar (31 bytes), and
 * "  ETA m:ss" for eta_s seconds into eta (32 bytes; "" when eta_s < 0). */
void cli_bar_eta(double frac, double eta_s, char *bar, char *eta);
/* Parses a positive int flag value; on error prints and returns false. */
bool cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out);

/* --steer FILE:ALPHA[@LAYER] (generate, redteam): activation addition on m
 * (wd_steer_apply). spec NULL: nothing. Returns -1 when done, else the exit
 * status of the usage error or failure it printed. */
int cli_steer_apply(wd_model *m, const char *spec, const char *cmd);

/* --scorecard FILE / --no-scorecard (eval, redteam; cli_scorecard.c): *out
 * = the file's scorecard, the built-in one (path NULL) or none (off).
 * Returns -1 when done, else the exit status of the error it printed. */
int cli_scorecard_load(const char *path, bool off, const char *cmd, wd_scorecard **out);
/* Prints the "scorecard" of a metrics.json or redteam.json: the overall
 * level and each row with items. Nothing when there is none. */
void cli_scorecard_print(const char *json_path);

/* Each subcommand: tools/warden/cmd_NAME.c defines cmd_NAME. */
int cmd_version(int argc, char **argv);
int cmd_attack(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_redteam(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_guard(int argc, char **argv);
int cmd_train_router(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_certify(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_privacy(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_steer(int argc, char **argv);
int cmd_layers(int argc, char **argv);
int cmd_landscape(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_resta(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_explain(int argc, char **argv);

/* The explanation settings of `explain` and `eval --explain` (cmd_explain.c):
 * with a model folder, its tokenizer (*tok, freed by the caller) for token
 * units and its unknown token as the mask; with a policy, deletion. mask
 * (NULL: that default; "": deletion) overrides. Returns -1 when done, else
 * the exit status of the error it printed. */
struct wd_explain_params;
int cli_explain_setup(const char *model, const char *mask, int units, struct wd_explain_params *p,
                      wd_tokenizer **tok);

#endif
