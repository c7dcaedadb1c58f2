/*
 * timeutil.c — clocks and ISO 8601 in UTC. No locale, no time zone.
 */
#include "common/timeutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	return time_mono_ns() / 1000000;
}

int64_t time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Each thread keeps the last second it formatted: a message line carries
 * its server time, and at thousands of messages a second most fall in the
 * second before (gmtime_r takes glibc's time zone lock and snprintf is
 * slow; together ~5% of the loop's CPU with 2,000 clients in small rooms).
 */
void time_fmt_iso(int64_t ms, char *out, size_t outlen)
{
	static __thread int64_t last_secs = INT64_MIN;
	static __thread char last[TIME_ISO_LEN]; /* "YYYY-MM-DDTHH:MM:SS" */
	static __thread size_t last_len;
	int64_t secs = ms / 1000;
	int frac = (int)(ms % 1000);

	if (frac < 0) {
		frac += 1000;
		secs -= 1;
	}
	if (secs != last_secs) {
		time_t t = (time_t)secs;
		struct tm tm;
		int n;

		gmtime_r(&t, &tm);
		n = snprintf(last, sizeof(last), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		last_len = n > 0 && (size_t)n < sizeof(last) ? (size_t)n : 0;
		last_secs = secs;
	}
	if (outlen < last_len + 6) { /* ".mmmZ" and the NUL */
		snprintf(out, outlen, "%s.%03dZ", last, frac);
		return;
	}
	memcpy(out, last, last_len);
	out[last_len] = '.';
	out[last_len + 1] = (char)('0' + frac / 100);
	out[last_len + 2] = (char)('0' + frac / 10 % 10);
	out[last_len + 3] = (char)('0' + frac % 10);
	out[last_len + 4] = 'Z';
	out[last_len + 5] = '\0';
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int mo)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

int time_parse_iso(const char *s, int64_t *ms)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	size_t len = strlen(s);
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d))
		return -1;
	if (len > 10) {
		const char *p = s + 10;

		if ((*p != 'T' && *p != ' ') || strlen(p) < 9 || digits(p + 1, 2, &h) ||
		    p[3] != ':' || digits(p + 4, 2, &mi) || p[6] != ':' || digits(p + 7, 2, &sec))
			return -1;
		p += 9;
		if (*p == '.') {
			int n = 0, scale = 100;

			p++;
			while (*p >= '0' && *p <= '9') {
				if (n < 3)
					frac += (*p - '0') * scale;
				scale /= 10;
				n++;
				p++;
			}
			if (n == 0)
				return -1;
		}
		if (strcmp(p, "Z") != 0 && *p != '\0')
			return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (d > days_in_month(y, mo))
		return -1; /* timegm would roll "02-30" over into March */
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}
