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
	SQ_ROOM_SET_SEQ,
	SQ_MSG_INSERT,
	SQ_MSG_LATEST_ROOM,
	SQ_MSG_LATEST_PM,
	SQ_MSG_COUNT_ROOM,
	SQ_MSG_COUNT_ALL,
	SQ_ADDIN_CHECK,
	SQ_GROUP_ADD,
	SQ_GROUP_GET,
	SQ_GROUP_UPDATE,
	SQ_GROUP_REMOVE,
	SQ_GROUP_LIST,
	SQ_ADDIN_ADD,
	SQ_ADDIN_GET,
	SQ_ADDIN_USED,
	SQ_ADDIN_REMOVE,
	SQ_ADDIN_LIST,
	SQ_FOLLOW_ADD,
	SQ_FOLLOW_REMOVE,
	SQ_FOLLOW_LIST,
	SQ_INVITE_ADD,
	SQ_INVITE_LIST,
	SQ_INVITE_DELETE,
	SQ_MARKER_SET,
	SQ_MARKER_GET,
	SQ_ACCOUNT_ID,
	SQ_ROOM_ID,
	SQ_CHANGE_ADD,
	SQ_CHANGE_TRIM,
	SQ_CHANGE_SINCE,
	SQ_CHANGE_LAST,
	SQ_HIST_ROOM_ID_NEW, /* history: room, id (= seq) order, newest end */
	SQ_HIST_ROOM_ID_OLD, /* room, id (= seq) order, oldest end */
	SQ_SEQ_OF_ID,        /* a message's room and seq by id */
	SQ_SEQ_PROBE,        /* the first message of a room from a seq on: seq, id */
	SQ_ROOM_LAST_SEQ,    /* a room's last seq (also numbering a message) */
	SQ_HIST_ROOM_TS_NEW, /* room, time order (time bounds), newest end */
	SQ_HIST_ROOM_TS_OLD, /* room, time order, oldest end */
	SQ_HIST_PM_ID_NEW,   /* private conversation, id order, newest end */
	SQ_HIST_PM_ID_OLD,
	SQ_HIST_PM_TS_NEW,
	SQ_HIST_PM_TS_OLD,
	SQ_MSG_BY_MSGID,
	SQ_TARGET_ROOM,
	SQ_TARGET_PM,
	SQ_SEARCH_FTS,
	SQ_SEARCH_ALL,
	SQ_REDACT_FTS,
	SQ_REDACT_ALL,
	SQ_REDACT_SET,
	SQ_ROOM_CLEAR,
	SQ_FTS_LAST,      /* deferred indexing (history.c): the watermark */
	SQ_FTS_RANGE,     /* the next rows after it: highest id, count */
	SQ_FTS_INDEX,     /* index them */
	SQ_FTS_MARK,      /* move the watermark */
	SQ_SYNC_NORMAL,   /* an indexing step needs no fsync of its own */
	SQ_SYNC_FULL,     /* and back */
	SQ_CEVENT_ADD,    /* compliance: the outbox, in the caller's transaction */
	SQ_OUTBOX_ANY,    /* is the outbox empty */
	SQ_OUTBOX_READ,   /* outbox rows above the mark, oldest first */
	SQ_OUTBOX_DELETE, /* drop the rows at or below the mark */
	SQ_OUTBOX_STATS,  /* count and oldest time above the mark */
	SQ_SETTING_GET,
	SQ_SETTING_SET,
	SQ_POOL_GET,    /* pool.c: the control row */
	SQ_POOL_SET,    /* written only with a higher generation */
	SQ_POOL_FENCE,  /* fenced by a higher generation */
	SQ_SERVER_BEAT, /* heartbeat upsert */
	SQ_SERVER_LIST,
	SQ_SERVER_FORGET,
	SQ_N_STMTS
};

/* Statements on the compliance database handle (sq_conn.cdb, compliance.c). */
enum sqc_stmt_id {
	SQC_BEGIN,
	SQC_BEGIN_IMMEDIATE,
	SQC_COMMIT,
	SQC_ROLLBACK,
	SQC_MARK,           /* state.moved_upto */
	SQC_MARK_SET,       /* raise it */
	SQC_EVENT_INSERT,   /* one moved outbox row */
	SQC_CLAIM_EXPIRED,  /* the oldest claim whose lease ran out */
	SQC_CLAIM_TAKE,     /* a new owner and lease for it */
	SQC_CLAIM_DELETE,   /* by lo */
	SQC_EVENT_NEXT,     /* first event id above a cursor */
	SQC_CLAIM_COVERING, /* the claim starting at or below an id */
	SQC_CLAIM_NEXT_LO,  /* the first claim starting above an id */
	SQC_RANGE,          /* last id and count of the first max events of a range */
	SQC_RANGE_COUNT,    /* events in [lo, hi] */
	SQC_CLAIM_INSERT,
	SQC_FETCH,
	SQC_RENEW,
	SQC_PURGE,         /* events of [lo, hi] */
	SQC_CLAIM_DONE,    /* by range, any owner */
	SQC_CLAIM_RELEASE, /* by range and owner */
	SQC_STATE_DONE,
	SQC_STATE_ERROR,
	SQC_STATE,
	SQC_EVENT_STATS, /* count and oldest time */
	SQC_CLAIM_COUNT,
	SQC_N_STMTS
};

/* A SQLite connection; base must stay first (store.c sees only base). */
struct sq_conn {
	struct store_conn base;            /* generic part */
	sqlite3 *db;                       /* the handle */
	sqlite3_stmt *stmts[SQ_N_STMTS];   /* prepared on first use, kept */
	char path[256];                    /* database file, for messages */
	bool readonly;                     /* opened STORE_CONN_READ */
	sqlite3 *cdb;                      /* compliance database, opened on first use, or NULL */
	sqlite3_stmt *cstmts[SQC_N_STMTS]; /* its statements, prepared on first use */
	char cpath[272];                   /* its file (path with "-compliance.db") */
	struct sq_ckpt *ckpt;              /* the checkpointer (STORE_CONN_GROUP), or NULL */
};

/* The sq_conn holding c. */
static inline struct sq_conn *sq_of(struct store_conn *c)
{
	return (struct sq_conn *)c;
}

/* SQL text of each statement (sql.c). */
extern const char *const sq_sql[SQ_N_STMTS];
/* SQL text of each compliance database statement (sql.c). */
extern const char *const sqc_sql[SQC_N_STMTS];

/* The cached statement id of c (prepared on first use), or NULL (logged). */
sqlite3_stmt *sq_stmt(struct sq_conn *sc, enum sq_stmt_id id);

/*
 * Map a SQLite result code to a store_err. Unique violations become
 * STORE_EEXIST without a log line; failures are logged with what.
 * Resets stmt (when not NULL) so it can be reused.
 */
int sq_fail(struct sq_conn *sc, sqlite3_stmt *stmt, int rc, const char *what);
/* The same for any handle db of file path (the compliance database). */
int sq_fail_db(sqlite3 *db, const char *path, sqlite3_stmt *stmt, int rc, const char *what);

/*
 * Make sure the database file path exists with mode 0600 (created with
 * create) and is not readable by others; message in err on failure.
 */
int sq_prepare_file(const char *path, bool create, char *err, size_t errlen);

/* Step a statement that returns no row; 0 or a store_err. Resets it. */
int sq_exec_stmt(struct sq_conn *sc, sqlite3_stmt *stmt, const char *what);

/* Bind text, or NULL when s is NULL (SQLITE_STATIC: s must outlive the step). */
int sq_bind_text(sqlite3_stmt *stmt, int col, const char *s);

/* Column text copied into a new string ("" when NULL if not nullable). */
char *sq_col_dup(sqlite3_stmt *stmt, int col, bool nullable);

/* The columns msg_row reads, in order (for "SELECT " SQ_MSG_COLS " FROM messages m"). */
#define SQ_MSG_COLS                                                                                \
	"m.id, m.room_id, m.peer, m.seq, m.msgid, m.ts_ms, m.sender, m.kind, m.text, m.tags, "     \
	"m.redacted"

/*
 * The checkpointer thread of the writer thread's connection (ckpt.c):
 * started after its pragmas, stopped before it closes.
 */
int sq_ckpt_start(struct sq_conn *sc, char *err, size_t errlen);
void sq_ckpt_stop(struct sq_conn *sc);

/* Fill a store_msg from a row of SQ_MSG_COLS (sqlite.c). */
void sq_msg_row(sqlite3_stmt *st, void *item);

/* Free an array of messages (store_msg_free each, then free). */
void sq_msgs_free(struct store_msg *v, size_t n);

/*
 * Run a list query, calling row(st, array + i) for each row into a growing
 * array of elem-sized items appended to *out / *n (sqlite.c). On failure
 * the caller frees what was read.
 */
/*
 * Run statement id with ?1 = name: its one row into out through row();
 * STORE_ENOTFOUND when there is none.
 */
int sq_get_by_name(struct sq_conn *sc, enum sq_stmt_id id, const char *name,
                   void (*row)(sqlite3_stmt *st, void *item), void *out, const char *what);

/*
 * Every row of statement id (no parameters) into a new array *out of *n;
 * on failure the rows read so far are freed with item_free and *out is NULL.
 */
int sq_list(struct sq_conn *sc, enum sq_stmt_id id, size_t elem,
            void (*row)(sqlite3_stmt *st, void *item), void (*item_free)(void *item), void **out,
            size_t *n, const char *what);

int sq_collect(struct sq_conn *sc, sqlite3_stmt *st, size_t elem,
               void (*row)(sqlite3_stmt *st, void *item), void **out, size_t *n, const char *what);

/* Step a statement expected to change one row: STORE_ENOTFOUND when none. */
int sq_exec_one(struct sq_conn *sc, sqlite3_stmt *st, const char *what);

/*
 * Run fn(sc, arg) inside the current transaction, or, when none is open
 * (direct use), inside one of its own that is committed when fn returns 0
 * and rolled back otherwise.
 */
int sq_in_txn(struct sq_conn *sc, int (*fn)(struct sq_conn *sc, void *arg), void *arg);

/* Deferred search indexing (history.c), also run by search to catch up. */
int sq_maintain(struct store_conn *c, int budget, bool *more);

/*
 * Upkeep between write batches (store_backend.maintain): search indexing,
 * then moving the compliance outbox (compliance.c).
 */
int sq_maintain_all(struct store_conn *c, int budget, bool *more);
size_t sq_cache_bytes(struct store_conn *c); /* page caches of the handles */

/* Compliance queue (compliance.c, comp_claims.c), for the backend table. */
int sq_cevent_add(struct store_conn *c, struct store_cevent *e);
int sq_comp_enabled(struct store_conn *c, bool *on);
int sq_comp_set_enabled(struct store_conn *c, bool on);
int sq_comp_move(struct store_conn *c, int limit, int64_t *n);
int sq_comp_claim(struct store_conn *c, const char *owner, const char *params, int max_events,
                  int64_t lease_ms, int64_t now_ms, struct store_comp_claim *out);
int sq_comp_fetch(struct store_conn *c, int64_t lo, int64_t hi, struct store_cevent **out,
                  size_t *n);
int sq_comp_renew(struct store_conn *c, const struct store_comp_claim *cl, int64_t expires_ms);
int sq_comp_done(struct store_conn *c, const struct store_comp_claim *cl, const char *file,
                 int64_t now_ms);
int sq_comp_failed(struct store_conn *c, const struct store_comp_claim *cl, bool release,
                   const char *error, int64_t now_ms);
int sq_comp_status(struct store_conn *c, struct store_comp_status *out);

/* Shared by compliance.c and comp_claims.c. */
/* Open (create, migrate) the compliance database of sc unless it is open. */
int sqc_open(struct sq_conn *sc);
/*
 * Carry up to limit outbox rows into the compliance database (store.h
 * store_comp_move), sc outside any transaction; nowait as for sqc_begin.
 */
int sqc_move(struct sq_conn *sc, int limit, bool nowait, int64_t *n);
/* Close it and finalize its statements (sq_close_conn). */
void sqc_close(struct sq_conn *sc);
/* Its cached statement id, or NULL (logged). */
sqlite3_stmt *sqc_stmt(struct sq_conn *sc, enum sqc_stmt_id id);
/* sq_fail / sq_exec_stmt for the compliance handle. */
int sqc_fail(struct sq_conn *sc, sqlite3_stmt *stmt, int rc, const char *what);
int sqc_exec(struct sq_conn *sc, sqlite3_stmt *stmt, const char *what);
/*
 * BEGIN IMMEDIATE on the compliance handle. With nowait, a lock held by
 * another connection gives STORE_EBUSY at once and without a log line.
 */
int sqc_begin(struct sq_conn *sc, bool nowait);
int sqc_commit(struct sq_conn *sc);
void sqc_rollback(struct sq_conn *sc); /* nothing when no transaction is open */
/*
 * Step statement st (parameters bound) expecting one row whose first
 * column is an integer: *v. STORE_ENOTFOUND for no row or NULL. Resets st.
 */
int sqc_int64(struct sq_conn *sc, sqlite3_stmt *st, int64_t *v, const char *what);
/* The compliance columns, in the order of struct store_cevent. */
#define SQ_CEVENT_COLS                                                                             \
	"id, ts_ms, type, actor, actor_id, address, room_id, room, category, logged, peer, "       \
	"msgid, content, detail"
#define SQ_CEVENT_N_COLS 14
/* Fill a store_cevent from a row of SQ_CEVENT_COLS (sq_collect row function). */
void sq_cevent_row(sqlite3_stmt *st, void *item);

/* Rooms issue data operations (rooms.c, history.c), for the backend table. */
int sq_group_add(struct store_conn *c, struct store_group *g);
int sq_group_get(struct store_conn *c, const char *name, struct store_group *out);
int sq_group_update(struct store_conn *c, const struct store_group *g);
int sq_group_remove(struct store_conn *c, const char *name);
int sq_group_list(struct store_conn *c, struct store_group **out, size_t *n);
int sq_addin_add(struct store_conn *c, const struct store_addin *a);
int sq_addin_get(struct store_conn *c, const char *name, struct store_addin *out);
int sq_addin_remove(struct store_conn *c, const char *name);
int sq_addin_list(struct store_conn *c, struct store_addin **out, size_t *n);
int sq_follow_add(struct store_conn *c, const char *account, const char *room);
int sq_follow_remove(struct store_conn *c, const char *account, const char *room);
int sq_follow_list(struct store_conn *c, const char *account, char ***out, size_t *n);
int sq_invite_add(struct store_conn *c, const struct store_invite *inv);
int sq_invite_take(struct store_conn *c, const char *account, struct store_invite **out, size_t *n);
int sq_marker_set(struct store_conn *c, const char *account, const char *target, int64_t ts_ms);
int sq_marker_get(struct store_conn *c, const char *account, const char *target, int64_t *ts_ms);
int sq_change_add(struct store_conn *c, const char *kind, const char *name, int64_t ts_ms);
int sq_change_since(struct store_conn *c, int64_t after, int limit, struct store_change **out,
                    size_t *n);
int sq_change_last(struct store_conn *c, int64_t *id);
int sq_msg_history(struct store_conn *c, const struct store_history_query *q,
                   struct store_msg **out, size_t *n);
int sq_msg_by_msgid(struct store_conn *c, const char *msgid, struct store_msg *out);
int sq_msg_targets(struct store_conn *c, const int64_t *room_ids, size_t n_rooms,
                   const char *account, int64_t after_ts, int64_t before_ts, int limit,
                   struct store_target **out, size_t *n);
int sq_msg_search(struct store_conn *c, const struct store_search_query *q, struct store_msg **out,
                  size_t *n, bool *more);
int sq_msg_redact(struct store_conn *c, const struct store_msg_filter *f, const char *replacement,
                  struct store_msg **out, size_t *n);
int sq_room_clear(struct store_conn *c, int64_t room_id, int64_t before_ts, int64_t *n);

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
/* The compliance database's own migrations (schema.c). */
extern const char *const sqc_migrations[];
extern const int sqc_n_migrations;

/* The pool section (pool.c). */
int sq_pool_get(struct store_conn *c, struct store_pool_state *out);
int sq_pool_set(struct store_conn *c, const struct store_pool_state *st);
int sq_pool_fence(struct store_conn *c, int64_t generation, const char *by);
int sq_server_beat(struct store_conn *c, const struct store_server *s);
int sq_server_list(struct store_conn *c, struct store_server **out, size_t *n);
int sq_server_forget(struct store_conn *c, const char *name);

/* Moving a database (dump.c): the source side only. */
int sq_dump(struct store_conn *c, int table, store_row_cb cb, void *arg);
bool sq_in_use(const char *target, int *pid);

#endif
