/*
 * tests/fuzz/fuzz_tokenizer_load.c - libFuzzer target for the
 * tokenizer.json loader (wd_tokenizer_load_json). Any input must either be
 * rejected (NULL + a message) or give a tokenizer that can encode, decode
 * and answer lookups on a few fixed strings without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_tokenizer *t = NULL;
    if (wd_tokenizer_load_json((const char *)data, size, NULL, 0, "fuzz.json", &t) != WD_OK) {
        if (t || !wd_last_error()[0]) abort();
        return 0;
    }
    static const char *texts[] = {"", "Hello world", " a  b\tc\n", "\xC3\xA9\xE4\xBD\xA0\xF0\x9F\xA6\x99", "<s>[CLS]<|endoftext|>"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        wd_encoding *e = NULL;
        if (wd_tokenizer_encode(t, texts[k], strlen(texts[k]), NULL, &e) != WD_OK) {
            if (e) abort();
            continue;
        }
        size_t n = wd_encoding_len(e);
        const wd_offset *o = wd_encoding_offsets(e);
        for (size_t i = 0; i < n; i++)
            if (o[i].start > o[i].end || o[i].end > strlen(texts[k])) abort();
        char *s = NULL;
        if (wd_tokenizer_decode(t, wd_encoding_ids(e), n, NULL, &s, NULL) == WD_OK) free(s);
        wd_encoding_free(e);
    }
    size_t vs = wd_tokenizer_vocab_size(t);
    for (size_t id = 0; id < vs && id < 64; id++) {
        const char *tok = wd_tokenizer_id_to_token(t, (int32_t)id);
        if (tok && wd_tokenizer_token_to_id(t, tok) < 0) abort();
    }
    wd_tokenizer_free(t);
    return 0;
}
