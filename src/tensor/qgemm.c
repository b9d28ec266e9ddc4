/*
 * tensor/qgemm.c - many rows of x against block-quantized weights; see
 * qgemm.h.
 *
 * One form for every block type. A 32-block of any type is unpacked to
 *
 *     w[e] = S[e/4] * v[e] + off[e/16]       v: unsigned byte
 *
 *   type   v                       S (per 4)      off (per 16)
 *   Q8_0   q + 128                 d              -128 d
 *   Q4_0   nibble                  d              -8 d
 *   Q4_1   nibble                  d              m
 *   Q5_0   nibble | bit << 4       d              -16 d
 *   Q5_1   nibble | bit << 4       d              m
 *   Q4_K   nibble                  d sc           -dmin m
 *   Q5_K   nibble | bit << 4       d sc           -dmin m
 *   Q6_K   6-bit q                 d sc (per 16)  -32 d sc
 *
 * and x to int8 q with one scale dx per 32 (qmatmul.c's rounding). Two
 * kernels consume it.
 *
 * AVX-512 VNNI: rows in lanes (the section of that name below). A tile of
 * 32 weight rows is repacked per slice of 1024 elements so that each
 * 32-bit lane holds 4 consecutive bytes of one row; x's 4 bytes at the same
 * place are broadcast, and one vpdpbusd adds 4 products to 16 rows' exact
 * int32 sums. The sums are converted and scaled once per group of 32
 * elements (16 for Q6_K, whose scales change every 16):
 *
 *     acc[row] += float(isum[row]) * S[row] dx + off[row] * (dx sum q)
 *
 * AVX-VNNI and AVX2 (256-bit registers): a 4 x 4 tile (weight rows x rows
 * of x) whose lanes are elements, not rows:
 *
 *     sum_e w[e] x[e] = sum_lanes (S dx) * [sum of 4 v*q]  +  sum_16 off * (dx sum q)
 *
 * The bracket is one lane of vpdpbusd (AVX-VNNI, 32 elements) or of maddubs
 * + madd (AVX2, every type but Q8_0, whose v = q + 128 would saturate
 * maddubs's 16-bit pair sums). Per pair of rows and 32 elements: one
 * integer dot product, one conversion, one multiply by S, one multiply-add
 * by dx; the offset term is a short dot product over the 16-element groups,
 * added at the end. Loop order, per thread (owning a slice of the tiles of
 * RM = 4 weight rows):
 *
 *   for each block of NB rows of x:
 *       for each slice of KC elements of C:
 *           for each tile of the thread:
 *               unpack the tile's slice (v and S interleaved by chunks of 64)
 *               for each group of RN = 4 rows of x:
 *                   8 accumulators over the slice, twice, plus the offsets
 *                   out += their sums
 *
 * so a tile's unpacked slice (18 KB: 2.25 bytes a weight) stays in L1
 * while the x block (NB = 128 rows of KC elements, 2.25 bytes each: 590 KB)
 * streams from L2.
 * A last group of fewer rows of x repeats its first row (computed, not
 * stored); a last tile of fewer weight rows computes zero rows.
 */
#include "tensor/qgemm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tensor/cpu.h"
#include "tensor/quant.h"
#include "tensor/threads.h"
#include "tensor/xquant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "tensor/x86.h"
#define WD_HAVE_X86 1
#endif

#define CK 64                /* elements per chunk: one 512-bit register of bytes */
#define KC 2048              /* elements of C per slice */
#define RM 4                 /* weight rows per tile */
#define RN 4                 /* rows of x per kernel call */
#define NB 128               /* rows of x per block */
#define CHUNK_BYTES (RM * CK + RM * (CK / 4) * 4) /* v then S of the tile's 4 rows */
#define NOFF (KC / 16)       /* offsets per row per slice */

static inline size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }


/* ==== unpacking one 32-block: v[32], S[8] (per 4), off[2] (per 16) ====== */

typedef void (*unpack_fn)(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off);

static inline void fill8(float *S, float s) {
    for (int l = 0; l < 8; l++) S[l] = s;
}

static void unpack_q8_0(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 34 * b;
    float d = wd__f16_le(p);
    for (int i = 0; i < 32; i++) v[i] = p[2 + i] ^ 0x80;
    fill8(S, d);
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
    fill8(S, d);
    off[0] = off[1] = -8.0f * d;
}

static void unpack_q4_1(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 20 * b;
    nibbles(v, p + 4);
    fill8(S, wd__f16_le(p));
    off[0] = off[1] = wd__f16_le(p + 2);
}

static void unpack_q5_0(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 22 * b;
    float d = wd__f16_le(p);
    nibbles(v, p + 6);
    fifth_bits(v, p + 2);
    fill8(S, d);
    off[0] = off[1] = -16.0f * d;
}

static void unpack_q5_1(const uint8_t *row, size_t b, uint8_t *v, float *S, float *off) {
    const uint8_t *p = row + 24 * b;
    nibbles(v, p + 8);
    fifth_bits(v, p + 4);
    fill8(S, wd__f16_le(p));
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
    fill8(S, wd__f16_le(p) * (float)sc);
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
        for (int l = 0; l < 4; l++) S[4 * k + l] = s;
        off[k] = -32.0f * s;
    }
}

static unpack_fn block_unpacker(wd_ggml_type type) {
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

#ifdef WD_HAVE_X86 /* every kernel of this file needs x86 vector instructions */

/* ==== x to int8 ========================================================== */

/* x rows quantized: q (Cp bytes per row), dx per lane of 4 (Cp/4 floats:
 * the block's scale repeated 8 times) and dx * sum q per 16 (hs, padded
 * with zeros to a multiple of 16 per row). Zeros past C. */
typedef struct xpack {
    int8_t *q;
    float  *dl, *hs;
    size_t  Cp, Hp;  /* row strides of q (and 4 x dl's) and of hs */
} xpack;

typedef struct xtask {
    const float *x;
    xpack       *xp;
    size_t       N, C;
} xtask;

static void quantize_rows(void *ctx, int ith, int nth) {
    xtask *t = ctx;
    size_t lo, hi;
    wd__split(t->N, ith, nth, &lo, &hi);
    const xpack *xp = t->xp;
    wd__xq_fn quant = wd__xq_pick();
    for (size_t n = lo; n < hi; n++) {
        const float *x = t->x + n * t->C;
        int8_t *q = xp->q + n * xp->Cp;
        float *dl = xp->dl + n * (xp->Cp / 4), *hs = xp->hs + n * xp->Hp;
        memset(q + t->C, 0, xp->Cp - t->C);
        memset(dl + t->C / 4, 0, (xp->Cp - t->C) / 4 * sizeof *dl);
        memset(hs + t->C / 16, 0, (xp->Hp - t->C / 16) * sizeof *hs);
        for (size_t b = 0; b < t->C / 32; b++) {
            int s[2];
            float d = quant(q + 32 * b, x + 32 * b, s);
            fill8(dl + 8 * b, d);
            hs[2 * b] = d * (float)s[0], hs[2 * b + 1] = d * (float)s[1];
        }
    }
}

/* ==== the kernel ========================================================= */

typedef void (*tile_fn)(float r[RM][RN], const uint8_t *wb, const float *off, const int8_t *const *xq,
                        const float *const *xd, const float *const *xh, size_t nck);

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))


/* S of a chunk: s0 for its first 8 lanes (block b), s1 for the next 8. */
AVX2 static inline void put_scales(float *S, float s0, float s1) {
    _mm256_storeu_ps(S, _mm256_set1_ps(s0));
    _mm256_storeu_ps(S + 8, _mm256_set1_ps(s1));
}

/* Chunk unpackers: blocks b and b + 1 (b even) into v[64], S[16], off[4]. */
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
    const __m256 s8 = _mm256_castps128_ps256(s);
    _mm256_storeu_ps(S, _mm256_permutevar8x32_ps(s8, _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0)));
    _mm256_storeu_ps(S + 8, _mm256_permutevar8x32_ps(s8, _mm256_set_epi32(3, 3, 3, 3, 2, 2, 2, 2)));
    _mm_storeu_ps(off, _mm_mul_ps(s, _mm_set1_ps(-32.0f)));
}

static unpack_fn chunk_unpacker(wd_ggml_type type) {
    switch (type) {
    case WD_GGML_TYPE_Q8_0: return chunk_q8_0;
    case WD_GGML_TYPE_Q4_0: return chunk_q4_0;
    case WD_GGML_TYPE_Q4_K: return chunk_q4_k;
    case WD_GGML_TYPE_Q5_K: return chunk_q5_k;
    case WD_GGML_TYPE_Q6_K: return chunk_q6_k;
    default: return NULL;
    }
}

/* The 4 x 4 tile on 256-bit registers (16 of them): wb holds, per chunk of
 * 64 elements, the 4 rows' v (64 bytes each) then their S (16 floats
 * each); off the 4 rows' offsets (NOFF apart); xq / xd / xh the 4 x rows'
 * bytes, lane scales and 16-sums, all starting at the slice. Each chunk is
 * taken as two halves of 32, the 4 rows of x in two passes of 2 (8
 * accumulators). MULSUM(v, x):
 * 32 unsigned bytes times 32 signed ones, summed in fours into 8 int32:
 * AVX-VNNI's vpdpbusd, or AVX2's maddubs + madd, whose 16-bit pair sums
 * hold 2 * 63 * 127 (v <= 63: every type but Q8_0, which AVX2 leaves to
 * qmatmul.c). */
#define TILE_YMM(NAME, KT, MULSUM)                                                                          \
    KT static void NAME(float r[RM][RN], const uint8_t *wb, const float *off, const int8_t *const *xq,      \
                        const float *const *xd, const float *const *xh, size_t nck) {                       \
        for (int j0 = 0; j0 < RN; j0 += 2) {                                                                \
            __m256 a[RM][2];                                                                                \
            for (int i = 0; i < RM; i++) a[i][0] = a[i][1] = _mm256_setzero_ps();                           \
            const uint8_t *c = wb;                                                                          \
            for (size_t k = 0; k < 2 * nck; k++, c += (k % 2 ? 32 : CHUNK_BYTES - 32)) {                    \
                const __m256i x0 = _mm256_loadu_si256((const __m256i *)(xq[j0] + 32 * k));                  \
                const __m256i x1 = _mm256_loadu_si256((const __m256i *)(xq[j0 + 1] + 32 * k));              \
                const __m256 d0 = _mm256_loadu_ps(xd[j0] + 8 * k), d1 = _mm256_loadu_ps(xd[j0 + 1] + 8 * k); \
                const float *S = (const float *)(c - 32 * (k % 2) + RM * CK) + 8 * (k % 2);                 \
                for (int i = 0; i < RM; i++) {                                                              \
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(c + CK * i));                    \
                    const __m256 s = _mm256_loadu_ps(S + 16 * i);                                           \
                    a[i][0] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(MULSUM(v, x0)), s), d0, a[i][0]); \
                    a[i][1] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(MULSUM(v, x1)), s), d1, a[i][1]); \
                }                                                                                           \
            }                                                                                               \
            for (size_t h = 0; h < 4 * nck; h += 8)                                                         \
                for (int i = 0; i < RM; i++) {                                                              \
                    const __m256 o = _mm256_loadu_ps(off + i * NOFF + h);                                   \
                    a[i][0] = _mm256_fmadd_ps(o, _mm256_loadu_ps(xh[j0] + h), a[i][0]);                     \
                    a[i][1] = _mm256_fmadd_ps(o, _mm256_loadu_ps(xh[j0 + 1] + h), a[i][1]);                 \
                }                                                                                           \
            for (int i = 0; i < RM; i++) r[i][j0] = wd__hsum8(a[i][0]), r[i][j0 + 1] = wd__hsum8(a[i][1]);      \
        }                                                                                                   \
    }

#define MULSUM_AVXVNNI(v, x) _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), (v), (x))
#define MULSUM_AVX2(v, x) _mm256_madd_epi16(_mm256_maddubs_epi16((v), (x)), _mm256_set1_epi16(1))
TILE_YMM(tile_avxvnni, __attribute__((target("avx2,fma,f16c,avxvnni"))), MULSUM_AVXVNNI)
TILE_YMM(tile_avx2, AVX2, MULSUM_AVX2)
#undef TILE_YMM

/* ==== the threaded drivers =============================================== */

/* The next tile's slice (rows oc0 .. oc0 + n - 1 below OC, elements k0 ..
 * k0 + kc), fetched while this one computes; rs: bytes per row, bs: per 32
 * elements. */
static void prefetch_slice(const uint8_t *w, size_t rs, size_t bs, size_t oc0, size_t n, size_t OC, size_t k0,
                           size_t kc) {
    for (size_t i = 0; i < n && oc0 + i < OC; i++) {
        const uint8_t *row = w + (oc0 + i) * rs + k0 / 32 * bs;
        for (size_t o = 0; o < kc / 32 * bs; o += 64) __builtin_prefetch(row + o);
    }
}

typedef struct gtask {
    float         *out;
    const uint8_t *w;
    const float   *bias;
    const xpack   *xp;
    unpack_fn      unpack;  /* one 32-block */
    unpack_fn      chunk;   /* two blocks at once, or NULL */
    tile_fn        tile;
    size_t         N, C, OC, rs, bs;  /* bs: bytes per 32 elements (K-quants: 1/8 of a super-block) */
    uint8_t       *bufs;  /* per thread: the unpacked slice, then the offsets */
    size_t         buf_bytes;
} gtask;

/* Unpacks blocks [b0, b0 + nb) of the tile's nt rows into wb (chunks of v
 * and S) and off (NOFF per row). What the kernel reads past them (rows nt..
 * RM-1, the second half of a last odd chunk, offsets up to a multiple of
 * 16) is zero: S = 0 and off = 0 there. */
static void unpack_tile(const gtask *t, size_t oc0, size_t nt, size_t b0, size_t nb, uint8_t *wb, float *off) {
    const size_t nck = (nb + 1) / 2, nh = round_up(4 * nck, 16);
    for (size_t i = 0; i < RM; i++) {
        const uint8_t *row = i < nt ? t->w + (oc0 + i) * t->rs : NULL;
        float *oi = off + i * NOFF;
        for (size_t b = 0; b < nb; b += 2) {
            uint8_t *chunk = wb + (b / 2) * CHUNK_BYTES, *v = chunk + CK * i;
            float *S = (float *)(chunk + RM * CK) + 16 * i;
            if (i >= nt) {
                memset(S, 0, 16 * sizeof *S);
            } else if (b + 1 < nb && t->chunk) {
                t->chunk(row, b0 + b, v, S, oi + 2 * b);
            } else {
                t->unpack(row, b0 + b, v, S, oi + 2 * b);
                if (b + 1 < nb)
                    t->unpack(row, b0 + b + 1, v + 32, S + 8, oi + 2 * b + 2);
                else
                    memset(S + 8, 0, 8 * sizeof *S);
            }
        }
        memset(oi + (i < nt ? 2 * nb : 0), 0, (nh - (i < nt ? 2 * nb : 0)) * sizeof *oi);
    }
}

static void g_rows(void *ctx, int ith, int nth) {
    gtask *t = ctx;
    size_t lo, hi;
    wd__split((t->OC + RM - 1) / RM, ith, nth, &lo, &hi);
    uint8_t *wb = t->bufs + (size_t)ith * t->buf_bytes;
    float *off = (float *)(wb + (KC / CK) * CHUNK_BYTES);
    memset(wb, 0, t->buf_bytes);  /* v of absent rows: read, multiplied by S = 0 */
    const xpack *xp = t->xp;
    const size_t N = t->N, C = t->C, OC = t->OC;
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        size_t n1 = N - n0 < NB ? N : n0 + NB;
        for (size_t k0 = 0; k0 < C; k0 += KC) {
            size_t kc = C - k0 < KC ? C - k0 : KC, nck = (kc + CK - 1) / CK;
            for (size_t tile = lo; tile < hi; tile++) {
                size_t oc0 = tile * RM, nt = OC - oc0 < RM ? OC - oc0 : RM;
                unpack_tile(t, oc0, nt, k0 / 32, kc / 32, wb, off);
                if (tile + 1 < hi) prefetch_slice(t->w, t->rs, t->bs, oc0 + RM, RM, OC, k0, kc);
                for (size_t n = n0; n < n1; n += RN) {
                    size_t g = n1 - n < RN ? n1 - n : RN;
                    const int8_t *xq[RN];
                    const float *xd[RN], *xh[RN];
                    for (size_t j = 0; j < RN; j++) {
                        size_t row = n + (j < g ? j : 0);
                        xq[j] = xp->q + row * xp->Cp + k0;
                        xd[j] = xp->dl + row * (xp->Cp / 4) + k0 / 4;
                        xh[j] = xp->hs + row * xp->Hp + k0 / 16;
                    }
                    float r[RM][RN];
                    t->tile(r, wb, off, xq, xd, xh, nck);
                    for (size_t j = 0; j < g; j++)
                        for (size_t i = 0; i < nt; i++) {
                            float *o = &t->out[(n + j) * OC + oc0 + i];
                            *o = (k0 ? *o : t->bias ? t->bias[oc0 + i] : 0.0f) + r[i][j];
                        }
                }
            }
        }
    }
}

/* ==== rows in lanes: the AVX-512 VNNI path =============================== */

/*
 * With 512-bit VNNI the tile is turned around: each lane of a register
 * holds 4 consecutive weights of a different row (LR = 32 rows in two
 * registers), and x's 4 bytes at the same place are broadcast to every
 * lane, so one vpdpbusd adds 4 products to 16 rows' int32 sums at once.
 * The sums stay integer over a whole group of G elements with one scale
 * (G = 32, Q6_K 16), and only then are converted and scaled:
 *
 *     acc[row] += float(isum[row]) * (S[row] * dx) + off[row] * xs
 *
 * (xs = dx * the group's sum of x's bytes). Per 32 elements and pair of
 * rows that is 8 vpdpbusd (on 16 rows each) against 4 float steps, where
 * the 4 x 4 tile above pays 3 float steps per vpdpbusd: on Zen 5, 1.6-2x
 * the prefill throughput (bench_qmatmul). A tile's slice of LKC elements
 * (32 KB of v, 8 KB of S and off) stays in L1 while x streams from L2.
 */
#define LR  32   /* weight rows per tile */
#define LN  6    /* rows of x per kernel call */
#define LKC 1024 /* elements per slice */
#define LNB 512  /* rows of x per block */

typedef struct lpack {
    int8_t *q;
    float  *dx, *xs; /* per 32, per group */
    size_t  C, G;
} lpack;

typedef struct ltask {
    const float *x;
    lpack       *xp;
    size_t       N;
} ltask;

static void lanes_quantize(void *ctx, int ith, int nth) {
    ltask *t = ctx;
    size_t lo, hi;
    wd__split(t->N, ith, nth, &lo, &hi);
    const lpack *xp = t->xp;
    const size_t C = xp->C, per = 32 / xp->G;
    wd__xq_fn quant = wd__xq_pick();
    for (size_t n = lo; n < hi; n++) {
        const float *x = t->x + n * C;
        int8_t *q = xp->q + n * C;
        float *dx = xp->dx + n * (C / 32), *xs = xp->xs + n * (C / xp->G);
        for (size_t b = 0; b < C / 32; b++) {
            int sm[2];
            float d = quant(q + 32 * b, x + 32 * b, sm);
            dx[b] = d;
            if (per == 2) xs[2 * b] = d * (float)sm[0], xs[2 * b + 1] = d * (float)sm[1];
            else xs[b] = d * (float)(sm[0] + sm[1]);
        }
    }
}

/* out[j][0..LR) = the LN x rows (xq / xd / xs at the slice) against the
 * tile's packed slice: wv (per 4 elements, LR rows of 4 bytes), wS and wo
 * (per group, LR floats each), ng groups of gk 4-element steps. */
VNNI static void lanes_tile(float out[LN][LR], const uint8_t *wv, const float *wS, const float *wo,
                            const int8_t *const *xq, const float *const *xd, const float *const *xs, size_t ng,
                            int gk) {
    __m512 f[LN][2];
    for (int j = 0; j < LN; j++) f[j][0] = f[j][1] = _mm512_setzero_ps();
    const int per = gk == 4 ? 2 : 1; /* groups per 32 elements */
    for (size_t g = 0; g < ng; g++) {
        __m512i ia[LN][2];
        for (int j = 0; j < LN; j++) ia[j][0] = ia[j][1] = _mm512_setzero_si512();
        const size_t e0 = g * (size_t)gk * 4;
        for (int st = 0; st < gk; st++, wv += 4 * LR) {
            const __m512i v0 = _mm512_load_si512(wv), v1 = _mm512_load_si512(wv + 64);
            for (int j = 0; j < LN; j++) {
                int32_t x4;
                memcpy(&x4, xq[j] + e0 + 4 * st, 4);
                const __m512i xb = _mm512_set1_epi32(x4);
                ia[j][0] = _mm512_dpbusd_epi32(ia[j][0], v0, xb);
                ia[j][1] = _mm512_dpbusd_epi32(ia[j][1], v1, xb);
            }
        }
        for (int h = 0; h < 2; h++) {
            const __m512 S = _mm512_load_ps(wS + 16 * h), O = _mm512_load_ps(wo + 16 * h);
            for (int j = 0; j < LN; j++) {
                const __m512 sd = _mm512_mul_ps(S, _mm512_set1_ps(xd[j][g / per]));
                f[j][h] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[j][h]), sd, f[j][h]);
                f[j][h] = _mm512_fmadd_ps(O, _mm512_set1_ps(xs[j][g]), f[j][h]);
            }
        }
        wS += LR, wo += LR;
    }
    for (int j = 0; j < LN; j++) {
        _mm512_storeu_ps(out[j], f[j][0]);
        _mm512_storeu_ps(out[j] + 16, f[j][1]);
    }
}

typedef struct lgtask {
    float         *out;
    const uint8_t *w;
    const float   *bias;
    const lpack   *xp;
    unpack_fn      unpack, chunk;
    size_t         N, C, OC, rs, bs;
    uint8_t       *bufs;
    size_t         buf_bytes;
} lgtask;

/* A 16 x 16 matrix of dwords transposed in registers: r[j] lane i = the
 * input's r[i] lane j. */
VNNI static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 16; i += 8)
        for (int k = 0; k < 4; k++) {
            t[i + k] = _mm512_shuffle_i32x4(r[i + k], r[i + k + 4], 0x88);
            t[i + k + 4] = _mm512_shuffle_i32x4(r[i + k], r[i + k + 4], 0xdd);
        }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0x88);
        r[k + 8] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0xdd);
    }
}

/* Packs blocks [b0, b0 + nb) of rows oc0 .. oc0 + nt - 1 into wv / wS / wo.
 * Sixteen rows at a time: each row's two blocks (64 bytes) unpacked into
 * a scratch row, then the 16 x 16 dwords transposed so that register e
 * holds every row's elements 4e .. 4e + 3. Rows nt .. LR - 1 are zero. */
VNNI static void lanes_unpack(const lgtask *t, size_t oc0, size_t nt, size_t b0, size_t nb, uint8_t *wv,
                              float *wS, float *wo) {
    const size_t per = 32 / t->xp->G;
    _Alignas(64) uint8_t v[16][64];
    float S[16][16], off[16][4];
    for (size_t h = 0; h < LR / 16; h++)
        for (size_t b = 0; b < nb; b += 2) {
            const size_t two = b + 1 < nb ? 2 : 1;
            for (size_t i = 0; i < 16; i++) {
                const size_t r = 16 * h + i;
                if (r >= nt) {
                    memset(v[i], 0, 64);
                    memset(S[i], 0, sizeof S[i]);
                    memset(off[i], 0, sizeof off[i]);
                    continue;
                }
                const uint8_t *row = t->w + (oc0 + r) * t->rs;
                if (two == 2 && t->chunk) {
                    t->chunk(row, b0 + b, v[i], S[i], off[i]);
                } else {
                    t->unpack(row, b0 + b, v[i], S[i], off[i]);
                    if (two == 2) t->unpack(row, b0 + b + 1, v[i] + 32, S[i] + 8, off[i] + 2);
                }
            }
            __m512i m[16];
            for (size_t i = 0; i < 16; i++) m[i] = _mm512_load_si512(v[i]);
            transpose16(m);
            for (size_t e = 0; e < 8 * two; e++) _mm512_store_si512(wv + ((8 * b + e) * LR + 16 * h) * 4, m[e]);
            for (size_t k = 0; k < two; k++)
                for (size_t gi = 0; gi < per; gi++) {
                    float *ws = wS + (per * (b + k) + gi) * LR + 16 * h, *wo2 = wo + (per * (b + k) + gi) * LR + 16 * h;
                    for (size_t i = 0; i < 16; i++) ws[i] = S[i][8 * k + 4 * gi], wo2[i] = off[i][2 * k + gi];
                }
        }
}

static void lanes_rows(void *ctx, int ith, int nth) {
    lgtask *t = ctx;
    size_t lo, hi;
    wd__split((t->OC + LR - 1) / LR, ith, nth, &lo, &hi);
    uint8_t *wv = t->bufs + (size_t)ith * t->buf_bytes;
    float *wS = (float *)(wv + LKC * LR), *wo = wS + LKC / 16 * LR;
    const lpack *xp = t->xp;
    const size_t N = t->N, C = t->C, OC = t->OC, G = xp->G;
    const int gk = (int)(G / 4);
    for (size_t n0 = 0; n0 < N; n0 += LNB) {
        size_t n1 = N - n0 < LNB ? N : n0 + LNB;
        for (size_t k0 = 0; k0 < C; k0 += LKC) {
            size_t kc = C - k0 < LKC ? C - k0 : LKC;
            for (size_t tile = lo; tile < hi; tile++) {
                size_t oc0 = tile * LR, nt = OC - oc0 < LR ? OC - oc0 : LR;
                lanes_unpack(t, oc0, nt, k0 / 32, kc / 32, wv, wS, wo);
                if (tile + 1 < hi) prefetch_slice(t->w, t->rs, t->bs, oc0 + LR, LR, OC, k0, kc);
                for (size_t n = n0; n < n1; n += LN) {
                    size_t g = n1 - n < LN ? n1 - n : LN;
                    const int8_t *xq[LN];
                    const float *xd[LN], *xs[LN];
                    for (size_t j = 0; j < LN; j++) {
                        size_t r = n + (j < g ? j : 0);
                        xq[j] = xp->q + r * C + k0;
                        xd[j] = xp->dx + r * (C / 32) + k0 / 32;
                        xs[j] = xp->xs + r * (C / G) + k0 / G;
                    }
                    float r[LN][LR];
                    lanes_tile(r, wv, wS, wo, xq, xd, xs, kc / G, gk);
                    for (size_t j = 0; j < g; j++) {
                        float *o = t->out + (n + j) * OC + oc0;
                        if (k0)
                            for (size_t i = 0; i < nt; i++) o[i] += r[j][i];
                        else
                            for (size_t i = 0; i < nt; i++) o[i] = (t->bias ? t->bias[oc0 + i] : 0.0f) + r[j][i];
                    }
                }
            }
        }
    }
}

static wd_status lanes_gemm(float *out, const float *x, const void *w, wd_ggml_type type, const float *bias,
                            size_t N, size_t C, size_t OC, wd_threadpool *tp) {
    size_t nth = tp ? (size_t)wd_threadpool_n_threads(tp) : 1;
    lpack xp = {.C = C, .G = type == WD_GGML_TYPE_Q6_K ? 16 : 32};
    size_t buf_bytes = LKC * LR + 2 * (LKC / 16) * LR * sizeof(float);
    size_t xbytes = round_up(N * C, 64) + N * (C / 32) * sizeof(float) + N * (C / xp.G) * sizeof(float);
    uint8_t *mem = aligned_alloc(64, round_up(xbytes, 64) + nth * buf_bytes);
    if (!mem) return wd__fail(WD_ERR_NOMEM, "out of memory (%zu bytes of matmul scratch)", xbytes + nth * buf_bytes);
    xp.q = (int8_t *)mem;
    xp.dx = (float *)(mem + round_up(N * C, 64));
    xp.xs = xp.dx + N * (C / 32);
    ltask xt = {x, &xp, N};
    wd__parallel_for(tp, lanes_quantize, &xt, N * C * 8);
    lgtask t = {out, w, bias, &xp, block_unpacker(type), chunk_unpacker(type), N, C, OC,
                wd__quant_row_size(type, C), wd__quant_row_size(type, 256) / 8, mem + round_up(xbytes, 64),
                buf_bytes};
    wd__parallel_for(tp, lanes_rows, &t, N * C * OC);
    free(mem);
    return WD_OK;
}
#endif

/* The kernel for type on this CPU: rows in lanes (AVX-512 VNNI), the 4 x 4
 * tile on AVX-VNNI or AVX2 (not for Q8_0, whose v = q + 128 would saturate
 * maddubs), or none. */
typedef enum { KERNEL_NONE, KERNEL_LANES, KERNEL_AVXVNNI, KERNEL_AVX2 } kernel;

static kernel pick_kernel(wd_ggml_type type) {
    if (!block_unpacker(type)) return KERNEL_NONE;
#ifdef WD_HAVE_X86
    if (!wd__cpu_has_avx2_fma()) return KERNEL_NONE;
    if (wd__cpu_has_avx512_vnni()) return KERNEL_LANES;
    if (wd__cpu_has(WD_CPU_AVXVNNI)) return KERNEL_AVXVNNI;
    return type == WD_GGML_TYPE_Q8_0 ? KERNEL_NONE : KERNEL_AVX2;
#else
    return KERNEL_NONE;
#endif
}

bool wd__qgemm_takes(wd_ggml_type type, size_t N) {
    kernel k = pick_kernel(type);
    /* the 256-bit kernels beat qmatmul.c's from about 12 rows (bench_qmatmul) */
    if (k == KERNEL_AVXVNNI || k == KERNEL_AVX2) return N >= 12;
    return k == KERNEL_LANES && N >= 4;
}

wd_status wd__qgemm(float *out, const float *x, const void *w, wd_ggml_type type,
                    const float *bias, size_t N, size_t C, size_t OC, wd_threadpool *tp) {
    // out (N,OC), x (N,C), w (OC rows of C elements of type), bias (OC) or NULL
    if (N == 0 || OC == 0) return WD_OK;
    kernel k = pick_kernel(type);
    if (k == KERNEL_NONE)
        return wd__fail(WD_ERR_UNSUPPORTED, "no int8 GEMM kernel for %s on this CPU", wd_ggml_type_name(type));
#ifdef WD_HAVE_X86
    if (k == KERNEL_LANES) return lanes_gemm(out, x, w, type, bias, N, C, OC, tp);
    size_t nth = tp ? (size_t)wd_threadpool_n_threads(tp) : 1;
    xpack xp = {.Cp = round_up(C, CK)};
    xp.Hp = round_up(xp.Cp / 16, 16);
    size_t buf_bytes = (KC / CK) * CHUNK_BYTES + RM * NOFF * sizeof(float);
    size_t xbytes = N * xp.Cp + N * xp.Cp / 4 * sizeof(float) + N * xp.Hp * sizeof(float);
    uint8_t *mem = aligned_alloc(64, round_up(xbytes + nth * buf_bytes, 64));
    if (!mem) return wd__fail(WD_ERR_NOMEM, "out of memory (%zu bytes of matmul scratch)", xbytes + nth * buf_bytes);
    xp.dl = (float *)mem;
    xp.hs = xp.dl + N * xp.Cp / 4;
    xp.q = (int8_t *)(xp.hs + N * xp.Hp);
    xtask xt = {x, &xp, N, C};
    wd__parallel_for(tp, quantize_rows, &xt, N * C * 8);
    gtask t = {out, w, bias, &xp, block_unpacker(type), chunk_unpacker(type),
               k == KERNEL_AVXVNNI ? tile_avxvnni : tile_avx2, N, C, OC, wd__quant_row_size(type, C),
               wd__quant_row_size(type, 256) / 8, mem + round_up(xbytes, 64), buf_bytes};
    wd__parallel_for(tp, g_rows, &t, N * C * OC);
    free(mem);
#else
    (void)out, (void)x, (void)w, (void)bias, (void)C, (void)tp;
#endif
    return WD_OK;
}
