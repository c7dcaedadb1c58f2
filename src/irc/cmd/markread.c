/*
 * markread.c — MARKREAD (IRCv3 draft/read-marker): where an account has
 * read a conversation up to, the same on every device. Setting moves the
 * marker forward only and tells every connection of the account that has
 * the capability; a room's marker is also sent after JOIN.
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "irc/irc_int.h"

#include <stdlib.h>
#include <string.h>

struct mark_op {
	struct irc *irc;                /* server */
	void *arg;                      /* CLIENT_ARG of the asker */
	char target[CHAT_NAME_MAX + 1]; /* as written */
	bool set;                       /* a change: tell every device */
};

static void markread_line(struct client *cl, const char *target, int64_t ts)
{
	struct irc_out o;

	client_start_server_line(cl, &o, "MARKREAD");
	irc_out_param(&o, target);
	if (ts > 0) {
		char iso[TIME_ISO_LEN];

		time_fmt_iso(ts, iso, sizeof(iso));
		irc_out_paramf(&o, "timestamp=%s", iso);
	} else {
		irc_out_param(&o, "*");
	}
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static void marked(int rc, int64_t ts, void *arg)
{
	struct mark_op *op = arg;
	struct client *cl = client_from_arg(op->irc, op->arg);

	if (!cl || !cl->session)
		goto out;
	if (rc) {
		client_fail(cl, "MARKREAD", "TEMPORARILY_UNAVAILABLE", op->target,
		            "The read marker cannot be stored now");
		goto out;
	}
	if (!op->set) {
		markread_line(cl, op->target, ts);
		goto out;
	}
	for (size_t k = 0; k < cl->session->user->sessions.n; k++) {
		struct client *t = session_client(cl->session->user->sessions.v[k]);

		if (client_has(t, CAP_READ_MARKER) || t == cl)
			markread_line(t, op->target, ts);
	}
out:
	free(op);
}

static struct mark_op *mark_op(struct client *cl, const char *target, bool set)
{
	struct mark_op *op = xcalloc(1, sizeof(*op));

	op->irc = cl->irc;
	op->arg = CLIENT_ARG(cl);
	str_copy(op->target, target, sizeof(op->target));
	op->set = set;
	return op;
}

void markread_after_join(struct client *cl, struct chat_room *r)
{
	if (client_has(cl, CAP_READ_MARKER) && cl->session && cl->session->user->account)
		chat_marker_get(cl->irc->chat, cl->session->user, CHAN(r), marked,
		                mark_op(cl, CHAN(r), false));
}

bool cmd_markread(struct client *cl, struct irc_msg *m)
{
	const char *target = m->params[0];
	int64_t ts = 0;

	if (!cl->session->user->account) {
		client_fail(cl, "MARKREAD", "ACCOUNT_REQUIRED", target,
		            "Guests have no read markers");
		return true;
	}
	if (target[0] == '#') {
		struct chat_room *r = chat_room_find(cl->irc->chat, target + 1);

		if (!r || !chat_may_read(cl->irc->chat, cl->session->user, r)) {
			client_fail(cl, "MARKREAD", "INVALID_TARGET", target,
			            "No such conversation");
			return true;
		}
	} else if (strlen(target) >= CHAT_NAME_MAX) {
		client_fail(cl, "MARKREAD", "INVALID_TARGET", target, "No such conversation");
		return true;
	}
	if (m->n_params > 1 && (strncmp(m->params[1], "timestamp=", 10) != 0 ||
	                        time_parse_iso(m->params[1] + 10, &ts) != 0 || ts <= 0)) {
		client_fail(cl, "MARKREAD", "INVALID_PARAMS", m->params[1],
		            "Expected timestamp=YYYY-MM-DDThh:mm:ss.sssZ");
		return true;
	}
	if (ts)
		chat_marker_set(cl->irc->chat, cl->session->user, target, ts, marked,
		                mark_op(cl, target, true));
	else
		chat_marker_get(cl->irc->chat, cl->session->user, target, marked,
		                mark_op(cl, target, false));
	return true;
}
