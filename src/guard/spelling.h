/*
 * guard/spelling.h - undoes typos in the words the harm lexicon is made of,
 * and in the rest of the words a text is written in.
 *
 * A typo ("hcak", "ivrus", "stels") breaks both the lexicon's phrases and
 * the classifier's n-grams. The vocabulary is every word of 4-20 letters in
 * the built-in harm lexicon (lexicons/harm.lex); a word of the text that is
 * one edit (a letter dropped, added, replaced, or two neighbours swapped)
 * from a vocabulary word, reads unlike English (below -2.8 nats a letter)
 * and clearly less like English than that word (guard/english.h: "comb"
 * and "flight" stay, "hcak" becomes "hack"), is replaced by it. Lookups use the symmetric-delete scheme: the vocabulary
 * words and their one-letter deletions are hashed once (on first use,
 * thread-safe), and a text word costs its length + 1 lookups, so a text is
 * corrected in linear time without allocating.
 *
 * A word that pass leaves, of 3-20 letters, that neither the word model
 * (guard/wordlm.h) nor WordNet (dict_table.inc, scripts/gen-dict.py) knows
 * becomes the word one edit away, seen at least WD_WORDLM_COMMON times by
 * the word model, that reads best between its neighbours ("tutoril",
 * "sotware"); never by changing or adding a last letter ("bombe"), and
 * never in a line whose words are mostly unknown (a cipher, another
 * language). At most 53 n + 25 candidates a word, tested in a 64 KiB bit
 * set before the model's table, for at most 256 unknown words a text.
 */
#ifndef WD_GUARD_SPELLING_H
#define WD_GUARD_SPELLING_H

#include <stdbool.h>
#include <stddef.h>

#include "guard/stop.h"

/* Writes into out (room for n + n / 4 + 16 bytes) t[0..n) (lower-case, as
 * normalised) with its typos undone; sets the length written in *len and
 * the number of words corrected in *fixed (both 0 when the vocabulary
 * could not be built: out of memory). Polls stop (may be NULL) every
 * 16 KiB; returns WD_OK, or its answer. */
wd_status wd__spelling_fix(const char *t, size_t n, char *out, const wd__scan_stop *stop, size_t *len,
                           size_t *fixed);

/* True when w[0..n) (lower-case) is a word of that vocabulary, or starts
 * with one of the lexicon's prefixes ("synthesize" for "synthesi*"). */
bool wd__spelling_in_lexicon(const char *w, size_t n);

/* True when w[0..n) (lower-case) is a word a typo may be corrected to: a
 * word of one of the lexicon's sets or of a rule's quoted phrases, not one
 * only of its @safe / @negate / @refusal / @mention phrases or its names. */
bool wd__spelling_is_target(const char *w, size_t n);

#endif
