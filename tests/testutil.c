/*
 * tests/testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/rng.h"

char *wdt_tmpdir(const char *name) {
    char *p = malloc(strlen(WD_TEST_TMP) + strlen(name) + 64);
    sprintf(p, "%s/%s.%d", WD_TEST_TMP, name, (int)getpid());
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", p, p);
    if (system(cmd) != 0) fail_msg("cannot make %s", p);
    return p;
}

char *wdt_shared(const char *rel) {
    char *p = malloc(strlen(WD_SHARED_DIR) + strlen(rel) + 2);
    sprintf(p, "%s/%s", WD_SHARED_DIR, rel);
    struct stat st;
    if (stat(p, &st) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 >= cap) b = realloc(b, cap *= 2);
    }
    b[n] = 0;
    fclose(f);
    return b;
}

int wdt_cli(const char *args, const char *stdin_text, char **out, char **err) {
    char dir[256], in_path[300], out_path[300], err_path[300];
    snprintf(dir, sizeof dir, "%s/cli.%d", WD_TEST_TMP, (int)getpid());
    mkdir(dir, 0755);
    snprintf(in_path, sizeof in_path, "%s/stdin", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    FILE *f = fopen(in_path, "wb");
    if (stdin_text) fputs(stdin_text, f);
    fclose(f);
    size_t need = strlen(args) + 1024;
    char *cmd = malloc(need);
    snprintf(cmd, need, "'%s' %s <'%s' >'%s' 2>'%s'", WD_CLI, args, in_path, out_path, err_path);
    int rc = system(cmd);
    free(cmd);
    if (out) *out = slurp(out_path);
    if (err) *err = slurp(err_path);
    if (rc == -1) return -1;
    if (WIFEXITED(rc)) return WEXITSTATUS(rc);
    return 128 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
}

uint64_t wdt_rand(uint64_t *s) { return wd__rng_next(s); }

void wdt_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *seed) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)((wdt_rand(seed) >> 40) * (1.0 / 16777216.0));
}

void wdt_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot write %s: %s", path, strerror(errno));
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}
