/*
 * tensor/xquant.c - activations to int8 blocks of 32; see xquant.h.
 *
 * The AVX-512 and AVX2 paths compute roundf as trunc(y) + (|y - trunc(y)|
 * >= 0.5 ? sign(y) : 0): y - trunc(y) is exact for |y| <= 127, so every
 * value rounds as the portable path rounds it, ties included.
 */
#include "tensor/xquant.h"

#include <float.h>
#include <math.h>

#include "tensor/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WD_HAVE_X86 1
#endif

float wd__xq_block_ref(int8_t *q, const float *x, int s[2]) {
    float amax = 0.0f;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.0f, id = d >= FLT_MIN ? 1.0f / d : 0.0f; /* 1/subnormal: inf */
    s[0] = s[1] = 0;
    for (int i = 0; i < 32; i++) {
        int v = (int)roundf(x[i] * id);
        q[i] = (int8_t)v;
        s[i / 16] += v;
    }
    return d;
}

#ifdef WD_HAVE_X86
#define K512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl")))

K512 static inline __m512i round_away(__m512 y) {
    __m512 t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(y, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(y), _mm512_set1_epi32(INT32_MIN));
    __m512 one = _mm512_castsi512_ps(_mm512_or_si512(sign, _mm512_castps_si512(_mm512_set1_ps(1.0f))));
    return _mm512_cvtps_epi32(_mm512_mask_add_ps(t, up, t, one));
}

K512 static float xq_block_avx512(int8_t *q, const float *x, int s[2]) {
    __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
    float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
    float d = amax / 127.0f, id = d >= FLT_MIN ? 1.0f / d : 0.0f;
    __m512i qlo = round_away(_mm512_mul_ps(lo, _mm512_set1_ps(id)));
    __m512i qhi = round_away(_mm512_mul_ps(hi, _mm512_set1_ps(id)));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(qlo));
    _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(qhi));
    s[0] = _mm512_reduce_add_epi32(qlo), s[1] = _mm512_reduce_add_epi32(qhi);
    return d;
}

/* The same on 256-bit registers, for CPUs without AVX-512: four vectors
 * of 8, packed to bytes (packs leave the dwords in the order 0 2 4 6 1 3 5
 * 7 of the four vectors' halves; one permute puts them back). */
#define K256 __attribute__((target("avx2,fma")))

K256 static inline __m256i round_away8(__m256 y) {
    const __m256 sgn = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sgn, _mm256_sub_ps(y, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_and_ps(y, sgn), _mm256_set1_ps(1.0f));
    return _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
}

K256 static inline int hsum8_epi32(__m256i v) {
    __m128i a = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4e));
    return _mm_cvtsi128_si32(_mm_add_epi32(a, _mm_shuffle_epi32(a, 0xb1)));
}

K256 static float xq_block_avx2(int8_t *q, const float *x, int s[2]) {
    const __m256 sgn = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + 8 * k);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sgn, v[0]), _mm256_andnot_ps(sgn, v[1])),
                             _mm256_max_ps(_mm256_andnot_ps(sgn, v[2]), _mm256_andnot_ps(sgn, v[3])));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float amax = _mm_cvtss_f32(m4);
    float d = amax / 127.0f, id = d >= FLT_MIN ? 1.0f / d : 0.0f;
    __m256i r[4];
    for (int k = 0; k < 4; k++) r[k] = round_away8(_mm256_mul_ps(v[k], _mm256_set1_ps(id)));
    __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3]));
    b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, b);
    s[0] = hsum8_epi32(_mm256_add_epi32(r[0], r[1]));
    s[1] = hsum8_epi32(_mm256_add_epi32(r[2], r[3]));
    return d;
}
#endif

wd__xq_fn wd__xq_pick(void) {
#ifdef WD_HAVE_X86
    if (wd__cpu_has(WD_CPU_AVX512F) && wd__cpu_has(WD_CPU_AVX512BW) && wd__cpu_has(WD_CPU_AVX512VL) &&
        wd__cpu_has(WD_CPU_AVX2) && wd__cpu_has(WD_CPU_FMA))
        return xq_block_avx512;
    if (wd__cpu_has(WD_CPU_AVX2) && wd__cpu_has(WD_CPU_FMA)) return xq_block_avx2;
#endif
    return wd__xq_block_ref;
}
