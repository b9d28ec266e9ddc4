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
 * model asks for, wd_textclf_norm_flags()); prediction itself never
 * allocates and is safe to call from many threads on one model.
 */
#ifndef WD_GUARD_TEXTCLF_H
#define WD_GUARD_TEXTCLF_H

#include <stddef.h>
#include <stdint.h>

#include "guard/stop.h"
#include "warden/base.h"
#include "warden/textclf.h"

#define WD_TEXTCLF_FORMAT "warden-textclf"
#define WD_TEXTCLF_VERSION 1

/* The model API (load, save, predict, thresholds) is public:
 * warden/textclf.h. What follows is for the scanner, the trainer and the
 * tests. */

/* True when labels 1..14 (S1..S14) are p(harmful) x softmax shares. */
int wd__textclf_softmax_hazards(const wd_textclf *m);

/* wd_textclf_predict, polling stop (may be NULL) every 64 KiB of text: returns
 * WD_ERR_TIMEOUT / WD_ERR_CANCELLED (probs unset) when told to stop. */
wd_status wd__textclf_predict_stop(const wd_textclf *m, const char *norm_text, size_t len,
                                   float *probs, const wd__scan_stop *stop);

/* ==== feature map (shared with the trainer) ============================= */

/* One hashed feature: bucket in [0, 2^hash_bits) and sign +1/-1. */
typedef struct wd__textclf_feat {
    uint32_t bucket;
    int32_t  sign;
} wd__textclf_feat;

typedef void (*wd__textclf_emit_fn)(void *ctx, uint32_t bucket, int sign);

/* Calls emit once per feature occurrence of text, in a fixed order; returns
 * the number of occurrences. The model's input vector is
 *     x[b] = sum over occurrences with bucket b of sign / sqrt(count)
 * (term counts, L2-normalised under the approximation that occurrences are
 * distinct: exact for texts without repeated n-grams). */
size_t wd__textclf_features(const wd_textclf_cfg *cfg, const char *text, size_t len,
                            wd__textclf_emit_fn emit, void *ctx);

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

/* Makes a convolutional model (textcnn.h) from float weights: emb (V, D)
 * (quantised to int8, one scale per row), conv (width*D, F), conv_b (F),
 * head (F, L), bias (L); thresholds 0.5. cfg gives the normalisation; its
 * feature fields are set from sh. */
struct wd__textcnn_shape;
wd_status wd__textclf_build_cnn(const wd_textclf_cfg *cfg, const struct wd__textcnn_shape *sh, size_t n_labels,
                                const char *const *labels, const float *emb, const float *conv,
                                const float *conv_b, const float *head, const float *bias,
                                int softmax_hazards, wd_textclf **out);
/* True for a convolutional model. */
int wd__textclf_is_cnn(const wd_textclf *m);

/* probs[1..14] = probs[0] * softmax(z[1..14]) (the "softmax" hazard head). */
void wd__textclf_hazard_softmax(const float *z, float *probs);

#endif
