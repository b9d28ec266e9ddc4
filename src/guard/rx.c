/*
 * guard/rx.c - see rx.h. Text reaching the scanners is valid UTF-8 (the
 * engine validated it), so matching skips PCRE2's UTF check.
 */
#include "guard/rx.h"

wd_status wd__rx_compile(const char *pattern, unsigned extra, const char *what, pcre2_code **out,
                         wd__err *err) {
    int ec;
    PCRE2_SIZE eo;
    *out = NULL;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_USE_OFFSET_LIMIT | extra, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return wd__err_set(err, WD_ERR_FORMAT, "%s: bad regular expression at offset %zu: %s", what, (size_t)eo,
                           (const char *)msg);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
    *out = re;
    return WD_OK;
}

int wd__rx_next(const pcre2_code *re, wd__rx_scan *sc, const char *s, size_t n, size_t *pos, size_t *a,
                size_t *b) {
    int rc;
    for (;;) {
        if (*pos > n) return 0;
        /* matches starting in [*pos, limit]: the first of them is the first at all */
        size_t limit = n - *pos > WD_SCAN_POLL_BYTES ? *pos + WD_SCAN_POLL_BYTES : n;
        if (sc->mc) pcre2_set_offset_limit(sc->mc, limit);
        else limit = n;
        rc = pcre2_match(re, (PCRE2_SPTR)s, n, *pos, PCRE2_NO_UTF_CHECK, sc->md, sc->mc);
        if (rc != PCRE2_ERROR_NOMATCH) break;
        if (limit >= n) return 0;
        *pos = limit + 1;
        while (*pos < n && ((unsigned char)s[*pos] & 0xC0) == 0x80) (*pos)++;
        if ((sc->st = wd__scan_stop_poll(sc->stop)) != WD_OK) return 0;
    }
    if (rc < 0) return rc;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
    *a = ov[0];
    *b = ov[1];
    *pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    /* do not restart inside a UTF-8 sequence */
    while (*pos < n && ((unsigned char)s[*pos] & 0xC0) == 0x80) (*pos)++;
    return 1;
}
