/*
 * serve/auth.c - API keys and per-key rate limits for `warden serve`.
 *
 * Keys: the server accepts any of its keys as "Authorization: Bearer KEY".
 * A presented token is compared with every key, each comparison touching
 * every byte of the key, so the time taken depends neither on which key
 * matched nor on where a wrong token first differs.
 *
 * Rate limits: a token bucket per key (and one shared bucket for requests
 * when the server has no keys): it holds at most `burst` tokens (one
 * second's worth, at least 1), refills at `rate` tokens per second, and a
 * request takes one token or is answered 429 with the seconds until the
 * next token in Retry-After.
 *
 * Key files (wd_server_keys_read): one key per line, optionally followed by
 * its own rate ("20/s", "600/m", "36000/h"), its name ("name=search") and
 * its policy ("policy=strict.yaml", relative to the key file's folder);
 * '#' starts a comment. Names stand in for keys wherever a key would be
 * shown: a key is a secret and is never logged.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "serve/serve_internal.h"

#define KEY_MIN_LEN 16
#define KEY_MAX_LEN 512

/* ==== Key files ============================================================ */

void wd_server_keys_free(wd_server_key *keys, int n_keys) {
    if (!keys) return;
    for (int i = 0; i < n_keys; i++) {
        free((char *)keys[i].key);
        free((char *)keys[i].name);
        free((char *)keys[i].policy_path);
    }
    free(keys);
}

#define NAME_MAX_LEN 64

/* True for a name logs and metrics may show: 1-64 of [A-Za-z0-9._-], not
 * one the server gives itself ("anonymous", "unnamed", "key-<digits>"). */
static bool name_ok(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > NAME_MAX_LEN) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-') return false;
    if (!strcmp(s, "anonymous") || !strcmp(s, "unnamed")) return false;
    if (!strncmp(s, "key-", 4) && s[4] && strspn(s + 4, "0123456789") == n - 4) return false;
    return true;
}

/* The policy path p of a key file at keys_path: as is when absolute (or
 * the key file has no folder), else joined to the key file's folder. */
static char *resolve_path(const char *keys_path, const char *p) {
    const char *slash = strrchr(keys_path, '/');
    if (p[0] == '/' || !slash) return strdup(p);
    size_t dn = (size_t)(slash - keys_path) + 1;
    char *out = malloc(dn + strlen(p) + 1);
    if (!out) return NULL;
    memcpy(out, keys_path, dn);
    strcpy(out + dn, p);
    return out;
}

/* The fields of one key line after the key. */
typedef struct key_fields {
    char *rate, *name, *policy; /* into the line; NULL = not given */
} key_fields;

/* Splits the rest of a key line (after the key) into fields; false with
 * the reason in why[]. */
static bool parse_fields(char *p, key_fields *f, char *why, size_t why_n) {
    memset(f, 0, sizeof *f);
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p || *p == '#') return true;
        char *tok = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = 0;
        char **slot;
        const char *what;
        if (!strncmp(tok, "name=", 5)) slot = &f->name, what = "name=", tok += 5;
        else if (!strncmp(tok, "policy=", 7)) slot = &f->policy, what = "policy=", tok += 7;
        else if (strchr(tok, '=')) {
            snprintf(why, why_n, "unknown field '%.*s' (expected name= or policy=)",
                     (int)(strchr(tok, '=') - tok + 1), tok);
            return false;
        } else if (f->rate || f->name || f->policy) {
            snprintf(why, why_n, "unexpected text '%.40s' (the rate comes right after the key; "
                     "then name=NAME, policy=PATH)", tok);
            return false;
        } else slot = &f->rate, what = "rate";
        if (*slot) {
            snprintf(why, why_n, "%s given twice", what);
            return false;
        }
        if (!*tok) {
            snprintf(why, why_n, "%s is empty", what);
            return false;
        }
        *slot = tok;
    }
}

/* Parses "N/s", "N/m" or "N/h" into requests per second; false if not one. */
static bool parse_rate(const char *s, double *rate) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0) || !isfinite(v) || *end != '/') return false;
    double per = end[1] == 's' ? 1 : end[1] == 'm' ? 60 : end[1] == 'h' ? 3600 : 0;
    if (!per || end[2]) return false;
    *rate = v / per;
    return true;
}

wd_status wd_server_rate_parse(const char *s, double *rate) {
    *rate = 0;
    if (!s || !parse_rate(s, rate))
        return wd__fail(WD_ERR_INVALID_ARG, "rate '%s' is not N/s, N/m or N/h with N > 0", s ? s : "");
    return WD_OK;
}

wd_status wd_server_keys_read(const char *path, wd_server_key **keys, int *n_keys) {
    *keys = NULL;
    *n_keys = 0;
    FILE *f = fopen(path, "r");
    if (!f) return wd__fail(WD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    wd_server_key *k = NULL;
    int n = 0, cap = 0, lineno = 0;
    char line[2048];
    wd_status st = WD_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = wd__fail(WD_ERR_FORMAT, "%s:%d: line too long", path, lineno);
            break;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '\n' || *p == '\r' || *p == '#') continue;
        char *key = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        size_t klen = (size_t)(p - key);
        key_fields kf = {0};
        if (*p) {
            *p++ = 0;
            char why[160];
            if (!parse_fields(p, &kf, why, sizeof why)) {
                st = wd__fail(WD_ERR_FORMAT, "%s:%d: %s", path, lineno, why);
                break;
            }
        }
        char *rate_s = kf.rate;
        if (klen < KEY_MIN_LEN || klen > KEY_MAX_LEN) {
            st = wd__fail(WD_ERR_FORMAT, "%s:%d: a key must have %d to %d characters, this one has %zu",
                          path, lineno, KEY_MIN_LEN, KEY_MAX_LEN, klen);
            break;
        }
        for (size_t i = 0; i < klen; i++)
            if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e) {
                st = wd__fail(WD_ERR_FORMAT, "%s:%d: a key must be printable ASCII", path, lineno);
                break;
            }
        if (st) break;
        double rate = 0;
        if (rate_s && !parse_rate(rate_s, &rate)) {
            st = wd__fail(WD_ERR_FORMAT, "%s:%d: rate '%s' is not N/s, N/m or N/h with N > 0", path,
                          lineno, rate_s);
            break;
        }
        if (kf.name && !name_ok(kf.name)) {
            st = wd__fail(WD_ERR_FORMAT, "%s:%d: name '%.80s' must be 1 to %d characters of "
                          "A-Z a-z 0-9 . _ - and not anonymous, unnamed or key-<number>", path, lineno,
                          kf.name, NAME_MAX_LEN);
            break;
        }
        for (int i = 0; i < n; i++) {
            if (!strcmp(k[i].key, key))
                st = wd__fail(WD_ERR_FORMAT, "%s:%d: duplicate key (first on an earlier line)", path,
                              lineno);
            else if (kf.name && k[i].name && !strcmp(k[i].name, kf.name))
                st = wd__fail(WD_ERR_FORMAT, "%s:%d: duplicate name '%s' (first on an earlier line)",
                              path, lineno, kf.name);
            if (st) break;
        }
        if (st) break;
        char *policy = kf.policy ? resolve_path(path, kf.policy) : NULL;
        if (kf.policy && !policy) {
            st = wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        if (policy && access(policy, R_OK) != 0) {
            st = wd__fail(WD_ERR_IO, "%s:%d: policy %s: cannot read: %s", path, lineno, policy,
                          strerror(errno));
            free(policy);
            break;
        }
        if (n == cap) {
            int nc = cap ? cap * 2 : 8;
            wd_server_key *nk = realloc(k, (size_t)nc * sizeof *nk);
            if (!nk) {
                free(policy);
                st = wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            k = nk;
            cap = nc;
        }
        k[n].key = strdup(key);
        k[n].rate = rate;
        k[n].name = kf.name ? strdup(kf.name) : NULL;
        k[n].policy_path = policy;
        n++;
        if (!k[n - 1].key || (kf.name && !k[n - 1].name)) {
            st = wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
    }
    if (!st && ferror(f)) st = wd__fail(WD_ERR_IO, "%s: read error", path);
    fclose(f);
    if (!st && n == 0) st = wd__fail(WD_ERR_FORMAT, "%s: no key in the file", path);
    if (st) {
        wd_server_keys_free(k, n);
        return st;
    }
    *keys = k;
    *n_keys = n;
    return WD_OK;
}

/* ==== The server's key table ============================================== */

static void bucket_init(wd__key *k, double rate) {
    k->rate = rate;
    k->burst = rate > 1 ? rate : 1;
    k->tokens = k->burst;
    k->last_ns = wd__serve_now_ns();
    pthread_mutex_init(&k->mu, NULL);
}

wd_status wd__auth_init(wd_server *srv, const wd_server_params *p) {
    srv->anon.policy = -1;
    srv->anon.name = strdup("anonymous");
    bucket_init(&srv->anon, p->rate_limit);
    int n = (p->api_key && p->api_key[0] ? 1 : 0) + (p->n_keys > 0 ? p->n_keys : 0);
    srv->keys = n ? calloc((size_t)n, sizeof *srv->keys) : NULL;
    if ((n && !srv->keys) || !srv->anon.name) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    bool nomem = false;
    int j = 0;
    if (p->api_key && p->api_key[0]) {
        srv->keys[j].key = strdup(p->api_key);
        bucket_init(&srv->keys[j], p->rate_limit);
        j++;
    }
    for (int i = 0; i < p->n_keys; i++, j++) {
        const wd_server_key *pk = &p->keys[i];
        if (!pk->key || !pk->key[0]) {
            srv->n_keys = j;
            return wd__fail(WD_ERR_INVALID_ARG, "serve: API key %d is empty", i + 1);
        }
        wd__key *k = &srv->keys[j];
        bucket_init(k, pk->rate > 0 ? pk->rate : p->rate_limit);
        srv->n_keys = j + 1;
        k->key = strdup(pk->key);
        if (pk->name && pk->name[0]) {
            if (!name_ok(pk->name))
                return wd__fail(WD_ERR_INVALID_ARG, "serve: API key %d: name '%.80s' must be 1 to %d "
                                "characters of A-Z a-z 0-9 . _ - and not anonymous, unnamed or "
                                "key-<number>", i + 1, pk->name, NAME_MAX_LEN);
            for (int q = 0; q < j; q++)
                if (srv->keys[q].name && !strcmp(srv->keys[q].name, pk->name))
                    return wd__fail(WD_ERR_INVALID_ARG, "serve: two API keys are named '%s'", pk->name);
            nomem |= !(k->name = strdup(pk->name));
        }
        if (pk->policy_path && pk->policy_path[0]) nomem |= !(k->policy_path = strdup(pk->policy_path));
    }
    srv->n_keys = j;
    /* metric rows: anonymous, the named keys, then "unnamed" if any */
    const char **rows = malloc((size_t)(n + 2) * sizeof *rows);
    nomem |= !rows;
    int n_rows = 1, unnamed = -1;
    for (int i = 0; i < n && !nomem; i++) {
        wd__key *k = &srv->keys[i];
        k->policy = -1;
        nomem |= !k->key;
        if (k->key) k->len = strlen(k->key);
        if (k->name) {
            k->row = n_rows;
            rows[n_rows++] = k->name;
            continue;
        }
        char nm[32];
        snprintf(nm, sizeof nm, "key-%d", i + 1);
        nomem |= !(k->name = strdup(nm));
        if (unnamed < 0) unnamed = n_rows++;
        k->row = unnamed;
    }
    wd_status st = nomem ? wd__fail(WD_ERR_NOMEM, "serve: out of memory") : WD_OK;
    if (!st) {
        rows[0] = "anonymous";
        if (unnamed >= 0) rows[unnamed] = "unnamed";
        st = wd__counters_keys_init(&srv->counters, rows, n_rows);
    }
    free(rows);
    return st;
}

void wd__auth_free(wd_server *srv) {
    for (int i = 0; i < srv->n_keys; i++) {
        free(srv->keys[i].key);
        free(srv->keys[i].name);
        free(srv->keys[i].policy_path);
        pthread_mutex_destroy(&srv->keys[i].mu);
    }
    free(srv->keys);
    srv->keys = NULL;
    srv->n_keys = 0;
    free(srv->anon.name);
    srv->anon.name = NULL;
    pthread_mutex_destroy(&srv->anon.mu);
}

/* Compares token (n bytes) with key; the time depends on the key's length
 * only. Returns 1 when equal, else 0. */
static int ct_equal(const char *token, size_t n, const wd__key *k) {
    unsigned diff = (unsigned)(n != k->len);
    for (size_t i = 0; i < k->len; i++)
        diff |= (unsigned char)k->key[i] ^ (unsigned char)(i < n ? token[i] : 0);
    return diff == 0;
}

wd__key *wd__auth_match(wd_server *srv, const char *authz, size_t n) {
    if (!srv->n_keys) return &srv->anon;
    if (!authz || n < 7 || strncasecmp(authz, "Bearer ", 7) != 0) return NULL;
    const char *t = authz + 7;
    n -= 7;
    while (n && (*t == ' ' || *t == '\t')) t++, n--;
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
    int found = -1;
    for (int i = 0; i < srv->n_keys; i++) {
        int eq = ct_equal(t, n, &srv->keys[i]);
        found = eq ? i : found; /* no early exit: every key is compared */
    }
    return found >= 0 ? &srv->keys[found] : NULL;
}

bool wd__rate_take(wd__key *k, int *retry_after_s) {
    if (!(k->rate > 0)) return true;
    int64_t now = wd__serve_now_ns();
    pthread_mutex_lock(&k->mu);
    double t = k->tokens + (double)(now - k->last_ns) * 1e-9 * k->rate;
    k->tokens = t > k->burst ? k->burst : t;
    k->last_ns = now;
    bool ok = k->tokens >= 1;
    if (ok) k->tokens -= 1;
    double wait = ok ? 0 : (1 - k->tokens) / k->rate;
    pthread_mutex_unlock(&k->mu);
    *retry_after_s = ok ? 0 : (int)ceil(wait);
    if (!ok && *retry_after_s < 1) *retry_after_s = 1;
    return ok;
}
