/*
 * store_int.h — what a storage backend implements, and what store.c needs
 * to know of a connection.
 *
 * A backend (sqlite/, later pg/) fills one const struct store_backend and
 * embeds struct store_conn as the first member of its own connection type.
 * store.c validates arguments, then calls the backend through these
 * pointers only; it never sees SQL. Nothing here is part of the public
 * interface (store.h): only src/store/ includes this file.
 */
#ifndef PCHAT_STORE_STORE_INT_H
#define PCHAT_STORE_STORE_INT_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a connection is for. */
enum store_conn_mode {
	STORE_CONN_WRITE, /* read-write: the writer thread, store_direct() */
	STORE_CONN_READ,  /* read-only: reader threads */
};

/* The generic part of every backend connection (first member). */
struct store_conn {
	const struct store_backend *be; /* the backend's operations */
	bool in_job;                    /* running a store job: the store owns transactions */
};

/*
 * One backend. Every int-returning pointer returns 0 or a store_err and logs
 * database failures itself (log once, where detected). Arguments reaching the
 * data operations have already been validated by store.c (names, lengths,
 * kinds), so a backend checks only what needs the database.
 */
struct store_backend {
	const char *name; /* "sqlite" */

	/*
	 * Open a connection to target (the URL without its scheme for SQLite).
	 * With create, a missing database is created. On failure returns a
	 * store_err and writes an operator message into err.
	 */
	int (*open_conn)(const char *target, enum store_conn_mode mode, bool create,
	                 struct store_conn **out, char *err, size_t errlen);
	/* Close and free a connection (NULL is fine). */
	void (*close_conn)(struct store_conn *c);
	/*
	 * Bring the schema to STORE_SCHEMA_VERSION in one transaction, or fail
	 * with STORE_EVERSION (and a message in err) when the database is newer.
	 */
	int (*migrate)(struct store_conn *c, char *err, size_t errlen);

	/* Transactions: write = take the write lock now (BEGIN IMMEDIATE). */
	int (*begin)(struct store_conn *c, bool write);
	int (*commit)(struct store_conn *c);
	int (*rollback)(struct store_conn *c);
	/* One savepoint level, used by the writer around each job. */
	int (*savepoint)(struct store_conn *c);
	int (*release)(struct store_conn *c);
	int (*rollback_to)(struct store_conn *c); /* leaves the savepoint open */

	/* Data operations: same contract as the store.h function of that name. */
	int (*account_add)(struct store_conn *c, struct store_account *a);
	int (*account_get)(struct store_conn *c, const char *name, struct store_account *out);
	int (*account_update)(struct store_conn *c, const struct store_account *a);
	int (*account_remove)(struct store_conn *c, const char *name);
	int (*account_list)(struct store_conn *c, struct store_account **out, size_t *n);

	int (*category_add)(struct store_conn *c, struct store_category *cat);
	int (*category_get)(struct store_conn *c, const char *name, struct store_category *out);
	int (*category_update)(struct store_conn *c, const struct store_category *cat);
	int (*category_remove)(struct store_conn *c, const char *name);
	int (*category_list)(struct store_conn *c, struct store_category **out, size_t *n);

	int (*room_add)(struct store_conn *c, struct store_room *r);
	int (*room_get)(struct store_conn *c, const char *name, struct store_room *out);
	/* By id when id > 0, else by name; NULL description/category keep theirs. */
	int (*room_update)(struct store_conn *c, int64_t id, const char *name,
	                   const char *description, const char *category);
	int (*room_remove)(struct store_conn *c, const char *name);
	int (*room_list)(struct store_conn *c, struct store_room **out, size_t *n);

	int (*msg_insert)(struct store_conn *c, struct store_msg *m);
	/* a and b are lower-cased and sorted (a < b) for private conversations. */
	int (*msg_latest)(struct store_conn *c, int64_t room_id, const char *a, const char *b,
	                  int64_t before, int limit, struct store_msg **out, size_t *n);
	int (*msg_count)(struct store_conn *c, int64_t room_id, int64_t *n);
	int (*check)(struct store_conn *c, char *detail, size_t detail_len);
};

/* The SQLite backend (sqlite/sqlite.c). */
extern const struct store_backend store_sqlite_backend;

#endif
