/*
 * tools/warden/cmd_version.c - `warden version [--json]` (also `warden -V`
 * and `warden --version`).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden version [--json]\n\n"
             "Prints warden's version (also: warden -V, warden --version).\n\n"),
    CLI_BOOL("--json", 0 /* the bool itself */, "{\"name\": \"warden\", \"version\": \"X.Y.Z\", \"json_schema\": N}\n"
                              "json_schema: the version of the JSON outputs (docs/json.md)"),
};

int cmd_version(int argc, char **argv) {
    bool json = false;
    cli_spec spec = {"version", {{ROWS, CLI_N(ROWS), &json}}, .col = 11, .unknown = "unexpected argument '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    if (json) printf("{\"name\":\"warden\",\"version\":\"%s\",\"json_schema\":%d}\n", wd_version(), CLI_JSON_SCHEMA);
    else printf("warden %s\n", wd_version());
    return CLI_OK;
}
