/*
 * serve/openai.c - warden's canonical categories seen through the OpenAI
 * moderation API's 13 category names.
 *
 * This is the reverse of the "openai" table in base/taxonomy.c (which maps
 * OpenAI labels onto canonical categories for scoring datasets). It is the
 * one place the server decides what each OpenAI category means:
 *
 *   OpenAI name               canonical source        rule
 *   harassment                S10 hate                 -
 *   harassment/threatening    S10 hate AND S1 violent  min / all
 *   hate                      S10 hate                 -
 *   hate/threatening          S10 hate AND S1 violent  min / all
 *   illicit                   S1 S2 S3 S8 S9 S14       max / any
 *   illicit/violent           S1 violent, S9 weapons   max / any
 *   self-harm                 S11                      -
 *   self-harm/intent          S11                      -
 *   self-harm/instructions    S11                      -
 *   sexual                    S12 sexual, S4 minors    max / any
 *   sexual/minors             S4 child exploitation    -
 *   violence                  S1 violent crimes        -
 *   violence/graphic          S1 violent crimes        -
 *
 * "max / any": the score is the highest source score and the category is
 * flagged when any source is flagged. "min / all": both must hold (hate
 * that threatens violence). The canonical taxonomy does not separate
 * harassment from hate, self-harm intent from instructions, or graphic
 * violence from violence, so those OpenAI names repeat their parent's
 * score. Canonical categories with no OpenAI counterpart (S5 defamation,
 * S6 advice, S7 privacy, S13 elections, pii, secrets, prompt_injection,
 * profanity) are written after OpenAI's names under their own keys
 * ("defamation", "specialized_advice", "privacy", "elections", "pii",
 * "secrets", "prompt_injection", "profanity": wd__openai_uncovered), so a
 * flagged result always names a category a client can show.
 */
#include "serve/serve_internal.h"

#define M(c) WD_CATMASK(WD_CATEGORY_##c)

const wd__openai_cat wd__openai_cats[WD__OPENAI_N] = {
    {"harassment", M(S10), false},
    {"harassment/threatening", M(S10) | M(S1), true},
    {"hate", M(S10), false},
    {"hate/threatening", M(S10) | M(S1), true},
    {"illicit", M(S1) | M(S2) | M(S3) | M(S8) | M(S9) | M(S14), false},
    {"illicit/violent", M(S1) | M(S9), false},
    {"self-harm", M(S11), false},
    {"self-harm/intent", M(S11), false},
    {"self-harm/instructions", M(S11), false},
    {"sexual", M(S12) | M(S4), false},
    {"sexual/minors", M(S4), false},
    {"violence", M(S1), false},
    {"violence/graphic", M(S1), false},
};

float wd__openai_score(int k, const wd__serve_result *r) {
    const wd__openai_cat *oc = &wd__openai_cats[k];
    float acc = oc->all ? 1.0f : 0.0f;
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        if (!(oc->from & WD_CATMASK(c))) continue;
        float s = r->score[c];
        if (!(s >= 0.0f)) s = 0.0f; /* NaN and negatives count as 0 */
        if (s > 1.0f) s = 1.0f;
        if (oc->all ? s < acc : s > acc) acc = s;
    }
    return acc;
}

bool wd__openai_flagged(int k, const wd__serve_result *r) {
    const wd__openai_cat *oc = &wd__openai_cats[k];
    wd_catmask hit = r->flagged & oc->from;
    return oc->all ? hit == oc->from : hit != 0;
}

wd_catmask wd__openai_uncovered(void) {
    wd_catmask covered = 0;
    for (int k = 0; k < WD__OPENAI_N; k++) covered |= wd__openai_cats[k].from;
    return (((wd_catmask)1 << WD_CATEGORY_COUNT) - 1) & ~covered;
}
