/*
 * guard/wordlm.c - the words reading: which words of a text to keep; see
 * wordlm.h.
 *
 * The model (scripts/gen-wordlm.py writes it, the file comment there gives
 * the layout) holds two hash tables: word counts and word-pair counts,
 * keyed by 32 bits of the hash besides the slot's, so that a pair never
 * seen is read as 0 (a count-min sketch of the same size gave unseen pairs
 * a count often enough to keep scattered words). P(b | a) is the pair count smoothed toward b's unigram
 * probability:
 *
 *     P(b | a) = (c(a b) + BETA * Pu(b)) / (c(a) + BETA),
 *     Pu(b)    = (c(b) + 1/2) / (tokens + words)
 *
 * Each line of the text is read on its own, as one sentence between "<s>"
 * and "</s>". best[i] is the best score of a reading that keeps token i:
 *
 *     best[i] = max over j in [i - SPAN, i) of
 *               best[j] + log P(tok i | tok j) - LAMBDA * (i - j - 1)
 *
 * with j never before a protected word (a protected word is always kept).
 * LAMBDA (nats a dropped word) and BETA were chosen on the attack
 * evaluation (docs/security.md): low enough that a word unrelated to both
 * neighbours goes ("write puzzle a" costs ~ -23 nats kept, -6 - 10
 * dropped), high enough that the reading is used (3+ words and 30% of
 * them dropped) on fewer than one benign text in ten. LAMBDA was 11 until
 * the reading's scores counted in full; at 10 the `insertion` transform's
 * evasion went 5.2 -> 4.2% with every benign FPR still within a point of
 * clean, the reading used on 5.8% of the benign texts (3.9% at 11), and
 * ToxicChat's non-toxic prompts flagged 15.5 -> 15.8%; at 9 the typo
 * transforms' benign FPR left that point.
 */
#include "guard/wordlm.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/embed.h"
#include "base/hash.h"
#include "base/hashmap.h"
#include "guard/spelling.h"

#define LAMBDA 10.0
#define BETA   50.0
#define HEADER 32
/* Words read as one sentence at most: a longer line is read in segments
 * of this many, so the work space stays bounded whatever the text. */
#define SEGMENT 4096

#ifdef WD_HAVE_EMBEDDED_WORDLM
WD_EMBED_DECLARE(wd_embed_wordlm); /* models/warden-wordlm-v1.bin */
#endif

typedef struct table {
    const unsigned char *keys; /* u32 little-endian, 0 = empty */
    const uint8_t       *vals;
    size_t               size;
} table;

/* A bit set of the words seen at least WD_WORDLM_COMMON times (two bits
 * a word, from its table key): 64 KiB, so the spelling reading's
 * candidates (a thousand a word) are tested in cache before the table. */
#define COMMON_BITS 19

static struct {
    table          uni, bi;
    uint64_t      *common;
    double         tokens, types;
    double         dec[256]; /* stored byte -> count */
    bool           ok;
} M;
static pthread_once_t m_once = PTHREAD_ONCE_INIT;

/* The key a table stores for a word whose mixed hash is h: its high 32
 * bits, never 0 (0 marks an empty slot). */
static inline uint32_t table_key(uint64_t h) {
    uint32_t k = (uint32_t)(h >> 32);
    return k ? k : 1;
}

/* Bit b (0 or 1) of the common-word set for table key k. */
static inline uint32_t common_bit(uint32_t k, int b) {
    return (b ? k >> 13 : k) & (((uint32_t)1 << COMMON_BITS) - 1);
}

static bool common_has(uint32_t k) {
    for (int b = 0; b < 2; b++) {
        uint32_t bit = common_bit(k, b);
        if (!(M.common[bit >> 6] >> (bit & 63) & 1)) return false;
    }
    return true;
}

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static inline uint32_t load32(const unsigned char *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

static void load(void) {
#ifdef WD_HAVE_EMBEDDED_WORDLM
    const unsigned char *p = wd_embed_wordlm;
    size_t n = wd_embed_wordlm_len;
    if (n < HEADER || memcmp(p, "WDLM", 4) || le(p + 4, 4) != 2) return;
    uint64_t ub = le(p + 8, 4), bb = le(p + 12, 4);
    if (ub < 8 || ub > 28 || bb < 8 || bb > 28) return;
    size_t us = (size_t)1 << ub, bs = (size_t)1 << bb;
    if (n != HEADER + 5 * us + 5 * bs) return;
    M.tokens = (double)le(p + 16, 8);
    M.types = (double)le(p + 24, 8);
    if (M.tokens < 1) return;
    M.uni = (table){p + HEADER, p + HEADER + 4 * us, us};
    M.bi = (table){p + HEADER + 5 * us, p + HEADER + 5 * us + 4 * bs, bs};
    M.dec[0] = 0;
    for (int q = 1; q < 256; q++) M.dec[q] = exp2((q - 1) / 12.0);
    M.common = calloc((size_t)1 << (COMMON_BITS - 6), sizeof *M.common);
    if (!M.common) return;
    for (size_t i = 0; i < us; i++) {
        uint32_t k = load32(M.uni.keys + 4 * i);
        if (!k || M.dec[M.uni.vals[i]] < WD_WORDLM_COMMON) continue;
        for (int b = 0; b < 2; b++) {
            uint32_t bit = common_bit(k, b);
            M.common[bit >> 6] |= (uint64_t)1 << (bit & 63);
        }
    }
    M.ok = true;
#endif
}

bool wd__wordlm_available(void) {
    pthread_once(&m_once, load);
    return M.ok;
}

/* The count behind FNV-1a state h in t (0 when absent). The generator
 * keeps every table at most 3/4 full, so a probe ends at an empty slot. */
static double count(const table *t, uint64_t h) {
    h = wd__hash_u64(h); /* MurmurHash3's finaliser: FNV-1a's low bits alone pick slots badly */
    uint32_t key = table_key(h);
    for (size_t i = h & (t->size - 1), probes = 0; probes < t->size; i = (i + 1) & (t->size - 1), probes++) {
        uint32_t k = load32(t->keys + 4 * i);
        if (k == key) return M.dec[t->vals[i]];
        if (!k) break;
    }
    return 0;
}

typedef struct tok {
    const char *p;
    size_t      n;
    uint64_t    h;     /* FNV-1a of the word */
    uint64_t    hsp;   /* ... of the word and a space: a pair's hash starts here */
    double      lden;  /* log(c(word) + BETA) */
    double      lpu;   /* BETA * Pu(word) */
    bool        keep;  /* protected */
    bool        unseen; /* not in the model's vocabulary */
} tok;

static void tok_set(tok *t, const char *p, size_t n) {
    t->p = p;
    t->n = n;
    t->h = wd__fnv1a(p, n);
    t->hsp = wd__fnv1a_more(t->h, " ", 1);
    double c = count(&M.uni, t->h);
    t->lden = log(c + BETA);
    t->lpu = BETA * (c + 0.5) / (M.tokens + M.types);
    t->keep = false;
    t->unseen = c == 0;
}

/* At most LP_MAX: a pair is never more frequent than its first word, but
 * stored counts are rounded; keeping the bound lets keep_line skip reading
 * pairs that cannot win. */
#define LP_MAX 0.1

static double logp(const tok *a, const tok *b) {
    double c = count(&M.bi, wd__fnv1a_more(a->hsp, b->p, b->n));
    double l = log(c + b->lpu) - a->lden;
    return l < LP_MAX ? l : LP_MAX;
}

double wd__wordlm_count(const char *w, size_t n) {
    if (!wd__wordlm_available()) return -1;
    return count(&M.uni, wd__fnv1a(w, n));
}

bool wd__wordlm_maybe_common(const char *w, size_t n) {
    return wd__wordlm_available() && common_has(table_key(wd__hash_u64(wd__fnv1a(w, n))));
}

double wd__wordlm_common(const char *w, size_t n) {
    if (!wd__wordlm_available()) return 0;
    uint64_t h = wd__fnv1a(w, n);
    if (!common_has(table_key(wd__hash_u64(h)))) return 0;
    double c = count(&M.uni, h);
    return c >= WD_WORDLM_COMMON ? c : 0;
}

double wd__wordlm_logp(const char *a, size_t na, const char *b, size_t nb) {
    if (!wd__wordlm_available()) return 0;
    tok x, y;
    tok_set(&x, a ? a : "<s>", a ? na : 3);
    tok_set(&y, b ? b : "</s>", b ? nb : 4);
    return logp(&x, &y);
}

static bool word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static bool lower_word(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] < 'a' || p[i] > 'z') return false;
    return true;
}

/* One line: tokens t[0..m) (t[0] "<s>", t[m-1] "</s>"); appends the kept
 * words to out at *w, returns how many were dropped. whole: keep every
 * word (a line that is not English with words scattered into it). */
static size_t keep_line(const tok *t, size_t m, double *best, int32_t *back, char *out, size_t *w, bool whole) {
    size_t kept = 0;
    if (whole) {
        for (size_t i = 1; i + 1 < m; i++) best[i] = NAN, kept++;
    } else {
        best[0] = 0;
        size_t wall = 0; /* the last protected token: no reading skips it */
        for (size_t i = 1; i < m; i++) {
            size_t j0 = i > WD_WORDLM_SPAN ? i - WD_WORDLM_SPAN : 0;
            if (j0 < wall) j0 = wall;
            double b = -INFINITY;
            int32_t bj = (int32_t)i - 1;
            for (size_t j = i; j-- > j0;) { /* nearest first: the bound then prunes most */
                double skip = best[j] - LAMBDA * (double)(i - j - 1);
                if (skip + LP_MAX <= b) continue;
                double s = skip + logp(&t[j], &t[i]);
                if (s > b || (s == b && (int32_t)j < bj)) b = s, bj = (int32_t)j;
            }
            best[i] = b;
            back[i] = bj;
            if (t[i].keep) wall = i;
        }
        /* walk back from "</s>", marking the kept tokens in best[] (reused) */
        for (int32_t i = back[m - 1]; i > 0; i = back[i]) best[i] = NAN, kept++;
    }
    size_t first = *w;
    for (size_t i = 1; i + 1 < m; i++) {
        if (!isnan(best[i])) continue;
        if (*w > first) out[(*w)++] = ' ';
        memcpy(out + *w, t[i].p, t[i].n);
        *w += t[i].n;
    }
    return m - 2 - kept;
}

wd_status wd__wordlm_keep(const char *t, size_t n, char *out, const wd__scan_stop *stop, size_t *len,
                          size_t *words, size_t *dropped) {
    *len = *words = *dropped = 0;
    if (!wd__wordlm_available() || n == 0) return WD_OK;
    size_t cap = n / 2 + 3; /* a segment's words, with its two markers */
    if (cap > SEGMENT + 2) cap = SEGMENT + 2;
    /* one block: the tokens, then best[], then back[] (tok and double
     * both keep 8-byte alignment) */
    tok *tk = malloc(cap * (sizeof *tk + sizeof(double) + sizeof(int32_t)));
    if (!tk) return WD_OK; /* out of memory: no reading, the text itself is still scanned */
    double *best = (double *)(tk + cap);
    int32_t *back = (int32_t *)(best + cap);
    wd_status st = WD_OK;
    size_t i = 0, w = 0, since_poll = 0, total = 0, gone = 0;
    char sep = 0; /* what goes before the next segment's words: none, ' ' or '\n' */
    while (i < n && st == WD_OK) {
        size_t m = 0;
        tok_set(&tk[m++], "<s>", 3);
        while (i < n && t[i] != '\n' && m <= SEGMENT) {
            if (!word_byte((unsigned char)t[i])) {
                i++;
                continue;
            }
            size_t a = i;
            while (i < n && word_byte((unsigned char)t[i])) i++;
            tok_set(&tk[m], t + a, i - a);
            tk[m].keep = i - a <= 20 && lower_word(t + a, i - a) && wd__spelling_in_lexicon(t + a, i - a);
            m++;
            if (++since_poll >= WD_SCAN_POLL_EVERY / WD_WORDLM_SPAN) {
                since_poll = 0;
                if ((st = wd__scan_stop_poll(stop)) != WD_OK) break;
            }
        }
        if (st != WD_OK) break;
        bool line_end = i < n && t[i] == '\n';
        if (line_end) i++;
        if (m > 1) {
            tok_set(&tk[m++], "</s>", 4);
            size_t before = w;
            if (sep) out[w++] = sep;
            size_t start = w, unseen = 0;
            for (size_t k = 1; k + 1 < m; k++) unseen += tk[k].unseen;
            /* A line whose words are mostly unknown (reversed or enciphered
             * text, another language, code) is not English with words
             * scattered into it: the best-scoring subsequence of it is
             * noise. It is kept whole. */
            gone += keep_line(tk, m, best, back, out, &w, 2 * unseen > m - 2);
            total += m - 2;
            if (w == start) w = before; /* nothing kept: no separator either */
            else sep = ' ';
        }
        if (line_end && sep) sep = '\n';
    }
    free(tk);
    if (st != WD_OK) return st;
    *len = w;
    *words = total;
    *dropped = gone;
    return WD_OK;
}
