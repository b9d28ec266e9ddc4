/*
 * warden/train.h - the training engine: trainable models (backward through
 * the runtime's families), optimisers, LoRA adapters, the objectives of
 * `warden train sft | reward | dpo`, differential privacy (DP-SGD and its
 * RDP accountant) and adversarial training.
 *
 * (The built-in text classifier's trainer is warden/textclf.h.)
 */
#ifndef WARDEN_TRAIN_H
#define WARDEN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Trainable models ==================================================== */

/* ==== Optimisers and schedules ============================================ */

/* ==== Differential privacy ================================================ */

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_TRAIN_H */
