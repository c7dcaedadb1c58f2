/*
 * user.c — MODE (channel modes and user modes), AWAY, SETNAME.
 *
 * Channel modes reflect the room model: a query shows its settings, a
 * manager's change is stored as a role or setting change (chat layer) and
 * shown to the room through the change feed. User modes: +i (always on:
 * users are found through rooms, not by scanning) and +B (IRCv3 bot-mode).
 */
#include "common/str.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <string.h>

static void umode_reply(struct client *cl)
{
	client_num(cl, RPL_UMODEIS, cl->session->user->bot ? "+Bi" : "+i");
}

static void user_mode(struct client *cl, struct irc_msg *m)
{
	struct chat_user *u = cl->session->user;
	bool plus = true, changed = false, was = u->bot;
	struct irc_out o;

	if (!str_ieq(m->params[0], u->name)) {
		client_num(cl, ERR_USERSDONTMATCH);
		return;
	}
	if (m->n_params < 2) {
		umode_reply(cl);
		return;
	}
	for (const char *p = m->params[1]; *p; p++) {
		if (*p == '+' || *p == '-')
			plus = *p == '+';
		else if (*p == 'B')
			u->bot = plus;
		else if (*p != 'i')
			client_num(cl, ERR_UMODEUNKNOWNFLAG);
	}
	changed = was != u->bot;
	if (!changed)
		return;
	for (size_t k = 0; k < u->sessions.n; k++) {
		struct client *t = session_client(u->sessions.v[k]);
		char src[200];

		irc_out_init(&o);
		client_base_tags(t, &o, 0);
		user_source(u, src, sizeof(src));
		irc_out_source(&o, src);
		irc_out_cmd(&o, "MODE");
		irc_out_param(&o, u->name);
		irc_out_param(&o, u->bot ? "+B" : "-B");
		irc_out_end(&o);
		client_send_out(t, &o);
	}
}

/* A MODE change's outcome: errors only (the change itself is shown by the feed). */
static void mode_done(int rc, const char *msg, void *arg)
{
	struct irc_async *a = arg;
	struct client *cl = irc_async_resume(a);

	if (cl && rc)
		client_fail(cl, "MODE", "CANNOT_CHANGE", NULL, msg ? msg : "refused");
	irc_async_end(a, cl);
}

/*
 * A manager's MODE maps onto the room model (SPEC §3): o = managers,
 * v = presenters, m = auditorium, s = secret, i = members only (closed).
 * The change is stored; the change feed shows it to the room.
 */
static void chan_mode_change(struct client *cl, struct chat_room *r, struct irc_msg *m)
{
	struct chat *ch = cl->irc->chat;
	struct chat_user *u = cl->session->user;
	int arg = 2;
	bool plus = true;

	for (const char *p = m->params[1]; *p; p++) {
		char spec[CHAT_NAME_MAX + 2];

		if (*p == '+' || *p == '-') {
			plus = *p == '+';
			continue;
		}
		switch (*p) {
		case 'o':
		case 'v':
			if (arg >= m->n_params) {
				client_num(cl, ERR_NEEDMOREPARAMS, "MODE");
				return;
			}
			snprintf(spec, sizeof(spec), "%c%s", plus ? '+' : '-', m->params[arg++]);
			chat_room_manage(ch, u, r,
			                 *p == 'o' ? CHAT_EDIT_MANAGERS : CHAT_EDIT_PRESENTERS,
			                 spec, mode_done, irc_async_begin(cl));
			break;
		case 'm':
			chat_room_manage(ch, u, r, CHAT_SET_TYPE, plus ? "auditorium" : "normal",
			                 mode_done, irc_async_begin(cl));
			break;
		case 's':
			chat_room_manage(ch, u, r, CHAT_SET_PRIVACY, plus ? "secret" : "closed",
			                 mode_done, irc_async_begin(cl));
			break;
		case 'i':
			chat_room_manage(ch, u, r, CHAT_SET_PRIVACY, plus ? "closed" : "open",
			                 mode_done, irc_async_begin(cl));
			break;
		case 'n':
		case 't':
			break; /* always on */
		default: {
			char c[2] = {*p, '\0'};

			client_num(cl, ERR_UNKNOWNMODE, c);
		}
		}
	}
}

static void chan_mode(struct client *cl, struct irc_msg *m)
{
	struct chat_room *r = chat_room_find(cl->irc->chat, m->params[0] + 1);
	char modes[8];

	if (!r || !client_can_find(cl, r)) {
		client_num(cl, ERR_NOSUCHCHANNEL, m->params[0]);
		return;
	}
	if (m->n_params < 2) {
		room_modes(r, modes);
		client_num(cl, RPL_CHANNELMODEIS, CHAN(r), modes);
		client_num(cl, RPL_CREATIONTIME, CHAN(r), (int64_t)(r->created_ms / 1000));
		return;
	}
	/* List queries (bans, exceptions, invitations) are empty lists. */
	if (strcmp(m->params[1], "b") == 0 || strcmp(m->params[1], "+b") == 0) {
		client_num(cl, RPL_ENDOFBANLIST, CHAN(r));
		return;
	}
	if (!chat_can_manage(cl->irc->chat, cl->session->user, r)) {
		client_num(cl, ERR_CHANOPRIVSNEEDED, CHAN(r));
		return;
	}
	chan_mode_change(cl, r, m);
}

bool cmd_mode(struct client *cl, struct irc_msg *m)
{
	if (m->params[0][0] == '#')
		chan_mode(cl, m);
	else
		user_mode(cl, m);
	return true;
}

bool cmd_away(struct client *cl, struct irc_msg *m)
{
	const char *msg = m->n_params ? m->params[0] : "";

	chat_set_away(cl->irc->chat, cl->session->user, msg);
	if (*msg)
		client_num(cl, RPL_NOWAWAY);
	else
		client_num(cl, RPL_UNAWAY);
	return true;
}

bool cmd_setname(struct client *cl, struct irc_msg *m)
{
	const char *name = m->params[0];

	if (strlen(name) >= CHAT_REAL_MAX) {
		client_fail(cl, "SETNAME", "INVALID_REALNAME", NULL, "Real name is too long");
		return true;
	}
	chat_set_realname(cl->irc->chat, cl->session->user, name);
	return true;
}
