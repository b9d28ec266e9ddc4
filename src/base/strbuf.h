/*
 * base/strbuf.h - a growable, always NUL-terminated string.
 *
 * Errors are sticky: after a failed allocation every append is a no-op and
 * `oom` stays set, so a writer appends freely and checks once at the end.
 *
 *   wd__strbuf b = {0};
 *   wd__strbuf_puts(&b, "a");
 *   wd__strbuf_printf(&b, "%d", 1);
 *   if (b.oom) ... else use b.p (b.n bytes), then wd__strbuf_free(&b)
 */
#ifndef WD_BASE_STRBUF_H
#define WD_BASE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct wd__strbuf {
    char  *p;   /* NULL until the first append, else NUL-terminated; owned */
    size_t n;   /* bytes, excluding the NUL */
    size_t cap; /* bytes allocated */
    bool   oom; /* an allocation failed; the contents are incomplete */
} wd__strbuf;

/* Makes room for extra more bytes (+ NUL); false (and oom set) on failure. */
bool wd__strbuf_reserve(wd__strbuf *b, size_t extra);
void wd__strbuf_add(wd__strbuf *b, const void *p, size_t n);
void wd__strbuf_puts(wd__strbuf *b, const char *s);
void wd__strbuf_putc(wd__strbuf *b, char c);
void wd__strbuf_printf(wd__strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n bytes of s as HTML text or attribute value: < > & " ' escaped (&lt;
 * &gt; &amp; &quot; &#39;), every other byte as it is. */
void wd__strbuf_put_html(wd__strbuf *b, const char *s, size_t n);
/* The same for a C string; NULL adds nothing. */
void wd__strbuf_puts_html(wd__strbuf *b, const char *s);
/* Hands the string over (the caller frees it; "" when nothing was added);
 * NULL if an allocation failed. The buffer is empty afterwards. */
char *wd__strbuf_take(wd__strbuf *b, size_t *len);
void wd__strbuf_free(wd__strbuf *b);

#endif
