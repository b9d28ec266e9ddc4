/*
 * io/folder.c - a Hugging Face model folder as a unit of output: copying
 * what is not weights (config.json, tokenizer and generation files) from
 * the folder a model came from, and writing a new folder through a staging
 * twin (OUT.partial-PID) that is renamed into place only when complete, so
 * that a failed or interrupted write leaves no partial folder behind.
 */
#include "io/folder.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"

/* A model folder's files that are not weights (config.json aside). */
static const char *const k_meta_files[] = {"tokenizer.json",      "tokenizer_config.json", "special_tokens_map.json",
                                           "generation_config.json", "tokenizer.model",    "vocab.json",
                                           "merges.txt",          "added_tokens.json",     "chat_template.jinja",
                                           NULL};

wd_status wd__folder_copy_file(const char *src_dir, const char *out, const char *name, bool required,
                             wd__err *err) {
    char *src = wd__path_join(src_dir, name), *dst = wd__path_join(out, name);
    char *buf = NULL;
    size_t len = 0;
    wd_status rc = WD_OK;
    if (!src || !dst) {
        rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    } else if (wd__file_read(src, (size_t)1 << 30, &buf, &len)) {
        if (required) rc = wd__err_take(err, WD_ERR_IO);
    } else if ((rc = wd__file_write_atomic(dst, buf, len))) {
        wd__err_take(err, rc);
    }
    free(src), free(dst), free(buf);
    return rc;
}

wd_status wd__folder_copy_meta(const char *src_dir, const char *out, const char *patch,
                             wd__err *err) {
    wd_status rc = wd__mkdir_p(out);
    if (rc) return wd__err_take(err, rc);
    for (int i = 0; k_meta_files[i]; i++)
        if ((rc = wd__folder_copy_file(src_dir, out, k_meta_files[i], false, err))) return rc;
    char *src = wd__path_join(src_dir, "config.json"), *dst = wd__path_join(out, "config.json");
    char *buf = NULL, *text = NULL;
    size_t len = 0;
    cJSON *cfg = NULL, *pj = NULL;
    if (!src || !dst) {
        rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    } else if (!patch && !wd__path_exists(src)) {
        /* nothing to carry (a bare weights folder) */
    } else if ((rc = wd__file_read(src, 1 << 24, &buf, &len))) {
        wd__err_take(err, rc);
    } else if (!(cfg = cJSON_ParseWithLength(buf, len)) || !cJSON_IsObject(cfg)) {
        rc = wd__err_set(err, WD_ERR_FORMAT, "%s: not a JSON object", src);
    } else {
        if (patch && (pj = cJSON_Parse(patch)))
            for (cJSON *f = pj->child; f; f = f->next) {
                cJSON_DeleteItemFromObjectCaseSensitive(cfg, f->string);
                cJSON_AddItemToObject(cfg, f->string, cJSON_Duplicate(f, true));
            }
        text = cJSON_Print(cfg);
        if (!text) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        else if ((rc = wd__file_write_atomic(dst, text, strlen(text)))) wd__err_take(err, rc);
    }
    cJSON_Delete(cfg), cJSON_Delete(pj);
    free(src), free(dst), free(buf), free(text);
    return rc;
}


/* Removes dir and the plain files in it (a staging folder holds no more). */
static void remove_flat(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p = wd__path_join(dir, e->d_name);
            if (p) unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

wd_status wd__folder_stage(const char *out, char **staging, wd__err *err) {
    *staging = NULL;
    if (wd__path_exists(out) && !wd__path_is_dir(out))
        return wd__err_set(err, WD_ERR_INVALID_ARG, "%s: exists and is not a folder", out);
    size_t n = strlen(out) + 40;
    char *s = malloc(n);
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    snprintf(s, n, "%s.partial-%ld", out, (long)getpid());
    remove_flat(s);
    wd_status rc = wd__mkdir_p(s);
    if (rc) {
        free(s);
        return wd__err_take(err, rc);
    }
    *staging = s;
    return WD_OK;
}

static bool is_weights_file(const char *name) {
    size_t n = strlen(name);
    return !strncmp(name, "model", 5) &&
           ((n > 12 && !strcmp(name + n - 12, ".safetensors")) || !strcmp(name, "model.safetensors.index.json"));
}

wd_status wd__folder_commit(char *staging, const char *out, wd__err *err) {
    wd_status rc = WD_OK;
    if (wd__path_is_dir(out)) {
        /* an existing folder: the new files move in one by one (other files
         * there, notes or plots, stay); only then do the old weights the new
         * ones did not replace go (a stale index or shard would shadow or mix
         * with them), so a failed move loses no weights */
        char **names = NULL;
        size_t n = 0, cap = 0;
        DIR *d = opendir(staging);
        struct dirent *e;
        while (d && !rc && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *a = wd__path_join(staging, e->d_name), *b = wd__path_join(out, e->d_name);
            if (n == cap) {
                char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *nn);
                if (nn) names = nn;
                else cap = n;
            }
            if (!a || !b || n == cap || !(names[n] = strdup(e->d_name))) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            else if (rename(a, b) != 0)
                rc = wd__err_set(err, WD_ERR_IO, "%s: cannot move into place: %s", b, strerror(errno));
            else n++;
            free(a), free(b);
        }
        if (d) closedir(d);
        d = rc ? NULL : opendir(out);
        while (d && (e = readdir(d))) {
            if (!is_weights_file(e->d_name)) continue;
            bool fresh = false;
            for (size_t k = 0; k < n && !fresh; k++) fresh = !strcmp(names[k], e->d_name);
            char *p = fresh ? NULL : wd__path_join(out, e->d_name);
            if (p) unlink(p);
            free(p);
        }
        if (d) closedir(d);
        for (size_t k = 0; k < n; k++) free(names[k]);
        free(names);
    } else if (rename(staging, out) != 0) {
        rc = wd__err_set(err, WD_ERR_IO, "%s: cannot rename %s into place: %s", out, staging,
                         strerror(errno));
    }
    wd__folder_abort(staging);
    return rc;
}

void wd__folder_abort(char *staging) {
    if (!staging) return;
    remove_flat(staging);
    free(staging);
}
