/*
 * tests/unit/model_fixture.h - what the runtime's tests share: making a tiny
 * checkpoint with the fixture generator (tests/tools/wd_gen_checkpoint, the
 * same program tests/tools/make_golden.sh runs), patching its config.json,
 * and deriving the interleaved-rotary twin of a rotate-half checkpoint.
 * Header-only (static __attribute__((unused)) functions) so each test executable stays one file.
 */
#ifndef WD_TEST_MODEL_FIXTURE_H
#define WD_TEST_MODEL_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "warden/warden.h"

#ifdef WD_GEN_CHECKPOINT
#define WDT_HAVE_GEN 1
#else
#define WDT_HAVE_GEN 0
#define WD_GEN_CHECKPOINT ""
#endif

#define WDT_SKIP_WITHOUT_GEN()                                                     \
    do {                                                                           \
        if (!WDT_HAVE_GEN) {                                                       \
            print_message("SKIP: the fixture generator is not built in this tree\n"); \
            skip();                                                                \
        }                                                                          \
    } while (0)

/* Runs the generator with args (a shell fragment) into dir. */
static __attribute__((unused)) void mf_generate(const char *args, const char *dir) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s --out '%s' > /dev/null", WD_GEN_CHECKPOINT, args, dir);
    int rc = system(cmd);
    if (rc != 0) fail_msg("generator failed: %s", cmd);
}

static __attribute__((unused)) char *mf_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    b[got] = '\0';
    if (len) *len = got;
    return b;
}

/* Copies the fixture tokenizer tests/fixtures/tokenizers/NAME/tokenizer.json
 * into the model folder dir. */
static __attribute__((unused)) void mf_copy_tokenizer(const char *name, const char *dir) {
    char src[1024], dst[1100];
    snprintf(src, sizeof src, "%s/tokenizers/%s/tokenizer.json", WD_TEST_FIXTURES, name);
    snprintf(dst, sizeof dst, "%s/tokenizer.json", dir);
    size_t n = 0;
    char *t = mf_read(src, &n);
    assert_non_null(t);
    wdt_write_file(dst, t, n);
    free(t);
}

/* Merges the keys of patch (a JSON object) into dir/config.json. */
static __attribute__((unused)) void mf_patch_config(const char *dir, const cJSON *patch) {
    if (!patch || !patch->child) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = mf_read(path, NULL);
    assert_non_null(text);
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    assert_non_null(cfg);
    for (const cJSON *e = patch->child; e; e = e->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, e->string);
        cJSON_AddItemToObject(cfg, e->string, cJSON_Duplicate(e, true));
    }
    char *out = cJSON_Print(cfg);
    wdt_write_file(path, out, strlen(out));
    free(out);
    cJSON_Delete(cfg);
}

/* Rewrites dir/model.safetensors with every q_proj/k_proj weight moved from
 * the rotate-half row order to the interleaved one (undoing HF's
 * permutation: half row h*D + s*D/2 + i = interleaved row h*D + 2i + s). */
static __attribute__((unused)) void mf_derive_interleaved(const char *dir, int n_head, int n_kv_head, int head_dim) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(path, &st), WD_OK);
    wd_safetensors_writer *w = NULL;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    size_t nt = wd_safetensors_n_tensors(st);
    char **bufs = calloc(nt, sizeof *bufs);
    for (size_t t = 0; t < nt; t++) {
        const wd_tensor_info *ti = wd_safetensors_tensor(st, t);
        size_t ln = strlen(ti->name);
        bool q = ln > 13 && !strcmp(ti->name + ln - 13, "q_proj.weight");
        bool k = ln > 13 && !strcmp(ti->name + ln - 13, "k_proj.weight");
        bufs[t] = malloc(ti->nbytes ? ti->nbytes : 1);
        if (q || k) {
            int heads = q ? n_head : n_kv_head, D = head_dim;
            size_t rb = ti->nbytes / (size_t)ti->shape[0];
            const char *src = ti->data;
            for (int h = 0; h < heads; h++)
                for (int s = 0; s < 2; s++)
                    for (int i = 0; i < D / 2; i++)
                        memcpy(bufs[t] + (size_t)(h * D + 2 * i + s) * rb,
                               src + (size_t)(h * D + s * (D / 2) + i) * rb, rb);
        } else {
            memcpy(bufs[t], ti->data, ti->nbytes);
        }
        assert_int_equal(wd_safetensors_writer_add(w, ti->name, ti->dtype, ti->shape, ti->ndim,
                                                   bufs[t]),
                         WD_OK);
    }
    wd_safetensors_free(st);
    assert_int_equal(wd_safetensors_writer_write(w, path), WD_OK);
    wd_safetensors_writer_free(w);
    for (size_t t = 0; t < nt; t++) free(bufs[t]);
    free(bufs);
}

static __attribute__((unused)) cJSON *mf_load_json(const char *path) {
    char *text = mf_read(path, NULL);
    if (!text) fail_msg("cannot read %s", path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) fail_msg("bad JSON in %s", path);
    return j;
}

/* Makes a checkpoint from generator args into a fresh temp folder named
 * name; returns the malloc'd folder. */
static __attribute__((unused)) char *mf_make(const char *name, const char *args) {
    char *dir = wdt_tmpdir(name);
    mf_generate(args, dir);
    return dir;
}

static __attribute__((unused)) wd_model *mf_load(const char *dir, int n_threads, int rope_interleaved) {
    wd_model_params p = wd_model_params_default();
    p.n_threads = n_threads;
    p.rope_interleaved = rope_interleaved;
    wd_model *m = NULL;
    wd_status rc = wd_model_load(dir, &p, &m);
    if (rc) fail_msg("load %s: %s", dir, wd_last_error());
    return m;
}


/* A judge's p(unsafe) recomputed from scratch: a plain forward pass over
 * ids[0..n), the softmax at the last position, and the mass of the tokens
 * spelling "unsafe" (those decoding to "unsafe...", leading spaces dropped,
 * and the first token of "unsafe"). Independent of the scanner's code. */
static __attribute__((unused)) double mf_p_unsafe_forward(wd_model *m, const int32_t *ids, size_t n) {
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    size_t V = wd_model_n_vocab(m);
    wd_context_params cp = {.n_ctx = n + 1, .n_batch = 64};
    wd_context *ctx = NULL;
    assert_int_equal(wd_context_new(m, &cp, &ctx), WD_OK);
    float *lg = malloc(n * V * sizeof *lg);
    assert_int_equal(wd_model_forward(ctx, ids, n, lg), WD_OK);
    const float *last = lg + (n - 1) * V;
    double mx = -INFINITY, z = 0, pu = 0;
    for (size_t v = 0; v < V; v++) mx = fmax(mx, last[v]);
    for (size_t v = 0; v < V; v++) z += exp(last[v] - mx);
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    int32_t first[8];
    size_t nf = 0;
    wd_tokenizer_encode_ids(tok, "unsafe", 6, &ep, first, 8, &nf);
    for (int32_t v = 0; (size_t)v < V; v++) {
        char *s = NULL;
        bool take = v == first[0];
        if (!wd_tokenizer_decode(tok, &v, 1, NULL, &s, NULL)) {
            const char *p = s;
            while (*p == ' ') p++;
            take |= !strncmp(p, "unsafe", 6);
        }
        free(s);
        if (take) pu += exp(last[v] - mx) / z;
    }
    free(lg);
    wd_context_free(ctx);
    return pu;
}

#endif
