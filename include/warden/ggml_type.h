/*
 * warden/ggml_type.h - tensor element types in ggml's numbering: the plain
 * ones (F32, F16, BF16, integers) and the block-quantized ones (Q8_0, Q4_0,
 * K-quants, ...), with each type's name, block size and bytes per block.
 * GGUF files (warden/gguf.h) tag their tensors with them; the runtime
 * computes on F32, F16, BF16 and the block types of tensor/quant.c.
 */
#ifndef WARDEN_GGML_TYPE_H
#define WARDEN_GGML_TYPE_H

#include <stddef.h>

#include "warden/base.h"

/* Tensor element types (ggml's numbering). Types whose block layout warden
 * knows by size are read (and can be listed); warden converts F32, F16,
 * BF16, F64 and the quantized types of tensor/quant.c to float. */
typedef enum wd_ggml_type {
    WD_GGML_TYPE_F32 = 0,
    WD_GGML_TYPE_F16 = 1,
    WD_GGML_TYPE_Q4_0 = 2,
    WD_GGML_TYPE_Q4_1 = 3,
    WD_GGML_TYPE_Q5_0 = 6,
    WD_GGML_TYPE_Q5_1 = 7,
    WD_GGML_TYPE_Q8_0 = 8,
    WD_GGML_TYPE_Q8_1 = 9,
    WD_GGML_TYPE_Q2_K = 10,
    WD_GGML_TYPE_Q3_K = 11,
    WD_GGML_TYPE_Q4_K = 12,
    WD_GGML_TYPE_Q5_K = 13,
    WD_GGML_TYPE_Q6_K = 14,
    WD_GGML_TYPE_Q8_K = 15,
    WD_GGML_TYPE_IQ2_XXS = 16,
    WD_GGML_TYPE_IQ2_XS = 17,
    WD_GGML_TYPE_IQ3_XXS = 18,
    WD_GGML_TYPE_IQ1_S = 19,
    WD_GGML_TYPE_IQ4_NL = 20,
    WD_GGML_TYPE_IQ3_S = 21,
    WD_GGML_TYPE_IQ2_S = 22,
    WD_GGML_TYPE_IQ4_XS = 23,
    WD_GGML_TYPE_I8 = 24,
    WD_GGML_TYPE_I16 = 25,
    WD_GGML_TYPE_I32 = 26,
    WD_GGML_TYPE_I64 = 27,
    WD_GGML_TYPE_F64 = 28,
    WD_GGML_TYPE_IQ1_M = 29,
    WD_GGML_TYPE_BF16 = 30,
    WD_GGML_TYPE_TQ1_0 = 34,
    WD_GGML_TYPE_TQ2_0 = 35,
    WD_GGML_TYPE_COUNT = 39
} wd_ggml_type;

/* ggml's name of a type ("q4_K", "bf16"), or NULL when warden does not know
 * the type. Static string. */
const char *wd_ggml_type_name(wd_ggml_type type);
/* Elements per block (1 for plain types) and bytes per block; 0 when unknown. */
size_t wd_ggml_type_block_size(wd_ggml_type type);
size_t wd_ggml_type_size(wd_ggml_type type);
/* Parses a name case-insensitively ("q8_0", "Q4_K", "f16"); WD_ERR_UNSUPPORTED when unknown. */
wd_status wd_ggml_type_from_name(const char *name, wd_ggml_type *out);
#endif
