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
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f) {
    wd_server_params d = wd_server_params_default();
    fprintf(f,
            "usage: warden serve [--policy FILE] [--host ADDR] [--port N] [--threads N]\n"
            "                    [--max-body BYTES] [--max-inputs N] [--timeout-ms T]\n"
            "                    [--max-connections N] [--conn-timeout S]\n\n"
            "Serves the guard over HTTP:\n"
            "  POST /v1/moderations   OpenAI-compatible moderation API\n"
            "  POST /v1/check         warden's native verdicts (role, redaction, offsets)\n"
            "  POST /v1/certify       certified erase-and-check (docs/certify.md)\n"
            "  GET  /healthz, /readyz, /metrics (Prometheus)\n\n"
            "options:\n"
            "  --policy FILE         policy file (default: the built-in policy)\n"
            "  --host ADDR           numeric address to bind (default %s)\n"
            "  --port N              TCP port, 0 = any free one (default %d)\n"
            "  --threads N           worker threads (default %d)\n"
            "  --max-body BYTES      largest request body, larger is 413 (default %zu)\n"
            "  --max-inputs N        most texts per request, more is 400 (default %d)\n"
            "  --timeout-ms T        deadline per request; past it the guard's fail mode\n"
            "                        answers, a body still arriving is cut off (default %d)\n"
            "  --max-connections N   concurrent connections (default %d)\n"
            "  --conn-timeout S      close connections idle this long (default %d)\n"
            "  --thread-per-connection  one thread per connection instead of the pool\n\n"
            "environment:\n"
            "  WARDEN_API_KEY        if set, requests need 'Authorization: Bearer $WARDEN_API_KEY'\n"
            "                        (/healthz and /readyz stay open)\n"
            "  WARDEN_LOG            debug|info|warn|error\n\n"
            "signals: SIGHUP reloads the policy (a broken one is logged and the old one\n"
            "kept); SIGINT/SIGTERM stop accepting, finish requests in flight, exit 0.\n",
            d.host, d.port, d.n_threads, d.max_body, d.max_inputs, d.timeout_ms,
            d.max_connections, d.conn_timeout_s);
}

static int sig_pipe[2] = {-1, -1};

/* Async-signal-safe: hand the signal number to the main thread. */
static void on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) { /* nothing safe to do */ }
    errno = saved;
}

int cmd_serve(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    wd_server_params p = wd_server_params_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "--thread-per-connection")) {
            p.thread_per_connection = 1;
            continue;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0)
            return cli_usage_error("serve", strncmp(a, "--", 2) ? "unexpected argument '%s'"
                                                                : "%s needs a value", a);
        const char *val = argv[++i];
        if (!strcmp(a, "--policy")) p.policy_path = val;
        else if (!strcmp(a, "--host")) p.host = val;
        else if (!strcmp(a, "--port")) {
            if (!cli_parse_int("serve", a, val, 0, 65535, &v)) return CLI_USAGE;
            p.port = (int)v;
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_int("serve", a, val, 1, 1024, &v)) return CLI_USAGE;
            p.n_threads = (int)v;
        } else if (!strcmp(a, "--max-body")) {
            if (!cli_parse_int("serve", a, val, 16, 1L << 30, &v)) return CLI_USAGE;
            p.max_body = (size_t)v;
        } else if (!strcmp(a, "--max-inputs")) {
            if (!cli_parse_int("serve", a, val, 1, 1 << 20, &v)) return CLI_USAGE;
            p.max_inputs = (int)v;
        } else if (!strcmp(a, "--timeout-ms")) {
            if (!cli_parse_int("serve", a, val, 1, 3600 * 1000, &v)) return CLI_USAGE;
            p.timeout_ms = (int)v;
        } else if (!strcmp(a, "--max-connections")) {
            if (!cli_parse_int("serve", a, val, 1, 1 << 20, &v)) return CLI_USAGE;
            p.max_connections = (int)v;
        } else if (!strcmp(a, "--conn-timeout")) {
            if (!cli_parse_int("serve", a, val, 1, 3600, &v)) return CLI_USAGE;
            p.conn_timeout_s = (int)v;
        } else {
            return cli_usage_error("serve", "unknown option '%s'", a);
        }
    }
    p.api_key = getenv("WARDEN_API_KEY");

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
    wd_status st = wd_server_start(&p, NULL, &srv);
    if (st) return cli_fail(st, NULL);
    fprintf(stderr, "warden serve: listening on http://%s%s%s:%d/ (policy: %s, auth: %s)\n",
            strchr(p.host, ':') ? "[" : "", p.host, strchr(p.host, ':') ? "]" : "",
            wd_server_port(srv), p.policy_path ? p.policy_path : "built-in",
            p.api_key && p.api_key[0] ? "bearer token" : "none");
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
