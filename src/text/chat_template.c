/*
 * text/chat_template.c - built-in renderers for the chat templates of the
 * common model families (see warden/chat.h), so that no Jinja engine is
 * needed. Each renderer reproduces what the family's published Jinja
 * template (tokenizer_config.json `chat_template`) writes:
 *
 *   llama-2  (Llama-2-chat)  for user i: BOS "[INST] " strip(content) " [/INST]",
 *            the first user content prefixed "<<SYS>>\n" system "\n<</SYS>>\n\n";
 *            assistant: " " strip(content) " " EOS.
 *   llama-3  (Meta-Llama-3-Instruct)  BOS once, then per message
 *            "<|start_header_id|>" role "<|end_header_id|>\n\n" trim(content)
 *            "<|eot_id|>"; generation prompt = the assistant header.
 *   chatml   "<|im_start|>" role "\n" content "<|im_end|>\n"; generation
 *            prompt "<|im_start|>assistant\n"; Qwen2 adds a default system.
 *   mistral  (Mistral-Instruct v0.1)  BOS, "[INST] " content " [/INST]" for
 *            the user, content EOS for the assistant; a system message (which
 *            that template rejects) is put before the first user message,
 *            separated by "\n\n", as later Mistral templates do.
 *   gemma    BOS, "<start_of_turn>" role "\n" trim(content) "<end_of_turn>\n"
 *            with assistant written "model"; generation prompt
 *            "<start_of_turn>model\n"; a system message goes before the first
 *            user message with "\n\n" (Gemma 3's rule).
 *   llama-guard-3  Meta's Llama Guard 3 classification prompt: task line for
 *            'User' or 'Agent', the S1-S14 category block, the conversation
 *            ("User: ..." / "Agent: ...", stripped, blank-line separated) and
 *            the instruction to answer 'safe' or 'unsafe' + categories, as in
 *            the Llama-Guard-3-8B chat template (without the stray space that
 *            template writes before <|begin_of_text|>).
 *
 * strip/trim remove Unicode whitespace at both ends, as Python's str.strip.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "text/tok_internal.h"
#include "warden/chat.h"

void wd__chat_put_stripped(wd__strbuf *s, const char *p) {
    size_t n = strlen(p), a = 0, b = n;
    while (a < b) {
        uint32_t cp;
        int k = wd__utf8_next(p, b, a, &cp);
        if (k <= 0 || !wd__uc_is_whitespace(cp)) break;
        a += (size_t)k;
    }
    while (b > a) {
        size_t q = b - 1;
        while (q > a && ((unsigned char)p[q] & 0xC0) == 0x80) q--;
        uint32_t cp;
        wd__utf8_next(p, b, q, &cp);
        if (!wd__uc_is_whitespace(cp)) break;
        b = q;
    }
    wd__strbuf_add(s, p + a, b - a);
}

/* ==== formats ============================================================ */

wd_chat_format wd_chat_format_detect(const char *t) {
    if (!t) return WD_CHAT_FORMAT_UNKNOWN;
    if (strstr(t, "<|start_header_id|>"))
        return strstr(t, "BEGIN UNSAFE CONTENT CATEGORIES") ? WD_CHAT_FORMAT_LLAMA_GUARD3 : WD_CHAT_FORMAT_LLAMA3;
    if (strstr(t, "<|im_start|>")) return WD_CHAT_FORMAT_CHATML;
    if (strstr(t, "<start_of_turn>")) return WD_CHAT_FORMAT_GEMMA;
    if (strstr(t, "<<SYS>>")) return WD_CHAT_FORMAT_LLAMA2;
    if (strstr(t, "[INST]")) return WD_CHAT_FORMAT_MISTRAL;
    return WD_CHAT_FORMAT_UNKNOWN;
}

static const struct { const char *name; wd_chat_format f; } NAMES[] = {
    {"llama-2", WD_CHAT_FORMAT_LLAMA2}, {"llama-3", WD_CHAT_FORMAT_LLAMA3}, {"chatml", WD_CHAT_FORMAT_CHATML},
    {"mistral", WD_CHAT_FORMAT_MISTRAL}, {"gemma", WD_CHAT_FORMAT_GEMMA}, {"llama-guard-3", WD_CHAT_FORMAT_LLAMA_GUARD3},
    /* aliases */
    {"llama2", WD_CHAT_FORMAT_LLAMA2}, {"llama3", WD_CHAT_FORMAT_LLAMA3}, {"qwen2", WD_CHAT_FORMAT_CHATML},
    {"llama-guard", WD_CHAT_FORMAT_LLAMA_GUARD3},
};

const char *wd_chat_format_name(wd_chat_format f) {
    for (size_t k = 0; k < 6; k++)
        if (NAMES[k].f == f) return NAMES[k].name;
    return "unknown";
}

wd_status wd_chat_format_parse(const char *name, wd_chat_format *out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_chat_format_parse: out is NULL");
    *out = WD_CHAT_FORMAT_UNKNOWN;
    for (size_t k = 0; name && k < sizeof NAMES / sizeof NAMES[0]; k++)
        if (!strcmp(name, NAMES[k].name)) {
            *out = NAMES[k].f;
            return WD_OK;
        }
    return wd__fail(WD_ERR_NOT_FOUND,
                    "unknown chat format '%s' (known: llama-2, llama-3, chatml, mistral, gemma, llama-guard-3)",
                    name ? name : "(null)");
}

wd_chat_params wd_chat_params_default(void) {
    return (wd_chat_params){.format = WD_CHAT_FORMAT_UNKNOWN, .add_generation_prompt = true};
}

/* ==== renderers ========================================================== */

typedef enum { R_SYSTEM, R_USER, R_ASSISTANT } role_t;

static wd_status roles_of(const wd_chat_message *m, size_t n, role_t *r) {
    for (size_t i = 0; i < n; i++) {
        if (!m[i].role || !m[i].content)
            return wd__fail(WD_ERR_INVALID_ARG, "chat: message %zu has no role or no content", i);
        if (!strcmp(m[i].role, "system")) r[i] = R_SYSTEM;
        else if (!strcmp(m[i].role, "user")) r[i] = R_USER;
        else if (!strcmp(m[i].role, "assistant")) r[i] = R_ASSISTANT;
        else
            return wd__fail(WD_ERR_INVALID_ARG, "chat: message %zu: unknown role '%s' (system, user or assistant)",
                            i, m[i].role);
    }
    return WD_OK;
}

/* Checks that messages [from, n) alternate user/assistant from a user. */
static wd_status check_alternate(const role_t *r, size_t from, size_t n, const char *fmt) {
    for (size_t i = from; i < n; i++) {
        role_t want = ((i - from) % 2 == 0) ? R_USER : R_ASSISTANT;
        if (r[i] != want)
            return wd__fail(WD_ERR_INVALID_ARG,
                            "chat (%s): conversation roles must alternate user/assistant/user/... (message %zu)",
                            fmt, i);
    }
    return WD_OK;
}

static const char *LG3_CATS[14] = {
    "Violent Crimes", "Non-Violent Crimes", "Sex Crimes", "Child Exploitation", "Defamation",
    "Specialized Advice", "Privacy", "Intellectual Property", "Indiscriminate Weapons", "Hate",
    "Self-Harm", "Sexual Content", "Elections", "Code Interpreter Abuse",
};

static wd_status render_guard(const wd_chat_message *m, const role_t *r, size_t n, wd_catmask cats, wd__strbuf *s) {
    if (n == 0) return wd__fail(WD_ERR_INVALID_ARG, "chat (llama-guard-3): no messages to classify");
    wd_status st = check_alternate(r, 0, n, "llama-guard-3");
    if (st) return st;
    const char *who = (n % 2 == 0) ? "Agent" : "User";
    wd__strbuf_puts(s, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n");
    wd__strbuf_puts(s, "Task: Check if there is unsafe content in '");
    wd__strbuf_puts(s, who);
    wd__strbuf_puts(s, "' messages in conversations according our safety policy with the below categories.\n\n");
    wd__strbuf_puts(s, "<BEGIN UNSAFE CONTENT CATEGORIES>\n");
    if (cats == 0) cats = WD_CATMASK_HAZARDS;
    for (int c = 0; c < 14; c++) {
        if (!(cats & WD_CATMASK(c))) continue;
        char line[96];
        snprintf(line, sizeof line, "S%d: %s.\n", c + 1, LG3_CATS[c]);
        wd__strbuf_puts(s, line);
    }
    wd__strbuf_puts(s, "<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n");
    for (size_t i = 0; i < n; i++) {
        wd__strbuf_puts(s, r[i] == R_USER ? "User: " : "Agent: ");
        wd__chat_put_stripped(s, m[i].content);
        wd__strbuf_puts(s, "\n\n");
    }
    wd__strbuf_puts(s, "<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST ");
    wd__strbuf_puts(s, who);
    wd__strbuf_puts(s, " message in the above conversation:\n"
             " - First line must read 'safe' or 'unsafe'.\n"
             " - If unsafe, a second line must include a comma-separated list of violated categories."
             "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    return WD_OK;
}

static wd_status render(const wd_chat_message *m, size_t n, const wd_chat_params *p, wd__strbuf *s) {
    role_t *r = calloc(n ? n : 1, sizeof *r);
    if (!r) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_status st = roles_of(m, n, r);
    const char *bos = p->bos, *eos = p->eos;
    size_t first = (n > 0 && r[0] == R_SYSTEM) ? 1 : 0;
    const char *sys = first ? m[0].content : NULL;
    if (st) goto done;
    switch (p->format) {
    case WD_CHAT_FORMAT_LLAMA2:
        if (!bos) bos = "<s>";
        if (!eos) eos = "</s>";
        if ((st = check_alternate(r, first, n, "llama-2"))) break;
        for (size_t i = first; i < n; i++) {
            if (r[i] == R_USER) {
                wd__strbuf_puts(s, bos);
                wd__strbuf_puts(s, "[INST] ");
                if (i == first && sys) {
                    /* strip() applies to the whole "<<SYS>>...<</SYS>>\n\n" + content */
                    wd__strbuf c = {0};
                    wd__strbuf_puts(&c, "<<SYS>>\n");
                    wd__strbuf_puts(&c, sys);
                    wd__strbuf_puts(&c, "\n<</SYS>>\n\n");
                    wd__strbuf_puts(&c, m[i].content);
                    if (c.oom) s->oom = true;
                    else wd__chat_put_stripped(s, c.p);
                    free(c.p);
                } else {
                    wd__chat_put_stripped(s, m[i].content);
                }
                wd__strbuf_puts(s, " [/INST]");
            } else {
                wd__strbuf_puts(s, " ");
                wd__chat_put_stripped(s, m[i].content);
                wd__strbuf_puts(s, " ");
                wd__strbuf_puts(s, eos);
            }
        }
        break;
    case WD_CHAT_FORMAT_LLAMA3:
        if (!bos) bos = "<|begin_of_text|>";
        wd__strbuf_puts(s, n ? bos : "");
        for (size_t i = 0; i < n; i++) {
            wd__strbuf_puts(s, "<|start_header_id|>");
            wd__strbuf_puts(s, m[i].role);
            wd__strbuf_puts(s, "<|end_header_id|>\n\n");
            wd__chat_put_stripped(s, m[i].content);
            wd__strbuf_puts(s, "<|eot_id|>");
        }
        if (p->add_generation_prompt) wd__strbuf_puts(s, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case WD_CHAT_FORMAT_CHATML:
        if (!first && p->default_system) {
            wd__strbuf_puts(s, "<|im_start|>system\n");
            wd__strbuf_puts(s, p->default_system);
            wd__strbuf_puts(s, "<|im_end|>\n");
        }
        for (size_t i = 0; i < n; i++) {
            wd__strbuf_puts(s, "<|im_start|>");
            wd__strbuf_puts(s, m[i].role);
            wd__strbuf_puts(s, "\n");
            wd__strbuf_puts(s, m[i].content);
            wd__strbuf_puts(s, "<|im_end|>\n");
        }
        if (p->add_generation_prompt) wd__strbuf_puts(s, "<|im_start|>assistant\n");
        break;
    case WD_CHAT_FORMAT_MISTRAL:
        if (!bos) bos = "<s>";
        if (!eos) eos = "</s>";
        if ((st = check_alternate(r, first, n, "mistral"))) break;
        wd__strbuf_puts(s, bos);
        for (size_t i = first; i < n; i++) {
            if (r[i] == R_USER) {
                wd__strbuf_puts(s, "[INST] ");
                if (i == first && sys) {
                    wd__strbuf_puts(s, sys);
                    wd__strbuf_puts(s, "\n\n");
                }
                wd__strbuf_puts(s, m[i].content);
                wd__strbuf_puts(s, " [/INST]");
            } else {
                wd__strbuf_puts(s, m[i].content);
                wd__strbuf_puts(s, eos);
            }
        }
        break;
    case WD_CHAT_FORMAT_GEMMA:
        if (!bos) bos = "<bos>";
        if ((st = check_alternate(r, first, n, "gemma"))) break;
        wd__strbuf_puts(s, bos);
        for (size_t i = first; i < n; i++) {
            wd__strbuf_puts(s, "<start_of_turn>");
            wd__strbuf_puts(s, r[i] == R_USER ? "user" : "model");
            wd__strbuf_puts(s, "\n");
            if (i == first && sys) {
                wd__strbuf c = {0};
                wd__strbuf_puts(&c, sys);
                wd__strbuf_puts(&c, "\n\n");
                wd__strbuf_puts(&c, m[i].content);
                if (c.oom) s->oom = true;
                else wd__chat_put_stripped(s, c.p);
                free(c.p);
            } else {
                wd__chat_put_stripped(s, m[i].content);
            }
            wd__strbuf_puts(s, "<end_of_turn>\n");
        }
        if (p->add_generation_prompt) wd__strbuf_puts(s, "<start_of_turn>model\n");
        break;
    case WD_CHAT_FORMAT_LLAMA_GUARD3:
        st = render_guard(m, r, n, p->guard_categories, s);
        break;
    default:
        st = wd__fail(WD_ERR_INVALID_ARG, "chat: no format given (name one: llama-2, llama-3, chatml, mistral, gemma, llama-guard-3)");
    }
done:
    free(r);
    if (!st && s->oom) st = wd__fail(WD_ERR_NOMEM, "out of memory");
    return st;
}

static wd_status finish(wd_status st, wd__strbuf *s, char **out, size_t *out_len) {
    if (st) {
        free(s->p);
        return st;
    }
    if (!s->p) {
        s->p = calloc(1, 1);
        if (!s->p) return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    *out = s->p;
    if (out_len) *out_len = s->n;
    return WD_OK;
}

wd_status wd_chat_render(const wd_chat_message *msgs, size_t n, const wd_chat_params *params, char **out,
                         size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out || (!msgs && n)) return wd__fail(WD_ERR_INVALID_ARG, "wd_chat_render: NULL argument");
    wd_chat_params p = params ? *params : wd_chat_params_default();
    wd__strbuf s = {0};
    return finish(render(msgs, n, &p, &s), &s, out, out_len);
}

wd_status wd_chat_render_tok(const wd_tokenizer *tok, const wd_chat_message *msgs, size_t n,
                             const wd_chat_params *params, char **out, size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!tok || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_chat_render_tok: NULL argument");
    wd_chat_params p = params ? *params : wd_chat_params_default();
    const char *tpl = wd_tokenizer_chat_template(tok);
    if (p.format == WD_CHAT_FORMAT_UNKNOWN) {
        p.format = wd_chat_format_detect(tpl);
        if (p.format == WD_CHAT_FORMAT_UNKNOWN)
            return wd__fail(WD_ERR_NOT_FOUND, tpl ? "chat: the tokenizer's chat_template is not one warden recognises; name a format"
                                                  : "chat: the tokenizer has no chat_template; name a format");
    }
    if (!p.bos) p.bos = wd_tokenizer_special_str(tok, WD_SPECIAL_TOKEN_BOS);
    if (!p.eos) p.eos = wd_tokenizer_special_str(tok, WD_SPECIAL_TOKEN_EOS);
    if (p.format == WD_CHAT_FORMAT_CHATML && !p.default_system && tpl && strstr(tpl, "You are a helpful assistant."))
        p.default_system = "You are a helpful assistant.";
    return wd_chat_render(msgs, n, &p, out, out_len);
}

wd_status wd_llama_guard3_prompt(const wd_chat_message *msgs, size_t n, wd_catmask categories, char **out,
                                 size_t *out_len) {
    wd_chat_params p = wd_chat_params_default();
    p.format = WD_CHAT_FORMAT_LLAMA_GUARD3;
    p.guard_categories = categories;
    return wd_chat_render(msgs, n, &p, out, out_len);
}
