/*
 * guard/model_guard.h - a guard over a model already loaded: the one-scanner
 * guard wd_guard_load_model builds (an llm_judge for a decoder, an
 * encoder_classifier for a classifier, each with its defaults), for callers
 * that load the model folder themselves (the certifier), so that it is read
 * once.
 */
#ifndef WD_GUARD_MODEL_GUARD_H
#define WD_GUARD_MODEL_GUARD_H

#include "warden/guard.h"
#include "warden/model.h"

/* The guard named name over m. On success the guard owns m; on failure the
 * caller keeps it, and *out = NULL with the thread's last error set:
 * WD_ERR_UNSUPPORTED (no tokenizer.json, no classification head, or a
 * tokenizer that cannot write "unsafe"), WD_ERR_NOMEM. params may be NULL. */
wd_status wd__guard_new_model(const char *name, wd_model *m, const wd_guard_params *params, wd_guard **out);

#endif
