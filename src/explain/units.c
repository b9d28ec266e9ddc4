/*
 * explain/units.c - what an explanation attributes to: the units of a text,
 * as byte spans [start, end) of the original.
 *
 *   words   maximal runs of bytes that are not ASCII blanks (space, tab,
 *           CR, LF, VT, FF): punctuation stays with its word, UTF-8
 *           sequences are never split (their bytes are all >= 0x80).
 *   tokens  the spans of a tokenizer's encoding, special tokens left out
 *           (they are not in the text); a span that overlaps the previous
 *           one (byte-level BPE can split one character over two tokens)
 *           is merged into it, so units never overlap and masking a unit
 *           never cuts a character.
 */
#include <stdlib.h>

#include "base/err.h"
#include "warden/explain.h"

static int is_blank(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static wd_status split_words(const char *text, size_t len, wd_explain_span **out, size_t *n) {
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_blank((unsigned char)text[i]) && (i == 0 || is_blank((unsigned char)text[i - 1]))) k++;
    if (!k) return WD_OK;
    wd_explain_span *u = malloc(k * sizeof *u);
    if (!u) return wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    size_t j = 0;
    for (size_t i = 0; i < len;) {
        if (is_blank((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t b = i;
        while (i < len && !is_blank((unsigned char)text[i])) i++;
        u[j++] = (wd_explain_span){b, i};
    }
    *out = u;
    *n = j;
    return WD_OK;
}

static wd_status split_tokens(const char *text, size_t len, const wd_tokenizer *tok, wd_explain_span **out,
                              size_t *n) {
    if (!tok) return wd__fail(WD_ERR_INVALID_ARG, "explain: units 'tokens' need a tokenizer");
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    ep.split_special_tokens = true;
    wd_encoding *enc = NULL;
    wd_status st = wd_tokenizer_encode(tok, text, len, &ep, &enc);
    if (st != WD_OK) return st;
    size_t nt = wd_encoding_len(enc);
    const wd_offset *off = wd_encoding_offsets(enc);
    const uint8_t *special = wd_encoding_special_mask(enc);
    wd_explain_span *u = nt ? malloc(nt * sizeof *u) : NULL;
    if (nt && !u) {
        wd_encoding_free(enc);
        return wd__fail(WD_ERR_NOMEM, "explain: out of memory");
    }
    size_t j = 0;
    for (size_t t = 0; t < nt; t++) {
        if ((special && special[t]) || off[t].end <= off[t].start || off[t].end > len) continue;
        if (j && off[t].start < u[j - 1].end) {
            if (off[t].end > u[j - 1].end) u[j - 1].end = off[t].end;
            continue;
        }
        u[j++] = (wd_explain_span){off[t].start, off[t].end};
    }
    wd_encoding_free(enc);
    if (!j) {
        free(u);
        u = NULL;
    }
    *out = u;
    *n = j;
    return WD_OK;
}

wd_status wd_explain_split(const char *text, size_t len, wd_explain_units units, const wd_tokenizer *tok,
                           wd_explain_span **out, size_t *n) {
    if (!out || !n || (!text && len)) return wd__fail(WD_ERR_INVALID_ARG, "explain_split: NULL argument");
    *out = NULL;
    *n = 0;
    switch (units) {
    case WD_EXPLAIN_UNITS_WORDS: return split_words(text, len, out, n);
    case WD_EXPLAIN_UNITS_TOKENS: return split_tokens(text, len, tok, out, n);
    }
    return wd__fail(WD_ERR_INVALID_ARG, "explain_split: unknown unit kind %d", (int)units);
}
