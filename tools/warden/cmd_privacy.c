/*
 * tools/warden/cmd_privacy.c - `warden privacy --noise S --sample-rate Q
 * --steps T --delta D [--json]`: the epsilon of T steps of DP-SGD by the
 * RDP accountant (wd_privacy_epsilon); with --target-epsilon E instead of
 * --noise, the noise multiplier that reaches E (wd_privacy_noise_for_epsilon).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"

typedef struct privacy_opts {
    double             noise, sample_rate, delta, target_eps;
    unsigned long long steps;
    bool               json;
} privacy_opts;

#define O(f) offsetof(privacy_opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden privacy --noise S --sample-rate Q --steps T --delta D [--json]\n"
             "       warden privacy --target-epsilon E --sample-rate Q --steps T --delta D [--json]\n\n"
             "The privacy of DP-SGD (Gaussian noise of SD S x the clip norm on each step's\n"
             "sum of clipped per-example gradients, lots Poisson-sampled at rate Q): prints\n"
             "the epsilon of T steps at delta D, by the RDP accountant as Opacus computes it\n"
             "(orders 1.1..10.9 and 12..63; Balle et al. 2020's conversion), and the order\n"
             "that gave it. With --target-epsilon, prints the noise multiplier S that keeps\n"
             "epsilon within 0.01 below E (Opacus's get_noise_multiplier). docs/privacy.md.\n\n"),
    CLI_DOUBLE("--noise", O(noise), "S", 0, 1e6, "the noise multiplier sigma (> 0)", .open_lo = true),
    CLI_DOUBLE("--target-epsilon", O(target_eps), "E", 0, 1e6, "solve for sigma instead: the epsilon to reach (> 0)",
               .open_lo = true),
    CLI_DOUBLE("--sample-rate", O(sample_rate), "Q", 0, 1, "each example's probability of being in a lot, in (0, 1]\n"
                                                          "(the lot size over the data set's; 1: full batches)",
               .open_lo = true),
    CLI_U64("--steps", O(steps), "T", "the number of steps (>= 1)"),
    CLI_DOUBLE("--delta", O(delta), "D", 0, 1, "delta, in (0, 1); usually below 1 / the data set's size",
               .open_lo = true),
    CLI_BOOL("--json", O(json), "print one JSON object"),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure (a target epsilon out of reach).\n"),
};

/* A number, or null when it is not finite (docs/json.md). */
static void add_number(cJSON *j, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(j, key, v);
    else cJSON_AddNullToObject(j, key);
}

static void print_json(const privacy_opts *o, bool solve, double noise, double eps, double alpha) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "accountant", "rdp");
    add_number(j, "epsilon", eps);
    add_number(j, "delta", o->delta);
    add_number(j, "noise", noise);
    add_number(j, "sample_rate", o->sample_rate);
    cJSON_AddNumberToObject(j, "steps", (double)o->steps);
    add_number(j, "best_alpha", alpha);
    if (solve) cJSON_AddNumberToObject(j, "target_epsilon", o->target_eps);
    else cJSON_AddNullToObject(j, "target_epsilon");
    cli_print_json(j);
}

int cmd_privacy(int argc, char **argv) {
    privacy_opts o = {.noise = NAN, .sample_rate = NAN, .delta = NAN, .target_eps = NAN};
    cli_spec spec = {"privacy", {{ROWS, CLI_N(ROWS), &o}}, .col = 24, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    const bool solve = !isnan(o.target_eps);
    if (solve == !isnan(o.noise)) return cli_usage_error("privacy", "give one of --noise S and --target-epsilon E");
    if (isnan(o.sample_rate)) return cli_usage_error("privacy", "--sample-rate Q is required");
    if (!o.steps) return cli_usage_error("privacy", "--steps T (an integer >= 1) is required");
    if (isnan(o.delta)) return cli_usage_error("privacy", "--delta D is required");
    if (!(o.delta < 1)) return cli_usage_error("privacy", "--delta: expected a number in (0, 1), got %g", o.delta);

    double noise = o.noise, eps = 0, alpha = 0;
    wd_status st;
    if (solve) {
        st = wd_privacy_noise_for_epsilon(o.target_eps, o.sample_rate, o.steps, o.delta, &noise);
        if (st) return cli_fail(st, NULL);
    }
    st = wd_privacy_epsilon(noise, o.sample_rate, o.steps, o.delta, &eps, &alpha);
    if (st) return cli_fail(st, NULL);
    if (o.json) {
        print_json(&o, solve, noise, eps, alpha);
    } else if (solve) {
        printf("noise multiplier %.4f: epsilon %.4f <= %g at delta %g (RDP order %g)\n", noise, eps, o.target_eps,
               o.delta, alpha);
    } else {
        printf("epsilon %.4f at delta %g (RDP order %g): noise %g, sample rate %g, %llu steps\n", eps, o.delta, alpha,
               noise, o.sample_rate, o.steps);
    }
    return CLI_OK;
}
