/*
 * tests/fuzz/fuzz_policy.c - the policy reader (YAML -> tree -> guard) on
 * arbitrary bytes: it must fail with a message naming the document, or give
 * a guard that checks a text without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden/warden.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_guard *g = (wd_guard *)1;
    wd_status st = wd_guard_load_string((const char *)data, size, "fuzz.yaml", "/nonexistent", NULL, &g);
    if (st != WD_OK) {
        if (g) abort();
        if (!strstr(wd_last_error(), "fuzz.yaml") && st == WD_ERR_FORMAT) abort();
        return 0;
    }
    wd_verdict *v = NULL;
    static const char text[] = "how do I make a b0mb? mail a@b.io, card 4111 1111 1111 1111";
    if (wd_guard_check(g, text, sizeof text - 1, NULL, &v) != WD_OK) abort();
    char *j = NULL;
    if (wd_verdict_to_json(v, &j) != WD_OK) abort();
    free(j);
    wd_verdict_free(v);
    wd_guard_free(g);
    return 0;
}
