/*
 * certify/certificate.c - the certificate of one wd_certify call: its
 * accessors and its JSON (docs/json.md gives the schema: every key always
 * present, null where it does not apply).
 */
#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"
#include "certify/certify_internal.h"

void wd_certificate_free(wd_certificate *r) {
    if (!r) return;
    free(r->trigger);
    free(r->erased);
    free(r->spans);
    free(r->error);
    free(r);
}

bool wd_certificate_harmful(const wd_certificate *r) { return r && r->harmful; }
size_t wd_certificate_n_units(const wd_certificate *r) { return r ? r->n_units : 0; }
size_t wd_certificate_n_subsequences(const wd_certificate *r) { return r ? r->n_subseq : 0; }
size_t wd_certificate_n_checks(const wd_certificate *r) { return r ? r->n_checks : 0; }
size_t wd_certificate_n_tokens_decoded(const wd_certificate *r) { return r ? r->n_tokens : 0; }
float wd_certificate_max_score(const wd_certificate *r) { return r ? r->max_score : 0.0f; }
const char *wd_certificate_error(const wd_certificate *r) { return r ? r->error : NULL; }
double wd_certificate_micros(const wd_certificate *r) { return r ? r->micros : 0.0; }

const char *wd_certificate_trigger(const wd_certificate *r, size_t *len) {
    if (len) *len = r && r->trigger ? r->trigger_len : 0;
    return r && r->harmful ? r->trigger : NULL;
}

const size_t *wd_certificate_erased(const wd_certificate *r, size_t *n) {
    if (n) *n = r && r->harmful ? r->n_erased : 0;
    return r && r->harmful ? r->erased : NULL;
}

bool wd_certificate_unit_span(const wd_certificate *r, size_t i, size_t *start, size_t *end) {
    if (!r || !r->spans || i >= r->n_units) return false;
    if (start) *start = r->spans[2 * i];
    if (end) *end = r->spans[2 * i + 1];
    return true;
}

static double round4(double x) { return round(x * 1e4) / 1e4; }

wd_status wd_certificate_to_json(const wd_certificate *r, char **out) {
    if (out) *out = NULL;
    if (!r || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_certificate_to_json: NULL argument");
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    /* one schema: every key always there, null where it does not apply */
    bool greedy = r->greedy_rounds > 0, sampled = !greedy && r->sample_ratio > 0 && r->sample_ratio < 1;
    ok = ok && cJSON_AddBoolToObject(o, "harmful", r->harmful);
    ok = ok && cJSON_AddStringToObject(o, "method", greedy ? "greedy" : sampled ? "randomized" : "certified");
    ok = ok && (greedy ? cJSON_AddNullToObject(o, "mode") : cJSON_AddStringToObject(o, "mode", wd_ec_mode_str(r->mode)));
    ok = ok && (greedy ? cJSON_AddNullToObject(o, "max_erase") : cJSON_AddNumberToObject(o, "max_erase", r->max_erase));
    ok = ok && (!greedy && r->mode == WD_EC_MODE_INSERTION ? cJSON_AddNumberToObject(o, "blocks", r->n_blocks)
                                                     : cJSON_AddNullToObject(o, "blocks"));
    ok = ok && (sampled ? cJSON_AddNumberToObject(o, "sample_ratio", r->sample_ratio)
                        : cJSON_AddNullToObject(o, "sample_ratio"));
    ok = ok && (greedy ? cJSON_AddNumberToObject(o, "greedy_rounds", r->greedy_rounds)
                       : cJSON_AddNullToObject(o, "greedy_rounds"));
    ok = ok && cJSON_AddStringToObject(o, "units", r->unit ? r->unit : "");
    ok = ok && cJSON_AddNumberToObject(o, "n_units", (double)r->n_units);
    ok = ok && cJSON_AddNumberToObject(o, "n_subsequences", (double)r->n_subseq);
    ok = ok && cJSON_AddNumberToObject(o, "n_checks", (double)r->n_checks);
    ok = ok && cJSON_AddNumberToObject(o, "tokens_decoded", (double)r->n_tokens);
    ok = ok && cJSON_AddNumberToObject(o, "max_score", round4(r->max_score));
    if (ok && r->harmful) {
        cJSON *t = cJSON_AddObjectToObject(o, "trigger");
        cJSON *e = t ? cJSON_AddArrayToObject(t, "erased") : NULL;
        cJSON *sp = NULL;
        if (t) sp = r->spans ? cJSON_AddArrayToObject(t, "erased_spans") : cJSON_AddNullToObject(t, "erased_spans");
        ok = t && e && sp && cJSON_AddStringToObject(t, "text", r->trigger ? r->trigger : "");
        for (size_t i = 0; ok && i < r->n_erased; i++) {
            ok = cJSON_AddItemToArray(e, cJSON_CreateNumber((double)r->erased[i]));
            if (ok && r->spans) {
                size_t u = r->erased[i];
                double pair[2] = {(double)r->spans[2 * u], (double)r->spans[2 * u + 1]};
                ok = cJSON_AddItemToArray(sp, cJSON_CreateDoubleArray(pair, 2));
            }
        }
    } else {
        ok = ok && cJSON_AddNullToObject(o, "trigger");
    }
    ok = ok && cJSON_AddNumberToObject(o, "micros", round(r->micros * 10) / 10);
    ok = ok && (r->error ? cJSON_AddStringToObject(o, "error", r->error) : cJSON_AddNullToObject(o, "error"));
    char *s = ok ? wd__json_print(o, false) : NULL;
    cJSON_Delete(o);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    *out = s;
    return WD_OK;
}
