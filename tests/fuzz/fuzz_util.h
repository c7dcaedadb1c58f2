/*
 * fuzz_util.h — helpers shared by the libFuzzer targets in tests/fuzz/:
 * a check macro that aborts with the failed condition (so libFuzzer
 * records the input as a crash), and the well-formedness check of an
 * outgoing IRC line built with irc_out_*.
 *
 * Deliberately not here: anything a single target needs only for itself.
 * Everything is static inline: each target is one translation unit.
 */
#ifndef PCHAT_FUZZ_UTIL_H
#define PCHAT_FUZZ_UTIL_H

#include "common/xmalloc.h"
#include "irc/message.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Abort (a libFuzzer crash) when cond is false, naming the condition. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Whether c may appear in a tag key name (message-tags: letters, digits, '-'). */
static inline bool fuzz_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/*
 * Reference for the message-tags key grammar, written from the spec
 * independently of message.c: ['+'] [vendor '/'] key_name, key_name one or
 * more of letters, digits and '-', vendor a host name (those and '.').
 */
static inline bool fuzz_tag_key_valid(const char *k)
{
	const char *slash, *name;

	if (*k == '+')
		k++;
	slash = strrchr(k, '/');
	name = slash ? slash + 1 : k;
	if (*name == '\0' || (slash && slash == k))
		return false;
	for (const char *c = k; slash && c < slash; c++)
		if (!fuzz_key_char(*c) && *c != '.')
			return false;
	for (const char *c = name; *c; c++)
		if (!fuzz_key_char(*c))
			return false;
	return true;
}

/*
 * Check that o (after irc_out_end) is a well-formed line: one CRLF at the
 * end and no CR, LF or NUL before it, a tag section (if any) of at most
 * IRC_TAGS_MAX bytes without spaces, a body of at most IRC_BODY_MAX bytes
 * that irc_parse() accepts. When strict_tags, the tag section must parse
 * too (unless it is longer than a client may send). Fills *reparsed (in
 * copy, which the caller frees) and returns whether the tags were parsed.
 */
static inline bool fuzz_check_out(const struct irc_out *o, bool strict_tags, char **copy,
                                  struct irc_msg *reparsed)
{
	const char *s = irc_out_str(o);
	size_t len = irc_out_len(o);
	size_t body_start = len - irc_out_body_len(o);
	bool with_tags;
	int rc;

	FUZZ_CHECK(len >= 2 && strlen(s) == len);
	FUZZ_CHECK(s[len - 2] == '\r' && s[len - 1] == '\n');
	FUZZ_CHECK(strpbrk(s, "\r\n") == s + len - 2);
	FUZZ_CHECK(irc_out_body_len(o) <= IRC_BODY_MAX);
	FUZZ_CHECK(irc_out_body(o)[0] != ' ');
	if (body_start > 0) {
		FUZZ_CHECK(s[0] == '@' && s[body_start - 1] == ' ');
		FUZZ_CHECK(body_start <= IRC_TAGS_MAX);
		FUZZ_CHECK(memchr(s, ' ', body_start - 1) == NULL);
	}
	/* A client may send only 4094 bytes of tags: parse the body alone then. */
	with_tags = body_start == 0 || body_start - 2 <= IRC_CLIENT_TAGS_MAX;
	if (!strict_tags)
		with_tags = body_start == 0;
	if (with_tags)
		*copy = xstrndup(s, len - 2);
	else
		*copy = xstrndup(irc_out_body(o), irc_out_body_len(o) - 2);
	rc = irc_parse(*copy, strlen(*copy), reparsed);
	if (rc != 0)
		fprintf(stderr, "reparse of [%s] failed: %s\n", s, irc_parse_strerror(rc));
	FUZZ_CHECK(rc == 0);
	return with_tags;
}

#endif
