/*
 * explain/audit_text.c - one record of the corpus audit -> its figures, in
 * one pass over the code points:
 *
 *   words     maximal runs of letters, marks and digits (utf8proc general
 *             categories L*, M*, N*), lowercased (utf8proc_tolower);
 *             everything else separates words
 *   scripts   each letter counted in the script whose blocks hold it (the
 *             ranges below; utf8proc has no Script property)
 *   language  for a record whose letters are mostly Latin: the stop-word
 *             language with the most hits, when hits >= 2 and >= 5% of the
 *             words and no other language ties; unknown otherwise
 *   exact     the words' hashes folded in order: the hash of the
 *             normalised text (case, punctuation and spacing ignored)
 *   MinHash   over the shingles (folds of 5 consecutive word hashes);
 *             only the 8 low bits of each minimum are kept
 *   mentions  every run of 1..max_words words looked up in the word list
 *
 * The caller's text must be valid UTF-8 (audit.c repairs it first).
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/hash.h"
#include "base/utf8.h"
#include "explain/audit_internal.h"

static const char *const script_names[WD__SCRIPT_COUNT] = {
    "Latin", "Greek", "Cyrillic", "Armenian", "Hebrew", "Arabic", "Devanagari", "Bengali",
    "Tamil", "Thai", "Georgian", "Hangul", "Kana", "Han", "Ethiopic", "Other"};

const char *wd__script_name(int s) { return s >= 0 && s < WD__SCRIPT_COUNT ? script_names[s] : "none"; }

/* The blocks of each script (Unicode 15 block ranges), in code point order. */
static const struct {
    uint32_t lo, hi;
    wd__script s;
} ranges[] = {
    {0x0041, 0x024F, WD__SCRIPT_LATIN},    {0x0250, 0x02AF, WD__SCRIPT_LATIN},
    {0x0370, 0x03FF, WD__SCRIPT_GREEK},    {0x0400, 0x052F, WD__SCRIPT_CYRILLIC},
    {0x0530, 0x058F, WD__SCRIPT_ARMENIAN}, {0x0590, 0x05FF, WD__SCRIPT_HEBREW},
    {0x0600, 0x06FF, WD__SCRIPT_ARABIC},   {0x0750, 0x077F, WD__SCRIPT_ARABIC},
    {0x08A0, 0x08FF, WD__SCRIPT_ARABIC},   {0x0900, 0x097F, WD__SCRIPT_DEVANAGARI},
    {0x0980, 0x09FF, WD__SCRIPT_BENGALI},  {0x0B80, 0x0BFF, WD__SCRIPT_TAMIL},
    {0x0E00, 0x0E7F, WD__SCRIPT_THAI},     {0x10A0, 0x10FF, WD__SCRIPT_GEORGIAN},
    {0x1100, 0x11FF, WD__SCRIPT_HANGUL},   {0x1200, 0x139F, WD__SCRIPT_ETHIOPIC},
    {0x1C80, 0x1C8F, WD__SCRIPT_CYRILLIC}, {0x1D00, 0x1DBF, WD__SCRIPT_LATIN},
    {0x1E00, 0x1EFF, WD__SCRIPT_LATIN},    {0x1F00, 0x1FFF, WD__SCRIPT_GREEK},
    {0x2C60, 0x2C7F, WD__SCRIPT_LATIN},    {0x2D00, 0x2D2F, WD__SCRIPT_GEORGIAN},
    {0x2D80, 0x2DDF, WD__SCRIPT_ETHIOPIC}, {0x2DE0, 0x2DFF, WD__SCRIPT_CYRILLIC},
    {0x2E80, 0x2FDF, WD__SCRIPT_HAN},      {0x3005, 0x3007, WD__SCRIPT_HAN},
    {0x3021, 0x3029, WD__SCRIPT_HAN},      {0x3040, 0x30FF, WD__SCRIPT_KANA},
    {0x3130, 0x318F, WD__SCRIPT_HANGUL},   {0x31F0, 0x31FF, WD__SCRIPT_KANA},
    {0x3400, 0x4DBF, WD__SCRIPT_HAN},      {0x4E00, 0x9FFF, WD__SCRIPT_HAN},
    {0xA640, 0xA69F, WD__SCRIPT_CYRILLIC}, {0xA720, 0xA7FF, WD__SCRIPT_LATIN},
    {0xA960, 0xA97F, WD__SCRIPT_HANGUL},   {0xAB30, 0xAB6F, WD__SCRIPT_LATIN},
    {0xAC00, 0xD7FF, WD__SCRIPT_HANGUL},   {0xF900, 0xFAFF, WD__SCRIPT_HAN},
    {0xFB00, 0xFB06, WD__SCRIPT_LATIN},    {0xFB1D, 0xFB4F, WD__SCRIPT_HEBREW},
    {0xFB50, 0xFDFF, WD__SCRIPT_ARABIC},   {0xFE70, 0xFEFF, WD__SCRIPT_ARABIC},
    {0xFF21, 0xFF5A, WD__SCRIPT_LATIN},    {0xFF66, 0xFF9F, WD__SCRIPT_KANA},
    {0xFFA0, 0xFFDC, WD__SCRIPT_HANGUL},   {0x1B000, 0x1B16F, WD__SCRIPT_KANA},
    {0x20000, 0x3134F, WD__SCRIPT_HAN},
};

wd__script wd__script_of(uint32_t cp) {
    if (cp < 0x80) return WD__SCRIPT_LATIN; /* the letters of ASCII */
    size_t lo = 0, hi = sizeof ranges / sizeof ranges[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < ranges[mid].lo) hi = mid;
        else if (cp > ranges[mid].hi) lo = mid + 1;
        else return ranges[mid].s;
    }
    return WD__SCRIPT_OTHER;
}


/* ==== one pass ============================================================ */

typedef enum { C_SEP, C_LETTER, C_WORD } cclass;

static inline cclass class_of(uint32_t cp) {
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return C_LETTER;
        return cp >= '0' && cp <= '9' ? C_WORD : C_SEP;
    }
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return C_LETTER;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return C_WORD;
    default: return C_SEP;
    }
}

/* The walk over words shared by wd__rec_analyse and wd__shingles: calls
 * on_word(ctx, hash) for each word in order. */
typedef struct walker {
    wd__rec *r; /* NULL: only words */
    void (*on_word)(void *ctx, uint64_t h);
    void *ctx;
} walker;

static void walk(const char *text, size_t len, walker *w) {
    const unsigned char *u = (const unsigned char *)text;
    uint64_t wh = WD__FNV_OFFSET; /* FNV-1a over the word's lowercased UTF-8, byte by byte */
    bool in_word = false;
    for (size_t i = 0; i <= len;) {
        uint32_t cp = 0;
        int k = 1;
        cclass c = C_SEP;
        if (i < len) {
            if (u[i] < 0x80) cp = u[i];
            else k = wd__utf8_next(text, len, i, &cp);
            c = class_of(cp);
            if (w->r) {
                w->r->chars++;
                if (c == C_LETTER) w->r->script[wd__script_of(cp)]++;
            }
        }
        if (c != C_SEP) {
            if (cp < 0x80) {
                uint32_t lc = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
                wh = (wh ^ lc) * WD__FNV_PRIME;
            } else {
                char enc[4];
                int n = wd__utf8_put((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), enc);
                for (int b = 0; b < n; b++) wh = (wh ^ (unsigned char)enc[b]) * WD__FNV_PRIME;
            }
            in_word = true;
        } else if (in_word) {
            w->on_word(w->ctx, wh ? wh : 1);
            wh = WD__FNV_OFFSET;
            in_word = false;
        }
        i += (size_t)k;
    }
}

/* ==== shingles ============================================================ */

typedef struct shingler {
    uint64_t ring[WD__AUDIT_SHINGLE];
    uint64_t n_words;
    void (*emit)(void *ctx, uint64_t shingle);
    void *ctx;
} shingler;

static uint64_t fold_ring(const shingler *s, size_t n) {
    uint64_t h = WD__AUDIT_FOLD_SEED;
    for (size_t k = 0; k < n; k++) h = wd__audit_fold(h, s->ring[(s->n_words - n + k) % WD__AUDIT_SHINGLE]);
    return h;
}

static void shingle_word(shingler *s, uint64_t h) {
    s->ring[s->n_words % WD__AUDIT_SHINGLE] = h;
    s->n_words++;
    if (s->n_words >= WD__AUDIT_SHINGLE) s->emit(s->ctx, fold_ring(s, WD__AUDIT_SHINGLE));
}

/* Fewer words than a shingle: the one shingle of all of them. */
static void shingle_end(shingler *s) {
    if (s->n_words > 0 && s->n_words < WD__AUDIT_SHINGLE) s->emit(s->ctx, fold_ring(s, (size_t)s->n_words));
}

/* ==== wd__rec_analyse ===================================================== */

/* A word-list match that ended at word `end` (1-based; 0: none). */
typedef struct term_match {
    uint64_t               end, start;
    const wd__terms_entry *e;
} term_match;

typedef struct rec_ctx {
    wd__rec         *r;
    const wd__terms *t;
    wd__rec_scratch *sc;
    shingler         sh;
    uint64_t         phrase[WD__AUDIT_MAX_PHRASE + 1]; /* [n]: hash of the last n words */
    uint32_t         stop[WD__LANG_COUNT];
    /* the word-list match that ended at each of the last words (ring by
     * word number): a longer phrase that covers it takes its place */
    term_match       match[WD__AUDIT_MAX_PHRASE];
} rec_ctx;

/* Adds (or takes back) one mention of each group of e. */
static void count_groups(rec_ctx *c, const wd__terms_entry *e, bool add) {
    for (uint32_t g = 0; g < e->n; g++) {
        uint32_t *m = &c->r->mentions[c->t->group_ids[e->first + g]];
        *m = add ? *m + 1 : *m - 1;
    }
}

static void emit_min(void *ctx, uint64_t x) { wd__minhash_add(((rec_ctx *)ctx)->sc->mins, x); }

static void rec_word(void *ctx, uint64_t h) {
    rec_ctx *c = ctx;
    wd__rec *r = c->r;
    r->exact = wd__audit_fold(r->exact, h);
    r->words++;
    shingle_word(&c->sh, h);
    /* every phrase of 1..max_words words that ends here: the phrase of n
     * words is the one of n-1 words that ended at the previous word,
     * folded with this one */
    int maxw = c->t->max_words;
    for (int n = maxw; n >= 1; n--) c->phrase[n] = wd__audit_fold(c->phrase[n - 1], h);
    /* stop words: the word itself */
    const wd__terms_entry *one = wd__terms_find(c->t, c->phrase[1]);
    if (one && one->langs)
        for (int l = 0; l < WD__LANG_COUNT; l++)
            if (one->langs & (1u << l)) c->stop[l]++;
    /* mentions: the longest phrase ending here, which also replaces the
     * matches it covers ("Native American" is one race mention, not also
     * a nationality one for "American", nor one for "Native") */
    uint64_t k = r->words;
    for (int n = maxw < (int)k ? maxw : (int)k; n >= 1; n--) {
        const wd__terms_entry *e = n == 1 ? one : wd__terms_find(c->t, c->phrase[n]);
        if (!e || !e->n) continue;
        uint64_t start = k - (uint64_t)n + 1;
        for (uint64_t j = start; j < k; j++) {
            term_match *m = &c->match[j % WD__AUDIT_MAX_PHRASE];
            if (m->end == j && m->start >= start) {
                count_groups(c, m->e, false);
                m->end = 0;
            }
        }
        count_groups(c, e, true);
        c->match[k % WD__AUDIT_MAX_PHRASE] = (term_match){.end = k, .start = start, .e = e};
        break;
    }
}

static int guess_lang(const rec_ctx *c) {
    const wd__rec *r = c->r;
    if (r->dominant != WD__SCRIPT_LATIN) return -1;
    int best = -1;
    uint32_t bn = 0;
    bool tie = false;
    for (int l = 0; l < WD__LANG_COUNT; l++) {
        if (c->stop[l] > bn) best = l, bn = c->stop[l], tie = false;
        else if (c->stop[l] == bn && bn > 0) tie = true;
    }
    if (best < 0 || tie || bn < 2 || (double)bn < 0.05 * (double)r->words) return -1;
    return best;
}

void wd__rec_analyse(wd__rec *r, const char *text, size_t len, const wd__terms *t, wd__rec_scratch *sc) {
    uint32_t *mentions = r->mentions;
    memset(r, 0, sizeof *r);
    r->mentions = mentions;
    memset(mentions, 0, t->n_groups * sizeof *mentions);
    r->bytes = len;
    r->exact = WD__AUDIT_FOLD_SEED;
    rec_ctx c = {.r = r, .t = t, .sc = sc, .sh = {.emit = emit_min}, .phrase = {WD__AUDIT_FOLD_SEED}};
    c.sh.ctx = &c;
    wd__minhash_init(sc->mins);
    walker w = {r, rec_word, &c};
    walk(text, len, &w);
    shingle_end(&c.sh);
    r->dominant = -1;
    uint32_t most = 0;
    for (int s = 0; s < WD__SCRIPT_COUNT; s++)
        if (r->script[s] > most) most = r->script[s], r->dominant = s;
    r->lang = guess_lang(&c);
    r->has_sig = r->words > 0;
    for (int k = 0; k < WD__AUDIT_PERM; k++) r->sig[k] = (uint8_t)sc->mins[k];
}

/* ==== wd__shingles ======================================================== */

typedef struct sh_list {
    uint64_t *v;
    size_t    n, cap;
    bool      oom;
} sh_list;

static void emit_list(void *ctx, uint64_t x) {
    sh_list *l = ctx;
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        uint64_t *p = realloc(l->v, cap * sizeof *p);
        if (!p) {
            l->oom = true;
            return;
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = x;
}

static void list_word(void *ctx, uint64_t h) { shingle_word(ctx, h); }

size_t wd__shingles(const char *text, size_t len, uint64_t **out) {
    sh_list l = {0};
    shingler s = {.emit = emit_list, .ctx = &l};
    walker w = {NULL, list_word, &s};
    walk(text, len, &w);
    shingle_end(&s);
    if (l.oom) {
        free(l.v);
        l.v = NULL, l.n = 0;
    }
    *out = l.v;
    return l.n;
}

/* ==== a word-list form's hash ============================================= */

typedef struct phrase_ctx {
    uint64_t h;
    int      n;
} phrase_ctx;

static void phrase_word(void *ctx, uint64_t w) {
    phrase_ctx *p = ctx;
    p->h = wd__audit_fold(p->h, w);
    p->n++;
}

uint64_t wd__audit_phrase_hash(const char *s, size_t len, int *n_words) {
    phrase_ctx p = {WD__AUDIT_FOLD_SEED, 0};
    walker w = {NULL, phrase_word, &p};
    walk(s, len, &w);
    *n_words = p.n;
    return p.h;
}
