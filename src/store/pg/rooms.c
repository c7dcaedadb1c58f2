/*
 * rooms.c — PostgreSQL operations of the chat model: accounts, categories,
 * rooms, groups, add-ins, follows, pending invitations, read markers and
 * the change feed. Same results as the SQLite backend (sqlite/sqlite.c,
 * sqlite/rooms.c) for every store.h operation.
 *
 * Every name compares through pchat_key() (ASCII lower-casing, like SQLite
 * NOCASE); lists are ordered by pchat_key(name) in byte order (COLLATE "C"),
 * as SQLite orders NOCASE text. One statement per operation: lookups by
 * name, existence checks and the write itself share a statement through
 * CTEs, which also keeps the expected refusals (taken name, category in
 * use, unknown add-in) from raising errors: an error would abort the
 * caller's whole transaction in PostgreSQL, where SQLite only fails the
 * statement. Errors still raised by races (a name taken meanwhile) are
 * mapped by pg_run.
 *
 * It never begins or commits (store.c owns transactions); invite_take is a
 * single DELETE ... RETURNING and so atomic on its own (invitations of the
 * same time come in room-name order, where SQLite uses insertion order).
 * Change ids come from the counters row, so they increase in commit order.
 * It does not validate arguments (store.c, store_rooms.c did) nor remove
 * dependent rows: follows, invitations and markers go with their account
 * or room by ON DELETE CASCADE and the rooms_markers trigger (schema.c).
 * History is history.c.
 */
#include "store/pg/pg_int.h"

#include "common/log.h"
#include "common/xmalloc.h"

#define CHANGES_KEEP       "10000" /* newest rows of the change feed kept (as SQLite) */
#define CHANGES_TRIM_EVERY "100"   /* trim when the new id is a multiple of this */

/* --- statements ----------------------------------------------------------- */

#define ACCOUNT_COLS                                                                               \
	"SELECT id, name, pw_hash, scram, admin, chat_enabled, created_ms FROM accounts"
static const struct pg_stmt ACCOUNT_ADD = {
    "rooms_account_add",
    "INSERT INTO accounts (name, pw_hash, scram, admin, chat_enabled, created_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
    6};
static const struct pg_stmt ACCOUNT_GET = {
    "rooms_account_get", ACCOUNT_COLS " WHERE pchat_key(name) = pchat_key($1::text)", 1};
/* taken by another account, the id exists, rows updated */
static const struct pg_stmt ACCOUNT_UPDATE = {
    "rooms_account_update",
    "WITH k AS (SELECT EXISTS (SELECT 1 FROM accounts WHERE pchat_key(name) = pchat_key($1::text) "
    "AND id <> $6::bigint) AS taken), "
    "u AS (UPDATE accounts SET name = $1::text, pw_hash = $2::text, scram = $3::text, "
    "admin = $4::boolean, chat_enabled = $5::boolean "
    "WHERE id = $6::bigint AND NOT (SELECT taken FROM k) RETURNING id) "
    "SELECT (SELECT taken FROM k), EXISTS (SELECT 1 FROM accounts WHERE id = $6::bigint), "
    "(SELECT count(*) FROM u)",
    6};
static const struct pg_stmt ACCOUNT_REMOVE = {
    "rooms_account_remove", "DELETE FROM accounts WHERE pchat_key(name) = pchat_key($1::text)", 1};
static const struct pg_stmt ACCOUNT_LIST = {
    "rooms_account_list", ACCOUNT_COLS " ORDER BY pchat_key(name) COLLATE \"C\"", 0};

#define CATEGORY_COLS                                                                              \
	"SELECT id, name, allowed, created_ms, denied, creators, invitations, file_upload, "       \
	"history FROM categories"
static const struct pg_stmt CATEGORY_ADD = {
    "rooms_category_add",
    "INSERT INTO categories (name, allowed, created_ms, denied, creators, invitations, "
    "file_upload, history) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT DO NOTHING RETURNING id",
    8};
static const struct pg_stmt CATEGORY_GET = {
    "rooms_category_get", CATEGORY_COLS " WHERE pchat_key(name) = pchat_key($1::text)", 1};
static const struct pg_stmt CATEGORY_UPDATE = {
    "rooms_category_update",
    "UPDATE categories SET allowed = coalesce($3::text, allowed), "
    "denied = coalesce($4::text, denied), creators = coalesce($5::text, creators), "
    "invitations = $6::boolean, file_upload = $7::boolean, history = $8::boolean "
    "WHERE id = $1::bigint OR pchat_key(name) = pchat_key($2::text)",
    8};
/* the category exists, rows deleted (none while a room is in it) */
static const struct pg_stmt CATEGORY_REMOVE = {
    "rooms_category_remove",
    "WITH k AS (SELECT id FROM categories WHERE pchat_key(name) = pchat_key($1::text)), "
    "d AS (DELETE FROM categories WHERE id = (SELECT id FROM k) AND NOT EXISTS "
    "(SELECT 1 FROM rooms WHERE category_id = (SELECT id FROM k)) RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM k), (SELECT count(*) FROM d)",
    1};
static const struct pg_stmt CATEGORY_LIST = {
    "rooms_category_list", CATEGORY_COLS " ORDER BY pchat_key(name) COLLATE \"C\"", 0};

/* The newest seq: messages.seq is drawn per message (history.c), the column
 * keeps the highest of the messages cleared or copied in. */
#define ROOM_LAST_SEQ                                                                              \
	"greatest(r.last_seq, (SELECT max(m.seq) FROM messages m WHERE m.room_id = r.id))"
#define ROOM_COLS                                                                                  \
	"SELECT r.id, r.name, c.name, r.description, r.created_ms, " ROOM_LAST_SEQ ", r.privacy, " \
	"r.type, r.invitations_off, r.disabled, r.addin, r.members, r.managers, r.presenters "     \
	"FROM rooms r JOIN categories c ON c.id = r.category_id"
/* $9 names an existing add-in or is "" */
#define ADDIN_OK                                                                                   \
	"($9::text = '' OR EXISTS (SELECT 1 FROM addins WHERE pchat_key(name) = "                  \
	"pchat_key($9::text)))"
/* add-in known, category found, new room id (NULL: name taken) */
static const struct pg_stmt ROOM_ADD = {
    "rooms_room_add",
    "WITH k AS (SELECT (SELECT id FROM categories WHERE pchat_key(name) = pchat_key($2::text)) AS "
    "cat_id, " ADDIN_OK " AS addin_ok), "
    "i AS (INSERT INTO rooms (name, category_id, description, created_ms, privacy, type, "
    "invitations_off, disabled, addin, members, managers, presenters) "
    "SELECT $1::text, cat_id, $3::text, $4::bigint, $5::integer, $6::integer, "
    "$7::boolean, $8::boolean, $9::text, $10::text, $11::text, $12::text FROM k "
    "WHERE addin_ok AND cat_id IS NOT NULL ON CONFLICT DO NOTHING RETURNING id) "
    "SELECT addin_ok, cat_id IS NOT NULL, (SELECT id FROM i) FROM k",
    12};
static const struct pg_stmt ROOM_GET = {
    "rooms_room_get", ROOM_COLS " WHERE pchat_key(r.name) = pchat_key($1::text)", 1};
/* category known (or kept), add-in known, rows updated */
static const struct pg_stmt ROOM_UPDATE = {
    "rooms_room_update",
    "WITH k AS (SELECT (SELECT id FROM categories WHERE pchat_key(name) = pchat_key($4::text)) AS "
    "cat_id, " ADDIN_OK " AS addin_ok), "
    "u AS (UPDATE rooms r SET description = coalesce($3::text, r.description), "
    "category_id = coalesce(k.cat_id, r.category_id), privacy = $5::integer, "
    "type = $6::integer, invitations_off = $7::boolean, disabled = $8::boolean, "
    "addin = $9::text, members = coalesce($10::text, r.members), "
    "managers = coalesce($11::text, r.managers), "
    "presenters = coalesce($12::text, r.presenters) FROM k "
    "WHERE (r.id = $1::bigint OR pchat_key(r.name) = pchat_key($2::text)) AND k.addin_ok "
    "AND ($4::text IS NULL OR k.cat_id IS NOT NULL) RETURNING r.id) "
    "SELECT $4::text IS NULL OR cat_id IS NOT NULL, addin_ok, (SELECT count(*) FROM u) "
    "FROM k",
    12};
static const struct pg_stmt ROOM_REMOVE = {
    "rooms_room_remove", "DELETE FROM rooms WHERE pchat_key(name) = pchat_key($1::text)", 1};
static const struct pg_stmt ROOM_LIST = {"rooms_room_list",
                                         ROOM_COLS " ORDER BY pchat_key(r.name) COLLATE \"C\"", 0};

#define GROUP_COLS "SELECT id, name, members, created_ms FROM groups"
static const struct pg_stmt GROUP_ADD = {"rooms_group_add",
                                         "INSERT INTO groups (name, members, created_ms) "
                                         "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id",
                                         3};
static const struct pg_stmt GROUP_GET = {
    "rooms_group_get", GROUP_COLS " WHERE pchat_key(name) = pchat_key($1::text)", 1};
static const struct pg_stmt GROUP_UPDATE = {
    "rooms_group_update",
    "UPDATE groups SET members = $2::text WHERE pchat_key(name) = pchat_key($1::text)", 2};
static const struct pg_stmt GROUP_REMOVE = {
    "rooms_group_remove", "DELETE FROM groups WHERE pchat_key(name) = pchat_key($1::text)", 1};
static const struct pg_stmt GROUP_LIST = {"rooms_group_list",
                                          GROUP_COLS " ORDER BY pchat_key(name) COLLATE \"C\"", 0};

static const struct pg_stmt ADDIN_ADD = {
    "rooms_addin_add",
    "INSERT INTO addins (name, url) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id", 2};
static const struct pg_stmt ADDIN_GET = {
    "rooms_addin_get", "SELECT name, url FROM addins WHERE pchat_key(name) = pchat_key($1::text)",
    1};
/* a room uses it, rows deleted (none while one does) */
static const struct pg_stmt ADDIN_REMOVE = {
    "rooms_addin_remove",
    "WITH k AS (SELECT EXISTS (SELECT 1 FROM rooms WHERE addin <> '' AND pchat_key(addin) = "
    "pchat_key($1::text)) AS used), "
    "d AS (DELETE FROM addins WHERE pchat_key(name) = pchat_key($1::text) "
    "AND NOT (SELECT used FROM k) RETURNING 1) SELECT (SELECT used FROM k), (SELECT count(*) FROM "
    "d)",
    1};
static const struct pg_stmt ADDIN_LIST = {
    "rooms_addin_list", "SELECT name, url FROM addins ORDER BY pchat_key(name) COLLATE \"C\"", 0};

/* The (account id, room id) pair named by $1 and $2. */
#define PAIR                                                                                       \
	"SELECT a.id AS aid, r.id AS rid FROM accounts a, rooms r "                                \
	"WHERE pchat_key(a.name) = pchat_key($1::text) AND pchat_key(r.name) = "                   \
	"pchat_key($2::text)"
/* pair found, rows inserted (none: already followed) */
static const struct pg_stmt FOLLOW_ADD = {
    "rooms_follow_add",
    "WITH p AS (" PAIR "), i AS (INSERT INTO follows (account_id, room_id) "
    "SELECT aid, rid FROM p ON CONFLICT DO NOTHING RETURNING 1) "
    "SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM i)",
    2};
static const struct pg_stmt FOLLOW_REMOVE = {"rooms_follow_remove",
                                             "DELETE FROM follows f USING (" PAIR ") p "
                                             "WHERE f.account_id = p.aid AND f.room_id = p.rid",
                                             2};
/* no row: no such account; one row with NULL: follows nothing */
static const struct pg_stmt FOLLOW_LIST = {
    "rooms_follow_list",
    "SELECT r.name FROM accounts a LEFT JOIN (follows f JOIN rooms r ON r.id = f.room_id) "
    "ON f.account_id = a.id WHERE pchat_key(a.name) = pchat_key($1::text) "
    "ORDER BY pchat_key(r.name) COLLATE \"C\"",
    1};

static const struct pg_stmt INVITE_ADD = {
    "rooms_invite_add",
    "INSERT INTO invitations (account_id, room_id, inviter, ts_ms) "
    "SELECT aid, rid, $3::text, $4::bigint FROM (" PAIR ") p "
    "ON CONFLICT (account_id, room_id) DO UPDATE "
    "SET inviter = excluded.inviter, ts_ms = excluded.ts_ms",
    4};
/* no row: no such account; one row with NULL room: none pending */
static const struct pg_stmt INVITE_TAKE = {
    "rooms_invite_take",
    "WITH a AS (SELECT id, name FROM accounts WHERE pchat_key(name) = pchat_key($1::text)), "
    "d AS (DELETE FROM invitations i USING a WHERE i.account_id = a.id "
    "RETURNING i.room_id, i.inviter, i.ts_ms) "
    "SELECT a.name, r.name, d.inviter, d.ts_ms FROM a LEFT JOIN "
    "(d JOIN rooms r ON r.id = d.room_id) ON true ORDER BY d.ts_ms, pchat_key(r.name) "
    "COLLATE \"C\"",
    1};

static const struct pg_stmt MARKER_SET = {
    "rooms_marker_set",
    "INSERT INTO markers (account_id, target, ts_ms) "
    "SELECT id, pchat_key($2::text), $3::bigint FROM accounts WHERE pchat_key(name) = "
    "pchat_key($1::text) ON CONFLICT (account_id, target) DO UPDATE "
    "SET ts_ms = GREATEST(markers.ts_ms, excluded.ts_ms)",
    3};
static const struct pg_stmt MARKER_GET = {
    "rooms_marker_get",
    "SELECT m.ts_ms FROM markers m JOIN accounts a ON a.id = m.account_id "
    "WHERE pchat_key(a.name) = pchat_key($1::text) AND m.target = pchat_key($2::text)",
    2};

/*
 * The id comes from the counters row (its lock, held to commit, makes ids
 * increase in commit order); every CHANGES_TRIM_EVERY ids the rows older
 * than the newest CHANGES_KEEP go, as in the SQLite backend.
 */
static const struct pg_stmt CHANGE_ADD = {
    "rooms_change_add",
    "WITH n AS (UPDATE counters SET value = value + 1 WHERE name = 'changes' "
    "RETURNING value), "
    "i AS (INSERT INTO changes (id, kind, name, ts_ms) "
    "SELECT value, $1::text, $2::text, $3::bigint FROM n), "
    "t AS (DELETE FROM changes WHERE (SELECT value FROM n) % " CHANGES_TRIM_EVERY " = 0 "
    "AND id <= (SELECT value FROM n) - " CHANGES_KEEP ") "
    "SELECT value FROM n",
    3};
static const struct pg_stmt CHANGE_SINCE = {
    "rooms_change_since",
    "SELECT id, kind, name, ts_ms FROM changes WHERE id > $1::bigint ORDER BY id "
    "LIMIT $2::integer",
    2};
static const struct pg_stmt CHANGE_LAST = {"rooms_change_last",
                                           "SELECT coalesce(max(id), 0) FROM changes", 0};

/* --- running them --------------------------------------------------------- */

/* Fill one item from row i of a result. */
typedef void (*row_fn)(const PGresult *r, int i, void *item);

/* Run st: the result in *out (PQclear it), or a store_err. */
static int run(struct store_conn *c, const struct pg_stmt *st, const char *const *p, PGresult **out,
               const char *what)
{
	int rc = STORE_EIO;

	*out = pg_run(pg_of(c), st, p, &rc, what);
	if (*out)
		return 0;
	return rc ? rc : STORE_EIO;
}

/* Run a statement returning one row of flags or counts: *r (PQclear it). */
static int run_row(struct store_conn *c, const struct pg_stmt *st, const char *const *p,
                   PGresult **r, const char *what)
{
	int rc = run(c, st, p, r, what);

	if (rc == 0 && PQntuples(*r) != 1) { /* every such statement returns one row */
		log_error("store", "%s: %s: %d rows instead of one", pg_of(c)->label, what,
		          PQntuples(*r));
		PQclear(*r);
		*r = NULL;
		rc = STORE_EIO;
	}
	return rc;
}

/* Run a statement that changes rows: STORE_ENOTFOUND when it changed none. */
static int exec_one(struct store_conn *c, const struct pg_stmt *st, const char *const *p,
                    const char *what)
{
	PGresult *r;
	int rc = run(c, st, p, &r, what);

	if (rc == 0) {
		if (pg_affected(r) == 0)
			rc = STORE_ENOTFOUND;
		PQclear(r);
	}
	return rc;
}

/* Run an INSERT ... ON CONFLICT DO NOTHING RETURNING id: STORE_EEXIST without a row. */
static int insert_id(struct store_conn *c, const struct pg_stmt *st, const char *const *p,
                     int64_t *id, const char *what)
{
	PGresult *r;
	int rc = run(c, st, p, &r, what);

	if (rc == 0) {
		if (PQntuples(r) == 0)
			rc = STORE_EEXIST;
		else if (id)
			*id = pg_get_i64(r, 0, 0);
		PQclear(r);
	}
	return rc;
}

/* The one row of st (parameter $1 = name) into out; STORE_ENOTFOUND without one. */
static int get_one(struct store_conn *c, const struct pg_stmt *st, const char *name, row_fn row,
                   void *out, const char *what)
{
	const char *p[] = {name};
	PGresult *r;
	int rc = run(c, st, p, &r, what);

	if (rc == 0) {
		if (PQntuples(r) == 0)
			rc = STORE_ENOTFOUND;
		else
			row(r, 0, out);
		PQclear(r);
	}
	return rc;
}

/*
 * Rows first.. of a result into a new array *out of *n items of elem bytes
 * (NULL when none).
 */
static void collect(const PGresult *r, int first, size_t elem, row_fn row, void **out, size_t *n)
{
	int rows = PQntuples(r);

	*out = NULL;
	*n = 0;
	if (rows <= first)
		return;
	*out = xcalloc((size_t)(rows - first), elem);
	for (int i = first; i < rows; i++)
		row(r, i, (char *)*out + (size_t)(i - first) * elem);
	*n = (size_t)(rows - first);
}

/* Every row of st into a new array (see collect). */
static int get_list(struct store_conn *c, const struct pg_stmt *st, const char *const *p,
                    size_t elem, row_fn row, void **out, size_t *n, const char *what)
{
	PGresult *r;
	int rc = run(c, st, p, &r, what);

	if (rc == 0) {
		collect(r, 0, elem, row, out, n);
		PQclear(r);
	}
	return rc;
}

static const char *tf(bool v)
{
	return v ? "t" : "f";
}

/* --- accounts ------------------------------------------------------------- */

static void account_row(const PGresult *r, int i, void *item)
{
	struct store_account *a = item;

	a->id = pg_get_i64(r, i, 0);
	pg_get_copy(r, i, 1, a->name, sizeof(a->name));
	a->pw_hash = pg_get_dup(r, i, 2, true);
	a->scram = pg_get_dup(r, i, 3, true);
	a->admin = pg_get_bool(r, i, 4);
	a->chat_enabled = pg_get_bool(r, i, 5);
	a->created_ms = pg_get_i64(r, i, 6);
}

int pg_account_add(struct store_conn *c, struct store_account *a)
{
	char created[24];
	const char *p[] = {a->name,      a->pw_hash,          a->scram,
	                   tf(a->admin), tf(a->chat_enabled), pg_i64(created, a->created_ms)};

	return insert_id(c, &ACCOUNT_ADD, p, &a->id, "adding an account");
}

int pg_account_get(struct store_conn *c, const char *name, struct store_account *out)
{
	return get_one(c, &ACCOUNT_GET, name, account_row, out, "reading an account");
}

int pg_account_update(struct store_conn *c, const struct store_account *a)
{
	char id[24];
	const char *p[] = {a->name,      a->pw_hash,          a->scram,
	                   tf(a->admin), tf(a->chat_enabled), pg_i64(id, a->id)};
	PGresult *r;
	int rc = run_row(c, &ACCOUNT_UPDATE, p, &r, "updating an account");

	if (rc != 0)
		return rc;
	if (pg_get_i64(r, 0, 2) > 0)
		rc = 0;
	else if (pg_get_bool(r, 0, 1) && pg_get_bool(r, 0, 0))
		rc = STORE_EEXIST; /* the id exists, the new name is another's */
	else
		rc = STORE_ENOTFOUND;
	PQclear(r);
	return rc;
}

int pg_account_remove(struct store_conn *c, const char *name)
{
	const char *p[] = {name};

	return exec_one(c, &ACCOUNT_REMOVE, p, "removing an account");
}

int pg_account_list(struct store_conn *c, struct store_account **out, size_t *n)
{
	return get_list(c, &ACCOUNT_LIST, NULL, sizeof(**out), account_row, (void **)out, n,
	                "listing accounts");
}

/* --- categories ----------------------------------------------------------- */

static void category_row(const PGresult *r, int i, void *item)
{
	struct store_category *cat = item;

	cat->id = pg_get_i64(r, i, 0);
	pg_get_copy(r, i, 1, cat->name, sizeof(cat->name));
	cat->allowed = pg_get_dup(r, i, 2, false);
	cat->created_ms = pg_get_i64(r, i, 3);
	cat->denied = pg_get_dup(r, i, 4, false);
	cat->creators = pg_get_dup(r, i, 5, false);
	cat->invitations = pg_get_bool(r, i, 6);
	cat->file_upload = pg_get_bool(r, i, 7);
	cat->history = pg_get_bool(r, i, 8);
}

int pg_category_add(struct store_conn *c, struct store_category *cat)
{
	char created[24];
	const char *p[] = {cat->name,
	                   cat->allowed ? cat->allowed : "*",
	                   pg_i64(created, cat->created_ms),
	                   cat->denied ? cat->denied : "",
	                   cat->creators ? cat->creators : "",
	                   tf(cat->invitations),
	                   tf(cat->file_upload),
	                   tf(cat->history)};

	return insert_id(c, &CATEGORY_ADD, p, &cat->id, "adding a category");
}

int pg_category_get(struct store_conn *c, const char *name, struct store_category *out)
{
	return get_one(c, &CATEGORY_GET, name, category_row, out, "reading a category");
}

int pg_category_update(struct store_conn *c, const struct store_category *cat)
{
	char id[24];
	const char *p[] = {pg_i64(id, cat->id > 0 ? cat->id : 0),
	                   cat->id > 0 ? NULL : cat->name,
	                   cat->allowed,
	                   cat->denied,
	                   cat->creators,
	                   tf(cat->invitations),
	                   tf(cat->file_upload),
	                   tf(cat->history)};

	return exec_one(c, &CATEGORY_UPDATE, p, "updating a category");
}

int pg_category_remove(struct store_conn *c, const char *name)
{
	const char *p[] = {name};
	PGresult *r;
	int rc = run_row(c, &CATEGORY_REMOVE, p, &r, "removing a category");

	if (rc == STORE_EINVAL)
		return STORE_ENOTEMPTY; /* a room added meanwhile: the foreign key refused */
	if (rc != 0)
		return rc;
	if (!pg_get_bool(r, 0, 0))
		rc = STORE_ENOTFOUND;
	else if (pg_get_i64(r, 0, 1) == 0)
		rc = STORE_ENOTEMPTY;
	PQclear(r);
	return rc;
}

int pg_category_list(struct store_conn *c, struct store_category **out, size_t *n)
{
	return get_list(c, &CATEGORY_LIST, NULL, sizeof(**out), category_row, (void **)out, n,
	                "listing categories");
}

/* --- rooms ---------------------------------------------------------------- */

static void room_row(const PGresult *r, int i, void *item)
{
	struct store_room *rm = item;

	rm->id = pg_get_i64(r, i, 0);
	pg_get_copy(r, i, 1, rm->name, sizeof(rm->name));
	pg_get_copy(r, i, 2, rm->category, sizeof(rm->category));
	rm->description = pg_get_dup(r, i, 3, false);
	rm->created_ms = pg_get_i64(r, i, 4);
	rm->last_seq = pg_get_i64(r, i, 5);
	rm->privacy = (int)pg_get_i64(r, i, 6);
	rm->type = (int)pg_get_i64(r, i, 7);
	rm->invitations_off = pg_get_bool(r, i, 8);
	rm->disabled = pg_get_bool(r, i, 9);
	pg_get_copy(r, i, 10, rm->addin, sizeof(rm->addin));
	rm->members = pg_get_dup(r, i, 11, false);
	rm->managers = pg_get_dup(r, i, 12, false);
	rm->presenters = pg_get_dup(r, i, 13, false);
}

/* Text buffers for the integer parameters of ROOM_ADD / ROOM_UPDATE. */
struct room_nums {
	char id[24];      /* $1 of ROOM_UPDATE */
	char created[24]; /* $4 of ROOM_ADD */
	char privacy[24]; /* $5 */
	char type[24];    /* $6 */
};

/*
 * Parameters $5..$12 (p[4..11]); with keep, NULL lists stay NULL (keep the
 * current value), else they are "".
 */
static void room_settings(const char **p, struct room_nums *nb, const struct store_room *r,
                          bool keep)
{
	const char *empty = keep ? NULL : "";

	p[4] = pg_i64(nb->privacy, r->privacy);
	p[5] = pg_i64(nb->type, r->type);
	p[6] = tf(r->invitations_off);
	p[7] = tf(r->disabled);
	p[8] = r->addin;
	p[9] = r->members ? r->members : empty;
	p[10] = r->managers ? r->managers : empty;
	p[11] = r->presenters ? r->presenters : empty;
}

int pg_room_add(struct store_conn *c, struct store_room *r)
{
	struct room_nums nb;
	const char *p[12] = {r->name, r->category, r->description ? r->description : "",
	                     pg_i64(nb.created, r->created_ms)};
	PGresult *res;
	int rc;

	room_settings(p, &nb, r, false);
	if ((rc = run_row(c, &ROOM_ADD, p, &res, "adding a room")) != 0)
		return rc;
	if (!pg_get_bool(res, 0, 0))
		rc = STORE_EINVAL; /* no such add-in */
	else if (!pg_get_bool(res, 0, 1))
		rc = STORE_ENOTFOUND; /* no such category */
	else if (PQgetisnull(res, 0, 2))
		rc = STORE_EEXIST;
	if (rc == 0) {
		r->id = pg_get_i64(res, 0, 2);
		r->last_seq = 0;
	}
	PQclear(res);
	return rc;
}

int pg_room_get(struct store_conn *c, const char *name, struct store_room *out)
{
	return get_one(c, &ROOM_GET, name, room_row, out, "reading a room");
}

int pg_room_update(struct store_conn *c, const struct store_room *r)
{
	struct room_nums nb;
	const char *p[12] = {pg_i64(nb.id, r->id > 0 ? r->id : 0), r->id > 0 ? NULL : r->name,
	                     r->description, r->category[0] ? r->category : NULL};
	PGresult *res;
	int rc;

	room_settings(p, &nb, r, true);
	if ((rc = run_row(c, &ROOM_UPDATE, p, &res, "updating a room")) != 0)
		return rc;
	if (!pg_get_bool(res, 0, 0))
		rc = STORE_ENOTFOUND; /* no such category */
	else if (!pg_get_bool(res, 0, 1))
		rc = STORE_EINVAL; /* no such add-in */
	else if (pg_get_i64(res, 0, 2) == 0)
		rc = STORE_ENOTFOUND;
	PQclear(res);
	return rc;
}

int pg_room_remove(struct store_conn *c, const char *name)
{
	const char *p[] = {name};

	return exec_one(c, &ROOM_REMOVE, p, "removing a room"); /* messages, follows... go too */
}

int pg_room_list(struct store_conn *c, struct store_room **out, size_t *n)
{
	return get_list(c, &ROOM_LIST, NULL, sizeof(**out), room_row, (void **)out, n,
	                "listing rooms");
}

/* --- groups --------------------------------------------------------------- */

static void group_row(const PGresult *r, int i, void *item)
{
	struct store_group *g = item;

	g->id = pg_get_i64(r, i, 0);
	pg_get_copy(r, i, 1, g->name, sizeof(g->name));
	g->members = pg_get_dup(r, i, 2, false);
	g->created_ms = pg_get_i64(r, i, 3);
}

int pg_group_add(struct store_conn *c, struct store_group *g)
{
	char created[24];
	const char *p[] = {g->name, g->members ? g->members : "", pg_i64(created, g->created_ms)};

	return insert_id(c, &GROUP_ADD, p, &g->id, "adding a group");
}

int pg_group_get(struct store_conn *c, const char *name, struct store_group *out)
{
	return get_one(c, &GROUP_GET, name, group_row, out, "reading a group");
}

int pg_group_update(struct store_conn *c, const struct store_group *g)
{
	const char *p[] = {g->name, g->members ? g->members : ""};

	return exec_one(c, &GROUP_UPDATE, p, "updating a group");
}

int pg_group_remove(struct store_conn *c, const char *name)
{
	const char *p[] = {name};

	return exec_one(c, &GROUP_REMOVE, p, "removing a group");
}

int pg_group_list(struct store_conn *c, struct store_group **out, size_t *n)
{
	return get_list(c, &GROUP_LIST, NULL, sizeof(**out), group_row, (void **)out, n,
	                "listing groups");
}

/* --- add-ins -------------------------------------------------------------- */

static void addin_row(const PGresult *r, int i, void *item)
{
	struct store_addin *a = item;

	pg_get_copy(r, i, 0, a->name, sizeof(a->name));
	a->url = pg_get_dup(r, i, 1, false);
}

int pg_addin_add(struct store_conn *c, const struct store_addin *a)
{
	const char *p[] = {a->name, a->url};

	return insert_id(c, &ADDIN_ADD, p, NULL, "adding an add-in");
}

int pg_addin_get(struct store_conn *c, const char *name, struct store_addin *out)
{
	return get_one(c, &ADDIN_GET, name, addin_row, out, "reading an add-in");
}

int pg_addin_remove(struct store_conn *c, const char *name)
{
	const char *p[] = {name};
	PGresult *r;
	int rc = run_row(c, &ADDIN_REMOVE, p, &r, "removing an add-in");

	if (rc != 0)
		return rc;
	if (pg_get_bool(r, 0, 0))
		rc = STORE_ENOTEMPTY; /* a room uses it */
	else if (pg_get_i64(r, 0, 1) == 0)
		rc = STORE_ENOTFOUND;
	PQclear(r);
	return rc;
}

int pg_addin_list(struct store_conn *c, struct store_addin **out, size_t *n)
{
	return get_list(c, &ADDIN_LIST, NULL, sizeof(**out), addin_row, (void **)out, n,
	                "listing add-ins");
}

/* --- follows -------------------------------------------------------------- */

int pg_follow_add(struct store_conn *c, const char *account, const char *room)
{
	const char *p[] = {account, room};
	PGresult *r;
	int rc = run_row(c, &FOLLOW_ADD, p, &r, "following a room");

	if (rc != 0)
		return rc;
	if (pg_get_i64(r, 0, 0) == 0)
		rc = STORE_ENOTFOUND; /* no such account or room */
	else if (pg_get_i64(r, 0, 1) == 0)
		rc = STORE_EEXIST; /* already followed */
	PQclear(r);
	return rc;
}

int pg_follow_remove(struct store_conn *c, const char *account, const char *room)
{
	const char *p[] = {account, room};

	return exec_one(c, &FOLLOW_REMOVE, p, "unfollowing a room");
}

static void name_row(const PGresult *r, int i, void *item)
{
	*(char **)item = pg_get_dup(r, i, 0, false);
}

int pg_follow_list(struct store_conn *c, const char *account, char ***out, size_t *n)
{
	const char *p[] = {account};
	PGresult *r;
	int rc = run(c, &FOLLOW_LIST, p, &r, "listing follows");

	if (rc != 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = STORE_ENOTFOUND; /* no such account */
	else if (!PQgetisnull(r, 0, 0))
		collect(r, 0, sizeof(**out), name_row, (void **)out, n);
	PQclear(r);
	return rc;
}

/* --- invitations ---------------------------------------------------------- */

int pg_invite_add(struct store_conn *c, const struct store_invite *inv)
{
	char ts[24];
	const char *p[] = {inv->account, inv->room, inv->inviter, pg_i64(ts, inv->ts_ms)};

	return exec_one(c, &INVITE_ADD, p, "adding an invitation"); /* none: unknown name */
}

static void invite_row(const PGresult *r, int i, void *item)
{
	struct store_invite *inv = item;

	pg_get_copy(r, i, 0, inv->account, sizeof(inv->account));
	pg_get_copy(r, i, 1, inv->room, sizeof(inv->room));
	pg_get_copy(r, i, 2, inv->inviter, sizeof(inv->inviter));
	inv->ts_ms = pg_get_i64(r, i, 3);
}

int pg_invite_take(struct store_conn *c, const char *account, struct store_invite **out, size_t *n)
{
	const char *p[] = {account};
	PGresult *r;
	int rc = run(c, &INVITE_TAKE, p, &r, "taking invitations");

	if (rc != 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = STORE_ENOTFOUND; /* no such account */
	else if (!PQgetisnull(r, 0, 1))
		collect(r, 0, sizeof(**out), invite_row, (void **)out, n);
	PQclear(r);
	return rc;
}

/* --- markers -------------------------------------------------------------- */

int pg_marker_set(struct store_conn *c, const char *account, const char *target, int64_t ts_ms)
{
	char ts[24];
	const char *p[] = {account, target, pg_i64(ts, ts_ms)};

	return exec_one(c, &MARKER_SET, p, "setting a read marker"); /* none: unknown account */
}

int pg_marker_get(struct store_conn *c, const char *account, const char *target, int64_t *ts_ms)
{
	const char *p[] = {account, target};
	PGresult *r;
	int rc = run(c, &MARKER_GET, p, &r, "reading a read marker");

	if (rc != 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = STORE_ENOTFOUND;
	else
		*ts_ms = pg_get_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

/* --- change feed ---------------------------------------------------------- */

int pg_change_add(struct store_conn *c, const char *kind, const char *name, int64_t ts_ms)
{
	char ts[24];
	const char *p[] = {kind, name, pg_i64(ts, ts_ms)};
	PGresult *r;
	int rc = run_row(c, &CHANGE_ADD, p, &r, "recording a change");

	if (rc == 0)
		PQclear(r); /* without a row (no 'changes' counter) run_row failed */
	return rc;
}

static void change_row(const PGresult *r, int i, void *item)
{
	struct store_change *ch = item;

	ch->id = pg_get_i64(r, i, 0);
	pg_get_copy(r, i, 1, ch->kind, sizeof(ch->kind));
	pg_get_copy(r, i, 2, ch->name, sizeof(ch->name));
	ch->ts_ms = pg_get_i64(r, i, 3);
}

int pg_change_since(struct store_conn *c, int64_t after, int limit, struct store_change **out,
                    size_t *n)
{
	char a[24], l[24];
	const char *p[] = {pg_i64(a, after), pg_i64(l, limit)};

	return get_list(c, &CHANGE_SINCE, p, sizeof(**out), change_row, (void **)out, n,
	                "reading changes");
}

int pg_change_last(struct store_conn *c, int64_t *id)
{
	PGresult *r;
	int rc = run_row(c, &CHANGE_LAST, NULL, &r, "reading the last change");

	if (rc == 0) {
		*id = pg_get_i64(r, 0, 0);
		PQclear(r);
	}
	return rc;
}
