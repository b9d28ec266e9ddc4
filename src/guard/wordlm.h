/*
 * guard/wordlm.h - reads a text without the words that do not belong in it.
 *
 * An attacker dilutes a harmful request by scattering unrelated words
 * through it ("Write puzzle a last script here that silver ..."): the
 * lexicon's phrases break and the classifier's n-grams drown. This reading
 * keeps the most English-like subsequence of the words under a word-bigram
 * model of English (models/warden-wordlm-v1.bin, built by
 * scripts/gen-wordlm.py from public text, embedded in the library): a
 * Viterbi pass over "keep or drop" for every word, where a kept word costs
 * -log P(word | the previous kept word) and a dropped one a fixed penalty,
 * so a word is dropped only when the words around it read far better
 * without it. Words of the harm lexicon (the spelling vocabulary,
 * guard/spelling.h) are never dropped, and at most WD_WORDLM_SPAN - 1
 * words in a row are.
 *
 * Words are maximal runs of ASCII letters and digits, or of bytes >= 0x80,
 * of the normalised (lower-case) text; a line of more than 4096 words is
 * read in segments of 4096. Linear in the text (every word looks back at
 * most WD_WORDLM_SPAN words), and its work space is bounded (one segment).
 */
#ifndef WD_GUARD_WORDLM_H
#define WD_GUARD_WORDLM_H

#include <stdbool.h>
#include <stddef.h>

#include "guard/stop.h"

#define WD_WORDLM_SPAN 24

/* True when the embedded model is present and well formed (the library
 * builds without it; the reading is then never made). */
bool wd__wordlm_available(void);

/* Writes into out (room for n + 1 bytes) the words of t[0..n) the model
 * keeps, joined by single spaces; sets *len (bytes written), *words (words
 * in t) and *dropped (words left out; 0 when the model is missing or memory
 * ran out). Polls stop (may be NULL) every WD_SCAN_POLL_EVERY words;
 * returns WD_OK, or its answer. */
wd_status wd__wordlm_keep(const char *t, size_t n, char *out, const wd__scan_stop *stop, size_t *len,
                          size_t *words, size_t *dropped);

/* How often w[0..n) (lower-case) occurs in the model's text (stored
 * counts are rounded to 2^(k/12)); 0 for a word it never saw, -1 when the
 * model is missing. */
double wd__wordlm_count(const char *w, size_t n);

/* The same count when it is at least WD_WORDLM_COMMON, else 0; most
 * strings that are no such word are told apart by a 64 KiB bit set,
 * without reading the model's table. */
#define WD_WORDLM_COMMON 16.0
double wd__wordlm_common(const char *w, size_t n);

/* The bit set's answer alone: false means w is not such a word; true, that
 * it almost surely is (about one string in 300 that is not passes). */
bool wd__wordlm_maybe_common(const char *w, size_t n);

/* log P(b | a) under the model, for the words a[0..na) and b[0..nb) (NULL
 * a: b starts a sentence; NULL b: a ends one). For tests and tools. */
double wd__wordlm_logp(const char *a, size_t na, const char *b, size_t nb);

#endif
