/*
 * tools/warden/cmd_model.c - `warden generate`, `warden classify` and
 * `warden score`: run a Hugging Face checkpoint with the runtime
 * (include/warden/model.h, docs/runtime.md).
 *
 *   warden generate --model DIR [--chat [--chat-format F] [--system T]]
 *       [--max-tokens N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
 *       [--repeat-penalty R] [--seed S] [--stop STR]... [--threads N] PROMPT
 *   warden classify --model DIR [--json] [--threads N] TEXT
 *   warden score    --model DIR [--json] [--threads N] TEXT
 *
 * TEXT / PROMPT is text (encoded with the folder's tokenizer.json; '-'
 * reads standard input) or, with --ids, comma-separated token ids (for
 * checkpoints without a tokenizer). generate streams the text to stdout as
 * it is produced (ids when there is no tokenizer).
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"

typedef struct model_args {
    const char *cmd;
    const char *model, *text, *chat_format, *system, *steer;
    bool        ids, json, chat;
    long        threads, max_tokens, top_k, n_ctx;
    double      temp, top_p, min_p, repeat_penalty;
    unsigned long long seed;
    const char *stop[8];
    size_t      n_stop;
} model_args;

static char *read_all(FILE *f) {
    size_t cap = 4096, n = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
    }
    if (b) b[n] = '\0';
    return b;
}

#define O(f) offsetof(model_args, f)

/* --chat-format F: implies --chat (the field: the model_args itself, at offset 0). */
static bool chat_format_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    model_args *a = field;
    a->chat_format = v;
    a->chat = true;
    return true;
}

/* Parses argv by the command's rows (or prints its help); returns -1 to
 * go on, else an exit status. */
static int parse_args(model_args *a, const cli_flag *rows, size_t n_rows, int col, int argc, char **argv) {
    cli_spec spec = {a->cmd, {{rows, n_rows, a}}, .col = col, .max_pos = 1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, &a->text, &(int){0});
    if (rc >= 0) return rc;
    if (!a->model) return cli_usage_error(a->cmd, "--model DIR is required");
    if (!a->text) return cli_usage_error(a->cmd, "missing TEXT (or '-' for standard input)");
    if (a->chat && a->ids) return cli_usage_error(a->cmd, "--chat needs text, not --ids");
    return -1;
}

/* The flags classify and score share, after their own header. */
#define CLASSIFIER_ROWS                                  \
    CLI_STR("--model", O(model), "DIR", NULL),           \
    CLI_INT("--threads", O(threads), "N", 0, 1024, NULL), \
    CLI_INT("--n-ctx", O(n_ctx), "N", 1, 1 << 24, NULL),  \
    CLI_BOOL("--ids", O(ids), NULL)

/* Loads the model and turns the input into ids (*ids malloc'd). */
static int load_and_encode(const model_args *a, wd_model **mout, int32_t **ids, size_t *n) {
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = (int)a->threads;
    wd_model *m = NULL;
    wd_status st = wd_model_load(a->model, &mp, &m);
    if (st) return cli_fail(st, "loading the model");
    char *owned = NULL;
    const char *text = a->text;
    if (!strcmp(text, "-")) {
        if (!(owned = read_all(stdin))) {
            wd_model_free(m);
            return cli_error("reading standard input failed");
        }
        text = owned;
    }
    *ids = NULL;
    *n = 0;
    if (a->ids) {
        size_t cap = strlen(text) / 2 + 2;
        int32_t *v = malloc(cap * sizeof *v);
        const char *p = text;
        while (v && *p) {
            while (*p == ',' || *p == ' ' || *p == '\n' || *p == '[' || *p == ']') p++;
            if (!*p) break;
            char *end;
            long x = strtol(p, &end, 10);
            if (end == p || *n == cap) {
                free(v);
                free(owned);
                wd_model_free(m);
                return cli_usage_error(a->cmd, "--ids: cannot read '%s'", p);
            }
            v[(*n)++] = (int32_t)x;
            p = end;
        }
        *ids = v;
    } else {
        const wd_tokenizer *tok = wd_model_tokenizer(m);
        if (!tok) {
            free(owned);
            wd_model_free(m);
            return cli_error("%s has no tokenizer.json: pass token ids with --ids", a->model);
        }
        char *prompt = NULL;
        size_t len = strlen(text);
        wd_encode_params ep = wd_encode_params_default();
        if (a->chat) {
            wd_chat_params cp = wd_chat_params_default();
            if (a->chat_format && strcmp(a->chat_format, "auto") &&
                wd_chat_format_parse(a->chat_format, &cp.format)) {
                free(owned);
                wd_model_free(m);
                return cli_usage_error(a->cmd, "%s", wd_last_error());
            }
            wd_chat_message msgs[2];
            size_t nm = 0;
            if (a->system) msgs[nm++] = (wd_chat_message){"system", a->system};
            msgs[nm++] = (wd_chat_message){"user", text};
            if ((st = wd_chat_render_tok(tok, msgs, nm, &cp, &prompt, &len))) {
                free(owned);
                wd_model_free(m);
                return cli_fail(st, "rendering the chat template");
            }
            text = prompt;
            ep.add_special_tokens = false; /* the template wrote them */
        }
        wd_encoding *enc = NULL;
        st = wd_tokenizer_encode(tok, text, len, &ep, &enc);
        free(prompt);
        if (st) {
            free(owned);
            wd_model_free(m);
            return cli_fail(st, "encoding the text");
        }
        *n = wd_encoding_len(enc);
        *ids = malloc((*n ? *n : 1) * sizeof **ids);
        if (*ids) memcpy(*ids, wd_encoding_ids(enc), *n * sizeof **ids);
        wd_encoding_free(enc);
    }
    free(owned);
    if (!*ids) {
        wd_model_free(m);
        return cli_error("out of memory");
    }
    if (*n == 0) {
        free(*ids);
        wd_model_free(m);
        return cli_error("the input has no tokens");
    }
    *mout = m;
    return -1;
}

static int new_context(const model_args *a, wd_model *m, size_t n_min, wd_context **ctx) {
    wd_context_params cp = wd_context_params_default();
    const wd_model_config *c = wd_model_get_config(m);
    size_t max = (size_t)wd_model_config_max_position_embeddings(c);
    cp.n_ctx = a->n_ctx ? (size_t)a->n_ctx : (n_min > 2048 ? n_min : 2048);
    if (cp.n_ctx > max) cp.n_ctx = max;
    wd_status st = wd_context_new(m, &cp, ctx);
    if (st) return cli_fail(st, "creating the context");
    return -1;
}

/* ==== generate ============================================================ */

static bool stream_piece(int32_t id, const char *piece, void *user) {
    if (piece) fputs(piece, stdout);
    else if (id >= 0) printf("%s%d", *(bool *)user ? "," : "", id); /* as --ids takes them */
    *(bool *)user = true;
    fflush(stdout);
    return true;
}

static const cli_flag GENERATE_ROWS[] = {
    CLI_TEXT("usage: warden generate --model DIR [options] PROMPT|-\n\n"
             "Generates a continuation of PROMPT with a decoder checkpoint (llama, mistral,\n"
             "qwen2, qwen3, phi3, granite families) and streams it to standard output.\n\n"),
    CLI_STR("--model", O(model), "DIR", "checkpoint folder (config.json, safetensors, tokenizer.json)"),
    CLI_BOOL("--ids", O(ids), "PROMPT is comma-separated token ids; output is ids too\n"
                              "unless the folder has a tokenizer"),
    CLI_BOOL("--chat", O(chat), "render PROMPT as the user's message with the chat template"),
    CLI_CALL("--chat-format", 0, chat_format_flag, "F", "the template: auto (default), llama-2, llama-3, chatml,\n"
                                                         "mistral, gemma, llama-guard-3"),
    CLI_STR("--system", O(system), "TEXT", "a system message for --chat"),
    CLI_INT("--max-tokens", O(max_tokens), "N", 1, 1 << 24, "most tokens to generate (default 256)"),
    CLI_DOUBLE("--temp", O(temp), "T", 0, 100, "temperature; 0 = greedy (default 0.8)"),
    CLI_INT("--top-k", O(top_k), "K", 0, 1 << 24, "keep the K most likely tokens; 0 = all (default 40)"),
    CLI_DOUBLE("--top-p", O(top_p), "P", 0, 1, "nucleus sampling mass (default 0.95)"),
    CLI_DOUBLE("--min-p", O(min_p), "P", 0, 1, "drop tokens below P x the best one's probability (0.05)"),
    CLI_DOUBLE("--repeat-penalty", O(repeat_penalty), "R", 0.01, 100,
               "penalty on the last 64 tokens (default 1 = none)"),
    CLI_U64("--seed", O(seed), "S", "random seed (default 42)"),
    CLI_LIST("--stop", O(stop), O(n_stop), 8, "STR", "stop when STR appears in the output (up to 8)"),
    CLI_INT("--n-ctx", O(n_ctx), "N", 1, 1 << 24, "context length (default min(2048, the model's))"),
    CLI_INT("--threads", O(threads), "N", 0, 1024, "threads (default: all CPUs)"),
    CLI_STR("--steer", O(steer), "FILE:A[@L]", "add A x the direction of FILE (warden steer --extract)\n"
                                               "to the residual stream entering layer L (default: the\n"
                                               "file's) at every position; A < 0 subtracts it"),
};

int cmd_generate(int argc, char **argv) {
    wd_generate_params gp = wd_generate_params_default();
    model_args a = {.cmd = "generate",
                    .max_tokens = (long)gp.max_tokens,
                    .temp = gp.sampler.temperature,
                    .top_k = gp.sampler.top_k,
                    .top_p = gp.sampler.top_p,
                    .min_p = gp.sampler.min_p,
                    .repeat_penalty = gp.sampler.repeat_penalty,
                    .seed = gp.sampler.seed};
    int rc = parse_args(&a, GENERATE_ROWS, CLI_N(GENERATE_ROWS), 23, argc, argv);
    if (rc >= 0) return rc;
    wd_model *m = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if ((rc = load_and_encode(&a, &m, &ids, &n)) >= 0) return rc;
    if ((rc = cli_steer_apply(m, a.steer, "generate")) >= 0) {
        free(ids);
        wd_model_free(m);
        return rc;
    }
    wd_context *ctx = NULL;
    if ((rc = new_context(&a, m, n + (size_t)a.max_tokens, &ctx)) >= 0) {
        free(ids);
        wd_model_free(m);
        return rc;
    }
    gp.max_tokens = (size_t)a.max_tokens;
    gp.sampler.temperature = (float)a.temp;
    gp.sampler.top_k = (int)a.top_k;
    gp.sampler.top_p = (float)a.top_p;
    gp.sampler.min_p = (float)a.min_p;
    gp.sampler.repeat_penalty = (float)a.repeat_penalty;
    gp.sampler.seed = a.seed;
    gp.stop = a.stop;
    gp.n_stop = a.n_stop;
    bool started = false;
    size_t n_out = 0;
    wd_status st = wd_model_generate(ctx, ids, n, &gp, stream_piece, &started, NULL, 0, &n_out);
    printf("\n");
    /* the library's generation messages already say "generate:" */
    const char *why = st ? wd_model_last_error(m) : "";
    rc = st ? cli_error(strncmp(why, "generate:", 9) ? "generate: %s" : "%s", why) : CLI_OK;
    wd_context_free(ctx);
    free(ids);
    wd_model_free(m);
    return rc;
}

/* ==== classify ============================================================ */

static const cli_flag CLASSIFY_ROWS[] = {
    CLI_TEXT("usage: warden classify --model DIR [--json] [--ids] [--threads N] TEXT|-\n\n"
             "Runs a sequence-classification checkpoint (bert, roberta, distilbert) on TEXT\n"
             "and prints each label (config.json's id2label) with its probability, most\n"
             "likely first. The tokenizer adds the special tokens ([CLS] ... [SEP]); text\n"
             "longer than the model's positions is cut to fit.\n\n"),
    CLI_BOOL("--json", O(json), "print {\"label\": ..., \"probs\": {label: p, ...}}"),
    CLI_TEXT("TEXT is comma-separated token ids", .label = "--ids"),
    CLASSIFIER_ROWS,
};

int cmd_classify(int argc, char **argv) {
    model_args a = {.cmd = "classify"};
    int rc = parse_args(&a, CLASSIFY_ROWS, CLI_N(CLASSIFY_ROWS), 11, argc, argv);
    if (rc >= 0) return rc;
    wd_model *m = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if ((rc = load_and_encode(&a, &m, &ids, &n)) >= 0) return rc;
    size_t NL = wd_model_n_labels(m);
    wd_context *ctx = NULL;
    if (!NL) {
        rc = cli_error("%s has no sequence-classification head", a.model);
    } else if ((rc = new_context(&a, m, n, &ctx)) < 0) {
        size_t nc = wd_context_n_ctx(ctx);
        if (n > nc) n = nc;
        float *probs = malloc(NL * sizeof *probs), *logits = malloc(NL * sizeof *logits);
        size_t *order = malloc(NL * sizeof *order);
        wd_status st = probs && order && logits ? wd_model_classify(ctx, ids, n, probs, logits, NL)
                                                : WD_ERR_NOMEM;
        if (st) {
            rc = cli_error("classify: %s", wd_model_last_error(m));
        } else {
            for (size_t i = 0; i < NL; i++) order[i] = i;
            for (size_t i = 1; i < NL; i++)
                for (size_t j = i; j > 0 && probs[order[j]] > probs[order[j - 1]]; j--) {
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
            if (a.json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "label", wd_model_label(m, order[0]));
                cJSON *p = cJSON_AddObjectToObject(o, "probs");
                for (size_t i = 0; i < NL; i++) cJSON_AddNumberToObject(p, wd_model_label(m, i), probs[i]);
                cJSON *l = cJSON_AddObjectToObject(o, "logits");
                for (size_t i = 0; i < NL; i++) cJSON_AddNumberToObject(l, wd_model_label(m, i), logits[i]);
                cli_print_json(o);
            } else if (NL == 1) { /* a reward model or regressor: its score, not a probability of 1 */
                printf("score\t%.6f\n", logits[0]);
            } else {
                for (size_t i = 0; i < NL; i++)
                    printf("%s\t%.6f\n", wd_model_label(m, order[i]), probs[order[i]]);
            }
            rc = CLI_OK;
        }
        free(probs);
        free(logits);
        free(order);
    }
    wd_context_free(ctx);
    free(ids);
    wd_model_free(m);
    return rc;
}

/* ==== score =============================================================== */

static const cli_flag SCORE_ROWS[] = {
    CLI_TEXT("usage: warden score --model DIR [--json] [--ids] [--threads N] TEXT|-\n\n"
             "Prints the log-likelihood of TEXT under a decoder checkpoint: the sum over\n"
             "tokens 2..n of log p(token | the tokens before it), the number of tokens\n"
             "scored, and the perplexity exp(-logprob / n).\n\n"),
    CLI_BOOL("--json", O(json), "print {\"logprob\": ..., \"tokens\": ..., \"perplexity\": ...}"),
    CLI_TEXT("TEXT is comma-separated token ids", .label = "--ids"),
    CLASSIFIER_ROWS,
};

int cmd_score(int argc, char **argv) {
    model_args a = {.cmd = "score"};
    int rc = parse_args(&a, SCORE_ROWS, CLI_N(SCORE_ROWS), 11, argc, argv);
    if (rc >= 0) return rc;
    wd_model *m = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if ((rc = load_and_encode(&a, &m, &ids, &n)) >= 0) return rc;
    wd_context *ctx = NULL;
    if (wd_model_config_family(wd_model_get_config(m)) != WD_MODEL_FAMILY_DECODER) {
        rc = cli_error("score needs a decoder (llama, mistral, qwen2); %s is %s", a.model,
                       wd_model_config_model_type(wd_model_get_config(m)));
    } else if ((rc = new_context(&a, m, n, &ctx)) < 0) {
        double lp = 0, ppl = 0;
        size_t ns = 0;
        wd_status st = wd_model_score(ctx, ids, n, &lp, &ns, &ppl);
        if (st) rc = cli_error("score: %s", wd_model_last_error(m));
        else {
            if (a.json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "logprob", lp);
                cJSON_AddNumberToObject(o, "tokens", (double)ns);
                cJSON_AddNumberToObject(o, "perplexity", ppl);
                cli_print_json(o);
            } else
                printf("logprob\t%.6f\ntokens\t%zu\nperplexity\t%.6f\n", lp, ns, ppl);
            rc = CLI_OK;
        }
    }
    wd_context_free(ctx);
    free(ids);
    wd_model_free(m);
    return rc;
}
