/*
 * message.c — pchatctl message list: the stored history of a room.
 *
 * Used by operators and by the durability tests, which read back through
 * --json what pchatd committed.
 *
 * Deliberately not here: message removal and replacement (later), private
 * conversations.
 */
#include "ctl/ctl.h"

#include "common/str.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50    /* messages listed without --limit */
#define LIST_MAX     10000 /* largest --limit */

enum { OPT_ROOM = 256, OPT_LIMIT, OPT_BEFORE };

/* Options of message list. */
struct msg_opts {
	const char *room; /* --room, with or without '#' */
	int64_t limit;    /* --limit */
	int64_t before;   /* --before (0 = newest) */
};

static int on_msg_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct msg_opts *o = arg;

	switch (val) {
	case OPT_ROOM:
		o->room = optarg[0] == '#' ? optarg + 1 : optarg;
		return CTL_EXIT_OK;
	case OPT_LIMIT:
		if (str_to_i64(optarg, 1, LIST_MAX, &o->limit) < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--limit: expected an integer from 1 to %d, not '%s'",
			                LIST_MAX, optarg);
		return CTL_EXIT_OK;
	case OPT_BEFORE:
		if (str_to_i64(optarg, 1, INT64_MAX, &o->before) < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--before: expected a positive sequence number, not '%s'",
			                optarg);
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

static json_t *msg_json(const struct store_msg *m)
{
	return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)m->seq, "msgid",
	                 m->msgid, "ts", (json_int_t)m->ts_ms, "time", ctl_time(m->ts_ms), "sender",
	                 m->sender, "kind", m->kind, "text", m->text ? m->text : "");
}

/* Print (or collect into arr) and free the n messages of v. */
static void print_msgs(struct store_msg *v, size_t n, json_t *arr)
{
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, msg_json(&v[i]));
		else
			printf("%lld %s %s %s %s %s\n", (long long)v[i].seq, v[i].msgid,
			       ctl_time(v[i].ts_ms), v[i].sender, v[i].kind,
			       v[i].text ? v[i].text : "");
		store_msg_free(&v[i]);
	}
	free(v);
}

static int message_list(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"room", required_argument, NULL, OPT_ROOM},
	                                     {"limit", required_argument, NULL, OPT_LIMIT},
	                                     {"before", required_argument, NULL, OPT_BEFORE},
	                                     {NULL, 0, NULL, 0}};
	struct msg_opts o = {.limit = LIST_DEFAULT};
	struct store_room r = {0};
	struct store_msg *v = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_msg_opt, &o, NULL, 0, 0);
	if (rc == CTL_EXIT_OK && !o.room)
		rc = ctl_usage(ctx, "--room NAME is required");
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = store_room_get(ctx->conn, o.room, &r);
	if (rc != STORE_OK) {
		rc = ctl_fail(ctx, rc == STORE_EINVAL ? CTL_EXIT_INVALID : ctl_exit_for_store(rc),
		              "no room '#%s' (see 'pchatctl room list')", o.room);
		goto out;
	}
	rc = store_msg_latest(ctx->conn, r.id, NULL, NULL, o.before, (int)o.limit, &v, &n);
	if (rc != STORE_OK) {
		rc = ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read the history of '#%s': %s",
		              r.name, store_strerror(rc));
		goto out;
	}
	if (ctx->json) {
		json_t *arr = json_array();

		print_msgs(v, n, arr);
		rc = ctl_json_out(arr);
	} else {
		print_msgs(v, n, NULL);
	}
out:
	store_room_free(&r);
	return rc;
}

const struct ctl_cmd ctl_message_cmds[] = {
    {"list", "print the history of a room",
     " --room NAME [--limit N] [--before SEQ]\n"
     "DESCRIPTION\n"
     "    Print the newest messages of a room, oldest first, one per line:\n"
     "    SEQ MSGID TIME SENDER KIND TEXT. With --json: an array of objects\n"
     "    {seq, msgid, ts (ms since 1970), time (ISO 8601), sender, kind, text}.\n\n"
     "OPTIONS\n"
     "    --room NAME   the room (\"#name\" or \"name\")\n"
     "    --limit N     how many messages, 1 to 10000 (default 50)\n"
     "    --before SEQ  only messages with a sequence number below SEQ (paging)\n\n"
     "EXAMPLES\n"
     "    pchatctl message list --room '#ops' --limit 10\n"
     "    pchatctl --json message list --room ops --before 120\n",
     message_list, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
