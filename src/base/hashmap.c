/*
 * base/hashmap.c - open-addressing hash maps (see base/hashmap.h).
 *
 * Linear probing over a power-of-two table kept at most half full, so a
 * miss ends after a short run. The full 64-bit hash is stored beside each
 * string key, so probes compare strings only when the hashes agree.
 */
#include "base/hashmap.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t mix(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

uint64_t wd__hash_bytes(const void *data, size_t n) {
    const unsigned char *p = data;
    const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
    uint64_t h = 0x8bb84b93962eacc9ull ^ (uint64_t)n * k1;
    while (n >= 16) {
        h = mix(rd64(p) ^ k0, rd64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        a = rd64(p);
        b = rd64(p + n - 8);
    } else if (n > 0) {
        for (size_t i = 0; i < n; i++) a |= (uint64_t)p[i] << (8 * i);
        b = a >> 3;
    }
    return mix(a ^ k0 ^ h, b ^ k1);
}

uint64_t wd__hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t cap_for(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n + 2) cap *= 2;
    return cap;
}

/* ==== string -> int32 ==================================================== */

wd_status wd__strmap_init(wd__strmap *m, size_t n) {
    memset(m, 0, sizeof *m);
    size_t cap = cap_for(n);
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) return WD_ERR_NOMEM;
    m->cap = cap;
    return WD_OK;
}

void wd__strmap_free(wd__strmap *m) {
    if (!m) return;
    free(m->slots);
    memset(m, 0, sizeof *m);
}

void wd__strmap_clear(wd__strmap *m) {
    if (m->slots) memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->count = 0;
}

static wd_status strmap_grow(wd__strmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    wd__strmap_slot *s = calloc(cap, sizeof *s);
    if (!s) return WD_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (s[j].key) j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return WD_OK;
}

wd_status wd__strmap_put(wd__strmap *m, const char *key, size_t len, int32_t val) {
    if (len > UINT32_MAX) return WD_ERR_RANGE;
    if (2 * (m->count + 1) > m->cap) {
        wd_status st = strmap_grow(m);
        if (st) return st;
    }
    uint64_t h = wd__hash_bytes(key, len);
    size_t j = h & (m->cap - 1);
    while (m->slots[j].key) {
        wd__strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && !memcmp(s->key, key, len)) {
            s->val = val;
            return WD_OK;
        }
        j = (j + 1) & (m->cap - 1);
    }
    /* A zero-length key still needs a non-NULL pointer to mark the slot. */
    m->slots[j].key = key ? key : "";
    m->slots[j].len = (uint32_t)len;
    m->slots[j].val = val;
    m->slots[j].hash = h;
    m->count++;
    return WD_OK;
}

bool wd__strmap_get(const wd__strmap *m, const char *key, size_t len, int32_t *val) {
    if (!m->cap) return false;
    uint64_t h = wd__hash_bytes(key, len);
    size_t j = h & (m->cap - 1);
    while (m->slots[j].key) {
        const wd__strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && !memcmp(s->key, key, len)) {
            *val = s->val;
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

/* ==== uint64 -> uint64 =================================================== */

wd_status wd__u64map_init(wd__u64map *m, size_t n) {
    memset(m, 0, sizeof *m);
    size_t cap = cap_for(n);
    m->slots = malloc(cap * sizeof *m->slots);
    m->used = calloc(cap, 1);
    if (!m->slots || !m->used) {
        free(m->slots);
        free(m->used);
        memset(m, 0, sizeof *m);
        return WD_ERR_NOMEM;
    }
    m->cap = cap;
    return WD_OK;
}

void wd__u64map_free(wd__u64map *m) {
    if (!m) return;
    free(m->slots);
    free(m->used);
    memset(m, 0, sizeof *m);
}

static wd_status u64map_grow(wd__u64map *m) {
    wd__u64map n;
    wd_status st = wd__u64map_init(&n, m->cap ? m->cap : 8);
    if (st) return st;
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i]) wd__u64map_put(&n, m->slots[i].key, m->slots[i].val, true);
    wd__u64map_free(m);
    *m = n;
    return WD_OK;
}

wd_status wd__u64map_put(wd__u64map *m, uint64_t key, uint64_t val, bool overwrite) {
    if (2 * (m->count + 1) > m->cap) {
        wd_status st = u64map_grow(m);
        if (st) return st;
    }
    size_t j = wd__hash_u64(key) & (m->cap - 1);
    while (m->used[j]) {
        if (m->slots[j].key == key) {
            if (overwrite) m->slots[j].val = val;
            return WD_OK;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->used[j] = 1;
    m->slots[j].key = key;
    m->slots[j].val = val;
    m->count++;
    return WD_OK;
}

bool wd__u64map_get(const wd__u64map *m, uint64_t key, uint64_t *val) {
    if (!m->cap) return false;
    size_t j = wd__hash_u64(key) & (m->cap - 1);
    while (m->used[j]) {
        if (m->slots[j].key == key) {
            *val = m->slots[j].val;
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}
