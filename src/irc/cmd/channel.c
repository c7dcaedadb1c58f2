/*
 * channel.c — JOIN, PART, TOPIC, NAMES, LIST, INVITE (RFC 2812 §3.2), and
 * what a client is sent when it is in a room (JOIN, topic, names).
 *
 * A room is a channel "#name". JOIN of an unknown room creates it only for
 * creators of [chat] default_category; otherwise, like a room the user may
 * not know of, it gets 403. Rules are the chat layer's (rules.c).
 */
#include "chat/names.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "#name" -> "name" when the name is valid, else NULL. */
static const char *room_arg(const char *target)
{
	if (target[0] != '#' || !names_room_valid(target + 1))
		return NULL;
	return target + 1;
}

void topic_send(struct client *cl, struct chat_room *r, bool always)
{
	if (r->topic[0]) {
		client_num(cl, RPL_TOPIC, CHAN(r), r->topic);
		client_num(cl, RPL_TOPICWHOTIME, CHAN(r), r->topic_by[0] ? r->topic_by : "pchat",
		           (int64_t)(r->topic_ms / 1000));
	} else if (always) {
		client_num(cl, RPL_NOTOPIC, CHAN(r));
	}
}

void room_prefix(const struct client *viewer, const struct chat_room *r, const struct chat_user *u,
                 char out[3])
{
	struct chat *ch = viewer->irc->chat;
	size_t n = 0;

	if (chat_is_manager(ch, u, r))
		out[n++] = '@';
	if ((n == 0 || client_has(viewer, CAP_MULTI_PREFIX)) && chat_is_presenter(ch, u, r))
		out[n++] = '+';
	out[n] = '\0';
}

void room_modes(const struct chat_room *r, char out[8])
{
	size_t n = 0;

	out[n++] = '+';
	if (r->privacy != 1 /* open */)
		out[n++] = 'i';
	if (r->type == 1)
		out[n++] = 'm';
	out[n++] = 'n';
	if (r->privacy == 2)
		out[n++] = 's';
	out[n++] = 't';
	out[n] = '\0';
}

bool client_can_find(const struct client *cl, const struct chat_room *r)
{
	return cl->session && chat_can_find(cl->irc->chat, cl->session->user, r);
}

void names_send(struct client *cl, struct chat_room *r)
{
	char line[400];
	size_t len = 0;

	line[0] = '\0';
	for (size_t i = 0; i < r->members.n; i++) {
		const struct chat_user *u = r->members.v[i];
		char item[200], prefix[3];
		size_t plen;

		room_prefix(cl, r, u, prefix);
		plen = str_copy(item, prefix, sizeof(item));
		if (client_has(cl, CAP_USERHOST_IN_NAMES))
			user_source(u, item + plen, sizeof(item) - plen);
		else
			str_copy(item + plen, u->name, sizeof(item) - plen);
		if (len + strlen(item) + 1 > 300) {
			client_num(cl, RPL_NAMREPLY, "=", CHAN(r), line);
			len = 0;
			line[0] = '\0';
		}
		str_appendf(line, sizeof(line), &len, "%s%s", len ? " " : "", item);
	}
	if (len)
		client_num(cl, RPL_NAMREPLY, "=", CHAN(r), line);
	client_num(cl, RPL_ENDOFNAMES, CHAN(r));
}

void join_burst(struct client *cl, struct chat_room *r)
{
	struct irc_out o;
	char src[200], target[CHAT_NAME_MAX + 1];
	const struct chat_user *u = cl->session->user;

	snprintf(target, sizeof(target), "#%s", r->name);
	user_source(u, src, sizeof(src));
	irc_out_init(&o);
	client_base_tags(cl, &o, 0);
	if (client_has(cl, CAP_ACCOUNT_TAG) && u->account)
		irc_out_tag(&o, "account", u->name);
	irc_out_source(&o, src);
	irc_out_cmd(&o, "JOIN");
	irc_out_param(&o, target);
	if (client_has(cl, CAP_EXTENDED_JOIN)) {
		irc_out_param(&o, u->account ? u->name : "*");
		irc_out_trailing(&o, u->realname);
	}
	irc_out_end(&o);
	client_send_out(cl, &o);
	topic_send(cl, r, false);
	names_send(cl, r);
	markread_after_join(cl, r);
}

/* --- JOIN ------------------------------------------------------------------------ */

struct join_req {
	struct irc_async *a; /* the client's pending answer */
	int pending;         /* joins not yet answered, +1 while the handler runs */
};

struct join_one {
	struct join_req *req;           /* the command */
	char target[CHAT_NAME_MAX + 1]; /* "#room" asked for */
	bool replay;                    /* a new member: replay recent history */
	bool created;                   /* already tried to create it */
};

static void join_release(struct join_req *req)
{
	if (--req->pending > 0)
		return;
	irc_async_end(req->a, client_from_arg(req->a->irc, req->a->arg));
	free(req);
}

/* Recent history for a client that just joined (no chathistory yet). */
static void replay_done(int rc, const struct chat_msg *msgs, size_t n, void *arg)
{
	struct irc_async *a = arg;
	struct client *cl = client_from_arg(a->irc, a->arg);

	for (size_t i = 0; cl && rc == 0 && i < n; i++) {
		struct irc_out o;

		if ((msgs[i].kind == CHAT_TAGMSG && !client_has(cl, CAP_MESSAGE_TAGS)) ||
		    chat_kind_is_event(msgs[i].kind))
			continue;
		render_msg(&o, client_variant(cl), &msgs[i], CHAN(msgs[i].room), NULL);
		client_send_out(cl, &o);
	}
	free(a);
}

static void replay(struct client *cl, struct chat_room *r)
{
	struct irc_async *a = xcalloc(1, sizeof(*a));

	a->irc = cl->irc;
	a->arg = CLIENT_ARG(cl);
	chat_history_latest(cl->irc->chat, cl->session->user, r, cl->irc->cfg.default_history,
	                    replay_done, a);
}

static void join_done(int rc, struct chat_room *room, void *arg);

/* JOIN of an unknown room by a creator of the default category creates it. */
static void created(int rc, const char *msg, void *arg)
{
	struct join_one *one = arg;
	struct client *cl = client_from_arg(one->req->a->irc, one->req->a->arg);

	(void)msg;
	one->created = true;
	if (cl && cl->session && (rc == 0 || rc == CHAT_ESTORE))
		chat_join(cl->irc->chat, cl->session, one->target + 1, join_done, one);
	else
		join_done(CHAT_ENOROOM, NULL, one);
}

static bool try_create(struct client *cl, struct join_one *one)
{
	const char *category = cl->irc->cfg.default_category;

	if (one->created || !cl->session ||
	    !chat_can_create(cl->irc->chat, cl->session->user, category))
		return false;
	chat_room_create(cl->irc->chat, cl->session->user, one->target + 1, category, "", created,
	                 one);
	return true;
}

static void join_done(int rc, struct chat_room *room, void *arg)
{
	struct join_one *one = arg;
	struct join_req *req = one->req;
	struct client *cl = irc_async_resume(req->a);

	(void)room;
	if (cl && rc == CHAT_ENOROOM && try_create(cl, one)) {
		irc_async_suspend(req->a, cl);
		return;
	}
	if (cl && rc == CHAT_ENOROOM)
		client_num(cl, ERR_NOSUCHCHANNEL, one->target);
	else if (cl && rc == CHAT_EDENIED && !cl->session->user->account)
		client_num(cl, ERR_NEEDREGGEDNICK, one->target);
	else if (cl && rc == CHAT_EDENIED)
		client_num(cl, ERR_INVITEONLYCHAN, one->target);
	else if (cl && rc == CHAT_ESTORE)
		client_fail(cl, "JOIN", "TEMPORARILY_UNAVAILABLE", one->target,
		            "The room cannot be loaded right now; try again");
	if (cl && rc == 0 && one->replay && cl->irc->cfg.default_history > 0 &&
	    !client_has_chathistory(cl))
		replay(cl, room);
	irc_async_suspend(req->a, cl);
	free(one);
	join_release(req);
}

static void part_all(struct client *cl)
{
	struct chat_user *u = cl->session->user;

	while (u->rooms.n > 0)
		chat_part(cl->irc->chat, u, u->rooms.v[u->rooms.n - 1], "Left all rooms");
}

bool cmd_join(struct client *cl, struct irc_msg *m)
{
	struct join_req *req;
	char *save = NULL;
	int n = 0;

	if (strcmp(m->params[0], "0") == 0) {
		part_all(cl);
		return true;
	}
	req = xcalloc(1, sizeof(*req));
	req->a = irc_async_begin(cl);
	req->pending = 1;
	for (char *t = strtok_r(m->params[0], ",", &save); t && n < 10;
	     t = strtok_r(NULL, ",", &save), n++) {
		const char *name = room_arg(t);
		struct join_one *one;
		struct chat_room *r;

		if (!name) {
			irc_async_resume(req->a);
			client_num(cl, ERR_NOSUCHCHANNEL, t);
			irc_async_suspend(req->a, cl);
			continue;
		}
		one = xcalloc(1, sizeof(*one));
		one->req = req;
		str_copy(one->target, t, sizeof(one->target));
		r = chat_room_find(cl->irc->chat, name);
		one->replay = !r || !chat_in_room(cl->session->user, r);
		req->pending++;
		chat_join(cl->irc->chat, cl->session, name, join_done, one);
	}
	join_release(req);
	return true;
}

/* Join the rooms an account follows, as if it had sent JOIN (replay included). */
static void followed(int rc, const char *const *names, size_t n, void *arg)
{
	struct irc_async *a = arg;
	struct client *cl = client_from_arg(a->irc, a->arg);
	struct join_req *req;

	if (!cl || rc || n == 0 || !cl->session) {
		free(a);
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->a = a;
	req->pending = 1;
	for (size_t i = 0; i < n; i++) {
		struct join_one *one = xcalloc(1, sizeof(*one));
		struct chat_room *r = chat_room_find(cl->irc->chat, names[i]);

		one->req = req;
		snprintf(one->target, sizeof(one->target), "#%s", names[i]);
		one->replay = !r || !chat_in_room(cl->session->user, r);
		req->pending++;
		chat_join(cl->irc->chat, cl->session, names[i], join_done, one);
	}
	join_release(req);
}

/* Invitations kept while the account was offline, delivered once. */
static void kept_invites(int rc, const char *const *names, size_t n, void *arg)
{
	struct irc_async *a = arg;
	struct client *cl = client_from_arg(a->irc, a->arg);

	for (size_t i = 0; cl && cl->session && rc == 0 && i < n; i++) {
		struct chat_room *r = chat_room_find(cl->irc->chat, names[i]);

		if (r && client_can_find(cl, r))
			invite_line(cl, cl->irc->cfg.server_name, cl->session->user, r);
	}
	free(a);
}

void deliver_invites(struct client *cl)
{
	struct irc_async *a = xcalloc(1, sizeof(*a));

	a->irc = cl->irc;
	a->arg = CLIENT_ARG(cl);
	chat_invites_take(cl->irc->chat, cl->session->user, kept_invites, a);
}

void join_followed(struct client *cl)
{
	struct irc_async *a = xcalloc(1, sizeof(*a));

	a->irc = cl->irc;
	a->arg = CLIENT_ARG(cl);
	chat_following(cl->irc->chat, cl->session->user, followed, a);
}

/* --- PART, TOPIC ---------------------------------------------------------------- */

bool cmd_part(struct client *cl, struct irc_msg *m)
{
	char *save = NULL;
	const char *reason = m->n_params > 1 ? m->params[1] : "";

	for (char *t = strtok_r(m->params[0], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const char *name = room_arg(t);
		struct chat_room *r = name ? chat_room_find(cl->irc->chat, name) : NULL;

		if (!r)
			client_num(cl, ERR_NOSUCHCHANNEL, t);
		else if (chat_part(cl->irc->chat, cl->session->user, r, reason) == CHAT_ENOTIN)
			client_num(cl, ERR_NOTONCHANNEL, CHAN(r));
	}
	return true;
}

static void topic_done(int rc, void *arg)
{
	struct irc_async *a = arg;
	struct client *cl = irc_async_resume(a);

	if (cl && rc == CHAT_EDENIED)
		client_num(cl, ERR_CHANOPRIVSNEEDED, "*");
	else if (cl && rc)
		client_fail(cl, "TOPIC", "TEMPORARILY_UNAVAILABLE", NULL,
		            "The topic could not be stored; try again");
	irc_async_end(a, cl);
}

bool cmd_topic(struct client *cl, struct irc_msg *m)
{
	const char *name = room_arg(m->params[0]);
	struct chat_room *r = name ? chat_room_find(cl->irc->chat, name) : NULL;

	if (!r) {
		client_num(cl, ERR_NOSUCHCHANNEL, m->params[0]);
		return true;
	}
	if (m->n_params < 2) {
		topic_send(cl, r, true);
		return true;
	}
	if (!chat_in_room(cl->session->user, r)) {
		client_num(cl, ERR_NOTONCHANNEL, CHAN(r));
		return true;
	}
	if (!chat_can_manage(cl->irc->chat, cl->session->user, r)) {
		client_num(cl, ERR_CHANOPRIVSNEEDED, CHAN(r));
		return true;
	}
	chat_set_topic(cl->irc->chat, cl->session->user, r, m->params[1], topic_done,
	               irc_async_begin(cl));
	return true;
}

/* --- NAMES, LIST, INVITE ---------------------------------------------------------- */

bool cmd_names(struct client *cl, struct irc_msg *m)
{
	const char *name = m->n_params ? room_arg(m->params[0]) : NULL;
	struct chat_room *r = name ? chat_room_find(cl->irc->chat, name) : NULL;

	if (r && client_can_find(cl, r))
		names_send(cl, r);
	else
		client_num(cl, RPL_ENDOFNAMES, m->n_params ? m->params[0] : "*");
	return true;
}

static void list_one(struct client *cl, const struct chat_room *r)
{
	client_num(cl, RPL_LIST, CHAN(r), (int)r->members.n, r->topic);
}

bool cmd_list(struct client *cl, struct irc_msg *m)
{
	const struct map *rooms = chat_rooms(cl->irc->chat);
	struct map_entry *e;
	size_t it;

	client_num(cl, RPL_LISTSTART);
	if (m->n_params > 0 && m->params[0][0] == '#') {
		char *save = NULL;

		for (char *t = strtok_r(m->params[0], ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			struct chat_room *r = chat_room_find(cl->irc->chat, t + 1);

			if (t[0] == '#' && r && client_can_find(cl, r))
				list_one(cl, r);
		}
	} else {
		for (e = map_first(rooms, &it); e; e = map_next(rooms, e, &it))
			if (client_can_find(cl, e->value))
				list_one(cl, e->value);
	}
	client_num(cl, RPL_LISTEND);
	return true;
}

bool cmd_invite(struct client *cl, struct irc_msg *m)
{
	struct chat *ch = cl->irc->chat;
	struct chat_user *to = chat_user_find(ch, m->params[0]);
	const char *name = room_arg(m->params[1]);
	struct chat_room *r = name ? chat_room_find(ch, name) : NULL;
	struct chat_user *me = cl->session->user;
	char src[200];

	if (!to) {
		client_num(cl, ERR_NOSUCHNICK, m->params[0]);
		return true;
	}
	if (!r || !client_can_find(cl, r)) {
		client_num(cl, ERR_NOSUCHCHANNEL, m->params[1]);
		return true;
	}
	if (!chat_in_room(me, r)) {
		client_num(cl, ERR_NOTONCHANNEL, CHAN(r));
		return true;
	}
	if (chat_in_room(to, r)) {
		client_num(cl, ERR_USERONCHANNEL, to->name, CHAN(r));
		return true;
	}
	client_num(cl, RPL_INVITING, to->name, CHAN(r));
	user_source(me, src, sizeof(src));
	invite_broadcast(cl->irc, r, to, src, cl);
	return true;
}
