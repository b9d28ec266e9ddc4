/*
 * warden/chat.h - chat templates: a list of {role, content} messages
 * rendered into the prompt text a chat model was trained on, plus the
 * Llama Guard 3 classification prompt.
 *
 * warden has no Jinja engine. It recognises the family of a checkpoint's
 * `chat_template` (tokenizer_config.json) and renders it with a built-in
 * renderer that reproduces that template's output:
 *
 *   llama-2        <s>[INST] <<SYS>>\n...\n<</SYS>>\n\nuser [/INST] answer </s>
 *   llama-3        <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
 *   chatml         <|im_start|>role\n...<|im_end|>\n        (Qwen2, SmolLM, ...)
 *   mistral        <s>[INST] user [/INST]answer</s>         (no system block)
 *   gemma          <bos><start_of_turn>user\n...<end_of_turn>\n  (assistant -> "model")
 *   llama-guard-3  the Llama Guard 3 safety classification prompt
 *
 * Roles are "system", "user" and "assistant". Formats that require it
 * (llama-2, mistral, gemma, llama-guard-3) check that user and assistant
 * alternate, starting with the user, and fail with WD_ERR_INVALID_ARG
 * otherwise, as their templates raise an exception. The rendered text
 * contains the special tokens as text; encode it with the tokenizer (which
 * matches them as added tokens) and add_special_tokens = false, since the
 * BOS is already in the text.
 */
#ifndef WARDEN_CHAT_H
#define WARDEN_CHAT_H

#include "warden/base.h"
#include "warden/taxonomy.h"
#include "warden/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_chat_format {
    WD_CHAT_FORMAT_UNKNOWN = 0,
    WD_CHAT_FORMAT_LLAMA2,
    WD_CHAT_FORMAT_LLAMA3,
    WD_CHAT_FORMAT_CHATML,
    WD_CHAT_FORMAT_MISTRAL,
    WD_CHAT_FORMAT_GEMMA,
    WD_CHAT_FORMAT_LLAMA_GUARD3,
} wd_chat_format;

typedef struct wd_chat_message {
    const char *role;    /* "system", "user" or "assistant" */
    const char *content; /* UTF-8, NUL-terminated */
} wd_chat_message;

/* Recognises the family of a Jinja chat_template string by the markers it
 * writes. Returns WD_CHAT_FORMAT_UNKNOWN for NULL or an unrecognised template. */
wd_chat_format wd_chat_format_detect(const char *chat_template);

/* Names: "llama-2", "llama-3", "chatml", "mistral", "gemma",
 * "llama-guard-3" (static strings; "unknown" for WD_CHAT_FORMAT_UNKNOWN). */
const char *wd_chat_format_name(wd_chat_format f);
/* Parses a name (as above; also "llama2", "llama3", "qwen2", "llama-guard")
 * into *out. WD_ERR_NOT_FOUND with a message listing the names otherwise. */
wd_status wd_chat_format_parse(const char *name, wd_chat_format *out);

typedef struct wd_chat_params {
    wd_chat_format format;        /* WD_CHAT_FORMAT_UNKNOWN: detect (wd_chat_render_tok) */
    bool add_generation_prompt;   /* end with the assistant's header; default true */
    const char *bos, *eos;        /* NULL: the tokenizer's, else the format's usual ones */
    const char *default_system;   /* chatml: system message used when none is given
                                     (Qwen2's "You are a helpful assistant."); NULL: none */
    wd_catmask  guard_categories; /* llama-guard-3: hazards S1..S14 to list; 0 = all */
} wd_chat_params;

wd_chat_params wd_chat_params_default(void);

/* Renders n messages in params->format (which must be known). On success
 * *out is a malloc'd NUL-terminated string owned by the caller (free()),
 * *out_len (may be NULL) its length. Fails with WD_ERR_INVALID_ARG for an
 * unknown format, a NULL role/content, an unknown role, or roles out of
 * the order the format requires. */
wd_status wd_chat_render(const wd_chat_message *msgs, size_t n, const wd_chat_params *params,
                         char **out, size_t *out_len);

/* As wd_chat_render, but with the format detected from the tokenizer's
 * chat_template when params->format is WD_CHAT_FORMAT_UNKNOWN (WD_ERR_NOT_FOUND
 * when there is none or it is not recognised: name a format then), and
 * bos/eos taken from the tokenizer when params leave them NULL. */
wd_status wd_chat_render_tok(const wd_tokenizer *tok, const wd_chat_message *msgs, size_t n,
                             const wd_chat_params *params, char **out, size_t *out_len);

/* The Llama Guard 3 prompt that asks whether the LAST message of the
 * conversation is safe: the role checked is 'User' when the conversation
 * has an odd number of messages (ending with the user) and 'Agent' when
 * even (ending with the assistant). categories selects hazards S1..S14
 * (0 = all 14); listed categories keep their S-codes, so the model's
 * answer maps straight back to wd_category. Same ownership as
 * wd_chat_render. */
wd_status wd_llama_guard3_prompt(const wd_chat_message *msgs, size_t n, wd_catmask categories,
                                 char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_CHAT_H */
