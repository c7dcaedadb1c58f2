/*
 * reseed.c — the failback's database steps (SPEC §6, docs/operations.md):
 * re-seeding an instance as a standby of the current primary, and freezing
 * that primary until the standby has everything.
 *
 * Re-seed: the old primary of data center A comes back after a failover
 * with WAL the backup never received; it cannot simply follow. pg_rewind
 * (wal_log_hints is on from the start) copies from the current primary what
 * differs since the timelines forked, else a fresh pg_basebackup replaces
 * the directory, the old one kept aside. The instance then follows by
 * streaming (A before its promotion) or by log shipping only (B after the
 * failback, restore_command from the copy destination).
 *
 *   check roles -> stop -> pg_rewind | move aside + pg_basebackup
 *     -> postgresql.auto.conf, standby.signal -> start -> wait until it follows
 *
 * Freeze: default_transaction_read_only on the primary and its client
 * sessions ended, so nothing commits any more; the re-seeded standby's
 * replay position reaches the primary's WAL position; nothing acknowledged
 * is lost, a message sent meanwhile gets FAIL.
 *
 * Deliberately not here: which instance is re-seeded from which (the
 * topology, pchatctl), the pool state and the servers (pool/), the log
 * shipping jobs (logship).
 */
#include "ha/ha_int.h"

#include "common/str.h"
#include "common/timeutil.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the steps of a re-seed share. */
struct rs {
	const struct ha_reseed_opts *o; /* the options */
	const struct ha_log *log;       /* progress */
	json_t *res;                    /* the result, filled as it goes */
	PGconn *src;                    /* the current primary */
	char host[256];                 /* where the instance listens */
	char lsn[32];                   /* log shipping: the position it must reach */
	int port;                       /* its port */
	bool local;                     /* the data directory (or its parent) is on this host */
	bool elsewhere;                 /* re-seeded on its own host already: only the wait */
	char *err;                      /* caller's buffer */
	size_t errlen;                  /* its size */
};

/* The pool generation recorded in c and whether it is fenced (0/false without one). */
static int64_t generation_of(PGconn *c, bool *fenced)
{
	PGresult *r = PQexec(c, "SELECT generation, fenced FROM pool_state WHERE id = 1");
	int64_t gen = 0;

	*fenced = false;
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		gen = atoll(PQgetvalue(r, 0, 0));
		*fenced = PQgetvalue(r, 0, 1)[0] == 't';
	}
	PQclear(r);
	return gen;
}

/* The source is a writable, unfenced primary; the instance is not the pool's newest. */
static int rs_check(struct rs *s)
{
	bool src_fenced, fenced;
	int64_t src_gen, gen;
	PGconn *t;
	int rec;

	rec = ha_in_recovery(s->src, s->err, s->errlen);
	if (rec < 0)
		return rec;
	src_gen = generation_of(s->src, &src_fenced);
	if (rec || src_fenced)
		return ha_fail(s->err, s->errlen, HA_EREFUSED,
		               "%s is %s: the source of a re-seed is the pool's current primary",
		               s->o->source_url, rec ? "in recovery" : "fenced");
	t = ha_connect(s->o->url, s->err, s->errlen);
	if (!t && !s->local)
		return ha_fail(s->err, s->errlen, HA_EREFUSED,
		               "%s does not answer and its data directory %s is not on this host: "
		               "run this command where it is",
		               s->o->url, s->o->data_dir);
	if (!t) { /* down: nothing to compare, the data directory is what counts */
		ha_say(s->log, "%s does not answer: re-seeding its data directory", s->o->url);
		return HA_OK;
	}
	rec = ha_in_recovery(t, s->err, s->errlen);
	gen = generation_of(t, &fenced);
	PQfinish(t);
	if (rec < 0)
		return rec;
	if (!s->local) { /* re-seeded where its data directory is, then this run again */
		if (!rec)
			return ha_fail(
			    s->err, s->errlen, HA_EREFUSED,
			    "the data directory %s is not on this host: run this command "
			    "where it is, then this one again",
			    s->o->data_dir);
		ha_say(s->log, "%s is already a standby, re-seeded where its data directory is",
		       s->o->url);
		json_object_set_new(s->res, "method", json_string("elsewhere"));
		s->elsewhere = true;
		return HA_OK;
	}
	if (!rec && !fenced && gen >= src_gen)
		return ha_fail(
		    s->err, s->errlen, HA_EREFUSED,
		    "%s is a writable primary of generation %lld (the source's is %lld): "
		    "it may be the pool's database; re-seeding would destroy it. Check "
		    "pchatctl pool status",
		    s->o->url, (long long)gen, (long long)src_gen);
	ha_say(s->log, "%s: %s, generation %lld; source generation %lld", s->o->url,
	       rec      ? "a standby"
	       : fenced ? "fenced"
	                : "an older primary",
	       (long long)gen, (long long)src_gen);
	return HA_OK;
}

/*
 * pg_rewind from the source; HA_OK when the directory now follows it. The
 * instance's old WAL since the last common checkpoint may be archived and
 * recycled: with a restore command, pg_rewind fetches it from the archive.
 */
static int rs_rewind(struct rs *s)
{
	static const char *const keys[] = {"restore_command", NULL};
	char kv[1200], out[8192], text[2200];
	const char *args[] = {"-D", s->o->data_dir, "--source-server", kv, NULL, NULL};
	int rc = HA_OK;

	if (s->o->rewind_restore) {
		snprintf(text, sizeof text, "restore_command = '%s'\n", s->o->rewind_restore);
		rc = ha_auto_conf(s->o->data_dir, keys, text, s->err, s->errlen);
		args[4] = "--restore-target-wal";
	}
	/* a source promoted moments ago has its new timeline in pg_control only after a
	 * checkpoint: pg_rewind reads it there */
	if (rc == HA_OK)
		rc = ha_exec(s->src, "CHECKPOINT", "CHECKPOINT", s->err, s->errlen);
	if (rc != HA_OK)
		return rc;
	ha_conn_kv(s->src, kv, sizeof kv);
	ha_say(s->log, "pg_rewind -D %s from %s%s", s->o->data_dir, kv,
	       args[4] ? " (old WAL from the archive)" : "");
	rc = ha_run(s->o->bindir, s->o->data_dir, "pg_rewind", args, out, sizeof out, s->err,
	            s->errlen);
	if (rc == HA_OK)
		json_object_set_new(s->res, "method", json_string("rewind"));
	else
		ha_say(s->log, "pg_rewind did not succeed (%.300s): a fresh copy instead", s->err);
	return rc;
}

/* Move a non-empty directory aside (never delete), then pg_basebackup into it. */
static int rs_basebackup(struct rs *s)
{
	char conn[1400], kv[1200], aside[1200], out[8192];
	const char *args[] = {"-D", s->o->data_dir, "-X", "stream", "-c", "fast", "-d", conn, NULL};

	int rc = ha_move_aside(s->o->data_dir, aside, sizeof aside, s->err, s->errlen);

	if (rc != HA_OK)
		return rc;
	if (aside[0]) {
		ha_say(s->log, "the old directory is kept as %s", aside);
		json_object_set_new(s->res, "moved_aside", json_string(aside));
	}
	ha_conn_kv(s->src, kv, sizeof kv);
	snprintf(conn, sizeof conn, "%s application_name=%s", kv, HA_RESEED_APP);
	ha_say(s->log, "pg_basebackup into %s from %s", s->o->data_dir, kv);
	json_object_set_new(s->res, "method", json_string("basebackup"));
	return ha_run(s->o->bindir, s->o->data_dir, "pg_basebackup", args, out, sizeof out, s->err,
	              s->errlen);
}

/* Its new role in postgresql.auto.conf, standby.signal; the former role's settings go. */
static int rs_configure(struct rs *s)
{
	static const char *const keys[] = {"primary_conninfo",
	                                   "primary_slot_name",
	                                   "restore_command",
	                                   "recovery_target_timeline",
	                                   "synchronous_standby_names",
	                                   "default_transaction_read_only",
	                                   "archive_mode",
	                                   "wal_retrieve_retry_interval",
	                                   "port",
	                                   "listen_addresses",
	                                   NULL};
	char kv[1200], text[4096], path[1100];
	size_t len = 0;
	int rc;

	text[0] = '\0';
	str_appendf(text, sizeof text, &len,
	            "# pchat failback (pchatctl db reseed): a standby of the current primary\n"
	            "archive_mode = on\nsynchronous_standby_names = ''\n"
	            "recovery_target_timeline = 'latest'\nwal_retrieve_retry_interval = '1s'\n");
	if (s->o->follow == HA_FOLLOW_STREAM) {
		ha_conn_kv(s->src, kv, sizeof kv);
		str_appendf(text, sizeof text, &len,
		            "primary_conninfo = '%s application_name=%s'\n", kv, HA_RESEED_APP);
		if (s->o->rewind_restore) /* what the source recycled since the fork */
			str_appendf(text, sizeof text, &len, "restore_command = '%s'\n",
			            s->o->rewind_restore);
	}
	if (s->o->conf)
		str_appendf(text, sizeof text, &len, "%s", s->o->conf);
	rc = ha_auto_conf(s->o->data_dir, keys, text, s->err, s->errlen);
	snprintf(path, sizeof path, "%s/standby.signal", s->o->data_dir);
	if (rc == HA_OK)
		rc = ha_write_owned(path, s->o->data_dir, "", 0, s->err, s->errlen);
	snprintf(path, sizeof path, "%s/recovery.signal", s->o->data_dir);
	unlink(path);
	return rc;
}

/* Poll sql on c until it returns "t"; HA_OK, HA_ETIMEOUT with what in err, HA_EDB. */
static int wait_true(PGconn *c, const char *sql, int n, const char *const *params, int wait_ms,
                     const char *what, char *err, size_t errlen)
{
	int64_t until = time_mono_ms() + (wait_ms > 0 ? wait_ms : HA_WAIT_SYNC_MS);
	char v[16];
	int rc;

	for (;;) {
		rc = ha_value(c, what, sql, n, params, v, sizeof v, err, errlen);
		if (rc != HA_OK || v[0] == 't')
			return rc;
		if (time_mono_ms() > until)
			return ha_fail(err, errlen, HA_ETIMEOUT, "%s: not within %d s", what,
			               (wait_ms > 0 ? wait_ms : HA_WAIT_SYNC_MS) / 1000);
		usleep(100 * 1000);
	}
}

/*
 * Connect to a standby that may still be reaching a consistent state (it
 * refuses connections until then), retrying for wait_ms. NULL with err set.
 */
static PGconn *connect_standby(const char *url, int wait_ms, char *err, size_t errlen)
{
	int64_t until = time_mono_ms() + (wait_ms > 0 ? wait_ms : HA_WAIT_SYNC_MS);
	PGconn *t;

	while (!(t = ha_connect(url, err, errlen)) && time_mono_ms() < until)
		usleep(200 * 1000);
	return t;
}

/*
 * Streaming: the source sees it streaming, and it takes connections
 * (consistent). WAL the source has recycled since the fork comes from the
 * archive (its restore_command), so copy rounds (tick) run while waiting.
 */
static int rs_wait_stream(struct rs *s)
{
	static const char *const app[] = {HA_RESEED_APP};
	int wait_ms = s->o->wait_ms > 0 ? s->o->wait_ms : HA_WAIT_SYNC_MS;
	int64_t until = time_mono_ms() + wait_ms;
	char v[8] = "", lag[32], cerr[256];
	PGconn *t = NULL;
	int rc;

	while (!t) {
		if (time_mono_ms() > until)
			return ha_fail(
			    s->err, s->errlen, HA_ETIMEOUT,
			    "%s is not streaming from the source and consistent within %d s "
			    "(its log: %s/log)",
			    s->o->url, wait_ms / 1000, s->o->data_dir);
		if (s->o->tick)
			s->o->tick(s->o->tick_arg);
		rc = ha_value(s->src, "pg_stat_replication",
		              "SELECT coalesce(bool_or(state = 'streaming'), false) FROM "
		              "pg_stat_replication WHERE application_name = $1",
		              1, app, v, sizeof v, s->err, s->errlen);
		if (rc != HA_OK)
			return rc;
		if (v[0] == 't')
			t = ha_connect(s->o->url, cerr, sizeof cerr); /* refused until consistent */
		if (!t)
			usleep(200 * 1000);
	}
	PQfinish(t);
	rc = ha_value(s->src, "lag",
	              "SELECT coalesce(max(pg_current_wal_lsn() - replay_lsn), 0)::bigint "
	              "FROM pg_stat_replication WHERE application_name = $1",
	              1, app, lag, sizeof lag, s->err, s->errlen);
	if (rc == HA_OK) {
		json_object_set_new(s->res, "lag_bytes", json_integer(atoll(lag)));
		ha_say(s->log, "streaming from the source, %s bytes behind", lag);
	}
	return rc;
}

/*
 * Log shipping, before the start: a commit and a segment switch on the
 * source, so that everything the instance needs to become consistent (up to
 * the source's position at the re-seed) is archived now, not at the next
 * archive_timeout. The position after the commit goes to s->lsn.
 */
static int rs_switch(struct rs *s)
{
	int rc = ha_exec(s->src, "commit", "SELECT pg_current_xact_id()", s->err, s->errlen);

	if (rc == HA_OK)
		rc = ha_value(s->src, "pg_current_wal_insert_lsn",
		              "SELECT pg_current_wal_insert_lsn()::text", 0, NULL, s->lsn,
		              sizeof s->lsn, s->err, s->errlen);
	if (rc == HA_OK)
		rc = ha_exec(s->src, "pg_switch_wal", "SELECT pg_switch_wal()", s->err, s->errlen);
	if (rc == HA_OK) {
		json_object_set_new(s->res, "lsn", json_string(s->lsn));
		ha_say(s->log, "segment switched on the source at %s", s->lsn);
	}
	return rc;
}

/*
 * Log shipping, after a start that does not wait (the instance accepts
 * connections only once consistent, which needs the shipped log): copy
 * rounds (tick) until it answers and has replayed past s->lsn.
 */
static int rs_wait_logship(struct rs *s)
{
	const char *params[] = {s->lsn};
	int wait_ms = s->o->wait_ms > 0 ? s->o->wait_ms : HA_WAIT_SYNC_MS;
	int64_t until = time_mono_ms() + wait_ms;
	char v[8] = "", cerr[256];

	ha_say(s->log, "waiting until it is shipped and restored");
	while (v[0] != 't') {
		PGconn *t;

		if (time_mono_ms() > until)
			return ha_fail(
			    s->err, s->errlen, HA_ETIMEOUT,
			    "%s did not restore the source's log up to %s within %d s (is "
			    "the share written and the copy destination readable? pchatctl "
			    "logship status; its log: %s/log)",
			    s->o->url, s->lsn, wait_ms / 1000, s->o->data_dir);
		if (s->o->tick)
			s->o->tick(s->o->tick_arg);
		t = ha_connect(s->o->url, cerr, sizeof cerr); /* refused until consistent */
		if (t &&
		    ha_value(t, "replay",
		             "SELECT pg_is_in_recovery() AND coalesce(pg_last_wal_replay_lsn() >= "
		             "$1::pg_lsn, false)",
		             1, params, v, sizeof v, cerr, sizeof cerr) != HA_OK)
			v[0] = '\0';
		PQfinish(t);
		if (v[0] != 't')
			usleep(200 * 1000);
	}
	ha_say(s->log, "it restored the source's log up to %s", s->lsn);
	return HA_OK;
}

int ha_reseed(const struct ha_reseed_opts *o, const struct ha_log *log, json_t **out, char *err,
              size_t errlen)
{
	struct rs s = {.o = o, .log = log, .err = err, .errlen = errlen};
	char version[1100], parent[1100];
	int rc;

	*out = NULL;
	rc = ha_url_hostport(o->url, s.host, sizeof s.host, &s.port, err, errlen);
	if (rc != HA_OK)
		return rc;
	s.src = ha_connect(o->source_url, err, errlen);
	if (!s.src)
		return HA_EDB;
	s.res = json_pack("{s:s, s:n, s:s}", "method", "", "moved_aside", "follow",
	                  o->follow == HA_FOLLOW_STREAM ? "streaming" : "log shipping");
	str_copy(parent, o->data_dir, sizeof parent);
	s.local = access(o->data_dir, F_OK) == 0 || access(dirname(parent), F_OK) == 0;
	rc = rs_check(&s);
	if (rc == HA_OK && s.elsewhere) {
		if (o->follow == HA_FOLLOW_LOGSHIP)
			rc = rs_switch(&s);
		if (rc == HA_OK)
			rc = o->follow == HA_FOLLOW_STREAM ? rs_wait_stream(&s)
			                                   : rs_wait_logship(&s);
		goto out;
	}
	if (rc == HA_OK && ha_pg_running(o->bindir, o->data_dir)) {
		ha_say(log, "stopping the instance on %s (pg_ctl stop -m fast)", o->data_dir);
		rc = ha_pg_stop(o->bindir, o->data_dir, err, errlen);
	}
	snprintf(version, sizeof version, "%s/PG_VERSION", o->data_dir);
	if (rc == HA_OK && o->rewind_restore && o->tick)
		o->tick(o->tick_arg); /* what the archive has, where pg_rewind's fetch reads */
	if (rc == HA_OK && (o->basebackup || access(version, F_OK) != 0 || rs_rewind(&s) != HA_OK))
		rc = rs_basebackup(&s);
	if (rc == HA_OK)
		rc = rs_configure(&s);
	if (rc == HA_OK && o->follow == HA_FOLLOW_LOGSHIP)
		rc = rs_switch(&s);
	if (rc == HA_OK) {
		ha_say(log, "starting it as a standby on %s:%d", s.host, s.port);
		rc = ha_pg_start(o->bindir, o->data_dir, s.host, s.port, false, err,
		                 errlen); /* consistent only once the WAL came */
	}
	if (rc == HA_OK)
		rc = o->follow == HA_FOLLOW_STREAM ? rs_wait_stream(&s) : rs_wait_logship(&s);
out:
	PQfinish(s.src);
	if (rc == HA_OK)
		*out = s.res;
	else
		json_decref(s.res);
	return rc;
}

/* --- freeze ----------------------------------------------------------------------- */

static int thaw(PGconn *c, const struct ha_log *log, json_t **out, char *err, size_t errlen)
{
	int rc = ha_exec(c, "ALTER SYSTEM", "ALTER SYSTEM RESET default_transaction_read_only", err,
	                 errlen);

	if (rc == HA_OK)
		rc = ha_exec(c, "pg_reload_conf", "SELECT pg_reload_conf()", err, errlen);
	if (rc == HA_OK) {
		ha_say(log, "default_transaction_read_only reset: writes are taken again");
		*out = json_pack("{s:b}", "thawed", true);
	}
	return rc;
}

int ha_freeze(const char *url, const char *standby_url, bool thawing, int wait_ms,
              const struct ha_log *log, json_t **out, char *err, size_t errlen)
{
	static const char *const app[] = {HA_RESEED_APP};
	PGconn *c = ha_connect(url, err, errlen), *t = NULL;
	char ended[16], lsn[32], replay[32];
	const char *params[] = {lsn};
	int rc, rec;

	*out = NULL;
	if (!c)
		return HA_EDB;
	rec = ha_in_recovery(c, err, errlen);
	rc = rec < 0 ? rec : HA_OK;
	if (rc == HA_OK && rec)
		rc = ha_fail(err, errlen, HA_EREFUSED,
		             "%s is in recovery: only a primary is frozen", url);
	if (rc == HA_OK && thawing) {
		rc = thaw(c, log, out, err, errlen);
		goto out;
	}
	if (rc == HA_OK)
		rc = wait_true(c,
		               "SELECT coalesce(bool_or(state = 'streaming'), false) FROM "
		               "pg_stat_replication WHERE application_name = $1",
		               1, app, 2000, "a re-seeded standby streaming", err, errlen);
	if (rc == HA_ETIMEOUT)
		rc = ha_fail(err, errlen, HA_EREFUSED,
		             "no re-seeded standby (%s) streams from %s: freezing would only stop "
		             "the service (pchatctl db reseed first)",
		             HA_RESEED_APP, url);
	if (rc == HA_OK && !(t = connect_standby(standby_url, wait_ms, err, errlen)))
		rc = HA_EDB;
	if (rc == HA_OK)
		rc = ha_exec(c, "ALTER SYSTEM",
		             "ALTER SYSTEM SET default_transaction_read_only = on", err, errlen);
	if (rc == HA_OK)
		rc = ha_exec(c, "pg_reload_conf", "SELECT pg_reload_conf()", err, errlen);
	if (rc == HA_OK) /* a session in the middle of a write must not commit after this */
		rc = ha_value(c, "pg_terminate_backend",
		              "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM "
		              "pg_stat_activity WHERE datname = current_database() AND pid <> "
		              "pg_backend_pid() AND backend_type = 'client backend'",
		              0, NULL, ended, sizeof ended, err, errlen);
	/* a checkpoint record after the last write: the standby past it has everything */
	if (rc == HA_OK)
		rc = ha_exec(c, "CHECKPOINT", "CHECKPOINT", err, errlen);
	if (rc == HA_OK)
		rc = ha_value(c, "pg_control_checkpoint",
		              "SELECT checkpoint_lsn::text FROM pg_control_checkpoint()", 0, NULL,
		              lsn, sizeof lsn, err, errlen);
	if (rc != HA_OK)
		goto out;
	ha_say(log,
	       "writes stopped (read-only, %s sessions ended), checkpoint at %s; waiting for "
	       "the standby",
	       ended, lsn);
	rc = wait_true(t, "SELECT coalesce(pg_last_wal_replay_lsn() > $1::pg_lsn, false)", 1,
	               params, wait_ms, "the re-seeded standby replaying everything", err, errlen);
	if (rc == HA_OK)
		rc = ha_value(t, "pg_last_wal_replay_lsn", "SELECT pg_last_wal_replay_lsn()::text",
		              0, NULL, replay, sizeof replay, err, errlen);
	if (rc == HA_OK) {
		ha_say(log, "the standby replayed everything (up to %s)", replay);
		*out = json_pack("{s:s, s:s, s:i}", "checkpoint_lsn", lsn, "replay_lsn", replay,
		                 "sessions_ended", atoi(ended));
		ha_newest_message(c, *out);
	}
out:
	PQfinish(t);
	PQfinish(c);
	return rc;
}
