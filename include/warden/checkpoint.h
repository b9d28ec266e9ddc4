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

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_CHECKPOINT_H */
