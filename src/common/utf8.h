/*
 * utf8.h — UTF-8 validation (RFC 3629: no overlongs, no surrogates, no
 * code points above U+10FFFF).
 */
#ifndef PCHAT_COMMON_UTF8_H
#define PCHAT_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the n bytes at s are valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

/*
 * Largest length <= n at which s can be cut without splitting a UTF-8
 * sequence (for truncating a valid string).
 */
size_t utf8_trunc(const char *s, size_t n);

#endif
