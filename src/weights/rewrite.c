/*
 * weights/rewrite.c - a model folder copied shard by shard with some of its
 * tensors changed (see rewrite.h).
 */
#include "weights/rewrite.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/file.h"
#include "io/folder.h"
#include "warden/checkpoint.h"
#include "warden/ops.h"

static bool is_float(wd_dtype t) {
    return t == WD_DTYPE_F32 || t == WD_DTYPE_F16 || t == WD_DTYPE_BF16 || t == WD_DTYPE_F64;
}

typedef struct copy_spec {
    const char *from, *to;
} copy_spec;

/* One shard: its tensors through fn into staging/name (and cp->from's
 * original as cp->to, when it is in this shard). */
static wd_status shard(const wd_safetensors *st, const char *dir, wd__rewrite_fn fn, void *user,
                       const copy_spec *cp, wd__err *err) {
    size_t n = wd_safetensors_n_tensors(st);
    void **bufs = calloc(n ? n : 1, sizeof *bufs);
    wd_safetensors_writer *w = NULL;
    wd_status rc = bufs ? wd_safetensors_writer_new(&w) : WD_ERR_NOMEM;
    if (rc) {
        free(bufs);
        return wd__err_set(err, rc, "out of memory");
    }
    for (size_t i = 0; i < wd_safetensors_n_metadata(st) && !rc; i++) {
        const char *k, *v;
        if (!wd_safetensors_metadata(st, i, &k, &v)) rc = wd_safetensors_writer_add_metadata(w, k, v);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const wd_tensor_info *t = wd_safetensors_tensor(st, i);
        const void *data = t->data;
        wd_dtype dt = t->dtype;
        if (is_float(t->dtype)) {
            float *f = malloc((t->n_elem ? t->n_elem : 1) * sizeof *f);
            if (!f) {
                rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
                break;
            }
            bufs[i] = f;
            if ((rc = wd_tensor_read_f32(t, f, t->n_elem))) {
                wd__err_take(err, rc);
                break;
            }
            if ((rc = fn(user, t->name, f, t->shape, t->ndim, err))) break;
            if (t->dtype == WD_DTYPE_F16 || t->dtype == WD_DTYPE_BF16) {
                uint16_t *h = (uint16_t *)f; /* narrowed in place: reads run ahead of writes */
                if (t->dtype == WD_DTYPE_F16) wd_f32_to_f16(h, f, t->n_elem);
                else wd_f32_to_bf16(h, f, t->n_elem);
            } else if (t->dtype == WD_DTYPE_F64) {
                dt = WD_DTYPE_F32; /* F64 is written as F32 */
            }
            data = f;
        }
        rc = wd_safetensors_writer_add(w, t->name, dt, t->shape, t->ndim, data);
        if (rc) wd__err_set(err, rc, "%s: %s", t->name, wd_safetensors_writer_last_error(w));
        if (!rc && cp && !strcmp(t->name, cp->from)) {
            rc = wd_safetensors_writer_add(w, cp->to, t->dtype == WD_DTYPE_F64 ? WD_DTYPE_F32 : t->dtype,
                                           t->shape, t->ndim, t->dtype == WD_DTYPE_F64 ? NULL : t->data);
            if (rc || t->dtype == WD_DTYPE_F64)
                rc = wd__err_set(err, rc ? rc : WD_ERR_UNSUPPORTED, "%s: cannot copy as %s", t->name, cp->to);
        }
    }
    if (!rc) {
        const char *path = wd_safetensors_path(st), *base = strrchr(path, '/');
        char *dst = wd__path_join(dir, base ? base + 1 : path);
        if (!dst) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        else if ((rc = wd_safetensors_writer_write(w, dst)))
            wd__err_set(err, rc, "%s", wd_safetensors_writer_last_error(w));
        free(dst);
    }
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    wd_safetensors_writer_free(w);
    return rc;
}

/* The index of in_dir with copy_to mapped to copy_from's shard, into stage. */
static wd_status index_copy(const char *in_dir, const char *stage, const copy_spec *cp, wd__err *err) {
    if (!cp) return wd__folder_copy_file(in_dir, stage, "model.safetensors.index.json", true, err);
    char *src = wd__path_join(in_dir, "model.safetensors.index.json"), *buf = NULL, *text = NULL;
    char *dst = wd__path_join(stage, "model.safetensors.index.json");
    size_t len = 0;
    cJSON *j = NULL;
    wd_status rc = WD_OK;
    if (!src || !dst) {
        rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    } else if ((rc = wd__file_read(src, 1 << 26, &buf, &len))) {
        wd__err_take(err, rc);
    } else {
        j = cJSON_ParseWithLength(buf, len);
        cJSON *map = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
        cJSON *from = cJSON_GetObjectItemCaseSensitive(map, cp->from);
        if (!cJSON_IsString(from)) {
            rc = wd__err_set(err, WD_ERR_FORMAT, "%s: weight_map has no '%s'", src, cp->from);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(map, cp->to);
            cJSON_AddStringToObject(map, cp->to, from->valuestring);
            if (!(text = cJSON_Print(j))) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            else if ((rc = wd__file_write_atomic(dst, text, strlen(text)))) wd__err_take(err, rc);
        }
    }
    cJSON_Delete(j);
    free(src), free(dst), free(buf), free(text);
    return rc;
}

wd_status wd__rewrite(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                      void *user, wd__err *err) {
    return wd__rewrite_copy(in_dir, out, patch, fn, user, NULL, NULL, err);
}

wd_status wd__rewrite_copy(const char *in_dir, const char *out, const char *patch, wd__rewrite_fn fn,
                           void *user, const char *copy_from, const char *copy_to, wd__err *err) {
    copy_spec cs = {copy_from, copy_to}, *cp = copy_from && copy_to ? &cs : NULL;
    wd_checkpoint *ck = NULL;
    wd_status rc = wd_checkpoint_open(in_dir, &ck);
    if (rc) return wd__err_take(err, rc);
    char *stage = NULL;
    if ((rc = wd__folder_stage(out, &stage, err))) {
        wd_checkpoint_free(ck);
        return rc;
    }
    for (size_t s = 0; s < wd_checkpoint_n_shards(ck) && !rc; s++)
        rc = shard(wd_checkpoint_shard(ck, s), stage, fn, user, cp, err);
    if (!rc && cp && !wd_checkpoint_find(ck, copy_from))
        rc = wd__err_set(err, WD_ERR_NOT_FOUND, "%s: no tensor '%s'", in_dir, copy_from);
    if (!rc && wd_checkpoint_n_shards(ck) > 1) rc = index_copy(in_dir, stage, cp, err);
    if (!rc) rc = wd__folder_copy_meta(in_dir, stage, patch, err);
    wd_checkpoint_free(ck);
    if (rc) {
        wd__folder_abort(stage);
        return rc;
    }
    return wd__folder_commit(stage, out, err);
}
