/*
 * text/decoder.c - the `decoder` of tokenizer.json: ByteLevel, Metaspace,
 * ByteFallback, WordPiece, BPEDecoder, Fuse, Strip, Replace and Sequence,
 * with the Hugging Face tokenizers semantics. A decoder maps the list of
 * token strings to a list of strings; the caller joins them.
 *
 *   ByteLevel     each token whose characters are all in GPT-2's byte map
 *                 becomes those bytes (others stay as they are); the
 *                 concatenation is repaired to UTF-8 (U+FFFD).
 *   Metaspace     the replacement character becomes ' '; in the first
 *                 token it is dropped unless prepend_scheme is "never".
 *   ByteFallback  runs of <0xNN> tokens become their bytes when these are
 *                 valid UTF-8, else one U+FFFD per byte.
 *   WordPiece     tokens after the first lose the "##" prefix or gain a
 *                 leading space; cleanup joins " ." " ," " 's" and so on.
 *   BPEDecoder    the end-of-word suffix becomes ' ' (nothing at the end).
 *   Fuse          joins everything into one string.
 *   Strip         removes up to `start` leading and `stop` trailing
 *                 `content` characters from every token.
 *   Replace       replaces a literal or regex pattern in every token.
 *
 * In raw mode (used by the incremental decoder) ByteLevel and ByteFallback
 * emit their bytes unrepaired, so a character split across tokens can be
 * held back until it is complete.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/tok_internal.h"

/* ==== string lists ======================================================= */

/* Room for n more bytes in l's buffer. */
static wd_status strlist_reserve(wd__strlist *l, size_t n) {
    if (l->len + n <= l->cap) return WD_OK;
    size_t cap = l->cap ? l->cap : 256;
    while (cap < l->len + n) cap *= 2;
    char *b = realloc(l->b, cap);
    if (!b) return WD_ERR_NOMEM;
    l->b = b;
    l->cap = cap;
    return WD_OK;
}

wd_status wd__strlist_push(wd__strlist *l, const char *s, size_t n) {
    if (strlist_reserve(l, n)) return WD_ERR_NOMEM;
    if (l->count == l->count_cap) {
        size_t cap = l->count_cap ? l->count_cap * 2 : 32;
        size_t *o = realloc(l->off, cap * sizeof *o);
        if (!o) return WD_ERR_NOMEM;
        l->off = o;
        size_t *m = realloc(l->n, cap * sizeof *m);
        if (!m) return WD_ERR_NOMEM;
        l->n = m;
        l->count_cap = cap;
    }
    if (n) memcpy(l->b + l->len, s, n);
    l->off[l->count] = l->len;
    l->n[l->count] = n;
    l->len += n;
    l->count++;
    return WD_OK;
}

/* Appends to the last string of l (which must have one). */
static wd_status strlist_extend(wd__strlist *l, const char *s, size_t n) {
    if (n == 0) return WD_OK;
    if (strlist_reserve(l, n)) return WD_ERR_NOMEM;
    memcpy(l->b + l->len, s, n);
    l->len += n;
    l->n[l->count - 1] += n;
    return WD_OK;
}

void wd__strlist_clear(wd__strlist *l) {
    l->len = 0;
    l->count = 0;
}

void wd__strlist_free(wd__strlist *l) {
    free(l->b);
    free(l->off);
    free(l->n);
    memset(l, 0, sizeof *l);
}

/* ==== parsing ============================================================ */

/* Parses a Sequence's child (see wd__component_kids). */
static wd_status parse_kid(const cJSON *j, const char *where, const char *field, void *ctx,
                           void **out) {
    (void)ctx;
    wd__decoder *d = NULL;
    wd_status st = wd__decoder_parse(j, where, field, &d);
    *out = d;
    return st;
}

wd_status wd__decoder_parse(const cJSON *j, const char *where, const char *field, wd__decoder **out) {
    *out = NULL;
    const char *ty;
    wd_status st = wd__component_type(j, where, field, &ty);
    if (st) return st;
    wd__decoder *d = calloc(1, sizeof *d);
    if (!d) return WD_ERR_NOMEM;
    char sub[256];
    snprintf(sub, sizeof sub, "%s: %s", where, field);
    if (!strcmp(ty, "ByteLevel")) {
        d->type = WD_DEC_BYTELEVEL;
    } else if (!strcmp(ty, "Metaspace")) {
        d->type = WD_DEC_METASPACE;
        const char *r = "\xE2\x96\x81";
        st = wd__json_str(j, sub, "replacement", false, r, &r);
        if (!st && (!r[0] || strlen(r) > 4 || (size_t)wd__utf8_len((unsigned char)r[0]) != strlen(r)))
            st = wd__fail(WD_ERR_FORMAT, "%s.replacement: expected one character", sub);
        if (!st) {
            d->replacement_len = strlen(r);
            memcpy(d->replacement, r, d->replacement_len);
        }
        bool aps = true;
        if (!st) st = wd__json_bool(j, sub, "add_prefix_space", false, true, &aps);
        d->prepend = aps ? WD_PREPEND_ALWAYS : WD_PREPEND_NEVER;
        const char *scheme = NULL;
        if (!st) st = wd__json_str(j, sub, "prepend_scheme", false, NULL, &scheme);
        if (!st && scheme) {
            if (!strcmp(scheme, "always")) d->prepend = WD_PREPEND_ALWAYS;
            else if (!strcmp(scheme, "first")) d->prepend = WD_PREPEND_FIRST;
            else if (!strcmp(scheme, "never")) d->prepend = WD_PREPEND_NEVER;
            else st = wd__fail(WD_ERR_FORMAT, "%s.prepend_scheme: unknown value '%s'", sub, scheme);
        }
    } else if (!strcmp(ty, "ByteFallback")) {
        d->type = WD_DEC_BYTE_FALLBACK;
    } else if (!strcmp(ty, "Fuse")) {
        d->type = WD_DEC_FUSE;
    } else if (!strcmp(ty, "WordPiece") || !strcmp(ty, "BPEDecoder")) {
        bool wp = ty[0] == 'W';
        d->type = wp ? WD_DEC_WORDPIECE : WD_DEC_BPE;
        const char *pre = wp ? "##" : "</w>";
        st = wd__json_str(j, sub, wp ? "prefix" : "suffix", false, pre, &pre);
        if (!st && wp) st = wd__json_bool(j, sub, "cleanup", false, true, &d->cleanup);
        if (!st) {
            d->prefix = strdup(pre);
            d->prefix_len = strlen(pre);
            if (!d->prefix) st = WD_ERR_NOMEM;
        }
    } else if (!strcmp(ty, "Strip")) {
        d->type = WD_DEC_STRIP;
        const char *c = " ";
        int64_t a = 0, b = 0;
        st = wd__json_str(j, sub, "content", false, c, &c);
        if (!st) st = wd__json_int(j, sub, "start", false, 0, &a);
        if (!st) st = wd__json_int(j, sub, "stop", false, 0, &b);
        if (!st && (a < 0 || b < 0 || !c[0] || (size_t)wd__utf8_len((unsigned char)c[0]) != strlen(c)))
            st = wd__fail(WD_ERR_FORMAT, "%s: expected one content character and start, stop >= 0", sub);
        if (!st) {
            wd__utf8_next(c, strlen(c), 0, &d->strip_char);
            d->strip_start = (size_t)a;
            d->strip_stop = (size_t)b;
        }
    } else if (!strcmp(ty, "Replace")) {
        d->type = WD_DEC_REPLACE;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "pattern");
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(p, "String");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(p, "Regex");
        const char *c = NULL;
        st = wd__json_str(j, sub, "content", true, NULL, &c);
        if (st) {
        } else if (cJSON_IsString(ps)) {
            d->pattern = strdup(ps->valuestring);
            d->pattern_len = strlen(ps->valuestring);
        } else if (cJSON_IsString(pr)) {
            char w[300];
            snprintf(w, sizeof w, "%s.pattern.Regex", sub);
            d->re = wd__regex_compile(pr->valuestring, strlen(pr->valuestring), w);
            if (!d->re) st = WD_ERR_FORMAT;
        } else {
            st = wd__fail(WD_ERR_FORMAT, "%s.pattern: expected {\"String\": ...} or {\"Regex\": ...}", sub);
        }
        if (!st) {
            d->content = strdup(c);
            d->content_len = strlen(c);
            if (!d->content || (!d->re && !d->pattern)) st = WD_ERR_NOMEM;
        }
    } else if (!strcmp(ty, "Sequence")) {
        d->type = WD_DEC_SEQUENCE;
        st = wd__component_kids(j, where, field, "decoders", parse_kid, NULL, &d->kids, &d->n_kids);
    } else {
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s.type: decoder '%s' is not supported", sub, ty);
    }
    if (st) {
        wd__decoder_free(d);
        return st;
    }
    *out = d;
    return WD_OK;
}

void wd__decoder_free(wd__decoder *d) {
    if (!d) return;
    for (size_t k = 0; k < d->n_kids; k++) wd__decoder_free(d->kids[k]);
    free(d->kids);
    free(d->prefix);
    free(d->pattern);
    free(d->content);
    if (d->re) pcre2_code_free(d->re);
    free(d);
}

/* ==== running ============================================================ */

/* A list of empty strings may have no buffer at all. */
#define STR(l, i) ((l)->b ? (l)->b + (l)->off[i] : "")

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* <0xNN> -> byte, or -1 */
static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int h = hexval(s[3]), l = hexval(s[4]);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

static wd_status flush_bytes(wd__strlist *out, const char *b, size_t n, bool raw) {
    if (!n) return WD_OK;
    if (raw || wd__utf8_valid_prefix(b, n) == n) return wd__strlist_push(out, b, n);
    for (size_t k = 0; k < n; k++) {
        wd_status st = wd__strlist_push(out, "\xEF\xBF\xBD", 3);
        if (st) return st;
    }
    return WD_OK;
}

/* Replaces every occurrence of pat in s by rep, appending one string. */
static wd_status replace_all(wd__strlist *out, const char *s, size_t n, const char *pat, size_t pn,
                             const char *rep, size_t rn) {
    wd_status st = wd__strlist_push(out, "", 0);
    size_t i = 0;
    while (!st && i < n) {
        const char *q = pn ? memmem(s + i, n - i, pat, pn) : NULL;
        if (!q) break;
        size_t at = (size_t)(q - s);
        st = strlist_extend(out, s + i, at - i);
        if (!st) st = strlist_extend(out, rep, rn);
        i = at + pn;
    }
    if (!st) st = strlist_extend(out, s + i, n - i);
    return st;
}

static wd_status run_one(const wd__decoder *d, const wd__strlist *in, wd__strlist *out, bool raw) {
    wd_status st = WD_OK;
    switch (d->type) {
    case WD_DEC_BYTELEVEL: {
        st = wd__strlist_push(out, "", 0);
        for (size_t i = 0; i < in->count && !st; i++) {
            const char *s = STR(in, i);
            size_t n = in->n[i];
            /* all characters mapped? then their bytes, else the token as is */
            char tmp[256];
            char *buf = n <= sizeof tmp ? tmp : malloc(n);
            if (!buf) return WD_ERR_NOMEM;
            size_t o = 0;
            bool all = true;
            for (size_t k = 0; k < n;) {
                uint32_t cp;
                int len = wd__utf8_next(s, n, k, &cp);
                int b = wd__bytelevel_byte(cp);
                if (b < 0) {
                    all = false;
                    break;
                }
                buf[o++] = (char)b;
                k += (size_t)len;
            }
            st = all ? strlist_extend(out, buf, o) : strlist_extend(out, s, n);
            if (buf != tmp) free(buf);
        }
        if (st || raw) return st;
        /* repair to UTF-8 */
        size_t n = out->n[0];
        if (wd__utf8_valid_prefix(out->b, n) == n) return WD_OK;
        char *fixed = malloc(3 * n + 1);
        if (!fixed) return WD_ERR_NOMEM;
        size_t m = wd__utf8_lossy(out->b, n, fixed);
        wd__strlist_clear(out);
        st = wd__strlist_push(out, fixed, m);
        free(fixed);
        return st;
    }
    case WD_DEC_METASPACE:
        for (size_t i = 0; i < in->count && !st; i++) {
            const char *s = STR(in, i);
            size_t n = in->n[i];
            st = wd__strlist_push(out, "", 0);
            for (size_t k = 0; k < n && !st;) {
                if (n - k >= d->replacement_len && !memcmp(s + k, d->replacement, d->replacement_len)) {
                    if (!(i == 0 && d->prepend != WD_PREPEND_NEVER)) st = strlist_extend(out, " ", 1);
                    k += d->replacement_len;
                } else {
                    size_t l = (size_t)wd__utf8_len((unsigned char)s[k]);
                    if (k + l > n) l = n - k;
                    st = strlist_extend(out, s + k, l);
                    k += l;
                }
            }
        }
        return st;
    case WD_DEC_BYTE_FALLBACK: {
        char *bytes = malloc(in->count + 1);
        if (!bytes) return WD_ERR_NOMEM;
        size_t nb = 0;
        for (size_t i = 0; i < in->count && !st; i++) {
            int b = byte_token(STR(in, i), in->n[i]);
            if (b >= 0) {
                bytes[nb++] = (char)b;
                continue;
            }
            st = flush_bytes(out, bytes, nb, raw);
            nb = 0;
            if (!st) st = wd__strlist_push(out, STR(in, i), in->n[i]);
        }
        if (!st) st = flush_bytes(out, bytes, nb, raw);
        free(bytes);
        return st;
    }
    case WD_DEC_FUSE:
        st = wd__strlist_push(out, "", 0);
        for (size_t i = 0; i < in->count && !st; i++) st = strlist_extend(out, STR(in, i), in->n[i]);
        return st;
    case WD_DEC_WORDPIECE: {
        static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not",
                                           " 's", " 've", " 're"};
        static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't", "'s", "'ve", "'re"};
        wd__strlist a = {0}, b = {0};
        for (size_t i = 0; i < in->count && !st; i++) {
            const char *s = STR(in, i);
            size_t n = in->n[i];
            wd__strlist_clear(&a);
            if (i != 0 && n >= d->prefix_len && !memcmp(s, d->prefix, d->prefix_len)) {
                st = wd__strlist_push(&a, s + d->prefix_len, n - d->prefix_len);
            } else if (i != 0 && d->prefix_len && memmem(s, n, d->prefix, d->prefix_len)) {
                /* replacen(prefix, "", 1) when the prefix is inside: only at start in practice */
                st = wd__strlist_push(&a, " ", 1);
                if (!st) st = strlist_extend(&a, s, n);
            } else if (i != 0) {
                st = wd__strlist_push(&a, " ", 1);
                if (!st) st = strlist_extend(&a, s, n);
            } else {
                st = wd__strlist_push(&a, s, n);
            }
            if (!st && d->cleanup) {
                for (size_t r = 0; r < sizeof from / sizeof from[0] && !st; r++) {
                    wd__strlist_clear(&b);
                    st = replace_all(&b, a.b, a.n[0], from[r], strlen(from[r]), to[r], strlen(to[r]));
                    wd__strlist t = a;
                    a = b;
                    b = t;
                }
            }
            if (!st) st = wd__strlist_push(out, a.b, a.n[0]);
        }
        wd__strlist_free(&a);
        wd__strlist_free(&b);
        return st;
    }
    case WD_DEC_BPE:
        for (size_t i = 0; i < in->count && !st; i++)
            st = replace_all(out, STR(in, i), in->n[i], d->prefix, d->prefix_len,
                             i + 1 == in->count ? "" : " ", i + 1 == in->count ? 0 : 1);
        return st;
    case WD_DEC_STRIP: {
        char c[4];
        size_t cl = (size_t)wd__utf8_put(d->strip_char, c);
        for (size_t i = 0; i < in->count && !st; i++) {
            const char *s = STR(in, i);
            size_t a = 0, b = in->n[i];
            for (size_t k = 0; k < d->strip_start && b - a >= cl && !memcmp(s + a, c, cl); k++) a += cl;
            for (size_t k = 0; k < d->strip_stop && b - a >= cl && !memcmp(s + b - cl, c, cl); k++) b -= cl;
            st = wd__strlist_push(out, s + a, b - a);
        }
        return st;
    }
    case WD_DEC_REPLACE:
        for (size_t i = 0; i < in->count && !st; i++) {
            if (!d->re) {
                st = replace_all(out, STR(in, i), in->n[i], d->pattern, d->pattern_len, d->content,
                                 d->content_len);
                continue;
            }
            wd__scratch sc = {0};
            const char *s = STR(in, i);
            size_t n = in->n[i], from = 0;
            st = wd__strlist_push(out, "", 0);
            while (!st && from <= n) {
                size_t ms, me;
                int r = wd__regex_find(d->re, s, n, from, &sc, &ms, &me);
                if (r < 0) st = (wd_status)r;
                if (r <= 0) break;
                st = strlist_extend(out, s + from, ms - from);
                if (!st) st = strlist_extend(out, d->content, d->content_len);
                if (me == ms) {
                    if (ms >= n) {
                        from = n;
                        break;
                    }
                    size_t l = (size_t)wd__utf8_len((unsigned char)s[ms]);
                    if (!st) st = strlist_extend(out, s + ms, l);
                    me = ms + l;
                }
                from = me;
            }
            if (!st && from < n) st = strlist_extend(out, s + from, n - from);
            wd__scratch_free(&sc);
        }
        return st;
    case WD_DEC_SEQUENCE: {
        if (d->n_kids == 0) {
            for (size_t i = 0; i < in->count && !st; i++) st = wd__strlist_push(out, STR(in, i), in->n[i]);
            return st;
        }
        wd__strlist buf[2] = {{0}, {0}};
        const wd__strlist *src = in;
        for (size_t k = 0; k < d->n_kids && !st; k++) {
            wd__strlist *dst = k + 1 == d->n_kids ? out : &buf[k & 1];
            if (dst != out) wd__strlist_clear(dst);
            st = run_one(d->kids[k], src, dst, raw);
            src = dst;
        }
        wd__strlist_free(&buf[0]);
        wd__strlist_free(&buf[1]);
        return st;
    }
    case WD_DEC_CTC:
        break;
    }
    return WD_ERR_UNSUPPORTED;
}

wd_status wd__decoder_run(const wd__decoder *d, const wd__strlist *in, wd__strlist *out, bool raw) {
    return run_one(d, in, out, raw);
}
