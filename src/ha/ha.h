/*
 * ha.h — administering the PostgreSQL instances of a pool (issue 6, SPEC
 * §6 and the runbook of §9): sessions (who, kill), promotion of a standby
 * (recover), the synchronous mirror (install, switchover, mirror lost,
 * status), and the atomic rewrite of one section of the topology file.
 *
 * Each operation connects with libpq as "pchatctl", checks its
 * preconditions before it acts, reports progress through struct ha_log and
 * its result as a JSON object the caller prints (text or --json).
 *
 * Deliberately not here: the chat data (store.h), reading the topology
 * (pool/topology.h: callers pass URLs, data directories and modes), the
 * pool state and the fence (pool/), and log shipping (logship).
 */
#ifndef PCHAT_HA_HA_H
#define PCHAT_HA_HA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors of every ha_* function returning int. */
enum ha_error {
	HA_OK = 0,
	HA_EDB = -1,      /* a database is unreachable or a statement failed */
	HA_EREFUSED = -2, /* a precondition does not hold (message says which) */
	HA_ESYS = -3,     /* a file, directory or program failed */
	HA_ETIMEOUT = -4, /* the awaited state did not come in time */
	HA_EINVALID = -5, /* a bad argument (URL, key, value) */
};

#define HA_ERR_MAX      1024           /* size of the err buffers callers pass */
#define HA_SLOT         "pchat_mirror" /* replication slot and application_name of a mirror */
#define HA_DEFAULT_BIN  "/usr/lib/postgresql/15/bin"
#define HA_WAIT_SYNC_MS 30000 /* how long install-mirror and switchover wait for sync */

/* Where progress lines go; say NULL = nowhere. */
struct ha_log {
	void (*say)(void *arg, const char *line); /* one line, no newline */
	void *arg;                                /* passed to say */
};

/* --- sessions and promotion (runbook step 4) ------------------------------ */

/*
 * The sessions on url's database (pg_stat_activity of its datname, this
 * one excluded): *out is a new JSON array of {pid, application_name,
 * client_addr, state, since (ISO 8601 backend_start), query_start}.
 * HA_OK or HA_EDB with err set.
 */
int ha_who(const char *url, json_t **out, char *err, size_t errlen);

/*
 * pg_terminate_backend of session pid, or with pid 0 of every session of
 * url's database except this one. *n_killed counts those terminated.
 * HA_OK; HA_EREFUSED when pid is not a session of that database; HA_EDB.
 */
int ha_kill(const char *url, int pid, int *n_killed, char *err, size_t errlen);

/*
 * Promote the standby at url (pg_promote(true, 60)), verify it accepts a
 * write, and report the recovery point: *out = {already_writable,
 * last_replay (ISO or null), max_id, msgid, time}. A database that is not
 * in recovery is left alone (already_writable true). HA_OK, HA_EDB.
 */
int ha_recover(const char *url, const struct ha_log *log, json_t **out, char *err, size_t errlen);

/* --- the mirror --------------------------------------------------------- */

struct ha_mirror_opts {
	const char *url;        /* the database that gets a mirror (superuser) */
	const char *mirror_url; /* where the mirror will listen */
	const char *data_dir;   /* the mirror's PGDATA: missing or empty */
	const char *bindir;     /* PostgreSQL programs */
	bool start;             /* start it with pg_ctl and wait for sync */
	bool port_from_url;     /* record the URL's port in its postgresql.auto.conf */
	int wait_ms;            /* how long to wait for sync (0 = HA_WAIT_SYNC_MS) */
	bool replace;           /* stop an old mirror in data_dir and move it aside */
};

/*
 * Lync's mirror: slot pchat_mirror, pg_basebackup -R as the owner of
 * data_dir's parent, optionally start it, synchronous_standby_names, wait
 * for sync_state 'sync' (a standby's mirror is cascading: wait for
 * streaming; the setting takes effect at its promotion). A mirror running
 * in data_dir and streaming from url is not rebuilt: only the setting and
 * the wait.
 * *out = {slot_created, started, sync_state, already, cascading,
 * moved_aside}. HA_EREFUSED when data_dir is not empty (without replace) or
 * the slot is in use; HA_EDB, HA_ESYS, HA_ETIMEOUT.
 */
int ha_install_mirror(const struct ha_mirror_opts *o, const struct ha_log *log, json_t **out,
                      char *err, size_t errlen);

struct ha_switch_opts {
	const char *url;             /* the primary (a multi-host URL is fine) */
	const char *mirror_url;      /* its mirror (one host) */
	const char *data_dir;        /* the primary's PGDATA, "" = SHOW data_directory */
	const char *mirror_data_dir; /* the mirror's PGDATA, "" = SHOW data_directory */
	const char *bindir;          /* PostgreSQL programs */
	int wait_ms;                 /* how long to wait for each state (0 = HA_WAIT_SYNC_MS) */
};

/* What a switchover leaves behind, for the topology. */
struct ha_switch_result {
	char new_url[1024];        /* the topology's url after it (url itself when multi-host) */
	char new_mirror[1024];     /* the old primary, one host */
	char new_data_dir[1024];   /* the old mirror's PGDATA */
	char new_mirror_dir[1024]; /* the old primary's PGDATA */
	char checkpoint_lsn[32];   /* the old primary's shutdown checkpoint */
	char received_lsn[32];     /* what the mirror had received at promotion */
	bool rewound;              /* pg_rewind had to run */
	char sync_state[16];       /* of the new mirror at the end */
};

/*
 * Planned swap of primary and mirror with zero loss (Invoke-CsDatabase-
 * Failover): checks the mirror is in sync, checkpoint, fast stop of the
 * primary, the mirror has received its shutdown checkpoint, promote, the
 * old primary becomes the mirror (standby.signal, primary_conninfo,
 * primary_slot_name; pg_rewind only if needed), started, slot and
 * synchronous_standby_names on the new primary, wait for sync. When the
 * mirror is behind at the check the old primary is started again as it
 * was. HA_OK; HA_EREFUSED (not in sync), HA_EDB, HA_ESYS, HA_ETIMEOUT.
 */
int ha_switchover(const struct ha_switch_opts *o, const struct ha_log *log,
                  struct ha_switch_result *res, char *err, size_t errlen);

/* --- failback: re-seeding an instance, freezing the primary --------------- */

/* How a re-seeded instance follows the current primary. */
enum ha_follow {
	HA_FOLLOW_STREAM,  /* streaming replication (application_name pchat_reseed) */
	HA_FOLLOW_LOGSHIP, /* log shipping only: restore_command of the caller's conf */
};

#define HA_RESEED_APP "pchat_reseed" /* application_name of a re-seeded standby */

struct ha_reseed_opts {
	const char *source_url; /* the current primary (superuser) */
	const char *url;        /* where the re-seeded instance listens (one host) */
	const char *data_dir;   /* its PGDATA on this host */
	const char *bindir;     /* PostgreSQL programs */
	enum ha_follow follow;  /* streaming or log shipping */
	const char *conf;       /* more postgresql.auto.conf lines (restore_command), or NULL */
	bool basebackup;        /* never try pg_rewind: a fresh copy */
	int wait_ms;            /* how long to wait until it follows (0 = HA_WAIT_SYNC_MS) */
	/*
	 * pg_rewind's restore_command (--restore-target-wal): the instance's own
	 * old WAL from the log-shipping archive when its pg_wal no longer has it;
	 * NULL = its pg_wal only.
	 */
	const char *rewind_restore;
	void (*tick)(void *arg); /* called while waiting for log shipping (a copy round) */
	void *tick_arg;          /* for tick */
};

/*
 * Re-seed the instance at o->url (data directory o->data_dir on this
 * host) as a standby of o->source_url: refused when the source is not a
 * writable primary or when the instance is itself the newest writable
 * primary (generation in pool_state); a running instance is stopped (fast);
 * pg_rewind from the source (wal_log_hints), else the old directory is
 * moved aside to DIR.old-EPOCH (never deleted) and pg_basebackup copies the
 * source; postgresql.auto.conf loses the settings of its former role
 * (primary_conninfo, restore_command, synchronous_standby_names,
 * default_transaction_read_only, ...) and gets the new one's, standby.signal,
 * started on url's host and port, and awaited: streaming from the source,
 * or (log shipping) having restored the source's WAL up to a segment
 * switched for the purpose. When neither data_dir nor its parent is on
 * this host, a standby already there is only awaited (method "elsewhere":
 * re-seeded on its own host) and anything else is refused. *out = {method:
 * "rewind"|"basebackup"|"elsewhere", moved_aside, follow, lsn, lag_bytes}.
 * HA_OK, HA_EREFUSED, HA_EDB, HA_ESYS, HA_ETIMEOUT.
 */
int ha_reseed(const struct ha_reseed_opts *o, const struct ha_log *log, json_t **out, char *err,
              size_t errlen);

/*
 * Stop the writes of the primary at url for a failback (thaw false):
 * default_transaction_read_only = on (ALTER SYSTEM, reload), its client
 * sessions ended so that none keeps writing (pchatd reconnects read-only;
 * a message that cannot be stored gets FAIL, none is lost), a CHECKPOINT,
 * then wait until the re-seeded standby at standby_url has replayed past
 * that checkpoint record. Refused when no re-seeded standby (HA_RESEED_APP)
 * streams from it. *out = {checkpoint_lsn, replay_lsn, sessions_ended,
 * max_id, msgid, time}.
 * With thaw: the setting is reset (an abandoned failback), *out = {thawed}.
 */
int ha_freeze(const char *url, const char *standby_url, bool thaw, int wait_ms,
              const struct ha_log *log, json_t **out, char *err, size_t errlen);

/* --- mirror lost and status ---------------------------------------------- */

/* The mirror as the primary sees it. */
struct ha_mirror_state {
	bool reachable;       /* the primary answered */
	bool in_recovery;     /* it is a standby itself */
	bool connected;       /* pg_stat_replication has application_name pchat_mirror */
	char state[32];       /* its walsender state (streaming, catchup), "" = none */
	char sync_state[16];  /* sync, async, potential, "" = none */
	int64_t lag_bytes;    /* current WAL LSN - the mirror's flush LSN, -1 = unknown */
	char sync_names[256]; /* synchronous_standby_names */
};

/* Read the mirror's state from the primary at url. HA_OK or HA_EDB (reachable false). */
int ha_mirror_state(const char *url, struct ha_mirror_state *st, char *err, size_t errlen);

/* What mirror-check decided. */
enum ha_check_action {
	HA_CHECK_OK,         /* mirror in sync, nothing to do */
	HA_CHECK_WAITING,    /* mirror missing for less than the grace period */
	HA_CHECK_BLOCKING,   /* block mode: mirror lost, writes wait */
	HA_CHECK_DEGRADED,   /* degrade mode: set asynchronous now (ALERT) */
	HA_CHECK_STILL_DEGR, /* degrade mode: already asynchronous, mirror still lost */
	HA_CHECK_RESTORED,   /* mirror back in sync: synchronous again */
	HA_CHECK_CATCHING,   /* mirror back but behind: stays asynchronous for now */
};

/* The pure decision of mirror-check (unit-tested). */
enum ha_check_action ha_check_decide(const struct ha_mirror_state *st, bool degrade,
                                     int64_t missing_ms, int64_t after_ms);

/* A word for an action ("ok", "blocking", "degraded", ...). */
const char *ha_check_name(enum ha_check_action a);

/*
 * One round of mirror-check on the primary at url: reads the state, keeps
 * "missing since" in state_file (JSON, rewritten atomically), applies the
 * decision (ALTER SYSTEM synchronous_standby_names, pg_reload_conf), logs an
 * ALERT for a lost mirror and a line when synchronous mode is restored.
 * *out = {action, connected, sync_state, lag_bytes, synchronous_standby_
 * names, missing_s, alert}. HA_OK, HA_EDB, HA_ESYS.
 */
int ha_mirror_check(const char *url, bool degrade, int after_s, const char *state_file,
                    json_t **out, char *err, size_t errlen);

/* The alert recorded in state_file by the last mirror-check, "" = none. */
void ha_state_alert(const char *state_file, char *out, size_t outlen);

/* --- files --------------------------------------------------------------- */

/* One key of a topology section to set ("" value = remove the line). */
struct ha_kv {
	const char *key;   /* key name */
	const char *value; /* new value, "" removes the key */
};

/*
 * Set keys of section ("database primary") in the INI file path: an
 * existing "key = ..." line is replaced in place, a missing key is added
 * after the section's last setting; every other line (comments, other
 * sections) is kept byte for byte. Written atomically (temp file in the
 * same directory with the original's mode and owner, fsync, rename, fsync
 * of the directory). HA_OK; HA_EINVALID (section missing, CR/LF in a
 * value); HA_ESYS.
 */
int ha_topo_set(const char *path, const char *section, const struct ha_kv *kv, size_t n, char *err,
                size_t errlen);

/* [postgresql] bindir of the topology file path, else HA_DEFAULT_BIN. */
void ha_bindir(const char *path, char *out, size_t outlen);

/* Write data to path atomically (temp, fsync, rename, fsync dir). HA_OK or HA_ESYS. */
int ha_write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen);

#endif
