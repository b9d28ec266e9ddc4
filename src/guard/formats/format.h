/*
 * guard/formats/format.h - one guard format as the judge and the public
 * functions (warden/guard_format.h) see it: its renderer, its parser, and
 * how its answer is read off the logits. One file per format beside this
 * one (llama_guard3.c, llama_guard4.c, shieldgemma.c, granite_guardian.c,
 * qwen3guard.c, wildguard.c, prompt_guard.c); format.c holds the table,
 * names, detection and the helpers they share.
 *
 * Reading an answer (guard/format_judge.c): the verdict of a generative
 * format is one word written at a known place. Each role has a script of
 * slots; for each slot the judge feeds `lead` (text the model writes
 * before the word, e.g. "Safety:" or "Harmful request:"), reads the
 * next-token distribution over the words' tokens and feeds the likelier
 * word. The judged slot's
 *
 *     p(unsafe) = (m(pos) + m(mid)) / (m(pos) + m(mid) + m(neg))
 *
 * where m(w) is the softmax mass of the tokens spelling word w (see
 * format_judge.c). After the script, formats with gen_after generate the
 * rest of the answer greedily (the category line) and parse it.
 */
#ifndef WD_GUARD_FORMATS_FORMAT_H
#define WD_GUARD_FORMATS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"
#include "text/tok_internal.h" /* wd__chat_put_stripped: Python's str.strip() */
#include "warden/guard_format.h"

typedef struct wd__gf_slot {
    const char *lead;            /* fed before the word ("" for none)              */
    const char *pos, *mid, *neg; /* the words; mid may be NULL (qwen3guard's       */
                                 /* Controversial, counted as unsafe: strict mode) */
    bool        pos_prefix;      /* pos also matches tokens that start with it     */
} wd__gf_slot;

typedef struct wd__gf_policy {
    const char *name;     /* the policy's name in a policy file ("hate")          */
    const char *text[2];  /* what the prompt says, for a prompt / for a response  */
    const char *cats;     /* the native name mapped through the format's scheme   */
} wd__gf_policy;

typedef struct wd__gformat {
    wd_guard_format id;
    const char     *name;
    const char     *scheme;   /* wd_taxonomy_map scheme of its categories */
    bool            generative;
    /* the prompt for msgs[0..n) (validated: alternating from "user");
     * response: the last message is the assistant's; policy: an index
     * into policies (ignored without) */
    wd_status (*render)(const wd_chat_message *m, size_t n, bool response, const wd__gf_policy *policy,
                        wd__strbuf *s);
    wd_status (*parse)(const char *text, wd_role role, wd_guard_answer *a);
    const wd__gf_policy *policies;
    const char *const   *policy_names; /* policies[i].name, for wd_guard_format_policies */
    size_t               n_policies, n_default_policies; /* the first n_default are the default set */
    const wd__gf_slot   *slots[2];   /* per wd_role */
    size_t               n_slots[2];
    size_t               score_slot[2];
    bool                 gen_after;  /* generate the rest (categories) after the script */
    /* the follow-up turn that asks for the rationale, written after the
     * answer ("" = the model goes on writing: the prompt asked for it) */
    const char          *explain_turn;
} wd__gformat;

/* The format's entry; NULL for AUTO / out of range. */
const wd__gformat *wd__gformat_get(wd_guard_format f);

/* The entries, each defined in its own file. */
extern const wd__gformat wd__gf_llama_guard3, wd__gf_llama_guard4, wd__gf_shieldgemma,
    wd__gf_granite_guardian, wd__gf_qwen3guard, wd__gf_wildguard, wd__gf_prompt_guard,
    wd__gf_seq_classifier;

/* Llama Guard's 14 hazard titles as its prompts list them ("Violent Crimes"). */
extern const char *const wd__gf_lg_titles[14];

/* Llama Guard 3 / 4's answer: "safe" | "unsafe" + S-codes (llama_guard3.c). */
wd_status wd__gf_parse_llama_guard(const char *text, wd_role role, wd_guard_answer *a);

/* ==== helpers the parsers share (format.c) ==== */

/* Adds a native category of text[start..end) mapped through scheme (its
 * name is that text); unknown names are skipped. */
void wd__gf_add_cat(wd_guard_answer *a, const char *scheme, const char *text, size_t start, size_t end);
/* The first occurrence of key in text, case-insensitive; NULL if none. */
const char *wd__gf_find(const char *text, const char *key);
/* After p (spaces skipped): 1 for "yes", 0 for "no" (case-insensitive, a
 * whole word), -1 otherwise; *end (may be NULL) past the word. */
int wd__gf_yes_no(const char *p, const char **end);
/* The parser of the formats that answer "Yes" / "No" as the first word
 * (after one newline): Yes -> unsafe, No -> safe, else no verdict. */
wd_status wd__gf_parse_yes_no(const char *text, wd_role role, wd_guard_answer *a);
/* Empties a. */
void wd__gf_answer_clear(wd_guard_answer *a);

#endif
