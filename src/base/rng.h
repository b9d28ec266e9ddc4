/*
 * base/rng.h - the one pseudo-random generator of the library: splitmix64
 * (Steele, Lea and Flood 2014). Every seeded component (sampling, attacks,
 * splits, DARE masks, the benign generator) draws from it, so that the same
 * seed gives the same numbers everywhere and on every machine.
 *
 * State is one uint64_t; seed it with any value (0 is fine).
 */
#ifndef WD_BASE_RNG_H
#define WD_BASE_RNG_H

#include <stddef.h>
#include <stdint.h>

/* The splitmix64 output function on its own: a good 64-bit mixer. */
static inline uint64_t wd__mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Next 64 random bits; advances *s. */
static inline uint64_t wd__rng_next(uint64_t *s) { return wd__mix64(*s += 0x9E3779B97F4A7C15ull); }

/* Uniform double in [0, 1) with 53 random bits. */
static inline double wd__rng_unit(uint64_t *s) { return (double)(wd__rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

/* Uniform in [0, n), n > 0 (modulo draw; the bias is below 2^-40 for n < 2^24). */
static inline size_t wd__rng_below(uint64_t *s, size_t n) { return (size_t)(wd__rng_next(s) % (uint64_t)n); }

#endif
