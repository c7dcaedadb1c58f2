/*
 * message.c — IRC line parser (zero-copy, in place) and outgoing line
 * builder.
 *
 * Grammar: IRCv3 message-tags ("@k=v;k2 "), RFC 2812 §2.3.1 source,
 * command and parameters, with the usual tolerance for repeated spaces.
 * Deliberately not here: UTF-8 policy, command semantics, case mapping of
 * targets, capability-dependent rendering.
 */
#include "irc/message.h"

#include "common/utf8.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Room for the body without CRLF (RFC 2812 §2.3: 512 including CRLF). */
#define BODY_ROOM (IRC_BODY_MAX - 2)

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char *skip_spaces(char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* End of the token at p: the next space or the NUL. */
static char *token_end(char *p)
{
	while (*p && *p != ' ')
		p++;
	return p;
}

/*
 * message-tags: key = [ '+' ] [ vendor '/' ] key_name; key_name is letters,
 * digits and '-'; vendor is a host name (letters, digits, '-', '.').
 */
static bool tag_key_valid(const char *k)
{
	const char *slash;
	size_t name_at; /* index of the key name, after the vendor's '/' */

	if (*k == '+')
		k++;
	slash = strrchr(k, '/');
	name_at = slash ? (size_t)(slash - k) + 1 : 0;
	if (k[name_at] == '\0' || name_at == 1)
		return false; /* empty key name or empty vendor */
	for (size_t i = 0; k[i]; i++) {
		if (is_alpha(k[i]) || is_digit(k[i]) || k[i] == '-')
			continue;
		if (name_at > 0 && i == name_at - 1)
			continue; /* the vendor's '/' */
		if (k[i] == '.' && i + 1 < name_at)
			continue; /* dots of the vendor's host name */
		return false;
	}
	return true;
}

static char unescape_char(char c)
{
	switch (c) {
	case ':':
		return ';';
	case 's':
		return ' ';
	case 'r':
		return '\r';
	case 'n':
		return '\n';
	default:
		return c; /* "\\" -> '\', '\' + other -> other */
	}
}

/* Unescape a tag value in place (message-tags "Escaping values"). */
static void tag_unescape(char *v)
{
	char *w = v;

	for (char *r = v; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		if (r[1] == '\0')
			break; /* a trailing lone '\' is dropped */
		*w++ = unescape_char(*++r);
	}
	*w = '\0';
}

/* Record one tag; a repeated key overwrites the earlier value. */
static int tag_add(struct irc_msg *m, char *key, char *value)
{
	for (int i = 0; i < m->n_tags; i++) {
		if (strcmp(m->tags[i].key, key) == 0) {
			m->tags[i].value = value;
			return 0;
		}
	}
	if (m->n_tags == IRC_MAX_TAGS)
		return IRC_PARSE_TOO_MANY_TAGS;
	m->tags[m->n_tags].key = key;
	m->tags[m->n_tags].value = value;
	m->n_tags++;
	return 0;
}

/* Split the NUL-terminated tag data s ("k=v;k2") into m->tags. */
static int tags_split(char *s, struct irc_msg *m)
{
	char *next;

	for (; s; s = next) {
		char *semi = strchr(s, ';');
		char *eq, *value;
		int rc;

		next = semi ? semi + 1 : NULL;
		if (semi)
			*semi = '\0';
		eq = strchr(s, '=');
		if (eq) {
			*eq = '\0';
			value = eq + 1;
			tag_unescape(value);
		} else {
			value = s + strlen(s); /* the key's NUL: "" */
		}
		if (!tag_key_valid(s))
			return IRC_PARSE_BAD_TAG;
		rc = tag_add(m, s, value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Parse the tag section at *pp ('@'...); leaves *pp after it. */
static int tags_parse(char **pp, char *end, struct irc_msg *m)
{
	char *data = *pp + 1;
	char *sp = strchr(data, ' ');
	char *data_end = sp ? sp : end;

	if ((size_t)(data_end - data) > IRC_CLIENT_TAGS_MAX)
		return IRC_PARSE_TAGS_TOO_LONG;
	*data_end = '\0';
	*pp = sp ? sp + 1 : end;
	return tags_split(data, m);
}

/* Letters (upper-cased in place) or exactly three digits. */
static int command_check(char *c)
{
	size_t n = strlen(c);

	if (n == 3 && is_digit(c[0]) && is_digit(c[1]) && is_digit(c[2]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_alpha(c[i]))
			return IRC_PARSE_BAD_COMMAND;
		if (c[i] >= 'a')
			c[i] = (char)(c[i] - ('a' - 'A'));
	}
	return 0;
}

/* RFC 2812 §2.3.1 params: the 15th (or a ':' one) takes the rest. */
static void params_parse(char *p, struct irc_msg *m)
{
	for (;;) {
		p = skip_spaces(p);
		if (*p == '\0')
			return;
		if (*p == ':' || m->n_params == IRC_MAX_PARAMS - 1) {
			m->params[m->n_params++] = *p == ':' ? p + 1 : p;
			return;
		}
		m->params[m->n_params++] = p;
		p = token_end(p);
		if (*p)
			*p++ = '\0';
	}
}

/* Source, command and parameters: everything after the tags. */
static int body_parse(char *p, char *end, struct irc_msg *m)
{
	char *e;

	if ((size_t)(end - p) > BODY_ROOM)
		return IRC_PARSE_BODY_TOO_LONG;
	if (*p == ':') {
		e = token_end(p);
		m->source = p + 1;
		p = *e ? e + 1 : e;
		*e = '\0';
		p = skip_spaces(p);
	}
	if (*p == '\0')
		return IRC_PARSE_NO_COMMAND;
	e = token_end(p);
	m->command = p;
	p = *e ? e + 1 : e;
	*e = '\0';
	if (command_check(m->command) < 0)
		return IRC_PARSE_BAD_COMMAND;
	params_parse(p, m);
	return 0;
}

int irc_parse(char *line, size_t len, struct irc_msg *m)
{
	char *end = line + len;
	char *p;
	int rc;

	m->n_tags = 0;
	m->source = NULL;
	m->command = NULL;
	m->n_params = 0;
	if (memchr(line, '\0', len))
		return IRC_PARSE_NUL;
	p = skip_spaces(line);
	if (*p == '\0')
		return IRC_PARSE_EMPTY;
	if (*p == '@') {
		rc = tags_parse(&p, end, m);
		if (rc < 0)
			return rc;
		p = skip_spaces(p);
	}
	return body_parse(p, end, m);
}

const char *irc_msg_tag(const struct irc_msg *m, const char *key)
{
	for (int i = m->n_tags - 1; i >= 0; i--)
		if (strcmp(m->tags[i].key, key) == 0)
			return m->tags[i].value;
	return NULL;
}

const char *irc_parse_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case IRC_PARSE_EMPTY:
		return "empty line";
	case IRC_PARSE_NUL:
		return "NUL byte in line";
	case IRC_PARSE_TAGS_TOO_LONG:
		return "tag section too long";
	case IRC_PARSE_BODY_TOO_LONG:
		return "line too long";
	case IRC_PARSE_TOO_MANY_TAGS:
		return "too many tags";
	case IRC_PARSE_BAD_TAG:
		return "invalid tag key";
	case IRC_PARSE_NO_COMMAND:
		return "no command";
	case IRC_PARSE_BAD_COMMAND:
		return "invalid command";
	default:
		return "unknown error";
	}
}

/* The escape sequence for c, or NULL when c stands for itself. */
static const char *escape_of(char c)
{
	switch (c) {
	case ';':
		return "\\:";
	case ' ':
		return "\\s";
	case '\\':
		return "\\\\";
	case '\r':
		return "\\r";
	case '\n':
		return "\\n";
	default:
		return NULL;
	}
}

size_t irc_tag_escape(const char *in, char *out, size_t outlen)
{
	/* the part before the first character to escape in one copy (all of a time or msgid) */
	size_t need = strcspn(in, "; \\\r\n");
	size_t w = outlen == 0 ? 0 : need < outlen ? need : outlen - 1;
	bool full = outlen == 0 || w < need;

	if (w > 0)
		memcpy(out, in, w);
	for (in += need; *in; in++) {
		const char *e = escape_of(*in);
		size_t n = e ? 2 : 1;

		if (!full && w + n < outlen) {
			memcpy(out + w, e ? e : in, n);
			w += n;
		} else {
			full = true; /* never resume: keep the output a prefix */
		}
		need += n;
	}
	if (outlen > 0)
		out[w] = '\0';
	return need;
}

/* ---- outgoing lines ---------------------------------------------------- */

void irc_out_init(struct irc_out *o)
{
	o->buf[0] = '\0';
	o->len = 0;
	o->body_start = 0;
	o->n_params = 0;
	o->has_tags = false;
	o->in_body = false;
	o->has_trailing = false;
	o->ended = false;
	o->damaged = false;
}

/* Begin the tag item: '@' first, ';' after. False if n more bytes (and the
 * closing space) would not fit in the tag section. */
static bool tag_item_open(struct irc_out *o, size_t n)
{
	assert(!o->in_body && "tags must come before source and command");
	if (o->in_body || o->len + 1 + n + 1 > IRC_TAGS_MAX) {
		o->damaged = true;
		return false;
	}
	o->buf[o->len++] = o->has_tags ? ';' : '@';
	return true;
}

void irc_out_tag(struct irc_out *o, const char *key, const char *value)
{
	size_t start = o->len;
	size_t klen = strlen(key);
	size_t room, n;

	if (!tag_key_valid(key) || !tag_item_open(o, klen)) {
		o->damaged = true;
		return;
	}
	memcpy(o->buf + o->len, key, klen);
	o->len += klen;
	if (value && *value) {
		/* bytes left for '=' and the value, keeping one for the space */
		room = IRC_TAGS_MAX - 1 - o->len;
		if (room < 2)
			goto out_undo;
		o->buf[o->len++] = '=';
		n = irc_tag_escape(value, o->buf + o->len, room);
		if (n >= room)
			goto out_undo;
		o->len += n;
	}
	o->has_tags = true;
	o->buf[o->len] = '\0';
	return;
out_undo:
	o->len = start;
	o->buf[start] = '\0';
	o->damaged = true;
}

void irc_out_tags_raw(struct irc_out *o, const char *wire)
{
	size_t n = strlen(wire);

	if (n == 0)
		return;
	if (strpbrk(wire, " \r\n") || !tag_item_open(o, n)) {
		o->damaged = true;
		return;
	}
	memcpy(o->buf + o->len, wire, n);
	o->len += n;
	o->buf[o->len] = '\0';
	o->has_tags = true;
}

/* Close the tag section (if any) and start the body. */
static void body_open(struct irc_out *o)
{
	if (o->in_body)
		return;
	if (o->has_tags)
		o->buf[o->len++] = ' ';
	o->body_start = o->len;
	o->in_body = true;
	o->buf[o->len] = '\0';
}

static size_t body_room(const struct irc_out *o)
{
	return o->body_start + BODY_ROOM - o->len;
}

/* Append n bytes of s (n <= body_room), replacing CR and LF (and a space
 * when space_too) by repl. */
static void body_put(struct irc_out *o, const char *s, size_t n, bool space_too, char repl)
{
	char *d = o->buf + o->len, *end = d + n;

	/* copy, then mend in place: every line rendered comes here, most of it trailing text */
	memmove(d, s, n);
	if (space_too) {
		for (char *p = d; p < end; p++)
			if (*p == '\r' || *p == '\n' || *p == ' ')
				*p = repl;
	} else {
		for (char *p = d; (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
			*p = repl;
		for (char *p = d; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
			*p = repl;
	}
	o->len += n;
	o->buf[o->len] = '\0';
}

/*
 * Append prefix (1 or 2 bytes: " ", " :", ":") and s, cut at a UTF-8
 * boundary to fit. Returns false (writing nothing) when not even the
 * prefix and one byte fit, unless s is empty and allow_empty.
 */
static bool body_item(struct irc_out *o, const char *prefix, const char *s, bool space_too,
                      char repl, bool allow_empty)
{
	size_t plen = strlen(prefix), room = body_room(o), n = strlen(s);

	if (room < plen + (allow_empty ? 0 : 1)) {
		o->damaged = true;
		return false;
	}
	if (n > room - plen) {
		n = utf8_trunc(s, room - plen);
		o->damaged = true;
		if (n == 0 && !allow_empty)
			return false;
	}
	body_put(o, prefix, plen, false, ' ');
	body_put(o, s, n, space_too, repl);
	return true;
}

void irc_out_source(struct irc_out *o, const char *source)
{
	body_open(o);
	assert(o->len == o->body_start && "source must come first");
	body_item(o, ":", source, true, '_', false);
}

void irc_out_cmd(struct irc_out *o, const char *cmd)
{
	body_open(o);
	body_item(o, o->len > o->body_start ? " " : "", cmd, true, '_', false);
}

/* Whether another parameter may follow; marks the line damaged if not. */
static bool param_allowed(struct irc_out *o)
{
	assert(o->in_body && "parameters come after the command");
	if (o->has_trailing || o->n_params >= IRC_MAX_PARAMS || !o->in_body) {
		o->damaged = true;
		return false;
	}
	return true;
}

void irc_out_param(struct irc_out *o, const char *p)
{
	if (*p == '\0' || *p == ':' || strpbrk(p, " \r\n")) {
		irc_out_trailing(o, p); /* stays a single, safe parameter */
		return;
	}
	if (param_allowed(o) && body_item(o, " ", p, true, '_', false))
		o->n_params++;
}

void irc_out_trailing(struct irc_out *o, const char *p)
{
	if (!param_allowed(o))
		return;
	if (body_item(o, " :", p, false, ' ', true)) {
		o->n_params++;
		o->has_trailing = true;
	}
}

void irc_out_paramf(struct irc_out *o, const char *fmt, ...)
{
	char tmp[IRC_BODY_MAX]; /* longer than any body: cut later if needed */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	irc_out_param(o, tmp);
}

void irc_out_trailingf(struct irc_out *o, const char *fmt, ...)
{
	char tmp[IRC_BODY_MAX]; /* longer than any body: cut later if needed */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	irc_out_trailing(o, tmp);
}

int irc_out_end(struct irc_out *o)
{
	assert(o->in_body && "a line needs a command");
	body_open(o);
	if (!o->ended) {
		o->buf[o->len++] = '\r';
		o->buf[o->len++] = '\n';
		o->buf[o->len] = '\0';
		o->ended = true;
	}
	return o->damaged ? -1 : 0;
}

const char *irc_out_str(const struct irc_out *o)
{
	return o->buf;
}

size_t irc_out_len(const struct irc_out *o)
{
	return o->len;
}

const char *irc_out_body(const struct irc_out *o)
{
	return o->buf + o->body_start;
}

size_t irc_out_body_len(const struct irc_out *o)
{
	return o->len - o->body_start;
}
