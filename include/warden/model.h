/*
 * warden/model.h - the transformer runtime: Llama-family decoders and
 * BERT-family encoders loaded from Hugging Face model folders.
 *
 *   wd_model    the weights of one folder (config.json + safetensors, one
 *               file or sharded, + tokenizer.json when present). Immutable
 *               once loaded: any number of contexts may share it, from any
 *               number of threads (one context per thread).
 *   wd_context  the per-sequence state: the KV cache of a decoder and every
 *               work buffer of the forward pass, sized once at creation so
 *               that a forward pass never allocates.
 *   wd_sampler  picks the next token from logits (greedy, temperature,
 *               top-k, top-p, min-p, repetition penalty, seeded).
 *
 * Families: llama, mistral, qwen2 (and anything shaped like them: SmolLM,
 * TinyLlama) as causal LMs, or with a *ForSequenceClassification head
 * (reward models: wd_model_reward); bert, roberta, distilbert as encoders
 * with an optional *ForSequenceClassification head. Weights may be F32, F16 or BF16;
 * all arithmetic is F32 (see docs/runtime.md for the memory cost).
 *
 * Threads: wd_model_params.n_threads sizes both warden's own pool (norms,
 * RoPE, activations, attention softmax) and OpenBLAS's (every matmul). The
 * two never run at the same time -- a layer alternates between them -- so
 * giving both the number of cores does not oversubscribe. OpenBLAS's thread
 * count is process-wide: the last loaded model's setting wins.
 *
 * Errors: functions return wd_status; a model keeps the message of its last
 * failure (wd_model_last_error), a failed load leaves it in wd_last_error().
 */
#ifndef WARDEN_MODEL_H
#define WARDEN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wd_model   wd_model;
typedef struct wd_context wd_context;
typedef struct wd_sampler wd_sampler;
typedef struct wd_tokenizer wd_tokenizer; /* warden/tokenizer.h */
typedef struct wd_taps      wd_taps;

/* ==== Loading ============================================================ */

typedef struct wd_model_params {
    /* Threads for warden's pool and OpenBLAS; 0 = number of online CPUs. */
    int n_threads;
    /* Rotary layout of q_proj/k_proj rows (decoders):
     *   -1  from config.json's top-level key "rope_interleaved" (a warden
     *       extension; absent = false, the Hugging Face rotate-half layout),
     *    0  rotate-half (every checkpoint converted by transformers),
     *    1  interleaved pairs (Meta's original layout, converted without the
     *       q/k permutation). */
    int rope_interleaved;
    /* Load tokenizer.json from the folder when present (default true). */
    bool load_tokenizer;
} wd_model_params;

/* n_threads 0, rope_interleaved -1, load_tokenizer true. */
wd_model_params wd_model_params_default(void);

/* Loads the model folder dir. F32 tensors are used in place from the mmap
 * of the safetensors files (copied only when misaligned); F16/BF16 tensors
 * are converted once to F32 into memory the model owns. params may be NULL
 * (defaults). On success *out is new (free with wd_model_free). On failure
 * *out = NULL and wd_last_error() names the file and the tensor or field:
 * WD_ERR_NOT_FOUND (no config.json, no weights, a missing shard, a missing
 * tensor), WD_ERR_FORMAT (a tensor of the wrong shape or dtype),
 * WD_ERR_UNSUPPORTED (model_type or architecture warden does not run),
 * WD_ERR_NOMEM. */
wd_status wd_model_load(const char *dir, const wd_model_params *params, wd_model **out);

/* Frees the model; NULL is a no-op. Every context of it must be freed first. */
void wd_model_free(wd_model *m);

/* The parsed config.json, owned by m. */
const wd_model_config *wd_model_get_config(const wd_model *m);

/* The tokenizer loaded from tokenizer.json, or NULL when the folder has none
 * (or params.load_tokenizer was false). Owned by m. */
const wd_tokenizer *wd_model_tokenizer(const wd_model *m);

/* Vocabulary size (rows of the logits), hidden size, number of classes of
 * the classification head (0 when the checkpoint has none). */
size_t wd_model_n_vocab(const wd_model *m);
size_t wd_model_n_embd(const wd_model *m);
size_t wd_model_n_labels(const wd_model *m);

/* Name of class i (config.json's id2label), or NULL when out of range.
 * Owned by m. */
const char *wd_model_label(const wd_model *m, size_t i);

/* Number of parameters, and bytes of weights as the model computes on them
 * (4 per F32 parameter, 2 per F16/BF16 one, the block size for quantized
 * ones; embeddings counted once when tied). */
uint64_t wd_model_n_params(const wd_model *m);
uint64_t wd_model_weight_bytes(const wd_model *m);

/* Bytes the model allocated for weights converted to F32 (misaligned data,
 * encoders' F16/BF16 weights, half-precision norms); 0 when every weight
 * is used in place. */
uint64_t wd_model_owned_bytes(const wd_model *m);

/* The model's last error message ("" when none); valid until the next call
 * on m. Contexts report their failures here too, so with contexts used from
 * several threads read wd_last_error() (thread-local) instead. */
const char *wd_model_last_error(const wd_model *m);

/* ==== Contexts and the KV cache ========================================== */

typedef struct wd_context_params {
    /* Most tokens the context holds (decoders: KV cache length; encoders:
     * longest input). 0 = min(max_position_embeddings, 2048). */
    size_t n_ctx;
    /* Most tokens one forward pass processes at once (batched prefill
     * splits longer inputs into chunks of n_batch). 0 = min(n_ctx, 512). */
    size_t n_batch;
} wd_context_params;

/* n_ctx 0, n_batch 0 (see above). */
wd_context_params wd_context_params_default(void);

/* Creates a context for m: allocates the KV cache and every buffer the
 * forward pass needs (see wd_context_bytes). params may be NULL. Returns
 * WD_OK and *out (free with wd_context_free; must not outlive m), or
 * WD_ERR_INVALID_ARG (n_ctx larger than the model's positions) /
 * WD_ERR_NOMEM with *out = NULL. */
wd_status wd_context_new(wd_model *m, const wd_context_params *params, wd_context **out);

/* Frees the context; NULL is a no-op. */
void wd_context_free(wd_context *ctx);

/* The model, the capacity in tokens, and the number of tokens held. */
wd_model *wd_context_model(const wd_context *ctx);
size_t    wd_context_n_ctx(const wd_context *ctx);
size_t    wd_context_n_past(const wd_context *ctx);

/* Bytes of the KV cache and of all the context's buffers (KV included). */
size_t wd_context_kv_bytes(const wd_context *ctx);
size_t wd_context_bytes(const wd_context *ctx);

/* Forgets every token after the first n (n <= n_past): the cache keeps the
 * prefix, so decoding can continue from there. n = 0 empties it. Returns
 * WD_ERR_RANGE when n > n_past. */
wd_status wd_context_truncate(wd_context *ctx, size_t n);

/* Prefix sharing: makes dst hold exactly the first n tokens of src's cache
 * (a copy of their keys and values, no recomputation), so one prompt prefix
 * can be forked into several continuations. dst and src must belong to the
 * same model; dst == src is a truncate. Returns WD_ERR_RANGE when
 * n > src's n_past or n > dst's n_ctx, WD_ERR_INVALID_ARG for contexts of
 * different models or an encoder. */
wd_status wd_context_copy_prefix(wd_context *dst, const wd_context *src, size_t n);

/* ==== Forward passes ===================================================== */

typedef enum wd_logits_mode {
    WD_LOGITS_MODE_NONE = 0, /* only fill the cache                               */
    WD_LOGITS_MODE_LAST = 1, /* logits (V) of the last token                       */
    WD_LOGITS_MODE_ALL  = 2, /* logits (n,V) of every token of this call           */
} wd_logits_mode;

/* Decoders: appends ids[0..n) to the context at positions n_past .. n_past+n-1
 * (causal attention over everything cached), processing them n_batch at a
 * time (batched prefill; n = 1 is one decode step). Writes logits as mode
 * says into the caller's buffer (V or n*V floats; may be NULL for NONE),
 * and always keeps the last token's logits in the context
 * (wd_context_logits). Returns WD_ERR_RANGE when n_past + n > n_ctx or an
 * id is outside the vocabulary (the context is then unchanged),
 * WD_ERR_INVALID_ARG for an encoder. */
wd_status wd_model_decode(wd_context *ctx, const int32_t *ids, size_t n, float *logits,
                          wd_logits_mode mode);

/* Decoders: several continuations of the cached sequence in one batched
 * pass (erase-and-check's checks, batched judging). Branch b continues the
 * first fork[b] tokens of the cache (fork[b] <= n_past) with
 * ids[off[b] .. off[b+1]) (off[0] = 0, no branch empty); its tokens see that
 * prefix and their own branch only. logits + b*V gets the logits (V) after
 * branch b's last token: the same as truncating to fork[b] and decoding the
 * branch, up to rounding. The cache keeps its n_past tokens (the branches
 * use the rows past them as scratch). Returns WD_ERR_RANGE when the
 * branches' off[n_branch] tokens exceed n_batch or n_ctx - n_past, or a fork
 * is past n_past; WD_ERR_INVALID_ARG for bad offsets or an encoder;
 * WD_ERR_UNSUPPORTED when a sliding window (Mistral) could cut into the
 * positions involved. */
wd_status wd_model_decode_branches(wd_context *ctx, const int32_t *ids, const size_t *off,
                                   const size_t *fork, size_t n_branch, float *logits);

/* Empties the context, then decodes ids with logits (n,V) for every
 * position: the full-sequence forward of a causal LM. */
wd_status wd_model_forward(wd_context *ctx, const int32_t *ids, size_t n, float *logits);

/* The logits (V) of the last token decoded, owned by ctx, valid until the
 * next call on it; NULL before the first decode. */
const float *wd_context_logits(const wd_context *ctx);

/* Encoders with a classification head (and decoders with one, see
 * wd_model_reward): probs[0..n_labels) = softmax of the head's logits for
 * the sequence ids[0..n) (the caller adds the special tokens, e.g.
 * [CLS] ... [SEP]); logits may be NULL, else gets the raw
 * logits. n_labels must equal wd_model_n_labels. Returns
 * WD_ERR_UNSUPPORTED when the model has no head, WD_ERR_RANGE for n = 0,
 * n > n_ctx or an id out of range. */
wd_status wd_model_classify(wd_context *ctx, const int32_t *ids, size_t n, float *probs,
                            float *logits, size_t n_labels);

/* Decoders with a sequence-classification head (config.json's
 * architectures[0] ends in "ForSequenceClassification": a reward model as
 * Hugging Face's LlamaForSequenceClassification or `warden train reward`
 * writes it, with score.weight (num_labels, hidden) and no lm_head):
 * empties the context, runs ids[0..n) and writes
 * scores[j] = score.weight[j] . h for j < n_labels, where h is the
 * final-normed hidden state of the LAST token (HF scores the last non-pad
 * token; this input has no padding). With one label, scores[0] is the
 * reward. n_labels must equal wd_model_n_labels. Returns
 * WD_ERR_UNSUPPORTED for a model without that head, WD_ERR_RANGE for n = 0,
 * n > n_ctx or an id out of range.
 *
 * Such a model has no LM head: wd_model_generate, wd_model_score,
 * wd_model_decode_branches and wd_model_decode with logits fail with
 * WD_ERR_UNSUPPORTED and a message saying so; wd_model_classify gives the
 * softmax of its scores and wd_model_embed works as for any decoder. */
wd_status wd_model_reward(wd_context *ctx, const int32_t *ids, size_t n, float *scores,
                          size_t n_labels);

/* The mean over the n positions of the last hidden state (encoders: after
 * the last block; decoders: after the final norm) into out (n_embd). The
 * context is emptied first. */
wd_status wd_model_embed(wd_context *ctx, const int32_t *ids, size_t n, float *out,
                         size_t n_embd);

/* Decoders: the log-likelihood of ids[1..n) given what precedes each:
 * *logprob = sum_i log p(ids[i] | ids[<i]) (natural log), *n_scored = n - 1,
 * and the perplexity exp(-logprob / n_scored) in *ppl (any out may be
 * NULL). Empties the context first; n >= 2. */
wd_status wd_model_score(wd_context *ctx, const int32_t *ids, size_t n, double *logprob,
                         size_t *n_scored, double *ppl);

/* ==== Sampling =========================================================== */

typedef struct wd_sampler_params {
    float    temperature;    /* <= 0: greedy (argmax); default 0.8          */
    int      top_k;          /* keep the k most likely; <= 0 = all (40)     */
    float    top_p;          /* nucleus: smallest set with mass >= p (0.95) */
    float    min_p;          /* drop tokens with p < min_p * p_max (0.05)   */
    float    repeat_penalty; /* CTRL-style on the last repeat_last_n (1.0)  */
    int      repeat_last_n;  /* 64                                          */
    uint64_t seed;           /* same seed + same logits = same tokens (42)  */
} wd_sampler_params;

wd_sampler_params wd_sampler_params_default(void);

/* A sampler for vocabularies of n_vocab tokens; allocates its work space
 * once. Returns WD_OK and *out (free with wd_sampler_free), or
 * WD_ERR_INVALID_ARG / WD_ERR_NOMEM with *out = NULL. */
wd_status wd_sampler_new(const wd_sampler_params *params, size_t n_vocab, wd_sampler **out);
void      wd_sampler_free(wd_sampler *s);

/* Restarts the random stream from seed. */
void wd_sampler_reset(wd_sampler *s, uint64_t seed);

/* Picks a token from logits (n_vocab; not modified). history[0..n_history)
 * are the tokens so far (for the repetition penalty; may be NULL). The
 * order is Hugging Face generate()'s: repetition penalty, then (unless
 * greedy) temperature, top-k, top-p, min-p on the softmax of the survivors,
 * then a draw (see sampling.c). Returns the token id (>= 0). Does not
 * allocate. */
int32_t wd_sampler_sample(wd_sampler *s, const float *logits, const int32_t *history,
                          size_t n_history);

/* The probabilities the last wd_sampler_sample drew from, sorted by
 * decreasing probability: *ids and *probs (n entries, the survivors of the
 * filters; owned by s). For tests and diagnostics. */
size_t wd_sampler_candidates(const wd_sampler *s, const int32_t **ids, const float **probs);

/* ==== Generation ========================================================= */

/* Called once per generated token; piece is its text when the model has a
 * tokenizer (UTF-8, possibly empty while a multi-byte character is
 * incomplete), else NULL. Return false to stop. With a tokenizer, a last
 * call with id -1 carries text still held back when generation ends (its
 * return value is ignored). */
typedef bool (*wd_token_fn)(int32_t id, const char *piece, void *user);

typedef struct wd_generate_params {
    size_t            max_tokens;  /* 256                                        */
    wd_sampler_params sampler;
    bool              stop_at_eos; /* stop after config.json's eos ids (true)    */
    const char *const *stop;       /* stop strings (need a tokenizer); may be NULL */
    size_t            n_stop;
} wd_generate_params;

wd_generate_params wd_generate_params_default(void);

/* Empties the context, decodes prompt[0..n_prompt) in one batched prefill,
 * then samples up to max_tokens tokens, calling cb (may be NULL) for each.
 * Stops at an eos token (which is reported, then not fed back), when a
 * stop string appears in the generated text (the token completing it is
 * reported), when cb returns false, or when the context is full. The
 * generated ids go to out[0..*n_out) (out may be NULL; at most cap).
 * Returns WD_OK, WD_ERR_UNSUPPORTED for a reward model (no LM head), or
 * the status of the failing decode. */
wd_status wd_model_generate(wd_context *ctx, const int32_t *prompt, size_t n_prompt,
                            const wd_generate_params *params, wd_token_fn cb, void *user,
                            int32_t *out, size_t cap, size_t *n_out);


/* ==== Taps, steering and editable weights (decoders) ===================== */

/* What a context records of its forward passes (wd_model_decode and all
 * built on it: forward, score, generate, reward, embed; the scratch rows of
 * wd_model_decode_branches too). The buffers are the caller's; NULL ones
 * are skipped. Encoders ignore taps.
 *
 *   resid   (L+1, C): row l < L gets the residual stream ENTERING layer l,
 *           row L the stream after the last layer (before the final norm),
 *           both of the LAST row of the latest call: after a prompt is
 *           decoded, its last token's states (the safety-layers and
 *           refusal-direction methods' "last position").
 *   act_sq  (L, wd_model_act_width) doubles: per layer, the input of each
 *           linear layer squared and summed over every row processed,
 *           column by column, ADDED to what is there (zero it first):
 *           [q/k/v input (C) | o_proj input (H*D) | gate/up input (C) |
 *           down_proj input (I)]; sqrt gives Wanda's ||X_j||_2.
 *   n_rows  the context adds the rows it processed. */
struct wd_taps {
    float   *resid;
    double  *act_sq;
    uint64_t n_rows;
};

/* Sets the taps of ctx (NULL clears); taps must outlive their use. */
void wd_context_set_taps(wd_context *ctx, wd_taps *taps);

/* Columns of one layer's act_sq row: 2*C + H*D + I (0 for an encoder). */
size_t wd_model_act_width(const wd_model *m);
/* Number of layers L (rows of resid are L+1). */
size_t wd_model_n_layer(const wd_model *m);

/* Activation steering, model-wide: every context of m applies it from its
 * next forward pass on (set it while none of them is running).
 *
 *   add, add_scale, add_layer   add_scale * add (C) is added to every row's
 *                               residual stream entering layer add_layer
 *                               (0 <= add_layer < L): activation addition.
 *   ablate, n_ablate, ablate_to (n_ablate, C) directions (n_ablate 0 counts
 *                               as 1), orthonormalised here (Gram-Schmidt
 *                               in order): x <- x - sum_k (x.r_k - t_k)r_k
 *                               after the embedding and after every
 *                               attention and MLP block, at every position,
 *                               with t = ablate_to (n_ablate) or zeros when
 *                               NULL. t = 0 is directional ablation (the
 *                               same model as orthogonalising the weights);
 *                               t = the benign prompts' mean component is
 *                               affine ablation (Marshall et al. 2024).
 * The vectors are copied. s = NULL, or both NULL, turns steering off.
 * Returns WD_ERR_INVALID_ARG for an encoder, a layer out of range, or an
 * ablation direction that is zero or in the span of those before it. */
typedef struct wd_steering {
    const float *add;
    float        add_scale;
    size_t       add_layer;
    const float *ablate;
    size_t       n_ablate;
    const float *ablate_to;
} wd_steering;

wd_status wd_model_set_steering(wd_model *m, const wd_steering *s);

/* Editable weights: wd_model_make_writable turns every weight of a decoder
 * into an F32 array the model owns (F16/BF16 widened exactly; the map is
 * no longer read), so that a caller may perturb them in place and restore
 * them (the safety landscape, layer scaling). The memory cost is 4 bytes
 * per parameter. Returns WD_ERR_UNSUPPORTED for an encoder or a GGUF model
 * with quantized blocks, WD_ERR_NOMEM. Calling it again is a no-op.
 *
 * Tensors are listed in checkpoint order with their Hugging Face names:
 * model.embed_tokens.weight, per layer input_layernorm, q/k/v/o_proj
 * (weights and biases), post_attention_layernorm, gate/up/down_proj, then
 * model.norm.weight and lm_head.weight (absent when tied). A tensor's
 * data stays valid while m lives; contexts see changes at their next
 * forward pass. wd_model_tensor_at returns WD_ERR_INVALID_ARG before
 * wd_model_make_writable and WD_ERR_RANGE when i >= wd_model_n_tensors. */
typedef struct wd_model_tensor {
    const char *name;
    float      *data;
    size_t      rows, cols; /* vectors: rows = 1                  */
    bool        is_norm;    /* an RMSNorm weight                  */
} wd_model_tensor;

wd_status wd_model_make_writable(wd_model *m);
size_t    wd_model_n_tensors(const wd_model *m);
wd_status wd_model_tensor_at(const wd_model *m, size_t i, wd_model_tensor *out);

#ifdef __cplusplus
}
#endif
/* ==== benchmarking ======================================================= */

/* `warden bench`, in the shape of llama.cpp's llama-bench: a model loaded
 * from path (a folder or a .gguf), then prompt processing (n_prompt random
 * token ids in one batch from an empty cache) and generation (n_gen tokens
 * one at a time from an empty cache), each timed repetitions times after
 * one warm-up run of each. */
typedef struct wd_bench_params {
    int      n_prompt;    /* tokens of the prompt-processing test; 0: skip it (default 128) */
    int      n_gen;       /* tokens of the generation test; 0: skip it (default 64)          */
    int      repetitions; /* timed runs of each test (default 5)                             */
    int      n_threads;   /* 0: every CPU                                                    */
    uint64_t seed;        /* the random ids (default 1)                                      */
} wd_bench_params;

typedef struct wd_bench_result {
    double   load_s;          /* wd_model_load's wall time                           */
    uint64_t n_params;        /* wd_model_n_params                                   */
    uint64_t weight_bytes;    /* wd_model_weight_bytes                               */
    uint64_t peak_rss_bytes;  /* the process's peak resident memory (Linux VmHWM); 0 where unknown */
    int      n_threads;
    double   pp_tps, pp_tps_sd; /* prompt processing: tokens/s, mean and sample SD over runs */
    double   tg_tps, tg_tps_sd; /* generation: likewise                                    */
} wd_bench_result;

wd_bench_params wd_bench_params_default(void);

/* Runs the benchmark; *out filled on WD_OK. Decoders only (WD_ERR_UNSUPPORTED
 * for an encoder); n_prompt + n_gen must fit the model's positions
 * (WD_ERR_RANGE). */
wd_status wd_model_bench(const char *path, const wd_bench_params *params, wd_bench_result *out);

#endif /* WARDEN_MODEL_H */
