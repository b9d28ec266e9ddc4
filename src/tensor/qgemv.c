/*
 * tensor/qgemv.c - one row of x against block-quantized weights with
 * AVX-512 VNNI (decoding); see qgemv.h.
 *
 * Decoding streams every weight byte once, so a kernel is fast enough when
 * it unpacks and multiplies a cache line of weights in the time memory takes
 * to deliver it (a few cycles per 64 bytes per core). The 256-bit kernels of
 * qmatmul_int8.inc spend more than that on per-block work: a scalar scale
 * product, a broadcast and a fused multiply-add per 32 weights, and a
 * horizontal sum per row of four. Here the per-block work is vectorised
 * across blocks:
 *
 *   Q4_0, per 8 blocks (144 bytes, three 64-byte loads):
 *     Z = permute16(L0, L1) = qs0 | qs1 | qs2 | qs3    (block b's 16 bytes in
 *                                                       lane b; 18 is even,
 *                                                       so words suffice)
 *     p = dpbusd(dpbusd(0, Z & 15, x_first_halves), Z >> 4 & 15, x_second)
 *         -> lane l: 4 products of block l/4
 *     s8 = f16->f32(permute16(the 8 d)) * x.d[8]       (one per block)
 *     acc += f32(p) * permute(s8, [0 0 0 0 1 1 1 1 ...])
 *     off += d[8] * x.s[8]                             (x.s = x.d * sum q)
 *   row = sum(acc) - 8 * sum(off)
 *
 *   Q4_K / Q5_K, per 256: two 64-byte loads of qs; the low nibbles of
 *   bytes 0-63 are sub-blocks 0 and 2, the high ones 1 and 3 (x is stored
 *   in that order); Q5_K's fifth bit is added under a byte mask (vptestmb
 *   on qh). Scales: the 12 packed bytes unpacked with 32-bit masks into 8
 *   sc and 8 m, s8 = d * sc * x.d; the minima: off += dmin * m * x.s.
 *
 *   Q8_0, per 8 blocks (272 bytes, five 64-byte loads): each block pair
 *   gathered by a word permute, flipped to unsigned (w + 128, xor 0x80);
 *   the surplus 128 * sum(x) per block goes through x.s as Q4_0's 8.
 *
 *   Q6_K, per 256: ql's two 64-byte halves give 4 registers of 64 elements
 *   in order (low nibbles: elements 0-63 of a half, high: 64-127), qh's
 *   2-bit pairs shifted into place per 256-bit half (vpsllvw / vpsrlvw).
 *   16 scales, one per 16 elements: s16 = d * sc * x.d (each x scale
 *   twice); off += d * sc * x.s16 (x.s16 = x.d * sum of 16 q).
 *
 * Blocks of a Q8_0 / Q4_0 row past the last full 8 take a 256-bit loop (x in
 * natural order there). Each of the pool's threads streams its own slice
 * of rows and then helps with what is left of the others' (the driver
 * below); each kernel prefetches its weights a page ahead.
 */
#include "tensor/qgemv.h"

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

#define QK 32   /* x block: 32 int8 with an F32 scale */

/* x (C) quantized for one weight type's kernel. One allocation holds q
 * then the floats. */
typedef struct qx {
    int8_t *q;    /* C values, in the kernel's order (qgemv.h) */
    float  *ds;   /* per 8 blocks (the last group maybe partial): their 8
                     scales d, then their 8 s = d * sum of the block's q */
    float  *s16;  /* C/16: d * sum of each 16 q (Q6_K) */
} qx;

#ifdef WD_HAVE_X86
#define KZ __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
/* the one-row kernels, inlined into their n-row loops (rows_*), which set
 * their constants up once */
#define KZI KZ static inline __attribute__((always_inline))

/* ==== x to int8 blocks =================================================== */

/* x (C) into q (natural order), d, s and s16. */
static void quantize_x(qx *dst, const float *x, size_t C) {
    wd__xq_fn xq = wd__xq_pick();
    for (size_t b = 0; b < C / QK; b++, x += QK) {
        int s[2];
        float d = xq(dst->q + b * QK, x, s);
        dst->ds[16 * (b / 8) + b % 8] = d;
        dst->ds[16 * (b / 8) + 8 + b % 8] = d * (float)(s[0] + s[1]);
        dst->s16[2 * b] = d * (float)s[0], dst->s16[2 * b + 1] = d * (float)s[1];
    }
}

/* Reorders q in place for the kernel of type (qgemv.h's table). */
static void order_x(int8_t *q, wd_ggml_type type, size_t C) {
    int8_t t[128];
    if (type == WD_GGML_TYPE_Q4_0) {
        /* per 4 blocks of each full group of 8: first halves, then second */
        for (size_t g = 0; g + 256 <= C; g += 256)
            for (int8_t *p = q + g; p < q + g + 256; p += 128) {
                memcpy(t, p, 128);
                for (int b = 0; b < 4; b++) {
                    memcpy(p + 16 * b, t + 32 * b, 16);
                    memcpy(p + 64 + 16 * b, t + 32 * b + 16, 16);
                }
            }
    } else if (type == WD_GGML_TYPE_Q4_K || type == WD_GGML_TYPE_Q5_K) {
        for (size_t g = 0; g < C; g += 128) {
            memcpy(t, q + g, 128);
            memcpy(q + g + 32, t + 64, 32);
            memcpy(q + g + 64, t + 32, 32);
        }
    }
}

/* ==== the kernels ======================================================== */


/* Asks for the cache lines of bytes [PF_DIST, PF_DIST + n) past p. The
 * weights are usually a file's pages mapped 4 KB at a time, and the
 * hardware prefetchers stop at each page's end; asking a page ahead keeps
 * the loads streaming. Measured (2 threads, 40 matrices of 2048 x 4096
 * from a mapped file, passes alternated in one process): Q4_0 27 -> 35
 * GB/s, Q4_K 26 -> 32, Q8_0 24 -> 32, Q6_K 25 -> 30; 1 KB and 8 KB
 * ahead did less. */
#define PF_DIST 4096
KZI void prefetch_ahead(const uint8_t *p, size_t n) {
    for (size_t o = 0; o < n; o += 64) _mm_prefetch((const char *)p + PF_DIST + o, _MM_HINT_T0);
}

/* The 16 int32 lanes of an index vector: lane l -> base + l / per. */
KZ static inline __m512i lane_idx(int base, int per) {
    int v[16];
    for (int l = 0; l < 16; l++) v[l] = base + l / per;
    return _mm512_loadu_si512(v);
}

/* Lanes 0-7 -> a, 8-15 -> b. */
KZ static inline __m512i lane_idx2(int a, int b) {
    return _mm512_inserti64x4(_mm512_set1_epi32(a), _mm256_set1_epi32(b), 1);
}

/* Word indices into two 64-byte loads (0-31 the first, 32-63 the second). */
KZ static inline __m512i word_idx(const int16_t *v) {
    return _mm512_loadu_si512(v);
}

/* acc[k] += the int32 lanes of plane q_k against x's 64 bytes at xq + 64k
 * (vpdpbusd: 4 products a lane), each lane scaled by lane idx_k of sc; the
 * step every 8-block kernel below ends with. */
KZI void planes4(__m512 acc[4], const __m512i q[4], const int8_t *xq, const __m512i idx[4], __m512 sc) {
    for (int k = 0; k < 4; k++) {
        __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[k], _mm512_loadu_si512(xq + 64 * k));
        acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_permutexvar_ps(idx[k], sc), acc[k]);
    }
}

KZI float sum4(const __m512 acc[4]) {
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

/* Q4_0 (18 bytes per 32: f16 d | 16 bytes of nibbles). */
KZI float dot_q4_0(const uint8_t *w, const qx *x, size_t nb) {
    /* blocks 0-3 of an 8-group from L0 = bytes 0-63 and L1 = 64-127: block
     * b's nibbles are words 1 + 9b .. 8 + 9b; blocks 4-7 from L1 and
     * L2 = bytes 80-143 (words 37 + 9b' .., those past 63 from L2); the 8
     * scales are words 0, 9, ..., 63 of L0 | L1. */
    static const int16_t ia[32] = {1,  2,  3,  4,  5,  6,  7,  8,  10, 11, 12, 13, 14, 15, 16, 17,
                                   19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 32, 33, 34, 35};
    static const int16_t ib[32] = {5,  6,  7,  8,  9,  10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21,
                                   23, 24, 25, 26, 27, 28, 29, 30, 56, 57, 58, 59, 60, 61, 62, 63};
    static const int16_t id[32] = {0, 9, 18, 27, 36, 45, 54, 63};
    const __m512i idx_a = word_idx(ia), idx_b = word_idx(ib), idx_d = word_idx(id);
    const __m512i s_a = lane_idx(0, 4), s_b = lane_idx(4, 4), m4 = _mm512_set1_epi8(0x0F);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m256 off = _mm256_setzero_ps();
    const int8_t *xq = x->q;
    size_t b = 0;
    for (; b + 8 <= nb; b += 8, w += 144, xq += 256) {
        prefetch_ahead(w, 144);
        __m512i l0 = _mm512_loadu_si512(w), l1 = _mm512_loadu_si512(w + 64), l2 = _mm512_loadu_si512(w + 80);
        __m512i za = _mm512_permutex2var_epi16(l0, idx_a, l1), zb = _mm512_permutex2var_epi16(l1, idx_b, l2);
        __m128i dh = _mm512_castsi512_si128(_mm512_permutex2var_epi16(l0, idx_d, l1));
        __m256 dw = _mm256_cvtph_ps(dh), s8 = _mm256_mul_ps(dw, _mm256_loadu_ps(x->ds + 2 * b));
        off = _mm256_fmadd_ps(dw, _mm256_loadu_ps(x->ds + 2 * b + 8), off);
        __m512 sz = _mm512_castps256_ps512(s8);
        __m512i pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(za, m4), _mm512_loadu_si512(xq));
        pa = _mm512_dpbusd_epi32(pa, _mm512_and_si512(_mm512_srli_epi16(za, 4), m4), _mm512_loadu_si512(xq + 64));
        __m512i pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(zb, m4), _mm512_loadu_si512(xq + 128));
        pb = _mm512_dpbusd_epi32(pb, _mm512_and_si512(_mm512_srli_epi16(zb, 4), m4), _mm512_loadu_si512(xq + 192));
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pa), _mm512_permutexvar_ps(s_a, sz), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pb), _mm512_permutexvar_ps(s_b, sz), acc1);
    }
    float r = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - 8.0f * wd__hsum8(off);
    for (; b < nb; b++, w += 18, xq += QK) { /* x in natural order here */
        __m128i q = _mm_loadu_si128((const __m128i *)(w + 2));
        __m256i qq = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), qq, _mm256_loadu_si256((const __m256i *)xq));
        float dw = wd__f16_at(w);
        const float *ds = x->ds + 16 * (b / 8) + b % 8;
        r += dw * ds[0] * wd__hsum8(_mm256_cvtepi32_ps(p)) - 8.0f * dw * ds[8];
    }
    return r;
}

/* Q8_0 (34 bytes per 32: f16 d | 32 x int8). dpbusd wants unsigned bytes
 * on one side: the weights flipped to w + 128 (xor 0x80, exact for every
 * int8, -128 included), and the surplus 128 * sum(x) taken off through x's
 * block sums, as Q4_0's -8. */
KZI float dot_q8_0(const uint8_t *w, const qx *x, size_t nb) {
    /* 8 blocks = 272 bytes = loads at 0, 64, 128, 192 and 208; block pair
     * (2k, 2k+1) from loads k and k+1 (words 1-16 and 18-33 of the pair
     * counted from the block pair's first load; the last pair's second
     * block partly from the load at 208); the scales are words 0, 17, ...,
     * 119 (the first four from loads 0-1, the rest from 2-3). */
    static const int16_t i0[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33};
    static const int16_t i1[32] = {3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18,
                                   20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
    static const int16_t i2[32] = {5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                   22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37};
    static const int16_t i3[32] = {7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                   24, 25, 26, 27, 28, 29, 30, 31, 56, 57, 58, 59, 60, 61, 62, 63};
    static const int16_t id0[32] = {0, 17, 34, 51}, id1[32] = {0, 0, 0, 0, 4, 21, 38, 55};
    const __m512i idx0 = word_idx(i0), idx1 = word_idx(i1), idx2 = word_idx(i2), idx3 = word_idx(i3);
    const __m512i idx_d0 = word_idx(id0), idx_d1 = word_idx(id1);
    const __m512i s0 = lane_idx(0, 8), s1 = lane_idx(2, 8), s2 = lane_idx(4, 8), s3 = lane_idx(6, 8);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    __m256 off = _mm256_setzero_ps();
    const int8_t *xq = x->q;
    size_t b = 0;
    for (; b + 8 <= nb; b += 8, w += 272, xq += 256) {
        prefetch_ahead(w, 272);
        __m512i l0 = _mm512_loadu_si512(w), l1 = _mm512_loadu_si512(w + 64), l2 = _mm512_loadu_si512(w + 128);
        __m512i l3 = _mm512_loadu_si512(w + 192), l4 = _mm512_loadu_si512(w + 208);
        __m512i dw16 = _mm512_mask_blend_epi16(0xF0, _mm512_permutex2var_epi16(l0, idx_d0, l1),
                                               _mm512_permutex2var_epi16(l2, idx_d1, l3));
        __m256 dw = _mm256_cvtph_ps(_mm512_castsi512_si128(dw16));
        __m512 sz = _mm512_castps256_ps512(_mm256_mul_ps(dw, _mm256_loadu_ps(x->ds + 2 * b)));
        off = _mm256_fmadd_ps(dw, _mm256_loadu_ps(x->ds + 2 * b + 8), off);
        __m512i q0 = _mm512_xor_si512(_mm512_permutex2var_epi16(l0, idx0, l1), flip);
        __m512i q1 = _mm512_xor_si512(_mm512_permutex2var_epi16(l1, idx1, l2), flip);
        __m512i q2 = _mm512_xor_si512(_mm512_permutex2var_epi16(l2, idx2, l3), flip);
        __m512i q3 = _mm512_xor_si512(_mm512_permutex2var_epi16(l3, idx3, l4), flip);
        planes4(acc, (const __m512i[4]){q0, q1, q2, q3}, xq, (const __m512i[4]){s0, s1, s2, s3}, sz);
    }
    float r = sum4(acc) -
              128.0f * wd__hsum8(off);
    for (; b < nb; b++, w += 34, xq += QK) {
        __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 2)), _mm256_set1_epi8((char)0x80));
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, _mm256_loadu_si256((const __m256i *)xq));
        float dw = wd__f16_at(w);
        const float *ds = x->ds + 16 * (b / 8) + b % 8;
        r += dw * ds[0] * wd__hsum8(_mm256_cvtepi32_ps(p)) - 128.0f * dw * ds[8];
    }
    return r;
}

/* The 8 6-bit scales and minima of a Q4_K / Q5_K super-block from its 12
 * packed bytes (quant.h): j < 4 in the low 6 bits of bytes j (scale) and
 * j + 4 (min); j >= 4 in the nibbles of byte j + 4 with the top 2 bits of
 * bytes j - 4 (scale) and j (min). As F32: lanes 0-7 the scales, 8-15 the
 * minima. */
KZI __m512 k_scales(const uint8_t *p) {
    uint32_t a, b, c;
    memcpy(&a, p, 4), memcpy(&b, p + 4, 4), memcpy(&c, p + 8, 4);
    uint64_t s = (a & 0x3F3F3F3Fu) | (uint64_t)((c & 0x0F0F0F0Fu) | ((a >> 6) & 0x03030303u) << 4) << 32;
    uint64_t n = (b & 0x3F3F3F3Fu) | (uint64_t)((c >> 4 & 0x0F0F0F0Fu) | ((b >> 6) & 0x03030303u) << 4) << 32;
    __m128i sn = _mm_insert_epi64(_mm_cvtsi64_si128((long long)s), (long long)n, 1);
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(sn));
}

/* Q4_K (144 bytes per 256) and Q5_K (176): bits 4 or 5. Per super-block
 * one vector v: lanes 0-7 d * sc_j * x.d_j (the sub-blocks' scales),
 * lanes 8-15 dmin * m_j * x.s_j (their minimum terms, summed in off). */
KZI float dot_k_affine(const uint8_t *w, const qx *x, size_t nb, int bits) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), c16 = _mm512_set1_epi8(16);
    const __m512i s02 = lane_idx2(0, 2), s13 = lane_idx2(1, 3), s46 = lane_idx2(4, 6), s57 = lane_idx2(5, 7);
    const __m512i dd_idx = lane_idx2(0, 1);
    /* sub-block pairs' fifth-bit masks: (0, 2), (1, 3), (4, 6), (5, 7) */
    const __m512i h02 = _mm512_inserti64x4(_mm512_set1_epi8(1), _mm256_set1_epi8(4), 1);
    const __m512i h13 = _mm512_inserti64x4(_mm512_set1_epi8(2), _mm256_set1_epi8(8), 1);
    const __m512i h46 = _mm512_inserti64x4(_mm512_set1_epi8(16), _mm256_set1_epi8(64), 1);
    const __m512i h57 = _mm512_inserti64x4(_mm512_set1_epi8(32), _mm256_set1_epi8((char)128), 1);
    const size_t bsz = bits == 5 ? 176 : 144;
    __m512 off = _mm512_setzero_ps(), acc[4] = {off, off, off, off};
    const int8_t *xq = x->q;
    for (size_t sb = 0; sb < nb / 8; sb++, w += bsz, xq += 256) {
        prefetch_ahead(w, bsz);
        uint32_t dd;
        memcpy(&dd, w, 4);
        __m512 ddv = _mm512_permutexvar_ps(dd_idx, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128((int)dd))));
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(k_scales(w + 4), ddv), _mm512_loadu_ps(x->ds + 16 * sb));
        off = _mm512_mask_add_ps(off, 0xFF00, off, v);
        const uint8_t *qs = w + (bits == 5 ? 48 : 16);
        __m512i z0 = _mm512_loadu_si512(qs), z1 = _mm512_loadu_si512(qs + 64);
        __m512i q0 = _mm512_and_si512(z0, m4), q1 = _mm512_and_si512(_mm512_srli_epi16(z0, 4), m4);
        __m512i q2 = _mm512_and_si512(z1, m4), q3 = _mm512_and_si512(_mm512_srli_epi16(z1, 4), m4);
        if (bits == 5) {
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + 16)));
            q0 = _mm512_mask_add_epi8(q0, _mm512_test_epi8_mask(qh, h02), q0, c16);
            q1 = _mm512_mask_add_epi8(q1, _mm512_test_epi8_mask(qh, h13), q1, c16);
            q2 = _mm512_mask_add_epi8(q2, _mm512_test_epi8_mask(qh, h46), q2, c16);
            q3 = _mm512_mask_add_epi8(q3, _mm512_test_epi8_mask(qh, h57), q3, c16);
        }
        planes4(acc, (const __m512i[4]){q0, q1, q2, q3}, xq, (const __m512i[4]){s02, s13, s46, s57}, v);
    }
    return sum4(acc) -
           _mm512_reduce_add_ps(off);
}

KZI float dot_q4_k(const uint8_t *w, const qx *x, size_t nb) {
    return dot_k_affine(w, x, nb, 4);
}

KZI float dot_q5_k(const uint8_t *w, const qx *x, size_t nb) {
    return dot_k_affine(w, x, nb, 5);
}

/* Q6_K (210 bytes per 256: ql[128] | qh[64] | i8 sc[16] | f16 d). In half
 * h, element 64c' + l (c' = 0, 1 the low / high nibbles) of ql's 64 bytes
 * takes qh[32h + l % 32] bits 2(2c' + l / 32) and up. */
KZI float dot_q6_k(const uint8_t *w, const qx *x, size_t nb) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i sh_a = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i sh_b = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    const __m512i pair = lane_idx(0, 2);
    const __m512i s0 = lane_idx(0, 4), s1 = lane_idx(4, 4), s2 = lane_idx(8, 4), s3 = lane_idx(12, 4);
    __m512 off = _mm512_setzero_ps(), acc[4] = {off, off, off, off};
    const int8_t *xq = x->q;
    for (size_t sb = 0; sb < nb / 8; sb++, w += 210, xq += 256) {
        prefetch_ahead(w, 210);
        __m512 sc = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(w + 192)))),
                                  _mm512_set1_ps(wd__f16_at(w + 208)));
        off = _mm512_fmadd_ps(sc, _mm512_loadu_ps(x->s16 + 16 * sb), off);
        __m512 s16 = _mm512_mul_ps(sc, _mm512_permutexvar_ps(pair, _mm512_castps256_ps512(_mm256_loadu_ps(x->ds + 16 * sb))));
        __m512i qh = _mm512_loadu_si512(w + 128);
        __m512i l0 = _mm512_loadu_si512(w), l1 = _mm512_loadu_si512(w + 64);
        __m512i h0 = _mm512_shuffle_i64x2(qh, qh, 0x44), h1 = _mm512_shuffle_i64x2(qh, qh, 0xEE);
        __m512i q0 = _mm512_or_si512(_mm512_and_si512(l0, m4), _mm512_and_si512(_mm512_sllv_epi16(h0, sh_a), m30));
        __m512i q1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4),
                                     _mm512_and_si512(_mm512_srlv_epi16(h0, sh_b), m30));
        __m512i q2 = _mm512_or_si512(_mm512_and_si512(l1, m4), _mm512_and_si512(_mm512_sllv_epi16(h1, sh_a), m30));
        __m512i q3 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4),
                                     _mm512_and_si512(_mm512_srlv_epi16(h1, sh_b), m30));
        planes4(acc, (const __m512i[4]){q0, q1, q2, q3}, xq, (const __m512i[4]){s0, s1, s2, s3}, s16);
    }
    return sum4(acc) -
           32.0f * _mm512_reduce_add_ps(off);
}

/* out[i] = row i of w (stride rs) . x, for i < n */
#define ROWS(NAME)                                                                                  \
    KZ static void rows_##NAME(float *out, const uint8_t *w, size_t rs, const qx *x, size_t nb, size_t n) { \
        for (size_t i = 0; i < n; i++) out[i] = dot_##NAME(w + i * rs, x, nb);                   \
    }
ROWS(q8_0)
ROWS(q4_0)
ROWS(q4_k)
ROWS(q5_k)
ROWS(q6_k)
#undef ROWS
#endif

/* ==== the threaded driver ================================================ */

typedef void (*rows_fn)(float *out, const uint8_t *w, size_t rs, const qx *x, size_t nb, size_t n);

typedef struct gtask {
    float          *out;
    const uint8_t  *w;
    const float    *bias;
    const qx       *x;
    size_t          nb, OC, rs;
    rows_fn         dot;
    wd__chunks      rows;  /* w's rows, handed out in chunks */
} gtask;

/* Thread ith streams its own contiguous slice of w, in chunks of about
 * WD_CHUNK_BYTES, then takes the chunks left in the others' slices
 * (tensor/threads.h): a thread descheduled for a while (a machine shared
 * with other work) does not hold the others at every kernel's end. */
static void g_rows(void *ctx, int ith, int nth) {
    gtask *t = ctx;
    (void)nth;
    size_t r0, r1;
    int cursor = 0;
    while (wd__chunks_take(&t->rows, ith, &cursor, &r0, &r1)) {
        t->dot(t->out + r0, t->w + r0 * t->rs, t->rs, t->x, t->nb, r1 - r0);
        if (t->bias)
            for (size_t oc = r0; oc < r1; oc++) t->out[oc] += t->bias[oc];
    }
}

static rows_fn kernel_for(wd_ggml_type type) {
#ifdef WD_HAVE_X86
    switch (type) {
    case WD_GGML_TYPE_Q8_0: return rows_q8_0;
    case WD_GGML_TYPE_Q4_0: return rows_q4_0;
    case WD_GGML_TYPE_Q4_K: return rows_q4_k;
    case WD_GGML_TYPE_Q5_K: return rows_q5_k;
    case WD_GGML_TYPE_Q6_K: return rows_q6_k;
    default: return NULL;
    }
#else
    (void)type;
    return NULL;
#endif
}

bool wd__qgemv_supported(wd_ggml_type type, size_t C) {
    if (!kernel_for(type) || C == 0 || C % wd_ggml_type_block_size(type) != 0) return false;
    return wd__cpu_has_avx512_vnni();
}

wd_status wd__qgemv(float *out, const float *x, const void *w, wd_ggml_type type, const float *bias, size_t C,
                    size_t OC, wd_threadpool *tp) {
    // out (OC), x (C), w (OC rows of C elements of type), bias (OC) or NULL
    if (OC == 0) return WD_OK;
    /* q (C bytes, padded to 64), then ds (16 floats per 8 blocks) and s16 */
    size_t qbytes = (C + 63) / 64 * 64, bytes = qbytes + ((C / QK + 7) / 8 * 16 + C / 16) * sizeof(float);
    void *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!buf) return wd__fail(WD_ERR_NOMEM, "out of memory (%zu bytes of x's int8 blocks)", bytes);
    qx xq = {buf, NULL, NULL};
    xq.ds = (float *)((char *)buf + qbytes);
    xq.s16 = xq.ds + (C / QK + 7) / 8 * 16;
#ifdef WD_HAVE_X86
    quantize_x(&xq, x, C);
    order_x(xq.q, type, C);
#else
    (void)x;
#endif
    size_t rs = wd__quant_row_size(type, C);
    gtask t = {out, w, bias, &xq, C / QK, OC, rs, kernel_for(type), {0}};
    wd__chunks_init(&t.rows, OC, WD_CHUNK_BYTES / rs ? WD_CHUNK_BYTES / rs : 1, tp ? wd_threadpool_n_threads(tp) : 1);
    wd__parallel_for(tp, g_rows, &t, C * OC);
    free(buf);
    return WD_OK;
}
