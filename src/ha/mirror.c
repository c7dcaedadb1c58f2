/*
 * mirror.c — installing the synchronous mirror of a database (Lync's
 * database mirror; runbook step 6 after a failover): the replication slot,
 * a base backup that is already a standby (-R), optionally its start, then
 * synchronous_standby_names on the database and the wait for 'sync'.
 *
 * The database may be a standby (the backup in normal state): its mirror is
 * then a cascading standby that follows the backup when it is promoted,
 * and synchronous_standby_names, set in advance, makes it synchronous from
 * the promotion on; installing again finds it streaming and only waits for
 * sync (when that mirror runs in the data directory given). --replace
 * stops an old mirror and moves its directory aside.
 *
 * Deliberately not here: recording the mirror in the topology (the caller,
 * through ha_topo_set), switchover (switchover.c), and mirror lost
 * (watch.c).
 */
#include "ha/ha_int.h"

#include "common/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The data directory: empty, or with --replace the old one stopped and moved aside. */
static int mirror_dir(const struct ha_mirror_opts *o, const struct ha_log *log, json_t *res,
                      char *err, size_t errlen)
{
	char aside[1200];
	int rc;

	if (ha_dir_empty(o->data_dir))
		return HA_OK;
	if (!o->replace)
		return ha_fail(err, errlen, HA_EREFUSED,
		               "%s is not empty: a mirror is built into an empty directory "
		               "(remove it, choose another, or pass --replace)",
		               o->data_dir);
	if (ha_pg_running(o->bindir, o->data_dir)) {
		ha_say(log, "stopping the old mirror on %s", o->data_dir);
		if ((rc = ha_pg_stop(o->bindir, o->data_dir, err, errlen)) != HA_OK)
			return rc;
	}
	rc = ha_move_aside(o->data_dir, aside, sizeof aside, err, errlen);
	if (rc == HA_OK) {
		ha_say(log, "the old mirror's directory is kept as %s", aside);
		json_object_set_new(res, "moved_aside", json_string(aside));
	}
	return rc;
}

/* Whether a mirror already streams from c. 1, 0 or HA_EDB. */
static int already_streaming(PGconn *c, char *err, size_t errlen)
{
	static const char *const app[] = {HA_SLOT};
	char n[16];
	int rc = ha_value(c, "pg_stat_replication",
	                  "SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 "
	                  "AND state = 'streaming'",
	                  1, app, n, sizeof n, err, errlen);

	return rc != HA_OK ? rc : atoi(n) > 0;
}

/* pg_basebackup -D DIR -X stream -S pchat_mirror -R from the server c is on. */
static int base_backup(PGconn *c, const struct ha_mirror_opts *o, const struct ha_log *log,
                       char *err, size_t errlen)
{
	char conn[1400], kv[1200], out[8192];
	const char *args[] = {"-D", o->data_dir, "-X",   "stream", "-S", HA_SLOT,
	                      "-R", "-c",        "fast", "-d",     conn, NULL};

	ha_conn_kv(c, kv, sizeof kv);
	snprintf(conn, sizeof conn, "%s application_name=%s", kv, HA_SLOT);
	ha_say(log, "pg_basebackup into %s from %s", o->data_dir, kv);
	return ha_run(o->bindir, o->data_dir, "pg_basebackup", args, out, sizeof out, err, errlen);
}

/* With --port-from-url: the mirror listens on its URL's port however it is started. */
static int record_port(const struct ha_mirror_opts *o, const char *host, int port, char *err,
                       size_t errlen)
{
	static const char *const keys[] = {"port", "listen_addresses", NULL};
	char text[512];

	snprintf(text, sizeof text, "port = %d\nlisten_addresses = '%s'\n", port, host);
	return ha_auto_conf(o->data_dir, keys, text, err, errlen);
}

/*
 * Make the database wait for its mirror: synchronous_standby_names (on a
 * standby it takes effect when it is promoted: the next failover's primary
 * is mirrored from its first write) and the wait for sync, or for a
 * standby's cascading mirror only for streaming.
 */
static int sync_with(PGconn *c, const struct ha_mirror_opts *o, bool standby,
                     const struct ha_log *log, json_t *res, char *err, size_t errlen)
{
	char sync[16] = "";
	int rc = ha_set_sync_names(c, HA_SLOT, err, errlen);

	if (rc != HA_OK)
		return rc;
	ha_say(log, "synchronous_standby_names = '%s'; waiting for %s", HA_SLOT,
	       standby ? "it to stream (cascading from a standby)" : "sync");
	rc = ha_wait_mirror(c, !standby, o->wait_ms, sync, sizeof sync, err, errlen);
	json_object_set_new(res, "sync_state", json_string(sync));
	if (rc == HA_OK)
		ha_say(log, standby ? "the mirror streams" : "the mirror is in sync");
	return rc;
}

int ha_install_mirror(const struct ha_mirror_opts *o, const struct ha_log *log, json_t **out,
                      char *err, size_t errlen)
{
	char host[256];
	int port, rc, standby, streaming;
	bool created;
	PGconn *c;
	json_t *res;

	*out = NULL;
	rc = ha_url_hostport(o->mirror_url, host, sizeof host, &port, err, errlen);
	if (rc != HA_OK)
		return rc;
	c = ha_connect(o->url, err, errlen);
	if (!c)
		return HA_EDB;
	res = json_pack("{s:b, s:b, s:s, s:b, s:b}", "slot_created", false, "started", false,
	                "sync_state", "", "already", false, "cascading", false);
	standby = ha_in_recovery(c, err, errlen);
	/* the mirror asked for is the one running in data_dir and streaming from url */
	streaming = standby < 0                              ? standby
	            : !ha_pg_running(o->bindir, o->data_dir) ? 0
	                                                     : already_streaming(c, err, errlen);
	rc = streaming < 0 ? streaming : HA_OK;
	if (rc != HA_OK)
		goto out_close;
	json_object_set_new(res, "cascading", json_boolean(standby));
	if (streaming) { /* built before (a standby's mirror that followed its promotion) */
		ha_say(log, "a mirror (%s) already streams from %s: not rebuilt", HA_SLOT, o->url);
		json_object_set_new(res, "already", json_true());
		rc = sync_with(c, o, standby, log, res, err, errlen);
		goto out_close;
	}
	rc = mirror_dir(o, log, res, err, errlen);
	if (rc == HA_OK)
		rc = ha_slot_ensure(c, &created, err, errlen);
	if (rc != HA_OK)
		goto out_close;
	json_object_set_new(res, "slot_created", json_boolean(created));
	ha_say(log, "replication slot %s %s", HA_SLOT, created ? "created" : "already there");
	rc = base_backup(c, o, log, err, errlen);
	if (rc == HA_OK && o->port_from_url)
		rc = record_port(o, host, port, err, errlen);
	if (rc == HA_OK && o->start) {
		ha_say(log, "starting the mirror on %s:%d (log %s/log)", host, port, o->data_dir);
		rc = ha_pg_start(o->bindir, o->data_dir, host, port, true, err, errlen);
		if (rc == HA_OK) {
			json_object_set_new(res, "started", json_true());
			rc = sync_with(c, o, standby, log, res, err, errlen);
		}
	} else if (rc == HA_OK)
		ha_say(log,
		       "not started (--start): start it on port %d, then synchronous_standby_"
		       "names is set by pchatctl db mirror-check or a new install",
		       port);
out_close:
	PQfinish(c);
	if (rc == HA_OK)
		*out = res;
	else
		json_decref(res);
	return rc;
}
