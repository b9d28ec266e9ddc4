/*
 * tensor/cpu.h - which instruction sets this CPU and its OS let kernels use
 * (internal).
 *
 * Kernels are compiled for the baseline target and carry faster variants in
 * functions marked __attribute__((target("..."))); they pick one at run time
 * with wd__cpu_has(). The answer comes from CPUID and, for the vector
 * register files, from XGETBV (the OS must save the YMM/ZMM state, or the
 * instructions fault even where CPUID lists them). It does not depend on the
 * compiler's __builtin_cpu_supports names, which differ between GCC and
 * clang versions. On other architectures every feature reads as absent and
 * the portable kernels run.
 *
 * WD_CPU_DISABLE (environment, read once) turns features off by name, e.g.
 * WD_CPU_DISABLE=avx512f,f16c, to test the fallbacks on a machine that has
 * them.
 */
#ifndef WD_TENSOR_CPU_H
#define WD_TENSOR_CPU_H

#include <stdbool.h>

typedef enum wd__cpu_feature {
    WD_CPU_AVX,
    WD_CPU_AVX2,
    WD_CPU_FMA,
    WD_CPU_F16C,
    WD_CPU_AVX512F,
    WD_CPU_AVX512BW,
    WD_CPU_AVX512VL,
    WD_CPU_AVX512VNNI,
    WD_CPU_AVX512BF16,
    WD_CPU_AVXVNNI,
    WD_CPU_N_FEATURES
} wd__cpu_feature;

/* True when the CPU has feature f and the OS saves the registers it uses. */
bool wd__cpu_has(wd__cpu_feature f);

/* AVX2 with FMA and F16C: the base of every x86 kernel. */
bool wd__cpu_has_avx2_fma(void);

/* That and AVX-512 F, BW, VL and VNNI: the 512-bit int8 kernels
 * (tensor/qgemv.c, tensor/qgemm.c). */
bool wd__cpu_has_avx512_vnni(void);

/* The feature's lower-case name ("avx512vnni"), as WD_CPU_DISABLE spells it. */
const char *wd__cpu_feature_name(wd__cpu_feature f);

#endif
