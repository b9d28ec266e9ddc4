/*
 * guard/lexicon.c - Aho-Corasick phrase matcher + proximity rules; the
 * format is in lexicon.h.
 *
 * Word boundaries come for free: the text is fed to the automaton as a
 * stream of symbols in which every run of non-word bytes (anything but
 * ASCII letters/digits and non-ASCII bytes) is ONE separator symbol, with a
 * separator before the first and after the last word; every phrase is
 * stored as " word word " (separator on both sides; a prefix phrase has no
 * trailing one). So " bomb " cannot match inside "bombay" or "abomb".
 *
 * Symbols are byte classes (separator, a-z, 0-9, other word byte, and one
 * class per non-ASCII byte that occurs in some phrase), so the DFA table is
 * n_states x n_classes int32 - one lookup per text byte.
 *
 * Matching a text: (1) run the DFA, turning each phrase match into
 * occurrences of the terms that contain the phrase (word ordinals + bytes
 * in the normalised text); (2) drop occurrences inside a @safe phrase;
 * (3) for each occurrence, try the rules whose first term it is: chain the
 * next terms, each starting within the rule's gap (in words) after the
 * previous one ends; a complete chain fires the rule (once per text).
 *
 * Cost: linear in the text for (1), n log n in the occurrences for (2)
 * and (3), whatever the text repeats (the sorts are radix sorts: linear).
 * (2) sorts the @safe spans by start (with a running maximum of their
 * ends) and the @negate ends, and asks each occurrence one binary search
 * of each. (3) sorts the occurrences by
 * (term, first word, position in the text), so that the next link of a
 * chain - the occurrence of the term with the smallest first word at or
 * after a bound, the earliest one on ties - is one binary search; a rule
 * with a term that does not occur at all is set aside on its first try.
 * scan_naive() below is the quadratic original, kept as the oracle the
 * tests compare against.
 */
#include "guard/lexicon.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/embed.h"
#include "base/err.h"
#include "base/hash.h"

WD_EMBED_DECLARE(wd_embed_lex_harm);
WD_EMBED_DECLARE(wd_embed_lex_injection);
WD_EMBED_DECLARE(wd_embed_lex_profanity);

#define MAX_RULE_TERMS 8
#define MAX_PHRASE_SYMS 120
#define RING 256
#define SEP_CLASS 0
#define TERM_SAFE 0
#define TERM_NEGATE 1
#define NEGATE_WINDOW 3 /* words after a negating phrase whose terms it cancels */

typedef struct pattern {
    char    *sym;     /* " word word " (class input bytes, separator = ' ') */
    uint32_t len;
    uint32_t link;    /* first (pattern -> term) link + 1, 0 = none */
    uint8_t  prefix;
} pattern;

typedef struct rule {
    char      *id;
    wd_catmask cats;
    float      score;
    uint32_t   n_terms;
    uint32_t   term[MAX_RULE_TERMS];
    uint32_t   gap[MAX_RULE_TERMS]; /* gap[i]: max words between term i-1 and term i */
} rule;

struct wd__lexicon {
    /* terms: 0 is @safe; sets and anonymous literals follow */
    char   **tname;
    size_t   n_terms, cap_terms;
    /* patterns and a hash from sym to pattern id */
    pattern *pat;
    size_t   n_pat, cap_pat;
    uint32_t *hash;  /* pattern id + 1, open addressing */
    size_t    hcap;
    /* pattern -> term links (a singly linked list per pattern) */
    uint32_t *lk_term, *lk_next;
    size_t    n_lk, cap_lk;
    rule    *rules;
    size_t   n_rules, cap_rules;
    /* rules indexed by their first term */
    uint32_t *first_start; /* n_terms + 1 */
    uint32_t *first_rules;
    /* compiled automaton */
    uint8_t  cls[256];
    int      n_cls;
    int32_t *delta;   /* n_states x n_cls */
    int32_t *out;     /* pattern id ending at the state, or -1 */
    int32_t *dict;    /* next state on the failure chain with out >= 0, or 0 */
    size_t   n_states;
    int      compiled;
};

typedef struct occ {
    uint32_t term;
    uint32_t w0, w1;  /* word ordinals: [w0, w1) */
    size_t   a, b;    /* bytes in the normalised text */
} occ;

/* A sort key and what it sorts: (term << 32 | w0, index in occ[]) for
 * chaining, (start byte, index in safe[]) and (w1, -) for masking. */
typedef struct rkey {
    uint64_t k;
    uint32_t v;
} rkey;

/* A @safe phrase's bytes [a, b), and bmax = the largest b among the spans
 * sorted up to this one. */
typedef struct safe_span {
    size_t a, b, bmax;
} safe_span;

struct wd__lexicon_scratch {
    occ       *occ;
    size_t     n_occ, cap_occ;
    occ       *safe;
    size_t     n_safe, cap_safe;
    uint8_t   *fired;     /* per rule: 0 not tried, 1 fired, 2 a term is absent, 3 all present */
    size_t     cap_fired;
    rkey      *key;       /* occ sorted for chaining (then by term, w0, text order) */
    rkey      *tmp;       /* radix sort buffer */
    size_t     cap_key, cap_tmp;
    safe_span *span;      /* @safe spans sorted by start */
    size_t     cap_span;
    uint32_t  *neg;       /* @negate ends (w1), sorted */
    size_t     cap_neg;
};

/* ==== building =========================================================== */

wd__lexicon *wd__lexicon_new(void) {
    wd__lexicon *lx = calloc(1, sizeof *lx);
    if (!lx) return NULL;
    lx->tname = calloc(16, sizeof *lx->tname);
    if (!lx->tname || !(lx->tname[0] = strdup("@safe")) || !(lx->tname[1] = strdup("@negate"))) {
        if (lx->tname) free(lx->tname[0]);
        free(lx->tname);
        free(lx);
        return NULL;
    }
    lx->cap_terms = 16;
    lx->n_terms = 2;
    return lx;
}

void wd__lexicon_free(wd__lexicon *lx) {
    if (!lx) return;
    for (size_t i = 0; i < lx->n_terms; i++) free(lx->tname[i]);
    free(lx->tname);
    for (size_t i = 0; i < lx->n_pat; i++) free(lx->pat[i].sym);
    free(lx->pat);
    free(lx->hash);
    free(lx->lk_term);
    free(lx->lk_next);
    for (size_t i = 0; i < lx->n_rules; i++) free(lx->rules[i].id);
    free(lx->rules);
    free(lx->first_start);
    free(lx->first_rules);
    free(lx->delta);
    free(lx->out);
    free(lx->dict);
    free(lx);
}

static bool grow_arr(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static inline bool word_byte(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static bool hash_rebuild(wd__lexicon *lx, size_t cap) {
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h) return false;
    for (size_t i = 0; i < lx->n_pat; i++) {
        size_t j = wd__fnv1a(lx->pat[i].sym, lx->pat[i].len) & (cap - 1);
        while (h[j]) j = (j + 1) & (cap - 1);
        h[j] = (uint32_t)i + 1;
    }
    free(lx->hash);
    lx->hash = h;
    lx->hcap = cap;
    return true;
}

/* Returns the pattern id of sym (adding it), or -1 when out of memory. */
static long pattern_get(wd__lexicon *lx, const char *sym, size_t len, bool prefix) {
    if (lx->hcap == 0 || (lx->n_pat + 1) * 2 > lx->hcap)
        if (!hash_rebuild(lx, lx->hcap ? lx->hcap * 2 : 1024)) return -1;
    size_t j = wd__fnv1a(sym, len) & (lx->hcap - 1);
    while (lx->hash[j]) {
        pattern *p = &lx->pat[lx->hash[j] - 1];
        if (p->len == len && !memcmp(p->sym, sym, len)) return (long)lx->hash[j] - 1;
        j = (j + 1) & (lx->hcap - 1);
    }
    if (!grow_arr((void **)&lx->pat, &lx->cap_pat, lx->n_pat + 1, sizeof *lx->pat)) return -1;
    char *s = malloc(len + 1);
    if (!s) return -1;
    memcpy(s, sym, len);
    s[len] = '\0';
    lx->pat[lx->n_pat] = (pattern){s, (uint32_t)len, 0, prefix};
    lx->hash[j] = (uint32_t)lx->n_pat + 1;
    return (long)lx->n_pat++;
}

static bool link_add(wd__lexicon *lx, size_t pat, uint32_t term) {
    for (uint32_t l = lx->pat[pat].link; l; l = lx->lk_next[l - 1])
        if (lx->lk_term[l - 1] == term) return true;
    size_t c1 = lx->cap_lk, c2 = lx->cap_lk;
    if (!grow_arr((void **)&lx->lk_term, &c1, lx->n_lk + 1, sizeof(uint32_t))) return false;
    if (!grow_arr((void **)&lx->lk_next, &c2, lx->n_lk + 1, sizeof(uint32_t))) return false;
    lx->cap_lk = c1 < c2 ? c1 : c2;
    lx->lk_term[lx->n_lk] = term;
    lx->lk_next[lx->n_lk] = lx->pat[pat].link;
    lx->pat[pat].link = (uint32_t)++lx->n_lk;
    return true;
}

typedef struct src {
    const char *name;
    int         line;
    wd__err     *err;
} src;

#define SRC_FAIL(S, ...) src_fail((S), __VA_ARGS__)
static wd_status src_fail(const src *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static wd_status src_fail(const src *s, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wd__err_set(s->err, WD_ERR_FORMAT, "%s:%d: %s", s->name, s->line, msg);
}

/* Adds phrase (n bytes, may end in '*') to term. */
static wd_status add_phrase(wd__lexicon *lx, const src *s, const char *phrase, size_t n, uint32_t term) {
    while (n && isspace((unsigned char)*phrase)) phrase++, n--;
    while (n && isspace((unsigned char)phrase[n - 1])) n--;
    if (!n) return SRC_FAIL(s, "empty phrase");
    bool prefix = phrase[n - 1] == '*';
    if (prefix) n--;
    wd__canon nm;
    wd_status st = wd__canonicalize(phrase, n, WD_CANON_DEFAULT & ~WD_CANON_JOIN_SPLIT, &nm);
    if (st != WD_OK) return SRC_FAIL(s, "phrase '%.*s': %s", (int)n, phrase, wd_last_error());
    char sym[MAX_PHRASE_SYMS + 4];
    size_t w = 0;
    sym[w++] = ' ';
    bool sep = true, too_long = false;
    for (size_t i = 0; i < nm.len; i++) {
        uint8_t c = (uint8_t)nm.text[i];
        if (w >= MAX_PHRASE_SYMS) {
            too_long = true;
            break;
        }
        if (word_byte(c)) {
            sym[w++] = (char)c;
            sep = false;
        } else if (!sep) {
            sym[w++] = ' ';
            sep = true;
        }
    }
    wd__canon_free(&nm);
    if (too_long) return SRC_FAIL(s, "phrase '%.*s' is longer than %d bytes", (int)n, phrase, MAX_PHRASE_SYMS);
    if (w == 1) return SRC_FAIL(s, "phrase '%.*s' has no letters or digits", (int)n, phrase);
    if (prefix && sep) return SRC_FAIL(s, "prefix phrase '%.*s*' must end in a letter", (int)n, phrase);
    if (!prefix && !sep) sym[w++] = ' ';
    long id = pattern_get(lx, sym, w, prefix);
    if (id < 0 || !link_add(lx, (size_t)id, term)) return wd__err_set(s->err, WD_ERR_NOMEM, "out of memory");
    return WD_OK;
}

static long term_find(const wd__lexicon *lx, const char *name, size_t n) {
    for (size_t i = 0; i < lx->n_terms; i++)
        if (strlen(lx->tname[i]) == n && !memcmp(lx->tname[i], name, n)) return (long)i;
    return -1;
}

static long term_new(wd__lexicon *lx, const char *name, size_t n) {
    if (!grow_arr((void **)&lx->tname, &lx->cap_terms, lx->n_terms + 1, sizeof *lx->tname)) return -1;
    char *s = malloc(n + 1);
    if (!s) return -1;
    memcpy(s, name, n);
    s[n] = '\0';
    lx->tname[lx->n_terms] = s;
    return (long)lx->n_terms++;
}

/* "a | b | c*" -> phrases of term */
static wd_status add_alternatives(wd__lexicon *lx, const src *s, const char *p, size_t n, uint32_t term) {
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != '|') j++;
        size_t a = i, b = j;
        while (a < b && isspace((unsigned char)p[a])) a++;
        while (b > a && isspace((unsigned char)p[b - 1])) b--;
        if (b > a) {
            wd_status st = add_phrase(lx, s, p + a, b - a, term);
            if (st != WD_OK) return st;
        }
        i = j + 1;
    }
    return WD_OK;
}

static wd_status parse_cats(const src *s, const char *p, size_t n, wd_catmask *out) {
    *out = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != ',') j++;
        char name[40];
        if (j - i == 0 || j - i >= sizeof name) return SRC_FAIL(s, "bad category list '%.*s'", (int)n, p);
        memcpy(name, p + i, j - i);
        name[j - i] = '\0';
        wd_category c;
        if (wd_category_parse(name, &c) != WD_OK) return SRC_FAIL(s, "unknown category '%s'", name);
        *out |= WD_CATMASK(c);
        i = j + 1;
    }
    return WD_OK;
}

/* rule ID CATS SCORE: TERMS */
static wd_status parse_rule(wd__lexicon *lx, const src *s, const char *p, size_t n) {
    const char *colon = memchr(p, ':', n);
    if (!colon) return SRC_FAIL(s, "rule: expected 'rule ID CATEGORIES SCORE: TERMS'");
    /* head: ID CATS SCORE */
    char head[256];
    size_t hn = (size_t)(colon - p);
    if (hn >= sizeof head) return SRC_FAIL(s, "rule: header too long");
    memcpy(head, p, hn);
    head[hn] = '\0';
    char *save = NULL, *id = strtok_r(head, " \t", &save), *cats = strtok_r(NULL, " \t", &save),
         *score = strtok_r(NULL, " \t", &save), *extra = strtok_r(NULL, " \t", &save);
    if (!id || !cats || !score || extra) return SRC_FAIL(s, "rule: expected 'rule ID CATEGORIES SCORE: TERMS'");
    rule r;
    memset(&r, 0, sizeof r);
    wd_status st = parse_cats(s, cats, strlen(cats), &r.cats);
    if (st != WD_OK) return st;
    char *end;
    double sc = strtod(score, &end);
    if (*end || !(sc > 0 && sc <= 1)) return SRC_FAIL(s, "rule %s: score '%s' is not a number in (0,1]", id, score);
    r.score = (float)sc;
    for (size_t i = 0; i < lx->n_rules; i++)
        if (!strcmp(lx->rules[i].id, id)) return SRC_FAIL(s, "rule %s is defined twice", id);
    /* terms */
    const char *q = colon + 1, *e = p + n;
    uint32_t gap = 0;
    while (q < e) {
        while (q < e && isspace((unsigned char)*q)) q++;
        if (q >= e) break;
        if (*q == '~') {
            char *ge;
            long g = strtol(q + 1, &ge, 10);
            if (ge == q + 1 || g < 0 || g > 64 || r.n_terms == 0)
                return SRC_FAIL(s, "rule %s: '~N' needs 0 <= N <= 64 between two terms", id);
            gap = (uint32_t)g;
            q = ge;
            continue;
        }
        if (r.n_terms == MAX_RULE_TERMS) return SRC_FAIL(s, "rule %s: more than %d terms", id, MAX_RULE_TERMS);
        long t;
        if (*q == '{') {
            const char *c = memchr(q, '}', (size_t)(e - q));
            if (!c) return SRC_FAIL(s, "rule %s: missing '}'", id);
            t = term_find(lx, q + 1, (size_t)(c - q - 1));
            if (t <= TERM_NEGATE) return SRC_FAIL(s, "rule %s: unknown set {%.*s} (define it with @set first)", id, (int)(c - q - 1), q + 1);
            q = c + 1;
        } else if (*q == '"') {
            const char *c = memchr(q + 1, '"', (size_t)(e - q - 1));
            if (!c) return SRC_FAIL(s, "rule %s: missing closing '\"'", id);
            char nm[32];
            snprintf(nm, sizeof nm, "#%zu", lx->n_terms);
            t = term_new(lx, nm, strlen(nm));
            if (t < 0) return wd__err_set(s->err, WD_ERR_NOMEM, "out of memory");
            st = add_alternatives(lx, s, q + 1, (size_t)(c - q - 1), (uint32_t)t);
            if (st != WD_OK) return st;
            q = c + 1;
        } else {
            return SRC_FAIL(s, "rule %s: expected {set}, \"phrase\" or ~N at '%.*s'", id, (int)(e - q > 20 ? 20 : e - q), q);
        }
        r.term[r.n_terms] = (uint32_t)t;
        r.gap[r.n_terms] = gap;
        r.n_terms++;
        gap = 0;
    }
    if (!r.n_terms) return SRC_FAIL(s, "rule %s has no terms", id);
    r.id = strdup(id);
    if (!r.id || !grow_arr((void **)&lx->rules, &lx->cap_rules, lx->n_rules + 1, sizeof *lx->rules)) {
        free(r.id);
        return wd__err_set(s->err, WD_ERR_NOMEM, "out of memory");
    }
    lx->rules[lx->n_rules++] = r;
    return WD_OK;
}

static wd_status statement(wd__lexicon *lx, const src *s, const char *p, size_t n) {
    while (n && isspace((unsigned char)p[n - 1])) n--;
    if (!n) return WD_OK;
    if (n > 5 && !memcmp(p, "@set ", 5)) {
        const char *colon = memchr(p, ':', n);
        if (!colon) return SRC_FAIL(s, "@set: expected '@set NAME: phrase | phrase'");
        const char *a = p + 5, *b = colon;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (a == b) return SRC_FAIL(s, "@set: missing name");
        for (const char *c = a; c < b; c++)
            if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-'))
                return SRC_FAIL(s, "@set: bad name '%.*s' (letters, digits, _ and -)", (int)(b - a), a);
        long t = term_find(lx, a, (size_t)(b - a));
        if (t < 0) t = term_new(lx, a, (size_t)(b - a));
        if (t < 0) return wd__err_set(s->err, WD_ERR_NOMEM, "out of memory");
        return add_alternatives(lx, s, colon + 1, (size_t)(p + n - colon - 1), (uint32_t)t);
    }
    if (n >= 6 && !memcmp(p, "@safe:", 6)) return add_alternatives(lx, s, p + 6, n - 6, TERM_SAFE);
    if (n >= 8 && !memcmp(p, "@negate:", 8)) return add_alternatives(lx, s, p + 8, n - 8, TERM_NEGATE);
    if (n > 5 && !memcmp(p, "rule ", 5)) return parse_rule(lx, s, p + 5, n - 5);
    return SRC_FAIL(s, "expected '@set NAME: ...', '@safe: ...', '@negate: ...' or 'rule ID CATS SCORE: ...'");
}

wd_status wd__lexicon_add(wd__lexicon *lx, const char *text, size_t len, const char *name, wd__err *err) {
    if (lx->compiled) return wd__err_set(err, WD_ERR_INVALID_ARG, "lexicon: add after compile");
    src s = {name ? name : "<lexicon>", 0, err};
    /* gather a statement across continuation lines */
    char *stmt = NULL;
    size_t sn = 0, scap = 0;
    int stmt_line = 0;
    size_t i = 0;
    wd_status st = WD_OK;
    while (i <= len && st == WD_OK) {
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        s.line++;
        const char *line = text + i;
        size_t ln = j - i;
        if (memchr(line, '\0', ln)) {
            st = SRC_FAIL(&s, "NUL byte in a lexicon");
            break;
        }
        /* strip comments ('#' at line start or after whitespace) */
        for (size_t k = 0; k < ln; k++)
            if (line[k] == '#' && (k == 0 || isspace((unsigned char)line[k - 1]))) {
                ln = k;
                break;
            }
        bool blank = true;
        for (size_t k = 0; k < ln && blank; k++) blank = isspace((unsigned char)line[k]);
        bool cont = !blank && (isspace((unsigned char)line[0]) || line[0] == '|');
        if (!blank && !cont) {
            if (sn) {
                src at = s;
                at.line = stmt_line;
                st = statement(lx, &at, stmt, sn);
                sn = 0;
            }
            stmt_line = s.line;
        } else if (cont && !sn) {
            st = SRC_FAIL(&s, "continuation line with nothing to continue");
        }
        if (st == WD_OK && !blank) {
            if (!grow_arr((void **)&stmt, &scap, sn + ln + 2, 1)) {
                st = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
                break;
            }
            if (sn) stmt[sn++] = ' ';
            memcpy(stmt + sn, line, ln);
            sn += ln;
        }
        i = j + 1;
    }
    if (st == WD_OK && sn) {
        src at = s;
        at.line = stmt_line;
        st = statement(lx, &at, stmt, sn);
    }
    free(stmt);
    return st;
}

wd_status wd__lexicon_add_list(wd__lexicon *lx, const char *text, size_t len, const char *name,
                               wd_catmask cats, float score, wd__err *err) {
    if (lx->compiled) return wd__err_set(err, WD_ERR_INVALID_ARG, "lexicon: add after compile");
    src s = {name ? name : "<list>", 0, err};
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        s.line++;
        const char *line = text + i;
        size_t ln = j - i;
        size_t a = 0;
        while (a < ln && isspace((unsigned char)line[a])) a++;
        if (memchr(line, '\0', ln)) return SRC_FAIL(&s, "NUL byte in a list");
        if (a < ln && line[a] != '#') {
            char nm[48];
            snprintf(nm, sizeof nm, "%s:%d", s.name, s.line);
            long t = term_new(lx, nm, strlen(nm));
            if (t < 0) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            wd_status st = add_phrase(lx, &s, line + a, ln - a, (uint32_t)t);
            if (st != WD_OK) return st;
            rule r;
            memset(&r, 0, sizeof r);
            r.id = strdup(nm);
            r.cats = cats;
            r.score = score;
            r.n_terms = 1;
            r.term[0] = (uint32_t)t;
            if (!r.id || !grow_arr((void **)&lx->rules, &lx->cap_rules, lx->n_rules + 1, sizeof *lx->rules)) {
                free(r.id);
                return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            }
            lx->rules[lx->n_rules++] = r;
        }
        i = j + 1;
    }
    return WD_OK;
}

/* ==== compiling ========================================================== */

wd_status wd__lexicon_compile(wd__lexicon *lx, wd__err *err) {
    if (lx->compiled) return WD_OK;
    /* byte classes */
    memset(lx->cls, 0, sizeof lx->cls);
    for (int c = 'a'; c <= 'z'; c++) lx->cls[c] = (uint8_t)(1 + c - 'a');
    for (int c = 'A'; c <= 'Z'; c++) lx->cls[c] = (uint8_t)(1 + c - 'A');
    for (int c = '0'; c <= '9'; c++) lx->cls[c] = (uint8_t)(27 + c - '0');
    for (int c = 0x80; c < 256; c++) lx->cls[c] = 37; /* a word byte no phrase uses */
    int n_cls = 38;
    for (size_t p = 0; p < lx->n_pat; p++)
        for (size_t i = 0; i < lx->pat[p].len; i++) {
            uint8_t c = (uint8_t)lx->pat[p].sym[i];
            if (c >= 0x80 && lx->cls[c] == 37) {
                if (n_cls == 255) return wd__err_set(err, WD_ERR_UNSUPPORTED, "lexicon: too many distinct non-ASCII bytes");
                lx->cls[c] = (uint8_t)n_cls++;
            }
        }
    lx->n_cls = n_cls;
    /* trie */
    size_t max_states = 1;
    for (size_t p = 0; p < lx->n_pat; p++) max_states += lx->pat[p].len;
    int32_t *delta = malloc(max_states * (size_t)n_cls * sizeof *delta);
    int32_t *out = malloc(max_states * sizeof *out);
    int32_t *fail = calloc(max_states, sizeof *fail);
    int32_t *dict = calloc(max_states, sizeof *dict);
    int32_t *queue = malloc(max_states * sizeof *queue);
    if (!delta || !out || !fail || !dict || !queue) {
        free(delta), free(out), free(fail), free(dict), free(queue);
        return wd__err_set(err, WD_ERR_NOMEM, "lexicon: out of memory");
    }
    for (size_t i = 0; i < (size_t)n_cls; i++) delta[i] = -1;
    out[0] = -1;
    size_t n_states = 1;
    for (size_t p = 0; p < lx->n_pat; p++) {
        int32_t s = 0;
        for (size_t i = 0; i < lx->pat[p].len; i++) {
            int c = lx->cls[(uint8_t)lx->pat[p].sym[i]];
            if (lx->pat[p].sym[i] == ' ') c = SEP_CLASS;
            int32_t *t = &delta[(size_t)s * n_cls + c];
            if (*t < 0) {
                int32_t ns = (int32_t)n_states++;
                for (int k = 0; k < n_cls; k++) delta[(size_t)ns * n_cls + k] = -1;
                out[ns] = -1;
                *t = ns;
            }
            s = *t;
        }
        out[s] = (int32_t)p;
    }
    /* failure links by BFS, turning the trie into a full DFA */
    size_t qh = 0, qt = 0;
    for (int c = 0; c < n_cls; c++) {
        int32_t t = delta[c];
        if (t < 0) delta[c] = 0;
        else {
            fail[t] = 0;
            queue[qt++] = t;
        }
    }
    while (qh < qt) {
        int32_t s = queue[qh++];
        dict[s] = out[fail[s]] >= 0 ? fail[s] : dict[fail[s]];
        for (int c = 0; c < n_cls; c++) {
            int32_t *t = &delta[(size_t)s * n_cls + c];
            int32_t f = delta[(size_t)fail[s] * n_cls + c];
            if (*t < 0) {
                *t = f;
            } else {
                fail[*t] = f;
                queue[qt++] = *t;
            }
        }
    }
    free(fail);
    free(queue);
    int32_t *shrunk = realloc(delta, n_states * (size_t)n_cls * sizeof *delta);
    lx->delta = shrunk ? shrunk : delta;
    lx->out = out;
    lx->dict = dict;
    lx->n_states = n_states;
    /* rules by first term */
    lx->first_start = calloc(lx->n_terms + 1, sizeof *lx->first_start);
    lx->first_rules = malloc((lx->n_rules ? lx->n_rules : 1) * sizeof *lx->first_rules);
    if (!lx->first_start || !lx->first_rules) return wd__err_set(err, WD_ERR_NOMEM, "lexicon: out of memory");
    for (size_t r = 0; r < lx->n_rules; r++) lx->first_start[lx->rules[r].term[0] + 1]++;
    for (size_t t = 0; t < lx->n_terms; t++) lx->first_start[t + 1] += lx->first_start[t];
    uint32_t *fill = calloc(lx->n_terms + 1, sizeof *fill);
    if (!fill) return wd__err_set(err, WD_ERR_NOMEM, "lexicon: out of memory");
    for (size_t r = 0; r < lx->n_rules; r++) {
        uint32_t t = lx->rules[r].term[0];
        lx->first_rules[lx->first_start[t] + fill[t]++] = (uint32_t)r;
    }
    free(fill);
    lx->compiled = 1;
    return WD_OK;
}

size_t wd__lexicon_n_rules(const wd__lexicon *lx) { return lx ? lx->n_rules : 0; }
size_t wd__lexicon_n_phrases(const wd__lexicon *lx) { return lx ? lx->n_pat : 0; }

/* ==== matching =========================================================== */

wd__lexicon_scratch *wd__lexicon_scratch_new(void) { return calloc(1, sizeof(wd__lexicon_scratch)); }

void wd__lexicon_scratch_free(wd__lexicon_scratch *s) {
    if (!s) return;
    free(s->occ);
    free(s->safe);
    free(s->fired);
    free(s->key);
    free(s->tmp);
    free(s->span);
    free(s->neg);
    free(s);
}

static bool push_occ(occ **arr, size_t *n, size_t *cap, occ o) {
    if (*n == *cap && !grow_arr((void **)arr, cap, *n + 1, sizeof **arr)) return false;
    (*arr)[(*n)++] = o;
    return true;
}

/* (1) Runs the DFA over the normalised text: s->occ gets the term
 * occurrences, s->safe the @safe / @negate ones, in the order their phrase
 * ends in the text. */
static wd_status collect(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd_scan_input *in) {
    const uint8_t *t = (const uint8_t *)in->norm->text;
    size_t len = in->norm->len;
    s->n_occ = s->n_safe = 0;
    size_t sympos[RING];
    uint32_t symword[RING];
    size_t k = 0;          /* symbols fed */
    uint32_t words = 0;    /* separators fed */
    int32_t st = 0;
    const int n_cls = lx->n_cls;
    bool last_sep = false;
    size_t word_a = SIZE_MAX, word_b = 0; /* the word whose end was last looked for */
    for (size_t i = 0; i <= len + 1; i++) {
        if ((i & (WD_SCAN_POLL_BYTES - 1)) == 0 && i) {
            wd_status ps = wd__scan_poll(in);
            if (ps != WD_OK) return ps;
        }
        int c;
        size_t pos;
        if (i == 0) { /* virtual leading separator */
            c = SEP_CLASS;
            pos = 0;
        } else if (i == len + 1) { /* virtual trailing separator */
            if (last_sep) break;
            c = SEP_CLASS;
            pos = len;
        } else {
            uint8_t b = t[i - 1];
            pos = i - 1;
            if (word_byte(b)) {
                c = lx->cls[b];
            } else {
                if (last_sep) continue;
                c = SEP_CLASS;
            }
        }
        last_sep = c == SEP_CLASS;
        if (last_sep) words++;
        sympos[k % RING] = pos;
        symword[k % RING] = words;
        st = lx->delta[(size_t)st * n_cls + c];
        for (int32_t o = lx->out[st] >= 0 ? st : lx->dict[st]; o > 0; o = lx->dict[o]) {
            const pattern *p = &lx->pat[lx->out[o]];
            size_t first = k + 2 - p->len; /* the first word byte (after the leading separator) */
            occ oc;
            oc.a = sympos[first % RING];
            oc.w0 = symword[first % RING];
            if (p->prefix) {
                /* the rest of the word: found once per word, however
                 * many prefixes end inside it */
                size_t e = sympos[k % RING] + 1;
                if (!(word_a <= e && e <= word_b)) {
                    word_a = e;
                    while (e < len && word_byte(t[e])) e++;
                    word_b = e;
                }
                oc.b = word_b;
                oc.w1 = symword[k % RING] + 1;
            } else {
                oc.b = sympos[k % RING];
                oc.w1 = symword[(k - 1) % RING] + 1;
            }
            for (uint32_t l = p->link; l; l = lx->lk_next[l - 1]) {
                oc.term = lx->lk_term[l - 1];
                bool ok = oc.term <= TERM_NEGATE ? push_occ(&s->safe, &s->n_safe, &s->cap_safe, oc)
                                                 : push_occ(&s->occ, &s->n_occ, &s->cap_occ, oc);
                if (!ok) return WD_ERR_NOMEM;
            }
        }
        k++;
    }
    return WD_OK;
}

/* Sorts s->key[0..n) by k, keeping the input order on ties: an LSD radix
 * sort, one stable counting pass per byte of k that is not the same in
 * every key (the histograms of all eight bytes come from one read).
 * Linear, and polls between passes; under 64 keys, an insertion sort. */
static wd_status sort_keys(wd__lexicon_scratch *s, size_t n, const wd_scan_input *in) {
    if (n < 64) { /* a prompt's few keys: insertion sort (stable), no histograms to clear */
        for (size_t i = 1; i < n; i++) {
            rkey x = s->key[i];
            size_t j = i;
            for (; j > 0 && s->key[j - 1].k > x.k; j--) s->key[j] = s->key[j - 1];
            s->key[j] = x;
        }
        return WD_OK;
    }
    if (!grow_arr((void **)&s->tmp, &s->cap_tmp, n, sizeof *s->tmp)) return WD_ERR_NOMEM;
    static _Thread_local size_t count[8][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        if ((i & (WD_SCAN_POLL_BYTES - 1)) == WD_SCAN_POLL_BYTES - 1) {
            wd_status st = wd__scan_poll(in);
            if (st != WD_OK) return st;
        }
        for (int d = 0; d < 8; d++) count[d][(s->key[i].k >> (8 * d)) & 255]++;
    }
    for (int d = 0; d < 8; d++) {
        if (count[d][(s->key[0].k >> (8 * d)) & 255] == n) continue; /* one value: nothing to do */
        wd_status st = wd__scan_poll(in);
        if (st != WD_OK) return st;
        size_t at = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[d][b];
            count[d][b] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++) s->tmp[count[d][(s->key[i].k >> (8 * d)) & 255]++] = s->key[i];
        rkey *t = s->key;
        s->key = s->tmp;
        s->tmp = t;
        size_t c = s->cap_key;
        s->cap_key = s->cap_tmp;
        s->cap_tmp = c;
    }
    return WD_OK;
}

/* (2) Drops the occurrences inside a @safe phrase, or starting within
 * NEGATE_WINDOW words after a @negate one ("prevent", "detect"). */
static wd_status mask(wd__lexicon_scratch *s, const wd_scan_input *in) {
    size_t n_span = 0, n_neg = 0;
    for (size_t j = 0; j < s->n_safe; j++) {
        if (s->safe[j].term == TERM_SAFE) n_span++;
        else n_neg++;
    }
    if (!grow_arr((void **)&s->span, &s->cap_span, n_span, sizeof *s->span) ||
        !grow_arr((void **)&s->neg, &s->cap_neg, n_neg, sizeof *s->neg) ||
        !grow_arr((void **)&s->key, &s->cap_key, s->n_safe, sizeof *s->key))
        return WD_ERR_NOMEM;
    /* @safe spans by start */
    size_t m = 0;
    for (size_t j = 0; j < s->n_safe; j++)
        if (s->safe[j].term == TERM_SAFE) s->key[m++] = (rkey){s->safe[j].a, (uint32_t)j};
    wd_status st = sort_keys(s, m, in);
    if (st != WD_OK) return st;
    for (size_t j = 0; j < m; j++) {
        const occ *o = &s->safe[s->key[j].v];
        s->span[j] = (safe_span){o->a, o->b, 0};
    }
    /* @negate ends */
    m = 0;
    for (size_t j = 0; j < s->n_safe; j++)
        if (s->safe[j].term == TERM_NEGATE) s->key[m++] = (rkey){s->safe[j].w1, 0};
    if ((st = sort_keys(s, m, in)) != WD_OK) return st;
    for (size_t j = 0; j < m; j++) s->neg[j] = (uint32_t)s->key[j].k;
    for (size_t j = 0; j < n_span; j++)
        s->span[j].bmax = j && s->span[j - 1].bmax > s->span[j].b ? s->span[j - 1].bmax : s->span[j].b;
    size_t w = 0;
    for (size_t i = 0; i < s->n_occ; i++) {
        if ((i & (WD_SCAN_POLL_EVERY - 1)) == WD_SCAN_POLL_EVERY - 1 && (st = wd__scan_poll(in)) != WD_OK) return st;
        const occ *o = &s->occ[i];
        bool masked = false;
        if (n_span) { /* spans starting at or before o: does one reach o's end? */
            size_t lo = 0, hi = n_span;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->span[mid].a <= o->a) lo = mid + 1;
                else hi = mid;
            }
            masked = lo && s->span[lo - 1].bmax >= o->b;
        }
        if (!masked && n_neg) { /* the last @negate ending at or before o's first word */
            size_t lo = 0, hi = n_neg;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->neg[mid] <= o->w0) lo = mid + 1;
                else hi = mid;
            }
            masked = lo && o->w0 - s->neg[lo - 1] <= NEGATE_WINDOW;
        }
        if (!masked) s->occ[w++] = s->occ[i];
    }
    s->n_occ = w;
    return WD_OK;
}

/* The chain's next link: among the occurrences of term whose first word is
 * in [lo, lo + gap], the one with the smallest first word (the earliest in
 * the text on ties), or NULL. */
static const occ *next_link(const wd__lexicon_scratch *s, uint32_t term, uint32_t lo, uint32_t gap) {
    uint64_t want = (uint64_t)term << 32 | lo;
    size_t a = 0, b = s->n_occ;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (s->key[mid].k < want) a = mid + 1;
        else b = mid;
    }
    if (a == s->n_occ || s->key[a].k >> 32 != term || (uint32_t)s->key[a].k - lo > gap) return NULL;
    return &s->occ[s->key[a].v];
}

/* True when some term of r after the first has no occurrence at all. */
static bool term_absent(const wd__lexicon_scratch *s, const rule *r) {
    for (uint32_t ti = 1; ti < r->n_terms; ti++)
        if (!next_link(s, r->term[ti], 0, UINT32_MAX)) return true;
    return false;
}

static wd_status fire(const rule *r, const occ *o0, const occ *last,
                      const wd_scan_input *in, wd_scan_result *res) {
    size_t a, b;
    wd__canon_span(in->norm, in->orig, in->orig_len, o0->a, last->b, &a, &b);
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        if (r->cats & WD_CATMASK(c))
            if (wd__scan_hit(res, (wd_category)c, r->score, a, b, r->id, NULL) != WD_OK) return WD_ERR_NOMEM;
    return WD_OK;
}

wd_status wd__lexicon_scan(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd_scan_input *in,
                           wd_scan_result *res) {
    if (!lx->compiled || !lx->n_rules) return WD_OK;
    wd_status st = collect(lx, s, in);
    if (st != WD_OK || !s->n_occ) return st;
    if (s->n_safe && (st = mask(s, in)) != WD_OK) return st;
    if (!s->n_occ) return WD_OK;
    if (s->n_occ > UINT32_MAX) return WD_ERR_NOMEM; /* beyond any max_bytes */
    if (s->cap_fired < lx->n_rules) {
        uint8_t *f = realloc(s->fired, lx->n_rules);
        if (!f) return WD_ERR_NOMEM;
        s->fired = f;
        s->cap_fired = lx->n_rules;
    }
    memset(s->fired, 0, lx->n_rules);
    if (!grow_arr((void **)&s->key, &s->cap_key, s->n_occ, sizeof *s->key)) return WD_ERR_NOMEM;
    if ((st = wd__scan_poll(in)) != WD_OK) return st;
    for (size_t i = 0; i < s->n_occ; i++) s->key[i] = (rkey){(uint64_t)s->occ[i].term << 32 | s->occ[i].w0, (uint32_t)i};
    if ((st = sort_keys(s, s->n_occ, in)) != WD_OK) return st;
    /* (3) every occurrence, in text order, starts the rules of its term */
    for (size_t i = 0; i < s->n_occ; i++) {
        if ((i & (WD_SCAN_POLL_EVERY - 1)) == 0 && i && (st = wd__scan_poll(in)) != WD_OK) return st;
        const occ *o0 = &s->occ[i];
        for (uint32_t ri = lx->first_start[o0->term]; ri < lx->first_start[o0->term + 1]; ri++) {
            uint32_t r_id = lx->first_rules[ri];
            if (s->fired[r_id] == 1 || s->fired[r_id] == 2) continue;
            const rule *r = &lx->rules[r_id];
            if (!s->fired[r_id]) {
                s->fired[r_id] = term_absent(s, r) ? 2 : 3;
                if (s->fired[r_id] == 2) continue;
            }
            const occ *prev = o0;
            for (uint32_t ti = 1; ti < r->n_terms && prev; ti++)
                prev = next_link(s, r->term[ti], prev->w1, r->gap[ti]);
            if (!prev) continue;
            s->fired[r_id] = 1;
            if ((st = fire(r, o0, prev, in, res)) != WD_OK) return st;
        }
    }
    return WD_OK;
}

/* The matcher as first written, quadratic in the occurrences: every
 * occurrence against every @safe/@negate one, every chain link a pass over
 * all occurrences. The oracle for wd__lexicon_scan (tests only). */
wd_status wd__lexicon_scan_naive(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd_scan_input *in,
                                 wd_scan_result *res) {
    if (!lx->compiled || !lx->n_rules) return WD_OK;
    wd_status st = collect(lx, s, in);
    if (st != WD_OK || !s->n_occ) return st;
    if (s->n_safe) {
        size_t w = 0;
        for (size_t i = 0; i < s->n_occ; i++) {
            bool masked = false;
            const occ *o = &s->occ[i];
            for (size_t j = 0; j < s->n_safe && !masked; j++) {
                const occ *m = &s->safe[j];
                if (m->term == TERM_SAFE) masked = m->a <= o->a && o->b <= m->b;
                else masked = m->w1 <= o->w0 && o->w0 - m->w1 <= NEGATE_WINDOW;
            }
            if (!masked) s->occ[w++] = s->occ[i];
        }
        s->n_occ = w;
    }
    if (s->cap_fired < lx->n_rules) {
        uint8_t *f = realloc(s->fired, lx->n_rules);
        if (!f) return WD_ERR_NOMEM;
        s->fired = f;
        s->cap_fired = lx->n_rules;
    }
    memset(s->fired, 0, lx->n_rules);
    for (size_t i = 0; i < s->n_occ; i++) {
        const occ *o0 = &s->occ[i];
        for (uint32_t ri = lx->first_start[o0->term]; ri < lx->first_start[o0->term + 1]; ri++) {
            uint32_t r_id = lx->first_rules[ri];
            if (s->fired[r_id]) continue;
            const rule *r = &lx->rules[r_id];
            const occ *prev = o0;
            bool ok = true;
            for (uint32_t ti = 1; ti < r->n_terms && ok; ti++) {
                const occ *best = NULL;
                for (size_t j = 0; j < s->n_occ; j++) {
                    const occ *o = &s->occ[j];
                    if (o->term != r->term[ti] || o->w0 < prev->w1 || o->w0 - prev->w1 > r->gap[ti]) continue;
                    if (!best || o->w0 < best->w0) best = o;
                }
                ok = best != NULL;
                if (ok) prev = best;
            }
            if (!ok) continue;
            s->fired[r_id] = 1;
            if ((st = fire(r, o0, prev, in, res)) != WD_OK) return st;
        }
    }
    return WD_OK;
}

const char *wd__lexicon_builtin(const char *name, size_t *len) {
    static const struct { const char *name; const unsigned char *data; const size_t *len; } b[] = {
        {"harm", wd_embed_lex_harm, &wd_embed_lex_harm_len},
        {"injection", wd_embed_lex_injection, &wd_embed_lex_injection_len},
        {"profanity", wd_embed_lex_profanity, &wd_embed_lex_profanity_len},
    };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        if (!strcmp(name, b[i].name)) {
            *len = *b[i].len;
            return (const char *)b[i].data;
        }
    return NULL;
}
