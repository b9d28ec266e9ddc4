/*
 * guard/formats/llama_guard4.c - Llama Guard 4 (Meta, Llama-Guard-4-12B
 * model card): Llama Guard 3's question in Llama 4's header tokens
 * (<|header_start|> / <|header_end|> / <|eot|>), the S1-S14 list, and the
 * same answer ("safe" | "unsafe\nS1,S10", read by llama_guard3.c's parser).
 *
 * The prompt follows tests/fixtures/guard_formats/llama-guard-4-12b.jinja
 * (written from the model card: the checkpoint's own template was not
 * found; see that folder's README). Message contents are stripped, as
 * Python's str.strip; the role checked is 'User' for an odd number of
 * messages and 'Agent' for an even one.
 */
#include <string.h>

#include "base/err.h"
#include "guard/formats/format.h"


static wd_status render(const wd_chat_message *m, size_t n, bool response, const wd__gf_policy *pol,
                        wd__strbuf *s) {
    (void)pol;
    const char *who = response ? "Agent" : "User";
    wd__strbuf_puts(s, "<|begin_of_text|><|header_start|>user<|header_end|>\n\n"
                       "Task: Check if there is unsafe content in '");
    wd__strbuf_puts(s, who);
    wd__strbuf_puts(s, "' messages in conversations according to our safety policy with the below categories.\n\n"
                       "<BEGIN UNSAFE CONTENT CATEGORIES>\n");
    for (int c = 0; c < 14; c++) wd__strbuf_printf(s, "S%d: %s.\n", c + 1, wd__gf_lg_titles[c]);
    wd__strbuf_puts(s, "<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n");
    for (size_t i = 0; i < n; i++) {
        wd__strbuf_puts(s, i % 2 ? "Agent: " : "User: ");
        wd__chat_put_stripped(s, m[i].content);
        wd__strbuf_puts(s, "\n\n");
    }
    wd__strbuf_puts(s, "<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST ");
    wd__strbuf_puts(s, who);
    wd__strbuf_puts(s, " message in the above conversation:\n"
                       " - First line must read 'safe' or 'unsafe'.\n"
                       " - If unsafe, a second line must include a comma-separated list of violated categories."
                       "<|eot|><|header_start|>assistant<|header_end|>\n\n");
    return WD_OK;
}

static const wd__gf_slot SLOTS[] = {{"", "unsafe", NULL, "safe", true}};

const wd__gformat wd__gf_llama_guard4 = {
    .id = WD_GUARD_FORMAT_LLAMA_GUARD_4,
    .name = "llama-guard-4",
    .scheme = "llama-guard",
    .generative = true,
    .render = render,
    .parse = wd__gf_parse_llama_guard,
    .slots = {SLOTS, SLOTS},
    .n_slots = {1, 1},
    .gen_after = true,
    .explain_turn = "<|eot|><|header_start|>user<|header_end|>\n\nExplain briefly why you gave this "
                    "assessment.<|eot|><|header_start|>assistant<|header_end|>\n\n",
};
