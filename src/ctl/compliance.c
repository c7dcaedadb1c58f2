/*
 * compliance.c — pchatctl compliance run|status: export the compliance queue
 * on demand (the same adapter pchatd runs every [compliance] run_interval)
 * and show the queue's state.
 *
 * Deliberately not here: capture (the chat layer and ctl_change add events
 * inside their own transactions) and the export itself (src/compliance/).
 */
#include "ctl/ctl.h"

#include "common/str.h"
#include "compliance/compliance.h"
#include "compliance/service.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_OUTPUT_DIR = 300,
	OPT_FORMAT,
	OPT_ONE_ROOM,
	OPT_ROOM_DETAILS,
	OPT_USER_DETAILS,
	OPT_MAX_EVENTS,
};

/* The options of a run: the configuration's, then the flags. */
struct run_opts {
	struct comp_options o; /* what comp_run gets */
	char owner[128];       /* this adapter's name in claims */
};

static int on_run_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct run_opts *r = arg;
	int64_t n;

	switch (val) {
	case OPT_OUTPUT_DIR:
		r->o.output_dir = optarg;
		return CTL_EXIT_OK;
	case OPT_FORMAT:
		r->o.format = comp_format_parse(optarg);
		if (r->o.format < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--format: expected xml or jsonl, not '%s'", optarg);
		return CTL_EXIT_OK;
	case OPT_ONE_ROOM:
		r->o.one_room_per_file = true;
		return CTL_EXIT_OK;
	case OPT_ROOM_DETAILS:
		r->o.add_room_details = true;
		return CTL_EXIT_OK;
	case OPT_USER_DETAILS:
		r->o.add_user_details = true;
		return CTL_EXIT_OK;
	case OPT_MAX_EVENTS:
		if (str_to_i64(optarg, 1000, 1000000, &n) < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--max-events: expected a number from 1000 to 1000000");
		r->o.max_events = (int)n;
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

/* Defaults of a run from the configuration ([compliance], [server] network). */
static void run_defaults(const struct ctl *ctx, struct run_opts *r)
{
	const struct config *cfg = &ctx->cfg;
	char host[64] = "localhost";

	memset(r, 0, sizeof(*r));
	r->o.output_dir = cfg->comp_output_dir;
	r->o.format = comp_format_parse(cfg->comp_format);
	r->o.one_room_per_file = cfg->comp_one_room_per_file;
	r->o.add_room_details = cfg->comp_add_room_details;
	r->o.add_user_details = cfg->comp_add_user_details;
	r->o.max_events = cfg->comp_max_events_per_file;
	r->o.uri_host = cfg->network;
	gethostname(host, sizeof(host) - 1);
	snprintf(r->owner, sizeof(r->owner), "pchatctl@%.40s:%ld", host, (long)getpid());
	r->o.owner = r->owner;
	r->o.lease_ms = comp_test_lease_ms();
}

static int comp_run_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output-dir", required_argument, NULL, OPT_OUTPUT_DIR},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"one-room-per-file", no_argument, NULL, OPT_ONE_ROOM},
	    {"add-room-details", no_argument, NULL, OPT_ROOM_DETAILS},
	    {"add-user-details", no_argument, NULL, OPT_USER_DETAILS},
	    {"max-events", required_argument, NULL, OPT_MAX_EVENTS},
	    {NULL, 0, NULL, 0}};
	struct run_opts r;
	struct comp_result res = {0};
	int rc;

	run_defaults(ctx, &r);
	rc = ctl_parse(ctx, argc, argv, opts, on_run_opt, &r, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = comp_run(ctx->conn, &r.o, &res);
	if (ctx->json)
		ctl_json_out(json_pack("{s:b, s:I, s:i, s:I, s:s, s:s, s:s, s:s}", "ok", rc == 0,
		                       "events", (json_int_t)res.events, "files", res.files,
		                       "resumed", (json_int_t)res.resumed, "last_file",
		                       res.last_file, "output_dir", r.o.output_dir, "format",
		                       comp_format_name(r.o.format), "error", res.error));
	else
		printf("exported %lld events into %d files%s%s\n", (long long)res.events, res.files,
		       res.last_file[0] ? "; last: " : "", res.last_file);
	if (rc != 0)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM,
		                "%s (the events stay queued; fix it and run again)", res.error);
	return CTL_EXIT_OK;
}

/* "2024-05-01T13:30:00Z (42 s ago)" or "never". */
static const char *when(int64_t ms, char *buf, size_t len)
{
	int64_t age;

	if (ms <= 0)
		return "never";
	age = ((int64_t)time(NULL) * 1000 - ms) / 1000;
	snprintf(buf, len, "%s (%lld s ago)", ctl_time(ms), (long long)(age < 0 ? 0 : age));
	return buf;
}

static int comp_status_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct store_comp_status st;
	char b1[96], b2[96], b3[96];
	bool waiting;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_run_opt, NULL, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_comp_status(ctx->conn, &st);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read the compliance queue: %s",
		                store_strerror(rc));
	/* the adapter waits (or gave up waiting) for its claim to reach the backup */
	waiting = st.last_error_ms &&
	          strncmp(st.last_error, COMP_SHIP_WAITING, strlen(COMP_SHIP_WAITING)) == 0;
	if (ctx->json)
		return ctl_json_out(json_pack(
		    "{s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:s, s:b}", "enabled", st.enabled,
		    "queued", (json_int_t)st.queued, "oldest_ms", (json_int_t)st.oldest_ms,
		    "claims", (json_int_t)st.claims, "exported", (json_int_t)st.exported,
		    "last_run_ms", (json_int_t)st.last_run_ms, "last_file", st.last_file,
		    "last_error_ms", (json_int_t)st.last_error_ms, "last_error", st.last_error,
		    "waiting", waiting));
	printf("capture:      %s\n", st.enabled ? "on" : "off");
	printf("queued:       %lld events\n", (long long)st.queued);
	printf("oldest event: %s\n", when(st.oldest_ms, b1, sizeof b1));
	printf("exporting:    %lld ranges\n", (long long)st.claims);
	printf("exported:     %lld events\n", (long long)st.exported);
	printf("last run:     %s\n", when(st.last_run_ms, b2, sizeof b2));
	printf("last file:    %s\n", st.last_file[0] ? st.last_file : "none");
	printf("%s%s%s%s\n", waiting ? "shipping:     " : "last error:   ",
	       st.last_error_ms ? when(st.last_error_ms, b3, sizeof b3) : "none",
	       st.last_error_ms ? ": " : "", st.last_error_ms ? st.last_error : "");
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_compliance_cmds[] = {
    {"run", "export the compliance queue now",
     " [--output-dir DIR] [--format xml|jsonl] [OPTIONS]\n"
     "DESCRIPTION\n"
     "    Export every queued compliance event into files in the output directory\n"
     "    (default: [compliance] output_dir, DATA_DIR/compliance), exactly as pchatd\n"
     "    does every [compliance] run_interval. Events are claimed in ranges, each\n"
     "    range written to a file named after it (pchat-FIRST-LAST.xml), made durable\n"
     "    (fsync, rename, fsync of the directory) and only then removed from the\n"
     "    queue. A range left by an adapter that died is re-written with the same\n"
     "    name and content. Several adapters may run at once; each event is exported\n"
     "    once. The directory must exist. When the PostgreSQL database archives its\n"
     "    WAL (log shipping), a range is written only once its claim is archived, so\n"
     "    that the backup data center resumes the same range after a failover.\n\n"
     "OPTIONS\n"
     "    --output-dir DIR       write there instead of [compliance] output_dir\n"
     "    --format xml|jsonl     Lync XmlAdapter XML (default) or JSON Lines\n"
     "    --one-room-per-file    one file per conversation of a range\n"
     "    --add-room-details     room id and category in each Channel element\n"
     "    --add-user-details     the client's address in each Sender element\n"
     "    --max-events N         events per range (1000-1000000, default 100000)\n\n"
     "EXIT STATUS\n"
     "    7 when the directory is missing, not writable or full, or when archiving\n"
     "    makes no progress for 30 s while a claim waits for it: nothing is lost,\n"
     "    the events stay queued for the next run.\n\n"
     "EXAMPLES\n"
     "    pchatctl -c /etc/pchat/pchat.conf compliance run\n"
     "    pchatctl compliance run --output-dir /srv/archive --format jsonl\n",
     comp_run_cmd, NULL},
    {"status", "show the compliance queue",
     "\n"
     "DESCRIPTION\n"
     "    Whether capture is on, the events waiting and the age of the oldest, the\n"
     "    ranges being exported, the last successful run and file, and the last\n"
     "    error since then. With PostgreSQL log shipping, an adapter writes a range\n"
     "    only once its claim has reached the backup: while that takes over two\n"
     "    seconds, or after it gave up, the last line reads 'shipping: ... waiting\n"
     "    for log shipping of segment X' (JSON: waiting = true).\n\n"
     "EXAMPLES\n"
     "    pchatctl compliance status\n"
     "    pchatctl --json compliance status\n",
     comp_status_cmd, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
