/*
 * tests/unit/test_convert.c - F16 / BF16 <-> F32 conversions.
 *
 * Independent expectations, not the code's own output:
 *   - every one of the 65536 F16 bit patterns widens to the value the
 *     format defines, computed here with ldexp() from sign, exponent and
 *     mantissa (NaNs: still NaN, same sign, payload kept and made quiet);
 *   - the dispatched path (F16C where the CPU has it) equals the scalar
 *     path bit for bit on all 65536 patterns and on narrowing;
 *   - narrowing is checked against a rounding done in double arithmetic:
 *     for each F16 value v the midpoints to its neighbours must round to
 *     the even one, values a hair above/below a midpoint go to the nearer,
 *     and random floats round to the nearest F16 computed by search;
 *   - BF16 on its edge cases (zeros, subnormals, inf, NaN, ties, overflow);
 *   - the run-time CPU features (tensor/cpu.h) against the flags the Linux
 *     kernel lists in /proc/cpuinfo.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/cpu.h"
#include "testutil.h"

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The value an F16 pattern denotes, from the format's definition. */
static double f16_value(uint16_t h) {
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

static void test_f16_to_f32_exhaustive(void **state) {
    uint16_t *in = malloc(65536 * sizeof *in);
    float *fast = malloc(65536 * sizeof *fast), *ref = malloc(65536 * sizeof *ref);
    for (uint32_t i = 0; i < 65536; i++) in[i] = (uint16_t)i;
    wd_f16_to_f32(fast, in, 65536);
    wd_f16_to_f32_ref(ref, in, 65536);
    for (uint32_t i = 0; i < 65536; i++) {
        if (fbits(fast[i]) != fbits(ref[i]))
            fail_msg("f16 0x%04x: dispatched 0x%08x != scalar 0x%08x", i, fbits(fast[i]),
                     fbits(ref[i]));
        int e = (i >> 10) & 31, m = i & 1023;
        if (e == 31 && m) { /* NaN: sign kept, payload kept in the top bits, quiet */
            uint32_t b = fbits(ref[i]);
            assert_true(isnan(ref[i]));
            assert_int_equal(b >> 31, i >> 15);
            assert_int_equal((b >> 13) & 0x1ff, m & 0x1ff);
            assert_true(b & 0x400000u);
        } else if (e == 31) {
            assert_true(isinf(ref[i]));
            assert_int_equal(signbit(ref[i]) != 0, (i >> 15) != 0);
        } else {
            if ((double)ref[i] != f16_value((uint16_t)i))
                fail_msg("f16 0x%04x widened to %.9g, expected %.9g", i, ref[i],
                         f16_value((uint16_t)i));
            assert_int_equal(signbit(ref[i]) != 0, (i >> 15) != 0); /* -0 stays -0 */
        }
    }
    /* odd lengths exercise the F16C tail */
    for (size_t n = 0; n < 20; n++) {
        float a[20], b[20];
        wd_f16_to_f32(a, in + 0x3c00 - 3, n);
        wd_f16_to_f32_ref(b, in + 0x3c00 - 3, n);
        assert_memory_equal(a, b, n * sizeof(float));
    }
    free(in), free(fast), free(ref);
}

/* Nearest F16 to x by the definition: search the finite values, ties to the
 * even mantissa; beyond 65520 (max + half an ulp) infinity. Only for finite,
 * non-NaN x. */
static uint16_t f16_nearest(double x) {
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    double a = fabs(x);
    if (a >= 65520.0) return sign | 0x7c00;
    /* binary search on the ordered positive patterns 0x0000..0x7bff */
    uint16_t lo = 0, hi = 0x7bff;
    while (lo < hi) { /* smallest pattern with value >= a */
        uint16_t mid = (uint16_t)((lo + hi) / 2);
        if (f16_value(mid) >= a) hi = mid;
        else lo = (uint16_t)(mid + 1);
    }
    if (f16_value(lo) == a || lo == 0) return sign | lo;
    uint16_t below = (uint16_t)(lo - 1);
    double db = a - f16_value(below), da = f16_value(lo) - a;
    if (db < da) return sign | below;
    if (da < db) return sign | lo;
    return sign | ((below & 1) ? lo : below);
}

static void check_narrow(const float *x, size_t n) {
    uint16_t *fast = malloc(n * 2), *ref = malloc(n * 2);
    wd_f32_to_f16(fast, x, n);
    wd_f32_to_f16_ref(ref, x, n);
    for (size_t i = 0; i < n; i++) {
        if (fast[i] != ref[i])
            fail_msg("f32 %a (0x%08x): dispatched 0x%04x != scalar 0x%04x", x[i], fbits(x[i]),
                     fast[i], ref[i]);
        if (isnan(x[i])) {
            assert_int_equal(ref[i] & 0x7e00, 0x7e00);
            assert_int_equal(ref[i] >> 15, fbits(x[i]) >> 31);
        } else if (ref[i] != f16_nearest(x[i])) {
            fail_msg("f32 %a: got 0x%04x, nearest is 0x%04x", x[i], ref[i], f16_nearest(x[i]));
        }
    }
    free(fast), free(ref);
}

static void test_f32_to_f16(void **state) {
    /* round trip of every non-NaN F16 value, and its midpoints */
    size_t cap = 65536 * 5, n = 0;
    float *x = malloc(cap * sizeof *x);
    for (uint32_t h = 0; h < 65536; h++) {
        if (((h >> 10) & 31) == 31 && (h & 1023)) continue;
        double v = f16_value((uint16_t)h);
        if (((h >> 10) & 31) == 31) v = (h >> 15) ? -INFINITY : INFINITY;
        x[n++] = (float)v;
        if ((h & 0x7fff) < 0x7c00) { /* finite: midpoint to the next value up */
            double next = (h & 0x7fff) == 0x7bff ? 65536.0 : f16_value((uint16_t)((h & 0x7fff) + 1));
            double mid = (fabs(v) + next) / 2; /* exact in float: 12 significant bits */
            float fm = (float)((h >> 15) ? -mid : mid);
            assert_true((double)fabsf(fm) == mid);
            x[n++] = fm;
            x[n++] = nextafterf(fm, 0.0f);
            x[n++] = nextafterf(fm, (h >> 15) ? -INFINITY : INFINITY);
        }
    }
    check_narrow(x, n);
    /* round trip exactly */
    {
        uint16_t h16[4] = {0x0001, 0x03ff, 0x7bff, 0xfbff};
        float f[4];
        uint16_t back[4];
        wd_f16_to_f32(f, h16, 4);
        wd_f32_to_f16(back, f, 4);
        assert_memory_equal(back, h16, sizeof h16);
    }
    /* random bit patterns over the whole float range, and random small ones */
    uint64_t seed = 42;
    for (size_t i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)wdt_rand(&seed);
        if (i % 2) u = (u & 0x80000000u) | (0x33000000u + (u & 0x0fffffffu) % 0x15000000u);
        x[i] = bitsf(u);
    }
    check_narrow(x, 200000);
    /* NaNs: quiet, signed, top payload kept (as F16C) */
    float nans[4] = {bitsf(0x7f800001u), bitsf(0xffc00000u), bitsf(0x7fbfe000u), NAN};
    check_narrow(nans, 4);
    uint16_t hn[4];
    wd_f32_to_f16(hn, nans, 4);
    assert_int_equal(hn[0], 0x7e00);
    assert_int_equal(hn[1], 0xfe00);
    assert_int_equal(hn[2], 0x7fff);
    free(x);
}

static void test_bf16(void **state) {
    /* widening is the 16-bit shift for every pattern */
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t in = (uint16_t)h;
        float a, b;
        wd_bf16_to_f32(&a, &in, 1);
        wd_bf16_to_f32_ref(&b, &in, 1);
        assert_int_equal(fbits(a), h << 16);
        assert_int_equal(fbits(b), h << 16);
    }
    struct { uint32_t f; uint16_t bf; } cases[] = {
        {0x00000000u, 0x0000}, {0x80000000u, 0x8000},     /* zeros */
        {0x3f800000u, 0x3f80},                             /* 1.0 */
        {0x3f808000u, 0x3f80},                             /* tie, even stays */
        {0x3f818000u, 0x3f82},                             /* tie, odd rounds up */
        {0x3f808001u, 0x3f81},                             /* just above the tie */
        {0x3f807fffu, 0x3f80},                             /* just below */
        {0x00000001u, 0x0000},                             /* smallest subnormal */
        {0x00008000u, 0x0000},                             /* subnormal tie to even 0 */
        {0x00018000u, 0x0002},                             /* subnormal tie to even 2 */
        {0x007fffffu, 0x0080},                             /* max subnormal -> min normal */
        {0x7f7fffffu, 0x7f80},                             /* max float overflows to inf */
        {0x7f7f7fffu, 0x7f7f},                             /* stays finite */
        {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80},     /* infinities */
        {0x7fc00000u, 0x7fc0}, {0xffc00001u, 0x7fc0},     /* NaNs -> canonical */
        {0x7f800001u, 0x7fc0},                             /* sNaN must not become inf */
        {0xc0490fdbu, 0xc049},                             /* -pi */
    };
    size_t nc = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < nc; i++) {
        float f = bitsf(cases[i].f);
        uint16_t a, b;
        wd_f32_to_bf16(&a, &f, 1);
        wd_f32_to_bf16_ref(&b, &f, 1);
        if (a != cases[i].bf || b != cases[i].bf)
            fail_msg("bf16 of 0x%08x: fast 0x%04x ref 0x%04x, expected 0x%04x", cases[i].f, a, b,
                     cases[i].bf);
    }
    /* fast == ref on random patterns, and nearest in value */
    uint64_t seed = 7;
    for (int i = 0; i < 100000; i++) {
        float f = bitsf((uint32_t)wdt_rand(&seed));
        uint16_t a, b;
        wd_f32_to_bf16(&a, &f, 1);
        wd_f32_to_bf16_ref(&b, &f, 1);
        assert_int_equal(a, b);
        if (isnan(f) || isinf(f)) continue;
        /* the two bf16 values around f: t (toward zero) and the next one out */
        uint32_t t = fbits(f) & 0xffff0000u;
        if (((t + 0x10000u) & 0x7f800000u) == 0x7f800000u) continue; /* overflow: cases above */
        double dt = fabs((double)bitsf(t) - f), du = fabs((double)bitsf(t + 0x10000u) - f);
        uint16_t want = (uint16_t)(t >> 16);
        if (du < dt || (du == dt && (want & 1))) want++;
        assert_int_equal(a, want);
    }
}

/* Linux lists a feature in /proc/cpuinfo only when the CPU has it and the
 * kernel enabled its register state: the same question wd__cpu_has asks. */
static void test_cpu_features(void **state) {
    (void)state;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) skip();
    char line[8192];
    bool found = false;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5)) {
            found = true;
            break;
        }
    fclose(f);
    if (!found) skip();
    static const struct {
        wd__cpu_feature f;
        const char *linux_name;
    } map[] = {
        {WD_CPU_AVX, "avx"},          {WD_CPU_AVX2, "avx2"},
        {WD_CPU_FMA, "fma"},          {WD_CPU_F16C, "f16c"},
        {WD_CPU_AVX512F, "avx512f"},  {WD_CPU_AVX512BW, "avx512bw"},
        {WD_CPU_AVX512VL, "avx512vl"}, {WD_CPU_AVX512VNNI, "avx512_vnni"},
        {WD_CPU_AVX512BF16, "avx512_bf16"}, {WD_CPU_AVXVNNI, "avx_vnni"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, " %s", map[i].linux_name);
        const char *p = line;
        bool listed = false;
        size_t n = strlen(want);
        while ((p = strstr(p, want))) {
            if (p[n] == ' ' || p[n] == '\n' || p[n] == 0) {
                listed = true;
                break;
            }
            p += n;
        }
        if (listed != wd__cpu_has(map[i].f))
            fail_msg("%s: /proc/cpuinfo says %d, wd__cpu_has says %d",
                     wd__cpu_feature_name(map[i].f), listed, wd__cpu_has(map[i].f));
    }
    assert_false(wd__cpu_has(WD_CPU_N_FEATURES));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_to_f32_exhaustive),
        cmocka_unit_test(test_f32_to_f16),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_cpu_features),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
