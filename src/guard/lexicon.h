/*
 * guard/lexicon.h - phrase lexicons matched all at once (Aho-Corasick) on
 * the normalised text, word-boundary aware, with rules that combine terms
 * by proximity ("an instruction verb within 4 words before an explosive").
 *
 * Lexicon file format (lexicons/NAME.lex, and user files), one statement per
 * line, '#' starts a comment, a line starting with whitespace or '|'
 * continues the previous one:
 *
 *   @set NAME: phrase | phrase | prefix* | ...
 *       a term: any of the phrases. "prefix*" matches words that start
 *       with prefix ("explosiv*" = explosive, explosives, ...).
 *   @safe: phrase | phrase | ...
 *       benign phrases: a term match lying inside one of them is ignored
 *       ("bath bomb", "kill the process", "bomb calorimeter").
 *   @negate: phrase | phrase | ...
 *       protective context: a term starting at most 3 words after one of
 *       these is ignored ("how to PREVENT money laundering", "DETECT malware").
 *   @negate ~N: phrase | phrase | ...
 *       the same with at most N words (0..3) between the phrase and the term
 *       ("WHAT IS a botnet" with ~1, not "what is the most painless way to").
 *   @refusal: phrase | phrase | ...
 *       on the output role only (a model's answer): a term whose first word
 *       lies in a sentence holding one of these is ignored ("I CANNOT provide
 *       guidance on making a bomb"). A sentence ends at '.', '!' or '?'
 *       followed by a non-word byte or the end, or at a newline.
 *   @mention: phrase | phrase | ...
 *       use and mention: a term whose first word comes right after one of
 *       these is named, not used, and is ignored ("is THE TERM 'wank'
 *       offensive?", "the origin of THE SLUR ..."; quotes are not words).
 *   rule ID CATS SCORE: TERM [~N] TERM [~N] TERM ...
 *       fires with SCORE (0..1) for the categories CATS (comma-separated,
 *       S1..S14, pii, secrets, prompt_injection, profanity) when the terms
 *       occur in this order, each starting at most N words after the
 *       previous one ends (no ~N: adjacent). TERM is {NAME} (a set) or a
 *       phrase in double quotes.
 *
 * Phrases are normalised exactly like the text (so "Bomb" and "b0mb" are
 * the same phrase); any run of spaces or punctuation in a phrase or in the
 * text is one word break.
 */
#ifndef WD_GUARD_LEXICON_H
#define WD_GUARD_LEXICON_H

#include "guard/scanner.h"

typedef struct wd__lexicon wd__lexicon;

/* Builds an empty lexicon; add sources, then compile. */
wd__lexicon *wd__lexicon_new(void);
void wd__lexicon_free(wd__lexicon *lx);

/* Adds statements from text (len bytes); name is used in messages
 * ("name:LINE: reason"). */
wd_status wd__lexicon_add(wd__lexicon *lx, const char *text, size_t len, const char *name, wd__err *err);

/* Adds one single-term rule per non-empty, non-comment line of a plain
 * list file: each line is a phrase scored `score` for categories `cats`. */
wd_status wd__lexicon_add_list(wd__lexicon *lx, const char *text, size_t len, const char *name,
                               wd_catmask cats, float score, wd__err *err);

/* Builds the automaton. After this, no more adds. */
wd_status wd__lexicon_compile(wd__lexicon *lx, wd__err *err);

size_t wd__lexicon_n_rules(const wd__lexicon *lx);
size_t wd__lexicon_n_phrases(const wd__lexicon *lx);

/* Per-thread work space for wd__lexicon_scan. */
typedef struct wd__lexicon_scratch wd__lexicon_scratch;
wd__lexicon_scratch *wd__lexicon_scratch_new(void);
void wd__lexicon_scratch_free(wd__lexicon_scratch *s);

/* Matches in->norm and appends a hit for every rule that fires (offsets in
 * the original text). rule ids are owned by the lexicon. n log n in the
 * text; polls in->stop (WD_ERR_TIMEOUT / WD_ERR_CANCELLED). */
wd_status wd__lexicon_scan(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd__scan_input *in,
                           wd__scan_result *res);

/* The same result by the quadratic matcher wd__lexicon_scan replaced: the
 * oracle its tests compare with. */
wd_status wd__lexicon_scan_naive(const wd__lexicon *lx, wd__lexicon_scratch *s, const wd__scan_input *in,
                                 wd__scan_result *res);

/* The embedded lexicon named name ("harm", "injection", "profanity"), or
 * NULL. *len gets its size. */
const char *wd__lexicon_builtin(const char *name, size_t *len);

#endif
