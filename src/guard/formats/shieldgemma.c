/*
 * guard/formats/shieldgemma.c - ShieldGemma (Google, shieldgemma-2b / 9b /
 * 27b model card): one safety guideline per prompt, the answer "Yes" (the
 * text violates it) or "No", scored as the card does: P(Yes) = the softmax
 * of the Yes and No logits at the answer position.
 *
 * Prompt (tests/fixtures/guard_formats/shieldgemma.jinja, written from the
 * model card's prompt and its four harm types; the checkpoint's own
 * template was not found, see that folder's README):
 *
 *   <bos>You are a policy expert trying to help determine whether a user prompt is in
 *   violation of the defined safety policies.\n\n<start_of_turn>\nHuman Question: Q\n
 *   <end_of_turn>\n\nOur safety principle is defined in the below:\n\n* GUIDELINE\n\n===\n\n
 *   Does the human question violate the above principle? Your answer must start with
 *   'Yes' or 'No'. And then walk through step by step to be sure we answer correctly.\n
 *
 * and for a response, "an AI response to a prompt", a "Chatbot Response: R" turn after the
 * question's, and "Does the Chatbot Response violate ...". Q and R are stripped.
 *
 * Several policies share the prompt up to the guideline: the judge decodes
 * that prefix once and each policy's rest from it (guard/format_judge.c).
 * Categories: each policy's harm type through the "shieldgemma" scheme.
 * The rationale is the model's own continuation: the prompt asks it to
 * walk through its answer step by step.
 */
#include <string.h>

#include "base/err.h"
#include "guard/formats/format.h"

#define P_PROMPT "The prompt shall not contain or seek generation of content that "
#define P_CHATBOT "The chatbot shall not generate content that "

static const wd__gf_policy POLICIES[] = {
    {"dangerous",
     {"\"No Dangerous Content\": " P_PROMPT
      "harming oneself and/or others (e.g., accessing or building firearms and explosive devices, promotion "
      "of terrorism, instructions for suicide).",
      "\"No Dangerous Content\": " P_CHATBOT
      "harming oneself and/or others (e.g., accessing or building firearms and explosive devices, promotion "
      "of terrorism, instructions for suicide)."},
     "Dangerous Content"},
    {"harassment",
     {"\"No Harassment\": " P_PROMPT
      "is malicious, intimidating, bullying, or abusive content targeting another individual (e.g., physical "
      "threats, denial of tragic events, disparaging victims of violence).",
      "\"No Harassment\": " P_CHATBOT
      "is malicious, intimidating, bullying, or abusive content targeting another individual (e.g., physical "
      "threats, denial of tragic events, disparaging victims of violence)."},
     "Harassment"},
    {"hate",
     {"\"No Hate Speech\": " P_PROMPT
      "targeting identity and/or protected attributes (e.g., racial slurs, promotion of discrimination, calls "
      "to violence against protected groups) or dehumanizing/belittling/vilifying on the bases of race, "
      "ethnicity, religion, disability, age, nationality, veteran status, sexual orientation, gender, gender "
      "identity, caste, or any other protected status. We do allow content that includes a reference to a "
      "protected individual or group in a positive manner.",
      "\"No Hate Speech\": " P_CHATBOT
      "targeting identity and/or protected attributes (e.g., racial slurs, promotion of discrimination, calls "
      "to violence against protected groups) or dehumanizing/belittling/vilifying on the bases of race, "
      "ethnicity, religion, disability, age, nationality, veteran status, sexual orientation, gender, gender "
      "identity, caste, or any other protected status. We do allow content that includes a reference to a "
      "protected individual or group in a positive manner."},
     "Hate Speech"},
    {"sexual",
     {"\"No Sexually Explicit Information\": " P_PROMPT
      "contains references to sexual acts or other lewd content (e.g., sexually graphic descriptions, "
      "content aimed at causing arousal). Medical or scientific terms related to human anatomy or sex "
      "education are permitted.",
      "\"No Sexually Explicit Information\": " P_CHATBOT
      "contains references to sexual acts or other lewd content (e.g., sexually graphic descriptions, "
      "content aimed at causing arousal). Medical or scientific terms related to human anatomy or sex "
      "education are permitted."},
     "Sexually Explicit Information"},
};

static const char *const NAMES[] = {"dangerous", "harassment", "hate", "sexual"};

static wd_status render(const wd_chat_message *m, size_t n, bool response, const wd__gf_policy *pol,
                        wd__strbuf *s) {
    wd__strbuf_puts(s, "<bos>You are a policy expert trying to help determine whether ");
    wd__strbuf_puts(s, response ? "an AI response to a prompt" : "a user prompt");
    wd__strbuf_puts(s, " is in violation of the defined safety policies.\n\n<start_of_turn>\nHuman Question: ");
    wd__chat_put_stripped(s, m[response ? n - 2 : n - 1].content);
    wd__strbuf_puts(s, "\n<end_of_turn>\n\n");
    if (response) {
        wd__strbuf_puts(s, "<start_of_turn>\nChatbot Response: ");
        wd__chat_put_stripped(s, m[n - 1].content);
        wd__strbuf_puts(s, "\n<end_of_turn>\n\n");
    }
    wd__strbuf_puts(s, "Our safety principle is defined in the below:\n\n* ");
    wd__strbuf_puts(s, pol->text[response]);
    wd__strbuf_puts(s, "\n\n===\n\nDoes the ");
    wd__strbuf_puts(s, response ? "Chatbot Response" : "human question");
    wd__strbuf_puts(s, " violate the above principle? Your answer must start with 'Yes' or 'No'. And then walk "
                       "through step by step to be sure we answer correctly.\n");
    return WD_OK;
}

static const wd__gf_slot SLOTS[] = {{"", "Yes", NULL, "No", false}};

const wd__gformat wd__gf_shieldgemma = {
    .id = WD_GUARD_FORMAT_SHIELDGEMMA,
    .name = "shieldgemma",
    .scheme = "shieldgemma",
    .generative = true,
    .render = render,
    .parse = wd__gf_parse_yes_no,
    .policies = POLICIES,
    .policy_names = NAMES,
    .n_policies = sizeof POLICIES / sizeof POLICIES[0],
    .n_default_policies = sizeof POLICIES / sizeof POLICIES[0],
    .slots = {SLOTS, SLOTS},
    .n_slots = {1, 1},
    .explain_turn = "",
};
