/*
 * chathistory.c — CHATHISTORY (IRCv3 chathistory, capability names
 * "draft/chathistory" and "chathistory"): BEFORE, AFTER, LATEST, AROUND,
 * BETWEEN with msgid= and timestamp= references, and TARGETS.
 *
 * Answers come in a "chathistory" batch (or "draft/chathistory-targets")
 * for clients with `batch`. A target the user may not read is answered
 * exactly like one that does not exist (INVALID_TARGET), so secret rooms
 * never show. Errors are the specification's FAIL codes. The arguments are
 * read by args_ch() (args.c); here the target is resolved and answered.
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "irc/cmd/args.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer to one query. */
struct ch_op {
	struct irc_async *a;            /* the client's pending answer */
	char target[CHAT_NAME_MAX + 1]; /* as the client wrote it */
	enum args_ch_sub sub;           /* subcommand */
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
		fail(cl, "INVALID_TARGET", args_ch_sub_name(op->sub), op->target,
		     "No such conversation, or you may not read it");
		goto out;
	}
	if (rc) {
		fail(cl, "MESSAGE_ERROR", args_ch_sub_name(op->sub), op->target,
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

static bool chathistory_targets(struct client *cl, const struct args_ch *a)
{
	struct ch_op *op = xcalloc(1, sizeof(*op));

	op->sub = ARGS_CH_TARGETS;
	op->a = irc_async_begin(cl);
	chat_history_targets(cl->irc->chat, cl->session->user, a->from_ts, a->to_ts, a->limit,
	                     targets_done, op);
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
	struct args_ch a;
	struct ch_op *op;
	int rc = args_ch(m->n_params, m->params, &a);

	if (rc == ARGS_CH_EUNKNOWN) {
		fail(cl, "INVALID_PARAMS", m->params[0], NULL, "Unknown CHATHISTORY subcommand");
		return true;
	}
	if (rc && a.sub == ARGS_CH_TARGETS) {
		fail(cl, "INVALID_PARAMS", "TARGETS", NULL,
		     "Usage: CHATHISTORY TARGETS timestamp=T1 timestamp=T2 LIMIT");
		return true;
	}
	if (rc) {
		fail(cl, "INVALID_PARAMS", args_ch_sub_name(a.sub), NULL,
		     "Bad reference or limit (msgid=ID, timestamp=YYYY-MM-DDThh:mm:ss.sssZ, "
		     "limit 1-" IRC_CHATHISTORY_MAX_STR ")");
		return true;
	}
	if (a.sub == ARGS_CH_TARGETS)
		return chathistory_targets(cl, &a);
	if (!target_of(cl, args_ch_sub_name(a.sub), a.target, &a.w))
		return true;
	a.w.messages_only = !client_has(cl, CAP_EVENT_PLAYBACK);
	op = xcalloc(1, sizeof(*op));
	op->sub = a.sub;
	str_copy(op->target, a.target, sizeof(op->target));
	op->a = irc_async_begin(cl);
	chat_history_query(cl->irc->chat, cl->session->user, &a.w, history_done, op);
	return true;
}
