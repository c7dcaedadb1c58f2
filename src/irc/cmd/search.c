/*
 * search.c — SEARCH (the soju.im/search extension): "SEARCH
 * in=#room;from=NICK;after=TS;before=TS;text=...;limit=N" with
 * attributes in message-tag syntax (values escaped the same way). pchat
 * adds match=all|any|exact and case=sensitive. The answer is a
 * "soju.im/search" batch of the matching messages, newest first, then a
 * `NOTE SEARCH MORE_RESULTS` when the limit cut the result short. The
 * attributes are read by args_search() (args.c); here only the room is
 * looked up and checked.
 */
#include "common/str.h"
#include "common/xmalloc.h"
#include "irc/cmd/args.h"
#include "irc/irc_int.h"

#include <stdlib.h>

struct search_op {
	struct irc_async *a; /* the client's pending answer */
};

static void fail(struct client *cl, const char *code, const char *text)
{
	client_fail(cl, "SEARCH", code, NULL, text);
}

static void send_batch_edge(struct client *cl, const char *id, bool open)
{
	struct irc_out o;

	client_start_server_line(cl, &o, "BATCH");
	irc_out_paramf(&o, "%c%s", open ? '+' : '-', id);
	if (open)
		irc_out_param(&o, "soju.im/search");
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static void searched(int rc, const struct chat_msg *msgs, size_t n, bool more, void *arg)
{
	struct search_op *op = arg;
	struct client *cl = irc_async_resume(op->a);
	bool batched;
	char id[16];

	if (!cl)
		goto out;
	if (rc) {
		fail(cl, "TEMPORARILY_UNAVAILABLE", "Search is not available right now; try again");
		goto out;
	}
	batched = client_has(cl, CAP_BATCH);
	if (batched) {
		client_batch_id(cl, id, sizeof(id));
		send_batch_edge(cl, id, true);
	}
	for (size_t i = 0; i < n; i++) {
		const struct chat_msg *m = &msgs[i];
		const char *to = m->room                           ? CHAN(m->room)
		                 : str_ieq(m->from_name, cl->nick) ? (m->to ? m->to->name : "*")
		                                                   : cl->nick;
		struct irc_out o;

		render_msg(&o, client_variant(cl), m, to, batched ? id : NULL);
		client_send_out(cl, &o);
	}
	if (batched)
		send_batch_edge(cl, id, false);
	if (more) {
		struct irc_out o;

		client_start_server_line(cl, &o, "NOTE");
		irc_out_param(&o, "SEARCH");
		irc_out_param(&o, "MORE_RESULTS");
		irc_out_trailing(&o, "More messages match; narrow the search or raise limit=");
		irc_out_end(&o);
		client_send_out(cl, &o);
	}
out:
	irc_async_end(op->a, cl);
	free(op);
}

bool cmd_search(struct client *cl, struct irc_msg *m)
{
	struct args_search a;
	struct search_op *op;
	const char *why;

	if (args_search(m->params[0], &a, &why) != 0) {
		fail(cl, "INVALID_PARAMS", why);
		return true;
	}
	if (a.room[0]) {
		a.q.room = chat_room_find(cl->irc->chat, a.room);
		if (!a.q.room || !client_can_find(cl, a.q.room)) {
			fail(cl, "INVALID_PARAMS", "in= names no room you may search");
			return true;
		}
	}
	if (args_search_empty(&a.q)) {
		fail(cl, "INVALID_PARAMS", "an empty search: give text=, from=, after= or before=");
		return true;
	}
	op = xcalloc(1, sizeof(*op));
	op->a = irc_async_begin(cl);
	chat_search(cl->irc->chat, cl->session->user, &a.q, searched, op);
	return true;
}
