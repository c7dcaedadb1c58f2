/*
 * load.c — the PostgreSQL backend as the target (and a possible source)
 * of a move (store.h "moving a database"): dumping a table through a
 * cursor, checking that the target holds no chat data, inserting rows with
 * their ids, and moving the identity sequences past them.
 *
 * Rows are inserted COPY_ROWS at a time by one multi-row INSERT with typed
 * parameters ($n::bigint, ::text, ::boolean), so a value is never parsed
 * by guessing. The counters and compliance_state tables exist once per
 * database and are overwritten (UPDATE), never inserted. Text keys are
 * ordered COLLATE "C" (byte order, like SQLite's BINARY), so both backends
 * give rows in the same order and their checksums compare.
 *
 * It does not touch the pool's tables (control row, servers, presence):
 * those describe the pool the database is in, not the data moved into it.
 */
#include "store/pg/pg_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_FETCH   1000 /* rows per FETCH */
#define LOAD_SQL_MAX 4096 /* a statement's text without its VALUES */

/* Where a table of store_dump_defs lives here (FROM clause). */
static const char *from_of(int table)
{
	switch (table) {
	case STORE_DUMP_COUNTERS:
		return "counters WHERE name IN ('changes', 'compliance')";
	default:
		return store_dump_defs[table].name; /* compliance_* are table names here */
	}
}

static void col_expr(char *sql, size_t cap, size_t *len, const struct store_dump_col *col)
{
	if (col->type == STORE_COL_BOOL)
		str_appendf(sql, cap, len, "\"%s\"::int", col->name);
	else if (col->fold)
		str_appendf(sql, cap, len, "pchat_key(\"%s\")", col->name);
	else
		str_appendf(sql, cap, len, "\"%s\"", col->name);
}

/* The DECLARE of the dump cursor for table; STORE_EINVAL if it does not fit. */
static int build_select(char *sql, size_t cap, int table)
{
	const struct store_dump_def *d = &store_dump_defs[table];
	size_t n = str_copy(sql, "DECLARE pchat_dump NO SCROLL CURSOR FOR SELECT ", cap);
	size_t *len = &n;

	for (int i = 0; i < d->n_cols; i++) {
		if (i > 0)
			str_appendf(sql, cap, len, ", ");
		col_expr(sql, cap, len, &d->cols[i]);
	}
	str_appendf(sql, cap, len, " FROM %s", from_of(table));
	for (int i = 0; i < d->n_key; i++) {
		str_appendf(sql, cap, len, i == 0 ? " ORDER BY " : ", ");
		col_expr(sql, cap, len, &d->cols[i]);
		if (d->cols[i].type == STORE_COL_TEXT)
			str_appendf(sql, cap, len, " COLLATE \"C\"");
	}
	return n + 1 < cap ? 0 : STORE_EINVAL;
}

/* Hand the rows of one FETCH result to cb. */
static int fetch_rows(const PGresult *r, const struct store_dump_def *d, store_row_cb cb, void *arg)
{
	struct store_value row[STORE_DUMP_MAX_COLS];
	int rc = 0;

	for (int k = 0; rc == 0 && k < PQntuples(r); k++) {
		for (int i = 0; i < d->n_cols; i++) {
			row[i] = (struct store_value){.null = PQgetisnull(r, k, i)};
			if (d->cols[i].type == STORE_COL_TEXT && !row[i].null) {
				row[i].s = PQgetvalue(r, k, i);
				row[i].len = (size_t)PQgetlength(r, k, i);
			} else if (!row[i].null) {
				row[i].i = strtoll(PQgetvalue(r, k, i), NULL, 10);
			}
		}
		rc = cb(arg, row);
	}
	return rc;
}

int pg_dump(struct store_conn *c, int table, store_row_cb cb, void *arg)
{
	struct pg_conn *pc = pg_of(c);
	char sql[LOAD_SQL_MAX], fetch[64];
	PGresult *r;
	int rc, n;

	if (build_select(sql, sizeof sql, table))
		return STORE_EINVAL;
	r = pg_run_sql(pc, sql, NULL, 0, &rc, "opening a dump cursor");
	if (!r)
		return rc;
	PQclear(r);
	snprintf(fetch, sizeof fetch, "FETCH FORWARD %d FROM pchat_dump", DUMP_FETCH);
	do {
		r = pg_run_sql(pc, fetch, NULL, 0, &rc, "dumping a table");
		if (!r)
			return rc;
		n = PQntuples(r);
		rc = fetch_rows(r, &store_dump_defs[table], cb, arg);
		PQclear(r);
	} while (rc == 0 && n == DUMP_FETCH);
	if (rc != 0)
		return rc; /* the caller rolls the transaction back: the cursor goes with it */
	r = pg_run_sql(pc, "CLOSE pchat_dump", NULL, 0, &rc, "closing a dump cursor");
	PQclear(r);
	return r ? 0 : rc;
}

int pg_load_prepare(struct store_conn *c, bool replace)
{
	static const char *const probe =
	    "SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM rooms)"
	    " OR EXISTS (SELECT 1 FROM groups) OR EXISTS (SELECT 1 FROM addins)"
	    " OR EXISTS (SELECT 1 FROM messages) OR EXISTS (SELECT 1 FROM changes)"
	    " OR EXISTS (SELECT 1 FROM compliance_events)"
	    " OR EXISTS (SELECT 1 FROM categories WHERE pchat_key(name) <> 'general')";
	/* children first; a fresh schema's "general" category and settings go too */
	static const char *const wipe =
	    "DELETE FROM follows; DELETE FROM invitations; DELETE FROM markers;"
	    " DELETE FROM messages; DELETE FROM rooms; DELETE FROM categories;"
	    " DELETE FROM groups; DELETE FROM addins; DELETE FROM accounts;"
	    " DELETE FROM changes; DELETE FROM compliance_events; DELETE FROM compliance_claims;"
	    " DELETE FROM settings;"
	    " UPDATE counters SET value = 0 WHERE name IN ('changes', 'compliance');"
	    " UPDATE compliance_state SET exported = 0, last_run_ms = 0, last_file = '',"
	    " last_error_ms = 0, last_error = '';";
	struct pg_conn *pc = pg_of(c);
	PGresult *r;
	int rc;

	if (!replace) {
		r = pg_run_sql(pc, probe, NULL, 0, &rc, "looking for data in the target");
		if (!r)
			return rc;
		rc = pg_get_bool(r, 0, 0) ? STORE_ENOTEMPTY : 0;
		PQclear(r);
		if (rc != 0)
			return rc;
	}
	r = pg_run_sql(pc, wipe, NULL, 0, &rc, "emptying the target");
	PQclear(r);
	return r ? 0 : rc;
}

/* Parameters of one row into params (numbers written into nums, 24 bytes each). */
static void row_params(const struct store_dump_def *d, const struct store_value *row,
                       const char **params, char (*nums)[24])
{
	for (int i = 0; i < d->n_cols; i++) {
		if (row[i].null)
			params[i] = NULL;
		else if (d->cols[i].type == STORE_COL_TEXT)
			params[i] = row[i].s;
		else if (d->cols[i].type == STORE_COL_BOOL)
			params[i] = row[i].i ? "true" : "false";
		else
			params[i] = pg_i64(nums[i], row[i].i);
	}
}

static const char *cast_of(int type)
{
	return type == STORE_COL_TEXT ? "text" : type == STORE_COL_BOOL ? "boolean" : "bigint";
}

/* The two tables that exist once per database: overwrite their rows. */
static int load_update(struct pg_conn *pc, int table, const struct store_value *rows, size_t n)
{
	const struct store_dump_def *d = &store_dump_defs[table];
	const char *sql = table == STORE_DUMP_COUNTERS
	                      ? "UPDATE counters SET value = $2::bigint WHERE name = $1::text"
	                      : "UPDATE compliance_state SET exported = $1::bigint, last_run_ms = "
	                        "$2::bigint, last_file = $3::text, last_error_ms = $4::bigint,"
	                        " last_error = $5::text WHERE id = 1";
	const char *params[STORE_DUMP_MAX_COLS];
	char nums[STORE_DUMP_MAX_COLS][24];
	PGresult *r;
	int rc = 0;

	for (size_t k = 0; rc == 0 && k < n; k++) {
		row_params(d, rows + k * (size_t)d->n_cols, params, nums);
		r = pg_run_sql(pc, sql, params, d->n_cols, &rc, "loading a counter");
		if (r && pg_affected(r) != 1)
			rc = STORE_EINVAL; /* a counter this schema does not have */
		PQclear(r);
	}
	return rc;
}

/* "INSERT INTO t (cols) VALUES ($1::type, ...), ..." for n rows (caller frees). */
static char *insert_sql(const struct store_dump_def *d, size_t n)
{
	size_t cap = LOAD_SQL_MAX + n * (size_t)d->n_cols * 24, len = 0;
	char *sql = xmalloc(cap);
	int p = 1;

	sql[0] = '\0';
	str_appendf(sql, cap, &len, "INSERT INTO %s (", d->name);
	for (int i = 0; i < d->n_cols; i++)
		str_appendf(sql, cap, &len, "%s\"%s\"", i ? ", " : "", d->cols[i].name);
	str_appendf(sql, cap, &len, ") VALUES ");
	for (size_t k = 0; k < n; k++) {
		str_appendf(sql, cap, &len, "%s(", k ? ", " : "");
		for (int i = 0; i < d->n_cols; i++)
			str_appendf(sql, cap, &len, "%s$%d::%s", i ? ", " : "", p++,
			            cast_of(d->cols[i].type));
		str_appendf(sql, cap, &len, ")");
	}
	return sql;
}

int pg_load(struct store_conn *c, int table, const struct store_value *rows, size_t n)
{
	struct pg_conn *pc = pg_of(c);
	const struct store_dump_def *d = &store_dump_defs[table];
	size_t np = n * (size_t)d->n_cols;
	const char **params;
	char(*nums)[24];
	char *sql;
	PGresult *r;
	int rc;

	if (table == STORE_DUMP_COUNTERS || table == STORE_DUMP_CSTATE)
		return load_update(pc, table, rows, n);
	if (np > 65535)
		return STORE_EINVAL; /* the protocol's limit on parameters */
	params = xcalloc(np, sizeof(*params));
	nums = xcalloc(np, sizeof(*nums));
	for (size_t k = 0; k < n; k++)
		row_params(d, rows + k * (size_t)d->n_cols, params + k * (size_t)d->n_cols,
		           nums + k * (size_t)d->n_cols);
	sql = insert_sql(d, n);
	r = pg_run_sql(pc, sql, params, (int)np, &rc, "loading rows");
	PQclear(r);
	free(sql);
	free(nums);
	free(params);
	return r ? 0 : rc;
}

int pg_load_finish(struct store_conn *c)
{
	/* the next generated id follows the highest copied one (ids are kept, not drawn) */
	static const char *const sql =
	    "SELECT setval(pg_get_serial_sequence('accounts', 'id'), coalesce(max(id), 0) + 1, "
	    "false)"
	    " FROM accounts;"
	    "SELECT setval(pg_get_serial_sequence('categories', 'id'), coalesce(max(id), 0) + 1,"
	    " false) FROM categories;"
	    "SELECT setval(pg_get_serial_sequence('groups', 'id'), coalesce(max(id), 0) + 1, false)"
	    " FROM groups;"
	    "SELECT setval(pg_get_serial_sequence('addins', 'id'), coalesce(max(id), 0) + 1, false)"
	    " FROM addins;"
	    "SELECT setval(pg_get_serial_sequence('rooms', 'id'), coalesce(max(id), 0) + 1, false)"
	    " FROM rooms;"
	    /* a room message's seq is drawn from it too: past every seq copied */
	    "SELECT setval(pg_get_serial_sequence('messages', 'id'), greatest(coalesce(max(id), 0),"
	    " coalesce(max(seq), 0), (SELECT coalesce(max(last_seq), 0) FROM rooms)) + 1, false)"
	    " FROM messages;"
	    /* the counters were copied; never below an id that is present */
	    "UPDATE counters SET value = greatest(value, (SELECT coalesce(max(id), 0) FROM "
	    "changes))"
	    " WHERE name = 'changes';"
	    "UPDATE counters SET value = greatest(value, (SELECT coalesce(max(id), 0)"
	    " FROM compliance_events), (SELECT coalesce(max(hi), 0) FROM compliance_claims))"
	    " WHERE name = 'compliance';";
	struct pg_conn *pc = pg_of(c);
	int rc;
	PGresult *r = pg_run_sql(pc, sql, NULL, 0, &rc, "advancing the id sequences");

	PQclear(r);
	return r ? 0 : rc;
}
