/*
 * tools/warden/cmd_attack.c - `warden attack`: apply attack transforms to
 * every item of a dataset and write the attacked texts as JSONL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/file.h"
#include "base/json.h"
#include "cli.h"
#include "cli_data.h"
#include "warden/attack.h"
#include "warden/dataset.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: warden attack --transform LIST --in FILE[,FILE...] --out FILE [options]\n\n"
            "Applies attack transforms to every item and writes one JSON line per item and\n"
            "transform: {\"index\", \"source\", \"record\", \"id\", \"label\", \"transform\", \"seed\",\n"
            "\"original\", \"text\"}. The same seed gives the same output. The file is written\n"
            "atomically (all or nothing).\n\n"
            "options:\n"
            "  --transform LIST      comma-separated; 'all' = every transform but template:\n"
            "                        typo typo-swap typo-drop typo-insert typo-keyboard homoglyph\n"
            "                        leet zero-width invisible base64 hex rot13 template suffix\n"
            "                        suffix-chars insertion insertion-chars infusion\n"
            "                        infusion-chars prefix split\n"
            "  --seed S              random seed (default 0)\n"
            "  --rate R              share of words/letters changed (default: per transform)\n"
            "  --tokens D            adversarial tokens for suffix/insertion/infusion (default 20)\n"
            "  --templates FILE      jailbreak templates ({prompt} or [INSERT PROMPT HERE] slot)\n"
            "  --template-field F    the templates' column or JSON path (default: guessed)\n"
            "  --out FILE            output JSONL ('-' = standard output)\n\n%s",
            CLI_DATA_HELP);
}

int cmd_attack(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    cli_data data;
    memset(&data, 0, sizeof data);
    const char *list = NULL, *out = NULL, *tpl_path = NULL, *tpl_field = NULL;
    wd_attack_params ap = wd_attack_params_default();
    int rc = CLI_OK;
    for (int i = 1; i < argc; i++) {
        int r = cli_data_flag(&data, "attack", "--in", argc, argv, &i);
        if (r < 0) return cli_data_free(&data), CLI_USAGE;
        if (r > 0) continue;
        const char *a = argv[i];
        if (i + 1 >= argc && a[0] == '-' && a[1] == '-') {
            cli_data_free(&data);
            return cli_usage_error("attack", "%s needs a value", a);
        }
        if (!strcmp(a, "--transform")) list = argv[++i];
        else if (!strcmp(a, "--out")) out = argv[++i];
        else if (!strcmp(a, "--templates")) tpl_path = argv[++i];
        else if (!strcmp(a, "--template-field")) tpl_field = argv[++i];
        else if (!strcmp(a, "--seed")) {
            char *end;
            ap.seed = strtoull(argv[++i], &end, 10);
            if (*end || !*argv[i]) {
                cli_data_free(&data);
                return cli_usage_error("attack", "--seed: expected a non-negative integer, got '%s'", argv[i]);
            }
        } else if (!strcmp(a, "--rate")) {
            char *end;
            ap.rate = strtod(argv[++i], &end);
            if (*end || ap.rate < 0 || ap.rate > 1) {
                cli_data_free(&data);
                return cli_usage_error("attack", "--rate: expected a number in [0, 1], got '%s'", argv[i]);
            }
        } else if (!strcmp(a, "--tokens")) {
            long v;
            if (!cli_parse_int("attack", "--tokens", argv[++i], 1, 10000, &v)) return cli_data_free(&data), CLI_USAGE;
            ap.n_tokens = (int)v;
        } else {
            cli_data_free(&data);
            return cli_usage_error("attack", "unknown argument '%s'", a);
        }
    }
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

    wd__atomic_file af;
    memset(&af, 0, sizeof af);
    FILE *fp = stdout;
    if (strcmp(out, "-")) {
        wd_status st = wd__atomic_open(&af, out);
        if (st) {
            rc = cli_fail(st, "--out");
            goto done;
        }
        fp = af.fp;
    }
    size_t index = 0, lines = 0;
    for (size_t f = 0; f < data.n_src && rc == CLI_OK; f++) {
        wd_dataset *ds;
        wd_status st = wd_dataset_open(data.src[f].path, &data.src[f].params, &ds);
        if (st) {
            rc = cli_fail(st, NULL);
            break;
        }
        const wd_dataset_item *it;
        while (!(st = wd_dataset_next(ds, &it)) && it) {
            for (size_t k = 0; k < n_kinds && rc == CLI_OK; k++) {
                char *text;
                if ((st = wd_attack_apply(kinds[k], it->text, &ap, &text))) {
                    rc = cli_fail(st, wd_attack_name(kinds[k]));
                    break;
                }
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "index", (double)index);
                cJSON_AddStringToObject(o, "source", data.src[f].path);
                cJSON_AddNumberToObject(o, "record", (double)it->record);
                if (it->id) cJSON_AddStringToObject(o, "id", it->id);
                cJSON_AddStringToObject(o, "label", wd_label_name(it->label));
                cJSON_AddStringToObject(o, "transform", wd_attack_name(kinds[k]));
                cJSON_AddNumberToObject(o, "seed", (double)ap.seed);
                cJSON_AddStringToObject(o, "original", it->text);
                cJSON_AddStringToObject(o, "text", text);
                char *line = wd__json_print(o, false);
                cJSON_Delete(o);
                free(text);
                if (!line) {
                    rc = cli_error("out of memory");
                    break;
                }
                fputs(line, fp);
                fputc('\n', fp);
                free(line);
                lines++;
            }
            index++;
            if (rc != CLI_OK) break;
        }
        if (st && rc == CLI_OK) rc = cli_error("%s", wd_dataset_last_error(ds));
        wd_dataset_free(ds);
    }
    if (fp == stdout) fflush(stdout);
    else if (rc == CLI_OK) {
        wd_status st = wd__atomic_commit(&af);
        if (st) rc = cli_fail(st, out);
    } else {
        wd__atomic_abort(&af);
    }
    if (rc == CLI_OK && fp != stdout)
        fprintf(stderr, "warden: attack: %zu items x %zu transforms -> %zu lines in %s\n", index, n_kinds,
                lines, out);
done:
    wd_attack_templates_free(tpls, n_tpls);
    cli_data_free(&data);
    return rc;
}
