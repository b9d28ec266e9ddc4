/*
 * tools/warden/cmd_version.c - `warden version [--json]` (also `warden -V`
 * and `warden --version`).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_version(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("usage: warden version [--json]\n\n"
               "Prints warden's version (also: warden -V, warden --version).\n\n"
               "  --json   {\"name\": \"warden\", \"version\": \"X.Y.Z\"}\n");
        return CLI_OK;
    }
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else return cli_usage_error("version", "unexpected argument '%s'", argv[i]);
    }
    if (json) printf("{\"name\":\"warden\",\"version\":\"%s\"}\n", wd_version());
    else printf("warden %s\n", wd_version());
    return CLI_OK;
}
