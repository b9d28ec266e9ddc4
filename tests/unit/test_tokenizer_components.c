/*
 * tests/unit/test_tokenizer_components.c - normalizers, pre-tokenizers and
 * decoders one by one, through the library's internal interface, against
 * outputs worked out from the definitions of the Hugging Face tokenizers
 * components (the expected strings are written out by hand below).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "base/json.h"
#include "text/tok_internal.h"

static void tstr_from(wd__tstr *t, const char *s) {
    t->len = 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = (size_t)wd__utf8_len((unsigned char)s[i]);
        assert_int_equal(wd__tstr_push(t, s + i, k, (uint32_t)i, (uint32_t)(i + k)), WD_OK);
        i += k;
    }
}

/* ==== normalizers ======================================================== */

/* Runs the normalizer described by json on in; checks the result. */
static void norm(const char *json, const char *in, const char *want) {
    cJSON *j = wd__json_parse(json, strlen(json), "test");
    assert_non_null(j);
    wd__arena *a = wd__arena_new(0);
    wd__normalizer *n;
    if (wd__normalizer_parse(j, "test", "normalizer", a, &n)) fail_msg("%s", wd_last_error());
    wd__tstr src = {0}, out = {0};
    wd__scratch sc = {0};
    tstr_from(&src, in);
    assert_int_equal(wd__normalizer_run(n, &src, 0, src.len, &out, &sc), WD_OK);
    if (out.len != strlen(want) || (out.len && memcmp(out.b, want, out.len)))
        fail_msg("%s on '%s': got '%.*s', want '%s'", json, in, (int)out.len, out.b ? out.b : "", want);
    /* alignments stay inside the input */
    for (size_t k = 0; k < out.len; k++) assert_true(out.a0[k] <= out.a1[k] && out.a1[k] <= src.len);
    wd__tstr_free(&src);
    wd__tstr_free(&out);
    wd__scratch_free(&sc);
    wd__normalizer_free(n);
    wd__arena_free(a);
    cJSON_Delete(j);
}

static void test_normalizers(void **state) {
    /* Unicode forms: e + U+0301 <-> é; the ligature ﬁ and ① only change
     * under compatibility forms */
    norm("{\"type\": \"NFC\"}", "e\xCC\x81 x", "\xC3\xA9 x");
    norm("{\"type\": \"NFD\"}", "\xC3\xA9", "e\xCC\x81");
    norm("{\"type\": \"NFC\"}", "\xEF\xAC\x81", "\xEF\xAC\x81");
    norm("{\"type\": \"NFKC\"}", "\xEF\xAC\x81 \xE2\x91\xA0", "fi 1");
    norm("{\"type\": \"NFKD\"}", "\xEF\xAC\x81\xC3\xA9", "fie\xCC\x81");
    /* Hangul: L + V jamo compose under NFC into one syllable (U+1100 U+1161 -> U+AC00) */
    norm("{\"type\": \"NFC\"}", "\xE1\x84\x80\xE1\x85\xA1", "\xEA\xB0\x80");
    /* Lowercase: per character; U+0130 becomes i + U+0307 as in Rust */
    norm("{\"type\": \"Lowercase\"}", "\xC3\x80" "BC \xC4\xB0", "\xC3\xA0" "bc i\xCC\x87");
    /* StripAccents drops nonspacing marks only (so: after NFD) */
    norm("{\"type\": \"StripAccents\"}", "e\xCC\x81" "a", "ea");
    norm("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFD\"}, {\"type\": \"StripAccents\"}]}",
         "caf\xC3\xA9", "cafe");
    /* Strip: Unicode whitespace at either end */
    norm("{\"type\": \"Strip\", \"strip_left\": true, \"strip_right\": true}", " \t a b \xE3\x80\x80", "a b");
    norm("{\"type\": \"Strip\", \"strip_left\": false, \"strip_right\": true}", "  a  ", "  a");
    /* Replace: literal (every occurrence) and regex */
    norm("{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\xE2\x96\x81\"}", "a b  c",
         "a\xE2\x96\x81" "b\xE2\x96\x81\xE2\x96\x81" "c");
    norm("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, \"content\": \" \"}", "a   b c", "a b c");
    norm("{\"type\": \"Replace\", \"pattern\": {\"String\": \"ab\"}, \"content\": \"\"}", "xababy", "xy");
    /* Prepend: only to non-empty text */
    norm("{\"type\": \"Prepend\", \"prepend\": \"\xE2\x96\x81\"}", "hi", "\xE2\x96\x81hi");
    norm("{\"type\": \"Prepend\", \"prepend\": \"\xE2\x96\x81\"}", "", "");
    /* BertNormalizer: \t -> ' ', U+0001 and U+FFFD dropped, CJK spaced,
     * accents stripped and lowercased (strip_accents follows lowercase) */
    norm("{\"type\": \"BertNormalizer\"}", "H\xC3\xA9llo\tW\x01orld\xEF\xBF\xBD\xE4\xBD\xA0!",
         "hello world \xE4\xBD\xA0 !");
    /* ...and with lowercase off, accents stay unless asked */
    norm("{\"type\": \"BertNormalizer\", \"lowercase\": false}", "H\xC3\xA9", "H\xC3\xA9");
    norm("{\"type\": \"BertNormalizer\", \"lowercase\": false, \"strip_accents\": true}", "H\xC3\xA9", "He");
    norm("{\"type\": \"BertNormalizer\", \"handle_chinese_chars\": false}", "\xE4\xBD\xA0", "\xE4\xBD\xA0");
}

static void test_normalizer_alignment(void **state) {
    /* Replace ' ' -> ▁ on "a b": the three bytes of ▁ map back to the
     * space at [1, 2); "b" keeps [2, 3) */
    const char *json = "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\xE2\x96\x81\"}";
    cJSON *j = wd__json_parse(json, strlen(json), "test");
    wd__arena *a = wd__arena_new(0);
    wd__normalizer *n;
    assert_int_equal(wd__normalizer_parse(j, "test", "n", a, &n), WD_OK);
    wd__tstr src = {0}, out = {0};
    wd__scratch sc = {0};
    tstr_from(&src, "a b");
    assert_int_equal(wd__normalizer_run(n, &src, 0, src.len, &out, &sc), WD_OK);
    assert_int_equal(out.len, 5);
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(out.a0[k], 1);
        assert_int_equal(out.a1[k], 2);
    }
    assert_int_equal(out.a0[4], 2);
    assert_int_equal(out.a1[4], 3);
    wd__tstr_free(&src);
    wd__tstr_free(&out);
    wd__scratch_free(&sc);
    wd__normalizer_free(n);
    wd__arena_free(a);
    cJSON_Delete(j);
}

/* ==== pre-tokenizers ===================================================== */

/* Runs the pre-tokenizer on in; want is the pieces joined by '|'. */
static void pre(const char *json, const char *in, const char *want) {
    cJSON *j = wd__json_parse(json, strlen(json), "test");
    assert_non_null(j);
    wd__arena *a = wd__arena_new(0);
    wd__pretok *p;
    if (wd__pretok_parse(j, "test", "pre_tokenizer", a, &p)) fail_msg("%s", wd_last_error());
    wd__tstr src = {0}, out = {0};
    wd__pieces pin = {0}, pout = {0};
    wd__scratch sc = {0};
    tstr_from(&src, in);
    if (src.len) wd__pieces_push(&pin, 0, (uint32_t)src.len, -1);
    assert_int_equal(wd__pretok_run(p, &src, &pin, &out, &pout, &sc), WD_OK);
    char got[1024];
    size_t o = 0;
    for (size_t k = 0; k < pout.n; k++) {
        if (k) got[o++] = '|';
        memcpy(got + o, out.b + pout.v[k].start, pout.v[k].len);
        o += pout.v[k].len;
    }
    got[o] = 0;
    if (strcmp(got, want)) fail_msg("%s on '%s': got '%s', want '%s'", json, in, got, want);
    wd__tstr_free(&src);
    wd__tstr_free(&out);
    wd__pieces_free(&pin);
    wd__pieces_free(&pout);
    wd__scratch_free(&sc);
    wd__pretok_free(p);
    wd__arena_free(a);
    cJSON_Delete(j);
}

#define SPLIT(pat, beh) "{\"type\": \"Split\", \"pattern\": {\"String\": \"" pat "\"}, \"behavior\": \"" beh "\"}"

static void test_pretokenizers(void **state) {
    /* Whitespace: \w+|[^\w\s]+ kept, whitespace dropped */
    pre("{\"type\": \"Whitespace\"}", "Hey friend!  How are you?!?", "Hey|friend|!|How|are|you|?!?");
    /* WhitespaceSplit: only whitespace splits */
    pre("{\"type\": \"WhitespaceSplit\"}", "Hey friend!  x", "Hey|friend!|x");
    /* BertPreTokenizer: whitespace dropped, each punctuation char alone
     * (ASCII symbols like $ count as punctuation for BERT) */
    pre("{\"type\": \"BertPreTokenizer\"}", "Hey, friend!! $5", "Hey|,|friend|!|!|$|5");
    /* Punctuation (Isolated by default): spaces stay with the words */
    pre("{\"type\": \"Punctuation\"}", "Hey, friend!?", "Hey|,| friend|!|?");
    pre("{\"type\": \"Punctuation\", \"behavior\": \"Contiguous\"}", "Hey, friend!?", "Hey|,| friend|!?");
    /* Digits */
    pre("{\"type\": \"Digits\", \"individual_digits\": true}", "Call 123", "Call |1|2|3");
    pre("{\"type\": \"Digits\", \"individual_digits\": false}", "Call 123 4", "Call |123| |4");
    /* char::is_numeric: Nd (Arabic-Indic 3 4), No (one half, superscript
     * two), Nl (Roman numeral twelve) are digits too */
    pre("{\"type\": \"Digits\", \"individual_digits\": false}",
        "\xC2\xBD cup \xC2\xB2" "3 \xD9\xA3\xD9\xA4 \xE2\x85\xAB",
        "\xC2\xBD| cup |\xC2\xB2" "3| |\xD9\xA3\xD9\xA4| |\xE2\x85\xAB");
    pre("{\"type\": \"Digits\", \"individual_digits\": true}",
        "\xC2\xBD cup \xC2\xB2" "3 \xD9\xA3\xD9\xA4 \xE2\x85\xAB",
        "\xC2\xBD| cup |\xC2\xB2|3| |\xD9\xA3|\xD9\xA4| |\xE2\x85\xAB");
    /* Split behaviours on "a-b--c" with "-" (see pretokenizer.c):
     * segments a - b - - c */
    pre(SPLIT("-", "Removed"), "a-b--c", "a|b|c");
    pre(SPLIT("-", "Isolated"), "a-b--c", "a|-|b|-|-|c");
    pre(SPLIT("-", "MergedWithPrevious"), "a-b--c", "a-|b-|-|c");
    pre(SPLIT("-", "MergedWithNext"), "a-b--c", "a|-b|-|-c");
    pre(SPLIT("-", "Contiguous"), "a-b--c", "a|-|b|--|c");
    pre("{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"Removed\", \"invert\": true}",
        "a-b--c", "-|-|-");
    pre("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\d+\"}, \"behavior\": \"Isolated\"}", "ab12cd3",
        "ab|12|cd|3");
    /* Metaspace: spaces become ▁, one is prepended, split before each ▁ */
    pre("{\"type\": \"Metaspace\", \"replacement\": \"\xE2\x96\x81\", \"prepend_scheme\": \"always\", \"split\": true}",
        "Hey friend", "\xE2\x96\x81Hey|\xE2\x96\x81" "friend");
    pre("{\"type\": \"Metaspace\", \"replacement\": \"\xE2\x96\x81\", \"prepend_scheme\": \"always\", \"split\": false}",
        "Hey friend", "\xE2\x96\x81Hey\xE2\x96\x81" "friend");
    pre("{\"type\": \"Metaspace\", \"replacement\": \"\xE2\x96\x81\", \"prepend_scheme\": \"never\"}", "Hey friend",
        "Hey|\xE2\x96\x81" "friend");
    /* legacy add_prefix_space: false means never */
    pre("{\"type\": \"Metaspace\", \"replacement\": \"\xE2\x96\x81\", \"add_prefix_space\": false}", "a b",
        "a|\xE2\x96\x81" "b");
    /* ByteLevel: GPT-2 regex; space -> Ġ; add_prefix_space adds one */
    pre("{\"type\": \"ByteLevel\", \"add_prefix_space\": false}", "Hello world", "Hello|\xC4\xA0world");
    pre("{\"type\": \"ByteLevel\", \"add_prefix_space\": true}", "Hello", "\xC4\xA0Hello");
    /* GPT-2 contractions are lowercase only; "  x": \s+(?!\S) takes one
     * space, leaving " x" */
    pre("{\"type\": \"ByteLevel\", \"add_prefix_space\": false}", "I'm  x", "I|'m|\xC4\xA0|\xC4\xA0x");
    /* é is two bytes -> two characters: Ã © */
    pre("{\"type\": \"ByteLevel\", \"add_prefix_space\": false}", "\xC3\xA9", "\xC3\x83\xC2\xA9");
    /* Llama 3's pattern (Split, Isolated) then ByteLevel without regex:
     * case-insensitive contractions, numbers in groups of at most 3 */
    pre("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": "
        "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
        " \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false,"
        " \"use_regex\": false}]}",
        "I'M 12345 ok", "I|'M|\xC4\xA0|123|45|\xC4\xA0ok");
    /* Qwen2's pattern: as Llama 3's but one digit per piece */
    pre("{\"type\": \"Split\", \"pattern\": {\"Regex\": "
        "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
        " \"behavior\": \"Isolated\", \"invert\": false}",
        "abc 123!!\n\nx", "abc| |1|2|3|!!\n\n|x");
    /* empty input: no pieces */
    pre("{\"type\": \"Whitespace\"}", "", "");
    pre("{\"type\": \"WhitespaceSplit\"}", "   ", "");
}

/* ==== decoders =========================================================== */

/* Runs the decoder on the tokens (NULL-terminated); checks the joined text. */
static void dec(const char *json, const char *const *toks, const char *want) {
    cJSON *j = wd__json_parse(json, strlen(json), "test");
    assert_non_null(j);
    wd__decoder *d;
    if (wd__decoder_parse(j, "test", "decoder", &d)) fail_msg("%s", wd_last_error());
    wd__strlist in = {0}, out = {0};
    for (size_t k = 0; toks[k]; k++) wd__strlist_push(&in, toks[k], strlen(toks[k]));
    assert_int_equal(wd__decoder_run(d, &in, &out, false), WD_OK);
    char got[1024];
    size_t o = 0;
    for (size_t k = 0; k < out.count; k++) {
        if (out.n[k]) memcpy(got + o, out.b + out.off[k], out.n[k]);
        o += out.n[k];
    }
    got[o] = 0;
    if (strcmp(got, want)) fail_msg("%s: got '%s', want '%s'", json, got, want);
    wd__strlist_free(&in);
    wd__strlist_free(&out);
    wd__decoder_free(d);
    cJSON_Delete(j);
}

#define T(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_decoders(void **state) {
    dec("{\"type\": \"ByteLevel\"}", T("Hello", "\xC4\xA0world", "\xC4\xA0\xC3\x83\xC2\xA9"), "Hello world \xC3\xA9");
    /* a token with a character outside the byte map stays as it is */
    dec("{\"type\": \"ByteLevel\"}", T("a", "\xE4\xBD\xA0"), "a\xE4\xBD\xA0");
    /* half a character: repaired to U+FFFD */
    dec("{\"type\": \"ByteLevel\"}", T("a", "\xC3\x83"), "a\xEF\xBF\xBD");
    /* Metaspace: ▁ -> ' ', dropped in the first token (all of them) */
    dec("{\"type\": \"Metaspace\", \"replacement\": \"\xE2\x96\x81\", \"prepend_scheme\": \"always\"}",
        T("\xE2\x96\x81Hey", "\xE2\x96\x81" "friend"), "Hey friend");
    dec("{\"type\": \"Metaspace\", \"replacement\": \"\xE2\x96\x81\", \"prepend_scheme\": \"never\"}",
        T("\xE2\x96\x81Hey", "\xE2\x96\x81" "friend"), " Hey friend");
    /* ByteFallback: valid runs become text, invalid ones U+FFFD per byte */
    dec("{\"type\": \"ByteFallback\"}", T("<0xC3>", "<0xA9>", "x", "<0xE2>", "<0x96>", "y", "<0x61>"),
        "\xC3\xA9x\xEF\xBF\xBD\xEF\xBF\xBDya");
    /* WordPiece: ## glued, others spaced; cleanup works on each token alone,
     * so " ," and " 's" are joined but "do" + " not" (two tokens) is not */
    dec("{\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": true}",
        T("un", "##aff", "##able", ",", "it", "'s", "do", "not"), "unaffable, it's do not");
    dec("{\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": false}", T("a", ",", "##b"), "a ,b");
    /* BPEDecoder: suffix -> ' ', nothing after the last token */
    dec("{\"type\": \"BPEDecoder\", \"suffix\": \"</w>\"}", T("hel", "lo</w>", "world</w>"), "hello world");
    dec("{\"type\": \"Fuse\"}", T("a", "b", "c"), "abc");
    /* Strip: at most start leading / stop trailing content chars per token */
    dec("{\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 1}", T("  a  ", "b "), " a b");
    dec("{\"type\": \"Replace\", \"pattern\": {\"String\": \"_\"}, \"content\": \" \"}", T("a_b", "_c"), "a b c");
    dec("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"[0-9]+\"}, \"content\": \"#\"}", T("a12b3"), "a#b#");
    dec("{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"\xE2\x96\x81\"},"
        " \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \","
        " \"start\": 1, \"stop\": 0}]}",
        T("\xE2\x96\x81Hi", "\xE2\x96\x81", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"), "Hi \xF0\x9F\xA6\x99");
}

static void test_utf8_helpers(void **state) {
    /* valid prefix stops at the first bad byte */
    assert_int_equal(wd__utf8_valid_prefix("ab\xC3\xA9", 4), 4);
    assert_int_equal(wd__utf8_valid_prefix("ab\xC3", 3), 2);
    assert_int_equal(wd__utf8_valid_prefix("\xC0\x80", 2), 0);         /* overlong */
    assert_int_equal(wd__utf8_valid_prefix("\xED\xA0\x80", 3), 0);     /* surrogate */
    assert_int_equal(wd__utf8_valid_prefix("\xF4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    /* incomplete tail: what a stream holds back */
    assert_int_equal(wd__utf8_incomplete_tail("a\xF0\x9F", 3), 2);
    assert_int_equal(wd__utf8_incomplete_tail("a\xF0\x9F\xA6\x99", 5), 0);
    assert_int_equal(wd__utf8_incomplete_tail("a\x80", 2), 0);
    /* lossy: one U+FFFD per maximal invalid subsequence */
    char out[64];
    size_t n = wd__utf8_lossy("a\xF0\x9F" "b\xFF", 5, out);
    assert_int_equal(n, 1 + 3 + 1 + 3);
    assert_memory_equal(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD", n);
    /* GPT-2 byte map: printable bytes map to themselves, the others to 256+ */
    assert_int_equal(wd__bytelevel_char('A'), 'A');
    assert_int_equal(wd__bytelevel_char(' '), 0x120);
    assert_int_equal(wd__bytelevel_char(0), 0x100);
    for (int b = 0; b < 256; b++) assert_int_equal(wd__bytelevel_byte(wd__bytelevel_char((unsigned char)b)), b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalizers),
        cmocka_unit_test(test_normalizer_alignment),
        cmocka_unit_test(test_pretokenizers),
        cmocka_unit_test(test_decoders),
        cmocka_unit_test(test_utf8_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
