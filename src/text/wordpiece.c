/*
 * text/wordpiece.c - the WordPiece model of tokenizer.json (BERT; Schuster
 * & Nakajima 2012, as used by Devlin et al. 2019): greedy longest match
 * first. A word is cut from the left into the longest vocab entries, every
 * piece after the first looked up with the continuing_subword_prefix
 * ("##"). If some position has no match, or the word has more than
 * max_input_chars_per_word characters, the whole word becomes the unknown
 * token. Matches the Hugging Face tokenizers implementation.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/tok_internal.h"

wd_status wd__wordpiece_parse(const cJSON *j, const char *where, wd__arena *a, wd__tmodel *m) {
    m->type = WD_TMODEL_WORDPIECE;
    m->unk_id = -1;
    wd_status st = wd__vocab_parse_object(cJSON_GetObjectItemCaseSensitive(j, "vocab"), where, a, &m->vocab);
    if (st) return st;
    char sub[256];
    snprintf(sub, sizeof sub, "%s: model", where);
    const char *unk = "[UNK]", *prefix = "##";
    int64_t max_chars = 100;
    st = wd__json_str(j, sub, "unk_token", false, unk, &unk);
    if (!st) st = wd__json_str(j, sub, "continuing_subword_prefix", false, prefix, &prefix);
    if (!st) st = wd__json_int(j, sub, "max_input_chars_per_word", false, 100, &max_chars);
    if (st) return st;
    if (max_chars < 0)
        return wd__fail(WD_ERR_FORMAT, "%s.max_input_chars_per_word: expected >= 0, got %lld", sub,
                        (long long)max_chars);
    m->max_chars = (size_t)max_chars;
    m->unk = wd__arena_strdup(a, unk);
    m->cont_prefix = wd__arena_strdup(a, prefix);
    if (!m->unk || !m->cont_prefix) return WD_ERR_NOMEM;
    m->cont_prefix_len = strlen(prefix);
    if (!wd__vocab_id(&m->vocab, unk, strlen(unk), &m->unk_id))
        return wd__fail(WD_ERR_FORMAT, "%s.unk_token: '%s' is not in the vocab", sub, unk);
    return WD_OK;
}

wd_status wd__wordpiece_tokenize(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out,
                                 wd__scratch *sc) {
    if (len == 0) return WD_OK;
    size_t nchars = 0;
    for (size_t i = 0; i < len; i += (size_t)wd__utf8_len((unsigned char)s[i])) nchars++;
    if (nchars > m->max_chars) return wd__mtoks_push(out, m->unk_id, 0, (uint32_t)len);
    size_t need = m->cont_prefix_len + len;
    if (need > sc->buf_cap) {
        char *b = realloc(sc->buf, need);
        if (!b) return WD_ERR_NOMEM;
        sc->buf = b;
        sc->buf_cap = need;
    }
    memcpy(sc->buf, m->cont_prefix, m->cont_prefix_len);
    size_t first = out->n;
    size_t start = 0;
    while (start < len) {
        size_t end = len;
        int32_t id = -1;
        while (start < end) {
            bool found;
            if (start == 0) {
                found = wd__vocab_id(&m->vocab, s, end, &id);
            } else {
                memcpy(sc->buf + m->cont_prefix_len, s + start, end - start);
                found = wd__vocab_id(&m->vocab, sc->buf, m->cont_prefix_len + end - start, &id);
            }
            if (found) break;
            /* drop the last character */
            size_t p = end - 1;
            while (p > start && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
            end = p;
        }
        if (start == end) { /* no piece: the word is unknown */
            out->n = first;
            return wd__mtoks_push(out, m->unk_id, 0, (uint32_t)len);
        }
        wd_status st = wd__mtoks_push(out, id, (uint32_t)start, (uint32_t)end);
        if (st) return st;
        start = end;
    }
    return WD_OK;
}
