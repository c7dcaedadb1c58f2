/*
 * post.c — posting messages: durable first, then delivered.
 *
 * A message gets its msgid and server time here, goes to the store as a
 * write job (grouped with others into one commit), and only when the commit
 * is durable is it handed to the sink for delivery (SPEC §4). The sender's
 * session is looked up by id at completion: it may have gone meanwhile, and
 * the message, committed, is delivered to everyone else all the same, and
 * the callback still runs (the caller finds out its client has gone).
 *
 * With compliance capture on, the message's CHAT event is written by the
 * same job, in the same transaction (SPEC §5): committed together or not at
 * all. A room without history then goes through the store too (only its
 * event is written) and is delivered once that is durable.
 */
#include "chat/chat_int.h"
#include "common/id.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

struct post_op {
	struct chat *ch;              /* engine */
	uint64_t sid;                 /* sender's session */
	char room_key[CHAT_NAME_MAX]; /* target room key, or "" */
	char to_key[CHAT_NAME_MAX];   /* target user key, or "" */
	enum chat_msg_kind kind;      /* PRIVMSG/NOTICE/TAGMSG */
	struct store_msg sm;          /* what is stored (owns text/tags) */
	chat_post_cb cb;              /* sender's completion */
	void *arg;                    /* its argument */
	bool keep;                    /* stored as history (else only delivered) */
	struct store_cevent *ce;      /* its compliance event, or NULL (owned) */
	const char *bus;              /* pool: this server's name (announce in the job), or NULL */
	bool account;                 /* the sender has an account (for the announcement) */
};

static const char *const kind_names[] = {"PRIVMSG", "NOTICE", "TAGMSG", "JOIN",
                                         "PART",    "TOPIC",  "MODE"};

static void post_op_free(struct post_op *op)
{
	free(op->sm.text);
	free(op->sm.tags);
	chat_capture_free(op->ce);
	free(op);
}

static void deliver(struct post_op *op, struct chat_session *from)
{
	struct chat *ch = op->ch;
	struct chat_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = op->kind;
	str_copy(m.msgid, op->sm.msgid, sizeof(m.msgid));
	m.ts_ms = op->sm.ts_ms;
	m.seq = op->sm.seq;
	str_copy(m.from_name, op->sm.sender, sizeof(m.from_name));
	m.from = from ? from->user : chat_user_find(ch, op->sm.sender);
	m.text = op->sm.text;
	m.client_tags = op->sm.tags;
	if (op->room_key[0]) {
		m.room = map_get(&ch->rooms, op->room_key);
		if (m.room && m.room->id == op->sm.room_id && ch->sink.room_message)
			ch->sink.room_message(ch->sink_ctx, &m, from);
	} else {
		m.to = map_get(&ch->users, op->to_key);
		if (ch->sink.private_message)
			ch->sink.private_message(ch->sink_ctx, &m, from);
	}
	if (op->cb)
		op->cb(0, &m, op->arg);
}

/*
 * Atomic (store_submit_write_atomic): the event is built valid, so once the
 * message is in, adding it can fail only with STORE_EIO, which rolls the
 * whole group commit back.
 */
static int post_job(struct store_conn *c, void *arg)
{
	struct post_op *op = arg;
	int rc = op->keep && op->kind != CHAT_TAGMSG ? store_msg_insert(c, &op->sm) : 0;
	char *text;

	if (rc == 0 && op->ce)
		rc = store_cevent_add(c, op->ce);
	if (rc == 0 && op->bus && (text = chat_bus_message_text(op->bus, &op->sm, op->account))) {
		/* Heard by the other servers when this commits (bus.c); built valid and short. */
		rc = store_notify(c, text);
		free(text);
	}
	return rc;
}

static void post_done(int rc, void *arg)
{
	struct post_op *op = arg;
	struct chat_session *from = chat_session_find(op->ch, op->sid);

	if (rc) {
		log_warn("chat", "message %s from %s not stored: %s", op->sm.msgid, op->sm.sender,
		         store_strerror(rc));
		if (op->cb)
			op->cb(CHAT_ESTORE, NULL, op->arg);
	} else {
		deliver(op, from);
	}
	post_op_free(op);
}

static struct post_op *post_op_new(struct chat *ch, struct chat_session *s, enum chat_msg_kind kind,
                                   const char *text, const char *client_tags, chat_post_cb cb,
                                   void *arg)
{
	struct post_op *op = xcalloc(1, sizeof(*op));

	op->ch = ch;
	op->sid = s->id;
	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	op->sm.ts_ms = time_now_ms();
	id_new(op->sm.ts_ms, op->sm.msgid);
	str_copy(op->sm.sender, s->user->name, sizeof(op->sm.sender));
	str_copy(op->sm.kind, kind_names[kind], sizeof(op->sm.kind));
	op->sm.text = xstrdup(text ? text : "");
	op->sm.tags = client_tags && *client_tags ? xstrdup(client_tags) : NULL;
	op->sm.defer = true; /* id and seq are read in post_done only */
	s->user->last_active_ms = op->sm.ts_ms;
	op->bus = chat_bus_on(ch) ? ch->p.pool_server : NULL;
	op->account = s->user->account;
	return op;
}

/* The CHAT event of a message (TAGMSG carries no content and is not captured). */
static void post_capture(struct post_op *op, struct chat_session *s, struct chat_room *room)
{
	if (op->kind == CHAT_TAGMSG)
		return;
	op->ce = chat_capture_new(op->ch, "CHAT", s->user, s, room);
	if (!op->ce)
		return;
	op->ce->ts_ms = op->sm.ts_ms;
	str_copy(op->ce->msgid, op->sm.msgid, sizeof(op->ce->msgid));
	str_copy(op->ce->peer, op->sm.peer, sizeof(op->ce->peer));
	chat_capture_set(op->ce, op->sm.text,
	                 op->kind == CHAT_NOTICE ? json_pack("{s:s}", "kind", "NOTICE") : NULL);
}

static void post_submit(struct post_op *op)
{
	if ((op->kind != CHAT_TAGMSG && (op->keep || op->ce)) || op->bus) {
		store_submit_write_atomic(op->ch->p.store, post_job, post_done, op);
		return;
	}
	/* Tags only (typing, reactions), or a room without history or capture: relayed at once
	 * (in a pool they go through a job too, to be announced). */
	deliver(op, chat_session_find(op->ch, op->sid));
	post_op_free(op);
}

void chat_post_room(struct chat *ch, struct chat_session *s, struct chat_room *room,
                    enum chat_msg_kind kind, const char *text, const char *client_tags,
                    chat_post_cb cb, void *arg)
{
	struct post_op *op;

	if (!chat_in_room(s->user, room) || !chat_can_post(ch, s->user, room)) {
		if (cb)
			cb(chat_in_room(s->user, room) ? CHAT_EDENIED : CHAT_ENOTIN, NULL, arg);
		return;
	}
	op = post_op_new(ch, s, kind, text, client_tags, cb, arg);
	op->sm.room_id = room->id;
	/* A category without history: delivered (and captured), not kept. */
	op->keep = chat_keeps_history(ch, room);
	str_copy(op->room_key, room->key, sizeof(op->room_key));
	post_capture(op, s, room);
	post_submit(op);
}

void chat_post_user(struct chat *ch, struct chat_session *s, struct chat_user *to,
                    enum chat_msg_kind kind, const char *text, const char *client_tags,
                    chat_post_cb cb, void *arg)
{
	struct post_op *op = post_op_new(ch, s, kind, text, client_tags, cb, arg);

	str_copy(op->sm.peer, to->name, sizeof(op->sm.peer));
	str_copy(op->to_key, to->key, sizeof(op->to_key));
	op->keep = true;
	post_capture(op, s, NULL);
	post_submit(op);
}

/* --- history events (event-playback) ------------------------------------------- */

/* A history event and/or its compliance event (JOIN, PART). */
struct event_op {
	struct store_msg m;      /* the history event */
	bool keep;               /* the room keeps history: m is stored */
	struct store_cevent *ce; /* compliance event, or NULL */
};

/* Atomic like post_job. */
static int event_job(struct store_conn *c, void *arg)
{
	struct event_op *op = arg;
	int rc = op->keep ? store_msg_insert(c, &op->m) : 0;

	if (rc == 0 && op->ce)
		rc = store_cevent_add(c, op->ce);
	return rc;
}

static void event_done(int rc, void *arg)
{
	struct event_op *op = arg;

	if (rc)
		log_warn("chat", "a %s event of %s was not kept: %s", op->m.kind, op->m.sender,
		         store_strerror(rc));
	store_msg_free(&op->m);
	chat_capture_free(op->ce);
	free(op);
}

void chat_event(struct chat *ch, struct chat_room *r, const char *who, enum chat_msg_kind kind,
                const char *text)
{
	struct event_op *op;
	bool keep = chat_keeps_history(ch, r);
	struct store_cevent *ce = NULL;

	if (kind == CHAT_EV_JOIN || kind == CHAT_EV_PART)
		ce = chat_capture_new(ch, kind_names[kind], chat_user_find(ch, who), NULL, r);
	if (!keep && !ce)
		return;
	op = xcalloc(1, sizeof(*op));
	op->keep = keep;
	op->ce = ce;
	op->m.room_id = r->id;
	op->m.ts_ms = time_now_ms();
	id_new(op->m.ts_ms, op->m.msgid);
	str_copy(op->m.sender, who, sizeof(op->m.sender));
	str_copy(op->m.kind, kind_names[kind], sizeof(op->m.kind));
	op->m.text = xstrdup(text ? text : "");
	if (ce) {
		ce->ts_ms = op->m.ts_ms;
		chat_capture_set(ce, text, NULL);
	}
	store_submit_write_atomic(ch->p.store, event_job, event_done, op);
}
