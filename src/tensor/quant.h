/*
 * tensor/quant.h - ggml's block-quantized weight formats (internal).
 *
 * Each format packs a row of n elements (n a multiple of the block size) in
 * blocks laid out byte for byte as ggml's block_* structs (ggml-common.h),
 * all little-endian, fp16 scales as IEEE binary16:
 *
 *   type  block  bytes  layout
 *   Q8_0     32     34  f16 d | i8 q[32]                     x = d*q
 *   Q4_0     32     18  f16 d | u8 qs[16]                    x = d*(q-8)
 *   Q4_1     32     20  f16 d, f16 m | u8 qs[16]             x = d*q + m
 *   Q5_0     32     22  f16 d | u32 qh | u8 qs[16]           x = d*(q-16)
 *   Q5_1     32     24  f16 d, f16 m | u32 qh | u8 qs[16]    x = d*q + m
 *   Q4_K    256    144  f16 d, f16 dmin | u8 scales[12] | u8 qs[128]
 *   Q5_K    256    176  f16 d, f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]
 *   Q6_K    256    210  u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
 *
 * In the 32-blocks, qs[j] holds element j in its low nibble and element
 * j + 16 in its high one; Q5's qh bit j is element j's fifth bit. K-quants
 * split 256 elements in sub-blocks (Q4_K/Q5_K: 8 x 32, each with a 6-bit
 * scale and min packed in scales[12]: x = d*sc*q - dmin*m; Q6_K: 16 x 16
 * with int8 scales: x = d*sc*(q-32)); quant.c's comments draw the packing.
 *
 * The _ref quantizers are plain C, deterministic, round-to-nearest with a
 * small search for the K-quants' scales; the dequantizers reproduce ggml's
 * reference dequantization exactly (same operations in the same order).
 */
#ifndef WD_TENSOR_QUANT_H
#define WD_TENSOR_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "warden/ggml_type.h"
#include "warden/ops.h"

/* The little-endian binary16 at p (any alignment), widened: the blocks'
 * scales, read the portable way. */
static inline float wd__f16_le(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | p[1] << 8);
    float f;
    wd_f16_to_f32_ref(&f, &h, 1);
    return f;
}

/* Q4_K / Q5_K: the 6-bit scale and min of sub-block j (of 8) from the 12
 * packed bytes q (j < 4: the low 6 bits of bytes j and j + 4; else the
 * nibbles of byte j + 4 with the top 2 bits of bytes j - 4 and j). */
static inline void wd__q4k_scale_min(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63, *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* True for the types below (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K). */
bool wd__quant_supported(wd_ggml_type type);

/* Bytes that n elements take in type (n a multiple of its block size). */
size_t wd__quant_row_size(wd_ggml_type type, size_t n);

/* Quantizes x[0..n) into dst (wd__quant_row_size(type, n) bytes); n must
 * be a multiple of the block size and type supported (asserted). */
void wd__quantize_ref(wd_ggml_type type, void *dst, const float *x, size_t n);

/* Dequantizes n elements of src into y; same preconditions. */
void wd__dequantize(wd_ggml_type type, float *y, const void *src, size_t n);

#endif
