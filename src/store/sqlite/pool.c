/*
 * pool.c — the pool section of store.h in SQLite: the control row
 * (pool_state, one row) and the heartbeat rows (servers).
 *
 * A SQLite database serves one server, but the rows exist here too so that
 * pchatctl pool works alike on both backends and a database moved to
 * PostgreSQL (pchatctl migrate) keeps its state. The statements are in
 * the connection's cache like every other (sql.c).
 *
 * Deliberately not here: any decision about servers or states (src/pool/)
 * and argument checks (store_pool.c).
 */
#include "store/sqlite/sqlite_int.h"

#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

int sq_pool_get(struct store_conn *c, struct store_pool_state *out)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_POOL_GET);
	int rc;

	if (!st)
		return STORE_EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(sc, st, rc, "reading the pool state");
	if (rc == SQLITE_DONE) {
		str_copy(out->state, "normal", sizeof(out->state));
		out->active = xstrdup("");
	} else {
		out->generation = sqlite3_column_int64(st, 0);
		str_copy(out->state, (const char *)sqlite3_column_text(st, 1), sizeof(out->state));
		out->active = sq_col_dup(st, 2, false);
		out->fenced = sqlite3_column_int(st, 3) != 0;
		out->fenced_generation = sqlite3_column_int64(st, 4);
		out->changed_ms = sqlite3_column_int64(st, 5);
		str_copy(out->changed_by, (const char *)sqlite3_column_text(st, 6),
		         sizeof(out->changed_by));
	}
	sqlite3_reset(st);
	return 0;
}

int sq_pool_set(struct store_conn *c, const struct store_pool_state *p)
{
	struct sq_conn *sc = sq_of(c);
	/* one statement: the generation check and the write cannot be split */
	sqlite3_stmt *st = sq_stmt(sc, SQ_POOL_SET);
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
	rc = sq_exec_stmt(sc, st, "writing the pool state");
	if (rc == 0 && sqlite3_changes(sc->db) != 1)
		rc = STORE_EBUSY; /* a change with a higher generation got there first */
	return rc;
}

/* SQLite has one server: the row is all there is to fence. */
int sq_pool_fence(struct store_conn *c, int64_t generation, const char *by)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_POOL_FENCE);
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, generation);
	sqlite3_bind_int64(st, 2, time_now_ms());
	sq_bind_text(st, 3, by);
	rc = sq_exec_stmt(sc, st, "fencing the database");
	if (rc == 0 && sqlite3_changes(sc->db) != 1)
		rc = STORE_EBUSY; /* its own generation is as new */
	return rc;
}

int sq_server_beat(struct store_conn *c, const struct store_server *s)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_SERVER_BEAT);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, s->name);
	sqlite3_bind_int64(st, 2, s->started_ms);
	sqlite3_bind_int64(st, 3, s->seen_ms);
	sqlite3_bind_int(st, 4, s->clients);
	sqlite3_bind_int(st, 5, s->active ? 1 : 0);
	sqlite3_bind_int64(st, 6, s->generation);
	sq_bind_text(st, 7, s->database);
	return sq_exec_stmt(sc, st, "writing a heartbeat");
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

/* A server row owns nothing. */
static void server_free(void *item)
{
	(void)item;
}

int sq_server_list(struct store_conn *c, struct store_server **out, size_t *n)
{
	return sq_list(sq_of(c), SQ_SERVER_LIST, sizeof(**out), server_row, server_free,
	               (void **)out, n, "listing servers");
}

int sq_server_forget(struct store_conn *c, const char *name)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_SERVER_FORGET);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	return sq_exec_one(sc, st, "forgetting a server");
}
