/*
 * base/hashmap.h - small open-addressing hash maps (linear probing, power of
 * two capacity, load factor <= 1/2) for the hot lookups of the tokenizers
 * and anything else that needs one.
 *
 *   wd__strmap: byte string -> int32. Keys are NOT copied: the caller keeps
 *              them alive (typically in an arena) as long as the map.
 *   wd__u64map: uint64 -> uint64 (e.g. a pair of ids -> rank and result).
 *
 * No deletion (nothing needs it); both grow by doubling. Lookups never
 * allocate. A map is a plain struct; zero-initialise or call *_init.
 */
#ifndef WD_BASE_HASHMAP_H
#define WD_BASE_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

/* 64-bit hash of n bytes (wyhash-style multiply-mix; not cryptographic). */
uint64_t wd__hash_bytes(const void *p, size_t n);
uint64_t wd__hash_u64(uint64_t x);

typedef struct wd__strmap_slot {
    const char *key;   /* NULL = empty */
    uint32_t    len;
    int32_t     val;
    uint64_t    hash;
} wd__strmap_slot;

typedef struct wd__strmap {
    wd__strmap_slot *slots;
    size_t          cap;   /* power of two, or 0 */
    size_t          count;
} wd__strmap;

/* Reserves room for n keys; returns WD_OK or WD_ERR_NOMEM. */
wd_status wd__strmap_init(wd__strmap *m, size_t n);
void      wd__strmap_free(wd__strmap *m);
/* Removes every key, keeping the table. */
void      wd__strmap_clear(wd__strmap *m);
/* Inserts or overwrites key -> val. Returns WD_OK or WD_ERR_NOMEM (or
 * WD_ERR_RANGE for a key longer than 4 GiB). */
wd_status wd__strmap_put(wd__strmap *m, const char *key, size_t len, int32_t val);
/* Returns true and sets *val when key is present. */
bool      wd__strmap_get(const wd__strmap *m, const char *key, size_t len, int32_t *val);

typedef struct wd__u64map_slot {
    uint64_t key;
    uint64_t val;
} wd__u64map_slot;

typedef struct wd__u64map {
    wd__u64map_slot *slots;
    uint8_t        *used;
    size_t          cap;
    size_t          count;
} wd__u64map;

wd_status wd__u64map_init(wd__u64map *m, size_t n);
void      wd__u64map_free(wd__u64map *m);
/* Inserts key -> val; when the key exists, keeps the old value unless
 * overwrite. Returns WD_OK or WD_ERR_NOMEM. */
wd_status wd__u64map_put(wd__u64map *m, uint64_t key, uint64_t val, bool overwrite);
bool      wd__u64map_get(const wd__u64map *m, uint64_t key, uint64_t *val);

#endif
