/*
 * guard/textclf.h - warden's built-in learned text classifier (internal).
 *
 * A linear multi-label model over hashed n-gram features of the normalised
 * text (see textclf.c for the feature definition). Labels: "harmful" (the
 * overall score), "S1".."S14" (the canonical hazards) and
 * "prompt_injection". "harmful" and "prompt_injection" are sigmoids; the
 * hazards are p(harmful) x p(hazard | harmful) (a softmax over S1..S14).
 *
 * The caller normalises the text first (wd__canonicalize with the flags the
 * model asks for, wd__textclf_norm_flags()); prediction itself never
 * allocates and is safe to call from many threads on one model.
 */
#ifndef WD_GUARD_TEXTCLF_H
#define WD_GUARD_TEXTCLF_H

#include <stddef.h>
#include <stdint.h>

#include "guard/stop.h"
#include "warden/base.h"

#define WD_TEXTCLF_FORMAT "warden-textclf"
#define WD_TEXTCLF_VERSION 1
#define WD_TEXTCLF_MAX_LABELS 32

/* Hyper-parameters of the feature map; stored in the model's __metadata__. */
typedef struct wd_textclf_cfg {
    int      hash_bits;     /* D = 2^hash_bits buckets, 10..24              */
    int      word_min;      /* word n-gram orders word_min..word_max (1..3)  */
    int      word_max;
    int      char_min;      /* character n-grams within "<word>", 0 = none  */
    int      char_max;      /* (codepoints, char_min..char_max, <= 8)        */
    unsigned norm_flags;    /* wd__canonicalize flags the text must go through */
    int      concepts;      /* 1 = WordNet concept features (textclf.c)      */
} wd_textclf_cfg;

/* The defaults the shipped model was trained with. */
wd_textclf_cfg wd__textclf_cfg_default(void);

typedef struct wd_textclf wd_textclf;

/* Loads a model file (safetensors, see textclf.c for the layout). On
 * failure *out is NULL and wd_last_error() names the file and the field. */
wd_status wd__textclf_load(const char *path, wd_textclf **out);
/* Same over a buffer; the buffer must outlive the model (it is not copied). */
wd_status wd__textclf_from_memory(const void *data, size_t len, wd_textclf **out);
/* The model embedded in the library, loaded once (thread-safe). NULL, with
 * wd_last_error() set, when the build has no embedded model. Never freed. */
const wd_textclf *wd__textclf_builtin(void);
/* Frees a model from load/from_memory; NULL is a no-op. */
void wd__textclf_free(wd_textclf *m);

size_t         wd__textclf_n_labels(const wd_textclf *m);
/* "harmful", "S1", ..., owned by m; NULL when i is out of range. */
const char    *wd__textclf_label(const wd_textclf *m, size_t i);
/* Index of a label by name, or -1. */
int            wd__textclf_label_index(const wd_textclf *m, const char *name);
/* Recommended decision threshold of label i (from training), 0.5 if absent. */
float          wd__textclf_threshold(const wd_textclf *m, size_t i);
/* Sets the recommended threshold of label i (training; before saving). */
void           wd__textclf_set_threshold(wd_textclf *m, size_t i, float t);
wd_textclf_cfg wd__textclf_cfg(const wd_textclf *m);
unsigned       wd__textclf_norm_flags(const wd_textclf *m);
/* True when labels 1..14 (S1..S14) are p(harmful) x softmax shares. */
int            wd__textclf_softmax_hazards(const wd_textclf *m);

/* Scores already-normalised text: probs[0..n_labels) gets the sigmoid of
 * each label. Empty text gets the biases alone. Never allocates. */
wd_status wd__textclf_predict(const wd_textclf *m, const char *norm_text, size_t len,
                              float *probs);
/* The same, polling stop (may be NULL) every 64 KiB of text: returns
 * WD_ERR_TIMEOUT / WD_ERR_CANCELLED (probs unset) when told to stop. */
wd_status wd__textclf_predict_stop(const wd_textclf *m, const char *norm_text, size_t len,
                                   float *probs, const wd_scan_stop *stop);

/* ==== feature map (shared with the trainer) ============================= */

/* One hashed feature: bucket in [0, 2^hash_bits) and sign +1/-1. */
typedef struct wd_textclf_feat {
    uint32_t bucket;
    int32_t  sign;
} wd_textclf_feat;

typedef void (*wd_textclf_emit_fn)(void *ctx, uint32_t bucket, int sign);

/* Calls emit once per feature occurrence of text, in a fixed order; returns
 * the number of occurrences. The model's input vector is
 *     x[b] = sum over occurrences with bucket b of sign / sqrt(count)
 * (term counts, L2-normalised under the approximation that occurrences are
 * distinct: exact for texts without repeated n-grams). */
size_t wd__textclf_features(const wd_textclf_cfg *cfg, const char *text, size_t len,
                            wd_textclf_emit_fn emit, void *ctx);

/* The WordNet concept bits of a word (lower-case ASCII), 0 if none; and the
 * name of concept bit i ("KILL", "PERSON", ...; NULL out of range). */
uint32_t    wd__textclf_concepts_of(const char *word, size_t len);
const char *wd__textclf_concept_name(int i);

/* The 64-bit hash used for features (exposed for tests). */
uint64_t wd__textclf_hash(const void *data, size_t len, uint64_t seed);

/* ==== building models (trainer, tests) ================================== */

/* Makes a model from float weights: w (D, L) row-major, bias (L),
 * threshold (L, may be NULL = 0.5). Weights are quantised to int8 with one
 * scale per label. labels: L strings (copied). softmax_hazards: see the
 * hazard_head note in textclf.c (labels 1..14 must then be S1..S14). */
wd_status wd__textclf_build(const wd_textclf_cfg *cfg, size_t n_labels, const char *const *labels,
                            const float *w, const float *bias, const float *threshold,
                            int softmax_hazards, wd_textclf **out);

/* probs[1..14] = probs[0] * softmax(z[1..14]) (the "softmax" hazard head). */
void wd__textclf_hazard_softmax(const float *z, float *probs);
/* Writes m as a safetensors file (atomically), with extra metadata pairs
 * (n_meta keys/values, may be 0). */
wd_status wd__textclf_save(const wd_textclf *m, const char *path, size_t n_meta,
                           const char *const *meta_keys, const char *const *meta_values);

#endif
