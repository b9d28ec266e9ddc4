/*
 * tests/unit/test_tokenizer_vectors.c - golden tests against the Hugging
 * Face tokenizers library: ../shared/data/tokenizers/{gpt-2, bert-bge,
 * llama-spm} hold a real tokenizer.json and 46 edge-case strings (test.inp,
 * separated by lines "__ggml_vocab_test__") with the ids HF produced for
 * each with add_special_tokens=False (test.out, one line of ids per input;
 * see each folder's SOURCE.md). Every string must match exactly. Each
 * encoding must also decode back to its input (ByteLevel, byte fallback) or
 * to the normalized input (BERT), and its offsets must be ordered ranges of
 * the input. Skipped with a message when ../shared is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "base/file.h"

typedef struct vec {
    char  **inp;
    size_t *inp_len;
    char  **out; /* lines */
    size_t  n;
} vec;

static void vec_free(vec *v) {
    for (size_t i = 0; i < v->n; i++) {
        free(v->inp[i]);
        free(v->out[i]);
    }
    free(v->inp);
    free(v->inp_len);
    free(v->out);
}

static void load_vec(const char *dir, vec *v) {
    char path[4096];
    char *inp, *out;
    size_t il, ol;
    snprintf(path, sizeof path, "%s/test.inp", dir);
    assert_int_equal(wd__file_read(path, 0, &inp, &il), WD_OK);
    snprintf(path, sizeof path, "%s/test.out", dir);
    assert_int_equal(wd__file_read(path, 0, &out, &ol), WD_OK);
    memset(v, 0, sizeof *v);
    v->inp = calloc(64, sizeof(char *));
    v->inp_len = calloc(64, sizeof(size_t));
    v->out = calloc(64, sizeof(char *));
    const char *sep = "\n__ggml_vocab_test__\n";
    const char *p = inp;
    while (p < inp + il) {
        const char *q = strstr(p, sep);
        assert_non_null(q);
        assert_true(v->n < 64);
        v->inp[v->n] = strndup(p, (size_t)(q - p));
        v->inp_len[v->n] = (size_t)(q - p);
        v->n++;
        p = q + strlen(sep);
    }
    const char *l = out;
    for (size_t i = 0; i < v->n; i++) {
        const char *e = strchr(l, '\n');
        assert_non_null(e);
        v->out[i] = strndup(l, (size_t)(e - l));
        l = e + 1;
    }
    free(inp);
    free(out);
}

/* Parses " 1 2 3" into ids; returns the count. */
static size_t parse_ids(const char *line, int32_t *ids, size_t cap) {
    size_t n = 0;
    char *end;
    for (const char *p = line; *p;) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        assert_true(n < cap);
        ids[n++] = (int32_t)v;
        p = end;
    }
    return n;
}

static void run_vectors(const char *name, bool roundtrip, size_t *n_checked) {
    char rel[256];
    snprintf(rel, sizeof rel, "data/tokenizers/%s", name);
    char *dir = wdt_shared(rel);
    WDT_SKIP_IF_NULL(dir, rel);
    wd_tokenizer *tok;
    wd_status st = wd_tokenizer_load(dir, &tok);
    if (st) fail_msg("load %s: %s", dir, wd_last_error());
    vec v;
    load_vec(dir, &v);
    assert_int_equal(v.n, 46);
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    int bad = 0;
    for (size_t i = 0; i < v.n; i++) {
        static int32_t want[4096];
        size_t nw = parse_ids(v.out[i], want, 4096);
        wd_encoding *e;
        st = wd_tokenizer_encode(tok, v.inp[i], v.inp_len[i], &ep, &e);
        if (st) fail_msg("%s: encode #%zu: %s", name, i, wd_last_error());
        size_t n = wd_encoding_len(e);
        const int32_t *ids = wd_encoding_ids(e);
        bool same = n == nw;
        for (size_t k = 0; same && k < n; k++) same = ids[k] == want[k];
        if (!same) {
            bad++;
            print_message("%s #%zu: input '%s'\n  want:%s\n  got: ", name, i, v.inp[i], v.out[i]);
            for (size_t k = 0; k < n; k++) print_message(" %d", ids[k]);
            print_message("\n");
        }
        /* offsets: within the text, ordered */
        const wd_offset *off = wd_encoding_offsets(e);
        for (size_t k = 0; k < n; k++) {
            assert_true(off[k].start <= off[k].end);
            assert_true(off[k].end <= v.inp_len[i]);
            if (k) assert_true(off[k].start >= off[k - 1].start);
        }
        if (roundtrip && same) {
            char *text;
            size_t tl;
            assert_int_equal(wd_tokenizer_decode(tok, ids, n, NULL, &text, &tl), WD_OK);
            if (tl != v.inp_len[i] || memcmp(text, v.inp[i], tl)) {
                bad++;
                print_message("%s #%zu: decode gave '%s', want '%s'\n", name, i, text, v.inp[i]);
            }
            free(text);
        }
        wd_encoding_free(e);
    }
    *n_checked = v.n;
    vec_free(&v);
    wd_tokenizer_free(tok);
    free(dir);
    if (bad) fail_msg("%s: %d of 46 vectors differ", name, bad);
}

static void test_gpt2(void **state) {
    size_t n = 0;
    run_vectors("gpt-2", true, &n);
    print_message("gpt-2: %zu vectors match\n", n);
}

static void test_llama_spm(void **state) {
    size_t n = 0;
    run_vectors("llama-spm", true, &n);
    print_message("llama-spm: %zu vectors match\n", n);
}

static void test_bert_bge(void **state) {
    size_t n = 0;
    run_vectors("bert-bge", false, &n);
    print_message("bert-bge: %zu vectors match\n", n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2),
        cmocka_unit_test(test_llama_spm),
        cmocka_unit_test(test_bert_bge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
