/*
 * chathistory.c — CHATHISTORY (IRCv3 chathistory, capability names
 * "draft/chathistory" and "chathistory"): BEFORE, AFTER, LATEST, AROUND,
 * BETWEEN with msgid= and timestamp= references, and TARGETS.
 *
 * Answers come in a "chathistory" batch (or "draft/chathistory-targets")
 * for clients with `batch`. A target the user may not read is answered
 * exactly like one that does not exist (INVALID_TARGET), so secret rooms
 * never show. Errors are the specification's FAIL codes.
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ch_sub { CH_BEFORE, CH_AFTER, CH_LATEST, CH_AROUND, CH_BETWEEN, CH_TARGETS };

static const char *const sub_names[] = {"BEFORE", "AFTER",   "LATEST",
                                        "AROUND", "BETWEEN", "TARGETS"};

/* A reference: msgid=..., timestamp=..., or "*" (LATEST only). */
struct ch_ref {
	bool star;      /* "*" */
	char msgid[32]; /* msgid reference, or "" */
	int64_t ts;     /* timestamp reference, or 0 */
};

static int parse_ref(const char *s, struct ch_ref *r)
{
	memset(r, 0, sizeof(*r));
	if (strcmp(s, "*") == 0) {
		r->star = true;
		return 0;
	}
	if (strncmp(s, "msgid=", 6) == 0 && s[6] &&
	    strnlen(s + 6, sizeof(r->msgid)) < sizeof(r->msgid)) {
		str_copy(r->msgid, s + 6, sizeof(r->msgid));
		return 0;
	}
	if (strncmp(s, "timestamp=", 10) == 0 && time_parse_iso(s + 10, &r->ts) == 0 && r->ts > 0)
		return 0;
	return -1;
}

static int parse_limit(const char *s, int *limit)
{
	int64_t v;

	if (str_to_i64(s, 1, IRC_CHATHISTORY_MAX, &v) != 0)
		return -1;
	*limit = (int)v;
	return 0;
}

/* The answer to one query. */
struct ch_op {
	struct irc_async *a;            /* the client's pending answer */
	char target[CHAT_NAME_MAX + 1]; /* as the client wrote it */
	enum ch_sub sub;                /* subcommand */
};

static void fail(struct client *cl, const char *code, const char *ctx1, const char *ctx2,
                 const char *text)
{
	struct irc_out o;

	client_start_server_line(cl, &o, "FAIL");
	irc_out_param(&o, "CHATHISTORY");
	irc_out_param(&o, code);
	irc_out_param(&o, ctx1);
	if (ctx2)
		irc_out_param(&o, ctx2);
	irc_out_trailing(&o, text);
	irc_out_end(&o);
	client_send_out(cl, &o);
}

/* BATCH +id TYPE [param] / BATCH -id, when the client has batch. */
static bool batch_edge(struct client *cl, char *id, size_t n, bool open, const char *type,
                       const char *param)
{
	struct irc_out o;

	if (!client_has(cl, CAP_BATCH))
		return false;
	if (open)
		client_batch_id(cl, id, n);
	client_start_server_line(cl, &o, "BATCH");
	irc_out_paramf(&o, "%c%s", open ? '+' : '-', id);
	if (open) {
		irc_out_param(&o, type);
		if (param)
			irc_out_param(&o, param);
	}
	irc_out_end(&o);
	client_send_out(cl, &o);
	return true;
}

static void history_done(int rc, const struct chat_msg *msgs, size_t n, void *arg)
{
	struct ch_op *op = arg;
	struct client *cl = irc_async_resume(op->a);
	char id[16];
	bool batched;

	if (!cl)
		goto out;
	if (rc == CHAT_ENOROOM || rc == CHAT_EDENIED) {
		fail(cl, "INVALID_TARGET", sub_names[op->sub], op->target,
		     "No such conversation, or you may not read it");
		goto out;
	}
	if (rc) {
		fail(cl, "MESSAGE_ERROR", sub_names[op->sub], op->target,
		     "History cannot be read right now; try again");
		goto out;
	}
	batched = batch_edge(cl, id, sizeof(id), true, "chathistory", op->target);
	for (size_t i = 0; i < n; i++) {
		const struct chat_msg *m = &msgs[i];
		const char *to = op->target;
		struct irc_out o;

		if (m->kind == CHAT_TAGMSG && !client_has(cl, CAP_MESSAGE_TAGS))
			continue;
		if (chat_kind_is_event(m->kind) && !client_has(cl, CAP_EVENT_PLAYBACK))
			continue;
		/* In a private conversation a line is addressed to its recipient. */
		if (op->target[0] != '#')
			to = str_ieq(m->from_name, cl->nick) ? op->target : cl->nick;
		render_msg(&o, client_variant(cl), m, to, batched ? id : NULL);
		client_send_out(cl, &o);
	}
	if (batched)
		batch_edge(cl, id, sizeof(id), false, NULL, NULL);
out:
	irc_async_end(op->a, cl);
	free(op);
}

static void targets_done(int rc, const struct chat_target *t, size_t n, void *arg)
{
	struct ch_op *op = arg;
	struct client *cl = irc_async_resume(op->a);
	char id[16];
	bool batched;

	if (!cl)
		goto out;
	if (rc) {
		fail(cl, "MESSAGE_ERROR", "TARGETS", "*", "History cannot be read right now");
		goto out;
	}
	batched = batch_edge(cl, id, sizeof(id), true, "draft/chathistory-targets", NULL);
	for (size_t i = 0; i < n; i++) {
		struct irc_out o;
		char ts[TIME_ISO_LEN];

		irc_out_init(&o);
		if (batched)
			irc_out_tag(&o, "batch", id);
		client_base_tags(cl, &o, 0);
		irc_out_source(&o, cl->irc->cfg.server_name);
		irc_out_cmd(&o, "CHATHISTORY");
		irc_out_param(&o, "TARGETS");
		irc_out_paramf(&o, "%s%s", t[i].room ? "#" : "", t[i].name);
		time_fmt_iso(t[i].last_ts, ts, sizeof(ts));
		irc_out_paramf(&o, "timestamp=%s", ts);
		irc_out_end(&o);
		client_send_out(cl, &o);
	}
	if (batched)
		batch_edge(cl, id, sizeof(id), false, NULL, NULL);
out:
	irc_async_end(op->a, cl);
	free(op);
}

/* Fill the window from the subcommand and its references. */
static int window_of(enum ch_sub sub, const struct ch_ref *r1, const struct ch_ref *r2,
                     struct chat_history_window *w)
{
	switch (sub) {
	case CH_BEFORE:
		str_copy(w->before_msgid, r1->msgid, sizeof(w->before_msgid));
		w->before_ts = r1->ts;
		w->from_newest = true;
		return r1->star ? -1 : 0;
	case CH_AFTER:
		str_copy(w->after_msgid, r1->msgid, sizeof(w->after_msgid));
		w->after_ts = r1->ts;
		return r1->star ? -1 : 0;
	case CH_LATEST:
		/* Everything newer than the reference ("*": no bound), newest end. */
		str_copy(w->after_msgid, r1->msgid, sizeof(w->after_msgid));
		w->after_ts = r1->ts;
		w->from_newest = true;
		return 0;
	case CH_AROUND:
		str_copy(w->around_msgid, r1->msgid, sizeof(w->around_msgid));
		w->around_ts = r1->ts;
		return r1->star ? -1 : 0;
	case CH_BETWEEN: {
		/* Counted from the first reference towards the second. */
		bool down = (r1->ts && r2->ts && r1->ts > r2->ts);
		const struct ch_ref *lo = down ? r2 : r1, *hi = down ? r1 : r2;

		if (r1->star || r2->star)
			return -1;
		str_copy(w->after_msgid, lo->msgid, sizeof(w->after_msgid));
		w->after_ts = lo->ts;
		str_copy(w->before_msgid, hi->msgid, sizeof(w->before_msgid));
		w->before_ts = hi->ts;
		w->from_newest = down;
		return 0;
	}
	default:
		return -1;
	}
}

static bool chathistory_targets(struct client *cl, struct irc_msg *m)
{
	struct ch_ref r1, r2;
	struct ch_op *op;
	int limit;

	if (m->n_params < 4 || parse_ref(m->params[1], &r1) || parse_ref(m->params[2], &r2) ||
	    !r1.ts || !r2.ts || parse_limit(m->params[3], &limit)) {
		fail(cl, "INVALID_PARAMS", "TARGETS", NULL,
		     "Usage: CHATHISTORY TARGETS timestamp=T1 timestamp=T2 LIMIT");
		return true;
	}
	op = xcalloc(1, sizeof(*op));
	op->sub = CH_TARGETS;
	op->a = irc_async_begin(cl);
	chat_history_targets(cl->irc->chat, cl->session->user, r1.ts < r2.ts ? r1.ts : r2.ts,
	                     r1.ts < r2.ts ? r2.ts : r1.ts, limit, targets_done, op);
	return true;
}

/* Resolve the target into the window; answers the client when it cannot. */
static bool target_of(struct client *cl, const char *sub, const char *target,
                      struct chat_history_window *w)
{
	struct chat *ch = cl->irc->chat;

	if (target[0] == '#') {
		w->room = chat_room_find(ch, target + 1);
		if (!w->room || !chat_may_read(ch, cl->session->user, w->room)) {
			fail(cl, "INVALID_TARGET", sub, target,
			     "No such conversation, or you may not read it");
			return false;
		}
		return true;
	}
	if (!cl->session->user->account || strlen(target) >= sizeof(w->peer)) {
		fail(cl, "INVALID_TARGET", sub, target, "No such conversation");
		return false;
	}
	str_copy(w->peer, target, sizeof(w->peer));
	return true;
}

bool cmd_chathistory(struct client *cl, struct irc_msg *m)
{
	struct chat_history_window w;
	struct ch_ref r1, r2;
	enum ch_sub sub = CH_TARGETS;
	int nrefs, limit;
	struct ch_op *op;

	for (int i = 0; i <= CH_TARGETS; i++)
		if (str_ieq(m->params[0], sub_names[i]))
			sub = (enum ch_sub)i;
	if (!str_ieq(m->params[0], sub_names[sub])) {
		fail(cl, "INVALID_PARAMS", m->params[0], NULL, "Unknown CHATHISTORY subcommand");
		return true;
	}
	if (sub == CH_TARGETS)
		return chathistory_targets(cl, m);
	nrefs = sub == CH_BETWEEN ? 2 : 1;
	memset(&w, 0, sizeof(w));
	memset(&r2, 0, sizeof(r2));
	if (m->n_params < 3 + nrefs || parse_ref(m->params[2], &r1) ||
	    (nrefs == 2 && parse_ref(m->params[3], &r2)) ||
	    parse_limit(m->params[2 + nrefs], &limit) || window_of(sub, &r1, &r2, &w)) {
		fail(cl, "INVALID_PARAMS", sub_names[sub], NULL,
		     "Bad reference or limit (msgid=ID, timestamp=YYYY-MM-DDThh:mm:ss.sssZ, "
		     "limit 1-" IRC_CHATHISTORY_MAX_STR ")");
		return true;
	}
	if (!target_of(cl, sub_names[sub], m->params[1], &w))
		return true;
	w.limit = limit;
	w.messages_only = !client_has(cl, CAP_EVENT_PLAYBACK);
	op = xcalloc(1, sizeof(*op));
	op->sub = sub;
	str_copy(op->target, m->params[1], sizeof(op->target));
	op->a = irc_async_begin(cl);
	chat_history_query(cl->irc->chat, cl->session->user, &w, history_done, op);
	return true;
}
