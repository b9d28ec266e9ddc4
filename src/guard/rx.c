/*
 * guard/rx.c - see rx.h. Text reaching the scanners is valid UTF-8 (the
 * engine validated it), so matching skips PCRE2's UTF check.
 */
#include "guard/rx.h"

wd_status wd__rx_compile(const char *pattern, unsigned extra, const char *what, pcre2_code **out,
                         wd_err *err) {
    int ec;
    PCRE2_SIZE eo;
    *out = NULL;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | extra, &ec, &eo, NULL);
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

int wd__rx_next(const pcre2_code *re, pcre2_match_data *md, const char *s, size_t n, size_t *pos,
                size_t *a, size_t *b) {
    if (*pos > n) return 0;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, *pos, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) return rc;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *a = ov[0];
    *b = ov[1];
    *pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    /* do not restart inside a UTF-8 sequence */
    while (*pos < n && ((unsigned char)s[*pos] & 0xC0) == 0x80) (*pos)++;
    return 1;
}
