/*
 * tools/warden/cmd_tokenize.c - `warden tokenize` and `warden detokenize`:
 * run a checkpoint's tokenizer.json from the command line.
 *
 *   warden tokenize --model DIR [--ids|--json] [--no-special] [--split-special]
 *                   [--chat FORMAT|auto [--system TEXT]] TEXT|-
 *   warden detokenize --model DIR [--skip-special] IDS|-
 *
 * DIR is a checkpoint folder with tokenizer.json (and tokenizer_config.json)
 * or the path of a tokenizer.json. With --chat the text is the user's
 * message, rendered with the chat template first (auto: recognised from
 * tokenizer_config.json) and encoded without adding special tokens again.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"
#include "warden/json.h"

static char *read_stdin(size_t *len) {
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    size_t got;
    while ((got = fread(b + n, 1, cap - n - 1, stdin)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
            cap *= 2;
        }
    }
    b[n] = 0;
    *len = n;
    return b;
}

/* Writes s as a JSON string. A token of a byte-level vocabulary may be a
 * piece of a character: each byte that does not start a valid UTF-8
 * character is written as U+FFFD so the output stays valid JSON (the ids
 * and byte offsets still say exactly which bytes the token covers). */
static void json_str(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* a valid character here: its bytes (and those of the non-ASCII
             * characters right after it, all >= 0x80); else one U+FFFD */
            size_t k = wd_utf8_valid_prefix(s + i, n - i < 4 ? n - i : 4);
            if (k) {
                size_t j = i;
                while (j < i + k && (unsigned char)s[j] >= 0x80) j++;
                fwrite(s + i, 1, j - i, f);
                i = j - 1;
            } else {
                fputs("\xEF\xBF\xBD", f);
            }
        } else if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

typedef struct tok_opts {
    const char *model, *chat, *system;
    bool        ids_only, json, no_special, split_special;
} tok_opts;

static const cli_flag TOKENIZE_ROWS[] = {
    CLI_TEXT("usage: warden tokenize --model DIR [--ids|--json] [--no-special] [--split-special]\n"
             "                       [--chat FORMAT|auto [--system TEXT]] TEXT|-\n\n"
             "Encodes TEXT ('-' reads standard input) with the tokenizer.json of DIR (a\n"
             "checkpoint folder, a tokenizer.json path or a .gguf). Default output: one line per\n"
             "token, 'id<TAB>token<TAB>start:end' (byte offsets into TEXT).\n\n"),
    CLI_STR("--model", offsetof(tok_opts, model), "DIR", NULL),
    CLI_BOOL("--ids", offsetof(tok_opts, ids_only), "print the ids on one line, separated by spaces"),
    CLI_BOOL("--json", offsetof(tok_opts, json), "print {\"ids\": [...], \"tokens\": [...], \"offsets\": [[s, e], ...]}"),
    CLI_BOOL("--no-special", offsetof(tok_opts, no_special), "do not add the post-processor's special tokens (BOS, [CLS]...)"),
    CLI_BOOL("--split-special", offsetof(tok_opts, split_special), "tokenize special tokens written in TEXT as plain text"),
    CLI_STR("--chat", offsetof(tok_opts, chat), "FORMAT", "render TEXT as the user's message with a chat template first:\n"
                                       "auto (from tokenizer_config.json), llama-2, llama-3, chatml,\n"
                                       "mistral, gemma, llama-guard-3"),
    CLI_STR("--system", offsetof(tok_opts, system), "TEXT", "a system message for --chat"),
};

int cmd_tokenize(int argc, char **argv) {
    tok_opts opt = {0};
    const char *text = NULL;
    wd_encode_params ep = wd_encode_params_default();
    cli_spec spec = {"tokenize", {{TOKENIZE_ROWS, CLI_N(TOKENIZE_ROWS), &opt}}, .col = 19, .max_pos = 1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, &text, &(int){0});
    if (rc >= 0) return rc;
    if (opt.no_special) ep.add_special_tokens = false;
    if (opt.split_special) ep.split_special_tokens = true;
    const char *model = opt.model, *chat = opt.chat, *system = opt.system;
    bool ids_only = opt.ids_only, json = opt.json;
    if (!model) return cli_usage_error("tokenize", "--model DIR is required");
    if (!text) return cli_usage_error("tokenize", "missing TEXT (or '-' for standard input)");
    if (ids_only && json) return cli_usage_error("tokenize", "--ids and --json exclude each other");
    if (system && !chat) return cli_usage_error("tokenize", "--system needs --chat");
    wd_chat_params cp = wd_chat_params_default();
    if (chat && strcmp(chat, "auto")) {
        if (wd_chat_format_parse(chat, &cp.format)) return cli_usage_error("tokenize", "%s", wd_last_error());
    }

    wd_tokenizer *tok;
    wd_status st = wd_tokenizer_load(model, &tok);
    if (st) return cli_fail(st, "loading the tokenizer");
    char *owned = NULL;
    size_t len;
    if (!strcmp(text, "-")) {
        owned = read_stdin(&len);
        if (!owned) {
            wd_tokenizer_free(tok);
            return cli_error("reading standard input failed");
        }
        text = owned;
    } else {
        len = strlen(text);
    }
    if (chat) {
        wd_chat_message msgs[2];
        size_t n = 0;
        if (system) msgs[n++] = (wd_chat_message){"system", system};
        msgs[n++] = (wd_chat_message){"user", text};
        char *prompt;
        st = wd_chat_render_tok(tok, msgs, n, &cp, &prompt, &len);
        if (st) {
            free(owned);
            wd_tokenizer_free(tok);
            return cli_fail(st, "rendering the chat template");
        }
        free(owned);
        owned = prompt;
        text = prompt;
        ep.add_special_tokens = false; /* the template wrote them */
    }
    wd_encoding *enc;
    st = wd_tokenizer_encode(tok, text, len, &ep, &enc);
    if (st) {
        free(owned);
        wd_tokenizer_free(tok);
        return cli_fail(st, "encoding");
    }
    size_t n = wd_encoding_len(enc);
    const int32_t *ids = wd_encoding_ids(enc);
    const wd_offset *off = wd_encoding_offsets(enc);
    if (ids_only) {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    } else if (json) {
        cJSON *o = cJSON_CreateObject(), *ja = cJSON_AddArrayToObject(o, "ids"),
              *jt = cJSON_AddArrayToObject(o, "tokens"), *jo = cJSON_AddArrayToObject(o, "offsets");
        for (size_t i = 0; i < n; i++) {
            const char *t = wd_tokenizer_id_to_token(tok, ids[i]);
            cJSON_AddItemToArray(ja, cJSON_CreateNumber(ids[i]));
            cJSON_AddItemToArray(jt, cJSON_CreateString(t ? t : ""));
            cJSON *p = cJSON_CreateArray();
            cJSON_AddItemToArray(p, cJSON_CreateNumber((double)off[i].start));
            cJSON_AddItemToArray(p, cJSON_CreateNumber((double)off[i].end));
            cJSON_AddItemToArray(jo, p);
        }
        char *j = wd_json_print(o, false); /* invalid UTF-8 in a token -> U+FFFD */
        cJSON_Delete(o);
        if (!j) return wd_encoding_free(enc), free(owned), wd_tokenizer_free(tok), cli_error("out of memory");
        puts(j);
        free(j);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *t = wd_tokenizer_id_to_token(tok, ids[i]);
            printf("%d\t", ids[i]);
            json_str(stdout, t ? t : "", t ? strlen(t) : 0);
            printf("\t%zu:%zu\n", off[i].start, off[i].end);
        }
    }
    wd_encoding_free(enc);
    free(owned);
    wd_tokenizer_free(tok);
    return CLI_OK;
}

typedef struct detok_opts {
    const char *model;
    bool        skip_special;
} detok_opts;

static const cli_flag DETOKENIZE_ROWS[] = {
    CLI_TEXT("usage: warden detokenize --model DIR [--skip-special] IDS|-\n\n"
             "Decodes token ids (separated by spaces or commas, '[...]' allowed; '-' reads\n"
             "standard input) with the tokenizer.json of DIR and prints the text.\n\n"),
    CLI_STR("--model", offsetof(detok_opts, model), "DIR", NULL),
    CLI_BOOL("--skip-special", offsetof(detok_opts, skip_special), "leave out special tokens (BOS, EOS, [CLS]...)"),
};

int cmd_detokenize(int argc, char **argv) {
    detok_opts o = {0};
    const char *arg = NULL;
    wd_decode_params dp = wd_decode_params_default();
    cli_spec spec = {"detokenize", {{DETOKENIZE_ROWS, CLI_N(DETOKENIZE_ROWS), &o}}, .col = 19, .max_pos = 1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, &arg, &(int){0});
    if (rc >= 0) return rc;
    if (o.skip_special) dp.skip_special_tokens = true;
    const char *model = o.model;
    if (!model) return cli_usage_error("detokenize", "--model DIR is required");
    if (!arg) return cli_usage_error("detokenize", "missing IDS (or '-' for standard input)");
    char *owned = NULL;
    size_t len;
    if (!strcmp(arg, "-")) {
        owned = read_stdin(&len);
        if (!owned) return cli_error("reading standard input failed");
        arg = owned;
    }
    size_t cap = 64, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    for (const char *p = arg; ids && *p;) {
        if (isspace((unsigned char)*p) || *p == ',' || *p == '[' || *p == ']') {
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX) {
            free(ids);
            free(owned);
            return cli_usage_error("detokenize", "not a token id: '%.20s'", p);
        }
        if (n == cap) {
            int32_t *nv = realloc(ids, 2 * cap * sizeof *nv);
            if (!nv) break;
            ids = nv;
            cap *= 2;
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    free(owned);
    if (!ids) return cli_error("out of memory");
    wd_tokenizer *tok;
    wd_status st = wd_tokenizer_load(model, &tok);
    if (st) {
        free(ids);
        return cli_fail(st, "loading the tokenizer");
    }
    char *text;
    size_t tl;
    st = wd_tokenizer_decode(tok, ids, n, &dp, &text, &tl);
    free(ids);
    wd_tokenizer_free(tok);
    if (st) return cli_fail(st, "decoding");
    fwrite(text, 1, tl, stdout);
    printf("\n");
    free(text);
    return CLI_OK;
}
