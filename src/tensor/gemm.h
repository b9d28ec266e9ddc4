/*
 * tensor/gemm.h - the linear layer for many rows of x (prefill) on weights
 * stored as F32, F16 or BF16 (internal):
 *
 *     out (N,OC) = x (N,C) . W^T + bias,   W (OC,C) row-major (nn.Linear)
 *
 * a register-tiled kernel of warden's own, threaded on its pool, in place of
 * OpenBLAS's sgemm (held to AVX2 kernels on some machines) and of the
 * row-at-a-time dot products of tensor/qmatmul.c. Meant for N >=
 * WD_GEMM_MIN_N; a row or a few go faster through the streaming kernels
 * (they read each weight once and pack nothing).
 *
 * Kernels by CPU (tensor/cpu.h, picked at run time): AVX-512F (tiles of 12
 * weight rows x 32 rows of x in 24 zmm accumulators), AVX2 + FMA (6 x 16 in
 * 12 ymm) and portable C. F16 and BF16 weights are widened to F32 a tile at
 * a time (the tile's rows x one block of C) and the tile is reused for
 * every row of x; x stays F32, so every path computes the exact products summed in F32:
 * the results differ from a double-precision reference only by float
 * summation order.
 */
#ifndef WD_TENSOR_GEMM_H
#define WD_TENSOR_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/ggml_type.h"
#include "warden/ops.h"

/* The fewest rows of x for which wd__gemm beats the streaming kernels on
 * F16/BF16 weights (bench/qmatmul.c, 2 Zen 5 cores: even at 8 rows, 1.8x at
 * 16). With F32 weights the decoder uses it past WD_MATMUL_SMALL_N rows. */
#define WD_GEMM_MIN_N 12

/* True for the weight types wd__gemm takes: F32, F16, BF16. */
bool wd__gemm_supported(wd_ggml_type type);

/* True when this CPU runs one of the vector kernels (AVX2 with FMA, and
 * AVX-512F where those are on too): then wd__gemm beats OpenBLAS's sgemm at
 * prefill sizes (AVX-512: 1.4-2x its AVX2 kernels; AVX2: on par). The
 * portable kernel is only a fallback, slower than any BLAS. */
bool wd__gemm_vectorized(void);

/* out (N,OC) = x (N,C) . W^T + bias. w holds OC rows of C elements of type
 * (F32, F16 or BF16; row stride 4*C or 2*C bytes, no alignment needed);
 * bias (OC) or NULL; out must not overlap x or w; tp may be NULL (serial).
 * Overwrites out. One allocation per call (x repacked in panels, the
 * threads' widened tiles); returns WD_ERR_NOMEM if it fails,
 * WD_ERR_UNSUPPORTED for another type. */
wd_status wd__gemm(float *out, const float *x, const void *w, wd_ggml_type type,
                   const float *bias, size_t N, size_t C, size_t OC, wd_threadpool *tp);

#endif
