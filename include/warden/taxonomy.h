/*
 * warden/taxonomy.h - the canonical hazard categories and the tables that
 * map other taxonomies onto them.
 *
 * Canonical list: the MLCommons / Llama Guard 3 hazards S1-S14, plus four
 * of warden's own (pii, secrets, prompt_injection, profanity). A set of
 * categories is a bit mask (bit i = category i), so a foreign code that
 * covers several canonical ones (OpenAI "H2" = hate + violence) maps to a
 * mask with several bits.
 */
#ifndef WARDEN_TAXONOMY_H
#define WARDEN_TAXONOMY_H

#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_category {
    WD_CATEGORY_S1 = 0,  /* violent crimes                */
    WD_CATEGORY_S2,      /* non-violent crimes            */
    WD_CATEGORY_S3,      /* sex-related crimes            */
    WD_CATEGORY_S4,      /* child sexual exploitation     */
    WD_CATEGORY_S5,      /* defamation                    */
    WD_CATEGORY_S6,      /* specialized advice            */
    WD_CATEGORY_S7,      /* privacy                       */
    WD_CATEGORY_S8,      /* intellectual property         */
    WD_CATEGORY_S9,      /* indiscriminate weapons        */
    WD_CATEGORY_S10,     /* hate                          */
    WD_CATEGORY_S11,     /* suicide and self-harm         */
    WD_CATEGORY_S12,     /* sexual content                */
    WD_CATEGORY_S13,     /* elections                     */
    WD_CATEGORY_S14,     /* code interpreter abuse        */
    WD_CATEGORY_PII,
    WD_CATEGORY_SECRETS,
    WD_CATEGORY_PROMPT_INJECTION,
    WD_CATEGORY_PROFANITY,
    WD_CATEGORY_COUNT
} wd_category;

typedef uint32_t wd_catmask;
#define WD_CATMASK(c) ((wd_catmask)1u << (c))
/* The hazards S1-S14 (what "harmful" means for content). */
#define WD_CATMASK_HAZARDS (((wd_catmask)1u << (WD_CATEGORY_S14 + 1)) - 1u)

/* Short id: "S1".."S14", "pii", "secrets", "prompt_injection", "profanity".
 * Static string; NULL for an out-of-range value. */
const char *wd_category_id(wd_category c);
/* Human name: "Violent Crimes", ..., "Personal Data", ... Static; NULL if out of range. */
const char *wd_category_name(wd_category c);
/* Snake-case key: "violent_crimes", ..., "pii". Static; NULL if out of range. */
const char *wd_category_key(wd_category c);

/* Parses a canonical category given by id ("S9", "s9"), key
 * ("indiscriminate_weapons") or name (case-insensitive). */
wd_status wd_category_parse(const char *s, wd_category *out);

/* Maps a code of a foreign taxonomy to canonical categories.
 *   scheme "openai":       S H V HR SH S3 H2 V2 (moderation dataset codes),
 *                          and the API names ("hate/threatening", ...)
 *   scheme "ailuminate":   cse dfm hte ipv iwp ncr prv src ssh sxc_prn vcr spc_*
 *   scheme "llama2":       illicit_criminal, hateful_harmful, unqualified_advice
 *   scheme "strongreject": the StrongREJECT category names
 *   scheme "llama-guard":  S1..S14 (Llama Guard 3 / 4 answers)
 *   scheme "shieldgemma":  Dangerous Content, Harassment, Hate Speech,
 *                          Sexually Explicit Information (and the policy
 *                          names dangerous, hate, sexual)
 *   scheme "granite-guardian": harm social_bias jailbreak violence profanity
 *                          sexual_content unethical_behavior
 *   scheme "qwen3guard":   Violent, Non-violent Illegal Acts, Sexual Content or
 *                          Sexual Acts, PII, Suicide & Self-Harm, Unethical
 *                          Acts, Politically Sensitive Topics, Copyright
 *                          Violation, Jailbreak
 *   scheme "wildguard":    harmful, harmful request, harmful response
 *   scheme "prompt-guard": INJECTION JAILBREAK MALICIOUS
 *   scheme "canonical":    anything wd_category_parse accepts
 * Codes are case-insensitive. Returns WD_ERR_NOT_FOUND (with a message
 * naming the scheme and the code) for an unknown scheme or code. */
wd_status wd_taxonomy_map(const char *scheme, const char *code, wd_catmask *out);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_TAXONOMY_H */
