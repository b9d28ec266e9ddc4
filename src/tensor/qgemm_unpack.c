/*
 * tensor/qgemm_unpack.c - a block of each quantized type as the int8 GEMM
 * (qgemm.c) takes it: unsigned bytes v with a scale S and an offset off per
 * 32 (Q6_K: per 16), w = S * v + off; one block at a time in plain C, two
 * at a time with AVX2 (the table in qgemm.c's comment).
 */
#include "tensor/qgemm_unpack.h"

#include <string.h>

#include "tensor/quant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "tensor/x86.h"
#define WD_HAVE_X86 1
#endif

/* ==== unpacking one 32-block: v[32], S[2] and off[2] (per 16) ========== */

static inline void fill2(float *S, float s) { S[0] = S[1] = s; }

static void unpack_q8_0(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 34 * b;
    float d = wd__f16_le(p);
    for (int i = 0; i < 32; i++) v[i] = p[2 + i] ^ 0x80;
    fill2(S, d);
    off[0] = off[1] = -128.0f * d;
}

static inline void nibbles(uint8_t *v, const uint8_t *qs) {
    for (int j = 0; j < 16; j++) v[j] = qs[j] & 0x0F, v[j + 16] = qs[j] >> 4;
}

static inline void fifth_bits(uint8_t *v, const uint8_t *qh4) {
    uint32_t qh = (uint32_t)qh4[0] | (uint32_t)qh4[1] << 8 | (uint32_t)qh4[2] << 16 | (uint32_t)qh4[3] << 24;
    for (int j = 0; j < 32; j++) v[j] |= (uint8_t)((qh >> j & 1) << 4);
}

static void unpack_q4_0(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 18 * b;
    float d = wd__f16_le(p);
    nibbles(v, p + 2);
    fill2(S, d);
    off[0] = off[1] = -8.0f * d;
}

static void unpack_q4_1(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 20 * b;
    nibbles(v, p + 4);
    fill2(S, wd__f16_le(p));
    off[0] = off[1] = wd__f16_le(p + 2);
}

static void unpack_q5_0(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 22 * b;
    float d = wd__f16_le(p);
    nibbles(v, p + 6);
    fifth_bits(v, p + 2);
    fill2(S, d);
    off[0] = off[1] = -16.0f * d;
}

static void unpack_q5_1(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 24 * b;
    nibbles(v, p + 8);
    fifth_bits(v, p + 4);
    fill2(S, wd__f16_le(p));
    off[0] = off[1] = wd__f16_le(p + 2);
}

/* Q4_K / Q5_K: sub-block j of super-block b / 8; sub-blocks 2c and 2c+1
 * are the low and high nibbles of qs[32c ..]; Q5_K's fifth bits are qh[l]
 * bit j. */
static void unpack_k_affine(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off, int bits) {
    const size_t bsz = bits == 5 ? 176 : 144;
    const uint8_t *p = row + bsz * (b / 8);
    const int j = (int)(b % 8);
    const uint8_t *qh = p + 16, *qs = (bits == 5 ? p + 48 : p + 16) + 32 * (j / 2);
    int sc, m;
    wd__q4k_scale_min(j, p + 4, &sc, &m);
    for (int l = 0; l < 32; l++) v[l] = j % 2 ? qs[l] >> 4 : qs[l] & 0x0F;
    if (bits == 5)
        for (int l = 0; l < 32; l++) v[l] |= (uint8_t)((qh[l] >> j & 1) << 4);
    fill2(S, wd__f16_le(p) * (float)sc);
    off[0] = off[1] = -wd__f16_le(p + 2) * (float)m;
}

static void unpack_q4_k(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    unpack_k_affine(row, b, v, S, off, 4);
}

static void unpack_q5_k(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    unpack_k_affine(row, b, v, S, off, 5);
}

/* Q6_K: 32-chunk c (0..3) of half h of super-block b / 8 takes ql[64h +
 * 32(c%2) ..] (low nibbles for c < 2, high ones after), bits 2c, 2c+1 of
 * qh[32h ..], and scales sc[8h + 2c] (first 16) and sc[8h + 2c + 1]. */
static void unpack_q6_k(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 210 * (b / 8);
    const int h = (int)(b % 8) / 4, c = (int)(b % 4);
    const uint8_t *ql = p + 64 * h + 32 * (c % 2), *qh = p + 128 + 32 * h;
    const int8_t *sc = (const int8_t *)(p + 192) + 8 * h + 2 * c;
    const float d = wd__f16_le(p + 208);
    for (int l = 0; l < 32; l++)
        v[l] = (uint8_t)((c < 2 ? ql[l] & 0x0F : ql[l] >> 4) | ((qh[l] >> (2 * c)) & 3) << 4);
    for (int k = 0; k < 2; k++) {
        float s = d * (float)sc[k];
        S[k] = s;
        off[k] = -32.0f * s;
    }
}

wd__qg_unpack_fn wd__qg_block_unpacker(wd_ggml_type type) {
    switch (type) {
    case WD_GGML_TYPE_Q8_0: return unpack_q8_0;
    case WD_GGML_TYPE_Q4_0: return unpack_q4_0;
    case WD_GGML_TYPE_Q4_1: return unpack_q4_1;
    case WD_GGML_TYPE_Q5_0: return unpack_q5_0;
    case WD_GGML_TYPE_Q5_1: return unpack_q5_1;
    case WD_GGML_TYPE_Q4_K: return unpack_q4_k;
    case WD_GGML_TYPE_Q5_K: return unpack_q5_k;
    case WD_GGML_TYPE_Q6_K: return unpack_q6_k;
    default: return NULL;
    }
}

#ifdef WD_HAVE_X86

/* ==== unpacking two blocks at once ====================================== */

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* S of a chunk (per 16): s0 for block b, s1 for block b + 1. */
AVX2 static inline void put_scales(float *S, float s0, float s1) { S[0] = S[1] = s0, S[2] = S[3] = s1; }

/* Chunk unpackers: blocks b and b + 1 (b even) into v[64], S[4], off[4]. */
AVX2 static void chunk_q8_0(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 34 * b;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    float d[2];
    for (int k = 0; k < 2; k++, p += 34) {
        _mm256_storeu_si256((__m256i *)(v + 32 * k),
                            _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 2)), flip));
        d[k] = wd__f16_at(p);
        off[2 * k] = off[2 * k + 1] = -128.0f * d[k];
    }
    put_scales(S, d[0], d[1]);
}

/* Q8_0 as its signed bytes (v = q, off = 0), for AVX2's sign trick below. */
AVX2 void wd__qg_chunk_q8_0_signed(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 34 * b;
    for (int k = 0; k < 2; k++, p += 34) {
        _mm256_storeu_si256((__m256i *)(v + 32 * k), _mm256_loadu_si256((const __m256i *)(p + 2)));
        off[2 * k] = off[2 * k + 1] = 0.0f;
    }
    put_scales(S, wd__f16_at(row + 34 * b), wd__f16_at(row + 34 * b + 34));
}

void wd__qg_unpack_q8_0_signed(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 34 * b;
    memcpy(v, p + 2, 32);
    fill2(S, wd__f16_le(p));
    off[0] = off[1] = 0.0f;
}

AVX2 static void chunk_q4_0(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 18 * b;
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    float d[2];
    for (int k = 0; k < 2; k++, p += 18) {
        __m128i q = _mm_loadu_si128((const __m128i *)(p + 2));
        _mm_storeu_si128((__m128i *)(v + 32 * k), _mm_and_si128(q, lo4));
        _mm_storeu_si128((__m128i *)(v + 32 * k + 16), _mm_and_si128(_mm_srli_epi16(q, 4), lo4));
        d[k] = wd__f16_at(p);
        off[2 * k] = off[2 * k + 1] = -8.0f * d[k];
    }
    put_scales(S, d[0], d[1]);
}

/* Q5_K's fifth bits j of qh[0..31] moved to bit 4. */
AVX2 static inline __m256i bit_to_4(__m256i qh, int j) {
    __m256i h = j <= 4 ? _mm256_sll_epi16(qh, _mm_cvtsi32_si128(4 - j)) : _mm256_srl_epi16(qh, _mm_cvtsi32_si128(j - 4));
    return _mm256_and_si256(h, _mm256_set1_epi8(0x10));
}

/* Q4_K (bits 4) / Q5_K (bits 5): sub-blocks j and j + 1 (j even) are the
 * low and high nibbles of the same 32 bytes, with Q5_K's fifth bits j and
 * j + 1 of qh. */
AVX2 static inline void chunk_k_affine(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off, int bits) {
    const uint8_t *p = row + (bits == 5 ? 176 : 144) * (b / 8);
    const int j = (int)(b % 8);
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    __m256i q = _mm256_loadu_si256((const __m256i *)(p + (bits == 5 ? 48 : 16) + 16 * j));
    __m256i v0 = _mm256_and_si256(q, lo4), v1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
    if (bits == 5) {
        __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 16));
        v0 = _mm256_or_si256(v0, bit_to_4(qh, j));
        v1 = _mm256_or_si256(v1, bit_to_4(qh, j + 1));
    }
    _mm256_storeu_si256((__m256i *)v, v0);
    _mm256_storeu_si256((__m256i *)(v + 32), v1);
    const float d = wd__f16_at(p), dmin = wd__f16_at(p + 2);
    int sc0, m0, sc1, m1;
    wd__q4k_scale_min(j, p + 4, &sc0, &m0);
    wd__q4k_scale_min(j + 1, p + 4, &sc1, &m1);
    put_scales(S, d * (float)sc0, d * (float)sc1);
    off[0] = off[1] = -dmin * (float)m0;
    off[2] = off[3] = -dmin * (float)m1;
}

AVX2 static void chunk_q4_k(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    chunk_k_affine(row, b, v, S, off, 4);
}

AVX2 static void chunk_q5_k(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    chunk_k_affine(row, b, v, S, off, 5);
}

/* Q6_K: 32-chunks c and c + 1 (c even) of half h: c = 0 takes the low
 * nibbles of ql[64h ..] and ql[64h + 32 ..] with qh bits 0-1 and 2-3; c = 2
 * the high nibbles with bits 4-5 and 6-7; scales sc[8h + 2c .. + 3], one
 * per 16. */
AVX2 static void chunk_q6_k(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 210 * (b / 8);
    const int h = (int)(b % 8) / 4, c = (int)(b % 4);
    const __m256i lo4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x30);
    const __m128i sh = _mm_cvtsi32_si128(c == 0 ? 0 : 4);
    __m256i l0 = _mm256_and_si256(_mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)(p + 64 * h)), sh), lo4);
    __m256i l1 = _mm256_and_si256(_mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)(p + 64 * h + 32)), sh), lo4);
    __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
    /* bits 2c, 2c+1 to bits 4, 5: for c = 0 shift left 4, c = 2 right 0 */
    __m256i h0 = c == 0 ? _mm256_slli_epi16(qh, 4) : qh;
    __m256i h1 = c == 0 ? _mm256_slli_epi16(qh, 2) : _mm256_srli_epi16(qh, 2);
    _mm256_storeu_si256((__m256i *)v, _mm256_or_si256(l0, _mm256_and_si256(h0, two)));
    _mm256_storeu_si256((__m256i *)(v + 32), _mm256_or_si256(l1, _mm256_and_si256(h1, two)));
    const int8_t *sc = (const int8_t *)(p + 192) + 8 * h + 2 * c;
    int32_t s4;
    memcpy(&s4, sc, 4);
    __m128 s = _mm_mul_ps(_mm_set1_ps(wd__f16_at(p + 208)), _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(s4))));
    _mm_storeu_ps(S, s);
    _mm_storeu_ps(off, _mm_mul_ps(s, _mm_set1_ps(-32.0f)));
}

wd__qg_unpack_fn wd__qg_chunk_unpacker(wd_ggml_type type) {
    switch (type) {
    case WD_GGML_TYPE_Q8_0: return chunk_q8_0;
    case WD_GGML_TYPE_Q4_0: return chunk_q4_0;
    case WD_GGML_TYPE_Q4_K: return chunk_q4_k;
    case WD_GGML_TYPE_Q5_K: return chunk_q5_k;
    case WD_GGML_TYPE_Q6_K: return chunk_q6_k;
    default: return NULL;
    }
}

#else
wd__qg_unpack_fn wd__qg_chunk_unpacker(wd_ggml_type type) {
    (void)type;
    return NULL;
}
#endif
