/*
 * train/tenc.h - a BERT-family encoder classifier (bert, roberta,
 * distilbert *ForSequenceClassification) that can be trained: float32
 * parameters of its own (tparams.h) read from a loaded model's safetensors
 * checkpoint, a forward pass over a batch of B rows of T tokens that keeps
 * what the backward needs, the classification head on each row's first
 * token, and the backward from dloss/dlogits into every parameter.
 *
 * The maths is model/encoder.c's (Hugging Face's BertModel / RobertaModel /
 * DistilBertModel and their sequence-classification heads, eval mode: no
 * dropout), laid out for training as train/tdec.h does: activations
 * planned once for (Bmax, Tmax), each layer's saved in its own buffers, or
 * with checkpointing only each layer's input kept and the rest recomputed
 * during the backward.
 *
 * A step:
 *
 *     wd__tenc_forward(e, ids, B, T);        hidden states of every token
 *     wd__tenc_logits(e, logits);            (B, n_labels) from each row's [CLS]
 *     ... loss from logits, dloss/dlogits ...
 *     wd__tenc_backward_logits(e, dlogits);
 *
 * Rows are independent sequences of T tokens, no padding: every token
 * attends to every token of its row, token type 0, positions 0..T-1
 * (RoBERTa: pad_token_id + 1 + t, as the runtime counts them, so a row
 * should not hold the pad id). Gradients ADD into the parameter set's grad
 * vector; zero it before a step.
 *
 * Every checkpoint tensor is a trainable parameter under its Hugging Face
 * name, except DistilBERT's position table when config.json says
 * sinusoidal_pos_embds (Hugging Face freezes it too). BERT's token-type
 * table is trained whole, though only row 0 receives gradient.
 */
#ifndef WD_TRAIN_TENC_H
#define WD_TRAIN_TENC_H

#include "model/model_internal.h"
#include "train/tparams.h"

typedef struct wd__tenc_layer {
    wd__tparam *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo; /* (C,C) (C)          */
    wd__tparam *ln1_w, *ln1_b;                          /* (C) after attention */
    wd__tparam *w_in, *b_in, *w_out, *b_out;            /* (F,C) (F) (C,F) (C) */
    wd__tparam *ln2_w, *ln2_b;                          /* (C) after the MLP   */
} wd__tenc_layer;

/* One layer's saved activations over N = B*T rows (post-LN layer:
 * r1 = x_in + attn(x_in), x_mid = LN1(r1), r2 = x_mid + mlp(x_mid),
 * output = LN2(r2)). */
typedef struct wd__tenc_acts {
    float *x_in;               /* (N,C) the layer's input                */
    float *q, *k, *v;          /* (N,C) projections, heads side by side  */
    float *att;                /* (B,H,T,T) attention probabilities      */
    float *ao;                 /* (N,C) attention output                 */
    float *r1, *mean1, *rstd1; /* (N,C) (N) (N) LN1's input and stats    */
    float *x_mid;              /* (N,C) LN1's output                     */
    float *pre, *act;          /* (N,F) intermediate before / after act  */
    float *r2, *mean2, *rstd2; /* (N,C) (N) (N) LN2's input and stats    */
} wd__tenc_acts;

typedef struct wd__tenc {
    wd__err      err;
    wd__tparams  P;
    size_t       C, H, D, F, V, L, n_pos, n_types, n_labels;
    float        eps;
    wd_act       act;
    wd__head_kind head;
    int32_t      pad;   /* RoBERTa's padding_idx; -1 otherwise */
    wd__tparam  *word, *pos, *type, *emb_ln_w, *emb_ln_b; /* type NULL for DistilBERT */
    wd__tparam  *head_dense_w, *head_dense_b, *head_out_w, *head_out_b;
    wd__tenc_layer *lay;
    wd_threadpool  *tp;

    /* planned buffers */
    size_t Bmax, Tmax, B, T;
    bool   ckpt;
    wd__tenc_acts *acts;            /* (L); with ckpt all but x_in shared        */
    float *emb, *mean0, *rstd0;     /* (N,C) (N) (N) sum of embeddings, LN stats */
    float *x_out;                   /* (N,C) the last layer's output              */
    float *cls, *hpre, *hid;        /* (B,C) first tokens, head before/after act  */
    float *dres, *dmid, *dao, *dq, *dk, *dv, *tmp; /* (N,C)                      */
    float *dpre, *dact;             /* (N,F)                                      */
    float *datt, *dS;               /* (T,T)                                      */
    float *dcls, *dhid;             /* (B,C)                                      */
    int32_t *ids, *pos_ids;         /* (N) the batch's ids and positions          */
    void  *mem;
} wd__tenc;

/* Reads the encoder's parameters and classification head from m (a
 * bert/roberta/distilbert *ForSequenceClassification loaded from a
 * safetensors folder; GGUF files and head-less models are refused) into
 * e, every tensor trainable, widened to float32. e is zeroed first; free
 * with wd__tenc_free. Errors go to e->err. */
wd_status wd__tenc_init(wd__tenc *e, const wd_model *m);

/* Plans activations for batches up to Bmax x Tmax (and the gradient
 * vector): call after the trainable flags are final. */
wd_status wd__tenc_plan(wd__tenc *e, size_t Bmax, size_t Tmax, bool checkpointing);

/* Forward over ids (B,T). WD_ERR_RANGE for a batch outside the plan, an id
 * outside the vocabulary or more positions than the model has. */
wd_status wd__tenc_forward(wd__tenc *e, const int32_t *ids, size_t B, size_t T);

/* After a forward: logits (B, n_labels) of the head on each row's first
 * token (what wd_model_classify returns as logits for that row). */
void wd__tenc_logits(wd__tenc *e, float *logits);

/* Backward from dloss/dlogits (B, n_labels) of the last _logits: through
 * the head, every layer and the embeddings. */
wd_status wd__tenc_backward_logits(wd__tenc *e, const float *dlogits);

void wd__tenc_free(wd__tenc *e);

#endif
