/*
 * mirror.c — installing the synchronous mirror of a database (Lync's
 * database mirror; runbook step 6 after a failover): the replication slot,
 * a base backup that is already a standby (-R), optionally its start, then
 * synchronous_standby_names on the database and the wait for 'sync'.
 *
 * Deliberately not here: recording the mirror in the topology (the caller,
 * through ha_topo_set), switchover (switchover.c), and mirror lost
 * (watch.c).
 */
#include "ha/ha_int.h"

#include "common/str.h"

#include <stdio.h>
#include <string.h>

/* The refusals before anything is changed. */
static int mirror_checks(PGconn *c, const struct ha_mirror_opts *o, char *err, size_t errlen)
{
	int rec;

	if (!ha_dir_empty(o->data_dir))
		return ha_fail(err, errlen, HA_EREFUSED,
		               "%s is not empty: a mirror is built into an empty directory "
		               "(remove it or choose another)",
		               o->data_dir);
	rec = ha_in_recovery(c, err, errlen);
	if (rec < 0)
		return rec;
	if (rec)
		return ha_fail(err, errlen, HA_EREFUSED,
		               "%s is itself in recovery (a standby): promote it first (pchatctl "
		               "db recover) or give its primary",
		               o->url);
	return HA_OK;
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

/* Start the mirror and make the database wait for it. */
static int start_and_sync(PGconn *c, const struct ha_mirror_opts *o, const char *host, int port,
                          const struct ha_log *log, json_t *res, char *err, size_t errlen)
{
	char sync[16] = "";
	int rc;

	ha_say(log, "starting the mirror on %s:%d (log %s/log)", host, port, o->data_dir);
	rc = ha_pg_start(o->bindir, o->data_dir, host, port, err, errlen);
	if (rc != HA_OK)
		return rc;
	json_object_set_new(res, "started", json_true());
	rc = ha_set_sync_names(c, HA_SLOT, err, errlen);
	if (rc != HA_OK)
		return rc;
	ha_say(log, "synchronous_standby_names = '%s'; waiting for sync", HA_SLOT);
	rc = ha_wait_sync(c, o->wait_ms, sync, sizeof sync, err, errlen);
	json_object_set_new(res, "sync_state", json_string(sync));
	if (rc == HA_OK)
		ha_say(log, "the mirror is in sync");
	return rc;
}

int ha_install_mirror(const struct ha_mirror_opts *o, const struct ha_log *log, json_t **out,
                      char *err, size_t errlen)
{
	char host[256];
	int port, rc;
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
	res =
	    json_pack("{s:b, s:b, s:s}", "slot_created", false, "started", false, "sync_state", "");
	rc = mirror_checks(c, o, err, errlen);
	if (rc == HA_OK)
		rc = ha_slot_ensure(c, &created, err, errlen);
	if (rc != HA_OK)
		goto out_close;
	json_object_set_new(res, "slot_created", json_boolean(created));
	ha_say(log, "replication slot %s %s", HA_SLOT, created ? "created" : "already there");
	rc = base_backup(c, o, log, err, errlen);
	if (rc == HA_OK && o->port_from_url)
		rc = record_port(o, host, port, err, errlen);
	if (rc == HA_OK && o->start)
		rc = start_and_sync(c, o, host, port, log, res, err, errlen);
	else if (rc == HA_OK)
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
