/*
 * guard/scanners/pii_check.h - the checksum and range validators of the pii scanner
 * (guard/scanners/pii.c), exposed for tests.
 */
#ifndef WD_GUARD_PII_CHECK_H
#define WD_GUARD_PII_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Luhn (ISO/IEC 7812-1) over n ASCII digits. */
bool wd__luhn_valid(const char *digits, size_t n);
/* Luhn + a known issuer prefix and length (Visa, Mastercard, Amex, ...). */
bool wd__card_valid(const char *digits, size_t n);
/* s[0..n): IBAN without spaces, upper case: country length + mod-97 == 1. */
bool wd__iban_valid(const char *s, size_t n);
/* US SSN AAA-GG-SSSS ranges the SSA issues. */
bool wd__ssn_valid(int area, int group, int serial);

#endif
