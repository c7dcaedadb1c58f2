/*
 * logship.c — pchatctl logship: PostgreSQL's WAL archive as Lync's log
 * shipping. archive (the primary's archive_command), copy (the copy job
 * in the second data center, once or as a daemon), restore-file (the
 * backup standby's restore_command), status (the monitor), setup (both
 * ends from the topology), and the first three steps of the failover
 * runbook: remove-secondary, copy --all, restore --all.
 *
 * Every command reads [logship] of the topology (--topology FILE, or
 * [pool] topology of -c FILE). None opens the chat database: archive and
 * restore-file run inside PostgreSQL's archiver and startup processes and
 * must not depend on a database; setup drives psql and pg_basebackup from
 * [postgresql] bindir (only src/store/pg/ links libpq).
 *
 * Deliberately not here: the file work, names, gaps, retention and
 * alerts (src/pool/logship*.c); promotion and the rest of the runbook
 * (src/ha, pchatctl db).
 */
#include "ctl/ctl.h"
#include "ctl/db_ha.h"

#include "common/log.h"
#include "common/proc.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "ha/ha.h"
#include "pool/logship.h"
#include "pool/topology.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * restore-file answers PostgreSQL, for which any non-zero status means
 * "not restored: ask again later" (missing, paused or corrupt); it uses 1.
 * The other commands use exitcodes.h (CTL_EXIT_ALERT: an alert holds, a gap
 * or a corrupt file stopped the step).
 */
#define LS_EXIT_NOT_RESTORED 1

enum {
	OPT_TOPOLOGY = 500,
	OPT_FOR_REWIND,
	OPT_PROMETHEUS,
	OPT_ALL,
	OPT_WATCH,
	OPT_INTERVAL,
	OPT_ACCEPT_LOSS,
	OPT_TIMEOUT,
};

/* One logship command: options and the topology. */
struct ls_ctx {
	const char *topology; /* --topology FILE */
	bool all;             /* --all */
	bool watch;           /* --watch */
	bool accept_loss;     /* --accept-data-loss */
	bool for_rewind;      /* --for-rewind (restore-file) */
	const char *prom;     /* --prometheus FILE|- (status) */
	int interval;         /* --interval SEC (copy --watch) */
	int timeout;          /* --timeout SEC (restore --all) */
	struct topology topo; /* read by ls_open */
};

static volatile sig_atomic_t ls_stop; /* SIGTERM/SIGINT seen by copy --watch */

static int on_ls_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct ls_ctx *l = arg;
	int64_t n;

	switch (val) {
	case OPT_TOPOLOGY:
		l->topology = optarg;
		return CTL_EXIT_OK;
	case OPT_ALL:
		l->all = true;
		return CTL_EXIT_OK;
	case OPT_WATCH:
		l->watch = true;
		return CTL_EXIT_OK;
	case OPT_ACCEPT_LOSS:
		l->accept_loss = true;
		return CTL_EXIT_OK;
	case OPT_FOR_REWIND:
		l->for_rewind = true;
		return CTL_EXIT_OK;
	case OPT_PROMETHEUS:
		l->prom = optarg;
		return CTL_EXIT_OK;
	case OPT_INTERVAL:
	case OPT_TIMEOUT:
		if (str_to_i64(optarg, 1, 86400, &n) != 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--%s: expected seconds from 1 to 86400, not '%s'",
			                val == OPT_INTERVAL ? "interval" : "timeout", optarg);
		*(val == OPT_INTERVAL ? &l->interval : &l->timeout) = (int)n;
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

/* Read the topology and check [logship] has what the command needs. */
static int ls_open(struct ctl *ctx, struct ls_ctx *l, bool need_share, bool need_dest)
{
	const char *path = l->topology ? l->topology : ctx->cfg.pool_topology;
	char err[1200];

	if (!path[0])
		return ctl_fail(ctx, CTL_EXIT_CONFIG,
		                "no topology: pass --topology FILE or set [pool] topology in the "
		                "configuration given with -c (docs/operations.md)");
	if (topo_load(&l->topo, path, err, sizeof err) != 0)
		return ctl_fail(ctx, CTL_EXIT_CONFIG, "%s (fix the topology file)", err);
	if (need_share && !l->topo.logship.share[0])
		return ctl_fail(ctx, CTL_EXIT_CONFIG, "%s: [logship] share is not set", path);
	if (need_dest && !l->topo.logship.copy_destination[0])
		return ctl_fail(ctx, CTL_EXIT_CONFIG, "%s: [logship] copy_destination is not set",
		                path);
	return CTL_EXIT_OK;
}

/* The exit status for a logship error. */
static int ls_exit(int rc)
{
	switch (rc) {
	case LOGSHIP_OK:
		return CTL_EXIT_OK;
	case LOGSHIP_EDIFFERENT:
		return CTL_EXIT_EXISTS;
	case LOGSHIP_ENOENT:
		return CTL_EXIT_NOTFOUND;
	case LOGSHIP_EINVAL:
		return CTL_EXIT_INVALID;
	case LOGSHIP_ECORRUPT:
		return CTL_EXIT_ALERT;
	case LOGSHIP_ERUNNING:
		return CTL_EXIT_INUSE;
	default:
		return CTL_EXIT_SYSTEM;
	}
}

/*
 * ms as ISO 8601, NULL for 0 (JSON null). Eight rotating buffers: one
 * printf or json_pack may hold several (ctl_time has only one).
 */
static const char *iso(int64_t ms)
{
	static char buf[8][TIME_ISO_LEN];
	static unsigned next;
	char *b = buf[next++ % 8];

	if (!ms)
		return NULL;
	time_fmt_iso(ms, b, TIME_ISO_LEN);
	return b;
}

/* An ISO time or "never". */
static const char *when(int64_t ms)
{
	return ms ? iso(ms) : "never";
}

/* --- archive ----------------------------------------------------------------- */

static const struct option topo_opts[] = {{"topology", required_argument, NULL, OPT_TOPOLOGY},
                                          {NULL, 0, NULL, 0}};

static int ls_archive_cmd(struct ctl *ctx, int argc, char **argv)
{
	struct ls_ctx *l = xcalloc(1, sizeof(*l));
	char *pos[2], err[LOGSHIP_ERR_MAX];
	bool already = false;
	int rc;

	rc = ctl_parse(ctx, argc, argv, topo_opts, on_ls_opt, l, pos, 2, 2);
	if (rc == CTL_EXIT_OK)
		rc = ls_open(ctx, l, true, false);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	rc = ls_exit(
	    logship_archive(pos[0], l->topo.logship.share, pos[1], &already, err, sizeof err));
	if (rc != CTL_EXIT_OK)
		ctl_fail(ctx, rc, "archive %s: %s", pos[1], err);
	else if (ctx->json)
		ctl_json_out(json_pack("{s:s, s:s, s:b}", "file", pos[1], "share",
		                       l->topo.logship.share, "already_archived", already));
out_free:
	free(l);
	return rc;
}

/* --- copy -------------------------------------------------------------------- */

static void on_stop_signal(int sig)
{
	(void)sig;
	ls_stop = 1;
}

/* One round of the copy job: copy, then retention. Returns the copy's logship code. */
static int copy_round(const struct topo_logship *ls, bool prune, struct logship_copy_result *res,
                      struct logship_prune_result *pr, char *err, size_t errlen)
{
	char perr[LOGSHIP_ERR_MAX];
	int rc = logship_copy_all(ls->share, ls->copy_destination, res, err, errlen);

	memset(pr, 0, sizeof(*pr));
	if (prune &&
	    logship_prune(ls->share, ls->copy_destination, time_now_ms(),
	                  (int64_t)ls->retention * 1000, pr, perr, sizeof perr) != LOGSHIP_OK)
		log_error("logship", "retention: %s", perr);
	return rc;
}

int ctl_logship_copy_once(const struct topology *t, char *err, size_t errlen)
{
	struct logship_copy_result res;
	struct logship_prune_result pr;

	return copy_round(&t->logship, false, &res, &pr, err, errlen) == LOGSHIP_OK ? 0 : -1;
}

/* The copy daemon: a round every interval until SIGTERM. */
static int copy_watch(struct ctl *ctx, struct ls_ctx *l)
{
	const struct topo_logship *ls = &l->topo.logship;
	struct logship_copy_result res;
	struct logship_prune_result pr;
	struct sigaction sa = {.sa_handler = on_stop_signal};
	char err[LOGSHIP_ERR_MAX];
	int rc;

	rc = logship_daemon_claim(ls->copy_destination, err, sizeof err);
	if (rc != LOGSHIP_OK)
		return ctl_fail(ctx, ls_exit(rc), "copy --watch: %s", err);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	log_msg(LOG_LEVEL_WARN, "logship", "copy daemon %ld started: %s -> %s every %d s",
	        (long)getpid(), ls->share, ls->copy_destination, l->interval);
	while (!ls_stop) {
		rc = copy_round(ls, true, &res, &pr, err, sizeof err);
		if (rc != LOGSHIP_OK && rc != LOGSHIP_ECORRUPT)
			log_error("logship", "copy: %s", err);
		for (int i = 0; i < l->interval * 10 && !ls_stop; i++)
			nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	logship_daemon_release(ls->copy_destination);
	log_msg(LOG_LEVEL_WARN, "logship", "copy daemon %ld stopped", (long)getpid());
	return CTL_EXIT_OK;
}

static void copy_report(const struct ctl *ctx, const struct ls_ctx *l,
                        const struct logship_copy_result *res,
                        const struct logship_prune_result *pr)
{
	json_t *bad = json_array();

	for (int i = 0; i < res->n_corrupt && i < LOGSHIP_MAX_CORRUPT; i++)
		json_array_append_new(bad, json_string(res->corrupt[i]));
	if (ctx->json) {
		ctl_json_out(json_pack("{s:i, s:i, s:s?, s:o, s:i, s:i}", "copied", res->n_copied,
		                       "already_there", res->n_present, "last_copied",
		                       res->last[0] ? res->last : NULL, "corrupt", bad, "failed",
		                       res->n_failed, "pruned", pr->n_deleted));
		return;
	}
	json_decref(bad);
	printf("copied %d file(s) from %s to %s%s%s; %d already there\n", res->n_copied,
	       l->topo.logship.share, l->topo.logship.copy_destination,
	       res->last[0] ? ", the last " : "", res->last, res->n_present);
	for (int i = 0; i < res->n_corrupt && i < LOGSHIP_MAX_CORRUPT; i++)
		printf("CORRUPT %s: its checksum does not match, not copied (replace it on the "
		       "share from the primary's pg_wal, or accept the loss at restore)\n",
		       res->corrupt[i]);
	if (pr->n_deleted)
		printf("retention: deleted %d file(s) older than %d s\n", pr->n_deleted,
		       l->topo.logship.retention);
}

static int ls_copy_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"topology", required_argument, NULL, OPT_TOPOLOGY},
	                                     {"all", no_argument, NULL, OPT_ALL},
	                                     {"watch", no_argument, NULL, OPT_WATCH},
	                                     {"interval", required_argument, NULL, OPT_INTERVAL},
	                                     {NULL, 0, NULL, 0}};
	struct ls_ctx *l = xcalloc(1, sizeof(*l));
	struct logship_copy_result res;
	struct logship_prune_result pr;
	char err[LOGSHIP_ERR_MAX];
	int rc;

	l->interval = 15;
	rc = ctl_parse(ctx, argc, argv, opts, on_ls_opt, l, NULL, 0, 0);
	if (rc == CTL_EXIT_OK && l->all && l->watch)
		rc = ctl_usage(ctx, "--all and --watch do not go together");
	if (rc == CTL_EXIT_OK)
		rc = ls_open(ctx, l, true, true);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	if (!l->all && logship_paused(l->topo.logship.copy_destination)) {
		if (ctx->json)
			ctl_json_out(json_pack("{s:b, s:i}", "paused", true, "copied", 0));
		else
			printf("log shipping is paused (remove-secondary): the copy job does not "
			       "run; 'copy --all' copies anyway, 'restore --all' resumes\n");
		goto out_free;
	}
	if (l->watch) {
		rc = copy_watch(ctx, l);
		goto out_free;
	}
	rc = copy_round(&l->topo.logship, !l->all, &res, &pr, err, sizeof err);
	copy_report(ctx, l, &res, &pr);
	if (rc != LOGSHIP_OK)
		ctl_fail(ctx, ls_exit(rc), "copy: %s", err);
	rc = ls_exit(rc);
out_free:
	free(l);
	return rc;
}

/* --- restore-file ------------------------------------------------------------ */

static int ls_restore_file_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option restore_opts[] = {
	    {"topology", required_argument, NULL, OPT_TOPOLOGY},
	    {"for-rewind", no_argument, NULL, OPT_FOR_REWIND},
	    {NULL, 0, NULL, 0}};
	struct ls_ctx *l = xcalloc(1, sizeof(*l));
	char *pos[2], err[LOGSHIP_ERR_MAX];
	int rc;

	rc = ctl_parse(ctx, argc, argv, restore_opts, on_ls_opt, l, pos, 2, 2);
	if (rc == CTL_EXIT_OK)
		rc = ls_open(ctx, l, false, true);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	rc = logship_restore_file(l->topo.logship.copy_destination, pos[0], pos[1], l->for_rewind,
	                          err, sizeof err);
	/* missing and paused are PostgreSQL's "not yet": quiet; corrupt is logged already */
	if (rc == LOGSHIP_ESYS || rc == LOGSHIP_EINVAL)
		ctl_fail(ctx, LS_EXIT_NOT_RESTORED, "restore-file %s: %s", pos[0], err);
	rc = rc == LOGSHIP_OK ? CTL_EXIT_OK : LS_EXIT_NOT_RESTORED;
out_free:
	free(l);
	return rc;
}

/* --- status ------------------------------------------------------------------ */

static json_t *status_json(const struct ls_ctx *l, const struct logship_status *st)
{
	const struct topo_logship *ls = &l->topo.logship;
	json_t *bad = json_array();

	for (int i = 0; i < st->copy.n_corrupt; i++)
		json_array_append_new(bad, json_string(st->copy.corrupt[i]));
	return json_pack(
	    "{s:s, s:s, s:{s:s?, s:s?, s:I, s:i, s:b, s:b}, s:{s:s?, s:s?, s:s?, s:o, s:i},"
	    " s:{s:s?, s:s?, s:s?, s:s?, s:I, s:i, s:b, s:b, s:s?}, s:s?, s:s?, s:b}",
	    "share", ls->share, "copy_destination", ls->copy_destination, "backup", "last_file",
	    st->last_backup[0] ? st->last_backup : NULL, "time", iso(st->last_backup_ms),
	    "latency_s",
	    (json_int_t)(st->backup_latency_ms < 0 ? -1 : st->backup_latency_ms / 1000),
	    "threshold_s", ls->backup_threshold, "alert", st->backup_alert, "share_readable",
	    st->share_readable, "copy", "last_file", st->copy.last[0] ? st->copy.last : NULL,
	    "time", iso(st->copy.last_ms), "last_run", iso(st->copy.run_ms), "corrupt", bad,
	    "daemon_pid", st->copy_pid, "restore", "last_file",
	    st->restore.last[0] ? st->restore.last : NULL, "time", iso(st->restore.last_ms),
	    "file_time", iso(st->restore.last_file_ms), "waiting_for",
	    st->restore.waiting[0] ? st->restore.waiting : NULL, "latency_s",
	    (json_int_t)(st->restore_latency_ms / 1000), "threshold_s", ls->restore_threshold,
	    "alert", st->restore_alert, "paused", st->paused, "corrupt",
	    st->restore.corrupt[0] ? st->restore.corrupt : NULL, "first_missing",
	    st->first_missing[0] ? st->first_missing : NULL, "gap_in",
	    st->gap_where[0] ? st->gap_where : NULL, "alert", st->alert);
}

static void status_text(const struct ls_ctx *l, const struct logship_status *st)
{
	const struct topo_logship *ls = &l->topo.logship;

	printf("share:            %s%s\n", ls->share, st->share_readable ? "" : " (UNREADABLE)");
	printf("copy destination: %s%s\n", ls->copy_destination,
	       st->paused ? " (restore PAUSED)" : "");
	printf("backed up:        %s at %s", st->last_backup[0] ? st->last_backup : "-",
	       when(st->last_backup_ms));
	if (st->backup_latency_ms >= 0)
		printf(", %lld s ago", (long long)(st->backup_latency_ms / 1000));
	printf(" (threshold %d s) %s\n", ls->backup_threshold, st->backup_alert ? "ALERT" : "ok");
	printf("copied:           %s at %s (copy daemon: %s)\n",
	       st->copy.last[0] ? st->copy.last : "-", when(st->copy.last_ms),
	       st->copy_pid ? "running" : "not running");
	printf("restored:         %s at %s, archived %s\n",
	       st->restore.last[0] ? st->restore.last : "-", when(st->restore.last_ms),
	       when(st->restore.last_file_ms));
	printf("restore latency:  %lld s (threshold %d s) %s\n",
	       (long long)(st->restore_latency_ms / 1000), ls->restore_threshold,
	       st->restore_alert ? "ALERT" : "ok");
	if (st->restore.waiting[0])
		printf("standby waits for %s (asked %s)\n", st->restore.waiting,
		       when(st->restore.waiting_ms));
	if (st->first_missing[0])
		printf("GAP:              %s is missing (in the %s)\n", st->first_missing,
		       strcmp(st->gap_where, "copy") == 0 ? "copy destination" : "share");
	for (int i = 0; i < st->copy.n_corrupt; i++)
		printf("CORRUPT:          %s on the share (not copied)\n", st->copy.corrupt[i]);
	if (st->restore.corrupt[0])
		printf("refused at restore: %s (checksum) at %s\n", st->restore.corrupt,
		       when(st->restore.corrupt_ms));
	printf("%s\n", st->alert ? "ALERT" : "ok");
}

/* One metric of the monitor: name, help text, value. */
struct ls_metric {
	const char *name;
	const char *help;
	double value;
};

/* Seconds since the epoch of a time in ms, 0 for none. */
static double secs(int64_t ms)
{
	return ms > 0 ? (double)ms / 1000.0 : 0;
}

/*
 * The monitor in Prometheus' text format (for node_exporter's textfile
 * collector, or any scraper of a file): to path atomically, "-" = stdout.
 */
static int status_prometheus(struct ctl *ctx, const struct ls_ctx *l,
                             const struct logship_status *st)
{
	const struct topo_logship *ls = &l->topo.logship;
	const struct ls_metric m[] = {
	    {"pchat_logship_alert", "1 while any log-shipping alert holds", st->alert},
	    {"pchat_logship_backup_last_timestamp_seconds",
	     "archive time of the newest file on the share (0: none)", secs(st->last_backup_ms)},
	    {"pchat_logship_backup_latency_seconds", "seconds since the newest file was backed up",
	     st->backup_latency_ms < 0 ? -1 : (double)st->backup_latency_ms / 1000.0},
	    {"pchat_logship_backup_threshold_seconds", "[logship] backup_threshold",
	     ls->backup_threshold},
	    {"pchat_logship_backup_alert", "1 when the backup latency is over its threshold",
	     st->backup_alert},
	    {"pchat_logship_share_readable", "1 when the share can be listed", st->share_readable},
	    {"pchat_logship_copy_last_timestamp_seconds", "when the last file was copied",
	     secs(st->copy.last_ms)},
	    {"pchat_logship_copy_daemon_running", "1 while the copy daemon runs", st->copy_pid > 0},
	    {"pchat_logship_corrupt_files", "files refused for their checksum (share and restore)",
	     st->copy.n_corrupt + (st->restore.corrupt[0] ? 1 : 0)},
	    {"pchat_logship_restore_last_timestamp_seconds", "when the last segment was restored",
	     secs(st->restore.last_ms)},
	    {"pchat_logship_restore_point_timestamp_seconds",
	     "archive time of the last segment restored: the recovery point",
	     secs(st->restore.last_file_ms)},
	    {"pchat_logship_restore_latency_seconds",
	     "how long the oldest backed-up segment not yet restored has waited",
	     (double)st->restore_latency_ms / 1000.0},
	    {"pchat_logship_restore_threshold_seconds", "[logship] restore_threshold",
	     ls->restore_threshold},
	    {"pchat_logship_restore_alert", "1 when the restore latency is over its threshold",
	     st->restore_alert},
	    {"pchat_logship_restore_paused", "1 while restore is paused (remove-secondary)",
	     st->paused},
	    {"pchat_logship_gap", "1 while a file of the sequence is missing",
	     st->first_missing[0] != 0},
	};
	char *text = NULL, err[HA_ERR_MAX];
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc = CTL_EXIT_OK;

	if (!mem)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM, "open_memstream: %s", strerror(errno));
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		fprintf(mem, "# HELP %s %s\n# TYPE %s gauge\n%s{pool=\"%s\"} %.3f\n", m[i].name,
		        m[i].help, m[i].name, m[i].name, l->topo.name, m[i].value);
	fclose(mem);
	if (strcmp(l->prom, "-") == 0)
		fwrite(text, 1, len, stdout);
	else if (ha_write_atomic(l->prom, text, len, err, sizeof err) != HA_OK)
		rc = ctl_fail(ctx, CTL_EXIT_SYSTEM, "--prometheus: %s", err);
	free(text);
	return rc;
}

static int ls_status_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"topology", required_argument, NULL, OPT_TOPOLOGY},
	    {"prometheus", required_argument, NULL, OPT_PROMETHEUS},
	    {NULL, 0, NULL, 0}};
	struct ls_ctx *l = xcalloc(1, sizeof(*l));
	struct logship_status *st = xcalloc(1, sizeof(*st));
	char err[LOGSHIP_ERR_MAX];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_ls_opt, l, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ls_open(ctx, l, false, true);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	if (logship_status_read(l->topo.logship.share, l->topo.logship.copy_destination,
	                        l->topo.logship.backup_threshold, l->topo.logship.restore_threshold,
	                        time_now_ms(), st, err, sizeof err) != LOGSHIP_OK) {
		rc = ctl_fail(ctx, CTL_EXIT_SYSTEM, "status: %s", err);
		goto out_free;
	}
	if (l->prom)
		rc = status_prometheus(ctx, l, st);
	else if (ctx->json)
		ctl_json_out(status_json(l, st));
	else
		status_text(l, st);
	if (rc == CTL_EXIT_OK)
		rc = st->alert ? CTL_EXIT_ALERT : CTL_EXIT_OK;
out_free:
	free(st);
	free(l);
	return rc;
}

/* --- remove-secondary -------------------------------------------------------- */

/* SIGTERM the copy daemon and wait (10 s) until it has released its pid file. */
static int stop_daemon(const char *dest)
{
	int pid = logship_daemon_pid(dest);

	if (pid == 0)
		return 0;
	if (kill(pid, SIGTERM) != 0)
		return -pid;
	for (int i = 0; i < 100 && logship_daemon_pid(dest) == pid; i++)
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	return logship_daemon_pid(dest) == pid ? -pid : pid;
}

static int ls_remove_secondary_cmd(struct ctl *ctx, int argc, char **argv)
{
	struct ls_ctx *l = xcalloc(1, sizeof(*l));
	char err[LOGSHIP_ERR_MAX];
	bool was_paused;
	int rc, pid;

	rc = ctl_parse(ctx, argc, argv, topo_opts, on_ls_opt, l, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ls_open(ctx, l, false, true);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	pid = stop_daemon(l->topo.logship.copy_destination);
	if (pid < 0) {
		rc =
		    ctl_fail(ctx, CTL_EXIT_SYSTEM,
		             "the copy daemon (pid %d) did not stop within 10 s: stop it, then run "
		             "remove-secondary again",
		             -pid);
		goto out_free;
	}
	was_paused = logship_paused(l->topo.logship.copy_destination);
	rc = ls_exit(logship_set_paused(l->topo.logship.copy_destination, true, err, sizeof err));
	if (rc != CTL_EXIT_OK) {
		ctl_fail(ctx, rc, "remove-secondary: %s", err);
		goto out_free;
	}
	if (ctx->json)
		ctl_json_out(json_pack("{s:i, s:b, s:b}", "copy_daemon_stopped", pid,
		                       "already_paused", was_paused, "paused", true));
	else
		printf("copy daemon: %s\nrestore: %s (%s/.paused); next: 'pchatctl logship copy "
		       "--all', then 'pchatctl logship restore --all'\n",
		       pid ? "stopped" : "was not running",
		       was_paused ? "was already paused" : "paused now",
		       l->topo.logship.copy_destination);
out_free:
	free(l);
	return rc;
}

/* --- restore --all ----------------------------------------------------------- */

/* Wait until the standby asks for want; LOGSHIP_OK, LOGSHIP_ECORRUPT or ENOENT (timeout). */
static int wait_applied(const char *dest, const char *want, int timeout_s,
                        struct logship_restore_state *rs)
{
	int64_t start = time_now_ms(), deadline = time_mono_ms() + (int64_t)timeout_s * 1000;

	for (;;) {
		logship_restore_state_read(dest, rs);
		if (strcmp(rs->waiting, want) == 0)
			return LOGSHIP_OK;
		if (rs->corrupt[0] && rs->corrupt_ms >= start)
			return LOGSHIP_ECORRUPT;
		if (time_mono_ms() >= deadline)
			return LOGSHIP_ENOENT;
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
}

static void restore_report(const struct ctl *ctx, const struct logship_seq *q,
                           const struct logship_restore_state *rs, int64_t waited_ms)
{
	if (ctx->json) {
		ctl_json_out(json_pack("{s:s?, s:s?, s:I, s:s?, s:i, s:s?, s:I}", "last_applied",
		                       rs->last[0] ? rs->last : NULL, "recovery_point",
		                       iso(rs->last_file_ms), "recovery_point_ms",
		                       (json_int_t)rs->last_file_ms, "first_missing",
		                       q->first_missing[0] ? q->first_missing : NULL, "not_applied",
		                       q->n_after_gap, "waiting_for", q->next[0] ? q->next : NULL,
		                       "waited_ms", (json_int_t)waited_ms));
		return;
	}
	printf("every copied file up to %s is applied (%lld ms waited)\n",
	       q->last_contiguous[0] ? q->last_contiguous : "-", (long long)waited_ms);
	printf("last applied: %s, archived %s (the recovery point)\n", rs->last[0] ? rs->last : "-",
	       when(rs->last_file_ms));
}

/* The gap check of restore --all: CTL_EXIT_OK to go on, else the exit status. */
static int restore_gap(struct ctl *ctx, const struct ls_ctx *l, const struct logship_seq *q)
{
	if (!q->first_missing[0])
		return CTL_EXIT_OK;
	if (!l->accept_loss)
		return ctl_fail(
		    ctx, CTL_EXIT_ALERT,
		    "gap: %s is missing from %s (after %s; %d later file(s) could not be "
		    "applied). Find it (on the share: 'logship copy --all'; in the "
		    "primary's pg_wal) or run 'logship restore --all --accept-data-loss' "
		    "to stop at %s",
		    q->first_missing, l->topo.logship.copy_destination, q->last_contiguous,
		    q->n_after_gap, q->last_contiguous);
	fprintf(ctx->json ? stderr : stdout,
	        "accepting data loss: applying up to %s; %s is missing and the %d file(s) after "
	        "it (up to %s) are not applied\n",
	        q->last_contiguous, q->first_missing, q->n_after_gap, q->last);
	return CTL_EXIT_OK;
}

static int ls_restore_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"topology", required_argument, NULL, OPT_TOPOLOGY},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"accept-data-loss", no_argument, NULL, OPT_ACCEPT_LOSS},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {NULL, 0, NULL, 0}};
	struct ls_ctx *l = xcalloc(1, sizeof(*l));
	struct logship_restore_state rs;
	struct logship_seq q;
	char err[LOGSHIP_ERR_MAX];
	const char *dest;
	int64_t t0 = time_mono_ms();
	int rc;

	l->timeout = 120;
	rc = ctl_parse(ctx, argc, argv, opts, on_ls_opt, l, NULL, 0, 0);
	if (rc == CTL_EXIT_OK && !l->all)
		rc = ctl_usage(ctx, "restore needs --all (apply every copied file)");
	if (rc == CTL_EXIT_OK)
		rc = ls_open(ctx, l, false, true);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	dest = l->topo.logship.copy_destination;
	if (logship_paused(dest))
		fprintf(ctx->json ? stderr : stdout, "restore resumed (removed %s/.paused)\n",
		        dest);
	rc = logship_set_paused(dest, false, err, sizeof err);
	if (rc == LOGSHIP_OK)
		rc = logship_seq_scan(dest, &q, err, sizeof err);
	if (rc != LOGSHIP_OK) {
		rc = ctl_fail(ctx, ls_exit(rc), "restore: %s", err);
		goto out_free;
	}
	rc = restore_gap(ctx, l, &q);
	if (rc != CTL_EXIT_OK || q.n_segments == 0) {
		if (q.n_segments == 0)
			printf("nothing in %s: nothing to apply\n", dest);
		goto out_free;
	}
	rc = wait_applied(dest, q.next, l->timeout, &rs);
	if (rc == LOGSHIP_ECORRUPT)
		rc = ctl_fail(ctx, CTL_EXIT_ALERT,
		              "the standby was refused %s: it fails its checksum in %s (copy it "
		              "again from the share, or remove it and use --accept-data-loss)",
		              rs.corrupt, dest);
	else if (rc != LOGSHIP_OK)
		rc = ctl_fail(ctx, CTL_EXIT_ALERT,
		              "the standby has not asked for %s within %d s (last applied: %s): is "
		              "it running, with restore_command 'pchatctl logship restore-file'?",
		              q.next, l->timeout, rs.last[0] ? rs.last : "none");
	else
		restore_report(ctx, &q, &rs, time_mono_ms() - t0);
out_free:
	free(l);
	return rc;
}

/* --- setup ------------------------------------------------------------------- */

/* Run argv; its stdout and stderr into out. The exit status, or -1. */
static int run_prog(char *const argv[], char *out, size_t outlen)
{
	return proc_capture((const char *const *)argv, PROC_STDERR, out, outlen);
}

/* Whether a path can go into archive_command unquoted. */
static bool path_plain(const char *p)
{
	return p[0] == '/' && strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                "0123456789/._+-") == strlen(p);
}

int ctl_logship_commands(struct ctl *ctx, const struct topology *t, char *archive, char *restore,
                         char *rewind, size_t len)
{
	char exe[PATH_MAX], topo[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n <= 0 || !realpath(t->path, topo))
		return ctl_fail(ctx, CTL_EXIT_SYSTEM, "cannot resolve pchatctl or %s: %s", t->path,
		                strerror(errno));
	exe[n] = '\0';
	if (!path_plain(exe) || !path_plain(topo))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "%s or %s has characters PostgreSQL's commands would need quoted: "
		                "use paths of letters, digits and / . _ + -",
		                exe, topo);
	snprintf(archive, len, "%s logship archive --topology %s %%p %%f", exe, topo);
	snprintf(restore, len, "%s logship restore-file --topology %s %%f %%p", exe, topo);
	if (rewind)
		snprintf(rewind, len, "%s logship restore-file --for-rewind --topology %s %%f %%p",
		         exe, topo);
	return CTL_EXIT_OK;
}

/* ALTER SYSTEM on the primary; *restart when archive_mode was off. */
static int setup_primary(struct ctl *ctx, struct ls_ctx *l, const char *archive, bool *restart)
{
	char psql[CONFIG_PATH_MAX + 8], cmd[2 * PATH_MAX + 128], timeout[64], out[4096];
	char *argv[] = {psql,
	                "-X",
	                "-q",
	                "-A",
	                "-t",
	                "-v",
	                "ON_ERROR_STOP=1",
	                "-d",
	                l->topo.primary.url,
	                "-c",
	                "SHOW archive_mode",
	                "-c",
	                "ALTER SYSTEM SET archive_mode = on",
	                "-c",
	                cmd,
	                "-c",
	                timeout,
	                "-c",
	                "SELECT pg_reload_conf()",
	                NULL};

	snprintf(psql, sizeof psql, "%s/psql", l->topo.pg_bindir);
	snprintf(cmd, sizeof cmd, "ALTER SYSTEM SET archive_command = '%s'", archive);
	snprintf(timeout, sizeof timeout, "ALTER SYSTEM SET archive_timeout = '%ds'",
	         l->topo.logship.backup_interval);
	if (run_prog(argv, out, sizeof out) != 0)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "configuring the primary %s with %s failed (a superuser URL is "
		                "needed): %s",
		                l->topo.primary.url, psql, out);
	*restart = strncmp(out, "on", 2) != 0;
	return CTL_EXIT_OK;
}

/* Append the standby's settings to DIR/postgresql.auto.conf and create standby.signal. */
static int setup_standby_files(struct ctl *ctx, const char *dir, const char *restore)
{
	char path[CONFIG_PATH_MAX + 32];
	FILE *fp;
	int rc = CTL_EXIT_OK;

	snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
	fp = fopen(path, "a");
	if (!fp)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM, "cannot open %s: %s", path, strerror(errno));
	fprintf(fp,
	        "# pchat log shipping (pchatctl logship setup): a standby fed by the copy "
	        "destination\nrestore_command = '%s'\nrecovery_target_timeline = 'latest'\n"
	        "wal_retrieve_retry_interval = '1s'\n",
	        restore);
	if (fclose(fp) != 0)
		rc = ctl_fail(ctx, CTL_EXIT_SYSTEM, "cannot write %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "%s/standby.signal", dir);
	fp = rc == CTL_EXIT_OK ? fopen(path, "w") : NULL;
	if (rc == CTL_EXIT_OK && (!fp || fclose(fp) != 0))
		rc = ctl_fail(ctx, CTL_EXIT_SYSTEM, "cannot create %s: %s", path, strerror(errno));
	return rc;
}

/* Seed the backup's data directory; *seeded false when it already held a cluster. */
static int setup_backup(struct ctl *ctx, struct ls_ctx *l, const char *restore, bool *seeded)
{
	char prog[CONFIG_PATH_MAX + 16], path[CONFIG_PATH_MAX + 16], out[4096];
	char *dir = l->topo.backup.data_dir;
	char *argv[] = {prog, "-D",   dir,  "-d", l->topo.primary.url, "-X", "stream",
	                "-c", "fast", "-w", NULL};

	*seeded = false;
	snprintf(path, sizeof path, "%s/PG_VERSION", dir);
	if (access(path, F_OK) == 0)
		return CTL_EXIT_OK;
	snprintf(prog, sizeof prog, "%s/pg_basebackup", l->topo.pg_bindir);
	if (run_prog(argv, out, sizeof out) != 0)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "pg_basebackup into %s failed (it must be missing or empty, and "
		                "writable by the user running setup): %s",
		                dir, out);
	*seeded = true;
	return setup_standby_files(ctx, dir, restore);
}

static int ls_setup_cmd(struct ctl *ctx, int argc, char **argv)
{
	struct ls_ctx *l = xcalloc(1, sizeof(*l));
	char archive[2 * PATH_MAX + 64], restore[2 * PATH_MAX + 64];
	bool restart = false, seeded = false;
	int rc;

	rc = ctl_parse(ctx, argc, argv, topo_opts, on_ls_opt, l, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ls_open(ctx, l, true, true);
	if (rc == CTL_EXIT_OK)
		rc = ctl_logship_commands(ctx, &l->topo, archive, restore, NULL, sizeof archive);
	if (rc == CTL_EXIT_OK)
		rc = setup_primary(ctx, l, archive, &restart);
	if (rc == CTL_EXIT_OK && l->topo.backup.data_dir[0])
		rc = setup_backup(ctx, l, restore, &seeded);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	if (ctx->json) {
		ctl_json_out(json_pack(
		    "{s:s, s:s, s:i, s:b, s:s?, s:b}", "archive_command", archive,
		    "restore_command", restore, "archive_timeout_s",
		    l->topo.logship.backup_interval, "restart_needed", restart, "backup_data_dir",
		    l->topo.backup.data_dir[0] ? l->topo.backup.data_dir : NULL, "seeded", seeded));
		goto out_free;
	}
	printf("primary: archive_mode = on, archive_timeout = %d s, archive_command = '%s'\n",
	       l->topo.logship.backup_interval, archive);
	if (restart)
		printf("primary: RESTART NEEDED: archive_mode was off; it takes effect when the "
		       "primary restarts (pg_ctl restart -D ITS_PGDATA)\n");
	if (!l->topo.backup.data_dir[0])
		printf("backup: no data_dir in [database backup]: seed it yourself (pg_basebackup "
		       "without -R, standby.signal, restore_command = '%s')\n",
		       restore);
	else if (!seeded)
		printf("backup: %s already holds a cluster: left alone\n", l->topo.backup.data_dir);
	else
		printf("backup: seeded %s from the primary (pg_basebackup), standby.signal, "
		       "restore_command = '%s'; start it as the owner of the directory\n",
		       l->topo.backup.data_dir, restore);
out_free:
	free(l);
	return rc;
}

/* --- the command table -------------------------------------------------------- */

#define LS_TOPO_HELP "    --topology FILE    the topology (default: [pool] topology of -c FILE)\n"
#define LS_EXIT_HELP                                                                               \
	"EXIT STATUS (logship)\n"                                                                  \
	"    9  an alert holds, a gap or a corrupt file stopped the step, or the\n"                \
	"       standby did not catch up in time\n"

/* Declared in main.c until ctl.h lists it with the other nouns. */
extern const struct ctl_cmd ctl_logship_cmds[];

const struct ctl_cmd ctl_logship_cmds[] = {
    {"setup", "configure archiving on the primary and seed the backup standby",
     " [--topology FILE]\n"
     "DESCRIPTION\n"
     "    On the primary (the topology's url, as a superuser): ALTER SYSTEM SET\n"
     "    archive_mode = on, archive_command = 'PCHATCTL logship archive\n"
     "    --topology TOPOLOGY %p %f', archive_timeout = [logship] backup_interval,\n"
     "    then pg_reload_conf(). It says when the primary must restart (archive_mode\n"
     "    was off). With data_dir in [database backup] and no cluster there yet:\n"
     "    pg_basebackup from the primary into it (no streaming: pure log\n"
     "    shipping), standby.signal, and in postgresql.auto.conf restore_command =\n"
     "    'PCHATCTL logship restore-file --topology TOPOLOGY %f %p',\n"
     "    recovery_target_timeline = 'latest', wal_retrieve_retry_interval = '1s'.\n"
     "    Programs come from [postgresql] bindir. Run it as the user that owns\n"
     "    the backup's data directory; starting the standby is yours to do.\n"
     "    Running it again changes nothing more (a seeded directory is left alone).\n\n"
     "OPTIONS\n" LS_TOPO_HELP "\n"
     "EXAMPLES\n"
     "    runuser -u postgres -- pchatctl -c pchat.ini logship setup\n\n" LS_EXIT_HELP,
     ls_setup_cmd, NULL},
    {"archive", "the primary's archive_command: put one WAL file on the share",
     " PATH NAME [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Copies PATH (%p) to SHARE/NAME (%f) computing its SHA-256 on the way\n"
     "    (a temp file, fsync, rename), then writes SHARE/NAME.sha256 the same\n"
     "    way and fsyncs the directory: NAME.sha256 appearing marks NAME complete.\n"
     "    Archiving a file already there with the same content succeeds; a\n"
     "    different file of the same name is refused (exit 3, both checksums\n"
     "    named) and PostgreSQL keeps the segment and retries. Segments, .history\n"
     "    and .backup files alike. Quiet on success.\n\n"
     "OPTIONS\n" LS_TOPO_HELP "\n"
     "EXAMPLES\n"
     "    archive_command = '/usr/bin/pchatctl logship archive --topology "
     "/etc/pchat/topology.ini %p %f'\n\n" LS_EXIT_HELP,
     ls_archive_cmd, NULL},
    {"copy", "the copy job: bring complete files from the share to the copy destination",
     " [--all] [--watch [--interval SEC]] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Copies every complete file of the share (one with its .sha256) that the\n"
     "    copy destination lacks, in name order, verifying the SHA-256 while\n"
     "    copying (temp, fsync, rename, then its .sha256). A file whose checksum\n"
     "    does not match is not copied, is logged and listed by status, and the\n"
     "    exit status is 9. Then retention: files older than [logship] retention\n"
     "    that are copied and restored are deleted from both places.\n"
     "    While log shipping is paused (remove-secondary) copy does nothing.\n\n"
     "OPTIONS\n"
     "    --all              runbook step 2: copy every complete file still on the\n"
     "                       share, even while paused (no retention)\n"
     "    --watch            run as the copy daemon: a round every --interval\n"
     "                       seconds (default 15) until SIGTERM; pid file\n"
     "                       COPY_DESTINATION/.copy.pid (one daemon at a time)\n"
     "    --interval SEC     seconds between rounds of --watch\n" LS_TOPO_HELP "\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini logship copy --watch --interval 10 &\n"
     "    pchatctl -c pchat.ini logship copy --all\n\n" LS_EXIT_HELP,
     ls_copy_cmd, NULL},
    {"restore-file", "the backup standby's restore_command: hand over one file",
     " NAME PATH [--for-rewind] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Verifies COPY_DESTINATION/NAME (%f) against its .sha256 while copying it\n"
     "    to PATH (%p). Exit 1, and PostgreSQL asks again later, when the file is\n"
     "    not there yet (quietly; the segment is recorded as waited for in\n"
     "    COPY_DESTINATION/.restore-state), when restore is paused, or when its\n"
     "    checksum does not match (logged; the file is never handed over). A\n"
     "    restored segment is recorded with its time and archive time.\n\n"
     "OPTIONS\n" LS_TOPO_HELP
     "    --for-rewind       pg_rewind's restore_command (pchatctl db reseed):\n"
     "                       old WAL handed over even while paused, not recorded\n",
     ls_restore_file_cmd, NULL},
    {"status", "the monitor: last file backed up, copied, restored; latencies, gaps",
     " [--json] [--prometheus FILE|-] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    The newest file on the share and its time (backup latency against\n"
     "    [logship] backup_threshold), the last file copied, the last segment\n"
     "    restored with its times and the one the standby waits for, the restore\n"
     "    latency (how long the oldest backed-up segment not yet restored has\n"
     "    waited) against restore_threshold, the first missing file of a gap (in\n"
     "    the copy destination, else on the share), corrupt files, whether\n"
     "    restore is paused and the copy daemon runs. Each alert is logged; the\n"
     "    exit status is 9 while one holds. With --prometheus the same as metrics\n"
     "    in Prometheus' text format (pchat_logship_*, label pool), written\n"
     "    atomically to FILE (node_exporter's textfile collector) or to stdout.\n\n"
     "OPTIONS\n" LS_TOPO_HELP
     "    --prometheus FILE  the metrics into FILE (- = stdout) instead of the report\n\n"
     "EXAMPLES\n"
     "    pchatctl --json -c pchat.ini logship status\n"
     "    pchatctl -c pchat.ini logship status --prometheus \\\n"
     "        /var/lib/prometheus/node-exporter/pchat_logship.prom\n\n" LS_EXIT_HELP,
     ls_status_cmd, NULL},
    {"remove-secondary", "runbook step 1: stop the copy daemon and pause restore",
     " [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Stops the copy daemon (SIGTERM to the pid in COPY_DESTINATION/.copy.pid,\n"
     "    waits up to 10 s) and pauses restore (COPY_DESTINATION/.paused: the\n"
     "    standby's restore-file hands over nothing). Says what it did;\n"
     "    running it again changes nothing.\n\n"
     "OPTIONS\n" LS_TOPO_HELP,
     ls_remove_secondary_cmd, NULL},
    {"restore", "runbook step 3: apply every copied file, check the sequence",
     " --all [--accept-data-loss] [--timeout SEC] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Resumes restore (removes .paused), checks that the segments in the copy\n"
     "    destination follow each other, then waits until the standby has applied\n"
     "    every one: until restore-file was asked for the successor of the last\n"
     "    (PostgreSQL asks for N+1 only after replaying N). Prints the last\n"
     "    applied file and its archive time: the recovery point. A gap stops it\n"
     "    (exit 9) naming the first missing file.\n\n"
     "OPTIONS\n"
     "    --all              apply everything copied (required)\n"
     "    --accept-data-loss at a gap, apply up to it and say what is lost\n"
     "    --timeout SEC      how long to wait for the standby (default 120)\n" LS_TOPO_HELP "\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini logship restore --all\n\n" LS_EXIT_HELP,
     ls_restore_cmd, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
