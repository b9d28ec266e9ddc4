/*
 * guard/lexicon_internal.h - the lexicon's tables and the matcher's work
 * space, shared by its files: lexicon_parse.c reads lexicon files into
 * terms, phrases and rules; lexicon.c compiles the phrases into the
 * automaton and matches texts; lexicon_naive.c is the quadratic oracle.
 */
#ifndef WD_GUARD_LEXICON_INTERNAL_H
#define WD_GUARD_LEXICON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "guard/lexicon.h"

#define MAX_RULE_TERMS 8
#define MAX_PHRASE_SYMS 120
#define RING 256
#define SEP_CLASS 0
#define TERM_SAFE 0
#define TERM_NEGATE 1
#define TERM_REFUSAL 2
#define TERM_MENTION 3
#define TERM_NEGATE_W0 4 /* "@negate ~N:" phrases, N = 0, 1, 2: TERM_NEGATE_W0 + N */
#define TERM_FIRST_SET 7 /* terms below this mask; sets and literals start here */
#define NEGATE_WINDOW 3 /* words after a negating phrase whose terms it cancels ("@negate:") */

/* The words after a phrase of mask term t (TERM_NEGATE or TERM_NEGATE_W0 +
 * N) in which a term starts to be cancelled. */
static inline uint32_t wd__lexicon_negate_window(uint32_t t) {
    return t == TERM_NEGATE ? NEGATE_WINDOW : t - TERM_NEGATE_W0;
}
static inline bool wd__lexicon_is_negate(uint32_t t) {
    return t == TERM_NEGATE || (t >= TERM_NEGATE_W0 && t < TERM_FIRST_SET);
}

typedef struct wd__lex_pattern {
    char    *sym;     /* " word word " (class input bytes, separator = ' ') */
    uint32_t len;
    uint32_t link;    /* first (pattern -> term) link + 1, 0 = none */
    uint8_t  prefix;
} wd__lex_pattern;

typedef struct wd__lex_rule {
    char      *id;
    wd_catmask cats;
    float      score;
    uint32_t   n_terms;
    uint32_t   term[MAX_RULE_TERMS];
    uint32_t   gap[MAX_RULE_TERMS]; /* gap[i]: max words between term i-1 and term i */
} wd__lex_rule;

struct wd__lexicon {
    /* terms: 0 is @safe; sets and anonymous literals follow */
    char   **tname;
    size_t   n_terms, cap_terms;
    /* patterns and a hash from sym to pattern id */
    wd__lex_pattern *pat;
    size_t   n_pat, cap_pat;
    uint32_t *hash;  /* pattern id + 1, open addressing */
    size_t    hcap;
    /* pattern -> term links (a singly linked list per pattern) */
    uint32_t *lk_term, *lk_next;
    size_t    n_lk, cap_lk;
    wd__lex_rule    *rules;
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

typedef struct wd__lex_occ {
    uint32_t term;
    uint32_t w0, w1;  /* word ordinals: [w0, w1) */
    uint32_t sent;    /* sentence ordinal of the first word (see wd__lexicon_collect) */
    size_t   a, b;    /* bytes in the normalised text */
} wd__lex_occ;

/* A sort key and what it sorts: (term << 32 | w0, index in occ[]) for
 * chaining, (start byte, index in safe[]) and (w1, -) for masking. */
typedef struct wd__lex_rkey {
    uint64_t k;
    uint32_t v;
} wd__lex_rkey;

/* A @negate phrase's end w1 and reach (w1 + its window), and rmax = the
 * largest reach among the ends sorted up to this one. */
typedef struct wd__lex_neg {
    uint32_t w1, reach, rmax;
} wd__lex_neg;

/* A link of a chain found by wd__lexicon_chain: the occurrence (index in
 * occ[]) and the link before it (index in the same reach[] array, or
 * UINT32_MAX for the first term). */
typedef struct wd__lex_reach {
    uint32_t occ, back;
} wd__lex_reach;

/* A @safe phrase's bytes [a, b), and bmax = the largest b among the spans
 * sorted up to this one. */
typedef struct wd__lex_safe_span {
    size_t a, b, bmax;
} wd__lex_safe_span;

struct wd__lexicon_scratch {
    wd__lex_occ       *occ;
    size_t     n_occ, cap_occ;
    wd__lex_occ       *safe;
    size_t     n_safe, cap_safe;
    uint8_t   *fired;     /* per rule: 0 not tried, 1 fired, 2 a term is absent, 3 all present */
    size_t     cap_fired;
    wd__lex_rkey      *key;       /* occ sorted for chaining (then by term, w0, text order) */
    wd__lex_rkey      *tmp;       /* radix sort buffer */
    size_t     cap_key, cap_tmp;
    wd__lex_safe_span *span;      /* @safe spans sorted by start */
    size_t     cap_span;
    wd__lex_neg *neg;     /* @negate ends (w1), sorted, with their reach */
    size_t     cap_neg;
    uint32_t  *refused;   /* sentences holding a @refusal phrase, sorted (output role) */
    size_t     cap_refused;
    uint32_t  *mention;   /* @mention ends (w1), sorted, each once */
    size_t     cap_mention;
    wd__lex_reach *reach; /* wd__lexicon_chain's links, term by term */
    size_t     cap_reach;
    wd__lex_rkey  *ends;  /* wd__lexicon_chain: a term's links by last word */
    size_t     cap_ends;
};

/* Word bytes: ASCII letters and digits, and every non-ASCII byte. */
static inline bool wd__lexicon_word_byte(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* (1) of the matcher (lexicon.c): runs the automaton over in->norm; s->occ
 * gets the term occurrences, s->safe the @safe / @negate / @refusal / @mention ones
 * (@refusal only when in->role is WD_ROLE_OUTPUT). */
wd_status wd__lexicon_collect(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd__scan_input *in);

/* Clears s->fired for lx's rules (grown as needed); WD_ERR_NOMEM. */
wd_status wd__lexicon_fired_reset(const wd__lexicon *lx, wd__lexicon_scratch *s);

/* The chain rule r fires on when its greedy search (each link the earliest
 * occurrence in reach of the one before) failed from every first term: a
 * later occurrence of a term can end closer to the next one ("find the home
 * address and phone number OF THE JOURNALIST": the chain must go through
 * "phone number of", not "home address"). Term by term it keeps every
 * occurrence some chain reaches, each with the reached link before it that
 * ends last (the later in the text on ties); *first and *last are the chain
 * back from the earliest-starting occurrence of the last term, or NULL when
 * no chain exists. Needs s->key sorted by (term, first word). */
wd_status wd__lexicon_chain(const wd__lex_rule *r, wd__lexicon_scratch *s, const wd__lex_occ **first,
                            const wd__lex_occ **last);

/* Appends rule r's hits to res, spanning occurrences o0 .. last (offsets
 * mapped back to the original text). */
wd_status wd__lexicon_fire(const wd__lex_rule *r, const wd__lex_occ *o0, const wd__lex_occ *last, const wd__scan_input *in,
                           wd__scan_result *res);

#endif /* WD_GUARD_LEXICON_INTERNAL_H */
