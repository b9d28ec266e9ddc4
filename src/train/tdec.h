/*
 * train/tdec.h - a Llama-family decoder (llama, mistral, qwen2) that can be
 * trained: float32 parameters of its own (tparams.h) read from a loaded
 * model's safetensors checkpoint, a forward pass over a batch of B rows of
 * T tokens that keeps what the backward needs, and the backward that fills
 * the gradients of every trainable parameter.
 *
 * The maths is model/decoder.c's (Hugging Face's LlamaForCausalLM), laid
 * out for training as llm.c does: activations planned once for (B, T),
 * each layer's saved in its own buffers, or with checkpointing only each
 * layer's input kept and the rest recomputed during the backward.
 *
 * A step:
 *
 *     wd__tdec_forward(d, ids, B, T, NULL);        final-norm hidden states
 *     wd__tdec_logp(d, targets, logp);             log p(target) per row
 *     ... loss from logp, dloss/dlogp ...
 *     wd__tdec_backward_logp(d, targets, dlogp, NULL);
 *
 * Rows are independent sequences at positions 0..T-1 (no padding: pad with
 * any token and give its target WD_IGNORE_INDEX). Gradients ADD into the
 * parameter set's grad vector; zero it before a step.
 */
#ifndef WD_TRAIN_TDEC_H
#define WD_TRAIN_TDEC_H

#include "model/model_internal.h"
#include "train/lora.h"
#include "train/tparams.h"

typedef struct wd__tdec_layer {
    wd__tparam *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *bo;
    wd__tparam *ffn_norm, *wg, *wu, *wd;
    wd__lora   *lora[WD__LORA_N_TARGETS]; /* NULL where no adapter */
} wd__tdec_layer;

/* One layer's saved activations over BT = B*T rows. */
typedef struct wd__tdec_acts {
    float *x_in;          /* (BT,C) the residual entering the layer  */
    float *xn1, *rstd1;   /* (BT,C) (BT) attention norm              */
    float *q, *k, *v;     /* (BT,H*D) (BT,KV*D) (BT,KV*D), rotated    */
    float *att;           /* (B,H,T,T) attention probabilities        */
    float *ao;            /* (BT,H*D) attention output                */
    float *x_mid;         /* (BT,C) after the attention residual      */
    float *xn2, *rstd2;   /* (BT,C) (BT) MLP norm                     */
    float *gate, *up, *act; /* (BT,F) act = silu(gate) * up           */
} wd__tdec_acts;

typedef struct wd__tdec {
    wd__err      err;
    wd__tparams  P;
    size_t       C, H, KV, D, F, V, L, window;
    float        eps;
    wd_rope_layout rope;
    float       *inv_freq; /* (D/2) */
    wd__tparam  *embd, *norm, *lm_head; /* lm_head == embd when tied */
    wd__tdec_layer *lay;
    wd_threadpool  *tp;
    wd__lora_spec   lora; /* rank 0: no adapters */
    bool            input_grad_only; /* backward: only dloss/d(input embeddings),
                                        no parameter gradient (adversarial attacks) */

    /* planned buffers */
    size_t Bmax, Tmax, B, T;
    bool   ckpt;
    wd__tdec_acts *acts;  /* (L); with ckpt all but x_in shared */
    float *x_out, *xnf, *rstdf; /* (BT,C) (BT,C) (BT) final norm        */
    float *logits;        /* (BT,V) logits, then probabilities, then dlogits */
    float *rcos, *rsin;   /* (T,D/2) */
    int32_t *ids;         /* (BT) the batch's ids */
    float *dres, *dxn, *dq, *dk, *dv, *dqr, *dkr, *dao, *dgate, *dup, *dact, *tmp;
    float *datt, *dS;     /* (T,T) */
    float *lora_x, *lora_dx; /* (BT,r) LoRA work */
    void  *mem;
} wd__tdec;

/* Reads the decoder's parameters from m (a Llama-family model loaded from a
 * safetensors folder; GGUF files are refused) into d, every tensor
 * trainable, widened to float32. d is zeroed first; free with
 * wd__tdec_free. Errors go to d->err. */
wd_status wd__tdec_init(wd__tdec *d, const wd_model *m);

/* Adds LoRA adapters per spec (before _plan): the base weights of the
 * targeted projections and everything else become frozen; the adapters
 * are the trainable parameters. */
wd_status wd__tdec_add_lora(wd__tdec *d, const wd__lora_spec *spec, uint64_t seed);

/* Plans activations for batches up to Bmax x Tmax (and the gradient
 * vector): call after the trainable flags are final. */
wd_status wd__tdec_plan(wd__tdec *d, size_t Bmax, size_t Tmax, bool checkpointing);

/* Forward over ids (B,T). delta (B*T,C) or NULL is added to the input
 * embeddings (adversarial training). Leaves the final-norm hidden states
 * (B*T,C) in d->xnf. */
wd_status wd__tdec_forward(wd__tdec *d, const int32_t *ids, size_t B, size_t T,
                           const float *delta);

/* After a forward: logp[r] = log softmax(logits of row r)[targets[r]]
 * (0 where the target is WD_IGNORE_INDEX), r < B*T. Keeps the
 * probabilities for the backward. WD_ERR_RANGE for a bad target. */
wd_status wd__tdec_logp(wd__tdec *d, const int32_t *targets, float *logp);

/* Backward from dloss/dlogp (B*T) of the last _logp: through lm_head into
 * the layers. d_embd_in (B*T,C) or NULL receives dloss/d(input
 * embeddings). */
wd_status wd__tdec_backward_logp(wd__tdec *d, const int32_t *targets, const float *dlogp,
                                 float *d_embd_in);

/* Backward from dloss/d(final-norm hidden states) (B*T,C) (a reward head's
 * gradient). dxnf is read before any buffer it may alias is written. */
wd_status wd__tdec_backward_hidden(wd__tdec *d, const float *dxnf, float *d_embd_in);

void wd__tdec_free(wd__tdec *d);

#endif
