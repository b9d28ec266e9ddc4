/*
 * tests/tools/wd_gen_checkpoint.c - command-line front of gen_checkpoint.c:
 * writes a tiny deterministic random checkpoint in the exact Hugging Face
 * layout (config.json + model.safetensors, or shards + index).
 *
 *   wd_gen_checkpoint --family llama --out DIR [--seed N] [--dtype F32|F16|BF16]
 *       [--layers N] [--hidden N] [--heads N] [--kv-heads N] [--intermediate N]
 *       [--vocab N] [--max-pos N] [--labels N] [--shards N] [--tie]
 *       [--attention-bias] [--rope-theta X] [--tokenizer PATH] [--head-dim N] [--untie]
 *       [--position-buckets N] [--max-relative-positions N] [--embedding-size N]
 *       [--deberta-classic]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "gen_checkpoint.h"

/* Copies tokenizer.json (and tokenizer_config.json when there is one) from
 * src (a file or a folder) into the folder out. */
static int copy_tokenizer(const char *src, const char *out) {
    char *dir = wd__path_is_dir(src) ? strdup(src) : NULL;
    if (!dir) {
        const char *slash = strrchr(src, '/');
        dir = slash ? strndup(src, (size_t)(slash - src)) : strdup(".");
    }
    static const char *const names[] = {"tokenizer.json", "tokenizer_config.json"};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        char *from = k == 0 && !wd__path_is_dir(src) ? strdup(src) : wd__path_join(dir, names[k]);
        char *to = wd__path_join(out, names[k]);
        char *buf = NULL;
        size_t len = 0;
        if (k == 1 && !wd__path_exists(from)) {
            /* optional */
        } else if (wd__file_read(from, 0, &buf, &len) || wd__file_write_atomic(to, buf, len)) {
            fprintf(stderr, "wd_gen_checkpoint: --tokenizer: %s\n", wd_last_error());
            rc = 3;
        }
        free(buf);
        free(from);
        free(to);
    }
    free(dir);
    return rc;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: wd_gen_checkpoint --family F --out DIR [options]\n\n"
            "Writes a tiny random checkpoint in the Hugging Face layout: config.json and\n"
            "model.safetensors (or --shards N files + model.safetensors.index.json).\n"
            "Decoders are *ForCausalLM; encoders *ForSequenceClassification with id2label.\n\n"
            "  --family F        llama, mistral, qwen2, qwen3, phi3, granite, gemma2, gemma3,\n"
            "                    bert, roberta, distilbert, modernbert, deberta-v2,\n"
            "                    xlm-roberta\n"
            "  --out DIR         folder to write (created if needed)\n"
            "  --seed N          random seed (default 1); same seed, same bytes\n"
            "  --dtype D         F32 (default), F16 or BF16\n"
            "  --layers N        hidden layers (default 2)\n"
            "  --hidden N        hidden size (default 32)\n"
            "  --heads N         attention heads (default 4)\n"
            "  --kv-heads N      key/value heads, decoders (default heads/2)\n"
            "  --intermediate N  MLP size (default 64)\n"
            "  --vocab N         vocabulary size (default 128)\n"
            "  --max-pos N       positions (default 64)\n"
            "  --labels N        classes of an encoder's classifier (default 2)\n"
            "  --shards N        split the weights over N files (default 1)\n"
            "  --tie             decoders: tie_word_embeddings (no lm_head.weight)\n"
            "  --attention-bias  llama, qwen3, granite: biases on q/k/v/o; modernbert: every\n"
            "                    optional bias\n"
            "  --rope-theta X    decoders (default 10000; gemma3: 1e6); modernbert's local\n"
            "                    layers\n"
            "  --head-dim N      qwen3, gemma2, gemma3: head_dim (default hidden / heads)\n"
            "  --untie           gemma2/gemma3: untied lm_head.weight (tied by default)\n"
            "  --position-buckets N  deberta-v2: relative position buckets (default 256;\n"
            "                    -1: none)\n"
            "  --max-relative-positions N  deberta-v2 (default -1: max positions)\n"
            "  --embedding-size N  deberta-v2: embedding width (default hidden; else\n"
            "                    embed_proj)\n"
            "  --deberta-classic deberta-v2: absolute positions, token types, separate\n"
            "                    pos_key_proj/pos_query_proj, no rel LayerNorm, tanh pooler\n"
            "  --tokenizer PATH  copy a tokenizer.json (a file, or a folder holding it and\n"
            "                    maybe tokenizer_config.json) into DIR; the vocabulary\n"
            "                    grows to cover the tokenizer's ids\n");
}

static int int_arg(const char *flag, const char *s, int lo, int hi) {
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || v < lo || v > hi) {
        fprintf(stderr, "wd_gen_checkpoint: %s: expected an integer in [%d, %d]\n", flag, lo, hi);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv) {
    wdt_gen_params p = wdt_gen_params_default(NULL);
    p.family = NULL;
    const char *out = NULL, *tokenizer = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--tie")) {
            p.tie = true;
            continue;
        }
        if (!strcmp(a, "--deberta-classic")) {
            p.deberta_classic = true;
            continue;
        }
        if (!strcmp(a, "--attention-bias")) {
            p.attention_bias = true;
            continue;
        }
        if (!strcmp(a, "--untie")) {
            p.untie = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "wd_gen_checkpoint: %s needs a value (or is unknown)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--family")) p.family = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--seed")) p.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--dtype")) {
            if (wd_dtype_from_name(v, &p.dtype) != WD_OK) {
                fprintf(stderr, "wd_gen_checkpoint: --dtype: F32, F16 or BF16\n");
                return 2;
            }
        } else if (!strcmp(a, "--layers")) p.n_layer = int_arg(a, v, 1, 1024);
        else if (!strcmp(a, "--hidden")) p.hidden = int_arg(a, v, 1, 1 << 16);
        else if (!strcmp(a, "--heads")) p.n_head = int_arg(a, v, 1, 1024);
        else if (!strcmp(a, "--kv-heads")) p.n_kv_head = int_arg(a, v, 1, 1024);
        else if (!strcmp(a, "--intermediate")) p.intermediate = int_arg(a, v, 1, 1 << 18);
        else if (!strcmp(a, "--vocab")) p.vocab = int_arg(a, v, 4, 1 << 20);
        else if (!strcmp(a, "--max-pos")) p.max_pos = int_arg(a, v, 1, 1 << 20);
        else if (!strcmp(a, "--labels")) p.num_labels = int_arg(a, v, 1, 10000);
        else if (!strcmp(a, "--shards")) p.shards = int_arg(a, v, 1, 1000);
        else if (!strcmp(a, "--rope-theta")) p.rope_theta = strtod(v, NULL);
        else if (!strcmp(a, "--head-dim")) p.head_dim = int_arg(a, v, 2, 1 << 12);
        else if (!strcmp(a, "--tokenizer")) tokenizer = v;
        else if (!strcmp(a, "--position-buckets")) p.position_buckets = int_arg(a, v, -1, 1 << 16);
        else if (!strcmp(a, "--max-relative-positions")) p.max_relative_positions = int_arg(a, v, -1, 1 << 20);
        else if (!strcmp(a, "--embedding-size")) p.embedding_size = int_arg(a, v, 0, 1 << 16);
        else {
            fprintf(stderr, "wd_gen_checkpoint: unknown flag '%s'\n", a);
            return 2;
        }
    }
    if (!p.family || !out) {
        usage(stderr);
        return 2;
    }
    if (tokenizer) {
        wd_tokenizer *tok;
        if (wd_tokenizer_load(tokenizer, &tok)) {
            fprintf(stderr, "wd_gen_checkpoint: --tokenizer: %s\n", wd_last_error());
            return 3;
        }
        size_t nv = wd_tokenizer_vocab_size(tok);
        wd_tokenizer_free(tok);
        if (nv > (size_t)p.vocab) p.vocab = (int)nv;
    }
    wd_status rc = wdt_gen_checkpoint(&p, out);
    if (rc) {
        fprintf(stderr, "wd_gen_checkpoint: %s\n", wd_last_error()[0] ? wd_last_error() : wd_status_str(rc));
        return 3;
    }
    return tokenizer ? copy_tokenizer(tokenizer, out) : 0;
}
