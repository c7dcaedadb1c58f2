/*
 * message.c — PRIVMSG, NOTICE (RFC 2812 §3.3) and TAGMSG (IRCv3
 * message-tags) to a room or to a user.
 *
 * The message is handed to the chat layer, which stores it; the sender's
 * echo (echo-message) and everyone else's copy go out only once the commit
 * is durable. NOTICE never gets an error reply (RFC 2812 §3.3.2).
 */
#include "common/str.h"
#include "common/xmalloc.h"
#include "irc/irc_int.h"

#include <stdlib.h>
#include <string.h>

/* Client-only tags ("+..."), re-escaped for relaying, in out (size n). */
static void client_tags(const struct client *cl, const struct irc_msg *m, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	if (!client_has(cl, CAP_MESSAGE_TAGS))
		return;
	for (int i = 0; i < m->n_tags; i++) {
		char val[IRC_CLIENT_TAGS_MAX + 1];

		if (m->tags[i].key[0] != '+')
			continue;
		irc_tag_escape(m->tags[i].value, val, sizeof(val));
		if (val[0])
			str_appendf(out, n, &len, "%s%s=%s", len ? ";" : "", m->tags[i].key, val);
		else
			str_appendf(out, n, &len, "%s%s", len ? ";" : "", m->tags[i].key);
	}
}

struct echo {
	struct irc_async *a;            /* the sender's pending answer */
	char target[CHAT_NAME_MAX + 1]; /* as the sender wrote it */
	bool notice;                    /* NOTICE: no error replies */
	const char *cmd;                /* the command, for FAIL */
};

static void posted(int rc, const struct chat_msg *msg, void *arg)
{
	struct echo *e = arg;
	struct client *cl = irc_async_resume(e->a);

	if (!cl)
		goto out_free;
	if (rc == 0 && client_has(cl, CAP_ECHO_MESSAGE) &&
	    (msg->kind != CHAT_TAGMSG || client_has(cl, CAP_MESSAGE_TAGS))) {
		struct irc_out o;

		render_msg(&o, client_variant(cl), msg, e->target, NULL);
		client_send_out(cl, &o);
	} else if (rc == CHAT_ESTORE) {
		client_fail(
		    cl, e->cmd, "MESSAGE_NOT_STORED", e->target,
		    "Your message could not be stored and was not delivered; send it again");
	} else if ((rc == CHAT_ENOTIN || rc == CHAT_EDENIED) && !e->notice) {
		client_num(cl, ERR_CANNOTSENDTOCHAN, e->target);
	}
out_free:
	irc_async_end(e->a, cl);
	free(e);
}

static bool message(struct client *cl, struct irc_msg *m, enum chat_msg_kind kind)
{
	struct chat *ch = cl->irc->chat;
	bool notice = kind == CHAT_NOTICE;
	const char *target = m->n_params > 0 ? m->params[0] : "";
	const char *text = kind == CHAT_TAGMSG ? "" : m->n_params > 1 ? m->params[1] : "";
	char tags[IRC_CLIENT_TAGS_MAX + 1];
	struct echo *e;

	if (!*target) {
		if (!notice)
			client_num(cl, ERR_NORECIPIENT, m->command);
		return true;
	}
	if (kind != CHAT_TAGMSG && !*text) {
		if (!notice)
			client_num(cl, ERR_NOTEXTTOSEND);
		return true;
	}
	client_tags(cl, m, tags, sizeof(tags));
	e = xcalloc(1, sizeof(*e));
	str_copy(e->target, target, sizeof(e->target));
	e->notice = notice;
	e->cmd = kind == CHAT_PRIVMSG ? "PRIVMSG" : notice ? "NOTICE" : "TAGMSG";
	if (str_ieq(target, "pchat")) {
		/* The service: no storage, no echo; NOTICEs to it are ignored (RFC 2812). */
		free(e);
		if (kind == CHAT_PRIVMSG)
			service_message(cl, text);
		return true;
	}
	if (target[0] == '#') {
		struct chat_room *r = chat_room_find(ch, target + 1);

		if (!r) {
			if (!notice)
				client_num(cl, ERR_NOSUCHCHANNEL, target);
			free(e);
			return true;
		}
		e->a = irc_async_begin(cl);
		chat_post_room(ch, cl->session, r, kind, text, tags, posted, e);
	} else {
		struct chat_user *to = chat_user_find(ch, target);

		if (!to) {
			if (!notice)
				client_num(cl, ERR_NOSUCHNICK, target);
			free(e);
			return true;
		}
		if (to->away[0] && kind == CHAT_PRIVMSG)
			client_num(cl, RPL_AWAY, to->name, to->away);
		e->a = irc_async_begin(cl);
		chat_post_user(ch, cl->session, to, kind, text, tags, posted, e);
	}
	return true;
}

bool cmd_privmsg(struct client *cl, struct irc_msg *m)
{
	return message(cl, m, CHAT_PRIVMSG);
}

bool cmd_notice(struct client *cl, struct irc_msg *m)
{
	return message(cl, m, CHAT_NOTICE);
}

bool cmd_tagmsg(struct client *cl, struct irc_msg *m)
{
	return message(cl, m, CHAT_TAGMSG);
}

/* --- REDACT (draft/message-redaction) --------------------------------------------- */

static void redacted(int rc, const char *msg, void *arg)
{
	struct irc_async *a = arg;
	struct client *cl = irc_async_resume(a);

	if (cl && rc == CHAT_ENOROOM)
		client_fail(cl, "REDACT", "UNKNOWN_MSGID", NULL, msg ? msg : "no such message");
	else if (cl && rc)
		client_fail(cl, "REDACT", "TEMPORARILY_UNAVAILABLE", NULL,
		            "The message could not be removed; try again");
	irc_async_end(a, cl);
}

/*
 * Only administrators remove messages (SPEC §3: end users cannot delete
 * them). The removal reaches the room's clients through the change feed.
 */
bool cmd_redact(struct client *cl, struct irc_msg *m)
{
	if (!cl->session->user->admin) {
		struct irc_out o;

		client_start_server_line(cl, &o, "FAIL");
		irc_out_param(&o, "REDACT");
		irc_out_param(&o, "REDACT_FORBIDDEN");
		irc_out_param(&o, m->params[0]);
		irc_out_param(&o, m->params[1]);
		irc_out_trailing(&o, "Messages are removed only by administrators");
		irc_out_end(&o);
		client_send_out(cl, &o);
		return true;
	}
	chat_redact(cl->irc->chat, cl->session->user, m->params[1], redacted, irc_async_begin(cl));
	return true;
}
