/*
 * session.c — step 4 of the failover runbook: the sessions on a database
 * (db who), ending them (db kill), and promoting the backup (db recover)
 * with the recovery point it reached.
 *
 * Deliberately not here: the pool state written after the promotion
 * (pchatctl pool state failed-over) and the fence.
 */
#include "ha/ha_int.h"

#include "common/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ha_who(const char *url, json_t **out, char *err, size_t errlen)
{
	PGconn *c = ha_connect(url, err, errlen);
	PGresult *r;
	json_t *arr;

	*out = NULL;
	if (!c)
		return HA_EDB;
	r = ha_rows(c, "pg_stat_activity",
	            "SELECT pid, application_name, coalesce(host(client_addr), 'local'), "
	            "coalesce(state, ''), to_char(backend_start AT TIME ZONE 'UTC', "
	            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(state_change AT TIME ZONE "
	            "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') FROM pg_stat_activity "
	            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
	            "AND backend_type = 'client backend' ORDER BY backend_start, pid",
	            0, NULL, err, errlen);
	if (r) {
		arr = json_array();
		for (int i = 0; i < PQntuples(r); i++)
			json_array_append_new(
			    arr,
			    json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "pid",
			              atoi(PQgetvalue(r, i, 0)), "application_name",
			              PQgetvalue(r, i, 1), "client_addr", PQgetvalue(r, i, 2),
			              "state", PQgetvalue(r, i, 3), "since", PQgetvalue(r, i, 4),
			              "state_change", PQgetvalue(r, i, 5)));
		*out = arr;
		PQclear(r);
	}
	PQfinish(c);
	return *out ? HA_OK : HA_EDB;
}

int ha_kill(const char *url, int pid, int *n_killed, char *err, size_t errlen)
{
	PGconn *c = ha_connect(url, err, errlen);
	char pidtxt[16], n[16] = "0";
	const char *params[] = {pidtxt};
	int rc;

	*n_killed = 0;
	if (!c)
		return HA_EDB;
	snprintf(pidtxt, sizeof pidtxt, "%d", pid);
	rc = ha_value(c, "pg_terminate_backend",
	              "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM "
	              "pg_stat_activity WHERE datname = current_database() AND pid <> "
	              "pg_backend_pid() AND backend_type = 'client backend' AND ($1::int = 0 OR "
	              "pid = $1::int)",
	              1, params, n, sizeof n, err, errlen);
	*n_killed = atoi(n);
	if (rc == HA_OK && pid != 0 && *n_killed == 0)
		rc = ha_fail(err, errlen, HA_EREFUSED,
		             "no session %d on this database (pchatctl db who lists them)", pid);
	PQfinish(c);
	return rc;
}

void ha_newest_message(PGconn *c, json_t *out)
{
	char err[256];
	PGresult *r;

	r = ha_rows(c, "newest message",
	            "SELECT id, msgid, to_char(to_timestamp(ts_ms / 1000.0) AT TIME ZONE 'UTC', "
	            "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM messages ORDER BY id DESC LIMIT 1",
	            0, NULL, err, sizeof err);
	if (r && PQntuples(r) == 1) {
		json_object_set_new(out, "max_id", json_integer(atoll(PQgetvalue(r, 0, 0))));
		json_object_set_new(out, "msgid", json_string(PQgetvalue(r, 0, 1)));
		json_object_set_new(out, "time", json_string(PQgetvalue(r, 0, 2)));
	} else {
		json_object_set_new(out, "max_id", json_integer(0));
		json_object_set_new(out, "msgid", json_null());
		json_object_set_new(out, "time", json_null());
		if (!r)
			json_object_set_new(out, "messages_error", json_string(err));
	}
	PQclear(r);
}

/* pg_promote, then a transaction id: the proof that it takes writes. */
static int promote(PGconn *c, const struct ha_log *log, char *err, size_t errlen)
{
	char v[32];
	int rc;

	ha_say(log, "promoting (pg_promote, waiting up to 60 s)");
	rc = ha_value(c, "pg_promote", "SELECT pg_promote(true, 60)", 0, NULL, v, sizeof v, err,
	              errlen);
	if (rc == HA_OK && v[0] != 't')
		rc = ha_fail(err, errlen, HA_ETIMEOUT,
		             "pg_promote did not finish within 60 s: see the server's log");
	if (rc == HA_OK)
		rc = ha_value(c, "write check", "SELECT pg_current_xact_id()::text", 0, NULL, v,
		              sizeof v, err, errlen);
	if (rc == HA_OK)
		ha_say(log, "promoted: it accepts writes (transaction %s)", v);
	return rc;
}

int ha_recover(const char *url, const struct ha_log *log, json_t **out, char *err, size_t errlen)
{
	PGconn *c = ha_connect(url, err, errlen);
	char replay[64] = "";
	int rc, rec;

	*out = NULL;
	if (!c)
		return HA_EDB;
	rec = ha_in_recovery(c, err, errlen);
	rc = rec < 0 ? rec : HA_OK;
	if (rc == HA_OK && rec)
		rc =
		    ha_value(c, "pg_last_xact_replay_timestamp",
		             "SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE "
		             "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')",
		             0, NULL, replay, sizeof replay, err, errlen);
	if (rc == HA_OK && rec)
		rc = promote(c, log, err, errlen);
	if (rc == HA_OK) {
		*out = json_pack("{s:b, s:s?}", "already_writable", !rec, "last_replay",
		                 replay[0] ? replay : NULL);
		ha_newest_message(c, *out);
	}
	PQfinish(c);
	return rc;
}
