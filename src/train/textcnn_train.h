/*
 * train/textcnn_train.h - training the convolutional form of the built-in
 * classifier (guard/textcnn.h): the network's float parameters, one
 * example's forward and backward pass (exposed for the finite-difference
 * check), and the loop (wd__textcnn_train, textclf_train.h).
 */
#ifndef WD_TRAIN_TEXTCNN_TRAIN_H
#define WD_TRAIN_TEXTCNN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "guard/textcnn.h"
#include "train/textclf_train.h"

/* The parameters (or their gradients) as floats. */
typedef struct wd__cnn_net {
    wd__textcnn_shape sh;
    size_t            L;
    float            *emb;  /* (V, D)        */
    float            *conv; /* (width*D, F)  */
    float            *cb;   /* (F)           */
    float            *head; /* (F, L)        */
    float            *bias; /* (L)           */
} wd__cnn_net;

wd_status wd__cnn_net_alloc(wd__cnn_net *n, const wd__textcnn_shape *sh, size_t L);
void      wd__cnn_net_free(wd__cnn_net *n);

/* What one example's pass needs besides the parameters (sized for
 * max_tokens tokens). */
typedef struct wd__cnn_scratch {
    size_t    max_tokens, T;
    uint32_t *bk;      /* buckets of the tokens, flattened           */
    uint32_t *tok_off; /* token t's buckets: bk[tok_off[t]..tok_off[t+1]) */
    size_t    n_bk, cap_bk;
    float    *X, *dX;  /* (max_tokens + width - 1, D)                */
    float    *m, *md;  /* (F) pooled, after dropout                  */
    int32_t  *arg;     /* (F)                                         */
    const wd__cnn_net *net;
    int       oom;
} wd__cnn_scratch;

wd_status wd__cnn_scratch_alloc(wd__cnn_scratch *s, const wd__textcnn_shape *sh, size_t max_tokens);
void      wd__cnn_scratch_free(wd__cnn_scratch *s);

/* Tokenises text (its first s->max_tokens tokens) and runs the network
 * forward: z (net->L) the logits; mask (F) multiplies the pooled features
 * (dropout; NULL = none). WD_ERR_NOMEM when the bucket list cannot grow. */
wd_status wd__cnn_forward(const wd__cnn_net *net, wd__cnn_scratch *s, const char *text, size_t len,
                          const float *mask, float *z);

/* The backward pass of the last forward with dz = d loss / d z: adds into
 * g's dense arrays and into g->emb's rows; touch(ctx, row) is called for
 * each embedding row given a gradient (may repeat a row). */
void wd__cnn_backward(const wd__cnn_net *net, wd__cnn_scratch *s, const float *mask, const float *dz,
                      wd__cnn_net *g, void (*touch)(void *ctx, uint32_t row), void *ctx);

#endif
