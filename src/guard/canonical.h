/*
 * guard/canonical.h - the text normaliser every scanner shares.
 *
 * It undoes the cheap tricks people use to slip a request past a word list
 * (invisible characters, look-alike letters, leetspeak, letters split by
 * spaces or dots) while keeping, for every output byte, the offset of the
 * original character it came from, so that a match in the normalised text
 * can be reported (and redacted) in the text the caller gave.
 *
 * Steps, in order, each switched by a flag:
 *   HTML        character references decoded (&#98; &#x62; &amp; &nbsp; and
 *               the named ones for ASCII punctuation), a trailing ';'
 *               optional for the numeric ones; comments <!-- ... --> that
 *               hold no letter or digit, or that sit inside a word
 *               ("b<!-- x -->omb"), removed; any other comment becomes a
 *               word boundary with its content kept (the scanners read it)
 *   INVISIBLE   drop zero-width, bidi controls, Unicode tag characters
 *               (U+E0000-E007F), variation selectors, soft hyphen, fillers
 *               and C0/C1 control characters other than \t \n \r
 *   NFKC        compatibility decomposition + canonical composition
 *               (composition is per cluster: a starter and its marks)
 *   CONFUSABLES Cyrillic/Greek/small-capital/enclosed look-alikes -> Latin,
 *               and combining diacritics (U+0300-036F, ...) dropped, so
 *               "b\u00f3mb", "b\u043emb" and "b\u0336o\u0336mb" all read "bomb"
 *   CASEFOLD    Unicode case folding (ASCII fast path)
 *   JOIN_SPLIT  "b.o.m.b", "b o m b", "b-o-m-b" -> "bomb" (>= 3 one-letter
 *               tokens joined by the same separator); "ex.plo.sive",
 *               "ex*plo*sive", "sa_rin" -> "explosive", "sarin" (the same
 *               in-word punctuation joining pieces of 1-5 bytes with a
 *               letter: 2+ pieces for _ * ~ ^, 3+ for . and ')
 *   LEET        0->o 1->i 3->e 4->a 5->s 7->t 8->b 9->g @->a $->s !->i |->l,
 *               only in a word where a leet character has a letter on both
 *               sides somewhere in the word: "b0mb", "m4k3" fold; "2024",
 *               "$5", "mp3", "covid19" stay. Once a word of the text
 *               folds, any word with a letter and a leet character folds
 *               too ("h0w t0" -> "how to").
 *
 * Invariants: text is valid UTF-8 and NUL-terminated; map has len + 1
 * entries, is non-decreasing, map[i] is the first byte of a character of the
 * original, and map[len] is the original length. A match [a, b) in text is
 * [map[a], end of the character at map[b-1]) in the original; wd__canon_span
 * computes it.
 */
#ifndef WD_GUARD_CANONICAL_H
#define WD_GUARD_CANONICAL_H

#include <stddef.h>

#include "guard/stop.h"
#include "warden/base.h"

typedef struct wd__canon {
    char   *text;  /* normalised UTF-8, NUL-terminated, owned */
    size_t  len;   /* bytes in text */
    size_t *map;   /* map[i] = byte offset in the original text where the character that produced normalised byte i starts; map[len] = original length. owned */
    size_t  cap;   /* bytes allocated for text (map has cap + 1 entries); for buffer reuse */
} wd__canon;

enum { WD_CANON_NFKC = 1, WD_CANON_CASEFOLD = 2, WD_CANON_INVISIBLE = 4, WD_CANON_CONFUSABLES = 8,
       WD_CANON_LEET = 16, WD_CANON_JOIN_SPLIT = 32, WD_CANON_HTML = 64, WD_CANON_DEFAULT = 127 };
/* Tests only: JOIN_SPLIT's one-letter rule by its quadratic first version,
 * the oracle of the linear one. */
enum { WD_CANON_JOIN_NAIVE = 1 << 16 };

/* Normalises len bytes of UTF-8. Invalid UTF-8 -> WD_ERR_ENCODING with the byte offset in the message. out zeroed on failure. */
wd_status wd__canonicalize(const char *text, size_t len, unsigned flags, wd__canon *out);
void wd__canon_free(wd__canon *n);

/* Same as wd__canonicalize, but reuses out's buffers when they are big enough
 * (out must be zeroed or hold a previous result). On failure out keeps its
 * buffers (to be freed by wd__canon_free) with len = 0 and text = "". */
wd_status wd__canonicalize_reuse(const char *text, size_t len, unsigned flags, wd__canon *out);

/* wd__canonicalize_reuse that polls stop (may be NULL) every 64 KiB: returns
 * WD_ERR_TIMEOUT / WD_ERR_CANCELLED (out as on failure) when told to stop.
 * Linear in len. */
wd_status wd__canonicalize_stop(const char *text, size_t len, unsigned flags, wd__canon *out,
                             const wd__scan_stop *stop);

/* Maps the normalised byte range [a, b) (a < b <= n->len) back to the
 * original: *start = map[a], *end = the end of the original character that
 * produced byte b-1. orig/orig_len is the original text. */
void wd__canon_span(const wd__canon *n, const char *orig, size_t orig_len, size_t a, size_t b,
                   size_t *start, size_t *end);

/* True for the characters the INVISIBLE step removes. */
int wd__canon_is_invisible(int32_t cp);

#endif
