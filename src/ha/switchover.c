/*
 * switchover.c — the planned swap of a primary and its synchronous mirror
 * with zero loss (Lync's Invoke-CsDatabaseFailover).
 *
 * Order: the mirror is streaming and 'sync'; CHECKPOINT (so the shutdown
 * is short); fast stop of the primary (its walsender sends everything,
 * the shutdown checkpoint included, before it exits); the mirror's receive
 * LSN is past that checkpoint (pg_controldata) — else the old primary is
 * started again as it was and nothing changed; promote the mirror; the
 * old primary becomes its standby (standby.signal, primary_conninfo with
 * application_name pchat_mirror, primary_slot_name; pg_rewind only when
 * its WAL went past the point the mirror was promoted at, which a clean
 * switchover never does); slot, start, synchronous_standby_names, sync.
 *
 * Deliberately not here: the topology (the caller swaps url and mirror
 * with ha_topo_set) and pchatd, which follows through a multi-host URL
 * with target_session_attrs=read-write.
 */
#include "ha/ha_int.h"

#include "common/str.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the steps share. */
struct sw {
	const struct ha_switch_opts *o; /* the options */
	const struct ha_log *log;       /* progress */
	struct ha_switch_result *res;   /* filled as it goes */
	PGconn *p;                      /* the old primary, until it stops */
	PGconn *m;                      /* the mirror, then the new primary */
	char p_host[256];               /* where the old primary listens */
	int p_port;                     /* its port */
	char p_dir[1024];               /* its PGDATA */
	char m_dir[1024];               /* the mirror's PGDATA */
	char *err;                      /* caller's buffer */
	size_t errlen;                  /* its size */
};

/* The data directory: the topology's, else SHOW data_directory. */
static int data_dir_of(struct sw *s, PGconn *c, const char *given, char *out, size_t outlen)
{
	if (given && given[0]) {
		str_copy(out, given, outlen);
		return HA_OK;
	}
	return ha_value(c, "SHOW data_directory", "SHOW data_directory", 0, NULL, out, outlen,
	                s->err, s->errlen);
}

/* Both up, the right roles, the mirror streaming and synchronous. */
static int sw_check(struct sw *s)
{
	static const char *const app[] = {HA_SLOT};
	char state[64];
	int rc;

	if (ha_in_recovery(s->p, s->err, s->errlen) != 0 ||
	    ha_in_recovery(s->m, s->err, s->errlen) != 1)
		return ha_fail(s->err, s->errlen, HA_EREFUSED,
		               "%s must be a writable primary and %s its standby (pchatctl db "
		               "status)",
		               s->o->url, s->o->mirror_url);
	rc = ha_value(s->p, "pg_stat_replication",
	              "SELECT state || '/' || sync_state FROM pg_stat_replication WHERE "
	              "application_name = $1",
	              1, app, state, sizeof state, s->err, s->errlen);
	if (rc == HA_OK && strcmp(state, "streaming/sync") != 0)
		rc = ha_fail(s->err, s->errlen, HA_EREFUSED,
		             "the mirror is not in sync (%s): a switchover would lose data; "
		             "wait or run pchatctl db status",
		             state[0] ? state : "not connected");
	if (rc == HA_OK)
		rc = data_dir_of(s, s->p, s->o->data_dir, s->p_dir, sizeof s->p_dir);
	if (rc == HA_OK)
		rc = data_dir_of(s, s->m, s->o->mirror_data_dir, s->m_dir, sizeof s->m_dir);
	if (rc == HA_OK)
		ha_say(s->log, "the mirror is streaming and in sync; primary %s, mirror %s",
		       s->p_dir, s->m_dir);
	return rc;
}

/* Stop the primary cleanly and read its shutdown checkpoint. */
static int sw_stop_primary(struct sw *s)
{
	char state[64];
	int rc;

	str_copy(s->p_host, PQhost(s->p), sizeof s->p_host);
	s->p_port = atoi(PQport(s->p));
	rc = ha_exec(s->p, "CHECKPOINT", "CHECKPOINT", s->err, s->errlen);
	PQfinish(s->p);
	s->p = NULL;
	if (rc != HA_OK)
		return rc;
	ha_say(s->log, "stopping the primary (pg_ctl stop -m fast)");
	rc = ha_pg_stop(s->o->bindir, s->p_dir, s->err, s->errlen);
	if (rc == HA_OK)
		rc = ha_controldata(s->o->bindir, s->p_dir, s->res->checkpoint_lsn,
		                    sizeof s->res->checkpoint_lsn, state, sizeof state, s->err,
		                    s->errlen);
	if (rc == HA_OK && strcmp(state, "shut down") != 0)
		rc = ha_fail(s->err, s->errlen, HA_ESYS,
		             "the primary's state after the stop is '%s', not 'shut down'", state);
	if (rc == HA_OK)
		ha_say(s->log, "primary stopped; shutdown checkpoint at %s",
		       s->res->checkpoint_lsn);
	return rc;
}

/* Wait until the mirror has received WAL past the shutdown checkpoint. */
static int sw_verify_received(struct sw *s)
{
	const char *params[] = {s->res->checkpoint_lsn};
	int64_t until = time_mono_ms() + (s->o->wait_ms > 0 ? s->o->wait_ms : 10000);
	char past[8];
	int rc;

	for (;;) {
		rc = ha_value(s->m, "pg_last_wal_receive_lsn",
		              "SELECT coalesce(pg_last_wal_receive_lsn()::text, '')", 0, NULL,
		              s->res->received_lsn, sizeof s->res->received_lsn, s->err, s->errlen);
		if (rc == HA_OK)
			rc = ha_value(
			    s->m, "pg_last_wal_receive_lsn",
			    "SELECT coalesce(pg_last_wal_receive_lsn() > $1::pg_lsn, false)", 1,
			    params, past, sizeof past, s->err, s->errlen);
		if (rc != HA_OK || past[0] == 't')
			break;
		if (time_mono_ms() > until)
			return ha_fail(s->err, s->errlen, HA_EREFUSED,
			               "the mirror received WAL up to %s only, not past the "
			               "shutdown checkpoint %s",
			               s->res->received_lsn, s->res->checkpoint_lsn);
		usleep(50 * 1000);
	}
	if (rc == HA_OK)
		ha_say(s->log, "the mirror received everything (up to %s)", s->res->received_lsn);
	return rc;
}

/* Promote the mirror and prove it takes writes. */
static int sw_promote(struct sw *s)
{
	char v[32];
	int rc;

	rc = ha_value(s->m, "pg_promote", "SELECT pg_promote(true, 60)", 0, NULL, v, sizeof v,
	              s->err, s->errlen);
	if (rc == HA_OK && v[0] != 't')
		rc = ha_fail(s->err, s->errlen, HA_ETIMEOUT, "pg_promote did not finish in 60 s");
	if (rc == HA_OK)
		rc = ha_value(s->m, "write check", "SELECT pg_current_xact_id()::text", 0, NULL, v,
		              sizeof v, s->err, s->errlen);
	if (rc == HA_OK)
		ha_say(s->log, "mirror promoted: it accepts writes");
	return rc;
}

/* pg_rewind when the old primary's checkpoint is past the promotion point. */
static int sw_rewind_if_needed(struct sw *s)
{
	const char *params[] = {s->res->checkpoint_lsn, s->res->received_lsn};
	char kv[1200], src[1300], out[8192], behind[8];
	const char *args[] = {"-D", s->p_dir, "--source-server", src, NULL};
	int rc;

	rc = ha_value(s->m, "lsn compare", "SELECT $1::pg_lsn >= $2::pg_lsn", 2, params, behind,
	              sizeof behind, s->err, s->errlen);
	if (rc != HA_OK || behind[0] != 't')
		return rc;
	ha_conn_kv(s->m, kv, sizeof kv);
	snprintf(src, sizeof src, "%s", kv);
	ha_say(s->log, "the old primary's WAL went further: pg_rewind");
	s->res->rewound = true;
	return ha_run(s->o->bindir, s->p_dir, "pg_rewind", args, out, sizeof out, s->err,
	              s->errlen);
}

/* The old primary becomes the new primary's mirror, and starts. */
static int sw_old_becomes_mirror(struct sw *s)
{
	static const char *const keys[] = {"primary_conninfo", "primary_slot_name", NULL};
	char kv[1200], text[1600], path[1100];
	bool created;
	int rc;

	rc = sw_rewind_if_needed(s);
	if (rc == HA_OK)
		rc = ha_slot_ensure(s->m, &created, s->err, s->errlen);
	if (rc != HA_OK)
		return rc;
	ha_conn_kv(s->m, kv, sizeof kv);
	snprintf(text, sizeof text,
	         "primary_conninfo = '%s application_name=%s'\n"
	         "primary_slot_name = '%s'\n",
	         kv, HA_SLOT, HA_SLOT);
	rc = ha_auto_conf(s->p_dir, keys, text, s->err, s->errlen);
	snprintf(path, sizeof path, "%s/standby.signal", s->p_dir);
	if (rc == HA_OK)
		rc = ha_write_owned(path, s->p_dir, "", 0, s->err, s->errlen);
	if (rc == HA_OK) {
		ha_say(s->log, "starting the old primary as the mirror on %s:%d", s->p_host,
		       s->p_port);
		rc = ha_pg_start(s->o->bindir, s->p_dir, s->p_host, s->p_port, true, s->err,
		                 s->errlen);
	}
	if (rc == HA_OK)
		rc = ha_set_sync_names(s->m, HA_SLOT, s->err, s->errlen);
	if (rc == HA_OK)
		rc = ha_wait_sync(s->m, s->o->wait_ms, s->res->sync_state,
		                  sizeof s->res->sync_state, s->err, s->errlen);
	if (rc == HA_OK)
		ha_say(s->log, "the new mirror is in sync");
	return rc;
}

/* Fill the topology's new values. */
static void sw_result(struct sw *s)
{
	char url[1024];

	snprintf(url, sizeof url, "postgresql://%s@%s:%d/%s", PQuser(s->m), s->p_host, s->p_port,
	         PQdb(s->m));
	str_copy(s->res->new_mirror, url, sizeof s->res->new_mirror);
	if (ha_url_multi(s->o->url))
		str_copy(s->res->new_url, s->o->url, sizeof s->res->new_url);
	else
		str_copy(s->res->new_url, s->o->mirror_url, sizeof s->res->new_url);
	str_copy(s->res->new_data_dir, s->m_dir, sizeof s->res->new_data_dir);
	str_copy(s->res->new_mirror_dir, s->p_dir, sizeof s->res->new_mirror_dir);
}

int ha_switchover(const struct ha_switch_opts *o, const struct ha_log *log,
                  struct ha_switch_result *res, char *err, size_t errlen)
{
	struct sw s = {.o = o, .log = log, .res = res, .err = err, .errlen = errlen};
	char err2[512];
	int rc = HA_EDB;

	memset(res, 0, sizeof(*res));
	s.p = ha_connect(o->url, err, errlen);
	if (s.p)
		s.m = ha_connect(o->mirror_url, err, errlen);
	if (!s.p || !s.m)
		goto out_close;
	rc = sw_check(&s);
	if (rc == HA_OK)
		rc = sw_stop_primary(&s);
	if (rc == HA_OK) {
		rc = sw_verify_received(&s);
		if (rc != HA_OK && s.p_port) { /* nothing changed: the primary comes back */
			ha_say(log, "starting the old primary again as it was");
			if (ha_pg_start(o->bindir, s.p_dir, s.p_host, s.p_port, true, err2,
			                sizeof err2))
				ha_say(log, "it did not start: %s", err2);
		}
	}
	if (rc == HA_OK)
		rc = sw_promote(&s);
	if (rc == HA_OK)
		sw_result(&s); /* from here on the mirror is the primary whatever follows */
	if (rc == HA_OK)
		rc = sw_old_becomes_mirror(&s);
out_close:
	PQfinish(s.p);
	PQfinish(s.m);
	return rc;
}
