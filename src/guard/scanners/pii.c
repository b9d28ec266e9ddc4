/*
 * guard/scanners/pii.c - the `pii` scanner: personal data in the ORIGINAL text,
 * each candidate found by a PCRE2 pattern and then checked by a validator,
 * so that an order number is not a card and a date is not a phone number.
 *
 *   email  RFC 5322 "dot-atom" local part @ domain with a 2-24 letter TLD
 *   phone  7-15 digits (E.164 bound) in a grouped layout: +CC, (area), or
 *          separators between groups; bare digit runs are not phones
 *   card   13-19 digits (spaces/dashes allowed), a known issuer prefix
 *          (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay) and a
 *          valid Luhn checksum (ISO/IEC 7812-1)
 *   iban   country code + 2 check digits + BBAN, the country's length
 *          (ISO 13616 registry, common countries) and mod-97 == 1 (ISO 7064)
 *   ssn    AAA-GG-SSSS with the SSA's never-issued ranges excluded:
 *          area 000, 666, 900-999; group 00; serial 0000
 *   ip     IPv4 dotted quad (each 0-255), IPv6 (checked with inet_pton)
 *
 * Every hit carries a typed placeholder ("[CARD]") for redaction.
 *
 * Policy node: {type: pii, kinds: [email, phone, card, iban, ssn, ip]}
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard/scanners/pii_check.h"
#include "guard/rx.h"
#include "guard/scanner.h"

enum { K_EMAIL, K_PHONE, K_CARD, K_IBAN, K_SSN, K_IPV4, K_IPV6, K_COUNT };

static const struct {
    const char *name, *rule, *placeholder, *pattern;
    float       score;
} kinds[K_COUNT] = {
    [K_EMAIL] = {"email", "email", "[EMAIL]",
                 "(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-]+(?:\\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])",
                 0.9f},
    [K_PHONE] = {"phone", "phone", "[PHONE]",
                 "(?<![\\w+.-])(?:\\+\\d{1,3}[ .-]?(?:\\(\\d{1,4}\\)[ .-]?)?\\d{1,4}(?:[ .-]?\\d{2,4}){1,4}"
                 "|\\(\\d{3}\\)[ .-]?\\d{3}[ .-]?\\d{4}|\\d{3}([.-])\\d{3}\\1\\d{4}|\\d{3} \\d{3} \\d{4}"
                 "|0\\d{2,4}[ -]\\d{3,4}[ -]\\d{3,4})(?![\\w-]|\\.\\d)",
                 0.8f},
    [K_CARD] = {"card", "card", "[CARD]", "(?<![\\d-])\\d(?:[ -]?\\d){12,18}(?![\\d-])", 0.95f},
    [K_IBAN] = {"iban", "iban", "[IBAN]", "(?<![A-Za-z0-9])[A-Z]{2}\\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])", 0.95f},
    [K_SSN] = {"ssn", "ssn", "[SSN]", "(?<![\\d-])\\d{3}([- ])\\d{2}\\1\\d{4}(?![\\d-])", 0.9f},
    [K_IPV4] = {"ip", "ipv4", "[IP]",
                "(?<![\\d.])(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?!\\d|\\.\\d)",
                0.6f},
    [K_IPV6] = {"ip", "ipv6", "[IP]", "(?<![\\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\\w:])", 0.6f},
};

typedef struct pii {
    pcre2_code *re[K_COUNT];
    bool        on[K_COUNT];
} pii;

/* ==== validators (pii_check.h) ========================================== */

bool wd__luhn_valid(const char *digits, size_t n) {
    if (n < 2) return false;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (d < 0 || d > 9) return false;
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

bool wd__card_valid(const char *digits, size_t n) {
    if (n < 13 || n > 19 || !wd__luhn_valid(digits, n)) return false;
    int p2 = (digits[0] - '0') * 10 + (digits[1] - '0');
    int p3 = p2 * 10 + (digits[2] - '0');
    int p4 = p3 * 10 + (digits[3] - '0');
    int p6 = p4 * 100 + (digits[4] - '0') * 10 + (digits[5] - '0');
    if (digits[0] == '4') return n == 13 || n == 16 || n == 19;                 /* Visa */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  /* Mastercard */
    if (p2 == 34 || p2 == 37) return n == 15;                                   /* Amex */
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        return n >= 16 && n <= 19;                                              /* Discover */
    if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;                    /* JCB */
    if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305)) return n >= 14 && n <= 19; /* Diners */
    if (p2 == 62) return n >= 16 && n <= 19;                                    /* UnionPay */
    return false;
}

/* IBAN lengths by country (ISO 13616 registry; common countries). */
static const struct { char cc[3]; int len; } iban_len[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18},
    {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
    {"IL", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21},
    {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
    {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20},
};

bool wd__iban_valid(const char *s, size_t n) {
    if (n < 15 || n > 34) return false;
    int want = 0;
    for (size_t i = 0; i < sizeof iban_len / sizeof iban_len[0] && !want; i++)
        if (s[0] == iban_len[i].cc[0] && s[1] == iban_len[i].cc[1]) want = iban_len[i].len;
    if (want != (int)n) return false;
    /* move the first four characters to the end; letters -> 10..35; mod 97 */
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        char c = s[(k + 4) % n];
        if (c >= '0' && c <= '9') rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else if (c >= 'A' && c <= 'Z') rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
        else return false;
    }
    return rem == 1;
}

bool wd__ssn_valid(int area, int group, int serial) {
    if (area <= 0 || area == 666 || area >= 900 || area > 999) return false;
    return group > 0 && group <= 99 && serial > 0 && serial <= 9999;
}

/* ==== scanner ============================================================ */

static wd_status kind_item(const wd__pnode *it, void *user) {
    pii *p = user;
    bool found = false;
    for (int k = 0; k < K_COUNT; k++)
        if (!strcasecmp(it->str, kinds[k].name)) p->on[k] = found = true;
    if (!found)
        return wd__pn_error(it, NULL, WD_ERR_FORMAT, "kinds", "unknown kind '%s' (email, phone, card, iban, ssn, ip)", it->str);
    return WD_OK;
}

static void pii_free(void *impl) {
    pii *p = impl;
    if (!p) return;
    for (int k = 0; k < K_COUNT; k++) pcre2_code_free(p->re[k]);
    free(p);
}

static wd_status pii_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl, wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "kinds", NULL};
    wd_status st = wd__pn_check_keys(cfg, keys, "a pii scanner", err);
    if (st != WD_OK) return st;
    pii *p = calloc(1, sizeof *p);
    if (!p) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    if (wd__pn_get(cfg, "kinds")) {
        st = wd__pn_each_string(cfg, "kinds", kind_item, p, err);
        if (st != WD_OK) {
            pii_free(p);
            return wd__err_take(err, st);
        }
    } else {
        for (int k = 0; k < K_COUNT; k++) p->on[k] = true;
    }
    for (int k = 0; k < K_COUNT && st == WD_OK; k++)
        if (p->on[k]) st = wd__rx_compile(kinds[k].pattern, 0, kinds[k].rule, &p->re[k], err);
    if (st != WD_OK) {
        pii_free(p);
        return st;
    }
    *impl = p;
    return WD_OK;
}

typedef struct pii_scratch {
    pcre2_match_data    *md;
    pcre2_match_context *mc;
    wd__span_set       spans; /* the hits so far: a later kind does not overlap them */
} pii_scratch;

static void pii_scratch_free(void *p) {
    pii_scratch *s = p;
    if (!s) return;
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mc);
    wd__spans_free(&s->spans);
    free(s);
}

static void *pii_scratch_new(const void *impl) {
    pii_scratch *s = calloc(1, sizeof *s);
    if (s && (!(s->md = pcre2_match_data_create(4, NULL)) || !(s->mc = pcre2_match_context_create(NULL)))) {
        pii_scratch_free(s);
        return NULL;
    }
    return s;
}

/* Copies the digits of s[a, b) into out (cap bytes); returns their count. */
static size_t digits_of(const char *s, size_t a, size_t b, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = a; i < b && n < cap; i++)
        if (s[i] >= '0' && s[i] <= '9') out[n++] = s[i];
    return n;
}

static bool validate(int k, const char *s, size_t a, size_t b) {
    char buf[64];
    size_t n;
    switch (k) {
    case K_CARD: {
        /* written in groups, a card's groups are 4-6 digits (4-4-4-4, 4-6-5);
         * "65 73 20 65 ..." is hex bytes, not a card */
        size_t group = 0;
        for (size_t i = a; i < b; i++) {
            if (s[i] >= '0' && s[i] <= '9') {
                group++;
            } else {
                if (group < 4 || group > 6) return false;
                group = 0;
            }
        }
        n = digits_of(s, a, b, buf, sizeof buf);
        return wd__card_valid(buf, n);
    }
    case K_PHONE: {
        n = digits_of(s, a, b, buf, sizeof buf);
        if (n < 7 || n > 15) return false;
        bool plus = s[a] == '+', paren = memchr(s + a, '(', b - a) != NULL;
        /* a date-like or version-like layout is not a phone */
        size_t groups = 1;
        for (size_t i = a; i < b; i++) groups += s[i] == ' ' || s[i] == '-' || s[i] == '.';
        if (!plus && !paren && groups < 3 && n < 10) return false;
        if (!plus && !paren) {
            /* dotted groups: only the usual 3-3-4 */
            if (memchr(s + a, '.', b - a) && n != 10) return false;
        }
        return !wd__card_valid(buf, n);
    }
    case K_IBAN: {
        n = 0;
        for (size_t i = a; i < b && n < sizeof buf; i++)
            if (s[i] != ' ') buf[n++] = s[i];
        return wd__iban_valid(buf, n);
    }
    case K_SSN: {
        n = digits_of(s, a, b, buf, sizeof buf);
        if (n != 9) return false;
        int area = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
        int group = (buf[3] - '0') * 10 + (buf[4] - '0');
        int serial = (buf[5] - '0') * 1000 + (buf[6] - '0') * 100 + (buf[7] - '0') * 10 + (buf[8] - '0');
        return wd__ssn_valid(area, group, serial);
    }
    case K_IPV6: {
        if (b - a > 45) return false;
        memcpy(buf, s + a, b - a);
        buf[b - a] = '\0';
        struct in6_addr ad;
        size_t colons = 0;
        for (size_t i = a; i < b; i++) colons += s[i] == ':';
        return colons >= 2 && strcmp(buf, "::") && inet_pton(AF_INET6, buf, &ad) == 1;
    }
    default:
        return true;
    }
}

static wd_status pii_scan(const void *impl, void *scratch, const wd__scan_input *in, wd__scan_result *res,
                          wd__err *err) {
    const pii *p = impl;
    pii_scratch *ps = scratch;
    if (!ps) return wd__err_set(err, WD_ERR_NOMEM, "pii: no match data");
    wd__rx_scan sc = {ps->md, ps->mc, in->stop, WD_OK};
    const char *s = in->orig;
    size_t n = in->orig_len;
    /* cheap gates: most prompts have no '@' and few digits */
    size_t digits = 0;
    bool at = false, colon = false, upper2 = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        digits += c >= '0' && c <= '9';
        at |= c == '@';
        colon |= c == ':';
        upper2 |= c >= 'A' && c <= 'Z' && i + 1 < n && s[i + 1] >= 'A' && s[i + 1] <= 'Z';
    }
    /* validated kinds first, so that a card's digits are not also a phone */
    static const int order[K_COUNT] = {K_EMAIL, K_CARD, K_IBAN, K_SSN, K_PHONE, K_IPV4, K_IPV6};
    for (int oi = 0; oi < K_COUNT; oi++) {
        int k = order[oi];
        if (!p->on[k]) continue;
        if (k == K_EMAIL && !at) continue;
        if ((k == K_PHONE || k == K_CARD || k == K_SSN) && digits < 7) continue;
        if (k == K_IPV4 && digits < 4) continue;
        if (k == K_IBAN && (!upper2 || digits < 10)) continue;
        if (k == K_IPV6 && !colon) continue;
        size_t pos = 0, a, b, steps = 0;
        wd__spans_begin(&ps->spans, res);
        while (wd__rx_next(p->re[k], &sc, s, n, &pos, &a, &b) == 1) {
            if (++steps % WD_SCAN_POLL_EVERY == 0) {
                wd_status st = wd__scan_poll(in);
                if (st != WD_OK) return st;
            }
            if (!validate(k, s, a, b) || wd__spans_overlap(&ps->spans, a, b)) continue;
            if (wd__scan_hit(res, WD_CATEGORY_PII, kinds[k].score, a, b, kinds[k].rule, kinds[k].placeholder) != WD_OK)
                return WD_ERR_NOMEM;
        }
        if (sc.st != WD_OK) return sc.st;
        if (wd__spans_end(&ps->spans, res) != WD_OK) return WD_ERR_NOMEM;
    }
    return WD_OK;
}

const wd__scanner_vt wd__scanner_pii = {
    .type = "pii",
    .init = pii_init,
    .free = pii_free,
    .scratch_new = pii_scratch_new,
    .scratch_free = pii_scratch_free,
    .scan = pii_scan,
};
