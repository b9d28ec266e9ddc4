/*
 * serve/chat_rails.c - the gateway's rails: the texts of one side of a
 * chat checked through the server's guard backend, and the action taken.
 *
 * Each text gets the policy's verdict ("allow", "flag", "redact",
 * "block"); the rail takes the most severe one. The action is then the
 * one configured for the rail (--input-action / --output-action), or with
 * "auto" what the verdict says: block -> BLOCK, redact -> REDACT (the
 * texts with spans to mask get their redacted form), flag -> WARN. When
 * the guard cannot give a verdict (an error, the deadline), the policy's
 * fail mode stands in: fail closed blocks, fail open passes; either way
 * the rail reports the error.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "serve/chat_internal.h"

static const char *const act_names[] = {"allow", "block", "redact", "warn", "revise"};

const char *wd__gateway_action_name(wd_gateway_action a) {
    return (unsigned)a < sizeof act_names / sizeof act_names[0] ? act_names[a] : "allow";
}

wd_status wd_gateway_action_parse(const char *s, wd_gateway_action *out) {
    static const struct { const char *name; wd_gateway_action a; } names[] = {
        {"auto", WD_GATEWAY_ACTION_AUTO},     {"block", WD_GATEWAY_ACTION_BLOCK},
        {"redact", WD_GATEWAY_ACTION_REDACT}, {"warn", WD_GATEWAY_ACTION_WARN},
        {"revise", WD_GATEWAY_ACTION_REVISE},
    };
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].a;
            return WD_OK;
        }
    return wd__fail(WD_ERR_INVALID_ARG, "action '%s': expected auto, block, redact, warn or revise",
                    s ? s : "(null)");
}

void wd__rail_result_free(wd__rail_result *r) {
    if (!r) return;
    free(r->verdict);
    if (r->redacted)
        for (size_t i = 0; i < r->n; i++) free(r->redacted[i]);
    free(r->redacted);
    memset(r, 0, sizeof *r);
    r->index = -1;
}

/* The verdict's action (0 allow .. 3 block) and, when it has one, its
 * redacted text (malloc'd). */
static int verdict_action(const char *json, char **redacted) {
    *redacted = NULL;
    if (!json) return 0;
    cJSON *v = cJSON_Parse(json);
    if (!v) return 3;
    int act = 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "action");
    if (cJSON_IsString(a)) {
        if (!strcmp(a->valuestring, "flag")) act = 1;
        else if (!strcmp(a->valuestring, "redact")) act = 2;
        else if (!strcmp(a->valuestring, "block")) act = 3;
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(v, "redacted");
    if (cJSON_IsString(r)) *redacted = strdup(r->valuestring);
    cJSON_Delete(v);
    return act;
}

wd_status wd__rail_check(wd_server *srv, void *guard, wd__rail rail,
                         const char *const *texts, const size_t *lens, size_t n,
                         int64_t deadline_ns, wd__rail_result *out) {
    memset(out, 0, sizeof *out);
    out->index = -1;
    out->action = WD_GATEWAY_ACTION_AUTO;
    if (!n) return WD_OK;
    const wd__gateway *gw = srv->gw;
    wd_gateway_action conf = rail == WD__RAIL_INPUT ? gw->p.input_action : gw->p.output_action;
    out->checked = true;
    out->n = n;
    wd__serve_result *res = calloc(n, sizeof *res);
    out->redacted = calloc(n, sizeof *out->redacted);
    if (!res || !out->redacted) {
        free(res);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    wd__serve_role role = rail == WD__RAIL_INPUT ? WD__ROLE_INPUT : WD__ROLE_OUTPUT;
    bool want_redact = conf == WD_GATEWAY_ACTION_AUTO || conf == WD_GATEWAY_ACTION_REDACT;
    wd_status st = srv->be->check(guard, texts, lens, n, role, want_redact, deadline_ns,
                                  &srv->cancel, res);
    if (st) {
        free(res);
        if (st == WD_ERR_CANCELLED) return st;
        out->error = true;
        bool open_ = srv->be->fail_open(guard);
        out->unsafe = !open_;
        out->action = open_ ? WD_GATEWAY_ACTION_AUTO : WD_GATEWAY_ACTION_BLOCK;
        wd__jsonw w = {0};
        wd__jsonw_lit(&w, "{\"unsafe\":");
        wd__jsonw_lit(&w, open_ ? "false" : "true");
        wd__jsonw_lit(&w, ",\"error\":");
        wd__jsonw_cstr(&w, wd_last_error());
        wd__jsonw_printf(&w, ",\"error_code\":\"%s\",\"fail_mode\":\"%s\"}",
                         st == WD_ERR_TIMEOUT ? "timeout" : "guard_error", open_ ? "open" : "closed");
        out->verdict = wd__jsonw_take(&w, NULL);
        return WD_OK;
    }
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        char *red = NULL;
        int act = verdict_action(res[i].json, &red);
        if (act == 2 && red) out->redacted[i] = red;
        else free(red);
        if (act > worst) {
            worst = act;
            out->index = (int)i;
        }
    }
    if (worst) {
        out->unsafe = worst >= 2 || res[out->index].unsafe;
        out->verdict = res[out->index].json;
        res[out->index].json = NULL;
        if (conf != WD_GATEWAY_ACTION_AUTO) out->action = conf;
        else out->action = worst == 3 ? WD_GATEWAY_ACTION_BLOCK
                         : worst == 2 ? WD_GATEWAY_ACTION_REDACT
                                      : WD_GATEWAY_ACTION_WARN;
        /* only spans the policy redacts can be masked: a text whose verdict
         * is worse (a block-level category) is blocked instead */
        if (out->action == WD_GATEWAY_ACTION_REDACT && !out->redacted[out->index])
            out->action = WD_GATEWAY_ACTION_BLOCK;
        if (out->action == WD_GATEWAY_ACTION_REVISE && rail == WD__RAIL_INPUT)
            out->action = WD_GATEWAY_ACTION_BLOCK;
    }
    for (size_t i = 0; i < n; i++) free(res[i].json);
    free(res);
    return WD_OK;
}
