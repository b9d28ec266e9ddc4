/*
 * tests/tools/llama_greedy.c - greedy tokens from llama.cpp, for
 * tests/tools/llamacpp_interop.sh. Built by that script against a llama.cpp
 * build (not part of warden's build):
 *   llama_greedy MODEL.gguf N TEXT
 * prints "prompt: ID,ID,..." (llama.cpp's tokenization, special tokens
 * added) and "greedy: ID,..." (N argmax steps, temperature 0), and
 * "margin: X" the smallest top-2 logit gap seen, and "logits: X,..." the
 * logits after the prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: llama_greedy MODEL.gguf N TEXT\n");
        return 2;
    }
    int n_new = atoi(argv[2]);
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) return 3;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_threads = 1;
    cp.type_k = GGML_TYPE_F32; /* not F16: the comparison is of the weights' arithmetic */
    cp.type_v = GGML_TYPE_F32;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) return 3;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);
    llama_token toks[256];
    int n = llama_tokenize(vocab, argv[3], (int)strlen(argv[3]), toks, 256, true, true);
    if (n < 0) return 3;
    printf("prompt: ");
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", toks[i]);
    printf("\ngreedy: ");
    if (llama_decode(ctx, llama_batch_get_one(toks, n))) return 3;
    float min_margin = 1e30f;
    float *first = calloc((size_t)n_vocab + 1, sizeof *first);
    if (!first) return 3;
    for (int k = 0; k < n_new; k++) {
        const float *lg = llama_get_logits_ith(ctx, -1);
        if (k == 0) memcpy(first, lg, (size_t)n_vocab * sizeof *first);
        int best = 0;
        for (int v = 1; v < n_vocab; v++)
            if (lg[v] > lg[best]) best = v;
        float second = -1e30f;
        for (int v = 0; v < n_vocab; v++)
            if (v != best && lg[v] > second) second = lg[v];
        if (lg[best] - second < min_margin) min_margin = lg[best] - second;
        printf("%s%d", k ? "," : "", best);
        llama_token t = best;
        if (llama_decode(ctx, llama_batch_get_one(&t, 1))) return 3;
    }
    printf("\nmargin: %g\nlogits: ", min_margin);
    for (int v = 0; v < n_vocab; v++) printf("%s%.9g", v ? "," : "", first[v]);
    printf("\n");
    free(first);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
