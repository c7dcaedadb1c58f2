/*
 * pgadm.c — the libpq helpers of src/ha: connecting as "pchatctl", one
 * value or a set of rows from a statement, the replication slot, the
 * synchronous_standby_names setting and waiting for a synchronous mirror.
 *
 * Deliberately not here: the chat store's sessions (src/store/pg/), which
 * pool writers and prepare statements; these are one-off administration
 * sessions.
 */
#include "ha/ha_int.h"

#include "common/str.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ha_say(const struct ha_log *log, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!log || !log->say)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log->say(log->arg, line);
}

/* The server's message without its trailing newline. */
static const char *pq_msg(const PGconn *c, const PGresult *r, char *buf, size_t len)
{
	size_t n;

	str_copy(buf, r ? PQresultErrorMessage(r) : PQerrorMessage(c), len);
	if (!buf[0])
		str_copy(buf, PQerrorMessage(c), len);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

PGconn *ha_connect(const char *url, char *err, size_t errlen)
{
	static const char *const keys[] = {"dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {url, "pchatctl", "5", NULL};
	char msg[512];
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c && PQstatus(c) == CONNECTION_OK)
		return c;
	ha_fail(err, errlen, HA_EDB, "cannot connect to %s: %s", url,
	        c ? pq_msg(c, NULL, msg, sizeof msg) : "out of memory");
	PQfinish(c);
	return NULL;
}

PGresult *ha_rows(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
                  char *err, size_t errlen)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	char msg[512];

	if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	ha_fail(err, errlen, HA_EDB, "%s: %s", what, pq_msg(c, r, msg, sizeof msg));
	PQclear(r);
	return NULL;
}

int ha_value(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
             char *out, size_t outlen, char *err, size_t errlen)
{
	PGresult *r = ha_rows(c, what, sql, n, params, err, errlen);

	if (!r)
		return HA_EDB;
	str_copy(out, PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "", outlen);
	PQclear(r);
	return HA_OK;
}

int ha_exec(PGconn *c, const char *what, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	char msg[512];
	int rc = HA_OK;

	if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK))
		rc = ha_fail(err, errlen, HA_EDB, "%s: %s", what, pq_msg(c, r, msg, sizeof msg));
	PQclear(r);
	return rc;
}

int ha_in_recovery(PGconn *c, char *err, size_t errlen)
{
	char v[8];

	if (ha_value(c, "pg_is_in_recovery", "SELECT pg_is_in_recovery()", 0, NULL, v, sizeof v,
	             err, errlen) != HA_OK)
		return HA_EDB;
	return v[0] == 't';
}

void ha_conn_kv(PGconn *c, char *out, size_t outlen)
{
	snprintf(out, outlen, "host=%s port=%s user=%s dbname=%s", PQhost(c), PQport(c), PQuser(c),
	         PQdb(c));
}

void ha_conn_url(PGconn *c, char *out, size_t outlen)
{
	if (PQhost(c)[0] == '/')
		ha_conn_kv(c, out, outlen);
	else
		snprintf(out, outlen, "postgresql://%s@%s:%s/%s", PQuser(c), PQhost(c), PQport(c),
		         PQdb(c));
}

bool ha_url_multi(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	bool multi = false;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if ((strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0) &&
		    o->val && strchr(o->val, ','))
			multi = true;
	PQconninfoFree(opts);
	return multi;
}

int ha_url_hostport(const char *url, char *host, size_t hostlen, int *port, char *err,
                    size_t errlen)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	int rc = HA_OK;

	if (!opts)
		return ha_fail(err, errlen, HA_EINVALID, "%s: not a PostgreSQL URL", url);
	str_copy(host, "127.0.0.1", hostlen);
	*port = 5432;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !o->val[0])
			continue;
		if (strcmp(o->keyword, "host") == 0)
			str_copy(host, o->val, hostlen);
		else if (strcmp(o->keyword, "port") == 0)
			*port = atoi(o->val);
	}
	if (strchr(host, ',') || *port <= 0 || *port > 65535)
		rc = ha_fail(err, errlen, HA_EINVALID, "%s: expected one host and a port", url);
	PQconninfoFree(opts);
	return rc;
}

/* The application name of the mirror as a SQL parameter list of one. */
static const char *const mirror_param[] = {HA_SLOT};

int ha_wait_sync(PGconn *c, int wait_ms, char *sync_state, size_t sslen, char *err, size_t errlen)
{
	return ha_wait_mirror(c, true, wait_ms, sync_state, sslen, err, errlen);
}

int ha_wait_mirror(PGconn *c, bool sync, int wait_ms, char *sync_state, size_t sslen, char *err,
                   size_t errlen)
{
	int64_t until = time_mono_ms() + (wait_ms > 0 ? wait_ms : HA_WAIT_SYNC_MS);
	int rc;

	for (;;) {
		rc = ha_value(c, "pg_stat_replication",
		              "SELECT sync_state FROM pg_stat_replication WHERE application_name = "
		              "$1 AND state = 'streaming'",
		              1, mirror_param, sync_state, sslen, err, errlen);
		if (rc != HA_OK || (sync ? strcmp(sync_state, "sync") == 0 : sync_state[0] != '\0'))
			return rc;
		if (time_mono_ms() > until)
			return ha_fail(err, errlen, HA_ETIMEOUT,
			               "the mirror is not %s after %d s (sync_state '%s'): "
			               "see its log",
			               sync ? "in sync" : "streaming",
			               (wait_ms > 0 ? wait_ms : HA_WAIT_SYNC_MS) / 1000,
			               sync_state);
		usleep(100 * 1000);
	}
}

int ha_slot_ensure(PGconn *c, bool *created, char *err, size_t errlen)
{
	char active[8];
	int rc;

	*created = false;
	rc = ha_value(c, "pg_replication_slots",
	              "SELECT CASE WHEN active THEN 't' ELSE 'f' END FROM pg_replication_slots "
	              "WHERE slot_name = $1",
	              1, mirror_param, active, sizeof active, err, errlen);
	if (rc != HA_OK)
		return rc;
	if (active[0] == 't')
		return ha_fail(err, errlen, HA_EREFUSED,
		               "replication slot %s is in use: a mirror is already connected "
		               "(pchatctl db status)",
		               HA_SLOT);
	if (active[0] == 'f')
		return HA_OK;
	rc = ha_value(c, "pg_create_physical_replication_slot",
	              "SELECT slot_name FROM pg_create_physical_replication_slot($1, true)", 1,
	              mirror_param, active, sizeof active, err, errlen);
	*created = rc == HA_OK;
	return rc;
}

int ha_set_sync_names(PGconn *c, const char *names, char *err, size_t errlen)
{
	char sql[256], *lit;
	int rc;

	lit = PQescapeLiteral(c, names, strlen(names));
	if (!lit)
		return ha_fail(err, errlen, HA_EDB, "cannot quote '%s'", names);
	snprintf(sql, sizeof sql, "ALTER SYSTEM SET synchronous_standby_names = %s", lit);
	PQfreemem(lit);
	rc = ha_exec(c, "ALTER SYSTEM", sql, err, errlen);
	if (rc == HA_OK)
		rc = ha_exec(c, "pg_reload_conf", "SELECT pg_reload_conf()", err, errlen);
	return rc;
}
