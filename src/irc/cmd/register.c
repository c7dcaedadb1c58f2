/*
 * register.c — NICK, USER, PASS (RFC 2812 §3.1), PING, PONG and QUIT.
 *
 * The nick is the account name: a client logged in with SASL gets its
 * account's name whatever NICK said, and cannot change it afterwards.
 * Guests (when allowed) choose a nick that is not an account's name.
 */
#include "chat/names.h"
#include "common/str.h"
#include "core/net.h"
#include "irc/irc_int.h"

#include <stdio.h>

bool cmd_nick(struct client *cl, struct irc_msg *m)
{
	const char *nick = m->params[0];

	if (!names_account_valid(nick)) {
		client_num(cl, ERR_ERRONEUSNICKNAME, nick);
		return true;
	}
	if (cl->state == CLIENT_REG) {
		if (strcmp(nick, cl->nick) != 0)
			client_fail(cl, "NICK", "CANNOT_CHANGE_NICK", nick,
			            "Your nick is your account name and cannot be changed");
		return true;
	}
	str_copy(cl->nick, nick, sizeof(cl->nick));
	client_try_register(cl);
	return true;
}

bool cmd_user(struct client *cl, struct irc_msg *m)
{
	char ident[16];
	size_t j = 0;

	/* Keep only characters that are safe in a source prefix. */
	for (const char *p = m->params[0]; *p && j < sizeof(ident) - 1; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			ident[j++] = *p;
	ident[j] = '\0';
	if (cl->has_user) {
		client_num(cl, ERR_ALREADYREGISTERED);
		return true;
	}
	str_copy(cl->ident, ident[0] ? ident : "user", sizeof(cl->ident));
	str_copy(cl->realname, m->params[3], sizeof(cl->realname));
	cl->has_user = true;
	client_try_register(cl);
	return true;
}

bool cmd_pass(struct client *cl, struct irc_msg *m)
{
	(void)m;
	/* Server passwords are not used: accounts log in with SASL. */
	client_fail(cl, "PASS", "NOT_SUPPORTED", NULL,
	            "PASS is not used here; log in with SASL (PLAIN or SCRAM-SHA-256)");
	return true;
}

bool cmd_ping(struct client *cl, struct irc_msg *m)
{
	struct irc_out o;

	client_start_server_line(cl, &o, "PONG");
	irc_out_param(&o, cl->irc->cfg.server_name);
	irc_out_trailing(&o, m->params[0]);
	irc_out_end(&o);
	client_send_out(cl, &o);
	return true;
}

bool cmd_pong(struct client *cl, struct irc_msg *m)
{
	(void)cl;
	(void)m;
	return true; /* any input already counts as activity for the ping timer */
}

bool cmd_quit(struct client *cl, struct irc_msg *m)
{
	char reason[400];

	snprintf(reason, sizeof(reason), "Quit: %s", m->n_params ? m->params[0] : "");
	client_exit(cl, reason);
	return false;
}
