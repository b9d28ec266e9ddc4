/*
 * tensor/convert.c - IEEE binary16 (F16) and bfloat16 (BF16) to and from
 * float32, for checkpoints stored in half precision (every weight is
 * computed in F32, see DESIGN.md).
 *
 *   binary16: 1 sign | 5 exponent (bias 15) | 10 mantissa; exponent 0 holds
 *             zeros and subnormals (m * 2^-24), exponent 31 inf and NaN.
 *   bfloat16: the top 16 bits of a float32.
 *
 * Every F16 and BF16 value is exactly representable as F32, so widening is
 * exact; narrowing rounds to nearest, ties to even. NaN handling follows the
 * hardware: F16C quietens a signalling NaN and keeps sign and payload
 * (narrowing keeps the top 10 payload bits); BF16 narrowing returns torch's
 * canonical 0x7FC0. The scalar functions are the portable path and the
 * reference; on x86 the F16 ones switch at run time to F16C (8 values per
 * instruction) when the CPU has it (tensor/cpu.h), via a target("f16c")
 * function, so one binary runs everywhere. tests/unit/test_convert.c checks all 65536 F16
 * values against the scalar path and against their mathematical value.
 */
#include <math.h>
#include <string.h>

#include "tensor/cpu.h"
#include "warden/ops.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WD_HAVE_F16C_PATH 1
#endif

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* ==== Scalar reference =================================================== */

static inline float f16_to_f32_1(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        /* subnormal m * 2^-24: shift the leading 1 up to the implicit bit */
        uint32_t e = 0;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e++;
        }
        return bits_f32(sign | ((113u - e) << 23) | ((mant & 0x3ffu) << 13));
    }
    if (exp == 31) /* inf, or NaN made quiet */
        return bits_f32(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0));
    return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

/* Shift right by s (1..31) rounding to nearest, ties to even. */
static inline uint32_t shift_rne(uint32_t v, unsigned s) {
    uint32_t r = v >> s, rem = v & ((1u << s) - 1), half = 1u << (s - 1);
    return r + (rem > half || (rem == half && (r & 1u)));
}

static inline uint16_t f32_to_f16_1(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) /* inf, or NaN: quiet, top payload bits */
        return a == 0x7f800000u ? sign | 0x7c00u
                                : (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to inf */
    if (a < 0x38800000u) {                       /* below 2^-14: subnormal or 0 */
        if (a <= 0x33000000u) return sign;       /* <= 2^-25 rounds to 0 */
        uint32_t mant = (a & 0x7fffffu) | 0x800000u;
        unsigned shift = 126u - (a >> 23); /* to units of 2^-24 */
        return (uint16_t)(sign | shift_rne(mant, shift));
    }
    return (uint16_t)(sign | shift_rne(a - 0x38000000u, 13)); /* rebias 127 -> 15 */
}

static inline uint16_t f32_to_bf16_1(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

void wd_f16_to_f32_ref(float *out, const uint16_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f16_to_f32_1(in[i]);
}

void wd_f32_to_f16_ref(uint16_t *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f32_to_f16_1(in[i]);
}

void wd_bf16_to_f32_ref(float *out, const uint16_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = bits_f32((uint32_t)in[i] << 16);
}

void wd_f32_to_bf16_ref(uint16_t *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f32_to_bf16_1(in[i]);
}

/* ==== F16C =============================================================== */

#ifdef WD_HAVE_F16C_PATH
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(float *out, const uint16_t *in,
                                                               size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    for (; i < n; i++) out[i] = f16_to_f32_1(in[i]);
}

__attribute__((target("avx,f16c"))) static void f32_to_f16_f16c(uint16_t *out, const float *in,
                                                               size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = f32_to_f16_1(in[i]);
}

static int have_f16c(void) {
    return wd__cpu_has(WD_CPU_F16C); /* implies AVX with the YMM state saved */
}
#endif

/* ==== Dispatch =========================================================== */

void wd_f16_to_f32(float *out, const uint16_t *in, size_t n) {
#ifdef WD_HAVE_F16C_PATH
    if (have_f16c()) {
        f16_to_f32_f16c(out, in, n);
        return;
    }
#endif
    wd_f16_to_f32_ref(out, in, n);
}

void wd_f32_to_f16(uint16_t *out, const float *in, size_t n) {
#ifdef WD_HAVE_F16C_PATH
    if (have_f16c()) {
        f32_to_f16_f16c(out, in, n);
        return;
    }
#endif
    wd_f32_to_f16_ref(out, in, n);
}

/* BF16 needs no special instructions: these loops are branch-free so the
 * compiler vectorizes them. */
void wd_bf16_to_f32(float *out, const uint16_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)in[i] << 16;
        memcpy(out + i, &u, sizeof u);
    }
}

void wd_f32_to_bf16(uint16_t *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, in + i, sizeof v);
        uint16_t r = (uint16_t)((v + 0x7fffu + ((v >> 16) & 1u)) >> 16);
        out[i] = (v & 0x7fffffffu) > 0x7f800000u ? (uint16_t)0x7fc0u : r;
    }
}
