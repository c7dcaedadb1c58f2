/*
 * db_ha.c — pchatctl db who|kill|recover|install-mirror|switchover|
 * mirror-check|status: the database half of the failover runbook (step 4
 * and step 6) and of the mirror (SPEC §6).
 *
 * Each command names its database with --database primary|backup (from
 * the topology: --topology FILE or [pool] topology) or a PostgreSQL URL;
 * it parses options, resolves the URL and prints; the work is src/ha/'s.
 * install-mirror and switchover record their result in the topology file
 * (ha_topo_set: atomic, every other line kept).
 *
 * Deliberately not here: libpq (src/ha), the pool state (pool.c) and the
 * log-shipping steps of the runbook.
 */
#include "ctl/db_ha.h"

#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ha/ha.h"
#include "pool/logship.h"
#include "pool/topology.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_DATABASE = 500,
	OPT_TOPOLOGY,
	OPT_ALL,
	OPT_MIRROR,
	OPT_DATA_DIR,
	OPT_START,
	OPT_PORT_FROM_URL,
	OPT_WATCH,
	OPT_INTERVAL,
	OPT_AFTER,
	OPT_STATE,
	OPT_TIMEOUT,
	OPT_LOG_SHIPPING,
	OPT_BASEBACKUP,
	OPT_THAW,
	OPT_REPLACE,
};

/* One command's options and what they resolve to. */
struct dbha {
	const char *database;      /* --database primary|backup|URL */
	const char *topology;      /* --topology FILE */
	bool all;                  /* --all */
	const char *mirror;        /* --mirror URL */
	const char *data_dir;      /* --data-dir DIR */
	bool start;                /* --start */
	bool port_from_url;        /* --port-from-url */
	bool watch;                /* --watch */
	int interval;              /* --interval SEC */
	int after;                 /* --after SEC, 0 = the topology's */
	const char *state;         /* --state FILE */
	int timeout;               /* --timeout SEC, 0 = default */
	bool log_shipping;         /* --log-shipping */
	bool basebackup;           /* --basebackup */
	bool thaw;                 /* --thaw */
	bool replace;              /* --replace */
	struct topology *topo;     /* read when there is one (heap) */
	const struct topo_db *db;  /* the section named, NULL for a URL */
	const char *which;         /* "primary" / "backup", NULL for a URL */
	char url[CONFIG_PATH_MAX]; /* the database's URL */
	char bindir[1024];         /* PostgreSQL's programs */
};

static int int_opt(struct ctl *ctx, const char *name, const char *v, int min, int max, int *out)
{
	int64_t n;

	if (str_to_i64(v, min, max, &n) != 0)
		return ctl_usage(ctx, "%s: expected a number from %d to %d", name, min, max);
	*out = (int)n;
	return CTL_EXIT_OK;
}

static int on_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct dbha *h = arg;

	switch (val) {
	case OPT_DATABASE:
		h->database = optarg;
		return CTL_EXIT_OK;
	case OPT_TOPOLOGY:
		h->topology = optarg;
		return CTL_EXIT_OK;
	case OPT_ALL:
		h->all = true;
		return CTL_EXIT_OK;
	case OPT_MIRROR:
		h->mirror = optarg;
		return CTL_EXIT_OK;
	case OPT_DATA_DIR:
		h->data_dir = optarg;
		return CTL_EXIT_OK;
	case OPT_START:
		h->start = true;
		return CTL_EXIT_OK;
	case OPT_PORT_FROM_URL:
		h->port_from_url = true;
		return CTL_EXIT_OK;
	case OPT_WATCH:
		h->watch = true;
		return CTL_EXIT_OK;
	case OPT_INTERVAL:
		return int_opt(ctx, "--interval", optarg, 1, 3600, &h->interval);
	case OPT_AFTER:
		return int_opt(ctx, "--after", optarg, 1, 86400, &h->after);
	case OPT_STATE:
		h->state = optarg;
		return CTL_EXIT_OK;
	case OPT_TIMEOUT:
		return int_opt(ctx, "--timeout", optarg, 1, 3600, &h->timeout);
	case OPT_LOG_SHIPPING:
		h->log_shipping = true;
		return CTL_EXIT_OK;
	case OPT_BASEBACKUP:
		h->basebackup = true;
		return CTL_EXIT_OK;
	case OPT_THAW:
		h->thaw = true;
		return CTL_EXIT_OK;
	case OPT_REPLACE:
		h->replace = true;
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

static const struct option all_opts[] = {
    {"database", required_argument, NULL, OPT_DATABASE},
    {"topology", required_argument, NULL, OPT_TOPOLOGY},
    {"all", no_argument, NULL, OPT_ALL},
    {"mirror", required_argument, NULL, OPT_MIRROR},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"start", no_argument, NULL, OPT_START},
    {"port-from-url", no_argument, NULL, OPT_PORT_FROM_URL},
    {"watch", no_argument, NULL, OPT_WATCH},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"after", required_argument, NULL, OPT_AFTER},
    {"state", required_argument, NULL, OPT_STATE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"log-shipping", no_argument, NULL, OPT_LOG_SHIPPING},
    {"basebackup", no_argument, NULL, OPT_BASEBACKUP},
    {"thaw", no_argument, NULL, OPT_THAW},
    {"replace", no_argument, NULL, OPT_REPLACE},
    {NULL, 0, NULL, 0},
};

/* The options a command accepts: all_opts filtered by name (NULL-terminated list). */
static void pick_opts(const char *const *names, struct option *out)
{
	int n = 0;

	for (int i = 0; names[i]; i++)
		for (const struct option *o = all_opts; o->name; o++)
			if (strcmp(o->name, names[i]) == 0)
				out[n++] = *o;
	memset(&out[n], 0, sizeof(out[n]));
}

static int exit_for(int ha_rc)
{
	switch (ha_rc) {
	case HA_OK:
		return CTL_EXIT_OK;
	case HA_EREFUSED:
		return CTL_EXIT_INUSE;
	case HA_ESYS:
		return CTL_EXIT_SYSTEM;
	case HA_EINVALID:
		return CTL_EXIT_INVALID;
	default:
		return CTL_EXIT_DATABASE;
	}
}

/* Read the topology when one is given or configured (needed for primary/backup). */
static int load_topology(struct ctl *ctx, struct dbha *h, bool required)
{
	const char *path = h->topology ? h->topology : ctx->cfg.pool_topology;
	char err[1200];

	if (!path[0]) {
		if (required)
			return ctl_fail(ctx, CTL_EXIT_CONFIG,
			                "no topology: pass --topology FILE or set [pool] topology "
			                "(or give --database URL)");
		ha_bindir(NULL, h->bindir, sizeof h->bindir);
		return CTL_EXIT_OK;
	}
	h->topo = xmalloc(sizeof(*h->topo));
	if (topo_load(h->topo, path, err, sizeof err) != 0)
		return ctl_fail(ctx, CTL_EXIT_CONFIG, "%s (fix the topology file)", err);
	str_copy(h->bindir, h->topo->pg_bindir, sizeof h->bindir);
	return CTL_EXIT_OK;
}

/* Set h->url from --database (or deflt; NULL = the configured database). */
static int resolve(struct ctl *ctx, struct dbha *h, const char *deflt)
{
	const char *d = h->database ? h->database : deflt;
	bool named = d && (strcmp(d, "primary") == 0 || strcmp(d, "backup") == 0);
	int rc = load_topology(ctx, h, named);

	if (rc != CTL_EXIT_OK)
		return rc;
	if (named) {
		h->which = strcmp(d, "primary") == 0 ? "primary" : "backup";
		h->db = topo_db(h->topo, h->which);
		d = h->db->url;
	} else if (!d) {
		if ((rc = ctl_pool_database(ctx)) != CTL_EXIT_OK)
			return rc;
		d = ctx->cfg.db_url;
	}
	if (strncmp(d, "postgres", 8) != 0 && !strchr(d, '='))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "'%s' is not a PostgreSQL database: give --database primary|backup "
		                "or a postgresql:// URL",
		                d);
	str_copy(h->url, d, sizeof h->url);
	return CTL_EXIT_OK;
}

/* Parse the options named (only). */
static int dbha_parse(struct ctl *ctx, struct dbha *h, int argc, char **argv,
                      const char *const *names, char **pos, int npos)
{
	struct option opts[16];

	pick_opts(names, opts);
	return ctl_parse(ctx, argc, argv, opts, on_opt, h, pos, 0, npos);
}

/* Parse the options named, then resolve the database. */
static int dbha_start(struct ctl *ctx, struct dbha *h, int argc, char **argv,
                      const char *const *names, char **pos, int npos, const char *deflt)
{
	int rc = dbha_parse(ctx, h, argc, argv, names, pos, npos);

	if (rc == CTL_EXIT_OK)
		rc = resolve(ctx, h, deflt);
	return rc;
}

static void dbha_end(struct dbha *h)
{
	free(h->topo);
}

/* Progress lines: stdout, or stderr when stdout carries the JSON document. */
static void say_line(void *arg, const char *line)
{
	const struct ctl *ctx = arg;

	fprintf(ctx->json ? stderr : stdout, "  %s\n", line);
	fflush(ctx->json ? stderr : stdout);
}

/* --- who, kill ----------------------------------------------------------------- */

int ctl_db_who(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database", "topology", NULL};
	struct dbha h = {0};
	char err[HA_ERR_MAX];
	json_t *arr, *s;
	size_t i;
	int rc;

	rc = dbha_start(ctx, &h, argc, argv, names, NULL, 0, NULL);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = exit_for(ha_who(h.url, &arr, err, sizeof err));
	if (rc != CTL_EXIT_OK) {
		ctl_fail(ctx, rc, "%s", err);
		goto out;
	}
	if (ctx->json) {
		ctl_json_out(arr);
		goto out;
	}
	printf("%-8s %-28s %-16s %-20s %s\n", "PID", "APPLICATION", "CLIENT", "STATE", "SINCE");
	json_array_foreach(arr, i, s)
	{
		printf("%-8lld %-28s %-16s %-20s %s\n",
		       (long long)json_integer_value(json_object_get(s, "pid")),
		       json_string_value(json_object_get(s, "application_name")),
		       json_string_value(json_object_get(s, "client_addr")),
		       json_string_value(json_object_get(s, "state")),
		       json_string_value(json_object_get(s, "since")));
	}
	printf("%zu session%s\n", json_array_size(arr), json_array_size(arr) == 1 ? "" : "s");
	json_decref(arr);
out:
	dbha_end(&h);
	return rc;
}

int ctl_db_kill(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database", "topology", "all", NULL};
	struct dbha h = {0};
	char err[HA_ERR_MAX], *pos[1] = {NULL};
	int rc, pid = 0, n;

	rc = dbha_parse(ctx, &h, argc, argv, names, pos, 1);
	if (rc == CTL_EXIT_OK && !h.all == !pos[0])
		rc = ctl_usage(ctx, "give one PID or --all");
	if (rc == CTL_EXIT_OK && pos[0])
		rc = int_opt(ctx, "PID", pos[0], 1, 1 << 30, &pid);
	if (rc == CTL_EXIT_OK)
		rc = resolve(ctx, &h, NULL);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = exit_for(ha_kill(h.url, pid, &n, err, sizeof err));
	if (rc != CTL_EXIT_OK)
		ctl_fail(ctx, rc, "%s", err);
	else if (ctx->json)
		ctl_json_out(json_pack("{s:i}", "killed", n));
	else
		printf("%d session%s ended\n", n, n == 1 ? "" : "s");
out:
	dbha_end(&h);
	return rc;
}

/* --- recover ------------------------------------------------------------------- */

int ctl_db_recover(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database", "topology", NULL};
	struct ha_log log = {say_line, ctx};
	struct dbha h = {0};
	char err[HA_ERR_MAX];
	json_t *r;
	int rc;

	rc = dbha_start(ctx, &h, argc, argv, names, NULL, 0, "backup");
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = exit_for(ha_recover(h.url, &log, &r, err, sizeof err));
	if (rc != CTL_EXIT_OK) {
		ctl_fail(ctx, rc, "%s (the database stays as it was)", err);
		goto out;
	}
	json_object_set_new(r, "database", json_string(h.which ? h.which : h.url));
	if (ctx->json) {
		ctl_json_out(r);
		goto out;
	}
	if (json_is_true(json_object_get(r, "already_writable")))
		printf("%s is already writable (not in recovery): nothing to do\n",
		       h.which ? h.which : h.url);
	else
		printf("%s promoted: writable\nlast replayed transaction: %s\n",
		       h.which ? h.which : h.url,
		       json_string_value(json_object_get(r, "last_replay"))
		           ? json_string_value(json_object_get(r, "last_replay"))
		           : "unknown (none replayed)");
	printf("newest message: id %lld, msgid %s, time %s\n",
	       (long long)json_integer_value(json_object_get(r, "max_id")),
	       json_string_value(json_object_get(r, "msgid"))
	           ? json_string_value(json_object_get(r, "msgid"))
	           : "-",
	       json_string_value(json_object_get(r, "time"))
	           ? json_string_value(json_object_get(r, "time"))
	           : "-");
	json_decref(r);
out:
	dbha_end(&h);
	return rc;
}

/* --- install-mirror -------------------------------------------------------------- */

/* Record key = value in [database WHICH] of the topology (read again right before). */
static int record(struct ctl *ctx, const struct dbha *h, const struct ha_kv *kv, size_t n)
{
	char section[64], err[HA_ERR_MAX];

	if (!h->which)
		return CTL_EXIT_OK;
	snprintf(section, sizeof section, "database %s", h->which);
	if (ha_topo_set(h->topo->path, section, kv, n, err, sizeof err) != HA_OK)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM, "cannot record it in the topology: %s", err);
	return CTL_EXIT_OK;
}

int ctl_db_install_mirror(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database",      "topology", "mirror",
	                                    "data-dir",      "start",    "timeout",
	                                    "port-from-url", "replace",  NULL};
	struct ha_log log = {say_line, ctx};
	struct dbha h = {0};
	struct ha_mirror_opts o = {0};
	char err[HA_ERR_MAX];
	json_t *r = NULL;
	int rc;

	rc = dbha_parse(ctx, &h, argc, argv, names, NULL, 0);
	if (rc == CTL_EXIT_OK && (!h.database || !h.mirror || !h.data_dir))
		rc = ctl_usage(ctx, "--database, --mirror and --data-dir are required");
	if (rc == CTL_EXIT_OK)
		rc = resolve(ctx, &h, NULL);
	if (rc != CTL_EXIT_OK)
		goto out;
	o = (struct ha_mirror_opts){h.url,   h.mirror,        h.data_dir,       h.bindir,
	                            h.start, h.port_from_url, h.timeout * 1000, h.replace};
	rc = exit_for(ha_install_mirror(&o, &log, &r, err, sizeof err));
	if (rc != CTL_EXIT_OK) {
		ctl_fail(ctx, rc, "%s", err);
		goto out;
	}
	{
		struct ha_kv kv[] = {{"mirror", h.mirror}, {"mirror_data_dir", h.data_dir}};

		rc = record(ctx, &h, kv, 2);
	}
	json_object_set_new(r, "mirror", json_string(h.mirror));
	json_object_set_new(r, "recorded", json_boolean(h.which && rc == CTL_EXIT_OK));
	if (ctx->json)
		ctl_json_out(r);
	else {
		printf("mirror %s of %s installed%s%s\n", h.mirror, h.which ? h.which : h.url,
		       json_is_true(json_object_get(r, "started")) ? ", running, sync" : "",
		       h.which ? " and recorded in the topology" : "");
		json_decref(r);
	}
out:
	dbha_end(&h);
	return rc;
}

/* --- switchover ------------------------------------------------------------------ */

int ctl_db_switchover(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database", "topology", "timeout", NULL};
	struct ha_log log = {say_line, ctx};
	struct dbha h = {0};
	struct ha_switch_opts o;
	struct ha_switch_result *res = xmalloc(sizeof(*res));
	char err[HA_ERR_MAX];
	int rc;

	rc = dbha_start(ctx, &h, argc, argv, names, NULL, 0, "primary");
	if (rc == CTL_EXIT_OK && (!h.db || !h.db->mirror[0]))
		rc = ctl_fail(ctx, CTL_EXIT_CONFIG,
		              "the topology names no mirror for this database (pchatctl db "
		              "install-mirror records one)");
	if (rc != CTL_EXIT_OK)
		goto out;
	o = (struct ha_switch_opts){
	    h.url, h.db->mirror, h.db->data_dir, h.db->mirror_data_dir, h.bindir, h.timeout * 1000};
	rc = exit_for(ha_switchover(&o, &log, res, err, sizeof err));
	if (res->new_url[0]) { /* promoted: the topology follows whatever came after */
		struct ha_kv kv[] = {{"url", res->new_url},
		                     {"mirror", res->new_mirror},
		                     {"data_dir", res->new_data_dir},
		                     {"mirror_data_dir", res->new_mirror_dir}};
		int rc2 = record(ctx, &h, kv, 4);

		rc = rc != CTL_EXIT_OK ? rc : rc2;
	}
	if (rc != CTL_EXIT_OK && err[0])
		ctl_fail(ctx, rc, "%s", err);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json)
		ctl_json_out(json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "url", res->new_url,
		                       "mirror", res->new_mirror, "checkpoint_lsn",
		                       res->checkpoint_lsn, "received_lsn", res->received_lsn,
		                       "rewound", res->rewound, "sync_state", res->sync_state));
	else
		printf("switchover done: the primary is now %s, its mirror %s (in sync); nothing "
		       "lost (mirror received %s, shutdown checkpoint %s)\n",
		       o.mirror_url, res->new_mirror, res->received_lsn, res->checkpoint_lsn);
out:
	free(res);
	dbha_end(&h);
	return rc;
}

/* --- mirror-check ---------------------------------------------------------------- */

static volatile sig_atomic_t stop_watch;

static void on_stop(int sig)
{
	stop_watch = 1;
}

/* The state file of mirror-check: --state, else TOPOLOGY.WHICH-mirror.json. */
static void state_path(const struct dbha *h, char *out, size_t outlen)
{
	if (h->state)
		str_copy(out, h->state, outlen);
	else if (h->topo && h->which)
		snprintf(out, outlen, "%s.%s-mirror.json", h->topo->path, h->which);
	else
		out[0] = '\0';
}

static void check_print(const struct ctl *ctx, json_t *r)
{
	char *line;

	if (ctx->json) {
		line = json_dumps(r, JSON_COMPACT);
		printf("%s\n", line);
		free(line);
	} else {
		printf("mirror %s: %s, sync_state %s, synchronous_standby_names '%s'%s%s\n",
		       json_is_true(json_object_get(r, "connected")) ? "connected"
		                                                     : "NOT connected",
		       json_string_value(json_object_get(r, "action")),
		       json_string_value(json_object_get(r, "sync_state"))[0]
		           ? json_string_value(json_object_get(r, "sync_state"))
		           : "-",
		       json_string_value(json_object_get(r, "synchronous_standby_names")),
		       json_string_value(json_object_get(r, "alert"))[0] ? "\n  ALERT: " : "",
		       json_string_value(json_object_get(r, "alert")));
	}
	fflush(stdout);
}

int ctl_db_mirror_check(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database", "topology", "watch", "interval",
	                                    "after",    "state",    NULL};
	struct dbha h = {.interval = 2};
	char err[HA_ERR_MAX], state[CONFIG_PATH_MAX + 32];
	bool degrade;
	json_t *r;
	int rc;

	rc = dbha_start(ctx, &h, argc, argv, names, NULL, 0, "primary");
	if (rc != CTL_EXIT_OK)
		goto out;
	degrade = h.db && h.db->mirror_lost == TOPO_MIRROR_DEGRADE;
	if (!h.after)
		h.after = h.db ? h.db->mirror_lost_after : 10;
	state_path(&h, state, sizeof state);
	log_set_level(LOG_LEVEL_WARN);
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	do {
		rc = exit_for(ha_mirror_check(h.url, degrade, h.after, state, &r, err, sizeof err));
		if (rc != CTL_EXIT_OK)
			ctl_fail(ctx, rc, "%s", err);
		else {
			check_print(ctx, r);
			json_decref(r);
		}
		for (int i = 0; h.watch && i < h.interval * 10 && !stop_watch; i++)
			usleep(100 * 1000);
	} while (h.watch && !stop_watch);
	if (h.watch)
		rc = CTL_EXIT_OK;
out:
	dbha_end(&h);
	return rc;
}

/* --- status ---------------------------------------------------------------------- */

/* The status of one database of the topology. */
static json_t *db_status(struct dbha *h, const char *which)
{
	const struct topo_db *db = topo_db(h->topo, which);
	struct ha_mirror_state st;
	char err[HA_ERR_MAX], alert[512], state[CONFIG_PATH_MAX + 32];
	bool block = db->mirror_lost == TOPO_MIRROR_BLOCK;
	json_t *alerts = json_array(), *o;

	h->which = which;
	h->db = db;
	state_path(h, state, sizeof state);
	ha_mirror_state(db->url, &st, err, sizeof err);
	ha_state_alert(state, alert, sizeof alert);
	if (!st.reachable)
		json_array_append_new(alerts, json_string("unreachable"));
	else if (db->mirror[0] && !st.in_recovery && !st.connected)
		json_array_append_new(
		    alerts,
		    json_string(
		        st.sync_names[0] && block ? "mirror not connected: writes wait for it "
		                                    "(mirror_lost = block)"
		        : st.sync_names[0]        ? "mirror not connected: writes wait until db "
		                                    "mirror-check degrades (mirror_lost = degrade)"
		                           : "mirror not connected: asynchronous, no second copy"));
	if (alert[0])
		json_array_append_new(alerts, json_string(alert));
	o = json_pack("{s:s, s:s, s:b, s:s, s:s?, s:b, s:s, s:I, s:s, s:s, s:o}", "datacenter",
	              db->datacenter, "url", db->url, "reachable", st.reachable, "role",
	              !st.reachable    ? "unknown"
	              : st.in_recovery ? "standby"
	                               : "primary",
	              "mirror", db->mirror[0] ? db->mirror : NULL, "mirror_connected", st.connected,
	              "sync_state", st.sync_state, "lag_bytes", (json_int_t)st.lag_bytes,
	              "synchronous_standby_names", st.sync_names, "mirror_lost",
	              block ? "block" : "degrade", "alerts", alerts);
	if (!st.reachable)
		json_object_set_new(o, "error", json_string(err));
	return o;
}

static void status_text(const char *which, json_t *d)
{
	size_t i;
	json_t *a;

	printf("%s (%s): %s, %s\n", which, json_string_value(json_object_get(d, "datacenter")),
	       json_is_true(json_object_get(d, "reachable")) ? "reachable" : "UNREACHABLE",
	       strcmp(json_string_value(json_object_get(d, "role")), "standby") == 0
	           ? "in recovery (standby, read-only)"
	       : json_is_true(json_object_get(d, "reachable")) ? "writable"
	                                                       : "-");
	printf("  mirror:     %s: %s, sync_state %s, lag %lld bytes\n",
	       json_string_value(json_object_get(d, "mirror"))
	           ? json_string_value(json_object_get(d, "mirror"))
	           : "(none)",
	       json_is_true(json_object_get(d, "mirror_connected")) ? "connected" : "not connected",
	       json_string_value(json_object_get(d, "sync_state"))[0]
	           ? json_string_value(json_object_get(d, "sync_state"))
	           : "-",
	       (long long)json_integer_value(json_object_get(d, "lag_bytes")));
	printf("  synchronous_standby_names '%s', mirror_lost = %s\n",
	       json_string_value(json_object_get(d, "synchronous_standby_names")),
	       json_string_value(json_object_get(d, "mirror_lost")));
	json_array_foreach(json_object_get(d, "alerts"), i, a)
	{
		printf("  ALERT: %s\n", json_string_value(a));
	}
}

int ctl_db_status(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"topology", required_argument, NULL, OPT_TOPOLOGY},
	                                     {NULL, 0, NULL, 0}};
	struct dbha h = {0};
	json_t *p, *b;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_opt, &h, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = load_topology(ctx, &h, true);
	if (rc != CTL_EXIT_OK)
		goto out;
	p = db_status(&h, "primary");
	b = db_status(&h, "backup");
	if (ctx->json) {
		ctl_json_out(json_pack("{s:o, s:o}", "primary", p, "backup", b));
		goto out;
	}
	status_text("primary", p);
	status_text("backup", b);
	json_decref(p);
	json_decref(b);
out:
	dbha_end(&h);
	return rc;
}

/* --- reseed, freeze (the failback) ----------------------------------------------- */

/* Parse the options named; --database must name one of the topology's pair (why: its role). */
static int dbha_start_pair(struct ctl *ctx, struct dbha *h, int argc, char **argv,
                           const char *const *names, const char *why)
{
	int rc = dbha_parse(ctx, h, argc, argv, names, NULL, 0);

	if (rc == CTL_EXIT_OK && (!h->database || (strcmp(h->database, "primary") != 0 &&
	                                           strcmp(h->database, "backup") != 0)))
		rc = ctl_usage(ctx, "--database primary|backup is required (%s)", why);
	if (rc == CTL_EXIT_OK)
		rc = resolve(ctx, h, NULL);
	return rc;
}

/* The topology's other database: the source of a re-seed, the standby of a freeze. */
static const struct topo_db *other_db(const struct dbha *h)
{
	return topo_db(h->topo, strcmp(h->which, "primary") == 0 ? "backup" : "primary");
}

/* Print a result's fields, one "key: value" line each. */
static void print_result(json_t *r)
{
	const char *key;
	json_t *v;

	json_object_foreach(r, key, v)
	{
		char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);

		printf("%s: %s\n", key, text ? text : json_string_value(v));
		free(text);
	}
}

/* The restore commands of the topology's log shipping: the standby's and pg_rewind's. */
static int logship_conf(struct ctl *ctx, struct dbha *h, char *conf, char *rewind, size_t len)
{
	char archive[2 * PATH_MAX + 64], restore[2 * PATH_MAX + 64];
	int rc;

	conf[0] = rewind[0] = '\0';
	if (!h->topo->logship.share[0] || !h->topo->logship.copy_destination[0])
		return CTL_EXIT_OK;
	rc = ctl_logship_commands(ctx, h->topo, archive, restore, rewind, len);
	if (rc == CTL_EXIT_OK)
		snprintf(conf, len, "restore_command = '%s'\n", restore);
	return rc;
}

/* While waiting for log shipping: a round of the copy job, whether its daemon runs or not. */
static void copy_tick(void *arg)
{
	char err[512];

	ctl_logship_copy_once(arg, err, sizeof err);
}

int ctl_db_reseed(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database",   "topology", "data-dir", "log-shipping",
	                                    "basebackup", "timeout",  NULL};
	struct ha_log log = {say_line, ctx};
	struct dbha h = {0};
	struct ha_reseed_opts o = {0};
	char err[HA_ERR_MAX], conf[2 * PATH_MAX + 128], rewind[2 * PATH_MAX + 128];
	json_t *r = NULL;
	int rc;

	rc = dbha_start_pair(ctx, &h, argc, argv, names,
	                     "the source is the topology's other database");
	if (rc == CTL_EXIT_OK && !h.data_dir && !h.db->data_dir[0])
		rc = ctl_fail(ctx, CTL_EXIT_CONFIG,
		              "no data directory: set data_dir in [database %s] of the topology or "
		              "pass --data-dir (run this where that directory is)",
		              h.which);
	if (rc == CTL_EXIT_OK)
		rc = logship_conf(ctx, &h, conf, rewind, sizeof conf);
	if (rc == CTL_EXIT_OK && h.log_shipping && !conf[0])
		rc = ctl_fail(ctx, CTL_EXIT_CONFIG,
		              "--log-shipping: the topology has no [logship] share and "
		              "copy_destination");
	if (rc == CTL_EXIT_OK && h.log_shipping &&
	    logship_set_paused(h.topo->logship.copy_destination, false, err, sizeof err) != 0)
		rc = ctl_fail(ctx, CTL_EXIT_SYSTEM, "cannot resume log shipping: %s", err);
	if (rc != CTL_EXIT_OK)
		goto out;
	o = (struct ha_reseed_opts){.source_url = other_db(&h)->url,
	                            .url = h.url,
	                            .data_dir = h.data_dir ? h.data_dir : h.db->data_dir,
	                            .bindir = h.bindir,
	                            .follow = h.log_shipping ? HA_FOLLOW_LOGSHIP : HA_FOLLOW_STREAM,
	                            .conf = h.log_shipping ? conf : NULL,
	                            .basebackup = h.basebackup,
	                            .wait_ms = h.timeout * 1000,
	                            .rewind_restore = rewind[0] ? rewind : NULL,
	                            .tick = copy_tick,
	                            .tick_arg = h.topo};
	rc = exit_for(ha_reseed(&o, &log, &r, err, sizeof err));
	if (rc != CTL_EXIT_OK) {
		ctl_fail(ctx, rc, "%s", err);
		goto out;
	}
	json_object_set_new(r, "database", json_string(h.which));
	if (h.log_shipping)
		json_object_set_new(
		    r, "copy_job_running",
		    json_boolean(logship_daemon_pid(h.topo->logship.copy_destination) > 0));
	if (ctx->json) {
		ctl_json_out(r);
		goto out;
	}
	printf("%s re-seeded from %s (%s): a standby following it by %s\n", h.which,
	       strcmp(h.which, "primary") == 0 ? "backup" : "primary",
	       json_string_value(json_object_get(r, "method")),
	       json_string_value(json_object_get(r, "follow")));
	if (h.log_shipping && !json_is_true(json_object_get(r, "copy_job_running")))
		printf("the copy job is not running: start it in data center B (pchatctl logship "
		       "copy --watch, as a service); this command copied meanwhile\n");
	print_result(r);
	json_decref(r);
out:
	dbha_end(&h);
	return rc;
}

int ctl_db_freeze(struct ctl *ctx, int argc, char **argv)
{
	static const char *const names[] = {"database", "topology", "thaw", "timeout", NULL};
	struct ha_log log = {say_line, ctx};
	struct dbha h = {0};
	char err[HA_ERR_MAX];
	json_t *r = NULL;
	int rc;

	rc = dbha_start_pair(ctx, &h, argc, argv, names,
	                     "the standby that must catch up is the topology's other database");
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = exit_for(ha_freeze(h.url, other_db(&h)->url, h.thaw, h.timeout * 1000, &log, &r, err,
	                        sizeof err));
	if (rc != CTL_EXIT_OK) {
		ctl_fail(ctx, rc, "%s", err);
		goto out;
	}
	json_object_set_new(r, "database", json_string(h.which));
	if (ctx->json) {
		ctl_json_out(r);
		goto out;
	}
	if (h.thaw)
		printf("%s takes writes again\n", h.which);
	else
		printf("%s frozen (read-only); the %s has everything up to it\n", h.which,
		       strcmp(h.which, "primary") == 0 ? "backup" : "primary");
	print_result(r);
	json_decref(r);
out:
	dbha_end(&h);
	return rc;
}
