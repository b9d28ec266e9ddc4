/*
 * guard/scanners/encoder_classifier.h - the encoder_classifier scanner
 * built from settings instead of a policy node, over a classifier already
 * loaded: what wd_guard_load_model uses (guard/policy.c), so that a model
 * folder is read once. The policy node's fields and the label rules are
 * documented in encoder_classifier.c.
 */
#ifndef WD_GUARD_SCANNERS_ENCODER_CLASSIFIER_H
#define WD_GUARD_SCANNERS_ENCODER_CLASSIFIER_H

#include "base/err.h"
#include "base/yaml.h"
#include "warden/guard_format.h"
#include "warden/model.h"
#include "warden/taxonomy.h"

typedef struct wd__encoder_classifier_params {
    /* the policy's `labels` mapping (label: category, list or "ignore"), or
     * NULL: the rules alone map each label */
    const wd__pnode *labels;
    wd_catmask      unsafe;     /* what a generic "unsafe" label scores (all 14 hazards) */
    long            max_tokens; /* longer texts are cut, head kept (512)                */
    wd_guard_format format;     /* prompt-guard, seq-classifier; AUTO: from the labels  */
} wd__encoder_classifier_params;

wd__encoder_classifier_params wd__encoder_classifier_params_default(void);

/* The scanner's state over the classifier m into *impl (the scanner's free
 * releases it). where names the model in messages. On success the state
 * owns m; on failure the caller keeps it, and err says why (a bad label
 * mapping gives its node's location): WD_ERR_UNSUPPORTED (not a
 * sequence-classification encoder with tokenizer.json), WD_ERR_FORMAT,
 * WD_ERR_NOMEM. */
wd_status wd__encoder_classifier_new(const wd__encoder_classifier_params *p, wd_model *m,
                                     const char *where, void **impl, wd__err *err);

#endif
