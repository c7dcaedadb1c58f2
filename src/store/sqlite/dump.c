/*
 * dump.c — the SQLite backend as the source of a move (store.h "moving a
 * database"): every table of store_dump_defs read in key order, and the
 * check that no other process has the database open.
 *
 * Where the tables live: the chat tables in the chat database under their
 * own names; the compliance queue in the compliance file (events, claims,
 * state — after store_copy moved the outbox); the counters are computed
 * (changes: the newest change id; compliance: the highest id ever handed
 * out, from the outbox's AUTOINCREMENT sequence, the move mark and the
 * queue). Rows are stepped one at a time: memory stays bounded whatever
 * the history's size.
 *
 * It deliberately cannot be a target (no load): a move goes from a single
 * server's SQLite file into a pool's PostgreSQL database.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/log.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * SQLite's unix VFS holds a shared lock on this byte of DB-shm for as long
 * as a connection to DB is open (the "DMS" slot after the 8 WAL locks).
 */
#define SQ_SHM_DMS_BYTE 128

#define DUMP_SQL_MAX 1024

bool sq_in_use(const char *target, int *pid)
{
	char shm[300];
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = SQ_SHM_DMS_BYTE, .l_len = 1};
	bool busy = false;
	size_t len;
	int fd;

	*pid = 0;
	len = str_copy(shm, target, sizeof shm);
	if (len >= sizeof shm || str_appendf(shm, sizeof shm, &len, "-shm") < 0)
		return false;
	/* Only called before this process opens the database: closing fd drops no lock of ours. */
	fd = open(shm, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false; /* no -shm file: nobody has it open in WAL mode */
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		busy = true;
		*pid = (int)fl.l_pid;
	}
	close(fd);
	return busy;
}

/* Append the select expression of column col to sql. */
static void col_expr(char *sql, size_t cap, size_t *len, const struct store_dump_col *col)
{
	if (col->type == STORE_COL_BOOL)
		str_appendf(sql, cap, len, "(\"%s\" <> 0)", col->name);
	else if (col->fold)
		str_appendf(sql, cap, len, "lower(\"%s\")", col->name);
	else
		str_appendf(sql, cap, len, "\"%s\"", col->name);
}

/* "SELECT cols FROM from ORDER BY key" for table d; STORE_EINVAL if it does not fit. */
static int build_select(char *sql, size_t cap, const struct store_dump_def *d, const char *from)
{
	size_t n = str_copy(sql, "SELECT ", cap);
	size_t *len = &n;

	for (int i = 0; i < d->n_cols; i++) {
		if (i > 0)
			str_appendf(sql, cap, len, ", ");
		col_expr(sql, cap, len, &d->cols[i]);
	}
	str_appendf(sql, cap, len, " FROM %s", from);
	for (int i = 0; i < d->n_key; i++) {
		str_appendf(sql, cap, len, i == 0 ? " ORDER BY " : ", ");
		col_expr(sql, cap, len, &d->cols[i]);
		if (d->cols[i].type == STORE_COL_TEXT)
			str_appendf(sql, cap, len, " COLLATE BINARY");
	}
	return n + 1 < cap ? 0 : STORE_EINVAL;
}

/* Step st to its end, handing each row to cb. */
static int step_rows(sqlite3 *db, const char *path, sqlite3_stmt *st,
                     const struct store_dump_def *d, store_row_cb cb, void *arg)
{
	struct store_value row[STORE_DUMP_MAX_COLS];
	int rc, ret = 0;

	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < d->n_cols; i++) {
			row[i] =
			    (struct store_value){.null = sqlite3_column_type(st, i) == SQLITE_NULL};
			if (d->cols[i].type == STORE_COL_TEXT) {
				row[i].s = (const char *)sqlite3_column_text(st, i);
				row[i].len = (size_t)sqlite3_column_bytes(st, i);
			} else {
				row[i].i = sqlite3_column_int64(st, i);
			}
		}
		ret = cb(arg, row);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sq_fail_db(db, path, NULL, rc, "dumping a table");
	return ret;
}

/* One integer from sql on db (0 when NULL). */
static int query_i64(sqlite3 *db, const char *path, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	*v = 0;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		rc = sq_fail_db(db, path, NULL, rc, "reading a counter");
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

/* The two counters, computed (ordered by name: changes, compliance). */
static int dump_counters(struct sq_conn *sc, store_row_cb cb, void *arg)
{
	int64_t changes, seq, queue;
	struct store_value row[2];
	int rc;

	rc = query_i64(sc->db, sc->path, "SELECT coalesce(max(id), 0) FROM changes", &changes);
	if (rc == 0)
		rc = query_i64(sc->db, sc->path,
		               "SELECT coalesce(max(seq), 0) FROM sqlite_sequence"
		               " WHERE name = 'compliance_outbox'",
		               &seq);
	if (rc == 0)
		rc = query_i64(sc->cdb, sc->cpath,
		               "SELECT max(moved_upto, (SELECT coalesce(max(id), 0) FROM events))"
		               " FROM state",
		               &queue);
	if (rc != 0)
		return rc;
	row[0] = (struct store_value){.s = "changes", .len = 7};
	row[1] = (struct store_value){.i = changes};
	if ((rc = cb(arg, row)) != 0)
		return rc;
	row[0] = (struct store_value){.s = "compliance", .len = 10};
	row[1] = (struct store_value){.i = seq > queue ? seq : queue};
	return cb(arg, row);
}

int sq_dump(struct store_conn *c, int table, store_row_cb cb, void *arg)
{
	static const char *const cfrom[] = {
	    [STORE_DUMP_CEVENTS] = "events",
	    [STORE_DUMP_CCLAIMS] = "claims",
	    [STORE_DUMP_CSTATE] = "state",
	};
	struct sq_conn *sc = sq_of(c);
	const struct store_dump_def *d = &store_dump_defs[table];
	bool comp = table == STORE_DUMP_COUNTERS || table >= STORE_DUMP_CEVENTS;
	sqlite3 *db = sc->db;
	const char *path = sc->path;
	char sql[DUMP_SQL_MAX];
	sqlite3_stmt *st = NULL;
	int rc;

	if (comp && (rc = sqc_open(sc)) != 0)
		return rc;
	if (table == STORE_DUMP_COUNTERS)
		return dump_counters(sc, cb, arg);
	if (table >= STORE_DUMP_CEVENTS) {
		db = sc->cdb;
		path = sc->cpath;
	}
	if (build_select(sql, sizeof sql, d, table >= STORE_DUMP_CEVENTS ? cfrom[table] : d->name))
		return STORE_EINVAL;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		rc = sq_fail_db(db, path, NULL, rc, "preparing a dump");
	else
		rc = step_rows(db, path, st, d, cb, arg);
	sqlite3_finalize(st);
	return rc;
}
