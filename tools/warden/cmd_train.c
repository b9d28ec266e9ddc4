/*
 * tools/warden/cmd_train.c - `warden train sft|reward|dpo --model DIR
 * --data FILE --out DIR [...]`: flags into wd_train_params, a progress line
 * per step on stderr (a terminal: one line rewritten), the summary on
 * stdout (--json: one object).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"

typedef struct train_opts {
    const char *model, *data, *eval_data, *out, *prompt_field, *response_field, *chosen_field,
        *rejected_field, *margin_field, *chat_format, *system, *schedule, *lora_targets,
        *freeze_layers, *freeze, *save_dtype, *adversarial, *distill, *away;
    double eval_fraction, adv_eps, away_w, dp_noise, dp_clip, dp_q, dp_delta, dp_eps, lr, warmup_ratio, min_lr_ratio, weight_decay, clip, lora_alpha, beta;
    long epochs, adv_steps, distill_max, batch, accum, max_len, lora_rank, threads;
    unsigned long long max_steps, seed, save_every, stop_after;
    bool merge, ckpt, ipo, dp, resume, json, quiet;
} train_opts;

#define O(f) offsetof(train_opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden train sft|reward|dpo --model DIR --data FILE --out DIR [options]\n"
             "       warden train init --out DIR [sizes]   (a new model: warden train init --help)\n\n"
             "Trains a llama/mistral/qwen2 checkpoint (a Hugging Face folder) on JSONL/JSON/CSV\n"
             "records rendered with the model's chat template:\n"
             "  sft     prompt + response: cross-entropy on the response tokens\n"
             "  reward  prompt + chosen + rejected [+ margin]: a scalar head, Llama 2's ranking\n"
             "          loss -log sigmoid(r_c - r_r - margin); pairwise accuracy reported\n"
             "  dpo     prompt + chosen + rejected: DPO (or --ipo) against the starting weights\n"
             "Writes DIR: the model (or the LoRA adapter, PEFT layout), train.jsonl, checkpoint/.\n\n"
             "data:\n"),
    CLI_STR("--model", O(model), "DIR", "the checkpoint to start from", .short_name = 'm'),
    CLI_STR("--data", O(data), "FILE", "training records"),
    CLI_STR("--eval-data", O(eval_data), "FILE", "held-out records (default: a split of --data)"),
    CLI_DOUBLE("--eval-fraction", O(eval_fraction), "F", 0, 0.9, "held out when no --eval-data (default %.2f)", .show = true),
    CLI_STR("--out", O(out), "DIR", "output folder", .short_name = 'o'),
    CLI_STR("--prompt-field", O(prompt_field), "NAME", "default prompt"),
    CLI_STR("--response-field", O(response_field), "NAME", "sft: default response"),
    CLI_STR("--chosen-field", O(chosen_field), "NAME", "reward, dpo: default chosen"),
    CLI_STR("--rejected-field", O(rejected_field), "NAME", "reward, dpo: default rejected"),
    CLI_STR("--margin-field", O(margin_field), "NAME", "reward: a margin column (default none)"),
    CLI_STR("--chat-format", O(chat_format), "F", "llama-2, llama-3, chatml, mistral, gemma, or none\n(default: the tokenizer's template)"),
    CLI_STR("--system", O(system), "TEXT", "a system message for every example"),
    CLI_INT("--max-len", O(max_len), "N", 2, 1 << 20, "tokens per sequence (default %ld)", .show = true),
    CLI_TEXT("\noptimisation:\n"),
    CLI_INT("--epochs", O(epochs), "N", 1, 100000, "passes over the data (default %ld)", .show = true),
    CLI_U64("--max-steps", O(max_steps), "N", "stop after N steps (default: the epochs)"),
    CLI_INT("--batch-size", O(batch), "N", 1, 4096, "sequences (pairs) per micro-batch (default %ld)", .show = true, .short_name = 'b'),
    CLI_INT("--grad-accum", O(accum), "N", 1, 4096, "micro-batches per step (default %ld)", .show = true),
    CLI_DOUBLE("--lr", O(lr), "X", 0, 1, "peak learning rate (default %g)", .open_lo = true, .show = true),
    CLI_STR("--schedule", O(schedule), "S", "cosine (default), linear or constant"),
    CLI_DOUBLE("--warmup", O(warmup_ratio), "F", 0, 1, "warmup as a fraction of the steps (default %g)", .show = true),
    CLI_DOUBLE("--min-lr-ratio", O(min_lr_ratio), "F", 0, 1, "the schedule's floor (default %g)", .show = true),
    CLI_DOUBLE("--weight-decay", O(weight_decay), "X", 0, 10, "AdamW's decoupled decay (default %g)", .show = true),
    CLI_DOUBLE("--clip", O(clip), "X", 0, 1e9, "gradient norm clip, 0 = none (default %g)", .show = true),
    CLI_U64("--seed", O(seed), "N", "data order and initialisation (default 1)"),
    CLI_TEXT("\nwhat trains:\n"),
    CLI_INT("--lora-rank", O(lora_rank), "R", 0, 4096, "LoRA adapters of rank R (default 0: full fine-tune)"),
    CLI_DOUBLE("--lora-alpha", O(lora_alpha), "A", 0, 1e6, "LoRA scale alpha / R (default %g)", .show = true, .open_lo = true),
    CLI_STR("--lora-targets", O(lora_targets), "LIST", "q_proj,v_proj (default), ... or all"),
    CLI_BOOL("--merge", O(merge), "with LoRA: also write the merged model to DIR/merged"),
    CLI_STR("--freeze-layers", O(freeze_layers), "A-B", "freeze layers A..B (SPPFT's safety layers)"),
    CLI_STR("--freeze", O(freeze), "LIST", "freeze tensors whose names contain one of these"),
    CLI_BOOL("--grad-checkpointing", O(ckpt), "keep only layer inputs; recompute in the backward"),
    CLI_TEXT("\nobjectives:\n"),
    CLI_DOUBLE("--beta", O(beta), "B", 0, 1e6, "dpo: beta (default %g)", .open_lo = true, .show = true),
    CLI_BOOL("--ipo", O(ipo), "dpo: the IPO loss instead"),
    CLI_STR("--distill-preprompt", O(distill), "FILE", "sft: context distillation: answers generated with\nFILE's text as the system message, trained without it"),
    CLI_INT("--distill-max-tokens", O(distill_max), "N", 1, 1 << 16, "length of those answers (default %ld)", .show = true),
    CLI_STR("--adversarial", O(adversarial), "embed", "sft: train on prompts attacked by PGD in embedding space"),
    CLI_STR("--away-field", O(away), "NAME", "sft: a harmful completion column: its unlikelihood\njoins the loss (away from the harmful target)"),
    CLI_DOUBLE("--away-weight", O(away_w), "W", 0, 1e6, "weight of that term (default %g)", .show = true, .open_lo = true),
    CLI_DOUBLE("--adv-eps", O(adv_eps), "E", 0, 100, "the attack's L2 ball per token, times the mean\nembedding norm (default %g)", .show = true, .open_lo = true),
    CLI_INT("--adv-steps", O(adv_steps), "K", 1, 1000, "sign-gradient steps of the attack (default %ld)", .show = true),
    CLI_TEXT("\ndifferential privacy (DP-SGD; the RDP accountant reports epsilon):\n"),
    CLI_BOOL("--dp", O(dp), "per-example clipping, Poisson lots, Gaussian noise"),
    CLI_DOUBLE("--noise", O(dp_noise), "S", 0, 1e6, "noise multiplier sigma (default %g)", .show = true, .open_lo = true),
    CLI_DOUBLE("--dp-clip", O(dp_clip), "C", 0, 1e9, "per-example clip norm (default %g)", .show = true, .open_lo = true),
    CLI_DOUBLE("--sample-rate", O(dp_q), "Q", 0, 1, "lot sampling rate (default: batch / examples)"),
    CLI_DOUBLE("--delta", O(dp_delta), "D", 0, 1, "delta (default %g)", .show = true, .open_lo = true),
    CLI_DOUBLE("--target-epsilon", O(dp_eps), "E", 0, 1e6, "solve sigma for this epsilon instead", .open_lo = true),
    CLI_TEXT("\nrun:\n"),
    CLI_INT("--threads", O(threads), "N", 0, 1024, "threads (default 0: every CPU)", .short_name = 't'),
    CLI_U64("--save-every", O(save_every), "N", "write DIR/checkpoint every N steps"),
    CLI_BOOL("--resume", O(resume), "continue from DIR/checkpoint"),
    CLI_U64("--stop-after", O(stop_after), "N", "run N steps, write DIR/checkpoint, stop (resume later)"),
    CLI_STR("--save-dtype", O(save_dtype), "T", "f32, bf16 or f16 (default: the checkpoint's)"),
    CLI_BOOL("--json", O(json), "print the summary as JSON"),
    CLI_BOOL("--quiet", O(quiet), "no progress lines", .short_name = 'q'),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure (bad data, model or setting).\n"),
};

static void progress(const wd_train_progress *p, void *user) {
    char acc[64] = "";
    if (p->accuracy >= 0) snprintf(acc, sizeof acc, "  acc %.3f  margin %.3f", p->accuracy, p->margin);
    cli_progress(*(bool *)user, p->step == p->total_steps,
                 "step %llu/%llu  epoch %llu  loss %.4f%s  lr %.3g  |g| %.3g  %.0f tok/s  eta %.0fs",
                 (unsigned long long)p->step, (unsigned long long)p->total_steps,
                 (unsigned long long)p->epoch + 1, p->loss, acc, p->lr, p->grad_norm,
                 p->tokens_per_s, p->eta_s);
}

static void print_result(const train_opts *o, const char *obj, const wd_train_result *r) {
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "objective", obj);
        cJSON_AddStringToObject(j, "out", o->out);
        cJSON_AddNumberToObject(j, "steps", (double)r->steps);
        cJSON_AddNumberToObject(j, "n_train", (double)r->n_train);
        cJSON_AddNumberToObject(j, "n_eval", (double)r->n_eval);
        cJSON_AddNumberToObject(j, "n_params", (double)r->n_params);
        cJSON_AddNumberToObject(j, "n_trainable", (double)r->n_trainable);
        cJSON_AddNumberToObject(j, "eval_loss_before", r->eval_loss_before);
        cJSON_AddNumberToObject(j, "eval_loss_after", r->eval_loss_after);
        if (strcmp(obj, "sft") != 0) {
            cJSON_AddNumberToObject(j, "eval_accuracy_before", r->eval_accuracy_before);
            cJSON_AddNumberToObject(j, "eval_accuracy_after", r->eval_accuracy_after);
            cJSON_AddNumberToObject(j, "eval_margin_before", r->eval_margin_before);
            cJSON_AddNumberToObject(j, "eval_margin_after", r->eval_margin_after);
        }
        if (o->dp) {
            cJSON_AddNumberToObject(j, "epsilon", r->epsilon);
            cJSON_AddNumberToObject(j, "delta", o->dp_delta);
            cJSON_AddNumberToObject(j, "noise", r->dp_noise);
            cJSON_AddNumberToObject(j, "sample_rate", r->dp_sample_rate);
        }
        cJSON_AddNumberToObject(j, "tokens_per_s", r->tokens_per_s);
        cJSON_AddNumberToObject(j, "seconds", r->seconds);
        cli_print_json(j);
        return;
    }
    printf("%s: %llu steps on %llu examples (%llu held out), %llu of %llu parameters trained\n", obj,
           (unsigned long long)r->steps, (unsigned long long)r->n_train, (unsigned long long)r->n_eval,
           (unsigned long long)r->n_trainable, (unsigned long long)r->n_params);
    if (r->n_eval) {
        printf("eval loss %.4f -> %.4f", r->eval_loss_before, r->eval_loss_after);
        if (strcmp(obj, "sft") != 0)
            printf(", pairwise accuracy %.3f -> %.3f, margin %.3f -> %.3f", r->eval_accuracy_before,
                   r->eval_accuracy_after, r->eval_margin_before, r->eval_margin_after);
        putchar('\n');
    }
    if (o->dp)
        printf("DP-SGD: (epsilon %.3f, delta %g) with noise %.4g, sample rate %.4g, %llu steps\n",
               r->epsilon, o->dp_delta, r->dp_noise, r->dp_sample_rate, (unsigned long long)r->steps);
    printf("%.0f tokens/s, %.1f s; written to %s\n", r->tokens_per_s, r->seconds, o->out);
}

typedef struct init_opts {
    const char *out, *tokenizer;
    long hidden, layers, heads, kv_heads, intermediate, max_pos;
    double theta, std;
    unsigned long long seed;
    bool untied;
} init_opts;

#define I(f) offsetof(init_opts, f)

static const cli_flag INIT_ROWS[] = {
    CLI_TEXT("usage: warden train init --out DIR [options]\n\n"
             "Writes a new Llama-architecture model with random weights (Hugging Face's\n"
             "initialisation) for training from scratch: config.json, model.safetensors and\n"
             "warden's byte-level tokenizer (259 ids, ChatML template) or a copied one.\n\n"
             "options:\n"),
    CLI_STR("--out", I(out), "DIR", "the new model folder", .short_name = 'o'),
    CLI_INT("--hidden", I(hidden), "N", 8, 1 << 16, "hidden size (default %ld)", .show = true),
    CLI_INT("--layers", I(layers), "N", 1, 1024, "layers (default %ld)", .show = true),
    CLI_INT("--heads", I(heads), "N", 1, 1024, "attention heads (default %ld)", .show = true),
    CLI_INT("--kv-heads", I(kv_heads), "N", 1, 1024, "key/value heads (default %ld)", .show = true),
    CLI_INT("--intermediate", I(intermediate), "N", 1, 1 << 20, "MLP width (default %ld)", .show = true),
    CLI_INT("--max-pos", I(max_pos), "N", 2, 1 << 24, "positions (default %ld)", .show = true),
    CLI_DOUBLE("--rope-theta", I(theta), "X", 1, 1e9, "rotary base (default %g)", .show = true, .open_lo = true),
    CLI_DOUBLE("--init-std", I(std), "X", 0, 10, "weights' standard deviation (default %g)", .show = true, .open_lo = true),
    CLI_U64("--seed", I(seed), "N", "the weights' random stream (default 1)"),
    CLI_BOOL("--untied", I(untied), "an lm_head of its own (default: tied to the embeddings)"),
    CLI_STR("--tokenizer", I(tokenizer), "DIR", "copy this folder's tokenizer (default: byte-level)"),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure.\n"),
};

static int cmd_train_init(int argc, char **argv) {
    wd_init_params d = wd_init_params_default();
    init_opts o = {.hidden = d.hidden, .layers = d.layers, .heads = d.heads, .kv_heads = d.kv_heads,
                   .intermediate = d.intermediate, .max_pos = d.max_pos, .theta = d.rope_theta,
                   .std = d.init_std, .seed = d.seed};
    cli_spec spec = {"train init", {{INIT_ROWS, CLI_N(INIT_ROWS), &o}}, .col = 22, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.out) return cli_usage_error("train init", "--out DIR is required");
    wd_init_params p = d;
    p.hidden = (int)o.hidden, p.layers = (int)o.layers, p.heads = (int)o.heads;
    p.kv_heads = (int)o.kv_heads, p.intermediate = (int)o.intermediate, p.max_pos = (int)o.max_pos;
    p.rope_theta = o.theta, p.init_std = o.std, p.seed = o.seed, p.tie = !o.untied;
    p.tokenizer = o.tokenizer;
    wd_status st = wd_train_init_model(&p, o.out);
    if (st) return cli_fail(st, NULL);
    printf("wrote %s\n", o.out);
    return CLI_OK;
}

int cmd_train(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "init") == 0) return cmd_train_init(argc - 1, argv + 1);
    wd_train_params d = wd_train_params_default();
    train_opts o = {.eval_fraction = d.eval_fraction, .lr = d.lr, .warmup_ratio = d.warmup_ratio,
                    .min_lr_ratio = d.min_lr_ratio, .weight_decay = d.weight_decay, .clip = d.clip_norm,
                    .lora_alpha = d.lora_alpha, .beta = d.dpo_beta, .epochs = d.epochs, .batch = d.batch_size,
                    .accum = d.grad_accum, .max_len = d.max_len, .seed = d.seed, .dp_noise = d.dp_noise,
                    .dp_clip = d.dp_clip, .dp_delta = d.dp_delta,
                    .adv_eps = d.adv_eps, .adv_steps = d.adv_steps,
                    .distill_max = d.distill_max_tokens, .away_w = d.away_weight};
    cli_spec spec = {"train", {{ROWS, CLI_N(ROWS), &o}}, .col = 26, .unknown = "unknown flag '%s'", .max_pos = 1};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    const char *pos[1] = {NULL};
    int n_pos = 0;
    int rc = cli_flags_parse(&spec, argc, argv, pos, &n_pos);
    if (rc >= 0) return rc;
    if (n_pos != 1) return cli_usage_error("train", "name the objective: sft, reward or dpo");
    wd_train_params p = d;
    if (strcmp(pos[0], "sft") == 0) p.objective = WD_TRAIN_OBJECTIVE_SFT;
    else if (strcmp(pos[0], "reward") == 0) p.objective = WD_TRAIN_OBJECTIVE_REWARD;
    else if (strcmp(pos[0], "dpo") == 0) p.objective = WD_TRAIN_OBJECTIVE_DPO;
    else return cli_usage_error("train", "unknown objective '%s' (sft, reward or dpo)", pos[0]);
    if (!o.model || !o.data || !o.out) return cli_usage_error("train", "--model, --data and --out are required");
    p.data = o.data, p.eval_data = o.eval_data, p.eval_fraction = o.eval_fraction, p.out = o.out;
    p.prompt_field = o.prompt_field, p.response_field = o.response_field;
    p.chosen_field = o.chosen_field, p.rejected_field = o.rejected_field, p.margin_field = o.margin_field;
    p.chat_format = o.chat_format, p.system = o.system, p.max_len = (int)o.max_len;
    p.epochs = (int)o.epochs, p.max_steps = o.max_steps, p.batch_size = (int)o.batch;
    p.grad_accum = (int)o.accum, p.lr = o.lr, p.schedule = o.schedule ? o.schedule : d.schedule;
    p.warmup_ratio = o.warmup_ratio, p.min_lr_ratio = o.min_lr_ratio, p.weight_decay = o.weight_decay;
    p.clip_norm = o.clip, p.seed = o.seed, p.lora_rank = (int)o.lora_rank, p.lora_alpha = o.lora_alpha;
    if (o.lora_targets) p.lora_targets = o.lora_targets;
    p.merge_lora = o.merge, p.freeze_layers = o.freeze_layers, p.freeze = o.freeze;
    p.grad_checkpointing = o.ckpt, p.dpo_beta = o.beta, p.ipo = o.ipo, p.n_threads = (int)o.threads;
    p.save_every = o.save_every, p.resume = o.resume, p.stop_after = o.stop_after, p.save_dtype = o.save_dtype;
    p.away_field = o.away, p.away_weight = o.away_w;
    p.adversarial = o.adversarial, p.adv_eps = o.adv_eps, p.adv_steps = (int)o.adv_steps;
    p.dp = o.dp, p.dp_noise = o.dp_noise, p.dp_clip = o.dp_clip, p.dp_sample_rate = o.dp_q;
    p.dp_delta = o.dp_delta, p.dp_target_epsilon = o.dp_eps;
    p.distill_max_tokens = (int)o.distill_max;
    char *preprompt = NULL;
    if (o.distill) {
        wd_status fs = wd_file_read(o.distill, 1 << 20, &preprompt, NULL);
        if (fs) return cli_fail(fs, NULL);
        p.distill_preprompt = preprompt;
    }
    bool tty = isatty(2);
    if (!o.quiet) p.progress = progress, p.user = &tty;
    wd_train_result r;
    wd_status st = wd_train(o.model, &p, &r);
    free(preprompt);
    if (st) return cli_fail(st, NULL);
    if (r.rank != 0) return CLI_OK; /* mpirun: rank 0 reports */
    if (r.stopped) {
        printf("%s: stopped after step %llu; %s/checkpoint holds the state (--resume goes on)\n",
               pos[0], (unsigned long long)r.steps, o.out);
        return CLI_OK;
    }
    print_result(&o, pos[0], &r);
    return CLI_OK;
}
