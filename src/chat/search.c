/*
 * search.c — searching history: only rooms the user may read (disabled
 * ones never), plus the user's own private conversations. The query runs
 * on a store reader thread (FTS5 in SQLite); this file decides the scope
 * and turns rows into messages.
 */
#include "chat/chat_int.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

struct search_op {
	struct chat *ch;            /* engine */
	struct chat_search_query q; /* what was asked (q.room not used on the thread) */
	char me[CHAT_NAME_MAX];     /* who asks (private conversations) */
	struct chat_actor by;       /* who asks, for compliance (SEARCH) */
	int64_t room_id;            /* the room searched (q.room), 0 = everywhere */
	bool private_too;           /* include the user's private messages */
	int64_t *room_ids;          /* readable rooms */
	size_t n_rooms;             /* how many */
	struct store_msg *rows;     /* found, newest first */
	size_t n;                   /* how many */
	bool more;                  /* further results exist */
	chat_search_cb cb;          /* caller's completion */
	void *arg;                  /* its argument */
};

static int search_job(struct store_conn *c, void *arg)
{
	struct search_op *op = arg;
	struct store_search_query q;

	memset(&q, 0, sizeof(q));
	q.room_ids = op->room_ids;
	q.n_rooms = op->n_rooms;
	q.account = op->private_too ? op->me : NULL;
	q.text = op->q.text;
	q.match = op->q.match;
	q.case_sensitive = op->q.case_sensitive;
	q.sender = op->q.from[0] ? op->q.from : NULL;
	q.after_ts = op->q.after_ts;
	q.before_ts = op->q.before_ts;
	q.limit = op->q.limit;
	return store_msg_search(c, &q, &op->rows, &op->n, &op->more);
}

static void search_done(int rc, void *arg)
{
	struct search_op *op = arg;
	struct chat_msg *msgs = NULL;
	size_t n = 0;

	if (rc == 0 && op->n > 0) {
		msgs = xcalloc(op->n, sizeof(*msgs));
		for (size_t i = 0; i < op->n; i++) {
			const struct store_msg *s = &op->rows[i];
			struct chat_room *r =
			    s->room_id ? chat_room_by_id(op->ch, s->room_id) : NULL;
			struct chat_msg *m = &msgs[n];

			if (s->room_id && !r)
				continue; /* removed meanwhile */
			chat_msg_from_store(op->ch, s, r,
			                    s->room_id ? NULL : chat_user_find(op->ch, s->peer), m);
			if (m->kind != CHAT_PRIVMSG && m->kind != CHAT_NOTICE)
				continue; /* history events are not messages to find */
			n++;
		}
	}
	if (rc == 0)
		chat_capture_search(op->ch, &op->by, &op->q,
		                    op->room_id ? chat_room_by_id(op->ch, op->room_id) : NULL, n,
		                    op->more);
	op->cb(rc ? CHAT_ESTORE : 0, msgs, n, op->more, op->arg);
	free(msgs);
	for (size_t i = 0; i < op->n; i++)
		store_msg_free(&op->rows[i]);
	free(op->rows);
	free(op->room_ids);
	free(op);
}

void chat_search(struct chat *ch, struct chat_user *u, const struct chat_search_query *q,
                 chat_search_cb cb, void *arg)
{
	struct search_op *op = xcalloc(1, sizeof(*op));
	struct map_entry *e;
	size_t it;

	op->ch = ch;
	op->q = *q;
	op->q.room = NULL;
	if (op->q.limit < 1 || op->q.limit > 1000)
		op->q.limit = op->q.limit < 1 ? 1 : 1000;
	str_copy(op->me, u->name, sizeof(op->me));
	chat_actor_of(&op->by, u, NULL);
	op->room_id = q->room ? q->room->id : 0;
	op->room_ids = xcalloc(ch->rooms.n_entries + 1, sizeof(*op->room_ids));
	if (q->room) {
		if (chat_may_read(ch, u, q->room))
			op->room_ids[op->n_rooms++] = q->room->id;
	} else {
		op->private_too = u->account;
		for (e = map_first(&ch->rooms, &it); e; e = map_next(&ch->rooms, e, &it))
			if (chat_may_read(ch, u, e->value))
				op->room_ids[op->n_rooms++] = ((struct chat_room *)e->value)->id;
	}
	op->cb = cb;
	op->arg = arg;
	store_submit_read(ch->p.store, search_job, search_done, op);
}
