/*
 * text/added_tokens.c - the `added_tokens` of tokenizer.json, matched in
 * the text before the model sees it (Hugging Face tokenizers'
 * AddedVocabulary).
 *
 * Tokens with normalized == false are matched in the raw text first; the
 * text between them is normalized, and tokens with normalized == true are
 * matched in that normalized text (their content normalized the same way).
 * Matching is leftmost-longest: scanning left to right, the first position
 * where some token starts wins, and there the longest token. Then:
 *   single_word  the match counts only if no word character (\w) touches
 *                it on either side;
 *   lstrip       whitespace before the match joins the token (not reaching
 *                back into the previous match);
 *   rstrip       whitespace after the match joins the token.
 * With split_special_tokens, special tokens are not matched (their text is
 * tokenized as ordinary text).
 *
 * The matcher is a byte trie (first-child/next-sibling lists) behind a
 * 256-bit table of first bytes, so positions where no token can start cost
 * one bit test.
 */
#include <stdlib.h>
#include <string.h>

#include "text/tok_internal.h"

typedef struct tnode {
    int32_t child, sibling, tok;
    unsigned char byte;
} tnode;

struct wd__trie {
    tnode   *v;
    size_t   n, cap;
    uint64_t first[4];
};

static int32_t trie_new_node(struct wd__trie *t, unsigned char b) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        tnode *v = realloc(t->v, cap * sizeof *v);
        if (!v) return -1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n] = (tnode){-1, -1, -1, b};
    return (int32_t)t->n++;
}

static wd_status trie_add(struct wd__trie *t, const char *s, size_t len, int32_t tok) {
    if (len == 0) return WD_OK; /* an empty token never matches */
    if (t->n == 0 && trie_new_node(t, 0) < 0) return WD_ERR_NOMEM;
    t->first[(unsigned char)s[0] >> 6] |= 1ull << ((unsigned char)s[0] & 63);
    int32_t cur = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        int32_t c = t->v[cur].child;
        while (c >= 0 && t->v[c].byte != b) c = t->v[c].sibling;
        if (c < 0) {
            c = trie_new_node(t, b);
            if (c < 0) return WD_ERR_NOMEM;
            t->v[c].sibling = t->v[cur].child;
            t->v[cur].child = c;
        }
        cur = c;
    }
    if (t->v[cur].tok < 0) t->v[cur].tok = tok; /* first definition wins */
    return WD_OK;
}

/* Longest token starting at s[i]; returns its index or -1, *end after it. */
static int32_t trie_match(const struct wd__trie *t, const wd__added_vocab *av, bool skip_special,
                          const char *s, size_t len, size_t i, size_t *end) {
    unsigned char b0 = (unsigned char)s[i];
    if (!(t->first[b0 >> 6] & (1ull << (b0 & 63)))) return -1;
    int32_t cur = 0, best = -1;
    for (size_t k = i; k < len; k++) {
        unsigned char b = (unsigned char)s[k];
        int32_t c = t->v[cur].child;
        while (c >= 0 && t->v[c].byte != b) c = t->v[c].sibling;
        if (c < 0) break;
        cur = c;
        int32_t tok = t->v[cur].tok;
        if (tok >= 0 && !(skip_special && av->tok[tok].special)) {
            best = tok;
            *end = k + 1;
        }
    }
    return best;
}

wd_status wd__added_build(wd__added_vocab *av) {
    av->raw = calloc(1, sizeof *av->raw);
    av->norm = calloc(1, sizeof *av->norm);
    if (!av->raw || !av->norm) return WD_ERR_NOMEM;
    for (size_t k = 0; k < av->n; k++) {
        const wd__added_token *t = &av->tok[k];
        wd_status st = t->normalized ? trie_add(av->norm, t->norm, t->norm_len, (int32_t)k)
                                     : trie_add(av->raw, t->content, t->len, (int32_t)k);
        if (st) return st;
    }
    return WD_OK;
}

bool wd__added_has(const wd__added_vocab *av, bool normalized) {
    const struct wd__trie *t = normalized ? av->norm : av->raw;
    return t && t->n > 0;
}

void wd__added_free(wd__added_vocab *av) {
    if (av->raw) free(av->raw->v);
    if (av->norm) free(av->norm->v);
    free(av->raw);
    free(av->norm);
    free(av->tok);
    memset(av, 0, sizeof *av);
}

static bool word_before(const char *s, size_t at) {
    if (at == 0) return false;
    size_t p = at - 1;
    while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
    uint32_t cp;
    wd__utf8_next(s, at, p, &cp);
    return wd__uc_is_word(cp);
}

static bool word_after(const char *s, size_t len, size_t at) {
    if (at >= len) return false;
    uint32_t cp;
    wd__utf8_next(s, len, at, &cp);
    return wd__uc_is_word(cp);
}

/* Pieces only cut the text, so they point into `in` itself. */
static wd_status emit(size_t s, size_t e, int32_t id, wd__pieces *pout) {
    if (e <= s) return WD_OK;
    return wd__pieces_push(pout, (uint32_t)s, (uint32_t)(e - s), id);
}

wd_status wd__added_split(const wd__added_vocab *av, bool normalized, bool skip_special, const wd__tstr *in,
                          const wd__pieces *pin, wd__pieces *pout) {
    const struct wd__trie *t = normalized ? av->norm : av->raw;
    wd_status st = WD_OK;
    for (size_t k = 0; k < pin->n && !st; k++) {
        const wd__piece *pc = &pin->v[k];
        if (pc->id >= 0 || !t || t->n == 0) {
            st = emit(pc->start, pc->start + pc->len, pc->id, pout);
            continue;
        }
        const char *s = in->b + pc->start;
        size_t len = pc->len, prev = 0;
        for (size_t i = 0; i < len && !st;) {
            size_t end = 0;
            int32_t tok = trie_match(t, av, skip_special, s, len, i, &end);
            if (tok < 0) {
                i++;
                continue;
            }
            const wd__added_token *a = &av->tok[tok];
            size_t ms = i, me = end;
            if (a->single_word && (word_before(s, ms) || word_after(s, len, me))) {
                i += (size_t)wd__utf8_len((unsigned char)s[i]);
                continue;
            }
            if (a->lstrip) {
                while (ms > prev) {
                    size_t p = ms - 1;
                    while (p > prev && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
                    uint32_t cp;
                    wd__utf8_next(s, ms, p, &cp);
                    if (!wd__uc_is_whitespace(cp)) break;
                    ms = p;
                }
            }
            if (a->rstrip) {
                while (me < len) {
                    uint32_t cp;
                    int n = wd__utf8_next(s, len, me, &cp);
                    if (!wd__uc_is_whitespace(cp)) break;
                    me += (size_t)n;
                }
            }
            st = emit(pc->start + prev, pc->start + ms, -1, pout);
            if (!st) st = emit(pc->start + ms, pc->start + me, a->id, pout);
            prev = me;
            i = me;
        }
        if (!st) st = emit(pc->start + prev, pc->start + len, -1, pout);
    }
    return st;
}
