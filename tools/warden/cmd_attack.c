/*
 * tools/warden/cmd_attack.c - `warden attack`: apply attack transforms to
 * every item of a dataset and write the attacked texts as JSONL.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_flags.h"
#include "warden/json.h"
#include "warden/attack.h"
#include "warden/dataset.h"

/* One attack run: what to write and how it went. */
typedef struct job {
    cli_data               *data;
    const wd_attack_kind   *kinds;
    size_t                  n_kinds;
    const wd_attack_params *ap;
    int                     rc;     /* the exit status so far */
    size_t                  index, lines;
    bool                    started;
} job;

/* Writes one JSON line per item and transform to fp (a wd_file_fill_fn);
 * an error is printed, kept in j->rc, and stops the file. */
static wd_status write_lines(FILE *fp, void *user) {
    job *j = user;
    j->started = true;
    for (size_t f = 0; f < j->data->n_src && j->rc == CLI_OK; f++) {
        const cli_source *src = &j->data->src[f];
        wd_dataset *ds;
        wd_status st = wd_dataset_open(src->path, &src->params, &ds);
        if (st) {
            j->rc = cli_fail(st, NULL);
            break;
        }
        const wd_dataset_item *it;
        while (!(st = wd_dataset_next(ds, &it)) && it) {
            for (size_t k = 0; k < j->n_kinds && j->rc == CLI_OK; k++) {
                char *text;
                if ((st = wd_attack_apply(j->kinds[k], it->text, j->ap, &text))) {
                    j->rc = cli_fail(st, wd_attack_name(j->kinds[k]));
                    break;
                }
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "index", (double)j->index);
                cJSON_AddStringToObject(o, "source", src->path);
                cJSON_AddNumberToObject(o, "record", (double)it->record);
                if (it->id) cJSON_AddStringToObject(o, "id", it->id);
                cJSON_AddStringToObject(o, "label", wd_label_name(it->label));
                cJSON_AddStringToObject(o, "transform", wd_attack_name(j->kinds[k]));
                cJSON_AddNumberToObject(o, "seed", (double)j->ap->seed);
                cJSON_AddStringToObject(o, "original", it->text);
                cJSON_AddStringToObject(o, "text", text);
                char *line = wd_json_print(o, false);
                cJSON_Delete(o);
                free(text);
                if (!line) {
                    j->rc = cli_error("out of memory");
                    break;
                }
                fputs(line, fp);
                fputc('\n', fp);
                free(line);
                j->lines++;
            }
            j->index++;
            if (j->rc != CLI_OK) break;
        }
        if (st && j->rc == CLI_OK) j->rc = cli_error("%s", wd_dataset_last_error(ds));
        wd_dataset_free(ds);
    }
    return j->rc == CLI_OK ? WD_OK : WD_ERR_CANCELLED;
}

typedef struct opts {
    const char        *list, *out, *tpl_path, *tpl_field;
    unsigned long long seed;
    double             rate;
    long               tokens;
} opts;

#define O(f) offsetof(opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden attack --transform LIST --in FILE[,FILE...] --out FILE [options]\n\n"
             "Applies attack transforms to every item and writes one JSON line per item and\n"
             "transform: {\"index\", \"source\", \"record\", \"id\", \"label\", \"transform\", \"seed\",\n"
             "\"original\", \"text\"}. The same seed gives the same output. The file is written\n"
             "atomically (all or nothing).\n\n"
             "options:\n"),
    CLI_STR("--transform", O(list), "LIST", "comma-separated; 'all' = every transform but template:\n"
                                          "typo typo-swap typo-drop typo-insert typo-keyboard homoglyph\n"
                                          "leet zero-width invisible base64 hex rot13 template suffix\n"
                                          "suffix-chars insertion insertion-chars infusion\n"
                                          "infusion-chars prefix split"),
    CLI_U64("--seed", O(seed), "S", "random seed (default 0)",
            .bad = "--seed: expected a non-negative integer, got '%s'"),
    CLI_DOUBLE("--rate", O(rate), "R", 0, 1, "share of words/letters changed (default: per transform)",
               .bad = "--rate: expected a number in [0, 1], got '%s'"),
    CLI_INT("--tokens", O(tokens), "D", 1, 10000, "adversarial tokens for suffix/insertion/infusion (default 20)"),
    CLI_STR("--templates", O(tpl_path), "FILE", "jailbreak templates ({prompt} or [INSERT PROMPT HERE] slot)"),
    CLI_STR("--template-field", O(tpl_field), "F", "the templates' column or JSON path (default: guessed)"),
    CLI_STR("--out", O(out), "FILE", "output JSONL ('-' = standard output)"),
    CLI_TEXT("\n"),
};

int cmd_attack(int argc, char **argv) {
    cli_data data;
    wd_attack_params ap = wd_attack_params_default();
    opts o = {.seed = ap.seed, .rate = ap.rate};
    int rc = CLI_OK;
    cli_spec spec = {"attack", {{ROWS, CLI_N(ROWS), &o}, cli_data_table(&data, "--in")},
                     .unknown = "unknown argument '%s'", .extra = "unknown argument '%s'",
                     .unknown_last_missing = true};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    if ((rc = cli_flags_parse(&spec, argc, argv, NULL, NULL)) >= 0) return cli_data_free(&data), rc;
    rc = CLI_OK;
    ap.seed = o.seed;
    ap.rate = o.rate;
    if (o.tokens) ap.n_tokens = (int)o.tokens;
    const char *list = o.list, *out = o.out, *tpl_path = o.tpl_path, *tpl_field = o.tpl_field;
    if (!list || !out || data.n_src == 0) {
        cli_data_free(&data);
        return cli_usage_error("attack", "--transform, --in and --out are required");
    }
    wd_attack_kind kinds[64];
    size_t n_kinds;
    if (wd_attack_parse_list(list, kinds, 64, &n_kinds)) {
        cli_data_free(&data);
        return cli_usage_error("attack", "--transform: %s", wd_last_error());
    }
    if (!cli_data_finish(&data, "attack")) return cli_data_free(&data), CLI_USAGE;
    char **tpls = NULL;
    size_t n_tpls = 0;
    for (size_t k = 0; k < n_kinds; k++)
        if (kinds[k] == WD_ATTACK_KIND_TEMPLATE && !tpl_path) {
            cli_data_free(&data);
            return cli_usage_error("attack", "the template transform needs --templates FILE");
        }
    if (tpl_path) {
        wd_status st = wd_attack_templates_load(tpl_path, tpl_field, 1, &tpls, &n_tpls);
        if (st) {
            cli_data_free(&data);
            return cli_fail(st, "--templates");
        }
        ap.templates = (const char *const *)tpls;
        ap.n_templates = n_tpls;
    }

    job j = {&data, kinds, n_kinds, &ap, CLI_OK, 0, 0, false};
    if (!strcmp(out, "-")) {
        write_lines(stdout, &j);
        fflush(stdout);
        rc = j.rc;
    } else {
        wd_status st = wd_file_write_atomic_with(out, write_lines, &j);
        rc = j.rc != CLI_OK ? j.rc : st ? cli_fail(st, j.started ? out : "--out") : CLI_OK;
    }
    if (rc == CLI_OK && strcmp(out, "-"))
        fprintf(stderr, "warden: attack: %zu items x %zu transforms -> %zu lines in %s\n", j.index, n_kinds,
                j.lines, out);
    wd_attack_templates_free(tpls, n_tpls);
    cli_data_free(&data);
    return rc;
}
