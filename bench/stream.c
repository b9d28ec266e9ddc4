/*
 * bench/stream.c - how fast this machine streams memory it only reads: the
 * bound on decoding, which reads every weight once a token.
 *
 *   bench_stream [--threads N] [--mib M] [--json]
 *
 * Fills M MiB (default 1024: far past any cache, like a model's weights),
 * then sums it N threads at a time (default: the CPUs online), each thread
 * a contiguous slice, 64-bit words in independent chains (on 256-bit
 * registers with AVX2) so the adds do not limit it. Prints the median of 7 passes after one warm-up, in GB/s
 * (10^9 bytes), and the best pass. bench/vs-llamacpp.sh runs it next to
 * each decoding test, so that "decode GB/s / stream GB/s" compares two
 * figures of the same minute on a machine whose bandwidth drifts.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "tensor/cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
/* The same sum on 256-bit registers, four chains: scalar loads alone
 * leave a core short of what it can pull from memory. */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint64_t *p, size_t n) {
    __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 4; k++) a[k] = _mm256_add_epi64(a[k], _mm256_loadu_si256((const __m256i *)(p + i + 4 * k)));
    uint64_t lanes[4], s = 0;
    _mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(_mm256_add_epi64(a[0], a[1]), _mm256_add_epi64(a[2], a[3])));
    for (int k = 0; k < 4; k++) s += lanes[k];
    for (; i < n; i++) s += p[i];
    return s;
}
#endif

typedef struct slice {
    const uint64_t *p;
    size_t          n;
    uint64_t        sum;
} slice;

static void *sum_slice(void *arg) {
    slice *s = arg;
#if defined(__x86_64__)
    if (wd__cpu_has_avx2_fma()) {
        s->sum = sum_avx2(s->p, s->n);
        return NULL;
    }
#endif
    uint64_t a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= s->n; i += 8)
        for (int k = 0; k < 8; k++) a[k] += s->p[i + k];
    for (; i < s->n; i++) a[0] += s->p[i];
    for (int k = 1; k < 8; k++) a[0] += a[k];
    s->sum = a[0];
    return NULL;
}

static double pass(const uint64_t *buf, size_t n, long threads) {
    pthread_t th[256];
    slice sl[256];
    double t0 = wdb_now();
    for (long t = 0; t < threads; t++) {
        size_t lo = n / (size_t)threads * (size_t)t, hi = t + 1 == threads ? n : n / (size_t)threads * (size_t)(t + 1);
        sl[t] = (slice){buf + lo, hi - lo, 0};
        if (pthread_create(&th[t], NULL, sum_slice, &sl[t])) {
            sum_slice(&sl[t]);
            th[t] = 0;
        }
    }
    uint64_t total = 0;
    for (long t = 0; t < threads; t++) {
        if (th[t]) pthread_join(th[t], NULL);
        total += sl[t].sum;
    }
    double dt = wdb_now() - t0;
    if (total == 1) puts(""); /* keeps the sums */
    return (double)n * sizeof *buf / dt / 1e9;
}

int main(int argc, char **argv) {
    long threads = 0, mib = 1024;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atol(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc) mib = atol(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: bench_stream [--threads N] [--mib M] [--json]\n");
            return 2;
        }
    }
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > 256) threads = 256;
    if (mib < 1) mib = 1;
    size_t n = (size_t)mib << 17; /* 64-bit words */
    uint64_t *buf = malloc(n * sizeof *buf);
    if (!buf) {
        fprintf(stderr, "bench_stream: cannot allocate %ld MiB\n", mib);
        return 3;
    }
    for (size_t i = 0; i < n; i++) buf[i] = i;
    pass(buf, n, threads);
    double g[7];
    for (int r = 0; r < 7; r++) g[r] = pass(buf, n, threads);
    double best = 0;
    for (int r = 0; r < 7; r++) best = g[r] > best ? g[r] : best;
    double med = wdb_median(g, 7);
    if (json)
        printf("{\"threads\":%ld,\"mib\":%ld,\"gbs\":%.2f,\"best_gbs\":%.2f}\n", threads, mib, med, best);
    else
        printf("bench_stream: %ld MiB, %ld threads: %.1f GB/s (median of 7), best %.1f\n", mib, threads, med, best);
    free(buf);
    return 0;
}
