/*
 * serve/jsonw.c - an append-only JSON text writer for the server's answers.
 *
 * Answers are built as text, not as cJSON trees: a moderation answer has
 * ~30 keys per input, and the guard's own verdict already arrives as JSON
 * text that is spliced in as it is. The text grows in a wd__strbuf
 * (base/strbuf.h): after any sequence of calls it is NUL-terminated, or an
 * allocation failed and take() returns NULL.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "serve/serve_internal.h"

void wd__jsonw_raw(wd__jsonw *w, const char *s, size_t n) { wd__strbuf_add(&w->b, s, n); }

void wd__jsonw_lit(wd__jsonw *w, const char *s) { wd__strbuf_puts(&w->b, s); }

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t k;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) k = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, min = 0x10000;
    else return 0;
    if (k > n) return 0;
    unsigned cp = c & (0xFF >> (k + 1));
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

void wd__jsonw_str(wd__jsonw *w, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    if (!wd__strbuf_reserve(&w->b, n + 2)) return;
    wd__strbuf_putc(&w->b, '"');
    size_t i = 0;
    while (i < n) {
        /* copy the longest run that needs no escaping in one go */
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\') j++;
        if (j > i) wd__jsonw_raw(w, s + i, j - i);
        i = j;
        if (i >= n) break;
        unsigned c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            wd__jsonw_raw(w, esc, 2);
            i++;
        } else if (c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (named) {
                wd__jsonw_raw(w, named, 2);
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                wd__jsonw_raw(w, esc, 6);
            }
            i++;
        } else {
            size_t k = utf8_len(p + i, n - i);
            if (k) {
                wd__jsonw_raw(w, s + i, k);
                i += k;
            } else {
                wd__jsonw_raw(w, "\xEF\xBF\xBD", 3); /* U+FFFD for one bad byte */
                i++;
            }
        }
    }
    wd__jsonw_raw(w, "\"", 1);
}

void wd__jsonw_cstr(wd__jsonw *w, const char *s) {
    if (!s) wd__jsonw_raw(w, "null", 4);
    else wd__jsonw_str(w, s, strlen(s));
}

void wd__jsonw_num(wd__jsonw *w, double x) {
    char b[40];
    if (!isfinite(x)) x = 0;
    size_t n = wd__json_shortest(x, b, sizeof b); /* as every JSON output: shortest round trip */
    wd__jsonw_raw(w, b, n);
}

void wd__jsonw_int(wd__jsonw *w, long long x) {
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", x);
    wd__jsonw_raw(w, b, (size_t)n);
}

void wd__jsonw_printf(wd__jsonw *w, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        wd__jsonw_raw(w, small, (size_t)n);
        return;
    }
    if (!wd__strbuf_reserve(&w->b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(w->b.p + w->b.n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->b.n += (size_t)n;
}

char *wd__jsonw_take(wd__jsonw *w, size_t *len) {
    char *t = wd__strbuf_take(&w->b, len);
    if (!t && len) *len = 0;
    return t;
}

void wd__jsonw_free(wd__jsonw *w) { wd__strbuf_free(&w->b); }
