/*
 * message.c — pchatctl message list (the stored history of a room) and
 * message remove|replace (content administration, SPEC §3).
 *
 * list is used by operators and by the durability tests, which read back
 * through --json what pchatd committed. remove and replace take filters
 * (room, author, date range, text) and refuse to run without one unless
 * --all says so; every affected message is recorded in the change feed as
 * ("message", msgid) so a running pchatd sends REDACT to live clients.
 *
 * Deliberately not here: private conversations (not administered), the
 * matching itself (the store's full-text search, store_msg_redact).
 */
#include "ctl/ctl.h"

#include "chat/names.h"
#include "common/str.h"
#include "common/utf8.h"
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

#define REPLACEMENT_DEFAULT "This message was removed by an administrator."
#define REPLACEMENT_MAX     4000 /* bytes of a --with text */

enum {
	OPT_USER = 300,
	OPT_FROM,
	OPT_TO,
	OPT_TEXT,
	OPT_MATCH,
	OPT_CASE,
	OPT_ALL,
	OPT_WITH,
};

/* Options of message remove and replace. */
struct redact_opts {
	const char *room;    /* --room */
	const char *user;    /* --user */
	const char *from;    /* --from */
	const char *to;      /* --to */
	const char *text;    /* --text */
	const char *with;    /* --with (replace) */
	int match;           /* --match, enum store_match; -1 unset */
	bool case_sensitive; /* --case-sensitive */
	bool all;            /* --all */
	bool replace;        /* the verb is replace */
};

static int on_redact_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	static const char *const matches[] = {"all", "any", "exact"};
	struct redact_opts *o = arg;

	switch (val) {
	case OPT_ROOM:
		o->room = optarg[0] == '#' ? optarg + 1 : optarg;
		break;
	case OPT_USER:
		o->user = optarg;
		break;
	case OPT_FROM:
		o->from = optarg;
		break;
	case OPT_TO:
		o->to = optarg;
		break;
	case OPT_TEXT:
		o->text = optarg;
		break;
	case OPT_WITH:
		o->with = optarg;
		break;
	case OPT_CASE:
		o->case_sensitive = true;
		break;
	case OPT_ALL:
		o->all = true;
		break;
	case OPT_MATCH:
		for (int i = 0; i < 3; i++)
			if (strcmp(optarg, matches[i]) == 0)
				o->match = i;
		if (o->match < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--match: expected all, any or exact, not '%s'", optarg);
		break;
	default:
		return ctl_usage(ctx, "unknown option");
	}
	return CTL_EXIT_OK;
}

static bool one_line(const char *s)
{
	return utf8_valid(s, strlen(s)) && !str_has_crlfnul(s, strlen(s));
}

/* Check the options and fill the filter (room and user not yet looked up). */
static int check_redact(struct ctl *ctx, struct redact_opts *o, struct store_msg_filter *f)
{
	int rc = CTL_EXIT_OK;

	if (!o->room && !o->user && !o->from && !o->to && !o->text && !o->all)
		return ctl_usage(ctx, "give at least one filter (--room, --user, --from, --to, "
		                      "--text), or --all to act on every message of every room");
	if ((o->match >= 0 || o->case_sensitive) && !o->text)
		return ctl_usage(ctx, "--match and --case-sensitive need --text");
	if (o->with && !o->replace)
		return ctl_usage(ctx, "--with is for 'message replace'");
	if (o->text && (!o->text[0] || !one_line(o->text)))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "--text: give non-empty UTF-8 text on one line");
	if (o->with && (!o->with[0] || strlen(o->with) > REPLACEMENT_MAX || !one_line(o->with)))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "--with: give 1-%d bytes of UTF-8 text on one line",
		                REPLACEMENT_MAX);
	if (o->user && !names_account_valid(o->user))
		return ctl_fail(ctx, CTL_EXIT_INVALID, "--user: invalid account name '%s'",
		                o->user);
	if (o->from)
		rc = ctl_date(ctx, "--from", o->from, false, &f->from_ts);
	if (rc == CTL_EXIT_OK && o->to)
		rc = ctl_date(ctx, "--to", o->to, true, &f->to_ts);
	if (rc == CTL_EXIT_OK && f->from_ts && f->to_ts && f->from_ts > f->to_ts)
		rc = ctl_fail(ctx, CTL_EXIT_INVALID, "--from is after --to");
	f->sender = o->user;
	f->text = o->text;
	f->match = o->match < 0 ? STORE_MATCH_ALL : o->match;
	f->case_sensitive = o->case_sensitive;
	return rc;
}

/* Look up --room and --user in the store. */
static int resolve_redact(struct ctl *ctx, const struct redact_opts *o, struct store_msg_filter *f)
{
	struct store_room r = {0};
	struct store_account a = {0};
	int rc = CTL_EXIT_OK, src;

	if (o->room) {
		src = store_room_get(ctx->conn, o->room, &r);
		if (src != STORE_OK)
			rc = ctl_fail(
			    ctx, src == STORE_EINVAL ? CTL_EXIT_INVALID : ctl_exit_for_store(src),
			    "--room: no room '#%s' (see 'pchatctl room list')", o->room);
		f->room_id = r.id;
		store_room_free(&r);
	}
	if (rc == CTL_EXIT_OK && o->user) {
		src = store_account_get(ctx->conn, o->user, &a);
		if (src != STORE_OK)
			rc =
			    ctl_fail(ctx, ctl_exit_for_store(src),
			             "--user: no account '%s' (see 'pchatctl user list')", o->user);
		store_account_free(&a);
	}
	return rc;
}

/* Run the redaction and record every affected msgid; *out and *n receive the messages. */
static int do_redact(struct ctl *ctx, const struct redact_opts *o, const struct store_msg_filter *f,
                     struct store_msg **out, size_t *n)
{
	const char *with = o->replace ? (o->with ? o->with : REPLACEMENT_DEFAULT) : NULL;
	int rc = ctl_begin(ctx), src;

	if (rc != CTL_EXIT_OK)
		return rc;
	src = store_msg_redact(ctx->conn, f, with, out, n);
	if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot %s messages: %s",
		              o->replace ? "replace" : "remove", store_strerror(src));
	for (size_t i = 0; rc == CTL_EXIT_OK && i < *n; i++)
		rc = ctl_change(ctx, "message", (*out)[i].msgid, o->replace ? "replace" : "remove",
		                msg_json(&(*out)[i]));
	return ctl_end(ctx, rc);
}

static void print_redacted(struct ctl *ctx, const struct redact_opts *o, struct store_msg *v,
                           size_t n)
{
	json_t *ids = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(v[i].msgid));
	if (ctx->json) {
		ctl_json_out(json_pack("{s:s, s:I, s:o}", "action",
		                       o->replace ? "replaced" : "removed", "count", (json_int_t)n,
		                       "msgids", ids));
		return;
	}
	printf("%s %zu message%s\n", o->replace ? "replaced" : "removed", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		printf("%s\n", v[i].msgid);
	json_decref(ids);
}

static int redact(struct ctl *ctx, int argc, char **argv, bool replace)
{
	static const struct option opts[] = {{"room", required_argument, NULL, OPT_ROOM},
	                                     {"user", required_argument, NULL, OPT_USER},
	                                     {"from", required_argument, NULL, OPT_FROM},
	                                     {"to", required_argument, NULL, OPT_TO},
	                                     {"text", required_argument, NULL, OPT_TEXT},
	                                     {"match", required_argument, NULL, OPT_MATCH},
	                                     {"case-sensitive", no_argument, NULL, OPT_CASE},
	                                     {"all", no_argument, NULL, OPT_ALL},
	                                     {"with", required_argument, NULL, OPT_WITH},
	                                     {NULL, 0, NULL, 0}};
	struct redact_opts o = {.match = -1, .replace = replace};
	struct store_msg_filter f = {0};
	struct store_msg *v = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_redact_opt, &o, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = check_redact(ctx, &o, &f);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc == CTL_EXIT_OK)
		rc = resolve_redact(ctx, &o, &f);
	if (rc == CTL_EXIT_OK)
		rc = do_redact(ctx, &o, &f, &v, &n);
	if (rc == CTL_EXIT_OK)
		print_redacted(ctx, &o, v, n);
	for (size_t i = 0; i < n; i++)
		store_msg_free(&v[i]);
	free(v);
	return rc;
}

static int message_remove(struct ctl *ctx, int argc, char **argv)
{
	return redact(ctx, argc, argv, false);
}

static int message_replace(struct ctl *ctx, int argc, char **argv)
{
	return redact(ctx, argc, argv, true);
}

#define REDACT_OPTIONS_HELP                                                                        \
	"FILTERS (a message must pass every one given)\n"                                          \
	"    --room NAME        messages of this room (\"#name\" or \"name\")\n"                   \
	"    --user NAME        sent by this account\n"                                            \
	"    --from DATE        sent at or after DATE\n"                                           \
	"    --to DATE          sent at or before DATE (a date alone: until its end)\n"            \
	"    --text PATTERN     containing PATTERN; words match whole words, ignoring case\n"      \
	"    --match all|any|exact  every word (default), any word, or the exact phrase\n"         \
	"    --case-sensitive   the words must also match in case\n"                               \
	"    --all              no filter: every message of every room (required when no\n"        \
	"                       other filter is given)\n\n"                                        \
	"    DATE is ISO 8601: 2024-05-01 (UTC) or 2024-05-01T13:30:00Z. Private messages\n"       \
	"    are never affected. Removed and replaced messages leave history and search\n"         \
	"    (a replaced one keeps its place with the new text); clients of a running\n"           \
	"    pchatd that negotiated draft/message-redaction receive REDACT.\n\n"

const struct ctl_cmd ctl_message_cmds[] = {
    {"remove", "remove messages matching filters",
     " FILTER... | --all\n"
     "DESCRIPTION\n"
     "    Remove every room message that passes the filters. Prints the count\n"
     "    and the msgid of each removed message; with --json {action, count,\n"
     "    msgids}.\n\n" REDACT_OPTIONS_HELP "EXAMPLES\n"
     "    pchatctl message remove --room ops --user mallory --from 2024-05-01\n"
     "    pchatctl message remove --text 'project falcon' --match exact\n",
     message_remove, NULL},
    {"replace", "replace the text of messages matching filters",
     " FILTER... | --all [--with TEXT]\n"
     "DESCRIPTION\n"
     "    Replace the text of every room message that passes the filters with\n"
     "    TEXT (default \"" REPLACEMENT_DEFAULT "\").\n"
     "    Output as for 'message remove'.\n\n" REDACT_OPTIONS_HELP "OPTIONS\n"
     "    --with TEXT        the replacement (UTF-8, one line, at most 4000 bytes)\n\n"
     "EXAMPLES\n"
     "    pchatctl message replace --room ops --text password --with '[redacted]'\n",
     message_replace, NULL},
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
