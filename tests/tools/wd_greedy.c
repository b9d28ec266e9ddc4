/*
 * tests/tools/wd_greedy.c - greedy tokens from warden, in the output format
 * of tests/tools/llama_greedy.c (for tests/tools/llamacpp_interop.sh):
 *   wd_greedy MODEL N TEXT   (MODEL: a folder or a .gguf)
 * and "logits: X,..." the logits after the prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden/warden.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: wd_greedy MODEL N TEXT\n");
        return 2;
    }
    int n_new = atoi(argv[2]);
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = 1;
    wd_model *m;
    if (wd_model_load(argv[1], &mp, &m)) {
        fprintf(stderr, "wd_greedy: %s\n", wd_last_error());
        return 3;
    }
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    int32_t ids[256];
    size_t n = 0;
    if (!tok || wd_tokenizer_encode_ids(tok, argv[3], strlen(argv[3]), NULL, ids, 256, &n)) {
        fprintf(stderr, "wd_greedy: %s\n", tok ? wd_last_error() : "no tokenizer");
        return 3;
    }
    wd_context_params cp = {.n_ctx = n + (size_t)n_new + 1, .n_batch = 64};
    wd_context *ctx;
    if (wd_context_new(m, &cp, &ctx) || wd_model_decode(ctx, ids, n, NULL, WD_LOGITS_MODE_NONE)) {
        fprintf(stderr, "wd_greedy: %s\n", wd_last_error());
        return 3;
    }
    printf("prompt: ");
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("\ngreedy: ");
    size_t V = wd_model_n_vocab(m);
    float min_margin = 1e30f;
    float *first = calloc(V + 1, sizeof *first);
    if (!first) return 3;
    for (int k = 0; k < n_new; k++) {
        const float *lg = wd_context_logits(ctx);
        if (k == 0) memcpy(first, lg, V * sizeof *first);
        int32_t best = 0;
        for (size_t v = 1; v < V; v++)
            if (lg[v] > lg[best]) best = (int32_t)v;
        float second = -1e30f;
        for (size_t v = 0; v < V; v++)
            if ((int32_t)v != best && lg[v] > second) second = lg[v];
        if (lg[best] - second < min_margin) min_margin = lg[best] - second;
        printf("%s%d", k ? "," : "", best);
        if (wd_model_decode(ctx, &best, 1, NULL, WD_LOGITS_MODE_NONE)) return 3;
    }
    printf("\nmargin: %g\nlogits: ", min_margin);
    for (size_t v = 0; v < V; v++) printf("%s%.9g", v ? "," : "", first[v]);
    printf("\n");
    free(first);
    wd_context_free(ctx);
    wd_model_free(m);
    return 0;
}
