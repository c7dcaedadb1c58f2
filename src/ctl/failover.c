/*
 * failover.c — pchatctl failover: Lync's seven-step failover runbook
 * (SPEC §9) as one command. Data center A (the primary database and its
 * servers) is lost; the backup database in data center B takes over:
 *
 *   1 remove-secondary  logship remove-secondary     stop copy and restore
 *   2 copy              logship copy --all           every file on the share
 *   3 restore           logship restore --all        applied, no gap
 *   4 sessions          db kill --all --database backup
 *   5 recover           db recover --database backup promote the backup
 *   6 state             pool state failed-over       generation + 1, fence
 *   7 active            pool active set B-SERVERS    the servers of B serve
 *   8 mirror            db install-mirror ...        when the topology has one
 *
 * Lync installs the mirror before the active servers; here clients are
 * served first (the mirror takes seconds to build and copy) and the report
 * shows the order.
 *
 * Each step is the command an operator would type, with its own checks; the
 * machine (runbook.c) runs them in order, resumes after an interruption and
 * reports times and the recovery point.
 *
 * Deliberately not here: what each step does (logship.c, db_ha.c, pool.c).
 */
#include "ctl/runbook.h"

#include "common/str.h"
#include "pool/topology.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* What the step functions need. */
struct failover {
	struct topology topo;  /* the pool */
	bool accept_data_loss; /* restore proceeds past a gap */
};

static int step_remove_secondary(struct runbook *rb, const char **argv, const char **why)
{
	static const char *const words[] = {"logship", "remove-secondary", NULL};

	(void)rb;
	(void)why;
	memcpy(argv, words, sizeof words);
	return 0;
}

static int step_copy(struct runbook *rb, const char **argv, const char **why)
{
	static const char *const words[] = {"logship", "copy", "--all", NULL};

	(void)rb;
	(void)why;
	memcpy(argv, words, sizeof words);
	return 0;
}

static int step_restore(struct runbook *rb, const char **argv, const char **why)
{
	const struct failover *f = runbook_arg(rb);
	size_t n = 0;

	(void)why;
	argv[n++] = "logship";
	argv[n++] = "restore";
	argv[n++] = "--all";
	if (f->accept_data_loss)
		argv[n++] = "--accept-data-loss";
	argv[n] = NULL;
	return 0;
}

static int step_sessions(struct runbook *rb, const char **argv, const char **why)
{
	static const char *const words[] = {"db", "kill", "--all", "--database", "backup", NULL};

	(void)rb;
	(void)why;
	memcpy(argv, words, sizeof words);
	return 0;
}

static int step_recover(struct runbook *rb, const char **argv, const char **why)
{
	static const char *const words[] = {"db", "recover", "--database", "backup", NULL};

	(void)rb;
	(void)why;
	memcpy(argv, words, sizeof words);
	return 0;
}

static int step_state(struct runbook *rb, const char **argv, const char **why)
{
	static const char *const words[] = {"pool", "state", "failed-over", NULL};

	(void)rb;
	(void)why;
	memcpy(argv, words, sizeof words);
	return 0;
}

static int step_mirror(struct runbook *rb, const char **argv, const char **why)
{
	const struct failover *f = runbook_arg(rb);
	const struct topo_db *b = &f->topo.backup;

	if (!b->mirror[0] || !b->mirror_data_dir[0]) {
		*why = "the topology gives the backup database no mirror (mirror and "
		       "mirror_data_dir): install one later with pchatctl db install-mirror";
		return 1;
	}
	argv[0] = "db";
	argv[1] = "install-mirror";
	argv[2] = "--database";
	argv[3] = "backup";
	argv[4] = "--mirror";
	argv[5] = runbook_strdup(rb, b->mirror);
	argv[6] = "--data-dir";
	argv[7] = runbook_strdup(rb, b->mirror_data_dir);
	argv[8] = "--start";
	argv[9] = NULL;
	return 0;
}

static int step_active(struct runbook *rb, const char **argv, const char **why)
{
	const struct failover *f = runbook_arg(rb);
	char list[TOPO_MAX_SERVERS * TOPO_NAME_MAX] = "";
	size_t len = 0;

	for (int i = 0; i < f->topo.n_servers; i++)
		if (str_ieq(f->topo.servers[i].datacenter, f->topo.backup.datacenter))
			str_appendf(list, sizeof list, &len, "%s%s", len ? "," : "",
			            f->topo.servers[i].name);
	if (!len) {
		*why = "no server of the topology is in the backup database's data center: add "
		       "them to the topology, then run the failover again";
		return -1;
	}
	argv[0] = "pool";
	argv[1] = "active";
	argv[2] = "set";
	argv[3] = runbook_strdup(rb, list);
	argv[4] = NULL;
	return 0;
}

static const struct runbook_step failover_steps[] = {
    {"remove-secondary", "stop the log-shipping copy and restore jobs", step_remove_secondary},
    {"copy", "copy every log file still on the backup share", step_copy},
    {"restore", "apply every copied file to the backup; verify the sequence", step_restore},
    {"sessions", "end the sessions on the backup database", step_sessions},
    {"recover", "promote the backup database to a writable primary", step_recover},
    {"state", "pool state failed-over (generation + 1; fences the old primary)", step_state},
    {"active", "make the servers of the backup's data center active", step_active},
    {"mirror", "install the mirror of the new primary (after clients are served)", step_mirror},
};

/* Fields of the steps' outputs the report ends with: the recovery point. */
static const char *const failover_summary[] = {"restore:last_applied",  "restore:recovery_point",
                                               "restore:first_missing", "restore:not_applied",
                                               "recover:last_replay",   "recover:max_id",
                                               "recover:msgid",         "recover:time",
                                               "state:generation",      NULL};

enum { OPT_DRY_RUN = 256, OPT_ACCEPT, OPT_STATE, OPT_RESTART };

struct failover_opts {
	struct runbook_options rb;             /* for the machine */
	struct failover f;                     /* for the steps */
	char state_path[CONFIG_PATH_MAX + 32]; /* default under the data directory */
};

static int on_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct failover_opts *o = arg;

	switch (val) {
	case OPT_DRY_RUN:
		o->rb.dry_run = true;
		return CTL_EXIT_OK;
	case OPT_ACCEPT:
		o->f.accept_data_loss = true;
		return CTL_EXIT_OK;
	case OPT_RESTART:
		o->rb.restart = true;
		return CTL_EXIT_OK;
	case OPT_STATE:
		if (str_copy(o->state_path, optarg, sizeof o->state_path) >= sizeof o->state_path)
			return ctl_usage(ctx, "--state: path too long");
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

int ctl_failover_run(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	                                     {"accept-data-loss", no_argument, NULL, OPT_ACCEPT},
	                                     {"state", required_argument, NULL, OPT_STATE},
	                                     {"restart", no_argument, NULL, OPT_RESTART},
	                                     {NULL, 0, NULL, 0}};
	static struct failover_opts o; /* the topology is large */
	char err[1200];
	int rc;

	memset(&o, 0, sizeof o);
	rc = ctl_parse(ctx, argc, argv, opts, on_opt, &o, NULL, 0, 0);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (!ctx->cfg.pool_topology[0])
		return ctl_fail(ctx, CTL_EXIT_CONFIG,
		                "no topology: the failover needs -c CONFIG with [pool] topology "
		                "(the steps read it too; docs/operations.md)");
	if (topo_load(&o.f.topo, ctx->cfg.pool_topology, err, sizeof err) != 0)
		return ctl_fail(ctx, CTL_EXIT_CONFIG, "%s (fix the topology file)", err);
	if (!o.state_path[0]) {
		if (ctl_mkdir_p(ctx->cfg.data_dir) < 0)
			return ctl_fail(
			    ctx, CTL_EXIT_SYSTEM,
			    "cannot create the data directory %s for the state file: %s",
			    ctx->cfg.data_dir, strerror(errno));
		snprintf(o.state_path, sizeof o.state_path, "%s/failover-state.json",
		         ctx->cfg.data_dir);
	}
	o.rb.kind = "failover";
	o.rb.state_path = o.state_path;
	o.rb.arg = &o.f;
	o.rb.summary = failover_summary;
	return runbook_run(ctx, failover_steps, sizeof failover_steps / sizeof failover_steps[0],
	                   &o.rb);
}

const char ctl_failover_summary[] =
    "fail the pool over to the backup database (data center A lost): the runbook";

const char ctl_failover_usage[] =
    " [--dry-run] [--accept-data-loss] [--state FILE] [--restart]\n"
    "DESCRIPTION\n"
    "    Runs Lync's failover runbook as its commands, in order, each checking its\n"
    "    own preconditions and stopping with what to do when they do not hold:\n"
    "      1 logship remove-secondary      stop the copy and restore jobs\n"
    "      2 logship copy --all            copy every file still on the share\n"
    "      3 logship restore --all         apply them; a gap in the sequence stops\n"
    "                                      here unless --accept-data-loss\n"
    "      4 db kill --all --database backup\n"
    "      5 db recover --database backup  promote the backup\n"
    "      6 pool state failed-over        generation + 1 in the promoted backup;\n"
    "                                      the old primary is fenced when reachable\n"
    "      7 pool active set SERVERS       the servers of the backup's data center\n"
    "      8 db install-mirror ...         when the topology gives the backup a\n"
    "                                      mirror (mirror, mirror_data_dir); after\n"
    "                                      the clients are served\n"
    "    Progress is kept in a state file (written atomically after every step):\n"
    "    run the command again after an interruption or a stop and it resumes at\n"
    "    the step it was in. The report gives each step's time, the total and the\n"
    "    recovery point (the last log file applied and its time, the newest\n"
    "    message in the promoted database). The servers of the pool restart onto\n"
    "    the backup by themselves (docs/deployment.md). Needs -c CONFIG with\n"
    "    [pool] topology; run it in data center B. docs/operations.md has the\n"
    "    runbook and its state diagram.\n"
    "\n"
    "OPTIONS\n"
    "    --dry-run            print the steps and their commands, run nothing\n"
    "    --accept-data-loss   restore past a gap (the report says what is lost)\n"
    "    --state FILE         the state file (default DATA_DIR/failover-state.json)\n"
    "    --restart            forget a finished or stopped failover and start again\n"
    "    --json               one JSON document: every step with its output, the\n"
    "                         total and the summary\n"
    "\n"
    "EXAMPLES\n"
    "    pchatctl -c /etc/pchat/pchat-b.ini failover --dry-run\n"
    "    pchatctl -c /etc/pchat/pchat-b.ini failover\n";
