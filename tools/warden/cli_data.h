/*
 * tools/warden/cli_data.h - the dataset flags shared by `eval`, `attack` and
 * `redteam`, so every command names its data the same way:
 *
 *   --data FILE[,FILE...]   (or --in FILE) files to read; repeatable
 *   --text-field F          column / JSON path of the text (default: the
 *                           reader's guess: text, prompt, goal, ...)
 *   --label-field F         column / JSON path of a harmful/benign label
 *   --label harmful|benign  one label for every item of the files
 *   --category-field F      column / JSON path of hazard categories
 *   --category-scheme S     canonical|openai|ailuminate|llama2|strongreject
 *   --id-field F            column / JSON path of an item id
 *   --format F              csv|tsv|jsonl|json|text (default: detected)
 *
 * A file may carry its own settings after ':' (they override the flags):
 *   FILE:text=goal:label=harmful:label-field=y:category=hazard:scheme=ailuminate
 *   keys: text label label-field category scheme id format records
 */
#ifndef WD_CLI_DATA_H
#define WD_CLI_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli_flags.h"
#include "warden/dataset.h"
#include "warden/guard.h"

typedef struct cli_source {
    char             *path;
    wd_dataset_params params; /* its strings point into the source's own copies */
    char             *own[8];
} cli_source;

typedef struct cli_data {
    cli_source *src;
    size_t      n_src;
    /* the flags, applied to files without their own settings */
    wd_dataset_params defaults;
    bool              lenient;
} cli_data;

/* Starts d empty and returns the table of the dataset flags (file_flag:
 * "--data", or "--in" to take --in as well as --data) with their help, the
 * "data:" section of a --help screen. */
cli_table cli_data_table(cli_data *d, const char *file_flag);
/* Applies the flag defaults to each file and parses the per-file settings.
 * Returns false after printing a usage error. */
bool cli_data_finish(cli_data *d, const char *cmd);
void cli_data_free(cli_data *d);
/* The text of a JSONL line (`check`, `certify`): its "text" / "prompt" /
 * "input" / "response" / "output" string field as a malloc'd copy (*out_len
 * bytes). NULL with *why = NULL when the line is not JSON (use it as
 * text); NULL with *why set when it is JSON without such a field. */
char *cli_jsonl_text(const char *line, size_t len, size_t *out_len, const char **why);
/* Appends word to the malloc'd *text (*len bytes), a space between words:
 * the words of TEXT on a command line. False when out of memory. */
bool cli_append_word(char **text, size_t *len, const char *word);

/* cli_flags_parse for a command that takes TEXT: its positional words are
 * joined by spaces into *text (malloc'd; NULL when there are none, also on
 * a status >= 0) and *len. Returns cli_flags_parse's status (< 0: go on). */
int cli_flags_parse_text(const cli_spec *spec, int argc, char **argv, char **text, size_t *len);
/* Reads the next input line of in (getline buffer *line / *cap, *lineno
 * counted): 1 with *text a malloc'd copy of the line (or of a JSONL line's
 * text field, see cli_jsonl_text), 0 at the end, -1 with *why set for a
 * JSON object without a text field. */
int cli_next_input(FILE *in, char **line, size_t *cap, long *lineno, char **text, size_t *len,
                   const char **why);
/* As cli_next_input, and a line holding a JSON object with a "messages"
 * member (OpenAI's chat messages, see wd_conversation_from_json) gives 2
 * with *conv set (the caller frees it with wd_conversation_free), or -1
 * with *why saying which field is wrong. conv NULL: as cli_next_input. */
int cli_next_input_conv(FILE *in, char **line, size_t *cap, long *lineno, char **text, size_t *len,
                        const char **why, wd_conversation **conv);
/* Prints {"line": N, "error": WHY} (no "line" when lineno <= 0) and a
 * newline to stdout, valid JSON whatever why holds: the --json answer for
 * an input line that cannot be read or checked. */
void cli_json_error_line(long lineno, const char *why);

#endif
