/*
 * tests/testutil.h - what the tests share: cmocka, scratch folders, running
 * the CLI, and reading ../shared where it exists.
 */
#ifndef WD_TESTUTIL_H
#define WD_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "warden/ops.h" /* the kernels and their oracles, outside the umbrella */
#include "warden/warden.h"

/* Returns a malloc'd path to a fresh, empty folder WD_TEST_TMP/<name>. */
char *wdt_tmpdir(const char *name);

/* Returns a malloc'd path WD_SHARED_DIR/<rel>, or NULL when it does not exist
 * (tests then skip with a message saying so). */
char *wdt_shared(const char *rel);

/* Runs `warden ARGS` through /bin/sh (args is a shell fragment, quoted by the
 * caller). stdin_text (may be NULL) is fed to its standard input. Returns its
 * exit status; *out and *err (may be NULL) get malloc'd NUL-terminated output. */
int wdt_cli(const char *args, const char *stdin_text, char **out, char **err);

/* Fills x[0..n) with uniform values in [lo, hi) from a fixed-seed generator. */
void wdt_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *seed);
uint64_t wdt_rand(uint64_t *seed);

/* Writes len bytes to path (not atomically: tests make corrupt files too). */
void wdt_write_file(const char *path, const void *data, size_t len);

#define WDT_SKIP_IF_NULL(p, what)                                             \
    do {                                                                      \
        if (!(p)) {                                                           \
            print_message("SKIP: %s not found (../shared absent)\n", (what)); \
            skip();                                                           \
        }                                                                     \
    } while (0)

#endif
