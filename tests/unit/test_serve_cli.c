/*
 * tests/unit/test_serve_cli.c - `warden serve`'s hardening flags as the
 * command line sees them: the refusal to serve a non-loopback address
 * without a key, key files with errors at file:line, bad rates and TLS
 * halves (usage errors). Nothing here listens on a non-loopback address:
 * every case fails before binding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void expect_fail(const char *args, int code, const char *msg) {
    char *out = NULL, *err = NULL;
    int rc = wdt_cli(args, NULL, &out, &err);
    if (rc != code || !strstr(err, msg)) print_message("warden %s -> %d: %s\n", args, rc, err);
    assert_int_equal(rc, code);
    assert_non_null(strstr(err, msg));
    free(out);
    free(err);
}

static void test_bind_refused(void **state) {
    expect_fail("serve --host 0.0.0.0 --port 0", 3, "--insecure");
    expect_fail("serve --host :: --port 0", 3, "not a loopback address");
}

static void test_key_files(void **state) {
    char *dir = wdt_tmpdir("serve_cli");
    char path[1024], args[1200];
    snprintf(path, sizeof path, "%s/keys.txt", dir);
    static const char *bad[][2] = {
        {"# just a comment\n", "no key in the file"},
        {"ok-key-0123456789abc\nshort\n", "keys.txt:2: a key must have 16 to 512 characters"},
        {"ok-key-0123456789abc 3/fortnight\n", "keys.txt:1: rate '3/fortnight'"},
        {"ok-key-0123456789abc name=a b\n", "keys.txt:1: unexpected text 'b'"},
        {"ok-key-0123456789abc policy=none.yaml\n", "keys.txt:1: policy "},
        {"ok-key-0123456789abc policy=none.yaml\n", "/none.yaml: cannot read"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wdt_write_file(path, bad[i][0], strlen(bad[i][0]));
        snprintf(args, sizeof args, "serve --port 0 --api-keys %s", path);
        expect_fail(args, 3, bad[i][1]);
    }
    snprintf(args, sizeof args, "serve --port 0 --api-keys %s/missing.txt", dir);
    expect_fail(args, 3, "missing.txt: cannot open");
    snprintf(args, sizeof args, "serve --port 0 --access-log %s/no/such/dir/access.log", dir);
    expect_fail(args, 3, "access.log: cannot open");
    free(dir);
}

static void test_usage_errors(void **state) {
    expect_fail("serve --rate-limit 10", 2, "--rate-limit '10'");
    expect_fail("serve --rate-limit -1/s", 2, "expected N/s");
    expect_fail("serve --tls-cert a.pem", 2, "--tls-cert and --tls-key go together");
    expect_fail("serve --header-timeout-ms 0", 2, "--header-timeout-ms");
    expect_fail("serve --max-conns-per-ip -1", 2, "--max-conns-per-ip");
    expect_fail("serve --max-inflight 0", 2, "--max-inflight");
}

static void test_help(void **state) {
    char *out = NULL, *err = NULL;
    assert_int_equal(wdt_cli("serve --help", NULL, &out, &err), 0);
    assert_non_null(strstr(out, "--access-log FILE"));
    assert_non_null(strstr(out, "--max-inflight N"));
    assert_non_null(strstr(out, "policy=PATH"));
    assert_non_null(strstr(out, "/v1/chat/completions"));
    free(out);
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_refused),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
