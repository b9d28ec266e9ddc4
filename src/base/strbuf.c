/*
 * base/strbuf.c - see strbuf.h.
 */
#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool wd__strbuf_reserve(wd__strbuf *b, size_t extra) {
    if (b->oom) return false;
    if (extra > (size_t)-1 / 2 - b->n) {
        b->oom = true;
        return false;
    }
    size_t need = b->n + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    if (!b->p) p[0] = 0;
    b->p = p;
    b->cap = cap;
    return true;
}

void wd__strbuf_add(wd__strbuf *b, const void *p, size_t n) {
    if (!wd__strbuf_reserve(b, n)) return;
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
}

void wd__strbuf_puts(wd__strbuf *b, const char *s) { wd__strbuf_add(b, s, strlen(s)); }

void wd__strbuf_putc(wd__strbuf *b, char c) { wd__strbuf_add(b, &c, 1); }

void wd__strbuf_put_html(wd__strbuf *b, const char *s, size_t n) {
    size_t run = 0; /* bytes waiting to be copied as they are */
    for (size_t i = 0; i < n; i++) {
        const char *e;
        switch (s[i]) {
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '&': e = "&amp;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: run++; continue;
        }
        wd__strbuf_add(b, s + i - run, run);
        wd__strbuf_puts(b, e);
        run = 0;
    }
    wd__strbuf_add(b, s + n - run, run);
}

void wd__strbuf_puts_html(wd__strbuf *b, const char *s) {
    if (s) wd__strbuf_put_html(b, s, strlen(s));
}

void wd__strbuf_printf(wd__strbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)k < sizeof small) {
        wd__strbuf_add(b, small, (size_t)k);
        return;
    }
    if (!wd__strbuf_reserve(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

char *wd__strbuf_take(wd__strbuf *b, size_t *len) {
    if (b->oom) {
        wd__strbuf_free(b);
        return NULL;
    }
    if (!b->p && !wd__strbuf_reserve(b, 0)) return NULL;
    char *p = b->p;
    if (len) *len = b->n;
    *b = (wd__strbuf){0};
    return p;
}

void wd__strbuf_free(wd__strbuf *b) {
    free(b->p);
    *b = (wd__strbuf){0};
}
