/*
 * sink.c — the chat engine's events rendered as IRC lines and queued to
 * every client that should see them. A message is rendered once per
 * combination of the capabilities that change its bytes (server-time,
 * message-tags, account-tag), not once per recipient.
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <string.h>

#define VARIANTS 8 /* server-time x message-tags x account-tag */

static uint64_t mark_gen; /* fan-out generation for chat_user.mark */

static unsigned variant(const struct client *cl)
{
	return (client_has(cl, CAP_SERVER_TIME) ? 1u : 0u) |
	       (client_has(cl, CAP_MESSAGE_TAGS) ? 2u : 0u) |
	       (client_has(cl, CAP_ACCOUNT_TAG) ? 4u : 0u);
}

/* Start a line from user u with the tags variant v asks for. */
static void user_line_b(struct irc_out *o, unsigned v, const struct chat_user *u, const char *cmd,
                        int64_t ts_ms, const struct chat_msg *m, const char *batch)
{
	char src[200];

	irc_out_init(o);
	if (batch)
		irc_out_tag(o, "batch", batch);
	if (v & 1u) {
		char ts[32];

		time_fmt_iso(ts_ms ? ts_ms : time_now_ms(), ts, sizeof(ts));
		irc_out_tag(o, "time", ts);
	}
	if ((v & 4u) && u && u->account)
		irc_out_tag(o, "account", u->name);
	if ((v & 2u) && m) {
		if (m->msgid[0])
			irc_out_tag(o, "msgid", m->msgid);
		if (u && u->bot)
			irc_out_tag(o, "bot", NULL);
		if (m->client_tags)
			irc_out_tags_raw(o, m->client_tags);
	}
	if (u)
		user_source(u, src, sizeof(src));
	else
		str_copy(src, m ? m->from_name : "*", sizeof(src));
	irc_out_source(o, src);
	irc_out_cmd(o, cmd);
}

static void user_line(struct irc_out *o, unsigned v, const struct chat_user *u, const char *cmd,
                      int64_t ts_ms, const struct chat_msg *m)
{
	user_line_b(o, v, u, cmd, ts_ms, m, NULL);
}

static const char *const kind_cmd[] = {"PRIVMSG", "NOTICE", "TAGMSG", "JOIN",
                                       "PART",    "TOPIC",  "MODE"};

/* A history event (event-playback) as the line that reported it live. */
static void render_event(struct irc_out *o, unsigned v, const struct chat_msg *m,
                         const char *target, const char *batch)
{
	struct chat_msg who = *m;
	char rest[400], *save = NULL;

	who.client_tags = NULL;
	user_line_b(o, v & 3u, m->from, kind_cmd[m->kind], m->ts_ms, &who, batch);
	irc_out_param(o, target);
	if (m->kind == CHAT_EV_MODE) {
		str_copy(rest, m->text, sizeof(rest));
		for (char *t = strtok_r(rest, " ", &save); t; t = strtok_r(NULL, " ", &save))
			irc_out_param(o, t);
	} else if (m->kind != CHAT_EV_JOIN && (m->kind == CHAT_EV_TOPIC || m->text[0])) {
		irc_out_trailing(o, m->text);
	}
	irc_out_end(o);
}

void render_msg(struct irc_out *o, unsigned v, const struct chat_msg *m, const char *target,
                const char *batch)
{
	if (chat_kind_is_event(m->kind)) {
		render_event(o, v, m, target, batch);
		return;
	}
	user_line_b(o, v, m->from, kind_cmd[m->kind], m->ts_ms, m, batch);
	irc_out_param(o, target);
	if (m->kind != CHAT_TAGMSG)
		irc_out_trailing(o, m->text);
	irc_out_end(o);
}

unsigned client_variant(const struct client *cl)
{
	return variant(cl);
}

/* Per-fan-out cache of rendered lines. */
struct render_cache {
	struct irc_out out[VARIANTS]; /* rendered lines */
	bool done[VARIANTS];          /* which are filled */
};

static struct render_cache cache; /* loop thread only */

static void send_msg_to(struct client *cl, const struct chat_msg *m, const char *target)
{
	unsigned v = variant(cl);

	if (m->kind == CHAT_TAGMSG && !client_has(cl, CAP_MESSAGE_TAGS))
		return;
	if (!cache.done[v]) {
		render_msg(&cache.out[v], v, m, target, NULL);
		cache.done[v] = true;
	}
	client_send_out(cl, &cache.out[v]);
}

static void room_message(void *ctx, const struct chat_msg *m, struct chat_session *from)
{
	char target[CHAT_NAME_MAX + 1];

	(void)ctx;
	memset(cache.done, 0, sizeof(cache.done));
	snprintf(target, sizeof(target), "#%s", m->room->name);
	for (size_t i = 0; i < m->room->members.n; i++) {
		struct chat_user *u = m->room->members.v[i];

		for (size_t k = 0; k < u->sessions.n; k++)
			if (u->sessions.v[k] != from)
				send_msg_to(session_client(u->sessions.v[k]), m, target);
	}
}

static void private_message(void *ctx, const struct chat_msg *m, struct chat_session *from)
{
	(void)ctx;
	memset(cache.done, 0, sizeof(cache.done));
	if (m->to) {
		for (size_t k = 0; k < m->to->sessions.n; k++)
			if (m->to->sessions.v[k] != from)
				send_msg_to(session_client(m->to->sessions.v[k]), m, m->to->name);
	}
	/* The sender's other devices see what it sent. */
	if (m->from && m->from != m->to) {
		memset(cache.done, 0, sizeof(cache.done));
		for (size_t k = 0; k < m->from->sessions.n; k++)
			if (m->from->sessions.v[k] != from)
				send_msg_to(session_client(m->from->sessions.v[k]), m,
				            m->to ? m->to->name : "*");
	}
}

/* Call fn for every client of every user sharing a room with who (who included). */
static void each_neighbour_of(struct chat_user *who, bool include_self, bool skip_quiet,
                              void (*fn)(struct client *cl, struct chat_user *who, void *arg),
                              void *arg)
{
	uint64_t gen = ++mark_gen;

	who->mark = include_self ? 0 : gen;
	for (size_t r = 0; r < who->rooms.n; r++) {
		struct chat_room *room = who->rooms.v[r];

		if (skip_quiet && room->quiet)
			continue;

		for (size_t i = 0; i < room->members.n; i++) {
			struct chat_user *u = room->members.v[i];

			if (u->mark == gen)
				continue;
			u->mark = gen;
			for (size_t k = 0; k < u->sessions.n; k++)
				fn(session_client(u->sessions.v[k]), who, arg);
		}
	}
	if (include_self && who->mark != gen) {
		who->mark = gen;
		for (size_t k = 0; k < who->sessions.n; k++)
			fn(session_client(who->sessions.v[k]), who, arg);
	}
}

static void each_neighbour(struct chat_user *who, bool include_self,
                           void (*fn)(struct client *cl, struct chat_user *who, void *arg),
                           void *arg)
{
	each_neighbour_of(who, include_self, false, fn, arg);
}

static void join_line(struct client *cl, struct chat_room *r, struct chat_user *who)
{
	struct irc_out o;
	char target[CHAT_NAME_MAX + 1];

	snprintf(target, sizeof(target), "#%s", r->name);
	user_line(&o, variant(cl) & 5u, who, "JOIN", 0, NULL);
	irc_out_param(&o, target);
	if (client_has(cl, CAP_EXTENDED_JOIN)) {
		irc_out_param(&o, who->account ? who->name : "*");
		irc_out_trailing(&o, who->realname);
	}
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static void away_to(struct client *cl, struct chat_user *who, void *arg);

static void join(void *ctx, struct chat_room *r, struct chat_user *who)
{
	(void)ctx;
	for (size_t i = 0; i < r->members.n; i++) {
		struct chat_user *u = r->members.v[i];

		for (size_t k = 0; k < u->sessions.n; k++) {
			struct client *cl = session_client(u->sessions.v[k]);

			if (u == who) {
				join_burst(cl, r);
				continue;
			}
			if (r->quiet)
				continue; /* a large room: joins are not broadcast */
			join_line(cl, r, who);
			/* away-notify: a user who joins while away is announced as such. */
			if (who->away[0])
				away_to(cl, who, NULL);
		}
	}
}

static void part(void *ctx, struct chat_room *r, struct chat_user *who, const char *reason)
{
	char target[CHAT_NAME_MAX + 1];

	(void)ctx;
	snprintf(target, sizeof(target), "#%s", r->name);
	for (size_t i = 0; i < r->members.n; i++) {
		struct chat_user *u = r->members.v[i];

		if (r->quiet && u != who)
			continue; /* a large room: parts are not broadcast */
		for (size_t k = 0; k < u->sessions.n; k++) {
			struct client *cl = session_client(u->sessions.v[k]);
			struct irc_out o;

			user_line(&o, variant(cl) & 5u, who, "PART", 0, NULL);
			irc_out_param(&o, target);
			if (reason && *reason)
				irc_out_trailing(&o, reason);
			irc_out_end(&o);
			client_send_out(cl, &o);
		}
	}
}

static void quit_to(struct client *cl, struct chat_user *who, void *arg)
{
	struct irc_out o;

	user_line(&o, variant(cl) & 5u, who, "QUIT", 0, NULL);
	irc_out_trailing(&o, arg);
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static void quit(void *ctx, struct chat_user *who, const char *reason)
{
	(void)ctx;
	each_neighbour_of(who, false, true, quit_to, (void *)reason);
}

static void away_to(struct client *cl, struct chat_user *who, void *arg)
{
	struct irc_out o;

	(void)arg;
	if (!client_has(cl, CAP_AWAY_NOTIFY) || (cl->session && cl->session->user == who))
		return;
	user_line(&o, variant(cl) & 5u, who, "AWAY", 0, NULL);
	if (who->away[0])
		irc_out_trailing(&o, who->away);
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static void away(void *ctx, struct chat_user *who)
{
	(void)ctx;
	each_neighbour(who, false, away_to, NULL);
}

static void setname_to(struct client *cl, struct chat_user *who, void *arg)
{
	struct irc_out o;

	(void)arg;
	if (!client_has(cl, CAP_SETNAME))
		return;
	user_line(&o, variant(cl) & 5u, who, "SETNAME", 0, NULL);
	irc_out_trailing(&o, who->realname);
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static void setname(void *ctx, struct chat_user *who)
{
	(void)ctx;
	each_neighbour(who, true, setname_to, NULL);
}

static void topic(void *ctx, struct chat_room *r)
{
	struct chat *ch = ((struct irc *)ctx)->chat;
	struct chat_user *by = chat_user_find(ch, r->topic_by);
	char target[CHAT_NAME_MAX + 1];
	struct chat_msg fake;

	memset(&fake, 0, sizeof(fake));
	str_copy(fake.from_name, r->topic_by[0] ? r->topic_by : "*", sizeof(fake.from_name));
	snprintf(target, sizeof(target), "#%s", r->name);
	for (size_t i = 0; i < r->members.n; i++) {
		struct chat_user *u = r->members.v[i];

		for (size_t k = 0; k < u->sessions.n; k++) {
			struct client *cl = session_client(u->sessions.v[k]);
			struct irc_out o;

			/* Without the message-tags bit, fake only supplies the name. */
			user_line(&o, variant(cl) & 5u, by, "TOPIC", r->topic_ms,
			          by ? NULL : &fake);
			irc_out_param(&o, target);
			irc_out_trailing(&o, r->topic);
			irc_out_end(&o);
			client_send_out(cl, &o);
		}
	}
}

void invite_line(struct client *cl, const char *source, const struct chat_user *who,
                 const struct chat_room *r)
{
	struct irc_out o;

	irc_out_init(&o);
	client_base_tags(cl, &o, 0);
	irc_out_source(&o, source);
	irc_out_cmd(&o, "INVITE");
	irc_out_param(&o, who->name);
	irc_out_param(&o, CHAN(r));
	irc_out_end(&o);
	client_send_out(cl, &o);
}

/*
 * ":server CMD #room params... [:trailing]" to every client present in r
 * (only those with capability cap when cap >= 0).
 */
static void room_server_line(struct irc *irc, struct chat_room *r, int cap, const char *cmd,
                             const char *const *params, int n, const char *trailing)
{
	for (size_t i = 0; i < r->members.n; i++) {
		struct chat_user *u = r->members.v[i];

		for (size_t k = 0; k < u->sessions.n; k++) {
			struct client *cl = session_client(u->sessions.v[k]);
			struct irc_out o;

			if (cap >= 0 && !client_has(cl, (enum irc_cap)cap))
				continue;
			irc_out_init(&o);
			client_base_tags(cl, &o, 0);
			irc_out_source(&o, irc->cfg.server_name);
			irc_out_cmd(&o, cmd);
			irc_out_param(&o, CHAN(r));
			for (int a = 0; a < n; a++)
				irc_out_param(&o, params[a]);
			if (trailing)
				irc_out_trailing(&o, trailing);
			irc_out_end(&o);
			client_send_out(cl, &o);
		}
	}
}

static void kick(void *ctx, struct chat_room *r, struct chat_user *who, const char *reason)
{
	const char *params[] = {who->name};

	room_server_line(ctx, r, -1, "KICK", params, 1, reason);
}

/* "+o-v" style change of who's roles, told to the room as a server MODE. */
static void roles(void *ctx, struct chat_room *r, struct chat_user *who, bool was_manager,
                  bool was_presenter)
{
	struct irc *irc = ctx;
	bool mgr = chat_is_manager(irc->chat, who, r), pres = chat_is_presenter(irc->chat, who, r);
	char modes[8];
	size_t len = 0;
	int nargs = 0;

	modes[0] = '\0';
	if (mgr != was_manager) {
		str_appendf(modes, sizeof(modes), &len, "%co", mgr ? '+' : '-');
		nargs++;
	}
	if (pres != was_presenter) {
		str_appendf(modes, sizeof(modes), &len, "%cv", pres ? '+' : '-');
		nargs++;
	}
	if (!nargs)
		return;
	{
		char ev[CHAT_NAME_MAX * 2 + 16];

		snprintf(ev, sizeof(ev), nargs == 2 ? "%s %s %s" : "%s %s", modes, who->name,
		         who->name);
		chat_event(irc->chat, r, irc->cfg.server_name, CHAT_EV_MODE, ev);
	}
	{
		const char *params[] = {modes, who->name, who->name};

		room_server_line(irc, r, -1, "MODE", params, 1 + nargs, NULL);
	}
}

void invite_broadcast(struct irc *irc, struct chat_room *r, struct chat_user *who,
                      const char *source, struct client *except)
{
	(void)irc;
	for (size_t i = 0; i < r->members.n; i++) {
		struct chat_user *u = r->members.v[i];

		for (size_t k = 0; k < u->sessions.n; k++) {
			struct client *cl = session_client(u->sessions.v[k]);

			if (cl != except && client_has(cl, CAP_INVITE_NOTIFY))
				invite_line(cl, source, who, r);
		}
	}
	for (size_t k = 0; k < who->sessions.n; k++)
		invite_line(session_client(who->sessions.v[k]), source, who, r);
}

/* An invitation made by the system (members added): from the server. */
static void invite(void *ctx, struct chat_room *r, struct chat_user *who, const char *inviter)
{
	struct irc *irc = ctx;

	invite_broadcast(irc, r, who, inviter && *inviter ? inviter : irc->cfg.server_name, NULL);
}

/* draft/message-redaction: the room's clients with the cap forget the message. */
static void redact(void *ctx, struct chat_room *r, const char *msgid)
{
	const char *params[] = {msgid};

	room_server_line(ctx, r, CAP_REDACTION, "REDACT", params, 1,
	                 "This message was removed by an administrator.");
}

/* The room's channel modes changed: "+m-s" style, as a server MODE. */
static void settings(void *ctx, struct chat_room *r, int old_privacy, int old_type)
{
	struct irc *irc = ctx;
	struct chat_room before = *r;
	char was[8], now[8], diff[16];
	size_t len = 0;

	before.privacy = old_privacy;
	before.type = old_type;
	room_modes(&before, was);
	room_modes(r, now);
	diff[0] = '\0';
	for (const char *p = now + 1; *p; p++)
		if (!strchr(was + 1, *p))
			str_appendf(diff, sizeof(diff), &len, "+%c", *p);
	for (const char *p = was + 1; *p; p++)
		if (!strchr(now + 1, *p))
			str_appendf(diff, sizeof(diff), &len, "-%c", *p);
	if (!len)
		return;
	chat_event(irc->chat, r, irc->cfg.server_name, CHAT_EV_MODE, diff);
	{
		const char *params[] = {diff};

		room_server_line(irc, r, -1, "MODE", params, 1, NULL);
	}
}

static void kill(void *ctx, struct chat_user *who, const char *reason)
{
	(void)ctx;
	for (size_t k = 0; k < who->sessions.n; k++)
		client_exit(session_client(who->sessions.v[k]), reason);
}

const struct chat_sink irc_sink = {
    .room_message = room_message,
    .private_message = private_message,
    .join = join,
    .part = part,
    .quit = quit,
    .away = away,
    .setname = setname,
    .topic = topic,
    .kick = kick,
    .roles = roles,
    .kill = kill,
    .settings = settings,
    .invite = invite,
    .redact = redact,
};
