/*
 * tests/unit/test_model.c - properties of the runtime that do not need the
 * reference: the KV cache (decode step by step == full recompute, batched
 * prefill == one token at a time, prefix forks and truncation ==
 * recompute), scoring against the forward's own logits, sampling semantics
 * on hand-made logits, generation stops, and load errors that name the
 * file and the tensor (acceptance 4).
 */
#include <math.h>
#include <unistd.h>

#include "model_fixture.h"
#include "tensor/threads.h"

static float max_diff(const float *a, const float *b, size_t n) {
    float d = 0.0f;
    for (size_t i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

static const int32_t SEQ[12] = {1, 17, 5, 99, 42, 7, 63, 12, 80, 3, 44, 101};

/* ==== KV cache ============================================================ */

static void test_decode_equals_recompute(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_decode", "--family llama --seed 5 --kv-heads 1");
    wd_model *m = mf_load(dir, 3, -1);
    wd__threads_set_min_work(0); /* split even these tiny rows over the 3 threads */
    size_t V = wd_model_n_vocab(m), T = 12;
    wd_context *full = NULL, *step = NULL, *b3 = NULL;
    assert_int_equal(wd_context_new(m, NULL, &full), WD_OK);
    wd_context_params cp = wd_context_params_default();
    cp.n_batch = 1;
    assert_int_equal(wd_context_new(m, &cp, &step), WD_OK);
    cp.n_batch = 5; /* 12 tokens = chunks of 5, 5, 2 */
    assert_int_equal(wd_context_new(m, &cp, &b3), WD_OK);
    float *ref = malloc(T * V * sizeof *ref), *got = malloc(T * V * sizeof *got);
    assert_int_equal(wd_model_forward(full, SEQ, T, ref), WD_OK);
    assert_int_equal(wd_context_n_past(full), T);
    /* prompt of 4 in one batch, then 8 single steps through the cache */
    float last[128];
    assert_int_equal(wd_model_decode(step, SEQ, 4, last, WD_LOGITS_MODE_LAST), WD_OK);
    assert_true(max_diff(last, ref + 3 * V, V) < 1e-5f);
    for (size_t t = 4; t < T; t++) {
        assert_int_equal(wd_model_decode(step, SEQ + t, 1, last, WD_LOGITS_MODE_LAST), WD_OK);
        assert_true(max_diff(last, ref + t * V, V) < 1e-5f);
        assert_true(max_diff(wd_context_logits(step), last, V) == 0.0f);
    }
    /* batched prefill in chunks == one pass */
    assert_int_equal(wd_model_decode(b3, SEQ, T, got, WD_LOGITS_MODE_ALL), WD_OK);
    print_message("chunked prefill vs one pass: %.3g\n", max_diff(got, ref, T * V));
    assert_true(max_diff(got, ref, T * V) < 1e-5f);
    /* overflow of the context leaves it unchanged */
    wd_context_params small = {.n_ctx = 8, .n_batch = 4};
    wd_context *c8 = NULL;
    assert_int_equal(wd_context_new(m, &small, &c8), WD_OK);
    assert_int_equal(wd_model_decode(c8, SEQ, 12, NULL, WD_LOGITS_MODE_NONE), WD_ERR_RANGE);
    assert_int_equal(wd_context_n_past(c8), 0);
    int32_t bad[2] = {3, 128};
    assert_int_equal(wd_model_decode(c8, bad, 2, NULL, WD_LOGITS_MODE_NONE), WD_ERR_RANGE);
    assert_int_equal(wd_context_n_past(c8), 0);
    small.n_ctx = 65; /* more than max_position_embeddings */
    wd_context *c65 = (wd_context *)1;
    assert_int_equal(wd_context_new(m, &small, &c65), WD_ERR_INVALID_ARG);
    assert_null(c65);
    wd_context_free(c8);
    wd__threads_set_min_work(16384);
    free(ref);
    free(got);
    wd_context_free(full);
    wd_context_free(step);
    wd_context_free(b3);
    wd_model_free(m);
    free(dir);
}

static void test_fork_and_truncate(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_fork", "--family qwen2 --seed 6");
    wd_model *m = mf_load(dir, 1, -1);
    size_t V = wd_model_n_vocab(m);
    wd_context *base = NULL, *a = NULL, *b = NULL, *ref = NULL;
    assert_int_equal(wd_context_new(m, NULL, &base), WD_OK);
    assert_int_equal(wd_context_new(m, NULL, &a), WD_OK);
    wd_context_params cp = {.n_ctx = 32, .n_batch = 0};
    assert_int_equal(wd_context_new(m, &cp, &b), WD_OK); /* a smaller context may fork too */
    assert_int_equal(wd_context_new(m, NULL, &ref), WD_OK);
    /* shared prefix SEQ[0..6) */
    assert_int_equal(wd_model_decode(base, SEQ, 6, NULL, WD_LOGITS_MODE_NONE), WD_OK);
    const int32_t tail_a[3] = {9, 8, 7}, tail_b[4] = {100, 2, 50, 50};
    float la[3 * 128], lb[4 * 128], lr[10 * 128];
    int32_t seq[10];

    assert_int_equal(wd_context_copy_prefix(a, base, 6), WD_OK);
    assert_int_equal(wd_context_n_past(a), 6);
    assert_int_equal(wd_model_decode(a, tail_a, 3, la, WD_LOGITS_MODE_ALL), WD_OK);
    memcpy(seq, SEQ, 6 * sizeof *seq);
    memcpy(seq + 6, tail_a, sizeof tail_a);
    assert_int_equal(wd_model_forward(ref, seq, 9, lr), WD_OK);
    assert_true(max_diff(la, lr + 6 * V, 3 * V) < 1e-5f);

    /* a fork of only the first 4 tokens of the prefix */
    assert_int_equal(wd_context_copy_prefix(b, base, 4), WD_OK);
    assert_int_equal(wd_model_decode(b, tail_b, 4, lb, WD_LOGITS_MODE_ALL), WD_OK);
    memcpy(seq, SEQ, 4 * sizeof *seq);
    memcpy(seq + 4, tail_b, sizeof tail_b);
    assert_int_equal(wd_model_forward(ref, seq, 8, lr), WD_OK);
    assert_true(max_diff(lb, lr + 4 * V, 4 * V) < 1e-5f);

    /* the source is untouched by its forks: continue it and compare */
    assert_int_equal(wd_model_decode(base, tail_b, 4, lb, WD_LOGITS_MODE_ALL), WD_OK);
    memcpy(seq, SEQ, 6 * sizeof *seq);
    memcpy(seq + 6, tail_b, sizeof tail_b);
    assert_int_equal(wd_model_forward(ref, seq, 10, lr), WD_OK);
    assert_true(max_diff(lb, lr + 6 * V, 4 * V) < 1e-5f);

    /* truncate back to 6 and take another branch */
    assert_int_equal(wd_context_truncate(base, 6), WD_OK);
    assert_int_equal(wd_model_decode(base, tail_a, 3, la, WD_LOGITS_MODE_ALL), WD_OK);
    memcpy(seq + 6, tail_a, sizeof tail_a);
    assert_int_equal(wd_model_forward(ref, seq, 9, lr), WD_OK);
    assert_true(max_diff(la, lr + 6 * V, 3 * V) < 1e-5f);

    assert_int_equal(wd_context_truncate(base, 100), WD_ERR_RANGE);
    assert_int_equal(wd_context_copy_prefix(a, base, 10), WD_ERR_RANGE);
    wd_context_free(base);
    wd_context_free(a);
    wd_context_free(b);
    wd_context_free(ref);
    wd_model_free(m);
    free(dir);
}

/* Branches of the cache in one pass give each branch's logits as a plain
 * forward over prefix[0..fork) + branch would; the cache is unchanged. */
static void test_branches(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    const char *fams[] = {"--family llama --seed 8", "--family qwen2 --seed 9"};
    for (int f = 0; f < 2; f++) {
        char name[32];
        snprintf(name, sizeof name, "model_branch%d", f);
        char *dir = mf_make(name, fams[f]);
        wd_model *m = mf_load(dir, 2, -1);
        size_t V = wd_model_n_vocab(m);
        wd_context *ctx = NULL, *ref = NULL;
        assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
        assert_int_equal(wd_context_new(m, NULL, &ref), WD_OK);
        assert_int_equal(wd_model_decode(ctx, SEQ, 8, NULL, WD_LOGITS_MODE_NONE), WD_OK);
        /* forks at 8 (the end), 3, 0, 5, 8; lengths 1, 4, 2, 3, 12 (the last
         * across row 16, where attention.c's second block of rows starts) */
        const int32_t ids[] = {5, 1, 2, 3, 4, 70, 71, 9, 9, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};
        const size_t off[] = {0, 1, 5, 7, 10, 22}, fork[] = {8, 3, 0, 5, 8};
        float *lg = malloc(5 * V * sizeof *lg), *lr = malloc(20 * V * sizeof *lr);
        assert_int_equal(wd_model_decode_branches(ctx, ids, off, fork, 5, lg), WD_OK);
        assert_int_equal(wd_context_n_past(ctx), 8);
        for (size_t b = 0; b < 5; b++) {
            int32_t seq[32];
            memcpy(seq, SEQ, fork[b] * sizeof *seq);
            memcpy(seq + fork[b], ids + off[b], (off[b + 1] - off[b]) * sizeof *seq);
            size_t n = fork[b] + off[b + 1] - off[b];
            assert_int_equal(wd_model_forward(ref, seq, n, lr), WD_OK);
            float d = max_diff(lg + b * V, lr + (n - 1) * V, V);
            if (d >= 1e-4f) fail_msg("family %d branch %zu: max diff %g", f, b, (double)d);
        }
        /* the cache still continues as before */
        float l1[128 * 2];
        assert_true(V <= 128);
        assert_int_equal(wd_model_decode(ctx, SEQ + 8, 2, l1, WD_LOGITS_MODE_ALL), WD_OK);
        assert_int_equal(wd_model_forward(ref, SEQ, 10, lr), WD_OK);
        assert_true(max_diff(l1, lr + 8 * V, 2 * V) < 1e-5f);
        /* bad arguments */
        const size_t bad_fork[] = {20};
        const size_t off1[] = {0, 1}, empty[] = {0, 0};
        assert_int_equal(wd_model_decode_branches(ctx, ids, off1, bad_fork, 1, lg), WD_ERR_RANGE);
        assert_int_equal(wd_model_decode_branches(ctx, ids, empty, fork, 1, lg), WD_ERR_INVALID_ARG);
        assert_int_equal(wd_model_decode_branches(ctx, ids, off, fork, 0, lg), WD_ERR_INVALID_ARG);
        free(lg);
        free(lr);
        wd_context_free(ctx);
        wd_context_free(ref);
        wd_model_free(m);
        free(dir);
    }
}

static void test_score_and_embed(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_score", "--family mistral --seed 8");
    wd_model *m = mf_load(dir, 1, -1);
    size_t V = wd_model_n_vocab(m), T = 9, C = wd_model_n_embd(m);
    wd_context *ctx = NULL;
    wd_context_params cp = {.n_ctx = 0, .n_batch = 4};
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    float *lg = malloc(T * V * sizeof *lg);
    assert_int_equal(wd_model_forward(ctx, SEQ, T, lg), WD_OK);
    double want = 0.0;
    for (size_t t = 0; t + 1 < T; t++) {
        double mx = -INFINITY, sum = 0.0;
        for (size_t v = 0; v < V; v++) mx = fmax(mx, lg[t * V + v]);
        for (size_t v = 0; v < V; v++) sum += exp(lg[t * V + v] - mx);
        want += lg[t * V + SEQ[t + 1]] - mx - log(sum);
    }
    double lp = 0.0, ppl = 0.0;
    size_t ns = 0;
    assert_int_equal(wd_model_score(ctx, SEQ, T, &lp, &ns, &ppl), WD_OK);
    assert_int_equal(ns, T - 1);
    assert_true(fabs(lp - want) < 1e-4);
    assert_true(fabs(ppl - exp(-want / (double)(T - 1))) < 1e-4 * ppl);
    assert_int_equal(wd_model_score(ctx, SEQ, 1, &lp, &ns, &ppl), WD_ERR_RANGE);
    /* decoder embeddings: chunking does not change the mean */
    float e4[32], e64[32];
    assert_int_equal(wd_model_embed(ctx, SEQ, T, e4, C), WD_OK);
    wd_context *big = NULL;
    assert_int_equal(wd_context_new(m, NULL, &big), WD_OK);
    assert_int_equal(wd_model_embed(big, SEQ, T, e64, C), WD_OK);
    assert_true(max_diff(e4, e64, C) < 1e-5f);
    /* encoders refuse decoder calls and vice versa */
    assert_int_equal(wd_model_classify(ctx, SEQ, T, e4, NULL, 2), WD_ERR_UNSUPPORTED);
    free(lg);
    wd_context_free(ctx);
    wd_context_free(big);
    wd_model_free(m);
    free(dir);
}

/* ==== Sampling ============================================================ */

static void test_sampling_semantics(void **s) {
    /* p = 0.5, 0.3, 0.15, 0.05 at ids 2, 0, 3, 1 */
    const float lg[4] = {logf(0.3f), logf(0.05f), logf(0.5f), logf(0.15f)};
    wd_sampler_params p = wd_sampler_params_default();
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.temperature = 1.0f;
    wd_sampler *sm = NULL;
    const int32_t *ids;
    const float *pr;
    /* no filter: all four, sorted, probabilities recovered */
    assert_int_equal(wd_sampler_new(&p, 4, &sm), WD_OK);
    wd_sampler_sample(sm, lg, NULL, 0);
    assert_int_equal(wd_sampler_candidates(sm, &ids, &pr), 4);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[3], 1);
    assert_float_equal(pr[0], 0.5f, 1e-6);
    assert_float_equal(pr[2], 0.15f, 1e-6);
    wd_sampler_free(sm);
    /* top-k 2: the two best renormalised */
    p.top_k = 2;
    assert_int_equal(wd_sampler_new(&p, 4, &sm), WD_OK);
    wd_sampler_sample(sm, lg, NULL, 0);
    assert_int_equal(wd_sampler_candidates(sm, &ids, &pr), 2);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 0);
    assert_float_equal(pr[0], 0.625f, 1e-6);
    wd_sampler_free(sm);
    /* top-p 0.7: 0.5 + 0.3 reaches it; top-p 0.5: the first alone */
    p.top_k = 0;
    p.top_p = 0.7f;
    assert_int_equal(wd_sampler_new(&p, 4, &sm), WD_OK);
    wd_sampler_sample(sm, lg, NULL, 0);
    assert_int_equal(wd_sampler_candidates(sm, &ids, &pr), 2);
    assert_float_equal(pr[1], 0.375f, 1e-6);
    wd_sampler_free(sm);
    p.top_p = 0.5f;
    assert_int_equal(wd_sampler_new(&p, 4, &sm), WD_OK);
    assert_int_equal(wd_sampler_sample(sm, lg, NULL, 0), 2);
    assert_int_equal(wd_sampler_candidates(sm, NULL, NULL), 1);
    wd_sampler_free(sm);
    /* min-p 0.25: floor 0.125 keeps 0.5, 0.3, 0.15 */
    p.top_p = 1.0f;
    p.min_p = 0.25f;
    assert_int_equal(wd_sampler_new(&p, 4, &sm), WD_OK);
    wd_sampler_sample(sm, lg, NULL, 0);
    assert_int_equal(wd_sampler_candidates(sm, &ids, &pr), 3);
    assert_float_equal(pr[0], 0.5f / 0.95f, 1e-6);
    wd_sampler_free(sm);
    /* temperature 0.5 squares the probabilities (then renormalises) */
    p.min_p = 0.0f;
    p.temperature = 0.5f;
    assert_int_equal(wd_sampler_new(&p, 4, &sm), WD_OK);
    wd_sampler_sample(sm, lg, NULL, 0);
    assert_int_equal(wd_sampler_candidates(sm, &ids, &pr), 4);
    double z = 0.25 + 0.09 + 0.0225 + 0.0025;
    assert_float_equal(pr[0], 0.25 / z, 1e-6);
    assert_float_equal(pr[1], 0.09 / z, 1e-6);
    wd_sampler_free(sm);
    /* greedy and the repetition penalty */
    p.temperature = 0.0f;
    p.repeat_penalty = 2.0f;
    const float rl[3] = {2.0f, 1.9f, -1.0f};
    assert_int_equal(wd_sampler_new(&p, 3, &sm), WD_OK);
    assert_int_equal(wd_sampler_sample(sm, rl, NULL, 0), 0);
    const int32_t h0[2] = {0, 0};
    assert_int_equal(wd_sampler_sample(sm, rl, h0, 2), 1); /* 2/2 = 1 < 1.9 */
    const float nl[3] = {-1.0f, -1.5f, -3.0f};
    assert_int_equal(wd_sampler_sample(sm, nl, h0, 1), 1); /* -1*2 = -2 < -1.5 */
    wd_sampler_free(sm);
    /* ties go to the lowest id */
    const float tie[3] = {1.0f, 3.0f, 3.0f};
    p.repeat_penalty = 1.0f;
    assert_int_equal(wd_sampler_new(&p, 3, &sm), WD_OK);
    assert_int_equal(wd_sampler_sample(sm, tie, NULL, 0), 1);
    wd_sampler_free(sm);
}

static void test_sampling_seed(void **s) {
    enum { V = 1000, N = 400 };
    float *lg = malloc(V * sizeof *lg);
    uint64_t seed = 7;
    wdt_fill_uniform(lg, V, -3.0f, 3.0f, &seed);
    wd_sampler_params p = wd_sampler_params_default();
    p.seed = 1234;
    wd_sampler *a = NULL, *b = NULL;
    assert_int_equal(wd_sampler_new(&p, V, &a), WD_OK);
    assert_int_equal(wd_sampler_new(&p, V, &b), WD_OK);
    int32_t sa[N], sb[N];
    for (int i = 0; i < N; i++) {
        sa[i] = wd_sampler_sample(a, lg, sa, (size_t)i);
        sb[i] = wd_sampler_sample(b, lg, sb, (size_t)i);
    }
    assert_memory_equal(sa, sb, sizeof sa);
    wd_sampler_reset(b, 99);
    int diff = 0;
    for (int i = 0; i < N; i++) diff += wd_sampler_sample(b, lg, NULL, 0) != sa[i];
    assert_true(diff > N / 4);
    wd_sampler_free(a);
    wd_sampler_free(b);
    /* the draws follow the probabilities: p = 0.625 / 0.375 */
    const float two[2] = {logf(0.625f), logf(0.375f)};
    wd_sampler_params q = wd_sampler_params_default();
    q.temperature = 1.0f;
    q.top_k = 0;
    q.top_p = 1.0f;
    q.min_p = 0.0f;
    assert_int_equal(wd_sampler_new(&q, 2, &a), WD_OK);
    int n0 = 0;
    for (int i = 0; i < 20000; i++) n0 += wd_sampler_sample(a, two, NULL, 0) == 0;
    assert_true(fabs(n0 / 20000.0 - 0.625) < 0.015);
    wd_sampler_free(a);
    free(lg);
}

/* ==== Generation ========================================================== */

typedef struct stop_after {
    int n, seen;
} stop_after;

static bool cb_stop(int32_t id, const char *piece, void *user) {
    stop_after *st = user;
    if (id >= 0) st->seen++;
    return st->seen < st->n;
}

static void test_generate(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_gen", "--family llama --seed 9");
    wd_model *m = mf_load(dir, 1, -1);
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    wd_generate_params gp = wd_generate_params_default();
    gp.max_tokens = 20;
    gp.stop_at_eos = false;
    gp.sampler.seed = 5;
    int32_t a[20], b[20];
    size_t na = 0, nb = 0;
    assert_int_equal(wd_model_generate(ctx, SEQ, 4, &gp, NULL, NULL, a, 20, &na), WD_OK);
    assert_int_equal(wd_model_generate(ctx, SEQ, 4, &gp, NULL, NULL, b, 20, &nb), WD_OK);
    assert_int_equal(na, 20);
    assert_memory_equal(a, b, sizeof a); /* same seed, same tokens */
    stop_after st = {.n = 5};
    assert_int_equal(wd_model_generate(ctx, SEQ, 4, &gp, cb_stop, &st, b, 20, &nb), WD_OK);
    assert_int_equal(nb, 5);
    assert_memory_equal(a, b, 5 * sizeof *a);
    /* eos: make the first sampled token the eos id and stop there */
    gp.sampler.temperature = 0.0f;
    assert_int_equal(wd_model_generate(ctx, SEQ, 4, &gp, NULL, NULL, a, 20, &na), WD_OK);
    wd_context_free(ctx);
    wd_model_free(m);
    char cfgp[1024];
    snprintf(cfgp, sizeof cfgp, "{\"eos_token_id\": %d}", a[2]);
    cJSON *patch = cJSON_Parse(cfgp);
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    m = mf_load(dir, 1, -1);
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    gp.stop_at_eos = true;
    assert_int_equal(wd_model_generate(ctx, SEQ, 4, &gp, NULL, NULL, b, 20, &nb), WD_OK);
    size_t first = 0;
    while (a[first] != a[2]) first++;
    assert_int_equal(nb, first + 1); /* the eos is reported, then generation stops */
    wd_context_free(ctx);
    wd_model_free(m);
    free(dir);
}

typedef struct pieces {
    char   text[4096];
    size_t ends[64]; /* text length after token i */
    size_t n;
} pieces;

static bool cb_pieces(int32_t id, const char *piece, void *user) {
    pieces *p = user;
    if (piece) strncat(p->text, piece, sizeof p->text - strlen(p->text) - 1);
    if (id >= 0 && p->n < 64) p->ends[p->n++] = strlen(p->text);
    return true;
}

/* Stop strings end generation at the token that completes them. */
static void test_generate_stop(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_stop", "--family llama --seed 12 --vocab 272");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp %s/tests/fixtures/tokenizers/bpe-spm/* '%s'/", WD_SOURCE_DIR, dir);
    assert_int_equal(system(cmd), 0);
    wd_model *m = mf_load(dir, 1, -1);
    assert_non_null(wd_model_tokenizer(m));
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    wd_generate_params gp = wd_generate_params_default();
    gp.sampler.temperature = 0.0f;
    gp.max_tokens = 24;
    gp.stop_at_eos = false;
    pieces all = {0};
    int32_t out[24];
    size_t n = 0;
    assert_int_equal(wd_model_generate(ctx, SEQ, 4, &gp, cb_pieces, &all, out, 24, &n), WD_OK);
    assert_int_equal(n, 24);
    /* a stop string: 2 bytes of the text produced by tokens 6.. */
    size_t at = all.ends[5];
    while (at + 2 <= strlen(all.text) &&
           !(all.text[at] > ' ' && all.text[at] < 0x7f && all.text[at + 1] > ' ' && all.text[at + 1] < 0x7f))
        at++;
    if (at + 2 > strlen(all.text)) {
        print_message("SKIP: the random model wrote too little text\n");
        goto done;
    }
    char stop[3] = {all.text[at], all.text[at + 1], 0};
    /* the first token whose cumulative text contains it */
    size_t want = 0;
    while (want < all.n) {
        char tmp[4096];
        memcpy(tmp, all.text, all.ends[want]);
        tmp[all.ends[want]] = 0;
        if (strstr(tmp, stop)) break;
        want++;
    }
    const char *stops[1] = {stop};
    gp.stop = stops;
    gp.n_stop = 1;
    pieces got = {0};
    assert_int_equal(wd_model_generate(ctx, SEQ, 4, &gp, cb_pieces, &got, out, 24, &n), WD_OK);
    print_message("stop '%s': %zu tokens (expected %zu)\n", stop, n, want + 1);
    assert_int_equal(n, want + 1);
    assert_non_null(strstr(got.text, stop));
done:
    wd_context_free(ctx);
    wd_model_free(m);
    free(dir);
}

/* ==== Load errors (acceptance 4) ========================================= */

/* Rewrites dir/model.safetensors without tensor drop (may be NULL) and with
 * tensor reshape (may be NULL) transposed. */
static void rewrite(const char *dir, const char *drop, const char *reshape) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    wd_safetensors_writer *w = NULL;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    size_t nt = wd_safetensors_n_tensors(st);
    void **bufs = calloc(nt, sizeof *bufs);
    for (size_t t = 0; t < nt; t++) {
        const wd_tensor_info *ti = wd_safetensors_tensor(st, t);
        if (drop && !strcmp(ti->name, drop)) continue;
        bufs[t] = malloc(ti->nbytes);
        memcpy(bufs[t], ti->data, ti->nbytes);
        int64_t shape[4] = {0};
        memcpy(shape, ti->shape, (size_t)ti->ndim * sizeof *shape);
        if (reshape && !strcmp(ti->name, reshape)) {
            int64_t x = shape[0];
            shape[0] = shape[1];
            shape[1] = x;
        }
        assert_int_equal(wd_safetensors_writer_add(w, ti->name, ti->dtype, shape, ti->ndim, bufs[t]),
                         WD_OK);
    }
    wd_safetensors_free(st);
    assert_int_equal(wd_safetensors_writer_write(w, path), WD_OK);
    wd_safetensors_writer_free(w);
    for (size_t t = 0; t < nt; t++) free(bufs[t]);
    free(bufs);
}

static void expect_load_error(const char *dir, wd_status want, const char *s1, const char *s2) {
    wd_model *m = (wd_model *)1;
    wd_status rc = wd_model_load(dir, NULL, &m);
    print_message("load error: %s\n", wd_last_error());
    assert_int_equal(rc, want);
    assert_null(m);
    if (s1 && !strstr(wd_last_error(), s1)) fail_msg("message lacks '%s'", s1);
    if (s2 && !strstr(wd_last_error(), s2)) fail_msg("message lacks '%s'", s2);
}

static void test_load_errors(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_err_shard", "--family llama --seed 3 --shards 2");
    char path[1024];
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
    assert_int_equal(unlink(path), 0);
    expect_load_error(dir, WD_ERR_NOT_FOUND, "model-00002-of-00002.safetensors", "tensor '");
    free(dir);

    dir = mf_make("model_err_shape", "--family llama --seed 3");
    rewrite(dir, NULL, "model.layers.1.mlp.up_proj.weight");
    expect_load_error(dir, WD_ERR_FORMAT, "model.safetensors: tensor 'model.layers.1.mlp.up_proj.weight'",
                      "expected [64, 32]");
    free(dir);

    dir = mf_make("model_err_missing", "--family qwen2 --seed 3");
    rewrite(dir, "model.layers.0.self_attn.k_proj.bias", NULL);
    expect_load_error(dir, WD_ERR_NOT_FOUND, "model.safetensors: tensor 'model.layers.0.self_attn.k_proj.bias'", dir);
    free(dir);

    dir = mf_make("model_err_head", "--family bert --seed 3");
    rewrite(dir, "classifier.weight", NULL);
    expect_load_error(dir, WD_ERR_NOT_FOUND, "tensor 'classifier.weight'", dir);
    free(dir);

    dir = mf_make("model_err_type", "--family llama --seed 3");
    cJSON *patch = cJSON_Parse("{\"model_type\": \"gpt2\"}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    expect_load_error(dir, WD_ERR_UNSUPPORTED, "config.json", "gpt2");
    patch = cJSON_Parse("{\"model_type\": \"llama\", \"architectures\": [\"LlamaForTokenClassification\"]}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    expect_load_error(dir, WD_ERR_UNSUPPORTED, "config.json", "LlamaForTokenClassification");
    free(dir);

    char *empty = wdt_tmpdir("model_err_empty");
    expect_load_error(empty, WD_ERR_NOT_FOUND, "config.json", NULL);
    free(empty);
    wd_model_free(NULL);
    wd_context_free(NULL);
    wd_sampler_free(NULL);
}

/* ==== CLI =============================================================== */

static void test_cli(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_cli", "--family llama --seed 10");
    wd_model *m = mf_load(dir, 1, -1);
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    /* generate --temp 0 prints the greedy ids (no tokenizer: ids) */
    wd_generate_params gp = wd_generate_params_default();
    gp.sampler.temperature = 0.0f;
    gp.max_tokens = 12;
    int32_t want[12];
    size_t nw = 0;
    assert_int_equal(wd_model_generate(ctx, SEQ, 5, &gp, NULL, NULL, want, 12, &nw), WD_OK);
    char expect[256] = "", args[1024];
    for (size_t i = 0; i < nw; i++)
        snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%s%d", i ? "," : "",
                 want[i]);
    strcat(expect, "\n");
    char *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "generate --model '%s' --ids --temp 0 --max-tokens 12 --threads 1 1,17,5,99,42", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_string_equal(out, expect);
    free(out);
    free(err);
    /* score --json agrees with wd_model_score */
    double lp = 0;
    assert_int_equal(wd_model_score(ctx, SEQ, 6, &lp, NULL, NULL), WD_OK);
    snprintf(args, sizeof args, "score --model '%s' --ids --json 1,17,5,99,42,7", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    double got = 0;
    assert_int_equal(sscanf(out, "{\"logprob\":%lf", &got), 1);
    assert_true(fabs(got - lp) < 1e-5);
    free(out);
    free(err);
    /* errors: usage 2, runtime 3 with the file named */
    snprintf(args, sizeof args, "generate --model '%s' --temp x 1", dir);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 2);
    free(err);
    snprintf(args, sizeof args, "classify --model '%s' --ids 1,2", dir);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "no sequence-classification head"));
    free(err);
    assert_int_equal(wdt_cli("score --model /nonexistent/m --ids 1,2", NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "/nonexistent/m"));
    free(err);
    wd_context_free(ctx);
    wd_model_free(m);
    free(dir);

    /* classify --json on an encoder equals wd_model_classify */
    dir = mf_make("model_cli_bert", "--family distilbert --seed 10 --labels 3");
    m = mf_load(dir, 1, -1);
    assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
    float probs[3];
    assert_int_equal(wd_model_classify(ctx, SEQ, 4, probs, NULL, 3), WD_OK);
    snprintf(args, sizeof args, "classify --model '%s' --ids --json 1,17,5,99", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    float p0, p1, p2;
    char *b = strstr(out, "\"probs\"");
    assert_non_null(b);
    assert_int_equal(sscanf(b, "\"probs\":{\"label_0\":%f,\"label_1\":%f,\"label_2\":%f", &p0, &p1, &p2), 3);
    assert_true(fabsf(p0 - probs[0]) < 1e-5f && fabsf(p1 - probs[1]) < 1e-5f && fabsf(p2 - probs[2]) < 1e-5f);
    free(out);
    free(err);
    wd_context_free(ctx);
    wd_model_free(m);
    free(dir);
}

/* Sizes a caller budgets memory with: the parameter count is the
 * checkpoint's (lm_head absent when tied); an aligned F32 checkpoint is
 * used in place (4 bytes a parameter, nothing owned); a decoder's F16
 * matrices are used in place too (2 bytes a parameter) while its F16 norms
 * are widened into owned F32; an encoder's BF16 weights are all widened.
 * A context knows its model. */
static void test_sizes(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    const char *args[] = {"--family llama --seed 4", "--family llama --seed 4 --tie",
                          "--family llama --seed 4 --dtype F16", "--family bert --seed 4 --dtype BF16"};
    for (size_t k = 0; k < sizeof args / sizeof *args; k++) {
        char name[32];
        snprintf(name, sizeof name, "model_sizes_%zu", k);
        char *dir = mf_make(name, args[k]);
        wd_checkpoint *ck = NULL;
        assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
        wd_model *m = mf_load(dir, 1, -1);
        uint64_t n = wd_checkpoint_n_params(ck);
        assert_true(n > 0);
        assert_true(wd_model_n_params(m) == n);
        uint64_t wb = wd_model_weight_bytes(m), owned = wd_model_owned_bytes(m);
        if (!strstr(args[k], "--dtype")) {
            assert_true(wb == 4 * n && owned == 0);
        } else if (strstr(args[k], "llama")) {
            uint64_t matrices = (4 * n - wb) / 2; /* wb = 2 * matrices + 4 * rest */
            assert_true(wb < 4 * n && matrices < n && 2 * matrices == 4 * n - wb);
            assert_true(owned == 4 * (n - matrices));
        } else {
            assert_true(wb == 4 * n && owned == 4 * n);
        }
        wd_context *ctx = NULL;
        assert_int_equal(wd_context_new(m, NULL, &ctx), WD_OK);
        assert_ptr_equal(wd_context_model(ctx), m);
        wd_context_free(ctx);
        wd_model_free(m);
        wd_checkpoint_free(ck);
        free(dir);
    }
    assert_null(wd_context_model(NULL));
    assert_true(wd_model_n_params(NULL) == 0 && wd_model_owned_bytes(NULL) == 0);
}

/* wd_model_bench and `warden bench`: both tests run and report positive
 * speeds, the sizes the model reports, and usage and range errors. */
static void test_bench(void **s) {
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("model_bench", "--family llama --seed 12");
    wd_bench_params p = wd_bench_params_default();
    p.n_prompt = 8, p.n_gen = 4, p.repetitions = 2, p.n_threads = 1;
    wd_bench_result r;
    assert_int_equal(wd_model_bench(dir, &p, &r), WD_OK);
    assert_true(r.pp_tps > 0 && r.tg_tps > 0 && r.pp_tps_sd >= 0 && r.tg_tps_sd >= 0);
    assert_true(r.n_params > 0 && r.weight_bytes == 4 * r.n_params && r.load_s >= 0);
    assert_int_equal(r.n_threads, 1);
#ifdef __linux__
    assert_true(r.peak_rss_bytes > 0);
#endif
    p.n_gen = 0; /* one test only */
    assert_int_equal(wd_model_bench(dir, &p, &r), WD_OK);
    assert_true(r.pp_tps > 0 && r.tg_tps == 0);
    p.repetitions = 0;
    assert_int_equal(wd_model_bench(dir, &p, &r), WD_ERR_INVALID_ARG);
    p.repetitions = 1, p.n_prompt = 100000;
    assert_int_equal(wd_model_bench(dir, &p, &r), WD_ERR_RANGE);
    assert_non_null(strstr(wd_last_error(), "positions"));

    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "bench --model '%s' -p 8 -n 4 -r 1 -t 1 --json", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "\"test\":\"pp8\""));
    assert_non_null(strstr(out, "\"test\":\"tg4\""));
    assert_non_null(strstr(out, "\"avg_ts\":"));
    free(out), free(err);
    snprintf(args, sizeof args, "bench -m '%s' -p 8 -n 4 -r 1 -t 1", dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "pp8"));
    assert_non_null(strstr(out, "peak RSS"));
    free(out), free(err);
    assert_int_equal(wdt_cli("bench -p 8", NULL, &out, &err), 2);
    assert_non_null(strstr(err, "--model M is required"));
    free(out), free(err);
    free(dir);
    char *enc = mf_make("model_bench_bert", "--family bert --seed 12");
    p = wd_bench_params_default();
    p.n_prompt = 4, p.n_gen = 0, p.repetitions = 1, p.n_threads = 1;
    assert_int_equal(wd_model_bench(enc, &p, &r), WD_ERR_UNSUPPORTED);
    free(enc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_equals_recompute),
        cmocka_unit_test(test_fork_and_truncate),
        cmocka_unit_test(test_branches),
        cmocka_unit_test(test_score_and_embed),
        cmocka_unit_test(test_sampling_semantics),
        cmocka_unit_test(test_sampling_seed),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_generate_stop),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
