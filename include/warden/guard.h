/*
 * warden/guard.h - decide whether a prompt or a model's response is unsafe,
 * in which hazard categories, and why.
 *
 * A guard is built from a policy (a YAML file, see docs/policy.md, or the
 * built-in default embedded in the library). The policy lists scanners in
 * order (lexicon, pii, secrets, injection, the built-in classifier, ...);
 * each gives per-category scores in [0,1] and hits (rule + byte offsets in
 * the caller's text). The policy turns the scores into a verdict: the
 * categories at or above their threshold, the strongest action among them
 * (allow < flag < redact < block), and, when asked, the text with the
 * redactable hits (PII, secrets) replaced by typed placeholders ("[CARD]").
 *
 * Threads: a wd_guard is read-only once loaded; wd_guard_check and
 * wd_guard_check_batch may be called from several threads on the same guard.
 *
 *     wd_guard *g;
 *     if (wd_guard_load_default(NULL, &g) != WD_OK) die(wd_last_error());
 *     wd_verdict *v;
 *     wd_guard_check(g, text, strlen(text), NULL, &v);
 *     if (wd_verdict_unsafe(v)) ...
 *     wd_verdict_free(v);
 *     wd_guard_free(g);
 */
#ifndef WARDEN_GUARD_H
#define WARDEN_GUARD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/chat.h"
#include "warden/taxonomy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_guard wd_guard;
typedef struct wd_verdict wd_verdict;

/* Whose text is checked: the user's prompt or the model's response. The
 * policy can enable scanners and categories per role ("rails"). */
typedef enum wd_role {
    WD_ROLE_INPUT  = 0,
    WD_ROLE_OUTPUT = 1,
} wd_role;

/* Ordered by severity: the verdict's action is the maximum over the
 * categories that fired. */
typedef enum wd_action {
    WD_ACTION_ALLOW  = 0,
    WD_ACTION_FLAG   = 1,
    WD_ACTION_REDACT = 2,
    WD_ACTION_BLOCK  = 3,
} wd_action;

/* "allow", "flag", "redact", "block"; NULL when out of range. */
const char *wd_action_str(wd_action a);
/* "input", "output"; NULL when out of range. */
const char *wd_role_str(wd_role r);

/* ==== loading ============================================================ */

typedef struct wd_guard_params {
    /* Threads used by wd_guard_check_batch (0 or 1 = the calling thread only). */
    int n_threads;
    /* Cascade scanners load without their router (`router:`, `low:`,
     * `high:` are read for their form only, the file is not opened) and
     * escalate nothing: what `warden train-router --policy` loads before the
     * router exists. Default false. */
    bool cascade_untrained;
    /* The guard format of the model judges (llm_judge, encoder_classifier
     * and wd_guard_load_model's scanner): a name of warden/guard_format.h
     * ("shieldgemma", ...); NULL or "auto" = detected from each checkpoint.
     * A policy node's own `format:` wins. An unknown name fails the load
     * with WD_ERR_NOT_FOUND. */
    const char *guard_format;
    /* Generative judges write their rationale after the verdict
     * (wd_verdict_rationale), at most explain_max_tokens tokens (0 = 128).
     * A policy node's `explain_verdict:` wins. Default false. */
    bool explain_verdict;
    int  explain_max_tokens;
} wd_guard_params;

wd_guard_params wd_guard_params_default(void);

/* Loads the policy file at path (YAML). Relative paths inside it (lexicon
 * files, ...) are resolved against the file's folder. params may be NULL
 * (defaults). On failure returns WD_ERR_IO / WD_ERR_FORMAT / ..., sets *out
 * to NULL and leaves "path:line:col: field 'x': reason" in wd_last_error().
 * The caller frees *out with wd_guard_free. */
wd_status wd_guard_load(const char *path, const wd_guard_params *params, wd_guard **out);

/* Loads the built-in default policy (policies/default.yaml, embedded in the
 * library at build time: no file is read). */
wd_status wd_guard_load_default(const wd_guard_params *params, wd_guard **out);

/* Loads a policy given as YAML text of len bytes. name is used in error
 * messages and dir (may be NULL = the current folder) to resolve relative
 * paths. */
wd_status wd_guard_load_string(const char *yaml, size_t len, const char *name, const char *dir,
                               const wd_guard_params *params, wd_guard **out);

/* A guard made of one model folder (config.json + weights + tokenizer.json):
 * a decoder (llama, mistral, qwen2) as an `llm_judge` scanner asking the
 * Llama Guard 3 question, a bert/roberta/distilbert sequence classifier as
 * an `encoder_classifier` scanner (docs/policy.md has both). Errors as
 * wd_guard_load, naming the folder's files. */
wd_status wd_guard_load_model(const char *dir, const wd_guard_params *params, wd_guard **out);

/* No-op on NULL. */
void wd_guard_free(wd_guard *g);

/* The last error message about g: after a failed check on this thread, that
 * check's message (a guard is shared by threads, so check errors live in
 * each thread's slot, as wd_last_error() returns them); otherwise the
 * guard's last load-time error; "" when none. Do not keep the pointer. */
const char *wd_guard_last_error(const wd_guard *g);

/* The policy's name (its `name:` field, or the file name). Owned by the guard. */
const char *wd_guard_name(const wd_guard *g);

/* True when the policy fails open (`fail: open`): a text the guard cannot
 * check (invalid UTF-8, too long, a failing scanner) is decided by the
 * scanners that worked, so it is allowed when none fired; false when it
 * fails closed (the default: such a text is blocked). A caller that cannot
 * get a verdict at all (a deadline passed, out of memory) applies the same
 * rule to stand in for one. False for NULL. */
bool wd_guard_fail_open(const wd_guard *g);

/* ==== cascades (a fast guard, then a slow one: warden/router.h) ========== */

struct wd_router;

/* True when g holds a `cascade` scanner (the first, when several), with its
 * router copied into *out (out may be NULL); false otherwise. A cascade
 * with no router reports the empty band (it escalates nothing). An MLP
 * router's network is borrowed from g: valid while g lives, never freed
 * through *out. */
bool wd_guard_cascade_router(const wd_guard *g, struct wd_router *out);

/* A guard of one cascade scanner named "cascade": first and second are
 * scanner nodes as one-line YAML flow mappings ("{type: classifier}",
 * "{type: llm_judge, model: judge/}"), relative paths resolved against
 * dir (NULL = "."); router (NULL: none, escalates nothing) gives the band.
 * Returns as wd_guard_load_string; a node holding a newline is
 * WD_ERR_INVALID_ARG. */
wd_status wd_guard_load_cascade(const char *first, const char *second, const struct wd_router *router,
                                const char *dir, const wd_guard_params *params, wd_guard **out);

/* ==== checking =========================================================== */

/* See wd_check_params.cascade. */
typedef enum wd_cascade_mode {
    WD_CASCADE_MODE_ROUTE = 0,
    WD_CASCADE_MODE_FIRST,
    WD_CASCADE_MODE_SECOND,
    WD_CASCADE_MODE_FEATURE, /* as FIRST, and the first guard's feature kept (wd_verdict_feature) */
} wd_cascade_mode;

typedef struct wd_check_params {
    wd_role role;   /* default WD_ROLE_INPUT */
    bool    redact; /* produce redacted text even when the action is not redact */
    /* Stop a check that runs past this point of the monotonic clock
     * (CLOCK_MONOTONIC, in nanoseconds: tv_sec * 1e9 + tv_nsec); 0 = no
     * deadline. Tested inside the scanners' loops, every few thousand
     * steps, and before each text of a batch, so a check or a batch stops
     * within about a millisecond of it. */
    int64_t deadline_ns;
    /* Stop as soon as *cancel is nonzero (set it from a signal handler, or
     * from another thread with an atomic store); NULL = never. Tested with
     * the deadline. */
    const volatile sig_atomic_t *cancel;
    /* The conversation before the checked text: context[0..n_context), in
     * order (roles "system", "developer", "user", "assistant", "tool";
     * content NULL = empty). Rule scanners (lexicon, pii, secrets,
     * injection, classifier) and the encoder classifier judge the checked
     * text alone, and their hit offsets are into it; a model judge
     * (llm_judge with the Llama Guard 3 prompt) reads the conversation up
     * to and including the checked text, as "Conversation context" below
     * says. Borrowed for the call. In wd_guard_check_batch the one context
     * precedes every text of the batch (each text is judged as the turn
     * after it); wd_guard_check_turns gives each text its own. Default:
     * none. A role other than those five fails the check with
     * WD_ERR_INVALID_ARG. */
    const wd_chat_message *context;
    size_t                 n_context;
    /* What a `cascade` scanner runs (docs/policy.md): ROUTE (default) runs
     * its first guard and the second only when the router says so; FIRST
     * and SECOND run only that guard (for measuring each alone: `warden
     * eval`, `warden train-router`). Other scanners ignore it. */
    wd_cascade_mode cascade;
} wd_check_params;

/* role input, no redaction, no deadline, no cancel flag, no context,
 * cascades routed. */
wd_check_params wd_check_params_default(void);

/* Checks len bytes of UTF-8 text. params may be NULL (defaults).
 * Returns WD_OK with a verdict in *out (caller frees with wd_verdict_free).
 * Bad input is not an error of the call: invalid UTF-8 gives WD_OK and a
 * verdict whose wd_verdict_error() says where the encoding breaks, with the
 * action the policy's fail mode gives (fail-closed: block; fail-open:
 * allow). Texts longer than the policy's max_bytes are handled the same
 * way. A scanner that fails is reported likewise. Errors of the call itself
 * (NULL guard or out, out of memory) return a negative status and *out =
 * NULL; so do WD_ERR_TIMEOUT (params->deadline_ns passed before the check
 * finished) and WD_ERR_CANCELLED (*params->cancel was set): no verdict:
 * the caller decides what stands in for it. The time a check takes is
 * linear in len for the built-in scanners. */
wd_status wd_guard_check(wd_guard *g, const char *text, size_t len, const wd_check_params *params,
                         wd_verdict **out);

/* Checks n texts (texts[i] of lens[i] bytes). out must have room for n
 * verdicts; each is as from wd_guard_check and freed by the caller. Scanners
 * that work better in batches (model-based ones) see the whole batch.
 * The deadline and the cancel flag in params cover the whole batch: they
 * are tested before each text as well as inside it, so a batch of many
 * short texts stops as promptly as one long text, with WD_ERR_TIMEOUT or
 * WD_ERR_CANCELLED and a message saying how many texts were done. With
 * several threads (wd_guard_params.n_threads) each tests before each of
 * its texts, and the first to fail stops the others before their next one.
 * On a negative status every out[i] is NULL: the verdicts already made are
 * freed. */
wd_status wd_guard_check_batch(wd_guard *g, const char *const *texts, const size_t *lens, size_t n,
                               const wd_check_params *params, wd_verdict **out);

/* ==== conversation context ============================================== */

/* A conversation is an array of wd_chat_message (warden/chat.h) in order,
 * as OpenAI's chat "messages" holds it. What a check of each role judges:
 *
 *   WD_ROLE_INPUT   a "user" message (by default the last one), the
 *                   messages before it as context;
 *   WD_ROLE_OUTPUT  an "assistant" message (by default the last one), the
 *                   messages before it as context.
 *
 * Roles: "system" and "developer" (OpenAI's newer name for it) are context
 * only, and a model judge drops them from its prompt, as Llama Guard 3's
 * chat template has no place for them; "tool" (a tool's result handed to
 * the model) is context only, and a model judge reads it as part of the
 * Agent's turn (the user did not write it); an assistant message that only
 * calls tools has content NULL (= empty text). Any other role is refused.
 *
 * The Llama Guard prompt a model judge builds: the conversation up to and
 * including the judged message, "User: ..." for user turns and "Agent: ..."
 * for assistant (and tool) turns, system and developer messages dropped,
 * consecutive turns of one side merged into one turn (contents joined with
 * a blank line, empty contents skipped), and an empty "User:" turn put
 * first when the conversation starts with the Agent, so that the turns
 * alternate from the user as the format requires. The judged message is
 * the last turn ("ONLY THE LAST User/Agent message"). When the prompt does
 * not fit the judge's context, the oldest turns are dropped first, then
 * the judged text is cut. A judge with a custom template ({text}) sees
 * the judged text only. */

/* The messages a check of role judges: the indices i with msgs[i].role
 * "user" (role input) or "assistant" (role output), in order, written into
 * turns (room for n entries), their count into *n_turns; with last_only
 * only the last one. Every message's role is validated. Returns WD_OK, or
 * WD_ERR_INVALID_ARG with a message naming the message ("messages[2]:
 * unknown role 'bot' ...") for a NULL or unknown role, a bad wd_role, or a
 * conversation with no message of the role (*n_turns = 0). */
wd_status wd_guard_pick_turns(const wd_chat_message *msgs, size_t n, wd_role role, bool last_only,
                              size_t *turns, size_t *n_turns);

/* Checks msgs[turns[k]] for k < n_turns, each with msgs[0..turns[k]) as
 * its context, as one batch (wd_guard_check_batch: threads, deadline and
 * cancel flag alike). Each msgs[turns[k]] must have the role params->role
 * judges ("user" for input, "assistant" for output); params->context must
 * be empty (the context comes from msgs). out must have room for n_turns
 * verdicts; each carries its message index (wd_verdict_message_index) and
 * is freed by the caller. On a negative status every out[k] is NULL;
 * WD_ERR_INVALID_ARG names the message at fault. */
wd_status wd_guard_check_turns(wd_guard *g, const wd_chat_message *msgs, size_t n, const size_t *turns,
                               size_t n_turns, const wd_check_params *params, wd_verdict **out);

/* Checks the last message of the role params->role judges (the last user
 * message for input, the last assistant message for output) with the
 * messages before it as context: one verdict in *out, as wd_guard_check.
 * WD_ERR_INVALID_ARG (and *out = NULL) when there is no such message or a
 * role is unknown. */
wd_status wd_guard_check_messages(wd_guard *g, const wd_chat_message *msgs, size_t n,
                                  const wd_check_params *params, wd_verdict **out);

/* Checks every message of the role params->role judges, each with the
 * messages before it as context, as one batch: what a gateway's input rail
 * runs on a conversation (every user turn). out must have room for n
 * verdicts; *n_out gets how many were made (in message order). Errors as
 * wd_guard_check_turns. */
wd_status wd_guard_check_messages_all(wd_guard *g, const wd_chat_message *msgs, size_t n,
                                      const wd_check_params *params, wd_verdict **out, size_t *n_out);

/* A conversation read from JSON: OpenAI's chat "messages" array. */
typedef struct wd_conversation wd_conversation;

/* Reads messages (a cJSON array, already parsed: parse the text with
 * wd_json_parse_strict so that duplicate keys and U+0000 are refused) into
 * *out. Each item is an object with "role" (system, developer, user,
 * assistant, tool) and "content": a string, null or absent (assistant
 * only, e.g. a message holding "tool_calls": empty text), or an array of
 * content parts whose {"type": "text", "text": ...} parts are joined with
 * "
" and whose other parts (image_url, input_audio, file, refusal, ...)
 * are skipped and counted (wd_conversation_skipped_parts). Other members
 * (name, tool_calls, tool_call_id, ...) are ignored. At most max_messages
 * messages (0 = no limit). Returns WD_OK, or WD_ERR_INVALID_ARG with the
 * reason in wd_last_error() and the path of the field at fault written
 * into param (cap bytes, may be NULL): "messages", "messages[2].role",
 * "messages[0].content[1].text". The caller frees *out. */
struct cJSON;
wd_status wd_conversation_from_json(const struct cJSON *messages, size_t max_messages, char *param,
                                    size_t cap, wd_conversation **out);
/* The messages (owned by c, alive until wd_conversation_free); *n their count. */
const wd_chat_message *wd_conversation_messages(const wd_conversation *c, size_t *n);
/* How many non-text content parts were skipped. */
size_t wd_conversation_skipped_parts(const wd_conversation *c);
/* No-op on NULL. */
void wd_conversation_free(wd_conversation *c);

/* ==== verdicts =========================================================== */

/* One reason for a verdict: a rule of a scanner matched bytes [start, end)
 * of the checked text and scored category `category`. */
typedef struct wd_hit {
    const char *scanner;     /* the scanner's name in the policy */
    const char *rule;        /* the rule or phrase id ("card", "weapon-build", ...) */
    const char *placeholder; /* redaction placeholder ("[CARD]"), or NULL if not redactable */
    const char *snippet;     /* the matched bytes of the original, NUL-terminated (truncated to 200 bytes) */
    wd_category category;
    float       score;
    size_t      start, end;  /* byte offsets in the checked text; end exclusive */
    int         depth;       /* 0, or how many decodings (base64, hex, rot13) deep it was found */
} wd_hit;

void wd_verdict_free(wd_verdict *v);

/* True when some category reached its threshold with an action other than allow. */
bool wd_verdict_unsafe(const wd_verdict *v);
wd_action wd_verdict_action(const wd_verdict *v);
wd_role wd_verdict_role(const wd_verdict *v);
/* The categories that reached their threshold (and are enabled for the role). */
wd_catmask wd_verdict_categories(const wd_verdict *v);
/* The category's score in [0,1] (max over scanners); 0 for out-of-range c. */
float wd_verdict_score(const wd_verdict *v, wd_category c);
/* The largest of the category scores, in [0,1]: how strongly the verdict
 * leans to unsafe, whatever the category (a scorer's p(harmful)). 0 for NULL. */
float wd_verdict_max_score(const wd_verdict *v);
/* The action the policy gives category c in this verdict (allow if it did not fire). */
wd_action wd_verdict_category_action(const wd_verdict *v, wd_category c);
size_t wd_verdict_n_hits(const wd_verdict *v);
/* The i-th hit, ordered by start offset; NULL when i is out of range. Owned by v. */
const wd_hit *wd_verdict_hit(const wd_verdict *v, size_t i);
/* The redacted text (NUL-terminated, *len its length; len may be NULL), or
 * NULL when no redaction was asked for or needed. Owned by v. */
const char *wd_verdict_redacted(const wd_verdict *v, size_t *len);
/* Why the text could not be (fully) checked, or NULL: invalid UTF-8, too
 * long, a scanner that failed. Owned by v. */
const char *wd_verdict_error(const wd_verdict *v);
/* Wall time the check took, in microseconds. */
double wd_verdict_micros(const wd_verdict *v);
/* The rationale a generative judge wrote for its verdict when asked
 * (wd_guard_params.explain_verdict, a node's explain_verdict), or NULL.
 * With several such judges, the first one's (policy order). Owned by v. */
const char *wd_verdict_rationale(const wd_verdict *v);
/* The index in the conversation of the message v judged, when it came
 * from wd_guard_check_turns / _messages / _messages_all; -1 otherwise. */
long wd_verdict_message_index(const wd_verdict *v);

/* What the policy's `cascade` scanner did on the checked text (its first
 * one, when a policy has several). first_score is NaN when the first guard
 * did not run (WD_CASCADE_MODE_SECOND); second_ms is 0 when the second did
 * not. */
typedef struct wd_cascade_info {
    bool   escalated;   /* the second guard ran and its scores were taken  */
    float  first_score; /* the first guard's highest category score         */
    double first_ms;    /* the first guard's own time                       */
    double second_ms;   /* the second guard's own time (0: it did not run)  */
} wd_cascade_info;

/* True, with *out filled (out may be NULL), when a cascade scanner ran on
 * the text v judged; false when none did (no cascade in the policy, or
 * its role not checked). */
bool wd_verdict_cascade(const wd_verdict *v, wd_cascade_info *out);

/* The first guard's feature, when v was checked with cascade mode
 * WD_CASCADE_MODE_FEATURE (or routed by an MLP router): the input of a
 * learned router (warden/router.h), *n floats owned by v; NULL (and *n 0)
 * otherwise. n may be NULL. */
const float *wd_verdict_feature(const wd_verdict *v, size_t *n);

/* Renders v as one line of JSON (no newline), shared by the CLI and the
 * HTTP server:
 *   {"unsafe":true,"action":"block","role":"input",
 *    "categories":[{"id":"S9","name":"Indiscriminate Weapons","score":0.95,"action":"block"}],
 *    "scores":{"S9":0.95,...nonzero only},
 *    "hits":[{"scanner":"lexicon","rule":"...","category":"S9","score":0.95,
 *             "start":12,"end":40,"text":"...","depth":0}],
 *    "redacted":"..." (only when present), "error":"..." (only when present),
 *    "rationale":"..." (only when a judge wrote one),
 *    "message_index":3 (only when checked through a conversation),
 *    "cascade":{"escalated":true,"decided_by":"second","first_score":0.41,
 *               "first_ms":0.02,"second_ms":35.1} (only when a cascade scanner ran)}
 * On success *out is a malloc'd NUL-terminated string the caller frees with
 * free(); on failure *out = NULL. */
wd_status wd_verdict_to_json(const wd_verdict *v, char **out);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_GUARD_H */
