/*
 * guard/conversation.h - the conversation rules the engine (guard.c) and
 * the model judges (judge.c, scanners/llm_judge.c) share: which roles a
 * conversation may hold, and the Llama Guard turns a judge reads
 * (warden/guard.h, "conversation context", is the manual).
 */
#ifndef WD_GUARD_CONVERSATION_H
#define WD_GUARD_CONVERSATION_H

#include <stddef.h>

#include "warden/chat.h"
#include "warden/guard.h"

/* What a message's role is to a guard. */
typedef enum wd__conv_kind {
    WD__CONV_SYSTEM = 0, /* "system", "developer": instructions, never judged */
    WD__CONV_USER,       /* "user" */
    WD__CONV_ASSISTANT,  /* "assistant" */
    WD__CONV_TOOL,       /* "tool": a tool's result handed to the model */
    WD__CONV_UNKNOWN,
} wd__conv_kind;

wd__conv_kind wd__conv_kind_of(const char *role);

/* WD_OK when msgs[0..n) all have a known role (content may be NULL);
 * else WD_ERR_INVALID_ARG with "what[i]: ..." in wd_last_error(). */
wd_status wd__conv_validate(const wd_chat_message *msgs, size_t n, const char *what);

/* The Llama Guard 3 turns of context[from..n_context) followed by the
 * judged text[0..len) as a user turn (role input) or an assistant turn
 * (role output): system/developer dropped, tool read as the assistant's,
 * consecutive turns of one side merged (non-empty contents joined with a
 * blank line), an empty user turn first when the Agent speaks first. On
 * success *out is a malloc'd array of *n_out messages ("user" /
 * "assistant") whose contents live in *buf (malloc'd); the caller frees
 * both. WD_ERR_NOMEM otherwise (nothing to free). */
wd_status wd__conv_guard_turns(const wd_chat_message *context, size_t from, size_t n_context,
                               const char *text, size_t len, wd_role role, wd_chat_message **out,
                               size_t *n_out, char **buf);

#endif
