/*
 * tensor/gemm.c - the linear layer for many rows of x on F32 / F16 / BF16
 * weights; see gemm.h.
 *
 * Both operands run along C in memory (x rows, W rows), so neither gives a
 * vector of outputs by itself. x, the small one in prefill, is repacked
 * once per call into panels of PW rows (PW = 32 with AVX-512, 16 with AVX2
 * and portable C), stored column by column:
 *
 *     panel at row n0:  xt[n0*C + k*wp + j] = x[n0 + j][k]    j < wp
 *
 * (wp = PW, or the last panel's rows rounded up to a vector, zero padded).
 * A tile of RM weight rows (12 with AVX-512, 6 otherwise) multiplies a
 * panel as a sum of outer products, one k at a time:
 *
 *     for k in block:  xv[v] = xt[k][VL*v .. VL*v + VL-1]    (NV vectors)
 *                      acc[m][v] += broadcast(W[oc0+m][k]) * xv[v]
 *
 * AVX-512: 12 x 2 zmm accumulators (24 of the 32 registers; 2 loads and 12
 * broadcasts per 24 fused multiply-adds); AVX2: 6 x 2 ymm. acc[m][v] holds
 * outputs (n0 + VL*v .., oc0 + m): a column of out, written through a small
 * buffer. Tiles of 6 x 64 and 8 x 48 zmm measured the same as 12 x 32
 * within the noise of this shared 2-core machine; 12 x 32 pads a last
 * panel least.
 *
 * Work is handed out in chunks of up to 16 tiles (tensor/threads.h: each
 * thread first takes its own slice's chunks, then helps with the others').
 * Blocking, per chunk:
 *
 *     for each block of kc columns of C        (x's panels of that block,
 *                                               Npad*kc floats <= 768 KB,
 *                                               stay in L2)
 *         for each tile of RM weight rows      ([F16/BF16: widened into the
 *                                               thread's buffer], in L1)
 *             for each panel of x: tile kernel, out (+)= its result
 *
 * so every weight is read from memory once per call, x's block once per
 * tile from L2, and out once per block of C (the first block adds the
 * bias, later ones add to it). While a tile computes its first panel it
 * prefetches the next tile's weight rows into L2, one line per row every
 * 16 columns: a tile's rows are otherwise fetched only when the kernel (or
 * the F16/BF16 widening) reaches them, a stall of 10-20% at 64-128 rows of
 * x (bench, single thread, CPU time). A last tile of fewer than RM rows
 * repeats its last row (computed, not stored).
 *
 * Tried and left out (2-core Zen 3, AVX2): panels of x kept in L1 (blocks
 * of 256 columns of C, a chunk's widened rows in L2, its outputs summed in
 * a transposed buffer) measured no faster than these L2-sized blocks, and
 * the fixed slices of the tiles the chunks replaced were 5-15% slower at
 * 64 rows of x (pp64 of a 1B model, F16 and F32, alternating builds).
 */
#include "tensor/gemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tensor/cpu.h"
#include "tensor/threads.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WD_HAVE_X86 1
#endif

#define RM 6                          /* weight rows per tile: AVX2, portable */
#define RM_MAX 12                     /* and AVX-512 */
#define PW_MAX 32                     /* rows of x in the widest panel */
#define L2_PANEL_FLOATS (192 * 1024)  /* x's panels of one block of C: 768 KB */
#define CHUNK_TILES 16                /* tiles a thread takes at a time, at most */

/* tmp[m*PW_MAX + j] = sum over k < kc of wr[m][k] * xp[k*wp + j], j < wp,
 * for the kernel's RM rows m. pf: NULL, or the next tile's rows (pfb bytes
 * per column of C) to prefetch. */
typedef void (*tile_fn)(float *tmp, const float *xp, size_t wp, const float *const *wr, size_t kc,
                        const uint8_t *const *pf, size_t pfb);

bool wd__gemm_supported(wd_ggml_type type) {
    return type == WD_GGML_TYPE_F32 || type == WD_GGML_TYPE_F16 || type == WD_GGML_TYPE_BF16;
}

/* ==== tile kernels ======================================================= */

static inline void tile_c_w(float *tmp, const float *xp, size_t wp, const float *const *wr, size_t kc,
                            size_t W) {
    float acc[RM][16] = {{0}};
    for (size_t k = 0; k < kc; k++) {
        const float *xk = xp + k * wp;
        for (int m = 0; m < RM; m++) {
            const float b = wr[m][k];
            for (size_t j = 0; j < W; j++) acc[m][j] += b * xk[j];
        }
    }
    for (int m = 0; m < RM; m++) memcpy(tmp + m * PW_MAX, acc[m], W * sizeof(float));
}

static void tile_c(float *tmp, const float *xp, size_t wp, const float *const *wr, size_t kc,
                   const uint8_t *const *pf, size_t pfb) {
    (void)pf, (void)pfb;
    if (wp > 8)
        tile_c_w(tmp, xp, 16, wr, kc, 16);
    else
        tile_c_w(tmp, xp, 8, wr, kc, 8);
}

#ifdef WD_HAVE_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE inline __attribute__((always_inline))

/* The accumulators are named variables, not an array: with arrays GCC kept
 * a copy of them in memory, stored every iteration (16 ymm registers:
 * 12 accumulators, 2 of x, 1 broadcast). */
AVX2 static INLINE void tile_avx2_nv(float *tmp, const float *xp, size_t wp, const float *const *wr, size_t kc,
                                     const uint8_t *const *pf, size_t pfb, const int NV) {
    const float *p0 = wr[0], *p1 = wr[1], *p2 = wr[2], *p3 = wr[3], *p4 = wr[4], *p5 = wr[5];
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    (void)wp; /* 8 * NV: a panel is 16 rows, or a last one of 8 */
    for (size_t k0 = 0; k0 < kc; k0 += 16) {
        if (pf)
            for (int m = 0; m < RM; m++) _mm_prefetch((const char *)pf[m] + pfb * k0, _MM_HINT_T1);
        const size_t k1 = k0 + 16 < kc ? k0 + 16 : kc;
        for (size_t k = k0; k < k1; k++) {
            const float *xk = xp + k * 8 * NV;
            const __m256 x0 = _mm256_loadu_ps(xk), x1 = NV > 1 ? _mm256_loadu_ps(xk + 8) : x0;
#define ROW(m)                                                         \
            {                                                          \
                const __m256 b = _mm256_broadcast_ss(p##m + k);        \
                c##m##0 = _mm256_fmadd_ps(b, x0, c##m##0);             \
                if (NV > 1) c##m##1 = _mm256_fmadd_ps(b, x1, c##m##1); \
            }
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
        }
    }
    const __m256 c[RM][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int m = 0; m < RM; m++)
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(tmp + m * PW_MAX + 8 * v, c[m][v]);
}

AVX2 static void tile_avx2(float *tmp, const float *xp, size_t wp, const float *const *wr, size_t kc,
                           const uint8_t *const *pf, size_t pfb) {
    if (wp > 8)
        tile_avx2_nv(tmp, xp, wp, wr, kc, pf, pfb, 2);
    else
        tile_avx2_nv(tmp, xp, wp, wr, kc, pf, pfb, 1);
}

AVX512 static INLINE void tile_avx512_nv(float *tmp, const float *xp, size_t wp, const float *const *wr,
                                         size_t kc, const uint8_t *const *pf, size_t pfb, const int NV) {
    const float *p[RM_MAX];
    for (int m = 0; m < RM_MAX; m++) p[m] = wr[m];
    __m512 acc[RM_MAX][2];
    for (int m = 0; m < RM_MAX; m++) acc[m][0] = acc[m][1] = _mm512_setzero_ps();
    for (size_t k0 = 0; k0 < kc; k0 += 16) {
        if (pf)
            for (int m = 0; m < RM_MAX; m++) _mm_prefetch((const char *)pf[m] + pfb * k0, _MM_HINT_T1);
        const size_t k1 = k0 + 16 < kc ? k0 + 16 : kc;
        for (size_t k = k0; k < k1; k++) {
            const float *xk = xp + k * wp;
            __m512 x0 = _mm512_loadu_ps(xk), x1 = NV > 1 ? _mm512_loadu_ps(xk + 16) : x0;
            for (int m = 0; m < RM_MAX; m++) {
                __m512 b = _mm512_set1_ps(p[m][k]);
                acc[m][0] = _mm512_fmadd_ps(b, x0, acc[m][0]);
                if (NV > 1) acc[m][1] = _mm512_fmadd_ps(b, x1, acc[m][1]);
            }
        }
    }
    for (int m = 0; m < RM_MAX; m++)
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(tmp + m * PW_MAX + 16 * v, acc[m][v]);
}

/* F16 / BF16 rows widened 16 at a time (the library's converters take 8). */
AVX512 static void widen_f16_avx512(float *y, const uint16_t *h, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))));
    wd_f16_to_f32_ref(y + i, h + i, n - i);
}

AVX512 static void widen_bf16_avx512(float *y, const uint16_t *h, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(h + i)));
        _mm512_storeu_ps(y + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
    }
    wd_bf16_to_f32_ref(y + i, h + i, n - i);
}

AVX512 static void tile_avx512(float *tmp, const float *xp, size_t wp, const float *const *wr, size_t kc,
                               const uint8_t *const *pf, size_t pfb) {
    if (wp > 16)
        tile_avx512_nv(tmp, xp, wp, wr, kc, pf, pfb, 2);
    else
        tile_avx512_nv(tmp, xp, wp, wr, kc, pf, pfb, 1);
}
#endif

/* ==== the threaded driver ================================================ */

typedef struct gtask {
    float         *out;
    const float   *x;
    const uint8_t *w;
    const float   *bias;
    wd_ggml_type   type;
    size_t         N, C, OC, rs;
    float         *xt;     /* x in panels (see the top) */
    float         *wbufs;  /* F16/BF16: RM_MAX rows of kc floats per thread */
    size_t         kc;     /* columns of C per block */
    size_t         pw, vl; /* rows of x per full panel; per vector */
    size_t         rm;     /* weight rows per tile */
    tile_fn        tile;
    void         (*widen)(float *y, const uint16_t *h, size_t n); /* F16/BF16 rows to F32 */
    wd__chunks     tiles;   /* the tiles of weight rows, handed out in chunks */
} gtask;

/* Rows in the panel that starts at row n0, padding included. */
static size_t panel_width(const gtask *t, size_t n0) {
    size_t rem = t->N - n0;
    return rem >= t->pw ? t->pw : (rem + t->vl - 1) / t->vl * t->vl;
}

/* Thread ith packs columns [lo, hi) of every panel, 16 columns at a time
 * so that the lines it writes stay in L1 while it walks the rows. */
static void pack_x(void *ctx, int ith, int nth) {
    const gtask *t = ctx;
    const size_t N = t->N, C = t->C;
    size_t lo, hi;
    wd__split(C, ith, nth, &lo, &hi);
    for (size_t n0 = 0; n0 < N; n0 += t->pw) {
        const size_t wp = panel_width(t, n0), nr = N - n0 < wp ? N - n0 : wp;
        float *p = t->xt + n0 * C;
        for (size_t k0 = lo; k0 < hi; k0 += 16) {
            const size_t k1 = k0 + 16 < hi ? k0 + 16 : hi;
            for (size_t j = 0; j < wp; j++) {
                const float *xr = t->x + (n0 + j) * C;
                for (size_t k = k0; k < k1; k++) p[k * wp + j] = j < nr ? xr[k] : 0.0f;
            }
        }
    }
}

/* The tiles [t0, t1) of weight rows (a chunk), every block of C. nt0: the
 * tile whose rows to prefetch after the chunk's last (the next chunk's
 * first), or SIZE_MAX for none. */
static void gemm_chunk(const gtask *t, float *wbuf, size_t t0, size_t t1, size_t nt0) {
    const size_t N = t->N, C = t->C, OC = t->OC, kc = t->kc, RMt = t->rm;
    const size_t esz = t->type == WD_GGML_TYPE_F32 ? 4 : 2;
    _Alignas(64) float tmp[RM_MAX * PW_MAX];
    for (size_t k0 = 0; k0 < C; k0 += kc) {
        const size_t kb = C - k0 < kc ? C - k0 : kc;
        for (size_t ti = t0; ti < t1; ti++) {
            const size_t oc0 = ti * RMt, mr = OC - oc0 < RMt ? OC - oc0 : RMt;
            const float *wr[RM_MAX];
            for (size_t m = 0; m < RMt; m++) {
                const uint8_t *row = t->w + (oc0 + (m < mr ? m : mr - 1)) * t->rs;
                if (t->type == WD_GGML_TYPE_F32) {
                    wr[m] = (const float *)row + k0;
                } else if (m < mr) {
                    t->widen(wbuf + m * kc, (const uint16_t *)row + k0, kb);
                    wr[m] = wbuf + m * kc;
                } else {
                    wr[m] = wr[mr - 1];
                }
            }
            /* the next tile's rows, fetched into L2 while this one computes:
             * the chunk's next tile, its first at the next block of C, or
             * after the last block the next chunk's first */
            size_t nti = ti + 1, nk = k0;
            if (nti >= t1) nti = t0, nk = k0 + kc;
            if (nk >= C) nti = nt0, nk = 0;
            const bool do_pf = nti != SIZE_MAX && nti * RMt < OC;
            const uint8_t *pf[RM_MAX];
            for (size_t m = 0; do_pf && m < RMt; m++) {
                const size_t r = nti * RMt + m;
                pf[m] = t->w + (r < OC ? r : OC - 1) * t->rs + nk * esz;
            }
            for (size_t n0 = 0; n0 < N; n0 += t->pw) {
                const size_t wp = panel_width(t, n0), nr = N - n0 < wp ? N - n0 : wp;
                t->tile(tmp, t->xt + n0 * C + k0 * wp, wp, wr, kb, do_pf && n0 == 0 ? pf : NULL, esz);
                for (size_t j = 0; j < nr; j++) {
                    float *o = t->out + (n0 + j) * OC + oc0;
                    if (k0 == 0)
                        for (size_t m = 0; m < mr; m++) o[m] = (t->bias ? t->bias[oc0 + m] : 0.0f) + tmp[m * PW_MAX + j];
                    else
                        for (size_t m = 0; m < mr; m++) o[m] += tmp[m * PW_MAX + j];
                }
            }
        }
    }
}

/* Chunks of tiles from slices (tensor/threads.h): with fixed slices every
 * prefill matmul waited for a thread slowed by other work on the machine.
 * A chunk runs every block of C of its tiles, so no two threads ever add
 * to the same outputs. */
static void gemm_slices(void *ctx, int ith, int nth) {
    gtask *t = ctx;
    (void)nth;
    float *wbuf = t->wbufs ? t->wbufs + (size_t)ith * RM_MAX * t->kc : NULL;
    size_t t0, t1;
    int cursor = 0;
    while (wd__chunks_take(&t->tiles, ith, &cursor, &t0, &t1)) /* next, most likely: the tiles after it */
        gemm_chunk(t, wbuf, t0, t1, t1 < t->tiles.n ? t1 : SIZE_MAX);
}

bool wd__gemm_vectorized(void) {
#ifdef WD_HAVE_X86
    return wd__cpu_has(WD_CPU_AVX2) && wd__cpu_has(WD_CPU_FMA); /* AVX-512 is used only with them */
#else
    return false;
#endif
}

wd_status wd__gemm(float *out, const float *x, const void *w, wd_ggml_type type,
                   const float *bias, size_t N, size_t C, size_t OC, wd_threadpool *tp) {
    // out (N,OC), x (N,C), w (OC rows of C elements of type), bias (OC) or NULL
    if (!wd__gemm_supported(type))
        return wd__fail(WD_ERR_UNSUPPORTED, "gemm: weights of type %s", wd_ggml_type_name(type));
    if (N == 0 || OC == 0) return WD_OK;
    if (C == 0) {
        for (size_t n = 0; n < N; n++)
            for (size_t oc = 0; oc < OC; oc++) out[n * OC + oc] = bias ? bias[oc] : 0.0f;
        return WD_OK;
    }
    gtask t = {out, x, w, bias, type, N, C, OC, type == WD_GGML_TYPE_F32 ? 4 * C : 2 * C,
               NULL, NULL, 0, 16, 8, RM, tile_c,
               type == WD_GGML_TYPE_F16 ? wd_f16_to_f32 : wd_bf16_to_f32, {0}};
#ifdef WD_HAVE_X86
    if (wd__cpu_has(WD_CPU_AVX2) && wd__cpu_has(WD_CPU_FMA)) {
        if (wd__cpu_has(WD_CPU_AVX512F)) {
            t.tile = tile_avx512, t.pw = 32, t.vl = 16, t.rm = RM_MAX;
            t.widen = type == WD_GGML_TYPE_F16 ? widen_f16_avx512 : widen_bf16_avx512;
        } else {
            t.tile = tile_avx2;
        }
    }
#endif
    const size_t npad = (N + t.vl - 1) / t.vl * t.vl;
    size_t kc = L2_PANEL_FLOATS / npad;
    kc = kc < 128 ? 128 : kc / 16 * 16;
    t.kc = kc < C ? kc : C;
    const size_t nth = tp ? (size_t)wd_threadpool_n_threads(tp) : 1;
    const size_t n_xt = npad * C, n_wb = type == WD_GGML_TYPE_F32 ? 0 : nth * RM_MAX * t.kc;
    const size_t bytes = ((n_xt + n_wb) * sizeof(float) + 63) / 64 * 64;
    float *scratch = aligned_alloc(64, bytes);
    if (!scratch) return wd__fail(WD_ERR_NOMEM, "out of memory (%zu bytes of gemm scratch)", bytes);
    t.xt = scratch;
    t.wbufs = n_wb ? scratch + n_xt : NULL;
    wd__parallel_for(tp, pack_x, &t, N * C);
    const size_t ntiles = (OC + t.rm - 1) / t.rm;
    wd__chunks_init(&t.tiles, ntiles, wd__chunk_size(ntiles, (int)nth, CHUNK_TILES), (int)nth);
    wd__parallel_for(tp, gemm_slices, &t, N * C * OC);
    free(scratch);
    return WD_OK;
}
