/*
 * bench/benchutil.h - timing for benchmarks: warm up, repeat, report medians.
 */
#ifndef WD_BENCHUTIL_H
#define WD_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic seconds. */
double wdb_now(void);
/* Median of n samples (reorders x). */
double wdb_median(double *x, size_t n);
/* Percentile p in [0,100] of n samples (reorders x). */
double wdb_percentile(double *x, size_t n, double p);

/* A Llama-family shape: hidden C, layers L, intermediate F, heads H, kv
 * heads KV, vocabulary V. */
typedef struct wdb_shape {
    long C, L, F, H, KV, V;
} wdb_shape;

/* TinyLlama's shape: 1.1 B parameters, 4.4 GB of F32. */
#define WDB_TINYLLAMA ((wdb_shape){.C = 2048, .L = 22, .F = 5632, .H = 32, .KV = 4, .V = 32000})

/* splitmix64. */
uint64_t wdb_rng_next(uint64_t *s);
/* x[0..n) uniform in [-scale, scale) from the stream s. */
void wdb_fill(float *x, size_t n, float scale, uint64_t *s);

/* Writes a random F32 Llama checkpoint of shape s into dir (existing):
 * config.json, one shard for embeddings + norm + lm_head and one per layer,
 * model.safetensors.index.json. Returns 0 on success. */
int wdb_gen_llama(const char *dir, const wdb_shape *s);

/* wdb_gen_llama in a child process, so that the caller's peak RSS does not
 * count the writer's buffers. Returns 0 on success. */
int wdb_gen_llama_child(const char *dir, const wdb_shape *s);

/* Copies the file from to the file to (created or truncated). 0 on
 * success. */
int wdb_copy_file(const char *from, const char *to);

/* Removes the files of dir, then dir. */
void wdb_rm_dir(const char *dir);

#endif
