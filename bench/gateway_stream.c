/*
 * bench/gateway_stream.c - what the gateway's stream rail costs. A
 * streamed answer is checked every K tokens (serve/chat_stream.c): each
 * check along the way reads a window (the new text and the 1024 bytes sent
 * before it), the last one the whole answer. This replays that schedule
 * with the built-in policy, one thread, for answers of 2, 8 and 16 KB at
 * K = 4, 16, 64 (4 bytes per token), against the reference of ONE check of
 * the whole answer (what a non-streamed answer costs), and prints the
 * ratio; the "whole" column is the naive schedule (every check reads the
 * whole text so far, O(n^2 / K)), for comparison.
 *
 * The answer text is generated English-like prose (no dataset needed);
 * each figure is the fastest of 3 passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "warden/warden.h"

static char *prose(size_t n, uint64_t seed) {
    static const char *const w[] = {"the", "river", "city", "history", "of", "science", "people",
                                    "built", "a", "bridge", "over", "years", "and", "many", "art",
                                    "museum", "explains", "how", "water", "moves", "through",
                                    "old", "streets", "while", "visitors", "learn", "about", "it."};
    char *s = malloc(n + 32);
    size_t k = 0;
    while (k < n) {
        const char *x = w[wdb_rng_next(&seed) % (sizeof w / sizeof w[0])];
        size_t l = strlen(x);
        memcpy(s + k, x, l);
        k += l;
        s[k++] = ' ';
    }
    s[n] = 0;
    return s;
}

static double check_once(wd_guard *g, const char *t, size_t n) {
    wd_check_params cp = wd_check_params_default();
    cp.role = WD_ROLE_OUTPUT;
    wd_verdict *v = NULL;
    double t0 = wdb_now();
    if (wd_guard_check(g, t, n, &cp, &v)) {
        fprintf(stderr, "check failed: %s\n", wd_last_error());
        exit(1);
    }
    double dt = wdb_now() - t0;
    wd_verdict_free(v);
    return dt;
}

int main(void) {
    wd_guard *g = NULL;
    if (wd_guard_load_default(NULL, &g)) {
        fprintf(stderr, "%s\n", wd_last_error());
        return 1;
    }
    printf("stream rail cost, built-in policy, 1 thread (fastest of 3 passes)\n");
    printf("%8s %5s %7s %10s %8s %10s %8s %12s\n", "answer", "K", "checks", "window ms", "ratio",
           "whole ms", "ratio", "one check ms");
    static const size_t sizes[] = {2048, 8192, 16384};
    static const size_t ks[] = {4, 16, 64};
    for (size_t si = 0; si < 3; si++) {
        char *t = prose(sizes[si], 7 + si);
        double one = 1e9;
        for (int p = 0; p < 3; p++) {
            double d = check_once(g, t, sizes[si]);
            if (d < one) one = d;
        }
        for (size_t ki = 0; ki < 3; ki++) {
            size_t step = ks[ki] * 4, checks = 0;
            double best[2] = {1e9, 1e9};
            for (int mode = 0; mode < 2; mode++)
                for (int p = 0; p < 3; p++) {
                    double sum = 0;
                    checks = 0;
                    for (size_t end = step;; end += step) {
                        if (end > sizes[si]) end = sizes[si];
                        size_t sent = end > step + 32 ? end - step - 32 : 0;
                        size_t w0 = mode == 0 && end < sizes[si] && sent > 1024 ? sent - 1024 : 0;
                        sum += check_once(g, t + w0, end - w0);
                        checks++;
                        if (end == sizes[si]) break;
                    }
                    if (sum < best[mode]) best[mode] = sum;
                }
            printf("%7zuB %5zu %7zu %10.2f %7.1fx %10.2f %7.1fx %12.3f\n", sizes[si], ks[ki], checks,
                   best[0] * 1e3, best[0] / one, best[1] * 1e3, best[1] / one, one * 1e3);
        }
        free(t);
    }
    wd_guard_free(g);
    return 0;
}
