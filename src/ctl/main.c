/*
 * main.c — pchatctl: the global options, the root of the command tree, and
 * the order in which the configuration is built (defaults, -c FILE, flags,
 * config_finish).
 *
 * Deliberately not here: commands (one file per noun) and the tree
 * machinery (ctl.c).
 */
#include "ctl/ctl.h"

#include "common/log.h"
#include "common/str.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const struct ctl_cmd root_cmds[] = {
    {"user", "manage accounts",
     "\n"
     "DESCRIPTION\n"
     "    Accounts are the people who log in (SASL PLAIN or SCRAM-SHA-256). The\n"
     "    account name is also the IRC nick.\n",
     NULL, ctl_user_cmds},
    {"room", "manage rooms (IRC channels)",
     "\n"
     "DESCRIPTION\n"
     "    A room is the channel #NAME; it exists once created here (or by a category\n"
     "    creator through the pchat service). Every room belongs to a category\n"
     "    (default 'general') and has a privacy (open, closed, secret), a type\n"
     "    (normal, auditorium), members, managers and presenters. See\n"
     "    docs/rooms.md.\n",
     NULL, ctl_room_cmds},
    {"group", "manage groups of accounts",
     "\n"
     "DESCRIPTION\n"
     "    A group is a named set of accounts and other groups. Every principal list\n"
     "    (category allowed/denied/creators, room members/managers/presenters)\n"
     "    accepts group:NAME besides account names and *.\n",
     NULL, ctl_group_cmds},
    {"category", "manage categories (scope, ethical wall, creators, settings)",
     "\n"
     "DESCRIPTION\n"
     "    Every room belongs to one category. A category's allowed list is its\n"
     "    scope, its denied list overrides it (an ethical wall), its creators may\n"
     "    create rooms in it; it switches invitations, file upload and history.\n"
     "    See docs/rooms.md.\n",
     NULL, ctl_category_cmds},
    {"addin", "manage room add-ins (web pages shown beside a room)",
     "\n"
     "DESCRIPTION\n"
     "    An add-in is a name and an http(s) URL that a room can attach.\n",
     NULL, ctl_addin_cmds},
    {"message", "read, remove and replace room messages",
     "\n"
     "DESCRIPTION\n"
     "    Read the stored history of a room, as committed by pchatd, and\n"
     "    administer content: remove or replace messages by room, author, date\n"
     "    range and text.\n",
     NULL, ctl_message_cmds},
    {"db", "the database: integrity, version, sessions, promotion, mirror",
     "\n"
     "DESCRIPTION\n"
     "    Integrity check and schema version of the chat database; for a pool on\n"
     "    PostgreSQL the runbook's database commands (who, kill, recover), the\n"
     "    synchronous mirror (install-mirror, switchover, mirror-check) and the\n"
     "    status of both databases. See docs/operations.md.\n",
     NULL, ctl_db_cmds},
    {"compliance", "export and inspect the compliance queue",
     "\n"
     "DESCRIPTION\n"
     "    Every message, join, part, history read, search and administrative change\n"
     "    is queued for the compliance archive when [compliance] enabled = yes\n"
     "    (docs/compliance.md). run exports the queue now; status shows it.\n",
     NULL, ctl_compliance_cmds},
    {"pool", "a pool of servers: status, pool state, active servers",
     "\n"
     "DESCRIPTION\n"
     "    Several pchatd over one PostgreSQL database, described by a topology\n"
     "    file ([pool] topology, or --topology FILE on each pool command). See\n"
     "    docs/deployment.md.\n",
     NULL, ctl_pool_cmds},
    {"logship", "log shipping to the second data center (WAL archive, copy, restore)",
     "\n"
     "DESCRIPTION\n"
     "    PostgreSQL's WAL archive as Lync's log shipping: the primary archives to\n"
     "    [logship] share, the copy job copies to copy_destination, the backup\n"
     "    standby restores from there; every file checked by SHA-256. status is\n"
     "    the monitor; remove-secondary, copy --all and restore --all are the\n"
     "    first steps of the failover runbook. See docs/operations.md.\n",
     NULL, ctl_logship_cmds},
    {"migrate", ctl_migrate_summary, ctl_migrate_usage, ctl_migrate_run, NULL},
    {"failover", ctl_failover_summary, ctl_failover_usage, ctl_failover_run, NULL},
    {"failback", ctl_failback_summary, ctl_failback_usage, ctl_failback_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct ctl_cmd root = {
    "", "administration tool of the pchat persistent chat server",
    "\n"
    "DESCRIPTION\n"
    "    pchatctl opens the chat database named by the configuration directly\n"
    "    (SQLite allows it while pchatd runs) and changes or reads it. The\n"
    "    configuration is built from the defaults, then the file given with -c,\n"
    "    then --data-dir and --database. A missing data directory is created\n"
    "    (mode 0700), and so is a missing database.\n\n"
    "EXAMPLES\n"
    "    pchatctl -c /etc/pchat/pchat.ini user add alice\n"
    "    pchatctl --json room list\n",
    NULL, root_cmds};

enum { OPT_DATA_DIR = 256, OPT_DATABASE, OPT_JSON, OPT_VERSION };

static const struct option global_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"database", required_argument, NULL, OPT_DATABASE},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Values of the global options, applied after the file. */
struct globals {
	const char *config;   /* -c FILE */
	const char *data_dir; /* --data-dir */
	const char *database; /* --database */
	bool help;            /* -h */
	bool version;         /* --version */
};

static int parse_globals(struct ctl *ctx, int argc, char **argv, struct globals *g)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:h", global_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			g->config = optarg;
			break;
		case OPT_DATA_DIR:
			g->data_dir = optarg;
			break;
		case OPT_DATABASE:
			g->database = optarg;
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		case 'h':
			g->help = true;
			break;
		case OPT_VERSION:
			g->version = true;
			break;
		case ':':
			return ctl_usage(ctx, "option '%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage(ctx, "unknown option '%s'", argv[optind - 1]);
		}
	}
	return CTL_EXIT_OK;
}

/* Defaults, then the file, then the flags, then derived paths. */
static int build_config(struct ctl *ctx, const struct globals *g)
{
	char err[1200];

	config_defaults(&ctx->cfg);
	if (g->config && config_load(&ctx->cfg, g->config, err, sizeof err) < 0)
		return ctl_fail(ctx, CTL_EXIT_CONFIG,
		                "%s (fix the file, see docs/configuration.md)", err);
	if (g->data_dir && str_copy(ctx->cfg.data_dir, g->data_dir, sizeof ctx->cfg.data_dir) >=
	                       sizeof ctx->cfg.data_dir)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "--data-dir: path too long");
	if (g->database && str_copy(ctx->cfg.db_url, g->database, sizeof ctx->cfg.db_url) >=
	                       sizeof ctx->cfg.db_url)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "--database: URL too long");
	config_finish(&ctx->cfg);
	return CTL_EXIT_OK; /* the pool's database in use is found when a command opens it */
}

int main(int argc, char **argv)
{
	struct ctl ctx = {0};
	struct globals g = {0};
	int rc;

	log_set_level(LOG_LEVEL_WARN);
	store_set_client_name("pchatctl");
	rc = parse_globals(&ctx, argc, argv, &g);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (g.version) {
		printf("pchatctl %s (schema %d)\n", PCHAT_VERSION, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (g.help || optind >= argc) {
		ctl_help(&ctx, &root, g.help ? stdout : stderr);
		rc = g.help ? CTL_EXIT_OK : ctl_usage(&ctx, "a command is missing");
		goto out;
	}
	ctx.config_path = g.config;
	rc = build_config(&ctx, &g);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = ctl_dispatch(&ctx, root_cmds, argc - optind, argv + optind);
	if (ctx.st)
		store_close(ctx.st);
out:
	return rc;
}
