/*
 * tensor/cpu.c - run-time CPU feature detection through CPUID and XGETBV.
 *
 * Bits read (Intel SDM vol. 2A, CPUID; AMD's are the same positions):
 *   leaf 1 ECX:           FMA 12, OSXSAVE 27, AVX 28, F16C 29
 *   leaf 7.0 EBX:         AVX2 5, AVX512F 16, AVX512BW 30, AVX512VL 31
 *   leaf 7.0 ECX:         AVX512_VNNI 11
 *   leaf 7.1 EAX:         AVX-VNNI 4, AVX512_BF16 5
 *   XCR0 (XGETBV ecx=0):  SSE 1, AVX (YMM upper) 2, opmask 5, ZMM_Hi256 6,
 *                         Hi16_ZMM 7
 * AVX-class features need XCR0 bits 1-2; AVX-512-class ones also 5-7.
 */
#include "tensor/cpu.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define WD_CPU_X86 1
#endif

static const char *const names[WD_CPU_N_FEATURES] = {
    [WD_CPU_AVX] = "avx",
    [WD_CPU_AVX2] = "avx2",
    [WD_CPU_FMA] = "fma",
    [WD_CPU_F16C] = "f16c",
    [WD_CPU_AVX512F] = "avx512f",
    [WD_CPU_AVX512BW] = "avx512bw",
    [WD_CPU_AVX512VL] = "avx512vl",
    [WD_CPU_AVX512VNNI] = "avx512vnni",
    [WD_CPU_AVX512BF16] = "avx512bf16",
    [WD_CPU_AVXVNNI] = "avxvnni",
};

static bool have[WD_CPU_N_FEATURES];
static pthread_once_t once = PTHREAD_ONCE_INIT;

#ifdef WD_CPU_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect_x86(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    unsigned ecx1 = c;
    bool osxsave = (ecx1 >> 27) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool ymm = (xcr0 & 0x6) == 0x6;
    bool zmm = ymm && (xcr0 & 0xE0) == 0xE0;

    unsigned ebx7 = 0, ecx7 = 0, eax71 = 0;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        ebx7 = b;
        ecx7 = c;
        unsigned max_sub = a;
        if (max_sub >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            eax71 = a;
        }
    }
    have[WD_CPU_AVX] = ymm && ((ecx1 >> 28) & 1);
    have[WD_CPU_FMA] = have[WD_CPU_AVX] && ((ecx1 >> 12) & 1);
    have[WD_CPU_F16C] = have[WD_CPU_AVX] && ((ecx1 >> 29) & 1);
    have[WD_CPU_AVX2] = have[WD_CPU_AVX] && ((ebx7 >> 5) & 1);
    have[WD_CPU_AVXVNNI] = have[WD_CPU_AVX2] && ((eax71 >> 4) & 1);
    have[WD_CPU_AVX512F] = zmm && ((ebx7 >> 16) & 1);
    have[WD_CPU_AVX512BW] = have[WD_CPU_AVX512F] && ((ebx7 >> 30) & 1);
    have[WD_CPU_AVX512VL] = have[WD_CPU_AVX512F] && ((ebx7 >> 31) & 1);
    have[WD_CPU_AVX512VNNI] = have[WD_CPU_AVX512F] && ((ecx7 >> 11) & 1);
    have[WD_CPU_AVX512BF16] = have[WD_CPU_AVX512F] && ((eax71 >> 5) & 1);
}
#endif

/* Clears every feature named in the comma-separated list s. */
static void apply_disable(const char *s) {
    while (s && *s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        for (int f = 0; f < WD_CPU_N_FEATURES; f++)
            if (strlen(names[f]) == n && !strncmp(names[f], s, n)) have[f] = false;
        s = e ? e + 1 : NULL;
    }
}

static void detect(void) {
#ifdef WD_CPU_X86
    detect_x86();
#endif
    apply_disable(getenv("WD_CPU_DISABLE"));
}

bool wd__cpu_has(wd__cpu_feature f) {
    if ((unsigned)f >= WD_CPU_N_FEATURES) return false;
    pthread_once(&once, detect);
    return have[f];
}

const char *wd__cpu_feature_name(wd__cpu_feature f) {
    return (unsigned)f < WD_CPU_N_FEATURES ? names[f] : "?";
}

bool wd__cpu_has_avx2_fma(void) {
    return wd__cpu_has(WD_CPU_AVX2) && wd__cpu_has(WD_CPU_FMA) && wd__cpu_has(WD_CPU_F16C);
}

bool wd__cpu_has_avx512_vnni(void) {
    return wd__cpu_has_avx2_fma() && wd__cpu_has(WD_CPU_AVX512F) && wd__cpu_has(WD_CPU_AVX512BW) &&
           wd__cpu_has(WD_CPU_AVX512VL) && wd__cpu_has(WD_CPU_AVX512VNNI);
}
