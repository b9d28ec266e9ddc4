/*
 * train/sample.c - rejection sampling (best-of-K) with a reward model, as
 * Llama 2 collects its fine-tuning data (METHODS.md section 8): for each
 * prompt, K responses from the policy, each scored by the reward model,
 * the best kept.
 *
 *   record i: prompt --(policy's chat template, add_generation_prompt)--> ids
 *             for j < K: response_j = generate(ids; temperature T, top-p,
 *                                      seed mix(seed, i, j))
 *                        r_j = reward(prompt + response_j, rendered with the
 *                              REWARD model's tokenizer and template, as
 *                              `warden train reward` renders its pairs)
 *             best = argmax_j r_j (the first on ties)
 *             -> {"prompt", "response": response_best, "reward": r_best,
 *                 "best": best, "rewards": [r_0..r_K-1] (, "responses")}
 *
 * The output is `warden train sft --data` input as it is (prompt/response).
 * Sample j of record i draws from its own seed, so a record's samples do not
 * depend on the others (or on K for j < K). A response is the generated
 * text up to the end-of-sequence token, special tokens left out (the
 * template adds its own when the chat is rendered again). A chat longer
 * than the reward model's context is scored on its last n_ctx tokens (the
 * score reads the last one).
 *
 * The output is written to a temporary beside it and renamed at the end: a
 * failure leaves no partial file. Every error names the data file and the
 * record.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/file.h"
#include "base/rng.h"
#include "train/examples.h"
#include "warden/config.h"
#include "warden/dataset.h"
#include "warden/json.h"
#include "warden/model.h"
#include "warden/train.h"

wd_sample_params wd_sample_params_default(void) {
    wd_sample_params p = {
        .best_of = 4,
        .temperature = 1.0,
        .top_p = 1.0,
        .top_k = 0,
        .max_tokens = 256,
        .seed = 1,
    };
    return p;
}

typedef struct sampler_run {
    const wd_sample_params *p;
    wd__examples_params ep;
    wd_model   *pol, *rm;
    wd_context *pctx, *rctx;
    int32_t    *gen;                 /* (max_tokens) generated ids          */
    char      **text;                /* (K) responses                       */
    float      *reward;              /* (K)                                  */
    wd__atomic_file out;
    uint64_t    n_tokens;
} sampler_run;

static wd_status check_params(const wd_sample_params *p) {
    if (!p->data || !p->out) return wd__fail(WD_ERR_INVALID_ARG, "sample: the data and out paths are required");
    if (p->best_of < 1 || p->best_of > 4096)
        return wd__fail(WD_ERR_INVALID_ARG, "sample: best_of %d: expected 1 to 4096", p->best_of);
    if (!(p->temperature >= 0) || p->temperature > 100)
        return wd__fail(WD_ERR_INVALID_ARG, "sample: temperature %g: expected 0 to 100", p->temperature);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return wd__fail(WD_ERR_INVALID_ARG, "sample: top_p %g: expected (0, 1]", p->top_p);
    if (p->max_tokens < 1) return wd__fail(WD_ERR_INVALID_ARG, "sample: max_tokens must be at least 1");
    return WD_OK;
}

/* Loads a model folder and makes its context; what names it in messages. */
static wd_status open_model(const char *dir, const char *what, int n_threads, wd_model **m,
                            wd_context **ctx) {
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = n_threads;
    wd_status rc = wd_model_load(dir, &mp, m);
    if (rc) return wd__err_prefix(rc, "sample: the %s model", what);
    if (wd_model_config_family(wd_model_get_config(*m)) != WD_MODEL_FAMILY_DECODER)
        return wd__fail(WD_ERR_UNSUPPORTED, "sample: the %s model %s is an encoder; a llama, "
                        "mistral or qwen2 decoder is needed", what, dir);
    if (!wd_model_tokenizer(*m))
        return wd__fail(WD_ERR_NOT_FOUND, "sample: the %s model %s has no tokenizer.json", what, dir);
    if ((rc = wd_context_new(*m, NULL, ctx)))
        return wd__err_prefix(rc, "sample: the %s model %s", what, dir);
    return WD_OK;
}

/* Generates sample j of record rec into R->text[j]. */
static wd_status sample_one(sampler_run *R, const int32_t *ids, size_t n, size_t rec, size_t j) {
    const wd_sample_params *p = R->p;
    wd_generate_params gp = wd_generate_params_default();
    gp.max_tokens = p->max_tokens;
    gp.sampler = wd_sampler_params_default();
    gp.sampler.temperature = (float)p->temperature;
    gp.sampler.top_p = (float)p->top_p;
    gp.sampler.top_k = p->top_k;
    gp.sampler.min_p = 0.0f;
    gp.sampler.repeat_penalty = 1.0f;
    gp.sampler.seed = wd__mix64(p->seed ^ wd__mix64(((uint64_t)rec << 20) + j + 1));
    size_t n_gen = 0;
    wd_status rc = wd_model_generate(R->pctx, ids, n, &gp, NULL, NULL, R->gen, p->max_tokens, &n_gen);
    if (rc) return rc;
    R->n_tokens += n_gen;
    wd_decode_params dp = wd_decode_params_default();
    dp.skip_special_tokens = true;
    return wd_tokenizer_decode(wd_model_tokenizer(R->pol), R->gen, n_gen, &dp, &R->text[j], NULL);
}

/* The reward of prompt + response under the reward model. */
static wd_status score_one(sampler_run *R, const char *prompt, const char *response, float *r) {
    int32_t *ids = NULL;
    size_t n = 0;
    wd__err err = {0};
    wd_status rc = wd__examples_render_ids(wd_model_tokenizer(R->rm), &R->ep, prompt, response, &ids,
                                           &n, &err);
    if (rc) return rc;
    size_t cap = wd_context_n_ctx(R->rctx), from = n > cap ? n - cap : 0;
    rc = n ? wd_model_reward(R->rctx, ids + from, n - from, r, 1)
           : wd__fail(WD_ERR_FORMAT, "the chat renders to no tokens");
    free(ids);
    return rc;
}

/* One JSONL line for a record. */
static wd_status write_record(sampler_run *R, const char *prompt, size_t best) {
    size_t K = (size_t)R->p->best_of;
    cJSON *j = cJSON_CreateObject();
    cJSON *rs = cJSON_CreateArray(), *ts = R->p->keep_all ? cJSON_CreateArray() : NULL;
    if (!j || !rs || (R->p->keep_all && !ts)) {
        cJSON_Delete(j), cJSON_Delete(rs), cJSON_Delete(ts);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    cJSON_AddStringToObject(j, "prompt", prompt);
    cJSON_AddStringToObject(j, "response", R->text[best]);
    cJSON_AddNumberToObject(j, "reward", R->reward[best]);
    cJSON_AddNumberToObject(j, "best", (double)best);
    for (size_t k = 0; k < K; k++) {
        cJSON_AddItemToArray(rs, cJSON_CreateNumber(R->reward[k]));
        if (ts) cJSON_AddItemToArray(ts, cJSON_CreateString(R->text[k]));
    }
    cJSON_AddItemToObject(j, "rewards", rs);
    if (ts) cJSON_AddItemToObject(j, "responses", ts);
    char *line = wd_json_print(j, false);
    cJSON_Delete(j);
    if (!line) return wd__fail(WD_ERR_NOMEM, "out of memory");
    bool ok = fputs(line, R->out.fp) >= 0 && fputc('\n', R->out.fp) != EOF;
    free(line);
    return ok ? WD_OK : wd__fail(WD_ERR_IO, "%s: write failed", R->p->out);
}

/* Samples, scores and writes one record; errors are prefixed by the caller. */
static wd_status do_record(sampler_run *R, const char *prompt, size_t rec, wd_sample_result *res) {
    size_t K = (size_t)R->p->best_of;
    int32_t *ids = NULL;
    size_t n = 0;
    wd__err err = {0};
    wd_status rc = wd__examples_render_ids(wd_model_tokenizer(R->pol), &R->ep, prompt, NULL, &ids, &n,
                                           &err);
    if (rc) return rc;
    if (n == 0 || n >= wd_context_n_ctx(R->pctx))
        rc = wd__fail(WD_ERR_RANGE, "the prompt has %zu tokens; the policy's context holds %zu", n,
                      wd_context_n_ctx(R->pctx));
    size_t best = 0;
    for (size_t j = 0; j < K && !rc; j++) {
        if ((rc = sample_one(R, ids, n, rec, j))) break;
        if ((rc = score_one(R, prompt, R->text[j], &R->reward[j]))) {
            wd__err_prefix(rc, "sample %zu: reward", j + 1);
            break;
        }
        if (R->reward[j] > R->reward[best]) best = j;
    }
    free(ids);
    if (!rc) rc = write_record(R, prompt, best);
    if (!rc) {
        double sum = 0;
        for (size_t j = 0; j < K; j++) sum += R->reward[j];
        res->n_prompts++;
        res->n_samples += K;
        res->mean_best += R->reward[best];
        res->mean_first += R->reward[0];
        res->mean_all += sum / (double)K;
    }
    for (size_t j = 0; j < K; j++) free(R->text[j]), R->text[j] = NULL;
    return rc;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static wd_status run(sampler_run *R, const char *policy_dir, const char *reward_dir, wd_sample_result *res) {
    const wd_sample_params *p = R->p;
    wd_status rc;
    if ((rc = open_model(policy_dir, "policy", p->n_threads, &R->pol, &R->pctx))) return rc;
    if ((rc = open_model(reward_dir, "reward", p->n_threads, &R->rm, &R->rctx))) return rc;
    if (wd_model_n_labels(R->pol) != 0)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "sample: the policy %s is a %s (a reward model / sequence classifier): it "
                        "has no LM head to generate with", policy_dir,
                        wd_model_config_architecture(wd_model_get_config(R->pol)));
    if (wd_model_n_labels(R->rm) != 1)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "sample: the reward model %s is not a reward model: config.json needs "
                        "architectures [\"...ForSequenceClassification\"] with num_labels 1 (it has "
                        "%zu labels)", reward_dir, wd_model_n_labels(R->rm));
    size_t K = (size_t)p->best_of;
    R->gen = malloc(p->max_tokens * sizeof *R->gen);
    R->text = calloc(K, sizeof *R->text);
    R->reward = calloc(K, sizeof *R->reward);
    if (!R->gen || !R->text || !R->reward) return wd__fail(WD_ERR_NOMEM, "out of memory");

    wd_dataset_params dp = wd_dataset_params_default();
    dp.text_field = R->ep.prompt_field;
    wd_dataset *ds = NULL;
    if ((rc = wd_dataset_open(p->data, &dp, &ds))) return rc;
    /* count the records first (up to the limit), for the progress line and so
     * that a bad record stops the run before any generation */
    size_t total = 0;
    for (const wd_dataset_item *it = NULL; !(p->limit && total == p->limit) && !(rc = wd_dataset_next(ds, &it)) && it;)
        total++;
    if (rc) wd__fail(rc, "%s", wd_dataset_last_error(ds));
    wd_dataset_free(ds), ds = NULL;
    if (rc) return rc;
    if (total == 0) return wd__fail(WD_ERR_FORMAT, "%s: no prompts", p->data);
    if ((rc = wd_dataset_open(p->data, &dp, &ds))) return rc;
    if ((rc = wd__atomic_open(&R->out, p->out))) {
        wd_dataset_free(ds);
        return wd__err_prefix(rc, "sample: --out");
    }
    double t0 = now_s();
    for (size_t done = 0; done < total;) {
        const wd_dataset_item *it = NULL;
        if ((rc = wd_dataset_next(ds, &it))) {
            wd__fail(rc, "%s", wd_dataset_last_error(ds));
            break;
        }
        if (!it) break;
        size_t rec = it->record;
        char *prompt = strdup(it->text);
        if (!prompt) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            break;
        }
        rc = do_record(R, prompt, rec, res);
        free(prompt);
        if (rc) {
            wd__err_prefix(rc, "%s: record %zu", p->data, rec + 1);
            break;
        }
        done++;
        if (p->progress) {
            double el = now_s() - t0;
            wd_sample_progress pr = {
                .done = done,
                .total = total,
                .reward_best = res->mean_best / (double)res->n_prompts,
                .reward_mean = res->mean_all / (double)res->n_prompts,
                .tokens_per_s = el > 0 ? (double)R->n_tokens / el : 0,
                .eta_s = el / (double)done * (double)(total - done),
            };
            p->progress(&pr, p->user);
        }
    }
    wd_dataset_free(ds);
    if (rc) return rc;
    if ((rc = wd__atomic_commit(&R->out))) return wd__err_prefix(rc, "sample: --out");
    res->seconds = now_s() - t0;
    res->tokens_per_s = res->seconds > 0 ? (double)R->n_tokens / res->seconds : 0;
    res->n_tokens = R->n_tokens;
    return WD_OK;
}

wd_status wd_sample_best_of(const char *policy_dir, const char *reward_dir, const wd_sample_params *params,
                            wd_sample_result *res) {
    wd_sample_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (!policy_dir || !reward_dir || !params)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_sample_best_of: NULL argument");
    wd_status rc = check_params(params);
    if (rc) return rc;
    sampler_run R = {.p = params};
    R.ep.prompt_field = params->prompt_field ? params->prompt_field : "prompt";
    R.ep.chat_format = params->chat_format;
    R.ep.system = params->system;
    rc = run(&R, policy_dir, reward_dir, res);
    wd__atomic_abort(&R.out);
    if (res->n_prompts) {
        res->mean_best /= (double)res->n_prompts;
        res->mean_first /= (double)res->n_prompts;
        res->mean_all /= (double)res->n_prompts;
    }
    free(R.gen), free(R.reward);
    if (R.text)
        for (int j = 0; j < params->best_of; j++) free(R.text[j]);
    free(R.text);
    wd_context_free(R.pctx), wd_context_free(R.rctx);
    wd_model_free(R.pol), wd_model_free(R.rm);
    if (rc) memset(res, 0, sizeof *res);
    return rc;
}
