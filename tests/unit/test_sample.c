/*
 * tests/unit/test_sample.c - rejection sampling (wd_sample_best_of and
 * `warden sample`) end to end: a generated llama with a real tokenizer as
 * the policy, a reward model trained by wd_train (objective REWARD) on a
 * separable preference set as the scorer.
 *
 * Checked: the runtime loads the reward model wd_train writes and ranks the
 * training pairs as training left it; each output record's "response" has
 * the largest of its K rewards; that reward is what the reward model gives
 * prompt + response rendered and tokenized independently here; the K
 * responses of a prompt differ (temperature 1); the best-of-K mean reward
 * beats the first sample's; the same seed writes the same file; the output
 * trains `sft` as it is; a policy without an LM head, a reward model that
 * is not one and a bad record fail with a message and write nothing; the
 * command prints its summary.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_fixture.h"
#include "testutil.h"
#include "warden/warden.h"

enum { N_PROMPTS = 12, K = 4 };

static char *g_base, *g_policy, *g_rm, *g_dir, *g_pairs, *g_prompts, *g_sft;

static const char *k_words[] = {"alpha", "beta", "gamma", "delta", "apple",
                                "river", "stone", "cloud", "happy", "green"};

static char *path_in(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int setup(void **state) {
    (void)state;
    g_base = wdt_tmpdir("sample_base");
    char args[512];
    snprintf(args, sizeof args, "--family llama --seed 3 --max-pos 256 --tokenizer '%s/tokenizers/bpe-spm'",
             WD_TEST_FIXTURES);
    mf_generate(args, g_base);
    g_dir = wdt_tmpdir("sample_data");
    g_pairs = path_in(g_dir, "pairs.jsonl");
    g_prompts = path_in(g_dir, "prompts.jsonl");
    g_sft = path_in(g_dir, "sft.jsonl");
    FILE *f = fopen(g_pairs, "w"), *g = fopen(g_prompts, "w"), *h = fopen(g_sft, "w");
    uint64_t s = 1;
    for (int i = 0; i < 160; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const char *a = k_words[(s >> 33) % 10], *b = k_words[(s >> 40) % 10], *c = k_words[(s >> 47) % 10];
        fprintf(f, "{\"prompt\":\"tell me about %s\",\"chosen\":\"%s is nice, thank you\","
                   "\"rejected\":\"no %s stone stone stone\"}\n", a, a, a);
        if (i < N_PROMPTS) fprintf(g, "{\"prompt\":\"tell me about %s\",\"id\":%d}\n", a, i);
        /* the policy answers well, badly or at random, a third each */
        if (i % 3 == 0) fprintf(h, "{\"prompt\":\"tell me about %s\",\"response\":\"%s is nice, thank you\"}\n", a, a);
        else if (i % 3 == 1) fprintf(h, "{\"prompt\":\"tell me about %s\",\"response\":\"no %s stone stone stone\"}\n", a, a);
        else fprintf(h, "{\"prompt\":\"tell me about %s\",\"response\":\"%s %s %s\"}\n", a, b, c, a);
    }
    fclose(f), fclose(g), fclose(h);
    /* the policy: a short sft of the generated model */
    g_policy = wdt_tmpdir("sample_policy");
    wd_train_params p = wd_train_params_default();
    p.data = g_sft, p.out = g_policy;
    p.batch_size = 8, p.lr = 3e-3, p.n_threads = 1, p.eval_fraction = 0.1, p.epochs = 6;
    wd_train_result r;
    if (wd_train(g_base, &p, &r)) fail_msg("train sft: %s", wd_last_error());
    print_message("policy: sft eval loss %.3f -> %.3f\n", r.eval_loss_before, r.eval_loss_after);
    /* the reward model, as `warden train reward` makes it */
    g_rm = wdt_tmpdir("sample_rm");
    p.objective = WD_TRAIN_OBJECTIVE_REWARD;
    p.data = g_pairs, p.out = g_rm, p.epochs = 1;
    if (wd_train(g_base, &p, &r)) fail_msg("train reward: %s", wd_last_error());
    print_message("reward model: pairwise accuracy %.3f -> %.3f\n", r.eval_accuracy_before,
                  r.eval_accuracy_after);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(g_base), free(g_policy), free(g_rm), free(g_dir), free(g_pairs), free(g_prompts), free(g_sft);
    return 0;
}

/* prompt + response as the reward model was trained on it, rendered here
 * from the public API: the tokenizer's chat template when it is a known
 * format, else "prompt\n" + response + EOS with the special tokens. */
static float reward_of(wd_context *ctx, const char *prompt, const char *response) {
    const wd_tokenizer *tok = wd_model_tokenizer(wd_context_model(ctx));
    char *text = NULL;
    bool special = false;
    if (wd_chat_format_detect(wd_tokenizer_chat_template(tok)) != WD_CHAT_FORMAT_UNKNOWN) {
        wd_chat_message msgs[2] = {{"user", prompt}, {"assistant", response}};
        wd_chat_params cp = wd_chat_params_default();
        cp.add_generation_prompt = false;
        assert_int_equal(wd_chat_render_tok(tok, msgs, 2, &cp, &text, NULL), WD_OK);
    } else {
        const char *eos = wd_tokenizer_special_str(tok, WD_SPECIAL_TOKEN_EOS);
        size_t n = strlen(prompt) + strlen(response) + (eos ? strlen(eos) : 0) + 2;
        text = malloc(n);
        snprintf(text, n, "%s\n%s%s", prompt, response, eos ? eos : "");
        special = true;
    }
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = special;
    int32_t ids[1024];
    size_t n = 0;
    assert_int_equal(wd_tokenizer_encode_ids(tok, text, strlen(text), &ep, ids, 1024, &n), WD_OK);
    free(text);
    float r = 0;
    assert_int_equal(wd_model_reward(ctx, ids, n, &r, 1), WD_OK);
    return r;
}

static void test_reward_model_loads(void **state) {
    (void)state;
    wd_model *m = mf_load(g_rm, 1, 0);
    assert_int_equal(wd_model_n_labels(m), 1);
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    size_t right = 0;
    for (int i = 0; i < 10; i++) {
        char p[64], c[64], r[64];
        snprintf(p, sizeof p, "tell me about %s", k_words[i]);
        snprintf(c, sizeof c, "%s is nice, thank you", k_words[i]);
        snprintf(r, sizeof r, "no %s stone stone stone", k_words[i]);
        right += reward_of(ctx, p, c) > reward_of(ctx, p, r);
    }
    print_message("the loaded reward model ranks %zu/10 pairs right\n", right);
    assert_true(right >= 9);
    wd_context_free(ctx);
    wd_model_free(m);
}

static wd_sample_params params(const char *out) {
    wd_sample_params p = wd_sample_params_default();
    p.data = g_prompts, p.out = out;
    p.best_of = K, p.temperature = 1.0, p.max_tokens = 16, p.n_threads = 1, p.keep_all = true;
    return p;
}

static void test_best_of_k(void **state) {
    (void)state;
    char *out = path_in(g_dir, "best.jsonl");
    wd_sample_params p = params(out);
    wd_sample_result res;
    assert_int_equal(wd_sample_best_of(g_policy, g_rm, &p, &res), WD_OK);
    assert_int_equal(res.n_prompts, N_PROMPTS);
    assert_int_equal(res.n_samples, N_PROMPTS * K);

    wd_model *rm = mf_load(g_rm, 1, 0);
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(rm, NULL, &ctx), WD_OK);
    size_t len = 0;
    char *text = mf_read(out, &len);
    assert_non_null(text);
    size_t n_rec = 0, n_distinct = 0;
    double sum_best = 0, sum_first = 0, worst = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n_rec++) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        const char *prompt = cJSON_GetObjectItem(j, "prompt")->valuestring;
        const char *resp = cJSON_GetObjectItem(j, "response")->valuestring;
        double reward = cJSON_GetObjectItem(j, "reward")->valuedouble;
        int best = cJSON_GetObjectItem(j, "best")->valueint;
        const cJSON *rs = cJSON_GetObjectItem(j, "rewards"), *ts = cJSON_GetObjectItem(j, "responses");
        assert_int_equal(cJSON_GetArraySize(rs), K);
        assert_int_equal(cJSON_GetArraySize(ts), K);
        double mx = -INFINITY;
        for (int k = 0; k < K; k++) mx = fmax(mx, cJSON_GetArrayItem(rs, k)->valuedouble);
        assert_true(reward == mx);
        assert_true(cJSON_GetArrayItem(rs, best)->valuedouble == mx);
        assert_string_equal(cJSON_GetArrayItem(ts, best)->valuestring, resp);
        /* the K responses differ */
        size_t distinct = 0;
        for (int a = 0; a < K; a++) {
            bool seen = false;
            for (int b = 0; b < a; b++)
                seen |= !strcmp(cJSON_GetArrayItem(ts, a)->valuestring, cJSON_GetArrayItem(ts, b)->valuestring);
            distinct += !seen;
        }
        n_distinct += distinct;
        /* the reward, recomputed here */
        double again = reward_of(ctx, prompt, resp);
        worst = fmax(worst, fabs(again - reward) / (1 + fabs(reward)));
        sum_best += reward;
        sum_first += cJSON_GetArrayItem(rs, 0)->valuedouble;
        if (n_rec < 3) print_message("record %zu: '%s' -> '%s' (reward %.4f of %d)\n", n_rec + 1, prompt, resp, reward, K);
        cJSON_Delete(j);
    }
    free(text);
    assert_int_equal(n_rec, N_PROMPTS);
    print_message("best of %d over %d prompts: mean reward best %.4f vs first sample %.4f "
                  "(all %.4f); %zu/%d responses distinct; recomputed reward max rel diff %.2e; "
                  "%.0f tokens/s\n",
                  K, N_PROMPTS, sum_best / N_PROMPTS, sum_first / N_PROMPTS, res.mean_all, n_distinct,
                  N_PROMPTS * K, worst, res.tokens_per_s);
    assert_true(n_distinct >= (size_t)(N_PROMPTS * K) * 9 / 10);
    assert_true(worst < 1e-5);
    assert_true(sum_best > sum_first);
    assert_float_equal(res.mean_best, sum_best / N_PROMPTS, 1e-5);
    assert_float_equal(res.mean_first, sum_first / N_PROMPTS, 1e-5);
    wd_context_free(ctx);
    wd_model_free(rm);

    /* the same seed writes the same file; another seed another */
    char *again = path_in(g_dir, "again.jsonl"), *other = path_in(g_dir, "other.jsonl");
    assert_int_equal(wd_sample_best_of(g_policy, g_rm, &p, NULL), WD_OK);
    p.out = again;
    assert_int_equal(wd_sample_best_of(g_policy, g_rm, &p, NULL), WD_OK);
    p.out = other, p.seed = 2;
    assert_int_equal(wd_sample_best_of(g_policy, g_rm, &p, NULL), WD_OK);
    char *a = mf_read(out, NULL), *b = mf_read(again, NULL), *c = mf_read(other, NULL);
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);
    free(a), free(b), free(c), free(again), free(other);

    /* the output is sft data as it is */
    char *sft = wdt_tmpdir("sample_sft");
    wd_train_params tp = wd_train_params_default();
    tp.data = out, tp.out = sft, tp.max_steps = 2, tp.batch_size = 4, tp.n_threads = 1;
    wd_train_result tr;
    assert_int_equal(wd_train(g_policy, &tp, &tr), WD_OK);
    assert_int_equal(tr.steps, 2);
    free(sft);
    free(out);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_errors_write_nothing(void **state) {
    (void)state;
    char *out = path_in(g_dir, "none.jsonl");
    wd_sample_params p = params(out);
    /* the reward model cannot generate */
    assert_int_equal(wd_sample_best_of(g_rm, g_rm, &p, NULL), WD_ERR_UNSUPPORTED);
    print_message("policy = reward model: %s\n", wd_last_error());
    assert_non_null(strstr(wd_last_error(), "no LM head"));
    assert_false(exists(out));
    /* a causal LM is no reward model */
    assert_int_equal(wd_sample_best_of(g_policy, g_policy, &p, NULL), WD_ERR_UNSUPPORTED);
    print_message("reward = causal LM: %s\n", wd_last_error());
    assert_non_null(strstr(wd_last_error(), "not a reward model"));
    assert_false(exists(out));
    /* a record without a prompt, after good ones */
    char *bad = path_in(g_dir, "bad.jsonl");
    const char *lines = "{\"prompt\":\"tell me about alpha\"}\n{\"prompt\":\"tell me about beta\"}\n"
                        "{\"question\":\"no prompt here\"}\n";
    wdt_write_file(bad, lines, strlen(lines));
    p.data = bad;
    wd_status st = wd_sample_best_of(g_policy, g_rm, &p, NULL);
    print_message("bad record: %s\n", wd_last_error());
    assert_int_not_equal(st, WD_OK);
    assert_non_null(strstr(wd_last_error(), "3"));
    assert_false(exists(out));
    /* settings */
    p.data = g_prompts;
    p.best_of = 0;
    assert_int_equal(wd_sample_best_of(g_policy, g_rm, &p, NULL), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "best_of"));
    p.best_of = 2, p.top_p = 0;
    assert_int_equal(wd_sample_best_of(g_policy, g_rm, &p, NULL), WD_ERR_INVALID_ARG);
    assert_false(exists(out));
    free(bad), free(out);
}

static void test_cli(void **state) {
    (void)state;
    char *out = path_in(g_dir, "cli.jsonl");
    char args[4096], *so = NULL, *se = NULL;
    snprintf(args, sizeof args,
             "sample --model '%s' --reward '%s' --data '%s' --best-of 3 --out '%s' --max-tokens 8 "
             "--limit 5 --threads 1 --json",
             g_policy, g_rm, g_prompts, out);
    assert_int_equal(wdt_cli(args, NULL, &so, &se), 0);
    print_message("cli: %s", so);
    cJSON *j = cJSON_Parse(so);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "n_prompts")->valueint, 5);
    assert_int_equal(cJSON_GetObjectItem(j, "n_samples")->valueint, 15);
    assert_true(cJSON_GetObjectItem(j, "mean_reward_best")->valuedouble >=
                cJSON_GetObjectItem(j, "mean_reward_first")->valuedouble);
    assert_non_null(strstr(se, "prompt 5/5"));
    cJSON_Delete(j);
    free(so), free(se);
    /* no responses without --all */
    char *text = mf_read(out, NULL);
    assert_non_null(strstr(text, "\"rewards\""));
    assert_null(strstr(text, "\"responses\""));
    free(text);
    /* usage and runtime errors */
    snprintf(args, sizeof args, "sample --model '%s' --data '%s' --out '%s'", g_policy, g_prompts, out);
    assert_int_equal(wdt_cli(args, NULL, NULL, &se), 2);
    assert_non_null(strstr(se, "--reward"));
    free(se);
    snprintf(args, sizeof args, "sample --model '%s' --reward '%s' --data '%s' --out '%s' --best-of 0",
             g_policy, g_rm, g_prompts, out);
    assert_int_equal(wdt_cli(args, NULL, NULL, NULL), 2);
    snprintf(args, sizeof args, "sample --model '%s' --reward '%s' --data '%s/missing.jsonl' --out '%s'",
             g_policy, g_rm, g_dir, out);
    assert_int_equal(wdt_cli(args, NULL, NULL, &se), 3);
    assert_non_null(strstr(se, "missing.jsonl"));
    free(se);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reward_model_loads),
        cmocka_unit_test(test_best_of_k),
        cmocka_unit_test(test_errors_write_nothing),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
