/*
 * serve/guard_backend.c - wd_server_start: the real guard behind the
 * server. The guard engine (issue 3) is not in the library yet, so for now
 * wd_server_start says so; the HTTP side is tested through
 * wd__server_start_backend.
 */
#include "base/err.h"
#include "serve/serve_internal.h"

wd_status wd_server_start(const wd_server_params *params, wd_guard *guard, wd_server **out) {
    *out = NULL;
    return wd__fail(WD_ERR_UNSUPPORTED, "serve: the guard engine is not in this build yet");
}
