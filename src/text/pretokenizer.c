/*
 * text/pretokenizer.c - the `pre_tokenizer` of tokenizer.json: ByteLevel,
 * Metaspace, Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation,
 * Split, Digits and Sequence, with the Hugging Face tokenizers semantics.
 *
 * Every pre-tokenizer is a split: a pattern (a regex, a literal string or a
 * character predicate) cuts a piece into segments marked "match" or not,
 * covering the piece; a behaviour decides what becomes of the matches
 *   Removed            matches dropped          "a b" / ' ' -> "a" "b"
 *   Isolated           each segment alone       "a b" -> "a" " " "b"
 *   MergedWithPrevious match joins the segment before: "a " "b"
 *   MergedWithNext     match joins the segment after:  "a" " b"
 *   Contiguous         runs of matches joined
 * and empty results are dropped. A character predicate reports every
 * matching character as its own match; a regex reports its matches.
 *
 * Regexes are PCRE2 with UTF and UCP (so \p{L}, \s and \w are Unicode),
 * JIT-compiled; the subject is validated UTF-8 beforehand, so matching
 * runs with PCRE2_NO_UTF_CHECK (otherwise each call would re-check the
 * whole subject and splitting would be quadratic).
 *
 * ByteLevel maps every byte of a segment to the printable character of
 * GPT-2's bytes_to_unicode table, each aligned to its source character.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/tok_internal.h"

/* GPT-2's pattern, used by ByteLevel when use_regex is true. */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* Whitespace pre-tokenizer: words and runs of other non-space characters. */
static const char WHITESPACE_PATTERN[] = "\\w+|[^\\w\\s]+";

/* ==== GPT-2 byte <-> character map ======================================= */

static uint32_t byte_char[256];
static int16_t  char_byte[324];
static pthread_once_t byte_once = PTHREAD_ONCE_INIT;

static void byte_init(void) {
    for (int c = 0; c < 324; c++) char_byte[c] = -1;
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        byte_char[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        char_byte[byte_char[b]] = (int16_t)b;
    }
}

uint32_t wd__bytelevel_char(unsigned char b) {
    pthread_once(&byte_once, byte_init);
    return byte_char[b];
}

/* For the hot loop: the table, initialised by any ByteLevel parse. */
static inline uint32_t bytelevel_fast(unsigned char b) { return byte_char[b]; }

int wd__bytelevel_byte(uint32_t cp) {
    pthread_once(&byte_once, byte_init);
    return cp < 324 ? char_byte[cp] : -1;
}

/* ==== regex ============================================================== */

pcre2_code *wd__regex_compile(const char *pat, size_t len, const char *where) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        wd__fail(WD_ERR_FORMAT, "%s: invalid regex at offset %zu: %s", where, (size_t)off, (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if unavailable */
    return re;
}

int wd__regex_find(const pcre2_code *re, const char *s, size_t len, size_t from, wd__scratch *sc,
                   size_t *ms, size_t *me) {
    if (!sc->md) {
        sc->md = pcre2_match_data_create(4, NULL);
        sc->mctx = pcre2_match_context_create(NULL);
        sc->jit = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, NULL);
        if (!sc->md || !sc->mctx || !sc->jit) return WD_ERR_NOMEM;
        pcre2_jit_stack_assign(sc->mctx, NULL, sc->jit);
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, from, PCRE2_NO_UTF_CHECK, sc->md, sc->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return wd__fail(WD_ERR_INTERNAL, "pre-tokenizer regex failed: %s", (char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

/* ==== splitting ========================================================== */

typedef enum { PAT_REGEX, PAT_LITERAL, PAT_PRED } pat_kind;

typedef struct pattern {
    pat_kind kind;
    const pcre2_code *re;
    const char *lit; size_t lit_len;
    bool (*pred)(uint32_t);
    bool invert;
} pattern;

typedef struct seg { uint32_t s, e; bool match; } seg;

static wd_status seg_push(wd__scratch *sc, size_t *n, uint32_t s, uint32_t e, bool m) {
    if (*n == sc->segs_cap) {
        size_t cap = sc->segs_cap ? sc->segs_cap * 2 : 256;
        void *v = realloc(sc->segs, cap * sizeof(seg));
        if (!v) return WD_ERR_NOMEM;
        sc->segs = v;
        sc->segs_cap = cap;
    }
    ((seg *)sc->segs)[(*n)++] = (seg){s, e, m};
    return WD_OK;
}

static bool pred_space(uint32_t c) { return wd__uc_is_whitespace(c); }
static bool pred_bert_punct(uint32_t c) { return wd__uc_is_bert_punct(c); }
/* HF's Digits splits on Rust char::is_numeric: general categories Nd, Nl and
 * No, so vulgar fractions, superscripts and other scripts' digits count. */
static bool pred_numeric(uint32_t c) { return wd__uc_is_digit(c); }

/* Cuts s[0, len) into segments (offsets relative to s) in sc->segs. */
static wd_status find_segments(const pattern *p, const char *s, size_t len, wd__scratch *sc, size_t *n) {
    *n = 0;
    wd_status st = WD_OK;
    size_t prev = 0;
    if (p->kind == PAT_PRED) {
        for (size_t i = 0; i < len && !st;) {
            uint32_t cp;
            int k = wd__utf8_next(s, len, i, &cp);
            if (p->pred(cp)) {
                if (prev < i) st = seg_push(sc, n, (uint32_t)prev, (uint32_t)i, false);
                if (!st) st = seg_push(sc, n, (uint32_t)i, (uint32_t)(i + (size_t)k), true);
                prev = i + (size_t)k;
            }
            i += (size_t)k;
        }
    } else if (p->kind == PAT_LITERAL && p->lit_len == 0) {
        /* an empty pattern matches nothing */
    } else {
        size_t from = 0;
        while (from <= len && !st) {
            size_t ms, me;
            if (p->kind == PAT_REGEX) {
                int r = wd__regex_find(p->re, s, len, from, sc, &ms, &me);
                if (r < 0) return (wd_status)r;
                if (!r) break;
            } else {
                const char *q = memmem(s + from, len - from, p->lit, p->lit_len);
                if (!q) break;
                ms = (size_t)(q - s);
                me = ms + p->lit_len;
            }
            if (me == ms) { /* empty match: no segment, step one character */
                if (ms >= len) break;
                from = ms + (size_t)wd__utf8_len((unsigned char)s[ms]);
                continue;
            }
            if (prev < ms) st = seg_push(sc, n, (uint32_t)prev, (uint32_t)ms, false);
            if (!st) st = seg_push(sc, n, (uint32_t)ms, (uint32_t)me, true);
            prev = me;
            from = me;
        }
    }
    if (!st && prev < len) st = seg_push(sc, n, (uint32_t)prev, (uint32_t)len, false);
    if (p->invert) {
        seg *v = sc->segs;
        for (size_t k = 0; k < *n; k++) v[k].match = !v[k].match;
    }
    return st;
}

/* Applies the behaviour in place: afterwards segs[0..*n) are the pieces to
 * keep (match == true marks one to drop, for Removed). */
static void apply_behavior(wd__split_behavior b, seg *v, size_t *n) {
    size_t m = 0;
    bool prev_match = false;
    switch (b) {
    case WD_SPLIT_REMOVED:
        return;
    case WD_SPLIT_ISOLATED:
        for (size_t k = 0; k < *n; k++) v[k].match = false;
        return;
    case WD_SPLIT_CONTIGUOUS:
        for (size_t k = 0; k < *n; k++) {
            bool mk = v[k].match;
            if (m > 0 && mk == prev_match) v[m - 1].e = v[k].e;
            else v[m++] = (seg){v[k].s, v[k].e, false};
            prev_match = mk;
        }
        *n = m;
        return;
    case WD_SPLIT_MERGED_PREV:
        for (size_t k = 0; k < *n; k++) {
            bool mk = v[k].match;
            if (mk && !prev_match && m > 0) v[m - 1].e = v[k].e;
            else v[m++] = (seg){v[k].s, v[k].e, false};
            prev_match = mk;
        }
        *n = m;
        return;
    case WD_SPLIT_MERGED_NEXT: {
        /* fold from the right, written back from the end of the array */
        size_t w = *n;
        for (size_t k = *n; k-- > 0;) {
            bool mk = v[k].match;
            if (mk && !prev_match && w < *n) v[w].s = v[k].s;
            else v[--w] = (seg){v[k].s, v[k].e, false};
            prev_match = mk;
        }
        memmove(v, v + w, (*n - w) * sizeof *v);
        *n -= w;
        return;
    }
    }
}

/* Emits in[base + s, base + e) as a piece of out; with bytelevel, every byte
 * becomes its GPT-2 character. */
static wd_status emit(const wd__tstr *in, size_t base, const seg *g, bool bytelevel, wd__tstr *out,
                      wd__pieces *pout) {
    size_t start = out->len;
    wd_status st;
    if (!bytelevel) {
        st = wd__tstr_copy(out, in, base + g->s, g->e - g->s);
    } else {
        /* every byte becomes a 1- or 2-byte character: write in place */
        st = wd__tstr_reserve(out, 2 * (g->e - g->s));
        for (size_t i = base + g->s; i < base + g->e && !st; i++) {
            uint32_t c = bytelevel_fast((unsigned char)in->b[i]);
            size_t o = out->len;
            int k = wd__utf8_put(c, out->b + o);
            for (int q = 0; q < k; q++) {
                out->a0[o + (size_t)q] = in->a0[i];
                out->a1[o + (size_t)q] = in->a1[i];
            }
            out->len = o + (size_t)k;
        }
    }
    if (st) return st;
    return wd__pieces_push(pout, (uint32_t)start, (uint32_t)(out->len - start), -1);
}

/* Splits in[base, base+len) by pattern and behaviour into out. */
static wd_status split_piece(const pattern *p, wd__split_behavior b, bool bytelevel, const wd__tstr *in,
                             size_t base, size_t len, wd__tstr *out, wd__pieces *pout, wd__scratch *sc) {
    size_t n;
    wd_status st = find_segments(p, in->b + base, len, sc, &n);
    if (st) return st;
    seg *v = sc->segs;
    apply_behavior(b, v, &n);
    for (size_t k = 0; k < n && !st; k++) {
        if (v[k].match || v[k].e == v[k].s) continue;
        st = emit(in, base, &v[k], bytelevel, out, pout);
    }
    return st;
}

/* ==== parsing ============================================================ */

static wd_status parse_behavior(const cJSON *j, const char *where, const char *field,
                                wd__split_behavior def, wd__split_behavior *out) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "behavior");
    *out = def;
    if (!b || cJSON_IsNull(b)) return WD_OK;
    if (!cJSON_IsString(b))
        return wd__fail(WD_ERR_FORMAT, "%s: %s.behavior: expected a string, got %s", where, field,
                        wd__json_type_name(b));
    static const struct { const char *name; wd__split_behavior b; } names[] = {
        {"Removed", WD_SPLIT_REMOVED}, {"Isolated", WD_SPLIT_ISOLATED},
        {"MergedWithPrevious", WD_SPLIT_MERGED_PREV}, {"MergedWithNext", WD_SPLIT_MERGED_NEXT},
        {"Contiguous", WD_SPLIT_CONTIGUOUS},
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (!strcmp(b->valuestring, names[k].name)) {
            *out = names[k].b;
            return WD_OK;
        }
    return wd__fail(WD_ERR_FORMAT, "%s: %s.behavior: unknown split behaviour '%s'", where, field,
                    b->valuestring);
}

/* Parses a Sequence's child (see wd__component_kids). */
static wd_status parse_kid(const cJSON *j, const char *where, const char *field, void *ctx,
                           void **out) {
    wd__pretok *p = NULL;
    wd_status st = wd__pretok_parse(j, where, field, ctx, &p);
    *out = p;
    return st;
}

wd_status wd__pretok_parse(const cJSON *j, const char *where, const char *field, wd__arena *a,
                           wd__pretok **out) {
    *out = NULL;
    const char *ty;
    wd_status st = wd__component_type(j, where, field, &ty);
    if (st) return st;
    wd__pretok *p = calloc(1, sizeof *p);
    if (!p) return WD_ERR_NOMEM;
    char sub[256];
    snprintf(sub, sizeof sub, "%s: %s", where, field);
    if (!strcmp(ty, "ByteLevel")) {
        p->type = WD_PRE_BYTELEVEL;
        pthread_once(&byte_once, byte_init);
        st = wd__json_bool(j, sub, "add_prefix_space", false, true, &p->add_prefix_space);
        if (!st) st = wd__json_bool(j, sub, "use_regex", false, true, &p->use_regex);
        if (!st && p->use_regex) {
            p->re = wd__regex_compile(GPT2_PATTERN, sizeof GPT2_PATTERN - 1, sub);
            if (!p->re) st = WD_ERR_INTERNAL;
        }
    } else if (!strcmp(ty, "Metaspace")) {
        p->type = WD_PRE_METASPACE;
        const char *r = "\xE2\x96\x81";
        st = wd__json_str(j, sub, "replacement", false, r, &r);
        uint32_t cp;
        if (!st && (!r[0] || (size_t)wd__utf8_len((unsigned char)r[0]) != strlen(r) ||
                    wd__utf8_valid_prefix(r, strlen(r)) != strlen(r)))
            st = wd__fail(WD_ERR_FORMAT, "%s.replacement: expected one character", sub);
        if (!st) {
            p->replacement_len = strlen(r);
            memcpy(p->replacement, r, p->replacement_len);
            (void)cp;
        }
        bool aps = true;
        if (!st) st = wd__json_bool(j, sub, "add_prefix_space", false, true, &aps);
        p->prepend = aps ? WD_PREPEND_ALWAYS : WD_PREPEND_NEVER;
        const char *scheme = NULL;
        if (!st) st = wd__json_str(j, sub, "prepend_scheme", false, NULL, &scheme);
        if (!st && scheme) {
            if (!strcmp(scheme, "always")) p->prepend = WD_PREPEND_ALWAYS;
            else if (!strcmp(scheme, "first")) p->prepend = WD_PREPEND_FIRST;
            else if (!strcmp(scheme, "never")) p->prepend = WD_PREPEND_NEVER;
            else st = wd__fail(WD_ERR_FORMAT, "%s.prepend_scheme: unknown value '%s'", sub, scheme);
        }
        if (!st) st = wd__json_bool(j, sub, "split", false, true, &p->split);
    } else if (!strcmp(ty, "Whitespace")) {
        p->type = WD_PRE_WHITESPACE;
        p->re = wd__regex_compile(WHITESPACE_PATTERN, sizeof WHITESPACE_PATTERN - 1, sub);
        if (!p->re) st = WD_ERR_INTERNAL;
    } else if (!strcmp(ty, "WhitespaceSplit")) {
        p->type = WD_PRE_WHITESPACE_SPLIT;
    } else if (!strcmp(ty, "BertPreTokenizer")) {
        p->type = WD_PRE_BERT;
    } else if (!strcmp(ty, "Punctuation")) {
        p->type = WD_PRE_PUNCTUATION;
        st = parse_behavior(j, where, field, WD_SPLIT_ISOLATED, &p->behavior);
    } else if (!strcmp(ty, "Digits")) {
        p->type = WD_PRE_DIGITS;
        st = wd__json_bool(j, sub, "individual_digits", false, false, &p->individual_digits);
    } else if (!strcmp(ty, "Split")) {
        p->type = WD_PRE_SPLIT;
        st = parse_behavior(j, where, field, WD_SPLIT_ISOLATED, &p->behavior);
        if (!st) st = wd__json_bool(j, sub, "invert", false, false, &p->invert);
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(pat, "String");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
        if (st) {
        } else if (cJSON_IsString(ps)) {
            p->pattern = wd__arena_strdup(a, ps->valuestring);
            p->pattern_len = strlen(ps->valuestring);
            if (!p->pattern) st = WD_ERR_NOMEM;
        } else if (cJSON_IsString(pr)) {
            char w[300];
            snprintf(w, sizeof w, "%s.pattern.Regex", sub);
            p->re = wd__regex_compile(pr->valuestring, strlen(pr->valuestring), w);
            if (!p->re) st = WD_ERR_FORMAT;
        } else {
            st = wd__fail(WD_ERR_FORMAT, "%s.pattern: expected {\"String\": ...} or {\"Regex\": ...}", sub);
        }
    } else if (!strcmp(ty, "Sequence")) {
        p->type = WD_PRE_SEQUENCE;
        st = wd__component_kids(j, where, field, "pretokenizers", parse_kid, a, &p->kids, &p->n_kids);
    } else {
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s.type: pre-tokenizer '%s' is not supported", sub, ty);
    }
    if (st) {
        wd__pretok_free(p);
        return st;
    }
    *out = p;
    return WD_OK;
}

void wd__pretok_free(wd__pretok *p) {
    if (!p) return;
    for (size_t k = 0; k < p->n_kids; k++) wd__pretok_free(p->kids[k]);
    free(p->kids);
    if (p->re) pcre2_code_free(p->re);
    free(p);
}

/* ==== running ============================================================ */

static wd_status run_one(const wd__pretok *p, const wd__tstr *in, const wd__piece *pc, wd__tstr *out,
                         wd__pieces *pout, wd__scratch *sc, wd__tstr *tmp) {
    size_t base = pc->start, len = pc->len;
    pattern pat = {0};
    switch (p->type) {
    case WD_PRE_BYTELEVEL: {
        const wd__tstr *src = in;
        if (p->add_prefix_space && len > 0 && in->b[base] != ' ') {
            tmp->len = 0;
            wd_status st = wd__tstr_push(tmp, " ", 1, in->a0[base], in->a1[base]);
            if (!st) st = wd__tstr_copy(tmp, in, base, len);
            if (st) return st;
            src = tmp;
            base = 0;
            len = tmp->len;
        }
        if (!p->use_regex) {
            seg g = {0, (uint32_t)len, false};
            return len ? emit(src, base, &g, true, out, pout) : WD_OK;
        }
        pat.kind = PAT_REGEX;
        pat.re = p->re;
        return split_piece(&pat, WD_SPLIT_ISOLATED, true, src, base, len, out, pout, sc);
    }
    case WD_PRE_METASPACE: {
        /* replace ' ' by the replacement, prepend it, then split before it */
        tmp->len = 0;
        wd_status st = WD_OK;
        bool starts = len >= p->replacement_len &&
                      !memcmp(in->b + base, p->replacement, p->replacement_len);
        bool starts_space = len > 0 && in->b[base] == ' ';
        bool prepend = p->prepend == WD_PREPEND_ALWAYS ||
                       (p->prepend == WD_PREPEND_FIRST && len > 0 && in->a0[base] == 0);
        if (prepend && len > 0 && !starts && !starts_space)
            st = wd__tstr_push(tmp, p->replacement, p->replacement_len, in->a0[base], in->a1[base]);
        for (size_t i = base; i < base + len && !st;) {
            if (in->b[i] == ' ') {
                st = wd__tstr_push(tmp, p->replacement, p->replacement_len, in->a0[i], in->a1[i]);
                i++;
            } else {
                size_t j = i + 1;
                while (j < base + len && in->b[j] != ' ') j++;
                st = wd__tstr_copy(tmp, in, i, j - i);
                i = j;
            }
        }
        if (st) return st;
        if (!p->split) {
            seg g = {0, (uint32_t)tmp->len, false};
            return tmp->len ? emit(tmp, 0, &g, false, out, pout) : WD_OK;
        }
        pat.kind = PAT_LITERAL;
        pat.lit = p->replacement;
        pat.lit_len = p->replacement_len;
        return split_piece(&pat, WD_SPLIT_MERGED_NEXT, false, tmp, 0, tmp->len, out, pout, sc);
    }
    case WD_PRE_WHITESPACE:
        pat.kind = PAT_REGEX;
        pat.re = p->re;
        pat.invert = true;
        return split_piece(&pat, WD_SPLIT_REMOVED, false, in, base, len, out, pout, sc);
    case WD_PRE_WHITESPACE_SPLIT:
        pat.kind = PAT_PRED;
        pat.pred = pred_space;
        return split_piece(&pat, WD_SPLIT_REMOVED, false, in, base, len, out, pout, sc);
    case WD_PRE_BERT: {
        /* whitespace removed, then punctuation isolated */
        wd__pieces tp = {0};
        tmp->len = 0;
        pat.kind = PAT_PRED;
        pat.pred = pred_space;
        wd_status st = split_piece(&pat, WD_SPLIT_REMOVED, false, in, base, len, tmp, &tp, sc);
        pat.pred = pred_bert_punct;
        for (size_t k = 0; k < tp.n && !st; k++)
            st = split_piece(&pat, WD_SPLIT_ISOLATED, false, tmp, tp.v[k].start, tp.v[k].len, out,
                             pout, sc);
        wd__pieces_free(&tp);
        return st;
    }
    case WD_PRE_PUNCTUATION:
        pat.kind = PAT_PRED;
        pat.pred = pred_bert_punct;
        return split_piece(&pat, p->behavior, false, in, base, len, out, pout, sc);
    case WD_PRE_DIGITS:
        pat.kind = PAT_PRED;
        pat.pred = pred_numeric;
        return split_piece(&pat, p->individual_digits ? WD_SPLIT_ISOLATED : WD_SPLIT_CONTIGUOUS,
                           false, in, base, len, out, pout, sc);
    case WD_PRE_SPLIT:
        if (p->re) {
            pat.kind = PAT_REGEX;
            pat.re = p->re;
        } else {
            pat.kind = PAT_LITERAL;
            pat.lit = p->pattern;
            pat.lit_len = p->pattern_len;
        }
        pat.invert = p->invert;
        return split_piece(&pat, p->behavior, false, in, base, len, out, pout, sc);
    case WD_PRE_SEQUENCE:
        break;
    }
    return WD_ERR_INTERNAL;
}

wd_status wd__pretok_run(const wd__pretok *p, const wd__tstr *in, const wd__pieces *pin, wd__tstr *out,
                         wd__pieces *pout, wd__scratch *sc) {
    wd_status st = WD_OK;
    if (p->type == WD_PRE_SEQUENCE) {
        if (p->n_kids == 0) {
            for (size_t k = 0; k < pin->n && !st; k++) {
                size_t start = out->len;
                st = wd__tstr_copy(out, in, pin->v[k].start, pin->v[k].len);
                if (!st) st = wd__pieces_push(pout, (uint32_t)start, pin->v[k].len, pin->v[k].id);
            }
            return st;
        }
        wd__tstr tb[2] = {{0}, {0}};
        wd__pieces pb[2] = {{0}, {0}};
        const wd__tstr *src = in;
        const wd__pieces *psrc = pin;
        for (size_t k = 0; k < p->n_kids && !st; k++) {
            bool last = k + 1 == p->n_kids;
            wd__tstr *dt = last ? out : &tb[k & 1];
            wd__pieces *dp = last ? pout : &pb[k & 1];
            if (!last) {
                dt->len = 0;
                dp->n = 0;
            }
            st = wd__pretok_run(p->kids[k], src, psrc, dt, dp, sc);
            src = dt;
            psrc = dp;
        }
        for (int k = 0; k < 2; k++) {
            wd__tstr_free(&tb[k]);
            wd__pieces_free(&pb[k]);
        }
        return st;
    }
    wd__tstr tmp = {0};
    for (size_t k = 0; k < pin->n && !st; k++) {
        const wd__piece *pc = &pin->v[k];
        if (pc->id >= 0) { /* an added token: passes through */
            size_t start = out->len;
            st = wd__tstr_copy(out, in, pc->start, pc->len);
            if (!st) st = wd__pieces_push(pout, (uint32_t)start, pc->len, pc->id);
            continue;
        }
        st = run_one(p, in, pc, out, pout, sc, &tmp);
    }
    wd__tstr_free(&tmp);
    return st;
}
