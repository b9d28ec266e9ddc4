/*
 * warden/train.h - the training engine: trainable models (backward through
 * the runtime's families), optimisers, LoRA adapters, the objectives of
 * `warden train sft | reward | dpo`, differential privacy (DP-SGD and its
 * RDP accountant) and adversarial training.
 *
 * (The built-in text classifier's trainer is warden/textclf.h.)
 */
#ifndef WARDEN_TRAIN_H
#define WARDEN_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"
#include "warden/dataset.h"
#include "warden/guard.h"
#include "warden/router.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Training a decoder ================================================== */

/* What `warden train sft | reward | dpo` optimise (METHODS.md section 8):
 *
 *   SFT:    mean cross-entropy of the response tokens (the prompt, chat
 *           template included, carries no loss).
 *   REWARD: a scalar head r = w . h on the final hidden state of each
 *           sequence's last token (HF's LlamaForSequenceClassification
 *           "score" with one label); Llama 2's ranking loss
 *           -log sigmoid(r(chosen) - r(rejected) - margin). A bert /
 *           roberta / distilbert classifier trains the same way, its
 *           head's output layer cut to one score (prompt "\n" response
 *           between [CLS] and [SEP]; one sequence at a time); encoders train
 *           only as reward models.
 *   DPO:    -log sigmoid(beta * [(log pi(c) - log ref(c)) - (log pi(r) - log ref(r))])
 *           with log-probabilities summed over the response tokens and the
 *           reference computed once, before the first step, with the
 *           starting weights; IPO (ipo = true) uses (h - 1/(2 beta))^2. */
typedef enum wd_train_objective {
    WD_TRAIN_OBJECTIVE_SFT = 0,
    WD_TRAIN_OBJECTIVE_REWARD,
    WD_TRAIN_OBJECTIVE_DPO,
} wd_train_objective;

/* One optimiser step, as the progress callback and train.jsonl see it. */
typedef struct wd_train_progress {
    uint64_t step, total_steps; /* steps done (1-based) and planned        */
    uint64_t epoch;
    double   loss;              /* this step's mean loss                  */
    double   lr, grad_norm;     /* before clipping                        */
    double   tokens_per_s;      /* tokens through forward+backward / wall  */
    double   eta_s;             /* estimated seconds left                  */
    double   accuracy;          /* reward/DPO: pairs ranked right (-1 sft) */
    double   margin;            /* DPO: mean implicit reward margin        */
} wd_train_progress;

typedef struct wd_train_params {
    wd_train_objective objective;
    const char *data;          /* training records (JSONL/JSON/CSV/TSV, .gz ok) */
    const char *eval_data;     /* held-out records; NULL: hold out eval_fraction */
    double      eval_fraction; /* 0.05 (at least one record when data has >= 2)  */
    const char *out;           /* output folder (created)                          */
    /* fields: sft reads prompt + response, reward/dpo prompt + chosen + rejected */
    const char *prompt_field, *response_field, *chosen_field, *rejected_field;
    const char *margin_field;  /* reward: optional margin column                   */
    const char *chat_format;   /* NULL: the tokenizer's template; "none": plain text */
    const char *system;        /* a system message for every example, or NULL     */
    const char *distill_preprompt; /* sft: context distillation: the responses are
                                  the starting model's answers with this text as
                                  the system message (the file's contents, not a
                                  path); training sees the prompt without it  */
    int         distill_max_tokens; /* answer length: 128                      */
    /* schedule */
    int      epochs;           /* 1                                     */
    uint64_t max_steps;        /* 0: epochs decide                      */
    int      batch_size;       /* sequences per micro-batch: 4          */
    int      grad_accum;       /* micro-batches per step: 1             */
    int      max_len;          /* tokens per sequence: 512              */
    double   lr;               /* 1e-4 (full fine-tunes want ~1e-5)     */
    const char *schedule;      /* "cosine" (default), "linear", "constant" */
    double   warmup_ratio;     /* 0.03 of the steps                     */
    double   min_lr_ratio;     /* 0.1: cosine to 10% (Llama 2)           */
    double   weight_decay;     /* 0.0                                   */
    double   beta1, beta2, adam_eps; /* 0.9, 0.999, 1e-8               */
    double   clip_norm;        /* 1.0; 0 = none                         */
    /* what trains */
    int         lora_rank;     /* 0: full fine-tune                     */
    double      lora_alpha;    /* 16                                    */
    const char *lora_targets;  /* "q_proj,v_proj" (default) or "all"    */
    bool        merge_lora;    /* also write the merged model           */
    const char *freeze_layers; /* "A-B" (SPPFT): layers A..B frozen     */
    const char *freeze;        /* comma list of substrings: tensors whose
                                  names contain one are frozen          */
    bool        grad_checkpointing;
    /* objectives */
    double dpo_beta;           /* 0.1                                   */
    bool   ipo;
    /* DP-SGD (METHODS.md section 9): Poisson lots of rate dp_sample_rate,
     * each example's gradient clipped to dp_clip, N(0, (noise clip)^2)
     * added, divided by the expected lot size; clip_norm is not applied.
     * Steps default to epochs / q. With dp_target_epsilon > 0 the noise is
     * solved for (wd_privacy_noise_for_epsilon) instead of dp_noise. */
    bool   dp;
    double dp_noise;           /* sigma: 1.0                            */
    double dp_clip;            /* C: 1.0                                */
    double dp_sample_rate;     /* q; 0: batch_size / number of examples  */
    double dp_delta;           /* 1e-5                                  */
    double dp_target_epsilon;  /* 0: use dp_noise                       */
    /* adversarial training (sft): "embed" = PGD on the prompt tokens' input
     * embeddings before each step, the model trained on the attacked input */
    const char *adversarial;   /* NULL or "embed"                       */
    const char *away_field;    /* sft: a column with a harmful completion of
                                  each prompt: away_weight times its mean
                                  unlikelihood -log(1 - p) joins the loss ("away
                                  from the harmful target"; with the attack, the
                                  attack pushes toward it)                  */
    double away_weight;        /* 0.5                                   */
    double adv_eps;            /* ball radius / mean embedding norm: 0.05 */
    int    adv_steps;          /* sign-gradient steps: 10               */
    /* run */
    uint64_t seed;             /* 1: data order and adapter init        */
    int      n_threads;        /* 0: all cores                          */
    uint64_t save_every;       /* steps between checkpoints (0: the end only) */
    bool     resume;           /* continue from out/checkpoint          */
    uint64_t stop_after;       /* run at most this many steps now, then write
                                  out/checkpoint and stop (a preemptible job's
                                  slice; --resume goes on); 0 = to the end  */
    const char *save_dtype;    /* NULL: the checkpoint's; "f32", "bf16", "f16" */
    void (*progress)(const wd_train_progress *p, void *user);
    void *user;
} wd_train_params;

wd_train_params wd_train_params_default(void);

typedef struct wd_train_result {
    uint64_t steps, n_train, n_eval, n_trainable, n_params;
    double   eval_loss_before, eval_loss_after; /* sft: token loss; reward/dpo: pair loss */
    double   eval_accuracy_before, eval_accuracy_after; /* reward/dpo: pairwise accuracy */
    double   eval_margin_before, eval_margin_after;     /* dpo: implicit reward margin   */
    double   tokens_per_s;
    double   seconds;
    double   epsilon, dp_noise, dp_sample_rate; /* dp: the guarantee at dp_delta */
    bool     stopped;  /* stop_after was reached: only out/checkpoint was written */
    int      rank, n_ranks; /* data-parallel (mpirun -np N): this process's rank and N;
                               0 and 1 for one process. Only rank 0 writes files and
                               calls progress; every rank gets the same figures */
} wd_train_result;

/* Trains the decoder in model_dir (a Hugging Face safetensors folder of a
 * llama/mistral/qwen2 model) as p says and writes p->out: the model
 * (config.json, tokenizer files, model.safetensors), or with LoRA the
 * adapter in PEFT's layout (plus the merged model with merge_lora), a
 * reward model as LlamaForSequenceClassification, train.jsonl (one line
 * per step), and out/checkpoint/ every save_every steps for resume.
 * Returns WD_OK and fills *res (may be NULL); on failure wd_last_error()
 * names the file, record or setting.
 *
 * Started by `mpirun -np N` (a build with MPI), the N processes train one
 * model data-parallel: each step's micro-batches (DP-SGD: the lot's
 * examples) are dealt out over the ranks and the gradients summed, giving
 * the weights one process gets with the same settings; rank 0 writes
 * everything (docs/train.md, "Data-parallel training (MPI)"). Without MPI
 * such a start fails with WD_ERR_UNSUPPORTED. */
wd_status wd_train(const char *model_dir, const wd_train_params *p, wd_train_result *res);

/* ==== A model from scratch ============================================== */

/* A new Llama-architecture model (`warden train init`): sizes, and the
 * tokenizer: NULL gives warden's byte-level tokenizer (259 ids: the 256
 * bytes, <|endoftext|> as pad, <|im_start|>, <|im_end|> as end of turn,
 * a ChatML chat template), a folder copies its tokenizer files and takes
 * the vocabulary size from them. Weights follow Hugging Face's
 * initialisation: N(0, init_std^2) for every linear and embedding weight,
 * RMSNorm weights at 1. */
typedef struct wd_init_params {
    int    hidden, layers, heads, kv_heads, intermediate, max_pos;
    double rope_theta;
    double init_std;        /* initializer_range: 0.02                 */
    uint64_t seed;
    bool   tie;             /* tie_word_embeddings: true               */
    const char *tokenizer;  /* NULL: byte-level                        */
} wd_init_params;

/* hidden 128, 4 layers, 4 heads, 2 kv heads, intermediate 384, 512
 * positions, theta 10000, std 0.02, seed 1, tied. */
wd_init_params wd_init_params_default(void);

/* Writes out/config.json, out/model.safetensors (F32) and the tokenizer
 * files. WD_ERR_INVALID_ARG for sizes that do not fit together. */
wd_status wd_train_init_model(const wd_init_params *p, const char *out);

/* Static name of an objective ("sft", "reward", "dpo"). */
const char *wd_train_objective_name(wd_train_objective o);

/* ==== Rejection sampling ================================================== */

/*
 * Best-of-K rejection sampling with a reward model (Llama 2's, METHODS.md
 * section 8; `warden sample`): for each prompt of a data set, K responses
 * from a policy (a llama/mistral/qwen2 causal LM), each scored by a reward
 * model (a decoder with a one-label *ForSequenceClassification head, as
 * `warden train reward` writes it: wd_model_reward), the best one kept.
 *
 * The policy continues the prompt rendered with ITS chat template (with the
 * assistant's header; chat_format "none": plain "prompt\n"); the reward
 * model scores prompt + response rendered and tokenized with ITS OWN
 * tokenizer and template, exactly as `warden train reward` rendered its
 * pairs, so the two models need not share a vocabulary. Responses are the
 * generated text up to the end-of-sequence token, special tokens left out.
 *
 * Output: one JSON line per prompt, in the data's order,
 *   {"prompt": P, "response": the best, "reward": its reward,
 *    "best": its index, "rewards": [r_0, ..., r_K-1]
 *    (, "responses": [all K] with keep_all)}
 * which `warden train sft --data` reads as it is (prompt, response).
 */

/* One prompt done, for a progress line. */
typedef struct wd_sample_progress {
    size_t done, total;        /* prompts                                    */
    double reward_best;        /* mean over the prompts so far of the best   */
    double reward_mean;        /*   ... and of all K samples                 */
    double tokens_per_s;       /* generated tokens / wall time               */
    double eta_s;
} wd_sample_progress;

typedef struct wd_sample_params {
    const char *data;          /* prompts: JSONL/JSON/CSV/TSV, .gz ok       */
    const char *out;           /* the JSONL written (atomically)            */
    const char *prompt_field;  /* NULL: "prompt"                            */
    const char *chat_format;   /* NULL: each tokenizer's template; "none",
                                  "llama-2", "chatml", ... for both models  */
    const char *system;        /* a system message in every chat, or NULL   */
    int      best_of;          /* K >= 1: 4                                 */
    double   temperature;      /* 1.0 (Llama 2 used 1.2-1.3); 0 = greedy    */
    double   top_p;            /* nucleus, (0, 1]: 1.0 = off                */
    int      top_k;            /* 0 = off                                   */
    size_t   max_tokens;       /* per response: 256                         */
    size_t   limit;            /* the first N prompts only; 0 = all         */
    uint64_t seed;             /* 1: sample j of record i draws from its own
                                  stream mix(seed, i, j)                    */
    int      n_threads;        /* 0: all cores                              */
    bool     keep_all;         /* also write "responses": all K             */
    void (*progress)(const wd_sample_progress *p, void *user); /* or NULL   */
    void *user;
} wd_sample_params;

wd_sample_params wd_sample_params_default(void);

typedef struct wd_sample_result {
    size_t   n_prompts, n_samples; /* records written; responses generated   */
    uint64_t n_tokens;             /* tokens generated                       */
    double   mean_best;            /* mean over prompts of the best reward   */
    double   mean_first;           /*   ... of sample 0's (plain sampling)   */
    double   mean_all;             /*   ... of the mean of the K             */
    double   seconds, tokens_per_s;
} wd_sample_result;

/* Runs rejection sampling as p says with the policy in policy_dir and the
 * reward model in reward_dir (Hugging Face folders with tokenizer.json) and
 * writes p->out. Returns WD_OK and fills *res (may be NULL); on failure
 * p->out is not written (nor left half-written), *res is zeroed and
 * wd_last_error() names the model, the setting, or the data file and the
 * record: WD_ERR_INVALID_ARG (a setting), WD_ERR_UNSUPPORTED (a policy
 * without an LM head, a reward model that is not one), WD_ERR_NOT_FOUND (a
 * folder, a tokenizer, a prompt field), WD_ERR_RANGE (a prompt longer than
 * the policy's context), WD_ERR_FORMAT, WD_ERR_IO, WD_ERR_NOMEM. */
wd_status wd_sample_best_of(const char *policy_dir, const char *reward_dir, const wd_sample_params *p,
                            wd_sample_result *res);

/* ==== Optimisers and schedules ============================================ */

/* ==== Differential privacy ================================================ */

/*
 * DP-SGD (Abadi et al. 2016) trains with a privacy guarantee for each
 * example: every step Poisson-samples a lot (each example with probability
 * q, the sample rate), clips each example's gradient to L2 norm C, adds
 * Gaussian noise of standard deviation sigma * C to the sum (sigma, the
 * noise multiplier) and divides by the expected lot size q * N. After T
 * such steps the training is (epsilon, delta)-differentially private.
 *
 * The accountant below computes epsilon as Opacus's RDPAccountant does
 * (accountant="rdp"): the Renyi DP of the sampled Gaussian mechanism
 * (Mironov, Talwar and Zhang 2019) at Opacus's orders (1.1, 1.2, ..., 10.9,
 * 12, 13, ..., 63), times T, converted to (epsilon, delta) by Balle et al.
 * 2020 (Theorem 21) and minimised over the orders. docs/privacy.md gives
 * the formulas and the settings checked against an independent computation.
 * (Opacus's default accountant is "prv", whose estimate is usually somewhat
 * tighter: this RDP bound is the larger, safe side of the two.)
 */

/* The epsilon of T = steps steps of DP-SGD with noise multiplier noise
 * (> 0) and sample rate sample_rate (in (0, 1]; 1 = the whole data set
 * each step) at delta (in (0, 1)). *eps gets epsilon (+inf when no order
 * bounds it); *best_alpha (may be NULL) the Renyi order that gave it.
 * Returns WD_OK, or WD_ERR_INVALID_ARG (message in wd_last_error(), naming
 * the argument) with *eps = 0 and *best_alpha = 0. */
wd_status wd_privacy_epsilon(double noise, double sample_rate, uint64_t steps, double delta, double *eps,
                             double *best_alpha);

/* The noise multiplier that makes steps steps at sample_rate
 * (epsilon = target_eps, delta)-DP, as Opacus's get_noise_multiplier finds
 * it: doubles sigma from 20 until epsilon <= target_eps, then bisects until
 * epsilon is within 0.01 below the target, and returns the upper end, so
 * wd_privacy_epsilon(*noise, ...) is in [target_eps - 0.01, target_eps].
 * Returns WD_OK; WD_ERR_INVALID_ARG for a bad argument (as
 * wd_privacy_epsilon; target_eps > 0); WD_ERR_RANGE when even sigma = 1e6
 * does not reach target_eps (the budget is too small for delta: at these
 * orders epsilon stays above about 0.1 at delta = 1e-5 however large the
 * noise). *noise is 0 on failure. */
wd_status wd_privacy_noise_for_epsilon(double target_eps, double sample_rate, uint64_t steps, double delta,
                                       double *noise);

/* ==== A cascade's router (train/router_train.c) =========================== */

/* Labelled texts to learn a cascade's router on (owned: free with
 * wd_router_data_free). */
typedef struct wd_router_data {
    char  **texts;
    size_t *lens;
    bool   *harmful;
    size_t  n;
    char    desc[512]; /* what they are, recorded in router.json */
} wd_router_data;

/* The validation split of the public datasets under data_dir (the split
 * the built-in classifier never trained on: wd_textclf_dataset_load, then
 * wd_textclf_dataset_split with the classifier's default seed), examples
 * with a known harmful/benign label, at most limit of them (0 = all) drawn
 * without replacement with seed. Returns WD_OK, or the loader's error;
 * WD_ERR_NOT_FOUND when no example has a label. */
wd_status wd_router_data_from_dir(const char *data_dir, size_t limit, uint64_t seed, wd_router_data *out);
/* The labelled items of n_files files (paths[f] read with params[f],
 * warden/dataset.h; items with an unknown label skipped), at most limit of
 * them (0 = all) drawn with seed. */
wd_status wd_router_data_from_files(const char *const *paths, const wd_dataset_params *params, size_t n_files,
                                    size_t limit, uint64_t seed, wd_router_data *out);
/* Frees what d holds and empties it; NULL is a no-op. */
void wd_router_data_free(wd_router_data *d);

typedef struct wd_router_train_params {
    wd_router_method method;  /* THRESHOLD (default), or MLP (SafeRoute: see wd_router_train) */
    double      target_share; /* most texts escalated, as a share (default 0.2)            */
    wd_role     role;         /* the role the texts are checked as (default input)          */
    size_t      batch;        /* texts per wd_guard_check_batch (default 16)                */
    /* The second guard's verdicts, kept between runs (it is the slow one): a
     * JSONL file of (text hash, flag, score, times), appended as batches
     * finish; NULL = none. second_id names the second guard (its policy
     * node, or a hash of the policy file): a cache made for another id or
     * role is an error naming the file. */
    const char *cache_path;
    const char *second_id;
    void (*progress)(void *user, size_t done, size_t total);
    void *progress_user;
    /* method MLP: both hidden sizes (default 512), epochs (100), rows per
     * step (64), AdamW's learning rate (1e-3) and weight decay (0.01), the
     * seed of the initialisation, batch order and validation split (1);
     * 0 = the default */
    size_t   mlp_hidden, mlp_epochs, mlp_batch;
    double   mlp_lr, mlp_weight_decay;
    uint64_t mlp_seed;
} wd_router_train_params;

wd_router_train_params wd_router_train_params_default(void);

/* A second_id for the cache: "node:" + second_node when given, else
 * "policy:" + the FNV-1a 64 hash of the policy file's bytes (a policy
 * edited since the cache was made gets a new id), into buf (cap bytes).
 * Returns WD_OK, or the file's read error. */
wd_status wd_router_cache_id(const char *policy_path, const char *second_node, char *buf, size_t cap);

/* What the training saw, besides the router. */
typedef struct wd_router_train_stats {
    size_t n, n_harmful, n_cached; /* texts; harmful ones; second verdicts from the cache */
    double first_ms, second_ms;    /* mean time per text of each guard alone           */
    /* method MLP: texts it was trained on, those labelled "escalate" (the
     * first guard wrong, the second right), the final training loss */
    size_t n_train, n_escalate;
    double train_loss;
    /* method MLP, for comparison: the threshold band searched on the same
     * training texts, escalating at most the share the MLP escalates there,
     * and its F1 and share on the same validation texts */
    double band_f1, band_share;
} wd_router_train_stats;

/* Learns the router of g's cascade scanner (a policy with a `type:
 * cascade` scanner, its router ignored) on d: checks every text with the
 * first guard alone and with the second alone (WD_CASCADE_MODE_FIRST /
 * _SECOND), then picks the band of best F1 escalating at most
 * target_share of the texts (wd_cascade_band_search). *out gets the band,
 * the target, the validation figures and d->desc; stats may be NULL.
 *
 * Method MLP (SafeRoute, METHODS.md 12a): the first guard is run with
 * WD_CASCADE_MODE_FEATURE and its feature kept; a text is labelled
 * "escalate" when the first guard is wrong and the second right (each
 * flagging at its policy's threshold); an MLP (train/router_mlp.c) learns
 * P(escalate) with class-balanced BCE and AdamW on 4 texts of every 5 (all
 * of them under 50 texts), and the validation figures are the cascade's
 * with P >= 0.5 on the fifth held out (in-sample under 50). *out then owns
 * the MLP (wd_router_clear).
 *
 * Returns WD_OK; WD_ERR_INVALID_ARG when g has no cascade scanner or d is
 * empty; WD_ERR_UNSUPPORTED for the MLP method when the first guard gives
 * no feature; a check's or the cache's error (message in wd_last_error()). */
wd_status wd_router_train(wd_guard *g, const wd_router_data *d, const wd_router_train_params *p, wd_router *out,
                          wd_router_train_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_TRAIN_H */
