/*
 * pool.c — the pool section of store.h in SQLite: the control row
 * (pool_state, one row) and the heartbeat rows (servers).
 *
 * A SQLite database serves one server, but the rows exist here too so that
 * pchatctl pool works alike on both backends and a database moved to
 * PostgreSQL (pchatctl migrate) keeps its state. Statements are prepared
 * per call rather than cached in sq_conn: a heartbeat a second does not
 * need the cache, and the statement table stays the backend's core.
 *
 * Deliberately not here: any decision about servers or states (src/pool/)
 * and argument checks (store_pool.c).
 */
#include "store/sqlite/sqlite_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Prepare sql on sc; NULL after logging. */
static sqlite3_stmt *prep(struct sq_conn *sc, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(sc->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		sq_fail(sc, NULL, rc, what);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int sq_pool_get(struct store_conn *c, struct store_pool_state *out)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = prep(sc,
	                        "SELECT generation, state, active, fenced, fenced_generation,"
	                        " changed_ms, changed_by FROM pool_state WHERE id = 1",
	                        "reading the pool state");
	int rc;

	if (!st)
		return STORE_EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		str_copy(out->state, "normal", sizeof(out->state));
		out->active = xstrdup("");
		rc = 0;
		goto out_finalize;
	}
	if (rc != SQLITE_ROW) {
		rc = sq_fail(sc, st, rc, "reading the pool state");
		goto out_finalize;
	}
	out->generation = sqlite3_column_int64(st, 0);
	str_copy(out->state, (const char *)sqlite3_column_text(st, 1), sizeof(out->state));
	out->active = sq_col_dup(st, 2, false);
	out->fenced = sqlite3_column_int(st, 3) != 0;
	out->fenced_generation = sqlite3_column_int64(st, 4);
	out->changed_ms = sqlite3_column_int64(st, 5);
	str_copy(out->changed_by, (const char *)sqlite3_column_text(st, 6),
	         sizeof(out->changed_by));
	rc = 0;
out_finalize:
	sqlite3_finalize(st);
	return rc;
}

int sq_pool_set(struct store_conn *c, const struct store_pool_state *p)
{
	struct sq_conn *sc = sq_of(c);
	/* one statement: the generation check and the write cannot be split */
	sqlite3_stmt *st = prep(
	    sc,
	    "INSERT INTO pool_state (id, generation, state, active, fenced, fenced_generation,"
	    " changed_ms, changed_by) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (id) DO UPDATE SET generation = excluded.generation,"
	    " state = excluded.state, active = excluded.active, fenced = excluded.fenced,"
	    " fenced_generation = excluded.fenced_generation, changed_ms = excluded.changed_ms,"
	    " changed_by = excluded.changed_by WHERE pool_state.generation < excluded.generation",
	    "writing the pool state");
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, p->generation);
	sq_bind_text(st, 2, p->state);
	sq_bind_text(st, 3, p->active);
	sqlite3_bind_int(st, 4, p->fenced ? 1 : 0);
	sqlite3_bind_int64(st, 5, p->fenced_generation);
	sqlite3_bind_int64(st, 6, p->changed_ms);
	sq_bind_text(st, 7, p->changed_by);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		rc = sq_fail(sc, st, rc, "writing the pool state");
	else
		rc = sqlite3_changes(sc->db) == 1 ? 0 : STORE_EBUSY;
	sqlite3_finalize(st);
	return rc;
}

int sq_server_beat(struct store_conn *c, const struct store_server *s)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = prep(
	    sc,
	    "INSERT INTO servers (name, started_ms, seen_ms, clients, active, generation, database)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET"
	    " started_ms = excluded.started_ms, seen_ms = excluded.seen_ms,"
	    " clients = excluded.clients, active = excluded.active,"
	    " generation = excluded.generation, database = excluded.database",
	    "writing a heartbeat");
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, s->name);
	sqlite3_bind_int64(st, 2, s->started_ms);
	sqlite3_bind_int64(st, 3, s->seen_ms);
	sqlite3_bind_int(st, 4, s->clients);
	sqlite3_bind_int(st, 5, s->active ? 1 : 0);
	sqlite3_bind_int64(st, 6, s->generation);
	sq_bind_text(st, 7, s->database);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : sq_fail(sc, st, rc, "writing a heartbeat");
	sqlite3_finalize(st);
	return rc;
}

static void server_row(sqlite3_stmt *st, void *item)
{
	struct store_server *s = item;

	str_copy(s->name, (const char *)sqlite3_column_text(st, 0), sizeof(s->name));
	s->started_ms = sqlite3_column_int64(st, 1);
	s->seen_ms = sqlite3_column_int64(st, 2);
	s->clients = sqlite3_column_int(st, 3);
	s->active = sqlite3_column_int(st, 4) != 0;
	s->generation = sqlite3_column_int64(st, 5);
	str_copy(s->database, (const char *)sqlite3_column_text(st, 6), sizeof(s->database));
}

int sq_server_list(struct store_conn *c, struct store_server **out, size_t *n)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = prep(sc,
	                        "SELECT name, started_ms, seen_ms, clients, active, generation,"
	                        " database FROM servers ORDER BY name COLLATE NOCASE",
	                        "listing servers");
	int rc;

	if (!st)
		return STORE_EIO;
	rc = sq_collect(sc, st, sizeof(**out), server_row, (void **)out, n, "listing servers");
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int sq_server_forget(struct store_conn *c, const char *name)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = prep(sc, "DELETE FROM servers WHERE name = ?1", "forgetting a server");
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	rc = sq_exec_one(sc, st, "forgetting a server");
	sqlite3_finalize(st);
	return rc;
}
