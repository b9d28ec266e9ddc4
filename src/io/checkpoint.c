/*
 * io/checkpoint.c - a model folder's weights across safetensors shards
 * (warden/checkpoint.h).
 *
 * The index file of a sharded checkpoint is untrusted like the shards: its
 * weight_map must be an object of strings, each a plain file name in the
 * same folder (no '/', no "." or ".."; this keeps a crafted index from
 * reading files elsewhere), every mapped tensor must exist in the shard it
 * names, and a tensor may live in one shard only. Shards are opened once
 * each, in name order. Tensors present in a shard but absent from the
 * weight_map are kept (and logged): transformers would load them too.
 *
 * Invariants: tensors[] lists every tensor of every shard (shard order, then
 * data order); by_name[] indexes it in strcmp order with no repeats.
 */
#include "warden/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"

struct wd_checkpoint {
    char                   *path;
    wd_safetensors        **shards;
    char                  **shard_names;
    size_t                  n_shards;
    const wd_tensor_info  **tensors;
    size_t                 *shard_of; /* shard index of tensors[i] */
    size_t                 *by_name;
    size_t                  n_tensors;
    uint64_t                file_bytes, n_params;
};

void wd_checkpoint_free(wd_checkpoint *ck) {
    if (!ck) return;
    for (size_t i = 0; i < ck->n_shards; i++) {
        wd_safetensors_free(ck->shards[i]);
        free(ck->shard_names[i]);
    }
    free(ck->shards);
    free(ck->shard_names);
    free(ck->tensors);
    free(ck->shard_of);
    free(ck->by_name);
    free(ck->path);
    free(ck);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_index_by_name(const void *a, const void *b, void *base) {
    const wd_tensor_info *const *t = base;
    return strcmp(t[*(const size_t *)a]->name, t[*(const size_t *)b]->name);
}

/* Opens shard files named in ck->shard_names (relative to dir, or absolute
 * when dir is NULL). */
static wd_status open_shards(wd_checkpoint *ck, const char *dir) {
    ck->shards = calloc(ck->n_shards, sizeof *ck->shards);
    if (!ck->shards) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < ck->n_shards; i++) {
        char *p = dir ? wd__path_join(dir, ck->shard_names[i]) : strdup(ck->shard_names[i]);
        if (!p) return wd__fail(WD_ERR_NOMEM, "out of memory");
        wd_status rc = wd_safetensors_open(p, &ck->shards[i]);
        free(p);
        if (rc) return rc;
        ck->file_bytes += wd_safetensors_file_size(ck->shards[i]);
    }
    return WD_OK;
}

/* Builds tensors[] and by_name[], rejecting a tensor found in two shards. */
static wd_status build_index(wd_checkpoint *ck) {
    size_t n = 0;
    for (size_t s = 0; s < ck->n_shards; s++) n += wd_safetensors_n_tensors(ck->shards[s]);
    ck->tensors = malloc(sizeof *ck->tensors * (n ? n : 1));
    ck->shard_of = malloc(sizeof *ck->shard_of * (n ? n : 1));
    ck->by_name = malloc(sizeof *ck->by_name * (n ? n : 1));
    if (!ck->tensors || !ck->shard_of || !ck->by_name)
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", ck->path);
    size_t k = 0;
    for (size_t s = 0; s < ck->n_shards; s++) {
        for (size_t i = 0; i < wd_safetensors_n_tensors(ck->shards[s]); i++) {
            ck->tensors[k] = wd_safetensors_tensor(ck->shards[s], i);
            ck->shard_of[k] = s;
            ck->n_params += ck->tensors[k]->n_elem;
            ck->by_name[k] = k;
            k++;
        }
    }
    ck->n_tensors = n;
    qsort_r(ck->by_name, n, sizeof *ck->by_name, cmp_index_by_name, ck->tensors);
    for (size_t i = 1; i < n; i++) {
        size_t a = ck->by_name[i - 1], b = ck->by_name[i];
        if (!strcmp(ck->tensors[a]->name, ck->tensors[b]->name))
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' is in both %s and %s", ck->path,
                            ck->tensors[a]->name, ck->shard_names[ck->shard_of[a]],
                            ck->shard_names[ck->shard_of[b]]);
    }
    return WD_OK;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static bool bad_shard_name(const char *s) {
    return !s[0] || strchr(s, '/') || strchr(s, '\\') || !strcmp(s, ".") || !strcmp(s, "..");
}

static wd_status open_index(wd_checkpoint *ck, const char *dir, const char *index_path) {
    cJSON *root;
    wd_status rc = wd__json_load_file(index_path, 0, &root);
    if (rc) return rc;
    const cJSON *wm = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    if (!cJSON_IsObject(wm)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: field 'weight_map': expected an object, got %s",
                      index_path, cJSON_IsObject(root) ? wd__json_type_name(wm) : "no object");
        goto done;
    }
    size_t n_map = 0;
    for (const cJSON *e = wm->child; e; e = e->next) {
        if (!cJSON_IsString(e)) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: weight_map: tensor '%s' maps to %s, expected a file name",
                          index_path, e->string, wd__json_type_name(e));
            goto done;
        }
        if (bad_shard_name(e->valuestring)) {
            rc = wd__fail(WD_ERR_FORMAT,
                          "%s: weight_map: tensor '%s' maps to '%.200s', which is not a plain file "
                          "name in the model folder",
                          index_path, e->string, e->valuestring);
            goto done;
        }
        n_map++;
    }
    if (n_map == 0) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: weight_map is empty", index_path);
        goto done;
    }
    /* Unique shard names, sorted. */
    char **names = malloc(sizeof *names * n_map);
    if (!names) {
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (const cJSON *e = wm->child; e; e = e->next) names[k++] = e->valuestring;
    qsort(names, n_map, sizeof *names, cmp_str_ptr);
    ck->shard_names = calloc(n_map, sizeof *ck->shard_names);
    if (!ck->shard_names) {
        free(names);
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_map; i++) {
        if (i && !strcmp(names[i], names[i - 1])) continue;
        if (!(ck->shard_names[ck->n_shards++] = strdup(names[i]))) {
            free(names);
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    free(names);
    if ((rc = open_shards(ck, dir))) goto done;

    /* Every mapped tensor must be where the index says. */
    for (const cJSON *e = wm->child; e; e = e->next) {
        size_t s = 0;
        while (strcmp(ck->shard_names[s], e->valuestring)) s++;
        if (!wd_safetensors_find(ck->shards[s], e->string)) {
            rc = wd__fail(WD_ERR_FORMAT,
                          "%s: weight_map: tensor '%s' is mapped to %s, which does not hold it",
                          index_path, e->string, e->valuestring);
            goto done;
        }
    }
    if ((rc = build_index(ck))) goto done;
    if (ck->n_tensors != n_map) /* more in the shards than in the map */
        WD_WARN("%s: the shards hold %zu tensors, the weight_map lists %zu", index_path,
                ck->n_tensors, n_map);
done:
    cJSON_Delete(root);
    return rc;
}

wd_status wd_checkpoint_open(const char *path, wd_checkpoint **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_open: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_open: path is NULL");
    wd_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->path = strdup(path))) {
        free(ck);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    wd_status rc;
    if (!wd__path_exists(path)) {
        rc = wd__fail(WD_ERR_NOT_FOUND, "%s: no such file or folder", path);
    } else if (!wd__path_is_dir(path) && ends_with(path, ".safetensors.index.json")) {
        char *dir = strdup(path);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (!dir) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        else {
            if (slash) *slash = '\0';
            rc = open_index(ck, slash ? (dir[0] ? dir : "/") : ".", path);
        }
        free(dir);
    } else if (!wd__path_is_dir(path)) {
        ck->shard_names = calloc(1, sizeof *ck->shard_names);
        if (!ck->shard_names || !(ck->shard_names[0] = strdup(path))) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        } else {
            ck->n_shards = 1;
            rc = open_shards(ck, NULL);
            if (!rc) rc = build_index(ck);
        }
    } else {
        char *index = wd__path_join(path, "model.safetensors.index.json");
        char *single = wd__path_join(path, "model.safetensors");
        if (!index || !single) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        } else if (wd__path_exists(index)) {
            rc = open_index(ck, path, index);
        } else if (wd__path_exists(single)) {
            ck->shard_names = calloc(1, sizeof *ck->shard_names);
            if (!ck->shard_names || !(ck->shard_names[0] = strdup("model.safetensors"))) {
                rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            } else {
                ck->n_shards = 1;
                rc = open_shards(ck, path);
                if (!rc) rc = build_index(ck);
            }
        } else {
            char *bin = wd__path_join(path, "pytorch_model.bin");
            bool has_bin = bin && wd__path_exists(bin);
            free(bin);
            rc = wd__fail(WD_ERR_NOT_FOUND,
                          "%s: no model.safetensors or model.safetensors.index.json in this folder%s",
                          path, has_bin ? " (pytorch_model.bin is not read: convert it to safetensors)" : "");
        }
        free(index);
        free(single);
    }
    if (rc) {
        wd_checkpoint_free(ck);
        return rc;
    }
    *out = ck;
    return WD_OK;
}

const char *wd_checkpoint_path(const wd_checkpoint *ck) { return ck ? ck->path : ""; }
size_t wd_checkpoint_n_shards(const wd_checkpoint *ck) { return ck ? ck->n_shards : 0; }

const wd_safetensors *wd_checkpoint_shard(const wd_checkpoint *ck, size_t i) {
    return ck && i < ck->n_shards ? ck->shards[i] : NULL;
}

size_t wd_checkpoint_n_tensors(const wd_checkpoint *ck) { return ck ? ck->n_tensors : 0; }

const wd_tensor_info *wd_checkpoint_tensor(const wd_checkpoint *ck, size_t i) {
    return ck && i < ck->n_tensors ? ck->tensors[i] : NULL;
}

const wd_tensor_info *wd_checkpoint_find(const wd_checkpoint *ck, const char *name) {
    if (!ck || !name) return NULL;
    size_t lo = 0, hi = ck->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const wd_tensor_info *t = ck->tensors[ck->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

uint64_t wd_checkpoint_file_bytes(const wd_checkpoint *ck) { return ck ? ck->file_bytes : 0; }
uint64_t wd_checkpoint_n_params(const wd_checkpoint *ck) { return ck ? ck->n_params : 0; }

wd_status wd_checkpoint_read_f32(const wd_checkpoint *ck, const char *name, float *out, size_t n) {
    const wd_tensor_info *t = wd_checkpoint_find(ck, name);
    if (!t)
        return wd__fail(WD_ERR_NOT_FOUND, "%s: no tensor named '%s'", wd_checkpoint_path(ck),
                        name ? name : "(null)");
    return wd_tensor_read_f32(t, out, n);
}
