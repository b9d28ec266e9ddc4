/*
 * train/lora.h - LoRA adapters (Hu et al. 2021) on a decoder's linear
 * layers: W x becomes W x + (alpha / r) B A x with A (r, in) and B (out, r)
 * trainable and W frozen. A starts uniform in +-1/sqrt(in) (PEFT's
 * kaiming_uniform with a = sqrt(5)), B at zero, so training starts from the
 * base model exactly.
 *
 * Saved in PEFT's layout so other tools load it: adapter_config.json
 * (peft_type LORA, r, lora_alpha, target_modules, ...) and
 * adapter_model.safetensors with tensors
 * "base_model.model.<module>.lora_A.weight" / ".lora_B.weight".
 */
#ifndef WD_TRAIN_LORA_H
#define WD_TRAIN_LORA_H

#include <stdint.h>

#include "train/tparams.h"
#include "warden/ops.h"

/* The projections an adapter may target (PEFT's module names). */
enum {
    WD__LORA_Q = 0, /* q_proj    */
    WD__LORA_K,     /* k_proj    */
    WD__LORA_V,     /* v_proj    */
    WD__LORA_O,     /* o_proj    */
    WD__LORA_GATE,  /* gate_proj */
    WD__LORA_UP,    /* up_proj   */
    WD__LORA_DOWN,  /* down_proj */
    WD__LORA_N_TARGETS
};

typedef struct wd__lora_spec {
    int      rank;    /* r; 0 = no adapters */
    float    alpha;   /* lora_alpha; scale = alpha / r */
    unsigned targets; /* bit (1u << WD__LORA_Q) ... */
} wd__lora_spec;

typedef struct wd__lora {
    wd__tparam *A, *B;   /* (r,in) (out,r) */
    const wd__tparam *base; /* the frozen weight W (out,in) it adapts */
    size_t      r, in, out;
    float       scale;
    float      *xa;      /* (BT,r) scale * x A^T, saved for the backward */
} wd__lora;

/* PEFT's module name of target i ("q_proj"), NULL out of range. */
const char *wd__lora_target_name(int i);

/* Parses "q_proj,v_proj" (or "all") into a target mask; false on an
 * unknown name (written to bad, cap bytes). */
bool wd__lora_parse_targets(const char *s, unsigned *mask, char *bad, size_t cap);

/* out (N,OUT) += xa (N,r) B^T after saving xa = scale * x A^T. */
void wd__lora_fwd(wd__lora *a, float *out, const float *x, size_t N);

/* dx (N,IN) += and (when param_grads) the adapters' gradients += from
 * dout (N,OUT); work is (N,r) scratch. */
void wd__lora_bwd(wd__lora *a, float *dx, const float *dout, const float *x, size_t N,
                  float *work, bool param_grads);

#endif
