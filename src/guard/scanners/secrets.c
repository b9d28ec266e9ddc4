/*
 * guard/scanners/secrets.c - the `secrets` scanner: credentials in the ORIGINAL text.
 *
 * Known formats (prefixes and lengths the providers document) score high;
 * an assignment to a secret-sounding name ("api_key = ...") and any long
 * token with high Shannon entropy score lower. Entropy is bits per
 * character of the token's own character distribution,
 *     H = -sum_c p(c) log2 p(c),
 * and a token needs upper, lower and digits and H >= min_bits (default
 * 3.5). Hex-only runs (hashes, UUIDs) and base64 that decodes to readable
 * text (a payload the decoder handles) are not secrets.
 *
 * Policy node: {type: secrets, entropy: {min_length: 20, min_bits: 3.5}, generic: true}
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "guard/payload.h"
#include "guard/rx.h"
#include "guard/scanner.h"
#include "guard/scanners/secrets_check.h"

typedef struct known {
    const char *rule, *placeholder, *pattern, *gate;
    float       score;
} known;

/* A closing part of a format: a match of the format's pattern (the
 * opening) extends to the end of the first match of `pattern` (which starts
 * with the literal `lit`) that begins at most `gap` characters after it,
 * as opening(?:[\s\S]{0,gap}?pattern)? would, but with the closings found
 * once per text: that lazy gap reads `gap` characters ahead of every
 * opening, 300x the text for "-----BEGIN PRIVATE KEY-----" repeated. */
typedef struct tail_def {
    const char *rule, *pattern, *lit;
    size_t      gap;
} tail_def;

static const tail_def tails[] = {
    {"private-key", "-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----", "-----END ", 8192},
};

static const known formats[] = {
    {"aws-access-key-id", "[AWS_KEY]", "(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])", "A", 0.95f},
    {"aws-secret-key", "[AWS_SECRET]",
     "(?i:aws)[\\w.-]{0,20}(?i:secret)[\\w.-]{0,20}[\"']?\\s*[:=]\\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", "ecret", 0.95f},
    {"gcp-api-key", "[GCP_KEY]", "AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", "AIza", 0.95f},
    {"gcp-service-account", "[GCP_KEY]", "\"type\"\\s*:\\s*\"service_account\"", "service_account", 0.9f},
    {"azure-storage-key", "[AZURE_KEY]", "AccountKey=[A-Za-z0-9+/]{86}==", "AccountKey", 0.95f},
    {"azure-sas-token", "[AZURE_KEY]", "[?&]sig=[A-Za-z0-9%+/]{40,}(?:%3D|=)?", "sig=", 0.85f},
    {"github-token", "[GITHUB_TOKEN]", "(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9_])", "gh", 0.95f},
    {"github-fine-grained-pat", "[GITHUB_TOKEN]", "github_pat_[A-Za-z0-9_]{82}", "github_pat_", 0.95f},
    {"gitlab-token", "[GITLAB_TOKEN]", "glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])", "glpat-", 0.95f},
    {"slack-token", "[SLACK_TOKEN]", "xox[abposr]-(?:\\d+-)+[A-Za-z0-9]{10,}", "xox", 0.95f},
    {"slack-webhook", "[SLACK_WEBHOOK]", "https://hooks\\.slack\\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}", "hooks.slack", 0.95f},
    {"stripe-secret-key", "[STRIPE_KEY]", "(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}", "_live_", 0.95f},
    {"stripe-secret-key", "[STRIPE_KEY]", "(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}", "_test_", 0.95f},
    {"openai-api-key", "[API_KEY]", "(?<![A-Za-z0-9_-])sk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}", "sk-", 0.9f},
    {"private-key", "[PRIVATE_KEY]", "-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
     "PRIVATE KEY", 0.99f}, /* + its tail in tails[] */
    {"jwt", "[JWT]", "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{16,}", "eyJ", 0.9f},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

static const char *const generic_pattern =
    "(?i)(?<![a-z0-9])(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|client[_-]?secret|"
    "passwd|password|pwd)[\"']?\\s*[:=]\\s*[\"']?([^\\s\"',;]{8,})";
static const char *const token_pattern = "[A-Za-z0-9+/_=-]{20,}";

typedef struct secrets {
    pcre2_code *re[N_FORMATS];
    pcre2_code *tail[N_FORMATS]; /* NULL for formats without a tail */
    const tail_def *tail_def[N_FORMATS];
    pcre2_code *generic, *token;
    bool        use_generic, use_entropy;
    long        min_len;
    double      min_bits;
} secrets;

double wd__shannon_bits(const char *s, size_t n) {
    if (!n) return 0;
    unsigned count[256] = {0};
    for (size_t i = 0; i < n; i++) count[(unsigned char)s[i]]++;
    double h = 0;
    for (int c = 0; c < 256; c++)
        if (count[c]) {
            double p = (double)count[c] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

bool wd__token_is_secret(const char *s, size_t n, size_t min_len, double min_bits) {
    if (n < min_len) return false;
    bool upper = false, lower = false, digit = false, nonhex = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        upper |= c >= 'A' && c <= 'Z';
        lower |= c >= 'a' && c <= 'z';
        digit |= c >= '0' && c <= '9';
        nonhex |= !((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f') || c == '-');
    }
    if (!nonhex || !(upper && lower && digit)) return false;
    return wd__shannon_bits(s, n) >= min_bits;
}

static void secrets_free(void *impl) {
    secrets *s = impl;
    if (!s) return;
    for (size_t i = 0; i < N_FORMATS; i++) {
        pcre2_code_free(s->re[i]);
        pcre2_code_free(s->tail[i]);
    }
    pcre2_code_free(s->generic);
    pcre2_code_free(s->token);
    free(s);
}

static wd_status secrets_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl, wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "entropy", "generic", NULL};
    wd_status st = wd__pn_check_keys(cfg, keys, "a secrets scanner", err);
    if (st != WD_OK) return st;
    secrets *s = calloc(1, sizeof *s);
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    s->use_generic = s->use_entropy = true;
    s->min_len = 20;
    s->min_bits = 3.5;
    st = wd__pn_bool(cfg, "generic", &s->use_generic, err);
    const wd__pnode *en = wd__pn_get(cfg, "entropy");
    if (st == WD_OK && en) {
        static const char *const ekeys[] = {"min_length", "min_bits", "enabled", NULL};
        if (en->kind != WD_PN_MAP) st = wd__pn_error(en, err, WD_ERR_FORMAT, "entropy", "expected {min_length: .., min_bits: ..}");
        if (st == WD_OK) st = wd__pn_check_keys(en, ekeys, "entropy", err);
        if (st == WD_OK) st = wd__pn_int(en, "min_length", 12, 4096, &s->min_len, err);
        if (st == WD_OK) st = wd__pn_number(en, "min_bits", 1, 8, &s->min_bits, err);
        if (st == WD_OK) st = wd__pn_bool(en, "enabled", &s->use_entropy, err);
    }
    for (size_t i = 0; i < N_FORMATS && st == WD_OK; i++) {
        st = wd__rx_compile(formats[i].pattern, 0, formats[i].rule, &s->re[i], err);
        for (size_t k = 0; k < sizeof tails / sizeof tails[0] && st == WD_OK; k++)
            if (!strcmp(tails[k].rule, formats[i].rule)) {
                s->tail_def[i] = &tails[k];
                st = wd__rx_compile(tails[k].pattern, 0, formats[i].rule, &s->tail[i], err);
            }
    }
    if (st == WD_OK) st = wd__rx_compile(generic_pattern, 0, "generic-secret", &s->generic, err);
    if (st == WD_OK) st = wd__rx_compile(token_pattern, 0, "high-entropy-token", &s->token, err);
    if (st != WD_OK) {
        secrets_free(s);
        return st;
    }
    *impl = s;
    return WD_OK;
}

/* A closing part found in the text: bytes [at, end), and cp = the number of
 * characters before at. */
typedef struct tail_at {
    size_t at, end, cp;
} tail_at;

typedef struct sec_scratch {
    pcre2_match_data    *md;
    pcre2_match_context *mc;
    wd__span_set       spans; /* the hits so far: a later pattern does not overlap them */
    tail_at          *tails;
    size_t            n_tails, cap_tails;
} sec_scratch;

static void secrets_scratch_free(void *p) {
    sec_scratch *s = p;
    if (!s) return;
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mc);
    wd__spans_free(&s->spans);
    free(s->tails);
    free(s);
}

static void *secrets_scratch_new(const void *impl) {
    sec_scratch *s = calloc(1, sizeof *s);
    if (s && (!(s->md = pcre2_match_data_create(4, NULL)) || !(s->mc = pcre2_match_context_create(NULL)))) {
        secrets_scratch_free(s);
        return NULL;
    }
    return s;
}

/* Every WD_SCAN_POLL_EVERY matches: the deadline and the cancel flag. */
static wd_status poll_every(const wd__scan_input *in, size_t *steps) {
    return ++*steps % WD_SCAN_POLL_EVERY ? WD_OK : wd__scan_poll(in);
}

/* Characters (UTF-8 lead bytes) in p[0..n). */
static size_t n_chars(const char *p, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

/* Format i, which has a tail (tail_def): every tail in the text first (one pass; the
 * tails cannot overlap, each tail_lit occurrence is tried once), then the
 * openings, each taking the first tail at or after its end if it starts
 * within tail_gap characters. Both walks move forward only: linear. */
static wd_status scan_with_tail(const secrets *s, sec_scratch *ss, size_t i, const wd__scan_input *in,
                                wd__scan_result *res, size_t *steps) {
    const known *f = &formats[i];
    const tail_def *td = s->tail_def[i];
    const char *t = in->orig;
    size_t n = in->orig_len, lit = strlen(td->lit), cp = 0, cp_at = 0;
    wd_status st;
    ss->n_tails = 0;
    for (const char *p = memmem(t, n, td->lit, lit); p; p = memmem(p + 1, (size_t)(t + n - p - 1), td->lit, lit)) {
        if ((st = poll_every(in, steps)) != WD_OK) return st;
        size_t at = (size_t)(p - t);
        if (pcre2_match(s->tail[i], (PCRE2_SPTR)t, n, at, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, ss->md, NULL) < 0)
            continue;
        cp += n_chars(t + cp_at, at - cp_at);
        cp_at = at;
        if (ss->n_tails == ss->cap_tails) {
            size_t cap = ss->cap_tails ? 2 * ss->cap_tails : 16;
            tail_at *nt = realloc(ss->tails, cap * sizeof *nt);
            if (!nt) return WD_ERR_NOMEM;
            ss->tails = nt;
            ss->cap_tails = cap;
        }
        ss->tails[ss->n_tails++] = (tail_at){at, pcre2_get_ovector_pointer(ss->md)[1], cp};
    }
    size_t pos = 0, a, b, k = 0, hcp = 0, hcp_at = 0;
    wd__rx_scan sc = {ss->md, ss->mc, in->stop, WD_OK};
    wd__spans_begin(&ss->spans, res);
    while (wd__rx_next(s->re[i], &sc, t, n, &pos, &a, &b) == 1) {
        if ((st = poll_every(in, steps)) != WD_OK) return st;
        while (k < ss->n_tails && ss->tails[k].at < b) k++;
        if (k < ss->n_tails) {
            hcp += n_chars(t + hcp_at, b - hcp_at);
            hcp_at = b;
            if (ss->tails[k].cp - hcp <= td->gap) pos = b = ss->tails[k].end;
        }
        if (!wd__spans_overlap(&ss->spans, a, b) &&
            wd__scan_hit(res, WD_CATEGORY_SECRETS, f->score, a, b, f->rule, f->placeholder) != WD_OK)
            return WD_ERR_NOMEM;
    }
    if (sc.st != WD_OK) return sc.st;
    return wd__spans_end(&ss->spans, res);
}

static wd_status secrets_scan(const void *impl, void *scratch, const wd__scan_input *in, wd__scan_result *res,
                              wd__err *err) {
    const secrets *s = impl;
    sec_scratch *ss = scratch;
    if (!ss) return wd__err_set(err, WD_ERR_NOMEM, "secrets: no match data");
    pcre2_match_data *md = ss->md;
    wd__rx_scan sc = {md, ss->mc, in->stop, WD_OK};
    wd__span_set *spans = &ss->spans;
    const char *t = in->orig;
    size_t n = in->orig_len, pos, a, b, steps = 0;
    wd_status st;
    /* Each known format has a literal gate: skip its regex unless the text
     * contains it (memmem is much cheaper than a regex pass). */
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (!memmem(t, n, formats[i].gate, strlen(formats[i].gate))) continue;
        if (s->tail[i]) {
            if ((st = scan_with_tail(s, ss, i, in, res, &steps)) != WD_OK) return st;
            continue;
        }
        pos = 0;
        wd__spans_begin(spans, res);
        while (wd__rx_next(s->re[i], &sc, t, n, &pos, &a, &b) == 1) {
            if ((st = poll_every(in, &steps)) != WD_OK) return st;
            if (!wd__spans_overlap(spans, a, b) &&
                wd__scan_hit(res, WD_CATEGORY_SECRETS, formats[i].score, a, b, formats[i].rule, formats[i].placeholder) != WD_OK)
                return WD_ERR_NOMEM;
        }
        if (sc.st != WD_OK) return sc.st;
        if (wd__spans_end(spans, res) != WD_OK) return WD_ERR_NOMEM;
    }
    if (s->use_generic && (memchr(t, '=', n) || memchr(t, ':', n))) {
        pos = 0;
        wd__spans_begin(spans, res);
        while (wd__rx_next(s->generic, &sc, t, n, &pos, &a, &b) == 1) {
            if ((st = poll_every(in, &steps)) != WD_OK) return st;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t va = ov[2], vb = ov[3];
            if (wd__spans_overlap(spans, va, vb)) continue;
            /* a value, not prose: some entropy and not a plain word */
            if (wd__shannon_bits(t + va, vb - va) < 2.5) continue;
            if (wd__scan_hit(res, WD_CATEGORY_SECRETS, 0.8f, va, vb, "assigned-secret", "[SECRET]") != WD_OK)
                return WD_ERR_NOMEM;
        }
        if (sc.st != WD_OK) return sc.st;
        if (wd__spans_end(spans, res) != WD_OK) return WD_ERR_NOMEM;
    }
    if (s->use_entropy && n >= (size_t)s->min_len) {
        pos = 0;
        unsigned char buf[512];
        wd__spans_begin(spans, res);
        while (wd__rx_next(s->token, &sc, t, n, &pos, &a, &b) == 1) {
            if ((st = poll_every(in, &steps)) != WD_OK) return st;
            if (wd__spans_overlap(spans, a, b) || !wd__token_is_secret(t + a, b - a, (size_t)s->min_len, s->min_bits)) continue;
            /* base64 of readable text is a payload, not a key (a long one is
             * judged on its first 672 characters: 504 decoded bytes) */
            {
                size_t m = b - a < 672 ? b - a : 672;
                long k = wd__base64_decode(t + a, m, buf);
                if (k > 0 && wd__payload_readable(buf, (size_t)k)) continue;
            }
            if (wd__scan_hit(res, WD_CATEGORY_SECRETS, 0.6f, a, b, "high-entropy-token", "[TOKEN]") != WD_OK)
                return WD_ERR_NOMEM;
        }
        if (sc.st != WD_OK) return sc.st;
        if (wd__spans_end(spans, res) != WD_OK) return WD_ERR_NOMEM;
    }
    return WD_OK;
}

const wd__scanner_vt wd__scanner_secrets = {
    .type = "secrets",
    .init = secrets_init,
    .free = secrets_free,
    .scratch_new = secrets_scratch_new,
    .scratch_free = secrets_scratch_free,
    .scan = secrets_scan,
};
