/*
 * tools/warden/cli_data.c - dataset flags shared by eval, attack and
 * redteam (cli_data.h).
 */
#include "cli_data.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "warden/json.h"

/* The raw file specs are kept in src[].path until cli_data_finish. */
static bool add_files(cli_data *d, const char *list) {
    char *copy = strdup(list), *save = NULL;
    if (!copy) return false;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok) continue;
        cli_source *ns = realloc(d->src, (d->n_src + 1) * sizeof *ns);
        if (!ns) {
            free(copy);
            return false;
        }
        d->src = ns;
        memset(&d->src[d->n_src], 0, sizeof *d->src);
        d->src[d->n_src++].path = strdup(tok);
    }
    free(copy);
    return true;
}

/* --data / --in FILE[,FILE...] (the field: the cli_data itself, at offset 0). */
static bool files_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    if (add_files(field, v)) return true;
    cli_error("out of memory");
    return false;
}

static bool label_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    if (!wd_label_parse(v, field)) return true;
    cli_usage_error(cmd, "--label: expected harmful or benign, got '%s'", v);
    return false;
}

static bool format_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    if (!wd_dataset_format_parse(v, field)) return true;
    cli_usage_error(cmd, "--format: %s", wd_last_error());
    return false;
}

#define D(f) offsetof(cli_data, defaults.f)

/* The dataset flags and the "data:" section of --help; row 0 is --in,
 * left out for the commands that name their files with --data only. */
static const cli_flag ROWS[] = {
    CLI_CALL("--in", 0, files_flag, "FILE", NULL, .needs = "a value"),
    CLI_CALL("--data", 0, files_flag, "FILE", NULL, .needs = "a value"),
    CLI_TEXT("data:\n"),
    CLI_STR("--text-field", D(text_field), "F", "column or JSON path of the text (default: text, prompt,\n"
                                                "goal, instruction, ... whichever is present)",
            .needs = "a value"),
    CLI_STR("--label-field", D(label_field), "F", "column or JSON path of the label (1/0, true/false,\n"
                                                  "yes/no, harmful/benign, unsafe/safe, toxic, ...; other\n"
                                                  "numbers such as 2, -1 or 0.5 are errors)",
            .needs = "a value"),
    CLI_CALL("--label", D(fixed_label), label_flag, "harmful|benign", "one label for every item (single-class sets)",
             .needs = "a value"),
    CLI_STR("--category-field", D(category_field), "F", "column or JSON path of hazard categories", .needs = "a value"),
    CLI_STR("--category-scheme", D(category_scheme), "S", "canonical, openai, ailuminate, llama2 or strongreject",
            .needs = "a value"),
    CLI_STR("--id-field", D(id_field), "F", "column or JSON path of an item id", .needs = "a value"),
    CLI_CALL("--format", D(format), format_flag, "F", "csv, tsv, jsonl, json or text (default: detected)",
             .needs = "a value"),
    CLI_BOOL("--lenient", offsetof(cli_data, lenient), "read CSV/TSV rows with more or fewer fields than the\n"
                                                       "header, or stray quotes, as most CSV readers do\n"
                                                       "(default: an error naming file:line)"),
    CLI_TEXT("  JSON paths: a.b.c; a.0.b indexes an array; 'instances[].text' reads the\n"
             "  records from the array 'instances'. Files may be gzip-compressed.\n"
             "  Per-file settings override the flags: FILE:text=goal:label=harmful\n"
             "  (keys: text label label-field category scheme id format records).\n"),
};

cli_table cli_data_table(cli_data *d, const char *file_flag) {
    memset(d, 0, sizeof *d);
    d->defaults = wd_dataset_params_default();
    bool in = !strcmp(file_flag, "--in");
    return (cli_table){ROWS + !in, CLI_N(ROWS) - !in, d};
}

static const char *const KEYS[] = {"text", "label", "label-field", "category", "scheme",
                                   "id",   "format", "records", NULL};

/* Index of the key that the setting s ("key=value") names, or -1. */
static int setting_key(const char *s) {
    const char *eq = strchr(s, '=');
    if (!eq) return -1;
    for (int k = 0; KEYS[k]; k++)
        if (strlen(KEYS[k]) == (size_t)(eq - s) && !strncmp(s, KEYS[k], (size_t)(eq - s))) return k;
    return -1;
}

bool cli_data_finish(cli_data *d, const char *cmd) {
    if (d->lenient) d->defaults.lenient = 1;
    for (size_t f = 0; f < d->n_src; f++) {
        cli_source *s = &d->src[f];
        s->params = d->defaults;
        /* Peel ":key=value" settings off the end. */
        int n_own = 0;
        char *colon;
        while ((colon = strrchr(s->path, ':')) && setting_key(colon + 1) >= 0) {
            int k = setting_key(colon + 1);
            const char *val = strchr(colon + 1, '=') + 1;
            if (n_own >= 8) break;
            char *own = s->own[n_own++] = strdup(val);
            if (!own) return cli_error("out of memory"), false;
            switch (k) {
            case 0: s->params.text_field = own; break;
            case 1:
                if (wd_label_parse(own, &s->params.fixed_label)) {
                    cli_usage_error(cmd, "%s: label=%s: expected harmful or benign", s->path, own);
                    return false;
                }
                break;
            case 2:
                s->params.label_field = own;
                s->params.fixed_label = WD_LABEL_UNKNOWN;
                break;
            case 3: s->params.category_field = own; break;
            case 4: s->params.category_scheme = own; break;
            case 5: s->params.id_field = own; break;
            case 6:
                if (wd_dataset_format_parse(own, &s->params.format)) {
                    cli_usage_error(cmd, "%s: %s", s->path, wd_last_error());
                    return false;
                }
                break;
            case 7: s->params.records_path = own; break;
            }
            *colon = '\0';
        }
        if (!*s->path) {
            cli_usage_error(cmd, "an empty file name in the data list");
            return false;
        }
    }
    return true;
}

void cli_data_free(cli_data *d) {
    for (size_t f = 0; f < d->n_src; f++) {
        free(d->src[f].path);
        for (int k = 0; k < 8; k++) free(d->src[f].own[k]);
    }
    free(d->src);
    memset(d, 0, sizeof *d);
}

/* Takes the text out of a JSONL line; returns a malloc'd copy or NULL
 * (with *why set) when the line is a JSON object without a text field. */
char *cli_jsonl_text(const char *line, size_t len, size_t *out_len, const char **why) {
    wd_json_fault fault;
    cJSON *o = wd_json_parse_strict(line, len, "JSON object", &fault);
    if (!o) {
        /* Not JSON, or a JSON value with text after it: the whole line is
         * the text (nothing of it goes unchecked). A duplicate key or a
         * U+0000 is JSON that readers disagree on: refused. */
        if (fault == WD_JSON_SYNTAX || fault == WD_JSON_TRAILING) return NULL;
        *why = wd_last_error();
        return NULL;
    }
    static const char *const fields[] = {"text", "prompt", "input", "response", "output", NULL};
    char *res = NULL;
    *why = "a JSON object with no \"text\"/\"prompt\"/\"input\"/\"response\"/\"output\" string field";
    if (cJSON_IsObject(o))
        for (int i = 0; fields[i] && !res; i++) {
            cJSON *f = cJSON_GetObjectItemCaseSensitive(o, fields[i]);
            if (cJSON_IsString(f) && f->valuestring) {
                res = strdup(f->valuestring);
                *out_len = strlen(res);
            }
        }
    cJSON_Delete(o);
    return res;
}

int cli_flags_parse_text(const cli_spec *spec, int argc, char **argv, char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    const char **words = malloc((size_t)argc * sizeof *words);
    if (!words) return cli_error("out of memory");
    int n_words = 0, status = cli_flags_parse(spec, argc, argv, words, &n_words);
    for (int k = 0; status < 0 && k < n_words; k++) /* the words of TEXT, joined by spaces */
        if (!cli_append_word(text, len, words[k])) status = cli_error("out of memory");
    free(words);
    if (status >= 0) {
        free(*text);
        *text = NULL;
    }
    return status;
}

bool cli_append_word(char **text, size_t *len, const char *word) {
    size_t wl = strlen(word);
    char *t = realloc(*text, *len + wl + 2);
    if (!t) return false;
    *text = t;
    if (*len) t[(*len)++] = ' ';
    memcpy(t + *len, word, wl);
    *len += wl;
    t[*len] = '\0';
    return true;
}

/* A JSON object line with a "messages" member as a conversation: 2 with
 * *conv set, -1 with *why set when it cannot be read as one, 0 when the
 * line is not such an object. */
static int line_conversation(const char *line, size_t n, wd_conversation **conv, const char **why) {
    if (!memmem(line, n, "\"messages\"", 10)) return 0; /* cheap: most lines are not */
    wd_json_fault fault;
    cJSON *o = wd_json_parse_strict(line, n, "JSON object", &fault);
    if (!o) return 0; /* cli_jsonl_text says what is wrong with it */
    const cJSON *m = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "messages") : NULL;
    int got = 0;
    if (m) {
        got = wd_conversation_from_json(m, 0, NULL, 0, conv) == WD_OK ? 2 : -1;
        if (got < 0) *why = wd_last_error();
    }
    cJSON_Delete(o);
    return got;
}

int cli_next_input_conv(FILE *in, char **line, size_t *cap, long *lineno, char **text, size_t *len,
                        const char **why, wd_conversation **conv) {
    *text = NULL;
    *len = 0;
    *why = NULL;
    if (conv) *conv = NULL;
    ssize_t got = getline(line, cap, in);
    if (got < 0) return 0;
    (*lineno)++;
    size_t n = (size_t)got;
    while (n && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r')) n--;
    size_t a = 0;
    while (a < n && ((*line)[a] == ' ' || (*line)[a] == '\t')) a++;
    if (a < n && (*line)[a] == '{' && conv) {
        int c = line_conversation(*line + a, n - a, conv, why);
        if (c) return c;
    }
    if (a < n && (*line)[a] == '{') {
        *text = cli_jsonl_text(*line + a, n - a, len, why);
        if (!*text && *why) return -1;
    }
    if (!*text) {
        if (!(*text = malloc(n + 1))) {
            *why = "out of memory";
            return -1;
        }
        memcpy(*text, *line, n);
        (*text)[n] = '\0';
        *len = n;
    }
    return 1;
}

int cli_next_input(FILE *in, char **line, size_t *cap, long *lineno, char **text, size_t *len,
                   const char **why) {
    return cli_next_input_conv(in, line, cap, lineno, text, len, why, NULL);
}

void cli_json_error_line(long lineno, const char *why) {
    cJSON *o = cJSON_CreateObject();
    if (o && lineno > 0) cJSON_AddNumberToObject(o, "line", (double)lineno);
    char *txt = o && cJSON_AddStringToObject(o, "error", why ? why : "no text") ? wd_json_print(o, false) : NULL;
    cJSON_Delete(o);
    printf("%s\n", txt ? txt : "{\"error\":\"out of memory\"}");
    free(txt);
}
