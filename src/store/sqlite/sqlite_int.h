/*
 * sqlite_int.h — internals shared by the files of the SQLite backend: the
 * connection type, the table of cached statements, error mapping.
 *
 * Only src/store/sqlite/ includes this file (and sqlite3.h).
 */
#ifndef PCHAT_STORE_SQLITE_INT_H
#define PCHAT_STORE_SQLITE_INT_H

#include "store/store_int.h"

#include <sqlite3.h>

/* Every statement a connection prepares once and keeps (sq_stmt()). */
enum sq_stmt_id {
	SQ_BEGIN,
	SQ_BEGIN_IMMEDIATE,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_SAVEPOINT,
	SQ_RELEASE,
	SQ_ROLLBACK_TO,
	SQ_ACCOUNT_ADD,
	SQ_ACCOUNT_GET,
	SQ_ACCOUNT_UPDATE,
	SQ_ACCOUNT_REMOVE,
	SQ_ACCOUNT_LIST,
	SQ_CATEGORY_ADD,
	SQ_CATEGORY_GET,
	SQ_CATEGORY_ID,
	SQ_CATEGORY_UPDATE,
	SQ_CATEGORY_REMOVE,
	SQ_CATEGORY_LIST,
	SQ_ROOM_ADD,
	SQ_ROOM_GET,
	SQ_ROOM_UPDATE,
	SQ_ROOM_REMOVE,
	SQ_ROOM_LIST,
	SQ_ROOM_BUMP,
	SQ_ROOM_UNBUMP,
	SQ_MSG_INSERT,
	SQ_MSG_LATEST_ROOM,
	SQ_MSG_LATEST_PM,
	SQ_MSG_COUNT_ROOM,
	SQ_MSG_COUNT_ALL,
	SQ_N_STMTS
};

/* A SQLite connection; base must stay first (store.c sees only base). */
struct sq_conn {
	struct store_conn base;          /* generic part */
	sqlite3 *db;                     /* the handle */
	sqlite3_stmt *stmts[SQ_N_STMTS]; /* prepared on first use, kept */
	char path[256];                  /* database file, for messages */
};

/* The sq_conn holding c. */
static inline struct sq_conn *sq_of(struct store_conn *c)
{
	return (struct sq_conn *)c;
}

/* SQL text of each statement (sqlite.c). */
extern const char *const sq_sql[SQ_N_STMTS];

/* The cached statement id of c (prepared on first use), or NULL (logged). */
sqlite3_stmt *sq_stmt(struct sq_conn *sc, enum sq_stmt_id id);

/*
 * Map a SQLite result code to a store_err. Unique violations become
 * STORE_EEXIST without a log line; failures are logged with what.
 * Resets stmt (when not NULL) so it can be reused.
 */
int sq_fail(struct sq_conn *sc, sqlite3_stmt *stmt, int rc, const char *what);

/* Step a statement that returns no row; 0 or a store_err. Resets it. */
int sq_exec_stmt(struct sq_conn *sc, sqlite3_stmt *stmt, const char *what);

/* Bind text, or NULL when s is NULL (SQLITE_STATIC: s must outlive the step). */
int sq_bind_text(sqlite3_stmt *stmt, int col, const char *s);

/* Column text copied into a new string ("" when NULL if not nullable). */
char *sq_col_dup(sqlite3_stmt *stmt, int col, bool nullable);

/* Connection-level parts (conn.c). */
int sq_open_conn(const char *target, enum store_conn_mode mode, bool create,
                 struct store_conn **out, char *err, size_t errlen);
void sq_close_conn(struct store_conn *c);
int sq_migrate(struct store_conn *c, char *err, size_t errlen);
int sq_begin(struct store_conn *c, bool write);
int sq_commit(struct store_conn *c);
int sq_rollback(struct store_conn *c);
int sq_savepoint(struct store_conn *c);
int sq_release(struct store_conn *c);
int sq_rollback_to(struct store_conn *c);
int sq_check(struct store_conn *c, char *detail, size_t detail_len);

/* Migrations (schema.c): sq_migrations[i] brings version i to i + 1. */
extern const char *const sq_migrations[];
extern const int sq_n_migrations;

#endif
