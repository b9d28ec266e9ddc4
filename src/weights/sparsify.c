/*
 * weights/sparsify.c - the two ways the task-vector merges thin a task
 * vector d = model - base (weights/merge_internal.h):
 *
 *   TIES trim (Yadav et al. 2023; mergekit's sparsify "magnitude"): keep the
 *   k = int(density * n) entries of largest |d|, zero the rest. mergekit
 *   sorts; here a radix select finds the k-th largest magnitude exactly in
 *   two passes over the tensor with two 64K-bin histograms: a non-negative
 *   float's bit pattern orders like the float, so the top 16 bits pick the
 *   bin holding the threshold and the low 16 bits (among that bin) pick the
 *   threshold itself. Entries above it are kept, and of those equal to it
 *   the lowest indices, which is what a stable descending sort keeps.
 *
 *   DARE (Yu et al. 2023, "drop and rescale"; mergekit's "random" with
 *   rescale): keep each entry with probability density, scale the kept by
 *   1 / density so the expected value is unchanged. The draw is
 *   deterministic: splitmix64 seeded per tensor and per model
 *   (wd_dare_stream in warden/weights.h documents it for other
 *   implementations; tests/tools/merge_ref.py reproduces it).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/rng.h"
#include "weights/merge_internal.h"

static inline uint32_t mag_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & 0x7fffffffu; /* |x|; NaN sorts above every number, as the largest */
}

uint64_t wd__trim_magnitude(float *d, size_t n, double density) {
    if (density >= 1.0 || n == 0) return 0;
    size_t k = density > 0 ? (size_t)(density * (double)n) : 0;
    if (k >= n) return 0;
    if (k == 0) {
        memset(d, 0, n * sizeof *d);
        return n;
    }
    /* hist[b] counts the entries whose (selected) 16 bits are b. */
    static _Thread_local uint32_t hist[65536];
    memset(hist, 0, sizeof hist);
    for (size_t j = 0; j < n; j++) hist[mag_bits(d[j]) >> 16]++;
    size_t above = 0; /* entries in bins above the threshold's */
    uint32_t hi = 65535;
    while (above + hist[hi] < k) above += hist[hi--];
    memset(hist, 0, sizeof hist);
    for (size_t j = 0; j < n; j++) {
        uint32_t u = mag_bits(d[j]);
        if (u >> 16 == hi) hist[u & 0xffffu]++;
    }
    uint32_t lo = 65535;
    while (above + hist[lo] < k) above += hist[lo--];
    uint32_t thr = hi << 16 | lo;
    size_t ties_kept = k - above; /* of the entries equal to thr, keep the first ties_kept */
    size_t tie_end = 0;            /* ... that is, those before index tie_end */
    for (size_t seen = 0; tie_end < n && seen < ties_kept; tie_end++) seen += mag_bits(d[tie_end]) == thr;
    for (size_t j = 0; j < n; j++) { /* no branch: keep or drop is random (and this vectorizes) */
        uint32_t u = mag_bits(d[j]);
        bool keep = u > thr || (u == thr && j < tie_end);
        d[j] = keep ? d[j] : 0.0f;
    }
    return n - k;
}

uint64_t wd_dare_stream(uint64_t seed, const char *tensor_name, size_t model_index) {
    const char *s = tensor_name ? tensor_name : "";
    return seed ^ wd__fnv1a(s, strlen(s)) ^ wd__mix64((uint64_t)model_index + 1);
}

uint64_t wd__dare(float *d, size_t n, double density, uint64_t seed, const char *name, size_t model) {
    if (density >= 1.0) return 0;
    uint64_t s = wd_dare_stream(seed, name, model), dropped = 0;
    float scale = density > 0 ? (float)(1.0 / density) : 0.0f;
    for (size_t j = 0; j < n; j++) { /* branch-free: a random branch would mispredict */
        bool keep = wd__rng_unit(&s) < density;
        d[j] = keep ? d[j] * scale : 0.0f;
        dropped += !keep;
    }
    return dropped;
}
