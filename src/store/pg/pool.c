/*
 * pool.c — the pool section of store.h in PostgreSQL: the control row
 * (pool_state, one row, replicated with the data so that a standby knows
 * the state) and the heartbeat rows of the servers sharing the database.
 *
 * Every operation is one statement, so it is atomic in autocommit as well
 * as inside the caller's transaction; the compare-and-set on the generation
 * is an upsert whose update only happens for a higher generation.
 *
 * Deliberately not here: deciding anything about servers or states
 * (src/pool/), argument checks (store_pool.c), and fencing (issue 6).
 */
#include "store/pg/pg_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static const struct pg_stmt st_pool_get = {
    "pool_get",
    "SELECT generation, state, active, fenced, fenced_generation, changed_ms, changed_by"
    " FROM pool_state WHERE id = 1",
    0};

static const struct pg_stmt st_pool_set = {
    "pool_set",
    "INSERT INTO pool_state (id, generation, state, active, fenced, fenced_generation,"
    " changed_ms, changed_by) VALUES (1, $1, $2, $3, $4, $5, $6, $7)"
    " ON CONFLICT (id) DO UPDATE SET generation = EXCLUDED.generation,"
    " state = EXCLUDED.state, active = EXCLUDED.active, fenced = EXCLUDED.fenced,"
    " fenced_generation = EXCLUDED.fenced_generation, changed_ms = EXCLUDED.changed_ms,"
    " changed_by = EXCLUDED.changed_by WHERE pool_state.generation < EXCLUDED.generation",
    7};

static const struct pg_stmt st_server_beat = {
    "pool_server_beat",
    "INSERT INTO servers (name, started_ms, seen_ms, clients, active, generation, database)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ((pchat_key(name))) DO UPDATE SET"
    " name = EXCLUDED.name, started_ms = EXCLUDED.started_ms, seen_ms = EXCLUDED.seen_ms,"
    " clients = EXCLUDED.clients, active = EXCLUDED.active,"
    " generation = EXCLUDED.generation, database = EXCLUDED.database",
    7};

static const struct pg_stmt st_server_list = {
    "pool_server_list",
    "SELECT name, started_ms, seen_ms, clients, active, generation, database FROM servers"
    " ORDER BY pchat_key(name)",
    0};

static const struct pg_stmt st_server_forget = {
    "pool_server_forget", "DELETE FROM servers WHERE pchat_key(name) = pchat_key($1)", 1};

/* Connected (or inside the caller's transaction). */
static int ready(struct pg_conn *pc)
{
	return pc->in_tx ? 0 : pg_ensure(pc);
}

int pg_pool_get(struct store_conn *c, struct store_pool_state *out)
{
	struct pg_conn *pc = pg_of(c);
	PGresult *r;
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_pool_get, NULL, &rc, "reading the pool state")))
		return rc;
	if (PQntuples(r) == 0) {
		str_copy(out->state, "normal", sizeof(out->state));
		out->active = xstrdup("");
		goto out_clear;
	}
	out->generation = pg_get_i64(r, 0, 0);
	pg_get_copy(r, 0, 1, out->state, sizeof(out->state));
	out->active = pg_get_dup(r, 0, 2, false);
	out->fenced = pg_get_bool(r, 0, 3);
	out->fenced_generation = pg_get_i64(r, 0, 4);
	out->changed_ms = pg_get_i64(r, 0, 5);
	pg_get_copy(r, 0, 6, out->changed_by, sizeof(out->changed_by));
out_clear:
	PQclear(r);
	return 0;
}

int pg_pool_set(struct store_conn *c, const struct store_pool_state *st)
{
	struct pg_conn *pc = pg_of(c);
	char gen[24], fgen[24], ms[24];
	const char *params[7] = {pg_i64(gen, st->generation),
	                         st->state,
	                         st->active,
	                         st->fenced ? "t" : "f",
	                         pg_i64(fgen, st->fenced_generation),
	                         pg_i64(ms, st->changed_ms),
	                         st->changed_by};
	PGresult *r;
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_pool_set, params, &rc, "writing the pool state")))
		return rc;
	rc = pg_affected(r) == 1 ? 0 : STORE_EBUSY;
	PQclear(r);
	return rc;
}

static const struct pg_stmt st_pool_fence = {
    "pool_fence",
    "INSERT INTO pool_state (id, generation, state, active, fenced, fenced_generation,"
    " changed_ms, changed_by) VALUES (1, 0, 'normal', '', true, $1, $2, $3)"
    " ON CONFLICT (id) DO UPDATE SET fenced = true,"
    " fenced_generation = EXCLUDED.fenced_generation, changed_ms = EXCLUDED.changed_ms,"
    " changed_by = EXCLUDED.changed_by WHERE pool_state.generation < EXCLUDED.fenced_generation",
    3};

/*
 * The database refuses writes to new sessions; BEGIN READ WRITE above lets
 * the fence itself write into a database fenced before.
 */
#define FENCE_READ_ONLY                                                                            \
	"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', "  \
	"current_database()); END $$"

/* The pchat sessions still on it, but this one: they reconnect read-only. */
#define FENCE_END_SESSIONS                                                                         \
	"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "           \
	"current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'pchat%'"

/* One step of the fence; 0 or the store code (the transaction is rolled back). */
static int fence_step(struct pg_conn *pc, const char *sql, const struct pg_stmt *st,
                      const char *const *params, bool *changed)
{
	int rc = 0;
	PGresult *r = st ? pg_run(pc, st, params, &rc, "fencing the database")
	                 : pg_run_sql(pc, sql, NULL, 0, &rc, "fencing the database");

	if (r && changed)
		*changed = pg_affected(r) == 1;
	PQclear(r);
	if (!r && pc->db)
		PQclear(PQexec(pc->db, "ROLLBACK"));
	return r ? 0 : rc;
}

int pg_pool_fence(struct store_conn *c, int64_t generation, const char *by)
{
	struct pg_conn *pc = pg_of(c);
	char gen[24], ms[24];
	const char *params[3] = {pg_i64(gen, generation), pg_i64(ms, time_now_ms()), by};
	bool changed = false;
	int rc;

	if (pc->in_tx)
		return STORE_EINVAL;
	if ((rc = pg_ensure(pc)) != 0)
		return rc;
	if ((rc = fence_step(pc, "SELECT 1 WHERE NOT pg_is_in_recovery()", NULL, NULL, &changed)))
		return rc;
	if (!changed)
		return STORE_EBUSY; /* a standby: nothing can write into it */
	if ((rc = fence_step(pc, "BEGIN READ WRITE", NULL, NULL, NULL)) ||
	    (rc = fence_step(pc, NULL, &st_pool_fence, params, &changed)))
		return rc;
	if (!changed) {
		PQclear(PQexec(pc->db, "ROLLBACK"));
		return STORE_EBUSY; /* its own generation is as new */
	}
	if ((rc = fence_step(pc, FENCE_READ_ONLY, NULL, NULL, NULL)) ||
	    (rc = fence_step(pc, "COMMIT", NULL, NULL, NULL)))
		return rc;
	log_warn("pool", "database %s fenced by generation %lld (%s): read-only from now on",
	         pc->label, (long long)generation, by);
	return fence_step(pc, FENCE_END_SESSIONS, NULL, NULL, NULL);
}

int pg_server_beat(struct store_conn *c, const struct store_server *s)
{
	struct pg_conn *pc = pg_of(c);
	char started[24], seen[24], clients[24], gen[24];
	const char *params[7] = {s->name,
	                         pg_i64(started, s->started_ms),
	                         pg_i64(seen, s->seen_ms),
	                         pg_i64(clients, s->clients),
	                         s->active ? "t" : "f",
	                         pg_i64(gen, s->generation),
	                         s->database};
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	return pg_exec(pc, &st_server_beat, params, "writing a heartbeat");
}

int pg_server_list(struct store_conn *c, struct store_server **out, size_t *n)
{
	struct pg_conn *pc = pg_of(c);
	PGresult *r;
	int rc, rows;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_server_list, NULL, &rc, "listing servers")))
		return rc;
	rows = PQntuples(r);
	*out = rows ? xcalloc((size_t)rows, sizeof(**out)) : NULL;
	for (int i = 0; i < rows; i++) {
		struct store_server *s = &(*out)[i];

		pg_get_copy(r, i, 0, s->name, sizeof(s->name));
		s->started_ms = pg_get_i64(r, i, 1);
		s->seen_ms = pg_get_i64(r, i, 2);
		s->clients = (int)pg_get_i64(r, i, 3);
		s->active = pg_get_bool(r, i, 4);
		s->generation = pg_get_i64(r, i, 5);
		pg_get_copy(r, i, 6, s->database, sizeof(s->database));
	}
	*n = (size_t)rows;
	PQclear(r);
	return 0;
}

int pg_server_forget(struct store_conn *c, const char *name)
{
	struct pg_conn *pc = pg_of(c);
	const char *params[1] = {name};
	PGresult *r;
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_server_forget, params, &rc, "forgetting a server")))
		return rc;
	rc = pg_affected(r) > 0 ? 0 : STORE_ENOTFOUND;
	PQclear(r);
	return rc;
}
