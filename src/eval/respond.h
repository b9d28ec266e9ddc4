/*
 * eval/respond.h - a target model answering one prompt (respond.c): the
 * step the red team runs for every prompt, shared with weight repair
 * (weights/probe.c), so that a refusal rate measured there is the one the
 * red team reports for the same prompts.
 */
#ifndef WD_EVAL_RESPOND_H
#define WD_EVAL_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "warden/chat.h"
#include "warden/model.h"

typedef struct wd__responder {
    wd_context               *ctx;    /* the caller's                            */
    const wd_tokenizer       *tok;
    const wd_chat_params     *chat;   /* format UNKNOWN: from the tokenizer       */
    const char               *system; /* a system message, or NULL                */
    const wd_generate_params *gen;
    int32_t                  *ids, *out; /* grown as needed; free with wd__responder_free */
    size_t                    cap_ids, cap_out;
} wd__responder;

/* The chat-template ids of prompt (a user turn after the system message,
 * with the generation prompt) into r->ids; *n their count. */
wd_status wd__respond_encode(wd__responder *r, const char *prompt, size_t *n);

/* The answer to prompt: rendered, then r->gen's generation; *response
 * malloc'd (special tokens skipped). A prompt that leaves no room in the
 * context gets an empty answer. */
wd_status wd__respond(wd__responder *r, const char *prompt, char **response);

void wd__responder_free(wd__responder *r);

#endif
