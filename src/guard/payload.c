/*
 * guard/payload.c - payload finder; see payload.h.
 */
#include "guard/payload.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/english.h"
#include "guard/spelling.h"
#include "guard/wordlm.h"

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
bool wd__payload_readable(const unsigned char *p, size_t n) {
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

/* Polls stop once position i passes *next, then sets the next position a
 * poll is due at (every WD_SCAN_POLL_BYTES of text; see guard/stop.h). */
static inline wd_status poll_at(const wd__scan_stop *stop, size_t i, size_t *next) {
    if (i < *next) return WD_OK;
    *next = i + WD_SCAN_POLL_BYTES;
    return wd__scan_stop_poll(stop);
}

static inline bool is_alpha(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline bool is_alnum(unsigned char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

/* ==== hex bytes one by one ============================================== */

/* A hex byte token at t[p]: an optional prefix (\x, 0x, %), two hex digits,
 * and for the plain and 0x forms no letter or digit right after. Returns its
 * length (0 when there is none) and sets *v and *glued (the prefix allows
 * the next token to follow without a separator). */
static size_t hex_token(const unsigned char *t, size_t len, size_t p, int *v, bool *glued) {
    size_t q = p;
    *glued = false;
    if (q + 1 < len && t[q] == '\\' && t[q + 1] == 'x') q += 2, *glued = true;
    else if (q + 1 < len && t[q] == '0' && (t[q + 1] | 32) == 'x') q += 2;
    else if (t[q] == '%') q += 1, *glued = true;
    if (q + 2 > len) return 0;
    int h = hexval(t[q]), l = hexval(t[q + 1]);
    if (h < 0 || l < 0) return 0;
    q += 2;
    if (!*glued && q < len && is_alnum(t[q])) return 0;
    *v = h << 4 | l;
    return q - p;
}

/* Runs of hex bytes written one by one ("48 6f 77", "\x48\x6f", "%48%6f",
 * "0x48, 0x6f"): each run of at least min_bytes that decodes to readable
 * text is reported. Linear: every byte starts at most one token attempt.
 * Returns 0, 1 when fn stopped it, or -1 with *st the reason (out of
 * memory, or stop's answer). */
static int scan_hex_bytes(const unsigned char *t, size_t len, size_t min_bytes, char **buf, size_t *cap,
                          wd__decode_fn fn, void *user, const wd__scan_stop *stop, wd_status *st) {
    size_t i = 0, next_poll = WD_SCAN_POLL_BYTES;
    while (i < len) {
        if ((*st = poll_at(stop, i, &next_poll)) != WD_OK) return -1;
        int v;
        bool glued;
        size_t k;
        if ((i > 0 && is_alnum(t[i - 1])) || !(k = hex_token(t, len, i, &v, &glued))) {
            i++;
            continue;
        }
        if (!grow(buf, cap, len / 2 + 4)) return *st = WD_ERR_NOMEM, -1;
        unsigned char *o = (unsigned char *)*buf;
        size_t nb = 0, a = i, end = i + k;
        o[nb++] = (unsigned char)v;
        for (;;) {
            size_t j = end;
            if ((*st = poll_at(stop, j, &next_poll)) != WD_OK) return -1;
            if (!glued || j >= len || (t[j] != '\\' && t[j] != '%')) {
                /* a separator: one of " ,:-;" and at most one space after it */
                if (j < len && (t[j] == ' ' || t[j] == ',' || t[j] == ':' || t[j] == '-' || t[j] == ';')) j++;
                else if (!glued) break;
                if (j < len && t[j] == ' ' && t[j - 1] != ' ') j++;
            }
            if (j >= len || !(k = hex_token(t, len, j, &v, &glued))) break;
            o[nb++] = (unsigned char)v;
            end = j + k;
        }
        if (nb >= min_bytes && nb >= 4 && wd__payload_readable(o, nb))
            if (fn(a, end, *buf, nb, WD_DECODE_HEX, user)) return 1;
        i = end;
    }
    return 0;
}

/* ==== tag characters ===================================================== */

size_t wd__payload_tags(const char *text, size_t n, char *out, size_t *first, size_t *last,
                       const wd__scan_stop *stop, wd_status *st) {
    const unsigned char *t = (const unsigned char *)text;
    size_t k = 0, next_poll = WD_SCAN_POLL_BYTES;
    *first = *last = 0;
    *st = WD_OK;
    for (size_t i = 0; i + 3 < n; i++) {
        if (i >= next_poll && (*st = poll_at(stop, i, &next_poll)) != WD_OK) return 0;
        if (t[i] != 0xF3 || t[i + 1] != 0xA0 || (t[i + 2] != 0x80 && t[i + 2] != 0x81)) continue;
        unsigned c = (unsigned)(t[i + 2] & 0x3F) << 6 | (t[i + 3] & 0x3F);
        if (c >= 0x20 && c <= 0x7E) {
            if (!k) *first = i;
            *last = i + 4;
            out[k++] = (char)c;
        }
        i += 3;
    }
    return k;
}

bool wd__payload_prose(const char *p, size_t n) {
    size_t spaces = 0;
    for (size_t i = 0; i < n; i++) spaces += p[i] == ' ';
    return spaces >= 2 && wd__payload_readable((const unsigned char *)p, n) && wd__english_mean(p, n) >= -3.0f;
}

/* ==== ciphers of the whole text ========================================= */

#define WORD_MAX 48

typedef void (*word_fn)(const char *w, size_t n, char *out);

static void rot13_word(const char *w, size_t n, char *o) {
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (c >= 'a' && c <= 'z') c = (char)('a' + (c - 'a' + 13) % 26);
        else if (c >= 'A' && c <= 'Z') c = (char)('A' + (c - 'A' + 13) % 26);
        o[i] = c;
    }
}

static void reverse_word(const char *w, size_t n, char *o) {
    for (size_t i = 0; i < n; i++) o[i] = w[n - 1 - i];
}

/* Copies t[0..n) to out, each word (run of ASCII letters, at most WORD_MAX)
 * replaced by f(word) when that reads as English better. Sets *flips to how
 * many words gained more than 2 (clearly the cipher's), their gains summed
 * in *gain, and the span from the first of them to the end of the last in
 * [*first, *last). Returns WD_OK, or stop's answer (*flips is then 0). */
static wd_status cipher_words(const char *t, size_t n, word_fn f, char *out, const wd__scan_stop *stop,
                              size_t *flips_out, float *gain, size_t *first, size_t *last) {
    if (out) memcpy(out, t, n);
    size_t flips = 0, i = 0, next_poll = WD_SCAN_POLL_BYTES;
    *flips_out = 0;
    *first = n;
    *last = 0;
    *gain = 0;
    float sum = 0;
    while (i < n) {
        wd_status st = poll_at(stop, i, &next_poll);
        if (st != WD_OK) return st;
        if (!is_alpha((unsigned char)t[i])) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < n && is_alpha((unsigned char)t[i])) i++;
        size_t m = i - a;
        if (m > WORD_MAX) continue;
        char w[WORD_MAX];
        f(t + a, m, w);
        float g = wd__english_word(w, m) - wd__english_word(t + a, m);
        if (g <= 0) continue;
        if (out) memcpy(out + a, w, m);
        if (g > 2 && m >= 2) { /* a lone letter is no evidence ("\x6f" holds three) */
            flips++, sum += g;
            if (*first == n) *first = a;
            *last = i;
        }
    }
    *gain = sum;
    *flips_out = flips;
    return WD_OK;
}

/* Whether a cipher's counts make its reading worth scanning: enough words
 * read clearly better deciphered (cipher_words), or Pig Latin's share of
 * words. wd__payload_whole_cipher's counts and scan_ciphers ask these. */
static bool cipher_readable(size_t flips, float gain) { return flips >= 3 && gain >= 30; }
static bool piglatin_readable(size_t pig, size_t words) { return pig >= 3 && pig * 3 >= words; }

/* out = t[0..n) with its UTF-8 characters in reverse order. */
static void mirror(const char *t, size_t n, char *out) {
    size_t w = 0, end = n;
    while (end > 0) {
        size_t st = end - 1;
        while (st > 0 && ((unsigned char)t[st] & 0xC0) == 0x80) st--;
        memcpy(out + w, t + st, end - st);
        w += end - st;
        end = st;
    }
}

static bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* English score of a reading of a Pig Latin word of stem length s: a
 * reading one letter shorter (vowel-initial: "appleway") pays about what a
 * letter costs, so that length alone does not decide. */
static float reading_score(const char *w, size_t n, size_t s) { return wd__english_word(w, n) - 2.5f * (float)(s - n); }

/* Undoes one Pig Latin word w[0..n) (n >= 4, ending in "ay", lower case)
 * into o: the reading with the best English score among "stem minus its
 * w/y/h" (a vowel-initial word) and "the stem's last 1-4 consonants moved
 * to the front" ("ombbay" -> "bomb"). Returns the length written. */
static size_t piglatin_word(const char *w, size_t n, char *o) {
    size_t s = n - 2, best_len = 0;
    float best = -1e30f;
    char c[WORD_MAX];
    if (s >= 2 && is_vowel(w[0]) && (w[s - 1] == 'w' || w[s - 1] == 'y' || w[s - 1] == 'h')) {
        best = reading_score(w, s - 1, s);
        memcpy(o, w, s - 1);
        best_len = s - 1;
    }
    if (!(is_vowel(w[0]) || w[0] == 'y')) return memcpy(o, w, n), n; /* the moved part starts it */
    for (size_t k = 1; k <= 4 && k < s; k++) {
        bool consonants = true; /* "qu" moves as one: "eenquay" -> "queen" */
        for (size_t j = s - k; j < s; j++)
            if (is_vowel(w[j]) && !(w[j] == 'u' && j > s - k && w[j - 1] == 'q')) consonants = false;
        if (!consonants) continue;
        memcpy(c, w + s - k, k);
        memcpy(c + k, w, s - k);
        float sc = reading_score(c, s, s);
        if (sc > best) {
            best = sc;
            memcpy(o, c, s);
            best_len = s;
        }
    }
    if (!best_len) {
        memcpy(o, w, n);
        return n;
    }
    return best_len;
}

/* Writes into out (room for n; NULL: only count) t with every Pig Latin-looking word undone;
 * sets the length written in *len, the number of such words in *pig and of
 * all words in *words. Returns WD_OK, or stop's answer. */
static wd_status piglatin_text(const char *t, size_t n, char *out, const wd__scan_stop *stop, size_t *len,
                               size_t *pig, size_t *words) {
    size_t w = 0, i = 0, next_poll = WD_SCAN_POLL_BYTES;
    *pig = *words = *len = 0;
    while (i < n) {
        wd_status st = poll_at(stop, i, &next_poll);
        if (st != WD_OK) return st;
        if (!is_alpha((unsigned char)t[i])) {
            if (out) out[w] = t[i];
            w++, i++;
            continue;
        }
        size_t a = i;
        while (i < n && is_alpha((unsigned char)t[i])) i++;
        size_t m = i - a;
        (*words)++;
        if (m >= 4 && m <= WORD_MAX && t[i - 2] == 'a' && t[i - 1] == 'y') {
            (*pig)++;
            if (out) w += piglatin_word(t + a, m, out + w);
        } else {
            if (out) memcpy(out + w, t + a, m);
            w += m;
        }
    }
    *len = w;
    return WD_OK;
}

/* Which way the words of t[0..n) run, from where sentence punctuation
 * sits: after a word ("bomb? ", written forwards, or each word reversed in
 * place) or before one (" ?bmob", the whole text mirrored). Returns 1 for
 * forwards, -1 for mirrored, 0 when the punctuation does not tell. */
static int word_order(const char *t, size_t n) {
    size_t after = 0, before = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c != '.' && c != '?' && c != '!' && c != ',') continue;
        bool left = i > 0 && is_alpha((unsigned char)t[i - 1]);
        bool right = i + 1 < n && is_alpha((unsigned char)t[i + 1]);
        if (left && !right) after++;
        else if (right && !left) before++;
    }
    return after > before ? 1 : before > after ? -1 : 0;
}

/* The cipher variants of the normalised text nt[0..nn); each is reported as
 * a payload spanning the caller's whole text [0, len). */
/* Widens [*a, *b) to the ends of its lines; a colon also ends a line on
 * the left ("Decode this: ..."). */
static void to_lines(const char *t, size_t n, size_t *a, size_t *b) {
    while (*a > 0 && t[*a - 1] != '\n' && t[*a - 1] != ':') (*a)--;
    while (*b < n && t[*b] != '\n') (*b)++;
}

/* Returns 0, 1 when fn stopped it, or -1 with *st the reason. */
static int scan_ciphers(const char *nt, size_t nn, size_t len, unsigned kinds, char **buf, size_t *cap,
                        wd__decode_fn fn, void *user, const wd__scan_stop *stop, wd_status *st,
                        const wd__cipher_counts *known) {
    /* a cipher measured already and found not readable: no second reading of every word */
    if (known) kinds &= ~(known->measured & ~known->readable);
    if (!grow(buf, cap, nn + 1)) return *st = WD_ERR_NOMEM, -1;
    float gain;
    size_t a, b, flips;
    /* the payload is the lines that hold the ciphered words: a plain
     * instruction on its own line ("Decode this:") is read at depth 0 */
    if (kinds & WD_DECODE_ROT13) {
        if ((*st = cipher_words(nt, nn, rot13_word, *buf, stop, &flips, &gain, &a, &b)) != WD_OK) return -1;
        if (cipher_readable(flips, gain)) {
            to_lines(nt, nn, &a, &b);
            if (fn(0, len, *buf + a, b - a, WD_DECODE_ROT13, user)) return 1;
        }
    }
    if (kinds & WD_DECODE_REVERSE) {
        if ((*st = cipher_words(nt, nn, reverse_word, *buf, stop, &flips, &gain, &a, &b)) != WD_OK) return -1;
        if (cipher_readable(flips, gain)) {
            int order = word_order(nt + a, b - a);
            to_lines(nt, nn, &a, &b);
            if (order >= 0 && fn(0, len, *buf + a, b - a, WD_DECODE_REVERSE, user)) return 1;
            /* the text written backwards: those lines mirrored whole (their
             * word order too) */
            if (order <= 0) {
                if ((*st = wd__scan_stop_poll(stop)) != WD_OK) return -1;
                mirror(nt + a, b - a, *buf);
                if (fn(0, len, *buf, b - a, WD_DECODE_REVERSE, user)) return 1;
            }
        }
    }
    if (kinds & WD_DECODE_PIGLATIN) {
        size_t pig, words, w;
        if ((*st = piglatin_text(nt, nn, *buf, stop, &w, &pig, &words)) != WD_OK) return -1;
        if (piglatin_readable(pig, words))
            if (fn(0, len, *buf, w, WD_DECODE_PIGLATIN, user)) return 1;
    }
    if (kinds & WD_DECODE_SPELLING) {
        if (!grow(buf, cap, nn + nn / 4 + 16)) return *st = WD_ERR_NOMEM, -1;
        size_t fixed, w;
        if ((*st = wd__spelling_fix(nt, nn, *buf, stop, &w, &fixed)) != WD_OK) return -1;
        if (fixed && fn(0, len, *buf, w, WD_DECODE_SPELLING, user)) return 1;
    }
    if (kinds & WD_DECODE_WORDS) {
        if (!grow(buf, cap, nn + 1)) return *st = WD_ERR_NOMEM, -1;
        size_t w, words, dropped;
        if ((*st = wd__wordlm_keep(nt, nn, *buf, stop, &w, &words, &dropped)) != WD_OK) return -1;
        /* a few words dropped from a long text is how English reads to the
         * model; a reading is worth scanning when many went (30%: at 15%
         * one short benign prompt in seven was scanned twice, with the same
         * detection of scattered-word attacks and more over-flagging) */
        if (dropped >= 3 && dropped * 10 >= words * 3 && w > 0 && fn(0, len, *buf, w, WD_DECODE_WORDS, user))
            return 1;
    }
    return 0;
}

/* The whole-text test reads the same counts as scan_ciphers: Pig Latin's
 * (pig, words) and each cipher's (flips, gain); counts records which it
 * measured and which passed scan_ciphers' test. */
wd_status wd__payload_whole_cipher(const wd__canon *norm, unsigned kinds, const wd__scan_stop *stop, bool *whole,
                                   wd__cipher_counts *counts) {
    *whole = false;
    wd__cipher_counts c = {0, 0};
    wd_status st = WD_OK;
    if (!norm || norm->len < 8) goto done;
    const char *t = norm->text;
    size_t n = norm->len, a, b, words = 0, pig = 0, w, flips;
    float gain;
    if (kinds & WD_DECODE_PIGLATIN) {
        if ((st = piglatin_text(t, n, NULL, stop, &w, &pig, &words)) != WD_OK) goto done;
        c.measured |= WD_DECODE_PIGLATIN;
        if (piglatin_readable(pig, words)) c.readable |= WD_DECODE_PIGLATIN;
        if (pig >= 3 && pig * 3 >= words * 2) {
            *whole = true;
            goto done;
        }
    }
    for (int k = 0; k < 2; k++) {
        const unsigned kind = k ? WD_DECODE_REVERSE : WD_DECODE_ROT13;
        if (!(kinds & kind)) continue;
        if ((st = cipher_words(t, n, k ? reverse_word : rot13_word, NULL, stop, &flips, &gain, &a, &b)) != WD_OK)
            goto done;
        c.measured |= kind;
        if (!cipher_readable(flips, gain)) continue;
        c.readable |= kind;
        to_lines(t, n, &a, &b);
        if (a == 0 && b == n) {
            *whole = true;
            goto done;
        }
    }
done:
    if (counts) *counts = c;
    return st;
}

wd_status wd__payload_scan(const char *text, size_t len, const wd__canon *norm, unsigned kinds,
                          size_t min_len, char **buf, size_t *cap, wd__decode_fn fn, void *user,
                          const wd__scan_stop *stop, const wd__cipher_counts *known) {
    const unsigned char *t = (const unsigned char *)text;
    wd_status st = WD_OK;
    if (min_len < 8) min_len = 8;
    if (kinds & (WD_DECODE_BASE64 | WD_DECODE_HEX)) {
        size_t i = 0, next_poll = WD_SCAN_POLL_BYTES;
        while (i < len) {
            if ((st = poll_at(stop, i, &next_poll)) != WD_OK) return st;
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
                if (wd__payload_readable(o, n / 2)) {
                    if (fn(s0, b, *buf, n / 2, WD_DECODE_HEX, user)) return WD_OK;
                    continue;
                }
            }
            /* base64: mixed case (a long word or hex string is not base64) */
            if ((kinds & WD_DECODE_BASE64) && lower && upper && (digit || n >= 16)) {
                if (!grow(buf, cap, n * 3 / 4 + 4)) return WD_ERR_NOMEM;
                long k = wd__base64_decode(text + a, s1 - a, (unsigned char *)*buf);
                if (k > 0 && wd__payload_readable((unsigned char *)*buf, (size_t)k))
                    if (fn(s0, s1, *buf, (size_t)k, WD_DECODE_BASE64, user)) return WD_OK;
            }
        }
    }
    if (kinds & WD_DECODE_HEX) {
        if ((st = wd__scan_stop_poll(stop)) != WD_OK) return st;
        int r = scan_hex_bytes(t, len, min_len / 2, buf, cap, fn, user, stop, &st);
        if (r) return r < 0 ? st : WD_OK;
    }
    if ((kinds & WD_DECODE_TAGS) && memchr(text, 0xF3, len)) {
        if (!grow(buf, cap, len / 4 + 1)) return WD_ERR_NOMEM;
        size_t first, last, k = wd__payload_tags(text, len, *buf, &first, &last, stop, &st);
        if (st != WD_OK) return st;
        if (k >= 4 && wd__payload_prose(*buf, k) && fn(first, last, *buf, k, WD_DECODE_TAGS, user)) return WD_OK;
    }
    if ((kinds & WD_DECODE_CIPHERS) && norm && norm->len >= 8) {
        if ((st = wd__scan_stop_poll(stop)) != WD_OK) return st;
        if (scan_ciphers(norm->text, norm->len, len, kinds, buf, cap, fn, user, stop, &st, known) < 0) return st;
    }
    return WD_OK;
}
