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
 * in the normalised text); (2) drop occurrences inside a @safe phrase,
 * a few words after a @negate one, right after a @mention one, or (in an
 * answer: the output role) in a sentence that holds a @refusal one;
 * (3) for each occurrence, try the rules whose first term it is: chain the
 * next terms, each starting within the rule's gap (in words) after the
 * previous one ends, each link the earliest in reach; a complete chain
 * fires the rule (once per text); (4) a rule of three terms or more that
 * (3) missed with every term present gets the complete search
 * (wd__lexicon_chain), which keeps every link some chain reaches.
 *
 * Cost: linear in the text for (1), n log n in the occurrences for (2)
 * and (3), whatever the text repeats (the sorts are radix sorts: linear).
 * (2) sorts the @safe spans by start (with a running maximum of their
 * ends), the @negate and @mention ends and the @refusal sentences, and asks each
 * occurrence one binary search of each. (3) sorts the occurrences by
 * (term, first word, position in the text), so that the next link of a
 * chain - the occurrence of the term with the smallest first word at or
 * after a bound, the earliest one on ties - is one binary search; a rule
 * with a term that does not occur at all is set aside on its first try.
 * wd__lexicon_scan_naive (lexicon_naive.c) is the quadratic original, kept
 * as the oracle the tests compare against. Reading lexicon files is
 * lexicon_parse.c's.
 */
#include "guard/lexicon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "guard/canonical.h"
#include "guard/lexicon_internal.h"

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
    free(s->refused);
    free(s->mention);
    free(s->reach);
    free(s->ends);
    free(s);
}

static bool push_occ(wd__lex_occ **arr, size_t *n, size_t *cap, wd__lex_occ o) {
    if (*n == *cap && wd__array_grow((void **)arr, cap, *n + 1, sizeof **arr)) return false;
    (*arr)[(*n)++] = o;
    return true;
}

/* (1) Runs the DFA over the normalised text: s->occ gets the term
 * occurrences, s->safe the @safe / @negate / @refusal / @mention ones, in
 * the order their phrase ends in the text. */
wd_status wd__lexicon_collect(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd__scan_input *in) {
    const uint8_t *t = (const uint8_t *)in->norm->text;
    size_t len = in->norm->len;
    s->n_occ = s->n_safe = 0;
    size_t sympos[RING];
    uint32_t symword[RING], symsent[RING];
    size_t k = 0;          /* symbols fed */
    uint32_t words = 0;    /* separators fed */
    uint32_t sents = 0;    /* sentence ends passed: '.', '!' or '?' before a non-word byte, or a newline */
    const bool output = in->role == WD_ROLE_OUTPUT;
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
            if (wd__lexicon_word_byte(b)) {
                c = lx->cls[b];
            } else {
                if (b == '\n' || ((b == '.' || b == '!' || b == '?') && (i == len || !wd__lexicon_word_byte(t[i]))))
                    sents++; /* "3.5" and "e.g.x" do not end one */
                if (last_sep) continue;
                c = SEP_CLASS;
            }
        }
        last_sep = c == SEP_CLASS;
        if (last_sep) words++;
        sympos[k % RING] = pos;
        symword[k % RING] = words;
        symsent[k % RING] = sents;
        st = lx->delta[(size_t)st * n_cls + c];
        for (int32_t o = lx->out[st] >= 0 ? st : lx->dict[st]; o > 0; o = lx->dict[o]) {
            const wd__lex_pattern *p = &lx->pat[lx->out[o]];
            size_t first = k + 2 - p->len; /* the first word byte (after the leading separator) */
            wd__lex_occ oc;
            oc.a = sympos[first % RING];
            oc.w0 = symword[first % RING];
            oc.sent = symsent[first % RING];
            if (p->prefix) {
                /* the rest of the word: found once per word, however
                 * many prefixes end inside it */
                size_t e = sympos[k % RING] + 1;
                if (!(word_a <= e && e <= word_b)) {
                    word_a = e;
                    while (e < len && wd__lexicon_word_byte(t[e])) e++;
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
                if (oc.term == TERM_REFUSAL && !output) continue; /* a prompt's "I can't" refuses nothing */
                bool ok = oc.term < TERM_FIRST_SET ? push_occ(&s->safe, &s->n_safe, &s->cap_safe, oc)
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
static wd_status sort_keys(wd__lexicon_scratch *s, size_t n, const wd__scan_input *in) {
    if (n < 64) { /* a prompt's few keys: insertion sort (stable), no histograms to clear */
        for (size_t i = 1; i < n; i++) {
            wd__lex_rkey x = s->key[i];
            size_t j = i;
            for (; j > 0 && s->key[j - 1].k > x.k; j--) s->key[j] = s->key[j - 1];
            s->key[j] = x;
        }
        return WD_OK;
    }
    if (wd__array_grow((void **)&s->tmp, &s->cap_tmp, n, sizeof *s->tmp)) return WD_ERR_NOMEM;
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
        wd__lex_rkey *t = s->key;
        s->key = s->tmp;
        s->tmp = t;
        size_t c = s->cap_key;
        s->cap_key = s->cap_tmp;
        s->cap_tmp = c;
    }
    return WD_OK;
}

/* Sorts the keys k of the s->safe entries of kind term into out[], each
 * value once; returns their number through *n. */
static wd_status sorted_ends(wd__lexicon_scratch *s, const wd__scan_input *in, uint32_t term, uint32_t *out, size_t *n) {
    size_t m = 0;
    for (size_t j = 0; j < s->n_safe; j++)
        if (s->safe[j].term == term)
            s->key[m++] = (wd__lex_rkey){term == TERM_REFUSAL ? s->safe[j].sent : s->safe[j].w1, 0};
    wd_status st = sort_keys(s, m, in);
    if (st != WD_OK) return st;
    *n = 0;
    for (size_t j = 0; j < m; j++)
        if (!*n || out[*n - 1] != (uint32_t)s->key[j].k) out[(*n)++] = (uint32_t)s->key[j].k;
    return WD_OK;
}

/* (2) Drops the occurrences inside a @safe phrase, starting within
 * NEGATE_WINDOW words after a @negate one ("prevent", "detect"), right
 * after a @mention one ("the term"), or in a sentence holding a @refusal
 * one (collected for the output role only). */
static wd_status mask(wd__lexicon_scratch *s, const wd__scan_input *in) {
    size_t n_span = 0, n_neg = 0, n_ref = 0, n_men = 0;
    for (size_t j = 0; j < s->n_safe; j++) {
        if (s->safe[j].term == TERM_SAFE) n_span++;
        else if (wd__lexicon_is_negate(s->safe[j].term)) n_neg++;
        else if (s->safe[j].term == TERM_MENTION) n_men++;
        else n_ref++;
    }
    if (wd__array_grow((void **)&s->span, &s->cap_span, n_span, sizeof *s->span) ||
        wd__array_grow((void **)&s->neg, &s->cap_neg, n_neg, sizeof *s->neg) ||
        wd__array_grow((void **)&s->refused, &s->cap_refused, n_ref, sizeof *s->refused) ||
        wd__array_grow((void **)&s->mention, &s->cap_mention, n_men, sizeof *s->mention) ||
        wd__array_grow((void **)&s->key, &s->cap_key, s->n_safe, sizeof *s->key))
        return WD_ERR_NOMEM;
    /* @safe spans by start */
    size_t m = 0;
    for (size_t j = 0; j < s->n_safe; j++)
        if (s->safe[j].term == TERM_SAFE) s->key[m++] = (wd__lex_rkey){s->safe[j].a, (uint32_t)j};
    wd_status st = sort_keys(s, m, in);
    if (st != WD_OK) return st;
    for (size_t j = 0; j < m; j++) {
        const wd__lex_occ *o = &s->safe[s->key[j].v];
        s->span[j] = (wd__lex_safe_span){o->a, o->b, 0};
    }
    /* @negate ends by w1, with the running maximum of their reach */
    m = 0;
    for (size_t j = 0; j < s->n_safe; j++)
        if (wd__lexicon_is_negate(s->safe[j].term)) s->key[m++] = (wd__lex_rkey){s->safe[j].w1, (uint32_t)j};
    if ((st = sort_keys(s, m, in)) != WD_OK) return st;
    for (size_t j = 0; j < m; j++) {
        const wd__lex_occ *o = &s->safe[s->key[j].v];
        uint32_t reach = o->w1 + wd__lexicon_negate_window(o->term);
        s->neg[j] = (wd__lex_neg){o->w1, reach, j && s->neg[j - 1].rmax > reach ? s->neg[j - 1].rmax : reach};
    }
    /* @refusal sentences and @mention ends, sorted, each once */
    if ((st = sorted_ends(s, in, TERM_REFUSAL, s->refused, &n_ref)) != WD_OK) return st;
    if ((st = sorted_ends(s, in, TERM_MENTION, s->mention, &n_men)) != WD_OK) return st;
    for (size_t j = 0; j < n_span; j++)
        s->span[j].bmax = j && s->span[j - 1].bmax > s->span[j].b ? s->span[j - 1].bmax : s->span[j].b;
    size_t w = 0;
    for (size_t i = 0; i < s->n_occ; i++) {
        if ((i & (WD_SCAN_POLL_EVERY - 1)) == WD_SCAN_POLL_EVERY - 1 && (st = wd__scan_poll(in)) != WD_OK) return st;
        const wd__lex_occ *o = &s->occ[i];
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
        if (!masked && n_neg) { /* @negates ending at or before o's first word: does one reach it? */
            size_t lo = 0, hi = n_neg;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->neg[mid].w1 <= o->w0) lo = mid + 1;
                else hi = mid;
            }
            masked = lo && s->neg[lo - 1].rmax >= o->w0;
        }
        if (!masked && n_men) masked = wd__u32_sorted_has(s->mention, n_men, o->w0);
        if (!masked && n_ref) masked = wd__u32_sorted_has(s->refused, n_ref, o->sent);
        if (!masked) s->occ[w++] = s->occ[i];
    }
    s->n_occ = w;
    return WD_OK;
}

/* The first index of s->key (sorted by term << 32 | first word) whose key
 * is at least want. */
static size_t key_lower(const wd__lexicon_scratch *s, uint64_t want) {
    size_t a = 0, b = s->n_occ;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (s->key[mid].k < want) a = mid + 1;
        else b = mid;
    }
    return a;
}

/* The chain's next link: among the occurrences of term whose first word is
 * in [lo, lo + gap], the one with the smallest first word (the earliest in
 * the text on ties), or NULL. */
static const wd__lex_occ *next_link(const wd__lexicon_scratch *s, uint32_t term, uint32_t lo, uint32_t gap) {
    size_t a = key_lower(s, (uint64_t)term << 32 | lo);
    if (a == s->n_occ || s->key[a].k >> 32 != term || (uint32_t)s->key[a].k - lo > gap) return NULL;
    return &s->occ[s->key[a].v];
}

static int cmp_rkey(const void *x, const void *y) {
    const wd__lex_rkey *a = x, *b = y;
    return a->k < b->k ? -1 : a->k > b->k ? 1 : (a->v > b->v) - (a->v < b->v);
}

wd_status wd__lexicon_chain(const wd__lex_rule *r, wd__lexicon_scratch *s, const wd__lex_occ **first,
                            const wd__lex_occ **last) {
    *first = *last = NULL;
    size_t n = 0, prev0 = 0, prev1 = 0; /* reach[prev0 .. prev1): the term before */
    for (uint32_t ti = 0; ti < r->n_terms; ti++) {
        const uint32_t t = r->term[ti];
        size_t a = key_lower(s, (uint64_t)t << 32), b = key_lower(s, (uint64_t)(t + 1) << 32);
        if (wd__array_grow((void **)&s->reach, &s->cap_reach, n + (b - a), sizeof *s->reach)) return WD_ERR_NOMEM;
        size_t here = n;
        if (ti == 0) {
            for (size_t k = a; k < b; k++) s->reach[n++] = (wd__lex_reach){s->key[k].v, UINT32_MAX};
        } else {
            /* the links before, by last word (then by their order) */
            size_t m = prev1 - prev0;
            if (wd__array_grow((void **)&s->ends, &s->cap_ends, m, sizeof *s->ends)) return WD_ERR_NOMEM;
            for (size_t j = 0; j < m; j++)
                s->ends[j] = (wd__lex_rkey){s->occ[s->reach[prev0 + j].occ].w1, (uint32_t)(prev0 + j)};
            qsort(s->ends, m, sizeof *s->ends, cmp_rkey);
            size_t j = 0; /* ends[0 .. j) end at or before the occurrence's first word */
            for (size_t k = a; k < b; k++) {
                uint32_t w0 = (uint32_t)s->key[k].k;
                while (j < m && s->ends[j].k <= w0) j++;
                if (j && w0 - (uint32_t)s->ends[j - 1].k <= r->gap[ti])
                    s->reach[n++] = (wd__lex_reach){s->key[k].v, s->ends[j - 1].v};
            }
        }
        if (n == here) return WD_OK; /* no chain reaches this term */
        prev0 = here, prev1 = n;
    }
    size_t e = prev0;
    *last = &s->occ[s->reach[e].occ];
    while (s->reach[e].back != UINT32_MAX) e = s->reach[e].back;
    *first = &s->occ[s->reach[e].occ];
    return WD_OK;
}

/* True when some term of r after the first has no occurrence at all. */
static bool term_absent(const wd__lexicon_scratch *s, const wd__lex_rule *r) {
    for (uint32_t ti = 1; ti < r->n_terms; ti++)
        if (!next_link(s, r->term[ti], 0, UINT32_MAX)) return true;
    return false;
}

wd_status wd__lexicon_fired_reset(const wd__lexicon *lx, wd__lexicon_scratch *s) {
    if (s->cap_fired < lx->n_rules) {
        uint8_t *f = realloc(s->fired, lx->n_rules);
        if (!f) return WD_ERR_NOMEM;
        s->fired = f;
        s->cap_fired = lx->n_rules;
    }
    memset(s->fired, 0, lx->n_rules);
    return WD_OK;
}

wd_status wd__lexicon_fire(const wd__lex_rule *r, const wd__lex_occ *o0, const wd__lex_occ *last, const wd__scan_input *in,
                           wd__scan_result *res) {
    size_t a, b;
    wd__canon_span(in->norm, in->orig, in->orig_len, o0->a, last->b, &a, &b);
    for (int c = 0; c < WD_CATEGORY_COUNT; c++)
        if (r->cats & WD_CATMASK(c))
            if (wd__scan_hit(res, (wd_category)c, r->score, a, b, r->id, NULL) != WD_OK) return WD_ERR_NOMEM;
    return WD_OK;
}

wd_status wd__lexicon_scan(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd__scan_input *in,
                           wd__scan_result *res) {
    if (!lx->compiled || !lx->n_rules) return WD_OK;
    wd_status st = wd__lexicon_collect(lx, s, in);
    if (st != WD_OK || !s->n_occ) return st;
    if (s->n_safe && (st = mask(s, in)) != WD_OK) return st;
    if (!s->n_occ) return WD_OK;
    if (s->n_occ > UINT32_MAX) return WD_ERR_NOMEM; /* beyond any max_bytes */
    if ((st = wd__lexicon_fired_reset(lx, s)) != WD_OK) return st;
    if (wd__array_grow((void **)&s->key, &s->cap_key, s->n_occ, sizeof *s->key)) return WD_ERR_NOMEM;
    if ((st = wd__scan_poll(in)) != WD_OK) return st;
    for (size_t i = 0; i < s->n_occ; i++) s->key[i] = (wd__lex_rkey){(uint64_t)s->occ[i].term << 32 | s->occ[i].w0, (uint32_t)i};
    if ((st = sort_keys(s, s->n_occ, in)) != WD_OK) return st;
    /* (3) every occurrence, in text order, starts the rules of its term */
    for (size_t i = 0; i < s->n_occ; i++) {
        if ((i & (WD_SCAN_POLL_EVERY - 1)) == 0 && i && (st = wd__scan_poll(in)) != WD_OK) return st;
        const wd__lex_occ *o0 = &s->occ[i];
        for (uint32_t ri = lx->first_start[o0->term]; ri < lx->first_start[o0->term + 1]; ri++) {
            uint32_t r_id = lx->first_rules[ri];
            if (s->fired[r_id] == 1 || s->fired[r_id] == 2) continue;
            const wd__lex_rule *r = &lx->rules[r_id];
            if (!s->fired[r_id]) {
                s->fired[r_id] = term_absent(s, r) ? 2 : 3;
                if (s->fired[r_id] == 2) continue;
            }
            const wd__lex_occ *prev = o0;
            for (uint32_t ti = 1; ti < r->n_terms && prev; ti++)
                prev = next_link(s, r->term[ti], prev->w1, r->gap[ti]);
            if (!prev) continue;
            s->fired[r_id] = 1;
            if ((st = wd__lexicon_fire(r, o0, prev, in, res)) != WD_OK) return st;
        }
    }
    /* (4) rules of three terms or more with every term present that the
     * greedy search missed: the complete one (two terms need none) */
    for (uint32_t r_id = 0; r_id < lx->n_rules; r_id++) {
        const wd__lex_rule *r = &lx->rules[r_id];
        if (s->fired[r_id] != 3 || r->n_terms < 3) continue;
        if ((st = wd__scan_poll(in)) != WD_OK) return st;
        const wd__lex_occ *first, *last;
        if ((st = wd__lexicon_chain(r, s, &first, &last)) != WD_OK) return st;
        if (!last) continue;
        s->fired[r_id] = 1;
        if ((st = wd__lexicon_fire(r, first, last, in, res)) != WD_OK) return st;
    }
    return WD_OK;
}
