/*
 * bus.c — one chat network over several servers (a pool on PostgreSQL):
 * what happens on this server is announced to the others through the
 * store's notifications (store_notify: delivered when, and only if, the
 * transaction commits, in commit order), and what the others announce is
 * applied here as if it had happened locally (docs/architecture.md "Pool").
 *
 * Users present on another server are ordinary struct chat_user objects
 * without local sessions; u->servers names the other servers they are
 * connected through. They are members of rooms like local users, so NAMES,
 * WHO, WHOIS and every broadcast see them; delivery reaches local sessions
 * only. Rooms are shared by every connection of an account: a JOIN or PART
 * through any server applies to the user everywhere.
 *
 * Events (JSON objects, "t" = type, "s" = the announcing server):
 *   m  a room message      p  a private message     j  join      l  part
 *   q  the user's last connection to s left         a  away      n  real name
 *   tp a topic             h  hello: a server (re)started listening; every
 *   u  a user's state      other server answers with a "u" per local user
 * A server not heard of for BUS_DEAD_MS in the heartbeat table is dead: its
 * users' presence through it is dropped here.
 *
 * Events are applied in the order they were committed. One too large for a
 * notification arrives as a reference (store_notify_is_ref) and is read with
 * a read job; the events after it wait in bus_inbox until it is applied.
 *
 * When the listener was cut off (the database restarted, the network
 * failed), the events of the outage are lost: this server says hello, and
 * marks every remote user's presence through every server as unconfirmed
 * (bus_sweep). The answers ("u", a user's full state) confirm a presence and
 * set the user's rooms exactly; what is still unconfirmed BUS_SWEEP_MS later
 * quit during the outage and is dropped (mark and sweep).
 *
 * Deliberately not here: storing messages (post.c stores first, then this
 * file announces in the same job), the heartbeat itself (pchatd), IRC text.
 */
#include "chat/chat_int.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define BUS_TICK_MS    1000   /* dead-server check, pending joins */
#define BUS_DEAD_MS    5000   /* heartbeat older than this: the server is gone */
#define BUS_PENDING_MS 5000   /* how long a join waits for its room to be known */
#define BUS_SWEEP_MS   5000   /* after an outage: how long the others have to answer */
#define BUS_INBOX_MAX  100000 /* events held behind a large one; more: resynchronise */

/* A join announced for a room this server does not know yet (the feed is behind). */
struct bus_pending {
	char *payload;      /* the event, re-applied later */
	int64_t expires_ms; /* given up after */
};

/* --- announcing ------------------------------------------------------------------ */

static int notify_job(struct store_conn *c, void *arg)
{
	return store_notify(c, arg);
}

static void notify_done(int rc, void *arg)
{
	if (rc)
		log_warn("pool", "an event was not announced to the pool: %s", store_strerror(rc));
	free(arg);
}

/* Serialize ev (consumed) with the server's name; NULL when it does not fit. */
static char *bus_text(const char *server, json_t *ev)
{
	char *text;

	if (!ev)
		return NULL; /* not representable (invalid UTF-8) */
	json_object_set_new(ev, "s", json_string(server));
	text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (text && strlen(text) > STORE_NOTIFY_LARGE_MAX) {
		log_warn("pool", "an event of %zu bytes is too large to announce", strlen(text));
		free(text);
		return NULL;
	}
	return text;
}

void chat_bus_announce(struct chat *ch, json_t *ev)
{
	char *text;

	if (!chat_bus_on(ch)) {
		json_decref(ev);
		return;
	}
	text = bus_text(ch->p.pool_server, ev);
	if (text)
		store_submit_write_atomic(ch->p.store, notify_job, notify_done, text);
}

char *chat_bus_message_text(const char *server, const struct store_msg *sm, bool account)
{
	/* no seq: the insert may not have answered yet (store_msg.defer) */
	json_t *ev = json_pack("{s:s, s:s, s:b, s:s, s:s, s:I, s:s}", "t", sm->room_id ? "m" : "p",
	                       "from", sm->sender, "acct", account, "k", sm->kind, "id", sm->msgid,
	                       "ts", (json_int_t)sm->ts_ms, "x", sm->text ? sm->text : "");
	if (!ev)
		return NULL;
	if (sm->room_id)
		json_object_set_new(ev, "rid", json_integer(sm->room_id));
	else
		json_object_set_new(ev, "to", json_string(sm->peer));
	if (sm->tags)
		json_object_set_new(ev, "g", json_string(sm->tags));
	return bus_text(server, ev);
}

/* The state of local user u: attributes and every room (one event). */
static json_t *user_state(const struct chat_user *u, const char *type)
{
	json_t *rooms = json_array();

	for (size_t i = 0; i < u->rooms.n; i++)
		json_array_append_new(rooms, json_integer(((struct chat_room *)u->rooms.v[i])->id));
	return json_pack("{s:s, s:s, s:b, s:I, s:b, s:b, s:s, s:s, s:s, s:s, s:I, s:o}", "t", type,
	                 "u", u->name, "acct", u->account, "aid", (json_int_t)u->account_id,
	                 "admin", u->admin, "bot", u->bot, "ident", u->ident, "host", u->host,
	                 "real", u->realname, "away", u->away, "on", (json_int_t)u->signon_ms,
	                 "rooms", rooms);
}

void chat_bus_user(struct chat *ch, const struct chat_user *u)
{
	if (chat_bus_on(ch))
		chat_bus_announce(ch, user_state(u, "u"));
}

void chat_bus_join(struct chat *ch, const struct chat_room *r, const struct chat_user *u)
{
	json_t *ev;

	if (!chat_bus_on(ch))
		return;
	ev = user_state(u, "j");
	json_object_set_new(ev, "rid", json_integer(r->id));
	chat_bus_announce(ch, ev);
}

void chat_bus_part(struct chat *ch, const struct chat_room *r, const struct chat_user *u,
                   const char *reason)
{
	if (chat_bus_on(ch))
		chat_bus_announce(ch,
		                  json_pack("{s:s, s:s, s:I, s:s}", "t", "l", "u", u->name, "rid",
		                            (json_int_t)r->id, "why", reason ? reason : ""));
}

void chat_bus_quit(struct chat *ch, const struct chat_user *u, const char *reason)
{
	if (chat_bus_on(ch))
		chat_bus_announce(ch, json_pack("{s:s, s:s, s:s}", "t", "q", "u", u->name, "why",
		                                reason ? reason : ""));
}

void chat_bus_attr(struct chat *ch, const struct chat_user *u)
{
	if (chat_bus_on(ch))
		chat_bus_announce(ch, json_pack("{s:s, s:s, s:s, s:s}", "t", "a", "u", u->name,
		                                "away", u->away, "real", u->realname));
}

void chat_bus_topic(struct chat *ch, const struct chat_room *r)
{
	if (chat_bus_on(ch))
		chat_bus_announce(ch, json_pack("{s:s, s:I, s:s, s:s, s:I}", "t", "tp", "rid",
		                                (json_int_t)r->id, "topic", r->topic, "by",
		                                r->topic_by, "ts", (json_int_t)r->topic_ms));
}

/* --- remote users ------------------------------------------------------------------ */

static bool has_server(const struct chat_user *u, const char *server)
{
	for (size_t i = 0; i < u->servers.n; i++)
		if (strcmp(u->servers.v[i], server) == 0)
			return true;
	return false;
}

static void drop_server(struct chat_user *u, const char *server)
{
	for (size_t i = 0; i < u->servers.n; i++)
		if (strcmp(u->servers.v[i], server) == 0) {
			free(u->servers.v[i]);
			u->servers.v[i] = u->servers.v[--u->servers.n];
			return;
		}
}

/* The user named in ev present through server (made when unknown), or NULL. */
static struct chat_user *remote_user(struct chat *ch, json_t *ev, const char *server)
{
	const char *name = json_string_value(json_object_get(ev, "u"));
	struct chat_user *u;

	if (!name || !*name || strlen(name) >= CHAT_NAME_MAX)
		return NULL;
	u = chat_user_find(ch, name);
	if (!u)
		u = chat_user_new(ch, name, json_is_true(json_object_get(ev, "acct")));
	if (!has_server(u, server))
		ptrvec_push(&u->servers, xstrdup(server));
	if (u->sessions.n == 0) {
		/* Its attributes come from where it is connected. */
		json_t *v;

		u->account = json_is_true(json_object_get(ev, "acct"));
		u->admin = json_is_true(json_object_get(ev, "admin"));
		u->bot = json_is_true(json_object_get(ev, "bot"));
		if ((v = json_object_get(ev, "aid")))
			u->account_id = json_integer_value(v);
		if ((v = json_object_get(ev, "ident")))
			str_copy(u->ident, json_string_value(v) ? json_string_value(v) : "",
			         sizeof(u->ident));
		if ((v = json_object_get(ev, "host")))
			str_copy(u->host, json_string_value(v) ? json_string_value(v) : "",
			         sizeof(u->host));
		if ((v = json_object_get(ev, "real")))
			str_copy(u->realname, json_string_value(v) ? json_string_value(v) : "",
			         sizeof(u->realname));
		if ((v = json_object_get(ev, "away")))
			str_copy(u->away, json_string_value(v) ? json_string_value(v) : "",
			         sizeof(u->away));
		if ((v = json_object_get(ev, "on")))
			u->signon_ms = json_integer_value(v);
	}
	return u;
}

/* The user is in room r everywhere (rooms are shared by all its connections). */
static void remote_enter(struct chat *ch, struct chat_room *r, struct chat_user *u)
{
	if (chat_in_room(u, r))
		return;
	chat_room_enter(ch, r, u);
	if (ch->sink.join)
		ch->sink.join(ch->sink_ctx, r, u);
}

/* Apply a join (or the rooms of a user's state); false when a room is not known yet. */
static bool apply_rooms(struct chat *ch, json_t *ev, struct chat_user *u)
{
	json_t *rooms = json_object_get(ev, "rooms"), *rid = json_object_get(ev, "rid"), *v;
	bool all = true;
	size_t i;

	if (rid) {
		struct chat_room *r = chat_room_by_id(ch, json_integer_value(rid));

		if (!r)
			return false;
		remote_enter(ch, r, u);
		return true;
	}
	json_array_foreach(rooms, i, v)
	{
		struct chat_room *r = chat_room_by_id(ch, json_integer_value(v));

		if (r)
			remote_enter(ch, r, u);
		else
			all = false;
	}
	return all;
}

/* u is no longer connected through server: gone when nothing else holds it. */
static void remote_leave_server(struct chat *ch, struct chat_user *u, const char *server,
                                const char *reason)
{
	drop_server(u, server);
	if (u->sessions.n > 0 || u->servers.n > 0)
		return;
	if (ch->sink.quit)
		ch->sink.quit(ch->sink_ctx, u, reason);
	chat_user_forget(ch, u);
}

/* --- after an outage: mark and sweep ------------------------------------------------ */

/* The key of u's presence through server in ch->bus_sweep. */
static void sweep_key(char *out, size_t cap, const char *server, const char *user)
{
	snprintf(out, cap, "%s\n%s", server, user);
}

static void sweep_clear(struct chat *ch)
{
	for (size_t i = 0; i < ch->bus_sweep.n; i++)
		free(ch->bus_sweep.v[i]);
	ch->bus_sweep.n = 0;
	ch->bus_sweep_until_ms = 0;
}

/* The listener is back: every remote presence waits for its confirmation. */
static void sweep_start(struct chat *ch)
{
	char key[2 * CHAT_NAME_MAX + 2];
	struct map_entry *e;
	size_t it;

	sweep_clear(ch);
	for (e = map_first(&ch->users, &it); e; e = map_next(&ch->users, e, &it)) {
		struct chat_user *u = e->value;

		for (size_t i = 0; i < u->servers.n; i++) {
			sweep_key(key, sizeof(key), u->servers.v[i], u->name);
			ptrvec_push(&ch->bus_sweep, xstrdup(key));
		}
	}
	ch->bus_sweep_until_ms = time_mono_ms() + BUS_SWEEP_MS;
}

/* u is still present through server: no longer swept. */
static void sweep_confirm(struct chat *ch, const char *server, const struct chat_user *u)
{
	char key[2 * CHAT_NAME_MAX + 2];

	sweep_key(key, sizeof(key), server, u->name);
	for (size_t i = 0; i < ch->bus_sweep.n; i++)
		if (strcmp(ch->bus_sweep.v[i], key) == 0) {
			free(ch->bus_sweep.v[i]);
			ch->bus_sweep.v[i] = ch->bus_sweep.v[--ch->bus_sweep.n];
			return;
		}
}

/* A remote user's full state after an outage: leave the rooms it no longer lists. */
static void sweep_rooms(struct chat *ch, json_t *ev, struct chat_user *u)
{
	json_t *rooms = json_object_get(ev, "rooms"), *v;

	if (u->sessions.n > 0 || !json_is_array(rooms))
		return; /* a local user's rooms are known here */
	for (size_t i = u->rooms.n; i-- > 0;) {
		struct chat_room *r = u->rooms.v[i];
		bool listed = false;
		size_t j;

		json_array_foreach(rooms, j, v) listed = listed || json_integer_value(v) == r->id;
		if (listed)
			continue;
		if (ch->sink.part)
			ch->sink.part(ch->sink_ctx, r, u, NULL);
		chat_room_leave(ch, r, u);
	}
}

/* The others had BUS_SWEEP_MS to answer: who was not confirmed left meanwhile. */
static void sweep_end(struct chat *ch)
{
	for (size_t i = 0; i < ch->bus_sweep.n; i++) {
		char *server = ch->bus_sweep.v[i], *user = strchr(server, '\n');
		struct chat_user *u;

		*user++ = '\0';
		u = chat_user_find(ch, user);
		if (!u || !has_server(u, server))
			continue;
		log_info("pool", "%s on %s was not confirmed after the outage: dropping", user,
		         server);
		remote_leave_server(ch, u, server, "Left during a pool outage");
	}
	sweep_clear(ch);
}

/* --- applying ------------------------------------------------------------------------ */

static void apply_message(struct chat *ch, json_t *ev, bool room)
{
	struct chat_msg m;
	const char *from = json_string_value(json_object_get(ev, "from"));
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *kind = json_string_value(json_object_get(ev, "k"));

	if (!from || !id || !kind)
		return;
	memset(&m, 0, sizeof(m));
	m.kind = chat_kind_of(kind);
	str_copy(m.msgid, id, sizeof(m.msgid));
	m.ts_ms = json_integer_value(json_object_get(ev, "ts"));
	str_copy(m.from_name, from, sizeof(m.from_name));
	m.from = chat_user_find(ch, from);
	m.text = json_string_value(json_object_get(ev, "x"));
	m.text = m.text ? m.text : "";
	m.client_tags = json_string_value(json_object_get(ev, "g"));
	if (room) {
		m.room = chat_room_by_id(ch, json_integer_value(json_object_get(ev, "rid")));
		if (m.room && ch->sink.room_message)
			ch->sink.room_message(ch->sink_ctx, &m, NULL);
		return;
	}
	m.to = chat_user_find(ch, json_string_value(json_object_get(ev, "to")) ?: "");
	if ((m.to || m.from) && ch->sink.private_message)
		ch->sink.private_message(ch->sink_ctx, &m, NULL);
}

static void apply_part(struct chat *ch, json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "u"));
	struct chat_user *u = name ? chat_user_find(ch, name) : NULL;
	struct chat_room *r = chat_room_by_id(ch, json_integer_value(json_object_get(ev, "rid")));

	if (!u || !r || !chat_in_room(u, r))
		return;
	if (ch->sink.part)
		ch->sink.part(ch->sink_ctx, r, u, json_string_value(json_object_get(ev, "why")));
	chat_room_leave(ch, r, u);
}

static void apply_attr(struct chat *ch, json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "u"));
	const char *away = json_string_value(json_object_get(ev, "away"));
	const char *real = json_string_value(json_object_get(ev, "real"));
	struct chat_user *u = name ? chat_user_find(ch, name) : NULL;

	if (!u)
		return;
	if (away && strcmp(away, u->away) != 0) {
		str_copy(u->away, away, sizeof(u->away));
		if (ch->sink.away)
			ch->sink.away(ch->sink_ctx, u);
	}
	if (real && strcmp(real, u->realname) != 0) {
		str_copy(u->realname, real, sizeof(u->realname));
		if (ch->sink.setname)
			ch->sink.setname(ch->sink_ctx, u);
	}
}

static void apply_topic(struct chat *ch, json_t *ev)
{
	struct chat_room *r = chat_room_by_id(ch, json_integer_value(json_object_get(ev, "rid")));
	const char *topic = json_string_value(json_object_get(ev, "topic"));
	const char *by = json_string_value(json_object_get(ev, "by"));

	if (!r || !topic)
		return;
	str_copy(r->topic, topic, sizeof(r->topic));
	str_copy(r->topic_by, by ? by : "", sizeof(r->topic_by));
	r->topic_ms = json_integer_value(json_object_get(ev, "ts"));
	if (ch->sink.topic)
		ch->sink.topic(ch->sink_ctx, r);
}

/* Answer a hello: the state of every local user. */
static void apply_hello(struct chat *ch)
{
	struct map_entry *e;
	size_t it;

	for (e = map_first(&ch->users, &it); e; e = map_next(&ch->users, e, &it)) {
		struct chat_user *u = e->value;

		if (u->sessions.n > 0)
			chat_bus_user(ch, u);
	}
}

static void pending_add(struct chat *ch, const char *payload)
{
	struct bus_pending *p = xmalloc(sizeof(*p));

	p->payload = xstrdup(payload);
	p->expires_ms = time_mono_ms() + BUS_PENDING_MS;
	ptrvec_push(&ch->bus_pending, p);
}

/* A join or a user's state from server s (u made present through s). */
static bool apply_state(struct chat *ch, json_t *ev, const char *t, const char *s,
                        struct chat_user *u)
{
	if (ch->bus_sweep_until_ms) {
		sweep_confirm(ch, s, u);
		if (t[0] == 'u')
			sweep_rooms(ch, ev, u);
	}
	return apply_rooms(ch, ev, u);
}

/* Apply one event; false when it must wait for a room this server does not know yet. */
static bool apply(struct chat *ch, json_t *ev)
{
	const char *t = json_string_value(json_object_get(ev, "t"));
	const char *s = json_string_value(json_object_get(ev, "s"));
	struct chat_user *u;

	if (!t || !s || strcmp(s, ch->p.pool_server) == 0)
		return true; /* our own, already applied here */
	if (strcmp(t, "m") == 0 || strcmp(t, "p") == 0)
		apply_message(ch, ev, t[0] == 'm');
	else if (strcmp(t, "j") == 0 || strcmp(t, "u") == 0)
		return (u = remote_user(ch, ev, s)) == NULL || apply_state(ch, ev, t, s, u);
	else if (strcmp(t, "l") == 0)
		apply_part(ch, ev);
	else if (strcmp(t, "q") == 0 &&
	         (u = chat_user_find(ch, json_string_value(json_object_get(ev, "u")) ?: "")))
		remote_leave_server(ch, u, s, json_string_value(json_object_get(ev, "why")));
	else if (strcmp(t, "a") == 0)
		apply_attr(ch, ev);
	else if (strcmp(t, "tp") == 0)
		apply_topic(ch, ev);
	else if (strcmp(t, "h") == 0)
		apply_hello(ch);
	return true;
}

/* Apply one whole event (JSON text). */
static void handle(struct chat *ch, const char *payload)
{
	json_t *ev = json_loads(payload, 0, NULL);

	if (!ev || !json_is_object(ev)) {
		log_warn("pool", "ignoring a malformed pool event");
		json_decref(ev);
		return;
	}
	if (!apply(ch, ev))
		pending_add(ch, payload);
	json_decref(ev);
}

struct fetch_op {
	struct chat *ch; /* engine */
	char *ref;       /* the reference received */
	char *payload;   /* the event read, or NULL */
};

static void receive(struct chat *ch, const char *payload);

static int fetch_job(struct store_conn *c, void *arg)
{
	struct fetch_op *op = arg;

	return store_notify_fetch(c, op->ref, &op->payload);
}

/* Apply what waited behind large events, reading the next large one in turn. */
static void drain(struct chat *ch)
{
	while (!ch->bus_fetching && ch->bus_inbox_head < ch->bus_inbox.n) {
		char *p = ch->bus_inbox.v[ch->bus_inbox_head++];

		receive(ch, p);
		free(p);
	}
	if (ch->bus_inbox_head == ch->bus_inbox.n)
		ch->bus_inbox.n = ch->bus_inbox_head = 0;
}

static void fetch_done(int rc, void *arg)
{
	struct fetch_op *op = arg;
	struct chat *ch = op->ch;

	ch->bus_fetching = false;
	if (rc)
		log_warn("pool", "a large pool event (%s) could not be read: %s", op->ref,
		         store_strerror(rc));
	else
		handle(ch, op->payload);
	free(op->ref);
	free(op->payload);
	free(op);
	drain(ch);
}

/* One event in commit order: applied now, or read first when it is a reference. */
static void receive(struct chat *ch, const char *payload)
{
	struct fetch_op *op;

	if (!store_notify_is_ref(payload)) {
		handle(ch, payload);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->ch = ch;
	op->ref = xstrdup(payload);
	ch->bus_fetching = true;
	store_submit_read(ch->p.store, fetch_job, fetch_done, op);
}

/* Lost events: confirm every remote presence again (file header). */
static void resync(struct chat *ch)
{
	sweep_start(ch);
	chat_bus_announce(ch, json_pack("{s:s}", "t", "h"));
}

static void on_event(const char *payload, void *arg)
{
	struct chat *ch = arg;

	if (!payload) {
		log_info("pool", "notifications back: asking the pool for its state");
		resync(ch);
		return;
	}
	if (!ch->bus_fetching) {
		receive(ch, payload);
		return;
	}
	if (ch->bus_inbox.n - ch->bus_inbox_head >= BUS_INBOX_MAX) {
		log_warn("pool",
		         "%d pool events wait behind a large one: dropping them and "
		         "asking the pool for its state",
		         BUS_INBOX_MAX);
		for (size_t i = ch->bus_inbox_head; i < ch->bus_inbox.n; i++)
			free(ch->bus_inbox.v[i]);
		ch->bus_inbox.n = ch->bus_inbox_head = 0;
		resync(ch);
	}
	ptrvec_push(&ch->bus_inbox, xstrdup(payload));
}

/* --- dead servers and late rooms ------------------------------------------------ */

struct servers_op {
	struct chat *ch;           /* engine */
	struct store_server *rows; /* heartbeats */
	size_t n;                  /* how many */
};

static int servers_job(struct store_conn *c, void *arg)
{
	struct servers_op *op = arg;

	return store_server_list(c, &op->rows, &op->n);
}

static bool server_alive(const struct servers_op *op, const char *name, int64_t now)
{
	for (size_t i = 0; i < op->n; i++)
		if (strcmp(op->rows[i].name, name) == 0)
			return now - op->rows[i].seen_ms <= BUS_DEAD_MS;
	return false;
}

static void servers_done(int rc, void *arg)
{
	struct servers_op *op = arg;
	struct chat *ch = op->ch;
	struct map_entry *e, *next;
	int64_t now = time_now_ms();
	size_t it;

	ch->bus_busy = false;
	for (e = rc ? NULL : map_first(&ch->users, &it); e; e = next) {
		struct chat_user *u = e->value;

		next = map_next(&ch->users, e, &it);
		for (size_t i = u->servers.n; i-- > 0;) {
			char name[CHAT_NAME_MAX];

			str_copy(name, u->servers.v[i], sizeof(name));
			if (server_alive(op, name, now))
				continue;
			log_info("pool", "server %s is gone: dropping %s", name, u->name);
			remote_leave_server(ch, u, name, "Server gone");
			break; /* u may be freed; a later tick sees the rest */
		}
	}
	free(op->rows);
	free(op);
}

static void retry_pending(struct chat *ch)
{
	int64_t now = time_mono_ms();

	for (size_t i = ch->bus_pending.n; i-- > 0;) {
		struct bus_pending *p = ch->bus_pending.v[i];
		json_t *ev = json_loads(p->payload, 0, NULL);
		bool done = !ev || apply(ch, ev) || now > p->expires_ms;

		json_decref(ev);
		if (!done)
			continue;
		ch->bus_pending.v[i] = ch->bus_pending.v[--ch->bus_pending.n];
		free(p->payload);
		free(p);
	}
}

static void bus_tick(evutil_socket_t fd, short what, void *arg)
{
	struct chat *ch = arg;
	struct servers_op *op;

	(void)fd;
	(void)what;
	retry_pending(ch);
	if (ch->bus_sweep_until_ms && time_mono_ms() >= ch->bus_sweep_until_ms)
		sweep_end(ch);
	if (ch->bus_busy)
		return;
	ch->bus_busy = true;
	op = xcalloc(1, sizeof(*op));
	op->ch = ch;
	store_submit_read(ch->p.store, servers_job, servers_done, op);
}

/* --- life ------------------------------------------------------------------------- */

int chat_bus_start(struct chat *ch)
{
	struct timeval tv = {BUS_TICK_MS / 1000, (BUS_TICK_MS % 1000) * 1000};
	char err[256];

	if (!ch->p.pool_server || !*ch->p.pool_server)
		return 0;
	ch->bus = store_listen(ch->p.store, ch->p.base, on_event, ch, err, sizeof(err));
	if (!ch->bus) {
		log_error("pool", "cannot listen to the pool: %s", err);
		return -1;
	}
	ch->bus_timer = event_new(ch->p.base, -1, EV_PERSIST, bus_tick, ch);
	event_add(ch->bus_timer, &tv);
	chat_bus_announce(ch, json_pack("{s:s}", "t", "h"));
	log_info("pool", "server %s: listening to the pool", ch->p.pool_server);
	return 0;
}

void chat_bus_stop(struct chat *ch)
{
	if (ch->bus_timer)
		event_free(ch->bus_timer);
	ch->bus_timer = NULL;
	store_listener_free(ch->bus);
	ch->bus = NULL;
	for (size_t i = 0; i < ch->bus_pending.n; i++) {
		struct bus_pending *p = ch->bus_pending.v[i];

		free(p->payload);
		free(p);
	}
	ptrvec_free(&ch->bus_pending);
	for (size_t i = ch->bus_inbox_head; i < ch->bus_inbox.n; i++)
		free(ch->bus_inbox.v[i]);
	ptrvec_free(&ch->bus_inbox);
	ch->bus_inbox_head = 0;
	sweep_clear(ch);
	ptrvec_free(&ch->bus_sweep);
}
