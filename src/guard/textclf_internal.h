/*
 * guard/textclf_internal.h - the built-in classifier's model object, shared
 * by textclf.c (features, prediction, the embedded models) and
 * textclf_file.c (building models, reading and writing their files).
 */
#ifndef WD_GUARD_TEXTCLF_INTERNAL_H
#define WD_GUARD_TEXTCLF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "guard/textclf.h"
#include "guard/textcnn.h"
#include "warden/safetensors.h"

struct wd_textclf {
    wd_textclf_cfg  cfg;
    size_t          n_labels;
    char           *labels[WD_TEXTCLF_MAX_LABELS];
    float           scale[WD_TEXTCLF_MAX_LABELS];
    float           bias[WD_TEXTCLF_MAX_LABELS];
    float           thr[WD_TEXTCLF_MAX_LABELS];
    int             softmax_hazards; /* labels 1..14 = S1..S14 as p(harmful) x softmax */
    const int8_t   *w;       /* (D, L): into st's map, or w_owned          */
    int8_t         *w_owned;
    wd_safetensors *st;      /* keeps the map alive when loaded from a file */
    int             is_cnn;  /* arch "cnn": cnn below, no w                 */
    wd__textcnn     cnn;
    void           *cnn_owned; /* one buffer behind cnn's arrays (built models) */
};

#endif
