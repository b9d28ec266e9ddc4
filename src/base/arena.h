/*
 * base/arena.h - bump allocator for objects that die together (a parsed
 * header, a tokenizer's strings, a request). Memory comes in chunks; a
 * request larger than the chunk size gets a chunk of its own. Nothing is
 * freed one by one: wd__arena_reset() keeps the first chunk for reuse,
 * wd__arena_free() returns everything.
 */
#ifndef WD_BASE_ARENA_H
#define WD_BASE_ARENA_H

#include <stddef.h>

typedef struct wd__arena wd__arena;

/* Returns a new arena whose chunks hold at least chunk_size bytes
 * (0 = 64 KiB), or NULL when out of memory. Caller frees with wd__arena_free. */
wd__arena *wd__arena_new(size_t chunk_size);
void      wd__arena_free(wd__arena *a);
void      wd__arena_reset(wd__arena *a);

/* Returns n bytes aligned to align (a power of two, <= 4096), zeroed, owned
 * by the arena; NULL when out of memory or when n overflows. */
void *wd__arena_alloc(wd__arena *a, size_t n, size_t align);
char *wd__arena_strdup(wd__arena *a, const char *s);
char *wd__arena_strndup(wd__arena *a, const char *s, size_t n);

/* Bytes handed out since the last reset (for tests and stats). */
size_t wd__arena_used(const wd__arena *a);

#define WD_ARENA_NEW(a, T, n) ((T *)wd__arena_alloc((a), sizeof(T) * (n), _Alignof(T)))

#endif
