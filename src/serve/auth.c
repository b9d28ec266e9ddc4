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
 * its own rate ("20/s", "600/m", "36000/h"); '#' starts a comment line.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve/serve_internal.h"

#define KEY_MIN_LEN 16
#define KEY_MAX_LEN 512

/* ==== Key files ============================================================ */

void wd_server_keys_free(wd_server_key *keys, int n_keys) {
    if (!keys) return;
    for (int i = 0; i < n_keys; i++) free((char *)keys[i].key);
    free(keys);
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
        char *rate_s = NULL;
        if (*p) {
            *p++ = 0;
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != '\n' && *p != '\r' && *p != '#') {
                rate_s = p;
                while (*p && !isspace((unsigned char)*p)) p++;
                char *rest = p;
                while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n') rest++;
                *p = 0;
                if (*rest && *rest != '#') {
                    st = wd__fail(WD_ERR_FORMAT, "%s:%d: unexpected text after the rate", path, lineno);
                    break;
                }
            }
        }
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
        for (int i = 0; i < n; i++)
            if (!strcmp(k[i].key, key)) {
                st = wd__fail(WD_ERR_FORMAT, "%s:%d: duplicate key (first on an earlier line)", path,
                              lineno);
                break;
            }
        if (st) break;
        if (n == cap) {
            int nc = cap ? cap * 2 : 8;
            wd_server_key *nk = realloc(k, (size_t)nc * sizeof *nk);
            if (!nk) {
                st = wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            k = nk;
            cap = nc;
        }
        k[n].key = strdup(key);
        k[n].rate = rate;
        if (!k[n].key) {
            st = wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        n++;
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
    int n = (p->api_key && p->api_key[0] ? 1 : 0) + (p->n_keys > 0 ? p->n_keys : 0);
    srv->keys = n ? calloc((size_t)n, sizeof *srv->keys) : NULL;
    if (n && !srv->keys) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    int j = 0;
    if (p->api_key && p->api_key[0]) {
        srv->keys[j].key = strdup(p->api_key);
        bucket_init(&srv->keys[j], p->rate_limit);
        j++;
    }
    for (int i = 0; i < p->n_keys; i++, j++) {
        if (!p->keys[i].key || !p->keys[i].key[0]) {
            srv->n_keys = j;
            return wd__fail(WD_ERR_INVALID_ARG, "serve: API key %d is empty", i + 1);
        }
        srv->keys[j].key = strdup(p->keys[i].key);
        bucket_init(&srv->keys[j], p->keys[i].rate > 0 ? p->keys[i].rate : p->rate_limit);
    }
    srv->n_keys = j;
    for (int i = 0; i < n; i++) {
        if (!srv->keys[i].key) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
        srv->keys[i].len = strlen(srv->keys[i].key);
    }
    bucket_init(&srv->anon, p->rate_limit);
    return WD_OK;
}

void wd__auth_free(wd_server *srv) {
    for (int i = 0; i < srv->n_keys; i++) {
        free(srv->keys[i].key);
        pthread_mutex_destroy(&srv->keys[i].mu);
    }
    free(srv->keys);
    srv->keys = NULL;
    srv->n_keys = 0;
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
