/*
 * query.c — WHO (with WHOX, modern IRC), WHOIS, USERHOST, ISON: what a
 * client may learn about users (RFC 2812 §3.6, §4.8, §4.9).
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "core/net.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <string.h>

/* H/G, '*' for administrators, 'B' for bots. */
static void who_flags(const struct chat_user *u, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	str_appendf(out, n, &len, "%c", u->away[0] ? 'G' : 'H');
	if (u->admin)
		str_appendf(out, n, &len, "*");
	if (u->bot)
		str_appendf(out, n, &len, "B");
}

struct whox {
	char fields[16]; /* requested WHOX fields, "" = plain WHO */
	char token[8];   /* the 't' token */
};

static void who_reply(struct client *cl, const struct chat_user *u, const char *chan,
                      const struct whox *x)
{
	const char *server = cl->irc->cfg.server_name;
	char flags[8], out[400];
	size_t len = 0;

	who_flags(u, flags, sizeof(flags));
	if (!x->fields[0]) {
		client_num(cl, RPL_WHOREPLY, chan, u->ident, u->host, server, u->name, flags, 0,
		           u->realname);
		return;
	}
	out[0] = '\0';
	/* WHOX: fields in the fixed order t c u i h s n f d l a o r. */
	for (const char *f = "tcuihsnfdlaor"; *f; f++) {
		if (!strchr(x->fields, *f))
			continue;
		switch (*f) {
		case 't':
			str_appendf(out, sizeof(out), &len, " %s", x->token);
			break;
		case 'c':
			str_appendf(out, sizeof(out), &len, " %s", chan);
			break;
		case 'u':
			str_appendf(out, sizeof(out), &len, " %s", u->ident);
			break;
		case 'i':
			str_appendf(out, sizeof(out), &len, " 255.255.255.255");
			break;
		case 'h':
			str_appendf(out, sizeof(out), &len, " %s", u->host);
			break;
		case 's':
			str_appendf(out, sizeof(out), &len, " %s", server);
			break;
		case 'n':
			str_appendf(out, sizeof(out), &len, " %s", u->name);
			break;
		case 'f':
			str_appendf(out, sizeof(out), &len, " %s", flags);
			break;
		case 'd':
			str_appendf(out, sizeof(out), &len, " 0");
			break;
		case 'l':
			str_appendf(out, sizeof(out), &len, " %lld",
			            (long long)((time_now_ms() - u->last_active_ms) / 1000));
			break;
		case 'a':
			str_appendf(out, sizeof(out), &len, " %s", u->account ? u->name : "0");
			break;
		case 'o':
			str_appendf(out, sizeof(out), &len, " n/a");
			break;
		case 'r':
			str_appendf(out, sizeof(out), &len, " :%s", u->realname);
			break;
		}
	}
	client_num(cl, RPL_WHOSPCRPL, out[0] ? out + 1 : "");
}

bool cmd_who(struct client *cl, struct irc_msg *m)
{
	struct chat *ch = cl->irc->chat;
	const char *mask = m->n_params ? m->params[0] : "*";
	struct whox x;

	memset(&x, 0, sizeof(x));
	if (m->n_params > 1 && m->params[1][0] == '%') {
		const char *comma = strchr(m->params[1], ',');

		snprintf(x.fields, sizeof(x.fields), "%.*s",
		         (int)(comma ? comma - m->params[1] - 1 : (long)strlen(m->params[1]) - 1),
		         m->params[1] + 1);
		if (comma)
			snprintf(x.token, sizeof(x.token), "%.3s", comma + 1);
		else
			str_copy(x.token, "0", sizeof(x.token));
		if (!x.fields[0])
			str_copy(x.fields, "n", sizeof(x.fields));
	}
	if (mask[0] == '#') {
		struct chat_room *r = chat_room_find(ch, mask + 1);

		if (r && client_can_find(cl, r))
			for (size_t i = 0; i < r->members.n; i++)
				who_reply(cl, r->members.v[i], CHAN(r), &x);
	} else {
		struct chat_user *u = chat_user_find(ch, mask);

		if (u)
			who_reply(cl, u, u->rooms.n ? CHAN((struct chat_room *)u->rooms.v[0]) : "*",
			          &x);
	}
	client_num(cl, RPL_ENDOFWHO, mask);
	return true;
}

static void whois_rooms(struct client *cl, const struct chat_user *u)
{
	char line[400];
	size_t len = 0;

	line[0] = '\0';
	for (size_t i = 0; i < u->rooms.n; i++) {
		const struct chat_room *r = u->rooms.v[i];
		char prefix[3];

		if (!client_can_find(cl, r))
			continue; /* a secret room never shows */
		room_prefix(cl, r, u, prefix);
		if (len + strlen(r->name) + 4 > 300) {
			client_num(cl, RPL_WHOISCHANNELS, u->name, line);
			len = 0;
			line[0] = '\0';
		}
		str_appendf(line, sizeof(line), &len, "%s%s#%s", len ? " " : "", prefix, r->name);
	}
	if (len)
		client_num(cl, RPL_WHOISCHANNELS, u->name, line);
}

bool cmd_whois(struct client *cl, struct irc_msg *m)
{
	/* WHOIS [server] nick: the nick is the last parameter. */
	const char *nick = m->params[m->n_params - 1];
	struct chat_user *u = chat_user_find(cl->irc->chat, nick);
	bool secure = false;

	if (!u) {
		client_num(cl, ERR_NOSUCHNICK, nick);
		client_num(cl, RPL_ENDOFWHOIS, nick);
		return true;
	}
	client_num(cl, RPL_WHOISUSER, u->name, u->ident, u->host, u->realname);
	whois_rooms(cl, u);
	client_num(cl, RPL_WHOISSERVER, u->name, cl->irc->cfg.server_name, "pchat");
	if (u->away[0])
		client_num(cl, RPL_AWAY, u->name, u->away);
	if (u->admin)
		client_num(cl, RPL_WHOISOPERATOR, u->name);
	if (u->bot)
		client_num(cl, RPL_WHOISBOT, u->name);
	for (size_t k = 0; k < u->sessions.n; k++) {
		struct client *o = session_client(u->sessions.v[k]);

		secure = secure || (o->conn && conn_is_tls(o->conn));
	}
	if (secure)
		client_num(cl, RPL_WHOISSECURE, u->name);
	if (u->account)
		client_num(cl, RPL_WHOISACCOUNT, u->name, u->name);
	client_num(cl, RPL_WHOISIDLE, u->name,
	           (int64_t)((time_now_ms() - u->last_active_ms) / 1000),
	           (int64_t)(u->signon_ms / 1000));
	client_num(cl, RPL_ENDOFWHOIS, u->name);
	return true;
}

bool cmd_userhost(struct client *cl, struct irc_msg *m)
{
	char line[400];
	size_t len = 0;

	line[0] = '\0';
	for (int i = 0; i < m->n_params; i++) {
		struct chat_user *u = chat_user_find(cl->irc->chat, m->params[i]);

		if (u)
			str_appendf(line, sizeof(line), &len, "%s%s%s=%c%s@%s", len ? " " : "",
			            u->name, u->admin ? "*" : "", u->away[0] ? '-' : '+', u->ident,
			            u->host);
	}
	client_num(cl, RPL_USERHOST, line);
	return true;
}

bool cmd_ison(struct client *cl, struct irc_msg *m)
{
	char line[400];
	size_t len = 0;

	line[0] = '\0';
	for (int i = 0; i < m->n_params; i++) {
		char *save = NULL;

		for (char *t = strtok_r(m->params[i], " ", &save); t;
		     t = strtok_r(NULL, " ", &save)) {
			struct chat_user *u = chat_user_find(cl->irc->chat, t);

			if (u)
				str_appendf(line, sizeof(line), &len, "%s%s", len ? " " : "",
				            u->name);
		}
	}
	client_num(cl, RPL_ISON, line);
	return true;
}
