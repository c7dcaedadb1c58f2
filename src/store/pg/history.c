/*
 * history.c — PostgreSQL messages: insert (with the room's sequence
 * number), latest/count, history windows, msgid lookup, chathistory
 * TARGETS, full-text search, redaction and clearing of rooms.
 *
 * Search uses messages.tsv (to_tsvector('pchat', text), a stored generated
 * column with a GIN index), so it is always current: there is no deferred
 * indexing as in SQLite. A removed message has text '' (no lexemes) and a
 * replaced one is indexed by its replacement. User words never reach
 * PostgreSQL as query syntax: they are passed as one text parameter, each
 * word is turned into a tsquery by phraseto_tsquery('pchat', word) and the
 * words are joined by & or | from the tsquery's own text output (which
 * PostgreSQL quotes itself); that tsquery is then a parameter of an
 * unprepared statement, so that it is planned with its value. Case
 * sensitivity is the byte check store_text_matches() in C after the
 * query, read in pages as in SQLite (src/store/README.md "Search
 * semantics").
 *
 * A duplicate msgid is an ON CONFLICT DO NOTHING, not an error, so the
 * caller's transaction stays usable (an SQL error would abort it). It never
 * begins or commits a transaction of the caller's: msg_insert needs none
 * (one statement) and msg_redact runs its own only when the connection is
 * outside one, like SQLite. It does not decide who may read
 * what: room ids come from the chat layer.
 */
#include "store/pg/pg_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS      64  /* words of a query used */
#define CS_PAGE_MIN    256 /* rows per page of a case-sensitive search */
#define CS_PAGE_FACTOR 4   /* ... or this many times the limit */

/* The columns msg_row() reads, in order. */
#define MSG_COLS                                                                                   \
	"m.id, m.room_id, m.peer, m.seq, m.msgid, m.ts_ms, m.sender, m.kind, m.text, m.tags, "     \
	"m.redacted"

/*
 * PG_TSV_TEXT(x): the SQL expression of what messages.tsv indexes of a text
 * x, applied to each query word too so that both sides are split alike.
 * The schema (schema.c, through pg_int.h) may define it to split the text
 * at every non-alphanumeric character first, as SQLite's unicode61 does
 * (then "example" finds "example.com"); without it the text goes to the
 * parser as it is.
 */
#ifndef PG_TSV_TEXT
#define PG_TSV_TEXT(x) x
#endif

/*
 * The tsquery of parameter $w (words separated by $d, or the whole text
 * when $d is '') joined by $j (' & ' or ' | '): each word a phrase of its
 * own tokens under the text search configuration pchat (schema.c: simple
 * with unaccent, the one messages.tsv is built with); NULL when no word has
 * a lexeme, so that nothing matches. Words without lexemes are skipped
 * before phraseto_tsquery() (which would log a NOTICE for them).
 */
#define TSQUERY(w, d, j)                                                                           \
	"(SELECT string_agg('(' || s.q::text || ')', " j ")::tsquery FROM (SELECT CASE WHEN "      \
	"length(to_tsvector('pchat', t.y)) > 0 THEN phraseto_tsquery('pchat', t.y) END AS q "      \
	"FROM (SELECT " PG_TSV_TEXT("x") " AS y FROM string_to_table(" w ", " d ") AS x) AS t) "   \
	                                 "AS s)"

/* --- statements ----------------------------------------------------------- */

/*
 * A room message in one round trip. Its seq is its id, drawn from the
 * messages' identity sequence: increasing within a room, with gaps, and
 * without a lock on the room's row, so that the servers of a pool storing
 * into the same rooms never wait for each other's commits (a counter row
 * per room would serialise them, store/README.md). The room's existence is
 * checked first so that a missing room is an answer, not an aborted
 * transaction. Row: new id (NULL: msgid taken), room exists.
 */
static const struct pg_stmt st_insert_room = {
    "history_insert_room",
    "WITH r AS (SELECT EXISTS (SELECT 1 FROM rooms WHERE id = $1) AS ok), "
    "n AS (SELECT nextval('messages_id_seq'::regclass) AS id FROM r WHERE r.ok), "
    "i AS (INSERT INTO messages (id, room_id, seq, msgid, ts_ms, sender, kind, text, tags) "
    "SELECT n.id, $1, n.id, $2, $3, $4, $5, $6, $7 FROM n "
    "ON CONFLICT (msgid) DO NOTHING RETURNING id) "
    "SELECT (SELECT id FROM i), (SELECT ok FROM r)",
    7};

static const struct pg_stmt st_insert_pm = {
    "history_insert_pm",
    "INSERT INTO messages (pm_a, pm_b, peer, msgid, ts_ms, sender, kind, text, tags) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (msgid) DO NOTHING RETURNING id",
    9};

static const struct pg_stmt st_latest_room = {
    "history_latest_room",
    "SELECT " MSG_COLS " FROM messages m WHERE m.room_id = $1 AND m.seq < $2 "
    "AND m.redacted <> 1 ORDER BY m.seq DESC LIMIT $3",
    3};

static const struct pg_stmt st_latest_pm = {
    "history_latest_pm",
    "SELECT " MSG_COLS " FROM messages m WHERE m.pm_a = $1 AND m.pm_b = $2 AND m.id < $3 "
    "AND m.redacted <> 1 ORDER BY m.id DESC LIMIT $4",
    4};

static const struct pg_stmt st_count_room = {"history_count_room",
                                             "SELECT count(*) FROM messages WHERE room_id = $1", 1};

static const struct pg_stmt st_count_all = {"history_count_all", "SELECT count(*) FROM messages",
                                            0};

/*
 * History: $1 room id or pm_a, $2 pm_b (NULL for a room), $3/$4 id bounds,
 * $5/$6 time bounds (all exclusive), $7 limit, $8 messages only. One
 * statement per order so that each is an ordered index range scan.
 */
#define HIST_BOUNDS                                                                                \
	" AND m.id > $3 AND m.id < $4 AND m.ts_ms > $5 AND m.ts_ms < $6 AND m.redacted <> 1"       \
	" AND (NOT $8::boolean OR m.kind IN ('PRIVMSG', 'NOTICE', 'TAGMSG'))"
#define HIST_ROOM                                                                                  \
	"SELECT " MSG_COLS " FROM messages m WHERE m.room_id = $1 AND $2::text IS "                \
	"NULL" HIST_BOUNDS
#define HIST_PM   "SELECT " MSG_COLS " FROM messages m WHERE m.pm_a = $1 AND m.pm_b = $2" HIST_BOUNDS
#define BY_ID_NEW " ORDER BY m.id DESC LIMIT $7"
#define BY_ID_OLD " ORDER BY m.id ASC LIMIT $7"
#define BY_TS_NEW " ORDER BY m.ts_ms DESC, m.id DESC LIMIT $7"
#define BY_TS_OLD " ORDER BY m.ts_ms ASC, m.id ASC LIMIT $7"

/* Indexed by history_stmt(): room?4:0 + by time?2:0 + newest?1:0. */
static const struct pg_stmt st_history[8] = {
    {"history_pm_id_old", HIST_PM BY_ID_OLD, 8},
    {"history_pm_id_new", HIST_PM BY_ID_NEW, 8},
    {"history_pm_ts_old", HIST_PM BY_TS_OLD, 8},
    {"history_pm_ts_new", HIST_PM BY_TS_NEW, 8},
    {"history_room_id_old", HIST_ROOM BY_ID_OLD, 8},
    {"history_room_id_new", HIST_ROOM BY_ID_NEW, 8},
    {"history_room_ts_old", HIST_ROOM BY_TS_OLD, 8},
    {"history_room_ts_new", HIST_ROOM BY_TS_NEW, 8},
};

static const struct pg_stmt st_by_msgid = {
    "history_by_msgid", "SELECT " MSG_COLS " FROM messages m WHERE m.msgid = $1", 1};

/* $1 room ids ('{1,2}'), $2/$3 exclusive times: the newest message time of each room. */
static const struct pg_stmt st_target_room = {
    "history_target_room",
    "SELECT r.name, t.ts_ms FROM rooms r CROSS JOIN LATERAL (SELECT m.ts_ms FROM messages m "
    "WHERE m.room_id = r.id AND m.ts_ms > $2 AND m.ts_ms < $3 AND m.redacted <> 1 "
    "ORDER BY m.ts_ms DESC LIMIT 1) t WHERE r.id = ANY ($1::bigint[])",
    3};

/* $1 lower-cased account: each peer (its account's display name if any) and the newest time. */
static const struct pg_stmt st_target_pm = {
    "history_target_pm",
    "SELECT coalesce((SELECT a.name FROM accounts a WHERE pchat_key(a.name) = "
    "pchat_key(t.other)), t.other), t.last FROM (SELECT CASE WHEN m.pm_a = $1 THEN m.pm_b "
    "ELSE m.pm_a END AS other, max(m.ts_ms) AS last FROM messages m "
    "WHERE (m.pm_a = $1 OR m.pm_b = $1) AND m.ts_ms > $2 AND m.ts_ms < $3 "
    "AND m.redacted <> 1 GROUP BY m.pm_a, m.pm_b) t",
    3};

/* The tsquery text of $1 words, $2 separator, $3 operator (TSQUERY), or NULL. */
static const struct pg_stmt st_tsquery = {"history_tsquery",
                                          "SELECT " TSQUERY("$1", "$2", "$3") "::text", 3};

/*
 * Search: $1 id cursor (exclusive), $2 room ids ('{1,2}'), $3 lower-cased
 * account, $4 sender, $5/$6 exclusive times, $7 rows; the text variant adds
 * $8 the tsquery. The text variant is not prepared (pg_run_sql): planned
 * with the tsquery's value, the planner reads a rare word through the GIN
 * index and a common one backwards along the ids (a generic plan must
 * guess, and either guess is slow for the other kind of word).
 */
#define SEARCH_FILTER                                                                              \
	" m.id < $1 AND (m.room_id = ANY ($2::bigint[]) OR m.pm_a = $3 OR m.pm_b = $3)"            \
	" AND ($4::text IS NULL OR pchat_key(m.sender) = pchat_key($4))"                           \
	" AND m.ts_ms > $5 AND m.ts_ms < $6 AND m.redacted <> 1 ORDER BY m.id DESC LIMIT $7"

static const char search_text_sql[] =
    "SELECT " MSG_COLS " FROM messages m WHERE m.tsv @@ $8::tsquery AND" SEARCH_FILTER;

static const struct pg_stmt st_search_all = {
    "history_search_all", "SELECT " MSG_COLS " FROM messages m WHERE" SEARCH_FILTER, 7};

/*
 * Redaction candidates: $1/$2 room id range, $3 sender, $4/$5 inclusive
 * times; the text variant (not prepared, as search) adds $6 the tsquery.
 */
#define REDACT_FILTER                                                                              \
	" m.room_id >= $1 AND m.room_id <= $2"                                                     \
	" AND ($3::text IS NULL OR pchat_key(m.sender) = pchat_key($3))"                           \
	" AND m.ts_ms >= $4 AND m.ts_ms <= $5 AND m.redacted <> 1 ORDER BY m.id"

static const char redact_text_sql[] =
    "SELECT " MSG_COLS " FROM messages m WHERE m.tsv @@ $6::tsquery AND" REDACT_FILTER;

static const struct pg_stmt st_redact_all = {
    "history_redact_all", "SELECT " MSG_COLS " FROM messages m WHERE" REDACT_FILTER, 5};

/* $1 ids ('{1,2}'), $2 redacted (1 removed, 2 replaced), $3 new text. */
static const struct pg_stmt st_redact_set = {
    "history_redact_set",
    "UPDATE messages SET redacted = $2, text = $3 WHERE id = ANY ($1::bigint[])", 3};

/* The room's last_seq keeps the highest seq it had (seq = id, st_insert_room). */
static const struct pg_stmt st_room_clear = {
    "history_room_clear",
    "WITH u AS (UPDATE rooms SET last_seq = greatest(last_seq, (SELECT coalesce(max(seq), 0) "
    "FROM messages WHERE room_id = $1)) WHERE id = $1) "
    "DELETE FROM messages WHERE room_id = $1 AND ts_ms < $2",
    2};

/* --- rows ----------------------------------------------------------------- */

/* Fill m from row i of a MSG_COLS result. */
static void msg_row(const PGresult *r, int i, struct store_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = pg_get_i64(r, i, 0);
	m->room_id = pg_get_i64(r, i, 1); /* NULL reads as 0 */
	pg_get_copy(r, i, 2, m->peer, sizeof(m->peer));
	m->seq = pg_get_i64(r, i, 3);
	pg_get_copy(r, i, 4, m->msgid, sizeof(m->msgid));
	m->ts_ms = pg_get_i64(r, i, 5);
	pg_get_copy(r, i, 6, m->sender, sizeof(m->sender));
	pg_get_copy(r, i, 7, m->kind, sizeof(m->kind));
	m->text = pg_get_dup(r, i, 8, false);
	m->tags = pg_get_dup(r, i, 9, true);
	m->redacted = (int)pg_get_i64(r, i, 10);
}

/* Free an array of messages and reset *out / *n. */
static void msgs_drop(struct store_msg **out, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		store_msg_free(&(*out)[i]);
	free(*out);
	*out = NULL;
	*n = 0;
}

/* Reverse an array of messages in place (newest first -> oldest first). */
static void reverse(struct store_msg *v, size_t n)
{
	for (size_t j = 0; j < n / 2; j++) {
		struct store_msg t = v[j];

		v[j] = v[n - 1 - j];
		v[n - 1 - j] = t;
	}
}

/* Append the MSG_COLS rows of r to *out / *n. */
static void msgs_append(const PGresult *r, struct store_msg **out, size_t *n)
{
	int rows = PQntuples(r);

	if (rows > 0)
		*out = xrealloc(*out, (*n + (size_t)rows) * sizeof(**out));
	for (int i = 0; i < rows; i++)
		msg_row(r, i, &(*out)[(*n)++]);
}

/*
 * Run st and append its MSG_COLS rows to *out / *n. 0 or a store_err
 * (the caller frees what was read).
 */
static int query_msgs(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
                      struct store_msg **out, size_t *n, const char *what)
{
	int rc = 0;
	PGresult *r = pg_run(pc, st, params, &rc, what);

	if (!r)
		return rc;
	msgs_append(r, out, n);
	PQclear(r);
	return 0;
}

/* "{1,2,3}" for a bigint[] parameter (a new string). */
static char *ids_array(const int64_t *ids, size_t n)
{
	size_t cap = n * 22 + 3, len = 0;
	char *s = xmalloc(cap);

	s[0] = '\0';
	str_appendf(s, cap, &len, "{");
	for (size_t i = 0; i < n; i++)
		str_appendf(s, cap, &len, "%s%lld", i ? "," : "", (long long)ids[i]);
	str_appendf(s, cap, &len, "}");
	return s;
}

/* --- insert, latest, count -------------------------------------------------- */

/*
 * The same insert sent without waiting (store_msg.defer): no checks that
 * answer, so that a taken msgid or a missing room fails the statement
 * (unique or foreign key violation) and the batch runs again without
 * pipelining, where st_insert_room answers them.
 */
static const struct pg_stmt st_insert_room_deferred = {
    "history_insert_room_deferred",
    "INSERT INTO messages (id, room_id, seq, msgid, ts_ms, sender, kind, text, tags) "
    "SELECT n.id, $1, n.id, $2, $3, $4, $5, $6, $7 FROM "
    "(SELECT nextval('messages_id_seq'::regclass) AS id) AS n RETURNING id",
    7};

/* The deferred insert's result: the message's id and seq. */
static void room_inserted(const PGresult *r, void *arg)
{
	struct store_msg *m = arg;

	m->id = m->seq = pg_get_i64(r, 0, 0);
}

/* A room message: one statement (seq = id, st_insert_room). */
static int insert_room(struct pg_conn *pc, struct store_msg *m)
{
	char b_room[24], b_ts[24];
	const char *p[7] = {
	    pg_i64(b_room, m->room_id), m->msgid, pg_i64(b_ts, m->ts_ms), m->sender, m->kind,
	    m->text ? m->text : "",     m->tags};
	int rc = 0;
	PGresult *r;
	int64_t id;

	/* deferred only when it really is: run at once, the checks must answer */
	if (m->defer && pg_can_defer(pc))
		return pg_defer(pc, &st_insert_room_deferred, p, room_inserted, m,
		                "storing a message");
	r = pg_run(pc, &st_insert_room, p, &rc, "storing a message");
	if (!r)
		return rc;
	id = pg_get_i64(r, 0, 0);
	if (id > 0)
		m->id = m->seq = id;
	else
		rc = pg_get_bool(r, 0, 1) ? STORE_EEXIST : STORE_ENOTFOUND;
	PQclear(r);
	return rc;
}

/* A private message: pm_a/pm_b are the two accounts lower-cased, sorted. */
static int insert_pm(struct pg_conn *pc, struct store_msg *m)
{
	char a[STORE_NAME_MAX], b[STORE_NAME_MAX], b_ts[24];
	bool ab = false;
	const char *p[9];
	int rc = 0;
	PGresult *r;

	str_lower(a, m->sender, sizeof(a));
	str_lower(b, m->peer, sizeof(b));
	ab = strcmp(a, b) <= 0;
	p[0] = ab ? a : b;
	p[1] = ab ? b : a;
	p[2] = m->peer;
	p[3] = m->msgid;
	p[4] = pg_i64(b_ts, m->ts_ms);
	p[5] = m->sender;
	p[6] = m->kind;
	p[7] = m->text ? m->text : "";
	p[8] = m->tags;
	r = pg_run(pc, &st_insert_pm, p, &rc, "storing a message");
	if (!r)
		return rc;
	if (PQntuples(r) == 1) {
		m->id = pg_get_i64(r, 0, 0);
		m->seq = 0;
	} else {
		rc = STORE_EEXIST; /* ON CONFLICT: the transaction stays usable */
	}
	PQclear(r);
	return rc;
}

int pg_msg_insert(struct store_conn *c, struct store_msg *m)
{
	if (m->room_id > 0)
		return insert_room(pg_of(c), m);
	return insert_pm(pg_of(c), m);
}

int pg_msg_latest(struct store_conn *c, int64_t room_id, const char *a, const char *b,
                  int64_t before, int limit, struct store_msg **out, size_t *n)
{
	struct pg_conn *pc = pg_of(c);
	char b_room[24], b_before[24], b_limit[24];
	const char *p[4];
	int rc;

	pg_i64(b_before, before > 0 ? before : INT64_MAX);
	pg_i64(b_limit, limit);
	if (room_id > 0) {
		p[0] = pg_i64(b_room, room_id);
		p[1] = b_before;
		p[2] = b_limit;
		rc = query_msgs(pc, &st_latest_room, p, out, n, "reading history");
	} else {
		p[0] = a;
		p[1] = b;
		p[2] = b_before;
		p[3] = b_limit;
		rc = query_msgs(pc, &st_latest_pm, p, out, n, "reading history");
	}
	if (rc)
		msgs_drop(out, n);
	else
		reverse(*out, *n);
	return rc;
}

int pg_msg_count(struct store_conn *c, int64_t room_id, int64_t *n)
{
	struct pg_conn *pc = pg_of(c);
	char b_room[24];
	const char *p[1] = {pg_i64(b_room, room_id)};
	int rc = 0;
	PGresult *r = pg_run(pc, room_id > 0 ? &st_count_room : &st_count_all,
	                     room_id > 0 ? p : NULL, &rc, "counting messages");

	if (!r)
		return rc;
	*n = pg_get_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

/* --- history -------------------------------------------------------------- */

static const struct pg_stmt *history_stmt(const struct store_history_query *q)
{
	bool by_ts = q->after_ts > 0 || q->before_ts > 0;

	return &st_history[(q->room_id > 0 ? 4 : 0) + (by_ts ? 2 : 0) + (q->from_newest ? 1 : 0)];
}

int pg_msg_history(struct store_conn *c, const struct store_history_query *q,
                   struct store_msg **out, size_t *n)
{
	char b[6][24];
	const char *p[8];
	int rc;

	p[0] = q->room_id > 0 ? pg_i64(b[0], q->room_id) : q->a;
	p[1] = q->room_id > 0 ? NULL : q->b;
	p[2] = pg_i64(b[1], q->after_id);
	p[3] = pg_i64(b[2], q->before_id > 0 ? q->before_id : INT64_MAX);
	p[4] = pg_i64(b[3], q->after_ts > 0 ? q->after_ts : INT64_MIN);
	p[5] = pg_i64(b[4], q->before_ts > 0 ? q->before_ts : INT64_MAX);
	p[6] = pg_i64(b[5], q->limit);
	p[7] = q->messages_only ? "t" : "f";
	rc = query_msgs(pg_of(c), history_stmt(q), p, out, n, "reading history");
	if (rc)
		msgs_drop(out, n);
	else if (q->from_newest)
		reverse(*out, *n);
	return rc;
}

int pg_msg_by_msgid(struct store_conn *c, const char *msgid, struct store_msg *out)
{
	const char *p[1] = {msgid};
	int rc = 0;
	PGresult *r = pg_run(pg_of(c), &st_by_msgid, p, &rc, "finding a message");

	if (!r)
		return rc;
	if (PQntuples(r) == 0)
		rc = STORE_ENOTFOUND;
	else
		msg_row(r, 0, out);
	PQclear(r);
	return rc;
}

/* --- targets -------------------------------------------------------------- */

/* Run a targets statement and append its (name, time) rows. */
static int query_targets(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
                         bool room, struct store_target **out, size_t *n)
{
	int rc = 0, rows;
	PGresult *r = pg_run(pc, st, params, &rc, "reading targets");

	if (!r)
		return rc;
	rows = PQntuples(r);
	if (rows > 0)
		*out = xrealloc(*out, (*n + (size_t)rows) * sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct store_target *t = &(*out)[(*n)++];

		memset(t, 0, sizeof(*t));
		t->room = room;
		pg_get_copy(r, i, 0, t->name, sizeof(t->name));
		t->last_ts = pg_get_i64(r, i, 1);
	}
	PQclear(r);
	return 0;
}

int pg_msg_targets(struct store_conn *c, const int64_t *room_ids, size_t n_rooms,
                   const char *account, int64_t after_ts, int64_t before_ts, int limit,
                   struct store_target **out, size_t *n)
{
	struct pg_conn *pc = pg_of(c);
	char b_after[24], b_before[24];
	char *rooms = NULL;
	const char *p[3] = {NULL, pg_i64(b_after, after_ts > 0 ? after_ts : INT64_MIN),
	                    pg_i64(b_before, before_ts > 0 ? before_ts : INT64_MAX)};
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (n_rooms > 0) {
		rooms = ids_array(room_ids, n_rooms);
		p[0] = rooms;
		rc = query_targets(pc, &st_target_room, p, true, out, n);
	}
	if (rc == 0 && account) {
		p[0] = account;
		rc = query_targets(pc, &st_target_pm, p, false, out, n);
	}
	free(rooms);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rc;
	}
	return 0;
}

/* --- query text ----------------------------------------------------------- */

/*
 * The words of text for TSQUERY: joined by one space (separator " "), or
 * for EXACT the trimmed phrase (separator "": one phrase). A new string,
 * or NULL when no word has a letter or digit.
 */
static char *query_words(const char *text, int match)
{
	size_t tlen = strlen(text), len = 0, nw;
	char *words[MAX_WORDS], *wbuf = xmalloc(tlen + 1), *out = xmalloc(tlen + 1);

	out[0] = '\0';
	nw = store_words(text, wbuf, tlen + 1, words, MAX_WORDS);
	if (nw > 0 && match == STORE_MATCH_EXACT) {
		size_t slen;
		const char *s = store_text_trim(text, &slen);

		memcpy(out, s, slen);
		out[slen] = '\0';
	}
	for (size_t i = 0; match != STORE_MATCH_EXACT && i < nw; i++)
		str_appendf(out, tlen + 1, &len, "%s%s", i ? " " : "", words[i]);
	free(wbuf);
	if (nw == 0) {
		free(out);
		out = NULL;
	}
	return out;
}

/*
 * The tsquery (text form, PostgreSQL's own quoting) for text and match
 * into *tsq (a new string), or *tsq = NULL when nothing can match (no word
 * with a letter or digit, or none with a lexeme). 0 or a store_err.
 */
static int tsq_build(struct pg_conn *pc, const char *text, int match, char **tsq)
{
	char *words = query_words(text, match);
	const char *p[3] = {words, match == STORE_MATCH_EXACT ? "" : " ",
	                    match == STORE_MATCH_ANY ? " | " : " & "};
	int rc = 0;
	PGresult *r;

	*tsq = NULL;
	if (!words)
		return 0;
	r = pg_run(pc, &st_tsquery, p, &rc, "reading a search query");
	if (r && !PQgetisnull(r, 0, 0))
		*tsq = pg_get_dup(r, 0, 0, false);
	PQclear(r);
	free(words);
	return rc;
}

/* --- search --------------------------------------------------------------- */

struct search_run {
	const struct store_search_query *q; /* the query */
	const char *p[8];                   /* parameters ([0] cursor, [7] tsquery or NULL) */
	char b[4][24];                      /* integer parameters */
	int64_t cursor;                     /* next page: ids below this */
	int page;                           /* rows per page */
	size_t want;                        /* limit + 1 (to know about more) */
};

/* Append the messages of r that pass the case check; moves the cursor. */
static void search_keep(struct search_run *sr, const PGresult *r, struct store_msg **out, size_t *n,
                        size_t *cap)
{
	for (int i = 0; i < PQntuples(r) && *n < sr->want; i++) {
		struct store_msg m;

		msg_row(r, i, &m);
		sr->cursor = m.id;
		if (sr->q->case_sensitive &&
		    !store_text_matches(m.text, sr->q->text, sr->q->match)) {
			store_msg_free(&m);
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*out = xrealloc(*out, *cap * sizeof(**out));
		}
		(*out)[(*n)++] = m;
	}
}

/*
 * Read one page into out/n, keeping rows that pass the case check. Sets
 * *done when the matches are exhausted or enough were kept.
 */
static int search_page(struct pg_conn *pc, struct search_run *sr, struct store_msg **out, size_t *n,
                       size_t *cap, bool *done)
{
	const char *what = "searching messages";
	int rc = 0, rows;
	PGresult *r;

	sr->p[0] = pg_i64(sr->b[0], sr->cursor);
	if (sr->p[7])
		r = pg_run_sql(pc, search_text_sql, sr->p, 8, &rc, what);
	else
		r = pg_run(pc, &st_search_all, sr->p, &rc, what);
	if (!r)
		return rc;
	rows = PQntuples(r);
	search_keep(sr, r, out, n, cap);
	PQclear(r);
	*done = *n >= sr->want || rows < sr->page;
	return 0;
}

/* Fill the parameters of a search run but the cursor. */
static void search_params(struct search_run *sr, const char *rooms, const char *tsq)
{
	const struct store_search_query *q = sr->q;

	sr->p[1] = rooms;
	sr->p[2] = q->account;
	sr->p[3] = q->sender;
	sr->p[4] = pg_i64(sr->b[1], q->after_ts > 0 ? q->after_ts : INT64_MIN);
	sr->p[5] = pg_i64(sr->b[2], q->before_ts > 0 ? q->before_ts : INT64_MAX);
	sr->p[6] = pg_i64(sr->b[3], sr->page);
	sr->p[7] = tsq;
}

int pg_msg_search(struct store_conn *c, const struct store_search_query *q, struct store_msg **out,
                  size_t *n, bool *more)
{
	struct pg_conn *pc = pg_of(c);
	bool any = store_text_blank(q->text), done = false;
	struct search_run sr = {.q = q, .cursor = INT64_MAX, .want = (size_t)q->limit + 1};
	char *rooms = ids_array(q->room_ids, q->n_rooms), *tsq = NULL;
	size_t cap = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	*more = false;
	if (!any && ((rc = tsq_build(pc, q->text, q->match, &tsq)) != 0 || !tsq))
		goto out_free; /* no word with a lexeme: nothing matches */
	sr.page = q->case_sensitive && !any ? q->limit * CS_PAGE_FACTOR : q->limit + 1;
	if (q->case_sensitive && !any && sr.page < CS_PAGE_MIN)
		sr.page = CS_PAGE_MIN;
	search_params(&sr, rooms, tsq);
	while (rc == 0 && !done)
		rc = search_page(pc, &sr, out, n, &cap, &done);
	if (rc) {
		msgs_drop(out, n);
	} else if (*n > (size_t)q->limit) {
		*more = true;
		store_msg_free(&(*out)[--(*n)]);
	}
out_free:
	free(tsq);
	free(rooms);
	return rc;
}

/* --- redaction and clearing ----------------------------------------------- */

/* Read the candidates of a redaction into *out (before the case check). */
static int redact_candidates(struct pg_conn *pc, const struct store_msg_filter *f, const char *tsq,
                             struct store_msg **out, size_t *n)
{
	const char *what = "finding messages";
	char b[4][24];
	const char *p[6] = {pg_i64(b[0], f->room_id > 0 ? f->room_id : 1),
	                    pg_i64(b[1], f->room_id > 0 ? f->room_id : INT64_MAX),
	                    f->sender,
	                    pg_i64(b[2], f->from_ts > 0 ? f->from_ts : INT64_MIN),
	                    pg_i64(b[3], f->to_ts > 0 ? f->to_ts : INT64_MAX),
	                    tsq};
	int rc = 0;
	PGresult *r;

	if (!tsq)
		return query_msgs(pc, &st_redact_all, p, out, n, what);
	r = pg_run_sql(pc, redact_text_sql, p, 6, &rc, what);
	if (!r)
		return rc;
	msgs_append(r, out, n);
	PQclear(r);
	return 0;
}

/* Keep the candidates that pass keep(); *n shrinks. */
static void redact_keep(const struct store_msg_filter *f, struct store_msg *v, size_t *n,
                        bool (*keep)(const struct store_msg_filter *f, const struct store_msg *m))
{
	size_t kept = 0;

	for (size_t i = 0; i < *n; i++) {
		if (!keep(f, &v[i]))
			store_msg_free(&v[i]);
		else
			v[kept++] = v[i];
	}
	*n = kept;
}

static bool keep_case(const struct store_msg_filter *f, const struct store_msg *m)
{
	return store_text_matches(m->text, f->text, f->match);
}

static bool keep_msgid(const struct store_msg_filter *f, const struct store_msg *m)
{
	return strcmp(m->msgid, f->msgid) == 0;
}

/* Apply the change to every kept message, in one statement, and in v. */
static int redact_apply(struct pg_conn *pc, struct store_msg *v, size_t n, const char *replacement)
{
	int64_t *ids = xmalloc((n ? n : 1) * sizeof(*ids));
	char *arr;
	const char *p[3];
	int rc;

	for (size_t i = 0; i < n; i++)
		ids[i] = v[i].id;
	arr = ids_array(ids, n);
	p[0] = arr;
	p[1] = replacement ? "2" : "1";
	p[2] = replacement ? replacement : "";
	rc = pg_exec(pc, &st_redact_set, p, "redacting messages");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		free(v[i].text);
		v[i].text = xstrdup(p[2]);
		v[i].redacted = replacement ? 2 : 1;
	}
	free(arr);
	free(ids);
	return rc;
}

/* The redaction itself, inside a transaction. */
static int redact_locked(struct pg_conn *pc, const struct store_msg_filter *f,
                         const char *replacement, struct store_msg **out, size_t *n)
{
	bool any = !f->text || store_text_blank(f->text);
	char *tsq = NULL;
	int rc = 0;

	if (!any && ((rc = tsq_build(pc, f->text, f->match, &tsq)) != 0 || !tsq))
		return rc; /* no word with a lexeme: nothing matches */
	rc = redact_candidates(pc, f, tsq, out, n);
	if (rc == 0 && !any && f->case_sensitive)
		redact_keep(f, *out, n, keep_case);
	if (rc == 0 && f->msgid)
		redact_keep(f, *out, n, keep_msgid);
	if (rc == 0 && *n > 0)
		rc = redact_apply(pc, *out, *n, replacement);
	free(tsq);
	return rc;
}

int pg_msg_redact(struct store_conn *c, const struct store_msg_filter *f, const char *replacement,
                  struct store_msg **out, size_t *n)
{
	struct pg_conn *pc = pg_of(c);
	bool own = !pc->in_tx; /* outside a transaction: one of our own, as SQLite */
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (own && (rc = pg_begin(c, true)) != 0)
		return rc;
	rc = redact_locked(pc, f, replacement, out, n);
	if (own && rc == 0)
		rc = pg_commit(c);
	if (own && rc != 0)
		pg_rollback(c);
	if (rc) {
		msgs_drop(out, n);
	} else if (*n == 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int pg_room_clear(struct store_conn *c, int64_t room_id, int64_t before_ts, int64_t *n)
{
	char b_room[24], b_ts[24];
	const char *p[2] = {pg_i64(b_room, room_id), pg_i64(b_ts, before_ts)};
	int rc = 0;
	PGresult *r = pg_run(pg_of(c), &st_room_clear, p, &rc, "clearing a room");

	if (!r)
		return rc;
	*n = pg_affected(r);
	PQclear(r);
	return 0;
}
