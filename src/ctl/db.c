/*
 * db.c — pchatctl db: check|version, and the table of every db command;
 * the high-availability leaves (who, kill, recover, install-mirror,
 * switchover, mirror-check, status) live in db_ha.c.
 *
 * Deliberately not here: log shipping (logship), and migrations, which
 * store_open runs by itself.
 */
#include "ctl/ctl.h"
#include "ctl/db_ha.h"

#include "store/store.h"

#include <getopt.h>

static int no_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	return ctl_usage(ctx, "unknown option");
}

static int db_check(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	char detail[1024] = "";
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, no_opt, NULL, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_check(ctx->conn, detail, sizeof detail);
	if (ctx->json)
		ctl_json_out(json_pack("{s:b, s:s, s:s}", "ok", rc == STORE_OK, "database",
		                       ctx->cfg.db_url, "detail", rc == STORE_OK ? "ok" : detail));
	else if (rc == STORE_OK)
		printf("%s: ok\n", ctx->cfg.db_url);
	if (rc != STORE_OK)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "%s failed the integrity check: %s (restore it from a backup)",
		                ctx->cfg.db_url, detail[0] ? detail : store_strerror(rc));
	return CTL_EXIT_OK;
}

static int db_version(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, no_opt, NULL, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx); /* refuses a newer schema, migrates an older one */
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctx->json)
		return ctl_json_out(json_pack("{s:i, s:s, s:s}", "schema_version",
		                              STORE_SCHEMA_VERSION, "version", PCHAT_VERSION,
		                              "database", ctx->cfg.db_url));
	printf("schema version %d (pchatctl %s)\n", STORE_SCHEMA_VERSION, PCHAT_VERSION);
	return CTL_EXIT_OK;
}

#define DB_HA_OPTS                                                                                 \
	"    --database primary|backup|URL  the database (primary and backup: from the\n"          \
	"                       topology)\n"                                                       \
	"    --topology FILE    the topology (default: [pool] topology of -c FILE)\n"

const struct ctl_cmd ctl_db_cmds[] = {
    {"check", "check the integrity of the database",
     "\n"
     "DESCRIPTION\n"
     "    Run the backend's integrity check (SQLite: PRAGMA integrity_check and\n"
     "    foreign_key_check). Exit status 0 when it passes, 5 when it does not.\n\n"
     "EXAMPLES\n"
     "    pchatctl db check\n"
     "    pchatctl --json db check\n",
     db_check, NULL},
    {"version", "print the schema version",
     "\n"
     "DESCRIPTION\n"
     "    Open the database (migrating an older one to the current schema, refusing\n"
     "    a newer one with exit status 5) and print its schema version.\n\n"
     "EXAMPLES\n"
     "    pchatctl db version\n",
     db_version, NULL},
    {"who", "list the sessions on a database",
     " [--database primary|backup|URL] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Runbook step 4. The client sessions on the database (pg_stat_activity of\n"
     "    its datname, this one excluded): pid, application_name (\"pchatd SERVER\",\n"
     "    \"pchatd SERVER bus\", \"pchatctl\"), client address, state, since. Without\n"
     "    --database: the database in use.\n\n"
     "OPTIONS\n" DB_HA_OPTS "\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini db who --database backup\n",
     ctl_db_who, NULL},
    {"kill", "end one session, or every session, of a database",
     " PID|--all [--database primary|backup|URL] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Runbook step 4. pg_terminate_backend of session PID, or with --all of\n"
     "    every session of the database except this one; says how many. pchatd\n"
     "    reconnects by itself. Exit status 8 when PID is not a session there.\n\n"
     "OPTIONS\n" DB_HA_OPTS "    --all              every session\n\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini db kill --all --database backup\n",
     ctl_db_kill, NULL},
    {"recover", "promote the backup to a writable primary",
     " [--database backup|primary|URL] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Runbook step 4. The database (default: backup) must be in recovery;\n"
     "    when it is already writable this says so and exits 0. Otherwise\n"
     "    pg_promote(true, 60), a write check, and the recovery point: the last\n"
     "    replayed transaction's time, and the newest message now in it (id,\n"
     "    msgid, time). Next: pchatctl pool state failed-over.\n\n"
     "OPTIONS\n" DB_HA_OPTS "\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini db recover\n",
     ctl_db_recover, NULL},
    {"install-mirror", "build the synchronous mirror of a database",
     " --database primary|backup|URL --mirror URL --data-dir DIR [--start]\n"
     "    [--replace] [--port-from-url] [--timeout SEC] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Lync's database mirror (runbook step 6 for the new primary). Creates the\n"
     "    physical replication slot pchat_mirror, runs pg_basebackup -X stream -S\n"
     "    pchat_mirror -R into DIR as the owner of DIR's parent directory; with\n"
     "    --start starts it (pg_ctl, 127.0.0.1 and the port of --mirror, socket in\n"
     "    DIR's parent, log in DIR), sets synchronous_standby_names =\n"
     "    'pchat_mirror' and waits until it is in sync. Records mirror and\n"
     "    mirror_data_dir in the topology (atomically, every other line kept).\n"
     "    Refused (exit 8) when DIR is not empty (unless --replace) or the slot is\n"
     "    in use. A mirror running in DIR and streaming from the database is not\n"
     "    rebuilt: only the setting and the wait. When the database is a standby\n"
     "    (the backup in normal state) the mirror is a cascading standby of it:\n"
     "    the command waits until it streams; synchronous_standby_names takes\n"
     "    effect when the backup is promoted, so the failover's new primary is\n"
     "    mirrored from its first write.\n\n"
     "OPTIONS\n" DB_HA_OPTS "    --mirror URL       where the mirror listens (one host)\n"
     "    --data-dir DIR     the mirror's PGDATA (missing or empty)\n"
     "    --start            start it and wait for sync (default 30 s, --timeout)\n"
     "    --port-from-url    write the URL's port into its postgresql.auto.conf\n"
     "    --replace          stop an old mirror in DIR and move DIR aside to\n"
     "                       DIR.old-EPOCH (never deleted), then build anew\n\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini db install-mirror --database primary \\\n"
     "        --mirror postgresql://pchat@10.0.0.2:5433/pchat --data-dir /srv/pg/mirror --start\n",
     ctl_db_install_mirror, NULL},
    {"switchover", "swap a primary and its mirror with zero loss",
     " [--database primary|backup] [--timeout SEC] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Lync's Invoke-CsDatabaseFailover: planned, nothing lost. Checks the\n"
     "    mirror is streaming and in sync, CHECKPOINT, stops the primary (pg_ctl\n"
     "    stop -m fast), verifies the mirror received its shutdown checkpoint\n"
     "    (else starts the primary again and stops), promotes the mirror, makes\n"
     "    the old primary its mirror (standby.signal, primary_conninfo, slot;\n"
     "    pg_rewind only if needed), waits for sync, and swaps url/mirror and the\n"
     "    data directories in the topology (a multi-host url is kept). Servers\n"
     "    follow when their url is multi-host with target_session_attrs=read-write.\n\n"
     "OPTIONS\n" DB_HA_OPTS "    --timeout SEC      wait for each state (default 30)\n",
     ctl_db_switchover, NULL},
    {"reseed", "rebuild a database as a standby of the current primary (failback)",
     " --database primary|backup [--log-shipping] [--basebackup] [--data-dir DIR]\n"
     "    [--timeout SEC] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Failback step 1 (--database primary: data center A's database after a\n"
     "    failover) and step 7 (--database backup --log-shipping: data center B's\n"
     "    database after the failback). The source is the topology's other\n"
     "    database; it must be a writable, unfenced primary, and the database\n"
     "    re-seeded must not be the pool's newest writable primary (refused, exit\n"
     "    8). Run it where the database's data directory is (data_dir of its\n"
     "    section, or --data-dir). A running instance is stopped (fast); pg_rewind\n"
     "    copies from the source what differs since the timelines forked (needs\n"
     "    wal_log_hints or checksums); when it cannot, the old directory is moved\n"
     "    aside to DIR.old-EPOCH (never deleted) and pg_basebackup makes a fresh\n"
     "    copy. postgresql.auto.conf loses the settings of its former role\n"
     "    (primary_conninfo, restore_command, synchronous_standby_names,\n"
     "    default_transaction_read_only) and gets the new one's; standby.signal;\n"
     "    started on its URL's host and port (log in DIR/log). Without\n"
     "    --log-shipping it streams from the source (application_name\n"
     "    pchat_reseed) and the command waits until it does; with it, it is a\n"
     "    log-shipping secondary (restore_command = pchatctl logship restore-file;\n"
     "    log shipping is resumed if remove-secondary paused it), and the command\n"
     "    switches a WAL segment on the source and waits until the copy job has\n"
     "    copied it and the standby restored it.\n\n"
     "OPTIONS\n" DB_HA_OPTS
     "    --log-shipping     follow by log shipping only (the backup's role)\n"
     "    --basebackup       skip pg_rewind: always a fresh copy\n"
     "    --data-dir DIR     its PGDATA (default: data_dir of the topology)\n"
     "    --timeout SEC      how long to wait until it follows (default 30)\n\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat-a.ini db reseed --database primary\n"
     "    pchatctl -c pchat-b.ini db reseed --database backup --log-shipping\n",
     ctl_db_reseed, NULL},
    {"freeze", "stop the writes of a primary until its re-seeded standby has everything",
     " --database primary|backup [--thaw] [--timeout SEC] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Failback step 2 (--database backup). Refused (exit 8) unless a standby\n"
     "    re-seeded by pchatctl db reseed streams from it. ALTER SYSTEM SET\n"
     "    default_transaction_read_only = on, reload, every client session ended\n"
     "    (pchatd reconnects; a message sent meanwhile gets FAIL and is delivered\n"
     "    to no one: nothing acknowledged is lost), CHECKPOINT, and waits until\n"
     "    the topology's other database has replayed past that checkpoint. Prints\n"
     "    the checkpoint, the standby's replay position and the newest message.\n"
     "    --thaw undoes it (an abandoned failback).\n\n"
     "OPTIONS\n" DB_HA_OPTS "    --thaw             take writes again\n"
     "    --timeout SEC      how long to wait for the standby (default 30)\n\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat-a.ini db freeze --database backup\n",
     ctl_db_freeze, NULL},
    {"mirror-check", "act on a lost mirror (mirror_lost = block|degrade)",
     " [--database primary|backup] [--watch [--interval SEC]] [--after SEC]\n"
     "    [--state FILE] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    When the mirror has not been connected for more than mirror_lost_after\n"
     "    (default 10 s; --after): block leaves synchronous_standby_names (writes\n"
     "    wait; says so); degrade sets it to '' (asynchronous) and logs an ALERT.\n"
     "    When the mirror is back and caught up, synchronous mode is restored and\n"
     "    logged. The time it went missing is kept in TOPOLOGY.WHICH-mirror.json\n"
     "    (--state), so runs from cron measure it too; --watch runs every\n"
     "    --interval seconds (default 2) until interrupted.\n\n"
     "OPTIONS\n" DB_HA_OPTS,
     ctl_db_mirror_check, NULL},
    {"status", "primary and backup: role, mirror, sync state, alerts",
     " [--topology FILE]\n"
     "DESCRIPTION\n"
     "    For the primary and the backup: reachable, in recovery or writable, the\n"
     "    mirror (connected, sync_state, lag in bytes), synchronous_standby_names,\n"
     "    mirror_lost, and the alerts (mirror lost, writes waiting, degraded).\n\n"
     "EXAMPLES\n"
     "    pchatctl --json db status --topology /etc/pchat/topology.ini\n",
     ctl_db_status, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
