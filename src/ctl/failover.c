/*
 * failover.c — pchatctl failover and failback: the runbooks of SPEC §9 as
 * rows of runbook.c's machine. Failover (data center A lost; the backup in
 * data center B takes over):
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
 * Failback (data center A rebuilt; planned, lossless):
 *
 *   1 reseed            db reseed --database primary  A streams from B
 *   2 freeze            db freeze --database backup   B read-only, A caught up
 *   3 recover           db recover --database primary promote A
 *   4 logship           logship setup                 A archives again
 *   5 state             pool state normal             generation + 1, B fenced
 *   6 active            pool active set A-SERVERS
 *   7 secondary         db reseed --database backup --log-shipping
 *   8 mirror-primary    db install-mirror (primary)   when the topology has one
 *   9 mirror-backup     db install-mirror (backup)    cascading from B
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

/* db install-mirror for the database which, when the topology gives it a mirror. */
static int mirror_of(struct runbook *rb, const char *which, const char **argv, const char **why)
{
	const struct failover *f = runbook_arg(rb);
	const struct topo_db *d = topo_db(&f->topo, which);

	if (!d->mirror[0] || !d->mirror_data_dir[0]) {
		*why = runbook_strdup(rb, strcmp(which, "primary") == 0
		                              ? "the topology gives the primary database no mirror "
		                                "(mirror and mirror_data_dir)"
		                              : "the topology gives the backup database no mirror "
		                                "(mirror and mirror_data_dir): install one later "
		                                "with pchatctl db install-mirror");
		return 1;
	}
	argv[0] = "db";
	argv[1] = "install-mirror";
	argv[2] = "--database";
	argv[3] = which;
	argv[4] = "--mirror";
	argv[5] = runbook_strdup(rb, d->mirror);
	argv[6] = "--data-dir";
	argv[7] = runbook_strdup(rb, d->mirror_data_dir);
	argv[8] = "--start";
	argv[9] = "--replace";
	argv[10] = NULL;
	return 0;
}

static int step_mirror(struct runbook *rb, const char **argv, const char **why)
{
	return mirror_of(rb, "backup", argv, why);
}

/* pool active set: every server of the data center of the database which. */
static int active_in(struct runbook *rb, const char *which, const char **argv, const char **why)
{
	const struct failover *f = runbook_arg(rb);
	const struct topo_db *d = topo_db(&f->topo, which);
	char list[TOPO_MAX_SERVERS * TOPO_NAME_MAX] = "";
	size_t len = 0;

	for (int i = 0; i < f->topo.n_servers; i++)
		if (str_ieq(f->topo.servers[i].datacenter, d->datacenter))
			str_appendf(list, sizeof list, &len, "%s%s", len ? "," : "",
			            f->topo.servers[i].name);
	if (!len) {
		*why = runbook_strdup(rb, strcmp(which, "primary") == 0
		                              ? "no server of the topology is in the primary "
		                                "database's data center: add them to the topology, "
		                                "then run the failback again"
		                              : "no server of the topology is in the backup "
		                                "database's data center: add them to the topology, "
		                                "then run the failover again");
		return -1;
	}
	argv[0] = "pool";
	argv[1] = "active";
	argv[2] = "set";
	argv[3] = runbook_strdup(rb, list);
	argv[4] = NULL;
	return 0;
}

static int step_active(struct runbook *rb, const char **argv, const char **why)
{
	return active_in(rb, "backup", argv, why);
}

static int step_mirror_primary(struct runbook *rb, const char **argv, const char **why)
{
	return mirror_of(rb, "primary", argv, why);
}

static int step_active_primary(struct runbook *rb, const char **argv, const char **why)
{
	return active_in(rb, "primary", argv, why);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct runbook_step failover_steps[] = {
    {"remove-secondary", "stop the log-shipping copy and restore jobs",
     WORDS("logship", "remove-secondary"), NULL},
    {"copy", "copy every log file still on the backup share", WORDS("logship", "copy", "--all"),
     NULL},
    {"restore", "apply every copied file to the backup; verify the sequence", NULL, step_restore},
    {"sessions", "end the sessions on the backup database",
     WORDS("db", "kill", "--all", "--database", "backup"), NULL},
    {"recover", "promote the backup database to a writable primary",
     WORDS("db", "recover", "--database", "backup"), NULL},
    {"state", "pool state failed-over (generation + 1; fences the old primary)",
     WORDS("pool", "state", "failed-over"), NULL},
    {"active", "make the servers of the backup's data center active", NULL, step_active},
    {"mirror", "install the mirror of the new primary (after clients are served)", NULL,
     step_mirror},
};

static const struct runbook_step failback_steps[] = {
    {"reseed", "re-seed the primary database from the backup; it streams from it",
     WORDS("db", "reseed", "--database", "primary"), NULL},
    {"freeze", "stop writes on the backup until the primary has replayed everything",
     WORDS("db", "freeze", "--database", "backup"), NULL},
    {"recover", "promote the primary database", WORDS("db", "recover", "--database", "primary"),
     NULL},
    {"logship", "the primary archives its log to the backup share again", WORDS("logship", "setup"),
     NULL},
    {"state", "pool state normal (generation + 1; fences the backup)",
     WORDS("pool", "state", "normal"), NULL},
    {"active", "make the servers of the primary's data center active", NULL, step_active_primary},
    {"secondary", "re-seed the backup as the log-shipping secondary",
     WORDS("db", "reseed", "--database", "backup", "--log-shipping", "--timeout", "300"), NULL},
    {"mirror-primary", "install the mirror of the primary", NULL, step_mirror_primary},
    {"mirror-backup", "install the backup's mirror (cascading; synchronous once promoted)", NULL,
     step_mirror},
};

/* Fields of the steps' outputs the report ends with: the recovery point. */
static const char *const failover_summary[] = {"restore:last_applied",  "restore:recovery_point",
                                               "restore:first_missing", "restore:not_applied",
                                               "recover:last_replay",   "recover:max_id",
                                               "recover:msgid",         "recover:time",
                                               "state:generation",      NULL};

/* The failback's: zero loss is the backup's newest message being the primary's. */
static const char *const failback_summary[] = {
    "reseed:method", "freeze:max_id",    "freeze:msgid",     "recover:max_id",
    "recover:msgid", "state:generation", "secondary:method", NULL};

enum { OPT_DRY_RUN = 256, OPT_ACCEPT, OPT_STATE, OPT_RESTART };

struct failover_opts {
	struct runbook_options rb;             /* for the machine */
	struct failover f;                     /* for the steps */
	char state_path[CONFIG_PATH_MAX + 32]; /* default under the data directory */
	char other_path[CONFIG_PATH_MAX + 32]; /* the other kind's, which supersedes */
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

/* The runbook of kind ("failover" or "failback") with its steps, from the command line. */
static int run_kind(struct ctl *ctx, int argc, char **argv, const char *kind,
                    const struct runbook_step *steps, size_t n, const char *const *sum)
{
	static const struct option opts[] = {{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	                                     {"accept-data-loss", no_argument, NULL, OPT_ACCEPT},
	                                     {"state", required_argument, NULL, OPT_STATE},
	                                     {"restart", no_argument, NULL, OPT_RESTART},
	                                     {NULL, 0, NULL, 0}};
	static struct failover_opts o; /* the topology is large */
	const char *other = strcmp(kind, "failover") == 0 ? "failback" : "failover";
	char err[1200];
	int rc;

	memset(&o, 0, sizeof o);
	rc = ctl_parse(ctx, argc, argv, opts, on_opt, &o, NULL, 0, 0);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (o.f.accept_data_loss && strcmp(kind, "failback") == 0)
		return ctl_usage(ctx, "--accept-data-loss: a failback loses nothing");
	if (!ctx->cfg.pool_topology[0])
		return ctl_fail(ctx, CTL_EXIT_CONFIG,
		                "no topology: the %s needs -c CONFIG with [pool] topology "
		                "(the steps read it too; docs/operations.md)",
		                kind);
	if (topo_load(&o.f.topo, ctx->cfg.pool_topology, err, sizeof err) != 0)
		return ctl_fail(ctx, CTL_EXIT_CONFIG, "%s (fix the topology file)", err);
	if (ctl_mkdir_p(ctx->cfg.data_dir) < 0)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM,
		                "cannot create the data directory %s for the state file: %s",
		                ctx->cfg.data_dir, strerror(errno));
	if (!o.state_path[0])
		snprintf(o.state_path, sizeof o.state_path, "%s/%s-state.json", ctx->cfg.data_dir,
		         kind);
	snprintf(o.other_path, sizeof o.other_path, "%s/%s-state.json", ctx->cfg.data_dir, other);
	o.rb.kind = kind;
	o.rb.state_path = o.state_path;
	o.rb.other_path = o.other_path;
	o.rb.arg = &o.f;
	o.rb.summary = sum;
	return runbook_run(ctx, steps, n, &o.rb);
}

int ctl_failover_run(struct ctl *ctx, int argc, char **argv)
{
	return run_kind(ctx, argc, argv, "failover", failover_steps,
	                sizeof failover_steps / sizeof failover_steps[0], failover_summary);
}

int ctl_failback_run(struct ctl *ctx, int argc, char **argv)
{
	return run_kind(ctx, argc, argv, "failback", failback_steps,
	                sizeof failback_steps / sizeof failback_steps[0], failback_summary);
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

const char ctl_failback_summary[] =
    "bring the pool back to the primary database (data center A rebuilt): the runbook";

const char ctl_failback_usage[] =
    " [--dry-run] [--state FILE] [--restart]\n"
    "DESCRIPTION\n"
    "    Planned and lossless: runs the failback runbook as its commands, in\n"
    "    order, each checking its own preconditions:\n"
    "      1 db reseed --database primary   A's database re-seeded from the backup\n"
    "                                       (pg_rewind, else pg_basebackup; the old\n"
    "                                       directory kept aside), streaming from it\n"
    "      2 db freeze --database backup    writes stop (a message sent now gets\n"
    "                                       FAIL); wait until A replayed everything\n"
    "      3 db recover --database primary  promote A\n"
    "      4 logship setup                  A archives to the backup share again\n"
    "      5 pool state normal              generation + 1 in A; B fenced; every\n"
    "                                       server moves to A by itself\n"
    "      6 pool active set SERVERS        the servers of A's data center\n"
    "      7 db reseed --database backup --log-shipping\n"
    "                                       B becomes the log-shipping secondary\n"
    "                                       again (shipping resumed)\n"
    "      8 db install-mirror (primary)    when the topology gives A a mirror\n"
    "      9 db install-mirror (backup)     B's mirror, cascading from it\n"
    "    Writes stop from step 2 until the servers are on A after step 5 (a few\n"
    "    seconds). The report gives each step's time and the newest message of\n"
    "    the frozen backup and of the promoted primary: the same id is zero loss.\n"
    "    Run it where the data directories of both databases are reachable (the\n"
    "    topology's data_dir), or run step 7 by hand in data center B and then\n"
    "    this command again: a step finds its work done and goes on. Progress is\n"
    "    kept in DATA_DIR/failback-state.json like the failover's.\n"
    "\n"
    "OPTIONS\n"
    "    --dry-run            print the steps and their commands, run nothing\n"
    "    --state FILE         the state file (default DATA_DIR/failback-state.json)\n"
    "    --restart            forget a finished or stopped failback and start again\n"
    "    --json               one JSON document: every step with its output\n"
    "\n"
    "EXAMPLES\n"
    "    pchatctl -c /etc/pchat/pchat-a.ini failback --dry-run\n"
    "    pchatctl -c /etc/pchat/pchat-a.ini failback\n";
