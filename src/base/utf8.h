/*
 * base/utf8.h - UTF-8: decoding one character, validating, encoding, and
 * repairing invalid text (base/utf8.c). Byte-level only; what a character
 * is (whitespace, letter, punctuation) is text/unicode.c's business.
 */
#ifndef WD_BASE_UTF8_H
#define WD_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the character at s[i] (s valid UTF-8, i < len); returns its byte
 * length and sets *cp. */
static inline int wd__utf8_next(const char *s, size_t len, size_t i, uint32_t *cp) {
    const unsigned char *p = (const unsigned char *)s + i;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0 && i + 1 < len) {
        *cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if ((p[0] & 0xF0) == 0xE0 && i + 2 < len) {
        *cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    if ((p[0] & 0xF8) == 0xF0 && i + 3 < len) {
        *cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
              ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        return 4;
    }
    *cp = 0xFFFD; /* not reached for valid input */
    return 1;
}

/* Byte length of the UTF-8 character starting with lead byte b (1 for a
 * stray continuation byte). */
static inline int wd__utf8_len(unsigned char b) {
    if (b < 0x80) return 1;
    if ((b & 0xE0) == 0xC0) return 2;
    if ((b & 0xF0) == 0xE0) return 3;
    if ((b & 0xF8) == 0xF0) return 4;
    return 1;
}

/* Writes cp as UTF-8 into out; returns the byte count (1..4). */
int wd__utf8_put(uint32_t cp, char *out);

/* Returns the length of the longest valid UTF-8 prefix of s (== len when
 * the whole of s is valid). Overlongs, surrogates and > U+10FFFF are invalid. */
size_t wd__utf8_valid_prefix(const char *s, size_t len);

/* Length of the trailing bytes of s that start a character but do not yet
 * finish it (0..3): what a stream must hold back. */
size_t wd__utf8_incomplete_tail(const char *s, size_t len);

/* Appends s with every maximal invalid sequence replaced by U+FFFD (as
 * Rust's String::from_utf8_lossy) to out (room for 3*len bytes); returns
 * the bytes written. */
size_t wd__utf8_lossy(const char *s, size_t len, char *out);

#endif /* WD_BASE_UTF8_H */
