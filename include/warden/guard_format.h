/*
 * warden/guard_format.h - the prompts and answers of the open guard
 * checkpoints: which question each one was trained on, how its answer
 * reads, and how its categories map onto warden's taxonomy.
 *
 *   format            checkpoints                      prompt / answer
 *   llama-guard-3     Llama-Guard-3-1B / 8B            S1-S14 list; "safe" | "unsafe\nS1,S10"
 *   llama-guard-4     Llama-Guard-4-12B                the same, in Llama 4's header tokens
 *   shieldgemma       shieldgemma-2b / 9b / 27b        one guideline per prompt; "Yes" | "No"
 *   granite-guardian  granite-guardian-3.0 / 3.1       one risk definition per prompt; "Yes" | "No"
 *   qwen3guard        Qwen3Guard-Gen-0.6B / 4B / 8B    "Safety: Safe|Unsafe|Controversial\n
 *                                                       Categories: ...[\nRefusal: Yes|No]"
 *   wildguard         allenai/wildguard                "Harmful request: yes|no\nResponse refusal:
 *                                                       yes|no\nHarmful response: yes|no"
 *   prompt-guard      Prompt-Guard-86M (v1),           an encoder's labels: BENIGN / INJECTION /
 *                     Llama-Prompt-Guard-2 (v2)        JAILBREAK (v1), LABEL_0 / LABEL_1 (v2)
 *   seq-classifier    any *ForSequenceClassification   its id2label names
 *
 * The first six are generative (a decoder writes the answer); the last two
 * are encoder classifiers. The renderers reproduce the Jinja chat template
 * each checkpoint ships (tests/fixtures/guard_formats/ holds the templates
 * the tests render with jinja2 and compare byte for byte; its README says
 * which were copied from the checkpoint and which were written from the
 * model card).
 *
 * Categories: every native category maps onto warden's taxonomy through a
 * wd_taxonomy_map scheme named after the format ("shieldgemma",
 * "granite-guardian", "qwen3guard", "wildguard", "prompt-guard",
 * "llama-guard"); OpenAI's moderation names then follow from the canonical
 * categories as the server maps them.
 */
#ifndef WARDEN_GUARD_FORMAT_H
#define WARDEN_GUARD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/base.h"
#include "warden/chat.h"
#include "warden/guard.h"
#include "warden/taxonomy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wd_guard_format {
    WD_GUARD_FORMAT_AUTO = 0, /* detect from the checkpoint */
    WD_GUARD_FORMAT_LLAMA_GUARD_3,
    WD_GUARD_FORMAT_LLAMA_GUARD_4,
    WD_GUARD_FORMAT_SHIELDGEMMA,
    WD_GUARD_FORMAT_GRANITE_GUARDIAN,
    WD_GUARD_FORMAT_QWEN3GUARD,
    WD_GUARD_FORMAT_WILDGUARD,
    WD_GUARD_FORMAT_PROMPT_GUARD,
    WD_GUARD_FORMAT_SEQ_CLASSIFIER,
    WD_GUARD_FORMAT_COUNT
} wd_guard_format;

/* "auto", "llama-guard-3", "llama-guard-4", "shieldgemma", "granite-guardian",
 * "qwen3guard", "wildguard", "prompt-guard", "seq-classifier" (static);
 * NULL when out of range. */
const char *wd_guard_format_name(wd_guard_format f);

/* Parses a name (as above, case-insensitive; "llama-guard" = llama-guard-3)
 * into *out. WD_ERR_NOT_FOUND with a message listing the names otherwise. */
wd_status wd_guard_format_parse(const char *name, wd_guard_format *out);

/* True for the formats a decoder answers in writing (the first six). */
bool wd_guard_format_generative(wd_guard_format f);

/* The format of a checkpoint from what it ships, in this order:
 *   1. the tokenizer_config.json chat_template's markers (may be NULL):
 *      "<|header_start|>" + "UNSAFE CONTENT CATEGORIES" -> llama-guard-4;
 *      "UNSAFE CONTENT CATEGORIES" -> llama-guard-3; "Safety: Controversial"
 *      -> qwen3guard; "policy expert" / "Human Question" -> shieldgemma;
 *      "risk_definition" / "guardian_config" -> granite-guardian;
 *      "Human user:" + "AI assistant:" -> wildguard;
 *   2. config.json's architectures[0] (may be NULL or ""):
 *      Llama4ForConditionalGeneration -> llama-guard-4;
 *   3. the id2label names (n_labels > 0: an encoder classifier): one of
 *      INJECTION, JAILBREAK, MALICIOUS -> prompt-guard, else seq-classifier;
 *   4. otherwise a decoder is read as llama-guard-3 (warden's default judge).
 * WildGuard ships no chat template: name it with --guard-format. */
wd_guard_format wd_guard_format_detect(const char *chat_template, const char *architecture,
                                       const char *const *labels, size_t n_labels);

/* The built-in policies of a format that asks one policy per prompt
 * (shieldgemma: dangerous, harassment, hate, sexual; granite-guardian:
 * harm, social_bias, jailbreak, violence, profanity, sexual_content,
 * unethical_behavior); *n their count, NULL (n = 0) for the others. The
 * default set of a judge is all of them for shieldgemma and "harm" for
 * granite-guardian. Static strings. */
const char *const *wd_guard_format_policies(wd_guard_format f, size_t *n);

/* Renders the prompt a generative format asks about the LAST message of
 * msgs[0..n) (roles "user" and "assistant" alternating from the user; the
 * last one is judged: a user message as a prompt, an assistant message as
 * a response to the user message before it). policy names one of the
 * format's policies (NULL: its first); formats without policies ignore it.
 * The text is what the checkpoint's chat template writes with
 * add_generation_prompt = true (special tokens as text). *out is malloc'd
 * (caller frees). Returns WD_ERR_INVALID_ARG for no messages, roles out of
 * order, an unknown policy or a non-generative format. */
wd_status wd_guard_format_render(wd_guard_format f, const wd_chat_message *msgs, size_t n,
                                 const char *policy, char **out);

/* What a guard's answer says. */
typedef enum wd_guard_verdict {
    WD_GUARD_VERDICT_NONE = 0,      /* the text holds no verdict the format knows */
    WD_GUARD_VERDICT_SAFE,
    WD_GUARD_VERDICT_UNSAFE,
    WD_GUARD_VERDICT_CONTROVERSIAL, /* qwen3guard */
} wd_guard_verdict;

#define WD_GUARD_ANSWER_MAX_CATS 16

typedef struct wd_guard_answer {
    wd_guard_verdict verdict;   /* the judged message's verdict                  */
    int harmful_request;        /* wildguard: 1 yes, 0 no, -1 not said           */
    int refusal;                /* qwen3guard / wildguard: 1 yes, 0 no, -1 not said */
    int harmful_response;       /* wildguard: 1 yes, 0 no, -1 not said           */
    wd_catmask categories;      /* the union of cat[i].mask                      */
    size_t n_cats;              /* native categories named, in order             */
    struct {
        wd_catmask mask;        /* warden's categories it maps onto              */
        size_t start, end;      /* its bytes in the text                         */
    } cat[WD_GUARD_ANSWER_MAX_CATS];
} wd_guard_answer;

/* Reads a generative guard's answer text (what the model wrote after the
 * prompt) in format f, for the role judged (wildguard's verdict is its
 * harmful request line for input, its harmful response line for output).
 * Unknown category names are skipped. Returns WD_OK (verdict NONE when the
 * text says nothing the format knows), WD_ERR_INVALID_ARG for NULL or a
 * non-generative format. */
wd_status wd_guard_format_parse_answer(wd_guard_format f, const char *text, wd_role role,
                                       wd_guard_answer *out);

/* The warden categories an encoder label means in format f (prompt-guard:
 * INJECTION / JAILBREAK / MALICIOUS / LABEL_1 of a two-label head ->
 * prompt_injection, BENIGN / LABEL_0 -> none; seq-classifier: the generic
 * label rules of docs/policy.md with `unsafe` for generic harm labels).
 * label_index and n_labels let a LABEL_i head be read. 0 = scores nothing. */
wd_catmask wd_guard_format_label(wd_guard_format f, const char *label, size_t label_index,
                                 size_t n_labels, wd_catmask unsafe);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_GUARD_FORMAT_H */
