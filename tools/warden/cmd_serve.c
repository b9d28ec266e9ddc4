/*
 * tools/warden/cmd_serve.c - `warden serve`: the guard as an HTTP service
 * (include/warden/serve.h does the work; docs/serve.md is the manual).
 *
 * Signals: the handlers only write the signal number to a pipe (the
 * self-pipe trick); the main thread reads it and does the work outside
 * signal context. SIGHUP reloads the policies and reopens the access log;
 * SIGINT/SIGTERM stop gracefully and exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "cli_flags.h"

static int sig_pipe[2] = {-1, -1};

/* Each connection is a descriptor, in the gate and in libmicrohttpd: lift
 * the soft limit towards twice max_connections plus a margin (never above
 * the hard limit). */
static void raise_fd_limit(const wd_server_params *p) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)p->max_connections * 2 + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* Async-signal-safe: hand the signal number to the main thread. */
static void on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) { /* nothing safe to do */ }
    errno = saved;
}

/* --rate-limit N/s (the field: a double, requests per second). */
static bool rate_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    if (!wd_server_rate_parse(v, field)) return true;
    cli_usage_error(cmd, "--rate-limit '%s': expected N/s, N/m or N/h with N > 0", v);
    return false;
}

/* --input-action / --output-action (the field: a wd_gateway_action). */
static bool action_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    if (!wd_gateway_action_parse(v, field)) return true;
    cli_usage_error(cmd, "%s '%s': expected auto, block, redact, warn or revise", r->name, v);
    return false;
}

/* The flags, starting from wd_server_params_default (the help shows them). */
typedef struct opts {
    const char *policy, *host, *keys_path, *tls_cert, *tls_key, *access_log, *guard_format;
    const char *upstream, *upstream_key_env, *upstream_ca, *model, *model_name, *refusal,
               *constitution;
    long        up_timeout, up_retries, slots, model_ctx, max_tokens, check_k, rounds;
    wd_gateway_action in_action, out_action;
    long        port, threads, max_body, max_inputs, timeout_ms, max_conns, conn_timeout, head_ms, per_ip,
                budget, max_inflight;
    double      rate_limit;
    bool        per_conn, insecure, explain;
} opts;

#define O(f) offsetof(opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden serve [--policy FILE] [--host ADDR] [--port N] [--threads N]\n"
             "                    [--max-body BYTES] [--max-inputs N] [--timeout-ms T]\n"
             "                    [--max-connections N] [--conn-timeout S]\n"
             "                    [--header-timeout-ms T] [--max-conns-per-ip N] [--body-budget BYTES]\n"
             "                    [--api-keys FILE] [--rate-limit N/s] [--insecure]\n"
             "                    [--tls-cert FILE --tls-key FILE] [--access-log FILE|-]\n"
             "                    [--max-inflight N]\n"
             "                    [--upstream URL [--upstream-key-env VAR] | --model DIR]\n"
             "                    [--input-action A] [--output-action A] [--refusal TEXT] ...\n\n"
             "Serves the guard over HTTP:\n"
             "  POST /v1/moderations   OpenAI-compatible moderation API\n"
             "  POST /v1/check         warden's native verdicts (role, redaction, offsets)\n"
             "  POST /v1/certify       certified erase-and-check (docs/certify.md)\n"
             "  POST /v1/chat/completions, /v1/completions  the guarded chat gateway\n"
             "  GET  /v1/models        the guard in force, as an OpenAI model list\n"
             "  GET  /healthz, /readyz, /metrics (Prometheus)\n"
             "With --upstream or --model, a guarded chat gateway (docs/gateway.md):\n"
             "  POST /v1/chat/completions, /v1/completions  OpenAI's chat API with an input\n"
             "                         rail before the model and an output rail after it\n"
             "                         (streamed answers checked as they grow)\n\n"
             "options:\n"),
    CLI_STR("--policy", O(policy), "FILE", "policy file (default: the built-in policy)"),
    CLI_STR("--guard-format", O(guard_format), "NAME", "the policies' model judges' guard format (default auto;\n"
                                                      "see warden check --help)"),
    CLI_BOOL("--explain-verdict", O(explain), "generative judges write a \"rationale\" into /v1/check verdicts"),
    CLI_STR("--host", O(host), "ADDR", "numeric address to bind (default %s)", .show = true),
    CLI_INT("--port", O(port), "N", 0, 65535, "TCP port, 0 = any free one (default %ld)", .show = true),
    CLI_INT("--threads", O(threads), "N", 1, 1024, "worker threads (default %ld)", .show = true),
    CLI_INT("--max-body", O(max_body), "BYTES", 16, 1L << 30, "largest request body, larger is 413 (default %ld)",
            .show = true),
    CLI_INT("--max-inputs", O(max_inputs), "N", 1, 1 << 20, "most texts per request, more is 400 (default %ld)",
            .show = true),
    CLI_INT("--timeout-ms", O(timeout_ms), "T", 1, 3600 * 1000,
            "deadline per request; past it the guard's fail mode\n"
            "answers, a body still arriving is cut off (default %ld)",
            .show = true),
    CLI_INT("--max-connections", O(max_conns), "N", 1, 1 << 20, "concurrent connections (default %ld)", .show = true),
    CLI_INT("--conn-timeout", O(conn_timeout), "S", 1, 3600, "close connections idle this long (default %ld)",
            .show = true),
    CLI_INT("--header-timeout-ms", O(head_ms), "T", 1, 3600 * 1000,
            "a request head must arrive within T ms of the connection\n"
            "(slow clients get 408 and are closed; default %ld)",
            .show = true),
    CLI_INT("--max-conns-per-ip", O(per_ip), "N", 0, 1 << 20,
            "connections from one client address, 0 = no limit\n"
            "(default %ld; raise it behind a reverse proxy)",
            .show = true),
    CLI_INT("--body-budget", O(budget), "BYTES", 1024, 1L << 40,
            "request bodies buffered at once, server-wide; past it\n"
            "503 with Retry-After (default %ld)",
            .show = true),
    CLI_STR("--api-keys", O(keys_path), "FILE", "accepted API keys, one per line:\n"
                                                "'KEY [N/s] [name=NAME] [policy=PATH]' (own rate, the\n"
                                                "name logs and metrics show, own policy file relative\n"
                                                "to FILE's folder); '#' comments"),
    CLI_CALL("--rate-limit", O(rate_limit), rate_flag, "N/s", "requests per second per API key (N/s, N/m or N/h;\n"
                                                              "default none); past it 429 with Retry-After"),
    CLI_BOOL("--insecure", O(insecure), "allow a non-loopback --host without any API key"),
    CLI_STR("--tls-cert", O(tls_cert), "FILE", "serve HTTPS with this PEM certificate (and --tls-key)"),
    CLI_STR("--tls-key", O(tls_key), "FILE", "the certificate's PEM private key"),
    CLI_STR("--access-log", O(access_log), "FILE", "one JSON line per request appended to FILE ('-' =\n"
                                                  "stderr); SIGHUP reopens it (log rotation)"),
    CLI_INT("--max-inflight", O(max_inflight), "N", 1, 1 << 20,
            "chat requests answered at once, server-wide; more get\n"
            "503 server_busy with Retry-After (default %ld)",
            .show = true),
    CLI_BOOL("--thread-per-connection", O(per_conn), "one thread per connection instead of the pool"),
    CLI_TEXT("\nchat gateway:\n"),
    CLI_STR("--upstream", O(upstream), "URL", "guard this OpenAI-compatible server (its base URL,\n"
                                               "e.g. http://127.0.0.1:8000/v1; https too)"),
    CLI_STR("--upstream-key-env", O(upstream_key_env), "VAR", "send the upstream 'Authorization: Bearer $VAR'"),
    CLI_STR("--upstream-ca", O(upstream_ca), "FILE", "PEM CA bundle for an https upstream (default: system)"),
    CLI_INT("--upstream-timeout-ms", O(up_timeout), "T", 100, 3600 * 1000,
            "one model answer, start to end (default %ld)", .show = true),
    CLI_INT("--upstream-retries", O(up_retries), "N", 0, 5,
            "retries after a failed connect or 500/502/503/504 (default %ld)", .show = true),
    CLI_STR("--model", O(model), "DIR", "serve this local model folder (or .gguf) instead"),
    CLI_STR("--model-name", O(model_name), "NAME", "its id in answers (default: the folder name)"),
    CLI_INT("--model-slots", O(slots), "N", 1, 64, "local generations at once (default %ld)", .show = true),
    CLI_INT("--model-ctx", O(model_ctx), "N", 0, 1 << 20, "context length per slot (default: min(model, 2048))"),
    CLI_INT("--max-tokens", O(max_tokens), "N", 1, 1 << 20, "a local answer's default length (default %ld)",
            .show = true),
    CLI_CALL("--input-action", O(in_action), action_flag, "A",
             "unsafe prompt: auto (as the policy says), block, redact, warn"),
    CLI_CALL("--output-action", O(out_action), action_flag, "A",
             "unsafe answer: auto, block, redact, warn, revise"),
    CLI_STR("--refusal", O(refusal), "TEXT", "the text of a refused answer"),
    CLI_INT("--stream-check-tokens", O(check_k), "K", 1, 4096,
            "check a streamed answer every K tokens (default %ld)", .show = true),
    CLI_STR("--constitution", O(constitution), "FILE", "principles for revise, one per line (default: built-in)"),
    CLI_INT("--revise-rounds", O(rounds), "N", 1, 8, "most critique -> revision rounds (default %ld)",
            .show = true),
    CLI_TEXT("\nenvironment:\n"
             "  WARDEN_API_KEY        if set, requests need 'Authorization: Bearer $WARDEN_API_KEY'\n"
             "                        (or a key of --api-keys; /healthz and /readyz stay open)\n"
             "  WARDEN_LOG            debug|info|warn|error\n\n"
             "signals: SIGHUP reloads the policy and the per-key policies (a broken one is\n"
             "logged and the old ones kept) and reopens the access log; SIGINT/SIGTERM stop\n"
             "accepting, finish requests in flight, exit 0.\n"),
};

int cmd_serve(int argc, char **argv) {
    wd_server_params p = wd_server_params_default();
    opts o = {.policy = p.policy_path, .host = p.host, .tls_cert = p.tls_cert, .tls_key = p.tls_key,
              .port = p.port, .threads = p.n_threads, .max_body = (long)p.max_body, .max_inputs = p.max_inputs,
              .timeout_ms = p.timeout_ms, .max_conns = p.max_connections, .conn_timeout = p.conn_timeout_s,
              .head_ms = p.header_timeout_ms, .per_ip = p.max_conns_per_ip, .budget = (long)p.body_budget,
              .rate_limit = p.rate_limit, .max_inflight = p.max_inflight,
              .up_timeout = p.gateway.upstream_timeout_ms,
              .up_retries = p.gateway.upstream_retries, .slots = p.gateway.model_slots,
              .max_tokens = p.gateway.max_tokens, .check_k = p.gateway.stream_check_tokens,
              .rounds = p.gateway.revise_rounds};
    cli_spec spec = {"serve", {{ROWS, CLI_N(ROWS), &o}}, .unknown_last_missing = true};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    const char *keys_path = o.keys_path;
    p.policy_path = o.policy;
    p.guard_format = o.guard_format;
    p.explain_verdict = o.explain;
    p.host = o.host;
    p.tls_cert = o.tls_cert;
    p.tls_key = o.tls_key;
    p.port = (int)o.port;
    p.n_threads = (int)o.threads;
    p.max_body = (size_t)o.max_body;
    p.max_inputs = (int)o.max_inputs;
    p.timeout_ms = (int)o.timeout_ms;
    p.max_connections = (int)o.max_conns;
    p.conn_timeout_s = (int)o.conn_timeout;
    p.header_timeout_ms = (int)o.head_ms;
    p.max_conns_per_ip = (int)o.per_ip;
    p.body_budget = (size_t)o.budget;
    p.rate_limit = o.rate_limit;
    p.access_log = o.access_log;
    p.max_inflight = (int)o.max_inflight;
    if (o.per_conn) p.thread_per_connection = 1;
    wd_gateway_params *gp = &p.gateway;
    gp->upstream = o.upstream;
    gp->upstream_ca = o.upstream_ca;
    gp->upstream_timeout_ms = (int)o.up_timeout;
    gp->upstream_retries = (int)o.up_retries;
    gp->model_dir = o.model;
    gp->model_name = o.model_name;
    gp->model_threads = (int)o.threads;
    gp->model_slots = (int)o.slots;
    gp->model_ctx = (int)o.model_ctx;
    gp->max_tokens = (int)o.max_tokens;
    gp->refusal = o.refusal;
    gp->input_action = o.in_action;
    gp->output_action = o.out_action;
    gp->stream_check_tokens = (int)o.check_k;
    gp->constitution = o.constitution;
    gp->revise_rounds = (int)o.rounds;
    if (o.upstream && o.model) return cli_usage_error("serve", "--upstream and --model exclude each other");
    if (o.upstream_key_env) {
        gp->upstream_key = getenv(o.upstream_key_env);
        if (!gp->upstream_key || !gp->upstream_key[0])
            return cli_usage_error("serve", "--upstream-key-env %s: the variable is not set", o.upstream_key_env);
    }
    if (o.in_action == WD_GATEWAY_ACTION_REVISE)
        return cli_usage_error("serve", "--input-action revise: a prompt cannot be revised (block, redact, warn)");
    if (o.insecure) p.insecure = 1;
    if (!p.tls_cert != !p.tls_key)
        return cli_usage_error("serve", "--tls-cert and --tls-key go together");
    p.api_key = getenv("WARDEN_API_KEY");
    wd_server_key *keys = NULL;
    if (keys_path) {
        wd_status kst = wd_server_keys_read(keys_path, &keys, &p.n_keys);
        if (kst) return cli_fail(kst, NULL);
        p.keys = keys;
    }

    /* libraries may own threads from before this point (OpenBLAS starts its
     * pool when loaded), so a blocked mask + sigwait would not catch
     * signals sent to those: the handlers write to a pipe instead */
    if (pipe(sig_pipe) != 0) return cli_error("serve: pipe: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    wd_server *srv;
    raise_fd_limit(&p);
    wd_status st = wd_server_start(&p, NULL, &srv);
    wd_server_keys_free(keys, p.n_keys); /* the server copied them */
    if (st) return cli_fail(st, NULL);
    int n_auth = p.n_keys + (p.api_key && p.api_key[0] ? 1 : 0);
    fprintf(stderr, "warden serve: listening on %s://%s%s%s:%d/ (policy: %s, auth: %s%.0d%s)\n",
            p.tls_cert ? "https" : "http", strchr(p.host, ':') ? "[" : "", p.host,
            strchr(p.host, ':') ? "]" : "", wd_server_port(srv),
            p.policy_path ? p.policy_path : "built-in", n_auth ? "bearer token, " : "none",
            n_auth, n_auth ? (n_auth == 1 ? " key" : " keys") : "");
    if (gp->upstream || gp->model_dir)
        fprintf(stderr, "warden serve: chat gateway: POST /v1/chat/completions -> %s %s\n",
                gp->upstream ? "upstream" : "local model", gp->upstream ? gp->upstream : gp->model_dir);
    for (;;) {
        unsigned char sig = 0;
        ssize_t n = read(sig_pipe[0], &sig, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n != 1) return cli_error("serve: signal pipe: %s", strerror(errno));
        if (sig == SIGHUP) {
            /* a failed reload is logged by the library (the old policy stays) */
            if (wd_server_reload(srv, NULL) == WD_OK)
                fprintf(stderr, "warden serve: policy reloaded%s\n", p.access_log ? ", access log reopened" : "");
            continue;
        }
        fprintf(stderr, "warden serve: %s: finishing requests in flight\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        wd_server_stop(srv);
        fprintf(stderr, "warden serve: stopped\n");
        return CLI_OK;
    }
}
