/*
 * tools/warden/cmd_version.c - `warden version`.
 */
#include <stdio.h>

#include "cli.h"

int cmd_version(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("usage: warden version\n\nPrints warden's version.\n");
        return CLI_OK;
    }
    if (argc > 1) return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    printf("warden %s\n", wd_version());
    return CLI_OK;
}
