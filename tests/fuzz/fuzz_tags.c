/*
 * fuzz_tags.c — libFuzzer target for IRCv3 message-tags: value escaping
 * (irc_tag_escape), unescaping (inside irc_parse) and the tag part of the
 * line builder (irc_out_tag, irc_out_tags_raw), src/irc/message.c.
 *
 * Input: one selector byte, then fields separated by NUL bytes. Each field
 * is escaped (whole and into a short buffer) and checked against a
 * reference written from the spec; it is also parsed raw as a tag value and
 * compared with the reference unescaping. Field pairs are then added as
 * (key, value) tags to a line, which must stay well-formed and carry the
 * values that were not dropped; the last field is also relayed raw.
 *
 * Deliberately not here: the rest of the line grammar (fuzz_line.c).
 */
#include "common/xmalloc.h"
#include "fuzz_util.h"
#include "irc/message.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 32 /* fields looked at; the rest is ignored */

/* Reference unescaping (message-tags "Escaping values"): new string. */
static char *ref_unescape(const char *v)
{
	char *out = xmalloc(strlen(v) + 1), *w = out;

	for (; *v; v++) {
		if (*v != '\\') {
			*w++ = *v;
			continue;
		}
		v++;
		if (*v == '\0')
			break; /* a lone trailing backslash is dropped */
		*w++ = *v == ':' ? ';' : *v == 's' ? ' ' : *v == 'r' ? '\r' : *v == 'n' ? '\n' : *v;
	}
	*w = '\0';
	return out;
}

/* Escape f whole and into a buffer of outlen bytes; check both. */
static void check_escape(const char *f, size_t outlen)
{
	size_t need = irc_tag_escape(f, NULL, 0), n, cut;
	char *full = xmalloc(need + 1), *part = xmalloc(outlen + 1), *back;

	FUZZ_CHECK(irc_tag_escape(f, full, need + 1) == need);
	FUZZ_CHECK(strlen(full) == need && strpbrk(full, " ;\r\n") == NULL);
	back = ref_unescape(full);
	FUZZ_CHECK(strcmp(back, f) == 0);
	n = irc_tag_escape(f, part, outlen);
	FUZZ_CHECK(n == need);
	if (outlen > 0) {
		/* the longest prefix ending on a whole escape sequence */
		cut = 0;
		for (const char *c = f; *c; c++) {
			size_t k = strchr(" ;\\\r\n", *c) ? 2 : 1;

			if (cut + k >= outlen)
				break;
			cut += k;
		}
		FUZZ_CHECK(strlen(part) == cut && memcmp(part, full, cut) == 0);
	}
	free(back);
	free(part);
	free(full);
}

/* Parse "@k=WIRE PING" and compare the value with the reference. */
static void check_unescape(const char *wire)
{
	static struct irc_msg m;
	size_t n = strlen(wire);
	char *line, *ref;
	int rc;

	if (strpbrk(wire, " ;\r\n") || n > IRC_CLIENT_TAGS_MAX - 2)
		return; /* not a single tag value */
	line = xmalloc(n + 16);
	snprintf(line, n + 16, "@k=%s PING", wire);
	rc = irc_parse(line, strlen(line), &m);
	FUZZ_CHECK(rc == 0 && m.n_tags == 1);
	ref = ref_unescape(wire);
	FUZZ_CHECK(strcmp(m.tags[0].value, ref) == 0);
	free(ref);
	free(line);
}

/*
 * The value the last irc_out_tag() of key set (NULL if none did); *seen
 * tells whether any irc_out_tag() of key set value.
 */
static const char *last_value(char **f, int n_pairs, const char *key, const char *value, bool *seen)
{
	const char *v = NULL;

	*seen = false;
	for (int i = 0; i < n_pairs; i++) {
		if (strcmp(f[2 * i], key) != 0)
			continue;
		v = f[2 * i + 1];
		if (strcmp(v, value) == 0)
			*seen = true;
	}
	return v;
}

/* Tags from field pairs: every value that arrives is one that was set. */
static void check_builder(char **f, int n_fields)
{
	static struct irc_out o;
	static struct irc_msg m;
	int n_pairs = n_fields / 2, rc;
	char *copy = NULL;

	irc_out_init(&o);
	for (int i = 0; i < n_pairs; i++)
		irc_out_tag(&o, f[2 * i], f[2 * i + 1]);
	irc_out_cmd(&o, "TAGMSG");
	irc_out_param(&o, "#room");
	rc = irc_out_end(&o);
	if (!fuzz_check_out(&o, true, &copy, &m))
		goto out;
	for (int i = 0; i < m.n_tags; i++) {
		bool seen;
		const char *want = last_value(f, n_pairs, m.tags[i].key, m.tags[i].value, &seen);

		FUZZ_CHECK(want != NULL && seen);
		/* a dropped later value may leave an earlier one: only exact if clean */
		if (rc == 0)
			FUZZ_CHECK(strcmp(m.tags[i].value, want) == 0);
	}
	FUZZ_CHECK(m.n_params == 1 && strcmp(m.params[0], "#room") == 0);
out:
	free(copy);
}

/* Raw relayed tag text: the line stays one line with a parsable body. */
static void check_raw(const char *key, const char *wire)
{
	static struct irc_out o;
	static struct irc_msg m;
	char *copy = NULL;

	irc_out_init(&o);
	irc_out_tag(&o, key, "v");
	irc_out_tags_raw(&o, wire);
	irc_out_source(&o, "nick!user@host");
	irc_out_cmd(&o, "PRIVMSG");
	irc_out_param(&o, "#room");
	irc_out_trailing(&o, wire);
	irc_out_end(&o);
	fuzz_check_out(&o, false, &copy, &m);
	FUZZ_CHECK(strcmp(m.command, "PRIVMSG") == 0 && m.n_params == 2);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[MAX_FIELDS];
	int n = 0;
	size_t outlen;

	if (size < 1 || size > 2 * IRC_TAGS_MAX)
		return 0;
	outlen = data[0];
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (char *p = buf; n < MAX_FIELDS && p < buf + size; p += strlen(p) + 1)
		f[n++] = p;
	for (int i = 0; i < n; i++) {
		check_escape(f[i], outlen);
		check_unescape(f[i]);
	}
	check_builder(f, n);
	check_raw(f[0], f[n - 1]);
	free(buf);
	return 0;
}
