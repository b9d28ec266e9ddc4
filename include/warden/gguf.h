/*
 * warden/gguf.h - read and write GGUF files (the llama.cpp / ggml format).
 *
 * The format, version 2 and 3 (all integers little-endian):
 *
 *   +------+---------+-------------+---------+------------------+---------+------------+
 *   | GGUF | u32 ver | u64 n_tensor| u64 n_kv| n_kv key/values  | tensor  | pad to     |
 *   | magic| (2, 3)  |             |         |                  | infos   | alignment  |
 *   +------+---------+-------------+---------+------------------+---------+------------+
 *   | data area: each tensor at data_start + offset, offset % alignment == 0           |
 *   +-----------------------------------------------------------------------------------+
 *   string    = u64 len, len bytes (UTF-8, no NUL)
 *   key/value = string key, u32 type, value
 *   value     = scalar of type | string | ARRAY: u32 elem_type, u64 n, n values
 *   tensor    = string name, u32 n_dims (1..4), n_dims x i64 ne, u32 ggml type, u64 offset
 *   alignment = general.alignment (u32, a power of two) or 32
 *
 * ne[0] is the innermost dimension (a row): a Hugging Face weight of shape
 * (out, in) is ne = {in, out}. Quantized types pack ne[0] in blocks
 * (wd_ggml_type_block_size elements in wd_ggml_type_size bytes).
 *
 * Reading maps the file and validates all of it before anything is handed
 * out: the magic and version, every count against the bytes left, every
 * string length, metadata types (arrays of arrays are rejected), duplicate
 * keys and tensor names, each tensor's dims (1..4, >= 0, row a multiple of
 * the block size, element count and byte size without overflow), known
 * ggml types, offsets aligned and inside the file, tensors not overlapping.
 * Messages name the file, the key or tensor, and the reason. Tensor data is
 * never copied: it points into the map, which lives as long as the object.
 *
 * warden assumes a little-endian host, as the format does.
 */
#ifndef WARDEN_GGUF_H
#define WARDEN_GGUF_H

#include "warden/base.h"
#include "warden/ggml_type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== types ============================================================= */

/* Metadata value types (the numbers are the file's). */
typedef enum wd_gguf_type {
    WD_GGUF_TYPE_UINT8 = 0,
    WD_GGUF_TYPE_INT8 = 1,
    WD_GGUF_TYPE_UINT16 = 2,
    WD_GGUF_TYPE_INT16 = 3,
    WD_GGUF_TYPE_UINT32 = 4,
    WD_GGUF_TYPE_INT32 = 5,
    WD_GGUF_TYPE_FLOAT32 = 6,
    WD_GGUF_TYPE_BOOL = 7,
    WD_GGUF_TYPE_STRING = 8,
    WD_GGUF_TYPE_ARRAY = 9,
    WD_GGUF_TYPE_UINT64 = 10,
    WD_GGUF_TYPE_INT64 = 11,
    WD_GGUF_TYPE_FLOAT64 = 12,
    WD_GGUF_TYPE_COUNT
} wd_gguf_type;

/* The name of a metadata type ("u32", "str", "arr"); "?" when out of range. */
const char *wd_gguf_type_name(wd_gguf_type type);

/* ==== reading =========================================================== */

/* One metadata entry. Owned by the wd_gguf it came from. */
typedef struct wd_gguf_kv {
    const char  *key;
    wd_gguf_type type;      /* WD_GGUF_TYPE_ARRAY for arrays                         */
    wd_gguf_type elem_type; /* arrays: the elements' type; else == type         */
    uint64_t     n;         /* arrays: element count; 1 otherwise               */
    /* scalars, widened: */
    uint64_t     u64;       /* unsigned integers and bool                       */
    int64_t      i64;       /* signed integers                                  */
    double       f64;       /* FLOAT32 / FLOAT64                                */
    /* STRING: NUL-terminated copy (may hold NULs inside: use str_len) */
    const char  *str;
    size_t       str_len;
    /* arrays of numbers or bools: n packed little-endian values in the map
     * (may be unaligned: read them with wd_gguf_kv_arr_*); arrays of strings:
     * strs[i] / strs_len[i], NUL-terminated copies. */
    const void        *arr;
    const char *const *strs;
    const size_t      *strs_len;
} wd_gguf_kv;

/* One tensor. Owned by the wd_gguf it came from. */
typedef struct wd_gguf_tensor {
    const char  *name;
    wd_ggml_type type;
    int          ndim;    /* 1..4                                    */
    int64_t      ne[4];   /* ne[0] innermost; unused dims are 1      */
    uint64_t     n_elem;  /* product of ne                           */
    uint64_t     nbytes;  /* n_elem / block size * type size         */
    uint64_t     offset;  /* relative to the data area               */
    const void  *data;    /* nbytes bytes inside the map             */
} wd_gguf_tensor;

typedef struct wd_gguf wd_gguf;

/* Maps and validates path. On success *out is new (free with wd_gguf_free);
 * on failure NULL, and wd_last_error() names the file, the key or tensor and
 * the reason, e.g. "m.gguf: tensor 'blk.0.attn_q.weight': offset 96 + 4096
 * bytes ends past the end of the file (2048)". Returns WD_ERR_NOT_FOUND /
 * WD_ERR_IO (cannot open), WD_ERR_FORMAT (malformed), WD_ERR_UNSUPPORTED
 * (version, unknown tensor type), WD_ERR_NOMEM. */
wd_status wd_gguf_open(const char *path, wd_gguf **out);
/* Same over a caller's buffer, not copied (it must outlive the object);
 * name is used in messages. */
wd_status wd_gguf_open_memory(const void *data, size_t size, const char *name, wd_gguf **out);
/* Unmaps and frees; NULL is a no-op. */
void wd_gguf_free(wd_gguf *g);

const char *wd_gguf_path(const wd_gguf *g);
/* Starts reading the whole file into the page cache in the background
 * (for a caller about to use every tensor); returns at once. */
void wd_gguf_prefetch(const wd_gguf *g);
uint32_t    wd_gguf_version(const wd_gguf *g);
size_t      wd_gguf_alignment(const wd_gguf *g);
size_t      wd_gguf_data_offset(const wd_gguf *g); /* start of the data area in the file */
size_t      wd_gguf_file_size(const wd_gguf *g);

size_t            wd_gguf_n_kv(const wd_gguf *g);
const wd_gguf_kv *wd_gguf_kv_at(const wd_gguf *g, size_t i); /* NULL when out of range */
const wd_gguf_kv *wd_gguf_find_kv(const wd_gguf *g, const char *key); /* NULL when absent */

size_t                wd_gguf_n_tensors(const wd_gguf *g);
const wd_gguf_tensor *wd_gguf_tensor_at(const wd_gguf *g, size_t i); /* file order */
const wd_gguf_tensor *wd_gguf_find_tensor(const wd_gguf *g, const char *name);

/* Typed look-ups by key. Each returns WD_OK and sets *out, WD_ERR_NOT_FOUND
 * when the key is absent (the thread's error names the file and key), or
 * WD_ERR_FORMAT when the value has another type (an integer of any width or
 * sign is accepted where it fits; a float accepts any integer too). */
wd_status wd_gguf_get_int(const wd_gguf *g, const char *key, int64_t *out);
wd_status wd_gguf_get_float(const wd_gguf *g, const char *key, double *out);
wd_status wd_gguf_get_bool(const wd_gguf *g, const char *key, bool *out);
wd_status wd_gguf_get_str(const wd_gguf *g, const char *key, const char **out);

/* Element i (< kv->n) of an array of integers / floats / bools, widened.
 * Returns false when kv is not such an array or i is out of range. */
bool wd_gguf_kv_arr_int(const wd_gguf_kv *kv, uint64_t i, int64_t *out);
bool wd_gguf_kv_arr_float(const wd_gguf_kv *kv, uint64_t i, double *out);

/* Converts the tensor to float into out[0..n), n == t->n_elem: F32, F16,
 * BF16, F64 and the quantized types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K,
 * Q5_K, Q6_K. Returns WD_ERR_RANGE when n differs, WD_ERR_UNSUPPORTED (the
 * thread error names the tensor and type) for other types. */
wd_status wd_gguf_tensor_read_f32(const wd_gguf_tensor *t, float *out, size_t n);

/* ==== writing =========================================================== */

/* Collects metadata and tensors and writes one GGUF v3 file atomically
 * (temporary + fsync + rename): key/values in the order added, then the
 * tensor infos, then the data, each tensor padded to the alignment (32, or
 * general.alignment when set with wd_gguf_writer_set_u32). llama.cpp reads
 * the result. */
typedef struct wd_gguf_writer wd_gguf_writer;

wd_status wd_gguf_writer_new(wd_gguf_writer **out);
void      wd_gguf_writer_free(wd_gguf_writer *w); /* NULL is a no-op */

/* Metadata setters: the key and values are copied; setting a key twice
 * replaces its value. Return WD_ERR_INVALID_ARG for an empty key,
 * WD_ERR_NOMEM. */
wd_status wd_gguf_writer_set_u32(wd_gguf_writer *w, const char *key, uint32_t v);
wd_status wd_gguf_writer_set_i32(wd_gguf_writer *w, const char *key, int32_t v);
wd_status wd_gguf_writer_set_u64(wd_gguf_writer *w, const char *key, uint64_t v);
wd_status wd_gguf_writer_set_f32(wd_gguf_writer *w, const char *key, float v);
wd_status wd_gguf_writer_set_bool(wd_gguf_writer *w, const char *key, bool v);
wd_status wd_gguf_writer_set_str(wd_gguf_writer *w, const char *key, const char *v);
/* An array of n numbers of elem_type (not STRING / ARRAY), data packed as
 * the file holds them. */
wd_status wd_gguf_writer_set_arr(wd_gguf_writer *w, const char *key, wd_gguf_type elem_type,
                                 const void *data, uint64_t n);
/* An array of n NUL-terminated strings. */
wd_status wd_gguf_writer_set_arr_str(wd_gguf_writer *w, const char *key,
                                     const char *const *strs, uint64_t n);

/* Copies a metadata entry of a file being read, with its exact type. */
wd_status wd_gguf_writer_set_kv(wd_gguf_writer *w, const wd_gguf_kv *kv);

/* Adds a tensor of ggml type `type` and dims ne[0..ndim) (ne[0] innermost).
 * data is NOT copied: it must hold the tensor's bytes in that type's layout
 * and stay valid until wd_gguf_writer_write returns. Returns
 * WD_ERR_INVALID_ARG for an empty or repeated name, ndim outside 1..4, a
 * negative dim, a row not a multiple of the block size, an unknown type. */
wd_status wd_gguf_writer_add_tensor(wd_gguf_writer *w, const char *name, wd_ggml_type type,
                                    const int64_t *ne, int ndim, const void *data);

/* Writes the file. Returns WD_ERR_IO naming the path when writing fails;
 * the destination is then untouched. */
wd_status wd_gguf_writer_write(wd_gguf_writer *w, const char *path);

/* Message of the writer's last failure ("" if none); owned by w. */
const char *wd_gguf_writer_last_error(const wd_gguf_writer *w);

/* ==== converting a model =============================================== */

typedef struct wd_gguf_convert_params {
    wd_ggml_type type;   /* F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K */
    bool         q4_k_m; /* llama.cpp's Q4_K_M mix (type is then Q4_K)                   */
} wd_gguf_convert_params;

/* type F16, q4_k_m false. */
wd_gguf_convert_params wd_gguf_convert_params_default(void);

/* Writes the decoder model at in (a Hugging Face folder: config.json,
 * safetensors, tokenizer.json; or a .gguf) as a GGUF file at out that
 * llama.cpp loads: llama.cpp's names, metadata and q/k layout, the
 * tokenizer as tokenizer.ggml.*, 2-D tensors in the requested type (with
 * llama.cpp's exceptions: see model/gguf_convert.c), 1-D ones in F32.
 * Decoders written: llama, mistral, qwen2, qwen3, granite, gemma2,
 * gemma3_text (not phi3). Atomic: out is untouched on failure. Returns
 * WD_ERR_UNSUPPORTED for an encoder, another decoder, a configuration
 * llama.cpp cannot express (see model/gguf_convert_arch.c) or a tokenizer
 * that is not BPE, or any error of reading in. */
wd_status wd_gguf_convert(const char *in, const char *out, const wd_gguf_convert_params *params);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_GGUF_H */
