/*
 * text/precompiled.c - the `Precompiled` normalizer of tokenizer.json:
 * SentencePiece's compiled normalization rules (NormalizerSpec.
 * precompiled_charsmap, e.g. nmt_nfkc in XLM-RoBERTa's and mDeBERTa-v3's
 * tokenizers), run with the semantics of the Hugging Face tokenizers
 * library.
 *
 * The charsmap, base64 in the JSON, is
 *
 *     | trie_size (u32 LE) | double-array trie (trie_size bytes, u32 LE units) |
 *     | normalized strings, each NUL-terminated                                |
 *
 * The trie (darts-clone's layout) maps a byte string to the offset of its
 * replacement in the strings blob. A unit holds a label (bits 0-7 and 31),
 * a has-leaf flag (bit 8) and an offset (bits 10-31, shifted left 8 more
 * when bit 9 is set); the child for byte c of the node at p is at
 * p ^ offset ^ c, and a leaf's value (bits 0-30) sits at p ^ offset.
 *
 * As in tokenizers: the text is cut into extended grapheme clusters; a
 * cluster shorter than 6 bytes that some key prefixes is replaced, whole,
 * by the replacement of the shortest such key; otherwise each character is
 * replaced by its own key's replacement, or kept. A replacement's bytes
 * are aligned to the range of the cluster (or character) it replaces.
 * Every trie access is bounds-checked: a malformed charsmap normalizes
 * less, never reads outside itself.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/tok_internal.h"

struct wd__charsmap {
    uint32_t *trie;   /* (n_trie) units            */
    size_t    n_trie;
    char     *norm;   /* (n_norm) bytes, NUL-separated */
    size_t    n_norm;
};

void wd__charsmap_free(wd__charsmap *cm) {
    if (!cm) return;
    free(cm->trie);
    free(cm->norm);
    free(cm);
}

/* Decodes standard base64 (padding optional); returns the byte count, or
 * -1 on a character outside the alphabet. out holds 3 * len / 4 + 3. */
static long b64_decode(const char *s, size_t len, unsigned char *out) {
    uint32_t acc = 0;
    int bits = 0;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '+'             ? 62
                : c == '/'             ? 63
                                       : -1;
        if (c == '=') break;
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

wd_status wd__charsmap_parse(const char *b64, const char *where, const char *field,
                             wd__charsmap **out) {
    *out = NULL;
    size_t len = strlen(b64);
    unsigned char *raw = malloc(3 * len / 4 + 3);
    wd__charsmap *cm = calloc(1, sizeof *cm);
    wd_status st = WD_OK;
    if (!raw || !cm) {
        st = WD_ERR_NOMEM;
        goto done;
    }
    long n = b64_decode(b64, len, raw);
    if (n < 0) {
        st = wd__fail(WD_ERR_FORMAT, "%s: %s.precompiled_charsmap: not base64", where, field);
        goto done;
    }
    if (n == 0) goto done; /* no rules: the identity */
    uint32_t tsize = n >= 4 ? (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                                  (uint32_t)raw[3] << 24
                            : 0;
    if (n < 4 || tsize % 4 || tsize > (uint64_t)n - 4) {
        st = wd__fail(WD_ERR_FORMAT,
                      "%s: %s.precompiled_charsmap: %ld bytes cannot hold a trie of %lu bytes "
                      "(a multiple of 4) after its 4-byte size",
                      where, field, n, (unsigned long)tsize);
        goto done;
    }
    cm->n_trie = tsize / 4;
    cm->n_norm = (size_t)n - 4 - tsize;
    cm->trie = malloc((cm->n_trie ? cm->n_trie : 1) * sizeof *cm->trie);
    cm->norm = malloc(cm->n_norm + 1);
    if (!cm->trie || !cm->norm) {
        st = WD_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < cm->n_trie; i++) {
        const unsigned char *u = raw + 4 + 4 * i;
        cm->trie[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    }
    memcpy(cm->norm, raw + 4 + tsize, cm->n_norm);
    cm->norm[cm->n_norm] = '\0';
    /* the replacements must be UTF-8 (tokenizers reads the blob as a String) */
    for (size_t i = 0; i < cm->n_norm;) {
        if (!cm->norm[i]) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)cm->norm + i,
                                              (utf8proc_ssize_t)(cm->n_norm - i), &cp);
        if (k <= 0) {
            st = wd__fail(WD_ERR_FORMAT,
                          "%s: %s.precompiled_charsmap: replacement text is not UTF-8 at byte %zu",
                          where, field, i);
            goto done;
        }
        i += (size_t)k;
    }
done:
    free(raw);
    if (st) {
        wd__charsmap_free(cm);
        return st;
    }
    *out = cm;
    return WD_OK;
}

static size_t unit_offset(uint32_t u) { return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6); }

/* The replacement of the shortest key that prefixes s[0..n) (its length
 * in *rlen), or NULL when no key does. */
static const char *shortest_match(const wd__charsmap *cm, const unsigned char *s, size_t n,
                                  size_t *rlen) {
    const uint32_t *a = cm->trie;
    size_t na = cm->n_trie;
    if (na == 0) return NULL;
    size_t p = unit_offset(a[0]);
    for (size_t i = 0; i < n && s[i]; i++) {
        p ^= s[i];
        if (p >= na) return NULL;
        uint32_t u = a[p];
        if ((u & 0x800000FFu) != s[i]) return NULL;
        p ^= unit_offset(u);
        if ((u >> 8) & 1) {
            if (p >= na) return NULL;
            size_t v = a[p] & 0x7FFFFFFFu;
            if (v >= cm->n_norm) return NULL;
            *rlen = strlen(cm->norm + v); /* the blob is NUL-terminated past its end */
            return cm->norm + v;
        }
    }
    return NULL;
}

wd_status wd__charsmap_run(const wd__charsmap *cm, const wd__tstr *in, size_t s, size_t len,
                           wd__tstr *out) {
    size_t i = s, end = s + len;
    const unsigned char *b = (const unsigned char *)in->b;
    while (i < end) {
        /* one extended grapheme cluster [i, j) */
        uint32_t cp, prev;
        size_t j = i + (size_t)wd__utf8_next(in->b, end, i, &prev);
        utf8proc_int32_t state = 0;
        while (j < end) {
            int k = wd__utf8_next(in->b, end, j, &cp);
            if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev, (utf8proc_int32_t)cp, &state))
                break;
            prev = cp;
            j += (size_t)k;
        }
        size_t rl;
        const char *r = j - i < 6 ? shortest_match(cm, b + i, j - i, &rl) : NULL;
        wd_status st;
        if (r) {
            st = rl ? wd__tstr_push(out, r, rl, in->a0[i], in->a1[j - 1]) : WD_OK;
            if (st) return st;
            i = j;
            continue;
        }
        for (size_t c = i; c < j;) { /* character by character */
            size_t k = (size_t)wd__utf8_next(in->b, j, c, &cp);
            r = shortest_match(cm, b + c, k, &rl);
            if (r) st = rl ? wd__tstr_push(out, r, rl, in->a0[c], in->a1[c + k - 1]) : WD_OK;
            else st = wd__tstr_copy(out, in, c, k);
            if (st) return st;
            c += k;
        }
        i = j;
    }
    return WD_OK;
}
