/*
 * chat.c — users, sessions, rooms and presence.
 *
 * Holds the in-memory picture of who is online and in which room; rooms are
 * loaded from the store at start and fetched on demand. Messages are in
 * post.c, authentication in auth.c. No IRC, no SQL here.
 */
#include "chat/chat_int.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chat *chat_new(const struct chat_params *p, const struct chat_sink *sink, void *sink_ctx)
{
	struct chat *ch = xcalloc(1, sizeof(*ch));

	ch->p = *p;
	ch->sink = *sink;
	ch->sink_ctx = sink_ctx;
	map_init(&ch->users);
	map_init(&ch->rooms);
	map_init(&ch->rooms_by_id);
	map_init(&ch->sessions);
	map_init(&ch->auth_fails);
	map_init(&ch->categories);
	map_init(&ch->groups);
	chat_auth_init(ch);
	return ch;
}

static void user_free(struct chat_user *u)
{
	for (size_t i = 0; i < u->servers.n; i++)
		free(u->servers.v[i]);
	ptrvec_free(&u->servers);
	ptrvec_free(&u->sessions);
	ptrvec_free(&u->rooms);
	free(u);
}

void chat_free(struct chat *ch)
{
	struct map_entry *e;
	size_t it;

	if (!ch)
		return;
	for (e = map_first(&ch->sessions, &it); e; e = map_next(&ch->sessions, e, &it))
		free(e->value);
	for (e = map_first(&ch->users, &it); e; e = map_next(&ch->users, e, &it))
		user_free(e->value);
	chat_feed_stop(ch);
	chat_bus_stop(ch);
	chat_model_free(ch);
	map_clear(&ch->sessions);
	map_clear(&ch->users);
	chat_auth_free_all(ch);
	free(ch);
}

void chat_session_key(uint64_t id, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, id);
}

/* The key of a room id in ch->rooms_by_id (buf: 24 bytes). */
static const char *id_key(int64_t id, char *buf)
{
	snprintf(buf, 24, "%" PRId64, id);
	return buf;
}

struct chat_room *chat_room_adopt(struct chat *ch, struct chat_room *room)
{
	struct chat_room *old = map_get(&ch->rooms, room->key);
	char key[24];

	if (old) {
		chat_room_free(room);
		return old;
	}
	map_put(&ch->rooms, room->key, room);
	map_put(&ch->rooms_by_id, id_key(room->id, key), room);
	return room;
}

/* --- presence ------------------------------------------------------------ */

int chat_login(struct chat *ch, const char *name, bool account, bool admin, void *owner,
               struct chat_session **out)
{
	char key[CHAT_NAME_MAX];
	char skey[17];
	struct chat_user *u;
	struct chat_session *s;

	str_lower(key, name, sizeof(key));
	u = map_get(&ch->users, key);
	if (u && (!account || !u->account))
		return CHAT_EINUSE;
	if (!u) {
		u = chat_user_new(ch, name, account);
		u->admin = admin;
	}
	s = xcalloc(1, sizeof(*s));
	s->user = u;
	s->owner = owner;
	s->id = ++ch->next_session_id;
	ptrvec_push(&u->sessions, s);
	chat_session_key(s->id, skey);
	map_put(&ch->sessions, skey, s);
	ch->n_sessions++;
	*out = s;
	return 0;
}

void chat_room_count(const struct chat *ch, struct chat_room *r)
{
	size_t limit = (size_t)ch->p.participant_update_limit;

	/* SPEC §3 large rooms: quiet above the limit, loud again below 80% of it. */
	if (limit == 0)
		return;
	if (r->members.n > limit)
		r->quiet = true;
	else if (r->members.n * 10 < limit * 8)
		r->quiet = false;
}

void chat_room_leave(struct chat *ch, struct chat_room *r, struct chat_user *u)
{
	ptrvec_remove(&r->members, u);
	ptrvec_remove(&u->rooms, r);
	chat_room_count(ch, r);
}

void chat_room_enter(struct chat *ch, struct chat_room *r, struct chat_user *u)
{
	ptrvec_push(&r->members, u);
	ptrvec_push(&u->rooms, r);
	chat_room_count(ch, r);
}

struct chat_room *chat_room_by_id(struct chat *ch, int64_t id)
{
	char key[24];

	return map_get(&ch->rooms_by_id, id_key(id, key));
}

void chat_room_drop(struct chat *ch, struct chat_room *r)
{
	char key[24];

	map_del(&ch->rooms, r->key);
	map_del(&ch->rooms_by_id, id_key(r->id, key));
	chat_room_free(r);
}

struct chat_user *chat_user_new(struct chat *ch, const char *name, bool account)
{
	struct chat_user *u = xcalloc(1, sizeof(*u));

	str_copy(u->name, name, sizeof(u->name));
	str_lower(u->key, name, sizeof(u->key));
	u->account = account;
	u->signon_ms = time_now_ms();
	u->last_active_ms = u->signon_ms;
	map_put(&ch->users, u->key, u);
	return u;
}

void chat_user_forget(struct chat *ch, struct chat_user *u)
{
	while (u->rooms.n > 0)
		chat_room_leave(ch, u->rooms.v[u->rooms.n - 1], u);
	map_del(&ch->users, u->key);
	user_free(u);
}

void chat_login_done(struct chat *ch, struct chat_session *s)
{
	if (s->user->sessions.n == 1)
		chat_bus_user(ch, s->user);
}

void chat_logout(struct chat *ch, struct chat_session *s, const char *reason)
{
	struct chat_user *u = s->user;
	char skey[17];

	chat_session_key(s->id, skey);
	map_del(&ch->sessions, skey);
	ptrvec_remove(&u->sessions, s);
	ch->n_sessions--;
	free(s);
	if (u->sessions.n > 0)
		return;
	chat_bus_quit(ch, u, reason);
	if (u->servers.n > 0)
		return; /* still connected through another server of the pool */
	/* Tell first (the sink walks u->rooms), then forget. */
	if (ch->sink.quit)
		ch->sink.quit(ch->sink_ctx, u, reason);
	for (size_t i = 0; i < u->rooms.n; i++)
		chat_event(ch, u->rooms.v[i], u->name, CHAT_EV_PART, reason);
	chat_user_forget(ch, u);
}

struct chat_session *chat_session_find(struct chat *ch, uint64_t id)
{
	char skey[17];

	chat_session_key(id, skey);
	return map_get(&ch->sessions, skey);
}

struct chat_user *chat_user_find(struct chat *ch, const char *name)
{
	char key[CHAT_NAME_MAX];

	str_lower(key, name, sizeof(key));
	return map_get(&ch->users, key);
}

struct chat_room *chat_room_find(struct chat *ch, const char *name)
{
	char key[CHAT_NAME_MAX];

	str_lower(key, name, sizeof(key));
	return map_get(&ch->rooms, key);
}

const struct map *chat_users(const struct chat *ch)
{
	return &ch->users;
}

const struct map *chat_rooms(const struct chat *ch)
{
	return &ch->rooms;
}

bool chat_in_room(const struct chat_user *u, const struct chat_room *r)
{
	/* The user's own list is the shorter one in large rooms. */
	return ptrvec_contains(&u->rooms, r);
}

void chat_set_away(struct chat *ch, struct chat_user *u, const char *msg)
{
	str_copy(u->away, msg ? msg : "", sizeof(u->away));
	if (ch->sink.away)
		ch->sink.away(ch->sink_ctx, u);
	chat_bus_attr(ch, u);
}

void chat_set_realname(struct chat *ch, struct chat_user *u, const char *realname)
{
	str_copy(u->realname, realname, sizeof(u->realname));
	if (ch->sink.setname)
		ch->sink.setname(ch->sink_ctx, u);
	chat_bus_attr(ch, u);
}

void chat_get_stats(const struct chat *ch, struct chat_stats *st)
{
	struct map_entry *e;
	size_t it;

	memset(st, 0, sizeof(*st));
	st->n_users = ch->users.n_entries;
	st->n_sessions = ch->n_sessions;
	st->n_rooms = ch->rooms.n_entries;
	for (e = map_first(&ch->users, &it); e; e = map_next(&ch->users, e, &it))
		if (!((struct chat_user *)e->value)->account)
			st->n_guests++;
}

/* --- rooms ---------------------------------------------------------------- */

struct join_op {
	struct chat *ch;           /* engine */
	uint64_t sid;              /* session asking */
	char name[CHAT_NAME_MAX];  /* room asked for */
	struct chat_room *loaded;  /* built on the store thread, or NULL */
	struct chat_category *cat; /* its category, read in the same snapshot */
	chat_join_cb cb;           /* caller's completion */
	void *arg;                 /* its argument */
};

static void join_loaded(struct chat *ch, struct chat_session *s, struct chat_room *r,
                        chat_join_cb cb, void *arg)
{
	struct chat_user *u = s->user;

	if (chat_in_room(u, r)) {
		cb(0, r, arg);
		return;
	}
	if (!chat_can_join(ch, u, r)) {
		/* A room the user may not even know of does not exist for them. */
		cb(chat_can_find(ch, u, r) ? CHAT_EDENIED : CHAT_ENOROOM, NULL, arg);
		return;
	}
	chat_room_enter(ch, r, u);
	chat_event(ch, r, u->name, CHAT_EV_JOIN, NULL);
	chat_bus_join(ch, r, u);
	if (ch->sink.join)
		ch->sink.join(ch->sink_ctx, r, u);
	cb(0, r, arg);
}

static int join_job(struct store_conn *c, void *arg)
{
	struct join_op *op = arg;
	struct store_room sr;
	int rc;

	memset(&sr, 0, sizeof(sr));
	rc = store_room_get(c, op->name, &sr);
	if (rc == 0) {
		struct store_category sc;

		op->loaded = chat_room_from_store(&sr);
		memset(&sc, 0, sizeof(sc));
		if (store_category_get(c, sr.category, &sc) == 0)
			op->cat = chat_category_from_store(&sc);
		store_category_free(&sc);
		store_room_free(&sr);
	}
	return rc;
}

static void join_done(int rc, void *arg)
{
	struct join_op *op = arg;
	struct chat_session *s = chat_session_find(op->ch, op->sid);
	struct chat_room *r = NULL;

	if (op->cat && !map_get(&op->ch->categories, op->cat->key))
		chat_category_put(op->ch, op->cat);
	else
		chat_category_free(op->cat);
	if (op->loaded)
		r = chat_room_adopt(op->ch, op->loaded);
	if (!s)
		op->cb(CHAT_EGONE, NULL, op->arg);
	else if (rc == STORE_ENOTFOUND || !r)
		op->cb(rc == STORE_ENOTFOUND || rc == 0 ? CHAT_ENOROOM : CHAT_ESTORE, NULL,
		       op->arg);
	else
		join_loaded(op->ch, s, r, op->cb, op->arg);
	free(op);
}

void chat_join(struct chat *ch, struct chat_session *s, const char *name, chat_join_cb cb,
               void *arg)
{
	struct chat_room *r = chat_room_find(ch, name);
	struct join_op *op;

	if (r) {
		join_loaded(ch, s, r, cb, arg);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->ch = ch;
	op->sid = s->id;
	str_copy(op->name, name, sizeof(op->name));
	op->cb = cb;
	op->arg = arg;
	store_submit_read(ch->p.store, join_job, join_done, op);
}

int chat_part(struct chat *ch, struct chat_user *u, struct chat_room *room, const char *reason)
{
	if (!chat_in_room(u, room))
		return CHAT_ENOTIN;
	/* Tell while u is still a member, so u's sessions get their PART. */
	if (ch->sink.part)
		ch->sink.part(ch->sink_ctx, room, u, reason);
	chat_event(ch, room, u->name, CHAT_EV_PART, reason);
	chat_bus_part(ch, room, u, reason);
	chat_room_leave(ch, room, u);
	return 0;
}

struct topic_op {
	struct chat *ch;              /* engine */
	int64_t room_id;              /* room */
	char room_key[CHAT_NAME_MAX]; /* its map key */
	char topic[CHAT_TOPIC_MAX];   /* new topic */
	char by[CHAT_NAME_MAX];       /* who set it */
	struct store_cevent *ce;      /* its compliance event (ADMIN), or NULL */
	chat_done_cb cb;              /* caller's completion */
	void *arg;                    /* its argument */
};

static int topic_job(struct store_conn *c, void *arg)
{
	struct topic_op *op = arg;
	struct store_room sr;
	int rc;

	memset(&sr, 0, sizeof(sr));
	rc = store_room_get(c, op->room_key, &sr);
	if (rc)
		return rc;
	free(sr.description);
	sr.description = op->topic;
	rc = store_room_update(c, &sr);
	sr.description = NULL;
	store_room_free(&sr);
	if (rc == 0 && op->ce)
		rc = store_cevent_add(c, op->ce);
	return rc;
}

static void topic_done(int rc, void *arg)
{
	struct topic_op *op = arg;
	struct chat_room *r = map_get(&op->ch->rooms, op->room_key);

	if (rc == 0 && r && r->id == op->room_id) {
		str_copy(r->topic, op->topic, sizeof(r->topic));
		str_copy(r->topic_by, op->by, sizeof(r->topic_by));
		r->topic_ms = time_now_ms();
		chat_event(op->ch, r, op->by, CHAT_EV_TOPIC, op->topic);
		chat_bus_topic(op->ch, r);
		if (op->ch->sink.topic)
			op->ch->sink.topic(op->ch->sink_ctx, r);
	}
	if (op->cb)
		op->cb(rc ? CHAT_ESTORE : 0, op->arg);
	chat_capture_free(op->ce);
	free(op);
}

void chat_set_topic(struct chat *ch, struct chat_user *u, struct chat_room *room, const char *topic,
                    chat_done_cb cb, void *arg)
{
	struct topic_op *op;

	if (!chat_can_manage(ch, u, room)) {
		if (cb)
			cb(CHAT_EDENIED, arg);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->ch = ch;
	op->room_id = room->id;
	str_copy(op->room_key, room->key, sizeof(op->room_key));
	str_copy(op->topic, topic, sizeof(op->topic));
	str_copy(op->by, u->name, sizeof(op->by));
	op->ce = chat_capture_new(ch, "ADMIN", u, NULL, room);
	if (op->ce) {
		char what[CHAT_NAME_MAX + 32];

		snprintf(what, sizeof(what), "set room %s", room->name);
		chat_capture_set(op->ce, what,
		                 json_pack("{s:s, s:s}", "field", "description", "value", topic));
	}
	op->cb = cb;
	op->arg = arg;
	store_submit_write(ch->p.store, topic_job, topic_done, op);
}
