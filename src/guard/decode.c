/*
 * guard/decode.c - payload finder; see decode.h.
 */
#include "guard/decode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int8_t b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return (int8_t)(c - 'A');
    if (c >= 'a' && c <= 'z') return (int8_t)(c - 'a' + 26);
    if (c >= '0' && c <= '9') return (int8_t)(c - '0' + 52);
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

long wd__base64_decode(const char *s, size_t n, unsigned char *out) {
    while (n && s[n - 1] == '=') n--;
    if (n % 4 == 1) return -1;
    uint32_t acc = 0;
    int bits = 0;
    long w = 0;
    for (size_t i = 0; i < n; i++) {
        int8_t v = b64val((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[w++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return w;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 32) >= 'a' && (c | 32) <= 'f') return (c | 32) - 'a' + 10;
    return -1;
}

/* Readable text: valid UTF-8, no control characters but whitespace, and at
 * least 60% ASCII letters and spaces, with at least one space or 6 letters. */
bool wd__decode_readable(const unsigned char *p, size_t n) {
    if (n < 4) return false;
    size_t letters = 0, spaces = 0, i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return false;
            if (c == 0x7f) return false;
            if ((c | 32) >= 'a' && (c | 32) <= 'z') letters++;
            else if (c == ' ') spaces++;
            i++;
            continue;
        }
        size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!k || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return (letters + spaces) * 10 >= n * 6 && (spaces > 0 || letters >= 6);
}

static bool grow(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    char *b = realloc(*buf, c);
    if (!b) return false;
    *buf = b;
    *cap = c;
    return true;
}

static inline bool is_b64(unsigned char c) { return b64val(c) >= 0; }

/* rot13 forms of common English words: if the text has more of these than
 * of the plain words, it is probably rot13. */
static const char *const rot_words[] = {"gur", "naq", "gb", "ubj", "znxr", "lbh", "vf", "bs",
                                        "jung", "sbe", "jvgu", "pna", "guvf", "ohvyq", "v",
                                        "zr", "gryy", "vg", NULL};
static const char *const plain_words[] = {"the", "and", "to", "how", "make", "you", "is", "of",
                                          "what", "for", "with", "can", "this", "build", "i",
                                          "me", "tell", "it", NULL};

static int count_words(const char *t, size_t len, const char *const *words) {
    int hits = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && !((t[i] | 32) >= 'a' && (t[i] | 32) <= 'z')) i++;
        size_t a = i;
        while (i < len && (t[i] | 32) >= 'a' && (t[i] | 32) <= 'z') i++;
        size_t n = i - a;
        if (!n || n > 5) continue;
        for (size_t w = 0; words[w]; w++)
            if (strlen(words[w]) == n && !memcmp(words[w], t + a, n)) {
                hits++;
                break;
            }
    }
    return hits;
}

wd_status wd__decode_scan(const char *text, size_t len, const wd_norm *norm, unsigned kinds,
                          size_t min_len, char **buf, size_t *cap, wd_decode_fn fn, void *user,
                          const wd_scan_stop *stop) {
    const unsigned char *t = (const unsigned char *)text;
    if (min_len < 8) min_len = 8;
    if (kinds & (WD_DECODE_BASE64 | WD_DECODE_HEX)) {
        size_t i = 0, next_poll = WD_SCAN_POLL_BYTES;
        while (i < len) {
            if (i >= next_poll) {
                wd_status st = wd__scan_stop_poll(stop);
                if (st != WD_OK) return st;
                next_poll = i + WD_SCAN_POLL_BYTES;
            }
            if (!is_b64(t[i]) || (i > 0 && is_b64(t[i - 1]))) {
                i++;
                continue;
            }
            size_t a = i;
            bool all_hex = true, lower = false, upper = false, digit = false;
            while (i < len && is_b64(t[i])) {
                all_hex &= hexval(t[i]) >= 0;
                lower |= t[i] >= 'a' && t[i] <= 'z';
                upper |= t[i] >= 'A' && t[i] <= 'Z';
                digit |= t[i] >= '0' && t[i] <= '9';
                i++;
            }
            size_t b = i;
            while (i < len && t[i] == '=' && i - b < 2) i++;
            size_t n = b - a;
            if (n < min_len) continue;
            size_t s0 = a, s1 = i;
            /* hex: "0x" prefix allowed; even count */
            if ((kinds & WD_DECODE_HEX) && all_hex && n % 2 == 0) {
                if (!grow(buf, cap, n / 2 + 4)) return WD_ERR_NOMEM;
                unsigned char *o = (unsigned char *)*buf;
                for (size_t k = 0; k < n / 2; k++)
                    o[k] = (unsigned char)(hexval(t[a + 2 * k]) << 4 | hexval(t[a + 2 * k + 1]));
                if (wd__decode_readable(o, n / 2)) {
                    if (fn(s0, b, *buf, n / 2, WD_DECODE_HEX, user)) return WD_OK;
                    continue;
                }
            }
            /* base64: mixed case (a long word or hex string is not base64) */
            if ((kinds & WD_DECODE_BASE64) && lower && upper && (digit || n >= 16)) {
                if (!grow(buf, cap, n * 3 / 4 + 4)) return WD_ERR_NOMEM;
                long k = wd__base64_decode(text + a, s1 - a, (unsigned char *)*buf);
                if (k > 0 && wd__decode_readable((unsigned char *)*buf, (size_t)k))
                    if (fn(s0, s1, *buf, (size_t)k, WD_DECODE_BASE64, user)) return WD_OK;
            }
        }
    }
    if ((kinds & WD_DECODE_ROT13) && norm && norm->len >= 8) {
        int rot = count_words(norm->text, norm->len, rot_words);
        wd_status st = wd__scan_stop_poll(stop);
        if (st != WD_OK) return st;
        if (rot >= 2 && rot > count_words(norm->text, norm->len, plain_words)) {
            if ((st = wd__scan_stop_poll(stop)) != WD_OK) return st;
            if (!grow(buf, cap, len + 1)) return WD_ERR_NOMEM;
            char *o = *buf;
            for (size_t k = 0; k < len; k++) {
                char c = text[k];
                if (c >= 'a' && c <= 'z') c = (char)('a' + (c - 'a' + 13) % 26);
                else if (c >= 'A' && c <= 'Z') c = (char)('A' + (c - 'A' + 13) % 26);
                o[k] = c;
            }
            fn(0, len, o, len, WD_DECODE_ROT13, user);
        }
    }
    return WD_OK;
}
