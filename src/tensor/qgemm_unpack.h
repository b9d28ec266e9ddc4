/*
 * tensor/qgemm_unpack.h - quantized blocks unpacked for the int8 GEMM
 * (tensor/qgemm.c): w[e] = S * v[e] + off, v unsigned bytes, S and off per
 * 32 elements (Q6_K: per 16).
 */
#ifndef WD_TENSOR_QGEMM_UNPACK_H
#define WD_TENSOR_QGEMM_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "warden/ggml_type.h"

/* Block b of a row (b even for the two-block form) into v[32] (v[64]),
 * S[2] and off[2] (S[4], off[4]). */
typedef void (*wd__qg_unpack_fn)(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off);

/* The one-block unpacker of type, or NULL when it is not a block type the
 * GEMM takes. */
wd__qg_unpack_fn wd__qg_block_unpacker(wd_ggml_type type);
/* The AVX2 two-block unpacker of type, or NULL (none for it, or not x86:
 * then the one-block form serves twice). */
wd__qg_unpack_fn wd__qg_chunk_unpacker(wd_ggml_type type);

/* Q8_0 as its signed bytes (v = q, off = 0), for AVX2's sign trick. */
void wd__qg_unpack_q8_0_signed(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off);
#if defined(__x86_64__) || defined(__i386__)
void wd__qg_chunk_q8_0_signed(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off);
#endif

#endif
