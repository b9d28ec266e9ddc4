/*
 * guard/decode.h - finds payloads hidden in an encoding (base64, hex, rot13)
 * so the guard can decode them and scan the plain text again. A payload is
 * reported only when it decodes to text a person would read (valid UTF-8,
 * mostly letters and spaces): random tokens, hashes and keys decode to
 * binary noise and are skipped (the secrets scanner looks at those).
 */
#ifndef WD_GUARD_DECODE_H
#define WD_GUARD_DECODE_H

#include <stddef.h>

#include "guard/normalize.h"

enum { WD_DECODE_BASE64 = 1, WD_DECODE_HEX = 2, WD_DECODE_ROT13 = 4 };

/* Called for each payload: bytes [start, end) of the text decode to
 * plain[0..n) (valid UTF-8, not NUL-terminated, valid during the call).
 * kind is one WD_DECODE_* bit. Return nonzero to stop. */
typedef int (*wd_decode_fn)(size_t start, size_t end, const char *plain, size_t n, int kind,
                            void *user);

/* Scans text[0..len) for payloads of the kinds in `kinds`, base64/hex runs
 * of at least min_len characters; rot13 is tried on the whole text when
 * its words look like rot13 English ("gur", "ubj gb", ...), judged on
 * norm (the normalised text). buf/cap is a work buffer grown with realloc
 * (the caller frees *buf). Linear in len; polls stop (may be NULL) every
 * 64 KiB. Returns WD_OK (also when fn stopped it), WD_ERR_NOMEM, or
 * WD_ERR_TIMEOUT / WD_ERR_CANCELLED when told to stop. */
wd_status wd__decode_scan(const char *text, size_t len, const wd_norm *norm, unsigned kinds,
                          size_t min_len, char **buf, size_t *cap, wd_decode_fn fn, void *user,
                          const wd_scan_stop *stop);

/* Decodes base64 (standard or URL-safe alphabet, padding optional) of n
 * characters into out (room for n*3/4+3 bytes). Returns the decoded length,
 * or -1 when s is not base64. */
long wd__base64_decode(const char *s, size_t n, unsigned char *out);

/* True when p[0..n) is text a person would read: valid UTF-8, no control
 * characters but whitespace, >= 60% ASCII letters and spaces. */
#include <stdbool.h>
bool wd__decode_readable(const unsigned char *p, size_t n);

#endif
