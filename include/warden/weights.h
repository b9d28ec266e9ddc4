/*
 * warden/weights.h - weight-space repair of fine-tuned checkpoints
 * (METHODS.md sections 2-7): merging (`warden merge`), the RESTA safety
 * vector (`warden resta`), pruning harmful weights (`warden prune`), safety
 * layers (`warden layers`), refusal / toxic directions (`warden steer`) and
 * the safety landscape (`warden landscape`).
 *
 * Inputs are Hugging Face model folders (safetensors, one file or sharded);
 * outputs are model folders of the same layout, config and tokenizer carried
 * over, written shard by shard through temporary files and renamed into
 * place, so that a failure leaves nothing behind.
 */
#ifndef WARDEN_WEIGHTS_H
#define WARDEN_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Merging and task arithmetic (merge.c, resta.c) ====================== */

/* ==== Activation-aware pruning (prune.c) =================================== */

/* ==== Safety layers, directions and the landscape ========================= */

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_WEIGHTS_H */
