/*
 * warden/checkpoint.h - the weights of a Hugging Face model folder.
 *
 * A folder holds either model.safetensors, or model.safetensors.index.json
 * ({"metadata": {...}, "weight_map": {"TENSOR": "SHARD FILE", ...}}) and the
 * shard files it names. wd_checkpoint opens each shard once (mmap, no copy)
 * and answers tensor look-ups across all of them.
 */
#ifndef WARDEN_CHECKPOINT_H
#define WARDEN_CHECKPOINT_H

#include "warden/base.h"
#include "warden/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_checkpoint wd_checkpoint;

/* Opens path: a model folder (model.safetensors.index.json is preferred
 * over model.safetensors when both exist), a single .safetensors file, or
 * an index file (*.safetensors.index.json; shards are read beside it).
 * Validates every shard (wd_safetensors_open) and the index: shard names
 * are plain file names (no '/', not "." or ".."), every tensor of the
 * weight_map exists in the shard it names, and no tensor is in two shards.
 * On success *out is new (caller frees with wd_checkpoint_free); on failure
 * NULL, with wd_last_error() naming the file and the reason. Returns
 * WD_ERR_NOT_FOUND when the folder has no weights, WD_ERR_FORMAT for a bad
 * index or shard, or any status of wd_safetensors_open. */
wd_status wd_checkpoint_open(const char *path, wd_checkpoint **out);

/* Unmaps and frees; NULL is a no-op. */
void wd_checkpoint_free(wd_checkpoint *ck);

/* The folder (or file) given at open; owned by ck. */
const char *wd_checkpoint_path(const wd_checkpoint *ck);

/* Shards: count and the i-th (NULL when out of range); owned by ck. */
size_t                wd_checkpoint_n_shards(const wd_checkpoint *ck);
const wd_safetensors *wd_checkpoint_shard(const wd_checkpoint *ck, size_t i);

/* All tensors, shard by shard in data order: count, and the i-th (NULL when
 * out of range). Owned by ck. */
size_t                wd_checkpoint_n_tensors(const wd_checkpoint *ck);
const wd_tensor_info *wd_checkpoint_tensor(const wd_checkpoint *ck, size_t i);

/* Returns the tensor named name in any shard, or NULL when absent. */
const wd_tensor_info *wd_checkpoint_find(const wd_checkpoint *ck, const char *name);

/* Total bytes of all shard files, and the sum of all tensors' n_elem. */
uint64_t wd_checkpoint_file_bytes(const wd_checkpoint *ck);
uint64_t wd_checkpoint_n_params(const wd_checkpoint *ck);

/* Converts the tensor named name to float into out[0..n) (see
 * wd_tensor_read_f32). Returns WD_ERR_NOT_FOUND naming the tensor and the
 * checkpoint when absent, WD_ERR_RANGE when n differs from its size. */
wd_status wd_checkpoint_read_f32(const wd_checkpoint *ck, const char *name, float *out, size_t n);

/* ==== writing a model folder, one tensor at a time ====================== */

/* Writes a model folder's weights without holding them: the caller first
 * declares every tensor (name, dtype, shape), then streams each one's bytes
 * in the order wd_checkpoint_writer_next() asks for, then finishes.
 *
 *   - Tensors go to shards in declaration order; a shard is closed when the
 *     next tensor would take its tensor bytes past max_shard_bytes (a tensor
 *     larger than that gets a shard of its own), as transformers'
 *     save_pretrained(max_shard_size=...) does.
 *   - One shard: DIR/model.safetensors. Several: DIR/model-0000K-of-0000N.
 *     safetensors and DIR/model.safetensors.index.json ({"metadata":
 *     {"total_size": tensor bytes}, "weight_map": {name: file}}, names
 *     sorted). The other layout's file, if DIR held one, is removed so that
 *     readers do not pick up stale weights.
 *   - Inside a shard the layout is wd_safetensors_writer's: header padded to
 *     8 bytes, tensors packed widest dtype first (stable), so the order of
 *     writing is shard by shard, and within a shard by that sort.
 *   - Every shard is written to a temporary file beside its destination
 *     (".NAME.tmp-XXXXXX"), fsync'd, and renamed only when every shard is
 *     complete; an error or wd_checkpoint_writer_free() before finish
 *     removes the temporaries, so a failure leaves no weights behind.
 * The folder must exist. Memory: the plan only (names and shapes).
 *
 *   wd_checkpoint_writer *w;  wd_checkpoint_writer_new(dir, 5e9, &w);
 *   for each tensor: wd_checkpoint_writer_add(w, name, dtype, shape, ndim);
 *   wd_checkpoint_writer_begin(w);
 *   size_t i;
 *   while (wd_checkpoint_writer_next(w, &i))      (i: declaration index)
 *       wd_checkpoint_writer_write(w, bytes, n);  (once or in pieces)
 *   wd_checkpoint_writer_finish(w);  wd_checkpoint_writer_free(w);
 */
typedef struct wd_checkpoint_writer wd_checkpoint_writer;

/* A new writer into the existing folder dir (copied). max_shard_bytes 0
 * means one shard. Returns WD_ERR_INVALID_ARG or WD_ERR_NOMEM (*out NULL). */
wd_status wd_checkpoint_writer_new(const char *dir, uint64_t max_shard_bytes,
                                   wd_checkpoint_writer **out);

/* Declares the next tensor (name and shape copied). Checks as
 * wd_safetensors_writer_add does, and rejects a repeated name. Only before
 * begin. */
wd_status wd_checkpoint_writer_add(wd_checkpoint_writer *w, const char *name, wd_dtype dtype,
                                   const int64_t *shape, int ndim);

/* Adds a __metadata__ entry to every shard (e.g. "format": "pt", which
 * transformers expects). Only before begin. */
wd_status wd_checkpoint_writer_add_metadata(wd_checkpoint_writer *w, const char *key,
                                            const char *value);

/* Fixes the shards and the order of writing. Returns WD_ERR_INVALID_ARG when
 * no tensor was declared. */
wd_status wd_checkpoint_writer_begin(wd_checkpoint_writer *w);

/* True while a tensor remains to be written; *index is then its declaration
 * index (0 for the first wd_checkpoint_writer_add). False once all are. */
bool wd_checkpoint_writer_next(const wd_checkpoint_writer *w, size_t *index);

/* Appends n bytes to the tensor wd_checkpoint_writer_next names; a tensor
 * may come in several pieces and is done when its nbytes have been written
 * (then the next one starts). Opens each shard's temporary when its first
 * byte comes. Returns WD_ERR_RANGE (naming the tensor) when n exceeds what
 * the tensor still needs, WD_ERR_IO when writing fails (the writer is then
 * dead: every later call fails, free removes the temporaries). */
wd_status wd_checkpoint_writer_write(wd_checkpoint_writer *w, const void *data, size_t n);

/* After every tensor is written: syncs and renames the shards into place,
 * then writes the index (sharded). Returns WD_ERR_INVALID_ARG when tensors
 * are missing, WD_ERR_IO when a rename or the index fails (temporaries and
 * already renamed shards are removed). */
wd_status wd_checkpoint_writer_finish(wd_checkpoint_writer *w);

/* After begin: the number of shards, and the bytes of all files (headers
 * included) written so far. */
size_t   wd_checkpoint_writer_n_shards(const wd_checkpoint_writer *w);
uint64_t wd_checkpoint_writer_bytes(const wd_checkpoint_writer *w);

/* Message of the writer's last failure ("" if none); owned by w. */
const char *wd_checkpoint_writer_last_error(const wd_checkpoint_writer *w);

/* Frees the writer; an unfinished one removes its temporaries. NULL is a no-op. */
void wd_checkpoint_writer_free(wd_checkpoint_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_CHECKPOINT_H */
