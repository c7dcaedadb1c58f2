/*
 * history.c — reading a room's history back (for now: the newest messages,
 * replayed on JOIN). The read runs on a store reader thread; the room is
 * looked up again by key when it completes.
 */
#include "chat/chat_int.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

struct history_op {
	struct chat *ch;              /* engine */
	int64_t room_id;              /* room */
	char room_key[CHAT_NAME_MAX]; /* its map key */
	int limit;                    /* messages wanted */
	struct store_msg *rows;       /* read on the store thread */
	size_t n;                     /* how many */
	chat_history_cb cb;           /* caller's completion */
	void *arg;                    /* its argument */
};

static int history_job(struct store_conn *c, void *arg)
{
	struct history_op *op = arg;

	return store_msg_latest(c, op->room_id, NULL, NULL, 0, op->limit, &op->rows, &op->n);
}

static enum chat_msg_kind kind_of(const char *kind)
{
	if (strcmp(kind, "NOTICE") == 0)
		return CHAT_NOTICE;
	return strcmp(kind, "TAGMSG") == 0 ? CHAT_TAGMSG : CHAT_PRIVMSG;
}

static void history_done(int rc, void *arg)
{
	struct history_op *op = arg;
	struct chat_room *r = map_get(&op->ch->rooms, op->room_key);
	struct chat_msg *msgs = NULL;

	if (rc == 0 && op->n > 0) {
		msgs = xcalloc(op->n, sizeof(*msgs));
		for (size_t i = 0; i < op->n; i++) {
			const struct store_msg *s = &op->rows[i];
			struct chat_msg *m = &msgs[i];

			m->kind = kind_of(s->kind);
			str_copy(m->msgid, s->msgid, sizeof(m->msgid));
			m->ts_ms = s->ts_ms;
			m->seq = s->seq;
			str_copy(m->from_name, s->sender, sizeof(m->from_name));
			m->from = chat_user_find(op->ch, s->sender);
			m->room = r;
			m->text = s->text ? s->text : "";
			m->client_tags = s->tags;
		}
	}
	op->cb(rc                            ? CHAT_ESTORE
	       : (r && r->id == op->room_id) ? 0
	                                     : CHAT_ENOROOM,
	       msgs, rc ? 0 : op->n, op->arg);
	free(msgs);
	for (size_t i = 0; i < op->n; i++)
		store_msg_free(&op->rows[i]);
	free(op->rows);
	free(op);
}

void chat_history_latest(struct chat *ch, struct chat_room *room, int limit, chat_history_cb cb,
                         void *arg)
{
	struct history_op *op = xcalloc(1, sizeof(*op));

	op->ch = ch;
	op->room_id = room->id;
	str_copy(op->room_key, room->key, sizeof(op->room_key));
	op->limit = limit;
	op->cb = cb;
	op->arg = arg;
	store_submit_read(ch->p.store, history_job, history_done, op);
}
