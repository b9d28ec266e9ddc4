/*
 * text/normalizer.c - the `normalizer` of tokenizer.json: NFC, NFD, NFKC,
 * NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, BertNormalizer,
 * Precompiled (SentencePiece's charsmap, precompiled.c) and Sequence, with
 * the semantics of the Hugging Face tokenizers library.
 *
 * Each normalizer reads a span of an aligned string and appends its result
 * to another, keeping for every output byte the original byte range it
 * came from:
 *   - per-character maps (lowercase, Bert's cleaning) align each output
 *     character to its input character;
 *   - Unicode normalization works on segments that start at a character
 *     of canonical combining class 0 (a starter with its marks), and
 *     aligns a segment's output to the segment's input range;
 *   - inserted text (Prepend, the spaces around CJK characters) takes the
 *     range of the character it sits beside.
 *
 * Lowercase follows Rust's char::to_lowercase (the tokenizers library):
 * the simple mapping, except U+0130 which lowercases to "i\u0307".
 * BertNormalizer: clean text (drop NUL, U+FFFD and control characters,
 * map whitespace to ' '), surround CJK ideographs with spaces, strip
 * accents (NFD, then drop Mn), lowercase - in that order. strip_accents
 * defaults to the value of lowercase, as in BERT.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/json.h"
#include "text/tok_internal.h"

/* ==== parsing ============================================================ */

static wd_status get_pattern(const cJSON *j, const char *where, const char *field,
                             wd__arena *a, char **lit, size_t *lit_len, pcre2_code **re) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    if (!cJSON_IsObject(p))
        return wd__fail(WD_ERR_FORMAT, "%s: %s.pattern: expected an object {\"String\"|\"Regex\": ...}, got %s",
                        where, field, wd__json_type_name(p));
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "String");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "Regex");
    if (cJSON_IsString(s)) {
        *lit = wd__arena_strdup(a, s->valuestring);
        if (!*lit) return WD_ERR_NOMEM;
        *lit_len = strlen(*lit);
        return WD_OK;
    }
    if (cJSON_IsString(r)) {
        char w[256];
        snprintf(w, sizeof w, "%s: %s.pattern.Regex", where, field);
        *re = wd__regex_compile(r->valuestring, strlen(r->valuestring), w);
        return *re ? WD_OK : WD_ERR_FORMAT;
    }
    return wd__fail(WD_ERR_FORMAT, "%s: %s.pattern: expected a \"String\" or \"Regex\" string", where,
                    field);
}

/* Parses a Sequence's child (see wd__component_kids). */
static wd_status parse_kid(const cJSON *j, const char *where, const char *field, void *ctx,
                           void **out) {
    wd__normalizer *n = NULL;
    wd_status st = wd__normalizer_parse(j, where, field, ctx, &n);
    *out = n;
    return st;
}

wd_status wd__normalizer_parse(const cJSON *j, const char *where, const char *field, wd__arena *a,
                               wd__normalizer **out) {
    *out = NULL;
    const char *ty;
    wd_status st = wd__component_type(j, where, field, &ty);
    if (st) return st;
    wd__normalizer *n = calloc(1, sizeof *n);
    if (!n) return WD_ERR_NOMEM;
    char sub[256];
    if (!strcmp(ty, "NFC")) n->type = WD_TNORM_NFC;
    else if (!strcmp(ty, "NFD")) n->type = WD_TNORM_NFD;
    else if (!strcmp(ty, "NFKC")) n->type = WD_TNORM_NFKC;
    else if (!strcmp(ty, "NFKD")) n->type = WD_TNORM_NFKD;
    else if (!strcmp(ty, "Lowercase")) n->type = WD_TNORM_LOWERCASE;
    else if (!strcmp(ty, "StripAccents")) n->type = WD_TNORM_STRIP_ACCENTS;
    else if (!strcmp(ty, "Strip")) {
        n->type = WD_TNORM_STRIP;
        snprintf(sub, sizeof sub, "%s: %s", where, field);
        if (!st) st = wd__json_bool(j, sub, "strip_left", false, true, &n->left);
        if (!st) st = wd__json_bool(j, sub, "strip_right", false, true, &n->right);
    } else if (!strcmp(ty, "Replace")) {
        n->type = WD_TNORM_REPLACE;
        st = get_pattern(j, where, field, a, &n->pattern, &n->pattern_len, &n->re);
        const char *c = NULL;
        snprintf(sub, sizeof sub, "%s: %s", where, field);
        if (!st) st = wd__json_str(j, sub, "content", true, NULL, &c);
        if (!st) {
            n->content = wd__arena_strdup(a, c);
            n->content_len = strlen(c);
        }
    } else if (!strcmp(ty, "Prepend")) {
        n->type = WD_TNORM_PREPEND;
        const char *c = NULL;
        snprintf(sub, sizeof sub, "%s: %s", where, field);
        st = wd__json_str(j, sub, "prepend", true, NULL, &c);
        if (!st) {
            n->content = wd__arena_strdup(a, c);
            n->content_len = strlen(c);
        }
    } else if (!strcmp(ty, "BertNormalizer")) {
        n->type = WD_TNORM_BERT;
        snprintf(sub, sizeof sub, "%s: %s", where, field);
        if (!st) st = wd__json_bool(j, sub, "clean_text", false, true, &n->clean_text);
        if (!st) st = wd__json_bool(j, sub, "handle_chinese_chars", false, true, &n->handle_chinese);
        if (!st) st = wd__json_bool(j, sub, "lowercase", false, true, &n->lowercase);
        const cJSON *sa = cJSON_GetObjectItemCaseSensitive(j, "strip_accents");
        if (!st) {
            if (!sa || cJSON_IsNull(sa)) n->strip_accents = n->lowercase;
            else if (cJSON_IsBool(sa)) n->strip_accents = cJSON_IsTrue(sa);
            else
                st = wd__fail(WD_ERR_FORMAT, "%s: %s.strip_accents: expected a boolean or null, got %s",
                              where, field, wd__json_type_name(sa));
        }
    } else if (!strcmp(ty, "Precompiled")) {
        n->type = WD_TNORM_PRECOMPILED;
        const char *cm = NULL;
        snprintf(sub, sizeof sub, "%s: %s", where, field);
        st = wd__json_str(j, sub, "precompiled_charsmap", true, NULL, &cm);
        if (!st) st = wd__charsmap_parse(cm, where, field, &n->charsmap);
    } else if (!strcmp(ty, "Sequence")) {
        n->type = WD_TNORM_SEQUENCE;
        st = wd__component_kids(j, where, field, "normalizers", parse_kid, a, &n->kids, &n->n_kids);
    } else {
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s: %s.type: normalizer '%s' is not supported", where,
                      field, ty);
    }
    if (st) {
        wd__normalizer_free(n);
        return st;
    }
    *out = n;
    return WD_OK;
}

void wd__normalizer_free(wd__normalizer *n) {
    if (!n) return;
    for (size_t k = 0; k < n->n_kids; k++) wd__normalizer_free(n->kids[k]);
    free(n->kids);
    if (n->re) pcre2_code_free(n->re);
    wd__charsmap_free(n->charsmap);
    free(n);
}

/* ==== running ============================================================ */

static wd_status put_cp(wd__tstr *out, uint32_t cp, uint32_t a0, uint32_t a1) {
    char b[4];
    int k = wd__utf8_put(cp, b);
    return wd__tstr_push(out, b, (size_t)k, a0, a1);
}

/* Rust's char::to_lowercase, written to out. */
static wd_status put_lower(wd__tstr *out, uint32_t cp, uint32_t a0, uint32_t a1) {
    if (cp < 0x80) {
        char c = (char)((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
        return wd__tstr_push(out, &c, 1, a0, a1);
    }
    if (cp == 0x130) {
        wd_status st = put_cp(out, 'i', a0, a1);
        return st ? st : put_cp(out, 0x307, a0, a1);
    }
    return put_cp(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), a0, a1);
}

/* Appends the canonical (or compatibility) decomposition of cp. */
static wd_status put_decomposed(wd__tstr *out, uint32_t cp, bool strip_mn, bool lower, uint32_t a0,
                                uint32_t a1) {
    utf8proc_int32_t buf[32];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, buf, 32, UTF8PROC_DECOMPOSE,
                                                 &last);
    if (n < 0 || n > 32) {
        buf[0] = (utf8proc_int32_t)cp;
        n = 1;
    }
    for (utf8proc_ssize_t k = 0; k < n; k++) {
        uint32_t c = (uint32_t)buf[k];
        if (strip_mn && wd__uc_is_mark_nonspacing(c)) continue;
        wd_status st = lower ? put_lower(out, c, a0, a1) : put_cp(out, c, a0, a1);
        if (st) return st;
    }
    return WD_OK;
}

static wd_status run_unicode(const wd__normalizer *n, const wd__tstr *in, size_t s, size_t len,
                             wd__tstr *out) {
    utf8proc_option_t opt = UTF8PROC_STABLE;
    switch (n->type) {
    case WD_TNORM_NFC: opt |= UTF8PROC_COMPOSE; break;
    case WD_TNORM_NFD: opt |= UTF8PROC_DECOMPOSE; break;
    case WD_TNORM_NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    default: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    size_t i = s, end = s + len;
    while (i < end) {
        /* ASCII is invariant under every normalization form, but an ASCII
         * letter may start a segment with following marks: copy ASCII only
         * while the next byte is ASCII too. */
        if ((unsigned char)in->b[i] < 0x80 && (i + 1 >= end || (unsigned char)in->b[i + 1] < 0x80)) {
            size_t j = i + 1;
            while (j < end && (unsigned char)in->b[j] < 0x80 &&
                   (j + 1 >= end || (unsigned char)in->b[j + 1] < 0x80))
                j++;
            wd_status st = wd__tstr_copy(out, in, i, j - i);
            if (st) return st;
            i = j;
            continue;
        }
        /* A segment: one character, then every following character whose
         * combining class is not 0 (or that is a Hangul vowel/trailing jamo,
         * which composes with the syllable before it). */
        uint32_t cp;
        size_t j = i + (size_t)wd__utf8_next(in->b, end, i, &cp);
        while (j < end) {
            int k = wd__utf8_next(in->b, end, j, &cp);
            const utf8proc_property_t *pr = utf8proc_get_property((utf8proc_int32_t)cp);
            bool joins = pr->combining_class != 0 || (cp >= 0x1160 && cp <= 0x11FF);
            if (!joins) break;
            j += (size_t)k;
        }
        utf8proc_uint8_t *dst = NULL;
        utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)in->b + i, (utf8proc_ssize_t)(j - i),
                                          &dst, opt);
        wd_status st;
        if (m < 0) st = wd__tstr_copy(out, in, i, j - i); /* not reached for valid UTF-8 */
        else st = wd__tstr_push(out, (const char *)dst, (size_t)m, in->a0[i], in->a1[j - 1]);
        free(dst);
        if (st) return st;
        i = j;
    }
    return WD_OK;
}

static wd_status run_bert(const wd__normalizer *n, const wd__tstr *in, size_t s, size_t len,
                          wd__tstr *out) {
    size_t i = s, end = s + len;
    while (i < end) {
        uint32_t cp;
        int k = wd__utf8_next(in->b, end, i, &cp);
        uint32_t a0 = in->a0[i], a1 = in->a1[i + (size_t)k - 1];
        i += (size_t)k;
        wd_status st = WD_OK;
        if (n->clean_text) {
            if (wd__uc_is_whitespace(cp)) { /* \t \n \r included */
                st = wd__tstr_push(out, " ", 1, a0, a1);
                if (st) return st;
                continue;
            }
            if (cp == 0 || cp == 0xFFFD || wd__uc_is_other(cp)) continue;
        }
        if (n->handle_chinese && wd__uc_is_chinese(cp)) {
            if (!st) st = wd__tstr_push(out, " ", 1, a0, a1);
            if (!st) st = put_cp(out, cp, a0, a1);
            if (!st) st = wd__tstr_push(out, " ", 1, a0, a1);
            if (st) return st;
            continue;
        }
        if (cp < 0x80) {
            char c = (char)(n->lowercase && cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            st = wd__tstr_push(out, &c, 1, a0, a1);
        } else if (n->strip_accents) {
            st = put_decomposed(out, cp, true, n->lowercase, a0, a1);
        } else if (n->lowercase) {
            st = put_lower(out, cp, a0, a1);
        } else {
            st = put_cp(out, cp, a0, a1);
        }
        if (st) return st;
    }
    return WD_OK;
}

static wd_status run_replace(const wd__normalizer *n, const wd__tstr *in, size_t s, size_t len,
                             wd__tstr *out, wd__scratch *sc) {
    size_t i = s, end = s + len;
    while (i < end) {
        size_t ms, me;
        bool found;
        if (n->re) {
            int r = wd__regex_find(n->re, in->b + s, len, i - s, sc, &ms, &me);
            if (r < 0) return (wd_status)r;
            found = r > 0;
            ms += s;
            me += s;
            if (found && me == ms) { /* empty match: replace nothing, move on one char */
                size_t step = (size_t)wd__utf8_len((unsigned char)in->b[ms]);
                wd_status st = wd__tstr_copy(out, in, i, ms + step - i);
                if (st) return st;
                i = ms + step;
                continue;
            }
        } else {
            found = false;
            if (n->pattern_len) {
                const char *p = memmem(in->b + i, end - i, n->pattern, n->pattern_len);
                if (p) {
                    found = true;
                    ms = (size_t)(p - in->b);
                    me = ms + n->pattern_len;
                }
            }
        }
        if (!found) break;
        wd_status st = wd__tstr_copy(out, in, i, ms - i);
        if (!st) st = wd__tstr_push(out, n->content, n->content_len, in->a0[ms], in->a1[me - 1]);
        if (st) return st;
        i = me;
    }
    return wd__tstr_copy(out, in, i, end - i);
}

wd_status wd__normalizer_run(const wd__normalizer *n, const wd__tstr *in, size_t s, size_t len,
                             wd__tstr *out, wd__scratch *sc) {
    size_t end = s + len;
    switch (n->type) {
    case WD_TNORM_NFC: case WD_TNORM_NFD: case WD_TNORM_NFKC: case WD_TNORM_NFKD:
        return run_unicode(n, in, s, len, out);
    case WD_TNORM_LOWERCASE:
    case WD_TNORM_STRIP_ACCENTS:
        for (size_t i = s; i < end;) {
            uint32_t cp;
            int k = wd__utf8_next(in->b, end, i, &cp);
            wd_status st = WD_OK;
            if (n->type == WD_TNORM_LOWERCASE) {
                if (cp < 0x80 && !(cp >= 'A' && cp <= 'Z')) st = wd__tstr_copy(out, in, i, 1);
                else st = put_lower(out, cp, in->a0[i], in->a1[i + (size_t)k - 1]);
            } else if (!wd__uc_is_mark_nonspacing(cp)) {
                st = wd__tstr_copy(out, in, i, (size_t)k);
            }
            if (st) return st;
            i += (size_t)k;
        }
        return WD_OK;
    case WD_TNORM_STRIP: {
        size_t a = s, b = end;
        while (n->left && a < b) {
            uint32_t cp;
            int k = wd__utf8_next(in->b, b, a, &cp);
            if (!wd__uc_is_whitespace(cp)) break;
            a += (size_t)k;
        }
        while (n->right && b > a) {
            size_t p = b - 1;
            while (p > a && ((unsigned char)in->b[p] & 0xC0) == 0x80) p--;
            uint32_t cp;
            wd__utf8_next(in->b, b, p, &cp);
            if (!wd__uc_is_whitespace(cp)) break;
            b = p;
        }
        return wd__tstr_copy(out, in, a, b - a);
    }
    case WD_TNORM_REPLACE:
        return run_replace(n, in, s, len, out, sc);
    case WD_TNORM_PREPEND:
        if (len) {
            wd_status st = wd__tstr_push(out, n->content, n->content_len, in->a0[s], in->a1[s]);
            if (st) return st;
        }
        return wd__tstr_copy(out, in, s, len);
    case WD_TNORM_BERT:
        return run_bert(n, in, s, len, out);
    case WD_TNORM_PRECOMPILED:
        return wd__charsmap_run(n->charsmap, in, s, len, out);
    case WD_TNORM_SEQUENCE: {
        if (n->n_kids == 0) return wd__tstr_copy(out, in, s, len);
        /* Ping-pong between two private buffers, the last step into out. */
        wd__tstr buf[2] = {{0}, {0}};
        const wd__tstr *src = in;
        size_t ss = s, sl = len;
        wd_status st = WD_OK;
        for (size_t k = 0; k < n->n_kids && !st; k++) {
            wd__tstr *dst = (k + 1 == n->n_kids) ? out : &buf[k & 1];
            size_t before = (dst == out) ? out->len : 0;
            if (dst != out) dst->len = 0;
            st = wd__normalizer_run(n->kids[k], src, ss, sl, dst, sc);
            src = dst;
            ss = before;
            sl = dst->len - before;
        }
        wd__tstr_free(&buf[0]);
        wd__tstr_free(&buf[1]);
        return st;
    }
    }
    return WD_ERR_INTERNAL;
}
