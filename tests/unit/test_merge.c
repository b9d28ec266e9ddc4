/*
 * tests/unit/test_merge.c - `warden merge` and `warden resta`
 * (warden/weights.h) and the streaming model-folder writer
 * (wd_checkpoint_writer, warden/checkpoint.h):
 *   - every method, RESTA with and without DARE, on generated 2-shard F32
 *     and BF16 checkpoints, against tests/fixtures/merge (computed by the
 *     independent numpy reference tests/tools/merge_ref.py from the same
 *     generator seeds), written sharded;
 *   - TIES' sign election and trim by hand, DARE's rate and rescale;
 *   - the writer: shards, piecewise writes, index, stale files, abort;
 *   - errors: shapes, missing tensors, an unwritable or failing output
 *     (nothing left behind); the CLI once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>
#include <math.h>

#include <cjson/cJSON.h>

#include "gen_checkpoint.h"
#include "testutil.h"
#include "warden/weights.h"
#include "weights/merge_internal.h"

static char *path2(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Number of entries of a folder (without . and ..), -1 if it cannot be opened. */
static int n_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* A one-file model of F32 tensors named names[i] with shape {rows[i], 3}. */
static void write_model(const char *dir, int n, const char *const *names, const int64_t *rows,
                        const float *values) {
    mkdir(dir, 0755);
    wd_safetensors_writer *w;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        int64_t shape[2] = {rows[i], 3};
        assert_int_equal(wd_safetensors_writer_add(w, names[i], WD_DTYPE_F32, shape, 2, values + off), WD_OK);
        off += (size_t)rows[i] * 3;
    }
    char *p = path2(dir, "model.safetensors");
    assert_int_equal(wd_safetensors_writer_write(w, p), WD_OK);
    free(p);
    wd_safetensors_writer_free(w);
}

/* ==== against the reference =============================================== */

static cJSON *load_cases(void) {
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(wd_file_read(WD_TEST_FIXTURES "/merge/cases.json", 0, &text, &len), WD_OK);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static int num(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valueint; }
static double dnum(const cJSON *o, const char *k, double def) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* Generates every input of cases.json into dir/<key>. */
static void gen_inputs(const cJSON *cases, const char *dir) {
    const cJSON *g = cJSON_GetObjectItem(cases, "gen");
    for (const cJSON *in = cJSON_GetObjectItem(cases, "inputs")->child; in; in = in->next) {
        wdt_gen_params p = wdt_gen_params_default("llama");
        p.seed = (uint64_t)num(in, "seed");
        assert_int_equal(wd_dtype_from_name(cJSON_GetObjectItem(in, "dtype")->valuestring, &p.dtype), WD_OK);
        p.n_layer = num(g, "layers");
        p.hidden = num(g, "hidden");
        p.n_head = num(g, "heads");
        p.n_kv_head = num(g, "kv_heads");
        p.intermediate = num(g, "intermediate");
        p.vocab = num(g, "vocab");
        p.shards = num(g, "shards");
        char *d = path2(dir, in->string);
        assert_int_equal(wdt_gen_checkpoint(&p, d), WD_OK);
        free(d);
    }
}

/* Every tensor of the model folder out equals the fixture's: relative 1e-6
 * for F32, one BF16 step for BF16. Returns the worst relative error. */
static double compare(const char *out, const char *fixture) {
    wd_checkpoint *got;
    wd_safetensors *want;
    assert_int_equal(wd_checkpoint_open(out, &got), WD_OK);
    assert_int_equal(wd_safetensors_open(fixture, &want), WD_OK);
    assert_int_equal(wd_checkpoint_n_tensors(got), wd_safetensors_n_tensors(want));
    double worst = 0;
    for (size_t i = 0; i < wd_safetensors_n_tensors(want); i++) {
        const wd_tensor_info *w = wd_safetensors_tensor(want, i);
        const wd_tensor_info *g = wd_checkpoint_find(got, w->name);
        assert_non_null(g);
        assert_int_equal(g->dtype, w->dtype);
        assert_int_equal(g->n_elem, w->n_elem);
        float *a = malloc(g->n_elem * sizeof *a), *b = malloc(w->n_elem * sizeof *b);
        assert_int_equal(wd_tensor_read_f32(g, a, g->n_elem), WD_OK);
        assert_int_equal(wd_tensor_read_f32(w, b, w->n_elem), WD_OK);
        double tol = w->dtype == WD_DTYPE_BF16 ? 1.0 / 128 : 1e-6;
        for (size_t j = 0; j < w->n_elem; j++) {
            double e = fabs((double)a[j] - b[j]) / (fabs((double)b[j]) + 1e-6);
            if (e > worst) worst = e;
            if (e > tol) fail_msg("%s: tensor %s[%zu]: %.9g, reference %.9g", out, w->name, j, a[j], b[j]);
        }
        free(a);
        free(b);
    }
    wd_checkpoint_free(got);
    wd_safetensors_free(want);
    return worst;
}

static void test_against_reference(void **state) {
    cJSON *cases = load_cases();
    char *dir = wdt_tmpdir("merge_ref");
    gen_inputs(cases, dir);
    int n_cases = 0;
    for (const cJSON *c = cJSON_GetObjectItem(cases, "cases")->child; c; c = c->next, n_cases++) {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        const char *method = cJSON_GetObjectItem(c, "method")->valuestring;
        char *out = path2(dir, name);
        wd_merge_report r;
        char *paths[8] = {0};
        if (!strcmp(method, "resta")) {
            wd_resta_params p = wd_resta_params_default();
            p.aligned = paths[0] = path2(dir, cJSON_GetObjectItem(c, "aligned")->valuestring);
            p.unaligned = paths[1] = path2(dir, cJSON_GetObjectItem(c, "unaligned")->valuestring);
            p.finetuned = paths[2] = path2(dir, cJSON_GetObjectItem(c, "finetuned")->valuestring);
            p.beta = dnum(c, "beta", 1.0);
            p.dare = dnum(c, "dare", 0.0);
            p.seed = (uint64_t)dnum(c, "seed", 0);
            p.shard_bytes = 6000; /* several output shards */
            assert_int_equal(wd_resta(out, &p, &r), WD_OK);
            if (p.dare > 0) {
                double f = (double)r.n_dropped / (double)r.n_delta_entries;
                assert_true(fabs(f - p.dare) < 0.05);
            } else {
                assert_int_equal(r.n_delta_entries, 0);
            }
        } else {
            wd_merge_params p = wd_merge_params_default();
            assert_int_equal(wd_merge_method_from_name(method, &p.method), WD_OK);
            wd_merge_model m[4];
            size_t k = 0;
            for (const cJSON *e = cJSON_GetObjectItem(c, "models")->child; e; e = e->next, k++) {
                m[k].path = paths[1 + k] = path2(dir, e->child->valuestring);
                m[k].weight = e->child->next->valuedouble;
            }
            const cJSON *base = cJSON_GetObjectItem(c, "base");
            if (base) p.base = paths[0] = path2(dir, base->valuestring);
            p.models = m;
            p.n_models = k;
            p.density = dnum(c, "density", 1.0);
            p.lambda = dnum(c, "lambda", 1.0);
            p.t = dnum(c, "t", 0.5);
            p.seed = (uint64_t)dnum(c, "seed", 0);
            p.shard_bytes = 6000;
            assert_int_equal(wd_merge(out, &p, &r), WD_OK);
            if (p.method == WD_MERGE_METHOD_DARE_LINEAR || p.method == WD_MERGE_METHOD_DARE_TIES) {
                double f = (double)r.n_dropped / (double)r.n_delta_entries;
                assert_true(fabs(f - (1 - p.density)) < 0.05);
            }
            if (p.method == WD_MERGE_METHOD_TIES || p.method == WD_MERGE_METHOD_DARE_TIES) {
                assert_true(r.n_sign_entries > 0);
                assert_true(r.n_sign_conflicts > 0 && r.n_sign_conflicts < r.n_sign_entries);
            }
        }
        assert_true(r.n_shards > 1);
        assert_int_equal(r.n_tensors, 12);
        assert_int_equal(r.n_merged, 12);
        char *fx = malloc(strlen(WD_TEST_FIXTURES) + strlen(name) + 32);
        sprintf(fx, "%s/merge/%s.safetensors", WD_TEST_FIXTURES, name);
        double worst = compare(out, fx);
        print_message("%-18s shards %zu, worst relative error %.3g\n", name, r.n_shards, worst);
        /* config carried over */
        char *cfg = path2(out, "config.json");
        assert_true(exists(cfg));
        free(cfg);
        free(fx);
        free(out);
        for (int i = 0; i < 8; i++) free(paths[i]);
    }
    assert_int_equal(n_cases, 10);
    cJSON_Delete(cases);
    free(dir);
}

/* ==== by hand ============================================================= */

static void test_ties_by_hand(void **state) {
    char *dir = wdt_tmpdir("merge_ties_hand");
    const char *names[] = {"w"};
    int64_t rows[] = {1};
    const float base[3] = {0, 0, 0}, m1[3] = {1, -2, 3}, m2[3] = {-3, 1, 1};
    char *b = path2(dir, "base"), *p1 = path2(dir, "m1"), *p2 = path2(dir, "m2"), *out = path2(dir, "out");
    write_model(b, 1, names, rows, base);
    write_model(p1, 1, names, rows, m1);
    write_model(p2, 1, names, rows, m2);
    wd_merge_model m[2] = {{p1, 1.0}, {p2, 1.0}};
    wd_merge_params p = wd_merge_params_default();
    p.base = b;
    p.models = m;
    p.n_models = 2;
    wd_merge_report r;
    /* sums -2, -1, 4: signs -, -, +; kept: m2, m1, both; mean over the kept */
    assert_int_equal(wd_merge(out, &p, &r), WD_OK);
    float v[3];
    wd_checkpoint *ck;
    assert_int_equal(wd_checkpoint_open(out, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_read_f32(ck, "w", v, 3), WD_OK);
    assert_true(v[0] == -3.0f && v[1] == -2.0f && v[2] == 2.0f);
    assert_int_equal(r.n_sign_entries, 3);
    assert_int_equal(r.n_sign_conflicts, 2);
    wd_checkpoint_free(ck);
    /* without normalize: sums of the kept */
    p.normalize = 0;
    assert_int_equal(wd_merge(out, &p, &r), WD_OK);
    assert_int_equal(wd_checkpoint_open(out, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_read_f32(ck, "w", v, 3), WD_OK);
    assert_true(v[0] == -3.0f && v[1] == -2.0f && v[2] == 4.0f);
    wd_checkpoint_free(ck);
    /* task arithmetic with lambda 0.5: 0.5 * (d1 + d2) */
    p.method = WD_MERGE_METHOD_TASK_ARITHMETIC;
    p.normalize = -1;
    p.lambda = 0.5;
    assert_int_equal(wd_merge(out, &p, &r), WD_OK);
    assert_int_equal(wd_checkpoint_open(out, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_read_f32(ck, "w", v, 3), WD_OK);
    assert_true(v[0] == -1.0f && v[1] == -0.5f && v[2] == 2.0f);
    wd_checkpoint_free(ck);
    /* slerp of a model with itself is the model (the lerp fallback) */
    p.method = WD_MERGE_METHOD_SLERP;
    p.base = p1;
    p.n_models = 1;
    assert_int_equal(wd_merge(out, &p, &r), WD_OK);
    assert_int_equal(r.n_slerp_lerp, 1);
    assert_int_equal(wd_checkpoint_open(out, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_read_f32(ck, "w", v, 3), WD_OK);
    assert_true(v[0] == 1.0f && v[1] == -2.0f && v[2] == 3.0f);
    wd_checkpoint_free(ck);
    free(b), free(p1), free(p2), free(out), free(dir);
}

static int cmp_desc_abs(const void *a, const void *b) {
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

static void test_trim_and_dare(void **state) {
    /* equal magnitudes: the lower index is kept first */
    float d[5] = {1, -1, 1, -1, 0.5f};
    assert_int_equal(wd__trim_magnitude(d, 5, 0.4), 3);
    assert_true(d[0] == 1 && d[1] == -1 && d[2] == 0 && d[3] == 0 && d[4] == 0);
    /* against a sort, with many repeated magnitudes */
    enum { N = 4099 };
    static float x[N], y[N], s[N];
    uint64_t seed = 5;
    for (int j = 0; j < N; j++) x[j] = (float)((int)(wdt_rand(&seed) % 41) - 20) / 4.0f;
    for (double dens = 0.05; dens < 1.0; dens += 0.15) {
        memcpy(y, x, sizeof x);
        memcpy(s, x, sizeof x);
        size_t k = (size_t)(dens * N);
        assert_int_equal(wd__trim_magnitude(y, N, dens), N - k);
        qsort(s, N, sizeof *s, cmp_desc_abs);
        float thr = fabsf(s[k - 1]);
        size_t kept = 0;
        bool tie_dropped = false; /* of the entries at the threshold, the first ones stay */
        for (int j = 0; j < N; j++) {
            if (y[j] != 0) {
                kept++;
                assert_true(y[j] == x[j] && fabsf(x[j]) >= thr);
                if (fabsf(x[j]) == thr) assert_false(tie_dropped);
            } else if (x[j] != 0) {
                assert_true(fabsf(x[j]) <= thr);
                if (fabsf(x[j]) == thr) tie_dropped = true;
            }
        }
        assert_true(kept <= k); /* zeros of x count as kept-but-zero */
    }
    /* DARE: the rate, the rescale and the stream's determinism */
    for (int j = 0; j < N; j++) x[j] = 1.0f;
    memcpy(y, x, sizeof x);
    uint64_t dropped = wd__dare(x, N, 0.25, 42, "t", 0);
    assert_true(fabs((double)dropped / N - 0.75) < 0.03);
    for (int j = 0; j < N; j++) assert_true(x[j] == 0.0f || x[j] == 4.0f);
    assert_int_equal(wd__dare(y, N, 0.25, 42, "t", 0), dropped);
    assert_memory_equal(x, y, sizeof x);
    assert_true(wd_dare_stream(42, "t", 0) != wd_dare_stream(42, "t", 1));
    assert_true(wd_dare_stream(42, "t", 0) != wd_dare_stream(42, "u", 0));
}

/* ==== the writer ========================================================== */

static void test_writer_round_trip(void **state) {
    char *dir = wdt_tmpdir("merge_writer");
    static float a[1000], c[10];
    static uint16_t b[600];
    int64_t ids[4] = {7, -1, 1LL << 40, 3};
    for (int i = 0; i < 1000; i++) a[i] = (float)i * 0.5f;
    for (int i = 0; i < 600; i++) b[i] = (uint16_t)(0x3f80 + i); /* BF16 */
    for (int i = 0; i < 10; i++) c[i] = -(float)i;
    wd_checkpoint_writer *w;
    assert_int_equal(wd_checkpoint_writer_new(dir, 3000, &w), WD_OK);
    int64_t sa[2] = {10, 100}, sb[1] = {600}, si[1] = {4}, sc[1] = {10};
    assert_int_equal(wd_checkpoint_writer_add(w, "a", WD_DTYPE_F32, sa, 2), WD_OK); /* 4000 B: own shard */
    assert_int_equal(wd_checkpoint_writer_add(w, "b", WD_DTYPE_BF16, sb, 1), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add(w, "ids", WD_DTYPE_I64, si, 1), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add(w, "c", WD_DTYPE_F32, sc, 1), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add_metadata(w, "format", "pt"), WD_OK);
    assert_int_equal(wd_checkpoint_writer_begin(w), WD_OK);
    assert_int_equal(wd_checkpoint_writer_n_shards(w), 2);
    const void *data[4] = {a, b, ids, c};
    size_t bytes[4] = {sizeof a, sizeof b, sizeof ids, sizeof c}, i;
    size_t order[4], k = 0;
    while (wd_checkpoint_writer_next(w, &i)) {
        order[k++] = i;
        /* in two pieces; too much is refused */
        assert_int_equal(wd_checkpoint_writer_write(w, data[i], bytes[i] + 1), WD_ERR_RANGE);
        assert_int_equal(wd_checkpoint_writer_write(w, data[i], bytes[i] / 2), WD_OK);
        assert_int_equal(wd_checkpoint_writer_write(w, (const char *)data[i] + bytes[i] / 2,
                                                     bytes[i] - bytes[i] / 2), WD_OK);
    }
    /* shard 2 holds b, ids, c: written widest first (ids, c, then b) */
    assert_int_equal(k, 4);
    assert_true(order[0] == 0 && order[1] == 2 && order[2] == 3 && order[3] == 1);
    assert_int_equal(n_entries(dir), 2); /* two temporaries, nothing in place yet */
    assert_int_equal(wd_checkpoint_writer_finish(w), WD_OK);
    wd_checkpoint_writer_free(w);
    assert_int_equal(n_entries(dir), 3);

    wd_checkpoint *ck;
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_n_shards(ck), 2);
    const wd_tensor_info *t = wd_checkpoint_find(ck, "ids");
    assert_non_null(t);
    assert_memory_equal(t->data, ids, sizeof ids);
    assert_memory_equal(wd_checkpoint_find(ck, "b")->data, b, sizeof b);
    assert_memory_equal(wd_checkpoint_find(ck, "a")->data, a, sizeof a);
    assert_memory_equal(wd_checkpoint_find(ck, "c")->data, c, sizeof c);
    assert_string_equal(wd_safetensors_metadata_get(wd_checkpoint_shard(ck, 0), "format"), "pt");
    wd_checkpoint_free(ck);
    char *idx_path = path2(dir, "model.safetensors.index.json"), *text = NULL;
    assert_int_equal(wd_file_read(idx_path, 0, &text, NULL), WD_OK);
    cJSON *idx = cJSON_Parse(text);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(idx, "metadata"), "total_size")->valuedouble,
                     sizeof a + sizeof b + sizeof ids + sizeof c);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(idx, "weight_map"), "c")->valuestring,
                        "model-00002-of-00002.safetensors");
    cJSON_Delete(idx);
    free(text);

    /* one shard into the same folder: model.safetensors, the stale index goes */
    assert_int_equal(wd_checkpoint_writer_new(dir, 0, &w), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add(w, "c", WD_DTYPE_F32, sc, 1), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add(w, "c", WD_DTYPE_F32, sc, 1), WD_OK);
    assert_int_equal(wd_checkpoint_writer_begin(w), WD_ERR_INVALID_ARG); /* declared twice */
    assert_non_null(strstr(wd_last_error(), "'c' declared twice"));
    wd_checkpoint_writer_free(w);
    assert_int_equal(wd_checkpoint_writer_new(dir, 0, &w), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add(w, "c", WD_DTYPE_F32, sc, 1), WD_OK);
    assert_int_equal(wd_checkpoint_writer_begin(w), WD_OK);
    assert_int_equal(wd_checkpoint_writer_finish(w), WD_ERR_INVALID_ARG); /* nothing written yet */
    assert_int_equal(wd_checkpoint_writer_write(w, c, sizeof c), WD_OK);
    assert_int_equal(wd_checkpoint_writer_finish(w), WD_OK);
    wd_checkpoint_writer_free(w);
    assert_false(exists(idx_path));
    assert_int_equal(wd_checkpoint_open(dir, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_n_tensors(ck), 1);
    wd_checkpoint_free(ck);

    /* abandoned half way: the temporaries go, the folder is as it was */
    int before = n_entries(dir);
    assert_int_equal(wd_checkpoint_writer_new(dir, 100, &w), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add(w, "a", WD_DTYPE_F32, sa, 2), WD_OK);
    assert_int_equal(wd_checkpoint_writer_add(w, "c", WD_DTYPE_F32, sc, 1), WD_OK);
    assert_int_equal(wd_checkpoint_writer_begin(w), WD_OK);
    assert_int_equal(wd_checkpoint_writer_write(w, a, sizeof a), WD_OK);
    assert_true(n_entries(dir) > before); /* shard 1 done, shard 2 open */
    wd_checkpoint_writer_free(w);
    assert_int_equal(n_entries(dir), before);
    free(idx_path);
    free(dir);
}

/* ==== errors ============================================================== */

static void test_errors(void **state) {
    char *dir = wdt_tmpdir("merge_errors");
    const char *names2[] = {"x", "y"}, *names1[] = {"x"}, *names_z[] = {"x", "z"};
    int64_t rows[] = {2, 1}, rows_bad[] = {2, 2};
    float v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    char *b = path2(dir, "base"), *m = path2(dir, "m"), *bad = path2(dir, "bad"), *less = path2(dir, "less");
    char *other = path2(dir, "other"), *out = path2(dir, "out");
    write_model(b, 2, names2, rows, v);
    write_model(m, 2, names2, rows, v);
    write_model(bad, 2, names2, rows_bad, v);
    write_model(less, 1, names1, rows, v);
    write_model(other, 2, names_z, rows, v);
    wd_merge_model mm = {bad, 1.0};
    wd_merge_params p = wd_merge_params_default();
    p.base = b;
    p.models = &mm;
    p.n_models = 1;
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_FORMAT);
    const char *e = wd_last_error();
    assert_non_null(strstr(e, "tensor 'y'"));
    assert_non_null(strstr(e, "[1, 3]"));
    assert_non_null(strstr(e, "[2, 3]"));
    assert_non_null(strstr(e, b));
    assert_non_null(strstr(e, bad));
    assert_false(exists(out));
    mm.path = less; /* the model lacks y */
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "tensor 'y' is in base"));
    mm.path = other; /* y in one, z in the other */
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_FORMAT);
    assert_false(exists(out));
    p.base = less; /* the model has more than the base */
    mm.path = m;
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "tensor 'y' is in model 1"));
    p.base = b;

    /* tokenizers that differ: the same rows are different tokens */
    char *tb = path2(b, "tokenizer.json"), *tm = path2(m, "tokenizer.json");
    wdt_write_file(tb, "{\"a\": 1}", 8);
    wdt_write_file(tm, "{\"b\": 1}", 8);
    mm.path = m;
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "tokenizer.json of model 1"));
    assert_false(exists(out));
    remove(tb), remove(tm);
    free(tb), free(tm);

    /* bad parameters */
    p.density = 0;
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_INVALID_ARG);
    p.density = 1;
    p.method = WD_MERGE_METHOD_SLERP;
    wd_merge_model two[2] = {{m, 1}, {m, 1}};
    p.models = two;
    p.n_models = 2;
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_INVALID_ARG);
    p.method = WD_MERGE_METHOD_TIES;
    p.base = NULL;
    assert_int_equal(wd_merge(out, &p, NULL), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "needs a base"));
    p.base = b;

    /* the output folder is an input's */
    assert_int_equal(wd_merge(m, &p, NULL), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_last_error(), "the output folder is the folder of the model 1"));

    /* an output under a regular file: nothing is created */
    char *file = path2(dir, "afile"), *under = path2(file, "out");
    wdt_write_file(file, "x", 1);
    assert_int_not_equal(wd_merge(under, &p, NULL), WD_OK);
    assert_false(exists(under));
    assert_int_not_equal(wd_merge(file, &p, NULL), WD_OK); /* a file, not a folder */

    /* a write that fails half way (the file size limit): no partial folder */
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {60, old.rlim_max};
    setrlimit(RLIMIT_FSIZE, &lim);
    wd_status st = wd_merge(out, &p, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(st, WD_ERR_IO);
    assert_false(exists(out));
    /* the same into an existing folder: it stays empty */
    mkdir(out, 0755);
    setrlimit(RLIMIT_FSIZE, &lim);
    signal(SIGXFSZ, SIG_IGN);
    st = wd_merge(out, &p, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(st, WD_ERR_IO);
    assert_int_equal(n_entries(out), 0);
    /* and then it works */
    wd_merge_report r;
    assert_int_equal(wd_merge(out, &p, &r), WD_OK);
    assert_int_equal(r.n_tensors, 2);

    /* resta: a missing input, a bad drop rate */
    wd_resta_params rp = wd_resta_params_default();
    rp.aligned = b;
    rp.unaligned = m;
    assert_int_equal(wd_resta(out, &rp, NULL), WD_ERR_INVALID_ARG);
    rp.finetuned = bad;
    assert_int_equal(wd_resta(out, &rp, NULL), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "finetuned"));
    rp.finetuned = m;
    rp.dare = 1.0;
    assert_int_equal(wd_resta(out, &rp, NULL), WD_ERR_INVALID_ARG);
    free(file), free(under);
    free(b), free(m), free(bad), free(less), free(other), free(out), free(dir);
}

/* ==== the command ========================================================= */

static void test_cli(void **state) {
    char *dir = wdt_tmpdir("merge_cli");
    wdt_gen_params g = wdt_gen_params_default("llama");
    char *a = path2(dir, "a"), *b = path2(dir, "b"), *c = path2(dir, "c");
    g.seed = 1;
    assert_int_equal(wdt_gen_checkpoint(&g, a), WD_OK);
    g.seed = 2;
    g.shards = 2;
    assert_int_equal(wdt_gen_checkpoint(&g, b), WD_OK);
    g.seed = 3;
    assert_int_equal(wdt_gen_checkpoint(&g, c), WD_OK);
    char args[4096], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "merge --method dare-ties --base '%s' --models '%s:0.5,%s:1.5' --density 0.3 --seed 4 "
             "--dtype bf16 --shard-size 20KB --out '%s/o' --json",
             a, b, c, dir);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "dare-ties");
    assert_true(cJSON_GetObjectItem(j, "shards")->valueint > 1);
    double dropped = cJSON_GetObjectItem(j, "dropped_fraction")->valuedouble;
    assert_true(fabs(dropped - 0.7) < 0.02);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "peak_rss_bytes")));
    cJSON_Delete(j);
    free(out), free(err);
    snprintf(args, sizeof args, "%s/o", dir);
    wd_checkpoint *ck;
    assert_int_equal(wd_checkpoint_open(args, &ck), WD_OK);
    assert_int_equal(wd_checkpoint_tensor(ck, 0)->dtype, WD_DTYPE_BF16);
    wd_checkpoint_free(ck);
    /* resta with a missing flag, and with an input that disagrees */
    snprintf(args, sizeof args, "resta --aligned '%s' --unaligned '%s' --out '%s/r'", a, b, dir);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 2);
    free(err);
    g = wdt_gen_params_default("llama");
    g.hidden = 16;
    char *small = path2(dir, "small");
    assert_int_equal(wdt_gen_checkpoint(&g, small), WD_OK);
    snprintf(args, sizeof args, "resta --aligned '%s' --unaligned '%s' --finetuned '%s' --out '%s/r'", a, small,
             c, dir);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "shape"));
    free(err);
    snprintf(args, sizeof args, "%s/r", dir);
    assert_false(exists(args));
    free(a), free(b), free(c), free(small), free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_ties_by_hand),
        cmocka_unit_test(test_trim_and_dare),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
