/*
 * warden/attack.h - deterministic text transforms that try to slip a
 * harmful request past a guard (robustness evaluation, `warden attack`,
 * `warden eval --attack`, `warden redteam --attack`).
 *
 * Every transform is a pure function of (transform, text, params): the
 * random choices come from a generator seeded with a hash of params.seed,
 * the transform and the text, so the same seed gives the same output for
 * the same prompt whatever else is in the file and in whatever order.
 *
 *   name            what it does                                          rate / n_tokens
 *   typo            one of the four typo kinds below per chosen word       rate: words (0.15)
 *   typo-swap       swaps two adjacent letters inside a word
 *   typo-drop       deletes a letter
 *   typo-insert     inserts a random letter
 *   typo-keyboard   replaces a letter by a QWERTY neighbour
 *   homoglyph       Latin letters -> Cyrillic/Greek look-alikes            rate: letters (0.5)
 *   leet            a->4 e->3 i->1 o->0 s->5 t->7 g->9 b->8               rate: letters (0.7)
 *   zero-width      U+200B/200C/200D/2060/FEFF between letters of words    rate: gaps (0.5)
 *   invisible       other invisible format characters (soft hyphen, U+180E,
 *                   U+2061-2064, tag characters U+E0020-E007E) likewise    rate: gaps (0.5)
 *   base64 / hex / rot13   the encoded request after an instruction to decode and answer it
 *   template        a jailbreak template with the request in its slot
 *                   ("{prompt}" or "[INSERT PROMPT HERE]"; a template with
 *                   no slot gets the request appended after a blank line)
 *   suffix          d random words appended (an adversarial suffix)        n_tokens: d (20)
 *   suffix-chars    d random printable-ASCII tokens appended
 *   insertion       d random words inserted together at a random word gap
 *   insertion-chars d random printable tokens likewise
 *   infusion        d random words scattered over random word gaps
 *   infusion-chars  d random printable tokens likewise
 *   prefix          an unrelated, harmless passage before the request
 *   split           payload splitting: the request cut at a word gap into
 *                   strings a and b, and an instruction to answer a + b
 *   rot13-bare      the request in ROT13, no instruction
 *   reverse         the request's characters in reverse order
 *   reverse-words   each word's letters reversed, the words in order
 *   reverse-instruct  the reversed request after an instruction to reverse it
 *   reverse-rlo     U+202E (right-to-left override) + the reversed request:
 *                   shown as the original, stored reversed
 *   html-entities   letters as &#NN; (space and punctuation as named
 *                   entities: &nbsp; &quest; ...)                          rate: letters (0.6)
 *   html-entities-hex  likewise with &#xHH;
 *   html-comment    <!-- --> or <!----> between letters of words           rate: gaps (0.5)
 *   hex-bare        UTF-8 bytes as space-separated hex, no instruction
 *   hex-escape      \xHH escapes after an instruction to decode them
 *   pig-latin       each word's leading consonants moved to its end + "ay"
 *                   (vowel-initial words + "way", "yay" or "hay")
 *   tag-smuggle     a harmless request followed by the request written in
 *                   Unicode tag characters (U+E0020-E007E, invisible)
 *
 * Texts are UTF-8; character-level transforms only touch ASCII letters
 * and never split a multi-byte sequence.
 */
#ifndef WARDEN_ATTACK_H
#define WARDEN_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_attack_kind {
    WD_ATTACK_KIND_TYPO = 0,
    WD_ATTACK_KIND_TYPO_SWAP,
    WD_ATTACK_KIND_TYPO_DROP,
    WD_ATTACK_KIND_TYPO_INSERT,
    WD_ATTACK_KIND_TYPO_KEYBOARD,
    WD_ATTACK_KIND_HOMOGLYPH,
    WD_ATTACK_KIND_LEET,
    WD_ATTACK_KIND_ZERO_WIDTH,
    WD_ATTACK_KIND_INVISIBLE,
    WD_ATTACK_KIND_BASE64,
    WD_ATTACK_KIND_HEX,
    WD_ATTACK_KIND_ROT13,
    WD_ATTACK_KIND_TEMPLATE,
    WD_ATTACK_KIND_SUFFIX,
    WD_ATTACK_KIND_SUFFIX_CHARS,
    WD_ATTACK_KIND_INSERTION,
    WD_ATTACK_KIND_INSERTION_CHARS,
    WD_ATTACK_KIND_INFUSION,
    WD_ATTACK_KIND_INFUSION_CHARS,
    WD_ATTACK_KIND_PREFIX,
    WD_ATTACK_KIND_SPLIT,
    WD_ATTACK_KIND_ROT13_BARE,
    WD_ATTACK_KIND_REVERSE,
    WD_ATTACK_KIND_REVERSE_WORDS,
    WD_ATTACK_KIND_REVERSE_INSTRUCT,
    WD_ATTACK_KIND_REVERSE_RLO,
    WD_ATTACK_KIND_HTML_ENTITIES,
    WD_ATTACK_KIND_HTML_ENTITIES_HEX,
    WD_ATTACK_KIND_HTML_COMMENT,
    WD_ATTACK_KIND_HEX_BARE,
    WD_ATTACK_KIND_HEX_ESCAPE,
    WD_ATTACK_KIND_PIG_LATIN,
    WD_ATTACK_KIND_TAG_SMUGGLE,
    WD_ATTACK_KIND_COUNT
} wd_attack_kind;

typedef struct wd_attack_params {
    uint64_t seed;      /* default 0                                              */
    double   rate;      /* < 0 (default): the transform's own rate (table above)   */
    int      n_tokens;  /* d for suffix/insertion/infusion; <= 0: 20               */
    /* jailbreak templates for WD_ATTACK_KIND_TEMPLATE (not copied; must outlive calls) */
    const char *const *templates;
    size_t             n_templates;
    long               template_index; /* < 0 (default): chosen by the generator   */
} wd_attack_params;

wd_attack_params wd_attack_params_default(void);

/* "typo-swap", ... (the table above). Static; NULL when out of range. */
const char *wd_attack_name(wd_attack_kind k);

/* Parses one name. WD_ERR_NOT_FOUND (message lists the names) if unknown. */
wd_status wd_attack_parse(const char *name, wd_attack_kind *out);

/* Parses a comma-separated list ("typo,leet,base64"; "all" = every transform
 * except template, which needs templates). Writes at most max kinds to
 * kinds and their number to *n. */
wd_status wd_attack_parse_list(const char *list, wd_attack_kind *kinds, size_t max, size_t *n);

/* Applies one transform. *out is a malloc'd NUL-terminated string the
 * caller frees; NULL on failure (WD_ERR_INVALID_ARG for NULL text or a
 * template attack without templates, WD_ERR_NOMEM). */
wd_status wd_attack_apply(wd_attack_kind k, const char *text, const wd_attack_params *params,
                          char **out);

/* Loads jailbreak templates from a dataset file (any format the dataset
 * reader takes; field = the column or JSON path holding the template, NULL
 * for the reader's default). Keeps only templates with a slot when
 * require_slot is non-zero. *out is a malloc'd array of malloc'd strings;
 * release it with wd_attack_templates_free(*out, *n). */
wd_status wd_attack_templates_load(const char *path, const char *field, int require_slot,
                                   char ***out, size_t *n);
void      wd_attack_templates_free(char **templates, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_ATTACK_H */
