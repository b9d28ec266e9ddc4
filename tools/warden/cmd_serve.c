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

static void usage(FILE *f) {
    wd_server_params d = wd_server_params_default();
    fprintf(f,
            "usage: warden serve [--policy FILE] [--host ADDR] [--port N] [--threads N]\n"
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
            "  --header-timeout-ms T a request head must arrive within T ms of the connection\n"
            "                        (slow clients get 408 and are closed; default %d)\n"
            "  --max-conns-per-ip N  connections from one client address, 0 = no limit\n"
            "                        (default %d; raise it behind a reverse proxy)\n"
            "  --body-budget BYTES   request bodies buffered at once, server-wide; past it\n"
            "                        503 with Retry-After (default %zu)\n"
            "  --api-keys FILE       accepted API keys, one per line, each optionally with its\n"
            "                        own rate ('KEY 20/s'); '#' comment lines\n"
            "  --rate-limit N/s      requests per second per API key (N/s, N/m or N/h;\n"
            "                        default none); past it 429 with Retry-After\n"
            "  --insecure            allow a non-loopback --host without any API key\n"
            "  --tls-cert FILE       serve HTTPS with this PEM certificate (and --tls-key)\n"
            "  --tls-key FILE        the certificate's PEM private key\n"
            "  --thread-per-connection  one thread per connection instead of the pool\n\n"
            "environment:\n"
            "  WARDEN_API_KEY        if set, requests need 'Authorization: Bearer $WARDEN_API_KEY'\n"
            "                        (or a key of --api-keys; /healthz and /readyz stay open)\n"
            "  WARDEN_LOG            debug|info|warn|error\n\n"
            "signals: SIGHUP reloads the policy (a broken one is logged and the old one\n"
            "kept); SIGINT/SIGTERM stop accepting, finish requests in flight, exit 0.\n",
            d.host, d.port, d.n_threads, d.max_body, d.max_inputs, d.timeout_ms,
            d.max_connections, d.conn_timeout_s, d.header_timeout_ms, d.max_conns_per_ip, d.body_budget);
}

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

int cmd_serve(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    wd_server_params p = wd_server_params_default();
    const char *keys_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "--thread-per-connection")) {
            p.thread_per_connection = 1;
            continue;
        }
        if (!strcmp(a, "--insecure")) {
            p.insecure = 1;
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
        } else if (!strcmp(a, "--header-timeout-ms")) {
            if (!cli_parse_int("serve", a, val, 1, 3600 * 1000, &v)) return CLI_USAGE;
            p.header_timeout_ms = (int)v;
        } else if (!strcmp(a, "--max-conns-per-ip")) {
            if (!cli_parse_int("serve", a, val, 0, 1 << 20, &v)) return CLI_USAGE;
            p.max_conns_per_ip = (int)v;
        } else if (!strcmp(a, "--body-budget")) {
            if (!cli_parse_int("serve", a, val, 1024, 1L << 40, &v)) return CLI_USAGE;
            p.body_budget = (size_t)v;
        } else if (!strcmp(a, "--api-keys")) {
            keys_path = val;
        } else if (!strcmp(a, "--rate-limit")) {
            if (wd_server_rate_parse(val, &p.rate_limit))
                return cli_usage_error("serve", "--rate-limit '%s': expected N/s, N/m or N/h with N > 0", val);
        } else if (!strcmp(a, "--tls-cert")) {
            p.tls_cert = val;
        } else if (!strcmp(a, "--tls-key")) {
            p.tls_key = val;
        } else {
            return cli_usage_error("serve", "unknown option '%s'", a);
        }
    }
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
