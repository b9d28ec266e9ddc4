/*
 * guard/spelling.c - typo correction toward the harm lexicon's words; see
 * spelling.h.
 *
 * Index: an open-addressing table of 64-bit FNV-1a hashes -> vocabulary
 * index, holding every vocabulary word (exact) and each of its one-letter
 * deletions. A text word w matches v when w == v (no typo), when w is a
 * deletion of v (a dropped letter), when a deletion of w is v (an added
 * letter), or when a deletion of w is a deletion of v (a replaced letter or
 * two swapped neighbours); each candidate is confirmed with an exact
 * one-edit check, since different keys may share a hash and two deletions
 * may coincide for words two edits apart.
 */
#include "guard/spelling.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/util.h"
#include "guard/english.h"
#include "guard/lexicon.h"
#include "guard/wordlm.h"

#define WMIN 4
#define WMAX 20
#define MAX_VOCAB 4096
#define TABLE_BITS 16 /* 65536 slots: the ~2000 words of harm.lex and their ~16000 keys, a quarter full */

typedef struct slot {
    uint64_t key;  /* 0 = empty */
    uint16_t id;   /* vocabulary index */
    uint8_t  exact;
} slot;

#define MAX_STEMS 128

static struct {
    char  (*word)[WMAX + 1];
    uint8_t *len;
    uint8_t *target; /* a rule's word: a typo may be corrected to it */
    size_t   n;
    char     stem[MAX_STEMS][WMAX + 1]; /* the lexicon's prefixes ("synthesi*"), for wd__spelling_in_lexicon */
    uint8_t  stem_len[MAX_STEMS];
    size_t   n_stem;
    slot    *table;
    bool     ok;
} V;
static pthread_once_t v_once = PTHREAD_ONCE_INIT;

static uint64_t fnv(const char *s, size_t n, size_t skip) {
    uint64_t h = skip < n ? wd__fnv1a_more(wd__fnv1a(s, skip), s + skip + 1, n - skip - 1) : wd__fnv1a(s, n);
    h ^= n - (skip < n); /* the length, so "ab" and a deletion of "abc" differ from "ab"+"c" */
    return h ? h : 1;
}

static void put(uint64_t key, uint16_t id, bool exact) {
    size_t mask = ((size_t)1 << TABLE_BITS) - 1, i = (size_t)key & mask;
    for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
        if (!V.table[i].key) {
            V.table[i] = (slot){key, id, exact};
            return;
        }
        if (V.table[i].key == key) {
            if (exact && !V.table[i].exact) V.table[i] = (slot){key, id, true}; /* a word beats a deletion */
            return;
        }
    }
}

static const slot *get(uint64_t key) {
    size_t mask = ((size_t)1 << TABLE_BITS) - 1, i = (size_t)key & mask;
    for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
        if (!V.table[i].key) return NULL;
        if (V.table[i].key == key) return &V.table[i];
    }
    return NULL;
}

static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

/* Vocabulary: words of WMIN..WMAX letters in the statements of harm.lex
 * (not in comments, not prefixes such as "explosiv*"). A word is a
 * correction target only when a rule looks for it: it is in the phrases of
 * an @set statement or in a rule's quoted phrases; the names of sets and
 * rules and the @safe / @negate / @refusal / @mention phrases (what is
 * benign) are words of the lexicon, known as such, but a typo is never
 * read toward them ("haet" is "hate", not the "heat" of "heat gun"). */
enum { ST_SKIP, ST_SET, ST_RULE };

static void build(void) {
    size_t len;
    const char *t = wd__lexicon_builtin("harm", &len);
    V.word = calloc(MAX_VOCAB, sizeof *V.word);
    V.len = calloc(MAX_VOCAB, 1);
    V.target = calloc(MAX_VOCAB, 1);
    V.table = calloc((size_t)1 << TABLE_BITS, sizeof *V.table);
    if (!t || !V.word || !V.len || !V.target || !V.table) return;
    size_t i = 0, keys = 0;
    bool comment = false, line_start = true, colon = false, quote = false;
    int state = ST_SKIP;
    while (i < len && V.n < MAX_VOCAB) {
        char c = t[i];
        if (line_start && c != ' ' && c != '\t' && c != '|' && c != '\n' && c != '#') {
            /* a new statement (a continuation line keeps the state) */
            state = len - i >= 5 && !memcmp(t + i, "@set ", 5) ? ST_SET
                    : len - i >= 5 && !memcmp(t + i, "rule ", 5) ? ST_RULE
                                                                 : ST_SKIP;
            colon = quote = false;
        }
        line_start = c == '\n';
        if (c == '\n') comment = false;
        if (c == '#') comment = true;
        if (!comment && c == ':') colon = true;
        if (!comment && c == '"') quote = !quote;
        bool target = state == ST_SET ? colon : state == ST_RULE && quote;
        if (comment || !((c | 32) >= 'a' && (c | 32) <= 'z')) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < len && (t[i] | 32) >= 'a' && (t[i] | 32) <= 'z') i++;
        size_t m = i - a;
        if (i < len && t[i] == '*' && m >= 3 && m <= WMAX && V.n_stem < MAX_STEMS && !(a > 0 && t[a - 1] == '@')) {
            for (size_t k = 0; k < m; k++) V.stem[V.n_stem][k] = (char)(t[a + k] | 32);
            V.stem_len[V.n_stem++] = (uint8_t)m;
        }
        if (m < WMIN || m > WMAX || (i < len && t[i] == '*') || (a > 0 && t[a - 1] == '@')) continue;
        char w[WMAX + 1];
        for (size_t k = 0; k < m; k++) w[k] = (char)(t[a + k] | 32);
        const slot *s = get(fnv(w, m, SIZE_MAX));
        if (s && s->exact) {
            V.target[s->id] |= target;
            continue;
        }
        if (keys + m + 1 > ((size_t)1 << TABLE_BITS) / 2) break; /* keep the table at most half full */
        keys += m + 1;
        uint16_t id = (uint16_t)V.n++;
        memcpy(V.word[id], w, m);
        V.len[id] = (uint8_t)m;
        V.target[id] = target;
        put(fnv(w, m, SIZE_MAX), id, true);
    }
    /* the deletions, the rules' words first: where a word of a @safe phrase
     * and a rule's word share one ("heat" and "hate": "hat"), the key leads
     * to the rule's word */
    for (int pass = 1; pass >= 0; pass--)
        for (size_t id = 0; id < V.n; id++)
            if (V.target[id] == pass)
                for (size_t k = 0; k < V.len[id]; k++) put(fnv(V.word[id], V.len[id], k), (uint16_t)id, false);
    V.ok = true;
}

/* True when a and b are at most one edit apart (Damerau: a letter dropped,
 * added, replaced, or two neighbours swapped). */
static bool one_edit(const char *a, size_t na, const char *b, size_t nb) {
    if (na > nb + 1 || nb > na + 1) return false;
    size_t p = 0;
    while (p < na && p < nb && a[p] == b[p]) p++;
    if (na == nb) {
        if (p == na) return true;
        if (!memcmp(a + p + 1, b + p + 1, na - p - 1)) return true; /* replaced */
        return p + 1 < na && a[p] == b[p + 1] && a[p + 1] == b[p] && !memcmp(a + p + 2, b + p + 2, na - p - 2);
    }
    if (na > nb) return !memcmp(a + p + 1, b + p, nb - p); /* a has an extra letter */
    return !memcmp(a + p, b + p + 1, na - p);
}

#include "guard/dict_table.inc"

/* True when w[0..n) is an English word of WordNet's or one of its
 * inflections (scripts/gen-dict.py; a 32-bit key, so a non-word is taken
 * for one about once in 20,000). */
static bool in_dict(const char *w, size_t n) {
    uint64_t h = wd__fnv1a(w, n);
    return wd__u32_sorted_has(wd_dict_keys, WD_DICT_N, (uint32_t)(h ^ h >> 32));
}

/* The vocabulary word w[0..n) is a typo of, or -1. */
static int correct(const char *w, size_t n) {
    const slot *s = get(fnv(w, n, SIZE_MAX));
    if (s && s->exact && V.len[s->id] == n && !memcmp(V.word[s->id], w, n)) return -1; /* a word of its own */
    float own = wd__english_letters(w, n);
    if (own > -2.8f * (float)(n + 1)) return -1; /* reads like English ("flight", "birds"): no typo */
    /* the dictionary (a binary search of 189,376 keys) only for the words
     * the letter scores did not settle: most English words read as such */
    if (in_dict(w, n)) return -1; /* an English word ("riding" is not "hiding") */
    int best = -1;
    float gain = 0;
    for (size_t k = 0; k <= n; k++) {
        s = get(fnv(w, n, k < n ? k : SIZE_MAX));
        if (!s || !V.target[s->id] || !one_edit(w, n, V.word[s->id], V.len[s->id])) continue;
        size_t vn = V.len[s->id];
        if (n == vn + 1 && !memcmp(w, V.word[s->id], vn)) continue; /* an ending ("takes", "built"): no typo */
        float g = wd__english_letters(V.word[s->id], vn) - wd__english_letters(w, n);
        if (g > gain) gain = g, best = s->id;
    }
    return gain >= 3.0f ? best : -1;
}

bool wd__spelling_in_lexicon(const char *w, size_t n) {
    pthread_once(&v_once, build);
    if (!V.ok || n > WMAX) return false;
    for (size_t i = 0; i < V.n_stem; i++) /* stems have 3+ letters: two compares settle most */
        if (n >= V.stem_len[i] && w[0] == V.stem[i][0] && w[1] == V.stem[i][1] &&
            !memcmp(w + 2, V.stem[i] + 2, V.stem_len[i] - 2u))
            return true;
    if (n < WMIN) return false;
    const slot *s = get(fnv(w, n, SIZE_MAX));
    return s && s->exact && V.len[s->id] == n && !memcmp(V.word[s->id], w, n);
}

bool wd__spelling_is_target(const char *w, size_t n) {
    pthread_once(&v_once, build);
    if (!V.ok || n < WMIN || n > WMAX) return false;
    const slot *s = get(fnv(w, n, SIZE_MAX));
    return s && s->exact && V.len[s->id] == n && !memcmp(V.word[s->id], w, n) && V.target[s->id];
}

/* A word of the text (at most WMAX letters) and its neighbours, for the
 * word model's context (p NULL: the sentence starts or ends there). */
typedef struct span {
    const char *p;
    size_t      n;
} span;


/* How well c[0..n) reads between prev and next: log P(c | prev) +
 * log P(next | c), or -inf for a word the model saw fewer than
 * WD_WORDLM_COMMON times (a correction must be a word people write). */
#define VMIN 3
/* Unknown words a text's vocabulary pass tries at most (each up to 53 n +
 * 25 candidates): typos are a handful a prompt; a long text of unknown
 * words is capped at ~2 ms rather than ~1 s a megabyte. */
#define VBUDGET 256

static double fit(const char *c, size_t n, span prev, span next) {
    if (!wd__wordlm_common(c, n)) return -INFINITY;
    return wd__wordlm_logp(prev.p, prev.n, c, n) + wd__wordlm_logp(c, n, next.p, next.n);
}

/* True when w[0..n) has VMIN..WMAX letters and neither the word model,
 * WordNet nor the lexicon knows it. */
static bool unknown(const char *w, size_t n) {
    if (n < VMIN || n > WMAX || wd__wordlm_maybe_common(w, n)) return false; /* most words, in cache */
    return wd__wordlm_count(w, n) == 0 && !in_dict(w, n) && !wd__spelling_in_lexicon(w, n);
}

/* The unknown words of the line of t[0..n) that starts at i, when it reads
 * as English with a few typos: some but at most half of its words of VMIN+
 * letters unknown. Their offsets go to at[] (the first room of them), their
 * number to *n_at (0 for any other line). Polls stop; returns WD_OK or its
 * answer. A line of mostly unknown words is a cipher (reversed, rot13),
 * another language or code, where "correcting" words one by one makes up
 * English ("siht" is one swap from a swear word). */
static wd_status typo_line(const char *t, size_t n, size_t i, const wd__scan_stop *stop, size_t *at, size_t room,
                           size_t *n_at) {
    size_t words = 0, unk = 0, next_poll = i + WD_SCAN_POLL_BYTES / 4;
    *n_at = 0;
    while (i < n && t[i] != '\n') {
        if (i >= next_poll) {
            wd_status st = wd__scan_stop_poll(stop);
            if (st != WD_OK) return st;
            next_poll = i + WD_SCAN_POLL_BYTES / 4;
        }
        if (!is_lower(t[i])) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < n && is_lower(t[i])) i++;
        if (i - a < VMIN) continue;
        words++;
        if (!unknown(t + a, i - a)) continue;
        if (unk++ < room) at[unk - 1] = a;
    }
    if (unk > 0 && 2 * unk <= words) *n_at = unk < room ? unk : room; /* none: nothing to correct either */
    return WD_OK;
}

/* The vocabulary's pass, for a word the lexicon's does not correct: an
 * unknown word w[0..n) (typo_line found it) becomes the word one edit away
 * (a letter dropped, added, replaced, or two neighbours swapped) that reads
 * best between its neighbours. Writes it to out and returns its length, or
 * 0 (no correction). At most 53 n + 25 lookups a word. */
static size_t vocab_correct(const char *w, size_t n, span prev, span next, char *out) {
    char c[WMAX + 2];
    double best = -INFINITY;
    size_t bn = 0;
#define TRY(len)                                       \
    do {                                               \
        double f_ = fit(c, (len), prev, next);         \
        if (f_ > best) {                               \
            best = f_;                                 \
            bn = (len);                                \
            memcpy(out, c, bn);                        \
        }                                              \
    } while (0)
    /* a letter added; not the last one: a word with a letter past a common
     * word, or with another last letter, is an ending or a word of its own
     * ("bombe" is neither "bomb" nor "bombs"), as in correct() */
    for (size_t k = 0; k + 1 < n && n > VMIN; k++) {
        memcpy(c, w, k);
        memcpy(c + k, w + k + 1, n - k - 1);
        TRY(n - 1);
    }
    for (size_t k = 0; k + 1 < n; k++) { /* two neighbours swapped */
        if (w[k] == w[k + 1]) continue;
        memcpy(c, w, n);
        c[k] = w[k + 1];
        c[k + 1] = w[k];
        TRY(n);
    }
    for (size_t k = 0; k + 1 < n; k++) { /* a letter replaced; not the last, for the same reason */
        memcpy(c, w, n);
        for (char x = 'a'; x <= 'z'; x++) {
            if (x == w[k]) continue;
            c[k] = x;
            TRY(n);
        }
    }
    for (size_t k = 0; k <= n && n < WMAX; k++) { /* a letter dropped */
        memcpy(c, w, k);
        memcpy(c + k + 1, w + k, n - k);
        for (char x = 'a'; x <= 'z'; x++) {
            c[k] = x;
            TRY(n + 1);
        }
    }
#undef TRY
    return best > -INFINITY ? bn : 0;
}

/* The word of t that ends at e (exclusive; spaces between), or none. */
static span word_before(const char *t, size_t e) {
    while (e > 0 && t[e - 1] == ' ') e--;
    size_t a = e;
    while (a > 0 && is_lower(t[a - 1])) a--;
    if (a == e || e - a > WMAX || (a > 0 && !(t[a - 1] == ' ' || t[a - 1] == '\n'))) return (span){NULL, 0};
    return (span){t + a, e - a};
}

/* The word of t[0..n) that starts at or after i past spaces, or none. */
static span word_after(const char *t, size_t n, size_t i) {
    while (i < n && t[i] == ' ') i++;
    size_t a = i;
    while (i < n && is_lower(t[i])) i++;
    if (a == i || i - a > WMAX || (i < n && !(t[i] == ' ' || t[i] == '\n'))) return (span){NULL, 0};
    return (span){t + a, i - a};
}

wd_status wd__spelling_fix(const char *t, size_t n, char *out, const wd__scan_stop *stop, size_t *len,
                           size_t *fixed) {
    *fixed = *len = 0;
    pthread_once(&v_once, build);
    if (!V.ok) return WD_OK;
    bool vocab = wd__wordlm_available();
    /* a word costs up to 22 lookups in the lexicon's table, and up to
     * 53 * 20 + 25 in the word model's */
    size_t w = 0, i = 0, next_poll = WD_SCAN_POLL_BYTES / 64;
    size_t unk_at[VBUDGET], n_unk = 0, k_unk = 0; /* the line's unknown words, the next one */
    size_t budget = VBUDGET; /* unknown words the vocabulary's pass may still try */
    while (i < n) {
        if (i >= next_poll) {
            wd_status st = wd__scan_stop_poll(stop);
            if (st != WD_OK) return st;
            next_poll = i + WD_SCAN_POLL_BYTES / 64;
        }
        if (i == 0 || t[i - 1] == '\n') { /* a line starts */
            n_unk = k_unk = 0;
            wd_status st = vocab && budget ? typo_line(t, n, i, stop, unk_at, budget, &n_unk) : WD_OK;
            if (st != WD_OK) return st;
            budget -= n_unk;
        }
        if (!is_lower(t[i])) {
            out[w++] = t[i++];
            continue;
        }
        size_t a = i;
        while (i < n && is_lower(t[i])) i++;
        size_t m = i - a;
        bool unk = k_unk < n_unk && unk_at[k_unk] == a;
        k_unk += unk;
        bool ascii = (a == 0 || (unsigned char)t[a - 1] < 0x80) && (i == n || (unsigned char)t[i] < 0x80);
        int id = ascii && m >= WMIN - 1 && m <= WMAX + 1 ? correct(t + a, m) : -1;
        size_t vn = 0;
        if (id >= 0) {
            memcpy(out + w, V.word[id], V.len[id]);
            w += V.len[id];
            (*fixed)++;
        } else if (unk && ascii && (a == 0 || !(t[a - 1] >= '0' && t[a - 1] <= '9')) &&
                   (i == n || !(t[i] >= '0' && t[i] <= '9')) &&
                   (vn = vocab_correct(t + a, m, word_before(t, a), word_after(t, n, i), out + w)) > 0) {
            w += vn;
            (*fixed)++;
        } else {
            memcpy(out + w, t + a, m);
            w += m;
        }
    }
    *len = w;
    return WD_OK;
}
