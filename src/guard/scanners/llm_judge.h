/*
 * guard/scanners/llm_judge.h - the llm_judge scanner built from settings
 * instead of a policy node, over a decoder already loaded: what
 * wd_guard_load_model uses (guard/policy.c), so that a model folder is
 * read once. The policy node's fields are documented in llm_judge.c.
 */
#ifndef WD_GUARD_SCANNERS_LLM_JUDGE_H
#define WD_GUARD_SCANNERS_LLM_JUDGE_H

#include "warden/base.h"
#include "warden/guard_format.h"
#include "warden/model.h"
#include "warden/taxonomy.h"

typedef struct wd__llm_judge_params {
    const char *template_text;  /* with {text}; NULL = the Llama Guard 3 prompt   */
    wd_catmask  categories;     /* hazards the prompt lists; 0 = all 14           */
    long        max_tokens;     /* tokens generated for the category line (16)    */
    double      generate_above; /* generate the categories when p >= this (0.5)   */
    long        n_ctx;          /* longest prompt in tokens (4096)                */
    wd_guard_format format;     /* AUTO: detected from the checkpoint             */
    const char *policies[8];    /* shieldgemma / granite-guardian policies asked  */
    size_t      n_policies;     /* 0: the format's default set                    */
    bool        explain;        /* write the rationale (false)                    */
    long        explain_max_tokens; /* its bound (128)                            */
} wd__llm_judge_params;

wd__llm_judge_params wd__llm_judge_params_default(void);

/* The scanner's state over the decoder m into *impl (the scanner's free
 * releases it). where names the model in messages. On success the state
 * owns m; on failure the caller keeps it, and the thread's last error says
 * why: WD_ERR_UNSUPPORTED (not a decoder with tokenizer.json, or its
 * tokenizer cannot write the format's verdict words), WD_ERR_INVALID_ARG
 * (an unknown policy or a non-generative format), WD_ERR_NOMEM. */
wd_status wd__llm_judge_new(const wd__llm_judge_params *p, wd_model *m, const char *where, void **impl);

#endif
