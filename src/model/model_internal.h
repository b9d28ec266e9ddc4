/*
 * model/model_internal.h - the structs shared by the runtime's files
 * (model.c loads, decoder.c / encoder.c / modernbert.c run, kvcache.c plans the context,
 * sampling.c and generate.c drive decoding).
 *
 * Norms, biases and encoder weights are `const float *` into either the
 * checkpoint's mmap (F32, aligned) or memory the model owns (converted).
 * A decoder's matrices (the linear layers, the embedding table, lm_head)
 * are wd__weight: used in place, in the type the file stores them in (F32,
 * F16, BF16 or a ggml block type), and computed by tensor/qmatmul.c
 * without a widened copy. Shapes are those of nn.Linear as Hugging Face
 * stores them: W (out_features, in_features).
 */
#ifndef WD_MODEL_INTERNAL_H
#define WD_MODEL_INTERNAL_H

#include "base/err.h"
#include "model/config_internal.h"
#include "warden/checkpoint.h"
#include "warden/gguf.h"
#include "warden/model.h"
#include "warden/ops.h"

/* A matrix (rows, cols) of a decoder in its stored type; rows are
 * wd__qmatmul_row_size(type, cols) bytes apart. */
typedef struct wd__weight {
    const void  *data;
    wd_ggml_type type;
} wd__weight;

/* Decoder layer: C = hidden, H = n_head, KV = n_kv_head, D = head_dim,
 * I = intermediate. Biases are NULL when the checkpoint has none. */
typedef struct wd__dec_layer {
    const float *attn_norm;               /* (C)                       */
    wd__weight   wq, wk, wv;              /* (H*D,C) (KV*D,C) (KV*D,C) */
    const float *bq, *bk, *bv;            /* (H*D) (KV*D) (KV*D)       */
    wd__weight   wo;                      /* (C,H*D)                   */
    const float *bo;                      /* (C)                       */
    const float *ffn_norm;                /* (C)                       */
    wd__weight   w_gate, w_up, w_down;    /* (I,C) (I,C) (C,I)         */
    /* Gemma (gemma.c), NULL for the other decoders: post_attention_layernorm
     * on the attention output, post_feedforward_layernorm on the MLP's */
    const float *attn_post_norm, *ffn_post_norm; /* (C) (C) */
    /* qwen3, gemma3: the per-head RMSNorm of q and k before rope, else NULL */
    const float *q_norm, *k_norm;                /* (D) (D) */
} wd__dec_layer;

/* Encoder layer (post-LN): C = hidden, I = intermediate. */
typedef struct wd__enc_layer {
    const float *wq, *bq, *wk, *bk, *wv, *bv; /* (C,C) (C)           */
    const float *wo, *bo;                     /* (C,C) (C)           */
    const float *ln1_w, *ln1_b;               /* (C): after attention */
    const float *w_in, *b_in;                 /* (I,C) (I)           */
    const float *w_out, *b_out;               /* (C,I) (C)           */
    const float *ln2_w, *ln2_b;               /* (C): after the MLP  */
} wd__enc_layer;

/* ModernBERT layer (pre-LN): C = hidden, F = intermediate. Norm biases
 * and linear biases are NULL when config.json says there are none. */
typedef struct wd__mbert_layer {
    const float *attn_norm_w, *attn_norm_b; /* (C); NULL on layer 0 (Identity) */
    const float *wqkv, *bqkv;               /* (3C,C) (3C): rows q | k | v     */
    const float *wo, *bo;                   /* (C,C) (C)                       */
    const float *mlp_norm_w, *mlp_norm_b;   /* (C)                             */
    const float *wi, *bi;                   /* (2F,C) (2F): rows input | gate  */
    const float *w_out, *b_out;             /* (C,F) (C)                       */
} wd__mbert_layer;

typedef enum wd__head_kind {
    WD_HEAD_NONE = 0,
    WD_HEAD_BERT,       /* tanh(pooler(x[0])) -> classifier                       */
    WD_HEAD_ROBERTA,    /* tanh(classifier.dense(x[0])) -> classifier.out_proj    */
    WD_HEAD_DISTILBERT, /* relu(pre_classifier(x[0])) -> classifier              */
    WD_HEAD_SCORE,      /* decoders: score(final-normed x[last]), no bias (reward.c) */
    WD_HEAD_MODERNBERT, /* classifier(norm(act(head.dense(pool(x))))), pool cls | mean */
    WD_HEAD_DEBERTA,    /* act(pooler.dense(x[0])) -> classifier (ContextPooler)  */
} wd__head_kind;

struct wd_model {
    wd__err           err;
    char            *dir;
    wd_model_config *cfg;
    wd_checkpoint   *ck;  /* a model folder's weights, or NULL ...   */
    wd_gguf         *gg;  /* ... a .gguf file's                      */
    wd_tokenizer    *tok;
    wd_threadpool   *tp;
    int              n_threads;

    /* sizes */
    size_t C, H, KV, D, F, V, L, n_pos; /* F = intermediate (I is complex.h's) */
    float  eps;
    wd_rope_layout rope_layout;
    float *inv_freq; /* (D/2), decoders */

    /* memory the model owns: converted or realigned weights */
    float  **owned;
    size_t   n_owned, cap_owned;
    uint64_t owned_bytes;
    uint64_t n_params;
    uint64_t weight_bytes; /* as computed: 4 per F32 parameter, less when stored smaller */

    /* decoder */
    wd__weight     tok_embd; /* (V,C) */
    const float   *out_norm; /* (C)   */
    wd__weight     lm_head;  /* (V,C), == tok_embd when tied; data NULL for a
                                *ForSequenceClassification decoder (head SCORE) */
    wd__dec_layer *dec;      /* (L)   */

    /* encoder */
    const float   *word_embd, *pos_embd, *type_embd; /* (V,C) (P,C) (T,C) or NULL */
    const float   *embd_ln_w, *embd_ln_b;            /* (C) */
    wd__enc_layer *enc;                               /* (L) */
    wd__head_kind  head;
    const float   *head_dense_w, *head_dense_b;       /* (C,C) (C) */
    const float   *head_out_w, *head_out_b;           /* (NL,C) (NL); a decoder's
                                                         score.weight, no bias */
    size_t         n_labels;
    struct wd__deberta *deb;                          /* deberta-v2's own weights, or NULL */

    /* modernbert (modernbert.c); word_embd, embd_ln_* and the head_* above
     * are shared with the BERT family */
    wd__mbert_layer *mbert;                    /* (L)                           */
    const float     *final_norm_w, *final_norm_b; /* (C)                        */
    const float     *head_norm_w, *head_norm_b;   /* (C)                        */

    /* steering (steer.c): every context's forward pass applies it */
    float *steer_add;    /* (C) scaled by steer_scale, entering layer steer_layer; or NULL */
    float  steer_scale;
    size_t steer_layer;
    float *steer_ablate; /* (K, C) orthonormal rows, or NULL */
    float *steer_ablate_to; /* (K) components kept along them, or NULL (zeros) */
    size_t steer_n_ablate;

    /* what qwen3 / phi3 / granite / gemma change in the forward pass (set at
     * load; the values noted leave a llama's computation as it was) */
    size_t rope_dim;         /* R dims of each head rotated: phi3's partial
                                rotary (D elsewhere); inv_freq is (R/2)      */
    float  rope_attn_factor; /* phi3 longrope: cos and sin scaled (1)        */
    float  attn_scale;       /* softmax scale: 1/sqrt(D); granite's
                                attention_multiplier; gemma's query_pre_attn_scalar^-0.5 */
    float  embd_scale;       /* granite embedding_multiplier, gemma sqrt(C) (1) */
    float  res_scale;        /* granite residual_multiplier (1)             */
    float  logits_div;       /* granite logits_scaling (1)                  */
    float  attn_softcap;     /* gemma2: scores <- c tanh(scores / c) before the mask; 0 = none */
    float  logit_softcap;    /* gemma: logits <- c tanh(logits / c); 0 = none */
    float *inv_freq_local;   /* (D/2) the sliding (local) layers' rotary frequencies, or
                                NULL; inv_freq holds the global ones (also ModernBERT's) */

    /* editable weights (edit.c): NULL until wd_model_make_writable */
    struct wd__mtensor *edit;
    size_t              n_edit;
};

/* One weight made writable (edit.c). */
typedef struct wd__mtensor {
    char   name[96];
    float *data;
    size_t rows, cols;
    bool   is_norm;
} wd__mtensor;

/* The context's buffers, planned once (kvcache.c). T = n_batch rows. */
struct wd_context {
    wd_model *m;
    size_t    n_ctx, n_batch, n_past;
    /* KV cache, decoders: per layer (n_ctx, KV, D) each, layer l at
     * k_cache + l * n_ctx * KV * D. */
    float *k_cache, *v_cache;
    size_t kv_bytes, bytes;
    /* work space */
    float   *x;      /* (T,C) residual stream                        */
    float   *xn;     /* (T,C) normed                                 */
    float   *q;      /* (T,H*D) queries (encoders: (T,C))             */
    float   *k, *v;  /* encoders: (T,C); decoders use the cache       */
    float   *att;    /* scores: encoders (T,n_ctx), one head's; decoders
                        (threads x min(T, WD_ATTN_ROWS), n_ctx)        */
    float   *att_kt; /* decoders: (threads, D, WD_ATTN_KEYS) key tiles */
    float   *ao;     /* (T,H*D) attention output                      */
    float   *ff1;    /* (T,I) gate / intermediate                     */
    float   *ff2;    /* (T,I) up (ModernBERT: the GeGLU gate)         */
    float   *rcos, *rsin; /* (T,D/2) rope table (ModernBERT: (2,T,D/2),
                             its global layers' then its local layers') */
    int32_t *pos;    /* (T) positions                                 */
    float   *stat1, *stat2; /* (T) norm caches (rstd, mean)           */
    float   *logits; /* (V) last token's logits                       */
    bool     has_logits;
    float   *hid;    /* (C) head work space                           */
    float   *hid2;   /* (C)                                           */
    wd_taps *taps;   /* the caller's (wd_context_set_taps), or NULL    */
    float   *stat_h; /* (T*H) per-head norm cache (q_norm / k_norm)    */
    float   *rcos_local, *rsin_local; /* (T,D/2) or NULL: m->inv_freq_local's table */
    struct wd__deberta_work *deb; /* deberta-v2's relative-attention buffers, or NULL */
};

/* steer.c: the taps and the model's steering, called by decoder.c's layers:
 * at the entry of layer l (l == L: after the last one) over x (T,C); after
 * a block's residual add (ablation); on a linear layer's input (T,n) whose
 * act_sq slot starts at column off. */
void wd__steer_layer_entry(wd_context *ctx, size_t l, float *x, size_t T);
void wd__steer_after_block(const wd_model *m, float *x, size_t T);
void wd__tap_act(wd_context *ctx, size_t l, size_t off, const float *in, size_t T, size_t n);

/* Branches of one batch (wd_model_decode_branches): rows off[b]..off[b+1]
 * continue the first fork[b] cached tokens. */
typedef struct wd__branches {
    const size_t *off, *fork;
    size_t        n;
} wd__branches;

/* attention.c: ao (T,H*D) = attention of q (T,H*D) over layer l's cache
 * rows 0..n_past+T-1 (the T rows' keys and values already written), for
 * the T rows at cache rows n_past..; causal, or as br says (NULL: one
 * causal run). In ctx->q / ctx->ao; on the model's pool. */
void wd__decoder_attention(wd_context *ctx, size_t l, size_t T, const wd__branches *br);

/* attention.c's units: blocks of WD_ATTN_ROWS query rows (ctx->att holds
 * that many rows of n_ctx scores per pool thread) scored against tiles of
 * WD_ATTN_KEYS keys (ctx->att_kt: a D x WD_ATTN_KEYS tile per thread). */
#define WD_ATTN_ROWS 16
#define WD_ATTN_KEYS 8

/* decoder.c: runs ids[0..n) (n <= n_batch) at positions n_past.., updating
 * the cache; writes the final-normed hidden states of the rows into ctx->xn
 * and, when out_logits is not NULL, the logits of rows [row0, n) into
 * out_logits ((n - row0) x V). */
wd_status wd__decoder_step(wd_context *ctx, const int32_t *ids, size_t n, float *out_logits,
                           size_t row0);

/* reward.c: the head SCORE on the final-normed row h (C): logits (n_labels). */
void wd__decoder_head(const wd_model *m, const float *h, float *logits);
/* reward.c: the error of asking a decoder without an LM head (a reward
 * model) for logits; what names the call. Returns WD_ERR_UNSUPPORTED. */
wd_status wd__no_lm_head(wd_model *m, const char *what);

/* encoder.c: the last hidden state (n,C) of ids into ctx->x (n <= n_batch). */
wd_status wd__encoder_run(wd_context *ctx, const int32_t *ids, size_t n);
/* The classification head on ctx->x row 0: logits (n_labels). */
void wd__encoder_head(wd_context *ctx, float *logits);

/* modernbert.c: the same two for ModernBERT: the final-normed last hidden
 * state (n,C) into ctx->x, and the head on it (cls: row 0; mean: the mean
 * of the n rows) into logits (n_labels). */
wd_status wd__modernbert_run(wd_context *ctx, const int32_t *ids, size_t n);
void wd__modernbert_head(wd_context *ctx, size_t n, float *logits);
/* encoder.c: the hidden activation act on x (n) in place. */
void wd__encoder_activation(float *x, size_t n, wd_act act, wd_threadpool *tp);
/* encoder.c: the rest of a post-LN (BERT-family) layer once attention has
 * left its heads in ctx->ao: x = LN1(x + ao Wo^T + bo), then
 * x = LN2(x + act(x Win^T + bin) Wout^T + bout), in ctx->x (T,C). */
void wd__encoder_layer_tail(wd_context *ctx, const wd__enc_layer *y, size_t T);

/* deberta.c: DeBERTa-v2/v3 (model_type "deberta-v2"). bind reads the
 * weights of DebertaV2Model / *ForSequenceClassification into m (the
 * shared fields: word_embd, pos_embd, type_embd, embd_ln_*, enc, head_*)
 * and m->deb; work_new plans a context's extra buffers (ctx->deb), freed
 * by work_free (NULL is a no-op); run is wd__encoder_run for it; head is
 * the ContextPooler and classifier on ctx->x row 0. */
wd_status wd__deberta_bind(wd_model *m);
void      wd__deberta_free(struct wd__deberta *d);
wd_status wd__deberta_work_new(wd_context *ctx, size_t *bytes);
void      wd__deberta_work_free(struct wd__deberta_work *w);
wd_status wd__deberta_run(wd_context *ctx, const int32_t *ids, size_t n);
void      wd__deberta_head(wd_context *ctx, float *logits);

/* The prefix of an encoder's body in a *ForSequenceClassification
 * checkpoint: the class's base_model_prefix. */
static inline const char *wd__encoder_prefix(const wd_model_config *c) {
    return c->type == WD_MODEL_TYPE_XLM_ROBERTA  ? "roberta"
           : c->type == WD_MODEL_TYPE_DEBERTA_V2 ? "deberta"
                                                  : c->model_type;
}
/* RoBERTa's positions (from padding_idx + 1) and head: roberta, xlm-roberta. */
static inline bool wd__encoder_is_roberta(const wd_model_config *c) {
    return c->type == WD_MODEL_TYPE_ROBERTA || c->type == WD_MODEL_TYPE_XLM_ROBERTA;
}

/* gguf_model.c: a .gguf's config (from the <arch>.* keys) and tokenizer
 * (tokenizer.ggml.*; WD_ERR_NOT_FOUND when the file has none). */
wd_status wd__gguf_load_config(const wd_gguf *g, wd_model_config **out);
wd_status wd__gguf_load_tokenizer(const wd_gguf *g, wd_tokenizer **out);
/* The GGUF name of a Hugging Face decoder tensor name ("model.layers.3.
 * self_attn.q_proj.weight" -> "blk.3.attn_q.weight"); false when unknown. */
bool wd__gguf_tensor_name(const char *hf, char *out, size_t cap);
/* The same for the architecture of c: Gemma's post-attention, pre- and
 * post-feed-forward norms get llama.cpp's gemma2 / gemma3 names. */
bool wd__gguf_tensor_name_for(const wd_model_config *c, const char *hf, char *out, size_t cap);
/* gguf_convert_arch.c: the general.architecture llama.cpp names c's
 * decoder with when warden writes it (NULL: not written), and the
 * <arch>.* keys beyond the common ones, after checking llama.cpp can run
 * c as configured (a clear error naming path otherwise). */
const char *wd__gguf_arch_of(const wd_model_config *c);
wd_status wd__gguf_check_writable(const wd_model_config *c, const char *path);
wd_status wd__gguf_write_arch_keys(wd_gguf_writer *w, const wd_model_config *c, const char *arch);
/* The regex of a tokenizer.ggml.pre name: NULL for GPT-2's, "" if unknown. */
const char *wd__gguf_pre_regex(const char *pre);

/* model.c: binds a vector/matrix (d1 = 0 for a vector) as F32 / a decoder
 * matrix in its stored type, by its Hugging Face name, checking the shape;
 * absent and not required: *out NULL (data NULL) and WD_OK. Errors are set
 * on m and name the file and the tensor. */
wd_status wd__model_bind(wd_model *m, const char *name, int64_t d0, int64_t d1, bool required,
                         const float **out);
wd_status wd__model_bind_weight(wd_model *m, const char *name, int64_t d0, int64_t d1,
                                bool required, wd__weight *out);

/* phi3.c: binds layer l's fused qkv_proj and gate_up_proj and points wq,
 * wk, wv, w_gate, w_up at their row ranges (views: no copy). */
wd_status wd__phi3_bind_layer(wd_model *m, size_t l, wd__dec_layer *y);
/* phi3.c: the rotated dims R of a head (int(D * partial_rotary_factor)). */
size_t wd__phi3_rope_dim(const wd_model_config *c);
/* phi3.c: longrope's frequencies into m->inv_freq (R/2) and its attention
 * factor (short_factor: the config caps positions, see phi3.c). */
wd_status wd__phi3_longrope(wd_model *m);
/* phi3.c: rope on the first R of each head's D dims: x (T,H,D) in place,
 * cos / sin (T,R/2). */
void wd__rope_partial(float *x, const float *cos, const float *sin, size_t T, size_t H, size_t D,
                      size_t R, wd_rope_layout layout);
/* granite.c: x (n) *= s, nothing when s is 1 (granite's multipliers,
 * phi3 longrope's attention factor). */
void wd__mul_scalar(float *x, size_t n, float s);
/* The decoders whose tensors and forward are Llama's (llama, mistral,
 * qwen2): what training, GGUF writing and weight editing read and write.
 * Returns WD_OK, or WD_ERR_UNSUPPORTED with a message naming what and the
 * model_type (set on m when m is not NULL, else the thread's error). */
wd_status wd__require_llama_layout(wd_model *m, const wd_model_config *c, const char *what);

/* model.c: takes ownership of p (freed with the model). */
wd_status wd__model_own(wd_model *m, float *p);

/* model.c: the thread pool and size checks. */
static inline bool wd__model_is_decoder(const wd_model *m) {
    return m->cfg->family == WD_MODEL_FAMILY_DECODER;
}

#endif
