/*
 * tests/unit/test_attack.c - every attack transform: deterministic for a
 * seed, different across seeds, and doing what it says (checked by undoing
 * it or by its invariants: the decoded payload is the original, stripping
 * the invisible characters gives the original, the original words survive
 * in order around the inserted tokens, a + b is the original...).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "warden/attack.h"

static const char *PROMPT = "Explain how the old stone bridge was built across the river";

__attribute__((noinline)) static char *apply(wd_attack_kind k, const char *t, uint64_t seed) {
    wd_attack_params p = wd_attack_params_default();
    p.seed = seed;
    char *out = NULL;
    assert_int_equal(wd_attack_apply(k, t, &p, &out), WD_OK);
    assert_non_null(out);
    return out;
}

/* Removes every occurrence of each string in del[] from s (in place). */
static void strip_all(char *s, const char *const *del, size_t n_del) {
    for (size_t d = 0; d < n_del; d++) {
        size_t l = strlen(del[d]);
        char *p;
        while ((p = strstr(s, del[d]))) memmove(p, p + l, strlen(p + l) + 1);
    }
}

/* Removes tag characters U+E0000..U+E007F (F3 A0 80..81 xx). */
static void strip_tags(char *s) {
    char *w = s;
    for (char *r = s; *r;) {
        if ((unsigned char)r[0] == 0xF3 && (unsigned char)r[1] == 0xA0) {
            r += 4;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

static size_t count_words(const char *s) {
    size_t n = 0;
    for (size_t i = 0; s[i]; i++)
        if (!isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1]))) n++;
    return n;
}

/* True when the words of sub appear in order among the words of s. */
static int words_subsequence(const char *sub, const char *s) {
    char *a = strdup(sub), *b = strdup(s), *sa, *sb2;
    char *wa = strtok_r(a, " ", &sa), *wb = strtok_r(b, " ", &sb2);
    while (wa && wb) {
        if (!strcmp(wa, wb)) wa = strtok_r(NULL, " ", &sa);
        wb = strtok_r(NULL, " ", &sb2);
    }
    int ok = wa == NULL;
    free(a);
    free(b);
    return ok;
}

static void test_determinism(void **state) {
    const char *tpl[] = {"A {prompt} B", "C [INSERT PROMPT HERE] D"};
    for (int k = 0; k < WD_ATTACK_KIND_COUNT; k++) {
        wd_attack_params p = wd_attack_params_default();
        p.templates = tpl;
        p.n_templates = 2;
        p.seed = 42;
        char *a, *b, *c;
        assert_int_equal(wd_attack_apply((wd_attack_kind)k, PROMPT, &p, &a), WD_OK);
        assert_int_equal(wd_attack_apply((wd_attack_kind)k, PROMPT, &p, &b), WD_OK);
        assert_string_equal(a, b); /* same seed, same output */
        assert_string_not_equal(a, PROMPT);
        /* some seed among a few gives a different output for the random ones */
        int differs = 0;
        for (uint64_t s = 1; s < 8 && !differs; s++) {
            p.seed = s;
            assert_int_equal(wd_attack_apply((wd_attack_kind)k, PROMPT, &p, &c), WD_OK);
            differs = strcmp(a, c) != 0;
            free(c);
        }
        /* the encodings and ciphers without an instruction are fixed functions of the text */
        int fixed = k == WD_ATTACK_KIND_ROT13 || k == WD_ATTACK_KIND_HEX || k == WD_ATTACK_KIND_BASE64 ||
                    k == WD_ATTACK_KIND_ROT13_BARE || k == WD_ATTACK_KIND_REVERSE || k == WD_ATTACK_KIND_REVERSE_WORDS ||
                    k == WD_ATTACK_KIND_REVERSE_RLO || k == WD_ATTACK_KIND_HEX_BARE;
        if (!fixed) assert_true(differs);
        free(a);
        free(b);
    }
}

static void test_typos(void **state) {
    char *s = apply(WD_ATTACK_KIND_TYPO_SWAP, PROMPT, 1);
    assert_int_equal(strlen(s), strlen(PROMPT));
    /* same letters, in another order */
    int ca[256] = {0}, cb[256] = {0};
    for (const char *p = PROMPT; *p; p++) ca[(unsigned char)*p]++;
    for (const char *p = s; *p; p++) cb[(unsigned char)*p]++;
    assert_memory_equal(ca, cb, sizeof ca);
    free(s);
    s = apply(WD_ATTACK_KIND_TYPO_DROP, PROMPT, 1);
    assert_true(strlen(s) < strlen(PROMPT));
    assert_int_equal(count_words(s), count_words(PROMPT));
    free(s);
    s = apply(WD_ATTACK_KIND_TYPO_INSERT, PROMPT, 1);
    assert_true(strlen(s) > strlen(PROMPT));
    free(s);
    s = apply(WD_ATTACK_KIND_TYPO_KEYBOARD, PROMPT, 1);
    assert_int_equal(strlen(s), strlen(PROMPT));
    for (size_t i = 0; PROMPT[i]; i++)
        if (s[i] != PROMPT[i]) assert_true(isalpha((unsigned char)s[i]) && isalpha((unsigned char)PROMPT[i]));
    free(s);
    /* words shorter than 3 letters and non-ASCII text are left alone */
    s = apply(WD_ATTACK_KIND_TYPO, "an ox \xC3\xA9t\xC3\xA9", 3);
    assert_string_equal(s, "an ox \xC3\xA9t\xC3\xA9");
    free(s);
}

static void test_substitutions(void **state) {
    wd_attack_params p = wd_attack_params_default();
    p.rate = 1.0;
    char *s;
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_LEET, "best toast", &p, &s), WD_OK);
    assert_string_equal(s, "8357 70457");
    free(s);
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_HOMOGLYPH, "cope", &p, &s), WD_OK);
    assert_string_equal(s, "\xD1\x81\xD0\xBE\xD1\x80\xD0\xB5"); /* Cyrillic с о р е */
    free(s);
    /* the default rate changes some letters, and the ASCII ones left equal the original */
    s = apply(WD_ATTACK_KIND_HOMOGLYPH, PROMPT, 5);
    size_t non_ascii = 0;
    for (const char *q = s; *q; q++) non_ascii += (unsigned char)*q >= 0x80;
    assert_true(non_ascii > 0);
    free(s);
}

static void test_invisible(void **state) {
    static const char *const zw[] = {"\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xE2\x81\xA0",
                                     "\xEF\xBB\xBF"};
    static const char *const inv[] = {"\xC2\xAD", "\xE1\xA0\x8E", "\xE2\x81\xA1", "\xE2\x81\xA2",
                                      "\xE2\x81\xA3", "\xE2\x81\xA4"};
    char *s = apply(WD_ATTACK_KIND_ZERO_WIDTH, PROMPT, 9);
    assert_true(strlen(s) > strlen(PROMPT));
    strip_all(s, zw, 5);
    assert_string_equal(s, PROMPT);
    free(s);
    s = apply(WD_ATTACK_KIND_INVISIBLE, PROMPT, 9);
    assert_true(strlen(s) > strlen(PROMPT));
    strip_tags(s);
    strip_all(s, inv, 6);
    assert_string_equal(s, PROMPT);
    free(s);
}

static void test_encodings(void **state) {
    char *s = apply(WD_ATTACK_KIND_BASE64, "hello", 0);
    const char *payload = strstr(s, "\n\n");
    assert_non_null(payload);
    assert_string_equal(payload + 2, "aGVsbG8=");
    free(s);
    s = apply(WD_ATTACK_KIND_BASE64, "hi!?", 0);
    assert_string_equal(strstr(s, "\n\n") + 2, "aGkhPw==");
    free(s);
    s = apply(WD_ATTACK_KIND_HEX, "Hi", 0);
    assert_string_equal(strstr(s, "\n\n") + 2, "48 69");
    free(s);
    s = apply(WD_ATTACK_KIND_ROT13, "Hello, World", 0);
    assert_string_equal(strstr(s, "\n\n") + 2, "Uryyb, Jbeyq");
    free(s);
}

/* Decodes &#NN; &#xHH; and the named entities do_html writes, in place. */
static void html_unescape(char *s) {
    static const struct { const char *name; char c; } named[] = {
        {"&nbsp;", ' '}, {"&quest;", '?'}, {"&period;", '.'}, {"&comma;", ','}, {"&excl;", '!'},
        {"&colon;", ':'}, {"&semi;", ';'}, {"&apos;", '\''}, {"&quot;", '"'}, {"&amp;", '&'},
        {"&lt;", '<'}, {"&gt;", '>'}, {"&hyphen;", '-'}, {"&lpar;", '('}, {"&rpar;", ')'}};
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '&' && r[1] == '#') {
            char *end;
            long v = r[2] == 'x' ? strtol(r + 3, &end, 16) : strtol(r + 2, &end, 10);
            assert_int_equal(*end, ';');
            *w++ = (char)v;
            r = end + 1;
            continue;
        }
        size_t k = 0;
        for (; k < sizeof named / sizeof named[0]; k++)
            if (!strncmp(r, named[k].name, strlen(named[k].name))) break;
        if (r[0] == '&' && k < sizeof named / sizeof named[0]) {
            *w++ = named[k].c;
            r += strlen(named[k].name);
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

static void test_ciphers_and_markup(void **state) {
    char *s = apply(WD_ATTACK_KIND_ROT13_BARE, "Hello, World", 0);
    assert_string_equal(s, "Uryyb, Jbeyq");
    free(s);
    s = apply(WD_ATTACK_KIND_REVERSE, "ab c\xC3\xA9!", 0);
    assert_string_equal(s, "!\xC3\xA9" "c ba"); /* characters, not bytes */
    free(s);
    s = apply(WD_ATTACK_KIND_REVERSE_WORDS, "How to, build it", 0);
    assert_string_equal(s, "woH ot, dliub ti");
    free(s);
    s = apply(WD_ATTACK_KIND_REVERSE_RLO, "abc", 0);
    assert_string_equal(s, "\xE2\x80\xAE" "cba");
    free(s);
    s = apply(WD_ATTACK_KIND_REVERSE_INSTRUCT, "abc", 0);
    assert_non_null(strstr(s, "\n\ncba"));
    free(s);
    for (int k = WD_ATTACK_KIND_HTML_ENTITIES; k <= WD_ATTACK_KIND_HTML_ENTITIES_HEX; k++) {
        s = apply((wd_attack_kind)k, PROMPT, 3);
        assert_non_null(strstr(s, k == WD_ATTACK_KIND_HTML_ENTITIES ? "&#" : "&#x"));
        html_unescape(s);
        assert_string_equal(s, PROMPT);
        free(s);
    }
    s = apply(WD_ATTACK_KIND_HTML_COMMENT, PROMPT, 3);
    assert_non_null(strstr(s, "<!--"));
    static const char *const comments[] = {"<!-- -->", "<!---->"};
    strip_all(s, comments, 2);
    assert_string_equal(s, PROMPT);
    free(s);
    s = apply(WD_ATTACK_KIND_HEX_BARE, "Hi!", 0);
    assert_string_equal(s, "48 69 21");
    free(s);
    s = apply(WD_ATTACK_KIND_HEX_ESCAPE, "Hi", 0);
    assert_string_equal(strstr(s, "\n\n") + 2, "\\x48\\x69");
    free(s);
    wd_attack_params p = wd_attack_params_default();
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_PIG_LATIN, "How do you build a stone bridge, Queen", &p, &s), WD_OK);
    assert_non_null(strstr(s, "Owhay oday ouyay uildbay "));
    assert_non_null(strstr(s, " onestay idgebray, Eenquay"));
    free(s);
    s = apply(WD_ATTACK_KIND_TAG_SMUGGLE, "Hi x", 0);
    assert_non_null(strstr(s, "\xF3\xA0\x81\x88\xF3\xA0\x81\xA9\xF3\xA0\x80\xA0\xF3\xA0\x81\xB8"));
    free(s);
}

static void test_template(void **state) {
    const char *tpl[] = {"Story: {prompt}. Again: {prompt}", "Go [INSERT PROMPT HERE]!", "no slot here"};
    wd_attack_params p = wd_attack_params_default();
    p.templates = tpl;
    p.n_templates = 3;
    char *s;
    p.template_index = 0;
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_TEMPLATE, "X", &p, &s), WD_OK);
    assert_string_equal(s, "Story: X. Again: X");
    free(s);
    p.template_index = 1;
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_TEMPLATE, "X", &p, &s), WD_OK);
    assert_string_equal(s, "Go X!");
    free(s);
    p.template_index = 2;
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_TEMPLATE, "X", &p, &s), WD_OK);
    assert_string_equal(s, "no slot here\n\nX");
    free(s);
    p.n_templates = 0;
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_TEMPLATE, "X", &p, &s), WD_ERR_INVALID_ARG);
    assert_null(s);

    /* templates from a CSV file, keeping only those with a slot */
    char *dir = wdt_tmpdir("attack_tpl");
    char path[1024];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    const char *csv = "id,text\n0,\"multi\nline [INSERT PROMPT HERE]\"\n1,none\n2,{prompt}?\n";
    wdt_write_file(path, csv, strlen(csv));
    char **t;
    size_t n;
    assert_int_equal(wd_attack_templates_load(path, "text", 1, &t, &n), WD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(t[1], "{prompt}?");
    wd_attack_templates_free(t, n);
    assert_int_equal(wd_attack_templates_load(path, "text", 0, &t, &n), WD_OK);
    assert_int_equal(n, 3);
    wd_attack_templates_free(t, n);
    free(dir);

    char *gf = wdt_shared("data/jailbreak-prompts/gptfuzz/GPTFuzzer.csv");
    if (gf) {
        assert_int_equal(wd_attack_templates_load(gf, "text", 1, &t, &n), WD_OK);
        print_message("GPTFuzzer.csv: %zu templates with a slot\n", n);
        assert_int_equal(n, 77); /* MANIFEST: 77 templates */
        wd_attack_templates_free(t, n);
        free(gf);
    }
}

static void test_tokens(void **state) {
    size_t w0 = count_words(PROMPT);
    wd_attack_params p = wd_attack_params_default();
    p.n_tokens = 7;
    p.seed = 3;
    char *s;
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_SUFFIX, PROMPT, &p, &s), WD_OK);
    assert_memory_equal(s, PROMPT, strlen(PROMPT));
    assert_int_equal(count_words(s), w0 + 7);
    free(s);
    for (int k = WD_ATTACK_KIND_SUFFIX; k <= WD_ATTACK_KIND_INFUSION_CHARS; k++) {
        assert_int_equal(wd_attack_apply((wd_attack_kind)k, PROMPT, &p, &s), WD_OK);
        /* printable tokens hold no space, so they count as one word each */
        assert_int_equal(count_words(s), w0 + 7);
        assert_true(words_subsequence(PROMPT, s));
        free(s);
    }
    /* insertion keeps its tokens together: the original words split in two runs */
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_INSERTION, PROMPT, &p, &s), WD_OK);
    free(s);
    /* an empty text still gets its tokens */
    assert_int_equal(wd_attack_apply(WD_ATTACK_KIND_INFUSION, "", &p, &s), WD_OK);
    assert_int_equal(count_words(s), 7);
    free(s);
}

static void test_prefix_split(void **state) {
    char *s = apply(WD_ATTACK_KIND_PREFIX, PROMPT, 4);
    size_t n = strlen(s), m = strlen(PROMPT);
    assert_true(n > m + 20);
    assert_string_equal(s + n - m, PROMPT);
    free(s);

    s = apply(WD_ATTACK_KIND_SPLIT, "make a \"big\" cake", 4);
    /* parse a = "..." and b = "..." back */
    char a[256] = {0}, b[256] = {0};
    const char *pa = strstr(s, "a = \""), *pb = strstr(s, "b = \"");
    assert_non_null(pa);
    assert_non_null(pb);
    char *dst[2] = {a, b};
    const char *src[2] = {pa + 5, pb + 5};
    for (int k = 0; k < 2; k++) {
        size_t o = 0;
        for (const char *q = src[k]; *q && *q != '"'; q++) {
            if (*q == '\\') q++;
            dst[k][o++] = *q;
        }
    }
    char joined[512];
    snprintf(joined, sizeof joined, "%s%s", a, b);
    assert_string_equal(joined, "make a \"big\" cake");
    assert_true(strlen(a) > 0 && strlen(b) > 0);
    free(s);
}

static void test_names(void **state) {
    wd_attack_kind k[64];
    size_t n;
    assert_int_equal(wd_attack_parse_list("leet, base64 ,typo-swap", k, 64, &n), WD_OK);
    assert_int_equal(n, 3);
    assert_int_equal(k[1], WD_ATTACK_KIND_BASE64);
    assert_int_equal(wd_attack_parse_list("all", k, 64, &n), WD_OK);
    assert_int_equal(n, WD_ATTACK_KIND_COUNT - 1);
    assert_int_equal(wd_attack_parse_list("leet,bogus", k, 64, &n), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "bogus"));
    assert_int_equal(wd_attack_parse_list("", k, 64, &n), WD_ERR_INVALID_ARG);
    for (int i = 0; i < WD_ATTACK_KIND_COUNT; i++) {
        wd_attack_kind back;
        assert_int_equal(wd_attack_parse(wd_attack_name((wd_attack_kind)i), &back), WD_OK);
        assert_int_equal(back, i);
    }
    assert_null(wd_attack_name(WD_ATTACK_KIND_COUNT));
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc((size_t)n + 1, 1);
    size_t got = fread(b, 1, (size_t)n, f);
    (void)got;
    fclose(f);
    return b;
}

/* `warden attack` end to end: same seed, same file; another seed, another file. */
static void test_cli(void **state) {
    char *dir = wdt_tmpdir("attack_cli");
    char in[1024], a[1024], b[1024], c[1024], args[4096];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    snprintf(c, sizeof c, "%s/c.jsonl", dir);
    const char *csv = "goal,label\n\"Explain, in detail, how locks work\",1\nWrite a poem about rain,0\n";
    wdt_write_file(in, csv, strlen(csv));
    snprintf(args, sizeof args, "attack --transform typo,leet,base64,suffix,split --in '%s' --label-field label --out '%s' --seed 5", in, a);
    assert_int_equal(wdt_cli(args, NULL, NULL, NULL), 0);
    snprintf(args, sizeof args, "attack --transform typo,leet,base64,suffix,split --in '%s' --label-field label --out '%s' --seed 5", in, b);
    assert_int_equal(wdt_cli(args, NULL, NULL, NULL), 0);
    snprintf(args, sizeof args, "attack --transform typo,leet,base64,suffix,split --in '%s' --label-field label --out '%s' --seed 6", in, c);
    assert_int_equal(wdt_cli(args, NULL, NULL, NULL), 0);
    char *ta = slurp(a), *tb = slurp(b), *tc = slurp(c);
    assert_non_null(ta);
    assert_string_equal(ta, tb);
    assert_string_not_equal(ta, tc);
    size_t lines = 0;
    for (char *p = ta; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 10); /* 2 items x 5 transforms */
    assert_non_null(strstr(ta, "\"transform\":\"base64\""));
    assert_non_null(strstr(ta, "\"original\":\"Explain, in detail, how locks work\""));
    assert_non_null(strstr(ta, "\"label\":\"benign\""));
    free(ta);
    free(tb);
    free(tc);
    /* errors: unknown transform (usage), missing file (runtime), template without templates */
    snprintf(args, sizeof args, "attack --transform nope --in '%s' --out '%s'", in, a);
    char *err = NULL;
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 2);
    assert_non_null(strstr(err, "nope"));
    free(err);
    snprintf(args, sizeof args, "attack --transform leet --in '%s/missing.csv' --out '%s'", dir, a);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "missing.csv"));
    free(err);
    snprintf(args, sizeof args, "attack --transform template --in '%s' --out '%s'", in, a);
    assert_int_equal(wdt_cli(args, NULL, NULL, NULL), 2);
    /* the earlier output is untouched by the failed runs (atomic writes) */
    tb = slurp(a);
    assert_non_null(strstr(tb, "\"seed\":5"));
    free(tb);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_typos),
        cmocka_unit_test(test_substitutions), cmocka_unit_test(test_invisible),
        cmocka_unit_test(test_encodings),   cmocka_unit_test(test_ciphers_and_markup),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_tokens),      cmocka_unit_test(test_prefix_split),
        cmocka_unit_test(test_names),       cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
