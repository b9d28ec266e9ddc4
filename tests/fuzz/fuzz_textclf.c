/*
 * tests/fuzz/fuzz_textclf.c - the classifier's model loader on arbitrary
 * bytes: it must either fail with a message or give a model whose
 * predictions are finite probabilities.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/textclf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_textclf *m = NULL;
    if (wd_textclf_from_memory(data, size, &m) != WD_OK) {
        if (m) abort();
        return 0;
    }
    static const char *texts[] = {"", "how do i bake bread", "\xc3\xa9t\xc3\xa9 x y z"};
    float p[WD_TEXTCLF_MAX_LABELS];
    for (size_t i = 0; i < 3; i++) {
        if (wd_textclf_predict(m, texts[i], strlen(texts[i]), p) != WD_OK) abort();
        for (size_t l = 0; l < wd_textclf_n_labels(m); l++)
            if (!(p[l] >= 0.0f && p[l] <= 1.0f)) abort();
    }
    wd_textclf_free(m);
    return 0;
}
