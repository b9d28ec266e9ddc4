/*
 * tensor/x86.h - the small AVX2 helpers every x86 kernel file shares
 * (internal): a horizontal sum and an F16 load. Each is compiled for
 * AVX2 + FMA + F16C, so it inlines into any kernel whose target includes
 * those (the AVX-512 ones too). Include only under WD_HAVE_X86, after
 * <immintrin.h>.
 */
#ifndef WD_TENSOR_X86_H
#define WD_TENSOR_X86_H

#include <stdint.h>
#include <string.h>

#define WD_AVX2 __attribute__((target("avx2,fma,f16c")))

/* The sum of v's 8 lanes. */
WD_AVX2 static inline float wd__hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The little-endian binary16 at p (any alignment), widened (F16C). */
WD_AVX2 static inline float wd__f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

#endif
