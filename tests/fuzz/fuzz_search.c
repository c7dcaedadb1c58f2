/*
 * fuzz_search.c — libFuzzer target for the SEARCH attribute parser
 * (args_search, src/irc/cmd/args.c; soju.im/search with pchat's match=
 * and case=, docs/protocol.md "Search").
 *
 * The input, cut at its first NUL, is the attribute parameter. It is
 * compared with a reference reading written from the message-tags
 * grammar (split at ';', key '=' escaped value, the last of a repeated
 * key wins, 64 keys at most) and the documented attributes:
 *  - accepted exactly when every key is one of in from after before text
 *    limit match case with a valid value, and the text has no raw space
 *    (which would end a tag section: the rest would silently vanish);
 *  - text, from and the in= room are the unescaped values, whole (a value
 *    too long is refused, never cut: a cut from= could name someone else);
 *  - limit is 1..1000 (50 when absent), match 0..2, dates after the
 *    epoch (0 means "no bound" to the search);
 *  - an accepted query written back with irc_tag_escape parses to the
 *    same query, and args_search_empty agrees with the fields.
 *
 * Deliberately not here: looking the room up and the search itself
 * (tests/integration/test_rooms_irc.py, the store's search tests).
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "fuzz_util.h"
#include "irc/cmd/args.h"
#include "irc/irc_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 600 /* a SEARCH line's parameter is at most ~500 bytes */

/* The message-tags unescaping, written from the specification. */
static void unescape(const char *in, size_t n, char *out)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (c == '\\') {
			if (++i == n)
				break; /* a lone trailing '\' is dropped */
			c = in[i] == ':'   ? ';'
			    : in[i] == 's' ? ' '
			    : in[i] == 'r' ? '\r'
			    : in[i] == 'n' ? '\n'
			                   : in[i];
		}
		out[w++] = c;
	}
	out[w] = '\0';
}

/* One attribute as the reference read it. */
struct attr {
	char key[MAX_IN + 1];   /* the key */
	char value[MAX_IN + 1]; /* its unescaped value */
};

/* Split s into distinct keys (last value wins); -1 when not tag syntax. */
static int split(const char *s, struct attr *a, int *n)
{
	*n = 0;
	for (const char *seg = s;; seg++) {
		size_t len = strcspn(seg, ";"), klen = strcspn(seg, "=;");
		char key[MAX_IN + 1];
		int i;

		memcpy(key, seg, klen);
		key[klen] = '\0';
		if (!fuzz_tag_key_valid(key))
			return -1;
		for (i = 0; i < *n && strcmp(a[i].key, key) != 0; i++)
			;
		if (i == *n && (*n)++ == IRC_MAX_TAGS)
			return -1;
		memcpy(a[i].key, key, klen + 1);
		unescape(seg + klen + (klen < len), len - klen - (klen < len), a[i].value);
		seg += len;
		if (!*seg)
			return 0;
	}
}

static bool set(const struct attr *a, int n, const char *key, const char **v)
{
	for (int i = 0; i < n; i++)
		if (strcmp(a[i].key, key) == 0) {
			*v = a[i].value;
			return true;
		}
	return false;
}

static bool fits(const char *v, size_t cap)
{
	return strlen(v) < cap;
}

/* An optional '+', decimal digits only, 1..1000 (leading zeros allowed). */
static bool limit_ok(const char *v)
{
	size_t n, z;

	v += *v == '+';
	n = strlen(v);
	z = strspn(v, "0");
	return n > 0 && strspn(v, "0123456789") == n && n - z <= 4 && atoi(v) >= 1 &&
	       atoi(v) <= ARGS_SEARCH_MAX_LIMIT;
}

/* Whether one attribute is acceptable (the documented keys and values). */
static bool attr_ok(const struct attr *t)
{
	const char *k = t->key, *v = t->value;
	int64_t ts;

	if (!strcmp(k, "in"))
		return v[0] == '#' && v[1] && fits(v + 1, CHAT_NAME_MAX);
	if (!strcmp(k, "from"))
		return fits(v, CHAT_NAME_MAX);
	if (!strcmp(k, "text"))
		return fits(v, sizeof(((struct chat_search_query *)0)->text));
	if (!strcmp(k, "after") || !strcmp(k, "before"))
		return time_parse_iso(v, &ts) == 0 && ts > 0;
	if (!strcmp(k, "limit"))
		return limit_ok(v);
	if (!strcmp(k, "match"))
		return !strcasecmp(v, "all") || !strcasecmp(v, "any") || !strcasecmp(v, "exact");
	return !strcmp(k, "case");
}

/* The values an accepted query must hold. */
static void check_values(const struct args_search *r, const struct attr *a, int n)
{
	const char *v;
	int64_t ts;

	FUZZ_CHECK(strcmp(r->room, set(a, n, "in", &v) ? v + 1 : "") == 0);
	FUZZ_CHECK(strcmp(r->q.from, set(a, n, "from", &v) ? v : "") == 0);
	FUZZ_CHECK(strcmp(r->q.text, set(a, n, "text", &v) ? v : "") == 0);
	FUZZ_CHECK(r->q.limit == (set(a, n, "limit", &v) ? atoi(v) : ARGS_SEARCH_DEFAULT_LIMIT));
	FUZZ_CHECK(r->q.match == (!set(a, n, "match", &v) || !strcasecmp(v, "all") ? 0
	                          : !strcasecmp(v, "any")                          ? 1
	                                                                           : 2));
	FUZZ_CHECK(r->q.case_sensitive == (set(a, n, "case", &v) && !strcasecmp(v, "sensitive")));
	FUZZ_CHECK(r->q.after_ts == (set(a, n, "after", &v) && !time_parse_iso(v, &ts) ? ts : 0));
	FUZZ_CHECK(r->q.before_ts == (set(a, n, "before", &v) && !time_parse_iso(v, &ts) ? ts : 0));
	FUZZ_CHECK(r->q.room == NULL && r->q.limit >= 1 && r->q.limit <= ARGS_SEARCH_MAX_LIMIT);
	FUZZ_CHECK(args_search_empty(&r->q) ==
	           (!r->q.text[0] && !r->q.from[0] && !r->q.after_ts && !r->q.before_ts));
}

/* key=escaped value; appended to buf. */
static void put(char *buf, size_t cap, size_t *len, const char *key, const char *raw)
{
	char esc[4 * MAX_IN];

	irc_tag_escape(raw, esc, sizeof(esc));
	str_appendf(buf, cap, len, "%s%s=%s", *len ? ";" : "", key, esc);
}

/* Written back canonically, the query parses to itself. */
static void round_trip(const struct args_search *r)
{
	static char buf[8 * MAX_IN];
	char iso[TIME_ISO_LEN], room[CHAT_NAME_MAX + 1];
	const char *why = NULL;
	struct args_search again;
	size_t len = 0;

	buf[0] = '\0';
	put(buf, sizeof(buf), &len, "text", r->q.text);
	put(buf, sizeof(buf), &len, "from", r->q.from);
	snprintf(room, sizeof(room), "#%s", r->room);
	if (r->room[0])
		put(buf, sizeof(buf), &len, "in", room);
	time_fmt_iso(r->q.after_ts, iso, sizeof(iso));
	if (r->q.after_ts)
		put(buf, sizeof(buf), &len, "after", iso);
	time_fmt_iso(r->q.before_ts, iso, sizeof(iso));
	if (r->q.before_ts)
		put(buf, sizeof(buf), &len, "before", iso);
	str_appendf(buf, sizeof(buf), &len, ";limit=%d;match=%s;case=%s", r->q.limit,
	            r->q.match == 0   ? "all"
	            : r->q.match == 1 ? "any"
	                              : "exact",
	            r->q.case_sensitive ? "sensitive" : "insensitive");
	if (len > IRC_CLIENT_TAGS_MAX)
		return;
	FUZZ_CHECK(args_search(buf, &again, &why) == 0);
	FUZZ_CHECK(strcmp(again.room, r->room) == 0 && strcmp(again.q.text, r->q.text) == 0);
	FUZZ_CHECK(strcmp(again.q.from, r->q.from) == 0 && again.q.limit == r->q.limit);
	FUZZ_CHECK(again.q.match == r->q.match && again.q.case_sensitive == r->q.case_sensitive);
	FUZZ_CHECK(again.q.after_ts == r->q.after_ts && again.q.before_ts == r->q.before_ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct attr a[IRC_MAX_TAGS + 1];
	struct args_search r;
	const char *why = NULL;
	bool want;
	char *s;
	int n, rc;

	if (size > MAX_IN)
		return 0;
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	rc = args_search(s, &r, &why);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(why && why[0]); /* set whatever the outcome: the FAIL text */
	want = !strchr(s, ' ') && split(s, a, &n) == 0;
	for (int i = 0; want && i < n; i++)
		want = attr_ok(&a[i]);
	FUZZ_CHECK((rc == 0) == want);
	if (rc == 0) {
		check_values(&r, a, n);
		round_trip(&r);
	}
	free(s);
	return 0;
}
