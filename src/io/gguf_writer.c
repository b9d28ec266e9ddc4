/*
 * io/gguf_writer.c - GGUF v3 writer (warden/gguf.h).
 *
 * Key/values are serialized when set (into one growing buffer per entry),
 * tensors are referenced, not copied. write() lays the file out as the
 * reader expects: header, key/values in the order they were first set,
 * tensor infos with offsets packed in order and each rounded up to the
 * alignment, zero padding to the alignment, then the data, each tensor
 * padded with zeros to the alignment (llama.cpp counts that padding in the
 * data size, the last tensor's included).
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "warden/gguf.h"

/* Appends n bytes to b; false when out of memory. */
static bool buf_put(wd__strbuf *b, const void *src, size_t n) {
    wd__strbuf_add(b, src, n);
    return !b->oom;
}

static bool buf_str(wd__strbuf *b, const char *s, size_t len) {
    uint64_t n = len;
    return buf_put(b, &n, 8) && buf_put(b, s, len);
}

typedef struct wkv {
    char *key;
    wd__strbuf   val; /* type + value as the file holds them */
} wkv;

typedef struct wtensor {
    char        *name;
    wd_ggml_type type;
    int          ndim;
    int64_t      ne[4];
    uint64_t     nbytes;
    const void  *data;
} wtensor;

struct wd_gguf_writer {
    wd__err   err;
    wkv     *kvs;
    size_t   n_kv, cap_kv;
    wtensor *ts;
    size_t   n_t, cap_t;
    uint32_t alignment;
};

wd_status wd_gguf_writer_new(wd_gguf_writer **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_writer_new: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return wd__fail(WD_ERR_NOMEM, "out of memory");
    (*out)->alignment = 32;
    return WD_OK;
}

void wd_gguf_writer_free(wd_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].val.p);
    }
    for (size_t i = 0; i < w->n_t; i++) free(w->ts[i].name);
    free(w->kvs);
    free(w->ts);
    free(w);
}

const char *wd_gguf_writer_last_error(const wd_gguf_writer *w) {
    return w ? wd__err_msg(&w->err) : "";
}

/* The entry for key, emptied for a new value (created when absent). */
static wd_status slot(wd_gguf_writer *w, const char *key, wd__strbuf **out) {
    if (!w || !key || !key[0])
        return wd__err_set(w ? &w->err : NULL, WD_ERR_INVALID_ARG, "gguf writer: empty key");
    for (size_t i = 0; i < w->n_kv; i++) {
        if (!strcmp(w->kvs[i].key, key)) {
            w->kvs[i].val.n = 0;
            w->kvs[i].val.oom = false;
            *out = &w->kvs[i].val;
            return WD_OK;
        }
    }
    if (wd__array_grow((void **)&w->kvs, &w->cap_kv, w->n_kv + 1, sizeof *w->kvs))
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    wkv *k = &w->kvs[w->n_kv];
    memset(k, 0, sizeof *k);
    if (!(k->key = strdup(key))) return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    w->n_kv++;
    *out = &k->val;
    return WD_OK;
}

static wd_status set_scalar(wd_gguf_writer *w, const char *key, wd_gguf_type t, const void *v,
                            size_t n) {
    wd__strbuf *b;
    wd_status rc = slot(w, key, &b);
    if (rc) return rc;
    uint32_t ty = t;
    if (!buf_put(b, &ty, 4) || !buf_put(b, v, n))
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    return WD_OK;
}

wd_status wd_gguf_writer_set_u32(wd_gguf_writer *w, const char *key, uint32_t v) {
    bool align = w && key && !strcmp(key, "general.alignment");
    if (align && (v == 0 || (v & (v - 1))))
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG,
                           "gguf writer: general.alignment %u is not a power of two", v);
    wd_status rc = set_scalar(w, key, WD_GGUF_TYPE_UINT32, &v, 4);
    if (!rc && align) w->alignment = v;
    return rc;
}
wd_status wd_gguf_writer_set_i32(wd_gguf_writer *w, const char *key, int32_t v) {
    return set_scalar(w, key, WD_GGUF_TYPE_INT32, &v, 4);
}
wd_status wd_gguf_writer_set_u64(wd_gguf_writer *w, const char *key, uint64_t v) {
    return set_scalar(w, key, WD_GGUF_TYPE_UINT64, &v, 8);
}
wd_status wd_gguf_writer_set_f32(wd_gguf_writer *w, const char *key, float v) {
    return set_scalar(w, key, WD_GGUF_TYPE_FLOAT32, &v, 4);
}
wd_status wd_gguf_writer_set_bool(wd_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v;
    return set_scalar(w, key, WD_GGUF_TYPE_BOOL, &b, 1);
}

wd_status wd_gguf_writer_set_str(wd_gguf_writer *w, const char *key, const char *v) {
    wd__strbuf *b;
    wd_status rc = slot(w, key, &b);
    if (rc) return rc;
    uint32_t ty = WD_GGUF_TYPE_STRING;
    if (!buf_put(b, &ty, 4) || !buf_str(b, v ? v : "", v ? strlen(v) : 0))
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    return WD_OK;
}

wd_status wd_gguf_writer_set_arr(wd_gguf_writer *w, const char *key, wd_gguf_type et,
                                 const void *data, uint64_t n) {
    static const unsigned size[WD_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if ((unsigned)et >= WD_GGUF_TYPE_COUNT || !size[et] || (n && !data))
        return wd__err_set(w ? &w->err : NULL, WD_ERR_INVALID_ARG,
                           "gguf writer: key '%s': bad array element type", key ? key : "");
    wd__strbuf *b;
    wd_status rc = slot(w, key, &b);
    if (rc) return rc;
    uint32_t ty = WD_GGUF_TYPE_ARRAY, e = et;
    if (!buf_put(b, &ty, 4) || !buf_put(b, &e, 4) || !buf_put(b, &n, 8) ||
        !buf_put(b, data, (size_t)n * size[et]))
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    return WD_OK;
}

wd_status wd_gguf_writer_set_arr_str(wd_gguf_writer *w, const char *key, const char *const *strs,
                                     uint64_t n) {
    wd__strbuf *b;
    wd_status rc = slot(w, key, &b);
    if (rc) return rc;
    uint32_t ty = WD_GGUF_TYPE_ARRAY, e = WD_GGUF_TYPE_STRING;
    bool ok = buf_put(b, &ty, 4) && buf_put(b, &e, 4) && buf_put(b, &n, 8);
    for (uint64_t i = 0; ok && i < n; i++) ok = buf_str(b, strs[i], strlen(strs[i]));
    if (!ok) return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    return WD_OK;
}

wd_status wd_gguf_writer_set_kv(wd_gguf_writer *w, const wd_gguf_kv *kv) {
    if (!kv) return wd__err_set(w ? &w->err : NULL, WD_ERR_INVALID_ARG, "gguf writer: NULL kv");
    switch (kv->type) {
    case WD_GGUF_TYPE_STRING: return wd_gguf_writer_set_str(w, kv->key, kv->str);
    case WD_GGUF_TYPE_ARRAY:
        if (kv->elem_type == WD_GGUF_TYPE_STRING)
            return wd_gguf_writer_set_arr_str(w, kv->key, kv->strs, kv->n);
        return wd_gguf_writer_set_arr(w, kv->key, kv->elem_type, kv->arr, kv->n);
    case WD_GGUF_TYPE_UINT32: return wd_gguf_writer_set_u32(w, kv->key, (uint32_t)kv->u64);
    default: break;
    }
    /* other scalars: re-encoded in their own type from the widened value */
    unsigned char b[8];
    size_t n = 0;
    switch (kv->type) {
    case WD_GGUF_TYPE_UINT8: case WD_GGUF_TYPE_INT8: case WD_GGUF_TYPE_BOOL: b[0] = (unsigned char)kv->u64; n = 1; break;
    case WD_GGUF_TYPE_UINT16: case WD_GGUF_TYPE_INT16: { uint16_t v = (uint16_t)kv->u64; memcpy(b, &v, 2); n = 2; break; }
    case WD_GGUF_TYPE_INT32: { int32_t v = (int32_t)kv->i64; memcpy(b, &v, 4); n = 4; break; }
    case WD_GGUF_TYPE_UINT64: case WD_GGUF_TYPE_INT64: memcpy(b, &kv->u64, 8); n = 8; break;
    case WD_GGUF_TYPE_FLOAT32: { float v = (float)kv->f64; memcpy(b, &v, 4); n = 4; break; }
    case WD_GGUF_TYPE_FLOAT64: memcpy(b, &kv->f64, 8); n = 8; break;
    default:
        return wd__err_set(w ? &w->err : NULL, WD_ERR_INVALID_ARG, "gguf writer: key '%s': bad type",
                           kv->key ? kv->key : "");
    }
    return set_scalar(w, kv->key, kv->type, b, n);
}

wd_status wd_gguf_writer_add_tensor(wd_gguf_writer *w, const char *name, wd_ggml_type type,
                                    const int64_t *ne, int ndim, const void *data) {
    if (!w || !name || !name[0] || !ne)
        return wd__err_set(w ? &w->err : NULL, WD_ERR_INVALID_ARG, "gguf writer: empty tensor name");
    size_t blck = wd_ggml_type_block_size(type), tsz = wd_ggml_type_size(type);
    if (!blck)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "gguf writer: tensor '%s': unknown type %d",
                           name, (int)type);
    if (ndim < 1 || ndim > 4)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "gguf writer: tensor '%s': %d dimensions",
                           name, ndim);
    wtensor t = {.type = type, .ndim = ndim, .ne = {1, 1, 1, 1}, .data = data};
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (ne[d] < 0 || (ne[d] && n > (uint64_t)INT64_MAX / (uint64_t)ne[d]))
            return wd__err_set(&w->err, WD_ERR_INVALID_ARG,
                               "gguf writer: tensor '%s': bad dimension %lld", name, (long long)ne[d]);
        t.ne[d] = ne[d];
        n *= (uint64_t)ne[d];
    }
    if (ne[0] % (int64_t)blck)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG,
                           "gguf writer: tensor '%s': row of %lld is not a multiple of %s's block "
                           "size %zu",
                           name, (long long)ne[0], wd_ggml_type_name(type), blck);
    t.nbytes = n / blck * tsz;
    if (t.nbytes && !data)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "gguf writer: tensor '%s': no data", name);
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->ts[i].name, name))
            return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "gguf writer: tensor '%s' added twice",
                               name);
    if (wd__array_grow((void **)&w->ts, &w->cap_t, w->n_t + 1, sizeof *w->ts))
        return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    if (!(t.name = strdup(name))) return wd__err_set(&w->err, WD_ERR_NOMEM, "out of memory");
    w->ts[w->n_t++] = t;
    return WD_OK;
}

static uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

wd_status wd_gguf_writer_write(wd_gguf_writer *w, const char *path) {
    if (!w || !path) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_writer_write: NULL argument");
    wd__strbuf h = {0};
    uint32_t version = 3;
    uint64_t n_t = w->n_t, n_kv = w->n_kv;
    bool ok = buf_put(&h, "GGUF", 4) && buf_put(&h, &version, 4) && buf_put(&h, &n_t, 8) &&
              buf_put(&h, &n_kv, 8);
    for (size_t i = 0; ok && i < w->n_kv; i++)
        ok = buf_str(&h, w->kvs[i].key, strlen(w->kvs[i].key)) &&
             buf_put(&h, w->kvs[i].val.p, w->kvs[i].val.n);
    uint64_t off = 0;
    for (size_t i = 0; ok && i < w->n_t; i++) {
        const wtensor *t = &w->ts[i];
        uint32_t nd = (uint32_t)t->ndim, ty = t->type;
        ok = buf_str(&h, t->name, strlen(t->name)) && buf_put(&h, &nd, 4) &&
             buf_put(&h, t->ne, 8 * nd) && buf_put(&h, &ty, 4) && buf_put(&h, &off, 8);
        off += pad_to(t->nbytes, w->alignment);
    }
    static const unsigned char zeros[256];
    size_t hpad = (size_t)(pad_to(h.n, w->alignment) - h.n);
    while (ok && hpad) {
        size_t k = hpad < sizeof zeros ? hpad : sizeof zeros;
        ok = buf_put(&h, zeros, k);
        hpad -= k;
    }
    if (!ok) {
        free(h.p);
        return wd__err_set(&w->err, WD_ERR_NOMEM, "%s: out of memory", path);
    }
    wd__atomic_file af;
    wd_status rc = wd__atomic_open(&af, path);
    if (rc) {
        free(h.p);
        return wd__err_take(&w->err, rc);
    }
    ok = fwrite(h.p, 1, h.n, af.fp) == h.n;
    free(h.p);
    for (size_t i = 0; ok && i < w->n_t; i++) {
        const wtensor *t = &w->ts[i];
        if (t->nbytes) ok = fwrite(t->data, 1, (size_t)t->nbytes, af.fp) == t->nbytes;
        size_t p = (size_t)(pad_to(t->nbytes, w->alignment) - t->nbytes);
        while (ok && p) {
            size_t k = p < sizeof zeros ? p : sizeof zeros;
            ok = fwrite(zeros, 1, k, af.fp) == k;
            p -= k;
        }
    }
    if (!ok) {
        wd__atomic_abort(&af);
        return wd__err_set(&w->err, WD_ERR_IO, "%s: write failed", path);
    }
    rc = wd__atomic_commit(&af);
    if (rc) return wd__err_take(&w->err, rc);
    return WD_OK;
}
