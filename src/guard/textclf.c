/*
 * guard/textclf.c - the built-in learned classifier: hashed n-gram features
 * and a linear multi-label model with int8 weights.
 *
 * Features (computed on text already normalised with WD_CANON_DEFAULT):
 *   - words are maximal runs of ASCII letters/digits and non-ASCII bytes;
 *   - word n-grams of orders word_min..word_max (consecutive words);
 *   - character n-grams of char_min..char_max codepoints inside "<word>"
 *     (the angle brackets mark the word's boundaries; a word's first 48
 *     codepoints are used, so one huge token costs a bounded amount);
 *   - each n-gram is hashed to 64 bits (words: wd__textclf_hash of the
 *     bytes; word and character n-grams: a multiply-rotate chain over the
 *     word hashes / codepoints, seeded by kind and order, finished by a
 *     full avalanche): the low hash_bits bits pick the bucket, the top bit
 *     the sign (signed feature hashing: collisions cancel in expectation
 *     instead of biasing a weight upward).
 *   - with cfg.concepts: the WordNet concepts of each word (a table derived
 *     from WordNet 3.0 by scripts/gen-concepts.py, concepts_table.inc:
 *     "slay", "strangle", "liquidate" -> KILL; "neighbour", "nurse" ->
 *     PERSON; ...): one feature per concept of the word, and one per
 *     ordered pair (concept of one of the CONC_WINDOW previous words,
 *     concept of this word), so "KILL ... PERSON" is learned once for
 *     every verb of killing and every kind of person, and "kill ...
 *     process" does not share it;
 * The input vector is the signed term counts divided by sqrt(number of
 * occurrences) (see textclf.h), so a model's logit is
 *     z[l] = bias[l] + scale[l] * (sum over occurrences of sign * W[b, l]) / sqrt(n)
 * The inner sum is done in int32 over the int8 weights: exact, and the
 * same whatever the order.
 *
 * Model file (safetensors):
 *   weight    I8  (D, L)   D = 2^hash_bits rows, one per bucket; L labels
 *   scale     F32 (L)      dequantisation scale per label
 *   bias      F32 (L)
 *   threshold F32 (L)      recommended decision thresholds
 *   __metadata__: format="warden-textclf", version="1", hash_bits,
 *     word_ngrams="MIN-MAX", char_ngrams="MIN-MAX", norm_flags, labels
 *     (comma-separated), hazard_head, plus free-form training notes.
 * hazard_head "sigmoid": every label is an independent sigmoid.
 * hazard_head "softmax": labels 1..14 must be S1..S14; their outputs are
 *     p(S_k) = p(harmful) * softmax(z_1..z_14)_k, i.e. the model learns
 *     which hazard a harmful text belongs to from the sources that name
 *     one, while "harmful" is learned from every source.
 * Row-major (D, L) keeps the L weights of one bucket in one cache line.
 */
#include "guard/textclf.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/embed.h"
#include "base/err.h"
#include "guard/canonical.h"
#include "guard/textclf_internal.h"
#include "guard/textcnn.h"
#include "warden/safetensors.h"


wd_textclf_cfg wd_textclf_cfg_default(void) {
    wd_textclf_cfg c = {.hash_bits = 18, .word_min = 1, .word_max = 2,
                        .char_min = 4, .char_max = 5, .norm_flags = 63, .concepts = 1};
    return c;
}

/* ==== hashing ============================================================ */

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 29;
    h *= 0xa0761d6478bd642full;
    h ^= h >> 32;
    return h;
}

/* A 64-bit multiply-rotate hash over 8-byte lanes with a full avalanche at
 * the end; every input bit affects every output bit. */
uint64_t wd__textclf_hash(const void *data, size_t len, uint64_t seed) {
    const unsigned char *p = data;
    uint64_t h = seed * 0x9e3779b97f4a7c15ull ^ (uint64_t)len * 0xc2b2ae3d27d4eb4full;
    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        k *= 0x87c37b91114253d5ull;
        k = rotl64(k, 31);
        k *= 0x4cf5ad432745937full;
        h ^= k;
        h = rotl64(h, 27) * 5 + 0x52dce729u;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t k = 0;
        for (size_t i = 0; i < len; i++) k |= (uint64_t)p[i] << (8 * i);
        k *= 0x87c37b91114253d5ull;
        k = rotl64(k, 31);
        k *= 0x4cf5ad432745937full;
        h ^= k;
    }
    return mix64(h);
}

/* ==== WordNet concepts ==================================================== */

#include "guard/concepts_table.inc"

#define SEED_WORD 0x5744000u /* + order */
#define SEED_CONC 0x434f4e43ull /* concept features */
#define CONC_WINDOW 4           /* previous words paired with this one      */
#define CONC_BITS 17            /* 2^17 slots, for ~40k words               */

/* word hash (the unigram feature's) -> concept bits: open addressing over
 * 64-bit slots, the hash's top 32 bits as the fingerprint in the high half
 * and the bits in the low half (an empty slot is 0; no entry has 0 bits) */
static uint64_t *conc_slots;
static pthread_once_t conc_once = PTHREAD_ONCE_INIT;

static void conc_init(void) {
    const size_t n = (size_t)1 << CONC_BITS;
    uint64_t *t = calloc(n, sizeof *t);
    if (!t) return; /* no concepts: features are then as without them */
    for (const char *p = wd_concept_words; *p;) {
        size_t len = strlen(p);
        uint64_t h = wd__textclf_hash(p, len, SEED_WORD + 1);
        uint32_t bits = 0; /* exactly 8 hex digits: the next word follows */
        for (int k = 1; k <= 8; k++) {
            char c = p[len + k];
            bits = bits << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        size_t k = (size_t)h & (n - 1);
        while (t[k]) k = (k + 1) & (n - 1);
        t[k] = (h >> 32) << 32 | bits;
        p += len + 1 + 8;
    }
    conc_slots = t;
}

static inline uint32_t conc_lookup(uint64_t hw) {
    const size_t mask = ((size_t)1 << CONC_BITS) - 1;
    for (size_t k = (size_t)hw & mask;; k = (k + 1) & mask) {
        uint64_t e = conc_slots[k];
        if (!e) return 0;
        if (e >> 32 == hw >> 32) return (uint32_t)e;
    }
}

uint32_t wd__textclf_concepts_of(const char *word, size_t len) {
    pthread_once(&conc_once, conc_init);
    if (!conc_slots) return 0;
    return conc_lookup(wd__textclf_hash(word, len, SEED_WORD + 1));
}

const char *wd__textclf_concept_name(int i) {
    return i >= 0 && i < WD_CONCEPTS_N ? wd_concept_names[i] : NULL;
}

/* ==== features =========================================================== */

#define SEED_CHAR 0x4348000u /* + n     */
#define CHAR_WORD_MAX 48     /* codepoints of a word used for char n-grams */

static inline int is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static inline void emit_hash(wd__textclf_emit_fn emit, void *ctx, uint64_t h, uint32_t mask) {
    emit(ctx, (uint32_t)(h & mask), (h >> 63) ? -1 : 1);
}

/* One step of the chained n-gram hashes: cheap (one multiply), and every
 * emitted hash goes through mix64, which does the avalanche. */
static inline uint64_t chain(uint64_t h, uint64_t v) {
    return rotl64((h ^ v) * 0x9fb21c651e98df25ull, 29);
}

/* wd__textclf_features, polling stop (may be NULL) every 64 KiB of text:
 * on a stop, *stopped gets the status and the features so far are returned. */
static size_t features(const wd_textclf_cfg *cfg, const char *text, size_t len, wd__textclf_emit_fn emit,
                       void *ctx, const wd__scan_stop *stop, wd_status *stopped) {
    const unsigned char *s = (const unsigned char *)text;
    const uint32_t mask = (uint32_t)((1u << cfg->hash_bits) - 1u);
    uint64_t recent[8] = {0}; /* unigram hashes of the last words, newest last */
    int n_recent = 0;
    uint32_t conc[CONC_WINDOW] = {0}; /* concept bits of the last words, ring */
    unsigned n_words = 0;
    size_t n = 0;
    size_t i = 0, next_poll = stop ? WD_SCAN_POLL_BYTES : SIZE_MAX;
    int use_conc = 0;
    if (cfg->concepts) {
        pthread_once(&conc_once, conc_init);
        use_conc = conc_slots != NULL; /* (NULL only when out of memory) */
    }
    while (i < len) {
        if (i >= next_poll) {
            if ((*stopped = wd__scan_stop_poll(stop)) != WD_OK) return n;
            next_poll = i + WD_SCAN_POLL_BYTES;
        }
        if (!is_word_byte(s[i])) {
            i++;
            continue;
        }
        size_t b = i;
        while (i < len && is_word_byte(s[i])) i++;
        size_t wl = i - b;

        /* word n-grams ending at this word: order 1 hashes the bytes, order
         * k > 1 chains the unigram hashes of the last k words */
        uint64_t hw = wd__textclf_hash(s + b, wl, SEED_WORD + 1);
        if (n_recent == 8) {
            memmove(recent, recent + 1, 7 * sizeof recent[0]);
            n_recent = 7;
        }
        recent[n_recent++] = hw;
        for (int k = cfg->word_min; k <= cfg->word_max; k++) {
            if (k > n_recent) break;
            uint64_t h = hw;
            if (k > 1) {
                h = SEED_WORD + (uint64_t)k;
                for (int j = n_recent - k; j < n_recent; j++) h = chain(h, recent[j]);
                h = mix64(h);
            }
            emit_hash(emit, ctx, h, mask);
            n++;
        }

        /* concepts of the word, and ordered pairs with the previous words' */
        if (use_conc) {
            uint32_t m = conc_lookup(hw);
            if (m) {
                for (uint32_t bs = m; bs; bs &= bs - 1) {
                    uint64_t cb = (uint64_t)__builtin_ctz(bs);
                    emit_hash(emit, ctx, mix64(SEED_CONC ^ (cb + 1) * 0x9e3779b97f4a7c15ull), mask);
                    n++;
                    for (unsigned j = 1; j <= CONC_WINDOW && j <= n_words; j++) {
                        for (uint32_t a = conc[(n_words - j) % CONC_WINDOW]; a; a &= a - 1) {
                            uint64_t ca = (uint64_t)__builtin_ctz(a);
                            emit_hash(emit, ctx, mix64(chain(SEED_CONC + 64 * ca + cb, 0x50414952)), mask);
                            n++;
                        }
                    }
                }
            }
            conc[n_words % CONC_WINDOW] = m;
            n_words++;
        }

        /* character n-grams inside "<word>": v[] holds one value per
         * codepoint (its UTF-8 bytes packed into 32 bits) */
        if (cfg->char_min > 0) {
            uint32_t v[CHAR_WORD_MAX + 2];
            size_t ncp = 0;
            v[ncp++] = '<';
            for (size_t j = b; j < i && ncp < CHAR_WORD_MAX + 1;) {
                uint32_t c = s[j++];
                int extra = 0;
                while (j < i && (s[j] & 0xC0) == 0x80 && extra < 3) {
                    c = (c << 8) | s[j++];
                    extra++;
                }
                while (j < i && (s[j] & 0xC0) == 0x80) j++; /* over-long junk */
                v[ncp++] = c;
            }
            v[ncp++] = '>';
            for (size_t st = 0; st + (size_t)cfg->char_min <= ncp; st++) {
                uint64_t h = SEED_CHAR;
                for (int g = 1; g <= cfg->char_max && st + (size_t)g <= ncp; g++) {
                    h = chain(h, v[st + (size_t)g - 1]);
                    if (g >= cfg->char_min) {
                        emit_hash(emit, ctx, mix64(h + (uint64_t)g), mask);
                        n++;
                    }
                }
            }
        }
    }
    return n;
}

size_t wd__textclf_features(const wd_textclf_cfg *cfg, const char *text, size_t len,
                            wd__textclf_emit_fn emit, void *ctx) {
    wd_status st = WD_OK;
    return features(cfg, text, len, emit, ctx, NULL, &st);
}

/* ==== prediction ========================================================= */

/* Prediction touches one row of W per feature occurrence, at random: the
 * cost is memory latency, not arithmetic. The emitter therefore only
 * records the bucket and prefetches its row; the rows are summed in
 * batches of ACC_BATCH, by which time they are in cache. */
#define ACC_BATCH 128
_Static_assert(ACC_BATCH * 127 <= 32767, "int16 batch sums must not overflow");

typedef struct acc_ctx {
    const int8_t *w;
    size_t        L;
    int32_t      *acc;
    size_t        n;
    uint32_t      bucket[ACC_BATCH];
    int8_t        sign[ACC_BATCH];
} acc_ctx;

typedef int8_t  v16i8 __attribute__((vector_size(16)));
typedef int16_t v16i16 __attribute__((vector_size(32)));

/* Sums the batch's rows into acc. For 16 labels (the shipped model) one
 * row is one 16-lane vector; a batch of ACC_BATCH <= 258 rows of |w| <= 127
 * cannot overflow int16, so the batch sums in int16 and widens once. */
static void acc_flush(acc_ctx *c) {
    const size_t L = c->L;
    int32_t *acc = c->acc;
    if (L == 16) {
        v16i16 s = {0};
        for (size_t k = 0; k < c->n; k++) {
            v16i8 r;
            memcpy(&r, c->w + (size_t)c->bucket[k] * 16, 16);
            s += __builtin_convertvector(r, v16i16) * (int16_t)c->sign[k];
        }
        for (int l = 0; l < 16; l++) acc[l] += s[l];
    } else {
        for (size_t k = 0; k < c->n; k++) {
            const int8_t *row = c->w + (size_t)c->bucket[k] * L;
            for (size_t l = 0; l < L; l++) acc[l] += c->sign[k] * (int32_t)row[l];
        }
    }
    c->n = 0;
}

static void acc_emit(void *vctx, uint32_t bucket, int sign) {
    acc_ctx *c = vctx;
    __builtin_prefetch(c->w + (size_t)bucket * c->L);
    c->bucket[c->n] = bucket;
    c->sign[c->n] = (int8_t)sign;
    if (++c->n == ACC_BATCH) acc_flush(c);
}

static inline float sigmoidf(float z) {
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

wd_status wd_textclf_predict(const wd_textclf *m, const char *norm_text, size_t len,
                             float *probs) {
    return wd__textclf_predict_stop(m, norm_text, len, probs, NULL);
}

wd_status wd_textclf_predict_text(const wd_textclf *m, const char *text, size_t len, float *probs) {
    if (!m || !probs || (!text && len))
        return wd__fail(WD_ERR_INVALID_ARG, "textclf_predict: NULL argument");
    wd__canon nm = {0};
    wd_status st = wd__canonicalize(text ? text : "", len, m->cfg.norm_flags, &nm);
    if (st == WD_OK) st = wd__textclf_predict_stop(m, nm.text, nm.len, probs, NULL);
    wd__canon_free(&nm);
    return st;
}

wd_status wd__textclf_predict_stop(const wd_textclf *m, const char *norm_text, size_t len,
                                   float *probs, const wd__scan_stop *stop) {
    if (!m || !probs || (!norm_text && len))
        return wd__fail(WD_ERR_INVALID_ARG, "textclf_predict: NULL argument");
    float z[WD_TEXTCLF_MAX_LABELS];
    if (m->is_cnn) {
        wd_status st = wd__textcnn_logits(&m->cnn, norm_text ? norm_text : "", len, m->bias, z, stop);
        if (st != WD_OK) return st;
        for (size_t l = 0; l < m->n_labels; l++) {
            z[l] = z[l] > 80.0f ? 80.0f : z[l] < -80.0f ? -80.0f : z[l];
            probs[l] = sigmoidf(z[l]);
        }
        if (m->softmax_hazards) wd__textclf_hazard_softmax(z, probs);
        return WD_OK;
    }
    int32_t acc[WD_TEXTCLF_MAX_LABELS] = {0};
    acc_ctx c;
    c.w = m->w;
    c.L = m->n_labels;
    c.acc = acc;
    c.n = 0;
    wd_status st = WD_OK;
    size_t n = features(&m->cfg, norm_text ? norm_text : "", len, acc_emit, &c, stop, &st);
    if (st != WD_OK) return st;
    acc_flush(&c);
    float inv = n ? 1.0f / sqrtf((float)n) : 0.0f;
    for (size_t l = 0; l < m->n_labels; l++) {
        /* a finite scale can still overflow: keep z finite (the sigmoid and
         * softmax are saturated far before +-80 anyway) */
        z[l] = m->bias[l] + m->scale[l] * (float)acc[l] * inv;
        z[l] = z[l] > 80.0f ? 80.0f : z[l] < -80.0f ? -80.0f : z[l];
        probs[l] = sigmoidf(z[l]);
    }
    if (m->softmax_hazards) wd__textclf_hazard_softmax(z, probs);
    return WD_OK;
}

void wd__textclf_hazard_softmax(const float *z, float *probs) {
    float mx = z[1];
    for (int l = 2; l <= 14; l++) mx = z[l] > mx ? z[l] : mx;
    double e[15], sum = 0;
    for (int l = 1; l <= 14; l++) sum += e[l] = exp((double)(z[l] - mx));
    for (int l = 1; l <= 14; l++) probs[l] = (float)((double)probs[0] * e[l] / sum);
}

/* ==== accessors ========================================================== */

size_t wd_textclf_n_labels(const wd_textclf *m) { return m ? m->n_labels : 0; }

const char *wd_textclf_label(const wd_textclf *m, size_t i) {
    return m && i < m->n_labels ? m->labels[i] : NULL;
}

int wd_textclf_label_index(const wd_textclf *m, const char *name) {
    if (!m || !name) return -1;
    for (size_t i = 0; i < m->n_labels; i++)
        if (!strcmp(m->labels[i], name)) return (int)i;
    return -1;
}

float wd_textclf_threshold(const wd_textclf *m, size_t i) {
    return m && i < m->n_labels ? m->thr[i] : 0.5f;
}

void wd_textclf_set_threshold(wd_textclf *m, size_t i, float t) {
    if (m && i < m->n_labels && t > 0 && t < 1) m->thr[i] = t;
}

wd_textclf_cfg wd_textclf_cfg_of(const wd_textclf *m) { return m->cfg; }
unsigned wd_textclf_norm_flags(const wd_textclf *m) { return m->cfg.norm_flags; }
int wd__textclf_softmax_hazards(const wd_textclf *m) { return m->softmax_hazards; }
int wd__textclf_is_cnn(const wd_textclf *m) { return m->is_cnn; }

void wd_textclf_free(wd_textclf *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_labels; i++) free(m->labels[i]);
    free(m->w_owned);
    free(m->cnn_owned);
    wd_safetensors_free(m->st);
    free(m);
}

/* ==== the embedded model ================================================= */

#ifdef WD_HAVE_EMBEDDED_TEXTCLF
WD_EMBED_DECLARE(wd_embed_textclf); /* models/warden-clf-v1.safetensors */
#endif
#ifdef WD_HAVE_EMBEDDED_TEXTCLF_V2
WD_EMBED_DECLARE(wd_embed_textclf_v2); /* models/warden-clf-v2.safetensors */
#endif

/* One embedded model, loaded on first use (data NULL: not in this build). */
typedef struct builtin {
    pthread_once_t once;
    wd_textclf    *m;
    char           err[WD_ERR_MSG_MAX];
} builtin;
static builtin builtin_v1 = {.once = PTHREAD_ONCE_INIT}, builtin_v2 = {.once = PTHREAD_ONCE_INIT};
static void builtin_load(builtin *b, const unsigned char *data, size_t len, const char *file) {
    if (!data)
        snprintf(b->err, sizeof b->err, "this build of warden has no embedded classifier %s (the file was absent)",
                 file);
    else if (wd_textclf_from_memory(data, len, &b->m))
        snprintf(b->err, sizeof b->err, "embedded classifier %s: %s", file, wd_last_error());
}
#ifndef WD_HAVE_EMBEDDED_TEXTCLF /* absent: builtin_load says so */
#define wd_embed_textclf ((const unsigned char *)NULL)
#define wd_embed_textclf_len ((size_t)0)
#endif
#ifndef WD_HAVE_EMBEDDED_TEXTCLF_V2
#define wd_embed_textclf_v2 ((const unsigned char *)NULL)
#define wd_embed_textclf_v2_len ((size_t)0)
#endif
static void builtin_v1_init(void) {
    builtin_load(&builtin_v1, wd_embed_textclf, wd_embed_textclf_len, "models/warden-clf-v1.safetensors");
}
static void builtin_v2_init(void) {
    builtin_load(&builtin_v2, wd_embed_textclf_v2, wd_embed_textclf_v2_len, "models/warden-clf-v2.safetensors");
}

const wd_textclf *wd_textclf_builtin(void) {
    pthread_once(&builtin_v1.once, builtin_v1_init);
    if (!builtin_v1.m) wd__fail(WD_ERR_NOT_FOUND, "%s", builtin_v1.err);
    return builtin_v1.m;
}

const wd_textclf *wd_textclf_builtin_answers(void) {
    pthread_once(&builtin_v2.once, builtin_v2_init);
    if (!builtin_v2.m) wd__fail(WD_ERR_NOT_FOUND, "%s", builtin_v2.err);
    return builtin_v2.m;
}
