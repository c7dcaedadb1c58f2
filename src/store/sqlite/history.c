/*
 * history.c — SQLite history windows, msgid lookup, chathistory TARGETS,
 * full-text search (FTS5), redaction and clearing of rooms.
 *
 * The FTS5 table messages_fts indexes messages.text as external content;
 * triggers (schema.c) keep it in step, so a removed message (text '') has
 * no tokens and a replaced one is indexed by its replacement. User words
 * never reach FTS5 as syntax: each is a quoted string with quotes doubled
 * (src/store/README.md "Search semantics"). Case sensitivity is a check in
 * C after FTS5, which is why a case-sensitive search reads in pages.
 *
 * It does not decide who may read what: room_ids come from the chat layer.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS      64  /* words of a query used */
#define CS_PAGE_MIN    256 /* rows per page of a case-sensitive search */
#define CS_PAGE_FACTOR 4   /* ... or this many times the limit */

/* Reverse an array of messages in place (newest first -> oldest first). */
static void reverse(struct store_msg *v, size_t n)
{
	for (size_t j = 0; j < n / 2; j++) {
		struct store_msg t = v[j];

		v[j] = v[n - 1 - j];
		v[n - 1 - j] = t;
	}
}

/* --- history -------------------------------------------------------------- */

static enum sq_stmt_id history_stmt(const struct store_history_query *q)
{
	bool by_ts = q->after_ts > 0 || q->before_ts > 0;

	if (q->room_id > 0) {
		if (by_ts)
			return q->from_newest ? SQ_HIST_ROOM_TS_NEW : SQ_HIST_ROOM_TS_OLD;
		return q->from_newest ? SQ_HIST_ROOM_ID_NEW : SQ_HIST_ROOM_ID_OLD;
	}
	if (by_ts)
		return q->from_newest ? SQ_HIST_PM_TS_NEW : SQ_HIST_PM_TS_OLD;
	return q->from_newest ? SQ_HIST_PM_ID_NEW : SQ_HIST_PM_ID_OLD;
}

/* Step a statement expected to return at most one row; SQLITE_ROW, SQLITE_DONE or a store_err. */
static int step_one(struct sq_conn *sc, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	return sq_fail(sc, st, rc, "reading history bounds");
}

/*
 * The greatest seq among the room's messages with an id below id (0 when
 * none). In a room id order is seq order (schema.c, version 6), so a
 * binary search on messages_room_seq finds it; the index entries carry the
 * id (the rowid), so a probe reads no table row. lo is 0 or a seq whose
 * message has a smaller id; every message from seq hi on has id or more.
 */
static int seq_below(struct sq_conn *sc, int64_t room, int64_t id, int64_t *out)
{
	sqlite3_stmt *last = sq_stmt(sc, SQ_ROOM_LAST_SEQ), *probe = sq_stmt(sc, SQ_SEQ_PROBE);
	int64_t lo = 0, hi;
	int rc;

	if (!last || !probe)
		return STORE_EIO;
	sqlite3_bind_int64(last, 1, room);
	if ((rc = step_one(sc, last)) < 0)
		return rc;
	hi = rc == SQLITE_ROW ? sqlite3_column_int64(last, 0) + 1 : 1;
	sqlite3_reset(last);
	sqlite3_bind_int64(probe, 1, room);
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2, s, i;

		sqlite3_bind_int64(probe, 2, mid);
		if ((rc = step_one(sc, probe)) < 0)
			return rc;
		s = rc == SQLITE_ROW ? sqlite3_column_int64(probe, 0) : hi;
		i = rc == SQLITE_ROW ? sqlite3_column_int64(probe, 1) : id;
		sqlite3_reset(probe);
		if (s < hi && i < id)
			lo = s; /* a message below id at s: the answer is s or later */
		else
			hi = mid; /* none in [mid, hi), or the first from mid on is not below id */
	}
	*out = lo;
	return 0;
}

/*
 * Turn an exclusive id bound into a seq bound of the room: *at is the seq
 * of message id when it is one of the room's, else the greatest seq below
 * it (seq_below); *exact says which. For the messages of the room,
 * id > bound is then seq > at, and id < bound is seq < at (exact) or
 * seq < at + 1.
 */
static int seq_bound(struct sq_conn *sc, int64_t room, int64_t id, int64_t *at, bool *exact)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_SEQ_OF_ID);
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = step_one(sc, st)) < 0)
		return rc;
	*exact = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == room;
	*at = *exact ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_reset(st);
	return *exact ? 0 : seq_below(sc, room, id, at);
}

/* Bind ?3/?4: id bounds, or for a room in seq order the seq bounds they mean. */
static int bind_bounds(struct sq_conn *sc, sqlite3_stmt *st, enum sq_stmt_id id,
                       const struct store_history_query *q)
{
	int64_t lo = q->after_id, hi = q->before_id > 0 ? q->before_id : INT64_MAX;
	bool exact;
	int rc;

	if (id == SQ_HIST_ROOM_ID_NEW || id == SQ_HIST_ROOM_ID_OLD) {
		if (q->after_id > 0 &&
		    (rc = seq_bound(sc, q->room_id, q->after_id, &lo, &exact)) != 0)
			return rc;
		if (q->before_id > 0) {
			if ((rc = seq_bound(sc, q->room_id, q->before_id, &hi, &exact)) != 0)
				return rc;
			hi += !exact;
		}
	}
	sqlite3_bind_int64(st, 3, lo);
	sqlite3_bind_int64(st, 4, hi);
	return 0;
}

int sq_msg_history(struct store_conn *c, const struct store_history_query *q,
                   struct store_msg **out, size_t *n)
{
	struct sq_conn *sc = sq_of(c);
	enum sq_stmt_id id = history_stmt(q);
	sqlite3_stmt *st = sq_stmt(sc, id);
	int rc;

	if (!st)
		return STORE_EIO;
	if (q->room_id > 0) {
		sqlite3_bind_int64(st, 1, q->room_id);
		sqlite3_bind_null(st, 2);
	} else {
		sq_bind_text(st, 1, q->a);
		sq_bind_text(st, 2, q->b);
	}
	if ((rc = bind_bounds(sc, st, id, q)) != 0)
		return rc;
	sqlite3_bind_int64(st, 5, q->after_ts > 0 ? q->after_ts : INT64_MIN);
	sqlite3_bind_int64(st, 6, q->before_ts > 0 ? q->before_ts : INT64_MAX);
	sqlite3_bind_int(st, 7, q->limit);
	sqlite3_bind_int(st, 8, q->messages_only);
	rc = sq_collect(sc, st, sizeof(**out), sq_msg_row, (void **)out, n, "reading history");
	if (rc) {
		sq_msgs_free(*out, *n);
		*out = NULL;
		*n = 0;
	} else if (q->from_newest) {
		reverse(*out, *n);
	}
	return rc;
}

int sq_msg_by_msgid(struct store_conn *c, const char *msgid, struct store_msg *out)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_MSG_BY_MSGID);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, msgid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = STORE_ENOTFOUND;
	} else if (rc != SQLITE_ROW) {
		return sq_fail(sc, st, rc, "finding a message");
	} else {
		sq_msg_row(st, out);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

/* --- targets -------------------------------------------------------------- */

static void target_row(sqlite3_stmt *st, void *item)
{
	struct store_target *t = item;

	str_copy(t->name, (const char *)sqlite3_column_text(st, 0), sizeof(t->name));
	t->last_ts = sqlite3_column_int64(st, 1);
}

/* Append the newest message time of each room (those with one in the window). */
static int room_targets(struct sq_conn *sc, const int64_t *room_ids, size_t n_rooms, int64_t after,
                        int64_t before, struct store_target **out, size_t *n)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_TARGET_ROOM);
	int rc = 0;

	if (!st)
		return STORE_EIO;
	for (size_t i = 0; i < n_rooms && rc == 0; i++) {
		size_t before_n = *n;

		sqlite3_bind_int64(st, 1, room_ids[i]);
		sqlite3_bind_int64(st, 2, after);
		sqlite3_bind_int64(st, 3, before);
		rc = sq_collect(sc, st, sizeof(**out), target_row, (void **)out, n,
		                "reading targets");
		for (size_t j = before_n; j < *n; j++)
			(*out)[j].room = true;
	}
	return rc;
}

int sq_msg_targets(struct store_conn *c, const int64_t *room_ids, size_t n_rooms,
                   const char *account, int64_t after_ts, int64_t before_ts, int limit,
                   struct store_target **out, size_t *n)
{
	struct sq_conn *sc = sq_of(c);
	int64_t after = after_ts > 0 ? after_ts : INT64_MIN;
	int64_t before = before_ts > 0 ? before_ts : INT64_MAX;
	sqlite3_stmt *st = sq_stmt(sc, SQ_TARGET_PM);
	int rc;

	if (!st)
		return STORE_EIO;
	rc = room_targets(sc, room_ids, n_rooms, after, before, out, n);
	if (rc == 0 && account) {
		sq_bind_text(st, 1, account);
		sqlite3_bind_int64(st, 2, after);
		sqlite3_bind_int64(st, 3, before);
		rc = sq_collect(sc, st, sizeof(**out), target_row, (void **)out, n,
		                "reading targets");
	}
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rc;
	}
	return 0;
}

/* --- FTS5 query text ------------------------------------------------------ */

/* Append s as one FTS5 string ("..." with embedded quotes doubled). */
static void quote_into(char *buf, size_t cap, size_t *len, const char *s, size_t slen)
{
	str_appendf(buf, cap, len, "\"");
	for (size_t i = 0; i < slen; i++)
		str_appendf(buf, cap, len, s[i] == '"' ? "\"\"" : "%c", s[i]);
	str_appendf(buf, cap, len, "\"");
}

/*
 * The FTS5 query for text and match (enum store_match): a new string, or
 * NULL when text has no searchable word (nothing can match). Never syntax
 * from the user: every word (or the phrase) is a quoted string.
 */
static char *fts_query(const char *text, int match)
{
	size_t tlen = strlen(text), cap = tlen * 2 + MAX_WORDS * 8 + 16, len = 0, nw;
	char *words[MAX_WORDS], *wbuf = xmalloc(tlen + 1), *q = xmalloc(cap);

	q[0] = '\0';
	nw = store_words(text, wbuf, tlen + 1, words, MAX_WORDS);
	if (nw > 0 && match == STORE_MATCH_EXACT) {
		size_t slen;
		const char *s = store_text_trim(text, &slen);

		quote_into(q, cap, &len, s, slen);
	}
	for (size_t i = 0; match != STORE_MATCH_EXACT && i < nw; i++) {
		if (i > 0)
			str_appendf(q, cap, &len, match == STORE_MATCH_ANY ? " OR " : " AND ");
		quote_into(q, cap, &len, words[i], strlen(words[i]));
	}
	free(wbuf);
	if (nw == 0) {
		free(q);
		return NULL;
	}
	return q;
}

/* --- search --------------------------------------------------------------- */

/* "[1,2,3]" for json_each(), or NULL when there are none. */
static char *ids_json(const int64_t *ids, size_t n)
{
	size_t cap = n * 22 + 3, len = 0;
	char *s;

	if (n == 0)
		return NULL;
	s = xmalloc(cap);
	s[0] = '\0';
	str_appendf(s, cap, &len, "[");
	for (size_t i = 0; i < n; i++)
		str_appendf(s, cap, &len, "%s%lld", i ? "," : "", (long long)ids[i]);
	str_appendf(s, cap, &len, "]");
	return s;
}

struct search_run {
	const struct store_search_query *q; /* the query */
	sqlite3_stmt *st;                   /* SQ_SEARCH_FTS or SQ_SEARCH_ALL, bound */
	int64_t cursor;                     /* next page: ids below this */
	int page;                           /* rows per page */
	size_t want;                        /* limit + 1 (to know about more) */
};

/*
 * Read one page into out/n, keeping rows that pass the case check. Sets
 * *done when the matches are exhausted or enough were kept.
 */
static int search_page(struct sq_conn *sc, struct search_run *r, struct store_msg **out, size_t *n,
                       size_t *cap, bool *done)
{
	int rows = 0, rc = SQLITE_DONE;

	sqlite3_bind_int64(r->st, 2, r->cursor);
	sqlite3_bind_int(r->st, 8, r->page);
	while (*n < r->want && (rc = sqlite3_step(r->st)) == SQLITE_ROW) {
		struct store_msg m = {0};

		rows++;
		sq_msg_row(r->st, &m);
		r->cursor = m.id;
		if (r->q->case_sensitive && !store_text_matches(m.text, r->q->text, r->q->match)) {
			store_msg_free(&m);
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*out = xrealloc(*out, *cap * sizeof(**out));
		}
		(*out)[(*n)++] = m;
	}
	if (*n < r->want && rc != SQLITE_DONE)
		return sq_fail(sc, r->st, rc, "searching messages");
	sqlite3_reset(r->st);
	*done = *n >= r->want || rows < r->page;
	return 0;
}

/* Bind everything but the cursor and the page size. */
static void search_bind(sqlite3_stmt *st, const struct store_search_query *q, const char *fts,
                        const char *rooms)
{
	sq_bind_text(st, 1, fts);
	sq_bind_text(st, 3, rooms);
	sq_bind_text(st, 4, q->account);
	sq_bind_text(st, 5, q->sender);
	sqlite3_bind_int64(st, 6, q->after_ts > 0 ? q->after_ts : INT64_MIN);
	sqlite3_bind_int64(st, 7, q->before_ts > 0 ? q->before_ts : INT64_MAX);
}

/* --- deferred indexing ------------------------------------------------------ */

/*
 * Run one (cached) statement of the indexer with up to two integer
 * parameters; row values into v0/v1.
 */
static int fts_exec(struct sq_conn *sc, enum sq_stmt_id id, int64_t p1, int64_t p2, int64_t *v0,
                    int64_t *v1)
{
	sqlite3_stmt *st = sq_stmt(sc, id);
	int rc;

	if (!st)
		return STORE_EIO;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, p1);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, p2);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && v0)
		*v0 = sqlite3_column_int64(st, 0);
	if (rc == SQLITE_ROW && v1)
		*v1 = sqlite3_column_int64(st, 1);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(sc, st, rc, "indexing for search");
	sqlite3_reset(st);
	return 0;
}

/*
 * Index the next rows after the watermark (at most budget) and move it.
 * Messages are committed without touching the search index, which keeps
 * the durable-commit path short; the writer catches the index up between
 * batches, so search lags the newest messages by a moment.
 */
static int fts_step(struct sq_conn *sc, int budget, int64_t *done)
{
	int64_t last = 0, hi = 0;
	int rc;

	*done = 0;
	rc = fts_exec(sc, SQ_FTS_LAST, 0, 0, &last, NULL);
	if (rc == 0)
		rc = fts_exec(sc, SQ_FTS_RANGE, last, budget, &hi, done);
	if (rc == 0 && *done > 0)
		rc = fts_exec(sc, SQ_FTS_INDEX, last, hi, NULL, NULL);
	if (rc == 0 && *done > 0)
		rc = fts_exec(sc, SQ_FTS_MARK, last, hi, NULL, NULL);
	return rc;
}

struct fts_arg {
	int budget;   /* rows at most */
	int64_t done; /* rows indexed */
};

static int fts_locked(struct sq_conn *sc, void *arg)
{
	struct fts_arg *fa = arg;

	return fts_step(sc, fa->budget, &fa->done);
}

int sq_maintain(struct store_conn *c, int budget, bool *more)
{
	struct sq_conn *sc = sq_of(c);
	struct fts_arg fa = {.budget = budget};
	bool own = sqlite3_get_autocommit(sc->db) != 0;
	int rc;

	/*
	 * An indexing step needs no fsync of its own: its rows and its
	 * watermark commit together, and the next durable commit syncs the
	 * write-ahead log (append-only) with them; lost, they are redone.
	 */
	if (own)
		fts_exec(sc, SQ_SYNC_NORMAL, 0, 0, NULL, NULL);
	rc = sq_in_txn(sc, fts_locked, &fa);
	if (own)
		fts_exec(sc, SQ_SYNC_FULL, 0, 0, NULL, NULL);

	*more = rc == 0 && fa.done == budget;
	return rc;
}

/* Index everything still pending (synchronous users: pchatctl, tests). */
static int fts_catch_up(struct sq_conn *sc)
{
	bool more = true;
	int rc = 0;

	if (sqlite3_db_readonly(sc->db, "main") == 1)
		return 0; /* a reader: the writer keeps the index up */
	while (rc == 0 && more)
		rc = sq_maintain(&sc->base, 10000, &more);
	return rc;
}

int sq_msg_search(struct store_conn *c, const struct store_search_query *q, struct store_msg **out,
                  size_t *n, bool *more)
{
	struct sq_conn *sc = sq_of(c);
	bool any = store_text_blank(q->text), done = false;
	char *fts = any ? NULL : fts_query(q->text, q->match);
	char *rooms = ids_json(q->room_ids, q->n_rooms);
	struct search_run r = {.q = q, .cursor = INT64_MAX, .want = (size_t)q->limit + 1};
	size_t cap = 0;
	int rc = 0;

	if (!any && !fts)
		goto out_free; /* words without a letter or digit: nothing matches */
	if ((rc = fts_catch_up(sc)) != 0)
		goto out_free;
	r.st = sq_stmt(sc, any ? SQ_SEARCH_ALL : SQ_SEARCH_FTS);
	if (!r.st) {
		rc = STORE_EIO;
		goto out_free;
	}
	r.page = q->case_sensitive && !any ? q->limit * CS_PAGE_FACTOR : q->limit + 1;
	if (q->case_sensitive && !any && r.page < CS_PAGE_MIN)
		r.page = CS_PAGE_MIN;
	search_bind(r.st, q, fts, rooms);
	while (rc == 0 && !done)
		rc = search_page(sc, &r, out, n, &cap, &done);
	sqlite3_clear_bindings(r.st);
	if (rc) {
		sq_msgs_free(*out, *n);
		*out = NULL;
		*n = 0;
	} else if (*n > (size_t)q->limit) {
		*more = true;
		store_msg_free(&(*out)[--(*n)]);
	}
out_free:
	free(fts);
	free(rooms);
	return rc;
}

/* --- redaction and clearing ----------------------------------------------- */

struct redact_arg {
	const struct store_msg_filter *f; /* which messages */
	const char *replacement;          /* NULL = remove */
	struct store_msg **out;           /* affected, after the change */
	size_t *n;                        /* how many */
};

/* Read the candidates of a redaction into *out (before the case check). */
static int redact_candidates(struct sq_conn *sc, const struct store_msg_filter *f, const char *fts,
                             struct store_msg **out, size_t *n)
{
	sqlite3_stmt *st = sq_stmt(sc, fts ? SQ_REDACT_FTS : SQ_REDACT_ALL);
	int rc;

	if (!st)
		return STORE_EIO;
	sq_bind_text(st, 1, fts);
	sqlite3_bind_int64(st, 2, f->room_id > 0 ? f->room_id : 1);
	sqlite3_bind_int64(st, 3, f->room_id > 0 ? f->room_id : INT64_MAX);
	sq_bind_text(st, 4, f->sender);
	sqlite3_bind_int64(st, 5, f->from_ts > 0 ? f->from_ts : INT64_MIN);
	sqlite3_bind_int64(st, 6, f->to_ts > 0 ? f->to_ts : INT64_MAX);
	rc = sq_collect(sc, st, sizeof(**out), sq_msg_row, (void **)out, n, "finding messages");
	sqlite3_clear_bindings(st);
	return rc;
}

/* Apply the change to one message, in the database and in m. */
static int redact_one(struct sq_conn *sc, sqlite3_stmt *set, struct store_msg *m,
                      const char *replacement)
{
	sqlite3_bind_int64(set, 1, m->id);
	sqlite3_bind_int(set, 2, replacement ? 2 : 1);
	sq_bind_text(set, 3, replacement ? replacement : "");
	if (sq_exec_stmt(sc, set, "redacting a message") != 0)
		return STORE_EIO;
	free(m->text);
	m->text = xstrdup(replacement ? replacement : "");
	m->redacted = replacement ? 2 : 1;
	return 0;
}

/* Drop the candidates that fail the case-sensitive check; *n shrinks. */
static void redact_filter(const struct store_msg_filter *f, struct store_msg *v, size_t *n)
{
	size_t kept = 0;

	for (size_t i = 0; i < *n; i++) {
		if (!store_text_matches(v[i].text, f->text, f->match))
			store_msg_free(&v[i]);
		else
			v[kept++] = v[i];
	}
	*n = kept;
}

/* Keep only the candidate with this msgid; *n shrinks. */
static void redact_only(const char *msgid, struct store_msg *v, size_t *n)
{
	size_t kept = 0;

	for (size_t i = 0; i < *n; i++) {
		if (strcmp(v[i].msgid, msgid) != 0)
			store_msg_free(&v[i]);
		else
			v[kept++] = v[i];
	}
	*n = kept;
}

static int redact_locked(struct sq_conn *sc, void *arg)
{
	struct redact_arg *ra = arg;
	const struct store_msg_filter *f = ra->f;
	bool any = !f->text || store_text_blank(f->text);
	char *fts = any ? NULL : fts_query(f->text, f->match);
	sqlite3_stmt *set = sq_stmt(sc, SQ_REDACT_SET);
	int rc = 0;

	if (!set)
		rc = STORE_EIO;
	else if (any || fts)
		rc = redact_candidates(sc, f, fts, ra->out, ra->n);
	if (rc == 0 && !any && f->case_sensitive)
		redact_filter(f, *ra->out, ra->n);
	if (rc == 0 && f->msgid)
		redact_only(f->msgid, *ra->out, ra->n);
	for (size_t i = 0; rc == 0 && i < *ra->n; i++)
		rc = redact_one(sc, set, &(*ra->out)[i], ra->replacement);
	free(fts);
	return rc;
}

int sq_msg_redact(struct store_conn *c, const struct store_msg_filter *f, const char *replacement,
                  struct store_msg **out, size_t *n)
{
	struct redact_arg ra = {.f = f, .replacement = replacement, .out = out, .n = n};
	int rc = fts_catch_up(sq_of(c)); /* the text filter reads the search index */

	if (rc == 0)
		rc = sq_in_txn(sq_of(c), redact_locked, &ra);

	if (rc) {
		sq_msgs_free(*out, *n);
		*out = NULL;
		*n = 0;
	} else if (*n == 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int sq_room_clear(struct store_conn *c, int64_t room_id, int64_t before_ts, int64_t *n)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st = sq_stmt(sc, SQ_ROOM_CLEAR);
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, room_id);
	sqlite3_bind_int64(st, 2, before_ts);
	rc = sq_exec_stmt(sc, st, "clearing a room");
	if (rc == 0)
		*n = sqlite3_changes64(sc->db);
	return rc;
}
