/*
 * tests/fuzz/fuzz_tokenizer_encode.c - libFuzzer target for encoding and
 * decoding. The first input byte picks one of four small tokenizers built
 * in memory (byte-level BPE with added tokens, SentencePiece-style BPE with
 * byte fallback, BERT WordPiece, Unigram with Metaspace); the rest is the
 * text. Invalid UTF-8 must be refused with WD_ERR_ENCODING; valid text must
 * encode with offsets inside the text, decode, and, for the byte-level and
 * byte-fallback models, decode back to itself (unless it holds an added
 * token or ▁); the stream decoder must agree with the whole decode.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden/tokenizer.h"

static wd_tokenizer *toks[4];

static size_t put_utf8(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* GPT-2's printable character for byte b */
static uint32_t bchar(int b, int *n) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    return (uint32_t)(256 + (*n)++);
}

static void build(void) {
    static char json[16384];
    size_t o = 0;
    o += (size_t)snprintf(json + o, sizeof json - o,
        "{\"added_tokens\": [{\"id\": 262, \"content\": \"<|end|>\", \"special\": true},"
        " {\"id\": 263, \"content\": \"<mask>\", \"special\": true, \"lstrip\": true},"
        " {\"id\": 264, \"content\": \"hi\", \"special\": false, \"single_word\": true, \"normalized\": true}],"
        " \"normalizer\": {\"type\": \"NFC\"},"
        " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false},"
        " \"post_processor\": {\"type\": \"ByteLevel\", \"trim_offsets\": true},"
        " \"decoder\": {\"type\": \"ByteLevel\"},"
        " \"model\": {\"type\": \"BPE\", \"vocab\": {");
    int n = 0;
    for (int b = 0; b < 256; b++) {
        char c[4];
        size_t k = put_utf8(bchar(b, &n), c);
        json[o++] = '"';
        if (c[0] == '"' || c[0] == '\\') json[o++] = '\\';
        memcpy(json + o, c, k);
        o += k;
        o += (size_t)snprintf(json + o, sizeof json - o, "\": %d, ", b);
    }
    o += (size_t)snprintf(json + o, sizeof json - o,
        "\"he\": 256, \"ll\": 257, \"hell\": 258, \"\\u0120t\": 259, \"\\u0120th\": 260, \"lo\": 261},"
        " \"merges\": [\"h e\", \"l l\", \"he ll\", \"\\u0120 t\", \"\\u0120t h\", \"l o\"]}}");
    wd_tokenizer_load_json(json, o, NULL, 0, "fuzz-bytelevel", &toks[0]);

    o = 0;
    o += (size_t)snprintf(json + o, sizeof json - o,
        "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true},"
        " {\"id\": 1, \"content\": \"<s>\", \"special\": true}],"
        " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},"
        " {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"}]},"
        " \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}},"
        " {\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1]}}},"
        " \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"\\u2581\"},"
        " \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \","
        " \"start\": 1, \"stop\": 0}]},"
        " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"byte_fallback\": true, \"fuse_unk\": true,"
        " \"vocab\": {\"<unk>\": 0, \"<s>\": 1");
    for (int b = 0; b < 256; b++) o += (size_t)snprintf(json + o, sizeof json - o, ", \"<0x%02X>\": %d", b, 2 + b);
    o += (size_t)snprintf(json + o, sizeof json - o,
        ", \"\\u2581\": 258, \"a\": 259, \"b\": 260, \"\\u2581a\": 261, \"ab\": 262, \"\\u2581ab\": 263},"
        " \"merges\": [[\"\\u2581\", \"a\"], [\"a\", \"b\"], [\"\\u2581a\", \"b\"]]}}");
    wd_tokenizer_load_json(json, o, NULL, 0, "fuzz-spm", &toks[1]);

    static const char wp[] =
        "{\"added_tokens\": [{\"id\": 1, \"content\": \"[UNK]\", \"special\": true}],"
        " \"normalizer\": {\"type\": \"BertNormalizer\"}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
        " \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 2], \"sep\": [\"[SEP]\", 3]},"
        " \"decoder\": {\"type\": \"WordPiece\"},"
        " \"model\": {\"type\": \"WordPiece\", \"max_input_chars_per_word\": 20, \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1,"
        " \"[CLS]\": 2, \"[SEP]\": 3, \"a\": 4, \"##a\": 5, \"b\": 6, \"##b\": 7, \"ab\": 8, \",\": 9}}}";
    wd_tokenizer_load_json(wp, sizeof wp - 1, NULL, 0, "fuzz-wordpiece", &toks[2]);

    static const char ug[] =
        "{\"pre_tokenizer\": {\"type\": \"Metaspace\"}, \"decoder\": {\"type\": \"Metaspace\"},"
        " \"normalizer\": {\"type\": \"NFKC\"},"
        " \"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], [\"\\u2581\", -2],"
        " [\"a\", -2], [\"b\", -2.5], [\"ab\", -3], [\"\\u2581ab\", -2.5]]}}";
    wd_tokenizer_load_json(ug, sizeof ug - 1, NULL, 0, "fuzz-unigram", &toks[3]);
    for (int k = 0; k < 4; k++)
        if (!toks[k]) abort(); /* the built-in tokenizers must load */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!toks[0]) build();
    if (size == 0) return 0;
    const wd_tokenizer *t = toks[data[0] & 3];
    bool lossless = (data[0] & 3) < 2;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = (data[0] & 4) != 0;
    ep.split_special_tokens = (data[0] & 8) != 0;
    wd_encoding *e = NULL;
    wd_status st = wd_tokenizer_encode(t, text, len, &ep, &e);
    if (st != WD_OK) {
        if (st != WD_ERR_ENCODING || e) abort(); /* only invalid UTF-8 may fail */
        return 0;
    }
    size_t n = wd_encoding_len(e);
    const int32_t *ids = wd_encoding_ids(e);
    const wd_offset *o = wd_encoding_offsets(e);
    for (size_t i = 0; i < n; i++)
        if (o[i].start > o[i].end || o[i].end > len) abort();
    wd_decode_params dp = wd_decode_params_default();
    dp.skip_special_tokens = true;
    char *back = NULL;
    size_t blen = 0;
    if (wd_tokenizer_decode(t, ids, n, &dp, &back, &blen) != WD_OK) abort();
    bool plain = !memmem(text, len, "<", 1) && !memmem(text, len, "hi", 2) && !memmem(text, len, "\xE2\x96\x81", 3);
    /* NFC may recompose: only ASCII text is compared for the byte-level one */
    bool ascii = true;
    for (size_t i = 0; i < len; i++) ascii = ascii && (unsigned char)text[i] < 0x80;
    if (lossless && plain && (ascii || (data[0] & 3) == 1) && (blen != len || memcmp(back, text, len))) abort();
    /* stream == whole decode */
    wd_tokenizer_stream *s;
    if (wd_tokenizer_stream_new(t, &dp, &s) != WD_OK) abort();
    char *joined = malloc(3 * blen + 3 * n + 16);
    size_t jn = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t pn;
        if (wd_tokenizer_stream_push(s, ids[i], &p, &pn) != WD_OK) abort();
        memcpy(joined + jn, p, pn);
        jn += pn;
    }
    const char *p;
    size_t pn;
    if (wd_tokenizer_stream_flush(s, &p, &pn) != WD_OK) abort();
    memcpy(joined + jn, p, pn);
    jn += pn;
    if (lossless && (jn != blen || memcmp(joined, back, blen))) abort();
    free(joined);
    wd_tokenizer_stream_free(s);
    free(back);
    wd_encoding_free(e);
    return 0;
}
