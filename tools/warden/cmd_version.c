/*
 * tools/warden/cmd_version.c - `warden version [--json]` (also `warden -V`
 * and `warden --version`).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"

int cmd_version(int argc, char **argv) {
    bool json = false;
    const cli_flag rows[] = {
        CLI_TEXT("usage: warden version [--json]\n\n"
                 "Prints warden's version (also: warden -V, warden --version).\n\n"),
        CLI_BOOL("--json", &json, "{\"name\": \"warden\", \"version\": \"X.Y.Z\", \"json_schema\": N}\n"
                                  "json_schema: the version of the JSON outputs (docs/json.md)"),
    };
    cli_spec spec = {"version", rows, CLI_N(rows), .col = 11, .unknown = "unexpected argument '%s'"};
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
