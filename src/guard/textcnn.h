/*
 * guard/textcnn.h - the convolutional form of the built-in classifier
 * (internal): a word-level CNN with max-pooling over the whole text, for
 * the built-in classifier when its file says `arch: cnn` (textclf.c reads
 * and writes the file; this is the network).
 *
 * Why a second form. The linear model (textclf.c) sums one weight per
 * n-gram and divides by sqrt(n): every word of a long text pushes its
 * score a little, and no feature sees how its words combine beyond the
 * bigram. A convolution over a window of words, a ReLU and a maximum over
 * the positions detects a pattern wherever it is and ignores how much
 * other text surrounds it (Kim 2014, "Convolutional Neural Networks for
 * Sentence Classification").
 *
 * The network, for a text of T tokens:
 *   - tokens: maximal runs of word bytes (textclf.c's: ASCII letters and
 *     digits, non-ASCII bytes), and each other visible ASCII byte alone
 *     (a run of one repeated byte, "!!!", is one token);
 *   - a token's vector: e = E[word bucket] + mean of E[n-gram bucket] over
 *     the byte n-grams (char_min..char_max) of "<word>" (fastText's
 *     subwords: "terminating" shares most of its vector with "terminate",
 *     a misspelling keeps most of its word's), buckets = hash & (2^bits - 1);
 *     with `concepts`, plus E[concept bucket] for each WordNet concept of
 *     the word (textclf.c's table: "strangle" and "slay" share KILL's
 *     vector with "kill"); E is int8 with one scale per row;
 *   - the sequence is padded with (width-1)/2 zero vectors before and the
 *     rest after; position t's pre-activation is
 *         a[t, f] = conv_b[f] + sum_j X[t*D + j] * conv[j, f],  j < width*D
 *     over the width vectors from t (rows of X are contiguous, so the window
 *     is one run of width*D floats);
 *   - m[f] = max(0, max_t a[t, f]) (ReLU and max-pool; an empty text has m = 0);
 *   - z[l] = bias[l] + sum_f m[f] head[f, l], read as the linear model's z
 *     (sigmoids, and the softmax hazard head).
 * The sums run in the order written, multiply then add (no fused multiply-add:
 * the file is built with -ffp-contract=off), so training gives the same
 * bytes on every x86-64 and the plain C and vector forms agree exactly.
 */
#ifndef WD_GUARD_TEXTCNN_H
#define WD_GUARD_TEXTCNN_H

#include <stddef.h>
#include <stdint.h>

#include "guard/stop.h"
#include "warden/base.h"

#define WD_TEXTCNN_MAX_DIM     256
#define WD_TEXTCNN_MAX_FILTERS 1024
#define WD_TEXTCNN_MAX_WIDTH   7
#define WD_TEXTCNN_MAX_BUCKETS 64 /* word + n-grams of one token, at most */
#define WD_TEXTCNN_WORD_BYTES  32 /* a word's n-grams come from its first 32 bytes */
/* The largest weight (and embedding scale) a file may hold: with D <= 256,
 * width <= 7, F <= 1024 and up to 64 buckets a token, no sum can overflow
 * a float (|z| < 1e4 * 127 * 64 * 1e4 * 1792 * 1e4 * 1024 ~ 1e21). */
#define WD_TEXTCNN_MAX_WEIGHT 1e4f

typedef struct wd__textcnn_shape {
    int bits;     /* embedding rows V = 2^bits, 10..24                    */
    int dim;      /* D, a multiple of 8                                   */
    int filters;  /* F, a multiple of 32                                  */
    int width;    /* window in tokens, 1..WD_TEXTCNN_MAX_WIDTH            */
    int char_min; /* byte n-grams of "<word>", 0 = none                   */
    int char_max;
    int concepts; /* 1: a word's WordNet concepts add their own vectors   */
} wd__textcnn_shape;

/* A concept's bucket carries this bit (buckets are below 2^24): its vector
 * is added whole, where the n-grams' are averaged. */
#define WD_TEXTCNN_CONCEPT 0x80000000u

/* The weights. Pointers may point into a mapped file or to owned buffers
 * (textclf.c frees what it owns). */
typedef struct wd__textcnn {
    wd__textcnn_shape sh;
    size_t            n_labels;
    const int8_t     *emb;       /* (V, D) */
    const float      *emb_scale; /* (V)    */
    const float      *conv;      /* (width*D, F) */
    const float      *conv_b;    /* (F)    */
    const float      *head;      /* (F, L) */
} wd__textcnn;

/* NULL when valid, else what is wrong with sh (a static string). */
const char *wd__textcnn_shape_check(const wd__textcnn_shape *sh);

/* The tokens of text in order: emit(ctx, buckets, n) with buckets[0] the
 * word's bucket and buckets[1..n) its n-grams' and then its concepts' (those
 * with WD_TEXTCNN_CONCEPT set; n == 1 for punctuation).
 * Stops early (returns the tokens so far and sets *stopped) when stop says
 * so; stop may be NULL. Returns the number of tokens. */
typedef void (*wd__textcnn_token_fn)(void *ctx, const uint32_t *buckets, size_t n);
size_t wd__textcnn_tokens(const wd__textcnn_shape *sh, const char *text, size_t len,
                          wd__textcnn_token_fn emit, void *ctx, const wd__scan_stop *stop,
                          wd_status *stopped);

/* The pre-activations' maximum of one window, for every filter, over the T
 * windows of X (T + width - 1 padded rows of D floats): m[f] = max(0,
 * max_t a[t, f]), arg[f] = the t of the maximum or -1 when none is > 0.
 * arg may be NULL. Picks an AVX2 kernel where the CPU has one, else the
 * portable vector form (_vec); both give the plain C form's sums (_ref)
 * exactly. */
void wd__textcnn_conv_max(const wd__textcnn_shape *sh, const float *conv, const float *conv_b,
                          const float *X, size_t T, float *m, int32_t *arg);
void wd__textcnn_conv_max_vec(const wd__textcnn_shape *sh, const float *conv, const float *conv_b,
                              const float *X, size_t T, float *m, int32_t *arg);
void wd__textcnn_conv_max_ref(const wd__textcnn_shape *sh, const float *conv, const float *conv_b,
                              const float *X, size_t T, float *m, int32_t *arg);

/* z (n_labels) for normalised text (as wd_textclf_predict's): allocates the
 * token matrix (WD_ERR_NOMEM), polls stop every 64 KiB. */
wd_status wd__textcnn_logits(const wd__textcnn *c, const char *text, size_t len, const float *bias,
                             float *z, const wd__scan_stop *stop);

#endif
