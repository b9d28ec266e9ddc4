/*
 * explain/audit_minhash.c - the duplicate finders of the corpus audit.
 *
 * MinHash (Broder 1997): for a set S of shingles and a random hash h,
 * P[min h(S) = min h(T)] = |S & T| / |S | T| = J(S,T), so the share of
 * equal minima over K independent functions estimates J with standard
 * error sqrt(J(1-J)/K). The functions are Dietzfelbinger's multiply-add-
 * shift, h_k(x) = (a_k x + b_k mod 2^64) >> 32 on a 32-bit fold of the
 * shingle hash, with a_k (odd) and b_k drawn once from splitmix64: a
 * strongly universal family, cheap enough to vectorise (K = 128 per
 * shingle).
 *
 * Only the 8 low bits of each minimum are kept (b-bit MinHash, Li & Koenig
 * 2010): unrelated values then agree with probability 1/256, which
 * wd__minhash_jaccard8 subtracts.
 *
 * LSH (banding): the 128 bytes are cut into 21 bands of 6; two records are
 * candidates when all 6 bytes of some band agree, probability
 * 1 - (1 - J^6)^21 (up to the 1/256 chance agreement per byte). Each band
 * has one open-addressing table of record slots (uint32, 0 = empty); a
 * band's key is its 6 bytes, compared against the stored signature, so the
 * tables hold no keys: 4 bytes a slot, at most 3/4 full.
 *
 *     sig   [n][128] uint8     band b's table: slot -> index+1 of a record
 *     record[n] uint64                         whose bytes [6b, 6b+6) hash there
 *     members[n] uint32
 *
 * A band value that WD__LSH_BUCKET indexed records share takes no more:
 * text built on a template (a shared instruction header) gives many records
 * the same band values without being near copies, and every lookup would
 * compare against all of them (quadratic in the corpus). A record still
 * enters the bands where its value is rarer, so its near copies, which
 * share most of its bands, still find it.
 *
 * The exact-duplicate set is an open-addressing table of 64-bit hashes, at
 * most 3/4 full, that stops growing at max keys.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/rng.h"
#include "explain/audit_internal.h"

/* ==== MinHash ============================================================= */

static uint64_t coef_a[WD__AUDIT_PERM], coef_b[WD__AUDIT_PERM];
static pthread_once_t coef_once = PTHREAD_ONCE_INIT;

static void coef_init(void) {
    uint64_t s = 0x6a09e667f3bcc909ull;
    for (int k = 0; k < WD__AUDIT_PERM; k++) {
        coef_a[k] = wd__rng_next(&s) | 1;
        coef_b[k] = wd__rng_next(&s);
    }
}

void wd__minhash_init(uint32_t sig[WD__AUDIT_PERM]) {
    pthread_once(&coef_once, coef_init);
    for (int k = 0; k < WD__AUDIT_PERM; k++) sig[k] = UINT32_MAX;
}

void wd__minhash_add(uint32_t sig[WD__AUDIT_PERM], uint64_t x) {
    uint64_t x32 = (uint32_t)(x ^ (x >> 32));
    for (int k = 0; k < WD__AUDIT_PERM; k++) {
        uint32_t v = (uint32_t)((coef_a[k] * x32 + coef_b[k]) >> 32);
        sig[k] = v < sig[k] ? v : sig[k];
    }
}

double wd__minhash_jaccard(const uint32_t *a, const uint32_t *b) {
    int m = 0;
    for (int k = 0; k < WD__AUDIT_PERM; k++) m += a[k] == b[k];
    return (double)m / WD__AUDIT_PERM;
}

double wd__minhash_jaccard8(const uint8_t *a, const uint8_t *b) {
    int m = 0;
    for (int k = 0; k < WD__AUDIT_PERM; k++) m += a[k] == b[k];
    double j = ((double)m / WD__AUDIT_PERM - 1.0 / 256) / (1.0 - 1.0 / 256);
    return j < 0 ? 0 : j > 1 ? 1 : j;
}

/* ==== the exact set ======================================================= */


wd_status wd__hset_init(wd__hset *s, size_t max) {
    memset(s, 0, sizeof *s);
    s->max = max;
    s->slot = calloc(1024, sizeof *s->slot);
    if (!s->slot) return WD_ERR_NOMEM;
    s->mask = 1023;
    return WD_OK;
}

static size_t hset_find(const uint64_t *slot, size_t mask, uint64_t h) {
    size_t i = (size_t)wd__mix64(h) & mask;
    while (slot[i] && slot[i] != h) i = (i + 1) & mask;
    return i;
}

static bool hset_grow(wd__hset *s) {
    size_t cap = 2 * (s->mask + 1);
    uint64_t *ns = calloc(cap, sizeof *ns);
    if (!ns) return false;
    for (size_t i = 0; i <= s->mask; i++)
        if (s->slot[i]) ns[hset_find(ns, cap - 1, s->slot[i])] = s->slot[i];
    free(s->slot);
    s->slot = ns;
    s->mask = cap - 1;
    return true;
}

int wd__hset_add(wd__hset *s, uint64_t h) {
    if (!h) h = 1;
    size_t i = hset_find(s->slot, s->mask, h);
    if (s->slot[i]) return 1;
    if (s->n >= s->max) return 2;
    if (4 * (s->n + 1) > 3 * (s->mask + 1)) {
        if (!hset_grow(s)) return -1;
        i = hset_find(s->slot, s->mask, h);
    }
    s->slot[i] = h;
    s->n++;
    return 0;
}

bool wd__hset_has(const wd__hset *s, uint64_t h) {
    if (!h) h = 1;
    return s->slot[hset_find(s->slot, s->mask, h)] != 0;
}

void wd__hset_free(wd__hset *s) {
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ==== the LSH index ======================================================= */

static inline uint64_t band_hash(const uint8_t *sig, int b) {
    const uint8_t *p = sig + b * WD__AUDIT_ROWS;
    uint64_t h = (uint64_t)b;
    for (int r = 0; r < WD__AUDIT_ROWS; r++) h = (h << 8) | p[r];
    return wd__mix64(h);
}

wd_status wd__lsh_init(wd__lsh *l, size_t max) {
    memset(l, 0, sizeof *l);
    l->max = max;
    l->bmask = 1023;
    for (int b = 0; b < WD__AUDIT_BANDS; b++)
        if (!(l->band[b] = calloc(l->bmask + 1, sizeof(uint32_t)))) return WD_ERR_NOMEM;
    return WD_OK;
}

void wd__lsh_free(wd__lsh *l) {
    free(l->sig);
    free(l->record);
    free(l->members);
    for (int b = 0; b < WD__AUDIT_BANDS; b++) free(l->band[b]);
    memset(l, 0, sizeof *l);
}

long wd__lsh_query(const wd__lsh *l, const uint8_t *sig, double accept, double *j, uint64_t *n_cand) {
    long best = -1;
    double bj = -1;
    uint32_t seen[64];
    int n_seen = 0;
    for (int b = 0; b < WD__AUDIT_BANDS; b++) {
        const uint8_t *key = sig + b * WD__AUDIT_ROWS;
        for (size_t i = (size_t)band_hash(sig, b) & l->bmask; l->band[b][i]; i = (i + 1) & l->bmask) {
            uint32_t id = l->band[b][i] - 1;
            if (memcmp(l->sig + (size_t)id * WD__AUDIT_PERM + b * WD__AUDIT_ROWS, key, WD__AUDIT_ROWS)) continue;
            bool dup = false;
            for (int s = 0; s < n_seen && !dup; s++) dup = seen[s] == id;
            if (dup) continue;
            if (n_seen < 64) seen[n_seen++] = id;
            (*n_cand)++;
            double e = wd__minhash_jaccard8(l->sig + (size_t)id * WD__AUDIT_PERM, sig);
            if (e >= accept && e > bj) bj = e, best = (long)id;
        }
    }
    if (best >= 0) *j = bj;
    return best;
}

static bool lsh_grow_bands(wd__lsh *l) {
    size_t cap = 2 * (l->bmask + 1);
    for (int b = 0; b < WD__AUDIT_BANDS; b++) {
        uint32_t *nt = calloc(cap, sizeof *nt);
        if (!nt) return false;
        for (size_t i = 0; i <= l->bmask; i++) {
            uint32_t v = l->band[b][i];
            if (!v) continue;
            size_t k = (size_t)band_hash(l->sig + (size_t)(v - 1) * WD__AUDIT_PERM, b) & (cap - 1);
            while (nt[k]) k = (k + 1) & (cap - 1);
            nt[k] = v;
        }
        free(l->band[b]);
        l->band[b] = nt;
    }
    l->bmask = cap - 1;
    return true;
}

/* The empty slot of band b's probe chain where sig goes, or SIZE_MAX when
 * the chain already holds WD__LSH_BUCKET records whose band equals sig's
 * (one walk: the same chain ends in that slot). */
static size_t band_slot(const wd__lsh *l, const uint8_t *sig, int b) {
    const uint8_t *key = sig + b * WD__AUDIT_ROWS;
    int same = 0;
    size_t i = (size_t)band_hash(sig, b) & l->bmask;
    for (; l->band[b][i]; i = (i + 1) & l->bmask) {
        const uint8_t *other = l->sig + (size_t)(l->band[b][i] - 1) * WD__AUDIT_PERM + b * WD__AUDIT_ROWS;
        if (!memcmp(other, key, WD__AUDIT_ROWS) && ++same >= WD__LSH_BUCKET) return SIZE_MAX;
    }
    return i;
}

wd_status wd__lsh_insert(wd__lsh *l, const uint8_t *sig, uint64_t rec) {
    if (l->n >= l->max) return WD_ERR_RANGE;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        if (cap > l->max) cap = l->max;
        uint8_t *s = realloc(l->sig, cap * WD__AUDIT_PERM);
        if (!s) return WD_ERR_NOMEM;
        l->sig = s;
        uint64_t *r = realloc(l->record, cap * sizeof *r);
        if (!r) return WD_ERR_NOMEM;
        l->record = r;
        uint32_t *m = realloc(l->members, cap * sizeof *m);
        if (!m) return WD_ERR_NOMEM;
        l->members = m;
        l->cap = cap;
    }
    if (4 * (l->n + 1) > 3 * (l->bmask + 1) && !lsh_grow_bands(l)) return WD_ERR_NOMEM;
    size_t id = l->n++;
    memcpy(l->sig + id * WD__AUDIT_PERM, sig, WD__AUDIT_PERM);
    l->record[id] = rec;
    l->members[id] = 0;
    for (int b = 0; b < WD__AUDIT_BANDS; b++) {
        size_t i = band_slot(l, sig, b);
        if (i != SIZE_MAX) l->band[b][i] = (uint32_t)id + 1;
    }
    return WD_OK;
}
