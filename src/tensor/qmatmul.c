/*
 * tensor/qmatmul.c - the linear layer on F16 / BF16 / block-quantized
 * weights; see qmatmul.h.
 *
 * Loop order, per thread (which owns a slice of the output rows):
 *
 *   for each tile of 8 weight rows:
 *       [generic types: dequantize the 8 rows into the thread's buffer]
 *       for each group of 4 rows of x:
 *           for each weight row of the tile: 4 dot products
 *
 * so each weight byte is read from memory once per call and from cache
 * once per group of 4 rows of x; x (or its int8 blocks) stays in cache
 * across the tile. A single row (decoding) takes a one-row kernel; a last
 * group of 2-3 rows runs the 4-row one with its first row repeated
 * (computed, not stored).
 *
 * The int8 block dot (Q8_0 and Q4_0 weights against int8 blocks of x):
 *
 *   s = sum_i qw[i] * qx[i]            (AVX2: |qw| (u8) maddubs sign(qw)*qx
 *                                       (s8) -> pairs in s16, madd with 1 ->
 *                                       8 x s32; no overflow: 2*128*127 <
 *                                       32767; with AVX-512 VNNI one dpbusd
 *                                       on 256-bit registers)
 *   acc += (float)s * (d_w * d_x)      (per block; F32 fused multiply-add)
 */
#include "tensor/qmatmul.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tensor/cpu.h"
#include "tensor/gemm.h"
#include "tensor/qgemm.h"
#include "tensor/qgemv.h"
#include "tensor/quant.h"
#include "tensor/threads.h"
#include "tensor/xquant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "tensor/x86.h"
#define WD_HAVE_X86 1
#endif

#define QK 32        /* elements in a Q8_0 / Q4_0 block and in an x block */
#define TILE_OC 8    /* weight rows per tile */
#define GROUP_N 4    /* rows of x per dot call */

/* x quantized: 32 int8 with an F32 scale, x ~ d * q, and the sums of the
 * q of each half (for the K-quants' minimum and offset terms). */
typedef struct xblock {
    float   d;
    float   dsum;   /* d * (s16[0] + s16[1]): the block's sum, for the K-quants' minima */
    int16_t s16[2];
    int8_t  q[QK];
} xblock;


bool wd__qmatmul_supported(wd_ggml_type type) {
    return type == WD_GGML_TYPE_F16 || type == WD_GGML_TYPE_BF16 || wd__quant_supported(type);
}

size_t wd__qmatmul_row_size(wd_ggml_type type, size_t C) {
    if (type == WD_GGML_TYPE_F16 || type == WD_GGML_TYPE_BF16) return 2 * C;
    return wd__quant_row_size(type, C);
}

void wd__qmatmul_widen_row(wd_ggml_type type, float *y, const void *src, size_t C) {
    if (type == WD_GGML_TYPE_F16)
        wd_f16_to_f32(y, src, C);
    else if (type == WD_GGML_TYPE_BF16)
        wd_bf16_to_f32(y, src, C);
    else
        wd__dequantize(type, y, src, C);
}

wd_status wd__qmatmul_ref(float *out, const float *x, const void *w, wd_ggml_type type,
                     const float *bias, size_t N, size_t C, size_t OC) {
    // out (N,OC), x (N,C), w (OC rows of C elements of type), bias (OC) or NULL
    float *row = malloc((C ? C : 1) * sizeof *row);
    if (!row) return wd__fail(WD_ERR_NOMEM, "out of memory (a row of %zu floats)", C);
    size_t rs = wd__qmatmul_row_size(type, C);
    for (size_t oc = 0; oc < OC; oc++) {
        wd__qmatmul_widen_row(type, row, (const uint8_t *)w + oc * rs, C);
        for (size_t n = 0; n < N; n++) {
            double acc = bias ? bias[oc] : 0.0;
            for (size_t c = 0; c < C; c++) acc += (double)x[n * C + c] * row[c];
            out[n * OC + oc] = (float)acc;
        }
    }
    free(row);
    return WD_OK;
}

/* ==== x to int8 blocks =================================================== */

/* A row of x as int8 blocks, followed by its blocks' d and dsum as two
 * arrays of C/QK floats (what the one-row Q4_0 kernel reads eight at a
 * time); a row takes XROW_BYTES(C). */
#define XROW_BYTES(C) ((C) / QK * (sizeof(xblock) + 2 * sizeof(float)))

static void quantize_x(xblock *dst, const float *x, size_t C, wd__xq_fn xq) {
    const size_t nb = C / QK;
    float *ds = (float *)(dst + nb), *sums = ds + nb;
    for (size_t b = 0; b < nb; b++, x += QK) {
        int s[2];
        float d = xq(dst[b].q, x, s);
        dst[b].d = ds[b] = d;
        dst[b].s16[0] = (int16_t)s[0], dst[b].s16[1] = (int16_t)s[1];
        dst[b].dsum = sums[b] = d * (float)(s[0] + s[1]);
    }
}

/* x's row n of int8 blocks (rows XROW_BYTES(C) apart). */
static inline const xblock *x_row(const xblock *xq, size_t n, size_t C) {
    return (const xblock *)((const char *)xq + n * XROW_BYTES(C));
}

/* ==== dot kernels: one weight row against GROUP_N rows of x ============== */

typedef void (*dot_f32_fn)(float *r, const float *w, const float *const *xs, size_t C, int g);
typedef void (*dot_q_fn)(float *r, const uint8_t *w, const xblock *const *xs, size_t nb, int g);
typedef void (*dot_h_fn)(float *r, const uint16_t *w, const float *const *xs, size_t C, int g);

static void dot_f32_c(float *r, const float *w, const float *const *xs, size_t C, int g) {
    float a[GROUP_N] = {0};
    for (size_t c = 0; c < C; c++)
        for (int k = 0; k < g; k++) a[k] += w[c] * xs[k][c];
    memcpy(r, a, (size_t)g * sizeof *a);
}

/* Q8_0 block: f16 d | int8 q[32] (34 bytes). */
static void dot_q8_0_c(float *r, const uint8_t *w, const xblock *const *xs, size_t nb, int g) {
    float a[GROUP_N] = {0};
    for (size_t b = 0; b < nb; b++, w += 34) {
        const float dw = wd__f16_le(w);
        const int8_t *qw = (const int8_t *)(w + 2);
        for (int k = 0; k < g; k++) {
            int s = 0;
            for (int i = 0; i < QK; i++) s += qw[i] * xs[k][b].q[i];
            a[k] += (float)s * (dw * xs[k][b].d);
        }
    }
    memcpy(r, a, (size_t)g * sizeof *a);
}

/* Q4_0 block: f16 d | u8 qs[16] (18 bytes); element j in qs[j]'s low
 * nibble, j + 16 in its high one; value d * (nibble - 8). */
static void dot_q4_0_c(float *r, const uint8_t *w, const xblock *const *xs, size_t nb, int g) {
    float a[GROUP_N] = {0};
    for (size_t b = 0; b < nb; b++, w += 18) {
        const float dw = wd__f16_le(w);
        int8_t qw[QK];
        for (int j = 0; j < 16; j++) {
            qw[j] = (int8_t)((w[2 + j] & 0x0F) - 8);
            qw[j + 16] = (int8_t)((w[2 + j] >> 4) - 8);
        }
        for (int k = 0; k < g; k++) {
            int s = 0;
            for (int i = 0; i < QK; i++) s += qw[i] * xs[k][b].q[i];
            a[k] += (float)s * (dw * xs[k][b].d);
        }
    }
    memcpy(r, a, (size_t)g * sizeof *a);
}

/* Q4_K / Q5_K: the 6-bit scale and min of sub-block j (of 8) from the 12
 * packed bytes (j < 4: low 6 bits of bytes j and j+4; else the nibbles of
 * byte j+4 and the top 2 bits of bytes j-4 and j). */
static inline void scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63, *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K (144 bytes / 256) and Q5_K (176): x = d*sc*q - dmin*m per sub-block
 * of 32; sub-blocks 2c and 2c+1 are the low and high nibbles of qs[32c..],
 * Q5_K's fifth bits are qh[l] bits 2c and 2c+1. */
static void dot_k_affine_c(float *r, const uint8_t *w, const xblock *const *xs, size_t nb, int g, int bits) {
    float a[GROUP_N] = {0};
    const size_t bsz = bits == 5 ? 176 : 144;
    for (size_t sb = 0; sb < nb / 8; sb++, w += bsz) {
        const float d = wd__f16_le(w), dmin = wd__f16_le(w + 2);
        const uint8_t *qh = bits == 5 ? w + 16 : NULL, *qs = bits == 5 ? w + 48 : w + 16;
        for (int j = 0; j < 8; j++) {
            int sc, m;
            scale_min_k4(j, w + 4, &sc, &m);
            int8_t q[QK];
            for (int l = 0; l < QK; l++) {
                int v = j % 2 ? qs[32 * (j / 2) + l] >> 4 : qs[32 * (j / 2) + l] & 0xF;
                if (qh && (qh[l] >> j & 1)) v += 16;
                q[l] = (int8_t)v;
            }
            for (int k = 0; k < g; k++) {
                const xblock *xb = &xs[k][sb * 8 + j];
                int s = 0;
                for (int l = 0; l < QK; l++) s += q[l] * xb->q[l];
                a[k] += xb->d * (d * (float)sc * (float)s - dmin * (float)m * (float)(xb->s16[0] + xb->s16[1]));
            }
        }
    }
    memcpy(r, a, (size_t)g * sizeof *a);
}

static void dot_q4_k_c(float *r, const uint8_t *w, const xblock *const *xs, size_t nb, int g) {
    dot_k_affine_c(r, w, xs, nb, g, 4);
}

static void dot_q5_k_c(float *r, const uint8_t *w, const xblock *const *xs, size_t nb, int g) {
    dot_k_affine_c(r, w, xs, nb, g, 5);
}

/* Q6_K (210 bytes / 256): x = d*sc*(q-32) per sub-block of 16; the 32-chunk
 * c (0..3) of half h takes ql[64h + 32(c%2) ..] (low nibbles for c < 2,
 * high for c >= 2) and bits 2c, 2c+1 of qh[32h ..], scales sc[8h+2c], sc[8h+2c+1]. */
static void dot_q6_k_c(float *r, const uint8_t *w, const xblock *const *xs, size_t nb, int g) {
    float a[GROUP_N] = {0};
    for (size_t sb = 0; sb < nb / 8; sb++, w += 210) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *sc = (const int8_t *)(w + 192);
        const float d = wd__f16_le(w + 208);
        for (int h = 0; h < 2; h++)
            for (int c = 0; c < 4; c++) {
                int8_t q[QK];
                for (int l = 0; l < QK; l++) {
                    uint8_t lb = ql[64 * h + 32 * (c % 2) + l];
                    int v = (c < 2 ? lb & 0xF : lb >> 4) | ((qh[32 * h + l] >> (2 * c)) & 3) << 4;
                    q[l] = (int8_t)(v - 32);
                }
                for (int k = 0; k < g; k++) {
                    const xblock *xb = &xs[k][sb * 8 + 4 * h + c];
                    int s0 = 0, s1 = 0;
                    for (int l = 0; l < 16; l++) s0 += q[l] * xb->q[l];
                    for (int l = 16; l < QK; l++) s1 += q[l] * xb->q[l];
                    a[k] += xb->d * d * (float)(sc[8 * h + 2 * c] * s0 + sc[8 * h + 2 * c + 1] * s1);
                }
            }
    }
    memcpy(r, a, (size_t)g * sizeof *a);
}

#ifdef WD_HAVE_X86
#define AVX2 __attribute__((target("avx2,fma,f16c")))


AVX2 static void dot_f32_avx2(float *r, const float *w, const float *const *xs, size_t C, int g) {
    __m256 a[GROUP_N];
    for (int k = 0; k < GROUP_N; k++) a[k] = _mm256_setzero_ps();
    size_t c = 0;
    if (g == 1) { /* four chains, so the adds do not wait on each other */
        for (; c + 32 <= C; c += 32)
            for (int k = 0; k < 4; k++)
                a[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 8 * k), _mm256_loadu_ps(xs[0] + c + 8 * k), a[k]);
        for (; c + 8 <= C; c += 8) a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(xs[0] + c), a[0]);
        a[0] = _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]));
    } else {
        for (; c + 8 <= C; c += 8) {
            __m256 wv = _mm256_loadu_ps(w + c);
            for (int k = 0; k < GROUP_N; k++) a[k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[k] + c), a[k]);
        }
    }
    for (int k = 0; k < g; k++) {
        r[k] = wd__hsum8(a[k]);
        for (size_t i = c; i < C; i++) r[k] += w[i] * xs[k][i];
    }
}


/* How far ahead of the weights it reads a one-row kernel asks for them
 * (decoding streams each matrix once; the hardware prefetchers alone left
 * the Q4_K kernel waiting on its loads: 1 B Q4_K_M, AVX2-only EPYC, 2
 * threads, tg64 22 tok/s without, 27-29 at 1 KiB, 30-35 at 2 KiB, 27 at
 * 4 KiB). Rows a thread reads are consecutive, so past a row's end is the
 * next row. */
#define PF_AHEAD 2048
/* The Q4_0 one-row kernel (eight 18-byte blocks a step) prefetches further:
 * 1 B Q4_0 tg32, 2 threads, 2048 and 4096 bytes alternated seven times:
 * 4096 faster in six (median +5%; 1024: -3%). */
#define PF_Q4_0 4096

/* The int8 kernels, twice: with AVX2's maddubs + madd, and with AVX-512
 * VNNI's dpbusd (one instruction, no 16-bit intermediate) on 256-bit
 * registers where the CPU has it. */
#define KT AVX2
#define SFX(name) name##_avx2
#define MULSUM(u8, s8) _mm256_madd_epi16(_mm256_maddubs_epi16((u8), (s8)), _mm256_set1_epi16(1))
#include "tensor/qmatmul_int8.inc"
#undef KT
#undef SFX
#undef MULSUM
#define KT __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#define SFX(name) name##_vnni
#define MULSUM(u8, s8) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u8), (s8))
#include "tensor/qmatmul_int8.inc"
#undef KT
#undef SFX
#undef MULSUM

/* F16 / BF16 rows widened in registers, 8 at a time; the tail (C % 8) is
 * widened one by one. One row of x prefetches its weights PF_HALF bytes
 * ahead: on the AVX2-only EPYC, 0.24 B F16 tg64, 2 threads, alternated
 * runs: 1024 B 43-48 tok/s, 2048 B (PF_AHEAD) 39-43, 512 B 41-43, 4096 B
 * 40-43 (llama-bench 42-47). Four weight rows against one x (x read a
 * quarter as often) measured 35-40: four streams a thread are worse. */
#define PF_HALF 1024
AVX2 static inline __m256 widen8_f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

AVX2 static inline __m256 widen8_bf16(const uint16_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

#define DOT_HALF(NAME, WIDEN, ONE)                                                              \
    AVX2 static void NAME(float *r, const uint16_t *w, const float *const *xs, size_t C, int g) { \
        __m256 a[GROUP_N];                                                                      \
        for (int k = 0; k < GROUP_N; k++) a[k] = _mm256_setzero_ps();                           \
        size_t c = 0;                                                                           \
        if (g == 1) {                                                                           \
            for (; c + 32 <= C; c += 32) {                                                      \
                _mm_prefetch((const char *)(w + c) + PF_HALF, _MM_HINT_T0);                     \
                for (int k = 0; k < 4; k++)                                                     \
                    a[k] = _mm256_fmadd_ps(WIDEN(w + c + 8 * k), _mm256_loadu_ps(xs[0] + c + 8 * k), a[k]); \
            }                                                                                   \
            for (; c + 8 <= C; c += 8) a[0] = _mm256_fmadd_ps(WIDEN(w + c), _mm256_loadu_ps(xs[0] + c), a[0]); \
            a[0] = _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]));        \
        } else {                                                                                \
            for (; c + 8 <= C; c += 8) {                                                        \
                __m256 wv = WIDEN(w + c);                                                       \
                for (int k = 0; k < GROUP_N; k++) a[k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[k] + c), a[k]); \
            }                                                                                   \
        }                                                                                       \
        for (int k = 0; k < g; k++) r[k] = wd__hsum8(a[k]);                                       \
        for (; c < C; c++) {                                                                    \
            float wc;                                                                           \
            ONE(&wc, w + c, 1);                                                                 \
            for (int k = 0; k < g; k++) r[k] += wc * xs[k][c];                                  \
        }                                                                                       \
    }

DOT_HALF(dot_f16_avx2, widen8_f16, wd_f16_to_f32_ref)
DOT_HALF(dot_bf16_avx2, widen8_bf16, wd_bf16_to_f32_ref)
#undef DOT_HALF

/* The same on 512-bit registers, 16 weights widened at a time (decoding
 * the 1 B BF16 lg1b folder, warden bench tg32, 2 threads, alternated:
 * 17.1 -> 18.7-19.4 tokens/s; a software prefetch a page ahead, as
 * qgemv.c's, measured no gain here). */
#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f")))
AVX512 static inline __m512 widen16_f16(const uint16_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

AVX512 static inline __m512 widen16_bf16(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

#define DOT_HALF512(NAME, WIDEN, ONE)                                                           \
    AVX512 static void NAME(float *r, const uint16_t *w, const float *const *xs, size_t C, int g) { \
        __m512 a[GROUP_N];                                                                      \
        for (int k = 0; k < GROUP_N; k++) a[k] = _mm512_setzero_ps();                           \
        size_t c = 0;                                                                           \
        if (g == 1) {                                                                           \
            for (; c + 64 <= C; c += 64)                                                        \
                for (int k = 0; k < 4; k++)                                                     \
                    a[k] = _mm512_fmadd_ps(WIDEN(w + c + 16 * k), _mm512_loadu_ps(xs[0] + c + 16 * k), a[k]); \
            for (; c + 16 <= C; c += 16) a[0] = _mm512_fmadd_ps(WIDEN(w + c), _mm512_loadu_ps(xs[0] + c), a[0]); \
            a[0] = _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3]));        \
        } else {                                                                                \
            for (; c + 16 <= C; c += 16) {                                                      \
                __m512 wv = WIDEN(w + c);                                                       \
                for (int k = 0; k < GROUP_N; k++) a[k] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xs[k] + c), a[k]); \
            }                                                                                   \
        }                                                                                       \
        for (int k = 0; k < g; k++) r[k] = _mm512_reduce_add_ps(a[k]);                         \
        for (; c < C; c++) {                                                                    \
            float wc;                                                                           \
            ONE(&wc, w + c, 1);                                                                 \
            for (int k = 0; k < g; k++) r[k] += wc * xs[k][c];                                  \
        }                                                                                       \
    }

DOT_HALF512(dot_f16_avx512, widen16_f16, wd_f16_to_f32_ref)
DOT_HALF512(dot_bf16_avx512, widen16_bf16, wd_bf16_to_f32_ref)
#undef DOT_HALF512
#endif

/* ==== the threaded driver ================================================ */

#ifdef WD_HAVE_X86
#define X86_FNS(name) (dq_avx2 = name##_avx2, dq_vnni = name##_vnni)
#else
#define X86_FNS(name) (void)0
#endif

typedef struct qtask {
    float         *out;
    const float   *x;
    const xblock  *xq;   /* N rows of C/QK blocks, for the int8 paths */
    const uint8_t *w;
    const float   *bias;
    wd_ggml_type   type;
    size_t         N, C, OC, rs;
    dot_f32_fn     dot_f32;
    dot_q_fn       dot_q;  /* int8 path; NULL: another */
    dot_h_fn       dot_h;  /* F16/BF16 in registers; NULL: another */
    float         *bufs;   /* generic path: TILE_OC rows of C floats per thread */
    wd__chunks     rows;   /* w's rows, handed out in chunks */
} qtask;

/* Rows [lo, hi) of w against every row of x. */
static void q_chunk(const qtask *t, float *buf, size_t lo, size_t hi) {
    const size_t N = t->N, C = t->C, OC = t->OC, nb = C / QK;
    for (size_t oc0 = lo; oc0 < hi; oc0 += TILE_OC) {
        size_t nt = hi - oc0 < TILE_OC ? hi - oc0 : TILE_OC;
        if (buf)
            for (size_t j = 0; j < nt; j++) wd__qmatmul_widen_row(t->type, buf + j * C, t->w + (oc0 + j) * t->rs, C);
        for (size_t n = 0; n < N; n += GROUP_N) {
            size_t g = N - n < GROUP_N ? N - n : GROUP_N;
            for (size_t j = 0; j < nt; j++) {
                float r[GROUP_N];
                if (t->dot_h) {
                    const float *xs[GROUP_N];
                    for (size_t k = 0; k < GROUP_N; k++) xs[k] = t->x + (n + (k < g ? k : 0)) * C;
                    t->dot_h(r, (const uint16_t *)(t->w + (oc0 + j) * t->rs), xs, C, (int)g);
                } else if (buf) {
                    const float *xs[GROUP_N];
                    for (size_t k = 0; k < GROUP_N; k++) xs[k] = t->x + (n + (k < g ? k : 0)) * C;
                    t->dot_f32(r, buf + j * C, xs, C, (int)g);
                } else {
                    const xblock *xs[GROUP_N];
                    for (size_t k = 0; k < GROUP_N; k++) xs[k] = x_row(t->xq, n + (k < g ? k : 0), C);
                    t->dot_q(r, t->w + (oc0 + j) * t->rs, xs, nb, (int)g);
                }
                float b = t->bias ? t->bias[oc0 + j] : 0.0f;
                for (size_t k = 0; k < g; k++) t->out[(n + k) * OC + oc0 + j] = r[k] + b;
            }
        }
    }
}

/* Chunks of about WD_CHUNK_BYTES of w from slices (tensor/threads.h): a
 * thread's own slice streams front to back, and a thread slowed by other
 * work on the machine does not hold the others at every matmul's end. */
static void q_rows(void *ctx, int ith, int nth) {
    qtask *t = ctx;
    (void)nth;
    float *buf = t->bufs ? t->bufs + (size_t)ith * TILE_OC * t->C : NULL;
    size_t lo, hi;
    int cursor = 0;
    while (wd__chunks_take(&t->rows, ith, &cursor, &lo, &hi)) q_chunk(t, buf, lo, hi);
}

wd_status wd__qmatmul(float *out, const float *x, const void *w, wd_ggml_type type,
                      const float *bias, size_t N, size_t C, size_t OC, wd_threadpool *tp) {
    // out (N,OC), x (N,C), w (OC rows of C elements of type), bias (OC) or NULL
    if (N == 0 || OC == 0) return WD_OK;
    if (N == 1 && wd__qgemv_supported(type, C)) return wd__qgemv(out, x, w, type, bias, C, OC, tp);
    if ((type == WD_GGML_TYPE_F16 || type == WD_GGML_TYPE_BF16) && N >= WD_GEMM_MIN_N && wd__gemm_vectorized())
        return wd__gemm(out, x, w, type, bias, N, C, OC, tp); /* prefill: the tiled kernel */
    if (wd__qgemm_takes(type, N)) return wd__qgemm(out, x, w, type, bias, N, C, OC, tp);
    qtask t = {out, x, NULL, w, bias, type, N, C, OC, wd__qmatmul_row_size(type, C), dot_f32_c, NULL, NULL, NULL, {0}};
    bool avx2 = false, vnni = false;
#ifdef WD_HAVE_X86
    avx2 = wd__cpu_has_avx2_fma();
    vnni = avx2 && wd__cpu_has(WD_CPU_AVX512F) && wd__cpu_has(WD_CPU_AVX512VL) &&
           wd__cpu_has(WD_CPU_AVX512VNNI);
    if (avx2) t.dot_f32 = dot_f32_avx2;
#endif
    /* One allocation per call: x's int8 blocks, or each thread's tile. */
    dot_q_fn dq = NULL, dq_avx2 = NULL, dq_vnni = NULL;
    switch (type) {
    case WD_GGML_TYPE_Q8_0: dq = dot_q8_0_c; X86_FNS(dot_q8_0); break;
    case WD_GGML_TYPE_Q4_0: dq = dot_q4_0_c; X86_FNS(dot_q4_0); break;
    case WD_GGML_TYPE_Q4_K: dq = dot_q4_k_c; X86_FNS(dot_q4_k); break;
    case WD_GGML_TYPE_Q5_K: dq = dot_q5_k_c; X86_FNS(dot_q5_k); break;
    case WD_GGML_TYPE_Q6_K: dq = dot_q6_k_c; X86_FNS(dot_q6_k); break;
    default: break;
    }
    bool int8 = dq && C % QK == 0;
    size_t nth = tp ? (size_t)wd_threadpool_n_threads(tp) : 1;
    bool half = avx2 && (type == WD_GGML_TYPE_F16 || type == WD_GGML_TYPE_BF16);
    size_t bytes = int8 ? N * XROW_BYTES(C) : half ? 0 : nth * TILE_OC * C * sizeof(float);
    void *scratch = malloc(bytes ? bytes : 1);
    if (!scratch) return wd__fail(WD_ERR_NOMEM, "out of memory (%zu bytes of matmul scratch)", bytes);
    if (int8) {
        xblock *xq = scratch;
        wd__xq_fn xqb = wd__xq_pick();
        for (size_t n = 0; n < N; n++) quantize_x((xblock *)x_row(xq, n, C), x + n * C, C, xqb);
        t.xq = xq;
        t.dot_q = vnni && dq_vnni ? dq_vnni : avx2 && dq_avx2 ? dq_avx2 : dq;
    } else {
        t.bufs = scratch;
    }
#ifdef WD_HAVE_X86
    if (half) {
        t.dot_h = type == WD_GGML_TYPE_F16 ? dot_f16_avx2 : dot_bf16_avx2;
        if (wd__cpu_has(WD_CPU_AVX512F)) t.dot_h = type == WD_GGML_TYPE_F16 ? dot_f16_avx512 : dot_bf16_avx512;
        t.bufs = NULL;
    }
#endif
    size_t chunk = (WD_CHUNK_BYTES / t.rs + TILE_OC - 1) / TILE_OC * TILE_OC;
    wd__chunks_init(&t.rows, OC, chunk ? chunk : TILE_OC, tp ? wd_threadpool_n_threads(tp) : 1);
    wd__parallel_for(tp, q_rows, &t, N * C * OC);
    free(scratch);
    return WD_OK;
}
