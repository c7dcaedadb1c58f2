/*
 * pg_int.h — internals shared by the files of the PostgreSQL backend: the
 * connection type, the table of prepared statements, running them, error
 * mapping, and reading rows.
 *
 * Only src/store/pg/ includes this file (and libpq-fe.h).
 *
 * Threads: libpq is used in blocking mode, but only on store threads (the
 * writer, the readers) and by synchronous users (pchatctl, tests): the
 * event loop never waits for PostgreSQL (docs/architecture.md). Group commit
 * already puts many jobs into one transaction and one WAL flush.
 *
 * A lost connection (server restart, failover, network) is detected by the
 * next call: the statement fails with STORE_EIO (so the jobs of that batch
 * fail and their senders get FAIL), and the next pg_begin() reconnects with
 * backoff (pg_ensure). A multi-host conninfo with
 * target_session_attrs=read-write follows a primary that moved.
 */
#ifndef PCHAT_STORE_PG_INT_H
#define PCHAT_STORE_PG_INT_H

#include "store/store_int.h"

#include "common/map.h"

#include <libpq-fe.h>

/* A PostgreSQL connection; base must stay first (store.c sees only base). */
struct pg_conn {
	struct store_conn base; /* generic part */
	PGconn *db;             /* the libpq handle, NULL while disconnected */
	char *conninfo;         /* URL or conninfo it was opened with (owned) */
	bool readonly;          /* a reader connection (BEGIN READ ONLY) */
	struct map prepared;    /* names of the statements prepared on db */
	int in_tx;              /* 0, or 1 inside BEGIN..COMMIT/ROLLBACK */
	int64_t next_try_ms;    /* earliest reconnect attempt (monotonic) */
	int backoff_ms;         /* current reconnect backoff (doubles to a cap) */
	char label[128];        /* "host:port/db" for messages, no password */
	/* pipeline mode (pg_defer): statements sent, results read at the next sync point */
	bool pipelining;          /* PQenterPipelineMode is on */
	bool no_pipeline;         /* a deferred statement failed: run the next batch without */
	struct pg_deferred *pend; /* sent, in order, results not read yet */
	size_t n_pend;            /* entries in pend */
	size_t cap_pend;          /* allocated */
};

/* A statement sent in pipeline mode; done (may be NULL) gets its result. */
struct pg_deferred {
	void (*done)(const PGresult *r, void *arg); /* called with the rows when it succeeded */
	void *arg;                                  /* for done */
	const char *what;                           /* for messages */
};

/*
 * Every session's TCP settings, placed before "dbname" in the keyword
 * arrays so that a conninfo's own values override them: keepalives find a
 * peer gone silent after ~25 s of idle (10 + 3 x 5), and tcp_user_timeout
 * ends a session whose sent data stays unacknowledged for 30 s — a
 * partition that leaves no reset would otherwise hang a store job for the
 * kernel's ~15 minutes of retransmissions.
 */
#define PG_TCP_KEYS                                                                                \
	"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",                \
	    "tcp_user_timeout"
#define PG_TCP_VALS "1", "10", "5", "3", "30000"

/*
 * What messages.tsv indexes of a text x (an SQL expression): its runs of
 * letters and digits, so that host names, paths and numbers split into
 * words as SQLite's unicode61 tokenizer splits them (schema.c, history.c).
 */
#define PG_TSV_TEXT(x) "pchat_words(" x ")"

/* The pg_conn holding c. */
static inline struct pg_conn *pg_of(struct store_conn *c)
{
	return (struct pg_conn *)c;
}

/*
 * One statement: each file keeps its own as static const structs. The name
 * is unique in the backend (prefix it with the file: "rooms_account_get")
 * and is also its server-side prepared-statement name.
 */
struct pg_stmt {
	const char *name; /* unique name */
	const char *sql;  /* with $1..$n placeholders */
	int n_params;     /* number of parameters */
};

/*
 * Make sure pc is connected (reconnecting with backoff from 100 ms to 5 s
 * after a failure: an attempt before next_try_ms fails at once). 0 or
 * STORE_EIO (logged once per outage, and the recovery too).
 */
int pg_ensure(struct pg_conn *pc);

/*
 * Run statement st with its n_params text parameters (NULL = SQL NULL),
 * preparing it on first use on this connection. Returns the result
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK) or NULL with *rc set to a
 * store_err: STORE_EEXIST for a unique violation (23505, not logged),
 * STORE_EINVAL for a foreign-key or check violation (23503, 23514, not
 * logged), STORE_EBUSY for a serialization failure or deadlock (40001,
 * 40P01), STORE_EIO otherwise (logged with what; a broken connection is
 * closed so that pg_ensure reconnects). The caller PQclear()s the result.
 */
PGresult *pg_run(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params, int *rc,
                 const char *what);

/* The same for a one-off SQL text (not prepared): migrations, checks, rare queries. */
PGresult *pg_run_sql(struct pg_conn *pc, const char *sql, const char *const *params, int n, int *rc,
                     const char *what);

/* Run a statement that returns no rows: 0 or a store_err (as pg_run). */
int pg_exec(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
            const char *what);

/* Rows a statement changed (UPDATE/DELETE), from its result. */
int64_t pg_affected(const PGresult *r);

/* Decimal text of v into buf (at least 24 bytes); returns buf (for parameter arrays). */
const char *pg_i64(char *buf, int64_t v);

/* Column values: an integer (0 when NULL), a bool ('t'), text copied (NULL -> "" unless
 * nullable). */
int64_t pg_get_i64(const PGresult *r, int row, int col);
bool pg_get_bool(const PGresult *r, int row, int col);
char *pg_get_dup(const PGresult *r, int row, int col, bool nullable);
/* Copy column text into a fixed buffer (truncated at a UTF-8 boundary). */
void pg_get_copy(const PGresult *r, int row, int col, char *out, size_t outlen);

/*
 * Backend operations, one group per file, with the contract of the
 * store_backend member of the same name (store_int.h); backend.c fills
 * struct store_backend store_pg_backend with them.
 */
/* conn.c */
int pg_open_conn(const char *target, enum store_conn_mode mode, bool create,
                 struct store_conn **out, char *err, size_t errlen);
void pg_close_conn(struct store_conn *c);
int pg_migrate(struct store_conn *c, char *err, size_t errlen);
int pg_begin(struct store_conn *c, bool write);
int pg_commit(struct store_conn *c);
int pg_rollback(struct store_conn *c);
int pg_savepoint(struct store_conn *c);
int pg_release(struct store_conn *c);
int pg_rollback_to(struct store_conn *c);
int pg_check(struct store_conn *c, char *detail, size_t detail_len);

/* rooms.c */
int pg_account_add(struct store_conn *c, struct store_account *a);
int pg_account_get(struct store_conn *c, const char *name, struct store_account *out);
int pg_account_update(struct store_conn *c, const struct store_account *a);
int pg_account_remove(struct store_conn *c, const char *name);
int pg_account_list(struct store_conn *c, struct store_account **out, size_t *n);
int pg_category_add(struct store_conn *c, struct store_category *cat);
int pg_category_get(struct store_conn *c, const char *name, struct store_category *out);
int pg_category_update(struct store_conn *c, const struct store_category *cat);
int pg_category_remove(struct store_conn *c, const char *name);
int pg_category_list(struct store_conn *c, struct store_category **out, size_t *n);
int pg_room_add(struct store_conn *c, struct store_room *r);
int pg_room_get(struct store_conn *c, const char *name, struct store_room *out);
int pg_room_update(struct store_conn *c, const struct store_room *r);
int pg_room_remove(struct store_conn *c, const char *name);
int pg_room_list(struct store_conn *c, struct store_room **out, size_t *n);
int pg_group_add(struct store_conn *c, struct store_group *g);
int pg_group_get(struct store_conn *c, const char *name, struct store_group *out);
int pg_group_update(struct store_conn *c, const struct store_group *g);
int pg_group_remove(struct store_conn *c, const char *name);
int pg_group_list(struct store_conn *c, struct store_group **out, size_t *n);
int pg_addin_add(struct store_conn *c, const struct store_addin *a);
int pg_addin_get(struct store_conn *c, const char *name, struct store_addin *out);
int pg_addin_remove(struct store_conn *c, const char *name);
int pg_addin_list(struct store_conn *c, struct store_addin **out, size_t *n);
int pg_follow_add(struct store_conn *c, const char *account, const char *room);
int pg_follow_remove(struct store_conn *c, const char *account, const char *room);
int pg_follow_list(struct store_conn *c, const char *account, char ***out, size_t *n);
int pg_invite_add(struct store_conn *c, const struct store_invite *inv);
int pg_invite_take(struct store_conn *c, const char *account, struct store_invite **out, size_t *n);
int pg_marker_set(struct store_conn *c, const char *account, const char *target, int64_t ts_ms);
int pg_marker_get(struct store_conn *c, const char *account, const char *target, int64_t *ts_ms);
int pg_change_add(struct store_conn *c, const char *kind, const char *name, int64_t ts_ms);
int pg_change_since(struct store_conn *c, int64_t after, int limit, struct store_change **out,
                    size_t *n);
int pg_change_last(struct store_conn *c, int64_t *id);

/* history.c */
int pg_msg_insert(struct store_conn *c, struct store_msg *m);
int pg_msg_latest(struct store_conn *c, int64_t room_id, const char *a, const char *b,
                  int64_t before, int limit, struct store_msg **out, size_t *n);
int pg_msg_count(struct store_conn *c, int64_t room_id, int64_t *n);
int pg_msg_history(struct store_conn *c, const struct store_history_query *q,
                   struct store_msg **out, size_t *n);
int pg_msg_by_msgid(struct store_conn *c, const char *msgid, struct store_msg *out);
int pg_msg_targets(struct store_conn *c, const int64_t *room_ids, size_t n_rooms,
                   const char *account, int64_t after_ts, int64_t before_ts, int limit,
                   struct store_target **out, size_t *n);
int pg_msg_search(struct store_conn *c, const struct store_search_query *q, struct store_msg **out,
                  size_t *n, bool *more);
int pg_msg_redact(struct store_conn *c, const struct store_msg_filter *f, const char *replacement,
                  struct store_msg **out, size_t *n);
int pg_room_clear(struct store_conn *c, int64_t room_id, int64_t before_ts, int64_t *n);

/* compliance.c */
int pg_cevent_add(struct store_conn *c, struct store_cevent *e);
int pg_comp_enabled(struct store_conn *c, bool *on);
int pg_comp_set_enabled(struct store_conn *c, bool on);
int pg_comp_move(struct store_conn *c, int limit, int64_t *n);
int pg_comp_claim(struct store_conn *c, const char *owner, const char *params, int max_events,
                  int64_t lease_ms, int64_t now_ms, struct store_comp_claim *out);
int pg_comp_fetch(struct store_conn *c, int64_t lo, int64_t hi, struct store_cevent **out,
                  size_t *n);
int pg_comp_renew(struct store_conn *c, const struct store_comp_claim *cl, int64_t expires_ms);
int pg_comp_done(struct store_conn *c, const struct store_comp_claim *cl, const char *file,
                 int64_t now_ms);
int pg_comp_failed(struct store_conn *c, const struct store_comp_claim *cl, bool release,
                   const char *error, int64_t now_ms);
int pg_comp_status(struct store_conn *c, struct store_comp_status *out);
int pg_comp_shipped(struct store_conn *c, bool end_segment, struct store_comp_ship *st);

/*
 * Send st without waiting for its result, inside a write transaction:
 * done(r, arg) runs when the result is read — at the next statement that
 * must wait, or at COMMIT (the group commit of a batch then costs one round
 * trip instead of one per statement; measured 1.6-2x on message inserts).
 * Outside a transaction, on a reader, or after a deferred failure it runs at
 * once (done called before returning). A deferred statement that fails
 * aborts the transaction: COMMIT returns STORE_EBUSY and the writer runs the
 * batch again, without pipelining, so that the failing job gets its own
 * result. 0 or a store error (sending failed).
 */
int pg_defer(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
             void (*done)(const PGresult *r, void *arg), void *arg, const char *what);
/* Whether pg_defer would defer now (else it runs the statement at once). */
bool pg_can_defer(const struct pg_conn *pc);

/* listen.c: the pool bus (store.h "pool bus") */
int pg_bus_notify(struct store_conn *c, const char *payload, bool large);
int pg_bus_notify_fetch(struct store_conn *c, int64_t id, char **payload);
struct store_listener *pg_bus_listen_open(struct store_conn *c, struct event_base *base,
                                          store_listen_cb cb, void *arg, char *err, size_t errlen);
void pg_bus_listen_free(struct store_listener *l);

/* The pool section (pool.c). */
int pg_pool_get(struct store_conn *c, struct store_pool_state *out);
int pg_pool_set(struct store_conn *c, const struct store_pool_state *st);
int pg_pool_fence(struct store_conn *c, int64_t generation, const char *by);
int pg_server_beat(struct store_conn *c, const struct store_server *s);
int pg_server_list(struct store_conn *c, struct store_server **out, size_t *n);
int pg_server_forget(struct store_conn *c, const char *name);

/* Moving a database (load.c). */
int pg_dump(struct store_conn *c, int table, store_row_cb cb, void *arg);
int pg_load_prepare(struct store_conn *c, bool replace);
int pg_load(struct store_conn *c, int table, const struct store_value *rows, size_t n);
int pg_load_finish(struct store_conn *c);

#endif
