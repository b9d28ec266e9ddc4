/*
 * tests/unit/test_tokenizer_precompiled.c - the `Precompiled` normalizer
 * (text/precompiled.c): SentencePiece's compiled charsmap in an
 * XLM-RoBERTa-shaped tokenizer.json (Precompiled + Replace, Metaspace,
 * Unigram, <s> $A </s>).
 *
 * tokenizers/unigram-precompiled/ was written by
 * tests/tools/gen_precompiled_fixture.py: its charsmap was compiled by
 * SentencePiece's trainer from a small rule table, and expected.json holds
 * the ids SentencePiece itself gives (the independent reference) --
 * fullwidth forms, ligatures, circled digits, spaces, removed zero-width
 * characters, a two-code-point key (e + combining acute), an unknown
 * emoji. One case records where tokenizers, whose semantics warden
 * follows, departs from SentencePiece (a grapheme replaced whole).
 * Corrupt charsmaps are refused with the field named, and a charsmap whose
 * trie points anywhere is read within bounds (the sanitizer build checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void test_against_sentencepiece(void **s) {
    (void)s;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizers/unigram-precompiled", WD_TEST_FIXTURES);
    wd_tokenizer *t = NULL;
    if (wd_tokenizer_load(path, &t)) fail_msg("load %s: %s", path, wd_last_error());
    snprintf(path, sizeof path, "%s/tokenizers/unigram-precompiled/expected.json", WD_TEST_FIXTURES);
    char *text = read_all(path);
    cJSON *ex = cJSON_Parse(text);
    free(text);
    assert_non_null(ex);
    size_t n_cases = 0;
    for (const cJSON *c = cJSON_GetObjectItem(ex, "cases")->child; c; c = c->next, n_cases++) {
        const char *in = cJSON_GetObjectItem(c, "text")->valuestring;
        const cJSON *want = cJSON_GetObjectItem(c, "ids");
        wd_encode_params p = wd_encode_params_default();
        p.add_special_tokens = true;
        wd_encoding *e = NULL;
        assert_int_equal(wd_tokenizer_encode(t, in, strlen(in), &p, &e), WD_OK);
        size_t n = wd_encoding_len(e), k = 0;
        const int32_t *ids = wd_encoding_ids(e);
        bool same = n == (size_t)cJSON_GetArraySize(want);
        for (const cJSON *w = want->child; same && w; w = w->next, k++) same = ids[k] == w->valueint;
        if (!same) {
            print_message("'%s': got", in);
            for (k = 0; k < n; k++) print_message(" %d", ids[k]);
            print_message("\n");
            fail_msg("ids differ from SentencePiece's");
        }
        wd_encoding_free(e);
    }
    assert_true(n_cases >= 10);
    /* offsets point into the original text: "ｈｅｌｌｏ" is 3 bytes a letter,
     * its first token "▁hel" covers the first three letters */
    const char *full = "\xef\xbd\x88\xef\xbd\x85\xef\xbd\x8c\xef\xbd\x8c\xef\xbd\x8f";
    wd_encoding *e = NULL;
    wd_encode_params p = wd_encode_params_default();
    p.add_special_tokens = false;
    assert_int_equal(wd_tokenizer_encode(t, full, strlen(full), &p, &e), WD_OK);
    assert_true(wd_encoding_len(e) >= 2);
    const wd_offset *o = wd_encoding_offsets(e);
    assert_int_equal(o[0].start, 0);
    assert_int_equal(o[0].end, 9);
    assert_int_equal(o[wd_encoding_len(e) - 1].end, strlen(full));
    wd_encoding_free(e);
    cJSON_Delete(ex);
    wd_tokenizer_free(t);
}

/* A Unigram tokenizer.json around one Precompiled normalizer. */
static wd_status load_with(const char *charsmap, wd_tokenizer **t) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"%s\"},"
             "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\","
             "\"prepend_scheme\":\"always\",\"split\":true},"
             "\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0],"
             "[\"\\u2581\",-1],[\"a\",-2],[\"b\",-2]]}}",
             charsmap);
    *t = NULL;
    return wd_tokenizer_load_json(json, strlen(json), NULL, 0, "test.json", t);
}

/* DeBERTa-v3's converter writes Strip, Precompiled, Replace and wraps
 * Metaspace in a pre-tokenizer Sequence: the same charsmap there gives the
 * same ids. */
static void test_deberta_v3_layout(void **s) {
    (void)s;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizers/unigram-precompiled/tokenizer.json", WD_TEST_FIXTURES);
    char *text = read_all(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    cJSON *seq = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "normalizer"), "normalizers");
    cJSON *strip = cJSON_CreateObject();
    cJSON_AddStringToObject(strip, "type", "Strip");
    cJSON_AddBoolToObject(strip, "strip_left", true);
    cJSON_AddBoolToObject(strip, "strip_right", true);
    cJSON_InsertItemInArray(seq, 0, strip);
    cJSON *meta = cJSON_DetachItemFromObject(j, "pre_tokenizer");
    cJSON *pre = cJSON_AddObjectToObject(j, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(pre, "pretokenizers"), meta);
    char *json = cJSON_PrintUnformatted(j);
    wd_tokenizer *t = NULL;
    if (wd_tokenizer_load_json(json, strlen(json), NULL, 0, "deberta-v3.json", &t))
        fail_msg("load: %s", wd_last_error());
    wd_encoding *e = NULL;
    const char *in = "  \xef\xbd\x88\xef\xbd\x85llo world ";
    assert_int_equal(wd_tokenizer_encode(t, in, strlen(in), NULL, &e), WD_OK);
    const int32_t want_pieces = 4; /* <s> ▁hel lo ▁wor ld </s>, as "hello world" */
    assert_int_equal(wd_encoding_len(e), (size_t)want_pieces + 2);
    wd_encoding *e2 = NULL;
    assert_int_equal(wd_tokenizer_encode(t, "hello world", 11, NULL, &e2), WD_OK);
    assert_memory_equal(wd_encoding_ids(e), wd_encoding_ids(e2), 6 * sizeof(int32_t));
    wd_encoding_free(e);
    wd_encoding_free(e2);
    wd_tokenizer_free(t);
    free(json);
    cJSON_Delete(j);
}

static void test_corrupt_charsmaps(void **s) {
    (void)s;
    wd_tokenizer *t = NULL;
    /* not base64; too short for its size; a trie past the end; a size not
     * a multiple of 4 */
    const char *bad[] = {"@@@@", "AAA=", "/////w==", "AgAAAAAAAAA="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(load_with(bad[i], &t), WD_OK);
        assert_null(t);
        assert_non_null(strstr(wd_last_error(), "precompiled_charsmap"));
    }
    /* no rules: the identity */
    assert_int_equal(load_with("", &t), WD_OK);
    wd_encoding *e = NULL;
    assert_int_equal(wd_tokenizer_encode(t, "ab", 2, NULL, &e), WD_OK);
    assert_int_equal(wd_encoding_len(e), 3);
    wd_encoding_free(e);
    wd_tokenizer_free(t);
    /* tries whose units point anywhere: every text normalizes, in bounds */
    uint64_t seed = 19;
    for (int k = 0; k < 50; k++) {
        unsigned char raw[4 + 64 + 16];
        uint32_t tsize = 4 * (uint32_t)(wdt_rand(&seed) % 17);
        for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)wdt_rand(&seed);
        raw[0] = (unsigned char)tsize, raw[1] = raw[2] = raw[3] = 0;
        size_t n = 4 + tsize + (size_t)(wdt_rand(&seed) % 16);
        for (size_t i = 4 + tsize; i < n; i++) raw[i] = (unsigned char)('a' + raw[i] % 3) * (raw[i] % 4 != 0);
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char b64[200];
        size_t m = 0;
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
                         (i + 2 < n ? raw[i + 2] : 0);
            b64[m++] = tbl[v >> 18 & 63];
            b64[m++] = tbl[v >> 12 & 63];
            b64[m++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
            b64[m++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        b64[m] = '\0';
        if (load_with(b64, &t)) continue;
        const char *texts[] = {"ab ba", "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x98\x80 a\xcc\x81"};
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(wd_tokenizer_encode(t, texts[i], strlen(texts[i]), NULL, &e), WD_OK);
            wd_encoding_free(e);
        }
        wd_tokenizer_free(t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_sentencepiece),
        cmocka_unit_test(test_deberta_v3_layout),
        cmocka_unit_test(test_corrupt_charsmaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
