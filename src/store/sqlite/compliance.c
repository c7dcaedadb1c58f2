/*
 * compliance.c — the SQLite compliance queue, first half: the outbox in the
 * chat database, the settings table, the compliance database file (opening,
 * its schema, its statement cache and transactions) and the move from one
 * to the other. Claims, fetch, purge and status: comp_claims.c.
 *
 * Two files, two handles: sq_conn.db (chat) and sq_conn.cdb (compliance,
 * DIR/NAME-compliance.db, opened on a connection's first compliance
 * operation). The compliance file is never ATTACHed to the chat handle nor
 * the reverse: BEGIN IMMEDIATE locks every attached database, and the chat
 * writer must never wait for an adapter. Rows are copied in C between the
 * two handles (sqlite3_bind_value of the outbox row's columns).
 *
 * The move (store.h): in one compliance transaction, read the mark
 * (state.moved_upto), copy the outbox rows above it, raise it, commit
 * (synchronous=FULL: durable); then delete the outbox rows at or below the
 * mark on the chat handle. A crash in between leaves rows at or below the
 * mark in the outbox: the next move deletes them without copying them, so
 * an event is in the compliance file once, even if it was exported and
 * purged meanwhile. Ids above the mark are always new: the outbox id is
 * AUTOINCREMENT and its rows commit in id order (one writer at a time).
 *
 * It does not decide what is captured nor validate events (store_comp.c).
 */
#include "store/sqlite/sqlite_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQC_BUSY_TIMEOUT_MS 5000 /* like the chat handle */
#define SQC_MAINTAIN_ROWS   4096 /* rows moved per writer upkeep step */
#define SQC_SETTING_ENABLED "compliance.enabled"
#define SQC_STOP_ENV        "PCHAT_TEST_COMP_MOVE_STOP" /* test hook: no outbox delete */

/* --- the compliance database handle ---------------------------------------- */

/* DIR/NAME.db -> DIR/NAME-compliance.db; any other name gets the suffix appended. */
static void comp_path(const char *path, char *out, size_t len)
{
	size_t n = strlen(path);

	if (n >= 3 && strcmp(path + n - 3, ".db") == 0)
		snprintf(out, len, "%.*s-compliance.db", (int)(n - 3), path);
	else
		snprintf(out, len, "%s-compliance.db", path);
}

/* WAL and synchronous=FULL, checked (a commit that returned is on disk). */
static int comp_pragmas(struct sq_conn *sc, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = STORE_EIO;

	if (sqlite3_exec(sc->cdb, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", sc->cpath, sqlite3_errmsg(sc->cdb));
		return STORE_EIO;
	}
	if (sqlite3_prepare_v2(sc->cdb, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    str_ieq((const char *)sqlite3_column_text(st, 0), "wal"))
		rc = 0;
	else
		snprintf(err, errlen, "database %s: cannot use WAL journal mode", sc->cpath);
	sqlite3_finalize(st);
	return rc;
}

/* Bring the compliance schema to sqc_n_migrations, in one transaction. */
static int comp_migrate(struct sq_conn *sc, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char sql[64];
	int v = -1, rc = STORE_EIO;

	if (sqlite3_exec(sc->cdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: cannot lock for migration", sc->cpath);
		return STORE_EIO;
	}
	if (sqlite3_prepare_v2(sc->cdb, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v < 0 || v > sqc_n_migrations) {
		snprintf(err, errlen,
		         v < 0 ? "database %s: cannot read the schema version"
		               : "database %s has a compliance schema newer than this pchat's",
		         sc->cpath);
		rc = v < 0 ? STORE_EIO : STORE_EVERSION;
		goto out_rollback;
	}
	for (int i = v; i < sqc_n_migrations; i++) {
		if (sqlite3_exec(sc->cdb, sqc_migrations[i], NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "database %s: migration to version %d failed: %s",
			         sc->cpath, i + 1, sqlite3_errmsg(sc->cdb));
			goto out_rollback;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", sqc_n_migrations);
	if (sqlite3_exec(sc->cdb, sql, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(sc->cdb, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "database %s: cannot commit the migration", sc->cpath);
out_rollback:
	sqlite3_exec(sc->cdb, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int sqc_open(struct sq_conn *sc)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	char err[600] = "";
	int rc = STORE_EIO;

	if (sc->cdb)
		return 0;
	comp_path(sc->path, sc->cpath, sizeof(sc->cpath));
	flags |= sc->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (!sc->readonly && (rc = sq_prepare_file(sc->cpath, true, err, sizeof(err))) != 0)
		goto out_log;
	if (sqlite3_open_v2(sc->cpath, &sc->cdb, flags, NULL) != SQLITE_OK) {
		snprintf(err, sizeof(err), "database %s: %s", sc->cpath,
		         sc->cdb ? sqlite3_errmsg(sc->cdb) : "out of memory");
		rc = STORE_EIO;
		goto out_close;
	}
	sqlite3_extended_result_codes(sc->cdb, 1);
	sqlite3_busy_timeout(sc->cdb, SQC_BUSY_TIMEOUT_MS);
	if (!sc->readonly && ((rc = comp_pragmas(sc, err, sizeof(err))) != 0 ||
	                      (rc = comp_migrate(sc, err, sizeof(err))) != 0))
		goto out_close;
	return 0;

out_close:
	sqc_close(sc);
out_log:
	log_error("store", "%s", err);
	return rc;
}

void sqc_close(struct sq_conn *sc)
{
	for (int i = 0; i < SQC_N_STMTS; i++) {
		sqlite3_finalize(sc->cstmts[i]);
		sc->cstmts[i] = NULL;
	}
	if (sc->cdb && sqlite3_close(sc->cdb) != SQLITE_OK)
		log_error("store", "%s: close: %s", sc->cpath, sqlite3_errmsg(sc->cdb));
	sc->cdb = NULL;
}

sqlite3_stmt *sqc_stmt(struct sq_conn *sc, enum sqc_stmt_id id)
{
	sqlite3_stmt *st = sc->cstmts[id];

	if (st)
		return st;
	if (sqlite3_prepare_v3(sc->cdb, sqc_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		log_error("store", "%s: preparing statement %d: %s", sc->cpath, (int)id,
		          sqlite3_errmsg(sc->cdb));
		sqlite3_finalize(st);
		return NULL;
	}
	sc->cstmts[id] = st;
	return st;
}

int sqc_fail(struct sq_conn *sc, sqlite3_stmt *stmt, int rc, const char *what)
{
	return sq_fail_db(sc->cdb, sc->cpath, stmt, rc, what);
}

int sqc_exec(struct sq_conn *sc, sqlite3_stmt *stmt, const char *what)
{
	int rc;

	if (!stmt)
		return STORE_EIO;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sqc_fail(sc, stmt, rc, what);
	sqlite3_reset(stmt);
	return 0;
}

int sqc_begin(struct sq_conn *sc, bool nowait)
{
	sqlite3_stmt *st = sqc_stmt(sc, SQC_BEGIN_IMMEDIATE);
	int rc;

	if (!st)
		return STORE_EIO;
	if (nowait)
		sqlite3_busy_timeout(sc->cdb, 0);
	rc = sqlite3_step(st);
	if (nowait)
		sqlite3_busy_timeout(sc->cdb, SQC_BUSY_TIMEOUT_MS);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (nowait && (rc & 0xff) == SQLITE_BUSY) {
		sqlite3_reset(st);
		return STORE_EBUSY; /* an adapter holds it: the writer tries again later */
	}
	return sqc_fail(sc, st, rc, "locking the compliance database");
}

int sqc_commit(struct sq_conn *sc)
{
	return sqc_exec(sc, sqc_stmt(sc, SQC_COMMIT), "committing to the compliance database");
}

void sqc_rollback(struct sq_conn *sc)
{
	if (sc->cdb && !sqlite3_get_autocommit(sc->cdb))
		sqc_exec(sc, sqc_stmt(sc, SQC_ROLLBACK), "rolling back the compliance database");
}

int sqc_int64(struct sq_conn *sc, sqlite3_stmt *st, int64_t *v, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = STORE_ENOTFOUND;
	} else {
		return sqc_fail(sc, st, rc, what);
	}
	sqlite3_reset(st);
	return rc;
}

/* --- events ----------------------------------------------------------------- */

/* Column text into a fixed array ("" for NULL). */
static void col_copy(sqlite3_stmt *st, int col, char *dst, size_t len)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	str_copy(dst, s ? s : "", len);
}

void sq_cevent_row(sqlite3_stmt *st, void *item)
{
	struct store_cevent *e = item;

	e->id = sqlite3_column_int64(st, 0);
	e->ts_ms = sqlite3_column_int64(st, 1);
	col_copy(st, 2, e->type, sizeof(e->type));
	col_copy(st, 3, e->actor, sizeof(e->actor));
	e->actor_id = sqlite3_column_int64(st, 4);
	col_copy(st, 5, e->address, sizeof(e->address));
	e->room_id = sqlite3_column_int64(st, 6);
	col_copy(st, 7, e->room, sizeof(e->room));
	col_copy(st, 8, e->category, sizeof(e->category));
	e->logged = sqlite3_column_int(st, 9) != 0;
	col_copy(st, 10, e->peer, sizeof(e->peer));
	col_copy(st, 11, e->msgid, sizeof(e->msgid));
	e->content = sq_col_dup(st, 12, false);
	e->detail = sq_col_dup(st, 13, true);
}

/* One cached INSERT in the caller's transaction: it runs once per chat message. */
int sq_cevent_add(struct store_conn *c, struct store_cevent *e)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_CEVENT_ADD);
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, e->ts_ms);
	sq_bind_text(st, 2, e->type);
	sq_bind_text(st, 3, e->actor);
	sqlite3_bind_int64(st, 4, e->actor_id);
	sq_bind_text(st, 5, e->address);
	sqlite3_bind_int64(st, 6, e->room_id);
	sq_bind_text(st, 7, e->room);
	sq_bind_text(st, 8, e->category);
	sqlite3_bind_int(st, 9, e->logged);
	sq_bind_text(st, 10, e->peer);
	sq_bind_text(st, 11, e->msgid);
	sq_bind_text(st, 12, e->content ? e->content : "");
	sq_bind_text(st, 13, e->detail);
	rc = sq_exec_stmt(sc, st, "adding a compliance event");
	sqlite3_clear_bindings(st); /* no pointer into e kept */
	if (rc == 0)
		e->id = sqlite3_last_insert_rowid(sc->db);
	return rc;
}

/* --- settings --------------------------------------------------------------- */

int sq_comp_enabled(struct store_conn *c, bool *on)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_SETTING_GET);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, SQC_SETTING_ENABLED);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		*on = v && strcmp(v, "1") == 0;
	} else if (rc != SQLITE_DONE) {
		return sq_fail(sc, st, rc, "reading a setting");
	}
	sqlite3_reset(st);
	return 0;
}

int sq_comp_set_enabled(struct store_conn *c, bool on)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_SETTING_SET);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, SQC_SETTING_ENABLED);
	sq_bind_text(st, 2, on ? "1" : "0");
	return sq_exec_stmt(sc, st, "writing a setting");
}

/* --- the move ---------------------------------------------------------------- */

/* Whether the outbox has any row (committed, seen from the chat handle). */
static int outbox_any(struct sq_conn *sc, bool *any)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_OUTBOX_ANY);
	int rc;

	if (!st)
		return STORE_EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(sc, st, rc, "reading the compliance outbox");
	*any = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return 0;
}

/*
 * Copy up to limit outbox rows above mark into events (the compliance
 * transaction is open); *n of them, the last one's id in *top.
 */
static int copy_rows(struct sq_conn *sc, int64_t mark, int limit, int64_t *n, int64_t *top)
{
	sqlite3_stmt *rd = sq_stmt(sc, SQ_OUTBOX_READ);
	sqlite3_stmt *ins = sqc_stmt(sc, SQC_EVENT_INSERT);
	int rc;

	if (!rd || !ins)
		return STORE_EIO;
	sqlite3_bind_int64(rd, 1, mark);
	sqlite3_bind_int(rd, 2, limit);
	while ((rc = sqlite3_step(rd)) == SQLITE_ROW) {
		for (int i = 0; i < SQ_CEVENT_N_COLS; i++)
			sqlite3_bind_value(ins, i + 1, sqlite3_column_value(rd, i)); /* copies */
		if ((rc = sqc_exec(sc, ins, "moving a compliance event")) != 0) {
			sqlite3_reset(rd);
			return rc;
		}
		*top = sqlite3_column_int64(rd, 0);
		(*n)++;
	}
	sqlite3_clear_bindings(ins);
	if (rc != SQLITE_DONE)
		return sq_fail(sc, rd, rc, "reading the compliance outbox");
	sqlite3_reset(rd);
	return 0;
}

/*
 * Delete the outbox rows at or below mark. No fsync of its own: lost in a
 * crash, the rows are at or below the durable mark and deleted next time.
 */
static int outbox_delete(struct sq_conn *sc, int64_t mark)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_OUTBOX_DELETE);
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_exec(sc->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	sqlite3_bind_int64(st, 1, mark);
	rc = sq_exec_stmt(sc, st, "emptying the compliance outbox");
	sqlite3_exec(sc->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	return rc;
}

int sqc_move(struct sq_conn *sc, int limit, bool nowait, int64_t *n)
{
	int64_t mark = 0, top = 0;
	bool any = false;
	int rc;

	*n = 0;
	if ((rc = outbox_any(sc, &any)) != 0 || !any)
		return rc;
	if ((rc = sqc_open(sc)) != 0 || (rc = sqc_begin(sc, nowait)) != 0)
		return rc;
	if ((rc = sqc_int64(sc, sqc_stmt(sc, SQC_MARK), &mark, "reading the move mark")) != 0 ||
	    (rc = copy_rows(sc, mark, limit, n, &top)) != 0)
		goto out_rollback;
	if (top > mark) {
		sqlite3_stmt *set = sqc_stmt(sc, SQC_MARK_SET);

		if (set)
			sqlite3_bind_int64(set, 1, top);
		if ((rc = sqc_exec(sc, set, "raising the move mark")) != 0)
			goto out_rollback;
		mark = top;
	}
	if ((rc = sqc_commit(sc)) != 0)
		goto out_rollback;
	if (getenv(SQC_STOP_ENV))
		return 0; /* test hook: a crash between the two commits */
	return outbox_delete(sc, mark);

out_rollback:
	sqc_rollback(sc);
	*n = 0;
	return rc == STORE_ENOTFOUND ? STORE_EIO : rc;
}

int sq_comp_move(struct store_conn *c, int limit, int64_t *n)
{
	struct sq_conn *sc = sq_of(c);

	*n = 0;
	if (sc->readonly || !sqlite3_get_autocommit(sc->db))
		return STORE_EINVAL; /* a reader, or inside store_begin */
	return sqc_move(sc, limit, false, n);
}

int sq_maintain_all(struct store_conn *c, int budget, bool *more)
{
	struct sq_conn *sc = sq_of(c);
	int64_t n = 0;
	int rc = sq_maintain(c, budget, more);

	if (rc != 0 || sc->readonly || !sqlite3_get_autocommit(sc->db))
		return rc;
	/* never wait for an adapter holding the compliance file: next time */
	if (sqc_move(sc, SQC_MAINTAIN_ROWS, true, &n) == 0 && n == SQC_MAINTAIN_ROWS)
		*more = true;
	return 0;
}
