/*
 * base/utf8.c - UTF-8 validation, encoding and lossy repair (base/utf8.h),
 * for every layer that takes text: the JSON and YAML readers, the
 * tokenizers, the guard.
 *
 * Validation follows RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF. Lossy repair replaces each maximal invalid subsequence by
 * one U+FFFD, the rule of Rust's String::from_utf8_lossy (and of the
 * Unicode standard's "substitution of maximal subparts").
 */
#include "base/utf8.h"

#include <string.h>

int wd__utf8_put(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid character at p[0..n), or 0 when invalid; *partial is
 * set when the bytes present are a valid but unfinished prefix. */
static size_t char_len(const unsigned char *p, size_t n, bool *partial) {
    *partial = false;
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    for (size_t k = 1; k < need; k++) {
        if (k >= n) {
            *partial = true;
            return 0;
        }
        unsigned char lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xBF;
        if (p[k] < lo_k || p[k] > hi_k) return 0;
    }
    return need;
}

size_t wd__utf8_valid_prefix(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= len) break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        bool partial;
        size_t n = char_len(p + i, len - i, &partial);
        if (!n) return i;
        i += n;
    }
    return len;
}

size_t wd__utf8_incomplete_tail(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = p[len - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation: look further back */
        bool partial;
        size_t n = char_len(p + len - back, back, &partial);
        return (n == 0 && partial) ? back : 0;
    }
    return 0;
}

size_t wd__utf8_lossy(const char *s, size_t len, char *out) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        bool partial;
        size_t n = char_len(p + i, len - i, &partial);
        if (n) {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
            continue;
        }
        /* Maximal subpart: the lead byte plus the continuation bytes that
         * were still acceptable before the sequence broke. */
        size_t skip = 1;
        unsigned char c = p[i];
        size_t need = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                      : (c >= 0xF0 && c <= 0xF4) ? 4 : 1;
        for (size_t k = 1; k < need && i + k < len; k++) {
            unsigned char lo = 0x80, hi = 0xBF;
            if (k == 1) {
                if (c == 0xE0) lo = 0xA0;
                if (c == 0xED) hi = 0x9F;
                if (c == 0xF0) lo = 0x90;
                if (c == 0xF4) hi = 0x8F;
            }
            if (p[i + k] < lo || p[i + k] > hi) break;
            skip++;
        }
        memcpy(out + o, "\xEF\xBF\xBD", 3);
        o += 3;
        i += skip;
    }
    return o;
}
