/*
 * io/gguf.c - GGUF v2/v3 reader (warden/gguf.h; the writer is gguf_writer.c).
 *
 * The file is untrusted. A cursor walks the header with every read checked
 * against the bytes left, so a count or a length can never make it step
 * outside the map; counts are also checked against the least bytes their
 * items need before anything is allocated for them (a 16-byte file cannot
 * ask for 2^60 tensors). Strings are copied NUL-terminated into an arena;
 * numeric arrays stay in the map. After the header: keys and tensor names
 * must be unique, general.alignment a power of two (u32), every tensor
 * aligned, inside the file and disjoint from the others.
 *
 * Invariants after open: kvs[] in file order, kv_by_key[] / t_by_name[]
 * index them in strcmp order; for each tensor, data + nbytes <= end of map.
 */
#include "warden/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/file.h"
#include "tensor/quant.h"
#include "warden/ops.h"

/* ==== type tables ======================================================= */

static const char *k_kv_names[WD_GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"};
static const unsigned k_kv_size[WD_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *wd_gguf_type_name(wd_gguf_type type) {
    return (unsigned)type < WD_GGUF_TYPE_COUNT ? k_kv_names[type] : "?";
}

/* ==== the object ======================================================== */

struct wd_gguf {
    char                *path;
    wd__map               map;
    const unsigned char *base;
    size_t               size;
    wd__arena            *arena;
    uint32_t             version;
    size_t               alignment, data_offset;
    wd_gguf_kv          *kvs;
    size_t               n_kv;
    size_t              *kv_by_key;
    wd_gguf_tensor      *tensors;
    size_t               n_tensors;
    size_t              *t_by_name;
};

/* A bounds-checked reader over the map. */
typedef struct cursor {
    const wd_gguf *g;
    size_t         pos;
} cursor;

static size_t left(const cursor *c) { return c->g->size - c->pos; }

static wd_status need(cursor *c, size_t n, const char *what) {
    if (n <= left(c)) return WD_OK;
    return wd__fail(WD_ERR_FORMAT, "%s: %s: needs %zu bytes at offset %zu, the file ends at %zu",
                    c->g->path, what, n, c->pos, c->g->size);
}

static wd_status rd(cursor *c, void *dst, size_t n, const char *what) {
    wd_status rc = need(c, n, what);
    if (rc) return rc;
    memcpy(dst, c->g->base + c->pos, n);
    c->pos += n;
    return WD_OK;
}

/* Reads a GGUF string into the arena (NUL-terminated). */
static wd_status rd_str(cursor *c, char **out, size_t *len_out, const char *what) {
    uint64_t len;
    wd_status rc = rd(c, &len, 8, what);
    if (rc) return rc;
    if (len > left(c))
        return wd__fail(WD_ERR_FORMAT, "%s: %s: string length %llu at offset %zu runs past the end "
                        "of the file (%zu bytes left)",
                        c->g->path, what, (unsigned long long)len, c->pos - 8, left(c));
    char *s = wd__arena_strndup(c->g->arena, (const char *)c->g->base + c->pos, (size_t)len);
    if (!s) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", c->g->path);
    c->pos += (size_t)len;
    *out = s;
    if (len_out) *len_out = (size_t)len;
    return WD_OK;
}

static int cmp_kv(const void *a, const void *b, void *base) {
    const wd_gguf_kv *k = base;
    return strcmp(k[*(const size_t *)a].key, k[*(const size_t *)b].key);
}
static int cmp_tensor(const void *a, const void *b, void *base) {
    const wd_gguf_tensor *t = base;
    return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}
static int cmp_offset(const void *a, const void *b, void *base) {
    const wd_gguf_tensor *t = base;
    uint64_t x = t[*(const size_t *)a].offset, y = t[*(const size_t *)b].offset;
    return x < y ? -1 : x > y;
}

/* Reads one scalar of type ty into kv's widened fields. */
static void widen(wd_gguf_kv *kv, wd_gguf_type ty, const unsigned char *p) {
    switch (ty) {
    case WD_GGUF_TYPE_UINT8: kv->u64 = p[0]; kv->i64 = p[0]; break;
    case WD_GGUF_TYPE_INT8: kv->i64 = (int8_t)p[0]; kv->u64 = (uint64_t)kv->i64; break;
    case WD_GGUF_TYPE_BOOL: kv->u64 = p[0] != 0; kv->i64 = p[0] != 0; break;
    case WD_GGUF_TYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); kv->u64 = v; kv->i64 = v; break; }
    case WD_GGUF_TYPE_INT16: { int16_t v; memcpy(&v, p, 2); kv->i64 = v; kv->u64 = (uint64_t)kv->i64; break; }
    case WD_GGUF_TYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); kv->u64 = v; kv->i64 = v; break; }
    case WD_GGUF_TYPE_INT32: { int32_t v; memcpy(&v, p, 4); kv->i64 = v; kv->u64 = (uint64_t)kv->i64; break; }
    case WD_GGUF_TYPE_UINT64: { uint64_t v; memcpy(&v, p, 8); kv->u64 = v; kv->i64 = (int64_t)v; break; }
    case WD_GGUF_TYPE_INT64: { int64_t v; memcpy(&v, p, 8); kv->i64 = v; kv->u64 = (uint64_t)v; break; }
    case WD_GGUF_TYPE_FLOAT32: { float v; memcpy(&v, p, 4); kv->f64 = v; break; }
    case WD_GGUF_TYPE_FLOAT64: { double v; memcpy(&v, p, 8); kv->f64 = v; break; }
    default: break;
    }
}

static wd_status read_kv(cursor *c, wd_gguf_kv *kv, size_t index) {
    wd_gguf *g = (wd_gguf *)c->g;
    char what[96];
    snprintf(what, sizeof what, "key/value %zu", index);
    char *key = NULL;
    wd_status rc = rd_str(c, &key, NULL, what);
    if (rc) return rc;
    kv->key = key;
    char kwhat[300];
    snprintf(kwhat, sizeof kwhat, "key '%.200s'", key ? key : "");
    if (!key[0]) return wd__fail(WD_ERR_FORMAT, "%s: key/value %zu: empty key", g->path, index);
    uint32_t ty;
    if ((rc = rd(c, &ty, 4, kwhat))) return rc;
    if (ty >= WD_GGUF_TYPE_COUNT)
        return wd__fail(WD_ERR_FORMAT, "%s: key '%.200s': unknown value type %u", g->path, key, ty);
    kv->type = kv->elem_type = (wd_gguf_type)ty;
    kv->n = 1;
    if (ty == WD_GGUF_TYPE_STRING) {
        char *s;
        if ((rc = rd_str(c, &s, &kv->str_len, kwhat))) return rc;
        kv->str = s;
        return WD_OK;
    }
    if (ty != WD_GGUF_TYPE_ARRAY) {
        if ((rc = need(c, k_kv_size[ty], kwhat))) return rc;
        widen(kv, kv->type, g->base + c->pos);
        c->pos += k_kv_size[ty];
        return WD_OK;
    }
    uint32_t et;
    uint64_t n;
    if ((rc = rd(c, &et, 4, kwhat)) || (rc = rd(c, &n, 8, kwhat))) return rc;
    if (et >= WD_GGUF_TYPE_COUNT)
        return wd__fail(WD_ERR_FORMAT, "%s: key '%.200s': array of unknown type %u", g->path, key, et);
    if (et == WD_GGUF_TYPE_ARRAY)
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: key '%.200s': arrays of arrays are not supported",
                        g->path, key);
    kv->elem_type = (wd_gguf_type)et;
    kv->n = n;
    unsigned min_size = et == WD_GGUF_TYPE_STRING ? 8 : k_kv_size[et];
    if (n > left(c) / min_size)
        return wd__fail(WD_ERR_FORMAT, "%s: key '%.200s': array of %llu %s (at least %u bytes "
                        "each) cannot fit in the %zu bytes left",
                        g->path, key, (unsigned long long)n, k_kv_names[et], min_size, left(c));
    if (et != WD_GGUF_TYPE_STRING) {
        kv->arr = g->base + c->pos;
        c->pos += (size_t)n * min_size;
        return WD_OK;
    }
    char **strs = wd__arena_alloc(g->arena, sizeof *strs * (size_t)(n ? n : 1), sizeof(void *));
    size_t *lens = wd__arena_alloc(g->arena, sizeof *lens * (size_t)(n ? n : 1), sizeof(size_t));
    if (!strs || !lens) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", g->path);
    for (uint64_t i = 0; i < n; i++) {
        char ewhat[320];
        snprintf(ewhat, sizeof ewhat, "key '%.200s' element %llu", key, (unsigned long long)i);
        if ((rc = rd_str(c, &strs[i], &lens[i], ewhat))) return rc;
    }
    kv->strs = (const char *const *)strs;
    kv->strs_len = lens;
    return WD_OK;
}

static wd_status read_tensor_info(cursor *c, wd_gguf_tensor *t, size_t index) {
    wd_gguf *g = (wd_gguf *)c->g;
    char what[64];
    snprintf(what, sizeof what, "tensor info %zu", index);
    char *name = NULL;
    wd_status rc = rd_str(c, &name, NULL, what);
    if (rc) return rc;
    t->name = name;
    char twhat[300];
    snprintf(twhat, sizeof twhat, "tensor '%.200s'", name);
    if (!name[0]) return wd__fail(WD_ERR_FORMAT, "%s: tensor info %zu: empty name", g->path, index);
    uint32_t nd;
    if ((rc = rd(c, &nd, 4, twhat))) return rc;
    if (nd < 1 || nd > 4)
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s': %u dimensions (1 to 4 allowed)",
                        g->path, name, nd);
    t->ndim = (int)nd;
    for (int d = 0; d < 4; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        if ((rc = rd(c, &t->ne[d], 8, twhat))) return rc;
        if (t->ne[d] < 0)
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s': dimension %u is negative (%lld)",
                            g->path, name, d, (long long)t->ne[d]);
    }
    uint32_t ty;
    if ((rc = rd(c, &ty, 4, twhat))) return rc;
    if (ty >= WD_GGML_TYPE_COUNT || !wd_ggml_type_name((wd_ggml_type)ty))
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: tensor '%.200s': unknown ggml type %u", g->path,
                        name, ty);
    t->type = (wd_ggml_type)ty;
    if ((rc = rd(c, &t->offset, 8, twhat))) return rc;
    uint64_t n = 1;
    for (int d = 0; d < 4; d++) {
        if (t->ne[d] && n > (uint64_t)INT64_MAX / (uint64_t)t->ne[d])
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s': element count overflows "
                            "([%lld, %lld, %lld, %lld])",
                            g->path, name, (long long)t->ne[0], (long long)t->ne[1],
                            (long long)t->ne[2], (long long)t->ne[3]);
        n *= (uint64_t)t->ne[d];
    }
    t->n_elem = n;
    unsigned blck = (unsigned)wd_ggml_type_block_size(t->type);
    if (t->ne[0] % blck)
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s': row of %lld elements is not a multiple "
                        "of the %s block size %u",
                        g->path, name, (long long)t->ne[0], wd_ggml_type_name(t->type), blck);
    uint64_t nblk = n / blck;
    if (nblk > UINT64_MAX / wd_ggml_type_size(t->type))
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s': byte size overflows", g->path, name);
    t->nbytes = nblk * wd_ggml_type_size(t->type);
    return WD_OK;
}

static wd_status parse(wd_gguf *g) {
    cursor c = {g, 0};
    unsigned char magic[4];
    wd_status rc = rd(&c, magic, 4, "magic");
    if (rc) return rc;
    if (memcmp(magic, "GGUF", 4))
        return wd__fail(WD_ERR_FORMAT, "%s: not a GGUF file (magic %02x %02x %02x %02x, expected "
                        "'GGUF')", g->path, magic[0], magic[1], magic[2], magic[3]);
    if ((rc = rd(&c, &g->version, 4, "version"))) return rc;
    if (g->version != 2 && g->version != 3)
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: GGUF version %u is not supported (2 and 3 are)",
                        g->path, g->version);
    uint64_t n_tensors, n_kv;
    if ((rc = rd(&c, &n_tensors, 8, "tensor count")) || (rc = rd(&c, &n_kv, 8, "key/value count")))
        return rc;
    /* a key/value takes at least 8 + 4 + 1 bytes, a tensor info 8 + 4 + 8 + 4 + 8 */
    if (n_kv > left(&c) / 13)
        return wd__fail(WD_ERR_FORMAT, "%s: %llu key/values cannot fit in the %zu bytes left",
                        g->path, (unsigned long long)n_kv, left(&c));
    if (n_tensors > left(&c) / 32)
        return wd__fail(WD_ERR_FORMAT, "%s: %llu tensor infos cannot fit in the %zu bytes left",
                        g->path, (unsigned long long)n_tensors, left(&c));
    g->kvs = calloc((size_t)n_kv + 1, sizeof *g->kvs);
    g->kv_by_key = calloc((size_t)n_kv + 1, sizeof *g->kv_by_key);
    g->tensors = calloc((size_t)n_tensors + 1, sizeof *g->tensors);
    g->t_by_name = calloc((size_t)n_tensors + 1, sizeof *g->t_by_name);
    if (!g->kvs || !g->kv_by_key || !g->tensors || !g->t_by_name)
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", g->path);
    for (size_t i = 0; i < n_kv; i++) {
        if ((rc = read_kv(&c, &g->kvs[i], i))) return rc;
        g->kv_by_key[i] = i;
        g->n_kv = i + 1;
    }
    qsort_r(g->kv_by_key, g->n_kv, sizeof *g->kv_by_key, cmp_kv, g->kvs);
    for (size_t i = 1; i < g->n_kv; i++)
        if (!strcmp(g->kvs[g->kv_by_key[i]].key, g->kvs[g->kv_by_key[i - 1]].key))
            return wd__fail(WD_ERR_FORMAT, "%s: key '%.200s' appears twice", g->path,
                            g->kvs[g->kv_by_key[i]].key);
    g->alignment = 32;
    const wd_gguf_kv *al = wd_gguf_find_kv(g, "general.alignment");
    if (al) {
        if (al->type != WD_GGUF_TYPE_UINT32)
            return wd__fail(WD_ERR_FORMAT, "%s: key 'general.alignment': type %s, expected u32",
                            g->path, k_kv_names[al->type]);
        if (al->u64 == 0 || (al->u64 & (al->u64 - 1)))
            return wd__fail(WD_ERR_FORMAT, "%s: key 'general.alignment': %llu is not a power of two",
                            g->path, (unsigned long long)al->u64);
        g->alignment = (size_t)al->u64;
    }
    for (size_t i = 0; i < n_tensors; i++) {
        if ((rc = read_tensor_info(&c, &g->tensors[i], i))) return rc;
        g->t_by_name[i] = i;
        g->n_tensors = i + 1;
    }
    qsort_r(g->t_by_name, g->n_tensors, sizeof *g->t_by_name, cmp_tensor, g->tensors);
    for (size_t i = 1; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[g->t_by_name[i]].name, g->tensors[g->t_by_name[i - 1]].name))
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s' appears twice", g->path,
                            g->tensors[g->t_by_name[i]].name);
    /* the data area starts at the next multiple of the alignment */
    size_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    if (g->n_tensors && pad > left(&c))
        return wd__fail(WD_ERR_FORMAT, "%s: the file ends inside the padding before the data area",
                        g->path);
    g->data_offset = c.pos + (pad <= left(&c) ? pad : left(&c));
    size_t data_size = g->size - g->data_offset;
    for (size_t i = 0; i < g->n_tensors; i++) {
        wd_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s': offset %llu is not a multiple of "
                            "the alignment %zu",
                            g->path, t->name, (unsigned long long)t->offset, g->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%.200s': offset %llu + %llu bytes ends past "
                            "the end of the data area (%zu bytes)",
                            g->path, t->name, (unsigned long long)t->offset,
                            (unsigned long long)t->nbytes, data_size);
        t->data = g->base + g->data_offset + t->offset;
    }
    /* no two tensors share bytes */
    size_t *ord = malloc(sizeof *ord * (g->n_tensors + 1));
    if (!ord) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", g->path);
    for (size_t i = 0; i < g->n_tensors; i++) ord[i] = i;
    qsort_r(ord, g->n_tensors, sizeof *ord, cmp_offset, g->tensors);
    for (size_t i = 1; i < g->n_tensors; i++) {
        const wd_gguf_tensor *a = &g->tensors[ord[i - 1]], *b = &g->tensors[ord[i]];
        if (a->offset + a->nbytes > b->offset) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: tensors '%.200s' and '%.200s' overlap (offsets %llu "
                          "+ %llu bytes and %llu)",
                          g->path, a->name, b->name, (unsigned long long)a->offset,
                          (unsigned long long)a->nbytes, (unsigned long long)b->offset);
            break;
        }
    }
    free(ord);
    return rc;
}

static wd_gguf *new_object(const char *name) {
    wd_gguf *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->path = strdup(name ? name : "(memory)");
    g->arena = wd__arena_new(0);
    if (!g->path || !g->arena) {
        wd_gguf_free(g);
        return NULL;
    }
    return g;
}

static wd_status finish_open(wd_gguf *g, wd_gguf **out) {
    wd_status rc = parse(g);
    if (rc) {
        wd_gguf_free(g);
        return rc;
    }
    *out = g;
    return WD_OK;
}

wd_status wd_gguf_open(const char *path, wd_gguf **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_open: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_open: path is NULL");
    wd_gguf *g = new_object(path);
    if (!g) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
    wd_status rc = wd__map_open(&g->map, path);
    if (rc) {
        wd_gguf_free(g);
        return rc;
    }
    g->base = g->map.data;
    g->size = g->map.size;
    return finish_open(g, out);
}

wd_status wd_gguf_open_memory(const void *data, size_t size, const char *name, wd_gguf **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_open_memory: data is NULL");
    wd_gguf *g = new_object(name);
    if (!g) return wd__fail(WD_ERR_NOMEM, "out of memory");
    g->base = data;
    g->size = size;
    return finish_open(g, out);
}

void wd_gguf_free(wd_gguf *g) {
    if (!g) return;
    wd__map_close(&g->map);
    wd__arena_free(g->arena);
    free(g->kvs);
    free(g->kv_by_key);
    free(g->tensors);
    free(g->t_by_name);
    free(g->path);
    free(g);
}

/* ==== queries =========================================================== */

const char *wd_gguf_path(const wd_gguf *g) { return g ? g->path : ""; }
void wd_gguf_prefetch(const wd_gguf *g) {
    if (g) wd__map_prefetch(&g->map);
}
uint32_t wd_gguf_version(const wd_gguf *g) { return g ? g->version : 0; }
size_t wd_gguf_alignment(const wd_gguf *g) { return g ? g->alignment : 0; }
size_t wd_gguf_data_offset(const wd_gguf *g) { return g ? g->data_offset : 0; }
size_t wd_gguf_file_size(const wd_gguf *g) { return g ? g->size : 0; }
size_t wd_gguf_n_kv(const wd_gguf *g) { return g ? g->n_kv : 0; }
size_t wd_gguf_n_tensors(const wd_gguf *g) { return g ? g->n_tensors : 0; }

const wd_gguf_kv *wd_gguf_kv_at(const wd_gguf *g, size_t i) {
    return g && i < g->n_kv ? &g->kvs[i] : NULL;
}
const wd_gguf_tensor *wd_gguf_tensor_at(const wd_gguf *g, size_t i) {
    return g && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const wd_gguf_kv *wd_gguf_find_kv(const wd_gguf *g, const char *key) {
    if (!g || !key) return NULL;
    size_t lo = 0, hi = g->n_kv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, g->kvs[g->kv_by_key[mid]].key);
        if (c == 0) return &g->kvs[g->kv_by_key[mid]];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const wd_gguf_tensor *wd_gguf_find_tensor(const wd_gguf *g, const char *name) {
    if (!g || !name) return NULL;
    size_t lo = 0, hi = g->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, g->tensors[g->t_by_name[mid]].name);
        if (c == 0) return &g->tensors[g->t_by_name[mid]];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

static bool is_int_type(wd_gguf_type t) {
    return t <= WD_GGUF_TYPE_INT32 || t == WD_GGUF_TYPE_UINT64 || t == WD_GGUF_TYPE_INT64;
}
static bool is_signed(wd_gguf_type t) {
    return t == WD_GGUF_TYPE_INT8 || t == WD_GGUF_TYPE_INT16 || t == WD_GGUF_TYPE_INT32 || t == WD_GGUF_TYPE_INT64;
}

static wd_status lookup(const wd_gguf *g, const char *key, const wd_gguf_kv **kv) {
    *kv = wd_gguf_find_kv(g, key);
    if (*kv) return WD_OK;
    return wd__fail(WD_ERR_NOT_FOUND, "%s: key '%s' is missing", wd_gguf_path(g), key);
}

static wd_status wrong_type(const wd_gguf *g, const wd_gguf_kv *kv, const char *want) {
    return wd__fail(WD_ERR_FORMAT, "%s: key '%s': type %s%s%s, expected %s", wd_gguf_path(g),
                    kv->key, k_kv_names[kv->type], kv->type == WD_GGUF_TYPE_ARRAY ? " of " : "",
                    kv->type == WD_GGUF_TYPE_ARRAY ? k_kv_names[kv->elem_type] : "", want);
}

wd_status wd_gguf_get_int(const wd_gguf *g, const char *key, int64_t *out) {
    const wd_gguf_kv *kv;
    wd_status rc = lookup(g, key, &kv);
    if (rc) return rc;
    if (!is_int_type(kv->type)) return wrong_type(g, kv, "an integer");
    if (kv->type == WD_GGUF_TYPE_UINT64 && kv->u64 > (uint64_t)INT64_MAX)
        return wd__fail(WD_ERR_FORMAT, "%s: key '%s': %llu is too large", wd_gguf_path(g), key,
                        (unsigned long long)kv->u64);
    *out = kv->i64;
    return WD_OK;
}

wd_status wd_gguf_get_float(const wd_gguf *g, const char *key, double *out) {
    const wd_gguf_kv *kv;
    wd_status rc = lookup(g, key, &kv);
    if (rc) return rc;
    if (kv->type == WD_GGUF_TYPE_FLOAT32 || kv->type == WD_GGUF_TYPE_FLOAT64) *out = kv->f64;
    else if (is_int_type(kv->type)) *out = is_signed(kv->type) ? (double)kv->i64 : (double)kv->u64;
    else return wrong_type(g, kv, "a number");
    return WD_OK;
}

wd_status wd_gguf_get_bool(const wd_gguf *g, const char *key, bool *out) {
    const wd_gguf_kv *kv;
    wd_status rc = lookup(g, key, &kv);
    if (rc) return rc;
    if (kv->type != WD_GGUF_TYPE_BOOL) return wrong_type(g, kv, "bool");
    *out = kv->u64 != 0;
    return WD_OK;
}

wd_status wd_gguf_get_str(const wd_gguf *g, const char *key, const char **out) {
    const wd_gguf_kv *kv;
    wd_status rc = lookup(g, key, &kv);
    if (rc) return rc;
    if (kv->type != WD_GGUF_TYPE_STRING) return wrong_type(g, kv, "str");
    *out = kv->str;
    return WD_OK;
}

bool wd_gguf_kv_arr_int(const wd_gguf_kv *kv, uint64_t i, int64_t *out) {
    if (!kv || kv->type != WD_GGUF_TYPE_ARRAY || i >= kv->n ||
        !(is_int_type(kv->elem_type) || kv->elem_type == WD_GGUF_TYPE_BOOL))
        return false;
    wd_gguf_kv tmp = {0};
    widen(&tmp, kv->elem_type, (const unsigned char *)kv->arr + i * k_kv_size[kv->elem_type]);
    *out = tmp.i64;
    return true;
}

bool wd_gguf_kv_arr_float(const wd_gguf_kv *kv, uint64_t i, double *out) {
    if (!kv || kv->type != WD_GGUF_TYPE_ARRAY || i >= kv->n || kv->elem_type == WD_GGUF_TYPE_STRING)
        return false;
    wd_gguf_kv tmp = {0};
    widen(&tmp, kv->elem_type, (const unsigned char *)kv->arr + i * k_kv_size[kv->elem_type]);
    if (kv->elem_type == WD_GGUF_TYPE_FLOAT32 || kv->elem_type == WD_GGUF_TYPE_FLOAT64) *out = tmp.f64;
    else *out = is_signed(kv->elem_type) ? (double)tmp.i64 : (double)tmp.u64;
    return true;
}

/* ==== tensor data ======================================================= */

wd_status wd_gguf_tensor_read_f32(const wd_gguf_tensor *t, float *out, size_t n) {
    if (!t || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_gguf_tensor_read_f32: NULL argument");
    if (n != t->n_elem)
        return wd__fail(WD_ERR_RANGE, "tensor '%s': %llu elements, buffer holds %zu", t->name,
                        (unsigned long long)t->n_elem, n);
    switch (t->type) {
    case WD_GGML_TYPE_F32: memcpy(out, t->data, n * sizeof *out); return WD_OK;
    case WD_GGML_TYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, (const char *)t->data + 8 * i, 8);
            out[i] = (float)v;
        }
        return WD_OK;
    case WD_GGML_TYPE_F16:
    case WD_GGML_TYPE_BF16: {
        /* convert through an aligned bounce buffer: the data may be unaligned */
        uint16_t buf[1024];
        for (size_t i = 0; i < n; i += 1024) {
            size_t k = n - i < 1024 ? n - i : 1024;
            memcpy(buf, (const char *)t->data + 2 * i, 2 * k);
            if (t->type == WD_GGML_TYPE_F16) wd_f16_to_f32(out + i, buf, k);
            else wd_bf16_to_f32(out + i, buf, k);
        }
        return WD_OK;
    }
    default:
        if (wd__quant_supported(t->type)) {
            wd__dequantize(t->type, out, t->data, n);
            return WD_OK;
        }
        return wd__fail(WD_ERR_UNSUPPORTED, "tensor '%s': type %s cannot be converted to float",
                        t->name, wd_ggml_type_name(t->type));
    }
}
