/*
 * guard/payload.h - finds payloads hidden in an encoding so the guard can
 * decode them and scan the plain text again:
 *
 *   base64    runs of the base64 alphabet (standard or URL-safe)
 *   hex       runs of hex digits; hex bytes one by one, separated ("48 6f",
 *             "48,6f", "48:6f") or prefixed ("\x48\x6f", "0x48 0x6f", "%48%6f")
 *   tags      ASCII written in Unicode tag characters (U+E0020-E007E),
 *             which a reader does not see but many models read
 *   rot13     words whose rot13 reads as English far better than they do
 *   reverse   words whose mirror image reads as English far better
 *   piglatin  a text most of whose words end in "ay": each such word undone
 *   spelling  typos in the harm lexicon's words undone (guard/spelling.h)
 *   words     the text without the words that do not belong in it: random
 *             words scattered through a request (guard/wordlm.h)
 *
 * Payloads are reported only when they decode to text a person would read
 * (valid UTF-8, mostly letters and spaces): random tokens, hashes and keys
 * decode to binary noise and are skipped (the secrets scanner looks at
 * those). The last three are ciphers of the whole text: they are judged
 * word by word with the English model (guard/english.h) on the normalised
 * text. The rot13 / reverse variant is the lines that hold the words whose
 * deciphered reading is clearly more English-like, with every word that
 * reads better deciphered replaced (the rest kept), so neither a plain
 * instruction around a ciphered request hides it nor is the instruction
 * read twice; reversed lines are mirrored whole instead (word order too)
 * when sentence punctuation stands before the words (" ?bmob"), and both
 * readings are scanned when it does not tell. Pig Latin: the whole text,
 * each "-ay" word undone. A text thus costs at most four extra scans;
 * all of it is linear in the text.
 */
#ifndef WD_GUARD_PAYLOAD_H
#define WD_GUARD_PAYLOAD_H

#include <stddef.h>

#include "guard/canonical.h"

/* CIPHERS: the readings of the whole text; a variant from one of them is
 * not read these ways again. */
enum { WD_DECODE_BASE64 = 1, WD_DECODE_HEX = 2, WD_DECODE_ROT13 = 4, WD_DECODE_REVERSE = 8,
       WD_DECODE_PIGLATIN = 16, WD_DECODE_TAGS = 32, WD_DECODE_SPELLING = 64, WD_DECODE_WORDS = 128,
       WD_DECODE_CIPHERS = WD_DECODE_ROT13 | WD_DECODE_REVERSE | WD_DECODE_PIGLATIN | WD_DECODE_SPELLING |
                           WD_DECODE_WORDS,
       WD_DECODE_ALL = 255 };

/* Called for each payload: bytes [start, end) of the text decode to
 * plain[0..n) (valid UTF-8, not NUL-terminated, valid during the call).
 * kind is one WD_DECODE_* bit. Return nonzero to stop. */
typedef int (*wd__decode_fn)(size_t start, size_t end, const char *plain, size_t n, int kind,
                            void *user);

/* What wd__payload_whole_cipher found out about norm's ciphers, so that
 * wd__payload_scan does not read every word again to learn that a text is
 * no cipher (the common case): per cipher, whether it was measured and
 * whether the text passed the test that makes a reading of it. */
typedef struct wd__cipher_counts {
    unsigned measured; /* WD_DECODE_ROT13 / REVERSE / PIGLATIN bits */
    unsigned readable; /* of those, the ones whose reading is to be made */
} wd__cipher_counts;

/* Scans text[0..len) for payloads of the kinds in `kinds`: base64/hex runs
 * of at least min_len characters (separated hex bytes: min_len / 2 bytes),
 * tag characters anywhere, and the ciphers judged on norm (the normalised
 * text; their payload spans the whole text), skipping those that `known`
 * (norm's counts from wd__payload_whole_cipher; NULL: none) measured and
 * found not readable. buf/cap is a work buffer grown with realloc (the
 * caller frees *buf). Linear in len; polls stop (may be NULL) every 64 KiB
 * of text or WD_SCAN_POLL_EVERY words. Returns WD_OK (also when fn stopped
 * it), WD_ERR_NOMEM, or WD_ERR_TIMEOUT / WD_ERR_CANCELLED when told to stop. */
wd_status wd__payload_scan(const char *text, size_t len, const wd__canon *norm, unsigned kinds,
                          size_t min_len, char **buf, size_t *cap, wd__decode_fn fn, void *user,
                          const wd__scan_stop *stop, const wd__cipher_counts *known);

/* Decodes base64 (standard or URL-safe alphabet, padding optional) of n
 * characters into out (room for n*3/4+3 bytes). Returns the decoded length,
 * or -1 when s is not base64. */
long wd__base64_decode(const char *s, size_t n, unsigned char *out);

/* True when p[0..n) is text a person would read: valid UTF-8, no control
 * characters but whitespace, >= 60% ASCII letters and spaces. */
#include <stdbool.h>
bool wd__payload_readable(const unsigned char *p, size_t n);

/* Sets *whole when the normalised text as a whole is one of the ciphers in
 * kinds (every line of it rot13 or reversed, or two thirds of its words Pig
 * Latin): its words are noise to a model, which should read the deciphered
 * variant that wd__payload_scan reports instead. counts (may be NULL) gets
 * which ciphers were measured and which are worth a reading, for
 * wd__payload_scan. Returns WD_OK, or what stop (may be NULL) says
 * while the words are read (*whole is then false). */
wd_status wd__payload_whole_cipher(const wd__canon *norm, unsigned kinds, const wd__scan_stop *stop, bool *whole,
                                   wd__cipher_counts *counts);

/* Decodes the tag characters U+E0020-E007E of t[0..n), wherever they are,
 * to their ASCII (U+E0041 -> 'A') in out (room for n / 4 bytes). Returns
 * how many; *first / *last: the byte span from the first to the end of the
 * last one. Polls stop (may be NULL) every 64 KiB: *st is WD_OK, or its
 * answer (the count is then 0). */
size_t wd__payload_tags(const char *t, size_t n, char *out, size_t *first, size_t *last,
                       const wd__scan_stop *stop, wd_status *st);

/* True when p[0..n) reads as a message rather than noise: readable (above),
 * at least two spaces, and English-like letters (guard/english.h). Used for
 * strings hidden in tag characters, where a scatter of random ones is a
 * rendering trick, not a message. */
bool wd__payload_prose(const char *p, size_t n);

#endif
