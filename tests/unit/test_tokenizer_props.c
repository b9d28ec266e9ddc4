/*
 * tests/unit/test_tokenizer_props.c - properties that must hold for every
 * input, checked on seeded random inputs:
 *
 *   - round trip: decode(encode(x)) == x for byte-level BPE and for BPE with
 *     byte fallback, on 10,000 random Unicode strings per tokenizer (the
 *     fixtures always; gpt-2 and llama-spm from ../shared when present).
 *     The alphabet leaves out what the tokenizers transform by design: the
 *     first characters of the fixtures' added tokens ('<', '[', 'w': an
 *     added token with rstrip eats the spaces after it) and, for the
 *     SentencePiece-style models, U+2581 (which decodes to a space);
 *   - the stream decoder's pieces concatenate to the whole decode, and never
 *     end inside a UTF-8 character;
 *   - invalid UTF-8 is refused with WD_ERR_ENCODING naming the byte, and
 *     random bytes never crash;
 *   - the heap-based BPE merge equals the O(n^2) textbook loop;
 *   - long inputs (1 MB of text, 100k spaces, a 200k-character word);
 *   - encoding one tokenizer from 4 threads at once gives the ids of a
 *     single-threaded run (each thread has its own scratch).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "text/tok_internal.h"

static wd_tokenizer *load_fixture(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizers/%s", WD_TEST_FIXTURES, name);
    wd_tokenizer *t;
    if (wd_tokenizer_load(path, &t)) fail_msg("%s", wd_last_error());
    return t;
}

static wd_tokenizer *load_shared(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "data/tokenizers/%s", name);
    char *dir = wdt_shared(rel);
    if (!dir) {
        print_message("SKIP: %s not found (../shared absent)\n", rel);
        return NULL;
    }
    wd_tokenizer *t;
    if (wd_tokenizer_load(dir, &t)) fail_msg("%s", wd_last_error());
    free(dir);
    return t;
}

/* A random code point from a mix of scripts; never a surrogate. */
static uint32_t rand_cp(uint64_t *seed, bool spm) {
    for (;;) {
        uint64_t r = wdt_rand(seed);
        uint32_t cp;
        switch (r % 10) {
        case 0: case 1: case 2: cp = 0x20 + (uint32_t)((r >> 8) % 95); break; /* ASCII */
        case 3: {
            static const uint32_t ws[] = {' ', ' ', '\t', '\n', '\r', 0xA0, 0x3000, 0x2028};
            cp = ws[(r >> 8) % 8];
            break;
        }
        case 4: cp = 0xA0 + (uint32_t)((r >> 8) % 0x60); break;             /* Latin-1 */
        case 5: cp = 0x300 + (uint32_t)((r >> 8) % 0x70); break;            /* combining marks */
        case 6: cp = 0x100 + (uint32_t)((r >> 8) % (0xD800 - 0x100)); break; /* BMP */
        case 7: cp = 0x4E00 + (uint32_t)((r >> 8) % 0x5000); break;         /* CJK */
        case 8: cp = 0x1F300 + (uint32_t)((r >> 8) % 0x800); break;         /* emoji */
        default: cp = 0x10000 + (uint32_t)((r >> 8) % 0x100000); break;     /* astral */
        }
        if (cp == '<' || cp == '[' || cp == 'w') continue;
        if (spm && cp == 0x2581) continue;
        return cp;
    }
}

static size_t rand_text(uint64_t *seed, bool spm, char *buf) {
    size_t n = (size_t)(wdt_rand(seed) % 33), o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)wd__utf8_put(rand_cp(seed, spm), buf + o);
    buf[o] = 0;
    return o;
}

/* decode(encode(x)) == x, and the stream agrees, for 10,000 strings. */
static void roundtrip(const wd_tokenizer *t, const char *name, bool spm, uint64_t seed) {
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    char text[33 * 4 + 1];
    int bad = 0;
    for (int it = 0; it < 10000; it++) {
        size_t len = rand_text(&seed, spm, text);
        wd_encoding *e;
        if (wd_tokenizer_encode(t, text, len, &ep, &e)) fail_msg("%s: encode: %s", name, wd_last_error());
        char *back;
        size_t bl;
        assert_int_equal(wd_tokenizer_decode(t, wd_encoding_ids(e), wd_encoding_len(e), NULL, &back, &bl), WD_OK);
        if (bl != len || memcmp(back, text, len)) {
            if (bad++ < 5) print_message("%s: '%s' came back as '%s'\n", name, text, back);
        }
        /* stream: pieces join to the same text, each piece whole UTF-8 */
        wd_tokenizer_stream *s;
        assert_int_equal(wd_tokenizer_stream_new(t, NULL, &s), WD_OK);
        char joined[sizeof text * 2];
        size_t jn = 0;
        for (size_t k = 0; k < wd_encoding_len(e); k++) {
            const char *piece;
            size_t pn;
            assert_int_equal(wd_tokenizer_stream_push(s, wd_encoding_ids(e)[k], &piece, &pn), WD_OK);
            assert_int_equal(wd__utf8_valid_prefix(piece, pn), pn);
            assert_true(jn + pn < sizeof joined);
            memcpy(joined + jn, piece, pn);
            jn += pn;
        }
        const char *piece;
        size_t pn;
        assert_int_equal(wd_tokenizer_stream_flush(s, &piece, &pn), WD_OK);
        memcpy(joined + jn, piece, pn);
        jn += pn;
        if (jn != bl || memcmp(joined, back, bl)) {
            if (bad++ < 5) print_message("%s: stream gave '%.*s', decode '%s'\n", name, (int)jn, joined, back);
        }
        wd_tokenizer_stream_free(s);
        free(back);
        wd_encoding_free(e);
    }
    if (bad) fail_msg("%s: %d of 10000 round trips failed", name, bad);
    print_message("%s: 10000 random strings round-trip\n", name);
}

static void test_roundtrip_fixtures(void **state) {
    wd_tokenizer *t = load_fixture("bpe-bytelevel");
    roundtrip(t, "bpe-bytelevel", false, 1);
    wd_tokenizer_free(t);
    t = load_fixture("bpe-spm");
    roundtrip(t, "bpe-spm", true, 2);
    wd_tokenizer_free(t);
}

static void test_roundtrip_shared(void **state) {
    wd_tokenizer *t = load_shared("gpt-2");
    if (!t) skip();
    roundtrip(t, "gpt-2", false, 3);
    wd_tokenizer_free(t);
    t = load_shared("llama-spm");
    if (!t) skip();
    roundtrip(t, "llama-spm", true, 4);
    wd_tokenizer_free(t);
}

static void test_stream_holds_partial_chars(void **state) {
    /* bpe-spm: "🦙" -> ▁ + 4 byte tokens; nothing comes out until the 4th */
    wd_tokenizer *t = load_fixture("bpe-spm");
    const int32_t ids[] = {259, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99, 260};
    /* the whole decode is "🦙a": ▁ -> " " is stripped as the leading space */
    const char *want[] = {"", "", "", "", "\xF0\x9F\xA6\x99", "a"};
    wd_tokenizer_stream *s;
    assert_int_equal(wd_tokenizer_stream_new(t, NULL, &s), WD_OK);
    for (int k = 0; k < 6; k++) {
        const char *piece;
        size_t n;
        assert_int_equal(wd_tokenizer_stream_push(s, ids[k], &piece, &n), WD_OK);
        if (strcmp(piece, want[k])) fail_msg("push %d: got '%s', want '%s'", k, piece, want[k]);
    }
    /* an unfinished character is released as U+FFFD by flush */
    const char *piece;
    size_t n;
    assert_int_equal(wd_tokenizer_stream_push(s, 3 + 0xE2, &piece, &n), WD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(wd_tokenizer_stream_flush(s, &piece, &n), WD_OK);
    assert_string_equal(piece, "\xEF\xBF\xBD");
    assert_int_equal(wd_tokenizer_stream_push(s, 99999, &piece, &n), WD_ERR_RANGE);
    wd_tokenizer_stream_free(s);
    wd_tokenizer_stream_free(NULL);
    wd_tokenizer_free(t);
}

static void test_invalid_utf8(void **state) {
    wd_tokenizer *t = load_fixture("bpe-bytelevel");
    static const struct { const char *s; size_t n, at; } bad[] = {
        {"ab\x80", 3, 2},            /* lone continuation byte */
        {"a\xC3", 2, 1},             /* truncated */
        {"\xC0\xAF", 2, 0},          /* overlong '/' */
        {"x\xED\xA0\x80", 4, 1},     /* surrogate U+D800 */
        {"\xF4\x90\x80\x80", 4, 0},  /* above U+10FFFF */
        {"ok\xFF", 3, 2},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        wd_encoding *e = (wd_encoding *)1;
        assert_int_equal(wd_tokenizer_encode(t, bad[k].s, bad[k].n, NULL, &e), WD_ERR_ENCODING);
        assert_null(e);
        char want[64];
        snprintf(want, sizeof want, "invalid UTF-8 at byte %zu", bad[k].at);
        if (!strstr(wd_last_error(), want)) fail_msg("'%s' lacks '%s'", wd_last_error(), want);
    }
    /* random bytes: a result or a clean error, nothing else */
    uint64_t seed = 7;
    unsigned char buf[64];
    int ok = 0, err = 0;
    for (int it = 0; it < 10000; it++) {
        size_t n = (size_t)(wdt_rand(&seed) % 64);
        for (size_t k = 0; k < n; k++) buf[k] = (unsigned char)(wdt_rand(&seed) >> 24);
        wd_encoding *e;
        wd_status st = wd_tokenizer_encode(t, (const char *)buf, n, NULL, &e);
        assert_true(st == WD_OK || st == WD_ERR_ENCODING);
        if (st == WD_OK) ok++;
        else err++;
        wd_encoding_free(e);
    }
    assert_true(err > 0);
    /* embedded NUL is a valid character */
    wd_encoding *e;
    assert_int_equal(wd_tokenizer_encode(t, "a\0b", 3, NULL, &e), WD_OK);
    assert_int_equal(wd_encoding_len(e), 3);
    wd_encoding_free(e);
    wd_tokenizer_free(t);
}

/* Fast (heap) and naive (O(n^2)) BPE give the same tokens on words. */
static void compare_bpe(const wd_tokenizer *t, const char *name, const char *alphabet[], size_t n_alpha,
                        uint64_t seed, size_t max_len) {
    wd__scratch sc = {0};
    wd__mtoks a = {0}, b = {0};
    char word[8192];
    for (int it = 0; it < 3000; it++) {
        size_t n = 1 + (size_t)(wdt_rand(&seed) % max_len), o = 0;
        for (size_t k = 0; k < n && o + 8 < sizeof word; k++) {
            const char *c = alphabet[wdt_rand(&seed) % n_alpha];
            memcpy(word + o, c, strlen(c));
            o += strlen(c);
        }
        a.n = b.n = 0;
        assert_int_equal(wd__bpe_tokenize(&t->model, word, o, &a, &sc), WD_OK);
        assert_int_equal(wd__bpe_tokenize_naive(&t->model, word, o, &b), WD_OK);
        bool same = a.n == b.n;
        for (size_t k = 0; same && k < a.n; k++)
            same = a.v[k].id == b.v[k].id && a.v[k].start == b.v[k].start && a.v[k].end == b.v[k].end;
        if (!same) fail_msg("%s: fast and naive BPE differ on '%.*s'", name, (int)o, word);
    }
    free(a.v);
    free(b.v);
    wd__scratch_free(&sc);
}

static void test_bpe_fast_equals_naive(void **state) {
    const char *latin[] = {"a", "b", "e", "h", "l", "o", "t", "w", "r", "s", "n", "i", "\xC4\xA0" /* Ġ */};
    wd_tokenizer *t = load_fixture("bpe-bytelevel");
    compare_bpe(t, "bpe-bytelevel", latin, 13, 11, 40);
    wd_tokenizer_free(t);
    const char *spm[] = {"\xE2\x96\x81", "a", "b", "\xC3\xA9", "c"};
    t = load_fixture("bpe-spm");
    compare_bpe(t, "bpe-spm", spm, 5, 12, 40);
    wd_tokenizer_free(t);
    t = load_shared("gpt-2");
    if (t) {
        compare_bpe(t, "gpt-2", latin, 13, 13, 60);
        wd_tokenizer_free(t);
    }
    const char *llama[] = {"\xE2\x96\x81", "a", "e", "i", "n", "o", "r", "s", "t", "h", "l", "\xC3\xA9",
                           "\xE4\xBD\xA0", "\xF0\x9F\xA6\x99"};
    t = load_shared("llama-spm");
    if (t) {
        compare_bpe(t, "llama-spm", llama, 14, 14, 400);
        wd_tokenizer_free(t);
    }
}

/* English-like text: words from a small list, punctuation, newlines. */
static char *english(size_t bytes, uint64_t seed) {
    static const char *w[] = {"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with",
                              "be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
                              "tokenizer", "safety", "model", "language", "guard", "weather", "2024", "I'm"};
    char *s = malloc(bytes + 64);
    size_t o = 0;
    while (o < bytes) {
        const char *x = w[wdt_rand(&seed) % 32];
        size_t n = strlen(x);
        memcpy(s + o, x, n);
        o += n;
        uint64_t r = wdt_rand(&seed) % 20;
        s[o++] = r == 0 ? '.' : r == 1 ? ',' : ' ';
        if (r == 0) s[o++] = r % 2 ? '\n' : ' ';
    }
    s[o] = 0;
    return s;
}

static void long_roundtrip(const wd_tokenizer *t, const char *name, const char *text, size_t len) {
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_encoding *e;
    if (wd_tokenizer_encode(t, text, len, &ep, &e)) fail_msg("%s: %s", name, wd_last_error());
    char *back;
    size_t bl;
    assert_int_equal(wd_tokenizer_decode(t, wd_encoding_ids(e), wd_encoding_len(e), NULL, &back, &bl), WD_OK);
    if (bl != len || memcmp(back, text, len)) fail_msg("%s: %zu-byte text does not round-trip", name, len);
    const wd_offset *o = wd_encoding_offsets(e);
    for (size_t k = 0; k < wd_encoding_len(e); k++) assert_true(o[k].end <= len && o[k].start <= o[k].end);
    free(back);
    wd_encoding_free(e);
}

static void test_long_inputs(void **state) {
    char *text = english(1 << 20, 5);
    size_t len = strlen(text);
    char *spaces = malloc(100001);
    memset(spaces, ' ', 100000);
    spaces[100000] = 0;
    char *word = malloc(200001);
    memset(word, 'a', 200000);
    word[200000] = 0;

    wd_tokenizer *t = load_fixture("bpe-spm");
    /* "a" x 100000 -> "▁aaaa...": (▁,a) merges first, then no pair of the
     * rest has a merge: [▁a] + [a] x 99999 */
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = false;
    wd_encoding *e;
    assert_int_equal(wd_tokenizer_encode(t, word, 100000, &ep, &e), WD_OK);
    assert_int_equal(wd_encoding_len(e), 100000);
    assert_int_equal(wd_encoding_ids(e)[0], 262);
    assert_int_equal(wd_encoding_ids(e)[99999], 260);
    wd_encoding_free(e);
    long_roundtrip(t, "bpe-spm", text, len);
    wd_tokenizer_free(t);

    const char *shared[] = {"gpt-2", "llama-spm"};
    for (int k = 0; k < 2; k++) {
        t = load_shared(shared[k]);
        if (!t) continue;
        long_roundtrip(t, shared[k], text, len);
        long_roundtrip(t, shared[k], spaces, 100000);
        long_roundtrip(t, shared[k], word, 200000);
        wd_tokenizer_free(t);
    }
    t = load_shared("bert-bge");
    if (t) {
        /* BERT: 100k spaces -> nothing; a 200k-char word is one [UNK] */
        assert_int_equal(wd_tokenizer_encode(t, spaces, 100000, &ep, &e), WD_OK);
        assert_int_equal(wd_encoding_len(e), 0);
        wd_encoding_free(e);
        assert_int_equal(wd_tokenizer_encode(t, word, 200000, &ep, &e), WD_OK);
        assert_int_equal(wd_encoding_len(e), 1);
        assert_int_equal(wd_encoding_ids(e)[0], 100);
        wd_encoding_free(e);
        assert_int_equal(wd_tokenizer_encode(t, text, len, &ep, &e), WD_OK);
        assert_true(wd_encoding_len(e) > 100000);
        wd_encoding_free(e);
        wd_tokenizer_free(t);
    }
    free(text);
    free(spaces);
    free(word);
}

typedef struct mt_job {
    const wd_tokenizer *t;
    char  **texts;
    int32_t **ids;
    size_t *n_ids;
    size_t  n, offset;
    int     bad;
} mt_job;

static void *mt_worker(void *arg) {
    mt_job *j = arg;
    for (int round = 0; round < 3; round++)
        for (size_t k = 0; k < j->n; k++) {
            size_t i = (k + j->offset) % j->n;
            wd_encoding *e;
            if (wd_tokenizer_encode(j->t, j->texts[i], strlen(j->texts[i]), NULL, &e)) {
                j->bad++;
                continue;
            }
            if (wd_encoding_len(e) != j->n_ids[i] ||
                (j->n_ids[i] && memcmp(wd_encoding_ids(e), j->ids[i], j->n_ids[i] * sizeof(int32_t))))
                j->bad++;
            wd_encoding_free(e);
        }
    return NULL;
}

static void test_threads(void **state) {
    wd_tokenizer *t = load_fixture("bpe-bytelevel");
    enum { N = 400 };
    char *texts[N];
    int32_t *ids[N];
    size_t n_ids[N];
    uint64_t seed = 21;
    for (int i = 0; i < N; i++) {
        char buf[33 * 4 + 1];
        /* some short, some long (the long ones grow the scratch) */
        size_t len = rand_text(&seed, false, buf);
        size_t reps = (i % 50 == 0) ? 2000 : 1;
        texts[i] = malloc(len * reps + 1);
        for (size_t r = 0; r < reps; r++) memcpy(texts[i] + r * len, buf, len);
        texts[i][len * reps] = 0;
        wd_encoding *e;
        assert_int_equal(wd_tokenizer_encode(t, texts[i], strlen(texts[i]), NULL, &e), WD_OK);
        n_ids[i] = wd_encoding_len(e);
        ids[i] = malloc((n_ids[i] + 1) * sizeof(int32_t));
        if (n_ids[i]) memcpy(ids[i], wd_encoding_ids(e), n_ids[i] * sizeof(int32_t));
        wd_encoding_free(e);
    }
    pthread_t th[4];
    mt_job jobs[4];
    for (int k = 0; k < 4; k++) {
        jobs[k] = (mt_job){t, texts, ids, n_ids, N, (size_t)k * 97, 0};
        assert_int_equal(pthread_create(&th[k], NULL, mt_worker, &jobs[k]), 0);
    }
    int bad = 0;
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        bad += jobs[k].bad;
    }
    assert_int_equal(bad, 0);
    for (int i = 0; i < N; i++) {
        free(texts[i]);
        free(ids[i]);
    }
    wd_tokenizer_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_fixtures),
        cmocka_unit_test(test_roundtrip_shared),
        cmocka_unit_test(test_stream_holds_partial_chars),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_bpe_fast_equals_naive),
        cmocka_unit_test(test_long_inputs),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
