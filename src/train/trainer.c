/*
 * train/trainer.c - wd_train: the training loop of `warden train sft |
 * reward | dpo` (see warden/train.h).
 *
 *   load the model -> trainable decoder (+ LoRA, frozen layers) -> read and
 *   tokenize the data, hold out the eval set -> [DPO: reference
 *   log-probabilities] -> eval -> steps: zero grads; grad_accum
 *   micro-batches of forward + backward; clip; AdamW with the schedule's
 *   lr; log a line; checkpoint every save_every -> eval -> save.
 *
 * The data order is a permutation per epoch drawn from the seed, so a run
 * resumed from out/checkpoint continues with the same batches and ends with
 * the same weights as one run straight through.
 *
 * Data-parallel (`mpirun -np N`, train/dist.h): every rank draws the same
 * permutation and walks the same cursor; rank r runs micro-batches r, r+N,
 * ... of a step's grad_accum (a DP lot: examples r, r+N, ...), each with
 * its usual weight 1/grad_accum, and the gradient vector is summed over the
 * ranks before clipping, so the step is the one a single process takes on
 * the same global batch. Eval batches are dealt out the same way; loss and
 * token counts are summed. Only rank 0 logs, reports progress and writes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/rng.h"
#include "base/util.h"
#include "train/dist.h"
#include "train/distill.h"
#include "train/dp_sgd.h"
#include "train/objective.h"
#include "train/optim.h"
#include "train/report.h"
#include "train/save.h"
#include "tensor/threads.h"

wd_train_params wd_train_params_default(void) {
    return (wd_train_params){
        .eval_fraction = 0.05, .epochs = 1, .batch_size = 4, .grad_accum = 1, .max_len = 512,
        .lr = 1e-4, .schedule = "cosine", .warmup_ratio = 0.03, .min_lr_ratio = 0.1,
        .beta1 = 0.9, .beta2 = 0.999, .adam_eps = 1e-8, .clip_norm = 1.0, .lora_alpha = 16,
        .lora_targets = "q_proj,v_proj", .dpo_beta = 0.1, .seed = 1, .dp_noise = 1.0,
        .dp_clip = 1.0, .dp_delta = 1e-5, .adv_eps = 0.05, .adv_steps = 10,
        .distill_max_tokens = 128, .away_weight = 0.5,
    };
}

const char *wd_train_objective_name(wd_train_objective o) {
    switch (o) {
    case WD_TRAIN_OBJECTIVE_SFT: return "sft";
    case WD_TRAIN_OBJECTIVE_REWARD: return "reward";
    case WD_TRAIN_OBJECTIVE_DPO: return "dpo";
    }
    return "?";
}

typedef struct run {
    wd__err        err;
    const wd_train_params *p;
    wd_model      *m;
    wd__tdec       d;
    wd__tenc       e;     /* encoders (reward models): d is unused */
    wd__tparam    *score; /* a decoder reward model's head */
    bool           enc;
    wd__tparams   *P;     /* the trainable parameters: d.P or e.P */
    wd_threadpool *tp;
    size_t         L;     /* layers */
    wd__objective  o;
    wd__examples   all, eval_ex;
    wd__examples   train; /* view: shares all's sequences */
    float         *adam_m, *adam_v, *ref_train, *ref_eval;
    size_t        *order;
    FILE          *log;
    float         *dp_sum;  /* (n_grad) the lot's clipped sum          */
    double         dp_q;    /* sample rate in use                      */
} run;

static wd_status check_params(const wd_train_params *p) {
    if (!p->data || !p->out) return wd__fail(WD_ERR_INVALID_ARG, "train: --data and --out are required");
    if (p->batch_size < 1 || p->grad_accum < 1 || p->max_len < 2 || p->epochs < 1)
        return wd__fail(WD_ERR_INVALID_ARG,
                        "train: batch size, grad accumulation and epochs must be >= 1, max_len >= 2");
    if (!(p->lr > 0) || p->lr > 1)
        return wd__fail(WD_ERR_INVALID_ARG, "train: learning rate %g is outside (0, 1]", p->lr);
    if (p->eval_fraction < 0 || p->eval_fraction >= 1)
        return wd__fail(WD_ERR_INVALID_ARG, "train: eval fraction %g is outside [0, 1)", p->eval_fraction);
    if (p->lora_rank < 0 || (p->lora_rank > 0 && !(p->lora_alpha > 0)))
        return wd__fail(WD_ERR_INVALID_ARG, "train: LoRA rank must be >= 0 and alpha > 0");
    if (p->dp && (!(p->dp_clip > 0) || p->dp_sample_rate < 0 || p->dp_sample_rate > 1 ||
                  !(p->dp_delta > 0 && p->dp_delta < 1) || (!(p->dp_noise > 0) && !(p->dp_target_epsilon > 0))))
        return wd__fail(WD_ERR_INVALID_ARG,
                        "train: --dp wants --clip-dp > 0, --noise > 0 (or --target-epsilon), "
                        "--sample-rate in [0, 1], --delta in (0, 1)");
    if (p->away_field && (p->objective != WD_TRAIN_OBJECTIVE_SFT || !(p->away_weight > 0) || p->distill_preprompt))
        return wd__fail(WD_ERR_INVALID_ARG, "train: --away-field works with sft (not distillation) and --away-weight > 0");
    if (p->distill_preprompt && (p->objective != WD_TRAIN_OBJECTIVE_SFT || p->distill_max_tokens < 1))
        return wd__fail(WD_ERR_INVALID_ARG, "train: --distill-preprompt works with sft and --distill-max-tokens >= 1");
    if (p->adversarial && (strcmp(p->adversarial, "embed") != 0 || p->objective != WD_TRAIN_OBJECTIVE_SFT ||
                           !(p->adv_eps > 0) || p->adv_steps < 1))
        return wd__fail(WD_ERR_INVALID_ARG,
                        "train: --adversarial: 'embed' with sft, --adv-eps > 0 and --adv-steps >= 1");
    if (p->objective == WD_TRAIN_OBJECTIVE_DPO && !(p->dpo_beta > 0))
        return wd__fail(WD_ERR_INVALID_ARG, "train: DPO beta must be > 0");
    return WD_OK;
}

/* Frozen tensors: layers A-B and names containing one of the substrings. */
static wd_status apply_freeze(run *R) {
    const wd_train_params *p = R->p;
    long a = -1, b = -1;
    if (p->freeze_layers) {
        char *end;
        a = strtol(p->freeze_layers, &end, 10);
        b = *end == '-' ? strtol(end + 1, &end, 10) : a;
        if (*end || a < 0 || b < a || (size_t)b >= R->L)
            return wd__err_set(&R->err, WD_ERR_INVALID_ARG,
                               "train: --freeze-layers '%s': want A-B with 0 <= A <= B < %zu",
                               p->freeze_layers, R->L);
    }
    for (size_t i = 0; i < R->P->n; i++) {
        wd__tparam *t = R->P->t[i];
        for (long l = a; l >= 0 && l <= b; l++) {
            char key[48];
            snprintf(key, sizeof key, "model.layers.%ld.", l);
            if (strstr(t->name, key)) t->trainable = false;
        }
        for (const char *s = p->freeze; s && *s;) {
            size_t n = strcspn(s, ",");
            char pat[256];
            snprintf(pat, sizeof pat, "%.*s", (int)(n < 255 ? n : 255), s);
            if (n && strstr(t->name, pat)) t->trainable = false;
            s += n + (s[n] == ',');
        }
    }
    return WD_OK;
}

/* MPI: st := the sum of every rank's st (no-op on one rank). */
static wd_status sum_stats(run *R, wd__obj_stats *st) {
    if (wd__dist_size() <= 1) return WD_OK;
    double v[5] = {st->loss_sum, (double)st->n, (double)st->n_right, st->margin_sum, (double)st->tokens};
    wd_status rc = wd__dist_sum_f64(v, 5, &R->err);
    st->loss_sum = v[0], st->n = (size_t)v[1], st->n_right = (size_t)v[2];
    st->margin_sum = v[3], st->tokens = (size_t)v[4];
    return rc;
}

/* Mean loss (and pair accuracy / margin) over the eval set, no backward. */
static wd_status evaluate(run *R, const wd__examples *ex, float *ref, double *loss, double *acc,
                          double *margin) {
    *loss = *acc = *margin = NAN;
    if (ex->n == 0) return WD_OK;
    size_t bs = (size_t)R->p->batch_size, idx[256];
    if (bs > 256) bs = 256;
    wd__obj_stats st = {0};
    wd_status rc = WD_OK;
    R->o.ref = ref;
    /* MPI: rank r scores batches r, r+N, ...; the sums are added up below */
    size_t r0 = (size_t)wd__dist_rank() * bs, stride = (size_t)wd__dist_size() * bs;
    for (size_t i = r0; i < ex->n && !rc; i += stride) {
        size_t k = ex->n - i < bs ? ex->n - i : bs;
        for (size_t j = 0; j < k; j++) idx[j] = i + j;
        rc = wd__objective_run(&R->o, ex->v, idx, k, 0.0, &st);
        if (rc) wd__err_take(&R->err, rc);
    }
    R->o.ref = R->ref_train;
    if ((rc = wd__dist_agree(rc, &R->err)) || (rc = sum_stats(R, &st))) return rc;
    *loss = st.n ? st.loss_sum / (double)st.n : NAN;
    if (R->p->objective != WD_TRAIN_OBJECTIVE_SFT) {
        *acc = (double)st.n_right / (double)st.n;
        *margin = st.margin_sum / (double)st.n;
    }
    return WD_OK;
}

static void shuffle(size_t *order, size_t n, uint64_t seed, uint64_t epoch) {
    uint64_t s = wd__mix64(seed ^ (0x5eedull + epoch * 0x9E3779B97F4A7C15ull));
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = wd__rng_below(&s, i), t = order[i - 1];
        order[i - 1] = order[j], order[j] = t;
    }
}

static wd_dtype save_dtype(run *R) {
    const char *s = R->p->save_dtype;
    if (!s) s = R->m->cfg->torch_dtype;
    if (strcmp(s, "bf16") == 0 || strcmp(s, "bfloat16") == 0) return WD_DTYPE_BF16;
    if (strcmp(s, "f16") == 0 || strcmp(s, "float16") == 0) return WD_DTYPE_F16;
    return WD_DTYPE_F32;
}

static wd_status save_all(run *R, const char *dir) {
    const wd_train_params *p = R->p;
    bool lora = p->lora_rank > 0;
    const char *patch = p->objective != WD_TRAIN_OBJECTIVE_REWARD ? NULL
                        : R->enc ? "{\"num_labels\":1,\"id2label\":{\"0\":\"LABEL_0\"},"
                                   "\"label2id\":{\"LABEL_0\":0},\"problem_type\":\"regression\"}"
                                 : "{\"architectures\":[\"LlamaForSequenceClassification\"],"
                                   "\"num_labels\":1,\"id2label\":{\"0\":\"LABEL_0\"},"
                                   "\"label2id\":{\"LABEL_0\":0}}";
    wd_status rc;
    if (lora) {
        if ((rc = wd__save_adapter(&R->d, R->m->dir, dir, &R->err))) return rc;
        if (!p->merge_lora) return WD_OK;
        char *merged = wd__path_join(dir, "merged");
        if (!merged) return wd__err_set(&R->err, WD_ERR_NOMEM, "out of memory");
        rc = wd__folder_copy_meta(R->m->dir, merged, patch, &R->err);
        if (!rc) rc = wd__save_model(R->P, &R->d, merged, save_dtype(R), &R->err);
        free(merged);
        return rc;
    }
    rc = wd__folder_copy_meta(R->m->dir, dir, patch, &R->err);
    if (!rc) rc = wd__save_model(R->P, R->enc ? NULL : &R->d, dir, save_dtype(R), &R->err);
    return rc;
}

/* The decoder's trainable parameters: LoRA adapters, the reward head. */
static wd_status decoder_params(run *R) {
    const wd_train_params *p = R->p;
    wd_status rc;
    if ((rc = wd__tdec_init(&R->d, R->m))) return wd__err_take(&R->err, rc);
    R->P = &R->d.P, R->tp = R->d.tp, R->L = R->d.L;
    if (p->lora_rank > 0) {
        wd__lora_spec spec = {.rank = p->lora_rank, .alpha = (float)p->lora_alpha};
        char bad[64];
        if (!wd__lora_parse_targets(p->lora_targets ? p->lora_targets : "q_proj,v_proj",
                                    &spec.targets, bad, sizeof bad))
            return wd__err_set(&R->err, WD_ERR_INVALID_ARG,
                               "train: --lora-targets: unknown module '%s' (known: q_proj, k_proj, "
                               "v_proj, o_proj, gate_proj, up_proj, down_proj, all)", bad);
        if ((rc = wd__tdec_add_lora(&R->d, &spec, p->seed))) return wd__err_take(&R->err, rc);
    }
    if (p->objective == WD_TRAIN_OBJECTIVE_REWARD) {
        if (!(R->score = wd__tparams_add(R->P, &R->err, "score.weight", 1, R->d.C))) return R->err.status;
        uint64_t s = p->seed ^ 0x5C0AEull;
        for (size_t c = 0; c < R->d.C; c++) R->score->w[c] = (float)(wd__rng_unit(&s) - 0.5) * 0.04f;
        R->score->decay = false;
        if (R->d.lm_head != R->d.embd) R->d.lm_head->trainable = R->d.lm_head->save = false;
    }
    return WD_OK;
}

/* An encoder (bert, roberta, distilbert) trains as a reward model: its
 * classification head's output layer becomes one score (fresh weights). */
static wd_status encoder_params(run *R) {
    const wd_train_params *p = R->p;
    if (p->objective != WD_TRAIN_OBJECTIVE_REWARD || p->lora_rank > 0 || p->dp || p->adversarial ||
        p->distill_preprompt)
        return wd__err_set(&R->err, WD_ERR_UNSUPPORTED,
                           "train: %s is an encoder: it trains as a reward model (train reward), "
                           "without LoRA, --dp, --adversarial or distillation",
                           R->m->cfg->model_type);
    wd_status rc = wd__tenc_init(&R->e, R->m);
    if (rc) return wd__err_take(&R->err, rc);
    R->P = &R->e.P, R->tp = R->e.tp, R->L = R->e.L;
    size_t C = R->e.C;
    if ((rc = wd__tparams_resize(R->e.head_out_w, 1, C, &R->err)) ||
        (R->e.head_out_b && (rc = wd__tparams_resize(R->e.head_out_b, 1, 1, &R->err))))
        return rc;
    R->P->n_values = 0;
    for (size_t i = 0; i < R->P->n; i++) R->P->n_values += R->P->t[i]->n;
    R->e.n_labels = 1;
    uint64_t s = p->seed ^ 0x5C0AEull;
    for (size_t c = 0; c < C; c++) R->e.head_out_w->w[c] = (float)(wd__rng_unit(&s) - 0.5) * 0.04f;
    return WD_OK;
}

/* The decoder's buffers, its objective and, for DPO, the reference. */
static wd_status plan_decoder(run *R, size_t maxT) {
    const wd_train_params *p = R->p;
    wd_status rc;
    bool away = p->objective == WD_TRAIN_OBJECTIVE_SFT && p->away_field;
    size_t rows = (size_t)p->batch_size * (p->objective == WD_TRAIN_OBJECTIVE_SFT && !away ? 1 : 2);
    if ((rc = wd__tdec_plan(&R->d, rows, maxT, p->grad_checkpointing))) return wd__err_take(&R->err, rc);
    if ((rc = wd__objective_init(&R->o, &R->d, p->objective, rows, maxT)))
        return wd__err_take(&R->err, rc);
    R->o.score = R->score, R->o.beta = p->dpo_beta, R->o.ipo = p->ipo;
    R->o.away = away ? p->away_weight : 0.0;
    if (p->adversarial && (rc = wd__objective_adversarial(&R->o, p->adv_steps, p->adv_eps, p->seed)))
        return wd__err_take(&R->err, rc);
    const wd_model_config *c = R->m->cfg;
    R->o.pad = c->pad_token_id >= 0 ? (int32_t)c->pad_token_id
               : c->n_eos_token_ids > 0 ? (int32_t)c->eos_token_ids[0] : 0;
    if (p->objective == WD_TRAIN_OBJECTIVE_DPO) {
        if (R->eval_ex.n) {
            if ((rc = wd__objective_reference(&R->o, &R->eval_ex, (size_t)p->batch_size)))
                return wd__err_take(&R->err, rc);
            R->ref_eval = R->o.ref, R->o.ref = NULL;
        }
        if ((rc = wd__objective_reference(&R->o, &R->train, (size_t)p->batch_size)))
            return wd__err_take(&R->err, rc);
        R->ref_train = R->o.ref;
    }
    return WD_OK;
}

static wd_status setup(run *R, const char *model_dir) {
    const wd_train_params *p = R->p;
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = p->n_threads;
    wd_status rc = wd_model_load(model_dir, &mp, &R->m);
    if (rc) return wd__err_take(&R->err, rc);
    R->enc = wd_model_config_family(R->m->cfg) == WD_MODEL_FAMILY_ENCODER;
    if ((rc = R->enc ? encoder_params(R) : decoder_params(R))) return rc;
    if ((rc = apply_freeze(R))) return rc;
    /* data */
    wd__examples_params ep = {
        .pairs = p->objective != WD_TRAIN_OBJECTIVE_SFT, .prompt_field = p->prompt_field,
        .response_field = p->response_field, .chosen_field = p->chosen_field,
        .rejected_field = p->rejected_field, .margin_field = p->margin_field,
        .away_field = p->objective == WD_TRAIN_OBJECTIVE_SFT ? p->away_field : NULL,
        .chat_format = R->enc ? "none" : p->chat_format, .system = p->system,
        .max_len = (size_t)p->max_len};
    const wd_tokenizer *tok = wd_model_tokenizer(R->m);
    if (!tok) return wd__err_set(&R->err, WD_ERR_NOT_FOUND, "%s: no tokenizer.json", model_dir);
    if (p->distill_preprompt) {
        if ((rc = wd__distill_read(R->m, p->data, &ep, p->distill_preprompt,
                                   (size_t)p->distill_max_tokens, &R->all, &R->err)))
            return rc;
    } else if ((rc = wd__examples_read(p->data, &ep, tok, &R->all, &R->err))) {
        return rc;
    }
    if (p->eval_data) {
        rc = p->distill_preprompt
                 ? wd__distill_read(R->m, p->eval_data, &ep, p->distill_preprompt,
                                    (size_t)p->distill_max_tokens, &R->eval_ex, &R->err)
                 : wd__examples_read(p->eval_data, &ep, tok, &R->eval_ex, &R->err);
        if (rc) return rc;
        R->train = R->all;
    } else {
        /* a seeded shuffle, then the tail is held out */
        size_t n = R->all.n, ne = (size_t)floor(p->eval_fraction * (double)n + 0.5);
        if (p->eval_fraction > 0 && ne == 0 && n >= 2) ne = 1;
        uint64_t s = wd__mix64(p->seed ^ 0xE7A1ull);
        for (size_t i = n; i > 1; i--) {
            size_t j = wd__rng_below(&s, i);
            wd__example t = R->all.v[i - 1];
            R->all.v[i - 1] = R->all.v[j], R->all.v[j] = t;
        }
        R->train = (wd__examples){.v = R->all.v, .n = n - ne};
        R->eval_ex = (wd__examples){.v = R->all.v + (n - ne), .n = ne};
    }
    if (R->train.n == 0) return wd__err_set(&R->err, WD_ERR_FORMAT, "%s: no training examples left", p->data);
    size_t maxT = 2;
    const wd__examples *sets[2] = {&R->train, &R->eval_ex};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sets[k]->n; i++) {
            const wd__example *e = &sets[k]->v[i];
            maxT = e->a.n > maxT ? e->a.n : maxT;
            maxT = e->b.n > maxT ? e->b.n : maxT;
        }
    if (R->enc) { /* one sequence at a time: the encoder's rows have no padding mask */
        if ((rc = wd__tenc_plan(&R->e, 1, maxT, p->grad_checkpointing)) ||
            (rc = wd__objective_init_encoder(&R->o, &R->e, maxT)))
            return wd__err_take(&R->err, rc);
    } else if ((rc = plan_decoder(R, maxT))) {
        return rc;
    }
    R->adam_m = calloc(R->P->n_grad ? R->P->n_grad : 1, sizeof(float));
    R->adam_v = calloc(R->P->n_grad ? R->P->n_grad : 1, sizeof(float));
    R->order = malloc(R->train.n * sizeof *R->order);
    if (!R->adam_m || !R->adam_v || !R->order) return wd__err_set(&R->err, WD_ERR_NOMEM, "out of memory");
    if (p->dp) {
        R->dp_q = p->dp_sample_rate > 0 ? p->dp_sample_rate : (double)p->batch_size / (double)R->train.n;
        if (R->dp_q > 1) R->dp_q = 1;
        if (!(R->dp_sum = malloc((R->P->n_grad ? R->P->n_grad : 1) * sizeof(float))))
            return wd__err_set(&R->err, WD_ERR_NOMEM, "out of memory");
    }
    return WD_OK;
}

/* AdamW over every trainable tensor, each split into one slice per thread
 * (elementwise: the result does not depend on the split). */
typedef struct adamw_task {
    run *R;
    const wd__adamw_params *ap;
    double lr;
    uint64_t t;
} adamw_task;

static void adamw_slice(void *ctx, int ith, int nth) {
    adamw_task *a = ctx;
    wd__tparams *P = a->R->P;
    for (size_t i = 0; i < P->n; i++) {
        wd__tparam *t = P->t[i];
        if (!t->trainable) continue;
        size_t lo = t->n * (size_t)ith / (size_t)nth, hi = t->n * (size_t)(ith + 1) / (size_t)nth;
        if (hi > lo)
            wd__adamw_step(t->w + lo, a->R->adam_m + t->goff + lo, a->R->adam_v + t->goff + lo,
                           t->g + lo, hi - lo, a->ap, a->lr, a->t, t->decay);
    }
}

static wd_status optimise(run *R, uint64_t step, const wd__lr_schedule *sch, double *gnorm, double *lr) {
    const wd_train_params *p = R->p;
    wd__tparams *P = R->P;
    *gnorm = p->clip_norm > 0 && !p->dp ? wd__clip_grad_norm(P->grad, P->n_grad, p->clip_norm)
                                        : sqrt(wd__grad_sumsq(P->grad, P->n_grad));
    if (!isfinite(*gnorm))
        return wd__err_set(&R->err, WD_ERR_RANGE,
                           "train: step %llu: the gradient is not finite (lower --lr?)",
                           (unsigned long long)step + 1);
    *lr = wd__lr_at(sch, step);
    wd__adamw_params ap = wd__adamw_params_default();
    ap.beta1 = p->beta1, ap.beta2 = p->beta2, ap.eps = p->adam_eps, ap.weight_decay = p->weight_decay;
    adamw_task task = {R, &ap, *lr, step + 1};
    wd__parallel_for(R->tp, adamw_slice, &task, P->n_grad * 8);
    return WD_OK;
}

static void log_step(run *R, const wd_train_progress *pr) {
    if (R->log) {
        fprintf(R->log,
                "{\"step\":%llu,\"epoch\":%llu,\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6g,"
                "\"tokens_per_s\":%.1f",
                (unsigned long long)pr->step, (unsigned long long)pr->epoch, pr->loss, pr->lr,
                pr->grad_norm, pr->tokens_per_s);
        if (pr->accuracy >= 0) fprintf(R->log, ",\"accuracy\":%.4f,\"margin\":%.6g", pr->accuracy, pr->margin);
        fputs("}\n", R->log);
        fflush(R->log);
    }
    if (R->p->progress && wd__dist_root()) R->p->progress(pr, R->p->user);
}

/* A DP-SGD lot: Poisson-sampled examples, each one's gradient clipped
 * and summed, noise added, divided by the expected lot size; the result is
 * left in the gradient vector. The rng is the step's own stream, so a
 * resumed run draws the same lots and noise. */
static wd_status dp_lot(run *R, uint64_t step, wd__obj_stats *st) {
    const wd_train_params *p = R->p;
    wd__tparams *P = R->P;
    uint64_t rng = wd__mix64(p->seed ^ (0xD9ull + step * 0x9E3779B97F4A7C15ull));
    size_t n = wd__dp_poisson_sample(R->order, R->train.n, R->dp_q, &rng);
    memset(R->dp_sum, 0, P->n_grad * sizeof(float));
    wd_status rc = WD_OK;
    /* MPI: rank r clips examples r, r+N, ... of the lot; the sums are added */
    for (size_t i = (size_t)wd__dist_rank(); i < n && !rc; i += (size_t)wd__dist_size()) {
        wd__tparams_zero_grad(P);
        rc = wd__objective_run(&R->o, R->train.v, &R->order[i], 1, 1.0, st);
        if (rc) wd__err_take(&R->err, rc);
        else wd__dp_clip_accumulate(R->dp_sum, P->grad, P->n_grad, p->dp_clip);
    }
    if ((rc = wd__dist_agree(rc, &R->err)) || (rc = wd__dist_sum_f32(R->dp_sum, P->n_grad, &R->err)))
        return rc;
    wd__dp_params dp = {.noise = p->dp_noise, .clip = p->dp_clip, .sample_rate = R->dp_q};
    wd__dp_noise_average(R->dp_sum, P->n_grad, &dp, R->train.n, &rng);
    memcpy(P->grad, R->dp_sum, P->n_grad * sizeof(float));
    return WD_OK;
}

/* MPI: rank 0's resumed state (trainable weights, AdamW moments, position)
 * to every rank. */
static wd_status bcast_state(run *R, wd__train_state *ts) {
    wd__tparams *P = R->P;
    wd_status rc = wd__dist_bcast(ts, sizeof *ts, &R->err);
    for (size_t i = 0; i < P->n && !rc; i++)
        if (P->t[i]->trainable) rc = wd__dist_bcast(P->t[i]->w, P->t[i]->n * sizeof(float), &R->err);
    if (!rc) rc = wd__dist_bcast(R->adam_m, P->n_grad * sizeof(float), &R->err);
    if (!rc) rc = wd__dist_bcast(R->adam_v, P->n_grad * sizeof(float), &R->err);
    return rc;
}

/* Optimiser steps of the run: max_steps, else the epochs' worth of steps
 * (DP-SGD: epochs / q lots). */
static uint64_t total_steps(const run *R) {
    const wd_train_params *p = R->p;
    if (p->max_steps) return p->max_steps;
    if (p->dp) return (uint64_t)ceil((double)p->epochs / R->dp_q);
    size_t per_step = (size_t)p->batch_size * (size_t)p->grad_accum;
    return (R->train.n + per_step - 1) / per_step * (uint64_t)p->epochs;
}

static wd_status loop(run *R, wd_train_result *res) {
    const wd_train_params *p = R->p;
    uint64_t total = total_steps(R);
    wd__lr_schedule sch = {.lr = p->lr, .total_steps = total, .min_lr_ratio = p->min_lr_ratio,
                           .warmup_steps = (uint64_t)floor(p->warmup_ratio * (double)total + 0.5)};
    const char *k = p->schedule ? p->schedule : "cosine";
    if (strcmp(k, "cosine") == 0) sch.kind = WD__LR_KIND_COSINE;
    else if (strcmp(k, "linear") == 0) sch.kind = WD__LR_KIND_LINEAR;
    else if (strcmp(k, "constant") == 0) sch.kind = WD__LR_KIND_CONSTANT;
    else return wd__err_set(&R->err, WD_ERR_INVALID_ARG, "train: --schedule '%s': want cosine, linear or constant", k);
    wd__train_state ts = {.seed = p->seed};
    char *ckdir = wd__path_join(p->out, "checkpoint"), *state = NULL;
    if (ckdir) state = wd__path_join(ckdir, "state.safetensors");
    if (!ckdir || !state) return free(ckdir), wd__err_set(&R->err, WD_ERR_NOMEM, "out of memory");
    wd_status rc = WD_OK;
    struct stat sb;
    bool root = wd__dist_root(); /* MPI: rank 0 reads the checkpoint and writes every file */
    if (p->resume && !root) {
        /* the state comes from rank 0 below */
    } else if (p->resume && stat(state, &sb) == 0) {
        rc = wd__load_state(R->P, R->adam_m, R->adam_v, &ts, state, &R->err);
        if (!rc && ts.seed != p->seed)
            rc = wd__err_set(&R->err, WD_ERR_INVALID_ARG, "%s: saved with seed %llu, not %llu", state,
                             (unsigned long long)ts.seed, (unsigned long long)p->seed);
    } else if (p->resume) {
        rc = wd__err_set(&R->err, WD_ERR_NOT_FOUND, "train: --resume: %s does not exist", state);
    }
    if (p->resume && !(rc = wd__dist_agree(rc, &R->err))) rc = bcast_state(R, &ts);
    if (!rc && root) {
        char *lp = wd__path_join(p->out, "train.jsonl");
        if (lp && wd__mkdir_p(p->out) == WD_OK) {
            /* resumed: keep the lines of the steps the checkpoint holds */
            char *old = NULL;
            size_t len = 0, keep = 0;
            if (ts.step && wd__file_read(lp, (size_t)1 << 30, &old, &len) == WD_OK) {
                uint64_t lines = 0;
                while (keep < len && lines < ts.step)
                    if (old[keep++] == '\n') lines++;
                wd__file_write_atomic(lp, old, keep);
            }
            free(old);
            R->log = fopen(lp, ts.step ? "a" : "w");
        }
        free(lp);
    }
    shuffle(R->order, R->train.n, p->seed, ts.epoch);
    double t0 = wd__now_us(), tokens_all = 0;
    uint64_t first = ts.step;
    size_t *idx = malloc((size_t)p->batch_size * sizeof *idx);
    if (!idx && !rc) rc = wd__err_set(&R->err, WD_ERR_NOMEM, "out of memory");
    while (!rc && ts.step < total) {
        wd__tparams_zero_grad(R->P);
        wd__obj_stats st = {0};
        if (p->dp) rc = dp_lot(R, ts.step, &st);
        for (int a = 0; a < p->grad_accum && !rc && !p->dp; a++) {
            if (ts.cursor >= R->train.n) {
                ts.epoch++, ts.cursor = 0;
                shuffle(R->order, R->train.n, p->seed, ts.epoch);
            }
            size_t kk = 0;
            while (kk < (size_t)p->batch_size && ts.cursor < R->train.n) idx[kk++] = R->order[ts.cursor++];
            if (a % wd__dist_size() != wd__dist_rank()) continue; /* MPI: another rank's */
            rc = wd__objective_run(&R->o, R->train.v, idx, kk, 1.0 / p->grad_accum, &st);
            if (rc) wd__err_take(&R->err, rc);
        }
        /* MPI: the global batch's gradient and figures on every rank */
        if (!p->dp && !(rc = wd__dist_agree(rc, &R->err)))
            rc = wd__dist_sum_f32(R->P->grad, R->P->n_grad, &R->err);
        if (!rc) rc = sum_stats(R, &st);
        double gn = 0, lr = 0;
        if (!rc) rc = optimise(R, ts.step, &sch, &gn, &lr);
        if (rc) break;
        ts.step++;
        tokens_all += (double)st.tokens;
        double el = (wd__now_us() - t0) * 1e-6;
        wd_train_progress pr = {
            .step = ts.step, .total_steps = total, .epoch = ts.epoch, .loss = st.loss_sum / (double)(st.n ? st.n : 1),
            .lr = lr, .grad_norm = gn, .tokens_per_s = tokens_all / (el > 0 ? el : 1e-9),
            .eta_s = el / (double)(ts.step - first) * (double)(total - ts.step),
            .accuracy = p->objective == WD_TRAIN_OBJECTIVE_SFT ? -1.0 : (double)st.n_right / (double)(st.n ? st.n : 1),
            .margin = st.n ? st.margin_sum / (double)st.n : 0};
        log_step(R, &pr);
        bool stop = p->stop_after && ts.step - first >= p->stop_after && ts.step < total;
        if (stop || (p->save_every && ts.step % p->save_every == 0 && ts.step < total)) {
            if (!root) {
                /* MPI: rank 0 writes it */
            } else if (!(rc = wd__mkdir_p(ckdir))) {
                rc = wd__save_state(R->P, R->adam_m, R->adam_v, &ts, state, &R->err);
            } else {
                wd__err_take(&R->err, rc);
            }
            rc = wd__dist_agree(rc, &R->err);
        }
        if (stop) {
            res->stopped = true;
            break;
        }
    }
    free(idx), free(state), free(ckdir);
    if (R->log) fclose(R->log), R->log = NULL;
    res->steps = ts.step;
    double el = (wd__now_us() - t0) * 1e-6;
    res->tokens_per_s = tokens_all / (el > 0 ? el : 1e-9);
    return rc;
}

wd_status wd_train(const char *model_dir, const wd_train_params *p, wd_train_result *out) {
    if (!model_dir || !p) return wd__fail(WD_ERR_INVALID_ARG, "wd_train: NULL argument");
    wd_status rc = check_params(p);
    if (!rc) rc = wd__dist_init(NULL); /* MPI: this process's rank, 0 of 1 without mpirun */
    if (rc) return rc;
    run *R = calloc(1, sizeof *R);
    if (!R) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_train_params pp = *p; /* dp: the solved noise goes here */
    R->p = p = &pp;
    wd_train_result res = {0};
    double t0 = wd__now_us();
    rc = setup(R, model_dir);
    rc = wd__dist_agree(rc, &R->err); /* MPI: all ranks go on, or none */
    res.rank = wd__dist_rank(), res.n_ranks = wd__dist_size();
    if (!rc) {
        res.n_train = R->train.n, res.n_eval = R->eval_ex.n;
        res.n_trainable = R->P->n_grad, res.n_params = R->P->n_values;
        rc = evaluate(R, &R->eval_ex, R->ref_eval, &res.eval_loss_before, &res.eval_accuracy_before,
                      &res.eval_margin_before);
    }
    if (!rc && p->dp) {
        uint64_t steps = total_steps(R);
        if (p->dp_target_epsilon > 0)
            rc = wd_privacy_noise_for_epsilon(p->dp_target_epsilon, R->dp_q, steps, p->dp_delta, &pp.dp_noise);
        if (!rc) rc = wd_privacy_epsilon(pp.dp_noise, R->dp_q, steps, p->dp_delta, &res.epsilon, NULL);
        res.dp_noise = pp.dp_noise, res.dp_sample_rate = R->dp_q;
    }
    if (!rc) rc = loop(R, &res);
    if (!rc && !res.stopped)
        rc = evaluate(R, &R->eval_ex, R->ref_eval, &res.eval_loss_after, &res.eval_accuracy_after,
                      &res.eval_margin_after);
    if (!rc && !res.stopped && wd__dist_root()) rc = save_all(R, p->out); /* MPI: rank 0 writes */
    if (!rc && !res.stopped && wd__dist_root()) {
        char sum[768];
        snprintf(sum, sizeof sum,
                 "<p>%s: %llu steps on %llu examples (%llu held out); %llu of %llu parameters "
                 "trained; eval loss %.4f &rarr; %.4f; %.0f tokens/s</p>",
                 wd_train_objective_name(p->objective), (unsigned long long)res.steps,
                 (unsigned long long)res.n_train, (unsigned long long)res.n_eval,
                 (unsigned long long)res.n_trainable, (unsigned long long)res.n_params,
                 res.eval_loss_before, res.eval_loss_after, res.tokens_per_s);
        if (wd__train_report(p->out, sum)) wd__err_take(&R->err, rc = wd__err_prefix(WD_ERR_IO, "report.html"));
    }
    res.seconds = (wd__now_us() - t0) * 1e-6;
    if (rc && R->err.msg[0]) wd__err_set(NULL, rc, "%s", R->err.msg);
    if (out) *out = res;
    R->o.ref = NULL;
    wd__objective_free(&R->o);
    free(R->ref_train), free(R->ref_eval);
    wd__tdec_free(&R->d);
    wd__tenc_free(&R->e);
    if (p->eval_data) wd__examples_free(&R->eval_ex);
    wd__examples_free(&R->all);
    free(R->adam_m), free(R->adam_v), free(R->order), free(R->dp_sum);
    wd_model_free(R->m);
    free(R);
    return rc;
}
