/*
 * tensor/qmatmul.h - the linear layer on weights kept in their file's type
 * (internal): out (N,OC) = x (N,C) . W^T + bias, with W (OC,C) stored row by
 * row in F16, BF16 or one of ggml's block types (tensor/quant.h), never
 * widened to F32 as a whole.
 *
 *   type          how a row is dotted with x
 *   F16, BF16     widened 8 at a time in registers (F16C; BF16 by a shift),
 *                 fused multiply-add in F32 (portable: via a row buffer)
 *   Q8_0, Q4_0,   x quantized once per call to int8 blocks of 32 with an F32
 *   Q4_K, Q5_K,   scale (as ggml's Q8_0 activations, but the scale kept in
 *   Q6_K          F32) and the sums of its halves; integer dot products per
 *                 32 (or 16) weights (AVX2 maddubs/madd), scaled by the
 *                 weights' and x's scales in F32; the K-quants' minimum /
 *                 offset terms through x's sums
 *   Q4_1, Q5_0,   a tile of 8 rows dequantized into a per-thread F32 buffer,
 *   Q5_1          then dotted with 4 rows of x at a time
 *
 * Rows of x on a block type go to tensor/qgemm.c (a tiled int8 GEMM) when
 * wd__qgemm_takes() says it beats what follows (4 rows with AVX-512 VNNI,
 * 12 on 256-bit VNNI or AVX2), and one row to tensor/qgemv.c where it has
 * a kernel; F16/BF16 from WD_GEMM_MIN_N rows to tensor/gemm.c on AVX2 CPUs.
 * What follows is the path for the rest.
 *
 * Work is split over tp by output rows (OC). Each weight row is read once
 * per group of 4 rows of x, so decoding (N = 1) streams the weights once and
 * prefill reuses each row from cache. CPU features are picked at run time
 * (tensor/cpu.h); the portable C paths give the same results up to float
 * summation order. One row of x (decoding) on Q8_0 / Q4_0 / Q4_K / Q5_K /
 * Q6_K weights goes to tensor/qgemv.h where the CPU has AVX-512 VNNI.
 *
 * Precision: F16/BF16 paths are exact products summed in F32. The int8
 * paths quantize x per block of 32 (error at most half a step, amax/254), as
 * llama.cpp does; wd__qmatmul_ref is the mathematical product of the
 * dequantized weights with the unquantized x, in double.
 */
#ifndef WD_TENSOR_QMATMUL_H
#define WD_TENSOR_QMATMUL_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/ggml_type.h"
#include "warden/ops.h"

/* True when wd__qmatmul takes weights of this type: F16, BF16 and every
 * block type wd__quant_supported() knows. */
bool wd__qmatmul_supported(wd_ggml_type type);

/* out (N,OC) = x (N,C) . W^T + bias; w holds OC rows of C elements of type
 * (row stride wd__quant_row_size, or 2*C bytes for F16/BF16); C a multiple
 * of the type's block size; bias (OC) or NULL; tp may be NULL. One
 * allocation per call (scratch); WD_ERR_NOMEM if it fails. */
wd_status wd__qmatmul(float *out, const float *x, const void *w, wd_ggml_type type,
                      const float *bias, size_t N, size_t C, size_t OC, wd_threadpool *tp);

/* The reference: each row dequantized, products summed in double. */
wd_status wd__qmatmul_ref(float *out, const float *x, const void *w, wd_ggml_type type,
                          const float *bias, size_t N, size_t C, size_t OC);

/* One row of C elements of type widened to F32 into y (embedding lookups). */
void wd__qmatmul_widen_row(wd_ggml_type type, float *y, const void *src, size_t C);

/* Bytes of one row of C elements of type (F16/BF16 included). */
size_t wd__qmatmul_row_size(wd_ggml_type type, size_t C);

#endif
