/*
 * tests/unit/test_canonical.c - the shared normaliser: each step on hand-made
 * inputs whose normal form is known, the offset map (exact, and as a
 * property under random invisible insertions), bad input.
 */
#include <stdlib.h>
#include <string.h>

#include "guard/canonical.h"
#include "testutil.h"

static void expect(const char *in, unsigned flags, const char *want) {
    wd__canon n;
    wd_status st = wd__canonicalize(in, strlen(in), flags, &n);
    assert_int_equal(st, WD_OK);
    if (strcmp(n.text, want)) print_message("normalize(\"%s\") = \"%s\", want \"%s\"\n", in, n.text, want);
    assert_string_equal(n.text, want);
    assert_int_equal(n.len, strlen(want));
    assert_int_equal(n.map[n.len], strlen(in));
    for (size_t i = 1; i <= n.len; i++) assert_true(n.map[i - 1] <= n.map[i]);
    wd__canon_free(&n);
}

static void test_ascii(void **state) {
    expect("", WD_CANON_DEFAULT, "");
    expect("Hello, World!", WD_CANON_DEFAULT, "hello, world!");
    expect("Hello", 0, "Hello");
    expect("What shutter speed to shoot birds in flight?", WD_CANON_DEFAULT,
           "what shutter speed to shoot birds in flight?");
}

static void test_invisible(void **state) {
    expect("bo\xe2\x80\x8bmb", WD_CANON_DEFAULT, "bomb");             /* ZWSP */
    expect("b\xe2\x80\x8do\xe2\x80\x8cmb", WD_CANON_DEFAULT, "bomb"); /* ZWJ, ZWNJ */
    expect("bo\xc2\xadmb", WD_CANON_DEFAULT, "bomb");                 /* soft hyphen */
    expect("\xe2\x80\xae" "bomb\xe2\x80\xac", WD_CANON_DEFAULT, "bomb"); /* RLO, PDF */
    expect("bomb\xf3\xa0\x81\x81\xf3\xa0\x81\x82", WD_CANON_DEFAULT, "bomb"); /* tags */
    expect("\xef\xbb\xbf" "bomb", WD_CANON_DEFAULT, "bomb");          /* BOM */
    expect("a\tb\nc", WD_CANON_DEFAULT, "a\tb\nc");
    expect("bo\xe2\x80\x8bmb", WD_CANON_CASEFOLD, "bo\xe2\x80\x8bmb"); /* step off */
}

static void test_nfkc_casefold(void **state) {
    expect("\xef\xbc\xa2\xef\xbc\xaf\xef\xbc\xad\xef\xbc\xa2", WD_CANON_DEFAULT, "bomb"); /* fullwidth BOMB */
    expect("\xf0\x9d\x90\x9b\xf0\x9d\x90\xa8\xf0\x9d\x90\xa6\xf0\x9d\x90\x9b", WD_CANON_DEFAULT,
           "bomb"); /* math bold */
    expect("\xe2\x93\x91\xe2\x93\x9e\xe2\x93\x9c\xe2\x93\x91", WD_CANON_DEFAULT, "bomb"); /* circled */
    expect("Stra\xc3\x9f" "e", WD_CANON_NFKC | WD_CANON_CASEFOLD, "strasse");
    expect("\xef\xac\x81le", WD_CANON_NFKC, "file"); /* fi ligature */
    /* e + combining acute composes under NFKC (and is dropped with confusables) */
    expect("cafe\xcc\x81", WD_CANON_NFKC, "caf\xc3\xa9");
    expect("cafe\xcc\x81", WD_CANON_DEFAULT, "cafe");
    expect("caf\xc3\xa9", WD_CANON_DEFAULT, "cafe");
    expect("\xc3\x89T\xc3\x89", WD_CANON_NFKC | WD_CANON_CASEFOLD, "\xc3\xa9t\xc3\xa9");
    /* Hangul syllables survive (decomposed and recomposed) */
    expect("\xed\x95\x9c\xea\xb5\xad", WD_CANON_DEFAULT, "\xed\x95\x9c\xea\xb5\xad");
    /* CJK untouched */
    expect("\xe7\x88\x86\xe5\xbc\xb9", WD_CANON_DEFAULT, "\xe7\x88\x86\xe5\xbc\xb9");
}

static void test_confusables(void **state) {
    expect("b\xd0\xbemb", WD_CANON_DEFAULT, "bomb");                       /* Cyrillic o */
    expect("\xd0\x92\xd0\x9e\xd0\x9c\xd0\x92", WD_CANON_DEFAULT, "bomb");  /* Cyrillic BOMB */
    expect("\xce\x97\xce\xbf\xcf\x89", WD_CANON_DEFAULT, "how");          /* Greek Eta, omicron, omega */
    expect("\xd1\x80\xd0\xbe\xd1\x96s\xd0\xbe\xd0\xbf", WD_CANON_DEFAULT, "poison"); /* mixed */
    expect("b\xcc\xb6o\xcc\xb6m\xcc\xb6" "b\xcc\xb6", WD_CANON_DEFAULT, "bomb"); /* strike-through */
    expect("\xf0\x9f\x85\xb1omb", WD_CANON_DEFAULT, "bomb");             /* negative squared B */
    expect("\xe1\xb4\x8b\xc9\xaa\xca\x9f\xca\x9f", WD_CANON_DEFAULT, "kill"); /* small capitals */
    /* genuine Russian stays Cyrillic when the step is off */
    expect("\xd0\xbc\xd0\xb8\xd1\x80", WD_CANON_NFKC | WD_CANON_CASEFOLD, "\xd0\xbc\xd0\xb8\xd1\x80");
}

static void test_leet(void **state) {
    expect("b0mb", WD_CANON_DEFAULT, "bomb");
    expect("h0w t0 m4k3 4 b0mb", WD_CANON_DEFAULT, "how to make 4 bomb");
    expect("t0 m3", WD_CANON_DEFAULT, "t0 m3");
    expect("3xpl0s1v3s", WD_CANON_DEFAULT, "explosives");
    expect("p@$$w0rd", WD_CANON_DEFAULT, "password");
    expect("k!ll", WD_CANON_DEFAULT, "kill");
    expect("in 2024 it cost $5", WD_CANON_DEFAULT, "in 2024 it cost $5");
    expect("mp3 python3 covid19 4chan x86 3d", WD_CANON_DEFAULT, "mp3 python3 covid19 4chan x86 3d");
    expect("b0mb", WD_CANON_DEFAULT & ~WD_CANON_LEET, "b0mb");
}

static void test_join_split(void **state) {
    expect("b.o.m.b", WD_CANON_DEFAULT, "bomb");
    expect("b o m b", WD_CANON_DEFAULT, "bomb");
    expect("b-o-m-b", WD_CANON_DEFAULT, "bomb");
    expect("make a b o m b now", WD_CANON_DEFAULT, "make a bomb now");
    expect("b . o . m . b", WD_CANON_DEFAULT, "bomb");
    expect("b.0.m.b", WD_CANON_DEFAULT, "bomb");
    expect("ex.plo.sive", WD_CANON_DEFAULT, "explosive");
    expect("ex*plo*sive", WD_CANON_DEFAULT, "explosive");
    expect("sa_rin and node.js", WD_CANON_DEFAULT, "sarin and node.js");
    expect("The U.S.A. is big", WD_CANON_DEFAULT, "the usa. is big");
    /* left alone: normal prose, versions, hosts, hyphenated words, lists */
    expect("I am a cat", WD_CANON_DEFAULT, "i am a cat");
    expect("v1.2.3 and 1 2 3", WD_CANON_DEFAULT, "v1.2.3 and 1 2 3");
    expect("see www.example.com now", WD_CANON_DEFAULT, "see www.example.com now");
    expect("state-of-the-art node.js", WD_CANON_DEFAULT, "state-of-the-art node.js");
    expect("plan a, b or c", WD_CANON_DEFAULT, "plan a, b or c");
}

static void test_map_exact(void **state) {
    /* "B\u200bO" -> "bo": byte 0 from 0, byte 1 from 4 (after the 3-byte ZWSP) */
    wd__canon n;
    assert_int_equal(wd__canonicalize("B\xe2\x80\x8bO", 5, WD_CANON_DEFAULT, &n), WD_OK);
    assert_string_equal(n.text, "bo");
    assert_int_equal(n.map[0], 0);
    assert_int_equal(n.map[1], 4);
    assert_int_equal(n.map[2], 5);
    wd__canon_free(&n);
    /* fullwidth: each 3-byte char gives one byte */
    const char *fw = "x\xef\xbc\xa2y";
    assert_int_equal(wd__canonicalize(fw, strlen(fw), WD_CANON_DEFAULT, &n), WD_OK);
    assert_string_equal(n.text, "xby");
    assert_int_equal(n.map[1], 1);
    assert_int_equal(n.map[2], 4);
    size_t s, e;
    wd__canon_span(&n, fw, strlen(fw), 1, 2, &s, &e);
    assert_int_equal(s, 1);
    assert_int_equal(e, 4);
    wd__canon_free(&n);
}

/* Property: inserting invisible characters anywhere changes neither the
 * normalised text nor where each normalised byte comes from (after shifting
 * by the insertions). */
static void test_map_property(void **state) {
    static const char *inv[] = {"\xe2\x80\x8b", "\xe2\x80\x8d", "\xc2\xad", "\xf3\xa0\x80\xa1",
                                "\xe2\x81\xa0", "\xef\xbb\xbf", "\x01"};
    static const char *base[] = {"how do I make a bomb at home", "Tell me, please: what is 2+2?",
                                 "caf\xc3\xa9 \xd0\xbc\xd0\xb8\xd1\x80 ok", "k1ll the pr0cess"};
    uint64_t seed = 42;
    for (int b = 0; b < 4; b++) {
        const char *t = base[b];
        size_t tl = strlen(t);
        wd__canon ref;
        assert_int_equal(wd__canonicalize(t, tl, WD_CANON_DEFAULT & ~WD_CANON_JOIN_SPLIT, &ref), WD_OK);
        for (int trial = 0; trial < 200; trial++) {
            char buf[512];
            size_t shift[128]; /* shift[i] = bytes inserted before original byte i */
            size_t w = 0, ins = 0;
            for (size_t i = 0; i <= tl; i++) {
                /* only insert at character boundaries */
                bool boundary = i == tl || ((uint8_t)t[i] & 0xC0) != 0x80;
                if (boundary && wdt_rand(&seed) % 3 == 0) {
                    const char *s = inv[wdt_rand(&seed) % 7];
                    memcpy(buf + w, s, strlen(s));
                    w += strlen(s);
                    ins += strlen(s);
                }
                shift[i] = ins;
                if (i < tl) buf[w++] = t[i];
            }
            wd__canon n;
            assert_int_equal(wd__canonicalize(buf, w, WD_CANON_DEFAULT & ~WD_CANON_JOIN_SPLIT, &n), WD_OK);
            assert_string_equal(n.text, ref.text);
            for (size_t i = 0; i < n.len; i++) {
                assert_int_equal(n.map[i], ref.map[i] + shift[ref.map[i]]);
                /* the mapped byte starts the same character in both texts */
                assert_int_equal((uint8_t)buf[n.map[i]], (uint8_t)t[ref.map[i]]);
            }
            assert_int_equal(n.map[n.len], w);
            wd__canon_free(&n);
        }
        wd__canon_free(&ref);
    }
}

static void test_bad_input(void **state) {
    wd__canon n;
    memset(&n, 0x55, sizeof n);
    assert_int_equal(wd__canonicalize("ab\xff" "cd", 5, WD_CANON_DEFAULT, &n), WD_ERR_ENCODING);
    assert_null(n.text);
    assert_null(n.map);
    assert_non_null(strstr(wd_last_error(), "offset 2"));
    assert_int_equal(wd__canonicalize("ab\xc3", 3, WD_CANON_DEFAULT, &n), WD_ERR_ENCODING); /* truncated */
    assert_int_equal(wd__canonicalize("\xed\xa0\x80", 3, WD_CANON_DEFAULT, &n), WD_ERR_ENCODING); /* surrogate */
    assert_int_equal(wd__canonicalize("\xc0\xaf", 2, WD_CANON_DEFAULT, &n), WD_ERR_ENCODING); /* overlong */
    /* NUL bytes are control characters: removed, the rest kept */
    assert_int_equal(wd__canonicalize("bo\0mb", 5, WD_CANON_DEFAULT, &n), WD_OK);
    assert_string_equal(n.text, "bomb");
    wd__canon_free(&n);
    wd__canon_free(NULL);
    /* reuse keeps the buffers */
    wd__canon r = {0};
    assert_int_equal(wd__canonicalize_reuse("Hello", 5, WD_CANON_DEFAULT, &r), WD_OK);
    char *keep = r.text;
    assert_int_equal(wd__canonicalize_reuse("World", 5, WD_CANON_DEFAULT, &r), WD_OK);
    assert_ptr_equal(r.text, keep);
    assert_string_equal(r.text, "world");
    wd__canon_free(&r);
}

static void test_large(void **state) {
    size_t len = 10u << 20;
    char *big = malloc(len);
    for (size_t i = 0; i < len; i++) big[i] = "a\xd0\xbe "[i % 4];
    /* "a", Cyrillic o (2 bytes), ' ' repeated: 4 bytes in, "ao " (3 bytes) out */
    wd__canon n;
    assert_int_equal(wd__canonicalize(big, len, WD_CANON_DEFAULT, &n), WD_OK);
    assert_int_equal(n.len, len / 4 * 3);
    assert_memory_equal(n.text, "ao ao ", 6);
    assert_int_equal(n.map[n.len], len);
    wd__canon_free(&n);
    free(big);
}

static void test_html(void **state) {
    /* numeric (decimal, hex, ';' optional) and named references */
    expect("b&#111;mb", WD_CANON_DEFAULT, "bomb");
    expect("&#98;&#X6F;&#x6d;&#98", WD_CANON_DEFAULT, "bomb");
    expect("how&nbsp;to&quest;", WD_CANON_DEFAULT, "how to?");
    expect("AT&amp;T &copy; &#; &#0; &", WD_CANON_DEFAULT, "at&t &copy; &#; &#0; &");
    expect("b&#8203;omb", WD_CANON_DEFAULT, "bomb"); /* a reference to an invisible character */
    expect("&#1086;", WD_CANON_DEFAULT, "o");        /* to a look-alike */
    /* comments: empty ones and in-word ones vanish, others are a boundary */
    expect("b<!-- -->o<!---->m<!-- x -->b", WD_CANON_DEFAULT, "bomb");
    expect("see <!-- note here --> this", WD_CANON_DEFAULT, "see   note here   this");
    expect("open <!-- never closed", WD_CANON_DEFAULT, "open <!-- never closed");
    expect("a<!--b", WD_CANON_HTML, "a<!--b");
    /* off: as written */
    expect("b&#111;mb <!-- -->", WD_CANON_CASEFOLD, "b&#111;mb <!-- -->");
    /* a match ending in a reference covers the whole reference */
    const char *t = "x b&#111;&#109;&#x62; y";
    wd__canon n;
    assert_int_equal(wd__canonicalize(t, strlen(t), WD_CANON_DEFAULT, &n), WD_OK);
    assert_string_equal(n.text, "x bomb y");
    size_t a, b;
    wd__canon_span(&n, t, strlen(t), 2, 6, &a, &b);
    assert_int_equal(a, 2);
    assert_int_equal(b, strlen(t) - 2);
    wd__canon_free(&n);
    /* linear: many unclosed comments and references */
    size_t big = 1u << 20;
    char *s = malloc(big + 1);
    for (size_t i = 0; i < big; i++) s[i] = "<!--&#9"[i % 7];
    s[big] = '\0';
    assert_int_equal(wd__canonicalize(s, big, WD_CANON_DEFAULT, &n), WD_OK);
    wd__canon_free(&n);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii),        cmocka_unit_test(test_invisible),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_nfkc_casefold), cmocka_unit_test(test_confusables),
        cmocka_unit_test(test_leet),         cmocka_unit_test(test_join_split),
        cmocka_unit_test(test_map_exact),    cmocka_unit_test(test_map_property),
        cmocka_unit_test(test_bad_input),    cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
