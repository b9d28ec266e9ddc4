/*
 * train/tdec_attention.h - causal grouped-query attention over a batch of
 * independent rows, forward and backward, for the trainable decoder.
 *
 * Layout: q (B*T, H*D), k and v (B*T, KV*D) as the projections write them;
 * query head h reads kv head h / (H/KV). Scores are scaled by 1/sqrt(D);
 * a query at position i sees keys j <= i, and with a sliding window W
 * (Mistral) only i - W < j. att (B, H, T, T) keeps the probabilities.
 * The backward reads only those, so it serves any mask: the trainable
 * encoder (tenc.c) runs it after its own unmasked forward.
 */
#ifndef WD_TRAIN_TDEC_ATTENTION_H
#define WD_TRAIN_TDEC_ATTENTION_H

#include <stddef.h>

#include "warden/ops.h"

/* ao (B*T, H*D) = softmax(q k^T / sqrt(D) + mask) v; att (B,H,T,T). */
void wd__tattn_fwd(float *ao, float *att, const float *q, const float *k, const float *v,
                   size_t B, size_t T, size_t H, size_t KV, size_t D, size_t window,
                   wd_threadpool *tp);

/* dq (B*T,H*D), dk, dv (B*T,KV*D) are OVERWRITTEN with the gradients from
 * dao; dP and dS are (T,T) scratch. */
void wd__tattn_bwd(float *dq, float *dk, float *dv, float *dP, float *dS, const float *dao,
                   const float *att, const float *q, const float *k, const float *v, size_t B,
                   size_t T, size_t H, size_t KV, size_t D, wd_threadpool *tp);

#endif
