/*
 * guard/verdict.c - a verdict as callers read it: the accessors of
 * warden/guard.h and its JSON (wd_verdict_to_json). guard.c builds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"
#include "guard/guard_internal.h"
#include "warden/guard_format.h"

/* ==== verdict accessors ================================================== */

void wd_verdict_free(wd_verdict *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n_hits; i++) free((char *)v->hits[i].snippet);
    free(v->hits);
    free(v->redacted);
    free(v->error);
    free(v->rationale);
    free(v->feature);
    free(v);
}

bool wd_verdict_unsafe(const wd_verdict *v) { return v && v->unsafe; }
wd_action wd_verdict_action(const wd_verdict *v) { return v ? v->action : WD_ACTION_ALLOW; }
wd_role wd_verdict_role(const wd_verdict *v) { return v ? v->role : WD_ROLE_INPUT; }
wd_catmask wd_verdict_categories(const wd_verdict *v) { return v ? v->fired : 0; }
float wd_verdict_score(const wd_verdict *v, wd_category c) {
    return v && (unsigned)c < WD_CATEGORY_COUNT ? v->score[c] : 0.0f;
}
float wd_verdict_max_score(const wd_verdict *v) {
    float best = 0.0f;
    for (int c = 0; v && c < WD_CATEGORY_COUNT; c++)
        if (v->score[c] > best) best = v->score[c];
    return best;
}
wd_action wd_verdict_category_action(const wd_verdict *v, wd_category c) {
    return v && (unsigned)c < WD_CATEGORY_COUNT ? v->cat_action[c] : WD_ACTION_ALLOW;
}
size_t wd_verdict_n_hits(const wd_verdict *v) { return v ? v->n_hits : 0; }
const wd_hit *wd_verdict_hit(const wd_verdict *v, size_t i) {
    return v && i < v->n_hits ? &v->hits[i] : NULL;
}
const char *wd_verdict_redacted(const wd_verdict *v, size_t *len) {
    if (len) *len = v && v->redacted ? v->redacted_len : 0;
    return v ? v->redacted : NULL;
}
const char *wd_verdict_error(const wd_verdict *v) { return v ? v->error : NULL; }
double wd_verdict_micros(const wd_verdict *v) { return v ? v->micros : 0; }
long wd_verdict_message_index(const wd_verdict *v) { return v ? v->msg_index : -1; }
bool wd_verdict_cascade(const wd_verdict *v, wd_cascade_info *out) {
    if (!v || !v->cascaded) return false;
    if (out) *out = v->cascade;
    return true;
}
const char *wd_verdict_rationale(const wd_verdict *v) { return v ? v->rationale : NULL; }
const float *wd_verdict_feature(const wd_verdict *v, size_t *n) {
    if (n) *n = v && v->feature ? v->n_feature : 0;
    return v ? v->feature : NULL;
}

/* ==== JSON =============================================================== */

static double round4(float x) { return (double)(long)(x * 10000.0f + 0.5f) / 10000.0; }

wd_status wd_verdict_to_json(const wd_verdict *v, char **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_verdict_to_json: out is NULL");
    *out = NULL;
    if (!v) return wd__fail(WD_ERR_INVALID_ARG, "wd_verdict_to_json: verdict is NULL");
    cJSON *o = cJSON_CreateObject();
    if (!o) return wd__fail(WD_ERR_NOMEM, "out of memory");
    cJSON_AddBoolToObject(o, "unsafe", v->unsafe);
    cJSON_AddStringToObject(o, "action", wd_action_str(v->action));
    cJSON_AddStringToObject(o, "role", wd_role_str(v->role));
    cJSON *cats = cJSON_AddArrayToObject(o, "categories");
    cJSON *scores = cJSON_AddObjectToObject(o, "scores");
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        /* every category, always: a client reads the same keys whatever ran */
        cJSON_AddNumberToObject(scores, wd_category_id(c), v->score[c] > 0 ? round4(v->score[c]) : 0.0);
        if (!(v->fired & WD_CATMASK(c))) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", wd_category_id(c));
        cJSON_AddStringToObject(e, "name", wd_category_name(c));
        cJSON_AddNumberToObject(e, "score", round4(v->score[c]));
        cJSON_AddStringToObject(e, "action", wd_action_str(v->cat_action[c]));
        cJSON_AddItemToArray(cats, e);
    }
    cJSON *hits = cJSON_AddArrayToObject(o, "hits");
    for (size_t i = 0; i < v->n_hits; i++) {
        const wd_hit *h = &v->hits[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "scanner", h->scanner);
        cJSON_AddStringToObject(e, "rule", h->rule ? h->rule : "");
        cJSON_AddStringToObject(e, "category", wd_category_id(h->category));
        cJSON_AddNumberToObject(e, "score", round4(h->score));
        cJSON_AddNumberToObject(e, "start", (double)h->start);
        cJSON_AddNumberToObject(e, "end", (double)h->end);
        cJSON_AddStringToObject(e, "text", h->snippet);
        cJSON_AddNumberToObject(e, "depth", h->depth);
        cJSON_AddItemToArray(hits, e);
    }
    if (v->redacted) cJSON_AddStringToObject(o, "redacted", v->redacted);
    else cJSON_AddNullToObject(o, "redacted");
    if (v->error) cJSON_AddStringToObject(o, "error", v->error);
    else cJSON_AddNullToObject(o, "error");
    if (v->msg_index >= 0) cJSON_AddNumberToObject(o, "message_index", (double)v->msg_index);
    if (v->cascaded) {
        const wd_cascade_info *ci = &v->cascade;
        cJSON *e = cJSON_AddObjectToObject(o, "cascade");
        cJSON_AddBoolToObject(e, "escalated", ci->escalated);
        cJSON_AddStringToObject(e, "decided_by", ci->escalated ? "second" : "first");
        if (ci->first_score == ci->first_score) cJSON_AddNumberToObject(e, "first_score", round4(ci->first_score));
        else cJSON_AddNullToObject(e, "first_score");
        cJSON_AddNumberToObject(e, "first_ms", (double)(long)(ci->first_ms * 1000.0 + 0.5) / 1000.0);
        cJSON_AddNumberToObject(e, "second_ms", (double)(long)(ci->second_ms * 1000.0 + 0.5) / 1000.0);
    }
    if (v->rationale) cJSON_AddStringToObject(o, "rationale", v->rationale);
    char *s = wd__json_print(o, false);
    cJSON_Delete(o);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    /* cJSON allocates with malloc by default; hand it out as is. */
    *out = s;
    return WD_OK;
}
