/*
 * io/safetensors.c - the safetensors reader (format: warden/safetensors.h).
 *
 * Everything in the header is untrusted. Validation happens in one pass
 * before the object is returned, in this order:
 *   1. the file holds the 8-byte length N, and 1 <= N <= min(100 MB, size-8);
 *   2. the N header bytes contain no NUL, parse as one JSON object, and
 *      anything after it is whitespace (writers pad with spaces);
 *   3. "__metadata__", if present, is an object of string values;
 *   4. every other entry is an object with a known "dtype", a "shape" of
 *      non-negative integers and "data_offsets" [BEGIN, END] with
 *      BEGIN <= END <= size of the data area;
 *   5. product(shape) * dtype size == END - BEGIN, computed with overflow
 *      checks (a product that overflows 64 bits is rejected);
 *   6. names are unique (cJSON keeps repeated keys; we sort and compare);
 *   7. sorted by BEGIN, no two non-empty spans overlap.
 *   8. the spans tile the data area: the first begins at 0, each begins
 *      where the previous ends, the last ends at the end of the file.
 * Step 2 also rejects a key (tensor name) holding U+0000 and a name given
 * twice (wd__json_parse_strict); step 6 stays as the check on the tree.
 *
 * Invariants of an open object: tensors[] is in data order (by offset),
 * by_name[] indexes it in strcmp order, every data pointer + nbytes lies
 * inside the map. Names, shapes and metadata live in one arena.
 */
#include "warden/safetensors.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "warden/ops.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "warden's safetensors code assumes a little-endian host"
#endif

#define WD_ST_MAX_HEADER 100000000u /* the reference implementation's limit */

struct wd_safetensors {
    char                *path;
    wd__map               map; /* zeroed when opened over memory */
    const unsigned char *base;
    size_t               size;
    size_t               header_len;
    const unsigned char *data_area;
    uint64_t             data_size;
    wd__arena            *arena;
    wd_tensor_info      *tensors; /* n_tensors, in data order */
    size_t              *by_name; /* n_tensors indices, sorted by name */
    size_t               n_tensors;
    const char         **meta_keys;
    const char         **meta_vals;
    size_t               n_meta;
};

/* ==== dtypes ============================================================ */

static const struct {
    const char *name;
    size_t      size;
} dtypes[WD_DTYPE_COUNT] = {
    [WD_DTYPE_F32] = {"F32", 4}, [WD_DTYPE_F16] = {"F16", 2}, [WD_DTYPE_BF16] = {"BF16", 2},
    [WD_DTYPE_F64] = {"F64", 8}, [WD_DTYPE_I8] = {"I8", 1},   [WD_DTYPE_U8] = {"U8", 1},
    [WD_DTYPE_I16] = {"I16", 2}, [WD_DTYPE_I32] = {"I32", 4}, [WD_DTYPE_I64] = {"I64", 8},
    [WD_DTYPE_BOOL] = {"BOOL", 1},
};

const char *wd_dtype_name(wd_dtype dtype) {
    return (unsigned)dtype < WD_DTYPE_COUNT ? dtypes[dtype].name : "?";
}

size_t wd_dtype_size(wd_dtype dtype) {
    return (unsigned)dtype < WD_DTYPE_COUNT ? dtypes[dtype].size : 0;
}

wd_status wd_dtype_from_name(const char *name, wd_dtype *out) {
    for (int i = 0; i < WD_DTYPE_COUNT; i++) {
        if (name && !strcmp(name, dtypes[i].name)) {
            *out = (wd_dtype)i;
            return WD_OK;
        }
    }
    return WD_ERR_UNSUPPORTED;
}

/* ==== conversion to float =============================================== */

/* 16-bit dtypes through the tensor layer's converters (F16C when the CPU
 * has it). Those take uint16_t*, so unaligned data (legal in files from
 * other writers) goes through an aligned bounce buffer. */
static void convert16(float *out, const unsigned char *p, size_t n, bool bf16) {
    if (((uintptr_t)p & 1) == 0) {
        if (bf16) wd_bf16_to_f32(out, (const uint16_t *)(const void *)p, n);
        else wd_f16_to_f32(out, (const uint16_t *)(const void *)p, n);
        return;
    }
    uint16_t tmp[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        memcpy(tmp, p + 2 * i, 2 * k);
        if (bf16) wd_bf16_to_f32(out + i, tmp, k);
        else wd_f16_to_f32(out + i, tmp, k);
    }
}

wd_status wd_tensor_read_f32(const wd_tensor_info *t, float *out, size_t n) {
    if (!t || (!out && n)) return wd__fail(WD_ERR_INVALID_ARG, "wd_tensor_read_f32: NULL argument");
    if (n != t->n_elem)
        return wd__fail(WD_ERR_RANGE, "tensor '%s': buffer holds %zu floats but the tensor has %llu",
                        t->name, n, (unsigned long long)t->n_elem);
    const unsigned char *p = t->data;
    /* memcpy per element: the data may be unaligned in files from other tools. */
    switch (t->dtype) {
    case WD_DTYPE_F32: if (n) memcpy(out, p, n * 4); break;
    case WD_DTYPE_F16: convert16(out, p, n, false); break;
    case WD_DTYPE_BF16: convert16(out, p, n, true); break;
    case WD_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
        }
        break;
    case WD_DTYPE_I8: for (size_t i = 0; i < n; i++) out[i] = (float)(int8_t)p[i]; break;
    case WD_DTYPE_U8: for (size_t i = 0; i < n; i++) out[i] = (float)p[i]; break;
    case WD_DTYPE_BOOL: for (size_t i = 0; i < n; i++) out[i] = p[i] ? 1.0f : 0.0f; break;
    case WD_DTYPE_I16:
        for (size_t i = 0; i < n; i++) {
            int16_t v;
            memcpy(&v, p + 2 * i, 2);
            out[i] = (float)v;
        }
        break;
    case WD_DTYPE_I32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            out[i] = (float)v;
        }
        break;
    case WD_DTYPE_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            out[i] = (float)v;
        }
        break;
    default:
        return wd__fail(WD_ERR_INTERNAL, "tensor '%s': bad dtype %d", t->name, (int)t->dtype);
    }
    return WD_OK;
}

/* ==== header validation ================================================= */

/* Writes "[a, b, c]" into buf (truncating with "...]" if needed). */
static const char *fmt_shape(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k >= cap - 5) {
        snprintf(buf + cap - 5, 5, "...]");
        return buf;
    }
    snprintf(buf + k, cap - k, "]");
    return buf;
}

typedef struct {
    wd_safetensors *st;
    const char     *path;
} ctx;

static int cmp_by_offset(const void *a, const void *b) {
    const wd_tensor_info *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_index_by_name(const void *a, const void *b, void *base) {
    const wd_tensor_info *t = base;
    return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

static wd_status parse_metadata(wd_safetensors *st, const cJSON *meta) {
    const char *path = st->path;
    if (!cJSON_IsObject(meta))
        return wd__fail(WD_ERR_FORMAT, "%s: __metadata__ is %s, expected an object of strings",
                        path, wd__json_type_name(meta));
    size_t n = 0;
    for (const cJSON *e = meta->child; e; e = e->next) n++;
    st->meta_keys = WD_ARENA_NEW(st->arena, const char *, n ? n : 1);
    st->meta_vals = WD_ARENA_NEW(st->arena, const char *, n ? n : 1);
    if (!st->meta_keys || !st->meta_vals) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
    for (const cJSON *e = meta->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return wd__fail(WD_ERR_FORMAT, "%s: __metadata__ entry '%s' is %s, expected a string",
                            path, e->string, wd__json_type_name(e));
        for (size_t i = 0; i < st->n_meta; i++)
            if (!strcmp(st->meta_keys[i], e->string))
                return wd__fail(WD_ERR_FORMAT, "%s: __metadata__ entry '%s' appears twice", path,
                                e->string);
        st->meta_keys[st->n_meta] = wd__arena_strdup(st->arena, e->string);
        st->meta_vals[st->n_meta] = wd__arena_strdup(st->arena, e->valuestring);
        if (!st->meta_keys[st->n_meta] || !st->meta_vals[st->n_meta])
            return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
        st->n_meta++;
    }
    return WD_OK;
}

static wd_status parse_tensor(wd_safetensors *st, const cJSON *e, wd_tensor_info *t) {
    const char *path = st->path, *name = e->string;
    if (!cJSON_IsObject(e))
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': entry is %s, expected an object", path,
                        name, wd__json_type_name(e));
    t->name = wd__arena_strdup(st->arena, name);
    if (!t->name) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!dt) return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': field 'dtype' missing", path, name);
    if (!cJSON_IsString(dt))
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': field 'dtype' is %s, expected a string",
                        path, name, wd__json_type_name(dt));
    if (wd_dtype_from_name(dt->valuestring, &t->dtype) != WD_OK)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: tensor '%s': unknown dtype '%.64s' (warden reads F32, F16, BF16, "
                        "F64, I8, U8, I16, I32, I64, BOOL)",
                        path, name, dt->valuestring);

    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!sh) return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': field 'shape' missing", path, name);
    if (!cJSON_IsArray(sh))
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': field 'shape' is %s, expected an array",
                        path, name, wd__json_type_name(sh));
    int ndim = cJSON_GetArraySize(sh);
    int64_t *shape = WD_ARENA_NEW(st->arena, int64_t, ndim ? (size_t)ndim : 1);
    if (!shape) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
    uint64_t n_elem = 1;
    bool overflow = false;
    int d = 0;
    for (const cJSON *x = sh->child; x; x = x->next, d++) {
        int64_t v;
        if (!wd__json_is_int(x, &v) || v < 0) {
            if (cJSON_IsNumber(x))
                return wd__fail(WD_ERR_FORMAT,
                                "%s: tensor '%s': shape[%d] is %g, expected a non-negative integer",
                                path, name, d, x->valuedouble);
            return wd__fail(WD_ERR_FORMAT,
                            "%s: tensor '%s': shape[%d] is %s, expected a non-negative integer",
                            path, name, d, wd__json_type_name(x));
        }
        shape[d] = v;
        if (v != 0 && n_elem > UINT64_MAX / (uint64_t)v) overflow = true;
        else n_elem *= (uint64_t)v;
    }
    t->ndim = ndim;
    t->shape = shape;
    char sbuf[160];
    /* A zero dimension makes the tensor empty even if the others overflowed. */
    for (d = 0; d < ndim; d++)
        if (shape[d] == 0) overflow = false, n_elem = 0;
    size_t esz = wd_dtype_size(t->dtype);
    if (overflow || n_elem > UINT64_MAX / esz || n_elem * esz > SIZE_MAX)
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': shape %s of %s is too large (overflow)",
                        path, name, fmt_shape(sbuf, sizeof sbuf, shape, ndim),
                        wd_dtype_name(t->dtype));
    t->n_elem = n_elem;
    uint64_t need = n_elem * esz;

    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!off)
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': field 'data_offsets' missing", path, name);
    int64_t b = -1, en = -1;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        !wd__json_is_int(off->child, &b) || !wd__json_is_int(off->child->next, &en) || b < 0 ||
        en < 0)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: tensor '%s': field 'data_offsets' must be [BEGIN, END] with two "
                        "non-negative integers",
                        path, name);
    if (b > en)
        return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] end before they begin",
                        path, name, (long long)b, (long long)en);
    if ((uint64_t)en > st->data_size)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%lld, %lld] run past the end of the data "
                        "area (%llu bytes; file truncated?)",
                        path, name, (long long)b, (long long)en, (unsigned long long)st->data_size);
    if ((uint64_t)(en - b) != need)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%lld, %lld] span %lld bytes but shape %s "
                        "of %s needs %llu",
                        path, name, (long long)b, (long long)en, (long long)(en - b),
                        fmt_shape(sbuf, sizeof sbuf, shape, ndim), wd_dtype_name(t->dtype),
                        (unsigned long long)need);
    t->offset = (uint64_t)b;
    t->nbytes = (size_t)need;
    t->data = st->data_area + b;
    return WD_OK;
}

static wd_status parse_header(wd_safetensors *st) {
    const char *path = st->path;
    if (st->size < 8)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: file is %zu bytes, too short for the 8-byte header length", path,
                        st->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | st->base[i];
    if (hlen == 0) return wd__fail(WD_ERR_FORMAT, "%s: header length is 0", path);
    if (hlen > WD_ST_MAX_HEADER)
        return wd__fail(WD_ERR_FORMAT, "%s: header length %llu exceeds the limit of %u bytes",
                        path, (unsigned long long)hlen, WD_ST_MAX_HEADER);
    if (hlen > st->size - 8)
        return wd__fail(WD_ERR_FORMAT,
                        "%s: header length %llu runs past the end of the file (%zu bytes follow "
                        "the length; file truncated?)",
                        path, (unsigned long long)hlen, st->size - 8);
    st->header_len = (size_t)hlen;
    st->data_area = st->base + 8 + hlen;
    st->data_size = st->size - 8 - hlen;

    const char *text = (const char *)st->base + 8;
    if (memchr(text, '\0', st->header_len))
        return wd__fail(WD_ERR_FORMAT, "%s: header contains a NUL byte", path);
    char where[600];
    snprintf(where, sizeof where, "%s: header", path);
    wd_json_fault fault;
    cJSON *root = wd__json_parse_strict(text, st->header_len, where, 0, &fault);
    if (!root) return fault == WD_JSON_NOMEM ? WD_ERR_NOMEM : WD_ERR_FORMAT;
    wd_status rc = WD_OK;
    if (!cJSON_IsObject(root)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: header is %s, expected a JSON object", path,
                      wd__json_type_name(root));
        goto done;
    }

    size_t n = 0, n_meta_keys = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) n_meta_keys++;
        else n++;
    }
    if (n_meta_keys > 1) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ appears twice", path);
        goto done;
    }
    st->tensors = WD_ARENA_NEW(st->arena, wd_tensor_info, n ? n : 1);
    st->by_name = WD_ARENA_NEW(st->arena, size_t, n ? n : 1);
    if (!st->tensors || !st->by_name) {
        rc = wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t k = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) rc = parse_metadata(st, e);
        else rc = parse_tensor(st, e, &st->tensors[k++]);
        if (rc) goto done;
    }
    st->n_tensors = n;

    /* Data order; then the spans must tile the data area exactly (as the
     * reference reader requires): no overlap, no gap, nothing after the
     * last tensor. Bytes no tensor owns are data every tool skips but a
     * file may still carry. */
    qsort(st->tensors, n, sizeof *st->tensors, cmp_by_offset);
    const wd_tensor_info *prev = NULL;
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const wd_tensor_info *t = &st->tensors[i];
        if (t->offset > at) {
            if (prev)
                rc = wd__fail(WD_ERR_FORMAT,
                              "%s: a gap of %llu bytes in the data between tensor '%s' (ends at "
                              "%llu) and tensor '%s' (begins at %llu)",
                              path, (unsigned long long)(t->offset - at), prev->name,
                              (unsigned long long)at, t->name, (unsigned long long)t->offset);
            else
                rc = wd__fail(WD_ERR_FORMAT,
                              "%s: a gap of %llu bytes at the start of the data: the first "
                              "tensor '%s' begins at %llu, not 0",
                              path, (unsigned long long)t->offset, t->name,
                              (unsigned long long)t->offset);
            goto done;
        }
        if (prev && t->offset < at) {
            rc = wd__fail(WD_ERR_FORMAT,
                          "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", path,
                          prev->name, (unsigned long long)prev->offset,
                          (unsigned long long)(prev->offset + prev->nbytes), t->name,
                          (unsigned long long)t->offset,
                          (unsigned long long)(t->offset + t->nbytes));
            goto done;
        }
        prev = t;
        at = t->offset + t->nbytes;
    }
    if (at != st->data_size) {
        rc = wd__fail(WD_ERR_FORMAT,
                      "%s: %llu bytes after the end of the last tensor's data (the tensors end at "
                      "byte %llu of the %zu-byte data area)",
                      path, (unsigned long long)(st->data_size - at), (unsigned long long)at,
                      st->data_size);
        goto done;
    }
    for (size_t i = 0; i < n; i++) st->by_name[i] = i;
    qsort_r(st->by_name, n, sizeof *st->by_name, cmp_index_by_name, st->tensors);
    for (size_t i = 1; i < n; i++) {
        if (!strcmp(st->tensors[st->by_name[i]].name, st->tensors[st->by_name[i - 1]].name)) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", path,
                          st->tensors[st->by_name[i]].name);
            goto done;
        }
    }
done:
    cJSON_Delete(root);
    return rc;
}

/* ==== open / query ====================================================== */

static wd_status open_common(wd_safetensors *st, wd_safetensors **out) {
    wd_status rc = parse_header(st);
    if (rc) {
        wd_safetensors_free(st);
        return rc;
    }
    *out = st;
    return WD_OK;
}

static wd_safetensors *new_object(const char *name) {
    wd_safetensors *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->path = strdup(name ? name : "(memory)");
    st->arena = wd__arena_new(0);
    if (!st->path || !st->arena) {
        wd_safetensors_free(st);
        return NULL;
    }
    return st;
}

wd_status wd_safetensors_open(const char *path, wd_safetensors **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_open: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_open: path is NULL");
    wd_safetensors *st = new_object(path);
    if (!st) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
    wd_status rc = wd__map_open(&st->map, path);
    if (rc) {
        wd_safetensors_free(st);
        return rc;
    }
    st->base = st->map.data;
    st->size = st->map.size;
    return open_common(st, out);
}

wd_status wd_safetensors_open_memory(const void *data, size_t size, const char *name,
                                     wd_safetensors **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_open_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_safetensors_open_memory: data is NULL");
    wd_safetensors *st = new_object(name);
    if (!st) return wd__fail(WD_ERR_NOMEM, "out of memory");
    st->base = data;
    st->size = size;
    return open_common(st, out);
}

void wd_safetensors_free(wd_safetensors *st) {
    if (!st) return;
    wd__map_close(&st->map);
    wd__arena_free(st->arena);
    free(st->path);
    free(st);
}

const char *wd_safetensors_path(const wd_safetensors *st) { return st ? st->path : ""; }
void wd_safetensors_prefetch(const wd_safetensors *st) {
    if (st) wd__map_prefetch(&st->map);
}
size_t wd_safetensors_file_size(const wd_safetensors *st) { return st ? st->size : 0; }
size_t wd_safetensors_header_size(const wd_safetensors *st) { return st ? st->header_len : 0; }
size_t wd_safetensors_n_tensors(const wd_safetensors *st) { return st ? st->n_tensors : 0; }

const wd_tensor_info *wd_safetensors_tensor(const wd_safetensors *st, size_t i) {
    return st && i < st->n_tensors ? &st->tensors[i] : NULL;
}

const wd_tensor_info *wd_safetensors_find(const wd_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    size_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const wd_tensor_info *t = &st->tensors[st->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

size_t wd_safetensors_n_metadata(const wd_safetensors *st) { return st ? st->n_meta : 0; }

wd_status wd_safetensors_metadata(const wd_safetensors *st, size_t i, const char **key,
                                  const char **value) {
    if (key) *key = NULL;
    if (value) *value = NULL;
    if (!st || i >= st->n_meta)
        return wd__fail(WD_ERR_RANGE, "metadata index %zu out of range", i);
    if (key) *key = st->meta_keys[i];
    if (value) *value = st->meta_vals[i];
    return WD_OK;
}

const char *wd_safetensors_metadata_get(const wd_safetensors *st, const char *key) {
    if (!st || !key) return NULL;
    for (size_t i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta_keys[i], key)) return st->meta_vals[i];
    return NULL;
}
