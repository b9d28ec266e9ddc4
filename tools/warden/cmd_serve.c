/*
 * tools/warden/cmd_serve.c - `warden serve`: the guard as an HTTP service
 * (include/warden/serve.h does the work; docs/serve.md is the manual).
 *
 * Signals: the handlers only write the signal number to a pipe (the
 * self-pipe trick); the main thread reads it and does the work outside
 * signal context. SIGHUP reloads the policy; SIGINT/SIGTERM stop
 * gracefully and exit 0.
 */
#include <errno.h>
#include <signal.h>
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

/* --rate-limit N/s (row->dest: the params' rate). */
static bool rate_flag(const cli_flag *r, const char *v, const char *cmd) {
    if (!wd_server_rate_parse(v, r->dest)) return true;
    cli_usage_error(cmd, "--rate-limit '%s': expected N/s, N/m or N/h with N > 0", v);
    return false;
}

int cmd_serve(int argc, char **argv) {
    wd_server_params p = wd_server_params_default();
    const char *keys_path = NULL;
    bool per_conn = false, insecure = false;
    long port = p.port, threads = p.n_threads, max_body = (long)p.max_body, max_inputs = p.max_inputs,
         timeout_ms = p.timeout_ms, max_conns = p.max_connections, conn_timeout = p.conn_timeout_s,
         head_ms = p.header_timeout_ms, per_ip = p.max_conns_per_ip, budget = (long)p.body_budget;
    char h_host[64], h_port[64], h_threads[64], h_body[96], h_inputs[96], h_timeout[160], h_conns[64],
        h_idle[64], h_head[160], h_ip[160], h_budget[160];
    snprintf(h_host, sizeof h_host, "numeric address to bind (default %s)", p.host);
    snprintf(h_port, sizeof h_port, "TCP port, 0 = any free one (default %d)", p.port);
    snprintf(h_threads, sizeof h_threads, "worker threads (default %d)", p.n_threads);
    snprintf(h_body, sizeof h_body, "largest request body, larger is 413 (default %zu)", p.max_body);
    snprintf(h_inputs, sizeof h_inputs, "most texts per request, more is 400 (default %d)", p.max_inputs);
    snprintf(h_timeout, sizeof h_timeout,
             "deadline per request; past it the guard's fail mode\n"
             "answers, a body still arriving is cut off (default %d)", p.timeout_ms);
    snprintf(h_conns, sizeof h_conns, "concurrent connections (default %d)", p.max_connections);
    snprintf(h_idle, sizeof h_idle, "close connections idle this long (default %d)", p.conn_timeout_s);
    snprintf(h_head, sizeof h_head,
             "a request head must arrive within T ms of the connection\n"
             "(slow clients get 408 and are closed; default %d)", p.header_timeout_ms);
    snprintf(h_ip, sizeof h_ip,
             "connections from one client address, 0 = no limit\n"
             "(default %d; raise it behind a reverse proxy)", p.max_conns_per_ip);
    snprintf(h_budget, sizeof h_budget,
             "request bodies buffered at once, server-wide; past it\n"
             "503 with Retry-After (default %zu)", p.body_budget);
    const cli_flag rows[] = {
        CLI_TEXT("usage: warden serve [--policy FILE] [--host ADDR] [--port N] [--threads N]\n"
                 "                    [--max-body BYTES] [--max-inputs N] [--timeout-ms T]\n"
                 "                    [--max-connections N] [--conn-timeout S]\n"
                 "                    [--header-timeout-ms T] [--max-conns-per-ip N] [--body-budget BYTES]\n"
                 "                    [--api-keys FILE] [--rate-limit N/s] [--insecure]\n"
                 "                    [--tls-cert FILE --tls-key FILE]\n\n"
                 "Serves the guard over HTTP:\n"
                 "  POST /v1/moderations   OpenAI-compatible moderation API\n"
                 "  POST /v1/check         warden's native verdicts (role, redaction, offsets)\n"
                 "  POST /v1/certify       certified erase-and-check (docs/certify.md)\n"
                 "  GET  /v1/models        the guard in force, as an OpenAI model list\n"
                 "  GET  /healthz, /readyz, /metrics (Prometheus)\n\n"
                 "options:\n"),
        CLI_STR("--policy", &p.policy_path, "FILE", "policy file (default: the built-in policy)"),
        CLI_STR("--host", &p.host, "ADDR", h_host),
        CLI_INT("--port", &port, "N", 0, 65535, h_port),
        CLI_INT("--threads", &threads, "N", 1, 1024, h_threads),
        CLI_INT("--max-body", &max_body, "BYTES", 16, 1L << 30, h_body),
        CLI_INT("--max-inputs", &max_inputs, "N", 1, 1 << 20, h_inputs),
        CLI_INT("--timeout-ms", &timeout_ms, "T", 1, 3600 * 1000, h_timeout),
        CLI_INT("--max-connections", &max_conns, "N", 1, 1 << 20, h_conns),
        CLI_INT("--conn-timeout", &conn_timeout, "S", 1, 3600, h_idle),
        CLI_INT("--header-timeout-ms", &head_ms, "T", 1, 3600 * 1000, h_head),
        CLI_INT("--max-conns-per-ip", &per_ip, "N", 0, 1 << 20, h_ip),
        CLI_INT("--body-budget", &budget, "BYTES", 1024, 1L << 40, h_budget),
        CLI_STR("--api-keys", &keys_path, "FILE", "accepted API keys, one per line, each optionally with its\n"
                                                  "own rate ('KEY 20/s'); '#' comment lines"),
        CLI_CALL("--rate-limit", &p.rate_limit, rate_flag, "N/s", "requests per second per API key (N/s, N/m or N/h;\n"
                                                                  "default none); past it 429 with Retry-After"),
        CLI_BOOL("--insecure", &insecure, "allow a non-loopback --host without any API key"),
        CLI_STR("--tls-cert", &p.tls_cert, "FILE", "serve HTTPS with this PEM certificate (and --tls-key)"),
        CLI_STR("--tls-key", &p.tls_key, "FILE", "the certificate's PEM private key"),
        CLI_BOOL("--thread-per-connection", &per_conn, "one thread per connection instead of the pool"),
        CLI_TEXT("\nenvironment:\n"
                 "  WARDEN_API_KEY        if set, requests need 'Authorization: Bearer $WARDEN_API_KEY'\n"
                 "                        (or a key of --api-keys; /healthz and /readyz stay open)\n"
                 "  WARDEN_LOG            debug|info|warn|error\n\n"
                 "signals: SIGHUP reloads the policy (a broken one is logged and the old one\n"
                 "kept); SIGINT/SIGTERM stop accepting, finish requests in flight, exit 0.\n"),
    };
    cli_spec spec = {"serve", rows, CLI_N(rows), .unknown_last_missing = true};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    p.port = (int)port;
    p.n_threads = (int)threads;
    p.max_body = (size_t)max_body;
    p.max_inputs = (int)max_inputs;
    p.timeout_ms = (int)timeout_ms;
    p.max_connections = (int)max_conns;
    p.conn_timeout_s = (int)conn_timeout;
    p.header_timeout_ms = (int)head_ms;
    p.max_conns_per_ip = (int)per_ip;
    p.body_budget = (size_t)budget;
    if (per_conn) p.thread_per_connection = 1;
    if (insecure) p.insecure = 1;
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
    for (;;) {
        unsigned char sig = 0;
        ssize_t n = read(sig_pipe[0], &sig, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n != 1) return cli_error("serve: signal pipe: %s", strerror(errno));
        if (sig == SIGHUP) {
            /* a failed reload is logged by the library (the old policy stays) */
            if (wd_server_reload(srv, NULL) == WD_OK) fprintf(stderr, "warden serve: policy reloaded\n");
            continue;
        }
        fprintf(stderr, "warden serve: %s: finishing requests in flight\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        wd_server_stop(srv);
        fprintf(stderr, "warden serve: stopped\n");
        return CLI_OK;
    }
}
