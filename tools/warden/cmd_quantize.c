/*
 * tools/warden/cmd_quantize.c - `warden quantize IN OUT --type TYPE`: write a
 * decoder checkpoint (model folder or .gguf) as a GGUF file llama.cpp loads,
 * its matrices in TYPE (wd_gguf_convert).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_flags.h"

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden quantize IN OUT --type TYPE\n\n"
             "Writes the decoder at IN (a model folder with config.json, safetensors and\n"
             "tokenizer.json, or a .gguf) as the GGUF file OUT, with llama.cpp's tensor\n"
             "names and metadata and the tokenizer as tokenizer.ggml.* (llama, mistral,\n"
             "qwen2, qwen3, granite, gemma2, gemma3_text).\n\n"),
    CLI_STR("--type", 0 /* the string itself */, "TYPE", "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k,\n"
                                     "or q4_k_m (llama.cpp's mix: q4_k with q6_k for some attn_v\n"
                                     "and ffn_down layers); 1-D tensors stay f32, and the output\n"
                                     "matrix is q6_k for every quantized type but q8_0."),
    CLI_TEXT("\nOUT is written atomically. Exit status: 0 ok, 2 usage error, 3 failure.\n"),
};

int cmd_quantize(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *type = NULL;
    cli_spec spec = {"quantize", {{ROWS, CLI_N(ROWS), &type}}, .col = 15, .unknown = "unknown flag '%s'", .max_pos = 2};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, pos, &(int){0});
    if (rc >= 0) return rc;
    const char *in = pos[0], *out = pos[1];
    if (!in || !out) return cli_usage_error("quantize", "missing IN or OUT");
    if (!type) return cli_usage_error("quantize", "missing --type");
    wd_gguf_convert_params p = wd_gguf_convert_params_default();
    if (!strcasecmp(type, "q4_k_m")) {
        p.q4_k_m = true;
    } else {
        static const char *ok[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1",
                                   "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"};
        bool found = false;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
            if (!strcasecmp(type, ok[i])) found = true;
        if (!found || wd_ggml_type_from_name(type, &p.type))
            return cli_usage_error("quantize",
                                   "--type: '%s' is not one of f32, f16, bf16, q8_0, q4_0, q4_1, "
                                   "q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m",
                                   type);
    }
    wd_status st = wd_gguf_convert(in, out, &p);
    if (st) return cli_fail(st, NULL);
    return CLI_OK;
}
