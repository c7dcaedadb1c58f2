/*
 * sqlite.c — the SQLite backend's data operations and its backend table.
 *
 * Every statement is prepared once per connection (sq_stmt) and reset after
 * use. Arguments were validated by store.c; here only what needs the
 * database is checked (missing rows, unique names). Message text and
 * password hashes never reach a log line: errors log SQLite's message only.
 *
 * Connections, transactions, migrations: conn.c. Schema: schema.c. SQL: sql.c.
 * The rooms issue's operations: rooms.c (groups, add-ins, follows,
 * invitations, markers, changes) and history.c (history, search, redaction).
 * The compliance queue: compliance.c (outbox, settings, the compliance
 * file, the move) and comp_claims.c (claims, fetch, purge, status).
 */
#include "store/sqlite/sqlite_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sq_exec_one(struct sq_conn *sc, sqlite3_stmt *st, const char *what)
{
	int rc = sq_exec_stmt(sc, st, what);

	if (rc == 0 && sqlite3_changes(sc->db) == 0)
		rc = STORE_ENOTFOUND;
	return rc;
}

int sq_collect(struct sq_conn *sc, sqlite3_stmt *st, size_t elem,
               void (*row)(sqlite3_stmt *st, void *item), void **out, size_t *n, const char *what)
{
	size_t cap = *n;
	char *arr = *out;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			arr = xrealloc(arr, cap * elem);
		}
		memset(arr + *n * elem, 0, elem);
		row(st, arr + *n * elem);
		(*n)++;
	}
	*out = arr;
	if (rc != SQLITE_DONE)
		return sq_fail(sc, st, rc, what); /* the caller frees what was read */
	sqlite3_reset(st);
	return 0;
}

int sq_get_by_name(struct sq_conn *sc, enum sq_stmt_id id, const char *name,
                   void (*row)(sqlite3_stmt *st, void *item), void *out, const char *what)
{
	sqlite3_stmt *st = sq_stmt(sc, id);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = STORE_ENOTFOUND;
	} else if (rc != SQLITE_ROW) {
		return sq_fail(sc, st, rc, what);
	} else {
		row(st, out);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

int sq_list(struct sq_conn *sc, enum sq_stmt_id id, size_t elem,
            void (*row)(sqlite3_stmt *st, void *item), void (*item_free)(void *item), void **out,
            size_t *n, const char *what)
{
	sqlite3_stmt *st = sq_stmt(sc, id);
	int rc;

	if (!st)
		return STORE_EIO;
	rc = sq_collect(sc, st, elem, row, out, n, what);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			item_free((char *)*out + i * elem);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* --- accounts ------------------------------------------------------------- */

static void account_row(sqlite3_stmt *st, void *item)
{
	struct store_account *a = item;

	a->id = sqlite3_column_int64(st, 0);
	str_copy(a->name, (const char *)sqlite3_column_text(st, 1), sizeof(a->name));
	a->pw_hash = sq_col_dup(st, 2, true);
	a->scram = sq_col_dup(st, 3, true);
	a->admin = sqlite3_column_int(st, 4) != 0;
	a->chat_enabled = sqlite3_column_int(st, 5) != 0;
	a->created_ms = sqlite3_column_int64(st, 6);
}

/* Parameters 2..5 of SQ_ACCOUNT_ADD and SQ_ACCOUNT_UPDATE. */
static void account_bind(sqlite3_stmt *st, const struct store_account *a)
{
	sq_bind_text(st, 2, a->pw_hash);
	sq_bind_text(st, 3, a->scram);
	sqlite3_bind_int(st, 4, a->admin);
	sqlite3_bind_int(st, 5, a->chat_enabled);
}

static int sq_account_add(struct store_conn *c, struct store_account *a)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ACCOUNT_ADD);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, a->name);
	account_bind(st, a);
	sqlite3_bind_int64(st, 6, a->created_ms);
	rc = sq_exec_stmt(sc, st, "adding an account");
	if (rc == 0)
		a->id = sqlite3_last_insert_rowid(sc->db);
	return rc;
}

static int sq_account_get(struct store_conn *c, const char *name, struct store_account *out)
{
	return sq_get_by_name(sq_of(c), SQ_ACCOUNT_GET, name, account_row, out,
	                      "reading an account");
}

static int sq_account_update(struct store_conn *c, const struct store_account *a)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ACCOUNT_UPDATE);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, a->name);
	account_bind(st, a);
	sqlite3_bind_int64(st, 6, a->id);
	return sq_exec_one(sc, st, "updating an account");
}

static int sq_account_remove(struct store_conn *c, const char *name)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ACCOUNT_REMOVE);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	return sq_exec_one(sc, st, "removing an account");
}

/* store_account_free for sq_list. */
static void store_account_free_v(void *item)
{
	store_account_free(item);
}

static int sq_account_list(struct store_conn *c, struct store_account **out, size_t *n)
{
	return sq_list(sq_of(c), SQ_ACCOUNT_LIST, sizeof(**out), account_row, store_account_free_v,
	               (void **)out, n, "listing accounts");
}

/* --- categories ----------------------------------------------------------- */

static void category_row(sqlite3_stmt *st, void *item)
{
	struct store_category *cat = item;

	cat->id = sqlite3_column_int64(st, 0);
	str_copy(cat->name, (const char *)sqlite3_column_text(st, 1), sizeof(cat->name));
	cat->allowed = sq_col_dup(st, 2, false);
	cat->created_ms = sqlite3_column_int64(st, 3);
	cat->denied = sq_col_dup(st, 4, false);
	cat->creators = sq_col_dup(st, 5, false);
	cat->invitations = sqlite3_column_int(st, 6) != 0;
	cat->file_upload = sqlite3_column_int(st, 7) != 0;
	cat->history = sqlite3_column_int(st, 8) != 0;
}

/* Parameters 6..8 of SQ_CATEGORY_ADD and SQ_CATEGORY_UPDATE. */
static void category_bind_flags(sqlite3_stmt *st, const struct store_category *cat)
{
	sqlite3_bind_int(st, 6, cat->invitations);
	sqlite3_bind_int(st, 7, cat->file_upload);
	sqlite3_bind_int(st, 8, cat->history);
}

static int sq_category_add(struct store_conn *c, struct store_category *cat)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_CATEGORY_ADD);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, cat->name);
	sq_bind_text(st, 2, cat->allowed ? cat->allowed : "*");
	sqlite3_bind_int64(st, 3, cat->created_ms);
	sq_bind_text(st, 4, cat->denied ? cat->denied : "");
	sq_bind_text(st, 5, cat->creators ? cat->creators : "");
	category_bind_flags(st, cat);
	rc = sq_exec_stmt(sc, st, "adding a category");
	if (rc == 0)
		cat->id = sqlite3_last_insert_rowid(sc->db);
	return rc;
}

static int sq_category_get(struct store_conn *c, const char *name, struct store_category *out)
{
	return sq_get_by_name(sq_of(c), SQ_CATEGORY_GET, name, category_row, out,
	                      "reading a category");
}

static int sq_category_update(struct store_conn *c, const struct store_category *cat)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_CATEGORY_UPDATE);

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, cat->id > 0 ? cat->id : 0);
	sq_bind_text(st, 2, cat->id > 0 ? NULL : cat->name);
	sq_bind_text(st, 3, cat->allowed);
	sq_bind_text(st, 4, cat->denied);
	sq_bind_text(st, 5, cat->creators);
	category_bind_flags(st, cat);
	return sq_exec_one(sc, st, "updating a category");
}

static int sq_category_remove(struct store_conn *c, const char *name)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_CATEGORY_REMOVE);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	return sq_exec_one(sc, st, "removing a category"); /* FK: ENOTEMPTY */
}

/* store_category_free for sq_list. */
static void store_category_free_v(void *item)
{
	store_category_free(item);
}

static int sq_category_list(struct store_conn *c, struct store_category **out, size_t *n)
{
	return sq_list(sq_of(c), SQ_CATEGORY_LIST, sizeof(**out), category_row,
	               store_category_free_v, (void **)out, n, "listing categories");
}

/* The id of a category, or STORE_ENOTFOUND. */
static int category_id(struct sq_conn *sc, const char *name, int64_t *id)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_CATEGORY_ID);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = STORE_ENOTFOUND;
	} else if (rc != SQLITE_ROW) {
		return sq_fail(sc, st, rc, "finding a category");
	} else {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

/* --- rooms ---------------------------------------------------------------- */

static void room_row(sqlite3_stmt *st, void *item)
{
	struct store_room *r = item;

	r->id = sqlite3_column_int64(st, 0);
	str_copy(r->name, (const char *)sqlite3_column_text(st, 1), sizeof(r->name));
	str_copy(r->category, (const char *)sqlite3_column_text(st, 2), sizeof(r->category));
	r->description = sq_col_dup(st, 3, false);
	r->created_ms = sqlite3_column_int64(st, 4);
	r->last_seq = sqlite3_column_int64(st, 5);
	r->privacy = sqlite3_column_int(st, 6);
	r->type = sqlite3_column_int(st, 7);
	r->invitations_off = sqlite3_column_int(st, 8) != 0;
	r->disabled = sqlite3_column_int(st, 9) != 0;
	str_copy(r->addin, (const char *)sqlite3_column_text(st, 10), sizeof(r->addin));
	r->members = sq_col_dup(st, 11, false);
	r->managers = sq_col_dup(st, 12, false);
	r->presenters = sq_col_dup(st, 13, false);
}

/* A room's add-in must exist (or be ""): STORE_EINVAL otherwise. */
static int addin_exists(struct sq_conn *sc, const char *addin)
{
	sqlite3_stmt *st;
	int rc;

	if (!addin[0])
		return 0;
	if (!(st = sq_stmt(sc, SQ_ADDIN_CHECK)))
		return STORE_EIO;
	sq_bind_text(st, 1, addin);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(sc, st, rc, "finding an add-in");
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : STORE_EINVAL;
}

/*
 * Parameters 5..12 of SQ_ROOM_ADD and SQ_ROOM_UPDATE; with keep, NULL lists
 * are bound as NULL (keep the current value), else as "".
 */
static void room_bind_settings(sqlite3_stmt *st, const struct store_room *r, bool keep)
{
	const char *empty = keep ? NULL : "";

	sqlite3_bind_int(st, 5, r->privacy);
	sqlite3_bind_int(st, 6, r->type);
	sqlite3_bind_int(st, 7, r->invitations_off);
	sqlite3_bind_int(st, 8, r->disabled);
	sq_bind_text(st, 9, r->addin);
	sq_bind_text(st, 10, r->members ? r->members : empty);
	sq_bind_text(st, 11, r->managers ? r->managers : empty);
	sq_bind_text(st, 12, r->presenters ? r->presenters : empty);
}

static int sq_room_add(struct store_conn *c, struct store_room *r)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ROOM_ADD);
	int rc;

	if (!st)
		return STORE_EIO;
	if ((rc = addin_exists(sc, r->addin)) != 0)
		return rc;
	sq_bind_text(st, 1, r->name);
	sq_bind_text(st, 2, r->category);
	sq_bind_text(st, 3, r->description ? r->description : "");
	sqlite3_bind_int64(st, 4, r->created_ms);
	room_bind_settings(st, r, false);
	rc = sq_exec_one(sc, st, "adding a room"); /* no row: no such category */
	if (rc == 0) {
		r->id = sqlite3_last_insert_rowid(sc->db);
		r->last_seq = 0;
	}
	return rc;
}

static int sq_room_get(struct store_conn *c, const char *name, struct store_room *out)
{
	return sq_get_by_name(sq_of(c), SQ_ROOM_GET, name, room_row, out, "reading a room");
}

static int sq_room_update(struct store_conn *c, const struct store_room *r)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ROOM_UPDATE);
	const char *category = r->category[0] ? r->category : NULL;
	int64_t cat_id = 0;
	int rc;

	if (!st)
		return STORE_EIO;
	if (category && (rc = category_id(sc, category, &cat_id)) != 0)
		return rc;
	if ((rc = addin_exists(sc, r->addin)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, r->id > 0 ? r->id : 0);
	sq_bind_text(st, 2, r->id > 0 ? NULL : r->name);
	sq_bind_text(st, 3, r->description);
	room_bind_settings(st, r, true);
	if (category)
		sqlite3_bind_int64(st, 4, cat_id);
	else
		sqlite3_bind_null(st, 4);
	return sq_exec_one(sc, st, "updating a room");
}

static int sq_room_remove(struct store_conn *c, const char *name)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ROOM_REMOVE);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	return sq_exec_one(sc, st, "removing a room"); /* its messages go with it */
}

/* store_room_free for sq_list. */
static void store_room_free_v(void *item)
{
	store_room_free(item);
}

static int sq_room_list(struct store_conn *c, struct store_room **out, size_t *n)
{
	return sq_list(sq_of(c), SQ_ROOM_LIST, sizeof(**out), room_row, store_room_free_v,
	               (void **)out, n, "listing rooms");
}

/* --- messages ------------------------------------------------------------- */

/*
 * Set the room's last sequence number (the write lock is held). A SELECT and
 * an UPDATE cost less than one UPDATE ... RETURNING, which SQLite runs
 * through a temporary table.
 */
static int set_seq(struct sq_conn *sc, int64_t room_id, int64_t seq)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_ROOM_SET_SEQ);

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, room_id);
	sqlite3_bind_int64(st, 2, seq);
	return sq_exec_stmt(sc, st, "numbering a message");
}

/* Take the room's next sequence number (the write lock is held). */
static int next_seq(struct sq_conn *sc, int64_t room_id, int64_t *seq)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_ROOM_LAST_SEQ);
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, room_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return STORE_ENOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return sq_fail(sc, st, rc, "numbering a message");
	*seq = sqlite3_column_int64(st, 0) + 1;
	sqlite3_reset(st);
	return set_seq(sc, room_id, *seq);
}

/* Bind the columns of SQ_MSG_INSERT after room_id/pm_a/pm_b/peer. */
static void msg_bind(sqlite3_stmt *st, const struct store_msg *m, int64_t seq)
{
	sqlite3_bind_int64(st, 5, seq);
	sq_bind_text(st, 6, m->msgid);
	sqlite3_bind_int64(st, 7, m->ts_ms);
	sq_bind_text(st, 8, m->sender);
	sq_bind_text(st, 9, m->kind);
	sq_bind_text(st, 10, m->text ? m->text : "");
	sq_bind_text(st, 11, m->tags);
}

/*
 * Insert with the write lock held. A room message takes the next seq first;
 * if the INSERT then fails (duplicate msgid), the bump is undone so the
 * numbers stay contiguous without a savepoint on the hot path.
 */
static int msg_insert_locked(struct sq_conn *sc, sqlite3_stmt *st, struct store_msg *m)
{
	char a[STORE_NAME_MAX], b[STORE_NAME_MAX];
	int64_t seq = 0;
	int rc;

	if (m->room_id > 0) {
		if ((rc = next_seq(sc, m->room_id, &seq)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, m->room_id);
	} else {
		str_lower(a, m->sender, sizeof(a));
		str_lower(b, m->peer, sizeof(b));
		sqlite3_bind_null(st, 1);
		sq_bind_text(st, 2, strcmp(a, b) <= 0 ? a : b);
		sq_bind_text(st, 3, strcmp(a, b) <= 0 ? b : a);
		sq_bind_text(st, 4, m->peer);
	}
	msg_bind(st, m, seq);
	rc = sq_exec_stmt(sc, st, "storing a message");
	sqlite3_clear_bindings(st);
	if (rc == 0) {
		m->id = sqlite3_last_insert_rowid(sc->db);
		m->seq = seq;
	} else if (m->room_id > 0 && set_seq(sc, m->room_id, seq - 1) != 0) {
		rc = STORE_EIO;
	}
	return rc;
}

static int sq_msg_insert(struct store_conn *c, struct store_msg *m)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_MSG_INSERT);
	int rc;

	if (!st)
		return STORE_EIO;
	if (!sqlite3_get_autocommit(sc->db))
		return msg_insert_locked(sc, st, m);
	/* outside a transaction: one of our own, so seq and row go together */
	if ((rc = sq_begin(c, true)) != 0)
		return rc;
	rc = msg_insert_locked(sc, st, m);
	if (rc == 0)
		rc = sq_commit(c);
	if (rc != 0)
		sq_rollback(c);
	return rc;
}

void sq_msg_row(sqlite3_stmt *st, void *item)
{
	struct store_msg *m = item;
	const char *peer = (const char *)sqlite3_column_text(st, 2);

	m->id = sqlite3_column_int64(st, 0);
	m->room_id = sqlite3_column_int64(st, 1); /* NULL reads as 0 */
	str_copy(m->peer, peer ? peer : "", sizeof(m->peer));
	m->seq = sqlite3_column_int64(st, 3);
	str_copy(m->msgid, (const char *)sqlite3_column_text(st, 4), sizeof(m->msgid));
	m->ts_ms = sqlite3_column_int64(st, 5);
	str_copy(m->sender, (const char *)sqlite3_column_text(st, 6), sizeof(m->sender));
	str_copy(m->kind, (const char *)sqlite3_column_text(st, 7), sizeof(m->kind));
	m->text = sq_col_dup(st, 8, false);
	m->tags = sq_col_dup(st, 9, true);
	m->redacted = sqlite3_column_int(st, 10);
}

void sq_msgs_free(struct store_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_msg_free(&v[i]);
	free(v);
}

int sq_in_txn(struct sq_conn *sc, int (*fn)(struct sq_conn *sc, void *arg), void *arg)
{
	int rc;

	if (!sqlite3_get_autocommit(sc->db))
		return fn(sc, arg);
	if ((rc = sq_begin(&sc->base, true)) != 0)
		return rc;
	rc = fn(sc, arg);
	if (rc == 0)
		rc = sq_commit(&sc->base);
	if (rc != 0)
		sq_rollback(&sc->base);
	return rc;
}

static int sq_msg_latest(struct store_conn *c, int64_t room_id, const char *a, const char *b,
                         int64_t before, int limit, struct store_msg **out, size_t *n)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, room_id > 0 ? SQ_MSG_LATEST_ROOM : SQ_MSG_LATEST_PM);
	int i = 1, rc;

	if (!st)
		return STORE_EIO;
	if (room_id > 0) {
		sqlite3_bind_int64(st, i++, room_id);
	} else {
		sq_bind_text(st, i++, a);
		sq_bind_text(st, i++, b);
	}
	sqlite3_bind_int64(st, i++, before > 0 ? before : INT64_MAX);
	sqlite3_bind_int(st, i, limit);
	rc = sq_collect(sc, st, sizeof(**out), sq_msg_row, (void **)out, n, "reading history");
	for (size_t j = 0; j < *n / 2; j++) { /* newest first -> oldest first */
		struct store_msg t = (*out)[j];

		(*out)[j] = (*out)[*n - 1 - j];
		(*out)[*n - 1 - j] = t;
	}
	if (rc) {
		for (size_t j = 0; j < *n; j++)
			store_msg_free(&(*out)[j]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static int sq_msg_count(struct store_conn *c, int64_t room_id, int64_t *n)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, room_id > 0 ? SQ_MSG_COUNT_ROOM : SQ_MSG_COUNT_ALL);
	int rc;

	if (!st)
		return STORE_EIO;
	if (room_id > 0)
		sqlite3_bind_int64(st, 1, room_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return sq_fail(sc, st, rc, "counting messages");
	*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open_conn = sq_open_conn,
    .close_conn = sq_close_conn,
    .maintain = sq_maintain_all,
    .cache_bytes = sq_cache_bytes,
    .migrate = sq_migrate,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .account_add = sq_account_add,
    .account_get = sq_account_get,
    .account_update = sq_account_update,
    .account_remove = sq_account_remove,
    .account_list = sq_account_list,
    .category_add = sq_category_add,
    .category_get = sq_category_get,
    .category_update = sq_category_update,
    .category_remove = sq_category_remove,
    .category_list = sq_category_list,
    .room_add = sq_room_add,
    .room_get = sq_room_get,
    .room_update = sq_room_update,
    .room_remove = sq_room_remove,
    .room_list = sq_room_list,
    .msg_insert = sq_msg_insert,
    .msg_latest = sq_msg_latest,
    .msg_count = sq_msg_count,
    .check = sq_check,
    .group_add = sq_group_add,
    .group_get = sq_group_get,
    .group_update = sq_group_update,
    .group_remove = sq_group_remove,
    .group_list = sq_group_list,
    .addin_add = sq_addin_add,
    .addin_get = sq_addin_get,
    .addin_remove = sq_addin_remove,
    .addin_list = sq_addin_list,
    .follow_add = sq_follow_add,
    .follow_remove = sq_follow_remove,
    .follow_list = sq_follow_list,
    .invite_add = sq_invite_add,
    .invite_take = sq_invite_take,
    .marker_set = sq_marker_set,
    .marker_get = sq_marker_get,
    .change_add = sq_change_add,
    .change_since = sq_change_since,
    .change_last = sq_change_last,
    .msg_history = sq_msg_history,
    .msg_by_msgid = sq_msg_by_msgid,
    .msg_targets = sq_msg_targets,
    .msg_search = sq_msg_search,
    .msg_redact = sq_msg_redact,
    .room_clear = sq_room_clear,
    .cevent_add = sq_cevent_add,
    .comp_enabled = sq_comp_enabled,
    .comp_set_enabled = sq_comp_set_enabled,
    .comp_move = sq_comp_move,
    .comp_claim = sq_comp_claim,
    .comp_fetch = sq_comp_fetch,
    .comp_renew = sq_comp_renew,
    .comp_done = sq_comp_done,
    .comp_failed = sq_comp_failed,
    .comp_status = sq_comp_status,
    .pool_get = sq_pool_get,
    .pool_set = sq_pool_set,
    .pool_fence = sq_pool_fence,
    .server_beat = sq_server_beat,
    .server_list = sq_server_list,
    .server_forget = sq_server_forget,
    .notify = NULL, /* one server: nobody to tell */
    .listen_open = NULL,
    .listen_free = NULL,
    .dump = sq_dump,
    .in_use = sq_in_use,
};
