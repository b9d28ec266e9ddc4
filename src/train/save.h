/*
 * train/save.h - what training writes: the model in Hugging Face's layout
 * (config.json, tokenizer files, model.safetensors), a LoRA adapter in
 * PEFT's layout (adapter_config.json + adapter_model.safetensors), and the
 * training state that --resume reads back (state.safetensors: trainable
 * values, AdamW's moments, the step and the data order).
 *
 * Every file is written to a temporary and renamed: a failed save leaves
 * the files that were there before.
 */
#ifndef WD_TRAIN_SAVE_H
#define WD_TRAIN_SAVE_H

#include <stdint.h>

#include "io/folder.h"
#include "train/tdec.h"
#include "warden/safetensors.h"

/* The saved tensors of P (not the adapters) as model.safetensors in dtype
 * (F32, F16 or BF16); with d (the decoder P belongs to, or NULL) its LoRA
 * adapters are merged in (W + scale B A). */
wd_status wd__save_model(const wd__tparams *P, const wd__tdec *d, const char *out, wd_dtype dtype,
                         wd__err *err);

/* adapter_config.json + adapter_model.safetensors (F32). */
wd_status wd__save_adapter(const wd__tdec *d, const char *base_model, const char *out,
                           wd__err *err);

/* Training state: every trainable tensor, m and v (n_grad each), and the
 * counters. */
typedef struct wd__train_state {
    uint64_t step, epoch, cursor, seed;
} wd__train_state;

wd_status wd__save_state(const wd__tparams *P, const float *m, const float *v,
                         const wd__train_state *s, const char *path, wd__err *err);
wd_status wd__load_state(wd__tparams *P, float *m, float *v, wd__train_state *s,
                         const char *path, wd__err *err);

#endif
