/*
 * guard/english.h - how much a run of letters looks like an English word.
 *
 * A letter-trigram model (27 symbols: a-z and the word boundary; natural-log
 * probabilities counted from warden's own documentation and comments, see
 * scripts/gen_english_model.py; a 19.7 KB table) plus a bonus for the most
 * common English words. The decoders use it to tell which of two readings of a word is the
 * plain one ("ubj" or "how", "bmob" or "bomb"), and whether a hidden string
 * is prose or noise. Linear in the input; no allocation.
 */
#ifndef WD_GUARD_ENGLISH_H
#define WD_GUARD_ENGLISH_H

#include <stddef.h>

/* Log-likelihood of the ASCII letters of w[0..n) (case-insensitive; other
 * bytes are skipped) as one word, plus 4 when it is one of the common words.
 * Higher is more English-like; compare readings of equal length. */
float wd__english_word(const char *w, size_t n);

/* The same without the common-word bonus: the letters alone. */
float wd__english_letters(const char *w, size_t n);

/* Mean log-probability per letter over the words (runs of ASCII letters) of
 * t[0..n): English prose scores about -2.3, random characters -3.7 or less.
 * Returns -99 when t holds no letter. */
float wd__english_mean(const char *t, size_t n);

#endif
