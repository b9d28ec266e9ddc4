/*
 * text/unicode.c - the character classes the tokenizers library takes
 * from Rust's `char` (is_whitespace, is_alphanumeric, is_numeric, general
 * categories), here answered by utf8proc's Unicode tables. (UTF-8 itself,
 * validation, encoding and lossy repair, is base/utf8.c.)
 *
 * Also the small containers the pipeline passes around (aligned strings,
 * pieces, model tokens) and the per-call scratch, which only need
 * growing and freeing.
 */
#include <string.h>
#include <utf8proc.h>

#include "text/tok_internal.h"

bool wd__uc_is_whitespace(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

static inline utf8proc_category_t cat(uint32_t c) {
    return utf8proc_category((utf8proc_int32_t)c);
}

bool wd__uc_is_digit(uint32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    utf8proc_category_t k = cat(c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

static bool is_letter(uint32_t c) {
    utf8proc_category_t k = cat(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

bool wd__uc_is_alnum(uint32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    return is_letter(c) || wd__uc_is_digit(c);
}

bool wd__uc_is_word(uint32_t c) {
    if (c < 0x80)
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
    utf8proc_category_t k = cat(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME) || k == UTF8PROC_CATEGORY_ND ||
           k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_PC || c == 0x200C || c == 0x200D;
}

bool wd__uc_is_punct(uint32_t c) {
    utf8proc_category_t k = cat(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

bool wd__uc_is_bert_punct(uint32_t c) {
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
    return wd__uc_is_punct(c);
}

bool wd__uc_is_other(uint32_t c) {
    utf8proc_category_t k = cat(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CS ||
           k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CN;
}

bool wd__uc_is_mark_nonspacing(uint32_t c) {
    return c >= 0x300 && cat(c) == UTF8PROC_CATEGORY_MN;
}

bool wd__uc_is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* The public face of base/utf8.h's check (warden/tokenizer.h). */
size_t wd_utf8_valid_prefix(const char *s, size_t len) { return s ? wd__utf8_valid_prefix(s, len) : 0; }

/* ==== aligned strings ==================================================== */

#include <stdlib.h>

wd_status wd__tstr_reserve(wd__tstr *t, size_t extra) {
    if (t->len + extra <= t->cap) return WD_OK;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + extra) cap *= 2;
    if (cap > UINT32_MAX) return WD_ERR_RANGE;
    char *b = realloc(t->b, cap);
    if (!b) return WD_ERR_NOMEM;
    t->b = b;
    uint32_t *a0 = realloc(t->a0, cap * sizeof *a0);
    if (!a0) return WD_ERR_NOMEM;
    t->a0 = a0;
    uint32_t *a1 = realloc(t->a1, cap * sizeof *a1);
    if (!a1) return WD_ERR_NOMEM;
    t->a1 = a1;
    t->cap = cap;
    return WD_OK;
}

void wd__tstr_free(wd__tstr *t) {
    free(t->b);
    free(t->a0);
    free(t->a1);
    memset(t, 0, sizeof *t);
}

wd_status wd__tstr_push(wd__tstr *t, const char *s, size_t n, uint32_t a0, uint32_t a1) {
    if (n == 0) return WD_OK;
    wd_status st = wd__tstr_reserve(t, n);
    if (st) return st;
    memcpy(t->b + t->len, s, n);
    for (size_t k = 0; k < n; k++) {
        t->a0[t->len + k] = a0;
        t->a1[t->len + k] = a1;
    }
    t->len += n;
    return WD_OK;
}

wd_status wd__tstr_copy(wd__tstr *t, const wd__tstr *src, size_t i, size_t n) {
    if (n == 0) return WD_OK;
    wd_status st = wd__tstr_reserve(t, n);
    if (st) return st;
    memcpy(t->b + t->len, src->b + i, n);
    memcpy(t->a0 + t->len, src->a0 + i, n * sizeof *t->a0);
    memcpy(t->a1 + t->len, src->a1 + i, n * sizeof *t->a1);
    t->len += n;
    return WD_OK;
}

wd_status wd__pieces_push(wd__pieces *p, uint32_t start, uint32_t len, int32_t id) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        wd__piece *v = realloc(p->v, cap * sizeof *v);
        if (!v) return WD_ERR_NOMEM;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = (wd__piece){start, len, id};
    return WD_OK;
}

void wd__pieces_free(wd__pieces *p) {
    free(p->v);
    memset(p, 0, sizeof *p);
}

wd_status wd__mtoks_push(wd__mtoks *t, int32_t id, uint32_t start, uint32_t end) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        wd__mtok *v = realloc(t->v, cap * sizeof *v);
        if (!v) return WD_ERR_NOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (wd__mtok){id, start, end};
    return WD_OK;
}

void wd__scratch_free(wd__scratch *sc) {
    for (int k = 0; k < 4; k++) {
        wd__tstr_free(&sc->t[k]);
        wd__pieces_free(&sc->p[k]);
    }
    if (sc->md) pcre2_match_data_free(sc->md);
    if (sc->mctx) pcre2_match_context_free(sc->mctx);
    if (sc->jit) pcre2_jit_stack_free(sc->jit);
    free(sc->sym);
    free(sc->heap);
    free(sc->buf);
    free(sc->segs);
    free(sc->lat);
    wd__strmap_free(&sc->cache);
    free(sc->cache_tok);
    free(sc->cache_ent);
    memset(sc, 0, sizeof *sc);
}
