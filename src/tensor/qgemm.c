/*
 * tensor/qgemm.c - many rows of x against block-quantized weights; see
 * qgemm.h.
 *
 * One form for every block type. A 32-block of any type is unpacked to
 *
 *     w[e] = S * v[e] + off       v: unsigned byte; S, off per 32 (Q6_K: per 16)
 *
 *   type   v                       S              off
 *   Q8_0   q + 128                 d              -128 d
 *   Q4_0   nibble                  d              -8 d
 *   Q4_1   nibble                  d              m
 *   Q5_0   nibble | bit << 4       d              -16 d
 *   Q5_1   nibble | bit << 4       d              m
 *   Q4_K   nibble                  d sc           -dmin m
 *   Q5_K   nibble | bit << 4       d sc           -dmin m
 *   Q6_K   6-bit q                 d sc (per 16)  -32 d sc
 *
 * and x to int8 q with one scale dx per 32 (qmatmul.c's rounding). Then,
 * over a group of 32 (16) elements with one S and one off,
 *
 *     sum_e w[e] x[e] = S dx * [sum_e v[e] q[e]]  +  off * (dx sum_e q[e])
 *
 * Rows in lanes: a tile of LR = 32 weight rows is repacked, per slice of
 * LKC = 1024 elements, so that each 32-bit lane of a register holds 4
 * consecutive v of one row (a 16 x 16 or 8 x 8 transpose of dwords in
 * registers). x's 4 bytes at the same place are broadcast to every lane,
 * and one instruction adds their 4 products to each row's exact int32 sum:
 * vpdpbusd on 16 rows (AVX-512 VNNI) or 8 (AVX-VNNI), or AVX2's maddubs +
 * madd, whose 16-bit pair sums hold 2 * 63 * 127 (v <= 63: every type but
 * Q8_0, which AVX2 takes signed, |q| times x with q's sign). The bracket
 * stays integer over the group and is converted and scaled once:
 *
 *     acc[row] += float(isum[row]) * (S[row] dx) + off[row] * (dx sum q)
 *
 * so per 32 elements and pair of rows the float work is 4 instructions
 * for 8 integer ones (on 16 rows each with 512-bit registers). Loop
 * order, per thread (owning a slice of the tiles):
 *
 *   for each block of LNB = 512 rows of x:
 *       for each slice of LKC elements of C:
 *           for each tile of the thread:
 *               repack the tile's slice (32 KB of v, 8 KB of S and off: L1)
 *               for each group of LN = 6 rows of x:
 *                   the kernel: LN x 32 sums over the slice
 *                   out += them
 *
 * so the x block (512 rows of 1024 bytes) streams from L2, and a tile's
 * repacking is paid once per 512 rows of x. A last group of fewer rows of
 * x repeats its first row (computed, not stored); a last tile of fewer
 * weight rows computes zero rows (S = off = 0).
 */
#include "tensor/qgemm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tensor/cpu.h"
#include "tensor/qgemm_unpack.h"
#include "tensor/quant.h"
#include "tensor/threads.h"
#include "tensor/xquant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "tensor/x86.h"
#define WD_HAVE_X86 1
#endif

static inline size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

#ifdef WD_HAVE_X86 /* every kernel of this file needs x86 vector instructions */

/* ==== unpacking two blocks at once ====================================== */

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

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

/* ==== rows in lanes ===================================================== */

/* Measured on Zen 5 (bench_qmatmul, 2 threads, 256 rows of x), against the
 * 4 x 4 tile of element lanes it replaced: AVX-512 VNNI 345-415 -> 630-760
 * GFLOPS; the 256-bit kernels (WD_CPU_DISABLE) AVX-VNNI 160-187 -> 340-352,
 * AVX2 160 -> 288-292 (Q6_K 225). LN = 8 spills registers; LNB = 128 left
 * the repacking half the time at 256 rows. */
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

typedef void (*ltile_fn)(float out[LN][LR], const uint8_t *wv, const float *wS, const float *wo,
                         const int8_t *const *xq, const float *const *xd, const float *const *xs, size_t ng, int gk);

typedef struct lgtask lgtask;
typedef void (*lunpack_fn)(const lgtask *t, size_t oc0, size_t nt, size_t b0, size_t nb, uint8_t *wv, float *wS,
                           float *wo);

struct lgtask {
    float         *out;
    const uint8_t *w;
    const float   *bias;
    const lpack   *xp;
    wd__qg_unpack_fn unpack, chunk;
    ltile_fn       tile;
    lunpack_fn     pack;
    size_t         N, C, OC, rs, bs;
    uint8_t       *bufs;
    size_t         buf_bytes;
    wd__chunks     tiles;   /* the tiles of LR weight rows, in chunks */
};

/* out[j][0..LR) = the LN x rows (xq / xd / xs at the slice) against the
 * tile's packed slice: wv (per 4 elements, LR rows of 4 bytes), wS and wo
 * (per group, LR floats each), ng groups of gk 4-element steps. */
VNNI static void lanes_tile(float out[LN][LR], const uint8_t *wv, const float *wS, const float *wo,
                            const int8_t *const *xq, const float *const *xd, const float *const *xs, size_t ng,
                            int gk) {
    __m512 f[LN][2];
    for (int j = 0; j < LN; j++) f[j][0] = f[j][1] = _mm512_setzero_ps();
    const int psh = gk == 4; /* log2 of the groups per 32 elements (a shift: a division here cost a
                                div instruction per group) */
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
                const __m512 sd = _mm512_mul_ps(S, _mm512_set1_ps(xd[j][g >> psh]));
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

/* Blocks blk (and blk + 1 when two == 2) of the tile's rows r0 .. r0 + nr
 * - 1 into scratch rows v / S / off (one unpacker's output each); rows at
 * or past nt are zero. */
static void unpack_rows(const lgtask *t, size_t oc0, size_t nt, size_t r0, size_t nr, size_t blk, size_t two,
                        uint8_t (*v)[64], float (*S)[4], float (*off)[4]) {
    for (size_t i = 0; i < nr; i++) {
        const size_t r = r0 + i;
        if (r >= nt) {
            memset(v[i], 0, 64);
            memset(S[i], 0, sizeof S[i]);
            memset(off[i], 0, sizeof off[i]);
            continue;
        }
        const uint8_t *row = t->w + (oc0 + r) * t->rs;
        if (two == 2 && t->chunk) {
            t->chunk(row, blk, v[i], S[i], off[i]);
        } else {
            t->unpack(row, blk, v[i], S[i], off[i]);
            if (two == 2) t->unpack(row, blk + 1, v[i] + 32, S[i] + 2, off[i] + 2);
        }
    }
}

/* The scales and offsets of scratch rows 0 .. nr - 1, blocks b .. b + two
 * - 1 of the slice, into wS / wo at lanes r0 .. r0 + nr - 1 (per groups of
 * a 32-block). */
static void put_group_scales(size_t per, size_t b, size_t two, size_t r0, size_t nr, float (*S)[4],
                             float (*off)[4], float *wS, float *wo) {
    for (size_t k = 0; k < two; k++)
        for (size_t gi = 0; gi < per; gi++) {
            float *ws = wS + (per * (b + k) + gi) * LR + r0, *wo2 = wo + (per * (b + k) + gi) * LR + r0;
            for (size_t i = 0; i < nr; i++) ws[i] = S[i][2 * k + gi], wo2[i] = off[i][2 * k + gi];
        }
}

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
    float S[16][4], off[16][4];
    for (size_t h = 0; h < LR / 16; h++)
        for (size_t b = 0; b < nb; b += 2) {
            const size_t two = b + 1 < nb ? 2 : 1;
            unpack_rows(t, oc0, nt, 16 * h, 16, b0 + b, two, v, S, off);
            __m512i m[16];
            for (size_t i = 0; i < 16; i++) m[i] = _mm512_load_si512(v[i]);
            transpose16(m);
            for (size_t e = 0; e < 8 * two; e++) _mm512_store_si512(wv + ((8 * b + e) * LR + 16 * h) * 4, m[e]);
            put_group_scales(per, b, two, 16 * h, 16, S, off, wS, wo);
        }
}

/* What the 256-bit tiles below share: a group's integer sums ia (rows j0,
 * j0 + 1 of x; weight lanes 16 h .. 16 h + 15) scaled into the float
 * accumulators f, f += float(ia) * (S dx) + off * (dx sum q), and f stored
 * into out at the end of the slice. Macros, so that the accumulators stay
 * in the caller's registers. */
#define YMM_SCALE_GROUP(f, ia, wS, wo, xd, xs, g, psh, j0, h)                                         \
    do {                                                                                              \
        const float *Sg_ = (wS) + (g) * LR + 16 * (h), *Og_ = (wo) + (g) * LR + 16 * (h);             \
        for (int k_ = 0; k_ < 2; k_++) {                                                              \
            const __m256 S_ = _mm256_load_ps(Sg_ + 8 * k_), O_ = _mm256_load_ps(Og_ + 8 * k_);        \
            for (int j_ = 0; j_ < 2; j_++) {                                                          \
                const __m256 sd_ = _mm256_mul_ps(S_, _mm256_set1_ps(xd[(j0) + j_][(g) >> (psh)]));    \
                f[j_][k_] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[j_][k_]), sd_, f[j_][k_]);          \
                f[j_][k_] = _mm256_fmadd_ps(O_, _mm256_set1_ps(xs[(j0) + j_][g]), f[j_][k_]);         \
            }                                                                                         \
        }                                                                                             \
    } while (0)
#define YMM_STORE(out, f, j0, h)                                                                      \
    do {                                                                                              \
        for (int j_ = 0; j_ < 2; j_++) {                                                              \
            _mm256_storeu_ps(out[(j0) + j_] + 16 * (h), f[j_][0]);                                    \
            _mm256_storeu_ps(out[(j0) + j_] + 16 * (h) + 8, f[j_][1]);                                \
        }                                                                                             \
    } while (0)

/* The same on 256-bit registers (16 of them): the tile's 32 rows as two
 * halves of 16 (two registers of 8 lanes), the LN rows of x two at a
 * time, so 4 integer and 4 float accumulators live at once. ACC(a, v, x)
 * adds the 4 products of each lane: AVX-VNNI's vpdpbusd, or for Q8_0 on
 * AVX2 maddubs + madd with q's sign moved to x (below); the other types on
 * AVX2 take LANES_YMM16, which sums several steps in 16 bits. The empty asm keeps
 * each accumulator in one register: without it GCC computed every sum into
 * a temporary, copied it back and loaded the weights twice (28 instructions
 * a step instead of 21; the tile alone, paired runs: 1.16-1.22x). */
#define LANES_YMM(NAME, KT, ACC)                                                                              \
    KT static void NAME(float out[LN][LR], const uint8_t *wv, const float *wS, const float *wo,               \
                        const int8_t *const *xq, const float *const *xd, const float *const *xs, size_t ng,   \
                        int gk) {                                                                             \
        const int psh = gk == 4; /* log2 of the groups per 32 elements: a shift, not a div a group */         \
        for (int j0 = 0; j0 < LN; j0 += 2)                                                                    \
            for (int h = 0; h < 2; h++) {                                                                     \
                __m256 f[2][2];                                                                               \
                for (int j = 0; j < 2; j++) f[j][0] = f[j][1] = _mm256_setzero_ps();                          \
                const uint8_t *v = wv + 64 * h;                                                               \
                for (size_t g = 0; g < ng; g++) {                                                             \
                    __m256i ia[2][2];                                                                         \
                    for (int j = 0; j < 2; j++) ia[j][0] = ia[j][1] = _mm256_setzero_si256();                 \
                    const size_t e0 = g * (size_t)gk * 4;                                                     \
                    for (int st = 0; st < gk; st++, v += 4 * LR) {                                            \
                        const __m256i v0 = _mm256_load_si256((const __m256i *)v);                             \
                        const __m256i v1 = _mm256_load_si256((const __m256i *)(v + 32));                      \
                        for (int j = 0; j < 2; j++) {                                                         \
                            int32_t x4;                                                                       \
                            memcpy(&x4, xq[j0 + j] + e0 + 4 * st, 4);                                         \
                            const __m256i xb = _mm256_set1_epi32(x4);                                         \
                            ia[j][0] = ACC(ia[j][0], v0, xb);                                                 \
                            ia[j][1] = ACC(ia[j][1], v1, xb);                                                 \
                            __asm__("" : "+x"(ia[j][0]), "+x"(ia[j][1]));                                     \
                        }                                                                                     \
                    }                                                                                         \
                    YMM_SCALE_GROUP(f, ia, wS, wo, xd, xs, g, psh, j0, h);                                    \
                }                                                                                             \
                YMM_STORE(out, f, j0, h);                                                                     \
            }                                                                                                 \
    }

#define ACC_AVXVNNI(a, v, x) _mm256_dpbusd_avx_epi32((a), (v), (x))
LANES_YMM(lanes_tile_avxvnni, __attribute__((target("avx2,fma,f16c,avxvnni"))), ACC_AVXVNNI)
/* Q8_0 on AVX2: v holds q itself (signed); |q| <= 128 goes in as the
 * unsigned operand and x takes q's sign, so a pair sum is at most
 * 2 * 128 * 127 < 32768 and the product is q * x as it should be. */
#define ACC_AVX2_SIGNED(a, v, x)                                                                         \
    _mm256_add_epi32((a), _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(v), _mm256_sign_epi8((x), (v))), \
                                            _mm256_set1_epi16(1)))
LANES_YMM(lanes_tile_avx2_q8, AVX2, ACC_AVX2_SIGNED)
#undef LANES_YMM

/* AVX2's maddubs leaves 16-bit pair sums, each at most 2 * vmax * 128; a
 * type with small v can add several steps' in 16 bits before one madd
 * widens them (SK steps: 8 for the 4-bit types, 2 * 15 * 128 * 8 = 30720;
 * 4 for the 5-bit ones, 31744; 2 for Q6_K, 32256; all < 32768), so a step
 * costs a multiply and an add where it cost two multiplies and an add:
 * with the accumulators pinned in registers (as in LANES_YMM) the tile
 * alone ran 1.36-1.45x the plain AVX2 one for the 4-bit types (paired
 * runs, L1-resident slice; 1.16-1.22x of that is the pinning). The same
 * sums as one maddubs + madd a step would give (integers, exact). */
#define LANES_YMM16(NAME, SK)                                                                                 \
    AVX2 static void NAME(float out[LN][LR], const uint8_t *wv, const float *wS, const float *wo,             \
                          const int8_t *const *xq, const float *const *xd, const float *const *xs, size_t ng, \
                          int gk) {                                                                           \
        const int psh = gk == 4;                                                                              \
        const __m256i ones = _mm256_set1_epi16(1);                                                            \
        for (int j0 = 0; j0 < LN; j0 += 2)                                                                    \
            for (int h = 0; h < 2; h++) {                                                                     \
                __m256 f[2][2];                                                                               \
                for (int j = 0; j < 2; j++) f[j][0] = f[j][1] = _mm256_setzero_ps();                          \
                const uint8_t *v = wv + 64 * h;                                                               \
                for (size_t g = 0; g < ng; g++) {                                                             \
                    __m256i ia[2][2];                                                                         \
                    for (int j = 0; j < 2; j++) ia[j][0] = ia[j][1] = _mm256_setzero_si256();                 \
                    const size_t e0 = g * (size_t)gk * 4;                                                     \
                    for (int st = 0; st < gk; st += (SK)) {                                                   \
                        __m256i s16[2][2];                                                                    \
                        for (int u = 0; u < (SK); u++, v += 4 * LR) {                                         \
                            const __m256i v0 = _mm256_load_si256((const __m256i *)v);                         \
                            const __m256i v1 = _mm256_load_si256((const __m256i *)(v + 32));                  \
                            for (int j = 0; j < 2; j++) {                                                     \
                                int32_t x4;                                                                   \
                                memcpy(&x4, xq[j0 + j] + e0 + 4 * (st + u), 4);                               \
                                const __m256i xb = _mm256_set1_epi32(x4);                                     \
                                const __m256i p0 = _mm256_maddubs_epi16(v0, xb);                              \
                                const __m256i p1 = _mm256_maddubs_epi16(v1, xb);                              \
                                s16[j][0] = u ? _mm256_add_epi16(s16[j][0], p0) : p0;                         \
                                s16[j][1] = u ? _mm256_add_epi16(s16[j][1], p1) : p1;                         \
                                __asm__("" : "+x"(s16[j][0]), "+x"(s16[j][1]));                               \
                            }                                                                                 \
                        }                                                                                     \
                        for (int j = 0; j < 2; j++) {                                                         \
                            for (int k = 0; k < 2; k++)                                                       \
                                ia[j][k] = _mm256_add_epi32(_mm256_madd_epi16(s16[j][k], ones), ia[j][k]);    \
                            __asm__("" : "+x"(ia[j][0]), "+x"(ia[j][1]));                                     \
                        }                                                                                     \
                    }                                                                                         \
                    YMM_SCALE_GROUP(f, ia, wS, wo, xd, xs, g, psh, j0, h);                                    \
                }                                                                                             \
                YMM_STORE(out, f, j0, h);                                                                     \
            }                                                                                                 \
    }
LANES_YMM16(lanes_tile_avx2_v15, 8)
LANES_YMM16(lanes_tile_avx2_v31, 4)
LANES_YMM16(lanes_tile_avx2_v63, 2)
#undef LANES_YMM16
#undef YMM_SCALE_GROUP
#undef YMM_STORE

/* The AVX2 kernel for a type by the largest v it unpacks to. */
static ltile_fn avx2_tile(wd_ggml_type type) {
    switch (type) {
    case WD_GGML_TYPE_Q4_0:
    case WD_GGML_TYPE_Q4_1:
    case WD_GGML_TYPE_Q4_K: return lanes_tile_avx2_v15;
    case WD_GGML_TYPE_Q5_0:
    case WD_GGML_TYPE_Q5_1:
    case WD_GGML_TYPE_Q5_K: return lanes_tile_avx2_v31;
    case WD_GGML_TYPE_Q6_K: return lanes_tile_avx2_v63;
    default: return lanes_tile_avx2_v63; /* right for any v <= 63: every type but Q8_0 */
    }
}

/* An 8 x 8 matrix of dwords transposed in registers: r[j] lane i = the
 * input's r[i] lane j. */
AVX2 static inline void transpose8(__m256i r[8]) {
    __m256i t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int k = 0; k < 4; k++) {
        t[k] = _mm256_permute2x128_si256(r[k], r[k + 4], 0x20);
        t[k + 4] = _mm256_permute2x128_si256(r[k], r[k + 4], 0x31);
    }
    for (int k = 0; k < 8; k++) r[k] = t[k];
}

/* lanes_unpack on 256-bit registers: 8 rows at a time, one 32-block (8
 * dwords) per transpose. */
AVX2 static void lanes_unpack_avx2(const lgtask *t, size_t oc0, size_t nt, size_t b0, size_t nb, uint8_t *wv,
                                   float *wS, float *wo) {
    const size_t per = 32 / t->xp->G;
    _Alignas(32) uint8_t v[8][64];
    float S[8][4], off[8][4];
    for (size_t q = 0; q < LR / 8; q++)
        for (size_t b = 0; b < nb; b += 2) {
            const size_t two = b + 1 < nb ? 2 : 1;
            unpack_rows(t, oc0, nt, 8 * q, 8, b0 + b, two, v, S, off);
            for (size_t k = 0; k < two; k++) {
                __m256i m[8];
                for (size_t i = 0; i < 8; i++) m[i] = _mm256_load_si256((const __m256i *)(v[i] + 32 * k));
                transpose8(m);
                for (size_t e = 0; e < 8; e++)
                    _mm256_store_si256((__m256i *)(wv + ((8 * (b + k) + e) * LR + 8 * q) * 4), m[e]);
            }
            put_group_scales(per, b, two, 8 * q, 8, S, off, wS, wo);
        }
}

static void lanes_rows(void *ctx, int ith, int nth) {
    lgtask *t = ctx;
    (void)nth;
    uint8_t *wv = t->bufs + (size_t)ith * t->buf_bytes;
    float *wS = (float *)(wv + LKC * LR), *wo = wS + LKC / 16 * LR;
    const lpack *xp = t->xp;
    const size_t N = t->N, C = t->C, OC = t->OC, G = xp->G;
    const int gk = (int)(G / 4);
    size_t lo, hi; /* a chunk of tiles (tensor/threads.h), every block of x and slice of C */
    int cursor = 0;
    while (wd__chunks_take(&t->tiles, ith, &cursor, &lo, &hi)) {
        for (size_t n0 = 0; n0 < N; n0 += LNB) {
            size_t n1 = N - n0 < LNB ? N : n0 + LNB;
            for (size_t k0 = 0; k0 < C; k0 += LKC) {
                size_t kc = C - k0 < LKC ? C - k0 : LKC;
                for (size_t tile = lo; tile < hi; tile++) {
                    size_t oc0 = tile * LR, nt = OC - oc0 < LR ? OC - oc0 : LR;
                    t->pack(t, oc0, nt, k0 / 32, kc / 32, wv, wS, wo);
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
                        t->tile(r, wv, wS, wo, xq, xd, xs, kc / G, gk);
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
}

static wd_status lanes_gemm(float *out, const float *x, const void *w, wd_ggml_type type, const float *bias,
                            size_t N, size_t C, size_t OC, wd_threadpool *tp, ltile_fn tile, lunpack_fn pack) {
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
    bool q8s = tile == lanes_tile_avx2_q8; /* Q8_0 kept signed for AVX2 */
    lgtask t = {out, w, bias, &xp, q8s ? wd__qg_unpack_q8_0_signed : wd__qg_block_unpacker(type),
                q8s ? wd__qg_chunk_q8_0_signed : wd__qg_chunk_unpacker(type), tile, pack, N, C, OC,
                wd__quant_row_size(type, C), wd__quant_row_size(type, 256) / 8, mem + round_up(xbytes, 64),
                buf_bytes, {0}};
    const size_t ntiles = (OC + LR - 1) / LR;
    wd__chunks_init(&t.tiles, ntiles, wd__chunk_size(ntiles, (int)nth, 8), (int)nth);
    wd__parallel_for(tp, lanes_rows, &t, N * C * OC);
    free(mem);
    return WD_OK;
}
#endif

/* The kernel for type on this CPU: rows in lanes on 512-bit registers
 * (AVX-512 VNNI), on 256-bit ones (AVX-VNNI, or AVX2 with Q8_0 signed), or
 * none. */
typedef enum { KERNEL_NONE, KERNEL_LANES, KERNEL_AVXVNNI, KERNEL_AVX2, KERNEL_AVX2_Q8 } kernel;

static kernel pick_kernel(wd_ggml_type type) {
    if (!wd__qg_block_unpacker(type)) return KERNEL_NONE;
#ifdef WD_HAVE_X86
    if (!wd__cpu_has_avx2_fma()) return KERNEL_NONE;
    if (wd__cpu_has_avx512_vnni()) return KERNEL_LANES;
    if (wd__cpu_has(WD_CPU_AVXVNNI)) return KERNEL_AVXVNNI;
    return type == WD_GGML_TYPE_Q8_0 ? KERNEL_AVX2_Q8 : KERNEL_AVX2;
#else
    return KERNEL_NONE;
#endif
}

bool wd__qgemm_takes(wd_ggml_type type, size_t N) {
    kernel k = pick_kernel(type);
    /* the 256-bit kernels beat qmatmul.c's from about 12 rows: at 11 rows
     * (2 threads, 2048 x 5632) AVX-VNNI 146-190 GFLOPS against 79-129, AVX2
     * 105-131 against 83-138; at 8 rows both lose (74-95 against 67-150) */
    if (k == KERNEL_AVXVNNI || k == KERNEL_AVX2 || k == KERNEL_AVX2_Q8) return N >= 12;
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
    if (k == KERNEL_LANES) return lanes_gemm(out, x, w, type, bias, N, C, OC, tp, lanes_tile, lanes_unpack);
    return lanes_gemm(out, x, w, type, bias, N, C, OC, tp,
                      k == KERNEL_AVXVNNI ? lanes_tile_avxvnni : k == KERNEL_AVX2_Q8 ? lanes_tile_avx2_q8 : avx2_tile(type),
                      lanes_unpack_avx2);
#else
    (void)out, (void)x, (void)w, (void)bias, (void)N, (void)C, (void)OC, (void)tp;
    return WD_OK;
#endif
}
