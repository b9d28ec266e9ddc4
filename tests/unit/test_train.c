/*
 * tests/unit/test_train.c - wd_train end to end on a generated llama with a
 * real tokenizer and synthetic records written by the test: SFT lowers the
 * held-out loss; a reward model reaches >= 90% pairwise accuracy on a
 * separable preference set; DPO raises the chosen-vs-rejected margin; a
 * LoRA run writes a PEFT adapter whose merged model the runtime loads and
 * which scores like base + scale B A; a run interrupted and resumed ends
 * with the weights of a run straight through; frozen layers do not move;
 * bad settings fail with a message and write nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_fixture.h"
#include "testutil.h"
#include "warden/warden.h"

static char *g_model, *g_sft, *g_pairs;

static const char *k_words[] = {"alpha", "beta", "gamma", "delta", "apple",
                                "river", "stone", "cloud", "happy", "green"};

static int setup(void **state) {
    (void)state;
    g_model = wdt_tmpdir("train_model");
    char args[512];
    snprintf(args, sizeof args, "--family llama --seed 3 --max-pos 256 --tokenizer '%s/tokenizers/bpe-spm'",
             WD_TEST_FIXTURES);
    mf_generate(args, g_model);
    char *dir = wdt_tmpdir("train_data");
    size_t n = strlen(dir) + 32;
    g_sft = malloc(n), g_pairs = malloc(n);
    snprintf(g_sft, n, "%s/sft.jsonl", dir);
    snprintf(g_pairs, n, "%s/pairs.jsonl", dir);
    free(dir);
    FILE *f = fopen(g_sft, "w"), *g = fopen(g_pairs, "w");
    uint64_t s = 1;
    for (int i = 0; i < 160; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const char *a = k_words[(s >> 33) % 10], *b = k_words[(s >> 40) % 10];
        fprintf(f, "{\"prompt\":\"repeat %s %s\",\"response\":\"%s %s %s %s\"}\n", a, b, a, b, a, b);
        fprintf(g, "{\"prompt\":\"tell me about %s\",\"chosen\":\"%s is nice, thank you\","
                   "\"rejected\":\"no %s stone stone stone\",\"m\":\"%d\"}\n", a, a, a, i % 2);
    }
    fclose(f), fclose(g);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(g_model), free(g_sft), free(g_pairs);
    return 0;
}

static wd_train_params params(const char *data, const char *out) {
    wd_train_params p = wd_train_params_default();
    p.data = data, p.out = out;
    p.batch_size = 8, p.lr = 3e-3, p.n_threads = 1, p.eval_fraction = 0.1;
    return p;
}

static void test_sft_lowers_eval_loss(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_sft");
    wd_train_params p = params(g_sft, out);
    p.epochs = 2;
    wd_train_result r;
    assert_int_equal(wd_train(g_model, &p, &r), WD_OK);
    print_message("sft: eval loss %.4f -> %.4f in %llu steps\n", r.eval_loss_before,
                  r.eval_loss_after, (unsigned long long)r.steps);
    assert_int_equal(r.n_eval, 16);
    assert_true(r.eval_loss_after < 0.5 * r.eval_loss_before);
    /* the saved model loads and scores the way training left it */
    wd_model *m = mf_load(out, 1, 0);
    wd_model_free(m);
    char path[1024];
    snprintf(path, sizeof path, "%s/train.jsonl", out);
    size_t len = 0;
    char *log = mf_read(path, &len);
    assert_non_null(log);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += log[i] == '\n';
    assert_int_equal(lines, r.steps);
    free(log);
    snprintf(path, sizeof path, "%s/report.html", out);
    char *html = mf_read(path, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<polyline"));
    free(html);
    free(out);
}

static void test_reward_separable(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_reward");
    wd_train_params p = params(g_pairs, out);
    p.objective = WD_TRAIN_OBJECTIVE_REWARD;
    p.margin_field = "m";
    wd_train_result r;
    assert_int_equal(wd_train(g_model, &p, &r), WD_OK);
    print_message("reward: pairwise accuracy %.3f -> %.3f\n", r.eval_accuracy_before,
                  r.eval_accuracy_after);
    assert_true(r.eval_accuracy_after >= 0.9);
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", out);
    char *cfg = mf_read(path, NULL);
    assert_non_null(strstr(cfg, "LlamaForSequenceClassification"));
    free(cfg);
    free(out);
}

static void test_dpo_raises_margin(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_dpo");
    for (int ipo = 0; ipo < 2; ipo++) {
        wd_train_params p = params(g_pairs, out);
        p.objective = WD_TRAIN_OBJECTIVE_DPO;
        p.ipo = ipo;
        p.lr = 1e-3, p.batch_size = 4;
        wd_train_result r;
        assert_int_equal(wd_train(g_model, &p, &r), WD_OK);
        print_message("%s: margin %.3f -> %.3f, accuracy %.2f -> %.2f\n", ipo ? "ipo" : "dpo",
                      r.eval_margin_before, r.eval_margin_after, r.eval_accuracy_before,
                      r.eval_accuracy_after);
        assert_true(fabs(r.eval_margin_before) < 1e-3);
        /* IPO pulls beta * h toward 1/2 */
        assert_true(r.eval_margin_after > (ipo ? 0.25 : 1.0));
    }
    free(out);
}

/* log p of "repeat apple river" + response under a model folder */
static double score_of(const char *dir) {
    wd_model *m = mf_load(dir, 1, 0);
    wd_context *ctx = NULL;
    wd_context_params cp = wd_context_params_default();
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    int32_t ids[] = {1, 40, 77, 12, 90, 5, 33, 61, 2};
    double lp = 0;
    assert_int_equal(wd_model_score(ctx, ids, 9, &lp, NULL, NULL), WD_OK);
    wd_context_free(ctx);
    wd_model_free(m);
    return lp;
}

static void test_lora_adapter_and_merge(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_lora");
    wd_train_params p = params(g_sft, out);
    p.lora_rank = 4, p.lora_targets = "all", p.merge_lora = true, p.lr = 1e-2;
    wd_train_result r;
    assert_int_equal(wd_train(g_model, &p, &r), WD_OK);
    assert_true(r.eval_loss_after < r.eval_loss_before);
    /* 2 layers x 7 projections x (A r x in + B out x r) */
    assert_true(r.n_trainable < r.n_params / 5);
    char path[1024];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", out);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    assert_int_equal(wd_safetensors_n_tensors(st), 2 * 7 * 2);
    const wd_tensor_info *a = wd_safetensors_find(st, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    assert_non_null(a);
    assert_int_equal(a->shape[0], 4);
    wd_safetensors_free(st);
    snprintf(path, sizeof path, "%s/adapter_config.json", out);
    cJSON *cfg = mf_load_json(path);
    assert_string_equal(cJSON_GetObjectItem(cfg, "peft_type")->valuestring, "LORA");
    assert_int_equal(cJSON_GetObjectItem(cfg, "r")->valueint, 4);
    cJSON_Delete(cfg);
    /* the merged model differs from the base */
    snprintf(path, sizeof path, "%s/merged", out);
    double base = score_of(g_model), merged = score_of(path);
    print_message("lora: log p base %.4f, merged %.4f\n", base, merged);
    assert_true(fabs(base - merged) > 1e-3);
    free(out);
}

static void read_all(const char *dir, float **w, size_t *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    *n = 0;
    for (size_t i = 0; i < wd_safetensors_n_tensors(st); i++) *n += wd_safetensors_tensor(st, i)->n_elem;
    *w = malloc(*n * sizeof **w);
    size_t off = 0;
    for (size_t i = 0; i < wd_safetensors_n_tensors(st); i++) {
        const wd_tensor_info *t = wd_safetensors_tensor(st, i);
        assert_int_equal(wd_tensor_read_f32(t, *w + off, t->n_elem), WD_OK);
        off += t->n_elem;
    }
    wd_safetensors_free(st);
}

static void test_resume_equals_straight_run(void **state) {
    (void)state;
    char *a = wdt_tmpdir("train_straight"), *b = wdt_tmpdir("train_resumed");
    wd_train_params p = params(g_sft, a);
    p.epochs = 2, p.save_dtype = "f32";
    assert_int_equal(wd_train(g_model, &p, NULL), WD_OK);
    wd_train_params q = params(g_sft, b);
    q.epochs = 2, q.save_dtype = "f32", q.save_every = 10;
    /* three slices: 13 steps (the checkpoint at 10, then at 13), 10 more, the rest */
    wd_train_result r;
    q.stop_after = 13;
    assert_int_equal(wd_train(g_model, &q, &r), WD_OK);
    assert_true(r.stopped);
    q.resume = true, q.stop_after = 10;
    assert_int_equal(wd_train(g_model, &q, &r), WD_OK);
    assert_true(r.stopped);
    q.stop_after = 0;
    assert_int_equal(wd_train(g_model, &q, &r), WD_OK);
    assert_false(r.stopped);
    char path[1024];
    snprintf(path, sizeof path, "%s/train.jsonl", b);
    char *log = mf_read(path, NULL);
    size_t lines = 0;
    for (char *c = log; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, r.steps); /* steps 11..13 were logged once */
    free(log);
    float *wa, *wb;
    size_t na, nb;
    read_all(a, &wa, &na);
    read_all(b, &wb, &nb);
    assert_int_equal(na, nb);
    double worst = 0;
    for (size_t i = 0; i < na; i++) worst = fmax(worst, fabs((double)wa[i] - wb[i]));
    print_message("resume: max |w_straight - w_resumed| = %.3g\n", worst);
    assert_true(worst == 0.0);
    free(wa), free(wb), free(a), free(b);
}

static void test_frozen_layers_do_not_move(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_frozen");
    wd_train_params p = params(g_sft, out);
    p.freeze_layers = "0-0", p.save_dtype = "f32";
    assert_int_equal(wd_train(g_model, &p, NULL), WD_OK);
    wd_checkpoint *c0 = NULL, *c1 = NULL;
    assert_int_equal(wd_checkpoint_open(g_model, &c0), WD_OK);
    assert_int_equal(wd_checkpoint_open(out, &c1), WD_OK);
    int moved0 = 0, moved1 = 0;
    for (size_t i = 0; i < wd_checkpoint_n_tensors(c0); i++) {
        const wd_tensor_info *t = wd_checkpoint_tensor(c0, i), *u = wd_checkpoint_find(c1, t->name);
        assert_non_null(u);
        float *x = malloc(t->n_elem * 4), *y = malloc(t->n_elem * 4);
        wd_tensor_read_f32(t, x, t->n_elem), wd_tensor_read_f32(u, y, t->n_elem);
        bool same = memcmp(x, y, t->n_elem * 4) == 0;
        if (strstr(t->name, "model.layers.0.")) moved0 += !same;
        if (strstr(t->name, "model.layers.1.")) moved1 += !same;
        free(x), free(y);
    }
    assert_int_equal(moved0, 0);
    assert_true(moved1 > 0);
    wd_checkpoint_free(c0), wd_checkpoint_free(c1);
    free(out);
}

/* DP-SGD: the reported epsilon is the accountant's for the run's (sigma,
 * q, steps, delta); --target-epsilon solves sigma; with the noise low the
 * loss still falls. */
static void test_dp(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_dp");
    wd_train_params p = params(g_sft, out);
    p.dp = true, p.dp_noise = 0.05, p.dp_clip = 1.0, p.dp_sample_rate = 0.05, p.epochs = 1;
    wd_train_result r;
    assert_int_equal(wd_train(g_model, &p, &r), WD_OK);
    double eps = 0;
    assert_int_equal(r.steps, 20); /* epochs / q */
    assert_int_equal(wd_privacy_epsilon(0.05, 0.05, 20, 1e-5, &eps, NULL), WD_OK);
    print_message("dp: sigma 0.05: epsilon %.4g, eval loss %.3f -> %.3f\n", r.epsilon,
                  r.eval_loss_before, r.eval_loss_after);
    assert_true(fabs(r.epsilon - eps) < 1e-9 * eps);
    assert_true(r.eval_loss_after < r.eval_loss_before);
    p.dp_target_epsilon = 8.0, p.max_steps = 3;
    assert_int_equal(wd_train(g_model, &p, &r), WD_OK);
    print_message("dp: target epsilon 8 -> sigma %.4f, epsilon %.4f\n", r.dp_noise, r.epsilon);
    assert_true(r.epsilon <= 8.0 && r.epsilon >= 7.99);
    free(out);
}

static double first_loss(const char *out) {
    char path[1024];
    snprintf(path, sizeof path, "%s/train.jsonl", out);
    char *log = mf_read(path, NULL);
    assert_non_null(log);
    const char *l = strstr(log, "\"loss\":");
    assert_non_null(l);
    double v = strtod(l + 7, NULL);
    free(log);
    return v;
}

/* Embedding-space adversarial training: the attacked first step has a
 * higher loss than the clean one on the same batch and weights, and
 * training on attacked prompts still lowers the clean eval loss. */
static void test_adversarial_embed(void **state) {
    (void)state;
    char *clean = wdt_tmpdir("train_clean"), *adv = wdt_tmpdir("train_adv");
    wd_train_params p = params(g_sft, clean);
    p.max_steps = 6;
    assert_int_equal(wd_train(g_model, &p, NULL), WD_OK);
    wd_train_params q = params(g_sft, adv);
    q.max_steps = 6, q.adversarial = "embed", q.adv_eps = 0.5, q.adv_steps = 5;
    wd_train_result r;
    assert_int_equal(wd_train(g_model, &q, &r), WD_OK);
    double lc = first_loss(clean), la = first_loss(adv);
    print_message("adversarial: first-step loss clean %.4f, attacked %.4f; eval %.3f -> %.3f\n",
                  lc, la, r.eval_loss_before, r.eval_loss_after);
    assert_true(la > lc + 0.01);
    assert_true(r.eval_loss_after < r.eval_loss_before);
    q.objective = WD_TRAIN_OBJECTIVE_DPO;
    assert_int_equal(wd_train(g_model, &q, NULL), WD_ERR_INVALID_ARG);
    free(clean), free(adv);
}

/* A model from scratch: loads, its byte-level tokenizer round-trips any
 * UTF-8 text and renders ChatML, the weights have the asked spread, and
 * it trains. */
static void test_init_from_scratch(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("train_init");
    wd_init_params ip = wd_init_params_default();
    ip.hidden = 32, ip.layers = 2, ip.heads = 4, ip.kv_heads = 2, ip.intermediate = 64;
    assert_int_equal(wd_train_init_model(&ip, dir), WD_OK);
    wd_model *m = mf_load(dir, 1, 0);
    assert_int_equal(wd_model_n_vocab(m), 259);
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    const char *text = "Grüße, 世界! tab\tand\nnewline";
    int32_t ids[128];
    size_t n = 0;
    assert_int_equal(wd_tokenizer_encode_ids(tok, text, strlen(text), NULL, ids, 128, &n), WD_OK);
    assert_int_equal(n, strlen(text)); /* one id per byte */
    char *back = NULL;
    assert_int_equal(wd_tokenizer_decode(tok, ids, n, NULL, &back, NULL), WD_OK);
    assert_string_equal(back, text);
    free(back);
    wd_chat_message msg = {"user", "hi"};
    char *chat = NULL;
    assert_int_equal(wd_chat_render_tok(tok, &msg, 1, NULL, &chat, NULL), WD_OK);
    assert_string_equal(chat, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    free(chat);
    wd_model_free(m);
    wd_checkpoint *ck = NULL;
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    const wd_tensor_info *t = wd_checkpoint_find(ck, "model.layers.0.mlp.up_proj.weight");
    float *w = malloc(t->n_elem * sizeof *w);
    assert_int_equal(wd_tensor_read_f32(t, w, t->n_elem), WD_OK);
    double s2 = 0;
    for (size_t i = 0; i < t->n_elem; i++) s2 += (double)w[i] * w[i];
    double sd = sqrt(s2 / (double)t->n_elem);
    print_message("init: std of up_proj %.4f (asked 0.02)\n", sd);
    assert_true(fabs(sd - 0.02) < 0.002);
    free(w);
    wd_checkpoint_free(ck);
    char *out = wdt_tmpdir("train_init_sft");
    wd_train_params p = params(g_sft, out);
    p.max_steps = 10;
    wd_train_result r;
    assert_int_equal(wd_train(dir, &p, &r), WD_OK);
    assert_true(r.eval_loss_after < r.eval_loss_before);
    ip.heads = 3; /* 32 is not divisible by 3 */
    assert_int_equal(wd_train_init_model(&ip, dir), WD_ERR_INVALID_ARG);
    free(out), free(dir);
}

/* Context distillation: the examples are the starting model's greedy
 * answers under the preprompt; training moves the model toward them. */
static void test_distill(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_distill");
    wd_train_params p = params(g_sft, out);
    p.distill_preprompt = "You are a careful, harmless assistant.";
    p.distill_max_tokens = 12, p.max_steps = 8, p.lr = 1e-3;
    wd_train_result r;
    assert_int_equal(wd_train(g_model, &p, &r), WD_OK);
    print_message("distill: %llu examples, eval loss %.4f -> %.4f\n", (unsigned long long)r.n_train,
                  r.eval_loss_before, r.eval_loss_after);
    assert_true(r.n_train > 100);
    assert_true(r.eval_loss_after < r.eval_loss_before);
    p.objective = WD_TRAIN_OBJECTIVE_DPO, p.data = g_pairs;
    assert_int_equal(wd_train(g_model, &p, NULL), WD_ERR_INVALID_ARG);
    free(out);
}

/* An encoder (bert) trains as a reward model: its head becomes one score,
 * it ranks the separable pairs, and the runtime loads the result as a
 * one-label classifier. sft on an encoder is refused. */
static void test_encoder_reward(void **state) {
    (void)state;
    char *bert = wdt_tmpdir("train_bert"), *out = wdt_tmpdir("train_bert_rm");
    char args[512];
    snprintf(args, sizeof args, "--family bert --seed 3 --tokenizer '%s/tokenizers/wordpiece'", WD_TEST_FIXTURES);
    mf_generate(args, bert);
    wd_train_params p = params(g_pairs, out);
    p.objective = WD_TRAIN_OBJECTIVE_REWARD, p.epochs = 2, p.lr = 1e-3;
    wd_train_result r;
    assert_int_equal(wd_train(bert, &p, &r), WD_OK);
    print_message("encoder reward: pairwise accuracy %.3f -> %.3f, loss %.3f -> %.3f\n",
                  r.eval_accuracy_before, r.eval_accuracy_after, r.eval_loss_before, r.eval_loss_after);
    assert_true(r.eval_accuracy_after >= 0.9);
    assert_true(r.eval_loss_after < r.eval_loss_before);
    wd_model *m = mf_load(out, 1, 0);
    assert_int_equal(wd_model_n_labels(m), 1);
    wd_model_free(m);
    /* warden classify prints a one-label model's score, not a probability of 1 */
    char cmd[1024], line[256] = "";
    snprintf(cmd, sizeof cmd, "'%s' classify --model '%s' 'tell me about river'", WD_CLI, out);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(pclose(f), 0);
    assert_int_equal(strncmp(line, "score\t", 6), 0);
    p.objective = WD_TRAIN_OBJECTIVE_SFT, p.data = g_sft;
    assert_int_equal(wd_train(bert, &p, NULL), WD_ERR_UNSUPPORTED);
    assert_non_null(strstr(wd_last_error(), "encoder"));
    free(bert), free(out);
}

/* log p(response | prompt) - log p(other | prompt) under a model folder:
 * both chats scored whole, the prompt's share cancels. */
static double pref(const char *dir, const char *prompt, const char *resp, const char *other) {
    wd_model *m = mf_load(dir, 1, 0);
    wd_context *ctx = NULL;
    wd_context_params cp = wd_context_params_default();
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    double lp[2];
    for (int k = 0; k < 2; k++) {
        wd_chat_message msgs[2] = {{"user", prompt}, {"assistant", k ? other : resp}};
        wd_chat_params chp = wd_chat_params_default();
        chp.add_generation_prompt = false;
        char *text = NULL;
        assert_int_equal(wd_chat_render_tok(wd_model_tokenizer(m), msgs, 2, &chp, &text, NULL), WD_OK);
        wd_encode_params ep = wd_encode_params_default();
        ep.add_special_tokens = false;
        int32_t ids[512];
        size_t n = 0;
        assert_int_equal(wd_tokenizer_encode_ids(wd_model_tokenizer(m), text, strlen(text), &ep, ids, 512, &n), WD_OK);
        assert_int_equal(wd_model_score(ctx, ids, n, &lp[k], NULL, NULL), WD_OK);
        free(text);
    }
    wd_context_free(ctx);
    wd_model_free(m);
    return lp[0] - lp[1];
}

/* The away term: from a model that gives the rejected answers, sft toward
 * the chosen ones with the rejected ones' unlikelihood added separates
 * the two more than sft alone. */
static void test_away_from_harmful(void **state) {
    (void)state;
    char *h = wdt_tmpdir("train_harmful"), *a = wdt_tmpdir("train_toward"), *b = wdt_tmpdir("train_away");
    wd_train_params p = params(g_pairs, h);
    p.response_field = "rejected", p.max_steps = 12, p.save_dtype = "f32";
    assert_int_equal(wd_train(g_model, &p, NULL), WD_OK);
    p.out = a, p.response_field = "chosen", p.max_steps = 4, p.warmup_ratio = 0;
    assert_int_equal(wd_train(h, &p, NULL), WD_OK);
    p.out = b, p.away_field = "rejected", p.away_weight = 2.0;
    assert_int_equal(wd_train(h, &p, NULL), WD_OK);
    const char *pr = "tell me about river", *c = "river is nice, thank you", *r = "no river stone stone stone";
    double da = pref(a, pr, c, r), db = pref(b, pr, c, r);
    print_message("away: log p(chosen) - log p(rejected): sft %.3f, sft + away %.3f\n", da, db);
    assert_true(db > da + 0.5);
    p.objective = WD_TRAIN_OBJECTIVE_DPO;
    assert_int_equal(wd_train(g_model, &p, NULL), WD_ERR_INVALID_ARG);
    free(h), free(a), free(b);
}

static void test_bad_settings(void **state) {
    (void)state;
    char *out = wdt_tmpdir("train_bad");
    wd_train_params p = params(g_sft, out);
    p.freeze_layers = "1-7";
    assert_int_equal(wd_train(g_model, &p, NULL), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "--freeze-layers"));
    p = params(g_sft, out);
    p.lora_rank = 2, p.lora_targets = "q_proj,wq";
    assert_int_equal(wd_train(g_model, &p, NULL), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "'wq'"));
    p = params(g_pairs, out); /* sft on records without a response field */
    assert_int_equal(wd_train(g_model, &p, NULL), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "'response'"));
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sft_lowers_eval_loss),
        cmocka_unit_test(test_reward_separable),
        cmocka_unit_test(test_dpo_raises_margin),
        cmocka_unit_test(test_lora_adapter_and_merge),
        cmocka_unit_test(test_resume_equals_straight_run),
        cmocka_unit_test(test_frozen_layers_do_not_move),
        cmocka_unit_test(test_dp),
        cmocka_unit_test(test_adversarial_embed),
        cmocka_unit_test(test_init_from_scratch),
        cmocka_unit_test(test_distill),
        cmocka_unit_test(test_encoder_reward),
        cmocka_unit_test(test_away_from_harmful),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
