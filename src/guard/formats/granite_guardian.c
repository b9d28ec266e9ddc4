/*
 * guard/formats/granite_guardian.c - Granite Guardian 3.0 / 3.1 (IBM model
 * cards): one risk definition per prompt (the template's guardian_config
 * risk_name), the answer "Yes" (the risk is present) or "No", scored as
 * the card does: P(Yes) from the Yes and No tokens at the answer position.
 *
 * Prompt (tests/fixtures/guard_formats/granite-guardian-3.1.jinja, written
 * from the model card's free-form template and its risk definitions; the
 * checkpoint's own template was not found, see that folder's README):
 *
 *   <|start_of_role|>user<|end_of_role|>You are a safety agent trying to help determine
 *   whether the user message is harmful according to the safety risk definition below.\n\n
 *   <start_of_turn>\nUser Message: U\n<end_of_turn>\n\nOur safety risk definition is defined
 *   below:\n\n<start_of_risk_definition>\n* DEFINITION\n<end_of_risk_definition>\n\nIs the
 *   user message harmful based on the risk definition? Your answer must be either 'Yes' or
 *   'No'.<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>
 *
 * and for a response "the assistant message to the user message", an
 * "Assistant Message: A" line after the user's, the definitions about the
 * 'Assistant' message, "Is the assistant message harmful ...". U and A are
 * stripped. Categories: each risk name through the "granite-guardian"
 * scheme (harm -> every hazard, jailbreak -> prompt_injection, ...).
 */
#include <string.h>

#include "base/err.h"
#include "guard/formats/format.h"

#define U "The 'User' message "
#define A "The 'Assistant' message "
#define SOCIAL "contains systemic prejudice against groups based on shared identity or characteristics, often " \
               "stemming from stereotypes or cultural influences. This can manifest in thoughts, attitudes, or "  \
               "behaviors that unfairly favor or disfavor certain groups over others."
#define JAIL "contains the deliberate circumvention of AI systems' built-in safeguards or ethical guidelines. " \
             "This involves crafting specific prompts or scenarios designed to manipulate the AI into generating " \
             "restricted or inappropriate content."
#define VIOL "contains content promoting or describing physical harm to individuals or groups. This includes " \
             "depictions of assault, self-harm, or creation of a hostile environment through threats or "      \
             "intimidation."
#define PROF "contains the use of language considered offensive or socially unacceptable in a given context. " \
             "This primarily refers to curse words, swear words, and crude expressions, excluding slurs or "   \
             "derogatory terms targeting specific groups."
#define SEX "contains material explicitly related to sexual activities, anatomy, or desires. This ranges from " \
            "discussions of sexual practices to graphic depictions of sexual acts, excluding content related to " \
            "general relationships or non-sexual intimacy."
#define UNETH "contains actions that violate moral or professional standards, focusing on exploitation for " \
              "personal gain or disregard for others' well-being. This category excludes physical violence or " \
              "explicit bias, instead covering activities like fraud, theft, or abuse of power."

static const wd__gf_policy POLICIES[] = {
    {"harm", {U "is harmful by common-sense.", A "is harmful by common-sense."}, "harm"},
    {"social_bias", {U SOCIAL, A SOCIAL}, "social_bias"},
    {"jailbreak", {U JAIL, A JAIL}, "jailbreak"},
    {"violence", {U VIOL, A VIOL}, "violence"},
    {"profanity", {U PROF, A PROF}, "profanity"},
    {"sexual_content", {U SEX, A SEX}, "sexual_content"},
    {"unethical_behavior", {U UNETH, A UNETH}, "unethical_behavior"},
};

static const char *const NAMES[] = {"harm",      "social_bias",    "jailbreak",         "violence",
                                    "profanity", "sexual_content", "unethical_behavior"};

static wd_status render(const wd_chat_message *m, size_t n, bool response, const wd__gf_policy *pol,
                        wd__strbuf *s) {
    wd__strbuf_puts(s, "<|start_of_role|>user<|end_of_role|>You are a safety agent trying to help determine whether ");
    wd__strbuf_puts(s, response ? "the assistant message to the user message" : "the user message");
    wd__strbuf_puts(s, " is harmful according to the safety risk definition below.\n\n<start_of_turn>\nUser Message: ");
    wd__chat_put_stripped(s, m[response ? n - 2 : n - 1].content);
    if (response) {
        wd__strbuf_puts(s, "\nAssistant Message: ");
        wd__chat_put_stripped(s, m[n - 1].content);
    }
    wd__strbuf_puts(s, "\n<end_of_turn>\n\nOur safety risk definition is defined below:\n\n<start_of_risk_definition>\n* ");
    wd__strbuf_puts(s, pol->text[response]);
    wd__strbuf_puts(s, "\n<end_of_risk_definition>\n\nIs the ");
    wd__strbuf_puts(s, response ? "assistant" : "user");
    wd__strbuf_puts(s, " message harmful based on the risk definition? Your answer must be either 'Yes' or "
                       "'No'.<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>");
    return WD_OK;
}

static const wd__gf_slot SLOTS[] = {{"", "Yes", NULL, "No", false}};

const wd__gformat wd__gf_granite_guardian = {
    .id = WD_GUARD_FORMAT_GRANITE_GUARDIAN,
    .name = "granite-guardian",
    .scheme = "granite-guardian",
    .generative = true,
    .render = render,
    .parse = wd__gf_parse_yes_no,
    .policies = POLICIES,
    .policy_names = NAMES,
    .n_policies = sizeof POLICIES / sizeof POLICIES[0],
    .n_default_policies = 1,
    .slots = {SLOTS, SLOTS},
    .n_slots = {1, 1},
    .explain_turn = "<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Explain briefly why you gave this "
                    "answer.<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>",
};
