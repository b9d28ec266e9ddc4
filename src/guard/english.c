/*
 * guard/english.c - letter-bigram model of English words; see english.h.
 */
#include "guard/english.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "guard/english_table.inc"

/* The most common English words (function words and request verbs). Sorted. */
static const char *const COMMON[] = {
    "a",
    "about",
    "after",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "ask",
    "at",
    "be",
    "because",
    "been",
    "but",
    "by",
    "can",
    "could",
    "do",
    "does",
    "each",
    "even",
    "every",
    "first",
    "for",
    "from",
    "get",
    "give",
    "good",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "know",
    "like",
    "make",
    "many",
    "may",
    "me",
    "more",
    "most",
    "much",
    "must",
    "my",
    "new",
    "no",
    "not",
    "now",
    "of",
    "on",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "people",
    "please",
    "say",
    "see",
    "she",
    "should",
    "show",
    "so",
    "some",
    "step",
    "such",
    "take",
    "tell",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "time",
    "to",
    "two",
    "up",
    "us",
    "use",
    "very",
    "want",
    "was",
    "way",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "write",
    "you",
    "your",
};
#define N_COMMON (sizeof COMMON / sizeof COMMON[0])

static int sym(unsigned char c) { return ((c | 32) >= 'a' && (c | 32) <= 'z') ? (c | 32) - 'a' + 1 : -1; }

/* A word of at most 8 letters as one number: its bytes from the most
 * significant down, zeros after, so that the numbers sort as the words do
 * ("a" < "about" < "after"). The search compares numbers, not strings
 * (the strings' strlen and memcmp were a fifth of the default policy's
 * time on bench_guard's prompts). */
static uint64_t pack8(const char *s, size_t n) {
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++) k = k << 8 | (i < n ? (uint8_t)s[i] : 0);
    return k;
}

static uint64_t COMMON_KEYS[N_COMMON];
static pthread_once_t common_once = PTHREAD_ONCE_INIT;

/* Every COMMON word has at most 8 letters (is_common reads no more), so a
 * key is exact and the keys sort as COMMON does (test_english_common). */
static void common_init(void) {
    for (size_t i = 0; i < N_COMMON; i++) COMMON_KEYS[i] = pack8(COMMON[i], strlen(COMMON[i]));
}

/* True when the letters of w[0..n), lower-cased, are a common word. */
static int is_common(const char *w, size_t n) {
    char low[8];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (sym((unsigned char)w[i]) < 0) continue;
        if (m == sizeof low) return 0;
        low[m++] = (char)(w[i] | 32);
    }
    pthread_once(&common_once, common_init);
    const uint64_t key = pack8(low, m);
    size_t lo = 0, hi = N_COMMON;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (COMMON_KEYS[mid] == key) return 1;
        if (COMMON_KEYS[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* ln P of the word's letters and its end, in units of 1/8. */
static int word_logp8(const char *w, size_t n) {
    int s = 0, a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        int c = sym((unsigned char)w[i]);
        if (c < 0) continue;
        s += TRIGRAM[a][b][c];
        a = b;
        b = c;
    }
    return s + TRIGRAM[a][b][0];
}

float wd__english_word(const char *w, size_t n) {
    float s = (float)word_logp8(w, n) / 8.0f;
    return is_common(w, n) ? s + 4.0f : s;
}

float wd__english_letters(const char *w, size_t n) { return (float)word_logp8(w, n) / 8.0f; }

float wd__english_mean(const char *t, size_t n) {
    long s = 0;
    size_t k = 0, i = 0;
    while (i < n) {
        if (sym((unsigned char)t[i]) < 0) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < n && sym((unsigned char)t[i]) >= 0) i++;
        s += word_logp8(t + a, i - a);
        k += i - a + 1;
    }
    return k ? (float)s / 8.0f / (float)k : -99.0f;
}
