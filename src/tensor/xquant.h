/*
 * tensor/xquant.h - activations to int8 blocks of 32: the one rounding that
 * every int8 kernel (qmatmul.c, qgemv.c, qgemm.c) applies to x (internal).
 *
 * Per block of 32 values: d = amax / 127 and q = round(x * (1/d)), half
 * away from zero (as roundf), so q lies in [-127, 127] (x times the
 * reciprocal, as llama.cpp does: near a tie it may round otherwise than
 * x / d would); a block whose d is zero or subnormal gets q = 0. llama.cpp's Q8_0 activations round the same way but
 * keep d in F16; here d stays F32.
 */
#ifndef WD_TENSOR_XQUANT_H
#define WD_TENSOR_XQUANT_H

#include <stdint.h>

/* Quantizes x[0..32) into q[0..32); returns d and puts the sums of q over
 * each half (16 values) in s[0] and s[1]. */
typedef float (*wd__xq_fn)(int8_t *q, const float *x, int s[2]);

/* The implementation for this CPU (AVX-512 where it has F, BW and VL; AVX2
 * where it has AVX2 and FMA; the portable one otherwise): the same q, d and s on every path. Fetch it once
 * per call of a kernel, not per block. */
wd__xq_fn wd__xq_pick(void);

/* The portable implementation. */
float wd__xq_block_ref(int8_t *q, const float *x, int s[2]);

#endif
