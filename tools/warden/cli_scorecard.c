/*
 * tools/warden/cli_scorecard.c - the --scorecard / --no-scorecard flags of
 * `warden eval` and `warden redteam` (which scorecard to load) and the
 * scorecard's lines in their summary, read back from the JSON they wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

int cli_scorecard_load(const char *path, bool off, const char *cmd, wd_scorecard **out) {
    *out = NULL;
    if (off && path) return cli_usage_error(cmd, "--scorecard and --no-scorecard exclude each other");
    if (off) return -1;
    wd_status st = path ? wd_scorecard_load(path, out) : wd_scorecard_load_default(out);
    if (st) return cli_fail(st, path ? "--scorecard" : "built-in scorecard");
    return -1;
}

/* The file's text, malloc'd, or NULL. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, k;
    char tmp[65536];
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) {
        char *nb = realloc(buf, n + k + 1);
        if (!nb) break;
        buf = nb;
        memcpy(buf + n, tmp, k);
        n += k;
        buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(x) ? x->valuestring : "?";
}

void cli_scorecard_print(const char *json_path) {
    char *text = slurp(json_path);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *sc = cJSON_GetObjectItem(root, "scorecard");
    if (!cJSON_IsObject(sc)) {
        cJSON_Delete(root);
        return;
    }
    const cJSON *ov = cJSON_GetObjectItem(sc, "overall");
    printf("  scorecard %s: overall %s\n    %s\n", str(sc, "name"), str(ov, "level"), str(ov, "reason"));
    char none[256] = "";
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(sc, "categories")) {
        double n = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(row, "metrics")) {
            const cJSON *x = cJSON_GetObjectItem(m, "n");
            if (cJSON_IsNumber(x)) n += x->valuedouble;
        }
        if (n == 0 && strcmp(str(row, "id"), "all")) {
            size_t k = strlen(none);
            snprintf(none + k, sizeof none - k, "%s%s", k ? " " : "", str(row, "id"));
            continue;
        }
        printf("    %-4s %-26.26s %-9s %s\n", str(row, "id"), str(row, "name"), str(row, "level"), str(row, "reason"));
    }
    if (none[0]) printf("    no items: %s\n", none);
    cJSON_Delete(root);
}
