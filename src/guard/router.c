/*
 * guard/router.c - a cascade's escalation rule (warden/router.h): the band
 * [low, high) on the first guard's score, and router.json, the file
 * `warden train-router` writes and the cascade scanner reads.
 *
 * Reading is strict: every field is checked for its type and range, and a
 * message names the file and the field, so that a hand-edited router that
 * would route nothing (low > high) or everything by mistake is refused.
 * An MLP router's weights lie in a sidecar file (guard/router_mlp.c).
 */
#include "warden/router.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "guard/router_mlp.h"

#define ROUTER_FORMAT "warden-router"
#define ROUTER_VERSION 1

wd_router wd_router_band(double low, double high) {
    wd_router r;
    memset(&r, 0, sizeof r);
    r.method = WD_ROUTER_METHOD_THRESHOLD;
    r.low = low;
    r.high = high;
    r.target_share = r.val_f1 = r.val_share = r.val_f1_first = r.val_f1_second = NAN;
    r.p_min = 0.5;
    return r;
}

void wd_router_clear(wd_router *r) {
    if (!r) return;
    wd_router_mlp_free(r->mlp);
    r->mlp = NULL;
}

bool wd_router_escalates(const wd_router *r, double first_score) {
    return r && r->method == WD_ROUTER_METHOD_THRESHOLD && first_score >= r->low &&
           first_score < r->high; /* false for NaN */
}

bool wd_router_escalates_feature(const wd_router *r, double first_score, const float *feature, size_t n_feature) {
    if (!r || r->method != WD_ROUTER_METHOD_MLP) return wd_router_escalates(r, first_score);
    double p = wd_router_mlp_prob(r->mlp, feature, n_feature);
    return p >= r->p_min; /* false for NaN */
}

/* A number field in [lo, hi]; required or not (absent: *out unchanged). */
static wd_status num_in(const cJSON *o, const char *where, const char *key, bool required, double lo,
                        double hi, double *out) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || (!required && cJSON_IsNull(it))) { /* null: not recorded */
        if (required) return wd__fail(WD_ERR_FORMAT, "%s: field '%s': missing", where, key);
        return WD_OK;
    }
    if (!cJSON_IsNumber(it))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a number, got %s", where, key,
                        wd__json_type_name(it));
    double v = it->valuedouble;
    if (!(v >= lo && v <= hi))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a number in [%g, %g], got %g", where, key, lo,
                        hi, v);
    *out = v;
    return WD_OK;
}

static wd_status parse_validation(const cJSON *o, const char *where, wd_router *r) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "validation");
    if (!v || cJSON_IsNull(v)) return WD_OK;
    char w[600];
    snprintf(w, sizeof w, "%s: validation", where);
    if (!cJSON_IsObject(v))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'validation': expected an object, got %s", where,
                        wd__json_type_name(v));
    double n = 0;
    wd_status st;
    if ((st = num_in(v, w, "n", false, 0, 1e15, &n)) || (st = num_in(v, w, "f1", false, 0, 1, &r->val_f1)) ||
        (st = num_in(v, w, "share", false, 0, 1, &r->val_share)) ||
        (st = num_in(v, w, "f1_first", false, 0, 1, &r->val_f1_first)) ||
        (st = num_in(v, w, "f1_second", false, 0, 1, &r->val_f1_second)))
        return st;
    r->n_val = (size_t)n;
    return WD_OK;
}

/* The MLP fields of router.json and its sidecar, looked up in dir. */
static wd_status parse_mlp(const cJSON *o, const char *where, const char *dir, wd_router *r) {
    double n_in = 0, h[2] = {0, 0};
    wd_status st;
    if ((st = num_in(o, where, "n_in", true, 1, 65536, &n_in))) return st;
    const cJSON *hid = cJSON_GetObjectItemCaseSensitive(o, "hidden");
    if (!cJSON_IsArray(hid) || cJSON_GetArraySize(hid) != 2)
        return wd__fail(WD_ERR_FORMAT, "%s: field 'hidden': expected an array of 2 sizes, got %s", where,
                        hid ? wd__json_type_name(hid) : "nothing");
    for (int k = 0; k < 2; k++) {
        const cJSON *e = cJSON_GetArrayItem(hid, k);
        if (!cJSON_IsNumber(e) || !(e->valuedouble >= 1 && e->valuedouble <= 65536) ||
            e->valuedouble != floor(e->valuedouble))
            return wd__fail(WD_ERR_FORMAT, "%s: field 'hidden': element %d: expected an integer in [1, 65536]",
                            where, k);
        h[k] = e->valuedouble;
    }
    if (n_in != floor(n_in)) return wd__fail(WD_ERR_FORMAT, "%s: field 'n_in': expected an integer", where);
    if ((st = num_in(o, where, "p_min", false, 0, 1, &r->p_min))) return st;
    const char *file = NULL;
    if ((st = wd__json_str(o, where, "weights", true, NULL, &file))) return st;
    if (!file[0] || strchr(file, '/') || strchr(file, '\\') || !strcmp(file, "..") || strlen(file) >= sizeof r->weights)
        return wd__fail(WD_ERR_FORMAT, "%s: field 'weights': expected a file name in the router's folder, got \"%s\"",
                        where, file);
    if (!dir)
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: field 'weights': an MLP router is read from a file (wd_router_read)",
                        where);
    char *path = wd__path_join(dir, file);
    if (!path) return wd__fail(WD_ERR_NOMEM, "out of memory");
    st = wd__router_mlp_read(path, where, (size_t)n_in, (size_t)h[0], (size_t)h[1], &r->mlp);
    free(path);
    if (st) return st;
    r->method = WD_ROUTER_METHOD_MLP;
    snprintf(r->weights, sizeof r->weights, "%s", file);
    return WD_OK;
}

wd_status wd_router_parse(const char *json, size_t len, const char *where, wd_router *out) {
    return wd_router_parse_in(json, len, where, NULL, out);
}

wd_status wd_router_parse_in(const char *json, size_t len, const char *where, const char *dir, wd_router *out) {
    if (!out || (!json && len)) return wd__fail(WD_ERR_INVALID_ARG, "wd_router_parse: NULL argument");
    if (!where) where = "<router>";
    wd_router r = wd_router_band(0, 0);
    cJSON *o = wd__json_parse_strict(json ? json : "", len, where, 0, NULL);
    if (!o) return WD_ERR_FORMAT;
    wd_status st = WD_OK;
    const char *format = NULL, *method = NULL, *data = NULL;
    double version = 0;
    if (!cJSON_IsObject(o)) {
        st = wd__fail(WD_ERR_FORMAT, "%s: expected a JSON object, got %s", where, wd__json_type_name(o));
        goto done;
    }
    if ((st = wd__json_str(o, where, "format", true, NULL, &format))) goto done;
    if (strcmp(format, ROUTER_FORMAT)) {
        st = wd__fail(WD_ERR_FORMAT, "%s: field 'format': expected \"%s\", got \"%s\"", where, ROUTER_FORMAT,
                      format);
        goto done;
    }
    if ((st = num_in(o, where, "version", true, 1, 1e9, &version))) goto done;
    if (version != ROUTER_VERSION) {
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s: field 'version': %g is not supported (this build reads %d)", where,
                      version, ROUTER_VERSION);
        goto done;
    }
    if ((st = wd__json_str(o, where, "method", true, NULL, &method))) goto done;
    if (strcmp(method, "threshold") && strcmp(method, "mlp")) {
        st = wd__fail(WD_ERR_FORMAT, "%s: field 'method': expected \"threshold\" or \"mlp\", got \"%s\"", where,
                      method);
        goto done;
    }
    if (!strcmp(method, "threshold")) {
        if ((st = num_in(o, where, "low", true, 0, 1, &r.low))) goto done;
        if ((st = num_in(o, where, "high", true, r.low, 2, &r.high))) goto done;
    }
    if ((st = num_in(o, where, "target_share", false, 0, 1, &r.target_share))) goto done;
    if ((st = parse_validation(o, where, &r))) goto done;
    if ((st = wd__json_str(o, where, "data", false, "", &data))) goto done;
    snprintf(r.data, sizeof r.data, "%s", data);
    if (!strcmp(method, "mlp") && (st = parse_mlp(o, where, dir, &r))) goto done;
    *out = r;
done:
    if (st) wd_router_clear(&r);
    cJSON_Delete(o);
    return st;
}

wd_status wd_router_read(const char *path, wd_router *out) {
    if (!path || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_router_read: NULL argument");
    char *text = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(path, 1u << 20, &text, &len);
    if (st) return st;
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup(".");
    st = dir ? wd_router_parse_in(text, len, path, dir, out) : wd__fail(WD_ERR_NOMEM, "out of memory");
    free(dir);
    free(text);
    return st;
}

static void add_num(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

wd_status wd_router_write(const wd_router *r, const char *path) {
    if (!r || !path) return wd__fail(WD_ERR_INVALID_ARG, "wd_router_write: NULL argument");
    bool mlp = r->method == WD_ROUTER_METHOD_MLP;
    if (mlp && !r->mlp) return wd__fail(WD_ERR_INVALID_ARG, "wd_router_write: an MLP router without its network");
    if (mlp && !(r->p_min >= 0 && r->p_min <= 1))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_router_write: p_min %g outside [0, 1]", r->p_min);
    char side[4096] = "";
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (mlp) { /* the sidecar: path with .json replaced */
        size_t n = strlen(path), nb = strlen(base);
        if (nb > 5 && !strcmp(path + n - 5, ".json")) n -= 5, nb -= 5;
        if (n + 13 >= sizeof side || nb + 13 >= sizeof r->weights)
            return wd__fail(WD_ERR_INVALID_ARG, "%s: path too long", path);
        snprintf(side, sizeof side, "%.*s.safetensors", (int)n, path);
        wd_status st = wd__router_mlp_write(r->mlp, side);
        if (st) return st;
        base = side + (n - nb);
    }
    if (!mlp && !(r->low >= 0 && r->low <= 1 && r->high >= r->low && r->high <= 2))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_router_write: band [%g, %g) outside 0 <= low <= high <= 2", r->low,
                        r->high);
    cJSON *o = cJSON_CreateObject();
    if (!o) return wd__fail(WD_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(o, "format", ROUTER_FORMAT);
    cJSON_AddNumberToObject(o, "version", ROUTER_VERSION);
    cJSON_AddStringToObject(o, "method", mlp ? "mlp" : "threshold");
    if (mlp) {
        cJSON_AddNumberToObject(o, "n_in", (double)r->mlp->n_in);
        int hid[2] = {(int)r->mlp->h1, (int)r->mlp->h2};
        cJSON_AddItemToObject(o, "hidden", cJSON_CreateIntArray(hid, 2));
        cJSON_AddNumberToObject(o, "p_min", r->p_min);
        cJSON_AddStringToObject(o, "weights", base);
    } else {
        cJSON_AddNumberToObject(o, "low", r->low);
        cJSON_AddNumberToObject(o, "high", r->high);
    }
    add_num(o, "target_share", r->target_share);
    cJSON *v = cJSON_AddObjectToObject(o, "validation");
    cJSON_AddNumberToObject(v, "n", (double)r->n_val);
    add_num(v, "f1", r->val_f1);
    add_num(v, "share", r->val_share);
    add_num(v, "f1_first", r->val_f1_first);
    add_num(v, "f1_second", r->val_f1_second);
    cJSON_AddStringToObject(o, "data", r->data);
    char *txt = wd__json_print(o, true);
    cJSON_Delete(o);
    if (!txt) return wd__fail(WD_ERR_NOMEM, "out of memory");
    size_t n = strlen(txt);
    txt[n] = '\n'; /* the NUL becomes the file's last newline */
    wd_status st = wd__file_write_atomic(path, txt, n + 1);
    free(txt);
    return st;
}
