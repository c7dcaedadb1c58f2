/*
 * rooms.c — SQLite operations of the rooms issue's model: groups, add-ins,
 * followed rooms, pending invitations, read markers and the change feed.
 *
 * Arguments were validated by store_rooms.c. Follows, invitations and
 * markers reference account and room ids with ON DELETE CASCADE (markers of
 * a removed room go by trigger), so removals need no code here. History,
 * search and redaction are in history.c.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define CHANGES_KEEP       10000 /* newest rows of the change feed kept */
#define CHANGES_TRIM_EVERY 100   /* trim at every this many inserts */

/* Step a statement returning at most one int64; STORE_ENOTFOUND without a row. */
static int one_int64(struct sq_conn *sc, sqlite3_stmt *st, int64_t *v, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE) {
		rc = STORE_ENOTFOUND;
	} else if (rc != SQLITE_ROW) {
		return sq_fail(sc, st, rc, what);
	} else {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

/* The id of a row found by name through statement id (SQ_ACCOUNT_ID, SQ_ROOM_ID). */
static int id_of(struct sq_conn *sc, enum sq_stmt_id id, const char *name, int64_t *out)
{
	sqlite3_stmt *st = sq_stmt(sc, id);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	return one_int64(sc, st, out, "finding a row by name");
}

/* --- groups --------------------------------------------------------------- */

static void group_row(sqlite3_stmt *st, void *item)
{
	struct store_group *g = item;

	g->id = sqlite3_column_int64(st, 0);
	str_copy(g->name, (const char *)sqlite3_column_text(st, 1), sizeof(g->name));
	g->members = sq_col_dup(st, 2, false);
	g->created_ms = sqlite3_column_int64(st, 3);
}

int sq_group_add(struct store_conn *c, struct store_group *g)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_GROUP_ADD);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, g->name);
	sq_bind_text(st, 2, g->members ? g->members : "");
	sqlite3_bind_int64(st, 3, g->created_ms);
	rc = sq_exec_stmt(sc, st, "adding a group");
	if (rc == 0)
		g->id = sqlite3_last_insert_rowid(sc->db);
	return rc;
}

int sq_group_get(struct store_conn *c, const char *name, struct store_group *out)
{
	return sq_get_by_name(sq_of(c), SQ_GROUP_GET, name, group_row, out, "reading a group");
}

int sq_group_update(struct store_conn *c, const struct store_group *g)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_GROUP_UPDATE);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, g->name);
	sq_bind_text(st, 2, g->members ? g->members : "");
	return sq_exec_one(sc, st, "updating a group");
}

int sq_group_remove(struct store_conn *c, const char *name)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_GROUP_REMOVE);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, name);
	return sq_exec_one(sc, st, "removing a group");
}

/* store_group_free for sq_list. */
static void store_group_free_v(void *item)
{
	store_group_free(item);
}

int sq_group_list(struct store_conn *c, struct store_group **out, size_t *n)
{
	return sq_list(sq_of(c), SQ_GROUP_LIST, sizeof(**out), group_row, store_group_free_v,
	               (void **)out, n, "listing groups");
}

/* --- add-ins -------------------------------------------------------------- */

static void addin_row(sqlite3_stmt *st, void *item)
{
	struct store_addin *a = item;

	str_copy(a->name, (const char *)sqlite3_column_text(st, 0), sizeof(a->name));
	a->url = sq_col_dup(st, 1, false);
}

int sq_addin_add(struct store_conn *c, const struct store_addin *a)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ADDIN_ADD);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, a->name);
	sq_bind_text(st, 2, a->url);
	return sq_exec_stmt(sc, st, "adding an add-in");
}

int sq_addin_get(struct store_conn *c, const char *name, struct store_addin *out)
{
	return sq_get_by_name(sq_of(c), SQ_ADDIN_GET, name, addin_row, out, "reading an add-in");
}

int sq_addin_remove(struct store_conn *c, const char *name)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *used = sq_stmt(sc, SQ_ADDIN_USED);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ADDIN_REMOVE);
	int64_t one;
	int rc;

	if (!used || !st)
		return STORE_EIO;
	sq_bind_text(used, 1, name);
	rc = one_int64(sc, used, &one, "checking an add-in's rooms");
	if (rc == 0)
		return STORE_ENOTEMPTY;
	if (rc != STORE_ENOTFOUND)
		return rc;
	sq_bind_text(st, 1, name);
	return sq_exec_one(sc, st, "removing an add-in");
}

/* store_addin_free for sq_list. */
static void store_addin_free_v(void *item)
{
	store_addin_free(item);
}

int sq_addin_list(struct store_conn *c, struct store_addin **out, size_t *n)
{
	return sq_list(sq_of(c), SQ_ADDIN_LIST, sizeof(**out), addin_row, store_addin_free_v,
	               (void **)out, n, "listing add-ins");
}

/* --- follows -------------------------------------------------------------- */

int sq_follow_add(struct store_conn *c, const char *account, const char *room)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_FOLLOW_ADD);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, account);
	sq_bind_text(st, 2, room);
	return sq_exec_one(sc, st, "following a room"); /* EEXIST: already followed */
}

int sq_follow_remove(struct store_conn *c, const char *account, const char *room)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_FOLLOW_REMOVE);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, account);
	sq_bind_text(st, 2, room);
	return sq_exec_one(sc, st, "unfollowing a room");
}

static void name_row(sqlite3_stmt *st, void *item)
{
	*(char **)item = sq_col_dup(st, 0, false);
}

int sq_follow_list(struct store_conn *c, const char *account, char ***out, size_t *n)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_FOLLOW_LIST);
	int64_t id = 0;
	int rc;

	if (!st)
		return STORE_EIO;
	if ((rc = id_of(sc, SQ_ACCOUNT_ID, account, &id)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sq_collect(sc, st, sizeof(**out), name_row, (void **)out, n, "listing follows");
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			free((*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* --- invitations ---------------------------------------------------------- */

int sq_invite_add(struct store_conn *c, const struct store_invite *inv)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_INVITE_ADD);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, inv->account);
	sq_bind_text(st, 2, inv->room);
	sq_bind_text(st, 3, inv->inviter);
	sqlite3_bind_int64(st, 4, inv->ts_ms);
	return sq_exec_one(sc, st, "adding an invitation"); /* no row: unknown account/room */
}

static void invite_row(sqlite3_stmt *st, void *item)
{
	struct store_invite *inv = item;

	str_copy(inv->account, (const char *)sqlite3_column_text(st, 0), sizeof(inv->account));
	str_copy(inv->room, (const char *)sqlite3_column_text(st, 1), sizeof(inv->room));
	str_copy(inv->inviter, (const char *)sqlite3_column_text(st, 2), sizeof(inv->inviter));
	inv->ts_ms = sqlite3_column_int64(st, 3);
}

struct take_arg {
	const char *account;       /* invitee */
	struct store_invite **out; /* taken invitations */
	size_t *n;                 /* how many */
};

/* Read then delete, inside one transaction. */
static int take_locked(struct sq_conn *sc, void *arg)
{
	struct take_arg *ta = arg;
	sqlite3_stmt *list = sq_stmt(sc, SQ_INVITE_LIST);
	sqlite3_stmt *del = sq_stmt(sc, SQ_INVITE_DELETE);
	int64_t id = 0;
	int rc;

	if (!list || !del)
		return STORE_EIO;
	if ((rc = id_of(sc, SQ_ACCOUNT_ID, ta->account, &id)) != 0)
		return rc;
	sqlite3_bind_int64(list, 1, id);
	rc = sq_collect(sc, list, sizeof(**ta->out), invite_row, (void **)ta->out, ta->n,
	                "reading invitations");
	if (rc == 0 && *ta->n > 0) {
		sqlite3_bind_int64(del, 1, id);
		rc = sq_exec_stmt(sc, del, "deleting invitations");
	}
	return rc;
}

int sq_invite_take(struct store_conn *c, const char *account, struct store_invite **out, size_t *n)
{
	struct take_arg ta = {.account = account, .out = out, .n = n};
	int rc = sq_in_txn(sq_of(c), take_locked, &ta);

	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* --- markers -------------------------------------------------------------- */

int sq_marker_set(struct store_conn *c, const char *account, const char *target, int64_t ts_ms)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_MARKER_SET);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, account);
	sq_bind_text(st, 2, target);
	sqlite3_bind_int64(st, 3, ts_ms);
	return sq_exec_one(sc, st, "setting a read marker"); /* no row: unknown account */
}

int sq_marker_get(struct store_conn *c, const char *account, const char *target, int64_t *ts_ms)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_MARKER_GET);

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, account);
	sq_bind_text(st, 2, target);
	return one_int64(sc, st, ts_ms, "reading a read marker");
}

/* --- change feed ---------------------------------------------------------- */

int sq_change_add(struct store_conn *c, const char *kind, const char *name, int64_t ts_ms)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_CHANGE_ADD);
	sqlite3_stmt *trim = sq_stmt(sc, SQ_CHANGE_TRIM);
	int64_t id;
	int rc;

	if (!st || !trim)
		return STORE_EIO;
	sq_bind_text(st, 1, kind);
	sq_bind_text(st, 2, name);
	sqlite3_bind_int64(st, 3, ts_ms);
	if ((rc = sq_exec_stmt(sc, st, "recording a change")) != 0)
		return rc;
	id = sqlite3_last_insert_rowid(sc->db);
	if (id % CHANGES_TRIM_EVERY != 0 || id <= CHANGES_KEEP)
		return 0;
	sqlite3_bind_int64(trim, 1, id - CHANGES_KEEP);
	return sq_exec_stmt(sc, trim, "trimming the change feed");
}

static void change_row(sqlite3_stmt *st, void *item)
{
	struct store_change *ch = item;

	ch->id = sqlite3_column_int64(st, 0);
	str_copy(ch->kind, (const char *)sqlite3_column_text(st, 1), sizeof(ch->kind));
	str_copy(ch->name, (const char *)sqlite3_column_text(st, 2), sizeof(ch->name));
	ch->ts_ms = sqlite3_column_int64(st, 3);
}

int sq_change_since(struct store_conn *c, int64_t after, int limit, struct store_change **out,
                    size_t *n)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_CHANGE_SINCE);
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	rc = sq_collect(sc, st, sizeof(**out), change_row, (void **)out, n, "reading changes");
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int sq_change_last(struct store_conn *c, int64_t *id)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_CHANGE_LAST);

	if (!st)
		return STORE_EIO;
	return one_int64(sc, st, id, "reading the last change");
}
