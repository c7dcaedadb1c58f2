/*
 * log.c — stderr logger. One write(2) per line so lines from several
 * threads never interleave.
 */
#include "common/log.h"
#include "common/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level min_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[2048];
	char ts[TIME_ISO_LEN];
	va_list ap;
	int n;

	if (level < min_level)
		return;
	time_fmt_iso(time_now_ms(), ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s %-5s [%s] ", ts, level_names[level], module);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	/* A logged value never carries a line break into the log. */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
}
