/*
 * base/taxonomy.c - canonical categories and foreign-taxonomy tables.
 *
 * S1-S14 follow the MLCommons hazard taxonomy as used by Llama Guard 3.
 * The foreign tables are judgement calls where taxonomies do not line up;
 * each such call is commented. Adding a scheme = adding a table below.
 */
#include "warden/taxonomy.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

static const struct {
    const char *id, *key, *name;
} cats[WD_CATEGORY_COUNT] = {
    [WD_CATEGORY_S1] = {"S1", "violent_crimes", "Violent Crimes"},
    [WD_CATEGORY_S2] = {"S2", "non_violent_crimes", "Non-Violent Crimes"},
    [WD_CATEGORY_S3] = {"S3", "sex_related_crimes", "Sex-Related Crimes"},
    [WD_CATEGORY_S4] = {"S4", "child_sexual_exploitation", "Child Sexual Exploitation"},
    [WD_CATEGORY_S5] = {"S5", "defamation", "Defamation"},
    [WD_CATEGORY_S6] = {"S6", "specialized_advice", "Specialized Advice"},
    [WD_CATEGORY_S7] = {"S7", "privacy", "Privacy"},
    [WD_CATEGORY_S8] = {"S8", "intellectual_property", "Intellectual Property"},
    [WD_CATEGORY_S9] = {"S9", "indiscriminate_weapons", "Indiscriminate Weapons"},
    [WD_CATEGORY_S10] = {"S10", "hate", "Hate"},
    [WD_CATEGORY_S11] = {"S11", "suicide_self_harm", "Suicide & Self-Harm"},
    [WD_CATEGORY_S12] = {"S12", "sexual_content", "Sexual Content"},
    [WD_CATEGORY_S13] = {"S13", "elections", "Elections"},
    [WD_CATEGORY_S14] = {"S14", "code_interpreter_abuse", "Code Interpreter Abuse"},
    [WD_CATEGORY_PII] = {"pii", "pii", "Personal Data"},
    [WD_CATEGORY_SECRETS] = {"secrets", "secrets", "Secrets and Credentials"},
    [WD_CATEGORY_PROMPT_INJECTION] = {"prompt_injection", "prompt_injection", "Prompt Injection"},
    [WD_CATEGORY_PROFANITY] = {"profanity", "profanity", "Profanity"},
};

const char *wd_category_id(wd_category c) {
    return (unsigned)c < WD_CATEGORY_COUNT ? cats[c].id : NULL;
}
const char *wd_category_name(wd_category c) {
    return (unsigned)c < WD_CATEGORY_COUNT ? cats[c].name : NULL;
}
const char *wd_category_key(wd_category c) {
    return (unsigned)c < WD_CATEGORY_COUNT ? cats[c].key : NULL;
}

wd_status wd_category_parse(const char *s, wd_category *out) {
    if (!s) return wd__fail(WD_ERR_INVALID_ARG, "category: NULL");
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        if (!strcasecmp(s, cats[c].id) || !strcasecmp(s, cats[c].key) ||
            !strcasecmp(s, cats[c].name)) {
            *out = (wd_category)c;
            return WD_OK;
        }
    }
    return wd__fail(WD_ERR_NOT_FOUND, "unknown category '%s' (expected S1..S14, pii, secrets, "
                    "prompt_injection or profanity)", s);
}

#define M(c) WD_CATMASK(WD_CATEGORY_##c)

typedef struct {
    const char *code;
    wd_catmask  mask;
} entry;

/* OpenAI moderation: the dataset codes and the API category names. There is
 * no canonical harassment hazard: harassment goes with hate (S10), and its
 * threatening form with violent crimes too. */
static const entry openai[] = {
    {"S", M(S12)},        {"sexual", M(S12)},
    {"H", M(S10)},        {"hate", M(S10)},
    {"V", M(S1)},         {"violence", M(S1)},
    {"HR", M(S10)},       {"harassment", M(S10)},
    {"SH", M(S11)},       {"self-harm", M(S11)},
    {"S3", M(S4)},        {"sexual/minors", M(S4)},
    {"H2", M(S10) | M(S1)}, {"hate/threatening", M(S10) | M(S1)},
    {"V2", M(S1)},        {"violence/graphic", M(S1)},
    {"harassment/threatening", M(S10) | M(S1)},
    {"self-harm/intent", M(S11)}, {"self-harm/instructions", M(S11)},
    {"illicit", M(S2)},   {"illicit/violent", M(S1) | M(S9)},
    {NULL, 0},
};

/* AILuminate v1.0 hazard codes. Specialized advice (spc_*) is S6 except
 * election advice, which has its own hazard S13. */
static const entry ailuminate[] = {
    {"vcr", M(S1)}, {"ncr", M(S2)}, {"src", M(S3)},  {"cse", M(S4)},
    {"dfm", M(S5)}, {"prv", M(S7)}, {"ipv", M(S8)},  {"iwp", M(S9)},
    {"hte", M(S10)}, {"ssh", M(S11)}, {"sxc_prn", M(S12)}, {"sxc", M(S12)},
    {"spc_ele", M(S13)}, {"spc_fin", M(S6)}, {"spc_hlt", M(S6)}, {"spc_lgl", M(S6)},
    {"spc", M(S6)},
    {NULL, 0},
};

/* The three risk groups of the Llama 2 paper. */
static const entry llama2[] = {
    {"illicit_criminal", M(S1) | M(S2) | M(S3) | M(S4) | M(S9)},
    {"illicit and criminal activities", M(S1) | M(S2) | M(S3) | M(S4) | M(S9)},
    {"hateful_harmful", M(S5) | M(S10) | M(S11)},
    {"hateful and harmful activities", M(S5) | M(S10) | M(S11)},
    {"unqualified_advice", M(S6)},
    {"unqualified advice", M(S6)},
    {NULL, 0},
};

/* StrongREJECT categories. Disinformation has no hazard of its own: it is
 * scored as defamation (false statements about people) and elections. */
static const entry strongreject[] = {
    {"Disinformation and deception", M(S5) | M(S13)},
    {"Hate, harassment and discrimination", M(S10)},
    {"Illegal goods and services", M(S2)},
    {"Non-violent crimes", M(S2)},
    {"Sexual content", M(S12)},
    {"Violence", M(S1)},
    {NULL, 0},
};

/* ==== the guard checkpoints' own categories (warden/guard_format.h) ==== */

/* Llama Guard 3 / 4: the S-codes are warden's (same MLCommons hazards). */
static const entry llama_guard[] = {
    {"S1", M(S1)}, {"S2", M(S2)}, {"S3", M(S3)}, {"S4", M(S4)}, {"S5", M(S5)}, {"S6", M(S6)}, {"S7", M(S7)},
    {"S8", M(S8)}, {"S9", M(S9)}, {"S10", M(S10)}, {"S11", M(S11)}, {"S12", M(S12)}, {"S13", M(S13)},
    {"S14", M(S14)}, {NULL, 0},
};

/* ShieldGemma's four harm types. Dangerous content is harm to oneself or
 * others (weapons, explosives, terrorism, suicide instructions): violent
 * crimes, indiscriminate weapons and self-harm. Harassment has no hazard
 * of its own: it goes with hate, as for OpenAI's codes. */
static const entry shieldgemma[] = {
    {"Dangerous Content", M(S1) | M(S9) | M(S11)}, {"dangerous", M(S1) | M(S9) | M(S11)},
    {"Harassment", M(S10)},                        {"Hate Speech", M(S10)},
    {"hate", M(S10)},                              {"Sexually Explicit Information", M(S12)},
    {"sexual", M(S12)},                            {NULL, 0},
};

/* Granite Guardian's harm risks. "harm" is harm by common sense: every
 * hazard. Social bias is hate; unethical behaviour (fraud, theft, abuse
 * of power) non-violent crime; a jailbreak is a prompt injection. */
static const entry granite_guardian[] = {
    {"harm", WD_CATMASK_HAZARDS}, {"social_bias", M(S10)},       {"jailbreak", M(PROMPT_INJECTION)},
    {"violence", M(S1)},          {"profanity", M(PROFANITY)},   {"sexual_content", M(S12)},
    {"unethical_behavior", M(S2)}, {NULL, 0},
};

/* Qwen3Guard's nine categories. PII is both the privacy hazard and
 * warden's pii category; unethical acts are read as non-violent crime;
 * politically sensitive topics as elections. */
static const entry qwen3guard[] = {
    {"Violent", M(S1)},
    {"Non-violent Illegal Acts", M(S2)},
    {"Sexual Content or Sexual Acts", M(S12)},
    {"PII", M(S7) | M(PII)},
    {"Suicide & Self-Harm", M(S11)},
    {"Unethical Acts", M(S2)},
    {"Politically Sensitive Topics", M(S13)},
    {"Copyright Violation", M(S8)},
    {"Jailbreak", M(PROMPT_INJECTION)},
    {NULL, 0},
};

/* WildGuard names no categories: a harmful request or response is every hazard. */
static const entry wildguard[] = {
    {"harmful", WD_CATMASK_HAZARDS}, {"harmful request", WD_CATMASK_HAZARDS},
    {"harmful response", WD_CATMASK_HAZARDS}, {NULL, 0},
};

/* Prompt Guard v1 / v2 labels. */
static const entry prompt_guard[] = {
    {"INJECTION", M(PROMPT_INJECTION)}, {"JAILBREAK", M(PROMPT_INJECTION)},
    {"MALICIOUS", M(PROMPT_INJECTION)}, {NULL, 0},
};

static wd_status lookup(const entry *t, const char *scheme, const char *code, wd_catmask *out) {
    for (; t->code; t++) {
        if (!strcasecmp(t->code, code)) {
            *out = t->mask;
            return WD_OK;
        }
    }
    /* AILuminate has open-ended spc_* codes. */
    if (!strcasecmp(scheme, "ailuminate") && !strncasecmp(code, "spc_", 4)) {
        *out = M(S6);
        return WD_OK;
    }
    return wd__fail(WD_ERR_NOT_FOUND, "taxonomy '%s': unknown code '%s'", scheme, code);
}

wd_status wd_taxonomy_map(const char *scheme, const char *code, wd_catmask *out) {
    *out = 0;
    if (!scheme || !code) return wd__fail(WD_ERR_INVALID_ARG, "taxonomy: NULL scheme or code");
    if (!strcasecmp(scheme, "openai")) return lookup(openai, scheme, code, out);
    if (!strcasecmp(scheme, "ailuminate")) return lookup(ailuminate, scheme, code, out);
    if (!strcasecmp(scheme, "llama2")) return lookup(llama2, scheme, code, out);
    if (!strcasecmp(scheme, "strongreject")) return lookup(strongreject, scheme, code, out);
    if (!strcasecmp(scheme, "llama-guard")) return lookup(llama_guard, scheme, code, out);
    if (!strcasecmp(scheme, "shieldgemma")) return lookup(shieldgemma, scheme, code, out);
    if (!strcasecmp(scheme, "granite-guardian")) return lookup(granite_guardian, scheme, code, out);
    if (!strcasecmp(scheme, "qwen3guard")) return lookup(qwen3guard, scheme, code, out);
    if (!strcasecmp(scheme, "wildguard")) return lookup(wildguard, scheme, code, out);
    if (!strcasecmp(scheme, "prompt-guard")) return lookup(prompt_guard, scheme, code, out);
    if (!strcasecmp(scheme, "canonical")) {
        wd_category c;
        wd_status st = wd_category_parse(code, &c);
        if (st) return st;
        *out = WD_CATMASK(c);
        return WD_OK;
    }
    return wd__fail(WD_ERR_NOT_FOUND, "unknown taxonomy '%s' (expected openai, ailuminate, "
                    "llama2, strongreject, llama-guard, shieldgemma, granite-guardian, qwen3guard, "
                    "wildguard, prompt-guard or canonical)", scheme);
}
