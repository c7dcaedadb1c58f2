/*
 * history.c — reading history back: windows of a room or a private
 * conversation (chathistory BEFORE/AFTER/LATEST/AROUND/BETWEEN, replay on
 * JOIN) and the list of active conversations (TARGETS).
 *
 * A read runs as one job on a store reader thread (msgid references are
 * resolved there too, in the same snapshot); rooms and users are looked up
 * again by key when it completes.
 */
#include "chat/chat_int.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX 1000 /* messages one query may return */

struct history_op {
	struct chat *ch;              /* engine */
	struct chat_history_window w; /* what was asked (w.room not used on the thread) */
	int64_t room_id;              /* room, or 0 */
	char room_key[CHAT_NAME_MAX]; /* its map key */
	char me[CHAT_NAME_MAX];       /* the reader (private conversations) */
	struct chat_actor by;         /* the reader, for compliance (BACKCHAT) */
	struct store_msg *rows;       /* read on the store thread */
	size_t n;                     /* how many */
	chat_history_cb cb;           /* caller's completion */
	void *arg;                    /* its argument */
};

/* Resolve a msgid reference to its global id (0 when unknown). */
static int ref_id(struct store_conn *c, const char *msgid, int64_t *id, int64_t *ts)
{
	struct store_msg m;
	int rc;

	*id = 0;
	if (!msgid[0])
		return 0;
	memset(&m, 0, sizeof(m));
	rc = store_msg_by_msgid(c, msgid, &m);
	if (rc == 0) {
		*id = m.id;
		if (ts)
			*ts = m.ts_ms;
	}
	store_msg_free(&m);
	return rc == STORE_ENOTFOUND ? 0 : rc;
}

/* Append the rows of one query to op->rows. */
static int fetch(struct store_conn *c, struct history_op *op, struct store_history_query *q)
{
	struct store_msg *rows = NULL;
	size_t n = 0;
	int rc;

	q->room_id = op->room_id;
	q->messages_only = op->w.messages_only;
	q->a = op->room_id ? NULL : op->me;
	q->b = op->room_id ? NULL : op->w.peer;
	rc = store_msg_history(c, q, &rows, &n);
	if (rc || n == 0)
		return rc;
	op->rows = xrealloc(op->rows, (op->n + n) * sizeof(*op->rows));
	memcpy(op->rows + op->n, rows, n * sizeof(*rows));
	op->n += n;
	free(rows);
	return 0;
}

/* AROUND: the older half (reference included), then the newer half. */
static int around(struct store_conn *c, struct history_op *op)
{
	struct store_history_query q;
	int64_t id = 0, ts = op->w.around_ts;
	int older = (op->w.limit + 1) / 2, rc;

	if ((rc = ref_id(c, op->w.around_msgid, &id, &ts)) != 0)
		return rc;
	if (op->w.around_msgid[0] && !id)
		return 0; /* unknown reference: nothing around it */
	memset(&q, 0, sizeof(q));
	q.before_id = id ? id + 1 : 0;
	q.before_ts = id ? 0 : ts + 1;
	q.limit = older;
	q.from_newest = true;
	if ((rc = fetch(c, op, &q)) != 0)
		return rc;
	memset(&q, 0, sizeof(q));
	q.after_id = id;
	q.after_ts = id ? 0 : ts;
	q.limit = op->w.limit - (int)op->n;
	return q.limit > 0 ? fetch(c, op, &q) : 0;
}

static int history_job(struct store_conn *c, void *arg)
{
	struct history_op *op = arg;
	struct store_history_query q;
	int rc;

	if (op->w.around_msgid[0] || op->w.around_ts)
		return around(c, op);
	memset(&q, 0, sizeof(q));
	if ((rc = ref_id(c, op->w.after_msgid, &q.after_id, NULL)) != 0 ||
	    (rc = ref_id(c, op->w.before_msgid, &q.before_id, NULL)) != 0)
		return rc;
	/* An unknown msgid bound makes an empty window, not an unbounded one. */
	if ((op->w.after_msgid[0] && !q.after_id) || (op->w.before_msgid[0] && !q.before_id))
		return 0;
	q.after_ts = op->w.after_ts;
	q.before_ts = op->w.before_ts;
	q.limit = op->w.limit;
	q.from_newest = op->w.from_newest;
	return fetch(c, op, &q);
}

void chat_msg_from_store(struct chat *ch, const struct store_msg *s, struct chat_room *room,
                         struct chat_user *to, struct chat_msg *m)
{
	m->kind = chat_kind_of(s->kind);
	str_copy(m->msgid, s->msgid, sizeof(m->msgid));
	m->ts_ms = s->ts_ms;
	m->seq = s->seq;
	str_copy(m->from_name, s->sender, sizeof(m->from_name));
	m->from = chat_user_find(ch, s->sender);
	m->room = room;
	m->to = to;
	m->text = s->text ? s->text : "";
	m->client_tags = s->tags;
}

enum chat_msg_kind chat_kind_of(const char *kind)
{
	static const char *const names[] = {"PRIVMSG", "NOTICE", "TAGMSG", "JOIN",
	                                    "PART",    "TOPIC",  "MODE"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(kind, names[i]) == 0)
			return (enum chat_msg_kind)i;
	return CHAT_PRIVMSG;
}

static void history_done(int rc, void *arg)
{
	struct history_op *op = arg;
	struct chat_room *r = op->room_id ? map_get(&op->ch->rooms, op->room_key) : NULL;
	struct chat_user *peer = op->room_id ? NULL : chat_user_find(op->ch, op->w.peer);
	struct chat_msg *msgs = NULL;

	if (rc == 0 && op->n > 0) {
		msgs = xcalloc(op->n, sizeof(*msgs));
		for (size_t i = 0; i < op->n; i++) {
			chat_msg_from_store(op->ch, &op->rows[i], r, peer, &msgs[i]);
		}
	}
	if (rc == 0 && op->room_id && (!r || r->id != op->room_id))
		rc = CHAT_ENOROOM;
	else if (rc)
		rc = CHAT_ESTORE;
	if (rc == 0)
		chat_capture_backchat(op->ch, &op->by, r, op->room_id ? NULL : op->w.peer, &op->w,
		                      msgs, op->n);
	op->cb(rc, msgs, rc ? 0 : op->n, op->arg);
	free(msgs);
	for (size_t i = 0; i < op->n; i++)
		store_msg_free(&op->rows[i]);
	free(op->rows);
	free(op);
}

void chat_history_query(struct chat *ch, struct chat_user *u, const struct chat_history_window *w,
                        chat_history_cb cb, void *arg)
{
	struct history_op *op;

	if (w->room && !chat_may_read(ch, u, w->room)) {
		cb(CHAT_EDENIED, NULL, 0, arg);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->ch = ch;
	op->w = *w;
	op->w.room = NULL;
	if (op->w.limit < 1)
		op->w.limit = 1;
	if (op->w.limit > HISTORY_MAX)
		op->w.limit = HISTORY_MAX;
	if (w->room) {
		op->room_id = w->room->id;
		str_copy(op->room_key, w->room->key, sizeof(op->room_key));
	}
	str_copy(op->me, u->name, sizeof(op->me));
	chat_actor_of(&op->by, u, NULL);
	op->cb = cb;
	op->arg = arg;
	store_submit_read(ch->p.store, history_job, history_done, op);
}

void chat_history_latest(struct chat *ch, struct chat_user *u, struct chat_room *room, int limit,
                         chat_history_cb cb, void *arg)
{
	struct history_op *op = xcalloc(1, sizeof(*op));

	op->ch = ch;
	str_copy(op->me, u->name, sizeof(op->me));
	chat_actor_of(&op->by, u, NULL);
	op->room_id = room->id;
	str_copy(op->room_key, room->key, sizeof(op->room_key));
	op->w.limit = limit < 1 ? 1 : limit > HISTORY_MAX ? HISTORY_MAX : limit;
	op->w.from_newest = true;
	op->w.messages_only = true; /* replay on JOIN: messages, never events */
	op->cb = cb;
	op->arg = arg;
	store_submit_read(ch->p.store, history_job, history_done, op);
}

/* --- TARGETS ------------------------------------------------------------------ */

struct targets_op {
	struct chat *ch;           /* engine */
	int64_t *room_ids;         /* readable rooms */
	size_t n_rooms;            /* how many */
	char me[CHAT_NAME_MAX];    /* the reader */
	int64_t after_ts;          /* window */
	int64_t before_ts;         /* window */
	int limit;                 /* at most */
	struct store_target *rows; /* read on the thread */
	size_t n;                  /* how many */
	chat_targets_cb cb;        /* caller's completion */
	void *arg;                 /* its argument */
};

static int targets_job(struct store_conn *c, void *arg)
{
	struct targets_op *op = arg;

	return store_msg_targets(c, op->room_ids, op->n_rooms, op->me, op->after_ts, op->before_ts,
	                         op->limit, &op->rows, &op->n);
}

static void targets_done(int rc, void *arg)
{
	struct targets_op *op = arg;
	struct chat_target *t = NULL;

	if (rc == 0 && op->n > 0) {
		t = xcalloc(op->n, sizeof(*t));
		for (size_t i = 0; i < op->n; i++) {
			t[i].room = op->rows[i].room;
			str_copy(t[i].name, op->rows[i].name, sizeof(t[i].name));
			t[i].last_ts = op->rows[i].last_ts;
		}
	}
	op->cb(rc ? CHAT_ESTORE : 0, t, rc ? 0 : op->n, op->arg);
	free(t);
	free(op->rows);
	free(op->room_ids);
	free(op);
}

void chat_history_targets(struct chat *ch, struct chat_user *u, int64_t after_ts, int64_t before_ts,
                          int limit, chat_targets_cb cb, void *arg)
{
	struct targets_op *op = xcalloc(1, sizeof(*op));
	struct map_entry *e;
	size_t it;

	op->ch = ch;
	op->room_ids = xcalloc(ch->rooms.n_entries + 1, sizeof(*op->room_ids));
	for (e = map_first(&ch->rooms, &it); e; e = map_next(&ch->rooms, e, &it))
		if (chat_may_read(ch, u, e->value))
			op->room_ids[op->n_rooms++] = ((struct chat_room *)e->value)->id;
	str_copy(op->me, u->name, sizeof(op->me));
	op->after_ts = after_ts;
	op->before_ts = before_ts;
	op->limit = limit < 1 ? 1 : limit > HISTORY_MAX ? HISTORY_MAX : limit;
	op->cb = cb;
	op->arg = arg;
	store_submit_read(ch->p.store, targets_job, targets_done, op);
}
