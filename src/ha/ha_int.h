/*
 * ha_int.h — what the files of src/ha share: libpq helpers (pgadm.c),
 * running PostgreSQL's programs as the owner of a data directory (run.c).
 */
#ifndef PCHAT_HA_HA_INT_H
#define PCHAT_HA_HA_INT_H

#include "ha/ha.h"

#include "common/str.h"

#include <libpq-fe.h>
#include <stdarg.h>

/* --- pgadm.c ---------------------------------------------------------------- */

/* Connect to url as application "pchatctl" (5 s timeout). NULL with err set. */
PGconn *ha_connect(const char *url, char *err, size_t errlen);

/*
 * Run sql with text params; the first column of the first row into out
 * ("" for NULL or no row). HA_OK or HA_EDB with "what: server message" in err.
 */
int ha_value(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
             char *out, size_t outlen, char *err, size_t errlen);

/* Run sql (no result wanted). HA_OK or HA_EDB. */
int ha_exec(PGconn *c, const char *what, const char *sql, char *err, size_t errlen);

/* Run a query returning rows; NULL with err set. The caller PQclear()s. */
PGresult *ha_rows(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
                  char *err, size_t errlen);

/* Whether the server is in recovery: 1, 0, or HA_EDB. */
int ha_in_recovery(PGconn *c, char *err, size_t errlen);

/* "host=H port=P user=U dbname=D" of the server c is connected to. */
void ha_conn_kv(PGconn *c, char *out, size_t outlen);

/* "postgresql://U@H:P/D" of the server c is connected to (kv form for a socket). */
void ha_conn_url(PGconn *c, char *out, size_t outlen);

/* Whether url names several hosts (a multi-host conninfo). */
bool ha_url_multi(const char *url);

/* Host and port of url (PQconninfoParse). HA_OK or HA_EINVALID. */
int ha_url_hostport(const char *url, char *host, size_t hostlen, int *port, char *err,
                    size_t errlen);

/* Wait until the primary c shows application pchat_mirror with sync_state 'sync'. */
int ha_wait_sync(PGconn *c, int wait_ms, char *sync_state, size_t sslen, char *err, size_t errlen);

/* Wait for the mirror: 'sync' (sync true) or only streaming (a standby's cascading mirror). */
int ha_wait_mirror(PGconn *c, bool sync, int wait_ms, char *sync_state, size_t sslen, char *err,
                   size_t errlen);

/* Rename a non-empty dir to DIR.old-EPOCH (never deleted); aside gets the name or "". */
int ha_move_aside(const char *dir, char *aside, size_t asidelen, char *err, size_t errlen);

/* Create slot pchat_mirror when missing; *created tells. HA_EREFUSED when it is active. */
int ha_slot_ensure(PGconn *c, bool *created, char *err, size_t errlen);

/* ALTER SYSTEM SET synchronous_standby_names = names; pg_reload_conf(). */
int ha_set_sync_names(PGconn *c, const char *names, char *err, size_t errlen);

/* The newest message of the chat database c into out: max_id, msgid, time (or 0/null). */
void ha_newest_message(PGconn *c, json_t *out);

/* Print one progress line through log (printf-like). */
void ha_say(const struct ha_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set err to the formatted message and return code (common/str.h). */
#define ha_fail str_errf

/* --- run.c ------------------------------------------------------------------ */

/*
 * Run bindir/prog with args (NULL-terminated) as the owner of path (when
 * we are root: runuser -u OWNER; PostgreSQL refuses root). Output
 * (stdout and stderr) into out. HA_OK, or HA_ESYS with the exit status
 * and the output's tail in err.
 */
int ha_run(const char *bindir, const char *owner_of, const char *prog, const char *const *args,
           char *out, size_t outlen, char *err, size_t errlen);

/* Whether dir is missing or an empty directory. */
bool ha_dir_empty(const char *dir);

/* Write data to path (mode 0600) owned by the owner of owner_of. HA_OK or HA_ESYS. */
int ha_write_owned(const char *path, const char *owner_of, const char *data, size_t len, char *err,
                   size_t errlen);

/*
 * In datadir/postgresql.auto.conf, drop the lines setting any of keys and
 * append text (whole lines). HA_OK or HA_ESYS.
 */
int ha_auto_conf(const char *datadir, const char *const *keys, const char *text, char *err,
                 size_t errlen);

/* "Latest checkpoint location" and "Database cluster state" of pg_controldata. */
int ha_controldata(const char *bindir, const char *datadir, char *lsn, size_t lsnlen, char *state,
                   size_t statelen, char *err, size_t errlen);

/*
 * pg_ctl start of datadir on host:port (socket in its parent, log
 * datadir/log), waiting (60 s) until it accepts connections, or not (a
 * log-shipping standby is consistent only once the shipped log came).
 */
int ha_pg_start(const char *bindir, const char *datadir, const char *host, int port, bool wait,
                char *err, size_t errlen);

/* Whether a postmaster runs on datadir (pg_ctl status). */
bool ha_pg_running(const char *bindir, const char *datadir);

/* pg_ctl stop -m fast of datadir, waiting. */
int ha_pg_stop(const char *bindir, const char *datadir, char *err, size_t errlen);

#endif
