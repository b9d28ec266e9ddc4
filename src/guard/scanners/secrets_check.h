/*
 * guard/scanners/secrets_check.h - the entropy test of the secrets scanner
 * (guard/scanners/secrets.c), exposed for tests.
 */
#ifndef WD_GUARD_SECRETS_CHECK_H
#define WD_GUARD_SECRETS_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Shannon entropy of the byte distribution of s[0..n), in bits per byte. */
double wd__shannon_bits(const char *s, size_t n);
/* True when s[0..n) looks like a generated secret: >= min_len bytes, upper
 * and lower case letters and digits, not hex-only, entropy >= min_bits. */
bool wd__token_is_secret(const char *s, size_t n, size_t min_len, double min_bits);

#endif
