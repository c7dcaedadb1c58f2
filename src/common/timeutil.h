/*
 * timeutil.h — wall clock, monotonic clock and ISO 8601 timestamps.
 */
#ifndef PCHAT_COMMON_TIMEUTIL_H
#define PCHAT_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Room for "2026-11-26T12:00:00.123Z" and its NUL. */
#define TIME_ISO_LEN 25

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t time_now_ms(void);

/* Milliseconds from CLOCK_MONOTONIC, for intervals and deadlines. */
int64_t time_mono_ms(void);

/* Nanoseconds from CLOCK_MONOTONIC, for latency measurement. */
int64_t time_mono_ns(void);

/* Format ms as "YYYY-MM-DDThh:mm:ss.sssZ" (IRCv3 server-time). */
void time_fmt_iso(int64_t ms, char *out, size_t outlen);

/*
 * Parse "YYYY-MM-DDThh:mm:ss[.sss]Z" (also a date alone, "YYYY-MM-DD",
 * meaning midnight UTC). Returns 0 and sets *ms, or -1 when malformed.
 */
int time_parse_iso(const char *s, int64_t *ms);

#endif
