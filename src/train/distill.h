/*
 * train/distill.h - context distillation's training examples (distill.c).
 */
#ifndef WD_TRAIN_DISTILL_H
#define WD_TRAIN_DISTILL_H

#include "train/examples.h"
#include "warden/model.h"

/* Reads the prompts of path, answers each with m (greedy, up to max_new
 * tokens) under the system message preprompt, and returns examples of the
 * prompt alone (rendered as ep says) with that answer. */
wd_status wd__distill_read(wd_model *m, const char *path, const wd__examples_params *ep,
                           const char *preprompt, size_t max_new, wd__examples *out,
                           wd__err *err);

#endif
