/*
 * bench/certify.c - erase-and-check with a decoder judge: prefix reuse
 * against recomputing every check.
 *
 *   bench_certify [--model DIR|FILE.gguf] [--keep] [--threads N] [--n 100] [--d 20]
 *                 [--ins-n 12] [--ins-d 2] [--layers L] [--lg3] [--guard-only]
 *
 * Without --model it writes a random Llama-shaped F32 checkpoint (TinyLlama's
 * shape by default: 22 layers, hidden 2048, 1.1 B parameters; --layers L for
 * a quicker, shallower one) under /tmp with the Llama tokenizer from
 * ../shared/data/tokenizers/llama-spm (the test fixture's SentencePiece
 * tokenizer when ../shared is absent), and deletes it at the end unless
 * --keep. The judge's prompt is a Llama-2-chat classifier prompt, the
 * paper's kind of LLM filter: a system prompt as the head (about 50 tokens)
 * and "[/INST]" as the tail. With --lg3 it is the Llama Guard 3 prompt with
 * all 14 categories instead; under the Llama 2 tokenizer its Llama-3 header
 * tokens are spelled out piece by piece, which makes a tail of ~95 tokens
 * that every check must run, so the speed-up is smaller there (the bench
 * prints both token counts).
 *
 * The prompt is n random non-special token ids (wd_certify_units), so
 * n is exact. Every check runs (check_all; a random judge flags nothing),
 * once with each reuse level:
 *   prefix    the longest common prefix with the previous check stays in the
 *             KV cache (the default),
 *   template  only the template's head stays (what the llm_judge scanner
 *             does for separate texts),
 *   none      every check from an empty cache (the naive cost),
 * and prints checks, tokens decoded, seconds, and the speed-up of prefix
 * over the others; the max p(unsafe) of each run must agree (same results).
 * Suffix mode with n = 100, d = 20 is issue 7's target (>= 5x against none);
 * the insertion-mode figures use a shorter prompt (--ins-n, --ins-d) since
 * recomputing each of its checks from scratch is slow on a CPU.
 *
 * --guard-only skips the model and times the built-in guard (word units) on
 * the three modes instead.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "warden/warden.h"

/* The paper's Llama 2 filter is a chat model asked whether the request is
 * harmful; this is that shape of prompt in our own words. */
static const char LLAMA2_JUDGE[] =
    "[INST] <<SYS>>\nYou are a content safety classifier. Read the user request below and "
    "answer with one word: 'safe' if it is harmless, 'unsafe' if it asks for something "
    "harmful.\n<</SYS>>\n\n{text} [/INST]";


typedef struct run_result {
    double secs;
    size_t checks, tokens;
    float  max_score;
} run_result;

static int run_once(wd_certifier *c, const int32_t *ids, size_t n, wd_ec_mode mode, int d,
                    wd_ec_reuse reuse, run_result *out) {
    wd_certify_params p = wd_certify_params_default();
    p.mode = mode;
    p.max_erase = d;
    p.check_all = true;
    p.reuse = reuse;
    wd_certificate *r = NULL;
    double t0 = wdb_now();
    if (wd_certify_units(c, ids, n, &p, &r)) {
        fprintf(stderr, "bench_certify: %s\n", wd_last_error());
        return 1;
    }
    out->secs = wdb_now() - t0;
    out->checks = wd_certificate_n_checks(r);
    out->tokens = wd_certificate_n_tokens_decoded(r);
    out->max_score = wd_certificate_max_score(r);
    wd_certificate_free(r);
    return 0;
}

static const char *const reuse_names[] = {"none", "template", "prefix"};

/* Runs prefix, template, none (in that order), each on a fresh certifier
 * (an empty KV cache: the prefix run pays for the template's head too),
 * and prints the table. */
static int compare(const char *model, const wd_judge_params *jp, const int32_t *ids, size_t n,
                   wd_ec_mode mode, int d) {
    run_result r[3];
    printf("\n%s mode, n = %zu prompt tokens, d = %d\n", wd_ec_mode_str(mode), n, d);
    printf("  %-9s %7s %9s %9s %11s %9s\n", "reuse", "checks", "tokens", "seconds", "tokens/s", "speed-up");
    for (int k = 2; k >= 0; k--) {
        wd_certifier *c = NULL;
        if (wd_certifier_new_model(model, jp, &c)) {
            fprintf(stderr, "bench_certify: %s\n", wd_last_error());
            return 1;
        }
        int bad = run_once(c, ids, n, mode, d, (wd_ec_reuse)k, &r[k]);
        wd_certifier_free(c);
        if (bad) return 1;
        printf("  %-9s %7zu %9zu %9.2f %11.1f %9s\n", reuse_names[k], r[k].checks, r[k].tokens, r[k].secs,
               (double)r[k].tokens / r[k].secs, k == 2 ? "1.00x" : "");
        fflush(stdout);
    }
    printf("  prefix reuse vs none:     %.2fx faster (%.2fx fewer tokens)\n", r[0].secs / r[2].secs,
           (double)r[0].tokens / (double)r[2].tokens);
    printf("  prefix reuse vs template: %.2fx faster (%.2fx fewer tokens)\n", r[1].secs / r[2].secs,
           (double)r[1].tokens / (double)r[2].tokens);
    bool same = fabsf(r[0].max_score - r[2].max_score) <= 1e-4f * fmaxf(1.0f, r[0].max_score) &&
                fabsf(r[1].max_score - r[2].max_score) <= 1e-4f * fmaxf(1.0f, r[1].max_score) &&
                r[0].checks == r[2].checks && r[1].checks == r[2].checks;
    printf("  same results: %s (max p(unsafe) none %.6g, template %.6g, prefix %.6g)\n", same ? "yes" : "NO",
           (double)r[0].max_score, (double)r[1].max_score, (double)r[2].max_score);
    return same ? 0 : 1;
}

static int guard_only(void) {
    wd_guard *g = NULL;
    wd_certifier *c = NULL;
    if (wd_guard_load_default(NULL, &g) || wd_certifier_new_guard(g, NULL, &c)) {
        fprintf(stderr, "bench_certify: %s\n", wd_last_error());
        return 3;
    }
    const char *text = "What are some good ways to keep a sourdough starter alive while I am away "
                       "on a two week trip to the mountains with my family";
    const struct { wd_ec_mode mode; int d; } cases[] = {
        {WD_EC_MODE_SUFFIX, 20}, {WD_EC_MODE_INSERTION, 12}, {WD_EC_MODE_INFUSION, 3}};
    printf("built-in guard, %zu-byte benign prompt (word units), every subsequence checked\n", strlen(text));
    for (int i = 0; i < 3; i++) {
        wd_certify_params p = wd_certify_params_default();
        p.mode = cases[i].mode;
        p.max_erase = cases[i].d;
        double t[5];
        size_t checks = 0;
        for (int rep = 0; rep < 5; rep++) {
            wd_certificate *r = NULL;
            double t0 = wdb_now();
            if (wd_certify(c, text, strlen(text), &p, &r)) return 3;
            t[rep] = wdb_now() - t0;
            checks = wd_certificate_n_checks(r);
            wd_certificate_free(r);
        }
        double med = wdb_median(t, 5);
        printf("  %-9s d=%-3d %6zu checks  %8.2f ms  %9.0f checks/s\n", wd_ec_mode_str(cases[i].mode),
               cases[i].d, checks, med * 1e3, (double)checks / med);
    }
    wd_certifier_free(c);
    wd_guard_free(g);
    return 0;
}

int main(int argc, char **argv) {
    wdb_shape s = WDB_TINYLLAMA;
    const char *model = NULL;
    bool keep = false, lg3 = false;
    long threads = 0, n = 100, d = 20, ins_n = 12, ins_d = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep")) { keep = true; continue; }
        if (!strcmp(a, "--guard-only")) return guard_only();
        if (!strcmp(a, "--lg3")) { lg3 = true; continue; }
        if (!v) { fprintf(stderr, "bench_certify: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--threads")) threads = atol(v);
        else if (!strcmp(a, "--n")) n = atol(v);
        else if (!strcmp(a, "--d")) d = atol(v);
        else if (!strcmp(a, "--ins-n")) ins_n = atol(v);
        else if (!strcmp(a, "--ins-d")) ins_d = atol(v);
        else if (!strcmp(a, "--layers")) s.L = atol(v);
        else { fprintf(stderr, "bench_certify: unknown option %s\n", a); return 2; }
    }
    if (n < 1 || d < 1 || ins_n < 1 || ins_d < 1) { fprintf(stderr, "bench_certify: sizes must be >= 1\n"); return 2; }
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    char tmpdir[] = "/tmp/wd_bench_certify_XXXXXX";
    if (!model) {
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 3; }
        model = tmpdir;
        double t0 = wdb_now();
        int gen_rc = wdb_gen_llama_child(model, &s);
        char from[1024], to[1024];
        const char *tdir = WD_SHARED_DIR "/data/tokenizers/llama-spm";
        snprintf(from, sizeof from, "%s/tokenizer.json", tdir);
        if (access(from, R_OK)) tdir = WD_SOURCE_DIR "/tests/fixtures/tokenizers/bpe-spm";
        int rc = gen_rc;
        for (int f = 0; f < 2 && !rc; f++) {
            const char *name = f ? "tokenizer_config.json" : "tokenizer.json";
            snprintf(from, sizeof from, "%s/%s", tdir, name);
            snprintf(to, sizeof to, "%s/%s", model, name);
            rc = wdb_copy_file(from, to);
        }
        if (rc) {
            fprintf(stderr, "bench_certify: writing the checkpoint failed\n");
            wdb_rm_dir(tmpdir);
            return 3;
        }
        printf("checkpoint: %s, %ld layers, hidden %ld (generated in %.1f s), tokenizer %s\n", model, s.L,
               s.C, wdb_now() - t0, tdir);
    }
    wd_judge_params jp = wd_judge_params_default();
    jp.n_threads = (int)threads;
    jp.template_text = lg3 ? NULL : LLAMA2_JUDGE;
    wd_certifier *c = NULL;
    double t0 = wdb_now();
    if (wd_certifier_new_model(model, &jp, &c)) {
        fprintf(stderr, "bench_certify: %s\n", wd_last_error());
        if (!keep && model == tmpdir) wdb_rm_dir(tmpdir);
        return 3;
    }
    printf("judge loaded in %.2f s, %ld threads, %s\n", wdb_now() - t0, threads,
           lg3 ? "Llama Guard 3 prompt" : "Llama-2-chat classifier prompt");
    /* the prompt: random ids that are not special tokens */
    wd_tokenizer *tok = NULL;
    wd_model *tm = NULL; /* a .gguf carries its tokenizer: read it through the model */
    const wd_tokenizer *vt = NULL;
    size_t ml = strlen(model);
    if (ml > 5 && !strcmp(model + ml - 5, ".gguf")) {
        wd_model_params mp = wd_model_params_default();
        mp.n_threads = 1;
        if (wd_model_load(model, &mp, &tm) || !(vt = wd_model_tokenizer(tm))) {
            fprintf(stderr, "bench_certify: %s: %s\n", model, tm ? "no tokenizer" : wd_last_error());
            return 3;
        }
    } else {
        char tp[1024];
        snprintf(tp, sizeof tp, "%s/tokenizer.json", model);
        if (wd_tokenizer_load(tp, &tok)) {
            fprintf(stderr, "bench_certify: %s\n", wd_last_error());
            return 3;
        }
        vt = tok;
    }
    size_t V = wd_tokenizer_vocab_size(vt);
    int32_t *ids = malloc((size_t)(n > ins_n ? n : ins_n) * sizeof *ids);
    uint64_t seed = 11;
    for (long i = 0; i < (n > ins_n ? n : ins_n); i++) {
        int32_t id;
        do id = (int32_t)(wdb_rng_next(&seed) % V);
        while (wd_tokenizer_is_special(vt, id) || id < 3);
        ids[i] = id;
    }
    wd_tokenizer_free(tok);
    wd_model_free(tm);
    /* warm-up: faults the weights in */
    run_result warm;
    if (run_once(c, ids, 8, WD_EC_MODE_SUFFIX, 1, WD_EC_REUSE_PREFIX, &warm)) return 3;
    wd_certifier_free(c);
    printf("warm-up: %zu tokens in %.2f s\n", warm.tokens, warm.secs);
    int rc = compare(model, &jp, ids, (size_t)n, WD_EC_MODE_SUFFIX, (int)d);
    if (!rc) rc = compare(model, &jp, ids, (size_t)ins_n, WD_EC_MODE_INSERTION, (int)ins_d);
    free(ids);
    if (!keep && model == tmpdir) wdb_rm_dir(tmpdir);
    return rc ? 1 : 0;
}
