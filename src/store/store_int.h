/*
 * store_int.h — what a storage backend implements, and what store.c needs
 * to know of a connection.
 *
 * A backend (sqlite/, pg/) fills one const struct store_backend and
 * embeds struct store_conn as the first member of its own connection type.
 * store.c validates arguments, then calls the backend through these
 * pointers only; it never sees SQL. Nothing here is part of the public
 * interface (store.h): only src/store/ includes this file.
 */
#ifndef PCHAT_STORE_STORE_INT_H
#define PCHAT_STORE_STORE_INT_H

#include "store/store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a connection is for. */
enum store_conn_mode {
	STORE_CONN_WRITE, /* read-write: store_direct() */
	STORE_CONN_GROUP, /* read-write, the writer thread's (group commits, long-lived) */
	STORE_CONN_READ,  /* read-only: reader threads */
};

/* The generic part of every backend connection (first member). */
struct store_conn {
	const struct store_backend *be; /* the backend's operations */
	bool in_job;                    /* running a store job: the store owns transactions */
	_Atomic size_t cache_bytes;     /* be->cache_bytes after its thread's last job */
};

/* The generic part of every backend's listener (first member; store_bus.c). */
struct store_listener {
	const struct store_backend *be; /* the backend that made it */
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
	 * Background upkeep on the writer connection when no write is
	 * waiting (deferred search indexing): at most budget rows, in its own
	 * transaction; *more when work is left. NULL when the backend has none.
	 */
	int (*maintain)(struct store_conn *c, int budget, bool *more);
	/*
	 * Bytes of memory the connection's own caches hold now (SQLite's page
	 * caches); called on the connection's thread. NULL when none.
	 */
	size_t (*cache_bytes)(struct store_conn *c);
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
	/*
	 * By id when r->id > 0, else by name; NULL strings and an empty
	 * category keep the current value, every other field is written.
	 */
	int (*room_update)(struct store_conn *c, const struct store_room *r);
	int (*room_remove)(struct store_conn *c, const char *name);
	int (*room_list)(struct store_conn *c, struct store_room **out, size_t *n);

	int (*msg_insert)(struct store_conn *c, struct store_msg *m);
	/* a and b are lower-cased and sorted (a < b) for private conversations. */
	int (*msg_latest)(struct store_conn *c, int64_t room_id, const char *a, const char *b,
	                  int64_t before, int limit, struct store_msg **out, size_t *n);
	int (*msg_count)(struct store_conn *c, int64_t room_id, int64_t *n);
	int (*check)(struct store_conn *c, char *detail, size_t detail_len);

	/* Rooms issue (store.h "rooms issue" sections). */
	int (*group_add)(struct store_conn *c, struct store_group *g);
	int (*group_get)(struct store_conn *c, const char *name, struct store_group *out);
	int (*group_update)(struct store_conn *c, const struct store_group *g);
	int (*group_remove)(struct store_conn *c, const char *name);
	int (*group_list)(struct store_conn *c, struct store_group **out, size_t *n);
	int (*addin_add)(struct store_conn *c, const struct store_addin *a);
	int (*addin_get)(struct store_conn *c, const char *name, struct store_addin *out);
	int (*addin_remove)(struct store_conn *c, const char *name);
	int (*addin_list)(struct store_conn *c, struct store_addin **out, size_t *n);
	int (*follow_add)(struct store_conn *c, const char *account, const char *room);
	int (*follow_remove)(struct store_conn *c, const char *account, const char *room);
	int (*follow_list)(struct store_conn *c, const char *account, char ***out, size_t *n);
	int (*invite_add)(struct store_conn *c, const struct store_invite *inv);
	int (*invite_take)(struct store_conn *c, const char *account, struct store_invite **out,
	                   size_t *n);
	int (*marker_set)(struct store_conn *c, const char *account, const char *target,
	                  int64_t ts_ms);
	int (*marker_get)(struct store_conn *c, const char *account, const char *target,
	                  int64_t *ts_ms);
	/* ts_ms is the caller's clock (store.c). */
	int (*change_add)(struct store_conn *c, const char *kind, const char *name, int64_t ts_ms);
	int (*change_since)(struct store_conn *c, int64_t after, int limit,
	                    struct store_change **out, size_t *n);
	int (*change_last)(struct store_conn *c, int64_t *id);

	/* q->a and q->b are lower-cased and sorted (a < b) for a conversation. */
	int (*msg_history)(struct store_conn *c, const struct store_history_query *q,
	                   struct store_msg **out, size_t *n);
	int (*msg_by_msgid)(struct store_conn *c, const char *msgid, struct store_msg *out);
	/*
	 * account is lower-cased (or NULL). Every conversation of the window,
	 * in any order: store.c sorts them and keeps the first limit.
	 */
	int (*msg_targets)(struct store_conn *c, const int64_t *room_ids, size_t n_rooms,
	                   const char *account, int64_t after_ts, int64_t before_ts, int limit,
	                   struct store_target **out, size_t *n);
	/* q->account is lower-cased (or NULL); q->text is not NULL. */
	int (*msg_search)(struct store_conn *c, const struct store_search_query *q,
	                  struct store_msg **out, size_t *n, bool *more);
	int (*msg_redact)(struct store_conn *c, const struct store_msg_filter *f,
	                  const char *replacement, struct store_msg **out, size_t *n);
	int (*room_clear)(struct store_conn *c, int64_t room_id, int64_t before_ts, int64_t *n);

	/*
	 * Compliance (store.h "compliance"; store_comp.c validates). now_ms is
	 * the caller's clock; e->ts_ms is already set. comp_move is only
	 * called outside any transaction; comp_claim moves the outbox itself
	 * when the connection is outside a transaction.
	 */
	int (*cevent_add)(struct store_conn *c, struct store_cevent *e);
	int (*comp_enabled)(struct store_conn *c, bool *on);
	int (*comp_set_enabled)(struct store_conn *c, bool on);
	int (*comp_move)(struct store_conn *c, int limit, int64_t *n);
	int (*comp_claim)(struct store_conn *c, const char *owner, const char *params,
	                  int max_events, int64_t lease_ms, int64_t now_ms,
	                  struct store_comp_claim *out);
	int (*comp_fetch)(struct store_conn *c, int64_t lo, int64_t hi, struct store_cevent **out,
	                  size_t *n);
	int (*comp_renew)(struct store_conn *c, const struct store_comp_claim *cl,
	                  int64_t expires_ms);
	int (*comp_done)(struct store_conn *c, const struct store_comp_claim *cl, const char *file,
	                 int64_t now_ms);
	/* cl may be NULL (an error outside any claim). */
	int (*comp_failed)(struct store_conn *c, const struct store_comp_claim *cl, bool release,
	                   const char *error, int64_t now_ms);
	int (*comp_status)(struct store_conn *c, struct store_comp_status *out);
	/*
	 * Log shipping of what is committed (store_comp_shipped; outside any
	 * transaction). NULL in a backend without log shipping (SQLite):
	 * store_comp_shipped then reports it shipped at once.
	 */
	int (*comp_shipped)(struct store_conn *c, bool end_segment, struct store_comp_ship *st);

	/*
	 * Pool bus (store.h "pool bus"; store_bus.c validates the payload).
	 * NULL in a backend without notifications (SQLite): store_notify then
	 * does nothing and store_listen fails. notify queues payload in c's
	 * open transaction (STORE_EINVAL when none is open). listen_open
	 * starts a listener on the database c is connected to, with a session
	 * of its own (c itself is not used: another thread may hold it).
	 */
	int (*notify)(struct store_conn *c, const char *payload, bool large);
	/* the payload of a large notification (store.h), by its number */
	int (*notify_fetch)(struct store_conn *c, int64_t id, char **payload);
	struct store_listener *(*listen_open)(struct store_conn *c, struct event_base *base,
	                                      store_listen_cb cb, void *arg, char *err,
	                                      size_t errlen);
	void (*listen_free)(struct store_listener *l);

	/*
	 * Pool (store.h "pool"; store_pool.c validates). pool_get fills every
	 * field (active never NULL; no row = generation 0, "normal", "").
	 * pool_set is one compare-and-set: written only when st->generation
	 * is greater than the stored one, else STORE_EBUSY. server_beat gets
	 * seen_ms already set; server_list orders by name.
	 */
	int (*pool_get)(struct store_conn *c, struct store_pool_state *out);
	int (*pool_set)(struct store_conn *c, const struct store_pool_state *st);
	int (*pool_fence)(struct store_conn *c, int64_t generation, const char *by);
	int (*server_beat)(struct store_conn *c, const struct store_server *s);
	int (*server_list)(struct store_conn *c, struct store_server **out, size_t *n);
	int (*server_forget)(struct store_conn *c, const char *name);

	/*
	 * Moving a database (store.h "moving a database"; store_migrate.c).
	 * dump reads one table in key order inside the caller's transaction,
	 * in bounded batches. A target backend fills load_prepare (check that
	 * c holds no chat data: STORE_ENOTEMPTY; with replace, delete it; then
	 * drop the rows a fresh schema brings, such as the "general"
	 * category), load (rows as given, ids kept) and load_finish (identity
	 * sequences past the copied ids); NULL where the backend cannot be a
	 * target. in_use looks for another process using target before it is
	 * opened (NULL when the backend cannot tell).
	 */
	int (*dump)(struct store_conn *c, int table, store_row_cb cb, void *arg);
	int (*load_prepare)(struct store_conn *c, bool replace);
	int (*load)(struct store_conn *c, int table, const struct store_value *rows, size_t n);
	int (*load_finish)(struct store_conn *c);
	bool (*in_use)(const char *target, int *pid);
};

/*
 * A name (account, category, room, group, add-in): 1 to STORE_NAME_MAX - 1
 * bytes of valid UTF-8 without controls, spaces or commas (store.c).
 */
bool store_name_ok(const char *name);

/* A principal list: NULL, or at most STORE_LIST_MAX bytes (store_rooms.c). */
bool store_list_ok(const char *list);

/*
 * Text matching shared by every backend (store.c), so that they agree on
 * what a query means (src/store/README.md "Search semantics").
 *
 * store_words() splits text at ASCII whitespace into at most max words
 * (pointers into buf, a copy of text of buflen bytes), leaving out words
 * without a letter or digit (ASCII alphanumeric or any byte >= 0x80), which
 * no tokenizer indexes. Returns the number of words.
 */
size_t store_words(const char *text, char *buf, size_t buflen, char **words, size_t max);

/* text without its leading and trailing white space: the start, *len bytes (an EXACT phrase). */
const char *store_text_trim(const char *text, size_t *len);

/* Whether text has no word at all (a search for "" or blanks: any text). */
bool store_text_blank(const char *text);

/*
 * Whether text passes the byte-for-byte check of a case-sensitive query:
 * ALL = every word occurs, ANY = one word occurs, EXACT = the phrase (text
 * of the query, outer whitespace trimmed) occurs; an occurrence must not be
 * preceded or followed by a letter or digit (whole words).
 */
bool store_text_matches(const char *text, const char *query, int match);

/* The SQLite backend (sqlite/sqlite.c). */
extern const struct store_backend store_sqlite_backend;

/* The PostgreSQL backend (pg/backend.c). */
extern const struct store_backend store_pg_backend;

#endif
