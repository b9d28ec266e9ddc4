/*
 * io/checkpoint_writer.c - streams a model folder's weights into safetensors
 * shards (warden/checkpoint.h), one tensor at a time.
 *
 * The plan (names, dtypes, shapes) is known before any byte, so every
 * shard's header is written when the shard opens and the tensor bytes follow
 * as the caller produces them:
 *
 *   plan:   t0 t1 t2 t3 t4 ...            (declaration order)
 *   shards: [t0 t1][t2 t3][t4 ...]        (greedy fill up to max_shard_bytes)
 *   order:  each shard sorted widest dtype first (stable), as the one-file
 *           writer does: that is the order the caller must write in.
 *
 * Files: each shard goes to ".NAME.tmp-XXXXXX" in the folder (base/file.h's
 * atomic file, committed by hand here): closed and fsync'd when its last
 * byte is written, renamed to NAME only in finish, after every shard is
 * complete. Any failure removes the temporaries (and, in finish, the shards
 * already renamed), so the folder never holds a partial set of weights.
 *
 * Invariants: after begin, seq[0..n) is the order of writing (indices into
 * e[]), shard_of[i] is e[i]'s shard, cur indexes seq, done_bytes counts the
 * bytes of seq[cur] already written.
 */
#include "warden/checkpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/strbuf.h"
#include "io/safetensors_internal.h"

typedef struct {
    wd__atomic_file af;      /* fp open while being written; tmp_path until renamed */
    char           *name;    /* file name in the folder */
    size_t          first, n; /* its tensors: seq[first .. first + n) */
    bool            renamed;
} shard;

struct wd_checkpoint_writer {
    char          *dir;
    uint64_t       max_shard;
    wd__st_entry  *e;
    size_t         n, cap;
    char         **meta_keys, **meta_vals;
    size_t         n_meta;
    bool           begun, finished, dead;
    size_t        *seq;
    size_t        *shard_of;
    shard         *shards;
    size_t         n_shards;
    size_t         cur;
    size_t         done_bytes;
    uint64_t       bytes;
    wd__err        err;
};

wd_status wd_checkpoint_writer_new(const char *dir, uint64_t max_shard_bytes,
                                   wd_checkpoint_writer **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_writer_new: out is NULL");
    *out = NULL;
    if (!dir || !dir[0]) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_writer_new: no folder");
    wd_checkpoint_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    w->max_shard = max_shard_bytes;
    *out = w;
    return WD_OK;
}

static void remove_files(wd_checkpoint_writer *w) {
    for (size_t s = 0; s < w->n_shards; s++) {
        shard *sh = &w->shards[s];
        if (sh->renamed && sh->af.path) unlink(sh->af.path);
        wd__atomic_abort(&sh->af); /* closes, unlinks the temporary, frees */
    }
}

void wd_checkpoint_writer_free(wd_checkpoint_writer *w) {
    if (!w) return;
    if (!w->finished) remove_files(w);
    for (size_t s = 0; s < w->n_shards; s++) free(w->shards[s].name);
    wd__st_free(w->e, w->n, w->meta_keys, w->meta_vals, w->n_meta);
    free(w->seq);
    free(w->shard_of);
    free(w->shards);
    free(w->dir);
    free(w);
}

const char *wd_checkpoint_writer_last_error(const wd_checkpoint_writer *w) {
    return w ? wd__err_msg(&w->err) : "";
}

size_t wd_checkpoint_writer_n_shards(const wd_checkpoint_writer *w) { return w ? w->n_shards : 0; }
uint64_t wd_checkpoint_writer_bytes(const wd_checkpoint_writer *w) { return w ? w->bytes : 0; }

/* ==== the plan ============================================================ */

wd_status wd_checkpoint_writer_add(wd_checkpoint_writer *w, const char *name, wd_dtype dtype,
                                   const int64_t *shape, int ndim) {
    if (!w) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_writer_add: writer is NULL");
    if (w->begun)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: tensor '%s' declared after begin", w->dir,
                           name ? name : "(null)");
    char msg[512];
    size_t nbytes;
    if (wd__st_check_entry(name, dtype, shape, ndim, &nbytes, msg, sizeof msg))
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: %s", w->dir, msg);
    /* Repeats are found in begin (sorted), not here: a plan has 100k+ names. */
    if (wd__st_push(&w->e, &w->n, &w->cap, name, dtype, shape, ndim, nbytes, NULL))
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    return WD_OK;
}

wd_status wd_checkpoint_writer_add_metadata(wd_checkpoint_writer *w, const char *key,
                                            const char *value) {
    if (!w || !key || !value)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_writer_add_metadata: NULL argument");
    if (w->begun) return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: metadata after begin", w->dir);
    char **nk = realloc(w->meta_keys, (w->n_meta + 1) * sizeof *nk);
    if (nk) w->meta_keys = nk;
    char **nv = nk ? realloc(w->meta_vals, (w->n_meta + 1) * sizeof *nv) : NULL;
    if (nv) w->meta_vals = nv;
    char *k = nv ? strdup(key) : NULL, *v = k ? strdup(value) : NULL;
    if (!v) {
        free(k);
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    }
    w->meta_keys[w->n_meta] = k;
    w->meta_vals[w->n_meta] = v;
    w->n_meta++;
    return WD_OK;
}

static int cmp_name_idx(const void *a, const void *b, void *ctx) {
    const wd__st_entry *e = ctx;
    return strcmp(e[*(const size_t *)a].name, e[*(const size_t *)b].name);
}

static int cmp_entry_ptr_layout(const void *a, const void *b) { return wd__st_cmp_layout(a, b); }

wd_status wd_checkpoint_writer_begin(wd_checkpoint_writer *w) {
    if (!w) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_writer_begin: writer is NULL");
    if (w->begun) return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: begin called twice", w->dir);
    if (!w->n) return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: no tensor to write", w->dir);
    w->seq = malloc(w->n * sizeof *w->seq);
    w->shard_of = malloc(w->n * sizeof *w->shard_of);
    w->shards = calloc(w->n, sizeof *w->shards); /* at most one shard per tensor */
    wd__st_entry **tmp = malloc(w->n * sizeof *tmp);
    if (!w->seq || !w->shard_of || !w->shards || !tmp) {
        free(tmp);
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    }
    /* Names must be unique. */
    for (size_t i = 0; i < w->n; i++) w->seq[i] = i;
    qsort_r(w->seq, w->n, sizeof *w->seq, cmp_name_idx, w->e);
    for (size_t i = 1; i < w->n; i++)
        if (!strcmp(w->e[w->seq[i]].name, w->e[w->seq[i - 1]].name)) {
            free(tmp);
            return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: tensor '%s' declared twice", w->dir,
                               w->e[w->seq[i]].name);
        }
    /* Greedy shards in declaration order. */
    uint64_t fill = 0;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t b = w->e[i].nbytes;
        if (i == 0 || (w->max_shard && fill > 0 && fill + b > w->max_shard)) {
            w->shards[w->n_shards++].first = i;
            fill = 0;
        }
        w->shards[w->n_shards - 1].n++;
        w->shard_of[i] = w->n_shards - 1;
        fill += b;
    }
    /* Writing order: within each shard, widest first (stable). */
    for (size_t s = 0; s < w->n_shards; s++) {
        shard *sh = &w->shards[s];
        for (size_t k = 0; k < sh->n; k++) tmp[k] = &w->e[sh->first + k];
        qsort(tmp, sh->n, sizeof *tmp, cmp_entry_ptr_layout);
        for (size_t k = 0; k < sh->n; k++) w->seq[sh->first + k] = (size_t)(tmp[k] - w->e);
        char name[64];
        if (w->n_shards == 1) snprintf(name, sizeof name, "model.safetensors");
        else snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, w->n_shards);
        if (!(sh->name = strdup(name))) {
            free(tmp);
            return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
        }
    }
    free(tmp);
    w->begun = true;
    return WD_OK;
}

bool wd_checkpoint_writer_next(const wd_checkpoint_writer *w, size_t *index) {
    if (!w || !w->begun || w->dead || w->cur >= w->n) return false;
    if (index) *index = w->seq[w->cur];
    return true;
}

/* ==== writing ============================================================= */

static wd_status die(wd_checkpoint_writer *w, wd_status st) {
    w->dead = true;
    remove_files(w);
    return st;
}

/* Opens shard s's temporary and writes its header. */
static wd_status open_shard(wd_checkpoint_writer *w, size_t s) {
    shard *sh = &w->shards[s];
    char *path = wd__path_join(w->dir, sh->name);
    wd__st_entry **order = malloc(sh->n * sizeof *order);
    if (!path || !order) {
        free(path);
        free(order);
        return die(w, wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory"));
    }
    for (size_t k = 0; k < sh->n; k++) order[k] = &w->e[w->seq[sh->first + k]];
    wd__strbuf h = {0};
    wd__st_header(&h, w->meta_keys, w->meta_vals, w->n_meta, order, sh->n);
    free(order);
    wd_status rc = h.oom ? wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory") : WD_OK;
    if (!rc && (rc = wd__atomic_open(&sh->af, path))) wd__err_take(&w->err, rc);
    free(path);
    if (rc) {
        wd__strbuf_free(&h);
        return die(w, rc);
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    bool ok = fwrite(len8, 1, 8, sh->af.fp) == 8 && fwrite(h.p, 1, h.n, sh->af.fp) == h.n;
    w->bytes += 8 + h.n;
    wd__strbuf_free(&h);
    if (!ok) return die(w, wd__err_set(&w->err, WD_ERR_IO, "%s/%s: write failed", w->dir, sh->name));
    return WD_OK;
}

/* Flushes, syncs and closes shard s's temporary (renamed in finish). */
static wd_status close_shard(wd_checkpoint_writer *w, size_t s) {
    shard *sh = &w->shards[s];
    FILE *fp = sh->af.fp;
    sh->af.fp = NULL;
    bool ok = fflush(fp) == 0 && !ferror(fp) && fsync(fileno(fp)) == 0;
    if (fclose(fp) != 0) ok = false;
    if (!ok) return die(w, wd__err_set(&w->err, WD_ERR_IO, "%s/%s: write failed", w->dir, sh->name));
    return WD_OK;
}

wd_status wd_checkpoint_writer_write(wd_checkpoint_writer *w, const void *data, size_t n) {
    if (!w) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_writer_write: writer is NULL");
    if (w->dead) return wd__err_set(&w->err, WD_ERR_IO, "%s: the writer failed before", w->dir);
    if (!w->begun) return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: write before begin", w->dir);
    if (w->cur >= w->n)
        return wd__err_set(&w->err, WD_ERR_RANGE, "%s: every tensor is already written", w->dir);
    const wd__st_entry *e = &w->e[w->seq[w->cur]];
    if (n > e->nbytes - w->done_bytes)
        return wd__err_set(&w->err, WD_ERR_RANGE, "%s: tensor '%s': %zu bytes given, %zu left to write",
                           w->dir, e->name, n, e->nbytes - w->done_bytes);
    if (n && !data)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: tensor '%s': data is NULL", w->dir, e->name);
    size_t s = w->shard_of[w->seq[w->cur]];
    wd_status rc;
    if (!w->shards[s].af.fp && !w->shards[s].af.tmp_path && (rc = open_shard(w, s))) return rc;
    if (n && fwrite(data, 1, n, w->shards[s].af.fp) != n)
        return die(w, wd__err_set(&w->err, WD_ERR_IO, "%s/%s: write failed (tensor '%s')", w->dir,
                                  w->shards[s].name, e->name));
    w->bytes += n;
    w->done_bytes += n;
    /* Tensors with no bytes complete at once, so loop. */
    while (w->cur < w->n && w->done_bytes == w->e[w->seq[w->cur]].nbytes) {
        w->cur++;
        w->done_bytes = 0;
        size_t next_shard = w->cur < w->n ? w->shard_of[w->seq[w->cur]] : w->n_shards;
        if (next_shard != s) {
            if ((rc = close_shard(w, s))) return rc;
            if (w->cur < w->n) {
                s = next_shard;
                if ((rc = open_shard(w, s))) return rc;
            }
        }
    }
    return WD_OK;
}

/* ==== finishing =========================================================== */

static wd_status write_index(wd_checkpoint_writer *w) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    uint64_t total = 0;
    for (size_t i = 0; i < w->n; i++) total += w->e[i].nbytes;
    cJSON_AddNumberToObject(meta, "total_size", (double)total);
    cJSON *wm = cJSON_AddObjectToObject(root, "weight_map");
    size_t *by_name = malloc(w->n * sizeof *by_name);
    if (by_name) {
        for (size_t i = 0; i < w->n; i++) by_name[i] = i;
        qsort_r(by_name, w->n, sizeof *by_name, cmp_name_idx, w->e);
        for (size_t i = 0; i < w->n; i++)
            cJSON_AddStringToObject(wm, w->e[by_name[i]].name, w->shards[w->shard_of[by_name[i]]].name);
        free(by_name);
    }
    char *text = by_name ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    char *path = wd__path_join(w->dir, "model.safetensors.index.json");
    wd_status rc;
    if (!text || !path) rc = wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    else if ((rc = wd__file_write_atomic(path, text, strlen(text)))) wd__err_take(&w->err, rc);
    free(text);
    free(path);
    return rc;
}

wd_status wd_checkpoint_writer_finish(wd_checkpoint_writer *w) {
    if (!w) return wd__fail(WD_ERR_INVALID_ARG, "wd_checkpoint_writer_finish: writer is NULL");
    if (w->dead) return wd__err_set(&w->err, WD_ERR_IO, "%s: the writer failed before", w->dir);
    if (!w->begun || w->cur < w->n)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "%s: %zu of %zu tensors written; finish needs all",
                           w->dir, w->begun ? w->cur : 0, w->n);
    for (size_t s = 0; s < w->n_shards; s++) {
        shard *sh = &w->shards[s];
        if (rename(sh->af.tmp_path, sh->af.path) != 0)
            return die(w, wd__err_set(&w->err, WD_ERR_IO, "%s: cannot move into place", sh->af.path));
        sh->renamed = true;
        free(sh->af.tmp_path); /* nothing to remove any more */
        sh->af.tmp_path = NULL;
    }
    wd_status rc = WD_OK;
    const char *stale = w->n_shards == 1 ? "model.safetensors.index.json" : "model.safetensors";
    if (w->n_shards > 1) rc = write_index(w);
    if (rc) return die(w, rc);
    char *sp = wd__path_join(w->dir, stale);
    if (sp) unlink(sp);
    free(sp);
    int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* the renames, durable */
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    for (size_t s = 0; s < w->n_shards; s++) wd__atomic_abort(&w->shards[s].af); /* frees the path */
    w->finished = true;
    return WD_OK;
}
