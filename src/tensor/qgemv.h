/*
 * tensor/qgemv.h - the linear layer on block-quantized weights for one row
 * of x (decoding a token), with AVX-512 VNNI on 512-bit registers
 * (internal). tensor/qmatmul.c hands N = 1 calls here when
 * wd__qgemv_supported() says so; other CPUs and row counts keep its AVX2 /
 * 256-bit VNNI / portable kernels.
 *
 *   type   weights per 512-bit register   x's int8 blocks laid out as
 *   Q8_0   2 blocks, gathered by one word  natural order
 *          permute, flipped to w + 128
 *   Q4_0   4 blocks' nibbles, gathered     per 4 blocks: the 4 first halves
 *          by one word permute             (elements 0-15), then the 4 second
 *   Q4_K   two 32-byte chunks of qs:       per 128: sub-blocks 0, 2, 1, 3
 *   Q5_K   low nibbles, then high          (so each nibble plane meets its x)
 *   Q6_K   64 bytes of ql + 2 bits of qh   natural order
 *
 * Each 64-byte product is one dpbusd (u8 weights x s8 x, 16 int32 lanes),
 * converted to F32 and multiplied by a per-lane scale vector (weight scale x
 * x's scale, permuted from 8 or 16 per-block scales in one instruction), so
 * a row needs one horizontal sum at its end. The weights' offsets (Q4_0's
 * -8, Q6_K's -32) and minima (Q4_K/Q5_K) go through x's per-block sums, one
 * fused multiply-add per 8 or 16 blocks (Q8_0's +128 flip likewise).
 *
 * x is quantized as tensor/qmatmul.c does it (per 32: d = amax/127,
 * q = round half away from zero of x/d), so the result equals the portable
 * int8 path up to float summation order.
 */
#ifndef WD_TENSOR_QGEMV_H
#define WD_TENSOR_QGEMV_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/ggml_type.h"
#include "warden/ops.h"

/* True when this CPU has AVX-512 F/BW/VL/VNNI (not turned off by
 * WD_CPU_DISABLE) and type is Q8_0, Q4_0, Q4_K, Q5_K or Q6_K with C a multiple
 * of its block size. */
bool wd__qgemv_supported(wd_ggml_type type, size_t C);

/* out (OC) = x (C) . W^T + bias: w holds OC rows of wd__quant_row_size(type,
 * C) bytes; bias (OC) or NULL; tp may be NULL (rows split over its threads).
 * Only where wd__qgemv_supported(type, C). One allocation per call (x's int8
 * blocks); WD_ERR_NOMEM if it fails. */
wd_status wd__qgemv(float *out, const float *x, const void *w, wd_ggml_type type, const float *bias, size_t C,
                    size_t OC, wd_threadpool *tp);

#endif
