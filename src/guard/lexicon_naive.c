/*
 * guard/lexicon_naive.c - the lexicon matcher as first written, quadratic
 * in the occurrences: the oracle the tests compare wd__lexicon_scan with
 * (test_guard_linear). It shares step (1), the automaton run, with
 * lexicon.c, and replaces (2) masking and (3) chaining by plain loops.
 */
#include <stdint.h>
#include <stdlib.h>

#include "guard/lexicon_internal.h"

/* The matcher as first written, quadratic in the occurrences: every
 * occurrence against every @safe/@negate/@refusal one, every chain link a pass over
 * all occurrences. The oracle for wd__lexicon_scan (tests only). */
wd_status wd__lexicon_scan_naive(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd__scan_input *in,
                                 wd__scan_result *res) {
    if (!lx->compiled || !lx->n_rules) return WD_OK;
    wd_status st = wd__lexicon_collect(lx, s, in);
    if (st != WD_OK || !s->n_occ) return st;
    if (s->n_safe) {
        size_t w = 0;
        for (size_t i = 0; i < s->n_occ; i++) {
            bool masked = false;
            const wd__lex_occ *o = &s->occ[i];
            for (size_t j = 0; j < s->n_safe && !masked; j++) {
                const wd__lex_occ *m = &s->safe[j];
                if (m->term == TERM_SAFE) masked = m->a <= o->a && o->b <= m->b;
                else if (wd__lexicon_is_negate(m->term))
                    masked = m->w1 <= o->w0 && o->w0 - m->w1 <= wd__lexicon_negate_window(m->term);
                else if (m->term == TERM_MENTION) masked = m->w1 == o->w0;
                else masked = m->sent == o->sent; /* @refusal, output role only */
            }
            if (!masked) s->occ[w++] = s->occ[i];
        }
        s->n_occ = w;
    }
    if ((st = wd__lexicon_fired_reset(lx, s)) != WD_OK) return st;
    for (size_t i = 0; i < s->n_occ; i++) {
        const wd__lex_occ *o0 = &s->occ[i];
        for (uint32_t ri = lx->first_start[o0->term]; ri < lx->first_start[o0->term + 1]; ri++) {
            uint32_t r_id = lx->first_rules[ri];
            if (s->fired[r_id]) continue;
            const wd__lex_rule *r = &lx->rules[r_id];
            const wd__lex_occ *prev = o0;
            bool ok = true;
            for (uint32_t ti = 1; ti < r->n_terms && ok; ti++) {
                const wd__lex_occ *best = NULL;
                for (size_t j = 0; j < s->n_occ; j++) {
                    const wd__lex_occ *o = &s->occ[j];
                    if (o->term != r->term[ti] || o->w0 < prev->w1 || o->w0 - prev->w1 > r->gap[ti]) continue;
                    if (!best || o->w0 < best->w0) best = o;
                }
                ok = best != NULL;
                if (ok) prev = best;
            }
            if (!ok) continue;
            s->fired[r_id] = 1;
            if ((st = wd__lexicon_fire(r, o0, prev, in, res)) != WD_OK) return st;
        }
    }
    /* the complete search, for the rules of three terms or more left: every
     * occurrence of each term, in (first word, index) order, with the
     * reached link before it that ends last (later in its list on ties) */
    size_t cap = s->n_occ * MAX_RULE_TERMS;
    size_t *occ_of = malloc(cap * sizeof *occ_of), *back = malloc(cap * sizeof *back);
    if (!occ_of || !back) {
        free(occ_of), free(back);
        return WD_ERR_NOMEM;
    }
    for (uint32_t r_id = 0; r_id < lx->n_rules && st == WD_OK; r_id++) {
        const wd__lex_rule *r = &lx->rules[r_id];
        if (s->fired[r_id] || r->n_terms < 3) continue;
        size_t n = 0, p0 = 0, p1 = 0;
        bool ok = true;
        for (uint32_t ti = 0; ti < r->n_terms && ok; ti++) {
            size_t here = n;
            for (size_t j = 0; j < s->n_occ; j++) /* this term's occurrences, insertion-sorted */
                if (s->occ[j].term == r->term[ti]) {
                    size_t k = n++;
                    while (k > here && s->occ[occ_of[k - 1]].w0 > s->occ[j].w0) occ_of[k] = occ_of[k - 1], k--;
                    occ_of[k] = j;
                }
            size_t w = here;
            for (size_t k = here; k < n; k++) {
                const wd__lex_occ *o = &s->occ[occ_of[k]];
                size_t best = SIZE_MAX;
                for (size_t pe = p0; pe < p1 && ti; pe++) {
                    const wd__lex_occ *p = &s->occ[occ_of[pe]];
                    if (p->w1 > o->w0 || o->w0 - p->w1 > r->gap[ti]) continue;
                    if (best == SIZE_MAX || p->w1 >= s->occ[occ_of[best]].w1) best = pe;
                }
                if (ti && best == SIZE_MAX) continue;
                occ_of[w] = occ_of[k];
                back[w++] = ti ? best : SIZE_MAX;
            }
            n = w;
            ok = n > here;
            p0 = here, p1 = n;
        }
        if (!ok) continue;
        size_t e = p0;
        const wd__lex_occ *last = &s->occ[occ_of[e]];
        while (back[e] != SIZE_MAX) e = back[e];
        s->fired[r_id] = 1;
        st = wd__lexicon_fire(r, &s->occ[occ_of[e]], last, in, res);
    }
    free(occ_of), free(back);
    return st;
}
