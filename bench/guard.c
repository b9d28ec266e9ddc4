/*
 * bench/guard.c - throughput and latency of `warden check`'s engine with the
 * built-in default policy, one thread, on ~100-character prompts.
 *
 * Prompts: certified-llm-safety safe + harmful prompts from ../shared/data
 * when present (both kinds, so the matcher's slow paths run too), else a
 * generated set of ~100-byte sentences. Each text is checked REPEATS times
 * after a warm-up pass; prompts/s is from the fastest pass (the machine
 * may be shared), latency percentiles are over all single calls.
 *
 * Printed: prompts/s and p50/p99 latency of the full default policy; the
 * reference is the normaliser alone on the same texts (the floor every
 * scanner pays), printed with the ratio; then the cost split: the
 * normaliser, each scanner alone (a one-scanner policy, decoding off) minus
 * the normaliser, and decoding (base64/hex/rot13 search).
 * Target (issue 3): >= 20,000 prompts/s per core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "guard/canonical.h"
#include "warden/warden.h"

#define REPEATS 5
#define MAX_PROMPTS 4000

static char *texts[MAX_PROMPTS];
static size_t lens[MAX_PROMPTS];
static size_t n_texts;

/* Reads prompts, joining consecutive short ones (with a space) until a
 * text has at least 90 bytes, so texts are ~100 characters. */
static void load_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char *line = NULL, buf[1024];
    size_t cap = 0, w = 0;
    ssize_t r;
    while (n_texts < MAX_PROMPTS && (r = getline(&line, &cap, f)) > 0) {
        while (r && (line[r - 1] == '\n' || line[r - 1] == '\r')) r--;
        if (r < 10 || (size_t)r + w + 2 > sizeof buf) continue;
        if (w) buf[w++] = ' ';
        memcpy(buf + w, line, (size_t)r);
        w += (size_t)r;
        if (w < 90) continue;
        texts[n_texts] = strndup(buf, w);
        lens[n_texts] = w;
        n_texts++;
        w = 0;
    }
    free(line);
    fclose(f);
}

static void generate(void) {
    static const char *const a[] = {"Explain how", "Tell me why", "Can you describe how", "Write a short note on how",
                                    "Summarize how", "Give three reasons why"};
    static const char *const b[] = {"the water cycle", "a bicycle gear", "the stock market", "a compiler",
                                    "photosynthesis", "my sourdough starter", "the immune system", "a jet engine"};
    static const char *const c[] = {"works in everyday life, with one simple example for a curious student.",
                                    "changed over the last century, and what we might expect next in practice.",
                                    "can fail, and what a beginner should check first before asking for help."};
    uint64_t s = 1;
    while (n_texts < 2000) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        char buf[256];
        int k = snprintf(buf, sizeof buf, "%s %s %s", a[(s >> 33) % 6], b[(s >> 40) % 8], c[(s >> 50) % 3]);
        texts[n_texts] = strdup(buf);
        lens[n_texts] = (size_t)k;
        n_texts++;
    }
}

typedef struct timing {
    double per_s, p50_us, p99_us;
} timing;

static timing time_guard(wd_guard *g, double *lat) {
    wd_check_params p = wd_check_params_default();
    for (size_t i = 0; i < n_texts; i++) { /* warm-up */
        wd_verdict *v;
        wd_guard_check(g, texts[i], lens[i], &p, &v);
        wd_verdict_free(v);
    }
    size_t k = 0;
    double best = 1e30;
    for (int r = 0; r < REPEATS; r++) {
        double t0 = wdb_now();
        for (size_t i = 0; i < n_texts; i++) {
            double a = wdb_now();
            wd_verdict *v;
            wd_guard_check(g, texts[i], lens[i], &p, &v);
            wd_verdict_free(v);
            lat[k++] = (wdb_now() - a) * 1e6;
        }
        double dt = wdb_now() - t0;
        if (dt < best) best = dt;
    }
    timing t = {(double)n_texts / best, wdb_percentile(lat, k, 50), wdb_percentile(lat, k, 99)};
    return t;
}

static timing time_normalize(double *lat) {
    wd__canon n = {0};
    for (size_t i = 0; i < n_texts; i++) wd__canonicalize_reuse(texts[i], lens[i], WD_CANON_DEFAULT, &n);
    size_t k = 0;
    double best = 1e30;
    for (int r = 0; r < REPEATS; r++) {
        double t0 = wdb_now();
        for (size_t i = 0; i < n_texts; i++) {
            double a = wdb_now();
            wd__canonicalize_reuse(texts[i], lens[i], WD_CANON_DEFAULT, &n);
            lat[k++] = (wdb_now() - a) * 1e6;
        }
        double dt = wdb_now() - t0;
        if (dt < best) best = dt;
    }
    wd__canon_free(&n);
    timing t = {(double)n_texts / best, wdb_percentile(lat, k, 50), wdb_percentile(lat, k, 99)};
    return t;
}

static wd_guard *policy(const char *yaml) {
    wd_guard *g = NULL;
    if (wd_guard_load_string(yaml, strlen(yaml), "bench", NULL, NULL, &g) != WD_OK) {
        fprintf(stderr, "bench_guard: %s\n", wd_last_error());
        exit(1);
    }
    return g;
}

int main(void) {
    load_file(WD_SHARED_DIR "/data/certified-llm-safety/safe_prompts.txt");
    load_file(WD_SHARED_DIR "/data/certified-llm-safety/harmful_prompts.txt");
    const char *src = "certified-llm-safety safe + harmful prompts";
    if (n_texts == 0) {
        generate();
        src = "generated prompts (../shared/data absent)";
    }
    size_t bytes = 0;
    for (size_t i = 0; i < n_texts; i++) bytes += lens[i];
    printf("bench_guard: %zu texts (%s), mean %.0f bytes, %d timed passes, 1 thread\n", n_texts, src,
           (double)bytes / (double)n_texts, REPEATS);
    double *lat = malloc(sizeof(double) * n_texts * REPEATS);

    wd_guard *g = NULL;
    if (wd_guard_load_default(NULL, &g) != WD_OK) {
        fprintf(stderr, "bench_guard: %s\n", wd_last_error());
        return 1;
    }
    timing full = time_guard(g, lat);
    wd_guard_free(g);
    timing norm = time_normalize(lat);
    printf("\n%-34s %12s %10s %10s\n", "", "prompts/s", "p50 us", "p99 us");
    printf("%-34s %12.0f %10.2f %10.2f\n", "default policy (all scanners)", full.per_s, full.p50_us, full.p99_us);
    printf("%-34s %12.0f %10.2f %10.2f\n", "reference: normaliser alone", norm.per_s, norm.p50_us, norm.p99_us);
    printf("ratio default/normaliser time: %.1fx; target >= 20000 prompts/s: %s\n", norm.per_s / full.per_s,
           full.per_s >= 20000 ? "met" : "NOT met");

    static const struct { const char *name, *yaml; } parts[] = {
        {"lexicon (harm + profanity)", "decode: {encodings: none}\nscanners:\n  - {type: lexicon, builtin: [harm, profanity]}\n"},
        {"injection", "decode: {encodings: none}\nscanners:\n  - {type: injection}\n"},
        {"pii", "decode: {encodings: none}\nscanners:\n  - {type: pii}\n"},
        {"secrets", "decode: {encodings: none}\nscanners:\n  - {type: secrets}\n"},
        {"classifier (built-in model)", "decode: {encodings: none}\nscanners:\n  - {type: classifier}\n"},
        {"pii, decoding on (b64/hex/rot13)", "scanners:\n  - {type: pii}\n"},
    };
    double norm_us = 1e6 / norm.per_s, sum = norm_us;
    double pii_us = 0;
    printf("\ncost split (mean us per prompt; each scanner alone minus the normaliser):\n");
    printf("  %-34s %8.2f\n", "normaliser", norm_us);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        g = policy(parts[i].yaml);
        timing t = time_guard(g, lat);
        wd_guard_free(g);
        double us = 1e6 / t.per_s - norm_us;
        if (i == 5) { /* the last entry: pii with decoding */
            printf("  %-34s %8.2f\n", "decoding (pii+decode minus pii)", 1e6 / t.per_s - norm_us - pii_us);
            sum += 1e6 / t.per_s - norm_us - pii_us;
            continue;
        }
        if (i == 2) pii_us = us;
        sum += us;
        printf("  %-34s %8.2f\n", parts[i].name, us);
    }
    printf("  %-34s %8.2f  (full policy measured: %.2f; the gap is verdict building, hits on\n"
         "  %-34s           harmful prompts, and noise when the machine is shared)\n", "sum of parts", sum, 1e6 / full.per_s, "");
    free(lat);
    for (size_t i = 0; i < n_texts; i++) free(texts[i]);
    return 0;
}
