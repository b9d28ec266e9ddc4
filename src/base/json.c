/*
 * base/json.c - cJSON helpers with file/field-naming errors (base/json.h).
 */
#include "base/json.h"
#include "warden/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/utf8.h"

cJSON *wd__json_parse(const char *text, size_t len, const char *where) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root) return root;
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    int line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    wd__fail(WD_ERR_FORMAT, "%s: invalid JSON at line %d, column %d", where, line, col);
    return NULL;
}

/* ==== strict parsing ====================================================
 *
 * After cJSON accepts the text, one pass over the raw bytes finds what the
 * tree cannot show: cJSON keeps every member of an object (lookups return
 * the first) and cuts strings at U+0000. The pass keeps a stack of open
 * containers and, for the open objects, their decoded keys in one array:
 *
 *   keys: [ k0 k1 | k2 k3 | k4 ]      kb: the decoded key bytes, same order
 *           outer   inner  innermost  (an object's keys are contiguous,
 *                                      because inner objects close first)
 *
 * When an object closes, its keys are sorted (hash, length, bytes) and
 * neighbours compared, then dropped from both arrays.
 */

typedef struct skey {
    uint64_t hash;
    size_t   off, len; /* the decoded name: kb[off, off + len) */
    size_t   pos;      /* byte offset of its opening quote in the text */
} skey;

typedef struct sframe {
    size_t key0;   /* its first key in keys; SIZE_MAX for an array */
    size_t kb0;    /* kb's length when it opened */
    size_t member; /* the key of the member being read; SIZE_MAX when none */
} sframe;

typedef struct sscan {
    const char    *text;
    size_t         len;
    skey          *keys;
    size_t         n_keys, cap_keys;
    char          *kb;
    size_t         n_kb, cap_kb;
    sframe        *fr;
    size_t         n_fr, cap_fr;
} sscan;

static _Thread_local const char *sort_kb; /* qsort has no context argument */

static int skey_cmp(const void *pa, const void *pb) {
    const skey *a = pa, *b = pb;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    int c = memcmp(sort_kb + a->off, sort_kb + b->off, a->len);
    if (c) return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need) cap2 *= 2;
    void *np = realloc(*p, cap2 * elem);
    if (!np) return false;
    *p = np;
    *cap = cap2;
    return true;
}

static bool kb_put(sscan *s, const char *b, size_t n) {
    if (!grow((void **)&s->kb, &s->cap_kb, s->n_kb + n, 1)) return false;
    memcpy(s->kb + s->n_kb, b, n);
    s->n_kb += n;
    return true;
}

static bool kb_put_cp(sscan *s, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    return kb_put(s, u, n);
}

/* The 4 hex digits at p (p + 4 <= end), or -1. */
static long hex4(const char *p, const char *end) {
    if (end - p < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Walks the string whose opening quote is at text[i]; with store, appends
 * its decoded bytes to kb. Returns the index after the closing quote (len
 * when there is none); sets *nul when it holds U+0000, *oom when out of
 * memory. */
static size_t scan_string(sscan *s, size_t i, bool store, bool *nul, bool *oom) {
    const char *t = s->text, *end = s->text + s->len;
    for (i++; i < s->len;) {
        unsigned char c = (unsigned char)t[i];
        if (c == '"') return i + 1;
        if (c == '\\' && i + 1 < s->len) {
            char e = t[i + 1];
            if (e != 'u') {
                const char *from = "bfnrt/\\\"", *to = "\b\f\n\r\t/\\\"";
                const char *k = strchr(from, e);
                char d = k && e ? to[k - from] : e;
                if (store && !kb_put(s, &d, 1)) *oom = true;
                i += 2;
                continue;
            }
            long u = hex4(t + i + 2, end);
            i += 2 + (u >= 0 ? 4 : 0);
            if (u < 0) continue; /* cJSON rejects it; never here */
            uint32_t cp = (uint32_t)u;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < s->len && t[i] == '\\' && t[i + 1] == 'u') {
                long lo = hex4(t + i + 2, end);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp == 0) *nul = true;
            if (store && !kb_put_cp(s, cp)) *oom = true;
            continue;
        }
        if (c == 0) *nul = true;
        if (store && !kb_put(s, (const char *)&c, 1)) *oom = true;
        i++;
    }
    return s->len;
}

static void line_col(const char *text, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') (*line)++, *col = 1;
        else (*col)++;
    }
}

/* A key for messages: at most 60 bytes, control bytes and quotes as \xNN. */
static void show_key(char *out, size_t cap, const char *k, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)k[i];
        if (i == 60) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7F || c == '\'' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else out[o++] = (char)c;
    }
    out[o] = '\0';
}

/* FNV-1a of a key, from the basis this scanner has always used (a digit
 * short of FNV's 14695981039346656037): the sort order of an object's keys,
 * and so which of several duplicates a message names, stays what it was. */
static uint64_t key_hash(const char *p, size_t n) {
    return wd__fnv1a_more(1469598103934665603ull, p, n);
}

/* Checks the keys of the object whose keys start at key0. Returns the
 * position of the earliest repeated key, or SIZE_MAX; *dup its index. */
static size_t find_dup(sscan *s, size_t key0, size_t *dup) {
    size_t n = s->n_keys - key0, best = SIZE_MAX;
    if (n < 2) return SIZE_MAX;
    sort_kb = s->kb;
    qsort(s->keys + key0, n, sizeof *s->keys, skey_cmp);
    for (size_t i = key0 + 1; i < s->n_keys; i++) {
        const skey *a = &s->keys[i - 1], *b = &s->keys[i];
        if (a->hash == b->hash && a->len == b->len && !memcmp(s->kb + a->off, s->kb + b->off, a->len) &&
            b->pos < best) {
            best = b->pos;
            *dup = i;
        }
    }
    return best;
}

/* The check itself over text[0, len) (a value cJSON accepted). */
static wd_json_fault strict_scan(sscan *s, const char *where, unsigned flags) {
    const char *t = s->text;
    bool expect_key = false, oom = false;
    char name[300];
    int line, col;
    for (size_t i = 0; i < s->len;) {
        sframe *top = s->n_fr ? &s->fr[s->n_fr - 1] : NULL;
        switch (t[i]) {
        case '{':
        case '[':
            if (!grow((void **)&s->fr, &s->cap_fr, s->n_fr + 1, sizeof *s->fr)) goto nomem;
            s->fr[s->n_fr++] = (sframe){t[i] == '{' ? s->n_keys : SIZE_MAX, s->n_kb, SIZE_MAX};
            expect_key = t[i] == '{';
            i++;
            break;
        case '}':
        case ']':
            if (!top) return WD_JSON_SYNTAX; /* never: cJSON checked the nesting */
            if (top->key0 != SIZE_MAX) {
                size_t d = 0, pos = find_dup(s, top->key0, &d);
                if (pos != SIZE_MAX) {
                    show_key(name, sizeof name, s->kb + s->keys[d].off, s->keys[d].len);
                    line_col(t, pos, &line, &col);
                    wd__fail(WD_ERR_FORMAT, "%s: duplicate key '%s' at line %d, column %d (an object "
                             "may name each member once)", where, name, line, col);
                    return WD_JSON_DUP_KEY;
                }
                s->n_keys = top->key0;
                s->n_kb = top->kb0;
            }
            s->n_fr--;
            expect_key = false;
            i++;
            break;
        case ',':
            expect_key = top && top->key0 != SIZE_MAX;
            i++;
            break;
        case '"': {
            bool is_key = expect_key && top && top->key0 != SIZE_MAX, nul = false;
            size_t k0 = s->n_kb;
            /* the key buffer exists even for an empty first key "" (its
             * offsets are added to it; NULL + 0 is undefined) */
            if (is_key && !grow((void **)&s->kb, &s->cap_kb, 1, 1)) goto nomem;
            size_t j = scan_string(s, i, is_key, &nul, &oom);
            if (oom) goto nomem;
            if (nul && !(flags & WD__JSON_ALLOW_NUL)) {
                line_col(t, i, &line, &col);
                if (is_key) {
                    show_key(name, sizeof name, s->kb + k0, s->n_kb - k0);
                    wd__fail(WD_ERR_FORMAT, "%s: key '%s' holds U+0000 (a NUL) at line %d, column %d",
                             where, name, line, col);
                } else {
                    const sframe *f = NULL;
                    for (size_t k = s->n_fr; k-- > 0 && !f;)
                        if (s->fr[k].member != SIZE_MAX) f = &s->fr[k];
                    if (f) {
                        const skey *m = &s->keys[f->member];
                        show_key(name, sizeof name, s->kb + m->off, m->len);
                        wd__fail(WD_ERR_FORMAT,
                                 "%s: field '%s': string holds U+0000 (a NUL) at line %d, column %d; "
                                 "NUL is not accepted in text",
                                 where, name, line, col);
                    } else {
                        wd__fail(WD_ERR_FORMAT,
                                 "%s: string holds U+0000 (a NUL) at line %d, column %d; NUL is not "
                                 "accepted in text",
                                 where, line, col);
                    }
                }
                return WD_JSON_NUL;
            }
            if (is_key) {
                if (!grow((void **)&s->keys, &s->cap_keys, s->n_keys + 1, sizeof *s->keys)) goto nomem;
                s->keys[s->n_keys] = (skey){key_hash(s->kb + k0, s->n_kb - k0), k0, s->n_kb - k0, i};
                top->member = s->n_keys++;
                expect_key = false;
            }
            i = j;
            break;
        }
        default: i++; break;
        }
    }
    return WD_JSON_OK;
nomem:
    wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    return WD_JSON_NOMEM;
}

cJSON *wd__json_parse_strict(const char *text, size_t len, const char *where, unsigned flags,
                             wd_json_fault *fault) {
    wd_json_fault f = WD_JSON_OK;
    const char *end = NULL;
    cJSON *root = text ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;
    if (!root) {
        if (text) cJSON_Delete(wd__json_parse(text, len, where)); /* sets the message */
        else wd__fail(WD_ERR_FORMAT, "%s: no JSON text", where);
        f = WD_JSON_SYNTAX;
        goto out;
    }
    size_t vend = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
    for (size_t i = vend; i < len; i++) {
        char c = text[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            int line, col;
            line_col(text, i, &line, &col);
            wd__fail(WD_ERR_FORMAT, "%s: text after the JSON value at line %d, column %d", where,
                     line, col);
            f = WD_JSON_TRAILING;
            goto out;
        }
    }
    sscan s = {.text = text, .len = vend};
    f = strict_scan(&s, where, flags);
    free(s.keys);
    free(s.kb);
    free(s.fr);
out:
    if (fault) *fault = f;
    if (f != WD_JSON_OK) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* Literal formats: "%.*g" sends glibc's printf down its slower positional
 * path. */
static const char *const G_FMT[18] = {"%.0g",  "%.1g",  "%.2g",  "%.3g",  "%.4g",  "%.5g",
                                      "%.6g",  "%.7g",  "%.8g",  "%.9g",  "%.10g", "%.11g",
                                      "%.12g", "%.13g", "%.14g", "%.15g", "%.16g", "%.17g"};

typedef unsigned __int128 u128;

static u128 pow10_u128(int k) {
    u128 r = 1;
    while (k-- > 0) r *= 10;
    return r;
}

/* The fewest-digit text of a float that strtof reads back as it, written
 * exactly as snprintf("%.{p}g") would write it for the smallest such p, for
 * normal floats in [2^-40, 2^40) (scores, ratios, losses): 0 outside that
 * range (the caller falls back to snprintf). A third of a moderation
 * answer's CPU went to snprintf + strtof for its scores; this is integer
 * arithmetic on 128 bits, exact for that range (the products below stay
 * under 2^112).
 *
 * f = m * 2^e (m < 2^24). For p = 1, 2, ...: D = f / 10^k rounded half to
 * even (as glibc's printf rounds the exact value), k = X - p + 1 where X
 * is f's decimal exponent; the p digits read back as f when D * 10^k lies
 * inside f's rounding interval: half an ulp either side (a quarter below a
 * power of two), an endpoint only when m is even (strtof's ties go to
 * even). */
static size_t float_shortest(float f, char *buf, size_t cap) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    bool neg = bits >> 31;
    int bexp = (int)((bits >> 23) & 0xff);
    if (bexp < 127 - 40 || bexp >= 127 + 40 || cap < 32) return 0;
    uint64_t m = (bits & 0x7fffff) | 0x800000;
    int e = bexp - 127 - 23;
    int x0 = (int)floor(log10(fabs((double)f))); /* corrected below when off by one */
    for (int p = 1; p <= 9; p++) {
        uint64_t d = 0;
        int k = 0;
        for (int tries = 0; tries < 3; tries++) {
            k = x0 - p + 1;
            u128 num = (u128)m << (e > 0 ? e : 0), den = (u128)1 << (e < 0 ? -e : 0);
            if (k < 0) num *= pow10_u128(-k);
            else den *= pow10_u128(k);
            u128 q = num / den, r = num % den;
            if (2 * r > den || (2 * r == den && (q & 1))) q++;
            d = (uint64_t)q;
            uint64_t lo = (uint64_t)pow10_u128(p - 1), hi = lo * 10;
            if (d >= hi && d != hi) x0++;        /* log10 was low */
            else if (d < lo) x0--;               /* log10 was high */
            else break;
        }
        uint64_t lo = (uint64_t)pow10_u128(p - 1);
        if (d == lo * 10) { /* rounded up to the next power of ten: 9.96 -> 10.0 */
            d = lo;
            k++;
        }
        /* both values in units of 2^min(e-2,0) * 10^min(k,0) */
        int se = e - 2 < 0 ? e - 2 : 0, sk = k < 0 ? k : 0;
        u128 w = (u128)d * pow10_u128(k - sk) << (-se);
        u128 t = ((u128)m << (e - se)) * pow10_u128(-sk);
        u128 half = ((u128)1 << (e - 1 - se)) * pow10_u128(-sk);
        u128 lim = (w < t && m == 0x800000) ? half / 2 : half;
        u128 diff = w > t ? w - t : t - w;
        if (!(diff < lim || (diff == lim && !(m & 1)))) continue;
        /* write it as %g does: X = the decimal exponent of the first digit */
        char dig[12]; /* d has exactly p digits */
        int nd = p;
        for (uint64_t q = d, i = (uint64_t)p; i-- > 0; q /= 10) dig[i] = (char)('0' + q % 10);
        while (nd > 1 && dig[nd - 1] == '0') nd--; /* %g drops trailing zeros */
        int X = k + p - 1;
        char *o = buf;
        if (neg) *o++ = '-';
        if (X < -4 || X >= p) {
            *o++ = dig[0];
            if (nd > 1) {
                *o++ = '.';
                memcpy(o, dig + 1, (size_t)nd - 1);
                o += nd - 1;
            }
            o += snprintf(o, 8, "e%c%02d", X < 0 ? '-' : '+', X < 0 ? -X : X);
        } else if (X >= 0) {
            for (int i = 0; i <= X; i++) *o++ = i < nd ? dig[i] : '0';
            if (nd > X + 1) {
                *o++ = '.';
                memcpy(o, dig + X + 1, (size_t)(nd - X - 1));
                o += nd - X - 1;
            }
        } else {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -X - 1; i++) *o++ = '0';
            memcpy(o, dig, (size_t)nd);
            o += nd;
        }
        *o = 0;
        return (size_t)(o - buf);
    }
    return 0;
}

size_t wd__json_shortest(double x, char *buf, size_t cap) {
    if (!isfinite(x)) return (size_t)snprintf(buf, cap, "null");
    if (x == floor(x) && fabs(x) < 9007199254740992.0) return (size_t)snprintf(buf, cap, "%.0f", x);
    int n = 0;
    if ((double)(float)x == x) { /* a float's value: the fewest digits strtof maps back to it */
        size_t len = float_shortest((float)x, buf, cap);
        if (len) return len;
        for (int p = 1; p <= 9; p++) {
            n = snprintf(buf, cap, G_FMT[p], x);
            if (strtof(buf, NULL) == (float)x) return (size_t)n;
        }
    }
    for (int p = 15; p <= 17; p++) {
        n = snprintf(buf, cap, G_FMT[p], x);
        if (strtod(buf, NULL) == x) break;
    }
    return (size_t)n;
}

/* Marks the raw items numbers_to_raw made (cJSON looks only at the low
 * byte of type and at the IsReference / StringIsConst bits). */
#define WD__JSON_WAS_NUMBER (1 << 12)

/* Number items that are not integers become raw items holding their
 * shortest text (cJSON prints up to 17 digits: 0.9f as 0.89999997615814209),
 * and back after printing. Returns false when out of memory. */
static bool numbers_to_raw(cJSON *item, bool to_raw) {
    for (; item; item = item->next) {
        char b[40];
        /* every fraction: cJSON's own printing would take a sprintf and an
         * sscanf per number (and 17 digits for a float's value) */
        if (to_raw && cJSON_IsNumber(item) && isfinite(item->valuedouble) &&
            item->valuedouble != floor(item->valuedouble)) {
            size_t n = wd__json_shortest(item->valuedouble, b, sizeof b);
            char *t = malloc(n + 1);
            if (!t) return false;
            memcpy(t, b, n + 1);
            item->valuestring = t;
            item->type = (item->type & ~0xFF) | cJSON_Raw | WD__JSON_WAS_NUMBER;
        } else if (!to_raw && (item->type & WD__JSON_WAS_NUMBER)) {
            free(item->valuestring);
            item->valuestring = NULL;
            item->type = (item->type & ~(0xFF | WD__JSON_WAS_NUMBER)) | cJSON_Number;
        }
        if (item->child && !numbers_to_raw(item->child, to_raw)) return false;
    }
    return true;
}

char *wd__json_print(const cJSON *item, bool formatted) {
    cJSON *it = (cJSON *)item; /* numbers are swapped for raw text and back: unchanged on return */
    bool ok = numbers_to_raw(it, true);
    char *s = ok ? (formatted ? cJSON_Print(it) : cJSON_PrintUnformatted(it)) : NULL;
    numbers_to_raw(it, false);
    if (!s) return NULL;
    size_t n = strlen(s);
    if (wd__utf8_valid_prefix(s, n) == n) return s;
    char *out = n <= (SIZE_MAX - 1) / 3 ? malloc(3 * n + 1) : NULL;
    if (out) out[wd__utf8_lossy(s, n, out)] = '\0';
    cJSON_free(s);
    return out;
}

wd_status wd__json_load_file(const char *path, size_t max_len, cJSON **out) {
    *out = NULL;
    char *text;
    size_t len;
    wd_status st = wd__file_read(path, max_len ? max_len : (size_t)64 << 20, &text, &len);
    if (st) return st;
    cJSON *root = wd__json_parse_strict(text, len, path, WD__JSON_ALLOW_NUL, NULL);
    free(text);
    if (!root) return WD_ERR_FORMAT;
    *out = root;
    return WD_OK;
}

const char *wd__json_type_name(const cJSON *item) {
    if (!item) return "nothing";
    if (cJSON_IsNull(item)) return "null";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNumber(item)) return "a number";
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsArray(item)) return "an array";
    if (cJSON_IsObject(item)) return "an object";
    return "an invalid value";
}

bool wd__json_is_int(const cJSON *item, int64_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!isfinite(v) || v != floor(v) || fabs(v) > 9007199254740992.0) return false;
    if (out) *out = (int64_t)v;
    return true;
}

/* Looks up key; NULL values count as missing. Returns WD_OK with *item NULL
 * for a missing optional field. */
static wd_status lookup(const cJSON *obj, const char *where, const char *key, bool required,
                        const cJSON **item) {
    *item = NULL;
    const cJSON *it = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (it && cJSON_IsNull(it)) it = NULL;
    if (!it && required) return wd__fail(WD_ERR_FORMAT, "%s: field '%s': missing", where, key);
    *item = it;
    return WD_OK;
}

wd_status wd__json_int(const cJSON *obj, const char *where, const char *key, bool required,
                       int64_t def, int64_t *out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!wd__json_is_int(it, out)) {
        *out = def;
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected an integer, got %s", where, key,
                        wd__json_type_name(it));
    }
    return WD_OK;
}

wd_status wd__json_num(const cJSON *obj, const char *where, const char *key, bool required,
                       double def, double *out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!cJSON_IsNumber(it))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a number, got %s", where, key,
                        wd__json_type_name(it));
    *out = it->valuedouble;
    return WD_OK;
}

wd_status wd__json_bool(const cJSON *obj, const char *where, const char *key, bool required,
                        bool def, bool *out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!cJSON_IsBool(it))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected true or false, got %s", where,
                        key, wd__json_type_name(it));
    *out = cJSON_IsTrue(it);
    return WD_OK;
}

wd_status wd__json_str(const cJSON *obj, const char *where, const char *key, bool required,
                       const char *def, const char **out) {
    const cJSON *it;
    *out = def;
    wd_status st = lookup(obj, where, key, required, &it);
    if (st || !it) return st;
    if (!cJSON_IsString(it))
        return wd__fail(WD_ERR_FORMAT, "%s: field '%s': expected a string, got %s", where, key,
                        wd__json_type_name(it));
    *out = it->valuestring;
    return WD_OK;
}

/* ==== public (warden/json.h) ============================================= */

char *wd_json_print(const cJSON *item, bool formatted) { return item ? wd__json_print(item, formatted) : NULL; }

cJSON *wd_json_parse_strict(const char *text, size_t len, const char *where, wd_json_fault *fault) {
    wd_json_fault f = WD_JSON_OK;
    cJSON *o = text || !len ? wd__json_parse_strict(text ? text : "", len, where ? where : "JSON", 0, &f) : NULL;
    if (!text && len) {
        wd__fail(WD_ERR_INVALID_ARG, "wd_json_parse_strict: text is NULL");
        f = WD_JSON_SYNTAX;
    }
    if (fault) *fault = f;
    return o;
}
