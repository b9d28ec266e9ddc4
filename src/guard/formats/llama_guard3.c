/*
 * guard/formats/llama_guard3.c - Llama Guard 3 (Meta, Llama-Guard-3-1B /
 * 8B model cards): the S1-S14 hazard list, the conversation as "User:" /
 * "Agent:" turns, and the answer "safe" or "unsafe\nS1,S10".
 *
 * The prompt is the Llama-Guard-3-8B chat template's output, byte for byte
 * (tests/fixtures/guard_formats/llama-guard-3-8b.jinja): text/chat_template.c
 * renders the body (wd_llama_guard3_prompt); the template also writes a
 * space before <|begin_of_text|> and ends at the assistant header, where
 * the model's first token is "\n\n" -- which the answer script feeds as
 * the lead, so that the verdict word is read right after it.
 *
 * Categories: each "S<k>" code the answer names, through the "llama-guard"
 * scheme (S1-S14 are warden's own codes).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guard/formats/format.h"
#include "warden/chat.h"

const char *const wd__gf_lg_titles[14] = {
    "Violent Crimes", "Non-Violent Crimes", "Sex Crimes", "Child Exploitation", "Defamation",
    "Specialized Advice", "Privacy", "Intellectual Property", "Indiscriminate Weapons", "Hate",
    "Self-Harm", "Sexual Content", "Elections", "Code Interpreter Abuse",
};

static wd_status render(const wd_chat_message *m, size_t n, bool response, const wd__gf_policy *pol,
                        wd__strbuf *s) {
    (void)response;
    (void)pol;
    char *body = NULL;
    size_t len = 0;
    wd_status st = wd_llama_guard3_prompt(m, n, 0, &body, &len);
    if (st) return st;
    if (len >= 2 && !strcmp(body + len - 2, "\n\n")) len -= 2; /* the model writes it: the lead */
    wd__strbuf_putc(s, ' ');
    wd__strbuf_add(s, body, len);
    free(body);
    return WD_OK;
}

/* "safe" / "unsafe" as the first word, then the S-codes after "unsafe". */
wd_status wd__gf_parse_llama_guard(const char *text, wd_role role, wd_guard_answer *a) {
    (void)role;
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    if (!strncasecmp(p, "unsafe", 6)) a->verdict = WD_GUARD_VERDICT_UNSAFE, p += 6;
    else if (!strncasecmp(p, "safe", 4)) a->verdict = WD_GUARD_VERDICT_SAFE, p += 4;
    else return WD_OK;
    if (a->verdict != WD_GUARD_VERDICT_UNSAFE) return WD_OK;
    for (; *p; p++) {
        if ((*p == 'S' || *p == 's') && isdigit((unsigned char)p[1]) && (p == text || !isalnum((unsigned char)p[-1]))) {
            const char *q = p + 1;
            while (isdigit((unsigned char)*q)) q++;
            wd__gf_add_cat(a, "llama-guard", text, (size_t)(p - text), (size_t)(q - text));
            p = q - 1;
        }
    }
    return WD_OK;
}

static const wd__gf_slot SLOTS[] = {{"\n\n", "unsafe", NULL, "safe", true}};

const wd__gformat wd__gf_llama_guard3 = {
    .id = WD_GUARD_FORMAT_LLAMA_GUARD_3,
    .name = "llama-guard-3",
    .scheme = "llama-guard",
    .generative = true,
    .render = render,
    .parse = wd__gf_parse_llama_guard,
    .slots = {SLOTS, SLOTS},
    .n_slots = {1, 1},
    .gen_after = true,
    .explain_turn = "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain briefly why you gave this "
                    "assessment.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
};
