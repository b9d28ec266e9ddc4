/*
 * tensor/qgemm.h - many rows of x against block-quantized weights: the
 * prefill half of the linear layer on ggml block types (internal).
 *
 *     out (N,OC) = x (N,C) . W^T + bias
 *
 * with W (OC,C) in Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K, row by
 * row as the file stores it. tensor/qmatmul.c calls it when x has enough
 * rows to reuse each weight many times and the CPU has a kernel for it
 * (wd__qgemm_takes); fewer rows (decoding) stay there.
 *
 * x is quantized to int8 blocks of 32 exactly as qmatmul.c's int8 paths
 * quantize it (d = amax/127, q = round(x/d), round half away from zero), so
 * the result differs from theirs only in float summation order. Each tile
 * of weight rows is unpacked once per slice of C into one form for every
 * type, w = S * v + off (v an unsigned byte, S and off constant over 16 or
 * 32 elements), with each 32-bit lane of a register holding 4 bytes of a
 * different row, which integer dot products against x's broadcast bytes
 * consume 16 rows (AVX-512 VNNI) or 8 rows (AVX-VNNI, AVX2) at a time; see
 * qgemm.c.
 */
#ifndef WD_TENSOR_QGEMM_H
#define WD_TENSOR_QGEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/ggml_type.h"
#include "warden/ops.h"

/* True when wd__qgemm has a kernel for type on this CPU and N rows of x are
 * enough for it to beat qmatmul.c's kernels: 4 with AVX-512 VNNI (512-bit
 * registers), 12 with AVX-VNNI or AVX2 (256-bit), never elsewhere. */
bool wd__qgemm_takes(wd_ggml_type type, size_t N);

/* out (N,OC) = x (N,C) . W^T + bias; w holds OC rows of C elements of type
 * (C a multiple of the type's block size); bias (OC) or NULL; tp may be
 * NULL. WD_ERR_UNSUPPORTED if this CPU has no kernel for type
 * (wd__qgemm_takes), WD_ERR_NOMEM if its scratch cannot be allocated. */
wd_status wd__qgemm(float *out, const float *x, const void *w, wd_ggml_type type,
                    const float *bias, size_t N, size_t C, size_t OC, wd_threadpool *tp);

#endif
