/*
 * tests/unit/test_gguf.c - GGUF reading, writing and models from .gguf files.
 *
 *   - the writer's files read back with every metadata type and tensor
 *     intact, aligned as the format says (default 32, general.alignment);
 *   - hand-made corrupt files: each rejected with a message naming the file,
 *     the key or tensor and the reason; every truncation of a valid file is
 *     rejected cleanly;
 *   - generated checkpoints converted with wd_gguf_convert: logits from the
 *     .gguf equal the safetensors logits (F32 within 1e-4; F16 / BF16
 *     checkpoints converted to F16 / BF16 within 1e-2 relative, and in fact
 *     to float rounding), greedy tokens equal for Q8_0, every quantized type
 *     loads and stays close; the tokenizer rebuilt from tokenizer.ggml.*
 *     encodes like the folder's tokenizer.json (SentencePiece-style llama and
 *     byte-level qwen2); llama3 rope scaling through rope_freqs.weight; a
 *     .gguf re-quantized from a .gguf;
 *   - the CLI: quantize / inspect / --model FILE.gguf and their errors.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"

/* ==== a byte builder for hand-made files ================================= */

typedef struct bb {
    unsigned char p[8192];
    size_t        n;
} bb;

static void put(bb *b, const void *x, size_t n) {
    assert_true(b->n + n <= sizeof b->p);
    memcpy(b->p + b->n, x, n);
    b->n += n;
}
static void u32(bb *b, uint32_t v) { put(b, &v, 4); }
static void u64(bb *b, uint64_t v) { put(b, &v, 8); }
static void str(bb *b, const char *s) {
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void header(bb *b, uint32_t version, uint64_t n_t, uint64_t n_kv) {
    put(b, "GGUF", 4);
    u32(b, version);
    u64(b, n_t);
    u64(b, n_kv);
}
static void tinfo(bb *b, const char *name, uint32_t nd, const int64_t *ne, uint32_t type, uint64_t off) {
    str(b, name);
    u32(b, nd);
    for (uint32_t i = 0; i < nd; i++) u64(b, (uint64_t)ne[i]);
    u32(b, type);
    u64(b, off);
}
static void zeros(bb *b, size_t n) {
    assert_true(b->n + n <= sizeof b->p);
    memset(b->p + b->n, 0, n);
    b->n += n;
}
static void pad(bb *b, size_t a) {
    while (b->n % a) b->p[b->n++] = 0;
}

/* Opening b must fail with status st and a message holding each of the
 * NULL-terminated substrings. */
static void expect_fail(const bb *b, wd_status st, ...) {
    wd_gguf *g = (wd_gguf *)0x1;
    wd_status rc = wd_gguf_open_memory(b->p, b->n, "bad.gguf", &g);
    const char *msg = wd_last_error();
    if (rc != st) fail_msg("status %d, want %d: %s", rc, st, msg);
    assert_null(g);
    assert_non_null(strstr(msg, "bad.gguf"));
    va_list ap;
    va_start(ap, st);
    for (const char *s; (s = va_arg(ap, const char *));)
        if (!strstr(msg, s)) fail_msg("message '%s' lacks '%s'", msg, s);
    va_end(ap);
}

/* ==== writer -> reader =================================================== */

static void test_round_trip(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("gguf_rt");
    char path[512];
    snprintf(path, sizeof path, "%s/t.gguf", dir);
    for (int align = 32; align <= 64; align += 32) {
        wd_gguf_writer *w;
        assert_int_equal(wd_gguf_writer_new(&w), WD_OK);
        if (align == 64) assert_int_equal(wd_gguf_writer_set_u32(w, "general.alignment", 64), WD_OK);
        assert_int_equal(wd_gguf_writer_set_u32(w, "a.u32", 7), WD_OK);
        assert_int_equal(wd_gguf_writer_set_i32(w, "a.i32", -7), WD_OK);
        assert_int_equal(wd_gguf_writer_set_u64(w, "a.u64", 1ull << 40), WD_OK);
        assert_int_equal(wd_gguf_writer_set_f32(w, "a.f32", 0.25f), WD_OK);
        assert_int_equal(wd_gguf_writer_set_bool(w, "a.bool", true), WD_OK);
        assert_int_equal(wd_gguf_writer_set_str(w, "a.str", "x"), WD_OK);
        assert_int_equal(wd_gguf_writer_set_str(w, "a.str", "h\xc3\xa9llo"), WD_OK); /* replaced */
        int16_t arr[3] = {-1, 2, -3};
        assert_int_equal(wd_gguf_writer_set_arr(w, "a.arr", WD_GGUF_TYPE_INT16, arr, 3), WD_OK);
        const char *strs[] = {"a", "", "bc"};
        assert_int_equal(wd_gguf_writer_set_arr_str(w, "a.strs", strs, 3), WD_OK);
        float f[6] = {1, 2, 3, 4, 5, 6};
        uint16_t h[32];
        unsigned char q8[34] = {0};
        for (int i = 0; i < 32; i++) h[i] = 0x3c00; /* 1.0 */
        q8[1] = 0x3c; /* d = 1 */
        for (int i = 0; i < 32; i++) q8[2 + i] = (unsigned char)(i - 16);
        int64_t ne_f[2] = {3, 2}, ne_h[1] = {32}, ne_q[1] = {32};
        assert_int_equal(wd_gguf_writer_add_tensor(w, "f", WD_GGML_TYPE_F32, ne_f, 2, f), WD_OK);
        assert_int_equal(wd_gguf_writer_add_tensor(w, "h", WD_GGML_TYPE_F16, ne_h, 1, h), WD_OK);
        assert_int_equal(wd_gguf_writer_add_tensor(w, "q", WD_GGML_TYPE_Q8_0, ne_q, 1, q8), WD_OK);
        /* rejected */
        assert_int_equal(wd_gguf_writer_add_tensor(w, "f", WD_GGML_TYPE_F32, ne_f, 2, f), WD_ERR_INVALID_ARG);
        int64_t ne_bad[1] = {33};
        assert_int_equal(wd_gguf_writer_add_tensor(w, "x", WD_GGML_TYPE_Q8_0, ne_bad, 1, q8), WD_ERR_INVALID_ARG);
        assert_int_equal(wd_gguf_writer_add_tensor(w, "y", WD_GGML_TYPE_F32, ne_f, 0, f), WD_ERR_INVALID_ARG);
        assert_int_equal(wd_gguf_writer_write(w, path), WD_OK);
        wd_gguf_writer_free(w);

        wd_gguf *g;
        assert_int_equal(wd_gguf_open(path, &g), WD_OK);
        assert_int_equal(wd_gguf_version(g), 3);
        assert_int_equal(wd_gguf_alignment(g), align);
        assert_int_equal(wd_gguf_data_offset(g) % (size_t)align, 0);
        int64_t iv;
        double dv;
        bool bv;
        const char *sv;
        assert_int_equal(wd_gguf_get_int(g, "a.u32", &iv), WD_OK);
        assert_int_equal(iv, 7);
        assert_int_equal(wd_gguf_get_int(g, "a.i32", &iv), WD_OK);
        assert_int_equal(iv, -7);
        assert_int_equal(wd_gguf_get_int(g, "a.u64", &iv), WD_OK);
        assert_int_equal(iv, 1ll << 40);
        assert_int_equal(wd_gguf_get_float(g, "a.f32", &dv), WD_OK);
        assert_true(dv == 0.25);
        assert_int_equal(wd_gguf_get_bool(g, "a.bool", &bv), WD_OK);
        assert_true(bv);
        assert_int_equal(wd_gguf_get_str(g, "a.str", &sv), WD_OK);
        assert_string_equal(sv, "h\xc3\xa9llo");
        assert_int_equal(wd_gguf_get_str(g, "a.u32", &sv), WD_ERR_FORMAT);
        assert_non_null(strstr(wd_last_error(), "a.u32"));
        assert_int_equal(wd_gguf_get_int(g, "nope", &iv), WD_ERR_NOT_FOUND);
        const wd_gguf_kv *kv = wd_gguf_find_kv(g, "a.arr");
        assert_non_null(kv);
        assert_int_equal(kv->n, 3);
        assert_true(wd_gguf_kv_arr_int(kv, 2, &iv) && iv == -3);
        assert_false(wd_gguf_kv_arr_int(kv, 3, &iv));
        kv = wd_gguf_find_kv(g, "a.strs");
        assert_int_equal(kv->n, 3);
        assert_string_equal(kv->strs[2], "bc");
        assert_int_equal(kv->strs_len[1], 0);
        assert_int_equal(wd_gguf_n_tensors(g), 3);
        const wd_gguf_tensor *t = wd_gguf_find_tensor(g, "f");
        assert_int_equal(t->ndim, 2);
        assert_int_equal(t->ne[0], 3);
        assert_int_equal(t->ne[1], 2);
        assert_memory_equal(t->data, f, sizeof f);
        float out[32];
        t = wd_gguf_find_tensor(g, "h");
        assert_int_equal(t->offset % (uint64_t)align, 0);
        assert_int_equal(wd_gguf_tensor_read_f32(t, out, 32), WD_OK);
        assert_true(out[31] == 1.0f);
        t = wd_gguf_find_tensor(g, "q");
        assert_int_equal(t->nbytes, 34);
        assert_int_equal(wd_gguf_tensor_read_f32(t, out, 32), WD_OK);
        assert_true(out[0] == -16.0f && out[31] == 15.0f);
        assert_int_equal(wd_gguf_tensor_read_f32(t, out, 31), WD_ERR_RANGE);
        wd_gguf_free(g);
    }
    wd_gguf_free(NULL);
    free(dir);
}

/* ==== corrupt files ====================================================== */

static void test_corrupt(void **state) {
    (void)state;
    bb b;
    int64_t ne1[1] = {8}, ne32[1] = {32}, ne33[1] = {33}, nebig[2] = {1ll << 40, 1ll << 40},
            neneg[1] = {-1};
#define RESET() memset(&b, 0, sizeof b)
    RESET(); put(&b, "GGUX", 4); u32(&b, 3); u64(&b, 0); u64(&b, 0);
    expect_fail(&b, WD_ERR_FORMAT, "not a GGUF file", NULL);
    RESET(); header(&b, 1, 0, 0);
    expect_fail(&b, WD_ERR_UNSUPPORTED, "version 1", NULL);
    RESET(); header(&b, 3, 0, 1ull << 60);
    expect_fail(&b, WD_ERR_FORMAT, "key/values cannot fit", NULL);
    RESET(); header(&b, 3, 1ull << 60, 0);
    expect_fail(&b, WD_ERR_FORMAT, "tensor infos cannot fit", NULL);
    RESET(); header(&b, 3, 0, 1); u64(&b, 1ull << 62); put(&b, "abcdefghijklmnopqrstuvwxyz", 26);
    expect_fail(&b, WD_ERR_FORMAT, "string length", "runs past the end", NULL);
    RESET(); header(&b, 3, 0, 2); str(&b, "k"); u32(&b, 4); u32(&b, 1); str(&b, "k"); u32(&b, 4); u32(&b, 2);
    expect_fail(&b, WD_ERR_FORMAT, "key 'k' appears twice", NULL);
    RESET(); header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 13); u32(&b, 0); u64(&b, 0);
    expect_fail(&b, WD_ERR_FORMAT, "key 'k'", "unknown value type 13", NULL);
    RESET(); header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 9); u64(&b, 0); u64(&b, 0);
    expect_fail(&b, WD_ERR_UNSUPPORTED, "key 'k'", "arrays of arrays", NULL);
    RESET(); header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 4); u64(&b, 1ull << 40); u64(&b, 0);
    expect_fail(&b, WD_ERR_FORMAT, "key 'k'", "cannot fit", NULL);
    RESET(); header(&b, 3, 0, 1); str(&b, "general.alignment"); u32(&b, 4); u32(&b, 48);
    expect_fail(&b, WD_ERR_FORMAT, "general.alignment", "not a power of two", NULL);
    RESET(); header(&b, 3, 0, 1); str(&b, "general.alignment"); u32(&b, 10); u64(&b, 32);
    expect_fail(&b, WD_ERR_FORMAT, "general.alignment", "expected u32", NULL);
    RESET(); header(&b, 3, 1, 0); int64_t ne5[5] = {1, 1, 1, 1, 1}; tinfo(&b, "t", 5, ne5, 0, 0); put(&b, "0123456789abcdef0123456789abcdef", 32);
    expect_fail(&b, WD_ERR_FORMAT, "tensor 't'", "5 dimensions", NULL);
    RESET(); header(&b, 3, 1, 0); tinfo(&b, "t", 1, neneg, 0, 0); pad(&b, 32);
    expect_fail(&b, WD_ERR_FORMAT, "tensor 't'", "negative", NULL);
    RESET(); header(&b, 3, 1, 0); tinfo(&b, "t", 2, nebig, 0, 0); pad(&b, 32);
    expect_fail(&b, WD_ERR_FORMAT, "tensor 't'", "overflows", NULL);
    RESET(); header(&b, 3, 1, 0); tinfo(&b, "t", 1, ne1, 4, 0); pad(&b, 32);
    expect_fail(&b, WD_ERR_UNSUPPORTED, "tensor 't'", "unknown ggml type 4", NULL);
    RESET(); header(&b, 3, 1, 0); tinfo(&b, "t", 1, ne33, 8, 0); pad(&b, 32);
    expect_fail(&b, WD_ERR_FORMAT, "tensor 't'", "not a multiple of the q8_0 block size", NULL);
    RESET(); header(&b, 3, 1, 0); tinfo(&b, "t", 1, ne1, 0, 4); pad(&b, 32); zeros(&b, 64);
    expect_fail(&b, WD_ERR_FORMAT, "tensor 't'", "not a multiple of the alignment", NULL);
    RESET(); header(&b, 3, 1, 0); tinfo(&b, "t", 1, ne1, 0, 0); pad(&b, 32); zeros(&b, 16);
    expect_fail(&b, WD_ERR_FORMAT, "tensor 't'", "past the end", NULL);
    RESET(); header(&b, 3, 2, 0); tinfo(&b, "t", 1, ne1, 0, 0); tinfo(&b, "t", 1, ne1, 0, 32); pad(&b, 32); zeros(&b, 64);
    expect_fail(&b, WD_ERR_FORMAT, "tensor 't' appears twice", NULL);
    RESET(); header(&b, 3, 2, 0); tinfo(&b, "t", 1, ne32, 0, 0); tinfo(&b, "u", 1, ne1, 0, 96); pad(&b, 32); zeros(&b, 160);
    expect_fail(&b, WD_ERR_FORMAT, "'t' and 'u' overlap", NULL);
#undef RESET

    /* every truncation of a valid file fails cleanly */
    char *dir = wdt_tmpdir("gguf_trunc");
    char path[512];
    snprintf(path, sizeof path, "%s/t.gguf", dir);
    wd_gguf_writer *w;
    assert_int_equal(wd_gguf_writer_new(&w), WD_OK);
    const char *strs[] = {"x", "yy"};
    assert_int_equal(wd_gguf_writer_set_arr_str(w, "s", strs, 2), WD_OK);
    assert_int_equal(wd_gguf_writer_set_f32(w, "f", 1), WD_OK);
    float data[8] = {0};
    assert_int_equal(wd_gguf_writer_add_tensor(w, "t", WD_GGML_TYPE_F32, ne1, 1, data), WD_OK);
    assert_int_equal(wd_gguf_writer_write(w, path), WD_OK);
    wd_gguf_writer_free(w);
    size_t len = 0;
    char *file = mf_read(path, &len);
    for (size_t n = 0; n < len - 32; n++) { /* the last 32 bytes are the tensor's padding */
        wd_gguf *g = NULL;
        wd_status rc = wd_gguf_open_memory(file, n, "cut.gguf", &g);
        if (rc == WD_OK) fail_msg("a file cut at %zu of %zu bytes opened", n, len);
        assert_null(g);
        assert_non_null(strstr(wd_last_error(), "cut.gguf"));
    }
    free(file);
    free(dir);
}

/* ==== models ============================================================= */

static char *convert(const char *in, const char *name, const char *type) {
    char *out = malloc(strlen(in) + 64);
    size_t n = strlen(in);
    if (n > 5 && !strcmp(in + n - 5, ".gguf")) /* beside the input file */
        sprintf(out, "%.*s/%s.gguf", (int)(strrchr(in, '/') - in), in, name);
    else
        sprintf(out, "%s/../%s.gguf", in, name);
    wd_gguf_convert_params p = wd_gguf_convert_params_default();
    if (!strcmp(type, "q4_k_m")) p.q4_k_m = true;
    else assert_int_equal(wd_ggml_type_from_name(type, &p.type), WD_OK);
    wd_status rc = wd_gguf_convert(in, out, &p);
    if (rc) fail_msg("convert %s -> %s: %s", in, type, wd_last_error());
    return out;
}

/* logits (n, V) of ids under model path; caller frees. */
static float *logits_of(const char *path, const int32_t *ids, size_t n, size_t *V) {
    wd_model *m = mf_load(path, 1, -1);
    *V = wd_model_n_vocab(m);
    wd_context_params cp = {.n_ctx = n, .n_batch = n};
    wd_context *ctx;
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    float *lg = malloc(n * *V * sizeof *lg);
    assert_int_equal(wd_model_forward(ctx, ids, n, lg), WD_OK);
    wd_context_free(ctx);
    wd_model_free(m);
    return lg;
}

static void compare_logits(const char *a, const char *b, double abs_tol, double rel_tol) {
    int32_t ids[12] = {1, 5, 77, 120, 3, 9, 110, 42, 42, 7, 100, 2};
    size_t Va, Vb;
    float *x = logits_of(a, ids, 12, &Va), *y = logits_of(b, ids, 12, &Vb);
    assert_int_equal(Va, Vb);
    double maxd = 0, maxa = 0;
    for (size_t i = 0; i < 12 * Va; i++) {
        maxd = fmax(maxd, fabs((double)x[i] - y[i]));
        maxa = fmax(maxa, fabs((double)x[i]));
    }
    print_message("%s vs %s: max |diff| %.3g, max |logit| %.3g\n", strrchr(a, '/') + 1,
                  strrchr(b, '/') + 1, maxd, maxa);
    if (abs_tol > 0) assert_true(maxd <= abs_tol);
    if (rel_tol > 0) assert_true(maxd <= rel_tol * maxa);
    free(x);
    free(y);
}

/* Greedy decoding of a and b in lockstep, both fed a's choice (so one
 * near-tie cannot send the two down different paths): b's argmax must equal
 * a's at every step where a's top-2 margin exceeds min_margin; returns the
 * number of steps with a smaller margin (where either choice is fair). */
static int greedy_lockstep(const char *a, const char *b, size_t n_new, float min_margin) {
    wd_model *ma = mf_load(a, 1, -1), *mb = mf_load(b, 1, -1);
    size_t V = wd_model_n_vocab(ma);
    wd_context_params cp = {.n_ctx = 64, .n_batch = 16};
    wd_context *ca, *cb;
    assert_int_equal(wd_context_new(ma, &cp, &ca), WD_OK);
    assert_int_equal(wd_context_new(mb, &cp, &cb), WD_OK);
    int32_t ids[4] = {1, 20, 77, 130};
    assert_int_equal(wd_model_decode(ca, ids, 4, NULL, WD_LOGITS_MODE_NONE), WD_OK);
    assert_int_equal(wd_model_decode(cb, ids, 4, NULL, WD_LOGITS_MODE_NONE), WD_OK);
    int close = 0;
    for (size_t k = 0; k < n_new; k++) {
        const float *la = wd_context_logits(ca), *lb = wd_context_logits(cb);
        int32_t ba = 0, bb_ = 0;
        for (size_t v = 1; v < V; v++) {
            if (la[v] > la[ba]) ba = (int32_t)v;
            if (lb[v] > lb[bb_]) bb_ = (int32_t)v;
        }
        float second = -INFINITY;
        for (size_t v = 0; v < V; v++)
            if ((int32_t)v != ba && la[v] > second) second = la[v];
        if (la[ba] - second < min_margin) close++;
        else if (ba != bb_) fail_msg("step %zu: token %d, want %d (margin %.4f)", k, bb_, ba, la[ba] - second);
        assert_int_equal(wd_model_decode(ca, &ba, 1, NULL, WD_LOGITS_MODE_NONE), WD_OK);
        assert_int_equal(wd_model_decode(cb, &ba, 1, NULL, WD_LOGITS_MODE_NONE), WD_OK);
    }
    wd_context_free(ca);
    wd_context_free(cb);
    wd_model_free(ma);
    wd_model_free(mb);
    return close;
}

static void same_tokenization(const char *a, const char *b) {
    wd_tokenizer *ta, *tb;
    wd_model *ma = mf_load(a, 1, -1), *mb = mf_load(b, 1, -1);
    ta = (wd_tokenizer *)wd_model_tokenizer(ma);
    tb = (wd_tokenizer *)wd_model_tokenizer(mb);
    assert_non_null(ta);
    assert_non_null(tb);
    const char *texts[] = {"hello world", "Once upon a time, the  end.", " ab abab\n\tx", "caf\xc3\xa9 \xe2\x98\x83",
                           "</s> and <s> inside", ""};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t x[256], y[256];
        size_t nx, ny;
        assert_int_equal(wd_tokenizer_encode_ids(ta, texts[i], strlen(texts[i]), NULL, x, 256, &nx), WD_OK);
        assert_int_equal(wd_tokenizer_encode_ids(tb, texts[i], strlen(texts[i]), NULL, y, 256, &ny), WD_OK);
        if (nx != ny || memcmp(x, y, nx * sizeof *x)) fail_msg("'%s' encodes differently", texts[i]);
    }
    const char *ca = wd_tokenizer_chat_template(ta), *cb = wd_tokenizer_chat_template(tb);
    assert_true((!ca && !cb) || (ca && cb && !strcmp(ca, cb)));
    wd_model_free(ma);
    wd_model_free(mb);
}

#define GEN_LLAMA "--family llama --seed 3 --hidden 64 --heads 4 --kv-heads 2 --intermediate 128 --max-pos 64"

static void test_model_llama(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    char args[512];
    snprintf(args, sizeof args, GEN_LLAMA " --tokenizer '%s/tokenizers/bpe-spm'", WD_TEST_FIXTURES);
    char *dir = mf_make("gguf_llama/m", args);
    char *f32 = convert(dir, "f32", "f32");
    compare_logits(dir, f32, 1e-4, 0);
    same_tokenization(dir, f32);
    /* every quantized type loads and stays near; rows of 256 so that the
     * K-quants are used as such (64 falls back to q5_0 / q5_1 / q8_0) */
    char *wide = mf_make("gguf_llama/wide", "--family llama --seed 5 --hidden 256 --heads 4 "
                         "--kv-heads 2 --intermediate 512 --max-pos 64 --layers 2");
    static const char *types[] = {"q8_0", "q6_k", "q5_k", "q5_1", "q5_0", "q4_k_m", "q4_k", "q4_1", "q4_0"};
    static const wd_ggml_type want[] = {WD_GGML_TYPE_Q8_0, WD_GGML_TYPE_Q6_K, WD_GGML_TYPE_Q5_K, WD_GGML_TYPE_Q5_1, WD_GGML_TYPE_Q5_0,
                                        WD_GGML_TYPE_Q4_K, WD_GGML_TYPE_Q4_K, WD_GGML_TYPE_Q4_1, WD_GGML_TYPE_Q4_0};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "wide_%s", types[i]);
        char *q = convert(wide, name, types[i]);
        wd_gguf *g;
        assert_int_equal(wd_gguf_open(q, &g), WD_OK);
        assert_int_equal(wd_gguf_find_tensor(g, "blk.1.attn_q.weight")->type, want[i]);
        if (i == 5) /* q4_k_m: layer 1 of 2 gets the more bits (7n/8 = 1) */
            assert_int_equal(wd_gguf_find_tensor(g, "blk.1.ffn_down.weight")->type, WD_GGML_TYPE_Q6_K);
        assert_int_equal(wd_gguf_find_tensor(g, "output.weight")->type,
                         i == 0 ? WD_GGML_TYPE_Q8_0 : WD_GGML_TYPE_Q6_K);
        wd_gguf_free(g);
        compare_logits(wide, q, 0, i == 0 ? 0.02 : 0.3);
        free(q);
    }
    free(wide);
    /* Q8_0: the same greedy tokens */
    char *q8 = convert(dir, "q8_0", "q8_0");
    int close = greedy_lockstep(dir, q8, 32, 0.03f);
    print_message("q8_0 greedy: 32 steps, %d with a top-2 margin under 0.03\n", close);
    assert_true(close <= 4);
    /* a .gguf re-written from a .gguf */
    char *again = convert(f32, "again_q8_0", "q8_0");
    compare_logits(q8, again, 1e-6, 0);
    free(again);
    free(q8);
    free(f32);
    free(dir);
}

/* Re-writes src without the keys named in drop[] (n_drop). */
static void copy_without(const char *src, const char *dst, const char *const *drop, size_t n_drop) {
    wd_gguf *g;
    assert_int_equal(wd_gguf_open(src, &g), WD_OK);
    wd_gguf_writer *w;
    assert_int_equal(wd_gguf_writer_new(&w), WD_OK);
    for (size_t i = 0; i < wd_gguf_n_kv(g); i++) {
        const wd_gguf_kv *kv = wd_gguf_kv_at(g, i);
        bool skip = false;
        for (size_t k = 0; k < n_drop; k++) skip |= !strcmp(kv->key, drop[k]);
        if (skip) continue;
        assert_int_equal(wd_gguf_writer_set_kv(w, kv), WD_OK);
    }
    for (size_t i = 0; i < wd_gguf_n_tensors(g); i++) {
        const wd_gguf_tensor *t = wd_gguf_tensor_at(g, i);
        assert_int_equal(wd_gguf_writer_add_tensor(w, t->name, t->type, t->ne, t->ndim, t->data), WD_OK);
    }
    assert_int_equal(wd_gguf_writer_write(w, dst), WD_OK);
    wd_gguf_writer_free(w);
    wd_gguf_free(g);
}

static void test_copy_every_type(void **state) {
    (void)state;
    /* a file of every metadata and tensor type (the fuzz seed) copied
     * through wd_gguf_writer_set_kv keeps every type and value */
    char src[600], dir_s[600];
    snprintf(src, sizeof src, "%s/tests/fuzz/corpus/fuzz_gguf/every_type.gguf", WD_SOURCE_DIR);
    char *dir = wdt_tmpdir("gguf_copy");
    snprintf(dir_s, sizeof dir_s, "%s/copy.gguf", dir);
    copy_without(src, dir_s, NULL, 0);
    wd_gguf *a, *b;
    assert_int_equal(wd_gguf_open(src, &a), WD_OK);
    assert_int_equal(wd_gguf_open(dir_s, &b), WD_OK);
    assert_int_equal(wd_gguf_n_kv(a), wd_gguf_n_kv(b));
    for (size_t i = 0; i < wd_gguf_n_kv(a); i++) {
        const wd_gguf_kv *x = wd_gguf_kv_at(a, i), *y = wd_gguf_kv_at(b, i);
        assert_string_equal(x->key, y->key);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->elem_type, y->elem_type);
        assert_int_equal(x->n, y->n);
        assert_true(x->u64 == y->u64 && x->i64 == y->i64 && x->f64 == y->f64);
        if (x->str) assert_string_equal(x->str, y->str);
    }
    assert_int_equal(wd_gguf_n_tensors(a), wd_gguf_n_tensors(b));
    for (size_t i = 0; i < wd_gguf_n_tensors(a); i++) {
        const wd_gguf_tensor *x = wd_gguf_tensor_at(a, i), *y = wd_gguf_tensor_at(b, i);
        assert_int_equal(x->nbytes, y->nbytes);
        assert_memory_equal(x->data, y->data, x->nbytes);
    }
    wd_gguf_free(a);
    wd_gguf_free(b);
    free(dir);
}

static void test_spm_scores(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    /* without tokenizer.ggml.merges (as llama.cpp's converter writes a
     * SentencePiece vocabulary) the merges come from the scores warden wrote:
     * the same encodings */
    char args[512];
    snprintf(args, sizeof args, GEN_LLAMA " --tokenizer '%s/tokenizers/bpe-spm'", WD_TEST_FIXTURES);
    char *dir = mf_make("gguf_spm/m", args);
    char *f32 = convert(dir, "f32", "f32");
    char nom[600];
    snprintf(nom, sizeof nom, "%s/../nomerges.gguf", dir);
    const char *drop[] = {"tokenizer.ggml.merges"};
    copy_without(f32, nom, drop, 1);
    wd_gguf *g;
    assert_int_equal(wd_gguf_open(nom, &g), WD_OK);
    assert_null(wd_gguf_find_kv(g, "tokenizer.ggml.merges"));
    wd_gguf_free(g);
    same_tokenization(dir, nom);
    /* mistral is written as llama */
    char *mis = mf_make("gguf_spm/mistral", "--family mistral --seed 2 --hidden 64 --heads 4 --kv-heads 2 "
                        "--intermediate 128 --max-pos 64");
    char *mf = convert(mis, "mistral", "f32");
    compare_logits(mis, mf, 1e-4, 0);
    free(mf);
    free(mis);
    free(f32);
    free(dir);
}

static void test_model_half(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    const char *dt[] = {"F16", "BF16"}, *ty[] = {"f16", "bf16"};
    for (int i = 0; i < 2; i++) {
        char args[512], name[64];
        snprintf(args, sizeof args, GEN_LLAMA " --dtype %s --tie", dt[i]);
        snprintf(name, sizeof name, "gguf_%s/m", ty[i]);
        char *dir = mf_make(name, args);
        char *g = convert(dir, ty[i], ty[i]);
        wd_gguf *gg;
        assert_int_equal(wd_gguf_open(g, &gg), WD_OK);
        assert_null(wd_gguf_find_tensor(gg, "output.weight")); /* tied */
        assert_int_equal(wd_gguf_find_tensor(gg, "blk.0.attn_q.weight")->type,
                         i ? WD_GGML_TYPE_BF16 : WD_GGML_TYPE_F16);
        assert_int_equal(wd_gguf_find_tensor(gg, "blk.0.attn_norm.weight")->type, WD_GGML_TYPE_F32);
        wd_gguf_free(gg);
        compare_logits(dir, g, 0, 1e-2);
        compare_logits(dir, g, 1e-4, 0); /* the same values: only summation order differs */
        free(g);
        free(dir);
    }
}

static void test_model_qwen2_bytelevel(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    char args[512];
    snprintf(args, sizeof args,
             "--family qwen2 --seed 4 --hidden 64 --heads 4 --kv-heads 2 --intermediate 128 "
             "--max-pos 64 --tokenizer '%s/tokenizers/bpe-bytelevel'", WD_TEST_FIXTURES);
    char *dir = mf_make("gguf_qwen2/m", args);
    char *f32 = convert(dir, "f32", "f32");
    compare_logits(dir, f32, 1e-4, 0);
    same_tokenization(dir, f32);
    wd_gguf *g;
    assert_int_equal(wd_gguf_open(f32, &g), WD_OK);
    const char *s;
    assert_int_equal(wd_gguf_get_str(g, "general.architecture", &s), WD_OK);
    assert_string_equal(s, "qwen2");
    assert_int_equal(wd_gguf_get_str(g, "tokenizer.ggml.model", &s), WD_OK);
    assert_string_equal(s, "gpt2");
    assert_non_null(wd_gguf_find_tensor(g, "blk.0.attn_q.bias"));
    wd_gguf_free(g);
    free(f32);
    free(dir);
}

static void test_model_llama3_rope(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    char *dir = mf_make("gguf_rope/m", GEN_LLAMA);
    cJSON *patch = cJSON_Parse("{\"rope_theta\": 500000, \"rope_scaling\": {\"rope_type\": \"llama3\", "
                               "\"factor\": 8, \"low_freq_factor\": 1, \"high_freq_factor\": 4, "
                               "\"original_max_position_embeddings\": 16}}");
    mf_patch_config(dir, patch);
    cJSON_Delete(patch);
    char *f32 = convert(dir, "f32", "f32");
    wd_gguf *g;
    assert_int_equal(wd_gguf_open(f32, &g), WD_OK);
    assert_non_null(wd_gguf_find_tensor(g, "rope_freqs.weight"));
    wd_gguf_free(g);
    compare_logits(dir, f32, 1e-4, 0);
    free(f32);
    free(dir);
}

static void test_cli(void **state) {
    (void)state;
    WDT_SKIP_WITHOUT_GEN();
    char args[512], cmd[2048], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, GEN_LLAMA " --tokenizer '%s/tokenizers/bpe-spm'", WD_TEST_FIXTURES);
    char *dir = mf_make("gguf_cli/m", args);
    snprintf(cmd, sizeof cmd, "quantize '%s' '%s/../m.gguf' --type q4_k_m", dir, dir);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 0);
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "inspect '%s/../m.gguf' --json", dir);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "\"general.architecture\""));
    assert_non_null(strstr(out, "\"blk.1.ffn_down.weight\""));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "score --model '%s/../m.gguf' --json 'hello world'", dir);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "perplexity"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "quantize '%s' '%s/../x.gguf' --type q3_k", dir, dir);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 2);
    free(out), free(err);
    /* a broken .gguf as --model: exit 3, the file and the reason */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/../bad.gguf", dir);
    wdt_write_file(bad, "GGUF\x03\0\0\0\xff\xff\xff\xff\xff\xff\xff\x0f\0\0\0\0\0\0\0\0", 24);
    snprintf(cmd, sizeof cmd, "score --model '%s' 'hello'", bad);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 3);
    assert_non_null(strstr(err, "bad.gguf"));
    assert_non_null(strstr(err, "tensor infos cannot fit"));
    free(out), free(err);
    /* tokenize FILE.gguf == tokenize FOLDER */
    char *o2 = NULL, *e2 = NULL;
    snprintf(cmd, sizeof cmd, "tokenize --model '%s/../m.gguf' 'Once upon a time, ab'", dir);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 0);
    snprintf(cmd, sizeof cmd, "tokenize --model '%s' 'Once upon a time, ab'", dir);
    assert_int_equal(wdt_cli(cmd, NULL, &o2, &e2), 0);
    assert_string_equal(out, o2);
    free(out), free(err), free(o2), free(e2);
    /* check --model FILE.gguf: the judge's template needs 2048 positions */
    char *judge;
    snprintf(args, sizeof args, "--family llama --seed 1 --max-pos 2048 --tokenizer '%s/tokenizers/bpe-spm'",
             WD_TEST_FIXTURES);
    judge = mf_make("gguf_cli/judge", args);
    snprintf(cmd, sizeof cmd, "quantize '%s' '%s/../judge.gguf' --type q8_0", judge, judge);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 0);
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "check --model '%s/../judge.gguf' --json 'How do I pick a lock?'", judge);
    int rc = wdt_cli(cmd, NULL, &out, &err);
    if (rc > 1) fail_msg("check --model judge.gguf: exit %d: %s", rc, err);
    assert_non_null(strstr(out, "\"scores\""));
    free(out), free(err);
    free(judge);
    /* an encoder cannot be written; nothing is left behind */
    char *enc = mf_make("gguf_cli/bert", "--family bert --seed 1");
    snprintf(cmd, sizeof cmd, "quantize '%s' '%s/../bert.gguf' --type f16", enc, enc);
    assert_int_equal(wdt_cli(cmd, NULL, &out, &err), 3);
    assert_non_null(strstr(err, "only decoders"));
    free(out), free(err);
    snprintf(bad, sizeof bad, "%s/../bert.gguf", enc);
    FILE *f = fopen(bad, "rb");
    assert_null(f);
    free(enc);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_copy_every_type),
        cmocka_unit_test(test_model_llama),
        cmocka_unit_test(test_model_half),
        cmocka_unit_test(test_spm_scores),
        cmocka_unit_test(test_model_qwen2_bytelevel),
        cmocka_unit_test(test_model_llama3_rope),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
