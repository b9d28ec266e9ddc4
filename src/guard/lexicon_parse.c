/*
 * guard/lexicon_parse.c - reading lexicon files (the format is in
 * lexicon.h) into the lexicon's tables: terms (@set, @safe, @negate and
 * quoted literals), their phrases as separator-delimited symbol strings
 * (" word word ", a prefix phrase without the trailing separator; one
 * pattern per distinct string, found through a hash table), the
 * pattern -> term links, and the rules. Also the embedded lexicons
 * (wd__lexicon_builtin) and the plain phrase lists (wd__lexicon_add_list).
 * Compiling and matching are lexicon.c's.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/embed.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/util.h"
#include "guard/lexicon_internal.h"

WD_EMBED_DECLARE(wd_embed_lex_harm);
WD_EMBED_DECLARE(wd_embed_lex_injection);
WD_EMBED_DECLARE(wd_embed_lex_profanity);

/* ==== building =========================================================== */

wd__lexicon *wd__lexicon_new(void) {
    wd__lexicon *lx = calloc(1, sizeof *lx);
    if (!lx) return NULL;
    lx->tname = calloc(16, sizeof *lx->tname);
    if (!lx->tname || !(lx->tname[0] = strdup("@safe")) || !(lx->tname[1] = strdup("@negate")) ||
        !(lx->tname[2] = strdup("@refusal")) || !(lx->tname[3] = strdup("@mention")) ||
        !(lx->tname[4] = strdup("@negate~0")) || !(lx->tname[5] = strdup("@negate~1")) ||
        !(lx->tname[6] = strdup("@negate~2"))) {
        if (lx->tname)
            for (int i = 0; i < TERM_FIRST_SET; i++) free(lx->tname[i]);
        free(lx->tname);
        free(lx);
        return NULL;
    }
    lx->cap_terms = 16;
    lx->n_terms = TERM_FIRST_SET;
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
        wd__lex_pattern *p = &lx->pat[lx->hash[j] - 1];
        if (p->len == len && !memcmp(p->sym, sym, len)) return (long)lx->hash[j] - 1;
        j = (j + 1) & (lx->hcap - 1);
    }
    if (wd__array_grow((void **)&lx->pat, &lx->cap_pat, lx->n_pat + 1, sizeof *lx->pat)) return -1;
    char *s = malloc(len + 1);
    if (!s) return -1;
    memcpy(s, sym, len);
    s[len] = '\0';
    lx->pat[lx->n_pat] = (wd__lex_pattern){s, (uint32_t)len, 0, prefix};
    lx->hash[j] = (uint32_t)lx->n_pat + 1;
    return (long)lx->n_pat++;
}

static bool link_add(wd__lexicon *lx, size_t pat, uint32_t term) {
    for (uint32_t l = lx->pat[pat].link; l; l = lx->lk_next[l - 1])
        if (lx->lk_term[l - 1] == term) return true;
    size_t c1 = lx->cap_lk, c2 = lx->cap_lk;
    if (wd__array_grow((void **)&lx->lk_term, &c1, lx->n_lk + 1, sizeof(uint32_t))) return false;
    if (wd__array_grow((void **)&lx->lk_next, &c2, lx->n_lk + 1, sizeof(uint32_t))) return false;
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
        if (wd__lexicon_word_byte(c)) {
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
    if (wd__array_grow((void **)&lx->tname, &lx->cap_terms, lx->n_terms + 1, sizeof *lx->tname)) return -1;
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
    wd__lex_rule r;
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
            if (t < TERM_FIRST_SET) return SRC_FAIL(s, "rule %s: unknown set {%.*s} (define it with @set first)", id, (int)(c - q - 1), q + 1);
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
    if (!r.id || wd__array_grow((void **)&lx->rules, &lx->cap_rules, lx->n_rules + 1, sizeof *lx->rules)) {
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
    if (n >= 11 && !memcmp(p, "@negate ~", 9) && p[10] == ':') {
        if (p[9] < '0' || p[9] > '3') return SRC_FAIL(s, "@negate ~N: N must be 0, 1, 2 or 3");
        uint32_t t = p[9] == '3' ? TERM_NEGATE : TERM_NEGATE_W0 + (uint32_t)(p[9] - '0');
        return add_alternatives(lx, s, p + 11, n - 11, t);
    }
    if (n >= 9 && !memcmp(p, "@refusal:", 9)) return add_alternatives(lx, s, p + 9, n - 9, TERM_REFUSAL);
    if (n >= 9 && !memcmp(p, "@mention:", 9)) return add_alternatives(lx, s, p + 9, n - 9, TERM_MENTION);
    if (n > 5 && !memcmp(p, "rule ", 5)) return parse_rule(lx, s, p + 5, n - 5);
    return SRC_FAIL(s, "expected '@set NAME: ...', '@safe: ...', '@negate: ...', '@negate ~N: ...', "
                       "'@refusal: ...', '@mention: ...' or 'rule ID CATS SCORE: ...'");
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
            if (wd__array_grow((void **)&stmt, &scap, sn + ln + 2, 1)) {
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
            wd__lex_rule r;
            memset(&r, 0, sizeof r);
            r.id = strdup(nm);
            r.cats = cats;
            r.score = score;
            r.n_terms = 1;
            r.term[0] = (uint32_t)t;
            if (!r.id || wd__array_grow((void **)&lx->rules, &lx->cap_rules, lx->n_rules + 1, sizeof *lx->rules)) {
                free(r.id);
                return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            }
            lx->rules[lx->n_rules++] = r;
        }
        i = j + 1;
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
