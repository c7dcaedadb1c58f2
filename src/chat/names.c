/*
 * names.c — account and room name syntax (see names.h).
 *
 * Deliberately ASCII only: a name is also an IRC nick or channel, and
 * letters outside ASCII would need a case mapping IRC clients disagree on.
 */
#include "chat/names.h"

#include "common/str.h"

#include <string.h>

static const char *const reserved_names[] = {"pchat", "chanserv", "nickserv", "server"};

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

bool names_account_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 1 || n > NAMES_ACCOUNT_MAX || !is_alpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		int c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			return false;
	}
	for (size_t i = 0; i < sizeof reserved_names / sizeof reserved_names[0]; i++)
		if (str_ieq(s, reserved_names[i]))
			return false;
	return true;
}

bool names_room_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 1 || n > NAMES_ROOM_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}
