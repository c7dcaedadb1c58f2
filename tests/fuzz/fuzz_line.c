/*
 * fuzz_line.c — libFuzzer target for the IRC line parser (irc_parse) and
 * the outgoing line builder (irc_out_*), src/irc/message.c.
 *
 * The input is one line as the connection layer hands it over (without
 * its CR/LF; the parser must survive CR/LF inside anyway). On success the
 * parsed message is checked against the grammar (RFC 2812 §2.3.1, IRCv3
 * message-tags), then rebuilt with the builder: the rebuilt line must be
 * well-formed, and when the builder reports nothing dropped it must parse
 * back to the same message.
 *
 * Deliberately not here: command semantics (dispatch), UTF-8 policy, the
 * escaping corner cases of tag values (fuzz_tags.c).
 */
#include "common/xmalloc.h"
#include "fuzz_util.h"
#include "irc/message.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longest input tried: a full tag section and body, and some more. */
#define LINE_MAX_FUZZ (IRC_TAGS_MAX + IRC_BODY_MAX + 64)

static bool in_line(const char *p, const char *line, size_t size)
{
	return p >= line && p <= line + size;
}

static bool command_ok(const char *c)
{
	size_t n = strlen(c);

	if (n == 3 && c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' &&
	    c[2] <= '9')
		return true;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (c[i] < 'A' || c[i] > 'Z')
			return false;
	return true;
}

/* Tags: valid distinct keys, found again by irc_msg_tag(). */
static void check_tags(const struct irc_msg *m, const char *line, size_t size)
{
	FUZZ_CHECK(m->n_tags >= 0 && m->n_tags <= IRC_MAX_TAGS);
	for (int i = 0; i < m->n_tags; i++) {
		const struct irc_tag *t = &m->tags[i];

		FUZZ_CHECK(in_line(t->key, line, size) && in_line(t->value, line, size));
		FUZZ_CHECK(fuzz_tag_key_valid(t->key));
		FUZZ_CHECK(irc_msg_tag(m, t->key) == t->value);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(m->tags[j].key, t->key) != 0);
	}
}

/* The grammar of a successfully parsed message. */
static void check_msg(const struct irc_msg *m, const char *line, size_t size)
{
	check_tags(m, line, size);
	if (m->source) {
		FUZZ_CHECK(in_line(m->source, line, size));
		FUZZ_CHECK(strchr(m->source, ' ') == NULL);
	}
	FUZZ_CHECK(m->command && in_line(m->command, line, size));
	FUZZ_CHECK(command_ok(m->command));
	FUZZ_CHECK(m->n_params >= 0 && m->n_params <= IRC_MAX_PARAMS);
	for (int i = 0; i < m->n_params; i++) {
		const char *p = m->params[i];

		FUZZ_CHECK(in_line(p, line, size));
		if (i == m->n_params - 1)
			break;
		/* a middle parameter: non-empty, no space, no leading ':' */
		FUZZ_CHECK(p[0] != '\0' && p[0] != ':' && strchr(p, ' ') == NULL);
	}
}

static void build(const struct irc_msg *m, struct irc_out *o)
{
	irc_out_init(o);
	for (int i = 0; i < m->n_tags; i++)
		irc_out_tag(o, m->tags[i].key, m->tags[i].value);
	if (m->source)
		irc_out_source(o, m->source);
	irc_out_cmd(o, m->command);
	for (int i = 0; i < m->n_params; i++) {
		if (i == m->n_params - 1)
			irc_out_trailing(o, m->params[i]);
		else
			irc_out_param(o, m->params[i]);
	}
}

static bool same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Nothing was dropped: the rebuilt line means what the input meant. */
static void check_same(const struct irc_msg *a, const struct irc_msg *b, bool tags)
{
	if (tags) {
		FUZZ_CHECK(a->n_tags == b->n_tags);
		for (int i = 0; i < a->n_tags; i++) {
			FUZZ_CHECK(strcmp(a->tags[i].key, b->tags[i].key) == 0);
			FUZZ_CHECK(strcmp(a->tags[i].value, b->tags[i].value) == 0);
		}
	}
	FUZZ_CHECK(same_str(a->source, b->source));
	FUZZ_CHECK(strcmp(a->command, b->command) == 0);
	FUZZ_CHECK(a->n_params == b->n_params);
	for (int i = 0; i < a->n_params; i++)
		FUZZ_CHECK(strcmp(a->params[i], b->params[i]) == 0);
}

static void round_trip(const struct irc_msg *m)
{
	static struct irc_out o; /* ~8.7 KiB: not on the fuzzer's stack */
	static struct irc_msg again;
	char *copy = NULL;
	bool tags;
	int rc;

	build(m, &o);
	rc = irc_out_end(&o);
	tags = fuzz_check_out(&o, true, &copy, &again);
	if (rc == 0)
		check_same(m, &again, tags);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct irc_msg m;
	char *line;
	int rc;

	if (size > LINE_MAX_FUZZ)
		return 0;
	line = xmalloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	rc = irc_parse(line, size, &m);
	FUZZ_CHECK(irc_parse_strerror(rc) != NULL);
	if (rc == 0) {
		check_msg(&m, line, size);
		/* CR/LF never reach the parser from a connection: the builder
		 * rightly replaces them, so the round trip would differ. */
		if (!memchr(data, '\r', size) && !memchr(data, '\n', size))
			round_trip(&m);
	} else {
		FUZZ_CHECK(rc >= IRC_PARSE_BAD_COMMAND && rc <= IRC_PARSE_EMPTY);
		FUZZ_CHECK(rc != IRC_PARSE_NUL || memchr(data, '\0', size) != NULL);
	}
	free(line);
	return 0;
}
