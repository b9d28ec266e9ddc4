/* A program a user writes against an installed libwarden: checks one prompt
 * with the built-in policy and prints whether it is unsafe. */
#include <stdio.h>
#include <string.h>
#include <warden/warden.h>

int main(int argc, char **argv) {
    const char *text = argc > 1 ? argv[1] : "hello";
    wd_guard *g;
    if (wd_guard_load_default(NULL, &g) != WD_OK) {
        fprintf(stderr, "load: %s\n", wd_last_error());
        return 3;
    }
    wd_verdict *v;
    if (wd_guard_check(g, text, strlen(text), NULL, &v) != WD_OK) {
        fprintf(stderr, "check: %s\n", wd_last_error());
        wd_guard_free(g);
        return 3;
    }
    printf("warden %s: %s\n", wd_version(), wd_verdict_unsafe(v) ? "unsafe" : "safe");
    wd_verdict_free(v);
    wd_guard_free(g);
    return 0;
}
