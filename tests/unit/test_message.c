/*
 * test_message.c — the IRC wire format: parser (table-driven, including
 * the IRCv3 message-tags specification's examples and the usual
 * irc-parser-tests cases), tag escaping, the outgoing line builder and the
 * numerics table. Does not test command semantics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"
#include "irc/message.h"
#include "irc/numerics.h"

/* ---- parser ------------------------------------------------------------- */

struct kv {
	const char *k; /* tag key */
	const char *v; /* expected unescaped value */
};

struct parse_case {
	const char *line;       /* input (C string unless len is set) */
	size_t len;             /* 0 = strlen(line) */
	int rc;                 /* expected irc_parse() result */
	const char *source;     /* expected source, NULL = none */
	const char *command;    /* expected command (when rc == 0) */
	int n_params;           /* expected parameter count */
	const char *params[15]; /* expected parameters */
	int n_tags;             /* expected distinct tags */
	struct kv tags[8];      /* expected tags, in order */
};

/* clang-format off */
static const struct parse_case parse_cases[] = {
    /* IRCv3 message-tags examples */
    {"@aaa=bbb;ccc;example.com/ddd=eee :nick!ident@host.com PRIVMSG me :Hello", 0, 0, "nick!ident@host.com", "PRIVMSG", 2, {"me", "Hello"}, 3, {{"aaa", "bbb"}, {"ccc", ""}, {"example.com/ddd", "eee"}}},
    {"@a=b\\\\and\\nk;c=72\\s45;d=gh\\:764 foo", 0, 0, NULL, "FOO", 0, {NULL}, 3, {{"a", "b\\and\nk"}, {"c", "72 45"}, {"d", "gh;764"}}},
    {"@c;h=;a=b :quux ab cd", 0, 0, "quux", "AB", 1, {"cd"}, 3, {{"c", ""}, {"h", ""}, {"a", "b"}}},
    {"@+icon=https://example.com/favicon.png :nick!user@example.com PRIVMSG #channel :Example message", 0, 0, "nick!user@example.com", "PRIVMSG", 2, {"#channel", "Example message"}, 1, {{"+icon", "https://example.com/favicon.png"}}},
    {"@+example-client-tag=example-value PRIVMSG #channel :Example message", 0, 0, NULL, "PRIVMSG", 2, {"#channel", "Example message"}, 1, {{"+example-client-tag", "example-value"}}},
    {"@+example.com/foo=bar :irc.example.com NOTICE #c :x", 0, 0, "irc.example.com", "NOTICE", 2, {"#c", "x"}, 1, {{"+example.com/foo", "bar"}}},
    /* irc-parser-tests msg-split style */
    {"@tag1=value1;tag2;vendor1/tag3=value2;vendor2/tag4 :irc.example.com COMMAND param1 param2 :param3 param3", 0, 0, "irc.example.com", "COMMAND", 3, {"param1", "param2", "param3 param3"}, 4, {{"tag1", "value1"}, {"tag2", ""}, {"vendor1/tag3", "value2"}, {"vendor2/tag4", ""}}},
    {"@foo=\\\\\\\\\\:\\\\s\\s\\r\\n COMMAND", 0, 0, NULL, "COMMAND", 0, {NULL}, 1, {{"foo", "\\\\;\\s \r\n"}}},
    {"foo bar baz asdf", 0, 0, NULL, "FOO", 3, {"bar", "baz", "asdf"}, 0, {{0}}},
    {":coolguy foo bar baz :asdf quux", 0, 0, "coolguy", "FOO", 3, {"bar", "baz", "asdf quux"}, 0, {{0}}},
    {"foo bar baz :", 0, 0, NULL, "FOO", 3, {"bar", "baz", ""}, 0, {{0}}},
    {"foo bar baz ::asdf", 0, 0, NULL, "FOO", 3, {"bar", "baz", ":asdf"}, 0, {{0}}},
    {":coolguy foo bar baz :  asdf quux ", 0, 0, "coolguy", "FOO", 3, {"bar", "baz", "  asdf quux "}, 0, {{0}}},
    {":coolguy PRIVMSG bar :lol :) ", 0, 0, "coolguy", "PRIVMSG", 2, {"bar", "lol :) "}, 0, {{0}}},
    {":coolguy foo b\tar baz", 0, 0, "coolguy", "FOO", 2, {"b\tar", "baz"}, 0, {{0}}},
    /* source forms */
    {":src JOIN #chan", 0, 0, "src", "JOIN", 1, {"#chan"}, 0, {{0}}},
    {":src JOIN :#chan", 0, 0, "src", "JOIN", 1, {"#chan"}, 0, {{0}}},
    {":src AWAY", 0, 0, "src", "AWAY", 0, {NULL}, 0, {{0}}},
    {":src AWAY ", 0, 0, "src", "AWAY", 0, {NULL}, 0, {{0}}},
    {":nick!user@host PING x", 0, 0, "nick!user@host", "PING", 1, {"x"}, 0, {{0}}},
    {":irc.example.com 001 nick :hi", 0, 0, "irc.example.com", "001", 2, {"nick", "hi"}, 0, {{0}}},
    {":   CMD", 0, 0, "", "CMD", 0, {NULL}, 0, {{0}}},
    /* spacing, case */
    {"   PING   x    y   :z  w", 0, 0, NULL, "PING", 3, {"x", "y", "z  w"}, 0, {{0}}},
    {"@a=1    privmsg #c :hi", 0, 0, NULL, "PRIVMSG", 2, {"#c", "hi"}, 1, {{"a", "1"}}},
    {"CAP", 0, 0, NULL, "CAP", 0, {NULL}, 0, {{0}}},
    /* the 15-parameter rule (RFC 2812 §2.3.1) */
    {"CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", 0, 0, NULL, "CMD", 15, {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16 17"}, 0, {{0}}},
    {"CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 16", 0, 0, NULL, "CMD", 15, {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16"}, 0, {{0}}},
    {"CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", 0, 0, NULL, "CMD", 15, {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"}, 0, {{0}}},
    /* unescaping edge cases */
    {"@a=b\\ CMD", 0, 0, NULL, "CMD", 0, {NULL}, 1, {{"a", "b"}}},
    {"@a=\\ CMD", 0, 0, NULL, "CMD", 0, {NULL}, 1, {{"a", ""}}},
    {"@a=\\b\\x CMD", 0, 0, NULL, "CMD", 0, {NULL}, 1, {{"a", "bx"}}},
    {"@a=\\\\\\ CMD", 0, 0, NULL, "CMD", 0, {NULL}, 1, {{"a", "\\"}}},
    {"@a=x=y CMD", 0, 0, NULL, "CMD", 0, {NULL}, 1, {{"a", "x=y"}}},
    {"@a=\\:\\:\\s CMD", 0, 0, NULL, "CMD", 0, {NULL}, 1, {{"a", ";; "}}},
    /* duplicate keys: one slot, last value */
    {"@a=1;b=2;a=3 CMD", 0, 0, NULL, "CMD", 0, {NULL}, 2, {{"a", "3"}, {"b", "2"}}},
    {"@a=1;a CMD", 0, 0, NULL, "CMD", 0, {NULL}, 1, {{"a", ""}}},
    /* valid keys */
    {"@A1-b;+x.y-z/K-2=v CMD", 0, 0, NULL, "CMD", 0, {NULL}, 2, {{"A1-b", ""}, {"+x.y-z/K-2", "v"}}},
    /* errors */
    {"", 0, IRC_PARSE_EMPTY, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"    ", 0, IRC_PARSE_EMPTY, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"PRIV\0MSG x", 10, IRC_PARSE_NUL, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"PRIVMSG x :a\0", 13, IRC_PARSE_NUL, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@ CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a;;b CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a; CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@=v CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a$b=1 CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a_b CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@/a CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@+ CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@+/a CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@vendor/ CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@ven/dor/x CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a.b CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@++a CMD", 0, IRC_PARSE_BAD_TAG, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {":src", 0, IRC_PARSE_NO_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {":src    ", 0, IRC_PARSE_NO_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a=b", 0, IRC_PARSE_NO_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a=b ", 0, IRC_PARSE_NO_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"@a=b :src", 0, IRC_PARSE_NO_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"12 x", 0, IRC_PARSE_BAD_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"0001 x", 0, IRC_PARSE_BAD_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"PR1VMSG x", 0, IRC_PARSE_BAD_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"P-ING", 0, IRC_PARSE_BAD_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"#chan hi", 0, IRC_PARSE_BAD_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {":src :CMD", 0, IRC_PARSE_BAD_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
    {"ÉTÉ x", 0, IRC_PARSE_BAD_COMMAND, NULL, NULL, 0, {NULL}, 0, {{0}}},
};
/* clang-format on */

static void check_case(const struct parse_case *c)
{
	size_t len = c->len ? c->len : strlen(c->line);
	char *buf = malloc(len + 1);
	struct irc_msg m;
	int rc;

	memcpy(buf, c->line, len);
	buf[len] = '\0';
	rc = irc_parse(buf, len, &m);
	if (rc != c->rc)
		fail_msg("\"%s\": rc %d (%s), want %d", c->line, rc, irc_parse_strerror(rc), c->rc);
	if (rc == 0) {
		if (c->source)
			assert_string_equal(m.source, c->source);
		else
			assert_null(m.source);
		assert_string_equal(m.command, c->command);
		assert_int_equal(m.n_params, c->n_params);
		for (int i = 0; i < c->n_params; i++)
			assert_string_equal(m.params[i], c->params[i]);
		assert_int_equal(m.n_tags, c->n_tags);
		for (int i = 0; i < c->n_tags; i++) {
			assert_string_equal(m.tags[i].key, c->tags[i].k);
			assert_string_equal(m.tags[i].value, c->tags[i].v);
			assert_string_equal(irc_msg_tag(&m, c->tags[i].k), c->tags[i].v);
		}
	}
	free(buf);
}

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++)
		check_case(&parse_cases[i]);
}

static void test_msg_tag_lookup(void **state)
{
	char line[] = "@a=1;b;+c/d=x\\sy CMD";
	struct irc_msg m;

	(void)state;
	assert_int_equal(irc_parse(line, strlen(line), &m), 0);
	assert_string_equal(irc_msg_tag(&m, "a"), "1");
	assert_string_equal(irc_msg_tag(&m, "b"), "");
	assert_string_equal(irc_msg_tag(&m, "+c/d"), "x y");
	assert_null(irc_msg_tag(&m, "c/d"));
	assert_null(irc_msg_tag(&m, "A"));
	assert_null(irc_msg_tag(&m, "zzz"));
}

/* A line "@" + tag data of exactly n bytes + " CMD". */
static char *line_with_tag_data(size_t n, size_t *len)
{
	char *s = malloc(n + 16);

	s[0] = '@';
	s[1] = 'a';
	s[2] = '=';
	memset(s + 3, 'v', n - 2);
	memcpy(s + 1 + n, " CMD", 5);
	*len = n + 5;
	return s;
}

static void test_parse_tag_length_limit(void **state)
{
	struct irc_msg m;
	size_t len;
	char *s;

	(void)state;
	s = line_with_tag_data(IRC_CLIENT_TAGS_MAX, &len);
	assert_int_equal(irc_parse(s, len, &m), 0);
	assert_int_equal(strlen(irc_msg_tag(&m, "a")), IRC_CLIENT_TAGS_MAX - 2);
	free(s);
	s = line_with_tag_data(IRC_CLIENT_TAGS_MAX + 1, &len);
	assert_int_equal(irc_parse(s, len, &m), IRC_PARSE_TAGS_TOO_LONG);
	free(s);
	/* no space after the tags at all: still measured */
	s = line_with_tag_data(IRC_CLIENT_TAGS_MAX + 1, &len);
	s[IRC_CLIENT_TAGS_MAX + 2] = '\0';
	assert_int_equal(irc_parse(s, IRC_CLIENT_TAGS_MAX + 2, &m), IRC_PARSE_TAGS_TOO_LONG);
	free(s);
}

/* "PRIVMSG #c :" followed by 'x' up to a body of n bytes (after tags). */
static char *body_line(size_t n, const char *tags)
{
	size_t tl = strlen(tags);
	char *s = malloc(tl + n + 1);

	memcpy(s, tags, tl);
	memset(s + tl, 'x', n);
	memcpy(s + tl, "PRIVMSG #c :", 12);
	s[tl + n] = '\0';
	return s;
}

static void test_parse_body_length_limit(void **state)
{
	struct irc_msg m;
	char *s;

	(void)state;
	s = body_line(510, "");
	assert_int_equal(irc_parse(s, 510, &m), 0);
	assert_int_equal(strlen(m.params[1]), 510 - 12);
	free(s);
	s = body_line(511, "");
	assert_int_equal(irc_parse(s, 511, &m), IRC_PARSE_BODY_TOO_LONG);
	free(s);
	/* the tag section does not count towards the body */
	s = body_line(510, "@a=b ");
	assert_int_equal(irc_parse(s, 515, &m), 0);
	free(s);
	s = body_line(511, "@a=b ");
	assert_int_equal(irc_parse(s, 516, &m), IRC_PARSE_BODY_TOO_LONG);
	free(s);
}

/* "@t0;t1;...;t{n-1} CMD" with optional repeat of t0 at the end. */
static char *many_tags(int n, bool repeat_first, size_t *len)
{
	char *s = malloc(16 + (size_t)n * 8);
	size_t l = 0;

	s[l++] = '@';
	for (int i = 0; i < n; i++)
		l += (size_t)snprintf(s + l, 9, "%st%d", i ? ";" : "", i);
	if (repeat_first)
		l += (size_t)snprintf(s + l, 9, ";t0=z");
	l += (size_t)snprintf(s + l, 6, " CMD");
	*len = l;
	return s;
}

static void test_parse_tag_count_limit(void **state)
{
	struct irc_msg m;
	size_t len;
	char *s;

	(void)state;
	s = many_tags(IRC_MAX_TAGS, true, &len);
	assert_int_equal(irc_parse(s, len, &m), 0);
	assert_int_equal(m.n_tags, IRC_MAX_TAGS);
	assert_string_equal(irc_msg_tag(&m, "t0"), "z");
	assert_string_equal(m.tags[IRC_MAX_TAGS - 1].key, "t63");
	free(s);
	s = many_tags(IRC_MAX_TAGS + 1, false, &len);
	assert_int_equal(irc_parse(s, len, &m), IRC_PARSE_TOO_MANY_TAGS);
	free(s);
}

static void test_parse_strerror(void **state)
{
	(void)state;
	for (int e = IRC_PARSE_BAD_COMMAND; e <= IRC_PARSE_EMPTY; e++) {
		const char *s = irc_parse_strerror(e);

		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
		/* each message is distinct */
		for (int f = e + 1; f <= IRC_PARSE_EMPTY; f++)
			assert_string_not_equal(s, irc_parse_strerror(f));
	}
	assert_string_equal(irc_parse_strerror(-100), "unknown error");
}

/* ---- escaping ----------------------------------------------------------- */

static void test_tag_escape(void **state)
{
	static const struct {
		const char *in;  /* raw value */
		const char *out; /* wire form */
	} cases[] = {
	    {"", ""},
	    {"plain", "plain"},
	    {"a;b", "a\\:b"},
	    {"a b", "a\\sb"},
	    {"a\\b", "a\\\\b"},
	    {"\r\n", "\\r\\n"},
	    {"b\\and\nk", "b\\\\and\\nk"},
	    {"72 45", "72\\s45"},
	    {"gh;764", "gh\\:764"},
	    {"é=ü", "é=ü"},
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = irc_tag_escape(cases[i].in, out, sizeof(out));

		assert_string_equal(out, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
}

static void test_tag_escape_truncation(void **state)
{
	static const struct {
		const char *in;  /* value */
		size_t outlen;   /* room given */
		size_t need;     /* returned: the whole escaped length */
		const char *out; /* what is written */
	} cases[] = {
	    /* "a\:b" needs 4; with room for 2 the escape is not split */
	    {"a;b", 3, 4, "a"},
	    {"a;b", 4, 4, "a\\:"},
	    {"a;b", 5, 4, "a\\:b"},
	    /* a cut inside the part with nothing to escape (copied in one piece) */
	    {"abcdef", 4, 6, "abc"},
	    {"abc;d", 3, 6, "ab"},
	    {"abcdefg", 8, 7, "abcdefg"},
	    /* after a cut nothing later is written, even if it would fit */
	    {"; x", 2, 5, ""},
	};
	char out[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'Z', sizeof(out));
		assert_int_equal(irc_tag_escape(cases[i].in, out, cases[i].outlen), cases[i].need);
		assert_string_equal(out, cases[i].out);
	}
	/* outlen 0: nothing written, length reported */
	out[0] = 'Q';
	assert_int_equal(irc_tag_escape("a b", out, 0), 4);
	assert_int_equal(out[0], 'Q');
}

static void test_tag_escape_round_trip(void **state)
{
	static const char *const values[] = {
	    "",          "x",       ";",     " ",     "\\",     "\r",       "\n",
	    "\\s\\:\\r", "a;b c\\", "; ; ;", "end\\", "é ü;\n", "=equals=", "\\\\\\",
	};
	char esc[128], line[256];
	struct irc_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		irc_tag_escape(values[i], esc, sizeof(esc));
		snprintf(line, sizeof(line), "@k=%s;z CMD", esc);
		assert_int_equal(irc_parse(line, strlen(line), &m), 0);
		assert_string_equal(irc_msg_tag(&m, "k"), values[i]);
		assert_string_equal(irc_msg_tag(&m, "z"), "");
	}
}

/* ---- outgoing builder ---------------------------------------------------- */

/* No CR, LF or NUL anywhere but the final CRLF. */
static void assert_clean_line(const struct irc_out *o)
{
	const char *s = irc_out_str(o);
	size_t n = irc_out_len(o);

	assert_true(n >= 2);
	assert_int_equal(strlen(s), n);
	assert_memory_equal(s + n - 2, "\r\n", 2);
	for (size_t i = 0; i + 2 < n; i++)
		if (s[i] == '\r' || s[i] == '\n')
			fail_msg("CR/LF at %zu in \"%s\"", i, s);
	assert_true(irc_out_body_len(o) <= IRC_BODY_MAX);
}

static void test_out_basic(void **state)
{
	struct irc_out o;

	(void)state;
	irc_out_init(&o);
	irc_out_tag(&o, "msgid", "01hx");
	irc_out_tag(&o, "time", "2026-11-26T12:00:00.000Z");
	irc_out_source(&o, "nick!u@h");
	irc_out_cmd(&o, "PRIVMSG");
	irc_out_param(&o, "#chan");
	irc_out_trailing(&o, "hello world");
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o), "@msgid=01hx;time=2026-11-26T12:00:00.000Z "
	                                     ":nick!u@h PRIVMSG #chan :hello world\r\n");
	assert_string_equal(irc_out_body(&o), ":nick!u@h PRIVMSG #chan :hello world\r\n");
	assert_int_equal(irc_out_body_len(&o), strlen(irc_out_body(&o)));
	assert_int_equal(irc_out_len(&o), strlen(irc_out_str(&o)));
	assert_clean_line(&o);
}

static void test_out_no_tags_no_source(void **state)
{
	struct irc_out o;

	(void)state;
	irc_out_init(&o);
	irc_out_cmd(&o, "PING");
	irc_out_trailing(&o, "");
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o), "PING :\r\n");
	assert_ptr_equal(irc_out_body(&o), irc_out_str(&o));
}

static void test_out_tag_values(void **state)
{
	struct irc_out o;

	(void)state;
	irc_out_init(&o);
	irc_out_tag(&o, "label", "a b;c\\d\r\n");
	irc_out_tag(&o, "draft/bot", NULL);
	irc_out_tag(&o, "x", "");
	irc_out_tags_raw(&o, "+a=1\\s2;+b");
	irc_out_tags_raw(&o, "");
	irc_out_cmd(&o, "TAGMSG");
	irc_out_param(&o, "#c");
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o),
	                    "@label=a\\sb\\:c\\\\d\\r\\n;draft/bot;x;+a=1\\s2;+b TAGMSG #c\r\n");
	assert_string_equal(irc_out_body(&o), "TAGMSG #c\r\n");
}

static void test_out_bad_tags_dropped(void **state)
{
	struct irc_out o;

	(void)state;
	irc_out_init(&o);
	irc_out_tag(&o, "bad key", "v");
	irc_out_tag(&o, "", "v");
	irc_out_tag(&o, "a\r\nb", "v");
	irc_out_tags_raw(&o, "+a=1 :evil PRIVMSG");
	irc_out_tags_raw(&o, "+a=1\r\nQUIT");
	irc_out_cmd(&o, "PING");
	irc_out_param(&o, "x");
	assert_int_equal(irc_out_end(&o), -1);
	assert_string_equal(irc_out_str(&o), "PING x\r\n");
}

static void test_out_tag_section_limit(void **state)
{
	size_t fit = IRC_TAGS_MAX - 4; /* "@a=" + value + " " == IRC_TAGS_MAX */
	char *v = malloc(IRC_TAGS_MAX + 1);
	struct irc_out o;

	(void)state;
	memset(v, 'v', IRC_TAGS_MAX);
	v[fit] = '\0';
	irc_out_init(&o);
	irc_out_tag(&o, "a", v);
	irc_out_tag(&o, "b", NULL); /* no room left for ";b" */
	irc_out_tags_raw(&o, "c");
	irc_out_cmd(&o, "PING");
	assert_int_equal(irc_out_end(&o), -1);
	assert_int_equal(irc_out_body_len(&o), strlen("PING\r\n"));
	assert_int_equal(irc_out_len(&o), IRC_TAGS_MAX + strlen("PING\r\n"));
	assert_null(strstr(irc_out_str(&o), ";b"));

	/* one byte more does not fit: the tag is dropped whole */
	v[fit] = 'v';
	v[fit + 1] = '\0';
	irc_out_init(&o);
	irc_out_tag(&o, "a", v);
	irc_out_tag(&o, "b", "1");
	irc_out_cmd(&o, "PING");
	assert_int_equal(irc_out_end(&o), -1);
	assert_string_equal(irc_out_str(&o), "@b=1 PING\r\n");

	/* escaping counts: ' ' becomes 2 bytes */
	memset(v, ' ', fit / 2 + 1);
	v[fit / 2 + 1] = '\0';
	irc_out_init(&o);
	irc_out_tag(&o, "a", v);
	irc_out_cmd(&o, "PING");
	assert_int_equal(irc_out_end(&o), -1);
	assert_string_equal(irc_out_str(&o), "PING\r\n");

	/* raw tags have the same limit */
	memset(v, 'r', fit + 3);
	v[fit + 3] = '\0';
	irc_out_init(&o);
	irc_out_tags_raw(&o, v); /* "@" + fit+3 + " " > IRC_TAGS_MAX */
	irc_out_cmd(&o, "PING");
	assert_int_equal(irc_out_end(&o), -1);
	assert_string_equal(irc_out_str(&o), "PING\r\n");
	v[fit + 2] = '\0';
	irc_out_init(&o);
	irc_out_tags_raw(&o, v); /* exactly IRC_TAGS_MAX */
	irc_out_cmd(&o, "PING");
	assert_int_equal(irc_out_end(&o), 0);
	assert_int_equal(irc_out_len(&o), IRC_TAGS_MAX + 6);
	free(v);
}

/* Build ":s PRIVMSG #c :<text>" and return irc_out_end(). */
static int build_privmsg(struct irc_out *o, const char *text)
{
	irc_out_init(o);
	irc_out_tag(o, "time", "t");
	irc_out_source(o, "s");
	irc_out_cmd(o, "PRIVMSG");
	irc_out_param(o, "#c");
	irc_out_trailing(o, text);
	return irc_out_end(o);
}

static void test_out_truncation_utf8(void **state)
{
	const size_t head = strlen(":s PRIVMSG #c :"); /* 15 */
	const size_t room = 510 - head;
	static const char *const chars[] = {"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
	char text[2048];
	struct irc_out o;

	(void)state;
	for (size_t c = 0; c < 4; c++) {
		size_t cl = strlen(chars[c]), n = 0;

		while (n + cl < sizeof(text) - 1) {
			memcpy(text + n, chars[c], cl);
			n += cl;
		}
		text[n] = '\0';
		assert_int_equal(build_privmsg(&o, text), -1);
		assert_clean_line(&o);
		/* cut at the last whole character that fits */
		assert_int_equal(irc_out_body_len(&o), head + room / cl * cl + 2);
		assert_true(utf8_valid(irc_out_body(&o), irc_out_body_len(&o)));
	}
	/* exact fit is not a truncation */
	memset(text, 'a', room);
	text[room] = '\0';
	assert_int_equal(build_privmsg(&o, text), 0);
	assert_int_equal(irc_out_body_len(&o), IRC_BODY_MAX);
	text[room] = 'a';
	text[room + 1] = '\0';
	assert_int_equal(build_privmsg(&o, text), -1);
	assert_int_equal(irc_out_body_len(&o), IRC_BODY_MAX);
	assert_string_equal(irc_out_body(&o) + head + room - 1, "a\r\n");
}

static void test_out_crlf_nul_never_emitted(void **state)
{
	struct irc_out o;

	(void)state;
	irc_out_init(&o);
	irc_out_source(&o, "evil\r\nQUIT");
	irc_out_cmd(&o, "PRI\nVMSG");
	irc_out_param(&o, "#c");
	irc_out_trailing(&o, "a\r\nQUIT :x\0hidden");
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o), ":evil__QUIT PRI_VMSG #c :a  QUIT :x\r\n");
	assert_clean_line(&o);

	irc_out_init(&o);
	irc_out_cmd(&o, "NOTICE");
	irc_out_param(&o, "x\ry"); /* invalid middle: becomes trailing */
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o), "NOTICE :x y\r\n");

	irc_out_init(&o);
	irc_out_cmd(&o, "NOTICE");
	irc_out_paramf(&o, "%s", "a\nb");
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o), "NOTICE :a b\r\n");
	assert_clean_line(&o);
}

static void test_out_invalid_middle_params(void **state)
{
	static const struct {
		const char *p;   /* parameter passed to irc_out_param */
		const char *out; /* resulting line */
	} cases[] = {
	    {"", "X :\r\n"},
	    {":x", "X ::x\r\n"},
	    {"a b", "X :a b\r\n"},
	    {"ok", "X ok\r\n"},
	};
	struct irc_out o;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		irc_out_init(&o);
		irc_out_cmd(&o, "X");
		irc_out_param(&o, cases[i].p);
		assert_int_equal(irc_out_end(&o), 0);
		assert_string_equal(irc_out_str(&o), cases[i].out);
	}
	/* nothing may follow a trailing parameter */
	irc_out_init(&o);
	irc_out_cmd(&o, "X");
	irc_out_param(&o, "a b");
	irc_out_param(&o, "c");
	irc_out_trailing(&o, "d");
	assert_int_equal(irc_out_end(&o), -1);
	assert_string_equal(irc_out_str(&o), "X :a b\r\n");
}

static void test_out_param_limit(void **state)
{
	struct irc_out o;
	struct irc_msg m;
	char line[IRC_BODY_MAX + 1];

	(void)state;
	irc_out_init(&o);
	irc_out_cmd(&o, "X");
	for (int i = 1; i <= 16; i++)
		irc_out_paramf(&o, "p%d", i);
	assert_int_equal(irc_out_end(&o), -1);
	assert_int_equal(o.n_params, IRC_MAX_PARAMS);
	assert_null(strstr(irc_out_str(&o), "p16"));
	/* the result parses back to the same 15 parameters */
	memcpy(line, irc_out_str(&o), irc_out_len(&o) - 2);
	line[irc_out_len(&o) - 2] = '\0';
	assert_int_equal(irc_parse(line, strlen(line), &m), 0);
	assert_int_equal(m.n_params, 15);
	assert_string_equal(m.params[14], "p15");

	irc_out_init(&o);
	irc_out_cmd(&o, "X");
	for (int i = 1; i <= 15; i++)
		irc_out_paramf(&o, "p%d", i);
	assert_int_equal(irc_out_end(&o), 0);
}

static void test_out_long_middle_param(void **state)
{
	char p[700];
	struct irc_out o;

	(void)state;
	memset(p, 'm', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	irc_out_init(&o);
	irc_out_cmd(&o, "X");
	irc_out_param(&o, p);
	irc_out_trailing(&o, "t"); /* no room left */
	assert_int_equal(irc_out_end(&o), -1);
	assert_int_equal(irc_out_body_len(&o), IRC_BODY_MAX);
	assert_clean_line(&o);
}

static void test_out_formatted(void **state)
{
	struct irc_out o;

	(void)state;
	irc_out_init(&o);
	irc_out_cmd(&o, "X");
	irc_out_paramf(&o, "%d", 42);
	irc_out_trailingf(&o, "%s-%d", "v", 7);
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o), "X 42 :v-7\r\n");
	/* end twice does not append twice */
	assert_int_equal(irc_out_end(&o), 0);
	assert_string_equal(irc_out_str(&o), "X 42 :v-7\r\n");
}

/* Builder output always parses back to what was put in. */
static void test_out_parse_round_trip(void **state)
{
	char line[IRC_TAGS_MAX + IRC_BODY_MAX + 1];
	struct irc_out o;
	struct irc_msg m;
	size_t n;

	(void)state;
	irc_out_init(&o);
	irc_out_tag(&o, "+draft/reply", "id 1;2\\");
	irc_out_source(&o, "n!u@h");
	irc_out_cmd(&o, "privmsg");
	irc_out_param(&o, "#c");
	irc_out_trailing(&o, ":) hi  ");
	assert_int_equal(irc_out_end(&o), 0);
	n = irc_out_len(&o) - 2;
	memcpy(line, irc_out_str(&o), n);
	line[n] = '\0';
	assert_int_equal(irc_parse(line, n, &m), 0);
	assert_string_equal(irc_msg_tag(&m, "+draft/reply"), "id 1;2\\");
	assert_string_equal(m.source, "n!u@h");
	assert_string_equal(m.command, "PRIVMSG");
	assert_int_equal(m.n_params, 2);
	assert_string_equal(m.params[1], ":) hi  ");
}

/* ---- numerics ----------------------------------------------------------- */

static void test_numeric_lookup(void **state)
{
	(void)state;
	assert_int_equal(irc_numeric_code(ERR_NEEDMOREPARAMS), 461);
	assert_int_equal(irc_numeric_code(RPL_WELCOME), 1);
	assert_int_equal(irc_numeric_code(RPL_WHOSPCRPL), 354);
	assert_int_equal(irc_numeric_code(RPL_WHOISSECURE), 671);
	assert_string_equal(irc_numeric_name(ERR_NEEDMOREPARAMS), "ERR_NEEDMOREPARAMS");
	assert_string_equal(irc_numeric_name(RPL_SASLMECHS), "RPL_SASLMECHS");
	assert_string_equal(irc_numeric_fmt(ERR_NEEDMOREPARAMS), "%s :Not enough parameters");
	assert_string_equal(irc_numeric_fmt(ERR_INPUTTOOLONG), ":Input line was too long");
	assert_string_equal(IRC_NUMFMT_RPL_NAMREPLY, irc_numeric_fmt(RPL_NAMREPLY));
	assert_null(irc_numeric_fmt((enum irc_numeric)999));
	assert_null(irc_numeric_name((enum irc_numeric)0));
	assert_int_equal(irc_numeric_code((enum irc_numeric)998), -1);
}

/* Every format: only %s, %d, PRId64 and %%; no CR/LF; at most one " :". */
static void check_format(const char *name, const char *f)
{
	const char *colon = strstr(f, " :");

	if (strchr(f, '\r') || strchr(f, '\n'))
		fail_msg("%s: CR/LF in format", name);
	if (colon && strstr(colon + 1, " :"))
		fail_msg("%s: two trailing markers", name);
	for (const char *p = strchr(f, '%'); p; p = strchr(p, '%')) {
		if (p[1] == 's' || p[1] == 'd' || p[1] == '%')
			p += 2;
		else if (strncmp(p + 1, PRId64, strlen(PRId64)) == 0)
			p += 1 + strlen(PRId64);
		else
			fail_msg("%s: unexpected conversion in \"%s\"", name, f);
	}
}

static void test_numeric_table(void **state)
{
	int n = 0;

	(void)state;
#define X(name, code, fmt)                                                                         \
	assert_true((code) > 0 && (code) < 1000);                                                  \
	assert_int_equal(irc_numeric_code(name), code);                                            \
	assert_string_equal(irc_numeric_name(name), #name);                                        \
	check_format(#name, fmt);                                                                  \
	n++;
#include "irc/numerics.def"
#undef X
	assert_true(n >= 90);
}

static void test_numeric_required_codes(void **state)
{
	static const int required[] = {
	    1,   2,   3,   4,   5,   221, 251, 252, 253, 254, 255, 265, 266, 301, 305,
	    306, 311, 312, 313, 315, 317, 318, 319, 322, 323, 324, 329, 330, 331, 332,
	    333, 341, 351, 352, 353, 354, 366, 372, 375, 376, 378, 381, 391, 396, 401,
	    402, 403, 404, 405, 409, 411, 412, 417, 421, 422, 431, 432, 433, 436, 441,
	    442, 443, 451, 461, 462, 464, 465, 471, 473, 474, 475, 477, 481, 482, 501,
	    502, 671, 900, 901, 902, 903, 904, 905, 906, 907, 908};

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!irc_numeric_name((enum irc_numeric)required[i]))
			fail_msg("numeric %03d missing", required[i]);
}

/* Render, check the bytes, and parse the line back. */
static void render_check(struct irc_out *o, const char *want, int n_params)
{
	char line[IRC_TAGS_MAX + IRC_BODY_MAX + 1];
	struct irc_msg m;
	size_t n;

	assert_int_equal(irc_out_end(o), 0);
	assert_string_equal(irc_out_str(o), want);
	n = irc_out_len(o) - 2;
	memcpy(line, irc_out_str(o), n);
	line[n] = '\0';
	assert_int_equal(irc_parse(line, n, &m), 0);
	assert_int_equal(m.n_params, n_params);
}

static void test_numeric_render(void **state)
{
	struct irc_out o;

	(void)state;
	irc_out_init(&o);
	irc_out_numeric(&o, "irc.example", "nick", ERR_NEEDMOREPARAMS, "JOIN");
	render_check(&o, ":irc.example 461 nick JOIN :Not enough parameters\r\n", 3);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "nick", RPL_WELCOME, "pchat", "nick!u@h");
	render_check(&o, ":srv 001 nick :Welcome to the pchat IRC Network nick!u@h\r\n", 2);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", NULL, ERR_INPUTTOOLONG);
	render_check(&o, ":srv 417 * :Input line was too long\r\n", 2);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "", ERR_NOTREGISTERED);
	render_check(&o, ":srv 451 * :You have not registered\r\n", 2);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "n", RPL_ISUPPORT, "CASEMAPPING=ascii CHANTYPES=# NICKLEN=30");
	render_check(&o,
	             ":srv 005 n CASEMAPPING=ascii CHANTYPES=# NICKLEN=30 :are supported by "
	             "this server\r\n",
	             5);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "n", RPL_NAMREPLY, "=", "#room", "@alice bob");
	render_check(&o, ":srv 353 n = #room :@alice bob\r\n", 4);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "n", RPL_MYINFO, "srv", "pchat-0.1", "iowB",
	                "biklmnopstv bklov");
	render_check(&o, ":srv 004 n srv pchat-0.1 iowB biklmnopstv bklov\r\n", 6);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "n", RPL_WHOISIDLE, "bob", (int64_t)12, (int64_t)1764158400);
	render_check(&o, ":srv 317 n bob 12 1764158400 :seconds idle, signon time\r\n", 5);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "n", RPL_TOPICWHOTIME, "#r", "alice", (int64_t)5);
	render_check(&o, ":srv 333 n #r alice 5\r\n", 4);

	irc_out_init(&o);
	irc_out_numeric(&o, "srv", "n", RPL_TOPIC, "#r", "a topic\r\nQUIT");
	render_check(&o, ":srv 332 n #r :a topic  QUIT\r\n", 3);

	/* tags first, then the numeric; no source */
	irc_out_init(&o);
	irc_out_tag(&o, "label", "x1");
	irc_out_numeric(&o, NULL, "n", RPL_SASLSUCCESS);
	render_check(&o, "@label=x1 903 n :SASL authentication successful\r\n", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_msg_tag_lookup),
	    cmocka_unit_test(test_parse_tag_length_limit),
	    cmocka_unit_test(test_parse_body_length_limit),
	    cmocka_unit_test(test_parse_tag_count_limit),
	    cmocka_unit_test(test_parse_strerror),
	    cmocka_unit_test(test_tag_escape),
	    cmocka_unit_test(test_tag_escape_truncation),
	    cmocka_unit_test(test_tag_escape_round_trip),
	    cmocka_unit_test(test_out_basic),
	    cmocka_unit_test(test_out_no_tags_no_source),
	    cmocka_unit_test(test_out_tag_values),
	    cmocka_unit_test(test_out_bad_tags_dropped),
	    cmocka_unit_test(test_out_tag_section_limit),
	    cmocka_unit_test(test_out_truncation_utf8),
	    cmocka_unit_test(test_out_crlf_nul_never_emitted),
	    cmocka_unit_test(test_out_invalid_middle_params),
	    cmocka_unit_test(test_out_param_limit),
	    cmocka_unit_test(test_out_long_middle_param),
	    cmocka_unit_test(test_out_formatted),
	    cmocka_unit_test(test_out_parse_round_trip),
	    cmocka_unit_test(test_numeric_lookup),
	    cmocka_unit_test(test_numeric_table),
	    cmocka_unit_test(test_numeric_required_codes),
	    cmocka_unit_test(test_numeric_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
