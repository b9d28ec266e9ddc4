/*
 * tests/unit/test_tokenizer_models.c - each model kind on the hand-made
 * fixtures of tests/fixtures/tokenizers/ (written by
 * tests/tools/gen_tokenizer_fixtures.py), added tokens, post-processors,
 * corrupt tokenizer.json files, chat templates and the CLI.
 *
 * Every expected id list is derived by hand from the format's definition;
 * the derivation is in the comment beside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static wd_tokenizer *fixture(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizers/%s", WD_TEST_FIXTURES, name);
    wd_tokenizer *t;
    wd_status st = wd_tokenizer_load(path, &t);
    if (st) fail_msg("load %s: %s", path, wd_last_error());
    return t;
}

/* Encodes text and checks the ids (want, n terminated by -1). */
static void expect_ids(const wd_tokenizer *t, const char *text, bool special, bool split_special,
                       const int32_t *want) {
    wd_encode_params p = wd_encode_params_default();
    p.add_special_tokens = special;
    p.split_special_tokens = split_special;
    wd_encoding *e;
    wd_status st = wd_tokenizer_encode(t, text, strlen(text), &p, &e);
    if (st) fail_msg("encode '%s': %s", text, wd_last_error());
    size_t nw = 0;
    while (want[nw] >= 0) nw++;
    size_t n = wd_encoding_len(e);
    const int32_t *ids = wd_encoding_ids(e);
    bool same = n == nw;
    for (size_t k = 0; same && k < n; k++) same = ids[k] == want[k];
    if (!same) {
        print_message("encode '%s': got", text);
        for (size_t k = 0; k < n; k++) print_message(" %d", ids[k]);
        print_message(", want");
        for (size_t k = 0; k < nw; k++) print_message(" %d", want[k]);
        print_message("\n");
        wd_encoding_free(e);
        fail();
    }
    wd_encoding_free(e);
}

#define IDS(...) ((const int32_t[]){__VA_ARGS__, -1})
#define NONE ((const int32_t[]){-1})

static void expect_offsets(const wd_tokenizer *t, const char *text, bool special, const size_t *want, size_t n) {
    wd_encode_params p = wd_encode_params_default();
    p.add_special_tokens = special;
    wd_encoding *e;
    assert_int_equal(wd_tokenizer_encode(t, text, strlen(text), &p, &e), WD_OK);
    assert_int_equal(wd_encoding_len(e), n);
    const wd_offset *o = wd_encoding_offsets(e);
    for (size_t k = 0; k < n; k++) {
        if (o[k].start != want[2 * k] || o[k].end != want[2 * k + 1])
            fail_msg("'%s' token %zu: offsets (%zu, %zu), want (%zu, %zu)", text, k, o[k].start, o[k].end,
                     want[2 * k], want[2 * k + 1]);
    }
    wd_encoding_free(e);
}

static void expect_decode(const wd_tokenizer *t, const int32_t *ids, bool skip, const char *want) {
    size_t n = 0;
    while (ids[n] >= 0) n++;
    wd_decode_params p = wd_decode_params_default();
    p.skip_special_tokens = skip;
    char *s;
    size_t len;
    wd_status st = wd_tokenizer_decode(t, ids, n, &p, &s, &len);
    if (st) fail_msg("decode: %s", wd_last_error());
    if (strcmp(s, want)) fail_msg("decode gave '%s', want '%s'", s, want);
    assert_int_equal(len, strlen(want));
    free(s);
}

/* ==== byte-level BPE ===================================================== */
/* Fixture bpe-bytelevel: ids 0..255 = the byte-level character of byte b;
 * merges (rank: pair -> id) 0: Ġ t -> 256 "Ġt", 1: h e -> 257 "he",
 * 2: Ġt he -> 258 "Ġthe", 3: l o -> 259 "lo", 4: lo w -> 260 "low".
 * Added: 261 <|end|> (special), 262 <mask> (special, lstrip),
 * 263 [X] (special, rstrip), 264 "word" (not special, single_word,
 * normalized). ByteLevel pre-tokenizer with GPT-2's regex, no prefix space. */

static void test_bytelevel_merges(void **state) {
    wd_tokenizer *t = fixture("bpe-bytelevel");
    /* "the": t h e; only (h,e) has a rank -> t he = [116, 257].
     * " low": the regex keeps the space with the word: Ġ l o w; (l,o) rank 3
     * -> Ġ lo w; (lo,w) rank 4 -> Ġ low; (Ġ,low) has no merge = [32, 260]. */
    expect_ids(t, "the low", true, false, IDS(116, 257, 32, 260));
    /* " the": Ġ t h e; (Ġ,t) rank 0 beats (h,e) rank 1 -> Ġt h e -> Ġt he
     * -> (Ġt,he) rank 2 -> Ġthe = [258]. */
    expect_ids(t, " the", true, false, IDS(258));
    /* "é" is bytes C3 A9, each its own character: [195, 169]. */
    expect_ids(t, "\xC3\xA9", true, false, IDS(195, 169));
    expect_ids(t, "", true, false, NONE);
    /* ByteLevel post-processor with trim_offsets: Ġthe covers bytes 0..4 of
     * " the" but its leading space is trimmed: (1, 4). */
    expect_offsets(t, " the", true, (const size_t[]){1, 4}, 1);
    /* "the low": t(0,1) he(1,3) Ġ(3,4 -> trimmed to 4,4) low(4,7) */
    expect_offsets(t, "the low", true, (const size_t[]){0, 1, 1, 3, 4, 4, 4, 7}, 4);
    /* both bytes of "é" point at the whole character */
    expect_offsets(t, "\xC3\xA9", true, (const size_t[]){0, 2, 0, 2}, 2);
    expect_decode(t, IDS(116, 257, 32, 260), false, "the low");
    /* a lone continuation byte decodes to U+FFFD, as from_utf8_lossy */
    expect_decode(t, IDS(97, 169), false, "a\xEF\xBF\xBD");
    assert_string_equal(wd_tokenizer_model_type(t), "BPE");
    assert_int_equal(wd_tokenizer_vocab_size(t), 265);
    assert_int_equal(wd_tokenizer_token_to_id(t, "Ġthe"), 258);
    assert_int_equal(wd_tokenizer_token_to_id(t, "<mask>"), 262);
    assert_int_equal(wd_tokenizer_token_to_id(t, "nope"), -1);
    assert_string_equal(wd_tokenizer_id_to_token(t, 260), "low");
    assert_string_equal(wd_tokenizer_id_to_token(t, 261), "<|end|>");
    assert_null(wd_tokenizer_id_to_token(t, 265));
    assert_null(wd_tokenizer_id_to_token(t, -1));
    assert_true(wd_tokenizer_is_special(t, 261));
    assert_false(wd_tokenizer_is_special(t, 264));
    assert_false(wd_tokenizer_is_special(t, 97));
    wd_tokenizer_free(t);
}

static void test_added_tokens(void **state) {
    wd_tokenizer *t = fixture("bpe-bytelevel");
    /* special token in the middle: a | <|end|> | b */
    expect_ids(t, "a<|end|>b", true, false, IDS(97, 261, 98));
    /* split_special_tokens: matched as text. GPT-2 regex: "a" "<|" "end"
     * "|>" "b", no merges apply: the bytes. */
    expect_ids(t, "a<|end|>b", true, true, IDS(97, 60, 124, 101, 110, 100, 124, 62, 98));
    /* lstrip: the space before <mask> joins the token: "a" | " <mask>" */
    expect_ids(t, "a <mask>", true, false, IDS(97, 262));
    expect_offsets(t, "a <mask>", true, (const size_t[]){0, 1, 1, 8}, 2);
    /* lstrip does not reach back into a previous match */
    expect_ids(t, "<|end|> <mask>", true, false, IDS(261, 262));
    /* rstrip: the spaces after [X] join it: "[X]  " | "b" */
    expect_ids(t, "[X]  b", true, false, IDS(263, 98));
    expect_offsets(t, "[X]  b", true, (const size_t[]){0, 5, 5, 6}, 2);
    /* without rstrip/lstrip the space stays text: "<|end|>" | " b" -> Ġ b */
    expect_ids(t, "<|end|> b", true, false, IDS(261, 32, 98));
    /* single_word: "word" alone or between spaces is the token... */
    expect_ids(t, "word", true, false, IDS(264));
    /* "a " | word | " b": "a " -> "a" + " " (\s+(?!\S) at the end) */
    expect_ids(t, "a word b", true, false, IDS(97, 32, 264, 32, 98));
    /* ...but not inside a word: "swordfish" is plain bytes */
    expect_ids(t, "swordfish", true, false, IDS(115, 119, 111, 114, 100, 102, 105, 115, 104));
    /* "words": w o r d s (no merges among these letters) */
    expect_ids(t, "words", true, false, IDS(119, 111, 114, 100, 115));
    /* leftmost-longest: "<|end|>" wins over nothing shorter; an unfinished
     * one is text: "<|end" -> "<|" "end" */
    expect_ids(t, "<|end", true, false, IDS(60, 124, 101, 110, 100));
    /* special tokens decode as their text, or vanish with skip_special */
    expect_decode(t, IDS(97, 261, 98), false, "a<|end|>b");
    expect_decode(t, IDS(97, 261, 98), true, "ab");
    wd_tokenizer_free(t);
}

static void test_added_normalized(void **state) {
    /* Lowercase normalizer; "[CLS]" (id 3) is matched in the raw text only;
     * "[NAME]" (id 4, normalized) is matched in the normalized text, where it
     * reads "[name]", so "[Name]" and "[NAME]" both hit it. */
    const char *j = "{\"normalizer\": {\"type\": \"Lowercase\"}, \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"},"
                    " \"added_tokens\": [{\"id\": 3, \"content\": \"[CLS]\", \"special\": true, \"normalized\": false},"
                    " {\"id\": 4, \"content\": \"[NAME]\", \"special\": false, \"normalized\": true}],"
                    " \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"hi\": 1, \"[cls]\": 2, \"[CLS]\": 3}}}";
    wd_tokenizer *t;
    if (wd_tokenizer_load_json(j, strlen(j), NULL, 0, "inline", &t)) fail_msg("%s", wd_last_error());
    /* raw split: "HI " | [CLS] | " [Name]"; normalized: "hi " | " [name]" ->
     * [name] matched -> hi, [CLS], [NAME] */
    expect_ids(t, "HI [CLS] [Name]", false, false, IDS(1, 3, 4));
    /* "[cls]" is not the raw token: the model's "[cls]" (2) */
    expect_ids(t, "[cls]", false, false, IDS(2));
    /* "[Cls]": no raw match; lowercased to "[cls]" -> 2 */
    expect_ids(t, "[Cls]", false, false, IDS(2));
    assert_int_equal(wd_tokenizer_vocab_size(t), 5);
    wd_tokenizer_free(t);
}

/* ==== SentencePiece-style BPE ============================================ */
/* Fixture bpe-spm: <unk>=0 <s>=1 </s>=2, <0xNN> = 3 + NN, ▁=259 a=260
 * b=261 ▁a=262 ab=263 ▁ab=264; merges 0: ▁ a, 1: a b, 2: ▁a b.
 * Normalizer: Prepend ▁, Replace ' ' -> ▁; no pre-tokenizer (the whole
 * text is one word); byte_fallback; template <s> $A. */

static void test_spm_bpe(void **state) {
    wd_tokenizer *t = fixture("bpe-spm");
    /* "ab" -> "▁ab": ▁ a b; (▁,a) rank 0 -> ▁a b -> (▁a,b) rank 2 -> ▁ab */
    expect_ids(t, "ab", true, false, IDS(1, 264));
    expect_ids(t, "ab", false, false, IDS(264));
    /* "ba" -> ▁ b a: only (▁,b)? no; (b,a)? no -> [▁, b, a] */
    expect_ids(t, "ba", false, false, IDS(259, 261, 260));
    /* "a b" -> "▁a▁b": ▁ a ▁ b; (▁,a) rank 0 at 0 -> ▁a ▁ b; (▁a,▁)? no;
     * (▁,b)? no -> [▁a, ▁, b] */
    expect_ids(t, "a b", false, false, IDS(262, 259, 261));
    /* "é" -> ▁ then é is not in the vocab: bytes C3 A9 -> 3+0xC3, 3+0xA9 */
    expect_ids(t, "\xC3\xA9", false, false, IDS(259, 198, 172));
    /* empty text: Prepend leaves it empty; the template still adds <s> */
    expect_ids(t, "", true, false, IDS(1));
    /* <s> in the text is an added token (normalized=false: matched before
     * the normalizer, so the text after it gets its own ▁) */
    expect_ids(t, "<s>ab", false, false, IDS(1, 264));
    /* offsets: ▁ab covers the prepended ▁ (aligned to "a") and "ab": (0, 2);
     * the byte tokens of é both cover the character */
    expect_offsets(t, "ab", true, (const size_t[]){0, 0, 0, 2}, 2);
    expect_offsets(t, "\xC3\xA9", false, (const size_t[]){0, 2, 0, 2, 0, 2}, 3);
    /* decode: Replace ▁ -> ' ', ByteFallback, Fuse, Strip one leading ' ' */
    expect_decode(t, IDS(1, 264), true, "ab");
    expect_decode(t, IDS(1, 264), false, "<s> ab");
    expect_decode(t, IDS(259, 198, 172), false, "\xC3\xA9");
    /* an invalid byte run: one U+FFFD per byte (ByteFallback's rule) */
    expect_decode(t, IDS(260, 198, 198), false, "a\xEF\xBF\xBD\xEF\xBF\xBD");
    /* tokenizer_config.json: bos/eos (string and {content} forms) */
    assert_int_equal(wd_tokenizer_special_id(t, WD_SPECIAL_TOKEN_BOS), 1);
    assert_int_equal(wd_tokenizer_special_id(t, WD_SPECIAL_TOKEN_EOS), 2);
    assert_int_equal(wd_tokenizer_special_id(t, WD_SPECIAL_TOKEN_UNK), 0);
    assert_int_equal(wd_tokenizer_special_id(t, WD_SPECIAL_TOKEN_PAD), -1);
    assert_string_equal(wd_tokenizer_special_str(t, WD_SPECIAL_TOKEN_EOS), "</s>");
    assert_non_null(wd_tokenizer_chat_template(t));
    wd_tokenizer_free(t);
}

static const char SPM_NO_FALLBACK[] =
    "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": %s, \"byte_fallback\": false,"
    " \"vocab\": {\"<unk>\": 0, \"a\": 1}, \"merges\": []}}";

static void test_unk_fuse(void **state) {
    /* no byte fallback: unknown characters become <unk>; consecutive ones
     * are fused into one with fuse_unk, kept apart without it */
    for (int fuse = 0; fuse < 2; fuse++) {
        char json[512];
        snprintf(json, sizeof json, SPM_NO_FALLBACK, fuse ? "true" : "false");
        wd_tokenizer *t;
        assert_int_equal(wd_tokenizer_load_json(json, strlen(json), NULL, 0, "inline", &t), WD_OK);
        if (fuse) expect_ids(t, "a\xC3\xA9\xC3\xA9" "a", false, false, IDS(1, 0, 1));
        else expect_ids(t, "a\xC3\xA9\xC3\xA9" "a", false, false, IDS(1, 0, 0, 1));
        /* no decoder: tokens joined by spaces */
        expect_decode(t, IDS(1, 0, 1), false, "a <unk> a");
        assert_int_equal(wd_tokenizer_special_id(t, WD_SPECIAL_TOKEN_UNK), 0);
        wd_tokenizer_free(t);
    }
}

static void test_ignore_merges_and_affixes(void **state) {
    /* ignore_merges: a word that is itself in the vocab is one token, even
     * though the merges would build something else. "abc" is in the vocab;
     * the merges would give ab + c. */
    const char *j1 = "{\"model\": {\"type\": \"BPE\", \"ignore_merges\": true,"
                     " \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"abc\": 4}, \"merges\": [\"a b\"]}}";
    wd_tokenizer *t;
    assert_int_equal(wd_tokenizer_load_json(j1, strlen(j1), NULL, 0, "inline", &t), WD_OK);
    expect_ids(t, "abc", false, false, IDS(4));
    expect_ids(t, "abca", false, false, IDS(3, 2, 0));
    wd_tokenizer_free(t);
    /* continuing_subword_prefix and end_of_word_suffix (BPE as in the
     * original subword-nmt): symbols a, ##b, ##c</w>; merge "a ##b" makes
     * "ab" (the prefix of the right side dropped). */
    const char *j2 = "{\"model\": {\"type\": \"BPE\", \"continuing_subword_prefix\": \"##\", \"end_of_word_suffix\": \"</w>\","
                     " \"vocab\": {\"a\": 0, \"##b\": 1, \"##c</w>\": 2, \"ab\": 3}, \"merges\": [[\"a\", \"##b\"]]},"
                     " \"decoder\": {\"type\": \"BPEDecoder\", \"suffix\": \"</w>\"}}";
    assert_int_equal(wd_tokenizer_load_json(j2, strlen(j2), NULL, 0, "inline", &t), WD_OK);
    expect_ids(t, "abc", false, false, IDS(3, 2));
    wd_tokenizer_free(t);
}

/* ==== WordPiece ========================================================== */
/* Fixture wordpiece: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 un=4 ##aff=5
 * ##able=6 a=7 ,=8 hello=9 ##s=10 !=11; BertNormalizer (lowercase, strip
 * accents), BertPreTokenizer, BertProcessing, max_input_chars_per_word 10. */

static void test_wordpiece(void **state) {
    wd_tokenizer *t = fixture("wordpiece");
    /* lowercased, split at the space and the punctuation:
     * unaffable , hello ! -> un ##aff ##able , hello ! inside [CLS] [SEP] */
    expect_ids(t, "Unaffable, hello!", true, false, IDS(2, 4, 5, 6, 8, 9, 11, 3));
    /* accents stripped (NFD then Mn dropped): HÉLLOS -> hellos -> hello ##s */
    expect_ids(t, "H\xC3\x89LLOS", false, false, IDS(9, 10));
    /* a word with an unmatchable rest is one [UNK]: "unx" -> un + ##x? */
    expect_ids(t, "unx", false, false, IDS(1));
    /* CJK ideographs are split into words of their own: 你 好 -> 2 x [UNK] */
    expect_ids(t, "\xE4\xBD\xA0\xE5\xA5\xBD", false, false, IDS(1, 1));
    /* more than max_input_chars_per_word (10) characters: [UNK]; exactly 10
     * of "a" cannot be split into a ##a... -> [UNK] as well, but "a" works */
    expect_ids(t, "aaaaaaaaaaa", false, false, IDS(1));
    expect_ids(t, "a", false, false, IDS(7));
    /* control characters removed, tabs are spaces: "a\x01\ta" -> a a */
    expect_ids(t, "a\x01\ta", false, false, IDS(7, 7));
    /* offsets: [CLS](0,0) un(0,2) ##aff(2,5) ##able(5,9) [SEP](0,0) */
    expect_offsets(t, "Unaffable", true, (const size_t[]){0, 0, 0, 2, 2, 5, 5, 9, 0, 0}, 5);
    /* decode: ## joins, other tokens get a space, cleanup joins " ," " !" */
    expect_decode(t, IDS(2, 4, 5, 6, 8, 9, 11, 3), true, "unaffable, hello!");
    expect_decode(t, IDS(4, 5, 6, 8, 9, 11), false, "unaffable, hello!");
    assert_string_equal(wd_tokenizer_model_type(t), "WordPiece");
    wd_tokenizer_free(t);
}

/* ==== Unigram ============================================================ */
/* Fixture unigram: <unk>=0 (0.0) ▁=1 (-2) ▁a=2 (-1) a=3 (-2) b=4 (-2.5)
 * ab=5 (-3) ▁ab=6 (-2.5) <0x63>=7 (-20); Metaspace pre-tokenizer. */

static void test_unigram(void **state) {
    wd_tokenizer *t = fixture("unigram");
    /* "ab" -> "▁ab": ▁ab = -2.5 beats ▁a+b = -3.5, ▁+ab = -5, ▁+a+b = -6.5 */
    expect_ids(t, "ab", false, false, IDS(6));
    /* "ba" -> "▁ba": the only path is ▁ + b + a = -6.5 */
    expect_ids(t, "ba", false, false, IDS(1, 4, 3));
    /* "aab" -> "▁aab": ▁a + ab = -4 beats ▁a + a + b = -5.5 and ▁ + a + ab = -7 */
    expect_ids(t, "aab", false, false, IDS(2, 5));
    /* "cc" -> "▁cc": no piece covers c: ▁ + unk + unk, the unknowns fused */
    expect_ids(t, "cc", false, false, IDS(1, 0));
    /* two words: "ab ab" -> "▁ab" "▁ab" */
    expect_ids(t, "ab ab", false, false, IDS(6, 6));
    /* Metaspace decoder: ▁ -> ' ', the first one dropped */
    expect_decode(t, IDS(6, 6), false, "ab ab");
    assert_string_equal(wd_tokenizer_model_type(t), "Unigram");
    wd_tokenizer_free(t);
}

static void test_unigram_byte_fallback(void **state) {
    /* with byte_fallback an unknown stretch becomes its <0xNN> tokens:
     * "c" -> "▁c" -> ▁ + <0x63> */
    const char *j = "{\"pre_tokenizer\": {\"type\": \"Metaspace\"}, \"model\": {\"type\": \"Unigram\", \"unk_id\": 0,"
                    " \"byte_fallback\": true, \"vocab\": [[\"<unk>\", 0], [\"\\u2581\", -2], [\"<0x63>\", -20]]}}";
    wd_tokenizer *t;
    assert_int_equal(wd_tokenizer_load_json(j, strlen(j), NULL, 0, "inline", &t), WD_OK);
    expect_ids(t, "c", false, false, IDS(1, 2));
    wd_tokenizer_free(t);
}

/* ==== post-processors ==================================================== */

static void test_postprocessors(void **state) {
    const char *fmt = "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"a\": 1, \"<s>\": 2, \"</s>\": 3}},"
                      " \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, \"post_processor\": %s}";
    const char *posts[] = {
        /* template with a special token standing for two ids */
        "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"X\", \"type_id\": 0}},"
        " {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}],"
        " \"special_tokens\": {\"X\": {\"id\": \"X\", \"ids\": [2, 2], \"tokens\": [\"<s>\", \"<s>\"]},"
        " \"</s>\": {\"id\": \"</s>\", \"ids\": [3], \"tokens\": [\"</s>\"]}}}",
        "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 3], \"cls\": [\"<s>\", 2], \"trim_offsets\": true}",
        "{\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\", \"trim_offsets\": false},"
        " {\"type\": \"BertProcessing\", \"sep\": [\"</s>\", 3], \"cls\": [\"<s>\", 2]}]}",
    };
    const int32_t *want[] = {IDS(2, 2, 1, 1, 3), IDS(2, 1, 1, 3), IDS(2, 1, 1, 3)};
    for (int k = 0; k < 3; k++) {
        char json[2048];
        snprintf(json, sizeof json, fmt, posts[k]);
        wd_tokenizer *t;
        if (wd_tokenizer_load_json(json, strlen(json), NULL, 0, "inline", &t)) fail_msg("%s", wd_last_error());
        expect_ids(t, "a a", true, false, want[k]);
        expect_ids(t, "a a", false, false, IDS(1, 1));
        wd_encoding *e;
        assert_int_equal(wd_tokenizer_encode(t, "a a", 3, NULL, &e), WD_OK);
        const uint8_t *sp = wd_encoding_special_mask(e);
        assert_int_equal(sp[0], 1);
        assert_int_equal(sp[wd_encoding_len(e) - 2], 0);
        assert_int_equal(sp[wd_encoding_len(e) - 1], 1);
        assert_int_equal(wd_encoding_offsets(e)[0].start, 0);
        assert_int_equal(wd_encoding_offsets(e)[0].end, 0);
        wd_encoding_free(e);
        wd_tokenizer_free(t);
    }
}

static void test_encode_ids_buffer(void **state) {
    wd_tokenizer *t = fixture("bpe-spm");
    int32_t ids[2];
    size_t need;
    /* "a b" + <s> needs 4 ids: too small a buffer says how many */
    assert_int_equal(wd_tokenizer_encode_ids(t, "a b", 3, NULL, ids, 2, &need), WD_ERR_RANGE);
    assert_int_equal(need, 4);
    int32_t big[4];
    assert_int_equal(wd_tokenizer_encode_ids(t, "a b", 3, NULL, big, 4, &need), WD_OK);
    assert_int_equal(big[0], 1);
    assert_int_equal(big[1], 262);
    /* decode of an id out of range: a clear error */
    char *s;
    assert_int_equal(wd_tokenizer_decode(t, (const int32_t[]){5000}, 1, NULL, &s, NULL), WD_ERR_RANGE);
    assert_null(s);
    assert_non_null(strstr(wd_last_error(), "5000"));
    wd_tokenizer_free(t);
}

/* ==== corrupt files ====================================================== */

static void expect_load_error(const char *json, wd_status want, const char *msg_part) {
    wd_tokenizer *t = (wd_tokenizer *)1;
    wd_status st = wd_tokenizer_load_json(json, strlen(json), NULL, 0, "bad.json", &t);
    if (st != want) fail_msg("load '%s': status %d (%s), want %d", json, st, wd_last_error(), want);
    assert_null(t);
    if (!strstr(wd_last_error(), msg_part)) fail_msg("message '%s' lacks '%s'", wd_last_error(), msg_part);
    if (!strstr(wd_last_error(), "bad.json")) fail_msg("message '%s' does not name the file", wd_last_error());
}

static void test_corrupt(void **state) {
    expect_load_error("{\"version\": \"1.0\"}", WD_ERR_FORMAT, "'model' is missing");
    expect_load_error("{\"model\": [1]}", WD_ERR_FORMAT, "expected an object");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": [\"a\"]}}", WD_ERR_FORMAT, "model.vocab");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}}}", WD_ERR_FORMAT, "model.vocab['a']");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}}",
                      WD_ERR_FORMAT, "token 'c' is not in the vocab");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}",
                      WD_ERR_FORMAT, "merged token 'ab' is not in the vocab");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [3]}}", WD_ERR_FORMAT,
                      "model.merges[0]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}", WD_ERR_FORMAT,
                      "one space");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"unk_token\": \"<unk>\"}}",
                      WD_ERR_FORMAT, "unk_token");
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", WD_ERR_FORMAT, "[UNK]");
    expect_load_error("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}", WD_ERR_FORMAT, "[piece, score]");
    expect_load_error("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}", WD_ERR_UNSUPPORTED, "WordLevel");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"normalizer\": {\"type\": \"Nmt\"}}",
                      WD_ERR_UNSUPPORTED, "normalizer 'Nmt'");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"normalizer\": {\"type\": \"Precompiled\"}}",
                      WD_ERR_FORMAT, "precompiled_charsmap");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"normalizer\": 7}", WD_ERR_FORMAT, "normalizer");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"pre_tokenizer\": {\"type\": \"Split\","
                      " \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}}", WD_ERR_FORMAT, "invalid regex");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"pre_tokenizer\": {\"type\": \"Split\","
                      " \"pattern\": {\"String\": \"x\"}, \"behavior\": \"Sideways\"}}", WD_ERR_FORMAT, "Sideways");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"added_tokens\": [{\"content\": \"x\"}]}",
                      WD_ERR_FORMAT, "added_tokens[0]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"decoder\": {\"type\": \"CTC\"}}",
                      WD_ERR_UNSUPPORTED, "CTC");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}, \"post_processor\": {\"type\": \"BertProcessing\"}}",
                      WD_ERR_FORMAT, "cls");
    expect_load_error("{\"model\": ", WD_ERR_FORMAT, "invalid JSON");
    /* ids index tables, so they are bounded by the vocabulary
     * (an id of 1e9 in a 1 KB file asked for gigabytes) */
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1000000000}}}",
                      WD_ERR_FORMAT, "model.vocab['b']: id 1000000000 is out of range: the vocabulary has 2 tokens");
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"x\": 5}}}",
                      WD_ERR_FORMAT, "model.vocab['x']: id 5 is out of range");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"added_tokens\": "
                      "[{\"id\": 1000000000, \"content\": \"<x>\"}]}",
                      WD_ERR_FORMAT, "added_tokens[0]: field 'id': 1000000000 is out of range");
    /* a token given twice means two ids for one string */
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"a\": 2}}}",
                      WD_ERR_FORMAT, "duplicate key 'a'");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}} trailing", WD_ERR_FORMAT,
                      "text after the JSON value");
    {
        /* ids that fit: added tokens reuse or extend the model's ids;
         * a vocabulary token may be U+0000 */
        const char *ok = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"\\u0000\": 1}},"
                         " \"added_tokens\": [{\"id\": 0, \"content\": \"a\"}, {\"id\": 3, \"content\": \"<y>\"},"
                         " {\"id\": 2, \"content\": \"<x>\"}]}";
        wd_tokenizer *t;
        assert_int_equal(wd_tokenizer_load_json(ok, strlen(ok), NULL, 0, "ok.json", &t), WD_OK);
        assert_int_equal(wd_tokenizer_vocab_size(t), 4);
        wd_tokenizer_free(t);
    }
    expect_load_error("[]", WD_ERR_FORMAT, "expected a JSON object");
    /* a folder without tokenizer.json */
    char *dir = wdt_tmpdir("tok_empty");
    wd_tokenizer *t;
    assert_int_equal(wd_tokenizer_load(dir, &t), WD_ERR_NOT_FOUND);
    assert_null(t);
    assert_non_null(strstr(wd_last_error(), "tokenizer.json"));
    free(dir);
    /* NULL arguments */
    assert_int_equal(wd_tokenizer_load(NULL, &t), WD_ERR_INVALID_ARG);
    wd_tokenizer_free(NULL);
    wd_encoding_free(NULL);
    assert_int_equal(wd_encoding_len(NULL), 0);
}

/* ==== chat templates ===================================================== */

static void expect_render(wd_chat_format f, const wd_chat_message *m, size_t n, bool gen, const char *want) {
    wd_chat_params p = wd_chat_params_default();
    p.format = f;
    p.add_generation_prompt = gen;
    char *s;
    size_t len;
    wd_status st = wd_chat_render(m, n, &p, &s, &len);
    if (st) fail_msg("render %s: %s", wd_chat_format_name(f), wd_last_error());
    if (strcmp(s, want)) fail_msg("%s rendered\n[%s]\nwant\n[%s]", wd_chat_format_name(f), s, want);
    assert_int_equal(len, strlen(want));
    free(s);
}

static void test_chat_templates(void **state) {
    const wd_chat_message conv[] = {
        {"system", "Be brief."}, {"user", " Hi "}, {"assistant", "Hello."}, {"user", "Why?"},
    };
    /* Llama-2-chat: system inside the first [INST], contents stripped,
     * answers followed by " </s>", BOS before every [INST]. The template
     * strips "<<SYS>>...<</SYS>>\n\n" + content as a whole, so the leading
     * space of " Hi " survives there. */
    expect_render(WD_CHAT_FORMAT_LLAMA2, conv, 4, true,
                  "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi [/INST] Hello. </s><s>[INST] Why? [/INST]");
    expect_render(WD_CHAT_FORMAT_LLAMA2, conv + 1, 1, true, "<s>[INST] Hi [/INST]");
    /* Llama 3: headers, trimmed contents, <|eot_id|>, generation prompt */
    expect_render(WD_CHAT_FORMAT_LLAMA3, conv, 2, true,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect_render(WD_CHAT_FORMAT_LLAMA3, conv + 1, 1, false,
                  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
    /* ChatML: contents verbatim */
    expect_render(WD_CHAT_FORMAT_CHATML, conv, 3, true,
                  "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hi <|im_end|>\n"
                  "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>assistant\n");
    /* Mistral: BOS once, system before the first user message */
    expect_render(WD_CHAT_FORMAT_MISTRAL, conv, 4, true, "<s>[INST] Be brief.\n\n Hi  [/INST]Hello.</s>[INST] Why? [/INST]");
    /* Gemma: assistant is "model" */
    expect_render(WD_CHAT_FORMAT_GEMMA, conv + 1, 2, true,
                  "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
                  "<start_of_turn>model\n");
    /* roles must alternate where the template says so */
    wd_chat_params p = wd_chat_params_default();
    p.format = WD_CHAT_FORMAT_LLAMA2;
    char *s;
    const wd_chat_message bad[] = {{"user", "a"}, {"user", "b"}};
    assert_int_equal(wd_chat_render(bad, 2, &p, &s, NULL), WD_ERR_INVALID_ARG);
    assert_null(s);
    assert_non_null(strstr(wd_last_error(), "alternate"));
    const wd_chat_message odd[] = {{"robot", "a"}};
    p.format = WD_CHAT_FORMAT_CHATML;
    assert_int_equal(wd_chat_render(odd, 1, &p, &s, NULL), WD_ERR_INVALID_ARG);
    p.format = WD_CHAT_FORMAT_UNKNOWN;
    assert_int_equal(wd_chat_render(conv, 1, &p, &s, NULL), WD_ERR_INVALID_ARG);

    /* detection from template snippets of each family */
    assert_int_equal(wd_chat_format_detect("{{ '<|start_header_id|>' + role }}"), WD_CHAT_FORMAT_LLAMA3);
    assert_int_equal(wd_chat_format_detect("{{'<|im_start|>' + message['role']}}"), WD_CHAT_FORMAT_CHATML);
    assert_int_equal(wd_chat_format_detect("{{ '<start_of_turn>' + role }}"), WD_CHAT_FORMAT_GEMMA);
    assert_int_equal(wd_chat_format_detect("'<<SYS>>\\n' + system + '[INST]'"), WD_CHAT_FORMAT_LLAMA2);
    assert_int_equal(wd_chat_format_detect("{{ '[INST] ' + content + ' [/INST]' }}"), WD_CHAT_FORMAT_MISTRAL);
    assert_int_equal(wd_chat_format_detect("<|start_header_id|> <BEGIN UNSAFE CONTENT CATEGORIES>"),
                     WD_CHAT_FORMAT_LLAMA_GUARD3);
    assert_int_equal(wd_chat_format_detect("{{ messages }}"), WD_CHAT_FORMAT_UNKNOWN);
    assert_int_equal(wd_chat_format_detect(NULL), WD_CHAT_FORMAT_UNKNOWN);
    wd_chat_format f;
    assert_int_equal(wd_chat_format_parse("qwen2", &f), WD_OK);
    assert_int_equal(f, WD_CHAT_FORMAT_CHATML);
    assert_int_equal(wd_chat_format_parse("jinja", &f), WD_ERR_NOT_FOUND);
    assert_string_equal(wd_chat_format_name(WD_CHAT_FORMAT_LLAMA_GUARD3), "llama-guard-3");

    /* render with a tokenizer: format from its chat_template (the fixture's
     * is [INST]-style without <<SYS>>: mistral), BOS/EOS from its config */
    wd_tokenizer *t = fixture("bpe-spm");
    size_t len;
    assert_int_equal(wd_chat_render_tok(t, conv + 1, 1, NULL, &s, &len), WD_OK);
    assert_string_equal(s, "<s>[INST]  Hi  [/INST]");
    free(s);
    wd_tokenizer_free(t);
    /* a tokenizer without a template needs a named format */
    t = fixture("wordpiece");
    assert_int_equal(wd_chat_render_tok(t, conv + 1, 1, NULL, &s, &len), WD_ERR_NOT_FOUND);
    wd_tokenizer_free(t);
}

/* Meta's Llama Guard 3 prompt, written out in full. */
static const char LG3_USER[] =
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
    "Task: Check if there is unsafe content in 'User' messages in conversations according our safety policy "
    "with the below categories.\n\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
    "S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\n"
    "S5: Defamation.\nS6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\n"
    "S9: Indiscriminate Weapons.\nS10: Hate.\nS11: Self-Harm.\nS12: Sexual Content.\nS13: Elections.\n"
    "S14: Code Interpreter Abuse.\n"
    "<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\n"
    "User: How do I bake bread?\n\n"
    "<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST User message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";

static void test_llama_guard3(void **state) {
    const wd_chat_message m[] = {{"user", "  How do I bake bread?\n"}, {"assistant", "Mix flour and water."}};
    char *s;
    size_t len;
    assert_int_equal(wd_llama_guard3_prompt(m, 1, 0, &s, &len), WD_OK);
    assert_string_equal(s, LG3_USER);
    free(s);
    /* ending with the assistant: the Agent is checked */
    assert_int_equal(wd_llama_guard3_prompt(m, 2, 0, &s, &len), WD_OK);
    assert_non_null(strstr(s, "unsafe content in 'Agent' messages"));
    assert_non_null(strstr(s, "User: How do I bake bread?\n\nAgent: Mix flour and water.\n\n<END CONVERSATION>"));
    assert_non_null(strstr(s, "ONLY THE LAST Agent message"));
    free(s);
    /* a subset of categories keeps their codes */
    assert_int_equal(wd_llama_guard3_prompt(m, 1, WD_CATMASK(WD_CATEGORY_S1) | WD_CATMASK(WD_CATEGORY_S10), &s, &len), WD_OK);
    assert_non_null(strstr(s, "<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\nS10: Hate.\n<END UNSAFE"));
    free(s);
    assert_int_equal(wd_llama_guard3_prompt(m, 0, 0, &s, &len), WD_ERR_INVALID_ARG);
    /* the format is detected from the real template's markers */
    assert_int_equal(wd_chat_format_detect("{{ \" <|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n"
                                           "Task: ... <BEGIN UNSAFE CONTENT CATEGORIES>\\nS1: ...\" }}"),
                     WD_CHAT_FORMAT_LLAMA_GUARD3);
}

/* ==== CLI ================================================================ */

static void test_cli(void **state) {
    char args[4096], *out, *err;
    snprintf(args, sizeof args, "tokenize --model %s/tokenizers/bpe-spm --ids 'ab'", WD_TEST_FIXTURES);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_string_equal(out, "1 264\n");
    free(out);
    free(err);
    snprintf(args, sizeof args, "tokenize --model %s/tokenizers/bpe-spm/tokenizer.json --json --no-special 'ab'",
             WD_TEST_FIXTURES);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_string_equal(out, "{\"ids\":[264],\"tokens\":[\"\xE2\x96\x81" "ab\"],\"offsets\":[[0,2]]}\n");
    free(out);
    free(err);
    {
        /* a vocabulary with raw invalid UTF-8 (cJSON does not check): the
         * JSON output stays valid, the bad byte written as U+FFFD */
        char *dir = wdt_tmpdir("tok_badutf8");
        char path[1100];
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        const char *tj = "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK\xff]\","
                         " \"vocab\": {\"[UNK\xff]\": 0, \"hi\": 1}}}";
        wdt_write_file(path, tj, strlen(tj));
        snprintf(args, sizeof args, "tokenize --model '%s' --json 'zz'", dir);
        assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
        assert_string_equal(out, "{\"ids\":[0],\"tokens\":[\"[UNK\xEF\xBF\xBD]\"],"
                                 "\"offsets\":[[0,2]]}\n");
        free(out);
        free(err);
        free(dir);
    }
    snprintf(args, sizeof args, "tokenize --model %s/tokenizers/bpe-spm -", WD_TEST_FIXTURES);
    assert_int_equal(wdt_cli(args, "ab", &out, &err), 0);
    assert_string_equal(out, "1\t\"<s>\"\t0:0\n264\t\"\xE2\x96\x81" "ab\"\t0:2\n");
    free(out);
    free(err);
    snprintf(args, sizeof args, "detokenize --model %s/tokenizers/bpe-spm --skip-special '1, 264, 259, 198, 172'",
             WD_TEST_FIXTURES);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_string_equal(out, "ab \xC3\xA9\n");
    free(out);
    free(err);
    /* chat: the fixture's template is recognised (mistral); the rendered
     * prompt is encoded without adding <s> again */
    snprintf(args, sizeof args, "tokenize --model %s/tokenizers/bpe-spm --chat auto --ids 'ab'", WD_TEST_FIXTURES);
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_true(!strncmp(out, "1 ", 2));
    free(out);
    free(err);
    /* errors: usage 2, runtime 3 */
    assert_int_equal(wdt_cli("tokenize 'x'", NULL, NULL, NULL), 2);
    assert_int_equal(wdt_cli("tokenize --model /nonexistent 'x'", NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "tokenizer"));
    free(err);
    snprintf(args, sizeof args, "detokenize --model %s/tokenizers/bpe-spm 99999", WD_TEST_FIXTURES);
    assert_int_equal(wdt_cli(args, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "99999"));
    free(err);
    snprintf(args, sizeof args, "tokenize --model %s/tokenizers/bpe-spm --chat jinja x", WD_TEST_FIXTURES);
    assert_int_equal(wdt_cli(args, NULL, NULL, NULL), 2);
    assert_int_equal(wdt_cli("tokenize --help", NULL, NULL, NULL), 0);
    assert_int_equal(wdt_cli("detokenize --help", NULL, NULL, NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytelevel_merges),
        cmocka_unit_test(test_added_tokens),
        cmocka_unit_test(test_added_normalized),
        cmocka_unit_test(test_spm_bpe),
        cmocka_unit_test(test_unk_fuse),
        cmocka_unit_test(test_ignore_merges_and_affixes),
        cmocka_unit_test(test_wordpiece),
        cmocka_unit_test(test_unigram),
        cmocka_unit_test(test_unigram_byte_fallback),
        cmocka_unit_test(test_postprocessors),
        cmocka_unit_test(test_encode_ids_buffer),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_chat_templates),
        cmocka_unit_test(test_llama_guard3),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
