/*
 * str.h — bounded string helpers (strcpy/strcat/sprintf are banned).
 *
 * IRC case mapping here is "ascii" (ISUPPORT CASEMAPPING=ascii): only A-Z
 * fold to a-z.
 */
#ifndef PCHAT_COMMON_STR_H
#define PCHAT_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copy src into dst of size dstlen, always NUL-terminated (when dstlen > 0).
 * Returns strlen(src); a value >= dstlen means the copy was truncated.
 */
size_t str_copy(char *dst, const char *src, size_t dstlen);

/* ASCII case-insensitive equality and comparison. */
bool str_ieq(const char *a, const char *b);
int str_icmp(const char *a, const char *b);

/* Fold ASCII upper case to lower case into out (size outlen, truncates). */
void str_lower(char *out, const char *in, size_t outlen);

/* Whether the n bytes contain CR, LF or NUL. */
bool str_has_crlfnul(const char *s, size_t n);

/* Parse a whole decimal integer in [min, max]. 0 ok, -1 otherwise. */
int str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parse yes/no/true/false/on/off/1/0. 0 ok, -1 otherwise. */
int str_to_bool(const char *s, bool *out);

/*
 * Append a formatted string at *len in buf of size cap, keeping NUL
 * termination; *len is advanced but never past cap - 1. Returns 0, or -1
 * when the output was truncated.
 */
int str_appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Format a message into err (errlen bytes, may be 0) and return code: the
 * one-line "fail with a reason" of functions that report through an err
 * buffer.
 */
int str_errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Whether s[0..n) is made only of ASCII letters, digits, '.', '-' and '_'. */
bool str_plain_name(const char *s, size_t n);

#endif
