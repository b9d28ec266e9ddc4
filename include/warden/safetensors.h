/*
 * warden/safetensors.h - read and write safetensors files.
 *
 * The format (https://huggingface.co/docs/safetensors):
 *
 *   +---------+---------------------------+------------------------------+
 *   | u64 LE  | JSON header, N bytes      | data area: raw tensor bytes  |
 *   |    N    | (may end in ' ' padding)  | little-endian, row-major     |
 *   +---------+---------------------------+------------------------------+
 *   header = {"__metadata__": {"k": "v", ...},            (optional)
 *             "NAME": {"dtype": "F32", "shape": [2, 3],
 *                      "data_offsets": [BEGIN, END]}, ...}
 *   offsets are relative to the start of the data area.
 *
 * Reading maps the file and validates the whole header before anything is
 * handed out: the header length, the JSON, every dtype, shape and offset,
 * that shape x dtype size equals the byte span, that spans lie inside the
 * data area and do not overlap, and that no name repeats. Tensor data is
 * never copied: wd_tensor_info.data points into the map, which lives as long
 * as the wd_safetensors object. The data pointer may be unaligned for files
 * written by other tools; wd_tensor_read_f32() copies safely either way.
 *
 * warden assumes a little-endian host (as does the format).
 */
#ifndef WARDEN_SAFETENSORS_H
#define WARDEN_SAFETENSORS_H

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== dtypes ============================================================ */

typedef enum wd_dtype {
    WD_DTYPE_F32 = 0,
    WD_DTYPE_F16,
    WD_DTYPE_BF16,
    WD_DTYPE_F64,
    WD_DTYPE_I8,
    WD_DTYPE_U8,
    WD_DTYPE_I16,
    WD_DTYPE_I32,
    WD_DTYPE_I64,
    WD_DTYPE_BOOL,
    WD_DTYPE_COUNT
} wd_dtype;

/* Returns the safetensors name of a dtype ("F32", "BF16", ...), or "?" for
 * a value out of range. Static string. */
const char *wd_dtype_name(wd_dtype dtype);

/* Returns the size of one element in bytes (BOOL = 1), or 0 when out of range. */
size_t wd_dtype_size(wd_dtype dtype);

/* Parses a safetensors dtype name (exact, case-sensitive). Returns WD_OK, or
 * WD_ERR_UNSUPPORTED when the name is not one of the ten dtypes above. */
wd_status wd_dtype_from_name(const char *name, wd_dtype *out);

/* ==== tensors =========================================================== */

/* One tensor of an open file. Every pointer is owned by the object it came
 * from (wd_safetensors or wd_checkpoint) and is valid until that is freed. */
typedef struct wd_tensor_info {
    const char    *name;
    wd_dtype       dtype;
    int            ndim;   /* 0 for a scalar                                */
    const int64_t *shape;  /* ndim entries, each >= 0                       */
    uint64_t       n_elem; /* product of shape (1 for a scalar)             */
    size_t         nbytes; /* n_elem * wd_dtype_size(dtype)                 */
    uint64_t       offset; /* begin, relative to the file's data area       */
    const void    *data;   /* nbytes bytes inside the map; may be unaligned */
} wd_tensor_info;

/* Converts the tensor's elements to float into out[0..n), n == t->n_elem.
 * F32 is copied; F16, BF16 and F64 are converted exactly as IEEE rounding
 * says (F64 rounds to nearest); integer dtypes and BOOL convert their value.
 * Returns WD_ERR_RANGE (thread error names the tensor) when n != n_elem. */
wd_status wd_tensor_read_f32(const wd_tensor_info *t, float *out, size_t n);

/* ==== reading =========================================================== */

typedef struct wd_safetensors wd_safetensors;

/* Maps and validates the file at path. On success *out is a new object the
 * caller frees with wd_safetensors_free. On failure *out is NULL and
 * wd_last_error() says what is wrong, naming the file and the tensor, e.g.
 *   "m.safetensors: tensor 'x': data_offsets [0, 96] span 96 bytes but
 *    shape [4, 8] of F32 needs 128".
 * Returns WD_ERR_NOT_FOUND / WD_ERR_IO when the file cannot be opened,
 * WD_ERR_FORMAT for a malformed file, WD_ERR_UNSUPPORTED for an unknown
 * dtype, WD_ERR_NOMEM. */
wd_status wd_safetensors_open(const char *path, wd_safetensors **out);

/* Same, over a caller's buffer (not copied: it must outlive the object).
 * name is used in messages. */
wd_status wd_safetensors_open_memory(const void *data, size_t size, const char *name,
                                     wd_safetensors **out);

/* Unmaps and frees; NULL is a no-op. Every pointer obtained from st dies. */
void wd_safetensors_free(wd_safetensors *st);

/* The path (or name) given at open; owned by st. */
const char *wd_safetensors_path(const wd_safetensors *st);
/* Starts reading the whole file into the page cache in the background
 * (for a caller about to use every tensor); returns at once. */
void wd_safetensors_prefetch(const wd_safetensors *st);
/* Total file size in bytes, and the header length N (see the diagram). */
size_t wd_safetensors_file_size(const wd_safetensors *st);
size_t wd_safetensors_header_size(const wd_safetensors *st);

/* Number of tensors. Index order is the order of the data in the file. */
size_t wd_safetensors_n_tensors(const wd_safetensors *st);

/* Returns the i-th tensor, or NULL when i is out of range. Owned by st. */
const wd_tensor_info *wd_safetensors_tensor(const wd_safetensors *st, size_t i);

/* Returns the tensor named name (binary search), or NULL when absent. */
const wd_tensor_info *wd_safetensors_find(const wd_safetensors *st, const char *name);

/* The __metadata__ map: number of entries, entry i (key and value, owned by
 * st; returns WD_ERR_RANGE when i is out of range), and lookup by key
 * (returns the value or NULL). */
size_t      wd_safetensors_n_metadata(const wd_safetensors *st);
wd_status   wd_safetensors_metadata(const wd_safetensors *st, size_t i, const char **key,
                                    const char **value);
const char *wd_safetensors_metadata_get(const wd_safetensors *st, const char *key);

/* ==== writing =========================================================== */

/* Collects tensors and writes them as one safetensors file:
 *   - the JSON header lists "__metadata__" first (when any was added), then
 *     the tensors in data order, each as {"dtype","shape","data_offsets"};
 *   - the header is padded with spaces so the data area starts at a
 *     multiple of 8 bytes from the start of the file;
 *   - tensors are packed with no gaps, in the order they were added, except
 *     that wider dtypes come first (a stable sort on element size) so that
 *     every tensor stays aligned to its element size;
 *   - the file is written atomically (temporary + fsync + rename).
 * Other safetensors readers (the reference Rust/Python library) load it. */
typedef struct wd_safetensors_writer wd_safetensors_writer;

/* Returns a new, empty writer in *out (caller frees), or WD_ERR_NOMEM. */
wd_status wd_safetensors_writer_new(wd_safetensors_writer **out);

/* Frees the writer; NULL is a no-op. Never touches the tensors' data. */
void wd_safetensors_writer_free(wd_safetensors_writer *w);

/* Adds a tensor. name and shape are copied; data is NOT copied: it must hold
 * product(shape) * wd_dtype_size(dtype) bytes (little-endian) and stay valid
 * until wd_safetensors_writer_write returns. ndim may be 0 (a scalar) and
 * data may be NULL only when the tensor has no elements. Returns
 * WD_ERR_INVALID_ARG for an empty, repeated or reserved ("__metadata__")
 * name, a negative dimension, a bad dtype, or a size that overflows. */
wd_status wd_safetensors_writer_add(wd_safetensors_writer *w, const char *name, wd_dtype dtype,
                                    const int64_t *shape, int ndim, const void *data);

/* Adds (or replaces) a __metadata__ entry; both strings are copied. */
wd_status wd_safetensors_writer_add_metadata(wd_safetensors_writer *w, const char *key,
                                             const char *value);

/* Writes the file. May be called more than once. Returns WD_ERR_IO (with the
 * path in the message) when writing fails; the destination is untouched. */
wd_status wd_safetensors_writer_write(wd_safetensors_writer *w, const char *path);

/* Message of the writer's last failure ("" if none); owned by w. */
const char *wd_safetensors_writer_last_error(const wd_safetensors_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_SAFETENSORS_H */
