/*
 * io/safetensors_writer.c - writes safetensors files (format and layout
 * rules: warden/safetensors.h).
 *
 * Layout written, for tensors t0..tk after a stable sort on element size
 * (widest first, so every tensor starts at a multiple of its element size
 * without gaps, as the reference reader requires contiguous data):
 *
 *   [u64 LE N][{"__metadata__":{..},"t0":{"dtype":..,"shape":[..],
 *   "data_offsets":[0,b0]},"t1":{..}}<spaces to make 8+N a multiple of 8>]
 *   [t0 bytes][t1 bytes]...
 *
 * The JSON is produced here, not by cJSON, so the bytes are fixed: no
 * whitespace, integers printed exactly, strings escaped per RFC 8259
 * (", \, and control characters; other bytes verbatim).
 */
#include "warden/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/strbuf.h"
#include "io/safetensors_internal.h"

typedef wd__st_entry entry;

struct wd_safetensors_writer {
    entry  *e;
    size_t  n, cap;
    char  **meta_keys, **meta_vals;
    size_t  n_meta, cap_meta;
    wd__err  err;
};

/* ==== the header as JSON ================================================ */

static void put_json_string(wd__strbuf *b, const char *s) {
    wd__strbuf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': wd__strbuf_add(b, "\\\"", 2); break;
        case '\\': wd__strbuf_add(b, "\\\\", 2); break;
        case '\n': wd__strbuf_add(b, "\\n", 2); break;
        case '\r': wd__strbuf_add(b, "\\r", 2); break;
        case '\t': wd__strbuf_add(b, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                wd__strbuf_add(b, esc, 6);
            } else {
                wd__strbuf_add(b, (const char *)p, 1);
            }
        }
    }
    wd__strbuf_add(b, "\"", 1);
}

void wd__st_header(wd__strbuf *h, char *const *meta_keys, char *const *meta_vals, size_t n_meta,
                   wd__st_entry *const *e, size_t n) {
    wd__strbuf_puts(h, "{");
    bool first = true;
    if (n_meta) {
        wd__strbuf_puts(h, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i) wd__strbuf_puts(h, ",");
            put_json_string(h, meta_keys[i]);
            wd__strbuf_puts(h, ":");
            put_json_string(h, meta_vals[i]);
        }
        wd__strbuf_puts(h, "}");
        first = false;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (!first) wd__strbuf_puts(h, ",");
        first = false;
        put_json_string(h, e[i]->name);
        wd__strbuf_puts(h, ":{\"dtype\":\"");
        wd__strbuf_puts(h, wd_dtype_name(e[i]->dtype));
        wd__strbuf_puts(h, "\",\"shape\":[");
        for (int d = 0; d < e[i]->ndim; d++)
            wd__strbuf_printf(h, d ? ",%lld" : "%lld", (long long)e[i]->shape[d]);
        wd__strbuf_printf(h, "],\"data_offsets\":[%lld", (long long)off);
        off += e[i]->nbytes;
        wd__strbuf_printf(h, ",%lld]}", (long long)off);
    }
    wd__strbuf_puts(h, "}");
    while (!h->oom && h->n % 8 != 0) wd__strbuf_puts(h, " "); /* 8 + N stays a multiple of 8 */
}

/* ==== the writer ======================================================== */

wd_status wd_safetensors_writer_new(wd_safetensors_writer **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_writer_new: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
}

void wd_safetensors_writer_free(wd_safetensors_writer *w) {
    if (!w) return;
    wd__st_free(w->e, w->n, w->meta_keys, w->meta_vals, w->n_meta);
    free(w);
}

const char *wd_safetensors_writer_last_error(const wd_safetensors_writer *w) {
    return w ? wd__err_msg(&w->err) : "";
}

void wd__st_free(wd__st_entry *e, size_t n, char **meta_keys, char **meta_vals, size_t n_meta) {
    for (size_t i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].shape);
    }
    for (size_t i = 0; i < n_meta; i++) {
        free(meta_keys[i]);
        free(meta_vals[i]);
    }
    free(e);
    free(meta_keys);
    free(meta_vals);
}

wd_status wd__st_push(wd__st_entry **e, size_t *n, size_t *cap, const char *name, wd_dtype dtype,
                      const int64_t *shape, int ndim, size_t nbytes, const void *data) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        wd__st_entry *ne = realloc(*e, c * sizeof *ne);
        if (!ne) return WD_ERR_NOMEM;
        *e = ne;
        *cap = c;
    }
    wd__st_entry *x = &(*e)[*n];
    memset(x, 0, sizeof *x);
    x->name = strdup(name);
    x->shape = malloc(sizeof(int64_t) * (ndim ? (size_t)ndim : 1));
    if (!x->name || !x->shape) {
        free(x->name);
        free(x->shape);
        return WD_ERR_NOMEM;
    }
    if (ndim) memcpy(x->shape, shape, sizeof(int64_t) * (size_t)ndim);
    x->ndim = ndim;
    x->dtype = dtype;
    x->nbytes = nbytes;
    x->data = data;
    x->order = (*n)++;
    return WD_OK;
}

wd_status wd__st_check_entry(const char *name, wd_dtype dtype, const int64_t *shape, int ndim,
                             size_t *nbytes, char *msg, size_t msg_size) {
    *nbytes = 0;
    if (!name || !name[0]) {
        snprintf(msg, msg_size, "empty tensor name");
        return WD_ERR_INVALID_ARG;
    }
    if (!strcmp(name, "__metadata__")) {
        snprintf(msg, msg_size, "'__metadata__' is reserved, not a tensor name");
        return WD_ERR_INVALID_ARG;
    }
    if ((unsigned)dtype >= WD_DTYPE_COUNT) {
        snprintf(msg, msg_size, "tensor '%s': bad dtype %d", name, (int)dtype);
        return WD_ERR_INVALID_ARG;
    }
    if (ndim < 0 || (ndim > 0 && !shape)) {
        snprintf(msg, msg_size, "tensor '%s': bad shape", name);
        return WD_ERR_INVALID_ARG;
    }
    uint64_t n_elem = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) {
            snprintf(msg, msg_size, "tensor '%s': shape[%d] is negative", name, d);
            return WD_ERR_INVALID_ARG;
        }
        if (shape[d] && n_elem > (uint64_t)(1ull << 53) / (uint64_t)shape[d]) {
            snprintf(msg, msg_size, "tensor '%s': too many elements", name);
            return WD_ERR_INVALID_ARG;
        }
        n_elem *= (uint64_t)shape[d];
    }
    uint64_t nb = n_elem * wd_dtype_size(dtype);
    if (nb > (1ull << 53) || nb > SIZE_MAX) {
        snprintf(msg, msg_size, "tensor '%s': too large", name);
        return WD_ERR_INVALID_ARG;
    }
    *nbytes = (size_t)nb;
    return WD_OK;
}

wd_status wd_safetensors_writer_add(wd_safetensors_writer *w, const char *name, wd_dtype dtype,
                                    const int64_t *shape, int ndim, const void *data) {
    if (!w) return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_writer_add: writer is NULL");
    char msg[512];
    size_t nbytes;
    if (wd__st_check_entry(name, dtype, shape, ndim, &nbytes, msg, sizeof msg))
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "safetensors writer: %s", msg);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].name, name))
            return wd__err_set(&w->err, WD_ERR_INVALID_ARG,
                               "safetensors writer: tensor '%s' added twice", name);
    if (nbytes && !data)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "safetensors writer: tensor '%s': data is NULL",
                           name);
    if (wd__st_push(&w->e, &w->n, &w->cap, name, dtype, shape, ndim, nbytes, data))
        return wd__err_set(&w->err, WD_ERR_NOMEM, "safetensors writer: out of memory");
    return WD_OK;
}

wd_status wd_safetensors_writer_add_metadata(wd_safetensors_writer *w, const char *key,
                                             const char *value) {
    if (!w) return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_writer_add_metadata: writer is NULL");
    if (!key || !value)
        return wd__err_set(&w->err, WD_ERR_INVALID_ARG, "safetensors writer: NULL metadata key or value");
    char *v = strdup(value);
    if (!v) return wd__err_set(&w->err, WD_ERR_NOMEM, "safetensors writer: out of memory");
    for (size_t i = 0; i < w->n_meta; i++) {
        if (!strcmp(w->meta_keys[i], key)) {
            free(w->meta_vals[i]);
            w->meta_vals[i] = v;
            return WD_OK;
        }
    }
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **nk = realloc(w->meta_keys, cap * sizeof *nk);
        if (nk) w->meta_keys = nk;
        char **nv = nk ? realloc(w->meta_vals, cap * sizeof *nv) : NULL;
        if (nv) w->meta_vals = nv;
        if (!nk || !nv) {
            free(v);
            return wd__err_set(&w->err, WD_ERR_NOMEM, "safetensors writer: out of memory");
        }
        w->cap_meta = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return wd__err_set(&w->err, WD_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->meta_keys[w->n_meta] = k;
    w->meta_vals[w->n_meta] = v;
    w->n_meta++;
    return WD_OK;
}

/* Widest element first; insertion order among equals. */
int wd__st_cmp_layout(const void *a, const void *b) {
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    size_t sx = wd_dtype_size(x->dtype), sy = wd_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

wd_status wd_safetensors_writer_write(wd_safetensors_writer *w, const char *path) {
    if (!w || !path) return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_writer_write: NULL argument");
    entry **order = malloc(sizeof *order * (w->n ? w->n : 1));
    if (!order) return wd__err_set(&w->err, WD_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < w->n; i++) order[i] = &w->e[i];
    qsort(order, w->n, sizeof *order, wd__st_cmp_layout);

    wd__strbuf h = {0};
    wd__st_header(&h, w->meta_keys, w->meta_vals, w->n_meta, order, w->n);
    if (h.oom) {
        free(h.p);
        free(order);
        return wd__err_set(&w->err, WD_ERR_NOMEM, "%s: out of memory", path);
    }

    wd__atomic_file af;
    wd_status rc = wd__atomic_open(&af, path);
    if (rc) {
        free(h.p);
        free(order);
        return wd__err_take(&w->err, rc);
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    bool ok = fwrite(len8, 1, 8, af.fp) == 8 && fwrite(h.p, 1, h.n, af.fp) == h.n;
    for (size_t i = 0; ok && i < w->n; i++)
        if (order[i]->nbytes) ok = fwrite(order[i]->data, 1, order[i]->nbytes, af.fp) == order[i]->nbytes;
    free(h.p);
    free(order);
    if (!ok) {
        wd__atomic_abort(&af);
        return wd__err_set(&w->err, WD_ERR_IO, "%s: write failed", path);
    }
    rc = wd__atomic_commit(&af);
    if (rc) return wd__err_take(&w->err, rc);
    return WD_OK;
}
