/*
 * migrate.c — pchatctl migrate --from URL --to URL: move a single server's
 * database (SQLite) into a pool's database (PostgreSQL) with everything it
 * holds, and show the verification (rows and SHA-256 per table, source
 * against target).
 *
 * The copy itself is store_copy() (src/store/store_migrate.c): one
 * transaction on the target, ids, sequence numbers, msgids and times kept,
 * committed only when every table agrees. This file checks the arguments,
 * refuses a source that pchatd still has open, opens both stores and
 * prints the report.
 *
 * Deliberately not here: a way back (PostgreSQL to SQLite), and merging
 * into a database that already holds chat data (--force replaces it).
 */
#include "ctl/ctl.h"

#include "common/str.h"
#include "store/store.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MIGRATE_PROGRESS_ROWS 100000 /* a progress line every this many rows */

enum { OPT_FROM = 400, OPT_TO, OPT_FORCE };

/* The command line of a migration. */
struct migrate_args {
	const char *from; /* --from: the source database URL */
	const char *to;   /* --to: the target database URL */
	bool force;       /* --force: replace what the target holds */
};

static int on_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct migrate_args *a = arg;

	switch (val) {
	case OPT_FROM:
		a->from = optarg;
		return CTL_EXIT_OK;
	case OPT_TO:
		a->to = optarg;
		return CTL_EXIT_OK;
	case OPT_FORCE:
		a->force = true;
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

/* Whether url names a PostgreSQL database (the only possible target). */
static bool is_pg(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0 ||
	       (!strstr(url, "://") && strchr(url, '='));
}

/* url for messages, with a password in it replaced by "***". */
static const char *shown(const char *url, char *buf, size_t len)
{
	const char *scheme = strstr(url, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
	size_t n;

	if (!at || !colon || colon > at || strncmp(url, "sqlite:", 7) == 0)
		return url;
	n = (size_t)(colon - url) + 1;
	if (n >= len)
		return url;
	str_copy(buf, url, n + 1);
	str_appendf(buf, len, &n, "***%s", at);
	return buf;
}

static void progress(void *arg, const char *table, int64_t rows)
{
	fprintf(stderr, "pchatctl: migrate: %s: %" PRId64 " rows copied\n", table, rows);
}

/* Open url (the source is never created); CTL_EXIT_OK or an error after printing why. */
static int open_store(struct ctl *ctx, const char *url, const char *label, bool create,
                      struct store **st)
{
	struct store_options opt = {.url = url, .create = create};
	char err[512], buf[CONFIG_PATH_MAX];

	*st = store_open(&opt, err, sizeof err);
	if (!*st)
		return ctl_fail(ctx, CTL_EXIT_DATABASE, "cannot open the %s database %s: %s", label,
		                shown(url, buf, sizeof buf), err);
	return CTL_EXIT_OK;
}

static json_t *report_json(const struct migrate_args *a, const struct store_copy_report *rep)
{
	char b1[CONFIG_PATH_MAX], b2[CONFIG_PATH_MAX];
	json_t *tables = json_array();

	for (int t = 0; t < STORE_DUMP_N; t++) {
		const struct store_copy_table *ct = &rep->t[t];

		json_array_append_new(tables, json_pack("{s:s, s:I, s:I, s:s, s:s, s:b}", "table",
		                                        store_dump_defs[t].name, "source_rows",
		                                        (json_int_t)ct->src_rows, "target_rows",
		                                        (json_int_t)ct->dst_rows, "source_sha256",
		                                        ct->src_sum, "target_sha256", ct->dst_sum,
		                                        "ok", ct->ok));
	}
	return json_pack("{s:s, s:s, s:b, s:I, s:o}", "from", shown(a->from, b1, sizeof b1), "to",
	                 shown(a->to, b2, sizeof b2), "ok", rep->ok, "outbox_moved",
	                 (json_int_t)rep->outbox_moved, "tables", tables);
}

static void report_text(const struct store_copy_report *rep)
{
	if (rep->outbox_moved > 0)
		printf("moved %" PRId64 " compliance events from the outbox into the queue first\n",
		       rep->outbox_moved);
	printf("%-18s %10s %10s  %-16s %-16s %s\n", "TABLE", "SOURCE", "TARGET", "SOURCE SHA-256",
	       "TARGET SHA-256", "");
	for (int t = 0; t < STORE_DUMP_N; t++) {
		const struct store_copy_table *ct = &rep->t[t];

		printf("%-18s %10" PRId64 " %10" PRId64 "  %.16s %.16s %s\n",
		       store_dump_defs[t].name, ct->src_rows, ct->dst_rows, ct->src_sum,
		       ct->dst_sum, ct->ok ? "ok" : "MISMATCH");
	}
}

/* What a failed store_copy means for the operator. */
static int copy_failed(struct ctl *ctx, int rc, const struct store_copy_report *rep)
{
	if (rc == STORE_ENOTEMPTY)
		return ctl_fail(ctx, CTL_EXIT_EXISTS,
		                "the target already holds chat data (accounts, rooms or history): "
		                "nothing copied; use an empty database, or --force to replace it");
	if (rc == STORE_EINVAL)
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "the target cannot receive a copy (it must be PostgreSQL)");
	if (rep->verified && !rep->ok)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "verification failed: the target does not match the source; "
		                "everything was rolled back");
	return ctl_fail(ctx, CTL_EXIT_DATABASE,
	                "the copy failed (%s): everything was rolled back; see the messages above",
	                store_strerror(rc));
}

/* Open both sides, copy, report. */
static int run_copy(struct ctl *ctx, const struct migrate_args *a)
{
	struct store_copy_options opt = {
	    .replace = a->force, .every = MIGRATE_PROGRESS_ROWS, .progress = progress};
	struct store_copy_report rep;
	struct store *src = NULL, *dst = NULL;
	int rc;

	if ((rc = open_store(ctx, a->from, "source", false, &src)) != CTL_EXIT_OK)
		return rc;
	if ((rc = open_store(ctx, a->to, "target", true, &dst)) != CTL_EXIT_OK)
		goto out_close_src;
	rc = store_copy(store_direct(src), store_direct(dst), &opt, &rep);
	if (rep.verified) {
		if (ctx->json)
			ctl_json_out(report_json(a, &rep));
		else
			report_text(&rep);
	}
	if (rc != STORE_OK)
		rc = copy_failed(ctx, rc, &rep);
	else if (!ctx->json)
		printf("migrated: every table agrees (rows and SHA-256); start pchatd with "
		       "[database] url set to the target\n");
	store_close(dst);
out_close_src:
	store_close(src);
	return rc;
}

int ctl_migrate_run(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, OPT_FROM},
	    {"to", required_argument, NULL, OPT_TO},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {NULL, 0, NULL, 0},
	};
	struct migrate_args a = {0};
	char buf[CONFIG_PATH_MAX];
	int rc, pid;

	rc = ctl_parse(ctx, argc, argv, opts, on_opt, &a, NULL, 0, 0);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (!a.from || !a.to)
		return ctl_usage(ctx, "both --from and --to are needed");
	if (strcmp(a.from, a.to) == 0)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "--from and --to name the same database");
	if (!is_pg(a.to))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "--to must be a PostgreSQL database (postgresql://...), not '%s'",
		                shown(a.to, buf, sizeof buf));
	if (store_in_use(a.from, &pid))
		return ctl_fail(ctx, CTL_EXIT_INUSE,
		                "%s is open in another process (pid %d): stop pchatd first, then "
		                "migrate",
		                a.from, pid);
	return run_copy(ctx, &a);
}

const char ctl_migrate_summary[] =
    "move a single-server database (SQLite) into a pool's database (PostgreSQL)";

const char ctl_migrate_usage[] =
    " --from sqlite:PATH --to postgresql://... [--force]\n"
    "DESCRIPTION\n"
    "    Copy everything the source database holds into the target: accounts\n"
    "    (with their passwords), groups, categories, rooms and their roles,\n"
    "    followed rooms, pending invitations, the whole history (messages, history\n"
    "    events, removed and replaced messages, with their ids, sequence numbers,\n"
    "    msgids, tags and times), read markers, add-ins, the change feed, the\n"
    "    compliance queue (the outbox is moved into it first; event ids are kept)\n"
    "    and the settings. The target is written in one transaction; it is then\n"
    "    read back, and the copy is committed only when every table has the same\n"
    "    number of rows and the same SHA-256 checksum on both sides. Otherwise\n"
    "    nothing is kept (exit status 5). Progress goes to standard error every\n"
    "    100,000 rows; the verification table to standard output (or --json).\n\n"
    "    Stop pchatd first: a source that another process has open is refused\n"
    "    (exit status 8). The source is only read (except that its compliance\n"
    "    outbox is moved into its queue). The target must be an empty pchat\n"
    "    database (created by this command or by pchatd, nothing in it but the\n"
    "    'general' category); a target holding data is refused (exit status 3)\n"
    "    unless --force, which deletes what it holds before copying.\n\n"
    "OPTIONS\n"
    "    --from URL   the source: sqlite:PATH (or a PostgreSQL URL)\n"
    "    --to URL     the target: postgresql://USER@HOST:PORT/DB or a conninfo\n"
    "    --force      replace the chat data the target already holds\n\n"
    "EXAMPLES\n"
    "    systemctl stop pchatd\n"
    "    pchatctl migrate --from sqlite:/var/lib/pchat/pchat.db \\\n"
    "        --to postgresql://pchat@db1.example.com/pchat\n"
    "    pchatctl --json migrate --from sqlite:pchat.db --to postgresql://pchat@db1/pchat\n";
