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
#include "guard/textcnn.h"
#include "warden/safetensors.h"

struct wd_textclf {
    wd_textclf_cfg  cfg;
    size_t          n_labels;
    char           *labels[WD_TEXTCLF_MAX_LABELS];
    float           scale[WD_TEXTCLF_MAX_LABELS];
    float           bias[WD_TEXTCLF_MAX_LABELS];
    float           thr[WD_TEXTCLF_MAX_LABELS];
    int             softmax_hazards; /* labels 1..14 = S1..S14 as p(harmful) x softmax */
    const int8_t   *w;       /* (D, L): into st's map, or w_owned          */
    int8_t         *w_owned;
    wd_safetensors *st;      /* keeps the map alive when loaded from a file */
    int             is_cnn;  /* arch "cnn": cnn below, no w                 */
    wd__textcnn     cnn;
    void           *cnn_owned; /* one buffer behind cnn's arrays (built models) */
};

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

/* ==== building and loading =============================================== */

static wd_status check_cfg(const wd_textclf_cfg *c, const char *where) {
    if (c->hash_bits < 10 || c->hash_bits > 24)
        return wd__fail(WD_ERR_FORMAT, "%s: hash_bits %d outside [10, 24]", where, c->hash_bits);
    if (c->word_min < 1 || c->word_max < c->word_min || c->word_max > 8)
        return wd__fail(WD_ERR_FORMAT, "%s: word_ngrams %d-%d invalid (need 1 <= min <= max <= 8)",
                        where, c->word_min, c->word_max);
    if (c->char_min < 0 || c->char_max > 8 || (c->char_min > 0 && c->char_max < c->char_min))
        return wd__fail(WD_ERR_FORMAT, "%s: char_ngrams %d-%d invalid (need 0, or min <= max <= 8)",
                        where, c->char_min, c->char_max);
    if (c->concepts < 0 || c->concepts > 1)
        return wd__fail(WD_ERR_FORMAT, "%s: concepts %d invalid (need 0 or 1)", where, c->concepts);
    return WD_OK;
}

static wd_status set_labels(wd_textclf *m, size_t n, const char *const *labels, const char *where) {
    if (n == 0 || n > WD_TEXTCLF_MAX_LABELS)
        return wd__fail(WD_ERR_FORMAT, "%s: %zu labels (need 1..%d)", where, n,
                        WD_TEXTCLF_MAX_LABELS);
    for (size_t i = 0; i < n; i++) {
        if (!labels[i] || !labels[i][0])
            return wd__fail(WD_ERR_FORMAT, "%s: label %zu is empty", where, i);
        m->labels[i] = strdup(labels[i]);
        if (!m->labels[i]) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
        m->n_labels = i + 1;
    }
    return WD_OK;
}

static wd_status check_hazard_labels(const wd_textclf *m, const char *where) {
    char name[8];
    for (int l = 1; l <= 14; l++) {
        snprintf(name, sizeof name, "S%d", l);
        if ((size_t)l >= m->n_labels || strcmp(m->labels[l], name))
            return wd__fail(WD_ERR_FORMAT, "%s: hazard_head 'softmax' needs labels 1..14 = S1..S14 (label %d is %s)",
                            where, l, (size_t)l < m->n_labels ? m->labels[l] : "missing");
    }
    return WD_OK;
}

wd_status wd__textclf_build(const wd_textclf_cfg *cfg, size_t n_labels, const char *const *labels,
                            const float *w, const float *bias, const float *threshold,
                            int softmax_hazards, wd_textclf **out) {
    if (out) *out = NULL;
    if (!cfg || !labels || !w || !bias || !out)
        return wd__fail(WD_ERR_INVALID_ARG, "textclf_build: NULL argument");
    wd_status st = check_cfg(cfg, "textclf_build");
    if (st) return st;
    wd_textclf *m = calloc(1, sizeof *m);
    if (!m) return wd__fail(WD_ERR_NOMEM, "textclf_build: out of memory");
    m->cfg = *cfg;
    if ((st = set_labels(m, n_labels, labels, "textclf_build"))) goto fail;
    m->softmax_hazards = softmax_hazards;
    if (softmax_hazards && (st = check_hazard_labels(m, "textclf_build"))) goto fail;
    size_t D = (size_t)1 << cfg->hash_bits, L = n_labels;
    m->w_owned = malloc(D * L);
    if (!m->w_owned) {
        st = wd__fail(WD_ERR_NOMEM, "textclf_build: out of memory for %zu weights", D * L);
        goto fail;
    }
    for (size_t l = 0; l < L; l++) {
        float mx = 0;
        for (size_t d = 0; d < D; d++) {
            float a = fabsf(w[d * L + l]);
            if (!isfinite(a)) {
                st = wd__fail(WD_ERR_INVALID_ARG, "textclf_build: weight (%zu, %zu) not finite", d, l);
                goto fail;
            }
            if (a > mx) mx = a;
        }
        m->scale[l] = mx > 0 ? mx / 127.0f : 1.0f;
        for (size_t d = 0; d < D; d++) {
            long q = lrintf(w[d * L + l] / m->scale[l]);
            m->w_owned[d * L + l] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        m->bias[l] = bias[l];
        m->thr[l] = threshold ? threshold[l] : 0.5f;
    }
    m->w = m->w_owned;
    *out = m;
    return WD_OK;
fail:
    wd_textclf_free(m);
    return st;
}

wd_status wd__textclf_build_cnn(const wd_textclf_cfg *cfg, const struct wd__textcnn_shape *sh, size_t n_labels,
                                const char *const *labels, const float *emb, const float *conv,
                                const float *conv_b, const float *head, const float *bias,
                                int softmax_hazards, wd_textclf **out) {
    if (out) *out = NULL;
    if (!cfg || !sh || !labels || !emb || !conv || !conv_b || !head || !bias || !out)
        return wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: NULL argument");
    const char *why = wd__textcnn_shape_check(sh);
    if (why) return wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: %s", why);
    wd_textclf *m = calloc(1, sizeof *m);
    if (!m) return wd__fail(WD_ERR_NOMEM, "textclf_build_cnn: out of memory");
    wd_status st;
    m->cfg = *cfg;
    m->cfg.hash_bits = sh->bits;
    m->cfg.word_min = m->cfg.word_max = 1;
    m->cfg.char_min = sh->char_min;
    m->cfg.char_max = sh->char_max;
    m->cfg.concepts = 0;
    if ((st = set_labels(m, n_labels, labels, "textclf_build_cnn"))) goto fail;
    m->softmax_hazards = softmax_hazards;
    if (softmax_hazards && (st = check_hazard_labels(m, "textclf_build_cnn"))) goto fail;
    const size_t V = (size_t)1 << sh->bits, D = (size_t)sh->dim, F = (size_t)sh->filters,
                 K = (size_t)sh->width * D, L = n_labels;
    size_t n_f = V + K * F + F + F * L;
    char *buf = malloc(n_f * sizeof(float) + V * D);
    if (!buf) {
        st = wd__fail(WD_ERR_NOMEM, "textclf_build_cnn: out of memory");
        goto fail;
    }
    m->cnn_owned = buf;
    float *scale = (float *)buf, *cv = scale + V, *cb = cv + K * F, *hd = cb + F;
    int8_t *e8 = (int8_t *)(hd + F * L);
    memcpy(cv, conv, K * F * sizeof *cv);
    memcpy(cb, conv_b, F * sizeof *cb);
    memcpy(hd, head, F * L * sizeof *hd);
    for (size_t i = 0; i < K * F + F + F * L; i++)
        if (!isfinite(cv[i])) {
            st = wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: a convolution or head weight is not finite");
            goto fail;
        }
    for (size_t v = 0; v < V; v++) {
        const float *row = emb + v * D;
        float mx = 0;
        for (size_t d = 0; d < D; d++) {
            float a = fabsf(row[d]);
            if (!isfinite(a)) {
                st = wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: embedding (%zu, %zu) not finite", v, d);
                goto fail;
            }
            if (a > mx) mx = a;
        }
        scale[v] = mx > 0 ? mx / 127.0f : 0.0f;
        for (size_t d = 0; d < D; d++) {
            long q = mx > 0 ? lrintf(row[d] / scale[v]) : 0;
            e8[v * D + d] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
    }
    for (size_t l = 0; l < L; l++) {
        m->bias[l] = bias[l];
        m->thr[l] = 0.5f;
        m->scale[l] = 1.0f;
    }
    m->is_cnn = 1;
    m->cnn = (wd__textcnn){.sh = *sh, .n_labels = L, .emb = e8, .emb_scale = scale, .conv = cv,
                           .conv_b = cb, .head = hd};
    *out = m;
    return WD_OK;
fail:
    wd_textclf_free(m);
    return st;
}

static int parse_range(const char *s, int *lo, int *hi) {
    char *e;
    long a = strtol(s, &e, 10);
    if (e == s || *e != '-') return -1;
    const char *t = e + 1;
    long b = strtol(t, &e, 10);
    if (e == t || *e) return -1;
    if (a < 0 || a > 64 || b < 0 || b > 64) return -1;
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

static wd_status meta_int(const wd_safetensors *st, const char *where, const char *key, long lo,
                          long hi, long *out) {
    const char *v = wd_safetensors_metadata_get(st, key);
    if (!v) return wd__fail(WD_ERR_FORMAT, "%s: __metadata__ lacks '%s'", where, key);
    char *e;
    long x = strtol(v, &e, 10);
    if (e == v || *e || x < lo || x > hi)
        return wd__fail(WD_ERR_FORMAT, "%s: __metadata__ '%s' = '%s': expected an integer in [%ld, %ld]",
                        where, key, v, lo, hi);
    *out = x;
    return WD_OK;
}

static const wd_tensor_info *need_tensor(const wd_safetensors *st, const char *where,
                                         const char *name, size_t n_dim, int64_t d0, int64_t d1) {
    const wd_tensor_info *t = wd_safetensors_find(st, name);
    if (!t) {
        wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' is missing", where, name);
        return NULL;
    }
    if ((size_t)t->ndim != n_dim || t->shape[0] != d0 || (n_dim == 2 && t->shape[1] != d1)) {
        if (n_dim == 2)
            wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' must have shape [%lld, %lld]", where, name,
                     (long long)d0, (long long)d1);
        else
            wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' must have shape [%lld]", where, name,
                     (long long)d0);
        return NULL;
    }
    return t;
}

/* The convolutional network's tensors and shape from st (arch "cnn"). */
static wd_status cnn_from_safetensors(wd_textclf *m, const wd_safetensors *st, const char *where) {
    wd__textcnn *c = &m->cnn;
    long dim = 0, filters = 0, width = 0;
    wd_status rc;
    if ((rc = meta_int(st, where, "cnn_dim", 8, WD_TEXTCNN_MAX_DIM, &dim)) ||
        (rc = meta_int(st, where, "cnn_filters", 32, WD_TEXTCNN_MAX_FILTERS, &filters)) ||
        (rc = meta_int(st, where, "cnn_width", 1, WD_TEXTCNN_MAX_WIDTH, &width)))
        return rc;
    c->sh = (wd__textcnn_shape){.bits = m->cfg.hash_bits, .dim = (int)dim, .filters = (int)filters,
                                .width = (int)width, .char_min = m->cfg.char_min,
                                .char_max = m->cfg.char_max};
    const char *why = wd__textcnn_shape_check(&c->sh);
    if (why) return wd__fail(WD_ERR_FORMAT, "%s: cnn shape: %s", where, why);
    c->n_labels = m->n_labels;
    const int64_t V = (int64_t)1 << c->sh.bits, D = dim, F = filters, K = width * dim,
                  L = (int64_t)m->n_labels;
    /* the float arrays are copied (a tensor in a file may be unaligned);
     * the embedding rows, int8, are read in place */
    const wd_tensor_info *te = need_tensor(st, where, "cnn.embed", 2, V, D);
    if (!te) return WD_ERR_FORMAT;
    if (te->dtype != WD_DTYPE_I8)
        return wd__fail(WD_ERR_FORMAT, "%s: tensor 'cnn.embed' must be I8, is %s", where, wd_dtype_name(te->dtype));
    c->emb = te->data;
    const char *names[4] = {"cnn.embed_scale", "cnn.conv", "cnn.conv_bias", "cnn.head"};
    const int64_t d0[4] = {V, K, F, F}, d1[4] = {0, F, 0, L};
    size_t lens[4], total = 0;
    for (int a = 0; a < 4; a++) total += lens[a] = (size_t)(d0[a] * (d1[a] ? d1[a] : 1));
    float *buf = malloc(total * sizeof *buf), *arr[4];
    if (!buf) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    m->cnn_owned = buf;
    for (int a = 0; a < 4; a++) {
        arr[a] = buf;
        buf += lens[a];
        const wd_tensor_info *t = need_tensor(st, where, names[a], d1[a] ? 2 : 1, d0[a], d1[a]);
        if (!t) return WD_ERR_FORMAT;
        if (t->dtype != WD_DTYPE_F32)
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' must be F32, is %s", where, names[a],
                            wd_dtype_name(t->dtype));
        if ((rc = wd_tensor_read_f32(t, arr[a], lens[a]))) return rc;
        /* a NaN weight would make every verdict NaN */
        for (size_t i = 0; i < lens[a]; i++)
            if (!isfinite(arr[a][i]) || (a == 0 && arr[a][i] < 0))
                return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': element %zu not finite%s", where, names[a], i,
                                a == 0 ? " or negative" : "");
    }
    c->emb_scale = arr[0];
    c->conv = arr[1];
    c->conv_b = arr[2];
    c->head = arr[3];
    m->is_cnn = 1;
    return WD_OK;
}

/* Takes ownership of st (freed on failure). */
static wd_status from_safetensors(wd_safetensors *st, const char *where, wd_textclf **out) {
    wd_status rc;
    wd_textclf *m = calloc(1, sizeof *m);
    if (!m) {
        wd_safetensors_free(st);
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    }
    m->st = st;
    const char *fmt = wd_safetensors_metadata_get(st, "format");
    if (!fmt || strcmp(fmt, WD_TEXTCLF_FORMAT)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: not a warden text classifier (__metadata__ 'format' is %s%s%s, expected '%s')",
                      where, fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "", WD_TEXTCLF_FORMAT);
        goto fail;
    }
    long ver, bits, nf;
    if ((rc = meta_int(st, where, "version", 0, 1000, &ver))) goto fail;
    if (ver != WD_TEXTCLF_VERSION) {
        rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: model version %ld, this warden reads version %d",
                      where, ver, WD_TEXTCLF_VERSION);
        goto fail;
    }
    if ((rc = meta_int(st, where, "hash_bits", 10, 24, &bits))) goto fail;
    if ((rc = meta_int(st, where, "norm_flags", 0, 0xffff, &nf))) goto fail;
    m->cfg.hash_bits = (int)bits;
    m->cfg.norm_flags = (unsigned)nf;
    const char *wr = wd_safetensors_metadata_get(st, "word_ngrams");
    const char *cr = wd_safetensors_metadata_get(st, "char_ngrams");
    if (!wr || parse_range(wr, &m->cfg.word_min, &m->cfg.word_max)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'word_ngrams' missing or not MIN-MAX", where);
        goto fail;
    }
    if (!cr || parse_range(cr, &m->cfg.char_min, &m->cfg.char_max)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'char_ngrams' missing or not MIN-MAX", where);
        goto fail;
    }
    const char *cc = wd_safetensors_metadata_get(st, "concepts");
    if (cc && strcmp(cc, "wordnet-1") && strcmp(cc, "none")) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'concepts' is '%s', expected wordnet-1 or none",
                      where, cc);
        goto fail;
    }
    m->cfg.concepts = cc && !strcmp(cc, "wordnet-1");
    if ((rc = check_cfg(&m->cfg, where))) goto fail;

    const char *lab = wd_safetensors_metadata_get(st, "labels");
    if (!lab || !lab[0]) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ lacks 'labels'", where);
        goto fail;
    }
    {
        char buf[1024];
        if (strlen(lab) >= sizeof buf) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'labels' too long", where);
            goto fail;
        }
        strcpy(buf, lab);
        const char *names[WD_TEXTCLF_MAX_LABELS + 1];
        size_t n = 0;
        for (char *tok = buf;;) {
            char *comma = strchr(tok, ',');
            if (comma) *comma = 0;
            if (n == WD_TEXTCLF_MAX_LABELS + 1) break;
            names[n++] = tok;
            if (!comma) break;
            tok = comma + 1;
        }
        if ((rc = set_labels(m, n, names, where))) goto fail;
    }
    const char *hh = wd_safetensors_metadata_get(st, "hazard_head");
    if (hh && strcmp(hh, "softmax") && strcmp(hh, "sigmoid")) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'hazard_head' is '%s', expected softmax or sigmoid",
                      where, hh);
        goto fail;
    }
    m->softmax_hazards = hh && !strcmp(hh, "softmax");
    if (m->softmax_hazards && (rc = check_hazard_labels(m, where))) goto fail;
    size_t D = (size_t)1 << m->cfg.hash_bits, L = m->n_labels;
    const char *arch = wd_safetensors_metadata_get(st, "arch");
    if (arch && strcmp(arch, "linear") && strcmp(arch, "cnn")) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'arch' is '%s', expected linear or cnn", where, arch);
        goto fail;
    }
    if (arch && !strcmp(arch, "cnn")) {
        const wd_tensor_info *tcb = need_tensor(st, where, "bias", 1, (int64_t)L, 0);
        if (!tcb) {
            rc = WD_ERR_FORMAT;
            goto fail;
        }
        if ((rc = cnn_from_safetensors(m, st, where)) || (rc = wd_tensor_read_f32(tcb, m->bias, L))) goto fail;
        for (size_t l = 0; l < L; l++) m->scale[l] = 1.0f;
        goto thresholds;
    }
    const wd_tensor_info *tw = need_tensor(st, where, "weight", 2, (int64_t)D, (int64_t)L);
    const wd_tensor_info *ts = tw ? need_tensor(st, where, "scale", 1, (int64_t)L, 0) : NULL;
    const wd_tensor_info *tb = ts ? need_tensor(st, where, "bias", 1, (int64_t)L, 0) : NULL;
    if (!tb) {
        rc = WD_ERR_FORMAT;
        goto fail;
    }
    if (tw->dtype != WD_DTYPE_I8) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: tensor 'weight' must be I8, is %s", where,
                      wd_dtype_name(tw->dtype));
        goto fail;
    }
    m->w = tw->data;
    if ((rc = wd_tensor_read_f32(ts, m->scale, L)) || (rc = wd_tensor_read_f32(tb, m->bias, L)))
        goto fail;
thresholds:;
    const wd_tensor_info *tt = wd_safetensors_find(st, "threshold");
    if (tt) {
        if (!need_tensor(st, where, "threshold", 1, (int64_t)L, 0)) {
            rc = WD_ERR_FORMAT;
            goto fail;
        }
        if ((rc = wd_tensor_read_f32(tt, m->thr, L))) goto fail;
    } else {
        for (size_t l = 0; l < L; l++) m->thr[l] = 0.5f;
    }
    for (size_t l = 0; l < L; l++) {
        if (!isfinite(m->scale[l]) || !isfinite(m->bias[l]) || !isfinite(m->thr[l]) ||
            m->scale[l] < 0) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: label '%s': scale, bias or threshold not finite (or negative scale)",
                          where, m->labels[l]);
            goto fail;
        }
    }
    *out = m;
    return WD_OK;
fail:
    wd_textclf_free(m);
    return rc;
}

wd_status wd_textclf_load(const char *path, wd_textclf **out) {
    if (out) *out = NULL;
    if (!path || !out) return wd__fail(WD_ERR_INVALID_ARG, "textclf_load: NULL argument");
    wd_safetensors *st;
    wd_status rc = wd_safetensors_open(path, &st);
    if (rc) return rc;
    return from_safetensors(st, path, out);
}

wd_status wd_textclf_from_memory(const void *data, size_t len, wd_textclf **out) {
    if (out) *out = NULL;
    if (!out || (!data && len)) return wd__fail(WD_ERR_INVALID_ARG, "textclf_from_memory: NULL argument");
    wd_safetensors *st;
    wd_status rc = wd_safetensors_open_memory(data, len, "<memory model>", &st);
    if (rc) return rc;
    return from_safetensors(st, "<memory model>", out);
}

wd_status wd_textclf_save(const wd_textclf *m, const char *path, size_t n_meta,
                           const char *const *meta_keys, const char *const *meta_values) {
    if (!m || !path) return wd__fail(WD_ERR_INVALID_ARG, "textclf_save: NULL argument");
    wd_safetensors_writer *w;
    wd_status rc = wd_safetensors_writer_new(&w);
    if (rc) return rc;
    size_t D = (size_t)1 << m->cfg.hash_bits, L = m->n_labels;
    int64_t shw[2] = {(int64_t)D, (int64_t)L}, shl[1] = {(int64_t)L};
    char buf[1100], num[32];
    size_t off = 0;
    for (size_t l = 0; l < L && off < sizeof buf; l++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", l ? "," : "", m->labels[l]);
    if (m->is_cnn) {
        const wd__textcnn *c = &m->cnn;
        int64_t V = (int64_t)1 << c->sh.bits, Dm = c->sh.dim, F = c->sh.filters, K = (int64_t)c->sh.width * Dm;
        int64_t she[2] = {V, Dm}, shv[1] = {V}, shc[2] = {K, F}, shf[1] = {F}, shh[2] = {F, (int64_t)L};
        if ((rc = wd_safetensors_writer_add(w, "cnn.embed", WD_DTYPE_I8, she, 2, c->emb)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.embed_scale", WD_DTYPE_F32, shv, 1, c->emb_scale)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.conv", WD_DTYPE_F32, shc, 2, c->conv)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.conv_bias", WD_DTYPE_F32, shf, 1, c->conv_b)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.head", WD_DTYPE_F32, shh, 2, c->head)) ||
            (rc = wd_safetensors_writer_add_metadata(w, "arch", "cnn")))
            goto done;
        snprintf(num, sizeof num, "%d", c->sh.dim);
        if ((rc = wd_safetensors_writer_add_metadata(w, "cnn_dim", num))) goto done;
        snprintf(num, sizeof num, "%d", c->sh.filters);
        if ((rc = wd_safetensors_writer_add_metadata(w, "cnn_filters", num))) goto done;
        snprintf(num, sizeof num, "%d", c->sh.width);
        if ((rc = wd_safetensors_writer_add_metadata(w, "cnn_width", num))) goto done;
    } else if ((rc = wd_safetensors_writer_add(w, "weight", WD_DTYPE_I8, shw, 2, m->w)) ||
               (rc = wd_safetensors_writer_add(w, "scale", WD_DTYPE_F32, shl, 1, m->scale)))
        goto done;
    if ((rc = wd_safetensors_writer_add(w, "bias", WD_DTYPE_F32, shl, 1, m->bias)) ||
        (rc = wd_safetensors_writer_add(w, "threshold", WD_DTYPE_F32, shl, 1, m->thr)))
        goto done;
    if ((rc = wd_safetensors_writer_add_metadata(w, "format", WD_TEXTCLF_FORMAT))) goto done;
    snprintf(num, sizeof num, "%d", WD_TEXTCLF_VERSION);
    if ((rc = wd_safetensors_writer_add_metadata(w, "version", num))) goto done;
    snprintf(num, sizeof num, "%d", m->cfg.hash_bits);
    if ((rc = wd_safetensors_writer_add_metadata(w, "hash_bits", num))) goto done;
    snprintf(num, sizeof num, "%d-%d", m->cfg.word_min, m->cfg.word_max);
    if ((rc = wd_safetensors_writer_add_metadata(w, "word_ngrams", num))) goto done;
    snprintf(num, sizeof num, "%d-%d", m->cfg.char_min, m->cfg.char_max);
    if ((rc = wd_safetensors_writer_add_metadata(w, "char_ngrams", num))) goto done;
    snprintf(num, sizeof num, "%u", m->cfg.norm_flags);
    if ((rc = wd_safetensors_writer_add_metadata(w, "norm_flags", num))) goto done;
    if ((rc = wd_safetensors_writer_add_metadata(w, "labels", buf))) goto done;
    if (m->cfg.concepts && (rc = wd_safetensors_writer_add_metadata(w, "concepts", "wordnet-1")))
        goto done;
    if ((rc = wd_safetensors_writer_add_metadata(w, "hazard_head",
                                                 m->softmax_hazards ? "softmax" : "sigmoid")))
        goto done;
    for (size_t i = 0; i < n_meta; i++)
        if ((rc = wd_safetensors_writer_add_metadata(w, meta_keys[i], meta_values[i]))) goto done;
    rc = wd_safetensors_writer_write(w, path);
    if (rc) wd__fail(rc, "%s", wd_safetensors_writer_last_error(w));
done:
    wd_safetensors_writer_free(w);
    return rc;
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
