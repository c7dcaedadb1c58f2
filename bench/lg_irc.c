/*
 * lg_irc.c — minimal IRC line parsing and benchmark bodies (see lg_irc.h).
 *
 * Speed matters more than completeness here: the load generator shares the
 * CPU with the server it measures. Nothing here allocates.
 */
#include "lg_irc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The next space in [p, end), or end (memchr: the tags of a line are ~100 bytes). */
static char *skip_word(char *p, char *end)
{
	char *sp = p < end ? memchr(p, ' ', (size_t)(end - p)) : NULL;

	return sp ? sp : end;
}

static char *skip_spaces(char *p, char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static void parse_params(char *p, char *end, struct lg_irc_msg *m)
{
	char *w;

	m->n_params = 0;
	while (p < end && m->n_params < LG_IRC_MAX_PARAMS) {
		p = skip_spaces(p, end);
		if (p >= end)
			break;
		if (*p == ':' || m->n_params == LG_IRC_MAX_PARAMS - 1) {
			m->param[m->n_params++] = *p == ':' ? p + 1 : p;
			break; /* trailing runs to the end, already NUL-terminated */
		}
		w = skip_word(p, end);
		*w = '\0';
		m->param[m->n_params++] = p;
		p = w + 1;
	}
}

int lg_irc_parse(char *line, size_t len, struct lg_irc_msg *m)
{
	char *p = line, *end = line + len, *w;
	const char *bang, *at;
	size_t slen;

	line[len] = '\0';
	m->source = NULL;
	m->source_nick_len = 0;
	m->n_params = 0;
	if (p < end && *p == '@') /* IRCv3 message-tags: not needed, skip */
		p = skip_spaces(skip_word(p, end), end);
	if (p < end && *p == ':') {
		w = skip_word(p, end);
		*w = '\0';
		m->source = p + 1;
		slen = (size_t)(w - m->source);
		/* nick[!user]@host: the nick ends at the first '!' or '@' */
		at = memchr(m->source, '@', slen);
		bang = memchr(m->source, '!', at ? (size_t)(at - m->source) : slen);
		m->source_nick_len = bang ? (size_t)(bang - m->source)
		                     : at ? (size_t)(at - m->source)
		                          : slen;
		p = skip_spaces(w < end ? w + 1 : end, end);
	}
	if (p >= end)
		return -1;
	w = skip_word(p, end);
	*w = '\0';
	m->command = p;
	if (w < end)
		parse_params(w + 1, end, m);
	return 0;
}

size_t lg_irc_format_msg(char *buf, size_t cap, const char *target, int64_t t_ns, uint64_t seq,
                         size_t body_size)
{
	int head, body_head;
	size_t len;

	head = snprintf(buf, cap, "PRIVMSG %s :", target);
	if (head < 0 || (size_t)head >= cap)
		return 0;
	body_head = snprintf(buf + head, cap - (size_t)head, "t=%lld s=%llu ", (long long)t_ns,
	                     (unsigned long long)seq);
	if (body_head < 0 || (size_t)(head + body_head) >= cap)
		return 0;
	len = (size_t)(head + body_head);
	if (body_size > (size_t)body_head) {
		if (len + (body_size - (size_t)body_head) + 2 >= cap)
			return 0;
		memset(buf + len, 'x', body_size - (size_t)body_head);
		len += body_size - (size_t)body_head;
	}
	if (len + 3 > cap)
		return 0;
	buf[len++] = '\r';
	buf[len++] = '\n';
	buf[len] = '\0';
	return len;
}

static int parse_u64(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

int lg_irc_parse_body(const char *body, int64_t *t_ns, uint64_t *seq)
{
	const char *p = body;
	uint64_t t;

	if (p[0] != 't' || p[1] != '=')
		return -1;
	p += 2;
	if (parse_u64(&p, &t) < 0)
		return -1;
	if (p[0] != ' ' || p[1] != 's' || p[2] != '=')
		return -1;
	p += 3;
	if (parse_u64(&p, seq) < 0)
		return -1;
	*t_ns = (int64_t)t;
	return 0;
}

static unsigned char ascii_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + ('a' - 'A')) : ch;
}

/* strncasecmp without the call: this runs for every line received. */
bool lg_irc_from(const struct lg_irc_msg *m, const char *nick, size_t nick_len)
{
	if (!m->source || m->source_nick_len != nick_len)
		return false;
	for (size_t i = 0; i < nick_len; i++)
		if (ascii_lower((unsigned char)m->source[i]) != ascii_lower((unsigned char)nick[i]))
			return false;
	return true;
}

int lg_irc_nick_index(const char *nick, size_t len, const char *prefix, const char *suffix)
{
	size_t plen = strlen(prefix), slen = strlen(suffix), i;
	int64_t v = 0;

	if (len < plen + 1 + slen || strncasecmp(nick, prefix, plen) != 0 ||
	    strncasecmp(nick + len - slen, suffix, slen) != 0)
		return -1;
	nick += plen;
	len -= plen + slen;
	if (len > 9 || (nick[0] == '0' && len > 1))
		return -1; /* at most 999,999,999: no overflow; %d never pads */
	for (i = 0; i < len; i++) {
		if (nick[i] < '0' || nick[i] > '9')
			return -1;
		v = v * 10 + (nick[i] - '0');
	}
	return (int)v;
}
