/*
 * guard/canonical.c - see canonical.h for the steps and the invariants.
 *
 * Three passes over the text:
 *   1. decode UTF-8 (validating), drop invisibles, NFKC / confusables /
 *      case folding per character, composing each starter with its marks;
 *      writes text + map. ASCII takes a fast path (one table lookup).
 *   2. JOIN_SPLIT in place (only ever deletes bytes).
 *   3. LEET in place (only ever replaces one ASCII byte by another).
 * Passes 2 and 3 never grow the text, so the only allocations are the
 * output's two buffers (reused by wd__canonicalize_reuse). Every pass is
 * linear in the text, whatever it repeats (pass 2 decides each chain of
 * one-letter tokens once: see join_singles).
 */
#include "guard/canonical.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/err.h"

/* ==== character classes ================================================ */

int wd__canon_is_invisible(int32_t c) {
    if (c < 0x20) return c != '\t' && c != '\n' && c != '\r';
    if (c < 0x7f) return 0;
    if (c <= 0x9f) return 1; /* DEL + C1 controls */
    switch (c) {
    case 0x00AD: case 0x034F: case 0x061C: case 0x115F: case 0x1160: case 0x17B4:
    case 0x17B5: case 0x3164: case 0xFEFF: case 0xFFA0:
        return 1;
    default:
        break;
    }
    return (c >= 0x180B && c <= 0x180F) || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) ||
           (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFFF0 && c <= 0xFFF8) ||
           (c >= 0x1BCA0 && c <= 0x1BCA3) || (c >= 0x1D173 && c <= 0x1D17A) ||
           (c >= 0xE0000 && c <= 0xE0FFF);
}

/* Combining diacritics that only decorate a letter (accents, overlays,
 * strike-throughs): dropped under CONFUSABLES. Marks that carry meaning in
 * other scripts (Devanagari vowel signs, ...) are kept. */
static bool is_diacritic(int32_t c) {
    return (c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
           (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF) ||
           (c >= 0xFE20 && c <= 0xFE2F);
}

/* Look-alikes of Latin letters that NFKC leaves alone. Sorted by code point.
 * Both cases are listed because case folding would otherwise turn Greek
 * capital eta (looks like H) into eta (looks like n) first. */
static const struct { int32_t cp; char to; } confusables[] = {
    {0x00DF, 'b'}, {0x0131, 'i'}, {0x017F, 's'}, {0x0180, 'b'}, {0x0188, 'c'}, {0x018A, 'd'},
    {0x0192, 'f'}, {0x0196, 'l'}, {0x0199, 'k'}, {0x019A, 'l'}, {0x01A5, 'p'}, {0x01AB, 't'},
    {0x01AD, 't'}, {0x01B6, 'z'}, {0x01C0, 'l'}, {0x0222, 'o'}, {0x0223, 'o'}, {0x0250, 'a'},
    {0x0251, 'a'}, {0x0253, 'b'}, {0x0254, 'c'}, {0x0256, 'd'}, {0x0257, 'd'}, {0x025B, 'e'},
    {0x0260, 'g'}, {0x0261, 'g'}, {0x0262, 'g'}, {0x0266, 'h'}, {0x0268, 'i'}, {0x0269, 'i'},
    {0x026A, 'i'}, {0x026B, 'l'}, {0x026C, 'l'}, {0x026D, 'l'}, {0x0271, 'm'}, {0x0272, 'n'},
    {0x0273, 'n'}, {0x0274, 'n'}, {0x0275, 'o'}, {0x027C, 'r'}, {0x027D, 'r'}, {0x0280, 'r'},
    {0x0282, 's'}, {0x0288, 't'}, {0x028B, 'v'}, {0x028F, 'y'}, {0x0290, 'z'}, {0x0299, 'b'},
    {0x029C, 'h'}, {0x029F, 'l'}, {0x0391, 'a'}, {0x0392, 'b'}, {0x0395, 'e'}, {0x0396, 'z'},
    {0x0397, 'h'}, {0x0399, 'i'}, {0x039A, 'k'}, {0x039C, 'm'}, {0x039D, 'n'}, {0x039F, 'o'},
    {0x03A1, 'p'}, {0x03A4, 't'}, {0x03A5, 'y'}, {0x03A7, 'x'}, {0x03AC, 'a'}, {0x03AD, 'e'},
    {0x03AE, 'n'}, {0x03AF, 'i'}, {0x03B1, 'a'}, {0x03B2, 'b'}, {0x03B3, 'y'}, {0x03B5, 'e'},
    {0x03B7, 'n'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'}, {0x03BF, 'o'}, {0x03C1, 'p'},
    {0x03C2, 's'}, {0x03C4, 't'}, {0x03C5, 'u'}, {0x03C7, 'x'}, {0x03C9, 'w'}, {0x03CC, 'o'},
    {0x03CD, 'u'}, {0x03CE, 'w'}, {0x03F2, 'c'}, {0x03F3, 'j'}, {0x03F9, 'c'}, {0x0405, 's'},
    {0x0406, 'i'}, {0x0407, 'i'}, {0x0408, 'j'}, {0x0410, 'a'}, {0x0412, 'b'}, {0x0415, 'e'},
    {0x041A, 'k'}, {0x041C, 'm'}, {0x041D, 'h'}, {0x041E, 'o'}, {0x0420, 'p'}, {0x0421, 'c'},
    {0x0422, 't'}, {0x0423, 'y'}, {0x0425, 'x'}, {0x042C, 'b'}, {0x0430, 'a'}, {0x0432, 'b'},
    {0x0433, 'r'}, {0x0435, 'e'}, {0x043A, 'k'}, {0x043C, 'm'}, {0x043D, 'h'}, {0x043E, 'o'},
    {0x043F, 'n'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0442, 't'}, {0x0443, 'y'}, {0x0445, 'x'},
    {0x044C, 'b'}, {0x0450, 'e'}, {0x0451, 'e'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0457, 'i'},
    {0x0458, 'j'}, {0x045B, 'h'}, {0x0461, 'w'}, {0x0475, 'v'}, {0x04AE, 'y'}, {0x04AF, 'y'},
    {0x04BB, 'h'}, {0x04C0, 'l'}, {0x04CF, 'l'}, {0x04D5, 'e'}, {0x04E0, 'z'}, {0x0501, 'd'},
    {0x050C, 'g'}, {0x051B, 'q'}, {0x051D, 'w'}, {0x0561, 'w'}, {0x0563, 'q'}, {0x0566, 'q'},
    {0x0570, 'h'}, {0x0578, 'n'}, {0x057C, 'n'}, {0x057D, 'u'}, {0x0581, 'g'}, {0x0584, 'f'},
    {0x0585, 'o'}, {0x13A0, 'd'}, {0x13A1, 'r'}, {0x13A2, 't'}, {0x13A5, 'i'}, {0x13AA, 'g'},
    {0x13AB, 'j'}, {0x13AC, 'e'}, {0x13B3, 'w'}, {0x13B7, 'm'}, {0x13BB, 'h'}, {0x13C0, 'g'},
    {0x13C2, 'h'}, {0x13C3, 'z'}, {0x13CF, 'b'}, {0x13D2, 'r'}, {0x13DA, 's'}, {0x13DE, 'l'},
    {0x13DF, 'c'}, {0x13E2, 'p'}, {0x13E6, 'k'}, {0x13F4, 'b'}, {0x1D00, 'a'}, {0x1D04, 'c'},
    {0x1D05, 'd'}, {0x1D07, 'e'}, {0x1D0A, 'j'}, {0x1D0B, 'k'}, {0x1D0D, 'm'}, {0x1D0F, 'o'},
    {0x1D18, 'p'}, {0x1D1B, 't'}, {0x1D1C, 'u'}, {0x1D20, 'v'}, {0x1D21, 'w'}, {0x1D22, 'z'},
    {0x2113, 'l'}, {0x2134, 'o'}, {0x2C9F, 'o'}, {0xA731, 's'}, {0xA7AF, 'q'}, {0xAB83, 'w'},
};

/* Returns the Latin (lowercase ASCII) letter cp looks like, or 0. */
static int confusable(int32_t cp) {
    /* Enclosed/squared/negative letters and regional indicators: NFKC keeps them. */
    if (cp >= 0x1F130 && cp <= 0x1F189 && (cp - 0x1F130) % 0x20 < 26) return 'a' + (cp - 0x1F130) % 0x20;
    if (cp >= 0x1F1E6 && cp <= 0x1F1FF) return 'a' + (cp - 0x1F1E6);
    if (cp < 0xDF || cp > 0xAB83) return 0;
    size_t lo = 0, hi = sizeof confusables / sizeof confusables[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (confusables[mid].cp == cp) return confusables[mid].to;
        if (confusables[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* ==== output buffer ===================================================== */

typedef struct outbuf {
    wd__canon *n;
    bool     oom;
} outbuf;

static bool grow(wd__canon *n, size_t need) {
    if (need <= n->cap) return true;
    size_t cap = n->cap ? n->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 4 / sizeof(size_t)) return false;
        cap *= 2;
    }
    char *t = realloc(n->text, cap + 1);
    if (!t) return false;
    n->text = t;
    size_t *m = realloc(n->map, (cap + 1) * sizeof(size_t));
    if (!m) return false;
    n->map = m;
    n->cap = cap;
    return true;
}

static inline void put_cp(outbuf *o, int32_t cp, size_t orig) {
    wd__canon *n = o->n;
    if (n->len + 4 > n->cap && !grow(n, n->len + 4)) {
        o->oom = true;
        return;
    }
    utf8proc_ssize_t k = utf8proc_encode_char(cp, (utf8proc_uint8_t *)n->text + n->len);
    for (utf8proc_ssize_t i = 0; i < k; i++) n->map[n->len + i] = orig;
    n->len += (size_t)k;
}

/* ==== pass 1: per character ============================================= */

static inline bool is_alpha(uint8_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static inline bool is_alnum(uint8_t c) { return is_alpha(c) || is_digit(c); }

#define CLUSTER_MAX 64

typedef struct cluster {
    int32_t cp[CLUSTER_MAX];
    size_t  n;
    size_t  orig; /* where the cluster's first character starts */
} cluster;

static void flush(outbuf *o, cluster *c, unsigned flags) {
    if (!c->n) return;
    utf8proc_ssize_t n = (utf8proc_ssize_t)c->n;
    if ((flags & WD_CANON_NFKC) && n > 1) {
        utf8proc_ssize_t r = utf8proc_normalize_utf32(c->cp, n, UTF8PROC_COMPOSE);
        if (r > 0) n = r;
    }
    for (utf8proc_ssize_t i = 0; i < n; i++) put_cp(o, c->cp[i], c->orig);
    c->n = 0;
}

static void push(outbuf *o, cluster *c, unsigned flags, int32_t cp, size_t orig) {
    if (c->n == CLUSTER_MAX) flush(o, c, flags);
    if (!c->n) c->orig = orig;
    c->cp[c->n++] = cp;
}

static int32_t ascii_fold(int32_t c, unsigned flags) {
    return ((flags & WD_CANON_CASEFOLD) && c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Appends what one non-ASCII code point becomes. */
static void one_char(outbuf *o, cluster *cl, unsigned flags, int32_t cp, size_t orig) {
    int32_t buf[32], buf2[8];
    utf8proc_ssize_t n = 1;
    buf[0] = cp;
    if (flags & WD_CANON_CONFUSABLES) {
        int m = confusable(cp);
        if (m) {
            if (cl->n) flush(o, cl, flags);
            push(o, cl, flags, m, orig);
            return;
        }
    }
    int lbc = 0;
    if (flags & WD_CANON_NFKC) {
        utf8proc_option_t opt = UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
        if ((flags & WD_CANON_CASEFOLD) && !(flags & WD_CANON_CONFUSABLES)) opt |= UTF8PROC_CASEFOLD;
        n = utf8proc_decompose_char(cp, buf, 32, opt, &lbc);
        if (n < 1 || n > 32) {
            n = 1;
            buf[0] = cp;
        }
    } else if ((flags & WD_CANON_CASEFOLD) && !(flags & WD_CANON_CONFUSABLES)) {
        n = utf8proc_decompose_char(cp, buf, 32, UTF8PROC_CASEFOLD, &lbc);
        if (n < 1 || n > 32) {
            n = 1;
            buf[0] = cp;
        }
    }
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        int32_t d = buf[i];
        /* a new cluster starts only at the first code point of a character */
        bool starter = i == 0 && utf8proc_get_property(d)->combining_class == 0;
        if (flags & WD_CANON_CONFUSABLES) {
            if (is_diacritic(d)) continue;
            int m = d < 0x80 ? 0 : confusable(d);
            if (m) {
                d = m;
            } else if (d < 0x80) {
                d = ascii_fold(d, flags);
            } else if (flags & WD_CANON_CASEFOLD) {
                int lbc2 = 0;
                utf8proc_option_t opt = UTF8PROC_CASEFOLD;
                if (flags & WD_CANON_NFKC) opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
                utf8proc_ssize_t k = utf8proc_decompose_char(d, buf2, 8, opt, &lbc2);
                if (k > 1 && k <= 8) {
                    if (starter && cl->n) flush(o, cl, flags);
                    for (utf8proc_ssize_t j = 0; j < k; j++)
                        if (!is_diacritic(buf2[j])) push(o, cl, flags, buf2[j], orig);
                    continue;
                }
                if (k == 1) d = buf2[0];
            }
        }
        if (starter && cl->n) flush(o, cl, flags);
        push(o, cl, flags, d, orig);
    }
}

/* ==== HTML character references and comments ========================== */

/* Named references for ASCII punctuation and the spaces (HTML5 names). */
static const struct { const char *name; int32_t cp; } html_names[] = {
    {"amp", '&'},     {"lt", '<'},      {"gt", '>'},      {"quot", '"'},    {"apos", '\''},
    {"nbsp", 0xA0},   {"excl", '!'},    {"quest", '?'},   {"period", '.'},  {"comma", ','},
    {"colon", ':'},   {"semi", ';'},    {"hyphen", 0x2010}, {"dash", 0x2010}, {"lpar", '('},
    {"rpar", ')'},    {"lsqb", '['},    {"rsqb", ']'},    {"lcub", '{'},    {"rcub", '}'},
    {"sol", '/'},     {"bsol", '\\'},  {"num", '#'},     {"dollar", '$'},  {"percnt", '%'},
    {"ast", '*'},     {"plus", '+'},    {"equals", '='},  {"commat", '@'},  {"lowbar", '_'},
    {"grave", '`'},   {"verbar", '|'},  {"Tab", '\t'},    {"NewLine", '\n'}, {"ensp", 0x2002},
    {"emsp", 0x2003}, {"thinsp", 0x2009}, {"shy", 0xAD},  {"zwsp", 0x200B}, {"zwnj", 0x200C},
    {"zwj", 0x200D},
};

/* Decodes the character reference at s[0..n) (s[0] == '&'). Returns its
 * length in bytes and sets *cp, or 0 when there is none. Bounded: at most
 * 12 bytes are read. */
static size_t html_ref(const uint8_t *s, size_t n, int32_t *cp) {
    if (n < 3) return 0;
    size_t i = 1;
    if (s[1] == '#') {
        int hex = n > 2 && (s[2] | 32) == 'x';
        i = hex ? 3 : 2;
        int32_t v = 0;
        size_t d0 = i;
        while (i < n && i - d0 < 7) {
            int dv = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
                   : hex && (s[i] | 32) >= 'a' && (s[i] | 32) <= 'f' ? (s[i] | 32) - 'a' + 10 : -1;
            if (dv < 0) break;
            v = v * (hex ? 16 : 10) + dv;
            i++;
        }
        if (i == d0 || v <= 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
        if (i < n && s[i] == ';') i++;
        *cp = v;
        return i;
    }
    while (i < n && i < 10 && is_alpha(s[i])) i++;
    if (i == 1 || i >= n || s[i] != ';') return 0;
    for (size_t k = 0; k < sizeof html_names / sizeof html_names[0]; k++)
        if (strlen(html_names[k].name) == i - 1 && !memcmp(html_names[k].name, s + 1, i - 1)) {
            *cp = html_names[k].cp;
            return i + 1;
        }
    return 0;
}

/* ==== pass 1 loop ======================================================== */

static wd_status pass_chars(const char *text, size_t len, unsigned flags, outbuf *o,
                            const wd__scan_stop *stop) {
    const uint8_t *s = (const uint8_t *)text;
    cluster cl;
    cl.n = 0;
    cl.orig = 0;
    wd__canon *n = o->n;
    size_t i = 0, next_poll = WD_SCAN_POLL_BYTES;
    /* comments: where the open one closes ("-->"), and the offset from which
     * the text is known to hold no "-->" (so a search never repeats) */
    size_t cend = SIZE_MAX, no_close_from = SIZE_MAX;
    while (i < len) {
        if (i >= next_poll) {
            wd_status st = wd__scan_stop_poll(stop);
            if (st != WD_OK) return st;
            next_poll = i + WD_SCAN_POLL_BYTES;
        }
        uint8_t b = s[i];
        if ((flags & WD_CANON_HTML) && i == cend) {
            if (cl.n) flush(o, &cl, flags);
            put_cp(o, ' ', i);
            i += 3;
            cend = SIZE_MAX;
            continue;
        }
        if ((flags & WD_CANON_HTML) && b == '<' && cend == SIZE_MAX && i + 4 <= len && !memcmp(s + i, "<!--", 4) &&
            i + 4 < no_close_from) {
            const uint8_t *c = i + 4 < len ? memmem(s + i + 4, len - i - 4, "-->", 3) : NULL;
            if (!c) {
                no_close_from = i + 4;
            } else {
                size_t e = (size_t)(c - s), k = i + 4;
                while (k < e && !is_alnum(s[k])) k++;
                bool in_word = i > 0 && e + 3 < len && is_alpha(s[i - 1]) && is_alpha(s[e + 3]);
                if (k == e || in_word) {
                    i = e + 3; /* what a reader sees: nothing */
                } else {
                    if (cl.n) flush(o, &cl, flags);
                    put_cp(o, ' ', i);
                    cend = e;
                    i += 4;
                }
                if (o->oom) return WD_ERR_NOMEM;
                continue;
            }
        }
        if ((flags & WD_CANON_HTML) && b == '&') {
            int32_t cp;
            size_t k = html_ref(s + i, len - i, &cp);
            if (k) {
                if (cp < 0x80) {
                    if (!((flags & WD_CANON_INVISIBLE) && wd__canon_is_invisible(cp))) {
                        if (cl.n) flush(o, &cl, flags);
                        put_cp(o, ascii_fold(cp, flags), i);
                    }
                } else if (!((flags & WD_CANON_INVISIBLE) && wd__canon_is_invisible(cp))) {
                    one_char(o, &cl, flags, cp, i);
                }
                if (o->oom) return WD_ERR_NOMEM;
                i += k;
                continue;
            }
        }
        if (b < 0x80) {
            if ((flags & WD_CANON_INVISIBLE) && wd__canon_is_invisible(b)) {
                i++;
                continue;
            }
            if (cl.n) flush(o, &cl, flags);
            int32_t c = ascii_fold(b, flags);
            /* A following combining mark may compose with this letter. */
            if ((flags & WD_CANON_NFKC) && i + 1 < len && s[i + 1] >= 0x80) {
                push(o, &cl, flags, c, i);
            } else {
                if (n->len + 1 > n->cap && !grow(n, n->len + 1)) return WD_ERR_NOMEM;
                n->text[n->len] = (char)c;
                n->map[n->len++] = i;
            }
            i++;
            continue;
        }
        int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k < 0)
            return wd__fail(WD_ERR_ENCODING, "invalid UTF-8 at byte offset %zu (byte 0x%02x)", i, b);
        if ((flags & WD_CANON_INVISIBLE) && wd__canon_is_invisible(cp)) {
            i += (size_t)k;
            continue;
        }
        one_char(o, &cl, flags, cp, i);
        if (o->oom) return WD_ERR_NOMEM;
        i += (size_t)k;
    }
    flush(o, &cl, flags);
    return o->oom ? WD_ERR_NOMEM : WD_OK;
}

/* ==== pass 2: split words =============================================== */


static const char leet_to[128] = {
    ['0'] = 'o', ['1'] = 'i', ['3'] = 'e', ['4'] = 'a', ['5'] = 's', ['7'] = 't',
    ['8'] = 'b', ['9'] = 'g', ['@'] = 'a', ['$'] = 's', ['!'] = 'i', ['|'] = 'l',
};
static inline bool is_leet(uint8_t c) { return c < 128 && leet_to[c]; }
/* A "letter" for the join and leet rules: ASCII letter or any non-ASCII byte. */
static inline bool is_letterish(uint8_t c) { return is_alpha(c) || c >= 0x80; }
static inline bool is_sep(uint8_t c) {
    return c == ' ' || c == '.' || c == '-' || c == '_' || c == '*' || c == '/' || c == '|' ||
           c == '~' || c == '^' || c == '+' || c == ',' || c == '\'' || c == '`' || c == '=' ||
           c == ':' || c == '#';
}

/* Marks bytes to delete with keep[i] = 0; compacts at the end. */
static void compact(wd__canon *n, const uint8_t *keep) {
    size_t w = 0;
    for (size_t r = 0; r < n->len; r++) {
        if (!keep[r]) continue;
        n->text[w] = n->text[r];
        n->map[w] = n->map[r];
        w++;
    }
    n->map[w] = n->map[n->len];
    n->len = w;
}

/* Rule A: >= 3 one-character tokens (a letter, a digit, '@' or '$'), at
 * least two of them letters, separated by the same 1-3 byte separator:
 * "b.o.m.b", "b o m b", "b - 0 - m - b". */
static inline bool tok_byte(uint8_t c) { return is_alnum(c) || c == '@' || c == '$' || c >= 0x80; }
static inline bool single_at(const uint8_t *t, size_t len, size_t p) {
    return p < len && t[p] < 0x80 && tok_byte(t[p]) && (p == 0 || !tok_byte(t[p - 1])) &&
           (p + 1 >= len || !tok_byte(t[p + 1]));
}

/* The chain of one-character tokens starting at i (a single_at position):
 * tokens at i, i + step, i + 2 step, ... (step = 1 + seplen) separated by
 * the same separator bytes. Returns the number of tokens; *letters_out
 * gets how many are letters, *seplen_out the separator's length (0 or > 3:
 * no chain, and the return is 1). */
static size_t chain_at(const uint8_t *t, size_t len, size_t i, size_t *seplen_out, size_t *letters_out) {
    size_t s0 = i + 1, s1 = s0;
    while (s1 < len && is_sep(t[s1])) s1++;
    size_t seplen = s1 - s0;
    *seplen_out = seplen;
    *letters_out = is_alpha(t[i]);
    if (seplen == 0 || seplen > 3) return 1;
    size_t count = 1, p = s1;
    while (single_at(t, len, p)) {
        count++;
        *letters_out += is_alpha(t[p]);
        size_t q = p + 1;
        if (q + seplen >= len || memcmp(t + q, t + s0, seplen) || !tok_byte(t[q + seplen])) break;
        p = q + seplen;
    }
    return count;
}

/* Decides each chain once. A chain that is not joined from its first
 * token is tried from each later token (its suffix: fewer tokens, the same
 * separator, the same end), as a scan that restarts at every position
 * would, but from the counts already known: linear in the text. */
static bool join_singles(wd__canon *n, uint8_t *keep) {
    const uint8_t *t = (const uint8_t *)n->text;
    size_t len = n->len, i = 0;
    bool any = false;
    while (i < len) {
        if (!single_at(t, len, i)) {
            i++;
            continue;
        }
        size_t seplen, letters;
        size_t count = chain_at(t, len, i, &seplen, &letters);
        if (seplen == 0 || seplen > 3) {
            size_t s1 = i + 1 + seplen;
            i = s1 > i + 1 ? s1 : i + 1;
            continue;
        }
        size_t step = 1 + seplen, last = i + (count - 1) * step;
        bool joined = false;
        /* the suffixes that start before the chain's last token */
        for (size_t j = 0; j + 1 < count; j++) {
            size_t at = i + j * step, c = count - j;
            /* "make a b o m b": the article is not part of the spelled word */
            bool article = c >= 4 && seplen == 1 && t[i + 1] == ' ' && (t[at] == 'a' || t[at] == 'i');
            if (!article && c >= 3 && letters >= 2) {
                for (size_t q = at + 1; q < last; q++)
                    if ((q - at) % step) keep[q] = 0;
                any = joined = true;
                break;
            }
            letters -= is_alpha(t[at]);
        }
        if (joined) i = last + 1;
        else i = count > 1 ? last : i + 1; /* the last token may start a chain of its own */
    }
    return any;
}

/* The rule as first written: restarts at every token of a chain that is
 * not joined, so quadratic on "a a a a ...". The oracle for join_singles
 * (flag WD_CANON_JOIN_NAIVE). */
static bool join_singles_naive(wd__canon *n, uint8_t *keep) {
    const uint8_t *t = (const uint8_t *)n->text;
    size_t len = n->len, i = 0;
    bool any = false;
    while (i < len) {
        if (!single_at(t, len, i)) {
            i++;
            continue;
        }
        size_t seplen, letters;
        size_t count = chain_at(t, len, i, &seplen, &letters);
        if (seplen == 0 || seplen > 3) {
            size_t s1 = i + 1 + seplen;
            i = s1 > i + 1 ? s1 : i + 1;
            continue;
        }
        size_t last = i + (count - 1) * (1 + seplen);
        if (count >= 4 && seplen == 1 && t[i + 1] == ' ' && (t[i] == 'a' || t[i] == 'i')) {
            i = i + 2;
            continue;
        }
        if (count >= 3 && letters >= 2) {
            for (size_t q = i + 1; q < last; q++)
                if ((q - i) % (1 + seplen)) keep[q] = 0;
            any = true;
            i = last + 1;
        } else {
            i++;
        }
    }
    return any;
}

/* Rule B: a token of letters in which the same punctuation byte (. * _ ~ ^ ')
 * appears at least twice, every piece 1-5 bytes with a letter in it:
 * "ex.plo.sive". Versions ("v1.2.3") and hosts ("www.example.com") stay. */
static bool join_pieces(wd__canon *n, uint8_t *keep) {
    const uint8_t *t = (const uint8_t *)n->text;
    size_t len = n->len;
    bool any = false;
    size_t i = 0;
    while (i < len) {
        if (!is_letterish(t[i]) || (i > 0 && (is_alnum(t[i - 1]) || t[i - 1] >= 0x80))) {
            i++;
            continue;
        }
        /* the first piece */
        size_t p = i;
        while (p < len && (is_alnum(t[p]) || t[p] >= 0x80)) p++;
        if (p >= len || p - i > 5) {
            i = p;
            continue;
        }
        uint8_t sep = t[p];
        if (!(sep == '.' || sep == '*' || sep == '_' || sep == '~' || sep == '^' || sep == '\'')) {
            i = p;
            continue;
        }
        size_t pieces = 1, end = p;
        bool ok = true;
        size_t q = p;
        while (q < len && t[q] == sep) {
            size_t a = q + 1, b = a;
            bool letter = false;
            while (b < len && (is_alnum(t[b]) || t[b] >= 0x80)) letter |= is_letterish(t[b]), b++;
            if (b == a) break; /* trailing separator: sentence end */
            if (b - a > 5 || !letter) {
                ok = false;
                break;
            }
            pieces++;
            end = b;
            q = b;
        }
        size_t need = (sep == '.' || sep == '\'') ? 3 : 2;
        if (ok && pieces >= need && (end >= len || !(is_sep(t[end]) && t[end] != ' ' && end + 1 < len && is_alnum(t[end + 1])))) {
            for (size_t r = i; r < end; r++)
                if (t[r] == sep) keep[r] = 0;
            any = true;
        }
        i = end > i ? end : i + 1;
    }
    return any;
}

/* Polls stop between its linear sub-passes. */
static wd_status pass_join(wd__canon *n, bool naive, const wd__scan_stop *stop) {
    if (n->len < 5) return WD_OK;
    uint8_t stackbuf[512];
    uint8_t *keep = n->len <= sizeof stackbuf ? stackbuf : malloc(n->len);
    if (!keep) return WD_ERR_NOMEM;
    memset(keep, 1, n->len);
    bool any = naive ? join_singles_naive(n, keep) : join_singles(n, keep);
    wd_status st = wd__scan_stop_poll(stop);
    if (st == WD_OK && any) compact(n, keep), memset(keep, 1, n->len);
    if (st == WD_OK && join_pieces(n, keep)) compact(n, keep);
    if (keep != stackbuf) free(keep);
    return st;
}

/* ==== pass 3: leetspeak ================================================== */

/* A word folds when a leet byte sits between two letters of it ("b0mb");
 * once one word in the text folds, the text is written in leet and the
 * looser rule applies to the rest: any word with a letter and a leet byte
 * ("t0", "m3"). */
static bool leet_word(const uint8_t *t, size_t a, size_t b, bool loose) {
    size_t first_letter = SIZE_MAX, last_letter = 0;
    bool any_leet = false;
    for (size_t k = a; k < b; k++) {
        if (is_letterish(t[k])) {
            if (first_letter == SIZE_MAX) first_letter = k;
            last_letter = k;
        }
        any_leet |= is_leet(t[k]);
    }
    if (first_letter == SIZE_MAX || !any_leet) return false;
    if (loose) return true;
    for (size_t k = first_letter + 1; k < last_letter; k++)
        if (is_leet(t[k])) return true;
    return false;
}

static wd_status pass_leet(wd__canon *n, const wd__scan_stop *stop) {
    uint8_t *t = (uint8_t *)n->text;
    size_t len = n->len;
    for (int round = 0; round < 2; round++) {
        bool loose = round == 1, any = false;
        size_t i = 0, next_poll = stop ? WD_SCAN_POLL_BYTES : SIZE_MAX;
        while (i < len) {
            if (i >= next_poll) {
                wd_status st = wd__scan_stop_poll(stop);
                if (st != WD_OK) return st;
                next_poll = i + WD_SCAN_POLL_BYTES;
            }
            if (!(is_alnum(t[i]) || is_leet(t[i]) || t[i] >= 0x80)) {
                i++;
                continue;
            }
            size_t a = i;
            while (i < len && (is_alnum(t[i]) || is_leet(t[i]) || t[i] >= 0x80)) i++;
            if (!leet_word(t, a, i, loose)) continue;
            any = true;
            for (size_t k = a; k < i; k++)
                if (is_leet(t[k])) t[k] = (uint8_t)leet_to[t[k]];
        }
        if (!any) break; /* no strict word: the text is not leet */
    }
    return WD_OK;
}

/* ==== API ================================================================ */

wd_status wd__canonicalize_reuse(const char *text, size_t len, unsigned flags, wd__canon *out) {
    return wd__canonicalize_stop(text, len, flags, out, NULL);
}

wd_status wd__canonicalize_stop(const char *text, size_t len, unsigned flags, wd__canon *out,
                             const wd__scan_stop *stop) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "normalize: out is NULL");
    out->len = 0;
    if (!text && len) return wd__fail(WD_ERR_INVALID_ARG, "normalize: text is NULL");
    /* ASCII never grows; other text grows by at most ~3x in practice (grow() handles more). */
    if (!grow(out, len + 8)) return wd__fail(WD_ERR_NOMEM, "normalize: out of memory (%zu bytes)", len);
    outbuf o = {out, false};
    wd_status st = pass_chars(text ? text : "", len, flags, &o, stop);
    if (st == WD_ERR_NOMEM) wd__fail(st, "normalize: out of memory (%zu bytes)", len);
    if (st != WD_OK) {
        out->len = 0;
        out->text[0] = '\0';
        out->map[0] = 0;
        return st;
    }
    out->map[out->len] = len;
    if (stop && (st = wd__scan_stop_poll(stop)) != WD_OK) {
        out->len = 0;
        out->text[0] = '\0';
        out->map[0] = 0;
        return st;
    }
    if (flags & WD_CANON_JOIN_SPLIT) {
        st = pass_join(out, (flags & WD_CANON_JOIN_NAIVE) != 0, stop);
        if (st != WD_OK) {
            out->len = 0;
            out->text[0] = '\0';
            out->map[0] = 0;
            return st == WD_ERR_NOMEM ? wd__fail(st, "normalize: out of memory") : st;
        }
    }
    if ((flags & WD_CANON_LEET) && (st = pass_leet(out, stop)) != WD_OK) {
        out->len = 0;
        out->text[0] = '\0';
        out->map[0] = 0;
        return st;
    }
    out->text[out->len] = '\0';
    return WD_OK;
}

wd_status wd__canonicalize(const char *text, size_t len, unsigned flags, wd__canon *out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "normalize: out is NULL");
    memset(out, 0, sizeof *out);
    wd_status st = wd__canonicalize_reuse(text, len, flags, out);
    if (st != WD_OK) wd__canon_free(out);
    return st;
}

void wd__canon_free(wd__canon *n) {
    if (!n) return;
    free(n->text);
    free(n->map);
    memset(n, 0, sizeof *n);
}

void wd__canon_span(const wd__canon *n, const char *orig, size_t orig_len, size_t a, size_t b,
                   size_t *start, size_t *end) {
    if (a > n->len) a = n->len;
    if (b > n->len) b = n->len;
    if (b <= a) {
        *start = *end = n->map[a];
        return;
    }
    *start = n->map[a];
    size_t e = n->map[b - 1];
    if (e < orig_len && orig[e] == '&') { /* a character reference ends at its ';' */
        int32_t cp;
        size_t k = html_ref((const uint8_t *)orig + e, orig_len - e, &cp);
        if (k) {
            *end = e + k;
            return;
        }
    }
    if (e < orig_len) {
        uint8_t c = (uint8_t)orig[e];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        e += k;
        if (e > orig_len) e = orig_len;
    }
    *end = e;
}
