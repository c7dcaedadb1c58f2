/*
 * search.c — SEARCH (the soju.im/search extension): "SEARCH
 * in=#room;from=NICK;after=TS;before=TS;text=...;limit=N" with
 * attributes in message-tag syntax (values escaped the same way). pchat
 * adds match=all|any|exact and case=sensitive. The answer is a
 * "soju.im/search" batch of the matching messages, newest first, then a
 * `NOTE SEARCH MORE_RESULTS` when the limit cut the result short.
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_DEFAULT_LIMIT 50   /* results when limit= is not given */
#define SEARCH_MAX_LIMIT     1000 /* most results one SEARCH returns */

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

/* Fill q from one attribute; answers the client and returns -1 when it is bad. */
static int attribute(struct client *cl, const struct irc_tag *t, struct chat_search_query *q)
{
	int64_t v;

	if (strcmp(t->key, "in") == 0) {
		q->room = t->value[0] == '#' ? chat_room_find(cl->irc->chat, t->value + 1) : NULL;
		if (!q->room || !client_can_find(cl, q->room)) {
			fail(cl, "INVALID_PARAMS", "in= names no room you may search");
			return -1;
		}
	} else if (strcmp(t->key, "from") == 0) {
		str_copy(q->from, t->value, sizeof(q->from));
	} else if (strcmp(t->key, "text") == 0) {
		str_copy(q->text, t->value, sizeof(q->text));
	} else if (strcmp(t->key, "after") == 0 || strcmp(t->key, "before") == 0) {
		if (time_parse_iso(t->value, &v) != 0) {
			fail(cl, "INVALID_PARAMS",
			     "after= and before= take YYYY-MM-DDThh:mm:ss.sssZ");
			return -1;
		}
		*(t->key[0] == 'a' ? &q->after_ts : &q->before_ts) = v;
	} else if (strcmp(t->key, "limit") == 0) {
		if (str_to_i64(t->value, 1, SEARCH_MAX_LIMIT, &v) != 0) {
			fail(cl, "INVALID_PARAMS", "limit= takes 1 to 1000");
			return -1;
		}
		q->limit = (int)v;
	} else if (strcmp(t->key, "match") == 0) {
		q->match = str_ieq(t->value, "any") ? 1 : str_ieq(t->value, "exact") ? 2 : 0;
		if (!str_ieq(t->value, "all") && q->match == 0) {
			fail(cl, "INVALID_PARAMS", "match= is all, any or exact");
			return -1;
		}
	} else if (strcmp(t->key, "case") == 0) {
		q->case_sensitive = str_ieq(t->value, "sensitive");
	} else {
		fail(cl, "INVALID_PARAMS",
		     "unknown attribute (in from after before text limit match case)");
		return -1;
	}
	return 0;
}

/* Parse "k=v;k2=v2" with the message-tags escaping, through the IRC parser itself. */
static int parse_attrs(struct client *cl, const char *attrs, struct chat_search_query *q)
{
	char line[IRC_CLIENT_TAGS_MAX + 8];
	struct irc_msg m;
	int n = snprintf(line, sizeof(line), "@%s X", attrs);

	if (n < 0 || (size_t)n >= sizeof(line) || irc_parse(line, (size_t)n, &m) != 0) {
		fail(cl, "INVALID_PARAMS", "attributes are key=value pairs separated by ';'");
		return -1;
	}
	for (int i = 0; i < m.n_tags; i++)
		if (attribute(cl, &m.tags[i], q) != 0)
			return -1;
	return 0;
}

bool cmd_search(struct client *cl, struct irc_msg *m)
{
	struct chat_search_query q;
	struct search_op *op;

	memset(&q, 0, sizeof(q));
	q.limit = SEARCH_DEFAULT_LIMIT;
	if (parse_attrs(cl, m->params[0], &q) != 0)
		return true;
	if (!q.text[0] && !q.from[0] && !q.after_ts && !q.before_ts) {
		fail(cl, "INVALID_PARAMS", "an empty search: give text=, from=, after= or before=");
		return true;
	}
	op = xcalloc(1, sizeof(*op));
	op->a = irc_async_begin(cl);
	chat_search(cl->irc->chat, cl->session->user, &q, searched, op);
	return true;
}
