/*
 * base/arena.c - chunked bump allocator (see base/arena.h).
 *
 *   arena -> chunk(head, newest) -> chunk -> ... -> chunk(first)
 *            [hdr | used ... | free ]
 */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t        cap;
    size_t        used;
    _Alignas(16) unsigned char data[];
} chunk;

struct wd__arena {
    chunk *head;
    size_t chunk_size;
    size_t total_used;
};

static chunk *chunk_new(size_t cap) {
    if (cap > SIZE_MAX - sizeof(chunk)) return NULL;
    chunk *c = malloc(sizeof(chunk) + cap);
    if (!c) return NULL;
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

wd__arena *wd__arena_new(size_t chunk_size) {
    wd__arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->chunk_size = chunk_size ? chunk_size : (size_t)64 << 10;
    return a;
}

void wd__arena_free(wd__arena *a) {
    if (!a) return;
    for (chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(a);
}

void wd__arena_reset(wd__arena *a) {
    if (!a || !a->head) return;
    chunk *c = a->head;
    while (c->next) { /* keep the oldest chunk only */
        chunk *n = c->next;
        free(c);
        c = n;
    }
    c->used = 0;
    a->head = c;
    a->total_used = 0;
}

void *wd__arena_alloc(wd__arena *a, size_t n, size_t align) {
    if (!a || align == 0 || (align & (align - 1)) || align > 4096) return NULL;
    if (n == 0) n = 1;
    chunk *c = a->head;
    if (c) {
        uintptr_t base = (uintptr_t)c->data;
        uintptr_t p = (base + c->used + (align - 1)) & ~(uintptr_t)(align - 1);
        size_t off = p - base;
        if (off <= c->cap && n <= c->cap - off) {
            c->used = off + n;
            a->total_used += n;
            memset((void *)p, 0, n);
            return (void *)p;
        }
    }
    if (n > SIZE_MAX - align) return NULL;
    size_t need = n + align;
    chunk *nc = chunk_new(need > a->chunk_size ? need : a->chunk_size);
    if (!nc) return NULL;
    nc->next = a->head;
    a->head = nc;
    uintptr_t base = (uintptr_t)nc->data;
    uintptr_t p = (base + (align - 1)) & ~(uintptr_t)(align - 1);
    nc->used = (p - base) + n;
    a->total_used += n;
    memset((void *)p, 0, n);
    return (void *)p;
}

char *wd__arena_strndup(wd__arena *a, const char *s, size_t n) {
    char *d = wd__arena_alloc(a, n + 1, 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *wd__arena_strdup(wd__arena *a, const char *s) {
    return wd__arena_strndup(a, s, strlen(s));
}

size_t wd__arena_used(const wd__arena *a) { return a ? a->total_used : 0; }
