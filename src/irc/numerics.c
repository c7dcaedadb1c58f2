/*
 * numerics.c — look-ups in the numerics table and rendering of a numeric
 * reply into an irc_out line.
 *
 * Deliberately not here: deciding which numeric a command answers with,
 * or building ISUPPORT tokens (callers pass pre-built strings).
 */
#include "irc/numerics.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *irc_numeric_fmt(enum irc_numeric n)
{
	switch (n) {
#define X(name, code, fmt)                                                                         \
	case name:                                                                                 \
		return fmt;
#include "irc/numerics.def"
#undef X
	}
	return NULL;
}

const char *irc_numeric_name(enum irc_numeric n)
{
	switch (n) {
#define X(name, code, fmt)                                                                         \
	case name:                                                                                 \
		return #name;
#include "irc/numerics.def"
#undef X
	}
	return NULL;
}

int irc_numeric_code(enum irc_numeric n)
{
	return irc_numeric_name(n) ? (int)n : -1;
}

/* Split text at spaces into parameters; " :" (or a leading ':') starts the
 * trailing one. text is modified. */
static void params_from_text(struct irc_out *o, char *text)
{
	char *p = text;

	for (;;) {
		char *e;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			return;
		if (*p == ':') {
			irc_out_trailing(o, p + 1);
			return;
		}
		e = strchr(p, ' ');
		if (e)
			*e = '\0';
		irc_out_param(o, p);
		if (!e)
			return;
		p = e + 1;
	}
}

void irc_out_numeric_fmt(struct irc_out *o, const char *server, const char *target,
                         enum irc_numeric n, const char *fmt, ...)
{
	char rest[IRC_BODY_MAX]; /* longer than any body: cut later if needed */
	char code[8];
	va_list ap;

	assert(irc_numeric_fmt(n) && strcmp(fmt, irc_numeric_fmt(n)) == 0);
	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	snprintf(code, sizeof(code), "%03d", (int)n);
	if (server)
		irc_out_source(o, server);
	irc_out_cmd(o, code);
	irc_out_param(o, target && *target ? target : "*");
	params_from_text(o, rest);
}
